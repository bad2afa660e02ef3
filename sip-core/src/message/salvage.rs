//! What can be answered of a request the parser refused (RFC 3261 §8.2.6, §18.3, §21).
//!
//! A request too big for the limits, with a Content-Length beyond its datagram, or with a
//! malformed row still deserves an answer (§18.3: "the element SHOULD generate a 400";
//! §21.5.9: 513 Message Too Large), but a response copies the request's Via, From, To,
//! Call-ID and CSeq rows (§8.2.6), so the parser's refusal alone cannot be answered.
//! [`answerable_head`] reads those rows again, and nothing else, in one bounded pass.

use super::method::Method;
use super::model::{Request, SipMessage};
use super::name::HeaderName;
use super::options::{Limits, ParseOptions};
use super::parser::{Framing, parse_framed};
use super::scan::is_token;
use bytes::Bytes;

/// The longest method name read from a refused request line.
const MAX_METHOD: usize = 64;

/// The Request-URI written into the request [`answerable_head`] gives: a response does not
/// carry the Request-URI (§8.2.6), so the received one (perhaps the over-long part) is not
/// kept. `.invalid` is the name reserved for names that cannot resolve (RFC 2606 §2).
const PLACEHOLDER_URI: &str = "sip:answer.invalid";

/// A request holding only what a response to `bytes` copies (§8.2.6): the method of its
/// request line and its Via, From, To, Call-ID and CSeq rows (folds included), each row
/// within `limits.max_line_length` and valid UTF-8, at most `limits.max_headers` of them,
/// read from the first `limits.max_message_size` bytes up to the end of the head (or the
/// last complete line). Its Request-URI is a placeholder and it has no body.
///
/// `None` when there is nothing to answer: a response (a response is never answered,
/// §17.1.3), no method, or any of the five rows missing or malformed. Work and memory are
/// linear in the bytes read.
pub(crate) fn answerable_head(bytes: &[u8], limits: &Limits) -> Option<Request> {
    let b = bytes.get(..bytes.len().min(limits.max_message_size))?;
    let first = b.iter().position(|&c| c != b'\r' && c != b'\n')?;
    let mut lines = Lines { b, pos: first };
    let start = lines.next()?;
    if start.len() >= 4 && start[..4].eq_ignore_ascii_case(b"SIP/") {
        return None;
    }
    let me = start.iter().position(|&c| c == b' ' || c == b'\t')?;
    let method = std::str::from_utf8(start.get(..me)?).ok()?;
    if me > MAX_METHOD || !method.bytes().all(is_token) {
        return None;
    }
    let method = Method::parse(method)?;

    let mut text = format!("{method} {PLACEHOLDER_URI} SIP/2.0\r\n");
    let rows_from = text.len();
    let mut rows = 0usize;
    // Where the row being copied starts in `text`, while it is being copied.
    let mut row: Option<usize> = None;
    for line in lines {
        if line.is_empty() {
            break;
        }
        if matches!(line[0], b' ' | b'\t') {
            // A fold of the previous row (§7.3.1): copied with it, or dropped with it.
            if let Some(at) = row {
                let fits = text.len() - at + line.len() <= limits.max_line_length;
                match std::str::from_utf8(line) {
                    Ok(l) if fits => {
                        text.push_str(l);
                        text.push_str("\r\n");
                    }
                    _ => {
                        text.truncate(at);
                        rows -= 1;
                        row = None;
                    }
                }
            }
            continue;
        }
        row = None;
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            continue;
        };
        let name = HeaderName::lookup_bytes(line[..colon].trim_ascii());
        let copied = matches!(
            name,
            HeaderName::Via
                | HeaderName::From
                | HeaderName::To
                | HeaderName::CallId
                | HeaderName::CSeq
        );
        if !copied || line.len() > limits.max_line_length || rows >= limits.max_headers {
            continue;
        }
        if let Ok(l) = std::str::from_utf8(line) {
            row = Some(text.len());
            rows += 1;
            text.push_str(l);
            text.push_str("\r\n");
        }
    }
    if text.len() == rows_from {
        return None;
    }
    text.push_str("\r\n");
    let opts = ParseOptions {
        limits: Limits {
            max_message_size: text.len().max(limits.max_message_size),
            ..*limits
        },
        ..ParseOptions::lenient()
    };
    let SipMessage::Request(req) =
        parse_framed(Bytes::from(text), &opts, Framing::Datagram).ok()?
    else {
        return None;
    };
    let m = req.message();
    let complete = req.via().is_some()
        && m.from().is_some()
        && m.to().is_some()
        && m.call_id().is_some()
        && m.cseq().is_some_and(|(_, cm)| cm == req.method().as_str())
        && m.decoded.fault.is_none();
    complete.then_some(req)
}

/// The lines of `b` from `pos` on, without their CRLF or LF; a last line with no LF is not
/// given (it may be cut).
struct Lines<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.b.get(self.pos..)?;
        let nl = memchr::memchr(b'\n', rest)?;
        self.pos += nl + 1;
        let line = rest.get(..nl)?;
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "INVITE sip:bob@biloxi.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\r\n\
Via: SIP/2.0/UDP proxy.example.com\r\n ;branch=z9hG4bK2\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.com>\r\n\
From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n\
CSeq: 314159 INVITE\r\n\
Content-Length: 400\r\n\
\r\n\
v=0\r\n";

    fn salvage(s: &[u8]) -> Option<Request> {
        answerable_head(s, &Limits::default())
    }

    #[test]
    fn keeps_only_the_rows_a_response_copies() {
        let r = salvage(HEAD.as_bytes()).unwrap();
        assert_eq!(r.method(), &Method::Invite);
        assert_eq!(r.uri_str(), PLACEHOLDER_URI);
        assert_eq!(r.via().unwrap().branch(), Some("z9hG4bK776asdhds"));
        assert_eq!(r.vias().count(), 2);
        assert_eq!(r.from().unwrap().tag(), Some("1928301774"));
        assert_eq!(r.call_id(), Some("a84b4c76e66710@pc33.atlanta.com"));
        assert_eq!(r.cseq(), Some((314159, "INVITE")));
        assert_eq!(r.max_forwards(), None);
        assert_eq!(r.content_length(), None);
        assert!(r.body().is_empty());
    }

    #[test]
    fn reads_past_what_the_parser_refused() {
        // A line over the limit, a row that is not UTF-8, a bad row, a cut last line.
        let long = format!("X-Long: {}\r\n", "a".repeat(9000));
        let text = HEAD.replace("Max-Forwards: 70\r\n", &long).replace(
            "Content-Length: 400\r\n\r\nv=0\r\n",
            "NoColon\r\nX-Cut: abc",
        );
        let mut bytes = text.into_bytes();
        let at = bytes.windows(4).position(|w| w == b"X-Cu").unwrap();
        bytes.splice(at..at, b"Subject: caf\xe9\r\n".iter().copied());
        let r = salvage(&bytes).unwrap();
        assert_eq!(r.headers().len(), 6);
        // An over-long Request-URI is not kept.
        let uri = format!("sip:{}@b", "u".repeat(5000));
        let r = salvage(
            HEAD.replace("sip:bob@biloxi.com SIP", &format!("{uri} SIP"))
                .as_bytes(),
        );
        assert_eq!(r.unwrap().uri_str(), PLACEHOLDER_URI);
    }

    #[test]
    fn refuses_what_cannot_be_answered() {
        // A response, an unreadable start line, a missing or malformed row.
        assert!(
            salvage(
                HEAD.replace("INVITE sip:bob@biloxi.com SIP/2.0", "SIP/2.0 200 OK")
                    .as_bytes()
            )
            .is_none()
        );
        assert!(salvage(b"\x01\x02garbage\r\n\r\n").is_none());
        assert!(salvage(b"").is_none());
        assert!(salvage(HEAD.replace("INVITE sip", "INV\"ITE sip").as_bytes()).is_none());
        assert!(salvage(HEAD.replace("Call-ID", "X-Call-ID").as_bytes()).is_none());
        assert!(
            salvage(
                HEAD.replace("To: Bob <sip:bob@biloxi.com>", "To: <<")
                    .as_bytes()
            )
            .is_none()
        );
        assert!(salvage(HEAD.replace("314159 INVITE", "1 BYE").as_bytes()).is_none());
        // A From row that is not UTF-8 is not copied: nothing to answer with.
        let mut b = HEAD.as_bytes().to_vec();
        let at = HEAD.find("Alice").unwrap();
        b[at] = 0xff;
        assert!(salvage(&b).is_none());
    }

    #[test]
    fn bounded_by_the_limits() {
        // Rows beyond the header limit and bytes beyond the size limit are not read.
        let limits = Limits {
            max_headers: 3,
            ..Limits::default()
        };
        assert!(answerable_head(HEAD.as_bytes(), &limits).is_none());
        let cut = HEAD.find("CSeq").unwrap();
        let limits = Limits {
            max_message_size: cut,
            ..Limits::default()
        };
        assert!(answerable_head(HEAD.as_bytes(), &limits).is_none());
        // A fold that makes the row too long drops the row.
        let limits = Limits {
            max_line_length: 56,
            ..Limits::default()
        };
        let r = answerable_head(HEAD.as_bytes(), &limits).unwrap();
        assert_eq!(r.vias().count(), 1);
        assert_eq!(r.via().unwrap().branch(), Some("z9hG4bK2"));
    }
}
