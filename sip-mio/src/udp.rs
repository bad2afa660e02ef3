//! UDP sockets: one datagram is one message (RFC 3261 §18.1.1, §18.2.1).

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;

use bytes::Bytes;
use socket2::{Protocol, Type};

use crate::config::DriverConfig;

/// The largest UDP payload there is (an IPv4 datagram's 16-bit length).
pub(crate) const UDP_MAX: usize = 65_535;

/// A bound UDP socket and the datagrams waiting for it to become writable.
#[derive(Debug)]
pub(crate) struct UdpSock {
    pub(crate) socket: mio::net::UdpSocket,
    pub(crate) local: SocketAddr,
    pub(crate) queue: VecDeque<(SocketAddr, Bytes)>,
    pub(crate) queued_bytes: usize,
    /// Registered for writable readiness too (only while `queue` is not empty, since a UDP
    /// socket would otherwise wake the loop after every datagram sent).
    pub(crate) writable_interest: bool,
}

impl UdpSock {
    pub(crate) fn bind(addr: SocketAddr, config: &DriverConfig) -> io::Result<UdpSock> {
        let socket = crate::new_socket(addr, Type::DGRAM, Protocol::UDP, config)?;
        socket.bind(&addr.into())?;
        let std: std::net::UdpSocket = socket.into();
        let local = std.local_addr()?;
        Ok(UdpSock {
            socket: mio::net::UdpSocket::from_std(std),
            local,
            queue: VecDeque::new(),
            queued_bytes: 0,
            writable_interest: false,
        })
    }
}

/// Whether a datagram is a keep-alive rather than a message: empty, or only CR and LF
/// (the CRLF keep-alives some UAs send over UDP).
pub(crate) fn is_keepalive(datagram: &[u8]) -> bool {
    datagram.iter().all(|&b| b == b'\r' || b == b'\n')
}

/// Picks the socket to send from (index into `locals`): the one bound at `source`, else
/// one bound to the wildcard address on `source`'s port, else the first of the
/// destination's address family.
pub(crate) fn select_socket(
    locals: impl Iterator<Item = SocketAddr> + Clone,
    source: Option<SocketAddr>,
    destination: SocketAddr,
) -> Option<usize> {
    let family = |a: &SocketAddr| a.is_ipv4() == destination.is_ipv4();
    if let Some(src) = source {
        if let Some(i) = locals.clone().position(|l| l == src && family(&l)) {
            return Some(i);
        }
        if let Some(i) = locals
            .clone()
            .position(|l| l.port() == src.port() && l.ip().is_unspecified() && family(&l))
        {
            return Some(i);
        }
    }
    locals.clone().position(|l| family(&l))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn keepalive_datagrams() {
        assert!(is_keepalive(b""));
        assert!(is_keepalive(b"\r\n\r\n"));
        assert!(!is_keepalive(b"\r\nOPTIONS"));
        assert!(!is_keepalive(b" "));
    }

    #[test]
    fn socket_selection() {
        let locals = [a("0.0.0.0:5060"), a("127.0.0.1:5070"), a("[::1]:5060")];
        let it = || locals.iter().copied();
        let v4 = a("192.0.2.1:5060");
        let v6 = a("[2001:db8::1]:5060");
        assert_eq!(select_socket(it(), Some(a("127.0.0.1:5070")), v4), Some(1));
        assert_eq!(select_socket(it(), Some(a("192.0.2.9:5060")), v4), Some(0));
        assert_eq!(select_socket(it(), Some(a("192.0.2.9:9")), v4), Some(0));
        assert_eq!(select_socket(it(), None, v6), Some(2));
        assert_eq!(select_socket(it(), Some(a("[::1]:5060")), v4), Some(0));
        assert_eq!(select_socket(locals[..2].iter().copied(), None, v6), None);
    }
}
