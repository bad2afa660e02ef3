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
}
