//! Dialog scenarios (RFC 3261 §12–§15, RFC 3515, RFC 5407) between endpoints on the
//! simulated network of the test harness: no latency, an explicit clock, and a filter that
//! can drop messages.

mod support;

use bytes::Bytes;
use sip_core::dialog::{DialogId, DialogState, EndReason, ReferEvent};
use sip_core::endpoint::{EndpointConfig, Event, Failure, InviteOptions};
use sip_core::message::{Method, SipMessage, parse_unchecked};
use sip_core::transport::Transport;
use std::net::SocketAddr;
use std::time::Duration;
use support::{A, B, C, Net, addr};

fn states(ev: &[Event], d: DialogId) -> Vec<DialogState> {
    ev.iter()
        .filter_map(|e| match e {
            Event::DialogStateChanged { dialog, state } if *dialog == d => Some(*state),
            _ => None,
        })
        .collect()
}

fn incoming_call(ev: &[Event]) -> DialogId {
    ev.iter()
        .find_map(|e| match e {
            Event::IncomingCall { dialog, .. } => Some(*dialog),
            _ => None,
        })
        .expect("an incoming call")
}

fn call(net: &mut Net, from: &str, to: &str) -> (DialogId, DialogId) {
    let opts = InviteOptions::new(
        format!("sip:u@{}", to.split(':').next().unwrap()),
        "<sip:caller@x>",
        "<sip:callee@y>",
    )
    .body("application/sdp", &b"v=0\r\n"[..]);
    let d_uac = net.with(from, |ep, now| ep.invite(now, opts)).unwrap();
    net.run();
    let ev = net.take_events(to);
    let d_uas = incoming_call(&ev);
    net.with(to, |ep, now| {
        ep.dialog(d_uas).and_then(|mut d| d.answer(now, 180, None))
    })
    .unwrap();
    net.run();
    net.with(to, |ep, now| {
        ep.dialog(d_uas).and_then(|mut d| {
            d.answer(
                now,
                200,
                Some(("application/sdp", Bytes::from_static(b"v=0\r\n"))),
            )
        })
    })
    .unwrap();
    net.run();
    (d_uac, d_uas)
}

#[test]
fn basic_call_and_bye() {
    let mut net = Net::new(&[A, B]);
    let (da, db) = call(&mut net, A, B);
    let ea = net.take_events(A);
    assert_eq!(
        states(&ea, da),
        [DialogState::Early, DialogState::Confirmed]
    );
    let eb = net.take_events(B);
    assert_eq!(
        states(&eb, db),
        [DialogState::Early, DialogState::Confirmed]
    );
    assert!(
        eb.iter()
            .any(|e| matches!(e, Event::AckReceived { dialog, .. } if *dialog == db))
    );
    let ia = net.ep(A).dialog_info(da).unwrap();
    let ib = net.ep(B).dialog_info(db).unwrap();
    assert_eq!(ia.call_id, ib.call_id);
    assert_eq!(ia.local_tag, ib.remote_tag.clone().unwrap());
    assert_eq!(ib.local_tag, ia.remote_tag.clone().unwrap());
    assert_eq!(ia.remote_target, "sip:192.0.2.2:5060");
    // Issue 5 budget: ≤ 1 KiB per confirmed dialog beside route set and target.
    let fp = net.ep(A).dialog_footprint().unwrap();
    eprintln!("bytes per confirmed dialog (UAC, incl. the stored ACK): {fp}");
    assert!(fp <= 1024, "{fp}");
    // No 2xx retransmission after the ACK.
    net.advance(Duration::from_secs(10));
    assert_eq!(net.sent("SIP/2.0 200 OK").len(), 1);

    net.with(A, |ep, now| ep.dialog(da).and_then(|mut d| d.hangup(now)))
        .unwrap();
    net.run();
    let ea = net.take_events(A);
    assert_eq!(
        states(&ea, da),
        [DialogState::Terminated(EndReason::LocalBye)]
    );
    let eb = net.take_events(B);
    assert_eq!(
        states(&eb, db),
        [DialogState::Terminated(EndReason::RemoteBye)]
    );
    assert_eq!(net.sent("BYE sip:").len(), 1);
    // No silent no-ops: hanging up again says why not.
    assert!(
        net.with(A, |ep, now| ep.dialog(da).and_then(|mut d| d.hangup(now)))
            .is_err()
    );
    assert!(
        net.with(B, |ep, now| ep
            .dialog(db)
            .and_then(|mut d| d.refer(now, "sip:c@192.0.2.3")))
            .is_err()
    );
    // Everything is cleaned up once the timers have run.
    net.advance(Duration::from_secs(200));
    for a in [A, B] {
        assert_eq!(net.ep(a).transaction_count(), (0, 0), "{a}");
        assert_eq!(net.ep(a).dialog_count(), 0, "{a}");
        assert_eq!(net.with(a, |ep, _| ep.poll_timeout()), None);
    }
}

#[test]
fn the_uas_retransmits_its_2xx_until_ack_and_gives_up_with_bye() {
    let mut net = Net::new(&[A, B]);
    net.sim.drop_where(|l: &str| l.starts_with("ACK"));
    let (da, db) = call(&mut net, A, B);
    net.advance(Duration::from_secs(40));
    let b = addr(B);
    let oks: Vec<u128> = net
        .wire()
        .iter()
        .filter(|w| w.from == b && w.line == "SIP/2.0 200 OK")
        .map(|w| w.at.as_millis())
        .collect();
    // The first 200 at 0, then T1 doubling capped at T2, until 64·T1 (§13.3.1.4). The
    // UAC re-ACKs every retransmission (all dropped here).
    assert_eq!(oks[..8], [0, 500, 1500, 3500, 7500, 11500, 15500, 19500]);
    assert_eq!(*oks.last().unwrap(), 31500);
    let eb = net.take_events(B);
    assert_eq!(
        states(&eb, db).last(),
        Some(&DialogState::Terminated(EndReason::NoAck))
    );
    assert_eq!(net.sent("BYE").first().map(Duration::as_secs), Some(32));
    let ea = net.take_events(A);
    assert_eq!(
        states(&ea, da).last(),
        Some(&DialogState::Terminated(EndReason::RemoteBye))
    );
}

#[test]
fn hanging_up_an_early_call_cancels_it() {
    let mut net = Net::new(&[A, B]);
    let da = net
        .with(A, |ep, now| {
            ep.invite(
                now,
                InviteOptions::new("sip:u@192.0.2.2", "<sip:a@x>", "<sip:b@y>"),
            )
        })
        .unwrap();
    net.run();
    let db = incoming_call(&net.take_events(B));
    net.with(B, |ep, now| {
        ep.dialog(db).and_then(|mut d| d.answer(now, 180, None))
    })
    .unwrap();
    net.run();
    net.with(A, |ep, now| ep.dialog(da).and_then(|mut d| d.hangup(now)))
        .unwrap();
    net.run();
    assert_eq!(net.sent("CANCEL").len(), 1);
    assert_eq!(net.sent("487").len(), 1);
    assert_eq!(
        states(&net.take_events(A), da).last(),
        Some(&DialogState::Terminated(EndReason::Cancelled))
    );
    assert_eq!(
        states(&net.take_events(B), db).last(),
        Some(&DialogState::Terminated(EndReason::Cancelled))
    );
    // And an incoming call not answered yet is declined.
    let da = net
        .with(A, |ep, now| {
            ep.invite(
                now,
                InviteOptions::new("sip:u@192.0.2.2", "<sip:a@x>", "<sip:b@y>"),
            )
        })
        .unwrap();
    net.run();
    let db = incoming_call(&net.take_events(B));
    net.with(B, |ep, now| ep.dialog(db).and_then(|mut d| d.hangup(now)))
        .unwrap();
    net.run();
    assert_eq!(
        states(&net.take_events(A), da).last(),
        Some(&DialogState::Terminated(EndReason::Rejected(603)))
    );
}

#[test]
fn crossed_byes_both_get_200() {
    let mut net = Net::new(&[A, B]);
    let (da, db) = call(&mut net, A, B);
    // Both hang up before either BYE arrives.
    net.with(A, |ep, now| ep.dialog(da).and_then(|mut d| d.hangup(now)))
        .unwrap();
    net.with(B, |ep, now| ep.dialog(db).and_then(|mut d| d.hangup(now)))
        .unwrap();
    net.run();
    let byes_ok = net
        .wire()
        .iter()
        .filter(|w| w.line == "SIP/2.0 200 OK")
        .count();
    assert_eq!(
        byes_ok, 3,
        "the INVITE's 200 and one 200 per BYE (RFC 5407), no 481"
    );
    assert!(net.sent("481").is_empty());
}

/// An ended dialog is kept 64·T1 with its identity only (Call-ID, tags, CSeq numbers): a
/// BYE crossing ours still gets 200 (RFC 5407 §3.1.2), any other request 481 (§12.2.2), a
/// retransmission of the 2xx is still ACKed by the UAC (§13.2.2.4), and the header values,
/// remote target and route set are gone.
#[test]
fn an_ended_dialog_keeps_its_identity_only_and_still_answers_late_messages() {
    let mut net = Net::new(&[A, B]);
    let (da, db) = call(&mut net, A, B);
    let live = net.ep(B).dialog_info(db).unwrap();
    let ok = net
        .wire()
        .into_iter()
        .find(|w| w.line == "SIP/2.0 200 OK")
        .expect("the 2xx");
    let per_live = net.ep(B).dialog_footprint().unwrap();
    net.with(A, |ep, now| ep.dialog(da).and_then(|mut d| d.hangup(now)))
        .unwrap();
    net.run();
    let ended = net.ep(B).dialog_info(db).unwrap();
    assert_eq!(ended.state, DialogState::Terminated(EndReason::RemoteBye));
    assert_eq!(
        (&ended.call_id, &ended.local_tag, &ended.remote_tag),
        (&live.call_id, &live.local_tag, &live.remote_tag)
    );
    assert!(ended.remote_target.is_empty() && ended.local.is_empty() && ended.remote.is_empty());
    let per_ended = net.ep(B).dialog_footprint().unwrap();
    // What the footprint counts (the struct and its strings) lost the header values.
    assert!(
        per_ended + live.local.len() + live.remote.len() <= per_live,
        "{per_ended} vs {per_live}"
    );
    // A late in-dialog request and a BYE to the ended dialog (as if crossing).
    let request = |method: &str, cseq: u32| {
        Bytes::from(format!(
            "{method} sip:x@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKlate{cseq}\r\nMax-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n",
            live.remote, live.local, live.call_id
        ))
    };
    net.inject(Transport::Udp, addr(A), addr(B), request("INFO", 10));
    net.run();
    assert_eq!(net.sent("SIP/2.0 481").len(), 1);
    let oks = net.sent("SIP/2.0 200 OK").len();
    net.inject(Transport::Udp, addr(A), addr(B), request("BYE", 11));
    net.run();
    assert_eq!(
        net.sent("SIP/2.0 200 OK").len(),
        oks + 1,
        "RFC 5407: 200, not 481"
    );
    // The UAC ACKs a retransmission of the 2xx after its BYE, to where its ACK went.
    let acks = net.sent("ACK sip:").len();
    net.inject(Transport::Udp, addr(B), addr(A), ok.bytes.clone());
    net.run();
    assert_eq!(net.sent("ACK sip:").len(), acks + 1);
    // After 64·T1 both are forgotten.
    net.advance(Duration::from_secs(33));
    assert!(net.ep(A).dialog_info(da).is_none());
    assert!(net.ep(B).dialog_info(db).is_none());
}

#[test]
fn unknown_dialog_and_old_cseq() {
    let mut net = Net::new(&[A, B]);
    let (_da, db) = call(&mut net, A, B);
    let info = net.ep(B).dialog_info(db).unwrap();
    let bye = |tag: &str, cseq: u32| {
        format!(
            "INFO sip:x@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK{tag}{cseq}\r\nMax-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {cseq} INFO\r\nContent-Length: 0\r\n\r\n",
            info.remote
                .replace(info.remote_tag.as_deref().unwrap(), tag),
            info.local,
            info.call_id
        )
    };
    let deliver = |net: &mut Net, s: String| {
        net.inject(Transport::Udp, addr(A), addr(B), Bytes::from(s));
        net.run();
    };
    deliver(&mut net, bye("nosuchtag", 5));
    assert_eq!(net.sent("481").len(), 1);
    let real = info.remote_tag.clone().unwrap();
    deliver(&mut net, bye(&real, 0));
    assert_eq!(
        net.sent("SIP/2.0 500").len(),
        1,
        "§12.2.2: a lower CSeq gets 500"
    );
    deliver(&mut net, bye(&real, 9));
    let ev = net.take_events(B);
    assert!(ev.iter().any(
        |e| matches!(e, Event::DialogRequest { request, .. } if request.method() == &Method::Info)
    ));
}

#[test]
fn reinvite_glare_gets_491_and_a_retry() {
    let mut net = Net::new(&[A, B]);
    let (da, db) = call(&mut net, A, B);
    net.take_events(A);
    net.take_events(B);
    // Both send a re-INVITE at once.
    net.with(A, |ep, now| {
        ep.dialog(da).and_then(|mut d| {
            d.reinvite(
                now,
                Some(("application/sdp", Bytes::from_static(b"v=0\r\n"))),
            )
        })
    })
    .unwrap();
    net.with(B, |ep, now| {
        ep.dialog(db).and_then(|mut d| d.reinvite(now, None))
    })
    .unwrap();
    net.run();
    assert_eq!(
        net.sent("491").len(),
        2,
        "§14.2: each side answers the other 491"
    );
    // The retries come after random intervals (A owns the Call-ID: 2.1–4 s; B: 0–2 s).
    // B's comes first; A's TU has not answered it when A's interval ends, and §14.1 forbids
    // a new INVITE while one is in progress in either direction: A waits.
    net.advance(net.elapsed() + Duration::from_secs(5));
    assert_eq!(
        net.sent("INVITE sip:").len(),
        4,
        "the initial INVITE, two re-INVITEs, B's retry"
    );
    assert_eq!(net.sent("491").len(), 2, "no second glare");
    let ea = net.take_events(A);
    assert!(
        ea.iter().any(|e| matches!(e,
            Event::DialogRequest { request, .. } if request.method() == &Method::Invite)),
        "B's retry reached A's TU"
    );
    // A's TU accepts B's retry; once it is ACKed, A's own retry goes out and B's TU
    // gets it.
    net.with(A, |ep, now| {
        ep.dialog(da).and_then(|mut d| d.answer(now, 200, None))
    })
    .unwrap();
    net.advance(net.elapsed() + Duration::from_secs(1));
    assert_eq!(net.sent("INVITE sip:").len(), 5, "then A's retry");
    assert_eq!(net.sent("491").len(), 2);
    let eb = net.take_events(B);
    assert!(
        eb.iter().any(|e| matches!(e,
            Event::DialogRequest { request, .. } if request.method() == &Method::Invite
                && request.body().starts_with(b"v=0"))),
        "A's retry carries its offer"
    );
}

#[test]
fn blind_transfer_with_refer_and_notify() {
    let mut net = Net::new(&[A, B, C]);
    let (da, db) = call(&mut net, A, B);
    net.take_events(A);
    net.take_events(B);
    let r = net
        .with(A, |ep, now| {
            ep.dialog(da)
                .and_then(|mut d| d.refer(now, "sip:carol@192.0.2.3"))
        })
        .unwrap();
    net.run();
    let eb = net.take_events(B);
    let (rb, refer_to, uri) = eb
        .iter()
        .find_map(|e| match e {
            Event::ReferReceived {
                refer,
                refer_to,
                target,
                dialog,
                referred_by,
            } => {
                assert_eq!(*dialog, db);
                assert!(referred_by.is_some());
                Some((*refer, refer_to.clone(), target.clone()))
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(refer_to, "<sip:carol@192.0.2.3>");
    assert_eq!(uri, "sip:carol@192.0.2.3");
    net.with(B, |ep, now| ep.refer(rb).and_then(|mut r| r.accept(now)))
        .unwrap();
    net.run();
    // Bob calls Carol, reporting progress to Alice.
    let dc = net
        .with(B, |ep, now| {
            ep.invite(now, InviteOptions::new(uri, "<sip:bob@y>", "<sip:carol@z>"))
        })
        .unwrap();
    net.run();
    let dcc = incoming_call(&net.take_events(C));
    net.with(C, |ep, now| {
        ep.dialog(dcc).and_then(|mut d| d.answer(now, 180, None))
    })
    .unwrap();
    net.run();
    net.with(B, |ep, now| {
        ep.refer(rb).and_then(|mut r| r.notify(now, 180))
    })
    .unwrap();
    net.with(C, |ep, now| {
        ep.dialog(dcc).and_then(|mut d| d.answer(now, 200, None))
    })
    .unwrap();
    net.run();
    assert_eq!(net.ep(B).dialog_state(dc), Some(DialogState::Confirmed));
    net.with(B, |ep, now| {
        ep.refer(rb).and_then(|mut r| r.notify(now, 200))
    })
    .unwrap();
    net.run();
    let ea = net.take_events(A);
    let refer_events: Vec<ReferEvent> = ea
        .iter()
        .filter_map(|e| match e {
            Event::Refer { refer, event, .. } if *refer == r => Some(*event),
            _ => None,
        })
        .collect();
    assert_eq!(
        refer_events,
        [
            ReferEvent::Accepted,
            ReferEvent::Progress(100),
            ReferEvent::Progress(180),
            ReferEvent::Progress(200),
            ReferEvent::Done {
                final_status: Some(200),
                expired: false
            }
        ]
    );
    // The NOTIFYs carry the subscription headers RFC 3515 asks for.
    assert!(
        net.with(B, |ep, now| ep
            .refer(rb)
            .and_then(|mut r| r.notify(now, 200)))
            .is_err(),
        "the subscription is over"
    );
    net.with(A, |ep, now| ep.dialog(da).and_then(|mut d| d.hangup(now)))
        .unwrap();
    net.run();
    assert_eq!(
        net.ep(B).dialog_state(db),
        Some(DialogState::Terminated(EndReason::RemoteBye))
    );
}

#[test]
fn refer_rejected_and_transfer_target_busy() {
    let mut net = Net::new(&[A, B]);
    let (da, _db) = call(&mut net, A, B);
    net.take_events(A);
    let r1 = net
        .with(A, |ep, now| {
            ep.dialog(da)
                .and_then(|mut d| d.refer(now, "sip:carol@192.0.2.3"))
        })
        .unwrap();
    let r2 = net
        .with(A, |ep, now| {
            ep.dialog(da)
                .and_then(|mut d| d.refer(now, "sip:dave@192.0.2.4"))
        })
        .unwrap();
    net.run();
    let eb = net.take_events(B);
    let refers: Vec<_> = eb
        .iter()
        .filter_map(|e| match e {
            Event::ReferReceived { refer, .. } => Some(*refer),
            _ => None,
        })
        .collect();
    assert_eq!(refers.len(), 2, "two REFERs in one dialog at once");
    net.with(B, |ep, now| {
        ep.refer(refers[0]).and_then(|mut r| r.reject(now, 603))
    })
    .unwrap();
    net.with(B, |ep, now| {
        ep.refer(refers[1]).and_then(|mut r| r.accept(now))
    })
    .unwrap();
    net.with(B, |ep, now| {
        ep.refer(refers[1]).and_then(|mut r| r.notify(now, 486))
    })
    .unwrap();
    net.run();
    let ea = net.take_events(A);
    let of = |r| -> Vec<ReferEvent> {
        ea.iter()
            .filter_map(|e| match e {
                Event::Refer { refer, event, .. } if *refer == r => Some(*event),
                _ => None,
            })
            .collect()
    };
    assert_eq!(of(r1), [ReferEvent::Rejected(603)]);
    assert_eq!(
        of(r2),
        [
            ReferEvent::Accepted,
            ReferEvent::Progress(100),
            ReferEvent::Progress(486),
            ReferEvent::Done {
                final_status: Some(486),
                expired: false
            }
        ]
    );
    // The NOTIFYs told the two subscriptions apart by id (RFC 3515 §2.4.6).
    let notifies = net
        .wire()
        .iter()
        .filter(|w| w.line.starts_with("NOTIFY"))
        .count();
    assert_eq!(notifies, 2);
}

#[test]
fn route_sets_from_record_route() {
    let mut net = Net::new(&[A, B]);
    // An INVITE as a proxy chain would deliver it, with two Record-Route rows.
    let invite = "INVITE sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKpx1\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa1\r\nRecord-Route: <sip:192.0.2.9;lr>\r\nRecord-Route: <sip:192.0.2.8;lr>\r\nMax-Forwards: 69\r\nFrom: <sip:alice@a>;tag=at\r\nTo: <sip:bob@b>\r\nCall-ID: rr1\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@192.0.2.1>\r\nContent-Length: 0\r\n\r\n";
    net.inject(
        Transport::Udp,
        "192.0.2.9:5060".parse().unwrap(),
        addr(B),
        Bytes::from_static(invite.as_bytes()),
    );
    net.run();
    let db = incoming_call(&net.take_events(B));
    net.with(B, |ep, now| {
        ep.dialog(db).and_then(|mut d| d.answer(now, 200, None))
    })
    .unwrap();
    net.run();
    let ok = net
        .wire()
        .iter()
        .rev()
        .find(|w| w.line.starts_with("SIP/2.0 200"))
        .unwrap()
        .clone();
    assert_eq!(
        ok.to,
        "192.0.2.9:5060".parse().unwrap(),
        "the 200 follows the Via"
    );
    let info = net.ep(B).dialog_info(db).unwrap();
    assert_eq!(
        info.route_set,
        ["<sip:192.0.2.9;lr>", "<sip:192.0.2.8;lr>"],
        "§12.1.1: in order for the UAS"
    );
    // The ACK arrives; then B hangs up: the BYE goes to the first route, with both Route
    // rows, to the remote target.
    let ack = "ACK sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKpx2\r\nMax-Forwards: 69\r\nFrom: <sip:alice@a>;tag=at\r\nTo: <sip:bob@b>;tag=TAG\r\nCall-ID: rr1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n".replace("TAG", &info.local_tag);
    net.inject(
        Transport::Udp,
        "192.0.2.9:5060".parse().unwrap(),
        addr(B),
        Bytes::from(ack),
    );
    net.run();
    net.with(B, |ep, now| ep.dialog(db).and_then(|mut d| d.hangup(now)))
        .unwrap();
    let bye = net
        .wire()
        .into_iter()
        .rfind(|w| w.from == addr(B) && w.line.starts_with("BYE"));
    let bye = bye.expect("a BYE");
    assert_eq!(bye.to, "192.0.2.9:5060".parse().unwrap());
    let SipMessage::Request(r) = parse_unchecked(bye.bytes.clone(), &Default::default()).unwrap()
    else {
        panic!()
    };
    assert_eq!(r.uri_str(), "sip:alice@192.0.2.1");
    let routes: Vec<String> = r.routes().map(|x| x.unwrap().as_str().to_owned()).collect();
    assert_eq!(routes, ["<sip:192.0.2.9;lr>", "<sip:192.0.2.8;lr>"]);
    assert_eq!(r.cseq(), Some((1, "BYE")));
}

#[test]
fn refer_outside_a_dialog() {
    let mut net = Net::new(&[A, B]);
    let (da, r) = net
        .with(A, |ep, now| {
            ep.refer_out_of_dialog(
                now,
                InviteOptions::new("sip:bob@192.0.2.2", "<sip:alice@x>", "<sip:bob@y>"),
                "sip:carol@192.0.2.3",
            )
        })
        .unwrap();
    net.run();
    let eb = net.take_events(B);
    let (rb, db) = eb
        .iter()
        .find_map(|e| match e {
            Event::ReferReceived { refer, dialog, .. } => Some((*refer, *dialog)),
            _ => None,
        })
        .unwrap();
    net.with(B, |ep, now| ep.refer(rb).and_then(|mut r| r.accept(now)))
        .unwrap();
    net.run();
    net.with(B, |ep, now| {
        ep.refer(rb).and_then(|mut r| r.notify(now, 200))
    })
    .unwrap();
    net.run();
    let ea = net.take_events(A);
    let evs: Vec<ReferEvent> = ea
        .iter()
        .filter_map(|e| match e {
            Event::Refer { refer, event, .. } if *refer == r => Some(*event),
            _ => None,
        })
        .collect();
    assert_eq!(
        evs,
        [
            ReferEvent::Accepted,
            ReferEvent::Progress(100),
            ReferEvent::Progress(200),
            ReferEvent::Done {
                final_status: Some(200),
                expired: false
            }
        ]
    );
    assert_eq!(net.ep(A).dialog_state(da), Some(DialogState::Confirmed));
    let (ia, ib) = (
        net.ep(A).dialog_info(da).unwrap(),
        net.ep(B).dialog_info(db).unwrap(),
    );
    assert_eq!(ia.remote_tag.as_deref(), Some(ib.local_tag.as_str()));
    assert!(net.sent("481").is_empty());
}

#[test]
fn a_refer_subscription_expires_without_a_final_notify() {
    let mut net = Net::new(&[A, B]);
    let (da, _db) = call(&mut net, A, B);
    let r = net
        .with(A, |ep, now| {
            ep.dialog(da)
                .and_then(|mut d| d.refer(now, "sip:carol@192.0.2.3"))
        })
        .unwrap();
    net.run();
    let rb = net
        .take_events(B)
        .iter()
        .find_map(|e| match e {
            Event::ReferReceived { refer, .. } => Some(*refer),
            _ => None,
        })
        .unwrap();
    net.with(B, |ep, now| ep.refer(rb).and_then(|mut r| r.accept(now)))
        .unwrap();
    net.run();
    net.take_events(A);
    // B never reports a final status: the subscription (60 s) runs out at A.
    net.advance(Duration::from_secs(62));
    let ea = net.take_events(A);
    assert!(ea.iter().any(|e| matches!(e, Event::Refer { refer, event: ReferEvent::Done { final_status: Some(100), expired: true }, .. } if *refer == r)), "{ea:?}");
}

#[test]
fn the_dialog_limit_answers_503() {
    let mut net = Net::new(&[A, B]);
    let mut cfg = EndpointConfig::with_local(Transport::Udp, addr(B));
    cfg.max_dialogs = 1;
    net.replace(B, cfg, 7);
    net.with(A, |ep, now| {
        ep.invite(
            now,
            InviteOptions::new("sip:u@192.0.2.2", "<sip:a@x>", "<sip:b@y>"),
        )
    })
    .unwrap();
    let second = net
        .with(A, |ep, now| {
            ep.invite(
                now,
                InviteOptions::new("sip:u@192.0.2.2", "<sip:a@x>", "<sip:b@y>"),
            )
        })
        .unwrap();
    net.run();
    assert_eq!(net.sent("503").len(), 1);
    assert_eq!(
        net.ep(A).dialog_state(second),
        Some(DialogState::Terminated(EndReason::Rejected(503)))
    );
}

#[test]
fn forked_invite_two_early_dialogs_one_answer_and_a_late_second_2xx() {
    use sip_core::message::Response;
    let mut net = Net::new(&[A]);
    let da = net
        .with(A, |ep, now| {
            ep.invite(
                now,
                InviteOptions::new("sip:u@192.0.2.2", "<sip:a@x>", "<sip:b@y>"),
            )
        })
        .unwrap();
    let invite = net.wire().pop().map(|w| w.bytes);
    let SipMessage::Request(inv) = parse_unchecked(invite.unwrap(), &Default::default()).unwrap()
    else {
        panic!()
    };
    let resp = |code: u16, tag: &str, host: &str| -> Bytes {
        Response::from_request(&inv, code)
            .to_tag(tag)
            .header("Contact", format!("<sip:b@{host}>"))
            .build()
            .unwrap()
            .to_bytes()
    };
    let from: SocketAddr = addr(B);
    let feed = |net: &mut Net, b: Bytes| {
        net.inject(Transport::Udp, from, addr(A), b);
        net.run();
    };
    feed(&mut net, resp(180, "t1", "192.0.2.21"));
    feed(&mut net, resp(180, "t2", "192.0.2.22"));
    let ev = net.take_events(A);
    let fork = ev
        .iter()
        .find_map(|e| match e {
            Event::Forked { dialog, original } if *original == da => Some(*dialog),
            _ => None,
        })
        .expect("a second early dialog");
    assert_eq!(states(&ev, da), [DialogState::Early]);
    assert_eq!(states(&ev, fork), [DialogState::Early]);
    // The second fork answers first.
    feed(&mut net, resp(200, "t2", "192.0.2.22"));
    let ev = net.take_events(A);
    assert_eq!(states(&ev, fork), [DialogState::Confirmed]);
    assert_eq!(
        states(&ev, da),
        [DialogState::Terminated(EndReason::EarlyDialogEnded)]
    );
    let acks: Vec<_> = net
        .wire()
        .iter()
        .filter(|w| w.line.starts_with("ACK"))
        .map(|w| w.to)
        .collect();
    assert_eq!(
        acks,
        ["192.0.2.22:5060".parse::<SocketAddr>().unwrap()],
        "the ACK goes to the answering fork's Contact"
    );
    // Then the first fork answers too: ACK and BYE it (§13.2.2.4).
    feed(&mut net, resp(200, "t1", "192.0.2.21"));
    let to_21: Vec<String> = net
        .wire()
        .iter()
        .filter(|w| w.to == "192.0.2.21:5060".parse::<SocketAddr>().unwrap())
        .map(|w| w.line.clone())
        .collect();
    assert!(
        to_21[0].starts_with("ACK") && to_21[1].starts_with("BYE"),
        "{to_21:?}"
    );
    assert_eq!(net.ep(A).dialog_state(fork), Some(DialogState::Confirmed));
}

#[test]
fn an_invite_challenged_with_407_is_resent_with_credentials() {
    use sip_core::auth::{
        ChallengeKind, NonceManager, Secret, StaticCredentials, Verdict, challenge, credentials_in,
        verify,
    };
    use sip_core::endpoint::Credentials;
    let mut net = Net::new(&[A, B]);
    let mut cfg = EndpointConfig::with_local(Transport::Udp, addr(A));
    cfg.credentials = Some(Credentials::new(StaticCredentials::any("alice", "secret")));
    net.replace(A, cfg, 11);
    let now = net.now();
    let mut nonces = NonceManager::new(&mut sip_core::rng::IdGenerator::new(77), now);
    let da = net
        .with(A, |ep, now| {
            ep.invite(
                now,
                InviteOptions::new("sip:u@192.0.2.2", "<sip:alice@a>", "<sip:b@y>"),
            )
        })
        .unwrap();
    net.run();
    // B challenges the first INVITE.
    let ev = net.take_events(B);
    let Some(Event::IncomingCall { tx, .. }) =
        ev.iter().find(|e| matches!(e, Event::IncomingCall { .. }))
    else {
        panic!()
    };
    let ch = challenge(
        "example.com",
        &nonces.issue(now, "example.com", sip_core::auth::Algorithm::Sha256),
        sip_core::auth::Algorithm::Sha256,
        false,
    );
    let resp = net
        .with(B, |ep, _| ep.response(*tx, 407))
        .unwrap()
        .header("Proxy-Authenticate", ch.to_header_value())
        .build()
        .unwrap();
    net.with(B, |ep, now| ep.respond(now, *tx, resp)).unwrap();
    net.run();
    // The re-sent INVITE carries credentials that verify, with CSeq 2.
    let ev = net.take_events(B);
    let (tx2, req) = ev
        .iter()
        .find_map(|e| match e {
            Event::IncomingCall {
                tx,
                request,
                dialog,
                ..
            } => Some((*tx, (request.clone(), *dialog))),
            _ => None,
        })
        .expect("a second INVITE");
    let (req, db) = req;
    assert_eq!(req.cseq(), Some((2, "INVITE")));
    let creds = credentials_in(&req, ChallengeKind::Proxy, "example.com")
        .unwrap()
        .unwrap();
    let status = nonces.check(
        &creds.nonce,
        "example.com",
        sip_core::auth::Algorithm::Sha256,
        now,
    );
    assert_eq!(
        verify(
            &creds,
            "INVITE",
            req.body(),
            Secret::Password {
                user: "alice",
                password: "secret"
            },
            status
        ),
        Verdict::Ok
    );
    net.with(B, |ep, now| {
        ep.dialog(db).and_then(|mut d| d.answer(now, 200, None))
    })
    .unwrap();
    net.run();
    let _ = tx2;
    let ea = net.take_events(A);
    assert!(
        !ea.iter().any(
            |e| matches!(e, Event::DialogResponse { response, .. } if response.status() == 407)
        ),
        "the challenge is handled, not reported"
    );
    assert_eq!(states(&ea, da).last(), Some(&DialogState::Confirmed));
    assert_eq!(net.ep(A).dialog_info(da).unwrap().local_seq, 2);
    // A wrong password is not retried forever: one retry per challenge.
    let mut cfg = EndpointConfig::with_local(Transport::Udp, addr(A));
    cfg.credentials = Some(Credentials::new(StaticCredentials::any("alice", "wrong")));
    net.replace(A, cfg, 12);
    let da = net
        .with(A, |ep, now| {
            ep.invite(
                now,
                InviteOptions::new("sip:u@192.0.2.2", "<sip:alice@a>", "<sip:b@y>"),
            )
        })
        .unwrap();
    let nonce = nonces.issue(now, "example.com", sip_core::auth::Algorithm::Sha256);
    for _ in 0..3 {
        net.run();
        let ev = net.take_events(B);
        let Some(Event::IncomingCall { tx, .. }) =
            ev.iter().find(|e| matches!(e, Event::IncomingCall { .. }))
        else {
            break;
        };
        let ch = challenge(
            "example.com",
            &nonce,
            sip_core::auth::Algorithm::Sha256,
            false,
        );
        let resp = net
            .with(B, |ep, _| ep.response(*tx, 407))
            .unwrap()
            .header("Proxy-Authenticate", ch.to_header_value())
            .build()
            .unwrap();
        net.with(B, |ep, now| ep.respond(now, *tx, resp)).unwrap();
    }
    net.run();
    assert_eq!(
        net.sent("INVITE sip:")
            .iter()
            .filter(|t| **t == net.elapsed())
            .count(),
        4,
        "2 + 2 INVITEs in all, no loop"
    );
    assert_eq!(
        net.ep(A).dialog_state(da),
        Some(DialogState::Terminated(EndReason::Rejected(407)))
    );
    // A server that refuses with a fresh nonce each time cannot make the client loop either.
    let before = net.sent("INVITE sip:").len();
    let db = net
        .with(A, |ep, now| {
            ep.invite(
                now,
                InviteOptions::new("sip:u@192.0.2.2", "<sip:alice@a>", "<sip:b@y>"),
            )
        })
        .unwrap();
    for _ in 0..5 {
        net.run();
        let ev = net.take_events(B);
        let Some(Event::IncomingCall { tx, .. }) =
            ev.iter().find(|e| matches!(e, Event::IncomingCall { .. }))
        else {
            break;
        };
        let ch = challenge(
            "example.com",
            &nonces.issue(now, "example.com", sip_core::auth::Algorithm::Sha256),
            sip_core::auth::Algorithm::Sha256,
            false,
        );
        let resp = net
            .with(B, |ep, _| ep.response(*tx, 407))
            .unwrap()
            .header("Proxy-Authenticate", ch.to_header_value())
            .build()
            .unwrap();
        net.with(B, |ep, now| ep.respond(now, *tx, resp)).unwrap();
    }
    net.run();
    assert_eq!(
        net.sent("INVITE sip:").len() - before,
        2,
        "the first INVITE and one retry"
    );
    assert_eq!(
        net.ep(A).dialog_state(db),
        Some(DialogState::Terminated(EndReason::Rejected(407)))
    );
}

#[test]
fn in_dialog_requests_follow_the_flow_of_a_natted_peer() {
    let mut net = Net::new(&[B]);
    // The caller's Via and Contact name a private address; the packet comes from the NAT.
    let nat: SocketAddr = "198.51.100.7:40000".parse().unwrap();
    let invite = "INVITE sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKnat1;rport\r\nMax-Forwards: 70\r\nFrom: <sip:alice@a>;tag=at\r\nTo: <sip:bob@b>\r\nCall-ID: nat1\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@10.0.0.5:5060>\r\nContent-Length: 0\r\n\r\n";
    net.inject(
        Transport::Udp,
        nat,
        addr(B),
        Bytes::from_static(invite.as_bytes()),
    );
    net.run();
    let db = incoming_call(&net.take_events(B));
    net.with(B, |ep, now| {
        ep.dialog(db).and_then(|mut d| d.answer(now, 200, None))
    })
    .unwrap();
    let sent: Vec<_> = net
        .wire()
        .into_iter()
        .filter(|w| w.from == addr(B))
        .collect();
    assert_eq!(
        sent[0].to, nat,
        "RFC 3581: the 200 goes back to the NAT's port"
    );
    let info = net.ep(B).dialog_info(db).unwrap();
    let ack = format!(
        "ACK sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKnat2;rport\r\nMax-Forwards: 70\r\nFrom: <sip:alice@a>;tag=at\r\nTo: <sip:bob@b>;tag={}\r\nCall-ID: nat1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
        info.local_tag
    );
    net.inject(Transport::Udp, nat, addr(B), Bytes::from(ack));
    net.run();
    net.with(B, |ep, now| ep.dialog(db).and_then(|mut d| d.hangup(now)))
        .unwrap();
    let bye = net
        .wire()
        .into_iter()
        .find(|w| w.from == addr(B) && w.line.starts_with("BYE"))
        .expect("a BYE");
    // The Contact (10.0.0.5) is unreachable behind the NAT: the BYE follows the flow the
    // dialog was set up over, while its Request-URI stays the remote target (§12.2.1.1).
    assert_eq!(bye.to, nat);
    assert!(bye.line.starts_with("BYE sip:alice@10.0.0.5:5060 "));
}

fn bye_completed(ev: &[Event], d: DialogId) -> Vec<Result<u16, Failure>> {
    ev.iter()
        .filter_map(|e| match e {
            Event::ByeCompleted { dialog, outcome } if *dialog == d => Some(*outcome),
            _ => None,
        })
        .collect()
}

/// The TU hears when its BYE is answered (§15.1.1), and when nobody answers it: Timer F,
/// 64·T1 after the BYE (§17.1.2.2).
#[test]
fn the_end_of_a_bye_is_reported_answered_or_timed_out() {
    let mut net = Net::new(&[A, B]);
    let (da, _) = call(&mut net, A, B);
    net.take_events(A);
    net.with(A, |ep, now| ep.dialog(da).and_then(|mut d| d.hangup(now)))
        .unwrap();
    net.run();
    assert_eq!(bye_completed(&net.take_events(A), da), [Ok(200)]);

    // A second call whose BYE is lost every time: reported once, at Timer F.
    let (da, _) = call(&mut net, A, B);
    net.take_events(A);
    net.sim.drop_where(|line: &str| line.starts_with("BYE "));
    let sent_at = net.elapsed();
    net.with(A, |ep, now| ep.dialog(da).and_then(|mut d| d.hangup(now)))
        .unwrap();
    net.advance(sent_at + Duration::from_millis(31_999));
    assert_eq!(bye_completed(&net.take_events(A), da), []);
    net.advance(sent_at + Duration::from_secs(32));
    assert_eq!(
        bye_completed(&net.take_events(A), da),
        [Err(Failure::Timeout)]
    );
    net.advance(sent_at + Duration::from_secs(200));
    assert_eq!(bye_completed(&net.take_events(A), da), []);
}

/// §15: the callee hangs up before the ACK of its 2xx; the 2xx is still retransmitted, and
/// the BYE goes out once the ACK arrives.
#[test]
fn a_hang_up_before_the_ack_sends_bye_after_it() {
    let mut net = Net::new(&[A, B]);
    net.sim.drop_where(|line: &str| line.starts_with("ACK "));
    let (_, db) = call(&mut net, A, B);
    net.take_events(B);
    net.with(B, |ep, now| ep.dialog(db).and_then(|mut d| d.hangup(now)))
        .unwrap();
    net.run();
    assert_eq!(net.sent("BYE sip:").len(), 0, "no BYE before the ACK");
    assert_eq!(
        states(&net.take_events(B), db),
        [DialogState::Terminated(EndReason::LocalBye)]
    );
    net.sim.stop_dropping();
    // The 2xx retransmission at T1 is ACKed again; that ACK releases the BYE.
    net.advance(Duration::from_millis(600));
    assert_eq!(
        net.sent("SIP/2.0 200 OK").len(),
        2 + 1,
        "2xx, its retransmission, BYE's 200"
    );
    assert_eq!(net.sent("BYE sip:").len(), 1);
    assert_eq!(bye_completed(&net.take_events(B), db), [Ok(200)]);
    net.advance(Duration::from_secs(200));
    for a in [A, B] {
        assert_eq!(net.ep(a).transaction_count(), (0, 0), "{a}");
        assert_eq!(net.ep(a).dialog_count(), 0, "{a}");
    }
}

/// §12.2: a target refresh request (here UPDATE, RFC 3311) replaces the remote target, and
/// the next in-dialog request goes to the new one (the dialog's cached next hop included).
/// The UAC is refreshed: a UAS whose caller used `rport` answers over that flow instead.
#[test]
fn a_target_refresh_moves_the_next_request() {
    let mut net = Net::new(&[A, B]);
    let (da, _db) = call(&mut net, A, B);
    net.take_events(A);
    let info = net.ep(A).dialog_info(da).unwrap();
    assert_eq!(info.remote_target, "sip:192.0.2.2:5060");
    // A request before the refresh goes to B's first Contact (and caches that hop).
    net.with(A, |ep, now| {
        ep.dialog(da)
            .and_then(|mut d| d.request(now, Method::Info, &[], None))
    })
    .unwrap();
    net.run();
    let update = format!(
        "UPDATE sip:192.0.2.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bKupd1\r\n\
         Max-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 5 UPDATE\r\n\
         Contact: <sip:bob@192.0.2.7:5080>\r\nContent-Length: 0\r\n\r\n",
        info.remote, info.local, info.call_id
    );
    net.inject(Transport::Udp, addr(B), addr(A), Bytes::from(update));
    net.run();
    let tx = net
        .take_events(A)
        .into_iter()
        .find_map(|e| match e {
            Event::DialogRequest { tx, request, .. } if request.method() == &Method::Update => {
                Some(tx)
            }
            _ => None,
        })
        .expect("the UPDATE reaches A's TU");
    net.with(A, |ep, now| ep.respond_with(now, tx, 200))
        .unwrap();
    net.run();
    assert_eq!(
        net.ep(A).dialog_info(da).unwrap().remote_target,
        "sip:bob@192.0.2.7:5080"
    );
    net.with(A, |ep, now| ep.dialog(da).and_then(|mut d| d.hangup(now)))
        .unwrap();
    net.run();
    let info_req = net
        .wire()
        .into_iter()
        .find(|w| w.line.starts_with("INFO "))
        .expect("the INFO before the refresh");
    assert_eq!(info_req.to, B.parse::<SocketAddr>().unwrap());
    let bye = net
        .wire()
        .into_iter()
        .find(|w| w.line.starts_with("BYE "))
        .expect("a BYE");
    assert_eq!(bye.line, "BYE sip:bob@192.0.2.7:5080 SIP/2.0");
    assert_eq!(bye.to, "192.0.2.7:5080".parse::<SocketAddr>().unwrap());
}

/// When the dialog `d` of the endpoint at `a` terminated (virtual time since the start).
fn ended_at(net: &Net, a: &str, d: DialogId) -> Duration {
    net.events(a)
        .iter()
        .find_map(|(t, e)| match e {
            Event::DialogStateChanged { dialog, state }
                if *dialog == d && state.is_terminated() =>
            {
                Some(*t)
            }
            _ => None,
        })
        .expect("the dialog terminated")
}

/// An ended dialog is kept as a compact record (sip-core/src/dialog/ended.rs): it answers
/// every late message as the whole dialog did, the API sees it terminated, and it is
/// forgotten exactly 64·T1 after it ended.
#[test]
fn an_ended_dialog_record_answers_as_the_dialog_did_until_64_t1() {
    use sip_core::dialog::DialogError;
    let mut net = Net::new(&[A, B]);
    let (da, db) = call(&mut net, A, B);
    let live = net.ep(B).dialog_info(db).unwrap();
    net.with(A, |ep, now| ep.dialog(da).and_then(|mut d| d.hangup(now)))
        .unwrap();
    net.run();
    let end = ended_at(&net, B, db);
    assert_eq!(ended_at(&net, A, da), end);
    // The record: 72 bytes and its identity (the footprint counts the struct and strings).
    let ids = live.call_id.len() + live.local_tag.len() + live.remote_tag.as_ref().unwrap().len();
    let per_ended = net.ep(B).dialog_footprint().unwrap();
    assert!(
        per_ended <= 120 + ids,
        "{per_ended} B for an ended UAS dialog"
    );
    // The API: terminated with its reason, not unknown.
    let gone = DialogState::Terminated(EndReason::RemoteBye);
    assert_eq!(net.ep(B).dialog_state(db), Some(gone));
    let info = net.ep(B).dialog_info(db).unwrap();
    assert_eq!((info.local_seq, info.remote_seq), (live.local_seq, Some(2)));
    let refused = Err(DialogError::Terminated(EndReason::RemoteBye));
    assert_eq!(net.with(B, |ep, now| ep.dialog(db)?.hangup(now)), refused);
    let info_req = net.with(B, |ep, now| {
        ep.dialog(db)?.send_info(now, None, None).map(|_| ())
    });
    assert_eq!(info_req, refused);
    let reinvite = net.with(B, |ep, now| ep.dialog(db)?.reinvite(now, None).map(|_| ()));
    assert_eq!(reinvite, refused);
    net.take_events(B);
    // Late requests, found by the dialog id through the key index.
    let request = |method: &str, cseq: u32| {
        Bytes::from(format!(
            "{method} sip:x@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKrec{cseq}\r\nMax-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n",
            live.remote, live.local, live.call_id
        ))
    };
    let (r481, r200) = (net.sent("SIP/2.0 481").len(), net.sent("SIP/2.0 200").len());
    for (m, seq) in [
        ("INFO", 20),
        ("UPDATE", 21),
        ("OPTIONS", 22),
        ("INVITE", 23),
    ] {
        net.inject(Transport::Udp, addr(A), addr(B), request(m, seq));
        net.run();
    }
    assert_eq!(net.sent("SIP/2.0 481").len(), r481 + 4, "§12.2.2: 481");
    net.inject(Transport::Udp, addr(A), addr(B), request("BYE", 24));
    net.run();
    assert_eq!(
        net.sent("SIP/2.0 200").len(),
        r200 + 1,
        "RFC 5407 §3.1.2: 200"
    );
    // An ACK is taken without an answer and without reaching the dialog.
    let sent = net.wire().len();
    net.inject(Transport::Udp, addr(A), addr(B), request("ACK", 1));
    net.run();
    assert_eq!(net.wire().len(), sent + 1, "only the injected ACK");
    assert!(!net.take_events(B).iter().any(|e| matches!(
        e,
        Event::DialogRequest { .. } | Event::AckReceived { .. } | Event::DialogStateChanged { .. }
    )));
    assert_eq!(net.ep(B).dialog_state(db), Some(gone));
    // Forgotten at 64·T1 after the end, not a moment before.
    let t64 = Duration::from_secs(32);
    net.advance(end + t64 - Duration::from_millis(1));
    assert_eq!(net.ep(B).dialog_state(db), Some(gone));
    assert!(net.ep(A).dialog_state(da).is_some());
    net.advance(end + t64);
    assert_eq!(net.ep(B).dialog_state(db), None);
    assert_eq!(net.ep(A).dialog_state(da), None);
    assert_eq!((net.ep(A).dialog_count(), net.ep(B).dialog_count()), (0, 0));
    assert_eq!(
        net.with(B, |ep, now| ep.dialog(db).and_then(|mut d| d.hangup(now))),
        Err(DialogError::UnknownDialog)
    );
    // Then an in-dialog request finds no dialog: 481 still, and a BYE too.
    let r481 = net.sent("SIP/2.0 481").len();
    net.inject(Transport::Udp, addr(A), addr(B), request("BYE", 25));
    net.run();
    assert_eq!(net.sent("SIP/2.0 481").len(), r481 + 1);
}

/// §13.2.2.4: the 2xx of another fork that comes after the first dialog ended (the INVITE
/// client transaction takes it until Timer M) is ACKed and ended with BYE — written from
/// what the ended record keeps (our From, Contact and flow).
#[test]
fn a_fork_answering_after_an_ended_uac_dialog_is_acked_and_ended() {
    let mut net = Net::new(&[A, B]);
    let (da, _db) = call(&mut net, A, B);
    let ok = net
        .wire()
        .into_iter()
        .find(|w| w.line == "SIP/2.0 200 OK")
        .expect("the 2xx");
    let root = net.ep(A).dialog_info(da).unwrap();
    net.take_events(A);
    net.with(A, |ep, now| ep.dialog(da).and_then(|mut d| d.hangup(now)))
        .unwrap();
    net.run();
    let ea = net.take_events(A);
    assert_eq!(
        states(&ea, da),
        [DialogState::Terminated(EndReason::LocalBye)]
    );
    // The same 2xx from another fork (another To tag).
    let other = String::from_utf8(ok.bytes.to_vec()).unwrap().replace(
        &format!("tag={}", root.remote_tag.as_deref().unwrap()),
        "tag=otherfork",
    );
    let (acks, byes) = (net.sent("ACK sip:").len(), net.sent("BYE sip:").len());
    net.inject(Transport::Udp, addr(B), addr(A), Bytes::from(other));
    net.run();
    let ea = net.take_events(A);
    let fork = ea
        .iter()
        .find_map(|e| match e {
            Event::Forked { dialog, original } if *original == da => Some(*dialog),
            _ => None,
        })
        .expect("a new fork");
    assert_eq!(
        states(&ea, fork),
        [
            DialogState::Confirmed,
            DialogState::Terminated(EndReason::OtherForkAnswered)
        ]
    );
    assert_eq!(net.sent("ACK sip:").len(), acks + 1);
    assert_eq!(net.sent("BYE sip:").len(), byes + 1);
    let from = |line: &str| {
        let w = net
            .wire()
            .into_iter()
            .rfind(|w| w.line.starts_with(line))
            .unwrap();
        let SipMessage::Request(r) = parse_unchecked(w.bytes, &Default::default()).unwrap() else {
            panic!()
        };
        (
            r.headers()
                .get(sip_core::message::HeaderName::From)
                .unwrap()
                .to_owned(),
            r.to().and_then(|t| t.tag().map(str::to_owned)),
            r.cseq().map(|c| c.0),
        )
    };
    let (ack_from, ack_to_tag, ack_seq) = from("ACK sip:");
    assert_eq!(ack_from, root.local, "the ACK carries our From");
    assert_eq!(ack_to_tag.as_deref(), Some("otherfork"));
    assert_eq!(ack_seq, Some(1), "the INVITE's CSeq (§13.2.2.4)");
    let (bye_from, bye_to_tag, _) = from("BYE sip:");
    assert_eq!(bye_from, root.local);
    assert_eq!(bye_to_tag.as_deref(), Some("otherfork"));
    // The ended dialog still re-ACKs its own 2xx, and the fork's retransmission is ACKed
    // by the fork.
    let acks = net.sent("ACK sip:").len();
    net.inject(Transport::Udp, addr(B), addr(A), ok.bytes.clone());
    net.run();
    assert_eq!(net.sent("ACK sip:").len(), acks + 1);
    assert_eq!(
        net.ep(A).dialog_state(da),
        Some(DialogState::Terminated(EndReason::LocalBye))
    );
}

/// RFC 3891 §3: an INVITE whose Replaces names an ended dialog gets 603 — or 481 when the
/// dialog was created by a REFER, not an INVITE — from the ended record too.
#[test]
fn replaces_naming_an_ended_dialog_gets_603_or_481_if_a_refer_created_it() {
    let mut net = Net::new(&[A, B]);
    let replacing = |net: &mut Net, d: DialogId, n: u32| {
        let i = net.ep(A).dialog_info(d).unwrap();
        let invite = format!(
            "INVITE sip:a@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bKrepl{n}\r\nMax-Forwards: 70\r\nFrom: <sip:c@z>;tag=c{n}\r\nTo: <sip:a@x>\r\nCall-ID: repl-{n}\r\nCSeq: 1 INVITE\r\nContact: <sip:c@192.0.2.9>\r\nReplaces: {};to-tag={};from-tag={}\r\nContent-Length: 0\r\n\r\n",
            i.call_id,
            i.local_tag,
            i.remote_tag.unwrap()
        );
        net.inject(
            Transport::Udp,
            "192.0.2.9:5060".parse().unwrap(),
            addr(A),
            Bytes::from(invite),
        );
        net.run();
    };
    // A dialog an INVITE created, ended: 603.
    let (da, _db) = call(&mut net, A, B);
    net.with(A, |ep, now| ep.dialog(da).and_then(|mut d| d.hangup(now)))
        .unwrap();
    net.run();
    assert!(net.ep(A).dialog_state(da).unwrap().is_terminated());
    replacing(&mut net, da, 1);
    assert_eq!(net.sent("SIP/2.0 603").len(), 1);
    // A dialog a REFER outside a dialog created (RFC 3515 §2.4.1), ended: 481.
    let (dr, _) = net
        .with(A, |ep, now| {
            ep.refer_out_of_dialog(
                now,
                InviteOptions::new("sip:bob@192.0.2.2", "<sip:alice@x>", "<sip:bob@y>"),
                "sip:carol@192.0.2.3",
            )
        })
        .unwrap();
    net.run();
    let rb = net
        .take_events(B)
        .iter()
        .find_map(|e| match e {
            Event::ReferReceived { refer, .. } => Some(*refer),
            _ => None,
        })
        .unwrap();
    net.with(B, |ep, now| ep.refer(rb).and_then(|mut r| r.accept(now)))
        .unwrap();
    net.run();
    assert_eq!(net.ep(A).dialog_state(dr), Some(DialogState::Confirmed));
    net.with(A, |ep, now| ep.dialog(dr).and_then(|mut d| d.hangup(now)))
        .unwrap();
    net.run();
    assert_eq!(
        net.ep(A).dialog_state(dr),
        Some(DialogState::Terminated(EndReason::LocalBye))
    );
    let r481 = net.sent("SIP/2.0 481").len();
    replacing(&mut net, dr, 2);
    assert_eq!(net.sent("SIP/2.0 481").len(), r481 + 1);
    assert_eq!(net.sent("SIP/2.0 603").len(), 1);
}

/// An ended dialog sends nothing more: when one of its requests times out after it ended
/// (§12.2.1.2 would end a live dialog with BYE), no BYE goes out — there is no dialog left
/// to write it from.
#[test]
fn a_request_timing_out_after_its_dialog_ended_sends_no_bye() {
    let mut net = Net::new(&[A, B]);
    let (da, db) = call(&mut net, A, B);
    net.sim.drop_where(|l: &str| l.starts_with("INFO"));
    net.with(A, |ep, now| ep.dialog(da)?.send_info(now, None, None))
        .unwrap();
    net.run();
    net.advance(net.elapsed() + Duration::from_secs(1));
    net.with(B, |ep, now| ep.dialog(db).and_then(|mut d| d.hangup(now)))
        .unwrap();
    net.run();
    assert_eq!(
        net.ep(A).dialog_state(da),
        Some(DialogState::Terminated(EndReason::RemoteBye))
    );
    // Timer F (64·T1) of the INFO fires while A still keeps the ended dialog.
    net.advance(Duration::from_secs(32) + Duration::from_millis(500));
    assert!(net.ep(A).dialog_state(da).is_some());
    let byes_from_a = net
        .wire()
        .into_iter()
        .filter(|w| w.from == addr(A) && w.line.starts_with("BYE"))
        .count();
    assert_eq!(byes_from_a, 0);
}
