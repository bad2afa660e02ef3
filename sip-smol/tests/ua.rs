//! Loopback tests of the user-agent API: calls, rejection, cancellation, transfer,
//! out-of-dialog requests, handles dropped, shutdown — sip-tokio's tests of the same API,
//! on smol's executor. Every test is bounded in time.

use std::future::Future;
use std::time::Duration;

/// The sample PBX of the `smol_uas` example.
#[allow(dead_code)] // the example's API, not all of it used here
#[path = "../examples/smol_uas/smol_pbx.rs"]
mod app;

use sip_smol::{Body, CallEvent, DialogState, EndReason, Error, Method, Transport, UserAgent};

/// Runs a test on smol's executor, failing it after 20 s.
fn run<F: Future>(f: F) -> F::Output {
    run_for(Duration::from_secs(20), f)
}

/// Runs a test on smol's executor, failing it after `limit`.
fn run_for<F: Future>(limit: Duration, f: F) -> F::Output {
    smol::block_on(futures_lite::future::or(f, async {
        smol::Timer::after(limit).await;
        panic!("test took too long")
    }))
}

async fn ua(seed: u64) -> UserAgent {
    UserAgent::builder()
        .udp("127.0.0.1:0")
        .tcp("127.0.0.1:0")
        .seed(seed)
        .spawner(|t| smol::spawn(t).detach())
        .shutdown_grace(Duration::from_millis(50))
        .build()
        .await
        .unwrap()
}

fn uri(ua: &UserAgent, user: &str, t: Transport) -> String {
    let a = ua.local_addr(t).unwrap();
    match t {
        Transport::Udp => format!("sip:{user}@{a}"),
        _ => format!("sip:{user}@{a};transport=tcp"),
    }
}

async fn call_answer_hangup(t: Transport) {
    let alice = ua(1).await;
    let bob = ua(2).await;
    let mut incoming = bob.incoming();
    let bob_side = smol::spawn(async move {
        let inc = incoming.next().await.unwrap();
        assert_eq!(inc.request().method(), &Method::Invite);
        assert_eq!(&inc.request().body()[..], b"offer");
        inc.ringing().await.unwrap();
        let call = inc.accept(Some(Body::sdp("answer"))).await.unwrap();
        assert_eq!(call.state(), DialogState::Confirmed);
        call.ended().await
    });
    let mut call = alice.call(&uri(&bob, "bob", t)).sdp("offer").await.unwrap();
    let mut statuses = Vec::new();
    while let Some(p) = call.progress().await {
        statuses.push(p.status());
    }
    assert_eq!(statuses.last(), Some(&180));
    let ok = call.answered().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(&ok.body()[..], b"answer");
    assert_eq!(call.state(), DialogState::Confirmed);
    let info = call.info().await.unwrap();
    assert!(info.remote_tag.is_some());
    call.hangup().await.unwrap();
    assert_eq!(call.ended().await, EndReason::LocalBye);
    assert_eq!(bob_side.await, EndReason::RemoteBye);
    let s = alice.stats().await.unwrap();
    assert_eq!(s.calls.placed, 1);
    assert_eq!(s.calls.answered, 1);
    assert_eq!(s.calls.failed, 0);
    let s = bob.stats().await.unwrap();
    assert_eq!(s.calls.received, 1);
    assert_eq!(s.calls.answered, 1);
    alice.shutdown().await;
    bob.shutdown().await;
}

#[test]
fn call_over_udp() {
    run(call_answer_hangup(Transport::Udp));
}

#[test]
fn call_over_tcp() {
    run(call_answer_hangup(Transport::Tcp));
}

#[test]
fn rejected_call_reports_the_status() {
    run(async {
        let alice = ua(3).await;
        let bob = ua(4).await;
        let mut incoming = bob.incoming();
        smol::spawn(async move {
            let inc = incoming.next().await.unwrap();
            inc.reject(486).await.unwrap();
        })
        .detach();
        let call = alice.call(&uri(&bob, "bob", Transport::Udp)).await.unwrap();
        match call.answered().await {
            Err(Error::CallEnded(EndReason::Rejected(486))) => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(call.ended().await, EndReason::Rejected(486));
        assert!(matches!(call.hangup().await, Err(Error::Dialog(_))));
        let s = alice.stats().await.unwrap();
        assert_eq!(s.calls.failed, 1);
    });
}

#[test]
fn nobody_taking_calls_means_480() {
    run(async {
        let alice = ua(5).await;
        let bob = ua(6).await;
        let call = alice.call(&uri(&bob, "bob", Transport::Udp)).await.unwrap();
        match call.answered().await {
            Err(Error::CallEnded(EndReason::Rejected(480))) => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(bob.stats().await.unwrap().calls.unhandled, 1);
    });
}

#[test]
fn caller_cancels_while_ringing() {
    run(async {
        let alice = ua(7).await;
        let bob = ua(8).await;
        let mut incoming = bob.incoming();
        let bob_side = smol::spawn(async move {
            let inc = incoming.next().await.unwrap();
            inc.ringing().await.unwrap();
            let reason = inc.cancelled().await;
            let accepted = inc.accept(None).await;
            (reason, accepted.is_err())
        });
        let mut call = alice.call(&uri(&bob, "bob", Transport::Udp)).await.unwrap();
        assert_eq!(call.progress().await.map(|r| r.status()), Some(180));
        call.cancel().await.unwrap();
        assert_eq!(call.ended().await, EndReason::Cancelled);
        assert!(matches!(
            call.answered().await,
            Err(Error::CallEnded(EndReason::Cancelled))
        ));
        assert_eq!(bob_side.await, (EndReason::Cancelled, true));
    });
}

#[test]
fn dropping_the_call_handle_hangs_up() {
    run(async {
        let alice = ua(9).await;
        let bob = ua(10).await;
        let mut incoming = bob.incoming();
        let bob_side = smol::spawn(async move {
            let inc = incoming.next().await.unwrap();
            inc.accept(None).await.unwrap().ended().await
        });
        let call = alice.call(&uri(&bob, "bob", Transport::Udp)).await.unwrap();
        call.answered().await.unwrap();
        drop(call);
        assert_eq!(bob_side.await, EndReason::RemoteBye);
        // The released call is forgotten once over.
        let s = alice.stats().await.unwrap();
        assert_eq!(s.active_calls, 0);
    });
}

#[test]
fn dropping_an_incoming_call_declines_it() {
    run(async {
        let alice = ua(11).await;
        let bob = ua(12).await;
        let mut incoming = bob.incoming();
        smol::spawn(async move {
            let inc = incoming.next().await.unwrap();
            drop(inc);
        })
        .detach();
        let call = alice.call(&uri(&bob, "bob", Transport::Udp)).await.unwrap();
        assert_eq!(call.ended().await, EndReason::Rejected(603));
    });
}

#[test]
fn blind_transfer_with_refer() {
    run(async {
        let alice = ua(13).await;
        let bob = ua(14).await;
        let carol = ua(15).await;
        let carol_uri = uri(&carol, "carol", Transport::Udp);
        let mut carol_in = carol.incoming();
        let carol_side = smol::spawn(async move {
            let inc = carol_in.next().await.unwrap();
            inc.ringing().await.unwrap();
            inc.accept(None).await.unwrap().ended().await
        });
        let mut bob_in = bob.incoming();
        let bob2 = bob.clone();
        let bob_side = smol::spawn(async move {
            let inc = bob_in.next().await.unwrap();
            let mut call = inc.accept(None).await.unwrap();
            let Some(CallEvent::Transfer(mut t)) = call.next_event().await else {
                panic!("expected a transfer");
            };
            assert!(t.referred_by().is_some());
            t.accept().await.unwrap();
            let mut new_call = bob2.call(t.target()).await.unwrap();
            while let Some(p) = new_call.progress().await {
                t.notify(p.status()).await.unwrap();
            }
            let ok = new_call.answered().await.unwrap();
            t.notify(ok.status()).await.unwrap();
            assert!(matches!(t.notify(200).await, Err(Error::AlreadyDone)));
            let first = call.ended().await;
            new_call.hangup().await.unwrap();
            first
        });
        let call = alice.call(&uri(&bob, "bob", Transport::Udp)).await.unwrap();
        call.answered().await.unwrap();
        let mut transfer = call.refer(&carol_uri).await.unwrap();
        let mut seen = Vec::new();
        while let Some(s) = transfer.progress().await {
            seen.push(s);
        }
        assert_eq!(seen.first(), Some(&100));
        assert_eq!(seen.last(), Some(&200));
        let outcome = transfer.outcome().await;
        assert!(outcome.succeeded(), "{outcome:?}");
        call.hangup().await.unwrap();
        assert_eq!(bob_side.await, EndReason::RemoteBye);
        assert_eq!(carol_side.await, EndReason::RemoteBye);
        assert_eq!(bob.stats().await.unwrap().calls.transfers_received, 1);
    });
}

#[test]
fn rejected_refer() {
    run(async {
        let alice = ua(16).await;
        let bob = ua(17).await;
        let mut bob_in = bob.incoming();
        smol::spawn(async move {
            let inc = bob_in.next().await.unwrap();
            let mut call = inc.accept(None).await.unwrap();
            while let Some(ev) = call.next_event().await {
                if let CallEvent::Transfer(t) = ev {
                    t.reject(603).await.unwrap();
                }
            }
        })
        .detach();
        let call = alice.call(&uri(&bob, "bob", Transport::Udp)).await.unwrap();
        call.answered().await.unwrap();
        match call.refer("sip:carol@127.0.0.1:9").await {
            Err(Error::ReferRejected(603)) => {}
            other => panic!("{other:?}"),
        }
        call.hangup().await.unwrap();
    });
}

#[test]
fn options_and_message_out_of_dialog() {
    run(async {
        let alice = ua(18).await;
        let bob = ua(19).await;
        let target = uri(&bob, "bob", Transport::Udp);
        // Nobody takes requests: OPTIONS 200 with Allow, MESSAGE 405.
        let r = alice.request(Method::Options, &target).await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers().get("Allow").unwrap().contains("INVITE"));
        // (MESSAGE gets 200 from the PBX, RFC 3428 §7.)
        let r = alice
            .request(Method::Publish, &target)
            .body("text/plain", "hi")
            .await
            .unwrap();
        assert_eq!(r.status(), 405);
        // Now Bob takes them.
        let mut reqs = bob.incoming_requests();
        smol::spawn(async move {
            while let Some(req) = reqs.next().await {
                let body = req.request().body().clone();
                req.response(200)
                    .header("X-Echo", "yes")
                    .body("text/plain", body)
                    .send()
                    .await
                    .unwrap();
            }
        })
        .detach();
        let r = alice
            .request(Method::Message, &target)
            .body("text/plain", "hello")
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers().get("X-Echo"), Some("yes"));
        assert_eq!(&r.body()[..], b"hello");
        let s = bob.stats().await.unwrap();
        assert_eq!(s.calls.requests_auto_answered, 2);
    });
}

#[test]
fn in_dialog_request_answered_through_next_event() {
    run(async {
        let alice = ua(20).await;
        let bob = ua(21).await;
        let mut bob_in = bob.incoming();
        smol::spawn(async move {
            let inc = bob_in.next().await.unwrap();
            let mut call = inc.accept(None).await.unwrap();
            while let Some(ev) = call.next_event().await {
                if let CallEvent::Request(r) = ev {
                    assert_eq!(r.method(), &Method::Info);
                    r.respond(200).await.unwrap();
                }
            }
        })
        .detach();
        let call = alice.call(&uri(&bob, "bob", Transport::Udp)).await.unwrap();
        call.answered().await.unwrap();
        let r = call
            .request(Method::Info, vec![], Some(Body::new("text/plain", "x")))
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        match call.request(Method::Bye, vec![], None).await {
            Err(Error::Dialog(sip_core::dialog::DialogError::WrongMethod)) => {}
            other => panic!("{other:?}"),
        }
        call.hangup().await.unwrap();
    });
}

#[test]
fn shutdown_hangs_up_live_calls_and_refuses_new_ones() {
    run(async {
        let alice = ua(23).await;
        let bob = ua(24).await;
        let mut bob_in = bob.incoming();
        let bob_side = smol::spawn(async move {
            let inc = bob_in.next().await.unwrap();
            let call = inc.accept(None).await.unwrap();
            call.ended().await
        });
        let call = alice.call(&uri(&bob, "bob", Transport::Udp)).await.unwrap();
        call.answered().await.unwrap();
        alice.shutdown().await;
        assert_eq!(call.state(), DialogState::Terminated(EndReason::LocalBye));
        assert!(matches!(call.hangup().await, Err(Error::Shutdown)));
        assert!(matches!(
            alice.call(&uri(&bob, "bob", Transport::Udp)).await,
            Err(Error::Shutdown)
        ));
        let reason = bob_side.await;
        assert_eq!(reason, EndReason::RemoteBye);
    });
}

#[test]
fn bad_uri_and_no_transport_are_errors() {
    run(async {
        assert!(matches!(
            UserAgent::builder().build().await,
            Err(Error::NoTransport)
        ));
        assert!(matches!(
            UserAgent::builder().udp("not an address").build().await,
            Err(Error::Bind(_))
        ));
        // Without a spawner nothing could run its tasks.
        assert!(matches!(
            UserAgent::builder().udp("127.0.0.1:0").build().await,
            Err(Error::NoSpawner)
        ));
        let alice = ua(25).await;
        assert!(matches!(
            alice.call("tel:+123").await,
            Err(Error::Dialog(_))
        ));
        assert!(matches!(
            alice.request(Method::Options, "tel:+123").await,
            Err(Error::Endpoint(_))
        ));
    });
}

/// A host name is looked up at the DNS server (RFC 3263 §4.1: NAPTR first) without
/// holding up the driver; a server that never answers gets each query twice (sip-dns's
/// retransmission, 2 s apart), then the call fails with a typed error (about 16 s: four
/// lookups of 4 s, so this test has a longer bound). (Answered lookups, failover
/// and the cache: tests/dns_dnsmasq.rs.)
#[test]
fn host_name_is_asked_of_the_dns_server_and_fails_when_it_is_silent() {
    run_for(Duration::from_secs(40), async {
        let silent = smol::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let alice = UserAgent::builder()
            .udp("127.0.0.1:0")
            .seed(40)
            .dns_server(silent.local_addr().unwrap())
            .spawner(|t| smol::spawn(t).detach())
            .shutdown_grace(Duration::from_millis(50))
            .build()
            .await
            .unwrap();
        let call = alice.call("sip:bob@example.invalid").await.unwrap();
        let waiting = smol::spawn(async move { call.answered().await });
        let mut buf = [0u8; 512];
        let mut queries = Vec::new();
        for _ in 0..2 {
            let (n, _) = silent.recv_from(&mut buf).await.unwrap();
            queries.push(buf[..n].to_vec());
        }
        // One question (QDCOUNT 1) for example.invalid, the same message sent again.
        assert_eq!(&queries[0][4..6], &[0, 1]);
        assert!(queries[0].windows(8).any(|w| w == b"\x07example"));
        assert_eq!(queries[0], queries[1]);
        // Meanwhile the driver serves the API.
        assert!(alice.stats().await.is_ok());
        // Every lookup unanswered (NAPTR, then SRV and A/AAAA each sent twice): the call
        // ends as a transport failure (RFC 3263 §4.3, no target left).
        let r = waiting.await;
        assert!(
            matches!(r, Err(Error::CallEnded(EndReason::TransportError))),
            "{r:?}"
        );
        alice.shutdown().await;
    });
}

#[test]
fn reinvite_is_answered_through_the_call() {
    run(async {
        let alice = ua(26).await;
        let bob = ua(27).await;
        let mut bob_in = bob.incoming();
        let bob_side = smol::spawn(async move {
            let inc = bob_in.next().await.unwrap();
            let mut call = inc.accept(Some(Body::sdp("first"))).await.unwrap();
            assert!(
                call.progress().await.is_none(),
                "no progress on a call we answered"
            );
            let Some(CallEvent::Request(r)) = call.next_event().await else {
                panic!("expected the re-INVITE");
            };
            assert_eq!(r.method(), &Method::Invite);
            assert_eq!(&r.request().body()[..], b"new offer");
            r.response(200)
                .body("application/sdp", "new answer")
                .send()
                .await
                .unwrap();
            call.ended().await
        });
        let call = alice.call(&uri(&bob, "bob", Transport::Udp)).await.unwrap();
        call.answered().await.unwrap();
        let r = call.reinvite(Some(Body::sdp("new offer"))).await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(&r.body()[..], b"new answer");
        call.hangup().await.unwrap();
        assert_eq!(bob_side.await, EndReason::RemoteBye);
    });
}

#[test]
fn call_over_ipv6_loopback() {
    run(async {
        let Ok(bob) = UserAgent::builder().udp("[::1]:0").seed(28).build().await else {
            eprintln!("call_over_ipv6_loopback: skipped: no IPv6 loopback");
            return;
        };
        let alice = UserAgent::builder()
            .udp("[::1]:0")
            .seed(29)
            .build()
            .await
            .unwrap();
        let mut bob_in = bob.incoming();
        smol::spawn(async move {
            let inc = bob_in.next().await.unwrap();
            inc.accept(None).await.unwrap().ended().await
        })
        .detach();
        let target = format!("sip:bob@{}", bob.local_addr(Transport::Udp).unwrap());
        let call = alice.call(&target).await.unwrap();
        assert_eq!(call.answered().await.unwrap().status(), 200);
        call.hangup().await.unwrap();
    });
}

#[test]
fn a_new_subscriber_takes_over_incoming_calls() {
    run(async {
        let bob = ua(30).await;
        let mut first = bob.incoming();
        let mut second = bob.incoming();
        assert!(first.next().await.is_none(), "the first stream ends");
        let alice = ua(31).await;
        smol::spawn(async move {
            let inc = second.next().await.unwrap();
            inc.reject(486).await.unwrap();
        })
        .detach();
        let call = alice.call(&uri(&bob, "bob", Transport::Udp)).await.unwrap();
        assert_eq!(call.ended().await, EndReason::Rejected(486));
    });
}

#[test]
fn transmit_hook_sees_every_message_sent() {
    run(async {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let s2 = seen.clone();
        let alice = UserAgent::builder()
            .udp("127.0.0.1:0")
            .spawner(|t| smol::spawn(t).detach())
            .on_transmit(move |t| {
                let line = String::from_utf8_lossy(&t.bytes)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                s2.lock().unwrap().push(line);
            })
            .build()
            .await
            .unwrap();
        let bob = ua(32).await;
        let r = alice
            .request(Method::Options, &uri(&bob, "bob", Transport::Udp))
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        assert!(
            seen[0].starts_with("OPTIONS sip:bob@127.0.0.1:"),
            "{seen:?}"
        );
    });
}

#[test]
fn uas_answers_405_with_allow_outside_calls() {
    run(async {
        let ex = std::sync::Arc::new(smol::Executor::new());
        let runner = ex.clone();
        std::thread::spawn(move || {
            smol::block_on(runner.run(futures_lite::future::pending::<()>()))
        });
        let uas = app::Uas::start(app::UasConfig::new("127.0.0.1:0".parse().unwrap()), ex)
            .await
            .unwrap();
        let alice = ua(33).await;
        let target = format!("sip:uas@{}", uas.local_addr());
        // (MESSAGE gets 200 from the PBX, RFC 3428 §7.)
        let r = alice
            .request(Method::Publish, &target)
            .body("text/plain", "hi")
            .await
            .unwrap();
        assert_eq!(r.status(), 405);
        assert!(r.headers().get("Allow").unwrap().contains("REFER"));
        let report = uas.shutdown().await;
        assert_eq!(report.not_allowed, 1);
        assert_eq!(report.options, 0);
    });
}

#[test]
fn dropped_transfers_are_declined_or_abandoned_by_the_core() {
    run(async {
        let alice = ua(34).await;
        let bob = ua(35).await;
        let mut bob_in = bob.incoming();
        smol::spawn(async move {
            let inc = bob_in.next().await.unwrap();
            let mut call = inc.accept(None).await.unwrap();
            let mut first = true;
            while let Some(ev) = call.next_event().await {
                if let CallEvent::Transfer(mut t) = ev {
                    // The first is dropped unanswered, the second once accepted.
                    if std::mem::take(&mut first) {
                        // No progress before accepting: the core refuses.
                        assert!(matches!(
                            t.notify(180).await,
                            Err(Error::Dialog(
                                sip_core::dialog::DialogError::ReferNotAccepted
                            ))
                        ));
                    } else {
                        t.accept().await.unwrap();
                    }
                }
            }
        })
        .detach();
        let call = alice.call(&uri(&bob, "bob", Transport::Udp)).await.unwrap();
        call.answered().await.unwrap();
        match call.refer("sip:carol@127.0.0.1:9").await {
            Err(Error::ReferRejected(603)) => {}
            other => panic!("{other:?}"),
        }
        let mut transfer = call.refer("sip:carol@127.0.0.1:9").await.unwrap();
        let mut seen = Vec::new();
        while let Some(s) = transfer.progress().await {
            seen.push(s);
        }
        assert_eq!(seen, vec![100, 503]);
        assert!(!transfer.outcome().await.succeeded());
        call.hangup().await.unwrap();
    });
}

#[test]
fn requests_dropped_or_declined_get_the_cores_answers() {
    run(async {
        let alice = ua(36).await;
        let bob = ua(37).await;
        let target = uri(&bob, "bob", Transport::Udp);
        let mut reqs = bob.incoming_requests();
        let bob_side = smol::spawn(async move {
            let dropped = reqs.next().await.unwrap();
            drop(dropped);
            let mut declined = Vec::new();
            for _ in 0..2 {
                declined.push(reqs.next().await.unwrap().decline().await.unwrap());
            }
            declined
        });
        let r = alice.request(Method::Message, &target).await.unwrap();
        assert_eq!(r.status(), 500);
        let r = alice.request(Method::Message, &target).await.unwrap();
        assert_eq!(r.status(), 405);
        assert!(r.headers().get("Allow").unwrap().contains("INVITE"));
        let r = alice.request(Method::Options, &target).await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers().get("Accept"), Some("application/sdp"));
        assert_eq!(bob_side.await, vec![405, 200]);
    });
}

#[test]
fn the_core_checks_the_status_of_each_answer() {
    run(async {
        let alice = ua(38).await;
        let bob = ua(39).await;
        let mut incoming = bob.incoming();
        let bob_side = smol::spawn(async move {
            let inc = incoming.next().await.unwrap();
            for bad in [100, 200] {
                assert!(
                    matches!(
                        inc.provisional(bad, None).await,
                        Err(Error::Dialog(sip_core::dialog::DialogError::BadStatus(s))) if s == bad
                    ),
                    "{bad}"
                );
            }
            inc.provisional(183, Some(Body::sdp("early")))
                .await
                .unwrap();
            let challenge = [("Proxy-Authenticate", "Digest realm=\"x\", nonce=\"n\"")];
            inc.reject_with(407, &challenge).await.unwrap();
            // Refused, and then dropped: the core declines the call.
            let inc = incoming.next().await.unwrap();
            assert!(matches!(
                inc.reject(200).await,
                Err(Error::Dialog(sip_core::dialog::DialogError::BadStatus(200)))
            ));
            let inc = incoming.next().await.unwrap();
            assert!(matches!(
                inc.reject_with(180, &[]).await,
                Err(Error::Dialog(sip_core::dialog::DialogError::BadStatus(180)))
            ));
        });
        let target = uri(&bob, "bob", Transport::Udp);
        let mut call = alice.call(&target).await.unwrap();
        let p = call.progress().await.unwrap();
        assert_eq!((p.status(), &p.body()[..]), (183, &b"early"[..]));
        assert_eq!(call.ended().await, EndReason::Rejected(407));
        for _ in 0..2 {
            let call = alice.call(&target).await.unwrap();
            assert_eq!(call.ended().await, EndReason::Rejected(603));
        }
        bob_side.await;
    });
}

/// The transfer target is the core's reading of Refer-To, whose display name may hold a
/// `<` (RFC 3261 §25.1: a quoted-string); the REFER comes from a scripted peer.
#[test]
fn a_transfer_target_is_the_uri_of_refer_to() {
    run(async {
        let bob = ua(40).await;
        let bob_addr = bob.local_addr(Transport::Udp).unwrap();
        let mut incoming = bob.incoming();
        let peer = async_io::Async::<std::net::UdpSocket>::bind(([127, 0, 0, 1], 0)).unwrap();
        let peer = &peer;
        let me = peer.get_ref().local_addr().unwrap();
        let head = |method: &str, branch: &str, to: &str, cseq: u32| {
            format!(
                "{method} sip:bob@{bob_addr} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK{branch}\r\n\
                 Max-Forwards: 70\r\nFrom: <sip:alice@{me}>;tag=a1\r\n{to}\r\nCall-ID: refer-target-1\r\n\
                 CSeq: {cseq} {method}\r\nContact: <sip:alice@{me}>\r\n"
            )
        };
        let send =
            |text: String| async move { peer.send_to(text.as_bytes(), bob_addr).await.unwrap() };
        let recv = |start: &'static str| async move {
            let mut buf = vec![0u8; 65536];
            loop {
                let (n, _) = peer.recv_from(&mut buf).await.unwrap();
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                if text.starts_with(start) {
                    return text;
                }
            }
        };
        let to = format!("To: <sip:bob@{bob_addr}>");
        send(head("INVITE", "r1", &to, 1) + "Content-Length: 0\r\n\r\n").await;
        let call = incoming.next().await.unwrap().accept(None).await.unwrap();
        let ok = recv("SIP/2.0 200").await;
        let to = ok
            .split("\r\n")
            .find(|l| l.to_ascii_lowercase().starts_with("to:"))
            .unwrap()
            .to_owned();
        send(head("ACK", "r2", &to, 1) + "Content-Length: 0\r\n\r\n").await;
        let refer_to = "\"a<b\" <sip:carol@192.0.2.3>";
        send(
            head("REFER", "r3", &to, 2)
                + &format!("Refer-To: {refer_to}\r\nContent-Length: 0\r\n\r\n"),
        )
        .await;
        let mut call = call;
        let Some(CallEvent::Transfer(t)) = call.next_event().await else {
            panic!("expected the transfer");
        };
        assert_eq!(t.target(), "sip:carol@192.0.2.3");
        assert_eq!(t.refer_to(), refer_to);
        // Dropped unanswered: the core declines the REFER.
        drop(t);
        assert!(recv("SIP/2.0 ").await.starts_with("SIP/2.0 603"));
        bob.shutdown().await;
    });
}

/// 180 and 200 handed over together reach the caller in that order, and the call is
/// confirmed (RFC 3261 §13.3.1).
#[test]
fn ring_and_accept_sends_180_then_200() {
    run(async {
        let (alice, bob) = (ua(121).await, ua(122).await);
        let mut incoming = bob.incoming();
        let bob_side = smol::spawn(async move {
            let inc = incoming.next().await.unwrap();
            let call = inc
                .ring_and_accept(Some(Body::sdp("answer")))
                .await
                .unwrap();
            call.ended().await
        });
        let mut call = alice
            .call(&uri(&bob, "bob", Transport::Udp))
            .sdp("offer")
            .await
            .unwrap();
        let mut statuses = Vec::new();
        while let Some(p) = call.progress().await {
            statuses.push(p.status());
        }
        assert_eq!(statuses, vec![180]);
        let ok = call.answered().await.unwrap();
        assert_eq!(ok.status(), 200);
        assert_eq!(&ok.body()[..], b"answer");
        assert_eq!(call.state(), DialogState::Confirmed);
        call.hangup().await.unwrap();
        assert_eq!(bob_side.await, EndReason::RemoteBye);
        alice.shutdown().await;
        bob.shutdown().await;
    });
}

/// A call the caller cancelled first cannot be answered: the error says it had ended.
#[test]
fn ring_and_accept_after_cancel_fails_as_ended() {
    run(async {
        let (alice, bob) = (ua(123).await, ua(124).await);
        let mut incoming = bob.incoming();
        let call = alice.call(&uri(&bob, "bob", Transport::Udp)).await.unwrap();
        let inc = incoming.next().await.unwrap();
        // The stack's 100 Trying (after 200 ms) lets the caller send its CANCEL (§9.1).
        call.cancel().await.unwrap();
        assert_eq!(inc.cancelled().await, EndReason::Cancelled);
        let r = inc.ring_and_accept(None).await;
        assert!(
            matches!(r, Err(Error::CallEnded(EndReason::Cancelled))),
            "{r:?}"
        );
        assert_eq!(call.ended().await, EndReason::Cancelled);
        alice.shutdown().await;
        bob.shutdown().await;
    });
}
