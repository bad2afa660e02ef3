//! The UAC side of a late offer (RFC 3261 §13.2.1, §13.2.2.4; RFC 6337 §2.1): an INVITE
//! sent without a session description, whose 2xx carries the peer's offer, answered in the
//! ACK. The application gives its capabilities with the INVITE
//! ([`InviteOptions::late_offer`](super::InviteOptions::late_offer)), since the core sends
//! the ACK as soon as the 2xx arrives.
//!
//! | the 2xx | the ACK | then |
//! |---|---|---|
//! | an offer we can answer | the answer (`negotiate::answer` from the capabilities) | `MediaNegotiated`; the session is stable |
//! | an offer with no acceptable stream, or one that does not parse | an answer rejecting every stream (port 0) | BYE at once (§13.2.2.4), the call ends `Rejected(488)` |
//! | no body | none | as without a late offer |
//!
//! An offer in a reliable 1xx (RFC 3262 §5) is answered the same way in its PRACK, and the
//! capabilities are then spent: a session description in the 2xx that follows is not a new
//! offer. An unacceptable one gets a PRACK without an answer (the offer stays outstanding:
//! the application may CANCEL).
//!
//! Needs `EndpointConfig::offer_answer`; without it (or without capabilities) nothing here
//! runs and the ACK carries no body, as before.

use std::time::Instant;

use bytes::Bytes;

use super::layer::{DialogEnv, DialogLayer};
use super::media_session::{Outgoing, SDP, sdp_body};
use super::{DialogState, EndReason, SdpMessage};
use crate::message::Response;
use crate::sdp::negotiate::{self, LocalMedia};
use crate::sdp::{Session, SessionDescription};

/// What the ACK to a 2xx carries.
#[derive(Debug)]
pub(super) enum LateAnswer {
    /// No late offer to answer: no body.
    None,
    /// Our answer, to apply once the ACK is sent.
    Answer(Bytes, Box<Session>),
    /// The offer was not acceptable: an answer refusing every stream, then BYE.
    Refused(Bytes),
}

impl LateAnswer {
    /// The ACK's body.
    pub(super) fn body(&self) -> Option<&[u8]> {
        match self {
            LateAnswer::None => None,
            LateAnswer::Answer(b, _) | LateAnswer::Refused(b) => Some(b),
        }
    }
}

impl DialogLayer {
    /// Keeps the capabilities to answer an offer in the 2xx to our offerless INVITE on
    /// dialog `id` (only with offer/answer on).
    pub(super) fn expect_late_offer(&mut self, id: u64, caps: Option<Box<LocalMedia>>) {
        let Some(caps) = caps.filter(|_| self.config.offer_answer) else {
            return;
        };
        self.sessions.entry(id).or_default().set_late_caps(caps);
    }

    /// The answer the ACK to `resp` (a 2xx of dialog `id`) carries (§13.2.2.4).
    #[inline]
    pub(super) fn late_answer(&mut self, id: u64, resp: &Response) -> LateAnswer {
        if !self.config.offer_answer {
            return LateAnswer::None;
        }
        self.late_answer_taken(id, resp)
    }

    #[inline(never)]
    fn late_answer_taken(&mut self, id: u64, resp: &Response) -> LateAnswer {
        let Some(neg) = self.sessions.get_mut(&id) else {
            return LateAnswer::None;
        };
        let (Some(caps), Some(body)) = (neg.late_caps().cloned(), sdp_body(resp)) else {
            return LateAnswer::None;
        };
        if neg.state() != super::OfferState::Stable {
            return LateAnswer::None;
        }
        let offer = match SessionDescription::parse(body) {
            Ok(o) => o.into_session(),
            Err(e) => {
                tracing::debug!(dialog = id, error = %e, "offer in the 2xx unreadable");
                return LateAnswer::Refused(refusal(None, &caps));
            }
        };
        if neg
            .receive_offer(SdpMessage::Success, offer.clone())
            .is_err()
        {
            return LateAnswer::None;
        }
        match neg.build_answer(&caps) {
            Ok(a) => LateAnswer::Answer(a.sdp.to_bytes(), Box::new(a.sdp.into_session())),
            Err(e) => {
                tracing::debug!(dialog = id, error = %e, "offer in the 2xx not acceptable");
                neg.offer_failed();
                LateAnswer::Refused(refusal(Some(&offer), &caps))
            }
        }
    }

    /// The answer the PRACK for a reliable 1xx of dialog `id` carries, when that 1xx's offer
    /// (already taken as the peer's offer) answers our offerless INVITE (RFC 3262 §5).
    #[inline]
    pub(super) fn late_prack_answer(&mut self, id: u64) -> Option<(Bytes, Box<Session>)> {
        if !self.config.offer_answer {
            return None;
        }
        let neg = self.sessions.get_mut(&id)?;
        if neg.state() != super::OfferState::RemoteOffer(SdpMessage::ReliableProvisional) {
            return None;
        }
        let caps = neg.take_late_caps()?;
        match neg.build_answer(&caps) {
            Ok(a) => Some((a.sdp.to_bytes(), Box::new(a.sdp.into_session()))),
            Err(e) => {
                tracing::debug!(dialog = id, error = %e, "offer in the reliable 1xx not acceptable");
                None
            }
        }
    }

    /// After the ACK went: the answer is applied (the media agreed reach the application),
    /// or a refused offer's call ends with BYE (§13.2.2.4).
    pub(super) fn late_answered(
        &mut self,
        now: Instant,
        id: u64,
        late: LateAnswer,
        env: &mut impl DialogEnv,
    ) {
        match late {
            LateAnswer::None => {}
            LateAnswer::Answer(_, session) => {
                self.sent_sdp(id, Outgoing::Answer(SdpMessage::Ack, *session), env);
            }
            LateAnswer::Refused(_) => {
                self.send_bye(now, id, env);
                let state = DialogState::Terminated(EndReason::Rejected(488));
                self.set_state(now, id, state, env);
            }
        }
    }

    /// The ACK's Content-Type when it carries a body.
    pub(super) fn ack_body(late: &LateAnswer) -> Option<(&'static str, &[u8])> {
        late.body().map(|b| (SDP, b))
    }
}

/// A valid answer refusing every offered stream (port 0, RFC 3264 §6), for an offer we
/// cannot use; with no readable offer, our description with no stream.
fn refusal(offer: Option<&Session>, caps: &LocalMedia) -> Bytes {
    negotiate::refuse_all(offer, caps, 1).to_bytes()
}
