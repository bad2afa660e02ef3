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
//!   `,` inside header values, and `:` `;` `?` `/` inside a password;
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
    self, AT, DOMAIN, EQ, HNV_UNRES, LENIENT_EXTRA, PARAM_UNRES, PASS_EXTRA, RESERVED, SCHEME,
    SEMI_COMMA, UNRESERVED, USER_UNRES, decode_at, eq_unescaped, has, unescaped_bytes,
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
    while pos < end {
        let Some(&c) = b.get(pos) else { break };
        if c == b'%' {
            if pos + 3 <= end && decode_at(b, pos).is_some() {
                pos += 3;
                continue;
            }
            if mode == Mode::Strict {
                return Err(err(pos, UriErrorKind::InvalidEscape));
            }
            pos += 1;
            continue;
        }
        if !has(c, mask) {
            break;
        }
        pos += 1;
    }
    Ok(pos)
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
    pub fn parse(s: &'a str) -> Result<Uri<'a>, UriError> {
        Self::parse_mode(s, Mode::Lenient)
    }

    /// Parses a URI following RFC 3261 §25.1 (with RFC 5954 §4.1) and RFC 3966 §3 exactly.
    pub fn parse_strict(s: &'a str) -> Result<Uri<'a>, UriError> {
        Self::parse_mode(s, Mode::Strict)
    }

    fn parse_mode(s: &'a str, mode: Mode) -> Result<Uri<'a>, UriError> {
        // Fast path for the overwhelmingly common scheme.
        let colon = match s.as_bytes().get(..4) {
            Some(p) if p.eq_ignore_ascii_case(b"sip:") => 3,
            _ => split_scheme(s)?,
        };
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
        if s.as_bytes().first() != Some(&b'[') && memchr(b':', s.as_bytes()).is_some() {
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

/// Checks RFC 3261 `hostname = *( domainlabel "." ) toplabel [ "." ]`. Returns the offset of
/// the first offending byte.
fn validate_hostname(text: &[u8]) -> Result<(), usize> {
    let body = text.strip_suffix(b".").unwrap_or(text);
    if body.is_empty() {
        return Err(0);
    }
    let mut start = 0;
    let mut last_start = 0;
    for label in body.split(|&c| c == b'.') {
        let (Some(&first), Some(&last)) = (label.first(), label.last()) else {
            return Err(start);
        };
        if !first.is_ascii_alphanumeric() {
            return Err(start);
        }
        if !last.is_ascii_alphanumeric() {
            return Err(start + label.len() - 1);
        }
        if let Some(i) = label
            .iter()
            .position(|&c| !(c.is_ascii_alphanumeric() || c == b'-'))
        {
            return Err(start + i);
        }
        last_start = start;
        start += label.len() + 1;
    }
    match body.get(last_start) {
        Some(c) if c.is_ascii_alphabetic() => Ok(()),
        _ => Err(last_start),
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
    let mut numeric = true;
    while let Some(&c) = b.get(end) {
        if !has(c, DOMAIN) {
            break;
        }
        numeric &= c.is_ascii_digit() || c == b'.';
        end += 1;
    }
    if end == pos {
        return Err(err(pos, UriErrorKind::MissingHost));
    }
    let text = slice(s, pos, end, UriErrorKind::InvalidHost)?;
    if numeric {
        return parse_ipv4(text.as_bytes())
            .map(|a| (Host::Ipv4(a), end))
            .ok_or(err(pos, UriErrorKind::InvalidIpv4));
    }
    match mode {
        Mode::Strict => validate_hostname(text.as_bytes())
            .map_err(|i| err(pos + i, UriErrorKind::InvalidHost))?,
        Mode::Lenient => {
            if !text.bytes().any(|c| c.is_ascii_alphanumeric()) {
                return Err(err(pos, UriErrorKind::InvalidHost));
            }
        }
    }
    Ok((Host::Domain(Cow::Borrowed(text)), end))
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
        let name_end = scan(b, pos, len, name_mask, mode)?;
        if name_end == pos {
            let next = b.get(pos);
            let empty_ok = mode == Mode::Lenient
                && (next.is_none() || next == Some(&b';') || (allow_query && next == Some(&b'?')));
            if empty_ok {
                continue;
            }
            return Err(err(pos, UriErrorKind::EmptyParamName));
        }
        pos = name_end;
        if b.get(pos) == Some(&b'=') {
            pos += 1;
            let value_end = scan(b, pos, len, value_mask, mode)?;
            if value_end == pos && mode == Mode::Strict {
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
                _ => return Err(err(pos, UriErrorKind::EmptyHeaderName)),
            }
        }
        pos = name_end;
        if b.get(pos) == Some(&b'=') {
            pos = scan(b, pos + 1, len, value_mask, mode)?;
        } else if mode == Mode::Strict {
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

/// Whether a raw (possibly escaped) name is `name`, ignoring ASCII case (§19.1.4: escapes
/// and case do not matter in parameter names).
#[inline]
fn name_is(raw: &str, name: &str) -> bool {
    eq_unescaped(raw, name, true)
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
        if let Some(i) = memchr(b'@', b.get(pos..).unwrap_or_default()) {
            let at = pos + i;
            let user_end = memchr(b':', b.get(pos..at).unwrap_or_default()).map_or(at, |c| pos + c);
            if user_end == pos {
                return Err(err(pos, UriErrorKind::EmptyUser));
            }
            let user_mask = UNRESERVED | USER_UNRES | mode.extra(LENIENT_EXTRA);
            let e = scan(b, pos, user_end, user_mask, mode)?;
            if e != user_end {
                return Err(err(e, UriErrorKind::InvalidUser));
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

    /// The first parameter called `name` (ASCII case and escapes in the name ignored):
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

    /// The value of the first header called `name` (case and escapes in the name ignored),
    /// as written.
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

    /// Sets or removes the password from unescaped text ([`escape::escape_password`]). A
    /// password is only written when there is a user.
    pub fn with_password(mut self, password: Option<impl Into<Cow<'a, str>>>) -> Self {
        self.password = password.map(|p| escape_cow(p.into(), escape::escape_password));
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
            if name_is(n, m) {
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
            if mode == Mode::Lenient && matches!(b.get(pos), None | Some(b';')) {
                continue;
            }
            return Err(err(pos, UriErrorKind::EmptyParamName));
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
            if value_end == value_start && mode == Mode::Strict {
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
        .all(|(n, v)| Params::new(b).any(|(m, w)| name_is(n, m) && tel_value_eq(n, v, m, w)))
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
