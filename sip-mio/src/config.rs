//! What the driver binds and the limits it enforces.

use std::net::SocketAddr;
use std::time::Duration;

use sip_core::endpoint::EndpointConfig;
use sip_core::transport::Transport;
use sip_core::transport::limits::StreamLimits;

/// One socket to bind: a UDP socket or a TCP listener (RFC 3261 §18: a UA listens on both).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listen {
    /// [`Transport::Udp`], [`Transport::Tcp`], [`Transport::Tls`] (which needs
    /// [`DriverConfig::tls`] with a server certificate) or [`Transport::Ws`] (accepted
    /// connections only); other transports are refused by
    /// [`Driver::new`](crate::Driver::new).
    pub transport: Transport,
    /// Where to bind; port 0 binds an ephemeral port (read it back from
    /// [`Driver::local_addrs`](crate::Driver::local_addrs)).
    pub addr: SocketAddr,
    /// The `host[:port]` to advertise in Via and Contact instead of the bound address
    /// (RFC 3261 §18.1.1 sent-by), e.g. a public address.
    pub advertised: Option<String>,
}

impl Listen {
    /// A UDP socket at `addr`.
    pub fn udp(addr: SocketAddr) -> Self {
        Listen {
            transport: Transport::Udp,
            addr,
            advertised: None,
        }
    }

    /// A TCP listener at `addr`.
    pub fn tcp(addr: SocketAddr) -> Self {
        Listen {
            transport: Transport::Tcp,
            addr,
            advertised: None,
        }
    }

    /// A WebSocket listener at `addr` (RFC 7118: SIP over WebSocket, `ws://`, for browser
    /// clients; the server side only: browsers open the connections).
    pub fn ws(addr: SocketAddr) -> Self {
        Listen {
            transport: Transport::Ws,
            addr,
            advertised: None,
        }
    }

    /// A TLS listener at `addr` (RFC 3261 §26.2: `sips:`, port 5061).
    pub fn tls(addr: SocketAddr) -> Self {
        Listen {
            transport: Transport::Tls,
            addr,
            advertised: None,
        }
    }
}

/// Configuration of a [`Driver`](crate::Driver): the endpoint, the sockets, and the
/// limits of the transport layer (RFC 3261 §18, RFC 5626 §3.5 for idle flows).
///
/// IPv6 sockets are bound `IPV6_V6ONLY`, so `0.0.0.0:5060` and `[::]:5060` can be bound
/// side by side.
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// The endpoint's configuration. Its `local_addrs` are replaced by the addresses
    /// actually bound (with their `advertised` values).
    pub endpoint: EndpointConfig,
    /// Seed of the endpoint's tags, branches and Call-IDs (RFC 3261 §8.1.1.4, §19.3).
    /// [`DriverConfig::new`] and `Default` draw it from the OS's randomness, which is what
    /// a deployed driver wants. Fix it ([`DriverConfig::seed`]) only in tests and
    /// simulations: **a fixed seed must never be reused across restarts** — the endpoint
    /// would draw the same tags and Call-IDs again, which collide with the dialogs of its
    /// previous life at every peer that still remembers them.
    pub seed: u64,
    /// Sockets to bind, in order (their tokens follow this order).
    pub listen: Vec<Listen>,
    /// What TCP peers may hold: connections in total and per source, the deadline to
    /// complete a message, the idle timeout, the bytes waiting to be written per
    /// connection and in total (the core's policy, [`StreamLimits`]; its defaults are
    /// meant for the open internet). The token range bounds the connections too.
    pub tcp_limits: StreamLimits,
    /// How long an outgoing TCP connect may take before it is a transport error (default
    /// 5 s; RFC 3261 §18.1.1, §18.4).
    pub connect_timeout: Duration,
    /// Largest message accepted: a bigger UDP datagram is dropped, a bigger message on a
    /// stream is a framing error (default 65,535, §18.1.1).
    pub max_message_size: usize,
    /// Bytes a UDP socket may hold waiting for writable readiness (default 4 MiB); a
    /// datagram that does not fit is dropped and counted. (TCP connections are bounded by
    /// `tcp_limits`.)
    pub max_queued_bytes: usize,
    /// `SO_RCVBUF` asked for each UDP socket (default
    /// [`UDP_RECV_BUFFER`](sip_core::transport::UDP_RECV_BUFFER), 4 MiB; `None` for the
    /// system default). The kernel may grant less: see
    /// [`TransportStats::udp_recv_buffer`](crate::TransportStats::udp_recv_buffer).
    pub udp_recv_buffer_size: Option<usize>,
    /// `SO_REUSEADDR` on bound sockets (default true).
    pub reuse_address: bool,
    /// Certificates for TLS: the trust anchors outgoing TLS connections check servers
    /// against (RFC 5922 §4: the transmit's server name, else the destination's address)
    /// and the certificate TLS listeners present. `None`: outgoing connections trust the
    /// platform's CAs, and no TLS listener can be bound. TLS connections count against
    /// `tcp_limits` like TCP ones and must finish their handshake within its
    /// `handshake_deadline`.
    pub tls: Option<sip_tls::TlsConfig>,
    /// Most datagrams or stream reads handled per readiness before other sources get a
    /// turn (default 256). What is left is read on the next
    /// [`Driver::handle_timeout`](crate::Driver::handle_timeout), which
    /// [`Driver::next_timeout`](crate::Driver::next_timeout) then asks for at once.
    pub read_budget: usize,
    /// The DNS server the endpoint's RFC 3263 lookups go to (UDP); `None`: the first
    /// `nameserver` of `/etc/resolv.conf`, read when the driver is built. Lookups use the
    /// last token of the driver's range when the range has one to spare (beyond the
    /// sockets and one connection); without it, host names do not resolve.
    pub dns_server: Option<std::net::SocketAddr>,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            endpoint: EndpointConfig::default(),
            seed: random_seed(),
            listen: Vec::new(),
            tcp_limits: StreamLimits::default(),
            connect_timeout: Duration::from_secs(5),
            max_message_size: 65_535,
            max_queued_bytes: 4 << 20,
            udp_recv_buffer_size: Some(sip_core::transport::UDP_RECV_BUFFER),
            reuse_address: true,
            tls: None,
            read_budget: 256,
            dns_server: None,
        }
    }
}

impl DriverConfig {
    /// A configuration listening on `listen`, with a random seed and defaults for
    /// everything else.
    pub fn new(listen: Vec<Listen>) -> Self {
        DriverConfig {
            listen,
            ..Self::default()
        }
    }

    /// With a fixed seed, for tests and simulations that must repeat themselves. Never
    /// reuse one across restarts of a deployed driver (see [`DriverConfig::seed`]).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// A seed nobody else draws: the standard library's per-process hash keys (taken from the
/// OS's random source) hashing the wall clock and the process id. The core may not read
/// either; a driver may.
pub(crate) fn random_seed() -> u64 {
    use std::hash::BuildHasher;
    let clock = std::time::SystemTime::now();
    std::collections::hash_map::RandomState::new().hash_one((clock, std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = DriverConfig::new(vec![Listen::udp("127.0.0.1:0".parse().unwrap())]).seed(7);
        assert_eq!(c.seed, 7);
        assert_eq!(c.listen[0].transport, Transport::Udp);
        assert_eq!(c.tcp_limits, StreamLimits::default());
        assert_eq!(c.connect_timeout, Duration::from_secs(5));
        assert_eq!(c.max_message_size, 65_535);
        assert_eq!(c.max_queued_bytes, 4 << 20);
        assert!(c.reuse_address);
        assert_eq!(c.read_budget, 256);
        assert_eq!(Listen::tcp(c.listen[0].addr).transport, Transport::Tcp);
    }

    #[test]
    fn seeds_are_drawn_afresh() {
        // Each configuration gets its own (2^-64 odds of a clash).
        let a = DriverConfig::new(Vec::new()).seed;
        let b = DriverConfig::new(Vec::new()).seed;
        let c = DriverConfig::default().seed;
        assert!(a != b && b != c && a != c, "{a} {b} {c}");
    }
}
