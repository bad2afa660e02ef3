//! Character classes and `%HH` escaping for SIP and tel URIs (RFC 3261 §19.1.2, §25.1;
//! RFC 3966 §3).
//!
//! Every class is answered by one load from a 256-entry table of bit flags, so the URI parser
//! can classify a byte in a single instruction sequence without branches on character ranges.
//! The `is_*` functions are `const fn` and usable in other tables.
//!
//! Escaping here works on bytes: a character outside the allowed class is written as the
//! `%HH` escape (upper-case hex) of each of its UTF-8 bytes, which is what §19.1.2 requires
//! of a URI built from arbitrary text.

use std::borrow::Cow;

use thiserror::Error;

/// `alphanum` (RFC 3261 §25.1 / RFC 5234 ALPHA and DIGIT).
pub(crate) const ALNUM: u32 = 1 << 0;
/// `mark`: `- _ . ! ~ * ' ( )` (RFC 3261 §25.1).
pub(crate) const MARK: u32 = 1 << 1;
/// `user-unreserved`: `& = + $ , ; ? /`.
pub(crate) const USER_UNRES: u32 = 1 << 2;
/// The characters a `password` adds to `unreserved`: `& = + $ ,`.
pub(crate) const PASS_EXTRA: u32 = 1 << 3;
/// `param-unreserved`: `[ ] / : & + $`.
pub(crate) const PARAM_UNRES: u32 = 1 << 4;
/// `hnv-unreserved`: `[ ] / ? : + $`.
pub(crate) const HNV_UNRES: u32 = 1 << 5;
/// `reserved` (RFC 2396 §2.2 as amended by RFC 2732): `; / ? : @ & = + $ , [ ]`.
pub(crate) const RESERVED: u32 = 1 << 6;
/// Printable characters that no grammar class allows but that cannot delimit a URI inside a
/// SIP header either: `# " { } | \ ^ `` ` `` [ ]` and every non-ASCII byte. Only the lenient
/// parser accepts them.
pub(crate) const LENIENT_EXTRA: u32 = 1 << 7;
/// `HEXDIG`, either case.
pub(crate) const HEX: u32 = 1 << 8;
/// `token` (RFC 3261 §25.1): `alphanum - . ! % * _ + ` ' ~`.
pub(crate) const TOKEN: u32 = 1 << 9;
/// Characters after the first of a URI `scheme` (RFC 3986 §3.1): `alphanum + - .`.
pub(crate) const SCHEME: u32 = 1 << 10;
/// Characters of a host name as found in the wild: `alphanum - . _`.
pub(crate) const DOMAIN: u32 = 1 << 11;
/// `visual-separator` (RFC 3966 §3): `- . ( )`.
pub(crate) const VISUAL_SEP: u32 = 1 << 12;
/// `@`, accepted by the lenient parser inside parameters and header values.
pub(crate) const AT: u32 = 1 << 13;
/// `=`, accepted by the lenient parser inside parameter and header values.
pub(crate) const EQ: u32 = 1 << 14;
/// `;` and `,`, accepted by the lenient parser inside header values.
pub(crate) const SEMI_COMMA: u32 = 1 << 15;
/// Host-name characters other than digits and `.`: an IPv4 address has none of them.
pub(crate) const NOT_IPV4: u32 = 1 << 16;

/// `unreserved` = `alphanum / mark`.
pub(crate) const UNRESERVED: u32 = ALNUM | MARK;

const fn set(t: &mut [u32; 256], chars: &[u8], flag: u32) {
    let mut i = 0;
    while i < chars.len() {
        t[chars[i] as usize] |= flag;
        i += 1;
    }
}

const fn build_table() -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut b = 0usize;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() {
            t[b] |= ALNUM | TOKEN | SCHEME | DOMAIN;
        }
        if c.is_ascii_hexdigit() {
            t[b] |= HEX;
        }
        if c >= 0x80 {
            t[b] |= LENIENT_EXTRA;
        }
        b += 1;
    }
    set(&mut t, b"-_.!~*'()", MARK);
    set(&mut t, b"&=+$,;?/", USER_UNRES);
    set(&mut t, b"&=+$,", PASS_EXTRA);
    set(&mut t, b"[]/:&+$", PARAM_UNRES);
    set(&mut t, b"[]/?:+$", HNV_UNRES);
    set(&mut t, b";/?:@&=+$,[]", RESERVED);
    set(&mut t, b"#\"{}|\\^`[]", LENIENT_EXTRA);
    set(&mut t, b"-.!%*_+`'~", TOKEN);
    set(&mut t, b"+-.", SCHEME);
    set(&mut t, b"-._", DOMAIN);
    set(&mut t, b"-.()", VISUAL_SEP);
    set(&mut t, b"@", AT);
    set(&mut t, b"=", EQ);
    set(&mut t, b";,", SEMI_COMMA);
    let mut c = 0usize;
    while c < 256 {
        if t[c] & DOMAIN != 0 && !(c as u8).is_ascii_digit() && c as u8 != b'.' {
            t[c] |= NOT_IPV4;
        }
        c += 1;
    }
    t
}

/// The class table: one set of flags per byte value.
pub(crate) static CLASS: [u32; 256] = build_table();
const CLASS_CONST: [u32; 256] = build_table();

/// Whether byte `b` carries any of the class flags in `mask`.
#[inline(always)]
pub(crate) fn has(b: u8, mask: u32) -> bool {
    CLASS[b as usize] & mask != 0
}

#[inline(always)]
const fn has_const(b: u8, mask: u32) -> bool {
    CLASS_CONST[b as usize] & mask != 0
}

/// `unreserved` = `alphanum / mark` (RFC 3261 §25.1).
pub const fn is_unreserved(b: u8) -> bool {
    has_const(b, UNRESERVED)
}

/// `mark` = `- _ . ! ~ * ' ( )` (RFC 3261 §25.1).
pub const fn is_mark(b: u8) -> bool {
    has_const(b, MARK)
}

/// `user-unreserved` = `& = + $ , ; ? /` (RFC 3261 §25.1).
pub const fn is_user_unreserved(b: u8) -> bool {
    has_const(b, USER_UNRES)
}

/// A character that may appear unescaped in the `user` part of a SIP URI:
/// `unreserved / user-unreserved` (RFC 3261 §25.1).
pub const fn is_user_char(b: u8) -> bool {
    has_const(b, UNRESERVED | USER_UNRES)
}

/// A character that may appear unescaped in a `password`:
/// `unreserved / & = + $ ,` (RFC 3261 §25.1).
pub const fn is_password_char(b: u8) -> bool {
    has_const(b, UNRESERVED | PASS_EXTRA)
}

/// `param-unreserved` = `[ ] / : & + $` (RFC 3261 §25.1).
pub const fn is_param_unreserved(b: u8) -> bool {
    has_const(b, PARAM_UNRES)
}

/// A `paramchar` other than an escape: `param-unreserved / unreserved` (RFC 3261 §25.1;
/// the same class in RFC 3966 §3).
pub const fn is_param_char(b: u8) -> bool {
    has_const(b, PARAM_UNRES | UNRESERVED)
}

/// `hnv-unreserved` = `[ ] / ? : + $` (RFC 3261 §25.1).
pub const fn is_hnv_unreserved(b: u8) -> bool {
    has_const(b, HNV_UNRES)
}

/// A character that may appear unescaped in a URI header name or value:
/// `hnv-unreserved / unreserved` (RFC 3261 §25.1).
pub const fn is_header_char(b: u8) -> bool {
    has_const(b, HNV_UNRES | UNRESERVED)
}

/// `reserved` = `; / ? : @ & = + $ , [ ]` (RFC 2396 §2.2, RFC 2732 §3).
pub const fn is_reserved(b: u8) -> bool {
    has_const(b, RESERVED)
}

/// `uric` other than an escape: `reserved / unreserved` (RFC 2396 §2).
pub const fn is_uric(b: u8) -> bool {
    has_const(b, RESERVED | UNRESERVED)
}

/// `token` character (RFC 3261 §25.1): `alphanum - . ! % * _ + ` ' ~`.
pub const fn is_token_char(b: u8) -> bool {
    has_const(b, TOKEN)
}

/// `HEXDIG`, accepting both cases as ABNF does (RFC 5234 §B.1).
pub const fn is_hex(b: u8) -> bool {
    has_const(b, HEX)
}

/// `visual-separator` = `- . ( )` (RFC 3966 §3).
pub const fn is_visual_separator(b: u8) -> bool {
    has_const(b, VISUAL_SEP)
}

/// An escape that could not be decoded (RFC 3261 §25.1 `escaped = "%" HEXDIG HEXDIG`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EscapeError {
    /// A `%` not followed by two hexadecimal digits.
    #[error("expected two hex digits after '%' at byte {offset}")]
    BadEscape {
        /// Byte offset of the `%`.
        offset: usize,
    },
    /// The decoded bytes are not UTF-8 (use [`unescape_bytes`] for binary content).
    #[error("unescaped text is not valid UTF-8")]
    InvalidUtf8,
}

#[inline]
const fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes the escape starting at `pos` (which holds `%`), if it is a valid one.
#[inline]
pub(crate) fn decode_at(bytes: &[u8], pos: usize) -> Option<u8> {
    let hi = hex_val(*bytes.get(pos + 1)?)?;
    let lo = hex_val(*bytes.get(pos + 2)?)?;
    Some((hi << 4) | lo)
}

/// Decodes every `%HH` escape (RFC 3261 §19.1.2) and returns the raw bytes. Borrows when
/// `s` contains no `%`. A `%` not followed by two hex digits is an error.
pub fn unescape_bytes(s: &str) -> Result<Cow<'_, [u8]>, EscapeError> {
    let bytes = s.as_bytes();
    let Some(first) = memchr::memchr(b'%', bytes) else {
        return Ok(Cow::Borrowed(bytes));
    };
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(bytes.get(..first).unwrap_or_default());
    let mut pos = first;
    while let Some(&b) = bytes.get(pos) {
        if b == b'%' {
            let v = decode_at(bytes, pos).ok_or(EscapeError::BadEscape { offset: pos })?;
            out.push(v);
            pos += 3;
        } else {
            out.push(b);
            pos += 1;
        }
    }
    Ok(Cow::Owned(out))
}

/// Decodes every `%HH` escape (RFC 3261 §19.1.2) into text. Borrows (no allocation) when `s`
/// contains no `%`. Fails on a malformed escape or when the decoded bytes are not UTF-8.
pub fn unescape(s: &str) -> Result<Cow<'_, str>, EscapeError> {
    match unescape_bytes(s)? {
        Cow::Borrowed(_) => Ok(Cow::Borrowed(s)),
        Cow::Owned(v) => String::from_utf8(v)
            .map(Cow::Owned)
            .map_err(|_| EscapeError::InvalidUtf8),
    }
}

/// Decodes `%HH` escapes as the lenient parser reads them: a `%` that does not start a valid
/// escape stands for itself, and bytes that are not UTF-8 become U+FFFD. Never fails;
/// borrows when `s` contains no `%`.
pub fn unescape_lossy(s: &str) -> Cow<'_, str> {
    if memchr::memchr(b'%', s.as_bytes()).is_none() {
        return Cow::Borrowed(s);
    }
    let bytes: Vec<u8> = unescaped_bytes(s).collect();
    match String::from_utf8(bytes) {
        Ok(v) => Cow::Owned(v),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// Iterator over the decoded bytes of a URI component; see [`unescaped_bytes`].
#[derive(Debug, Clone)]
pub struct UnescapedBytes<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Iterator for UnescapedBytes<'_> {
    type Item = u8;

    #[inline]
    fn next(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.pos)?;
        if b == b'%'
            && let Some(v) = decode_at(self.bytes, self.pos)
        {
            self.pos += 3;
            return Some(v);
        }
        self.pos += 1;
        Some(b)
    }
}

/// Iterates over the bytes of `s` with `%HH` escapes decoded, without allocating. A `%` that
/// does not start a valid escape is yielded as itself. Used for the §19.1.4 rule that
/// escaped and unescaped spellings of a character compare equal.
pub fn unescaped_bytes(s: &str) -> UnescapedBytes<'_> {
    UnescapedBytes {
        bytes: s.as_bytes(),
        pos: 0,
    }
}

/// Whether `a` and `b` are the same once escapes are decoded (RFC 3261 §19.1.4), byte for
/// byte (`ignore_case == false`) or ignoring ASCII case.
pub fn eq_unescaped(a: &str, b: &str, ignore_case: bool) -> bool {
    let (ab, bb) = (a.as_bytes(), b.as_bytes());
    if memchr::memchr(b'%', ab).is_none() && memchr::memchr(b'%', bb).is_none() {
        return if ignore_case {
            ab.eq_ignore_ascii_case(bb)
        } else {
            ab == bb
        };
    }
    let mut x = unescaped_bytes(a);
    let mut y = unescaped_bytes(b);
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some(p), Some(q)) => {
                let same = if ignore_case {
                    p.eq_ignore_ascii_case(&q)
                } else {
                    p == q
                };
                if !same {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Escapes every byte of `s` whose class has none of the flags in `keep`.
fn escape_with(s: &str, keep: u32) -> Cow<'_, str> {
    let bytes = s.as_bytes();
    let Some(first) = bytes.iter().position(|&b| !has(b, keep)) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(bytes.len() + 8);
    out.push_str(s.get(..first).unwrap_or_default());
    for &b in bytes.get(first..).unwrap_or_default() {
        if has(b, keep) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
            out.push(char::from(HEX_UPPER[usize::from(b & 0x0f)]));
        }
    }
    Cow::Owned(out)
}

/// Escapes text for the `user` part of a SIP URI: everything outside
/// `unreserved / user-unreserved` (RFC 3261 §25.1), including `%`, `@` and `:`, becomes
/// `%HH`. Borrows when nothing needs escaping.
pub fn escape_user(s: &str) -> Cow<'_, str> {
    escape_with(s, UNRESERVED | USER_UNRES)
}

/// Escapes text for the `password` part of a SIP URI: everything outside
/// `unreserved / & = + $ ,` (RFC 3261 §25.1) becomes `%HH`.
pub fn escape_password(s: &str) -> Cow<'_, str> {
    escape_with(s, UNRESERVED | PASS_EXTRA)
}

/// Escapes a URI parameter name or value: everything outside `paramchar` (RFC 3261 §25.1),
/// including `;`, `=`, `?` and `%`, becomes `%HH`.
pub fn escape_param(s: &str) -> Cow<'_, str> {
    escape_with(s, UNRESERVED | PARAM_UNRES)
}

/// Escapes a URI header name or value: everything outside `hnv-unreserved / unreserved`
/// (RFC 3261 §25.1), including `&`, `=` and `%`, becomes `%HH`.
pub fn escape_header(s: &str) -> Cow<'_, str> {
    escape_with(s, UNRESERVED | HNV_UNRES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_match_rfc3261_25_1() {
        for b in 0u8..=255 {
            let c = char::from(b);
            let unreserved = c.is_ascii_alphanumeric() || "-_.!~*'()".contains(c) && b < 0x80;
            assert_eq!(is_unreserved(b), unreserved, "unreserved {b:#x}");
            assert_eq!(
                is_user_unreserved(b),
                b < 0x80 && "&=+$,;?/".contains(c),
                "user-unreserved {b:#x}"
            );
            assert_eq!(
                is_param_unreserved(b),
                b < 0x80 && "[]/:&+$".contains(c),
                "param-unreserved {b:#x}"
            );
            assert_eq!(
                is_hnv_unreserved(b),
                b < 0x80 && "[]/?:+$".contains(c),
                "hnv-unreserved {b:#x}"
            );
            assert_eq!(is_hex(b), c.is_ascii_hexdigit(), "hex {b:#x}");
            assert_eq!(
                is_visual_separator(b),
                b < 0x80 && "-.()".contains(c),
                "visual {b:#x}"
            );
        }
        assert!(is_password_char(b'$') && !is_password_char(b';') && !is_password_char(b':'));
        assert!(is_token_char(b'%') && is_token_char(b'`') && !is_token_char(b'('));
        assert!(is_uric(b'@') && is_uric(b'[') && !is_uric(b'#') && !is_uric(b' '));
        assert!(is_reserved(b'@') && !is_reserved(b'-'));
        assert!(is_user_char(b'?') && !is_user_char(b'@') && !is_user_char(b':'));
        assert!(is_param_char(b':') && !is_param_char(b';') && !is_param_char(b'='));
        assert!(is_header_char(b'?') && !is_header_char(b'&') && !is_header_char(b'='));
        assert!(is_mark(b'~') && !is_mark(b'a'));
        // No class admits whitespace or control characters.
        for b in (0u8..=0x20).chain([0x7f]) {
            assert_eq!(CLASS[usize::from(b)], 0, "{b:#x}");
        }
    }

    #[test]
    fn unescape_borrows_without_percent() {
        assert!(matches!(unescape("alice"), Ok(Cow::Borrowed("alice"))));
        assert!(matches!(unescape_bytes("a"), Ok(Cow::Borrowed(b"a"))));
        assert!(matches!(unescape_lossy("bob"), Cow::Borrowed("bob")));
    }

    #[test]
    fn unescape_decodes_rfc4475_examples() {
        // RFC 4475 §3.1.1.3 and §3.1.1.4.
        assert_eq!(unescape("%75se%72").unwrap(), "user");
        assert_eq!(
            unescape("sips%3Auser%40example.com").unwrap(),
            "sips:user@example.com"
        );
        assert_eq!(unescape("v%61lue%25%34%31").unwrap(), "value%41");
        assert_eq!(unescape("null-%00-null").unwrap(), "null-\0-null");
        assert_eq!(unescape("%e2%82%ac").unwrap(), "\u{20ac}");
    }

    #[test]
    fn unescape_errors() {
        assert_eq!(unescape("ab%G1"), Err(EscapeError::BadEscape { offset: 2 }));
        assert_eq!(unescape("ab%4"), Err(EscapeError::BadEscape { offset: 2 }));
        assert_eq!(unescape("%"), Err(EscapeError::BadEscape { offset: 0 }));
        assert_eq!(unescape("%FF"), Err(EscapeError::InvalidUtf8));
        assert_eq!(unescape_bytes("%FF%00").unwrap().as_ref(), &[0xff, 0x00]);
    }

    #[test]
    fn lossy_and_iterator_keep_bad_percent() {
        assert_eq!(unescape_lossy("100%"), "100%");
        assert_eq!(unescape_lossy("a%zz%41"), "a%zzA");
        assert_eq!(unescape_lossy("%FF"), "\u{fffd}");
        assert_eq!(unescaped_bytes("%4").collect::<Vec<_>>(), b"%4".to_vec());
    }

    #[test]
    fn eq_unescaped_cases() {
        assert!(eq_unescaped("%61lice", "alice", false));
        assert!(!eq_unescaped("%41lice", "alice", false));
        assert!(eq_unescaped("%41lice", "alice", true));
        assert!(eq_unescaped("TCP", "tcp", true));
        assert!(!eq_unescaped("TCP", "tcp", false));
        assert!(!eq_unescaped("ab", "abc", true));
        assert!(!eq_unescaped("a%62", "a", true));
    }

    #[test]
    fn escaping_per_class() {
        assert!(matches!(escape_user("alice"), Cow::Borrowed("alice")));
        assert_eq!(escape_user("a b@c:d%"), "a%20b%40c%3Ad%25");
        assert_eq!(escape_user("+1;phone-context=x?/"), "+1;phone-context=x?/");
        assert_eq!(escape_user("\u{e9}"), "%C3%A9");
        assert_eq!(escape_password("p:w;d&"), "p%3Aw%3Bd&");
        assert_eq!(escape_param("a;b=c?d"), "a%3Bb%3Dc%3Fd");
        assert_eq!(escape_param("[::1]:5"), "[::1]:5");
        assert_eq!(escape_header("project x&y=z"), "project%20x%26y%3Dz");
        assert_eq!(escape_header("sip:bob@b?"), "sip:bob%40b?");
    }

    #[test]
    fn escape_then_unescape_round_trips() {
        for s in ["", "a b", "%%%", "\u{1f600}x", "@:;?&=", "\0\r\n"] {
            assert_eq!(unescape(&escape_user(s)).unwrap(), s);
            assert_eq!(unescape(&escape_password(s)).unwrap(), s);
            assert_eq!(unescape(&escape_param(s)).unwrap(), s);
            assert_eq!(unescape(&escape_header(s)).unwrap(), s);
        }
    }
}
