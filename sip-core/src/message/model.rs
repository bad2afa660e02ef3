//! The message model: [`Message`] (headers and body, shared by both kinds), [`Request`],
//! [`Response`] and [`SipMessage`] (RFC 3261 §7).
//!
//! A parsed message keeps its start line and header section as one string (`head`) and
//! refers to every header and every decoded part of one by a [`Span`] into it: no copy per
//! header, no reference count per header. The body is a [`Bytes`] slice of the received
//! buffer. Edits append the new text to `head` and repoint one header's span, so a message
//! serializes with only the edited lines changed; an unedited message serializes
//! byte-identically.

use super::error::{ParseError, ParseErrorKind};
use super::header::name_addr::{NameAddrData, name_addr_list};
use super::header::simple::{MediaType, TokenParams, token_list};
use super::header::via::{ViaData, parse_via_list};
use super::header::{ContactValue, NameAddr, Via};
use super::method::Method;
use super::name::HeaderName;
use super::span::Span;
use super::uri::{Uri, UriError};
use bytes::{BufMut, Bytes, BytesMut};
use std::fmt;

/// One header row as it sits in the message. Two rows are equal when their name and spans
/// are: `verbatim` is derived from the text and left out.
#[derive(Debug, Clone, Copy, Eq)]
pub(crate) struct HeaderEntry {
    pub name: HeaderName,
    /// The name as spelled on the wire.
    pub name_span: Span,
    /// The value: from the first non-blank byte after the colon to the last non-blank byte,
    /// folds included.
    pub value: Span,
    /// The whole line(s), terminator included: what an unedited header serializes as.
    pub line: Span,
    /// The line is exactly `name ": " value CRLF` with the name in its canonical length
    /// (the canonical name in some letter case): copied as is, it reads as the canonical
    /// row. See [`HeaderEntry::is_verbatim`]. Set for every such row of a parsed message;
    /// a row the builder wrote may say `false` regardless, which only means "rewrite it".
    pub verbatim: bool,
}

impl PartialEq for HeaderEntry {
    fn eq(&self, other: &Self) -> bool {
        (self.name, self.name_span, self.value, self.line)
            == (other.name, other.name_span, other.value, other.line)
    }
}

impl HeaderEntry {
    /// A row of `b` with [`HeaderEntry::verbatim`] worked out from the bytes.
    pub(crate) fn new(
        b: &[u8],
        name: HeaderName,
        name_span: Span,
        value: Span,
        line: Span,
    ) -> Self {
        let mut e = HeaderEntry {
            name,
            name_span,
            value,
            line,
            verbatim: false,
        };
        e.verbatim = e.is_verbatim(b);
        e
    }

    /// Whether the row, in the text `b` it indexes, is `name ": " value CRLF` with the
    /// name in its canonical length.
    pub(crate) fn is_verbatim(&self, b: &[u8]) -> bool {
        let (name_end, value_start) = (self.name_span.end as usize, self.value.start as usize);
        let value_end = self.value.end as usize;
        self.name != HeaderName::Other
            && self.name_span.len() == self.name.canonical_len()
            && self.line.start == self.name_span.start
            && value_start == name_end + 2
            && self.line.end as usize == value_end + 2
            && b.get(name_end) == Some(&b':')
            && b.get(name_end + 1) == Some(&b' ')
            && b.get(value_end) == Some(&b'\r')
            && b.get(value_end + 1) == Some(&b'\n')
    }
}

/// First Contact, decoded during parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContactData {
    Star,
    Addr(NameAddrData),
}

/// Headers the stack reads on every message, decoded once in the parsing pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Decoded {
    pub via: Option<ViaData>,
    pub from: Option<NameAddrData>,
    pub to: Option<NameAddrData>,
    pub call_id: Option<Span>,
    pub cseq: Option<(u32, Span)>,
    pub max_forwards: Option<u8>,
    pub content_length: Option<usize>,
    pub contact: Option<ContactData>,
    /// The first header-value fault, or an unsupported version kept for a 505.
    pub fault: Option<ParseError>,
    /// The first single-value header found more than once.
    pub duplicate: Option<(usize, HeaderName)>,
}

/// Headers and body: everything a request and a response have in common. [`Request`] and
/// [`Response`] dereference to it.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    pub(crate) head: String,
    /// Start line including its terminator.
    pub(crate) start_line: Span,
    /// The empty line ending the header section (as received).
    pub(crate) blank: Span,
    pub(crate) headers: Vec<HeaderEntry>,
    pub(crate) body: Bytes,
    pub(crate) decoded: Decoded,
    /// Whether any header was edited since parsing (switches serialization from one copy
    /// of `head` to line by line).
    pub(crate) edited: bool,
    /// Offset of this message's first byte in the input it was parsed from (for errors).
    pub(crate) origin: usize,
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("headers", &self.headers.len())
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// A read-only view of a message's headers in order.
#[derive(Clone, Copy)]
pub struct Headers<'a> {
    text: &'a str,
    entries: &'a [HeaderEntry],
}

/// One header row: its name (as written and as recognised) and its raw value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderRow<'a> {
    /// The name as written on the wire (`v`, `MaX-fOrWaRdS`).
    pub name: &'a str,
    /// The recognised name, or [`HeaderName::Other`].
    pub known: HeaderName,
    /// The value as written (leading and trailing whitespace removed; folds kept).
    pub value: &'a str,
}

/// Something that names a header: a [`HeaderName`] or a string (compared ignoring ASCII
/// case; compact forms and full names of known headers are equivalent).
pub trait AsHeaderName {
    /// Whether the row is this header.
    fn is_header(&self, row: &HeaderRow<'_>) -> bool;
}

impl AsHeaderName for HeaderName {
    fn is_header(&self, row: &HeaderRow<'_>) -> bool {
        *self != HeaderName::Other && row.known == *self
    }
}

impl AsHeaderName for &str {
    fn is_header(&self, row: &HeaderRow<'_>) -> bool {
        match HeaderName::lookup(self) {
            HeaderName::Other => row.name.eq_ignore_ascii_case(self),
            h => row.known == h,
        }
    }
}

impl<'a> Headers<'a> {
    fn row(&self, e: &HeaderEntry) -> HeaderRow<'a> {
        HeaderRow {
            name: e.name_span.get(self.text),
            known: e.name,
            value: e.value.get(self.text),
        }
    }
    /// Number of header rows.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    /// All rows in order.
    pub fn iter(self) -> impl Iterator<Item = HeaderRow<'a>> + 'a {
        let text = self.text;
        self.entries.iter().map(move |e| HeaderRow {
            name: e.name_span.get(text),
            known: e.name,
            value: e.value.get(text),
        })
    }
    /// The value of the first row with this name.
    pub fn get(&self, name: impl AsHeaderName) -> Option<&'a str> {
        self.entries
            .iter()
            .map(|e| self.row(e))
            .find(|r| name.is_header(r))
            .map(|r| r.value)
    }
    /// The values of every row with this name, in order.
    pub fn get_all(self, name: impl AsHeaderName + 'a) -> impl Iterator<Item = &'a str> + 'a {
        self.iter()
            .filter(move |r| name.is_header(r))
            .map(|r| r.value)
    }
    /// Every comma-separated element of every row with this name (§7.3.1), trimmed.
    pub fn values(self, name: impl AsHeaderName + 'a) -> impl Iterator<Item = &'a str> + 'a {
        self.get_all(name)
            .flat_map(super::scan::split_commas)
            .map(super::scan::trim_lws)
            .filter(|v| !v.is_empty())
    }
    /// Whether a row with this name exists.
    pub fn contains(&self, name: impl AsHeaderName) -> bool {
        self.get(name).is_some()
    }
}

impl fmt::Debug for Headers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|r| (r.name, r.value)))
            .finish()
    }
}

/// Why an edit or a build was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A header name that is not a `token`.
    #[error("invalid header name")]
    HeaderName,
    /// A header value with CR, LF or NUL (header injection) or otherwise unusable.
    #[error("invalid value for header {0}")]
    HeaderValue(String),
    /// The assembled message does not parse; the error says where.
    #[error("the built message does not parse: {0}")]
    Parse(#[from] ParseError),
    /// A header the operation needs is missing or malformed.
    #[error("missing or malformed {0} header")]
    Missing(HeaderName),
}

fn check_value(name: &str, value: &str) -> Result<(), BuildError> {
    if value.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
        return Err(BuildError::HeaderValue(name.to_owned()));
    }
    Ok(())
}

impl Message {
    pub(crate) fn text(&self) -> &str {
        &self.head
    }

    /// The headers in order.
    pub fn headers(&self) -> Headers<'_> {
        Headers {
            text: &self.head,
            entries: &self.headers,
        }
    }

    /// The body (possibly empty).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The topmost Via (§18.2.1, §17.2.3), decoded during parsing.
    pub fn via(&self) -> Option<Via<'_>> {
        self.decoded.via.map(|d| Via::from_data(&self.head, d))
    }

    /// Every via-parm of every Via row, top first.
    pub fn vias(&self) -> impl Iterator<Item = Result<Via<'_>, &'static str>> + '_ {
        self.headers
            .iter()
            .filter(|e| e.name == HeaderName::Via)
            .flat_map(|e| parse_via_list(&self.head, e.value.start as usize, e.value.end as usize))
    }

    /// From (§20.20), decoded during parsing.
    pub fn from(&self) -> Option<NameAddr<'_>> {
        self.decoded
            .from
            .map(|d| NameAddr::from_data(&self.head, d))
    }

    /// To (§20.39), decoded during parsing.
    pub fn to(&self) -> Option<NameAddr<'_>> {
        self.decoded.to.map(|d| NameAddr::from_data(&self.head, d))
    }

    /// Call-ID (§20.8).
    pub fn call_id(&self) -> Option<&str> {
        self.decoded.call_id.map(|s| s.get(&self.head))
    }

    /// CSeq sequence number and method text (§20.16).
    pub fn cseq(&self) -> Option<(u32, &str)> {
        self.decoded.cseq.map(|(n, m)| (n, m.get(&self.head)))
    }

    /// CSeq sequence number and parsed method.
    pub fn cseq_method(&self) -> Option<(u32, Method)> {
        let (n, m) = self.cseq()?;
        Some((n, Method::parse(m)?))
    }

    /// Max-Forwards (§20.22).
    pub fn max_forwards(&self) -> Option<u8> {
        self.decoded.max_forwards
    }

    /// Content-Length as received (§20.14).
    pub fn content_length(&self) -> Option<usize> {
        self.decoded.content_length
    }

    /// The first Contact value (§20.10), decoded during parsing.
    pub fn contact(&self) -> Option<ContactValue<'_>> {
        self.decoded.contact.map(|c| match c {
            ContactData::Star => ContactValue::Star,
            ContactData::Addr(d) => ContactValue::Addr(NameAddr::from_data(&self.head, d)),
        })
    }

    /// Every Contact address, in order (a `*` is skipped).
    pub fn contacts(&self) -> impl Iterator<Item = Result<NameAddr<'_>, &'static str>> + '_ {
        self.name_addrs(HeaderName::Contact)
            .filter(|r| !matches!(r, Err("*")))
    }

    /// Every Route value, in order (§20.34).
    pub fn routes(&self) -> impl Iterator<Item = Result<NameAddr<'_>, &'static str>> + '_ {
        self.name_addrs(HeaderName::Route)
    }

    /// Every Record-Route value, in order (§20.30).
    pub fn record_routes(&self) -> impl Iterator<Item = Result<NameAddr<'_>, &'static str>> + '_ {
        self.name_addrs(HeaderName::RecordRoute)
    }

    /// Refer-To (RFC 3515 §2.1).
    pub fn refer_to(&self) -> Option<Result<NameAddr<'_>, &'static str>> {
        self.headers().get(HeaderName::ReferTo).map(NameAddr::parse)
    }

    /// Referred-By (RFC 3892).
    pub fn referred_by(&self) -> Option<Result<NameAddr<'_>, &'static str>> {
        self.headers()
            .get(HeaderName::ReferredBy)
            .map(NameAddr::parse)
    }

    /// Content-Type (§20.15).
    pub fn content_type(&self) -> Option<Result<MediaType<'_>, &'static str>> {
        self.headers()
            .get(HeaderName::ContentType)
            .map(MediaType::parse)
    }

    /// Expires (§20.19), `None` if absent or not a 32-bit number.
    pub fn expires(&self) -> Option<u32> {
        self.headers()
            .get(HeaderName::Expires)
            .and_then(|v| super::scan::parse_decimal(super::scan::trim_lws(v), u64::from(u32::MAX)))
            .and_then(|v| u32::try_from(v).ok())
    }

    /// Event (RFC 6665 §8.2.1).
    pub fn event(&self) -> Option<Result<TokenParams<'_>, &'static str>> {
        self.headers()
            .get(HeaderName::Event)
            .map(TokenParams::parse)
    }

    /// Session-Expires (RFC 4028 §4).
    pub fn session_expires(&self) -> Option<Result<super::SessionExpires, &'static str>> {
        self.headers()
            .get(HeaderName::SessionExpires)
            .map(super::SessionExpires::parse)
    }

    /// Replaces (RFC 3891 §6.1); `Err` also when the request has more than one (§3).
    pub fn replaces(&self) -> Option<Result<super::Replaces<'_>, &'static str>> {
        // Looked for in every INVITE: the entries' names only, no row built per header.
        let mut all = self
            .headers
            .iter()
            .filter(|e| e.name == HeaderName::Replaces);
        let first = all.next()?;
        if all.next().is_some() {
            return Some(Err("more than one Replaces header"));
        }
        Some(super::Replaces::parse(first.value.get(self.head.as_str())))
    }

    /// Min-SE (RFC 4028 §5).
    pub fn min_se(&self) -> Option<Result<super::MinSe, &'static str>> {
        self.headers()
            .get(HeaderName::MinSe)
            .map(super::MinSe::parse)
    }

    /// Subscription-State (RFC 6665 §8.2.3).
    pub fn subscription_state(&self) -> Option<Result<TokenParams<'_>, &'static str>> {
        self.headers()
            .get(HeaderName::SubscriptionState)
            .map(TokenParams::parse)
    }

    /// Allow: the methods listed in every Allow row (§20.5).
    pub fn allow(&self) -> impl Iterator<Item = &str> + '_ {
        self.headers()
            .get_all(HeaderName::Allow)
            .flat_map(token_list)
    }

    /// Supported option tags (§20.37).
    pub fn supported(&self) -> impl Iterator<Item = &str> + '_ {
        self.headers()
            .get_all(HeaderName::Supported)
            .flat_map(token_list)
    }

    /// Require option tags (§20.32).
    pub fn require(&self) -> impl Iterator<Item = &str> + '_ {
        let text = self.head.as_str();
        self.headers
            .iter()
            .filter(|e| e.name == HeaderName::Require)
            .flat_map(move |e| token_list(e.value.get(text)))
    }

    fn name_addrs(
        &self,
        name: HeaderName,
    ) -> impl Iterator<Item = Result<NameAddr<'_>, &'static str>> + '_ {
        let text = self.head.as_str();
        self.headers
            .iter()
            .filter(move |e| e.name == name)
            .flat_map(move |e| {
                let star = super::scan::trim_lws(e.value.get(text)) == "*";
                let it: Box<dyn Iterator<Item = _>> = if star {
                    Box::new(std::iter::once(Err("*")))
                } else {
                    Box::new(name_addr_list(text, e.value, false))
                };
                it
            })
    }

    /// The first header-value fault found while parsing, if any.
    pub fn header_fault(&self) -> Option<&ParseError> {
        self.decoded.fault.as_ref()
    }

    // ---- serialization -------------------------------------------------------------

    /// Bytes this message serializes to.
    pub fn encoded_len(&self) -> usize {
        if !self.edited {
            return self.head_len() + self.missing_blank().len() + self.body.len();
        }
        self.start_line.len()
            + self.headers.iter().map(|e| e.line.len()).sum::<usize>()
            + 2
            + self.body.len()
    }

    fn head_len(&self) -> usize {
        self.blank.end as usize
    }

    /// The empty line, when the (lenient) parser had to assume it.
    fn missing_blank(&self) -> &'static str {
        if self.blank.is_empty() { "\r\n" } else { "" }
    }

    /// Appends the serialized message to `out`.
    pub fn write_to(&self, out: &mut impl BufMut) {
        if !self.edited {
            out.put_slice(&self.head.as_bytes()[..self.head_len().min(self.head.len())]);
            out.put_slice(self.missing_blank().as_bytes());
        } else {
            out.put_slice(self.start_line.get(&self.head).as_bytes());
            for e in &self.headers {
                out.put_slice(e.line.get(&self.head).as_bytes());
            }
            out.put_slice(b"\r\n");
        }
        out.put_slice(&self.body);
    }

    /// Serializes the message (§7). An unedited parsed message gives back exactly the bytes
    /// it was parsed from (minus CRLFs before the start line and bytes after the body).
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.encoded_len());
        self.write_to(&mut out);
        out.freeze()
    }

    /// Serializes the message with one more row, `name: value`, first after the start line,
    /// leaving the message as it is: the Via a client transport puts on top of a request it
    /// sends (§8.1.1.7, §18.1.1). The caller wrote `value` (no CR or LF in it).
    pub(crate) fn to_bytes_with_first_row(&self, name: &str, value: &str) -> Bytes {
        debug_assert!(memchr::memchr2(b'\r', b'\n', value.as_bytes()).is_none());
        let row = name.len() + 2 + value.len() + 2;
        let mut out = BytesMut::with_capacity(self.encoded_len() + row);
        out.put_slice(self.start_line.get(&self.head).as_bytes());
        out.put_slice(name.as_bytes());
        out.put_slice(b": ");
        out.put_slice(value.as_bytes());
        out.put_slice(b"\r\n");
        if !self.edited {
            let rows = self.start_line.end as usize..self.head_len();
            out.put_slice(self.head.as_bytes().get(rows).unwrap_or_default());
            out.put_slice(self.missing_blank().as_bytes());
        } else {
            for e in &self.headers {
                out.put_slice(e.line.get(&self.head).as_bytes());
            }
            out.put_slice(b"\r\n");
        }
        out.put_slice(&self.body);
        out.freeze()
    }

    // ---- edits -----------------------------------------------------------------------

    fn append_line(&mut self, name: &str, value: &str) -> HeaderEntry {
        let ls = self.head.len();
        self.head.push_str(name);
        self.head.push_str(": ");
        let vs = self.head.len();
        self.head.push_str(value);
        let ve = self.head.len();
        self.head.push_str("\r\n");
        HeaderEntry::new(
            self.head.as_bytes(),
            HeaderName::lookup(name),
            Span::new(ls, ls + name.len()),
            Span::new(vs, ve),
            Span::new(ls, self.head.len()),
        )
    }

    fn new_entry(&mut self, name: &str, value: &str) -> Result<HeaderEntry, BuildError> {
        if !super::scan::is_token_str(name) {
            return Err(BuildError::HeaderName);
        }
        check_value(name, value)?;
        if self.head.len() + name.len() + value.len() > u32::MAX as usize / 2 {
            return Err(BuildError::HeaderValue(name.to_owned()));
        }
        self.edited = true;
        Ok(self.append_line(name, value))
    }

    /// Appends a header row at the end.
    pub fn push_header(&mut self, name: &str, value: &str) -> Result<(), BuildError> {
        let e = self.new_entry(name, value)?;
        self.headers.push(e);
        self.redecode();
        Ok(())
    }

    /// Inserts a header row at position `index` (clamped to the number of rows); e.g. a new
    /// top Via at 0 or a Route before the others.
    pub fn insert_header(
        &mut self,
        index: usize,
        name: &str,
        value: &str,
    ) -> Result<(), BuildError> {
        let e = self.new_entry(name, value)?;
        let index = index.min(self.headers.len());
        self.headers.insert(index, e);
        self.redecode();
        Ok(())
    }

    /// Inserts a header row before the first row with the same name, or first when there
    /// is none: the place for a new top Via or Record-Route (§7.3.1 recommends the headers
    /// proxies read, Via first among them, near the top).
    pub fn prepend_header(&mut self, name: &str, value: &str) -> Result<(), BuildError> {
        let e = self.new_entry(name, value)?;
        let at = self.headers.iter().position(|h| {
            h.name == e.name
                && (e.name != HeaderName::Other
                    || h.name_span.get(&self.head).eq_ignore_ascii_case(name))
        });
        self.headers.insert(at.unwrap_or(0), e);
        if e.name == HeaderName::Via {
            // A new top Via: only the decoded top Via changes (indices of the duplicate
            // check shift, but Via is not a single-value header).
            self.decoded.via = super::header::via::parse_via(
                &self.head,
                e.value.start as usize,
                e.value.end as usize,
            )
            .ok()
            .map(|(d, _)| d);
            if self.decoded.via.is_none() {
                self.redecode();
            }
            if let Some((i, n)) = self.decoded.duplicate {
                self.decoded.duplicate = Some((i + 1, n));
            }
        } else {
            self.redecode();
        }
        Ok(())
    }

    /// Removes every row with this name; returns how many.
    pub fn remove_header(&mut self, name: impl AsHeaderName) -> usize {
        let before = self.headers.len();
        let text = std::mem::take(&mut self.head);
        self.headers.retain(|e| {
            !name.is_header(&HeaderRow {
                name: e.name_span.get(&text),
                known: e.name,
                value: e.value.get(&text),
            })
        });
        self.head = text;
        let removed = before - self.headers.len();
        if removed > 0 {
            self.edited = true;
            self.redecode();
        }
        removed
    }

    /// Replaces the value of the first row with this name (keeping its position and
    /// spelling) and removes the other rows; appends a row if there was none.
    pub fn set_header(&mut self, name: &str, value: &str) -> Result<(), BuildError> {
        let pos = self.headers().iter().position(|r| name.is_header(&r));
        match pos {
            None => self.push_header(name, value),
            Some(i) => {
                let spelled = self.headers[i].name_span.get(&self.head).to_owned();
                let e = self.new_entry(&spelled, value)?;
                self.headers[i] = e;
                let keep = self.headers[i];
                let text = std::mem::take(&mut self.head);
                self.headers.retain(|h| {
                    *h == keep
                        || !name.is_header(&HeaderRow {
                            name: h.name_span.get(&text),
                            known: h.name,
                            value: h.value.get(&text),
                        })
                });
                self.head = text;
                self.redecode();
                Ok(())
            }
        }
    }

    /// Sets a parameter on the topmost via-parm (e.g. `received` and `rport` by a server
    /// transport, §18.2.1 and RFC 3581 §4), replacing it if present. Only that Via row is
    /// rewritten; a row holding several via-parms keeps the others byte-exact.
    pub fn set_via_param(&mut self, name: &str, value: Option<&str>) -> Result<(), BuildError> {
        self.set_via_params(&[(name, value)])
    }

    /// What a server transport does to a received request (§18.2.1, RFC 3581 §4): adds
    /// `received=ip` to the topmost via-parm and, when `rport` is given, fills in the value
    /// of its empty `rport` parameter. `ip` is an address as [`crate::text::push_ip`]
    /// writes it. The same result as [`Message::set_via_params`] with those two parameters,
    /// which it falls back to for any Via it does not recognise as the usual shape.
    pub(crate) fn stamp_received(&mut self, ip: &str, rport: Option<u16>) {
        if self.stamp_received_in_place(ip, rport).is_none() {
            let mut port = itoa::Buffer::new();
            let port = rport.map(|p| port.format(p));
            let _ = match port {
                Some(p) => self.set_via_params(&[("received", Some(ip)), ("rport", Some(p))]),
                None => self.set_via_params(&[("received", Some(ip))]),
            };
        }
    }

    /// The usual shape of [`Message::stamp_received`]: a decoded top via-parm with
    /// parameters, no `received`, and (when `rport` is given) a first `rport` without value.
    /// The row is rewritten verbatim with the two insertions, and its decode shifted rather
    /// than parsed again. `None`, with nothing changed, for any other shape.
    fn stamp_received_in_place(&mut self, ip: &str, rport: Option<u16>) -> Option<()> {
        let old = self.decoded.via?;
        let idx = self
            .headers
            .iter()
            .position(|e| e.name == HeaderName::Via)?;
        let entry = self.headers[idx];
        let (params_start, params_end) = (old.params.start as usize, old.params.end as usize);
        let fits = entry.value.start <= old.whole.start
            && old.whole.end <= entry.value.end
            && old.params.start < old.params.end
            && old.whole.end == old.params.end;
        if !fits || old.received.is_some() || (rport.is_some() && old.rport != Some(None)) {
            return None;
        }
        // Where `=value` goes: straight after the name of the first `rport` parameter.
        let cut = match rport {
            Some(_) => old.rport_at as usize + "rport".len(),
            None => params_end,
        };
        if !(params_start < cut && cut <= params_end) {
            return None;
        }
        let (value_start, value_end) = (entry.value.start as usize, entry.value.end as usize);
        let mut port = itoa::Buffer::new();
        let port = rport.map_or("", |p| port.format(p));
        let row_len = entry.line.len() + ip.len() + port.len() + 16;
        if self.head.len() + row_len > u32::MAX as usize / 2 {
            return None;
        }
        // The row appended in one pass: as received up to `cut`, `=port` (with rport),
        // on to the end of the parameters, `;received=ip`, then the rest of the line.
        let head = &mut self.head;
        head.reserve(row_len);
        let base = head.len();
        let shift = base - entry.line.start as usize;
        head.extend_from_within(entry.line.start as usize..cut);
        let inserted = if rport.is_some() {
            head.push('=');
            head.push_str(port);
            port.len() + 1
        } else {
            0
        };
        head.extend_from_within(cut..params_end);
        head.push_str(";received=");
        head.push_str(ip);
        head.extend_from_within(params_end..entry.line.end as usize);
        let recv_len = ";received=".len() + ip.len();
        let (vs, ve) = (value_start + shift, value_end + shift + inserted + recv_len);
        let new_params_end = params_end + shift + inserted + recv_len;
        let received = Span::new(new_params_end - ip.len(), new_params_end);
        // Old offsets up to `cut` move with the row; those after it also by `=port`.
        let mv = |p: u32| -> usize {
            let p = p as usize;
            p + shift + if p > cut { inserted } else { 0 }
        };
        let span = |s: Span| Span::new(mv(s.start), mv(s.end));
        let d = super::header::via::ViaData {
            whole: Span::new(mv(old.whole.start), new_params_end),
            protocol: span(old.protocol),
            version: span(old.version),
            transport: span(old.transport),
            host: span(old.host),
            port: old.port,
            params: Span::new(mv(old.params.start), new_params_end),
            branch: old.branch.map(span),
            received: Some(received),
            maddr: old.maddr.map(span),
            rport: rport.map_or(old.rport, |p| Some(Some(p))),
            rport_at: if old.rport.is_some() {
                mv(old.rport_at) as u32
            } else {
                0
            },
            ttl: old.ttl,
        };
        self.headers[idx] = HeaderEntry {
            name: HeaderName::Via,
            name_span: Span::new(
                entry.name_span.start as usize + shift,
                entry.name_span.end as usize + shift,
            ),
            value: Span::new(vs, ve),
            line: Span::new(base, self.head.len()),
            // The row moved with its name, colon and terminator; only its value grew.
            verbatim: entry.verbatim,
        };
        debug_assert_eq!(
            self.headers[idx].verbatim,
            self.headers[idx].is_verbatim(self.head.as_bytes())
        );
        self.edited = true;
        debug_assert_eq!(
            Some(d),
            super::header::via::parse_via(&self.head, vs, ve)
                .ok()
                .map(|(d, _)| d),
            "stamped Via differs from a parse"
        );
        self.decoded.via = Some(d);
        Some(())
    }

    /// Sets several parameters on the topmost via-parm in one rewrite of its row (the
    /// server transport's `received` and `rport` together, RFC 3581 §4).
    pub fn set_via_params(&mut self, params: &[(&str, Option<&str>)]) -> Result<(), BuildError> {
        let valid_value = |v: &str| {
            super::scan::is_token_str(v)
                || v.bytes()
                    .all(|c| c.is_ascii_hexdigit() || matches!(c, b':' | b'.' | b'[' | b']'))
        };
        if params
            .iter()
            .any(|(n, v)| !super::scan::is_token_str(n) || v.is_some_and(|v| !valid_value(v)))
        {
            return Err(BuildError::HeaderValue("Via".into()));
        }
        let idx = self
            .headers
            .iter()
            .position(|e| e.name == HeaderName::Via)
            .ok_or(BuildError::Missing(HeaderName::Via))?;
        let entry = self.headers[idx];
        let via = self.via().ok_or(BuildError::Missing(HeaderName::Via))?;
        let head = &self.head;
        let whole = Span::of(head, via.as_str());
        let value_text = entry.value.get(head);
        let spelled = entry.name_span.get(head);
        // The new row: the value up to the first via-parm's parameters as written, its
        // parameters with the given ones replaced or appended, then the rest of the row.
        let params_start = Span::of(head, via.params_raw()).start as usize;
        let prefix_end = if via.params_raw().is_empty() {
            whole.end as usize
        } else {
            params_start
        };
        let mut row = String::with_capacity(entry.line.len() + 48);
        row.push_str(spelled);
        row.push_str(": ");
        let vs = row.len();
        row.push_str(
            value_text
                .get(..whole.start.saturating_sub(entry.value.start) as usize)
                .unwrap_or(""),
        );
        // The element's start in the new row: its unchanged prefix moves as a block.
        let elem_in_row = row.len();
        // Only when the top via-parm sits inside this row as expected can its decode be
        // carried over; otherwise (a malformed first row) the new row is parsed.
        let relocatable = entry.value.start <= whole.start && whole.end <= entry.value.end;
        row.push_str(
            head.get(whole.start as usize..prefix_end)
                .unwrap_or("")
                .trim_end(),
        );
        let row_params_start = row.len();
        // Positions (in the row) of the parameters the decoded Via keeps, as the parser
        // would find them: the first of each name.
        let mut known = KnownViaParams::default();
        let mut push_param = |row: &mut String, n: &str, v: Option<&str>| {
            row.push(';');
            let ns = row.len();
            row.push_str(n);
            let value = v.map(|v| {
                row.push('=');
                let at = row.len();
                row.push_str(v);
                (at, row.len())
            });
            known.note(&row[ns..ns + n.len()], ns, value);
        };
        let mut done = [false; 8];
        for (n, v) in via.params() {
            let mut v = v;
            for (i, (pn, pv)) in params.iter().enumerate().take(8) {
                if n.eq_ignore_ascii_case(pn) {
                    v = *pv;
                    done[i] = true;
                }
            }
            push_param(&mut row, n, v);
        }
        for (i, (pn, pv)) in params.iter().enumerate() {
            if i < 8 && done[i] {
                continue;
            }
            push_param(&mut row, pn, *pv);
        }
        let row_params_end = row.len();
        row.push_str(
            value_text
                .get(whole.end.saturating_sub(entry.value.start) as usize..)
                .unwrap_or(""),
        );
        let ve = row.len();
        row.push_str("\r\n");
        if self.head.len() + row.len() > u32::MAX as usize / 2 {
            return Err(BuildError::HeaderValue("Via".into()));
        }
        let base = self.head.len();
        self.head.push_str(&row);
        let name_len = entry.name_span.len();
        self.headers[idx] = HeaderEntry::new(
            self.head.as_bytes(),
            HeaderName::Via,
            Span::new(base, base + name_len),
            Span::new(base + vs, base + ve),
            Span::new(base, self.head.len()),
        );
        self.edited = true;
        // Only the top Via changed. Its sent-protocol and sent-by moved as a block and its
        // parameters were just written in canonical form, so the decoded Via follows from
        // the old one and the positions noted while writing; anything irregular is decoded
        // again from the new row.
        let old = self.decoded.via;
        let fast = old.filter(|_| relocatable).and_then(|old| {
            let shift = (base + elem_in_row) as i64 - i64::from(old.whole.start);
            known.relocate(
                old,
                shift,
                base,
                (row_params_start, row_params_end),
                &self.head,
            )
        });
        let e = self.headers[idx];
        let reparse = || {
            super::header::via::parse_via(&self.head, e.value.start as usize, e.value.end as usize)
                .ok()
                .map(|(d, _)| d)
        };
        self.decoded.via = match fast {
            Some(d) => {
                debug_assert_eq!(Some(d), reparse(), "relocated Via differs from a parse");
                Some(d)
            }
            None => reparse(),
        };
        Ok(())
    }

    /// Replaces the body, updating Content-Length, and Content-Type when given.
    pub fn set_body(&mut self, content_type: Option<&str>, body: Bytes) -> Result<(), BuildError> {
        if let Some(ct) = content_type {
            self.set_header("Content-Type", ct)?;
        }
        let len = body.len().to_string();
        self.body = body;
        self.set_header("Content-Length", &len)
    }

    /// Re-derives the decoded headers after an edit.
    fn redecode(&mut self) {
        let mut d = Decoded::default();
        for (i, e) in self.headers.iter().enumerate() {
            super::parser::decode_header(&self.head, i, e, &mut d, false);
        }
        if let Some(f) = self
            .decoded
            .fault
            .as_ref()
            .filter(|f| f.kind == ParseErrorKind::UnsupportedVersion)
        {
            d.fault = Some(f.clone());
        }
        self.decoded = d;
    }
}

/// A SIP request (RFC 3261 §7.1).
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    pub(crate) method: Method,
    pub(crate) uri: Span,
    pub(crate) msg: Message,
}

/// A SIP response (RFC 3261 §7.2).
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    pub(crate) status: u16,
    pub(crate) reason: Span,
    pub(crate) msg: Message,
}

/// Either kind of message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SipMessage {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl Request {
    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }
    /// The Request-URI as written.
    pub fn uri_str(&self) -> &str {
        self.uri.get(&self.msg.head)
    }
    /// The Request-URI, parsed (lenient).
    pub fn uri(&self) -> Result<Uri<'_>, UriError> {
        Uri::parse(self.uri_str())
    }
    /// The message (headers and body).
    pub fn message(&self) -> &Message {
        &self.msg
    }
    /// The message, mutable.
    pub fn message_mut(&mut self) -> &mut Message {
        &mut self.msg
    }
    /// Semantic checks of §8.1.1 and §8.2 (see [`super::validate`]).
    pub fn check(&self) -> Result<(), ParseError> {
        super::validate::check_request(self)
    }
}

impl Response {
    /// The status code (100–699).
    pub fn status(&self) -> u16 {
        self.status
    }
    /// The reason phrase as written (may be empty).
    pub fn reason(&self) -> &str {
        self.reason.get(&self.msg.head)
    }
    /// The message (headers and body).
    pub fn message(&self) -> &Message {
        &self.msg
    }
    /// The message, mutable.
    pub fn message_mut(&mut self) -> &mut Message {
        &mut self.msg
    }
    /// Whether this is a provisional (1xx) response.
    pub fn is_provisional(&self) -> bool {
        self.status < 200
    }
    /// Whether this is a 2xx response.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
    /// Semantic checks (see [`super::validate`]).
    pub fn check(&self) -> Result<(), ParseError> {
        super::validate::check_response(self)
    }
}

impl std::ops::Deref for Request {
    type Target = Message;
    fn deref(&self) -> &Message {
        &self.msg
    }
}
impl std::ops::DerefMut for Request {
    fn deref_mut(&mut self) -> &mut Message {
        &mut self.msg
    }
}
impl std::ops::Deref for Response {
    type Target = Message;
    fn deref(&self) -> &Message {
        &self.msg
    }
}
impl std::ops::DerefMut for Response {
    fn deref_mut(&mut self) -> &mut Message {
        &mut self.msg
    }
}

impl SipMessage {
    /// Headers and body of either kind.
    pub fn message(&self) -> &Message {
        match self {
            SipMessage::Request(r) => &r.msg,
            SipMessage::Response(r) => &r.msg,
        }
    }
    /// Mutable headers and body of either kind.
    pub fn message_mut(&mut self) -> &mut Message {
        match self {
            SipMessage::Request(r) => &mut r.msg,
            SipMessage::Response(r) => &mut r.msg,
        }
    }
    /// Semantic checks for either kind.
    pub fn check(&self) -> Result<(), ParseError> {
        match self {
            SipMessage::Request(r) => r.check(),
            SipMessage::Response(r) => r.check(),
        }
    }
    /// The request, if it is one.
    pub fn as_request(&self) -> Option<&Request> {
        match self {
            SipMessage::Request(r) => Some(r),
            SipMessage::Response(_) => None,
        }
    }
    /// The response, if it is one.
    pub fn as_response(&self) -> Option<&Response> {
        match self {
            SipMessage::Response(r) => Some(r),
            SipMessage::Request(_) => None,
        }
    }
    /// Serializes the message.
    pub fn to_bytes(&self) -> Bytes {
        self.message().to_bytes()
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("uri", &self.uri_str())
            .field("headers", &self.msg.headers())
            .field("body_len", &self.msg.body.len())
            .finish()
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("reason", &self.reason())
            .field("headers", &self.msg.headers())
            .field("body_len", &self.msg.body.len())
            .finish()
    }
}

macro_rules! display_via_bytes {
    ($t:ty) => {
        impl fmt::Display for $t {
            /// The serialized message; a body that is not UTF-8 is shown lossily.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
            }
        }
    };
}
display_via_bytes!(Request);
display_via_bytes!(Response);
display_via_bytes!(SipMessage);

/// The Via parameters the decoded Via keeps (branch, received, maddr, rport, ttl), as
/// positions in a row being written by [`Message::set_via_params`]: the first of each name,
/// with the value's range when it has one.
#[derive(Default)]
struct KnownViaParams {
    slots: [Option<Option<(usize, usize)>>; 5],
    /// Where the first `rport` name starts in the row.
    rport_at: usize,
}

impl KnownViaParams {
    fn note(&mut self, name: &str, at: usize, value: Option<(usize, usize)>) {
        let slot = match name.len() {
            6 if name.eq_ignore_ascii_case("branch") => 0,
            8 if name.eq_ignore_ascii_case("received") => 1,
            5 if name.eq_ignore_ascii_case("maddr") => 2,
            5 if name.eq_ignore_ascii_case("rport") => 3,
            3 if name.eq_ignore_ascii_case("ttl") => 4,
            _ => return,
        };
        if let Some(s) = self.slots.get_mut(slot)
            && s.is_none()
        {
            *s = Some(value);
            if slot == 3 {
                self.rport_at = at;
            }
        }
    }

    /// The decoded Via of the rewritten row: `old` with its leading spans moved by `shift`,
    /// its parameter spans from the written row (offset by `base`, where the row starts in
    /// `head`). `None` when a kept parameter is irregular (no value where one is required,
    /// a port or ttl that does not parse): the caller then parses the row.
    fn relocate(
        &self,
        old: super::header::via::ViaData,
        shift: i64,
        base: usize,
        params: (usize, usize),
        head: &str,
    ) -> Option<super::header::via::ViaData> {
        let mv = |sp: Span| -> Option<Span> {
            let st = usize::try_from(i64::from(sp.start) + shift).ok()?;
            let en = usize::try_from(i64::from(sp.end) + shift).ok()?;
            Some(Span::new(st, en))
        };
        let at = |r: (usize, usize)| Span::new(base + r.0, base + r.1);
        let required = |slot: Option<Option<(usize, usize)>>| -> Option<Option<Span>> {
            match slot {
                None => Some(None),
                Some(Some(r)) => Some(Some(at(r))),
                Some(None) => None,
            }
        };
        let whole = mv(old.whole)?;
        let mut d = old;
        d.protocol = mv(old.protocol)?;
        d.version = mv(old.version)?;
        d.transport = mv(old.transport)?;
        d.host = mv(old.host)?;
        d.params = at(params);
        d.whole = Span::new(whole.start as usize, base + params.1);
        d.branch = required(self.slots[0])?;
        d.received = required(self.slots[1])?;
        d.maddr = required(self.slots[2])?;
        d.rport_at = if self.slots[3].is_some() {
            (base + self.rport_at) as u32
        } else {
            0
        };
        d.rport = match self.slots[3] {
            None => None,
            Some(None) => Some(None),
            Some(Some(r)) => Some(Some(at(r).get(head).parse::<u16>().ok()?)),
        };
        d.ttl = match self.slots[4] {
            None => None,
            Some(None) => return None,
            Some(Some(r)) => Some(at(r).get(head).parse::<u8>().ok()?),
        };
        Some(d)
    }
}

#[cfg(test)]
mod tests {
    use crate::message::{ParseOptions, Request, SipMessage, parse};
    use bytes::Bytes;

    fn request(b: Bytes) -> Request {
        match parse(b, &ParseOptions::default()).unwrap() {
            SipMessage::Request(r) => r,
            SipMessage::Response(_) => panic!("a request"),
        }
    }

    /// `received`/`rport` written into the top Via leave the decoded Via exactly as a parse
    /// of the edited message gives it, whatever the Via looked like.
    #[test]
    fn via_params_decode_like_a_parse_of_the_edited_row() {
        let vias = [
            "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport",
            "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1",
            "SIP/2.0/TCP [2001:db8::1]:5061;rport=1;branch=z9hG4bK2;ttl=4;maddr=192.0.2.9",
            "SIP/2.0/UDP host.example.com ; branch = z9hG4bK3 ; received=10.0.0.1",
            "SIP / 2.0 / UDP 192.0.2.1:5060;branch=z9hG4bK4;x=\"a;b\", SIP/2.0/UDP 192.0.2.2",
            "SIP/2.0/UDP 192.0.2.1:5060;BRANCH=z9hG4bK5;RPORT;Received=1.2.3.4;branch=second",
            "SIP/2.0/UDP 192.0.2.1:5060",
        ];
        let edits: [&[(&str, Option<&str>)]; 4] = [
            &[("received", Some("198.51.100.7")), ("rport", Some("40000"))],
            &[("received", Some("2001:db8::9"))],
            &[("rport", None), ("ttl", Some("9"))],
            &[],
        ];
        for via in vias {
            for edit in edits {
                let text = format!(
                    "OPTIONS sip:b@example.com SIP/2.0\r\nVia: {via}\r\nVia: SIP/2.0/UDP 192.0.2.3;branch=z9hG4bKz\r\n\
                     From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: c\r\n\
                     CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
                );
                let mut m = request(Bytes::from(text));
                m.set_via_params(edit).unwrap();
                let again = request(m.to_bytes());
                let (ours, theirs) = (m.via().unwrap(), again.via().unwrap());
                assert_eq!(ours.as_str(), theirs.as_str(), "{via} / {edit:?}");
                assert_eq!(ours.host(), theirs.host());
                assert_eq!(ours.port(), theirs.port());
                assert_eq!(ours.transport(), theirs.transport());
                assert_eq!(ours.branch(), theirs.branch());
                assert_eq!(ours.received(), theirs.received());
                assert_eq!(ours.maddr(), theirs.maddr());
                assert_eq!(ours.rport(), theirs.rport());
                assert_eq!(ours.ttl(), theirs.ttl());
                assert_eq!(ours.params_raw(), theirs.params_raw());
            }
        }
    }

    /// The in-place stamp of a received request gives what the general rewrite gives, for
    /// the usual Via shapes it handles and the ones it hands over.
    #[test]
    fn stamp_received_matches_the_general_rewrite() {
        // Each Via, and whether it is stamped in place with and without an rport value.
        let vias = [
            (
                "SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds;rport",
                true,
                true,
            ),
            (
                "SIP/2.0/UDP pc33.atlanta.com;rport;branch=z9hG4bK776asdhds",
                true,
                true,
            ),
            (
                "SIP/2.0/UDP 192.0.2.1:5060;RPORT;branch=z9hG4bK1;maddr=192.0.2.9;ttl=3",
                true,
                true,
            ),
            (
                "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1, SIP/2.0/UDP 192.0.2.7;rport",
                false,
                true,
            ),
            (
                "SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bK2;rport=1",
                false,
                true,
            ),
            (
                "SIP/2.0/UDP host.example.com ; branch = z9hG4bK3 ; rport",
                true,
                true,
            ),
            (
                "SIP/2.0/UDP h;branch=z9hG4bK4;x=\"a;rport\";rport",
                true,
                true,
            ),
            (
                "SIP/2.0/UDP h;branch=z9hG4bK5;rport;received=10.0.0.1",
                false,
                false,
            ),
            ("SIP/2.0/UDP h;branch=z9hG4bK6;rportx;rport", true, true),
            ("SIP/2.0/UDP h;branch=z9hG4bK7;rport=;rport", false, true),
            ("SIP/2.0/UDP h", false, false),
            ("SIP/2.0/UDP h;branch=z9hG4bK8", false, true),
        ];
        for (via, with_rport, without) in vias {
            for rport in [Some(40000), None] {
                let text = format!(
                    "INVITE sip:b@example.com SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\n\
                     From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: c\r\n\
                     CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
                );
                let Ok(mut fast) = parse(Bytes::from(text), &ParseOptions::default()).map(|m| {
                    let SipMessage::Request(r) = m else {
                        panic!("a request")
                    };
                    r
                }) else {
                    continue;
                };
                let mut general = fast.clone();
                let in_place = fast
                    .clone()
                    .stamp_received_in_place("198.51.100.7", rport)
                    .is_some();
                let usual = if rport.is_some() { with_rport } else { without };
                assert_eq!(in_place, usual, "{via} / {rport:?}");
                fast.stamp_received("198.51.100.7", rport);
                let port = rport.map(|p| p.to_string());
                let mut edit = vec![("received", Some("198.51.100.7"))];
                edit.extend(port.as_deref().map(|p| ("rport", Some(p))));
                general.set_via_params(&edit).unwrap();
                for m in [&fast, &general] {
                    assert_eq!(
                        request(m.to_bytes()).via().map(|v| v.as_str().len()),
                        m.via().map(|v| v.as_str().len())
                    );
                }
                let (a, b) = (fast.via().unwrap(), general.via().unwrap());
                let case = format!("{via} / {rport:?}");
                assert_eq!(a.host(), b.host(), "{case}");
                assert_eq!(a.port(), b.port(), "{case}");
                assert_eq!(a.branch(), b.branch(), "{case}");
                assert_eq!(a.received(), b.received(), "{case}");
                assert_eq!(a.received(), Some("198.51.100.7"), "{case}");
                assert_eq!(a.maddr(), b.maddr(), "{case}");
                assert_eq!(a.rport(), b.rport(), "{case}");
                assert_eq!(a.ttl(), b.ttl(), "{case}");
                let params = |v: crate::message::Via<'_>| {
                    v.params()
                        .map(|(n, v)| (n.to_ascii_lowercase(), v.map(str::to_owned)))
                        .collect::<Vec<_>>()
                };
                let (mut pa, mut pb) = (params(a), params(b));
                pa.sort();
                pb.sort();
                assert_eq!(pa, pb, "{case}");
                assert_eq!(fast.vias().count(), general.vias().count(), "{case}");
            }
        }
    }
}
