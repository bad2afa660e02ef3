//! An ended dialog as the layer keeps it until it is forgotten, 64·T1 after it ended: a
//! compact record of what it still answers for, apart from the live dialogs.
//!
//! Once a dialog has ended and nothing more will be sent in it (no BYE waits for the ACK
//! of our 2xx), all it does until it is forgotten is answer late messages, found by its
//! dialog id (Call-ID, local tag, remote tag, RFC 3261 §12) through the layer's key index:
//!
//! * a BYE that crossed ours gets 200 (RFC 5407 §3.1.2), any other request 481 (§12.2.2);
//! * an ACK is handed on as for any terminated dialog;
//! * a UAC re-sends the ACK of its 2xx, to where it went, for each retransmission of that
//!   2xx (§13.2.2.4), and ACKs (then ends with BYE) the 2xx of another fork of its INVITE
//!   (§13.2.2.4) — which needs its From value, Contact and flow;
//! * an INVITE whose Replaces names it gets 603, or 481 if it was created by a REFER
//!   (RFC 3891 §3);
//! * the application still sees it terminated, with its reason, identity and CSeq numbers.
//!
//! So the live [`DialogEntry`] (480 bytes, with the header values, target, route set,
//! pending transactions, offer/answer, session-timer and 100rel state) is replaced by an
//! [`EndedDialog`] of 96 bytes: the Call-ID and tags, the reason, role, CSeq numbers and
//! forget deadline, and — for a UAC only — one box with what its ACK re-sends and forks
//! need. The record sits in a table of its own, apart from the live dialogs, and is found
//! through the same key index.
//!
//! Why this shape (measured with `linger` and `profile dialog-call`, see sip-bench's
//! README): splitting `DialogEntry` into a small part and a box of live-only state would
//! have put a second box and an indirection on every live dialog's hot path; a separate
//! record leaves the live dialog as it is. The identity strings are moved from the live
//! dialog, not copied into one allocation: one allocation would save 24 bytes of the
//! record but cost an allocation, a copy and a free per ended dialog (≈ +0.3 % of a whole
//! call's instructions), and jemalloc's size classes make the three strings take about
//! what one would.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use super::entry::DialogEntry;
use super::{DialogInfo, DialogState, EndReason, Role};
use crate::transaction::layer::Target;

/// What an ended dialog keeps until it is forgotten (see the [module docs](self)).
#[derive(Debug)]
pub(super) struct EndedDialog {
    /// The dialog id (§12): the strings the live dialog had, moved, not copied.
    call_id: Box<str>,
    local_tag: Box<str>,
    remote_tag: Option<Box<str>>,
    /// Why it ended (its state is `Terminated(reason)`).
    pub(super) reason: EndReason,
    pub(super) role: Role,
    /// Created by a REFER outside a dialog (RFC 3515 §2.4.1): a Replaces naming it gets 481
    /// (RFC 3891 §3).
    pub(super) created_by_refer: bool,
    /// UAC: a hang-up was asked for while its INVITE was pending (a late 2xx of another
    /// fork then ends with the reason `LocalBye`).
    pub(super) hangup_requested: bool,
    pub(super) local_seq: u32,
    pub(super) remote_seq: Option<u32>,
    /// When the dialog is forgotten (64·T1 after it ended).
    pub(super) forget_at: Instant,
    /// UAC only: what the ACK re-sends and new forks need.
    pub(super) uac: Option<Box<UacEnded>>,
}

/// What an ended dialog of ours (UAC) keeps beside its identity (§13.2.2.4).
#[derive(Debug)]
pub(super) struct UacEnded {
    /// Our From value, tag included: a fork answered after the end is ACKed with it.
    pub(super) local: Box<str>,
    /// `local` kept a character only the checking writer may judge (see `DialogEntry`).
    pub(super) raw_text: bool,
    pub(super) local_contact: Arc<str>,
    /// Where the INVITE went, for new forks.
    pub(super) flow: Target,
    pub(super) prefer_flow: bool,
    /// CSeq number of the INVITE (a new fork's ACK carries it).
    pub(super) invite_cseq: u32,
    /// The dialogs forked from this one.
    pub(super) forks: Vec<u64>,
    /// The ACK of the 2xx and where it went, while the 2xx may still be retransmitted
    /// (64·T1 after it came, §13.2.2.4).
    pub(super) ack: Option<(Bytes, Target)>,
}

impl EndedDialog {
    /// The record of `d`, ended with `reason`, forgotten at `forget_at`; the UAC's ACK and
    /// its hop are kept when `keep_ack`. What the record keeps is moved out of `d` (the
    /// rest is dropped with it).
    pub(super) fn new(
        d: &mut DialogEntry,
        reason: EndReason,
        forget_at: Instant,
        keep_ack: bool,
    ) -> Self {
        let uac = (d.role == Role::Uac).then(|| {
            let ack = d.ack.take().zip(d.hop.take()).filter(|_| keep_ack);
            Box::new(UacEnded {
                local: std::mem::take(&mut d.local),
                raw_text: d.raw_text,
                local_contact: d.local_contact.clone(),
                flow: d.flow.clone(),
                prefer_flow: d.prefer_flow,
                invite_cseq: d.invite_cseq,
                forks: std::mem::take(&mut d.forks),
                ack,
            })
        });
        EndedDialog {
            call_id: std::mem::take(&mut d.call_id),
            local_tag: std::mem::take(&mut d.local_tag),
            remote_tag: d.remote_tag.take(),
            reason,
            role: d.role,
            created_by_refer: d.created_by_refer,
            hangup_requested: d.hangup_requested,
            local_seq: d.local_seq,
            remote_seq: d.remote_seq,
            forget_at,
            uac,
        }
    }

    pub(super) fn call_id(&self) -> &str {
        &self.call_id
    }

    pub(super) fn local_tag(&self) -> &str {
        &self.local_tag
    }

    pub(super) fn remote_tag(&self) -> Option<&str> {
        self.remote_tag.as_deref()
    }

    pub(super) fn state(&self) -> DialogState {
        DialogState::Terminated(self.reason)
    }

    /// Whether this is the dialog with id (Call-ID, local tag, remote tag), §12.
    #[inline]
    pub(super) fn has_id(&self, call_id: &str, local_tag: &str, remote_tag: &str) -> bool {
        self.call_id() == call_id
            && self.local_tag() == local_tag
            && self.remote_tag() == Some(remote_tag)
    }

    /// The dialogs forked from this one (UAC).
    pub(super) fn forks(&self) -> &[u64] {
        self.uac.as_ref().map_or(&[], |u| u.forks.as_slice())
    }

    /// A snapshot: the identity, CSeq numbers, role and state; the header values, target
    /// and route set are gone (empty).
    pub(super) fn info(&self) -> DialogInfo {
        DialogInfo {
            call_id: self.call_id().to_owned(),
            local_tag: self.local_tag().to_owned(),
            remote_tag: self.remote_tag().map(str::to_owned),
            local: String::new(),
            remote: String::new(),
            remote_target: String::new(),
            route_set: Vec::new(),
            local_seq: self.local_seq,
            remote_seq: self.remote_seq,
            role: self.role,
            state: self.state(),
        }
    }

    /// Bytes this record takes: the struct, its strings and the UAC's box (see
    /// `DialogEntry::footprint`).
    #[cfg(any(test, feature = "introspection"))]
    pub(super) fn footprint(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.call_id.len()
            + self.local_tag.len()
            + self.remote_tag.as_ref().map_or(0, |t| t.len())
            + self.uac.as_ref().map_or(0, |u| {
                std::mem::size_of::<UacEnded>()
                    + u.local.len()
                    + u.local_contact.len()
                    + u.ack.as_ref().map_or(0, |(b, _)| b.len())
                    + u.forks.capacity() * 8
            })
    }
}

/// A dialog as the layer's lookups see it: live, or [ended](EndedDialog).
#[derive(Debug, Clone, Copy)]
pub(super) enum DialogRef<'a> {
    Live(&'a DialogEntry),
    Ended(&'a EndedDialog),
}

impl DialogRef<'_> {
    #[inline]
    pub(super) fn state(self) -> DialogState {
        match self {
            DialogRef::Live(d) => d.state,
            DialogRef::Ended(e) => e.state(),
        }
    }

    #[inline]
    pub(super) fn role(self) -> Role {
        match self {
            DialogRef::Live(d) => d.role,
            DialogRef::Ended(e) => e.role,
        }
    }

    #[inline]
    pub(super) fn remote_tag(&self) -> Option<&str> {
        match self {
            DialogRef::Live(d) => d.remote_tag.as_deref(),
            DialogRef::Ended(e) => e.remote_tag(),
        }
    }

    #[inline]
    pub(super) fn forks(&self) -> &[u64] {
        match self {
            DialogRef::Live(d) => &d.forks,
            DialogRef::Ended(e) => e.forks(),
        }
    }

    #[inline]
    pub(super) fn hangup_requested(self) -> bool {
        match self {
            DialogRef::Live(d) => d.hangup_requested,
            DialogRef::Ended(e) => e.hangup_requested,
        }
    }

    #[inline]
    pub(super) fn created_by_refer(self) -> bool {
        match self {
            DialogRef::Live(d) => d.created_by_refer,
            DialogRef::Ended(e) => e.created_by_refer,
        }
    }

    #[inline]
    pub(super) fn has_id(self, call_id: &str, local_tag: &str, remote_tag: &str) -> bool {
        match self {
            DialogRef::Live(d) => d.has_id(call_id, local_tag, remote_tag),
            DialogRef::Ended(e) => e.has_id(call_id, local_tag, remote_tag),
        }
    }

    #[inline]
    pub(super) fn info(self) -> DialogInfo {
        match self {
            DialogRef::Live(d) => d.info(),
            DialogRef::Ended(e) => e.info(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Transport;

    /// Any instant: the records only keep it.
    #[allow(clippy::disallowed_methods)]
    fn base() -> Instant {
        Instant::now()
    }

    fn entry(role: Role, remote_tag: Option<&str>) -> DialogEntry {
        let flow = Target::new(Transport::Udp, "192.0.2.1:5060".parse().unwrap());
        DialogEntry {
            call_id: "abc@host".into(),
            local_tag: "ours".into(),
            remote_tag: remote_tag.map(Into::into),
            local: "<sip:a@host>;tag=ours".into(),
            local_seq: 7,
            remote_seq: Some(3),
            ack: Some(Bytes::from_static(b"ACK")),
            hop: Some(flow.clone()),
            invite_cseq: 5,
            forks: vec![9],
            ..DialogEntry::blank(role, flow)
        }
    }

    #[test]
    fn the_record_keeps_the_identity() {
        let now = base();
        let e = EndedDialog::new(
            &mut entry(Role::Uas, Some("theirs")),
            EndReason::RemoteBye,
            now,
            true,
        );
        assert_eq!(
            (e.call_id(), e.local_tag(), e.remote_tag()),
            ("abc@host", "ours", Some("theirs"))
        );
        assert!(e.has_id("abc@host", "ours", "theirs"));
        assert!(!e.has_id("abc@host", "ours", "their"));
        assert!(!e.has_id("abc@hos", "tours", "theirs"));
        assert_eq!(e.state(), DialogState::Terminated(EndReason::RemoteBye));
        let i = e.info();
        assert_eq!((i.local_seq, i.remote_seq, i.role), (7, Some(3), Role::Uas));
        assert!(i.local.is_empty() && i.remote_target.is_empty() && i.route_set.is_empty());
        // A UAS keeps nothing of a UAC's.
        assert!(e.uac.is_none());
        assert!(e.forks().is_empty());
    }

    #[test]
    fn no_remote_tag_is_not_an_empty_one() {
        let now = base();
        let e = EndedDialog::new(
            &mut entry(Role::Uas, None),
            EndReason::Cancelled,
            now,
            false,
        );
        assert_eq!(e.remote_tag(), None);
        assert!(!e.has_id("abc@host", "ours", ""));
        let e = EndedDialog::new(
            &mut entry(Role::Uas, Some("")),
            EndReason::Cancelled,
            now,
            false,
        );
        assert!(e.has_id("abc@host", "ours", ""));
    }

    #[test]
    fn a_uac_keeps_its_ack_and_hop_only_when_asked() {
        let now = base();
        let kept = EndedDialog::new(
            &mut entry(Role::Uac, Some("t")),
            EndReason::LocalBye,
            now,
            true,
        );
        let u = kept.uac.as_ref().unwrap();
        assert_eq!(u.ack.as_ref().map(|(b, _)| &b[..]), Some(&b"ACK"[..]));
        assert_eq!(
            (u.invite_cseq, &*u.local, kept.forks()),
            (5, "<sip:a@host>;tag=ours", &[9][..])
        );
        let dropped = EndedDialog::new(
            &mut entry(Role::Uac, Some("t")),
            EndReason::LocalBye,
            now,
            false,
        );
        assert!(dropped.uac.as_ref().unwrap().ack.is_none());
    }

    #[test]
    fn the_record_is_small() {
        // What a busy UAS keeps per call for 64·T1: one size class of 96 bytes or less.
        assert!(std::mem::size_of::<EndedDialog>() <= 96);
        assert!(std::mem::size_of::<EndedDialog>() * 5 <= std::mem::size_of::<DialogEntry>());
    }
}
