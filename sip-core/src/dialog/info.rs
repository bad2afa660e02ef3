//! INFO (RFC 6086) and its Info Packages within a dialog.
//!
//! An endpoint configured with the packages it receives
//! (`EndpointConfig::info_packages`, `Some`) says so in `Recv-Info` on its INVITEs and 2xx
//! responses (§5.2.1, §5.2.2) and answers an INFO for any other package 469 Bad Info
//! Package with its `Recv-Info` (§4.2.2); INFOs it accepts reach the application like any
//! request within a dialog. Left at `None` (the default), the endpoint is a legacy INFO
//! user (RFC 6086 §2, RFC 2976): no `Recv-Info` written, every INFO handed to the
//! application, so calls of applications that do not use Info Packages are unchanged.
//!
//! Such an endpoint also keeps, per dialog, the packages the peer listed in its last
//! Recv-Info (its INVITE, re-INVITE, UPDATE or their responses, and the Recv-Info of a
//! 469, §5.2, §4.2.2) and does not send an INFO for a package missing there (§4.2.1: a UA
//! must not send an INFO for a package the peer has not indicated willingness to receive;
//! a peer that never sent Recv-Info receives none): the command fails with
//! `DialogError::InfoPackageNotReceived`. A legacy INFO (no package) is always sent.
//!
//! INFO outside a dialog is answered 481 by the dialog layer (`request.rs`), as RFC 6086
//! §4.2.1 defines INFO within an invite dialog usage only.

use std::time::Instant;

use super::DialogError;
use super::layer::{DialogEnv, DialogLayer};
use crate::message::{Message, Request};
use crate::transaction::layer::ServerTxId;

/// The header an INFO names its package in (RFC 6086 §7.2).
pub const INFO_PACKAGE: &str = "Info-Package";
/// The header listing the packages a UA receives (RFC 6086 §7.3).
pub const RECV_INFO: &str = "Recv-Info";

/// Whether an INFO naming `package` is for us, given the packages we receive: `Ok` to hand
/// it to the application, `Err(())` for 469 (RFC 6086 §4.2.2). An INFO without
/// Info-Package is a legacy INFO, always handed on (§2).
pub(crate) fn accepts(receives: &[String], package: Option<&str>) -> Result<(), ()> {
    match package.map(str::trim) {
        None => Ok(()),
        Some(p) if receives.iter().any(|r| r.eq_ignore_ascii_case(p)) => Ok(()),
        Some(_) => Err(()),
    }
}

/// The headers of an INFO for `package` (RFC 6086 §4.2.1): `Info-Package` naming it, and,
/// with a body, `Content-Disposition: Info-Package` (§4.2.2). None for a legacy INFO.
///
/// ```
/// use sip_core::dialog::info::info_headers;
/// assert_eq!(
///     info_headers(Some("dtmf"), true),
///     vec![("Info-Package", "dtmf"), ("Content-Disposition", "Info-Package")]
/// );
/// assert!(info_headers(None, true).is_empty());
/// ```
pub fn info_headers(package: Option<&str>, with_body: bool) -> Vec<(&'static str, &str)> {
    let mut h = Vec::new();
    if let Some(p) = package {
        h.push((INFO_PACKAGE, p));
        if with_body {
            h.push(("Content-Disposition", "Info-Package"));
        }
    }
    h
}

/// At most this many packages of a peer's Recv-Info are kept, each at most
/// `MAX_PACKAGE_LEN` bytes (longer names are not package names anyone registered).
const MAX_PEER_PACKAGES: usize = 32;
const MAX_PACKAGE_LEN: usize = 64;

/// The packages listed in a message's Recv-Info rows (comma-separated, possibly in several
/// rows; an empty row means none, §5.2.1), bounded; `None` when it has no Recv-Info.
pub(crate) fn peer_packages(m: &Message) -> Option<Box<[Box<str>]>> {
    let mut rows = m.headers().get_all(RECV_INFO).peekable();
    rows.peek()?;
    let list: Vec<Box<str>> = rows
        .flat_map(|r| r.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty() && p.len() <= MAX_PACKAGE_LEN)
        .take(MAX_PEER_PACKAGES)
        .map(Box::from)
        .collect();
    Some(list.into_boxed_slice())
}

/// The `Recv-Info` value for a list of packages (may be empty: "none", §5.2.1).
pub(crate) fn recv_info_value(receives: &[String]) -> String {
    receives.join(", ")
}

impl DialogLayer {
    /// Whether an INFO within dialog may go to the application; if not, answers it 469
    /// with our Recv-Info and returns `false`.
    pub(super) fn info_admitted(
        &mut self,
        now: Instant,
        stx: ServerTxId,
        req: &Request,
        env: &mut impl DialogEnv,
    ) -> bool {
        let Some(receives) = self.config.info_packages.as_deref() else {
            return true; // legacy INFO user
        };
        if accepts(receives, req.headers().get(INFO_PACKAGE)).is_ok() {
            return true;
        }
        let recv = recv_info_value(receives);
        let sent = env.respond_written(now, stx, 469, false, &[(RECV_INFO, &recv)], None, false);
        if let Err(e) = sent {
            tracing::debug!(error = %e, "469 not sent");
        }
        false
    }

    /// Keeps the packages the peer of dialog `id` receives, when `m` (a message of the
    /// dialog from the peer) carries Recv-Info (§5.2). Nothing without `info_packages`.
    #[inline]
    pub(super) fn learn_peer_recv_info(&mut self, id: u64, m: &Message) {
        if self.config.info_packages.is_none() {
            return;
        }
        if let Some(list) = peer_packages(m) {
            self.peer_info.insert(id, list);
        }
    }

    /// Whether we may send an INFO for `package` in dialog `id` (§4.2.1): always as a
    /// legacy INFO user (no `info_packages`), else only when the peer's last Recv-Info in
    /// the dialog listed it.
    pub(crate) fn check_info_package(
        &self,
        dialog: super::DialogId,
        package: &str,
    ) -> Result<(), DialogError> {
        if self.config.info_packages.is_none() {
            return Ok(());
        }
        let listed = self
            .peer_info
            .get(&dialog.0)
            .is_some_and(|l| l.iter().any(|p| p.eq_ignore_ascii_case(package.trim())));
        if listed {
            Ok(())
        } else {
            Err(DialogError::InfoPackageNotReceived(package.to_owned()))
        }
    }

    /// The `Recv-Info` value our INVITEs and 2xx carry, when Info Packages are configured.
    pub(super) fn recv_info(&self) -> Option<String> {
        self.config.info_packages.as_deref().map(recv_info_value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_packages_rfc6086_s4_2_2() {
        let r = vec!["dtmf".to_owned(), "foo".to_owned()];
        assert_eq!(accepts(&r, Some("dtmf")), Ok(()));
        assert_eq!(accepts(&r, Some(" DTMF ")), Ok(()));
        assert_eq!(accepts(&r, Some("bar")), Err(()));
        // A legacy INFO (no Info-Package) is always handed on (§2).
        assert_eq!(accepts(&r, None), Ok(()));
        assert_eq!(accepts(&[], Some("dtmf")), Err(()));
        assert_eq!(recv_info_value(&r), "dtmf, foo");
        assert_eq!(recv_info_value(&[]), "");
    }

    fn response(rows: &str) -> crate::message::Response {
        let text = format!(
            "SIP/2.0 469 Bad Info Package\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKc1\r\n\
             From: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=2\r\nCall-ID: c1\r\n\
             CSeq: 2 INFO\r\n{rows}Content-Length: 0\r\n\r\n"
        );
        match crate::message::parse(
            bytes::Bytes::from(text),
            &crate::message::ParseOptions::default(),
        ) {
            Ok(crate::message::SipMessage::Response(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_peers_recv_info_is_read_bounded_rfc6086_s5_2() {
        let names = |m: &crate::message::Response| {
            peer_packages(m).map(|l| l.iter().map(|p| p.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(names(&response("")), None);
        // Present but empty: the peer receives no package (§5.2.1).
        assert_eq!(names(&response("Recv-Info:\r\n")), Some(vec![]));
        assert_eq!(
            names(&response("Recv-Info: dtmf, foo\r\nRecv-Info: bar\r\n")),
            Some(vec!["dtmf".into(), "foo".into(), "bar".into()])
        );
        // Bounded: names over 64 bytes are dropped, at most 32 are kept.
        let long = "x".repeat(65);
        let many = (0..40)
            .map(|i| format!("p{i}"))
            .collect::<Vec<_>>()
            .join(",");
        let l = names(&response(&format!("Recv-Info: {long},{many}\r\n"))).unwrap();
        assert_eq!(l.len(), 32);
        assert_eq!(l[0], "p0");
    }
}
