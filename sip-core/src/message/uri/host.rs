//! The host and port of a SIP URI (RFC 3261 §19.1.1, §25.1 `hostport`): the [`Host`] value
//! (a name, an IPv4 address or an IPv6 reference, RFC 5954 §4.1, RFC 5118), its comparison
//! and hash (§19.1.4: names ignore case, addresses compare by value), and the scanners for
//! `host`, `hostname` and `port` shared by the SIP and tel parsers.

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::{Ipv4Addr, Ipv6Addr};

use memchr::memchr;

use super::{Mode, UriError, UriErrorKind, err, slice, to_owned_cow};
use crate::message::escape::{ALNUM, CLASS, DOMAIN, NOT_IPV4};

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
    pub(super) fn to_cow(&self) -> Cow<'a, str> {
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
pub(super) fn parse_ipv4(text: &[u8]) -> Option<Ipv4Addr> {
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
pub(super) fn validate_hostname(text: &[u8]) -> Result<(), usize> {
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
pub(super) fn parse_host_at(
    s: &str,
    pos: usize,
    mode: Mode,
) -> Result<(Host<'_>, usize), UriError> {
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
    if mode == Mode::Lenient
        && let Some(host_end) = unbracketed_ipv6_end(b, pos)
    {
        // A lenient deviation: an IPv6 address without brackets, perhaps with a port glued
        // on after eight full groups (see the module documentation).
        let addr = slice(s, pos, host_end, UriErrorKind::InvalidIpv6)?
            .parse::<Ipv6Addr>()
            .map_err(|_| err(pos, UriErrorKind::InvalidIpv6))?;
        return Ok((Host::Ipv6(addr), host_end));
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

/// The end of an IPv6 address written without brackets at `b[pos]`, where that is
/// unambiguous: exactly eight groups of one to four hex digits separated by single colons
/// (no `::`, no embedded IPv4), then either the end of the host (a byte that is not a hex
/// digit, a colon or a dot) or a colon and one to five decimal digits, a port, ending the
/// same way. Real devices write `sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c:5060`; RFC 3261
/// §25.1 (with RFC 5954 §4.1) wants `[...]` around an IPv6 address, so only lenient
/// parsing calls this. `None` for anything else, which the usual host rules then judge.
pub(crate) fn unbracketed_ipv6_end(b: &[u8], pos: usize) -> Option<usize> {
    let mut i = pos;
    let mut groups = 0;
    let mut host_end = pos;
    loop {
        let start = i;
        while i < b.len() && b[i].is_ascii_hexdigit() && i - start < 5 {
            i += 1;
        }
        let len = i - start;
        if len == 0 {
            return None;
        }
        groups += 1;
        match groups {
            1..=8 if len > 4 => return None,
            9 if !b[start..i].iter().all(u8::is_ascii_digit) => return None,
            _ => {}
        }
        if groups == 8 {
            host_end = i;
        }
        match b.get(i) {
            Some(b':') if groups < 9 => i += 1,
            Some(c) if c.is_ascii_hexdigit() || matches!(c, b':' | b'.') => return None,
            _ => break,
        }
    }
    (groups >= 8).then_some(host_end)
}

/// Parses `1*DIGIT` at `pos` (just after `:`) as a port.
pub(super) fn parse_port_at(b: &[u8], pos: usize) -> Result<(u16, usize), UriError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::uri::Uri;
    use crate::message::uri::UriErrorKind as K;
    use crate::message::uri::test_util::*;

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

    /// Unbracketed IPv6 (lenient only): eight full groups, perhaps a port; nothing else.
    #[test]
    fn unbracketed_ipv6() {
        let end = |s: &str| unbracketed_ipv6_end(s.as_bytes(), 0);
        assert_eq!(end("fec0:0:0:0:216:d3ff:fe0d:22c:5060;x"), Some(28));
        assert_eq!(end("fec0:0:0:0:216:d3ff:fe0d:22c>"), Some(28));
        assert_eq!(end("1:2:3:4:5:6:7:8:65535"), Some(15));
        for s in [
            "fec0::1:5060",
            "1:2:3:4:5:6:7:8:9:10",
            "1:2:3:4:5:6:7:8:",
            "1:2:3:4:5:6:7:8.1",
            "1:2:3:4:5:6:7:8:123456",
            "1:2:3:4:5:6:7:8:5a",
            "12345:2:3:4:5:6:7:8",
            "example.com:5060",
        ] {
            assert_eq!(end(s), None, "{s}");
        }
        let u = Uri::parse("sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c:5060;transport=udp").unwrap();
        let Uri::Sip(u) = u else { panic!("sip") };
        assert_eq!(
            u.host(),
            &Host::Ipv6("fec0::216:d3ff:fe0d:22c".parse().unwrap())
        );
        assert_eq!(u.port(), Some(5060));
        assert!(Uri::parse_strict("sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c:5060").is_err());
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
}
