//! UDP: one datagram is one message (RFC 3261 §18.1.1, §18.2.1).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use sip_core::endpoint::Input;
use sip_core::transport::Transport;
use socket2::{Protocol, Type};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::config::TransportConfig;
use super::stats::bump;
use super::{Shared, new_socket};

/// The largest UDP payload there is (an IPv4 datagram's 16-bit length).
const UDP_MAX: usize = 65_535;

/// Pause after a failed receive, so an error that repeats cannot spin the loop.
const RECV_ERROR_PAUSE: Duration = Duration::from_millis(10);

/// Creates and binds a UDP socket with the configured options.
pub(super) fn bind_socket(addr: SocketAddr, config: &TransportConfig) -> io::Result<UdpSocket> {
    let socket = new_socket(addr, Type::DGRAM, Protocol::UDP, config)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

/// Whether a datagram is a keep-alive rather than a message: empty, or only CR and LF
/// (the CRLF keep-alives some UAs send over UDP; RFC 5626 §4.4.1 uses STUN there, which
/// reaches the endpoint as an unparsable datagram).
pub(super) fn is_keepalive(datagram: &[u8]) -> bool {
    datagram.iter().all(|&b| b == b'\r' || b == b'\n')
}

/// Picks the socket a datagram is sent from (index into `locals`): the one bound at
/// `source`; else one bound to the wildcard address at `source`'s port; else the first of
/// the destination's address family. `None` if no socket has that family.
pub(super) fn select_socket(
    locals: &[SocketAddr],
    source: Option<SocketAddr>,
    destination: SocketAddr,
) -> Option<usize> {
    let family = |a: &SocketAddr| a.is_ipv4() == destination.is_ipv4();
    if let Some(src) = source {
        if let Some(i) = locals.iter().position(|l| *l == src && family(l)) {
            return Some(i);
        }
        if let Some(i) = locals
            .iter()
            .position(|l| l.port() == src.port() && l.ip().is_unspecified() && family(l))
        {
            return Some(i);
        }
    }
    locals.iter().position(family)
}

/// Reads datagrams until the input channel closes (the task is also stopped from outside).
pub(super) async fn recv_loop(shared: Arc<Shared>, socket: Arc<UdpSocket>, local: SocketAddr) {
    let max = shared.config.max_message_size.min(UDP_MAX);
    // One byte more than the limit tells a datagram that fits from one the kernel cut.
    let mut buf = vec![0u8; max + 1];
    loop {
        let (n, from) = match socket.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                bump(&shared.counters.io_errors);
                tracing::warn!(socket = %local, error = %e, "UDP receive failed");
                tokio::time::sleep(RECV_ERROR_PAUSE).await;
                continue;
            }
        };
        if n > max {
            bump(&shared.counters.oversize_dropped);
            tracing::warn!(socket = %local, %from, limit = max, "oversize UDP datagram dropped");
            continue;
        }
        let Some(data) = buf.get(..n) else {
            continue;
        };
        if is_keepalive(data) {
            bump(&shared.counters.keepalives_in);
            tracing::trace!(socket = %local, %from, "UDP keep-alive ignored");
            continue;
        }
        bump(&shared.counters.datagrams_in);
        let input = Input::Receive {
            transport: Transport::Udp,
            from,
            to: local,
            bytes: Bytes::copy_from_slice(data),
        };
        if shared.input.send(input).await.is_err() {
            tracing::debug!(socket = %local, "input channel closed: UDP receive loop ends");
            return;
        }
    }
}

/// Sends the datagrams [`Transports::send`](super::Transports::send) could not write at
/// once (the socket's buffer was full), in order; a failed send is a transport error (RFC 3261 §18.4).
pub(super) async fn send_loop(
    shared: Arc<Shared>,
    socket: Arc<UdpSocket>,
    mut queue: mpsc::Receiver<(SocketAddr, Bytes)>,
    queued: Arc<AtomicUsize>,
) {
    while let Some((destination, bytes)) = queue.recv().await {
        let sent = socket.send_to(&bytes, destination).await;
        // Counted down once sent, so a datagram handed over later never overtakes it.
        queued.fetch_sub(1, Ordering::AcqRel);
        match sent {
            Ok(_) => bump(&shared.counters.datagrams_out),
            Err(e) => {
                tracing::warn!(%destination, error = %e, len = bytes.len(), "UDP send failed");
                shared.report_error(Transport::Udp, destination).await;
            }
        }
    }
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
        assert!(is_keepalive(b"\r\n"));
        assert!(!is_keepalive(b"\r\nOPTIONS"));
        assert!(!is_keepalive(b" "));
    }

    #[test]
    fn socket_selection() {
        let locals = [
            a("0.0.0.0:5060"),
            a("127.0.0.1:5070"),
            a("[::1]:5060"),
            a("10.0.0.1:5080"),
        ];
        let v4 = a("192.0.2.1:5060");
        let v6 = a("[2001:db8::1]:5060");
        // Exact source.
        assert_eq!(
            select_socket(&locals, Some(a("127.0.0.1:5070")), v4),
            Some(1)
        );
        assert_eq!(
            select_socket(&locals, Some(a("10.0.0.1:5080")), v4),
            Some(3)
        );
        // A source on a wildcard-bound port.
        assert_eq!(
            select_socket(&locals, Some(a("192.0.2.9:5060")), v4),
            Some(0)
        );
        // Unknown source, no source: first of the family.
        assert_eq!(
            select_socket(&locals, Some(a("192.0.2.9:9999")), v4),
            Some(0)
        );
        assert_eq!(select_socket(&locals, None, v4), Some(0));
        assert_eq!(select_socket(&locals, None, v6), Some(2));
        // A source of the wrong family is not used.
        assert_eq!(select_socket(&locals, Some(a("[::1]:5060")), v4), Some(0));
        // No socket of the family.
        assert_eq!(select_socket(&locals[..2], None, v6), None);
        assert_eq!(select_socket(&[], None, v4), None);
    }
}
