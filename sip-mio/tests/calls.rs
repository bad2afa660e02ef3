//! Drivers in one `mio::Poll` complete calls, transfers and out-of-dialog requests over
//! loopback against the `mio_uas` app (RFC 3261 §13–§15, RFC 3515), and the app's own
//! timers (ringing) run through the driver's alarm.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::app::{App, AppStats};
use common::{Harness, addr, hangup, invite, invite_to, now, request, send, uri};
use sip_core::dialog::{DialogId, DialogState, EndReason, ReferEvent};
use sip_core::endpoint::{Event as SipEvent, Target};
use sip_core::message::{HeaderName, Method};
use sip_core::transport::Transport;
use sip_mio::{DriverConfig, Event, Listen};
use sip_pbx::{PbxConfig, Report};

const LIMIT: Duration = Duration::from_secs(5);

fn listen(t: Transport, a: &str) -> Vec<Listen> {
    match t {
        Transport::Tcp => vec![Listen::tcp(addr(a))],
        _ => vec![Listen::udp(addr(a))],
    }
}

/// Alice (node 0) calls Bob (node 1, the app), then hangs up. Returns the harness.
fn call_and_hang_up(transport: Transport, ip: &str) -> Harness {
    let mut h = Harness::new();
    let a = h.add_on(listen(transport, &format!("{ip}:0")), 1, false);
    let b = h.add_on(listen(transport, &format!("{ip}:0")), 2, true);
    let bob: SocketAddr = h.driver(b).local_addr(transport).unwrap();
    let call = invite(&mut h, a, invite_to(transport, bob));
    assert!(h.run_until(LIMIT, |h| h.has_state(a, call, DialogState::Confirmed)));
    // The ACK reaches Bob.
    assert!(h.run_until(LIMIT, |h| h.app(b).stats().acks == 1));
    assert_eq!(
        h.states(a, call),
        [DialogState::Early, DialogState::Confirmed]
    );
    let responses: Vec<u16> = h.nodes[a]
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Sip(SipEvent::DialogResponse { response, .. }) => Some(response.status()),
            _ => None,
        })
        .collect();
    assert_eq!(responses, [180, 200]);
    let answer = h.nodes[a].events.iter().find_map(|e| match e {
        Event::Sip(SipEvent::DialogResponse { response, .. }) if response.status() == 200 => {
            Some(response.body().clone())
        }
        _ => None,
    });
    assert!(answer.unwrap().starts_with(b"v=0\r\n"));

    let bob_call = h.incoming_call(b).unwrap();
    hangup(&mut h, a, call);
    assert!(h.run_until(LIMIT, |h| h.has_state(
        b,
        bob_call,
        DialogState::Terminated(EndReason::RemoteBye)
    )));
    assert!(h.has_state(a, call, DialogState::Terminated(EndReason::LocalBye)));
    assert_eq!(
        h.app(b).report(),
        Report {
            calls_received: 1,
            calls_answered: 1,
            calls_ended: 1,
            ..Default::default()
        }
    );
    assert_eq!(
        h.app(b).stats(),
        AppStats {
            acks: 1,
            ..Default::default()
        }
    );
    // The BYE's 200 reaches Alice (180, 200, 200 received): nothing failed.
    assert!(h.run_until(LIMIT, |h| h.driver(a).endpoint().stats().received == 3));
    let failed = h.nodes[a].events.iter().any(|e| {
        matches!(
            e,
            Event::TransportError { .. } | Event::Sip(SipEvent::ClientTxFailed { .. })
        )
    });
    assert!(!failed);
    h
}

#[test]
fn call_over_udp() {
    let h = call_and_hang_up(Transport::Udp, "127.0.0.1");
    let s = h.nodes[0].driver.stats();
    // INVITE, ACK, BYE out; 180, 200, 200 (BYE) in.
    assert_eq!(s.datagrams_out, 3);
    assert_eq!(s.datagrams_in, 3);
    assert_eq!(s.writes_queued, 0);
}

#[test]
fn call_over_udp_ipv6() {
    if std::net::UdpSocket::bind("[::1]:0").is_err() {
        println!("skipped: no IPv6 loopback");
        return;
    }
    call_and_hang_up(Transport::Udp, "[::1]");
}

#[test]
fn call_over_tcp_uses_one_connection() {
    let h = call_and_hang_up(Transport::Tcp, "127.0.0.1");
    let (alice, bob) = (h.nodes[0].driver.stats(), h.nodes[1].driver.stats());
    // Alice opened one connection; Bob answered on it and sent his BYE 200 back on it.
    assert_eq!(alice.connections_opened, 1);
    assert_eq!(alice.connections_accepted, 0);
    assert_eq!(bob.connections_accepted, 1);
    assert_eq!(bob.connections_opened, 0);
    assert_eq!(h.nodes[0].driver.connection_count(), 1);
    assert_eq!(h.nodes[1].driver.connection_count(), 1);
    // INVITE, ACK, BYE one way; 180, 200, 200 the other.
    assert_eq!(alice.stream_messages_out, 3);
    assert_eq!(alice.stream_messages_in, 3);
    assert_eq!(bob.stream_messages_in, 3);
    assert_eq!(bob.stream_messages_out, 3);
}

#[test]
fn call_over_tcp_ipv6() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        println!("skipped: no IPv6 loopback");
        return;
    }
    call_and_hang_up(Transport::Tcp, "[::1]");
}

/// Node `n` answers every incoming call with `status` (a plain driver: the test is its
/// application). Returns how many it answered.
fn answer_calls(h: &mut Harness, n: usize, answered: &mut usize, status: u16) {
    let calls: Vec<DialogId> = h.incoming_calls(n).iter().map(|(d, _)| *d).collect();
    for &d in calls.get(*answered..).unwrap_or_default() {
        let t = now();
        h.driver(n)
            .with_endpoint(t, |ep| ep.dialog(d)?.answer(t, status, None))
            .unwrap();
        *answered += 1;
    }
}

/// The events of the REFER `refer` that node `n` sent.
fn refer_events(h: &Harness, n: usize, refer: sip_core::dialog::ReferId) -> Vec<ReferEvent> {
    h.nodes[n]
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Sip(SipEvent::Refer {
                refer: r, event, ..
            }) if *r == refer => Some(*event),
            _ => None,
        })
        .collect()
}

/// Alice (node 0) calls Bob (node 1, the app) and refers him to Carol (node 2, a plain
/// driver answering `carol_status`). Returns the harness, the REFER and Carol's address.
fn transfer(
    transport: Transport,
    carol_status: u16,
    seed: u64,
) -> (Harness, sip_core::dialog::ReferId, String) {
    let mut h = Harness::new();
    let a = h.add_on(listen(transport, "127.0.0.1:0"), seed, false);
    let b = h.add_on(listen(transport, "127.0.0.1:0"), seed + 1, true);
    let c = h.add_on(listen(transport, "127.0.0.1:0"), seed + 2, false);
    let bob = h.driver(b).local_addr(transport).unwrap();
    let carol = uri(
        "carol",
        transport,
        h.driver(c).local_addr(transport).unwrap(),
    );
    let call = invite(&mut h, a, invite_to(transport, bob));
    assert!(h.run_until(LIMIT, |h| h.has_state(a, call, DialogState::Confirmed)));
    let t = now();
    let refer = h
        .driver(a)
        .with_endpoint(t, |ep| ep.dialog(call)?.refer(t, &carol))
        .unwrap();
    let mut answered = 0;
    assert!(h.run_until(LIMIT, |h| {
        answer_calls(h, c, &mut answered, carol_status);
        refer_events(h, a, refer)
            .iter()
            .any(|e| matches!(e, ReferEvent::Done { .. }))
    }));
    (h, refer, carol)
}

#[test]
fn refer_outcome_arrives_as_events() {
    for (transport, seed) in [(Transport::Udp, 3), (Transport::Tcp, 13)] {
        let (mut h, refer, carol) = transfer(transport, 200, seed);
        let (a, b, c) = (0, 1, 2);
        assert_eq!(
            refer_events(&h, a, refer),
            [
                ReferEvent::Accepted,
                ReferEvent::Progress(100),
                ReferEvent::Progress(200),
                ReferEvent::Done {
                    final_status: Some(200),
                    expired: false
                }
            ],
            "{transport}"
        );
        let report = h.app(b).report();
        assert_eq!((report.transfers, report.transfers_succeeded), (1, 1));
        // The target really was called, at the URI of the Refer-To.
        let calls = h.incoming_calls(c);
        assert_eq!(calls.len(), 1, "{transport}");
        assert_eq!(calls[0].1.uri_str(), carol);
        // ... and the transfer's call is hung up once answered (no media to bridge).
        let carol_call = calls[0].0;
        assert!(h.run_until(LIMIT, |h| h.has_state(
            c,
            carol_call,
            DialogState::Terminated(EndReason::RemoteBye)
        )));
        if transport == Transport::Tcp {
            assert_eq!(h.driver(a).stats().connections_opened, 1);
            // Bob's one connection is his call to Carol: his answers and NOTIFYs to Alice
            // went back on the connection she opened.
            assert_eq!(h.driver(b).stats().connections_opened, 1);
        }
        assert_eq!(h.app(b).stats().errors, 0);
    }
}

#[test]
fn a_transfer_whose_target_refuses_reports_the_refusal() {
    let (h, refer, _) = transfer(Transport::Udp, 486, 30);
    assert_eq!(
        refer_events(&h, 0, refer),
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
    let report = h.app(1).report();
    assert_eq!((report.transfers, report.transfers_succeeded), (1, 0));
    assert_eq!(h.app(1).stats().errors, 0);
}

#[test]
fn the_app_rings_for_ring_ms_then_answers() {
    let ring = Duration::from_millis(300);
    let mut h = Harness::new();
    let a = h.add_on(listen(Transport::Udp, "127.0.0.1:0"), 40, false);
    let pbx = PbxConfig {
        ring,
        ..PbxConfig::default()
    };
    let config = DriverConfig::new(listen(Transport::Udp, "127.0.0.1:0")).seed(41);
    let b = h.add_with(config, Some(pbx));
    let bob = h.driver(b).local_addr(Transport::Udp).unwrap();
    let t0 = now();
    let call = invite(&mut h, a, invite_to(Transport::Udp, bob));
    assert!(h.run_until(LIMIT, |h| h.has_state(a, call, DialogState::Early)));
    let rang = now() - t0;
    assert!(h.run_until(LIMIT, |h| h.has_state(a, call, DialogState::Confirmed)));
    let answered = now() - t0;
    assert!(rang < ring, "180 after {rang:?}");
    assert!(answered >= ring, "200 after {answered:?}");
    assert!(
        answered < ring + Duration::from_secs(1),
        "200 after {answered:?}"
    );
    assert_eq!(h.app(b).report().calls_answered, 1);
}

#[test]
fn a_call_cancelled_while_ringing_counts_as_failed() {
    let mut h = Harness::new();
    let a = h.add_on(listen(Transport::Udp, "127.0.0.1:0"), 42, false);
    let pbx = PbxConfig {
        ring: Duration::from_secs(30),
        ..PbxConfig::default()
    };
    let config = DriverConfig::new(listen(Transport::Udp, "127.0.0.1:0")).seed(43);
    let b = h.add_with(config, Some(pbx));
    let bob = h.driver(b).local_addr(Transport::Udp).unwrap();
    let call = invite(&mut h, a, invite_to(Transport::Udp, bob));
    assert!(h.run_until(LIMIT, |h| h.has_state(a, call, DialogState::Early)));
    // Bob's alarm is armed for the answer.
    assert!(h.driver(b).wake().is_some());
    hangup(&mut h, a, call); // CANCEL (§9.1)
    assert!(h.run_until(LIMIT, |h| h.has_state(
        a,
        call,
        DialogState::Terminated(EndReason::Rejected(487))
    ) || h.has_state(
        a,
        call,
        DialogState::Terminated(EndReason::Cancelled)
    )));
    assert!(h.run_until(LIMIT, |h| h.app(b).report().calls_failed == 1));
    let r = h.app(b).report();
    assert_eq!(
        (r.calls_answered, r.calls_failed, r.calls_cancelled),
        (0, 1, 1)
    );
}

#[test]
fn options_out_of_dialog() {
    for transport in [Transport::Udp, Transport::Tcp] {
        let mut h = Harness::new();
        let a = h.add_on(listen(transport, "127.0.0.1:0"), 5, false);
        let b = h.add_on(listen(transport, "127.0.0.1:0"), 6, true);
        let bob = h.driver(b).local_addr(transport).unwrap();
        let req = request(
            &mut h,
            a,
            Method::Options,
            &format!("sip:bob@{bob}"),
            "<sip:alice@example.com>",
            "<sip:bob@example.com>",
        )
        .build()
        .unwrap();
        let tx = send(&mut h, a, req, Target::new(transport, bob));
        let answer = |h: &Harness| {
            h.nodes[a].events.iter().find_map(|e| match e {
                Event::Sip(SipEvent::Response { tx: got, response }) if *got == tx => Some((
                    response.status(),
                    response.headers().get(HeaderName::Allow).map(str::to_owned),
                )),
                _ => None,
            })
        };
        assert!(h.run_until(LIMIT, |h| answer(h).is_some()));
        // The endpoint's own policy answers (§11.2), with the methods it allows.
        let allow: Vec<&str> = h.nodes[b]
            .driver
            .endpoint()
            .config()
            .allow()
            .iter()
            .map(Method::as_str)
            .collect();
        assert_eq!(
            answer(&h),
            Some((200, Some(allow.join(", ")))),
            "{transport}"
        );
        assert_eq!(h.app(b).report().options, 1);
    }
}

#[test]
fn unsupported_method_gets_405() {
    let mut h = Harness::new();
    let a = h.add_on(listen(Transport::Udp, "127.0.0.1:0"), 7, false);
    let b = h.add_on(listen(Transport::Udp, "127.0.0.1:0"), 8, true);
    let bob = h.driver(b).local_addr(Transport::Udp).unwrap();
    let req = request(
        &mut h,
        a,
        Method::Subscribe,
        &format!("sip:bob@{bob}"),
        "<sip:alice@example.com>",
        "<sip:bob@example.com>",
    )
    .header("Event", "presence")
    .build()
    .unwrap();
    let tx = send(&mut h, a, req, Target::new(Transport::Udp, bob));
    let status = |h: &Harness| {
        h.nodes[a].events.iter().find_map(|e| match e {
            Event::Sip(SipEvent::Response { tx: got, response }) if *got == tx => {
                Some(response.status())
            }
            _ => None,
        })
    };
    assert!(h.run_until(LIMIT, |h| status(h).is_some()));
    assert_eq!(status(&h), Some(405));
    assert_eq!(h.app(b).report().not_allowed, 1);
}

#[test]
fn run_loop_hands_over_events_and_foreign_readiness() {
    use sip_mio::{Driver, Step};
    use std::ops::ControlFlow;

    let mut poll = mio::Poll::new().unwrap();
    // Alice runs the loop; Bob's tokens are foreign to her and he is served from the callback.
    let mut config = DriverConfig::new(vec![Listen::udp(addr("127.0.0.1:0"))]).seed(9);
    config.endpoint.timers.t1 = Duration::from_millis(50); // Timer F = 3.2 s bounds the test
    let mut alice = Driver::new(config, poll.registry(), 10..20).unwrap();
    let mut bob = Driver::new(
        DriverConfig::new(vec![Listen::udp(addr("127.0.0.1:0"))]).seed(10),
        poll.registry(),
        20..30,
    )
    .unwrap();
    let mut app = App::new(PbxConfig::default(), &bob, now());
    let bob_addr = bob.local_addr(Transport::Udp).unwrap();
    let t = now();
    let tx = alice
        .with_endpoint(t, |ep| {
            let req = ep
                .request(
                    Method::Options,
                    &format!("sip:bob@{bob_addr}"),
                    "<sip:a@x>",
                    "<sip:b@x>",
                )
                .build()?;
            ep.send_request(t, req, Target::new(Transport::Udp, bob_addr))
        })
        .unwrap();
    let mut foreign = 0;
    let mut status = None;
    alice
        .run(&mut poll, |_alice, t, step| match step {
            Step::Event(Event::Sip(SipEvent::Response { tx: got, response })) if got == tx => {
                status = Some(response.status());
                ControlFlow::Break(())
            }
            Step::Event(Event::Sip(SipEvent::ClientTxFailed { .. })) => ControlFlow::Break(()),
            Step::Event(_) => ControlFlow::Continue(()),
            Step::Foreign(ev) => {
                foreign += 1;
                assert!(bob.handle_event(ev, t));
                bob.handle_timeout(t);
                while let Some(e) = bob.poll_event() {
                    app.on_event(&mut bob, t, &e);
                }
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!(status, Some(200));
    assert_eq!(foreign, 1);
    assert_eq!(app.report().options, 1);
}

#[test]
fn run_wakes_for_the_applications_alarm() {
    use sip_mio::{Driver, Step};
    use std::ops::ControlFlow;

    let mut poll = mio::Poll::new().unwrap();
    let config = DriverConfig::new(vec![Listen::udp(addr("127.0.0.1:0"))]).seed(11);
    let mut driver = Driver::new(config, poll.registry(), 0..10).unwrap();
    // Nothing else is scheduled: without the alarm, `run` would sleep for good.
    assert_eq!(driver.next_timeout(now()), None);
    let t0 = now();
    let first = t0 + Duration::from_millis(100);
    driver.wake_at(t0 + Duration::from_millis(300));
    driver.wake_at(first); // the earliest wins
    driver.wake_at(t0 + Duration::from_millis(200));
    assert_eq!(driver.wake(), Some(first));
    let mut wakes = Vec::new();
    driver
        .run(&mut poll, |driver, t, step| match step {
            Step::Event(Event::Wake { at }) => {
                assert!(t >= at, "woken early");
                wakes.push((at, t));
                if wakes.len() == 2 {
                    return ControlFlow::Break(());
                }
                // The app asks for its next one.
                driver.wake_at(at + Duration::from_millis(100));
                ControlFlow::Continue(())
            }
            _ => ControlFlow::Continue(()),
        })
        .unwrap();
    let second = first + Duration::from_millis(100);
    assert_eq!(wakes[0].0, first);
    assert_eq!(wakes[1].0, second);
    // Woken on time, give or take a loaded machine.
    assert!(
        wakes[1].1 - second < Duration::from_millis(500),
        "{wakes:?}"
    );
    assert_eq!(driver.wake(), None);
    assert_eq!(driver.next_timeout(now()), None);
}
