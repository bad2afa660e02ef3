//! Parameters and headers of a URI, kept as written: the [`Params`] iterator over
//! `;name[=value]` (RFC 3261 §19.1.1 `uri-parameters`, RFC 3966 §3 `par`), the [`Headers`]
//! iterator over `?name=value&...` (§19.1.1 `headers`), and name lookup that ignores ASCII
//! case and escapes (§19.1.4).

use memchr::memchr;

use crate::message::escape::{eq_unescaped, unescaped_bytes};

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
    pub(super) rest: &'b str,
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
pub(super) fn name_is(raw: &str, name: &str) -> bool {
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
pub(super) fn raw_names_eq(a: &str, b: &str) -> bool {
    eq_unescaped(a, b, true)
}

pub(super) fn find_param<'b>(raw: &'b str, name: &str) -> Option<Option<&'b str>> {
    Params::new(raw)
        .find(|(n, _)| name_is(n, name))
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use crate::message::uri::SipUri;

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
}
