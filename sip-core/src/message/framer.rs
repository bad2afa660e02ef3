//! Stream framing for TCP and TLS (RFC 3261 §18.3): cuts whole messages out of a byte stream
//! using Content-Length, and drops CRLF keep-alives between messages (RFC 5626 §3.5.1).

use super::error::{ContentLengthFault, ParseError, ParseErrorKind as K};
use super::model::SipMessage;
use super::options::ParseOptions;
use super::parser::{Framing, parse_framed};
use super::scan::{parse_decimal, trim_lws};
use bytes::{Buf, BytesMut};

/// Accumulates stream bytes in arbitrary chunks (one byte at a time included) and yields
/// whole messages.
///
/// A framing error (no Content-Length, a header section or body above the limits) means the
/// stream has lost sync: the error is returned once, the buffer is dropped, and the
/// connection should be closed.
///
/// ```
/// use sip_core::message::{StreamFramer, ParseOptions};
/// let mut f = StreamFramer::new(ParseOptions::default());
/// let msg = b"\r\n\r\nOPTIONS sip:a@b SIP/2.0\r\nContent-Length: 2\r\n\r\nhi";
/// for &b in msg.iter() {
///     f.push(&[b]);
/// }
/// let m = f.next_message().unwrap().unwrap();
/// assert_eq!(&m.message().body()[..], b"hi");
/// assert!(f.next_message().is_none());
/// ```
#[derive(Debug)]
pub struct StreamFramer {
    buf: BytesMut,
    opts: ParseOptions,
    /// How far the search for the end of the header section has got.
    scanned: usize,
    /// Length of the header section (incl. the empty line) and the body, once known.
    pending: Option<(usize, usize)>,
    /// Keep-alive CRLFs dropped so far.
    keepalives: u64,
    /// The bytes of the message that lost the framing (at most the size limit), kept for
    /// an answer to it (see [`StreamFramer::take_rejected`]).
    rejected: Option<bytes::Bytes>,
}

impl StreamFramer {
    /// A framer with these parse options (the limits bound how much it buffers).
    pub fn new(opts: ParseOptions) -> Self {
        StreamFramer {
            buf: BytesMut::new(),
            opts,
            scanned: 0,
            pending: None,
            keepalives: 0,
            rejected: None,
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// Bytes held, not yet part of a returned message.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Keep-alive CRLFs skipped so far (RFC 5626 §3.5.1); a driver answers a double-CRLF
    /// ping with a single CRLF pong.
    pub fn keepalives(&self) -> u64 {
        self.keepalives
    }

    /// The bytes of the message that caused the last framing error — the first
    /// `max_message_size` of them at most — once: what a driver hands to the endpoint
    /// (`Input::Unframed`) so that it can answer before the connection closes, when
    /// enough of the head can be read (RFC 3261 §18.3, §21).
    pub fn take_rejected(&mut self) -> Option<bytes::Bytes> {
        self.rejected.take()
    }

    fn fail(&mut self, at: usize, kind: K) -> Option<Result<bytes::Bytes, ParseError>> {
        let keep = self.buf.len().min(self.opts.limits.max_message_size);
        self.rejected = Some(self.buf.split_to(keep).freeze());
        self.buf.clear();
        self.scanned = 0;
        self.pending = None;
        Some(Err(ParseError::new(at, kind)))
    }

    /// The next whole message, `None` if more bytes are needed. Messages are parsed with
    /// stream framing and without the semantic checks (call [`SipMessage::check`]).
    pub fn next_message(&mut self) -> Option<Result<SipMessage, ParseError>> {
        Some(match self.next_frame()? {
            Ok(bytes) => parse_framed(bytes, &self.opts, Framing::Stream),
            Err(e) => Err(e),
        })
    }

    /// The bytes of the next whole message, unparsed: what a driver hands to the endpoint
    /// as `Input::Receive` (which parses it once, and can answer 400 to a message that is
    /// framed but malformed). An `Err` is a framing error: the stream has lost sync and the
    /// connection should be closed.
    pub fn next_frame(&mut self) -> Option<Result<bytes::Bytes, ParseError>> {
        if self.pending.is_none() {
            // Keep-alives and stray line ends between messages.
            let lead = self
                .buf
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            if lead > 0 {
                self.keepalives += self.buf[..lead].iter().filter(|&&b| b == b'\n').count() as u64;
                self.buf.advance(lead);
                self.scanned = 0;
            }
            let head = match self.find_head_end() {
                Some(h) => h,
                None => {
                    let limit = self.opts.limits.max_message_size;
                    if self.buf.len() > limit {
                        return self.fail(limit, K::TooLarge { limit });
                    }
                    return None;
                }
            };
            let cl = match content_length(&self.buf[..head], self.opts.is_strict()) {
                Ok(Some(cl)) => cl,
                Ok(None) => return self.fail(head, K::MissingContentLength),
                Err((at, kind)) => return self.fail(at, kind),
            };
            if cl > self.opts.limits.max_content_length {
                return self.fail(
                    head,
                    K::ContentLengthTooLarge {
                        limit: self.opts.limits.max_content_length,
                    },
                );
            }
            if head + cl > self.opts.limits.max_message_size {
                let limit = self.opts.limits.max_message_size;
                return self.fail(limit, K::TooLarge { limit });
            }
            self.pending = Some((head, cl));
        }
        let (head, cl) = self.pending?;
        if self.buf.len() < head + cl {
            return None;
        }
        let bytes = self.buf.split_to(head + cl).freeze();
        self.pending = None;
        self.scanned = 0;
        Some(Ok(bytes))
    }

    /// Finds the end of the header section (after the empty line), resuming where the last
    /// search stopped.
    fn find_head_end(&mut self) -> Option<usize> {
        let b = &self.buf[..];
        let mut pos = self.scanned;
        while let Some(off) = memchr::memchr(b'\n', &b[pos..]) {
            let nl = pos + off;
            match (b.get(nl + 1), b.get(nl + 2)) {
                (Some(b'\n'), _) => return Some(nl + 2),
                (Some(b'\r'), Some(b'\n')) => return Some(nl + 3),
                (Some(b'\r'), None) | (None, _) => {
                    self.scanned = nl;
                    return None;
                }
                _ => pos = nl + 1,
            }
        }
        self.scanned = b.len().saturating_sub(1);
        None
    }
}

/// A header value read across its folds: its bytes, and where each of its pieces starts in
/// the value and in the head.
type PiecedValue = (Vec<u8>, Vec<(usize, usize)>);

/// Finds Content-Length (or `l`) in a header section, following folded continuation lines.
/// `Err` on a malformed (saying why, at the offending byte) or repeated value (lenient
/// mode takes the same number repeated, see [`super::Mode::Lenient`]).
fn content_length(head: &[u8], strict: bool) -> Result<Option<usize>, (usize, K)> {
    let mut found = None;
    // The value being read: its bytes, and where each of its pieces (the first line's part
    // and each fold, joined by a SP) starts in the value and in `head`.
    let mut value: Option<PiecedValue> = None;
    let finish = |v: Option<PiecedValue>, found: &mut Option<usize>| -> Result<(), (usize, K)> {
        let Some((v, pieces)) = v else {
            return Ok(());
        };
        let at = |k: usize| {
            pieces
                .iter()
                .rev()
                .find(|&&(inv, _)| inv <= k)
                .map_or(0, |&(inv, inhead)| inhead + (k - inv))
        };
        if let Some((k, fault)) = ContentLengthFault::of(&v) {
            return Err((at(k), K::ContentLength(fault)));
        }
        let text = std::str::from_utf8(&v).unwrap_or_default();
        let n = parse_decimal(trim_lws(text), u64::from(u32::MAX)).unwrap_or_default() as usize;
        if found.replace(n).is_some_and(|first| strict || first != n) {
            return Err((at(0), K::DuplicateHeader(super::HeaderName::ContentLength)));
        }
        Ok(())
    };
    let mut start = memchr::memchr(b'\n', head).map_or(head.len(), |n| n + 1);
    while start < head.len() {
        let end = memchr::memchr(b'\n', &head[start..]).map_or(head.len(), |n| start + n);
        let line = &head[start..end];
        let line_start = start;
        start = end + 1;
        if matches!(line.first(), Some(b' ' | b'\t')) {
            // A fold continues the previous header's value.
            if let Some((v, pieces)) = value.as_mut() {
                v.push(b' ');
                pieces.push((v.len(), line_start));
                v.extend_from_slice(line);
            }
            continue;
        }
        finish(value.take(), &mut found)?;
        let Some(colon) = memchr::memchr(b':', line) else {
            continue;
        };
        let name = trim_ws(&line[..colon]);
        if name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l") {
            value = Some((
                line[colon + 1..].to_vec(),
                vec![(0, line_start + colon + 1)],
            ));
        }
    }
    finish(value.take(), &mut found)?;
    Ok(found)
}

fn trim_ws(b: &[u8]) -> &[u8] {
    let s = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let e = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(s, |e| e + 1);
    &b[s..e.max(s)]
}

#[cfg(test)]
mod tests {
    use super::*;

    const M1: &[u8] =
        b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nl: 3\r\n\r\nabc";
    const M2: &[u8] = b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn yields_messages_from_any_chunking() {
        let mut stream = Vec::new();
        stream.extend_from_slice(b"\r\n\r\n");
        stream.extend_from_slice(M1);
        stream.extend_from_slice(b"\r\n");
        stream.extend_from_slice(M2);
        for chunk in [1, 2, 3, 7, 64, stream.len()] {
            let mut f = StreamFramer::new(ParseOptions::default());
            let mut got = Vec::new();
            for c in stream.chunks(chunk) {
                f.push(c);
                while let Some(m) = f.next_message() {
                    got.push(m.unwrap().to_bytes());
                }
            }
            assert_eq!(got, [M1, M2], "chunk size {chunk}");
            assert_eq!(f.buffered(), 0);
            assert_eq!(f.keepalives(), 3);
        }
    }

    #[test]
    fn framing_errors_are_fatal_and_bounded() {
        let mut f = StreamFramer::new(ParseOptions::default());
        f.push(b"OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\nmore");
        assert_eq!(
            f.next_message().unwrap().unwrap_err().kind,
            K::MissingContentLength
        );
        assert_eq!(f.buffered(), 0);
        // What was held is kept once, for an answer to it.
        assert_eq!(
            f.take_rejected().as_deref(),
            Some(&b"OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\nmore"[..])
        );
        assert_eq!(f.take_rejected(), None);

        let mut o = ParseOptions::default();
        o.limits.max_message_size = 64;
        let mut f = StreamFramer::new(o);
        f.push(&[b'A'; 100]);
        assert_eq!(
            f.next_message().unwrap().unwrap_err().kind,
            K::TooLarge { limit: 64 }
        );
        // At most the size limit of it.
        assert_eq!(f.take_rejected().map(|b| b.len()), Some(64));

        let mut f = StreamFramer::new(ParseOptions::default());
        f.push(b"OPTIONS sip:a@b SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab");
        assert_eq!(
            f.next_message().unwrap().unwrap_err().kind,
            K::DuplicateHeader(crate::message::HeaderName::ContentLength)
        );
        let mut f = StreamFramer::new(ParseOptions::default());
        f.push(b"OPTIONS sip:a@b SIP/2.0\r\nl: 1x\r\n\r\nab");
        let e = f.next_message().unwrap().unwrap_err();
        assert_eq!(e.kind, K::ContentLength(ContentLengthFault::NotDigit('x')));
        assert_eq!(
            e.to_string(),
            "invalid Content-Length: expected decimal digits, found 'x' (at byte 29)"
        );
    }
}
