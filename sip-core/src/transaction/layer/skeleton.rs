//! The messages the transaction layer writes itself: responses (100 Trying, 487, the
//! stateless 400/416/420/481/483/503/505, and the TU's answers, all from a [`Skeleton`] of
//! the request, §8.2.6), the ACK for a non-2xx final response (§17.1.1.3) and CANCEL (§9.1). They are written as text straight from the rows of the
//! request, so they work even when a header the endpoint does not need is malformed.
//! Everything is written through the message writer ([`crate::message::writer`]): rows
//! copied from a parsed message as they are, values from elsewhere through its guard.

use crate::message::writer::{self, row_unchecked, unfolded};
use crate::message::{HeaderName, Request, Response};
use bytes::Bytes;

/// The ACK for a 3xx–6xx response to `invite` (§17.1.1.3): same Request-URI, Call-ID,
/// From, CSeq number and top Via as the INVITE, the To of the response, the INVITE's Route
/// rows.
pub(crate) fn ack_for_non_2xx(invite: &Request, response: &Response) -> Bytes {
    let mut s = String::with_capacity(320);
    writer::request_line(&mut s, "ACK", invite.uri_str());
    if let Some(v) = invite.via() {
        row_unchecked(&mut s, "Via", &[v.as_str()]);
    }
    for r in invite.headers().get_all(HeaderName::Route) {
        row_unchecked(&mut s, "Route", &[r]);
    }
    row_unchecked(&mut s, "Max-Forwards", &["70"]);
    if let Some(f) = invite.headers().get(HeaderName::From) {
        row_unchecked(&mut s, "From", &[f]);
    }
    if let Some(t) = response.headers().get(HeaderName::To) {
        row_unchecked(&mut s, "To", &[t]);
    }
    if let Some(c) = invite.call_id() {
        row_unchecked(&mut s, "Call-ID", &[c]);
    }
    if let Some((n, _)) = invite.cseq() {
        writer::cseq_row(&mut s, n, "ACK");
    }
    writer::content_length(&mut s, 0);
    Bytes::from(s)
}

/// The CANCEL for `invite` (§9.1): same Request-URI, Call-ID, To, From, CSeq number, top
/// Via (hence the same branch) and Route rows.
pub(crate) fn cancel_for(invite: &Request) -> Bytes {
    let mut s = String::with_capacity(320);
    writer::request_line(&mut s, "CANCEL", invite.uri_str());
    if let Some(v) = invite.via() {
        row_unchecked(&mut s, "Via", &[v.as_str()]);
    }
    for r in invite.headers().get_all(HeaderName::Route) {
        row_unchecked(&mut s, "Route", &[r]);
    }
    row_unchecked(&mut s, "Max-Forwards", &["70"]);
    for name in [HeaderName::From, HeaderName::To, HeaderName::CallId] {
        if let Some(v) = invite.headers().get(name) {
            row_unchecked(&mut s, name.as_str(), &[v]);
        }
    }
    if let Some((n, _)) = invite.cseq() {
        writer::cseq_row(&mut s, n, "CANCEL");
    }
    writer::content_length(&mut s, 0);
    Bytes::from(s)
}

/// Copies received header rows as `Name: value` CRLF: a row already written so is copied as
/// received, and consecutive such rows in one copy; any other row is rewritten with the
/// canonical name.
#[derive(Default)]
struct RowCopy {
    /// Verbatim rows not yet copied: a range of the head.
    pending: Option<(usize, usize)>,
}

impl RowCopy {
    #[inline(always)]
    fn copy(&mut self, s: &mut String, head: &str, e: &crate::message::HeaderEntry) {
        let as_written = e.verbatim;
        debug_assert!(!as_written || e.is_verbatim(head.as_bytes()));
        let (start, end) = (e.line.start as usize, e.line.end as usize);
        match self.pending {
            Some((s0, e0)) if as_written && e0 == start => self.pending = Some((s0, end)),
            _ => {
                self.flush(s, head);
                if as_written {
                    self.pending = Some((start, end));
                } else {
                    row_unchecked(s, e.name.as_str(), &[e.value.get(head)]);
                }
            }
        }
    }

    fn flush(&mut self, s: &mut String, head: &str) {
        if let Some((start, end)) = self.pending.take() {
            s.push_str(head.get(start..end).unwrap_or(""));
        }
    }
}

/// A reason phrase for a 400 that says what was wrong (§21.4.1: "the reason phrase SHOULD
/// identify the syntax problem in more detail").
pub(crate) fn bad_request_reason(code: u16, detail: &dyn std::fmt::Display) -> String {
    let mut r = format!("{} ({detail})", crate::message::reason_phrase(code));
    r.retain(|c| c != '\r' && c != '\n');
    r
}

/// What a server transaction keeps of its request to answer it (§8.2.6): the rows a
/// response copies, as text, instead of the whole parsed request — a few hundred bytes, and
/// responses are written straight from it without a parse. It also holds the transaction's
/// key and To tag, so a server transaction owns one string.
#[derive(Debug, Clone)]
pub(crate) struct Skeleton {
    /// One allocation holding, in order: the top Via branch; the CSeq method; the
    /// transaction key (§17.2.3); the To tag of the responses — what matching needs for the
    /// transaction's whole life — then what only writing a response needs: the "Via: …\r\n"
    /// rows, then the From, Call-ID and CSeq rows; the To value as received; the
    /// "Record-Route: …\r\n" rows (copied into dialog-creating responses, §12.1.1); the
    /// Timestamp value (echoed in 100 Trying, §8.2.6.1).
    /// (A `String`, not a `Box<str>`: shrinking it to fit would cost a reallocation per
    /// transaction for a few dozen bytes.)
    text: String,
    /// Where each of those parts ends in `text`.
    ends: [u32; Part::COUNT],
    to_has_tag: bool,
    /// The rows were released ([`Skeleton::shed`]): no response can be written from it.
    shed: bool,
    /// Once shed: the branch and the CSeq method are read from the key, which begins with
    /// the one and ends with the other (an RFC 3261 key, §17.2.3), not kept twice; the
    /// first two `ends` are then their lengths, and the key starts the text.
    in_key: bool,
    has_timestamp: bool,
    has_branch: bool,
    cseq_number: Option<u32>,
}

/// What a server transaction keeps of its request once it only lingers (an INVITE's in
/// Accepted, a non-INVITE's in Completed): what matches its retransmissions (the key,
/// §17.2.3), a response the TU passes whole (the branch and CSeq, §17.2) and an RFC 2543
/// ACK (the To tag of its responses); nothing to write a response from. The part of a
/// [`Skeleton`] that [`Skeleton::shed`] keeps, in 40 bytes instead of the skeleton's 80.
#[derive(Debug)]
pub(crate) struct KeptSkeleton {
    /// The branch, the CSeq method, the key and the To tag, one after the other.
    text: Box<str>,
    /// Where the branch, the method and the key end in `text` (the To tag ends with it).
    ends: [u32; 3],
    cseq_number: u32,
    has_cseq: bool,
    has_branch: bool,
    /// The branch and the method are read from the key (see `Skeleton::in_key`).
    in_key: bool,
}

impl KeptSkeleton {
    fn part(&self, i: usize) -> &str {
        let start = if i == 0 || (self.in_key && i == 2) {
            0
        } else {
            self.ends[i - 1] as usize
        };
        let end = self.ends.get(i).map_or(self.text.len(), |&e| e as usize);
        self.text.get(start..end).unwrap_or("")
    }

    /// The transaction key it was filed under (§17.2.3).
    pub(crate) fn key(&self) -> &str {
        self.part(2)
    }

    /// The To tag of the responses (§8.2.6.2).
    pub(crate) fn to_tag(&self) -> &str {
        self.part(3)
    }

    /// The request's top Via branch.
    pub(crate) fn branch(&self) -> Option<&str> {
        let b = if self.in_key {
            key_branch(self.key(), self.ends[0])
        } else {
            self.part(0)
        };
        self.has_branch.then_some(b)
    }

    /// The request's CSeq number and method.
    pub(crate) fn cseq(&self) -> Option<(u32, &str)> {
        let m = if self.in_key {
            key_method(self.key(), self.ends[1])
        } else {
            self.part(1)
        };
        self.has_cseq.then_some((self.cseq_number, m))
    }
}

/// Whether, in `head` (the branch, the CSeq method and the key, ending at `b`, `m` and
/// its end), the key begins with the branch and ends with the method, each a field of its
/// own (an RFC 3261 key: branch, sent-by, method, §17.2.3).
fn in_key(head: &[u8], b: usize, m: usize) -> bool {
    let (Some(branch), Some(method), Some(key)) = (head.get(..b), head.get(b..m), head.get(m..))
    else {
        return false;
    };
    let n = key.len();
    n >= branch.len() + method.len() + 2
        && key[branch.len()] == 0
        && key[n - method.len() - 1] == 0
        && key.starts_with(branch)
        && key.ends_with(method)
}

/// The branch a key begins with: its first `len` bytes (see [`in_key`]).
fn key_branch(key: &str, len: u32) -> &str {
    key.get(..len as usize).unwrap_or("")
}

/// The method a key ends with: its last `len` bytes.
fn key_method(key: &str, len: u32) -> &str {
    key.get(key.len().saturating_sub(len as usize)..)
        .unwrap_or("")
}

/// The parts of [`Skeleton::text`], in order.
#[derive(Clone, Copy)]
enum Part {
    Branch,
    CSeqMethod,
    Key,
    ToTag,
    Rows,
    To,
    RecordRoute,
    Timestamp,
}

impl Part {
    const COUNT: usize = 8;
}

/// The To tag of a server transaction's responses (§8.2.6.2): the request's own, one
/// known already, or a new one drawn from the endpoint's generator straight into the
/// skeleton.
pub(crate) enum ToTag<'a> {
    Given(&'a str),
    Drawn(&'a mut crate::rng::IdGenerator),
}

impl Skeleton {
    /// The skeleton of `req`, for the server transaction filed under `key` whose responses
    /// carry `to_tag` (the request's own To tag if it has one).
    pub(crate) fn of(req: &Request, key: &str, to_tag: ToTag<'_>) -> Skeleton {
        let head = req.head.as_str();
        let mut text = String::with_capacity(head.len().min(1024) + key.len() + 64);
        let mut ends = [0u32; Part::COUNT];
        let mut end = |text: &String, p: Part| ends[p as usize] = text.len() as u32;
        let branch = req.via().and_then(|v| v.branch());
        text.push_str(branch.unwrap_or(""));
        end(&text, Part::Branch);
        let cseq = req.cseq();
        text.push_str(cseq.map_or("", |(_, m)| m));
        end(&text, Part::CSeqMethod);
        text.push_str(key);
        end(&text, Part::Key);
        match to_tag {
            ToTag::Given(t) => text.push_str(t),
            ToTag::Drawn(ids) => ids.push_tag(&mut text),
        }
        end(&text, Part::ToTag);
        let mut to = "";
        let mut timestamp = None;
        let mut record_route = false;
        let mut rows = RowCopy::default();
        for e in &req.headers {
            match e.name {
                HeaderName::Via | HeaderName::From | HeaderName::CallId | HeaderName::CSeq => {
                    rows.copy(&mut text, head, e);
                }
                HeaderName::To => to = e.value.get(head),
                HeaderName::Timestamp => timestamp = Some(e.value.get(head)),
                HeaderName::RecordRoute => record_route = true,
                _ => {}
            }
        }
        rows.flush(&mut text, head);
        end(&text, Part::Rows);
        text.push_str(to);
        end(&text, Part::To);
        if record_route && *req.method() == crate::message::Method::Invite {
            for e in &req.headers {
                if e.name == HeaderName::RecordRoute {
                    rows.copy(&mut text, head, e);
                }
            }
            rows.flush(&mut text, head);
        }
        end(&text, Part::RecordRoute);
        text.push_str(timestamp.unwrap_or(""));
        end(&text, Part::Timestamp);
        Skeleton {
            text,
            ends,
            to_has_tag: req.to().is_some_and(|t| t.tag().is_some()),
            shed: false,
            in_key: false,
            has_timestamp: timestamp.is_some(),
            has_branch: branch.is_some(),
            cseq_number: cseq.map(|(n, _)| n),
        }
    }

    /// The transaction key it was filed under (§17.2.3).
    pub(crate) fn key(&self) -> &str {
        self.part(Part::Key)
    }

    /// The To tag of the responses (§8.2.6.2).
    pub(crate) fn to_tag(&self) -> &str {
        self.part(Part::ToTag)
    }

    fn part(&self, p: Part) -> &str {
        let i = p as usize;
        let start = if i == 0 || (self.in_key && matches!(p, Part::Key)) {
            0
        } else {
            self.ends[i - 1] as usize
        };
        self.text.get(start..self.ends[i] as usize).unwrap_or("")
    }

    fn rows(&self) -> &str {
        self.part(Part::Rows)
    }

    fn to(&self) -> &str {
        self.part(Part::To)
    }

    /// The request's top Via branch, for matching a response the TU built (§17.2).
    pub(crate) fn branch(&self) -> Option<&str> {
        let b = if self.in_key {
            key_branch(self.key(), self.ends[0])
        } else {
            self.part(Part::Branch)
        };
        self.has_branch.then_some(b)
    }

    /// The request's CSeq number and method.
    pub(crate) fn cseq(&self) -> Option<(u32, &str)> {
        let m = if self.in_key {
            key_method(self.key(), self.ends[1])
        } else {
            self.part(Part::CSeqMethod)
        };
        self.cseq_number.map(|n| (n, m))
    }

    /// Writes a response: status line, the copied rows, To (with `to_tag` if it had none),
    /// Record-Route rows if asked, `extra` rows, and the body with its Content-Type. The
    /// `extra` rows and the Content-Type are written unchecked: the endpoint's own; a
    /// caller's go through [`Skeleton::checked_response_bytes`].
    pub(crate) fn response_bytes(
        &self,
        status: u16,
        reason: &str,
        to_tag: Option<&str>,
        record_route: bool,
        extra: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
    ) -> Bytes {
        let body = body.unwrap_or(("", b""));
        let tag = to_tag.filter(|_| !self.to_has_tag);
        let timestamp = (status == 100 && self.has_timestamp).then(|| self.part(Part::Timestamp));
        let record_route = if record_route {
            self.part(Part::RecordRoute)
        } else {
            ""
        };
        // The exact length, so that the buffer becomes `Bytes` without a reallocation or
        // a separately allocated shared header (a `Vec` whose capacity is its length).
        let len = writer::status_line_len(status, reason)
            + self.rows().len()
            + writer::row_len(
                "To",
                self.to().len() + tag.map_or(0, |t| ";tag=".len() + t.len()),
            )
            + timestamp.map_or(0, |t| writer::row_len("Timestamp", t.len()))
            + record_route.len()
            + extra
                .iter()
                .map(|(n, v)| writer::row_len(n, v.len()))
                .sum::<usize>()
            + if body.1.is_empty() {
                0
            } else {
                writer::row_len("Content-Type", body.0.len())
            }
            + writer::content_length_len(body.1.len())
            + body.1.len();
        let mut s = String::with_capacity(len);
        writer::status_line(&mut s, status, reason);
        s.push_str(self.rows());
        match tag {
            Some(tag) => row_unchecked(&mut s, "To", &[self.to(), ";tag=", tag]),
            None => row_unchecked(&mut s, "To", &[self.to()]),
        }
        if let Some(t) = timestamp {
            row_unchecked(&mut s, "Timestamp", &[t]);
        }
        s.push_str(record_route);
        for (n, v) in extra {
            row_unchecked(&mut s, n, &[v]);
        }
        if !body.1.is_empty() {
            row_unchecked(&mut s, "Content-Type", &[body.0]);
        }
        writer::content_length(&mut s, body.1.len());
        let mut out = s.into_bytes();
        out.extend_from_slice(body.1);
        debug_assert_eq!(out.len(), len, "response length computed beforehand");
        Bytes::from(out)
    }

    /// [`Skeleton::response_bytes`] with `extra` rows and a Content-Type from a caller (the
    /// TU's): each passes the writer's guard first, and one with a CR, LF or NUL in its
    /// name or value is refused (§7.3.1), nothing written.
    pub(crate) fn checked_response_bytes(
        &self,
        status: u16,
        reason: &str,
        to_tag: Option<&str>,
        record_route: bool,
        extra: &[(&str, &str)],
        body: Option<(&str, &[u8])>,
    ) -> Result<Bytes, super::EndpointError> {
        let refused = |name: &str| {
            super::EndpointError::Build(crate::message::BuildError::HeaderValue(name.into()))
        };
        for (n, v) in extra {
            writer::check_row(n, v).map_err(|_| refused(n))?;
        }
        if let Some((ct, b)) = body
            && !b.is_empty()
        {
            writer::check_row("Content-Type", ct).map_err(|_| refused("Content-Type"))?;
        }
        Ok(self.response_bytes(status, reason, to_tag, record_route, extra, body))
    }

    /// Frees the copied rows once no further response can be written (the transaction
    /// only retransmits its last one); the branch, CSeq method, key and To tag stay for
    /// matching.
    pub(crate) fn shed(&mut self) {
        if self.shed {
            return; // (a further 2xx in Accepted: nothing left to release)
        }
        // The kept parts come first: they move to a string of their size. (A shrinking
        // reallocation of the text measured dearer than this copy of a few dozen bytes.)
        // Where the key holds the branch and the method already, they are not copied.
        let [b, m, k, t, ..] = self.ends;
        let found = self.has_branch
            && self
                .text
                .as_bytes()
                .get(..k as usize)
                .is_some_and(|head| in_key(head, b as usize, m as usize));
        self.in_key = found;
        let from = if found { m } else { 0 };
        self.text = self
            .text
            .get(from as usize..t as usize)
            .unwrap_or_default()
            .to_owned();
        let (k, t) = (k.saturating_sub(from), t.saturating_sub(from));
        self.ends = if found {
            // The branch's and the method's lengths, then the key's and the To tag's ends.
            [b, m - b, k, t, t, t, t, t]
        } else {
            [b, m, k, t, t, t, t, t]
        };
        self.has_timestamp = false;
        self.shed = true;
    }

    /// Whether the rows were released.
    pub(crate) fn is_shed(&self) -> bool {
        self.shed
    }

    /// What is left once the rows are released ([`Skeleton::shed`]), in its compact form
    /// for a lingering transaction; `None` while the rows are kept.
    /// (Taken out of it: the skeleton left behind holds nothing.)
    pub(crate) fn take_kept(&mut self) -> Option<KeptSkeleton> {
        if !self.shed {
            return None;
        }
        let [branch, method, key, ..] = self.ends;
        Some(KeptSkeleton {
            // `shed` left a string of the kept parts' exact size: no reallocation here.
            text: std::mem::take(&mut self.text).into_boxed_str(),
            ends: [branch, method, key],
            cseq_number: self.cseq_number.unwrap_or(0),
            has_cseq: self.cseq_number.is_some(),
            has_branch: self.has_branch,
            in_key: self.in_key,
        })
    }

    /// A builder with the copied rows, for the TU to add to (§8.2.6).
    pub(crate) fn builder(
        &self,
        status: u16,
        to_tag: Option<&str>,
    ) -> crate::message::ResponseBuilder {
        // One (name, value) per row; a row folded over several lines (§7.3.1) is unfolded,
        // as the builder writes values on one line.
        let mut rows: Vec<(&str, String)> = Vec::with_capacity(8);
        for line in self.rows().split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.starts_with([' ', '\t']) {
                if let Some((_, v)) = rows.last_mut() {
                    v.push(' ');
                    v.push_str(line.trim_start_matches([' ', '\t']));
                }
            } else if let Some((n, v)) = line.split_once(':') {
                rows.push((n.trim_end(), v.trim_start_matches([' ', '\t']).to_owned()));
            }
        }
        let to = unfolded(self.to()).0;
        let rows = rows
            .iter()
            .map(|(n, v)| (*n, v.as_str()))
            .chain([("To", &*to)]);
        let b = crate::message::ResponseBuilder::from_rows(status, rows);
        match to_tag {
            Some(t) => b.to_tag(t),
            None => b,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::writer::RequestText;
    use crate::message::{ParseOptions, SipMessage, parse};

    fn request(text: &str) -> Request {
        match parse(Bytes::from(text.to_owned()), &ParseOptions::default()) {
            Ok(SipMessage::Request(r)) => r,
            other => panic!("a request: {other:?}"),
        }
    }

    fn response(b: Bytes) -> Response {
        match parse(b, &ParseOptions::default()) {
            Ok(SipMessage::Response(r)) => r,
            other => panic!("a response: {other:?}"),
        }
    }

    /// Rows received in every shape end up in the response with their values (§8.2.6.2),
    /// whether copied as received or rewritten.
    #[test]
    fn a_skeleton_copies_each_row_shape() {
        let req = request(
            "INVITE sip:b@example.com SIP/2.0\r\n\
             Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1;received=192.0.2.1\r\n\
             v:SIP/2.0/UDP b.example.com;branch=z9hG4bK0\r\n\
             VIA: SIP/2.0/UDP c.example.com;branch=z9hG4bKc, SIP/2.0/UDP d.example.com\r\n\
             Record-Route: <sip:p1.example.com;lr>\r\n\
             Max-Forwards: 70\r\n\
             To: Bob <sip:b@example.com>\r\n\
             From: Alice\r\n <sip:a@example.com>;tag=9\r\n\
             i: c-1@example.com\r\n\
             CSeq:  7 INVITE  \r\n\
             Record-Route: <sip:p2.example.com;lr>\r\n\
             Timestamp: 54\r\n\
             Content-Length: 0\r\n\r\n",
        );
        let skel = Skeleton::of(&req, "the-key", ToTag::Given("t1"));
        assert_eq!(skel.key(), "the-key");
        assert_eq!(skel.to_tag(), "t1");
        assert_eq!(skel.branch(), Some("z9hG4bK1"));
        assert_eq!(skel.cseq(), Some((7, "INVITE")));
        let ok = response(skel.response_bytes(200, "OK", Some("t1"), true, &[], None));
        let vias: Vec<String> = ok
            .vias()
            .map(|v| v.expect("a via-parm").as_str().to_owned())
            .collect();
        let sent: Vec<String> = req
            .vias()
            .map(|v| v.expect("a via-parm").as_str().to_owned())
            .collect();
        assert_eq!(vias, sent);
        assert_eq!(ok.vias().count(), 4);
        assert_eq!(ok.from().and_then(|f| f.tag()), Some("9"));
        assert_eq!(ok.to().and_then(|t| t.tag()), Some("t1"));
        assert_eq!(ok.call_id(), Some("c-1@example.com"));
        assert_eq!(ok.cseq(), Some((7, "INVITE")));
        let rr: Vec<String> = ok
            .record_routes()
            .map(|r| r.expect("a name-addr").uri_str().to_owned())
            .collect();
        assert_eq!(rr, ["sip:p1.example.com;lr", "sip:p2.example.com;lr"]);
        let trying = response(skel.response_bytes(100, "Trying", None, false, &[], None));
        assert_eq!(trying.headers().get(HeaderName::Timestamp), Some("54"));
        assert_eq!(trying.record_routes().count(), 0);
        assert_eq!(trying.to().and_then(|t| t.tag()), None);
        // The builder the TU gets (Endpoint::response) takes the folded From as one value.
        let built = skel
            .builder(200, Some("t1"))
            .build()
            .expect("the rows build");
        assert_eq!(built.from().and_then(|f| f.tag()), Some("9"));
        assert_eq!(built.vias().count(), 4);
        assert_eq!(built.cseq(), Some((7, "INVITE")));
        assert_eq!(built.to().and_then(|t| t.tag()), Some("t1"));
        // Once answered for good, the rows go and what matching needs stays.
        let mut shed = skel.clone();
        shed.shed();
        assert_eq!(
            (shed.key(), shed.to_tag(), shed.branch(), shed.cseq()),
            ("the-key", "t1", Some("z9hG4bK1"), Some((7, "INVITE")))
        );
        assert!(shed.text.len() < skel.text.len() / 4);
        // Its compact form answers the same; only a shed skeleton has one.
        assert!(skel.clone().take_kept().is_none());
        let kept = shed.clone().take_kept().expect("shed");
        assert_eq!(
            (kept.key(), kept.to_tag(), kept.branch(), kept.cseq()),
            ("the-key", "t1", Some("z9hG4bK1"), Some((7, "INVITE")))
        );
        assert!(std::mem::size_of::<KeptSkeleton>() <= 40);
    }

    /// Shed, a skeleton whose key is an RFC 3261 one (branch, sent-by, method) reads the
    /// branch and the method from it instead of keeping them twice; one with another key
    /// (RFC 2543's, or a CSeq method the key does not end with) keeps them. Both answer
    /// the same, and so do their compact forms.
    #[test]
    fn a_shed_skeleton_keeps_the_branch_and_method_once() {
        let text = |branch: &str, method: &str, cseq_method: &str| {
            format!(
                "{method} sip:b@example.com SIP/2.0\r\n\
                 Via: SIP/2.0/UDP a.example.com:5070;branch={branch}\r\n\
                 To: <sip:b@example.com>\r\nFrom: <sip:a@example.com>;tag=9\r\n\
                 Call-ID: c-1\r\nCSeq: 7 {cseq_method}\r\nMax-Forwards: 70\r\n\
                 Content-Length: 0\r\n\r\n"
            )
        };
        let cases = [
            ("z9hG4bK-3261", "BYE", "BYE", true),
            ("old-2543-branch", "BYE", "BYE", false),
            ("z9hG4bK-3261", "INVITE", "INVITE", true),
        ];
        for (branch, method, cseq_method, in_key) in cases {
            let req = request(&text(branch, method, cseq_method));
            let mut key = String::new();
            assert!(crate::transaction::layer::keys::server_key(
                &mut key, &req, None
            ));
            let skel = Skeleton::of(&req, &key, ToTag::Given("t1"));
            let mut shed = skel.clone();
            shed.shed();
            assert_eq!(shed.in_key, in_key, "{branch}");
            let want = (key.as_str(), "t1", Some(branch), Some((7, cseq_method)));
            assert_eq!(
                (shed.key(), shed.to_tag(), shed.branch(), shed.cseq()),
                want
            );
            let kept_len = skel.ends[Part::ToTag as usize] as usize;
            let saved = branch.len() + cseq_method.len();
            assert_eq!(shed.text.len(), kept_len - if in_key { saved } else { 0 });
            shed.shed();
            assert_eq!(
                (shed.key(), shed.to_tag(), shed.branch(), shed.cseq()),
                want
            );
            let kept = shed.take_kept().expect("shed");
            assert_eq!(
                (kept.key(), kept.to_tag(), kept.branch(), kept.cseq()),
                want
            );
        }
    }

    /// The writer's guard on every row written here from a caller's text: a CR, LF or NUL
    /// in the name or the value of a request row (folds aside, which are unfolded), of a
    /// response's extra rows, or in a Content-Type, is refused; so is a Request-URI with
    /// one.
    #[test]
    fn written_rows_refuse_cr_lf_and_nul() {
        let req = request(
            "INVITE sip:b@example.com SIP/2.0\r\n\
             Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n\
             To: <sip:b@example.com>\r\nFrom: <sip:a@example.com>;tag=9\r\n\
             Call-ID: c-1\r\nCSeq: 7 INVITE\r\nMax-Forwards: 70\r\n\
             Content-Length: 0\r\n\r\n",
        );
        let skel = Skeleton::of(&req, "k", ToTag::Given("t1"));
        let sdp = &b"v=0\r\n"[..];
        for bad in ["\r", "\n", "\0", "a\r\nX-Injected: 1", "a\r\n"] {
            let v = format!("x{bad}");
            let refused = |r: Result<Bytes, crate::transaction::layer::EndpointError>,
                           name: &str| {
                assert!(
                    matches!(
                        r,
                        Err(crate::transaction::layer::EndpointError::Build(
                            crate::message::BuildError::HeaderValue(ref n)
                        )) if n == name
                    ),
                    "{bad:?} {name}"
                );
            };
            let respond = |extra: &[(&str, &str)], ct: &str| {
                skel.checked_response_bytes(200, "OK", Some("t1"), false, extra, Some((ct, sdp)))
            };
            refused(respond(&[("Contact", &v)], "application/sdp"), "Contact");
            refused(respond(&[(&v, "1")], "application/sdp"), &v);
            refused(respond(&[], &v), "Content-Type");
            let mut t = RequestText::new("BYE", "sip:b@example.com", 256).unwrap();
            assert!(t.header("Subject", &v).is_err());
            assert!(t.header(&v, "x").is_err());
            let t = RequestText::new("BYE", "sip:b@example.com", 256).unwrap();
            assert!(t.finish(Some((&v, sdp))).is_err());
            assert!(RequestText::new("BYE", &format!("sip:b@e{bad}"), 256).is_err());
        }
        // A fold in a value is unfolded, not refused; clean rows go through.
        let mut t = RequestText::new("BYE", "sip:b@example.com", 256).unwrap();
        assert!(t.header("Subject", "a\r\n b").is_ok());
        let bye = t.finish(None).unwrap();
        assert!(bye.ends_with(b"Subject: a b\r\nContent-Length: 0\r\n\r\n"));
        let ok = skel
            .checked_response_bytes(
                200,
                "OK",
                Some("t1"),
                false,
                &[("Contact", "<sip:b@192.0.2.2>")],
                Some(("application/sdp", sdp)),
            )
            .unwrap();
        let ok = response(ok);
        assert_eq!(
            ok.headers().get(HeaderName::Contact),
            Some("<sip:b@192.0.2.2>")
        );
        assert_eq!(&ok.body()[..], sdp);
    }
}
