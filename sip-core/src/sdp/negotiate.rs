//! The offer/answer model (RFC 3264) over [`SessionDescription`]: the answer to an offer
//! from the application's capabilities (§6), a first offer (§5), the offers that put a
//! session on hold and take it off (§8.4), and the media both sides agreed on, per stream,
//! for the application's RTP.
//!
//! The rules applied, each in the function that applies it:
//! - one answer stream per offered stream, same order, same media type (§6);
//! - a stream nobody can use is answered with port 0 and the offered formats (§6, §8.2);
//! - codecs: the offerer's order, restricted to the answerer's; payload type numbers are the
//!   offerer's, matched by static number (RFC 3551 §6) or by `rtpmap` encoding name, clock
//!   rate and channels (RFC 8866 §6.6), so a dynamic type is mirrored too (§6.1);
//! - telephone-event (RFC 4733) rides along but makes no stream acceptable alone;
//! - direction: [`Direction::answer`] (§6.1); a stream offered with port 0 stays at port 0;
//! - the answerer's `o=` keeps its username and session id across the session and grows its
//!   version by one per new description (§5, §8): the caller passes the version.

use std::net::{IpAddr, SocketAddr};

use super::media::CodecRef;
use super::view::MediaSummary;
use super::{
    Attribute, Connection, Direction, MediaDescription, MediaView, Origin, SdpView, Session,
    SessionDescription,
};

/// A codec the application can send and receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Codec {
    /// The payload type it gets in our offers (the offerer's number is used in answers).
    pub payload_type: u8,
    /// Encoding name (`PCMU`, `telephone-event`).
    pub encoding: String,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Channels (audio), when not 1.
    pub channels: Option<u16>,
    /// `fmtp` parameters we send with it (`0-16` for telephone-event).
    pub fmtp: Option<String>,
}

impl Codec {
    /// G.711 µ-law, static payload type 0 (RFC 3551 §4.5.14).
    pub fn pcmu() -> Self {
        Codec::new(0, "PCMU", 8000)
    }
    /// G.711 A-law, static payload type 8.
    pub fn pcma() -> Self {
        Codec::new(8, "PCMA", 8000)
    }
    /// DTMF events (RFC 4733) at 8 kHz on dynamic payload type `pt`, events 0–16.
    pub fn telephone_event(pt: u8) -> Self {
        Codec {
            fmtp: Some("0-16".to_owned()),
            ..Codec::new(pt, "telephone-event", 8000)
        }
    }
    /// Any codec.
    pub fn new(payload_type: u8, encoding: &str, clock_rate: u32) -> Self {
        Codec {
            payload_type,
            encoding: encoding.to_owned(),
            clock_rate,
            channels: None,
            fmtp: None,
        }
    }

    /// Whether this is telephone-event, which carries no voice.
    pub fn is_dtmf(&self) -> bool {
        is_dtmf(&self.encoding)
    }

    fn matches(&self, r: &CodecRef<'_>) -> bool {
        self.encoding.eq_ignore_ascii_case(r.encoding)
            && self.clock_rate == r.clock_rate
            && self.channels.unwrap_or(1) == r.channels.unwrap_or(1)
    }

    fn rtpmap_value(&self, pt: u8) -> String {
        super::media::rtpmap_value(pt, &self.encoding, self.clock_rate, self.channels)
    }

    /// `<pt> <fmtp>`, the value of its `a=fmtp` on payload type `pt`.
    fn fmtp_value(&self, pt: u8) -> Option<String> {
        let p = self.fmtp.as_deref()?;
        let mut s = String::with_capacity(p.len() + 4);
        crate::text::push_uint(&mut s, pt);
        s.push(' ');
        s.push_str(p);
        Some(s)
    }
}

fn is_dtmf(encoding: &str) -> bool {
    encoding.eq_ignore_ascii_case("telephone-event")
}

/// What the application takes for one media type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamCapability {
    /// `audio`, `video`, ...
    pub media: String,
    /// The transport protocol (`RTP/AVP`).
    pub protocol: String,
    /// Where we receive RTP.
    pub port: u16,
    /// The codecs, ours in order of preference.
    pub codecs: Vec<Codec>,
    /// `a=ptime` we ask for, if any.
    pub ptime: Option<u32>,
    /// The direction we want (sendrecv normally).
    pub direction: Direction,
}

impl StreamCapability {
    /// An RTP/AVP audio stream on `port` with `codecs`, sendrecv.
    pub fn audio(port: u16, codecs: Vec<Codec>) -> Self {
        StreamCapability {
            media: "audio".to_owned(),
            protocol: "RTP/AVP".to_owned(),
            port,
            codecs,
            ptime: None,
            direction: Direction::SendRecv,
        }
    }
}

/// The application's media: its address, its `o=` identity, what it takes per media type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMedia {
    /// The address we receive media on (`c=`, and `o=`'s address).
    pub address: IpAddr,
    /// `o=` username (`-` when none).
    pub username: String,
    /// `o=` session id, fixed for the session (RFC 8866 §5.2).
    pub session_id: u64,
    /// One capability per media type; an offered stream of another type is rejected.
    pub streams: Vec<StreamCapability>,
}

impl LocalMedia {
    /// Audio at `address:port` with PCMU, PCMA and telephone-event on 101: a telephone's
    /// usual set.
    pub fn telephone(address: IpAddr, port: u16, session_id: u64) -> Self {
        LocalMedia {
            address,
            username: "-".to_owned(),
            session_id,
            streams: vec![StreamCapability::audio(
                port,
                vec![Codec::pcmu(), Codec::pcma(), Codec::telephone_event(101)],
            )],
        }
    }

    fn origin(&self, version: u64) -> Origin {
        let mut session_id = String::with_capacity(20);
        crate::text::push_uint(&mut session_id, self.session_id);
        let mut address = String::with_capacity(15);
        crate::text::push_ip(&mut address, self.address);
        Origin {
            username: self.username.clone(),
            session_id,
            session_version: version,
            net_type: "IN".to_owned(),
            addr_type: if self.address.is_ipv4() { "IP4" } else { "IP6" }.to_owned(),
            address,
        }
    }

    /// A description with our origin and connection, no media yet.
    fn session(&self, version: u64) -> Session {
        let origin = self.origin(version);
        let connection = Connection {
            net_type: "IN".to_owned(),
            addr_type: origin.addr_type.clone(),
            address: origin.address.clone(),
        };
        Session {
            connection: Some(connection),
            ..Session::new(origin)
        }
    }
}

/// The media agreed for one stream: what the application's RTP needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedMedia {
    /// The stream's index (its `m=` line, from 0).
    pub index: usize,
    /// `audio`, `video`, ...
    pub media: String,
    /// Where the peer receives RTP (its `c=` and port).
    pub remote: SocketAddr,
    /// Our port.
    pub local_port: u16,
    /// The payload type to send with.
    pub payload_type: u8,
    /// Its encoding name.
    pub codec: String,
    /// Its clock rate.
    pub clock_rate: u32,
    /// Its channels, when given.
    pub channels: Option<u16>,
    /// The packet time the peer asked for (`a=ptime`), if it did.
    pub ptime: Option<u32>,
    /// Our direction for the stream: whether we send and receive.
    pub direction: Direction,
    /// The telephone-event payload type agreed, if any (RFC 4733).
    pub telephone_event: Option<u8>,
}

/// Why an offer got no answer (RFC 3261 §13.3.1.3: 488, with the Warning of §20.43).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NegotiationError {
    /// No offered stream has a media type (and protocol) we take: Warning 304.
    #[error("no offered media type is available")]
    MediaTypeNotAvailable,
    /// Streams of our media types were offered, but with no codec in common: Warning 305.
    #[error("no offered media format is compatible")]
    IncompatibleMediaFormat,
}

impl NegotiationError {
    /// The warning code of RFC 3261 §20.43 for the 488.
    pub fn warn_code(self) -> u16 {
        match self {
            NegotiationError::MediaTypeNotAvailable => 304,
            NegotiationError::IncompatibleMediaFormat => 305,
        }
    }

    /// The Warning header value, `<code> <agent> "<text>"`, with `agent` (our host).
    pub fn warning(self, agent: &str) -> String {
        let text = match self {
            NegotiationError::MediaTypeNotAvailable => "Media type not available",
            NegotiationError::IncompatibleMediaFormat => "Incompatible media format",
        };
        format!("{} {} \"{}\"", self.warn_code(), agent, text)
    }
}

/// An answer and what it agreed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The answer to send.
    pub sdp: SessionDescription,
    /// The media agreed, one entry per accepted stream.
    pub media: Vec<NegotiatedMedia>,
}

/// Answers `offer` with `local`'s capabilities and `o=` version `version` (RFC 3264 §6).
/// Each media type is accepted once, on its first acceptable stream (its port is ours);
/// further streams of that type are rejected with port 0. `Err` when no stream is
/// acceptable: the INVITE then gets 488 with the error's Warning.
pub fn answer(
    offer: &Session,
    local: &LocalMedia,
    version: u64,
) -> Result<Answer, NegotiationError> {
    let mut sdp = local.session(version);
    sdp.media.reserve(offer.media.len());
    let mut used = Vec::new();
    let mut type_seen = false;
    for (i, m) in offer.media.iter().enumerate() {
        let cap = local
            .streams
            .iter()
            .enumerate()
            .find(|(_, c)| c.media == m.media && c.protocol == m.protocol);
        type_seen |= cap.is_some();
        let accepted = match cap {
            Some((ci, cap)) if m.port != 0 && !used.contains(&ci) => {
                let wanted = offer.media_direction(i).unwrap_or(Direction::SendRecv);
                answer_stream(m, cap, wanted.answer(cap.direction)).inspect(|_| used.push(ci))
            }
            _ => None,
        };
        sdp.media.push(accepted.unwrap_or_else(|| rejected(m)));
    }
    if used.is_empty() {
        return Err(if type_seen {
            NegotiationError::IncompatibleMediaFormat
        } else {
            NegotiationError::MediaTypeNotAvailable
        });
    }
    let media = negotiated(&sdp, offer);
    Ok(Answer {
        sdp: sdp.into(),
        media,
    })
}

/// [`answer`] for an offer read in place, written straight into `out` (one buffer, no
/// `String` per field): the same rules, the same text, and the media agreed. `out` is left
/// as it was on `Err`.
///
/// ```
/// use sip_core::sdp::{SdpView, negotiate::{LocalMedia, answer_into}};
///
/// let offer = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
///              m=audio 49170 RTP/AVP 8 0\r\na=sendonly\r\n";
/// let view = SdpView::parse(offer.as_bytes()).unwrap();
/// let local = LocalMedia::telephone("198.51.100.7".parse().unwrap(), 30000, 42);
/// let mut out = String::new();
/// let media = answer_into(&view, &local, 1, &mut out).unwrap();
/// assert_eq!(media[0].codec, "PCMA");
/// assert!(out.ends_with("m=audio 30000 RTP/AVP 8 0\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=recvonly\r\n"));
/// ```
pub fn answer_into(
    offer: &SdpView<'_>,
    local: &LocalMedia,
    version: u64,
    out: &mut String,
) -> Result<Vec<NegotiatedMedia>, NegotiationError> {
    use crate::text::{push_ip, push_uint};
    let start = out.len();
    out.reserve(160 + 96 * offer.media.len());
    // v=, o=, s=, c=, t= as `LocalMedia::session` builds them.
    out.push_str("v=0\r\no=");
    out.push_str(&local.username);
    out.push(' ');
    push_uint(out, local.session_id);
    out.push(' ');
    push_uint(out, version);
    let ip_kind = if local.address.is_ipv4() {
        " IN IP4 "
    } else {
        " IN IP6 "
    };
    out.push_str(ip_kind);
    push_ip(out, local.address);
    out.push_str("\r\ns=-\r\nc=");
    out.push_str(&ip_kind[1..]);
    push_ip(out, local.address);
    out.push_str("\r\nt=0 0\r\n");
    let mut media = Vec::new();
    // Capabilities already used by an earlier stream (one stream per media type).
    let mut used = 0u64;
    let mut type_seen = false;
    for (i, m) in offer.media.iter().enumerate() {
        let cap = local
            .streams
            .iter()
            .enumerate()
            .find(|(_, c)| c.media == m.media && c.protocol == m.protocol);
        type_seen |= cap.is_some();
        let accepted = match cap {
            Some((ci, cap)) if m.port != 0 && used & bit(ci) == 0 => {
                let summary = m.summary();
                let wanted = offer.direction_or_session(summary.direction);
                let direction = wanted.answer(cap.direction);
                let n = write_stream(out, m, &summary, cap, direction);
                if n.is_some() {
                    used |= bit(ci);
                }
                n.map(|n| (n, cap, direction, summary.ptime))
            }
            _ => None,
        };
        let Some(((voice, dtmf), cap, direction, ptime)) = accepted else {
            write_rejected(out, m);
            continue;
        };
        if cap.port == 0 {
            continue;
        }
        let Some(ip) = offer.media_connection(i).and_then(|c| c.ip_addr()) else {
            continue;
        };
        let (pt, codec) = voice;
        media.push(NegotiatedMedia {
            index: i,
            media: m.media.to_owned(),
            remote: SocketAddr::new(ip, m.port),
            local_port: cap.port,
            payload_type: pt,
            codec: codec.encoding.to_owned(),
            clock_rate: codec.clock_rate,
            channels: codec.channels,
            ptime,
            direction,
            telephone_event: dtmf,
        });
    }
    if used == 0 {
        out.truncate(start);
        return Err(if type_seen {
            NegotiationError::IncompatibleMediaFormat
        } else {
            NegotiationError::MediaTypeNotAvailable
        });
    }
    Ok(media)
}

/// The bit of capability `i` in a set of at most 64 (later ones share the last bit, so a
/// 65th media type is accepted at most once with the 64th: no telephone has that many).
fn bit(i: usize) -> u64 {
    1 << i.min(63)
}

/// The first voice format and the first telephone-event format of an accepted stream.
type Chosen<'a> = ((u8, CodecRef<'a>), Option<u8>);

/// Writes the answer to one offered stream (as [`answer_stream`] builds it) and returns
/// what was chosen, or writes nothing and returns `None` when no voice codec is common.
fn write_stream<'a>(
    out: &mut String,
    offered: &MediaView<'a>,
    summary: &MediaSummary<'a>,
    cap: &StreamCapability,
    direction: Direction,
) -> Option<Chosen<'a>> {
    use crate::text::push_uint;
    let start = out.len();
    out.push_str("m=");
    out.push_str(offered.media);
    out.push(' ');
    push_uint(out, cap.port);
    out.push(' ');
    out.push_str(offered.protocol);
    let mut voice = None;
    let mut dtmf = None;
    // The offered formats we take and our codec for each, kept for the attribute lines
    // (searched again only past `TAKEN` of them).
    const TAKEN: usize = 16;
    let mut taken = [(0u8, 0usize); TAKEN];
    let mut n = 0;
    for pt in offered.payload_types() {
        let Some(r) = summary.codec(offered, pt) else {
            continue;
        };
        let Some(ci) = cap.codecs.iter().position(|c| c.matches(&r)) else {
            continue;
        };
        if let Some(slot) = taken.get_mut(n) {
            *slot = (pt, ci);
        }
        n += 1;
        out.push(' ');
        push_uint(out, pt);
        if is_dtmf(r.encoding) {
            dtmf.get_or_insert(pt);
        } else {
            voice.get_or_insert((pt, r));
        }
    }
    if voice.is_none() {
        out.truncate(start);
        return None;
    }
    out.push_str("\r\n");
    let searched;
    let chosen: &[(u8, usize)] = if n <= TAKEN {
        &taken[..n]
    } else {
        searched = offered
            .payload_types()
            .filter_map(|pt| {
                let r = summary.codec(offered, pt)?;
                Some((pt, cap.codecs.iter().position(|c| c.matches(&r))?))
            })
            .collect::<Vec<_>>();
        &searched
    };
    for &(pt, ci) in chosen {
        let c = &cap.codecs[ci];
        out.push_str("a=rtpmap:");
        push_uint(out, pt);
        out.push(' ');
        out.push_str(&c.encoding);
        out.push('/');
        push_uint(out, c.clock_rate);
        if let Some(ch) = c.channels {
            out.push('/');
            push_uint(out, ch);
        }
        out.push_str("\r\n");
        if let Some(p) = &c.fmtp {
            out.push_str("a=fmtp:");
            push_uint(out, pt);
            out.push(' ');
            out.push_str(p);
            out.push_str("\r\n");
        }
    }
    if let Some(p) = cap.ptime {
        out.push_str("a=ptime:");
        push_uint(out, p);
        out.push_str("\r\n");
    }
    out.push_str("a=");
    out.push_str(direction.name());
    out.push_str("\r\n");
    voice.map(|v| (v, dtmf))
}

/// A rejected stream as [`rejected`] builds it: port 0, the offered formats.
fn write_rejected(out: &mut String, offered: &MediaView<'_>) {
    out.push_str("m=");
    out.push_str(offered.media);
    out.push_str(" 0 ");
    out.push_str(offered.protocol);
    for f in offered.formats() {
        out.push(' ');
        out.push_str(f);
    }
    out.push_str("\r\n");
}

/// The answer to one stream, or `None` when no voice codec is common.
fn answer_stream(
    offered: &MediaDescription,
    cap: &StreamCapability,
    direction: Direction,
) -> Option<MediaDescription> {
    let mut formats = Vec::with_capacity(offered.formats.len());
    let mut attributes = Vec::with_capacity(offered.formats.len() * 2 + 2);
    let mut voice = false;
    for pt in offered.payload_types() {
        let Some(r) = offered.codec_ref(pt) else {
            continue;
        };
        let Some(c) = cap.codecs.iter().find(|c| c.matches(&r)) else {
            continue;
        };
        voice |= !c.is_dtmf();
        let mut f = String::with_capacity(3);
        crate::text::push_uint(&mut f, pt);
        formats.push(f);
        attributes.push(Attribute {
            name: "rtpmap".to_owned(),
            value: Some(c.rtpmap_value(pt)),
        });
        if let Some(v) = c.fmtp_value(pt) {
            attributes.push(Attribute {
                name: "fmtp".to_owned(),
                value: Some(v),
            });
        }
    }
    if !voice {
        return None;
    }
    if let Some(p) = cap.ptime {
        let mut v = String::with_capacity(4);
        crate::text::push_uint(&mut v, p);
        attributes.push(Attribute {
            name: "ptime".to_owned(),
            value: Some(v),
        });
    }
    attributes.push(Attribute::property(direction.name()));
    let mut m = MediaDescription::new(&offered.media, cap.port, &offered.protocol, formats);
    m.attributes = attributes;
    Some(m)
}

/// An answer refusing every stream of `offer` (port 0, the offered formats, RFC 3264 §6),
/// with our `o=` at `version`; with no offer, our description with no stream. What a UAC
/// sends in the ACK for an offer in a 2xx it cannot accept, before its BYE (RFC 3261
/// §13.2.2.4).
pub fn refuse_all(offer: Option<&Session>, local: &LocalMedia, version: u64) -> SessionDescription {
    let mut sdp = local.session(version);
    if let Some(o) = offer {
        sdp.media = o.media.iter().map(rejected).collect();
    }
    sdp.into()
}

/// A rejected stream: port 0, the offered formats (§6: at least one must be listed).
fn rejected(offered: &MediaDescription) -> MediaDescription {
    MediaDescription::new(
        &offered.media,
        0,
        &offered.protocol,
        offered.formats.clone(),
    )
}

/// A first offer (RFC 3264 §5): one stream per capability, our codecs in our order with
/// their `rtpmap` and `fmtp`, our ptime and direction, `o=` version `version`.
pub fn offer(local: &LocalMedia, version: u64) -> SessionDescription {
    let mut sdp = local.session(version);
    for cap in &local.streams {
        let formats = cap
            .codecs
            .iter()
            .map(|c| c.payload_type.to_string())
            .collect();
        let mut m = MediaDescription::new(&cap.media, cap.port, &cap.protocol, formats);
        for c in &cap.codecs {
            let pt = c.payload_type;
            m.attributes
                .push(Attribute::value("rtpmap", &c.rtpmap_value(pt)));
            if let Some(p) = &c.fmtp {
                m.attributes
                    .push(Attribute::value("fmtp", &format!("{pt} {p}")));
            }
        }
        if let Some(p) = cap.ptime {
            m.attributes.push(Attribute::value("ptime", &p.to_string()));
        }
        m.attributes.push(Attribute::property(cap.direction.name()));
        sdp.media.push(m);
    }
    sdp.into()
}

/// The offer that puts the session on hold (RFC 3264 §8.4): our last description with each
/// active stream marked so that the peer stops sending to us: sendrecv becomes sendonly,
/// recvonly becomes inactive (sendonly and inactive stay), `o=` version one higher. Streams
/// at port 0 stay as they are (§8.2).
pub fn hold(previous: &Session) -> SessionDescription {
    redirect(previous, |d| Direction::from_parts(d.sends(), false))
}

/// The offer that takes the session off hold: sendonly becomes sendrecv, inactive becomes
/// recvonly, `o=` version one higher.
pub fn resume(previous: &Session) -> SessionDescription {
    redirect(previous, |d| Direction::from_parts(d.sends(), true))
}

/// A new offer from our last description with each active stream's direction mapped; the
/// direction moves to media level (a session-level one is removed).
fn redirect(previous: &Session, map: impl Fn(Direction) -> Direction) -> SessionDescription {
    let mut s = previous.clone();
    s.origin.session_version = s.origin.session_version.wrapping_add(1);
    for i in 0..s.media.len() {
        let d = s.media_direction(i).unwrap_or(Direction::SendRecv);
        let m = &mut s.media[i];
        if m.port != 0 {
            m.set_direction(map(d));
        }
    }
    s.attributes.retain(|a| a.direction().is_none());
    s.into()
}

/// The media agreed by a completed exchange, from our description and the peer's (which was
/// the offer and which the answer does not matter: both list the same streams in the same
/// order, RFC 3264 §6). A stream is in it when both ports are non-zero, the peer's address
/// is an IP address, and a voice codec is common; its codec is the first voice format of
/// the answer (the answerer's preference among the offerer's, §6.1), read from `ours` when
/// we answered and from `theirs` when they did — both carry the same payload numbers.
pub fn negotiated(ours: &Session, theirs: &Session) -> Vec<NegotiatedMedia> {
    let mut out = Vec::new();
    for (i, (l, r)) in ours.media.iter().zip(&theirs.media).enumerate() {
        if l.port == 0 || r.port == 0 {
            continue;
        }
        let Some(ip) = theirs.media_connection(i).and_then(|c| c.ip_addr()) else {
            continue;
        };
        // The formats both list, in the peer's order: the answer lists a subset of the
        // offer's, so this is the answer's order either way when the answerer kept the
        // offerer's order, and the peer's preference otherwise.
        let mut listed = [false; 128];
        for p in l.payload_types().filter(|p| *p < 128) {
            listed[usize::from(p)] = true;
        }
        let common = |pt: u8| listed.get(usize::from(pt)).copied().unwrap_or(false);
        let codec_of = |pt: u8| r.codec_ref(pt).or_else(|| l.codec_ref(pt));
        let mut voice = None;
        let mut dtmf = None;
        for pt in r.payload_types().filter(|pt| common(*pt)) {
            match codec_of(pt) {
                Some(c) if is_dtmf(c.encoding) => {
                    dtmf.get_or_insert(pt);
                }
                Some(c) => {
                    voice.get_or_insert((pt, c));
                }
                None => {}
            }
            if voice.is_some() && dtmf.is_some() {
                break;
            }
        }
        let Some((pt, codec)) = voice else { continue };
        let codec = codec.owned(pt);
        out.push(NegotiatedMedia {
            index: i,
            media: l.media.clone(),
            remote: SocketAddr::new(ip, r.port),
            local_port: l.port,
            payload_type: codec.payload_type,
            codec: codec.encoding,
            clock_rate: codec.clock_rate,
            channels: codec.channels,
            ptime: r.ptime(),
            direction: ours.media_direction(i).unwrap_or(Direction::SendRecv),
            telephone_event: dtmf,
        });
    }
    out
}

#[cfg(test)]
mod tests;
