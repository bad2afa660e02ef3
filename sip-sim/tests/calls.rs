//! Calls and transfers through the simulator with the dialog layer on (issue 5 scenarios),
//! over lossy links: every scenario runs on several seeds at 20 % loss and must end with
//! every dialog terminated and every table empty.

use bytes::Bytes;
use sip_core::dialog::{DialogId, DialogState, EndReason, ReferEvent, ReferId};
use sip_core::endpoint::{Event, InviteOptions, Target};
use sip_sim::{LinkConfig, Sim, Transport, UaNode};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

const ALICE: &str = "10.0.0.1:5060";
const BOB: &str = "10.0.0.2:5060";
const CAROL: &str = "10.0.0.3:5060";

fn a(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// A UA that answers every call with 180 then `status` after 300 ms.
fn answering(sim: &Sim, addr: &str, seed: u64, status: u16) -> UaNode {
    UaNode::new(sim.base(), a(addr), seed).react(move |ctl, e| {
        if let Event::IncomingCall { dialog, .. } = e {
            let d = *dialog;
            let _ = ctl
                .ep
                .dialog(d)
                .and_then(|mut d| d.answer(ctl.now, 180, None));
            ctl.after(Duration::from_millis(300), move |ep, now| {
                let _ = ep.dialog(d).and_then(|mut d| {
                    d.answer(
                        now,
                        status,
                        Some(("application/sdp", Bytes::from_static(b"v=0\r\n"))),
                    )
                });
            });
        }
    })
}

fn lossy(loss: f64) -> LinkConfig {
    LinkConfig::ideal(Duration::from_millis(20))
        .with_jitter(Duration::from_millis(5))
        .with_loss(loss)
}

fn refer_events(ua: &UaNode, r: ReferId) -> Vec<ReferEvent> {
    ua.events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Refer { refer, event, .. } if *refer == r => Some(*event),
            _ => None,
        })
        .collect()
}

fn final_state(ua: &UaNode, d: DialogId) -> Option<DialogState> {
    ua.events.iter().rev().find_map(|(_, e)| match e {
        Event::DialogStateChanged { dialog, state } if *dialog == d => Some(*state),
        _ => None,
    })
}

#[test]
fn calls_complete_over_a_lossy_link() {
    for seed in 0..20 {
        let mut sim = Sim::new(seed);
        sim.set_default_link(lossy(0.2));
        let alice = UaNode::new(sim.base(), a(ALICE), seed * 10 + 1).react(|ctl, e| {
            if let Event::DialogStateChanged {
                dialog,
                state: DialogState::Confirmed,
            } = e
            {
                let d = *dialog;
                ctl.after(Duration::from_secs(2), move |ep, now| {
                    let _ = ep.dialog(d).and_then(|mut d| d.hangup(now));
                });
            }
        });
        let ia = sim.add_node(a(ALICE), alice);
        let ib = sim.add_node(a(BOB), answering(&sim, BOB, seed * 10 + 2, 200));
        let d = sim
            .with_node(ia, |n: &mut UaNode, now| {
                n.with_endpoint(now, |ep, now| {
                    ep.invite(
                        now,
                        InviteOptions::new("sip:bob@10.0.0.2", "<sip:alice@a>", "<sip:bob@b>")
                            .target(Target::new(Transport::Udp, a(BOB))),
                    )
                })
            })
            .unwrap()
            .unwrap();
        sim.run_until_idle().unwrap();
        let alice = sim.node::<UaNode>(ia).unwrap();
        assert_eq!(
            final_state(alice, d),
            Some(DialogState::Terminated(EndReason::LocalBye)),
            "seed {seed}"
        );
        let bob = sim.node::<UaNode>(ib).unwrap();
        let bd = bob.events.iter().find_map(|(_, e)| match e {
            Event::IncomingCall { dialog, .. } => Some(*dialog),
            _ => None,
        });
        let bd = bd.unwrap();
        let bob_end = final_state(bob, bd);
        assert!(
            matches!(
                bob_end,
                Some(DialogState::Terminated(
                    EndReason::RemoteBye | EndReason::Timeout
                ))
            ),
            "seed {seed}: {bob_end:?}"
        );
        for id in [ia, ib] {
            let n = sim.node_mut::<UaNode>(id).unwrap();
            assert_eq!(n.ep.transaction_count(), (0, 0), "seed {seed}");
            assert_eq!(n.ep.dialog_count(), 0, "seed {seed}");
        }
    }
}

/// Bob's side of a blind transfer: accept the REFER, call the target, report its progress.
fn transferee(sim: &Sim, seed: u64, accept: bool) -> UaNode {
    let mut calls: HashMap<DialogId, ReferId> = HashMap::new();
    answering(sim, BOB, seed, 200).react(move |ctl, e| match e {
        Event::IncomingCall { dialog, .. } => {
            let d = *dialog;
            let _ = ctl.ep.dialog(d).and_then(|mut d| {
                d.answer(
                    ctl.now,
                    200,
                    Some(("application/sdp", Bytes::from_static(b"v=0\r\n"))),
                )
            });
        }
        Event::ReferReceived {
            refer, refer_to, ..
        } => {
            if !accept {
                let _ = ctl
                    .ep
                    .refer(*refer)
                    .and_then(|mut r| r.reject(ctl.now, 603));
                return;
            }
            ctl.ep
                .refer(*refer)
                .and_then(|mut r| r.accept(ctl.now))
                .unwrap();
            let uri = refer_to.trim_matches(|c| c == '<' || c == '>').to_owned();
            let d = ctl
                .ep
                .invite(
                    ctl.now,
                    InviteOptions::new(uri, "<sip:bob@b>", "<sip:carol@c>"),
                )
                .unwrap();
            calls.insert(d, *refer);
        }
        Event::DialogResponse {
            dialog, response, ..
        } => {
            if let Some(r) = calls.get(dialog) {
                let code = response.status();
                if code > 100 {
                    let _ = ctl.ep.refer(*r).and_then(|mut r| r.notify(ctl.now, code));
                }
                if code == 200 {
                    let d = *dialog;
                    ctl.after(Duration::from_secs(1), move |ep, now| {
                        let _ = ep.dialog(d).and_then(|mut d| d.hangup(now));
                    });
                }
            }
        }
        _ => {}
    })
}

struct Transfer {
    alice_refer: Vec<ReferEvent>,
    alice_call_end: Option<DialogState>,
}

fn blind_transfer(seed: u64, loss: f64, carol_answers: u16, bob_accepts: bool) -> Transfer {
    let mut sim = Sim::new(seed);
    sim.set_default_link(lossy(loss));
    let mut refer = None;
    let alice = UaNode::new(sim.base(), a(ALICE), seed * 10 + 1).react(move |ctl, e| match e {
        Event::DialogStateChanged {
            dialog,
            state: DialogState::Confirmed,
        } if refer.is_none() => {
            refer = Some(
                ctl.ep
                    .dialog(*dialog)
                    .and_then(|mut d| d.refer(ctl.now, "sip:carol@10.0.0.3"))
                    .unwrap(),
            );
        }
        Event::Refer { dialog, event, .. } if event.is_final() => {
            let _ = ctl.ep.dialog(*dialog).and_then(|mut d| d.hangup(ctl.now));
        }
        _ => {}
    });
    let ia = sim.add_node(a(ALICE), alice);
    let ib = sim.add_node(a(BOB), transferee(&sim, seed * 10 + 2, bob_accepts));
    let ic = sim.add_node(
        a(CAROL),
        answering(&sim, CAROL, seed * 10 + 3, carol_answers),
    );
    let d = sim
        .with_node(ia, |n: &mut UaNode, now| {
            n.with_endpoint(now, |ep, now| {
                ep.invite(
                    now,
                    InviteOptions::new("sip:bob@10.0.0.2", "<sip:alice@a>", "<sip:bob@b>"),
                )
            })
        })
        .unwrap()
        .unwrap();
    sim.run_until_idle().unwrap();
    let alice = sim.node::<UaNode>(ia).unwrap();
    let r = alice
        .events
        .iter()
        .find_map(|(_, e)| match e {
            Event::Refer { refer, .. } => Some(*refer),
            _ => None,
        })
        .expect("a REFER outcome");
    let out = Transfer {
        alice_refer: refer_events(alice, r),
        alice_call_end: final_state(alice, d),
    };
    for id in [ia, ib, ic] {
        let n = sim.node_mut::<UaNode>(id).unwrap();
        assert_eq!(n.ep.transaction_count(), (0, 0), "seed {seed}: node {id:?}");
        assert_eq!(n.ep.dialog_count(), 0, "seed {seed}: node {id:?}");
    }
    out
}

#[test]
fn blind_transfer_succeeds() {
    let t = blind_transfer(1, 0.0, 200, true);
    assert_eq!(t.alice_refer.first(), Some(&ReferEvent::Accepted));
    assert!(t.alice_refer.contains(&ReferEvent::Progress(100)));
    assert!(t.alice_refer.contains(&ReferEvent::Progress(180)));
    assert_eq!(
        t.alice_refer.last(),
        Some(&ReferEvent::Done {
            final_status: Some(200),
            expired: false
        })
    );
    assert_eq!(
        t.alice_call_end,
        Some(DialogState::Terminated(EndReason::LocalBye))
    );
}

#[test]
fn blind_transfer_to_a_busy_target_and_a_rejected_refer() {
    let t = blind_transfer(2, 0.0, 486, true);
    assert_eq!(
        t.alice_refer.last(),
        Some(&ReferEvent::Done {
            final_status: Some(486),
            expired: false
        })
    );
    let t = blind_transfer(3, 0.0, 200, false);
    assert_eq!(t.alice_refer, [ReferEvent::Rejected(603)]);
}

#[test]
fn transfers_with_20_percent_loss() {
    for seed in 10..20 {
        let t = blind_transfer(seed, 0.2, 200, true);
        assert_eq!(
            t.alice_refer.last(),
            Some(&ReferEvent::Done {
                final_status: Some(200),
                expired: false
            }),
            "seed {seed}: {:?}",
            t.alice_refer
        );
        let t = blind_transfer(seed + 100, 0.2, 486, true);
        assert_eq!(
            t.alice_refer.last(),
            Some(&ReferEvent::Done {
                final_status: Some(486),
                expired: false
            }),
            "seed {seed}: {:?}",
            t.alice_refer
        );
        let t = blind_transfer(seed + 200, 0.2, 200, false);
        assert_eq!(t.alice_refer, [ReferEvent::Rejected(603)], "seed {seed}");
    }
}

/// Many seeds over a hostile link (loss, duplication, reordering): every call that gets
/// answered is torn down, both sides agree, and nothing is left in any table.
#[test]
fn call_property_over_2000_seeds() {
    let mut answered = 0;
    for seed in 1000..3000 {
        let mut sim = Sim::new(seed);
        sim.set_default_link(
            LinkConfig::ideal(Duration::from_millis(15))
                .with_jitter(Duration::from_millis(10))
                .with_loss(0.2)
                .with_duplicate(0.1)
                .with_reorder(0.1, Duration::from_millis(30)),
        );
        let alice = UaNode::new(sim.base(), a(ALICE), seed * 3).react(|ctl, e| {
            if let Event::DialogStateChanged {
                dialog,
                state: DialogState::Confirmed,
            } = e
            {
                let d = *dialog;
                ctl.after(Duration::from_millis(500), move |ep, now| {
                    let _ = ep.dialog(d).and_then(|mut d| d.hangup(now));
                });
            }
        });
        let ia = sim.add_node(a(ALICE), alice);
        let ib = sim.add_node(a(BOB), answering(&sim, BOB, seed * 3 + 1, 200));
        let d = sim
            .with_node(ia, |n: &mut UaNode, now| {
                n.with_endpoint(now, |ep, now| {
                    ep.invite(
                        now,
                        InviteOptions::new("sip:bob@10.0.0.2", "<sip:alice@a>", "<sip:bob@b>"),
                    )
                })
            })
            .unwrap()
            .unwrap();
        sim.run_until_idle().unwrap();
        let alice = sim.node::<UaNode>(ia).unwrap();
        let end = final_state(alice, d);
        match end {
            Some(DialogState::Terminated(EndReason::LocalBye)) => answered += 1,
            Some(DialogState::Terminated(EndReason::Timeout)) => {}
            other => panic!("seed {seed}: alice ended {other:?}"),
        }
        for id in [ia, ib] {
            let n = sim.node_mut::<UaNode>(id).unwrap();
            assert_eq!(n.ep.transaction_count(), (0, 0), "seed {seed}");
            assert_eq!(n.ep.dialog_count(), 0, "seed {seed}");
            assert_eq!(n.ep.poll_timeout(), None, "seed {seed}");
        }
    }
    assert!(answered > 1800, "{answered} of 2000 calls answered");
}
