//! Replaces (RFC 3891) and attended transfer (RFC 5589 §7) between three user agents.
//!
//! Alice (10.0.0.1), Bob (10.0.0.2) and Carol (10.0.0.3) on 10 ms lossless links. Alice
//! calls Bob; Bob, the transferor, calls Carol (the consultation call), then asks Alice to
//! call Carol in its place (REFER with `Replaces` in Refer-To); Carol accepts Alice's
//! INVITE and her core ends the consultation call with BYE; Bob hangs up on Alice once the
//! transfer succeeded.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use sip_core::dialog::{DialogId, DialogState, EndReason, ReferEvent, ReferId};
use sip_core::endpoint::{Event, InviteOptions};
use sip_core::message::{Method, Replaces};
use sip_sim::sip::{Match, TraceExt, ms};
use sip_sim::{LinkConfig, NodeId, Sim, TraceKind, UaNode};

const ALICE: &str = "10.0.0.1:5060";
const BOB: &str = "10.0.0.2:5060";
const CAROL: &str = "10.0.0.3:5060";

fn a(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn sdp() -> Option<(&'static str, Bytes)> {
    Some(("application/sdp", Bytes::from_static(b"v=0\r\n")))
}

fn states(ua: &UaNode, d: DialogId) -> Vec<(Duration, DialogState)> {
    ua.events
        .iter()
        .filter_map(|(t, e)| match e {
            Event::DialogStateChanged { dialog, state } if *dialog == d => Some((*t, *state)),
            _ => None,
        })
        .collect()
}

fn last_state(ua: &UaNode, d: DialogId) -> Option<DialogState> {
    states(ua, d).last().map(|s| s.1)
}

/// Each call Carol was offered, and the dialog it replaces.
type Offered = Rc<RefCell<Vec<(DialogId, Option<DialogId>)>>>;

/// Carol: answers every call 200 at once, noting which dialog each replaces.
fn carol(sim: &Sim, replaced: Offered) -> UaNode {
    UaNode::new(sim.base(), a(CAROL), 3).react(move |ctl, e| {
        if let Event::IncomingCall {
            dialog, replaces, ..
        } = e
        {
            replaced.borrow_mut().push((*dialog, *replaces));
            ctl.ep
                .dialog(*dialog)
                .and_then(|mut d| d.accept(ctl.now, sdp()))
                .unwrap();
        }
    })
}

/// Alice, the transferee: answers nothing, accepts REFERs and calls the target they name
/// (the core moves the URI's `?Replaces=` into the INVITE), reporting in NOTIFYs.
fn alice(sim: &Sim) -> UaNode {
    let mut calls: HashMap<DialogId, ReferId> = HashMap::new();
    UaNode::new(sim.base(), a(ALICE), 1).react(move |ctl, e| match e {
        Event::ReferReceived { refer, target, .. } => {
            ctl.ep
                .refer(*refer)
                .and_then(|mut r| r.accept(ctl.now))
                .unwrap();
            let opts = InviteOptions::new(target.clone(), "<sip:alice@a>", "<sip:carol@c>")
                .body("application/sdp", Bytes::from_static(b"v=0\r\n"));
            let d = ctl.ep.invite(ctl.now, opts).unwrap();
            calls.insert(d, *refer);
        }
        Event::DialogResponse {
            dialog, response, ..
        } if response.status() > 100 => {
            if let Some(r) = calls.get(dialog) {
                let _ = ctl
                    .ep
                    .refer(*r)
                    .and_then(|mut r| r.notify(ctl.now, response.status()));
            }
        }
        _ => {}
    })
}

/// Bob, the transferor: answers Alice, hangs up on her when the transfer succeeded.
fn bob(sim: &Sim) -> UaNode {
    UaNode::new(sim.base(), a(BOB), 2).react(move |ctl, e| match e {
        Event::IncomingCall { dialog, .. } => {
            ctl.ep
                .dialog(*dialog)
                .and_then(|mut d| d.accept(ctl.now, sdp()))
                .unwrap();
        }
        Event::Refer { dialog, event, .. } if event.is_final() => {
            ctl.ep
                .dialog(*dialog)
                .and_then(|mut d| d.hangup(ctl.now))
                .unwrap();
        }
        _ => {}
    })
}

fn invite(sim: &mut Sim, from: NodeId, opts: InviteOptions) -> DialogId {
    sim.with_node(from, |n: &mut UaNode, now| {
        n.with_endpoint(now, |ep, now| ep.invite(now, opts))
    })
    .unwrap()
    .unwrap()
}

#[test]
fn attended_transfer_replaces_the_consultation_call_rfc3891_s3_rfc5589_s7() {
    let mut sim = Sim::new(7);
    sim.set_default_link(LinkConfig::ideal(ms(10)));
    let replaced = Rc::new(RefCell::new(Vec::new()));
    let ia = sim.add_node(a(ALICE), alice(&sim));
    let ib = sim.add_node(a(BOB), bob(&sim));
    let ic = sim.add_node(a(CAROL), carol(&sim, replaced.clone()));
    // Alice calls Bob at 0; Bob calls Carol at 1 s.
    let ab = invite(
        &mut sim,
        ia,
        InviteOptions::new("sip:bob@10.0.0.2", "<sip:alice@a>", "<sip:bob@b>"),
    );
    sim.run_until(Duration::from_secs(1)).unwrap();
    let bc = invite(
        &mut sim,
        ib,
        InviteOptions::new("sip:carol@10.0.0.3", "<sip:bob@b>", "<sip:carol@c>"),
    );
    sim.run_until(Duration::from_secs(2)).unwrap();
    let ba = {
        let bob = sim.node::<UaNode>(ib).unwrap();
        bob.events
            .iter()
            .find_map(|(_, e)| match e {
                Event::IncomingCall { dialog, .. } => Some(*dialog),
                _ => None,
            })
            .unwrap()
    };
    // At 2 s Bob refers Alice to Carol, replacing his call with Carol.
    let refer = sim
        .with_node(ib, |n: &mut UaNode, now| {
            n.with_endpoint(now, |ep, now| {
                ep.dialog(ba).and_then(|mut d| d.refer_attended(now, bc))
            })
        })
        .unwrap()
        .unwrap();
    sim.run_until(Duration::from_secs(10)).unwrap();

    // The REFER's Refer-To carries the escaped Replaces: Carol's tag as to-tag.
    let refers = sim
        .trace()
        .entries(TraceKind::Sent, Match::Request(Method::Refer));
    let text = String::from_utf8_lossy(sim.message(refers[0].id).unwrap()).into_owned();
    let bob_node = sim.node::<UaNode>(ib).unwrap();
    let info = bob_node.ep.dialog_info(bc).unwrap();
    let expected = Replaces {
        call_id: &info.call_id,
        to_tag: info.remote_tag.as_deref().unwrap(),
        from_tag: &info.local_tag,
        early_only: false,
    };
    assert!(
        text.contains(&format!("?{}>", expected.uri_header())),
        "{text}"
    );
    // Alice's INVITE to Carol carries it as a header, not in its Request-URI.
    let invites = sim
        .trace()
        .entries(TraceKind::Sent, Match::Request(Method::Invite));
    let to_carol = invites
        .iter()
        .find(|e| e.from == a(ALICE) && e.to == a(CAROL))
        .expect("Alice calls Carol");
    assert!(
        !to_carol.first_line.contains('?'),
        "{}",
        to_carol.first_line
    );
    let text = String::from_utf8_lossy(sim.message(to_carol.id).unwrap()).into_owned();
    assert!(
        text.contains(&format!("\r\nReplaces: {expected}\r\n")),
        "{text}"
    );

    // Carol was offered the new call as replacing her call with Bob, accepted it, and her
    // core sent BYE on the replaced call at once (same instant as her 200).
    let carol_node = sim.node::<UaNode>(ic).unwrap();
    let calls = replaced.borrow().clone();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].1, None);
    let (ac, old) = calls[1];
    assert_eq!(old, Some(calls[0].0));
    assert_eq!(
        last_state(carol_node, calls[0].0),
        Some(DialogState::Terminated(EndReason::Replaced))
    );
    assert_eq!(last_state(carol_node, ac), Some(DialogState::Confirmed));
    let carol_ok = sim.trace().sent_times(a(CAROL), Match::Status(200));
    let carol_bye = sim
        .trace()
        .sent_times(a(CAROL), Match::Request(Method::Bye));
    assert_eq!(carol_bye.len(), 1);
    assert!(carol_ok.contains(&carol_bye[0]));
    // Bob: the consultation call ended by Carol's BYE, the call with Alice by his own
    // after the REFER succeeded.
    let bob_node = sim.node::<UaNode>(ib).unwrap();
    assert_eq!(
        last_state(bob_node, bc),
        Some(DialogState::Terminated(EndReason::RemoteBye))
    );
    assert_eq!(
        last_state(bob_node, ba),
        Some(DialogState::Terminated(EndReason::LocalBye))
    );
    assert!(bob_node.events.iter().any(|(_, e)| matches!(e,
        Event::Refer { refer: r, event: ReferEvent::Done { final_status: Some(200), .. }, .. } if *r == refer)));
    // Alice: her call with Bob over, her call with Carol up.
    let alice_node = sim.node::<UaNode>(ia).unwrap();
    assert_eq!(
        last_state(alice_node, ab),
        Some(DialogState::Terminated(EndReason::RemoteBye))
    );
    let alice_carol = alice_node
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::DialogStateChanged {
                dialog,
                state: DialogState::Confirmed,
            } if *dialog != ab => Some(*dialog),
            _ => None,
        })
        .next()
        .unwrap();
    assert_eq!(
        last_state(alice_node, alice_carol),
        Some(DialogState::Confirmed)
    );
}

/// Carol with one confirmed call from Bob; Alice sends INVITEs with a Replaces of her own.
fn replaces_against_carol(replaces: impl Fn(&sip_core::dialog::DialogInfo) -> String) -> u16 {
    let mut sim = Sim::new(9);
    sim.set_default_link(LinkConfig::ideal(ms(10)));
    let replaced = Rc::new(RefCell::new(Vec::new()));
    let ia = sim.add_node(a(ALICE), UaNode::new(sim.base(), a(ALICE), 1));
    let ib = sim.add_node(a(BOB), UaNode::new(sim.base(), a(BOB), 2));
    let ic = sim.add_node(a(CAROL), carol(&sim, replaced));
    let bc = invite(
        &mut sim,
        ib,
        InviteOptions::new("sip:carol@10.0.0.3", "<sip:bob@b>", "<sip:carol@c>"),
    );
    sim.run_until(Duration::from_secs(1)).unwrap();
    let info = sim.node::<UaNode>(ib).unwrap().ep.dialog_info(bc).unwrap();
    let header = replaces(&info);
    let ac = invite(
        &mut sim,
        ia,
        InviteOptions::new("sip:carol@10.0.0.3", "<sip:alice@a>", "<sip:carol@c>")
            .header("Replaces", &header),
    );
    sim.run_until(Duration::from_secs(2)).unwrap();
    let alice = sim.node::<UaNode>(ia).unwrap();
    let status = match last_state(alice, ac) {
        Some(DialogState::Terminated(EndReason::Rejected(s))) => s,
        other => panic!("{other:?}"),
    };
    // A refused Replaces leaves the call it named alone.
    let carol = sim.node::<UaNode>(ic).unwrap();
    let calls: Vec<_> = carol
        .events
        .iter()
        .filter(|(_, e)| matches!(e, Event::IncomingCall { .. }))
        .collect();
    assert_eq!(calls.len(), 1);
    let bob = sim.node::<UaNode>(ib).unwrap();
    assert_eq!(last_state(bob, bc), Some(DialogState::Confirmed));
    status
}

#[test]
fn a_replaces_naming_no_dialog_gets_481_rfc3891_s3() {
    let s = replaces_against_carol(|i| {
        format!(
            "{};to-tag={};from-tag=nobody",
            i.call_id,
            i.remote_tag.as_deref().unwrap()
        )
    });
    assert_eq!(s, 481);
    // The tags the other way round (from Bob's side) name no dialog of Carol's either.
    let s = replaces_against_carol(|i| {
        format!(
            "{};to-tag={};from-tag={}",
            i.call_id,
            i.local_tag,
            i.remote_tag.as_deref().unwrap()
        )
    });
    assert_eq!(s, 481);
}

#[test]
fn early_only_against_a_confirmed_dialog_gets_486_rfc3891_s3() {
    let s = replaces_against_carol(|i| {
        format!(
            "{};to-tag={};from-tag={};early-only",
            i.call_id,
            i.remote_tag.as_deref().unwrap(),
            i.local_tag
        )
    });
    assert_eq!(s, 486);
}

#[test]
fn a_malformed_replaces_gets_400_rfc3891_s3() {
    let s = replaces_against_carol(|i| format!("{};to-tag=x", i.call_id));
    assert_eq!(s, 400);
}

/// Carol's REFER outside a dialog created a dialog with Alice (RFC 3515 §2.4.1); an INVITE
/// whose Replaces names that dialog gets 481, since it was not created by an INVITE (RFC
/// 3891 §3), and Carol's application never sees the call.
#[test]
fn a_replaces_naming_a_dialog_a_refer_created_gets_481_rfc3891_s3() {
    let mut sim = Sim::new(9);
    sim.set_default_link(LinkConfig::ideal(ms(10)));
    let replaced = Rc::new(RefCell::new(Vec::new()));
    let alice = UaNode::new(sim.base(), a(ALICE), 1).react(|ctl, e| {
        if let Event::ReferReceived { refer, .. } = e {
            ctl.ep
                .refer(*refer)
                .and_then(|mut r| r.accept(ctl.now))
                .unwrap();
        }
    });
    let ia = sim.add_node(a(ALICE), alice);
    let ic = sim.add_node(a(CAROL), carol(&sim, replaced.clone()));
    let (cd, _) = sim
        .with_node(ic, |n: &mut UaNode, now| {
            n.with_endpoint(now, |ep, now| {
                let opts =
                    InviteOptions::new("sip:alice@10.0.0.1", "<sip:carol@c>", "<sip:alice@a>");
                ep.refer_out_of_dialog(now, opts, "<sip:dave@10.0.0.4>")
            })
        })
        .unwrap()
        .unwrap();
    sim.run_until(Duration::from_secs(1)).unwrap();
    let info = sim.node::<UaNode>(ic).unwrap().ep.dialog_info(cd).unwrap();
    // As Alice names it from her side: Carol's tag is the to-tag (RFC 3891 §3).
    let header = format!(
        "{};to-tag={};from-tag={}",
        info.call_id,
        info.local_tag,
        info.remote_tag.as_deref().expect("the 202 set Alice's tag")
    );
    let ac = invite(
        &mut sim,
        ia,
        InviteOptions::new("sip:carol@10.0.0.3", "<sip:alice@a>", "<sip:carol@c>")
            .header("Replaces", &header),
    );
    sim.run_until(Duration::from_secs(2)).unwrap();
    let alice = sim.node::<UaNode>(ia).unwrap();
    assert_eq!(
        last_state(alice, ac),
        Some(DialogState::Terminated(EndReason::Rejected(481)))
    );
    assert!(replaced.borrow().is_empty(), "{:?}", replaced.borrow());
}

/// The same on the side that received the REFER: the dialog Carol's 202 created (RFC 3515
/// §2.4.1) is not one an INVITE created, so an INVITE whose Replaces names it gets 481
/// (RFC 3891 §3), and Carol's application never sees the call.
#[test]
fn a_replaces_naming_the_dialog_a_received_refer_created_gets_481_rfc3891_s3() {
    let mut sim = Sim::new(10);
    sim.set_default_link(LinkConfig::ideal(ms(10)));
    let offered: Offered = Rc::new(RefCell::new(Vec::new()));
    let seen = offered.clone();
    let carol = UaNode::new(sim.base(), a(CAROL), 3).react(move |ctl, e| match e {
        Event::ReferReceived { refer, .. } => {
            ctl.ep
                .refer(*refer)
                .and_then(|mut r| r.accept(ctl.now))
                .unwrap();
        }
        Event::IncomingCall {
            dialog, replaces, ..
        } => {
            seen.borrow_mut().push((*dialog, *replaces));
            ctl.ep
                .dialog(*dialog)
                .and_then(|mut d| d.accept(ctl.now, sdp()))
                .unwrap();
        }
        _ => {}
    });
    let ia = sim.add_node(a(ALICE), UaNode::new(sim.base(), a(ALICE), 1));
    sim.add_node(a(CAROL), carol);
    let (ad, _) = sim
        .with_node(ia, |n: &mut UaNode, now| {
            n.with_endpoint(now, |ep, now| {
                let opts =
                    InviteOptions::new("sip:carol@10.0.0.3", "<sip:alice@a>", "<sip:carol@c>");
                ep.refer_out_of_dialog(now, opts, "<sip:dave@10.0.0.4>")
            })
        })
        .unwrap()
        .unwrap();
    sim.run_until(Duration::from_secs(1)).unwrap();
    let info = sim.node::<UaNode>(ia).unwrap().ep.dialog_info(ad).unwrap();
    // As Carol knows it: her tag (Alice's remote tag) is the to-tag, Alice's the from-tag.
    let header = format!(
        "{};to-tag={};from-tag={}",
        info.call_id,
        info.remote_tag.as_deref().expect("Carol's 202 set her tag"),
        info.local_tag
    );
    let ac = invite(
        &mut sim,
        ia,
        InviteOptions::new("sip:carol@10.0.0.3", "<sip:alice@a>", "<sip:carol@c>")
            .header("Replaces", &header),
    );
    sim.run_until(Duration::from_secs(2)).unwrap();
    let alice = sim.node::<UaNode>(ia).unwrap();
    assert_eq!(
        last_state(alice, ac),
        Some(DialogState::Terminated(EndReason::Rejected(481)))
    );
    assert!(offered.borrow().is_empty(), "{:?}", offered.borrow());
}
