//! Writing message text: the one place that writes start lines and header rows
//! (`name ": " value CRLF`, RFC 3261 §7.1, §7.2, §7.3), CSeq (§20.16), Content-Length and
//! the blank line that ends the header section (§20.14, §7.5), and works out their sizes.
//! The builder ([`super::builder`]), the requests the layers write themselves
//! ([`RequestText`]: in-dialog requests, the ACK for a 2xx) and the responses, ACKs and
//! CANCELs the transaction layer writes (`transaction/layer/skeleton.rs`) all write
//! through it.
//!
//! It holds the one guard against header injection: a CR, LF or NUL in a row's name or
//! value would end the row early and start another one the caller never wrote (§7.3.1), so
//! a row from text a caller gave ([`row_with`], [`check_row`]) is refused whole,
//! the text left as it was, when [`has_cr_lf_nul`] finds one. The rows written unchecked
//! ([`row_unchecked`]) are the stack's own (names it spells, numbers, tags, values already
//! checked) and rows copied from a parsed message, folds and all: copying a received row
//! as it was received is what §8.2.6.2 and §17.1.1.3 ask for, and the parser made it a row.

use super::name::HeaderName;
use bytes::Bytes;
use std::ops::Range;

/// A row refused by the guard: its name or value holds a CR, LF or NUL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refused;

/// Whether `v` holds a CR, LF or NUL: the one guard (a word-at-a-time scan, see
/// [`super::scan::has_cr_lf_nul`]).
#[inline]
pub(crate) fn has_cr_lf_nul(v: &[u8]) -> bool {
    super::scan::has_cr_lf_nul(v)
}

/// The guard on a row before it is written: `Err` if its name or value holds a CR, LF or
/// NUL.
#[inline]
pub(crate) fn check_row(name: &str, value: &str) -> Result<(), Refused> {
    if has_cr_lf_nul(name.as_bytes()) || has_cr_lf_nul(value.as_bytes()) {
        return Err(Refused);
    }
    Ok(())
}

/// Appends `name ": "`, what `write_value` appends, and CRLF. Refused, and `s` left as it
/// was, if the name or the value holds a CR, LF or NUL; with `name_checked` the name is
/// not looked at again (a name the stack spells itself, or a `token` the caller checked).
/// Gives where the value is in `s`.
#[inline(always)]
pub(crate) fn row_with(
    s: &mut String,
    name: &str,
    name_checked: bool,
    write_value: impl FnOnce(&mut String),
) -> Result<Range<usize>, Refused> {
    if !name_checked && has_cr_lf_nul(name.as_bytes()) {
        return Err(Refused);
    }
    let start = s.len();
    s.push_str(name);
    s.push_str(": ");
    let vs = s.len();
    write_value(s);
    let ve = s.len();
    if has_cr_lf_nul(&s.as_bytes()[vs..]) {
        s.truncate(start);
        return Err(Refused);
    }
    s.push_str("\r\n");
    Ok(vs..ve)
}

/// Appends `name: value` CRLF, the value in pieces, unchecked: for rows the stack writes
/// itself and rows copied from a parsed message (see the module documentation).
#[inline(always)]
pub(crate) fn row_unchecked(s: &mut String, name: &str, pieces: &[&str]) {
    s.push_str(name);
    s.push_str(": ");
    for p in pieces {
        s.push_str(p);
    }
    s.push_str("\r\n");
}

/// The bytes [`row_unchecked`] writes for `name` and a value of `value_len` bytes.
#[inline]
pub(crate) const fn row_len(name: &str, value_len: usize) -> usize {
    name.len() + ": ".len() + value_len + "\r\n".len()
}

/// Appends `Request-Line = Method SP Request-URI SP SIP-Version CRLF` (§7.1). The caller
/// checks the URI (its own rules: the builder's, or the endpoint's for a remote target).
#[inline]
pub(crate) fn request_line(s: &mut String, method: &str, uri: &str) {
    s.push_str(method);
    s.push(' ');
    s.push_str(uri);
    s.push_str(" SIP/2.0\r\n");
}

/// Appends `Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF` (§7.2). The
/// caller checks the reason phrase.
#[inline]
pub(crate) fn status_line(s: &mut String, status: u16, reason: &str) {
    s.push_str("SIP/2.0 ");
    crate::text::push_uint(s, status);
    s.push(' ');
    s.push_str(reason);
    s.push_str("\r\n");
}

/// The bytes [`status_line`] writes.
#[inline]
pub(crate) fn status_line_len(status: u16, reason: &str) -> usize {
    "SIP/2.0 ".len() + decimal_len(usize::from(status)) + 1 + reason.len() + "\r\n".len()
}

/// Where the reason phrase starts in a line [`status_line`] wrote for a three-digit code.
pub(crate) const STATUS_REASON_AT: usize = "SIP/2.0 000 ".len();

/// Appends `CSeq: n METHOD` CRLF (§20.16): a number and a method token, nothing to check.
#[inline]
pub(crate) fn cseq_row(s: &mut String, n: u32, method: &str) {
    s.push_str("CSeq: ");
    crate::text::push_uint(s, n);
    s.push(' ');
    s.push_str(method);
    s.push_str("\r\n");
}

/// Appends the `Content-Length: len` row (§20.14). Gives where the value is in `s`.
#[inline]
pub(crate) fn content_length_row(s: &mut String, len: usize) -> Range<usize> {
    s.push_str(HeaderName::ContentLength.as_str());
    s.push_str(": ");
    let vs = s.len();
    crate::text::push_uint(s, len);
    let ve = s.len();
    s.push_str("\r\n");
    vs..ve
}

/// Appends the Content-Length row and the blank line that ends the header section (§7.5).
/// Always inlined: called from another module, the call cost more than the row.
#[inline(always)]
pub(crate) fn content_length(s: &mut String, len: usize) {
    s.push_str("Content-Length: ");
    crate::text::push_uint(s, len);
    s.push_str("\r\n\r\n");
}

/// The bytes [`content_length`] writes.
#[inline]
pub(crate) fn content_length_len(len: usize) -> usize {
    "Content-Length: \r\n\r\n".len() + decimal_len(len)
}

/// The number of decimal digits of `n`.
#[inline]
pub(crate) fn decimal_len(n: usize) -> usize {
    n.checked_ilog10().map_or(1, |l| l as usize + 1)
}

/// Writes a request the endpoint writes itself (in-dialog requests, the ACK for a 2xx),
/// straight to bytes: no builder, no re-parse. Values are unfolded (a peer's folded header
/// value is copied as one line) and any other CR, LF or NUL is refused, so nothing can inject
/// a header.
pub(crate) struct RequestText {
    s: String,
}

/// A received header value as one line: each fold (CRLF and the blanks after it, §7.3.1)
/// becomes one space, as the request writer would write it. `false` (and the value as
/// given) if it holds a CR, LF or NUL that is not part of a fold.
pub(crate) fn unfolded(v: &str) -> (std::borrow::Cow<'_, str>, bool) {
    if !has_cr_lf_nul(v.as_bytes()) {
        return (v.into(), true);
    }
    let mut out = String::with_capacity(v.len());
    let mut rest = v;
    while let Some(i) = rest.find(['\r', '\n', '\0']) {
        let (head, tail) = rest.split_at(i);
        out.push_str(head);
        match tail.strip_prefix("\r\n") {
            Some(t) if t.starts_with([' ', '\t']) => {
                out.push(' ');
                rest = t.trim_start_matches([' ', '\t']);
            }
            _ => return (v.into(), false),
        }
    }
    out.push_str(rest);
    (out.into(), true)
}

/// A value with a bare CR, LF or NUL that cannot be written.
#[derive(Debug)]
pub(crate) struct BadValue;

impl RequestText {
    /// A request line; `capacity` is the expected size of the whole request.
    pub(crate) fn new(method: &str, uri: &str, capacity: usize) -> Result<Self, BadValue> {
        if uri.is_empty() || uri.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(BadValue);
        }
        let mut s = String::with_capacity(capacity);
        request_line(&mut s, method, uri);
        Ok(RequestText { s })
    }

    /// A row with a value from elsewhere: unfolded, and refused if the name or the value
    /// (but for folds) holds a CR, LF or NUL — the writer's guard, on both.
    pub(crate) fn header(&mut self, name: &str, value: &str) -> Result<(), BadValue> {
        match unfolded(value) {
            (v, true) if !has_cr_lf_nul(name.as_bytes()) => {
                row_unchecked(&mut self.s, name, &[&v]);
                Ok(())
            }
            _ => Err(BadValue),
        }
    }

    /// A row the endpoint wrote or already checked (no CR, LF or NUL): no scan.
    pub(crate) fn trusted(&mut self, name: &str, value: &str) {
        debug_assert!(!has_cr_lf_nul(value.as_bytes()));
        row_unchecked(&mut self.s, name, &[value]);
    }

    /// The CSeq row (§8.1.1.5): a number and a method token, nothing to check.
    pub(crate) fn cseq(&mut self, n: u32, method: &str) {
        cseq_row(&mut self.s, n, method);
    }

    pub(crate) fn finish(mut self, body: Option<(&str, &[u8])>) -> Result<Bytes, BadValue> {
        let body = body.unwrap_or(("", b""));
        if !body.1.is_empty() {
            self.header("Content-Type", body.0)?;
        }
        content_length(&mut self.s, body.1.len());
        let mut out = self.s.into_bytes();
        out.extend_from_slice(body.1);
        Ok(Bytes::from(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_len_counts_digits() {
        for n in [
            0usize,
            1,
            9,
            10,
            99,
            100,
            699,
            999,
            1000,
            65_535,
            usize::MAX,
        ] {
            assert_eq!(decimal_len(n), n.to_string().len(), "{n}");
        }
        for k in 1..20 {
            let p = 10usize.pow(k);
            assert_eq!(decimal_len(p - 1), k as usize);
            assert_eq!(decimal_len(p), k as usize + 1);
        }
    }

    /// The guard against a plain search, at every length around the switch to `memchr3`
    /// and every position, with bytes ≥ 0x80 and the neighbours of CR, LF and NUL.
    #[test]
    fn the_guard_finds_every_cr_lf_and_nul() {
        for len in 0..80 {
            let base: Vec<u8> = (0..len)
                .map(|k| [b'a', 0x80, 0xff, 0x0b, 0x0e, 0x01, b' ', b'\t'][k % 8])
                .collect();
            assert!(!has_cr_lf_nul(&base), "{base:?}");
            for at in 0..len {
                for c in 0..=255u8 {
                    let mut v = base.clone();
                    v[at] = c;
                    let want = v.iter().any(|&c| matches!(c, b'\r' | b'\n' | 0));
                    assert_eq!(has_cr_lf_nul(&v), want, "{v:?}");
                }
            }
        }
    }

    /// Every checked way to write a row refuses a CR, LF or NUL in the name or the value,
    /// and leaves the text as it was; the unchecked ones and the fixed rows write exactly
    /// what they say.
    #[test]
    fn rows_with_cr_lf_or_nul_are_refused() {
        for bad in ["\r", "\n", "\0", "a\r\nInjected: 1", "a\0b"] {
            let name = format!("X-{bad}");
            let value = format!("v{bad}v");
            let mut s = String::from("INVITE sip:a@b SIP/2.0\r\n");
            let before = s.clone();
            assert_eq!(
                row_with(&mut s, &name, false, |s| s.push_str("ok")),
                Err(Refused)
            );
            assert_eq!(
                row_with(&mut s, "X-Ok", true, |s| s.push_str(&value)),
                Err(Refused)
            );
            assert_eq!(check_row(&name, "ok"), Err(Refused));
            assert_eq!(check_row("X-Ok", &value), Err(Refused));
            assert_eq!(s, before);
        }
        let mut s = String::new();
        assert_eq!(
            row_with(&mut s, "X-Ok", false, |s| s.push_str("ab")),
            Ok(6..8)
        );
        assert_eq!(check_row("X-Ok", "a \t\u{e9}"), Ok(()));
        let at = row_with(&mut s, "Subject", true, |s| s.push_str(" hi ")).unwrap();
        assert_eq!(&s[at], " hi ");
        row_unchecked(&mut s, "Via", &["SIP/2.0/UDP h", ";branch=z9hG4bK1"]);
        cseq_row(&mut s, 7, "INVITE");
        let at = content_length_row(&mut s, 120);
        assert_eq!(&s[at], "120");
        content_length(&mut s, 0);
        assert_eq!(
            s,
            "X-Ok: ab\r\nSubject:  hi \r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
             CSeq: 7 INVITE\r\nContent-Length: 120\r\nContent-Length: 0\r\n\r\n"
        );
        assert_eq!(row_len("Via", 3), "Via: abc\r\n".len());
        assert_eq!(content_length_len(120), "Content-Length: 120\r\n\r\n".len());
        let mut l = String::new();
        request_line(&mut l, "ACK", "sip:a@b");
        status_line(&mut l, 180, "Ringing");
        assert_eq!(l, "ACK sip:a@b SIP/2.0\r\nSIP/2.0 180 Ringing\r\n");
        assert_eq!(
            status_line_len(180, "Ringing"),
            "SIP/2.0 180 Ringing\r\n".len()
        );
        assert_eq!(
            &l["ACK sip:a@b SIP/2.0\r\n".len() + STATUS_REASON_AT..][..7],
            "Ringing"
        );
    }

    #[test]
    fn stored_header_values_are_unfolded_and_bare_line_breaks_flagged() {
        assert_eq!(
            unfolded("<sip:a@b>;tag=1"),
            ("<sip:a@b>;tag=1".into(), true)
        );
        assert_eq!(
            unfolded("\"A\"\r\n <sip:a@b>;tag=1"),
            ("\"A\" <sip:a@b>;tag=1".into(), true)
        );
        assert_eq!(
            unfolded("\"A\"\r\n\t \t<sip:a@b>\r\n ;tag=1"),
            ("\"A\" <sip:a@b> ;tag=1".into(), true)
        );
        for bad in [
            "<sip:a@b>\r\nX: y",
            "<sip:a@b>\n x",
            "<sip:a@b>\0",
            "<sip:a@b>\r",
        ] {
            assert_eq!(unfolded(bad), (bad.into(), false), "{bad:?}");
        }
    }
}
