//! Endpoint configuration: timers, local addresses, limits.

use std::net::SocketAddr;

pub use crate::dialog::{DialogGuard, NoAckBye, ReliableProvisionals, SessionTimers};
use crate::message::{Method, ParseOptions};
use crate::transaction::TimerConfig;
use crate::transaction::layer::local_for;
pub use crate::transaction::layer::{LocalAddr, MaxForwardsPolicy};
use crate::transport::Transport;

/// The methods an endpoint with its dialog layer handles, listed in `Allow` when
/// [`EndpointConfig::allowed_methods`] is not set (§20.5).
pub const DEFAULT_ALLOW: &[Method] = &[
    Method::Invite,
    Method::Ack,
    Method::Bye,
    Method::Cancel,
    Method::Options,
    Method::Refer,
    Method::Notify,
    Method::Update,
];

/// Configuration of an `Endpoint`.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// T1, T2, T4, timer D and the 100 Trying delay (RFC 3261 §17, Table 4).
    pub timers: TimerConfig,
    /// Addresses the driver listens on, per transport.
    pub local_addrs: Vec<LocalAddr>,
    /// Parser mode and limits for received messages.
    pub parse: ParseOptions,
    /// The most transactions at work at once: client and server transactions that have no
    /// final response yet (default 100,000). A new request over the limit is answered 503
    /// Service Unavailable with Retry-After (RFC 3261 §21.5.4); a new outgoing request over
    /// it fails with an error. Lingering transactions do not count here.
    pub max_transactions: usize,
    /// The most lingering transactions at once: those whose final response is sent or
    /// received and that stay only to absorb retransmissions until the RFC's timer ends
    /// them (an answered INVITE for 64·T1 = 32 s, RFC 6026 Timer L; an answered BYE or
    /// other non-INVITE over UDP for 64·T1, §17.2.2 Timer J; Timers D, K, I and M).
    /// Every call answered over UDP leaves two for 32 s, so sustaining R calls/s takes
    /// 64·R of them (default 1,000,000: about 15,000 calls/s). A lingering transaction has
    /// released its request's rows and keeps its key and, where it re-sends one, its last
    /// response. Over the budget, new requests get 503 as above: lingering ones are never
    /// ended before their timer. The same budget bounds the terminated dialogs kept for
    /// late messages.
    pub max_lingering_transactions: usize,
    /// Seconds announced in Retry-After when shedding load.
    pub retry_after_secs: u32,
    /// What to do with Max-Forwards: 0.
    pub max_forwards_policy: MaxForwardsPolicy,
    /// Option tags the transaction user supports. A request whose Require lists any other
    /// tag is answered 420 Bad Extension with an Unsupported header (§8.2.2.3).
    pub supported: Vec<String>,
    /// The most dialogs (calls, REFER subscriptions) not yet terminated at once (default
    /// 100,000); a new INVITE or REFER over it is answered 503 with Retry-After. A terminated
    /// dialog is kept 64·T1 for late messages and counts against
    /// [`EndpointConfig::max_lingering_transactions`] instead.
    pub max_dialogs: usize,
    /// When a second fork answers our INVITE with a 2xx after one was confirmed, ACK it and
    /// end it with BYE (§13.2.2.4). Set to false to keep every answered fork as a dialog.
    pub bye_extra_forks: bool,
    /// Methods the TU handles. When set, a request with any other method (ACK and CANCEL
    /// aside) is answered 405 Method Not Allowed with this list in Allow (§8.2.1), and the
    /// endpoint's own answers list it in Allow; when not set, they list [`DEFAULT_ALLOW`].
    pub allowed_methods: Option<Vec<Method>>,
    /// Media types listed in `Accept` when the endpoint answers an OPTIONS itself (§11.2).
    pub accept: Vec<String>,
    /// Credentials for digest challenges (401/407) to any request the endpoint sends
    /// (RFC 3261 §22.2); without them a challenge is passed to the TU as it is.
    pub credentials: Option<super::Credentials>,
    /// Seconds a REFER subscription is granted (`Subscription-State: active;expires=`).
    pub refer_expires_secs: u32,
    /// How long a confirmed dialog may live before the endpoint ends it with BYE
    /// ([`DialogGuard`]): by default 12 hours from the answer, no idle limit, so a call
    /// nobody hangs up cannot hold one of [`max_dialogs`](Self::max_dialogs) forever.
    pub dialog_guard: DialogGuard,
    /// Whether the BYE after a missing ACK (RFC 3261 §13.3.1.4) is sent ([`NoAckBye`]): by
    /// default only to the address the INVITE came from, so an INVITE cannot aim BYEs at
    /// a third party through its Contact.
    pub no_ack_bye: NoAckBye,
    /// Track SDP offer/answer in INVITE sessions (RFC 3264, `sip_core::dialog::offer_answer`):
    /// a crossing offer gets 491, an unreadable one 488, answers and hold/resume through
    /// `ep.dialog(id)?.answer_offer(..)`, `.hold(..)`, `.resume(..)`, and
    /// `Event::MediaNegotiated` per completed exchange. Off by default: bodies then pass
    /// through untouched, at no cost.
    pub offer_answer: bool,
    /// Send a response to the `maddr` of the request's top Via (RFC 3261 §18.2.2). Off by
    /// default: responses go to the request's source (`received`, and `rport` per RFC
    /// 3581), so a request cannot direct its responses at another host.
    pub via_maddr: bool,
    /// The RFC 3263 resolver for next hops that are host names: its cache size and TTL
    /// caps, its bound on pending lookups. Its `supported` transports are replaced by
    /// those of [`local_addrs`](Self::local_addrs) when the endpoint is built.
    pub resolver: crate::resolver::ResolverConfig,
    /// Session timers (RFC 4028, [`SessionTimers`]): off by default, so calls of
    /// applications that do not use them carry no extra header and cost the same. When on,
    /// the endpoint supports the `timer` option tag (it need not be listed in
    /// [`supported`](Self::supported)).
    pub session_timers: SessionTimers,
    /// The INFO packages the endpoint receives (RFC 6086, see [`crate::dialog::info`]):
    /// `None` (the default) keeps legacy INFO (every INFO to the application, no
    /// `Recv-Info` written); `Some(list)` writes `Recv-Info` on INVITEs and 2xx and answers
    /// an INFO for another package 469 Bad Info Package.
    pub info_packages: Option<Vec<String>>,
    /// Reliable provisional responses (RFC 3262, [`ReliableProvisionals`]): off by default,
    /// so plain calls carry no `Supported: 100rel` and cost the same; an INVITE requiring
    /// `100rel` is then refused 420. When on, the endpoint supports the `100rel` option tag
    /// (it need not be listed in [`supported`](Self::supported)).
    pub reliable_provisionals: ReliableProvisionals,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        Self {
            timers: TimerConfig::default(),
            local_addrs: Vec::new(),
            parse: ParseOptions::default(),
            max_transactions: 100_000,
            max_lingering_transactions: 1_000_000,
            retry_after_secs: 5,
            max_forwards_policy: MaxForwardsPolicy::default(),
            supported: Vec::new(),
            max_dialogs: 100_000,
            bye_extra_forks: true,
            credentials: None,
            allowed_methods: None,
            accept: vec!["application/sdp".to_owned()],
            refer_expires_secs: 60,
            dialog_guard: DialogGuard::default(),
            no_ack_bye: NoAckBye::default(),
            via_maddr: false,
            resolver: crate::resolver::ResolverConfig::default(),
            session_timers: SessionTimers::OFF,
            info_packages: None,
            offer_answer: false,
            reliable_provisionals: ReliableProvisionals::Off,
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
        local_for(&self.local_addrs, transport, dest).map(|(_, l)| l)
    }

    /// The methods the endpoint's own answers list in `Allow`.
    pub fn allow(&self) -> &[Method] {
        self.allowed_methods.as_deref().unwrap_or(DEFAULT_ALLOW)
    }
}
