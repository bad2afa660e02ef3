//! The SDP benchmark's work, shared by `benches/sdp.rs` and the `profile` example (for
//! callgrind): a typical 10-line audio offer (PCMU, PCMA, telephone-event), parsed by
//! sip-core, `webrtc-sdp` and `sdp-types`, and sip-core's parse plus its RFC 3264 answer.
//!
//! Equal work for the parse: each peer turns the bytes into its typed session and the
//! harness reads the first media section's port and its formats' count through the
//! peer's own types (`probe`), so no peer is timed on a lazy parse alone.

use std::net::Ipv4Addr;

use sip_core::sdp::negotiate::{self, LocalMedia};
use sip_core::sdp::{SdpView, SessionDescription};

/// The offer: 10 lines, CRLF.
pub const OFFER: &str = "v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 192.0.2.1\r\n\
s=-\r\n\
c=IN IP4 192.0.2.1\r\n\
t=0 0\r\n\
m=audio 49170 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n";

/// The answerer's media: PCMU, PCMA, telephone-event.
pub fn local_media() -> LocalMedia {
    LocalMedia::telephone(Ipv4Addr::new(198, 51, 100, 7).into(), 30000, 42)
}

/// sip-core: the borrowing parse (`SdpView`, every line checked, fields as `&str` into the
/// bytes); `(port, formats)` of the first stream.
pub fn sip_core_parse(bytes: &[u8]) -> Option<(u16, usize)> {
    let s = SdpView::parse(bytes).ok()?;
    let m = s.media.first()?;
    Some((m.port, m.formats().count()))
}

/// sip-core: the owned parse (`SessionDescription`, a `String` per field, the source kept
/// for byte-exact re-serialisation); `(port, formats)` of the first stream.
pub fn sip_core_parse_owned(bytes: &[u8]) -> Option<(u16, usize)> {
    let s = SessionDescription::parse(bytes).ok()?;
    let m = s.media.first()?;
    Some((m.port, m.formats.len()))
}

/// sip-core: the borrowing parse, the answer (RFC 3264 §6) written into one buffer and
/// turned into body bytes, with the negotiated media; the body's length.
pub fn sip_core_parse_answer(bytes: &[u8], local: &LocalMedia) -> Option<usize> {
    let s = SdpView::parse(bytes).ok()?;
    let mut out = String::with_capacity(256);
    let media = negotiate::answer_into(&s, local, 1, &mut out).ok()?;
    std::hint::black_box(media);
    Some(bytes::Bytes::from(out).len())
}

/// sip-core: the owned parse, `negotiate::answer` (an owned `Session` answer), serialised;
/// its length (the path the dialog layer takes when it keeps both descriptions).
pub fn sip_core_parse_answer_owned(bytes: &[u8], local: &LocalMedia) -> Option<usize> {
    let s = SessionDescription::parse(bytes).ok()?;
    let a = negotiate::answer(&s, local, 1).ok()?;
    Some(a.sdp.to_bytes().len())
}

/// webrtc-sdp: parse (it takes text); `(port, formats)` of the first stream.
pub fn webrtc_sdp_parse(bytes: &[u8]) -> Option<(u16, usize)> {
    let text = std::str::from_utf8(bytes).ok()?;
    let s = webrtc_sdp::parse_sdp(text, false).ok()?;
    let m = s.media.first()?;
    let formats = match m.get_formats() {
        webrtc_sdp::media_type::SdpFormatList::Integers(v) => v.len(),
        webrtc_sdp::media_type::SdpFormatList::Strings(v) => v.len(),
        webrtc_sdp::media_type::SdpFormatList::Unknown(s) => s.split(' ').count(),
    };
    Some((u16::try_from(m.get_port()).ok()?, formats))
}

/// sdp-types: parse; `(port, formats)` of the first stream.
pub fn sdp_types_parse(bytes: &[u8]) -> Option<(u16, usize)> {
    let s = sdp_types::Session::parse(bytes).ok()?;
    let m = s.medias.first()?;
    Some((m.port, m.fmt.split(' ').count()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_peer_reads_the_same_offer() {
        let b = OFFER.as_bytes();
        assert_eq!(OFFER.lines().count(), 10);
        assert_eq!(sip_core_parse(b), Some((49170, 3)));
        assert_eq!(sip_core_parse_owned(b), Some((49170, 3)));
        assert_eq!(
            sip_core_parse_answer(b, &local_media()),
            sip_core_parse_answer_owned(b, &local_media())
        );
        assert_eq!(webrtc_sdp_parse(b), Some((49170, 3)));
        assert_eq!(sdp_types_parse(b), Some((49170, 3)));
        assert!(sip_core_parse_answer(b, &local_media()).is_some_and(|n| n > 100));
    }
}
