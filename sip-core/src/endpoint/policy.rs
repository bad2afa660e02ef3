//! The answers the endpoint gives for the application when it does not take a request it
//! was handed: one policy, in the core, so every driver answers the same (RFC 3261 §8.2,
//! §11.2, §12.2.2, §21).

use std::time::Instant;

use super::Endpoint;
use crate::message::Method;
use crate::transaction::layer::{EndpointError, ServerTxId, allow_list};

/// Why the application did not take a request the endpoint handed it (an `IncomingCall`,
/// `IncomingRequest` or `DialogRequest` event). See [`Endpoint::decline`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unhandled {
    /// Nobody listens for such requests.
    NoListener,
    /// The application cannot take more now (its queue is full).
    Overloaded,
    /// The application is shutting down.
    ShuttingDown,
    /// The call the request arrived in was let go by the application (it is being hung up).
    CallReleased,
    /// The application took the request and let go of it unanswered.
    Dropped,
}

impl Unhandled {
    /// The status a request gets for it: 503 when the application is overloaded or closing
    /// (§21.5.4), 481 in a released call (§12.2.2), 500 when dropped unanswered (§21.5.1),
    /// else `none` (what a request nobody listens for gets).
    fn status(self, none: u16) -> u16 {
        match self {
            Unhandled::Overloaded | Unhandled::ShuttingDown => 503,
            Unhandled::CallReleased => 481,
            Unhandled::Dropped => 500,
            Unhandled::NoListener => none,
        }
    }
}

impl Endpoint {
    /// Answers a request the application did not take, the way the endpoint's policy says,
    /// and returns the status sent:
    ///
    /// | request | why | answer |
    /// |---|---|---|
    /// | any | `Overloaded`, `ShuttingDown` | 503 Service Unavailable with Retry-After (§21.5.4) |
    /// | in a call | `CallReleased` | 481 Call/Transaction Does Not Exist (§12.2.2) |
    /// | any | `Dropped` | 500 Server Internal Error (§21.5.1) |
    /// | a new call (INVITE) | `NoListener` | 480 Temporarily Unavailable (§21.4.18) |
    /// | OPTIONS | `NoListener` | 200 with Allow and Accept (§11.2) |
    /// | anything else | `NoListener` | 405 Method Not Allowed with Allow (§8.2.1) |
    ///
    /// Allow lists [`EndpointConfig::allow`](super::EndpointConfig::allow), Accept
    /// [`EndpointConfig::accept`](super::EndpointConfig::accept). A call's INVITE is
    /// answered through its dialog, which ends.
    pub fn decline(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        why: Unhandled,
    ) -> Result<u16, EndpointError> {
        let method = self
            .txl
            .server_method(tx)
            .and_then(Method::parse)
            .ok_or(EndpointError::UnknownTransaction)?;
        let status = why.status(match method {
            Method::Invite => 480,
            Method::Options => 200,
            _ => 405,
        });
        let dialog = self.dialogs.as_ref().and_then(|d| d.dialog_of(tx));
        if let Some(dialog) = dialog {
            // The dialog follows its INVITE's final response (and ends with it).
            return match self.dialog(dialog) {
                Ok(mut d) => d
                    .answer(now, status, None)
                    .map(|()| status)
                    .map_err(|_| EndpointError::UnknownTransaction),
                Err(_) => Err(EndpointError::UnknownTransaction),
            };
        }
        let mut b = self.response(tx, status)?;
        let allow = allow_list(self.config.allow());
        match status {
            200 => {
                b = b
                    .header("Allow", &allow)
                    .header("Accept", self.config.accept.join(", "));
            }
            405 => b = b.header("Allow", &allow),
            503 => b = b.header("Retry-After", self.config.retry_after_secs),
            _ => {}
        }
        let response = b.build()?;
        self.respond(now, tx, response)?;
        Ok(status)
    }
}
