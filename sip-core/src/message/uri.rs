//! SIP, SIPS, tel and other absolute URIs (RFC 3261 §19.1, §25.1; RFC 3966; RFC 5118;
//! RFC 5954).
//!
//! # Zero-copy parsing
//!
//! [`Uri::parse`] makes one forward pass over the text with `memchr` and the byte-class table
//! of [`escape`], and keeps every component as a slice of the input: a valid
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
//! * tel URIs: local numbers without `phone-context`, a `phone-context` on a global number,
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

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::{Ipv4Addr, Ipv6Addr};

use memchr::memchr;
use thiserror::Error;

use super::escape::{
    self, ALNUM, AT, CLASS, DOMAIN, EQ, HNV_UNRES, LENIENT_EXTRA, NOT_IPV4, PARAM_UNRES,
    PASS_EXTRA, RESERVED, SCHEME, SEMI_COMMA, UNRESERVED, USER_UNRES, decode_at, eq_unescaped, has,
    unescaped_bytes,
};
use crate::transport::Transport;

/// Where and why a URI failed to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("invalid URI at byte {offset}: {kind}")]
pub struct UriError {
    /// Byte offset in the parsed text where the problem was found.
    pub offset: usize,
    /// What the parser expected there.
    pub kind: UriErrorKind,
}

/// What the URI parser expected (RFC 3261 §25.1, RFC 3966 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum UriErrorKind {
    /// No `:` ends the scheme.
    #[error("expected a scheme followed by ':'")]
    MissingScheme,
    /// A scheme must be `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )` (RFC 3986 §3.1).
    #[error("expected a scheme character (ALPHA, then ALPHA / DIGIT / '+' / '-' / '.')")]
    InvalidScheme,
    /// A typed parser was given another scheme.
    #[error("expected the scheme this URI type parses (sip, sips or tel)")]
    WrongScheme,
    /// `@` with nothing before it.
    #[error("expected a user before '@'")]
    EmptyUser,
    /// A character outside `unreserved / user-unreserved / escaped`.
    #[error("expected a user character (unreserved, user-unreserved or escape)")]
    InvalidUser,
    /// A character outside `unreserved / escaped / & = + $ ,`.
    #[error("expected a password character (unreserved, '&=+$,' or escape)")]
    InvalidPassword,
    /// A `%` not followed by two hex digits (strict mode).
    #[error("expected '%' followed by two hex digits")]
    InvalidEscape,
    /// Nothing where the host should be.
    #[error("expected a host")]
    MissingHost,
    /// Not a `hostname` (strict) nor a lenient host name.
    #[error("expected a host name, IPv4 address or IPv6 reference")]
    InvalidHost,
    /// All digits and dots, but not four octets of at most 255.
    #[error("expected an IPv4 address (four decimal octets of at most 255)")]
    InvalidIpv4,
    /// `[` without `]`.
    #[error("expected ']' closing the IPv6 reference")]
    UnclosedIpv6,
    /// The text between `[` and `]` is not an IPv6 address (RFC 5954 §4.1).
    #[error("expected an IPv6 address inside '[' ']'")]
    InvalidIpv6,
    /// `:` without digits after it.
    #[error("expected port digits after ':'")]
    MissingPort,
    /// A port above 65535.
    #[error("expected a port of at most 65535")]
    PortOutOfRange,
    /// Something other than a port, parameter, header or the end after the host.
    #[error("expected ':' port, ';' parameter, '?' headers or end of URI")]
    UnexpectedChar,
    /// `;` not followed by a parameter name.
    #[error("expected a parameter name")]
    EmptyParamName,
    /// `=` not followed by a value (strict mode).
    #[error("expected a parameter value after '='")]
    EmptyParamValue,
    /// A character not allowed in a parameter.
    #[error("expected a parameter character (param-unreserved, unreserved or escape)")]
    InvalidParam,
    /// `?` or `&` not followed by a header name.
    #[error("expected a header name")]
    EmptyHeaderName,
    /// A header name not followed by `=` (strict mode).
    #[error("expected '=' after the header name")]
    MissingHeaderValue,
    /// A character not allowed in a header.
    #[error("expected a header character (hnv-unreserved, unreserved or escape)")]
    InvalidHeader,
    /// A tel URI without digits.
    #[error("expected a telephone number")]
    EmptyNumber,
    /// A character that is not a digit (or, for local numbers, hex digit, `*`, `#`) nor a
    /// visual separator.
    #[error("expected a telephone number digit or visual separator")]
    InvalidNumber,
    /// A local tel number without `;phone-context=` (RFC 3966 §5.1.5, strict mode).
    #[error("expected a ';phone-context=' parameter for a local number")]
    MissingPhoneContext,
    /// A `phone-context` on a global number (strict mode).
    #[error("expected no phone-context on a global number")]
    UnexpectedPhoneContext,
    /// A `phone-context` that is neither a domain name nor a global number.
    #[error("expected a phone-context of a domain name or global number digits")]
    InvalidPhoneContext,
    /// A character not allowed in an absolute URI.
    #[error("expected a URI character (reserved, unreserved or escape)")]
    InvalidChar,
    /// Nothing after the scheme of an absolute URI.
    #[error("expected content after the scheme")]
    EmptyOpaque,
}

#[inline]
fn err(offset: usize, kind: UriErrorKind) -> UriError {
    UriError { offset, kind }
}

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

// ---------------------------------------------------------------------------------------
// Host
// ---------------------------------------------------------------------------------------

/// The host of a SIP URI (RFC 3261 §19.1.1, §25.1 `host`).
#[derive(Debug, Clone)]
pub enum Host<'a> {
    /// A host name, as written (case kept).
    Domain(Cow<'a, str>),
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 address; written in brackets in a URI (`IPv6reference`).
    Ipv6(Ipv6Addr),
}

impl<'a> Host<'a> {
    /// Parses a host strictly: an RFC 3261 `hostname`, an IPv4 address, or an IPv6 address
    /// with or without brackets. Borrows from `s`.
    pub fn parse(s: &'a str) -> Result<Host<'a>, UriError> {
        if s.bytes().filter(|&c| c == b':').count() >= 2 && s.as_bytes().first() != Some(&b'[') {
            return s
                .parse::<Ipv6Addr>()
                .map(Host::Ipv6)
                .map_err(|_| err(0, UriErrorKind::InvalidIpv6));
        }
        let (host, end) = parse_host_at(s, 0, Mode::Strict)?;
        if end != s.len() {
            return Err(err(end, UriErrorKind::InvalidHost));
        }
        Ok(host)
    }

    /// Copies a borrowed domain name.
    pub fn into_owned(self) -> Host<'static> {
        match self {
            Host::Domain(d) => Host::Domain(to_owned_cow(d)),
            Host::Ipv4(a) => Host::Ipv4(a),
            Host::Ipv6(a) => Host::Ipv6(a),
        }
    }

    /// Whether the host is an IP address rather than a name.
    pub fn is_ip(&self) -> bool {
        !matches!(self, Host::Domain(_))
    }

    /// The host as written in a URI: IPv6 in brackets.
    fn to_cow(&self) -> Cow<'a, str> {
        match self {
            Host::Domain(d) => d.clone(),
            other => Cow::Owned(other.to_string()),
        }
    }
}

impl fmt::Display for Host<'_> {
    /// Writes the host as it appears in a URI; IPv6 addresses in brackets (RFC 3261 §25.1
    /// `IPv6reference`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d),
            Host::Ipv4(a) => write!(f, "{a}"),
            Host::Ipv6(a) => write!(f, "[{a}]"),
        }
    }
}

impl<'b> PartialEq<Host<'b>> for Host<'_> {
    /// Host names compare ignoring ASCII case; addresses compare by value, so differently
    /// spelled IPv6 addresses match (RFC 3261 §19.1.4, RFC 5954 §3). A name never matches an
    /// address, even one it resolves to.
    fn eq(&self, other: &Host<'b>) -> bool {
        match (self, other) {
            (Host::Domain(a), Host::Domain(b)) => a.eq_ignore_ascii_case(b),
            (Host::Ipv4(a), Host::Ipv4(b)) => a == b,
            (Host::Ipv6(a), Host::Ipv6(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Host<'_> {}

impl Hash for Host<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Host::Domain(d) => {
                state.write_u8(0);
                for b in d.bytes() {
                    state.write_u8(b.to_ascii_lowercase());
                }
                state.write_u8(0xff);
            }
            Host::Ipv4(a) => {
                state.write_u8(1);
                state.write(&a.octets());
            }
            Host::Ipv6(a) => {
                state.write_u8(2);
                state.write(&a.octets());
            }
        }
    }
}

/// Parses `1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT` with octets of at most 255
/// (RFC 3261 §25.1, RFC 5954 §4.1 `dec-octet` range).
fn parse_ipv4(text: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = text.split(|&c| c == b'.');
    for slot in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 {
            return None;
        }
        let mut v: u16 = 0;
        for &d in part {
            if !d.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u16::from(d - b'0');
        }
        *slot = u8::try_from(v).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Ipv4Addr::from(octets))
}

/// Checks RFC 3261 `hostname = *( domainlabel "." ) toplabel [ "." ]` in one pass: labels
/// of letters, digits and inner `-`, the last starting with a letter. Returns the offset of
/// the first offending byte.
fn validate_hostname(text: &[u8]) -> Result<(), usize> {
    let body = text.strip_suffix(b".").unwrap_or(text);
    let mut label_start = 0;
    let mut prev = b'.';
    for (i, &c) in body.iter().enumerate() {
        if c == b'.' {
            if prev == b'.' {
                return Err(i);
            }
            if prev == b'-' {
                return Err(i - 1);
            }
            label_start = i + 1;
        } else if c == b'-' {
            if prev == b'.' {
                return Err(i);
            }
        } else if !c.is_ascii_alphanumeric() {
            return Err(i);
        }
        prev = c;
    }
    if prev == b'-' {
        return Err(body.len() - 1);
    }
    match body.get(label_start) {
        Some(c) if c.is_ascii_alphabetic() => Ok(()),
        _ => Err(label_start),
    }
}

/// Parses a host at `pos`; returns it and the position after it.
fn parse_host_at(s: &str, pos: usize, mode: Mode) -> Result<(Host<'_>, usize), UriError> {
    let b = s.as_bytes();
    if b.get(pos) == Some(&b'[') {
        let close = memchr(b']', b.get(pos + 1..).unwrap_or_default())
            .map(|i| pos + 1 + i)
            .ok_or(err(pos, UriErrorKind::UnclosedIpv6))?;
        let inner = slice(s, pos + 1, close, UriErrorKind::InvalidIpv6)?;
        let addr = inner
            .parse::<Ipv6Addr>()
            .map_err(|_| err(pos + 1, UriErrorKind::InvalidIpv6))?;
        return Ok((Host::Ipv6(addr), close + 1));
    }
    let mut end = pos;
    let mut seen = 0u32;
    while let Some(&c) = b.get(end) {
        let class = CLASS[usize::from(c)];
        if class & DOMAIN == 0 {
            break;
        }
        seen |= class;
        end += 1;
    }
    if end == pos {
        return Err(err(pos, UriErrorKind::MissingHost));
    }
    let text = slice(s, pos, end, UriErrorKind::InvalidHost)?;
    if seen & NOT_IPV4 == 0 {
        return parse_ipv4(text.as_bytes())
            .map(|a| (Host::Ipv4(a), end))
            .ok_or(err(pos, UriErrorKind::InvalidIpv4));
    }
    match mode {
        Mode::Strict => validate_hostname(text.as_bytes())
            .map_err(|i| err(pos + i, UriErrorKind::InvalidHost))?,
        Mode::Lenient => {
            if seen & ALNUM == 0 {
                return Err(err(pos, UriErrorKind::InvalidHost));
            }
        }
    }
    Ok((Host::Domain(Cow::Borrowed(text)), end))
}

/// The usual Request-URI, checked in one pass without building a [`Uri`]:
/// `sip:`/`sips:` (lower case), an optional user of unreserved and user-unreserved
/// characters and `@`, an IPv4 address or a host name, an optional port, and
/// `;name[=value]` parameters of unreserved and param-unreserved characters; no escapes, no
/// password, no `?headers`. `true` only for text [`Uri::parse`] accepts (the host rules
/// are its lenient ones); `false` says nothing (the caller parses the general way).
pub(crate) fn is_plain_sip_uri(s: &str) -> bool {
    let b = s.as_bytes();
    let rest = match b {
        [b's', b'i', b'p', b':', rest @ ..] => rest,
        [b's', b'i', b'p', b's', b':', rest @ ..] => rest,
        _ => return false,
    };
    // The end of the run of bytes in `mask` from `from`.
    let run = |from: usize, mask: u32| {
        from + rest
            .get(from..)
            .unwrap_or_default()
            .iter()
            .take_while(|&&c| has(c, mask))
            .count()
    };
    // userinfo: a run of user characters ended by `@`; anything else means no user.
    let user_end = run(0, UNRESERVED | USER_UNRES);
    let host_start = match rest.get(user_end) {
        Some(b'@') if user_end > 0 => user_end + 1,
        _ => 0,
    };
    let mut i = host_start;
    let mut seen = 0;
    for &c in rest.get(host_start..).unwrap_or_default() {
        let class = CLASS[usize::from(c)];
        if class & DOMAIN == 0 {
            break;
        }
        seen |= class;
        i += 1;
    }
    // As `parse_host_at` in lenient mode: digits and dots are an IPv4 address, anything
    // else a name with at least one letter or digit.
    let host_ok = i > host_start
        && if seen & NOT_IPV4 == 0 {
            parse_ipv4(&rest[host_start..i]).is_some()
        } else {
            seen & ALNUM != 0
        };
    if !host_ok {
        return false;
    }
    if rest.get(i) == Some(&b':') {
        match super::scan::port_at(rest, i + 1) {
            Some((_, end)) => i = end,
            None => return false,
        }
    }
    let param = UNRESERVED | PARAM_UNRES;
    while rest.get(i) == Some(&b';') {
        let name_end = run(i + 1, param);
        if name_end == i + 1 {
            return false;
        }
        i = name_end;
        if rest.get(i) == Some(&b'=') {
            let value_end = run(i + 1, param);
            if value_end == i + 1 {
                return false;
            }
            i = value_end;
        }
    }
    i == rest.len()
}

/// Parses `1*DIGIT` at `pos` (just after `:`) as a port.
fn parse_port_at(b: &[u8], pos: usize) -> Result<(u16, usize), UriError> {
    let mut end = pos;
    let mut v: u32 = 0;
    while let Some(&c) = b.get(end) {
        if !c.is_ascii_digit() {
            break;
        }
        v = (v * 10 + u32::from(c - b'0')).min(1_000_000);
        end += 1;
    }
    if end == pos {
        return Err(err(pos, UriErrorKind::MissingPort));
    }
    let port = u16::try_from(v).map_err(|_| err(pos, UriErrorKind::PortOutOfRange))?;
    Ok((port, end))
}

/// Scans `*( ";" pname [ "=" pvalue ] )` starting at `pos`. Stops at the end, or at `?` when
/// `allow_query`. Returns the end position.
fn scan_params(b: &[u8], mut pos: usize, mode: Mode, allow_query: bool) -> Result<usize, UriError> {
    let name_mask = UNRESERVED | PARAM_UNRES | mode.extra(LENIENT_EXTRA | AT);
    let value_mask = name_mask | mode.extra(EQ);
    let len = b.len();
    while b.get(pos) == Some(&b';') {
        pos += 1;
        let is_end = |p: usize| match b.get(p) {
            None | Some(b';') => true,
            Some(b'?') => allow_query,
            Some(_) => false,
        };
        let name_end = scan(b, pos, len, name_mask, mode)?;
        if name_end == pos {
            if mode == Mode::Lenient && is_end(pos) {
                continue;
            }
            if is_end(pos) || b.get(pos) == Some(&b'=') {
                return Err(err(pos, UriErrorKind::EmptyParamName));
            }
            return Err(err(pos, UriErrorKind::InvalidParam));
        }
        pos = name_end;
        if b.get(pos) == Some(&b'=') {
            pos += 1;
            let value_end = scan(b, pos, len, value_mask, mode)?;
            if value_end == pos && mode == Mode::Strict && is_end(pos) {
                return Err(err(pos, UriErrorKind::EmptyParamValue));
            }
            pos = value_end;
        }
        match b.get(pos) {
            None | Some(b';') => {}
            Some(b'?') if allow_query => {}
            Some(_) => return Err(err(pos, UriErrorKind::InvalidParam)),
        }
    }
    Ok(pos)
}

/// Scans `header *( "&" header )` from `start` (just after `?`) to the end.
fn scan_headers(b: &[u8], start: usize, mode: Mode) -> Result<(), UriError> {
    let name_mask = UNRESERVED | HNV_UNRES | mode.extra(LENIENT_EXTRA | AT);
    let value_mask = name_mask | mode.extra(EQ | SEMI_COMMA);
    let len = b.len();
    let mut pos = start;
    loop {
        let name_end = scan(b, pos, len, name_mask, mode)?;
        if name_end == pos {
            match (mode, b.get(pos)) {
                (Mode::Lenient, Some(b'&')) => {
                    pos += 1;
                    continue;
                }
                (Mode::Lenient, None) if pos > start => return Ok(()),
                (_, None | Some(b'&' | b'=')) => {
                    return Err(err(pos, UriErrorKind::EmptyHeaderName));
                }
                _ => return Err(err(pos, UriErrorKind::InvalidHeader)),
            }
        }
        pos = name_end;
        if b.get(pos) == Some(&b'=') {
            pos = scan(b, pos + 1, len, value_mask, mode)?;
        } else if mode == Mode::Strict && matches!(b.get(pos), None | Some(b'&')) {
            return Err(err(pos, UriErrorKind::MissingHeaderValue));
        }
        match b.get(pos) {
            None => return Ok(()),
            Some(b'&') => pos += 1,
            Some(_) => return Err(err(pos, UriErrorKind::InvalidHeader)),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Parameter and header iterators
// ---------------------------------------------------------------------------------------

/// Iterator over `;name[=value]` parameters as written (escapes kept), skipping empty ones.
/// Yields `(name, None)` for a flag parameter such as `lr`.
#[derive(Debug, Clone)]
pub struct Params<'b> {
    rest: &'b str,
}

impl<'b> Params<'b> {
    /// Iterates over raw parameter text such as `;transport=tcp;lr` (RFC 3261 §19.1.1).
    pub fn new(raw: &'b str) -> Self {
        Params { rest: raw }
    }
}

impl<'b> Iterator for Params<'b> {
    type Item = (&'b str, Option<&'b str>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let r = self.rest.strip_prefix(';').unwrap_or(self.rest);
            if r.is_empty() {
                self.rest = "";
                return None;
            }
            let (seg, rest) = match r.split_once(';') {
                Some((seg, rest)) => (seg, rest),
                None => (r, ""),
            };
            self.rest = rest;
            if seg.is_empty() {
                continue;
            }
            return Some(match seg.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (seg, None),
            });
        }
    }
}

/// Iterator over `name=value` URI headers as written (escapes kept), skipping empty fields.
/// A lenient field without `=` yields an empty value.
#[derive(Debug, Clone)]
pub struct Headers<'b> {
    rest: &'b str,
}

impl<'b> Iterator for Headers<'b> {
    type Item = (&'b str, &'b str);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let (seg, rest) = match self.rest.split_once('&') {
                Some((seg, rest)) => (seg, rest),
                None => (self.rest, ""),
            };
            self.rest = rest;
            if seg.is_empty() {
                continue;
            }
            return Some(seg.split_once('=').unwrap_or((seg, "")));
        }
    }
}

/// Whether a raw (possibly escaped) name is the unescaped text `name`, ignoring ASCII case
/// (§19.1.4: escapes and case do not matter in parameter names).
#[inline]
fn name_is(raw: &str, name: &str) -> bool {
    if memchr(b'%', raw.as_bytes()).is_none() {
        return raw.eq_ignore_ascii_case(name);
    }
    let mut it = unescaped_bytes(raw);
    name.bytes()
        .all(|c| it.next().is_some_and(|d| d.eq_ignore_ascii_case(&c)))
        && it.next().is_none()
}

/// Whether two raw (possibly escaped) names are the same, ignoring ASCII case.
#[inline]
fn raw_names_eq(a: &str, b: &str) -> bool {
    eq_unescaped(a, b, true)
}

fn find_param<'b>(raw: &'b str, name: &str) -> Option<Option<&'b str>> {
    Params::new(raw)
        .find(|(n, _)| name_is(n, name))
        .map(|(_, v)| v)
}

// ---------------------------------------------------------------------------------------
// SipUri
// ---------------------------------------------------------------------------------------

/// A SIP or SIPS URI (RFC 3261 §19.1), borrowing its components from the parsed text.
///
/// `user`, `password`, parameters and headers are kept as written, escapes included;
/// accessors ending in `_unescaped` decode them.
#[derive(Debug, Clone)]
pub struct SipUri<'a> {
    scheme: Cow<'a, str>,
    secure: bool,
    user: Option<Cow<'a, str>>,
    password: Option<Cow<'a, str>>,
    host: Host<'a>,
    port: Option<u16>,
    /// `host [ ":" port ]` as written.
    hostport: Cow<'a, str>,
    /// Raw parameters, each starting with `;`.
    params: Cow<'a, str>,
    /// Raw headers after `?`, without the `?`; empty when there are none.
    headers: Cow<'a, str>,
}

impl<'a> SipUri<'a> {
    /// Parses a `sip:` or `sips:` URI leniently (see [`Uri::parse`]).
    pub fn parse(s: &'a str) -> Result<SipUri<'a>, UriError> {
        Self::parse_mode(s, Mode::Lenient)
    }

    /// Parses a `sip:` or `sips:` URI strictly (see [`Uri::parse_strict`]).
    pub fn parse_strict(s: &'a str) -> Result<SipUri<'a>, UriError> {
        Self::parse_mode(s, Mode::Strict)
    }

    fn parse_mode(s: &'a str, mode: Mode) -> Result<SipUri<'a>, UriError> {
        let colon = split_scheme(s)?;
        match classify_scheme(slice(s, 0, colon, UriErrorKind::InvalidScheme)?) {
            Kind::Sip => Self::parse_after_scheme(s, colon, false, mode),
            Kind::Sips => Self::parse_after_scheme(s, colon, true, mode),
            _ => Err(err(0, UriErrorKind::WrongScheme)),
        }
    }

    /// Parses everything after the scheme's `:` at `colon` (RFC 3261 §25.1 `SIP-URI`).
    fn parse_after_scheme(
        s: &'a str,
        colon: usize,
        secure: bool,
        mode: Mode,
    ) -> Result<SipUri<'a>, UriError> {
        let b = s.as_bytes();
        let scheme = slice(s, 0, colon, UriErrorKind::InvalidScheme)?;
        let mut pos = colon + 1;

        // userinfo = ( user / telephone-subscriber ) [ ":" password ] "@"
        // Neither the host, parameters nor headers may hold an unescaped '@', so the first
        // one ends the userinfo.
        let (mut user, mut password) = (None, None);
        if let Some(i) = super::scan::find_byte(b.get(pos..).unwrap_or_default(), b'@') {
            let at = pos + i;
            // No user class holds ':', so the scan stops at the password separator.
            let user_mask = UNRESERVED | USER_UNRES | mode.extra(LENIENT_EXTRA);
            let user_end = scan(b, pos, at, user_mask, mode)?;
            if user_end != at && b.get(user_end) != Some(&b':') {
                return Err(err(user_end, UriErrorKind::InvalidUser));
            }
            if user_end == pos {
                return Err(err(pos, UriErrorKind::EmptyUser));
            }
            user = Some(Cow::Borrowed(slice(
                s,
                pos,
                user_end,
                UriErrorKind::InvalidUser,
            )?));
            if user_end < at {
                let pass_mask =
                    UNRESERVED | PASS_EXTRA | mode.extra(LENIENT_EXTRA | USER_UNRES | PARAM_UNRES);
                let e = scan(b, user_end + 1, at, pass_mask, mode)?;
                if e != at {
                    return Err(err(e, UriErrorKind::InvalidPassword));
                }
                password = Some(Cow::Borrowed(slice(
                    s,
                    user_end + 1,
                    at,
                    UriErrorKind::InvalidPassword,
                )?));
            }
            pos = at + 1;
        }

        // hostport = host [ ":" port ]
        let host_start = pos;
        let (host, host_end) = parse_host_at(s, pos, mode)?;
        pos = host_end;
        let mut port = None;
        if b.get(pos) == Some(&b':') {
            let (p, end) = parse_port_at(b, pos + 1)?;
            port = Some(p);
            pos = end;
        }
        let hostport = slice(s, host_start, pos, UriErrorKind::InvalidHost)?;

        // uri-parameters = *( ";" uri-parameter )
        let params_start = pos;
        if b.get(pos) == Some(&b';') {
            pos = scan_params(b, pos, mode, true)?;
        }
        let params = slice(s, params_start, pos, UriErrorKind::InvalidParam)?;

        // [ headers ]
        let headers = match b.get(pos) {
            None => "",
            Some(b'?') => {
                scan_headers(b, pos + 1, mode)?;
                s.get(pos + 1..).unwrap_or_default()
            }
            Some(_) => return Err(err(pos, UriErrorKind::UnexpectedChar)),
        };

        Ok(SipUri {
            scheme: Cow::Borrowed(scheme),
            secure,
            user,
            password,
            host,
            port,
            hostport: Cow::Borrowed(hostport),
            params: Cow::Borrowed(params),
            headers: Cow::Borrowed(headers),
        })
    }

    /// A `sip:` URI with only a host (RFC 3261 §19.1.1). A [`Host::Domain`] is written as
    /// given: build it with [`Host::parse`] or use [`SipUri::parse_host`] for text that is
    /// not known to be a valid host name.
    pub fn new(host: Host<'a>) -> SipUri<'a> {
        let hostport = host.to_cow();
        SipUri {
            scheme: Cow::Borrowed("sip"),
            secure: false,
            user: None,
            password: None,
            host,
            port: None,
            hostport,
            params: Cow::Borrowed(""),
            headers: Cow::Borrowed(""),
        }
    }

    /// A `sip:` URI from strictly valid `host [ ":" port ]` text (RFC 3261 §25.1
    /// `hostport`), e.g. `"example.com:5070"` or `"[2001:db8::1]"`. Borrows from `s`.
    pub fn parse_host(s: &'a str) -> Result<SipUri<'a>, UriError> {
        let b = s.as_bytes();
        let (host, mut pos) = parse_host_at(s, 0, Mode::Strict)?;
        let mut port = None;
        if b.get(pos) == Some(&b':') {
            let (p, end) = parse_port_at(b, pos + 1)?;
            port = Some(p);
            pos = end;
        }
        if pos != s.len() {
            return Err(err(pos, UriErrorKind::UnexpectedChar));
        }
        let mut uri = SipUri::new(host);
        uri.port = port;
        uri.hostport = Cow::Borrowed(s);
        Ok(uri)
    }

    /// Copies every borrowed component so the URI outlives the parsed text.
    pub fn into_owned(self) -> SipUri<'static> {
        SipUri {
            scheme: to_owned_cow(self.scheme),
            secure: self.secure,
            user: self.user.map(to_owned_cow),
            password: self.password.map(to_owned_cow),
            host: self.host.into_owned(),
            port: self.port,
            hostport: to_owned_cow(self.hostport),
            params: to_owned_cow(self.params),
            headers: to_owned_cow(self.headers),
        }
    }

    /// Whether this is a SIPS URI (RFC 3261 §19.1).
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// `"sips"` or `"sip"`, in lower case whatever the original spelling.
    pub fn scheme(&self) -> &'static str {
        if self.secure { "sips" } else { "sip" }
    }

    /// The user part as written, escapes kept (RFC 3261 §19.1.1 `user`).
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The user part with `%HH` escapes decoded (§19.1.2). A `%` that does not start an escape
    /// (lenient parse) is kept, and bytes that are not UTF-8 become U+FFFD. Borrows when the
    /// user holds no `%`.
    pub fn user_unescaped(&self) -> Option<Cow<'_, str>> {
        self.user.as_deref().map(escape::unescape_lossy)
    }

    /// The password as written, escapes kept (§19.1.1; its use is NOT RECOMMENDED).
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The password with escapes decoded, as [`SipUri::user_unescaped`] does.
    pub fn password_unescaped(&self) -> Option<Cow<'_, str>> {
        self.password.as_deref().map(escape::unescape_lossy)
    }

    /// The host (RFC 3261 §19.1.1).
    pub fn host(&self) -> &Host<'a> {
        &self.host
    }

    /// The explicit port, if any (§19.1.1). An absent port is not the same as 5060 (§19.1.4).
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The port, or the default for the scheme when absent: 5061 for SIPS, else 5060
    /// (RFC 3261 §19.1.2, RFC 3263 §4.2).
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(if self.secure { 5061 } else { 5060 })
    }

    /// `host [ ":" port ]` as written (IPv6 in brackets).
    pub fn host_port(&self) -> &str {
        &self.hostport
    }

    /// The raw parameters, each starting with `;` (e.g. `";transport=tcp;lr"`), or `""`.
    pub fn params_raw(&self) -> &str {
        &self.params
    }

    /// Iterates over the parameters as written (RFC 3261 §19.1.1).
    pub fn params(&self) -> Params<'_> {
        Params::new(&self.params)
    }

    /// The first parameter called `name` (unescaped text; ASCII case and escapes in the URI's
    /// parameter names are ignored):
    /// `None` if absent, `Some(None)` for a flag such as `lr`, `Some(Some(raw_value))`.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }

    /// Whether a parameter called `name` is present.
    pub fn has_param(&self, name: &str) -> bool {
        self.param(name).is_some()
    }

    fn param_value(&self, name: &str) -> Option<&str> {
        self.param(name).flatten()
    }

    /// The `transport` parameter value as written (§19.1.1).
    pub fn transport(&self) -> Option<&str> {
        self.param_value("transport")
    }

    /// The `transport` parameter as a known [`Transport`] (`udp`, `tcp`, `tls`, `sctp`,
    /// `ws`, `wss`, any case); `None` when absent or unknown.
    pub fn transport_kind(&self) -> Option<Transport> {
        self.transport().and_then(Transport::from_via_token)
    }

    /// The `maddr` parameter value as written (§19.1.1).
    pub fn maddr(&self) -> Option<&str> {
        self.param_value("maddr")
    }

    /// The `user` parameter value (`phone`, `ip`, ...) as written (§19.1.1).
    pub fn user_param(&self) -> Option<&str> {
        self.param_value("user")
    }

    /// The `method` parameter value as written (§19.1.1).
    pub fn method(&self) -> Option<&str> {
        self.param_value("method")
    }

    /// The `ttl` parameter (`1*3DIGIT`, 0–255, §25.1); `None` when absent or not a valid ttl.
    pub fn ttl(&self) -> Option<u8> {
        let v = self.param_value("ttl")?;
        if v.is_empty() || v.len() > 3 || !v.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        v.parse().ok()
    }

    /// Whether the loose-routing `lr` parameter is present (§19.1.1, §16.12).
    pub fn lr(&self) -> bool {
        self.has_param("lr")
    }

    /// The raw headers after `?`, without it (e.g. `"subject=project%20x&priority=urgent"`),
    /// or `""`.
    pub fn headers_raw(&self) -> &str {
        &self.headers
    }

    /// Iterates over the headers as `(name, value)` pairs as written (§19.1.1).
    pub fn headers(&self) -> Headers<'_> {
        Headers {
            rest: &self.headers,
        }
    }

    /// The value of the first header called `name` (unescaped text; case and escapes in the
    /// URI's header names are ignored), as written.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers()
            .find(|(n, _)| name_is(n, name))
            .map(|(_, v)| v)
    }

    /// The host part of `hostport` (without the port), keeping the borrow when possible.
    fn host_text(&self) -> Cow<'a, str> {
        fn strip(hp: &str, has_port: bool) -> &str {
            if has_port {
                hp.rsplit_once(':').map_or(hp, |(h, _)| h)
            } else {
                hp
            }
        }
        match &self.hostport {
            Cow::Borrowed(hp) => Cow::Borrowed(strip(hp, self.port.is_some())),
            Cow::Owned(hp) => Cow::Owned(strip(hp, self.port.is_some()).to_owned()),
        }
    }

    fn set_hostport(&mut self, host: Cow<'a, str>) {
        self.hostport = match self.port {
            Some(p) => Cow::Owned(format!("{host}:{p}")),
            None => host,
        };
    }

    /// Makes this a SIPS (`true`) or SIP (`false`) URI (§19.1).
    pub fn with_secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self.scheme = Cow::Borrowed(if secure { "sips" } else { "sip" });
        self
    }

    /// Replaces the host, keeping the port. See [`SipUri::new`] about domain names.
    pub fn with_host(mut self, host: Host<'a>) -> Self {
        let text = host.to_cow();
        self.host = host;
        self.set_hostport(text);
        self
    }

    /// Sets (`Some`) or removes (`None`) the port.
    pub fn with_port(mut self, port: Option<u16>) -> Self {
        let host = self.host_text();
        self.port = port;
        self.set_hostport(host);
        self
    }

    /// Sets the user from unescaped text, escaping what `user` does not allow (§19.1.2,
    /// [`escape::escape_user`]). An empty user removes the userinfo (user and password),
    /// since `user` cannot be empty (§25.1).
    pub fn with_user(mut self, user: impl Into<Cow<'a, str>>) -> Self {
        let user = user.into();
        if user.is_empty() {
            self.user = None;
            self.password = None;
        } else {
            self.user = Some(escape_cow(user, escape::escape_user));
        }
        self
    }

    /// Sets or removes the password from unescaped text ([`escape::escape_password`]).
    /// `password` only exists after a user (§25.1 `userinfo`), so without a user this does
    /// nothing: set the user first.
    pub fn with_password(mut self, password: Option<impl Into<Cow<'a, str>>>) -> Self {
        if self.user.is_some() {
            self.password = password.map(|p| escape_cow(p.into(), escape::escape_password));
        }
        self
    }

    /// Sets parameter `name` (unescaped text) to `value`, replacing any parameter of that
    /// name; `None` or an empty value makes a flag parameter such as `lr`. Names and values
    /// are escaped with [`escape::escape_param`]. An empty name cannot be written
    /// (`pname = 1*paramchar`) and leaves the URI unchanged.
    pub fn with_param(mut self, name: &str, value: Option<&str>) -> Self {
        if name.is_empty() {
            return self;
        }
        let mut out = remove_params(&self.params, name);
        out.push(';');
        out.push_str(&escape::escape_param(name));
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            out.push('=');
            out.push_str(&escape::escape_param(v));
        }
        self.params = Cow::Owned(out);
        self
    }

    /// Removes every parameter called `name` (case and escapes ignored).
    pub fn without_param(mut self, name: &str) -> Self {
        if self.has_param(name) {
            self.params = Cow::Owned(remove_params(&self.params, name));
        }
        self
    }

    /// Appends header `name=value` (unescaped text, escaped with [`escape::escape_header`]).
    /// An empty name cannot be written (`hname = 1*(...)`) and leaves the URI unchanged.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if name.is_empty() {
            return self;
        }
        let mut out = self.headers.into_owned();
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&escape::escape_header(name));
        out.push('=');
        out.push_str(&escape::escape_header(value));
        self.headers = Cow::Owned(out);
        self
    }

    /// Removes all headers, as needed for a Request-URI (RFC 3261 §19.1.5).
    pub fn without_headers(mut self) -> Self {
        self.headers = Cow::Borrowed("");
        self
    }
}

/// Raw parameters without those called `name`, as an owned string.
fn remove_params(raw: &str, name: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 16);
    for seg in raw.split(';').filter(|s| !s.is_empty()) {
        let n = seg.split_once('=').map_or(seg, |(n, _)| n);
        if !name_is(n, name) {
            out.push(';');
            out.push_str(seg);
        }
    }
    out
}

/// Escapes `c` with `f`, borrowing or reusing the allocation when nothing changes.
fn escape_cow<'a>(c: Cow<'a, str>, f: for<'x> fn(&'x str) -> Cow<'x, str>) -> Cow<'a, str> {
    match c {
        Cow::Borrowed(s) => f(s),
        Cow::Owned(s) => {
            let escaped = match f(&s) {
                Cow::Owned(e) => Some(e),
                Cow::Borrowed(_) => None,
            };
            Cow::Owned(escaped.unwrap_or(s))
        }
    }
}

impl fmt::Display for SipUri<'_> {
    /// Writes the URI; unchanged parsed URIs come out byte-identical to their input.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.scheme)?;
        f.write_str(":")?;
        if let Some(user) = &self.user {
            f.write_str(user)?;
            if let Some(pw) = &self.password {
                f.write_str(":")?;
                f.write_str(pw)?;
            }
            f.write_str("@")?;
        }
        f.write_str(&self.hostport)?;
        f.write_str(&self.params)?;
        if !self.headers.is_empty() {
            f.write_str("?")?;
            f.write_str(&self.headers)?;
        }
        Ok(())
    }
}

/// `(None, None)`, or both present and equal once unescaped.
fn opt_value_eq(a: Option<&str>, b: Option<&str>, ignore_case: bool) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => eq_unescaped(x, y, ignore_case),
        _ => false,
    }
}

/// Parameters that never match when present in only one URI (§19.1.4).
const SIP_STRONG_PARAMS: [&str; 5] = ["user", "ttl", "method", "maddr", "transport"];

fn sip_params_eq(a: &str, b: &str) -> bool {
    if a.is_empty() && b.is_empty() {
        return true;
    }
    for name in SIP_STRONG_PARAMS {
        match (find_param(a, name), find_param(b, name)) {
            (None, None) => {}
            (Some(x), Some(y)) if opt_value_eq(x, y, true) => {}
            _ => return false,
        }
    }
    sip_other_params_match(a, b) && sip_other_params_match(b, a)
}

/// Every other parameter of `a` whose name `b` also has must match one of `b`'s values.
fn sip_other_params_match(a: &str, b: &str) -> bool {
    for (n, v) in Params::new(a) {
        if SIP_STRONG_PARAMS.iter().any(|s| name_is(n, s)) {
            continue;
        }
        let mut seen = false;
        let mut matched = false;
        for (m, w) in Params::new(b) {
            if raw_names_eq(n, m) {
                seen = true;
                if opt_value_eq(v, w, true) {
                    matched = true;
                    break;
                }
            }
        }
        if seen && !matched {
            return false;
        }
    }
    true
}

/// Every header of `a` must have an equal header in `b` (§19.1.4: headers are never
/// ignored). Names ignore case; values compare exactly once unescaped, since §19.1.4 defers
/// to each header field's own rules and exact comparison never matches wrongly.
fn headers_subset(a: &str, b: &str) -> bool {
    Headers { rest: a }.all(|(n, v)| {
        Headers { rest: b }.any(|(m, w)| eq_unescaped(n, m, true) && eq_unescaped(v, w, false))
    })
}

impl<'b> PartialEq<SipUri<'b>> for SipUri<'_> {
    /// RFC 3261 §19.1.4: same scheme; user and password equal byte for byte once unescaped;
    /// hosts equal ignoring case (addresses by value); ports both absent or equal; `user`,
    /// `ttl`, `method`, `maddr` and `transport` parameters present in both with equal values
    /// or in neither; other parameters equal when present in both; the same headers in both.
    /// Parameter names and values ignore case; escaped and unescaped characters are equal.
    ///
    /// This relation is not transitive (§19.1.4 says so), which is why `SipUri` is not `Eq`.
    fn eq(&self, o: &SipUri<'b>) -> bool {
        self.secure == o.secure
            && self.host == o.host
            && self.port == o.port
            && opt_value_eq(self.user.as_deref(), o.user.as_deref(), false)
            && opt_value_eq(self.password.as_deref(), o.password.as_deref(), false)
            && sip_params_eq(&self.params, &o.params)
            && headers_subset(&self.headers, &o.headers)
            && headers_subset(&o.headers, &self.headers)
    }
}

// ---------------------------------------------------------------------------------------
// TelUri
// ---------------------------------------------------------------------------------------

/// A tel URI (RFC 3966): a global (`+`) or local number and its parameters.
#[derive(Debug, Clone)]
pub struct TelUri<'a> {
    scheme: Cow<'a, str>,
    /// The number as written, visual separators kept, without the leading `+`.
    number: Cow<'a, str>,
    global: bool,
    /// Raw parameters, each starting with `;`.
    params: Cow<'a, str>,
}

impl<'a> TelUri<'a> {
    /// Parses a tel URI leniently (see [`Uri::parse`]).
    pub fn parse(s: &'a str) -> Result<TelUri<'a>, UriError> {
        Self::parse_mode(s, Mode::Lenient)
    }

    /// Parses a tel URI following RFC 3966 §3 exactly.
    pub fn parse_strict(s: &'a str) -> Result<TelUri<'a>, UriError> {
        Self::parse_mode(s, Mode::Strict)
    }

    fn parse_mode(s: &'a str, mode: Mode) -> Result<TelUri<'a>, UriError> {
        let colon = split_scheme(s)?;
        match classify_scheme(slice(s, 0, colon, UriErrorKind::InvalidScheme)?) {
            Kind::Tel => Self::parse_after_scheme(s, colon, mode),
            _ => Err(err(0, UriErrorKind::WrongScheme)),
        }
    }

    /// Parses `telephone-subscriber` after the `:` at `colon` (RFC 3966 §3).
    fn parse_after_scheme(s: &'a str, colon: usize, mode: Mode) -> Result<TelUri<'a>, UriError> {
        let b = s.as_bytes();
        let scheme = slice(s, 0, colon, UriErrorKind::InvalidScheme)?;
        let mut pos = colon + 1;
        let global = b.get(pos) == Some(&b'+');
        if global {
            pos += 1;
        }
        let start = pos;
        let mut digits = 0usize;
        while let Some(&c) = b.get(pos) {
            if escape::is_visual_separator(c) {
                pos += 1;
                continue;
            }
            let ok = match (mode, global) {
                // global-number-digits = "+" *phonedigit DIGIT *phonedigit
                (Mode::Strict, true) => c.is_ascii_digit(),
                // local-number-digits = *phonedigit-hex (HEXDIG / "*" / "#") *phonedigit-hex
                (Mode::Strict, false) => c.is_ascii_hexdigit() || c == b'*' || c == b'#',
                (Mode::Lenient, _) => {
                    c.is_ascii_hexdigit() || matches!(c, b'*' | b'#' | b'p' | b'P' | b'w' | b'W')
                }
            };
            if !ok {
                break;
            }
            digits += 1;
            pos += 1;
        }
        if digits == 0 {
            return Err(err(start, UriErrorKind::EmptyNumber));
        }
        let number = slice(s, start, pos, UriErrorKind::InvalidNumber)?;
        match b.get(pos) {
            None | Some(b';') => {}
            Some(_) => return Err(err(pos, UriErrorKind::InvalidNumber)),
        }
        let params_start = pos;
        let end = scan_tel_params(s, pos, mode, global)?;
        if end != s.len() {
            return Err(err(end, UriErrorKind::InvalidParam));
        }
        Ok(TelUri {
            scheme: Cow::Borrowed(scheme),
            number: Cow::Borrowed(number),
            global,
            params: Cow::Borrowed(s.get(params_start..).unwrap_or_default()),
        })
    }

    /// Copies every borrowed component so the URI outlives the parsed text.
    pub fn into_owned(self) -> TelUri<'static> {
        TelUri {
            scheme: to_owned_cow(self.scheme),
            number: to_owned_cow(self.number),
            global: self.global,
            params: to_owned_cow(self.params),
        }
    }

    /// Whether the number is global (`+` and E.164 digits, RFC 3966 §5.1.4).
    pub fn is_global(&self) -> bool {
        self.global
    }

    /// The number as written, visual separators kept, without the leading `+`.
    pub fn number(&self) -> &str {
        &self.number
    }

    /// The number without visual separators (`-`, `.`, `(`, `)`, RFC 3966 §5.1.1) and without
    /// the `+`. Borrows when there is nothing to remove.
    pub fn number_digits(&self) -> Cow<'_, str> {
        if self.number.bytes().any(escape::is_visual_separator) {
            Cow::Owned(
                self.number
                    .chars()
                    .filter(|c| !c.is_ascii() || !escape::is_visual_separator(*c as u8))
                    .collect(),
            )
        } else {
            Cow::Borrowed(&self.number)
        }
    }

    /// The raw parameters, each starting with `;`, or `""`.
    pub fn params_raw(&self) -> &str {
        &self.params
    }

    /// Iterates over the parameters as written.
    pub fn params(&self) -> Params<'_> {
        Params::new(&self.params)
    }

    /// The first parameter called `name` (case ignored): `None` if absent, `Some(None)` for a
    /// flag, `Some(Some(raw_value))`.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }

    /// The `phone-context` of a local number (RFC 3966 §5.1.5), as written.
    pub fn phone_context(&self) -> Option<&str> {
        self.param("phone-context").flatten()
    }

    /// The `ext` extension (RFC 3966 §5.3), as written.
    pub fn extension(&self) -> Option<&str> {
        self.param("ext").flatten()
    }

    /// The `isub` ISDN subaddress (RFC 3966 §5.2), as written.
    pub fn isdn_subaddress(&self) -> Option<&str> {
        self.param("isub").flatten()
    }
}

/// Scans tel parameters (RFC 3966 §3 `par`, `context`) from `pos`; returns where it stopped.
fn scan_tel_params(s: &str, mut pos: usize, mode: Mode, global: bool) -> Result<usize, UriError> {
    let b = s.as_bytes();
    let len = b.len();
    // pname = 1*( alphanum / "-" ): scanned as paramchar, then checked in strict mode.
    let name_mask = UNRESERVED | PARAM_UNRES | mode.extra(LENIENT_EXTRA | AT);
    // isub = 1*uric: every uric but ';' (checked per parameter in strict mode).
    let value_mask = UNRESERVED | PARAM_UNRES | RESERVED_NO_SEMI | mode.extra(LENIENT_EXTRA);
    let mut has_context = false;
    while b.get(pos) == Some(&b';') {
        pos += 1;
        let name_start = pos;
        let name_end = scan(b, pos, len, name_mask, mode)?;
        if name_end == name_start {
            match (mode, b.get(pos)) {
                (Mode::Lenient, None | Some(b';')) => continue,
                (_, None | Some(b';' | b'=')) => {
                    return Err(err(pos, UriErrorKind::EmptyParamName));
                }
                _ => return Err(err(pos, UriErrorKind::InvalidParam)),
            }
        }
        let name = slice(s, name_start, name_end, UriErrorKind::InvalidParam)?;
        if mode == Mode::Strict
            && let Some(i) = name
                .bytes()
                .position(|c| !(c.is_ascii_alphanumeric() || c == b'-'))
        {
            return Err(err(name_start + i, UriErrorKind::InvalidParam));
        }
        pos = name_end;
        let mut value = None;
        if b.get(pos) == Some(&b'=') {
            let value_start = pos + 1;
            let value_end = scan(b, value_start, len, value_mask, mode)?;
            if value_end == value_start
                && mode == Mode::Strict
                && matches!(b.get(value_end), None | Some(b';'))
            {
                return Err(err(value_start, UriErrorKind::EmptyParamValue));
            }
            value = Some((
                value_start,
                slice(s, value_start, value_end, UriErrorKind::InvalidParam)?,
            ));
            pos = value_end;
        }
        match b.get(pos) {
            None | Some(b';') => {}
            Some(_) => return Err(err(pos, UriErrorKind::InvalidParam)),
        }
        let is_context = name.eq_ignore_ascii_case("phone-context");
        has_context |= is_context;
        if mode == Mode::Strict {
            validate_tel_param(name, name_end, value, is_context)?;
        }
    }
    if mode == Mode::Strict {
        if global && has_context {
            return Err(err(len, UriErrorKind::UnexpectedPhoneContext));
        }
        if !global && !has_context {
            return Err(err(len, UriErrorKind::MissingPhoneContext));
        }
    }
    Ok(pos)
}

/// `reserved` without `;` (`/ ? : @ & = + $ , [ ]`), for tel `isub` values.
const RESERVED_NO_SEMI: u32 = AT | EQ | HNV_UNRES | PASS_EXTRA;

/// Strict per-parameter checks of RFC 3966 §3.
fn validate_tel_param(
    name: &str,
    name_end: usize,
    value: Option<(usize, &str)>,
    is_context: bool,
) -> Result<(), UriError> {
    let Some((at, v)) = value else {
        // ";isub", ";ext" and ";phone-context" need a value; other parameters may be flags.
        if is_context || name.eq_ignore_ascii_case("isub") || name.eq_ignore_ascii_case("ext") {
            return Err(err(name_end, UriErrorKind::EmptyParamValue));
        }
        return Ok(());
    };
    let vb = v.as_bytes();
    if is_context {
        // descriptor = domainname / global-number-digits
        let ok = match vb.split_first() {
            Some((b'+', rest)) => {
                rest.iter().any(u8::is_ascii_digit)
                    && rest
                        .iter()
                        .all(|&c| c.is_ascii_digit() || escape::is_visual_separator(c))
            }
            _ => validate_hostname(vb).is_ok(),
        };
        if !ok {
            return Err(err(at, UriErrorKind::InvalidPhoneContext));
        }
    } else if name.eq_ignore_ascii_case("ext") {
        // extension = ";ext=" 1*phonedigit
        if let Some(i) = vb
            .iter()
            .position(|&c| !(c.is_ascii_digit() || escape::is_visual_separator(c)))
        {
            return Err(err(at + i, UriErrorKind::InvalidParam));
        }
    } else if !name.eq_ignore_ascii_case("isub") {
        // pvalue = 1*paramchar
        if let Some(i) = vb
            .iter()
            .position(|&c| c != b'%' && !escape::is_param_char(c))
        {
            return Err(err(at + i, UriErrorKind::InvalidParam));
        }
    }
    Ok(())
}

/// Bytes of a tel value normalized for comparison: unescaped, lower case, and without visual
/// separators when `strip_separators`.
fn tel_norm(v: &str, strip_separators: bool) -> impl Iterator<Item = u8> + '_ {
    unescaped_bytes(v)
        .filter(move |&c| !(strip_separators && escape::is_visual_separator(c)))
        .map(|c| c.to_ascii_lowercase())
}

/// Whether the value of tel parameter `name` is compared without visual separators: `ext`,
/// and a `phone-context` that is a global number (RFC 3966 §4, §5.1.5).
fn tel_strips(name: &str, v: &str) -> bool {
    name_is(name, "ext") || (name_is(name, "phone-context") && v.starts_with('+'))
}

fn tel_value_eq(na: &str, a: Option<&str>, nb: &str, b: Option<&str>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => tel_norm(x, tel_strips(na, x)).eq(tel_norm(y, tel_strips(nb, y))),
        _ => false,
    }
}

/// Every parameter of `a` has a parameter of the same name and equal value in `b`.
fn tel_params_subset(a: &str, b: &str) -> bool {
    Params::new(a)
        .all(|(n, v)| Params::new(b).any(|(m, w)| raw_names_eq(n, m) && tel_value_eq(n, v, m, w)))
}

impl fmt::Display for TelUri<'_> {
    /// Writes the URI; unchanged parsed URIs come out byte-identical to their input.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.scheme)?;
        f.write_str(if self.global { ":+" } else { ":" })?;
        f.write_str(&self.number)?;
        f.write_str(&self.params)
    }
}

impl<'b> PartialEq<TelUri<'b>> for TelUri<'_> {
    /// RFC 3966 §4: both global or both local; the numbers equal once visual separators are
    /// removed (hex digits ignore case); the same set of parameters in both, names and values
    /// ignoring case and escapes, `ext` and a global `phone-context` without separators.
    fn eq(&self, o: &TelUri<'b>) -> bool {
        self.global == o.global
            && tel_norm(&self.number, true).eq(tel_norm(&o.number, true))
            && tel_params_subset(&self.params, &o.params)
            && tel_params_subset(&o.params, &self.params)
    }
}

impl Eq for TelUri<'_> {}

impl Hash for TelUri<'_> {
    /// Hashes what `==` always requires equal: the global flag and the normalized number.
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u8(u8::from(self.global));
        for c in tel_norm(&self.number, true) {
            state.write_u8(c);
        }
        state.write_u8(0xff);
    }
}

// ---------------------------------------------------------------------------------------
// AbsoluteUri
// ---------------------------------------------------------------------------------------

/// Any other absolute URI (RFC 3261 §25.1 `absoluteURI`), e.g. `mailto:`, `http:`, `urn:`,
/// kept as scheme and opaque rest.
#[derive(Debug, Clone)]
pub struct AbsoluteUri<'a> {
    scheme: Cow<'a, str>,
    rest: Cow<'a, str>,
}

impl<'a> AbsoluteUri<'a> {
    /// Parses `scheme ":" rest` leniently: the rest may hold any printable character but
    /// `<`, `>` and space, and bare `%`.
    pub fn parse(s: &'a str) -> Result<AbsoluteUri<'a>, UriError> {
        Self::parse_after_scheme(s, split_scheme(s)?, Mode::Lenient)
    }

    /// Parses `scheme ":" 1*( reserved / unreserved / escaped )` (RFC 2396 §3, as referenced
    /// by RFC 3261 §25.1; no fragment).
    pub fn parse_strict(s: &'a str) -> Result<AbsoluteUri<'a>, UriError> {
        Self::parse_after_scheme(s, split_scheme(s)?, Mode::Strict)
    }

    fn parse_after_scheme(
        s: &'a str,
        colon: usize,
        mode: Mode,
    ) -> Result<AbsoluteUri<'a>, UriError> {
        let b = s.as_bytes();
        let start = colon + 1;
        if start >= b.len() {
            return Err(err(start, UriErrorKind::EmptyOpaque));
        }
        let mask = UNRESERVED | RESERVED | mode.extra(LENIENT_EXTRA);
        let end = scan(b, start, b.len(), mask, mode)?;
        if end != b.len() {
            return Err(err(end, UriErrorKind::InvalidChar));
        }
        Ok(AbsoluteUri {
            scheme: Cow::Borrowed(slice(s, 0, colon, UriErrorKind::InvalidScheme)?),
            rest: Cow::Borrowed(s.get(start..).unwrap_or_default()),
        })
    }

    /// Copies every borrowed component so the URI outlives the parsed text.
    pub fn into_owned(self) -> AbsoluteUri<'static> {
        AbsoluteUri {
            scheme: to_owned_cow(self.scheme),
            rest: to_owned_cow(self.rest),
        }
    }

    /// The scheme as written.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// Everything after the scheme's `:`, as written.
    pub fn rest(&self) -> &str {
        &self.rest
    }
}

impl fmt::Display for AbsoluteUri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.scheme)?;
        f.write_str(":")?;
        f.write_str(&self.rest)
    }
}

impl<'b> PartialEq<AbsoluteUri<'b>> for AbsoluteUri<'_> {
    /// Schemes ignore case; the rest compares byte for byte (RFC 3986 §6.2.1 simple string
    /// comparison; this crate does not know other schemes' rules).
    fn eq(&self, o: &AbsoluteUri<'b>) -> bool {
        self.scheme.eq_ignore_ascii_case(&o.scheme) && self.rest == o.rest
    }
}

impl Eq for AbsoluteUri<'_> {}

impl Hash for AbsoluteUri<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for b in self.scheme.bytes() {
            state.write_u8(b.to_ascii_lowercase());
        }
        state.write_u8(b':');
        state.write(self.rest.as_bytes());
    }
}

#[cfg(test)]
// `u == u` checks that the §19.1.4 relation is reflexive on every accepted input.
#[allow(clippy::eq_op)]
mod tests {
    use super::*;

    /// The one-pass check accepts only what `Uri::parse` accepts, and
    /// takes the usual Request-URIs: compared on the URIs below and on 300,000 strings
    /// built from pieces that sit at the edges of each rule.
    #[test]
    fn plain_sip_uris_are_a_subset_of_the_grammar() {
        for u in [
            "sip:bob@biloxi.example.com",
            "sip:bob@192.0.2.2",
            "sips:alice@atlanta.example.com:5061;transport=tls",
            "sip:192.0.2.1:5060",
            "sip:+15551234567;phone-context=example.com@gw.example.com;user=phone",
            "sip:h.example.com.;lr",
        ] {
            assert!(is_plain_sip_uri(u), "{u}");
            assert!(Uri::parse(u).is_ok(), "{u}");
        }
        let pieces = [
            "sip:",
            "sips:",
            "SIP:",
            "bob",
            "b%41b",
            "@",
            "@@",
            ":",
            ":5060",
            ":65535",
            ":65536",
            ":0",
            ":",
            "192.0.2.1",
            "1.2.3",
            "256.1.1.1",
            "01.2.3.4",
            "h",
            "-h",
            "h-",
            "a.b",
            "a..b",
            "9a",
            "a9",
            ".",
            ";",
            ";lr",
            ";x=",
            "=",
            ";=y",
            ";transport=udp",
            "?a=b",
            "[2001:db8::1]",
            "&",
            "+",
            "é",
            " ",
            "pw",
            "/",
            "a-b.c-d",
            "com.",
            "%20",
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        let mut plain = 0;
        for _ in 0..300_000 {
            let mut u = String::from(if next(2) == 0 { "sip:" } else { "sips:" });
            for _ in 0..next(6) {
                u.push_str(pieces[next(pieces.len())]);
            }
            if is_plain_sip_uri(&u) {
                plain += 1;
                assert!(Uri::parse(&u).is_ok(), "Uri::parse refuses {u:?}");
            }
        }
        assert!(plain > 10_000, "only {plain} plain URIs generated");
    }
    use UriErrorKind as K;
    use std::collections::hash_map::DefaultHasher;

    fn sip(s: &str) -> SipUri<'_> {
        match SipUri::parse_strict(s) {
            Ok(u) => u,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    fn lenient(s: &str) -> Uri<'_> {
        match Uri::parse(s) {
            Ok(u) => u,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[allow(clippy::ptr_arg)]
    fn borrowed(c: &Cow<'_, str>) -> bool {
        matches!(c, Cow::Borrowed(_))
    }

    fn all_borrowed(u: &SipUri<'_>) -> bool {
        borrowed(&u.scheme)
            && u.user.as_ref().is_none_or(borrowed)
            && u.password.as_ref().is_none_or(borrowed)
            && match &u.host {
                Host::Domain(d) => borrowed(d),
                _ => true,
            }
            && borrowed(&u.hostport)
            && borrowed(&u.params)
            && borrowed(&u.headers)
    }

    fn hash_of<T: Hash>(t: &T) -> u64 {
        let mut h = DefaultHasher::new();
        t.hash(&mut h);
        h.finish()
    }

    /// RFC 3261 §19.1.3: every example, with its components and byte-identical display.
    #[test]
    fn rfc3261_19_1_3_examples() {
        type Row = (
            &'static str,
            bool,
            Option<&'static str>,
            Option<&'static str>,
            &'static str,
            Option<u16>,
            &'static str,
            &'static str,
        );
        let table: [Row; 8] = [
            (
                "sip:alice@atlanta.com",
                false,
                Some("alice"),
                None,
                "atlanta.com",
                None,
                "",
                "",
            ),
            (
                "sip:alice:secretword@atlanta.com;transport=tcp",
                false,
                Some("alice"),
                Some("secretword"),
                "atlanta.com",
                None,
                ";transport=tcp",
                "",
            ),
            (
                "sips:alice@atlanta.com?subject=project%20x&priority=urgent",
                true,
                Some("alice"),
                None,
                "atlanta.com",
                None,
                "",
                "subject=project%20x&priority=urgent",
            ),
            (
                "sip:+1-212-555-1212:1234@gateway.com;user=phone",
                false,
                Some("+1-212-555-1212"),
                Some("1234"),
                "gateway.com",
                None,
                ";user=phone",
                "",
            ),
            (
                "sips:1212@gateway.com",
                true,
                Some("1212"),
                None,
                "gateway.com",
                None,
                "",
                "",
            ),
            (
                "sip:alice@192.0.2.4",
                false,
                Some("alice"),
                None,
                "192.0.2.4",
                None,
                "",
                "",
            ),
            (
                "sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com",
                false,
                None,
                None,
                "atlanta.com",
                None,
                ";method=REGISTER",
                "to=alice%40atlanta.com",
            ),
            (
                "sip:alice;day=tuesday@atlanta.com",
                false,
                Some("alice;day=tuesday"),
                None,
                "atlanta.com",
                None,
                "",
                "",
            ),
        ];
        for (text, secure, user, password, hostport, port, params, headers) in table {
            for u in [sip(text), SipUri::parse(text).unwrap()] {
                assert_eq!(u.is_secure(), secure, "{text}");
                assert_eq!(u.user(), user, "{text}");
                assert_eq!(u.password(), password, "{text}");
                assert_eq!(u.host_port(), hostport, "{text}");
                assert_eq!(u.port(), port, "{text}");
                assert_eq!(u.params_raw(), params, "{text}");
                assert_eq!(u.headers_raw(), headers, "{text}");
                assert_eq!(u.to_string(), text);
                assert!(all_borrowed(&u), "{text} allocated");
            }
        }
        let u = sip("sip:alice@192.0.2.4");
        assert_eq!(u.host(), &Host::Ipv4(Ipv4Addr::new(192, 0, 2, 4)));
        let u = sip("sips:alice@atlanta.com?subject=project%20x&priority=urgent");
        assert_eq!(
            u.headers().collect::<Vec<_>>(),
            [("subject", "project%20x"), ("priority", "urgent")]
        );
        assert_eq!(u.header("SUBJECT"), Some("project%20x"));
        assert_eq!(u.header("to"), None);
        assert_eq!(u.scheme(), "sips");
        assert_eq!(u.port_or_default(), 5061);
        let u = sip("sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com");
        assert_eq!(u.method(), Some("REGISTER"));
        assert_eq!(u.host(), &Host::Domain(Cow::Borrowed("atlanta.com")));
        assert_eq!(u.port_or_default(), 5060);
    }

    /// RFC 3261 §19.1.4: the equivalent and non-equivalent pairs, both ways round.
    #[test]
    fn rfc3261_19_1_4_comparison_table() {
        let table: [(&str, &str, bool); 13] = [
            (
                "sip:%61lice@atlanta.com;transport=TCP",
                "sip:alice@AtLanTa.CoM;Transport=tcp",
                true,
            ),
            (
                "sip:carol@chicago.com",
                "sip:carol@chicago.com;newparam=5",
                true,
            ),
            (
                "sip:carol@chicago.com",
                "sip:carol@chicago.com;security=on",
                true,
            ),
            (
                "sip:carol@chicago.com;newparam=5",
                "sip:carol@chicago.com;security=on",
                true,
            ),
            (
                "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
                "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com",
                true,
            ),
            (
                "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
                "sip:alice@atlanta.com?priority=urgent&subject=project%20x",
                true,
            ),
            (
                "SIP:ALICE@AtLanTa.CoM;Transport=udp",
                "sip:alice@AtLanTa.CoM;Transport=UDP",
                false,
            ),
            ("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060", false),
            (
                "sip:bob@biloxi.com",
                "sip:bob@biloxi.com;transport=udp",
                false,
            ),
            (
                "sip:bob@biloxi.com",
                "sip:bob@biloxi.com:6000;transport=tcp",
                false,
            ),
            (
                "sip:carol@chicago.com",
                "sip:carol@chicago.com?Subject=next%20meeting",
                false,
            ),
            ("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4", false),
            (
                "sip:carol@chicago.com;security=on",
                "sip:carol@chicago.com;security=off",
                false,
            ),
        ];
        for (a, b, equal) in table {
            let (x, y) = (sip(a), sip(b));
            assert_eq!(x == y, equal, "{a} vs {b}");
            assert_eq!(y == x, equal, "{b} vs {a}");
            assert_eq!(lenient(a) == lenient(b), equal, "Uri {a} vs {b}");
            assert!(x == x && y == y);
        }
    }

    #[test]
    fn comparison_details() {
        let ne = [
            ("sip:alice@a.com", "sips:alice@a.com"),
            ("sip:alice@a.com", "sip:Alice@a.com"),
            ("sip:alice:pw@a.com", "sip:alice:PW@a.com"),
            ("sip:alice:pw@a.com", "sip:alice@a.com"),
            ("sip:a.com", "sip:alice@a.com"),
            ("sip:a.com;maddr=239.255.255.1", "sip:a.com"),
            ("sip:a.com;ttl=15", "sip:a.com"),
            ("sip:a.com;method=INVITE", "sip:a.com"),
            ("sip:a.com;user=ip", "sip:a.com"),
            ("sip:a.com;x", "sip:a.com;x=1"),
            ("sip:a.com?h=1", "sip:a.com?h=1&h=2"),
            ("sip:a.com?subject=A", "sip:a.com?subject=a"),
            ("sip:a.com:5060", "sip:a.com:5061"),
            ("sip:[2001:db8::1]", "sip:[2001:db8::2]"),
            ("sip:a.com;x=1;x=2", "sip:a.com;x=2"),
        ];
        for (a, b) in ne {
            assert!(sip(a) != sip(b), "{a} == {b}");
            assert!(sip(b) != sip(a), "{b} == {a}");
        }
        let eq = [
            ("sip:a.com;lr", "sip:a.com"),
            ("sip:a.com;%6C%72", "sip:a.com;LR"),
            ("sip:a.com:5060", "sip:A.COM:05060"),
            ("sip:alice:p%77@a.com", "sip:alice:pw@a.com"),
            ("sip:a.com;maddr=X.example", "sip:a.com;MADDR=x.EXAMPLE"),
            ("sip:[2001:db8::10]", "sip:[2001:DB8:0:0::010]"),
            ("sip:a.com?To=x", "sip:a.com?to=x"),
            ("sip:a.com?to=%61", "sip:a.com?to=a"),
            ("sip:a.com;x=1;x=2", "sip:a.com;x=2;X=1"),
        ];
        for (a, b) in eq {
            assert!(sip(a) == sip(b), "{a} != {b}");
            assert!(sip(b) == sip(a), "{b} != {a}");
        }
        // Different kinds never match.
        assert!(lenient("sip:+12125551212@gw.com;user=phone") != lenient("tel:+12125551212"));
        assert!(lenient("urn:x") != lenient("sip:x"));
    }

    #[test]
    fn parameter_accessors() {
        let u = sip(
            "sip:p.example.com;transport=TCP;maddr=239.255.255.1;ttl=15;lr;user=phone;method=INVITE;x-y=%41b",
        );
        assert_eq!(u.transport(), Some("TCP"));
        assert_eq!(u.transport_kind(), Some(Transport::Tcp));
        assert_eq!(u.maddr(), Some("239.255.255.1"));
        assert_eq!(u.ttl(), Some(15));
        assert!(u.lr());
        assert_eq!(u.user_param(), Some("phone"));
        assert_eq!(u.method(), Some("INVITE"));
        assert_eq!(u.param("LR"), Some(None));
        assert_eq!(u.param("X-Y"), Some(Some("%41b")));
        assert_eq!(u.param("nope"), None);
        assert!(u.has_param("ttl") && !u.has_param("tt"));
        assert_eq!(
            u.params().collect::<Vec<_>>(),
            [
                ("transport", Some("TCP")),
                ("maddr", Some("239.255.255.1")),
                ("ttl", Some("15")),
                ("lr", None),
                ("user", Some("phone")),
                ("method", Some("INVITE")),
                ("x-y", Some("%41b")),
            ]
        );
        assert_eq!(sip("sip:a.com;ttl=256").ttl(), None);
        assert_eq!(sip("sip:a.com;ttl=0015").ttl(), None);
        assert_eq!(sip("sip:a.com;transport=foo").transport_kind(), None);
        assert!(!sip("sip:a.com").lr());
        // Lenient empty parameters are skipped by the iterator.
        let u = SipUri::parse("sip:a.com;;lr;").unwrap();
        assert_eq!(u.params().collect::<Vec<_>>(), [("lr", None)]);
        assert_eq!(u.to_string(), "sip:a.com;;lr;");
    }

    /// RFC 4475 §3.1.1.2, §3.1.1.3, §3.1.1.4, §3.1.1.10 and the unknown-scheme case.
    #[test]
    fn rfc4475_escaped_and_unusual_uris() {
        let u = sip("sip:sips%3Auser%40example.com@example.net");
        assert_eq!(u.user(), Some("sips%3Auser%40example.com"));
        assert_eq!(u.user_unescaped().unwrap(), "sips:user@example.com");
        assert_eq!(u.host_port(), "example.net");

        let u = sip("sip:%75se%72@example.com");
        assert_eq!(u.user_unescaped().unwrap(), "user");
        assert!(u == sip("sip:user@example.com"));

        let u = sip("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31");
        assert_eq!(u.user_unescaped().unwrap(), "caller");
        assert!(u.lr());
        assert_eq!(u.param("name"), Some(Some("v%61lue%25%34%31")));
        assert_eq!(escape::unescape("v%61lue%25%34%31").unwrap(), "value%41");

        let u = sip("sip:null-%00-null@example.com");
        assert_eq!(u.user_unescaped().unwrap(), "null-\0-null");

        let u = sip("sip:user;par=u%40example.net@example.com");
        assert_eq!(u.user(), Some("user;par=u%40example.net"));
        assert_eq!(u.host_port(), "example.com");
        assert_eq!(u.params_raw(), "");

        let u = sip("sip:1_unusual.URI~(to-test!)@example.com");
        assert_eq!(u.user(), Some("1_unusual.URI~(to-test!)"));

        let u = Uri::parse_strict("nobodyKnowsThisScheme:totallyopaquecontent").unwrap();
        let a = u.as_absolute().unwrap();
        assert_eq!(a.scheme(), "nobodyKnowsThisScheme");
        assert_eq!(a.rest(), "totallyopaquecontent");
        assert_eq!(u.to_string(), "nobodyKnowsThisScheme:totallyopaquecontent");

        // Escaped Route header in a URI (valid URI syntax; a Request-URI check is the
        // message layer's business).
        let u = sip("sip:user@example.com?Route=%3Csip:example.com%3E");
        assert_eq!(u.header("route"), Some("%3Csip:example.com%3E"));
    }

    /// RFC 5118 §4.1–§4.4, §4.9, §4.10 (and RFC 5954 §3 address comparison).
    #[test]
    fn rfc5118_ipv6_references() {
        let u = sip("sip:[2001:db8::10]");
        assert_eq!(u.host(), &Host::Ipv6("2001:db8::10".parse().unwrap()));
        assert_eq!(u.port(), None);

        // §4.3: the port is inside the brackets, so it is part of the address.
        let u = sip("sip:[2001:db8::10:5070]");
        assert_eq!(u.host(), &Host::Ipv6("2001:db8::10:5070".parse().unwrap()));
        assert_eq!(u.port(), None);
        assert_eq!(u.to_string(), "sip:[2001:db8::10:5070]");

        // §4.4: port outside the brackets.
        let u = sip("sip:user@[2001:db8::10]:5070;transport=udp");
        assert_eq!(u.host(), &Host::Ipv6("2001:db8::10".parse().unwrap()));
        assert_eq!(u.port(), Some(5070));
        assert_eq!(u.host_port(), "[2001:db8::10]:5070");
        assert!(u != sip("sip:user@[2001:db8::10:5070];transport=udp"));

        // §4.2: an unbracketed IPv6 address is invalid in both modes.
        for s in ["sip:user@2001:db8::10", "sip:2001:db8::10"] {
            assert_eq!(Uri::parse(s).unwrap_err().kind, K::InvalidIpv4, "{s}");
            assert!(Uri::parse_strict(s).is_err(), "{s}");
        }

        // §4.9: IPv4-mapped IPv6 address.
        let u = sip("sip:[::ffff:192.0.2.10]");
        assert_eq!(
            u.host(),
            &Host::Ipv6(Ipv4Addr::new(192, 0, 2, 10).to_ipv6_mapped())
        );

        // §4.10: the RFC 3261 ABNF bug; ":::" is no IPv6 address.
        assert_eq!(
            Uri::parse("sip:[2001:db8:::192.0.2.1]").unwrap_err(),
            err(5, K::InvalidIpv6)
        );
        assert!(Uri::parse_strict("sip:[2001:db8::192.0.2.1]").is_ok());

        // Unclosed and empty references.
        assert_eq!(
            Uri::parse("sip:[2001:db8::10").unwrap_err(),
            err(4, K::UnclosedIpv6)
        );
        assert_eq!(Uri::parse("sip:[]").unwrap_err(), err(5, K::InvalidIpv6));
        assert_eq!(
            Uri::parse("sip:[::1]x").unwrap_err(),
            err(9, K::UnexpectedChar)
        );

        // Spelling is kept; comparison is by value.
        let a = sip("sip:[2001:DB8::0010]:5060");
        assert_eq!(a.to_string(), "sip:[2001:DB8::0010]:5060");
        assert!(a == sip("sip:[2001:db8:0::10]:5060"));
        assert_eq!(a.maddr(), None);
        assert_eq!(
            sip("sip:a.com;maddr=[2001:db8::1]").maddr(),
            Some("[2001:db8::1]")
        );
    }

    /// RFC 3966 §6 examples and related forms.
    #[test]
    fn rfc3966_examples() {
        let t = TelUri::parse_strict("tel:+1-201-555-0123").unwrap();
        assert!(t.is_global());
        assert_eq!(t.number(), "1-201-555-0123");
        assert_eq!(t.number_digits(), "12015550123");
        assert_eq!(t.phone_context(), None);
        assert_eq!(t.to_string(), "tel:+1-201-555-0123");

        assert!(borrowed(&t.scheme) && borrowed(&t.number) && borrowed(&t.params));

        let t = TelUri::parse_strict("tel:7042;phone-context=example.com").unwrap();
        assert!(borrowed(&t.scheme) && borrowed(&t.number) && borrowed(&t.params));
        assert!(!t.is_global());
        assert_eq!(t.number(), "7042");
        assert!(matches!(t.number_digits(), Cow::Borrowed("7042")));
        assert_eq!(t.phone_context(), Some("example.com"));

        let t = TelUri::parse_strict("tel:863-1234;phone-context=+1-914-555").unwrap();
        assert_eq!(t.phone_context(), Some("+1-914-555"));
        assert_eq!(t.to_string(), "tel:863-1234;phone-context=+1-914-555");

        let t = TelUri::parse_strict("tel:+1-212-555-0101;ext=1234;isub=aa:12@x").unwrap();
        assert_eq!(t.extension(), Some("1234"));
        assert_eq!(t.isdn_subaddress(), Some("aa:12@x"));
        assert_eq!(t.param("EXT"), Some(Some("1234")));

        let t = TelUri::parse_strict("tel:*21#;phone-context=example.net").unwrap();
        assert_eq!(t.number(), "*21#");

        let t = TelUri::parse_strict("tel:+358-555-1234567;postd=pp22").unwrap();
        assert_eq!(t.params().collect::<Vec<_>>(), [("postd", Some("pp22"))]);

        let u = Uri::parse_strict("TEL:+1-201-555-0123").unwrap();
        assert_eq!(u.scheme(), "tel");
        assert_eq!(u.to_string(), "TEL:+1-201-555-0123");
        assert!(SipUri::parse("tel:+1").is_err());
        assert_eq!(TelUri::parse("sip:a").unwrap_err(), err(0, K::WrongScheme));
    }

    /// RFC 3966 §4 comparison rules.
    #[test]
    fn rfc3966_comparison() {
        let t = |s| TelUri::parse(s).unwrap();
        let eq = [
            ("tel:+1-201-555-0123", "tel:+12015550123"),
            ("tel:+1(201)555.0123", "tel:+12015550123"),
            (
                "tel:7042;phone-context=example.com",
                "tel:7042;phone-context=EXAMPLE.com",
            ),
            (
                "tel:863-1234;phone-context=+1-914-555",
                "tel:8631234;phone-context=+1914555",
            ),
            ("tel:+1234;a=1;b=2", "tel:+1234;B=2;a=1"),
            ("tel:+1234;ext=12-3", "tel:+1234;ext=123"),
            (
                "tel:ab12;phone-context=x.com",
                "tel:AB12;phone-context=x.com",
            ),
            ("tel:+1234;x=%41", "tel:+1234;x=a"),
        ];
        for (a, b) in eq {
            assert!(t(a) == t(b), "{a} != {b}");
            assert!(t(b) == t(a), "{b} != {a}");
            assert_eq!(hash_of(&t(a)), hash_of(&t(b)), "{a} / {b}");
        }
        let ne = [
            ("tel:+1234", "tel:1234;phone-context=+1"),
            ("tel:+1234", "tel:+1235"),
            ("tel:+1234", "tel:+1234;x=1"),
            ("tel:+1234;x=1", "tel:+1234;x=2"),
            (
                "tel:7042;phone-context=example.com",
                "tel:7042;phone-context=example.net",
            ),
            ("tel:+1234;isub=1", "tel:+1234;ext=1"),
            (
                "tel:1-2;phone-context=a.b-c.com",
                "tel:12;phone-context=a.bc.com",
            ),
        ];
        for (a, b) in ne {
            assert!(t(a) != t(b), "{a} == {b}");
            assert!(t(b) != t(a), "{b} == {a}");
        }
    }

    /// Inputs the lenient parser accepts (byte-identically) and the strict parser rejects.
    #[test]
    fn strict_versus_lenient() {
        let table: [(&str, usize, UriErrorKind); 25] = [
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
            (
                "tel:+1234;phone-context=example.com",
                35,
                K::UnexpectedPhoneContext,
            ),
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

    #[test]
    fn absolute_uris() {
        let u = AbsoluteUri::parse_strict("http://www.example.com/a?b=c").unwrap();
        assert!(borrowed(&u.scheme) && borrowed(&u.rest));
        assert_eq!(u.scheme(), "http");
        assert_eq!(u.rest(), "//www.example.com/a?b=c");
        assert_eq!(
            AbsoluteUri::parse_strict("urn:a%zz").unwrap_err(),
            err(5, K::InvalidEscape)
        );
        assert_eq!(AbsoluteUri::parse("urn:a%zz").unwrap().rest(), "a%zz");
        assert_eq!(
            AbsoluteUri::parse("mailto:<a>").unwrap_err(),
            err(7, K::InvalidChar)
        );
        let a = AbsoluteUri::parse("URN:X").unwrap();
        let b = AbsoluteUri::parse("urn:X").unwrap();
        assert!(a == b);
        assert_eq!(hash_of(&a), hash_of(&b));
        assert!(a != AbsoluteUri::parse("urn:x").unwrap());
        // A typed SIP parse failure does not fall back to an absolute URI.
        assert!(Uri::parse("sip:a b").is_err());
    }

    #[test]
    fn hosts() {
        assert_eq!(
            Host::parse("Example.COM").unwrap(),
            Host::Domain(Cow::Borrowed("example.com"))
        );
        assert_eq!(
            hash_of(&Host::parse("Example.COM").unwrap()),
            hash_of(&Host::parse("example.com").unwrap())
        );
        assert_eq!(
            Host::parse("[2001:db8::1]").unwrap(),
            Host::Ipv6("2001:db8::1".parse().unwrap())
        );
        assert_eq!(
            Host::parse("2001:db8::1").unwrap(),
            Host::Ipv6("2001:db8::1".parse().unwrap())
        );
        assert_eq!(
            Host::parse("192.0.2.1").unwrap(),
            Host::Ipv4(Ipv4Addr::new(192, 0, 2, 1))
        );
        assert_eq!(Host::parse("a_b.com").unwrap_err(), err(1, K::InvalidHost));
        assert_eq!(
            Host::parse("a.com:5060").unwrap_err(),
            err(5, K::InvalidHost)
        );
        assert_eq!(Host::parse("").unwrap_err(), err(0, K::MissingHost));
        assert_eq!(Host::parse("1::2::3").unwrap_err(), err(0, K::InvalidIpv6));
        assert!(Host::parse("a.com").unwrap() != Host::Ipv4(Ipv4Addr::LOCALHOST));
        assert!(Host::Ipv4(Ipv4Addr::LOCALHOST).is_ip());
        assert_eq!(Host::Ipv6("::1".parse().unwrap()).to_string(), "[::1]");
        assert_eq!(
            Host::parse("a.com").unwrap().into_owned().to_string(),
            "a.com"
        );
    }

    #[test]
    fn builders_write_valid_uris() {
        let u = SipUri::new(Host::parse("example.com").unwrap())
            .with_user("alice smith@home")
            .with_password(Some("p:w"))
            .with_port(Some(5070))
            .with_param("transport", Some("tcp"))
            .with_param("lr", None)
            .with_param("odd;name", Some("v=1"))
            .with_header("Subject", "hi there&more")
            .with_secure(true);
        let text = u.to_string();
        assert_eq!(
            text,
            "sips:alice%20smith%40home:p%3Aw@example.com:5070;transport=tcp;lr;odd%3Bname=v%3D1?Subject=hi%20there%26more"
        );
        let p = SipUri::parse_strict(&text).unwrap();
        assert!(p == u);
        assert_eq!(p.user_unescaped().unwrap(), "alice smith@home");
        assert_eq!(p.password_unescaped().unwrap(), "p:w");
        assert_eq!(p.param("odd;name"), Some(Some("v%3D1")));
        assert_eq!(p.port(), Some(5070));

        // Replacing and removing parameters, ports, hosts and headers.
        let u = sip("sip:bob@[2001:db8::1]:5060;transport=udp;lr?x=1")
            .with_param("TRANSPORT", Some("tls"))
            .without_param("lr")
            .with_port(None)
            .without_headers();
        assert_eq!(u.to_string(), "sip:bob@[2001:db8::1];TRANSPORT=tls");
        let u = u
            .with_port(Some(5061))
            .with_host(Host::Ipv4(Ipv4Addr::new(192, 0, 2, 1)));
        assert_eq!(u.to_string(), "sip:bob@192.0.2.1:5061;TRANSPORT=tls");
        let u = u.with_user("").with_secure(false).with_param("", Some("x"));
        assert_eq!(u.to_string(), "sip:192.0.2.1:5061;TRANSPORT=tls");
        assert_eq!(u.clone().with_header("", "v").to_string(), u.to_string());
        assert_eq!(
            u.clone().with_password(Some("ignored")).to_string(),
            u.to_string()
        );
        assert_eq!(
            u.with_user(String::from("a b"))
                .with_param("k", Some(""))
                .to_string(),
            "sip:a%20b@192.0.2.1:5061;TRANSPORT=tls;k"
        );

        // Builders keep borrows where nothing needs escaping.
        let u = SipUri::parse_host("example.com:5070")
            .unwrap()
            .with_user("alice");
        assert!(all_borrowed(&u));
        assert_eq!(u.to_string(), "sip:alice@example.com:5070");
        assert_eq!(
            SipUri::parse_host("example.com;x").unwrap_err(),
            err(11, K::UnexpectedChar)
        );
        assert_eq!(
            SipUri::new(Host::Ipv6("::1".parse().unwrap())).to_string(),
            "sip:[::1]"
        );
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
    fn hostname_grammar() {
        for ok in [
            "a",
            "a.",
            "a-b.c",
            "1a.b2",
            "x.y.z.example",
            "A1.B",
            "a--b.c",
        ] {
            assert_eq!(validate_hostname(ok.as_bytes()), Ok(()), "{ok}");
        }
        let bad = [
            ("", 0),
            (".", 0),
            ("a..b", 2),
            ("-a", 0),
            ("a-", 1),
            ("a-.b", 1),
            ("a.-b", 2),
            ("a.1b", 2),
            ("a.b_c", 3),
            ("a.b..", 4),
        ];
        for (text, at) in bad {
            assert_eq!(validate_hostname(text.as_bytes()), Err(at), "{text}");
        }
    }

    #[test]
    fn names_with_percent_are_looked_up_as_text() {
        let u = SipUri::parse_host("h.com")
            .unwrap()
            .with_param("a%b", Some("1"))
            .with_header("%00", "v");
        assert_eq!(u.params_raw(), ";a%25b=1");
        assert_eq!(u.param("a%b"), Some(Some("1")));
        assert_eq!(u.param("a%25b"), None);
        assert_eq!(u.header("%00"), Some("v"));
        assert_eq!(u.header("\0"), None);
        assert_eq!(u.to_string(), "sip:h.com;a%25b=1?%2500=v");
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
