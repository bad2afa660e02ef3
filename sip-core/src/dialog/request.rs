//! Requests within a dialog (RFC 3261 §12.2): writing ours (§12.2.1.1: Request-URI and
//! Route rows from the route set, the next CSeq, our Contact on target refreshes) and where
//! they go, and taking the peer's (§12.2.2: the dialog found by its id, CSeq order, target
//! refresh, 481 for no dialog, RFC 5407's crossed BYE), and the outcome of the client
//! transactions that carry ours (§12.2.1.2: 481 and 408 end the dialog).

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;

use super::entry::{DialogEntry, is_target_refresh};
use super::layer::{DialogEnv, DialogEvent, DialogLayer, Usage};
use super::route::contact_target;
use super::{DialogError, DialogId, DialogState, EndReason, ReferEvent, ReferId};
use crate::message::uri::{Host, Uri};
use crate::message::{Method, Request, Response};
use crate::resolver::{Destination, DomainTarget};
use crate::transaction::layer::{ClientTxId, EndpointError, Failure, ServerTxId, Target, Up};
use crate::transport::Transport;

/// Most in-dialog next hops waiting to be resolved.
const MAX_HOPS_TO_RESOLVE: usize = 256;

impl DialogLayer {
    // ---- ours ------------------------------------------------------------------------

    /// Where an in-dialog request to `next_hop` goes (§12.2.1.1, §18.1.1): over the flow
    /// the dialog was set up on when the peer is behind a NAT or the next hop is not an
    /// address; else to the next hop's address, on the dialog's transport unless the URI
    /// names one. The flag says the next hop names a host to resolve (RFC 3263), so that
    /// only such hops are parsed again for the resolver.
    fn dialog_target(d: &DialogEntry, next_hop: &str) -> (Target, bool) {
        if d.prefer_flow && d.route_set.is_empty() {
            return (d.flow.clone(), false);
        }
        let Ok(uri) = Uri::parse(next_hop) else {
            return (d.flow.clone(), false);
        };
        let Some(sip) = uri.as_sip() else {
            return (d.flow.clone(), false);
        };
        let transport = sip.transport_kind().unwrap_or(if sip.is_secure() {
            Transport::Tls
        } else {
            d.flow.transport
        });
        let ip = match sip.maddr().and_then(crate::transport::parse_ip_literal) {
            Some(ip) => ip,
            None => match sip.host() {
                Host::Ipv4(a) => std::net::IpAddr::V4(*a),
                Host::Ipv6(a) => std::net::IpAddr::V6(*a),
                Host::Domain(_) => return (d.flow.clone(), true),
            },
        };
        let addr = SocketAddr::new(ip, sip.port().unwrap_or(transport.default_port()));
        if transport == d.flow.transport && addr == d.flow.addr {
            // The same hop as the flow: keep the domain its TLS server proved (RFC 5922 §4).
            return (d.flow.clone(), false);
        }
        (Target::new(transport, addr), false)
    }

    /// Where dialog `id`'s requests go now (§12.2.1.1), worked out once and kept until the
    /// route set or remote target changes.
    pub(super) fn next_hop(&mut self, id: u64) -> Option<Target> {
        let d = self.dialogs.get_mut(&id)?;
        let t = match &d.hop {
            Some(t) => t.clone(),
            None => {
                let next_hop = d.route_set.shape(&d.remote_target).next_hop;
                let (t, names_host) = Self::dialog_target(d, next_hop);
                // A host name goes over the flow for now, and to RFC 3263's first target
                // once the endpoint has resolved it (`resolved_hop`).
                if names_host
                    && self.hops_to_resolve.len() < MAX_HOPS_TO_RESOLVE
                    && let Ok(uri) = Uri::parse(next_hop)
                    && let Ok(Destination::Domain(dest)) = Destination::from_uri(&uri)
                {
                    self.hops_to_resolve
                        .push_back((DialogId(id), dest, next_hop.into()));
                }
                t
            }
        };
        d.hop = Some(t.clone());
        Some(t)
    }

    /// The next dialog whose next hop is a host name to resolve (RFC 3263, §12.2.1.1): its
    /// id, what to resolve, and the next hop's text (to check it is still the one).
    pub(crate) fn take_hop_to_resolve(&mut self) -> Option<(DialogId, DomainTarget, Box<str>)> {
        self.hops_to_resolve.pop_front()
    }

    /// The next hop `next_hop` of dialog `id` resolved to `target`: its requests go there
    /// from now on — unless the route set or remote target changed meanwhile.
    pub(crate) fn resolved_hop(&mut self, id: DialogId, next_hop: &str, target: Target) {
        if let Some(d) = self.dialogs.get_mut(&id.0)
            && d.route_set.shape(&d.remote_target).next_hop == next_hop
        {
            d.hop = Some(target);
        }
    }

    /// Writes an in-dialog request (§12.2.1.1) with its Via, straight to bytes. Returns the
    /// bytes, the branch, the next hop and the local address.
    pub(super) fn in_dialog_request(
        &mut self,
        id: u64,
        method: &Method,
        cseq: u32,
        extra: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
        env: &mut impl DialogEnv,
    ) -> Result<(Bytes, crate::rng::Branch, Target, SocketAddr), DialogError> {
        let target = self.next_hop(id).ok_or(DialogError::UnknownDialog)?;
        let mut via = std::mem::take(&mut self.scratch);
        let written =
            env.locals()
                .write_via(&mut via, &mut self.ids, target.transport, target.addr);
        let (branch, local) = match written {
            Ok(x) => x,
            Err(e) => {
                self.scratch = via;
                return Err(e.into());
            }
        };
        let bytes = self.write_in_dialog(id, method, cseq, extra, body, &via);
        self.scratch = via;
        Ok((bytes?, branch, target, local))
    }

    /// The text of an in-dialog request (§12.2.1.1) with `via` as its Via value.
    fn write_in_dialog(
        &self,
        id: u64,
        method: &Method,
        cseq: u32,
        extra: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
        via: &str,
    ) -> Result<Bytes, DialogError> {
        use crate::message::writer::RequestText;
        let d = self.dialogs.get(&id).ok_or(DialogError::UnknownDialog)?;
        let shape = d.route_set.shape(&d.remote_target);
        let bad = |_| {
            DialogError::Endpoint(EndpointError::Build(
                crate::message::BuildError::HeaderValue(method.to_string()),
            ))
        };
        // The exact size but for folds (a sent request is kept for retransmission, its
        // spare capacity with it).
        let rows = |it: &mut dyn Iterator<Item = usize>| it.sum::<usize>();
        let size = 2 * method.as_str().len()
            + shape.request_uri.len()
            + via.len()
            + rows(&mut shape.routes.iter().map(|r| r.len() + 9))
            + shape.last_route.map_or(0, |r| r.len() + 11)
            + d.local.len()
            + d.remote.len()
            + d.call_id.len()
            + d.local_contact.len()
            + rows(&mut extra.iter().map(|(n, v)| n.len() + v.len() + 4))
            + body.map_or(0, |(ct, b)| ct.len() + b.len() + 16)
            + 160;
        let mut t = RequestText::new(method.as_str(), shape.request_uri, size).map_err(bad)?;
        t.trusted("Via", via);
        t.trusted("Max-Forwards", "70");
        for r in shape.routes {
            t.header("Route", r).map_err(bad)?;
        }
        if let Some(last) = shape.last_route {
            t.header("Route", &format!("<{last}>")).map_err(bad)?;
        }
        // The dialog's own values are kept unfolded (and the TU's were checked when the
        // dialog began): written as they are unless one could not be cleaned.
        let row = |t: &mut RequestText, name: &str, value: &str| {
            if d.raw_text {
                t.header(name, value).map_err(bad)
            } else {
                t.trusted(name, value);
                Ok(())
            }
        };
        row(&mut t, "From", &d.local)?;
        row(&mut t, "To", &d.remote)?;
        row(&mut t, "Call-ID", &d.call_id)?;
        t.cseq(cseq, method.as_str());
        if is_target_refresh(method) {
            row(&mut t, "Contact", &d.local_contact)?;
        }
        for (n, v) in extra {
            if !crate::message::scan::is_token_str(n) {
                return Err(DialogError::Endpoint(EndpointError::Build(
                    crate::message::BuildError::HeaderName,
                )));
            }
            t.header(n, v).map_err(bad)?;
        }
        t.finish(body).map_err(bad)
    }

    /// Sends a request in a dialog with the next local CSeq (§12.2.1.1).
    pub(super) fn send_in_dialog(
        &mut self,
        now: Instant,
        id: u64,
        method: Method,
        extra: &[(&str, &str)],
        body: Option<(&str, Bytes)>,
        env: &mut impl DialogEnv,
    ) -> Result<ClientTxId, DialogError> {
        if !env.room() {
            return Err(EndpointError::TooManyTransactions.into());
        }
        let d = self
            .dialogs
            .get_mut(&id)
            .ok_or(DialogError::UnknownDialog)?;
        d.local_seq = d.local_seq.wrapping_add(1).max(1);
        let seq = d.local_seq;
        if method == Method::Invite {
            d.invite_cseq = seq;
        }
        let body_ref = body.as_ref().map(|(c, b)| (*c, &b[..]));
        let (bytes, branch, target, local) =
            self.in_dialog_request(id, &method, seq, extra, body_ref, env)?;
        Ok(env.start_client(now, method, branch.as_str(), bytes, target, Some(local))?)
    }

    /// Sends a request inside a confirmed dialog (INFO, MESSAGE, UPDATE, OPTIONS, ...;
    /// §12.2.1.1). Its responses arrive as dialog responses; a 481 or 408 ends the dialog
    /// (§12.2.1.2). INVITE, BYE and REFER have their own commands.
    pub(crate) fn send_request(
        &mut self,
        now: Instant,
        dialog: DialogId,
        method: Method,
        headers: &[(&str, &str)],
        body: Option<(&str, Bytes)>,
        env: &mut impl DialogEnv,
    ) -> Result<ClientTxId, DialogError> {
        if matches!(
            method,
            Method::Invite | Method::Bye | Method::Refer | Method::Ack | Method::Cancel
        ) {
            return Err(DialogError::WrongMethod);
        }
        let d = self.live_dialog(dialog)?;
        if d.state != DialogState::Confirmed
            && !(method == Method::Update && d.state == DialogState::Early)
        {
            return Err(DialogError::NotConfirmed);
        }
        // RFC 3311 §5.1: an UPDATE's session description is an offer.
        let offer = if method == Method::Update {
            self.outgoing_sdp(
                dialog.0,
                super::SdpMessage::Update,
                body.as_ref().map(|(c, b)| (*c, b)),
            )?
        } else {
            super::media_session::Outgoing::Nothing
        };
        let ctx = self.send_in_dialog(now, dialog.0, method, headers, body, env)?;
        self.usage.insert(ctx.0, Usage::Request(dialog.0));
        self.sent_sdp(dialog.0, offer, env);
        Ok(ctx)
    }

    /// Sends a BYE (§15.1.1), or says why it could not.
    pub(super) fn try_send_bye(
        &mut self,
        now: Instant,
        id: u64,
        env: &mut impl DialogEnv,
    ) -> Result<ClientTxId, DialogError> {
        let ctx = self.send_in_dialog(now, id, Method::Bye, &[], None, env)?;
        self.usage.insert(ctx.0, Usage::Bye(id));
        Ok(ctx)
    }

    /// Sends a BYE the endpoint decided on itself (after the ACK of our 2xx, when no ACK
    /// came, when a fork or a re-INVITE failed): if it cannot be sent, its
    /// [`DialogEvent::ByeCompleted`] says so at once, so every BYE of a hang-up reports an
    /// outcome.
    pub(super) fn send_bye(&mut self, now: Instant, id: u64, env: &mut impl DialogEnv) {
        if let Err(e) = self.try_send_bye(now, id, env) {
            tracing::debug!(dialog = id, error = %e, "BYE not sent");
            env.emit(DialogEvent::ByeCompleted {
                dialog: DialogId(id),
                outcome: Err(Failure::NotSent),
            });
        }
    }

    // ---- theirs ----------------------------------------------------------------------

    /// Routes a request that created a server transaction: to a dialog, a new call, a
    /// REFER, or (given back) the application as a plain request.
    pub(super) fn dispatch_request(
        &mut self,
        now: Instant,
        stx: ServerTxId,
        req: Box<Request>,
        from: SocketAddr,
        env: &mut impl DialogEnv,
    ) -> Option<Up> {
        if req.to().and_then(|t| t.tag()).is_some() {
            self.in_dialog_request_received(now, stx, req, env);
            return None;
        }
        match req.method() {
            Method::Invite => self.new_incoming_call(now, stx, req, from, env),
            Method::Refer => self.new_incoming_dialog_refer(now, stx, req, from, env),
            // Requests defined only within a dialog (BYE; PRACK, RFC 3262; UPDATE, RFC 3311;
            // INFO, RFC 6086), outside any: 481 as for an unknown dialog (§12.2.2, §15.1.2).
            Method::Bye | Method::Prack | Method::Update | Method::Info => {
                self.stats.unknown_dialog += 1;
                self.refuse(now, stx, 481, env);
            }
            _ => {
                return Some(Up::Request {
                    tx: stx,
                    request: req,
                    from,
                });
            }
        }
        None
    }

    fn in_dialog_request_received(
        &mut self,
        now: Instant,
        stx: ServerTxId,
        req: Box<Request>,
        env: &mut impl DialogEnv,
    ) {
        let to_tag = req.to().and_then(|t| t.tag()).unwrap_or("");
        let from_tag = req.from().and_then(|f| f.tag()).unwrap_or("");
        let call_id = req.call_id().unwrap_or("");
        let found = self.find_dialog(call_id, to_tag, from_tag).or_else(|| {
            // A NOTIFY may overtake the 2xx to an out-of-dialog REFER (RFC 3515 §2.4.4,
            // RFC 6665 §4.1.2.4): it creates the dialog on our side.
            (*req.method() == Method::Notify)
                .then(|| self.adopt_notify_dialog(call_id, to_tag, &req))
                .flatten()
        });
        let Some(id) = found else {
            // §12.2.2: no such dialog.
            self.stats.unknown_dialog += 1;
            return self.refuse(now, stx, 481, env);
        };
        let method = req.method().clone();
        if method == Method::Notify
            && self
                .dialogs
                .get(&id)
                .is_some_and(|d| d.state == DialogState::Trying)
        {
            self.set_state(now, id, DialogState::Confirmed, env);
        }
        // Found, but not live: an ended dialog's record (ended.rs), which answers as a
        // terminated dialog does below.
        let Some(d) = self.dialogs.get(&id) else {
            let code = if method == Method::Bye { 200 } else { 481 };
            return self.refuse(now, stx, code, env);
        };
        if let DialogState::Terminated(_) = d.state {
            // RFC 5407 §3.1.2: a BYE crossing ours gets 200, not 481.
            let code = if method == Method::Bye { 200 } else { 481 };
            return self.refuse(now, stx, code, env);
        }
        // §12.2.2: CSeq must grow.
        let cseq = req.cseq().map_or(0, |c| c.0);
        if d.remote_seq.is_some_and(|r| cseq < r) {
            return self.refuse(now, stx, 500, env);
        }
        let refresh = is_target_refresh(&method);
        self.heard(now, id);
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        d.remote_seq = Some(cseq.max(d.remote_seq.unwrap_or(0)));
        // RFC 6086 §5.2: a re-INVITE or UPDATE may change what the peer receives.
        if matches!(method, Method::Invite | Method::Update) {
            self.learn_peer_recv_info(id, &req);
        }
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        // RFC 6086 §4.2.2: an INFO for a package we do not receive gets 469.
        let d = if method == Method::Info && self.config.info_packages.is_some() {
            if !self.info_admitted(now, stx, &req, env) {
                return;
            }
            match self.dialogs.get_mut(&id) {
                Some(d) => d,
                None => return,
            }
        } else {
            d
        };
        match method {
            Method::Bye => {
                let _ = env.respond_written(now, stx, 200, false, &[], None, false);
                let Some(d) = self.dialogs.get_mut(&id) else {
                    return;
                };
                let pending = d.invite_stx.take();
                d.ok = None;
                if let Some(p) = pending
                    && let Ok(sent) = env.respond_written(now, p, 487, false, &[], None, false)
                {
                    self.responded(now, p, 487, &sent, env);
                }
                let state = DialogState::Terminated(EndReason::RemoteBye);
                self.set_state(now, id, state, env);
            }
            Method::Invite => {
                // §14.2: glare and overlapping re-INVITEs.
                if d.invite_ctx.is_some() {
                    return self.refuse(now, stx, 491, env);
                }
                if d.invite_stx.is_some() || d.ok.is_some() {
                    return self.refuse(now, stx, 500, env);
                }
                // RFC 4028 §9: a re-INVITE negotiates the session timer afresh; §14.2 /
                // RFC 3264 §4: an offer crossing one of ours gets 491, one we cannot read 488.
                let grant = match self.session_grant(&req) {
                    Ok(g) => g,
                    Err(why) => return self.refuse_session(now, stx, why, env),
                };
                if let Err(e) = self.incoming_sdp(id, super::SdpMessage::Invite, &req, env) {
                    return self.refuse_offer(now, id, stx, &e, env);
                }
                self.session_pending(id, grant);
                let Some(d) = self.dialogs.get_mut(&id) else {
                    return;
                };
                if let Some(c) = contact_target(&req) {
                    d.set_remote_target(c.into());
                }
                d.invite_stx = Some(stx);
                self.stx_dialog.insert(stx.0, id);
                env.emit(DialogEvent::Request {
                    dialog: DialogId(id),
                    tx: stx,
                    request: req,
                });
            }
            Method::Prack => self.prack_received(now, id, stx, &req, env),
            Method::Update => {
                // RFC 4028 §9: a session refresh without a body is the endpoint's own.
                if self.config.session_timers.enabled
                    && self.session_update_received(now, id, stx, &req, env)
                {
                    return;
                }
                // RFC 3311 §5.2: its offer checked against the session first.
                if !self.update_received(now, id, stx, &req, env) {
                    return;
                }
                if let Some(c) = contact_target(&req)
                    && let Some(d) = self.dialogs.get_mut(&id)
                {
                    d.set_remote_target(c.into());
                }
                env.emit(DialogEvent::Request {
                    dialog: DialogId(id),
                    tx: stx,
                    request: req,
                });
            }
            Method::Refer => self.incoming_refer(now, id, stx, req, env),
            Method::Notify
                if req
                    .event()
                    .and_then(Result::ok)
                    .is_some_and(|e| e.value.eq_ignore_ascii_case("refer")) =>
            {
                self.refer_notify(now, id, stx, &req, env);
            }
            _ => {
                if refresh && let Some(c) = contact_target(&req) {
                    d.set_remote_target(c.into());
                }
                env.emit(DialogEvent::Request {
                    dialog: DialogId(id),
                    tx: stx,
                    request: req,
                });
            }
        }
    }

    // ---- outcomes of our client transactions ------------------------------------------

    /// Routes a response of a client transaction to its dialog usage.
    pub(super) fn dispatch_response(
        &mut self,
        now: Instant,
        ctx: ClientTxId,
        resp: Box<Response>,
        env: &mut impl DialogEnv,
    ) {
        let Some(&usage) = self.usage.get(&ctx.0) else {
            return;
        };
        if let Some(id) = self.dialog_of_usage(usage) {
            self.heard(now, id);
        }
        match usage {
            Usage::Invite(id) => self.invite_response(now, ctx, id, resp, env),
            Usage::Request(id) => {
                self.update_response(now, ctx, id, &resp, env);
                // A 469 lists what the peer receives (RFC 6086 §4.2.2), an UPDATE's 2xx may.
                self.learn_peer_recv_info(id, &resp);
                let code = resp.status();
                env.emit(DialogEvent::Response {
                    dialog: DialogId(id),
                    tx: ctx,
                    response: resp,
                });
                self.end_on_481_408(now, id, code, env);
            }
            Usage::Bye(id) => {
                if resp.status() >= 200 {
                    env.emit(DialogEvent::ByeCompleted {
                        dialog: DialogId(id),
                        outcome: Ok(resp.status()),
                    });
                }
            }
            // The PRACK's answer is the endpoint's own business (RFC 3262 §4).
            Usage::Notify(_) | Usage::Prack(_) => {}
            Usage::SessionRefresh(id) => {
                if resp.status() >= 200 {
                    self.session_update_answered(now, id, &resp, env);
                }
            }
            Usage::Refer(rid) => self.refer_response(now, rid, &resp, env),
        }
    }

    pub(super) fn end_on_481_408(
        &mut self,
        now: Instant,
        id: u64,
        code: u16,
        env: &mut impl DialogEnv,
    ) {
        let reason = match code {
            481 => EndReason::Gone,
            408 => EndReason::Timeout,
            _ => return,
        };
        if self
            .dialogs
            .get(&id)
            .is_some_and(|d| d.state == DialogState::Confirmed)
        {
            if code == 408 {
                self.send_bye(now, id, env);
            }
            self.set_state(now, id, DialogState::Terminated(reason), env);
        }
    }

    /// A client transaction of a dialog usage failed (Timer B/F, transport); `false` if it
    /// is not the dialog layer's.
    pub(super) fn dispatch_failure(
        &mut self,
        now: Instant,
        ctx: ClientTxId,
        failure: Failure,
        env: &mut impl DialogEnv,
    ) -> bool {
        let Some(usage) = self.usage.remove(&ctx.0) else {
            return false;
        };
        self.reinvite_bodies.remove(&ctx.0);
        let reason = if failure == Failure::Timeout {
            EndReason::Timeout
        } else {
            EndReason::TransportError
        };
        match usage {
            Usage::Invite(id) => {
                let initial = self
                    .view(id)
                    .is_some_and(|d| d.state() != DialogState::Confirmed);
                if let Some(d) = self.dialogs.get_mut(&id) {
                    d.invite_ctx = None;
                }
                if initial {
                    let forks = self
                        .view(id)
                        .map(|d| d.forks().to_vec())
                        .unwrap_or_default();
                    for f in forks {
                        self.set_state(now, f, DialogState::Terminated(reason), env);
                    }
                    self.set_state(now, id, DialogState::Terminated(reason), env);
                } else {
                    self.send_bye(now, id, env);
                    self.set_state(now, id, DialogState::Terminated(reason), env);
                }
            }
            // An ended dialog sends nothing more (ended.rs).
            Usage::Request(id) | Usage::SessionRefresh(id) if self.is_ended_record(id) => {}
            Usage::Request(id) | Usage::SessionRefresh(id) => {
                self.send_bye(now, id, env);
                self.set_state(now, id, DialogState::Terminated(reason), env);
            }
            Usage::Bye(id) => env.emit(DialogEvent::ByeCompleted {
                dialog: DialogId(id),
                outcome: Err(failure),
            }),
            // A lost PRACK leaves the INVITE to its own fate (RFC 3262 §4).
            Usage::Notify(_) | Usage::Prack(_) => {}
            Usage::Refer(rid) => {
                if let Some(r) = self.refers.remove(&rid) {
                    env.emit(DialogEvent::Refer {
                        refer: ReferId(rid),
                        dialog: DialogId(r.dialog),
                        event: ReferEvent::Rejected(408),
                    });
                }
            }
        }
        true
    }
}
