//! The sans-IO endpoint: the one façade a driver feeds with bytes and time and drains for
//! transmits and events. Inside, layers that own their state talk through typed values,
//! one way up and one way down:
//!
//! ```text
//!  bytes ──► transaction layer ──Up──► digest client ──► registrations ──► dialog layer ──► events
//!  (parse,    (transaction::layer)      (retry 401/407)    (REGISTER)        (dialog)
//!   §17, §18)          ▲                                        │                │
//!                      └──────────── Transactions: start, respond, cancel ◄──────┘
//! ```
//!
//! Each input or command runs the layers it concerns, then every report the transaction
//! layer made is routed up, in order, until none is left: nothing is waiting when the call
//! returns. An endpoint built [without the dialog layer](EndpointBuilder::without_dialog_layer)
//! hands every request, response and ACK to the application as a transaction-layer event,
//! for proxies and B2BUAs.
//!
//! # The calling contract
//!
//! 1. Feed what happens: [`Endpoint::handle_input`] for bytes received and transport
//!    failures, [`Endpoint::handle_timeout`] when the instant from `poll_timeout` has come,
//!    and commands ([`Endpoint::invite`], [`Endpoint::dialog`], [`Endpoint::send_request`],
//!    ...). Every one takes `now` from the caller: the endpoint reads no clock.
//! 2. After each of them, drain [`Endpoint::poll_output`] until it gives `None`: transmits
//!    to send and events for the application, in the order they arose. Commands may be
//!    called while draining (answering an `IncomingCall` at once, say); keep draining.
//! 3. Then ask [`Endpoint::poll_timeout`] when to call `handle_timeout` next (`None`: no
//!    timer is armed). Any input or command can change it, so ask again after each.
//!
//! Randomness (tags, branches, Call-IDs, glare delays, hashing) comes from the `seed` given
//! to [`Endpoint::new`]: the same seed and inputs give byte-identical outputs. **A deployed
//! endpoint must never reuse a seed across restarts** — the tags and Call-IDs it draws would
//! repeat and collide with the dialogs of its previous life (RFC 3261 §8.1.1.4, §19.3). Draw
//! it from the OS (the drivers do by default); fix it only in tests and simulations.
//!
//! ```
//! use std::time::Instant;
//! use sip_core::endpoint::{Endpoint, EndpointConfig, Event, Input, Output, Target};
//! use sip_core::message::Method;
//! use sip_core::transport::Transport;
//!
//! # #[allow(clippy::disallowed_methods)]
//! let now = Instant::now();
//! let alice_addr = "192.0.2.1:5060".parse().unwrap();
//! let bob_addr = "192.0.2.2:5060".parse().unwrap();
//! let mut alice = Endpoint::new(EndpointConfig::with_local(Transport::Udp, alice_addr), 1);
//! let mut bob = Endpoint::new(EndpointConfig::with_local(Transport::Udp, bob_addr), 2);
//!
//! // Alice sends OPTIONS to Bob.
//! let req = alice
//!     .request(Method::Options, "sip:bob@192.0.2.2", "<sip:alice@192.0.2.1>", "<sip:bob@192.0.2.2>")
//!     .build()
//!     .unwrap();
//! let tx = alice.send_request(now, req, Target::new(Transport::Udp, bob_addr)).unwrap();
//! let Some(Output::Transmit(t)) = alice.poll_output() else { panic!() };
//!
//! // The driver carries the bytes to Bob, whose TU answers 200.
//! bob.handle_input(now, Input::Receive { transport: t.transport, from: alice_addr, to: bob_addr, bytes: t.bytes });
//! let Some(Output::Event(Event::IncomingRequest { tx: stx, .. })) = bob.poll_output() else { panic!() };
//! bob.respond_with(now, stx, 200).unwrap();
//! let Some(Output::Transmit(t)) = bob.poll_output() else { panic!() };
//!
//! alice.handle_input(now, Input::Receive { transport: t.transport, from: bob_addr, to: alice_addr, bytes: t.bytes });
//! match alice.poll_output() {
//!     Some(Output::Event(Event::Response { tx: got, response })) => {
//!         assert_eq!(got, tx);
//!         assert_eq!(response.status(), 200);
//!     }
//!     other => panic!("{other:?}"),
//! }
//! // Non-INVITE client transactions linger for Timer K (§17.1.2.2).
//! assert!(alice.poll_timeout().is_some());
//! ```

mod config;
mod digest;
mod dns;
mod failover;
mod handles;
mod io;
mod policy;

pub use crate::dialog::InviteOptions;
pub use crate::registration::{RegisterOptions, RegistrationId, RegistrationState};
pub use crate::transaction::layer::{EndpointError, Target};
pub use config::{DEFAULT_ALLOW, EndpointConfig, LocalAddr, MaxForwardsPolicy};
pub use digest::Credentials;
pub use handles::{Dialog, Refer};
pub use io::{ClientTxId, Event, Failure, Input, Output, ServerTxId, Stats, Transmit};
pub use policy::Unhandled;

use std::collections::VecDeque;
use std::time::Instant;

use crate::dialog::{
    DialogConfig, DialogEnv, DialogError, DialogEvent, DialogId, DialogInfo, DialogLayer,
    DialogState,
};
use crate::message::{Method, Request, RequestBuilder, Response, ResponseBuilder};
use crate::registration::{RegistrationEnv, Registrations};
use crate::rng::IdGenerator;
use crate::transaction::layer::{Locals, Responded, Service, Sink, TransactionLayer, TxConfig, Up};
use digest::DigestClient;
use failover::{Failover, Mapped};

/// The endpoint's output queue: transmits and events in the order they arose.
#[derive(Debug, Default)]
struct Outbox(VecDeque<Output>);

impl Sink for Outbox {
    #[inline]
    fn transmit(&mut self, t: Transmit) {
        self.0.push_back(Output::Transmit(t));
    }
}

impl Outbox {
    fn event(&mut self, e: Event) {
        self.0.push_back(Output::Event(e));
    }
}

/// What the layers above the transaction layer see of it: the transaction layer's
/// [`Service`] over the output queue; their events go to the same queue.
type Below<'a> = Service<'a, Outbox>;

/// The service for the endpoint's layers: CANCELs follow digest retries and failovers.
fn below<'a>(
    txl: &'a mut TransactionLayer,
    out: &'a mut Outbox,
    digest: &'a DigestClient,
    failover: &'a Failover,
) -> Below<'a> {
    Service {
        current: Some(digest),
        moved: Some(failover),
        ..Service::new(txl, out)
    }
}

impl DialogEnv for Below<'_> {
    fn emit(&mut self, e: DialogEvent) {
        self.out.event(e.into());
    }
}

impl RegistrationEnv for Below<'_> {
    fn registration(&mut self, registration: RegistrationId, state: RegistrationState) {
        self.out.event(Event::Registration {
            registration,
            state,
        });
    }
}

/// Builds an [`Endpoint`]: with its dialog layer (the default, a user agent) or without it
/// (a transaction-layer endpoint for proxies, B2BUAs and tests of the transaction layer).
#[derive(Debug, Clone)]
pub struct EndpointBuilder {
    config: EndpointConfig,
    dialog_layer: bool,
}

impl EndpointBuilder {
    /// Without the dialog layer: INVITEs arrive as [`Event::IncomingRequest`], ACKs for 2xx
    /// as [`Event::Ack`], 2xx retransmissions after the transaction as
    /// [`Event::StrayResponse`]; the application answers them on their transactions.
    pub fn without_dialog_layer(mut self) -> Self {
        self.dialog_layer = false;
        self
    }

    /// The endpoint, its randomness drawn from `seed` (see the [module docs](self) on
    /// seeds: never reuse one across restarts of a deployed endpoint).
    pub fn build(self, seed: u64) -> Endpoint {
        Endpoint::with_layers(self.config, seed, self.dialog_layer)
    }
}

/// One SIP endpoint: its layers, their timers and its output queue. See the
/// [module docs](self) for the calling contract.
#[derive(Debug)]
pub struct Endpoint {
    config: EndpointConfig,
    txl: TransactionLayer,
    dialogs: Option<DialogLayer>,
    regs: Registrations,
    digest: DigestClient,
    /// Draws the Call-IDs and tags of [`Endpoint::request`].
    ids: IdGenerator,
    out: Outbox,
    /// RFC 3263: next hops that are host names.
    resolver: crate::resolver::Resolver,
    /// Commands waiting for their resolution, by resolution id.
    held: std::collections::HashMap<u64, dns::Held, foldhash::fast::FixedState>,
    /// RFC 3263 §4.3: requests with targets left to try.
    failover: Failover,
}

impl Endpoint {
    /// A user agent: the transaction layer with the dialog layer and registrations above it.
    /// `seed` determines every tag, branch and Call-ID it generates, and the hashing of its
    /// tables: the same seed and inputs give byte-identical outputs. Never reuse a seed
    /// across restarts of a deployed endpoint (see the [module docs](self)).
    pub fn new(config: EndpointConfig, seed: u64) -> Self {
        Endpoint::with_layers(config, seed, true)
    }

    /// A builder, to choose the layers.
    pub fn builder(config: EndpointConfig) -> EndpointBuilder {
        EndpointBuilder {
            config,
            dialog_layer: true,
        }
    }

    fn with_layers(mut config: EndpointConfig, seed: u64, dialog_layer: bool) -> Self {
        // Received requests are parsed with room for the `received`/`rport` stamp (§18.2.1,
        // RFC 3581), so stamping does not reallocate the header text.
        config.parse = config.parse.with_received_headroom();
        let mut master = IdGenerator::new(seed);
        let hash = master.u64();
        let mut ids = || IdGenerator::new(master.u64());
        let tx_config = TxConfig {
            timers: config.timers,
            parse: config.parse,
            max_transactions: config.max_transactions,
            max_lingering: config.max_lingering_transactions,
            retry_after_secs: config.retry_after_secs,
            max_forwards_policy: config.max_forwards_policy,
            supported: {
                let mut s = config.supported.clone();
                // RFC 3891: the dialog layer handles Replaces.
                if dialog_layer && !s.iter().any(|t| t == "replaces") {
                    s.push("replaces".to_owned());
                }
                if config.session_timers.enabled && dialog_layer && !s.iter().any(|t| t == "timer")
                {
                    s.push("timer".to_owned());
                }
                if config.reliable_provisionals.enabled()
                    && dialog_layer
                    && !s.iter().any(|t| t == "100rel")
                {
                    s.push("100rel".to_owned());
                }
                s
            },
            allowed_methods: config.allowed_methods.clone(),
            hand_up_challenges: config.credentials.is_some(),
            report_ends: dialog_layer || config.credentials.is_some(),
            tu_resends_2xx: dialog_layer,
            via_maddr: config.via_maddr,
        };
        let locals = Locals::new(config.local_addrs.clone());
        let txl = TransactionLayer::new(tx_config, locals, ids(), hash);
        let dialogs = dialog_layer.then(|| {
            let c = DialogConfig {
                timers: config.timers,
                max_dialogs: config.max_dialogs,
                max_ended: config.max_lingering_transactions,
                bye_extra_forks: config.bye_extra_forks,
                refer_expires_secs: config.refer_expires_secs,
                retry_after_secs: config.retry_after_secs,
                guard: config.dialog_guard,
                no_ack_bye: config.no_ack_bye,
                session_timers: config.session_timers,
                info_packages: config.info_packages.clone(),
                offer_answer: config.offer_answer,
                prack: config.reliable_provisionals,
                allow: config
                    .allow()
                    .iter()
                    .map(Method::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
                    .into(),
            };
            DialogLayer::new(c, ids(), hash)
        });
        let regs = Registrations::new(ids(), hash);
        let digest = DigestClient::new(config.credentials.clone(), ids(), hash);
        let own = ids();
        // Drawn last, so the other layers draw what they drew before the resolver existed.
        let mut resolver_config = config.resolver.clone();
        resolver_config.supported = crate::resolver::supported_by(&config.local_addrs);
        let resolver = crate::resolver::Resolver::new(resolver_config, master.u64());
        Endpoint {
            config,
            txl,
            dialogs,
            regs,
            digest,
            ids: own,
            out: Outbox::default(),
            resolver,
            held: std::collections::HashMap::with_hasher(foldhash::fast::FixedState::with_seed(
                hash,
            )),
            failover: Failover::new(hash),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// Whether the dialog layer runs.
    pub fn has_dialog_layer(&self) -> bool {
        self.dialogs.is_some()
    }

    /// Counters, summed over the layers.
    pub fn stats(&self) -> Stats {
        let t = self.txl.stats();
        let d = self.dialogs.as_ref().map(|d| d.stats()).unwrap_or_default();
        Stats {
            received: t.received,
            parse_errors: t.parse_errors,
            stateless_responses: t.stateless_responses,
            misrouted_responses: t.misrouted_responses,
            retransmissions: t.retransmissions + d.retransmissions,
            absorbed_retransmissions: t.absorbed_retransmissions,
            overload_rejections: t.overload_rejections + d.overload_rejections,
            unknown_dialog: d.unknown_dialog,
        }
    }

    /// Client and server transactions alive, lingering ones included.
    pub fn transaction_count(&self) -> (usize, usize) {
        self.txl.counts()
    }

    /// Transactions that only absorb retransmissions until their timer ends them (see
    /// [`EndpointConfig::max_lingering_transactions`]); included in
    /// [`Endpoint::transaction_count`].
    pub fn lingering_transaction_count(&self) -> usize {
        self.txl.lingering()
    }

    /// Whether the endpoint is shedding load: its last new request was refused with 503
    /// for want of room (transactions or dialogs), and none was admitted since. A warning
    /// is logged (`tracing`) when an episode starts, and a note when it ends.
    pub fn is_shedding(&self) -> bool {
        self.txl.is_shedding() || self.dialogs.as_ref().is_some_and(DialogLayer::is_shedding)
    }

    /// Live dialogs (terminated ones are kept 64·T1 for late messages, then forgotten).
    pub fn dialog_count(&self) -> usize {
        self.dialogs.as_ref().map_or(0, DialogLayer::count)
    }

    /// Live client registrations.
    pub fn registration_count(&self) -> usize {
        self.regs.count()
    }

    // ---- driving --------------------------------------------------------------------

    /// Hands in something that happened: received bytes or a transport failure.
    pub fn handle_input(&mut self, now: Instant, input: Input) {
        match input {
            Input::Receive {
                transport,
                from,
                to,
                bytes,
            } => self
                .txl
                .receive(now, transport, from, to, bytes, &mut self.out),
            Input::Unframed {
                transport,
                from,
                to,
                bytes,
                error,
            } => self
                .txl
                .receive_unframed(transport, from, to, &bytes, &error, &mut self.out),
            Input::TransportError {
                transport,
                destination,
            } => self
                .txl
                .transport_error(now, transport, destination, &mut self.out),
        }
        self.pump(now);
    }

    /// Fires every timer due at `now`, in every layer.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.txl.handle_timeout(now, &mut self.out);
        self.pump(now);
        let Endpoint {
            txl,
            dialogs,
            regs,
            digest,
            out,
            failover,
            ..
        } = self;
        let mut below = below(txl, out, digest, failover);
        if let Some(d) = dialogs {
            d.handle_timeout(now, &mut below);
        }
        regs.handle_timeout(now, &mut below);
        self.pump(now);
    }

    /// The next transmit or event, in the order they arose; `None` when there is nothing
    /// more. Drain it after every input and command.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        let o = self.out.0.pop_front();
        if o.is_none()
            && let Some(to) = crate::capacity::drained_shrink_to(self.out.0.capacity())
        {
            // Drained after a burst (every timer of a peak firing at once): the queue's
            // memory goes back.
            self.out.0.shrink_to(to);
        }
        o
    }

    /// The earliest instant a timer of any layer is due (call
    /// [`Endpoint::handle_timeout`] then), or `None` if none is armed.
    #[must_use]
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        let t = self.txl.poll_timeout();
        let d = self.dialogs.as_mut().and_then(DialogLayer::poll_timeout);
        let r = self.regs.poll_timeout();
        [t, d, r].into_iter().flatten().min()
    }

    /// Routes every report of the transaction layer up, in order: through the digest
    /// client, to the registrations, to the dialog layer, and what none of them takes to
    /// the application.
    fn pump(&mut self, now: Instant) {
        let Endpoint {
            txl,
            dialogs,
            regs,
            digest,
            out,
            failover,
            ..
        } = self;
        while let Some(up) = txl.poll_up() {
            let up = match failover.map_up(now, up, &mut Service::new(&mut *txl, &mut *out)) {
                Mapped::Up(up) => up,
                Mapped::Moved(m) => {
                    regs.retargeted(m.user, m.target.clone());
                    if let Some(d) = dialogs.as_mut() {
                        d.retargeted(m.user, m.target);
                    }
                    continue;
                }
                Mapped::Dropped => continue,
            };
            let raw = match &up {
                Up::Response { tx, .. } => Some(*tx),
                _ => None,
            };
            let Some(up) = digest.map_up(up) else {
                continue;
            };
            let up = match up {
                Up::Response {
                    tx,
                    response,
                    challenged: Some(sent),
                } => {
                    let raw = raw.unwrap_or(tx);
                    // The retry is a copy of what we sent with new rows: checked like the
                    // application's own requests.
                    let mut plain = Below {
                        trusted: false,
                        ..Service::new(&mut *txl, &mut *out)
                    };
                    let retried = digest.retry(now, tx, raw, &response, &sent, &mut plain);
                    if let Some(seq) = retried {
                        regs.retried(tx, seq);
                        if let Some(d) = dialogs.as_mut() {
                            d.retried(tx, seq);
                        }
                        continue;
                    }
                    Up::Response {
                        tx,
                        response,
                        challenged: None,
                    }
                }
                other => other,
            };
            let mut below = below(&mut *txl, &mut *out, &*digest, &*failover);
            let up = match up {
                Up::Response { tx, response, .. } if regs.owns(tx) => {
                    regs.on_response(now, tx, &response, &mut below);
                    continue;
                }
                Up::ClientFailed { tx, failure } if regs.owns(tx) => {
                    regs.on_failure(now, tx, failure, &mut below);
                    continue;
                }
                Up::ClientEnded { tx } => {
                    regs.ended(tx);
                    Up::ClientEnded { tx }
                }
                Up::Cancelled { tx } => {
                    below.out.event(Event::Cancelled { tx });
                    if let Some(d) = dialogs.as_mut() {
                        let _ = d.on_up(now, Up::Cancelled { tx }, &mut below);
                    }
                    continue;
                }
                other => other,
            };
            let up = match dialogs.as_mut() {
                Some(d) => d.on_up(now, up, &mut below),
                None => Some(up),
            };
            if let Some(e) = up.and_then(Event::from_up) {
                out.event(e);
            }
        }
        self.resolve_hops(now);
    }

    // ---- commands: transactions -------------------------------------------------------

    /// Starts a request out of any dialog: a new Call-ID and From tag, CSeq 1, Max-Forwards
    /// 70 (§8.1.1). Add headers and a body, `build()` it, and pass it to
    /// [`Endpoint::send_request`], which adds the Via.
    pub fn request(&mut self, method: Method, uri: &str, from: &str, to: &str) -> RequestBuilder {
        let call_id = self.ids.call_id(None);
        let tag = self.ids.tag();
        Request::builder(method, uri)
            .max_forwards(70)
            .from(from, Some(&tag))
            .to(to, None)
            .call_id(&call_id)
            .cseq(1)
    }

    /// Sends a request in a new client transaction (§17.1): adds the top Via (a fresh
    /// `z9hG4bK` branch, the configured sent-by, and `rport`, RFC 3581), checks it like a
    /// received request, transmits it and arms the timers. Its responses arrive as
    /// [`Event::Response`].
    pub fn send_request(
        &mut self,
        now: Instant,
        request: Request,
        target: Target,
    ) -> Result<ClientTxId, EndpointError> {
        let r = self
            .txl
            .send_request(now, request, target, false, &mut self.out);
        self.pump(now);
        r
    }

    /// Sends a request with no transaction: the ACK for a 2xx (§13.2.2.4, §17.1.1.3) of an
    /// endpoint without the dialog layer (the dialog layer sends its own). A Via with a new
    /// branch is added.
    pub fn send_ack(
        &mut self,
        now: Instant,
        ack: Request,
        target: Target,
    ) -> Result<(), EndpointError> {
        let _ = now;
        self.txl.send_ack(ack, target, &mut self.out)
    }

    /// Cancels a pending INVITE (§9.1). The CANCEL is sent at once if a provisional response
    /// has arrived, else as soon as one does (§9.1: "a CANCEL request SHOULD NOT be sent to
    /// cancel a request until a provisional response has been received"). Returns the
    /// CANCEL's own client transaction, whose 200 (or 481) arrives as an
    /// [`Event::Response`]; the INVITE then ends with a 487.
    pub fn cancel(
        &mut self,
        now: Instant,
        invite: ClientTxId,
    ) -> Result<ClientTxId, EndpointError> {
        let mut current = self.digest.current(invite);
        if current == invite {
            current = crate::transaction::layer::CurrentTx::current(&self.failover, invite);
        }
        let r = self.txl.cancel(now, current, &mut self.out);
        self.pump(now);
        r
    }

    /// A response to the request of server transaction `tx` (§8.2.6), with the endpoint's
    /// To tag for it (the same for every response of the transaction; none for 100).
    pub fn response(&self, tx: ServerTxId, status: u16) -> Result<ResponseBuilder, EndpointError> {
        self.txl.response(tx, status)
    }

    /// Sends `response` on server transaction `tx` (§17.2): the transaction stores it for
    /// retransmission and sends it to where §18.2.2 says. Refused if the transaction's state
    /// forbids it (a second final response, ...), or if the response is for another request.
    /// A call's INVITE answered this way is followed by its dialog as if answered through
    /// [`Dialog::answer`].
    pub fn respond(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        response: Response,
    ) -> Result<(), EndpointError> {
        let status = response.status();
        let keep = self.dialogs.as_ref().is_some_and(|d| d.tracks(tx));
        let sent = self.txl.respond(now, tx, response, keep, &mut self.out)?;
        self.responded(now, tx, status, keep, &sent);
        Ok(())
    }

    /// Answers server transaction `tx` with `status` and no body.
    pub fn respond_with(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        status: u16,
    ) -> Result<(), EndpointError> {
        let keep = self.dialogs.as_ref().is_some_and(|d| d.tracks(tx));
        let sent = self
            .txl
            .respond_with(now, tx, status, keep, &mut self.out)?;
        self.responded(now, tx, status, keep, &sent);
        Ok(())
    }

    /// A response went out on `tx`: the dialog layer follows it if `tracked` (a call's
    /// INVITE), then the reports it caused go up.
    fn responded(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        status: u16,
        tracked: bool,
        sent: &Responded,
    ) {
        if tracked {
            let Endpoint {
                txl,
                dialogs,
                digest,
                out,
                failover,
                ..
            } = self;
            if let Some(d) = dialogs {
                d.responded(
                    now,
                    tx,
                    status,
                    sent,
                    &mut below(txl, out, digest, failover),
                );
            }
        }
        self.pump(now);
    }

    // ---- commands: dialogs ------------------------------------------------------------

    /// Runs `f` on the dialog layer with the service below it, then routes what it caused.
    fn with_dialogs<R>(
        &mut self,
        now: Instant,
        f: impl FnOnce(&mut DialogLayer, &mut Below<'_>) -> Result<R, DialogError>,
    ) -> Result<R, DialogError> {
        let Endpoint {
            txl,
            dialogs,
            digest,
            out,
            failover,
            ..
        } = self;
        let d = dialogs.as_mut().ok_or(DialogError::NoDialogLayer)?;
        let r = f(d, &mut below(txl, out, digest, failover));
        self.pump(now);
        r
    }

    /// Places a call: sends an INVITE in a new client transaction and returns the dialog
    /// handle at once. Progress comes as events: [`Event::DialogResponse`] for every
    /// response, [`Event::DialogStateChanged`] (Early on a tagged 1xx, Confirmed on the 2xx
    /// — which the core ACKs itself, and re-ACKs on each retransmission, §13.2.2.4 — or
    /// Terminated), and [`Event::Forked`] for further early dialogs from a forking proxy.
    ///
    /// A next hop that is a host name (the Request-URI's, or a pre-loaded Route's) is
    /// resolved first (RFC 3263; see [`Endpoint::poll_dns_query`]): the dialog id comes at
    /// once, the INVITE goes out when the first target is known, and the next targets are
    /// tried on a timeout, a transport error or a 503 without Retry-After (§4.3).
    pub fn invite(&mut self, now: Instant, opts: InviteOptions) -> Result<DialogId, DialogError> {
        if opts.target.is_none()
            && let Some(dest) = dns::domain_hop(&opts.uri, &opts.headers)
        {
            if !self.can_hold() {
                return Err(DialogError::Endpoint(EndpointError::TooManyTransactions));
            }
            let d = self.dialogs.as_mut().ok_or(DialogError::NoDialogLayer)?;
            let id = d.reserve_id();
            self.resolve_and_send(now, dest, dns::Held::Invite(id, Box::new(opts)));
            return Ok(id);
        }
        self.with_dialogs(now, |d, below| d.invite(now, opts, below))
    }

    /// Sends a REFER outside any dialog (RFC 3515 §2.4.1: it creates one, with its implicit
    /// subscription). Returns the new dialog and the REFER; progress comes as
    /// [`Event::Refer`] like for an in-dialog REFER.
    pub fn refer_out_of_dialog(
        &mut self,
        now: Instant,
        opts: InviteOptions,
        refer_to: &str,
    ) -> Result<(DialogId, crate::dialog::ReferId), DialogError> {
        self.with_dialogs(now, |d, below| {
            d.refer_out_of_dialog(now, opts, refer_to, below)
        })
    }

    /// A dialog's commands (answer, hang up, re-INVITE, REFER, requests within it), or why
    /// there is no such dialog.
    ///
    /// ```
    /// # use std::time::Instant;
    /// # use sip_core::endpoint::{Endpoint, EndpointConfig, InviteOptions};
    /// # use sip_core::transport::Transport;
    /// # #[allow(clippy::disallowed_methods)]
    /// # let now = Instant::now();
    /// let mut ep = Endpoint::new(EndpointConfig::with_local(Transport::Udp, "192.0.2.1:5060".parse().unwrap()), 7);
    /// let call = ep.invite(now, InviteOptions::new("sip:bob@192.0.2.2", "<sip:alice@a>", "<sip:bob@b>")).unwrap();
    /// // Not answered yet: hanging up cancels it (once a provisional response came, §9.1).
    /// ep.dialog(call).unwrap().hangup(now).unwrap();
    /// ```
    pub fn dialog(&mut self, id: DialogId) -> Result<Dialog<'_>, DialogError> {
        let d = self.dialogs.as_ref().ok_or(DialogError::NoDialogLayer)?;
        if d.state(id).is_none() && !self.is_held_call(id) {
            return Err(DialogError::UnknownDialog);
        }
        Ok(Dialog::new(self, id))
    }

    /// A REFER we received: accept, reject, report progress.
    pub fn refer(&mut self, id: crate::dialog::ReferId) -> Result<Refer<'_>, DialogError> {
        let d = self.dialogs.as_ref().ok_or(DialogError::NoDialogLayer)?;
        if !d.has_incoming_refer(id) {
            return Err(DialogError::UnknownRefer);
        }
        Ok(Refer::new(self, id))
    }

    /// A snapshot of a dialog. A terminated dialog is kept 64·T1 with its identity only
    /// (Call-ID, tags, CSeq numbers, role, state): its header values, remote target and
    /// route set read empty.
    pub fn dialog_info(&self, dialog: DialogId) -> Option<DialogInfo> {
        self.dialogs.as_ref()?.info(dialog)
    }

    /// A dialog's state.
    pub fn dialog_state(&self, dialog: DialogId) -> Option<DialogState> {
        self.dialogs.as_ref()?.state(dialog)
    }

    // ---- measures for tests and benchmarks (not a stable API) ----------------------------

    /// Bytes per dialog beside route sets and targets, averaged over live dialogs.
    #[cfg(any(test, feature = "introspection"))]
    pub fn dialog_footprint(&self) -> Option<usize> {
        self.dialogs.as_ref()?.footprint()
    }

    /// The state of an INVITE server transaction, if `tx` is one and alive.
    #[cfg(any(test, feature = "introspection"))]
    pub fn server_invite_state(
        &self,
        tx: ServerTxId,
    ) -> Option<crate::transaction::ServerInviteState> {
        self.txl.server_invite_state(tx)
    }

    // ---- commands: registrations ------------------------------------------------------

    /// Runs `f` on the registrations with the service below them, then routes what it
    /// caused.
    fn with_registrations<R>(
        &mut self,
        now: Instant,
        f: impl FnOnce(&mut Registrations, &mut Below<'_>) -> R,
    ) -> R {
        let Endpoint {
            txl,
            regs,
            digest,
            out,
            failover,
            ..
        } = self;
        let r = f(regs, &mut below(txl, out, digest, failover));
        self.pump(now);
        r
    }

    /// Registers a binding (§10.2) and keeps it fresh; returns at once. Progress comes as
    /// [`Event::Registration`].
    ///
    /// A registrar named by host name is resolved first (RFC 3263), as for
    /// [`Endpoint::invite`]; the REGISTER goes out when its first target is known.
    pub fn register(
        &mut self,
        now: Instant,
        opts: RegisterOptions,
    ) -> Result<RegistrationId, EndpointError> {
        if opts.target.is_none()
            && let Some(dest) = dns::domain_hop(&opts.registrar, &[])
        {
            if !self.can_hold() {
                return Err(EndpointError::TooManyTransactions);
            }
            let id = self.regs.reserve();
            self.resolve_and_send(now, dest, dns::Held::Register(id, Box::new(opts)));
            return Ok(id);
        }
        self.with_registrations(now, |regs, below| regs.register(now, opts, below))
    }

    /// Removes the binding (`Expires: 0`, §10.2.2); [`RegistrationState::Unregistered`]
    /// follows.
    pub fn unregister(&mut self, now: Instant, reg: RegistrationId) -> Result<(), EndpointError> {
        self.with_registrations(now, |regs, below| regs.unregister(now, reg, below))
    }
}

#[cfg(test)]
mod tests;
