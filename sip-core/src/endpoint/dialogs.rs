//! The dialog layer inside the endpoint (RFC 3261 §12–§15, RFC 3515 REFER, RFC 5407 crossed
//! BYEs, RFC 6026 2xx handling). Dialogs are driven by the transaction events the endpoint
//! produces; this module turns them into dialog state, ACKs for 2xx, 2xx retransmissions,
//! BYE, CANCEL, glare handling and REFER subscriptions.

use super::key_index::KeyIndex;
use super::*;
use crate::dialog::{
    DialogError, DialogId, DialogInfo, DialogState, EndReason, ReferEvent, ReferId, Role, RouteSet,
    parse_sipfrag_status, route::contact_target, sipfrag,
};
use crate::message::uri::{Host, Uri};
use std::time::Duration;

/// What a transaction is for, so its responses and failures reach the right dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Usage {
    /// The dialog-creating INVITE (UAC), or a re-INVITE.
    Invite(u64),
    /// BYE.
    Bye(u64),
    /// Any other in-dialog request of the TU (INFO, UPDATE, MESSAGE, ...).
    Request(u64),
    /// A REFER we sent.
    Refer(u64),
    /// A NOTIFY we sent for a REFER we received.
    Notify(u64),
    /// A REGISTER of a registration.
    Register(u64),
}

/// A body and its Content-Type, kept to re-send.
pub(super) type Body = (Box<str>, Bytes);

/// A 2xx to an INVITE being retransmitted until its ACK (§13.3.1.4).
#[derive(Debug)]
pub(super) struct OkRetransmit {
    bytes: Bytes,
    transport: Transport,
    source: SocketAddr,
    destination: SocketAddr,
    interval: Duration,
    next: Instant,
    give_up: Instant,
}

/// One dialog (or call leg before its first tagged response).
#[derive(Debug)]
pub(super) struct DialogEntry {
    call_id: Box<str>,
    local_tag: Box<str>,
    remote_tag: Option<Box<str>>,
    /// Our header value (From for the UAC, To for the UAS), tag included.
    local: Box<str>,
    /// The peer's header value, tag included once known.
    remote: Box<str>,
    /// A stored header value kept a CR, LF or NUL that is not a fold (see
    /// [`header_text`]): in-dialog requests then write every value through the checking
    /// writer, which refuses it.
    raw_text: bool,
    remote_target: Box<str>,
    route_set: RouteSet,
    /// Where in-dialog requests go, worked out from the route set, the remote target and
    /// the flow once and kept until one of them changes (see `set_remote_target`).
    hop: Option<Target>,
    local_seq: u32,
    remote_seq: Option<u32>,
    role: Role,
    state: DialogState,
    /// Where the dialog-creating request went to or came from.
    flow: Target,
    /// Send in-dialog requests over `flow` rather than to the remote target: the peer is
    /// behind a NAT (its Via needed `received`/`rport`) or its Contact is not an address.
    prefer_flow: bool,
    local_contact: Arc<str>,
    /// UAC: the pending INVITE or re-INVITE client transaction.
    invite_ctx: Option<ClientTxId>,
    /// CSeq number of the last INVITE we sent (its ACK carries it).
    invite_cseq: u32,
    /// UAC: the ACK sent for the 2xx, re-sent for each 2xx retransmission.
    ack: Option<(Bytes, Target)>,
    /// UAS: the pending INVITE or re-INVITE server transaction.
    invite_stx: Option<ServerTxId>,
    /// UAS: the 2xx awaiting its ACK.
    ok: Option<OkRetransmit>,
    /// UAC: hang-up requested while the INVITE was pending (CANCEL sent, or BYE after 2xx).
    hangup_requested: bool,
    /// UAS: BYE requested before the ACK came (§15: wait for it or for 64·T1).
    bye_after_ack: bool,
    /// A re-INVITE body to retry after a 491 (§14.1) and when.
    glare_retry: Option<(Instant, Option<Body>)>,
    /// Dialogs forked from this one (UAC), and the dialog this one forked from.
    forks: Vec<u64>,
    parent: Option<u64>,
    /// Forget a terminated dialog at this instant (kept to answer a crossed BYE 200,
    /// RFC 5407 §3.1.2, and to absorb late retransmissions).
    forget_at: Option<Instant>,
    armed: Option<Instant>,
}

impl DialogEntry {
    /// A dialog in Trying with nothing learned or pending yet; the caller fills in its
    /// identity (Call-ID, tags, header values, targets) with struct-update syntax.
    fn blank(role: Role, flow: Target) -> DialogEntry {
        DialogEntry {
            call_id: Box::default(),
            local_tag: Box::default(),
            remote_tag: None,
            local: Box::default(),
            remote: Box::default(),
            raw_text: false,
            remote_target: Box::default(),
            route_set: RouteSet::default(),
            hop: None,
            local_seq: 0,
            remote_seq: None,
            role,
            state: DialogState::Trying,
            flow,
            prefer_flow: false,
            local_contact: Arc::from(""),
            invite_ctx: None,
            invite_cseq: 0,
            ack: None,
            invite_stx: None,
            ok: None,
            hangup_requested: false,
            bye_after_ack: false,
            glare_retry: None,
            forks: Vec::new(),
            parent: None,
            forget_at: None,
            armed: None,
        }
    }

    /// A dialog we start (INVITE or out-of-dialog REFER, §12.1.2): our From with its tag,
    /// the peer's To and the Request-URI as its target until a response says otherwise.
    fn uac(
        call_id: String,
        tag: &str,
        opts: InviteOptions,
        contact: Arc<str>,
        target: Target,
    ) -> Self {
        DialogEntry {
            call_id: call_id.into(),
            local_tag: tag.into(),
            local: with_tag(&opts.from, tag),
            remote: opts.to.into(),
            remote_target: opts.uri.into(),
            local_seq: 1,
            local_contact: contact,
            ..DialogEntry::blank(Role::Uac, target)
        }
    }

    /// Whether this is the dialog with id (Call-ID, local tag, remote tag), §12.
    fn has_id(&self, call_id: &str, local_tag: &str, remote_tag: &str) -> bool {
        *self.call_id == *call_id
            && *self.local_tag == *local_tag
            && self.remote_tag.as_deref() == Some(remote_tag)
    }

    /// A target refresh (§12.2): a new remote target; the next hop is worked out again.
    fn set_remote_target(&mut self, target: Box<str>) {
        self.remote_target = target;
        self.hop = None;
    }

    /// The route set (§12.1.1, §12.1.2); the next hop is worked out again.
    fn set_route_set(&mut self, route_set: RouteSet) {
        self.route_set = route_set;
        self.hop = None;
    }

    /// Files the dialog in `index` once its id is complete (it has a remote tag).
    fn file_in(&self, index: &mut KeyIndex, id: u64) {
        if let Some(r) = self.remote_tag.as_deref() {
            index.insert(&[&self.call_id, &self.local_tag, r], id);
        }
    }

    /// Bytes this dialog takes beside its route set and remote target: the struct and the
    /// strings it owns (the measure issue 5 asks for).
    pub(super) fn footprint(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.call_id.len()
            + self.local_tag.len()
            + self.remote_tag.as_ref().map_or(0, |t| t.len())
            + self.local.len()
            + self.remote.len()
            + self.local_contact.len()
            + self.ack.as_ref().map_or(0, |a| a.0.len())
            + self.forks.capacity() * 8
    }

    pub(super) fn clear_invite_stx(&mut self) {
        self.invite_stx = None;
    }

    fn next_timer(&self) -> Option<Instant> {
        let ok = self.ok.as_ref().map(|o| o.next.min(o.give_up));
        let glare = self.glare_retry.as_ref().map(|g| g.0);
        [ok, glare, self.forget_at].into_iter().flatten().min()
    }

    fn info(&self) -> DialogInfo {
        DialogInfo {
            call_id: self.call_id.to_string(),
            local_tag: self.local_tag.to_string(),
            remote_tag: self.remote_tag.as_deref().map(str::to_owned),
            local: self.local.to_string(),
            remote: self.remote.to_string(),
            remote_target: self.remote_target.to_string(),
            route_set: self.route_set.iter().map(str::to_owned).collect(),
            local_seq: self.local_seq,
            remote_seq: self.remote_seq,
            role: self.role,
            state: self.state,
        }
    }
}

/// A REFER subscription, sent or received (RFC 3515).
#[derive(Debug)]
pub(super) struct ReferEntry {
    dialog: u64,
    outgoing: bool,
    /// The `id` of `Event: refer` (the REFER's CSeq number, RFC 3515 §2.4.6).
    event_id: u32,
    /// Incoming: the REFER's server transaction until the TU answers it.
    stx: Option<ServerTxId>,
    accepted: bool,
    last_status: Option<u16>,
    expires_at: Option<Instant>,
    armed: Option<Instant>,
}

/// Options for [`Endpoint::invite`].
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

fn is_target_refresh(m: &Method) -> bool {
    matches!(
        m,
        Method::Invite | Method::Update | Method::Subscribe | Method::Notify | Method::Refer
    )
}

impl Endpoint {
    // ---- lookups -----------------------------------------------------------------

    pub(super) fn dialog_entry_mut(&mut self, id: u64) -> Option<&mut DialogEntry> {
        self.dialogs.get_mut(&id).map(|d| &mut **d)
    }

    /// A snapshot of a dialog.
    pub fn dialog_info(&self, dialog: DialogId) -> Option<DialogInfo> {
        self.dialogs.get(&dialog.0).map(|d| d.info())
    }

    /// A dialog's state.
    pub fn dialog_state(&self, dialog: DialogId) -> Option<DialogState> {
        self.dialogs.get(&dialog.0).map(|d| d.state)
    }

    /// Bytes per dialog beside route sets and targets, averaged over live dialogs.
    pub fn dialog_footprint(&self) -> Option<usize> {
        let n = self.dialogs.len();
        (n > 0).then(|| self.dialogs.values().map(|d| d.footprint()).sum::<usize>() / n)
    }

    /// Live dialogs (terminated ones are kept 64·T1 for late messages, then forgotten).
    pub fn dialog_count(&self) -> usize {
        self.dialogs.len()
    }

    fn live_dialog(&self, dialog: DialogId) -> Result<&DialogEntry, DialogError> {
        let d = self
            .dialogs
            .get(&dialog.0)
            .ok_or(DialogError::UnknownDialog)?;
        match d.state {
            DialogState::Terminated(r) => Err(DialogError::Terminated(r)),
            _ => Ok(d),
        }
    }

    fn find_dialog(&self, call_id: &str, local_tag: &str, remote_tag: &str) -> Option<u64> {
        let dialogs = &self.dialogs;
        self.dialog_index
            .find(&[call_id, local_tag, remote_tag], |id| {
                dialogs
                    .get(&id)
                    .is_some_and(|d| d.has_id(call_id, local_tag, remote_tag))
            })
    }

    fn set_state(&mut self, now: Instant, id: u64, state: DialogState) {
        let t = self.config.timers.timer_b();
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        if d.state == state || d.state.is_terminated() {
            return;
        }
        d.state = state;
        if state.is_terminated() {
            // A hang-up before the ACK of our 2xx still waits for that ACK (or 64·T1) to send
            // its BYE (§15): the 2xx keeps being retransmitted until then.
            if !d.bye_after_ack {
                d.ok = None;
            }
            d.glare_retry = None;
            d.forget_at = Some(now + t);
            // Subscriptions of the dialog end with it.
            let refers: Vec<u64> = self
                .refers
                .iter()
                .filter(|(_, r)| r.dialog == id)
                .map(|(k, _)| *k)
                .collect();
            for r in refers {
                self.end_refer(r, None, false);
            }
        }
        self.event(Event::DialogStateChanged {
            dialog: DialogId(id),
            state,
        });
        self.arm_dialog(id);
    }

    pub(super) fn arm_dialog(&mut self, id: u64) {
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        let next = d.next_timer();
        if next != d.armed {
            d.armed = next;
            if let Some(at) = next {
                self.timers.schedule(at, TimerRef::Dialog(id));
            }
        }
    }

    fn arm_refer(&mut self, id: u64) {
        let Some(r) = self.refers.get_mut(&id) else {
            return;
        };
        if r.expires_at != r.armed {
            r.armed = r.expires_at;
            if let Some(at) = r.expires_at {
                self.timers.schedule(at, TimerRef::Refer(id));
            }
        }
    }

    pub(super) fn dialog_timer_live(&self, id: u64, at: Instant) -> bool {
        self.dialogs.get(&id).is_some_and(|d| d.armed == Some(at))
    }

    pub(super) fn refer_timer_live(&self, id: u64, at: Instant) -> bool {
        self.refers.get(&id).is_some_and(|r| r.armed == Some(at))
    }

    // ---- timers ------------------------------------------------------------------

    pub(super) fn on_dialog_timer(&mut self, now: Instant, id: u64) {
        let t2 = self.config.timers.t2;
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        d.armed = None;
        if d.forget_at.is_some_and(|t| t <= now) {
            if let Some(d) = self.dialogs.remove(&id)
                && let Some(r) = d.remote_tag.as_deref()
            {
                self.dialog_index.remove(&[&d.call_id, &d.local_tag, r], id);
            }
            return;
        }
        let mut resend = None;
        let mut no_ack = false;
        if let Some(ok) = d.ok.as_mut() {
            if ok.give_up <= now {
                no_ack = true;
            } else if ok.next <= now {
                resend = Some((ok.transport, ok.source, ok.destination, ok.bytes.clone()));
                ok.interval = (ok.interval * 2).min(t2);
                ok.next = now + ok.interval;
            }
        }
        let glare = d.glare_retry.take_if(|g| g.0 <= now);
        if let Some((t, s, dst, b)) = resend {
            self.stats.retransmissions += 1;
            self.transmit(t, Some(s), dst, b);
        }
        if no_ack {
            // §13.3.1.4: no ACK within 64·T1: end the dialog with BYE.
            if let Some(d) = self.dialogs.get_mut(&id) {
                d.ok = None;
                d.bye_after_ack = false;
            }
            let _ = self.send_bye(now, id);
            self.set_state(now, id, DialogState::Terminated(EndReason::NoAck));
        }
        // §14.1: no new INVITE while another INVITE transaction is in progress in either
        // direction. The peer's own retry may be pending at our TU: wait for it (checking
        // again every T1); a re-INVITE the TU started since makes the retry moot.
        let glare = match glare {
            Some(g) => match self.dialogs.get_mut(&id) {
                Some(d) if d.invite_ctx.is_some() => None,
                Some(d) if d.invite_stx.is_some() || d.ok.is_some() => {
                    d.glare_retry = Some((now + self.config.timers.t1, g.1));
                    None
                }
                Some(_) => Some(g),
                None => None,
            },
            None => None,
        };
        if let Some((_, body)) = glare {
            let body = body.map(|(ct, b)| (ct.to_string(), b));
            if let Ok(ctx) = self.send_in_dialog(
                now,
                id,
                Method::Invite,
                &[],
                body.as_ref().map(|(c, b)| (c.as_str(), b.clone())),
            ) {
                if let Some(d) = self.dialogs.get_mut(&id) {
                    d.invite_ctx = Some(ctx);
                }
                self.tx_usage.insert(ctx.0, Usage::Invite(id));
            }
        }
        self.arm_dialog(id);
    }

    pub(super) fn on_refer_timer(&mut self, now: Instant, id: u64) {
        let Some(r) = self.refers.get_mut(&id) else {
            return;
        };
        r.armed = None;
        if r.expires_at.is_some_and(|t| t <= now) {
            let last = r.last_status;
            self.end_refer(id, last, true);
        }
    }

    // ---- UAC: calls ----------------------------------------------------------------

    fn default_contact(
        &self,
        transport: Transport,
        dest: SocketAddr,
    ) -> Result<Arc<str>, DialogError> {
        Ok(self.local_contact(transport, dest)?)
    }

    /// Places a call: sends an INVITE in a new client transaction and returns the dialog
    /// handle at once. Progress comes as events: [`Event::DialogResponse`] for every
    /// response, [`Event::DialogStateChanged`] (Early on a tagged 1xx, Confirmed on the 2xx
    /// — which the core ACKs itself, and re-ACKs on each retransmission, §13.2.2.4 — or
    /// Terminated), and [`Event::Forked`] for further early dialogs from a forking proxy.
    pub fn invite(&mut self, now: Instant, opts: InviteOptions) -> Result<DialogId, DialogError> {
        if self.dialogs.len() >= self.config.max_dialogs {
            return Err(DialogError::TooManyDialogs);
        }
        let call_id = self.ids.call_id(None);
        let tag = self.ids.tag();
        let (ctx, target, contact) = match self.invite_written(now, &opts, &call_id, &tag)? {
            Some(sent) => sent,
            None => self.invite_built(now, &opts, &call_id, &tag)?,
        };
        let id = self.alloc_id();
        self.dialogs.insert(
            id,
            Box::new(DialogEntry {
                invite_ctx: Some(ctx),
                invite_cseq: 1,
                ..DialogEntry::uac(call_id, &tag, opts, contact, target)
            }),
        );
        self.tx_usage.insert(ctx.0, Usage::Invite(id));
        Ok(DialogId(id))
    }

    /// The INVITE of [`Endpoint::invite`] through the request builder: any extra headers,
    /// a pre-loaded Route, and every error the builder reports.
    pub(super) fn invite_built(
        &mut self,
        now: Instant,
        opts: &InviteOptions,
        call_id: &str,
        tag: &str,
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
            None => self.default_contact(target.transport, target.addr)?,
        };
        b = b.contact(&contact);
        if let Some((ct, body)) = &opts.body {
            b = b.body(ct, body.clone());
        }
        let req = b.build()?;
        let ctx = self.send_own_request(now, req, target)?;
        Ok((ctx, target, contact))
    }

    /// The INVITE of [`Endpoint::invite`] written straight to bytes, the common case: no
    /// extra headers, the next hop from the Request-URI (or given). The TU's values are
    /// checked as the builder checks them; `Ok(None)` leaves anything else — including
    /// every input the builder would refuse — to [`Endpoint::invite_built`], which reports
    /// it. Same seed, same bytes as the builder's INVITE.
    pub(super) fn invite_written(
        &mut self,
        now: Instant,
        opts: &InviteOptions,
        call_id: &str,
        tag: &str,
    ) -> Result<Option<(ClientTxId, Target, Arc<str>)>, DialogError> {
        if !opts.headers.is_empty() || !crate::message::request_uri_ok(&opts.uri) {
            return Ok(None);
        }
        let target = match opts.target {
            Some(t) => t,
            None => match Uri::parse(&opts.uri).map(|u| Target::from_uri(&u)) {
                Ok(Ok(t)) => t,
                _ => return Ok(None),
            },
        };
        let contact = match &opts.contact {
            Some(c) => Arc::from(c.as_str()),
            None => match self.default_contact(target.transport, target.addr) {
                Ok(c) => c,
                Err(_) => return Ok(None),
            },
        };
        if self.clients.len() + self.servers.len() >= self.config.max_transactions {
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
        let written = self.write_local_via(&mut via, target.transport, target.addr);
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
        let id = self.alloc_id();
        self.start_client_bytes(
            now,
            id,
            Method::Invite,
            branch.as_str(),
            Bytes::from(bytes),
            target,
            Some(local),
        );
        Ok(Some((ClientTxId(id), target, contact)))
    }

    /// Where an in-dialog request to `next_hop` goes (§12.2.1.1, §18.1.1): over the flow
    /// the dialog was set up on when the peer is behind a NAT or the next hop is not an
    /// address; else to the next hop's address, on the dialog's transport unless the URI
    /// names one.
    fn dialog_target(&self, d: &DialogEntry, next_hop: &str) -> Target {
        if d.prefer_flow && d.route_set.is_empty() {
            return d.flow;
        }
        let Ok(uri) = Uri::parse(next_hop) else {
            return d.flow;
        };
        let Some(sip) = uri.as_sip() else {
            return d.flow;
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
                Host::Domain(_) => return d.flow,
            },
        };
        Target::new(
            transport,
            SocketAddr::new(ip, sip.port().unwrap_or(transport.default_port())),
        )
    }

    /// Writes an in-dialog request (§12.2.1.1) with its Via, straight to bytes. Returns the
    /// bytes, the branch, the next hop and the local address.
    fn in_dialog_request(
        &mut self,
        id: u64,
        method: &Method,
        cseq: u32,
        extra: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
    ) -> Result<(Bytes, crate::rng::Branch, Target, SocketAddr), DialogError> {
        let d = self.dialogs.get(&id).ok_or(DialogError::UnknownDialog)?;
        let target = match d.hop {
            Some(t) => t,
            None => {
                let t = self.dialog_target(d, d.route_set.shape(&d.remote_target).next_hop);
                if let Some(d) = self.dialogs.get_mut(&id) {
                    d.hop = Some(t);
                }
                t
            }
        };
        let mut via = std::mem::take(&mut self.scratch);
        let written = self.write_local_via(&mut via, target.transport, target.addr);
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
        let mut t =
            super::ops::RequestText::new(method.as_str(), shape.request_uri, size).map_err(bad)?;
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
        let row = |t: &mut super::ops::RequestText, name: &str, value: &str| {
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
    fn send_in_dialog(
        &mut self,
        now: Instant,
        id: u64,
        method: Method,
        extra: &[(&str, &str)],
        body: Option<(&str, Bytes)>,
    ) -> Result<ClientTxId, DialogError> {
        if self.clients.len() + self.servers.len() >= self.config.max_transactions {
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
            self.in_dialog_request(id, &method, seq, extra, body_ref)?;
        let ctx = self.alloc_id();
        self.start_client_bytes(
            now,
            ctx,
            method,
            branch.as_str(),
            bytes,
            target,
            Some(local),
        );
        Ok(ClientTxId(ctx))
    }

    /// Sends a request inside a confirmed dialog (INFO, MESSAGE, UPDATE, OPTIONS, ...;
    /// §12.2.1.1). Its responses arrive as [`Event::DialogResponse`]; a 481 or 408 ends the
    /// dialog (§12.2.1.2). Use [`Endpoint::reinvite`], [`Endpoint::hangup`] and
    /// [`Endpoint::refer`] for INVITE, BYE and REFER.
    pub fn send_in_dialog_request(
        &mut self,
        now: Instant,
        dialog: DialogId,
        method: Method,
        headers: &[(&str, &str)],
        body: Option<(&str, Bytes)>,
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
        let ctx = self.send_in_dialog(now, dialog.0, method, headers, body)?;
        self.tx_usage.insert(ctx.0, Usage::Request(dialog.0));
        Ok(ctx)
    }

    /// Sends a re-INVITE (a target refresh, possibly with a new offer; §14.1). Refused while
    /// another INVITE transaction of the dialog is pending, either way.
    pub fn reinvite(
        &mut self,
        now: Instant,
        dialog: DialogId,
        body: Option<(&str, Bytes)>,
    ) -> Result<ClientTxId, DialogError> {
        let d = self.live_dialog(dialog)?;
        if d.state != DialogState::Confirmed {
            return Err(DialogError::NotConfirmed);
        }
        if d.invite_ctx.is_some() || d.invite_stx.is_some() || d.ok.is_some() {
            return Err(DialogError::InvitePending);
        }
        let keep = body
            .as_ref()
            .map(|(c, b)| (Box::<str>::from(*c), b.clone()));
        let ctx = self.send_in_dialog(now, dialog.0, Method::Invite, &[], body)?;
        if let Some(d) = self.dialogs.get_mut(&dialog.0) {
            d.invite_ctx = Some(ctx);
        }
        self.reinvite_bodies.insert(ctx.0, keep);
        self.tx_usage.insert(ctx.0, Usage::Invite(dialog.0));
        Ok(ctx)
    }

    fn send_bye(&mut self, now: Instant, id: u64) -> Result<ClientTxId, DialogError> {
        let ctx = self.send_in_dialog(now, id, Method::Bye, &[], None)?;
        self.tx_usage.insert(ctx.0, Usage::Bye(id));
        Ok(ctx)
    }

    /// Hangs up, whatever the call's state: a confirmed dialog gets BYE (§15.1.1; the UAS
    /// waits for the ACK of its 2xx first, §15); an outgoing call not yet answered is
    /// cancelled (§9.1); an incoming call not yet answered is declined with 603.
    pub fn hangup(&mut self, now: Instant, dialog: DialogId) -> Result<(), DialogError> {
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
                match self.cancel(now, ctx) {
                    Ok(_) | Err(EndpointError::AlreadyCancelled) => Ok(()),
                    Err(e) => Err(e.into()),
                }
            }
            (Role::Uas, DialogState::Trying | DialogState::Early) => {
                self.answer(now, dialog, 603, None)
            }
            (_, DialogState::Confirmed) => {
                if d.ok.is_some() {
                    if let Some(d) = self.dialogs.get_mut(&id) {
                        d.bye_after_ack = true;
                    }
                } else {
                    self.send_bye(now, id)?;
                }
                self.set_state(now, id, DialogState::Terminated(EndReason::LocalBye));
                Ok(())
            }
            (_, DialogState::Terminated(r)) => Err(DialogError::Terminated(r)),
        }
    }

    // ---- UAS: calls ----------------------------------------------------------------

    /// Answers an incoming INVITE (new call or re-INVITE): 1xx rings (with a To tag: the
    /// early dialog, §12.1.1), 2xx accepts (the core retransmits it until the ACK, §13.3.1.4),
    /// 3xx–6xx rejects. The Contact and the Record-Route rows are added as §12.1.1 says.
    pub fn answer(
        &mut self,
        now: Instant,
        dialog: DialogId,
        status: u16,
        body: Option<(&str, Bytes)>,
    ) -> Result<(), DialogError> {
        let d = self.live_dialog(dialog)?;
        if d.role != Role::Uas && d.invite_stx.is_none() {
            return Err(DialogError::WrongRole);
        }
        let stx = d.invite_stx.ok_or(DialogError::AlreadyAnswered)?;
        if !(100..=699).contains(&status) {
            return Err(DialogError::BadStatus(status));
        }
        let contact = d.local_contact.clone();
        let is_initial = d.state != DialogState::Confirmed;
        // §12.1.1: a dialog-creating response carries our Contact and the Record-Route rows.
        let dialog_creating = (101..300).contains(&status);
        let extra: &[(&str, &str)] = if dialog_creating {
            &[("Contact", &contact)]
        } else {
            &[]
        };
        let body_ref = body.as_ref().map(|(ct, b)| (*ct, &b[..]));
        let bytes =
            self.skeleton_response(stx, status, dialog_creating && is_initial, extra, body_ref)?;
        // The dialog follows in `invite_responded`, as for a response sent with `respond`.
        self.respond_bytes(now, stx, status, bytes)?;
        Ok(())
    }

    /// A response went out on a call's INVITE (or re-INVITE) server transaction, through
    /// `answer`, `respond` or `respond_with`: the dialog follows it (§12.1.1, §13.3.1.4).
    pub(super) fn invite_responded(
        &mut self,
        now: Instant,
        stx: ServerTxId,
        status: u16,
        bytes: &Bytes,
    ) {
        let Some(&id) = self.stx_dialog.get(&stx.0) else {
            return;
        };
        if status >= 200 {
            self.stx_dialog.remove(&stx.0);
        }
        let (transport, local, dest) = match self.servers.get(&stx.0) {
            Some(t) => (t.transport, t.local, t.target.address()),
            None => return,
        };
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
                    self.set_state(now, id, DialogState::Early);
                }
            }
            200..=299 => {
                d.invite_stx = None;
                // §13.3.1.4: the TU core retransmits the 2xx (over reliable transports only
                // the final give-up matters, since the transport does not lose it).
                let interval = if transport.is_reliable() {
                    give_up - now
                } else {
                    t1
                };
                d.ok = Some(OkRetransmit {
                    bytes: bytes.clone(),
                    transport,
                    source: local,
                    destination: dest,
                    interval,
                    next: now + interval,
                    give_up,
                });
                self.set_state(now, id, DialogState::Confirmed);
                self.arm_dialog(id);
            }
            _ => {
                d.invite_stx = None;
                if is_initial {
                    self.set_state(
                        now,
                        id,
                        DialogState::Terminated(EndReason::Rejected(status)),
                    );
                }
            }
        }
    }

    // ---- REFER ---------------------------------------------------------------------

    /// Sends a REFER in a confirmed dialog (RFC 3515) and returns at once; the outcome comes
    /// later as [`Event::Refer`]: Accepted or Rejected, Progress per NOTIFY, then Done.
    pub fn refer(
        &mut self,
        now: Instant,
        dialog: DialogId,
        refer_to: &str,
    ) -> Result<ReferId, DialogError> {
        let d = self.live_dialog(dialog)?;
        if d.state != DialogState::Confirmed {
            return Err(DialogError::NotConfirmed);
        }
        if self.refers.len() >= self.config.max_dialogs {
            return Err(DialogError::TooManyDialogs);
        }
        let refer_to = if refer_to.trim_start().starts_with('<') {
            refer_to.to_owned()
        } else {
            format!("<{refer_to}>")
        };
        let referred_by = d.local.split(";tag=").next().unwrap_or("").to_owned();
        let ctx = self.send_in_dialog(
            now,
            dialog.0,
            Method::Refer,
            &[("Refer-To", &refer_to), ("Referred-By", &referred_by)],
            None,
        )?;
        let seq = self.dialogs.get(&dialog.0).map_or(0, |d| d.local_seq);
        let rid = self.alloc_id();
        self.refers.insert(
            rid,
            ReferEntry {
                dialog: dialog.0,
                outgoing: true,
                event_id: seq,
                stx: None,
                accepted: false,
                last_status: None,
                expires_at: None,
                armed: None,
            },
        );
        self.tx_usage.insert(ctx.0, Usage::Refer(rid));
        Ok(ReferId(rid))
    }

    fn refer_in(&self, refer: ReferId) -> Result<&ReferEntry, DialogError> {
        let r = self.refers.get(&refer.0).ok_or(DialogError::UnknownRefer)?;
        if r.outgoing {
            return Err(DialogError::WrongRole);
        }
        Ok(r)
    }

    /// Accepts a received REFER: 202 Accepted, then the first NOTIFY (`100 Trying`,
    /// `Subscription-State: active`), RFC 3515 §2.4.2, §2.4.4.
    pub fn accept_refer(&mut self, now: Instant, refer: ReferId) -> Result<(), DialogError> {
        let r = self.refer_in(refer)?;
        let stx = r.stx.ok_or(DialogError::ReferAnswered)?;
        let resp = self.response(stx, 202)?.build()?;
        self.respond(now, stx, resp)?;
        let expires = self.config.refer_expires_secs;
        if let Some(r) = self.refers.get_mut(&refer.0) {
            r.stx = None;
            r.accepted = true;
            r.expires_at = Some(now + Duration::from_secs(u64::from(expires)));
        }
        self.arm_refer(refer.0);
        self.send_notify(now, refer.0, 100)
    }

    /// Rejects a received REFER with a final error status (e.g. 603).
    pub fn reject_refer(
        &mut self,
        now: Instant,
        refer: ReferId,
        status: u16,
    ) -> Result<(), DialogError> {
        if !(300..=699).contains(&status) {
            return Err(DialogError::BadStatus(status));
        }
        let r = self.refer_in(refer)?;
        let stx = r.stx.ok_or(DialogError::ReferAnswered)?;
        let resp = self.response(stx, status)?.build()?;
        self.respond(now, stx, resp)?;
        self.refers.remove(&refer.0);
        Ok(())
    }

    /// Reports the progress of the referred request (its status code) in a NOTIFY with a
    /// `message/sipfrag` body; a final status (≥ 200) terminates the subscription
    /// (`Subscription-State: terminated;reason=noresource`), RFC 3515 §2.4.5.
    pub fn notify_refer(
        &mut self,
        now: Instant,
        refer: ReferId,
        status: u16,
    ) -> Result<(), DialogError> {
        if !(100..=699).contains(&status) {
            return Err(DialogError::BadStatus(status));
        }
        let r = self.refer_in(refer)?;
        if !r.accepted {
            return Err(DialogError::ReferNotAccepted);
        }
        self.send_notify(now, refer.0, status)
    }

    fn send_notify(&mut self, now: Instant, rid: u64, status: u16) -> Result<(), DialogError> {
        let r = self.refers.get(&rid).ok_or(DialogError::UnknownRefer)?;
        let (dialog, event_id) = (r.dialog, r.event_id);
        let final_ = status >= 200;
        let remaining = r
            .expires_at
            .map_or(0, |t| t.saturating_duration_since(now).as_secs());
        let state = if final_ {
            "terminated;reason=noresource".to_owned()
        } else {
            format!("active;expires={remaining}")
        };
        let event = format!("refer;id={event_id}");
        let body = Bytes::from(sipfrag(status));
        let ctx = self.send_in_dialog(
            now,
            dialog,
            Method::Notify,
            &[("Event", &event), ("Subscription-State", &state)],
            Some(("message/sipfrag;version=2.0", body)),
        )?;
        self.tx_usage.insert(ctx.0, Usage::Notify(rid));
        if final_ {
            self.refers.remove(&rid);
        }
        Ok(())
    }

    fn end_refer(&mut self, rid: u64, final_status: Option<u16>, expired: bool) {
        if let Some(r) = self.refers.remove(&rid)
            && r.outgoing
        {
            self.event(Event::Refer {
                refer: ReferId(rid),
                dialog: DialogId(r.dialog),
                event: ReferEvent::Done {
                    final_status,
                    expired,
                },
            });
        }
    }

    /// A UAC dialog still waiting for the peer's tag, for a request from that peer.
    fn adopt_notify_dialog(
        &mut self,
        call_id: &str,
        local_tag: &str,
        req: &Request,
    ) -> Option<u64> {
        let id = self
            .dialogs
            .iter()
            .find(|(_, d)| {
                d.role == Role::Uac
                    && d.remote_tag.is_none()
                    && &*d.call_id == call_id
                    && &*d.local_tag == local_tag
            })
            .map(|(k, _)| *k)?;
        let remote_tag = req.from().and_then(|f| f.tag())?.to_owned();
        let (remote, clean) = header_text(req.headers().get(crate::message::HeaderName::From)?);
        let d = self.dialogs.get_mut(&id)?;
        d.remote_tag = Some(remote_tag.into());
        d.remote = remote;
        d.raw_text |= !clean;
        if let Some(c) = contact_target(req) {
            d.set_remote_target(c.into());
        }
        d.set_route_set(RouteSet::from_request(req));
        d.file_in(&mut self.dialog_index, id);
        Some(id)
    }

    /// Sends a REFER outside any dialog (RFC 3515 §2.4.1: it creates one, with its implicit
    /// subscription). Returns the new dialog and the REFER; progress comes as
    /// [`Event::Refer`] like for an in-dialog REFER.
    pub fn refer_out_of_dialog(
        &mut self,
        now: Instant,
        opts: InviteOptions,
        refer_to: &str,
    ) -> Result<(DialogId, ReferId), DialogError> {
        if self.dialogs.len() >= self.config.max_dialogs
            || self.refers.len() >= self.config.max_dialogs
        {
            return Err(DialogError::TooManyDialogs);
        }
        let call_id = self.ids.call_id(None);
        let tag = self.ids.tag();
        let refer_to = if refer_to.trim_start().starts_with('<') {
            refer_to.to_owned()
        } else {
            format!("<{refer_to}>")
        };
        let mut b = Request::builder(Method::Refer, &opts.uri)
            .max_forwards(70)
            .from(&opts.from, Some(&tag))
            .to(&opts.to, None)
            .call_id(&call_id)
            .cseq(1)
            .header("Refer-To", &refer_to)
            .header("Referred-By", &opts.from);
        for (n, v) in &opts.headers {
            b = b.header(n, v);
        }
        let target = first_hop(&opts, &b)?;
        let contact = match &opts.contact {
            Some(c) => Arc::from(c.as_str()),
            None => self.default_contact(target.transport, target.addr)?,
        };
        let req = b.contact(&contact).build()?;
        let ctx = self.send_own_request(now, req, target)?;
        let id = self.alloc_id();
        self.dialogs.insert(
            id,
            Box::new(DialogEntry::uac(call_id, &tag, opts, contact, target)),
        );
        let rid = self.alloc_id();
        self.refers.insert(
            rid,
            ReferEntry {
                dialog: id,
                outgoing: true,
                event_id: 1,
                stx: None,
                accepted: false,
                last_status: None,
                expires_at: None,
                armed: None,
            },
        );
        self.tx_usage.insert(ctx.0, Usage::Refer(rid));
        Ok((DialogId(id), ReferId(rid)))
    }

    // ---- incoming requests -------------------------------------------------------------

    /// Routes a request that created a server transaction: to a dialog, a new call, a
    /// REFER, or the TU as a plain request.
    pub(super) fn dispatch_request(
        &mut self,
        now: Instant,
        stx: ServerTxId,
        req: Box<Request>,
        from: SocketAddr,
    ) {
        if !self.config.dialog_layer {
            return self.event(Event::IncomingRequest {
                tx: stx,
                request: req,
            });
        }
        if req.to().and_then(|t| t.tag()).is_some() {
            return self.in_dialog_request_received(now, stx, req);
        }
        match req.method() {
            Method::Invite => self.new_incoming_call(now, stx, req, from),
            Method::Refer => self.new_incoming_dialog_refer(now, stx, req, from),
            _ => self.event(Event::IncomingRequest {
                tx: stx,
                request: req,
            }),
        }
    }

    fn new_uas_dialog(
        &mut self,
        now: Instant,
        stx: ServerTxId,
        req: &Request,
        from: SocketAddr,
    ) -> Result<u64, u16> {
        if self.dialogs.len() >= self.config.max_dialogs {
            return Err(503);
        }
        let Some(t) = self.servers.get(&stx.0) else {
            return Err(500);
        };
        let (transport, to_tag, local) = (t.transport, Box::from(t.skel.to_tag()), t.local);
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
        let (to, to_clean) = super::ops::unfolded(to);
        let (remote, remote_clean) = header_text(
            req.headers()
                .get(crate::message::HeaderName::From)
                .unwrap_or(""),
        );
        let via_natted = req
            .via()
            .is_some_and(|v| v.received().is_some() || v.rport().flatten().is_some());
        let local_contact = self
            .default_contact(transport, from)
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
        d.file_in(&mut self.dialog_index, id);
        self.dialogs.insert(id, Box::new(d));
        let _ = now;
        Ok(id)
    }

    fn new_incoming_call(
        &mut self,
        now: Instant,
        stx: ServerTxId,
        req: Box<Request>,
        from: SocketAddr,
    ) {
        match self.new_uas_dialog(now, stx, &req, from) {
            Ok(id) => {
                if let Some(d) = self.dialogs.get_mut(&id) {
                    d.invite_stx = Some(stx);
                }
                self.stx_dialog.insert(stx.0, id);
                self.event(Event::IncomingCall {
                    dialog: DialogId(id),
                    tx: stx,
                    request: req,
                });
            }
            Err(code) => self.refuse(now, stx, code),
        }
    }

    fn refuse(&mut self, now: Instant, stx: ServerTxId, code: u16) {
        if code == 503 {
            self.stats.overload_rejections += 1;
        }
        let ra = self.config.retry_after_secs.to_string();
        if let Ok(mut b) = self.response(stx, code) {
            if code == 503 || code == 500 {
                b = b.header("Retry-After", &ra);
            }
            if code == 400 {
                b = b.reason("Bad Request (missing or malformed Contact)");
            }
            if let Ok(r) = b.build() {
                let _ = self.respond(now, stx, r);
            }
        }
    }

    fn new_incoming_dialog_refer(
        &mut self,
        now: Instant,
        stx: ServerTxId,
        req: Box<Request>,
        from: SocketAddr,
    ) {
        match self.new_uas_dialog(now, stx, &req, from) {
            Ok(id) => {
                // The 202 creates the dialog (RFC 3515 §2.4.1): confirmed once accepted.
                if let Some(d) = self.dialogs.get_mut(&id) {
                    d.state = DialogState::Confirmed;
                }
                self.incoming_refer(now, id, stx, req);
            }
            Err(code) => self.refuse(now, stx, code),
        }
    }

    fn incoming_refer(&mut self, now: Instant, dialog: u64, stx: ServerTxId, req: Box<Request>) {
        let refer_to = match req.refer_to() {
            Some(Ok(r)) => r.as_str().to_owned(),
            _ => {
                // RFC 3515 §2.4.1: exactly one Refer-To, else 400.
                if let Ok(b) = self.response(stx, 400)
                    && let Ok(r) = b
                        .reason("Bad Request (missing or malformed Refer-To)")
                        .build()
                {
                    let _ = self.respond(now, stx, r);
                }
                return;
            }
        };
        if self.refers.len() >= self.config.max_dialogs {
            return self.refuse(now, stx, 503);
        }
        let referred_by = req
            .headers()
            .get(crate::message::HeaderName::ReferredBy)
            .map(str::to_owned);
        let event_id = req.cseq().map_or(0, |c| c.0);
        let rid = self.alloc_id();
        self.refers.insert(
            rid,
            ReferEntry {
                dialog,
                outgoing: false,
                event_id,
                stx: Some(stx),
                accepted: false,
                last_status: None,
                expires_at: None,
                armed: None,
            },
        );
        self.event(Event::ReferReceived {
            refer: ReferId(rid),
            dialog: DialogId(dialog),
            refer_to,
            referred_by,
        });
    }

    fn in_dialog_request_received(&mut self, now: Instant, stx: ServerTxId, req: Box<Request>) {
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
            return self.refuse(now, stx, 481);
        };
        let method = req.method().clone();
        if method == Method::Notify
            && self
                .dialogs
                .get(&id)
                .is_some_and(|d| d.state == DialogState::Trying)
        {
            self.set_state(now, id, DialogState::Confirmed);
        }
        let d = &self.dialogs[&id];
        if let DialogState::Terminated(_) = d.state {
            // RFC 5407 §3.1.2: a BYE crossing ours gets 200, not 481.
            let code = if method == Method::Bye { 200 } else { 481 };
            return self.refuse(now, stx, code);
        }
        // §12.2.2: CSeq must grow.
        let cseq = req.cseq().map_or(0, |c| c.0);
        if d.remote_seq.is_some_and(|r| cseq < r) {
            return self.refuse(now, stx, 500);
        }
        let refresh = is_target_refresh(&method);
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        d.remote_seq = Some(cseq.max(d.remote_seq.unwrap_or(0)));
        match method {
            Method::Bye => {
                let _ = self.respond_with(now, stx, 200);
                let Some(d) = self.dialogs.get_mut(&id) else {
                    return;
                };
                let pending = d.invite_stx.take();
                d.ok = None;
                if let Some(p) = pending {
                    let _ = self.respond_with(now, p, 487);
                }
                self.set_state(now, id, DialogState::Terminated(EndReason::RemoteBye));
            }
            Method::Invite => {
                // §14.2: glare and overlapping re-INVITEs.
                if d.invite_ctx.is_some() {
                    return self.refuse(now, stx, 491);
                }
                if d.invite_stx.is_some() || d.ok.is_some() {
                    return self.refuse(now, stx, 500);
                }
                if let Some(c) = contact_target(&req) {
                    d.set_remote_target(c.into());
                }
                d.invite_stx = Some(stx);
                self.stx_dialog.insert(stx.0, id);
                self.event(Event::DialogRequest {
                    dialog: DialogId(id),
                    tx: stx,
                    request: req,
                });
            }
            Method::Refer => self.incoming_refer(now, id, stx, req),
            Method::Notify
                if req
                    .event()
                    .and_then(Result::ok)
                    .is_some_and(|e| e.value.eq_ignore_ascii_case("refer")) =>
            {
                self.refer_notify(now, id, stx, &req);
            }
            _ => {
                if refresh && let Some(c) = contact_target(&req) {
                    d.set_remote_target(c.into());
                }
                self.event(Event::DialogRequest {
                    dialog: DialogId(id),
                    tx: stx,
                    request: req,
                });
            }
        }
    }

    fn refer_notify(&mut self, now: Instant, dialog: u64, stx: ServerTxId, req: &Request) {
        let id_param = req
            .event()
            .and_then(Result::ok)
            .and_then(|e| e.id().and_then(|i| i.parse::<u32>().ok()));
        let found = self
            .refers
            .iter()
            .filter(|(_, r)| {
                r.outgoing && r.dialog == dialog && id_param.is_none_or(|i| i == r.event_id)
            })
            .map(|(k, _)| *k)
            .min();
        let Some(rid) = found else {
            self.stats.unknown_dialog += 1;
            return self.refuse(now, stx, 481);
        };
        let _ = self.respond_with(now, stx, 200);
        let status = parse_sipfrag_status(req.body());
        let sub = req.subscription_state().and_then(Result::ok);
        let terminated = sub.is_some_and(|s| s.value.eq_ignore_ascii_case("terminated"));
        let expires = sub.and_then(|s| s.expires());
        let Some(r) = self.refers.get_mut(&rid) else {
            return;
        };
        if !r.accepted {
            // A NOTIFY may overtake the 202 (RFC 3515 §2.4.4): it implies acceptance.
            r.accepted = true;
            self.event(Event::Refer {
                refer: ReferId(rid),
                dialog: DialogId(dialog),
                event: ReferEvent::Accepted,
            });
        }
        let Some(r) = self.refers.get_mut(&rid) else {
            return;
        };
        if let Some(s) = status {
            r.last_status = Some(s);
            self.event(Event::Refer {
                refer: ReferId(rid),
                dialog: DialogId(dialog),
                event: ReferEvent::Progress(s),
            });
        }
        if terminated {
            let last = self.refers.get(&rid).and_then(|r| r.last_status);
            self.end_refer(rid, last, false);
        } else if let Some(e) = expires
            && let Some(r) = self.refers.get_mut(&rid)
        {
            r.expires_at = Some(now + Duration::from_secs(u64::from(e)) + Duration::from_secs(1));
            self.arm_refer(rid);
        }
    }

    /// An ACK that no INVITE server transaction took: the ACK for a 2xx (§13.3.1.4).
    pub(super) fn dispatch_ack(&mut self, now: Instant, req: Box<Request>, from: SocketAddr) {
        if !self.config.dialog_layer {
            return self.event(Event::Ack { request: req, from });
        }
        let found = self.find_dialog(
            req.call_id().unwrap_or(""),
            req.to().and_then(|t| t.tag()).unwrap_or(""),
            req.from().and_then(|f| f.tag()).unwrap_or(""),
        );
        let Some(id) = found else {
            return self.event(Event::Ack { request: req, from });
        };
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        if d.ok.is_none() && d.state != DialogState::Confirmed {
            // The TU answered through the transaction API, not the dialog: pass it on.
            return self.event(Event::Ack { request: req, from });
        }
        if d.ok.take().is_none() {
            return; // a duplicate ACK
        }
        let bye = std::mem::take(&mut d.bye_after_ack);
        self.arm_dialog(id);
        self.event(Event::AckReceived {
            dialog: DialogId(id),
            request: req,
        });
        if bye {
            let _ = self.send_bye(now, id);
        }
    }

    /// The INVITE server transaction of a call was cancelled (§9.2).
    pub(super) fn dispatch_cancelled(&mut self, now: Instant, stx: ServerTxId) {
        let Some(id) = self.stx_dialog.remove(&stx.0) else {
            return;
        };
        if let Some(d) = self.dialogs.get_mut(&id) {
            d.invite_stx = None;
            if d.state != DialogState::Confirmed {
                self.set_state(now, id, DialogState::Terminated(EndReason::Cancelled));
            }
        }
    }

    // ---- responses -------------------------------------------------------------------

    /// Routes a response of a client transaction to its dialog usage; `true` if taken.
    pub(super) fn dispatch_response(
        &mut self,
        now: Instant,
        ctx: ClientTxId,
        resp: Box<Response>,
    ) -> Option<Box<Response>> {
        let Some(&usage) = self.tx_usage.get(&ctx.0) else {
            return Some(resp);
        };
        match usage {
            Usage::Invite(id) => self.invite_response(now, ctx, id, resp),
            Usage::Request(id) => {
                let code = resp.status();
                self.event(Event::DialogResponse {
                    dialog: DialogId(id),
                    tx: ctx,
                    response: resp,
                });
                self.end_on_481_408(now, id, code);
            }
            Usage::Bye(id) => {
                if resp.status() >= 200 {
                    self.event(Event::ByeCompleted {
                        dialog: DialogId(id),
                        outcome: Ok(resp.status()),
                    });
                }
            }
            Usage::Notify(_) => {}
            Usage::Register(id) => self.register_response(now, id, &resp),
            Usage::Refer(rid) => {
                // (A refer already gone still takes its response: `None` = taken.)
                let r = self.refers.get_mut(&rid)?;
                let dialog = r.dialog;
                let code = resp.status();
                if (200..300).contains(&code)
                    && self
                        .dialogs
                        .get(&dialog)
                        .is_some_and(|d| d.remote_tag.is_none())
                {
                    self.learn_remote(dialog, &resp, true);
                }
                if (200..300).contains(&code)
                    && self
                        .dialogs
                        .get(&dialog)
                        .is_some_and(|d| d.state == DialogState::Trying)
                {
                    self.set_state(now, dialog, DialogState::Confirmed);
                }
                // (A refer already gone still takes its response: `None` = taken.)
                let r = self.refers.get_mut(&rid)?;
                if (200..300).contains(&code) && !r.accepted {
                    r.accepted = true;
                    r.expires_at = Some(
                        now + Duration::from_secs(u64::from(self.config.refer_expires_secs))
                            + Duration::from_secs(1),
                    );
                    self.arm_refer(rid);
                    self.event(Event::Refer {
                        refer: ReferId(rid),
                        dialog: DialogId(dialog),
                        event: ReferEvent::Accepted,
                    });
                } else if code >= 300 {
                    self.refers.remove(&rid);
                    if self
                        .dialogs
                        .get(&dialog)
                        .is_some_and(|d| d.state == DialogState::Trying)
                    {
                        self.set_state(
                            now,
                            dialog,
                            DialogState::Terminated(EndReason::Rejected(code)),
                        );
                    }
                    self.event(Event::Refer {
                        refer: ReferId(rid),
                        dialog: DialogId(dialog),
                        event: ReferEvent::Rejected(code),
                    });
                    self.end_on_481_408(now, dialog, code);
                }
            }
        }
        None
    }

    fn end_on_481_408(&mut self, now: Instant, id: u64, code: u16) {
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
                let _ = self.send_bye(now, id);
            }
            self.set_state(now, id, DialogState::Terminated(reason));
        }
    }

    /// A client transaction of a dialog usage failed (Timer B/F, transport).
    pub(super) fn dispatch_failure(
        &mut self,
        now: Instant,
        ctx: ClientTxId,
        failure: Failure,
    ) -> bool {
        let Some(usage) = self.tx_usage.remove(&ctx.0) else {
            return false;
        };
        let reason = if failure == Failure::Timeout {
            EndReason::Timeout
        } else {
            EndReason::TransportError
        };
        match usage {
            Usage::Invite(id) => {
                let d = self.dialogs.get_mut(&id);
                let initial = d
                    .as_ref()
                    .is_some_and(|d| d.state != DialogState::Confirmed);
                if let Some(d) = d {
                    d.invite_ctx = None;
                }
                if initial {
                    let forks = self
                        .dialogs
                        .get(&id)
                        .map(|d| d.forks.clone())
                        .unwrap_or_default();
                    for f in forks {
                        self.set_state(now, f, DialogState::Terminated(reason));
                    }
                    self.set_state(now, id, DialogState::Terminated(reason));
                } else {
                    let _ = self.send_bye(now, id);
                    self.set_state(now, id, DialogState::Terminated(reason));
                }
            }
            Usage::Request(id) => {
                let _ = self.send_bye(now, id);
                self.set_state(now, id, DialogState::Terminated(reason));
            }
            Usage::Bye(id) => self.event(Event::ByeCompleted {
                dialog: DialogId(id),
                outcome: Err(failure),
            }),
            Usage::Notify(_) => {}
            Usage::Register(id) => self.registration_failed(now, id, 408),
            Usage::Refer(rid) => {
                if let Some(r) = self.refers.remove(&rid) {
                    self.event(Event::Refer {
                        refer: ReferId(rid),
                        dialog: DialogId(r.dialog),
                        event: ReferEvent::Rejected(408),
                    });
                }
            }
        }
        true
    }

    /// A request of a dialog usage was re-sent with credentials as `new` with CSeq `seq`.
    pub(super) fn follow_retry(
        &mut self,
        usage: Usage,
        old: ClientTxId,
        new: ClientTxId,
        seq: u32,
    ) {
        if let Some(b) = self.reinvite_bodies.remove(&old.0) {
            self.reinvite_bodies.insert(new.0, b);
        }
        let dialog = match usage {
            Usage::Invite(d) | Usage::Bye(d) | Usage::Request(d) => Some(d),
            Usage::Refer(r) | Usage::Notify(r) => {
                let d = self.refers.get(&r).map(|x| x.dialog);
                if let (Usage::Refer(_), Some(x)) = (usage, self.refers.get_mut(&r)) {
                    x.event_id = seq; // `Event: refer;id=` is the REFER's CSeq
                }
                d
            }
            Usage::Register(id) => {
                self.set_register_cseq(id, seq);
                None
            }
        };
        if let Some(d) = dialog.and_then(|d| self.dialogs.get_mut(&d)) {
            d.local_seq = d.local_seq.max(seq);
            if d.invite_ctx == Some(old) {
                d.invite_ctx = Some(new);
                d.invite_cseq = seq;
            }
        }
    }

    pub(super) fn forget_tx_usage(&mut self, ctx: u64) {
        self.tx_usage.remove(&ctx);
        self.reinvite_bodies.remove(&ctx);
    }

    /// Picks (or creates, for a new fork) the dialog a tagged response to our INVITE belongs to.
    fn dialog_for_tag(&mut self, now: Instant, root: u64, tag: &str, resp: &Response) -> u64 {
        let Some(r) = self.dialogs.get(&root) else {
            return root;
        };
        if r.remote_tag.as_deref().is_none_or(|t| t == tag) {
            return root;
        }
        if let Some(f) = r.forks.iter().copied().find(|f| {
            self.dialogs
                .get(f)
                .is_some_and(|d| d.remote_tag.as_deref() == Some(tag))
        }) {
            return f;
        }
        // A new fork (§12.1.2, §13.2.2.4).
        let id = self.alloc_id();
        let r = &self.dialogs[&root];
        let fork = DialogEntry {
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
            ..DialogEntry::blank(Role::Uac, r.flow)
        };
        self.dialogs.insert(id, Box::new(fork));
        if let Some(r) = self.dialogs.get_mut(&root) {
            r.forks.push(id);
        }
        self.event(Event::Forked {
            dialog: DialogId(id),
            original: DialogId(root),
        });
        let _ = (now, resp);
        id
    }

    /// Takes the peer's tag, target and route set from a tagged response (§12.1.2).
    fn learn_remote(&mut self, id: u64, resp: &Response, confirm: bool) {
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        if d.remote_tag.is_none() {
            d.remote_tag = resp.to().and_then(|t| t.tag()).map(Into::into);
            let (remote, clean) = header_text(
                resp.headers()
                    .get(crate::message::HeaderName::To)
                    .unwrap_or(""),
            );
            d.remote = remote;
            d.raw_text |= !clean;
            d.file_in(&mut self.dialog_index, id);
        }
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        if let Some(c) = contact_target(resp) {
            d.set_remote_target(c.into());
        }
        // The route set is fixed by the 2xx (or the first tagged 1xx), §12.1.2 / §13.2.2.4.
        if d.state == DialogState::Trying || confirm && d.state == DialogState::Early {
            d.set_route_set(RouteSet::from_response(resp));
        }
    }

    fn invite_response(&mut self, now: Instant, ctx: ClientTxId, root: u64, resp: Box<Response>) {
        let code = resp.status();
        let is_reinvite = self
            .dialogs
            .get(&root)
            .is_some_and(|d| d.state == DialogState::Confirmed && d.invite_ctx == Some(ctx));
        if is_reinvite {
            return self.reinvite_response(now, ctx, root, resp);
        }
        let tag = resp.to().and_then(|t| t.tag());
        let tagged = tag.is_some();
        let id = match tag {
            Some(t) if code > 100 => self.dialog_for_tag(now, root, t, &resp),
            _ => root,
        };
        match code {
            100..=199 => {
                if tagged && code > 100 {
                    self.learn_remote(id, &resp, false);
                    if self
                        .dialogs
                        .get(&id)
                        .is_some_and(|d| d.state == DialogState::Trying)
                    {
                        self.set_state(now, id, DialogState::Early);
                    }
                }
                self.event(Event::DialogResponse {
                    dialog: DialogId(id),
                    tx: ctx,
                    response: resp,
                });
            }
            200..=299 => {
                let already = self
                    .dialogs
                    .get(&id)
                    .is_some_and(|d| d.state == DialogState::Confirmed);
                if already {
                    // A retransmission of the 2xx (RFC 6026): re-send our ACK.
                    if let Some((b, t)) = self.dialogs.get(&id).and_then(|d| d.ack.clone()) {
                        self.stats.retransmissions += 1;
                        self.transmit(t.transport, None, t.addr, b);
                    }
                    return;
                }
                let other_confirmed = self.dialogs.get(&root).is_some_and(|r| {
                    std::iter::once(root)
                        .chain(r.forks.iter().copied())
                        .any(|x| {
                            x != id
                                && self.dialogs.get(&x).is_some_and(|d| {
                                    d.state == DialogState::Confirmed
                                        || d.state == DialogState::Terminated(EndReason::LocalBye)
                                })
                        })
                });
                self.learn_remote(id, &resp, true);
                self.send_2xx_ack(now, id, &resp);
                if let Some(r) = self.dialogs.get_mut(&root) {
                    r.invite_ctx = None;
                }
                let hangup = self.dialogs.get(&root).is_some_and(|r| r.hangup_requested);
                self.set_state(now, id, DialogState::Confirmed);
                self.event(Event::DialogResponse {
                    dialog: DialogId(id),
                    tx: ctx,
                    response: resp,
                });
                if (other_confirmed && self.config.bye_extra_forks) || hangup {
                    // §13.2.2.4 (a second fork answered) and §9.1 (the 2xx beat our CANCEL):
                    // ACK, then BYE.
                    let _ = self.send_bye(now, id);
                    let reason = if hangup {
                        EndReason::LocalBye
                    } else {
                        EndReason::OtherForkAnswered
                    };
                    self.set_state(now, id, DialogState::Terminated(reason));
                } else {
                    // Early dialogs of other forks end (§13.2.2.4); a late 2xx from one of
                    // them is still ACKed and ended above.
                    // (No allocation for an unforked call: cloning no forks is free.)
                    let forks = self
                        .dialogs
                        .get(&root)
                        .map(|r| r.forks.clone())
                        .unwrap_or_default();
                    for f in std::iter::once(root).chain(forks).filter(|x| *x != id) {
                        if self.dialogs.get(&f).is_some_and(|d| {
                            matches!(d.state, DialogState::Trying | DialogState::Early)
                        }) {
                            self.set_state(
                                now,
                                f,
                                DialogState::Terminated(EndReason::EarlyDialogEnded),
                            );
                        }
                    }
                }
            }
            _ => {
                self.event(Event::DialogResponse {
                    dialog: DialogId(id),
                    tx: ctx,
                    response: resp,
                });
                let cancelled =
                    self.dialogs.get(&root).is_some_and(|r| r.hangup_requested) && code == 487;
                let reason = if cancelled {
                    EndReason::Cancelled
                } else {
                    EndReason::Rejected(code)
                };
                let forks = self
                    .dialogs
                    .get(&root)
                    .map(|r| r.forks.clone())
                    .unwrap_or_default();
                if let Some(r) = self.dialogs.get_mut(&root) {
                    r.invite_ctx = None;
                }
                for x in std::iter::once(root).chain(forks) {
                    if self
                        .dialogs
                        .get(&x)
                        .is_some_and(|d| d.state != DialogState::Confirmed)
                    {
                        self.set_state(now, x, DialogState::Terminated(reason));
                    }
                }
            }
        }
    }

    fn reinvite_response(&mut self, now: Instant, ctx: ClientTxId, id: u64, resp: Box<Response>) {
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
                    if let Some((b, t)) = self.dialogs.get(&id).and_then(|d| d.ack.clone()) {
                        self.transmit(t.transport, None, t.addr, b);
                    }
                    return;
                }
                self.send_2xx_ack(now, id, &resp);
                if let Some(d) = self.dialogs.get_mut(&id) {
                    d.invite_ctx = None;
                }
            }
            _ => {
                if let Some(d) = self.dialogs.get_mut(&id) {
                    d.invite_ctx = None;
                }
                if code == 491 {
                    // §14.1: retry after a random interval: 2.1–4 s if we own the Call-ID
                    // (we sent the initial INVITE), 0–2 s otherwise.
                    let owner = self.dialogs.get(&id).is_some_and(|d| d.role == Role::Uac);
                    let ms = if owner {
                        self.ids.millis_between(2100, 4000)
                    } else {
                        self.ids.millis_between(0, 2000)
                    };
                    let body: Option<Body> = self.reinvite_bodies.get(&ctx.0).cloned().flatten();
                    if let Some(d) = self.dialogs.get_mut(&id) {
                        d.glare_retry = Some((now + Duration::from_millis(ms), body));
                    }
                    self.arm_dialog(id);
                }
                self.end_on_481_408(now, id, code);
            }
        }
        self.event(Event::DialogResponse {
            dialog: DialogId(id),
            tx: ctx,
            response: resp,
        });
    }

    /// Builds and sends the ACK for a 2xx (§13.2.2.4): a new request through the route
    /// set with the INVITE's CSeq number; kept to answer 2xx retransmissions.
    fn send_2xx_ack(&mut self, now: Instant, id: u64, _resp: &Response) {
        let Some(seq) = self.dialogs.get(&id).map(|d| d.invite_cseq) else {
            return;
        };
        let Ok((bytes, _, target, local)) =
            self.in_dialog_request(id, &Method::Ack, seq, &[], None)
        else {
            return;
        };
        self.transmit(target.transport, Some(local), target.addr, bytes.clone());
        if let Some(d) = self.dialogs.get_mut(&id) {
            d.ack = Some((bytes, target));
        }
        let _ = now;
    }

    /// A response no transaction took: a 2xx retransmission after the INVITE transaction
    /// ended (or from a fork after Timer M); `true` if a dialog took it.
    pub(super) fn dispatch_stray(&mut self, now: Instant, resp: &Response) -> bool {
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
                if let Some((b, t)) = self.dialogs.get(&id).and_then(|d| d.ack.clone()) {
                    self.stats.retransmissions += 1;
                    self.transmit(t.transport, None, t.addr, b);
                }
                let _ = now;
                true
            }
            None => false,
        }
    }
}

/// `<sip:sent-by>` (`sips:` over TLS), with `;transport=` for the stream transports.
/// [`unfolded`](super::ops::unfolded), owned, for a dialog to keep.
fn header_text(v: &str) -> (Box<str>, bool) {
    let (t, clean) = super::ops::unfolded(v);
    (t.into(), clean)
}

/// A From or To value with `;tag=` appended (§19.3).
fn with_tag(value: &str, tag: &str) -> Box<str> {
    let mut s = String::with_capacity(value.len() + 5 + tag.len());
    s.push_str(value);
    s.push_str(";tag=");
    s.push_str(tag);
    s.into()
}

pub(crate) fn contact_text(transport: Transport, sent_by: &str) -> String {
    let mut c = String::with_capacity(sent_by.len() + 24);
    c.push_str(if transport == Transport::Tls {
        "<sips:"
    } else {
        "<sip:"
    });
    c.push_str(sent_by);
    match transport {
        Transport::Udp | Transport::Tls => {}
        t => {
            c.push_str(";transport=");
            c.push_str(&t.via_token().to_ascii_lowercase());
        }
    }
    c.push('>');
    c
}

/// The next hop of a new out-of-dialog request: the TU's explicit target, else the
/// Request-URI's, else (only when the TU pre-loaded a Route, §8.1.2) the first Route of a
/// draft of the request.
fn first_hop(opts: &InviteOptions, b: &RequestBuilder) -> Result<Target, DialogError> {
    if let Some(t) = opts.target {
        return Ok(t);
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
