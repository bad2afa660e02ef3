//! What the transaction layer's commands refuse, and why. The endpoint's commands return
//! the same type: every command either does what it says or says why not.

use crate::message::{BuildError, ParseError};
use crate::transaction::TransactionError;
use crate::transport::Transport;

/// Why a command was refused. Every command either does what it says or returns one of
/// these: no command silently does nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EndpointError {
    /// No transaction with this id (it never existed or has ended).
    #[error("unknown or terminated transaction")]
    UnknownTransaction,
    /// The transaction limit is reached.
    #[error("too many concurrent transactions")]
    TooManyTransactions,
    /// No local address is configured for this transport.
    #[error("no local address for transport {0}")]
    NoLocalAddress(Transport),
    /// The request or response fails the checks a received one would (missing mandatory
    /// header, CSeq method mismatch, ...).
    #[error("invalid message: {0}")]
    InvalidMessage(ParseError),
    /// The message could not be built.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The transaction refused the response in its current state.
    #[error(transparent)]
    Transaction(#[from] TransactionError),
    /// The transaction sent its final response and kept only what matching needs: a
    /// further response must be passed whole ([`Response`](crate::message::Response)),
    /// not written from the request's rows.
    #[error("the transaction's request rows were released after its final response")]
    RowsReleased,
    /// The response does not belong to this transaction (its Via branch or CSeq differs).
    #[error("the response does not match the transaction's request")]
    ResponseMismatch,
    /// CANCEL only applies to an INVITE client transaction.
    #[error("only an INVITE can be cancelled")]
    NotInvite,
    /// The INVITE already received a final response: there is nothing to cancel (§9.1).
    #[error("the INVITE already has a final response")]
    CancelTooLate,
    /// The INVITE was already cancelled.
    #[error("a CANCEL for this INVITE was already requested")]
    AlreadyCancelled,
    /// ACK is not sent through a transaction; use `Endpoint::send_ack`.
    #[error("ACK has no client transaction; use send_ack")]
    AckNeedsNoTransaction,
    /// The target is a host name and the core does no DNS; pass an explicit [`Target`](super::Target).
    #[error("the next hop is a host name; resolve it and pass a Target")]
    UnresolvedHost,
    /// The URI scheme has no SIP transport (tel:, http:, ...).
    #[error("unsupported URI scheme for a next hop")]
    UnsupportedScheme,
    /// The URI names a transport the stack does not know.
    #[error("unsupported transport parameter")]
    UnsupportedTransport,
}
