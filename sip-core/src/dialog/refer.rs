//! REFER and its implicit subscription (RFC 3515; RFC 6665 for Subscription-State), and the
//! `message/sipfrag` bodies of its NOTIFYs (RFC 3420).

use std::fmt;

/// Identifies one REFER, sent or received, for as long as its subscription lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReferId(pub(crate) u64);

impl fmt::Display for ReferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refer#{}", self.0)
    }
}

/// What happened to a REFER we sent (RFC 3515 §2.4.4, §2.4.5): first [`ReferEvent::Accepted`]
/// or [`ReferEvent::Rejected`], then a [`ReferEvent::Progress`] per NOTIFY, then exactly one
/// [`ReferEvent::Done`] — unless the REFER was rejected, which ends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferEvent {
    /// The REFER got a 2xx (normally 202 Accepted): the subscription exists.
    Accepted,
    /// The REFER got a final error response (or timed out, reported as 408).
    Rejected(u16),
    /// A NOTIFY reported this status of the referred request (the sipfrag status line).
    Progress(u16),
    /// The subscription ended: `Subscription-State: terminated` arrived, or it expired
    /// without one (`expired`). `final_status` is the last sipfrag status reported.
    Done {
        /// Last sipfrag status, if any NOTIFY carried one.
        final_status: Option<u16>,
        /// True if the subscription expired without a terminating NOTIFY.
        expired: bool,
    },
}

/// How a REFER we sent ended (RFC 3515 §2.4.5): the last NOTIFY's sipfrag status and
/// whether the subscription expired without a terminating NOTIFY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferOutcome {
    /// The status of the referred request as last reported (`SIP/2.0 200 OK` → 200), if
    /// any NOTIFY carried one.
    pub final_status: Option<u16>,
    /// The subscription expired without a terminating NOTIFY.
    pub expired: bool,
}

impl ReferOutcome {
    /// Whether the peer reported that the referred request succeeded (a 2xx) before the
    /// subscription ended.
    ///
    /// ```
    /// use sip_core::dialog::ReferOutcome;
    /// assert!(ReferOutcome { final_status: Some(200), expired: false }.succeeded());
    /// assert!(!ReferOutcome { final_status: Some(486), expired: false }.succeeded());
    /// assert!(!ReferOutcome { final_status: Some(200), expired: true }.succeeded());
    /// ```
    pub fn succeeded(&self) -> bool {
        self.final_status.is_some_and(|s| (200..300).contains(&s)) && !self.expired
    }
}

impl ReferEvent {
    /// Whether this ends the REFER.
    pub fn is_final(&self) -> bool {
        matches!(self, ReferEvent::Rejected(_) | ReferEvent::Done { .. })
    }
}

/// The status code of a `message/sipfrag` body's status line (`SIP/2.0 200 OK`).
///
/// ```
/// assert_eq!(sip_core::dialog::parse_sipfrag_status(b"SIP/2.0 180 Ringing\r\n"), Some(180));
/// assert_eq!(sip_core::dialog::parse_sipfrag_status(b"INVITE sip:x SIP/2.0"), None);
/// ```
pub fn parse_sipfrag_status(body: &[u8]) -> Option<u16> {
    let line = body.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim();
    let rest = line
        .strip_prefix("SIP/2.0 ")
        .or_else(|| line.strip_prefix("sip/2.0 "))?;
    let code = rest.get(..3)?;
    if !code.bytes().all(|b| b.is_ascii_digit())
        || rest.as_bytes().get(3).is_some_and(|&b| b != b' ')
    {
        return None;
    }
    let c: u16 = code.parse().ok()?;
    (100..=699).contains(&c).then_some(c)
}

/// The sipfrag body for a status (RFC 3515 §2.4.5: at least the status line).
pub fn sipfrag(status: u16) -> String {
    format!(
        "SIP/2.0 {status} {}\r\n",
        crate::message::reason_phrase(status)
    )
}

// ---- the REFER subscriber and notifier (RFC 3515) --------------------------------------

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::entry::{DialogEntry, header_text};
use super::invite::{InviteOptions, first_hop};
use super::layer::{DialogEnv, DialogEvent, DialogLayer, ReferEntry, Usage};
use super::route::contact_target;
use super::{DialogError, DialogId, DialogState, EndReason, Role, RouteSet};
use crate::message::{Method, Request, Response};
use crate::transaction::layer::ServerTxId;

/// A Refer-To value as a name-addr (`<sip:carol@192.0.2.3>`), brackets added to a bare URI.
/// A name-addr (`"Carol" <sip:carol@192.0.2.3>`, `<sip:..>`) is kept as it is; a bare URI is
/// put in angle brackets, so its own parameters stay in the URI (RFC 3515 §2.1).
fn refer_to_value(refer_to: &str) -> String {
    match crate::message::NameAddr::parse(refer_to.trim()) {
        Ok(a) if a.is_name_addr() => refer_to.trim().to_owned(),
        _ => format!("<{}>", refer_to.trim()),
    }
}

impl DialogLayer {
    /// Sends a REFER in a confirmed dialog (RFC 3515) and returns at once; the outcome comes
    /// later as REFER events: Accepted or Rejected, Progress per NOTIFY, then Done.
    pub(crate) fn refer(
        &mut self,
        now: Instant,
        dialog: DialogId,
        refer_to: &str,
        env: &mut impl DialogEnv,
    ) -> Result<ReferId, DialogError> {
        let d = self.live_dialog(dialog)?;
        if d.state != DialogState::Confirmed {
            return Err(DialogError::NotConfirmed);
        }
        if self.refers.len() >= self.config.max_dialogs {
            return Err(DialogError::TooManyDialogs);
        }
        let refer_to = refer_to_value(refer_to);
        let referred_by = d.local.split(";tag=").next().unwrap_or("").to_owned();
        let extra = [
            ("Refer-To", refer_to.as_str()),
            ("Referred-By", &referred_by),
        ];
        let ctx = self.send_in_dialog(now, dialog.0, Method::Refer, &extra, None, env)?;
        let seq = self.dialogs.get(&dialog.0).map_or(0, |d| d.local_seq);
        let rid = self.alloc_id();
        self.refers
            .insert(rid, ReferEntry::new(dialog.0, true, seq));
        self.usage.insert(ctx.0, Usage::Refer(rid));
        Ok(ReferId(rid))
    }

    /// Sends a REFER outside any dialog (RFC 3515 §2.4.1: it creates one, with its implicit
    /// subscription). Returns the new dialog and the REFER.
    pub(crate) fn refer_out_of_dialog(
        &mut self,
        now: Instant,
        opts: InviteOptions,
        refer_to: &str,
        env: &mut impl DialogEnv,
    ) -> Result<(DialogId, ReferId), DialogError> {
        if !self.room() || self.refers.len() >= self.config.max_dialogs {
            return Err(DialogError::TooManyDialogs);
        }
        let call_id = self.ids.call_id(None);
        let tag = self.ids.tag();
        let refer_to = refer_to_value(refer_to);
        let mut b = Request::builder(Method::Refer, &opts.uri)
            .max_forwards(70)
            .from(&opts.from, Some(&tag))
            .to(&opts.to, None)
            .call_id(&call_id)
            .cseq(1)
            .header("Refer-To", &refer_to)
            .header("Referred-By", &opts.from);
        for (n, v) in &opts.headers {
            b = b.header(n, v);
        }
        let target = first_hop(&opts, &b)?;
        let contact = match &opts.contact {
            Some(c) => Arc::from(c.as_str()),
            None => env.locals().contact(target.transport, target.addr)?,
        };
        let req = b.contact(&contact).build()?;
        let ctx = env.send_request(now, req, target.clone())?;
        let id = self.alloc_id();
        self.dialogs.insert(
            id,
            Box::new(DialogEntry {
                created_by_refer: true,
                ..DialogEntry::uac(call_id, &tag, opts, contact, target)
            }),
        );
        let rid = self.alloc_id();
        self.refers.insert(rid, ReferEntry::new(id, true, 1));
        self.usage.insert(ctx.0, Usage::Refer(rid));
        Ok((DialogId(id), ReferId(rid)))
    }

    fn refer_in(&self, refer: ReferId) -> Result<&ReferEntry, DialogError> {
        let r = self.refers.get(&refer.0).ok_or(DialogError::UnknownRefer)?;
        if r.outgoing {
            return Err(DialogError::WrongRole);
        }
        Ok(r)
    }

    /// Accepts a received REFER: 202 Accepted, then the first NOTIFY (`100 Trying`,
    /// `Subscription-State: active`), RFC 3515 §2.4.2, §2.4.4.
    pub(crate) fn accept_refer(
        &mut self,
        now: Instant,
        refer: ReferId,
        env: &mut impl DialogEnv,
    ) -> Result<(), DialogError> {
        let r = self.refer_in(refer)?;
        let stx = r.stx.ok_or(DialogError::ReferAnswered)?;
        let resp = env.response(stx, 202)?.build()?;
        env.respond(now, stx, resp)?;
        let expires = self.config.refer_expires_secs;
        if let Some(r) = self.refers.get_mut(&refer.0) {
            r.stx = None;
            r.accepted = true;
            r.expires_at = Some(now + Duration::from_secs(u64::from(expires)));
        }
        self.arm_refer(refer.0);
        self.send_notify(now, refer.0, 100, env)
    }

    /// Rejects a received REFER with a final error status (e.g. 603).
    pub(crate) fn reject_refer(
        &mut self,
        now: Instant,
        refer: ReferId,
        status: u16,
        env: &mut impl DialogEnv,
    ) -> Result<(), DialogError> {
        if !(300..=699).contains(&status) {
            return Err(DialogError::BadStatus(status));
        }
        let r = self.refer_in(refer)?;
        let stx = r.stx.ok_or(DialogError::ReferAnswered)?;
        let resp = env.response(stx, status)?.build()?;
        env.respond(now, stx, resp)?;
        self.refers.remove(&refer.0);
        Ok(())
    }

    /// Reports the progress of the referred request (its status code) in a NOTIFY with a
    /// `message/sipfrag` body; a final status (≥ 200) terminates the subscription
    /// (`Subscription-State: terminated;reason=noresource`), RFC 3515 §2.4.5.
    pub(crate) fn notify_refer(
        &mut self,
        now: Instant,
        refer: ReferId,
        status: u16,
        env: &mut impl DialogEnv,
    ) -> Result<(), DialogError> {
        if !(100..=699).contains(&status) {
            return Err(DialogError::BadStatus(status));
        }
        let r = self.refer_in(refer)?;
        if !r.accepted {
            return Err(DialogError::ReferNotAccepted);
        }
        self.send_notify(now, refer.0, status, env)
    }

    fn send_notify(
        &mut self,
        now: Instant,
        rid: u64,
        status: u16,
        env: &mut impl DialogEnv,
    ) -> Result<(), DialogError> {
        let r = self.refers.get(&rid).ok_or(DialogError::UnknownRefer)?;
        let (dialog, event_id) = (r.dialog, r.event_id);
        let final_ = status >= 200;
        let remaining = r
            .expires_at
            .map_or(0, |t| t.saturating_duration_since(now).as_secs());
        let state = if final_ {
            "terminated;reason=noresource".to_owned()
        } else {
            format!("active;expires={remaining}")
        };
        let event = format!("refer;id={event_id}");
        let body = Bytes::from(sipfrag(status));
        let ctx = self.send_in_dialog(
            now,
            dialog,
            Method::Notify,
            &[("Event", &event), ("Subscription-State", &state)],
            Some(("message/sipfrag;version=2.0", body)),
            env,
        )?;
        self.usage.insert(ctx.0, Usage::Notify(rid));
        if final_ {
            self.refers.remove(&rid);
        }
        Ok(())
    }

    pub(super) fn end_refer(
        &mut self,
        rid: u64,
        final_status: Option<u16>,
        expired: bool,
        env: &mut impl DialogEnv,
    ) {
        if let Some(r) = self.refers.remove(&rid)
            && r.outgoing
        {
            env.emit(DialogEvent::Refer {
                refer: ReferId(rid),
                dialog: DialogId(r.dialog),
                event: ReferEvent::Done {
                    final_status,
                    expired,
                },
            });
        }
    }

    /// A UAC dialog still waiting for the peer's tag, for a request from that peer.
    pub(super) fn adopt_notify_dialog(
        &mut self,
        call_id: &str,
        local_tag: &str,
        req: &Request,
    ) -> Option<u64> {
        let id = self
            .dialogs
            .iter()
            .filter(|(_, d)| {
                d.role == Role::Uac
                    && d.remote_tag.is_none()
                    && &*d.call_id == call_id
                    && &*d.local_tag == local_tag
            })
            .map(|(k, _)| *k)
            .min()?;
        let remote_tag = req.from().and_then(|f| f.tag())?.to_owned();
        let (remote, clean) = header_text(req.headers().get(crate::message::HeaderName::From)?);
        let d = self.dialogs.get_mut(&id)?;
        d.remote_tag = Some(remote_tag.into());
        d.remote = remote;
        d.raw_text |= !clean;
        if let Some(c) = contact_target(req) {
            d.set_remote_target(c.into());
        }
        d.set_route_set(RouteSet::from_request(req));
        self.file(id);
        Some(id)
    }

    /// A REFER outside any dialog: it creates one (RFC 3515 §2.4.1).
    pub(super) fn new_incoming_dialog_refer(
        &mut self,
        now: Instant,
        stx: ServerTxId,
        req: Box<Request>,
        from: SocketAddr,
        env: &mut impl DialogEnv,
    ) {
        match self.new_uas_dialog(stx, &req, from, env) {
            Ok(id) => {
                // The 202 creates the dialog (RFC 3515 §2.4.1): confirmed once accepted. It
                // is not an INVITE's, so a Replaces naming it gets 481 (RFC 3891 §3).
                if let Some(d) = self.dialogs.get_mut(&id) {
                    d.state = DialogState::Confirmed;
                    d.created_by_refer = true;
                }
                self.incoming_refer(now, id, stx, req, env);
            }
            Err(code) => self.refuse(now, stx, code, env),
        }
    }

    /// A REFER in dialog `dialog`: exactly one Refer-To whose URI the application can call
    /// (RFC 3515 §2.4.1), else 400.
    pub(super) fn incoming_refer(
        &mut self,
        now: Instant,
        dialog: u64,
        stx: ServerTxId,
        req: Box<Request>,
        env: &mut impl DialogEnv,
    ) {
        let (refer_to, target) = match req.refer_to() {
            Some(Ok(r)) => (r.as_str().to_owned(), r.uri_str().to_owned()),
            _ => {
                if let Ok(b) = env.response(stx, 400)
                    && let Ok(r) = b
                        .reason("Bad Request (missing or malformed Refer-To)")
                        .build()
                {
                    let _ = env.respond(now, stx, r);
                }
                return;
            }
        };
        if self.refers.len() >= self.config.max_dialogs {
            return self.refuse(now, stx, 503, env);
        }
        let referred_by = req
            .headers()
            .get(crate::message::HeaderName::ReferredBy)
            .map(str::to_owned);
        let event_id = req.cseq().map_or(0, |c| c.0);
        let rid = self.alloc_id();
        let mut entry = ReferEntry::new(dialog, false, event_id);
        entry.stx = Some(stx);
        self.refers.insert(rid, entry);
        env.emit(DialogEvent::ReferReceived {
            refer: ReferId(rid),
            dialog: DialogId(dialog),
            refer_to,
            target,
            referred_by,
        });
    }

    /// A NOTIFY for a REFER we sent (RFC 3515 §2.4.4, §2.4.5): progress, acceptance if it
    /// overtook the 2xx, the end of the subscription.
    pub(super) fn refer_notify(
        &mut self,
        now: Instant,
        dialog: u64,
        stx: ServerTxId,
        req: &Request,
        env: &mut impl DialogEnv,
    ) {
        let id_param = req
            .event()
            .and_then(Result::ok)
            .and_then(|e| e.id().and_then(|i| i.parse::<u32>().ok()));
        let found = self
            .refers
            .iter()
            .filter(|(_, r)| {
                r.outgoing && r.dialog == dialog && id_param.is_none_or(|i| i == r.event_id)
            })
            .map(|(k, _)| *k)
            .min();
        let Some(rid) = found else {
            self.stats.unknown_dialog += 1;
            return self.refuse(now, stx, 481, env);
        };
        let _ = env.respond_written(now, stx, 200, false, &[], None, false);
        let status = parse_sipfrag_status(req.body());
        let sub = req.subscription_state().and_then(Result::ok);
        let terminated = sub.is_some_and(|s| s.value.eq_ignore_ascii_case("terminated"));
        let expires = sub.and_then(|s| s.expires());
        let Some(r) = self.refers.get_mut(&rid) else {
            return;
        };
        if !r.accepted {
            // A NOTIFY may overtake the 202 (RFC 3515 §2.4.4): it implies acceptance.
            r.accepted = true;
            env.emit(DialogEvent::Refer {
                refer: ReferId(rid),
                dialog: DialogId(dialog),
                event: ReferEvent::Accepted,
            });
        }
        let Some(r) = self.refers.get_mut(&rid) else {
            return;
        };
        if let Some(s) = status {
            r.last_status = Some(s);
            env.emit(DialogEvent::Refer {
                refer: ReferId(rid),
                dialog: DialogId(dialog),
                event: ReferEvent::Progress(s),
            });
        }
        if terminated {
            let last = self.refers.get(&rid).and_then(|r| r.last_status);
            self.end_refer(rid, last, false, env);
        } else if let Some(e) = expires
            && let Some(r) = self.refers.get_mut(&rid)
        {
            r.expires_at = Some(now + Duration::from_secs(u64::from(e)) + Duration::from_secs(1));
            self.arm_refer(rid);
        }
    }

    /// The response to a REFER we sent.
    pub(super) fn refer_response(
        &mut self,
        now: Instant,
        rid: u64,
        resp: &Response,
        env: &mut impl DialogEnv,
    ) {
        // (A refer already gone still takes its response.)
        let Some(r) = self.refers.get(&rid) else {
            return;
        };
        let dialog = r.dialog;
        let code = resp.status();
        let success = (200..300).contains(&code);
        if success
            && self
                .dialogs
                .get(&dialog)
                .is_some_and(|d| d.remote_tag.is_none())
        {
            self.learn_remote(dialog, resp, true);
        }
        if success
            && self
                .dialogs
                .get(&dialog)
                .is_some_and(|d| d.state == DialogState::Trying)
        {
            self.set_state(now, dialog, DialogState::Confirmed, env);
        }
        let expires = self.config.refer_expires_secs;
        let Some(r) = self.refers.get_mut(&rid) else {
            return;
        };
        if success && !r.accepted {
            r.accepted = true;
            r.expires_at =
                Some(now + Duration::from_secs(u64::from(expires)) + Duration::from_secs(1));
            self.arm_refer(rid);
            env.emit(DialogEvent::Refer {
                refer: ReferId(rid),
                dialog: DialogId(dialog),
                event: ReferEvent::Accepted,
            });
        } else if code >= 300 {
            self.refers.remove(&rid);
            if self
                .dialogs
                .get(&dialog)
                .is_some_and(|d| d.state == DialogState::Trying)
            {
                let state = DialogState::Terminated(EndReason::Rejected(code));
                self.set_state(now, dialog, state, env);
            }
            env.emit(DialogEvent::Refer {
                refer: ReferId(rid),
                dialog: DialogId(dialog),
                event: ReferEvent::Rejected(code),
            });
            self.end_on_481_408(now, dialog, code, env);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sipfrag_round_trip() {
        for c in [100, 180, 200, 486, 603] {
            assert_eq!(parse_sipfrag_status(sipfrag(c).as_bytes()), Some(c));
        }
        assert_eq!(parse_sipfrag_status(b""), None);
        assert_eq!(parse_sipfrag_status(b"SIP/2.0 99 x"), None);
        assert_eq!(parse_sipfrag_status(b"SIP/2.0 2000 x"), None);
        assert_eq!(parse_sipfrag_status(b"SIP/2.0 200"), Some(200));
    }

    #[test]
    fn refer_to_values_keep_name_addrs_and_bracket_bare_uris() {
        assert_eq!(
            refer_to_value("\"Carol\" <sip:carol@192.0.2.3>"),
            "\"Carol\" <sip:carol@192.0.2.3>"
        );
        assert_eq!(refer_to_value(" <sip:c@x> "), "<sip:c@x>");
        assert_eq!(
            refer_to_value("sip:c@x;transport=tcp"),
            "<sip:c@x;transport=tcp>"
        );
        assert_eq!(
            refer_to_value("sip:c@x?Replaces=abc%40h%3Bto-tag%3D1"),
            "<sip:c@x?Replaces=abc%40h%3Bto-tag%3D1>"
        );
    }
}
