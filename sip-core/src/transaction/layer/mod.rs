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
mod server;
mod target;

pub use error::EndpointError;
pub use io::{ClientTxId, Failure, ServerTxId, Transmit};
pub(crate) use io::{Responded, SentRequest, ServerInfo, Sink, TxStats, Up};
pub use locals::LocalAddr;
pub(crate) use locals::{Locals, local_for};
pub use target::Target;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;

use client::{CancelState, ClientMachine, ClientTx};
use server::{Arrival, ServerMachine, ServerTx, has_supported_scheme};

use crate::endpoint::ops;
use crate::key_index::KeyIndex;
use crate::message::{
    Method, ParseError, ParseOptions, Request, Response, ResponseBuilder, SipMessage, parse_framed,
};
use crate::rng::IdGenerator;
use crate::timer::TimerQueue;
use crate::transaction::{
    Actions, ClientInviteTransaction, ClientNonInviteTransaction, ServerInviteTransaction,
    ServerNonInviteTransaction, TimerConfig, TimerName, TransactionError,
};
use crate::transport::{ResponseTarget, Transport, ViaRouting, needs_received, response_target};

type Map<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

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
    pub max_transactions: usize,
    pub retry_after_secs: u32,
    pub max_forwards_policy: MaxForwardsPolicy,
    pub supported: Vec<String>,
    pub allowed_methods: Option<Vec<Method>>,
    /// Hand a challenged request up with its 401/407 (a digest client is there to answer).
    pub hand_up_challenges: bool,
    /// Report [`Up::ClientEnded`] and [`Up::ServerEnded`] (a layer above keeps state per
    /// transaction).
    pub report_ends: bool,
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
    /// Boxed: a table of large inline values moves them on every insert, removal and
    /// growth, and keeps its empty slots at their full size.
    clients: Map<u64, Box<ClientTx>>,
    client_keys: KeyIndex,
    /// Found by id without hashing, and held inline in slots that are reused (see
    /// [`id_table`]): no allocation per server transaction beyond its skeleton. The
    /// vector keeps its largest size (some 430 bytes a slot).
    servers: id_table::IdTable<ServerTx>,
    server_keys: KeyIndex,
    timers: TimerQueue<TimerRef>,
    up: VecDeque<Up>,
    stats: TxStats,
    scratch: String,
    /// The last source address stamped as `received`, and its text (§18.2.1).
    received_text: (Option<std::net::IpAddr>, String),
}

/// Parses a request the layer itself sent (kept as bytes in its client transaction).
fn sent_request(bytes: &Bytes) -> Option<Request> {
    match crate::message::parse_unchecked(bytes.clone(), &ParseOptions::default()) {
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
            clients: Map::with_hasher(hash()),
            client_keys: KeyIndex::new(hash()),
            servers: id_table::IdTable::new(),
            server_keys: KeyIndex::new(hash()),
            timers: TimerQueue::new(),
            up: VecDeque::new(),
            stats: TxStats::default(),
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

    /// Live client and server transactions.
    pub(crate) fn counts(&self) -> (usize, usize) {
        (self.clients.len(), self.servers.len())
    }

    /// Whether one more transaction fits under the limit.
    pub(crate) fn room(&self) -> bool {
        self.clients.len() + self.servers.len() < self.config.max_transactions
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
                    let Some(tx) = self.servers.get_mut(&id) else {
                        continue;
                    };
                    tx.armed = None;
                    let a = tx.machine.handle_timeout(now);
                    self.apply_server(id, a, true, out);
                }
            }
        }
        let live = self.clients.len() + self.servers.len();
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
        }
    }

    /// The earliest instant a transaction timer is due, if any.
    pub(crate) fn poll_timeout(&mut self) -> Option<Instant> {
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
        out: &mut impl Sink,
        transport: Transport,
        source: Option<SocketAddr>,
        destination: SocketAddr,
        bytes: Bytes,
    ) {
        out.transmit(Transmit {
            transport,
            source,
            destination,
            bytes,
        });
    }

    // ---- receiving ----------------------------------------------------------------

    /// Bytes arrived: a datagram, or one message framed from a stream.
    pub(crate) fn receive(
        &mut self,
        now: Instant,
        transport: Transport,
        from: SocketAddr,
        to: SocketAddr,
        bytes: Bytes,
        out: &mut impl Sink,
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
                self.on_request(now, transport, from, to, r, out)
            }
            Ok(BoxedMessage::Response(r)) => {
                self.stats.received += 1;
                self.on_response(now, from, r, out)
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
        out: &mut impl Sink,
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
        Self::transmit(out, transport, Some(local), target.address(), bytes);
    }

    fn on_request(
        &mut self,
        now: Instant,
        transport: Transport,
        from: SocketAddr,
        local: SocketAddr,
        mut req: Box<Request>,
        out: &mut impl Sink,
    ) {
        let arrival = Arrival {
            transport,
            from,
            local,
        };
        if let Err(e) = self.check_request(&req) {
            if *req.method() == Method::Ack || req.via().is_none() {
                self.stats.parse_errors += 1;
                return;
            }
            let code = e.status_code();
            let reason = ops::bad_request_reason(code, &e.kind);
            self.respond_stateless(arrival, &req, code, &reason, &[], out);
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
            Method::Ack => return self.on_ack(now, from, req, out),
            Method::Cancel => return self.on_cancel(now, arrival, target, req, out),
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
                self.apply_server(id, a, true, out);
            }
            return;
        }
        if !ok {
            self.scratch = key;
            self.stats.parse_errors += 1;
            return;
        }
        // Stateless refusals (§8.2.1–§8.2.3, §16.3).
        if self.refused(arrival, &req, out) {
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
            return self.respond_overloaded(arrival, &req, out);
        };
        let to_tag = match req.to().and_then(|t| t.tag()) {
            Some(t) => ops::ToTag::Given(t),
            None => ops::ToTag::Drawn(&mut self.ids),
        };
        let skel = ops::Skeleton::of(&req, &key, to_tag);
        self.scratch = key;
        self.file_server(id, hash, || (machine, skel), transport, local, target);
        self.apply_server(id, actions.without_pass_to_tu(), false, out);
        if actions.pass_to_tu() {
            self.up.push_back(Up::Request {
                tx: ServerTxId(id),
                request: req,
                from,
            });
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

    /// The server transaction filed under `key` (§17.2.3).
    fn find_server(&self, key: &str) -> Option<u64> {
        self.find_server_hashed(self.server_keys.hash(&[key]), key)
    }

    /// [`TransactionLayer::find_server`] with the key's hash in `server_keys` at hand.
    fn find_server_hashed(&self, hash: u64, key: &str) -> Option<u64> {
        let servers = &self.servers;
        self.server_keys.find_hashed(hash, |id| {
            servers.get(&id).is_some_and(|t| t.skel.key() == key)
        })
    }

    /// The stateless refusals of a new request (§8.2.1–§8.2.3, §16.3): answers it and says
    /// `true` when it must not create a transaction.
    fn refused(&mut self, arrival: Arrival, req: &Request, out: &mut impl Sink) -> bool {
        if req.max_forwards() == Some(0)
            && self.config.max_forwards_policy == MaxForwardsPolicy::Reject
        {
            self.respond_stateless(arrival, req, 483, "Too Many Hops", &[], out);
            return true;
        }
        // The URI already passed the full grammar in `check`: its scheme is what precedes
        // the first colon.
        if !has_supported_scheme(req.uri_str()) {
            self.respond_stateless(arrival, req, 416, "Unsupported URI Scheme", &[], out);
            return true;
        }
        // §8.2.1: a method the TU does not support gets 405 with Allow.
        if let Some(allowed) = &self.config.allowed_methods
            && !allowed.contains(req.method())
        {
            let list = allow_list(allowed);
            let extra = [("Allow", list.as_str())];
            self.respond_stateless(arrival, req, 405, "Method Not Allowed", &extra, out);
            return true;
        }
        let supported = &self.config.supported;
        let mut unsupported = req
            .require()
            .filter(|t| !supported.iter().any(|s| s.eq_ignore_ascii_case(t)))
            .peekable();
        if unsupported.peek().is_some() && *req.method() != Method::Cancel {
            let list = unsupported.collect::<Vec<_>>().join(", ");
            let extra = [("Unsupported", list.as_str())];
            self.respond_stateless(arrival, req, 420, "Bad Extension", &extra, out);
            return true;
        }
        if !self.room() {
            self.respond_overloaded(arrival, req, out);
            return true;
        }
        false
    }

    /// The stateless 503 with Retry-After for a request over the transaction limit.
    fn respond_overloaded(&mut self, arrival: Arrival, req: &Request, out: &mut impl Sink) {
        self.stats.overload_rejections += 1;
        let ra = self.config.retry_after_secs.to_string();
        let extra = [("Retry-After", ra.as_str())];
        self.respond_stateless(arrival, req, 503, "Service Unavailable", &extra, out);
    }

    fn on_ack(&mut self, now: Instant, from: SocketAddr, req: Box<Request>, out: &mut impl Sink) {
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
                self.apply_server(id, a.without_pass_to_tu(), true, out);
                if a.pass_to_tu() {
                    self.up.push_back(Up::Ack { request: req, from });
                }
                return;
            }
        }
        self.up.push_back(Up::Ack { request: req, from });
    }

    fn on_cancel(
        &mut self,
        now: Instant,
        arrival: Arrival,
        target: ResponseTarget,
        req: Box<Request>,
        out: &mut impl Sink,
    ) {
        let mut key = std::mem::take(&mut self.scratch);
        // A retransmitted CANCEL: its own transaction re-sends the 200.
        if keys::server_key(&mut key, &req, None)
            && let Some(id) = self.find_server(&key)
        {
            self.scratch = key;
            if let Some(tx) = self.servers.get_mut(&id) {
                let a = tx.machine.on_request_retransmission(now);
                self.apply_server(id, a, true, out);
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
            let reason = "Call/Transaction Does Not Exist";
            return self.respond_stateless(arrival, &req, 481, reason, &[], out);
        };
        // The CANCEL's own transaction, answered 200 at once (§9.2).
        let reliable = arrival.transport.is_reliable();
        let (m, _) = ServerNonInviteTransaction::new(now, reliable, &self.config.timers);
        let serial = self.alloc_id();
        let Some(id) = self.servers.next_id(serial) else {
            return self.respond_overloaded(arrival, &req, out);
        };
        let to_tag = match self.servers.get(&invite_id) {
            Some(t) => t.skel.to_tag().to_owned(),
            None => self.ids.tag(),
        };
        let key_hash = self.server_keys.hash(&[&cancel_key]);
        let skel = || ops::Skeleton::of(&req, &cancel_key, ops::ToTag::Given(&to_tag));
        let machine = ServerMachine::NonInvite(m);
        let (transport, local) = (arrival.transport, arrival.local);
        self.file_server(id, key_hash, || (machine, skel()), transport, local, target);
        let _ = self.respond_with(now, ServerTxId(id), 200, false, out);
        // 487 for the INVITE if it has no final response yet.
        let pending = self
            .servers
            .get(&invite_id)
            .is_some_and(|t| t.machine.final_status().is_none());
        if pending {
            self.up.push_back(Up::Cancelled {
                tx: ServerTxId(invite_id),
            });
            let _ = self.respond_with(now, ServerTxId(invite_id), 487, false, out);
        }
    }

    fn on_response(
        &mut self,
        now: Instant,
        from: SocketAddr,
        resp: Box<Response>,
        out: &mut impl Sink,
    ) {
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
                .is_some_and(|v| self.locals.is_ours(v.host(), v.port()));
            if ours {
                self.up.push_back(Up::Stray {
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
        self.apply_client(now, id, a, Some(resp), false, out);
        if let Some(cid) = send_cancel {
            self.start_cancel(now, id, cid, out);
        }
    }

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
                    Self::transmit(out, t, Some(l), fallback, b);
                }
                continue;
            }
            let a = tx.machine.on_transport_error(now);
            self.apply_server(id, a, false, out);
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
        out: &mut impl Sink,
    ) {
        let _ = now;
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
        let final_response = response.as_ref().is_some_and(|r| r.status() >= 200);
        let held_cancel = match tx.cancel() {
            CancelState::Pending(cid)
                if a.terminated()
                    || a.timed_out().is_some()
                    || a.transport_failed()
                    || final_response =>
            {
                tx.extra_mut().cancel = CancelState::None;
                Some(cid)
            }
            _ => None,
        };
        if final_response && let Some(e) = tx.extra.as_mut() {
            e.cancel_deadline = None;
        }
        // A challenge goes up with the request it answers, for the digest client.
        let challenged = (self.config.hand_up_challenges
            && a.pass_to_tu()
            && response
                .as_ref()
                .is_some_and(|r| matches!(r.status(), 401 | 407)))
        .then(|| SentRequest {
            bytes: tx.bytes.clone(),
            target: Target::new(transport, dest),
        });
        self.rearmed(old, next, TimerRef::Client(id));
        if let Some(cid) = held_cancel {
            // The INVITE ended before any provisional: the CANCEL is never sent (§9.1).
            self.up.push_back(Up::ClientFailed {
                tx: cid,
                failure: Failure::NotSent,
            });
        }
        for b in sends.into_iter().flatten() {
            self.stats.retransmissions += u64::from(retransmit);
            Self::transmit(out, transport, source, dest, b);
        }
        if a.pass_to_tu()
            && let Some(response) = response
        {
            self.up.push_back(Up::Response {
                tx: ClientTxId(id),
                response,
                challenged,
            });
        }
        let failure = if matches!(a.timed_out(), Some(TimerName::B | TimerName::F)) {
            Some(Failure::Timeout)
        } else if a.transport_failed() {
            Some(Failure::TransportError)
        } else {
            None
        };
        if let Some(failure) = failure {
            self.up.push_back(Up::ClientFailed {
                tx: ClientTxId(id),
                failure,
            });
        }
        if a.terminated() {
            self.forget_client(id);
        } else if let Some(at) = rearm {
            self.timers.schedule(at, TimerRef::Client(id));
        }
    }

    /// Removes a client transaction from the table and its key index.
    fn forget_client(&mut self, id: u64) {
        if let Some(tx) = self.clients.remove(&id) {
            self.client_keys.remove_hashed(tx.branch_hash, id);
            if self.config.report_ends {
                self.up.push_back(Up::ClientEnded { tx: ClientTxId(id) });
            }
        }
    }

    /// Ends a client transaction from outside its machine (the §9.1 CANCEL deadline).
    fn fail_client(&mut self, id: u64, failure: Failure) {
        self.up.push_back(Up::ClientFailed {
            tx: ClientTxId(id),
            failure,
        });
        self.forget_client(id);
    }

    fn apply_server(&mut self, id: u64, a: Actions, retransmit: bool, out: &mut impl Sink) {
        if a.send_trying()
            && let Some(tx) = self.servers.get_mut(&id)
        {
            let bytes = tx
                .skel
                .response_bytes(100, "Trying", None, false, &[], None);
            tx.last_response = Some(bytes.clone());
            let (t, l, d) = (tx.transport, tx.local, tx.target.address());
            Self::transmit(out, t, Some(l), d, bytes);
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
            Self::transmit(out, t, Some(l), d, b);
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
            self.up.push_back(Up::ServerFailed {
                tx: ServerTxId(id),
                failure: Failure::Timeout,
            });
        }
        if a.transport_failed() {
            self.up.push_back(Up::ServerFailed {
                tx: ServerTxId(id),
                failure: Failure::TransportError,
            });
        }
        if a.terminated() {
            if let Some(tx) = self.servers.get(&id) {
                self.server_keys.remove_hashed(tx.key_hash, id);
                self.servers.discard(&id);
            }
            if self.config.report_ends {
                self.up.push_back(Up::ServerEnded { tx: ServerTxId(id) });
            }
        } else if let Some(at) = rearm {
            self.timers.schedule(at, TimerRef::Server(id));
        }
    }

    // ---- commands: client side ------------------------------------------------------

    /// Writes our Via value (see [`Locals::write_via`]) into `out`, with a branch drawn
    /// from this layer's generator.
    fn write_local_via(
        &mut self,
        out: &mut String,
        transport: Transport,
        dest: SocketAddr,
    ) -> Result<(crate::rng::Branch, SocketAddr), EndpointError> {
        self.locals.write_via(out, &mut self.ids, transport, dest)
    }

    /// Sends a request in a new client transaction (§17.1): adds the top Via (a fresh
    /// `z9hG4bK` branch, the configured sent-by, and `rport`, RFC 3581), checks it like a
    /// received request unless `trusted` (the endpoint wrote it), transmits it and arms the
    /// timers.
    pub(crate) fn send_request(
        &mut self,
        now: Instant,
        request: Request,
        target: Target,
        trusted: bool,
        out: &mut impl Sink,
    ) -> Result<ClientTxId, EndpointError> {
        if *request.method() == Method::Ack {
            return Err(EndpointError::AckNeedsNoTransaction);
        }
        if !self.room() {
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
        let method = request.method().clone();
        Ok(self.start_client(
            now,
            method,
            branch.as_str(),
            bytes.unwrap_or_default(),
            target,
            Some(local),
            out,
        ))
    }

    /// Starts a client transaction for a request written as bytes, its top Via (with
    /// `branch`) included: the way the layers above send what they write themselves.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn start_client(
        &mut self,
        now: Instant,
        method: Method,
        branch: &str,
        bytes: Bytes,
        target: Target,
        source: Option<SocketAddr>,
        out: &mut impl Sink,
    ) -> ClientTxId {
        let id = self.alloc_id();
        self.start_client_as(now, id, method, branch, bytes, target, source, out);
        ClientTxId(id)
    }

    #[allow(clippy::too_many_arguments)]
    fn start_client_as(
        &mut self,
        now: Instant,
        id: u64,
        method: Method,
        branch: &str,
        bytes: Bytes,
        target: Target,
        source: Option<SocketAddr>,
        out: &mut impl Sink,
    ) {
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
        self.apply_client(now, id, actions, None, false, out);
    }

    /// Sends a request with no transaction: the ACK for a 2xx (§13.2.2.4, §17.1.1.3), which
    /// the dialog layer owns. A Via with a new branch is added.
    pub(crate) fn send_ack(
        &mut self,
        mut ack: Request,
        target: Target,
        out: &mut impl Sink,
    ) -> Result<(), EndpointError> {
        let mut via = std::mem::take(&mut self.scratch);
        let written = self.write_local_via(&mut via, target.transport, target.addr);
        let prepended = match written {
            Ok(_) => ack.prepend_header("Via", &via).map_err(EndpointError::from),
            Err(_) => Ok(()),
        };
        self.scratch = via;
        let (_, local) = prepended.and(written)?;
        Self::transmit(
            out,
            target.transport,
            Some(local),
            target.addr,
            ack.to_bytes(),
        );
        Ok(())
    }

    /// Cancels a pending INVITE (§9.1). The CANCEL is sent at once if a provisional response
    /// has arrived, else as soon as one does (§9.1: "a CANCEL request SHOULD NOT be sent to
    /// cancel a request until a provisional response has been received"). Returns the
    /// CANCEL's own client transaction.
    pub(crate) fn cancel(
        &mut self,
        now: Instant,
        invite: ClientTxId,
        out: &mut impl Sink,
    ) -> Result<ClientTxId, EndpointError> {
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
        match state {
            S::Calling => {
                self.next_id += 1;
                tx.extra_mut().cancel = CancelState::Pending(cid);
                Ok(cid)
            }
            S::Proceeding => {
                self.next_id += 1;
                self.start_cancel(now, invite.0, cid, out);
                Ok(cid)
            }
            _ => Err(EndpointError::CancelTooLate),
        }
    }

    fn start_cancel(&mut self, now: Instant, invite_id: u64, cid: ClientTxId, out: &mut impl Sink) {
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
        let Some(tx) = self.clients.get(&invite_id) else {
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
            &ParseOptions::default(),
            crate::message::Framing::Datagram,
        ) else {
            return;
        };
        let branch = invite.via().and_then(|v| v.branch()).unwrap_or("");
        let method = cancel.method().clone();
        let bytes = cancel.to_bytes();
        self.start_client_as(now, cid.0, method, branch, bytes, target, source, out);
    }

    // ---- commands: server side ------------------------------------------------------

    /// A response to the request of server transaction `tx` (§8.2.6), with the layer's
    /// To tag for it (the same for every response of the transaction; none for 100).
    pub(crate) fn response(
        &self,
        tx: ServerTxId,
        status: u16,
    ) -> Result<ResponseBuilder, EndpointError> {
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

    /// Answers server transaction `tx` with `status` and no body. `keep` asks for the
    /// bytes back (the dialog layer keeps a 2xx to retransmit it).
    pub(crate) fn respond_with(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        status: u16,
        keep: bool,
        out: &mut impl Sink,
    ) -> Result<Responded, EndpointError> {
        self.respond_written(now, tx, status, false, &[], None, keep, out)
    }

    /// Answers server transaction `tx` with a response written from the request's copied
    /// rows (see [`ops::Skeleton`]): `record_route` copies its Record-Route rows (§12.1.1),
    /// `extra` rows and `body` follow.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn respond_written(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        status: u16,
        record_route: bool,
        extra: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
        keep: bool,
        out: &mut impl Sink,
    ) -> Result<Responded, EndpointError> {
        let t = self
            .servers
            .get_mut(&tx.0)
            .ok_or(EndpointError::UnknownTransaction)?;
        if !(100..=699).contains(&status) {
            return Err(TransactionError::InvalidStatus(status).into());
        }
        let a = t.machine.on_tu_response(now, status)?;
        let tag = (status != 100).then_some(t.skel.to_tag());
        let reason = crate::message::reason_phrase(status);
        let bytes = t
            .skel
            .response_bytes(status, reason, tag, record_route, extra, body);
        self.response_accepted(tx, a, bytes, keep, out)
    }

    /// Sends `response` on server transaction `tx` (§17.2): the transaction stores it for
    /// retransmission and sends it to where §18.2.2 says. Refused if the transaction's state
    /// forbids it (a second final response, ...), or if the response is for another request.
    pub(crate) fn respond(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        response: Response,
        keep: bool,
        out: &mut impl Sink,
    ) -> Result<Responded, EndpointError> {
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
        self.response_accepted(tx, a, response.to_bytes(), keep, out)
    }

    /// Carries out a response the machine of `tx` accepted (`a`): keeps it for
    /// retransmission where the transaction re-sends it, and sends it.
    fn response_accepted(
        &mut self,
        tx: ServerTxId,
        a: Actions,
        bytes: Bytes,
        keep: bool,
        out: &mut impl Sink,
    ) -> Result<Responded, EndpointError> {
        let t = self
            .servers
            .get_mut(&tx.0)
            .ok_or(EndpointError::UnknownTransaction)?;
        if t.machine.answered_for_good() {
            // Only retransmissions of `last_response` are left: the copied rows go.
            t.skel.shed();
        }
        let (transport, local, destination) = (t.transport, t.local, t.target.address());
        let kept = keep.then(|| bytes.clone());
        // Kept where the transaction may re-send it: a request retransmission or Timer G,
        // and over a connection the §18.2.2 fallback when that connection is lost (a 2xx
        // included: the TU does not retransmit over reliable transports, §13.3.1.4).
        if t.machine.resends_last_response() || t.transport.is_reliable() {
            t.last_response = Some(bytes);
            self.apply_server(tx.0, a, false, out);
        } else {
            // A 2xx in Accepted over an unreliable transport: sent now and kept by the
            // dialog layer if anything (§13.3.1.4), not by the transaction.
            t.last_response = None;
            if a.transmit() {
                Self::transmit(out, transport, Some(local), destination, bytes);
            }
            self.apply_server(tx.0, a.without_transmit(), false, out);
        }
        Ok(Responded {
            bytes: kept,
            transport,
            local,
            destination,
        })
    }

    /// What a dialog created by server transaction `tx` needs to know of it.
    pub(crate) fn server_info(&self, tx: ServerTxId) -> Option<ServerInfo<'_>> {
        let t = self.servers.get(&tx.0)?;
        Some(ServerInfo {
            transport: t.transport,
            local: t.local,
            to_tag: t.skel.to_tag(),
        })
    }

    /// The method of server transaction `tx`'s request (from its CSeq).
    pub(crate) fn server_method(&self, tx: ServerTxId) -> Option<&str> {
        self.servers.get(&tx.0)?.skel.cseq().map(|(_, m)| m)
    }

    /// The state of an INVITE server transaction, if `tx` is one and alive.
    #[cfg(any(test, feature = "introspection"))]
    pub(crate) fn server_invite_state(
        &self,
        tx: ServerTxId,
    ) -> Option<crate::transaction::ServerInviteState> {
        match &self.servers.get(&tx.0)?.machine {
            ServerMachine::Invite(m) => Some(m.state()),
            ServerMachine::NonInvite(_) => None,
        }
    }
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
    ) -> ClientTxId;
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
