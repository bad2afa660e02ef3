//! The dialog layer: the transaction user of RFC 3261 §12–§15 (dialogs, INVITE sessions
//! with forks, 2xx retransmission and ACK, glare, BYE, CANCEL) and of RFC 3515 (REFER and its
//! implicit subscription), with RFC 5407's crossed BYEs and RFC 6026's 2xx handling.
//!
//! It owns its state — the dialogs, their index, the REFER subscriptions, which client
//! transaction serves which dialog usage, its timers — and talks to its neighbours only
//! through typed values: what the transaction layer reports comes in as [`Up`] values
//! ([`DialogLayer::on_up`]), what the dialog layer wants done goes down through the
//! [`Transactions`] service (start a client transaction, answer a server transaction,
//! cancel, send an ACK), and what the application must hear goes out as [`DialogEvent`]s.
//! It never sees the transaction layer's tables, so it is unit-tested with a fake below it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;

use super::ended::{DialogRef, EndedDialog};
use super::entry::DialogEntry;
use super::{DialogId, DialogInfo, DialogState, EndReason, ReferEvent, ReferId, Role, RouteSet};
use crate::key_index::KeyIndex;
use crate::message::{Request, Response};
use crate::rng::IdGenerator;
use crate::timer::TimerQueue;
use crate::transaction::TimerConfig;
use crate::transaction::layer::{
    ClientTxId, Failure, ServerTxId, Target, Transactions, Transmit, Up,
};

pub(super) type Map<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// Gives `m`'s memory back after a peak (see [`crate::capacity`]).
fn shrink_map<K: Eq + std::hash::Hash, V>(m: &mut Map<K, V>) {
    if let Some(to) = crate::capacity::shrink_to(m.len(), m.capacity()) {
        m.shrink_to(to);
    }
}

/// The settings of the dialog layer (a part of `EndpointConfig`).
#[derive(Debug, Clone)]
pub(crate) struct DialogConfig {
    pub timers: TimerConfig,
    /// Most dialogs not yet terminated.
    pub max_dialogs: usize,
    /// Most terminated dialogs kept for late messages (64·T1 each).
    pub max_ended: usize,
    pub bye_extra_forks: bool,
    pub refer_expires_secs: u32,
    pub retry_after_secs: u32,
    /// How long a confirmed dialog may live (see [`super::guard`]).
    pub guard: super::DialogGuard,
    /// Where the BYE after a missing ACK may go (see [`super::no_ack`]).
    pub no_ack_bye: super::NoAckBye,
    /// Session timers (see [`super::session_timer`]).
    pub session_timers: super::SessionTimers,
    /// Info Packages received (see [`super::info`]); `None`: legacy INFO.
    pub info_packages: Option<Vec<String>>,
    /// Track offer/answer in INVITE sessions (see `media_session`).
    pub offer_answer: bool,
    /// Reliable provisional responses (see [`super::prack`]).
    pub prack: super::ReliableProvisionals,
    /// The `Allow` value of the endpoint: written on INVITEs and their 2xx when session
    /// timers are on, so the peer can refresh by UPDATE (RFC 4028 §7.4).
    pub allow: Box<str>,
}

/// What the dialog layer tells the application (the endpoint turns each into its `Event`).
#[derive(Debug)]
pub(crate) enum DialogEvent {
    IncomingCall {
        dialog: DialogId,
        tx: ServerTxId,
        request: Box<Request>,
        replaces: Option<DialogId>,
    },
    StateChanged {
        dialog: DialogId,
        state: DialogState,
    },
    Forked {
        dialog: DialogId,
        original: DialogId,
    },
    Response {
        dialog: DialogId,
        tx: ClientTxId,
        response: Box<Response>,
    },
    ByeCompleted {
        dialog: DialogId,
        outcome: Result<u16, Failure>,
    },
    Request {
        dialog: DialogId,
        tx: ServerTxId,
        request: Box<Request>,
    },
    AckReceived {
        dialog: DialogId,
        request: Box<Request>,
    },
    ReferReceived {
        refer: ReferId,
        dialog: DialogId,
        refer_to: String,
        target: String,
        referred_by: Option<String>,
    },
    Refer {
        refer: ReferId,
        dialog: DialogId,
        event: ReferEvent,
    },
    MediaNegotiated {
        dialog: DialogId,
        media: Vec<crate::sdp::negotiate::NegotiatedMedia>,
    },
}

/// What the dialog layer needs around it: the transaction service below, and a way to hand
/// events to the application above.
pub(crate) trait DialogEnv: Transactions {
    /// Hands an event to the application.
    fn emit(&mut self, e: DialogEvent);
}

/// What a client transaction is for, so its responses and failures reach the right dialog.
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
    /// A PRACK the endpoint sent for a reliable provisional response (RFC 3262 §4).
    Prack(u64),
    /// An UPDATE refreshing the session timer (RFC 4028 §7.4).
    SessionRefresh(u64),
}

/// A body and its Content-Type, kept to re-send.
pub(super) type Body = (Box<str>, Bytes);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DialogTimer {
    Dialog(u64),
    Refer(u64),
}

/// Counters of the dialog layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DialogStats {
    pub retransmissions: u64,
    pub overload_rejections: u64,
    pub unknown_dialog: u64,
}

/// A REFER subscription, sent or received (RFC 3515).
#[derive(Debug)]
pub(super) struct ReferEntry {
    pub(super) dialog: u64,
    pub(super) outgoing: bool,
    /// The `id` of `Event: refer` (the REFER's CSeq number, RFC 3515 §2.4.6).
    pub(super) event_id: u32,
    /// Incoming: the REFER's server transaction until the TU answers it.
    pub(super) stx: Option<ServerTxId>,
    pub(super) accepted: bool,
    pub(super) last_status: Option<u16>,
    pub(super) expires_at: Option<Instant>,
    pub(super) armed: Option<Instant>,
}

impl ReferEntry {
    pub(super) fn new(dialog: u64, outgoing: bool, event_id: u32) -> Self {
        ReferEntry {
            dialog,
            outgoing,
            event_id,
            stx: None,
            accepted: false,
            last_status: None,
            expires_at: None,
            armed: None,
        }
    }
}

/// Whether a queued timer entry is still the one its dialog or subscription waits for.
fn timer_live(
    dialogs: &Map<u64, Box<DialogEntry>>,
    ended: &Map<u64, Box<EndedDialog>>,
    refers: &Map<u64, ReferEntry>,
    at: Instant,
    t: &DialogTimer,
) -> bool {
    match t {
        DialogTimer::Dialog(id) => match dialogs.get(id) {
            Some(d) => d.armed == Some(at),
            None => ended.get(id).is_some_and(|e| e.forget_at == at),
        },
        DialogTimer::Refer(id) => refers.get(id).is_some_and(|r| r.armed == Some(at)),
    }
}

/// Whether a queued guard check is still the one its dialog waits for.
fn guard_live(
    dialogs: &Map<u64, Box<DialogEntry>>,
    epoch: Option<Instant>,
    at: Instant,
    id: u64,
) -> bool {
    let check = |d: &DialogEntry| d.lifetime.zip(epoch).and_then(|(l, e)| l.check_at(e));
    dialogs.get(&id).is_some_and(|d| check(d) == Some(at))
}

/// The dialog layer. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct DialogLayer {
    pub(super) config: DialogConfig,
    pub(super) ids: IdGenerator,
    next_id: u64,
    pub(super) dialogs: Map<u64, Box<DialogEntry>>,
    /// Ended dialogs kept as compact records until forgotten (see [`super::ended`]); their
    /// ids are not in `dialogs`.
    pub(super) ended_dialogs: Map<u64, Box<EndedDialog>>,
    pub(super) index: KeyIndex,
    /// Client transaction → the dialog usage it serves.
    pub(super) usage: Map<u64, Usage>,
    /// A call's INVITE (or re-INVITE) server transaction → its dialog.
    pub(super) stx_dialog: Map<u64, u64>,
    pub(super) refers: Map<u64, ReferEntry>,
    /// The offer/answer state of each INVITE session that exchanged a session description
    /// (only with `offer_answer`; apart from the dialogs so a plain call pays nothing).
    pub(super) sessions: Map<u64, super::Negotiation>,
    /// The Info Packages each dialog's peer said it receives (its last Recv-Info, RFC 6086
    /// §5.2; only with `info_packages`, so a plain call pays nothing).
    pub(super) peer_info: Map<u64, Box<[Box<str>]>>,
    /// The body of each pending re-INVITE, to retry it after a 491 (§14.1).
    pub(super) reinvite_bodies: Map<u64, Option<Body>>,
    /// A call not yet answered → the dialog its Replaces names (RFC 3891).
    pub(super) replacing: Map<u64, u64>,
    /// An UPDATE server transaction whose offer awaits our answer → its dialog (RFC 3311,
    /// only with `offer_answer`).
    pub(super) update_stx: Map<u64, u64>,
    timers: TimerQueue<DialogTimer>,
    /// The lifetime guard's checks, by dialog: apart from `timers`, so the entries of
    /// dialogs that ended long before their guard's deadline (most of them) do not deepen
    /// the heap every retransmission timer goes through.
    guard_checks: TimerQueue<u64>,
    /// What the lifetime guard counts its seconds from: the first instant a dialog was
    /// confirmed (see [`super::guard::Lifetime`]).
    epoch: Option<Instant>,
    pub(super) stats: DialogStats,
    /// Terminated dialogs still kept (for late messages, until `forget_at`).
    ended: usize,
    pub(super) shedding: crate::overload::Shedding,
    pub(super) scratch: String,
    /// Dialogs whose next hop is a host name, for the endpoint to resolve (RFC 3263).
    pub(super) hops_to_resolve:
        std::collections::VecDeque<(DialogId, crate::resolver::DomainTarget, Box<str>)>,
}

impl DialogLayer {
    /// A new layer; `ids` draws its Call-IDs, tags, branches and glare delays, `hash_seed`
    /// keys its tables.
    pub(crate) fn new(config: DialogConfig, ids: IdGenerator, hash_seed: u64) -> Self {
        let hash = || foldhash::fast::FixedState::with_seed(hash_seed);
        DialogLayer {
            config,
            ids,
            next_id: 1,
            dialogs: Map::with_hasher(hash()),
            ended_dialogs: Map::with_hasher(hash()),
            index: KeyIndex::new(hash()),
            usage: Map::with_hasher(hash()),
            stx_dialog: Map::with_hasher(hash()),
            refers: Map::with_hasher(hash()),
            reinvite_bodies: Map::with_hasher(hash()),
            replacing: Map::with_hasher(hash()),
            update_stx: Map::with_hasher(hash()),
            sessions: Map::with_hasher(hash()),
            peer_info: Map::with_hasher(hash()),
            timers: TimerQueue::new(),
            guard_checks: TimerQueue::new(),
            epoch: None,
            stats: DialogStats::default(),
            ended: 0,
            shedding: crate::overload::Shedding::new("dialogs"),
            scratch: String::with_capacity(128),
            hops_to_resolve: std::collections::VecDeque::new(),
        }
    }

    pub(super) fn alloc_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub(crate) fn stats(&self) -> DialogStats {
        self.stats
    }

    // ---- what the transaction layer reports ----------------------------------------

    /// Takes what the transaction layer reported, if it is the dialog layer's; gives back
    /// what is not, for the application.
    pub(crate) fn on_up(&mut self, now: Instant, up: Up, env: &mut impl DialogEnv) -> Option<Up> {
        match up {
            Up::Request { tx, request, from } => self.dispatch_request(now, tx, request, from, env),
            Up::Response { tx, response, .. } => {
                if !self.usage.contains_key(&tx.0) {
                    return Some(Up::Response {
                        tx,
                        response,
                        challenged: None,
                    });
                }
                self.dispatch_response(now, tx, response, env);
                None
            }
            Up::ClientFailed { tx, failure } => {
                if self.dispatch_failure(now, tx, failure, env) {
                    None
                } else {
                    Some(Up::ClientFailed { tx, failure })
                }
            }
            Up::Ack { request, from } => self.dispatch_ack(now, request, from, env),
            Up::Stray { response, from } => {
                if self.dispatch_stray(now, &response, env) {
                    None
                } else {
                    Some(Up::Stray { response, from })
                }
            }
            Up::Cancelled { tx } => {
                self.dispatch_cancelled(now, tx, env);
                Some(Up::Cancelled { tx })
            }
            Up::ClientEnded { tx } => {
                self.forget_tx_usage(tx.0);
                None
            }
            Up::ServerEnded { tx } => {
                if !self.update_stx.is_empty() {
                    self.update_responded(tx, 500);
                }
                if let Some(d) = self.stx_dialog.remove(&tx.0)
                    && let Some(d) = self.dialogs.get_mut(&d)
                {
                    d.invite_stx = None;
                }
                None
            }
            other @ Up::ServerFailed { .. } => Some(other),
        }
    }

    /// Whether server transaction `tx` is a call's INVITE or re-INVITE, whose responses the
    /// dialog follows (see [`DialogLayer::responded`]).
    pub(crate) fn tracks(&self, tx: ServerTxId) -> bool {
        self.stx_dialog.contains_key(&tx.0) || self.tracks_update(tx)
    }

    /// The dialog whose INVITE or re-INVITE server transaction `tx` is.
    pub(crate) fn dialog_of(&self, tx: ServerTxId) -> Option<DialogId> {
        self.stx_dialog.get(&tx.0).map(|&d| DialogId(d))
    }

    /// Whether `refer` is a REFER we received and still serve.
    pub(crate) fn has_incoming_refer(&self, refer: ReferId) -> bool {
        self.refers.get(&refer.0).is_some_and(|r| !r.outgoing)
    }

    pub(super) fn forget_tx_usage(&mut self, ctx: u64) {
        self.usage.remove(&ctx);
        self.reinvite_bodies.remove(&ctx);
    }

    /// A request of a dialog usage was re-sent with credentials with CSeq `seq` (§22.2): the
    /// dialog's CSeq follows (§12.2.1.1).
    /// The INVITE that created a dialog went to another target of its DNS list (RFC 3263
    /// §4.3): the dialog's flow is there now.
    pub(crate) fn retargeted(&mut self, ctx: ClientTxId, target: Target) {
        let Some(&usage) = self.usage.get(&ctx.0) else {
            return;
        };
        if let Some(d) = self
            .dialog_of_usage(usage)
            .and_then(|d| self.dialogs.get_mut(&d))
            && d.invite_ctx == Some(ctx)
        {
            d.flow = target;
            d.hop = None;
        }
    }

    /// The INVITE client transaction of dialog `id` (the one that created it), while the
    /// dialog remembers it.
    pub(crate) fn invite_tx(&self, id: DialogId) -> Option<ClientTxId> {
        self.dialogs.get(&id.0)?.invite_ctx
    }

    pub(crate) fn retried(&mut self, ctx: ClientTxId, seq: u32) {
        let Some(&usage) = self.usage.get(&ctx.0) else {
            return;
        };
        let dialog = self.dialog_of_usage(usage);
        if let Usage::Refer(r) = usage
            && let Some(x) = self.refers.get_mut(&r)
        {
            x.event_id = seq; // `Event: refer;id=` is the REFER's CSeq
        }
        if let Some(d) = dialog.and_then(|d| self.dialogs.get_mut(&d)) {
            d.local_seq = d.local_seq.max(seq);
            if d.invite_ctx == Some(ctx) {
                d.invite_cseq = seq;
            }
        } else if let Some(e) = dialog.and_then(|d| self.ended_dialogs.get_mut(&d)) {
            // A BYE re-sent with credentials after the dialog ended (§22.2).
            e.local_seq = e.local_seq.max(seq);
        }
    }

    // ---- lookups -----------------------------------------------------------------

    /// The dialog a client transaction's usage belongs to.
    pub(super) fn dialog_of_usage(&self, usage: Usage) -> Option<u64> {
        match usage {
            Usage::Invite(d)
            | Usage::Bye(d)
            | Usage::Request(d)
            | Usage::Prack(d)
            | Usage::SessionRefresh(d) => Some(d),
            Usage::Refer(r) | Usage::Notify(r) => self.refers.get(&r).map(|x| x.dialog),
        }
    }

    /// Dialog `id`, live or [ended](super::ended), while the layer keeps it.
    #[inline(always)]
    pub(super) fn view(&self, id: u64) -> Option<DialogRef<'_>> {
        match self.dialogs.get(&id) {
            Some(d) => Some(DialogRef::Live(d)),
            None => self.ended_dialogs.get(&id).map(|e| DialogRef::Ended(e)),
        }
    }

    /// Whether `id` is an ended dialog kept as a compact record.
    pub(super) fn is_ended_record(&self, id: u64) -> bool {
        !self.ended_dialogs.is_empty() && self.ended_dialogs.contains_key(&id)
    }

    /// A snapshot of a dialog.
    pub(crate) fn info(&self, dialog: DialogId) -> Option<DialogInfo> {
        self.view(dialog.0).map(DialogRef::info)
    }

    /// A dialog's state.
    pub(crate) fn state(&self, dialog: DialogId) -> Option<DialogState> {
        self.view(dialog.0).map(DialogRef::state)
    }

    /// Bytes per dialog beside route sets and targets, averaged over the dialogs kept (ended
    /// ones included).
    #[cfg(any(test, feature = "introspection"))]
    pub(crate) fn footprint(&self) -> Option<usize> {
        let n = self.count();
        let live = self.dialogs.values().map(|d| d.footprint());
        let ended = self.ended_dialogs.values().map(|e| e.footprint());
        (n > 0).then(|| live.chain(ended).sum::<usize>() / n)
    }

    /// Dialogs kept, terminated ones included (they are kept 64·T1 for late messages, then
    /// forgotten).
    pub(crate) fn count(&self) -> usize {
        self.dialogs.len() + self.ended_dialogs.len()
    }

    /// Whether one more dialog fits: under the limit of dialogs not yet terminated, and
    /// under the budget of terminated ones kept for late messages (which end on their own).
    pub(super) fn room(&self) -> bool {
        self.count().saturating_sub(self.ended) < self.config.max_dialogs
            && self.ended < self.config.max_ended
    }

    /// Whether occupancy is below nine tenths of the limits (an overload episode may end).
    pub(super) fn relieved(&self) -> bool {
        let live = self.count().saturating_sub(self.ended);
        crate::overload::relieved(live, self.config.max_dialogs)
            && crate::overload::relieved(self.ended, self.config.max_ended)
    }

    /// Whether new dialogs are being refused for want of room.
    pub(crate) fn is_shedding(&self) -> bool {
        self.shedding.active()
    }

    /// What the overload warning says of the table (written only when it is logged).
    pub(super) fn occupancy(&self) -> impl FnOnce() -> String + use<> {
        let live = self.count().saturating_sub(self.ended);
        let (max, ended, max_ended) = (self.config.max_dialogs, self.ended, self.config.max_ended);
        move || format!("{live} dialogs (limit {max}), {ended} terminated kept (limit {max_ended})")
    }

    pub(super) fn live_dialog(&self, dialog: DialogId) -> Result<&DialogEntry, super::DialogError> {
        let Some(d) = self.dialogs.get(&dialog.0) else {
            return Err(self.not_live(dialog.0));
        };
        match d.state {
            DialogState::Terminated(r) => Err(super::DialogError::Terminated(r)),
            _ => Ok(d),
        }
    }

    /// Why dialog `id`, not among the live ones, refuses a command: terminated if it is an
    /// ended record, else unknown.
    #[cold]
    fn not_live(&self, id: u64) -> super::DialogError {
        match self.ended_dialogs.get(&id) {
            Some(e) => super::DialogError::Terminated(e.reason),
            None => super::DialogError::UnknownDialog,
        }
    }

    pub(super) fn find_dialog(
        &self,
        call_id: &str,
        local_tag: &str,
        remote_tag: &str,
    ) -> Option<u64> {
        self.index.find(&[call_id, local_tag, remote_tag], |id| {
            self.view(id)
                .is_some_and(|d| d.has_id(call_id, local_tag, remote_tag))
        })
    }

    pub(super) fn set_state(
        &mut self,
        now: Instant,
        id: u64,
        state: DialogState,
        env: &mut impl DialogEnv,
    ) {
        let t = self.config.timers.timer_b();
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        if d.state == state || d.state.is_terminated() {
            return;
        }
        let was_confirmed = d.state == DialogState::Confirmed;
        d.state = state;
        if state == DialogState::Confirmed {
            let epoch = *self.epoch.get_or_insert(now);
            let l = super::guard::Lifetime::new(epoch, now, &self.config.guard);
            d.lifetime = Some(l);
            if let Some(at) = l.check_at(epoch) {
                self.guard_checks.schedule(at, id);
            }
        }
        if state.is_terminated() {
            if !self.replacing.is_empty() {
                self.replacing.remove(&id);
            }
            self.ended += 1;
            // A UAC's ACK is kept while the peer may still retransmit its 2xx: until 64·T1
            // after it came (§13.3.1.4, §13.2.2.4).
            let keep_ack = d.role == Role::Uac
                && d.lifetime
                    .zip(self.epoch)
                    .is_none_or(|(l, epoch)| !l.confirmed_for(epoch, now, t));
            // Compacted below: a UAS dialog, or a UAC one that was confirmed (a UAC's
            // early dialog may still take a late 2xx, to ACK and end with BYE from its
            // whole state, §13.2.2.4).
            let compact = d.role == Role::Uas || was_confirmed;
            d.lifetime = None;
            // A hang-up before the ACK of our 2xx still waits for that ACK (or 64·T1) to send
            // its BYE (§15): the 2xx keeps being retransmitted until then.
            if !d.bye_after_ack {
                d.ok = None;
            }
            d.glare_retry = None;
            d.forget_at = Some(now + t);
            // Subscriptions of the dialog end with it.
            let mut refers: Vec<u64> = self
                .refers
                .iter()
                .filter(|(_, r)| r.dialog == id)
                .map(|(k, _)| *k)
                .collect();
            refers.sort_unstable();
            for r in refers {
                self.end_refer(r, None, false, env);
            }
            // Nothing more is sent within the dialog unless a BYE waits for our 2xx's ACK:
            // it becomes a compact record (ended.rs).
            if compact && self.retire(id, state, keep_ack) {
                // So does its offer/answer state (nothing more is offered or answered).
                if self.config.offer_answer {
                    self.sessions.remove(&id);
                }
            }
        }
        env.emit(DialogEvent::StateChanged {
            dialog: DialogId(id),
            state,
        });
        self.arm_dialog(id);
    }

    /// Moves ended dialog `id` from the live table to the ended ones (see
    /// [`super::ended`]), its forget timer with it — unless a BYE still waits for the ACK
    /// of our 2xx (§15). Whether it moved.
    fn retire(&mut self, id: u64, state: DialogState, keep_ack: bool) -> bool {
        let (DialogState::Terminated(reason), Some(d)) = (state, self.dialogs.remove(&id)) else {
            return false;
        };
        let Some(forget_at) = d.forget_at.filter(|_| !d.bye_after_ack) else {
            self.dialogs.insert(id, d);
            return false;
        };
        if d.armed != Some(forget_at) {
            self.timers.schedule(forget_at, DialogTimer::Dialog(id));
        }
        let mut d = d;
        let e = EndedDialog::new(&mut d, reason, forget_at, keep_ack);
        self.ended_dialogs.insert(id, Box::new(e));
        true
    }

    /// Forgets ended dialog `id` if its time has come.
    fn forget_ended(&mut self, now: Instant, id: u64) {
        // Its timer is live only at `forget_at` (see `timer_live`): taken out at once.
        if let Some(e) = self.ended_dialogs.remove(&id) {
            if e.forget_at > now {
                self.ended_dialogs.insert(id, e);
                return;
            }
            self.ended = self.ended.saturating_sub(1);
            if self.config.offer_answer {
                self.sessions.remove(&id);
            }
            if self.config.info_packages.is_some() {
                self.peer_info.remove(&id);
            }
            if let Some(r) = e.remote_tag() {
                self.index.remove(&[e.call_id(), e.local_tag(), r], id);
            }
        }
    }

    // ---- timers ------------------------------------------------------------------

    pub(super) fn arm_dialog(&mut self, id: u64) {
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        let next = d.next_timer();
        if next != d.armed {
            d.armed = next;
            if let Some(at) = next {
                self.timers.schedule(at, DialogTimer::Dialog(id));
            }
        }
    }

    pub(super) fn arm_refer(&mut self, id: u64) {
        let Some(r) = self.refers.get_mut(&id) else {
            return;
        };
        if r.expires_at != r.armed {
            r.armed = r.expires_at;
            if let Some(at) = r.expires_at {
                self.timers.schedule(at, DialogTimer::Refer(id));
            }
        }
    }

    fn timer_live(&self, at: Instant, t: &DialogTimer) -> bool {
        timer_live(&self.dialogs, &self.ended_dialogs, &self.refers, at, t)
    }

    /// The earliest instant a dialog, subscription or guard timer is due.
    pub(crate) fn poll_timeout(&mut self) -> Option<Instant> {
        let (dialogs, ended, refers) = (&self.dialogs, &self.ended_dialogs, &self.refers);
        let epoch = self.epoch;
        let timer = self
            .timers
            .next_live(|at, t| timer_live(dialogs, ended, refers, at, t));
        let guard = self
            .guard_checks
            .next_live(|at, id| guard_live(dialogs, epoch, at, *id));
        timer.into_iter().chain(guard).min()
    }

    /// Fires every dialog and subscription timer due at `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant, env: &mut impl DialogEnv) {
        while let Some((at, r)) = self.timers.pop_due(now) {
            if !self.timer_live(at, &r) {
                continue;
            }
            match r {
                DialogTimer::Dialog(id) => self.on_dialog_timer(now, id, env),
                DialogTimer::Refer(id) => self.on_refer_timer(now, id, env),
            }
        }
        while let Some((at, id)) = self.guard_checks.pop_due(now) {
            if guard_live(&self.dialogs, self.epoch, at, id) {
                self.on_guard_check(now, id, env);
            }
        }
        let live = self.count() + self.refers.len();
        if self.timers.len() > 1024 && self.timers.len() > 4 * live {
            let mut q = std::mem::take(&mut self.timers);
            q.compact(|at, r| self.timer_live(at, r));
            self.timers = q;
        }
        // Memory goes back after a peak of load: each table shrinks once it is at most a
        // quarter full (an O(1) check otherwise).
        shrink_map(&mut self.dialogs);
        shrink_map(&mut self.ended_dialogs);
        shrink_map(&mut self.usage);
        shrink_map(&mut self.stx_dialog);
        shrink_map(&mut self.refers);
        shrink_map(&mut self.reinvite_bodies);
        shrink_map(&mut self.replacing);
        shrink_map(&mut self.update_stx);
        shrink_map(&mut self.sessions);
        shrink_map(&mut self.peer_info);
        self.index.shrink();
        self.timers.shrink();
        if self.guard_checks.len() > 1024 && self.guard_checks.len() > 4 * self.dialogs.len() {
            let (dialogs, epoch) = (&self.dialogs, self.epoch);
            self.guard_checks
                .compact(|at, id| guard_live(dialogs, epoch, at, *id));
        }
        self.guard_checks.shrink();
    }

    fn on_dialog_timer(&mut self, now: Instant, id: u64, env: &mut impl DialogEnv) {
        let t2 = self.config.timers.t2;
        let Some(d) = self.dialogs.get_mut(&id) else {
            self.forget_ended(now, id);
            return;
        };
        d.armed = None;
        let prack = d.prack.is_some();
        if d.forget_at.is_some_and(|t| t <= now) && d.ok.is_none() {
            if let Some(d) = self.dialogs.remove(&id) {
                if d.state.is_terminated() {
                    self.ended = self.ended.saturating_sub(1);
                }
                if self.config.offer_answer {
                    self.sessions.remove(&id);
                }
                if self.config.info_packages.is_some() {
                    self.peer_info.remove(&id);
                }
                if d.bye_after_ack {
                    // Never expected: the 2xx gives up no later than the dialog is
                    // forgotten. A hang-up still hears how its BYE went.
                    env.emit(DialogEvent::ByeCompleted {
                        dialog: DialogId(id),
                        outcome: Err(Failure::NotSent),
                    });
                }
                if let Some(r) = d.remote_tag.as_deref() {
                    self.index.remove(&[&d.call_id, &d.local_tag, r], id);
                }
            }
            return;
        }
        let mut resend = None;
        let mut no_ack = false;
        if let Some(ok) = d.ok.as_mut() {
            if ok.give_up <= now {
                no_ack = true;
            } else if ok.next <= now {
                resend = Some(Transmit {
                    transport: ok.transport,
                    source: Some(ok.source),
                    destination: ok.destination,
                    bytes: ok.bytes.clone(),
                    server_name: None,
                    ws_url: None,
                });
                ok.interval = (ok.interval * 2).min(t2);
                ok.next = now + ok.interval;
            }
        }
        let glare = d.glare_retry.take_if(|g| g.at <= now);
        if let Some(t) = resend {
            self.stats.retransmissions += 1;
            env.transmit(t);
        }
        if no_ack {
            self.end_without_ack(now, id, env);
        }
        // §14.1: a re-INVITE or UPDATE that met 491 is sent again (glare.rs).
        if let Some(g) = glare {
            self.fire_glare_retry(now, id, *g, env);
        }
        if prack {
            self.prack_timer(now, id, env);
        }
        let session_due = self
            .config
            .session_timers
            .enabled
            .then(|| self.dialogs.get(&id).and_then(|d| d.session_due()))
            .flatten();
        if session_due.is_some_and(|t| t <= now) {
            self.on_session_due(now, id, env);
        }
        self.arm_dialog(id);
    }

    /// §13.3.1.4: no ACK for our 2xx within 64·T1: the dialog ends, with a BYE where
    /// [`NoAckBye`](super::NoAckBye) allows one, else here only.
    fn end_without_ack(&mut self, now: Instant, id: u64, env: &mut impl DialogEnv) {
        let policy = self.config.no_ack_bye;
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        d.ok = None;
        let hung_up = std::mem::take(&mut d.bye_after_ack);
        let source = d.flow.addr.ip();
        let hop = self.next_hop(id);
        if hop
            .as_ref()
            .is_some_and(|h| policy.allows(source, h.addr.ip()))
        {
            self.send_bye(now, id, env);
            self.set_state(now, id, DialogState::Terminated(EndReason::NoAck), env);
        } else {
            tracing::debug!(dialog = id, next_hop = ?hop, %source, "BYE after missing ACK withheld");
            if hung_up {
                // The application's hang-up still hears how its BYE went.
                env.emit(DialogEvent::ByeCompleted {
                    dialog: DialogId(id),
                    outcome: Err(Failure::NotSent),
                });
            }
            self.set_state(now, id, DialogState::Terminated(EndReason::NoAckNoBye), env);
        }
    }

    /// The lifetime guard's check of dialog `id` is due: end the dialog as a hang-up
    /// would, BYE and all (§15.1.1), if a deadline has passed; else check again at the
    /// deadline as it now stands.
    fn on_guard_check(&mut self, now: Instant, id: u64, env: &mut impl DialogEnv) {
        let (Some(d), Some(epoch)) = (self.dialogs.get_mut(&id), self.epoch) else {
            return;
        };
        let Some(l) = d.lifetime.as_mut() else {
            return;
        };
        match l.check(epoch, now, &self.config.guard) {
            Err(why) if d.state == DialogState::Confirmed => {
                tracing::debug!(dialog = id, expiry = ?why, "dialog lifetime guard fired");
                let _ = self.end_confirmed(now, id, EndReason::Expired(why), env);
            }
            Err(_) => {}
            Ok(()) => {
                if let Some(at) = l.check_at(epoch) {
                    self.guard_checks.schedule(at, id);
                }
            }
        }
    }

    /// The peer was heard from within dialog `id` at `now` (the guard's idle limit counts
    /// from there).
    pub(super) fn heard(&mut self, now: Instant, id: u64) {
        if self.config.guard.idle.is_none() {
            return; // only the idle limit counts from it
        }
        if let (Some(l), Some(e)) = (
            self.dialogs.get_mut(&id).and_then(|d| d.lifetime.as_mut()),
            self.epoch,
        ) {
            l.heard(e, now);
        }
    }

    fn on_refer_timer(&mut self, now: Instant, id: u64, env: &mut impl DialogEnv) {
        let Some(r) = self.refers.get_mut(&id) else {
            return;
        };
        r.armed = None;
        if r.expires_at.is_some_and(|t| t <= now) {
            let last = r.last_status;
            self.end_refer(id, last, true, env);
        }
    }

    // ---- helpers shared by the dialog modules -------------------------------------

    /// Queues bytes to send to `target`, with the domain its TLS server must prove and the
    /// WebSocket URL a new connection to it is opened with (RFC 7118: a dialog set up over
    /// a connection to `ws://host/sip` reconnects to `/sip`, not `/`).
    pub(super) fn send(
        env: &mut impl DialogEnv,
        target: Target,
        source: Option<SocketAddr>,
        bytes: Bytes,
    ) {
        env.transmit(Transmit {
            transport: target.transport,
            source,
            destination: target.addr,
            bytes,
            server_name: target.server_name,
            ws_url: target.ws_url,
        });
    }

    /// Files a dialog in the index once its id is complete (it has a remote tag).
    pub(super) fn file(&mut self, id: u64) {
        if let Some(d) = self.dialogs.get(&id) {
            d.file_in(&mut self.index, id);
        }
    }

    /// Takes the peer's tag, target and route set from a tagged response (§12.1.2).
    pub(super) fn learn_remote(&mut self, id: u64, resp: &Response, confirm: bool) {
        self.learn_peer_recv_info(id, resp);
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        if d.remote_tag.is_none() {
            d.remote_tag = resp.to().and_then(|t| t.tag()).map(Into::into);
            let (remote, clean) = super::entry::header_text(
                resp.headers()
                    .get(crate::message::HeaderName::To)
                    .unwrap_or(""),
            );
            d.remote = remote;
            d.raw_text |= !clean;
            d.file_in(&mut self.index, id);
        }
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        if let Some(c) = super::route::contact_target(resp) {
            d.set_remote_target(c.into());
        }
        // The route set is fixed by the 2xx (or the first tagged 1xx), §12.1.2 / §13.2.2.4.
        if d.state == DialogState::Trying || confirm && d.state == DialogState::Early {
            d.set_route_set(RouteSet::from_response(resp));
        }
    }
}
