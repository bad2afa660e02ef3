//! The UAC side of a late offer (RFC 3261 §13.2.1, §13.2.2.4; RFC 6337 §2.1) at exact
//! virtual times: Alice (10.0.0.1) calls Bob (10.0.0.2) at 0 with no session description
//! and her capabilities as `InviteOptions::late_offer`; Bob answers at once with a 200
//! carrying his offer (he has it at 10 ms, Alice has the 200 at 20 ms); Alice's core
//! answers it in the ACK (Bob has it at 30 ms). 10 ms lossless link, offer/answer on.

use std::net::SocketAddr;
use std::time::Duration;

use sip_core::dialog::{DialogState, EndReason, OfferState, SDP};
use sip_core::endpoint::{EndpointConfig, Event, InviteOptions};
use sip_core::message::Method;
use sip_core::sdp::Direction;
use sip_core::sdp::negotiate::{Codec, LocalMedia, offer};
use sip_sim::sip::{Match, TraceExt, ms};
use sip_sim::{LinkConfig, Sim, TraceKind, Transport, UaNode};

fn alice_addr() -> SocketAddr {
    "10.0.0.1:5060".parse().unwrap()
}

fn bob_addr() -> SocketAddr {
    "10.0.0.2:5060".parse().unwrap()
}

fn config(addr: SocketAddr) -> EndpointConfig {
    EndpointConfig {
        offer_answer: true,
        ..EndpointConfig::with_local(Transport::Udp, addr)
    }
}

fn media_times(ua: &UaNode) -> Vec<(Duration, Vec<sip_core::sdp::negotiate::NegotiatedMedia>)> {
    ua.events
        .iter()
        .filter_map(|(t, e)| match e {
            Event::MediaNegotiated { media, .. } => Some((*t, media.clone())),
            _ => None,
        })
        .collect()
}

/// Runs the call with Bob offering `bob_caps`; returns the sim, Alice's node, her dialog.
fn call(
    bob_caps: LocalMedia,
) -> (
    Sim,
    sip_sim::NodeId,
    sip_sim::NodeId,
    sip_core::dialog::DialogId,
) {
    let mut sim = Sim::new(1);
    sim.set_default_link(LinkConfig::ideal(ms(10)));
    let bob =
        UaNode::with_config(sim.base(), bob_addr(), config(bob_addr()), 2).react(move |ctl, e| {
            if let Event::IncomingCall { dialog, .. } = e {
                let body = Some((SDP, offer(&bob_caps, 1).to_bytes()));
                ctl.ep
                    .dialog(*dialog)
                    .and_then(|mut d| d.accept(ctl.now, body))
                    .unwrap();
            }
        });
    let a = sim.add_node(
        alice_addr(),
        UaNode::with_config(sim.base(), alice_addr(), config(alice_addr()), 1),
    );
    let b = sim.add_node(bob_addr(), bob);
    let caps = LocalMedia::telephone(alice_addr().ip(), 4000, 7);
    let opts =
        InviteOptions::new("sip:bob@10.0.0.2", "<sip:alice@a>", "<sip:bob@b>").late_offer(caps);
    let d = sim
        .with_node(a, |n: &mut UaNode, now| {
            n.with_endpoint(now, |ep, now| ep.invite(now, opts))
        })
        .unwrap()
        .unwrap();
    sim.run_until(Duration::from_secs(2)).unwrap();
    (sim, a, b, d)
}

fn sent(sim: &Sim, from: SocketAddr, p: Match) -> Vec<String> {
    sim.trace()
        .entries(TraceKind::Sent, p)
        .into_iter()
        .filter(|e| e.from == from)
        .map(|e| String::from_utf8_lossy(sim.message(e.id).unwrap()).into_owned())
        .collect()
}

#[test]
fn an_offer_in_the_2xx_is_answered_in_the_ack_rfc3261_13_2_2_4() {
    let (mut sim, a, b, d) = call(LocalMedia::telephone(bob_addr().ip(), 6000, 9));
    let invite = &sent(&sim, alice_addr(), Match::Request(Method::Invite))[0];
    assert!(
        invite.ends_with("\r\n\r\n"),
        "no offer in the INVITE: {invite}"
    );
    let acks = sent(&sim, alice_addr(), Match::Request(Method::Ack));
    assert_eq!(acks.len(), 1);
    assert!(
        acks[0].contains("Content-Type: application/sdp\r\n"),
        "{}",
        acks[0]
    );
    // The answer: Alice's address and port, Bob's payload numbers in his order.
    assert!(acks[0].contains("c=IN IP4 10.0.0.1\r\n"));
    assert!(
        acks[0].contains("m=audio 4000 RTP/AVP 0 8 101\r\n"),
        "{}",
        acks[0]
    );
    // Each side has the media at the instant it has the other's description.
    let alice = media_times(sim.node::<UaNode>(a).unwrap());
    assert_eq!(alice.len(), 1);
    assert_eq!(alice[0].0, ms(20));
    assert_eq!(alice[0].1[0].remote, "10.0.0.2:6000".parse().unwrap());
    assert_eq!(alice[0].1[0].codec, "PCMU");
    assert_eq!(alice[0].1[0].direction, Direction::SendRecv);
    let bob = media_times(sim.node::<UaNode>(b).unwrap());
    assert_eq!(bob.len(), 1);
    assert_eq!(bob[0].0, ms(30));
    assert_eq!(bob[0].1[0].remote, "10.0.0.1:4000".parse().unwrap());
    // Both negotiations are stable, the call up.
    let node = sim.node_mut::<UaNode>(a).unwrap();
    let h = node.ep.dialog(d).unwrap();
    assert_eq!(h.negotiation().unwrap().state(), OfferState::Stable);
    assert_eq!(h.state(), Some(DialogState::Confirmed));
}

#[test]
fn an_unacceptable_offer_in_the_2xx_gets_a_refusing_answer_in_the_ack_then_bye() {
    // Bob offers G.729 only: nothing Alice takes.
    let mut g729 = LocalMedia::telephone(bob_addr().ip(), 6000, 9);
    g729.streams[0].codecs = vec![Codec::new(18, "G729", 8000)];
    let (sim, a, _, d) = call(g729);
    let acks = sent(&sim, alice_addr(), Match::Request(Method::Ack));
    assert!(acks[0].contains("m=audio 0 RTP/AVP 18\r\n"), "{}", acks[0]);
    // §13.2.2.4: BYE right after the ACK, at the same instant.
    let t = |m| sim.trace().sent_times(alice_addr(), Match::Request(m));
    assert_eq!(t(Method::Ack), vec![ms(20)]);
    assert_eq!(t(Method::Bye), vec![ms(20)]);
    let alice = sim.node::<UaNode>(a).unwrap();
    assert!(media_times(alice).is_empty());
    let last = alice.events.iter().rev().find_map(|(_, e)| match e {
        Event::DialogStateChanged { dialog, state } if *dialog == d => Some(*state),
        _ => None,
    });
    assert_eq!(
        last,
        Some(DialogState::Terminated(EndReason::Rejected(488)))
    );
}

/// Without the capabilities, the ACK carries no body, as before (the offer is not taken).
#[test]
fn without_late_offer_capabilities_the_ack_has_no_body() {
    let mut sim = Sim::new(1);
    sim.set_default_link(LinkConfig::ideal(ms(10)));
    let bob_caps = LocalMedia::telephone(bob_addr().ip(), 6000, 9);
    let bob =
        UaNode::with_config(sim.base(), bob_addr(), config(bob_addr()), 2).react(move |ctl, e| {
            if let Event::IncomingCall { dialog, .. } = e {
                let body = Some((SDP, offer(&bob_caps, 1).to_bytes()));
                ctl.ep
                    .dialog(*dialog)
                    .and_then(|mut d| d.accept(ctl.now, body))
                    .unwrap();
            }
        });
    let a = sim.add_node(
        alice_addr(),
        UaNode::with_config(sim.base(), alice_addr(), config(alice_addr()), 1),
    );
    sim.add_node(bob_addr(), bob);
    let opts = InviteOptions::new("sip:bob@10.0.0.2", "<sip:alice@a>", "<sip:bob@b>");
    sim.with_node(a, |n: &mut UaNode, now| {
        n.with_endpoint(now, |ep, now| ep.invite(now, opts))
    })
    .unwrap()
    .unwrap();
    sim.run_until(Duration::from_secs(2)).unwrap();
    let acks = sent(&sim, alice_addr(), Match::Request(Method::Ack));
    assert!(
        acks[0].ends_with("Content-Length: 0\r\n\r\n"),
        "{}",
        acks[0]
    );
}

/// Bob puts his offer in a reliable 180 (RFC 3262 §5, he prefers 100rel): Alice's core
/// answers it in the PRACK (sent at 20 ms, at Bob's at 30 ms); Bob's 200 at 100 ms has no
/// body, the ACK none either, and the media were agreed once on each side.
#[test]
fn an_offer_in_a_reliable_180_is_answered_in_the_prack_rfc3262_s5() {
    use sip_core::dialog::ReliableProvisionals;
    let mut sim = Sim::new(1);
    sim.set_default_link(LinkConfig::ideal(ms(10)));
    let reliable = |addr, r| EndpointConfig {
        reliable_provisionals: r,
        ..config(addr)
    };
    let bob_caps = LocalMedia::telephone(bob_addr().ip(), 6000, 9);
    let bob_config = reliable(bob_addr(), ReliableProvisionals::Preferred);
    let bob = UaNode::with_config(sim.base(), bob_addr(), bob_config, 2).react(move |ctl, e| {
        if let Event::IncomingCall { dialog, .. } = e {
            let body = Some((SDP, offer(&bob_caps, 1).to_bytes()));
            ctl.ep
                .dialog(*dialog)
                .and_then(|mut d| d.provisional(ctl.now, 180, body))
                .unwrap();
            let d = *dialog;
            ctl.after(ms(90), move |ep, now| {
                ep.dialog(d).and_then(|mut d| d.accept(now, None)).unwrap();
            });
        }
    });
    let alice_config = reliable(alice_addr(), ReliableProvisionals::Supported);
    let a = sim.add_node(
        alice_addr(),
        UaNode::with_config(sim.base(), alice_addr(), alice_config, 1),
    );
    let b = sim.add_node(bob_addr(), bob);
    let opts = InviteOptions::new("sip:bob@10.0.0.2", "<sip:alice@a>", "<sip:bob@b>")
        .late_offer(LocalMedia::telephone(alice_addr().ip(), 4000, 7));
    let d = sim
        .with_node(a, |n: &mut UaNode, now| {
            n.with_endpoint(now, |ep, now| ep.invite(now, opts))
        })
        .unwrap()
        .unwrap();
    sim.run_until(Duration::from_secs(2)).unwrap();
    let pracks = sent(&sim, alice_addr(), Match::Request(Method::Prack));
    assert_eq!(pracks.len(), 1);
    assert!(
        pracks[0].contains("m=audio 4000 RTP/AVP 0 8 101\r\n"),
        "{}",
        pracks[0]
    );
    assert_eq!(
        sim.trace()
            .sent_times(alice_addr(), Match::Request(Method::Prack)),
        vec![ms(20)]
    );
    let oks = sent(&sim, bob_addr(), Match::Status(200));
    let invite_ok = oks.iter().find(|t| t.contains("CSeq: 1 INVITE")).unwrap();
    assert!(
        invite_ok.ends_with("Content-Length: 0\r\n\r\n"),
        "{invite_ok}"
    );
    let acks = sent(&sim, alice_addr(), Match::Request(Method::Ack));
    assert!(
        acks[0].ends_with("Content-Length: 0\r\n\r\n"),
        "{}",
        acks[0]
    );
    let alice: Vec<Duration> = media_times(sim.node::<UaNode>(a).unwrap())
        .into_iter()
        .map(|m| m.0)
        .collect();
    let bob: Vec<Duration> = media_times(sim.node::<UaNode>(b).unwrap())
        .into_iter()
        .map(|m| m.0)
        .collect();
    assert_eq!((alice, bob), (vec![ms(20)], vec![ms(30)]));
    let node = sim.node_mut::<UaNode>(a).unwrap();
    let h = node.ep.dialog(d).unwrap();
    assert_eq!(h.negotiation().unwrap().state(), OfferState::Stable);
    assert_eq!(h.state(), Some(DialogState::Confirmed));
}
