//! Endpoint tests that need its crate-private parts: a test of a private helper, and
//! scenarios that look at private state (the digest client's aliases) or make an id no
//! endpoint hands out. Every other endpoint scenario is an integration test over the
//! public API, on the simulator (`tests/endpoint.rs`); these wire two endpoints back to
//! back by hand, since the simulator cannot link with this crate's test build.

use super::*;
use crate::message::{SipMessage, parse};
use crate::transport::Transport;
use std::net::SocketAddr;
use std::time::Duration;

#[allow(clippy::disallowed_methods)]
fn base() -> Instant {
    Instant::now()
}

const A: &str = "192.0.2.1:5060";
const B: &str = "192.0.2.2:5060";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn ep(local: &str, seed: u64) -> Endpoint {
    Endpoint::new(
        EndpointConfig::with_local(Transport::Udp, addr(local)),
        seed,
    )
}

/// What an endpoint has output: transmits and events.
struct Drained {
    tx: Vec<Transmit>,
    ev: Vec<Event>,
}

fn drain(e: &mut Endpoint) -> Drained {
    let (mut tx, mut ev) = (Vec::new(), Vec::new());
    while let Some(o) = e.poll_output() {
        match o {
            Output::Transmit(t) => tx.push(t),
            Output::Event(x) => ev.push(x),
        }
    }
    Drained { tx, ev }
}

/// Hands `t` to `e` as received from `from`.
fn deliver(e: &mut Endpoint, now: Instant, t: &Transmit, from: &str) {
    e.handle_input(
        now,
        Input::Receive {
            transport: t.transport,
            from: addr(from),
            to: t.destination,
            bytes: t.bytes.clone(),
        },
    );
}

fn method(t: &Transmit) -> String {
    match parse(t.bytes.clone(), &crate::message::ParseOptions::strict()) {
        Ok(SipMessage::Request(r)) => r.method().to_string(),
        _ => String::new(),
    }
}

/// The server transaction of the request `d` reports first.
fn incoming(d: &Drained) -> ServerTxId {
    match d.ev.first() {
        Some(Event::IncomingRequest { tx, .. } | Event::IncomingCall { tx, .. }) => *tx,
        other => panic!("an incoming request, not {other:?}"),
    }
}

fn udp_b() -> Target {
    Target::new(Transport::Udp, addr(B))
}

#[test]
fn respond_checks_the_transaction() {
    let t0 = base();
    let (mut a, mut b) = (ep(A, 1), ep(B, 2));
    let req = a
        .request(Method::Message, "sip:b@192.0.2.2", "<sip:a@a>", "<sip:b@b>")
        .build()
        .unwrap();
    a.send_request(t0, req, udp_b()).unwrap();
    let d = drain(&mut a);
    deliver(&mut b, t0, &d.tx[0], A);
    let stx = incoming(&drain(&mut b));
    let other = a
        .request(Method::Message, "sip:b@192.0.2.2", "<sip:a@a>", "<sip:b@b>")
        .header("Via", "SIP/2.0/UDP x;branch=z9hG4bKother")
        .build()
        .unwrap();
    let wrong = Response::from_request(&other, 200).build().unwrap();
    assert_eq!(
        b.respond(t0, stx, wrong),
        Err(EndpointError::ResponseMismatch)
    );
    b.respond_with(t0, stx, 200).unwrap();
    assert!(matches!(
        b.respond_with(t0, stx, 200),
        Err(EndpointError::Transaction(_))
    ));
    assert_eq!(
        b.respond_with(t0, ServerTxId(999), 200),
        Err(EndpointError::UnknownTransaction)
    );
}

/// An INVITE retried with credentials (§22.2) runs under a new transaction: the TU still
/// cancels it, and learns of its end, by the id `send_request` gave (here the CANCEL is
/// never answered, so the §9.1 deadline ends the INVITE), and no alias is left behind.
#[test]
fn a_retried_invite_is_cancelled_and_fails_under_the_first_id() {
    let t0 = base();
    let mut c = EndpointConfig::with_local(Transport::Udp, addr(A));
    c.credentials = Some(Credentials::new(crate::auth::StaticCredentials::any(
        "alice", "pw",
    )));
    let (mut a, mut b) = (Endpoint::new(c, 1), ep(B, 2));
    let req = a.request(
        Method::Invite,
        "sip:bob@192.0.2.2",
        "<sip:a@x>",
        "<sip:b@y>",
    );
    let req = req.contact("<sip:a@192.0.2.1>").build().unwrap();
    let itx = a.send_request(t0, req, udp_b()).unwrap();
    let first = drain(&mut a).tx.remove(0);
    deliver(&mut b, t0, &first, A);
    let stx = incoming(&drain(&mut b));
    let challenge = b
        .response(stx, 401)
        .unwrap()
        .header(
            "WWW-Authenticate",
            "Digest realm=\"example.com\", nonce=\"n1\", algorithm=MD5",
        )
        .build()
        .unwrap();
    b.respond(t0, stx, challenge).unwrap();
    let challenge = drain(&mut b).tx.remove(0);
    deliver(&mut a, t0, &challenge, B);
    let retry = drain(&mut a)
        .tx
        .into_iter()
        .find(|t| method(t) == "INVITE")
        .expect("the INVITE again, with credentials");
    deliver(&mut b, t0, &retry, A);
    let stx2 = incoming(&drain(&mut b));
    b.respond_with(t0, stx2, 180).unwrap();
    let ringing = drain(&mut b).tx.remove(0);
    deliver(&mut a, t0, &ringing, B);
    drain(&mut a);
    a.cancel(t0, itx)
        .expect("the retry is cancelled by the first id");
    let sent = drain(&mut a);
    assert!(sent.tx.iter().any(|t| method(t) == "CANCEL"));
    let mut failed = Vec::new();
    let mut now = t0;
    for _ in 0..100 {
        now += Duration::from_secs(1);
        a.handle_timeout(now);
        for e in drain(&mut a).ev {
            if let Event::ClientTxFailed { tx, failure } = e {
                failed.push((tx, failure));
            }
        }
    }
    assert!(
        failed.contains(&(itx, Failure::Timeout)),
        "the INVITE fails under the id the TU knows: {failed:?}"
    );
    assert!(a.digest.is_idle(), "no alias left: {:?}", a.digest);
    assert_eq!(a.transaction_count(), (0, 0));
}

/// Runs one call from `a` to `b` up to the ACK of `b`'s 2xx (when `b` takes it): INVITE,
/// 200, ACK. Returns the status `b` answered the INVITE with.
fn call_answered(a: &mut Endpoint, b: &mut Endpoint, now: Instant) -> u16 {
    call(a, b, now).0
}

/// [`call_answered`], with `a`'s dialog.
fn call(a: &mut Endpoint, b: &mut Endpoint, now: Instant) -> (u16, DialogId) {
    let opts = InviteOptions::new("sip:b@192.0.2.2", "<sip:a@a>", "<sip:b@b>").target(udp_b());
    let id = a.invite(now, opts).unwrap();
    let invite = drain(a);
    deliver(b, now, &invite.tx[0], A);
    let d = drain(b);
    if let Some(Event::IncomingCall { dialog, .. }) = d.ev.first() {
        b.dialog(*dialog).unwrap().accept(now, None).unwrap();
    }
    let answered =
        d.tx.iter()
            .chain(drain(b).tx.iter())
            .cloned()
            .collect::<Vec<_>>();
    let mut status = 0;
    for t in &answered {
        if let Ok(SipMessage::Response(r)) = parse(t.bytes.clone(), &Default::default()) {
            status = status.max(r.status());
        }
        deliver(a, now, t, B);
    }
    for t in drain(a).tx {
        deliver(b, now, &t, A); // the ACK
    }
    drain(b);
    (status, id)
}

/// Issue 17: answered calls leave their INVITE server transaction in Accepted for 64·T1
/// (RFC 6026 Timer L). Those lingering transactions do not count against the limit of
/// transactions at work; they have a budget of their own, and once it is spent new INVITEs
/// get 503 until their timers end them, after which calls are taken again.
#[test]
fn lingering_transactions_do_not_crowd_out_new_work_and_have_their_own_budget() {
    let t0 = base();
    let mut a = ep(A, 1);
    let mut config = EndpointConfig::with_local(Transport::Udp, addr(B));
    config.max_transactions = 2;
    config.max_lingering_transactions = 4;
    let mut b = Endpoint::new(config, 2);
    for i in 0..4 {
        assert_eq!(call_answered(&mut a, &mut b, t0), 200, "call {i}");
    }
    assert_eq!(b.lingering_transaction_count(), 4);
    assert_eq!(b.transaction_count(), (0, 4));
    // The caller's INVITE client transactions linger too, in Accepted until Timer M
    // (RFC 6026 §7.2).
    assert_eq!(a.lingering_transaction_count(), 4);
    assert_eq!(a.transaction_count(), (4, 0));
    assert!(!b.is_shedding());
    // The budget of lingering transactions is spent: 503 with Retry-After, and shedding.
    assert_eq!(call_answered(&mut a, &mut b, t0), 503);
    assert!(b.is_shedding());
    assert_eq!(b.stats().overload_rejections, 1);
    // Timer L ends them 64·T1 after the 2xx; calls are taken again.
    let later = t0 + Duration::from_secs(33);
    b.handle_timeout(later);
    drain(&mut b);
    assert_eq!(b.lingering_transaction_count(), 0);
    a.handle_timeout(later);
    drain(&mut a);
    assert_eq!(a.lingering_transaction_count(), 0);
    assert_eq!(call_answered(&mut a, &mut b, later), 200);
    assert!(!b.is_shedding());
}

/// After its 2xx an INVITE server transaction keeps the request's rows only where the TU
/// may send another 2xx through it (RFC 6026 §7.1): without the dialog layer. With it, the
/// dialog layer re-sends the 2xx itself (§13.3.1.4), the rows go with the 2xx, and a
/// response to write from them is refused with the reason.
#[test]
fn an_answered_invite_keeps_its_rows_only_for_a_tu_that_resends_through_it() {
    let t0 = base();
    let mut a = ep(A, 1);
    let opts = InviteOptions::new("sip:b@192.0.2.2", "<sip:a@a>", "<sip:b@b>").target(udp_b());
    a.invite(t0, opts).unwrap();
    let invite = drain(&mut a).tx.remove(0);

    let mut plain = Endpoint::builder(EndpointConfig::with_local(Transport::Udp, addr(B)))
        .without_dialog_layer()
        .build(3);
    deliver(&mut plain, t0, &invite, A);
    let stx = incoming(&drain(&mut plain));
    plain.respond_with(t0, stx, 200).unwrap();
    plain.respond_with(t0, stx, 200).unwrap();
    assert!(matches!(
        plain.respond_with(t0, stx, 486),
        Err(EndpointError::Transaction(_))
    ));

    let mut b = ep(B, 2);
    deliver(&mut b, t0, &invite, A);
    let Some(Event::IncomingCall { dialog, tx, .. }) = drain(&mut b).ev.into_iter().next() else {
        panic!("an incoming call");
    };
    b.dialog(dialog).unwrap().accept(t0, None).unwrap();
    assert_eq!(
        b.respond_with(t0, tx, 200),
        Err(EndpointError::RowsReleased)
    );
}

/// Issue 17: a hung-up call's dialog is kept 64·T1 for late messages; such terminated
/// dialogs do not count against `max_dialogs` (they share the lingering budget).
#[test]
fn terminated_dialogs_do_not_count_against_the_dialog_limit() {
    let t0 = base();
    let mut a = ep(A, 1);
    let mut config = EndpointConfig::with_local(Transport::Udp, addr(B));
    config.max_dialogs = 2;
    let mut b = Endpoint::new(config, 2);
    for i in 0..5 {
        let (status, id) = call(&mut a, &mut b, t0);
        assert_eq!(status, 200, "call {i}");
        // Alice hangs up; Bob answers the BYE.
        a.dialog(id).unwrap().hangup(t0).unwrap();
        for t in drain(&mut a).tx {
            deliver(&mut b, t0, &t, A);
        }
        for t in drain(&mut b).tx {
            deliver(&mut a, t0, &t, B);
        }
        drain(&mut a);
    }
    assert_eq!(b.dialog_count(), 5, "kept for late messages");
    assert_eq!(b.stats().overload_rejections, 0);
}

/// RFC 5922 §4: the domain a TLS next hop was named by travels on every transmit to that
/// hop — the INVITE, the ACK for its 2xx and the BYE over the dialog's flow — so a driver
/// that must open a new connection checks the right name; responses carry none (they go
/// back on the request's connection).
#[test]
fn the_tls_server_name_travels_with_every_request_to_the_hop() {
    let now = base();
    let tls = |local: &str, seed| {
        Endpoint::new(
            EndpointConfig::with_local(Transport::Tls, addr(local)),
            seed,
        )
    };
    let (mut a, mut b) = (tls(A, 1), tls(B, 2));
    let name = crate::transport::TlsServerName::new("b.example").unwrap();
    let target = Target::new(Transport::Tls, addr(B)).with_server_name(name.clone());
    let opts = InviteOptions::new("sips:b@b.example", "<sips:a@a>", "<sips:b@b>").target(target);
    let id = a.invite(now, opts).unwrap();
    let invite = drain(&mut a).tx.remove(0);
    assert_eq!(method(&invite), "INVITE");
    assert_eq!(
        (invite.transport, invite.server_name.as_ref()),
        (Transport::Tls, Some(&name))
    );
    assert!(
        String::from_utf8_lossy(&invite.bytes).contains("\r\nVia: SIP/2.0/TLS 192.0.2.1:5060;")
    );
    deliver(&mut b, now, &invite, A);
    let d = drain(&mut b);
    let Some(Event::IncomingCall { dialog, .. }) = d.ev.first() else {
        panic!("{:?}", d.ev)
    };
    b.dialog(*dialog).unwrap().accept(now, None).unwrap();
    for t in d.tx.iter().chain(drain(&mut b).tx.iter()) {
        assert_eq!(
            t.server_name, None,
            "a response goes back on its connection"
        );
        deliver(&mut a, now, t, B);
    }
    let ack = drain(&mut a).tx.remove(0);
    assert_eq!(method(&ack), "ACK");
    assert_eq!(ack.server_name.as_ref(), Some(&name));
    // B's Contact is its address, the flow's: the BYE keeps the name the flow was opened
    // with.
    a.dialog(id).unwrap().hangup(now).unwrap();
    let bye = drain(&mut a).tx.remove(0);
    assert_eq!(method(&bye), "BYE");
    assert_eq!(
        (bye.transport, bye.destination, bye.server_name.as_ref()),
        (Transport::Tls, addr(B), Some(&name))
    );
}

/// After a burst, the drained output queue gives its memory back (`capacity::drained_shrink_to`):
/// a peak of load leaves no queue at its busiest size.
#[test]
fn the_output_queue_shrinks_once_drained_after_a_burst() {
    let mut b = ep(B, 2);
    let now = base();
    for i in 0..400 {
        let req = format!(
            "OPTIONS sip:b@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-burst{i}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:a@192.0.2.1>;tag=a{i}\r\nTo: <sip:b@192.0.2.2>\r\n\
             Call-ID: burst-{i}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        );
        b.handle_input(
            now,
            Input::Receive {
                transport: Transport::Udp,
                from: addr(A),
                to: addr(B),
                bytes: req.into_bytes().into(),
            },
        );
    }
    assert!(b.out.0.len() >= 400, "one output per request at least");
    assert!(b.out.0.capacity() > crate::capacity::DRAINED_QUEUE_KEEP);
    let d = drain(&mut b);
    assert!(d.tx.len() + d.ev.len() >= 400);
    assert!(
        b.out.0.capacity() <= crate::capacity::MIN,
        "kept {} after draining",
        b.out.0.capacity()
    );
}
