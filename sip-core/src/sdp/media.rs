//! Media descriptions (`m=` and the lines after it, RFC 8866 §5.14) and the RTP attributes
//! an answerer reads: `rtpmap` (§6.6), `fmtp` (§6.15), `ptime` (§6.4).

use super::{Attribute, Bandwidth, Connection, Direction, OtherLine};

/// One media section: `m=<media> <port>[/<count>] <proto> <fmt> ...` and its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// `audio`, `video`, `text`, `application`, `message`, or another token.
    pub media: String,
    /// The transport port; 0 marks a rejected or disabled stream (RFC 3264 §6, §8.2).
    pub port: u16,
    /// The number of ports (`m=video 49170/2 ...`), when given.
    pub port_count: Option<u16>,
    /// The transport protocol (`RTP/AVP`, `RTP/SAVP`, `udp`, ...).
    pub protocol: String,
    /// The media formats: RTP payload type numbers for RTP protocols.
    pub formats: Vec<String>,
    /// `c=` of this section (the first one, when several are given).
    pub connection: Option<Connection>,
    /// `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// `a=` lines in order, direction attributes included.
    pub attributes: Vec<Attribute>,
    /// Lines kept without interpretation (`i=`, `k=`, further `c=`, unknown letters).
    pub other: Vec<OtherLine>,
}

impl MediaDescription {
    /// A section with no lines after `m=`.
    pub fn new(media: &str, port: u16, protocol: &str, formats: Vec<String>) -> Self {
        MediaDescription {
            media: media.to_owned(),
            port,
            port_count: None,
            protocol: protocol.to_owned(),
            formats,
            connection: None,
            bandwidths: Vec::new(),
            attributes: Vec::new(),
            other: Vec::new(),
        }
    }

    /// Whether the protocol is an RTP profile (its formats are payload type numbers).
    pub fn is_rtp(&self) -> bool {
        self.protocol.starts_with("RTP/")
    }

    /// The direction attribute of this section, if it has one (the last wins).
    pub fn direction(&self) -> Option<Direction> {
        self.attributes.iter().rev().find_map(Attribute::direction)
    }

    /// Replaces any direction attribute by `d` (in the place of the first one, else last).
    pub fn set_direction(&mut self, d: Direction) {
        set_direction(&mut self.attributes, d);
    }

    /// The first attribute named `name`.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// The `rtpmap` of payload type `pt`, if present and well-formed.
    pub fn rtpmap(&self, pt: u8) -> Option<Rtpmap> {
        self.rtpmaps().find(|r| r.payload_type == pt)
    }

    /// Every well-formed `rtpmap`.
    pub fn rtpmaps(&self) -> impl Iterator<Item = Rtpmap> + '_ {
        self.attributes
            .iter()
            .filter(|a| a.name == "rtpmap")
            .filter_map(|a| Rtpmap::parse(a.value.as_deref()?))
    }

    /// The `fmtp` parameters of payload type `pt`.
    pub fn fmtp(&self, pt: u8) -> Option<Fmtp<'_>> {
        self.attributes
            .iter()
            .filter(|a| a.name == "fmtp")
            .filter_map(|a| Fmtp::parse(a.value.as_deref()?))
            .find(|f| f.payload_type == pt)
    }

    /// `a=ptime` in milliseconds.
    pub fn ptime(&self) -> Option<u32> {
        parse_ptime(self.attribute("ptime")?.value.as_deref()?)
    }

    /// The payload types of the formats (RTP profiles only; formats that are not numbers
    /// are skipped).
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats.iter().filter_map(|f| f.parse().ok())
    }

    /// The codec a payload type names: its `rtpmap`, else the static assignment of RFC
    /// 3551 §6 for 0–95.
    pub fn codec(&self, pt: u8) -> Option<Rtpmap> {
        self.codec_ref(pt).map(|c| c.owned(pt))
    }

    /// [`MediaDescription::codec`] without copying the encoding name.
    pub(crate) fn codec_ref(&self, pt: u8) -> Option<CodecRef<'_>> {
        codec_in(
            self.attributes
                .iter()
                .map(|a| (a.name.as_str(), a.value.as_deref())),
            pt,
        )
    }
}

/// The codec payload type `pt` names among `attributes` (`(name, value)` pairs): its
/// `rtpmap` (RFC 8866 §6.6), else the static assignment of RFC 3551 §6.
pub(crate) fn codec_in<'a>(
    attributes: impl Iterator<Item = (&'a str, Option<&'a str>)>,
    pt: u8,
) -> Option<CodecRef<'a>> {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(pt).as_bytes();
    // Only the rtpmap of `pt` is parsed: the others are told apart by their first bytes.
    let of_pt = |v: &str| {
        let v = v.as_bytes();
        v.starts_with(digits) && v.get(digits.len()) == Some(&b' ')
    };
    attributes
        .filter(|(n, _)| *n == "rtpmap")
        .filter_map(|(_, v)| v.filter(|v| of_pt(v)))
        .find_map(parse_rtpmap)
        .map(|(_, c)| c)
        .or_else(|| static_codec(pt))
}

/// A codec named by an `rtpmap` or the static table, borrowed from where it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CodecRef<'a> {
    pub encoding: &'a str,
    pub clock_rate: u32,
    pub channels: Option<u16>,
}

impl CodecRef<'_> {
    pub(crate) fn owned(self, payload_type: u8) -> Rtpmap {
        Rtpmap {
            payload_type,
            encoding: self.encoding.to_owned(),
            clock_rate: self.clock_rate,
            channels: self.channels,
        }
    }
}

/// Parses the value after `a=rtpmap:` without copying.
pub(crate) fn parse_rtpmap(value: &str) -> Option<(u8, CodecRef<'_>)> {
    let (pt, rest) = super::split_byte(value, b' ')?;
    let payload_type: u8 = pt.parse().ok().filter(|p| *p <= 127)?;
    let mut parts = super::split_bytes(rest.trim(), b'/');
    let encoding = parts.next().filter(|e| !e.is_empty())?;
    let clock_rate = parts.next()?.parse().ok()?;
    let channels = match parts.next() {
        Some(c) => Some(c.parse().ok()?),
        None => None,
    };
    if parts.next().is_some() {
        return None;
    }
    Some((
        payload_type,
        CodecRef {
            encoding,
            clock_rate,
            channels,
        },
    ))
}

/// Sets the direction among `attrs`: the first direction attribute becomes `d`, any later
/// ones go; with none, `d` is appended.
pub(crate) fn set_direction(attrs: &mut Vec<Attribute>, d: Direction) {
    let mut seen = false;
    attrs.retain_mut(|a| {
        if a.direction().is_none() {
            return true;
        }
        if seen {
            return false;
        }
        seen = true;
        *a = Attribute::property(d.name());
        true
    });
    if !seen {
        attrs.push(Attribute::property(d.name()));
    }
}

/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]`
/// (RFC 8866 §6.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rtpmap {
    /// The payload type (0–127).
    pub payload_type: u8,
    /// The encoding name as written (`PCMU`, `opus`, `telephone-event`).
    pub encoding: String,
    /// The RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Encoding parameters: the channel count for audio, when given.
    pub channels: Option<u16>,
}

impl Rtpmap {
    /// Parses the value after `a=rtpmap:`.
    pub fn parse(value: &str) -> Option<Self> {
        parse_rtpmap(value).map(|(pt, c)| c.owned(pt))
    }

    /// The value after `a=rtpmap:`.
    pub fn to_value(&self) -> String {
        rtpmap_value(
            self.payload_type,
            &self.encoding,
            self.clock_rate,
            self.channels,
        )
    }

    /// Whether both name the same codec: encoding name (case-insensitive, RFC 8866 §6.6),
    /// clock rate, and channel count (1 when not given).
    pub fn same_codec(&self, other: &Rtpmap) -> bool {
        self.encoding.eq_ignore_ascii_case(&other.encoding)
            && self.clock_rate == other.clock_rate
            && self.channels.unwrap_or(1) == other.channels.unwrap_or(1)
    }
}

/// `<pt> <encoding>/<clock rate>[/<channels>]`, the value of an `a=rtpmap`.
pub(crate) fn rtpmap_value(
    pt: u8,
    encoding: &str,
    clock_rate: u32,
    channels: Option<u16>,
) -> String {
    use crate::text::push_uint;
    let mut s = String::with_capacity(encoding.len() + 16);
    push_uint(&mut s, pt);
    s.push(' ');
    s.push_str(encoding);
    s.push('/');
    push_uint(&mut s, clock_rate);
    if let Some(c) = channels {
        s.push('/');
        push_uint(&mut s, c);
    }
    s
}

/// The static payload types of RFC 3551 §6 a telephone may meet without an `rtpmap`.
pub fn static_payload(pt: u8) -> Option<Rtpmap> {
    static_codec(pt).map(|c| c.owned(pt))
}

pub(crate) fn static_codec(pt: u8) -> Option<CodecRef<'static>> {
    let (encoding, clock_rate) = match pt {
        0 => ("PCMU", 8000),
        3 => ("GSM", 8000),
        4 => ("G723", 8000),
        5 => ("DVI4", 8000),
        6 => ("DVI4", 16000),
        7 => ("LPC", 8000),
        8 => ("PCMA", 8000),
        9 => ("G722", 8000),
        10 | 11 => ("L16", 44100),
        12 => ("QCELP", 8000),
        13 => ("CN", 8000),
        15 => ("G728", 8000),
        18 => ("G729", 8000),
        _ => return None,
    };
    Some(CodecRef {
        encoding,
        clock_rate,
        channels: (pt == 10).then_some(2),
    })
}

/// `a=fmtp:<payload type> <parameters>` (RFC 8866 §6.15), parameters kept as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fmtp<'a> {
    /// The payload type.
    pub payload_type: u8,
    /// The format-specific parameters.
    pub params: &'a str,
}

impl<'a> Fmtp<'a> {
    /// Parses the value after `a=fmtp:`.
    pub fn parse(value: &'a str) -> Option<Self> {
        let (pt, params) = super::split_byte(value, b' ').unwrap_or((value, ""));
        Some(Fmtp {
            payload_type: pt.parse().ok().filter(|p| *p <= 127)?,
            params: params.trim(),
        })
    }
}

/// `a=ptime` in milliseconds (RFC 8866 §6.4 allows a decimal; its integer part is kept).
pub(crate) fn parse_ptime(v: &str) -> Option<u32> {
    let int = super::split_bytes(v, b'.').next()?;
    int.parse().ok().filter(|p| *p > 0)
}
