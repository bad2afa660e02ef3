//! The dialog layer's side of reliable provisional responses (RFC 3262, see [`super::prack`]
//! for the rules): which INVITEs get reliable 1xx, their RSeq and retransmission, the PRACK
//! that stops it, the 2xx held behind an offer's PRACK, and the UAC's automatic PRACK.
//!
//! Every hook returns at its first test when the call does not use `100rel`, so plain calls
//! cost what they did.

use std::time::Instant;

use bytes::Bytes;

use super::layer::{DialogEnv, DialogLayer, Usage};
use super::offer_answer::{OfferState, SdpMessage};
use super::prack::{Outstanding, PrackState, RAck, TAG, parse_num};
use super::{DialogError, DialogId};
use crate::message::{HeaderName, Method, Request, Response};
use crate::transaction::layer::{Responded, ServerTxId, Transmit};

/// What `answer` does with a response under RFC 3262.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// Sent as it is.
    Unreliable,
    /// A reliable provisional response with this RSeq.
    Reliable(u32),
    /// A 2xx held until the PRACK of the offer-carrying reliable 1xx (§3).
    Held,
}

fn has_tag<'a>(mut tags: impl Iterator<Item = &'a str>) -> bool {
    tags.any(|t| t.eq_ignore_ascii_case(TAG))
}

impl DialogLayer {
    /// UAS §3: whether the provisional responses to this new INVITE go reliably; if so,
    /// the state that numbers them.
    #[inline]
    pub(super) fn uas_prack(&mut self, req: &Request) -> Option<Box<PrackState>> {
        if !self.config.prack.enabled() {
            return None;
        }
        let required = has_tag(req.require());
        let supported = has_tag(req.supported());
        if !self.config.prack.reliable_for(required, supported) {
            return None;
        }
        let cseq = req.cseq().map_or(0, |c| c.0);
        Some(Box::new(PrackState::uas(cseq, self.ids.u64())))
    }

    /// How `answer` sends `status` on dialog `id` (§3): reliably (one at a time), held (a
    /// 2xx behind an offer's PRACK), or as it is.
    #[inline]
    pub(super) fn reliable_step(
        &mut self,
        id: u64,
        status: u16,
        body: &Option<(&str, Bytes)>,
    ) -> Result<Step, DialogError> {
        let Some(p) = self.dialogs.get_mut(&id).and_then(|d| d.prack.as_mut()) else {
            return Ok(Step::Unreliable);
        };
        match status {
            101..=199 => match p.next_rseq {
                Some(_) if p.outstanding.is_some() => Err(DialogError::ReliablePending),
                Some(n) => Ok(Step::Reliable(n)),
                None => Ok(Step::Unreliable),
            },
            200..=299 if p.outstanding.as_ref().is_some_and(|o| o.offer) => {
                if p.held.is_some() {
                    return Err(DialogError::AlreadyAnswered);
                }
                p.held = Some((status, body.as_ref().map(|(c, b)| ((*c).into(), b.clone()))));
                Ok(Step::Held)
            }
            _ => Ok(Step::Unreliable),
        }
    }

    /// A reliable provisional response with RSeq `rseq` went out (§3): retransmitted at T1,
    /// 2·T1, 4·T1, … (over a reliable transport only the 64·T1 limit runs, as for the 2xx
    /// in `responded`) until its PRACK comes.
    pub(super) fn reliable_sent(
        &mut self,
        now: Instant,
        id: u64,
        rseq: u32,
        offer: bool,
        sent: &Responded,
    ) {
        let t1 = self.config.timers.t1;
        let give_up = now + 64 * t1;
        let Some(p) = self.dialogs.get_mut(&id).and_then(|d| d.prack.as_mut()) else {
            return;
        };
        p.next_rseq = Some(rseq.wrapping_add(1).max(1));
        let next = if sent.transport.is_reliable() {
            give_up
        } else {
            now + t1
        };
        p.outstanding = Some(Outstanding {
            rseq,
            bytes: sent.bytes.clone().unwrap_or_default(),
            transport: sent.transport,
            source: sent.local,
            destination: sent.destination,
            interval: t1,
            next,
            give_up,
            offer,
        });
        self.arm_dialog(id);
    }

    /// Whether the offer/answer exchange of dialog `id`'s INVITE completed in a reliable
    /// provisional response or its PRACK, before the final response.
    #[inline]
    pub(super) fn answered_reliably(&self, id: u64) -> bool {
        let Some(p) = self.dialogs.get(&id).and_then(|d| d.prack.as_ref()) else {
            return false;
        };
        p.next_rseq.is_some()
            && self
                .sessions
                .get(&id)
                .is_some_and(|n| n.state() == OfferState::Stable && n.local().is_some())
    }

    /// A final response went out: no more reliable provisionals to retransmit.
    #[inline]
    pub(super) fn final_sent(&mut self, id: u64) {
        if let Some(p) = self.dialogs.get_mut(&id).and_then(|d| d.prack.as_mut()) {
            p.outstanding = None;
            p.next_rseq = None;
            p.held = None;
        }
    }

    /// Dialog `id`'s timer fired: retransmit the outstanding reliable 1xx, or after 64·T1
    /// without PRACK refuse the INVITE with 500 (§3).
    pub(super) fn prack_timer(&mut self, now: Instant, id: u64, env: &mut impl DialogEnv) {
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        let stx = d.invite_stx;
        let Some(o) = d.prack.as_mut().and_then(|p| p.outstanding.as_mut()) else {
            return;
        };
        if o.give_up <= now {
            if let Some(p) = d.prack.as_mut() {
                p.outstanding = None;
                p.held = None;
            }
            tracing::debug!(dialog = id, "no PRACK within 64*T1: INVITE refused 500");
            if let Some(stx) = stx
                && let Ok(sent) = env.respond_written(now, stx, 500, false, &[], None, false)
            {
                self.final_sent(id);
                self.offer_failed(id);
                self.responded(now, stx, 500, &sent, env);
            }
            return;
        }
        if o.next <= now {
            o.interval *= 2;
            o.next = (now + o.interval).min(o.give_up);
            let t = Transmit {
                transport: o.transport,
                source: Some(o.source),
                destination: o.destination,
                bytes: o.bytes.clone(),
                server_name: None,
                ws_url: None,
            };
            self.stats.retransmissions += 1;
            env.transmit(t);
        }
    }

    /// UAS §3: a PRACK on dialog `id`. One whose RAck matches the outstanding reliable 1xx
    /// gets 200 and stops its retransmission (and lets a held 2xx go); any other gets 481.
    pub(super) fn prack_received(
        &mut self,
        now: Instant,
        id: u64,
        stx: ServerTxId,
        req: &Request,
        env: &mut impl DialogEnv,
    ) {
        let rack = req.headers().get(HeaderName::RAck).and_then(RAck::parse);
        let p = self.dialogs.get_mut(&id).and_then(|d| d.prack.as_mut());
        let Some(p) = p.filter(|p| rack.as_ref().is_some_and(|r| p.matches(r))) else {
            return self.refuse(now, stx, 481, env);
        };
        p.outstanding = None;
        let held = p.held.take();
        // §5: the PRACK may carry the answer to an offer in the reliable 1xx.
        let answers = self
            .sessions
            .get(&id)
            .is_some_and(|n| n.state() == OfferState::LocalOffer(SdpMessage::ReliableProvisional));
        if answers && let Err(e) = self.incoming_sdp(id, SdpMessage::Prack, req, env) {
            tracing::debug!(dialog = id, error = %e, "answer in the PRACK not taken");
        }
        let _ = env.respond_written(now, stx, 200, false, &[], None, false);
        if let Some((status, body)) = held {
            let body = body.as_ref().map(|(c, b)| (&**c, b.clone()));
            if let Err(e) = self.answer(now, DialogId(id), status, body, env) {
                tracing::debug!(dialog = id, error = %e, "held 2xx not sent");
            }
        }
    }

    /// UAC §4: a provisional response (101–199, tagged) to our INVITE on dialog `id`.
    /// `Ok(Some(..))`: a reliable one taken, the RAck of its PRACK; `Ok(None)`: not
    /// reliable (or 100rel off); `Err(())`: a retransmission or out of order, discarded.
    #[inline]
    pub(super) fn reliable_received(
        &mut self,
        id: u64,
        resp: &Response,
    ) -> Result<Option<(u32, u32)>, ()> {
        if !self.config.prack.enabled() || !has_tag(resp.require()) {
            return Ok(None);
        }
        let Some(rseq) = resp.headers().get(HeaderName::RSeq).and_then(parse_num) else {
            return Ok(None); // no usable RSeq: taken as unreliable
        };
        let Some(d) = self.dialogs.get_mut(&id) else {
            return Ok(None);
        };
        let p = d.prack.get_or_insert_with(Box::default);
        if !p.take_rseq(rseq) {
            return Err(());
        }
        Ok(Some((rseq, resp.cseq().map_or(0, |c| c.0))))
    }

    /// UAC §4: sends the PRACK for a reliable 1xx on dialog `id` in its own transaction
    /// within the early dialog.
    pub(super) fn send_prack(
        &mut self,
        now: Instant,
        id: u64,
        (rseq, cseq): (u32, u32),
        body: Option<(&str, Bytes)>,
        env: &mut impl DialogEnv,
    ) {
        let mut rack = String::with_capacity(24);
        crate::text::push_uint(&mut rack, rseq);
        rack.push(' ');
        crate::text::push_uint(&mut rack, cseq);
        rack.push_str(" INVITE");
        match self.send_in_dialog(now, id, Method::Prack, &[("RAck", &rack)], body, env) {
            Ok(ctx) => {
                self.usage.insert(ctx.0, Usage::Prack(id));
            }
            Err(e) => tracing::debug!(dialog = id, error = %e, "PRACK not sent"),
        }
    }
}
