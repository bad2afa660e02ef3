//! The sample PBX on a mio [`Driver`]: every decision is [`sip_pbx::Pbx`]'s or the core's;
//! this file only carries them out on the endpoint and keeps the PBX's timers, so it
//! behaves like sip-tokio's `uas` (see the `sip-pbx` crate docs for what it answers).
//!
//! * A new call: challenged (407, RFC 3261 §22.3) or rung (180) and, `ring` later (the
//!   driver's alarm, [`Driver::wake_at`]), answered 200 with the answer to its offer from
//!   the PBX's media (the core's offer/answer, which the driver's endpoint must have on:
//!   `Pbx::endpoint_config`), or refused 488 when nothing is acceptable. A call the caller
//!   cancels while ringing counts as failed.
//! * Outside calls: the PBX's registrar answers REGISTER; everything else is left to the
//!   endpoint's policy ([`Endpoint::decline`](sip_core::endpoint::Endpoint::decline)).
//! * In a call: the PBX's answer (200; a re-INVITE's offer answered, a `sendonly` hold
//!   `recvonly`).
//! * A REFER (RFC 3515): accepted; the app calls the REFER's target, reports that call's
//!   progress and final status in NOTIFYs (§2.4.5), and hangs it up once answered — there
//!   is no media to bridge.
//!
//! Included by the tests (`tests/common`) by path, so they run the app itself.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use sip_core::auth::ChallengeKind;
use sip_core::dialog::{DialogError, DialogId, DialogState, EndReason, OfferAnswerError, ReferId};
use sip_core::endpoint::{Endpoint, Event as SipEvent, InviteOptions, ServerTxId, Unhandled};
use sip_core::message::Request;
use sip_mio::{Driver, Event};
use sip_pbx::{CallPlan, Counters, InDialogPlan, Pbx, PbxConfig, Reply, Report, RequestPlan};

/// What the app counts beside the PBX's [`Report`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppStats {
    /// ACKs for our 2xx (§13.3.1.4).
    pub acks: u64,
    /// Transactions that failed (timeouts) and transport errors.
    pub failures: u64,
    /// Commands the endpoint refused (a race with the peer, or a bug; logged).
    pub errors: u64,
}

/// A call placed for a transfer: the REFER it reports to.
#[derive(Debug, Clone, Copy)]
struct Leg {
    refer: ReferId,
}

/// The sample PBX's app. Feed it every driver event with [`App::on_event`].
#[derive(Debug)]
pub struct App {
    pbx: Pbx,
    counters: Arc<Counters>,
    /// The From of the calls it places for transfers.
    identity: String,
    /// Calls rung and not yet answered.
    ringing: HashSet<DialogId>,
    /// When to answer each of them, earliest first.
    answer_at: BinaryHeap<Reverse<(Instant, DialogId)>>,
    /// Calls answered and not yet over.
    answered: HashSet<DialogId>,
    /// Calls placed for transfers (forks included), by dialog.
    legs: HashMap<DialogId, Leg>,
    /// Transfers whose final NOTIFY went out.
    reported: HashSet<ReferId>,
    stats: AppStats,
}

impl App {
    /// The app for `driver`, with the PBX configured so; `now` starts the PBX's nonce clock.
    pub fn new(config: PbxConfig, driver: &Driver, now: Instant) -> App {
        let host = driver
            .local_addrs()
            .first()
            .map_or_else(|| "127.0.0.1".to_owned(), |(_, a)| a.to_string());
        let pbx = Pbx::new(config, now);
        App {
            counters: pbx.counters(),
            pbx,
            identity: format!("<sip:uas@{host}>"),
            ringing: HashSet::new(),
            answer_at: BinaryHeap::new(),
            answered: HashSet::new(),
            legs: HashMap::new(),
            reported: HashSet::new(),
            stats: AppStats::default(),
        }
    }

    /// The PBX (its registrar's bindings).
    pub fn pbx(&self) -> &Pbx {
        &self.pbx
    }

    /// The PBX's counters (bindings and the stack's counters not included).
    pub fn report(&self) -> Report {
        self.pbx.report()
    }

    /// Everything: the PBX's counters, its bindings at `now` and the stack's counters.
    pub fn report_at(&mut self, now: Instant, driver: &Driver) -> Report {
        self.pbx
            .report_at(now)
            .with_stack(driver.endpoint().stats())
    }

    /// What the app counted itself.
    pub fn stats(&self) -> AppStats {
        self.stats
    }

    /// Handles one event of `driver`: answers what needs answering, through the driver.
    pub fn on_event(&mut self, driver: &mut Driver, now: Instant, event: &Event) {
        match event {
            Event::Sip(e) => {
                let r = driver.with_endpoint(now, |ep| self.on_sip(ep, now, e));
                self.refused(r);
                if let Some(&Reverse((at, _))) = self.answer_at.peek() {
                    driver.wake_at(at);
                }
            }
            Event::Wake { .. } => self.wake(driver, now),
            Event::TransportError { peer, failure, .. } => {
                self.stats.failures += 1;
                tracing::debug!(%peer, %failure, "transport error");
            }
        }
    }

    /// The alarm rang: answers the calls whose ringing is over, then asks for the next.
    fn wake(&mut self, driver: &mut Driver, now: Instant) {
        while let Some(&Reverse((at, dialog))) = self.answer_at.peek() {
            if at > now {
                driver.wake_at(at);
                break;
            }
            self.answer_at.pop();
            // Gone from `ringing`: cancelled or otherwise ended meanwhile.
            if self.ringing.remove(&dialog) {
                let r = driver.with_endpoint(now, |ep| self.accept(ep, now, dialog));
                self.refused(r);
            }
        }
    }

    fn refused(&mut self, r: Result<(), String>) {
        if let Err(e) = r {
            self.stats.errors += 1;
            tracing::warn!(error = %e, "command refused");
        }
    }

    /// Accepts a call with the answer to its offer from the PBX's media (488 when no
    /// offered stream is acceptable: the call failed, the PBX did not).
    fn accept(&mut self, ep: &mut Endpoint, now: Instant, dialog: DialogId) -> Result<(), String> {
        let media = self.pbx.media();
        match ep
            .dialog(dialog)
            .and_then(|mut d| d.answer_offer(now, media))
        {
            Err(DialogError::OfferAnswer(OfferAnswerError::NotAcceptable(why))) => {
                tracing::debug!(%dialog, %why, "offer refused with 488");
                self.counters.failed(false);
                Ok(())
            }
            Ok(_) => {
                self.counters.answered();
                self.answered.insert(dialog);
                Ok(())
            }
            Err(e) => {
                // The caller cancelled just before (the dialog ended with it).
                let cancelled = matches!(
                    ep.dialog_state(dialog),
                    None | Some(DialogState::Terminated(EndReason::Cancelled))
                );
                self.counters.failed(cancelled);
                if cancelled {
                    Ok(())
                } else {
                    Err(e.to_string())
                }
            }
        }
    }

    fn on_sip(&mut self, ep: &mut Endpoint, now: Instant, e: &SipEvent) -> Result<(), String> {
        match e {
            SipEvent::IncomingCall {
                dialog,
                tx,
                request,
                ..
            } => match self.pbx.on_call(now, request) {
                CallPlan::Challenge(rows) => {
                    let kind = ChallengeKind::Proxy;
                    let headers = rows
                        .into_iter()
                        .map(|v| (kind.challenge_header().as_str(), v))
                        .collect();
                    let reply = Reply {
                        status: kind.status(),
                        headers,
                        body: None,
                    };
                    respond(ep, now, *tx, &reply)
                }
                CallPlan::Answer { ring } => {
                    ep.dialog(*dialog)
                        .and_then(|mut d| d.ring(now))
                        .map_err(|e| e.to_string())?;
                    if ring.is_zero() {
                        self.accept(ep, now, *dialog)
                    } else {
                        self.ringing.insert(*dialog);
                        self.answer_at.push(Reverse((now + ring, *dialog)));
                        Ok(())
                    }
                }
            },
            SipEvent::IncomingRequest { tx, request } => match self.pbx.on_request(now, request) {
                RequestPlan::Reply(reply) => respond(ep, now, *tx, &reply),
                RequestPlan::Decline => ep
                    .decline(now, *tx, Unhandled::NoListener)
                    .map(drop)
                    .map_err(|e| e.to_string()),
            },
            SipEvent::DialogRequest {
                dialog,
                tx,
                request,
            } => self.in_dialog(ep, now, *dialog, *tx, request),
            SipEvent::AckReceived { .. } => {
                self.stats.acks += 1;
                Ok(())
            }
            SipEvent::ReferReceived { refer, target, .. } => self.transfer(ep, now, *refer, target),
            SipEvent::Forked { dialog, original } => {
                // Another fork of a transfer's call: it reports to the same REFER.
                if let Some(&leg) = self.legs.get(original) {
                    self.legs.insert(*dialog, leg);
                }
                Ok(())
            }
            SipEvent::DialogResponse {
                dialog, response, ..
            } => match self.legs.get(dialog) {
                Some(&leg) => self.progress(ep, now, leg, response.status()),
                None => Ok(()),
            },
            SipEvent::DialogStateChanged { dialog, state } => self.state(ep, now, *dialog, *state),
            SipEvent::ClientTxFailed { .. } | SipEvent::ServerTxFailed { .. } => {
                self.stats.failures += 1;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// A request in a call: the PBX's answer. A re-INVITE is answered through its dialog,
    /// which adds the Contact a 2xx needs (§12.1.1, §14.2).
    fn in_dialog(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        dialog: DialogId,
        tx: ServerTxId,
        request: &Request,
    ) -> Result<(), String> {
        match self.pbx.on_in_dialog(request) {
            InDialogPlan::Reply(reply) => respond(ep, now, tx, &reply),
            // A re-INVITE is answered through its dialog, which adds the Contact a 2xx needs
            // (§12.1.1, §14.2) and mirrors a hold offer's direction (RFC 3264 §6.1).
            InDialogPlan::AnswerOffer => match ep
                .dialog(dialog)
                .and_then(|mut d| d.answer_offer(now, self.pbx.media()))
            {
                Ok(_) | Err(DialogError::OfferAnswer(OfferAnswerError::NotAcceptable(_))) => Ok(()),
                Err(e) => Err(e.to_string()),
            },
        }
    }

    /// A REFER: accept it and call its target (RFC 3515 §2.4.2).
    fn transfer(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        refer: ReferId,
        target: &str,
    ) -> Result<(), String> {
        ep.refer(refer)
            .and_then(|mut r| r.accept(now))
            .map_err(|e| e.to_string())?;
        self.counters.transfer_started();
        let opts = InviteOptions::new(target, self.identity.clone(), format!("<{target}>"));
        match ep.invite(now, opts) {
            Ok(call) => {
                self.legs.insert(call, Leg { refer });
                Ok(())
            }
            Err(e) => {
                // Not callable (no address in the URI, say): the transfer failed.
                tracing::debug!(error = %e, target, "transfer target not callable");
                ep.refer(refer)
                    .and_then(|mut r| r.abandon(now))
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// A response to a transfer's call: its status in a NOTIFY, once final (RFC 3515
    /// §2.4.5). `100 Trying` was reported when the REFER was accepted.
    fn progress(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        leg: Leg,
        status: u16,
    ) -> Result<(), String> {
        if status <= 100 || self.reported.contains(&leg.refer) {
            return Ok(());
        }
        if status >= 200 {
            self.reported.insert(leg.refer);
            self.counters.transfer_ended(status);
        }
        ep.refer(leg.refer)
            .and_then(|mut r| r.notify(now, status))
            .map_err(|e| e.to_string())
    }

    fn state(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        dialog: DialogId,
        state: DialogState,
    ) -> Result<(), String> {
        match state {
            // A transfer's call was answered: its job is done.
            DialogState::Confirmed if self.legs.contains_key(&dialog) => ep
                .dialog(dialog)
                .and_then(|mut d| d.hangup(now))
                .map_err(|e| e.to_string()),
            DialogState::Terminated(reason) => {
                if self.ringing.remove(&dialog) {
                    self.counters.failed(reason == EndReason::Cancelled);
                }
                if self.answered.remove(&dialog) {
                    self.counters.ended();
                }
                let Some(leg) = self.legs.remove(&dialog) else {
                    return Ok(());
                };
                if self.legs.values().any(|l| l.refer == leg.refer) {
                    return Ok(()); // another fork is still going
                }
                if self.reported.remove(&leg.refer) {
                    return Ok(());
                }
                // Ended with no final response (a timeout, a transport error).
                ep.refer(leg.refer)
                    .and_then(|mut r| r.abandon(now))
                    .map_err(|e| e.to_string())
            }
            _ => Ok(()),
        }
    }
}

/// Sends the PBX's `reply` on `tx`.
fn respond(ep: &mut Endpoint, now: Instant, tx: ServerTxId, reply: &Reply) -> Result<(), String> {
    let mut b = ep.response(tx, reply.status).map_err(|e| e.to_string())?;
    for (name, value) in &reply.headers {
        b = b.header(name, value);
    }
    if let Some((content_type, body)) = reply.body {
        b = b.body(content_type, Bytes::from_static(body.as_bytes()));
    }
    let response = b.build().map_err(|e| e.to_string())?;
    ep.respond(now, tx, response).map_err(|e| e.to_string())
}
