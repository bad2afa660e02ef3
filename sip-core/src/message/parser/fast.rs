//! The parser's fast paths: the shortcuts it takes on the usual shapes of the request line
//! (RFC 3261 §7.1), the header rows (§7.3.1) and the values it decodes (§20, §25.1)
//! instead of the general code, which stays the reference. On every input a fast path accepts, it gives
//! exactly what its reference gives; anything else it hands back (`None`) untouched, and the
//! reference then decides, and says why it fails.
//!
//! | fast path | reference it must agree with |
//! |---|---|
//! | [`fast_request_start`]: the request line `token SP scheme ":" URI-text SP "SIP/2.0" CRLF` read in one pass, with the usual Request-URI's one-pass check (scheme, then URI text up to the SP), before the end of the line is known | `next_line`, then [`general_request_line`](super::general_request_line) (lenient) |
//! | [`fast_request_line`]: the same on a line already found | [`general_request_line`](super::general_request_line) (lenient) |
//! | [`fast_header_lines`], [`fast_header_line`]: `Name: value CRLF` rows, the colon within 24 bytes, the usual names by one word compare ([`canonical_name`]) | [`general_header_line`](super::general_header_line), `HeaderName::lookup_at` |
//! | [`decode_line`], [`parse_via_line`], [`parse_name_addr_line`]: the rows the stack reads, decoded before the end of their line is known | `decode_row`: `parse_via_bytes`, `parse_name_addr_bytes`, `parse_cseq_at`, `value_decimal` on the finished row |
//! | [`request_uri_ok`]: what the builder and the endpoint's written INVITE take as a Request-URI | the URI the lenient request line takes (so that a built request parses back) |
//!
//! The agreement is checked by the tests below: `fast_and_reference_parses_agree` (a
//! proptest) parses generated messages and near misses twice — as the endpoint does, and
//! with every fast path here switched off (`parse_reference`) — and compares the
//! whole results (rows, decoded values, faults, errors and their offsets), lenient and
//! strict; `request_lines_agree` and `request_uri_ok_is_what_the_parser_takes` (proptests)
//! do the same for the request line and the builder's URI check; the example tests pin the
//! shapes at the edges of each path.
//!
//! Smaller shortcuts inside reference functions are checked where they live: the one-pass
//! URI text check of `check_uri_text` (`uri_text_one_pass_is_the_general_check`, in
//! `header/name_addr.rs`), `value_decimal`'s digit loop
//! (`call_id_and_numbers_on_the_fast_and_the_general_path`, here), the in-place `received`
//! stamp (`stamp_received_matches_the_general_rewrite`, in `model.rs`), and the
//! word-at-a-time scans (`scan/swar.rs`).

use super::super::header::name_addr::{
    NameAddrData, TAG, angle_uri_end, check_uri_text, display_end, quoted_in_line, scheme_len,
};
use super::super::header::via::{ViaData, decode_known, is_sip_2_0, is_transport_sp, known_slot};
use super::super::method::Method;
use super::super::model::{ContactData, Decoded, HeaderEntry};
use super::super::name::HeaderName;
use super::super::options::{Limits, ParseOptions};
use super::super::scan::{
    Caseless, HOST, LOW_BYTES, PARAM_VALUE, TOKEN, WORD, find_in_words, find_lf, leading_digits,
    port_at, run, run_uri_text, word_of,
};
use super::super::span::Span;
use super::{decode_outlined, decodes};

// ---- The request line ------------------------------------------------------------------

/// The common lenient case in one pass: `token SP scheme ":" URI-text SP "SIP/2.0"`, which
/// every lenient check of the general code accepts with the same result. `None` for anything else
/// (the full code then decides, and says why it fails).
#[inline]
pub(super) fn fast_request_line(sl: &str, opts: &ParseOptions) -> Option<(Method, Span)> {
    let b = sl.as_bytes();
    let me = run(b, 0, &TOKEN);
    if me == 0 || b.get(me) != Some(&b' ') {
        return None;
    }
    let us = me + 1;
    let k = us + scheme_len(b.get(us..)?)?;
    let ue = run_uri_text(b, k);
    if b.get(ue) != Some(&b' ')
        || !is_sip_2_0_end(b.get(ue + 1..)?)
        || ue - us > opts.limits.max_uri_length
    {
        return None;
    }
    let method = Method::parse(sl.get(..me)?)?;
    Some((method, Span::new(us, ue)))
}

/// [`fast_request_line`] on the message bytes, before the end of the line is known: the
/// request line `token SP scheme ":" URI-text SP "SIP/2.0" CRLF` (the line then ends at that
/// CRLF: none of its bytes is a LF), within the line and URI length limits. Gives the end of
/// the method, the end of the Request-URI and the end of the line's content; `None` for
/// anything else (the general code then finds the line and decides).
#[inline]
pub(super) fn fast_request_start(b: &[u8], opts: &ParseOptions) -> Option<(usize, usize, usize)> {
    let me = run(b, 0, &TOKEN);
    if me == 0 || b.get(me) != Some(&b' ') {
        return None;
    }
    let us = me + 1;
    let k = us + scheme_len(b.get(us..)?)?;
    let ue = run_uri_text(b, k);
    let end = ue + 8;
    if b.get(ue) != Some(&b' ')
        || !is_sip_2_0_end(b.get(ue + 1..end)?)
        || b.get(end..end + 2) != Some(b"\r\n")
        || ue - us > opts.limits.max_uri_length
        || end > opts.limits.max_line_length
    {
        return None;
    }
    Some((me, ue, end))
}

/// Whether `v` is `SIP/2.0` with the letters in either case, compared as one word.
#[inline]
fn is_sip_2_0_end(v: &[u8]) -> bool {
    const SIP_2_0: Caseless = Caseless::new(b"SIP/2.0");
    match *v {
        [a, b, c, d, e, f, g] => SIP_2_0.matches(u64::from_le_bytes([a, b, c, d, e, f, g, 0])),
        _ => false,
    }
}

// ---- Header lines ---------------------------------------------------------------------

/// The common header lines from `b[pos]` on ([`fast_header_line`]), each row pushed and,
/// when complete, decoded; stops at the empty line, at the row limit, or at a line for the
/// general code. Gives where it stopped. `b` must be shorter than `u32::MAX`.
///
/// `#[inline]` so that it is compiled with its caller, in the parser's codegen unit (the
/// compiler still keeps it out of line): compiled on its own, from this module, it took
/// some 170 instructions more per INVITE parse.
#[inline]
pub(super) fn fast_header_lines(
    b: &[u8],
    mut pos: usize,
    limits: &Limits,
    headers: &mut Vec<HeaderEntry>,
    decoded: &mut Decoded,
    cl_err: &mut Option<Span>,
    strict: bool,
) -> usize {
    loop {
        if b.get(pos) == Some(&b'\r') && b.get(pos + 1) == Some(&b'\n') {
            return pos;
        }
        if headers.len() >= limits.max_headers {
            return pos;
        }
        let Some((row, next, done)) =
            fast_header_line(b, pos, limits.max_line_length, decoded, strict)
        else {
            return pos;
        };
        headers.push(row);
        if !done && decodes(row.name) && !matches!(b.get(next), Some(b' ' | b'\t')) {
            // A row the stack reads that was not decoded on the line: the general decoder,
            // out of line (rare).
            decode_outlined(b, headers.len() - 1, &row, decoded, strict, cl_err);
        }
        pos = next;
    }
}

/// The common header line in one pass: `name ":" value CRLF`, the colon within the first
/// 24 bytes with no blank before it, the name a known one or a `token`, the line within
/// `max_line` bytes. `b` must be shorter than `u32::MAX`. Gives the row exactly as the
/// general code ([`general_header_line`](super::general_header_line)) would build it, and
/// the start of the next line; `None` for anything else (folds, the empty line, bare LF,
/// errors), which the general code then handles.
#[inline(always)]
fn fast_header_line(
    b: &[u8],
    pos: usize,
    max_line: usize,
    d: &mut Decoded,
    strict: bool,
) -> Option<(HeaderEntry, usize, bool)> {
    // The first colon within 24 bytes. A LF before it needs no test of its own: the name
    // would then hold it, and a name with a byte that is not a `token` character is refused
    // below (a known name matches only its own letters).
    let (colon, words) = find_in_words::<3>(b, pos, b':')?;
    let len = colon - pos;
    let name = canonical_name(len, words).unwrap_or_else(|| HeaderName::lookup_words(len, words));
    // A known name is its own letters (so not empty, no blank before the colon); any
    // other name is checked here.
    if name == HeaderName::Other
        && (len == 0 || matches!(b[colon - 1], b' ' | b'\t') || run(b, pos, &TOKEN) != colon)
    {
        return None;
    }
    // The caller checked that every offset into `b` fits in a `u32`: what `Span::new` would
    // give, without its saturation.
    let span = |a: usize, z: usize| Span {
        start: a as u32,
        end: z as u32,
    };
    // A row the stack decodes, with the usual `": "` and a value that starts with a byte
    // that is not blank: its decoder finds the end of the line.
    if matches!(
        name,
        HeaderName::Via
            | HeaderName::From
            | HeaderName::To
            | HeaderName::Contact
            | HeaderName::CallId
            | HeaderName::CSeq
            | HeaderName::MaxForwards
            | HeaderName::ContentLength
    ) && b.get(colon + 1) == Some(&b' ')
        && b.get(colon + 2)
            .is_some_and(|&c| !matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
        && let Some(cr) = decode_line(b, pos, colon + 2, name, d, strict, max_line)
    {
        // `name ": " value CRLF` by construction: verbatim when the name is written in
        // full (not compact).
        let row = HeaderEntry {
            name,
            name_span: span(pos, colon),
            value: span(colon + 2, cr),
            line: span(pos, cr + 2),
            verbatim: len == name.canonical_len(),
        };
        debug_assert_eq!(row.verbatim, row.is_verbatim(b));
        return Some((row, cr + 2, true));
    }
    let nl = find_lf(b, colon + 1)?;
    let end = nl - 1;
    if b[end] != b'\r' || end - pos > max_line {
        return None;
    }
    // The usual `": value"`: one SP, then a byte that is not blank, and a last byte that
    // is not blank, needs no trim loop (`colon + 2 < end` keeps both reads inside the line).
    let (mut vs, mut ve) = (colon + 1, end);
    if vs + 1 < ve
        && b[vs] == b' '
        && !matches!(b[vs + 1], b' ' | b'\t' | b'\r' | b'\n')
        && !matches!(b[ve - 1], b' ' | b'\t')
    {
        vs += 1;
    } else {
        while vs < ve && matches!(b[vs], b' ' | b'\t' | b'\r' | b'\n') {
            vs += 1;
        }
        while ve > vs && matches!(b[ve - 1], b' ' | b'\t') {
            ve -= 1;
        }
    }
    let row = HeaderEntry {
        name,
        name_span: span(pos, colon),
        value: span(vs, ve),
        line: span(pos, nl + 1),
        verbatim: vs == colon + 2
            && ve == end
            && b[colon + 1] == b' '
            && len == name.canonical_len(),
    };
    debug_assert_eq!(row.verbatim, row.is_verbatim(b));
    Some((row, nl + 1, false))
}

/// Whether the CR at `b[cr]` (found by a decoder, so no LF comes before it on the line that
/// starts at `pos`) ends that line within `max_line` bytes and no fold follows.
#[inline(always)]
fn line_ends_at(b: &[u8], pos: usize, cr: usize, max_line: usize) -> bool {
    b.get(cr + 1) == Some(&b'\n')
        && cr - pos <= max_line
        && !matches!(b.get(cr + 2), Some(b' ' | b'\t'))
}

/// The names of the rows decoded on the line, in their usual spelling, recognised by one
/// word compare (what [`HeaderName::lookup_words`] gives for them; any other spelling goes
/// there).
#[inline(always)]
fn canonical_name(len: usize, w: [u64; 3]) -> Option<HeaderName> {
    let lo = |n: usize| w[0] & LOW_BYTES[n];
    Some(match len {
        2 if lo(2) == word_of(b"To") => HeaderName::To,
        3 if lo(3) == word_of(b"Via") => HeaderName::Via,
        4 if lo(4) == word_of(b"From") => HeaderName::From,
        4 if lo(4) == word_of(b"CSeq") => HeaderName::CSeq,
        7 if lo(7) == word_of(b"Call-ID") => HeaderName::CallId,
        7 if lo(7) == word_of(b"Contact") => HeaderName::Contact,
        12 if w[0] == word_of(b"Max-Forw") && w[1] as u32 == word_of(b"ards") as u32 => {
            HeaderName::MaxForwards
        }
        14 if w[0] == word_of(b"Content-") && w[1] & LOW_BYTES[6] == word_of(b"Length") => {
            HeaderName::ContentLength
        }
        5 if lo(5) == word_of(b"Allow") => HeaderName::Allow,
        5 if lo(5) == word_of(b"Route") => HeaderName::Route,
        12 if w[0] == word_of(b"Content-") && w[1] as u32 == word_of(b"Type") as u32 => {
            HeaderName::ContentType
        }
        12 if w[0] == word_of(b"Record-R") && w[1] as u32 == word_of(b"oute") as u32 => {
            HeaderName::RecordRoute
        }
        10 if w[0] == word_of(b"User-Age") && w[1] as u16 == word_of(b"nt") as u16 => {
            HeaderName::UserAgent
        }
        _ => return None,
    })
}

/// Decodes the value of a row the stack reads, starting at `b[vs]` (not a blank), when it
/// has its usual shape, without knowing where the line ends: the decoder stops at the CR
/// that must end the line. When `line_ok` accepts that CR, the value is stored in `d` as
/// [`decode_row`](super::decode_row) would store it for the value `vs..cr`, and the CR's position is returned.
/// The CR is accepted when it ends the line (the bytes before it are the decoder's, none a
/// LF), the line from `pos` is within `max_line`, and no fold follows: the row is then the
/// one [`fast_header_line`] would build, and it is complete.
/// `None` (nothing stored) when the row is not one decoded here, its slot is already
/// taken (duplicates are recorded by `decode_row`), or the value is not of the usual shape.
#[inline(always)]
fn decode_line(
    b: &[u8],
    pos: usize,
    vs: usize,
    name: HeaderName,
    d: &mut Decoded,
    strict: bool,
    max_line: usize,
) -> Option<usize> {
    let line_ok = |cr: usize| line_ends_at(b, pos, cr, max_line);
    match name {
        HeaderName::Via if d.via.is_none() => {
            let (via, cr) = parse_via_line(b, vs)?;
            line_ok(cr).then(|| d.via = Some(via))?;
            Some(cr)
        }
        HeaderName::From if d.from.is_none() => {
            let (na, cr) = parse_name_addr_line(b, vs)?;
            line_ok(cr).then(|| d.from = Some(na))?;
            Some(cr)
        }
        HeaderName::To if d.to.is_none() => {
            let (na, cr) = parse_name_addr_line(b, vs)?;
            line_ok(cr).then(|| d.to = Some(na))?;
            Some(cr)
        }
        HeaderName::Contact if d.contact.is_none() => {
            // A `,` outside `<>` or a `*` would stop the decoder before the CR, so the value
            // is one element.
            let (na, cr) = parse_name_addr_line(b, vs)?;
            line_ok(cr).then(|| d.contact = Some(ContactData::Addr(na)))?;
            Some(cr)
        }
        HeaderName::CallId if d.call_id.is_none() => {
            let k = run(b, vs, &WORD);
            let cr = if b.get(k) == Some(&b'@') {
                run(b, k + 1, &WORD)
            } else {
                k
            };
            if cr == vs || b.get(cr) != Some(&b'\r') {
                return None;
            }
            line_ok(cr).then(|| d.call_id = Some(Span::new(vs, cr)))?;
            Some(cr)
        }
        HeaderName::CSeq if d.cseq.is_none() => {
            // 1 to 10 digits, one SP, a token (`parse_cseq_at`'s fast path).
            let (n, i) = leading_digits(b, vs, 10);
            if i == vs || b.get(i) != Some(&b' ') || n >= 1 << 31 && strict {
                return None;
            }
            let n = u32::try_from(n).ok()?;
            let cr = run(b, i + 1, &TOKEN);
            if cr == i + 1 || b.get(cr) != Some(&b'\r') {
                return None;
            }
            line_ok(cr).then(|| d.cseq = Some((n, Span::new(i + 1, cr))))?;
            Some(cr)
        }
        HeaderName::MaxForwards | HeaderName::ContentLength => {
            // 1 to 9 digits (`value_decimal`'s fast path).
            let (n, i) = leading_digits(b, vs, 9);
            if i == vs || b.get(i) != Some(&b'\r') {
                return None;
            }
            if name == HeaderName::MaxForwards {
                if d.max_forwards.is_some() || n > 255 || !line_ok(i) {
                    return None;
                }
                d.max_forwards = Some(n as u8);
            } else {
                if d.content_length.is_some() || !line_ok(i) {
                    return None;
                }
                d.content_length = Some(n as usize);
            }
            Some(i)
        }
        _ => None,
    }
}

// ---- Values decoded on their line -----------------------------------------------------

/// The usual top Via of a header line, read without knowing where the line ends:
/// `SIP/2.0/` (any case), `UDP`, `TCP` or `TLS` and one SP, a host name, an optional
/// `:port`, then `;name[=value]` parameters without blanks, and a CR. Gives the via-parm and
/// the position of that CR, which is what [`parse_via_bytes`](super::super::header::via::parse_via_bytes) gives for the value ending
/// there (the caller checks that the CR ends the line and that no fold follows). `None`
/// for anything else, which the caller then parses the general way.
#[inline]
fn parse_via_line(b: &[u8], start: usize) -> Option<(ViaData, usize)> {
    let mut d = ViaData::default();
    let mut i = start;
    if !is_sip_2_0(b, i) {
        return None;
    }
    d.protocol = Span::new(i, i + 3);
    d.version = Span::new(i + 4, i + 7);
    i += 8;
    let &[x, y, z, sp] = b.get(i..i + 4)? else {
        return None;
    };
    if !is_transport_sp(u32::from_le_bytes([x, y, z, sp])) {
        return None;
    }
    d.transport = Span::new(i, i + 3);
    // One SP, then the host (no further blank to skip).
    i += 4;
    let host_start = i;
    i = run(b, i, &HOST);
    if i == host_start {
        return None;
    }
    d.host = Span::new(host_start, i);
    if b.get(i) == Some(&b':') {
        let (port, pe) = port_at(b, i + 1)?;
        d.port = Some(port);
        i = pe;
    }
    let params_start = i;
    let mut known: [Option<(usize, Option<std::ops::Range<usize>>)>; 5] =
        [None, None, None, None, None];
    // The fast step of `scan_params_with`, the CR standing for the end of the value.
    while b.get(i) == Some(&b';') {
        let ns = i + 1;
        let ne = run(b, ns, &TOKEN);
        if ne == ns {
            return None;
        }
        let v = match b.get(ne) {
            Some(b'=') => {
                let ve = run(b, ne + 1, &PARAM_VALUE);
                if ve == ne + 1 {
                    return None;
                }
                i = ve;
                Some(ne + 1..ve)
            }
            Some(b';' | b'\r') => {
                i = ne;
                None
            }
            _ => return None,
        };
        if let Some(slot) = known_slot(&b[ns..ne])
            && known[slot].is_none()
        {
            known[slot] = Some((ns, v));
        }
    }
    if b.get(i) != Some(&b'\r') {
        return None;
    }
    d.params = Span::new(params_start, i);
    d.whole = Span::new(start, i);
    decode_known(b, &known, &mut d).ok()?;
    Some((d, i))
}

/// The usual name-addr of a header line, read without knowing where the line ends: an
/// unquoted display name of token characters and blanks (or none), `<`, a URI of the shape
/// [`check_uri_text`] accepts right up to `>`, then nothing, `;tag=value`, or
/// `;name[=value]` parameters without blanks, and a CR. Gives the value and the position of
/// that CR, which is what [`parse_name_addr_bytes`](super::super::header::name_addr::parse_name_addr_bytes) gives (in either mode) for the value
/// ending there; the caller checks that the CR ends the line and that no fold follows.
/// `None` for anything else, which the caller then parses the general way. `b[i]` must not
/// be a blank.
#[inline(always)]
fn parse_name_addr_line(b: &[u8], i: usize) -> Option<(NameAddrData, usize)> {
    let mut d = NameAddrData::default();
    let l = if b.get(i) == Some(&b'"') {
        let q = quoted_in_line(b, i)?;
        d.display = Some(Span::new(i, q));
        let mut j = q;
        while matches!(b.get(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        if b.get(j) != Some(&b'<') {
            return None;
        }
        j
    } else {
        let l = display_end(b, i)?;
        let mut de = l;
        while de > i && matches!(b[de - 1], b' ' | b'\t') {
            de -= 1;
        }
        if de > i {
            d.display = Some(Span::new(i, de));
        }
        l
    };
    d.angle = true;
    let r = angle_uri_end(b, l + 1)?;
    d.uri = Span::new(l + 1, r);
    let ps = r + 1;
    let end = match b.get(ps) {
        Some(b'\r') => ps,
        Some(b';') => {
            if let Some(&[a, b1, c, d1, b'=']) = b.get(ps..ps + 5)
                && TAG.matches4(u32::from_le_bytes([a, b1, c, d1]))
                && let ve = run(b, ps + 5, &PARAM_VALUE)
                && ve > ps + 5
                && b.get(ve) == Some(&b'\r')
            {
                d.tag = Some(Span::new(ps + 5, ve));
                ve
            } else {
                // The fast step of `scan_params_with`, the CR standing for the end.
                let mut k = ps;
                let mut tag: Option<(usize, usize)> = None;
                while b.get(k) == Some(&b';') {
                    let ns = k + 1;
                    let ne = run(b, ns, &TOKEN);
                    if ne == ns {
                        return None;
                    }
                    let v = match b.get(ne) {
                        Some(b'=') => {
                            let ve = if b.get(ne + 1) == Some(&b'"') {
                                // `scan_params_with`'s general step: a quoted value.
                                quoted_in_line(b, ne + 1)?
                            } else {
                                run(b, ne + 1, &PARAM_VALUE)
                            };
                            if ve == ne + 1 {
                                return None;
                            }
                            k = ve;
                            Some((ne + 1, ve))
                        }
                        Some(b';' | b'\r') => {
                            k = ne;
                            None
                        }
                        _ => return None,
                    };
                    // As `parse_name_addr_bytes`: the first `tag` that has a value.
                    if tag.is_none() && b[ns..ne].eq_ignore_ascii_case(b"tag") {
                        tag = v;
                    }
                }
                if b.get(k) != Some(&b'\r') {
                    return None;
                }
                d.tag = tag.map(|(a, z)| Span::new(a, z));
                k
            }
        }
        _ => return None,
    };
    d.params = Span::new(ps, end);
    d.whole = Span::new(i, end);
    Some((d, end))
}

// ---- The builder's Request-URI ----------------------------------------------------------

/// Whether the builder takes `uri` as a Request-URI: non-empty, no blank or control
/// character, and URI characters only (§19.1, §25.1). Exactly the URIs the lenient request
/// line takes as they are ([`general_request_line`](super::general_request_line)), but for
/// its length limit, which the builder does not apply; the endpoint's written INVITE asks
/// it too, so that it refuses what the builder refuses.
pub(crate) fn request_uri_ok(uri: &str) -> bool {
    !uri.is_empty()
        && !uri.bytes().any(|b| b <= b' ' || b == 0x7f)
        && check_uri_text(uri.as_bytes(), true).is_ok()
}

#[cfg(test)]
mod tests {
    use super::super::tests::{INVITE, req};
    use super::super::{
        Framing, decode_header, general_request_line, parse_framed, parse_reference,
        parse_unchecked,
    };
    use super::*;
    use crate::message::error::ParseErrorKind as K;
    use crate::message::{ParseError, SipMessage};
    use bytes::Bytes;
    use proptest::prelude::*;
    use proptest::sample::{Index, select};
    use proptest::test_runner::Config;

    #[test]
    fn rows_are_the_same_on_the_fast_and_the_general_path() {
        // Colon in the first, second and third word, beyond 24 bytes, a blank before the
        // colon, a fold, a bare LF, empty and blank values, compact and unknown names.
        let text = "OPTIONS sip:a@b SIP/2.0\r\n\
v:SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
Proxy-Authorization: Digest a=1\r\n\
X-A-Very-Long-Extension-Name: 1\r\n\
Subject : folded\r\n \t more \r\n\
X-Empty:\r\n\
X-Blank: \t \r\n\
x-bare-lf: yes\n\
MAX-FORWARDS:\t70 \t\r\n\
Authentication-Info: nextnonce=x\r\n\
l: 0\r\n\r\n";
        let r = req(text);
        let rows: Vec<_> = r
            .headers()
            .iter()
            .map(|h| (h.name, h.known, h.value))
            .collect();
        assert_eq!(
            rows,
            [
                ("v", HeaderName::Via, "SIP/2.0/UDP h;branch=z9hG4bK1"),
                (
                    "Proxy-Authorization",
                    HeaderName::ProxyAuthorization,
                    "Digest a=1"
                ),
                ("X-A-Very-Long-Extension-Name", HeaderName::Other, "1"),
                ("Subject", HeaderName::Subject, "folded\r\n \t more"),
                ("X-Empty", HeaderName::Other, ""),
                ("X-Blank", HeaderName::Other, ""),
                ("x-bare-lf", HeaderName::Other, "yes"),
                ("MAX-FORWARDS", HeaderName::MaxForwards, "70"),
                (
                    "Authentication-Info",
                    HeaderName::AuthenticationInfo,
                    "nextnonce=x"
                ),
                ("l", HeaderName::ContentLength, "0"),
            ]
        );
        assert_eq!(r.max_forwards(), Some(70));
        assert_eq!(r.to_bytes(), text.as_bytes());
        let bad = text.replace("X-Empty:", "X-Em\"pty:");
        let at = bad.find("X-Em").unwrap();
        let e = parse_unchecked(Bytes::from(bad), &ParseOptions::default()).unwrap_err();
        assert_eq!((e.kind, e.offset), (K::HeaderLine, at));
        assert_eq!(at, 152);
    }

    #[test]
    fn call_id_and_numbers_on_the_fast_and_the_general_path() {
        let with = |name: &str, value: &str| {
            let text = INVITE.replace(
                &format!(
                    "{name}: {}\r\n",
                    INVITE
                        .split(&format!("{name}: "))
                        .nth(1)
                        .unwrap()
                        .split("\r\n")
                        .next()
                        .unwrap()
                ),
                &format!("{name}:{value}\r\n"),
            );
            parse_unchecked(Bytes::from(text), &ParseOptions::default()).unwrap()
        };
        let call_id = |v: &str| with("Call-ID", v).message().call_id().map(str::to_owned);
        assert_eq!(call_id(" a@b").as_deref(), Some("a@b"));
        assert_eq!(call_id(" \t a@b \t").as_deref(), Some("a@b"));
        assert_eq!(call_id(" abc").as_deref(), Some("abc"));
        // Words on both sides of the '@' may be empty (as before the fast path).
        assert_eq!(call_id(" a@").as_deref(), Some("a@"));
        assert_eq!(call_id(" @").as_deref(), Some("@"));
        for bad in [" a@b@c", " a b", " a;b", " \t"] {
            let m = with("Call-ID", bad);
            assert_eq!(m.message().call_id(), None, "{bad:?}");
            assert!(m.message().header_fault().is_some(), "{bad:?}");
        }
        let mf = |v: &str| with("Max-Forwards", v).message().max_forwards();
        assert_eq!(mf(" 70"), Some(70));
        assert_eq!(mf(" 000000255 "), Some(255));
        assert_eq!(mf("\t0000000000070"), Some(70));
        assert_eq!(mf(" 256"), None);
        assert_eq!(mf(" 7a"), None);
        assert_eq!(mf(" -1"), None);
    }

    /// The rows decoded while their line is found give what decoding the finished rows
    /// gives, for values of the usual shape and for near misses that go the general way.
    #[test]
    fn rows_decoded_with_their_line_end_match_the_row_decoders() {
        let values: &[(&str, &[&str])] = &[
            (
                "Via",
                &[
                    "SIP/2.0/UDP h.example.com:5060;branch=z9hG4bK1;rport",
                    "sip/2.0/tcp h;BRANCH=x;received=192.0.2.1;maddr=m;ttl=3;rport=5060",
                    "SIP/2.0/TLS h:65536;branch=x",
                    "SIP/2.0/UDP h;branch",
                    "SIP/2.0/UDP h;rport=x",
                    "SIP/2.0/UDP [::1]:5060;branch=x",
                    "SIP/2.0/UDP  h;branch=x",
                    "SIP/2.0/UDP h ;branch=x",
                    "SIP/2.0/UDP h;branch=x,SIP/2.0/UDP g",
                    "SIP/2.0/SCTP h;branch=x",
                ],
            ),
            (
                "To",
                &[
                    "Bob <sip:bob@example.com>",
                    "<sip:bob@example.com>;tag=a",
                    "Bob <sip:bob@example.com>;x=1;TAG=b;tag=c",
                    "<sip:b@e>;tag;tag=2",
                    "<sip:b@e>;tag=",
                    "\"Bob\" <sip:b@e>",
                    "\"B\\\"ob\"\t<sip:b@e>;tag=1",
                    "\"Bob <sip:b@e>",
                    "<sip:b@e>;x=\"a,b\";tag=2",
                    "<sip:b@e>;x=\"a",
                    "sip:b@e;tag=1",
                    "<sip:b@e> ;tag=1",
                    "<sip:b@e>,<sip:c@e>",
                ],
            ),
            (
                "Contact",
                &[
                    "<sip:a@h:5060;transport=udp>",
                    "<sip:a@h,b>;expires=60",
                    "*",
                    "<sip:a@h>, <sip:b@h>",
                ],
            ),
            ("Call-ID", &["a@b", "abc", "a@", "@", "a@b@c", "a;b"]),
            (
                "CSeq",
                &[
                    "1 INVITE",
                    "4294967295 ACK",
                    "4294967296 ACK",
                    "2147483648 BYE",
                    "1  ACK",
                ],
            ),
            (
                "Max-Forwards",
                &["70", "255", "256", "000000255", "1234567890"],
            ),
        ];
        for (name, vals) in values {
            for v in vals.iter() {
                for strict in [false, true] {
                    let text = INVITE.replace(
                        &INVITE[INVITE.find(&format!("\n{name}:")).unwrap() + 1..]
                            .split("\r\n")
                            .next()
                            .unwrap()
                            .to_string(),
                        &format!("{name}: {v}"),
                    );
                    let opts = if strict {
                        ParseOptions::strict()
                    } else {
                        ParseOptions::default()
                    };
                    let m = parse_unchecked(Bytes::from(text.clone()), &opts).unwrap();
                    let msg = m.message();
                    let mut d = Decoded::default();
                    for (i, e) in msg.headers.iter().enumerate() {
                        decode_header(&msg.head, i, e, &mut d, strict);
                    }
                    assert_eq!(d, msg.decoded, "{text}");
                }
            }
        }
        let r = req(&INVITE.replace(
            "To: Bob <sip:bob@biloxi.com>",
            "To: Bob <sip:bob@biloxi.com>;x=1;tag=t2",
        ));
        assert_eq!(r.to().unwrap().tag(), Some("t2"));
        assert_eq!(r.to().unwrap().display_name_raw(), Some("Bob"));
        assert_eq!(r.to().unwrap().params_raw(), ";x=1;tag=t2");
    }

    #[test]
    fn canonical_names_are_what_the_lookup_gives() {
        let words = |n: &[u8]| {
            let mut b = [0u8; 24];
            b[..n.len()].copy_from_slice(n);
            [0, 8, 16].map(|i| u64::from_le_bytes(b[i..i + 8].try_into().unwrap()))
        };
        let mut hits = 0;
        for h in HeaderName::ALL {
            for spelled in [
                h.as_str().to_owned(),
                h.as_str().to_ascii_lowercase(),
                h.as_str().to_ascii_uppercase(),
            ] {
                let n = spelled.as_bytes();
                if let Some(c) = canonical_name(n.len(), words(n)) {
                    assert_eq!(c, HeaderName::lookup_words(n.len(), words(n)), "{spelled}");
                    assert_eq!(spelled, h.as_str());
                    hits += 1;
                }
            }
        }
        assert_eq!(hits, 13);
        // Same length, other bytes: not recognised here.
        for n in [
            &b"Tx"[..],
            b"Vib",
            b"Fro_",
            b"Call-IE",
            b"Max-Forwardz",
            b"Content-Lengtx",
        ] {
            assert_eq!(canonical_name(n.len(), words(n)), None);
        }
    }

    #[test]
    fn sip_version_word() {
        assert!(is_sip_2_0_end(b"SIP/2.0"));
        assert!(is_sip_2_0_end(b"sIp/2.0"));
        assert!(!is_sip_2_0_end(b"SIP/2.0 "));
        assert!(!is_sip_2_0_end(b"SIP/2.1"));
        assert!(!is_sip_2_0_end(b"SIP/2."));
        assert!(!is_sip_2_0_end(b"SIP\x0f2.0"));
        let r = req(&INVITE.replace("SIP/2.0\r\nVia", "sip/2.0\r\nVia"));
        assert_eq!(r.uri_str(), "sip:bob@biloxi.com");
    }

    // ---- Agreement with the reference paths (proptests) --------------------------------

    /// Start lines: the usual shapes and near misses of each fast test.
    const START_LINES: &[&str] = &[
        "INVITE sip:bob@biloxi.com SIP/2.0",
        "OPTIONS sip:a@b SIP/2.0",
        "REGISTER sips:registrar.example.com SIP/2.0",
        "ACK tel:+1-201-555-0123 SIP/2.0",
        "MESSAGE SIP:a@[2001:db8::1]:5060;transport=tcp SIP/2.0",
        "X-EXT.1 im:a@b SIP/2.0",
        "INVITE sip:a@b sip/2.0",
        "INVITE  sip:a@b SIP/2.0",
        "INVITE sip:a@b\tSIP/2.0",
        "INVITE sip:a@b SIP/2.0 ",
        "INVITE <sip:a@b> SIP/2.0",
        "INVITE sip:a@b?Subject=x SIP/2.0",
        "INVITE sip:a@b,c SIP/2.0",
        "INVITE sip:a@b SIP/2.1",
        "INVITE sip:a@b SIP/2.0x",
        "INVITE x SIP/2.0",
        "INVITE 1sip:a@b SIP/2.0",
        "INVITE sip:a\"b SIP/2.0",
        "INVITE sip:\u{e9}@b SIP/2.0",
        "INVITE sip:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@b SIP/2.0",
        "IN\"VITE sip:a@b SIP/2.0",
        "SIP/2.0 200 OK",
        "SIP/2.0 180 Ringing",
        "sip/2.0 404 Not Found",
        "SIP/2.0 2000 OK",
    ];

    /// Header lines (without their line end): every row the stack decodes in its usual
    /// shape and in near misses, other rows, compact names, continuations and broken lines.
    const HEADER_LINES: &[&str] = &[
        "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds",
        "Via: SIP/2.0/UDP h.example.com:5060;branch=z9hG4bK1;rport",
        "Via: sip/2.0/tcp h;BRANCH=x;received=192.0.2.1;maddr=m;ttl=3;rport=5060",
        "Via: SIP/2.0/TLS h:65536;branch=x",
        "Via: SIP/2.0/UDP h;branch",
        "Via: SIP/2.0/UDP h;rport=x",
        "Via: SIP/2.0/UDP [::1]:5060;branch=x",
        "Via: SIP/2.0/UDP  h;branch=x",
        "Via: SIP/2.0/UDP h ;branch=x",
        "Via: SIP/2.0/UDP h;branch=x,SIP/2.0/UDP g",
        "Via: SIP/2.0/SCTP h;branch=x",
        "v: SIP/2.0/UDP h;branch=z9hG4bKc",
        "VIA:SIP/2.0/UDP h;branch=z9hG4bKd",
        "To: Bob <sip:bob@biloxi.com>",
        "To: <sip:bob@example.com>;tag=a",
        "To: Bob <sip:bob@example.com>;x=1;TAG=b;tag=c",
        "To: <sip:b@e>;tag;tag=2",
        "To: <sip:b@e>;tag=",
        "To: \"Bob\" <sip:b@e>",
        "To: \"B\\\"ob\"\t<sip:b@e>;tag=1",
        "To: \"Bob <sip:b@e>",
        "To: <sip:b@e>;x=\"a,b\";tag=2",
        "To: sip:b@e;tag=1",
        "To: <sip:b@e> ;tag=1",
        "t: <sip:b@c>",
        "From: Alice <sip:alice@atlanta.com>;tag=1928301774",
        "From: <sip:a@b>;tag=",
        "From: Al ice<sip:a@b>;Tag=9",
        "f: <sip:a@b>;tag=1",
        "Contact: <sip:a@h:5060;transport=udp>",
        "Contact: <sip:a@h,b>;expires=60",
        "Contact: *",
        "Contact: <sip:a@h>, <sip:b@h>",
        "m: <sip:a@h>",
        "Call-ID: a84b4c76e66710@pc33.atlanta.com",
        "Call-ID: a@b@c",
        "Call-ID: a;b",
        "Call-ID: @",
        "i: x@y",
        "CSeq: 314159 INVITE",
        "CSeq: 4294967295 ACK",
        "CSeq: 4294967296 ACK",
        "CSeq: 2147483648 BYE",
        "CSeq: 1  ACK",
        "Max-Forwards: 70",
        "Max-Forwards: 256",
        "Max-Forwards: 000000255",
        "Content-Length: 0",
        "Content-Length: 4",
        "Content-Length: x",
        "l: 0",
        "Expires: 60",
        "Min-Expires: x",
        "Subject: hi",
        "Subject : spaced",
        "Subject:tight",
        "X-A-Very-Long-Extension-Name-Beyond: 1",
        "X-Empty:",
        "X-Blank: \t ",
        "X-Trailing: value \t",
        "Record-Route: <sip:p1.example.com;lr>",
        "Route: <sip:p;lr>",
        "User-Agent: x/1.0",
        "Allow: INVITE, ACK",
        "Content-Type: application/sdp",
        " continued",
        "\tmore \t",
        "X-Em\"pty: 1",
        "NoColon",
        ": novalue",
        "X-Utf8: caf\u{e9}",
    ];

    /// Bytes a mutation writes: the ones every fast test looks at, and bytes ≥ 0x80.
    const BYTES: &[u8] = b" \t\r\n:;=\",<>@\\/.0aA\x80\xff\x00";

    /// A message from the pieces, then up to three bytes replaced, inserted or removed.
    fn message() -> impl Strategy<Value = Vec<u8>> {
        (
            0..3usize,
            select(START_LINES),
            prop::collection::vec((select(HEADER_LINES), 0..8u8), 0..14),
            prop::bool::ANY,
            prop::collection::vec((any::<Index>(), select(BYTES), 0..3u8), 0..4),
        )
            .prop_map(|(crlfs, start, rows, body, edits)| {
                let mut m = b"\r\n".repeat(crlfs);
                m.extend_from_slice(start.as_bytes());
                m.extend_from_slice(b"\r\n");
                for (row, end) in rows {
                    m.extend_from_slice(row.as_bytes());
                    // Mostly CRLF, sometimes a bare LF.
                    m.extend_from_slice(if end == 0 { b"\n" } else { b"\r\n" });
                }
                m.extend_from_slice(b"\r\n");
                if body {
                    m.extend_from_slice(b"v=0\r\n");
                }
                for (at, byte, op) in edits {
                    let i = at.index(m.len() + 1);
                    match op {
                        0 if i < m.len() => m[i] = byte,
                        1 if i < m.len() => {
                            m.remove(i);
                        }
                        _ => m.insert(i, byte),
                    }
                }
                m
            })
    }

    /// Everything a parse result holds, `verbatim` flags included, in a printable form.
    fn detail(r: &Result<SipMessage, ParseError>) -> String {
        let m = match r {
            Err(e) => return format!("{e:?}"),
            Ok(m) => m,
        };
        let start = match m {
            SipMessage::Request(r) => format!("{:?} {:?}", r.method, r.uri),
            SipMessage::Response(r) => format!("{} {:?}", r.status, r.reason),
        };
        let msg = m.message();
        let rows: Vec<_> = msg.headers.iter().map(|e| (e, e.verbatim)).collect();
        format!(
            "{start}\n{:?}\n{:?} {:?} {}\n{rows:?}\n{:?}\n{:?}",
            msg.head, msg.start_line, msg.blank, msg.origin, msg.decoded, msg.body
        )
    }

    fn config() -> Config {
        Config {
            failure_persistence: None,
            cases: 512,
            ..Config::default()
        }
    }

    proptest! {
        #![proptest_config(config())]

        /// Every fast path of this file against the general code: the whole parse, with
        /// and without them, lenient and strict, datagram and stream, default and tight
        /// limits.
        #[test]
        fn fast_and_reference_parses_agree(m in message(), tight in 0..4u8) {
            for mut opts in [ParseOptions::lenient(), ParseOptions::strict()] {
                match tight {
                    1 => opts.limits.max_line_length = 40,
                    2 => opts.limits.max_headers = 4,
                    3 => opts.limits.max_uri_length = 12,
                    _ => {}
                }
                for framing in [Framing::Datagram, Framing::Stream] {
                    let bytes = Bytes::from(m.clone());
                    let fast = parse_framed(bytes.clone(), &opts, framing);
                    let reference = parse_reference(bytes, &opts, framing);
                    prop_assert_eq!(
                        detail(&fast),
                        detail(&reference),
                        "{:?} {:?} {:?}",
                        String::from_utf8_lossy(&m),
                        opts,
                        framing
                    );
                    prop_assert!(fast == reference);
                }
            }
        }

        /// The request line read in one pass gives what the general code gives for it.
        #[test]
        fn request_lines_agree(
            start in select(START_LINES),
            edits in prop::collection::vec((any::<Index>(), select(BYTES)), 0..3),
        ) {
            let mut b = start.as_bytes().to_vec();
            for (at, byte) in edits {
                let i = at.index(b.len());
                b[i] = byte;
            }
            b.extend_from_slice(b"\r\nVia: x\r\n");
            let opts = ParseOptions::lenient();
            if let Ok(sl) = std::str::from_utf8(&b[..b.len() - 10])
                && let Some(fast) = fast_request_line(sl, &opts)
            {
                let mut d = Decoded::default();
                prop_assert_eq!(general_request_line(sl, &opts, &mut d), Ok(fast));
                prop_assert_eq!(d.fault, None);
            }
            if let Some((me, ue, end)) = fast_request_start(&b, &opts) {
                // The line ends at `end`, and reads as `fast_request_line` reads it.
                prop_assert_eq!(b.iter().position(|&c| c == b'\n'), Some(end + 1));
                prop_assert_eq!(&b[end..end + 2], b"\r\n");
                // (Bytes that are not UTF-8 are refused later, by the whole parse.)
                let Ok(sl) = std::str::from_utf8(&b[..end]) else {
                    return Ok(());
                };
                let method = Method::parse(&sl[..me]);
                prop_assert!(method.is_some());
                prop_assert_eq!(
                    fast_request_line(sl, &opts),
                    method.map(|m| (m, Span::new(me + 1, ue)))
                );
            }
        }

        /// A Request-URI the builder takes is exactly one the lenient request line takes as
        /// it is (within the URI length limit, which the builder does not apply).
        #[test]
        fn request_uri_ok_is_what_the_parser_takes(
            base in select(&[
                "sip:bob@biloxi.com",
                "sips:a@[2001:db8::1]:5061;transport=tls",
                "tel:+1-201-555-0123",
                "sip:a@b?Subject=x&Priority=urgent",
                "urn:service:sos",
                "SIP:A@B",
                "x-1.a+b:c",
            ][..]),
            edits in prop::collection::vec((any::<Index>(), select(BYTES), 0..3u8), 0..3),
        ) {
            let mut u = base.as_bytes().to_vec();
            for (at, byte, op) in edits {
                let i = at.index(u.len() + 1);
                match op {
                    0 if i < u.len() => u[i] = byte,
                    1 if i < u.len() => {
                        u.remove(i);
                    }
                    _ => u.insert(i, byte),
                }
            }
            let Ok(u) = String::from_utf8(u) else {
                return Ok(());
            };
            let line = format!("OPTIONS {u} SIP/2.0");
            let mut d = Decoded::default();
            let taken = match general_request_line(&line, &ParseOptions::lenient(), &mut d) {
                Ok((_, span)) => span.get(&line) == u && d.fault.is_none(),
                Err(_) => false,
            };
            prop_assert_eq!(request_uri_ok(&u), taken, "{:?}", u);
        }
    }
}
