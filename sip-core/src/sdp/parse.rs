//! The parser (RFC 8866 §5, §9): one pass over the lines, lenient where a peer's slip is
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

use super::media::parse_ptime;
use super::{
    Attribute, Bandwidth, Connection, Fmtp, MediaDescription, Origin, OtherLine, Session, Timing,
};

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

/// Parses checked text into its fields.
pub(super) fn parse(text: &str, limits: &SdpLimits) -> Result<Session, SdpError> {
    use SdpErrorKind::*;
    let mut version = None;
    let mut origin = None;
    let mut session_name = None;
    let mut connection = None;
    let mut bandwidths = Vec::new();
    let mut timing = Vec::new();
    let mut attributes = Vec::new();
    let mut other = Vec::new();
    let mut media: Vec<MediaDescription> = Vec::new();
    let mut lines = 0;
    for (i, raw) in text.split('\n').enumerate() {
        let n = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.is_empty() {
            continue;
        }
        lines += 1;
        if lines > limits.max_lines {
            return Err(err(n, TooManyLines));
        }
        if line.len() > limits.max_line_len {
            return Err(err(n, LineTooLong));
        }
        let b = line.as_bytes();
        if b.len() < 2 || b[1] != b'=' || !b[0].is_ascii_alphabetic() {
            return Err(err(n, BadLine));
        }
        let (kind, value) = (b[0], &line[2..]);
        if version.is_none() {
            if kind != b'v' {
                return Err(err(n, MissingVersion));
            }
            if value.trim() != "0" {
                return Err(err(n, UnsupportedVersion));
            }
            version = Some(0);
            continue;
        }
        if kind == b'm' {
            if media.len() >= limits.max_media {
                return Err(err(n, TooManyMedia));
            }
            media.push(parse_media(value, limits).map_err(|k| err(n, k))?);
            continue;
        }
        match media.last_mut() {
            None => match kind {
                b'o' if origin.is_none() => {
                    origin = Some(parse_origin(value).ok_or(err(n, BadOrigin))?)
                }
                b's' if session_name.is_none() => session_name = Some(value.to_owned()),
                b'c' if connection.is_none() => {
                    connection = Some(parse_connection(value).ok_or(err(n, BadConnection))?)
                }
                b'b' => bandwidths.push(parse_bandwidth(value).ok_or(err(n, BadBandwidth))?),
                b't' => timing.push(parse_timing(value).ok_or(err(n, BadTiming))?),
                b'a' => push_attribute(&mut attributes, value, limits).map_err(|k| err(n, k))?,
                _ => other.push(OtherLine {
                    kind,
                    value: value.to_owned(),
                }),
            },
            Some(m) => match kind {
                b'c' if m.connection.is_none() => {
                    m.connection = Some(parse_connection(value).ok_or(err(n, BadConnection))?)
                }
                b'b' => m
                    .bandwidths
                    .push(parse_bandwidth(value).ok_or(err(n, BadBandwidth))?),
                b'a' => push_attribute(&mut m.attributes, value, limits).map_err(|k| err(n, k))?,
                _ => m.other.push(OtherLine {
                    kind,
                    value: value.to_owned(),
                }),
            },
        }
    }
    if version.is_none() {
        return Err(err(1, Empty));
    }
    Ok(Session {
        version: 0,
        origin: origin.ok_or(err(0, MissingOrigin))?,
        session_name: session_name.ok_or(err(0, MissingSessionName))?,
        connection,
        bandwidths,
        timing,
        attributes,
        other,
        media,
    })
}

fn push_attribute(
    attrs: &mut Vec<Attribute>,
    value: &str,
    limits: &SdpLimits,
) -> Result<(), SdpErrorKind> {
    if attrs.len() >= limits.max_attributes {
        return Err(SdpErrorKind::TooManyAttributes);
    }
    let a = Attribute::from_line(value);
    // The attributes an answerer reads must read as they say (§6.4, §6.6, §6.15).
    match (a.name.as_str(), a.value.as_deref()) {
        ("rtpmap", v) if v.and_then(super::media::parse_rtpmap).is_none() => {
            return Err(SdpErrorKind::BadRtpmap);
        }
        ("fmtp", v) if v.and_then(Fmtp::parse).is_none() => return Err(SdpErrorKind::BadFmtp),
        ("ptime", v) if v.and_then(parse_ptime).is_none() => {
            return Err(SdpErrorKind::BadPtime);
        }
        _ => {}
    }
    attrs.push(a);
    Ok(())
}

/// Splits at single spaces into exactly `N` non-empty fields.
fn fields<const N: usize>(value: &str) -> Option<[&str; N]> {
    let mut out = [""; N];
    let mut it = value.split(' ');
    for slot in &mut out {
        *slot = it.next().filter(|f| !f.is_empty())?;
    }
    it.next().is_none().then_some(out)
}

fn parse_origin(value: &str) -> Option<Origin> {
    let [username, id, version, net, addr_type, address] = fields::<6>(value)?;
    if !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Origin {
        username: username.to_owned(),
        session_id: id.to_owned(),
        session_version: version.parse().ok()?,
        net_type: net.to_owned(),
        addr_type: addr_type.to_owned(),
        address: address.to_owned(),
    })
}

fn parse_connection(value: &str) -> Option<Connection> {
    let [net, addr_type, address] = fields::<3>(value)?;
    Some(Connection {
        net_type: net.to_owned(),
        addr_type: addr_type.to_owned(),
        address: address.to_owned(),
    })
}

fn parse_bandwidth(value: &str) -> Option<Bandwidth> {
    let (kind, v) = value.split_once(':')?;
    if kind.is_empty() {
        return None;
    }
    Some(Bandwidth {
        kind: kind.to_owned(),
        value: v.trim().parse().ok()?,
    })
}

fn parse_timing(value: &str) -> Option<Timing> {
    let [start, stop] = fields::<2>(value)?;
    Some(Timing {
        start: start.parse().ok()?,
        stop: stop.parse().ok()?,
    })
}

fn parse_media(value: &str, limits: &SdpLimits) -> Result<MediaDescription, SdpErrorKind> {
    let bad = SdpErrorKind::BadMedia;
    let mut it = value.split(' ').filter(|f| !f.is_empty());
    let media = it.next().ok_or(bad)?;
    let port_field = it.next().ok_or(bad)?;
    let (port, count) = match port_field.split_once('/') {
        Some((p, c)) => (p, Some(c.parse().map_err(|_| bad)?)),
        None => (port_field, None),
    };
    let port: u16 = port.parse().map_err(|_| bad)?;
    let protocol = it.next().ok_or(bad)?;
    let mut formats = Vec::new();
    for f in it {
        if formats.len() >= limits.max_formats {
            return Err(SdpErrorKind::TooManyFormats);
        }
        formats.push(f.to_owned());
    }
    // §5.14: at least one format.
    if formats.is_empty() {
        return Err(bad);
    }
    let mut m = MediaDescription::new(media, port, protocol, formats);
    m.port_count = count;
    Ok(m)
}
