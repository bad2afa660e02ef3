//! The dialog lifetime guard (issue 16, item 6): answered, ACKed and abandoned calls no
//! longer hold `max_dialogs` forever, and the overload answer (503 + Retry-After) stops
//! once the guard has freed the table; normal long calls are left alone. Virtual time on
//! the simulated network.

mod attacker;
mod support;

use std::time::Duration;

use bytes::Bytes;
use sip_core::dialog::{DialogGuard, DialogId, DialogState, EndReason, Expiry};
use sip_core::endpoint::{EndpointConfig, Event, InviteOptions};
use sip_core::message::Method;
use sip_core::transport::Transport;
use support::{A, B, Net, addr, udp};

use attacker::{X, ack, invite, pbx, response_to};

const HOUR: Duration = Duration::from_secs(3600);

/// The attacker places call `n` at the PBX; answered, it ACKs the 2xx (if one came) and
/// then never sends anything again. The status the PBX answered with.
fn abandoned_call(net: &mut Net, n: u32) -> u16 {
    let inv = invite(n, addr(X), addr(B), addr(X));
    net.inject(Transport::Udp, addr(X), addr(B), Bytes::from(inv));
    net.run();
    if let Some(ok) = response_to(net, n, 200) {
        let a = ack(n, addr(X), addr(B), &ok);
        net.inject(Transport::Udp, addr(X), addr(B), Bytes::from(a));
        net.run();
        return 200;
    }
    let refused = response_to(net, n, 503).expect("200 or 503");
    let text = String::from_utf8_lossy(&refused.bytes).into_owned();
    assert!(text.contains("\r\nRetry-After: "), "{text}");
    503
}

fn terminations(net: &Net) -> Vec<EndReason> {
    net.events(B)
        .iter()
        .filter_map(|(_, e)| match e {
            Event::DialogStateChanged {
                state: DialogState::Terminated(r),
                ..
            } => Some(*r),
            _ => None,
        })
        .collect()
}

/// Issue 16: calls answered and ACKed but never hung up filled `max_dialogs`, and every
/// new INVITE got 503 for good. With the default guard (12 hours) they are ended with BYE,
/// the TU hears `Expired(MaxDuration)`, and new calls are answered again.
#[test]
fn abandoned_dialogs_are_ended_by_the_default_guard_and_new_calls_accepted_again() {
    let mut net = Net::empty();
    let config = EndpointConfig {
        max_dialogs: 3,
        ..udp(B)
    };
    let node = pbx(&net, config, 9);
    net.add_node(node);
    for n in 1..=3 {
        assert_eq!(abandoned_call(&mut net, n), 200, "call {n}");
    }
    // The table is full: overload answers, with Retry-After.
    assert_eq!(abandoned_call(&mut net, 4), 503);
    // Long silent calls are not cut short: still full just before the 12 hours.
    net.advance(12 * HOUR - Duration::from_secs(60));
    assert_eq!(abandoned_call(&mut net, 5), 503);
    assert!(
        terminations(&net)
            .iter()
            .all(|r| *r == EndReason::Rejected(503))
    );

    // At 12 hours the guard ends each with BYE (to the peer that never answers it: the
    // BYE transactions time out), and the table frees up once they are forgotten.
    net.advance(12 * HOUR + Duration::from_secs(60));
    let byes = net
        .wire()
        .into_iter()
        .filter(|s| s.from == addr(B) && s.line.starts_with("BYE"))
        .map(|s| s.to)
        .collect::<std::collections::BTreeSet<_>>();
    assert_eq!(byes.into_iter().collect::<Vec<_>>(), [addr(X)]);
    let expired = terminations(&net)
        .into_iter()
        .filter(|r| *r == EndReason::Expired(Expiry::MaxDuration))
        .count();
    assert_eq!(expired, 3);
    assert_eq!(abandoned_call(&mut net, 6), 200, "accepted again");
    assert_eq!(abandoned_call(&mut net, 7), 200);
}

/// How dialog `d` of the endpoint at `at` ended, from its events (it may be forgotten).
fn ended(net: &Net, at: &str, d: DialogId) -> Option<EndReason> {
    net.events(at).iter().find_map(|(_, e)| match e {
        Event::DialogStateChanged {
            dialog,
            state: DialogState::Terminated(r),
        } if *dialog == d => Some(*r),
        _ => None,
    })
}

fn call(net: &mut Net) -> (DialogId, DialogId) {
    let opts = InviteOptions::new("sip:u@192.0.2.2", "<sip:a@x>", "<sip:b@y>")
        .body("application/sdp", &b"v=0\r\n"[..]);
    let da = net.with(A, |ep, now| ep.invite(now, opts)).unwrap();
    net.run();
    let db = net
        .events(B)
        .iter()
        .rev()
        .find_map(|(_, e)| match e {
            Event::IncomingCall { dialog, .. } => Some(*dialog),
            _ => None,
        })
        .unwrap();
    assert_eq!(net.ep(A).dialog_state(da), Some(DialogState::Confirmed));
    (da, db)
}

/// The idle limit (opt-in): a dialog in which the peer says nothing for the configured time
/// is ended with BYE (`Expired(Idle)`); one whose peer keeps sending requests within it is
/// not, until its maximum duration.
#[test]
fn the_idle_limit_ends_silent_dialogs_and_spares_talking_ones() {
    let mut net = Net::empty();
    net.add(udp(A), 1);
    let guarded = EndpointConfig {
        dialog_guard: DialogGuard {
            max_duration: Some(Duration::from_secs(600)),
            idle: Some(Duration::from_secs(60)),
        },
        ..udp(B)
    };
    let node = pbx(&net, guarded, 9);
    net.add_node(node);
    let (silent_a, silent_b) = call(&mut net);
    let (talking_a, talking_b) = call(&mut net);
    // A sends an INFO in one dialog every 30 s; the PBX answers each.
    for s in (30..=570).step_by(30) {
        net.advance(Duration::from_secs(s));
        net.with(A, |ep, now| {
            ep.dialog(talking_a)
                .and_then(|mut d| d.request(now, Method::Info, &[], None))
        })
        .unwrap();
        net.run();
    }
    assert_eq!(
        ended(&net, B, silent_b),
        Some(EndReason::Expired(Expiry::Idle))
    );
    let idle_end = net.events(B).iter().find_map(|(t, e)| match e {
        Event::DialogStateChanged { dialog, state }
            if *dialog == silent_b && state.is_terminated() =>
        {
            Some(*t)
        }
        _ => None,
    });
    assert_eq!(
        idle_end,
        Some(Duration::from_secs(60)),
        "60 s after the ACK"
    );
    assert_eq!(ended(&net, B, talking_b), None);
    assert_eq!(
        ended(&net, A, silent_a),
        Some(EndReason::RemoteBye),
        "the peer heard a BYE"
    );
    // Busy or not, the maximum duration still applies.
    net.advance(Duration::from_secs(601));
    assert_eq!(
        ended(&net, B, talking_b),
        Some(EndReason::Expired(Expiry::MaxDuration))
    );
    assert_eq!(ended(&net, A, talking_a), Some(EndReason::RemoteBye));
}

/// The defaults leave a normal call alone however quiet it is: the default guard has no
/// idle limit, and its maximum is 12 hours.
#[test]
fn the_default_guard_spares_a_long_silent_call() {
    let mut net = Net::empty();
    net.add(udp(A), 1);
    let node = pbx(&net, udp(B), 9);
    net.add_node(node);
    let (da, db) = call(&mut net);
    net.advance(11 * HOUR);
    assert_eq!(net.ep(A).dialog_state(da), Some(DialogState::Confirmed));
    assert_eq!(net.ep(B).dialog_state(db), Some(DialogState::Confirmed));
    assert!(!net.wire().iter().any(|s| s.line.starts_with("BYE")));
}

/// The guard serves both sides: a caller whose maximum duration passes hangs up itself.
#[test]
fn the_caller_side_is_guarded_too() {
    let mut net = Net::empty();
    let caller = EndpointConfig {
        dialog_guard: DialogGuard {
            max_duration: Some(Duration::from_secs(90)),
            idle: None,
        },
        ..udp(A)
    };
    net.add(caller, 1);
    let node = pbx(&net, udp(B), 9);
    net.add_node(node);
    let (da, db) = call(&mut net);
    net.advance(Duration::from_secs(89));
    assert_eq!(ended(&net, A, da), None);
    net.advance(Duration::from_secs(91));
    assert_eq!(
        ended(&net, A, da),
        Some(EndReason::Expired(Expiry::MaxDuration))
    );
    assert_eq!(ended(&net, B, db), Some(EndReason::RemoteBye));
    let bye_at = net.sent("BYE sip:");
    assert_eq!(bye_at, [Duration::from_secs(90)]);
    let done = net.events(A).iter().any(
        |(_, e)| matches!(e, Event::ByeCompleted { dialog, outcome: Ok(200) } if *dialog == da),
    );
    assert!(done, "the BYE's outcome is reported as for a hang-up");
}
