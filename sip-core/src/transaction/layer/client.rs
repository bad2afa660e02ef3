//! A client transaction as the layer keeps it (RFC 3261 §17.1): its machine, the request
//! as sent, and what only some transactions need (CANCEL, the ACK of a non-2xx).

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;

use super::ClientTxId;
use crate::message::{Method, Span};
use crate::transaction::{Actions, ClientInviteTransaction, ClientNonInviteTransaction};
use crate::transport::{TlsServerName, Transport};

#[derive(Debug)]
pub(super) enum ClientMachine {
    Invite(ClientInviteTransaction),
    NonInvite(ClientNonInviteTransaction),
}

impl ClientMachine {
    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        match self {
            ClientMachine::Invite(m) => m.poll_timeout(),
            ClientMachine::NonInvite(m) => m.poll_timeout(),
        }
    }
    pub(super) fn handle_timeout(&mut self, now: Instant) -> Actions {
        match self {
            ClientMachine::Invite(m) => m.handle_timeout(now),
            ClientMachine::NonInvite(m) => m.handle_timeout(now),
        }
    }
    pub(super) fn on_response(&mut self, now: Instant, status: u16) -> Actions {
        match self {
            ClientMachine::Invite(m) => m.on_response(now, status),
            ClientMachine::NonInvite(m) => m.on_response(now, status),
        }
    }
    pub(super) fn on_transport_error(&mut self, now: Instant) -> Actions {
        match self {
            ClientMachine::Invite(m) => m.on_transport_error(now),
            ClientMachine::NonInvite(m) => m.on_transport_error(now),
        }
    }
    /// Whether a final response arrived and the transaction only absorbs its
    /// retransmissions until Timer D, K or M ends it.
    pub(super) fn is_lingering(&self) -> bool {
        use crate::transaction::{ClientInviteState as I, ClientNonInviteState as N};
        match self {
            ClientMachine::Invite(m) => matches!(m.state(), I::Completed | I::Accepted),
            ClientMachine::NonInvite(m) => m.state() == N::Completed,
        }
    }
}

/// CANCEL bookkeeping of an INVITE client transaction (§9.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum CancelState {
    #[default]
    None,
    /// Requested before any provisional response: sent when one arrives.
    Pending(ClientTxId),
    Sent,
}

#[derive(Debug)]
pub(super) struct ClientTx {
    /// Where the top Via branch is in `bytes`: with `method`, the key of the transaction
    /// (§17.1.3); it is filed under the branch in `client_keys`.
    pub(super) branch: Span,
    /// The hash of the branch in `client_keys` (so that removal need not hash it again).
    pub(super) branch_hash: u64,
    pub(super) method: Method,
    pub(super) machine: ClientMachine,
    /// The request as sent (parsed again on the rare paths that need its fields: the ACK
    /// for a non-2xx, CANCEL, a digest retry).
    pub(super) bytes: Bytes,
    pub(super) transport: Transport,
    pub(super) source: Option<SocketAddr>,
    pub(super) destination: SocketAddr,
    /// The domain a TLS server must prove (RFC 5922 §4), from the target.
    pub(super) server_name: Option<TlsServerName>,
    /// The WebSocket URI a new connection is opened with, from the target.
    pub(super) ws_url: Option<crate::transport::websocket::WsUrl>,
    /// What only some transactions need, allocated the first time one does: most
    /// transactions are never cancelled or answered with a non-2xx.
    pub(super) extra: Option<Box<ClientExtra>>,
    pub(super) armed: Option<Instant>,
    /// Counted as lingering: its final response arrived.
    pub(super) lingering: bool,
}

/// The rarely used part of a client transaction.
#[derive(Debug, Default)]
pub(super) struct ClientExtra {
    /// The ACK for a 3xx–6xx final response, kept to answer its retransmissions (§17.1.1.3).
    pub(super) ack: Option<Bytes>,
    pub(super) cancel: CancelState,
    /// §9.1: once a CANCEL is sent, the INVITE gives up 64·T1 later if no final response
    /// (normally a 487) has come.
    pub(super) cancel_deadline: Option<Instant>,
}

impl ClientTx {
    /// The branch of the request's top Via.
    pub(super) fn branch(&self) -> &[u8] {
        self.bytes
            .get(self.branch.start as usize..self.branch.end as usize)
            .unwrap_or_default()
    }

    pub(super) fn extra_mut(&mut self) -> &mut ClientExtra {
        self.extra.get_or_insert_with(Default::default)
    }

    pub(super) fn ack(&self) -> Option<&Bytes> {
        self.extra.as_ref().and_then(|e| e.ack.as_ref())
    }

    pub(super) fn cancel(&self) -> CancelState {
        self.extra.as_ref().map_or(CancelState::None, |e| e.cancel)
    }

    pub(super) fn cancel_deadline(&self) -> Option<Instant> {
        self.extra.as_ref().and_then(|e| e.cancel_deadline)
    }
}

// ---- the client side of the layer: requests out, responses in (§17.1, §18.1) ---------

use super::*;

impl TransactionLayer {
    pub(super) fn on_response(
        &mut self,
        now: Instant,
        from: SocketAddr,
        resp: Box<Response>,
        out: &mut impl Sink,
    ) {
        let checked = if self.config.parse.mode == crate::message::Mode::Strict {
            crate::message::validate::check_response_strict(&resp)
        } else {
            resp.check()
        };
        if checked.is_err() {
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

    /// The client transaction a response with this top Via branch and CSeq method
    /// belongs to (§17.1.3).
    pub(super) fn find_client(&self, branch: &str, method: &str) -> Option<u64> {
        let clients = &self.clients;
        // Filed by branch alone (it is unique but for an INVITE and its CANCEL): one hash
        // write; the comparison settles the method.
        self.client_keys.find(&[branch], |id| {
            clients
                .get(&id)
                .is_some_and(|t| t.branch() == branch.as_bytes() && t.method.as_str() == method)
        })
    }

    pub(super) fn apply_client(
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
        let server_name = tx.server_name.clone();
        let ws_url = tx.ws_url.clone();
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
        let lingering = tx.machine.is_lingering();
        Self::set_lingering(&mut self.lingering, &mut tx.lingering, lingering);
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
            target: Target {
                server_name: tx.server_name.clone(),
                ws_url: tx.ws_url.clone(),
                ..Target::new(transport, dest)
            },
        });
        self.rearmed(old, next, TimerRef::Client(id));
        if let Some(cid) = held_cancel {
            // The INVITE ended before any provisional: the CANCEL is never sent (§9.1).
            self.clients.discard(&cid.0);
            self.up.push_back(Up::ClientFailed {
                tx: cid,
                failure: Failure::NotSent,
            });
        }
        for b in sends.into_iter().flatten() {
            self.stats.retransmissions += u64::from(retransmit);
            Self::transmit_request(
                out,
                transport,
                source,
                dest,
                b,
                server_name.clone(),
                ws_url.clone(),
            );
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
    pub(super) fn forget_client(&mut self, id: u64) {
        if let Some(tx) = self.clients.get_mut(&id) {
            let hash = tx.branch_hash;
            Self::set_lingering(&mut self.lingering, &mut tx.lingering, false);
            self.client_keys.remove_hashed(hash, id);
            self.clients.discard(&id);
            if self.config.report_ends {
                self.up.push_back(Up::ClientEnded { tx: ClientTxId(id) });
            }
        }
    }

    /// Ends a client transaction from outside its machine (the §9.1 CANCEL deadline).
    pub(super) fn fail_client(&mut self, id: u64, failure: Failure) {
        self.up.push_back(Up::ClientFailed {
            tx: ClientTxId(id),
            failure,
        });
        self.forget_client(id);
    }

    /// Writes our Via value (see [`Locals::write_via`]) into `out`, with a branch drawn
    /// from this layer's generator.
    pub(super) fn write_local_via(
        &mut self,
        out: &mut String,
        transport: Transport,
        dest: SocketAddr,
    ) -> Result<(crate::rng::Branch, SocketAddr), EndpointError> {
        self.locals.write_via(out, &mut self.ids, transport, dest)
    }

    /// The request client transaction `tx` sent, top Via included (while it is alive).
    pub(crate) fn client_bytes(&self, tx: ClientTxId) -> Option<Bytes> {
        self.clients.get(&tx.0).map(|t| t.bytes.clone())
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
        self.start_client(
            now,
            method,
            branch.as_str(),
            bytes.unwrap_or_default(),
            target,
            Some(local),
            out,
        )
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
    ) -> Result<ClientTxId, EndpointError> {
        let serial = self.alloc_id();
        let id = self
            .clients
            .next_id(serial)
            .ok_or(EndpointError::TooManyTransactions)?;
        self.start_client_as(now, id, method, branch, bytes, target, source, out);
        Ok(ClientTxId(id))
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn start_client_as(
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
        let filed = self.clients.insert_with(id, || ClientTx {
            branch: branch_span,
            branch_hash,
            method,
            machine,
            bytes,
            transport: target.transport,
            source,
            destination: target.addr,
            server_name: target.server_name,
            ws_url: target.ws_url,
            extra: None,
            armed: None,
            lingering: false,
        });
        debug_assert!(filed, "the id came from next_id or reserve");
        if !filed {
            return;
        }
        self.client_keys.insert_new(branch_hash, id);
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
        Self::transmit_request(
            out,
            target.transport,
            Some(local),
            target.addr,
            ack.to_bytes(),
            target.server_name,
            target.ws_url,
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
        match state {
            S::Calling => {
                // The CANCEL waits for a provisional response; its id is the TU's now.
                let serial = self.alloc_id();
                let cid = self
                    .clients
                    .reserve(serial)
                    .ok_or(EndpointError::TooManyTransactions)?;
                let cid = ClientTxId(cid);
                if let Some(tx) = self.clients.get_mut(&invite.0) {
                    tx.extra_mut().cancel = CancelState::Pending(cid);
                }
                Ok(cid)
            }
            S::Proceeding => {
                let serial = self.alloc_id();
                let cid = self
                    .clients
                    .next_id(serial)
                    .ok_or(EndpointError::TooManyTransactions)?;
                self.start_cancel(now, invite.0, ClientTxId(cid), out);
                Ok(ClientTxId(cid))
            }
            _ => Err(EndpointError::CancelTooLate),
        }
    }

    pub(super) fn start_cancel(
        &mut self,
        now: Instant,
        invite_id: u64,
        cid: ClientTxId,
        out: &mut impl Sink,
    ) {
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
        let target = Target {
            server_name: tx.server_name.clone(),
            ws_url: tx.ws_url.clone(),
            ..Target::new(tx.transport, tx.destination)
        };
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
}
