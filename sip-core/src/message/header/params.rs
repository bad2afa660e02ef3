//! Generic parameters: `*( SEMI generic-param )` (RFC 3261 §25.1), as used by Via, From, To,
//! Contact, Content-Type, Event and most other headers.

use crate::message::scan::{PARAM_VALUE, TOKEN, is_lws, is_token, run, skip_lws, skip_quoted};

/// Why a parameter list is malformed.
pub(crate) type ParamError = &'static str;

/// Scans a parameter list starting at `b[i]` (which should be `;` or the end), validating
/// every `name [= value]` and stopping at the end of input or at a top-level `,` (the next
/// element of a list). Returns the index where scanning stopped.
///
/// Values may be a token, a host (including a bracketed IPv6 reference) or a quoted string.
pub(crate) fn scan_params(b: &[u8], i: usize) -> Result<usize, ParamError> {
    scan_params_with(b, i, |_, _| {})
}

/// [`scan_params`], calling `seen(name, value)` with the byte ranges of each parameter as it
/// goes, so a decoder picks out the ones it needs (branch, tag, ...) in the same pass.
pub(crate) fn scan_params_with(
    b: &[u8],
    i: usize,
    seen: impl FnMut(std::ops::Range<usize>, Option<std::ops::Range<usize>>),
) -> Result<usize, ParamError> {
    scan_params_at(b, i, seen).map_err(|(_, e)| e)
}

/// [`scan_params_with`], the error with the index of the byte at fault.
pub(crate) fn scan_params_at(
    b: &[u8],
    mut i: usize,
    mut seen: impl FnMut(std::ops::Range<usize>, Option<std::ops::Range<usize>>),
) -> Result<usize, (usize, ParamError)> {
    loop {
        // Fast step: `;name=value` or `;name` without blanks, the value a token-like run
        // (`PARAM_VALUE` has neither `"` nor `[`) and the name followed by `=`, `;`, `,` or
        // the end: the general step below gives the same ranges and position for it.
        if b.get(i) == Some(&b';') {
            let ns = i + 1;
            let ne = run(b, ns, &TOKEN);
            if ne > ns {
                match b.get(ne) {
                    Some(b'=') => {
                        let ve = run(b, ne + 1, &PARAM_VALUE);
                        if ve > ne + 1 {
                            seen(ns..ne, Some(ne + 1..ve));
                            i = ve;
                            continue;
                        }
                    }
                    None | Some(b';' | b',') => {
                        seen(ns..ne, None);
                        i = ne;
                        continue;
                    }
                    _ => {}
                }
            }
        }
        i = skip_lws(b, i);
        match b.get(i) {
            None | Some(b',') => return Ok(i),
            Some(b';') => i += 1,
            Some(_) => return Err((i, "expected ';' before a parameter")),
        }
        i = skip_lws(b, i);
        let name_start = i;
        i = run(b, i, &TOKEN);
        if i == name_start {
            return Err((i, "empty parameter name"));
        }
        let name = name_start..i;
        let after_name = skip_lws(b, i);
        if b.get(after_name) == Some(&b'=') {
            let vs = skip_lws(b, after_name + 1);
            i = scan_param_value(b, vs)?;
            seen(name, Some(vs..i));
        } else {
            seen(name, None);
        }
    }
}

/// Scans one parameter value (token, host, IPv6 reference or quoted string) at `b[i]`.
fn scan_param_value(b: &[u8], i: usize) -> Result<usize, (usize, ParamError)> {
    match b.get(i) {
        Some(b'"') => skip_quoted(b, i).ok_or((i, "unterminated quoted parameter value")),
        Some(b'[') => {
            let mut j = i + 1;
            while j < b.len() && (b[j].is_ascii_hexdigit() || matches!(b[j], b':' | b'.')) {
                j += 1;
            }
            if b.get(j) == Some(&b']') {
                Ok(j + 1)
            } else {
                Err((j, "malformed IPv6 reference in parameter"))
            }
        }
        _ => {
            let j = run(b, i, &PARAM_VALUE);
            if j == i {
                Err((i, "empty parameter value"))
            } else {
                Ok(j)
            }
        }
    }
}

/// Iterates `(name, value)` over an already validated parameter list (`;a=1;b;c="x"`).
/// Names and values are trimmed of LWS; quoted values keep their quotes.
#[derive(Debug, Clone)]
pub struct Params<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Params<'a> {
    /// Iterates over `raw`, a parameter list as found after a URI or a header value.
    pub fn new(raw: &'a str) -> Self {
        Params { s: raw, pos: 0 }
    }

    /// Looks a parameter up ignoring ASCII case: `None` if absent, `Some(None)` for a flag
    /// without value (`;lr`), `Some(Some(v))` otherwise.
    pub fn get(self, name: &str) -> Option<Option<&'a str>> {
        self.into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

impl<'a> Iterator for Params<'a> {
    type Item = (&'a str, Option<&'a str>);
    fn next(&mut self) -> Option<Self::Item> {
        let b = self.s.as_bytes();
        loop {
            let mut i = skip_lws(b, self.pos);
            if i >= b.len() || b[i] == b',' {
                self.pos = b.len();
                return None;
            }
            if b[i] == b';' {
                i = skip_lws(b, i + 1);
            }
            let ns = i;
            while i < b.len() && is_token(b[i]) {
                i += 1;
            }
            let name = self.s.get(ns..i)?;
            let j = skip_lws(b, i);
            let mut value = None;
            if b.get(j) == Some(&b'=') {
                let vs = skip_lws(b, j + 1);
                let ve = scan_param_value(b, vs).unwrap_or(vs);
                value = self.s.get(vs..ve);
                i = ve;
            }
            // Skip anything up to the next ';' (only reachable on unvalidated input).
            while i < b.len() && b[i] != b';' && b[i] != b',' && !is_lws(b[i]) {
                i += 1;
            }
            self.pos = i;
            if name.is_empty() {
                if i >= b.len() {
                    return None;
                }
                self.pos = i.max(self.pos + 1);
                continue;
            }
            return Some((name, value));
        }
    }
}

/// Removes the quotes and quoted-pair escapes of a quoted-string value; other values are
/// returned unchanged.
pub fn unquote(v: &str) -> std::borrow::Cow<'_, str> {
    let Some(inner) = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return v.into();
    };
    if !inner.contains('\\') {
        return inner.into();
    }
    let mut out = String::with_capacity(inner.len());
    let mut esc = false;
    for c in inner.chars() {
        if esc || c != '\\' {
            out.push(c);
            esc = false;
        } else {
            esc = true;
        }
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_accepts_generic_params() {
        let s = b" ; branch = z9hG4bK1 ;rport;received=[2001:db8::1];x=\"a;b\" , next";
        let end = scan_params(s, 0).unwrap();
        assert_eq!(s[end], b',');
        assert_eq!(scan_params(b"", 0), Ok(0));
    }

    #[test]
    fn fast_and_general_steps_report_the_same_ranges() {
        let seen = |v: &str| {
            let mut out = Vec::new();
            let end = scan_params_with(v.as_bytes(), 0, |n, x| out.push((n, x)));
            (end, out)
        };
        assert_eq!(
            seen(";branch=z9;rport;x=1,next"),
            (
                Ok(20),
                vec![(1..7, Some(8..10)), (11..16, None), (17..18, Some(19..20))]
            )
        );
        // Blanks, quoted and IPv6 values go through the general step.
        assert_eq!(
            seen("; a = 1 ;b=\"q\";c=[::1] ;d"),
            (
                Ok(25),
                vec![
                    (2..3, Some(6..7)),
                    (9..10, Some(11..14)),
                    (15..16, Some(17..22)),
                    (24..25, None)
                ]
            )
        );
        assert_eq!(seen(";a=;b").0, Err("empty parameter value"));
        assert_eq!(seen(";a/").0, Err("expected ';' before a parameter"));
        assert_eq!(seen(";=1").0, Err("empty parameter name"));
    }

    #[test]
    fn scan_rejects_empty_params() {
        assert!(scan_params(b";;", 0).is_err());
        assert!(scan_params(b";a=", 0).is_err());
        assert!(scan_params(b";a=\"x", 0).is_err());
        assert!(scan_params(b"x", 0).is_err());
    }

    #[test]
    fn iterate_and_lookup() {
        let p = Params::new(";Branch = z9hG4bK1;rport; tag=\"q\\\"t\"");
        let v: Vec<_> = p.clone().collect();
        assert_eq!(
            v,
            [
                ("Branch", Some("z9hG4bK1")),
                ("rport", None),
                ("tag", Some("\"q\\\"t\""))
            ]
        );
        assert_eq!(p.clone().get("branch"), Some(Some("z9hG4bK1")));
        assert_eq!(p.clone().get("rport"), Some(None));
        assert_eq!(p.get("lr"), None);
        assert_eq!(unquote("\"q\\\"t\""), "q\"t");
        assert_eq!(unquote("plain"), "plain");
    }
}
