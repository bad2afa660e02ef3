//! Errors a transaction machine returns when its TU asks for something the RFC forbids.

use std::time::Instant;

/// A TU request a transaction refused; the transaction's state is unchanged.
///
/// Returned by `on_tu_response` of the server machines (RFC 3261 §17.2.1, §17.2.2, RFC 6026
/// §7.1, RFC 4320 §4.1). Network inputs never produce errors: a message that does not fit the
/// current state is absorbed, as §17 prescribes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransactionError {
    /// The status code is not a SIP response code (100–699, RFC 3261 §7.2, §21).
    #[error("status code {0} is outside 100-699")]
    InvalidStatus(u16),
    /// The transaction has already terminated (RFC 3261 §17.2.1, §17.2.2: it is destroyed on
    /// entering Terminated).
    #[error("response {status} on a terminated transaction")]
    Terminated {
        /// The status the TU tried to send.
        status: u16,
    },
    /// A final response was already sent: after a non-2xx final nothing more may be sent
    /// (RFC 3261 §17.2.1, §17.2.2 "any other final responses ... MUST be discarded"), and after
    /// a 2xx to an INVITE only further 2xx retransmissions may be (RFC 6026 §7.1).
    #[error("response {status} after final response {sent}")]
    AfterFinal {
        /// The status the TU tried to send.
        status: u16,
        /// The final status already sent.
        sent: u16,
    },
    /// A provisional response other than 100 to a non-INVITE request (RFC 4320 §4.1).
    #[error("provisional response {status} to a non-INVITE request")]
    ProvisionalToNonInvite {
        /// The status the TU tried to send.
        status: u16,
    },
    /// A `100 Trying` to a non-INVITE request over an unreliable transport before the client's
    /// Timer E can have reached T2 (RFC 4320 §4.1).
    #[error("100 Trying to a non-INVITE request sent too early over an unreliable transport")]
    TryingTooEarly {
        /// The first instant at which the 100 may be sent.
        earliest: Instant,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        assert_eq!(
            TransactionError::InvalidStatus(42).to_string(),
            "status code 42 is outside 100-699"
        );
        assert_eq!(
            TransactionError::Terminated { status: 200 }.to_string(),
            "response 200 on a terminated transaction"
        );
        assert_eq!(
            TransactionError::AfterFinal {
                status: 180,
                sent: 486
            }
            .to_string(),
            "response 180 after final response 486"
        );
        assert_eq!(
            TransactionError::ProvisionalToNonInvite { status: 183 }.to_string(),
            "provisional response 183 to a non-INVITE request"
        );
    }
}
