//! tel URIs (RFC 3966): [`TelUri`], its parser (§3 grammar, with the lenient deviations listed
//! in the [module documentation](super)), the strict checks of its parameters (§5.1.5
//! `phone-context`, §5.2 `isub`, §5.3 `ext`) and its accessors. Comparison (§4) is in
//! `compare.rs`.

use std::borrow::Cow;
use std::fmt;

#[cfg(doc)]
use super::Uri;
use super::host::validate_hostname;
use super::params::{Params, find_param};
use super::{
    Kind, Mode, UriError, UriErrorKind, classify_scheme, err, scan, slice, split_scheme,
    to_owned_cow,
};
use crate::message::escape::{
    self, AT, EQ, HNV_UNRES, LENIENT_EXTRA, PARAM_UNRES, PASS_EXTRA, UNRESERVED,
};

/// A tel URI (RFC 3966): a global (`+`) or local number and its parameters.
#[derive(Debug, Clone)]
pub struct TelUri<'a> {
    pub(super) scheme: Cow<'a, str>,
    /// The number as written, visual separators kept, without the leading `+`.
    pub(super) number: Cow<'a, str>,
    pub(super) global: bool,
    /// Raw parameters, each starting with `;`.
    pub(super) params: Cow<'a, str>,
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
    pub(super) fn parse_after_scheme(
        s: &'a str,
        colon: usize,
        mode: Mode,
    ) -> Result<TelUri<'a>, UriError> {
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
    // A `phone-context` on a global number is, by the grammar, one more `parameter` (RFC
    // 3966 §3 `par`): taken in both modes (RFC 3261 §19.1.6 lets such a URI be a
    // Request-URI).
    if mode == Mode::Strict && !global && !has_context {
        return Err(err(len, UriErrorKind::MissingPhoneContext));
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

impl fmt::Display for TelUri<'_> {
    /// Writes the URI; unchanged parsed URIs come out byte-identical to their input.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.scheme)?;
        f.write_str(if self.global { ":+" } else { ":" })?;
        f.write_str(&self.number)?;
        f.write_str(&self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::uri::UriErrorKind as K;
    use crate::message::uri::test_util::*;
    use crate::message::uri::{SipUri, Uri};

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
}
