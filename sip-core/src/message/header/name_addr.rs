//! `name-addr` / `addr-spec` values with parameters: From, To, Contact, Route, Record-Route,
//! Reply-To, Refer-To, Referred-By (RFC 3261 §20.10, §20.20, §20.39, §20.30, §20.34;
//! RFC 3515 §2.1; RFC 3892).

use super::params::{Params, scan_params_at, unquote};
use crate::message::scan::{
    Caseless, DISPLAY, PARAM_VALUE, SCHEME, URI_TEXT_BARE, is_lws, is_token, run, run_uri_text,
    skip_lws, skip_quoted, split_commas,
};
use crate::message::span::Span;
use crate::message::uri::{Uri, UriError};
use std::borrow::Cow;

/// `;tag` in either case, compared as one word.
pub(crate) const TAG: Caseless = Caseless::new(b";tag");

/// Decoded positions of one `name-addr` or `addr-spec` with its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct NameAddrData {
    pub whole: Span,
    pub display: Option<Span>,
    pub uri: Span,
    pub angle: bool,
    pub params: Span,
    pub tag: Option<Span>,
}

/// A `name-addr` (`"Bob" <sip:bob@biloxi.com>;tag=a6c85cf`) or `addr-spec`
/// (`sip:bob@biloxi.com;tag=a6c85cf`) with its header parameters, borrowed from the message.
#[derive(Debug, Clone, Copy)]
pub struct NameAddr<'a> {
    text: &'a str,
    d: NameAddrData,
}

impl<'a> NameAddr<'a> {
    pub(crate) fn from_data(text: &'a str, d: NameAddrData) -> Self {
        NameAddr { text, d }
    }

    /// Parses one value in lenient mode.
    ///
    /// ```
    /// use sip_core::message::NameAddr;
    /// let a = NameAddr::parse(r#""Alice \"A\"" <sip:alice@atlanta.com>;tag=1928301774"#).unwrap();
    /// assert_eq!(a.display_name().as_deref(), Some("Alice \"A\""));
    /// assert_eq!(a.uri_str(), "sip:alice@atlanta.com");
    /// assert_eq!(a.tag(), Some("1928301774"));
    /// ```
    pub fn parse(s: &'a str) -> Result<NameAddr<'a>, &'static str> {
        Ok(NameAddr {
            text: s,
            d: parse_name_addr(s, 0, s.len(), false)?,
        })
    }

    /// Parses one value following the RFC 3261 grammar strictly.
    pub fn parse_strict(s: &'a str) -> Result<NameAddr<'a>, &'static str> {
        Ok(NameAddr {
            text: s,
            d: parse_name_addr(s, 0, s.len(), true)?,
        })
    }

    /// The whole value as received.
    pub fn as_str(&self) -> &'a str {
        self.d.whole.get(self.text)
    }
    /// The display name as written (quotes included), if any.
    pub fn display_name_raw(&self) -> Option<&'a str> {
        self.d.display.map(|s| s.get(self.text))
    }
    /// The display name without quotes and quoted-pair escapes.
    pub fn display_name(&self) -> Option<Cow<'a, str>> {
        self.display_name_raw().map(unquote)
    }
    /// The URI text, exactly as written between `<` and `>` (or the bare addr-spec).
    pub fn uri_str(&self) -> &'a str {
        self.d.uri.get(self.text)
    }
    /// Parses the URI (lenient; RFC 3261 §19.1, RFC 3966, or an opaque absolute URI).
    pub fn uri(&self) -> Result<Uri<'a>, UriError> {
        Uri::parse(self.uri_str())
    }
    /// Where the URI lies in the text the value was parsed from.
    pub(crate) fn uri_span(&self) -> Span {
        self.d.uri
    }
    /// Whether the URI was written in angle brackets (name-addr form).
    pub fn is_name_addr(&self) -> bool {
        self.d.angle
    }
    /// The raw header parameters, from the first `;` after the URI.
    pub fn params_raw(&self) -> &'a str {
        self.d.params.get(self.text)
    }
    /// Iterates over the header parameters.
    pub fn params(&self) -> Params<'a> {
        Params::new(self.params_raw())
    }
    /// Looks up a header parameter.
    pub fn param(&self, name: &str) -> Option<Option<&'a str>> {
        self.params().get(name)
    }
    /// The `tag` parameter (§19.3).
    pub fn tag(&self) -> Option<&'a str> {
        self.d.tag.map(|s| s.get(self.text))
    }
    /// The Contact `expires` parameter (§20.10), if present and numeric.
    pub fn expires(&self) -> Option<u32> {
        self.param("expires").flatten().and_then(|v| v.parse().ok())
    }
    /// The Contact `q` parameter (§20.10) in thousandths (`q=0.7` → 700).
    pub fn q_millis(&self) -> Option<u16> {
        let v = self.param("q").flatten()?;
        let (int, frac) = v.split_once('.').unwrap_or((v, ""));
        if frac.len() > 3 || !frac.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let int: u16 = int.parse().ok()?;
        let mut f: u16 = 0;
        for i in 0..3 {
            f = f * 10 + frac.as_bytes().get(i).map_or(0, |c| u16::from(c - b'0'));
        }
        let q = int.checked_mul(1000)?.checked_add(f)?;
        (q <= 1000).then_some(q)
    }
}

/// Parses one name-addr or addr-spec in `s[start..end]` (the whole element: callers split
/// lists with [`split_commas`] first).
pub(crate) fn parse_name_addr(
    s: &str,
    start: usize,
    end: usize,
    strict: bool,
) -> Result<NameAddrData, &'static str> {
    parse_name_addr_bytes(s.as_bytes(), start, end, strict).map_err(|(_, reason)| reason)
}

/// [`parse_name_addr`] on the bytes of the text, the error with the index of the byte at
/// fault.
pub(crate) fn parse_name_addr_bytes(
    s: &[u8],
    start: usize,
    end: usize,
    strict: bool,
) -> Result<NameAddrData, (usize, &'static str)> {
    let b = s.get(..end).ok_or((start, "out of range"))?;
    let mut d = NameAddrData::default();
    let i = skip_lws(b, start);
    let mut e = end;
    while e > i && is_lws(b[e - 1]) {
        e -= 1;
    }
    if i >= e {
        return Err((i, "empty value"));
    }
    d.whole = Span::new(i, e);
    let b = &b[..e];
    let laquot = if b[i] == b'"' {
        let q = skip_quoted(b, i).ok_or((i, "unterminated quoted display name"))?;
        d.display = Some(Span::new(i, q));
        let j = skip_lws(b, q);
        if b.get(j) != Some(&b'<') {
            return Err((j, "expected '<' after display name"));
        }
        Some(j)
    } else if let Some(j) = display_end(b, i) {
        // Fast path: token characters and blanks up to the '<', which pass every check
        // below.
        let mut de = j;
        while de > i && matches!(b[de - 1], b' ' | b'\t') {
            de -= 1;
        }
        if de > i {
            d.display = Some(Span::new(i, de));
        }
        Some(j)
    } else {
        // A '<' means name-addr; anything before it is an unquoted display name.
        match memchr::memchr(b'<', &b[i..]) {
            Some(off) => {
                let j = i + off;
                let mut de = j;
                while de > i && is_lws(b[de - 1]) {
                    de -= 1;
                }
                if de > i {
                    let dn = &b[i..de];
                    if let Some(k) = dn
                        .iter()
                        .position(|&c| strict && !(is_token(c) || is_lws(c)))
                    {
                        return Err((
                            i + k,
                            "display name with non-token characters must be quoted",
                        ));
                    }
                    if let Some(k) = dn
                        .iter()
                        .position(|&c| c == b'"' || c == b'>' || c < 0x20 && !is_lws(c))
                    {
                        return Err((i + k, "malformed display name"));
                    }
                    d.display = Some(Span::new(i, de));
                }
                Some(j)
            }
            None => None,
        }
    };
    let after_uri = if let Some(l) = laquot {
        d.angle = true;
        if let Some(r) = angle_uri_end(b, l + 1) {
            // Fast path: `scheme ":" URI-text ">"` with nothing to trim.
            d.uri = Span::new(l + 1, r);
            r + 1
        } else {
            let r = l + 1 + memchr::memchr(b'>', &b[l + 1..]).ok_or((b.len(), "missing '>'"))?;
            let (mut us, mut ue) = (l + 1, r);
            if strict && is_lws(b[us]) {
                return Err((us, "whitespace inside <> around the URI"));
            }
            if strict && is_lws(b[ue - 1]) {
                return Err((ue - 1, "whitespace inside <> around the URI"));
            }
            while us < ue && is_lws(b[us]) {
                us += 1;
            }
            while ue > us && is_lws(b[ue - 1]) {
                ue -= 1;
            }
            check_uri_text(&b[us..ue], true)
                .map_err(|r| (us + uri_text_fault_at(&b[us..ue], true), r))?;
            d.uri = Span::new(us, ue);
            r + 1
        }
    } else {
        // addr-spec: the URI ends at the first ';' or whitespace; its parameters are header
        // parameters (§20.10).
        let mut ue = i;
        while ue < b.len() && b[ue] != b';' && !is_lws(b[ue]) {
            ue += 1;
        }
        check_uri_text(&b[i..ue], false)
            .map_err(|r| (i + uri_text_fault_at(&b[i..ue], false), r))?;
        d.uri = Span::new(i, ue);
        ue
    };
    let ps = skip_lws(b, after_uri);
    if ps == b.len() {
        // No parameters (and no tag).
        d.params = Span::new(ps, ps);
        return Ok(d);
    }
    if let Some(&[a, b1, c, d1, b'=']) = b.get(ps..ps + 5)
        && TAG.matches4(u32::from_le_bytes([a, b1, c, d1]))
        && ps + 5 < b.len()
        && run(b, ps + 5, &PARAM_VALUE) == b.len()
    {
        // Fast path: `;tag=` and a token value to the end, the whole parameter list; the
        // scan below gives the same spans for it.
        d.params = Span::new(ps, b.len());
        d.tag = Some(Span::new(ps + 5, b.len()));
        return Ok(d);
    }
    let mut tag = None;
    let pe = scan_params_at(b, ps, |n, v| {
        if tag.is_none() && b[n].eq_ignore_ascii_case(b"tag") {
            tag = v;
        }
    })?;
    if pe != b.len() {
        return Err((pe, "unexpected text after the URI"));
    }
    d.params = Span::new(ps, pe);
    d.tag = tag.map(|r| Span::new(r.start, r.end));
    Ok(d)
}

/// Given `b[i] == b'"'`, the index just past the closing quote, as [`skip_quoted`] gives it,
/// when neither CR nor LF comes first (the string is then inside the line, and ends there
/// whatever follows the line). `None` otherwise.
#[inline]
pub(crate) fn quoted_in_line(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        match *b.get(j)? {
            b'\\' => {
                if matches!(b.get(j + 1), None | Some(b'\r' | b'\n')) {
                    return None;
                }
                j += 2;
            }
            b'"' => return Some(j + 1),
            b'\r' | b'\n' => return None,
            _ => j += 1,
        }
    }
}

/// The index of the `<` ending an unquoted display name that starts at `b[i]`, if the name
/// is made of token characters and blanks only (which every display-name check accepts).
#[inline]
pub(crate) fn display_end(b: &[u8], i: usize) -> Option<usize> {
    let k = run(b, i, &DISPLAY);
    (b.get(k) == Some(&b'<')).then_some(k)
}

/// Length of a `scheme ":"` prefix of `u`, if `u` starts with one.
#[inline(always)]
pub(crate) fn scheme_len(u: &[u8]) -> Option<usize> {
    // `sip:` in any case, as one word.
    const SIP: Caseless = Caseless::new(b"sip:");
    if let Some(&[a, b, c, d]) = u.get(..4)
        && SIP.matches4(u32::from_le_bytes([a, b, c, d]))
    {
        return Some(4);
    }
    let k = run(u, 0, &SCHEME);
    (k > 0 && u[0].is_ascii_alphabetic() && u.get(k) == Some(&b':')).then_some(k + 1)
}

/// The index of the `>` ending a URI that starts at `b[us]`, if the URI is a scheme, a
/// colon and URI text right up to the `>`: the shape [`check_uri_text`] accepts, with no
/// blanks to trim inside the brackets. `None` sends the caller to the full checks.
#[inline(always)]
pub(crate) fn angle_uri_end(b: &[u8], us: usize) -> Option<usize> {
    let k = us + scheme_len(b.get(us..)?)?;
    let r = run_uri_text(b, k);
    (b.get(r) == Some(&b'>')).then_some(r)
}

/// Checks that a URI has a scheme and no characters that cannot appear in one. The full URI
/// grammar is applied by [`Uri::parse`] when the URI is asked for.
pub(crate) fn check_uri_text(u: &[u8], in_angle: bool) -> Result<(), &'static str> {
    // Fast path: one pass over the text; any doubt goes to the checks below, which say why.
    if let Some(k) = scheme_len(u)
        && if in_angle {
            run_uri_text(u, k)
        } else {
            run(u, k, &URI_TEXT_BARE)
        } == u.len()
    {
        return Ok(());
    }
    let colon = memchr::memchr(b':', u).ok_or("URI without scheme")?;
    let scheme = &u[..colon];
    if scheme.is_empty()
        || !scheme[0].is_ascii_alphabetic()
        || !scheme
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
    {
        return Err("invalid URI scheme");
    }
    // Branch-free folds over the bytes, which the compiler vectorizes.
    let bad = u.iter().fold(false, |a, &c| {
        a | (c <= b' ') | (c == 0x7f) | (c == b'<') | (c == b'>') | (c == b'"')
    });
    if bad {
        return Err("invalid character in URI");
    }
    if !in_angle && u.iter().fold(false, |a, &c| a | (c == b'?') | (c == b',')) {
        return Err("a URI with '?' or ',' must be enclosed in <>");
    }
    Ok(())
}

/// Where in `u` [`check_uri_text`] finds its fault: the first byte that cannot be in a URI
/// (or, outside `<>`, the first `?` or `,`), else the start (a scheme fault).
#[cold]
fn uri_text_fault_at(u: &[u8], in_angle: bool) -> usize {
    let colon = memchr::memchr(b':', u);
    let scheme_ok = colon.is_some_and(|c| {
        c > 0
            && u[0].is_ascii_alphabetic()
            && u[..c]
                .iter()
                .all(|x| x.is_ascii_alphanumeric() || matches!(x, b'+' | b'-' | b'.'))
    });
    if !scheme_ok {
        return 0;
    }
    u.iter()
        .position(|&c| c <= b' ' || matches!(c, 0x7f | b'<' | b'>' | b'"'))
        .or_else(|| {
            (!in_angle)
                .then(|| u.iter().position(|&c| c == b'?' || c == b','))
                .flatten()
        })
        .unwrap_or(0)
}

/// One Contact value: `*` or an address (§20.10).
#[derive(Debug, Clone, Copy)]
pub enum ContactValue<'a> {
    /// `Contact: *` (only valid in REGISTER with `Expires: 0`, §10.2.2).
    Star,
    /// An address with parameters.
    Addr(NameAddr<'a>),
}

/// Iterates over a comma-separated list of name-addr values (Contact, Route, Record-Route).
pub(crate) fn name_addr_list<'a>(
    s: &'a str,
    span: Span,
    strict: bool,
) -> impl Iterator<Item = Result<NameAddr<'a>, &'static str>> + 'a {
    let base = span.start as usize;
    let v = span.get(s);
    split_commas(v).map(move |piece| {
        let st = base + (piece.as_ptr() as usize - v.as_ptr() as usize);
        parse_name_addr(s, st, st + piece.len(), strict).map(|d| NameAddr::from_data(s, d))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `check_uri_text` (its one pass, and the checks that say why) against its rules
    /// written out: a scheme (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`) and a colon, no
    /// byte that cannot be in a URI, and outside `<>` no `?` or `,`. Every single byte
    /// replaced or inserted at every position of a few URIs.
    #[test]
    fn uri_text_one_pass_is_the_general_check() {
        let rules = |u: &[u8], in_angle: bool| {
            let Some(colon) = u.iter().position(|&c| c == b':') else {
                return false;
            };
            let scheme = &u[..colon];
            scheme.first().is_some_and(u8::is_ascii_alphabetic)
                && scheme
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
                && !u
                    .iter()
                    .any(|&c| c <= b' ' || matches!(c, 0x7f | b'<' | b'>' | b'"'))
                && (in_angle || !u.iter().any(|&c| matches!(c, b'?' | b',')))
        };
        for base in [
            &b"sip:bob@biloxi.com"[..],
            b"sips:a@[2001:db8::1]:5061;transport=tls",
            b"tel:+1-201-555-0123",
            b"sip:a@b?Subject=x",
            b"x-1.a+b:c",
            b"SIP:",
            b"",
        ] {
            for at in 0..=base.len() {
                for c in 0..=255u8 {
                    let mut replaced = base.to_vec();
                    if at < base.len() {
                        replaced[at] = c;
                    }
                    let mut inserted = base.to_vec();
                    inserted.insert(at, c);
                    for u in [replaced, inserted] {
                        for in_angle in [false, true] {
                            assert_eq!(
                                check_uri_text(&u, in_angle).is_ok(),
                                rules(&u, in_angle),
                                "{u:?} {in_angle}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn name_addr_forms() {
        let a = NameAddr::parse("Bob <sip:bob@biloxi.com>;tag=a6c85cf").unwrap();
        assert_eq!(a.display_name().as_deref(), Some("Bob"));
        assert_eq!(a.uri_str(), "sip:bob@biloxi.com");
        assert_eq!(a.tag(), Some("a6c85cf"));
        assert!(a.is_name_addr());

        let a = NameAddr::parse("sip:+12125551212@server.phone2net.com;tag=887s").unwrap();
        assert_eq!(a.display_name(), None);
        assert_eq!(a.uri_str(), "sip:+12125551212@server.phone2net.com");
        assert_eq!(a.tag(), Some("887s"));
        assert!(!a.is_name_addr());

        let a = NameAddr::parse("caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(a.display_name_raw(), Some("caller"));

        let a = NameAddr::parse("<sip:a@b;lr>").unwrap();
        assert_eq!(a.uri_str(), "sip:a@b;lr");
        assert_eq!(a.params_raw(), "");

        let a = NameAddr::parse(
            "\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8",
        )
        .unwrap();
        assert_eq!(a.tag(), Some("98asjd8"));
        assert_eq!(a.display_name().as_deref(), Some("J Rosenberg \\\""));
    }

    #[test]
    fn tag_fast_path_agrees_with_the_parameter_scan() {
        fn tag(v: &str) -> Result<(&str, Option<&str>), &'static str> {
            NameAddr::parse(v).map(|a| (a.params_raw(), a.tag()))
        }
        assert_eq!(tag("<sip:a@b>;tag=x1"), Ok((";tag=x1", Some("x1"))));
        assert_eq!(tag("<sip:a@b>;TaG=x1"), Ok((";TaG=x1", Some("x1"))));
        assert_eq!(tag("<sip:a@b> ;tag=a:b"), Ok((";tag=a:b", Some("a:b"))));
        // Not the fast shape: the scan decides.
        assert_eq!(tag("<sip:a@b>;tag=x;lr"), Ok((";tag=x;lr", Some("x"))));
        assert_eq!(tag("<sip:a@b>;tag = x"), Ok((";tag = x", Some("x"))));
        assert_eq!(
            tag("<sip:a@b>;tag=\"q\""),
            Ok((";tag=\"q\"", Some("\"q\"")))
        );
        assert_eq!(tag("<sip:a@b>;tag2=x"), Ok((";tag2=x", None)));
        assert_eq!(tag("<sip:a@b>;tag="), Err("empty parameter value"));
        assert_eq!(
            tag("<sip:a@b>;tag=x,"),
            Err("unexpected text after the URI")
        );
        assert_eq!(
            tag("<sip:a@b>;tag=x/"),
            Err("expected ';' before a parameter")
        );
        assert_eq!(
            tag("<sip:a@b>:tag=x"),
            Err("expected ';' before a parameter")
        );
    }

    #[test]
    fn schemes() {
        assert_eq!(scheme_len(b"sip:a"), Some(4));
        assert_eq!(scheme_len(b"SiP:a"), Some(4));
        assert_eq!(scheme_len(b"sips:a"), Some(5));
        assert_eq!(scheme_len(b"x-y.z+1:a"), Some(8));
        assert_eq!(scheme_len(b"sip"), None);
        assert_eq!(scheme_len(b"sip;a"), None);
        assert_eq!(scheme_len(b"1ip:a"), None);
        assert_eq!(scheme_len(b":a"), None);
    }

    #[test]
    fn contact_params() {
        let a = NameAddr::parse("<sip:u@h>;q=0.7;expires=3600").unwrap();
        assert_eq!(a.q_millis(), Some(700));
        assert_eq!(a.expires(), Some(3600));
        let a = NameAddr::parse("<sip:u@h>;q=1").unwrap();
        assert_eq!(a.q_millis(), Some(1000));
        let a = NameAddr::parse("<sip:u@h>;q=1.5").unwrap();
        assert_eq!(a.q_millis(), None);
    }

    #[test]
    fn strict_and_lenient_differences() {
        let spaced = "\"Watson, Thomas\" < sip:t.watson@example.org >";
        assert_eq!(
            NameAddr::parse(spaced).unwrap().uri_str(),
            "sip:t.watson@example.org"
        );
        assert!(NameAddr::parse_strict(spaced).is_err());
        let unquoted = "Bell, Alexander <sip:a.g.bell@example.com>;tag=43";
        assert_eq!(
            NameAddr::parse(unquoted).unwrap().display_name_raw(),
            Some("Bell, Alexander")
        );
        assert!(NameAddr::parse_strict(unquoted).is_err());
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "\"Mr. J. User <sip:j.user@example.com>",
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            "\"Joe\" <sip:joe@example.org>;;;;",
            "<sip:a@b",
            "<>",
            "",
            "nouri",
            "<sip:a@b> junk",
            "\"x\" sip:a@b",
        ] {
            assert!(NameAddr::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn lists_split_outside_quotes_and_angles() {
        let s = "\"A, B\" <sip:a@x;p=1,2>, <sip:b@y>;expires=0 , sip:c@z";
        let v: Vec<_> = name_addr_list(s, Span::new(0, s.len()), true)
            .collect::<Result<_, _>>()
            .unwrap();
        let uris: Vec<_> = v.iter().map(|a| a.uri_str()).collect();
        assert_eq!(uris, ["sip:a@x;p=1,2", "sip:b@y", "sip:c@z"]);
        assert_eq!(v[1].expires(), Some(0));
    }
}
