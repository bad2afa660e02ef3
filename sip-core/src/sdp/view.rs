//! The borrowing parse (RFC 8866 §5, §9): [`SdpView`] checks a description exactly as
//! [`SessionDescription::parse`](super::SessionDescription::parse) does (same leniency, same
//! typed errors, same [`SdpLimits`]) but keeps every field as a `&str` into the received
//! text, so reading an offer and answering it costs no allocation per field. The owned
//! [`Session`] is built from a view only when it is wanted (to keep, or to edit).
//!
//! A view made from an owned [`Session`] ([`Session::view`]) borrows its strings instead,
//! so the answerer's rules run on one type whichever form the offer is in.

use super::media::{CodecRef, codec_in, parse_ptime};
use super::parse::{SdpError, SdpErrorKind, SdpLimits};
use super::{
    Attribute, Bandwidth, Connection, Direction, Fmtp, MediaDescription, Origin, OtherLine,
    Session, Timing,
};
use super::{split_byte, split_bytes};

/// `o=`, borrowed (RFC 8866 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OriginView<'a> {
    /// The user's login, or `-`.
    pub username: &'a str,
    /// The session id (digits).
    pub session_id: &'a str,
    /// The session version.
    pub session_version: u64,
    /// `IN`.
    pub net_type: &'a str,
    /// `IP4` or `IP6`.
    pub addr_type: &'a str,
    /// The originator's address.
    pub address: &'a str,
}

/// `c=`, borrowed (RFC 8866 §5.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionView<'a> {
    /// `IN`.
    pub net_type: &'a str,
    /// `IP4` or `IP6`.
    pub addr_type: &'a str,
    /// The address, possibly with `/ttl` and `/count`.
    pub address: &'a str,
}

impl ConnectionView<'_> {
    /// The address as an IP address (without `/ttl` or `/count`), when it is one.
    pub fn ip_addr(&self) -> Option<std::net::IpAddr> {
        split_bytes(self.address, b'/').next()?.parse().ok()
    }

    fn owned(&self) -> Connection {
        Connection {
            net_type: self.net_type.to_owned(),
            addr_type: self.addr_type.to_owned(),
            address: self.address.to_owned(),
        }
    }
}

impl<'a> From<&'a Connection> for ConnectionView<'a> {
    fn from(c: &'a Connection) -> Self {
        ConnectionView {
            net_type: &c.net_type,
            addr_type: &c.addr_type,
            address: &c.address,
        }
    }
}

/// Where the lines of a section are: in the received text (already checked), or in an
/// owned section's attribute list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lines<'a> {
    Text(&'a str),
    Owned(&'a [Attribute]),
}

/// The formats of an `m=` line: the text after the protocol, or an owned list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Formats<'a> {
    Text(&'a str),
    Owned(&'a [String]),
}

/// The non-empty lines of checked text, without their CR LF or LF.
fn text_lines(text: &str) -> TextLines<'_> {
    TextLines(text)
}

struct TextLines<'a>(&'a str);

impl<'a> Iterator for TextLines<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        loop {
            if self.0.is_empty() {
                return None;
            }
            let (raw, rest) = match memchr::memchr(b'\n', self.0.as_bytes()) {
                Some(i) => (&self.0[..i], &self.0[i + 1..]),
                None => (self.0, ""),
            };
            self.0 = rest;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            if !line.is_empty() {
                return Some(line);
            }
        }
    }
}

/// Splits the text after `a=` at its first colon: `(name, value)`.
fn split_attribute(text: &str) -> (&str, Option<&str>) {
    match split_byte(text, b':') {
        Some((n, v)) => (n, Some(v)),
        None => (text, None),
    }
}

impl<'a> Lines<'a> {
    fn attributes(self) -> impl Iterator<Item = (&'a str, Option<&'a str>)> {
        let (text, owned) = match self {
            Lines::Text(t) => (Some(t), None),
            Lines::Owned(a) => (None, Some(a)),
        };
        let from_text = text
            .into_iter()
            .flat_map(text_lines)
            .filter_map(|l| l.strip_prefix("a="))
            .map(split_attribute);
        let from_owned = owned
            .into_iter()
            .flatten()
            .map(|a| (a.name.as_str(), a.value.as_deref()));
        from_text.chain(from_owned)
    }

    fn direction(self) -> Option<Direction> {
        self.attributes()
            .filter(|(_, v)| v.is_none())
            .filter_map(|(n, _)| Direction::from_name(n))
            .last()
    }
}

/// One media section, borrowed (RFC 8866 §5.14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaView<'a> {
    /// `audio`, `video`, ...
    pub media: &'a str,
    /// The transport port; 0 for a rejected or disabled stream.
    pub port: u16,
    /// The number of ports, when given.
    pub port_count: Option<u16>,
    /// The transport protocol.
    pub protocol: &'a str,
    /// The section's first `c=`.
    pub connection: Option<ConnectionView<'a>>,
    formats: Formats<'a>,
    lines: Lines<'a>,
}

impl<'a> MediaView<'a> {
    /// The formats in order.
    pub fn formats(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        let (text, owned) = match self.formats {
            Formats::Text(t) => (Some(t), None),
            Formats::Owned(f) => (None, Some(f)),
        };
        text.into_iter()
            .flat_map(|t| split_bytes(t, b' ').filter(|f| !f.is_empty()))
            .chain(owned.into_iter().flatten().map(String::as_str))
    }

    /// The formats that are payload type numbers.
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + use<'a> {
        self.formats().filter_map(|f| f.parse().ok())
    }

    /// The `a=` lines as `(name, value)`, in order.
    pub fn attributes(&self) -> impl Iterator<Item = (&'a str, Option<&'a str>)> + use<'a> {
        self.lines.attributes()
    }

    /// The section's own direction attribute, if any (the last wins).
    pub fn direction(&self) -> Option<Direction> {
        self.lines.direction()
    }

    /// `a=ptime` in milliseconds.
    pub fn ptime(&self) -> Option<u32> {
        self.attributes()
            .find(|(n, _)| *n == "ptime")
            .and_then(|(_, v)| parse_ptime(v?))
    }

    /// The codec payload type `pt` names: its `rtpmap`, else RFC 3551's static one.
    pub(crate) fn codec_ref(&self, pt: u8) -> Option<CodecRef<'a>> {
        codec_in(self.attributes(), pt)
    }

    /// What an answerer reads from the section's attributes, in one pass.
    pub(crate) fn summary(&self) -> MediaSummary<'a> {
        let mut s = MediaSummary {
            rtpmaps: [None; RTPMAPS],
            len: 0,
            complete: true,
            ptime: None,
            direction: None,
        };
        for (name, value) in self.attributes() {
            match (name, value) {
                ("rtpmap", Some(v)) => {
                    let Some((pt, c)) = super::media::parse_rtpmap(v) else {
                        continue;
                    };
                    if s.rtpmaps[..s.len].iter().flatten().any(|(p, _)| *p == pt) {
                        continue; // the first rtpmap of a payload type counts
                    }
                    match s.rtpmaps.get_mut(s.len) {
                        Some(slot) => {
                            *slot = Some((pt, c));
                            s.len += 1;
                        }
                        None => s.complete = false,
                    }
                }
                ("ptime", Some(v)) if s.ptime.is_none() => s.ptime = parse_ptime(v),
                (n, None) => {
                    if let Some(d) = Direction::from_name(n) {
                        s.direction = Some(d);
                    }
                }
                _ => {}
            }
        }
        s
    }
}

/// The `rtpmap`s a summary holds before it falls back to searching the section.
const RTPMAPS: usize = 16;

/// A media section's `rtpmap`s (the first of each payload type), `ptime` and direction,
/// read in one pass over its lines.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MediaSummary<'a> {
    rtpmaps: [Option<(u8, CodecRef<'a>)>; RTPMAPS],
    len: usize,
    /// Whether every rtpmap fitted.
    complete: bool,
    /// `a=ptime` (the first).
    pub ptime: Option<u32>,
    /// The section's own direction attribute (the last).
    pub direction: Option<Direction>,
}

impl<'a> MediaSummary<'a> {
    /// [`MediaView::codec_ref`] from the summary (searching `m` only when it overflowed).
    pub(crate) fn codec(&self, m: &MediaView<'a>, pt: u8) -> Option<CodecRef<'a>> {
        let found = self.rtpmaps[..self.len]
            .iter()
            .flatten()
            .find(|(p, _)| *p == pt)
            .map(|(_, c)| *c);
        match found {
            Some(c) => Some(c),
            None if self.complete => super::media::static_codec(pt),
            None => m.codec_ref(pt),
        }
    }
}

/// A session description read in place: typed fields borrowing the text (or an owned
/// [`Session`]). Made by [`SdpView::parse`] or [`Session::view`].
///
/// ```
/// use sip_core::sdp::SdpView;
///
/// let text = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
///             m=audio 49170 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";
/// let v = SdpView::parse(text.as_bytes()).unwrap();
/// assert_eq!(v.media[0].port, 49170);
/// assert_eq!(v.media[0].payload_types().collect::<Vec<_>>(), [0, 101]);
/// assert_eq!(v.to_session().media[0].formats, ["0", "101"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdpView<'a> {
    /// `o=`.
    pub origin: OriginView<'a>,
    /// `s=`.
    pub session_name: &'a str,
    /// The session-level `c=`.
    pub connection: Option<ConnectionView<'a>>,
    /// The media sections.
    pub media: Vec<MediaView<'a>>,
    lines: Lines<'a>,
}

impl<'a> SdpView<'a> {
    /// Checks and reads `bytes` with the default limits.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, SdpError> {
        Self::parse_with(bytes, &SdpLimits::default())
    }

    /// Checks and reads `bytes` within `limits` (see the `parse` module for the rules).
    pub fn parse_with(bytes: &'a [u8], limits: &SdpLimits) -> Result<Self, SdpError> {
        let text = super::parse::text(bytes, limits)?;
        parse_text(text, limits)
    }

    /// The session-level `a=` lines as `(name, value)`, in order.
    pub fn attributes(&self) -> impl Iterator<Item = (&'a str, Option<&'a str>)> + use<'a> {
        self.lines.attributes()
    }

    /// The direction of media section `i`: its own attribute, else the session's, else
    /// sendrecv (RFC 8866 §6.7). `None` when there is no such section.
    pub fn media_direction(&self, i: usize) -> Option<Direction> {
        let m = self.media.get(i)?;
        Some(self.direction_or_session(m.direction()))
    }

    /// A section's own direction, else the session's, else sendrecv.
    pub(crate) fn direction_or_session(&self, own: Option<Direction>) -> Direction {
        own.or_else(|| self.lines.direction())
            .unwrap_or(Direction::SendRecv)
    }

    /// The `c=` that applies to media section `i`: its own, else the session's.
    pub fn media_connection(&self, i: usize) -> Option<ConnectionView<'a>> {
        let m = self.media.get(i)?;
        m.connection.or(self.connection)
    }

    /// The owned fields (one `String` per field), as
    /// [`SessionDescription::parse`](super::SessionDescription::parse) keeps them.
    pub fn to_session(&self) -> Session {
        let o = &self.origin;
        let mut s = Session {
            version: 0,
            origin: Origin {
                username: o.username.to_owned(),
                session_id: o.session_id.to_owned(),
                session_version: o.session_version,
                net_type: o.net_type.to_owned(),
                addr_type: o.addr_type.to_owned(),
                address: o.address.to_owned(),
            },
            session_name: self.session_name.to_owned(),
            connection: self.connection.map(|c| c.owned()),
            bandwidths: Vec::new(),
            timing: Vec::new(),
            attributes: Vec::new(),
            other: Vec::new(),
            media: Vec::with_capacity(self.media.len()),
        };
        match self.lines {
            Lines::Owned(a) => s.attributes = a.to_vec(),
            Lines::Text(t) => {
                // The first o=, s= and c= are the fields; repeats are kept as other lines.
                let (mut o_seen, mut s_seen, mut c_seen) = (false, false, false);
                for l in text_lines(t) {
                    let (kind, value) = (l.as_bytes()[0], &l[2..]);
                    match kind {
                        b'o' if !o_seen => o_seen = true,
                        b's' if !s_seen => s_seen = true,
                        b'c' if !c_seen => c_seen = true,
                        b'b' => s.bandwidths.extend(parse_bandwidth(value)),
                        b't' => s.timing.extend(parse_timing(value)),
                        b'a' => s.attributes.push(Attribute::from_line(value)),
                        _ => s.other.push(other(kind, value)),
                    }
                }
            }
        }
        for m in &self.media {
            let formats = m.formats().map(str::to_owned).collect();
            let mut d = MediaDescription::new(m.media, m.port, m.protocol, formats);
            d.port_count = m.port_count;
            d.connection = m.connection.map(|c| c.owned());
            match m.lines {
                Lines::Owned(a) => d.attributes = a.to_vec(),
                Lines::Text(t) => {
                    let mut c_seen = false;
                    for l in text_lines(t) {
                        let (kind, value) = (l.as_bytes()[0], &l[2..]);
                        match kind {
                            b'c' if !c_seen => c_seen = true,
                            b'b' => d.bandwidths.extend(parse_bandwidth(value)),
                            b'a' => d.attributes.push(Attribute::from_line(value)),
                            _ => d.other.push(other(kind, value)),
                        }
                    }
                }
            }
            s.media.push(d);
        }
        s
    }
}

fn other(kind: u8, value: &str) -> OtherLine {
    OtherLine {
        kind,
        value: value.to_owned(),
    }
}

impl Session {
    /// A view borrowing these fields, for the code that reads offers in either form.
    pub fn view(&self) -> SdpView<'_> {
        let o = &self.origin;
        SdpView {
            origin: OriginView {
                username: &o.username,
                session_id: &o.session_id,
                session_version: o.session_version,
                net_type: &o.net_type,
                addr_type: &o.addr_type,
                address: &o.address,
            },
            session_name: &self.session_name,
            connection: self.connection.as_ref().map(ConnectionView::from),
            media: self
                .media
                .iter()
                .map(|m| MediaView {
                    media: &m.media,
                    port: m.port,
                    port_count: m.port_count,
                    protocol: &m.protocol,
                    connection: m.connection.as_ref().map(ConnectionView::from),
                    formats: Formats::Owned(&m.formats),
                    lines: Lines::Owned(&m.attributes),
                })
                .collect(),
            lines: Lines::Owned(&self.attributes),
        }
    }
}

fn err(line: usize, kind: SdpErrorKind) -> SdpError {
    SdpError { line, kind }
}

/// The line-by-line check, recording where the session part and each media section's
/// lines are; nothing is copied.
pub(super) fn parse_text<'a>(text: &'a str, limits: &SdpLimits) -> Result<SdpView<'a>, SdpError> {
    use SdpErrorKind::*;
    let mut version_seen = false;
    let mut origin = None;
    let mut session_name = None;
    let mut connection = None;
    let mut session_end = text.len();
    let mut session_start = 0;
    let mut media: Vec<MediaView<'a>> = Vec::with_capacity(2);
    // Where the current section's lines start, and how many attributes it has.
    let mut section_start = 0;
    let mut attributes = 0;
    let mut lines = 0;
    let mut pos = 0;
    let mut n = 0;
    while pos < text.len() {
        let rest = &text[pos..];
        let (raw, next) = match memchr::memchr(b'\n', rest.as_bytes()) {
            Some(i) => (&rest[..i], pos + i + 1),
            None => (rest, text.len()),
        };
        let start = pos;
        pos = next;
        n += 1;
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
        if !version_seen {
            if kind != b'v' {
                return Err(err(n, MissingVersion));
            }
            if value.trim() != "0" {
                return Err(err(n, UnsupportedVersion));
            }
            version_seen = true;
            session_start = pos;
            continue;
        }
        if kind == b'm' {
            if media.len() >= limits.max_media {
                return Err(err(n, TooManyMedia));
            }
            match media.last_mut() {
                None => session_end = start,
                Some(m) => m.lines = Lines::Text(&text[section_start..start]),
            }
            media.push(parse_media(value, limits).map_err(|k| err(n, k))?);
            section_start = pos;
            attributes = 0;
            continue;
        }
        let in_media = !media.is_empty();
        match kind {
            b'o' if !in_media && origin.is_none() => {
                origin = Some(parse_origin(value).ok_or(err(n, BadOrigin))?)
            }
            b's' if !in_media && session_name.is_none() => session_name = Some(value),
            b'c' => {
                let slot = match media.last_mut() {
                    None => &mut connection,
                    Some(m) => &mut m.connection,
                };
                if slot.is_none() {
                    *slot = Some(parse_connection(value).ok_or(err(n, BadConnection))?);
                }
            }
            b'b' => {
                parse_bandwidth(value).ok_or(err(n, BadBandwidth))?;
            }
            b't' if !in_media => {
                parse_timing(value).ok_or(err(n, BadTiming))?;
            }
            b'a' => {
                if attributes >= limits.max_attributes {
                    return Err(err(n, TooManyAttributes));
                }
                attributes += 1;
                check_attribute(value).map_err(|k| err(n, k))?;
            }
            _ => {}
        }
    }
    if !version_seen {
        return Err(err(1, Empty));
    }
    if let Some(m) = media.last_mut() {
        m.lines = Lines::Text(&text[section_start..]);
    }
    let session_end = session_end.max(session_start);
    Ok(SdpView {
        origin: origin.ok_or(err(0, MissingOrigin))?,
        session_name: session_name.ok_or(err(0, MissingSessionName))?,
        connection,
        media,
        lines: Lines::Text(&text[session_start..session_end]),
    })
}

/// The attributes an answerer reads must read as they say (§6.4, §6.6, §6.15).
fn check_attribute(value: &str) -> Result<(), SdpErrorKind> {
    match split_attribute(value) {
        ("rtpmap", v) if v.and_then(super::media::parse_rtpmap).is_none() => {
            Err(SdpErrorKind::BadRtpmap)
        }
        ("fmtp", v) if v.and_then(Fmtp::parse).is_none() => Err(SdpErrorKind::BadFmtp),
        ("ptime", v) if v.and_then(parse_ptime).is_none() => Err(SdpErrorKind::BadPtime),
        _ => Ok(()),
    }
}

/// Splits at single spaces into exactly `N` non-empty fields.
fn fields<const N: usize>(value: &str) -> Option<[&str; N]> {
    let mut out = [""; N];
    let mut it = split_bytes(value, b' ');
    for slot in &mut out {
        *slot = it.next().filter(|f| !f.is_empty())?;
    }
    it.next().is_none().then_some(out)
}

fn parse_origin(value: &str) -> Option<OriginView<'_>> {
    let [username, session_id, version, net_type, addr_type, address] = fields::<6>(value)?;
    if !session_id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(OriginView {
        username,
        session_id,
        session_version: version.parse().ok()?,
        net_type,
        addr_type,
        address,
    })
}

fn parse_connection(value: &str) -> Option<ConnectionView<'_>> {
    let [net_type, addr_type, address] = fields::<3>(value)?;
    Some(ConnectionView {
        net_type,
        addr_type,
        address,
    })
}

fn parse_bandwidth(value: &str) -> Option<Bandwidth> {
    let (kind, v) = split_byte(value, b':')?;
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

/// The next space-separated field and what follows it (repeated spaces tolerated).
fn next_field(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start_matches(' ');
    if s.is_empty() {
        return None;
    }
    let end = s.bytes().position(|c| c == b' ').unwrap_or(s.len());
    Some((&s[..end], &s[end..]))
}

fn parse_media<'a>(value: &'a str, limits: &SdpLimits) -> Result<MediaView<'a>, SdpErrorKind> {
    let bad = SdpErrorKind::BadMedia;
    let (media, rest) = next_field(value).ok_or(bad)?;
    let (port_field, rest) = next_field(rest).ok_or(bad)?;
    let (port, count) = match split_byte(port_field, b'/') {
        Some((p, c)) => (p, Some(c.parse().map_err(|_| bad)?)),
        None => (port_field, None),
    };
    let port: u16 = port.parse().map_err(|_| bad)?;
    let (protocol, formats) = next_field(rest).ok_or(bad)?;
    let count_formats = split_bytes(formats, b' ').filter(|f| !f.is_empty()).count();
    if count_formats > limits.max_formats {
        return Err(SdpErrorKind::TooManyFormats);
    }
    // §5.14: at least one format.
    if count_formats == 0 {
        return Err(bad);
    }
    Ok(MediaView {
        media,
        port,
        port_count: count,
        protocol,
        connection: None,
        formats: Formats::Text(formats),
        lines: Lines::Text(""),
    })
}
