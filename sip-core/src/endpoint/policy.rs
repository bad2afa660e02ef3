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
    /// | NOTIFY (no subscription of ours) | `NoListener` | 481 (RFC 6665 §4.1.3) |
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
            // RFC 6665 §4.1.3: a NOTIFY that matches no subscription.
            Method::Notify => 481,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::{EndpointConfig, Event, Input, Output};
    use crate::message::{SipMessage, parse_unchecked};
    use crate::transport::Transport;
    use bytes::Bytes;

    #[allow(clippy::disallowed_methods)]
    fn base() -> Instant {
        Instant::now()
    }

    /// Hands `method` (outside any dialog) to a fresh endpoint, declines it for `why`, and
    /// returns the status and the rows of the answer on the wire.
    fn declined(method: &str, why: Unhandled) -> (u16, Vec<(String, String)>) {
        let now = base();
        let local = "192.0.2.2:5060".parse().unwrap();
        let mut ep = Endpoint::new(EndpointConfig::with_local(Transport::Udp, local), 1);
        let text = format!(
            "{method} sip:u@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKd1\r\n\
             Max-Forwards: 70\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:u@y>\r\nCall-ID: c1\r\n\
             CSeq: 1 {method}\r\nContact: <sip:a@192.0.2.1>\r\nContent-Length: 0\r\n\r\n"
        );
        ep.handle_input(
            now,
            Input::Receive {
                transport: Transport::Udp,
                from: "192.0.2.1:5060".parse().unwrap(),
                to: local,
                bytes: Bytes::from(text),
            },
        );
        let mut tx = None;
        while let Some(o) = ep.poll_output() {
            if let Output::Event(
                Event::IncomingRequest { tx: t, .. } | Event::IncomingCall { tx: t, .. },
            ) = o
            {
                tx = Some(t);
            }
        }
        let status = ep.decline(now, tx.expect("handed to the application"), why);
        let mut answer = None;
        while let Some(o) = ep.poll_output() {
            if let Output::Transmit(t) = o
                && let Ok(SipMessage::Response(r)) = parse_unchecked(t.bytes, &Default::default())
                && r.status() >= 200
            {
                answer = Some(r);
            }
        }
        let r = answer.expect("a final answer went out");
        assert_eq!(status, Ok(r.status()));
        let rows = r
            .headers()
            .iter()
            .map(|h| (h.name.to_owned(), h.value.to_owned()))
            .collect();
        (r.status(), rows)
    }

    fn row<'a>(rows: &'a [(String, String)], name: &str) -> Option<&'a str> {
        rows.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn the_policy_table() {
        let allow = "INVITE, ACK, BYE, CANCEL, OPTIONS, REFER, NOTIFY";
        let (s, rows) = declined("OPTIONS", Unhandled::NoListener);
        assert_eq!(s, 200);
        assert_eq!(row(&rows, "Allow"), Some(allow));
        assert_eq!(row(&rows, "Accept"), Some("application/sdp"));
        let (s, rows) = declined("MESSAGE", Unhandled::NoListener);
        assert_eq!((s, row(&rows, "Allow")), (405, Some(allow)));
        assert_eq!(declined("NOTIFY", Unhandled::NoListener).0, 481);
        assert_eq!(declined("INVITE", Unhandled::NoListener).0, 480);
        let (s, rows) = declined("INVITE", Unhandled::Overloaded);
        assert_eq!(s, 503);
        let _ = rows;
        let (s, rows) = declined("MESSAGE", Unhandled::ShuttingDown);
        assert_eq!((s, row(&rows, "Retry-After")), (503, Some("5")));
        assert_eq!(declined("MESSAGE", Unhandled::CallReleased).0, 481);
        assert_eq!(declined("MESSAGE", Unhandled::Dropped).0, 500);
    }

    #[test]
    fn a_call_declined_ends_its_dialog_and_a_second_decline_is_refused() {
        let now = base();
        let local = "192.0.2.2:5060".parse().unwrap();
        let mut ep = Endpoint::new(EndpointConfig::with_local(Transport::Udp, local), 1);
        let text = "INVITE sip:u@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKd2\r\n\
             Max-Forwards: 70\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:u@y>\r\nCall-ID: c2\r\n\
             CSeq: 1 INVITE\r\nContact: <sip:a@192.0.2.1>\r\nContent-Length: 0\r\n\r\n";
        ep.handle_input(
            now,
            Input::Receive {
                transport: Transport::Udp,
                from: "192.0.2.1:5060".parse().unwrap(),
                to: local,
                bytes: Bytes::from_static(text.as_bytes()),
            },
        );
        let mut call = None;
        while let Some(o) = ep.poll_output() {
            if let Output::Event(Event::IncomingCall { dialog, tx, .. }) = o {
                call = Some((dialog, tx));
            }
        }
        let (dialog, tx) = call.unwrap();
        assert_eq!(ep.decline(now, tx, Unhandled::NoListener), Ok(480));
        assert!(
            ep.dialog_state(dialog)
                .is_some_and(crate::dialog::DialogState::is_terminated)
        );
        assert!(ep.decline(now, tx, Unhandled::NoListener).is_err());
    }
}
