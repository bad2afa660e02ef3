//! Scoped handles: the commands of one dialog or one received REFER, borrowed from the
//! endpoint (`ep.dialog(id)?.answer(now, 200, body)`), so a command cannot name a dialog of
//! another kind of object and the id is given once.

use std::time::Instant;

use bytes::Bytes;

use super::Endpoint;
use crate::dialog::{DialogError, DialogId, DialogInfo, DialogState, Negotiation, ReferId};
use crate::message::Method;
use crate::sdp::negotiate::{LocalMedia, NegotiatedMedia};
use crate::transaction::layer::ClientTxId;

/// The commands of one dialog (or call leg not yet a dialog); see [`Endpoint::dialog`].
/// Every command either does what it says or returns why not.
#[derive(Debug)]
pub struct Dialog<'a> {
    ep: &'a mut Endpoint,
    id: DialogId,
}

impl<'a> Dialog<'a> {
    pub(super) fn new(ep: &'a mut Endpoint, id: DialogId) -> Self {
        Dialog { ep, id }
    }

    /// The dialog's id.
    pub fn id(&self) -> DialogId {
        self.id
    }

    /// Its state (`None` once forgotten).
    pub fn state(&self) -> Option<DialogState> {
        self.ep.dialog_state(self.id)
    }

    /// A snapshot of its identity and routing.
    pub fn info(&self) -> Option<DialogInfo> {
        self.ep.dialog_info(self.id)
    }

    /// Its running session timer (RFC 4028): the negotiated interval and who refreshes;
    /// `None` if the dialog has none (session timers off, or not negotiated).
    pub fn session_timer(&self) -> Option<crate::dialog::SessionTimerInfo> {
        self.ep.dialogs.as_ref()?.session_timer(self.id)
    }

    /// Answers the incoming INVITE (new call or re-INVITE) with `status`: 1xx rings (with a
    /// To tag: the early dialog, §12.1.1), 2xx accepts (retransmitted until the ACK,
    /// §13.3.1.4), 3xx–6xx rejects. Contact and Record-Route are added as §12.1.1 says.
    pub fn answer(
        &mut self,
        now: Instant,
        status: u16,
        body: Option<(&str, Bytes)>,
    ) -> Result<(), DialogError> {
        let id = self.id;
        self.ep
            .with_dialogs(now, |d, below| d.answer(now, id, status, body, below))
    }

    /// 180 Ringing (§13.3.1.1).
    pub fn ring(&mut self, now: Instant) -> Result<(), DialogError> {
        self.answer(now, 180, None)
    }

    /// 200 OK with an optional body, normally an SDP answer (§13.3.1.4).
    pub fn accept(&mut self, now: Instant, body: Option<(&str, Bytes)>) -> Result<(), DialogError> {
        self.answer(now, 200, body)
    }

    /// A provisional response, 101–199, with an optional body (183 Session Progress with
    /// early media, say; §13.3.1.1): like 180 it carries our To tag and Contact and so
    /// creates the early dialog (§12.1.1). 100 Trying is the transaction's own (§17.2.1);
    /// anything else is [`DialogError::BadStatus`].
    pub fn provisional(
        &mut self,
        now: Instant,
        status: u16,
        body: Option<(&str, Bytes)>,
    ) -> Result<(), DialogError> {
        if !(101..=199).contains(&status) {
            return Err(DialogError::BadStatus(status));
        }
        self.answer(now, status, body)
    }

    /// A final refusal, 300–699 (§13.3.1.3); anything else is [`DialogError::BadStatus`].
    pub fn reject(&mut self, now: Instant, status: u16) -> Result<(), DialogError> {
        if !(300..=699).contains(&status) {
            return Err(DialogError::BadStatus(status));
        }
        self.answer(now, status, None)
    }

    /// A final refusal, 300–699, with extra header rows: a 407 with `Proxy-Authenticate`
    /// (§22.3), a 3xx with `Contact` (§21.3), a 503 with `Retry-After` (§21.5.4), ... The
    /// rows are checked like those of any response built (`ResponseBuilder`); a status
    /// outside 300–699 is [`DialogError::BadStatus`], and nothing is sent.
    pub fn reject_with(
        &mut self,
        now: Instant,
        status: u16,
        headers: &[(&str, &str)],
    ) -> Result<(), DialogError> {
        if !(300..=699).contains(&status) {
            return Err(DialogError::BadStatus(status));
        }
        let dialogs = self.ep.dialogs.as_ref().ok_or(DialogError::NoDialogLayer)?;
        let stx = dialogs.invite_to_answer(self.id)?;
        let mut b = self.ep.response(stx, status)?;
        for (name, value) in headers {
            b = b.header(name, value);
        }
        let response = b.build()?;
        // The dialog follows the INVITE's final response and ends with it.
        Ok(self.ep.respond(now, stx, response)?)
    }

    /// Hangs up, whatever the call's state: a confirmed dialog gets BYE (§15.1.1; the UAS
    /// waits for the ACK of its 2xx first, §15), whose outcome comes as
    /// `Event::ByeCompleted`; an outgoing call not yet answered is cancelled (§9.1); an
    /// incoming call not yet answered is declined with 603.
    /// A call still waiting for its next hop to be resolved (RFC 3263) is dropped before
    /// anything is sent: it ends `Terminated(Cancelled)`.
    pub fn hangup(&mut self, now: Instant) -> Result<(), DialogError> {
        let id = self.id;
        if self.ep.drop_held_call(id) {
            return Ok(());
        }
        self.ep
            .with_dialogs(now, |d, below| d.hangup(now, id, below))
    }

    /// Sends a re-INVITE (a target refresh, possibly with a new offer; §14.1). Refused while
    /// another INVITE transaction of the dialog is pending, either way.
    pub fn reinvite(
        &mut self,
        now: Instant,
        body: Option<(&str, Bytes)>,
    ) -> Result<ClientTxId, DialogError> {
        let id = self.id;
        self.ep
            .with_dialogs(now, |d, below| d.reinvite(now, id, body, below))
    }

    /// Answers the peer's offer (in the INVITE or a re-INVITE) from the application's media
    /// `caps` (RFC 3264 §6; needs `EndpointConfig::offer_answer`): 200 with the answer, and
    /// the media agreed returned (and reported as `Event::MediaNegotiated`). When no offered
    /// stream is acceptable the INVITE gets 488 with Warning 304 or 305 (RFC 3261 §20.43)
    /// and the error says which.
    pub fn answer_offer(
        &mut self,
        now: Instant,
        caps: &LocalMedia,
    ) -> Result<Vec<NegotiatedMedia>, DialogError> {
        let id = self.id;
        self.ep
            .with_dialogs(now, |d, below| d.answer_offer(now, id, caps, below))
    }

    /// Sends an UPDATE (RFC 3311) in an early or confirmed dialog; a session description in
    /// `body` is an offer (with `EndpointConfig::offer_answer`, its answer comes in the 2xx
    /// as `Event::MediaNegotiated`; a 491 or other failure leaves the session as it was).
    pub fn update(
        &mut self,
        now: Instant,
        body: Option<(&str, Bytes)>,
    ) -> Result<ClientTxId, DialogError> {
        let id = self.id;
        self.ep
            .with_dialogs(now, |d, below| d.update(now, id, body, below))
    }

    /// Puts the call on hold (RFC 3264 §8.4): a re-INVITE offering our last description
    /// with sendrecv streams made sendonly (recvonly ones inactive). The answer comes as
    /// `Event::MediaNegotiated`.
    pub fn hold(&mut self, now: Instant) -> Result<ClientTxId, DialogError> {
        let id = self.id;
        self.ep
            .with_dialogs(now, |d, below| d.hold(now, id, true, below))
    }

    /// Takes the call off hold: sendonly streams back to sendrecv (inactive to recvonly).
    pub fn resume(&mut self, now: Instant) -> Result<ClientTxId, DialogError> {
        let id = self.id;
        self.ep
            .with_dialogs(now, |d, below| d.hold(now, id, false, below))
    }

    /// The offer/answer state of the call, when offer/answer is on and a description passed.
    pub fn negotiation(&self) -> Option<&Negotiation> {
        self.ep.dialogs.as_ref()?.negotiation(self.id)
    }

    /// Sends a request inside the confirmed dialog (INFO, MESSAGE, UPDATE, OPTIONS, ...;
    /// §12.2.1.1); UPDATE also in an early one. Its responses arrive as
    /// `Event::DialogResponse`; a 481 or 408 ends the dialog (§12.2.1.2). INVITE, BYE and
    /// REFER have their own commands.
    pub fn request(
        &mut self,
        now: Instant,
        method: Method,
        headers: &[(&str, &str)],
        body: Option<(&str, Bytes)>,
    ) -> Result<ClientTxId, DialogError> {
        let id = self.id;
        self.ep.with_dialogs(now, |d, below| {
            d.send_request(now, id, method, headers, body, below)
        })
    }

    /// Sends an INFO in the confirmed dialog (RFC 6086 §4.2.1): with `package`, the
    /// `Info-Package` header names it and a body is marked `Content-Disposition:
    /// Info-Package` (§4.2.2); without, a legacy INFO (RFC 2976). Its response arrives as
    /// `Event::DialogResponse` (469 if the peer does not receive that package). With
    /// `EndpointConfig::info_packages` set, an INFO for a package the peer did not list in
    /// its Recv-Info is not sent: `DialogError::InfoPackageNotReceived` (§4.2.1).
    pub fn send_info(
        &mut self,
        now: Instant,
        package: Option<&str>,
        body: Option<(&str, Bytes)>,
    ) -> Result<ClientTxId, DialogError> {
        if let Some(p) = package {
            let id = self.id;
            self.ep
                .with_dialogs(now, |d, _| d.check_info_package(id, p))?;
        }
        let headers = crate::dialog::info::info_headers(package, body.is_some());
        self.request(now, Method::Info, &headers, body)
    }

    /// Sends a MESSAGE (RFC 3428 §4) in the confirmed dialog: `content_type` and `body`
    /// are the instant message. Its response arrives as `Event::DialogResponse`.
    pub fn send_message(
        &mut self,
        now: Instant,
        content_type: &str,
        body: Bytes,
    ) -> Result<ClientTxId, DialogError> {
        self.request(now, Method::Message, &[], Some((content_type, body)))
    }

    /// An attended transfer (RFC 5589 §7): sends a REFER in this confirmed dialog asking
    /// the peer to call the other party of `consultation` (a confirmed call of ours) with
    /// a `Replaces` naming `consultation` (RFC 3891 §5), so that the new call takes its
    /// place. The outcome comes as for [`Dialog::refer`]; the transfer target ends
    /// `consultation` itself when it accepts the new call.
    pub fn refer_attended(
        &mut self,
        now: Instant,
        consultation: DialogId,
    ) -> Result<ReferId, DialogError> {
        let refer_to = self.ep.dialog(consultation)?.replacing_refer_to()?;
        self.refer(now, &refer_to)
    }

    /// The Refer-To that asks a transferee to call this dialog's peer in its place (RFC
    /// 3891 §5): `<remote target?Replaces=...>` with the dialog's Call-ID and tags, the
    /// peer's tag as `to-tag`. For an attended transfer whose two calls live on different
    /// endpoints (a sharded driver): read it here, send it with [`Dialog::refer`] there.
    pub fn replacing_refer_to(&self) -> Result<String, DialogError> {
        let dialogs = self.ep.dialogs.as_ref().ok_or(DialogError::NoDialogLayer)?;
        dialogs.attended_refer_to(self.id)
    }

    /// Sends a REFER in the confirmed dialog (RFC 3515) and returns at once; the outcome
    /// comes later as `Event::Refer`: Accepted or Rejected, Progress per NOTIFY, then Done.
    pub fn refer(&mut self, now: Instant, refer_to: &str) -> Result<ReferId, DialogError> {
        let id = self.id;
        self.ep
            .with_dialogs(now, |d, below| d.refer(now, id, refer_to, below))
    }
}

/// The commands of a REFER we received (RFC 3515); see [`Endpoint::refer`].
#[derive(Debug)]
pub struct Refer<'a> {
    ep: &'a mut Endpoint,
    id: ReferId,
}

impl<'a> Refer<'a> {
    pub(super) fn new(ep: &'a mut Endpoint, id: ReferId) -> Self {
        Refer { ep, id }
    }

    /// Accepts: 202 Accepted, then the first NOTIFY (`100 Trying`, `Subscription-State:
    /// active`), RFC 3515 §2.4.2, §2.4.4.
    pub fn accept(&mut self, now: Instant) -> Result<(), DialogError> {
        let id = self.id;
        self.ep
            .with_dialogs(now, |d, below| d.accept_refer(now, id, below))
    }

    /// Rejects with a final error status (300–699, e.g. 603 Decline).
    pub fn reject(&mut self, now: Instant, status: u16) -> Result<(), DialogError> {
        let id = self.id;
        self.ep
            .with_dialogs(now, |d, below| d.reject_refer(now, id, status, below))
    }

    /// Refuses a REFER the application did not take: 503 when it is overloaded or closing,
    /// else 603 Decline (RFC 3515 §2.4.2).
    pub fn decline(&mut self, now: Instant, why: super::Unhandled) -> Result<u16, DialogError> {
        let status = match why {
            super::Unhandled::Overloaded | super::Unhandled::ShuttingDown => 503,
            _ => 603,
        };
        self.reject(now, status).map(|()| status)
    }

    /// Ends an accepted REFER whose outcome the application will never report: a final
    /// NOTIFY with 503 (the referred request could not be made; RFC 3515 §2.4.5).
    pub fn abandon(&mut self, now: Instant) -> Result<(), DialogError> {
        self.notify(now, 503)
    }

    /// Reports the referred request's progress (its status code) in a NOTIFY with a
    /// `message/sipfrag` body; a final status (≥ 200) ends the subscription (RFC 3515
    /// §2.4.5).
    pub fn notify(&mut self, now: Instant, status: u16) -> Result<(), DialogError> {
        let id = self.id;
        self.ep
            .with_dialogs(now, |d, below| d.notify_refer(now, id, status, below))
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::Instant;

    use bytes::Bytes;

    use crate::dialog::{DialogError, DialogId, DialogState, EndReason};
    use crate::endpoint::{Endpoint, EndpointConfig, Event, Input, Output};
    use crate::message::{ParseOptions, Response, SipMessage, parse};
    use crate::transport::Transport;

    #[allow(clippy::disallowed_methods)]
    fn base() -> Instant {
        Instant::now()
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    const INVITE: &str = "INVITE sip:bob@192.0.2.2 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKh1\r\nMax-Forwards: 70\r\n\
        From: <sip:alice@192.0.2.1>;tag=a1\r\nTo: <sip:bob@192.0.2.2>\r\nCall-ID: handles-1\r\n\
        CSeq: 1 INVITE\r\nContact: <sip:alice@192.0.2.1>\r\nContent-Length: 0\r\n\r\n";

    /// Bob's endpoint holding an incoming call, not answered yet.
    fn incoming_call(now: Instant) -> (Endpoint, DialogId) {
        let local = addr("192.0.2.2:5060");
        let mut b = Endpoint::new(EndpointConfig::with_local(Transport::Udp, local), 2);
        b.handle_input(
            now,
            Input::Receive {
                transport: Transport::Udp,
                from: addr("192.0.2.1:5060"),
                to: local,
                bytes: Bytes::from_static(INVITE.as_bytes()),
            },
        );
        let call = std::iter::from_fn(|| b.poll_output()).find_map(|o| match o {
            Output::Event(Event::IncomingCall { dialog, .. }) => Some(dialog),
            _ => None,
        });
        (b, call.expect("an incoming call"))
    }

    /// The responses the endpoint sent since last asked.
    fn sent(ep: &mut Endpoint) -> Vec<Response> {
        std::iter::from_fn(|| ep.poll_output())
            .filter_map(|o| match o {
                Output::Transmit(t) => match parse(t.bytes, &ParseOptions::strict()) {
                    Ok(SipMessage::Response(r)) => Some(r),
                    other => panic!("{other:?}"),
                },
                Output::Event(_) => None,
            })
            .collect()
    }

    /// `provisional`, `reject` and `reject_with` refuse a status of another class and send
    /// nothing (§13.3.1.1, §13.3.1.3); a 183 with a body creates the early dialog; the rows
    /// of `reject_with` go out in its refusal, which ends the call.
    #[test]
    fn provisional_and_refusals_check_their_status() {
        let now = base();
        let (mut b, call) = incoming_call(now);
        let mut d = b.dialog(call).unwrap();
        for bad in [100, 200, 486] {
            assert_eq!(
                d.provisional(now, bad, None),
                Err(DialogError::BadStatus(bad))
            );
        }
        assert_eq!(d.reject(now, 200), Err(DialogError::BadStatus(200)));
        assert_eq!(
            d.reject_with(now, 180, &[("Retry-After", "5")]),
            Err(DialogError::BadStatus(180))
        );
        assert!(sent(&mut b).is_empty());

        let sdp = Bytes::from_static(b"v=0\r\n");
        let mut d = b.dialog(call).unwrap();
        d.provisional(now, 183, Some(("application/sdp", sdp)))
            .unwrap();
        let r = sent(&mut b);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].status(), 183);
        assert!(r[0].to().and_then(|t| t.tag()).is_some());
        assert!(r[0].headers().get("Contact").is_some());
        assert_eq!(&r[0].body()[..], b"v=0\r\n");
        assert_eq!(b.dialog_state(call), Some(DialogState::Early));

        // A value that would break the message is refused like in any response built.
        let mut d = b.dialog(call).unwrap();
        assert!(
            d.reject_with(now, 407, &[("X-Bad", "a\r\nVia: x")])
                .is_err()
        );
        assert!(sent(&mut b).is_empty());

        let challenge = "Digest realm=\"pbx\", nonce=\"n1\"";
        let mut d = b.dialog(call).unwrap();
        d.reject_with(now, 407, &[("Proxy-Authenticate", challenge)])
            .unwrap();
        let r = sent(&mut b);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].status(), 407);
        assert_eq!(r[0].headers().get("Proxy-Authenticate"), Some(challenge));
        assert_eq!(
            b.dialog_state(call),
            Some(DialogState::Terminated(EndReason::Rejected(407)))
        );
    }
}
