//! Replaces (RFC 3891): an INVITE that takes the place of an existing dialog — the target
//! side of an attended transfer, or a call pickup.
//!
//! | The dialog the Replaces names (§3) | The INVITE gets |
//! |---|---|
//! | none (no dialog with that Call-ID, `to-tag` as our tag, `from-tag` as the peer's) | 481 |
//! | one not created by an INVITE (a REFER outside a dialog created it, RFC 3515 §2.4.1) | 481 |
//! | confirmed, and the header has `early-only` | 486 Busy Here |
//! | early, and we did not initiate it (we are its UAS) | 481, the early dialog left alone |
//! | terminated | 603 Declined |
//! | confirmed, or early and initiated by us | offered to the application (`IncomingCall` naming the replaced dialog) |
//! | a malformed header, or more than one | 400 |
//!
//! When the application accepts the new INVITE (2xx), the replaced dialog ends: a
//! confirmed one with BYE, an early one of ours with CANCEL (§3); the application hears it
//! as `Terminated(EndReason::Replaced)` (or `Cancelled`). A refusal leaves it as it was.

use std::time::Instant;

use super::layer::{DialogEnv, DialogLayer};
use super::{DialogState, EndReason, Role};
use crate::message::Request;
use crate::transaction::layer::ServerTxId;

/// What §3 says of a Replaces that matched a dialog in `state` on our side `role`:
/// `Ok(())` to offer the INVITE to the application, else the status to refuse it with.
pub(crate) fn verdict(
    state: DialogState,
    role: Role,
    early_only: bool,
    created_by_invite: bool,
) -> Result<(), u16> {
    // §3: "If the Replaces header field matches a dialog which was not created with an
    // INVITE, the UAS MUST reject the request with a 481".
    if !created_by_invite {
        return Err(481);
    }
    match state {
        DialogState::Terminated(_) => Err(603),
        DialogState::Confirmed if early_only => Err(486),
        DialogState::Confirmed => Ok(()),
        DialogState::Trying | DialogState::Early => match role {
            Role::Uac => Ok(()),
            Role::Uas => Err(481),
        },
    }
}

impl DialogLayer {
    /// The dialog a new INVITE's Replaces names (§3): `Ok(None)` without one, `Err` with the
    /// status to refuse the INVITE with.
    pub(super) fn replaced_by(&self, req: &Request) -> Result<Option<u64>, u16> {
        let Some(r) = req.replaces() else {
            return Ok(None);
        };
        let r = r.map_err(|_| 400u16)?;
        // `to-tag` is ours, `from-tag` the peer's (§3).
        let id = self
            .find_dialog(r.call_id, r.to_tag, r.from_tag)
            .ok_or(481u16)?;
        let d = self.view(id).ok_or(481u16)?;
        verdict(d.state(), d.role(), r.early_only, !d.created_by_refer()).map(|()| Some(id))
    }

    /// The Refer-To of an attended transfer (RFC 3891 §5, RFC 5589 §7): the consultation
    /// call's remote target with a `Replaces` header naming that call as the transfer
    /// target sees it (`to-tag` its tag, `from-tag` ours), escaped into the URI.
    pub(crate) fn attended_refer_to(
        &self,
        consultation: super::DialogId,
    ) -> Result<String, super::DialogError> {
        let d = self.live_dialog(consultation)?;
        if d.state != DialogState::Confirmed {
            return Err(super::DialogError::NotConfirmed);
        }
        let remote_tag = d
            .remote_tag
            .as_deref()
            .ok_or(super::DialogError::NotConfirmed)?;
        let replaces = crate::message::Replaces {
            call_id: &d.call_id,
            to_tag: remote_tag,
            from_tag: &d.local_tag,
            early_only: false,
        };
        let target = &*d.remote_target;
        let sep = if target.contains('?') { '&' } else { '?' };
        Ok(format!("<{target}{sep}{}>", replaces.uri_header()))
    }

    /// Refuses an INVITE whose Replaces §3 turns down.
    pub(super) fn refuse_replaces(
        &mut self,
        now: Instant,
        stx: ServerTxId,
        status: u16,
        env: &mut impl DialogEnv,
    ) {
        let sent = env.response(stx, status).and_then(|b| {
            let b = if status == 400 {
                b.reason("Bad Request (malformed Replaces)")
            } else {
                b
            };
            env.respond(now, stx, b.build()?)
        });
        if let Err(e) = sent {
            tracing::debug!(error = %e, status, "Replaces refusal not sent");
        }
    }

    /// Dialog `id` was accepted (2xx sent): the dialog it replaces ends (§3) — with BYE if
    /// confirmed, with CANCEL if it is an early dialog of ours.
    pub(super) fn replaced(&mut self, now: Instant, id: u64, env: &mut impl DialogEnv) {
        let Some(old) = self.replacing.remove(&id) else {
            return;
        };
        let Some(d) = self.dialogs.get(&old) else {
            return;
        };
        let outcome = match (d.state, d.role) {
            (DialogState::Confirmed, _) => self.end_confirmed(now, old, EndReason::Replaced, env),
            (DialogState::Trying | DialogState::Early, Role::Uac) => {
                self.hangup(now, super::DialogId(old), env)
            }
            _ => Ok(()),
        };
        if let Err(e) = outcome {
            tracing::debug!(dialog = old, error = %e, "replaced dialog not ended");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_rfc3891_s3() {
        use DialogState::*;
        let v = |s, r, e| verdict(s, r, e, true);
        assert_eq!(v(Confirmed, Role::Uas, false), Ok(()));
        assert_eq!(v(Confirmed, Role::Uac, false), Ok(()));
        assert_eq!(v(Confirmed, Role::Uac, true), Err(486));
        assert_eq!(v(Early, Role::Uac, true), Ok(()));
        assert_eq!(v(Early, Role::Uac, false), Ok(()));
        assert_eq!(v(Early, Role::Uas, false), Err(481));
        assert_eq!(v(Trying, Role::Uas, true), Err(481));
        assert_eq!(
            v(Terminated(EndReason::RemoteBye), Role::Uac, false),
            Err(603)
        );
        // A dialog a REFER created is never replaced, whatever its state.
        for s in [Confirmed, Early, Terminated(EndReason::RemoteBye)] {
            assert_eq!(verdict(s, Role::Uac, false, false), Err(481));
        }
    }
}
