//! Builders for requests and responses (RFC 3261 §8.1.1, §8.2.6).
//!
//! A builder writes the message text and records each row as it writes it, so a built
//! message has exactly the representation of a received one (spans into one header string,
//! the stack's headers decoded by the parser's own decoder) without being parsed back; a
//! value that would not decode, or would inject a header, is refused with a typed error.
//! The text is written through the message writer ([`super::writer`]), whose guard refuses
//! the CR, LF and NUL.

use super::error::ParseError;
use super::method::Method;
use super::model::{BuildError, Decoded, HeaderEntry, Message, Request, Response, SipMessage};
use super::name::HeaderName;
use super::parser::{decode_header, request_uri_ok};
use super::span::Span;
use super::status::reason_phrase;
use super::writer;
use crate::transport::Transport;
use bytes::Bytes;
use std::fmt::{Display, Write};

/// Initial capacity of a built message's text: most requests and responses the stack
/// writes fit, so rows are appended without reallocating.
const TEXT_CAPACITY: usize = 640;

/// What the start line says, with the positions a parsed message would keep.
#[derive(Debug, Clone)]
enum Start {
    Request(Method, Span),
    Response(u16, Span),
}

/// Appends `name: value` CRLF to `text` the builder's way, through the message writer: the
/// value written by `write_value`; refused, and `text` left as it was, if the value holds a
/// CR, LF or NUL (the name is the stack's own or a checked `token`); the row's value span
/// without its leading and trailing blanks.
fn append_row(
    text: &mut String,
    name: &str,
    known: Option<HeaderName>,
    write_value: impl FnOnce(&mut String),
) -> Option<HeaderEntry> {
    let ls = text.len();
    let value = writer::row_with(text, name, true, write_value).ok()?;
    let b = text.as_bytes();
    let (mut s, mut e) = (value.start, value.end);
    while s < e && matches!(b[s], b' ' | b'\t') {
        s += 1;
    }
    while e > s && matches!(b[e - 1], b' ' | b'\t') {
        e -= 1;
    }
    Some(built_row(
        known.unwrap_or_else(|| HeaderName::lookup(name)),
        ls,
        name.len(),
        Span::new(s, e),
        text.len(),
    ))
}

/// The record of a row the builder wrote at `ls`, the line ending at `end`.
fn built_row(name: HeaderName, ls: usize, name_len: usize, value: Span, end: usize) -> HeaderEntry {
    HeaderEntry {
        name,
        name_span: Span::new(ls, ls + name_len),
        value,
        line: Span::new(ls, end),
        // Not worked out for built rows: nothing copies them row by row (the endpoint's
        // skeletons copy rows of received requests), and `false` only means "rewrite".
        verbatim: false,
    }
}

/// Header rows the endpoint writes straight to text for a request it sends itself (the
/// INVITE of a new call), the values the TU gave checked exactly as the builder checks
/// them: the same refusal of CR, LF and NUL, the same trimming, the same header decoder.
/// So a request written here is one the builder would have built, byte for byte.
pub(crate) struct CheckedRows {
    text: String,
    decoded: Decoded,
    rows: usize,
}

impl CheckedRows {
    /// Empty, with room for `capacity` bytes.
    pub(crate) fn new(capacity: usize) -> Self {
        CheckedRows {
            text: String::with_capacity(capacity),
            decoded: Decoded::default(),
            rows: 0,
        }
    }

    /// A row whose value the endpoint wrote itself (nothing to check).
    pub(crate) fn trusted(&mut self, name: &str, pieces: &[&str]) {
        writer::row_unchecked(&mut self.text, name, pieces);
        self.rows += 1;
    }

    /// A row with a value from the TU; `false` (and the text unusable) if the builder would
    /// refuse it.
    pub(crate) fn checked(&mut self, name: &str, pieces: &[&str]) -> bool {
        let written = append_row(&mut self.text, name, None, |t| {
            for p in pieces {
                t.push_str(p);
            }
        });
        let Some(row) = written else {
            return false;
        };
        decode_header(&self.text, self.rows, &row, &mut self.decoded, false);
        self.rows += 1;
        self.decoded.fault.is_none()
    }

    /// The rows written so far.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }
}

/// Writes the message text and records each row as it goes, so the built message gets the
/// same representation a parsed one has (spans into one header string, the stack's headers
/// decoded) without parsing the text back.
#[derive(Debug, Clone)]
struct Text {
    text: String,
    body: Bytes,
    error: Option<BuildError>,
    rows: Vec<HeaderEntry>,
    start: Start,
    start_len: usize,
}

impl Text {
    fn request(method: &Method, uri: &str) -> Self {
        let mut text = String::with_capacity(TEXT_CAPACITY);
        writer::request_line(&mut text, method.as_str(), uri);
        let us = method.as_str().len() + 1;
        let mut t = Text::with(
            text,
            Start::Request(method.clone(), Span::new(us, us + uri.len())),
        );
        if !request_uri_ok(uri) {
            t.error = Some(BuildError::HeaderValue("Request-URI".into()));
        }
        t
    }

    fn response(status: u16, reason: &str) -> Self {
        let mut text = String::with_capacity(TEXT_CAPACITY);
        writer::status_line(&mut text, status, reason);
        let rs = writer::STATUS_REASON_AT;
        Text::with(
            text,
            Start::Response(status, Span::new(rs, rs + reason.len())),
        )
    }

    fn with(text: String, start: Start) -> Self {
        let start_len = text.len();
        Text {
            text,
            body: Bytes::new(),
            error: None,
            rows: Vec::with_capacity(16),
            start,
            start_len,
        }
    }

    /// Adds a row whose value is written by `Display` (numbers, `format_args!`).
    fn header(&mut self, name: &str, value: &dyn Display) {
        self.row(name, None, |t| {
            let _ = write!(t, "{value}");
        });
    }

    /// Adds a row from text pieces written one after the other (no formatting machinery:
    /// most rows are plain strings).
    fn header_str(&mut self, name: &str, pieces: &[&str]) {
        self.row(name, None, |t| {
            for p in pieces {
                t.push_str(p);
            }
        });
    }

    /// [`Text::header_str`] for a header the builder names itself, in its canonical
    /// spelling: no name check, no lookup.
    fn known_str(&mut self, name: HeaderName, pieces: &[&str]) {
        self.row(name.as_str(), Some(name), |t| {
            for p in pieces {
                t.push_str(p);
            }
        });
    }

    fn row(
        &mut self,
        name: &str,
        known: Option<HeaderName>,
        write_value: impl FnOnce(&mut String),
    ) {
        if self.error.is_some() {
            return;
        }
        if known.is_none() && !super::scan::is_token_str(name) {
            self.error = Some(BuildError::HeaderName);
            return;
        }
        match append_row(&mut self.text, name, known, write_value) {
            Some(row) => self.rows.push(row),
            None => self.error = Some(BuildError::HeaderValue(name.to_owned())),
        }
    }

    fn finish(mut self) -> Result<SipMessage, BuildError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let ls = self.text.len();
        let value = writer::content_length_row(&mut self.text, self.body.len());
        self.rows.push(built_row(
            HeaderName::ContentLength,
            ls,
            HeaderName::ContentLength.as_str().len(),
            Span::new(value.start, value.end),
            self.text.len(),
        ));
        let blank = self.text.len();
        self.text.push_str("\r\n");
        let mut decoded = Decoded::default();
        for (i, e) in self.rows.iter().enumerate() {
            decode_header(&self.text, i, e, &mut decoded, false);
        }
        if let Some(f) = decoded.fault.take() {
            return Err(BuildError::Parse(f));
        }
        if let Some((idx, name)) = decoded
            .duplicate
            .filter(|(_, n)| *n == HeaderName::ContentLength)
        {
            let at = self.rows.get(idx).map_or(0, |e| e.line.start as usize);
            return Err(BuildError::Parse(ParseError::new(
                at,
                super::error::ParseErrorKind::DuplicateHeader(name),
            )));
        }
        let msg = Message {
            head: self.text,
            start_line: Span::new(0, self.start_len),
            blank: Span::new(blank, blank + 2),
            headers: self.rows,
            body: self.body,
            decoded,
            edited: false,
            origin: 0,
        };
        Ok(match self.start {
            Start::Request(method, uri) => SipMessage::Request(Request { method, uri, msg }),
            Start::Response(status, reason) => SipMessage::Response(Response {
                status,
                reason,
                msg,
            }),
        })
    }
}

/// Builds a request.
///
/// ```
/// use sip_core::message::{Method, Request};
/// use sip_core::transport::Transport;
/// let req = Request::builder(Method::Options, "sip:bob@192.0.2.2")
///     .via(Transport::Udp, "192.0.2.1:5060", "z9hG4bK74bf9")
///     .max_forwards(70)
///     .from("<sip:alice@example.com>", Some("9fxced76sl"))
///     .to("<sip:bob@example.com>", None)
///     .call_id("3848276298220188511@192.0.2.1")
///     .cseq(1)
///     .build()
///     .unwrap();
/// assert_eq!(req.cseq(), Some((1, "OPTIONS")));
/// assert_eq!(req.via().unwrap().branch(), Some("z9hG4bK74bf9"));
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct RequestBuilder {
    method: Method,
    t: Text,
}

impl Request {
    /// Starts a request with this method and Request-URI.
    pub fn builder(method: Method, uri: &str) -> RequestBuilder {
        let t = Text::request(&method, uri);
        RequestBuilder { method, t }
    }
}

impl RequestBuilder {
    /// Adds any header row.
    pub fn header(mut self, name: &str, value: impl Display) -> Self {
        self.t.header(name, &value);
        self
    }
    /// Adds a Via row `SIP/2.0/<transport> <sent-by>;branch=<branch>;rport` (§8.1.1.7,
    /// RFC 3581 §3: the client asks for rport).
    pub fn via(self, transport: Transport, sent_by: &str, branch: &str) -> Self {
        let mut b = self;
        b.t.known_str(
            HeaderName::Via,
            &[
                "SIP/2.0/",
                transport.via_token(),
                " ",
                sent_by,
                ";branch=",
                branch,
                ";rport",
            ],
        );
        b
    }
    /// Max-Forwards (§8.1.1.6).
    pub fn max_forwards(mut self, n: u8) -> Self {
        let mut digits = itoa::Buffer::new();
        self.t
            .known_str(HeaderName::MaxForwards, &[digits.format(n)]);
        self
    }
    /// From, as a name-addr or addr-spec, with an optional tag (§8.1.1.3).
    pub fn from(mut self, addr: &str, tag: Option<&str>) -> Self {
        self.t.known_str(HeaderName::From, &with_tag(addr, tag));
        self
    }
    /// To, with an optional tag (in-dialog requests, §12.2.1.1).
    pub fn to(mut self, addr: &str, tag: Option<&str>) -> Self {
        self.t.known_str(HeaderName::To, &with_tag(addr, tag));
        self
    }
    /// Call-ID (§8.1.1.4).
    pub fn call_id(mut self, id: &str) -> Self {
        self.t.known_str(HeaderName::CallId, &[id]);
        self
    }
    /// CSeq with the request's own method (§8.1.1.5).
    pub fn cseq(mut self, seq: u32) -> Self {
        let mut digits = itoa::Buffer::new();
        let n = digits.format(seq);
        self.t
            .known_str(HeaderName::CSeq, &[n, " ", self.method.as_str()]);
        self
    }
    /// Contact (§8.1.1.8), e.g. `<sip:alice@192.0.2.1:5060>`.
    pub fn contact(mut self, contact: &str) -> Self {
        self.t.known_str(HeaderName::Contact, &[contact]);
        self
    }
    /// A Route row (§8.1.2, §12.2.1.1).
    pub fn route(mut self, route: &str) -> Self {
        self.t.known_str(HeaderName::Route, &[route]);
        self
    }
    /// The body and its Content-Type; Content-Length is always written by [`Self::build`].
    pub fn body(mut self, content_type: &str, body: impl Into<Bytes>) -> Self {
        self.t.known_str(HeaderName::ContentType, &[content_type]);
        self.t.body = body.into();
        self
    }
    /// Writes Content-Length, parses the result, and returns the request.
    pub fn build(self) -> Result<Request, BuildError> {
        match self.t.finish()? {
            SipMessage::Request(r) => Ok(r),
            SipMessage::Response(_) => Err(BuildError::Parse(ParseError::new(
                0,
                super::error::ParseErrorKind::Method,
            ))),
        }
    }
}

/// The pieces of `addr;tag=<tag>` (or `addr` alone).
fn with_tag<'a>(addr: &'a str, tag: Option<&'a str>) -> [&'a str; 3] {
    match tag {
        Some(t) => [addr, ";tag=", t],
        None => [addr, "", ""],
    }
}

/// Builds a response, normally from the request it answers.
///
/// ```
/// use sip_core::message::{Method, Request, Response};
/// let req = Request::builder(Method::Invite, "sip:bob@example.com")
///     .header("Via", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1")
///     .from("<sip:alice@example.com>", Some("a1"))
///     .to("<sip:bob@example.com>", None)
///     .call_id("c1").cseq(7).max_forwards(70)
///     .build().unwrap();
/// let ringing = Response::from_request(&req, 180).to_tag("b2").build().unwrap();
/// assert_eq!(ringing.to().unwrap().tag(), Some("b2"));
/// assert_eq!(ringing.cseq(), Some((7, "INVITE")));
/// assert_eq!(ringing.reason(), "Ringing");
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ResponseBuilder {
    status: u16,
    reason: Option<String>,
    copied: Vec<(String, String)>,
    to_tag: Option<String>,
    extra: Vec<(String, String)>,
    body: Option<(String, Bytes)>,
    error: Option<BuildError>,
}

impl Response {
    /// A response with no headers yet (for tests and stateless use).
    pub fn builder(status: u16) -> ResponseBuilder {
        ResponseBuilder {
            status,
            reason: None,
            copied: Vec::new(),
            to_tag: None,
            extra: Vec::new(),
            body: None,
            error: None,
        }
    }

    /// A response to `req` per §8.2.6.2: Via rows (in order), From, To, Call-ID and CSeq
    /// copied; the To tag is kept if the request had one (add one with
    /// [`ResponseBuilder::to_tag`] otherwise, except for 100 Trying).
    pub fn from_request(req: &Request, status: u16) -> ResponseBuilder {
        let mut b = Response::builder(status);
        for row in req.headers().iter() {
            if matches!(
                row.known,
                HeaderName::Via
                    | HeaderName::From
                    | HeaderName::To
                    | HeaderName::CallId
                    | HeaderName::CSeq
            ) {
                b.copied
                    .push((row.known.as_str().to_owned(), row.value.to_owned()));
            }
        }
        b
    }
}

impl ResponseBuilder {
    /// A builder with these rows copied from a request (the endpoint keeps them instead of
    /// the whole request).
    pub(crate) fn from_rows<'a>(
        status: u16,
        rows: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        let mut b = Response::builder(status);
        b.copied = rows
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        b
    }

    /// Overrides the reason phrase (default: [`reason_phrase`]).
    pub fn reason(mut self, reason: &str) -> Self {
        if reason.bytes().any(|b| b < 0x20 && b != b'\t' || b == 0x7f) {
            self.error = Some(BuildError::HeaderValue("Reason-Phrase".into()));
        }
        self.reason = Some(reason.to_owned());
        self
    }
    /// Sets the To tag if the request's To had none (§8.2.6.2).
    pub fn to_tag(mut self, tag: &str) -> Self {
        self.to_tag = Some(tag.to_owned());
        self
    }
    /// Adds any header row after the copied ones.
    pub fn header(mut self, name: &str, value: impl Display) -> Self {
        self.extra.push((name.to_owned(), value.to_string()));
        self
    }
    /// The body and its Content-Type.
    pub fn body(mut self, content_type: &str, body: impl Into<Bytes>) -> Self {
        self.body = Some((content_type.to_owned(), body.into()));
        self
    }
    /// Builds the response.
    pub fn build(self) -> Result<Response, BuildError> {
        if !(100..=699).contains(&self.status) {
            return Err(BuildError::Parse(ParseError::new(
                0,
                super::error::ParseErrorKind::StatusCode,
            )));
        }
        if let Some(e) = self.error {
            return Err(e);
        }
        let reason = self.reason.as_deref().unwrap_or(reason_phrase(self.status));
        let mut t = Text::response(self.status, reason);
        for (name, value) in &self.copied {
            if name == "To" && self.to_tag.is_some() {
                let has_tag =
                    super::header::NameAddr::parse(value).is_ok_and(|a| a.tag().is_some());
                if !has_tag {
                    let tag = self.to_tag.as_deref().unwrap_or("");
                    t.header_str(name, &[value, ";tag=", tag]);
                    continue;
                }
            }
            t.header_str(name, &[value]);
        }
        for (name, value) in &self.extra {
            t.header_str(name, &[value]);
        }
        if let Some((ct, body)) = self.body {
            t.known_str(HeaderName::ContentType, &[&ct]);
            t.body = body;
        }
        match t.finish()? {
            SipMessage::Response(r) => Ok(r),
            SipMessage::Request(_) => Err(BuildError::Parse(ParseError::new(
                0,
                super::error::ParseErrorKind::StatusCode,
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite() -> Request {
        Request::builder(Method::Invite, "sip:bob@biloxi.com")
            .via(Transport::Udp, "pc33.atlanta.com", "z9hG4bKnashds8")
            .header(
                "Via",
                "SIP/2.0/UDP bigbox3.site3.atlanta.com;branch=z9hG4bK77ef4c2312983.1",
            )
            .max_forwards(70)
            .from("Alice <sip:alice@atlanta.com>", Some("1928301774"))
            .to("Bob <sip:bob@biloxi.com>", None)
            .call_id("a84b4c76e66710")
            .cseq(314159)
            .contact("<sip:alice@pc33.atlanta.com>")
            .body("application/sdp", &b"v=0\r\n"[..])
            .build()
            .unwrap()
    }

    #[test]
    fn request_builder_writes_a_valid_request() {
        let r = invite();
        assert!(r.check().is_ok());
        assert_eq!(r.content_length(), Some(5));
        assert_eq!(r.via().unwrap().rport(), Some(None));
        let text = r.to_string();
        assert!(text.starts_with("INVITE sip:bob@biloxi.com SIP/2.0\r\nVia: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8;rport\r\n"));
        assert!(
            text.ends_with("Content-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n")
        );
    }

    #[test]
    fn response_copies_the_8_2_6_headers() {
        let r = invite();
        let resp = Response::from_request(&r, 200)
            .to_tag("a6c85cf")
            .header("Contact", "<sip:bob@192.0.2.4>")
            .build()
            .unwrap();
        assert!(resp.check().is_ok());
        assert_eq!(resp.vias().count(), 2);
        assert_eq!(resp.to().unwrap().tag(), Some("a6c85cf"));
        assert_eq!(resp.from().unwrap().tag(), Some("1928301774"));
        assert_eq!(resp.call_id(), Some("a84b4c76e66710"));
        assert_eq!(resp.cseq(), Some((314159, "INVITE")));
        assert_eq!((resp.status(), resp.reason()), (200, "OK"));
        assert_eq!(resp.max_forwards(), None);
    }

    #[test]
    fn a_built_message_equals_its_parse() {
        // The builder records rows instead of parsing its text back: the result must be
        // exactly what the parser makes of the same bytes.
        let r = invite();
        let p = match crate::message::parse_unchecked(r.to_bytes(), &Default::default()).unwrap() {
            SipMessage::Request(p) => p,
            SipMessage::Response(_) => panic!("a request"),
        };
        assert_eq!(r, p);
        let resp = Response::from_request(&r, 183)
            .to_tag("t")
            .body("application/sdp", &b"v=0\r\n"[..])
            .build()
            .unwrap();
        let q = match crate::message::parse_unchecked(resp.to_bytes(), &Default::default()).unwrap()
        {
            SipMessage::Response(q) => q,
            SipMessage::Request(_) => panic!("a response"),
        };
        assert_eq!(resp, q);
        // A duplicate Content-Length or a malformed decoded header is refused.
        assert!(
            Request::builder(Method::Options, "sip:a@b")
                .header("Content-Length", 3)
                .build()
                .is_err()
        );
        assert!(
            Request::builder(Method::Options, "sip:a@b")
                .header("CSeq", "x OPTIONS")
                .build()
                .is_err()
        );
        assert!(
            Request::builder(Method::Options, "<sip:a@b>")
                .build()
                .is_err()
        );
    }

    #[test]
    fn injection_is_refused() {
        let e = Request::builder(Method::Options, "sip:a@b")
            .header("Subject", "x\r\nVia: evil")
            .build();
        assert_eq!(e.unwrap_err(), BuildError::HeaderValue("Subject".into()));
        assert!(
            Request::builder(Method::Options, "sip:a b")
                .build()
                .is_err()
        );
        assert!(Response::builder(700).build().is_err());
        assert!(Response::builder(200).reason("a\nb").build().is_err());
    }

    /// The writer's guard on every row the builder writes from a caller's text: a CR, LF or
    /// NUL anywhere in a name or a value is refused, whichever way the row comes in.
    #[test]
    fn every_builder_row_refuses_cr_lf_and_nul() {
        for bad in ["\r", "\n", "\0", "a\r\nX-Injected: 1"] {
            let v = |s: &str| format!("{s}{bad}");
            let req = || Request::builder(Method::Invite, "sip:b@example.com");
            let value_of = |b: RequestBuilder| b.build().unwrap_err();
            let header = |n: &str| BuildError::HeaderValue(n.into());
            assert_eq!(value_of(req().header("Subject", v("x"))), header("Subject"));
            assert_eq!(
                req().header(&v("X-A"), "x").build().unwrap_err(),
                BuildError::HeaderName
            );
            assert_eq!(
                value_of(req().via(Transport::Udp, &v("h"), "z9hG4bK1")),
                header("Via")
            );
            assert_eq!(
                value_of(req().via(Transport::Udp, "h", &v("z9hG4bK1"))),
                header("Via")
            );
            assert_eq!(value_of(req().from(&v("<sip:a@b>"), None)), header("From"));
            assert_eq!(
                value_of(req().from("<sip:a@b>", Some(&v("t")))),
                header("From")
            );
            assert_eq!(value_of(req().to(&v("<sip:b@c>"), None)), header("To"));
            assert_eq!(value_of(req().call_id(&v("c"))), header("Call-ID"));
            assert_eq!(value_of(req().contact(&v("<sip:a@h>"))), header("Contact"));
            assert_eq!(value_of(req().route(&v("<sip:p;lr>"))), header("Route"));
            assert_eq!(
                value_of(req().body(&v("application/sdp"), &b"v=0"[..])),
                header("Content-Type")
            );
            let resp = || Response::from_request(&invite(), 200);
            assert_eq!(
                resp().header("Subject", v("x")).build().unwrap_err(),
                header("Subject")
            );
            assert_eq!(
                resp().header(&v("X-A"), "x").build().unwrap_err(),
                BuildError::HeaderName
            );
            assert_eq!(
                resp()
                    .body(&v("application/sdp"), &b"v=0"[..])
                    .build()
                    .unwrap_err(),
                header("Content-Type")
            );
            let mut rows = CheckedRows::new(64);
            assert!(!rows.checked("From", &["<sip:a@b>", &v(";tag=1")]));
            assert_eq!(rows.as_str(), "");
        }
    }
}
