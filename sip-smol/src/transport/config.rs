//! What the transport layer binds and the limits it enforces.

use std::net::SocketAddr;
use std::time::Duration;

use sip_core::transport::limits::StreamLimits;

/// Sockets to bind and limits to enforce (RFC 3261 §18: a UA listens on UDP and TCP, and
/// RFC 5626 §3.5 for how long an idle flow is kept).
///
/// IPv6 sockets are bound with `IPV6_V6ONLY` set, so the two families never share a socket:
/// to serve both, bind `0.0.0.0:5060` and `[::]:5060`. Port 0 binds an ephemeral port; read
/// the actual one from [`UserAgent::local_addrs`](crate::UserAgent::local_addrs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportConfig {
    /// UDP sockets to bind (one receive loop each).
    pub udp: Vec<SocketAddr>,
    /// TCP listeners to bind (one accept loop each). Outgoing TCP connections need none.
    pub tcp: Vec<SocketAddr>,
    /// TLS listeners to bind (RFC 3261 §26.2: `sips:`, port 5061); they need
    /// `tls_config` with a server certificate. Outgoing TLS connections need none.
    pub tls: Vec<SocketAddr>,
    /// WebSocket listeners to bind (RFC 7118: `ws://`, SIP over WebSocket for browser
    /// softphones). Each connection must finish its opening handshake, offering the `sip`
    /// subprotocol, within `tcp_limits.handshake_deadline`; it then counts against
    /// `tcp_limits` like a TCP one, one SIP message per WebSocket message.
    pub ws: Vec<SocketAddr>,
    /// Secure WebSocket listeners (`wss://`): TLS with `tls_config`'s server certificate,
    /// then the WebSocket handshake, each within `tcp_limits.handshake_deadline`.
    pub wss: Vec<SocketAddr>,
    /// Seeds the masking keys and handshake nonces of outgoing WebSocket connections
    /// (RFC 6455 §5.3, §4.1), mixed with each connection's number; the user agent sets it
    /// from its own seed, so a seeded run replays.
    pub ws_mask_seed: u64,
    /// Our own keep-alive on every WebSocket connection, accepted or opened: a Ping after
    /// `interval` without anything received, the connection closed when its Pong does not
    /// come within `pong_timeout` (RFC 6455 §5.5.2; see
    /// [`sip_core::transport::websocket::keepalive`]). `None` (the default) sends none:
    /// the peer's pings are answered either way, and the TCP idle timeout still applies.
    pub ws_keepalive: Option<sip_core::transport::websocket::WsKeepalive>,
    /// Certificates for TLS: the trust anchors outgoing connections check servers against
    /// and the certificate our listeners present. `None`: outgoing connections trust the
    /// platform's CAs, and no TLS listener can be bound. TLS connections count against
    /// `tcp_limits` like TCP ones, and must finish their handshake within its
    /// `handshake_deadline`.
    pub tls_config: Option<sip_tls::TlsConfig>,
    /// `SO_RCVBUF` for every bound socket and every accepted connection (which inherits
    /// it from its listener), `None` for the system default. Outgoing TCP connections keep
    /// the system's default.
    pub recv_buffer_size: Option<usize>,
    /// `SO_RCVBUF` for UDP sockets when `recv_buffer_size` is `None` (default
    /// [`UDP_RECV_BUFFER`](sip_core::transport::UDP_RECV_BUFFER), 4 MiB; `None` for the
    /// system default). The kernel may grant less: see
    /// [`TransportStats::udp_recv_buffer`](super::TransportStats::udp_recv_buffer). (TCP
    /// sockets keep the kernel's autotuning unless `recv_buffer_size` is set.)
    pub udp_recv_buffer_size: Option<usize>,
    /// `SO_SNDBUF` for every bound socket and accepted connection, `None` for the system
    /// default (outgoing TCP connections keep it).
    pub send_buffer_size: Option<usize>,
    /// `SO_REUSEADDR` on bound sockets (default `true`, as the standard `TcpListener::bind`
    /// does on Unix, so a restarted server rebinds while old connections sit in TIME_WAIT).
    /// On Linux it also lets two UDP sockets that both set it share a port.
    pub reuse_address: bool,
    /// What TCP peers may hold: connections in total and per source, the deadline to
    /// complete a message, the idle timeout, the bytes waiting to be written per
    /// connection and in total (the core's policy, [`StreamLimits`]; its defaults are
    /// meant for the open internet). Accepts past a connection limit are closed at once,
    /// connects past it fail with a transport error; a connection past a deadline or an
    /// output cap is closed.
    pub tcp_limits: StreamLimits,
    /// How long an outgoing TCP connect may take before it counts as failed (default 5 s;
    /// RFC 3261 §18.1.1: a failed connect is a transport error for the transaction).
    pub connect_timeout: Duration,
    /// Largest message accepted: a bigger UDP datagram is dropped, a bigger message on a
    /// stream is a framing error (default 65,535, the UDP maximum, §18.1.1).
    pub max_message_size: usize,
    /// Capacity of the input channel and of each UDP send queue, in messages (default
    /// 1024; 0 is treated as 1). A TCP connection's send queue is bounded in bytes by
    /// `tcp_limits` instead.
    pub channel_capacity: usize,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            udp: Vec::new(),
            tcp: Vec::new(),
            tls: Vec::new(),
            ws: Vec::new(),
            wss: Vec::new(),
            ws_mask_seed: 0,
            ws_keepalive: None,
            tls_config: None,
            recv_buffer_size: None,
            udp_recv_buffer_size: Some(sip_core::transport::UDP_RECV_BUFFER),
            send_buffer_size: None,
            reuse_address: true,
            tcp_limits: StreamLimits::default(),
            connect_timeout: Duration::from_secs(5),
            max_message_size: 65_535,
            channel_capacity: 1024,
        }
    }
}

impl TransportConfig {
    /// The queue capacity actually used (a channel needs at least one slot).
    pub(crate) fn capacity(&self) -> usize {
        self.channel_capacity.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_values() {
        let c = TransportConfig::default();
        assert!(c.udp.is_empty() && c.tcp.is_empty() && c.tls.is_empty());
        assert!(c.ws.is_empty() && c.wss.is_empty() && c.ws_keepalive.is_none());
        assert!(c.tls_config.is_none());
        assert_eq!(c.recv_buffer_size, None);
        assert_eq!(c.udp_recv_buffer_size, Some(4 << 20));
        assert_eq!(c.send_buffer_size, None);
        assert!(c.reuse_address);
        assert_eq!(c.tcp_limits, StreamLimits::default());
        assert_eq!(c.connect_timeout, Duration::from_secs(5));
        assert_eq!(c.max_message_size, 65_535);
        assert_eq!(c.channel_capacity, 1024);
        assert_eq!(c.capacity(), 1024);
    }

    #[test]
    fn zero_capacity_is_raised_to_one() {
        let c = TransportConfig {
            channel_capacity: 0,
            ..Default::default()
        };
        assert_eq!(c.capacity(), 1);
    }
}
