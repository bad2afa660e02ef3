//! The headers of session timers (RFC 4028): Session-Expires (§4) and Min-SE (§5).

use std::fmt;

use super::simple::TokenParams;
use crate::message::scan::parse_decimal;

/// Which side of a transaction refreshes the session (RFC 4028 §4, the `refresher`
/// parameter). It names a role in the transaction that carries it — in a re-INVITE sent by
/// the UAS of the initial INVITE, `uac` is that UAS — not in the dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresher {
    /// The client of the transaction (`refresher=uac`).
    Uac,
    /// The server of the transaction (`refresher=uas`).
    Uas,
}

impl Refresher {
    /// The parameter value, `uac` or `uas`.
    pub fn as_str(self) -> &'static str {
        match self {
            Refresher::Uac => "uac",
            Refresher::Uas => "uas",
        }
    }
}

/// Session-Expires (RFC 4028 §4): `delta-seconds *(SEMI se-params)`, the session interval
/// and who refreshes.
///
/// ```
/// use sip_core::message::{Refresher, SessionExpires};
/// let se = SessionExpires::parse("1800;refresher=uas").unwrap();
/// assert_eq!(se.delta_seconds, 1800);
/// assert_eq!(se.refresher, Some(Refresher::Uas));
/// assert_eq!(se.to_string(), "1800;refresher=uas");
/// assert!(SessionExpires::parse("90;refresher=proxy").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionExpires {
    /// The session interval in seconds.
    pub delta_seconds: u32,
    /// The `refresher` parameter, if present.
    pub refresher: Option<Refresher>,
}

/// `1*DIGIT`, at most a 32-bit number.
fn delta_seconds(v: &str) -> Result<u32, &'static str> {
    if !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err("delta-seconds must be digits");
    }
    parse_decimal(v, u64::from(u32::MAX))
        .and_then(|n| u32::try_from(n).ok())
        .ok_or("delta-seconds is not a 32-bit number")
}

impl SessionExpires {
    /// Parses a Session-Expires value; other parameters than `refresher` are allowed and
    /// ignored (§4's `generic-param`).
    pub fn parse(v: &str) -> Result<Self, &'static str> {
        let t = TokenParams::parse(v)?;
        let delta_seconds = delta_seconds(t.value)?;
        let refresher = match t.param("refresher") {
            None => None,
            Some(Some(r)) if r.eq_ignore_ascii_case("uac") => Some(Refresher::Uac),
            Some(Some(r)) if r.eq_ignore_ascii_case("uas") => Some(Refresher::Uas),
            Some(_) => return Err("refresher must be uac or uas"),
        };
        Ok(SessionExpires {
            delta_seconds,
            refresher,
        })
    }
}

impl fmt::Display for SessionExpires {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.delta_seconds)?;
        if let Some(r) = self.refresher {
            write!(f, ";refresher={}", r.as_str())?;
        }
        Ok(())
    }
}

/// Min-SE (RFC 4028 §5): `delta-seconds *(SEMI generic-param)`, the smallest session
/// interval the sender accepts.
///
/// ```
/// use sip_core::message::MinSe;
/// assert_eq!(MinSe::parse(" 90 ").unwrap(), MinSe(90));
/// assert!(MinSe::parse("ninety").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MinSe(pub u32);

impl MinSe {
    /// Parses a Min-SE value (parameters are allowed and ignored).
    pub fn parse(v: &str) -> Result<Self, &'static str> {
        let t = TokenParams::parse(v)?;
        delta_seconds(t.value).map(MinSe)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_expires_grammar_rfc4028_s4() {
        let se = SessionExpires::parse("4000").unwrap();
        assert_eq!((se.delta_seconds, se.refresher), (4000, None));
        let se = SessionExpires::parse("90 ; REFRESHER=UAC;x=y").unwrap();
        assert_eq!((se.delta_seconds, se.refresher), (90, Some(Refresher::Uac)));
        assert_eq!(se.to_string(), "90;refresher=uac");
        for bad in [
            "",
            "abc",
            "-5",
            "1.5",
            "99999999999",
            "90;refresher",
            "90;refresher=x",
        ] {
            assert!(SessionExpires::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn min_se_grammar_rfc4028_s5() {
        assert_eq!(MinSe::parse("90"), Ok(MinSe(90)));
        assert_eq!(MinSe::parse("120;foo"), Ok(MinSe(120)));
        assert!(MinSe::parse("").is_err());
        assert!(MinSe::parse("4294967296").is_err());
    }
}
