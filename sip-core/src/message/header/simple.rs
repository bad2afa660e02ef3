//! Small typed headers: CSeq, Content-Type, Event, Subscription-State, option-tag and method
//! lists (RFC 3261 §20; RFC 6665 §8.2; RFC 3515).

use super::params::{Params, scan_params};
use crate::message::method::Method;
use crate::message::scan::{
    DIGIT, TOKEN, is_lws, is_token, parse_decimal, run, skip_lws, split_commas, trim_lws,
};

/// CSeq: a sequence number and a method (§20.16). The number is below 2**31 (§8.1.1.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    /// Sequence number.
    pub seq: u32,
    /// Method.
    pub method: Method,
}

/// Parses `1*DIGIT LWS Method`, returning the number and the method text.
#[cfg(test)]
pub(crate) fn parse_cseq(v: &str) -> Result<(u32, &str), &'static str> {
    let (n, a, z) = parse_cseq_at(v.as_bytes(), 0, v.len())?;
    // `a..z` is a run of token characters (ASCII): character boundaries.
    Ok((n, v.get(a..z).unwrap_or("")))
}

/// [`parse_cseq`] of `b[start..end]`: the number and the method's position in `b`.
#[inline]
pub(crate) fn parse_cseq_at(
    b: &[u8],
    start: usize,
    end: usize,
) -> Result<(u32, usize, usize), &'static str> {
    let Some(whole) = b.get(start..end) else {
        return Err("sequence number is not a 32-bit decimal");
    };
    // `trim_lws`, on bytes.
    let (mut s, mut e) = (0, whole.len());
    while s < e && is_lws(whole[s]) {
        s += 1;
    }
    while e > s && is_lws(whole[e - 1]) {
        e -= 1;
    }
    let b = &whole[s..e];
    let base = start + s;
    // Fast path: 1 to 10 digits, one space, a token to the end; the general steps below
    // give the same result for it.
    let (n, i) = crate::message::scan::leading_digits(b, 0, 10);
    if i > 0
        && b.get(i) == Some(&b' ')
        && let Ok(seq) = u32::try_from(n)
        && i + 1 < b.len()
        && run(b, i + 1, &TOKEN) == b.len()
    {
        return Ok((seq, base + i + 1, base + b.len()));
    }
    let i = run(b, 0, &DIGIT);
    let seq = std::str::from_utf8(&b[..i])
        .ok()
        .and_then(|d| parse_decimal(d, u64::from(u32::MAX)))
        .ok_or("sequence number is not a 32-bit decimal")?;
    let ms = skip_lws(b, i);
    if ms == i {
        return Err("expected whitespace after the sequence number");
    }
    if ms >= b.len() || run(b, ms, &TOKEN) != b.len() {
        return Err("invalid method");
    }
    Ok((
        u32::try_from(seq).map_err(|_| "sequence number too large")?,
        base + ms,
        base + b.len(),
    ))
}

/// A media type with parameters: Content-Type (§20.15), Accept elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaType<'a> {
    /// Type, e.g. `application`.
    pub kind: &'a str,
    /// Subtype, e.g. `sdp`.
    pub subtype: &'a str,
    params: &'a str,
}

impl<'a> MediaType<'a> {
    /// Parses `type "/" subtype *(SEMI m-parameter)`.
    ///
    /// ```
    /// use sip_core::message::MediaType;
    /// let t = MediaType::parse("multipart/mixed;boundary=unique-boundary-1").unwrap();
    /// assert!(t.is("multipart", "mixed"));
    /// assert_eq!(t.param("boundary"), Some(Some("unique-boundary-1")));
    /// ```
    pub fn parse(v: &'a str) -> Result<Self, &'static str> {
        let b = v.as_bytes();
        let mut i = skip_lws(b, 0);
        let ks = i;
        i = run(b, i, &TOKEN);
        let kind = &v[ks..i];
        i = skip_lws(b, i);
        if kind.is_empty() || b.get(i) != Some(&b'/') {
            return Err("expected type/subtype");
        }
        i = skip_lws(b, i + 1);
        let ss = i;
        i = run(b, i, &TOKEN);
        let subtype = &v[ss..i];
        if subtype.is_empty() {
            return Err("empty subtype");
        }
        if i == b.len() {
            // No parameters and nothing after the subtype: what the steps below conclude.
            return Ok(MediaType {
                kind,
                subtype,
                params: v.get(i..).unwrap_or_default(),
            });
        }
        let ps = skip_lws(b, i);
        let pe = scan_params(b, ps)?;
        if skip_lws(b, pe) != b.len() {
            return Err("unexpected text after media type");
        }
        Ok(MediaType {
            kind,
            subtype,
            params: trim_lws(&v[ps..pe]),
        })
    }

    /// Whether this is `kind/subtype`, ignoring ASCII case.
    pub fn is(&self, kind: &str, subtype: &str) -> bool {
        self.kind.eq_ignore_ascii_case(kind) && self.subtype.eq_ignore_ascii_case(subtype)
    }
    /// Parameters.
    pub fn params(&self) -> Params<'a> {
        Params::new(self.params)
    }
    /// One parameter.
    pub fn param(&self, name: &str) -> Option<Option<&'a str>> {
        self.params().get(name)
    }
}

/// A token with parameters: Event (RFC 6665 §8.2.1: `event-type *(SEMI event-param)`) and
/// Subscription-State (RFC 6665 §8.2.3: `substate-value *(SEMI subexp-params)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenParams<'a> {
    /// The leading token (`refer`, `active`).
    pub value: &'a str,
    params: &'a str,
}

impl<'a> TokenParams<'a> {
    /// Parses `token *(SEMI generic-param)`.
    ///
    /// ```
    /// use sip_core::message::TokenParams;
    /// let s = TokenParams::parse("terminated;reason=noresource").unwrap();
    /// assert_eq!(s.value, "terminated");
    /// assert_eq!(s.param("reason"), Some(Some("noresource")));
    /// ```
    pub fn parse(v: &'a str) -> Result<Self, &'static str> {
        let b = v.as_bytes();
        let mut i = skip_lws(b, 0);
        let st = i;
        while i < b.len() && (is_token(b[i])) {
            i += 1;
        }
        if i == st {
            return Err("expected a token");
        }
        let value = &v[st..i];
        let ps = skip_lws(b, i);
        let pe = scan_params(b, ps)?;
        if skip_lws(b, pe) != b.len() {
            return Err("unexpected text after the value");
        }
        Ok(TokenParams {
            value,
            params: trim_lws(&v[ps..pe]),
        })
    }
    /// Parameters.
    pub fn params(&self) -> Params<'a> {
        Params::new(self.params)
    }
    /// One parameter.
    pub fn param(&self, name: &str) -> Option<Option<&'a str>> {
        self.params().get(name)
    }
    /// The `id` parameter of an Event header (RFC 6665; for REFER, the CSeq of the REFER).
    pub fn id(&self) -> Option<&'a str> {
        self.param("id").flatten()
    }
    /// The `expires` parameter of Subscription-State.
    pub fn expires(&self) -> Option<u32> {
        self.param("expires").flatten().and_then(|e| e.parse().ok())
    }
}

/// Splits a comma-separated list of tokens (Allow, Supported, Require, Proxy-Require,
/// Unsupported; §20.5, §20.37, §20.32). Empty elements are skipped.
pub fn token_list(v: &str) -> impl Iterator<Item = &str> {
    split_commas(v).map(trim_lws).filter(|t| !t.is_empty())
}

/// Validates a token list.
pub(crate) fn check_token_list(v: &str) -> Result<(), &'static str> {
    // Fast path: tokens and commas with SP/HTAB around them, no quotes, brackets or folds
    // (so the split below would cut at every comma and find a token or nothing in each
    // piece). Byte by byte: list elements are short, too short for a wide scan to pay.
    let b = v.as_bytes();
    let n = b.len();
    let blank = |c: u8| c == b' ' || c == b'\t';
    let mut i = 0;
    loop {
        while i < n && blank(b[i]) {
            i += 1;
        }
        while i < n && is_token(b[i]) {
            i += 1;
        }
        while i < n && blank(b[i]) {
            i += 1;
        }
        if i == n {
            return Ok(());
        }
        if b[i] != b',' {
            break;
        }
        i += 1;
    }
    check_token_list_split(v)
}

/// [`check_token_list`] the general way: split at the commas outside quotes and brackets,
/// and each trimmed piece a token or nothing.
fn check_token_list_split(v: &str) -> Result<(), &'static str> {
    for t in split_commas(v) {
        let t = trim_lws(t);
        if !t.is_empty() && !t.bytes().all(is_token) {
            return Err("list element is not a token");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cseq() {
        assert_eq!(parse_cseq("0009\r\n  INVITE"), Ok((9, "INVITE")));
        assert_eq!(parse_cseq("4711 REGISTER"), Ok((4711, "REGISTER")));
        assert!(parse_cseq("36893488147419103232 REGISTER").is_err());
        assert!(parse_cseq("4294967296 INVITE").is_err());
        assert!(parse_cseq("1INVITE").is_err());
        assert!(parse_cseq("1 IN VITE").is_err());
        assert!(parse_cseq("x INVITE").is_err());
        assert_eq!(parse_cseq("4294967295 ACK"), Ok((4294967295, "ACK")));
        assert_eq!(parse_cseq("00000000001 ACK"), Ok((1, "ACK")));
        assert_eq!(parse_cseq("1  ACK"), Ok((1, "ACK")));
        assert!(parse_cseq("1 ").is_err());
        assert!(parse_cseq("1 AC K").is_err());
        assert!(parse_cseq(" ACK").is_err());
    }

    #[test]
    fn token_list_checks_with_and_without_the_fast_path() {
        assert_eq!(check_token_list("INVITE, ACK,CANCEL ,\r\n BYE"), Ok(()));
        assert_eq!(check_token_list(""), Ok(()));
        assert_eq!(check_token_list(" , ,"), Ok(()));
        assert!(check_token_list("IN VITE").is_err());
        assert!(check_token_list("INVITE, <ACK>").is_err());
        assert!(check_token_list("INVITE, \"ACK\"").is_err());
        assert!(check_token_list("INVITE;x").is_err());
        // The fast path agrees with the split on every short string of these bytes.
        let alphabet: [&str; 7] = ["a", "B", " ", "\t", ",", "\"", "\r\n "];
        let mut strings = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> = strings
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            for v in &longer {
                assert_eq!(check_token_list(v), check_token_list_split(v), "{v:?}");
            }
            strings = longer;
        }
    }

    #[test]
    fn media_type_and_token_params() {
        let t = MediaType::parse("application/sdp").unwrap();
        assert!(t.is("APPLICATION", "SDP"));
        assert!(MediaType::parse("application").is_err());
        assert!(MediaType::parse("a/b junk").is_err());
        let e = TokenParams::parse("refer;id=93809824").unwrap();
        assert_eq!((e.value, e.id()), ("refer", Some("93809824")));
        let s = TokenParams::parse("active;expires=60").unwrap();
        assert_eq!(s.expires(), Some(60));
    }

    #[test]
    fn token_lists() {
        let v: Vec<_> = token_list("INVITE, ACK ,\r\n BYE,,").collect();
        assert_eq!(v, ["INVITE", "ACK", "BYE"]);
        assert!(check_token_list("a, b c").is_err());
        assert!(check_token_list("100rel, timer").is_ok());
    }
}
