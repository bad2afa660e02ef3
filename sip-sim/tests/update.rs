//! UPDATE (RFC 3311) between two user agents with offer/answer on, at exact virtual times.
//!
//! A 10 ms lossless link: a message sent at `t` arrives at `t + 10 ms`. Alice (10.0.0.1)
//! calls Bob (10.0.0.2) at 0 with an offer; Bob answers it in a 200 at once (unless a test
//! says otherwise), and answers every UPDATE offer through `answer_offer`.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use sip_core::dialog::{DialogId, DialogState, ReliableProvisionals, SDP};
use sip_core::endpoint::{EndpointConfig, Event, InviteOptions};
use sip_core::message::Method;
use sip_core::sdp::negotiate::{LocalMedia, offer};
use sip_sim::sip::{Match, TraceExt, ms};
use sip_sim::{LinkConfig, NodeId, Sim, TraceKind, Transport, UaNode};

fn alice_addr() -> SocketAddr {
    "10.0.0.1:5060".parse().unwrap()
}

fn bob_addr() -> SocketAddr {
    "10.0.0.2:5060".parse().unwrap()
}

fn caps(addr: SocketAddr) -> LocalMedia {
    LocalMedia::telephone(addr.ip(), 4000, 7)
}

fn sdp_offer(addr: SocketAddr, version: u64) -> Option<(&'static str, Bytes)> {
    Some((SDP, offer(&caps(addr), version).to_bytes()))
}

fn config(addr: SocketAddr, offer_answer: bool) -> EndpointConfig {
    EndpointConfig {
        offer_answer,
        reliable_provisionals: ReliableProvisionals::Supported,
        ..EndpointConfig::with_local(Transport::Udp, addr)
    }
}

/// How a UA answers a new call.
#[derive(Clone, Copy, PartialEq)]
enum OnCall {
    /// `answer_offer` at once.
    Accept,
    /// A 180, then `answer_offer` after this long.
    RingFor(Duration),
}

/// A UA that answers calls as `on_call` says and every UPDATE or re-INVITE offer through
/// `answer_offer`, after `delay`.
fn ua_node(sim: &Sim, addr: SocketAddr, seed: u64, on_call: OnCall, delay: Duration) -> UaNode {
    UaNode::with_config(sim.base(), addr, config(addr, true), seed).react(move |ctl, e| {
        let (d, wait) = match e {
            Event::IncomingCall { dialog, .. } => match on_call {
                OnCall::Accept => (*dialog, Duration::ZERO),
                OnCall::RingFor(t) => {
                    ctl.ep.dialog(*dialog).unwrap().ring(ctl.now).unwrap();
                    (*dialog, t)
                }
            },
            Event::DialogRequest { tx, request, .. }
                if *request.method() == Method::Update && request.body().is_empty() =>
            {
                ctl.ep.respond_with(ctl.now, *tx, 200).unwrap();
                return;
            }
            Event::DialogRequest {
                dialog, request, ..
            } if matches!(request.method(), Method::Update | Method::Invite)
                && !request.body().is_empty() =>
            {
                (*dialog, delay)
            }
            _ => return,
        };
        let caps = caps(addr);
        ctl.after(wait, move |ep, now| {
            let _ = ep.dialog(d).and_then(|mut d| d.answer_offer(now, &caps));
        });
    })
}

struct Call {
    sim: Sim,
    alice: NodeId,
    bob: NodeId,
    dialog: DialogId,
}

fn call(alice: impl FnOnce(&Sim) -> UaNode, bob_on_call: OnCall, bob_delay: Duration) -> Call {
    let mut sim = Sim::new(1);
    sim.set_default_link(LinkConfig::ideal(ms(10)));
    let bob = ua_node(&sim, bob_addr(), 2, bob_on_call, bob_delay);
    let alice = alice(&sim);
    let a = sim.add_node(alice_addr(), alice);
    let b = sim.add_node(bob_addr(), bob);
    let (ct, body) = sdp_offer(alice_addr(), 1).unwrap();
    let opts =
        InviteOptions::new("sip:bob@10.0.0.2", "<sip:alice@a>", "<sip:bob@b>").body(ct, body);
    let dialog = sim
        .with_node(a, |n: &mut UaNode, now| {
            n.with_endpoint(now, |ep, now| ep.invite(now, opts))
        })
        .unwrap()
        .unwrap();
    Call {
        sim,
        alice: a,
        bob: b,
        dialog,
    }
}

fn ua(sim: &Sim, id: NodeId) -> &UaNode {
    sim.node::<UaNode>(id).unwrap()
}

fn media_events(ua: &UaNode) -> Vec<Duration> {
    ua.events
        .iter()
        .filter_map(|(t, e)| matches!(e, Event::MediaNegotiated { .. }).then_some(*t))
        .collect()
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

fn update(sim: &mut Sim, node: NodeId, dialog: DialogId, version: u64) {
    let addr = sim.node_addr(node).unwrap();
    sim.with_node(node, |n: &mut UaNode, now| {
        n.with_endpoint(now, |ep, now| {
            ep.dialog(dialog)
                .unwrap()
                .update(now, sdp_offer(addr, version))
        })
    })
    .unwrap()
    .unwrap();
}

fn alice(sim: &Sim) -> UaNode {
    ua_node(sim, alice_addr(), 1, OnCall::Accept, Duration::ZERO)
}

#[test]
fn an_update_offer_in_a_confirmed_dialog_is_answered_in_its_200_rfc3311_s5() {
    let mut c = call(alice, OnCall::Accept, Duration::ZERO);
    c.sim.run_until(ms(100)).unwrap();
    update(&mut c.sim, c.alice, c.dialog, 2);
    c.sim.run_until(ms(500)).unwrap();
    let oks = sent_texts(&c.sim, bob_addr(), Match::Status(200));
    let ok = oks.iter().find(|t| t.contains("CSeq: 2 UPDATE")).unwrap();
    assert_eq!(header(ok, "Content-Type"), Some("application/sdp"));
    assert!(
        header(ok, "Contact").is_some(),
        "UPDATE is a target refresh"
    );
    assert!(ok.contains("m=audio 4000 RTP/AVP 0 8 101"));
    // Alice's media: after the INVITE's 2xx (20 ms) and after the UPDATE's (120 ms).
    assert_eq!(media_events(ua(&c.sim, c.alice)), vec![ms(20), ms(120)]);
    assert_eq!(media_events(ua(&c.sim, c.bob)), vec![ms(10), ms(110)]);
}

#[test]
fn crossing_update_offers_get_491_both_ways_and_are_retried_after_rfc3261_14_1_intervals() {
    let mut c = call(alice, OnCall::Accept, Duration::ZERO);
    c.sim.run_until(ms(100)).unwrap();
    let bob_dialog = ua(&c.sim, c.bob)
        .events
        .iter()
        .find_map(|(_, e)| match e {
            Event::IncomingCall { dialog, .. } => Some(*dialog),
            _ => None,
        })
        .unwrap();
    // Both offer at 100 ms: each UPDATE arrives while the receiver's own is unanswered.
    update(&mut c.sim, c.alice, c.dialog, 2);
    update(&mut c.sim, c.bob, bob_dialog, 2);
    c.sim.run_until(Duration::from_secs(5)).unwrap();
    assert_eq!(
        c.sim.trace().sent_times(alice_addr(), Match::Status(491)),
        vec![ms(110)]
    );
    assert_eq!(
        c.sim.trace().sent_times(bob_addr(), Match::Status(491)),
        vec![ms(110)]
    );
    // Each side had the 491 at 120 ms and sends its UPDATE again on its own (RFC 3311 §5.1,
    // RFC 3261 §14.1): Bob, who does not own the Call-ID, within 0–2 s, Alice (the
    // caller) within 2.1–4 s, both in units of 10 ms, so the retries cannot cross.
    let updates = |from| {
        c.sim
            .trace()
            .sent_times(from, Match::Request(Method::Update))
    };
    let (a, b) = (updates(alice_addr()), updates(bob_addr()));
    assert_eq!((a.len(), b.len()), (2, 2), "{a:?} {b:?}");
    let (ta, tb) = (a[1] - ms(120), b[1] - ms(120));
    assert!(
        tb <= ms(2000) && tb.as_millis().is_multiple_of(10),
        "Bob's retry after {tb:?}"
    );
    assert!(
        (ms(2100)..=ms(4000)).contains(&ta) && ta.as_millis().is_multiple_of(10),
        "Alice's retry after {ta:?}"
    );
    // No more 491: both retries are answered, and each side agrees media twice more, at
    // exact times: Bob's retry is answered by Alice on arrival, Alice's by Bob.
    assert_eq!(
        media_events(ua(&c.sim, c.alice)),
        vec![ms(20), b[1] + ms(10), a[1] + ms(20)]
    );
    assert_eq!(
        media_events(ua(&c.sim, c.bob)),
        vec![ms(10), b[1] + ms(20), a[1] + ms(10)]
    );
    // The retried offer is a new description: its o= version grew (RFC 3264 §8).
    let texts = sent_texts(&c.sim, alice_addr(), Match::Request(Method::Update));
    let version = |t: &str| {
        let o = t.lines().find(|l| l.starts_with("o=")).unwrap();
        o.split(' ').nth(2).unwrap().parse::<u64>().unwrap()
    };
    assert!(version(&texts[1]) > version(&texts[0]), "{texts:?}");
}

#[test]
fn an_update_offer_while_the_peers_reinvite_offer_is_unanswered_gets_500_with_retry_after_rfc3311_s5_2()
 {
    // Alice does not track offers (offer/answer off), so she can send an UPDATE offer
    // while her re-INVITE's offer is still unanswered by Bob (who waits 1 s).
    let plain =
        |sim: &Sim| UaNode::with_config(sim.base(), alice_addr(), config(alice_addr(), false), 1);
    let mut c = call(plain, OnCall::Accept, Duration::from_secs(1));
    c.sim.run_until(ms(100)).unwrap();
    c.sim
        .with_node(c.alice, |n: &mut UaNode, now| {
            n.with_endpoint(now, |ep, now| {
                let mut d = ep.dialog(c.dialog).unwrap();
                d.reinvite(now, sdp_offer(alice_addr(), 2))?;
                d.update(now, sdp_offer(alice_addr(), 3))
            })
        })
        .unwrap()
        .unwrap();
    c.sim.run_until(Duration::from_secs(2)).unwrap();
    let refused = sent_texts(&c.sim, bob_addr(), Match::Status(500));
    assert_eq!(refused.len(), 1);
    assert_eq!(header(&refused[0], "CSeq"), Some("3 UPDATE"));
    let secs: u32 = header(&refused[0], "Retry-After").unwrap().parse().unwrap();
    assert!(secs <= 10);
    // The re-INVITE's offer was answered after all, 1 s later.
    let oks = sent_texts(&c.sim, bob_addr(), Match::Status(200));
    assert!(oks.iter().any(|t| t.contains("CSeq: 2 INVITE")));
}

#[test]
fn an_update_offer_in_an_early_dialog_is_answered_before_the_call_is_rfc3311_s5_1() {
    // Bob rings for 1 s and answers Alice's INVITE offer only in his 200: while it is
    // outstanding her early UPDATE offer is refused locally (one offer at a time); an
    // UPDATE without a body goes out in the early dialog and Bob's application answers it
    // 200.
    let mut c = call(
        alice,
        OnCall::RingFor(Duration::from_secs(1)),
        Duration::ZERO,
    );
    c.sim.run_until(ms(100)).unwrap();
    assert_eq!(
        ua(&c.sim, c.alice).ep.dialog_state(c.dialog),
        Some(DialogState::Early)
    );
    let refused = c
        .sim
        .with_node(c.alice, |n: &mut UaNode, now| {
            n.with_endpoint(now, |ep, now| {
                ep.dialog(c.dialog)
                    .unwrap()
                    .update(now, sdp_offer(alice_addr(), 2))
            })
        })
        .unwrap();
    assert!(refused.is_err(), "one offer at a time (RFC 3264 §4)");
    c.sim
        .with_node(c.alice, |n: &mut UaNode, now| {
            n.with_endpoint(now, |ep, now| {
                ep.dialog(c.dialog).unwrap().update(now, None)
            })
        })
        .unwrap()
        .unwrap();
    c.sim.run_until(Duration::from_secs(2)).unwrap();
    let updates = sent_texts(&c.sim, alice_addr(), Match::Request(Method::Update));
    assert_eq!(updates.len(), 1);
    assert!(header(&updates[0], "To").unwrap().contains("tag="));
    assert_eq!(
        ua(&c.sim, c.alice).ep.dialog_state(c.dialog),
        Some(DialogState::Confirmed)
    );
}
