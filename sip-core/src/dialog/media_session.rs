//! The dialog layer's side of offer/answer (RFC 3264, RFC 3261 §13.2.1, §14): the hooks that
//! feed each INVITE session's [`Negotiation`] from the bodies its INVITE, re-INVITEs, 2xx and
//! ACK carry, the 491 for a crossing offer (§14.2), the 488 for an offer nobody can use
//! (§13.3.1.3, with the Warning of §20.43), and the commands `answer_offer`, `hold` and
//! `resume`.
//!
//! Off unless `EndpointConfig::offer_answer` is set: a dialog without it keeps no
//! negotiation and every hook returns at its first test, so plain calls cost what they did.

use std::time::Instant;

use bytes::Bytes;

use super::layer::{DialogEnv, DialogEvent, DialogLayer};
use super::offer_answer::{Negotiation, OfferAnswerError, OfferState, SdpMessage};
use super::{DialogError, DialogId, DialogState};
use crate::message::Message;
use crate::sdp::negotiate::{LocalMedia, NegotiatedMedia};
use crate::sdp::{Session, SessionDescription};
use crate::transaction::layer::ServerTxId;

/// The Content-Type of a session description (RFC 3264 §2, RFC 8866 §8.1).
pub const SDP: &str = "application/sdp";

/// The session description a message carries, if its Content-Type says so and the body is
/// not empty.
pub(super) fn sdp_body(m: &Message) -> Option<&[u8]> {
    let ct = m.content_type()?.ok()?;
    let is_sdp =
        ct.kind.eq_ignore_ascii_case("application") && ct.subtype.eq_ignore_ascii_case("sdp");
    (is_sdp && !m.body().is_empty()).then(|| &m.body()[..])
}

/// Whether a request carries a session description.
pub(super) fn carries_sdp(req: &crate::message::Request) -> bool {
    sdp_body(req).is_some()
}

/// Whether a body the application sends is a session description.
fn is_sdp_type(content_type: &str) -> bool {
    let base = content_type.split(';').next().unwrap_or("").trim();
    base.eq_ignore_ascii_case(SDP)
}

/// What our outgoing body will be to the session, checked before it is sent and applied
/// once it is.
#[derive(Debug)]
pub(super) enum Outgoing {
    /// Not a session description, or offer/answer is off.
    Nothing,
    /// A new offer.
    Offer(SdpMessage, Session),
    /// The answer to the peer's offer.
    Answer(SdpMessage, Session),
}

/// The host part of our Contact, as the Warning's agent (§20.43).
fn warn_agent(contact: &str) -> &str {
    let s = contact.trim_start_matches('<');
    let s = s
        .strip_prefix("sips:")
        .or_else(|| s.strip_prefix("sip:"))
        .unwrap_or(s);
    let s = s.rsplit_once('@').map_or(s, |(_, h)| h);
    let end = s.find([';', '>', '?']).unwrap_or(s.len());
    match &s[..end] {
        "" => "-",
        h => h,
    }
}

impl DialogLayer {
    /// Checks a body we are about to send in `m` on dialog `id` against its negotiation.
    /// (Inline: with offer/answer off, a plain call pays one test.)
    #[inline]
    pub(super) fn outgoing_sdp(
        &self,
        id: u64,
        m: SdpMessage,
        body: Option<(&str, &Bytes)>,
    ) -> Result<Outgoing, DialogError> {
        if !self.config.offer_answer {
            return Ok(Outgoing::Nothing);
        }
        self.outgoing_sdp_checked(id, m, body)
    }

    #[inline(never)]
    fn outgoing_sdp_checked(
        &self,
        id: u64,
        m: SdpMessage,
        body: Option<(&str, &Bytes)>,
    ) -> Result<Outgoing, DialogError> {
        let neg = self.sessions.get(&id);
        let state = neg.map_or(OfferState::Stable, Negotiation::state);
        let Some((_, bytes)) = body.filter(|(ct, _)| is_sdp_type(ct)) else {
            // A final 2xx without the answer it owes (§13.3.1.4): refused.
            if let OfferState::RemoteOffer(o) = state
                && o.answered_by(m)
                && m == SdpMessage::Success
            {
                return Err(DialogError::AnswerRequired);
            }
            return Ok(Outgoing::Nothing);
        };
        let sdp = SessionDescription::parse(bytes)
            .map_err(OfferAnswerError::from)?
            .into_session();
        match state {
            OfferState::RemoteOffer(o) if o.answered_by(m) => Ok(Outgoing::Answer(m, sdp)),
            OfferState::Stable => Ok(Outgoing::Offer(m, sdp)),
            // A body in an unreliable 1xx previews the answer; it is not one (RFC 6337 §3.1).
            _ if m == SdpMessage::ReliableProvisional => Ok(Outgoing::Nothing),
            _ => Err(OfferAnswerError::OfferPending.into()),
        }
    }

    /// Applies a checked body once it is sent: the negotiation moves on, and an answer
    /// hands the application the media agreed.
    #[inline]
    pub(super) fn sent_sdp(&mut self, id: u64, out: Outgoing, env: &mut impl DialogEnv) {
        if matches!(out, Outgoing::Nothing) {
            return;
        }
        self.sent_sdp_taken(id, out, env);
    }

    #[inline(never)]
    fn sent_sdp_taken(&mut self, id: u64, out: Outgoing, env: &mut impl DialogEnv) {
        if !self.dialogs.contains_key(&id) {
            return;
        }
        let neg = self.sessions.entry(id).or_default();
        let media = match out {
            Outgoing::Nothing => return,
            Outgoing::Offer(m, s) => {
                let _ = neg.send_offer(m, s);
                return;
            }
            Outgoing::Answer(m, s) => neg.send_answer(m, s),
        };
        if let Ok(media) = media {
            env.emit(DialogEvent::MediaNegotiated {
                dialog: DialogId(id),
                media,
            });
        }
    }

    /// A message of the peer's in `m` on dialog `id`: its session description, if any, is an
    /// offer or the answer to ours. `Err` says what the message's sender must hear (491 for
    /// glare, 488 for a description we cannot read).
    #[inline]
    pub(super) fn incoming_sdp(
        &mut self,
        id: u64,
        m: SdpMessage,
        msg: &Message,
        env: &mut impl DialogEnv,
    ) -> Result<(), OfferAnswerError> {
        if !self.config.offer_answer {
            return Ok(());
        }
        self.incoming_sdp_taken(id, m, msg, env)
    }

    #[inline(never)]
    fn incoming_sdp_taken(
        &mut self,
        id: u64,
        m: SdpMessage,
        msg: &Message,
        env: &mut impl DialogEnv,
    ) -> Result<(), OfferAnswerError> {
        let Some(body) = sdp_body(msg) else {
            // A 2xx without the answer our INVITE's offer asked for (§13.2.1): the offer
            // is dropped rather than left outstanding for ever.
            if m == SdpMessage::Success
                && let Some(n) = self.sessions.get_mut(&id)
                && n.state() == OfferState::LocalOffer(SdpMessage::Invite)
            {
                n.offer_failed();
            }
            return Ok(());
        };
        let sdp = SessionDescription::parse(body)?.into_session();
        if !self.dialogs.contains_key(&id) {
            return Ok(());
        }
        let neg = self.sessions.entry(id).or_default();
        match neg.state() {
            OfferState::LocalOffer(o) if o.answered_by(m) => {
                let media = neg.receive_answer(m, sdp)?;
                env.emit(DialogEvent::MediaNegotiated {
                    dialog: DialogId(id),
                    media,
                });
                Ok(())
            }
            // An offer in the 2xx to our offerless INVITE wants its answer in the ACK, which
            // the core sends at once: answered there from the INVITE's late-offer
            // capabilities (late_offer.rs, which took it already), else not taken.
            OfferState::Stable if m == SdpMessage::Success || m == SdpMessage::Ack => Ok(()),
            _ => neg.receive_offer(m, sdp),
        }
    }

    /// A re-INVITE body retried after 491 (§14.1): an offer gets the `o=` version that is now
    /// next (the session may have moved on in between, RFC 3264 §8); any other body as is.
    pub(super) fn renewed_offer(&self, id: u64, content_type: &str, body: Bytes) -> Bytes {
        let Some(neg) = self.sessions.get(&id).filter(|_| is_sdp_type(content_type)) else {
            return body;
        };
        match SessionDescription::parse(&body) {
            Ok(mut sdp) => {
                sdp.edit().origin.session_version = neg.next_version();
                sdp.to_bytes()
            }
            Err(_) => body,
        }
    }

    /// The transaction that carried our outstanding offer (or theirs) failed: the session
    /// stays as last agreed (§14.1).
    #[inline]
    pub(super) fn offer_failed(&mut self, id: u64) {
        if !self.config.offer_answer {
            return;
        }
        if let Some(n) = self.sessions.get_mut(&id) {
            n.offer_failed();
        }
    }

    /// Refuses the INVITE (or re-INVITE) on `stx` for its offer: 491 for glare, else 488 with
    /// a Warning saying why (§13.3.1.3, §20.43: 399 for a description we cannot read).
    pub(super) fn refuse_offer(
        &mut self,
        now: Instant,
        id: u64,
        stx: ServerTxId,
        why: &OfferAnswerError,
        env: &mut impl DialogEnv,
    ) {
        if matches!(
            why,
            OfferAnswerError::Glare | OfferAnswerError::OfferPending
        ) {
            return self.refuse(now, stx, 491, env);
        }
        let agent = self
            .dialogs
            .get(&id)
            .map(|d| warn_agent(&d.local_contact).to_owned())
            .unwrap_or_else(|| "-".to_owned());
        let warning = match why {
            OfferAnswerError::NotAcceptable(e) => e.warning(&agent),
            other => format!("399 {agent} \"{}\"", other.to_string().replace('"', "'")),
        };
        if let Ok(b) = env.response(stx, 488)
            && let Ok(r) = b.header("Warning", &warning).build()
            && let Ok(sent) = env.respond(now, stx, r)
        {
            self.responded(now, stx, 488, &sent, env);
        }
    }

    /// Answers the peer's outstanding offer on `dialog` from `caps`: 200 with the answer
    /// (RFC 3264 §6), or 488 with Warning 304/305 when no stream is acceptable. An INVITE
    /// or re-INVITE without an offer gets our offer in the 200 (§13.2.1, §14.2): our last
    /// description unchanged (same version, RFC 3264 §8), or a first one from `caps`; its
    /// answer comes in the ACK, and the media with it.
    pub(crate) fn answer_offer(
        &mut self,
        now: Instant,
        dialog: DialogId,
        caps: &LocalMedia,
        env: &mut impl DialogEnv,
    ) -> Result<Vec<NegotiatedMedia>, DialogError> {
        if !self.config.offer_answer {
            return Err(DialogError::OfferAnswerOff);
        }
        // RFC 3311 §5.2: an UPDATE's offer is answered in its 200.
        if let Some(stx) = self.pending_update(dialog.0) {
            return self.answer_update(now, dialog, stx, caps, env);
        }
        let stx = self.invite_to_answer(dialog)?;
        self.live_dialog(dialog)?;
        let neg = self.sessions.get(&dialog.0);
        let Some(neg) = neg.filter(|n| n.remote_offer().is_some()) else {
            if neg.is_some_and(|n| n.state() != OfferState::Stable) {
                return Err(OfferAnswerError::OfferPending.into());
            }
            let offer = match neg.and_then(Negotiation::local) {
                Some(last) => SessionDescription::from(last.clone()),
                None => crate::sdp::negotiate::offer(caps, 1),
            };
            self.answer(now, dialog, 200, Some((SDP, offer.to_bytes())), env)?;
            return Ok(Vec::new());
        };
        match neg.build_answer(caps) {
            Ok(a) => {
                self.answer(now, dialog, 200, Some((SDP, a.sdp.to_bytes())), env)?;
                Ok(a.media)
            }
            Err(e @ OfferAnswerError::NotAcceptable(_)) => {
                self.refuse_offer(now, dialog.0, stx, &e, env);
                Err(e.into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Puts the session on hold (RFC 3264 §8.4) or takes it off: a re-INVITE whose offer is
    /// our last description with its directions changed and its version one higher.
    pub(crate) fn hold(
        &mut self,
        now: Instant,
        dialog: DialogId,
        on_hold: bool,
        env: &mut impl DialogEnv,
    ) -> Result<crate::transaction::layer::ClientTxId, DialogError> {
        let d = self.live_dialog(dialog)?;
        if d.state != DialogState::Confirmed {
            return Err(DialogError::NotConfirmed);
        }
        let neg = self
            .sessions
            .get(&dialog.0)
            .ok_or(DialogError::NoMediaSession)?;
        if neg.state() != OfferState::Stable {
            return Err(OfferAnswerError::OfferPending.into());
        }
        let offer = if on_hold {
            neg.hold_offer()
        } else {
            neg.resume_offer()
        };
        let offer = offer.ok_or(DialogError::NoMediaSession)?;
        self.reinvite(now, dialog, Some((SDP, offer.to_bytes())), env)
    }

    /// The negotiation of `dialog`, if offer/answer is on and a description was exchanged.
    pub(crate) fn negotiation(&self, dialog: DialogId) -> Option<&Negotiation> {
        self.sessions.get(&dialog.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_warning_agent_is_our_contact_host() {
        assert_eq!(
            warn_agent("<sip:192.0.2.1:5060;transport=tcp>"),
            "192.0.2.1:5060"
        );
        assert_eq!(
            warn_agent("<sip:pbx@[2001:db8::1]:5062>"),
            "[2001:db8::1]:5062"
        );
        assert_eq!(warn_agent(""), "-");
    }

    #[test]
    fn sdp_content_types() {
        assert!(is_sdp_type("application/sdp"));
        assert!(is_sdp_type("Application/SDP; charset=utf-8"));
        assert!(!is_sdp_type("multipart/mixed"));
    }
}
