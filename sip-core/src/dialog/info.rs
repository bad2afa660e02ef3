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
//! INFO outside a dialog is answered 481 by the dialog layer (`request.rs`), as RFC 6086
//! §4.2.1 defines INFO within an invite dialog usage only.

use std::time::Instant;

use super::layer::{DialogEnv, DialogLayer};
use crate::message::Request;
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
}
