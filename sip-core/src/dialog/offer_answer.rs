//! The offer/answer state of an INVITE session (RFC 3264 §4, RFC 6337 §2, RFC 3261
//! §13.2.1): which message carried the offer now outstanding, one offer at a time, and the
//! descriptions both sides last agreed.
//!
//! RFC 6337 §2 lists the messages that may carry an offer and, for each, the messages that
//! may carry its answer. [`SdpMessage`] names them all — the reliable provisional, PRACK
//! (RFC 3262) and UPDATE (RFC 3311) included — so that those methods carry offers through
//! this same state when they come; today the dialog layer feeds it the INVITE, its 2xx and
//! the ACK.
//!
//! | state | on | next | otherwise |
//! |---|---|---|---|
//! | `Stable` | our offer in `m` | `LocalOffer(m)` | |
//! | `Stable` | their offer in `m` | `RemoteOffer(m)` | |
//! | `LocalOffer(m)` | their answer in a message `m` allows | `Stable`, media agreed | [`OfferAnswerError::NotAnAnswerHere`] |
//! | `LocalOffer(m)` | their offer | unchanged | [`OfferAnswerError::Glare`] (491, RFC 3261 §14.2, RFC 3311 §5.2) |
//! | `RemoteOffer(m)` | our answer in a message `m` allows | `Stable`, media agreed | [`OfferAnswerError::NotAnAnswerHere`] |
//! | `RemoteOffer(m)` | our offer | unchanged | [`OfferAnswerError::OfferPending`] |
//! | any | the offer's transaction fails (non-2xx to a re-INVITE, §14.1) | `Stable`, the last agreement kept | |

use super::DialogId;
use crate::sdp::negotiate::{self, Answer, LocalMedia, NegotiatedMedia, NegotiationError};
use crate::sdp::{Session, SessionDescription};

/// The kind of message an offer or answer rides in (RFC 6337 §2, RFC 3261 §13.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SdpMessage {
    /// An INVITE or re-INVITE.
    Invite,
    /// A reliable provisional response (RFC 3262).
    ReliableProvisional,
    /// A PRACK (RFC 3262).
    Prack,
    /// A 2xx to the PRACK.
    PrackSuccess,
    /// An UPDATE (RFC 3311).
    Update,
    /// A 2xx to the UPDATE.
    UpdateSuccess,
    /// A 2xx to the INVITE.
    Success,
    /// The ACK for that 2xx.
    Ack,
}

impl SdpMessage {
    /// Whether an answer to an offer carried in `self` may ride in `answer` (RFC 6337 §2.1,
    /// Table 1): INVITE → 2xx or reliable 1xx (RFC 3261 §13.2.1, RFC 3262), 2xx → ACK,
    /// reliable 1xx → PRACK, PRACK → its 2xx, UPDATE → its 2xx (RFC 3311).
    pub fn answered_by(self, answer: SdpMessage) -> bool {
        use SdpMessage::*;
        matches!(
            (self, answer),
            (Invite, Success | ReliableProvisional)
                | (Success, Ack)
                | (ReliableProvisional, Prack)
                | (Prack, PrackSuccess)
                | (Update, UpdateSuccess)
        )
    }
}

/// Where the offer/answer exchange of a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferState {
    /// No offer outstanding.
    Stable,
    /// We sent an offer in this message and await the answer.
    LocalOffer(SdpMessage),
    /// The peer sent an offer in this message and awaits our answer.
    RemoteOffer(SdpMessage),
}

/// Why an offer or answer does not fit the state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OfferAnswerError {
    /// We have an offer outstanding and the peer offered too: the request gets 491
    /// (RFC 3261 §14.2; RFC 3311 §5.2).
    #[error("offer glare: an offer of ours is outstanding")]
    Glare,
    /// The peer's offer awaits our answer: no new offer of ours until it is answered.
    #[error("an offer is outstanding")]
    OfferPending,
    /// There is no offer to answer.
    #[error("no offer to answer")]
    NoOffer,
    /// An answer in a message that cannot answer the outstanding offer (RFC 6337 §2).
    #[error("an answer to an offer in {offer:?} cannot ride in {answer:?}")]
    NotAnAnswerHere {
        /// Where the offer was.
        offer: SdpMessage,
        /// Where the answer came.
        answer: SdpMessage,
    },
    /// The body is not a session description the stack can use.
    #[error(transparent)]
    Sdp(#[from] crate::sdp::SdpError),
    /// No offered stream is acceptable (the request gets 488).
    #[error(transparent)]
    NotAcceptable(#[from] NegotiationError),
}

/// The offer/answer state of one INVITE session, with the descriptions it needs: the
/// outstanding offer, and both sides' descriptions from the last completed exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiation {
    state: OfferState,
    /// The outstanding offer (ours or theirs).
    offer: Option<Session>,
    /// Our description and theirs, as last agreed.
    local: Option<Session>,
    remote: Option<Session>,
    /// UAC: capabilities to answer an offer in the 2xx to an offerless INVITE with
    /// (`late_offer.rs`).
    late_caps: Option<Box<LocalMedia>>,
}

impl Default for Negotiation {
    fn default() -> Self {
        Negotiation::new()
    }
}

impl Negotiation {
    /// No offer yet.
    pub fn new() -> Self {
        Negotiation {
            state: OfferState::Stable,
            offer: None,
            local: None,
            remote: None,
            late_caps: None,
        }
    }

    /// Sets the capabilities a late offer is answered with.
    pub(crate) fn set_late_caps(&mut self, caps: Box<LocalMedia>) {
        self.late_caps = Some(caps);
    }

    /// Takes the capabilities a late offer is answered with (one exchange uses them).
    pub(crate) fn take_late_caps(&mut self) -> Option<Box<LocalMedia>> {
        self.late_caps.take()
    }

    /// The capabilities a late offer is answered with, if the INVITE gave them.
    pub(crate) fn late_caps(&self) -> Option<&LocalMedia> {
        self.late_caps.as_deref()
    }

    /// Where the exchange stands.
    pub fn state(&self) -> OfferState {
        self.state
    }

    /// Our description as last agreed (an offer or an answer).
    pub fn local(&self) -> Option<&Session> {
        self.local.as_ref()
    }

    /// The peer's description as last agreed.
    pub fn remote(&self) -> Option<&Session> {
        self.remote.as_ref()
    }

    /// The peer's offer awaiting our answer.
    pub fn remote_offer(&self) -> Option<&Session> {
        match self.state {
            OfferState::RemoteOffer(_) => self.offer.as_ref(),
            _ => None,
        }
    }

    /// The `o=` version for our next description: one more than our last (RFC 3264 §8),
    /// 1 for the first.
    pub fn next_version(&self) -> u64 {
        let last = match (self.state, &self.offer, &self.local) {
            (OfferState::LocalOffer(_), Some(o), _) => Some(o),
            (_, _, l) => l.as_ref(),
        };
        last.map_or(1, |s| s.origin.session_version.wrapping_add(1))
    }

    /// We send an offer in `m`.
    pub fn send_offer(&mut self, m: SdpMessage, sdp: Session) -> Result<(), OfferAnswerError> {
        match self.state {
            OfferState::Stable => {
                self.state = OfferState::LocalOffer(m);
                self.offer = Some(sdp);
                Ok(())
            }
            _ => Err(OfferAnswerError::OfferPending),
        }
    }

    /// The peer's offer arrived in `m`.
    pub fn receive_offer(&mut self, m: SdpMessage, sdp: Session) -> Result<(), OfferAnswerError> {
        match self.state {
            OfferState::Stable => {
                self.state = OfferState::RemoteOffer(m);
                self.offer = Some(sdp);
                Ok(())
            }
            OfferState::LocalOffer(_) => Err(OfferAnswerError::Glare),
            OfferState::RemoteOffer(_) => Err(OfferAnswerError::OfferPending),
        }
    }

    /// We answer the peer's offer in `m`; gives the media agreed.
    pub fn send_answer(
        &mut self,
        m: SdpMessage,
        sdp: Session,
    ) -> Result<Vec<NegotiatedMedia>, OfferAnswerError> {
        let OfferState::RemoteOffer(o) = self.state else {
            return Err(OfferAnswerError::NoOffer);
        };
        if !o.answered_by(m) {
            return Err(OfferAnswerError::NotAnAnswerHere {
                offer: o,
                answer: m,
            });
        }
        let offer = self.offer.take().ok_or(OfferAnswerError::NoOffer)?;
        let media = negotiate::negotiated(&sdp, &offer);
        self.local = Some(sdp);
        self.remote = Some(offer);
        self.state = OfferState::Stable;
        Ok(media)
    }

    /// The peer's answer to our offer arrived in `m`; gives the media agreed.
    pub fn receive_answer(
        &mut self,
        m: SdpMessage,
        sdp: Session,
    ) -> Result<Vec<NegotiatedMedia>, OfferAnswerError> {
        let OfferState::LocalOffer(o) = self.state else {
            return Err(OfferAnswerError::NoOffer);
        };
        if !o.answered_by(m) {
            return Err(OfferAnswerError::NotAnAnswerHere {
                offer: o,
                answer: m,
            });
        }
        let offer = self.offer.take().ok_or(OfferAnswerError::NoOffer)?;
        let media = negotiate::negotiated(&offer, &sdp);
        self.local = Some(offer);
        self.remote = Some(sdp);
        self.state = OfferState::Stable;
        Ok(media)
    }

    /// The transaction that carried the outstanding offer failed (a non-2xx final response
    /// to a re-INVITE, §14.1, or to an UPDATE): the session stays as last agreed.
    pub fn offer_failed(&mut self) {
        self.state = OfferState::Stable;
        self.offer = None;
    }

    /// Answers the peer's outstanding offer from `caps` (see [`negotiate::answer`]),
    /// without sending: the caller sends the answer in `m` and then calls
    /// [`Negotiation::send_answer`].
    pub fn build_answer(&self, caps: &LocalMedia) -> Result<Answer, OfferAnswerError> {
        let offer = self.remote_offer().ok_or(OfferAnswerError::NoOffer)?;
        let mut caps = caps.clone();
        // The session id stays what it was in our earlier descriptions (RFC 3264 §8).
        if let Some(id) = self
            .local
            .as_ref()
            .and_then(|l| l.origin.session_id.parse().ok())
        {
            caps.session_id = id;
        }
        Ok(negotiate::answer(offer, &caps, self.next_version())?)
    }

    /// The hold offer from our last description (RFC 3264 §8.4).
    pub fn hold_offer(&self) -> Option<SessionDescription> {
        self.local.as_ref().map(negotiate::hold)
    }

    /// The offer taking the session off hold.
    pub fn resume_offer(&self) -> Option<SessionDescription> {
        self.local.as_ref().map(negotiate::resume)
    }
}

/// The media a completed offer/answer exchange agreed, for the application's RTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaUpdate {
    /// The dialog.
    pub dialog: DialogId,
    /// One entry per stream in use (rejected and disabled streams are left out); empty when
    /// the session has no usable stream left.
    pub media: Vec<NegotiatedMedia>,
}

#[cfg(test)]
mod tests;
