//! Replaces (RFC 3891 §6.1): the dialog a new INVITE replaces.

use std::fmt;

use super::params::{Params, scan_params};
use crate::message::escape::escape_header;
use crate::message::scan::{skip_lws, trim_lws};

/// A Replaces value: `callid *(SEMI replaces-param)`, with exactly one `to-tag` and one
/// `from-tag` (§6.1) and the optional `early-only` flag.
///
/// The tags name the dialog as the INVITE that carries the header sees it: `to-tag` is the
/// tag of the UA receiving it, `from-tag` that of its peer in the dialog (§3).
///
/// ```
/// use sip_core::message::Replaces;
/// let r = Replaces::parse("425928@bobster.example.org;to-tag=7743;from-tag=6472;early-only").unwrap();
/// assert_eq!((r.call_id, r.to_tag, r.from_tag, r.early_only), ("425928@bobster.example.org", "7743", "6472", true));
/// assert_eq!(r.to_string(), "425928@bobster.example.org;to-tag=7743;from-tag=6472;early-only");
/// // As a header of a Refer-To URI (RFC 3891 §5, RFC 3261 §19.1.1).
/// assert_eq!(r.uri_header(), "Replaces=425928%40bobster.example.org%3Bto-tag%3D7743%3Bfrom-tag%3D6472%3Bearly-only");
/// assert!(Replaces::parse("abc;to-tag=1").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replaces<'a> {
    /// The Call-ID of the dialog to replace.
    pub call_id: &'a str,
    /// The receiving UA's tag in that dialog.
    pub to_tag: &'a str,
    /// The other party's tag in that dialog.
    pub from_tag: &'a str,
    /// `early-only`: replace the dialog only while it is early (§3: 486 if confirmed).
    pub early_only: bool,
}

impl<'a> Replaces<'a> {
    /// Parses a Replaces value.
    pub fn parse(v: &'a str) -> Result<Self, &'static str> {
        let v = trim_lws(v);
        let end = v.find(';').unwrap_or(v.len());
        let call_id = trim_lws(&v[..end]);
        if call_id.is_empty() || call_id.bytes().any(|b| b <= b' ' || b >= 0x7f) {
            return Err("expected a Call-ID");
        }
        let rest = &v[end..];
        let b = rest.as_bytes();
        let pe = scan_params(b, 0).map_err(|_| "malformed parameters")?;
        if skip_lws(b, pe) != b.len() {
            return Err("unexpected text after the parameters");
        }
        let (mut to_tag, mut from_tag, mut early_only) = (None, None, false);
        for (name, value) in Params::new(rest) {
            let slot = if name.eq_ignore_ascii_case("to-tag") {
                &mut to_tag
            } else if name.eq_ignore_ascii_case("from-tag") {
                &mut from_tag
            } else {
                early_only |= name.eq_ignore_ascii_case("early-only");
                continue;
            };
            if slot.is_some() {
                return Err("more than one to-tag or from-tag");
            }
            *slot = Some(value.ok_or("a tag needs a value")?);
        }
        match (to_tag, from_tag) {
            (Some(to_tag), Some(from_tag)) => Ok(Replaces {
                call_id,
                to_tag,
                from_tag,
                early_only,
            }),
            _ => Err("to-tag and from-tag are required"),
        }
    }

    /// `Replaces=<value>` escaped for the headers of a URI, as a Refer-To carries it for
    /// an attended transfer (RFC 3891 §5; RFC 3261 §19.1.1).
    pub fn uri_header(&self) -> String {
        format!("Replaces={}", escape_header(&self.to_string()))
    }
}

impl fmt::Display for Replaces<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{};to-tag={};from-tag={}",
            self.call_id, self.to_tag, self.from_tag
        )?;
        if self.early_only {
            f.write_str(";early-only")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar_rfc3891_s6_1() {
        let r = Replaces::parse(" abc ; from-tag=2 ;to-tag=1 ").unwrap();
        assert_eq!(
            (r.call_id, r.to_tag, r.from_tag, r.early_only),
            ("abc", "1", "2", false)
        );
        for bad in [
            "",
            ";to-tag=1;from-tag=2",
            "abc;to-tag=1",
            "abc;from-tag=2",
            "abc;to-tag=1;to-tag=3;from-tag=2",
            "abc;to-tag;from-tag=2",
            "abc;to-tag=1;from-tag=2 junk",
        ] {
            assert!(Replaces::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn round_trips_through_a_uri_header() {
        let r = Replaces::parse("a@b;to-tag=x;from-tag=y").unwrap();
        let h = r.uri_header();
        let value = h.strip_prefix("Replaces=").unwrap();
        let back = crate::message::escape::unescape(value).unwrap();
        assert_eq!(Replaces::parse(&back).unwrap(), r);
    }
}
