//! The errors of the user-agent API.

use sip_core::dialog::{DialogError, EndReason};
use sip_core::endpoint::EndpointError;
use sip_core::message::BuildError;

/// Why an operation of the user-agent API failed.
///
/// Commands the core refuses come back as [`Error::Dialog`] or [`Error::Endpoint`] with the
/// core's own reason (a call that is not confirmed yet cannot be transferred, a REFER that
/// was already answered cannot be rejected, ...): nothing fails silently.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A socket could not be bound (or, with sip-tokio, there is no tokio runtime).
    #[error("binding the transports failed: {0}")]
    Bind(#[source] std::io::Error),
    /// The builder was given no UDP or TCP address to bind.
    #[error("no transport configured: add at least one udp() or tcp() address")]
    NoTransport,
    /// A dialog command was refused by the core (RFC 3261 §12–§15, RFC 3515).
    #[error(transparent)]
    Dialog(#[from] DialogError),
    /// A transaction command was refused by the core (RFC 3261 §17, §18).
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    /// A request or response could not be built from the given parts.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The call ended before (or instead of) being answered: rejected with a final status,
    /// cancelled, timed out, ... (RFC 3261 §13.2.2).
    #[error("the call ended: {0:?}")]
    CallEnded(EndReason),
    /// A request got no final response within 64·T1 (Timer B/F, RFC 3261 §17.1; §8.1.3.1
    /// treats it as a 408).
    #[error("no final response: the request timed out")]
    Timeout,
    /// The transport could not reach the destination (RFC 3261 §17.1.4, §18.4).
    #[error("the transport failed to reach the destination")]
    TransportFailed,
    /// The TLS connection to the destination could not be set up, for this reason (a
    /// certificate for another name, expired, from an untrusted CA, ...; RFC 5922). Nothing
    /// was sent to it. A call placed there ends with this too (see
    /// [`Call::answered`](crate::Call::answered)).
    #[error("TLS: {0}")]
    Tls(#[from] sip_tls::TlsFailure),
    /// The peer answered our BYE with this error status (not 481 or 408, which
    /// [`Call::hangup`](crate::Call::hangup) treats as done and as a timeout). The call is
    /// over on our side regardless (RFC 3261 §15.1.1).
    #[error("the BYE was answered with {0}")]
    ByeRejected(u16),
    /// The REFER got this final error status, or timed out (408) (RFC 3515 §2.4.2).
    #[error("the REFER was rejected with {0}")]
    ReferRejected(u16),
    /// A REGISTER failed with this status (0 when the binding expired or was removed
    /// before the registrar ever accepted it), RFC 3261 §10.2.
    #[error("the registration failed with {0}")]
    RegistrationFailed(u16),
    /// The operation was already done through this handle (a call answered twice, a
    /// transfer accepted twice, ...).
    #[error("already done through this handle")]
    AlreadyDone,
    /// The user agent was shut down (or its driver task ended): nothing more can be sent.
    #[error("the user agent has shut down")]
    Shutdown,
    /// The builder of a runtime crate that starts its tasks on the application's executor
    /// (sip-smol's `UserAgentBuilder::spawner`) was given none.
    #[error("no spawner configured: the user agent needs one to start its tasks")]
    NoSpawner,
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_cause() {
        assert_eq!(
            Error::CallEnded(EndReason::Rejected(486)).to_string(),
            "the call ended: Rejected(486)"
        );
        assert_eq!(
            Error::ReferRejected(603).to_string(),
            "the REFER was rejected with 603"
        );
        assert_eq!(
            Error::from(DialogError::NotConfirmed).to_string(),
            "the dialog is not confirmed yet"
        );
        assert_eq!(
            Error::ByeRejected(500).to_string(),
            "the BYE was answered with 500"
        );
        assert_eq!(Error::Shutdown.to_string(), "the user agent has shut down");
    }
}
