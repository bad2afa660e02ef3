//! The sans-IO endpoint: the transaction layer (RFC 3261 §17) and the transport rules of §18
//! behind one façade that a driver feeds with bytes and time and drains for transmits,
//! events and timeouts.
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
//! ```

mod auth;
mod config;
mod dialogs;
mod id_table;
mod io;
mod key_index;
mod keys;
mod ops;
mod register;
mod target;

pub use auth::Credentials;
pub use config::{EndpointConfig, LocalAddr, MaxForwardsPolicy};
pub use dialogs::InviteOptions;
pub use io::{ClientTxId, Event, Failure, Input, Output, ServerTxId, Stats, Transmit};
pub use register::{RegisterOptions, RegistrationId, RegistrationState};
pub use target::Target;

use crate::message::{
    BuildError, Method, ParseError, Request, RequestBuilder, Response, ResponseBuilder, SipMessage,
    parse_framed,
};
use crate::rng::{Branch, IdGenerator};
use crate::timer::TimerQueue;
use crate::transaction::{
    Actions, ClientInviteTransaction, ClientNonInviteTransaction, ServerInviteState,
    ServerInviteTransaction, ServerNonInviteTransaction, TimerName, TransactionError,
};
use crate::transport::{ResponseTarget, Transport, ViaRouting, needs_received, response_target};
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

type Map<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// Why a command was refused. Every command either does what it says or returns one of
/// these: no command silently does nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// No transaction with this id (it never existed or has ended).
    #[error("unknown or terminated transaction")]
    UnknownTransaction,
    /// The transaction limit is reached.
    #[error("too many concurrent transactions")]
    TooManyTransactions,
    /// No local address is configured for this transport.
    #[error("no local address for transport {0}")]
    NoLocalAddress(Transport),
    /// The request or response fails the checks a received one would (missing mandatory
    /// header, CSeq method mismatch, ...).
    #[error("invalid message: {0}")]
    InvalidMessage(ParseError),
    /// The message could not be built.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The transaction refused the response in its current state.
    #[error(transparent)]
    Transaction(#[from] TransactionError),
    /// The response does not belong to this transaction (its Via branch or CSeq differs).
    #[error("the response does not match the transaction's request")]
    ResponseMismatch,
    /// CANCEL only applies to an INVITE client transaction.
    #[error("only an INVITE can be cancelled")]
    NotInvite,
    /// The INVITE already received a final response: there is nothing to cancel (§9.1).
    #[error("the INVITE already has a final response")]
    CancelTooLate,
    /// The INVITE was already cancelled.
    #[error("a CANCEL for this INVITE was already requested")]
    AlreadyCancelled,
    /// ACK is not sent through a transaction; use [`Endpoint::send_ack`].
    #[error("ACK has no client transaction; use send_ack")]
    AckNeedsNoTransaction,
    /// The target is a host name and the core does no DNS; pass an explicit [`Target`].
    #[error("the next hop is a host name; resolve it and pass a Target")]
    UnresolvedHost,
    /// The URI scheme has no SIP transport (tel:, http:, ...).
    #[error("unsupported URI scheme for a next hop")]
    UnsupportedScheme,
    /// The URI names a transport the stack does not know.
    #[error("unsupported transport parameter")]
    UnsupportedTransport,
}

#[derive(Debug)]
enum ClientMachine {
    Invite(ClientInviteTransaction),
    NonInvite(ClientNonInviteTransaction),
}

impl ClientMachine {
    fn poll_timeout(&self) -> Option<Instant> {
        match self {
            ClientMachine::Invite(m) => m.poll_timeout(),
            ClientMachine::NonInvite(m) => m.poll_timeout(),
        }
    }
    fn handle_timeout(&mut self, now: Instant) -> Actions {
        match self {
            ClientMachine::Invite(m) => m.handle_timeout(now),
            ClientMachine::NonInvite(m) => m.handle_timeout(now),
        }
    }
    fn on_response(&mut self, now: Instant, status: u16) -> Actions {
        match self {
            ClientMachine::Invite(m) => m.on_response(now, status),
            ClientMachine::NonInvite(m) => m.on_response(now, status),
        }
    }
    fn on_transport_error(&mut self, now: Instant) -> Actions {
        match self {
            ClientMachine::Invite(m) => m.on_transport_error(now),
            ClientMachine::NonInvite(m) => m.on_transport_error(now),
        }
    }
}

#[derive(Debug)]
enum ServerMachine {
    Invite(ServerInviteTransaction),
    NonInvite(ServerNonInviteTransaction),
}

impl ServerMachine {
    fn poll_timeout(&self) -> Option<Instant> {
        match self {
            ServerMachine::Invite(m) => m.poll_timeout(),
            ServerMachine::NonInvite(m) => m.poll_timeout(),
        }
    }
    fn handle_timeout(&mut self, now: Instant) -> Actions {
        match self {
            ServerMachine::Invite(m) => m.handle_timeout(now),
            ServerMachine::NonInvite(m) => m.handle_timeout(now),
        }
    }
    fn on_request_retransmission(&mut self, now: Instant) -> Actions {
        match self {
            ServerMachine::Invite(m) => m.on_request_retransmission(now),
            ServerMachine::NonInvite(m) => m.on_request_retransmission(now),
        }
    }
    fn on_tu_response(&mut self, now: Instant, status: u16) -> Result<Actions, TransactionError> {
        match self {
            ServerMachine::Invite(m) => m.on_tu_response(now, status),
            ServerMachine::NonInvite(m) => m.on_tu_response(now, status),
        }
    }
    fn on_transport_error(&mut self, now: Instant) -> Actions {
        match self {
            ServerMachine::Invite(m) => m.on_transport_error(now),
            ServerMachine::NonInvite(m) => m.on_transport_error(now),
        }
    }
    /// Whether the transaction may re-send its last response itself (a request
    /// retransmission, Timer G). Not in Accepted: a 2xx is re-sent by the TU alone and
    /// INVITE retransmissions are absorbed there (RFC 6026 §7.1, §8.5).
    fn resends_last_response(&self) -> bool {
        match self {
            ServerMachine::Invite(m) => {
                m.state() != crate::transaction::ServerInviteState::Accepted
            }
            ServerMachine::NonInvite(_) => true,
        }
    }
    /// Whether the TU can send no further response: a final non-2xx was sent (Completed
    /// and after), or the non-INVITE transaction answered. A 2xx to an INVITE (Accepted) may
    /// still be followed by others (RFC 6026 §7.1).
    fn answered_for_good(&self) -> bool {
        use crate::transaction::{ServerInviteState as I, ServerNonInviteState as N};
        match self {
            ServerMachine::Invite(m) => {
                matches!(m.state(), I::Completed | I::Confirmed | I::Terminated)
            }
            ServerMachine::NonInvite(m) => matches!(m.state(), N::Completed | N::Terminated),
        }
    }
    fn final_status(&self) -> Option<u16> {
        match self {
            ServerMachine::Invite(m) => m.final_status(),
            ServerMachine::NonInvite(m) => m.final_status(),
        }
    }
}

/// CANCEL bookkeeping of an INVITE client transaction (§9.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum CancelState {
    #[default]
    None,
    /// Requested before any provisional response: sent when one arrives.
    Pending(ClientTxId),
    Sent,
}

#[derive(Debug)]
struct ClientTx {
    /// Where the top Via branch is in `bytes`: with `method`, the key of the transaction
    /// (§17.1.3); it is filed under the branch in `client_keys`.
    branch: crate::message::Span,
    /// The hash of the branch in `client_keys` (so that removal need not hash it again).
    branch_hash: u64,
    method: Method,
    machine: ClientMachine,
    /// The request as sent (parsed again on the rare paths that need its fields: the ACK
    /// for a non-2xx, CANCEL, a digest retry).
    bytes: Bytes,
    transport: Transport,
    source: Option<SocketAddr>,
    destination: SocketAddr,
    /// What only some transactions need, allocated the first time one does: most
    /// transactions are never cancelled, challenged or answered with a non-2xx.
    extra: Option<Box<ClientExtra>>,
    armed: Option<Instant>,
}

/// The rarely used part of a client transaction.
#[derive(Debug, Default)]
struct ClientExtra {
    /// The ACK for a 3xx–6xx final response, kept to answer its retransmissions (§17.1.1.3).
    ack: Option<Bytes>,
    cancel: CancelState,
    /// §9.1: once a CANCEL is sent, the INVITE gives up 64·T1 later if no final response
    /// (normally a 487) has come.
    cancel_deadline: Option<Instant>,
    /// Nonces already answered for this request (digest: one retry per challenge).
    answered_nonces: Vec<Box<str>>,
}

impl ClientTx {
    /// The branch of the request's top Via.
    fn branch(&self) -> &[u8] {
        self.bytes
            .get(self.branch.start as usize..self.branch.end as usize)
            .unwrap_or_default()
    }

    fn extra_mut(&mut self) -> &mut ClientExtra {
        self.extra.get_or_insert_with(Default::default)
    }

    fn ack(&self) -> Option<&Bytes> {
        self.extra.as_ref().and_then(|e| e.ack.as_ref())
    }

    fn cancel(&self) -> CancelState {
        self.extra.as_ref().map_or(CancelState::None, |e| e.cancel)
    }

    fn cancel_deadline(&self) -> Option<Instant> {
        self.extra.as_ref().and_then(|e| e.cancel_deadline)
    }

    fn answered_nonces(&self) -> &[Box<str>] {
        self.extra.as_ref().map_or(&[], |e| &e.answered_nonces)
    }
}

#[derive(Debug)]
struct ServerTx {
    machine: ServerMachine,
    /// What responses copy from the request (§8.2.6), the key the transaction is filed
    /// under in `server_keys` and the To tag of its responses.
    skel: ops::Skeleton,
    /// The hash of the key in `server_keys` (so that removal need not hash it again).
    key_hash: u64,
    transport: Transport,
    local: SocketAddr,
    target: ResponseTarget,
    last_response: Option<Bytes>,
    armed: Option<Instant>,
}

/// Whether a Request-URI's scheme (what precedes its first colon) is one the endpoint
/// serves: `sip`, `sips` or `tel` in any letter case (§8.2.2.1 answers others 416).
fn has_supported_scheme(uri: &str) -> bool {
    let b = uri.as_bytes();
    let lower = |i: usize| b.get(i).map(u8::to_ascii_lowercase);
    matches!(
        (lower(0), lower(1), lower(2), lower(3), lower(4)),
        (Some(b's'), Some(b'i'), Some(b'p'), Some(b':'), _)
            | (Some(b's'), Some(b'i'), Some(b'p'), Some(b's'), Some(b':'))
            | (Some(b't'), Some(b'e'), Some(b'l'), Some(b':'), _)
    )
}

/// How a request arrived: what a stateless answer needs.
#[derive(Debug, Clone, Copy)]
struct Arrival {
    transport: Transport,
    from: SocketAddr,
    local: SocketAddr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimerRef {
    Client(u64),
    Server(u64),
    Dialog(u64),
    Refer(u64),
    Registration(u64),
}

/// One SIP endpoint: its transactions, timers and outbox. See the [module docs](self).
#[derive(Debug)]
pub struct Endpoint {
    config: EndpointConfig,
    ids: IdGenerator,
    next_id: u64,
    /// Boxed: a table of large inline values moves them on every insert, removal and
    /// growth, and keeps its empty slots at their full size.
    clients: Map<u64, Box<ClientTx>>,
    client_keys: key_index::KeyIndex,
    /// Found by id without hashing, and held inline in slots that are reused (see
    /// [`id_table`]): no allocation per server transaction beyond its skeleton. The
    /// vector keeps its largest size (some 430 bytes a slot).
    servers: id_table::IdTable<ServerTx>,
    server_keys: key_index::KeyIndex,
    dialogs: Map<u64, Box<dialogs::DialogEntry>>,
    dialog_index: key_index::KeyIndex,
    tx_usage: Map<u64, dialogs::Usage>,
    /// A call's INVITE (or re-INVITE) server transaction → its dialog.
    stx_dialog: Map<u64, u64>,
    refers: Map<u64, dialogs::ReferEntry>,
    reinvite_bodies: Map<u64, Option<dialogs::Body>>,
    registrations: Map<u64, register::RegEntry>,
    nonce_counts: Map<Box<str>, u32>,
    /// A transaction re-sent with credentials → the id the TU knows.
    tx_alias: Map<u64, u64>,
    timers: TimerQueue<TimerRef>,
    /// `LocalAddr::sent_by` of each configured local address, formatted once.
    sent_by: Vec<String>,
    /// The default Contact of each local address (`contact_text` of its sent-by), shared
    /// by every dialog that uses it.
    contacts: Vec<Arc<str>>,
    outputs: VecDeque<Output>,
    timeout_dirty: bool,
    stats: Stats,
    scratch: String,
    /// The last source address stamped as `received`, and its text (§18.2.1).
    received_text: (Option<std::net::IpAddr>, String),
}

impl Endpoint {
    /// A new endpoint. `seed` determines every tag, branch and Call-ID it generates, and the
    /// hashing of its tables: the same seed and inputs give byte-identical outputs.
    pub fn new(mut config: EndpointConfig, seed: u64) -> Self {
        config.parse = config.parse.with_received_headroom();
        let mut ids = IdGenerator::new(seed);
        let seed = ids.u64();
        let hash = || foldhash::fast::FixedState::with_seed(seed);
        let config_sent_by: Vec<String> =
            config.local_addrs.iter().map(LocalAddr::sent_by).collect();
        let contacts = config
            .local_addrs
            .iter()
            .zip(&config_sent_by)
            .map(|(l, s)| dialogs::contact_text(l.transport, s).into())
            .collect();
        Endpoint {
            config,
            ids,
            next_id: 1,
            clients: Map::with_hasher(hash()),
            client_keys: key_index::KeyIndex::new(hash()),
            servers: id_table::IdTable::new(),
            server_keys: key_index::KeyIndex::new(hash()),
            dialogs: Map::with_hasher(hash()),
            dialog_index: key_index::KeyIndex::new(hash()),
            tx_usage: Map::with_hasher(hash()),
            stx_dialog: Map::with_hasher(hash()),
            refers: Map::with_hasher(hash()),
            reinvite_bodies: Map::with_hasher(hash()),
            registrations: Map::with_hasher(hash()),
            nonce_counts: Map::with_hasher(hash()),
            tx_alias: Map::with_hasher(hash()),
            timers: TimerQueue::new(),
            sent_by: config_sent_by,
            contacts,
            outputs: VecDeque::new(),
            timeout_dirty: false,
            stats: Stats::default(),
            scratch: String::with_capacity(128),
            received_text: (None, String::with_capacity(48)),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Live client and server transactions.
    pub fn transaction_count(&self) -> (usize, usize) {
        (self.clients.len(), self.servers.len())
    }

    /// The endpoint's id generator (for tags and Call-IDs of the TU's own requests).
    pub fn ids(&mut self) -> &mut IdGenerator {
        &mut self.ids
    }

    fn alloc_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    // ---- driving ------------------------------------------------------------------

    /// Hands in something that happened: received bytes or a transport failure.
    pub fn handle_input(&mut self, now: Instant, input: Input) {
        self.timeout_dirty = true;
        match input {
            Input::Receive {
                transport,
                from,
                to,
                bytes,
            } => self.on_receive(now, transport, from, to, bytes),
            Input::TransportError {
                transport,
                destination,
            } => self.on_transport_error(now, transport, destination),
        }
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.timeout_dirty = true;
        while let Some((at, r)) = self.timers.pop_due(now) {
            if !self.timer_live(at, &r) {
                continue; // stale entry: re-armed later, or the owner is gone
            }
            match r {
                TimerRef::Client(id) => {
                    let Some(tx) = self.clients.get_mut(&id) else {
                        continue;
                    };
                    tx.armed = None;
                    if tx.cancel_deadline().is_some_and(|d| d <= now) {
                        self.fail_client(now, id, Failure::Timeout);
                        continue;
                    }
                    let a = tx.machine.handle_timeout(now);
                    self.apply_client(now, id, a, None, true);
                }
                TimerRef::Server(id) => {
                    let Some(tx) = self.servers.get_mut(&id) else {
                        continue;
                    };
                    tx.armed = None;
                    let a = tx.machine.handle_timeout(now);
                    self.apply_server(now, id, a, true);
                }
                TimerRef::Dialog(id) => self.on_dialog_timer(now, id),
                TimerRef::Refer(id) => self.on_refer_timer(now, id),
                TimerRef::Registration(id) => self.on_registration_timer(now, id),
            }
        }
        let live = self.clients.len() + self.servers.len() + self.dialogs.len() + self.refers.len();
        if self.timers.len() > 1024 && self.timers.len() > 4 * live {
            let mut q = std::mem::take(&mut self.timers);
            q.compact(|at, r| self.timer_live(at, r));
            self.timers = q;
        }
    }

    /// An owner's timer moved from `old` to `next`: the entry for `old` is stale, and is
    /// dropped at once when it is at the front of the queue (elsewhere it is skipped when
    /// it comes due, as every stale entry is).
    fn rearmed(&mut self, old: Option<Instant>, next: Option<Instant>, r: TimerRef) {
        if old != next
            && let Some(old) = old
        {
            self.timers.discard_first(old, &r);
        }
    }

    /// Whether a queued timer entry is still the one its owner waits for.
    fn timer_live(&self, at: Instant, r: &TimerRef) -> bool {
        match r {
            TimerRef::Client(id) => self.clients.get(id).is_some_and(|t| t.armed == Some(at)),
            TimerRef::Server(id) => self.servers.get(id).is_some_and(|t| t.armed == Some(at)),
            TimerRef::Dialog(id) => self.dialog_timer_live(*id, at),
            TimerRef::Refer(id) => self.refer_timer_live(*id, at),
            TimerRef::Registration(id) => self.registration_timer_live(*id, at),
        }
    }

    /// The next output: transmits and events in the order they arose, then — once per
    /// drain, after anything changed — the earliest instant to call
    /// [`Endpoint::handle_timeout`] at. `None` when there is nothing more.
    pub fn poll_output(&mut self) -> Option<Output> {
        if let Some(o) = self.outputs.pop_front() {
            return Some(o);
        }
        if self.timeout_dirty {
            self.timeout_dirty = false;
            return self.poll_timeout().map(Output::Timeout);
        }
        None
    }

    /// The earliest instant a timer is due, if any.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        loop {
            let at = self.timers.next_deadline()?;
            let live = self
                .timers
                .peek_key()
                .is_some_and(|r| self.timer_live(at, r));
            if live {
                return Some(at);
            }
            self.timers.pop_due(at);
        }
    }

    fn transmit(
        &mut self,
        transport: Transport,
        source: Option<SocketAddr>,
        destination: SocketAddr,
        bytes: Bytes,
    ) {
        self.outputs.push_back(Output::Transmit(Transmit {
            transport,
            source,
            destination,
            bytes,
        }));
    }

    fn event(&mut self, e: Event) {
        self.outputs.push_back(Output::Event(e));
    }

    // ---- receiving ----------------------------------------------------------------

    fn on_receive(
        &mut self,
        now: Instant,
        transport: Transport,
        from: SocketAddr,
        to: SocketAddr,
        bytes: Bytes,
    ) {
        let framing = if transport.is_stream() {
            crate::message::Framing::Stream
        } else {
            crate::message::Framing::Datagram
        };
        use crate::message::{BoxedMessage, parse_framed_boxed};
        match parse_framed_boxed(bytes, &self.config.parse, framing) {
            Ok(BoxedMessage::Request(r)) => {
                self.stats.received += 1;
                self.on_request(now, transport, from, to, r)
            }
            Ok(BoxedMessage::Response(r)) => {
                self.stats.received += 1;
                self.on_response(now, from, r)
            }
            Err(e) => {
                self.stats.parse_errors += 1;
                tracing::debug!(%from, error = %e, "dropping unparseable message");
            }
        }
    }

    fn check_request(&self, r: &Request) -> Result<(), ParseError> {
        if self.config.parse.mode == crate::message::Mode::Strict {
            crate::message::validate::check_request_strict(r)
        } else {
            r.check()
        }
    }

    /// Sends a response no transaction keeps (§8.2, §17.2.3 stateless answers).
    fn respond_stateless(
        &mut self,
        arrival: Arrival,
        req: &Request,
        status: u16,
        reason: &str,
        extra: &[(&str, &str)],
    ) {
        let Arrival {
            transport,
            from,
            local,
        } = arrival;
        let Some(via) = req.via() else {
            self.stats.parse_errors += 1;
            return;
        };
        let target = response_target(transport, from, &routing(&via));
        let skel = ops::Skeleton::of(req, "", ops::ToTag::Drawn(&mut self.ids));
        let bytes = skel.response_bytes(status, reason, Some(skel.to_tag()), false, extra, None);
        self.stats.stateless_responses += 1;
        self.transmit(transport, Some(local), target.address(), bytes);
    }

    fn on_request(
        &mut self,
        now: Instant,
        transport: Transport,
        from: SocketAddr,
        local: SocketAddr,
        mut req: Box<Request>,
    ) {
        if let Err(e) = self.check_request(&req) {
            if *req.method() == Method::Ack || req.via().is_none() {
                self.stats.parse_errors += 1;
                return;
            }
            let code = e.status_code();
            let reason = ops::bad_request_reason(code, &e.kind);
            self.respond_stateless(
                Arrival {
                    transport,
                    from,
                    local,
                },
                &req,
                code,
                &reason,
                &[],
            );
            return;
        }
        // §18.2.1 and RFC 3581 §4: note where the request really came from.
        if let Some(via) = req.via() {
            let rport_wanted = via.rport() == Some(None);
            let received = needs_received(via.host(), from.ip()) || rport_wanted;
            if received {
                // The address text of the last source is kept: requests come from few
                // peers in a row, so it is mostly formatted once per peer.
                let (last, text) = &mut self.received_text;
                if *last != Some(from.ip()) {
                    text.clear();
                    crate::text::push_ip(text, from.ip());
                    *last = Some(from.ip());
                }
                req.stamp_received(text, rport_wanted.then_some(from.port()));
            }
        }
        let Some(via) = req.via() else { return };
        let target = response_target(transport, from, &routing(&via));

        match req.method() {
            Method::Ack => return self.on_ack(now, from, req),
            Method::Cancel => return self.on_cancel(now, transport, from, local, target, req),
            _ => {}
        }
        let mut key = std::mem::take(&mut self.scratch);
        let ok = keys::server_key(&mut key, &req, None);
        let hash = self.server_keys.hash(&[&key]);
        if ok && let Some(id) = self.find_server_hashed(hash, &key) {
            self.scratch = key;
            self.stats.absorbed_retransmissions += 1;
            if let Some(tx) = self.servers.get_mut(&id) {
                let a = tx.machine.on_request_retransmission(now);
                self.apply_server(now, id, a, true);
            }
            return;
        }
        if !ok {
            self.scratch = key;
            self.stats.parse_errors += 1;
            return;
        }
        // Stateless refusals (§8.2.1–§8.2.3, §16.3).
        let arrival = Arrival {
            transport,
            from,
            local,
        };
        if self.refused(arrival, &req) {
            self.scratch = key;
            return;
        }
        // A new server transaction (§17.2).
        let reliable = transport.is_reliable();
        let (machine, actions) = if *req.method() == Method::Invite {
            let (m, a) = ServerInviteTransaction::new(now, reliable, &self.config.timers);
            (ServerMachine::Invite(m), a)
        } else {
            let (m, a) = ServerNonInviteTransaction::new(now, reliable, &self.config.timers);
            (ServerMachine::NonInvite(m), a)
        };
        let serial = self.alloc_id();
        let Some(id) = self.servers.next_id(serial) else {
            self.scratch = key;
            return self.respond_overloaded(arrival, &req);
        };
        let to_tag = match req.to().and_then(|t| t.tag()) {
            Some(t) => ops::ToTag::Given(t),
            None => ops::ToTag::Drawn(&mut self.ids),
        };
        let skel = ops::Skeleton::of(&req, &key, to_tag);
        self.scratch = key;
        self.file_server(id, hash, || (machine, skel), transport, local, target);
        self.apply_server(now, id, actions.without_pass_to_tu(), false);
        if actions.pass_to_tu() {
            self.dispatch_request(now, ServerTxId(id), req, from);
        }
    }

    /// Files a new server transaction under `id` (from `IdTable::next_id`) and its key's
    /// hash in `server_keys`; `parts` gives its machine and skeleton, built in its slot.
    #[inline(always)]
    fn file_server(
        &mut self,
        id: u64,
        key_hash: u64,
        parts: impl FnOnce() -> (ServerMachine, ops::Skeleton),
        transport: Transport,
        local: SocketAddr,
        target: ResponseTarget,
    ) {
        self.server_keys.insert_new(key_hash, id);
        let filed = self.servers.insert_with(id, || {
            let (machine, skel) = parts();
            ServerTx {
                machine,
                skel,
                key_hash,
                transport,
                local,
                target,
                last_response: None,
                armed: None,
            }
        });
        debug_assert!(filed, "the id came from next_id");
    }

    /// The client transaction a response with this top Via branch and CSeq method
    /// belongs to (§17.1.3).
    fn find_client(&self, branch: &str, method: &str) -> Option<u64> {
        let clients = &self.clients;
        // Filed by branch alone (it is unique but for an INVITE and its CANCEL): one hash
        // write; the comparison settles the method.
        self.client_keys.find(&[branch], |id| {
            clients
                .get(&id)
                .is_some_and(|t| t.branch() == branch.as_bytes() && t.method.as_str() == method)
        })
    }

    fn forget_client_key(&mut self, tx: &ClientTx, id: u64) {
        self.client_keys.remove_hashed(tx.branch_hash, id);
    }

    /// The server transaction filed under `key` (§17.2.3).
    fn find_server(&self, key: &str) -> Option<u64> {
        self.find_server_hashed(self.server_keys.hash(&[key]), key)
    }

    /// [`Endpoint::find_server`] with the key's hash in `server_keys` at hand.
    fn find_server_hashed(&self, hash: u64, key: &str) -> Option<u64> {
        let servers = &self.servers;
        self.server_keys.find_hashed(hash, |id| {
            servers.get(&id).is_some_and(|t| t.skel.key() == key)
        })
    }

    /// The stateless refusals of a new request (§8.2.1–§8.2.3, §16.3): answers it and says
    /// `true` when it must not create a transaction.
    fn refused(&mut self, arrival: Arrival, req: &Request) -> bool {
        if req.max_forwards() == Some(0)
            && self.config.max_forwards_policy == MaxForwardsPolicy::Reject
        {
            self.respond_stateless(arrival, req, 483, "Too Many Hops", &[]);
            return true;
        }
        // The URI already passed the full grammar in `check`: its scheme is what precedes
        // the first colon.
        if !has_supported_scheme(req.uri_str()) {
            self.respond_stateless(arrival, req, 416, "Unsupported URI Scheme", &[]);
            return true;
        }
        // §8.2.1: a method the TU does not support gets 405 with Allow.
        if let Some(allowed) = &self.config.allowed_methods
            && !allowed.contains(req.method())
        {
            let list = allowed
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(", ");
            self.respond_stateless(arrival, req, 405, "Method Not Allowed", &[("Allow", &list)]);
            return true;
        }
        let supported = &self.config.supported;
        let mut unsupported = req
            .require()
            .filter(|t| !supported.iter().any(|s| s.eq_ignore_ascii_case(t)))
            .peekable();
        if unsupported.peek().is_some() && *req.method() != Method::Cancel {
            let list = unsupported.collect::<Vec<_>>().join(", ");
            self.respond_stateless(
                arrival,
                req,
                420,
                "Bad Extension",
                &[("Unsupported", &list)],
            );
            return true;
        }
        if self.clients.len() + self.servers.len() >= self.config.max_transactions {
            self.respond_overloaded(arrival, req);
            return true;
        }
        false
    }

    /// The stateless 503 with Retry-After for a request over the transaction limit.
    fn respond_overloaded(&mut self, arrival: Arrival, req: &Request) {
        self.stats.overload_rejections += 1;
        let ra = self.config.retry_after_secs.to_string();
        self.respond_stateless(
            arrival,
            req,
            503,
            "Service Unavailable",
            &[("Retry-After", &ra)],
        );
    }

    fn on_ack(&mut self, now: Instant, from: SocketAddr, req: Box<Request>) {
        let mut key = std::mem::take(&mut self.scratch);
        let found = keys::server_key(&mut key, &req, None)
            .then(|| self.find_server(&key))
            .flatten();
        self.scratch = key;
        if let Some(id) = found
            && let Some(tx) = self.servers.get_mut(&id)
            && let ServerMachine::Invite(m) = &mut tx.machine
        {
            // RFC 2543 matching also needs the To tag of the response (§17.2.3).
            let tag_ok = req.via().is_some_and(|v| v.has_rfc3261_branch())
                || req.to().and_then(|t| t.tag()) == Some(tx.skel.to_tag());
            if tag_ok {
                let a = m.on_ack(now);
                self.apply_server(now, id, a.without_pass_to_tu(), true);
                if a.pass_to_tu() {
                    self.dispatch_ack(now, req, from);
                }
                return;
            }
        }
        self.dispatch_ack(now, req, from);
    }

    fn on_cancel(
        &mut self,
        now: Instant,
        transport: Transport,
        from: SocketAddr,
        local: SocketAddr,
        target: ResponseTarget,
        req: Box<Request>,
    ) {
        let mut key = std::mem::take(&mut self.scratch);
        // A retransmitted CANCEL: its own transaction re-sends the 200.
        if keys::server_key(&mut key, &req, None)
            && let Some(id) = self.find_server(&key)
        {
            self.scratch = key;
            if let Some(tx) = self.servers.get_mut(&id) {
                let a = tx.machine.on_request_retransmission(now);
                self.apply_server(now, id, a, true);
            }
            return;
        }
        let cancel_key = key.clone();
        let invite = keys::server_key(&mut key, &req, Some(&Method::Invite))
            .then(|| self.find_server(&key))
            .flatten();
        self.scratch = key;
        let Some(invite_id) = invite else {
            // §9.2: no matching transaction.
            return self.respond_stateless(
                Arrival {
                    transport,
                    from,
                    local,
                },
                &req,
                481,
                "Call/Transaction Does Not Exist",
                &[],
            );
        };
        // The CANCEL's own transaction, answered 200 at once (§9.2).
        let (m, _) =
            ServerNonInviteTransaction::new(now, transport.is_reliable(), &self.config.timers);
        let serial = self.alloc_id();
        let Some(id) = self.servers.next_id(serial) else {
            let arrival = Arrival {
                transport,
                from,
                local,
            };
            return self.respond_overloaded(arrival, &req);
        };
        let to_tag = match self.servers.get(&invite_id) {
            Some(t) => t.skel.to_tag().to_owned(),
            None => self.ids.tag(),
        };
        let key_hash = self.server_keys.hash(&[&cancel_key]);
        let skel = || ops::Skeleton::of(&req, &cancel_key, ops::ToTag::Given(&to_tag));
        let machine = ServerMachine::NonInvite(m);
        self.file_server(id, key_hash, || (machine, skel()), transport, local, target);
        let _ = self.respond_with(now, ServerTxId(id), 200);
        // 487 for the INVITE if it has no final response yet.
        let pending = self
            .servers
            .get(&invite_id)
            .is_some_and(|t| t.machine.final_status().is_none());
        if pending {
            self.event(Event::Cancelled {
                tx: ServerTxId(invite_id),
            });
            self.dispatch_cancelled(now, ServerTxId(invite_id));
            let _ = self.respond_with(now, ServerTxId(invite_id), 487);
        }
    }

    fn on_response(&mut self, now: Instant, from: SocketAddr, resp: Box<Response>) {
        if resp.check().is_err() {
            self.stats.parse_errors += 1;
            return;
        }
        let found = match (resp.via().and_then(|v| v.branch()), resp.cseq()) {
            (Some(branch), Some((_, method))) => self.find_client(branch, method),
            _ => None,
        };
        let Some(id) = found else {
            // §18.1.2: only a response whose sent-by is ours is of interest (to the dialog
            // layer: a 2xx retransmission after the transaction ended).
            let ours = resp
                .via()
                .is_some_and(|v| self.is_our_sent_by(v.host(), v.port()));
            if ours && self.dispatch_stray(now, &resp) {
                return;
            }
            if ours {
                self.event(Event::StrayResponse {
                    response: resp,
                    from,
                });
            } else {
                self.stats.misrouted_responses += 1;
            }
            return;
        };
        let Some(tx) = self.clients.get_mut(&id) else {
            return;
        };
        let status = resp.status();
        let a = tx.machine.on_response(now, status);
        if a.send_ack()
            && tx.ack().is_none()
            && let Some(req) = sent_request(&tx.bytes)
        {
            tx.extra_mut().ack = Some(ops::ack_for_non_2xx(&req, &resp));
        }
        let send_cancel = match tx.cancel() {
            CancelState::Pending(cid) if status < 200 => Some(cid),
            _ => None,
        };
        self.apply_client(now, id, a, Some(resp), false);
        if let Some(cid) = send_cancel {
            self.start_cancel(now, id, cid);
        }
    }

    fn is_our_sent_by(&self, host: &str, port: Option<u16>) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.config
            .local_addrs
            .iter()
            .zip(&self.sent_by)
            .any(|(l, sb)| {
                let (h, p) = split_host_port(sb);
                h.eq_ignore_ascii_case(host)
                    && port.unwrap_or(l.transport.default_port())
                        == p.unwrap_or(l.transport.default_port())
            })
            || self.config.local_addrs.is_empty()
    }

    fn on_transport_error(&mut self, now: Instant, transport: Transport, destination: SocketAddr) {
        let mut ids: Vec<u64> = self
            .clients
            .iter()
            .filter(|(_, t)| t.transport == transport && t.destination == destination)
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        for id in ids {
            if let Some(tx) = self.clients.get_mut(&id) {
                let a = tx.machine.on_transport_error(now);
                self.apply_client(now, id, a, None, false);
            }
        }
        let mut ids: Vec<u64> = self
            .servers
            .iter()
            .filter(|(_, t)| t.transport == transport && t.target.address() == destination)
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        for id in ids {
            let Some(tx) = self.servers.get_mut(&id) else {
                continue;
            };
            // §18.2.2: if the connection a response was to go back on is gone, open one to
            // the received address and the sent-by port, once.
            if let ResponseTarget::Connection { peer, fallback } = tx.target
                && peer == destination
                && fallback != peer
            {
                tx.target = ResponseTarget::Connection {
                    peer: fallback,
                    fallback,
                };
                if let Some(b) = tx.last_response.clone() {
                    let (t, l) = (tx.transport, tx.local);
                    self.transmit(t, Some(l), fallback, b);
                }
                continue;
            }
            let a = tx.machine.on_transport_error(now);
            self.apply_server(now, id, a, false);
        }
    }

    // ---- applying machine actions ----------------------------------------------------

    fn apply_client(
        &mut self,
        now: Instant,
        id: u64,
        a: Actions,
        response: Option<Box<Response>>,
        retransmit: bool,
    ) {
        let Some(tx) = self.clients.get_mut(&id) else {
            return;
        };
        let (transport, source, dest) = (tx.transport, tx.source, tx.destination);
        let mut sends: [Option<Bytes>; 2] = [None, None];
        if a.transmit() {
            sends[0] = Some(tx.bytes.clone());
        }
        if a.send_ack() {
            sends[1] = tx.ack().cloned();
        }
        let next = match (tx.machine.poll_timeout(), tx.cancel_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let old = tx.armed;
        let rearm = next.filter(|n| old != Some(*n));
        tx.armed = next;
        let held_cancel = match tx.cancel() {
            CancelState::Pending(cid)
                if a.terminated()
                    || a.timed_out().is_some()
                    || a.transport_failed()
                    || response.as_ref().is_some_and(|r| r.status() >= 200) =>
            {
                tx.extra_mut().cancel = CancelState::None;
                Some(cid)
            }
            _ => None,
        };
        if response.as_ref().is_some_and(|r| r.status() >= 200)
            && let Some(e) = tx.extra.as_mut()
        {
            e.cancel_deadline = None;
        }
        self.rearmed(old, next, TimerRef::Client(id));
        if let Some(cid) = held_cancel {
            // The INVITE ended before any provisional: the CANCEL is never sent (§9.1).
            self.event(Event::ClientTxFailed {
                tx: cid,
                failure: Failure::NotSent,
            });
        }
        for b in sends.into_iter().flatten() {
            if retransmit || a.send_ack() && response.is_some() {
                self.stats.retransmissions += u64::from(retransmit);
            }
            self.transmit(transport, source, dest, b);
        }
        let challenged = a.pass_to_tu()
            && response
                .as_ref()
                .is_some_and(|r| matches!(r.status(), 401 | 407))
            && response
                .as_ref()
                .is_some_and(|r| self.retry_with_credentials(now, id, r));
        let tu_id = ClientTxId(self.tx_alias.get(&id).copied().unwrap_or(id));
        if a.pass_to_tu()
            && !challenged
            && let Some(response) = response
            && let Some(response) = self.dispatch_response(now, ClientTxId(id), response)
        {
            self.event(Event::Response {
                tx: tu_id,
                response,
            });
        }
        let failure = if matches!(a.timed_out(), Some(TimerName::B | TimerName::F)) {
            Some(Failure::Timeout)
        } else if a.transport_failed() {
            Some(Failure::TransportError)
        } else {
            None
        };
        if let Some(failure) = failure
            && !self.dispatch_failure(now, ClientTxId(id), failure)
        {
            self.event(Event::ClientTxFailed { tx: tu_id, failure });
        }
        if a.terminated() {
            if let Some(tx) = self.clients.remove(&id) {
                self.forget_client_key(&tx, id);
            }
            self.forget_tx_usage(id);
            self.tx_alias.remove(&id);
        } else if let Some(at) = rearm {
            self.timers.schedule(at, TimerRef::Client(id));
        }
    }

    fn apply_server(&mut self, _now: Instant, id: u64, a: Actions, retransmit: bool) {
        if a.send_trying()
            && let Some(tx) = self.servers.get_mut(&id)
        {
            {
                let bytes = tx
                    .skel
                    .response_bytes(100, "Trying", None, false, &[], None);
                tx.last_response = Some(bytes.clone());
                let (t, l, d) = (tx.transport, tx.local, tx.target.address());
                self.transmit(t, Some(l), d, bytes);
            }
        }
        let Some(tx) = self.servers.get_mut(&id) else {
            return;
        };
        if a.transmit()
            && let Some(b) = tx.last_response.clone()
        {
            let (t, l, d) = (tx.transport, tx.local, tx.target.address());
            if retransmit {
                self.stats.retransmissions += 1;
            }
            self.transmit(t, Some(l), d, b);
        }
        let Some(tx) = self.servers.get_mut(&id) else {
            return;
        };
        let next = tx.machine.poll_timeout();
        let old = tx.armed;
        let rearm = next.filter(|n| old != Some(*n));
        tx.armed = next;
        self.rearmed(old, next, TimerRef::Server(id));
        if matches!(a.timed_out(), Some(TimerName::H)) {
            self.event(Event::ServerTxFailed {
                tx: ServerTxId(id),
                failure: Failure::Timeout,
            });
        }
        if a.transport_failed() {
            self.event(Event::ServerTxFailed {
                tx: ServerTxId(id),
                failure: Failure::TransportError,
            });
        }
        if a.terminated() {
            if let Some(tx) = self.servers.get(&id) {
                self.server_keys.remove_hashed(tx.key_hash, id);
                self.servers.discard(&id);
            }
            if !self.stx_dialog.is_empty()
                && let Some(d) = self.stx_dialog.remove(&id)
                && let Some(d) = self.dialog_entry_mut(d)
            {
                d.clear_invite_stx();
            }
        } else if let Some(at) = rearm {
            self.timers.schedule(at, TimerRef::Server(id));
        }
    }

    // ---- commands: client side ------------------------------------------------------

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

    /// The local address a request to `dest` over `transport` leaves from, and its sent-by
    /// text (formatted once, in [`Endpoint::new`], not per request).
    pub(crate) fn local_sent_by(
        &self,
        transport: Transport,
        dest: SocketAddr,
    ) -> Result<(SocketAddr, &str), EndpointError> {
        let (i, addr) = self.local_index(transport, dest)?;
        Ok((addr, self.sent_by.get(i).map_or("", String::as_str)))
    }

    /// The default Contact (§8.1.1.8) for requests to `dest` over `transport`: the local
    /// address's sent-by as a SIP URI (`sips:` over TLS, `;transport=` for other non-UDP
    /// transports), written once in [`Endpoint::new`].
    pub(crate) fn local_contact(
        &self,
        transport: Transport,
        dest: SocketAddr,
    ) -> Result<Arc<str>, EndpointError> {
        let (i, _) = self.local_index(transport, dest)?;
        self.contacts
            .get(i)
            .cloned()
            .ok_or(EndpointError::NoLocalAddress(transport))
    }

    /// Which configured local address (its index and address) serves `dest`.
    fn local_index(
        &self,
        transport: Transport,
        dest: SocketAddr,
    ) -> Result<(usize, SocketAddr), EndpointError> {
        let local = self
            .config
            .local_for(transport, dest)
            .ok_or(EndpointError::NoLocalAddress(transport))?;
        let i = self
            .config
            .local_addrs
            .iter()
            .position(|l| std::ptr::eq(l, local))
            .unwrap_or(0);
        Ok((i, local.addr))
    }

    /// Writes our Via value for a request to `dest` (§8.1.1.7, §18.1.1): sent-protocol,
    /// the local sent-by, a new branch and `rport` (RFC 3581 §3) into `out` (cleared first).
    /// Returns the branch and the local address the request leaves from.
    fn write_local_via(
        &mut self,
        out: &mut String,
        transport: Transport,
        dest: SocketAddr,
    ) -> Result<(Branch, SocketAddr), EndpointError> {
        let branch = self.ids.branch_token();
        let (addr, sent_by) = self.local_sent_by(transport, dest)?;
        out.clear();
        out.push_str("SIP/2.0/");
        out.push_str(transport.via_token());
        out.push(' ');
        out.push_str(sent_by);
        out.push_str(";branch=");
        out.push_str(branch.as_str());
        out.push_str(";rport");
        Ok((branch, addr))
    }

    /// Prepends our Via to `request` (see [`Endpoint::write_local_via`]), written in the
    /// endpoint's scratch buffer.
    fn prepend_local_via(
        &mut self,
        request: &mut Request,
        target: Target,
    ) -> Result<(Branch, SocketAddr), EndpointError> {
        let mut via = std::mem::take(&mut self.scratch);
        let written = self.write_local_via(&mut via, target.transport, target.addr);
        let prepended = match written {
            Ok(_) => request
                .prepend_header("Via", &via)
                .map_err(EndpointError::from),
            Err(_) => Ok(()),
        };
        self.scratch = via;
        prepended.and(written)
    }

    /// Sends a request in a new client transaction (§17.1): adds the top Via (a fresh
    /// `z9hG4bK` branch from the seeded generator, the configured sent-by, and `rport`,
    /// RFC 3581), checks it like a received request, transmits it and arms the timers.
    pub fn send_request(
        &mut self,
        now: Instant,
        request: Request,
        target: Target,
    ) -> Result<ClientTxId, EndpointError> {
        self.send_request_inner(now, request, target, false)
    }

    /// [`Endpoint::send_request`] for requests the endpoint wrote itself (in-dialog
    /// requests, INVITE, REGISTER): they are not checked again.
    pub(crate) fn send_own_request(
        &mut self,
        now: Instant,
        request: Request,
        target: Target,
    ) -> Result<ClientTxId, EndpointError> {
        self.send_request_inner(now, request, target, true)
    }

    fn send_request_inner(
        &mut self,
        now: Instant,
        request: Request,
        target: Target,
        trusted: bool,
    ) -> Result<ClientTxId, EndpointError> {
        if *request.method() == Method::Ack {
            return Err(EndpointError::AckNeedsNoTransaction);
        }
        if self.clients.len() + self.servers.len() >= self.config.max_transactions {
            return Err(EndpointError::TooManyTransactions);
        }
        if !trusted {
            crate::message::validate::check_request_to_send(&request)
                .map_err(EndpointError::InvalidMessage)?;
        }
        // The request is written once, with our Via first, and not edited: the
        // transaction keeps only the bytes.
        let mut via = std::mem::take(&mut self.scratch);
        let written = self.write_local_via(&mut via, target.transport, target.addr);
        let bytes = written
            .as_ref()
            .ok()
            .map(|_| request.to_bytes_with_first_row("Via", &via));
        self.scratch = via;
        let (branch, local) = written?;
        let id = self.alloc_id();
        let method = request.method().clone();
        self.start_client_bytes(
            now,
            id,
            method,
            branch.as_str(),
            bytes.unwrap_or_default(),
            target,
            Some(local),
        );
        Ok(ClientTxId(id))
    }

    /// Starts a client transaction for a request the endpoint wrote as bytes itself.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn start_client_bytes(
        &mut self,
        now: Instant,
        id: u64,
        method: Method,
        branch: &str,
        bytes: Bytes,
        target: Target,
        source: Option<SocketAddr>,
    ) {
        self.timeout_dirty = true;
        let reliable = target.transport.is_reliable();
        let (machine, actions) = if method == Method::Invite {
            let (m, a) = ClientInviteTransaction::new(now, reliable, &self.config.timers);
            (ClientMachine::Invite(m), a)
        } else {
            let (m, a) = ClientNonInviteTransaction::new(now, reliable, &self.config.timers);
            (ClientMachine::NonInvite(m), a)
        };
        // Every caller wrote `branch` into the request's top Via; the first place the text
        // occurs is as good as any, since only the text is compared.
        let at = branch.as_bytes().first().and_then(|&first| {
            memchr::memchr_iter(first, &bytes).find(|&i| bytes[i..].starts_with(branch.as_bytes()))
        });
        debug_assert!(at.is_some(), "the branch is in the request");
        let branch_span = at.map_or(crate::message::Span::default(), |i| {
            crate::message::Span::new(i, i + branch.len())
        });
        let branch_hash = self.client_keys.hash(&[branch]);
        self.client_keys.insert_new(branch_hash, id);
        self.clients.insert(
            id,
            Box::new(ClientTx {
                branch: branch_span,
                branch_hash,
                method,
                machine,
                bytes,
                transport: target.transport,
                source,
                destination: target.addr,
                extra: None,
                armed: None,
            }),
        );
        self.apply_client(now, id, actions, None, false);
    }

    fn start_client(
        &mut self,
        now: Instant,
        id: u64,
        branch: &str,
        request: Request,
        target: Target,
        source: Option<SocketAddr>,
    ) {
        let method = request.method().clone();
        let bytes = request.to_bytes();
        self.start_client_bytes(now, id, method, branch, bytes, target, source);
    }

    /// Sends a request with no transaction: the ACK for a 2xx (§13.2.2.4, §17.1.1.3), which
    /// the dialog layer owns. A Via with a new branch is added.
    pub fn send_ack(
        &mut self,
        now: Instant,
        mut ack: Request,
        target: Target,
    ) -> Result<(), EndpointError> {
        let _ = now;
        self.timeout_dirty = true;
        let (_, local) = self.prepend_local_via(&mut ack, target)?;
        self.transmit(target.transport, Some(local), target.addr, ack.to_bytes());
        Ok(())
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
        // After a digest challenge the INVITE goes on as a retry under a new id (§22.2): the
        // TU cancels it by the id it knows, so the latest retry is the one to cancel.
        let current = self
            .tx_alias
            .iter()
            .filter(|&(_, &tu)| tu == invite.0)
            .map(|(&id, _)| id)
            .max()
            .unwrap_or(invite.0);
        let invite = ClientTxId(current);
        let tx = self
            .clients
            .get_mut(&invite.0)
            .ok_or(EndpointError::UnknownTransaction)?;
        let ClientMachine::Invite(m) = &tx.machine else {
            return Err(EndpointError::NotInvite);
        };
        use crate::transaction::ClientInviteState as S;
        let state = m.state();
        if tx.cancel() != CancelState::None {
            return Err(EndpointError::AlreadyCancelled);
        }
        let cid = ClientTxId(self.next_id);
        self.next_id += 1;
        match state {
            S::Calling => {
                tx.extra_mut().cancel = CancelState::Pending(cid);
                Ok(cid)
            }
            S::Proceeding => {
                self.start_cancel(now, invite.0, cid);
                Ok(cid)
            }
            _ => Err(EndpointError::CancelTooLate),
        }
    }

    /// Ends a client transaction from outside its machine (the §9.1 CANCEL deadline).
    fn fail_client(&mut self, now: Instant, id: u64, failure: Failure) {
        if let Some(tx) = self.clients.remove(&id) {
            self.forget_client_key(&tx, id);
        }
        // A digest retry runs under a new id: the TU knows the first one.
        let tu_id = ClientTxId(self.tx_alias.remove(&id).unwrap_or(id));
        if !self.dispatch_failure(now, ClientTxId(id), failure) {
            self.event(Event::ClientTxFailed { tx: tu_id, failure });
        }
        self.forget_tx_usage(id);
    }

    fn start_cancel(&mut self, now: Instant, invite_id: u64, cid: ClientTxId) {
        let timer_b = self.config.timers.timer_b();
        let Some(tx) = self.clients.get_mut(&invite_id) else {
            return;
        };
        let deadline = now + timer_b;
        let extra = tx.extra_mut();
        extra.cancel = CancelState::Sent;
        extra.cancel_deadline = Some(deadline);
        if tx.armed.is_none_or(|a| deadline < a) {
            tx.armed = Some(deadline);
            self.timers.schedule(deadline, TimerRef::Client(invite_id));
        }
        let Some(tx) = self.clients.get_mut(&invite_id) else {
            return;
        };
        let Some(invite) = sent_request(&tx.bytes) else {
            return;
        };
        let bytes = ops::cancel_for(&invite);
        let target = Target::new(tx.transport, tx.destination);
        let source = tx.source;
        let Ok(SipMessage::Request(cancel)) = parse_framed(
            bytes,
            &crate::message::ParseOptions::default(),
            crate::message::Framing::Datagram,
        ) else {
            return;
        };
        let branch = invite.via().and_then(|v| v.branch()).unwrap_or("");
        self.start_client(now, cid.0, branch, cancel, target, source);
    }

    // ---- commands: server side ------------------------------------------------------

    /// A response to the request of server transaction `tx` (§8.2.6), with the endpoint's
    /// To tag for it (the same for every response of the transaction; none for 100).
    pub fn response(&self, tx: ServerTxId, status: u16) -> Result<ResponseBuilder, EndpointError> {
        let t = self
            .servers
            .get(&tx.0)
            .ok_or(EndpointError::UnknownTransaction)?;
        let b = t.skel.builder(status, None);
        Ok(if status == 100 {
            b
        } else {
            b.to_tag(t.skel.to_tag())
        })
    }

    /// Answers server transaction `tx` with `status` and no body.
    pub fn respond_with(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        status: u16,
    ) -> Result<(), EndpointError> {
        let t = self
            .servers
            .get(&tx.0)
            .ok_or(EndpointError::UnknownTransaction)?;
        if !(100..=699).contains(&status) {
            return Err(EndpointError::Transaction(TransactionError::InvalidStatus(
                status,
            )));
        }
        let tag = (status != 100).then_some(t.skel.to_tag());
        let bytes = t.skel.response_bytes(
            status,
            crate::message::reason_phrase(status),
            tag,
            false,
            &[],
            None,
        );
        self.respond_bytes(now, tx, status, bytes)
    }

    /// Sends a response the endpoint wrote itself from the transaction's skeleton (no
    /// parse, no check: it is built from the request's own rows).
    pub(crate) fn respond_bytes(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        status: u16,
        bytes: Bytes,
    ) -> Result<(), EndpointError> {
        self.timeout_dirty = true;
        let t = self
            .servers
            .get_mut(&tx.0)
            .ok_or(EndpointError::UnknownTransaction)?;
        let a = t.machine.on_tu_response(now, status)?;
        self.response_accepted(now, tx, a, status, bytes);
        Ok(())
    }

    /// Carries out a response the machine of `tx` accepted (`a`): keeps it for
    /// retransmission where the transaction re-sends it, sends it and lets the dialog
    /// layer follow it.
    fn response_accepted(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        a: Actions,
        status: u16,
        bytes: Bytes,
    ) {
        let Some(t) = self.servers.get_mut(&tx.0) else {
            return;
        };
        if t.machine.answered_for_good() {
            // Only retransmissions of `last_response` are left: the copied rows go.
            t.skel.shed();
        }
        // Kept where the transaction may re-send it: a request retransmission or Timer G,
        // and over a connection the §18.2.2 fallback when that connection is lost (a 2xx
        // included: the TU does not retransmit over reliable transports, §13.3.1.4).
        if t.machine.resends_last_response() || t.transport.is_reliable() {
            t.last_response = Some(bytes.clone());
            self.apply_server(now, tx.0, a, false);
            self.invite_responded(now, tx, status, &bytes);
            return;
        }
        // A 2xx in Accepted over an unreliable transport: sent now and kept by the dialog
        // layer if anything (§13.3.1.4), not by the transaction. The buffer moves into the
        // transmit unless the dialog layer keeps a handle too.
        t.last_response = None;
        let (transport, local, dest) = (t.transport, t.local, t.target.address());
        let kept = self.stx_dialog.contains_key(&tx.0).then(|| bytes.clone());
        if a.transmit() {
            self.transmit(transport, Some(local), dest, bytes);
        }
        self.apply_server(now, tx.0, a.without_transmit(), false);
        if let Some(bytes) = kept {
            self.invite_responded(now, tx, status, &bytes);
        }
    }

    /// Sends `response` on server transaction `tx` (§17.2): the transaction stores it for
    /// retransmission and sends it to where §18.2.2 says. Refused if the transaction's state
    /// forbids it (a second final response, ...), or if the response is for another request.
    pub fn respond(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        response: Response,
    ) -> Result<(), EndpointError> {
        self.timeout_dirty = true;
        let t = self
            .servers
            .get_mut(&tx.0)
            .ok_or(EndpointError::UnknownTransaction)?;
        let same_branch = response.via().and_then(|v| v.branch()) == t.skel.branch();
        let same_cseq = response.cseq() == t.skel.cseq();
        if !same_branch || !same_cseq {
            return Err(EndpointError::ResponseMismatch);
        }
        response.check().map_err(EndpointError::InvalidMessage)?;
        let a = t.machine.on_tu_response(now, response.status())?;
        self.response_accepted(now, tx, a, response.status(), response.to_bytes());
        Ok(())
    }

    /// Writes a response from the transaction's copied rows (see [`ops::Skeleton`]).
    pub(crate) fn skeleton_response(
        &self,
        tx: ServerTxId,
        status: u16,
        record_route: bool,
        extra: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
    ) -> Result<Bytes, EndpointError> {
        let t = self
            .servers
            .get(&tx.0)
            .ok_or(EndpointError::UnknownTransaction)?;
        let tag = (status != 100).then_some(t.skel.to_tag());
        t.skel.checked_response_bytes(
            status,
            crate::message::reason_phrase(status),
            tag,
            record_route,
            extra,
            body,
        )
    }

    /// The state of an INVITE server transaction, if `tx` is one and alive.
    pub fn server_invite_state(&self, tx: ServerTxId) -> Option<ServerInviteState> {
        match &self.servers.get(&tx.0)?.machine {
            ServerMachine::Invite(m) => Some(m.state()),
            ServerMachine::NonInvite(_) => None,
        }
    }
}

/// Parses a request the endpoint itself sent (kept as bytes in its client transaction).
fn sent_request(bytes: &Bytes) -> Option<Request> {
    match crate::message::parse_unchecked(bytes.clone(), &crate::message::ParseOptions::default()) {
        Ok(SipMessage::Request(r)) => Some(r),
        _ => None,
    }
}

fn routing<'a>(via: &crate::message::Via<'a>) -> ViaRouting<'a> {
    ViaRouting {
        sent_by_host: via.host(),
        sent_by_port: via.port(),
        maddr: via.maddr(),
        rport: via.rport().is_some(),
    }
}

fn split_host_port(s: &str) -> (&str, Option<u16>) {
    if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest.split_once(']').unwrap_or((rest, ""));
        return (h, p.strip_prefix(':').and_then(|p| p.parse().ok()));
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, p.parse().ok()),
        _ => (s, None),
    }
}

#[cfg(test)]
mod tests;
