//! Transports as the core sees them, and where responses go (RFC 3261 §18, RFC 3581).
//!
//! The core never opens a socket; it only needs to know whether a transport is reliable
//! (which switches retransmission timers off, §17.1.1.2 and §17.1.2.2), how it is spelled in a
//! Via header, and where a response to a received request must be sent. The drivers' own
//! transport chores that are protocol, not I/O — framing a stream around its CRLF
//! keep-alives ([`keepalive`]), choosing the socket a message leaves from
//! ([`select_socket`]) — are here too, so every driver does them the same way.

// The stream drivers' glue (framing a read, the output cost of a queued message).
pub mod stream;

pub mod keepalive;
pub mod limits;
mod socket;
mod tls;
pub mod websocket;

pub use socket::{UDP_RECV_BUFFER, select_socket};
pub use tls::{InvalidServerName, MAX_SERVER_NAME, TlsPeerIdentity, TlsServerName};

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// A SIP transport protocol, as named in the Via header (RFC 3261 §18, §20.42; RFC 7118 for
/// WebSockets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// UDP: unreliable, message per datagram.
    Udp,
    /// TCP: reliable stream, framed with Content-Length.
    Tcp,
    /// TLS over TCP.
    Tls,
    /// SCTP.
    Sctp,
    /// WebSocket (RFC 7118).
    Ws,
    /// Secure WebSocket (RFC 7118).
    Wss,
}

impl Transport {
    /// Whether the transport delivers reliably: if so the transaction layer sets no
    /// retransmission timers and timers D, I, J and K are zero (RFC 3261 §17).
    pub const fn is_reliable(self) -> bool {
        !matches!(self, Transport::Udp)
    }

    /// Whether the transport is a byte stream that needs Content-Length framing (§18.3).
    pub const fn is_stream(self) -> bool {
        matches!(self, Transport::Tcp | Transport::Tls)
    }

    /// WebSocket or secure WebSocket (RFC 7118): messages framed by the WebSocket, and
    /// the connection the peer opened is the only route back to it.
    pub const fn is_websocket(self) -> bool {
        matches!(self, Transport::Ws | Transport::Wss)
    }

    /// The token used in the Via header's sent-protocol (`SIP/2.0/UDP`).
    pub const fn via_token(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
            Transport::Sctp => "SCTP",
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
        }
    }

    /// Parses a Via transport token, ignoring ASCII case. Unknown transports give `None`.
    pub fn from_via_token(token: &str) -> Option<Self> {
        const ALL: [Transport; 6] = [
            Transport::Udp,
            Transport::Tcp,
            Transport::Tls,
            Transport::Sctp,
            Transport::Ws,
            Transport::Wss,
        ];
        ALL.into_iter()
            .find(|t| t.via_token().eq_ignore_ascii_case(token))
    }

    /// The default port of the transport when a URI or Via gives none (§19.1.2, §18.2.2):
    /// 5061 for TLS, 5060 otherwise (RFC 7118 WebSockets use their HTTP ports, 80 and 443).
    pub const fn default_port(self) -> u16 {
        match self {
            Transport::Tls => 5061,
            Transport::Ws => 80,
            Transport::Wss => 443,
            _ => 5060,
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.via_token())
    }
}

/// The parts of a received request's top Via that decide where its responses go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViaRouting<'a> {
    /// The host of sent-by, as written.
    pub sent_by_host: &'a str,
    /// The port of sent-by, if written.
    pub sent_by_port: Option<u16>,
    /// The `maddr` parameter, if present and to be followed (the endpoint passes it only
    /// when `EndpointConfig::via_maddr` is set).
    pub maddr: Option<&'a str>,
    /// Whether the request carried an `rport` parameter (RFC 3581 §4), with or without value.
    pub rport: bool,
}

/// Where a response to a received request must be sent (RFC 3261 §18.2.2, RFC 3581 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseTarget {
    /// Send back over the connection the request came in on (reliable transports); if that
    /// connection is gone, the driver may connect to `fallback` instead.
    Connection {
        /// The peer address of the connection.
        peer: SocketAddr,
        /// Where to connect if the connection is closed: the received address and the
        /// sent-by port (§18.2.2).
        fallback: SocketAddr,
    },
    /// Send a datagram to this address.
    Datagram(SocketAddr),
}

impl ResponseTarget {
    /// The address the response goes to first.
    pub fn address(&self) -> SocketAddr {
        match *self {
            ResponseTarget::Connection { peer, .. } => peer,
            ResponseTarget::Datagram(a) => a,
        }
    }
}

/// Computes where a response goes, given the transport and source address of the request
/// and its top Via (RFC 3261 §18.2.2 as amended by RFC 3581 §4):
///
/// * reliable transport: the connection the request arrived on, falling back to a new one
///   to the source address at the sent-by port (none for WebSocket, RFC 7118 §5);
/// * `maddr` holding an IP address: that address, at the sent-by port or the default port;
/// * `rport` present: the source address and source port of the request (RFC 3581);
/// * otherwise the source address (the `received` value of §18.2.1) at the sent-by port,
///   or the transport's default port.
///
/// The core resolves no names: a `maddr` naming a host rather than an IP is not followed,
/// and the response goes to the source address instead (the behaviour of §18.2.1's
/// `received` rule), which is what NATed peers need anyway.
///
/// ```
/// use sip_core::transport::{response_target, ResponseTarget, Transport, ViaRouting};
/// let via = ViaRouting { sent_by_host: "10.0.0.1", sent_by_port: Some(5062), maddr: None, rport: true };
/// let from = "192.0.2.7:40001".parse().unwrap();
/// assert_eq!(response_target(Transport::Udp, from, &via), ResponseTarget::Datagram(from));
/// ```
pub fn response_target(
    transport: Transport,
    source: SocketAddr,
    via: &ViaRouting<'_>,
) -> ResponseTarget {
    let via_port = via.sent_by_port.unwrap_or(transport.default_port());
    if transport.is_reliable() {
        // A WebSocket peer (a browser) accepts no connections: the one it opened is the
        // only way back (RFC 7118 §5), so there is no fallback to connect to.
        let fallback = if transport.is_websocket() {
            source
        } else {
            SocketAddr::new(source.ip(), via_port)
        };
        return ResponseTarget::Connection {
            peer: source,
            fallback,
        };
    }
    if let Some(ip) = via.maddr.and_then(parse_ip_literal) {
        return ResponseTarget::Datagram(SocketAddr::new(ip, via_port));
    }
    if via.rport {
        return ResponseTarget::Datagram(source);
    }
    ResponseTarget::Datagram(SocketAddr::new(source.ip(), via_port))
}

/// Whether a Via sent-by host differs from the packet's source address, in which case the
/// server adds `received` (§18.2.1). Host names always differ from an address.
pub fn needs_received(sent_by_host: &str, source: IpAddr) -> bool {
    // A host name that cannot start an IP literal (a letter past `f`, say) needs no parse.
    let literal_start = |c: &u8| c.is_ascii_hexdigit() || matches!(c, b'[' | b':');
    if !sent_by_host.as_bytes().first().is_some_and(literal_start) {
        return true;
    }
    parse_ip_literal(sent_by_host) != Some(source)
}

/// Parses an IPv4 literal or an IPv6 literal with or without brackets.
pub fn parse_ip_literal(host: &str) -> Option<IpAddr> {
    let h = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    h.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn via(
        host: &str,
        port: Option<u16>,
        maddr: Option<&'static str>,
        rport: bool,
    ) -> ViaRouting<'static> {
        ViaRouting {
            sent_by_host: Box::leak(host.to_string().into_boxed_str()),
            sent_by_port: port,
            maddr,
            rport,
        }
    }

    #[test]
    fn reliability_and_tokens() {
        assert!(!Transport::Udp.is_reliable());
        assert!(Transport::Tcp.is_reliable());
        assert!(Transport::Tls.is_stream());
        assert!(!Transport::Ws.is_stream());
        assert_eq!(Transport::from_via_token("tcp"), Some(Transport::Tcp));
        assert_eq!(Transport::from_via_token("WSS"), Some(Transport::Wss));
        assert_eq!(Transport::from_via_token("FOO"), None);
        assert_eq!(Transport::Tls.default_port(), 5061);
        assert_eq!(Transport::Udp.to_string(), "UDP");
    }

    #[test]
    fn udp_without_rport_uses_source_ip_and_via_port() {
        let src: SocketAddr = "192.0.2.1:33333".parse().unwrap();
        let t = response_target(
            Transport::Udp,
            src,
            &via("pc33.example.com", Some(5066), None, false),
        );
        assert_eq!(
            t,
            ResponseTarget::Datagram("192.0.2.1:5066".parse().unwrap())
        );
        let t = response_target(
            Transport::Udp,
            src,
            &via("pc33.example.com", None, None, false),
        );
        assert_eq!(
            t,
            ResponseTarget::Datagram("192.0.2.1:5060".parse().unwrap())
        );
    }

    #[test]
    fn udp_with_rport_uses_source_port() {
        let src: SocketAddr = "192.0.2.1:33333".parse().unwrap();
        let t = response_target(
            Transport::Udp,
            src,
            &via("10.1.1.1", Some(5060), None, true),
        );
        assert_eq!(t, ResponseTarget::Datagram(src));
    }

    #[test]
    fn maddr_with_ip_wins_over_received() {
        let src: SocketAddr = "192.0.2.1:33333".parse().unwrap();
        let t = response_target(
            Transport::Udp,
            src,
            &via("h", Some(5070), Some("239.255.255.1"), true),
        );
        assert_eq!(
            t,
            ResponseTarget::Datagram("239.255.255.1:5070".parse().unwrap())
        );
        // a maddr host name is not resolved by the core
        let t = response_target(
            Transport::Udp,
            src,
            &via("h", Some(5070), Some("mcast.example"), false),
        );
        assert_eq!(
            t,
            ResponseTarget::Datagram("192.0.2.1:5070".parse().unwrap())
        );
    }

    #[test]
    fn a_websocket_response_has_no_connection_to_fall_back_to() {
        let src: SocketAddr = "192.0.2.9:51000".parse().unwrap();
        for ws in [Transport::Ws, Transport::Wss] {
            let t = response_target(ws, src, &via("df7jal23ls0d.invalid", None, None, true));
            assert_eq!(
                t,
                ResponseTarget::Connection {
                    peer: src,
                    fallback: src
                }
            );
        }
    }

    #[test]
    fn reliable_uses_connection_with_fallback() {
        let src: SocketAddr = "[2001:db8::1]:40000".parse().unwrap();
        let t = response_target(
            Transport::Tcp,
            src,
            &via("[2001:db8::1]", Some(5080), None, false),
        );
        assert_eq!(
            t,
            ResponseTarget::Connection {
                peer: src,
                fallback: "[2001:db8::1]:5080".parse().unwrap()
            }
        );
        assert_eq!(t.address(), src);
    }

    #[test]
    fn received_needed_when_host_differs() {
        let ip: IpAddr = "192.0.2.4".parse().unwrap();
        assert!(!needs_received("192.0.2.4", ip));
        assert!(needs_received("192.0.2.5", ip));
        assert!(needs_received("pc.example.com", ip));
        assert!(!needs_received("[::1]", "::1".parse().unwrap()));
        // The shortcut for names that cannot start an IP literal leaves these to the parse.
        assert!(!needs_received("::1", "::1".parse().unwrap()));
        assert!(!needs_received(
            "2001:db8::1",
            "2001:db8::1".parse().unwrap()
        ));
        assert!(needs_received(
            "2001:db8::2",
            "2001:db8::1".parse().unwrap()
        ));
        assert!(needs_received("face.example.com", ip));
        assert!(needs_received("", ip));
    }
}
