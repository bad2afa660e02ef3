//! Endpoint configuration: timers, local addresses, limits.

use std::net::SocketAddr;

use crate::message::ParseOptions;
use crate::transaction::TimerConfig;
use crate::transport::Transport;

/// One local address the endpoint's driver listens on.
///
/// The core uses it for the Via sent-by of requests it sends (RFC 3261 §18.1.1) and as the
/// source address of its transmits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalAddr {
    /// The transport bound at this address.
    pub transport: Transport,
    /// The bound socket address.
    pub addr: SocketAddr,
    /// The host[:port] to advertise in Via and Contact instead of `addr` (e.g. a public
    /// address or a host name); `None` advertises `addr` itself. Text that is not a valid
    /// `hostport` (RFC 3261 §25.1) is ignored, with a warning: `addr` is advertised.
    pub advertised: Option<String>,
}

impl LocalAddr {
    /// A local address advertised as itself.
    pub fn new(transport: Transport, addr: SocketAddr) -> Self {
        Self {
            transport,
            addr,
            advertised: None,
        }
    }

    /// The `host:port` text to put in a Via sent-by or a Contact: `advertised` when it is a
    /// valid `hostport` (so nothing the endpoint writes with it can break a header or inject
    /// one), else the bound address.
    ///
    /// ```
    /// use sip_core::endpoint::LocalAddr;
    /// use sip_core::transport::Transport;
    /// let mut l = LocalAddr::new(Transport::Udp, "192.0.2.1:5060".parse().unwrap());
    /// l.advertised = Some("pbx.example.com:5070".into());
    /// assert_eq!(l.sent_by(), "pbx.example.com:5070");
    /// l.advertised = Some("pbx.example.com\r\nX-Injected: 1".into());
    /// assert_eq!(l.sent_by(), "192.0.2.1:5060");
    /// ```
    pub fn sent_by(&self) -> String {
        match &self.advertised {
            Some(a) if crate::message::SipUri::parse_host(a).is_ok() => a.clone(),
            Some(a) => {
                tracing::warn!(advertised = %a.escape_debug(), addr = %self.addr,
                    "advertised address is not a host[:port]; advertising the bound address");
                LocalAddr::new(self.transport, self.addr).sent_by()
            }
            None => {
                let mut s = String::with_capacity(24);
                crate::text::push_socket_addr(&mut s, self.addr);
                s
            }
        }
    }
}

/// What the endpoint does with a request whose Max-Forwards is 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MaxForwardsPolicy {
    /// Process it as if Max-Forwards were still positive: the default, because a user agent
    /// is the request's last hop (RFC 4475 §3.3.11: "an endpoint should process the request").
    #[default]
    Process,
    /// Answer 483 Too Many Hops statelessly, as a proxy must (RFC 3261 §16.3 step 3); for
    /// B2BUAs and front ends that forward what they receive.
    Reject,
}

/// Configuration of an `Endpoint`.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// T1, T2, T4, timer D and the 100 Trying delay (RFC 3261 §17, Table 4).
    pub timers: TimerConfig,
    /// Addresses the driver listens on, per transport.
    pub local_addrs: Vec<LocalAddr>,
    /// Parser mode and limits for received messages.
    pub parse: ParseOptions,
    /// The most transactions (client and server together) alive at once. A new request over
    /// the limit is answered 503 Service Unavailable with Retry-After (RFC 3261 §21.5.4);
    /// a new outgoing request over it fails with an error.
    pub max_transactions: usize,
    /// Seconds announced in Retry-After when shedding load.
    pub retry_after_secs: u32,
    /// What to do with Max-Forwards: 0.
    pub max_forwards_policy: MaxForwardsPolicy,
    /// A User-Agent / Server header value added to what the endpoint generates.
    pub user_agent: Option<String>,
    /// Option tags the transaction user supports. A request whose Require lists any other
    /// tag is answered 420 Bad Extension with an Unsupported header (§8.2.2.3).
    pub supported: Vec<String>,
    /// The most dialogs (calls, REFER subscriptions) alive at once; a new INVITE or REFER
    /// over it is answered 503 with Retry-After.
    pub max_dialogs: usize,
    /// When a second fork answers our INVITE with a 2xx after one was confirmed, ACK it and
    /// end it with BYE (§13.2.2.4). Set to false to keep every answered fork as a dialog.
    pub bye_extra_forks: bool,
    /// Whether the dialog layer runs (default). Without it the endpoint is a pure transaction
    /// layer — INVITEs arrive as `Event::IncomingRequest`, ACKs for 2xx as `Event::Ack`, 2xx
    /// retransmissions after the transaction as `Event::StrayResponse` — for proxies, B2BUAs
    /// and tests of the transaction layer alone.
    pub dialog_layer: bool,
    /// Methods the TU handles. When set, a request with any other method (ACK and CANCEL
    /// aside) is answered 405 Method Not Allowed with this list in Allow (§8.2.1).
    pub allowed_methods: Option<Vec<crate::message::Method>>,
    /// Credentials for digest challenges (401/407) to any request the endpoint sends
    /// (RFC 3261 §22.2); without them a challenge is passed to the TU as it is.
    pub credentials: Option<super::Credentials>,
    /// Seconds a REFER subscription is granted (`Subscription-State: active;expires=`).
    pub refer_expires_secs: u32,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        Self {
            timers: TimerConfig::default(),
            local_addrs: Vec::new(),
            parse: ParseOptions::default(),
            max_transactions: 100_000,
            retry_after_secs: 5,
            max_forwards_policy: MaxForwardsPolicy::default(),
            user_agent: None,
            supported: Vec::new(),
            max_dialogs: 100_000,
            bye_extra_forks: true,
            dialog_layer: true,
            credentials: None,
            allowed_methods: None,
            refer_expires_secs: 60,
        }
    }
}

impl EndpointConfig {
    /// A configuration with one local address and defaults for everything else.
    pub fn with_local(transport: Transport, addr: SocketAddr) -> Self {
        Self {
            local_addrs: vec![LocalAddr::new(transport, addr)],
            ..Self::default()
        }
    }

    /// The local address to send from for a destination reached over `transport`: the
    /// first bound address of that transport and the destination's IP family, else the first
    /// of that transport.
    pub fn local_for(&self, transport: Transport, dest: SocketAddr) -> Option<&LocalAddr> {
        let same = |l: &&LocalAddr| l.transport == transport;
        self.local_addrs
            .iter()
            .filter(same)
            .find(|l| l.addr.is_ipv4() == dest.is_ipv4())
            .or_else(|| self.local_addrs.iter().find(same))
    }
}
