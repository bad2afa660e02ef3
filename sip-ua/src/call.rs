//! Calls: placing one ([`CallBuilder`]), receiving one ([`IncomingCall`]), and the
//! [`Call`] handle of a call either way (RFC 3261 §12–§15).

use std::collections::VecDeque;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::chan::mpsc;
use bytes::Bytes;
use sip_core::dialog::{DialogId, DialogInfo, DialogState, EndReason, Role};
use sip_core::endpoint::{InviteOptions, ServerTxId, Target};
use sip_core::message::{Method, Request, Response};
use sip_core::sdp::negotiate::{LocalMedia, NegotiatedMedia};

use crate::body::Body;
use crate::command::{Answer, Command, Link};
use crate::error::{Error, Result};
use crate::request::IncomingRequest;
use crate::shared::Shared;
use crate::transfer::{IncomingTransfer, Transfer};

/// Something that happened inside an established call that the application answers.
// Events move once from the queue to the reader; boxing would cost an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
#[non_exhaustive]
pub enum CallEvent {
    /// The peer asks us to call someone else (a REFER, RFC 3515): accept or reject it,
    /// then report the new call's progress.
    Transfer(IncomingTransfer),
    /// Any other request inside the call (re-INVITE, UPDATE, INFO, MESSAGE, OPTIONS, ...;
    /// RFC 3261 §12.2.2, §14.2): answer it. BYE, CANCEL, ACK and the NOTIFYs of our own
    /// transfers are handled by the stack. A re-INVITE's offer is answered with
    /// [`IncomingRequest::answer_offer`] when offer/answer is on.
    Request(IncomingRequest),
    /// An offer/answer exchange completed (`EndpointConfig::offer_answer`, RFC 3264): the
    /// media agreed per stream in use — remote address and port, payload type, codec,
    /// ptime, direction — for the application's RTP. Comes after the call's first exchange
    /// and after each hold, resume or other re-offer.
    Media(Vec<NegotiatedMedia>),
}

/// What the driver and a call's handles share.
#[derive(Debug)]
pub(crate) struct CallState {
    pub state: DialogState,
    /// The dialog commands go to: the call's first dialog, or the fork that answered.
    pub active: DialogId,
    /// Provisional responses to our INVITE not read yet.
    pub progress: VecDeque<Response>,
    /// The final response to our INVITE (boxed: most calls are answered by us and never
    /// have one, and a call's state should stay small).
    pub final_response: Option<Box<Response>>,
    /// Events not read yet.
    pub events: VecDeque<CallEvent>,
    /// The call is over and the driver has let go: no more events will come.
    pub closed: bool,
    /// How the BYE that ended the call went, once known (RFC 3261 §15.1.1).
    pub bye: Option<ByeOutcome>,
    /// Why the TLS connection the INVITE needed could not be set up, when that ended the
    /// call (a transport error).
    pub tls_failure: Option<sip_tls::TlsFailure>,
}

/// How a BYE we sent ended, as the core reported it (`Event::ByeCompleted`, which it
/// guarantees for every BYE it sends or holds for an ACK).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ByeOutcome {
    /// A final response with this status.
    Answered(u16),
    /// No final response: Timer F fired (64·T1, RFC 3261 §17.1.2.2).
    Timeout,
    /// The transport could not reach the peer (§17.1.4), or the BYE could not be sent.
    TransportFailed,
    /// The driver task ended (shutdown) before the BYE was answered.
    Shutdown,
}

impl ByeOutcome {
    /// What [`Call::hangup`] returns for it: a 2xx or a 481 is a completed hang-up
    /// (§15.1.1: after a 481 the dialog is over on both sides); 408 is a timeout reported
    /// by a proxy (§8.1.3.1).
    pub(crate) fn into_result(self) -> Result<()> {
        match self {
            ByeOutcome::Answered(200..=299 | 481) => Ok(()),
            ByeOutcome::Answered(408) | ByeOutcome::Timeout => Err(Error::Timeout),
            ByeOutcome::Answered(status) => Err(Error::ByeRejected(status)),
            ByeOutcome::TransportFailed => Err(Error::TransportFailed),
            ByeOutcome::Shutdown => Err(Error::Shutdown),
        }
    }
}

/// What a hang-up did (the driver's answer to [`Command::Hangup`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HangupKind {
    /// A BYE on a confirmed dialog: sent, or (UAS) held until the ACK of our 2xx.
    Bye,
    /// A CANCEL of an outgoing call, or the core's refusal of an incoming one, not yet
    /// answered.
    Early,
}

impl CallState {
    pub(crate) fn new(dialog: DialogId) -> Self {
        CallState {
            state: DialogState::Trying,
            active: dialog,
            progress: VecDeque::new(),
            final_response: None,
            events: VecDeque::new(),
            closed: false,
            bye: None,
            tls_failure: None,
        }
    }
}

/// The parts every call handle holds. Dropping it releases the call: the driver hangs up
/// if the call is still up.
#[derive(Debug)]
pub(crate) struct CallCore {
    pub key: DialogId,
    pub role: Role,
    pub shared: Arc<Shared<CallState>>,
    pub link: Link,
}

impl Drop for CallCore {
    fn drop(&mut self) {
        // If the driver is gone there is nothing left to release.
        let _ = self.link.send(Command::Release(self.key));
    }
}

/// An established or establishing call, placed with `UserAgent::call`
/// or accepted with [`IncomingCall::accept`].
///
/// Dropping the handle hangs up (BYE for an established call, CANCEL for one still
/// ringing), so a call never outlives the code that owns it. Every method takes `&self` or
/// `&mut self` and is cancellation-safe: dropping a pending future loses nothing.
///
/// ```no_run
/// # async fn demo(ua: sip_ua::runtime::UaFront) -> sip_ua::Result<()> {
/// let mut call = ua.call("sip:bob@127.0.0.1:5070").sdp("v=0\r\n").await?;
/// while let Some(p) = call.progress().await {
///     println!("{} {}", p.status(), p.reason());
/// }
/// let ok = call.answered().await?;
/// println!("answered with {} bytes of SDP", ok.body().len());
/// call.hangup().await?; // BYE sent and answered (2xx or 481)
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Call {
    core: CallCore,
}

impl Call {
    pub(crate) fn new(core: CallCore) -> Self {
        Call { core }
    }

    /// The call's dialog handle in the core (the first dialog of the call; see
    /// [`Call::info`] for the RFC 3261 §12 dialog id).
    pub fn id(&self) -> DialogId {
        self.core.key
    }

    /// Whether we placed the call ([`Role::Uac`]) or answered it ([`Role::Uas`]).
    pub fn role(&self) -> Role {
        self.core.role
    }

    /// The dialog state now (RFC 3261 §12): `Trying`, `Early`, `Confirmed` or
    /// `Terminated` with its reason.
    pub fn state(&self) -> DialogState {
        self.core.shared.lock().state
    }

    /// A snapshot of the dialog: Call-ID, tags, remote target, route set, CSeqs (§12.1).
    pub async fn info(&self) -> Result<DialogInfo> {
        let key = self.core.key;
        self.core.link.ask(|r| Command::Info(key, r)).await
    }

    /// The next provisional response (1xx) to our INVITE, in arrival order; `None` once
    /// the INVITE has its final response and every provisional one was read (and always
    /// `None` on a call we answered). RFC 3261 §13.2.2.1.
    pub async fn progress(&mut self) -> Option<Response> {
        self.core
            .shared
            .wait(|s| {
                if let Some(r) = s.progress.pop_front() {
                    return Some(Some(r));
                }
                let done = s.final_response.is_some()
                    || s.state.is_terminated()
                    || self.core.role == Role::Uas;
                done.then_some(None)
            })
            .await
    }

    /// Waits for the INVITE's outcome: the 2xx response (its body is the SDP answer) when
    /// the call is answered, else [`Error::CallEnded`] with the reason (rejected with a
    /// status, cancelled, timed out, ...), or [`Error::Tls`] when the TLS connection it
    /// needed failed its handshake. On a call we answered it returns at once with
    /// an error, as there is no response to wait for. Can be awaited any number of times.
    pub async fn answered(&self) -> Result<Response> {
        if self.core.role == Role::Uas {
            return Err(Error::AlreadyDone);
        }
        self.core
            .shared
            .wait(|s| match s.state {
                DialogState::Confirmed => s.final_response.as_deref().cloned().map(Ok),
                DialogState::Terminated(reason) => Some(match s.final_response.as_deref() {
                    Some(r) if r.is_success() => Ok(r.clone()),
                    _ => Err(match &s.tls_failure {
                        Some(f) => Error::Tls(f.clone()),
                        None => Error::CallEnded(reason),
                    }),
                }),
                _ => None,
            })
            .await
    }

    /// Cancels the call if it is not answered yet (CANCEL, RFC 3261 §9.1); the call then
    /// ends with [`EndReason::Cancelled`]. If the 2xx crosses the CANCEL, the stack ACKs
    /// and hangs up. Returns once the CANCEL is sent; follow with [`Call::ended`]. On an
    /// answered call this is the same as [`Call::hangup`] (it waits for the BYE's answer).
    pub async fn cancel(&self) -> Result<()> {
        self.hangup().await
    }

    /// Hangs up and, for an established call, waits until the peer has answered the BYE.
    ///
    /// * Confirmed call: sends BYE (RFC 3261 §15.1.1). The call's state is
    ///   `Terminated(LocalBye)` at once (media should stop now); the future resolves when
    ///   the BYE's final response arrives: `Ok` for a 2xx, and for a 481 too (the peer had
    ///   already forgotten the call, so it is over on both sides, §15.1.1);
    ///   [`Error::Timeout`] when no final response came within 64·T1 (Timer F,
    ///   §17.1.2.2; a 408 from a proxy counts the same, §8.1.3.1);
    ///   [`Error::TransportFailed`] when the transport could not reach the peer (§17.1.4);
    ///   [`Error::ByeRejected`] for any other error status; [`Error::Shutdown`] if the user
    ///   agent shut down first.
    /// * A call we answered whose ACK has not come yet: the stack holds the BYE until the
    ///   ACK arrives (§15: a callee must not send BYE before the ACK of its 2xx, or 64·T1
    ///   without it) and the future waits for both. The core reports every BYE it holds,
    ///   even one it then cannot send ([`Error::TransportFailed`]), so the future always
    ///   resolves.
    /// * Outgoing call not answered yet: sends CANCEL (§9.1) and returns once it is sent;
    ///   follow with [`Call::ended`] (`Cancelled`, or `LocalBye` if a 2xx crossed the
    ///   CANCEL: the stack then ACKs and sends BYE itself).
    /// * Incoming call not accepted yet: the core declines it (603 Decline) and this
    ///   returns once that is sent.
    ///
    /// Errors with the core's
    /// [`DialogError::Terminated`](sip_core::dialog::DialogError::Terminated) if the call is
    /// over already. Cancellation-safe: dropping the future after the hang-up was handed to
    /// the driver does not stop it, and the BYE still completes in the stack.
    pub async fn hangup(&self) -> Result<()> {
        let key = self.core.key;
        match self.core.link.ask(|r| Command::Hangup(key, r)).await? {
            HangupKind::Early => Ok(()),
            HangupKind::Bye => self.core.shared.wait(|s| s.bye).await.into_result(),
        }
    }

    /// Waits until the call is over and returns why (the peer hung up, we did, it was
    /// rejected, ...).
    pub async fn ended(&self) -> EndReason {
        self.core
            .shared
            .wait(|s| match s.state {
                DialogState::Terminated(r) => Some(r),
                _ => None,
            })
            .await
    }

    /// Transfers the peer to `target` (a blind transfer: REFER, RFC 3515) and waits until
    /// the peer accepts (202) or rejects it ([`Error::ReferRejected`] with the status; 481
    /// if the call ended first). The returned [`Transfer`] reports how the peer's call to
    /// `target` goes.
    pub async fn refer(&self, target: &str) -> Result<Transfer> {
        let key = self.core.key;
        let target = target.to_owned();
        let (id, shared) = self
            .core
            .link
            .ask(|r| Command::Refer(key, target, r))
            .await?;
        let accepted = shared
            .wait(|t| {
                t.accepted
                    .or_else(|| t.outcome.is_some().then_some(Err(481)))
            })
            .await;
        match accepted {
            Ok(()) => Ok(Transfer::new(id, shared)),
            Err(status) => Err(Error::ReferRejected(status)),
        }
    }

    /// An attended transfer (RFC 5589 §7): asks the peer of this call to call the peer of
    /// `consultation` (another call of ours, answered) in its place — a REFER whose
    /// Refer-To carries a `Replaces` naming `consultation`, escaped (RFC 3891 §5, RFC 3515
    /// §2.1). Waits for the peer to accept (202) or reject it, like [`Call::refer`]; the
    /// transfer target ends `consultation` when it accepts the new call, and this call is
    /// the caller's to hang up once the [`Transfer`] succeeded.
    ///
    /// ```no_run
    /// # async fn demo(ua: sip_ua::runtime::UaFront, alice: sip_ua::Call) -> sip_ua::Result<()> {
    /// let carol = ua.call("sip:carol@127.0.0.1:5080").await?;
    /// carol.answered().await?;
    /// let transfer = alice.transfer_attended(&carol).await?;
    /// if transfer.outcome().await.succeeded() {
    ///     alice.hangup().await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn transfer_attended(&self, consultation: &Call) -> Result<Transfer> {
        let key = consultation.core.key;
        let refer_to = consultation
            .core
            .link
            .ask(|r| Command::ReplacingReferTo(key, r))
            .await?;
        self.refer(&refer_to).await
    }

    /// The next event of the call (a transfer request, an in-dialog request to answer),
    /// or `None` once the call is over and every event was read.
    pub async fn next_event(&mut self) -> Option<CallEvent> {
        self.core
            .shared
            .wait(|s| match s.events.pop_front() {
                Some(e) => Some(Some(e)),
                None => s.closed.then_some(None),
            })
            .await
    }

    /// Sends a request inside the call (INFO, MESSAGE, UPDATE, OPTIONS, ...; RFC 3261
    /// §12.2.1.1) and returns its final response. INVITE, BYE and REFER have their own
    /// methods.
    pub async fn request(
        &self,
        method: Method,
        headers: Vec<(String, String)>,
        body: Option<Body>,
    ) -> Result<Response> {
        let call = self.core.key;
        self.core
            .link
            .ask(|reply| Command::InDialog {
                call,
                method,
                headers,
                body,
                reply,
            })
            .await
    }

    /// Sends an INFO inside the call (RFC 6086) and returns its final response: with
    /// `package`, an Info Package INFO (`Info-Package`, and `Content-Disposition:
    /// Info-Package` on the body; 469 Bad Info Package if the peer does not receive it);
    /// without, a legacy INFO (RFC 2976).
    pub async fn send_info(&self, package: Option<&str>, body: Option<Body>) -> Result<Response> {
        let headers = sip_core::dialog::info::info_headers(package, body.is_some())
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        self.request(Method::Info, headers, body).await
    }

    /// Sends a MESSAGE inside the call (RFC 3428 §4: an instant message, `body` its
    /// content) and returns its final response.
    pub async fn send_message(&self, body: Body) -> Result<Response> {
        self.request(Method::Message, Vec::new(), Some(body)).await
    }

    /// Sends an UPDATE (RFC 3311) and returns its final response: with a session
    /// description in `body`, an offer whose answer comes in the 2xx (and as
    /// [`CallEvent::Media`] with offer/answer on); a 491 means the peer's offer crossed ours
    /// (§5.2), retry after a random while.
    pub async fn update(&self, body: Option<Body>) -> Result<Response> {
        self.request(Method::Update, Vec::new(), body).await
    }

    /// Puts the call on hold (RFC 3264 §8.4): a re-INVITE offering our last description with
    /// sendrecv streams made sendonly (recvonly ones inactive), `o=` version one higher;
    /// returns its final response, and the media then agreed comes as [`CallEvent::Media`].
    /// Needs `EndpointConfig::offer_answer` and a completed exchange.
    pub async fn hold(&self) -> Result<Response> {
        let call = self.core.key;
        self.core.link.ask(|r| Command::Hold(call, true, r)).await
    }

    /// Takes the call off hold: sendonly streams back to sendrecv (inactive to recvonly).
    pub async fn resume(&self) -> Result<Response> {
        let call = self.core.key;
        self.core.link.ask(|r| Command::Hold(call, false, r)).await
    }

    /// Sends a re-INVITE (a new offer, or a target refresh without a body; RFC 3261 §14.1)
    /// and returns its final response. A 491 is retried by the stack after the random
    /// interval of §14.1; the response returned is then the 491.
    pub async fn reinvite(&self, body: Option<Body>) -> Result<Response> {
        let call = self.core.key;
        self.core
            .link
            .ask(|r| Command::Reinvite(call, body, r))
            .await
    }
}

/// A call placed to us (an INVITE out of any dialog, RFC 3261 §13.3): ring, accept or
/// reject it. Dropping it unanswered hangs it up, which the core does by declining it
/// (603).
///
/// ```no_run
/// # async fn demo(ua: sip_ua::runtime::UaFront) -> sip_ua::Result<()> {
/// use sip_ua::Body;
/// let mut incoming = ua.incoming();
/// while let Some(inc) = incoming.next().await {
///     println!("call from {:?}", inc.request().headers().get("From"));
///     inc.ringing().await?;
///     let call = inc.accept(Some(Body::sdp("v=0\r\n"))).await?;
///     let reason = call.ended().await;
///     println!("call over: {reason:?}");
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct IncomingCall {
    core: CallCore,
    tx: ServerTxId,
    request: Request,
    replaces: Option<DialogId>,
}

impl IncomingCall {
    pub(crate) fn new(
        core: CallCore,
        tx: ServerTxId,
        request: Request,
        replaces: Option<DialogId>,
    ) -> Self {
        IncomingCall {
            core,
            tx,
            request,
            replaces,
        }
    }

    /// The call this one replaces (RFC 3891: its INVITE carried a Replaces naming that
    /// call, as the target of an attended transfer receives it), by its
    /// [`Call::id`]. Accepting this call ends that one with BYE; rejecting it leaves it
    /// alone.
    pub fn replaces(&self) -> Option<DialogId> {
        self.replaces
    }

    /// The INVITE (its body is the caller's offer).
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The call's dialog handle in the core.
    pub fn id(&self) -> DialogId {
        self.core.key
    }

    /// The INVITE's server transaction.
    pub fn transaction(&self) -> ServerTxId {
        self.tx
    }

    /// Whether the caller cancelled the call (CANCEL, RFC 3261 §9.2) or it ended otherwise.
    pub fn is_cancelled(&self) -> bool {
        self.core.shared.lock().state.is_terminated()
    }

    /// Waits until the caller cancels (or the call otherwise ends before we answer) and
    /// returns why.
    pub async fn cancelled(&self) -> EndReason {
        self.core
            .shared
            .wait(|s| match s.state {
                DialogState::Terminated(r) => Some(r),
                _ => None,
            })
            .await
    }

    /// Sends 180 Ringing (with our To tag: the early dialog, RFC 3261 §12.1.1).
    pub async fn ringing(&self) -> Result<()> {
        self.answer(Answer::Ring).await
    }

    /// Sends any provisional response but 100 (101–199), with an optional body (early
    /// media). The core refuses another status
    /// ([`DialogError::BadStatus`](sip_core::dialog::DialogError::BadStatus)).
    pub async fn provisional(&self, status: u16, body: Option<Body>) -> Result<()> {
        self.answer(Answer::Provisional(status, body)).await
    }

    async fn answer(&self, answer: Answer) -> Result<()> {
        let call = self.core.key;
        self.core
            .link
            .ask(|r| Command::Answer {
                call,
                answer,
                reply: Some(r),
            })
            .await
    }

    /// 180 Ringing then 200 OK with `body`, both handed to the driver at once (it handles
    /// them in order, with no round trip in between); the INVITE is let go at once, so the
    /// returned future is small. What [`IncomingCall::ringing`] then
    /// [`IncomingCall::accept`] do, for answering without a ringing delay. Fails with
    /// [`Error::CallEnded`] if the call was over first (the caller cancelled it).
    pub fn ring_and_accept(self, body: Option<Body>) -> Accepting {
        self.ring_then(Answer::Accept(body))
    }

    /// 180 Ringing then the answer to the caller's offer from `caps` (RFC 3264 §6; see
    /// [`IncomingCall::accept_offer`]), handed to the driver at once.
    pub fn ring_and_accept_offer(self, caps: &LocalMedia) -> Accepting {
        self.ring_then(Answer::AcceptOffer(Box::new(caps.clone())))
    }

    fn ring_then(self, answer: Answer) -> Accepting {
        let IncomingCall { core, .. } = self;
        let call = core.key;
        // A refused 180 (the call ended) makes the 200 fail too: its error is the one told.
        let _ = core.link.send(Command::Answer {
            call,
            answer: Answer::Ring,
            reply: None,
        });
        let (tx, rx) = crate::chan::oneshot::channel();
        let sent = core.link.send(Command::Answer {
            call,
            answer,
            reply: Some(tx),
        });
        Accepting {
            core: Some(core),
            rx: sent.ok().map(|()| rx),
        }
    }

    /// Accepts the call with 200 OK and `body` (the SDP answer); the stack retransmits the
    /// 200 until the ACK arrives (RFC 3261 §13.3.1.4). Fails if the caller cancelled first.
    pub async fn accept(self, body: Option<Body>) -> Result<Call> {
        self.answer(Answer::Accept(body)).await?;
        Ok(Call::new(self.core))
    }

    /// Accepts the call with 200 OK carrying the answer to the caller's offer, built from
    /// `caps` (RFC 3264 §6: the caller's codec order and payload numbers, rejected streams
    /// at port 0, the direction mirrored); the media agreed comes as [`CallEvent::Media`].
    /// When no offered stream is acceptable the call is refused with 488 and a Warning
    /// (RFC 3261 §20.43) and the error says why. Needs `EndpointConfig::offer_answer`.
    pub async fn accept_offer(self, caps: &LocalMedia) -> Result<Call> {
        self.answer(Answer::AcceptOffer(Box::new(caps.clone())))
            .await?;
        Ok(Call::new(self.core))
    }

    /// Rejects the call with a final status (300–699, e.g. 486 Busy Here, 603 Decline;
    /// the core refuses another).
    pub async fn reject(self, status: u16) -> Result<()> {
        self.answer(Answer::Reject(status)).await
    }

    /// Rejects the call with a final status (300–699) and extra headers: a 407 with
    /// `Proxy-Authenticate` (RFC 3261 §22.3), a 3xx with `Contact`, a 503 with
    /// `Retry-After`, ...
    pub async fn reject_with(self, status: u16, headers: &[(&str, &str)]) -> Result<()> {
        let rows = headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        self.answer(Answer::RejectWith(status, rows)).await
    }
}

/// The answer of [`IncomingCall::ring_and_accept`] under way: resolves to the call, or to
/// the error ([`Error::CallEnded`] if the call had ended first: the caller cancelled). A
/// small future: it holds neither the INVITE nor the answer.
#[derive(Debug)]
#[must_use = "the answer's outcome is only known by awaiting it"]
pub struct Accepting {
    /// `None` once resolved.
    core: Option<CallCore>,
    /// `None` if the driver was gone before the 200 could be handed over.
    rx: Option<crate::chan::oneshot::Receiver<Result<()>>>,
}

impl Future for Accepting {
    type Output = Result<Call>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let r = match self.rx.as_mut() {
            Some(rx) => match Pin::new(rx).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(r) => r.unwrap_or(Err(Error::Shutdown)),
            },
            None => Err(Error::Shutdown),
        };
        self.rx = None;
        Poll::Ready(match (self.core.take(), r) {
            (Some(core), Ok(())) => Ok(Call::new(core)),
            (Some(core), Err(e)) => match core.shared.lock().state {
                DialogState::Terminated(reason) => Err(Error::CallEnded(reason)),
                _ => Err(e),
            },
            // Polled again after it resolved.
            (None, _) => Err(Error::AlreadyDone),
        })
    }
}

/// The stream of calls placed to a `UserAgent`, from
/// `UserAgent::incoming`. Implements
/// [`futures_core::Stream`] as well as offering [`IncomingCalls::next`].
#[derive(Debug)]
pub struct IncomingCalls {
    rx: mpsc::Receiver<IncomingCall>,
}

impl IncomingCalls {
    pub(crate) fn new(rx: mpsc::Receiver<IncomingCall>) -> Self {
        IncomingCalls { rx }
    }

    /// The next call, or `None` when the user agent shuts down or another
    /// `UserAgent::incoming` took over. Cancellation-safe.
    pub async fn next(&mut self) -> Option<IncomingCall> {
        self.rx.recv().await
    }
}

impl futures_core::Stream for IncomingCalls {
    type Item = IncomingCall;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<IncomingCall>> {
        self.rx.poll_recv(cx)
    }
}

/// A call about to be placed, from `UserAgent::call`. Set what
/// you need, then `.await` it: the INVITE is sent and the [`Call`] returned at once
/// (RFC 3261 §13.2.1); follow it with [`Call::progress`] and [`Call::answered`].
#[derive(Debug)]
#[must_use = "a call is placed when the builder is awaited"]
pub struct CallBuilder {
    link: Result<Link>,
    opts: InviteOptions,
}

impl CallBuilder {
    pub(crate) fn new(link: Result<Link>, opts: InviteOptions) -> Self {
        CallBuilder { link, opts }
    }

    /// The From header value (without tag), e.g. `"Alice" <sip:alice@example.com>`;
    /// defaults to the user agent's identity.
    pub fn from(mut self, from: &str) -> Self {
        self.opts.from = from.to_owned();
        self
    }

    /// The To header value; defaults to the Request-URI in angle brackets.
    pub fn to(mut self, to: &str) -> Self {
        self.opts.to = to.to_owned();
        self
    }

    /// The Contact header value; by default the local address the INVITE leaves from.
    pub fn contact(mut self, contact: &str) -> Self {
        self.opts.contact = Some(contact.to_owned());
        self
    }

    /// The body (the offer) and its Content-Type. Replaces a [`CallBuilder::late_offer`].
    pub fn body(mut self, content_type: &str, bytes: impl Into<Bytes>) -> Self {
        self.opts.body = Some((content_type.to_owned(), bytes.into()));
        self.opts.late_offer = None;
        self
    }

    /// Places the call without an offer (a late offer, RFC 3261 §13.2.1): the peer offers
    /// in its 2xx, answered from `caps` in the ACK (§13.2.2.4), or in a reliable 1xx,
    /// answered in the PRACK (RFC 3262 §5); the media agreed come as [`CallEvent::Media`].
    /// An offer `caps` cannot answer gets an answer refusing every stream (port 0) and the
    /// call ends with BYE ([`DialogState::Terminated`] with `EndReason::Rejected(488)`).
    /// Needs `EndpointConfig::offer_answer`. Replaces a body set before.
    pub fn late_offer(mut self, caps: LocalMedia) -> Self {
        self.opts.body = None;
        self.opts.late_offer = Some(Box::new(caps));
        self
    }

    /// An `application/sdp` body.
    pub fn sdp(self, bytes: impl Into<Bytes>) -> Self {
        self.body("application/sdp", bytes)
    }

    /// An extra header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.opts.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Where to send the INVITE (an outbound proxy, or the resolved address of a host
    /// name); by default the Request-URI's IP address, port and transport.
    pub fn target(mut self, target: Target) -> Self {
        self.opts.target = Some(target);
        self
    }
}

impl IntoFuture for CallBuilder {
    type Output = Result<Call>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Call>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let link = self.link?;
            let opts = Box::new(self.opts);
            link.ask(|r| Command::Invite(opts, r)).await
        })
    }
}
