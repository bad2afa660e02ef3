//! A server transaction as the layer keeps it (RFC 3261 §17.2): its machine, the rows its
//! responses copy, and where they go (§18.2.2).

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;

use super::skeleton as ops;
use crate::transaction::{
    Actions, LingerState, LingeringServer, ServerInviteTransaction, ServerNonInviteTransaction,
    TransactionError,
};
use crate::transport::{ResponseTarget, Transport};

/// A server transaction's machine. The INVITE one is boxed (it carries the timers of five
/// states); once a transaction only waits to absorb retransmissions it becomes
/// [`LingeringServer`], and with its rows released it leaves its slot for a parked record
/// (see [`super::parked`]), so the many lingering transactions of a sustained load take
/// little room each.
#[derive(Debug)]
pub(super) enum ServerMachine {
    Invite(Box<ServerInviteTransaction>),
    NonInvite(ServerNonInviteTransaction),
    Lingering(LingeringServer),
}

impl ServerMachine {
    /// Replaces the machine by its lingering form once it is in Accepted (INVITE) or
    /// Completed (non-INVITE); otherwise leaves it.
    pub(super) fn linger(&mut self) {
        let l = match self {
            ServerMachine::Invite(m) => LingeringServer::accepted(m),
            ServerMachine::NonInvite(m) => LingeringServer::completed(m),
            ServerMachine::Lingering(_) => None,
        };
        if let Some(l) = l {
            *self = ServerMachine::Lingering(l);
        }
    }
    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        match self {
            ServerMachine::Invite(m) => m.poll_timeout(),
            ServerMachine::NonInvite(m) => m.poll_timeout(),
            ServerMachine::Lingering(m) => m.poll_timeout(),
        }
    }
    pub(super) fn handle_timeout(&mut self, now: Instant) -> Actions {
        match self {
            ServerMachine::Invite(m) => m.handle_timeout(now),
            ServerMachine::NonInvite(m) => m.handle_timeout(now),
            ServerMachine::Lingering(m) => m.handle_timeout(now),
        }
    }
    pub(super) fn on_request_retransmission(&mut self, now: Instant) -> Actions {
        match self {
            ServerMachine::Invite(m) => m.on_request_retransmission(now),
            ServerMachine::NonInvite(m) => m.on_request_retransmission(now),
            ServerMachine::Lingering(m) => m.on_request_retransmission(now),
        }
    }
    /// An ACK matched to this transaction; `None` for a non-INVITE one (never an ACK's).
    pub(super) fn on_ack(&mut self, now: Instant) -> Option<Actions> {
        match self {
            ServerMachine::Invite(m) => Some(m.on_ack(now)),
            ServerMachine::NonInvite(_) => None,
            ServerMachine::Lingering(m) => {
                (m.state() != LingerState::Completed).then(|| m.on_ack(now))
            }
        }
    }
    pub(super) fn on_tu_response(
        &mut self,
        now: Instant,
        status: u16,
    ) -> Result<Actions, TransactionError> {
        match self {
            ServerMachine::Invite(m) => m.on_tu_response(now, status),
            ServerMachine::NonInvite(m) => m.on_tu_response(now, status),
            ServerMachine::Lingering(m) => m.on_tu_response(now, status),
        }
    }
    pub(super) fn on_transport_error(&mut self, now: Instant) -> Actions {
        match self {
            ServerMachine::Invite(m) => m.on_transport_error(now),
            ServerMachine::NonInvite(m) => m.on_transport_error(now),
            ServerMachine::Lingering(m) => m.on_transport_error(now),
        }
    }
    /// Whether the transaction may re-send its last response itself (a request
    /// retransmission, Timer G). Not in Accepted: a 2xx is re-sent by the TU alone and
    /// INVITE retransmissions are absorbed there (RFC 6026 §7.1, §8.5).
    pub(super) fn resends_last_response(&self) -> bool {
        match self {
            ServerMachine::Invite(m) => {
                m.state() != crate::transaction::ServerInviteState::Accepted
            }
            ServerMachine::NonInvite(_) => true,
            ServerMachine::Lingering(m) => m.state() != LingerState::Accepted,
        }
    }
    /// Whether the TU can send no further response: a final non-2xx was sent (Completed
    /// and after), or the non-INVITE transaction answered. A 2xx to an INVITE (Accepted) may
    /// still be followed by others (RFC 6026 §7.1).
    pub(super) fn answered_for_good(&self) -> bool {
        use crate::transaction::{ServerInviteState as I, ServerNonInviteState as N};
        match self {
            ServerMachine::Invite(m) => {
                matches!(m.state(), I::Completed | I::Confirmed | I::Terminated)
            }
            ServerMachine::NonInvite(m) => matches!(m.state(), N::Completed | N::Terminated),
            ServerMachine::Lingering(m) => m.state() != LingerState::Accepted,
        }
    }
    pub(super) fn final_status(&self) -> Option<u16> {
        match self {
            ServerMachine::Invite(m) => m.final_status(),
            ServerMachine::NonInvite(m) => m.final_status(),
            ServerMachine::Lingering(m) => Some(m.final_status()),
        }
    }
}

#[derive(Debug)]
pub(super) struct ServerTx {
    pub(super) machine: ServerMachine,
    /// What responses copy from the request (§8.2.6), the key the transaction is filed
    /// under in `server_keys` and the To tag of its responses.
    pub(super) skel: ops::Skeleton,
    /// The hash of the key in `server_keys` (so that removal need not hash it again).
    pub(super) key_hash: u64,
    pub(super) transport: Transport,
    pub(super) local: SocketAddr,
    pub(super) target: ResponseTarget,
    pub(super) last_response: Option<Bytes>,
    pub(super) armed: Option<Instant>,
    /// Counted as lingering: its final response is sent.
    pub(super) lingering: bool,
}

/// Whether a Request-URI's scheme (what precedes its first colon) is one the endpoint
/// serves: `sip`, `sips` or `tel` in any letter case (§8.2.2.1 answers others 416).
pub(super) fn has_supported_scheme(uri: &str) -> bool {
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
pub(super) struct Arrival {
    pub(super) transport: Transport,
    pub(super) from: SocketAddr,
    pub(super) local: SocketAddr,
}

// ---- the server side of the layer: requests in, responses out (§17.2, §18.2) ----------

use super::*;

impl TransactionLayer {
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
            Err((e, bytes)) => {
                self.stats.parse_errors += 1;
                self.answer_unparsed(
                    Arrival {
                        transport,
                        from,
                        local: to,
                    },
                    &bytes,
                    &e,
                    out,
                );
            }
        }
    }

    /// A message a stream could not frame (`Input::Unframed`): counted, and answered if
    /// its head allows (see [`TransactionLayer::answer_unparsed`]).
    pub(crate) fn receive_unframed(
        &mut self,
        transport: Transport,
        from: SocketAddr,
        to: SocketAddr,
        bytes: &[u8],
        error: &ParseError,
        out: &mut impl Sink,
    ) {
        self.stats.parse_errors += 1;
        let arrival = Arrival {
            transport,
            from,
            local: to,
        };
        self.answer_unparsed(arrival, bytes, error, out);
    }

    /// Answers a request the parser refused, when enough of its head can be read for a
    /// response (§8.2.6): 400 for a Content-Length beyond the datagram (§18.3) and other
    /// malformed requests, 513 for one over the size limits (§21.5.9), 414 for an
    /// over-long Request-URI (§21.4.12). A response, an ACK, or a head without the rows a
    /// response copies gets no answer (§8.2.6, §17.1.1.3: a response is never answered).
    #[cold]
    #[inline(never)]
    pub(super) fn answer_unparsed(
        &mut self,
        arrival: Arrival,
        bytes: &[u8],
        error: &ParseError,
        out: &mut impl Sink,
    ) {
        match crate::message::answerable_head(bytes, &self.config.parse.limits) {
            Some(req) if *req.method() != Method::Ack => {
                let code = error.status_code();
                let reason = ops::bad_request_reason(code, &error.kind);
                tracing::debug!(from = %arrival.from, %error, code, "answering an unparseable request");
                self.respond_stateless(arrival, &req, code, &reason, &[], out);
            }
            _ => {
                tracing::debug!(from = %arrival.from, %error, "dropping unparseable message");
            }
        }
    }

    pub(super) fn check_request(&self, r: &Request) -> Result<(), ParseError> {
        if self.config.parse.mode == crate::message::Mode::Strict {
            crate::message::validate::check_request_strict(r)
        } else {
            r.check()
        }
    }

    /// Sends a response no transaction keeps (§8.2, §17.2.3 stateless answers).
    pub(super) fn respond_stateless(
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
        let target = response_target(transport, from, &routing(&via, self.config.via_maddr));
        let skel = ops::Skeleton::of(req, "", ops::ToTag::Drawn(&mut self.ids));
        let bytes = skel.response_bytes(status, reason, Some(skel.to_tag()), false, extra, None);
        self.stats.stateless_responses += 1;
        Self::transmit(out, transport, Some(local), target.address(), bytes, None);
    }

    pub(super) fn on_request(
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
        // §18.2.1 and RFC 3581 §4: note where the request really came from. Over
        // WebSocket the source port is noted whether asked for or not: the connection is
        // the only route back to the client (RFC 7118 §5), and `received`/`rport` are how
        // a registrar or the application binds its contact to that connection.
        if let Some(via) = req.via() {
            let rport_wanted =
                via.rport() == Some(None) || (transport.is_websocket() && via.rport().is_none());
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
        let target = response_target(transport, from, &routing(&via, self.config.via_maddr));

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
            self.on_retransmission(now, id, out);
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
            (ServerMachine::Invite(Box::new(m)), a)
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
    pub(super) fn file_server(
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
                lingering: false,
            }
        });
        debug_assert!(filed, "the id came from next_id");
    }

    /// The server transaction filed under `key` (§17.2.3).
    pub(super) fn find_server(&self, key: &str) -> Option<u64> {
        self.find_server_hashed(self.server_keys.hash(&[key]), key)
    }

    /// [`TransactionLayer::find_server`] with the key's hash in `server_keys` at hand.
    pub(super) fn find_server_hashed(&self, hash: u64, key: &str) -> Option<u64> {
        let (servers, parked) = (&self.servers, &self.parked);
        self.server_keys
            .find_hashed(hash, |id| match servers.get(&id) {
                Some(t) => t.skel.key() == key,
                None => parked.get(id).is_some_and(|p| p.skel.key() == key),
            })
    }

    /// A retransmission of the request of server transaction `id` (§17.2.1, §17.2.2),
    /// in its slot or parked.
    pub(super) fn on_retransmission(&mut self, now: Instant, id: u64, out: &mut impl Sink) {
        if let Some(tx) = self.servers.get_mut(&id) {
            let a = tx.machine.on_request_retransmission(now);
            self.apply_server(id, a, true, out);
        } else if let Some(p) = self.parked.get_mut(id) {
            let a = p.machine.on_request_retransmission(now);
            self.apply_parked(id, a, true, out);
        }
    }

    /// The stateless refusals of a new request (§8.2.1–§8.2.3, §16.3): answers it and says
    /// `true` when it must not create a transaction.
    pub(super) fn refused(&mut self, arrival: Arrival, req: &Request, out: &mut impl Sink) -> bool {
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
        let (at_work, lingering, c) = (self.at_work(), self.lingering, &self.config);
        self.shedding.admitted(|| {
            crate::overload::relieved(at_work, c.max_transactions)
                && crate::overload::relieved(lingering, c.max_lingering)
        });
        false
    }

    /// The stateless 503 with Retry-After for a request over the transaction limit.
    pub(super) fn respond_overloaded(
        &mut self,
        arrival: Arrival,
        req: &Request,
        out: &mut impl Sink,
    ) {
        self.stats.overload_rejections += 1;
        let (at_work, lingering, config) = (self.at_work(), self.lingering, &self.config);
        self.shedding.refused(|| {
            format!(
                "{at_work} at work (limit {}), {lingering} lingering (limit {})",
                config.max_transactions, config.max_lingering
            )
        });
        let ra = self.config.retry_after_secs.to_string();
        let extra = [("Retry-After", ra.as_str())];
        self.respond_stateless(arrival, req, 503, "Service Unavailable", &extra, out);
    }

    pub(super) fn on_ack(
        &mut self,
        now: Instant,
        from: SocketAddr,
        req: Box<Request>,
        out: &mut impl Sink,
    ) {
        let mut key = std::mem::take(&mut self.scratch);
        let found = keys::server_key(&mut key, &req, None)
            .then(|| self.find_server(&key))
            .flatten();
        self.scratch = key;
        // RFC 2543 matching also needs the To tag of the response (§17.2.3).
        let rfc3261 = req.via().is_some_and(|v| v.has_rfc3261_branch());
        let to_tag = req.to().and_then(|t| t.tag());
        if let Some(id) = found
            && let Some(tx) = self.servers.get_mut(&id)
            && (rfc3261 || to_tag == Some(tx.skel.to_tag()))
            && let Some(a) = tx.machine.on_ack(now)
        {
            self.apply_server(id, a.without_pass_to_tu(), true, out);
            if a.pass_to_tu() {
                self.up.push_back(Up::Ack { request: req, from });
            }
            return;
        }
        // A parked one is in Accepted (the ACK for its 2xx goes up, RFC 6026 §7.1) or a
        // non-INVITE's in Completed (an ACK's key never names one: nothing to do).
        if let Some(id) = found
            && let Some(p) = self.parked.get_mut(id)
            && (rfc3261 || to_tag == Some(p.skel.to_tag()))
            && p.machine.state() != LingerState::Completed
        {
            let a = p.machine.on_ack(now);
            self.apply_parked(id, a.without_pass_to_tu(), true, out);
            if a.pass_to_tu() {
                self.up.push_back(Up::Ack { request: req, from });
            }
            return;
        }
        self.up.push_back(Up::Ack { request: req, from });
    }

    pub(super) fn on_cancel(
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
            self.on_retransmission(now, id, out);
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
        let to_tag = match (self.servers.get(&invite_id), self.parked.get(invite_id)) {
            (Some(t), _) => t.skel.to_tag().to_owned(),
            (None, Some(p)) => p.skel.to_tag().to_owned(),
            (None, None) => self.ids.tag(),
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

    pub(super) fn apply_server(
        &mut self,
        id: u64,
        a: Actions,
        retransmit: bool,
        out: &mut impl Sink,
    ) {
        if a.send_trying()
            && let Some(tx) = self.servers.get_mut(&id)
        {
            let bytes = tx
                .skel
                .response_bytes(100, "Trying", None, false, &[], None);
            tx.last_response = Some(bytes.clone());
            let (t, l, d) = (tx.transport, tx.local, tx.target.address());
            Self::transmit(out, t, Some(l), d, bytes, None);
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
            Self::transmit(out, t, Some(l), d, b, None);
        }
        let Some(tx) = self.servers.get_mut(&id) else {
            return;
        };
        let lingering = tx.machine.final_status().is_some();
        Self::set_lingering(&mut self.lingering, &mut tx.lingering, lingering);
        if lingering {
            tx.machine.linger();
        }
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
            if let Some(tx) = self.servers.get_mut(&id) {
                Self::set_lingering(&mut self.lingering, &mut tx.lingering, false);
                self.server_keys.remove_hashed(tx.key_hash, id);
                self.servers.discard(&id);
            }
            if self.config.report_ends {
                self.up.push_back(Up::ServerEnded { tx: ServerTxId(id) });
            }
        } else {
            if let Some(at) = rearm {
                self.timers.schedule(at, TimerRef::Server(id));
            }
            if lingering {
                self.park(id);
            }
        }
    }

    /// A response to the request of server transaction `tx` (§8.2.6), with the layer's
    /// To tag for it (the same for every response of the transaction; none for 100).
    pub(crate) fn response(
        &self,
        tx: ServerTxId,
        status: u16,
    ) -> Result<ResponseBuilder, EndpointError> {
        let Some(t) = self.servers.get(&tx.0) else {
            // A parked transaction kept no rows to build from.
            return Err(match self.parked.get(tx.0) {
                Some(_) => EndpointError::RowsReleased,
                None => EndpointError::UnknownTransaction,
            });
        };
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
        let Some(t) = self.servers.get_mut(&tx.0) else {
            let p = self
                .parked
                .get_mut(tx.0)
                .ok_or(EndpointError::UnknownTransaction)?;
            if !(100..=699).contains(&status) {
                return Err(TransactionError::InvalidStatus(status).into());
            }
            // As for a shed skeleton below: the machine's refusal, else no rows.
            p.machine.on_tu_response(now, status)?;
            return Err(EndpointError::RowsReleased);
        };
        if !(100..=699).contains(&status) {
            return Err(TransactionError::InvalidStatus(status).into());
        }
        if t.skel.is_shed() {
            // After a final response: the machine refuses most responses itself (in
            // Accepted it would take another 2xx, which changes nothing in it, but the rows
            // to write one from are gone).
            t.machine.on_tu_response(now, status)?;
            return Err(EndpointError::RowsReleased);
        }
        let tag = (status != 100).then_some(t.skel.to_tag());
        let reason = crate::message::reason_phrase(status);
        // The rows and Content-Type come from the TU: checked before anything is written
        // (and before the machine hears of a response).
        let bytes =
            t.skel
                .checked_response_bytes(status, reason, tag, record_route, extra, body)?;
        let a = t.machine.on_tu_response(now, status)?;
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
        let Some(t) = self.servers.get_mut(&tx.0) else {
            return self.respond_parked(now, tx, response, keep, out);
        };
        let same_branch = response.via().and_then(|v| v.branch()) == t.skel.branch();
        let same_cseq = response.cseq() == t.skel.cseq();
        if !same_branch || !same_cseq {
            return Err(EndpointError::ResponseMismatch);
        }
        response.check().map_err(EndpointError::InvalidMessage)?;
        let a = t.machine.on_tu_response(now, response.status())?;
        self.response_accepted(tx, a, response.to_bytes(), keep, out)
    }

    /// [`TransactionLayer::respond`] on a parked transaction: only a further 2xx to an
    /// INVITE in Accepted is taken (RFC 6026 §7.1). It goes where the transaction's
    /// responses go if it kept that (over a connection); an INVITE in Accepted over UDP
    /// kept nowhere to send it (its TU re-sends the 2xx itself, §13.3.1.4), and says so.
    #[cold]
    fn respond_parked(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        response: Response,
        keep: bool,
        out: &mut impl Sink,
    ) -> Result<Responded, EndpointError> {
        let p = self
            .parked
            .get_mut(tx.0)
            .ok_or(EndpointError::UnknownTransaction)?;
        let same_branch = response.via().and_then(|v| v.branch()) == p.skel.branch();
        let same_cseq = response.cseq() == p.skel.cseq();
        if !same_branch || !same_cseq {
            return Err(EndpointError::ResponseMismatch);
        }
        response.check().map_err(EndpointError::InvalidMessage)?;
        let a = p.machine.on_tu_response(now, response.status())?;
        let r = &p.route;
        let (transport, local, destination) = (r.transport, r.local, r.target.address());
        let bytes = response.to_bytes();
        if transport.is_reliable() {
            // Kept for §18.2.2's fallback, as `response_accepted` keeps it.
            p.response = Some(Box::new(bytes.clone()));
            self.apply_parked(tx.0, a, false, out);
        } else {
            // Sent now; the TU keeps it if anything (§13.3.1.4).
            if a.transmit() {
                Self::transmit(
                    out,
                    transport,
                    Some(local),
                    destination,
                    bytes.clone(),
                    None,
                );
            }
            self.apply_parked(tx.0, a.without_transmit(), false, out);
        }
        Ok(Responded {
            bytes: keep.then_some(bytes),
            transport,
            local,
            destination,
        })
    }

    /// Carries out a response the machine of `tx` accepted (`a`): keeps it for
    /// retransmission where the transaction re-sends it, and sends it.
    pub(super) fn response_accepted(
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
        if t.machine.answered_for_good()
            || (self.config.tu_resends_2xx && t.machine.final_status().is_some())
        {
            // Only retransmissions of `last_response` are left (in Accepted, when the TU
            // re-sends its 2xx itself rather than through the transaction, RFC 6026 §7.1):
            // the copied rows go.
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
                Self::transmit(out, transport, Some(local), destination, bytes, None);
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
        if let Some(t) = self.servers.get(&tx.0) {
            return Some(ServerInfo {
                transport: t.transport,
                local: t.local,
                to_tag: t.skel.to_tag(),
            });
        }
        let p = self.parked.get(tx.0)?;
        Some(ServerInfo {
            transport: p.route.transport,
            local: p.route.local,
            to_tag: p.skel.to_tag(),
        })
    }

    /// The method of server transaction `tx`'s request (from its CSeq).
    pub(crate) fn server_method(&self, tx: ServerTxId) -> Option<&str> {
        match self.servers.get(&tx.0) {
            Some(t) => t.skel.cseq().map(|(_, m)| m),
            None => self.parked.get(tx.0)?.skel.cseq().map(|(_, m)| m),
        }
    }

    /// The state of an INVITE server transaction, if `tx` is one and alive.
    #[cfg(any(test, feature = "introspection"))]
    pub(crate) fn server_invite_state(
        &self,
        tx: ServerTxId,
    ) -> Option<crate::transaction::ServerInviteState> {
        let lingering = |m: &LingeringServer| match m.state() {
            LingerState::Accepted => Some(crate::transaction::ServerInviteState::Accepted),
            LingerState::Completed => None,
            LingerState::Terminated => Some(crate::transaction::ServerInviteState::Terminated),
        };
        let Some(t) = self.servers.get(&tx.0) else {
            return lingering(&self.parked.get(tx.0)?.machine);
        };
        match &t.machine {
            ServerMachine::Invite(m) => Some(m.state()),
            ServerMachine::NonInvite(_) => None,
            ServerMachine::Lingering(m) => lingering(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_machine_of_a_server_transaction_takes_no_more_than_the_non_invite_one() {
        // The INVITE machine is boxed and a lingering one is smaller than either, so the
        // slot every server transaction takes, lingering ones included, does not carry
        // the timers of the INVITE machine's five states.
        let machine = std::mem::size_of::<ServerMachine>();
        assert!(machine <= std::mem::size_of::<ServerNonInviteTransaction>() + 8);
        assert!(std::mem::size_of::<ServerInviteTransaction>() > machine);
    }

    #[test]
    pub(super) fn supported_schemes_are_read_from_the_text_before_the_first_colon() {
        // The rule as first written: the text before the first colon, compared ignoring case.
        let by_split = |u: &str| {
            let scheme = u.split(':').next().unwrap_or("");
            ["sip", "sips", "tel"]
                .iter()
                .any(|k| scheme.eq_ignore_ascii_case(k))
        };
        let schemes = [
            "sip", "SIP", "sIp", "sips", "SIPS", "tel", "TEL", "si", "sipx", "sipss", "te", "tell",
            "http", "mailto", "", "s", "ip",
        ];
        for s in schemes {
            for rest in [":bob@example.com", ":", ":+1-555", "::"] {
                let u = format!("{s}{rest}");
                assert_eq!(has_supported_scheme(&u), by_split(&u), "{u:?}");
            }
        }
        // Without a colon there is no scheme (the grammar check refuses such a URI first).
        assert!(!has_supported_scheme("sip"));
        assert!(!has_supported_scheme(""));
    }
}
