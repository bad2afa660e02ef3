//! The parser: one forward pass over the bytes (RFC 3261 §7, §25; §18.3 for framing).
//!
//! The pass finds the start line, splits the header section into rows (unfolding nothing:
//! a value's span covers its folds), recognises each header name by length and first byte,
//! and decodes the headers the stack needs on every message (top Via, From, To, Call-ID,
//! CSeq, Max-Forwards, Content-Length, first Contact) as it goes. Malformed values of those
//! headers are recorded, not fatal, so an endpoint can still answer 400 with the right Via;
//! [`parse`] turns them into errors, [`parse_unchecked`] leaves that to [`Message::header_fault`]
//! and the semantic checks of [`super::validate`].
//!
//! The usual shapes of the request line, the header lines and the decoded values take the
//! fast paths of [`fast`]; the general code here is the reference they must agree with.

mod fast;

pub(crate) use fast::request_uri_ok;
use fast::{fast_header_lines, fast_request_line, fast_request_start};

use super::error::{ContentLengthFault, ParseError, ParseErrorKind as K};
use super::header::name_addr::parse_name_addr_bytes;
use super::header::simple::parse_cseq_at;
use super::header::via::parse_via_bytes;
use super::method::Method;
use super::model::{ContactData, Decoded, HeaderEntry, Message, Request, Response, SipMessage};
use super::name::HeaderName;
use super::options::ParseOptions;
use super::scan::{WORD, find_lf, find_sep_then_end, is_lws, is_token, parse_decimal, run};
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
        SipMessage::Response(r) if opts.is_strict() => super::validate::check_response_strict(r)?,
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
    cl_err: &mut Option<Span>,
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
            // At the first byte over the limit.
            return Err((
                last.line.start as usize + limits.max_line_length,
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
            // At the first byte over the limit.
            return Err((
                line.start + limits.max_line_length,
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
    parse_framed_into::<_, true>(
        &mut { bytes },
        opts,
        framing,
        SipMessage::Request,
        SipMessage::Response,
    )
}

/// [`parse_framed`] with the fast paths of [`fast`] switched off: the reference they are
/// tested against.
#[cfg(test)]
pub(super) fn parse_reference(
    bytes: Bytes,
    opts: &ParseOptions,
    framing: Framing,
) -> Result<SipMessage, ParseError> {
    parse_framed_into::<_, false>(
        &mut { bytes },
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
/// A refused message's bytes come back with the error, for an answer to what can be read
/// of it (`answerable_head`).
pub(crate) fn parse_framed_boxed(
    mut bytes: Bytes,
    opts: &ParseOptions,
    framing: Framing,
) -> Result<BoxedMessage, (ParseError, Bytes)> {
    parse_framed_into::<_, true>(
        &mut bytes,
        opts,
        framing,
        |r| BoxedMessage::Request(Box::new(r)),
        |r| BoxedMessage::Response(Box::new(r)),
    )
    .map_err(|e| (e, bytes))
}

/// [`parse_framed`], the request or response handed to `request` or `response`; with
/// `FAST`, the usual shapes go the ways of [`fast`], else the general code does everything
/// (`parse_reference`, in tests). The message takes its body from `bytes` (which is then
/// left empty or, when the body is a slice of it, as it was); on an error `bytes` is
/// untouched.
#[inline(always)]
fn parse_framed_into<T, const FAST: bool>(
    bytes: &mut Bytes,
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
    let b: &[u8] = bytes;
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
    let fast_start = if strict || !FAST {
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
    let mut cl_err: Option<Span> = None;
    let mut pos = start.next;
    let blank;
    loop {
        if FAST && small {
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
    // a rewrite of that row appended to the head: the room asked for it, so that the head
    // is not reallocated and copied again.
    let room = if head.starts_with("SIP/") {
        0
    } else {
        opts.received_headroom
    };
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
            parse_request_line::<FAST>(sl, opts, &mut decoded).map_err(|(at, k)| err(at, k))?;
        Kind::Req(method, uri)
    };

    if let Some(v) = cl_err {
        // Without a usable Content-Length the body cannot be delimited. The error points at
        // the first byte that is not a digit.
        return Err(content_length_error(v, &head, origin));
    }
    if let Some((idx, HeaderName::ContentLength)) = decoded.duplicate
        && (strict || content_lengths_differ(&headers, &head))
    {
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
        let mut body = std::mem::take(bytes);
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

/// Whether the Content-Length rows of a head say different things (lenient mode takes the
/// same value repeated: see [`super::Mode::Lenient`]).
#[cold]
#[inline(never)]
fn content_lengths_differ(headers: &[HeaderEntry], head: &str) -> bool {
    let mut values = headers
        .iter()
        .filter(|e| e.name == HeaderName::ContentLength)
        .map(|e| e.value.get(head));
    let first = values.next();
    values.any(|v| Some(v) != first)
}

/// The error for the Content-Length row whose value is `v` in `head`: what is wrong with
/// it, at the byte at fault.
#[cold]
#[inline(never)]
fn content_length_error(v: Span, head: &str, origin: usize) -> ParseError {
    let (at, fault) =
        ContentLengthFault::of(v.get(head).as_bytes()).unwrap_or((0, ContentLengthFault::Empty));
    ParseError::new(origin + v.start as usize + at, K::ContentLength(fault))
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

/// `Request-Line = Method SP Request-URI SP SIP-Version CRLF` (§7.1). With `FAST`, the
/// usual lenient line goes [`fast_request_line`]'s way.
fn parse_request_line<const FAST: bool>(
    sl: &str,
    opts: &ParseOptions,
    decoded: &mut Decoded,
) -> LineResult<(Method, Span)> {
    if FAST
        && !opts.is_strict()
        && let Some(fast) = fast_request_line(sl, opts)
    {
        return Ok(fast);
    }
    general_request_line(sl, opts, decoded)
}

/// [`parse_request_line`] the general way: every mode, every error, and the reference of
/// the fast paths (see [`fast`]).
fn general_request_line(
    sl: &str,
    opts: &ParseOptions,
    decoded: &mut Decoded,
) -> LineResult<(Method, Span)> {
    let strict = opts.is_strict();
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
        // The first byte over the limit (answered 414, §21.4.12).
        let limit = opts.limits.max_uri_length;
        return Err((us + limit, K::UriTooLong { limit }));
    }
    if !strict {
        // Lenient framing checks the URI's shape only (scheme, no character that cannot be
        // in a URI); the full grammar is applied by `check()` (see `validate`), so an
        // endpoint parses the Request-URI once.
        super::header::name_addr::check_uri_text(uri.as_bytes(), true)
            .map_err(|_| (us, K::RequestUri("malformed URI")))?;
        return Ok((method, Span::new(us, ue)));
    }
    let parsed =
        Uri::parse_strict(uri).map_err(|e| (us + e.offset, K::RequestUri("malformed URI")))?;
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
    header_err_at(e.value.start as usize, header, reason)
}

/// A fault in a header value, at the byte `at` of the head.
fn header_err_at(at: usize, header: HeaderName, reason: &'static str) -> ParseError {
    ParseError::new(at, K::HeaderValue { header, reason })
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
    cl_err: &mut Option<Span>,
) {
    decode_row(hb, idx, e, d, strict);
    if e.name == HeaderName::ContentLength && d.content_length.is_none() && cl_err.is_none() {
        *cl_err = Some(e.value);
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
        HeaderName::Via if d.via.is_none() => match parse_via_bytes(hb, vs, ve, strict) {
            Ok((via, _)) => d.via = Some(via),
            Err((at, r)) => fault!(header_err_at(at, HeaderName::Via, r)),
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
                Err((at, r)) => fault!(header_err_at(at, e.name, r)),
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
                Err((at, r)) => fault!(header_err_at(at, HeaderName::Contact, r)),
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

    pub(super) fn req(s: &str) -> Request {
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

    pub(super) const INVITE: &str = "INVITE sip:bob@biloxi.com SIP/2.0\r\n\
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

    /// The room for the server transport's rewrite of the top Via (§18.2.1, RFC 3581 §4):
    /// none in a plain parse; with the endpoint's headroom, stamping `received` (the longest
    /// address text) and `rport` on a request does not reallocate its text, where without
    /// it the same stamp does; none for a response; and the endpoint asks for it.
    #[test]
    fn received_headroom_is_reserved_when_asked_for() {
        let plain = req(INVITE);
        assert_eq!(plain.head.capacity(), plain.head.len());
        let opts = ParseOptions::default().with_received_headroom();
        assert_eq!(opts.received_headroom, ParseOptions::RECEIVED_HEADROOM);
        let request = |text: &str, opts: &ParseOptions| match parse_unchecked(
            Bytes::copy_from_slice(text.as_bytes()),
            opts,
        ) {
            Ok(SipMessage::Request(r)) => r,
            other => panic!("a request: {other:?}"),
        };
        let text = INVITE.replace("branch=z9hG4bK776asdhds", "branch=z9hG4bK776asdhds;rport");
        let ip = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
        let mut r = request(&text, &opts);
        let (at, room) = (r.head.as_ptr(), r.head.capacity());
        assert_eq!(room, r.head.len() + ParseOptions::RECEIVED_HEADROOM);
        r.stamp_received(ip, Some(65535));
        assert_eq!(r.via().unwrap().received(), Some(ip));
        assert_eq!(r.via().unwrap().rport(), Some(Some(65535)));
        assert_eq!(
            (r.head.as_ptr(), r.head.capacity()),
            (at, room),
            "not reallocated"
        );
        let mut p = request(&text, &ParseOptions::default());
        let room = p.head.capacity();
        p.stamp_received(ip, Some(65535));
        assert_eq!(p.to_bytes(), r.to_bytes());
        assert!(p.head.capacity() > room, "reallocated without the headroom");
        let ok =
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nContent-Length: 0\r\n\r\n";
        let m = parse_unchecked(Bytes::from_static(ok.as_bytes()), &opts).unwrap();
        assert_eq!(m.message().head.capacity(), m.message().head.len());
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
        assert_eq!(
            p(&neg).unwrap_err().kind,
            K::ContentLength(ContentLengthFault::NotDigit('-'))
        );
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
        let e = parse(Bytes::from_static(INVITE.as_bytes()), &o).unwrap_err();
        assert_eq!(e.kind, K::LineTooLong { limit: 40 });
        // At the first byte over the limit, in the first line over it (the Via).
        assert_eq!(e.offset, INVITE.find("Via:").unwrap() + 40);
        // A fold that takes the row over the limit: the byte over it, counted from the row.
        let folded = "OPTIONS sip:a@b SIP/2.0\r\nSubject: aaaaaaaaaa\r\n bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\r\n\r\n";
        o.limits.max_line_length = 30;
        let e = parse(Bytes::from_static(folded.as_bytes()), &o).unwrap_err();
        assert_eq!(e.kind, K::LineTooLong { limit: 30 });
        assert_eq!(e.offset, folded.find("Subject").unwrap() + 30);
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
