//! Which of a driver's sockets a transmit leaves from (RFC 3261 §18.1.1: "the source
//! address of the request" is the sent-by the core wrote; §18.2.2: a response leaves from
//! where its request arrived).

use std::net::SocketAddr;

/// Picks the socket a datagram is sent from (an index into `locals`, the bound
/// addresses): the one bound at `source`; else one bound to the wildcard address at
/// `source`'s port; else the first of the destination's address family. `None` if no
/// socket has that family.
///
/// ```
/// use sip_core::transport::select_socket;
/// let locals: Vec<std::net::SocketAddr> = vec!["0.0.0.0:5060".parse().unwrap(), "[::1]:5060".parse().unwrap()];
/// assert_eq!(select_socket(&locals, Some("192.0.2.9:5060".parse().unwrap()), "192.0.2.1:5060".parse().unwrap()), Some(0));
/// assert_eq!(select_socket(&locals, None, "[2001:db8::1]:5060".parse().unwrap()), Some(1));
/// ```
pub fn select_socket(
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

/// The `SO_RCVBUF` the drivers ask for on each UDP socket unless told otherwise: 4 MiB,
/// about 4,000 INVITEs, so a burst (or a pause of the receiving thread of a few
/// milliseconds at 10,000+ messages/s) is absorbed by the kernel instead of dropped and
/// retransmitted 500 ms later (RFC 3261 §17.1.1.2 Timer A). Linux caps what it grants at
/// `net.core.rmem_max` (often 208 KiB, doubled for bookkeeping); the drivers report what
/// was granted.
pub const UDP_RECV_BUFFER: usize = 4 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn socket_selection() {
        let locals = [a("0.0.0.0:5060"), a("127.0.0.1:5070"), a("[::1]:5060")];
        let v4 = a("192.0.2.1:5060");
        let v6 = a("[2001:db8::1]:5060");
        assert_eq!(
            select_socket(&locals, Some(a("127.0.0.1:5070")), v4),
            Some(1)
        );
        assert_eq!(
            select_socket(&locals, Some(a("192.0.2.9:5060")), v4),
            Some(0)
        );
        assert_eq!(select_socket(&locals, Some(a("192.0.2.9:9")), v4), Some(0));
        assert_eq!(select_socket(&locals, None, v6), Some(2));
        assert_eq!(select_socket(&locals, Some(a("[::1]:5060")), v4), Some(0));
        assert_eq!(select_socket(&locals[..2], None, v6), None);
    }
}
