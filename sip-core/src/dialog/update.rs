//! UPDATE (RFC 3311): a session change inside an early or confirmed dialog without
//! touching the dialog's INVITE transaction, with offer/answer when
//! `EndpointConfig::offer_answer` is on.
//!
//! | side | on | does |
//! |---|---|---|
//! | UAC | `Dialog::update(body)` in an early or confirmed dialog | UPDATE in its own transaction; an SDP body is our offer (§5.1) |
//! | UAC | 2xx to our UPDATE | its SDP is the answer: the media agreed (§5.1) |
//! | UAC | non-2xx (491, 488, …) | the offer is withdrawn, the session stays as last agreed (§5.1) |
//! | UAC | 491 | the UPDATE is sent again after RFC 3261 §14.1's random interval (`glare.rs`) |
//! | UAS | UPDATE offer while an offer of ours is unanswered (UPDATE, INVITE, 18x, PRACK) | 491 (§5.2, glare) |
//! | UAS | UPDATE offer while the peer's offer is unanswered | 500 with Retry-After 0–10 s (§5.2) |
//! | UAS | UPDATE offer otherwise | to the application; `answer_offer` answers it in the 200 (§5.2), or 488 |
//! | UAS | the application answers it some other way | the offer is dropped: the session stays as last agreed |
//!
//! With offer/answer off, UPDATE passes to the application as any in-dialog request.

use std::time::Instant;

use bytes::Bytes;

use super::layer::{DialogEnv, DialogEvent, DialogLayer};
use super::media_session::SDP;
use super::offer_answer::{OfferAnswerError, OfferState, SdpMessage};
use super::{DialogError, DialogId};
use crate::message::{Method, Request, Response};
use crate::sdp::negotiate::{LocalMedia, NegotiatedMedia};
use crate::transaction::layer::{ClientTxId, ServerTxId};

/// Why an incoming UPDATE's offer is refused before the application sees it (§5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UpdateRefusal {
    /// 491: an offer of ours is outstanding.
    Glare,
    /// 500 with Retry-After: the peer's earlier offer awaits our answer.
    OfferPending,
}

/// §5.2: what the offer/answer state says of a new UPDATE offer.
pub(crate) fn update_offer_allowed(state: OfferState) -> Result<(), UpdateRefusal> {
    match state {
        OfferState::Stable => Ok(()),
        OfferState::LocalOffer(_) => Err(UpdateRefusal::Glare),
        OfferState::RemoteOffer(_) => Err(UpdateRefusal::OfferPending),
    }
}

impl DialogLayer {
    /// Sends an UPDATE in an early or confirmed dialog (RFC 3311 §5.1); a session
    /// description in `body` is our offer.
    pub(crate) fn update(
        &mut self,
        now: Instant,
        dialog: DialogId,
        body: Option<(&str, Bytes)>,
        env: &mut impl DialogEnv,
    ) -> Result<ClientTxId, DialogError> {
        // `send_request` takes an UPDATE in early and confirmed dialogs and tracks its offer.
        let keep = body
            .as_ref()
            .map(|(c, b)| (Box::<str>::from(*c), b.clone()));
        let ctx = self.send_request(now, dialog, Method::Update, &[], body, env)?;
        // Kept to retry it after a 491 (§5.1, RFC 3261 §14.1; glare.rs).
        self.reinvite_bodies.insert(ctx.0, keep);
        Ok(ctx)
    }

    /// The response to an UPDATE of ours on dialog `id` (§5.1): a 2xx carries the answer, a
    /// failure withdraws the offer.
    #[inline]
    pub(super) fn update_response(
        &mut self,
        now: Instant,
        ctx: ClientTxId,
        id: u64,
        resp: &Response,
        env: &mut impl DialogEnv,
    ) {
        if resp.status() == 491 {
            // §5.1: retried after the RFC 3261 §14.1 interval, when it is an UPDATE this
            // layer sent for the application (its body kept).
            if let Some(body) = self.reinvite_bodies.get(&ctx.0).cloned() {
                self.schedule_glare_retry(now, id, super::glare::Retried::Update(body));
            }
        }
        if !self.config.offer_answer
            || resp.status() < 200
            || resp.cseq_method().is_none_or(|(_, m)| m != Method::Update)
        {
            return;
        }
        let ours = self
            .sessions
            .get(&id)
            .is_some_and(|n| n.state() == OfferState::LocalOffer(SdpMessage::Update));
        if !ours {
            return;
        }
        if resp.status() < 300 {
            if let Err(e) = self.incoming_sdp(id, SdpMessage::UpdateSuccess, resp, env) {
                tracing::debug!(dialog = id, error = %e, "answer in the UPDATE's 2xx not taken");
                self.offer_failed(id);
            }
            // A 2xx without the answer it owes leaves nothing outstanding.
            if self
                .sessions
                .get(&id)
                .is_some_and(|n| n.state() == OfferState::LocalOffer(SdpMessage::Update))
            {
                self.offer_failed(id);
            }
        } else {
            self.offer_failed(id);
        }
    }

    /// An UPDATE arrived on dialog `id` (§5.2). With offer/answer on, its offer is checked
    /// against the session (491, 500, 488) and taken; `false` when it was refused here.
    pub(super) fn update_received(
        &mut self,
        now: Instant,
        id: u64,
        stx: ServerTxId,
        req: &Request,
        env: &mut impl DialogEnv,
    ) -> bool {
        if !self.config.offer_answer || !super::media_session::carries_sdp(req) {
            return true;
        }
        let state = self
            .sessions
            .get(&id)
            .map_or(OfferState::Stable, |n| n.state());
        match update_offer_allowed(state) {
            Err(UpdateRefusal::Glare) => {
                self.refuse(now, stx, 491, env);
                return false;
            }
            Err(UpdateRefusal::OfferPending) => {
                // §5.2: Retry-After uniformly between 0 and 10 seconds.
                let secs = self.ids.millis_between(0, 10_000) / 1000;
                if let Ok(b) = env.response(stx, 500)
                    && let Ok(r) = b.header("Retry-After", secs.to_string()).build()
                {
                    let _ = env.respond(now, stx, r);
                }
                return false;
            }
            Ok(()) => {}
        }
        if let Err(e) = self.incoming_sdp(id, SdpMessage::Update, req, env) {
            let why = match e {
                OfferAnswerError::Glare => 491,
                _ => 488,
            };
            self.refuse(now, stx, why, env);
            return false;
        }
        self.update_stx.insert(stx.0, id);
        true
    }

    /// The UPDATE whose offer dialog `id` has still to answer.
    pub(super) fn pending_update(&self, id: u64) -> Option<ServerTxId> {
        if self.update_stx.is_empty() {
            return None;
        }
        let offer = self
            .sessions
            .get(&id)
            .is_some_and(|n| n.state() == OfferState::RemoteOffer(SdpMessage::Update));
        offer
            .then(|| self.update_stx.iter().find(|(_, d)| **d == id))
            .flatten()
            .map(|(s, _)| ServerTxId(*s))
    }

    /// Answers the UPDATE offer on `stx` from `caps` (§5.2): 200 with the answer (and our
    /// Contact: UPDATE is a target refresh, §5.2), or 488 with Warning when no stream is
    /// acceptable.
    pub(super) fn answer_update(
        &mut self,
        now: Instant,
        dialog: DialogId,
        stx: ServerTxId,
        caps: &LocalMedia,
        env: &mut impl DialogEnv,
    ) -> Result<Vec<NegotiatedMedia>, DialogError> {
        let id = dialog.0;
        self.update_stx.remove(&stx.0);
        let neg = self.sessions.get(&id).ok_or(OfferAnswerError::NoOffer)?;
        let answer = match neg.build_answer(caps) {
            Ok(a) => a,
            Err(e) => {
                self.offer_failed(id);
                let status = if matches!(e, OfferAnswerError::NotAcceptable(_)) {
                    488
                } else {
                    500
                };
                self.refuse(now, stx, status, env);
                return Err(e.into());
            }
        };
        let contact = self.live_dialog(dialog)?.local_contact.clone();
        let bytes = answer.sdp.to_bytes();
        env.respond_written(
            now,
            stx,
            200,
            false,
            &[("Contact", &contact)],
            Some((SDP, &bytes)),
            false,
        )?;
        let neg = self
            .sessions
            .get_mut(&id)
            .ok_or(OfferAnswerError::NoOffer)?;
        let media = neg.send_answer(SdpMessage::UpdateSuccess, answer.sdp.into_session())?;
        env.emit(DialogEvent::MediaNegotiated {
            dialog,
            media: media.clone(),
        });
        Ok(media)
    }

    /// A response to a pending UPDATE offer went out other than through `answer_offer`:
    /// the offer is dropped (we do not know what the response said of it). `true` if `stx`
    /// was such an UPDATE.
    pub(super) fn update_responded(&mut self, stx: ServerTxId, status: u16) -> bool {
        if status < 200 {
            return self.update_stx.contains_key(&stx.0);
        }
        let Some(id) = self.update_stx.remove(&stx.0) else {
            return false;
        };
        self.offer_failed(id);
        true
    }

    /// Whether `stx` is an UPDATE whose offer awaits an answer.
    #[inline]
    pub(crate) fn tracks_update(&self, stx: ServerTxId) -> bool {
        !self.update_stx.is_empty() && self.update_stx.contains_key(&stx.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_offer_meets_the_offer_state_rfc3311_s5_2() {
        use SdpMessage::*;
        assert_eq!(update_offer_allowed(OfferState::Stable), Ok(()));
        for ours in [Update, Invite, ReliableProvisional, Prack, Success] {
            assert_eq!(
                update_offer_allowed(OfferState::LocalOffer(ours)),
                Err(UpdateRefusal::Glare),
                "{ours:?}"
            );
        }
        for theirs in [Update, Invite, ReliableProvisional, Prack] {
            assert_eq!(
                update_offer_allowed(OfferState::RemoteOffer(theirs)),
                Err(UpdateRefusal::OfferPending),
                "{theirs:?}"
            );
        }
    }
}
