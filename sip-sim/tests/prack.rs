//! Reliable provisional responses and PRACK (RFC 3262) between two user agents, at exact
//! virtual times.
//!
//! A 10 ms lossless link (losses are made with drop filters): a message sent at `t` arrives
//! at `t + 10 ms`. Alice (10.0.0.1) calls Bob (10.0.0.2) at 0 with `Require: 100rel`; Bob
//! rings at once (his 180 leaves at 10 ms) and answers as each test says. T1 is 500 ms.

use std::cell::Cell;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use sip_core::dialog::{DialogState, EndReason, ReliableProvisionals};
use sip_core::endpoint::{EndpointConfig, Event, InviteOptions};
use sip_core::message::Method;
use sip_sim::sip::{Match, TraceExt, ms};
use sip_sim::{LinkConfig, NodeId, Sim, TraceKind, Transport, UaNode};

fn alice_addr() -> SocketAddr {
    "10.0.0.1:5060".parse().unwrap()
}

fn bob_addr() -> SocketAddr {
    "10.0.0.2:5060".parse().unwrap()
}

const OFFER: &[u8] = b"v=0\r\no=- 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

fn config(addr: SocketAddr, prack: ReliableProvisionals, offer_answer: bool) -> EndpointConfig {
    EndpointConfig {
        reliable_provisionals: prack,
        offer_answer,
        ..EndpointConfig::with_local(Transport::Udp, addr)
    }
}

/// How Bob answers the call.
#[derive(Clone, Copy)]
enum Bob {
    /// 180 at once, 200 after this long.
    RingThenAccept(Duration),
    /// A reliable 183 carrying an offer and, at once, the 200 (which must wait for the
    /// PRACK, §3).
    OfferIn183ThenAccept,
}

struct Call {
    sim: Sim,
    alice: NodeId,
    bob: NodeId,
}

fn call(bob_does: Bob, alice_prack: ReliableProvisionals, require: bool) -> Call {
    let mut sim = Sim::new(1);
    sim.set_default_link(LinkConfig::ideal(ms(10)));
    let alice = UaNode::with_config(
        sim.base(),
        alice_addr(),
        config(alice_addr(), alice_prack, false),
        1,
    );
    let bob_cfg = config(bob_addr(), ReliableProvisionals::Supported, true);
    let bob = UaNode::with_config(sim.base(), bob_addr(), bob_cfg, 2).react(move |ctl, e| {
        let Event::IncomingCall { dialog, .. } = e else {
            return;
        };
        let d = *dialog;
        match bob_does {
            Bob::RingThenAccept(after) => {
                ctl.ep.dialog(d).unwrap().ring(ctl.now).unwrap();
                ctl.after(after, move |ep, now| {
                    let _ = ep.dialog(d).and_then(|mut d| d.accept(now, None));
                });
            }
            Bob::OfferIn183ThenAccept => {
                let mut h = ctl.ep.dialog(d).unwrap();
                let body = Some(("application/sdp", Bytes::from_static(OFFER)));
                h.provisional(ctl.now, 183, body).unwrap();
                h.accept(ctl.now, None).unwrap();
            }
        }
    });
    let a = sim.add_node(alice_addr(), alice);
    let b = sim.add_node(bob_addr(), bob);
    let mut opts = InviteOptions::new("sip:bob@10.0.0.2", "<sip:alice@a>", "<sip:bob@b>");
    if require {
        opts = opts.header("Require", "100rel");
    }
    sim.with_node(a, |n: &mut UaNode, now| {
        n.with_endpoint(now, |ep, now| ep.invite(now, opts))
    })
    .unwrap()
    .unwrap();
    Call {
        sim,
        alice: a,
        bob: b,
    }
}

fn ua(sim: &Sim, id: NodeId) -> &UaNode {
    sim.node::<UaNode>(id).unwrap()
}

fn final_state(ua: &UaNode) -> Option<DialogState> {
    ua.events.iter().rev().find_map(|(_, e)| match e {
        Event::DialogStateChanged { state, .. } => Some(*state),
        _ => None,
    })
}

fn sent_texts(sim: &Sim, from: SocketAddr, p: Match) -> Vec<String> {
    sim.trace()
        .entries(TraceKind::Sent, p)
        .into_iter()
        .filter(|e| e.from == from)
        .map(|e| String::from_utf8_lossy(sim.message(e.id).unwrap()).into_owned())
        .collect()
}

fn header<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The statuses of the responses Alice's application heard, in order.
fn statuses_heard(ua: &UaNode) -> Vec<u16> {
    ua.events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::DialogResponse { response, .. } => Some(response.status()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_reliable_180_is_prack_ed_and_the_call_goes_on_rfc3262_s3_s4() {
    let mut c = call(
        Bob::RingThenAccept(ms(1000)),
        ReliableProvisionals::Supported,
        true,
    );
    c.sim.run_until(Duration::from_secs(5)).unwrap();
    let invite = &sent_texts(&c.sim, alice_addr(), Match::Request(Method::Invite))[0];
    assert_eq!(header(invite, "Supported"), Some("100rel"));
    let ringing = sent_texts(&c.sim, bob_addr(), Match::Status(180));
    assert_eq!(ringing.len(), 1, "the PRACK came before T1");
    assert_eq!(header(&ringing[0], "Require"), Some("100rel"));
    let rseq: u32 = header(&ringing[0], "RSeq").unwrap().parse().unwrap();
    assert!((1..1 << 31).contains(&rseq));
    // §4: one PRACK, in the early dialog, with RAck = RSeq, the INVITE's CSeq and method.
    let pracks = sent_texts(&c.sim, alice_addr(), Match::Request(Method::Prack));
    assert_eq!(pracks.len(), 1);
    assert_eq!(
        header(&pracks[0], "RAck"),
        Some(&*format!("{rseq} 1 INVITE"))
    );
    assert_eq!(header(&pracks[0], "CSeq"), Some("2 PRACK"));
    assert!(header(&pracks[0], "To").unwrap().contains("tag="));
    assert_eq!(
        c.sim
            .trace()
            .sent_times(bob_addr(), |l: &str| l.starts_with("SIP/2.0 200")),
        vec![ms(30), ms(1010)],
        "200 to the PRACK at once, 200 to the INVITE when Bob accepts"
    );
    assert_eq!(statuses_heard(ua(&c.sim, c.alice)), vec![180, 200]);
    assert_eq!(
        final_state(ua(&c.sim, c.alice)),
        Some(DialogState::Confirmed)
    );
    assert_eq!(final_state(ua(&c.sim, c.bob)), Some(DialogState::Confirmed));
}

#[test]
fn without_prack_the_180_goes_again_at_t1_doubling_then_500_at_64_t1_rfc3262_s3() {
    let mut c = call(
        Bob::RingThenAccept(Duration::from_secs(60)),
        ReliableProvisionals::Supported,
        true,
    );
    c.sim
        .drop_where(|l: &str| l.starts_with("PRACK") || l.starts_with("SIP/2.0 481"));
    c.sim.run_until(Duration::from_secs(40)).unwrap();
    // Sent at 10 ms, then T1, 2·T1, 4·T1, … later, no T2 cap; given up at 64·T1 = 32 s.
    let at = |s: u64| ms(10 + s);
    assert_eq!(
        c.sim.trace().sent_times(bob_addr(), Match::Status(180)),
        vec![
            at(0),
            at(500),
            at(1_500),
            at(3_500),
            at(7_500),
            at(15_500),
            at(31_500)
        ]
    );
    assert_eq!(
        c.sim.trace().sent_times(bob_addr(), Match::Status(500)),
        vec![at(32_000)]
    );
    assert_eq!(
        final_state(ua(&c.sim, c.bob)),
        Some(DialogState::Terminated(EndReason::Rejected(500)))
    );
    // Alice took the 180 once and discarded its retransmissions (§4).
    assert_eq!(statuses_heard(ua(&c.sim, c.alice)), vec![180, 500]);
}

#[test]
fn a_lost_prack_is_retransmitted_and_duplicate_180s_are_not_prack_ed_again_rfc3262_s4() {
    let mut c = call(
        Bob::RingThenAccept(Duration::from_secs(3)),
        ReliableProvisionals::Supported,
        true,
    );
    let dropped = Cell::new(false);
    c.sim.drop_where(move |l: &str| {
        l.starts_with("PRACK") && !dropped.replace(true) // the first PRACK only
    });
    c.sim.run_until(Duration::from_secs(5)).unwrap();
    // Bob's 180 went again at T1 (510 ms), before Alice's PRACK retransmission (Timer E,
    // 520 ms) reached him at 530 ms; no further 180.
    assert_eq!(
        c.sim.trace().sent_times(bob_addr(), Match::Status(180)),
        vec![ms(10), ms(510)]
    );
    let pracks = sent_texts(&c.sim, alice_addr(), Match::Request(Method::Prack));
    assert_eq!(pracks.len(), 2, "the first and its retransmission");
    assert_eq!(
        pracks[0], pracks[1],
        "one PRACK transaction, not a second PRACK"
    );
    assert_eq!(statuses_heard(ua(&c.sim, c.alice)), vec![180, 200]);
    assert_eq!(final_state(ua(&c.sim, c.bob)), Some(DialogState::Confirmed));
}

#[test]
fn the_2xx_waits_for_the_prack_of_an_offer_in_a_reliable_183_rfc3262_s3() {
    let mut c = call(
        Bob::OfferIn183ThenAccept,
        ReliableProvisionals::Supported,
        true,
    );
    // The first PRACK is lost: the 200 waits for its retransmission.
    let dropped = Cell::new(false);
    c.sim
        .drop_where(move |l: &str| l.starts_with("PRACK") && !dropped.replace(true));
    c.sim.run_until(Duration::from_secs(5)).unwrap();
    let early = sent_texts(&c.sim, bob_addr(), Match::Status(183));
    assert_eq!(header(&early[0], "Require"), Some("100rel"));
    assert_eq!(header(&early[0], "Content-Type"), Some("application/sdp"));
    // Bob accepted at 10 ms; the 200 for the INVITE left when the retransmitted PRACK came
    // (sent 520 ms, in at 530 ms), right after the PRACK's own 200.
    let oks = c
        .sim
        .trace()
        .entries(TraceKind::Sent, |l: &str| l.starts_with("SIP/2.0 200"))
        .into_iter()
        .filter(|e| e.from == bob_addr())
        .map(|e| {
            let t = String::from_utf8_lossy(c.sim.message(e.id).unwrap()).into_owned();
            (e.at, header(&t, "CSeq").unwrap().to_owned())
        })
        .collect::<Vec<_>>();
    assert_eq!(
        oks,
        vec![
            (ms(530), "2 PRACK".to_owned()),
            (ms(530), "1 INVITE".to_owned())
        ]
    );
    assert_eq!(
        final_state(ua(&c.sim, c.alice)),
        Some(DialogState::Confirmed)
    );
}

#[test]
fn a_uac_without_100rel_gets_unreliable_provisionals_and_sends_no_prack() {
    let mut c = call(
        Bob::RingThenAccept(ms(100)),
        ReliableProvisionals::Off,
        false,
    );
    c.sim.run_until(Duration::from_secs(2)).unwrap();
    let invite = &sent_texts(&c.sim, alice_addr(), Match::Request(Method::Invite))[0];
    assert_eq!(header(invite, "Supported"), None);
    let ringing = &sent_texts(&c.sim, bob_addr(), Match::Status(180))[0];
    assert_eq!(header(ringing, "RSeq"), None);
    assert!(sent_texts(&c.sim, alice_addr(), Match::Request(Method::Prack)).is_empty());
    assert_eq!(
        final_state(ua(&c.sim, c.alice)),
        Some(DialogState::Confirmed)
    );
}

#[test]
fn require_100rel_is_refused_420_when_100rel_is_off_rfc3261_s8_2_2_3() {
    let mut sim = Sim::new(1);
    sim.set_default_link(LinkConfig::ideal(ms(10)));
    let a = sim.add_node(
        alice_addr(),
        UaNode::with_config(
            sim.base(),
            alice_addr(),
            config(alice_addr(), ReliableProvisionals::Supported, false),
            1,
        ),
    );
    sim.add_node(
        bob_addr(),
        UaNode::with_config(
            sim.base(),
            bob_addr(),
            config(bob_addr(), ReliableProvisionals::Off, false),
            2,
        ),
    );
    let opts = InviteOptions::new("sip:bob@10.0.0.2", "<sip:alice@a>", "<sip:bob@b>")
        .header("Require", "100rel");
    sim.with_node(a, |n: &mut UaNode, now| {
        n.with_endpoint(now, |ep, now| ep.invite(now, opts))
    })
    .unwrap()
    .unwrap();
    sim.run_until(Duration::from_secs(1)).unwrap();
    let refusal = &sent_texts(&sim, bob_addr(), Match::Status(420))[0];
    assert_eq!(header(refusal, "Unsupported"), Some("100rel"));
}

#[test]
fn a_prack_matching_nothing_gets_481_rfc3262_s3() {
    let mut c = call(
        Bob::RingThenAccept(ms(200)),
        ReliableProvisionals::Supported,
        true,
    );
    c.sim.run_until(ms(500)).unwrap();
    // A second PRACK for the same 180, in the dialog, after the first matched.
    let d = ua(&c.sim, c.alice)
        .events
        .iter()
        .find_map(|(_, e)| match e {
            Event::DialogResponse { dialog, .. } => Some(*dialog),
            _ => None,
        })
        .unwrap();
    let rseq = header(
        &sent_texts(&c.sim, bob_addr(), Match::Status(180))[0],
        "RSeq",
    )
    .unwrap()
    .to_owned();
    let rack = format!("{rseq} 1 INVITE");
    c.sim
        .with_node(c.alice, |n: &mut UaNode, now| {
            n.with_endpoint(now, |ep, now| {
                ep.dialog(d)
                    .unwrap()
                    .request(now, Method::Prack, &[("RAck", &rack)], None)
            })
        })
        .unwrap()
        .unwrap();
    c.sim.run_until(Duration::from_secs(2)).unwrap();
    let no_match = sent_texts(&c.sim, bob_addr(), Match::Status(481));
    assert_eq!(no_match.len(), 1);
    assert_eq!(header(&no_match[0], "CSeq"), Some("3 PRACK"));
}
