//! Word-at-a-time byte work ("SWAR": eight bytes of the message read as one little-endian
//! `u64`), in one place: the searches of the header section (the first LF, the first `:`,
//! any byte of a short value) and the comparisons of short spellings in either ASCII case
//! (`SIP/2.0/`, `udp `, `;tag`, `sip:`, header and Via parameter names). Safe code only:
//! every load is `from_le_bytes` of a checked slice.
//!
//! A search marks the bytes equal to the needle: XOR-ing a word with the needle in every
//! byte turns each match into a zero byte, and `(x - 0x01..) & !x & 0x80..` sets the high
//! bit of each zero byte. A borrow only propagates upwards from a zero byte, so the lowest
//! mark is exact (marks above it may be false), which is the one every search here needs.
//! A comparison ORs `0x20` into the letters of the word only: `c | 0x20` is a given
//! lower-case letter only for that letter in either case, and the other bytes are compared
//! unchanged.
//!
//! Every function is checked against a byte-by-byte reference in the tests below, at every
//! length and alignment around the word and block sizes, with bytes ≥ 0x80 around the
//! needle (the high bit is where the marks live).
//!
//! `memchr` does the same jobs, but on the short texts searched here (header lines and
//! values, mostly under 80 bytes) its set-up costs more than these scans. Measured with
//! callgrind (instructions per message): `memchr` in [`find_lf`] made the INVITE parse
//! 5,244 → 5,325 and the 40-header parse 15,145 → 16,001; in [`find_byte`] the 200 OK parse
//! +47 and the INVITE/200/ACK cycle +139 (the server cycle −55); in the Via/Contact comma
//! test of `validate` alone, the server cycle 12,651 → 12,678 and the call 59,678 → 59,898;
//! `memchr2` in [`find_sep_then_end`], a parse that takes the general line path every line
//! 10,947 → 11,125. `memchr` stays where texts are long or the search is off the usual path
//! (the stream framer, URIs, escapes, the decoders' general steps).

/// `0x01` in every byte.
const LO: u64 = 0x0101_0101_0101_0101;
/// `0x80` in every byte.
const HI: u64 = 0x8080_8080_8080_8080;

/// `LOW_BYTES[n]` keeps the low `n` bytes of a little-endian word (`n` from 0 to 8).
pub(crate) const LOW_BYTES: [u64; 9] = {
    let mut t = [0u64; 9];
    let mut n = 1;
    while n < 8 {
        t[n] = (1u64 << (8 * n)) - 1;
        n += 1;
    }
    t[8] = u64::MAX;
    t
};

/// The marks of `needle` in the word `w`: the high bit of each byte equal to it, and
/// possibly of bytes above the lowest one (see the module documentation).
#[inline(always)]
pub(crate) const fn marks(w: u64, needle: u8) -> u64 {
    let x = w ^ (LO * needle as u64);
    x.wrapping_sub(LO) & !x & HI
}

/// The index of the byte of the lowest mark of `m` (8 when `m` is zero).
#[inline(always)]
pub(crate) const fn first_marked(m: u64) -> usize {
    (m.trailing_zeros() / 8) as usize
}

/// The first eight bytes of `w` as a little-endian word; `None` when `w` is shorter.
#[inline(always)]
pub(crate) fn load(w: &[u8]) -> Option<u64> {
    match *w {
        [a, b, c, d, e, f, g, h, ..] => Some(u64::from_le_bytes([a, b, c, d, e, f, g, h])),
        _ => None,
    }
}

/// The eight bytes of `b` at `at` as a little-endian word; `None` when fewer remain.
#[inline(always)]
pub(crate) fn word_at(b: &[u8], at: usize) -> Option<u64> {
    // (`at..at + 8` rather than `load(b.get(at..)?)`: 60 instructions fewer per INVITE
    // parse. Wrapping: an `at` that would overflow makes an empty range, so `None`.)
    b.get(at..at.wrapping_add(8))
        .map(|w| u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]))
}

/// Up to eight bytes of `b` at `at` as a little-endian word, zero past the end of `b`.
#[inline(always)]
pub(crate) fn word_at_padded(b: &[u8], at: usize) -> u64 {
    match word_at(b, at) {
        Some(w) => w,
        None => b
            .get(at..)
            .unwrap_or(&[])
            .iter()
            .take(8)
            .enumerate()
            .fold(0, |x, (k, &c)| x | u64::from(c) << (8 * k)),
    }
}

/// The bytes of `p` (at most eight) as a little-endian word, zero past its end.
pub(crate) const fn word_of(p: &[u8]) -> u64 {
    assert!(p.len() <= 8);
    let mut w = 0;
    let mut i = 0;
    while i < p.len() {
        w |= (p[i] as u64) << (8 * i);
        i += 1;
    }
    w
}

/// A spelling of at most eight bytes, compared with a word in one step, its ASCII letters
/// in either case (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caseless {
    /// `0x20` on the letters of the spelling.
    fold: u64,
    /// The spelling, letters in lower case, zero past its end.
    lower: u64,
}

impl Caseless {
    /// The spelling `p` (at most eight bytes; more is a compile-time error in a `const`).
    pub(crate) const fn new(p: &[u8]) -> Caseless {
        assert!(p.len() <= 8);
        let (mut fold, mut lower) = (0u64, 0u64);
        let mut i = 0;
        while i < p.len() {
            let f = if p[i].is_ascii_alphabetic() {
                0x20u8
            } else {
                0
            };
            fold |= (f as u64) << (8 * i);
            lower |= ((p[i] | f) as u64) << (8 * i);
            i += 1;
        }
        Caseless { fold, lower }
    }

    /// Whether the word `w` is the spelling, its letters in either case (bytes of `w` past
    /// the spelling's length must be zero).
    #[inline(always)]
    pub(crate) const fn matches(self, w: u64) -> bool {
        w | self.fold == self.lower
    }

    /// [`Caseless::matches`] for a spelling of at most four bytes and a 32-bit word.
    #[inline(always)]
    pub(crate) const fn matches4(self, w: u32) -> bool {
        w | self.fold as u32 == self.lower as u32
    }

    /// Whether the eight bytes of `b` at `at` are the spelling (of eight bytes).
    #[inline(always)]
    pub(crate) fn matches_at(self, b: &[u8], at: usize) -> bool {
        word_at(b, at).is_some_and(|w| self.matches(w))
    }
}

/// The marks of `needle` in the first eight bytes of `w` (zero when `w` is shorter).
#[inline(always)]
fn block_marks(w: &[u8], needle: u8) -> u64 {
    match load(w) {
        Some(x) => marks(x, needle),
        None => 0,
    }
}

/// Index of the first `needle` in `b` at or after `i`, if any. Sixteen bytes per step: the
/// "any match in this block" test is written so that the compiler turns it into one vector
/// compare and mask (SSE2 on x86-64, in safe code); the block that has one is then searched
/// a word at a time. With `OVERLAP`, the last bytes (fewer than eight) are searched with one
/// load of the last eight bytes of `b` instead of one by one: cheaper for the short values
/// [`find_byte`] gets, dearer for [`find_lf`] (whose search seldom gets there: the extra
/// code cost its loop some 30 instructions per parse).
#[inline(always)]
fn find_from<const OVERLAP: bool>(b: &[u8], i: usize, needle: u8) -> Option<usize> {
    let rest = b.get(i..)?;
    let mut blocks = rest.chunks_exact(16);
    let mut at = i;
    for w in &mut blocks {
        let mut any = 0u8;
        for &c in w {
            any |= u8::from(c == needle);
        }
        if any != 0 {
            let (lo, hi) = w.split_at(8);
            let m = block_marks(lo, needle);
            if m != 0 {
                return Some(at + first_marked(m));
            }
            return Some(at + 8 + first_marked(block_marks(hi, needle)));
        }
        at += 16;
    }
    let mut words = blocks.remainder().chunks_exact(8);
    for w in &mut words {
        let m = block_marks(w, needle);
        if m != 0 {
            return Some(at + first_marked(m));
        }
        at += 8;
    }
    let tail = words.remainder();
    if tail.is_empty() {
        return None;
    }
    if OVERLAP && let Some(last) = rest.len().checked_sub(8).and_then(|k| rest.get(k..)) {
        // The last eight bytes, overlapping some already searched: none of those is the
        // needle, so none is marked, and the lowest mark is the first match in the tail.
        let m = block_marks(last, needle);
        return (m != 0).then(|| i + rest.len() - 8 + first_marked(m));
    }
    tail.iter().position(|&c| c == needle).map(|k| at + k)
}

/// Index of the first `needle` in `b`, if any.
#[inline(always)]
pub(crate) fn find_byte(b: &[u8], needle: u8) -> Option<usize> {
    find_from::<true>(b, 0, needle)
}

/// Index of the first `b'\n'` in `b` at or after `i`, if any. Never inlined: inlined into
/// the header-line loop it cost some 45 instructions more per INVITE parse.
#[inline(never)]
pub(crate) fn find_lf(b: &[u8], i: usize) -> Option<usize> {
    find_from::<false>(b, i, b'\n')
}

/// From `b[pos]`, a word at a time: the first `sep` if it comes before the first `end`, and
/// the first `end` (after that `sep`). `(None, Some(e))` when `end` comes first, `(None,
/// None)` when neither is there (or `pos` is past the end of `b`).
#[inline(always)]
pub(crate) fn find_sep_then_end(
    b: &[u8],
    pos: usize,
    sep: u8,
    end: u8,
) -> (Option<usize>, Option<usize>) {
    let Some(rest) = b.get(pos..) else {
        return (None, None);
    };
    let mut words = rest.chunks_exact(8);
    let mut at = pos;
    // Until the separator: both marks. The lowest mark of each is exact.
    let found = loop {
        let Some(w) = words.next() else {
            for (k, &c) in words.remainder().iter().enumerate() {
                if c == end {
                    return (None, Some(at + k));
                }
                if c == sep {
                    return (Some(at + k), find_from::<false>(b, at + k + 1, end));
                }
            }
            return (None, None);
        };
        let w = load(w).unwrap_or_default();
        let e = marks(w, end);
        let s = marks(w, sep);
        if e | s != 0 {
            let (sk, ek) = (first_marked(s), first_marked(e));
            if ek < sk {
                return (None, Some(at + ek));
            }
            if e != 0 {
                return (Some(at + sk), Some(at + ek));
            }
            let found = at + sk;
            at += 8;
            break found;
        }
        at += 8;
    };
    // Then the end alone.
    for w in &mut words {
        let m = marks(load(w).unwrap_or_default(), end);
        if m != 0 {
            return (Some(found), Some(at + first_marked(m)));
        }
        at += 8;
    }
    let e = words
        .remainder()
        .iter()
        .position(|&c| c == end)
        .map(|k| at + k);
    (Some(found), e)
}

/// Whether `b` holds a CR, LF or NUL (the message writer's guard against header
/// injection). Sixteen bytes per step with the "any of them in this block" test the
/// compiler turns into vector compares; the last bytes of a longer text by one overlapping
/// block (the question is "any", so bytes seen twice do not matter); a text of 8 to 15 bytes
/// as two overlapping words, a shorter one byte by byte.
#[inline]
pub(crate) fn has_cr_lf_nul(b: &[u8]) -> bool {
    // One accumulator per byte looked for: the form the compiler turns into three vector
    // compares (one accumulator for all three measured 3.5 times dearer).
    let block = |w: &[u8]| {
        let (mut cr, mut lf, mut nul) = (0u8, 0u8, 0u8);
        for &c in w {
            cr |= u8::from(c == b'\r');
            lf |= u8::from(c == b'\n');
            nul |= u8::from(c == 0);
        }
        cr | lf | nul != 0
    };
    let word = |w: u64| marks(w, b'\r') | marks(w, b'\n') | marks(w, 0) != 0;
    let n = b.len();
    if n >= 16 {
        let mut blocks = b.chunks_exact(16);
        for w in &mut blocks {
            if block(w) {
                return true;
            }
        }
        return !blocks.remainder().is_empty() && b.get(n - 16..).is_some_and(block);
    }
    if n >= 8 {
        return word_at(b, 0).is_some_and(word) || word_at(b, n - 8).is_some_and(word);
    }
    b.iter().any(|&c| matches!(c, b'\r' | b'\n' | 0))
}

/// The first `needle` in the `8 * N` bytes from `b[pos]`, and those bytes as `N` words
/// (zero from the word after the one that holds the needle). `None` when none of them is
/// the needle, or when the bytes run out (a word that is not whole) before it is found.
#[inline(always)]
pub(crate) fn find_in_words<const N: usize>(
    b: &[u8],
    pos: usize,
    needle: u8,
) -> Option<(usize, [u64; N])> {
    let mut words = [0u64; N];
    let mut k = 0;
    loop {
        let w = word_at(b, pos + 8 * k)?;
        *words.get_mut(k)? = w;
        let m = marks(w, needle);
        if m != 0 {
            return Some((pos + 8 * k + first_marked(m), words));
        }
        if k + 1 >= N {
            return None;
        }
        k += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Byte patterns that exercise the marks: the needle at every position, a second one
    /// above it, bytes ≥ 0x80 and `needle ± 1` around it (a borrow or a high bit next to
    /// a match), over every length up to a few blocks.
    fn texts(needle: u8) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let fillers: [&dyn Fn(usize) -> u8; 4] = [
            &|k| b'a' + (k % 26) as u8,
            &|_| 0xff,
            &|k| [0x80, 0x81, needle ^ 0x80, needle.wrapping_add(1)][k % 4],
            &|k| [needle.wrapping_sub(1), 0x00, 0x7f, 0xfe][k % 4],
        ];
        for fill in fillers {
            for len in 0..42 {
                let base: Vec<u8> = (0..len)
                    .map(fill)
                    .map(|c| if c == needle { c ^ 0x40 } else { c })
                    .collect();
                out.push(base.clone());
                for at in 0..len {
                    let mut v = base.clone();
                    v[at] = needle;
                    out.push(v.clone());
                    for gap in [1, 8, 9] {
                        if at + gap < len {
                            let mut w = v.clone();
                            w[at + gap] = needle;
                            out.push(w);
                        }
                    }
                }
            }
        }
        out
    }

    const NEEDLES: [u8; 7] = [b'\n', b':', b',', 0x00, 0x80, 0xff, 0x01];

    #[test]
    fn find_lf_matches_a_plain_search() {
        let text = b"INVITE sip:a@b SIP/2.0\r\nVia: x\r\n\r\n\n0123456789abcdef\n\x80\x01\n";
        for start in 0..=text.len() + 1 {
            let want = text
                .get(start..)
                .and_then(|r| r.iter().position(|&c| c == b'\n'))
                .map(|k| start + k);
            assert_eq!(find_lf(text, start), want, "from {start}");
        }
        for len in 0..40 {
            let mut v = vec![b'a'; len];
            assert_eq!(find_lf(&v, 0), None);
            v.push(b'\n');
            assert_eq!(find_lf(&v, 0), Some(len));
        }
        // Every position of the LF inside and across the 16-byte blocks, two LFs in a
        // block (the lower one wins), bytes above 0x80 next to it.
        for at in 0..50 {
            let mut v = vec![0xffu8; 52];
            v[at] = b'\n';
            v[51] = b'\n';
            assert_eq!(find_lf(&v, 0), Some(at), "LF at {at}");
            assert_eq!(find_lf(&v, at + 1), Some(51), "after {at}");
        }
    }

    #[test]
    fn find_byte_matches_a_plain_search() {
        for needle in [b',', b'@', 0x80, 0xff, 0] {
            for len in 0..40 {
                for at in 0..=len {
                    let mut v: Vec<u8> = (0..len).map(|k| b'a' + (k % 26) as u8).collect();
                    if at < len {
                        v[at] = needle;
                    }
                    if at + 3 < len {
                        v[at + 3] = needle;
                    }
                    let want = v.iter().position(|&c| c == needle);
                    assert_eq!(find_byte(&v, needle), want, "{needle} in {len} at {at}");
                }
            }
        }
    }

    #[test]
    fn find_from_is_a_plain_search() {
        for needle in NEEDLES {
            for v in texts(needle) {
                for i in 0..=v.len() + 1 {
                    let want = v
                        .get(i..)
                        .and_then(|r| r.iter().position(|&c| c == needle))
                        .map(|k| i + k);
                    assert_eq!(
                        find_from::<false>(&v, i, needle),
                        want,
                        "{needle} {v:?} {i}"
                    );
                    assert_eq!(find_from::<true>(&v, i, needle), want, "{needle} {v:?} {i}");
                    if needle == b'\n' {
                        assert_eq!(find_lf(&v, i), want);
                    }
                    if i == 0 {
                        assert_eq!(find_byte(&v, needle), want);
                    }
                }
            }
        }
    }

    #[test]
    fn find_sep_then_end_is_a_plain_search() {
        for (sep, end) in [(b':', b'\n'), (0x80, 0xff), (0, 1)] {
            let mut cases = texts(sep);
            for v in texts(end) {
                // The other needle somewhere too.
                for at in [3, 17] {
                    let mut w = v.clone();
                    if at < w.len() {
                        w[at] = sep;
                    }
                    cases.push(w);
                }
                cases.push(v);
            }
            for v in cases {
                for pos in 0..=v.len() + 1 {
                    let rest = v.get(pos..).unwrap_or_default();
                    let s = rest.iter().position(|&c| c == sep);
                    let e = rest.iter().position(|&c| c == end);
                    let want = match (s, e) {
                        (Some(s), e) if e.is_none_or(|e| s < e) => (
                            Some(pos + s),
                            rest[s + 1..]
                                .iter()
                                .position(|&c| c == end)
                                .map(|k| pos + s + 1 + k),
                        ),
                        (_, e) => (None, e.map(|e| pos + e)),
                    };
                    assert_eq!(
                        find_sep_then_end(&v, pos, sep, end),
                        want,
                        "{sep} {end} in {v:?} from {pos}"
                    );
                }
            }
        }
    }

    #[test]
    fn has_cr_lf_nul_is_a_plain_search() {
        for needle in [b'\r', b'\n', 0, 0x80] {
            for v in texts(needle) {
                let want = v.iter().any(|&c| matches!(c, b'\r' | b'\n' | 0));
                assert_eq!(has_cr_lf_nul(&v), want, "{v:?}");
            }
        }
        // Every byte at every position of every length up to three blocks.
        for len in 0..49 {
            let base: Vec<u8> = (0..len)
                .map(|k| [b'a', 0x80, 0xff, 0x0b, 0x0e, 0x01, b' ', 0x8d][k % 8])
                .collect();
            assert!(!has_cr_lf_nul(&base));
            for at in 0..len {
                for c in 0..=255u8 {
                    let mut v = base.clone();
                    v[at] = c;
                    let want = matches!(c, b'\r' | b'\n' | 0);
                    assert_eq!(has_cr_lf_nul(&v), want, "{v:?}");
                }
            }
        }
    }

    #[test]
    fn find_in_words_is_a_plain_search_of_whole_words() {
        for needle in NEEDLES {
            for v in texts(needle) {
                for pos in 0..=v.len() + 1 {
                    let rest = v.get(pos..).unwrap_or_default();
                    // The reference: whole words only, three of them at most.
                    let whole = (rest.len() / 8).min(3) * 8;
                    let want = rest[..whole]
                        .iter()
                        .position(|&c| c == needle)
                        .map(|k| pos + k);
                    let got = find_in_words::<3>(&v, pos, needle);
                    assert_eq!(got.map(|(at, _)| at), want, "{needle} in {v:?} from {pos}");
                    if let Some((at, words)) = got {
                        let used = (at - pos) / 8 + 1;
                        for (k, &w) in words.iter().enumerate() {
                            let expect = if k < used {
                                word_at(&v, pos + 8 * k).unwrap()
                            } else {
                                0
                            };
                            assert_eq!(w, expect);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn loads_are_little_endian_and_padded() {
        let b: Vec<u8> = (0..20u8)
            .map(|k| k.wrapping_mul(13).wrapping_add(0x70))
            .collect();
        for at in 0..=b.len() + 2 {
            let want: Option<u64> = b
                .get(at..at + 8)
                .map(|w| w.iter().rev().fold(0u64, |x, &c| x << 8 | u64::from(c)));
            assert_eq!(word_at(&b, at), want, "{at}");
            let padded = (0..8)
                .map(|k| u64::from(*b.get(at + k).unwrap_or(&0)) << (8 * k))
                .fold(0, |x, y| x | y);
            assert_eq!(word_at_padded(&b, at), padded, "{at}");
            assert_eq!(
                word_of(b.get(at..(at + 8).min(b.len())).unwrap_or_default()),
                padded
            );
        }
        for n in 0..=8 {
            assert_eq!(LOW_BYTES[n], word_of(&[0xff; 8][..n]));
        }
    }

    #[test]
    fn marks_find_the_lowest_match() {
        for needle in 0..=255u8 {
            for other in 0..=255u8 {
                for at in 0..8 {
                    let mut b = [other; 8];
                    if other == needle {
                        b = [needle ^ 1; 8];
                    }
                    b[at] = needle;
                    let m = marks(u64::from_le_bytes(b), needle);
                    assert_eq!(first_marked(m), at, "{needle} {other} {at}");
                }
                let b = [other; 8];
                let m = marks(u64::from_le_bytes(b), needle);
                assert_eq!(m != 0, other == needle);
            }
        }
    }

    /// Every spelling the message code compares this way, against every byte in every
    /// position: a word matches exactly when `eq_ignore_ascii_case` says so.
    #[test]
    fn caseless_is_eq_ignore_ascii_case() {
        let spellings: [&[u8]; 12] = [
            b"sip/2.0/",
            b"SIP/2.0",
            b"udp ",
            b"tcp ",
            b"tls ",
            b";tag",
            b"sip:",
            b"branch",
            b"received",
            b"maddr",
            b"rport",
            b"ttl",
        ];
        for p in spellings {
            let c = Caseless::new(p);
            let lower = p.to_ascii_lowercase();
            let upper = p.to_ascii_uppercase();
            let word = |v: &[u8]| word_of(v);
            assert!(c.matches(word(&lower)) && c.matches(word(&upper)) && c.matches(word(p)));
            for at in 0..p.len() {
                for x in 0..=255u8 {
                    let mut v = p.to_vec();
                    v[at] = x;
                    let want = v.eq_ignore_ascii_case(p);
                    assert_eq!(c.matches(word(&v)), want, "{p:?} with {x} at {at}");
                    if p.len() <= 4 {
                        assert_eq!(c.matches4(word(&v) as u32), want);
                    }
                    if p.len() == 8 {
                        assert_eq!(c.matches_at(&v, 0), want);
                    }
                }
            }
            // A byte past the spelling makes it another word.
            if p.len() < 8 {
                let mut v = p.to_vec();
                v.push(b' ');
                assert!(!c.matches(word(&v)));
            }
        }
        assert!(!Caseless::new(b"sip/2.0/").matches_at(b"sip/2.0", 0));
    }
}
