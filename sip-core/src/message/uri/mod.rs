//! SIP, SIPS, tel and other absolute URIs (RFC 3261 §19.1, §25.1; RFC 3966; RFC 5118;
//! RFC 5954).
//!
//! # Zero-copy parsing
//!
//! [`Uri::parse`] makes one forward pass over the text with `memchr` and the byte-class table
//! of [`escape`](super::escape), and keeps every component as a slice of the input: a valid
//! URI is parsed without allocating. Parameters and headers are kept as raw text and split
//! on demand by iterators, so there is no per-parameter vector.
//!
//! # Writing back
//!
//! Every component keeps its original spelling (scheme case, escapes, leading zeros of a
//! port, IPv6 spelling, parameter order), so a parsed URI that was not modified displays
//! byte-identically to its input. Builders write canonical text for what they change.
//!
//! # Lenient and strict
//!
//! [`Uri::parse_strict`] follows the RFC 3261 §25.1 grammar (as corrected for IPv6 by
//! RFC 5954 §4.1) and RFC 3966 §3 exactly. [`Uri::parse`] also accepts these deviations seen
//! in real traffic, none of which can move a component boundary:
//!
//! * unescaped characters that no grammar class allows but that cannot delimit a URI inside a
//!   SIP header — `# " { } | \ ^ `` ` `` [ ]` and non-ASCII (UTF-8) bytes — in the user,
//!   password, parameters and headers (e.g. `sip:*67#123@example.com`);
//! * a `%` that does not start a valid escape, taken as a literal `%`;
//! * `@` inside parameter and header values, `=` inside parameter and header values, `;` and
//!   `,` inside header values, and `:` `;` `?` `/` inside a password (the first `@` of the
//!   URI always ends the userinfo, as the grammar implies: `user` may hold `;` and `?`);
//! * host names with `_`, labels starting or ending with `-`, empty labels, and a top label
//!   starting with a digit (anything made of letters, digits, `-`, `.` and `_` that is not
//!   all digits and dots);
//! * empty parameters (`;;`, trailing `;`), parameters with an empty value (`;x=`), empty
//!   header fields (`&&`, trailing `&`) and header fields without `=`;
//! * an IPv6 address without brackets where that is unambiguous: eight full groups, then
//!   perhaps a colon and a port (`sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c:5060`, as some
//!   IPv6 phones write it; host `fec0::216:d3ff:fe0d:22c`, port 5060);
//! * tel URIs: local numbers without `phone-context`,
//!   `p`/`w` pause characters and hex digits in global numbers, any parameter name made of
//!   parameter characters.
//!
//! Both modes reject: a missing or empty host, a port that is empty, not decimal or above
//! 65535, an unclosed `[`, an IPv6 reference that is not an IPv6 address, an empty user before
//! `@`, a `?` with no header after it, and any space or control character anywhere. Scheme
//! names and the `sip:`/`sips:`/`tel:` prefixes are case-insensitive in both modes, since
//! ABNF string literals are (RFC 5234 §2.3).
//!
//! # Comparison
//!
//! `==` on [`SipUri`] implements RFC 3261 §19.1.4, which is not transitive (the RFC says so:
//! a parameter present in only one URI is ignored unless it is `user`, `ttl`, `method`,
//! `maddr` or `transport`), so [`SipUri`] and [`Uri`] implement neither `Eq` nor `Hash`.
//! [`TelUri`] (RFC 3966 §4), [`Host`] and [`AbsoluteUri`] comparisons are equivalence
//! relations and implement `Eq` and `Hash`.
//!
//! # Files
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | [`Uri`], scheme dispatch and the scanning helpers every parser shares |
//! | `error.rs` | [`UriError`], [`UriErrorKind`] |
//! | `sip.rs` | [`SipUri`]: parser, accessors, builders (RFC 3261 §19.1.1–§19.1.3, §25.1) |
//! | `tel.rs` | [`TelUri`] (RFC 3966 §3, §5) |
//! | `absolute.rs` | [`AbsoluteUri`], any other scheme (RFC 3261 §25.1 `absoluteURI`) |
//! | `host.rs` | [`Host`], host and port scanning (RFC 3261 §25.1, RFC 5954 §4.1) |
//! | `params.rs` | [`Params`], [`Headers`], name lookup ignoring case and escapes |
//! | `compare.rs` | RFC 3261 §19.1.4 and RFC 3966 §4 comparison |
//! | `plain.rs` | the one-pass check of the usual Request-URI used by the message checks |

mod absolute;
mod compare;
mod error;
mod host;
mod params;
mod plain;
mod sip;
mod tel;
#[cfg(test)]
mod test_util;

pub use absolute::AbsoluteUri;
pub use error::{UriError, UriErrorKind};
pub use host::Host;
pub(crate) use host::unbracketed_ipv6_end;
pub use params::{Headers, Params};
pub(crate) use plain::is_plain_sip_uri;
pub use sip::SipUri;
pub use tel::TelUri;

use std::borrow::Cow;
use std::fmt;

use super::escape::{SCHEME, decode_at, has};
use error::err;

// ---------------------------------------------------------------------------------------
// Scanning helpers shared by the SIP, tel and absolute-URI parsers
// ---------------------------------------------------------------------------------------

/// Whether a parser applies the lenient deviations of the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Lenient,
    Strict,
}

impl Mode {
    #[inline]
    fn extra(self, lenient: u32) -> u32 {
        match self {
            Mode::Lenient => lenient,
            Mode::Strict => 0,
        }
    }
}

/// Advances from `pos` over bytes whose class is in `mask` and over `%HH` escapes, stopping
/// at `end` or at the first other byte. In strict mode a `%` that is not a valid escape is an
/// error; in lenient mode it is taken as a literal.
#[inline]
fn scan(b: &[u8], mut pos: usize, end: usize, mask: u32, mode: Mode) -> Result<usize, UriError> {
    // No class in `mask` contains `%`, so the tight loop below also stops at escapes.
    let region = b.get(..end).unwrap_or(b);
    loop {
        let rest = region.get(pos..).unwrap_or_default();
        let Some(i) = rest.iter().position(|&c| !has(c, mask)) else {
            return Ok(region.len());
        };
        pos += i;
        if region.get(pos) != Some(&b'%') {
            return Ok(pos);
        }
        if decode_at(region, pos).is_some() {
            pos += 3;
        } else if mode == Mode::Strict {
            return Err(err(pos, UriErrorKind::InvalidEscape));
        } else {
            pos += 1;
        }
    }
}

#[inline]
fn slice(s: &str, from: usize, to: usize, kind: UriErrorKind) -> Result<&str, UriError> {
    s.get(from..to).ok_or(err(from, kind))
}

/// Finds the `:` ending the scheme and validates the scheme (RFC 3986 §3.1).
fn split_scheme(s: &str) -> Result<usize, UriError> {
    let b = s.as_bytes();
    match b.first() {
        None => return Err(err(0, UriErrorKind::MissingScheme)),
        Some(c) if c.is_ascii_alphabetic() => {}
        Some(_) => return Err(err(0, UriErrorKind::InvalidScheme)),
    }
    let mut pos = 1;
    while let Some(&c) = b.get(pos) {
        if !has(c, SCHEME) {
            break;
        }
        pos += 1;
    }
    match b.get(pos) {
        Some(b':') => Ok(pos),
        None => Err(err(pos, UriErrorKind::MissingScheme)),
        Some(_) => Err(err(pos, UriErrorKind::InvalidScheme)),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sip,
    Sips,
    Tel,
    Other,
}

fn classify_scheme(scheme: &str) -> Kind {
    if scheme.eq_ignore_ascii_case("sip") {
        Kind::Sip
    } else if scheme.eq_ignore_ascii_case("sips") {
        Kind::Sips
    } else if scheme.eq_ignore_ascii_case("tel") {
        Kind::Tel
    } else {
        Kind::Other
    }
}

fn to_owned_cow(c: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(c.into_owned())
}

// ---------------------------------------------------------------------------------------
// Uri
// ---------------------------------------------------------------------------------------

/// Any URI that can appear in a SIP message (RFC 3261 §19.1, §25.1 `absoluteURI`).
#[derive(Debug, Clone)]
pub enum Uri<'a> {
    /// A `sip:` or `sips:` URI (RFC 3261 §19.1).
    Sip(SipUri<'a>),
    /// A `tel:` URI (RFC 3966).
    Tel(TelUri<'a>),
    /// Any other absolute URI, kept opaque (RFC 3261 §25.1 `absoluteURI`).
    Absolute(AbsoluteUri<'a>),
}

impl<'a> Uri<'a> {
    /// Parses a URI, accepting the harmless deviations listed in the
    /// [module documentation](self). Borrows from `s`: a valid URI is parsed without
    /// allocating.
    ///
    /// ```
    /// use sip_core::message::uri::{Host, Uri};
    ///
    /// let uri = Uri::parse("sip:alice@atlanta.example.com;transport=tcp")?;
    /// let sip = uri.as_sip().expect("a SIP URI");
    /// assert_eq!(sip.user(), Some("alice"));
    /// assert_eq!(sip.host(), &Host::parse("atlanta.example.com")?);
    /// assert_eq!(sip.transport(), Some("tcp"));
    /// assert_eq!(uri.to_string(), "sip:alice@atlanta.example.com;transport=tcp");
    /// assert!(uri == Uri::parse("sip:%61lice@ATLANTA.example.com;transport=TCP")?);
    /// # Ok::<(), sip_core::message::uri::UriError>(())
    /// ```
    pub fn parse(s: &'a str) -> Result<Uri<'a>, UriError> {
        Self::parse_mode(s, Mode::Lenient)
    }

    /// Parses a URI following RFC 3261 §25.1 (with RFC 5954 §4.1) and RFC 3966 §3 exactly.
    pub fn parse_strict(s: &'a str) -> Result<Uri<'a>, UriError> {
        Self::parse_mode(s, Mode::Strict)
    }

    fn parse_mode(s: &'a str, mode: Mode) -> Result<Uri<'a>, UriError> {
        // Fast path for the overwhelmingly common scheme.
        if let Some(p) = s.as_bytes().get(..4)
            && p.eq_ignore_ascii_case(b"sip:")
        {
            return SipUri::parse_after_scheme(s, 3, false, mode).map(Uri::Sip);
        }
        let colon = split_scheme(s)?;
        let scheme = slice(s, 0, colon, UriErrorKind::InvalidScheme)?;
        Ok(match classify_scheme(scheme) {
            Kind::Sip => Uri::Sip(SipUri::parse_after_scheme(s, colon, false, mode)?),
            Kind::Sips => Uri::Sip(SipUri::parse_after_scheme(s, colon, true, mode)?),
            Kind::Tel => Uri::Tel(TelUri::parse_after_scheme(s, colon, mode)?),
            Kind::Other => Uri::Absolute(AbsoluteUri::parse_after_scheme(s, colon, mode)?),
        })
    }

    /// Copies every borrowed component so the URI outlives the parsed text.
    pub fn into_owned(self) -> Uri<'static> {
        match self {
            Uri::Sip(u) => Uri::Sip(u.into_owned()),
            Uri::Tel(u) => Uri::Tel(u.into_owned()),
            Uri::Absolute(u) => Uri::Absolute(u.into_owned()),
        }
    }

    /// The SIP or SIPS URI, if this is one.
    pub fn as_sip(&self) -> Option<&SipUri<'a>> {
        match self {
            Uri::Sip(u) => Some(u),
            _ => None,
        }
    }

    /// The tel URI, if this is one.
    pub fn as_tel(&self) -> Option<&TelUri<'a>> {
        match self {
            Uri::Tel(u) => Some(u),
            _ => None,
        }
    }

    /// The opaque absolute URI, if this is one.
    pub fn as_absolute(&self) -> Option<&AbsoluteUri<'a>> {
        match self {
            Uri::Absolute(u) => Some(u),
            _ => None,
        }
    }

    /// The scheme: `"sip"`, `"sips"` or `"tel"` in lower case for those schemes (however they
    /// were written), otherwise as written.
    pub fn scheme(&self) -> &str {
        match self {
            Uri::Sip(u) => u.scheme(),
            Uri::Tel(_) => "tel",
            Uri::Absolute(u) => u.scheme(),
        }
    }
}

impl<'a> TryFrom<&'a str> for Uri<'a> {
    type Error = UriError;

    /// Same as [`Uri::parse`].
    fn try_from(s: &'a str) -> Result<Self, UriError> {
        Uri::parse(s)
    }
}

impl fmt::Display for Uri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Uri::Sip(u) => u.fmt(f),
            Uri::Tel(u) => u.fmt(f),
            Uri::Absolute(u) => u.fmt(f),
        }
    }
}

impl<'b> PartialEq<Uri<'b>> for Uri<'_> {
    /// RFC 3261 §19.1.4 for SIP URIs, RFC 3966 §4 for tel URIs; URIs of different kinds
    /// never match (a SIP URI with `user=phone` is not a tel URI, §19.1.6).
    fn eq(&self, other: &Uri<'b>) -> bool {
        match (self, other) {
            (Uri::Sip(a), Uri::Sip(b)) => a == b,
            (Uri::Tel(a), Uri::Tel(b)) => a == b,
            (Uri::Absolute(a), Uri::Absolute(b)) => a == b,
            _ => false,
        }
    }
}

#[cfg(test)]
// `u == u` checks that the §19.1.4 relation is reflexive on every accepted input.
#[allow(clippy::eq_op)]
mod tests {
    use super::*;
    use crate::message::escape;
    use crate::message::uri::UriErrorKind as K;
    use crate::message::uri::test_util::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// Inputs the lenient parser accepts (byte-identically) and the strict parser rejects.
    #[test]
    fn strict_versus_lenient() {
        let table: [(&str, usize, UriErrorKind); 24] = [
            ("sip:*67#123@example.com", 7, K::InvalidUser),
            ("sip:100%@host.com", 7, K::InvalidEscape),
            ("sip:%G1@host.com", 4, K::InvalidEscape),
            ("sip:al\u{e9}@host.com", 6, K::InvalidUser),
            ("sip:bob:pa;ss@host.com", 10, K::InvalidPassword),
            ("sip:alice@my_host.example.com", 12, K::InvalidHost),
            ("sip:alice@example.123", 18, K::InvalidHost),
            ("sip:alice@-bad.com", 10, K::InvalidHost),
            ("sip:alice@a..com", 12, K::InvalidHost),
            ("sip:alice@host.com;x=", 21, K::EmptyParamValue),
            ("sip:alice@host.com;;lr", 19, K::EmptyParamName),
            ("sip:alice@host.com;lr;", 22, K::EmptyParamName),
            ("sip:alice@host.com;x=\"q\"", 21, K::InvalidParam),
            ("sip:alice@host.com;x=a@b", 22, K::InvalidParam),
            ("sip:alice@host.com;x=a=b", 22, K::InvalidParam),
            ("sip:alice@host.com?subject", 26, K::MissingHeaderValue),
            ("sip:alice@host.com?a=b&&c=d", 23, K::EmptyHeaderName),
            ("sip:alice@host.com?a=x;y", 22, K::InvalidHeader),
            ("tel:1234", 8, K::MissingPhoneContext),
            ("tel:+12a4", 7, K::InvalidNumber),
            (
                "tel:7042;phone-context=exa_mple.com",
                23,
                K::InvalidPhoneContext,
            ),
            ("tel:+1234;Bad_Name=1", 13, K::InvalidParam),
            ("tel:+1234;ext=12a", 16, K::InvalidParam),
            ("mailto:alice@example.com#frag", 24, K::InvalidChar),
        ];
        for (text, offset, kind) in table {
            assert_eq!(
                Uri::parse_strict(text).unwrap_err(),
                err(offset, kind),
                "{text}"
            );
            let u = lenient(text);
            assert_eq!(u.to_string(), text);
            assert!(u == u, "{text}");
        }
        let u = lenient("sip:*67#123@example.com");
        assert_eq!(u.as_sip().unwrap().user(), Some("*67#123"));
        let u = lenient("sip:100%@host.com");
        assert_eq!(u.as_sip().unwrap().user_unescaped().unwrap(), "100%");
        let u = lenient("sip:alice@my_host.example.com");
        assert_eq!(
            u.as_sip().unwrap().host(),
            &Host::Domain(Cow::Borrowed("my_host.example.com"))
        );
        let u = lenient("sip:alice@host.com?subject");
        assert_eq!(
            u.as_sip().unwrap().headers().collect::<Vec<_>>(),
            [("subject", "")]
        );
        let u = lenient("sip:alice@host.com;x=a@b");
        assert_eq!(u.as_sip().unwrap().param("x"), Some(Some("a@b")));
    }

    /// Inputs both parsers reject, with the offset and the expectation reported.
    #[test]
    fn rejected_by_both() {
        let table: [(&str, usize, UriErrorKind); 27] = [
            ("", 0, K::MissingScheme),
            ("sip", 3, K::MissingScheme),
            (" sip:a.com", 0, K::InvalidScheme),
            ("alice@host", 5, K::InvalidScheme),
            ("sip:", 4, K::MissingHost),
            ("sip:alice@", 10, K::MissingHost),
            ("sip:@host.com", 4, K::EmptyUser),
            ("sip::pw@host.com", 4, K::EmptyUser),
            ("sip:alice@host.com:", 19, K::MissingPort),
            ("sip:alice@host.com:5x", 20, K::UnexpectedChar),
            ("sip:alice@host.com:65536", 19, K::PortOutOfRange),
            ("sip:alice@host.com:99999999999999", 19, K::PortOutOfRange),
            ("sip:alice@1.2.3", 10, K::InvalidIpv4),
            ("sip:alice@256.1.1.1", 10, K::InvalidIpv4),
            ("sip:alice@atlanta.com x", 21, K::UnexpectedChar),
            ("sip:al ice@atlanta.com", 6, K::InvalidUser),
            ("sip:alice@atl\tanta.com", 13, K::UnexpectedChar),
            ("sip:alice@host.com\r\n", 18, K::UnexpectedChar),
            ("sip:alice@host.com?", 19, K::EmptyHeaderName),
            ("sip:alice@host.com;=x", 19, K::EmptyParamName),
            ("sip:alice@host.com;x=<y>", 21, K::InvalidParam),
            ("sip:alice@host.com;x=a,b", 22, K::InvalidParam),
            ("sip:alice@host.com?a=b c", 22, K::InvalidHeader),
            ("sip:alice@-", 10, K::InvalidHost),
            ("tel:", 4, K::EmptyNumber),
            ("tel:+1 234", 6, K::InvalidNumber),
            ("mailto:a b", 8, K::InvalidChar),
        ];
        for (text, offset, kind) in table {
            assert_eq!(Uri::parse(text).unwrap_err(), err(offset, kind), "{text}");
            assert_eq!(
                Uri::parse_strict(text).unwrap_err(),
                err(offset, kind),
                "strict {text}"
            );
        }
        assert_eq!(Uri::parse("urn:").unwrap_err(), err(4, K::EmptyOpaque));
        assert_eq!(Uri::parse("tel:+").unwrap_err(), err(5, K::EmptyNumber));
        assert_eq!(SipUri::parse("tel:+1").unwrap_err(), err(0, K::WrongScheme));
        let e = Uri::parse("sip:alice@host.com:65536").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid URI at byte 19: expected a port of at most 65535"
        );
    }

    #[test]
    fn round_trip_keeps_original_spelling() {
        for text in [
            "SIP:ALICE@AtLanTa.CoM;Transport=udp",
            "Sips:bob@biloxi.com:05061;LR",
            "sip:alice:@atlanta.com",
            "sip:atlanta.com.",
            "sip:010.000.002.004",
            "sip:user@[2001:DB8:0:0:0:0:0:1]:5060;maddr=[::1]?x=%7e&y=",
            "sip:%61%62@h.com;%6d=%6E?%41=%42",
            "tel:+1-(201).555-0123;EXT=1",
            "urn:service:sos",
            "http://www.example.com/a?b=c",
            "mailto:alice@example.com",
            "im:alice@example.com",
        ] {
            let u = lenient(text);
            assert_eq!(u.to_string(), text);
            let owned = u.clone().into_owned();
            assert_eq!(owned.to_string(), text);
            assert!(owned == u, "{text}");
        }
        let u = sip("sip:010.000.002.004");
        assert_eq!(u.host(), &Host::Ipv4(Ipv4Addr::new(10, 0, 2, 4)));
        assert_eq!(lenient("SIP:a.com").scheme(), "sip");
        assert_eq!(lenient("Sips:a.com").scheme(), "sips");
        assert_eq!(lenient("URN:x").scheme(), "URN");
    }

    /// RFC 4475 §3.1.2 request-line cases as they reach the URI parser, and the atypical
    /// scheme case of §3.3.
    #[test]
    fn rfc4475_invalid_request_uris() {
        // "<>" enclosing the Request-URI.
        assert_eq!(
            Uri::parse("<sip:user@example.com>").unwrap_err(),
            err(0, K::InvalidScheme)
        );
        // Embedded LWS: the request line splits at the space, leaving a trailing ';'.
        assert_eq!(
            Uri::parse_strict("sip:user@example.com;").unwrap_err(),
            err(21, K::EmptyParamName)
        );
        assert_eq!(
            lenient("sip:user@example.com;").to_string(),
            "sip:user@example.com;"
        );
        assert_eq!(
            Uri::parse("sip:user@example.com; lr").unwrap_err(),
            err(21, K::InvalidParam)
        );
        assert_eq!(
            Uri::parse("sip:user@ example.com").unwrap_err(),
            err(9, K::MissingHost)
        );
        let u = Uri::parse_strict("soap.beep://192.0.2.103:3002").unwrap();
        assert_eq!(u.scheme(), "soap.beep");
        assert_eq!(u.as_absolute().unwrap().rest(), "//192.0.2.103:3002");
    }

    #[test]
    fn typed_parsers_and_accessors() {
        let u = lenient("sip:a.com");
        assert!(u.as_sip().is_some() && u.as_tel().is_none() && u.as_absolute().is_none());
        let u = lenient("tel:+1");
        assert!(u.as_tel().is_some() && u.as_sip().is_none());
        assert_eq!(Uri::try_from("urn:x").unwrap().scheme(), "urn");
        assert_eq!(SipUri::parse_strict("sips:a.com").unwrap().scheme(), "sips");
        assert_eq!(TelUri::parse_strict("tel:+1").unwrap().params_raw(), "");
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn domain() -> impl Strategy<Value = String> {
            "([a-z0-9]([a-z0-9-]{0,4}[a-z0-9])?\\.){0,3}[a-zA-Z]([a-zA-Z0-9-]{0,4}[a-zA-Z0-9])?\\.?"
        }

        fn host() -> impl Strategy<Value = String> {
            prop_oneof![
                domain(),
                any::<[u8; 4]>().prop_map(|o| Ipv4Addr::from(o).to_string()),
                any::<[u16; 8]>().prop_map(|a| format!("[{}]", Ipv6Addr::from(a))),
                (any::<u16>(), any::<u16>()).prop_map(|(x, y)| format!("[2001:DB8::{x:X}:{y:x}]")),
            ]
        }

        fn sip_text() -> impl Strategy<Value = String> {
            let user = "([a-zA-Z0-9\\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2}){1,10}";
            let password = "([a-zA-Z0-9\\-_.!~*'()&=+$,]|%[0-9A-F]{2}){0,6}";
            let pchar = "([a-zA-Z0-9\\-_.!~*'()\\[\\]/:&+$]|%[0-9A-F]{2}){1,6}";
            let hname = "([a-zA-Z0-9\\-_.!~*'()\\[\\]/?:+$]|%[0-9a-f]{2}){1,5}";
            let hvalue = "([a-zA-Z0-9\\-_.!~*'()\\[\\]/?:+$]|%[0-9a-f]{2}){0,5}";
            (
                prop_oneof!["sip", "sips", "SIP", "Sips"],
                proptest::option::of((user, proptest::option::of(password))),
                host(),
                proptest::option::of(any::<u16>()),
                proptest::collection::vec((pchar, proptest::option::of(pchar)), 0..4),
                proptest::collection::vec((hname, hvalue), 0..3),
            )
                .prop_map(|(scheme, userinfo, host, port, params, headers)| {
                    let mut s = format!("{scheme}:");
                    if let Some((u, p)) = userinfo {
                        s.push_str(&u);
                        if let Some(p) = p {
                            s.push(':');
                            s.push_str(&p);
                        }
                        s.push('@');
                    }
                    s.push_str(&host);
                    if let Some(p) = port {
                        s.push_str(&format!(":{p}"));
                    }
                    for (n, v) in params {
                        s.push(';');
                        s.push_str(&n);
                        if let Some(v) = v {
                            s.push('=');
                            s.push_str(&v);
                        }
                    }
                    for (i, (n, v)) in headers.into_iter().enumerate() {
                        s.push(if i == 0 { '?' } else { '&' });
                        s.push_str(&n);
                        s.push('=');
                        s.push_str(&v);
                    }
                    s
                })
        }

        fn tel_text() -> impl Strategy<Value = String> {
            let global = "\\+[0-9().\\-]{0,3}[0-9][0-9().\\-]{0,8}(;ext=[0-9\\-]{1,4})?(;isub=[a-z0-9:@]{1,4})?(;[a-z][a-z0-9\\-]{0,4}(=[a-zA-Z0-9\\[\\]/:&+$]{1,4})?){0,2}";
            let local = "[0-9A-Fa-f*#().\\-]{0,3}[0-9A-F*#][0-9*#\\-]{0,4};phone-context=(\\+[0-9\\-]{0,2}[0-9]|[a-z]{1,5}(\\.[a-z]{1,5}){0,2})";
            prop_oneof![global, local].prop_map(|s| format!("tel:{s}"))
        }

        fn absolute_text() -> impl Strategy<Value = String> {
            "(mailto|urn|http|im|pres|x-y\\.z\\+1):([a-zA-Z0-9\\-_.!~*'();/?:@&=+$,\\[\\]]|%[0-9A-F]{2}){1,20}"
        }

        fn check_accepted(text: &str, u: &Uri<'_>) {
            assert_eq!(u.to_string(), text);
            assert!(u == u);
            let owned = u.clone().into_owned();
            assert_eq!(owned.to_string(), text);
            assert!(&owned == u);
            if let Some(s) = u.as_sip() {
                let _ = (s.user_unescaped(), s.password_unescaped(), s.ttl(), s.lr());
                let _ = (s.transport_kind(), s.maddr(), s.method(), s.user_param());
                assert_eq!(s.params().count(), s.params().count());
                let _ = s.headers().count();
                let _ = s
                    .clone()
                    .with_port(Some(1))
                    .with_param("a", Some("b"))
                    .to_string();
            }
            if let Some(t) = u.as_tel() {
                let _ = (t.number_digits(), t.phone_context(), t.extension());
                let _ = hash_of(t);
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn arbitrary_strings_never_panic(s in any::<String>()) {
                for u in [Uri::parse(&s), Uri::parse_strict(&s)].iter().flatten() {
                    check_accepted(&s, u);
                }
            }

            #[test]
            fn uri_like_strings_never_panic(
                s in "(sip|sips|tel|SIP|urn):[a-zA-Z0-9@:;=?&%\\[\\]+.\\-_ #<>\"/,!~*'()$\u{e9}]{0,40}"
            ) {
                let lax = Uri::parse(&s);
                if let Ok(u) = &lax {
                    check_accepted(&s, u);
                }
                if let Ok(u) = Uri::parse_strict(&s) {
                    check_accepted(&s, &u);
                    prop_assert!(lax.is_ok(), "strict accepted but lenient rejected {}", s);
                }
            }

            #[test]
            fn valid_sip_uris_round_trip(s in sip_text()) {
                let u = Uri::parse_strict(&s);
                prop_assert!(u.is_ok(), "{}: {:?}", s, u);
                let u = u.unwrap();
                prop_assert!(u.as_sip().is_some_and(all_borrowed));
                check_accepted(&s, &u);
                check_accepted(&s, &Uri::parse(&s).unwrap());
            }

            #[test]
            fn valid_tel_uris_round_trip(s in tel_text()) {
                let u = Uri::parse_strict(&s);
                prop_assert!(u.is_ok(), "{}: {:?}", s, u);
                check_accepted(&s, &u.unwrap());
            }

            #[test]
            fn valid_absolute_uris_round_trip(s in absolute_text()) {
                let u = Uri::parse_strict(&s);
                prop_assert!(u.is_ok(), "{}: {:?}", s, u);
                check_accepted(&s, &u.unwrap());
            }

            #[test]
            fn built_uris_are_strictly_valid(
                user in any::<String>(),
                pw in any::<String>(),
                pname in any::<String>(),
                pvalue in any::<String>(),
                hname in any::<String>(),
                hvalue in any::<String>(),
            ) {
                let u = SipUri::parse_host("example.com")
                    .unwrap()
                    .with_user(user.as_str())
                    .with_password(Some(pw.as_str()))
                    .with_param(&pname, Some(&pvalue))
                    .with_header(&hname, &hvalue);
                let text = u.to_string();
                let p = SipUri::parse_strict(&text);
                prop_assert!(p.is_ok(), "{}: {:?}", text, p);
                let p = p.unwrap();
                prop_assert!(p == u);
                if user.is_empty() {
                    prop_assert_eq!(p.user(), None);
                } else {
                    prop_assert_eq!(p.user_unescaped().unwrap(), user.as_str());
                    prop_assert_eq!(p.password_unescaped().unwrap(), pw.as_str());
                }
                if !pname.is_empty() {
                    let v = p.param(&pname).flatten().map(escape::unescape);
                    if pvalue.is_empty() {
                        prop_assert_eq!(p.param(&pname), Some(None));
                    } else {
                        prop_assert_eq!(v, Some(Ok(Cow::Borrowed(pvalue.as_str()))));
                    }
                }
                if !hname.is_empty() {
                    let v = p.header(&hname).map(escape::unescape);
                    prop_assert_eq!(v, Some(Ok(Cow::Borrowed(hvalue.as_str()))));
                }
            }
        }
    }
}
