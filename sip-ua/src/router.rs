//! The runtime-neutral half of a driver: the [`Router`] owns one [`Endpoint`], is fed what
//! the transports received, the API's commands, DNS answers and the passing of time, and
//! routes what comes out — transmits to the runtime's [`Io`], events to the API handles.
//! It holds no protocol logic: every SIP rule is the core's. The router only decides which
//! handle an event belongs to and, when no handle takes it, tells the core why
//! ([`Unhandled`]): the core's policy ([`Endpoint::decline`],
//! [`Refer::decline`](sip_core::endpoint::Refer::decline)) picks the answer.
//!
//! A runtime crate (sip-tokio, sip-smol) runs one task per router: it waits for the first
//! of a received message, a [command](Router::next_command), a DNS answer or the
//! [next wake-up](Router::next_wake), hands it over, then calls [`Router::drain`]; it stops
//! once [`Router::finished`] says so and ends with [`Router::end`]. The router reads no
//! clock: every instant comes from the runtime (so tokio's paused time moves it too).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sip_core::dialog::{DialogError, DialogId, DialogState, EndReason, ReferEvent, ReferId, Role};
use sip_core::endpoint::{
    ClientTxId, Endpoint, Event, Failure, Input, Output, ServerTxId, Target, Transmit, Unhandled,
};
use sip_core::message::{Request, Response};
use sip_core::resolver::{DnsAnswer, DnsQuery, DnsQueryId};
use sip_tls::TlsFailure;

use crate::RouterLink;
use crate::call::{ByeOutcome, Call, CallCore, CallEvent, CallState, HangupKind, IncomingCall};
use crate::chan::{mpsc, oneshot};
use crate::command::{Answer, Command, Link, ReferAction, Reply, RequestSpec, ResponseSpec};
use crate::error::{Error, Result};
use crate::request::IncomingRequest;
use crate::shared::Shared;
use crate::stats::{CallStats, ShardStats};
use crate::transfer::{IncomingTransfer, TransferOutcome, TransferState};

/// A function shown every message the router hands to the transports.
pub type Tap = Arc<dyn Fn(&Transmit) + Send + Sync>;

/// What the runtime does for the router: the sockets, the DNS client, the TLS handshakes'
/// outcomes, and (for a runtime that spreads messages over several routers) the Call-IDs
/// each one owns.
pub trait Io {
    /// Sends a message the core built (to the transport and address it names).
    fn send(&mut self, transmit: Transmit);

    /// Why the TLS handshake with `peer` failed, if it did: it explains a transport error.
    fn tls_failure(&self, peer: SocketAddr) -> Option<TlsFailure>;

    /// Starts a DNS query of the core's resolver (RFC 3263). An answer known at once (the
    /// query could not be sent) is returned; a later one goes to [`Router::dns_answer`].
    fn dns_query(&mut self, now: Instant, query: DnsQuery) -> Option<(DnsQueryId, DnsAnswer)>;

    /// Whether the runtime wants [`Io::call_id_opened`]/[`Io::call_id_closed`] (the router
    /// then keeps each call's and request's Call-ID; otherwise it spares the copy).
    fn tracks_call_ids(&self) -> bool {
        false
    }

    /// A call or request of this router's API uses this Call-ID from now on.
    fn call_id_opened(&mut self, _call_id: &str) {}

    /// The call or request with this Call-ID is over.
    fn call_id_closed(&mut self, _call_id: &str) {}
}

/// Settings of a router.
#[derive(Clone)]
pub struct RouterConfig {
    /// How long a graceful shutdown waits at most.
    pub shutdown_timeout: Duration,
    /// How long it waits for outstanding BYEs once every call is over.
    pub shutdown_grace: Duration,
    /// Shown every message before it is sent.
    pub tap: Option<Tap>,
}

impl std::fmt::Debug for RouterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouterConfig")
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("tap", &self.tap.is_some())
            .finish()
    }
}

/// A command of the API handles, taken by [`Router::next_command`] and carried out by
/// [`Router::command`]. Opaque.
#[derive(Debug)]
pub struct ApiCommand(Command);

/// A call the router routes events to.
#[derive(Debug)]
struct Slot {
    shared: Arc<Shared<CallState>>,
    /// No handle is left: forget the call once it is over.
    released: bool,
    /// Reached the confirmed state once.
    answered: bool,
    /// Kept only when the runtime tracks Call-IDs ([`Io::tracks_call_ids`]).
    call_id: Option<String>,
    /// The TLS peer the INVITE went to, whose handshake failure explains a transport error.
    tls_peer: Option<SocketAddr>,
}

/// A request of the API waiting for its final response.
#[derive(Debug)]
struct Pending {
    reply: Reply<Response>,
    call_id: Option<String>,
    /// The TLS peer the request went to, whose handshake failure explains a transport
    /// error.
    tls_peer: Option<SocketAddr>,
}

/// Graceful shutdown in progress.
#[derive(Debug)]
struct Closing {
    waiters: Vec<oneshot::Sender<()>>,
    deadline: Instant,
    /// When every call was over and every request answered.
    settled_at: Option<Instant>,
}

/// Shrinks `m` once at most a quarter of it is used (see [`sip_core::capacity`]).
fn shrink_map<K: Eq + std::hash::Hash, V>(m: &mut HashMap<K, V>) {
    if let Some(to) = sip_core::capacity::shrink_to(m.len(), m.capacity()) {
        m.shrink_to(to);
    }
}

/// Routes one endpoint's events to the API handles and the handles' commands to the
/// endpoint, over the runtime's [`Io`].
pub struct Router<I> {
    ep: Endpoint,
    io: I,
    cmd_rx: mpsc::Receiver<Command>,
    weak_cmd: mpsc::WeakSender<Command>,
    calls: HashMap<DialogId, Slot>,
    /// Dialogs forked from a call's first dialog → that call's key.
    forks: HashMap<DialogId, DialogId>,
    refers_out: HashMap<ReferId, Arc<Shared<TransferState>>>,
    registrations:
        HashMap<sip_core::endpoint::RegistrationId, Arc<Shared<crate::registration::RegState>>>,
    requests: HashMap<ClientTxId, Pending>,
    incoming_calls: Option<mpsc::Sender<IncomingCall>>,
    incoming_requests: Option<mpsc::Sender<IncomingRequest>>,
    stats: CallStats,
    /// BYEs we sent (or the core holds until the ACK of our 2xx) not reported done yet:
    /// core dialog → call key. The core reports every one of them with
    /// `Event::ByeCompleted`, even one it could not send, which removes it; graceful
    /// shutdown waits for this to be empty.
    byes: HashMap<DialogId, DialogId>,
    closing: Option<Closing>,
    /// Whether Call-IDs are kept for the runtime ([`Io::tracks_call_ids`]).
    track_call_ids: bool,
    cfg: RouterConfig,
}

impl<I: Io> Router<I> {
    /// A router for `ep` over `io`, and the link the API handles reach it through (for
    /// [`UaFront::new`](crate::runtime::UaFront::new)).
    pub fn new(ep: Endpoint, io: I, cfg: RouterConfig) -> (Router<I>, RouterLink) {
        let (tx, cmd_rx) = mpsc::unbounded();
        let router = Router {
            ep,
            track_call_ids: io.tracks_call_ids(),
            io,
            cmd_rx,
            weak_cmd: tx.downgrade(),
            calls: HashMap::new(),
            forks: HashMap::new(),
            refers_out: HashMap::new(),
            registrations: HashMap::new(),
            requests: HashMap::new(),
            incoming_calls: None,
            incoming_requests: None,
            stats: CallStats::default(),
            byes: HashMap::new(),
            closing: None,
            cfg,
        };
        (router, RouterLink(Link::new(tx)))
    }

    /// The runtime's side.
    pub fn io(&self) -> &I {
        &self.io
    }

    /// The runtime's side, to change.
    pub fn io_mut(&mut self) -> &mut I {
        &mut self.io
    }

    /// The next command of the API handles; `None` once every handle is gone (then call
    /// [`Router::close`]). Cancellation-safe.
    pub async fn next_command(&self) -> Option<ApiCommand> {
        self.cmd_rx.recv().await.map(ApiCommand)
    }

    /// A command already queued, if any (to handle a batch in one go).
    pub fn try_command(&self) -> Option<ApiCommand> {
        self.cmd_rx.try_recv().map(ApiCommand)
    }

    /// A message the transports received (or a connection event).
    pub fn input(&mut self, now: Instant, input: Input) {
        self.ep.handle_input(now, input);
    }

    /// The next wake-up is due: the endpoint's timers fire.
    pub fn timeout(&mut self, now: Instant) {
        self.ep.handle_timeout(now);
        self.give_back_memory();
    }

    /// Gives the tables' memory back after a peak of load, by the core's rule
    /// ([`sip_core::capacity::shrink_to`]): checked when timers fire, as the core does.
    fn give_back_memory(&mut self) {
        shrink_map(&mut self.calls);
        shrink_map(&mut self.forks);
        shrink_map(&mut self.refers_out);
        shrink_map(&mut self.registrations);
        shrink_map(&mut self.requests);
        shrink_map(&mut self.byes);
    }

    /// The answer to a DNS query started by [`Io::dns_query`].
    pub fn dns_answer(&mut self, now: Instant, id: DnsQueryId, answer: DnsAnswer) {
        self.ep.handle_dns_answer(now, id, answer);
        if self.track_call_ids {
            self.held_calls_sent();
        }
    }

    /// The transports are gone, or every handle is: shut down gracefully.
    pub fn close(&mut self, now: Instant) {
        self.begin_closing(now, None);
    }

    /// A link for a new handle, unless every handle is gone (then the router is closing).
    fn link(&self) -> Option<Link> {
        self.weak_cmd.upgrade().map(Link::new)
    }

    /// After the loop: wakes the shutdown waiters, reports the BYEs still outstanding
    /// and closes every call's handles.
    pub fn end(mut self) {
        if let Some(closing) = self.closing.take() {
            for w in closing.waiters {
                let _ = w.send(());
            }
        }
        for (_, key) in std::mem::take(&mut self.byes) {
            self.bye_done(key, ByeOutcome::Shutdown);
        }
        for (_, slot) in self.calls.drain() {
            slot.shared.update(|s| s.closed = true);
        }
        tracing::debug!("router ends");
    }

    /// The next instant to wake at: the endpoint's next timer, or a shutdown deadline.
    pub fn next_wake(&mut self) -> Option<Instant> {
        let timer = self.ep.poll_timeout();
        let closing = self.closing.as_ref().map(|c| match c.settled_at {
            Some(s) => c.deadline.min(s + self.cfg.shutdown_grace),
            None => c.deadline,
        });
        match (timer, closing) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Hands every pending output to the transports or the handles, and the core's DNS
    /// queries to the runtime (an answer known at once is fed back, which may send or fail
    /// a held request).
    pub fn drain(&mut self, now: Instant) {
        loop {
            while let Some(out) = self.ep.poll_output() {
                match out {
                    Output::Transmit(t) => {
                        if let Some(tap) = &self.cfg.tap {
                            tap(&t);
                        }
                        self.io.send(t);
                    }
                    Output::Event(e) => self.on_event(now, e),
                    // The next deadline is read with poll_timeout once the queue is empty.
                }
            }
            let mut answered = false;
            while let Some(q) = self.ep.poll_dns_query() {
                if let Some((id, answer)) = self.io.dns_query(now, q) {
                    self.dns_answer(now, id, answer);
                    answered = true;
                }
            }
            if !answered {
                break;
            }
        }
    }

    /// Calls placed to a host name get their Call-ID once the core has resolved it and
    /// sent the INVITE: told to the runtime then.
    fn held_calls_sent(&mut self) {
        let held: Vec<DialogId> = self
            .calls
            .iter()
            .filter(|(_, s)| s.call_id.is_none())
            .map(|(d, _)| *d)
            .collect();
        for d in held {
            if let Some(call_id) = self.ep.dialog_info(d).map(|i| i.call_id) {
                self.register(Some(&call_id));
                if let Some(slot) = self.calls.get_mut(&d) {
                    slot.call_id = Some(call_id);
                }
            }
        }
    }

    // ---- commands ------------------------------------------------------------------

    /// Carries out a command of the API handles.
    pub fn command(&mut self, now: Instant, cmd: ApiCommand) {
        match cmd.0 {
            Command::Invite(opts, reply) => self.invite(now, *opts, reply),
            Command::Answer {
                call,
                answer,
                reply,
            } => {
                let r = self.answer(now, call, answer);
                if let Some(reply) = reply {
                    let _ = reply.send(r);
                }
            }
            Command::Hangup(call, reply) => {
                let r = self.hang_up(now, call);
                let _ = reply.send(r);
            }
            Command::Release(call) => self.release(now, call),
            Command::Register(opts, reply) => {
                let r = self.ep.register(now, *opts).map_err(Error::from).map(|id| {
                    let shared = Arc::new(Shared::new(crate::registration::RegState::default()));
                    self.registrations.insert(id, shared.clone());
                    (id, shared)
                });
                let _ = reply.send(r);
            }
            Command::Unregister(id, reply) => {
                let _ = reply.send(self.ep.unregister(now, id).map_err(Error::from));
            }
            Command::Refer(call, target, reply) => {
                let r = self.active(call).and_then(|d| {
                    let id = self.ep.dialog(d).and_then(|mut d| d.refer(now, &target))?;
                    let shared = Arc::new(Shared::new(TransferState::default()));
                    self.refers_out.insert(id, shared.clone());
                    self.stats.transfers_sent += 1;
                    Ok((id, shared))
                });
                let _ = reply.send(r);
            }
            Command::ReplacingReferTo(call, reply) => {
                let r = self
                    .active(call)
                    .and_then(|d| Ok(self.ep.dialog(d)?.replacing_refer_to()?));
                let _ = reply.send(r);
            }
            Command::ReferAnswer(refer, action, reply) => {
                let r = self.ep.refer(refer).and_then(|mut r| match action {
                    ReferAction::Accept => r.accept(now),
                    ReferAction::Reject(s) => r.reject(now, s),
                    ReferAction::Notify(s) => r.notify(now, s),
                    ReferAction::Decline => r.decline(now, Unhandled::Dropped).map(drop),
                    ReferAction::Abandon => r.abandon(now),
                });
                // The core forgets a REFER once its subscription is over (a final NOTIFY,
                // a refusal): whether it still knows it says whether more may follow.
                let r = r.map(|()| self.ep.refer(refer).is_ok());
                match reply {
                    Some(reply) => {
                        let _ = reply.send(r.map_err(Error::from));
                    }
                    None => {
                        if let Err(e) = r {
                            tracing::debug!(%refer, error = %e, "REFER of a dropped handle not ended");
                        }
                    }
                }
            }
            Command::Request(spec, reply) => self.request(now, *spec, reply),
            Command::InDialog {
                call,
                method,
                headers,
                body,
                reply,
            } => {
                let r = self.active(call).and_then(|d| {
                    let hdrs: Vec<(&str, &str)> = headers
                        .iter()
                        .map(|(n, v)| (n.as_str(), v.as_str()))
                        .collect();
                    let body = body.as_ref().map(|b| b.as_parts());
                    Ok(self
                        .ep
                        .dialog(d)
                        .and_then(|mut d| d.request(now, method, &hdrs, body))?)
                });
                self.pend(r, reply, None, None);
            }
            Command::Reinvite(call, body, reply) => {
                let r = self.active(call).and_then(|d| {
                    let body = body.as_ref().map(|b| b.as_parts());
                    Ok(self.ep.dialog(d).and_then(|mut d| d.reinvite(now, body))?)
                });
                self.pend(r, reply, None, None);
            }
            Command::Hold(call, on_hold, reply) => {
                let r = self.active(call).and_then(|d| {
                    let mut d = self.ep.dialog(d)?;
                    Ok(if on_hold { d.hold(now) } else { d.resume(now) }?)
                });
                self.pend(r, reply, None, None);
            }
            Command::AnswerOffer(dialog, caps, reply) => {
                let r = self
                    .ep
                    .dialog(dialog)
                    .and_then(|mut d| d.answer_offer(now, &caps))
                    .map_err(Error::from);
                let _ = reply.send(r);
            }
            Command::Respond(spec, reply) => {
                let r = self.respond(now, *spec);
                if let Some(reply) = reply {
                    let _ = reply.send(r);
                }
            }
            Command::Decline(tx, why, reply) => {
                let r = self.ep.decline(now, tx, why).map_err(Error::from);
                match reply {
                    Some(reply) => {
                        let _ = reply.send(r);
                    }
                    None => {
                        if let Err(e) = r {
                            tracing::debug!(error = %e, ?why, "dropped request not declined");
                        }
                    }
                }
            }
            Command::Info(call, reply) => {
                let r = self.active(call).and_then(|d| {
                    self.ep
                        .dialog_info(d)
                        .ok_or(Error::Dialog(DialogError::UnknownDialog))
                });
                let _ = reply.send(r);
            }
            Command::SubscribeCalls(tx) => {
                if self.closing.is_none() {
                    self.incoming_calls = Some(tx);
                }
            }
            Command::SubscribeRequests(tx) => {
                if self.closing.is_none() {
                    self.incoming_requests = Some(tx);
                }
            }
            Command::Stats(reply) => {
                let (c, s) = self.ep.transaction_count();
                let _ = reply.send(Ok(ShardStats {
                    endpoint: self.ep.stats(),
                    calls: self.stats,
                    active_calls: self.calls.len(),
                    dialogs: self.ep.dialog_count(),
                    client_transactions: c,
                    server_transactions: s,
                    lingering_transactions: self.ep.lingering_transaction_count(),
                    shedding: self.ep.is_shedding(),
                }));
            }
            Command::Shutdown(done) => self.begin_closing(now, Some(done)),
        }
    }

    /// Hangs a call up through the core (BYE, CANCEL or 603, whichever its state calls
    /// for) and, for a BYE, starts waiting for its `ByeCompleted`.
    fn hang_up(&mut self, now: Instant, call: DialogId) -> Result<HangupKind> {
        let d = self.active(call)?;
        let confirmed = self.ep.dialog_state(d) == Some(DialogState::Confirmed);
        self.ep.dialog(d).and_then(|mut d| d.hangup(now))?;
        if !confirmed {
            return Ok(HangupKind::Early);
        }
        self.byes.insert(d, call);
        Ok(HangupKind::Bye)
    }

    /// Tells a call's handles how its BYE went.
    fn bye_done(&self, call: DialogId, outcome: ByeOutcome) {
        if let Some(slot) = self.calls.get(&call) {
            slot.shared.update(|s| s.bye = Some(outcome));
        }
    }

    /// Answers a call's INVITE through the core's dialog command for it (which checks
    /// the status).
    fn answer(&mut self, now: Instant, call: DialogId, answer: Answer) -> Result<()> {
        let d = self.active(call)?;
        let mut d = self.ep.dialog(d)?;
        fn body(b: &Option<crate::Body>) -> Option<(&str, bytes::Bytes)> {
            b.as_ref().map(crate::Body::as_parts)
        }
        Ok(match &answer {
            Answer::Ring => d.ring(now),
            Answer::Provisional(status, b) => d.provisional(now, *status, body(b)),
            Answer::Accept(b) => d.accept(now, body(b)),
            Answer::AcceptOffer(caps) => d.answer_offer(now, caps).map(drop),
            Answer::Reject(status) => d.reject(now, *status),
            Answer::RejectWith(status, headers) => {
                let rows: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .collect();
                d.reject_with(now, *status, &rows)
            }
        }?)
    }

    /// The dialog a call's commands go to.
    fn active(&self, call: DialogId) -> Result<DialogId> {
        match self.calls.get(&call) {
            Some(slot) => Ok(slot.shared.lock().active),
            None => Err(Error::Dialog(DialogError::UnknownDialog)),
        }
    }

    fn register(&mut self, call_id: Option<&str>) {
        if let Some(id) = call_id {
            self.io.call_id_opened(id);
        }
    }

    fn unregister(&mut self, call_id: Option<&str>) {
        if let Some(id) = call_id {
            self.io.call_id_closed(id);
        }
    }

    fn invite(
        &mut self,
        now: Instant,
        opts: sip_core::endpoint::InviteOptions,
        reply: Reply<Call>,
    ) {
        if self.closing.is_some() {
            let _ = reply.send(Err(Error::Shutdown));
            return;
        }
        let tls_peer = match &opts.target {
            Some(t) => tls_peer_of(t),
            None => sip_core::message::Uri::parse(&opts.uri)
                .ok()
                .and_then(|u| Target::from_uri(&u).ok())
                .and_then(|t| tls_peer_of(&t)),
        };
        // The Call-ID is only known once the core built the INVITE; the INVITE is
        // queued, not yet sent, so registering now still beats any response.
        let dialog = match self.ep.invite(now, opts) {
            Ok(d) => d,
            Err(e) => {
                let _ = reply.send(Err(e.into()));
                return;
            }
        };
        let call_id = match self.track_call_ids {
            true => self.ep.dialog_info(dialog).map(|i| i.call_id),
            false => None,
        };
        self.register(call_id.as_deref());
        self.stats.placed += 1;
        let shared = Arc::new(Shared::new(CallState::new(dialog)));
        self.calls.insert(
            dialog,
            Slot {
                shared: shared.clone(),
                released: false,
                answered: false,
                call_id,
                tls_peer,
            },
        );
        let Some(link) = self.link() else {
            self.release(now, dialog);
            let _ = reply.send(Err(Error::Shutdown));
            return;
        };
        let call = Call::new(CallCore {
            key: dialog,
            role: Role::Uac,
            shared,
            link,
        });
        // If the caller stopped waiting, the returned Call is dropped here and releases
        // (cancels) the call: nothing leaks.
        let _ = reply.send(Ok(call));
    }

    fn release(&mut self, now: Instant, call: DialogId) {
        let Some(slot) = self.calls.get_mut(&call) else {
            return;
        };
        slot.released = true;
        let (state, active) = {
            let s = slot.shared.lock();
            (s.state, s.active)
        };
        if state.is_terminated() {
            self.forget(call);
        } else if let Err(e) = self.hang_up(now, call) {
            tracing::debug!(%call, dialog = %active, error = %e, "hang-up of a released call refused");
        }
    }

    /// Drops a finished call from the tables.
    fn forget(&mut self, call: DialogId) {
        if let Some(slot) = self.calls.remove(&call) {
            self.unregister(slot.call_id.as_deref());
            slot.shared.update(|s| s.closed = true);
        }
        self.forks.retain(|_, key| *key != call);
    }

    fn request(&mut self, now: Instant, spec: RequestSpec, reply: Reply<Response>) {
        let mut call_id = None;
        let mut tls_peer = None;
        let r = (|| {
            let mut b = self
                .ep
                .request(spec.method, &spec.uri, &spec.from, &spec.to);
            for (n, v) in &spec.headers {
                b = b.header(n, v);
            }
            if let Some(body) = &spec.body {
                b = b.body(&body.content_type, body.bytes.clone());
            }
            let req = b.build()?;
            let target = match spec.target {
                Some(t) => t,
                None => Target::for_request(&req)?,
            };
            if self.track_call_ids {
                call_id = req.call_id().map(str::to_owned);
            }
            tls_peer = tls_peer_of(&target);
            self.register(call_id.as_deref());
            Ok(self.ep.send_request(now, req, target)?)
        })();
        self.pend(r, reply, call_id, tls_peer);
    }

    fn pend(
        &mut self,
        r: Result<ClientTxId>,
        reply: Reply<Response>,
        call_id: Option<String>,
        tls_peer: Option<SocketAddr>,
    ) {
        match r {
            Ok(tx) => {
                self.requests.insert(
                    tx,
                    Pending {
                        reply,
                        call_id,
                        tls_peer,
                    },
                );
            }
            Err(e) => {
                self.unregister(call_id.as_deref());
                let _ = reply.send(Err(e));
            }
        }
    }

    fn respond(&mut self, now: Instant, spec: ResponseSpec) -> Result<()> {
        let body = spec.body.as_ref().map(|b| b.as_parts());
        if let (true, Some(dialog)) = (spec.invite, spec.dialog) {
            // A re-INVITE is answered through its dialog (§14.2).
            let mut d = self.ep.dialog(dialog)?;
            return Ok(match spec.provisional {
                true => d.provisional(now, spec.status, body),
                false => d.answer(now, spec.status, body),
            }?);
        }
        let mut b = self.ep.response(spec.tx, spec.status)?;
        if let Some(reason) = &spec.reason {
            b = b.reason(reason);
        }
        for (n, v) in &spec.headers {
            b = b.header(n, v);
        }
        if let Some((ct, bytes)) = body {
            b = b.body(ct, bytes);
        }
        let resp = b.build()?;
        if spec.provisional && !resp.is_provisional() {
            // `send_provisional` with a final status: refused before anything is sent.
            return Err(DialogError::BadStatus(spec.status).into());
        }
        Ok(self.ep.respond(now, spec.tx, resp)?)
    }

    // ---- events --------------------------------------------------------------------

    fn key_of(&self, dialog: DialogId) -> DialogId {
        self.forks.get(&dialog).copied().unwrap_or(dialog)
    }

    fn on_event(&mut self, now: Instant, e: Event) {
        match e {
            Event::IncomingCall {
                dialog,
                tx,
                request,
                replaces,
            } => {
                let replaces = replaces.map(|r| self.key_of(r));
                self.incoming_call(now, dialog, tx, *request, replaces)
            }
            Event::IncomingRequest { tx, request } => self.incoming_request(now, tx, *request),
            Event::Response { tx, response } => self.final_response(tx, *response),
            Event::ClientTxFailed { tx, failure } => {
                if let Some(p) = self.requests.remove(&tx) {
                    self.unregister(p.call_id.as_deref());
                    let _ = p.reply.send(Err(match failure {
                        Failure::TransportError => self.transport_failure(p.tls_peer),
                        // Timeout, and any failure kind added later.
                        _ => Error::Timeout,
                    }));
                }
            }
            Event::DialogResponse {
                dialog,
                tx,
                response,
            } => {
                if self.requests.contains_key(&tx) {
                    return self.final_response(tx, *response);
                }
                let key = self.key_of(dialog);
                if let Some(slot) = self.calls.get(&key) {
                    slot.shared.update(|s| {
                        if s.state == DialogState::Confirmed && s.final_response.is_some() {
                            // A response to a re-INVITE the core retried (§14.1).
                        } else if response.is_provisional() {
                            s.progress.push_back(*response);
                        } else if s.final_response.is_none() {
                            s.final_response = Some(response);
                        }
                    });
                }
            }
            Event::DialogStateChanged { dialog, state } => self.state_changed(dialog, state),
            Event::ByeCompleted { dialog, outcome } => {
                let outcome = match outcome {
                    Ok(status) => ByeOutcome::Answered(status),
                    Err(Failure::Timeout) => ByeOutcome::Timeout,
                    // A transport error, a BYE the core could not send, and any failure
                    // kind added later.
                    Err(_) => ByeOutcome::TransportFailed,
                };
                // A BYE the core sent on its own (no ACK, a failed re-INVITE) still
                // reaches the call's handles, which may be waiting on an earlier hang-up.
                let call = self
                    .byes
                    .remove(&dialog)
                    .unwrap_or_else(|| self.key_of(dialog));
                self.bye_done(call, outcome);
            }
            Event::MediaNegotiated { dialog, media } => {
                let key = self.key_of(dialog);
                if let Some(slot) = self.calls.get(&key) {
                    slot.shared
                        .update(|s| s.events.push_back(CallEvent::Media(media)));
                }
            }
            Event::Forked { dialog, original } => {
                let key = self.key_of(original);
                self.forks.insert(dialog, key);
            }
            Event::DialogRequest {
                dialog,
                tx,
                request,
            } => self.dialog_request(now, dialog, tx, *request),
            Event::ReferReceived {
                refer,
                dialog,
                refer_to,
                target,
                referred_by,
            } => {
                self.stats.transfers_received += 1;
                let key = self.key_of(dialog);
                let open = self.calls.get(&key).filter(|s| !s.released);
                match (open, self.link()) {
                    (Some(slot), Some(link)) => {
                        let t = IncomingTransfer::new(refer, refer_to, target, referred_by, link);
                        slot.shared
                            .update(|s| s.events.push_back(CallEvent::Transfer(t)));
                    }
                    (open, _) => {
                        // A REFER outside any call of ours, or in one nobody holds.
                        let why = match (&self.closing, open) {
                            (Some(_), _) => Unhandled::ShuttingDown,
                            (None, None) => Unhandled::NoListener,
                            (None, Some(_)) => Unhandled::CallReleased,
                        };
                        if let Err(e) = self.ep.refer(refer).and_then(|mut r| r.decline(now, why)) {
                            tracing::debug!(%refer, error = %e, "REFER not declined");
                        }
                    }
                }
            }
            Event::Refer {
                refer,
                dialog: _,
                event,
            } => {
                let Some(shared) = self.refers_out.get(&refer) else {
                    return;
                };
                let over = event.is_final();
                shared.update(|t| match event {
                    ReferEvent::Accepted => t.accepted = Some(Ok(())),
                    ReferEvent::Rejected(code) => {
                        t.accepted = Some(Err(code));
                        t.outcome = Some(TransferOutcome {
                            final_status: None,
                            expired: false,
                        });
                    }
                    ReferEvent::Progress(s) => t.progress.push_back(s),
                    ReferEvent::Done {
                        final_status,
                        expired,
                    } => {
                        t.outcome = Some(TransferOutcome {
                            final_status,
                            expired,
                        })
                    }
                });
                if over {
                    self.refers_out.remove(&refer);
                }
            }
            Event::Registration {
                registration,
                state,
            } => {
                if let Some(shared) = self.registrations.get(&registration) {
                    shared.update(|s| s.history.push(state));
                }
                if matches!(state, sip_core::endpoint::RegistrationState::Unregistered) {
                    self.registrations.remove(&registration);
                }
            }
            // ACKs, CANCELs (the call's state change follows), strays, and future kinds.
            _ => {}
        }
    }

    fn final_response(&mut self, tx: ClientTxId, response: Response) {
        if response.is_provisional() {
            return;
        }
        if let Some(p) = self.requests.remove(&tx) {
            self.unregister(p.call_id.as_deref());
            let _ = p.reply.send(Ok(response));
        }
    }

    fn incoming_call(
        &mut self,
        now: Instant,
        dialog: DialogId,
        tx: ServerTxId,
        request: Request,
        replaces: Option<DialogId>,
    ) {
        self.stats.received += 1;
        let shared = Arc::new(Shared::new(CallState::new(dialog)));
        self.calls.insert(
            dialog,
            Slot {
                shared: shared.clone(),
                released: true,
                answered: false,
                call_id: None,
                tls_peer: None,
            },
        );
        let why = if self.closing.is_some() {
            Unhandled::ShuttingDown
        } else {
            match (&self.incoming_calls, self.link()) {
                (Some(sender), Some(link)) => {
                    if let Some(slot) = self.calls.get_mut(&dialog) {
                        slot.released = false;
                    }
                    let core = CallCore {
                        key: dialog,
                        role: Role::Uas,
                        shared,
                        link,
                    };
                    match sender.try_send(IncomingCall::new(core, tx, request, replaces)) {
                        Ok(()) => return,
                        // The returned handle is dropped below, after the refusal, so
                        // its release finds the call already over.
                        Err(mpsc::TrySendError::Full(_)) => Unhandled::Overloaded,
                        Err(mpsc::TrySendError::Closed(_)) => {
                            self.incoming_calls = None;
                            Unhandled::NoListener
                        }
                    }
                }
                _ => Unhandled::NoListener,
            }
        };
        self.stats.unhandled += 1;
        if let Err(e) = self.ep.decline(now, tx, why) {
            tracing::debug!(%dialog, error = %e, ?why, "incoming call not declined");
        }
    }

    fn incoming_request(&mut self, now: Instant, tx: ServerTxId, request: Request) {
        let why = match (&self.closing, &self.incoming_requests, self.link()) {
            (Some(_), _, _) => Unhandled::ShuttingDown,
            (None, Some(sender), Some(link)) => {
                match sender.try_send(IncomingRequest::new(tx, None, request, link)) {
                    Ok(()) => return,
                    Err(mpsc::TrySendError::Full(r)) => {
                        r.disarm();
                        Unhandled::Overloaded
                    }
                    Err(mpsc::TrySendError::Closed(r)) => {
                        r.disarm();
                        self.incoming_requests = None;
                        Unhandled::NoListener
                    }
                }
            }
            (None, _, _) => Unhandled::NoListener,
        };
        self.stats.requests_auto_answered += 1;
        if let Err(e) = self.ep.decline(now, tx, why) {
            tracing::debug!(error = %e, ?why, "request nobody takes not declined");
        }
    }

    fn dialog_request(&mut self, now: Instant, dialog: DialogId, tx: ServerTxId, request: Request) {
        let key = self.key_of(dialog);
        let open = self.calls.get(&key).filter(|s| !s.released);
        if let (Some(slot), Some(link)) = (open, self.link()) {
            let r = IncomingRequest::new(tx, Some(dialog), request, link);
            slot.shared
                .update(|s| s.events.push_back(CallEvent::Request(r)));
            return;
        }
        // Nobody holds the call: it is being hung up.
        if let Err(e) = self.ep.decline(now, tx, Unhandled::CallReleased) {
            tracing::debug!(%dialog, error = %e, "request in a released call not declined");
        }
    }

    fn state_changed(&mut self, dialog: DialogId, state: DialogState) {
        let key = self.key_of(dialog);
        let Some(slot) = self.calls.get_mut(&key) else {
            return;
        };
        match state {
            DialogState::Confirmed => {
                if !slot.answered {
                    slot.answered = true;
                    self.stats.answered += 1;
                }
                slot.shared.update(|s| {
                    s.active = dialog;
                    s.state = DialogState::Confirmed;
                });
            }
            DialogState::Early | DialogState::Trying => {
                slot.shared.update(|s| {
                    if s.state == DialogState::Trying {
                        s.state = state;
                    }
                });
            }
            DialogState::Terminated(_) => {
                let active = slot.shared.lock().active;
                if dialog != active {
                    // Another fork ended; the call goes on.
                    self.forks.remove(&dialog);
                    return;
                }
                if !slot.answered {
                    self.stats.failed += 1;
                }
                let released = slot.released;
                let tls = match (state, slot.answered, slot.tls_peer) {
                    (DialogState::Terminated(EndReason::TransportError), false, Some(peer)) => {
                        self.io.tls_failure(peer)
                    }
                    _ => None,
                };
                slot.shared.update(|s| {
                    s.state = state;
                    s.closed = true;
                    s.tls_failure = tls;
                });
                if released {
                    self.forget(key);
                }
            }
        }
    }

    /// The error for a request that got a transport error: the TLS handshake failure
    /// behind it if its destination is a TLS peer whose handshake failed.
    fn transport_failure(&self, tls_peer: Option<SocketAddr>) -> Error {
        tls_peer
            .and_then(|p| self.io.tls_failure(p))
            .map_or(Error::TransportFailed, Error::Tls)
    }

    // ---- shutdown ------------------------------------------------------------------

    fn begin_closing(&mut self, now: Instant, waiter: Option<oneshot::Sender<()>>) {
        if let Some(c) = &mut self.closing {
            c.waiters.extend(waiter);
            return;
        }
        self.incoming_calls = None;
        self.incoming_requests = None;
        let live: Vec<DialogId> = self
            .calls
            .iter()
            .filter(|(_, s)| !s.shared.lock().state.is_terminated())
            .map(|(k, _)| *k)
            .collect();
        for call in live {
            if let Err(e) = self.hang_up(now, call) {
                tracing::debug!(%call, error = %e, "hang-up at shutdown refused");
            }
        }
        self.closing = Some(Closing {
            waiters: waiter.into_iter().collect(),
            deadline: now + self.cfg.shutdown_timeout,
            settled_at: None,
        });
    }

    /// Whether a graceful shutdown is complete: every call over, every request of the API
    /// answered and every BYE we sent answered (`Event::ByeCompleted`, RFC 3261 §15.1.1)
    /// — or, once the calls are over and the requests answered, the grace period passed
    /// with BYEs still unanswered — or the overall deadline passed. Other client
    /// transactions (a BYE's kept for T4 after its response, NOTIFYs) are not waited for.
    pub fn finished(&mut self, now: Instant) -> bool {
        let settled = self
            .calls
            .values()
            .all(|s| s.shared.lock().state.is_terminated())
            && self.requests.is_empty();
        let Some(c) = &mut self.closing else {
            return false;
        };
        let t = now;
        if t >= c.deadline {
            return true;
        }
        if !settled {
            c.settled_at = None;
            return false;
        }
        let since = *c.settled_at.get_or_insert(t);
        self.byes.is_empty() || t >= since + self.cfg.shutdown_grace
    }
}

impl<I> std::fmt::Debug for Router<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("calls", &self.calls.len())
            .field("requests", &self.requests.len())
            .finish_non_exhaustive()
    }
}

/// The address of a TLS next hop, `None` for other transports.
fn tls_peer_of(target: &Target) -> Option<SocketAddr> {
    (target.transport == sip_core::transport::Transport::Tls).then_some(target.addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_emptied_after_a_peak_gives_its_memory_back() {
        let mut m: HashMap<u64, [u8; 32]> = (0..10_000).map(|i| (i, [0; 32])).collect();
        let peak = m.capacity();
        shrink_map(&mut m);
        assert_eq!(m.capacity(), peak, "a full table keeps its capacity");
        m.retain(|k, _| *k < 10);
        shrink_map(&mut m);
        assert!(m.capacity() < peak / 100, "{} of {peak}", m.capacity());
        assert_eq!(m.len(), 10);
    }
}
