use super::*;
use crate::sdp::SessionDescription;

fn sdp(text: &str) -> SessionDescription {
    SessionDescription::parse(text.replace('|', "\r\n").as_bytes()).unwrap()
}

fn local() -> LocalMedia {
    LocalMedia::telephone("198.51.100.7".parse().unwrap(), 30000, 42)
}

const HEAD: &str = "v=0|o=alice 1 1 IN IP4 192.0.2.1|s=-|c=IN IP4 192.0.2.1|t=0 0|";

fn offer_with(media: &str) -> SessionDescription {
    sdp(&format!("{HEAD}{media}"))
}

fn formats(m: &MediaDescription) -> Vec<&str> {
    m.formats.iter().map(String::as_str).collect()
}

#[test]
fn codecs_keep_the_offerers_order_and_numbers() {
    let offer = offer_with(
        "m=audio 49170 RTP/AVP 8 97 0 100|a=rtpmap:97 iLBC/8000|\
         a=rtpmap:100 telephone-event/8000|a=fmtp:100 0-15|a=ptime:30|",
    );
    let a = answer(&offer, &local(), 7).unwrap();
    let m = &a.sdp.media[0];
    // PCMA first as offered; iLBC dropped; telephone-event on the offerer's 100, not our 101.
    assert_eq!(formats(m), ["8", "0", "100"]);
    assert_eq!(m.rtpmap(100).unwrap().encoding, "telephone-event");
    assert_eq!(m.fmtp(100).unwrap().params, "0-16");
    assert_eq!((m.port, m.protocol.as_str()), (30000, "RTP/AVP"));
    assert_eq!(a.sdp.origin.session_version, 7);
    assert_eq!(a.sdp.origin.session_id, "42");
    assert_eq!(a.sdp.connection.as_ref().unwrap().address, "198.51.100.7");
    let n = &a.media[0];
    assert_eq!(n.remote, "192.0.2.1:49170".parse().unwrap());
    assert_eq!(
        (n.payload_type, n.codec.as_str(), n.clock_rate),
        (8, "PCMA", 8000)
    );
    assert_eq!(
        (n.ptime, n.telephone_event, n.local_port),
        (Some(30), Some(100), 30000)
    );
    assert_eq!(n.direction, Direction::SendRecv);
}

#[test]
fn a_dynamic_payload_type_is_mirrored_by_name_and_clock_rate() {
    let mut l = local();
    l.streams[0].codecs = vec![Codec {
        channels: Some(2),
        ..Codec::new(111, "opus", 48000)
    }];
    let offer =
        offer_with("m=audio 5000 RTP/AVP 96 97|a=rtpmap:96 OPUS/48000/2|a=rtpmap:97 opus/16000|");
    let a = answer(&offer, &l, 1).unwrap();
    assert_eq!(formats(&a.sdp.media[0]), ["96"]);
    assert_eq!(
        a.sdp.media[0].rtpmap(96).unwrap().to_value(),
        "96 opus/48000/2"
    );
    assert_eq!(a.media[0].payload_type, 96);
    assert_eq!(a.media[0].channels, Some(2));
}

#[test]
fn unusable_streams_are_kept_with_port_zero() {
    let offer = offer_with(
        "m=video 6000 RTP/AVP 31|m=audio 5000 RTP/AVP 0|m=audio 5002 RTP/AVP 8|\
         m=audio 0 RTP/AVP 0|m=audio 5004 RTP/SAVP 0|",
    );
    let a = answer(&offer, &local(), 1).unwrap();
    let ports: Vec<u16> = a.sdp.media.iter().map(|m| m.port).collect();
    // video: no such type; second audio: audio taken; port 0 offered; SAVP not ours.
    assert_eq!(ports, [0, 30000, 0, 0, 0]);
    assert_eq!(formats(&a.sdp.media[0]), ["31"]);
    assert_eq!(a.sdp.media[0].media, "video");
    assert_eq!(a.media.len(), 1);
    assert_eq!(a.media[0].index, 1);
    let text = a.sdp.to_string();
    assert!(text.contains("m=video 0 RTP/AVP 31\r\n"), "{text}");
}

#[test]
fn no_acceptable_stream_is_488_with_warning_304_or_305() {
    let rows = [
        (
            "m=video 6000 RTP/AVP 31|",
            NegotiationError::MediaTypeNotAvailable,
        ),
        (
            "m=audio 5000 RTP/SAVP 0|",
            NegotiationError::MediaTypeNotAvailable,
        ),
        (
            "m=audio 5000 RTP/AVP 18|",
            NegotiationError::IncompatibleMediaFormat,
        ),
        (
            "m=audio 5000 RTP/AVP 101|a=rtpmap:101 telephone-event/8000|",
            NegotiationError::IncompatibleMediaFormat,
        ),
        (
            "m=audio 0 RTP/AVP 0|",
            NegotiationError::IncompatibleMediaFormat,
        ),
    ];
    for (media, e) in rows {
        assert_eq!(answer(&offer_with(media), &local(), 1), Err(e), "{media}");
    }
    assert_eq!(
        NegotiationError::IncompatibleMediaFormat.warning("pbx.example.com"),
        "305 pbx.example.com \"Incompatible media format\""
    );
    assert_eq!(NegotiationError::MediaTypeNotAvailable.warn_code(), 304);
}

/// RFC 3264 §6.1, row by row: the offered direction (media level, session level, or none),
/// what we want, what we answer.
#[test]
fn direction_is_mirrored_rfc3264_6_1() {
    use Direction::*;
    let rows = [
        (None, SendRecv, SendRecv),
        (Some(SendRecv), SendRecv, SendRecv),
        (Some(SendOnly), SendRecv, RecvOnly),
        (Some(RecvOnly), SendRecv, SendOnly),
        (Some(Inactive), SendRecv, Inactive),
        (Some(SendRecv), RecvOnly, RecvOnly),
        (Some(SendOnly), SendOnly, Inactive),
        (Some(RecvOnly), RecvOnly, Inactive),
        (Some(SendRecv), Inactive, Inactive),
    ];
    for (offered, wanted, answered) in rows {
        let attr = offered
            .map(|d| format!("a={}|", d.name()))
            .unwrap_or_default();
        let mut l = local();
        l.streams[0].direction = wanted;
        for offer in [
            offer_with(&format!("m=audio 5000 RTP/AVP 0|{attr}")),
            sdp(&format!("{HEAD}{attr}m=audio 5000 RTP/AVP 0|")),
        ] {
            let a = answer(&offer, &l, 1).unwrap();
            assert_eq!(
                a.sdp.media[0].direction(),
                Some(answered),
                "{offered:?} {wanted:?}"
            );
            assert_eq!(a.media[0].direction, answered);
        }
    }
}

#[test]
fn hold_and_resume_rfc3264_8_4() {
    use Direction::*;
    let rows = [
        (SendRecv, SendOnly, SendRecv),
        (RecvOnly, Inactive, RecvOnly),
        (SendOnly, SendOnly, SendRecv),
        (Inactive, Inactive, RecvOnly),
    ];
    for (before, held, resumed) in rows {
        let mut l = local();
        l.streams[0].direction = before;
        let ours = offer(&l, 3);
        let h = hold(&ours);
        assert_eq!(h.media[0].direction(), Some(held), "{before:?}");
        assert_eq!(h.origin.session_version, 4);
        let r = resume(&h);
        assert_eq!(r.media[0].direction(), Some(resumed), "{before:?}");
        assert_eq!(r.origin.session_version, 5);
        // Only the direction and the version change.
        assert_eq!(formats(&r.media[0]), formats(&ours.media[0]));
        assert_eq!(r.origin.session_id, ours.origin.session_id);
    }
    // A session-level direction moves to the media; a port-0 stream is left alone.
    let last = sdp(
        "v=0|o=- 1 9 IN IP4 192.0.2.1|s=-|c=IN IP4 192.0.2.1|t=0 0|a=sendrecv|\
                    m=audio 5000 RTP/AVP 0|m=video 0 RTP/AVP 31|",
    );
    let h = hold(&last);
    assert_eq!(h.direction(), None);
    assert_eq!(h.media[0].direction(), Some(SendOnly));
    assert_eq!(h.media[1].direction(), None);
    assert_eq!(h.origin.session_version, 10);
}

#[test]
fn an_offer_and_its_answer_agree_on_both_sides() {
    let alice = LocalMedia::telephone("192.0.2.1".parse().unwrap(), 4000, 1);
    let mut bob = local();
    bob.streams[0].codecs = vec![Codec::pcma(), Codec::telephone_event(101)];
    let o = offer(&alice, 1);
    let text = o.to_string();
    assert!(text.contains("m=audio 4000 RTP/AVP 0 8 101\r\n"), "{text}");
    let o = SessionDescription::parse(text.as_bytes()).unwrap();
    let a = answer(&o, &bob, 1).unwrap();
    let a_text = SessionDescription::parse(a.sdp.to_string().as_bytes()).unwrap();
    // Alice (offerer): her offer and Bob's answer.
    let at_alice = negotiated(&o, &a_text);
    assert_eq!(at_alice.len(), 1);
    assert_eq!(at_alice[0].remote, "198.51.100.7:30000".parse().unwrap());
    assert_eq!(
        (at_alice[0].payload_type, at_alice[0].codec.as_str()),
        (8, "PCMA")
    );
    assert_eq!(at_alice[0].telephone_event, Some(101));
    assert_eq!(at_alice[0].local_port, 4000);
    // Bob (answerer): the same codec, Alice's address.
    assert_eq!(a.media[0].payload_type, 8);
    assert_eq!(a.media[0].remote, "192.0.2.1:4000".parse().unwrap());
}

/// `answer_into` (the offer read in place, written into one buffer) gives the text and the
/// media `answer` gives, for offers in both forms (text view and owned `Session::view`),
/// and the same error, leaving the buffer untouched, when nothing is acceptable.
#[test]
fn answer_into_writes_what_answer_builds() {
    let media = [
        "m=audio 49170 RTP/AVP 8 97 0 100|a=rtpmap:97 iLBC/8000|\
         a=rtpmap:100 telephone-event/8000|a=fmtp:100 0-15|a=ptime:30|",
        "m=audio 49170 RTP/AVP 96 8|a=rtpmap:96 pcmu/8000|a=sendonly|",
        "m=video 51372 RTP/AVP 31|m=audio 49170 RTP/AVP 0|a=inactive|m=audio 49180 RTP/AVP 0|",
        "m=audio 0 RTP/AVP 0|m=audio 49170 RTP/SAVP 0|m=audio 49172 RTP/AVP 8|c=IN IP4 192.0.2.9|a=recvonly|",
        "a=sendonly|m=audio 49170 RTP/AVP 0 101|a=rtpmap:101 telephone-event/8000|",
        "m=audio 49170 RTP/AVP 18|",
        "m=video 49170 RTP/AVP 31|",
        "m=audio 49170 RTP/AVP 101|a=rtpmap:101 telephone-event/8000|",
    ];
    // More formats and rtpmaps than the answerer's small tables hold (its fallback path).
    let pts: Vec<u8> = (96..120).collect();
    let many = format!(
        "m=audio 49170 RTP/AVP {}|{}",
        pts.iter().map(u8::to_string).collect::<Vec<_>>().join(" "),
        pts.iter()
            .map(|p| format!("a=rtpmap:{p} PCMU/8000|"))
            .collect::<String>()
    );
    for m in media.iter().copied().chain([many.as_str()]) {
        let offer = offer_with(m);
        let text = offer.to_string();
        let view = crate::sdp::SdpView::parse(text.as_bytes()).unwrap();
        let owned = offer.view();
        for v in [&view, &owned] {
            let mut out = String::from("kept");
            let got = answer_into(v, &local(), 3, &mut out);
            match answer(&offer, &local(), 3) {
                Ok(a) => {
                    assert_eq!(out, format!("kept{}", a.sdp), "{m}");
                    assert_eq!(got.unwrap(), a.media, "{m}");
                }
                Err(e) => {
                    assert_eq!(got.unwrap_err(), e, "{m}");
                    assert_eq!(out, "kept");
                }
            }
        }
    }
}
