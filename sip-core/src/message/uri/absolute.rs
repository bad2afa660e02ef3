//! URIs of other schemes (RFC 3261 §25.1 `absoluteURI`, RFC 2396 §3), e.g. `mailto:`, `urn:`,
//! `http:`: [`AbsoluteUri`] keeps the scheme and an opaque rest, compared as RFC 3986 §6.2.1
//! simple strings.

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};

use super::{Mode, UriError, UriErrorKind, err, scan, slice, split_scheme, to_owned_cow};
use crate::message::escape::{LENIENT_EXTRA, RESERVED, UNRESERVED};

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

    pub(super) fn parse_after_scheme(
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
mod tests {
    use super::*;
    use crate::message::uri::Uri;
    use crate::message::uri::UriErrorKind as K;
    use crate::message::uri::test_util::*;

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
}
