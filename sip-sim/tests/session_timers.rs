//! Session timers (RFC 4028) between two user agents, at exact virtual times.
//!
//! A 10 ms lossless link: a message sent at `t` arrives at `t + 10 ms`. Alice
//! (10.0.0.1) calls Bob (10.0.0.2) at 0; Bob answers every INVITE and re-INVITE with 200 at
//! once, so Bob sends the 2xx at 10 ms and Alice has it at 20 ms.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use sip_core::dialog::{DialogId, DialogState, EndReason, Expiry, SessionTimers};
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

const SDP: &[u8] = b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\n";

/// A UA that does not allow UPDATE (so refreshes go by re-INVITE, RFC 4028 §7.4) unless
/// `UPDATE_ALLOWED` is set for it.
fn config(addr: SocketAddr, timers: SessionTimers) -> EndpointConfig {
    let update = UPDATE_ALLOWED.with(|u| u.get());
    let mut allow = vec![
        Method::Invite,
        Method::Ack,
        Method::Bye,
        Method::Cancel,
        Method::Options,
    ];
    if update {
        allow.push(Method::Update);
    }
    EndpointConfig {
        session_timers: timers,
        allowed_methods: Some(allow),
        ..EndpointConfig::with_local(Transport::Udp, addr)
    }
}

thread_local! {
    /// Whether the UAs a test builds allow UPDATE.
    static UPDATE_ALLOWED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A UA that answers every INVITE and re-INVITE 200 at once.
fn answering(sim: &Sim, addr: SocketAddr, seed: u64, timers: SessionTimers) -> UaNode {
    UaNode::with_config(sim.base(), addr, config(addr, timers), seed).react(|ctl, e| {
        let d = match e {
            Event::IncomingCall { dialog, .. } => *dialog,
            Event::DialogRequest {
                dialog, request, ..
            } if *request.method() == Method::Invite => *dialog,
            _ => return,
        };
        let body = Some(("application/sdp", Bytes::from_static(SDP)));
        ctl.ep
            .dialog(d)
            .and_then(|mut d| d.accept(ctl.now, body))
            .unwrap();
    })
}

struct Call {
    sim: Sim,
    alice: NodeId,
    bob: NodeId,
    dialog: DialogId,
}

/// Alice (with `alice` session timers and `headers` on her INVITE) calls Bob.
fn call(alice: SessionTimers, bob: SessionTimers, headers: &[(&str, &str)]) -> Call {
    let mut sim = Sim::new(1);
    sim.set_default_link(LinkConfig::ideal(ms(10)));
    let a = sim.add_node(alice_addr(), answering(&sim, alice_addr(), 1, alice));
    let b = sim.add_node(bob_addr(), answering(&sim, bob_addr(), 2, bob));
    let mut opts = InviteOptions::new("sip:bob@10.0.0.2", "<sip:alice@a>", "<sip:bob@b>")
        .body("application/sdp", Bytes::from_static(SDP));
    for (n, v) in headers {
        opts = opts.header(n, v);
    }
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

fn ua(sim: &mut Sim, id: NodeId) -> &mut UaNode {
    sim.node_mut::<UaNode>(id).unwrap()
}

fn final_state(ua: &UaNode) -> Option<DialogState> {
    ua.events.iter().rev().find_map(|(_, e)| match e {
        Event::DialogStateChanged { state, .. } => Some(*state),
        _ => None,
    })
}

/// The text of every message `from` sent whose first line matches.
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

fn dialog_of_first_call(ua: &UaNode) -> DialogId {
    ua.events
        .iter()
        .find_map(|(_, e)| match e {
            Event::IncomingCall { dialog, .. } => Some(*dialog),
            _ => None,
        })
        .unwrap()
}

#[test]
fn the_uac_refreshes_at_exactly_half_the_interval_rfc4028_s10() {
    let mut c = call(SessionTimers::on(90, 90), SessionTimers::on(1800, 90), &[]);
    c.sim.run_until(Duration::from_secs(100)).unwrap();
    // Bob granted the 90 s Alice asked for, with Alice (she supports timers) refreshing.
    let oks = sent_texts(&c.sim, bob_addr(), Match::Status(200));
    assert_eq!(header(&oks[0], "Session-Expires"), Some("90;refresher=uac"));
    assert_eq!(header(&oks[0], "Require"), Some("timer"));
    // The 2xx reached Alice at 20 ms; refreshes at 20 ms + 45 s, then 45 s after the 2xx
    // of that refresh (at 45.040 s).
    assert_eq!(
        c.sim
            .trace()
            .sent_times(alice_addr(), Match::Request(Method::Invite)),
        vec![ms(0), ms(45_020), ms(90_040)]
    );
    let invites = sent_texts(&c.sim, alice_addr(), Match::Request(Method::Invite));
    assert_eq!(header(&invites[0], "Session-Expires"), Some("90"));
    assert_eq!(header(&invites[0], "Supported"), Some("timer"));
    assert_eq!(header(&invites[0], "Min-SE"), Some("90"));
    // The refresh re-offers Alice's session description, names her as the refresher.
    assert_eq!(
        header(&invites[1], "Session-Expires"),
        Some("90;refresher=uac")
    );
    assert!(invites[1].ends_with(std::str::from_utf8(SDP).unwrap()));
    // Answered with the negotiated interval.
    assert_eq!(header(&oks[1], "Session-Expires"), Some("90;refresher=uac"));
    let alice = ua(&mut c.sim, c.alice);
    let st = alice.ep.dialog(c.dialog).unwrap().session_timer().unwrap();
    assert_eq!(st.interval, Duration::from_secs(90));
    assert!(st.local_refresher);
    assert_eq!(final_state(alice), Some(DialogState::Confirmed));
    let bob = ua(&mut c.sim, c.bob);
    let d = dialog_of_first_call(bob);
    let st = bob.ep.dialog(d).unwrap().session_timer().unwrap();
    assert!(!st.local_refresher);
    assert_eq!(final_state(bob), Some(DialogState::Confirmed));
}

#[test]
fn the_other_side_sends_bye_when_refreshes_stop_rfc4028_s10() {
    let mut c = call(SessionTimers::on(90, 90), SessionTimers::on(1800, 90), &[]);
    c.sim.run_until(Duration::from_secs(1)).unwrap();
    // From now on no INVITE gets through: Alice's refresh at 45.020 s is lost.
    c.sim.drop_where(Match::Request(Method::Invite));
    c.sim.run_until(Duration::from_secs(200)).unwrap();
    // Bob sent his 2xx at 10 ms: BYE at 10 ms + 90 s − min(32 s, 30 s) = 60.010 s.
    assert_eq!(
        c.sim
            .trace()
            .sent_times(bob_addr(), Match::Request(Method::Bye)),
        vec![ms(60_010)]
    );
    let bob = ua(&mut c.sim, c.bob);
    assert_eq!(
        final_state(bob),
        Some(DialogState::Terminated(EndReason::Expired(
            Expiry::SessionTimer
        )))
    );
    // Alice's refresh went unanswered too: she gives up at the same deadline, counted
    // from her receipt of the 2xx (20 ms + 60 s), when Bob's BYE arrives (§10).
    let alice = ua(&mut c.sim, c.alice);
    let ended: Vec<_> = alice
        .events
        .iter()
        .filter_map(|(t, e)| match e {
            Event::DialogStateChanged {
                state: DialogState::Terminated(r),
                ..
            } => Some((*t, *r)),
            _ => None,
        })
        .collect();
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].0, ms(60_020));
    assert!(matches!(
        ended[0].1,
        EndReason::RemoteBye | EndReason::Expired(Expiry::SessionTimer)
    ));
}

#[test]
fn a_422_is_retried_with_the_larger_interval_and_the_call_succeeds_rfc4028_s7_3() {
    let mut c = call(SessionTimers::on(90, 90), SessionTimers::on(1800, 120), &[]);
    c.sim.run_until(Duration::from_secs(1)).unwrap();
    let refused = sent_texts(&c.sim, bob_addr(), Match::Status(422));
    assert_eq!(refused.len(), 1);
    assert_eq!(header(&refused[0], "Min-SE"), Some("120"));
    let invites = sent_texts(&c.sim, alice_addr(), Match::Request(Method::Invite));
    assert_eq!(invites.len(), 2);
    let (first, retry) = (&invites[0], &invites[1]);
    // §7.3: same Call-ID and From (tag and all), a higher CSeq, the body again.
    assert_eq!(header(first, "Call-ID"), header(retry, "Call-ID"));
    assert_eq!(header(first, "From"), header(retry, "From"));
    assert_eq!(header(retry, "To"), Some("<sip:bob@b>"));
    assert_eq!(header(retry, "CSeq"), Some("2 INVITE"));
    assert_eq!(header(&invites[1], "Session-Expires"), Some("120"));
    assert_eq!(header(&invites[1], "Min-SE"), Some("120"));
    assert!(invites[1].ends_with(std::str::from_utf8(SDP).unwrap()));
    // Times: INVITE at 0, 422 at 10 ms, retry at 20 ms, 200 at 30 ms, ACK at 40 ms.
    assert_eq!(
        c.sim
            .trace()
            .sent_times(alice_addr(), Match::Request(Method::Invite)),
        vec![ms(0), ms(20)]
    );
    let alice = ua(&mut c.sim, c.alice);
    assert!(
        !alice.events.iter().any(|(_, e)| matches!(e,
            Event::DialogResponse { response, .. } if response.status() == 422)),
        "the 422 is the core's business"
    );
    assert_eq!(final_state(alice), Some(DialogState::Confirmed));
    let st = alice.ep.dialog(c.dialog).unwrap().session_timer().unwrap();
    assert_eq!(st.interval, Duration::from_secs(120));
    // The refresh comes at 40 ms (the 2xx's arrival) + 60 s.
    c.sim.run_until(Duration::from_secs(61)).unwrap();
    assert_eq!(
        c.sim
            .trace()
            .sent_times(alice_addr(), Match::Request(Method::Invite)),
        vec![ms(0), ms(20), ms(60_040)]
    );
}

#[test]
fn a_uas_refreshes_a_session_a_proxy_asked_for_rfc4028_s8_s9() {
    // Alice has no session timers; a proxy on the way added Session-Expires.
    let mut c = call(
        SessionTimers::OFF,
        SessionTimers::on(1800, 90),
        &[("Session-Expires", "100")],
    );
    c.sim.run_until(Duration::from_secs(50)).unwrap();
    let oks = sent_texts(&c.sim, bob_addr(), Match::Status(200));
    assert_eq!(
        header(&oks[0], "Session-Expires"),
        Some("100;refresher=uas")
    );
    assert_eq!(
        header(&oks[0], "Require"),
        None,
        "the UAC does not support timers"
    );
    let bob = ua(&mut c.sim, c.bob);
    let d = dialog_of_first_call(bob);
    let st = bob.ep.dialog(d).unwrap().session_timer().unwrap();
    assert_eq!(st.interval, Duration::from_secs(100));
    assert!(st.local_refresher);
    let alice = ua(&mut c.sim, c.alice);
    assert_eq!(alice.ep.dialog(c.dialog).unwrap().session_timer(), None);
    // Bob sent his 2xx at 10 ms; he refreshes at 10 ms + 50 s, and Alice answers.
    c.sim.run_until(Duration::from_secs(60)).unwrap();
    assert_eq!(
        c.sim
            .trace()
            .sent_times(bob_addr(), Match::Request(Method::Invite)),
        vec![ms(50_010)]
    );
    // Alice's 2xx has no Session-Expires (no proxy on this path adds one to it): the
    // session timer is off from then on (§7.2), and the call goes on.
    let bob = ua(&mut c.sim, c.bob);
    assert_eq!(bob.ep.dialog(d).unwrap().session_timer(), None);
    assert_eq!(final_state(bob), Some(DialogState::Confirmed));
    let alice = ua(&mut c.sim, c.alice);
    assert_eq!(final_state(alice), Some(DialogState::Confirmed));
}

#[test]
fn without_session_timers_a_call_carries_no_timer_header() {
    let mut c = call(SessionTimers::OFF, SessionTimers::OFF, &[]);
    c.sim.run_until(Duration::from_secs(1)).unwrap();
    for from in [alice_addr(), bob_addr()] {
        for m in sent_texts(&c.sim, from, Match::Any) {
            assert_eq!(header(&m, "Session-Expires"), None);
            assert_eq!(header(&m, "Supported"), None);
        }
    }
    let alice = ua(&mut c.sim, c.alice);
    assert_eq!(alice.ep.dialog(c.dialog).unwrap().session_timer(), None);
}

#[test]
fn refreshes_go_by_update_when_the_peer_allows_it_rfc4028_s7_4() {
    UPDATE_ALLOWED.with(|u| u.set(true));
    let mut c = call(SessionTimers::on(90, 90), SessionTimers::on(1800, 90), &[]);
    c.sim.run_until(Duration::from_secs(100)).unwrap();
    // Bob's 2xx listed UPDATE in Allow: Alice refreshes by UPDATE at 20 ms + 45 s, then 45 s
    // after that UPDATE's 2xx (45.040 s); no re-INVITE.
    let ok = &sent_texts(&c.sim, bob_addr(), Match::Status(200))[0];
    assert!(header(ok, "Allow").unwrap().contains("UPDATE"));
    assert_eq!(
        c.sim
            .trace()
            .sent_times(alice_addr(), Match::Request(Method::Invite)),
        vec![ms(0)]
    );
    assert_eq!(
        c.sim
            .trace()
            .sent_times(alice_addr(), Match::Request(Method::Update)),
        vec![ms(45_020), ms(90_040)]
    );
    let updates = sent_texts(&c.sim, alice_addr(), Match::Request(Method::Update));
    assert_eq!(
        header(&updates[0], "Session-Expires"),
        Some("90;refresher=uac")
    );
    assert_eq!(
        header(&updates[0], "Content-Length"),
        Some("0"),
        "no offer (§7.4)"
    );
    // Bob answered each himself, granting the interval again (§9).
    let oks = sent_texts(&c.sim, bob_addr(), Match::Status(200));
    let update_ok = oks.iter().find(|t| t.contains("UPDATE")).unwrap();
    assert_eq!(
        header(update_ok, "Session-Expires"),
        Some("90;refresher=uac")
    );
    assert_eq!(
        final_state(ua(&mut c.sim, c.alice)),
        Some(DialogState::Confirmed)
    );
    assert_eq!(
        final_state(ua(&mut c.sim, c.bob)),
        Some(DialogState::Confirmed)
    );
    // And when the UPDATEs stop, Bob ends the call at 45.030 s + 60 s.
    c.sim.drop_where(Match::Request(Method::Update));
    c.sim.run_until(Duration::from_secs(300)).unwrap();
    assert_eq!(
        c.sim
            .trace()
            .sent_times(bob_addr(), Match::Request(Method::Bye)),
        vec![ms(90_050 + 60_000)]
    );
}

/// Bob answers the first refresh re-INVITE with 491 (as when it crossed one of his own):
/// Alice sends it again after the RFC 3261 §14.1 interval — she owns the Call-ID, so 2.1–4 s
/// later — and the retry still carries Session-Expires and Min-SE, so it refreshes the
/// session (RFC 4028 §7.4) and the call lives on.
#[test]
fn a_refresh_retried_after_491_still_carries_session_expires_rfc4028_s7_4() {
    let mut sim = Sim::new(1);
    sim.set_default_link(LinkConfig::ideal(ms(10)));
    let timers = SessionTimers::on(90, 90);
    let a = sim.add_node(alice_addr(), answering(&sim, alice_addr(), 1, timers));
    let refused = std::rc::Rc::new(std::cell::Cell::new(false));
    let bob = UaNode::with_config(sim.base(), bob_addr(), config(bob_addr(), timers), 2).react(
        move |ctl, e| {
            let d = match e {
                Event::IncomingCall { dialog, .. } => *dialog,
                Event::DialogRequest {
                    dialog, request, ..
                } if *request.method() == Method::Invite => *dialog,
                _ => return,
            };
            let mut h = ctl.ep.dialog(d).unwrap();
            if matches!(e, Event::DialogRequest { .. }) && !refused.replace(true) {
                h.reject(ctl.now, 491).unwrap();
                return;
            }
            let body = Some(("application/sdp", Bytes::from_static(SDP)));
            h.accept(ctl.now, body).unwrap();
        },
    );
    let b = sim.add_node(bob_addr(), bob);
    let opts = InviteOptions::new("sip:bob@10.0.0.2", "<sip:alice@a>", "<sip:bob@b>")
        .body("application/sdp", Bytes::from_static(SDP));
    let dialog = sim
        .with_node(a, |n: &mut UaNode, now| {
            n.with_endpoint(now, |ep, now| ep.invite(now, opts))
        })
        .unwrap()
        .unwrap();
    sim.run_until(Duration::from_secs(100)).unwrap();
    // The refresh at 45.020 s got 491 (Bob sent it at 45.030 s, Alice had it at 45.040 s).
    let invites = sim
        .trace()
        .sent_times(alice_addr(), Match::Request(Method::Invite));
    assert_eq!(invites[..2], [ms(0), ms(45_020)]);
    assert_eq!(
        sim.trace().sent_times(bob_addr(), Match::Status(491)),
        vec![ms(45_030)]
    );
    let retry_after = invites[2] - ms(45_040);
    assert!(
        (ms(2100)..=ms(4000)).contains(&retry_after) && retry_after.as_millis().is_multiple_of(10),
        "{retry_after:?}"
    );
    let texts = sent_texts(&sim, alice_addr(), Match::Request(Method::Invite));
    for t in &texts[1..3] {
        assert_eq!(
            header(t, "Session-Expires"),
            Some("90;refresher=uac"),
            "{t}"
        );
        assert_eq!(header(t, "Min-SE"), Some("90"), "{t}");
        assert!(t.ends_with(std::str::from_utf8(SDP).unwrap()), "{t}");
    }
    // The retry's 2xx (back 20 ms later) restarted the timer: the next refresh is 45 s
    // after it, and the call is still up at 100 s.
    assert_eq!(invites.get(3), Some(&(invites[2] + ms(20) + ms(45_000))));
    let alice = ua(&mut sim, a);
    assert!(alice.ep.dialog(dialog).unwrap().session_timer().is_some());
    assert_eq!(final_state(alice), Some(DialogState::Confirmed));
    let bob = ua(&mut sim, b);
    assert_eq!(final_state(bob), Some(DialogState::Confirmed));
}
