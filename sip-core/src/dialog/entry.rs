//! One dialog's state (RFC 3261 §12): its identity (Call-ID, tags), the header values its
//! requests carry, the remote target and route set, the CSeq numbers, and what its INVITE
//! session has pending (the 2xx awaiting ACK, the ACK for a 2xx, a glare retry).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{DialogInfo, DialogState, Role, RouteSet};
use crate::key_index::KeyIndex;
use crate::message::Method;
use crate::transaction::layer::{ClientTxId, ServerTxId, Target};
use crate::transport::Transport;

/// A 2xx to an INVITE being retransmitted until its ACK (§13.3.1.4).
#[derive(Debug)]
pub(crate) struct OkRetransmit {
    pub(super) bytes: Bytes,
    pub(super) transport: Transport,
    pub(super) source: SocketAddr,
    pub(super) destination: SocketAddr,
    pub(super) interval: Duration,
    pub(super) next: Instant,
    pub(super) give_up: Instant,
}

/// One dialog (or call leg before its first tagged response).
#[derive(Debug)]
pub(crate) struct DialogEntry {
    pub(super) call_id: Box<str>,
    pub(super) local_tag: Box<str>,
    pub(super) remote_tag: Option<Box<str>>,
    /// Our header value (From for the UAC, To for the UAS), tag included.
    pub(super) local: Box<str>,
    /// The peer's header value, tag included once known.
    pub(super) remote: Box<str>,
    /// A stored header value kept a CR, LF or NUL that is not a fold (see
    /// [`header_text`]): in-dialog requests then write every value through the checking
    /// writer, which refuses it.
    pub(super) raw_text: bool,
    pub(super) remote_target: Box<str>,
    pub(super) route_set: RouteSet,
    /// Where in-dialog requests go, worked out from the route set, the remote target and
    /// the flow once and kept until one of them changes (see `set_remote_target`).
    pub(super) hop: Option<Target>,
    pub(super) local_seq: u32,
    pub(super) remote_seq: Option<u32>,
    pub(super) role: Role,
    pub(super) state: DialogState,
    /// Where the dialog-creating request went to or came from.
    pub(super) flow: Target,
    /// Send in-dialog requests over `flow` rather than to the remote target: the peer is
    /// behind a NAT (its Via needed `received`/`rport`) or its Contact is not an address.
    pub(super) prefer_flow: bool,
    pub(super) local_contact: Arc<str>,
    /// UAC: the pending INVITE or re-INVITE client transaction.
    pub(super) invite_ctx: Option<ClientTxId>,
    /// CSeq number of the last INVITE we sent (its ACK carries it).
    pub(super) invite_cseq: u32,
    /// UAC: the ACK sent for the 2xx, re-sent for each 2xx retransmission to the
    /// dialog's next hop (where it went: the ACK is written after the 2xx's target
    /// refresh, and the hop is kept until the next one).
    pub(super) ack: Option<Bytes>,
    /// UAS: the pending INVITE or re-INVITE server transaction.
    pub(super) invite_stx: Option<ServerTxId>,
    /// UAS: the 2xx awaiting its ACK (boxed: it lives from the 2xx to the ACK only, and
    /// every dialog, ended ones kept 64·T1 included, carries the field).
    pub(super) ok: Option<Box<OkRetransmit>>,
    /// UAC: hang-up requested while the INVITE was pending (CANCEL sent, or BYE after 2xx).
    pub(super) hangup_requested: bool,
    /// UAS: BYE requested before the ACK came (§15: wait for it or for 64·T1).
    pub(super) bye_after_ack: bool,
    /// Created by a REFER outside a dialog (RFC 3515 §2.4.1), not by an INVITE: a
    /// Replaces naming it gets 481 (RFC 3891 §3).
    pub(super) created_by_refer: bool,
    /// A re-INVITE or UPDATE to retry after a 491 (§14.1) and when (boxed: rare, and every
    /// dialog carries the field).
    pub(super) glare_retry: Option<Box<super::glare::GlareRetry>>,
    /// Dialogs forked from this one (UAC), and the dialog this one forked from.
    pub(super) forks: Vec<u64>,
    pub(super) parent: Option<u64>,
    /// Forget a terminated dialog at this instant (kept to answer a crossed BYE 200,
    /// RFC 5407 §3.1.2, and to absorb late retransmissions).
    pub(super) forget_at: Option<Instant>,
    /// While confirmed: what the lifetime guard counts from, and its next check.
    pub(super) lifetime: Option<super::guard::Lifetime>,
    /// Session timer state (RFC 4028), only when the endpoint uses session timers.
    pub(super) session: Option<Box<super::session_timer::SessionState>>,
    /// Reliable provisional responses (RFC 3262), only where the call uses them.
    pub(super) prack: Option<Box<super::prack::PrackState>>,
    pub(super) armed: Option<Instant>,
}

impl DialogEntry {
    /// A dialog in Trying with nothing learned or pending yet; the caller fills in its
    /// identity (Call-ID, tags, header values, targets) with struct-update syntax.
    pub(super) fn blank(role: Role, flow: Target) -> DialogEntry {
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
            created_by_refer: false,
            glare_retry: None,
            forks: Vec::new(),
            parent: None,
            forget_at: None,
            lifetime: None,
            session: None,
            prack: None,
            armed: None,
        }
    }

    /// A dialog we start (INVITE or out-of-dialog REFER, §12.1.2): our From with its tag,
    /// the peer's To and the Request-URI as its target until a response says otherwise.
    pub(super) fn uac(
        call_id: String,
        tag: &str,
        opts: super::InviteOptions,
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
    pub(super) fn has_id(&self, call_id: &str, local_tag: &str, remote_tag: &str) -> bool {
        *self.call_id == *call_id
            && *self.local_tag == *local_tag
            && self.remote_tag.as_deref() == Some(remote_tag)
    }

    /// A target refresh (§12.2): a new remote target; the next hop is worked out again.
    pub(super) fn set_remote_target(&mut self, target: Box<str>) {
        self.remote_target = target;
        self.hop = None;
    }

    /// The route set (§12.1.1, §12.1.2); the next hop is worked out again.
    pub(super) fn set_route_set(&mut self, route_set: RouteSet) {
        self.route_set = route_set;
        self.hop = None;
    }

    /// Files the dialog in `index` once its id is complete (it has a remote tag).
    pub(super) fn file_in(&self, index: &mut KeyIndex, id: u64) {
        if let Some(r) = self.remote_tag.as_deref() {
            index.insert(&[&self.call_id, &self.local_tag, r], id);
        }
    }

    /// Bytes this dialog takes beside its route set and remote target: the struct and the
    /// strings it owns (the measure issue 5 asks for).
    #[cfg(any(test, feature = "introspection"))]
    pub(super) fn footprint(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.call_id.len()
            + self.local_tag.len()
            + self.remote_tag.as_ref().map_or(0, |t| t.len())
            + self.local.len()
            + self.remote.len()
            + self.local_contact.len()
            + self.ack.as_ref().map_or(0, Bytes::len)
            + self.forks.capacity() * 8
    }

    /// The dialog's next timer (the lifetime guard's checks have a queue of their own).
    pub(super) fn next_timer(&self) -> Option<Instant> {
        let ok = self.ok.as_ref().map(|o| o.next.min(o.give_up));
        let glare = self.glare_retry.as_ref().map(|g| g.at);
        // A 2xx still awaiting its ACK keeps the dialog (its BYE waits for that ACK, §15).
        let forget = self.forget_at.filter(|_| self.ok.is_none());
        let mut t = earliest(earliest(ok, glare), forget);
        if self.session.is_some() {
            t = earliest(t, self.session_due());
        }
        if let Some(p) = &self.prack {
            t = earliest(t, p.due());
        }
        t
    }

    /// The running session timer's deadline, while the dialog is confirmed (RFC 4028 §10).
    pub(super) fn session_due(&self) -> Option<Instant> {
        if self.state != DialogState::Confirmed {
            return None;
        }
        self.session.as_ref()?.active.map(|a| a.due())
    }

    pub(super) fn info(&self) -> DialogInfo {
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

/// The earlier of two optional instants.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

/// [`unfolded`](crate::message::writer::unfolded), owned, for a dialog to keep.
pub(super) fn header_text(v: &str) -> (Box<str>, bool) {
    let (t, clean) = crate::message::writer::unfolded(v);
    (t.into(), clean)
}

/// A From or To value with `;tag=` appended (§19.3).
pub(super) fn with_tag(value: &str, tag: &str) -> Box<str> {
    let mut s = String::with_capacity(value.len() + 5 + tag.len());
    s.push_str(value);
    s.push_str(";tag=");
    s.push_str(tag);
    s.into()
}

/// Whether a request of method `m` refreshes the remote target (§12.2, RFC 3311, RFC 6665).
pub(super) fn is_target_refresh(m: &Method) -> bool {
    matches!(
        m,
        Method::Invite | Method::Update | Method::Subscribe | Method::Notify | Method::Refer
    )
}
