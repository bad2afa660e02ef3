//! The parse rules (RFC 8866 §5, §9), their bounds and errors; the one pass over the lines
//! that applies them is `view.rs`'s (both parses share it): lenient where a peer's slip is
//! harmless, refusing with a typed error (and the 1-based line number) what an answerer
//! cannot use.
//!
//! Lenient: LF or CRLF line ends (§5 asks for CRLF and tells parsers to accept LF), a
//! missing final line end, blank lines, session-level lines out of the §5 order, a missing
//! `t=`, unknown type letters and unknown attributes (kept in order), `a=ptime` with a
//! fraction. Refused: text that is not UTF-8 (the default `charset`), a first line other
//! than `v=0`, a line that is not `<letter>=<value>`, a missing or malformed `o=`, a missing
//! `s=`, malformed `c=`, `b=`, `t=`, `m=`, and an `rtpmap`, `fmtp` or `ptime` an answerer
//! would misread. Every count the input controls is bounded by [`SdpLimits`].

/// The bounds of what [`SessionDescription::parse_with`](super::SessionDescription::parse_with)
/// accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdpLimits {
    /// Bytes in the description.
    pub max_bytes: usize,
    /// Lines in the description.
    pub max_lines: usize,
    /// Bytes in one line.
    pub max_line_len: usize,
    /// Media sections.
    pub max_media: usize,
    /// `a=` lines in one section (the session part or one media section).
    pub max_attributes: usize,
    /// Formats on one `m=` line.
    pub max_formats: usize,
}

impl Default for SdpLimits {
    /// 16 KiB, 512 lines of at most 1 KiB, 32 media sections, 128 attributes per section,
    /// 64 formats per `m=` line: well above what telephones and WebRTC browsers send.
    fn default() -> Self {
        SdpLimits {
            max_bytes: 16 * 1024,
            max_lines: 512,
            max_line_len: 1024,
            max_media: 32,
            max_attributes: 128,
            max_formats: 64,
        }
    }
}

/// Why a session description was refused, and on which line (1-based; 0 for the
/// description as a whole).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SDP line {line}: {kind}")]
pub struct SdpError {
    /// The line, counted from 1 (0: the whole description).
    pub line: usize,
    /// What is wrong with it.
    pub kind: SdpErrorKind,
}

/// What is wrong with a session description.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdpErrorKind {
    /// The description is empty.
    #[error("empty description")]
    Empty,
    /// Not UTF-8 (RFC 8866 §5: the default charset).
    #[error("not UTF-8")]
    NotUtf8,
    /// Over `SdpLimits::max_bytes`.
    #[error("description too large")]
    TooLarge,
    /// Over `SdpLimits::max_lines`.
    #[error("too many lines")]
    TooManyLines,
    /// Over `SdpLimits::max_line_len`.
    #[error("line too long")]
    LineTooLong,
    /// Over `SdpLimits::max_media`.
    #[error("too many media sections")]
    TooManyMedia,
    /// Over `SdpLimits::max_attributes`.
    #[error("too many attributes in one section")]
    TooManyAttributes,
    /// Over `SdpLimits::max_formats`.
    #[error("too many formats on one m= line")]
    TooManyFormats,
    /// Not `<letter>=<value>` (RFC 8866 §5).
    #[error("not a <type>=<value> line")]
    BadLine,
    /// The first line is not `v=` (§5.1).
    #[error("the description does not start with v=")]
    MissingVersion,
    /// `v=` other than 0 (§5.1).
    #[error("unsupported SDP version")]
    UnsupportedVersion,
    /// No `o=` line (§5.2).
    #[error("missing o= line")]
    MissingOrigin,
    /// Malformed `o=` (§5.2).
    #[error("malformed o= line")]
    BadOrigin,
    /// No `s=` line (§5.3).
    #[error("missing s= line")]
    MissingSessionName,
    /// Malformed `c=` (§5.7).
    #[error("malformed c= line")]
    BadConnection,
    /// Malformed `b=` (§5.8).
    #[error("malformed b= line")]
    BadBandwidth,
    /// Malformed `t=` (§5.9).
    #[error("malformed t= line")]
    BadTiming,
    /// Malformed `m=` (§5.14).
    #[error("malformed m= line")]
    BadMedia,
    /// Malformed `a=rtpmap` (§6.6).
    #[error("malformed a=rtpmap")]
    BadRtpmap,
    /// Malformed `a=fmtp` (§6.15).
    #[error("malformed a=fmtp")]
    BadFmtp,
    /// Malformed `a=ptime` (§6.4).
    #[error("malformed a=ptime")]
    BadPtime,
}

fn err(line: usize, kind: SdpErrorKind) -> SdpError {
    SdpError { line, kind }
}

/// Checks the whole-description bounds and UTF-8.
pub(super) fn text<'a>(bytes: &'a [u8], limits: &SdpLimits) -> Result<&'a str, SdpError> {
    if bytes.len() > limits.max_bytes {
        return Err(err(0, SdpErrorKind::TooLarge));
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        err(line, SdpErrorKind::NotUtf8)
    })
}
