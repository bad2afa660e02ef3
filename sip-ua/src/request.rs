//! Requests outside calls: sending one ([`RequestBuilder`]) and answering one
//! ([`IncomingRequest`]) — OPTIONS, MESSAGE, INFO, ... (RFC 3261 §8, §11; RFC 3428).

use sip_core::sdp::negotiate::{LocalMedia, NegotiatedMedia};
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::chan::mpsc;
use bytes::Bytes;
use sip_core::dialog::DialogId;
use sip_core::endpoint::{ServerTxId, Target, Unhandled};
use sip_core::message::{Method, Request, Response};

use crate::body::Body;
use crate::command::{Command, Link, RequestSpec, ResponseSpec};
use crate::error::{Error, Result};

/// A request to send outside any dialog, from `UserAgent::request`.
/// Awaiting it sends the request in a new client transaction and returns its final
/// response, whatever its status (provisional responses are skipped): [`Error::Timeout`]
/// if none came within 64·T1, [`Error::TransportFailed`] if the peer was unreachable.
///
/// ```no_run
/// # async fn demo(ua: sip_ua::runtime::UaFront) -> sip_ua::Result<()> {
/// use sip_core::message::Method;
/// let r = ua.request(Method::Options, "sip:bob@127.0.0.1:5070").await?;
/// println!("{} {} (Allow: {:?})", r.status(), r.reason(), r.headers().get("Allow"));
/// let r = ua
///     .request(Method::Message, "sip:bob@127.0.0.1:5070")
///     .body("text/plain", "hello")
///     .await?;
/// assert_eq!(r.status(), 200);
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a request is sent when the builder is awaited"]
pub struct RequestBuilder {
    link: Result<Link>,
    spec: RequestSpec,
}

impl RequestBuilder {
    pub(crate) fn new(link: Result<Link>, spec: RequestSpec) -> Self {
        RequestBuilder { link, spec }
    }

    /// The From header value (without tag); defaults to the user agent's identity.
    pub fn from(mut self, from: &str) -> Self {
        self.spec.from = from.to_owned();
        self
    }

    /// The To header value; defaults to the Request-URI in angle brackets.
    pub fn to(mut self, to: &str) -> Self {
        self.spec.to = to.to_owned();
        self
    }

    /// An extra header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.spec.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The body and its Content-Type.
    pub fn body(mut self, content_type: &str, bytes: impl Into<Bytes>) -> Self {
        self.spec.body = Some(Body::new(content_type, bytes));
        self
    }

    /// Where to send it; by default the Request-URI's IP address, port and transport.
    pub fn target(mut self, target: Target) -> Self {
        self.spec.target = Some(target);
        self
    }
}

impl IntoFuture for RequestBuilder {
    type Output = Result<Response>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Response>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let link = self.link?;
            let spec = Box::new(self.spec);
            link.ask(|r| Command::Request(spec, r)).await
        })
    }
}

/// A request to answer: outside any dialog (from
/// `UserAgent::incoming_requests`) or inside a call
/// (from [`Call::next_event`](crate::Call::next_event)).
///
/// Answer it with [`IncomingRequest::respond`], build a fuller response with
/// [`IncomingRequest::response`], or leave it to the stack with
/// [`IncomingRequest::decline`]. Dropped unanswered, it is answered by the core's policy
/// for a request let go of (500 Server Internal Error, RFC 3261 §21.5.1), so the peer's
/// transaction does not hang.
#[derive(Debug)]
pub struct IncomingRequest {
    tx: ServerTxId,
    dialog: Option<DialogId>,
    request: Request,
    link: Link,
    answered: bool,
}

impl IncomingRequest {
    pub(crate) fn new(
        tx: ServerTxId,
        dialog: Option<DialogId>,
        request: Request,
        link: Link,
    ) -> Self {
        IncomingRequest {
            tx,
            dialog,
            request,
            link,
            answered: false,
        }
    }

    /// The request.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// Its method.
    pub fn method(&self) -> &Method {
        self.request.method()
    }

    /// The server transaction it came in.
    pub fn transaction(&self) -> ServerTxId {
        self.tx
    }

    /// The dialog it came in, if it came in a call.
    pub fn dialog(&self) -> Option<DialogId> {
        self.dialog
    }

    /// Answers with a final `status` and no body (RFC 3261 §8.2.6). For headers, a body
    /// or a provisional response first, use [`IncomingRequest::response`].
    pub async fn respond(self, status: u16) -> Result<()> {
        self.response(status).send().await
    }

    /// Answers the offer of a re-INVITE received in a call from `caps` (RFC 3264 §6; needs
    /// `EndpointConfig::offer_answer`): 200 with the answer — a `sendonly` hold offer is
    /// answered `recvonly`, an `inactive` one `inactive` — or 488 with a Warning when no
    /// stream is acceptable. Returns the media agreed.
    pub async fn answer_offer(mut self, caps: &LocalMedia) -> Result<Vec<NegotiatedMedia>> {
        let Some(dialog) = self.dialog else {
            return Err(Error::Dialog(sip_core::dialog::DialogError::UnknownDialog));
        };
        let caps = Box::new(caps.clone());
        let r = self
            .link
            .ask(|r| Command::AnswerOffer(dialog, caps, r))
            .await;
        if !matches!(r, Err(Error::Shutdown)) {
            self.answered = true;
        }
        r
    }

    /// A response to fill in and send.
    pub fn response(self, status: u16) -> Reply {
        Reply {
            req: self,
            spec_status: status,
            reason: None,
            headers: Vec::new(),
            body: None,
        }
    }

    /// Leaves the request to the stack: it answers what the core's policy answers a
    /// request nobody takes ([`Endpoint::decline`](sip_core::endpoint::Endpoint::decline)
    /// with `Unhandled::NoListener`) — outside calls, 200 with `Allow` and `Accept` to
    /// OPTIONS (RFC 3261 §11.2) and 405 Method Not Allowed with `Allow` to anything else
    /// (§8.2.1). Returns the status sent.
    pub async fn decline(mut self) -> Result<u16> {
        let tx = self.tx;
        let r = self
            .link
            .ask(|r| Command::Decline(tx, Unhandled::NoListener, Some(r)))
            .await;
        // Answered, or refused for good: either way the drop must not answer again.
        if !matches!(r, Err(Error::Shutdown)) {
            self.answered = true;
        }
        r
    }

    /// Lets the request go without answering it on drop (the driver has it declined).
    pub(crate) fn disarm(mut self) {
        self.answered = true;
    }

    fn spec(&self, status: u16) -> ResponseSpec {
        ResponseSpec {
            tx: self.tx,
            dialog: self.dialog,
            invite: *self.request.method() == Method::Invite,
            provisional: false,
            status,
            reason: None,
            headers: Vec::new(),
            body: None,
        }
    }
}

impl Drop for IncomingRequest {
    fn drop(&mut self) {
        if !self.answered {
            let _ = self
                .link
                .send(Command::Decline(self.tx, Unhandled::Dropped, None));
        }
    }
}

/// A response being built for an [`IncomingRequest`].
///
/// ```no_run
/// # async fn demo(req: sip_ua::IncomingRequest) -> sip_ua::Result<()> {
/// req.response(200)
///     .header("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS")
///     .body("text/plain", "fine")
///     .send()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "the response is sent by send()"]
pub struct Reply {
    req: IncomingRequest,
    spec_status: u16,
    reason: Option<String>,
    headers: Vec<(String, String)>,
    body: Option<Body>,
}

impl Reply {
    /// A reason phrase other than the standard one.
    pub fn reason(mut self, reason: &str) -> Self {
        self.reason = Some(reason.to_owned());
        self
    }

    /// An extra header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The body and its Content-Type.
    pub fn body(mut self, content_type: &str, bytes: impl Into<Bytes>) -> Self {
        self.body = Some(Body::new(content_type, bytes));
        self
    }

    fn take_spec(&mut self) -> Box<ResponseSpec> {
        let mut spec = self.req.spec(self.spec_status);
        spec.reason = self.reason.take();
        spec.headers = std::mem::take(&mut self.headers);
        spec.body = self.body.take();
        Box::new(spec)
    }

    /// Sends the response. The core refuses one its transaction cannot take (a second
    /// final response, a status out of range).
    pub async fn send(mut self) -> Result<()> {
        let spec = self.take_spec();
        let link = self.req.link.clone();
        let r = link.ask(|r| Command::Respond(spec, Some(r))).await;
        // Answered, or refused for good: either way the drop must not answer again.
        if !matches!(r, Err(Error::Shutdown)) {
            self.req.answered = true;
        }
        r
    }

    /// Sends a provisional response (1xx) and gives the request back for the final one.
    /// A final status is refused ([`DialogError::BadStatus`](sip_core::dialog::DialogError))
    /// and nothing is sent.
    pub async fn send_provisional(mut self) -> Result<IncomingRequest> {
        let mut spec = self.take_spec();
        spec.provisional = true;
        let link = self.req.link.clone();
        link.ask(|r| Command::Respond(spec, Some(r))).await?;
        Ok(self.req)
    }
}

/// The stream of requests received outside any dialog, from
/// `UserAgent::incoming_requests`.
#[derive(Debug)]
pub struct IncomingRequests {
    rx: mpsc::Receiver<IncomingRequest>,
}

impl IncomingRequests {
    pub(crate) fn new(rx: mpsc::Receiver<IncomingRequest>) -> Self {
        IncomingRequests { rx }
    }

    /// The next request, or `None` when the user agent shuts down or another
    /// subscriber took over. Cancellation-safe.
    pub async fn next(&mut self) -> Option<IncomingRequest> {
        self.rx.recv().await
    }
}

impl futures_core::Stream for IncomingRequests {
    type Item = IncomingRequest;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<IncomingRequest>> {
        self.rx.poll_recv(cx)
    }
}
