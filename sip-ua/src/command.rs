//! What API handles ask of the driver task, and the link they ask it over.

use std::sync::Arc;

use crate::chan::{mpsc, oneshot};
use sip_core::dialog::{DialogId, DialogInfo, ReferId};
use sip_core::endpoint::{InviteOptions, ServerTxId, Target, Unhandled};
use sip_core::message::{Method, Response};

use crate::body::Body;
use crate::call::{Call, HangupKind, IncomingCall};
use crate::error::{Error, Result};
use crate::request::IncomingRequest;
use crate::shared::Shared;
use crate::stats::ShardStats;
use crate::transfer::TransferState;

/// A reply channel.
pub(crate) type Reply<T> = oneshot::Sender<Result<T>>;

/// An out-of-dialog request to send (RFC 3261 §8.1).
#[derive(Debug)]
pub(crate) struct RequestSpec {
    pub method: Method,
    pub uri: String,
    pub from: String,
    pub to: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Body>,
    pub target: Option<Target>,
}

/// What to do with a received REFER (RFC 3515): each is one of the core's REFER commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReferAction {
    Accept,
    Reject(u16),
    Notify(u16),
    /// The handle was dropped unanswered: the core's refusal.
    Decline,
    /// The handle was dropped after accepting, with no final status reported: the core's
    /// final NOTIFY.
    Abandon,
}

/// How to answer a call's INVITE: each is one of the core's dialog commands, which check
/// the status.
#[derive(Debug)]
pub(crate) enum Answer {
    Ring,
    Provisional(u16, Option<Body>),
    Accept(Option<Body>),
    /// 200 with the answer to the INVITE's offer from these capabilities (488 when none
    /// of its streams is acceptable).
    AcceptOffer(Box<sip_core::sdp::negotiate::LocalMedia>),
    Reject(u16),
    RejectWith(u16, Vec<(String, String)>),
}

/// A response to send for a server transaction.
#[derive(Debug)]
pub(crate) struct ResponseSpec {
    pub tx: ServerTxId,
    /// Set for a request received in a dialog: a re-INVITE is answered through the dialog.
    pub dialog: Option<DialogId>,
    pub invite: bool,
    /// Only a provisional response may be sent (`Reply::send_provisional`).
    pub provisional: bool,
    pub status: u16,
    pub reason: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Option<Body>,
}

/// A command for the driver task. Each runs synchronously against the endpoint and
/// replies at once; what happens later arrives through the handles' shared state.
#[derive(Debug)]
pub(crate) enum Command {
    Invite(Box<InviteOptions>, Reply<Call>),
    Answer {
        call: DialogId,
        answer: Answer,
        reply: Option<Reply<()>>,
    },
    Hangup(DialogId, Reply<HangupKind>),
    /// A handle was dropped: hang up if the call is still up, forget it once it is over.
    Release(DialogId),
    Refer(
        DialogId,
        String,
        Reply<(ReferId, Arc<Shared<TransferState>>)>,
    ),
    /// The Refer-To that replaces this call (an attended transfer's consultation call).
    ReplacingReferTo(DialogId, Reply<String>),
    /// Replies whether the REFER's subscription is still alive afterwards.
    ReferAnswer(ReferId, ReferAction, Option<Reply<bool>>),
    Request(Box<RequestSpec>, Reply<Response>),
    InDialog {
        call: DialogId,
        method: Method,
        headers: Vec<(String, String)>,
        body: Option<Body>,
        reply: Reply<Response>,
    },
    Reinvite(DialogId, Option<Body>, Reply<Response>),
    /// A hold (`true`) or resume re-INVITE (RFC 3264 §8.4).
    Hold(DialogId, bool, Reply<Response>),
    /// Answers the offer of a re-INVITE received in a dialog.
    AnswerOffer(
        DialogId,
        Box<sip_core::sdp::negotiate::LocalMedia>,
        Reply<Vec<sip_core::sdp::negotiate::NegotiatedMedia>>,
    ),
    Respond(Box<ResponseSpec>, Option<Reply<()>>),
    /// A request the application lets go of unanswered: the core's policy answers it
    /// (`Endpoint::decline`) and the status sent is replied.
    Decline(ServerTxId, Unhandled, Option<Reply<u16>>),
    Info(DialogId, Reply<DialogInfo>),
    SubscribeCalls(mpsc::Sender<IncomingCall>),
    SubscribeRequests(mpsc::Sender<IncomingRequest>),
    Stats(Reply<ShardStats>),
    Register(
        Box<sip_core::endpoint::RegisterOptions>,
        Reply<(
            sip_core::endpoint::RegistrationId,
            Arc<Shared<crate::registration::RegState>>,
        )>,
    ),
    Unregister(sip_core::endpoint::RegistrationId, Reply<()>),
    Shutdown(oneshot::Sender<()>),
}

/// A handle's way to its driver task.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    tx: mpsc::Sender<Command>,
}

impl Link {
    pub(crate) fn new(tx: mpsc::Sender<Command>) -> Self {
        Link { tx }
    }

    /// Sends without waiting for a reply (from `Drop`, or fire-and-forget).
    pub(crate) fn send(&self, cmd: Command) -> Result<()> {
        self.tx.try_send(cmd).map_err(|_| Error::Shutdown)
    }

    /// Sends a command and waits for its reply. Cancellation-safe in the sense that
    /// dropping the future either never sends the command or lets it run to completion
    /// with its reply discarded (handles returned in it clean up when dropped).
    pub(crate) async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        self.send(make(tx))?;
        rx.await.map_err(|_| Error::Shutdown)?
    }
}
