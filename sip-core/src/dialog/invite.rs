//! INVITE sessions (RFC 3261 §13–§15): placing a call and following its responses (forks,
//! the ACK for each 2xx and its re-sending, §13.2.2.4), answering one (the 2xx retransmitted
//! until its ACK, §13.3.1.4), re-INVITEs and their glare (§14), hanging up (BYE, CANCEL or
//! a decline, §15, §9), and CANCEL received (§9.2).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use super::ended::DialogRef;
use super::entry::{DialogEntry, OkRetransmit, header_text, with_tag};
use super::layer::{Body, DialogEnv, DialogEvent, DialogLayer, Usage};
use super::media_session::Outgoing;
use super::offer_answer::SdpMessage;
use super::route::contact_target;
use super::{DialogError, DialogId, DialogState, EndReason, Role, RouteSet};
use crate::message::uri::Uri;
use crate::message::{Method, Request, RequestBuilder, Response};
use crate::transaction::layer::{ClientTxId, EndpointError, Responded, ServerTxId, Target};

/// Options for placing a call (`Endpoint::invite`) or sending a REFER outside a dialog.
#[derive(Debug, Clone, Default)]
pub struct InviteOptions {
    /// Request-URI (`sip:bob@192.0.2.2`).
    pub uri: String,
    /// From, without tag (`"Alice" <sip:alice@example.com>`).
    pub from: String,
    /// To (`<sip:bob@example.com>`).
    pub to: String,
    /// Contact; by default `<sip:` + the local address (+ `;transport=` for non-UDP) + `>`.
    pub contact: Option<String>,
    /// Body and its Content-Type (an SDP offer).
    pub body: Option<(String, Bytes)>,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The next hop; by default read from the first Route or the Request-URI (IP only).
    pub target: Option<Target>,
    /// With no offer in `body`: the capabilities to answer an offer the 2xx carries, in
    /// the ACK (a late offer, RFC 3261 §13.2.2.4; needs `EndpointConfig::offer_answer`).
    pub late_offer: Option<Box<crate::sdp::negotiate::LocalMedia>>,
}

impl InviteOptions {
    /// Options for an INVITE to `uri` from `from` to `to`.
    pub fn new(uri: impl Into<String>, from: impl Into<String>, to: impl Into<String>) -> Self {
        InviteOptions {
            uri: uri.into(),
            from: from.into(),
            to: to.into(),
            ..Default::default()
        }
    }
    /// Sent without an offer: an offer in the 2xx is answered from `caps` in the ACK
    /// (RFC 3261 §13.2.2.4, see `late_offer.rs`).
    pub fn late_offer(mut self, caps: crate::sdp::negotiate::LocalMedia) -> Self {
        self.late_offer = Some(Box::new(caps));
        self
    }
    /// With a body.
    pub fn body(mut self, content_type: &str, body: impl Into<Bytes>) -> Self {
        self.body = Some((content_type.to_owned(), body.into()));
        self
    }
    /// With an explicit next hop.
    pub fn target(mut self, t: Target) -> Self {
        self.target = Some(t);
        self
    }
    /// With an extra header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// The next hop of a new out-of-dialog request: the TU's explicit target, else the
/// Request-URI's, else (only when the TU pre-loaded a Route, §8.1.2) the first Route of a
/// draft of the request.
pub(super) fn first_hop(opts: &InviteOptions, b: &RequestBuilder) -> Result<Target, DialogError> {
    if let Some(t) = &opts.target {
        return Ok(t.clone());
    }
    let preloaded = opts
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("route"));
    match Uri::parse(&opts.uri) {
        Ok(uri) if !preloaded => Ok(Target::from_uri(&uri)?),
        _ => Ok(Target::for_request(&b.clone().build()?)?),
    }
}

/// Headers a URI may not set on the request made from it (RFC 3261 §19.1.5): the ones the
/// request's own identity, routing and framing are made of.
const URI_HEADERS_REFUSED: &[&str] = &[
    "via",
    "from",
    "to",
    "call-id",
    "cseq",
    "contact",
    "max-forwards",
    "content-length",
    "content-type",
    "record-route",
    "route",
    "body",
];

/// RFC 3261 §19.1.5: the headers of the SIP URI a request is made from (`?Replaces=...` in
/// the Refer-To of an attended transfer, RFC 3891 §5) become headers of the request, and
/// the Request-URI carries none. Those in [`URI_HEADERS_REFUSED`] are dropped.
pub(super) fn take_uri_headers(opts: &mut InviteOptions) {
    let Some(q) = memchr::memchr(b'?', opts.uri.as_bytes()) else {
        return; // the common case: a plain URI, one scan
    };
    let rows: Vec<(String, String)> = {
        let Ok(uri) = Uri::parse(&opts.uri) else {
            return; // left to the builder, which reports it
        };
        let Some(sip) = uri.as_sip() else {
            return;
        };
        sip.headers()
            .filter_map(|(n, v)| {
                let n = crate::message::escape::unescape(n).ok()?;
                let v = crate::message::escape::unescape(v).ok()?;
                let refused = URI_HEADERS_REFUSED
                    .iter()
                    .any(|r| n.eq_ignore_ascii_case(r));
                (!refused && crate::message::scan::is_token_str(&n))
                    .then(|| (n.into_owned(), v.into_owned()))
            })
            .collect()
    };
    opts.uri.truncate(q);
    opts.headers.extend(rows);
}

impl DialogLayer {
    // ---- UAC: calls ----------------------------------------------------------------

    /// Places a call: sends an INVITE in a new client transaction and returns the dialog
    /// handle at once (see `Endpoint::invite`).
    pub(crate) fn invite(
        &mut self,
        now: Instant,
        opts: InviteOptions,
        env: &mut impl DialogEnv,
    ) -> Result<DialogId, DialogError> {
        self.invite_as(now, None, opts, env)
    }

    /// An id for a call whose next hop is still being resolved (RFC 3263):
    /// [`DialogLayer::invite_as`] takes it.
    pub(crate) fn reserve_id(&mut self) -> DialogId {
        DialogId(self.alloc_id())
    }

    /// [`DialogLayer::invite`] under an id [reserved](DialogLayer::reserve_id) earlier, or
    /// a new one.
    pub(crate) fn invite_as(
        &mut self,
        now: Instant,
        reserved: Option<DialogId>,
        mut opts: InviteOptions,
        env: &mut impl DialogEnv,
    ) -> Result<DialogId, DialogError> {
        if !self.room() {
            return Err(DialogError::TooManyDialogs);
        }
        take_uri_headers(&mut opts);
        if let Some(recv) = self.recv_info() {
            opts.headers.push((super::info::RECV_INFO.to_owned(), recv));
        }
        let session = self.session_for_invite(&mut opts);
        if self.config.session_timers.enabled {
            // RFC 4028 §7.4: the peer may refresh by UPDATE if we allow it.
            opts.headers
                .push(("Allow".to_owned(), self.config.allow.to_string()));
        }
        if self.config.prack.enabled() {
            // RFC 3262 §4: the UAC says it can PRACK.
            opts.headers
                .push(("Supported".to_owned(), super::prack::TAG.to_owned()));
        }
        // Our offer, checked before anything is sent (no dialog yet: id 0 is never one).
        let offer = self.outgoing_sdp(
            0,
            SdpMessage::Invite,
            opts.body.as_ref().map(|(c, b)| (c.as_str(), b)),
        )?;
        let call_id = self.ids.call_id(None);
        let tag = self.ids.tag();
        let late = opts.late_offer.take().filter(|_| opts.body.is_none());
        let (ctx, target, contact) = match self.invite_written(now, &opts, &call_id, &tag, env)? {
            Some(sent) => sent,
            None => self.invite_built(now, &opts, &call_id, &tag, env)?,
        };
        let id = match reserved {
            Some(r) => r.0,
            None => self.alloc_id(),
        };
        self.dialogs.insert(
            id,
            Box::new(DialogEntry {
                invite_ctx: Some(ctx),
                invite_cseq: 1,
                session,
                ..DialogEntry::uac(call_id, &tag, opts, contact, target)
            }),
        );
        self.usage.insert(ctx.0, Usage::Invite(id));
        self.sent_sdp(id, offer, env);
        self.expect_late_offer(id, late);
        Ok(DialogId(id))
    }

    /// The INVITE of [`DialogLayer::invite`] through the request builder: any extra headers,
    /// a pre-loaded Route, and every error the builder reports.
    pub(super) fn invite_built(
        &mut self,
        now: Instant,
        opts: &InviteOptions,
        call_id: &str,
        tag: &str,
        env: &mut impl DialogEnv,
    ) -> Result<(ClientTxId, Target, Arc<str>), DialogError> {
        let mut b = Request::builder(Method::Invite, &opts.uri)
            .max_forwards(70)
            .from(&opts.from, Some(tag))
            .to(&opts.to, None)
            .call_id(call_id)
            .cseq(1);
        for (n, v) in &opts.headers {
            b = b.header(n, v);
        }
        let target = first_hop(opts, &b)?;
        let contact = match &opts.contact {
            Some(c) => Arc::from(c.as_str()),
            None => env.locals().contact(target.transport, target.addr)?,
        };
        b = b.contact(&contact);
        if let Some((ct, body)) = &opts.body {
            b = b.body(ct, body.clone());
        }
        let req = b.build()?;
        let ctx = env.send_request(now, req, target.clone())?;
        Ok((ctx, target, contact))
    }

    /// The INVITE of [`DialogLayer::invite`] written straight to bytes, the common case: no
    /// extra headers, the next hop from the Request-URI (or given). The TU's values are
    /// checked as the builder checks them; `Ok(None)` leaves anything else — including
    /// every input the builder would refuse — to [`DialogLayer::invite_built`], which
    /// reports it. Same seed, same bytes as the builder's INVITE.
    pub(super) fn invite_written(
        &mut self,
        now: Instant,
        opts: &InviteOptions,
        call_id: &str,
        tag: &str,
        env: &mut impl DialogEnv,
    ) -> Result<Option<(ClientTxId, Target, Arc<str>)>, DialogError> {
        if !opts.headers.is_empty() || !crate::message::request_uri_ok(&opts.uri) {
            return Ok(None);
        }
        let target = match &opts.target {
            Some(t) => t.clone(),
            None => match Uri::parse(&opts.uri).map(|u| Target::from_uri(&u)) {
                Ok(Ok(t)) => t,
                _ => return Ok(None),
            },
        };
        let contact = match &opts.contact {
            Some(c) => Arc::from(c.as_str()),
            None => match env.locals().contact(target.transport, target.addr) {
                Ok(c) => c,
                Err(_) => return Ok(None),
            },
        };
        if !env.room() {
            return Ok(None);
        }
        // The rows after Via, in the builder's order.
        let body = opts.body.as_ref().map(|(ct, b)| (ct.as_str(), &b[..]));
        let mut rows =
            crate::message::CheckedRows::new(256 + opts.from.len() + opts.to.len() + contact.len());
        rows.trusted("Max-Forwards", &["70"]);
        let mut ok = rows.checked("From", &[&opts.from, ";tag=", tag]);
        ok = ok && rows.checked("To", &[&opts.to]);
        rows.trusted("Call-ID", &[call_id]);
        rows.trusted("CSeq", &["1 INVITE"]);
        ok = ok && rows.checked("Contact", &[&contact]);
        if let Some((ct, _)) = body {
            ok = ok && rows.checked("Content-Type", &[ct]);
        }
        if !ok {
            return Ok(None);
        }
        let mut via = std::mem::take(&mut self.scratch);
        let written =
            env.locals()
                .write_via(&mut via, &mut self.ids, target.transport, target.addr);
        let body = body.map_or(&[][..], |(_, b)| b);
        let mut text = String::with_capacity(
            opts.uri.len() + via.len() + rows.as_str().len() + 64 + body.len(),
        );
        text.push_str("INVITE ");
        text.push_str(&opts.uri);
        text.push_str(" SIP/2.0\r\nVia: ");
        text.push_str(&via);
        text.push_str("\r\n");
        self.scratch = via;
        let (branch, local) = written?;
        text.push_str(rows.as_str());
        text.push_str("Content-Length: ");
        crate::text::push_uint(&mut text, body.len());
        text.push_str("\r\n\r\n");
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(body);
        let ctx = env.start_client(
            now,
            Method::Invite,
            branch.as_str(),
            Bytes::from(bytes),
            target.clone(),
            Some(local),
        )?;
        Ok(Some((ctx, target, contact)))
    }

    /// Sends a re-INVITE (a target refresh, possibly with a new offer; §14.1). Refused while
    /// another INVITE transaction of the dialog is pending, either way.
    pub(crate) fn reinvite(
        &mut self,
        now: Instant,
        dialog: DialogId,
        body: Option<(&str, Bytes)>,
        env: &mut impl DialogEnv,
    ) -> Result<ClientTxId, DialogError> {
        let d = self.live_dialog(dialog)?;
        if d.state != DialogState::Confirmed {
            return Err(DialogError::NotConfirmed);
        }
        if d.invite_ctx.is_some() || d.invite_stx.is_some() || d.ok.is_some() {
            return Err(DialogError::InvitePending);
        }
        let offer = self.outgoing_sdp(
            dialog.0,
            SdpMessage::Invite,
            body.as_ref().map(|(c, b)| (*c, b)),
        )?;
        let keep = body
            .as_ref()
            .map(|(c, b)| (Box::<str>::from(*c), b.clone()));
        // RFC 4028 §7.4: every re-INVITE of a dialog with a session timer refreshes it.
        let rows = self.session_request_rows(dialog.0);
        let extra: Vec<(&str, &str)> = rows
            .iter()
            .flatten()
            .map(|(n, v)| (*n, v.as_str()))
            .collect();
        self.session_sent_body(dialog.0, body.as_ref().map(|(c, b)| (*c, b)));
        let ctx = self.send_in_dialog(now, dialog.0, Method::Invite, &extra, body, env)?;
        if let Some(d) = self.dialogs.get_mut(&dialog.0) {
            d.invite_ctx = Some(ctx);
        }
        self.sent_sdp(dialog.0, offer, env);
        self.reinvite_bodies.insert(ctx.0, keep);
        self.usage.insert(ctx.0, Usage::Invite(dialog.0));
        Ok(ctx)
    }

    /// Hangs up, whatever the call's state: a confirmed dialog gets BYE (§15.1.1; the UAS
    /// waits for the ACK of its 2xx first, §15); an outgoing call not yet answered is
    /// cancelled (§9.1); an incoming call not yet answered is declined with 603.
    pub(crate) fn hangup(
        &mut self,
        now: Instant,
        dialog: DialogId,
        env: &mut impl DialogEnv,
    ) -> Result<(), DialogError> {
        let d = self.live_dialog(dialog)?;
        let id = dialog.0;
        match (d.role, d.state) {
            (Role::Uac, DialogState::Trying | DialogState::Early) => {
                let root = d.parent.unwrap_or(id);
                let ctx = self
                    .dialogs
                    .get(&root)
                    .and_then(|r| r.invite_ctx)
                    .ok_or(DialogError::NotConfirmed)?;
                if let Some(r) = self.dialogs.get_mut(&root) {
                    r.hangup_requested = true;
                }
                match env.cancel(now, ctx) {
                    Ok(_) | Err(EndpointError::AlreadyCancelled) => Ok(()),
                    Err(e) => Err(e.into()),
                }
            }
            (Role::Uas, DialogState::Trying | DialogState::Early) => {
                self.answer(now, dialog, 603, None, env)
            }
            (_, DialogState::Confirmed) => self.end_confirmed(now, id, EndReason::LocalBye, env),
            (_, DialogState::Terminated(r)) => Err(DialogError::Terminated(r)),
        }
    }

    /// Ends confirmed dialog `id` with BYE (§15.1.1) for `reason`: at once, or, while our
    /// 2xx still waits for its ACK, once the ACK comes (or 64·T1 passes, §15).
    pub(super) fn end_confirmed(
        &mut self,
        now: Instant,
        id: u64,
        reason: EndReason,
        env: &mut impl DialogEnv,
    ) -> Result<(), DialogError> {
        let d = self
            .dialogs
            .get_mut(&id)
            .ok_or(DialogError::UnknownDialog)?;
        if d.ok.is_some() {
            d.bye_after_ack = true;
        } else {
            let sent = self.try_send_bye(now, id, env);
            if reason != EndReason::LocalBye
                && let Err(e) = &sent
            {
                // Nobody asked for this BYE: its failure is reported as an outcome, and
                // the dialog ends all the same.
                tracing::debug!(dialog = id, error = %e, "BYE not sent");
                env.emit(DialogEvent::ByeCompleted {
                    dialog: DialogId(id),
                    outcome: Err(crate::transaction::layer::Failure::NotSent),
                });
            } else {
                sent?;
            }
        }
        self.set_state(now, id, DialogState::Terminated(reason), env);
        Ok(())
    }

    // ---- UAS: calls ----------------------------------------------------------------

    /// The server transaction of the INVITE (new call or re-INVITE) that `dialog` has still
    /// to answer with a final response.
    pub(crate) fn invite_to_answer(&self, dialog: DialogId) -> Result<ServerTxId, DialogError> {
        let d = self.live_dialog(dialog)?;
        if d.role != Role::Uas && d.invite_stx.is_none() {
            return Err(DialogError::WrongRole);
        }
        d.invite_stx.ok_or(DialogError::AlreadyAnswered)
    }

    /// Answers an incoming INVITE (new call or re-INVITE): 1xx rings (with a To tag: the
    /// early dialog, §12.1.1), 2xx accepts (retransmitted until the ACK, §13.3.1.4), 3xx–6xx
    /// rejects. The Contact and the Record-Route rows are added as §12.1.1 says.
    pub(crate) fn answer(
        &mut self,
        now: Instant,
        dialog: DialogId,
        status: u16,
        body: Option<(&str, Bytes)>,
        env: &mut impl DialogEnv,
    ) -> Result<(), DialogError> {
        let stx = self.invite_to_answer(dialog)?;
        let d = self.live_dialog(dialog)?;
        if !(100..=699).contains(&status) {
            return Err(DialogError::BadStatus(status));
        }
        let contact = d.local_contact.clone();
        let is_initial = d.state != DialogState::Confirmed;
        // Only a call that uses 100rel pays for its steps below (RFC 3262).
        let prack = d.prack.is_some();
        // §12.1.1: a dialog-creating response carries our Contact and the Record-Route rows.
        let dialog_creating = (101..300).contains(&status);
        // RFC 4028 §9: a 2xx carries the session interval granted.
        let session = (200..300)
            .contains(&status)
            .then(|| self.session_response_rows(dialog.0))
            .flatten();
        let recv_info = (200..300)
            .contains(&status)
            .then(|| self.recv_info())
            .flatten();
        // RFC 3262 §3: a reliable provisional response (one at a time), or a 2xx held until
        // the PRACK of the offer a reliable one carried.
        let step = if prack {
            self.reliable_step(dialog.0, status, &body)?
        } else {
            super::prack_flow::Step::Unreliable
        };
        let reliable = match step {
            super::prack_flow::Step::Unreliable => None,
            super::prack_flow::Step::Reliable(n) => Some(n),
            super::prack_flow::Step::Held => return Ok(()),
        };
        let mut rseq_text = itoa::Buffer::new();
        let rseq = reliable.map(|n| rseq_text.format(n));
        // At most eight rows, on the stack: no allocation per response.
        let mut rows: [(&str, &str); 8] = [("", ""); 8];
        let mut n = 0;
        let mut push = |row| {
            rows[n] = row;
            n += 1;
        };
        if dialog_creating {
            push(("Contact", &contact));
        }
        if let Some((se, require)) = &session {
            push(("Session-Expires", se));
            if *require {
                push(("Require", "timer"));
            }
            push(("Supported", "timer"));
            push(("Allow", &self.config.allow));
        }
        if let Some(r) = &recv_info {
            push((super::info::RECV_INFO, r));
        }
        if let Some(r) = rseq {
            push(("Require", super::prack::TAG));
            push(("RSeq", r));
        }
        let extra: &[(&str, &str)] = &rows[..n];
        let body_ref = body.as_ref().map(|(ct, b)| (*ct, &b[..]));
        let is_2xx = (200..300).contains(&status);
        let keep = is_2xx || reliable.is_some();
        let record_route = dialog_creating && is_initial;
        let sdp = if is_2xx && prack && self.answered_reliably(dialog.0) {
            // RFC 3262 §5 / RFC 6337 §3.1: the answer already went in a reliable 1xx; the
            // 2xx's body repeats it and is no new offer.
            Outgoing::Nothing
        } else if is_2xx || reliable.is_some() {
            let m = if is_2xx {
                SdpMessage::Success
            } else {
                SdpMessage::ReliableProvisional
            };
            self.outgoing_sdp(dialog.0, m, body.as_ref().map(|(c, b)| (*c, b)))?
        } else {
            Outgoing::Nothing
        };
        let offer = matches!(sdp, Outgoing::Offer(..));
        let sent = env.respond_written(now, stx, status, record_route, extra, body_ref, keep)?;
        if let Some(n) = reliable {
            self.reliable_sent(now, dialog.0, n, offer, &sent);
        } else if status >= 200 && prack {
            self.final_sent(dialog.0);
        }
        let keep = is_2xx;
        if keep {
            self.session_sent_body(dialog.0, body.as_ref().map(|(c, b)| (*c, b)));
        }
        self.sent_sdp(dialog.0, sdp, env);
        if status >= 300 {
            // The offer of a refused re-INVITE changes nothing (§14.2).
            self.offer_failed(dialog.0);
        }
        self.responded(now, stx, status, &sent, env);
        Ok(())
    }

    /// A response went out on a call's INVITE (or re-INVITE) server transaction, through
    /// `answer` or the transaction API: the dialog follows it (§12.1.1, §13.3.1.4).
    pub(crate) fn responded(
        &mut self,
        now: Instant,
        stx: ServerTxId,
        status: u16,
        sent: &Responded,
        env: &mut impl DialogEnv,
    ) {
        if self.tracks_update(stx) {
            self.update_responded(stx, status);
            return;
        }
        let Some(&id) = self.stx_dialog.get(&stx.0) else {
            return;
        };
        if status >= 200 {
            self.stx_dialog.remove(&stx.0);
        }
        self.session_responded(now, id, status);
        let t1 = self.config.timers.t1;
        let give_up = now + self.config.timers.timer_b();
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        let is_initial = d.state != DialogState::Confirmed;
        match status {
            100 => {}
            101..=199 => {
                if d.state == DialogState::Trying {
                    self.set_state(now, id, DialogState::Early, env);
                }
            }
            200..=299 => {
                d.invite_stx = None;
                // §13.3.1.4: the TU core retransmits the 2xx (over reliable transports only
                // the final give-up matters, since the transport does not lose it).
                let interval = if sent.transport.is_reliable() {
                    give_up - now
                } else {
                    t1
                };
                if let Some(bytes) = sent.bytes.clone() {
                    d.ok = Some(Box::new(OkRetransmit {
                        bytes,
                        transport: sent.transport,
                        source: sent.local,
                        destination: sent.destination,
                        interval,
                        next: now + interval,
                        give_up,
                    }));
                }
                self.set_state(now, id, DialogState::Confirmed, env);
                self.arm_dialog(id);
                if is_initial && !self.replacing.is_empty() {
                    self.replaced(now, id, env);
                }
            }
            _ => {
                d.invite_stx = None;
                if is_initial {
                    let reason = DialogState::Terminated(EndReason::Rejected(status));
                    self.set_state(now, id, reason, env);
                }
            }
        }
    }

    /// A new INVITE outside any dialog: a call (§13.3).
    pub(super) fn new_incoming_call(
        &mut self,
        now: Instant,
        stx: ServerTxId,
        req: Box<Request>,
        from: SocketAddr,
        env: &mut impl DialogEnv,
    ) {
        let grant = match self.session_grant(&req) {
            Ok(g) => g,
            Err(why) => return self.refuse_session(now, stx, why, env),
        };
        // RFC 3891 §3.
        let replaces = match self.replaced_by(&req) {
            Ok(r) => r,
            Err(status) => return self.refuse_replaces(now, stx, status, env),
        };
        match self.new_uas_dialog(stx, &req, from, env) {
            Ok(id) => {
                self.session_pending(id, grant);
                self.session_peer_allow(id, &req);
                if let Some(old) = replaces {
                    self.replacing.insert(id, old);
                }
                let prack = self.uas_prack(&req);
                if let Some(d) = self.dialogs.get_mut(&id) {
                    d.invite_stx = Some(stx);
                    d.prack = prack;
                }
                self.stx_dialog.insert(stx.0, id);
                if let Err(e) = self.incoming_sdp(id, SdpMessage::Invite, &req, env) {
                    return self.refuse_offer(now, id, stx, &e, env);
                }
                env.emit(DialogEvent::IncomingCall {
                    dialog: DialogId(id),
                    tx: stx,
                    request: req,
                    replaces: replaces.map(DialogId),
                });
            }
            Err(code) => self.refuse(now, stx, code, env),
        }
    }

    /// The UAS side of a dialog created by a request (INVITE, REFER) on server transaction
    /// `stx` (§12.1.1); `Err` with the status to refuse it with.
    pub(super) fn new_uas_dialog(
        &mut self,
        stx: ServerTxId,
        req: &Request,
        from: SocketAddr,
        env: &mut impl DialogEnv,
    ) -> Result<u64, u16> {
        if !self.room() {
            return Err(503);
        }
        let relieved = self.relieved();
        self.shedding.admitted(|| relieved);
        let Some(t) = env.server_info(stx) else {
            return Err(500);
        };
        let (transport, to_tag, local) = (t.transport, Box::<str>::from(t.to_tag), t.local);
        let Some(contact) = contact_target(req) else {
            return Err(400);
        };
        let (Some(call_id), Some(f), Some(to)) = (
            req.call_id(),
            req.from(),
            req.headers().get(crate::message::HeaderName::To),
        ) else {
            return Err(400);
        };
        let remote_tag: Box<str> = f.tag().unwrap_or("").into();
        let (to, to_clean) = crate::message::writer::unfolded(to);
        let (remote, remote_clean) = header_text(
            req.headers()
                .get(crate::message::HeaderName::From)
                .unwrap_or(""),
        );
        let via_natted = req
            .via()
            .is_some_and(|v| v.received().is_some() || v.rport().flatten().is_some());
        let local_contact = env
            .locals()
            .contact(transport, from)
            .unwrap_or_else(|_| format!("<sip:{local}>").into());
        let id = self.alloc_id();
        let d = DialogEntry {
            call_id: call_id.into(),
            local: with_tag(&to, &to_tag),
            local_tag: to_tag,
            remote_tag: Some(remote_tag),
            remote,
            raw_text: !(to_clean
                && remote_clean
                && memchr::memchr3(b'\r', b'\n', 0, call_id.as_bytes()).is_none()),
            remote_target: contact.into(),
            route_set: RouteSet::from_request(req),
            remote_seq: req.cseq().map(|c| c.0),
            prefer_flow: via_natted || transport.is_reliable(),
            local_contact,
            ..DialogEntry::blank(Role::Uas, Target::new(transport, from))
        };
        d.file_in(&mut self.index, id);
        self.dialogs.insert(id, Box::new(d));
        self.learn_peer_recv_info(id, req);
        Ok(id)
    }

    /// Refuses a request on server transaction `stx` with `code` (503 and 500 with
    /// Retry-After, 400 saying what was wrong).
    pub(super) fn refuse(
        &mut self,
        now: Instant,
        stx: ServerTxId,
        code: u16,
        env: &mut impl DialogEnv,
    ) {
        if code == 503 {
            self.stats.overload_rejections += 1;
            let occupancy = self.occupancy();
            self.shedding.refused(occupancy);
        }
        let ra = self.config.retry_after_secs.to_string();
        if let Ok(mut b) = env.response(stx, code) {
            if code == 503 || code == 500 {
                b = b.header("Retry-After", &ra);
            }
            if code == 400 {
                b = b.reason("Bad Request (missing or malformed Contact)");
            }
            if let Ok(r) = b.build() {
                let _ = env.respond(now, stx, r);
            }
        }
    }

    /// An ACK that no INVITE server transaction took: the ACK for a 2xx (§13.3.1.4). Given
    /// back when no dialog of ours expects it.
    pub(super) fn dispatch_ack(
        &mut self,
        now: Instant,
        req: Box<Request>,
        from: SocketAddr,
        env: &mut impl DialogEnv,
    ) -> Option<crate::transaction::layer::Up> {
        use crate::transaction::layer::Up;
        let found = self.find_dialog(
            req.call_id().unwrap_or(""),
            req.to().and_then(|t| t.tag()).unwrap_or(""),
            req.from().and_then(|f| f.tag()).unwrap_or(""),
        );
        let Some(id) = found else {
            return Some(Up::Ack { request: req, from });
        };
        let Some(d) = self.dialogs.get_mut(&id) else {
            // An ended dialog's ACK (ended.rs): passed on as for any terminated dialog.
            return Some(Up::Ack { request: req, from });
        };
        if d.ok.is_none() && d.state != DialogState::Confirmed {
            // The TU answered through the transaction API, not the dialog: pass it on.
            return Some(Up::Ack { request: req, from });
        }
        let duplicate = d.ok.take().is_none();
        self.heard(now, id);
        if duplicate {
            return None;
        }
        if let Err(e) = self.incoming_sdp(id, SdpMessage::Ack, &req, env) {
            tracing::debug!(dialog = id, error = %e, "session description in the ACK not taken");
        }
        let d = self.dialogs.get_mut(&id)?;
        let bye = std::mem::take(&mut d.bye_after_ack);
        self.arm_dialog(id);
        env.emit(DialogEvent::AckReceived {
            dialog: DialogId(id),
            request: req,
        });
        if bye {
            self.send_bye(now, id, env);
        }
        None
    }

    /// The INVITE server transaction of a call was cancelled (§9.2).
    pub(super) fn dispatch_cancelled(
        &mut self,
        now: Instant,
        stx: ServerTxId,
        env: &mut impl DialogEnv,
    ) {
        let Some(id) = self.stx_dialog.remove(&stx.0) else {
            return;
        };
        if let Some(d) = self.dialogs.get_mut(&id) {
            d.invite_stx = None;
            if d.state != DialogState::Confirmed {
                let state = DialogState::Terminated(EndReason::Cancelled);
                self.set_state(now, id, state, env);
            }
        }
    }

    // ---- UAC: responses --------------------------------------------------------------

    /// Picks (or creates, for a new fork) the dialog a tagged response to our INVITE belongs
    /// to.
    fn dialog_for_tag(&mut self, root: u64, tag: &str, env: &mut impl DialogEnv) -> u64 {
        let Some(r) = self.view(root) else {
            return root;
        };
        if r.remote_tag().is_none_or(|t| t == tag) {
            return root;
        }
        if let Some(f) = r
            .forks()
            .iter()
            .copied()
            .find(|f| self.view(*f).is_some_and(|d| d.remote_tag() == Some(tag)))
        {
            return f;
        }
        // A new fork (§12.1.2, §13.2.2.4).
        let Some(fork) = self.fork_of(root) else {
            return root;
        };
        let id = self.alloc_id();
        self.dialogs.insert(id, Box::new(fork));
        // The fork answers the same offer (§13.2.2.4).
        if let Some(n) = self.sessions.get(&root).cloned() {
            self.sessions.insert(id, n);
        }
        if let Some(r) = self.dialogs.get_mut(&root) {
            r.forks.push(id);
        } else if let Some(u) = self
            .ended_dialogs
            .get_mut(&root)
            .and_then(|e| e.uac.as_mut())
        {
            u.forks.push(id);
        }
        env.emit(DialogEvent::Forked {
            dialog: DialogId(id),
            original: DialogId(root),
        });
        id
    }

    /// A new fork of `root`'s INVITE (§12.1.2): its identity but the remote tag, its From,
    /// Contact, flow and CSeq numbers — from `root` live, or [ended](super::ended) (a 2xx
    /// of another fork may come after the first dialog ended, §13.2.2.4).
    fn fork_of(&self, root: u64) -> Option<DialogEntry> {
        if let Some(r) = self.dialogs.get(&root) {
            return Some(DialogEntry {
                call_id: r.call_id.clone(),
                local_tag: r.local_tag.clone(),
                local: r.local.clone(),
                remote: r.remote.clone(),
                raw_text: r.raw_text,
                remote_target: r.remote_target.clone(),
                local_seq: r.local_seq,
                prefer_flow: r.prefer_flow,
                local_contact: r.local_contact.clone(),
                invite_cseq: r.invite_cseq,
                parent: Some(root),
                ..DialogEntry::blank(Role::Uac, r.flow.clone())
            });
        }
        let e = self.ended_dialogs.get(&root)?;
        let u = e.uac.as_ref()?;
        Some(DialogEntry {
            call_id: e.call_id().into(),
            local_tag: e.local_tag().into(),
            local: u.local.clone(),
            raw_text: u.raw_text,
            local_seq: e.local_seq,
            prefer_flow: u.prefer_flow,
            local_contact: u.local_contact.clone(),
            invite_cseq: u.invite_cseq,
            parent: Some(root),
            ..DialogEntry::blank(Role::Uac, u.flow.clone())
        })
    }

    /// Whether `root` or one of its forks other than `id` is confirmed (or was hung up
    /// after it was).
    fn another_fork_answered(&self, root: u64, id: u64) -> bool {
        self.view(root).is_some_and(|r| {
            std::iter::once(root)
                .chain(r.forks().iter().copied())
                .any(|x| {
                    x != id
                        && self.view(x).is_some_and(|d| {
                            d.state() == DialogState::Confirmed
                                || d.state() == DialogState::Terminated(EndReason::LocalBye)
                        })
                })
        })
    }

    /// `root` and its forks.
    fn call_legs(&self, root: u64) -> Vec<u64> {
        let r = self.view(root);
        let forks = r.as_ref().map(|r| r.forks());
        std::iter::once(root)
            .chain(forks.unwrap_or_default().iter().copied())
            .collect()
    }

    /// Whether a hang-up was asked for while `root`'s INVITE was pending.
    fn hangup_requested(&self, root: u64) -> bool {
        self.view(root).is_some_and(|r| r.hangup_requested())
    }

    pub(super) fn invite_response(
        &mut self,
        now: Instant,
        ctx: ClientTxId,
        root: u64,
        resp: Box<Response>,
        env: &mut impl DialogEnv,
    ) {
        let code = resp.status();
        let is_reinvite = self
            .dialogs
            .get(&root)
            .is_some_and(|d| d.state == DialogState::Confirmed && d.invite_ctx == Some(ctx));
        if is_reinvite {
            return self.reinvite_response(now, ctx, root, resp, env);
        }
        let tag = resp.to().and_then(|t| t.tag());
        let tagged = tag.is_some();
        let id = match tag {
            Some(t) if code > 100 => self.dialog_for_tag(root, t, env),
            _ => root,
        };
        match code {
            100..=199 => {
                // RFC 3262 §4: a reliable 1xx is taken once, in RSeq order, and PRACKed.
                let reliable = if tagged && code > 100 {
                    match self.reliable_received(id, &resp) {
                        Ok(r) => r,
                        Err(()) => return,
                    }
                } else {
                    None
                };
                if tagged && code > 100 {
                    self.learn_remote(id, &resp, false);
                    if self
                        .dialogs
                        .get(&id)
                        .is_some_and(|d| d.state == DialogState::Trying)
                    {
                        self.set_state(now, id, DialogState::Early, env);
                    }
                }
                if let Some(rack) = reliable {
                    if let Err(e) =
                        self.incoming_sdp(id, SdpMessage::ReliableProvisional, &resp, env)
                    {
                        tracing::debug!(dialog = id, error = %e, "session description in the reliable 1xx not taken");
                    }
                    // An offer there answers our offerless INVITE: in the PRACK (late_offer.rs).
                    let answer = self.late_prack_answer(id);
                    let body = answer.as_ref().map(|(b, _)| (super::SDP, b.clone()));
                    self.send_prack(now, id, rack, body, env);
                    if let Some((_, s)) = answer {
                        let out = super::media_session::Outgoing::Answer(SdpMessage::Prack, *s);
                        self.sent_sdp(id, out, env);
                    }
                }
                env.emit(DialogEvent::Response {
                    dialog: DialogId(id),
                    tx: ctx,
                    response: resp,
                });
            }
            200..=299 => {
                let already = self.view(id).is_some_and(|d| {
                    d.state() == DialogState::Confirmed || matches!(d, DialogRef::Ended(_))
                });
                if already {
                    // A retransmission of the 2xx (RFC 6026): re-send our ACK (a dialog
                    // ended since keeps it while 2xx retransmissions may come).
                    self.resend_ack(id, env);
                    return;
                }
                let other_confirmed = self.another_fork_answered(root, id);
                self.learn_remote(id, &resp, true);
                // A late offer in the 2xx is answered in the ACK (late_offer.rs).
                let late = self.late_answer(id, &resp);
                self.send_2xx_ack(id, Self::ack_body(&late), env);
                if let Some(r) = self.dialogs.get_mut(&root) {
                    r.invite_ctx = None;
                }
                let hangup = self.hangup_requested(root);
                self.session_answered(now, id, root, &resp);
                self.set_state(now, id, DialogState::Confirmed, env);
                if let Err(e) = self.incoming_sdp(id, SdpMessage::Success, &resp, env) {
                    tracing::debug!(dialog = id, error = %e, "session description in the 2xx not taken");
                }
                let refused = matches!(late, super::late_offer::LateAnswer::Refused(_));
                env.emit(DialogEvent::Response {
                    dialog: DialogId(id),
                    tx: ctx,
                    response: resp,
                });
                self.late_answered(now, id, late, env);
                if refused {
                    return;
                }
                if (other_confirmed && self.config.bye_extra_forks) || hangup {
                    // §13.2.2.4 (a second fork answered) and §9.1 (the 2xx beat our CANCEL):
                    // ACK, then BYE.
                    self.send_bye(now, id, env);
                    let reason = if hangup {
                        EndReason::LocalBye
                    } else {
                        EndReason::OtherForkAnswered
                    };
                    self.set_state(now, id, DialogState::Terminated(reason), env);
                } else {
                    // Early dialogs of other forks end (§13.2.2.4); a late 2xx from one of
                    // them is still ACKed and ended above.
                    let unforked = self.view(root).is_some_and(|r| r.forks().is_empty());
                    if unforked {
                        return;
                    }
                    for f in self.call_legs(root).into_iter().filter(|x| *x != id) {
                        if self.dialogs.get(&f).is_some_and(|d| {
                            matches!(d.state, DialogState::Trying | DialogState::Early)
                        }) {
                            let state = DialogState::Terminated(EndReason::EarlyDialogEnded);
                            self.set_state(now, f, state, env);
                        }
                    }
                }
            }
            _ => {
                // RFC 4028 §7.3: a 422 names the interval the INVITE must ask for.
                let hangup = self.hangup_requested(root);
                if code == 422 && !hangup && self.retry_after_422(now, root, &resp, env) {
                    return;
                }
                env.emit(DialogEvent::Response {
                    dialog: DialogId(id),
                    tx: ctx,
                    response: resp,
                });
                let cancelled = self.hangup_requested(root) && code == 487;
                let reason = if cancelled {
                    EndReason::Cancelled
                } else {
                    EndReason::Rejected(code)
                };
                if let Some(r) = self.dialogs.get_mut(&root) {
                    r.invite_ctx = None;
                }
                for x in self.call_legs(root) {
                    if self
                        .dialogs
                        .get(&x)
                        .is_some_and(|d| d.state != DialogState::Confirmed)
                    {
                        self.set_state(now, x, DialogState::Terminated(reason), env);
                    }
                }
            }
        }
    }

    fn reinvite_response(
        &mut self,
        now: Instant,
        ctx: ClientTxId,
        id: u64,
        resp: Box<Response>,
        env: &mut impl DialogEnv,
    ) {
        let code = resp.status();
        match code {
            100..=199 => {}
            200..=299 => {
                self.learn_remote(id, &resp, false);
                let already = self
                    .dialogs
                    .get(&id)
                    .is_some_and(|d| d.invite_ctx.is_none());
                if already {
                    self.resend_ack(id, env);
                    return;
                }
                self.send_2xx_ack(id, None, env);
                if let Some(d) = self.dialogs.get_mut(&id) {
                    d.invite_ctx = None;
                }
                self.session_answered(now, id, id, &resp);
                if let Err(e) = self.incoming_sdp(id, SdpMessage::Success, &resp, env) {
                    tracing::debug!(dialog = id, error = %e, "session description in the 2xx not taken");
                }
            }
            _ => {
                if let Some(d) = self.dialogs.get_mut(&id) {
                    d.invite_ctx = None;
                }
                // §14.1: the session stays as it was before the re-INVITE.
                self.offer_failed(id);
                if code == 422 {
                    self.session_refresh_422(now, id, &resp, env);
                }
                if code == 491 {
                    // §14.1: retried after a random interval (glare.rs).
                    let body: Option<Body> = self.reinvite_bodies.get(&ctx.0).cloned().flatten();
                    self.schedule_glare_retry(now, id, super::glare::Retried::ReInvite(body));
                }
                self.end_on_481_408(now, id, code, env);
            }
        }
        env.emit(DialogEvent::Response {
            dialog: DialogId(id),
            tx: ctx,
            response: resp,
        });
    }

    /// Re-sends the ACK kept for a dialog's 2xx, for a retransmission of that 2xx.
    fn resend_ack(&mut self, id: u64, env: &mut impl DialogEnv) {
        if let Some(e) = self.ended_dialogs.get(&id) {
            // An ended dialog re-sends the ACK it kept, to where it went (ended.rs).
            if let Some((b, t)) = e.uac.as_ref().and_then(|u| u.ack.clone()) {
                self.stats.retransmissions += 1;
                Self::send(env, t, None, b);
            }
            return;
        }
        let ack = self.dialogs.get(&id).and_then(|d| d.ack.clone());
        if let Some((b, t)) = ack.and_then(|b| Some((b, self.next_hop(id)?))) {
            self.stats.retransmissions += 1;
            Self::send(env, t, None, b);
        }
    }

    /// Builds and sends the ACK for a 2xx (§13.2.2.4): a new request through the route
    /// set with the INVITE's CSeq number; kept to answer 2xx retransmissions.
    fn send_2xx_ack(&mut self, id: u64, body: Option<(&str, &[u8])>, env: &mut impl DialogEnv) {
        let Some(seq) = self.dialogs.get(&id).map(|d| d.invite_cseq) else {
            return;
        };
        let Ok((bytes, _, target, local)) =
            self.in_dialog_request(id, &Method::Ack, seq, &[], body, env)
        else {
            return;
        };
        Self::send(env, target, Some(local), bytes.clone());
        if let Some(d) = self.dialogs.get_mut(&id) {
            d.ack = Some(bytes);
        }
    }

    /// A response no transaction took: a 2xx retransmission after the INVITE transaction
    /// ended (or from a fork after Timer M); `true` if a dialog took it.
    pub(super) fn dispatch_stray(
        &mut self,
        now: Instant,
        resp: &Response,
        env: &mut impl DialogEnv,
    ) -> bool {
        if !resp.is_success() || resp.cseq().is_none_or(|c| c.1 != "INVITE") {
            return false;
        }
        let (Some(call_id), Some(from_tag), Some(to_tag)) = (
            resp.call_id(),
            resp.from().and_then(|f| f.tag()),
            resp.to().and_then(|t| t.tag()),
        ) else {
            return false;
        };
        match self.find_dialog(call_id, from_tag, to_tag) {
            Some(id) => {
                self.heard(now, id);
                self.resend_ack(id, env);
                true
            }
            None => false,
        }
    }
}
