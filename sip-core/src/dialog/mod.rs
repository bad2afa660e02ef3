//! The dialog layer (RFC 3261 §12–§15) and REFER (RFC 3515): dialogs, INVITE sessions and
//! REFER subscriptions, as a transaction user that owns its state and its timers (see
//! `layer.rs`'s module docs for how it talks to the transaction layer below and the
//! application above). The [`Endpoint`](crate::endpoint::Endpoint) runs it above its
//! transaction layer unless built without it.
//!
//! | file | what it holds |
//! |---|---|
//! | `layer.rs` | the layer: its tables, what the transaction layer reports, timers |
//! | `entry.rs` | one dialog's state: identity, header values, target, route set, CSeq |
//! | `ended.rs` | an ended dialog kept 64·T1 as a compact record: identity, CSeq, what late messages need |
//! | `invite.rs` | INVITE sessions: calls placed and answered, forks, 2xx/ACK, glare, hang-up |
//! | `offer_answer.rs` | the offer/answer state of an INVITE session (RFC 3264, RFC 6337) |
//! | `media_session.rs` | how the INVITE session feeds it: 491, 488, answers, hold and resume |
//! | `request.rs` | requests within a dialog, ours and the peer's, and their outcomes |
//! | `refer.rs` | REFER and its implicit subscription, sipfrag |
//! | `guard.rs` | the lifetime guard: maximum duration and idle limit of a confirmed dialog |
//! | `prack.rs` | reliable provisional responses (RFC 3262): RSeq, RAck, PRACK |
//! | `glare.rs` | the retry of a re-INVITE or UPDATE after 491 (RFC 3261 §14.1) |
//! | `late_offer.rs` | the UAC's answer in the ACK to an offer in the 2xx (RFC 3261 §13.2.2.4) |
//! | `update.rs` | UPDATE (RFC 3311): sent and received, its offer/answer, 491 and 500 |
//! | `session_timer.rs` | session timers (RFC 4028): negotiation, refresh, expiry |
//! | `info.rs` | INFO Info Packages (RFC 6086): Recv-Info, 469 |
//! | `replaces.rs` | Replaces (RFC 3891): an INVITE that takes an existing dialog's place |
//! | `no_ack.rs` | where the BYE after a missing ACK may go (§13.3.1.4) |
//! | `route.rs` | route sets and the shape of an in-dialog request |
//!
//! | State | Entered when | Left when |
//! |---|---|---|
//! | (none) | `invite` sent / INVITE received | a 1xx with To tag (Early), a 2xx (Confirmed), a final error (Terminated) |
//! | Early | 1xx with To tag sent or received (§12.1) | 2xx (Confirmed), final error, CANCEL, hang-up |
//! | Confirmed | 2xx sent or received | BYE either way, no ACK after 64·T1 (§13.3.1.4), 481/408 to an in-dialog request (§12.2.1.2), the lifetime guard (`guard.rs`), the session timer (`session_timer.rs`, RFC 4028 §10) |
//! | Terminated | — | — |

mod ended;
mod entry;
mod glare;
pub mod guard;
pub mod info;
mod invite;
mod late_offer;
pub(crate) mod layer;
mod media_session;
pub mod no_ack;
pub mod offer_answer;
pub mod prack;
mod prack_flow;
pub mod refer;
mod replaces;
mod request;
pub mod route;
pub mod session_timer;
#[cfg(test)]
mod tests;
mod update;

pub use guard::{DialogGuard, Expiry};
pub use invite::InviteOptions;
pub(crate) use layer::{DialogConfig, DialogEnv, DialogEvent, DialogLayer};
pub use media_session::SDP;
pub use no_ack::NoAckBye;
pub use offer_answer::{MediaUpdate, Negotiation, OfferAnswerError, OfferState, SdpMessage};
pub use prack::{RAck, ReliableProvisionals};
pub use refer::{ReferEvent, ReferId, ReferOutcome, parse_sipfrag_status, sipfrag};
pub use route::RouteSet;
pub use session_timer::{SessionTimerInfo, SessionTimers};

use std::fmt;

/// Identifies a dialog (or a call leg not yet a dialog) for as long as the endpoint keeps it.
/// The RFC's dialog identity (Call-ID, local tag, remote tag) is available through
/// [`DialogInfo`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DialogId(pub(crate) u64);

impl fmt::Display for DialogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dialog#{}", self.0)
    }
}

/// Which side created the dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// We sent the dialog-creating request.
    Uac,
    /// We received it.
    Uas,
}

/// Why a dialog ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// We sent BYE.
    LocalBye,
    /// The peer sent BYE.
    RemoteBye,
    /// The INVITE got (or we sent) a final error response with this status.
    Rejected(u16),
    /// The INVITE was cancelled (by us, or by the peer's CANCEL).
    Cancelled,
    /// We sent a 2xx and no ACK came within 64·T1: the core sent BYE (§13.3.1.4).
    NoAck,
    /// We sent a 2xx and no ACK came within 64·T1, and the BYE of §13.3.1.4 was not sent:
    /// its next hop was not at the address the INVITE came from (see [`NoAckBye`]). The
    /// dialog ended here only.
    NoAckNoBye,
    /// The lifetime guard ended the dialog with BYE (see [`DialogGuard`]).
    Expired(Expiry),
    /// A request timed out (§8.1.3.1), or an in-dialog request got 408 (§12.2.1.2).
    Timeout,
    /// The transport failed.
    TransportError,
    /// An in-dialog request got 481: the peer no longer knows the dialog (§12.2.1.2).
    Gone,
    /// Another fork of our INVITE was answered first; this one was ACKed and sent BYE
    /// (§13.2.2.4).
    OtherForkAnswered,
    /// An early dialog ended because the INVITE completed without it (§13.2.2.4).
    EarlyDialogEnded,
    /// A new call replaced the dialog (RFC 3891 §3): the endpoint accepted an INVITE whose
    /// Replaces named it and sent BYE.
    Replaced,
}

/// The state of a dialog (§12). `Terminated` carries its reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    /// The INVITE is out (or in) but no response with a To tag has been sent or received.
    Trying,
    /// A provisional response with a To tag (§12.1).
    Early,
    /// A 2xx (§12.1).
    Confirmed,
    /// Over.
    Terminated(EndReason),
}

impl DialogState {
    /// Whether the dialog is over.
    pub fn is_terminated(self) -> bool {
        matches!(self, DialogState::Terminated(_))
    }
}

/// A snapshot of a dialog's identity and routing (§12.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogInfo {
    /// Call-ID.
    pub call_id: String,
    /// Our tag.
    pub local_tag: String,
    /// The peer's tag, once known.
    pub remote_tag: Option<String>,
    /// Our From (UAC) / To (UAS) header value, tag included.
    pub local: String,
    /// The peer's header value, tag included once known.
    pub remote: String,
    /// The remote target: the peer's Contact URI (§12.1.1, §12.1.2).
    pub remote_target: String,
    /// The route set, in the order requests carry it.
    pub route_set: Vec<String>,
    /// Our last CSeq number.
    pub local_seq: u32,
    /// The peer's last CSeq number.
    pub remote_seq: Option<u32>,
    /// Who created the dialog.
    pub role: Role,
    /// State.
    pub state: DialogState,
}

/// Why a dialog command was refused: every command either does what it says or says why
/// not (no silent no-ops).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DialogError {
    /// No such dialog (never existed, or forgotten after it terminated).
    #[error("unknown dialog")]
    UnknownDialog,
    /// The dialog has terminated.
    #[error("the dialog has terminated ({0:?})")]
    Terminated(EndReason),
    /// The command needs a confirmed dialog.
    #[error("the dialog is not confirmed yet")]
    NotConfirmed,
    /// The command is for the other side (e.g. `answer` on a call we placed).
    #[error("wrong side of the dialog for this command")]
    WrongRole,
    /// The incoming INVITE already has a final response.
    #[error("the INVITE was already answered with a final response")]
    AlreadyAnswered,
    /// A re-INVITE (or INVITE) is still pending in this dialog (§14.1).
    #[error("an INVITE transaction is already pending in this dialog")]
    InvitePending,
    /// The status code does not fit the command.
    #[error("status {0} is not valid here")]
    BadStatus(u16),
    /// INVITE, BYE, REFER, ACK and CANCEL have their own commands.
    #[error("this method has its own command (invite, reinvite, hangup, refer)")]
    WrongMethod,
    /// No such REFER (or its subscription is over).
    #[error("unknown or finished REFER")]
    UnknownRefer,
    /// The REFER was already accepted or rejected.
    #[error("the REFER was already answered")]
    ReferAnswered,
    /// The REFER has not been accepted yet.
    #[error("the REFER has not been accepted")]
    ReferNotAccepted,
    /// The dialog or subscription limit is reached.
    #[error("too many dialogs")]
    TooManyDialogs,
    /// The endpoint was built without its dialog layer.
    #[error("the endpoint has no dialog layer")]
    NoDialogLayer,
    /// An offer or answer that does not fit the session's offer/answer state, a session
    /// description that does not parse, or an offer with no acceptable stream (see
    /// [`offer_answer`]).
    #[error(transparent)]
    OfferAnswer(#[from] OfferAnswerError),
    /// A 2xx to an INVITE that carried an offer must carry the answer (RFC 3261 §13.3.1.4).
    #[error("the 2xx must carry the answer to the INVITE's offer")]
    AnswerRequired,
    /// Offer/answer commands need `EndpointConfig::offer_answer`.
    #[error("offer/answer is not enabled (EndpointConfig::offer_answer)")]
    OfferAnswerOff,
    /// A reliable provisional response still awaits its PRACK: no other goes out until it
    /// is acknowledged (RFC 3262 §3).
    #[error("a reliable provisional response awaits its PRACK")]
    ReliablePending,
    /// Hold and resume need a session description exchanged first (and offer/answer on).
    #[error("no media session has been negotiated")]
    NoMediaSession,
    /// An INFO for an Info Package the peer did not list in its Recv-Info in this dialog
    /// (RFC 6086 §4.2.1); sent only when `EndpointConfig::info_packages` is set.
    #[error("the peer does not receive Info Package {0:?} (RFC 6086 §4.2.1)")]
    InfoPackageNotReceived(String),
    /// The endpoint refused to send (no local address, transaction limit, ...).
    #[error(transparent)]
    Endpoint(#[from] crate::transaction::layer::EndpointError),
}

impl From<crate::message::BuildError> for DialogError {
    fn from(e: crate::message::BuildError) -> Self {
        DialogError::Endpoint(e.into())
    }
}
