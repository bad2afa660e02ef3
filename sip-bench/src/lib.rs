//! Benchmark harness comparing SIP message parsers.
//!
//! Everything here exists so that `benches/parse.rs` and the examples can treat each parser
//! ("peer") the same way:
//!
//! * [`CASES`] holds the four test messages (exact bytes, CRLF line ends, see `messages/`)
//!   together with the header values a correct parser must find in them.
//! * [`Peer`] is the uniform face of one parser: parse bytes, decode the six headers every
//!   transaction and dialog needs (RFC 3261 §8.1.1: Via, From, To, Call-ID, CSeq, Contact),
//!   and look at the decoded values through a borrowed [`Probe`].
//! * [`Serialize`] is implemented by peers that can turn a parsed message back into bytes.
//!
//! Adding a parser means one `impl Peer` in `src/peers/` and one line in each of the
//! `for_each_peer!` lists in the bench, and in `examples/allocs.rs`, `examples/minbench.rs`
//! and `examples/profile.rs`. [`txn`] holds the endpoint harnesses of the transaction bench.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::error::Error;
use std::fmt;

pub mod peers;
pub mod sdp;
pub mod txn;
pub mod ws;

/// One benchmark message and the values a correct parser decodes from it.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    /// Short name used in benchmark ids (`invite/rsip/parse`).
    pub name: &'static str,
    /// The message exactly as it would arrive on the wire.
    pub bytes: &'static [u8],
    /// What the six dialog-forming headers contain.
    pub expected: Expected,
}

/// Expected decoded values of one message, as plain strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    /// `branch` parameter of the topmost Via (RFC 3261 §8.1.1.7).
    pub via_branch: &'static str,
    /// `tag` parameter of From (RFC 3261 §8.1.1.3).
    pub from_tag: &'static str,
    /// `tag` parameter of To, absent in an out-of-dialog request (RFC 3261 §8.1.1.2).
    pub to_tag: Option<&'static str>,
    /// Call-ID value (RFC 3261 §8.1.1.4).
    pub call_id: &'static str,
    /// CSeq sequence number (RFC 3261 §8.1.1.5).
    pub cseq: u32,
    /// CSeq method.
    pub cseq_method: &'static str,
    /// The URI inside the first Contact (RFC 3261 §8.1.1.8), as written on the wire.
    pub contact_uri: &'static str,
}

/// INVITE with a 12-line SDP offer (758 bytes).
pub const INVITE: Case = Case {
    name: "invite",
    bytes: include_bytes!("../messages/invite.sip"),
    expected: Expected {
        via_branch: "z9hG4bK776asdhds",
        from_tag: "1928301774",
        to_tag: None,
        call_id: "a84b4c76e66710@pc33.atlanta.example.com",
        cseq: 314_159,
        cseq_method: "INVITE",
        contact_uri: "sip:alice@pc33.atlanta.example.com:5060;transport=udp",
    },
};

/// 200 OK answering [`INVITE`], with To-tag, Record-Route and an SDP answer.
pub const OK200: Case = Case {
    name: "ok200",
    bytes: include_bytes!("../messages/ok200.sip"),
    expected: Expected {
        via_branch: "z9hG4bK776asdhds",
        from_tag: "1928301774",
        to_tag: Some("a6c85cf"),
        call_id: "a84b4c76e66710@pc33.atlanta.example.com",
        cseq: 314_159,
        cseq_method: "INVITE",
        contact_uri: "sip:bob@client.biloxi.example.com:5060;transport=udp",
    },
};

/// REGISTER carrying a digest `Authorization` header (RFC 3261 §22.4), no body.
pub const REGISTER: Case = Case {
    name: "register",
    bytes: include_bytes!("../messages/register.sip"),
    expected: Expected {
        via_branch: "z9hG4bKnashds7",
        from_tag: "ja743ks76zlflH",
        to_tag: None,
        call_id: "1j9FpLxk3uxtm8tn@biloxi.example.com",
        cseq: 2,
        cseq_method: "REGISTER",
        contact_uri: "sip:bob@192.0.2.4:5060;transport=tcp",
    },
};

/// OPTIONS with 40 header lines, standard ones and `X-` extension headers.
pub const HEADERS40: Case = Case {
    name: "headers40",
    bytes: include_bytes!("../messages/headers40.sip"),
    expected: Expected {
        via_branch: "z9hG4bK4b43c2ff8.1",
        from_tag: "88sja8x",
        to_tag: None,
        call_id: "98asjd8sdk3jd9s8@pc33.atlanta.example.com",
        cseq: 9,
        cseq_method: "OPTIONS",
        contact_uri: "sip:alice@pc33.atlanta.example.com:5061;transport=tls",
    },
};

/// All benchmark messages, in the order the bench runs them.
pub const CASES: [Case; 4] = [INVITE, OK200, REGISTER, HEADERS40];

/// Why a peer could not parse a message or decode one of its headers.
#[derive(Debug)]
pub enum PeerError {
    /// The message itself was rejected.
    Parse(Box<dyn Error + Send + Sync>),
    /// A header the probe needs is not in the parsed message (or the peer did not find it).
    Missing(&'static str),
    /// A header is present but its typed decoding failed.
    Header {
        /// Which header.
        header: &'static str,
        /// The peer's own error.
        source: Box<dyn Error + Send + Sync>,
    },
}

impl PeerError {
    /// Wraps a peer's error about one header.
    pub fn header(header: &'static str, source: impl Error + Send + Sync + 'static) -> Self {
        Self::Header {
            header,
            source: Box::new(source),
        }
    }

    /// Wraps a peer's error about the whole message.
    pub fn parse(source: impl Error + Send + Sync + 'static) -> Self {
        Self::Parse(Box::new(source))
    }
}

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Parse(e) => write!(f, "message rejected: {e}"),
            Self::Missing(h) => write!(f, "{h}: not found"),
            Self::Header { header, source } => write!(f, "{header}: {source}"),
        }
    }
}

impl Error for PeerError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::Parse(e) | Self::Header { source: e, .. } => Some(e.as_ref()),
            Self::Missing(_) => None,
        }
    }
}

/// Borrowed view of the decoded dialog-forming values, the same shape for every peer.
///
/// Building it must not allocate: it only points into the peer's decoded headers. The
/// benchmark `black_box`es it, so every value has to be actually located.
#[derive(Clone, Copy)]
pub struct Probe<'a> {
    /// Topmost Via `branch`.
    pub via_branch: &'a [u8],
    /// From `tag`.
    pub from_tag: &'a [u8],
    /// To `tag`, if any.
    pub to_tag: Option<&'a [u8]>,
    /// Call-ID.
    pub call_id: &'a [u8],
    /// CSeq number.
    pub cseq: u32,
    /// CSeq method, in the peer's own type.
    pub cseq_method: &'a dyn fmt::Display,
    /// First Contact URI, in the peer's own type.
    pub contact_uri: &'a dyn fmt::Display,
}

impl fmt::Debug for Probe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Probe")
            .field("via_branch", &String::from_utf8_lossy(self.via_branch))
            .field("from_tag", &String::from_utf8_lossy(self.from_tag))
            .field("to_tag", &self.to_tag.map(String::from_utf8_lossy))
            .field("call_id", &String::from_utf8_lossy(self.call_id))
            .field("cseq", &self.cseq)
            .field("cseq_method", &self.cseq_method.to_string())
            .field("contact_uri", &self.contact_uri.to_string())
            .finish()
    }
}

/// Owned, comparable form of a [`Probe`]; used by tests and examples, never in a timed loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fields {
    /// See [`Expected::via_branch`].
    pub via_branch: String,
    /// See [`Expected::from_tag`].
    pub from_tag: String,
    /// See [`Expected::to_tag`].
    pub to_tag: Option<String>,
    /// See [`Expected::call_id`].
    pub call_id: String,
    /// See [`Expected::cseq`].
    pub cseq: u32,
    /// See [`Expected::cseq_method`].
    pub cseq_method: String,
    /// See [`Expected::contact_uri`].
    pub contact_uri: String,
}

impl From<Probe<'_>> for Fields {
    fn from(p: Probe<'_>) -> Self {
        let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        Self {
            via_branch: s(p.via_branch),
            from_tag: s(p.from_tag),
            to_tag: p.to_tag.map(s),
            call_id: s(p.call_id),
            cseq: p.cseq,
            cseq_method: p.cseq_method.to_string(),
            contact_uri: p.contact_uri.to_string(),
        }
    }
}

impl From<Expected> for Fields {
    fn from(e: Expected) -> Self {
        Self {
            via_branch: e.via_branch.to_owned(),
            from_tag: e.from_tag.to_owned(),
            to_tag: e.to_tag.map(str::to_owned),
            call_id: e.call_id.to_owned(),
            cseq: e.cseq,
            cseq_method: e.cseq_method.to_owned(),
            contact_uri: e.contact_uri.to_owned(),
        }
    }
}

/// The uniform face of one SIP parser under test.
///
/// The timed operations are [`Peer::parse`] (bench `<msg>/<peer>/parse`) and
/// `parse` + [`Peer::decode`] + [`Peer::probe`] (bench `<msg>/<peer>/decode`).
pub trait Peer {
    /// Name used in benchmark ids and tables.
    const NAME: &'static str;
    /// The peer's parsed message type.
    type Message;
    /// The peer's typed Via, From, To, Call-ID, CSeq and Contact, possibly borrowing the message.
    type Decoded<'m>;

    /// Parses one complete message (datagram framing: Content-Length bounds the body).
    fn parse(input: &bytes::Bytes) -> Result<Self::Message, PeerError>;

    /// Decodes the six dialog-forming headers with the peer's typed-header API.
    fn decode(msg: &Self::Message) -> Result<Self::Decoded<'_>, PeerError>;

    /// Locates branch, tags, Call-ID, CSeq and Contact URI in the decoded headers.
    fn probe<'a>(decoded: &'a Self::Decoded<'_>) -> Result<Probe<'a>, PeerError>;
}

/// A peer that can write a parsed message back to wire bytes.
pub trait Serialize: Peer {
    /// Serializes `msg` into a fresh buffer, the way the peer's API is meant to be used.
    fn serialize(msg: &Self::Message) -> Vec<u8>;
}

/// Runs parse, decode and probe once and returns the owned result, for tests and examples.
pub fn fields<P: Peer>(input: &bytes::Bytes) -> Result<Fields, PeerError> {
    let msg = P::parse(input)?;
    let decoded = P::decode(&msg)?;
    P::probe(&decoded).map(Fields::from)
}

/// Splits a message into header section and body at the first empty line (RFC 3261 §7.5).
pub fn split_body(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = memchr::memmem::find(bytes, b"\r\n\r\n")?;
    let head = bytes.get(..at)?;
    let body = bytes.get(at + 4..)?;
    Some((head, body))
}

/// The Content-Length value declared in a header section, if any (RFC 3261 §20.14).
pub fn declared_content_length(head: &[u8]) -> Option<usize> {
    head.split(|&b| b == b'\n').find_map(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let colon = memchr::memchr(b':', line)?;
        let (name, value) = line.split_at(colon);
        let name = std::str::from_utf8(name).ok()?.trim();
        if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l") {
            std::str::from_utf8(value.get(1..)?)
                .ok()?
                .trim()
                .parse()
                .ok()
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_content_length_matches_its_body() {
        for case in CASES {
            let (head, body) = split_body(case.bytes).expect(case.name);
            assert_eq!(
                declared_content_length(head),
                Some(body.len()),
                "{}",
                case.name
            );
        }
        // The bodies themselves: two 12-line SDPs, two empty.
        let sdp_lines =
            |c: Case| split_body(c.bytes).map(|(_, b)| b.split(|&x| x == b'\n').count() - 1);
        assert_eq!(sdp_lines(INVITE), Some(12));
        assert_eq!(sdp_lines(OK200), Some(12));
        assert_eq!(split_body(REGISTER.bytes).map(|(_, b)| b.len()), Some(0));
        assert_eq!(split_body(HEADERS40.bytes).map(|(_, b)| b.len()), Some(0));
    }

    #[test]
    fn messages_have_crlf_line_ends_only() {
        for case in CASES {
            let lf = case.bytes.iter().filter(|&&b| b == b'\n').count();
            let crlf = case.bytes.windows(2).filter(|w| w == b"\r\n").count();
            let cr = case.bytes.iter().filter(|&&b| b == b'\r').count();
            assert_eq!((lf, cr), (crlf, crlf), "{}", case.name);
            assert!(case.bytes.ends_with(b"\r\n"), "{}", case.name);
        }
    }

    #[test]
    fn message_sizes_and_header_counts() {
        assert_eq!(INVITE.bytes.len(), 758);
        assert_eq!(OK200.bytes.len(), 822);
        assert_eq!(REGISTER.bytes.len(), 777);
        assert_eq!(HEADERS40.bytes.len(), 1598);
        let header_lines =
            |c: Case| split_body(c.bytes).map(|(h, _)| h.split(|&b| b == b'\n').count() - 1);
        assert_eq!(header_lines(INVITE), Some(11));
        assert_eq!(header_lines(OK200), Some(11));
        assert_eq!(header_lines(REGISTER), Some(12));
        assert_eq!(header_lines(HEADERS40), Some(40));
    }

    #[test]
    fn content_length_reader_handles_compact_form_and_absence() {
        assert_eq!(declared_content_length(b"l: 12"), Some(12));
        assert_eq!(
            declared_content_length(b"Content-Length :  7\r\nX: y"),
            Some(7)
        );
        assert_eq!(declared_content_length(b"Via: x\r\nCSeq: 1 INVITE"), None);
        assert_eq!(split_body(b"no blank line\r\n"), None);
    }
}
