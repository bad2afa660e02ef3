//! Parse errors, sorted into the three layers RFC 4475 distinguishes.

use super::name::HeaderName;
use thiserror::Error;

/// Which layer of the message an error belongs to. RFC 4475 asks implementations to keep
/// these apart: a framing fault makes the message unusable, a bad header value spoils one
/// header, and a semantic fault is a well-formed message that breaks a rule of RFC 3261.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultLayer {
    /// Framing, size limits and the start line (§7.1, §7.2, §18.3).
    Framing,
    /// The value of one header the stack decodes (§20, §25).
    HeaderValue,
    /// A structurally valid message that breaks a rule (missing mandatory header, CSeq method
    /// different from the request method, a single-value header repeated; §8.1.1, §8.2.2).
    Semantic,
}

/// What went wrong, and where it sits (see [`ParseErrorKind::layer`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// No bytes, or only whitespace.
    #[error("empty message")]
    Empty,
    /// The message is bigger than the configured limit.
    #[error("message larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// A line is longer than the configured limit.
    #[error("line longer than {limit} bytes")]
    LineTooLong {
        /// The limit.
        limit: usize,
    },
    /// More header lines than the configured limit.
    #[error("more than {limit} headers")]
    TooManyHeaders {
        /// The limit.
        limit: usize,
    },
    /// The header section never ends (no empty line).
    #[error("header section not terminated by an empty line")]
    UnterminatedHeaders,
    /// The start line is malformed; the text says what was expected.
    #[error("malformed start line: {0}")]
    StartLine(&'static str),
    /// A SIP version other than SIP/2.0 (answer 505, §8.2.3... §21.5.7).
    #[error("unsupported SIP version")]
    UnsupportedVersion,
    /// The status code is not three digits in 100..=699 (§7.2, §25.1).
    #[error("invalid status code")]
    StatusCode,
    /// The method is not a `token`.
    #[error("invalid method")]
    Method,
    /// The Request-URI is longer than the configured limit (answer 414, §21.4.12).
    #[error("Request-URI longer than {limit} bytes")]
    UriTooLong {
        /// The limit.
        limit: usize,
    },
    /// The Request-URI is malformed (§25.1 `Request-URI`).
    #[error("invalid Request-URI: {0}")]
    RequestUri(&'static str),
    /// A header line without a colon or with a non-token name.
    #[error("malformed header line")]
    HeaderLine,
    /// Strict mode: a line ended with a bare LF or CR instead of CRLF.
    #[error("line not terminated by CRLF")]
    LineEnding,
    /// The header section is not UTF-8 (§7.3.1: TEXT-UTF8).
    #[error("header section is not valid UTF-8")]
    NotUtf8,
    /// Content-Length is not a non-negative decimal below 2^32 (§20.14); the fault says
    /// what was found instead.
    #[error("invalid Content-Length: {0}")]
    ContentLength(ContentLengthFault),
    /// Content-Length is above the configured limit.
    #[error("Content-Length above the limit of {limit} bytes")]
    ContentLengthTooLarge {
        /// The limit.
        limit: usize,
    },
    /// Content-Length announces more bytes than the datagram holds (§18.3).
    #[error("Content-Length {declared} larger than the {available} body bytes received")]
    BodyTooShort {
        /// Announced length.
        declared: usize,
        /// Bytes present.
        available: usize,
    },
    /// A stream message without Content-Length cannot be framed (§18.3, §20.14).
    #[error("Content-Length missing on a stream transport")]
    MissingContentLength,
    /// A decoded header's value does not follow its grammar.
    #[error("malformed {header} header: {reason}")]
    HeaderValue {
        /// The header.
        header: HeaderName,
        /// What was expected.
        reason: &'static str,
    },
    /// Strict mode: the URI of a From, To or Contact value does not follow its grammar
    /// (RFC 3261 §25.1, RFC 3966 §3); the error's offset is the byte at fault.
    #[error("malformed {header} header: {error}")]
    HeaderUri {
        /// The header.
        header: HeaderName,
        /// What the URI grammar expected.
        error: crate::message::UriErrorKind,
    },
    /// A mandatory header is missing (§8.1.1; responses §20).
    #[error("missing {0} header")]
    MissingHeader(HeaderName),
    /// A header that must appear once appears several times (§7.3.1; RFC 4475 §3.3.8).
    #[error("{0} header appears more than once")]
    DuplicateHeader(HeaderName),
    /// The CSeq method differs from the request method (§8.1.1.5; RFC 4475 §3.1.2.17).
    #[error("CSeq method does not match the request method")]
    CSeqMethodMismatch,
}

impl ParseErrorKind {
    /// The layer of the fault.
    pub fn layer(&self) -> FaultLayer {
        use ParseErrorKind::*;
        match self {
            HeaderValue { .. } | HeaderUri { .. } => FaultLayer::HeaderValue,
            MissingHeader(_) | DuplicateHeader(_) | CSeqMethodMismatch => FaultLayer::Semantic,
            _ => FaultLayer::Framing,
        }
    }
}

/// A message that could not be parsed or failed validation, with the byte offset of the
/// fault (from the start of the bytes handed in).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{kind} (at byte {offset})")]
pub struct ParseError {
    /// Byte offset of the fault.
    pub offset: usize,
    /// What went wrong.
    pub kind: ParseErrorKind,
}

impl ParseError {
    pub(crate) fn new(offset: usize, kind: ParseErrorKind) -> Self {
        ParseError { offset, kind }
    }

    /// The layer of the fault.
    pub fn layer(&self) -> FaultLayer {
        self.kind.layer()
    }

    /// Whether, on a stream transport, this error means the framing is lost (the
    /// connection must be closed) rather than one bad message (RFC 3261 §18.3).
    pub fn breaks_stream(&self) -> bool {
        matches!(
            self.kind,
            ParseErrorKind::TooLarge { .. }
                | ParseErrorKind::ContentLength(_)
                | ParseErrorKind::ContentLengthTooLarge { .. }
                | ParseErrorKind::MissingContentLength
                | ParseErrorKind::DuplicateHeader(crate::message::HeaderName::ContentLength)
        )
    }

    /// The status a UAS answers a request with this fault: 505 for the version (§8.2.3,
    /// §21.5.7); 513 Message Too Large for a message over the size, header-count or line
    /// limits (§21.5.9); 414 for a Request-URI over its limit (§21.4.12); else 400 (§8.2,
    /// and §18.3 for a Content-Length beyond the datagram). Whether a response can be sent
    /// at all depends on what of the head could be read (§8.2.6).
    pub fn status_code(&self) -> u16 {
        match self.kind {
            ParseErrorKind::UnsupportedVersion => 505,
            ParseErrorKind::TooLarge { .. }
            | ParseErrorKind::ContentLengthTooLarge { .. }
            | ParseErrorKind::TooManyHeaders { .. }
            | ParseErrorKind::LineTooLong { .. } => 513,
            ParseErrorKind::UriTooLong { .. } => 414,
            _ => 400,
        }
    }
}

/// Why a Content-Length value is not one (§20.14: `1*DIGIT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ContentLengthFault {
    /// No value at all.
    #[error("expected decimal digits, found nothing")]
    Empty,
    /// A byte that is not a digit (the first one, as a character; U+FFFD for a byte that
    /// is not UTF-8).
    #[error("expected decimal digits, found {0:?}")]
    NotDigit(char),
    /// Digits, but more than 2^32 − 1.
    #[error("exceeds 2^32 - 1")]
    TooBig,
}

impl ContentLengthFault {
    /// What is wrong with the Content-Length value `v` (its LWS trimmed or not), and the
    /// offset in `v` of the byte at fault; `None` if `v` is a valid value below 2^32.
    pub(crate) fn of(v: &[u8]) -> Option<(usize, ContentLengthFault)> {
        let is_blank = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
        let Some(start) = v.iter().position(|c| !is_blank(c)) else {
            return Some((v.len(), Self::Empty));
        };
        let end = v
            .iter()
            .rposition(|c| !is_blank(c))
            .map_or(start, |e| e + 1);
        let digits = &v[start..end];
        if let Some(k) = digits.iter().position(|c| !c.is_ascii_digit()) {
            let rest = &digits[k..];
            let c = match std::str::from_utf8(&rest[..rest.len().min(4)]) {
                Ok(s) => s.chars().next(),
                Err(e) => std::str::from_utf8(&rest[..e.valid_up_to()])
                    .ok()
                    .and_then(|s| s.chars().next()),
            };
            return Some((start + k, Self::NotDigit(c.unwrap_or('\u{fffd}'))));
        }
        let n = digits.iter().try_fold(0u64, |n, &c| {
            let n = n * 10 + u64::from(c - b'0');
            (n <= u64::from(u32::MAX)).then_some(n)
        });
        n.is_none().then_some((start, Self::TooBig))
    }
}

/// A string that should have been a `token` (RFC 3261 §25.1) was not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("not a valid token")]
pub struct InvalidToken;
