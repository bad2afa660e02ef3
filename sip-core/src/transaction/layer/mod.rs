//! The transaction layer (RFC 3261 §17) with the transport rules of §18: the tables of
//! client and server transactions, matching (§17.1.3, §17.2.3, the RFC 2543 fallback),
//! `received`/`rport` (§18.2.1, RFC 3581), where responses go (§18.2.2), CANCEL (§9), and
//! the answers a request gets before any transaction exists (400, 416, 405, 420, 481, 483,
//! 503: §8.2, §16.3, §21.5.4).
//!
//! It owns its state and its timers and knows nothing of dialogs: what it learns goes up as
//! [`Up`] values, in order, for the transaction user above (the dialog layer, the
//! registrations, or the application through the endpoint) to take with
//! [`TransactionLayer::poll_up`]; what a user asks of it comes down as calls that return
//! typed results. The bytes it sends go to a [`Sink`] (the endpoint's output queue), so
//! transmits and the events of the layers above keep the order they arose in.

mod client;
mod error;
mod id_table;
mod io;
pub(crate) mod keys;
mod locals;
mod parked;
mod server;
mod skeleton;
mod target;

pub use error::EndpointError;
pub use io::{ClientTxId, Failure, ServerTxId, Transmit};
pub(crate) use io::{Responded, SentRequest, ServerInfo, Sink, TxStats, Up};
pub use locals::LocalAddr;
pub(crate) use locals::{Locals, local_for};
pub use target::Target;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;

use client::ClientTx;
use server::ServerTx;

use crate::key_index::KeyIndex;
use crate::message::{
    Method, ParseError, ParseOptions, Request, Response, ResponseBuilder, SipMessage, parse_framed,
};
use crate::rng::IdGenerator;
use crate::timer::TimerQueue;
use crate::transaction::{TimerConfig, TimerName};
use crate::transport::{
    ResponseTarget, TlsServerName, Transport, ViaRouting, needs_received, response_target,
};
use skeleton as ops;

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

/// The settings of the transaction layer (a part of `EndpointConfig`).
#[derive(Debug, Clone, Default)]
pub(crate) struct TxConfig {
    pub timers: TimerConfig,
    pub parse: ParseOptions,
    /// Most transactions still at work (no final response yet), client and server.
    pub max_transactions: usize,
    /// Most lingering transactions (final response sent or received, kept only to absorb
    /// retransmissions until their timer: §17.1.1.2 Timer D, §17.1.2.2 Timer K, §17.2.1
    /// Timer I, §17.2.2 Timer J, RFC 6026 Timers L and M).
    pub max_lingering: usize,
    pub retry_after_secs: u32,
    pub max_forwards_policy: MaxForwardsPolicy,
    pub supported: Vec<String>,
    pub allowed_methods: Option<Vec<Method>>,
    /// Hand a challenged request up with its 401/407 (a digest client is there to answer).
    pub hand_up_challenges: bool,
    /// The TU re-sends its 2xx to an INVITE itself (the dialog layer, §13.3.1.4) rather
    /// than through the transaction in Accepted (RFC 6026 §7.1): the transaction then
    /// releases its request's rows with the 2xx.
    pub tu_resends_2xx: bool,
    /// Report [`Up::ClientEnded`] and [`Up::ServerEnded`] (a layer above keeps state per
    /// transaction).
    pub report_ends: bool,
    /// Send responses to a Via's `maddr` (§18.2.2); off: the source address.
    pub via_maddr: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimerRef {
    Client(u64),
    Server(u64),
}

/// The transaction layer. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct TransactionLayer {
    config: TxConfig,
    locals: Locals,
    ids: IdGenerator,
    next_id: u64,
    /// Client and server transactions alike are found by an id that names their slot and
    /// held inline in slots that are reused (see [`id_table`]): no hashing to find one by
    /// id, no box per transaction. The vectors keep their largest size.
    clients: id_table::IdTable<ClientTx>,
    client_keys: KeyIndex,
    servers: id_table::IdTable<ServerTx>,
    /// Lingering server transactions out of their slots, under the same ids (see
    /// [`parked`]).
    parked: parked::ParkedServers,
    /// The route parked last, which the next parked transaction shares if it is the same.
    last_route: Option<std::sync::Arc<parked::Route>>,
    server_keys: KeyIndex,
    timers: TimerQueue<TimerRef>,
    up: VecDeque<Up>,
    stats: TxStats,
    /// Transactions of both tables that are lingering (see [`TxConfig::max_lingering`]).
    lingering: usize,
    /// Whether new work is being refused (for one warning per overload episode).
    shedding: crate::overload::Shedding,
    scratch: String,
    /// The last source address stamped as `received`, and its text (§18.2.1).
    received_text: (Option<std::net::IpAddr>, String),
}

/// Whether a queued timer entry is still the one its transaction waits for.
fn timer_live(
    clients: &id_table::IdTable<ClientTx>,
    servers: &id_table::IdTable<ServerTx>,
    parked: &parked::ParkedServers,
    at: Instant,
    r: &TimerRef,
) -> bool {
    match r {
        TimerRef::Client(id) => clients.get(id).is_some_and(|t| t.armed == Some(at)),
        TimerRef::Server(id) => match servers.get(id) {
            Some(t) => t.armed == Some(at),
            None => parked
                .get(*id)
                .is_some_and(|p| p.machine.poll_timeout() == Some(at)),
        },
    }
}

/// Parses a request the layer itself sent (kept as bytes in its client transaction).
fn sent_request(bytes: &Bytes) -> Option<Request> {
    match crate::message::parse_unchecked(bytes.clone(), &ParseOptions::default()) {
        Ok(SipMessage::Request(r)) => Some(r),
        _ => None,
    }
}

/// The parts of `via` that decide where a response goes; its `maddr` only when
/// `follow_maddr` (RFC 3261 §18.2.2 says to follow it, but it lets a request send its
/// responses anywhere: `EndpointConfig::via_maddr`).
fn routing<'a>(via: &crate::message::Via<'a>, follow_maddr: bool) -> ViaRouting<'a> {
    ViaRouting {
        sent_by_host: via.host(),
        sent_by_port: via.port(),
        maddr: via.maddr().filter(|_| follow_maddr),
        rport: via.rport().is_some(),
    }
}

impl TransactionLayer {
    /// A new layer for `locals`; `ids` draws its To tags and branches, `hash_seed` keys its
    /// tables.
    pub(crate) fn new(config: TxConfig, locals: Locals, ids: IdGenerator, hash_seed: u64) -> Self {
        let hash = || foldhash::fast::FixedState::with_seed(hash_seed);
        TransactionLayer {
            config,
            locals,
            ids,
            next_id: 1,
            clients: id_table::IdTable::new(),
            client_keys: KeyIndex::new(hash()),
            servers: id_table::IdTable::new(),
            parked: parked::ParkedServers::new(hash()),
            last_route: None,
            server_keys: KeyIndex::new(hash()),
            timers: TimerQueue::new(),
            up: VecDeque::new(),
            stats: TxStats::default(),
            lingering: 0,
            shedding: crate::overload::Shedding::new("transactions"),
            scratch: String::with_capacity(128),
            received_text: (None, String::with_capacity(48)),
        }
    }

    /// The local addresses, with their sent-by and Contact texts.
    pub(crate) fn locals(&self) -> &Locals {
        &self.locals
    }

    /// Counters.
    pub(crate) fn stats(&self) -> TxStats {
        self.stats
    }

    /// Client and server transactions, lingering ones included.
    pub(crate) fn counts(&self) -> (usize, usize) {
        (self.clients.len(), self.servers.len() + self.parked.len())
    }

    /// Transactions that only absorb retransmissions until their timer ends them.
    pub(crate) fn lingering(&self) -> usize {
        self.lingering
    }

    /// Transactions still at work: no final response yet.
    fn at_work(&self) -> usize {
        (self.clients.len() + self.servers.len() + self.parked.len()).saturating_sub(self.lingering)
    }

    /// Whether one more transaction fits: under the limit of transactions at work, and
    /// under the lingering budget (lingering ones end on their own within 64·T1, so new work
    /// is refused rather than a lingering transaction dropped before the RFC's timer).
    pub(crate) fn room(&self) -> bool {
        self.at_work() < self.config.max_transactions && self.lingering < self.config.max_lingering
    }

    /// Whether new requests are being refused for want of room.
    pub(crate) fn is_shedding(&self) -> bool {
        self.shedding.active()
    }

    /// A transaction's lingering flag is now `now`: the count follows.
    fn set_lingering(count: &mut usize, flag: &mut bool, now: bool) {
        if *flag != now {
            *flag = now;
            if now {
                *count += 1;
            } else {
                *count = count.saturating_sub(1);
            }
        }
    }

    /// The next thing to tell the transaction user, in the order it happened.
    pub(crate) fn poll_up(&mut self) -> Option<Up> {
        self.up.pop_front()
    }

    fn alloc_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    // ---- time -----------------------------------------------------------------------

    /// Fires every transaction timer due at `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant, out: &mut impl Sink) {
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
                        self.fail_client(id, Failure::Timeout);
                        continue;
                    }
                    let a = tx.machine.handle_timeout(now);
                    self.apply_client(now, id, a, None, true, out);
                }
                TimerRef::Server(id) => {
                    if let Some(tx) = self.servers.get_mut(&id) {
                        tx.armed = None;
                        let a = tx.machine.handle_timeout(now);
                        self.apply_server(id, a, true, out);
                    } else {
                        self.parked_timeout(now, id);
                    }
                }
            }
        }
        let live = self.clients.len() + self.servers.len() + self.parked.len();
        if self.timers.len() > 1024 && self.timers.len() > 4 * live {
            let mut q = std::mem::take(&mut self.timers);
            q.compact(|at, r| self.timer_live(at, r));
            self.timers = q;
        }
        self.shrink();
    }

    /// Gives memory back after a peak of load: each table checks (in O(1)) whether it is
    /// at most a quarter full, and only then shrinks (see `IdTable::shrink`).
    fn shrink(&mut self) {
        if self.up.is_empty()
            && let Some(to) = crate::capacity::drained_shrink_to(self.up.capacity())
        {
            self.up.shrink_to(to);
        }
        self.clients.shrink();
        self.servers.shrink();
        self.parked.shrink();
        self.client_keys.shrink();
        self.server_keys.shrink();
        self.timers.shrink();
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
        timer_live(&self.clients, &self.servers, &self.parked, at, r)
    }

    /// The earliest instant a transaction timer is due, if any.
    pub(crate) fn poll_timeout(&mut self) -> Option<Instant> {
        let (clients, servers, parked) = (&self.clients, &self.servers, &self.parked);
        self.timers
            .next_live(|at, r| timer_live(clients, servers, parked, at, r))
    }

    fn transmit(
        out: &mut impl Sink,
        transport: Transport,
        source: Option<SocketAddr>,
        destination: SocketAddr,
        bytes: Bytes,
        server_name: Option<TlsServerName>,
    ) {
        Self::transmit_request(
            out,
            transport,
            source,
            destination,
            bytes,
            server_name,
            None,
        );
    }

    /// [`Self::transmit`] with the WebSocket URI a new connection is opened with.
    fn transmit_request(
        out: &mut impl Sink,
        transport: Transport,
        source: Option<SocketAddr>,
        destination: SocketAddr,
        bytes: Bytes,
        server_name: Option<TlsServerName>,
        ws_url: Option<crate::transport::websocket::WsUrl>,
    ) {
        out.transmit(Transmit {
            transport,
            source,
            destination,
            bytes,
            server_name,
            ws_url,
        });
    }

    // ---- receiving ----------------------------------------------------------------

    /// The driver could not reach `destination` over `transport` (§18.4): the transactions
    /// sending there fail, and a response whose connection is lost falls back to the
    /// sent-by port once (§18.2.2).
    pub(crate) fn transport_error(
        &mut self,
        now: Instant,
        transport: Transport,
        destination: SocketAddr,
        out: &mut impl Sink,
    ) {
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
                self.apply_client(now, id, a, None, false, out);
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
                    Self::transmit(out, t, Some(l), fallback, b, None);
                }
                continue;
            }
            let a = tx.machine.on_transport_error(now);
            self.apply_server(id, a, false, out);
        }
        self.parked_transport_error(now, transport, destination, out);
    }

    // ---- applying machine actions ----------------------------------------------------

    // ---- commands: client side ------------------------------------------------------

    // ---- commands: server side ------------------------------------------------------
}

/// The value of an `Allow` header for `methods` (§20.5).
pub(crate) fn allow_list(methods: &[Method]) -> String {
    methods
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a transaction user (the dialog layer, the registrations, the digest client) asks of
/// the layer below it — RFC 3261 §17: the TU creates client transactions, hands responses to
/// server transactions, cancels — as typed actions down with typed results back. The
/// endpoint implements it over its transaction layer and output queue; a layer's unit tests
/// implement it with a fake that records what was asked.
pub(crate) trait Transactions {
    /// The local addresses (sent-by, Contact).
    fn locals(&self) -> &Locals;
    /// Whether one more client transaction fits under the limit.
    fn room(&self) -> bool;
    /// Starts a client transaction for a request the user wrote, top Via (with `branch`)
    /// included.
    fn start_client(
        &mut self,
        now: Instant,
        method: Method,
        branch: &str,
        bytes: Bytes,
        target: Target,
        source: Option<SocketAddr>,
    ) -> Result<ClientTxId, EndpointError>;
    /// Sends a built request in a new client transaction; the layer adds the Via.
    fn send_request(
        &mut self,
        now: Instant,
        request: Request,
        target: Target,
    ) -> Result<ClientTxId, EndpointError>;
    /// Cancels a pending INVITE client transaction (§9.1).
    fn cancel(&mut self, now: Instant, invite: ClientTxId) -> Result<ClientTxId, EndpointError>;
    /// A response to server transaction `tx`'s request, to fill in and pass to `respond`.
    fn response(&self, tx: ServerTxId, status: u16) -> Result<ResponseBuilder, EndpointError>;
    /// Answers server transaction `tx` with `response`.
    fn respond(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        response: Response,
    ) -> Result<Responded, EndpointError>;
    /// Answers server transaction `tx` with a response written from its request's rows.
    #[allow(clippy::too_many_arguments)]
    fn respond_written(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        status: u16,
        record_route: bool,
        extra: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
        keep: bool,
    ) -> Result<Responded, EndpointError>;
    /// What a dialog created by server transaction `tx` needs to know of it.
    fn server_info(&self, tx: ServerTxId) -> Option<ServerInfo<'_>>;
    /// Sends bytes outside any transaction (the ACK for a 2xx, a 2xx retransmission).
    fn transmit(&mut self, t: Transmit);
}

/// Which transaction now carries the request a transaction user knows by `tx` (a digest
/// retry replaces the challenged one, §22.2): the one a CANCEL goes to.
pub(crate) trait CurrentTx {
    /// The transaction now carrying `tx`'s request.
    fn current(&self, tx: ClientTxId) -> ClientTxId;
}

/// The transaction layer as the layers above it see it: the [`Transactions`] service over
/// the layer and the output queue its transmits go to. The one implementation of the
/// service; a user adds how its events reach the application (its env trait) on top.
pub(crate) struct Service<'a, S> {
    pub txl: &'a mut TransactionLayer,
    pub out: &'a mut S,
    /// Maps a user's id to the latest digest retry, for CANCEL.
    pub current: Option<&'a dyn CurrentTx>,
    /// Maps a user's id to the transaction now carrying it at another target (RFC 3263
    /// §4.3 failover), for CANCEL; applied when `current` maps nothing.
    pub moved: Option<&'a dyn CurrentTx>,
    /// Whether requests handed down were written by the endpoint (and need no check).
    pub trusted: bool,
}

impl<'a, S> Service<'a, S> {
    /// The service over `txl` and `out`, for requests the endpoint wrote itself.
    pub(crate) fn new(txl: &'a mut TransactionLayer, out: &'a mut S) -> Self {
        Service {
            txl,
            out,
            current: None,
            moved: None,
            trusted: true,
        }
    }
}

impl<S: Sink> Transactions for Service<'_, S> {
    fn locals(&self) -> &Locals {
        self.txl.locals()
    }
    fn room(&self) -> bool {
        self.txl.room()
    }
    fn start_client(
        &mut self,
        now: Instant,
        method: Method,
        branch: &str,
        bytes: Bytes,
        target: Target,
        source: Option<SocketAddr>,
    ) -> Result<ClientTxId, EndpointError> {
        self.txl
            .start_client(now, method, branch, bytes, target, source, self.out)
    }
    fn send_request(
        &mut self,
        now: Instant,
        request: Request,
        target: Target,
    ) -> Result<ClientTxId, EndpointError> {
        self.txl
            .send_request(now, request, target, self.trusted, self.out)
    }
    fn cancel(&mut self, now: Instant, invite: ClientTxId) -> Result<ClientTxId, EndpointError> {
        let mut current = self.current.map_or(invite, |c| c.current(invite));
        if current == invite {
            current = self.moved.map_or(invite, |c| c.current(invite));
        }
        self.txl.cancel(now, current, self.out)
    }
    fn response(&self, tx: ServerTxId, status: u16) -> Result<ResponseBuilder, EndpointError> {
        self.txl.response(tx, status)
    }
    fn respond(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        response: Response,
    ) -> Result<Responded, EndpointError> {
        self.txl.respond(now, tx, response, false, self.out)
    }
    fn respond_written(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        status: u16,
        record_route: bool,
        extra: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
        keep: bool,
    ) -> Result<Responded, EndpointError> {
        self.txl
            .respond_written(now, tx, status, record_route, extra, body, keep, self.out)
    }
    fn server_info(&self, tx: ServerTxId) -> Option<ServerInfo<'_>> {
        self.txl.server_info(tx)
    }
    fn transmit(&mut self, t: Transmit) {
        self.out.transmit(t);
    }
}
