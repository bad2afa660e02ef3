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
    use std::net::SocketAddr;
    use std::time::Instant;

    use bytes::Bytes;

    use super::Unhandled;
    use crate::dialog::{DialogState, EndReason};
    use crate::endpoint::{Endpoint, EndpointConfig, EndpointError, Event, Input, Output};
    use crate::message::{ParseOptions, Response, SipMessage, parse};
    use crate::transaction::layer::ServerTxId;
    use crate::transport::Transport;

    #[allow(clippy::disallowed_methods)]
    fn base() -> Instant {
        Instant::now()
    }

    const A: &str = "192.0.2.1:5060";
    const B: &str = "192.0.2.2:5060";

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// A request from A to B; `to_tag` puts it in a dialog.
    fn request(method: &str, branch: &str, to_tag: &str, cseq: u32) -> String {
        format!(
            "{method} sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK{branch}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:alice@192.0.2.1>;tag=a1\r\nTo: <sip:bob@192.0.2.2>{to_tag}\r\n\
             Call-ID: policy-1\r\nCSeq: {cseq} {method}\r\nContact: <sip:alice@192.0.2.1>\r\n\
             Content-Length: 0\r\n\r\n"
        )
    }

    /// Hands `text` to `ep` and returns the server transaction (and dialog) of the event
    /// it causes.
    fn receive(ep: &mut Endpoint, now: Instant, text: String) -> Option<(ServerTxId, Event)> {
        ep.handle_input(
            now,
            Input::Receive {
                transport: Transport::Udp,
                from: addr(A),
                to: addr(B),
                bytes: Bytes::from(text),
            },
        );
        std::iter::from_fn(|| ep.poll_output()).find_map(|o| match o {
            Output::Event(e) => match &e {
                Event::IncomingCall { tx, .. }
                | Event::IncomingRequest { tx, .. }
                | Event::DialogRequest { tx, .. } => Some((*tx, e)),
                _ => None,
            },
            Output::Transmit(_) => None,
        })
    }

    /// The responses sent since last asked.
    fn sent(ep: &mut Endpoint) -> Vec<Response> {
        std::iter::from_fn(|| ep.poll_output())
            .filter_map(|o| match o {
                Output::Transmit(t) => match parse(t.bytes, &ParseOptions::strict()) {
                    Ok(SipMessage::Response(r)) => Some(r),
                    _ => None,
                },
                Output::Event(_) => None,
            })
            .collect()
    }

    fn endpoint() -> Endpoint {
        Endpoint::new(EndpointConfig::with_local(Transport::Udp, addr(B)), 2)
    }

    /// Every row of the table of [`Endpoint::decline`], and the status it returns is the
    /// one sent.
    #[test]
    fn requests_nobody_takes_get_the_policys_answer() {
        let now = base();
        let allow = "INVITE, ACK, BYE, CANCEL, OPTIONS, REFER, NOTIFY, UPDATE";
        type Case<'a> = (&'a str, Unhandled, u16, &'a [(&'a str, &'a str)]);
        let cases: [Case<'_>; 7] = [
            (
                "OPTIONS",
                Unhandled::NoListener,
                200,
                &[("Allow", allow), ("Accept", "application/sdp")],
            ),
            ("MESSAGE", Unhandled::NoListener, 405, &[("Allow", allow)]),
            ("REGISTER", Unhandled::NoListener, 405, &[("Allow", allow)]),
            (
                "MESSAGE",
                Unhandled::Overloaded,
                503,
                &[("Retry-After", "5")],
            ),
            (
                "OPTIONS",
                Unhandled::ShuttingDown,
                503,
                &[("Retry-After", "5")],
            ),
            ("MESSAGE", Unhandled::Dropped, 500, &[]),
            // RFC 6665 §4.1.3: a NOTIFY of no subscription of ours.
            ("NOTIFY", Unhandled::NoListener, 481, &[]),
        ];
        for (i, (method, why, status, rows)) in cases.into_iter().enumerate() {
            let mut b = endpoint();
            let (tx, _) = receive(&mut b, now, request(method, &format!("p{i}"), "", 1)).unwrap();
            assert_eq!(b.decline(now, tx, why), Ok(status), "{method} {why:?}");
            let r = sent(&mut b);
            assert_eq!(r.len(), 1, "{method} {why:?}");
            assert_eq!(r[0].status(), status);
            for (name, value) in rows {
                assert_eq!(r[0].headers().get(*name), Some(*value), "{method} {why:?}");
            }
            // Answered: a second decline is refused by the transaction.
            assert!(b.decline(now, tx, why).is_err());
        }
        assert_eq!(
            endpoint().decline(now, ServerTxId(99), Unhandled::NoListener),
            Err(EndpointError::UnknownTransaction)
        );
    }

    /// A call nobody takes gets 480 (§21.4.18) through its dialog, which ends; a request in
    /// a call the application let go of gets 481 (§12.2.2); a re-INVITE there too.
    #[test]
    fn calls_nobody_takes_and_requests_in_released_calls() {
        let now = base();
        let mut b = endpoint();
        let (tx, e) = receive(&mut b, now, request("INVITE", "c1", "", 1)).unwrap();
        let Event::IncomingCall { dialog, .. } = e else {
            panic!("{e:?}")
        };
        assert_eq!(b.decline(now, tx, Unhandled::NoListener), Ok(480));
        assert_eq!(sent(&mut b).iter().map(Response::status).last(), Some(480));
        assert_eq!(
            b.dialog_state(dialog),
            Some(DialogState::Terminated(EndReason::Rejected(480)))
        );

        let mut b = endpoint();
        let (_, e) = receive(&mut b, now, request("INVITE", "c2", "", 1)).unwrap();
        let Event::IncomingCall { dialog, .. } = e else {
            panic!("{e:?}")
        };
        b.dialog(dialog).unwrap().accept(now, None).unwrap();
        let ok = sent(&mut b).pop().unwrap();
        let tag = format!(";tag={}", ok.to().and_then(|t| t.tag()).unwrap());
        let ack = request("ACK", "c2ack", &tag, 1);
        assert!(receive(&mut b, now, ack).is_none());
        assert_eq!(b.dialog_state(dialog), Some(DialogState::Confirmed));
        for (i, method) in ["INFO", "INVITE"].into_iter().enumerate() {
            let cseq = 2 + i as u32;
            let (tx, e) = receive(&mut b, now, request(method, &format!("r{i}"), &tag, cseq))
                .unwrap_or_else(|| panic!("{method}"));
            assert!(matches!(e, Event::DialogRequest { .. }), "{e:?}");
            assert_eq!(b.decline(now, tx, Unhandled::CallReleased), Ok(481));
            let r = sent(&mut b);
            assert_eq!(r.iter().map(Response::status).last(), Some(481), "{method}");
        }
    }
}
