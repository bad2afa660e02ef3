//! Character classes and small lexing helpers for the RFC 3261 §25.1 grammar.
//!
//! Everything here works on bytes with 256-entry tables, so a class test is one load.
//! Line folding (LWS = `[*WSP CRLF] 1*WSP`) is handled by treating CR and LF as whitespace
//! inside header values: a header value's span may contain a fold, and every typed parser
//! skips it wherever the grammar allows whitespace.
//!
//! Word-at-a-time searches and comparisons are in [`swar`], the one place for them.

mod swar;
pub(crate) use swar::{
    Caseless, LOW_BYTES, find_byte, find_in_words, find_lf, find_sep_then_end, has_cr_lf_nul,
    word_at_padded, word_of,
};

const fn table(chars: &[u8], alnum: bool) -> [bool; 256] {
    let mut t = [false; 256];
    if alnum {
        let mut c = b'0';
        while c <= b'9' {
            t[c as usize] = true;
            c += 1;
        }
        let mut c = b'a';
        while c <= b'z' {
            t[c as usize] = true;
            t[(c - 32) as usize] = true;
            c += 1;
        }
    }
    let mut i = 0;
    while i < chars.len() {
        t[chars[i] as usize] = true;
        i += 1;
    }
    t
}

/// `token` characters (§25.1): alphanum and `-.!%*_+`'~`.
pub(crate) static TOKEN: [bool; 256] = table(b"-.!%*_+`'~", true);
/// `word` characters (§25.1), used by Call-ID: token plus `()<>:\"/[]?{}`.
pub(crate) static WORD: [bool; 256] = table(b"-.!%*_+`'~()<>:\\\"/[]?{}", true);

/// Bytes that may appear in a URI as far as the quick shape check goes: anything above SP
/// except DEL, `<`, `>` and `"` (bytes of UTF-8 sequences included).
pub(crate) static URI_TEXT: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0x21;
    while c < 256 {
        t[c] = !matches!(c as u8, 0x7f | b'<' | b'>' | b'"');
        c += 1;
    }
    t
};
/// [`URI_TEXT`] without `?` and `,`, which need the URI to be enclosed in `<>`.
pub(crate) static URI_TEXT_BARE: [bool; 256] = {
    let mut t = URI_TEXT;
    t[b'?' as usize] = false;
    t[b',' as usize] = false;
    t
};
/// `scheme` characters after the first (§19.1.1 via RFC 3986 §3.1): alphanum and `+-.`.
pub(crate) static SCHEME: [bool; 256] = table(b"+-.", true);
/// Unquoted display-name characters that need no further check: token characters and
/// SP / HTAB.
pub(crate) static DISPLAY: [bool; 256] = table(b"-.!%*_+`'~ \t", true);

/// Host name characters of a Via sent-by: alphanum and `-._`.
pub(crate) static HOST: [bool; 256] = table(b"-._", true);
/// Characters of an unquoted parameter value: token characters and `:`.
pub(crate) static PARAM_VALUE: [bool; 256] = table(b"-.!%*_+`'~:", true);
/// Decimal digits.
pub(crate) static DIGIT: [bool; 256] = table(b"0123456789", false);

/// The end of the run of bytes of class `t` that starts at `b[i]`: the first index at or
/// after `i` whose byte is not in the class, or `b.len()`. Four bytes per step (one branch
/// for four table lookups), then byte by byte.
///
/// One function for every caller, inlined where the compiler finds it pays: forced
/// inlining everywhere measured 4–5 % more instructions per parse, and the forced copy the
/// hot decoders had used made the INVITE parse some 50 instructions dearer than this.
#[inline]
pub fn run(b: &[u8], mut i: usize, t: &[bool; 256]) -> usize {
    while let Some(w) = b.get(i..i + 4) {
        if !(t[w[0] as usize] & t[w[1] as usize] & t[w[2] as usize] & t[w[3] as usize]) {
            break;
        }
        i += 4;
    }
    while let Some(&c) = b.get(i) {
        if !t[c as usize] {
            break;
        }
        i += 1;
    }
    i
}

/// The value of the decimal digits at `b[i]`, at most `max_digits` of them (≤ 19, so the
/// value fits), and the index after the last one (`i` itself when there is none).
#[inline(always)]
pub fn leading_digits(b: &[u8], mut i: usize, max_digits: usize) -> (u64, usize) {
    let start = i;
    let mut n: u64 = 0;
    while let Some(&c) = b.get(i)
        && c.is_ascii_digit()
        && i - start < max_digits
    {
        n = n * 10 + u64::from(c - b'0');
        i += 1;
    }
    (n, i)
}

/// A sent-by port (RFC 3261 §20.42) at `b[i]`: its value and the index after its digits;
/// `None` with no digit or above 65535.
#[inline(always)]
pub fn port_at(b: &[u8], mut i: usize) -> Option<(u16, usize)> {
    let start = i;
    // Held below 2^20 so that it cannot overflow: what `parse_decimal` of the digits would
    // give against the limit 65535.
    let mut port: u32 = 0;
    while let Some(&c) = b.get(i)
        && c.is_ascii_digit()
    {
        port = (port * 10 + u32::from(c - b'0')).min(1 << 20);
        i += 1;
    }
    if i == start {
        return None;
    }
    Some((u16::try_from(port).ok()?, i))
}

/// [`run`] of [`URI_TEXT`]: sixteen bytes per step while none of them can end the run
/// (the test is written with one accumulator per condition, which the compiler turns into
/// a few vector compares), then the table for the block that ends it.
#[inline(always)]
pub fn run_uri_text(b: &[u8], mut i: usize) -> usize {
    while let Some(w) = b.get(i..i + 16) {
        let (mut ctl, mut angle, mut quote, mut del) = (0u8, 0u8, 0u8, 0u8);
        for &c in w {
            ctl |= u8::from(c <= b' ');
            // `<` and `>` (they differ in bit 1 only).
            angle |= u8::from(c | 2 == b'>');
            quote |= u8::from(c == b'"');
            del |= u8::from(c == 0x7f);
        }
        if ctl | angle | quote | del != 0 {
            break;
        }
        i += 16;
    }
    run(b, i, &URI_TEXT)
}

/// Whether `b` is a `token` character.
#[inline]
pub fn is_token(b: u8) -> bool {
    TOKEN[b as usize]
}

/// Whether `s` is a non-empty `token`.
pub fn is_token_str(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token)
}

/// Whitespace inside a header value: SP, HTAB, and the CR/LF of a fold.
#[inline]
pub fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Strips leading and trailing LWS (including folds).
pub fn trim_lws(s: &str) -> &str {
    let b = s.as_bytes();
    let (mut i, mut j) = (0, b.len());
    while i < j && is_lws(b[i]) {
        i += 1;
    }
    while j > i && is_lws(b[j - 1]) {
        j -= 1;
    }
    // The trimmed bytes are ASCII, so both ends are character boundaries.
    s.get(i..j).unwrap_or("")
}

/// Index of the first non-LWS byte at or after `i`.
#[inline]
pub fn skip_lws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_lws(b[i]) {
        i += 1;
    }
    i
}

/// Given `b[i] == b'"'`, returns the index just past the closing quote, honouring
/// quoted-pairs (`\x`). `None` if the string is unterminated.
pub fn skip_quoted(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

/// Splits a header value at top-level commas: commas inside a quoted string or inside
/// `<...>` do not split (§7.3.1). Yields untrimmed pieces.
pub fn split_commas(s: &str) -> CommaSplit<'_> {
    CommaSplit {
        s,
        pos: 0,
        done: false,
    }
}

/// The end of the first piece [`split_commas`] yields for `b`: the first comma outside
/// quotes and `<...>`, or `b.len()`.
pub(crate) fn first_comma_piece(b: &[u8]) -> usize {
    let mut i = 0;
    let mut angle = false;
    while i < b.len() {
        match b[i] {
            b'"' if !angle => match skip_quoted(b, i) {
                Some(j) => {
                    i = j;
                    continue;
                }
                None => break,
            },
            b'<' => angle = true,
            b'>' => angle = false,
            b',' if !angle => return i,
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// Iterator returned by [`split_commas`].
#[derive(Debug, Clone)]
pub struct CommaSplit<'a> {
    s: &'a str,
    pos: usize,
    done: bool,
}

impl<'a> Iterator for CommaSplit<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        if self.done {
            return None;
        }
        let b = self.s.as_bytes();
        let start = self.pos;
        let mut i = start;
        let mut angle = false;
        while i < b.len() {
            match b[i] {
                b'"' if !angle => match skip_quoted(b, i) {
                    Some(j) => {
                        i = j;
                        continue;
                    }
                    None => break,
                },
                b'<' => angle = true,
                b'>' => angle = false,
                b',' if !angle => {
                    self.pos = i + 1;
                    return self.s.get(start..i);
                }
                _ => {}
            }
            i += 1;
        }
        self.done = true;
        self.s.get(start..)
    }
}

/// Parses a decimal number of at most `max` value; `None` on any non-digit, empty input or
/// overflow (RFC 4475 §3.1.2.4: overlarge scalars are errors, not wrap-arounds).
#[inline]
pub fn parse_decimal(s: &str, max: u64) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    if s.len() <= 19 {
        // Up to 19 digits cannot overflow a u64: no checked arithmetic needed.
        let mut v: u64 = 0;
        for &c in s.as_bytes() {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            v = v * 10 + u64::from(d);
        }
        return (v <= max).then_some(v);
    }
    // Leading zeros are allowed by the grammar (1*DIGIT) and do not count towards overflow.
    let s = match s.trim_start_matches('0') {
        "" => "0",
        t => t,
    };
    if s.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in s.as_bytes() {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    (v <= max).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_and_ports() {
        assert_eq!(leading_digits(b"123 x", 0, 10), (123, 3));
        assert_eq!(leading_digits(b"x1", 0, 10), (0, 0));
        assert_eq!(leading_digits(b"12345", 1, 2), (23, 3));
        assert_eq!(port_at(b":5060;", 1), Some((5060, 5)));
        assert_eq!(port_at(b"65535", 0), Some((65535, 5)));
        assert_eq!(port_at(b"65536", 0), None);
        assert_eq!(port_at(b"0000000000000000000001", 0), Some((1, 22)));
        assert_eq!(port_at(b"99999999999999999999", 0), None);
        assert_eq!(port_at(b";", 0), None);
    }

    #[test]
    fn uri_text_run_is_the_table_run() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        for len in 0..80 {
            for _ in 0..200 {
                let v: Vec<u8> = (0..len)
                    .map(|_| {
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        // Mostly URI text, sometimes a byte that may end the run.
                        if rng.is_multiple_of(23) {
                            (rng >> 8) as u8
                        } else {
                            b'a' + (rng % 26) as u8
                        }
                    })
                    .collect();
                for i in 0..=len {
                    assert_eq!(run_uri_text(&v, i), run(&v, i, &URI_TEXT), "{v:?} {i}");
                }
            }
        }
        for c in 0..=255u8 {
            let v = [b'a', b'b', c, b'c'].repeat(8);
            assert_eq!(run_uri_text(&v, 0), run(&v, 0, &URI_TEXT), "{c}");
        }
    }

    #[test]
    fn classes() {
        assert!(is_token(b'a') && is_token(b'~') && is_token(b'%'));
        assert!(!is_token(b' ') && !is_token(b'"') && !is_token(b':'));
        assert!(WORD[b'<' as usize] && WORD[b'"' as usize] && !WORD[b' ' as usize]);
        assert!(is_token_str("INVITE") && !is_token_str("IN VITE") && !is_token_str(""));
    }

    #[test]
    fn commas_respect_quotes_and_angles() {
        let v: Vec<_> =
            split_commas(r#""Doe, J" <sip:a@b;x=1,2>;p=1, <sip:c@d>,sip:e@f"#).collect();
        assert_eq!(
            v,
            [r#""Doe, J" <sip:a@b;x=1,2>;p=1"#, " <sip:c@d>", "sip:e@f"]
        );
        let v: Vec<_> = split_commas(r#""a\",b", c"#).collect();
        assert_eq!(v, [r#""a\",b""#, " c"]);
        assert_eq!(split_commas("").collect::<Vec<_>>(), [""]);
    }

    #[test]
    fn runs_stop_at_the_first_byte_outside_the_class() {
        let text = b"pc33.atlanta.example.com:5060;branch";
        assert_eq!(run(text, 0, &HOST), 24);
        assert_eq!(run(text, 25, &DIGIT), 29);
        assert_eq!(run(text, 30, &TOKEN), text.len());
        assert_eq!(run(text, 24, &HOST), 24);
        assert_eq!(run(text, text.len(), &TOKEN), text.len());
        assert_eq!(run(text, text.len() + 3, &TOKEN), text.len() + 3);
        for len in 0..12 {
            let mut v = vec![b'a'; len];
            v.push(b' ');
            v.push(b'a');
            assert_eq!(run(&v, 0, &TOKEN), len);
        }
    }

    #[test]
    fn quoted_and_decimal() {
        assert_eq!(parse_decimal("0000000000000000000000068", 255), Some(68));
        assert_eq!(
            parse_decimal("4294967295", u64::from(u32::MAX)),
            Some(4294967295)
        );
        assert_eq!(parse_decimal("4294967296", u64::from(u32::MAX)), None);
        assert_eq!(
            parse_decimal("9999999999999999999", u64::MAX),
            Some(9999999999999999999)
        );
        assert_eq!(
            parse_decimal("18446744073709551615", u64::MAX),
            Some(u64::MAX)
        );
        assert_eq!(parse_decimal("18446744073709551616", u64::MAX), None);
        assert_eq!(parse_decimal("1a", 255), None);
        assert_eq!(parse_decimal("", 255), None);
        assert_eq!(skip_quoted(br#""a\"b" x"#, 0), Some(6));
        assert_eq!(skip_quoted(br#""abc"#, 0), None);
        assert_eq!(parse_decimal("0068", 255), Some(68));
        assert_eq!(parse_decimal("300", 255), None);
        assert_eq!(parse_decimal("36893488147419103232", u64::MAX), None);
        assert_eq!(parse_decimal("-1", 10), None);
        assert_eq!(trim_lws(" \r\n x \t"), "x");
    }
}
