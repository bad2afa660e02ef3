//! Two drivers in one `mio::Poll` complete calls, REFERs and out-of-dialog requests over
//! loopback (RFC 3261 §13–§15, RFC 3515).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Harness, addr, invite_to, now};
use sip_core::dialog::{DialogState, EndReason, ReferEvent};
use sip_core::endpoint::{Event as SipEvent, Target};
use sip_core::message::{HeaderName, Method};
use sip_core::transport::Transport;
use sip_mio::uas::{ALLOW, UasCounters};
use sip_mio::{Event, Listen};

const LIMIT: Duration = Duration::from_secs(5);

fn listen(t: Transport, a: &str) -> Vec<Listen> {
    match t {
        Transport::Tcp => vec![Listen::tcp(addr(a))],
        _ => vec![Listen::udp(addr(a))],
    }
}

/// Alice (node 0) calls Bob (node 1, the UAS), then hangs up. Returns the harness.
fn call_and_hang_up(transport: Transport, ip: &str) -> Harness {
    let mut h = Harness::new();
    let a = h.add_on(listen(transport, &format!("{ip}:0")), 1, false);
    let b = h.add_on(listen(transport, &format!("{ip}:0")), 2, true);
    let bob: SocketAddr = h.driver(b).local_addr(transport).unwrap();
    let t = now();
    let call = h.driver(a).invite(t, invite_to(transport, bob)).unwrap();
    assert!(h.run_until(LIMIT, |h| h.has_state(a, call, DialogState::Confirmed)));
    // The ACK reaches Bob.
    assert!(
        h.run_until(LIMIT, |h| h.nodes[b].uas.as_ref().unwrap().counters().acks
            == 1)
    );
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
    h.driver(a).hangup(now(), call).unwrap();
    assert!(h.run_until(LIMIT, |h| h.has_state(
        b,
        bob_call,
        DialogState::Terminated(EndReason::RemoteBye)
    )));
    assert!(h.has_state(a, call, DialogState::Terminated(EndReason::LocalBye)));
    assert_eq!(
        h.nodes[b].uas.as_ref().unwrap().counters(),
        UasCounters {
            calls: 1,
            answered: 1,
            acks: 1,
            byes: 1,
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

#[test]
fn refer_outcome_arrives_as_events() {
    for transport in [Transport::Udp, Transport::Tcp] {
        let mut h = Harness::new();
        let a = h.add_on(listen(transport, "127.0.0.1:0"), 3, false);
        let b = h.add_on(listen(transport, "127.0.0.1:0"), 4, true);
        let bob = h.driver(b).local_addr(transport).unwrap();
        let call = h
            .driver(a)
            .invite(now(), invite_to(transport, bob))
            .unwrap();
        assert!(h.run_until(LIMIT, |h| h.has_state(a, call, DialogState::Confirmed)));
        let refer = h
            .driver(a)
            .refer(now(), call, "sip:carol@127.0.0.1:5999")
            .unwrap();
        let outcome = |h: &Harness| -> Vec<ReferEvent> {
            h.nodes[a]
                .events
                .iter()
                .filter_map(|e| match e {
                    Event::Sip(SipEvent::Refer {
                        refer: r, event, ..
                    }) if *r == refer => Some(*event),
                    _ => None,
                })
                .collect()
        };
        assert!(h.run_until(LIMIT, |h| {
            outcome(h)
                .iter()
                .any(|e| matches!(e, ReferEvent::Done { .. }))
        }));
        assert_eq!(
            outcome(&h),
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
        assert_eq!(h.nodes[b].uas.as_ref().unwrap().counters().refers, 1);
        if transport == Transport::Tcp {
            assert_eq!(h.driver(a).stats().connections_opened, 1);
            assert_eq!(h.driver(b).stats().connections_opened, 0);
        }
    }
}

#[test]
fn options_out_of_dialog() {
    for transport in [Transport::Udp, Transport::Tcp] {
        let mut h = Harness::new();
        let a = h.add_on(listen(transport, "127.0.0.1:0"), 5, false);
        let b = h.add_on(listen(transport, "127.0.0.1:0"), 6, true);
        let bob = h.driver(b).local_addr(transport).unwrap();
        let t = now();
        let req = h
            .driver(a)
            .request(
                Method::Options,
                &format!("sip:bob@{bob}"),
                "<sip:alice@example.com>",
                "<sip:bob@example.com>",
            )
            .build()
            .unwrap();
        let tx = h
            .driver(a)
            .send_request(t, req, Target::new(transport, bob))
            .unwrap();
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
        assert_eq!(
            answer(&h),
            Some((200, Some(ALLOW.to_owned()))),
            "{transport}"
        );
        assert_eq!(h.nodes[b].uas.as_ref().unwrap().counters().options, 1);
    }
}

#[test]
fn unsupported_method_gets_405() {
    let mut h = Harness::new();
    let a = h.add_on(listen(Transport::Udp, "127.0.0.1:0"), 7, false);
    let b = h.add_on(listen(Transport::Udp, "127.0.0.1:0"), 8, true);
    let bob = h.driver(b).local_addr(Transport::Udp).unwrap();
    let req = h
        .driver(a)
        .request(
            Method::Subscribe,
            &format!("sip:bob@{bob}"),
            "<sip:alice@example.com>",
            "<sip:bob@example.com>",
        )
        .header("Event", "presence")
        .build()
        .unwrap();
    let tx = h
        .driver(a)
        .send_request(now(), req, Target::new(Transport::Udp, bob))
        .unwrap();
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
    assert_eq!(h.nodes[b].uas.as_ref().unwrap().counters().rejected, 1);
}

#[test]
fn run_loop_hands_over_events_and_foreign_readiness() {
    use sip_mio::uas::Uas;
    use sip_mio::{Driver, DriverConfig, Step};
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
    let mut uas = Uas::new();
    let bob_addr = bob.local_addr(Transport::Udp).unwrap();
    let req = alice
        .request(
            Method::Options,
            &format!("sip:bob@{bob_addr}"),
            "<sip:a@x>",
            "<sip:b@x>",
        )
        .build()
        .unwrap();
    let tx = alice
        .send_request(now(), req, Target::new(Transport::Udp, bob_addr))
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
                    uas.on_driver_event(&mut bob, t, &e);
                }
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!(status, Some(200));
    assert_eq!(foreign, 1);
    assert_eq!(uas.counters().options, 1);
}

#[test]
fn run_wakes_for_the_applications_alarm() {
    use sip_mio::{Driver, DriverConfig, Step};
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
