use super::*;
use crate::sdp::Direction;

fn sdp(text: &str) -> Session {
    SessionDescription::parse(text.replace('|', "\r\n").as_bytes())
        .unwrap()
        .into_session()
}

fn alice(version: u64, dir: &str) -> Session {
    sdp(&format!(
        "v=0|o=alice 5 {version} IN IP4 192.0.2.1|s=-|c=IN IP4 192.0.2.1|t=0 0|\
         m=audio 4000 RTP/AVP 0 8|a={dir}|"
    ))
}

fn caps() -> LocalMedia {
    LocalMedia::telephone("198.51.100.7".parse().unwrap(), 30000, 9)
}

const ALL: [SdpMessage; 8] = [
    SdpMessage::Invite,
    SdpMessage::ReliableProvisional,
    SdpMessage::Prack,
    SdpMessage::PrackSuccess,
    SdpMessage::Update,
    SdpMessage::UpdateSuccess,
    SdpMessage::Success,
    SdpMessage::Ack,
];

/// RFC 6337 §2.1, Table 1, row by row; every other pairing is refused.
#[test]
fn which_message_answers_which_offer_rfc6337_table_1() {
    use SdpMessage::*;
    let table = [
        (Invite, Success),
        (Success, Ack),
        (Invite, ReliableProvisional),
        (ReliableProvisional, Prack),
        (Prack, PrackSuccess),
        (Update, UpdateSuccess),
    ];
    for offer in ALL {
        for answer in ALL {
            let allowed = table.contains(&(offer, answer));
            assert_eq!(offer.answered_by(answer), allowed, "{offer:?} → {answer:?}");
            // The state machine applies the same table, both ways.
            let mut n = Negotiation::new();
            n.send_offer(offer, alice(1, "sendrecv")).unwrap();
            let got = n.receive_answer(answer, alice(1, "sendrecv"));
            assert_eq!(got.is_ok(), allowed, "{offer:?} → {answer:?}");
            let mut n = Negotiation::new();
            n.receive_offer(offer, alice(1, "sendrecv")).unwrap();
            assert_eq!(n.send_answer(answer, alice(1, "sendrecv")).is_ok(), allowed);
            if !allowed {
                assert_eq!(
                    n.send_answer(answer, alice(1, "sendrecv")),
                    Err(OfferAnswerError::NotAnAnswerHere { offer, answer })
                );
                assert_eq!(n.state(), OfferState::RemoteOffer(offer));
            }
        }
    }
}

#[test]
fn one_offer_at_a_time() {
    let mut n = Negotiation::new();
    n.send_offer(SdpMessage::Invite, alice(1, "sendrecv"))
        .unwrap();
    // Their offer crossing ours: glare, 491 (RFC 3261 §14.2).
    assert_eq!(
        n.receive_offer(SdpMessage::Invite, alice(1, "sendrecv")),
        Err(OfferAnswerError::Glare)
    );
    assert_eq!(
        n.send_offer(SdpMessage::Update, alice(2, "sendrecv")),
        Err(OfferAnswerError::OfferPending)
    );
    assert_eq!(n.state(), OfferState::LocalOffer(SdpMessage::Invite));
    let mut n = Negotiation::new();
    n.receive_offer(SdpMessage::Invite, alice(1, "sendrecv"))
        .unwrap();
    assert_eq!(
        n.receive_offer(SdpMessage::Update, alice(1, "sendrecv")),
        Err(OfferAnswerError::OfferPending)
    );
    assert_eq!(
        n.send_offer(SdpMessage::Update, alice(1, "sendrecv")),
        Err(OfferAnswerError::OfferPending)
    );
    // Nothing to answer in Stable.
    let mut n = Negotiation::new();
    assert_eq!(
        n.send_answer(SdpMessage::Success, alice(1, "sendrecv")),
        Err(OfferAnswerError::NoOffer)
    );
    assert_eq!(
        n.receive_answer(SdpMessage::Success, alice(1, "sendrecv")),
        Err(OfferAnswerError::NoOffer)
    );
}

#[test]
fn a_failed_reoffer_keeps_the_last_agreement() {
    let mut n = Negotiation::new();
    n.receive_offer(SdpMessage::Invite, alice(1, "sendrecv"))
        .unwrap();
    let a = n.build_answer(&caps()).unwrap();
    n.send_answer(SdpMessage::Success, a.sdp.session().clone())
        .unwrap();
    let agreed = n.local().cloned();
    let hold = n.hold_offer().unwrap();
    n.send_offer(SdpMessage::Invite, hold.into_session())
        .unwrap();
    n.offer_failed();
    assert_eq!(n.state(), OfferState::Stable);
    assert_eq!(n.local().cloned(), agreed);
}

#[test]
fn answers_hold_and_resume_through_the_state() {
    let mut n = Negotiation::new();
    n.receive_offer(SdpMessage::Invite, alice(1, "sendrecv"))
        .unwrap();
    let a = n.build_answer(&caps()).unwrap();
    assert_eq!(a.sdp.origin.session_version, 1);
    let media = n
        .send_answer(SdpMessage::Success, a.sdp.session().clone())
        .unwrap();
    assert_eq!(media, a.media);
    assert_eq!(media[0].direction, Direction::SendRecv);
    // The peer puts us on hold: sendonly is answered recvonly, o= version +1.
    n.receive_offer(SdpMessage::Invite, alice(2, "sendonly"))
        .unwrap();
    let a = n.build_answer(&caps()).unwrap();
    assert_eq!(a.sdp.media[0].direction(), Some(Direction::RecvOnly));
    assert_eq!(a.sdp.origin.session_version, 2);
    assert_eq!(a.sdp.origin.session_id, "9");
    n.send_answer(SdpMessage::Success, a.sdp.into_session())
        .unwrap();
    // Then inactive is answered inactive.
    n.receive_offer(SdpMessage::Invite, alice(3, "inactive"))
        .unwrap();
    let a = n.build_answer(&caps()).unwrap();
    assert_eq!(a.media[0].direction, Direction::Inactive);
    n.send_answer(SdpMessage::Success, a.sdp.into_session())
        .unwrap();
    // We resume from our inactive answer: recvonly; from a sendrecv one, hold is sendonly.
    let r = n.resume_offer().unwrap();
    assert_eq!(r.media[0].direction(), Some(Direction::RecvOnly));
    assert_eq!(r.origin.session_version, 4);
    assert_eq!(n.next_version(), 4);
    n.send_offer(SdpMessage::Invite, r.into_session()).unwrap();
    assert_eq!(n.next_version(), 5);
    let media = n
        .receive_answer(SdpMessage::Success, alice(4, "sendonly"))
        .unwrap();
    assert_eq!(media[0].direction, Direction::RecvOnly);
    assert_eq!(media[0].remote, "192.0.2.1:4000".parse().unwrap());
}

#[test]
fn an_offer_nobody_can_use_is_not_acceptable() {
    let mut n = Negotiation::new();
    n.receive_offer(
        SdpMessage::Invite,
        sdp("v=0|o=- 1 1 IN IP4 192.0.2.1|s=-|c=IN IP4 192.0.2.1|t=0 0|m=audio 4000 RTP/AVP 18|"),
    )
    .unwrap();
    assert_eq!(
        n.build_answer(&caps()),
        Err(OfferAnswerError::NotAcceptable(
            NegotiationError::IncompatibleMediaFormat
        ))
    );
}
