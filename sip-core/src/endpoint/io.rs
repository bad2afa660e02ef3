//! What goes into an endpoint and what comes out of it.

use std::net::SocketAddr;

use bytes::Bytes;

use crate::dialog::{DialogEvent, DialogId, DialogState, ReferEvent, ReferId};
use crate::message::{Request, Response};
use crate::transaction::layer::Up;
pub use crate::transaction::layer::{ClientTxId, Failure, ServerTxId, Transmit};
use crate::transport::Transport;

/// Something that happened outside the endpoint, handed in by the driver.
#[derive(Debug, Clone)]
pub enum Input {
    /// Bytes arrived: a whole datagram, or one message framed from a stream by
    /// [`StreamFramer`](crate::message::StreamFramer).
    Receive {
        /// The transport they came over.
        transport: Transport,
        /// The peer's address (the packet's source).
        from: SocketAddr,
        /// The local address they arrived at.
        to: SocketAddr,
        /// The message bytes.
        bytes: Bytes,
    },
    /// A stream lost its framing on a message (the driver's `StreamFramer` or
    /// `StreamReader` returned `error`): `bytes` are what it held of that message
    /// (`take_rejected`). The endpoint answers it if enough of its head can be read (400,
    /// or 513 for one over the limits; RFC 3261 §18.3, §21, §8.2.6), then the driver closes
    /// the connection as before.
    Unframed {
        /// The stream transport.
        transport: Transport,
        /// The peer's address.
        from: SocketAddr,
        /// The local address.
        to: SocketAddr,
        /// The bytes held of the message.
        bytes: Bytes,
        /// The framing error.
        error: crate::message::ParseError,
    },
    /// The driver could not send to, or connect to, `destination` (RFC 3261 §18.4): the
    /// transactions sending there fail.
    TransportError {
        /// The transport that failed.
        transport: Transport,
        /// The address that could not be reached.
        destination: SocketAddr,
    },
}

/// What the endpoint asks of its driver and tells its user, in the order it arose. (When
/// to wake the endpoint is asked separately: `Endpoint::poll_timeout`.)
// Events carry whole messages; outputs are moved once from the queue to the caller, which
// costs less than a box per event.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Output {
    /// Send these bytes.
    Transmit(Transmit),
    /// Something for the application.
    Event(Event),
}

/// An event for the transaction user. New kinds are added as the stack grows: match with a
/// wildcard arm.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// A new request arrived and a server transaction was created for it. Answer it with
    /// `Endpoint::respond` (an ACK gets no transaction: see
    /// [`Event::Ack`]).
    IncomingRequest {
        /// The server transaction to answer on.
        tx: ServerTxId,
        /// The request, with `received`/`rport` added to its top Via (§18.2.1, RFC 3581).
        request: Box<Request>,
    },
    /// A response arrived for one of our client transactions. For an INVITE, provisional
    /// and 2xx responses arrive here (and 2xx retransmissions too, per RFC 6026, so the
    /// dialog layer can re-send its ACK); a 3xx–6xx arrives once, already ACKed.
    Response {
        /// The client transaction.
        tx: ClientTxId,
        /// The response.
        response: Box<Response>,
    },
    /// A client transaction got no final response (Timer B/F) or hit a transport error.
    /// §8.1.3.1: the TU treats this like a 408 or 503.
    ClientTxFailed {
        /// The client transaction.
        tx: ClientTxId,
        /// Why.
        failure: Failure,
    },
    /// An INVITE server transaction sent a 3xx–6xx and no ACK came before Timer H
    /// (§17.2.1), or the transport failed while responding.
    ServerTxFailed {
        /// The server transaction.
        tx: ServerTxId,
        /// Why.
        failure: Failure,
    },
    /// A CANCEL matched a pending INVITE server transaction (§9.2). The endpoint has already
    /// answered the CANCEL 200 and the INVITE 487.
    Cancelled {
        /// The INVITE's server transaction.
        tx: ServerTxId,
    },
    /// An ACK that matched no INVITE server transaction: the ACK for a 2xx, which belongs to
    /// the dialog (§13.3.1.4, §17.2.3), or an ACK for a transaction already gone.
    Ack {
        /// The ACK.
        request: Box<Request>,
        /// Where it came from.
        from: SocketAddr,
    },
    /// A response that matched no client transaction and no dialog (§18.1.2).
    StrayResponse {
        /// The response.
        response: Box<Response>,
        /// Where it came from.
        from: SocketAddr,
    },
    /// A new INVITE out of any dialog: a call. Answer it with
    /// `ep.dialog(id)?.answer(..)` (ringing, accept, reject); the dialog exists from the first
    /// response with a To tag (§12.1.1).
    IncomingCall {
        /// The call's dialog handle.
        dialog: DialogId,
        /// The INVITE's server transaction.
        tx: ServerTxId,
        /// The INVITE.
        request: Box<Request>,
        /// The dialog this call replaces (RFC 3891: its Replaces header matched a confirmed
        /// dialog, or an early one we initiated). Accepting the call (2xx) ends that dialog
        /// with BYE (or CANCEL); rejecting it leaves it alone.
        replaces: Option<DialogId>,
    },
    /// A dialog changed state (§12); `Terminated` says why.
    DialogStateChanged {
        /// The dialog.
        dialog: DialogId,
        /// Its new state.
        state: DialogState,
    },
    /// A provisional or 2xx response from another fork of our INVITE created a new dialog
    /// (§12.1.2, §13.2.2.4).
    Forked {
        /// The new dialog.
        dialog: DialogId,
        /// The dialog `invite` returned.
        original: DialogId,
    },
    /// A response to a request we sent in a dialog (INVITE, re-INVITE, INFO, UPDATE, ...).
    /// The core has already ACKed a 2xx to an INVITE.
    DialogResponse {
        /// The dialog.
        dialog: DialogId,
        /// The client transaction.
        tx: ClientTxId,
        /// The response.
        response: Box<Response>,
    },
    /// The BYE that ended a dialog on our side (§15.1.1) is done: `Ok` with its final
    /// status (200, or e.g. 481 when the peer had already forgotten the dialog), or why it
    /// got none (Timer F, a transport error). The dialog itself was already
    /// `Terminated(LocalBye)` when the BYE went out; this tells a TU that waits for the
    /// peer's answer (a "hang up and confirm" API, a graceful shutdown) when to stop waiting.
    ByeCompleted {
        /// The dialog.
        dialog: DialogId,
        /// The BYE's final status code, or its failure.
        outcome: Result<u16, Failure>,
    },
    /// A request inside a dialog for the TU to answer with `Endpoint::respond`
    /// (re-INVITE, UPDATE, INFO, MESSAGE, OPTIONS, ...). BYE, NOTIFY for REFER and REFER
    /// itself are handled by the core and reported by their own events.
    DialogRequest {
        /// The dialog.
        dialog: DialogId,
        /// The server transaction.
        tx: ServerTxId,
        /// The request.
        request: Box<Request>,
    },
    /// The ACK for our 2xx arrived (§13.3.1.4): the 2xx is no longer retransmitted. It may
    /// carry the answer to an offer made in the 2xx.
    AckReceived {
        /// The dialog.
        dialog: DialogId,
        /// The ACK.
        request: Box<Request>,
    },
    /// A REFER arrived (RFC 3515): accept it (`ep.refer(id)?.accept(..)`) or reject it,
    /// then report the referred request's progress with `ep.refer(id)?.notify(..)`.
    ReferReceived {
        /// The REFER's handle.
        refer: ReferId,
        /// The dialog it arrived in (created by it if it came outside one).
        dialog: DialogId,
        /// The Refer-To value as received (a name-addr; its URI may carry headers such as
        /// Replaces).
        refer_to: String,
        /// The URI to call: the Refer-To value's URI, without display name or brackets
        /// (its headers, such as `?Replaces=`, kept; RFC 3515 §2.1).
        target: String,
        /// The Referred-By value, if any (RFC 3892).
        referred_by: Option<String>,
    },
    /// A registration changed state (RFC 3261 §10.2).
    Registration {
        /// The registration.
        registration: crate::registration::RegistrationId,
        /// What happened.
        state: crate::registration::RegistrationState,
    },
    /// Progress of a REFER we sent (RFC 3515): accepted or rejected, each NOTIFY's sipfrag
    /// status, and the end of the subscription.
    Refer {
        /// The REFER's handle (as returned by `Endpoint::refer`).
        refer: ReferId,
        /// Its dialog.
        dialog: DialogId,
        /// What happened.
        event: ReferEvent,
    },
    /// An offer/answer exchange completed (RFC 3264; with `EndpointConfig::offer_answer`):
    /// the media agreed per stream in use, for the application's RTP. Comes after each
    /// exchange: the call's first, a hold, a resume, any re-offer.
    MediaNegotiated {
        /// The dialog.
        dialog: DialogId,
        /// One entry per stream in use; empty when none is left.
        media: Vec<crate::sdp::negotiate::NegotiatedMedia>,
    },
}

impl Event {
    /// The dialog the event is about, if any.
    pub fn dialog(&self) -> Option<DialogId> {
        match self {
            Event::IncomingCall { dialog, .. }
            | Event::DialogStateChanged { dialog, .. }
            | Event::Forked { dialog, .. }
            | Event::DialogResponse { dialog, .. }
            | Event::ByeCompleted { dialog, .. }
            | Event::DialogRequest { dialog, .. }
            | Event::AckReceived { dialog, .. }
            | Event::ReferReceived { dialog, .. }
            | Event::Refer { dialog, .. }
            | Event::MediaNegotiated { dialog, .. } => Some(*dialog),
            _ => None,
        }
    }
}

/// Counters of what the endpoint saw and did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages received and parsed.
    pub received: u64,
    /// Received bytes that were not a valid message and were dropped.
    pub parse_errors: u64,
    /// Requests answered without a transaction (400, 481, 483, 503, ...).
    pub stateless_responses: u64,
    /// Responses dropped because their Via was not ours (§18.1.2).
    pub misrouted_responses: u64,
    /// Retransmissions sent (requests, responses and ACKs re-sent by a timer or on a
    /// retransmitted request).
    pub retransmissions: u64,
    /// Retransmitted requests absorbed by a server transaction.
    pub absorbed_retransmissions: u64,
    /// Requests refused because the transaction or dialog limit was reached.
    pub overload_rejections: u64,
    /// In-dialog requests refused with 481 (unknown dialog or subscription).
    pub unknown_dialog: u64,
}

impl From<DialogEvent> for Event {
    fn from(e: DialogEvent) -> Self {
        match e {
            DialogEvent::IncomingCall {
                dialog,
                tx,
                request,
                replaces,
            } => Event::IncomingCall {
                dialog,
                tx,
                request,
                replaces,
            },
            DialogEvent::StateChanged { dialog, state } => {
                Event::DialogStateChanged { dialog, state }
            }
            DialogEvent::Forked { dialog, original } => Event::Forked { dialog, original },
            DialogEvent::Response {
                dialog,
                tx,
                response,
            } => Event::DialogResponse {
                dialog,
                tx,
                response,
            },
            DialogEvent::ByeCompleted { dialog, outcome } => {
                Event::ByeCompleted { dialog, outcome }
            }
            DialogEvent::Request {
                dialog,
                tx,
                request,
            } => Event::DialogRequest {
                dialog,
                tx,
                request,
            },
            DialogEvent::AckReceived { dialog, request } => Event::AckReceived { dialog, request },
            DialogEvent::ReferReceived {
                refer,
                dialog,
                refer_to,
                target,
                referred_by,
            } => Event::ReferReceived {
                refer,
                dialog,
                refer_to,
                target,
                referred_by,
            },
            DialogEvent::Refer {
                refer,
                dialog,
                event,
            } => Event::Refer {
                refer,
                dialog,
                event,
            },
            DialogEvent::MediaNegotiated { dialog, media } => {
                Event::MediaNegotiated { dialog, media }
            }
        }
    }
}

impl Event {
    /// What the transaction layer reported, for the application (`None` for what only the
    /// layers keep track of).
    pub(crate) fn from_up(up: Up) -> Option<Event> {
        Some(match up {
            Up::Request { tx, request, .. } => Event::IncomingRequest { tx, request },
            Up::Response { tx, response, .. } => Event::Response { tx, response },
            Up::ClientFailed { tx, failure } => Event::ClientTxFailed { tx, failure },
            Up::ServerFailed { tx, failure } => Event::ServerTxFailed { tx, failure },
            Up::Cancelled { tx } => Event::Cancelled { tx },
            Up::Ack { request, from } => Event::Ack { request, from },
            Up::Stray { response, from } => Event::StrayResponse { response, from },
            Up::ClientEnded { .. } | Up::ServerEnded { .. } => return None,
        })
    }
}
