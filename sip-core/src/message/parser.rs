//! The parser: one forward pass over the bytes (RFC 3261 §7, §25; §18.3 for framing).
//!
//! The pass finds the start line, splits the header section into rows (unfolding nothing:
//! a value's span covers its folds), recognises each header name by length and first byte,
//! and decodes the headers the stack needs on every message (top Via, From, To, Call-ID,
//! CSeq, Max-Forwards, Content-Length, first Contact) as it goes. Malformed values of those
//! headers are recorded, not fatal, so an endpoint can still answer 400 with the right Via;
//! [`parse`] turns them into errors, [`parse_unchecked`] leaves that to [`Message::header_fault`]
//! and the semantic checks of [`super::validate`].

use super::error::{ParseError, ParseErrorKind as K};
use super::header::name_addr::scheme_len;
use super::header::name_addr::{parse_name_addr_bytes, parse_name_addr_line};
use super::header::simple::parse_cseq_at;
use super::header::via::{parse_via_bytes, parse_via_line};
use super::method::Method;
use super::model::{ContactData, Decoded, HeaderEntry, Message, Request, Response, SipMessage};
use super::name::HeaderName;
use super::options::ParseOptions;
use super::scan::{
    Caseless, TOKEN, WORD, find_in_words, find_lf, find_sep_then_end, is_lws, is_token,
    parse_decimal, run, word_of,
};
use super::span::Span;
use super::uri::Uri;
use bytes::{Buf, Bytes};

/// How the end of the body is found (§18.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// A whole datagram: Content-Length may be missing (body = rest of the datagram); bytes
    /// beyond it are discarded; fewer bytes than it announces is an error.
    Datagram,
    /// One message cut out of a stream by the framer: Content-Length is mandatory.
    Stream,
}

/// Parses a datagram and applies every check (framing, the decoded header values, and the
/// semantic rules of [`super::validate`]). This is what an endpoint applies to received UDP
/// traffic.
///
/// ```
/// use sip_core::message::{parse, ParseOptions, SipMessage};
/// let bytes = bytes::Bytes::from_static(
///     b"OPTIONS sip:bob@example.com SIP/2.0\r\n\
///       Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\
///       Max-Forwards: 70\r\nTo: <sip:bob@example.com>\r\n\
///       From: <sip:alice@example.com>;tag=1\r\nCall-ID: a@b\r\n\
///       CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
/// );
/// let SipMessage::Request(req) = parse(bytes, &ParseOptions::default()).unwrap() else {
///     panic!("a request")
/// };
/// assert_eq!(req.via().unwrap().branch(), Some("z9hG4bK1"));
/// assert_eq!(req.cseq(), Some((1, "OPTIONS")));
/// ```
pub fn parse(bytes: Bytes, opts: &ParseOptions) -> Result<SipMessage, ParseError> {
    let m = parse_framed(bytes, opts, Framing::Datagram)?;
    match &m {
        SipMessage::Request(r) if opts.is_strict() => super::validate::check_request_strict(r)?,
        _ => m.check()?,
    }
    Ok(m)
}

/// Parses the framing, the start line and the header rows; decoded header faults and the
/// semantic rules are left to [`SipMessage::check`], so that a UAS can still answer a
/// broken request with 400.
pub fn parse_unchecked(bytes: Bytes, opts: &ParseOptions) -> Result<SipMessage, ParseError> {
    parse_framed(bytes, opts, Framing::Datagram)
}

struct Line {
    start: usize,
    /// End of content (before CR LF).
    end: usize,
    /// After the terminator.
    next: usize,
}

/// Finds the line starting at `pos`. `None` when no terminator follows.
#[inline]
fn next_line(b: &[u8], pos: usize, strict: bool) -> Result<Option<Line>, ParseError> {
    match find_lf(b, pos) {
        Some(nl) => line_at(b, pos, nl, strict).map(Some),
        None => Ok(None),
    }
}

/// The line from `pos` to the LF at `nl`.
#[inline]
fn line_at(b: &[u8], pos: usize, nl: usize, strict: bool) -> Result<Line, ParseError> {
    let end = if nl > pos && b[nl - 1] == b'\r' {
        nl - 1
    } else if strict {
        return Err(ParseError::new(nl, K::LineEnding));
    } else {
        nl
    };
    Ok(Line {
        start: pos,
        end,
        next: nl + 1,
    })
}

/// The common header line in one pass: `name ":" value CRLF`, the colon within the first
/// 24 bytes with no blank before it, the name a known one or a `token`, the line within
/// `max_line` bytes. `b` must be shorter than `u32::MAX`. Gives the row exactly as the general code in [`parse_framed`] would
/// build it, and the start of the next line; `None` for anything else (folds, the empty
/// line, bare LF, errors), which the general code then handles.
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

/// The common header lines from `b[pos]` on ([`fast_header_line`]), each row pushed and,
/// when complete, decoded; stops at the empty line, at the row limit, or at a line for the
/// general code. Gives where it stopped. `b` must be shorter than `u32::MAX`.
#[inline(never)]
fn fast_header_lines(
    b: &[u8],
    mut pos: usize,
    limits: &super::options::Limits,
    headers: &mut Vec<HeaderEntry>,
    decoded: &mut Decoded,
    cl_err: &mut Option<usize>,
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

/// Decodes the value of a row the stack reads, starting at `b[vs]` (not a blank), when it
/// has its usual shape, without knowing where the line ends: the decoder stops at the CR
/// that must end the line. When `line_ok` accepts that CR, the value is stored in `d` as
/// [`decode_row`] would store it for the value `vs..cr`, and the CR's position is returned.
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
            let (n, i) = super::scan::leading_digits(b, vs, 10);
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
            let (n, i) = super::scan::leading_digits(b, vs, 9);
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

/// What [`general_header_line`] found.
enum LineStep {
    /// A header line or a fold, taken; the next line starts here.
    Next(usize),
    /// The empty line ending the header section (its start and end).
    Blank(usize, usize),
}

/// The header line at `b[pos]` the general way: folds, bare LF, blanks around the colon,
/// long names, the empty line and every error (offsets relative to `b`).
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn general_header_line(
    b: &[u8],
    pos: usize,
    strict: bool,
    framing: Framing,
    limits: &super::options::Limits,
    headers: &mut Vec<HeaderEntry>,
    decoded: &mut Decoded,
    cl_err: &mut Option<usize>,
) -> Result<LineStep, (usize, K)> {
    let (colon, nl) = find_sep_then_end(b, pos, b':', b'\n');
    let Some(nl) = nl else {
        // Lenient: a datagram whose last header line ends the datagram lacks only the
        // empty line; take the end of the datagram as the end of the headers.
        if !strict && framing == Framing::Datagram && pos == b.len() {
            return Ok(LineStep::Blank(pos, pos));
        }
        return Err((b.len(), K::UnterminatedHeaders));
    };
    let line = line_at(b, pos, nl, strict).map_err(|e| (e.offset, e.kind))?;
    if line.end == line.start {
        return Ok(LineStep::Blank(line.start, line.next));
    }
    if matches!(b[line.start], b' ' | b'\t') {
        // A continuation: extends the previous header's value (§7.3.1 folding).
        let Some(last) = headers.last_mut() else {
            return Err((line.start, K::HeaderLine));
        };
        if line.end - last.line.start as usize > limits.max_line_length {
            return Err((
                line.start,
                K::LineTooLong {
                    limit: limits.max_line_length,
                },
            ));
        }
        if b[line.start..line.end]
            .iter()
            .any(|&c| c != b' ' && c != b'\t')
        {
            // The value now runs to the end of this line; trim it again from the colon.
            let mut colon = last.name_span.end as usize;
            while matches!(b.get(colon), Some(b' ' | b'\t')) {
                colon += 1;
            }
            last.value = trim_value(b, colon + 1, line.end);
        }
        last.line.end = line.next as u32;
        // The row now spans several lines: whether it reads as `Name: value CRLF` is
        // decided again over all of them.
        last.verbatim = last.is_verbatim(b);
        if !matches!(b.get(line.next), Some(b' ' | b'\t')) {
            let row = *last;
            decode_outlined(b, headers.len() - 1, &row, decoded, strict, cl_err);
        }
    } else {
        if headers.len() >= limits.max_headers {
            return Err((
                line.start,
                K::TooManyHeaders {
                    limit: limits.max_headers,
                },
            ));
        }
        if line.end - line.start > limits.max_line_length {
            return Err((
                line.start,
                K::LineTooLong {
                    limit: limits.max_line_length,
                },
            ));
        }
        let colon = colon.ok_or((line.start, K::HeaderLine))?;
        let mut ne = colon;
        while ne > line.start && matches!(b[ne - 1], b' ' | b'\t') {
            ne -= 1;
        }
        // A known name matches exactly, so its bytes are `token` characters; any other
        // name is checked here.
        let name = HeaderName::lookup_at(b, line.start, ne);
        if ne == line.start
            || name == HeaderName::Other && !b[line.start..ne].iter().all(|&c| is_token(c))
        {
            return Err((line.start, K::HeaderLine));
        }
        let row = HeaderEntry::new(
            b,
            name,
            Span::new(line.start, ne),
            trim_value(b, colon + 1, line.end),
            Span::new(line.start, line.next),
        );
        headers.push(row);
        if !matches!(b.get(line.next), Some(b' ' | b'\t')) {
            decode_outlined(b, headers.len() - 1, &row, decoded, strict, cl_err);
        }
    }
    Ok(LineStep::Next(line.next))
}

/// The names of the rows decoded on the line, in their usual spelling, recognised by one
/// word compare (what [`HeaderName::lookup_words`] gives for them; any other spelling goes
/// there).
#[inline(always)]
fn canonical_name(len: usize, w: [u64; 3]) -> Option<HeaderName> {
    let lo = |n: usize| w[0] & super::scan::LOW_BYTES[n];
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
        14 if w[0] == word_of(b"Content-")
            && w[1] & super::scan::LOW_BYTES[6] == word_of(b"Length") =>
        {
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

/// Trims a header value's span: leading SP, HTAB, CR and LF (folds), trailing SP and HTAB.
#[inline(always)]
fn trim_value(b: &[u8], mut vs: usize, mut ve: usize) -> Span {
    while vs < ve && matches!(b[vs], b' ' | b'\t' | b'\r' | b'\n') {
        vs += 1;
    }
    while ve > vs && matches!(b[ve - 1], b' ' | b'\t') {
        ve -= 1;
    }
    Span::new(vs, ve)
}

/// Parses one message with the given framing, without the semantic checks.
pub fn parse_framed(
    bytes: Bytes,
    opts: &ParseOptions,
    framing: Framing,
) -> Result<SipMessage, ParseError> {
    parse_framed_into(
        bytes,
        opts,
        framing,
        SipMessage::Request,
        SipMessage::Response,
    )
}

/// A parsed message in a box: what the endpoint keeps and hands on.
pub(crate) enum BoxedMessage {
    Request(Box<Request>),
    Response(Box<Response>),
}

/// [`parse_framed`] into a box: the message (some 500 bytes) is boxed inside the parse,
/// so it is moved once, into its box, rather than returned and then boxed by the caller.
pub(crate) fn parse_framed_boxed(
    bytes: Bytes,
    opts: &ParseOptions,
    framing: Framing,
) -> Result<BoxedMessage, ParseError> {
    parse_framed_into(
        bytes,
        opts,
        framing,
        |r| BoxedMessage::Request(Box::new(r)),
        |r| BoxedMessage::Response(Box::new(r)),
    )
}

/// [`parse_framed`], the request or response handed to `request` or `response`.
#[inline(always)]
fn parse_framed_into<T>(
    bytes: Bytes,
    opts: &ParseOptions,
    framing: Framing,
    request: impl FnOnce(Request) -> T,
    response: impl FnOnce(Response) -> T,
) -> Result<T, ParseError> {
    let limits = &opts.limits;
    let strict = opts.is_strict();
    if bytes.len() > limits.max_message_size {
        return Err(ParseError::new(
            limits.max_message_size,
            K::TooLarge {
                limit: limits.max_message_size,
            },
        ));
    }
    let b: &[u8] = &bytes;
    // §7.5: CRLFs before the start line are ignored.
    let mut origin = 0;
    while origin < b.len() && matches!(b[origin], b'\r' | b'\n') {
        origin += 1;
    }
    if origin >= b.len() {
        return Err(ParseError::new(0, K::Empty));
    }
    let b = &b[origin..];
    let err = |at: usize, k: K| ParseError::new(origin + at, k);

    // Pass 1: find the line structure of the header section. The usual lenient request
    // line is read in one pass that also finds its end (no LF search).
    let fast_start = if strict {
        None
    } else {
        fast_request_start(b, opts)
    };
    let start = match fast_start {
        Some((_, _, end)) => Line {
            start: 0,
            end,
            next: end + 2,
        },
        None => next_line(b, 0, strict)
            .map_err(|e| err(e.offset, e.kind))?
            .ok_or_else(|| err(b.len(), K::UnterminatedHeaders))?,
    };
    if start.end > limits.max_line_length {
        return Err(err(
            limits.max_line_length,
            K::LineTooLong {
                limit: limits.max_line_length,
            },
        ));
    }
    // Offsets fit in a `u32` (always, unless the size limit was raised above 4 GiB).
    let small = b.len() < u32::MAX as usize;
    // Header rows, built in this pass with their values trimmed, and the rows the stack
    // reads decoded as soon as they are complete (the next line is not a fold).
    let mut headers: Vec<HeaderEntry> = Vec::with_capacity(24);
    let mut decoded = Decoded::default();
    // The first Content-Length row whose value is not a number: an error, but only after
    // the framing, UTF-8 and start line checks (the order in which they were made before).
    let mut cl_err: Option<usize> = None;
    let mut pos = start.next;
    let blank;
    loop {
        if small {
            pos = fast_header_lines(
                b,
                pos,
                limits,
                &mut headers,
                &mut decoded,
                &mut cl_err,
                strict,
            );
        }
        if b.get(pos) == Some(&b'\r') && b.get(pos + 1) == Some(&b'\n') {
            blank = (pos, pos + 2);
            break;
        }
        match general_header_line(
            b,
            pos,
            strict,
            framing,
            limits,
            &mut headers,
            &mut decoded,
            &mut cl_err,
        )
        .map_err(|(at, k)| err(at, k))?
        {
            LineStep::Next(next) => pos = next,
            LineStep::Blank(a, z) => {
                blank = (a, z);
                break;
            }
        }
    }
    let head_len = blank.1;
    let hb = b.get(..head_len).unwrap_or(b"");
    let head = match simdutf8::basic::from_utf8(hb) {
        Ok(h) => h,
        // Where the first invalid byte is, for the error: std tells.
        Err(_) => std::str::from_utf8(hb).map_err(|e| err(e.valid_up_to(), K::NotUtf8))?,
    };
    // A received request gets `received`/`rport` on its top Via (§18.2.1, RFC 3581 §4),
    // a rewrite of that row appended to the head: leave room for it so the head is not
    // reallocated and copied again.
    let room = if head.starts_with("SIP/") { 0 } else { 192 };
    let mut owned = String::with_capacity(head.len() + room);
    owned.push_str(head);
    let head = owned;

    // The start line.
    let sl = &head[..start.end];
    enum Kind {
        Req(Method, Span),
        Resp(u16, Span),
    }
    let fast_method = match fast_start {
        Some((me, ue, _)) => sl
            .get(..me)
            .and_then(Method::parse)
            .map(|m| (m, Span::new(me + 1, ue))),
        None => None,
    };
    let kind = if let Some((method, uri)) = fast_method {
        Kind::Req(method, uri)
    } else if sl.len() >= 4 && sl.as_bytes()[..4].eq_ignore_ascii_case(b"SIP/") {
        let (code, reason) = parse_status_line(sl, strict).map_err(|(at, k)| err(at, k))?;
        Kind::Resp(code, reason)
    } else {
        let (method, uri) =
            parse_request_line(sl, opts, &mut decoded).map_err(|(at, k)| err(at, k))?;
        Kind::Req(method, uri)
    };

    if let Some(at) = cl_err {
        // Without a usable Content-Length the body cannot be delimited.
        return Err(err(at, K::ContentLength));
    }
    if let Some((idx, HeaderName::ContentLength)) = decoded.duplicate {
        // RFC 4475 §3.3.9: several Content-Length values leave the body undelimited.
        let at = headers
            .get(idx)
            .map_or(0, |e: &HeaderEntry| e.line.start as usize);
        return Err(err(at, K::DuplicateHeader(HeaderName::ContentLength)));
    }

    // The body (§18.3).
    let body_start = origin + head_len;
    let available = bytes.len() - body_start;
    let body_len = match (decoded.content_length, framing) {
        (Some(cl), _) if cl > limits.max_content_length => {
            return Err(err(
                head_len,
                K::ContentLengthTooLarge {
                    limit: limits.max_content_length,
                },
            ));
        }
        (Some(cl), _) if cl > available => {
            return Err(err(
                head_len,
                K::BodyTooShort {
                    declared: cl,
                    available,
                },
            ));
        }
        (Some(cl), _) => cl,
        (None, Framing::Datagram) => available,
        (None, Framing::Stream) => return Err(err(head_len, K::MissingContentLength)),
    };
    let body = if body_start + body_len == bytes.len() {
        // The usual datagram, whose body runs to its end: the buffer itself, advanced past
        // the header section (no clone of the handle).
        let mut body = bytes;
        body.advance(body_start);
        body
    } else {
        bytes.slice(body_start..body_start + body_len)
    };
    for f in decoded.fault.iter_mut() {
        f.offset += origin;
    }
    // Built inside the result (not moved into it), which saves copying the large message.
    let msg = || Message {
        head,
        start_line: Span::new(0, start.next),
        blank: Span::new(blank.0, blank.1),
        headers,
        body,
        decoded,
        edited: false,
        origin,
    };
    Ok(match kind {
        Kind::Req(method, uri) => request(Request {
            method,
            uri,
            msg: msg(),
        }),
        Kind::Resp(status, reason) => response(Response {
            status,
            reason,
            msg: msg(),
        }),
    })
}

type LineResult<T> = Result<T, (usize, K)>;

fn check_version(v: &str, at: usize) -> LineResult<()> {
    if v.eq_ignore_ascii_case("SIP/2.0") {
        Ok(())
    } else if v.len() > 4 && v.as_bytes()[..4].eq_ignore_ascii_case(b"SIP/") {
        Err((at, K::UnsupportedVersion))
    } else {
        Err((at, K::StartLine("expected SIP-Version")))
    }
}

/// `Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF` (§7.2).
fn parse_status_line(sl: &str, strict: bool) -> LineResult<(u16, Span)> {
    let b = sl.as_bytes();
    let sp = super::scan::find_byte(b, b' ')
        .ok_or((sl.len(), K::StartLine("expected SP after SIP-Version")))?;
    check_version(&sl[..sp], 0)?;
    let mut cs = sp + 1;
    if !strict {
        while cs < b.len() && matches!(b[cs], b' ' | b'\t') {
            cs += 1;
        }
    }
    let mut ce = cs;
    while ce < b.len() && b[ce].is_ascii_digit() {
        ce += 1;
    }
    if ce - cs != 3 {
        return Err((cs, K::StatusCode));
    }
    let code = parse_decimal(&sl[cs..ce], 699)
        .filter(|c| *c >= 100)
        .ok_or((cs, K::StatusCode))? as u16;
    let rs = match b.get(ce) {
        None if !strict => ce,
        Some(b' ') => ce + 1,
        Some(b'\t') if !strict => ce + 1,
        _ => return Err((ce, K::StartLine("expected SP after Status-Code"))),
    };
    if b[rs..].iter().any(|&c| c < 0x20 && c != b'\t' || c == 0x7f) {
        return Err((rs, K::StartLine("control character in Reason-Phrase")));
    }
    Ok((code, Span::new(rs, sl.len())))
}

/// The common lenient case in one pass: `token SP scheme ":" URI-text SP "SIP/2.0"`, which
/// every lenient check below accepts with the same result. `None` for anything else
/// (the full code then decides, and says why it fails).
#[inline]
fn fast_request_line(sl: &str, opts: &ParseOptions) -> Option<(Method, Span)> {
    let b = sl.as_bytes();
    let me = run(b, 0, &TOKEN);
    if me == 0 || b.get(me) != Some(&b' ') {
        return None;
    }
    let us = me + 1;
    let k = us + scheme_len(b.get(us..)?)?;
    let ue = super::scan::run_uri_text(b, k);
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
fn fast_request_start(b: &[u8], opts: &ParseOptions) -> Option<(usize, usize, usize)> {
    let me = run(b, 0, &TOKEN);
    if me == 0 || b.get(me) != Some(&b' ') {
        return None;
    }
    let us = me + 1;
    let k = us + scheme_len(b.get(us..)?)?;
    let ue = super::scan::run_uri_text(b, k);
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

/// `Request-Line = Method SP Request-URI SP SIP-Version CRLF` (§7.1).
fn parse_request_line(
    sl: &str,
    opts: &ParseOptions,
    decoded: &mut Decoded,
) -> LineResult<(Method, Span)> {
    let strict = opts.is_strict();
    if !strict && let Some(fast) = fast_request_line(sl, opts) {
        return Ok(fast);
    }
    let b = sl.as_bytes();
    let is_sep = |c: u8| c == b' ' || (!strict && c == b'\t');
    let me = b
        .iter()
        .position(|&c| is_sep(c))
        .ok_or((0, K::StartLine("expected SP after Method")))?;
    let method = Method::parse(&sl[..me]).ok_or((0, K::Method))?;
    let mut us = me + 1;
    if !strict {
        while us < b.len() && is_sep(b[us]) {
            us += 1;
        }
    }
    let ue = us
        + b[us..]
            .iter()
            .position(|&c| is_sep(c))
            .ok_or((us, K::StartLine("expected SP after Request-URI")))?;
    let mut vs = ue + 1;
    let mut ve = b.len();
    if !strict {
        while vs < b.len() && is_sep(b[vs]) {
            vs += 1;
        }
        while ve > vs && is_sep(b[ve - 1]) {
            ve -= 1;
        }
    }
    let version = &sl[vs..ve];
    if version.bytes().any(|c| c == b' ' || c == b'\t') {
        return Err((
            vs,
            K::StartLine("unexpected text after SIP-Version (whitespace in the Request-URI?)"),
        ));
    }
    match check_version(version, vs) {
        Ok(()) => {}
        Err((at, K::UnsupportedVersion)) => {
            // Keep parsing so that the endpoint can answer 505 with the right headers.
            decoded.fault = Some(ParseError::new(at, K::UnsupportedVersion));
        }
        Err(e) => return Err(e),
    }
    let uri = &sl[us..ue];
    if uri.len() > opts.limits.max_uri_length {
        return Err((us, K::RequestUri("longer than the URI length limit")));
    }
    if !strict {
        // Lenient framing checks the URI's shape only (scheme, no character that cannot be
        // in a URI); the full grammar is applied by `check()` (see `validate`), so an
        // endpoint parses the Request-URI once.
        super::header::name_addr::check_uri_text(uri.as_bytes(), true)
            .map_err(|_| (us, K::RequestUri("malformed URI")))?;
        return Ok((method, Span::new(us, ue)));
    }
    let parsed = Uri::parse_strict(uri).map_err(|_| (us, K::RequestUri("malformed URI")))?;
    if parsed.as_sip().is_some_and(|s| !s.headers_raw().is_empty()) {
        // §19.1.1: headers are not allowed in a Request-URI (RFC 4475 §3.1.2.11).
        return Err((
            us,
            K::RequestUri("headers are not allowed in a Request-URI"),
        ));
    }
    Ok((method, Span::new(us, ue)))
}

/// `parse_decimal` of a row's value without its surrounding LWS. The usual value, one to
/// nine digits with nothing to trim, is read here in one loop; anything else goes the
/// general way (same result).
#[inline(always)]
fn value_decimal(hb: &[u8], e: &HeaderEntry, max: u64) -> Option<u64> {
    let Some(v) = hb.get(e.value.start as usize..e.value.end as usize) else {
        return parse_decimal("", max);
    };
    if (1..=9).contains(&v.len()) {
        let mut n: u64 = 0;
        let mut digits = true;
        for &c in v {
            let d = c.wrapping_sub(b'0');
            digits &= d <= 9;
            n = n * 10 + u64::from(d);
        }
        if digits {
            return (n <= max).then_some(n);
        }
    }
    // `trim_lws`, on bytes; only digits are accepted, so text that is not UTF-8 fails
    // either way.
    let (mut a, mut z) = (0, v.len());
    while a < z && is_lws(v[a]) {
        a += 1;
    }
    while z > a && is_lws(v[z - 1]) {
        z -= 1;
    }
    parse_decimal(std::str::from_utf8(&v[a..z]).ok()?, max)
}

fn header_err(e: &HeaderEntry, header: HeaderName, reason: &'static str) -> ParseError {
    ParseError::new(e.value.start as usize, K::HeaderValue { header, reason })
}

/// Decodes one header row into `d` if it is one the stack reads on every message. The
/// first malformed value is recorded in `d.fault`; repeated single-value headers in
/// `d.duplicate`.
#[inline]
pub(crate) fn decode_header(
    head: &str,
    idx: usize,
    e: &HeaderEntry,
    d: &mut Decoded,
    strict: bool,
) {
    decode_row(head.as_bytes(), idx, e, d, strict);
}

/// [`decode_row`] for the rows of the general line path (folds, unusual lines), and the
/// first Content-Length row that is not a number into `cl_err`.
#[inline(never)]
fn decode_outlined(
    hb: &[u8],
    idx: usize,
    e: &HeaderEntry,
    d: &mut Decoded,
    strict: bool,
    cl_err: &mut Option<usize>,
) {
    decode_row(hb, idx, e, d, strict);
    if e.name == HeaderName::ContentLength && d.content_length.is_none() && cl_err.is_none() {
        *cl_err = Some(e.value.start as usize);
    }
}

/// Whether [`decode_row`] does anything for rows named `name`.
#[inline(always)]
fn decodes(name: HeaderName) -> bool {
    matches!(
        name,
        HeaderName::Via
            | HeaderName::From
            | HeaderName::To
            | HeaderName::CallId
            | HeaderName::CSeq
            | HeaderName::MaxForwards
            | HeaderName::ContentLength
            | HeaderName::Contact
            | HeaderName::Expires
            | HeaderName::MinExpires
    )
}

/// [`decode_header`] on the bytes of the text: the parser decodes each row as soon as it is
/// complete, before the header section is known to be UTF-8 (when it is not, the parse
/// fails and nothing decoded is kept).
#[inline(always)]
fn decode_row(hb: &[u8], idx: usize, e: &HeaderEntry, d: &mut Decoded, strict: bool) {
    // Every other header is left alone: skip the call.
    if decodes(e.name) {
        decode_known_header(hb, idx, e, d, strict);
    }
}

#[inline(always)]
fn decode_known_header(hb: &[u8], idx: usize, e: &HeaderEntry, d: &mut Decoded, strict: bool) {
    let vs = e.value.start as usize;
    let ve = e.value.end as usize;
    macro_rules! fault {
        ($f:expr) => {{
            let f = $f;
            if d.fault.is_none() {
                d.fault = Some(f);
            }
        }};
    }
    macro_rules! once {
        ($field:expr) => {
            if $field.is_some() {
                if d.duplicate.is_none() {
                    d.duplicate = Some((idx, e.name));
                }
                return;
            }
        };
    }
    match e.name {
        HeaderName::Via if d.via.is_none() => match parse_via_bytes(hb, vs, ve) {
            Ok((via, _)) => d.via = Some(via),
            Err(r) => fault!(header_err(e, HeaderName::Via, r)),
        },
        HeaderName::From | HeaderName::To => {
            let slot = if e.name == HeaderName::From {
                &mut d.from
            } else {
                &mut d.to
            };
            if slot.is_some() {
                if d.duplicate.is_none() {
                    d.duplicate = Some((idx, e.name));
                }
                return;
            }
            match parse_name_addr_bytes(hb, vs, ve, strict) {
                Ok(na) => *slot = Some(na),
                Err(r) => fault!(header_err(e, e.name, r)),
            }
        }
        HeaderName::CallId => {
            once!(d.call_id);
            // The value's bytes without surrounding LWS, as `trim_lws` would leave them
            // (the span's ends are ASCII positions, so the bytes are the `str`'s).
            let (mut a, mut z) = (vs, ve);
            if hb.get(a..z).is_none() {
                (a, z) = (0, 0);
            }
            while a < z && hb.get(a).is_some_and(|&c| is_lws(c)) {
                a += 1;
            }
            while z > a && hb.get(z - 1).is_some_and(|&c| is_lws(c)) {
                z -= 1;
            }
            // `word` characters with at most one '@' among them.
            let k = run(&hb[..z], a, &WORD);
            let ok = k == z || hb[k] == b'@' && run(&hb[..z], k + 1, &WORD) == z;
            if a == z || !ok {
                fault!(header_err(
                    e,
                    HeaderName::CallId,
                    "expected word [\"@\" word]"
                ));
            } else {
                d.call_id = Some(Span::new(a, z));
            }
        }
        HeaderName::CSeq => {
            once!(d.cseq);
            match parse_cseq_at(hb, vs, ve) {
                Ok((n, a, z)) if n < 1 << 31 || !strict => d.cseq = Some((n, Span::new(a, z))),
                Ok(_) => fault!(header_err(
                    e,
                    HeaderName::CSeq,
                    "sequence number must be below 2**31"
                )),
                Err(r) => fault!(header_err(e, HeaderName::CSeq, r)),
            }
        }
        HeaderName::MaxForwards => {
            once!(d.max_forwards);
            match value_decimal(hb, e, 255) {
                Some(n) => d.max_forwards = Some(n as u8),
                None => fault!(header_err(
                    e,
                    HeaderName::MaxForwards,
                    "expected a number from 0 to 255"
                )),
            }
        }
        HeaderName::ContentLength => {
            once!(d.content_length);
            match value_decimal(hb, e, u64::from(u32::MAX)) {
                Some(n) => d.content_length = Some(n as usize),
                None => fault!(header_err(
                    e,
                    HeaderName::ContentLength,
                    "expected a non-negative number"
                )),
            }
        }
        HeaderName::Contact => {
            if d.contact.is_some() {
                return;
            }
            let v = hb.get(vs..ve).unwrap_or(&[]);
            // `trim_lws(v) == "*"`.
            let (mut a, mut z) = (0, v.len());
            while a < z && is_lws(v[a]) {
                a += 1;
            }
            while z > a && is_lws(v[z - 1]) {
                z -= 1;
            }
            if &v[a..z] == b"*" {
                d.contact = Some(ContactData::Star);
                return;
            }
            // Only the first element is decoded here; split only if there is a comma.
            let (fs, fe) = if hb.get(vs..ve).is_none() {
                (vs, vs)
            } else if super::scan::find_byte(v, b',').is_none() {
                (vs, ve)
            } else {
                (vs, vs + super::scan::first_comma_piece(v))
            };
            match parse_name_addr_bytes(hb, fs, fe, strict) {
                Ok(na) => d.contact = Some(ContactData::Addr(na)),
                Err(r) => fault!(header_err(e, HeaderName::Contact, r)),
            }
        }
        HeaderName::Expires | HeaderName::MinExpires
            if d.fault.is_none() && value_decimal(hb, e, u64::from(u32::MAX)).is_none() =>
        {
            fault!(header_err(e, e.name, "expected a 32-bit delta-seconds"));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(s: &str) -> Request {
        match parse_unchecked(
            Bytes::copy_from_slice(s.as_bytes()),
            &ParseOptions::default(),
        )
        .unwrap()
        {
            SipMessage::Request(r) => r,
            SipMessage::Response(_) => panic!("expected a request"),
        }
    }

    const INVITE: &str = "INVITE sip:bob@biloxi.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.com>\r\n\
From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.com>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\
\r\n\
v=0\r\n";

    #[test]
    fn parses_rfc3261_invite_and_decodes_in_one_pass() {
        let r = req(INVITE);
        assert_eq!(r.method(), &Method::Invite);
        assert_eq!(r.uri_str(), "sip:bob@biloxi.com");
        assert_eq!(r.via().unwrap().branch(), Some("z9hG4bK776asdhds"));
        assert_eq!(r.from().unwrap().tag(), Some("1928301774"));
        assert_eq!(r.to().unwrap().tag(), None);
        assert_eq!(r.call_id(), Some("a84b4c76e66710@pc33.atlanta.com"));
        assert_eq!(r.cseq(), Some((314159, "INVITE")));
        assert_eq!(r.max_forwards(), Some(70));
        assert_eq!(r.content_length(), Some(4));
        assert_eq!(&r.body()[..], b"v=0\r");
        assert_eq!(r.headers().len(), 9);
        assert!(r.check().is_ok());
        assert_eq!(r.to_bytes(), INVITE.as_bytes()[..INVITE.len() - 1]);
    }

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

    #[test]
    fn lenient_accepts_bare_lf_and_strict_does_not() {
        let lf = INVITE.replace("\r\n", "\n");
        let lf = lf.replace("Content-Length: 4", "Content-Length: 3");
        let r = req(&lf);
        assert_eq!(&r.body()[..], b"v=0");
        let e = parse(Bytes::from(lf.clone()), &ParseOptions::strict()).unwrap_err();
        assert_eq!(e.kind, K::LineEnding);
        assert_eq!(r.to_bytes(), lf.as_bytes()[..lf.len() - 1]);
    }

    #[test]
    fn framing_errors() {
        let p = |s: &str| {
            parse(
                Bytes::copy_from_slice(s.as_bytes()),
                &ParseOptions::default(),
            )
        };
        assert_eq!(p("").unwrap_err().kind, K::Empty);
        assert_eq!(p("\r\n\r\n").unwrap_err().kind, K::Empty);
        assert_eq!(
            p("INVITE sip:a@b SIP/2.0\r\nVia: x").unwrap_err().kind,
            K::UnterminatedHeaders
        );
        assert_eq!(
            p("SIP/2.0 2000 OK\r\n\r\n").unwrap_err().kind,
            K::StatusCode
        );
        assert_eq!(p("SIP/2.0 099 OK\r\n\r\n").unwrap_err().kind, K::StatusCode);
        assert_eq!(
            p("SIP/7.0 200 OK\r\n\r\n").unwrap_err().kind,
            K::UnsupportedVersion
        );
        assert_eq!(
            p("INVITE sip:a@b SIP/2.0\r\nNoColon\r\n\r\n")
                .unwrap_err()
                .kind,
            K::HeaderLine
        );
        assert_eq!(
            p("INVITE sip:a@b SIP/2.0\r\n folded\r\n\r\n")
                .unwrap_err()
                .kind,
            K::HeaderLine
        );
        let short = INVITE.replace("Content-Length: 4", "Content-Length: 40");
        assert_eq!(
            p(&short).unwrap_err().kind,
            K::BodyTooShort {
                declared: 40,
                available: 5
            }
        );
        let neg = INVITE.replace("Content-Length: 4", "Content-Length: -4");
        assert_eq!(p(&neg).unwrap_err().kind, K::ContentLength);
    }

    #[test]
    fn limits_are_enforced_before_allocating() {
        let mut o = ParseOptions::default();
        o.limits.max_headers = 3;
        let e = parse(Bytes::from_static(INVITE.as_bytes()), &o).unwrap_err();
        assert_eq!(e.kind, K::TooManyHeaders { limit: 3 });
        o = ParseOptions::default();
        o.limits.max_message_size = 100;
        assert_eq!(
            parse(Bytes::from_static(INVITE.as_bytes()), &o)
                .unwrap_err()
                .kind,
            K::TooLarge { limit: 100 }
        );
        o = ParseOptions::default();
        o.limits.max_line_length = 40;
        assert!(matches!(
            parse(Bytes::from_static(INVITE.as_bytes()), &o)
                .unwrap_err()
                .kind,
            K::LineTooLong { .. }
        ));
    }

    #[test]
    fn edits_rewrite_only_the_edited_row() {
        let mut r = req(INVITE);
        r.set_via_param("received", Some("192.0.2.4")).unwrap();
        r.set_via_param("rport", Some("5062")).unwrap();
        assert_eq!(r.via().unwrap().received(), Some("192.0.2.4"));
        assert_eq!(r.via().unwrap().rport(), Some(Some(5062)));
        let out = String::from_utf8(r.to_bytes().to_vec()).unwrap();
        let expected = INVITE.replace(
            "branch=z9hG4bK776asdhds",
            "branch=z9hG4bK776asdhds;received=192.0.2.4;rport=5062",
        );
        assert_eq!(out, expected[..expected.len() - 1]);
        r.set_header("Max-Forwards", "69").unwrap();
        assert_eq!(r.max_forwards(), Some(69));
        r.prepend_header("Via", "SIP/2.0/TCP proxy.example.com;branch=z9hG4bKp")
            .unwrap();
        assert_eq!(r.via().unwrap().host(), "proxy.example.com");
        assert_eq!(r.vias().count(), 2);
        assert_eq!(r.remove_header("Contact"), 1);
        assert!(r.contact().is_none());
        assert!(r.push_header("X-Evil", "a\r\nInjected: 1").is_err());
        let reparsed = req(std::str::from_utf8(&r.to_bytes()).unwrap());
        assert_eq!(reparsed.max_forwards(), Some(69));
        assert_eq!(reparsed.via().unwrap().host(), "proxy.example.com");
    }
}
