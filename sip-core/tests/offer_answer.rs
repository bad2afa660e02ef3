//! Offer/answer scenarios (RFC 3264, RFC 3261 §13.2.1, §14) between two endpoints on the
//! simulated network, with `EndpointConfig::offer_answer` on: a call's first exchange, hold
//! and resume by re-INVITE (§8.4), re-INVITE glare (491 and the §14.1 retry), and offers
//! refused with 488 and the Warning of §20.43.

mod support;

use sip_core::dialog::{DialogError, DialogId, DialogState, OfferAnswerError, OfferState, SDP};
use sip_core::endpoint::{Event, InviteOptions};
use sip_core::sdp::negotiate::{self, LocalMedia, NegotiatedMedia, NegotiationError};
use sip_core::sdp::{Direction, SessionDescription};
use std::time::Duration;
use support::{A, B, Net, udp};

fn net() -> Net {
    net_with(true)
}

/// Bob tracks offer/answer; Alice too when `alice` is set.
fn net_with(alice: bool) -> Net {
    let mut net = Net::empty();
    for (seed, a, on) in [(100, A, alice), (101, B, true)] {
        let mut c = udp(a);
        c.offer_answer = on;
        net.add(c, seed);
    }
    net
}

fn alice_media() -> LocalMedia {
    LocalMedia::telephone("192.0.2.1".parse().unwrap(), 4000, 11)
}

fn bob_media() -> LocalMedia {
    LocalMedia::telephone("192.0.2.2".parse().unwrap(), 6000, 22)
}

fn incoming(ev: &[Event]) -> Option<DialogId> {
    ev.iter().find_map(|e| match e {
        Event::IncomingCall { dialog, .. } | Event::DialogRequest { dialog, .. } => Some(*dialog),
        _ => None,
    })
}

fn negotiated(ev: &[Event]) -> Vec<Vec<NegotiatedMedia>> {
    ev.iter()
        .filter_map(|e| match e {
            Event::MediaNegotiated { media, .. } => Some(media.clone()),
            _ => None,
        })
        .collect()
}

fn invite(body: &str) -> InviteOptions {
    InviteOptions::new("sip:bob@192.0.2.2", "<sip:alice@x>", "<sip:bob@y>")
        .body(SDP, body.as_bytes().to_vec())
}

/// Alice calls Bob with an offer from the helper; Bob answers it from his capabilities.
fn call(net: &mut Net) -> (DialogId, DialogId) {
    let offer = negotiate::offer(&alice_media(), 1).to_string();
    let da = net
        .with(A, |ep, now| ep.invite(now, invite(&offer)))
        .unwrap();
    net.run();
    let db = incoming(&net.take_events(B)).expect("the call");
    let media = net
        .with(B, |ep, now| ep.dialog(db)?.answer_offer(now, &bob_media()))
        .unwrap();
    assert_eq!(media[0].remote, "192.0.2.1:4000".parse().unwrap());
    net.run();
    (da, db)
}

#[test]
fn a_call_negotiates_its_media_on_both_sides() {
    let mut net = net();
    let (da, db) = call(&mut net);
    let at_alice = negotiated(&net.take_events(A));
    let at_bob = negotiated(&net.take_events(B));
    assert_eq!(at_alice.len(), 1);
    assert_eq!(at_bob.len(), 1);
    let (a, b) = (&at_alice[0][0], &at_bob[0][0]);
    assert_eq!(
        (a.payload_type, a.codec.as_str(), a.clock_rate),
        (0, "PCMU", 8000)
    );
    assert_eq!((b.payload_type, b.codec.as_str()), (0, "PCMU"));
    assert_eq!(a.remote, "192.0.2.2:6000".parse().unwrap());
    assert_eq!(b.remote, "192.0.2.1:4000".parse().unwrap());
    assert_eq!(
        (a.telephone_event, b.telephone_event),
        (Some(101), Some(101))
    );
    assert_eq!(
        (a.direction, b.direction),
        (Direction::SendRecv, Direction::SendRecv)
    );
    assert_eq!(net.ep(A).dialog_state(da), Some(DialogState::Confirmed));
    assert_eq!(net.ep(B).dialog_state(db), Some(DialogState::Confirmed));
}

#[test]
fn hold_and_resume_by_reinvite() {
    let mut net = net();
    let (da, db) = call(&mut net);
    net.take_events(A);
    net.take_events(B);
    for (on_hold, alice_dir, bob_dir, version) in [
        (true, Direction::SendOnly, Direction::RecvOnly, 2),
        (false, Direction::SendRecv, Direction::SendRecv, 3),
    ] {
        net.with(A, |ep, now| {
            let mut d = ep.dialog(da)?;
            if on_hold { d.hold(now) } else { d.resume(now) }
        })
        .unwrap();
        net.run();
        assert_eq!(incoming(&net.take_events(B)), Some(db));
        // The re-INVITE's offer, as Bob sees it.
        let offer = net.with(B, |ep, _| {
            let n = ep.dialog(db).unwrap();
            let n = n.negotiation().unwrap();
            assert!(matches!(n.state(), OfferState::RemoteOffer(_)));
            n.remote_offer().unwrap().clone()
        });
        assert_eq!(offer.media_direction(0), Some(alice_dir));
        assert_eq!(offer.origin.session_version, version);
        let media = net
            .with(B, |ep, now| ep.dialog(db)?.answer_offer(now, &bob_media()))
            .unwrap();
        assert_eq!(media[0].direction, bob_dir);
        net.run();
        let at_alice = negotiated(&net.take_events(A));
        assert_eq!(at_alice.len(), 1, "hold {on_hold}");
        assert_eq!(at_alice[0][0].direction, alice_dir);
        // Bob's answer on the wire says it.
        let ok = net
            .wire()
            .into_iter()
            .rev()
            .find(|s| s.line.starts_with("SIP/2.0 200"))
            .unwrap();
        let text = String::from_utf8_lossy(&ok.bytes).into_owned();
        assert!(
            text.contains(&format!("a={}\r\n", bob_dir.name())),
            "{text}"
        );
        // Bob's o= grows once per new description of his (RFC 3264 §8).
        assert!(
            text.contains(&format!("o=- 22 {} IN IP4", version)),
            "{text}"
        );
    }
}

#[test]
fn reinvite_glare_gets_491_and_the_retry_completes() {
    let mut net = net();
    let (da, db) = call(&mut net);
    net.take_events(A);
    net.take_events(B);
    // Both put the other on hold at the same instant: each re-INVITE meets the other's.
    net.with(A, |ep, now| ep.dialog(da)?.hold(now)).unwrap();
    net.with(B, |ep, now| ep.dialog(db)?.hold(now)).unwrap();
    net.run();
    assert_eq!(net.sent("SIP/2.0 491").len(), 2);
    // §14.1: each retries after its random delay; the first retry arriving is answered.
    let mut answered = 0;
    for _ in 0..50 {
        net.advance(net.elapsed() + Duration::from_millis(100));
        for (at, d, caps) in [(A, da, alice_media()), (B, db, bob_media())] {
            let ev = net.take_events(at);
            if ev.iter().any(|e| matches!(e, Event::DialogRequest { .. })) {
                net.with(at, |ep, now| ep.dialog(d)?.answer_offer(now, &caps))
                    .unwrap();
                answered += 1;
                net.run();
            }
        }
    }
    // B's retry (0–2 s) is answered by Alice; then Alice's (2.1–4 s, once B's is done).
    assert_eq!(answered, 2, "both retried holds were answered");
    assert_eq!(net.sent("SIP/2.0 491").len(), 2, "no second glare");
    // Alice's retried offer went out with a version above her answer to Bob's (§8).
    let versions: Vec<u64> = net
        .wire()
        .iter()
        .filter(|s| s.from.to_string() == A && s.line.starts_with("INVITE"))
        .map(|s| {
            let text = String::from_utf8_lossy(&s.bytes).into_owned();
            let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
            SessionDescription::parse(body.as_bytes())
                .unwrap()
                .origin
                .session_version
        })
        .collect();
    assert_eq!(versions, [1, 2, 3], "initial offer, hold, its retry");
    for (at, d) in [(A, da), (B, db)] {
        let state = net.with(at, |ep, _| {
            ep.dialog(d).unwrap().negotiation().unwrap().state()
        });
        assert_eq!(state, OfferState::Stable, "{at}");
    }
}

#[test]
fn an_offer_with_no_acceptable_stream_gets_488_with_warning_305() {
    let mut net = net();
    let offer = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
                 m=audio 4000 RTP/AVP 18\r\n";
    let da = net
        .with(A, |ep, now| ep.invite(now, invite(offer)))
        .unwrap();
    net.run();
    let db = incoming(&net.take_events(B)).unwrap();
    let got = net.with(B, |ep, now| ep.dialog(db)?.answer_offer(now, &bob_media()));
    assert_eq!(
        got,
        Err(DialogError::OfferAnswer(OfferAnswerError::NotAcceptable(
            NegotiationError::IncompatibleMediaFormat
        )))
    );
    net.run();
    let refusal = net
        .wire()
        .into_iter()
        .find(|s| s.line.starts_with("SIP/2.0 488"))
        .unwrap();
    let text = String::from_utf8_lossy(&refusal.bytes).into_owned();
    assert!(
        text.contains("Warning: 305 192.0.2.2:5060 \"Incompatible media format\""),
        "{text}"
    );
    assert!(matches!(
        net.ep(A).dialog_state(da),
        Some(DialogState::Terminated(
            sip_core::dialog::EndReason::Rejected(488)
        )) | None
    ));
}

#[test]
fn an_unreadable_offer_gets_488_with_warning_399_before_the_application_hears_of_it() {
    // Alice's side would refuse to send it: she sends bodies untouched.
    let mut net = net_with(false);
    net.with(A, |ep, now| {
        ep.invite(now, invite("v=0\r\nthis is not sdp\r\n"))
    })
    .unwrap();
    net.run();
    assert_eq!(incoming(&net.take_events(B)), None);
    let refusal = net
        .wire()
        .into_iter()
        .find(|s| s.line.starts_with("SIP/2.0 488"))
        .unwrap();
    let text = String::from_utf8_lossy(&refusal.bytes).into_owned();
    assert!(text.contains("Warning: 399 "), "{text}");
    assert!(text.contains("SDP line 2"), "{text}");
}

#[test]
fn a_2xx_must_carry_the_answer_and_an_answer_must_parse() {
    let mut net = net();
    let offer = negotiate::offer(&alice_media(), 1).to_string();
    net.with(A, |ep, now| ep.invite(now, invite(&offer)))
        .unwrap();
    net.run();
    let db = incoming(&net.take_events(B)).unwrap();
    let bare = net.with(B, |ep, now| ep.dialog(db)?.accept(now, None));
    assert_eq!(bare, Err(DialogError::AnswerRequired));
    let bad = net.with(B, |ep, now| {
        ep.dialog(db)?
            .accept(now, Some((SDP, bytes::Bytes::from_static(b"v=9\r\n"))))
    });
    assert!(matches!(
        bad,
        Err(DialogError::OfferAnswer(OfferAnswerError::Sdp(_)))
    ));
    // An answer written by hand is taken as the answer.
    let answer = negotiate::answer(
        &SessionDescription::parse(offer.as_bytes()).unwrap(),
        &bob_media(),
        1,
    )
    .unwrap();
    net.with(B, |ep, now| {
        ep.dialog(db)?
            .accept(now, Some((SDP, answer.sdp.to_bytes())))
    })
    .unwrap();
    net.run();
    assert_eq!(negotiated(&net.take_events(B)).len(), 1);
    assert_eq!(negotiated(&net.take_events(A)).len(), 1);
}

#[test]
fn an_offer_of_ours_refuses_a_second_until_answered() {
    let mut net = net();
    let (da, db) = call(&mut net);
    net.with(A, |ep, now| ep.dialog(da)?.hold(now)).unwrap();
    net.run();
    // Bob has Alice's offer to answer: he may not offer now (and the re-INVITE is pending).
    let crossing = net.with(B, |ep, now| ep.dialog(db)?.hold(now));
    assert_eq!(
        crossing,
        Err(DialogError::OfferAnswer(OfferAnswerError::OfferPending))
    );
    // Bad SDP of our own is refused before anything is sent.
    let bad = net.with(A, |ep, now| {
        ep.invite(now, invite("v=0\r\nthis is not sdp\r\n"))
    });
    assert!(matches!(bad, Err(DialogError::OfferAnswer(OfferAnswerError::Sdp(e))) if e.line == 2));
}

#[test]
fn an_invite_without_an_offer_gets_ours_in_the_2xx_and_the_answer_in_the_ack() {
    // Alice sends no offer; Bob offers in the 200 (§13.2.1). Alice's core ACKs at once and
    // without a body (a core UAC does not answer an offer in a 2xx), so Bob's offer stays
    // outstanding here: what is checked is the 200's offer and Bob's state.
    let mut net = net_with(false);
    let opts = InviteOptions::new("sip:bob@192.0.2.2", "<sip:alice@x>", "<sip:bob@y>");
    net.with(A, |ep, now| ep.invite(now, opts)).unwrap();
    net.run();
    let db = incoming(&net.take_events(B)).unwrap();
    let media = net
        .with(B, |ep, now| ep.dialog(db)?.answer_offer(now, &bob_media()))
        .unwrap();
    assert!(media.is_empty(), "the media comes with the ACK's answer");
    let state = net.with(B, |ep, _| {
        ep.dialog(db).unwrap().negotiation().unwrap().state()
    });
    assert_eq!(
        state,
        OfferState::LocalOffer(sip_core::dialog::SdpMessage::Success)
    );
    net.run();
    let ok = net
        .wire()
        .into_iter()
        .find(|s| s.line.starts_with("SIP/2.0 200"))
        .unwrap();
    let text = String::from_utf8_lossy(&ok.bytes).into_owned();
    assert!(text.contains("m=audio 6000 RTP/AVP 0 8 101\r\n"), "{text}");
}
