use super::*;

const OFFER: &str = "v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 192.0.2.1\r\n\
s=-\r\n\
c=IN IP4 192.0.2.1\r\n\
t=0 0\r\n\
m=audio 49170 RTP/AVP 0 8 97 101\r\n\
a=rtpmap:97 iLBC/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n";

fn parse(s: &str) -> Result<SessionDescription, SdpError> {
    SessionDescription::parse(s.as_bytes())
}

#[test]
fn parses_the_fields_of_a_typical_offer() {
    let sdp = parse(OFFER).unwrap();
    assert_eq!(sdp.origin.username, "alice");
    assert_eq!(sdp.origin.session_version, 2890844526);
    assert_eq!(sdp.origin.address, "192.0.2.1");
    assert_eq!(sdp.session_name, "-");
    let c = sdp.connection.as_ref().unwrap();
    assert_eq!(c.ip_addr(), Some("192.0.2.1".parse().unwrap()));
    assert_eq!(sdp.timing, vec![Timing { start: 0, stop: 0 }]);
    let m = &sdp.media[0];
    assert_eq!(
        (m.media.as_str(), m.port, m.port_count),
        ("audio", 49170, None)
    );
    assert_eq!(m.protocol, "RTP/AVP");
    assert_eq!(m.payload_types().collect::<Vec<_>>(), vec![0, 8, 97, 101]);
    assert_eq!(m.rtpmap(97).unwrap().encoding, "iLBC");
    assert_eq!(m.codec(0).unwrap().encoding, "PCMU");
    assert_eq!(m.codec(8).unwrap().encoding, "PCMA");
    assert_eq!(m.fmtp(101).unwrap().params, "0-15");
    assert_eq!(m.ptime(), Some(20));
    assert_eq!(m.direction(), Some(Direction::SendRecv));
    assert_eq!(sdp.to_string(), OFFER);
}

#[test]
fn lf_line_ends_and_no_final_line_end_are_accepted_and_kept() {
    let lf = OFFER.replace("\r\n", "\n");
    let cut = lf.trim_end();
    for text in [lf.as_str(), cut] {
        let sdp = parse(text).unwrap();
        assert_eq!(sdp.media[0].payload_types().count(), 4);
        assert_eq!(sdp.to_string(), text);
    }
}

#[test]
fn unknown_lines_and_attributes_are_kept_in_order() {
    let text = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=call\r\ni=info\r\nu=http://x\r\n\
                c=IN IP4 192.0.2.1\r\nb=AS:64\r\nt=0 0\r\nr=7d 1h 0 25h\r\nx=future\r\n\
                a=tool:x\r\na=recvonly\r\nm=audio 4000/2 RTP/AVP 0\r\ni=voice\r\nb=TIAS:64000\r\n\
                y=unknown\r\na=foo\r\na=bar:baz\r\n";
    let sdp = parse(text).unwrap();
    assert_eq!(sdp.direction(), Some(Direction::RecvOnly));
    assert_eq!(sdp.media_direction(0), Some(Direction::RecvOnly));
    assert_eq!(sdp.media[0].port_count, Some(2));
    assert_eq!(
        sdp.bandwidths[0],
        Bandwidth {
            kind: "AS".into(),
            value: 64
        }
    );
    let kinds: Vec<u8> = sdp.other.iter().map(|o| o.kind).collect();
    assert_eq!(kinds, b"iurx");
    let names: Vec<&str> = sdp.media[0]
        .attributes
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(names, ["foo", "bar"]);
    assert_eq!(sdp.to_string(), text);
    // Written from the fields (§5 order, CRLF), it is the same here: the input was in order.
    let mut edited = sdp.clone();
    edited.edit();
    assert_eq!(edited.to_string(), text);
}

#[test]
fn an_edit_rewrites_from_the_fields() {
    let mut sdp = parse(&OFFER.replace("\r\n", "\n")).unwrap();
    assert!(sdp.is_unedited());
    sdp.edit().media[0].set_direction(Direction::SendOnly);
    sdp.edit().origin.session_version += 1;
    assert!(!sdp.is_unedited());
    let text = sdp.to_string();
    assert_eq!(
        text,
        OFFER
            .replace("a=sendrecv", "a=sendonly")
            .replace("2890844526 IN", "2890844527 IN")
    );
    assert_eq!(
        parse(&text).unwrap().media_direction(0),
        Some(Direction::SendOnly)
    );
}

#[test]
fn set_direction_replaces_the_first_and_drops_the_rest() {
    let mut attrs = vec![
        Attribute::property("sendrecv"),
        Attribute::value("ptime", "20"),
        Attribute::property("inactive"),
    ];
    media::set_direction(&mut attrs, Direction::RecvOnly);
    assert_eq!(
        attrs,
        vec![
            Attribute::property("recvonly"),
            Attribute::value("ptime", "20")
        ]
    );
    let mut none = vec![Attribute::value("ptime", "20")];
    media::set_direction(&mut none, Direction::Inactive);
    assert_eq!(none[1], Attribute::property("inactive"));
}

#[test]
fn refusals_name_the_line_and_the_fault() {
    use SdpErrorKind::*;
    let cases: &[(&str, usize, SdpErrorKind)] = &[
        ("", 1, Empty),
        ("o=- 1 1 IN IP4 h\r\n", 1, MissingVersion),
        ("v=1\r\n", 1, UnsupportedVersion),
        ("v=0\r\nthis is not sdp\r\n", 2, BadLine),
        ("v=0\r\n o=- 1 1 IN IP4 h\r\n", 2, BadLine),
        ("v=0\r\no=- 1 1 IN IP4\r\ns=-\r\n", 2, BadOrigin),
        ("v=0\r\no=- x 1 IN IP4 h\r\ns=-\r\n", 2, BadOrigin),
        ("v=0\r\ns=-\r\nt=0 0\r\n", 0, MissingOrigin),
        (
            "v=0\r\no=- 1 1 IN IP4 h\r\nt=0 0\r\n",
            0,
            MissingSessionName,
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4\r\n",
            4,
            BadConnection,
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nb=AS\r\n",
            4,
            BadBandwidth,
        ),
        ("v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0\r\n", 4, BadTiming),
        (
            "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nm=audio 70000 RTP/AVP 0\r\n",
            4,
            BadMedia,
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nm=audio 4000 RTP/AVP\r\n",
            4,
            BadMedia,
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n",
            5,
            BadRtpmap,
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:300 X/8000\r\n",
            5,
            BadRtpmap,
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nm=audio 4000 RTP/AVP 0\r\na=fmtp:x y\r\n",
            5,
            BadFmtp,
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nm=audio 4000 RTP/AVP 0\r\na=ptime:soon\r\n",
            5,
            BadPtime,
        ),
    ];
    for (text, line, kind) in cases {
        let e = parse(text).unwrap_err();
        assert_eq!((e.line, e.kind), (*line, *kind), "{text:?}");
    }
    let e = SessionDescription::parse(b"v=0\r\no=- 1 1 IN IP4 h\r\ns=\xff\r\n").unwrap_err();
    assert_eq!((e.line, e.kind), (3, NotUtf8));
    assert_eq!(e.to_string(), "SDP line 3: not UTF-8");
}

#[test]
fn every_count_the_input_controls_is_bounded() {
    use SdpErrorKind::*;
    let limits = SdpLimits {
        max_bytes: 4096,
        max_lines: 20,
        max_line_len: 100,
        max_media: 2,
        max_attributes: 3,
        max_formats: 4,
    };
    let head = "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\n";
    let check = |body: String, line: usize, kind: SdpErrorKind| {
        let e = SessionDescription::parse_with(format!("{head}{body}").as_bytes(), &limits)
            .unwrap_err();
        assert_eq!((e.line, e.kind), (line, kind));
    };
    check("x=x\r\n".repeat(18), 21, TooManyLines);
    check(format!("s={}\r\n", "x".repeat(100)), 4, LineTooLong);
    check("m=audio 1 RTP/AVP 0\r\n".repeat(3), 6, TooManyMedia);
    check("a=x\r\n".repeat(4), 7, TooManyAttributes);
    check(
        "m=audio 1 RTP/AVP 0\r\n".to_owned() + &"a=x\r\n".repeat(4),
        8,
        TooManyAttributes,
    );
    check(
        "m=audio 1 RTP/AVP 0 1 2 3 4\r\n".to_owned(),
        4,
        TooManyFormats,
    );
    check("x=x\r\n".repeat(2000), 0, TooLarge);
}

#[test]
fn direction_answer_table_rfc3264_6_1() {
    use Direction::*;
    // (offered, what the answerer wants, answered)
    let rows = [
        (SendRecv, SendRecv, SendRecv),
        (SendRecv, SendOnly, SendOnly),
        (SendRecv, RecvOnly, RecvOnly),
        (SendRecv, Inactive, Inactive),
        (SendOnly, SendRecv, RecvOnly),
        (SendOnly, RecvOnly, RecvOnly),
        (SendOnly, SendOnly, Inactive),
        (SendOnly, Inactive, Inactive),
        (RecvOnly, SendRecv, SendOnly),
        (RecvOnly, SendOnly, SendOnly),
        (RecvOnly, RecvOnly, Inactive),
        (RecvOnly, Inactive, Inactive),
        (Inactive, SendRecv, Inactive),
        (Inactive, SendOnly, Inactive),
        (Inactive, RecvOnly, Inactive),
        (Inactive, Inactive, Inactive),
    ];
    for (offer, wanted, answer) in rows {
        assert_eq!(offer.answer(wanted), answer, "{offer:?} wanted {wanted:?}");
        assert_eq!(offer.reversed().reversed(), offer);
    }
}

mod roundtrip {
    use super::*;
    use proptest::prelude::*;

    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            "[iuepkrz]=[ -~]{0,20}",
            "c=IN IP[46] [0-9a-f.:]{1,20}",
            "b=(AS|CT|TIAS):[0-9]{1,6}",
            "t=[0-9]{1,10} [0-9]{1,10}",
            "a=[a-z-]{1,10}(:[ -~]{0,20})?",
            "a=rtpmap:[0-9]{1,2} [A-Za-z0-9-]{1,10}/[0-9]{4,5}(/[12])?",
            "a=fmtp:[0-9]{1,2} [ -~]{0,20}",
            "a=ptime:[1-9][0-9]{0,2}",
            "a=(sendrecv|sendonly|recvonly|inactive)",
            "m=(audio|video) [0-9]{1,5}(/[1-4])? RTP/AVP( [0-9]{1,3}){1,5}",
            "[a-z]=[ -~]{0,10}",
            Just(String::new()),
        ]
    }

    proptest! {
        #[test]
        fn parse_then_serialise_is_byte_exact(
            lines in proptest::collection::vec(line(), 0..30),
            crlf in any::<bool>(),
            final_eol in any::<bool>(),
        ) {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut text = format!("v=0{eol}o=- 1 2 IN IP4 192.0.2.1{eol}s=-{eol}");
            text.push_str(&lines.join(eol));
            if final_eol {
                text.push_str(eol);
            }
            if let Ok(sdp) = SessionDescription::parse(text.as_bytes()) {
                prop_assert_eq!(sdp.to_string(), text.clone());
                // Written from its fields (§5 order), it parses back and writes the same.
                let canonical = SessionDescription::from(sdp.into_session()).to_string();
                let again = SessionDescription::parse(canonical.as_bytes()).unwrap();
                prop_assert_eq!(SessionDescription::from(again.into_session()).to_string(), canonical);
            }
        }
    }
}

/// The borrowing parse accepts and refuses what the owned one does, and its fields are the
/// owned ones: a view of the parsed `Session` reads the same.
#[test]
fn the_view_reads_what_the_owned_parse_keeps() {
    use crate::sdp::SdpView;
    let texts = [
        "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\na=sendonly\r\n\
         m=audio  49170/2  RTP/AVP  0 8 \r\nc=IN IP4 192.0.2.2\r\nc=IN IP4 192.0.2.3\r\nb=AS:64\r\n\
         a=rtpmap:8 PCMA/8000\r\na=ptime:20.5\r\ni=x\r\nm=video 0 RTP/AVP 31\r\n",
        "v=0\no=- 1 2 IN IP4 h\ns=x\nm=audio 1 RTP/AVP 0",
        "v=0\r\no=- 1 2 IN IP4 h\r\nm=audio 1 RTP/AVP 0\r\n",
        "v=0\r\no=- 1 2 IN IP4 h\r\ns=-\r\nm=audio 1 RTP/AVP\r\n",
        "v=0\r\no=- x 2 IN IP4 h\r\ns=-\r\n",
        "v=0\r\no=- 1 2 IN IP4 h\r\ns=-\r\nm=audio 1 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n",
    ];
    for t in texts {
        let owned = SessionDescription::parse(t.as_bytes());
        let view = SdpView::parse(t.as_bytes());
        match (&owned, &view) {
            (Ok(o), Ok(v)) => {
                assert_eq!(&v.to_session(), o.session());
                let ov = o.view();
                assert_eq!((ov.origin, ov.session_name), (v.origin, v.session_name));
                assert_eq!(ov.connection, v.connection);
                for (i, (a, b)) in ov.media.iter().zip(&v.media).enumerate() {
                    assert_eq!(
                        a.formats().collect::<Vec<_>>(),
                        b.formats().collect::<Vec<_>>()
                    );
                    assert_eq!(
                        a.attributes().collect::<Vec<_>>(),
                        b.attributes().collect::<Vec<_>>()
                    );
                    assert_eq!(
                        (a.port, a.port_count, a.connection),
                        (b.port, b.port_count, b.connection)
                    );
                    assert_eq!(ov.media_direction(i), v.media_direction(i));
                    assert_eq!(a.ptime(), b.ptime());
                }
                assert_eq!(ov.media.len(), v.media.len());
            }
            (Err(a), Err(b)) => assert_eq!(a, b),
            _ => panic!("{t:?}: owned {owned:?}, view {view:?}"),
        }
    }
}
