//! Endpoint tests: two endpoints wired back to back, every transmit inspected.

use super::*;
use crate::message::{SipMessage, parse};
use crate::transaction::ServerInviteState;
use crate::transport::Transport;
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

#[derive(Default, Debug)]
struct Drained {
    tx: Vec<Transmit>,
    ev: Vec<Event>,
    timeout: Option<Instant>,
}

fn drain(e: &mut Endpoint) -> Drained {
    let mut d = Drained::default();
    while let Some(o) = e.poll_output() {
        match o {
            Output::Transmit(t) => d.tx.push(t),
            Output::Event(ev) => d.ev.push(ev),
        }
    }
    d.timeout = e.poll_timeout();
    d
}

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

fn parsed(t: &Transmit) -> SipMessage {
    parse(t.bytes.clone(), &crate::message::ParseOptions::strict())
        .unwrap_or_else(|e| panic!("{e}: {:?}", t.bytes))
}

fn status(t: &Transmit) -> u16 {
    parsed(t).as_response().map_or(0, |r| r.status())
}

fn method(t: &Transmit) -> String {
    parsed(t)
        .as_request()
        .map_or(String::new(), |r| r.method().to_string())
}

fn invite(a: &mut Endpoint) -> Request {
    a.request(
        Method::Invite,
        "sip:bob@192.0.2.2",
        "<sip:alice@192.0.2.1>",
        "<sip:bob@192.0.2.2>",
    )
    .contact("<sip:alice@192.0.2.1>")
    .body("application/sdp", &b"v=0\r\n"[..])
    .build()
    .unwrap()
}

fn incoming(d: &Drained) -> ServerTxId {
    d.ev.iter()
        .find_map(|e| match e {
            Event::IncomingRequest { tx, .. } | Event::IncomingCall { tx, .. } => Some(*tx),
            _ => None,
        })
        .expect("an incoming request")
}

fn udp_b() -> Target {
    Target::new(Transport::Udp, addr(B))
}

/// Runs both endpoints' timers until neither has one left (bounded).
fn quiesce(a: &mut Endpoint, b: &mut Endpoint, mut now: Instant) -> Instant {
    for _ in 0..1000 {
        let next = [a.poll_timeout(), b.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(t) = next else { return now };
        now = t;
        a.handle_timeout(now);
        b.handle_timeout(now);
        drain(a);
        drain(b);
    }
    panic!("timers never quiesce");
}

#[test]
fn invite_rejected_is_acked_by_the_transaction_and_tables_empty_after_timers() {
    let t0 = base();
    let (mut a, mut b) = (ep(A, 1), ep(B, 2));
    let req = invite(&mut a);
    let ctx = a.send_request(t0, req, udp_b()).unwrap();
    let d = drain(&mut a);
    assert_eq!(d.tx.len(), 1);
    assert_eq!(d.timeout, Some(t0 + Duration::from_millis(500)), "Timer A");
    deliver(&mut b, t0, &d.tx[0], A);
    let db = drain(&mut b);
    let stx = incoming(&db);
    assert!(db.tx.is_empty(), "no 100 before 200 ms");
    assert_eq!(
        db.timeout,
        Some(t0 + Duration::from_millis(200)),
        "the Trying timer"
    );

    b.respond_with(t0, stx, 486).unwrap();
    let db = drain(&mut b);
    assert_eq!(status(&db.tx[0]), 486);
    let resp = parsed(&db.tx[0]);
    assert!(
        resp.message().to().unwrap().tag().is_some(),
        "a To tag on a final response"
    );
    deliver(&mut a, t0, &db.tx[0], B);
    let da = drain(&mut a);
    assert_eq!(da.tx.len(), 1);
    let ack = parsed(&da.tx[0]);
    let ack = ack.as_request().unwrap();
    assert_eq!(ack.method(), &Method::Ack);
    let SipMessage::Request(inv) = parsed(&d.tx[0]) else {
        panic!()
    };
    assert_eq!(
        ack.via().unwrap().branch(),
        inv.via().unwrap().branch(),
        "§17.1.1.3 same branch"
    );
    assert_eq!(ack.to().unwrap().tag(), resp.message().to().unwrap().tag());
    assert_eq!(ack.cseq(), Some((1, "ACK")));
    assert!(
        matches!(&da.ev[..], [Event::Response { tx, response }] if *tx == ctx && response.status() == 486)
    );

    // A retransmitted 486 is ACKed again but not passed up.
    deliver(&mut a, t0, &db.tx[0], B);
    let da2 = drain(&mut a);
    assert_eq!(da2.tx.len(), 1);
    assert!(da2.ev.is_empty());

    deliver(&mut b, t0, &da.tx[0], A);
    let db = drain(&mut b);
    assert!(
        db.ev.is_empty(),
        "the ACK for a non-2xx is absorbed by the transaction"
    );
    assert_eq!(
        b.server_invite_state(stx),
        Some(ServerInviteState::Confirmed)
    );
    quiesce(&mut a, &mut b, t0);
    assert_eq!(a.transaction_count(), (0, 0));
    assert_eq!(b.transaction_count(), (0, 0));
}

#[test]
fn trying_after_200ms_and_retransmissions_absorbed() {
    let t0 = base();
    let (mut a, mut b) = (ep(A, 1), ep(B, 2));
    let req = invite(&mut a);
    a.send_request(t0, req, udp_b()).unwrap();
    let d = drain(&mut a);
    deliver(&mut b, t0, &d.tx[0], A);
    let stx = incoming(&drain(&mut b));
    let t200 = t0 + Duration::from_millis(200);
    b.handle_timeout(t200);
    let db = drain(&mut b);
    assert_eq!(db.tx.len(), 1);
    assert_eq!(status(&db.tx[0]), 100);
    assert!(
        parsed(&db.tx[0]).message().to().unwrap().tag().is_none(),
        "no tag on 100"
    );
    // The INVITE retransmitted by Timer A gets the 100 again, and no new event.
    a.handle_timeout(t0 + Duration::from_millis(500));
    let d = drain(&mut a);
    assert_eq!(d.tx.len(), 1);
    assert_eq!(a.stats().retransmissions, 1);
    deliver(&mut b, t0 + Duration::from_millis(500), &d.tx[0], A);
    let db = drain(&mut b);
    assert!(db.ev.is_empty());
    assert_eq!(db.tx.len(), 1);
    assert_eq!(status(&db.tx[0]), 100);
    assert_eq!(b.stats().absorbed_retransmissions, 1);
    b.respond_with(t0, stx, 180).unwrap();
    assert_eq!(status(&drain(&mut b).tx[0]), 180);
}

/// An OPTIONS sent by `a` over UDP that reaches `b` as if from `source`: what `b` outputs.
fn options_arriving_from(a: &mut Endpoint, b: &mut Endpoint, t0: Instant, source: &str) -> Drained {
    let req = a
        .request(
            Method::Options,
            "sip:bob@192.0.2.2",
            "<sip:a@x>",
            "<sip:b@y>",
        )
        .build()
        .unwrap();
    a.send_request(t0, req, udp_b()).unwrap();
    let d = drain(a);
    deliver(b, t0, &d.tx[0], source);
    drain(b)
}

#[test]
fn received_and_rport_are_filled_in_and_responses_go_to_the_source() {
    let t0 = base();
    let (mut a, mut b) = (ep(A, 1), ep(B, 2));
    // The packet arrives from a NAT: another address and port.
    let nat = "198.51.100.7:40000";
    let db = options_arriving_from(&mut a, &mut b, t0, nat);
    let Event::IncomingRequest { tx, request } = &db.ev[0] else {
        panic!()
    };
    let via = request.via().unwrap();
    assert_eq!(via.received(), Some("198.51.100.7"));
    assert_eq!(via.rport(), Some(Some(40000)));
    b.respond_with(t0, *tx, 200).unwrap();
    let db = drain(&mut b);
    assert_eq!(
        db.tx[0].destination,
        addr(nat),
        "RFC 3581: back to the source port"
    );
    let resp = parsed(&db.tx[0]);
    assert_eq!(
        resp.message().via().unwrap().received(),
        Some("198.51.100.7")
    );
}

#[test]
fn each_source_gets_its_own_received_address() {
    // The endpoint keeps the text of the last source address: requests from alternating
    // sources (IPv4 and IPv6) must each be stamped with their own (§18.2.1).
    let t0 = base();
    let (mut a, mut b) = (ep(A, 1), ep(B, 2));
    let sources = [
        ("198.51.100.7:40000", "198.51.100.7"),
        ("203.0.113.250:5070", "203.0.113.250"),
        ("198.51.100.7:40001", "198.51.100.7"),
        ("[2001:db8::7]:5060", "2001:db8::7"),
        ("198.51.100.70:5060", "198.51.100.70"),
    ];
    for (i, (src, ip)) in sources.into_iter().enumerate() {
        let db = options_arriving_from(&mut a, &mut b, t0, src);
        let Event::IncomingRequest { request, .. } = &db.ev[0] else {
            panic!("request {i}: {:?}", db.ev)
        };
        let via = request.via().unwrap();
        assert_eq!(via.received(), Some(ip), "request {i}");
        assert_eq!(via.rport(), Some(Some(addr(src).port())), "request {i}");
    }
}

#[test]
fn cancel_before_provisional_waits_then_487() {
    let t0 = base();
    let (mut a, mut b) = (ep(A, 1), ep(B, 2));
    let req = invite(&mut a);
    let itx = a.send_request(t0, req, udp_b()).unwrap();
    let d = drain(&mut a);
    let ctx = a.cancel(t0, itx).unwrap();
    assert!(
        drain(&mut a).tx.is_empty(),
        "§9.1: no CANCEL before a provisional"
    );
    assert_eq!(a.cancel(t0, itx), Err(EndpointError::AlreadyCancelled));

    deliver(&mut b, t0, &d.tx[0], A);
    let stx = incoming(&drain(&mut b));
    b.respond_with(t0, stx, 180).unwrap();
    let ringing = drain(&mut b).tx.remove(0);
    deliver(&mut a, t0, &ringing, B);
    let da = drain(&mut a);
    assert_eq!(da.tx.len(), 1);
    assert_eq!(method(&da.tx[0]), "CANCEL");
    let SipMessage::Request(inv) = parsed(&d.tx[0]) else {
        panic!()
    };
    let SipMessage::Request(can) = parsed(&da.tx[0]) else {
        panic!()
    };
    assert_eq!(can.via().unwrap().branch(), inv.via().unwrap().branch());
    assert_eq!(can.cseq(), Some((1, "CANCEL")));

    deliver(&mut b, t0, &da.tx[0], A);
    let db = drain(&mut b);
    let codes: Vec<u16> = db.tx.iter().map(status).collect();
    assert_eq!(codes, [200, 487]);
    assert!(
        db.ev
            .iter()
            .any(|e| matches!(e, Event::Cancelled { tx } if *tx == stx))
    );
    assert!(b.respond_with(t0, stx, 200).is_err(), "no 200 after 487");

    for t in &db.tx {
        deliver(&mut a, t0, t, B);
    }
    let da = drain(&mut a);
    let got: Vec<(ClientTxId, u16)> = da
        .ev
        .iter()
        .filter_map(|e| match e {
            Event::Response { tx, response } => Some((*tx, response.status())),
            _ => None,
        })
        .collect();
    assert_eq!(got, [(ctx, 200), (itx, 487)]);
    assert_eq!(method(&da.tx[0]), "ACK");
    deliver(&mut b, t0, &da.tx[0], A);
    drain(&mut b);
    quiesce(&mut a, &mut b, t0);
    assert_eq!(
        (a.transaction_count(), b.transaction_count()),
        ((0, 0), (0, 0))
    );
}

#[test]
fn stateless_answers() {
    let t0 = base();
    let mut b = ep(B, 2);
    let send = |b: &mut Endpoint, text: &str| -> Vec<Transmit> {
        b.handle_input(
            t0,
            Input::Receive {
                transport: Transport::Udp,
                from: addr(A),
                to: addr(B),
                bytes: Bytes::copy_from_slice(text.as_bytes()),
            },
        );
        drain(b).tx
    };
    let base_req = "OPTIONS sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKs1\r\nMax-Forwards: 70\r\nTo: <sip:bob@b>\r\nFrom: <sip:a@a>;tag=1\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\r\n";
    // Mismatched CSeq method: 400 with a reason that says so.
    let t = send(&mut b, &base_req.replace("1 OPTIONS", "1 INVITE"));
    let r = parsed(&t[0]);
    let r = r.as_response().unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.reason().contains("CSeq"), "{}", r.reason());
    // Missing Call-ID.
    let t = send(&mut b, &base_req.replace("Call-ID: c1\r\n", ""));
    let r = crate::message::parse_unchecked(t[0].bytes.clone(), &Default::default()).unwrap();
    assert!(r.as_response().unwrap().reason().contains("Call-ID"));
    // Unsupported version: 505.
    let t = send(
        &mut b,
        &base_req.replace(" SIP/2.0\r\nVia", " SIP/3.0\r\nVia"),
    );
    assert_eq!(status(&t[0]), 505);
    // No Via at all: nothing can be sent.
    assert!(
        send(
            &mut b,
            &base_req.replace("Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKs1\r\n", "")
        )
        .is_empty()
    );
    // Garbage is counted, not answered.
    assert!(send(&mut b, "\u{1}\u{2}garbage").is_empty());
    // Unknown URI scheme: 416; Require of an unknown extension: 420 with Unsupported.
    let t = send(
        &mut b,
        &base_req
            .replace("sip:bob@192.0.2.2 SIP", "http://x SIP")
            .replace("bKs1", "bKs2"),
    );
    assert_eq!(status(&t[0]), 416);
    let t = send(
        &mut b,
        &base_req
            .replace("CSeq", "Require: foo, bar\r\nCSeq")
            .replace("bKs1", "bKs3"),
    );
    let r = parsed(&t[0]);
    assert_eq!(r.as_response().unwrap().status(), 420);
    assert_eq!(r.message().headers().get("Unsupported"), Some("foo, bar"));
    // CANCEL that matches nothing: 481.
    let t = send(
        &mut b,
        &base_req
            .replace("OPTIONS", "CANCEL")
            .replace("bKs1", "bKs4"),
    );
    assert_eq!(status(&t[0]), 481);
    assert_eq!(b.stats().parse_errors, 2);
    assert_eq!(b.transaction_count(), (0, 0));
    // Max-Forwards 0 with the proxy policy: 483.
    let mut proxy = EndpointConfig::with_local(Transport::Udp, addr(B));
    proxy.max_forwards_policy = MaxForwardsPolicy::Reject;
    b = Endpoint::new(proxy.clone(), 2);
    let t = send(
        &mut b,
        &base_req
            .replace("Max-Forwards: 70", "Max-Forwards: 0")
            .replace("bKs1", "bKs5"),
    );
    assert_eq!(status(&t[0]), 483);
    // Over the transaction limit: 503 with Retry-After.
    proxy.max_transactions = 0;
    b = Endpoint::new(proxy, 2);
    let t = send(&mut b, &base_req.replace("bKs1", "bKs6"));
    let r = parsed(&t[0]);
    assert_eq!(r.as_response().unwrap().status(), 503);
    assert_eq!(r.message().headers().get("Retry-After"), Some("5"));
    assert_eq!(b.stats().overload_rejections, 1);
}

#[test]
fn timer_b_and_transport_errors_fail_the_client_transaction() {
    let t0 = base();
    let mut a = ep(A, 1);
    let req = invite(&mut a);
    let tx = a.send_request(t0, req, udp_b()).unwrap();
    drain(&mut a);
    let mut sends = vec![];
    let mut now = t0;
    while let Some(t) = a.poll_timeout() {
        now = t;
        a.handle_timeout(now);
        let d = drain(&mut a);
        if !d.tx.is_empty() {
            sends.push(now - t0);
        }
        if let Some(Event::ClientTxFailed { tx: got, failure }) = d.ev.first() {
            assert_eq!((*got, *failure), (tx, Failure::Timeout));
            break;
        }
    }
    let ms: Vec<u128> = sends.iter().map(Duration::as_millis).collect();
    assert_eq!(ms, [500, 1500, 3500, 7500, 15500, 31500]);
    assert_eq!(now - t0, Duration::from_secs(32));
    assert_eq!(a.transaction_count(), (0, 0));

    let req = a
        .request(Method::Options, "sip:b@192.0.2.2", "<sip:a@a>", "<sip:b@b>")
        .build()
        .unwrap();
    let tx = a.send_request(t0, req, udp_b()).unwrap();
    drain(&mut a);
    a.handle_input(
        t0,
        Input::TransportError {
            transport: Transport::Udp,
            destination: addr(B),
        },
    );
    let d = drain(&mut a);
    assert!(
        matches!(&d.ev[..], [Event::ClientTxFailed { tx: got, failure: Failure::TransportError }] if *got == tx)
    );
    assert_eq!(a.transaction_count(), (0, 0));
}

#[test]
fn stray_and_misrouted_responses() {
    let t0 = base();
    let mut a = ep(A, 1);
    let stray = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKgone\r\nTo: <sip:b@b>;tag=2\r\nFrom: <sip:a@a>;tag=1\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    a.handle_input(
        t0,
        Input::Receive {
            transport: Transport::Udp,
            from: addr(B),
            to: addr(A),
            bytes: Bytes::from_static(stray.as_bytes()),
        },
    );
    assert!(matches!(
        &drain(&mut a).ev[..],
        [Event::StrayResponse { .. }]
    ));
    let other = stray.replace("192.0.2.1:5060", "203.0.113.9:5060");
    a.handle_input(
        t0,
        Input::Receive {
            transport: Transport::Udp,
            from: addr(B),
            to: addr(A),
            bytes: Bytes::from(other),
        },
    );
    assert!(drain(&mut a).ev.is_empty());
    assert_eq!(a.stats().misrouted_responses, 1);
}

#[test]
fn invite_2xx_goes_to_the_tu_and_retransmissions_too() {
    let t0 = base();
    let (mut a, mut b) = (ep(A, 1), ep(B, 2));
    let req = invite(&mut a);
    let ctx = a.send_request(t0, req, udp_b()).unwrap();
    let d = drain(&mut a);
    deliver(&mut b, t0, &d.tx[0], A);
    let stx = incoming(&drain(&mut b));
    let ok = b
        .response(stx, 200)
        .unwrap()
        .header("Contact", "<sip:bob@192.0.2.2>")
        .build()
        .unwrap();
    b.respond(t0, stx, ok.clone()).unwrap();
    let db = drain(&mut b);
    assert_eq!(db.tx.len(), 1);
    // RFC 6026 §8.5: an INVITE retransmission in Accepted is absorbed; the transaction
    // does not re-send the 2xx (that is the TU's job).
    deliver(&mut b, t0 + Duration::from_millis(100), &d.tx[0], A);
    let again = drain(&mut b);
    assert!(again.tx.is_empty() && again.ev.is_empty(), "{again:?}");
    assert_eq!(b.stats().absorbed_retransmissions, 1);
    // RFC 6026: the TU re-sends the 2xx through the Accepted transaction.
    b.respond(t0 + Duration::from_millis(500), stx, ok).unwrap();
    let db2 = drain(&mut b);
    assert_eq!(db2.tx.len(), 1);
    deliver(&mut a, t0, &db.tx[0], B);
    deliver(&mut a, t0, &db2.tx[0], B);
    let da = drain(&mut a);
    assert!(da.tx.is_empty(), "the transaction does not ACK a 2xx");
    let n = da.ev.iter().filter(|e| matches!(e, Event::Response { tx, response } if *tx == ctx && response.status() == 200)).count();
    assert_eq!(n, 2);
    // The dialog layer's ACK goes out through send_ack and reaches B's TU.
    let SipMessage::Response(resp) = parsed(&db.tx[0]) else {
        panic!()
    };
    let ack = Request::builder(Method::Ack, "sip:bob@192.0.2.2")
        .max_forwards(70)
        .header("From", resp.headers().get("From").unwrap())
        .header("To", resp.headers().get("To").unwrap())
        .call_id(resp.call_id().unwrap())
        .cseq(1)
        .build()
        .unwrap();
    a.send_ack(t0, ack, udp_b()).unwrap();
    let da = drain(&mut a);
    deliver(&mut b, t0, &da.tx[0], A);
    let db = drain(&mut b);
    // B's TU answered the call's INVITE through the transaction API: the dialog follows
    // it, so the ACK for the 2xx is the dialog's.
    assert!(
        matches!(&db.ev[..], [Event::AckReceived { .. }]),
        "{:?}",
        db.ev
    );
    let end = quiesce(&mut a, &mut b, t0);
    assert_eq!(
        end - t0,
        Duration::from_secs(32),
        "Timers L and M are 64·T1"
    );
    assert_eq!(
        (a.transaction_count(), b.transaction_count()),
        ((0, 0), (0, 0))
    );
}

#[test]
fn same_seed_same_bytes() {
    let run = |seed| {
        let t0 = base();
        let (mut a, mut b) = (ep(A, seed), ep(B, seed + 1));
        let req = invite(&mut a);
        a.send_request(t0, req, udp_b()).unwrap();
        let d = drain(&mut a);
        deliver(&mut b, t0, &d.tx[0], A);
        let stx = incoming(&drain(&mut b));
        b.respond_with(t0, stx, 603).unwrap();
        let db = drain(&mut b);
        deliver(&mut a, t0, &db.tx[0], B);
        let da = drain(&mut a);
        [d.tx, db.tx, da.tx]
            .concat()
            .into_iter()
            .map(|t| t.bytes)
            .collect::<Vec<_>>()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
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

#[test]
fn a_lost_connection_falls_back_to_the_sent_by_port() {
    // A final non-2xx (Completed) and a 2xx (Accepted, RFC 6026) alike: the transaction
    // re-sends its response to the received address and sent-by port (§18.2.2).
    for (status, branch) in [(486, "z9hG4bKfb1"), (200, "z9hG4bKfb2")] {
        let t0 = base();
        let b_addr = addr(B);
        let mut b = Endpoint::new(EndpointConfig::with_local(Transport::Tcp, b_addr), 2);
        let req = format!(
            "INVITE sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.1:5070;branch={branch}\r\nMax-Forwards: 70\r\nTo: <sip:bob@b>\r\nFrom: <sip:a@a>;tag=1\r\nCall-ID: fb\r\nCSeq: 1 INVITE\r\nContact: <sip:a@192.0.2.1:5070;transport=tcp>\r\nContent-Length: 0\r\n\r\n"
        );
        let peer = addr("192.0.2.1:40123");
        b.handle_input(
            t0,
            Input::Receive {
                transport: Transport::Tcp,
                from: peer,
                to: b_addr,
                bytes: Bytes::from(req),
            },
        );
        let stx = incoming(&drain(&mut b));
        b.respond_with(t0, stx, status).unwrap();
        let d = drain(&mut b);
        assert_eq!(
            d.tx[0].destination, peer,
            "{status}: on the connection the request came in on"
        );
        b.handle_input(
            t0,
            Input::TransportError {
                transport: Transport::Tcp,
                destination: peer,
            },
        );
        let d = drain(&mut b);
        assert_eq!(d.tx.len(), 1, "{status}");
        assert_eq!(
            d.tx[0].destination,
            addr("192.0.2.1:5070"),
            "{status}: §18.2.2: received address, sent-by port"
        );
        assert_eq!(self::status(&d.tx[0]), status);
        assert!(d.ev.is_empty());
    }
}

#[test]
fn methods_the_tu_does_not_handle_get_405_with_allow() {
    let t0 = base();
    let mut cfg = EndpointConfig::with_local(Transport::Udp, addr(B));
    cfg.allowed_methods = Some(vec![
        Method::Invite,
        Method::Ack,
        Method::Bye,
        Method::Cancel,
        Method::Options,
    ]);
    let mut b = Endpoint::new(cfg, 2);
    let req = "SUBSCRIBE sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKm405\r\nMax-Forwards: 70\r\nTo: <sip:bob@b>\r\nFrom: <sip:a@a>;tag=1\r\nCall-ID: m405\r\nCSeq: 1 SUBSCRIBE\r\nEvent: presence\r\nContent-Length: 0\r\n\r\n";
    b.handle_input(
        t0,
        Input::Receive {
            transport: Transport::Udp,
            from: addr(A),
            to: addr(B),
            bytes: Bytes::from_static(req.as_bytes()),
        },
    );
    let d = drain(&mut b);
    let r = parsed(&d.tx[0]);
    assert_eq!(r.as_response().unwrap().status(), 405);
    assert_eq!(
        r.message().headers().get("Allow"),
        Some("INVITE, ACK, BYE, CANCEL, OPTIONS")
    );
    assert!(d.ev.is_empty());
}

#[test]
fn rfc2543_requests_are_matched_without_a_magic_cookie() {
    // §17.2.3: no z9hG4bK branch, so the transaction is the Request-URI, From tag, Call-ID,
    // CSeq and top Via; the ACK also needs the To tag of the response.
    let t0 = base();
    let mut b = ep(B, 2);
    let invite = "INVITE sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060\r\nMax-Forwards: 70\r\nTo: <sip:bob@b>\r\nFrom: <sip:a@a>;tag=old\r\nCall-ID: c2543\r\nCSeq: 4 INVITE\r\nContact: <sip:a@192.0.2.1>\r\nContent-Length: 0\r\n\r\n";
    let feed = |b: &mut Endpoint, text: &str| {
        b.handle_input(
            t0,
            Input::Receive {
                transport: Transport::Udp,
                from: addr(A),
                to: addr(B),
                bytes: Bytes::copy_from_slice(text.as_bytes()),
            },
        );
        drain(b)
    };
    let stx = incoming(&feed(&mut b, invite));
    b.respond_with(t0, stx, 486).unwrap();
    let d = drain(&mut b);
    let to = parsed(&d.tx[0])
        .message()
        .headers()
        .get("To")
        .unwrap()
        .to_owned();
    // The retransmission gets the 486 again and no new event.
    let d = feed(&mut b, invite);
    assert!(d.ev.is_empty());
    assert_eq!(status(&d.tx[0]), 486);
    // An ACK with another To tag is not this transaction's.
    let ack = |to: &str| {
        format!(
            "ACK sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060\r\nMax-Forwards: 70\r\nTo: {to}\r\nFrom: <sip:a@a>;tag=old\r\nCall-ID: c2543\r\nCSeq: 4 ACK\r\nContent-Length: 0\r\n\r\n"
        )
    };
    feed(&mut b, &ack("<sip:bob@b>;tag=other"));
    assert_eq!(
        b.server_invite_state(stx),
        Some(ServerInviteState::Completed)
    );
    // The right one confirms it.
    let d = feed(&mut b, &ack(&to));
    assert!(d.ev.is_empty());
    assert_eq!(
        b.server_invite_state(stx),
        Some(ServerInviteState::Confirmed)
    );
    // Another From tag is another transaction.
    let d = feed(&mut b, &invite.replace("tag=old", "tag=new"));
    assert_eq!(d.ev.len(), 1);
}

#[test]
fn stored_header_values_are_unfolded_and_bare_line_breaks_flagged() {
    use super::ops::unfolded;
    assert_eq!(
        unfolded("<sip:a@b>;tag=1"),
        ("<sip:a@b>;tag=1".into(), true)
    );
    assert_eq!(
        unfolded("\"A\"\r\n <sip:a@b>;tag=1"),
        ("\"A\" <sip:a@b>;tag=1".into(), true)
    );
    assert_eq!(
        unfolded("\"A\"\r\n\t \t<sip:a@b>\r\n ;tag=1"),
        ("\"A\" <sip:a@b> ;tag=1".into(), true)
    );
    for bad in [
        "<sip:a@b>\r\nX: y",
        "<sip:a@b>\n x",
        "<sip:a@b>\0",
        "<sip:a@b>\r",
    ] {
        assert_eq!(unfolded(bad), (bad.into(), false), "{bad:?}");
    }
}

/// A UAS whose caller folded its From line sends the BYE with that value on one line.
#[test]
fn an_in_dialog_request_carries_folded_peer_values_on_one_line() {
    let now = base();
    let mut b = ep(B, 2);
    let invite = "INVITE sip:bob@192.0.2.2 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKfold1\r\n\
        Max-Forwards: 70\r\n\
        From: \"Alice\"\r\n <sip:alice@192.0.2.1>;tag=a1\r\n\
        To: <sip:bob@192.0.2.2>\r\n\
        Call-ID: fold-1@192.0.2.1\r\n\
        CSeq: 1 INVITE\r\n\
        Contact: <sip:alice@192.0.2.1:5060>\r\n\
        Content-Length: 0\r\n\r\n";
    b.handle_input(
        now,
        Input::Receive {
            transport: Transport::Udp,
            from: addr(A),
            to: addr(B),
            bytes: Bytes::from(invite),
        },
    );
    let d = drain(&mut b)
        .ev
        .iter()
        .find_map(|e| match e {
            Event::IncomingCall { dialog, .. } => Some(*dialog),
            _ => None,
        })
        .expect("incoming call");
    b.dialog(d)
        .and_then(|mut d| d.answer(now, 200, None))
        .unwrap();
    drain(&mut b);
    let ack = "ACK sip:bob@192.0.2.2 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKfold2\r\n\
        Max-Forwards: 70\r\n\
        From: \"Alice\" <sip:alice@192.0.2.1>;tag=a1\r\n\
        To: <sip:bob@192.0.2.2>;tag=TAG\r\n\
        Call-ID: fold-1@192.0.2.1\r\n\
        CSeq: 1 ACK\r\n\
        Content-Length: 0\r\n\r\n"
        .replace("TAG", &b.dialog_info(d).unwrap().local_tag);
    b.handle_input(
        now,
        Input::Receive {
            transport: Transport::Udp,
            from: addr(A),
            to: addr(B),
            bytes: Bytes::from(ack),
        },
    );
    drain(&mut b);
    b.dialog(d).and_then(|mut d| d.hangup(now)).unwrap();
    let out = drain(&mut b);
    let bye = std::str::from_utf8(&out.tx[0].bytes).unwrap();
    assert!(
        bye.starts_with("BYE sip:alice@192.0.2.1:5060 SIP/2.0\r\n"),
        "{bye}"
    );
    assert!(
        bye.contains("\r\nTo: \"Alice\" <sip:alice@192.0.2.1>;tag=a1\r\n"),
        "{bye}"
    );
}

/// An `advertised` sent-by that is not a `host[:port]` cannot reach the wire: the Via of a
/// request sent with `send_request` (written without a re-check) carries the bound address,
/// and nothing is injected.
#[test]
fn an_advertised_address_that_is_no_hostport_is_not_written() {
    // The top Via of an OPTIONS sent with `advertised`, and whether a row was injected.
    let sent_via = |advertised: &str| {
        let mut c = EndpointConfig::with_local(Transport::Udp, addr(A));
        c.local_addrs[0].advertised = Some(advertised.into());
        let mut a = Endpoint::new(c, 1);
        let req = a
            .request(
                Method::Options,
                "sip:bob@192.0.2.2",
                "<sip:a@x>",
                "<sip:b@y>",
            )
            .build()
            .unwrap();
        a.send_request(base(), req, udp_b()).unwrap();
        let SipMessage::Request(sent) = parsed(&drain(&mut a).tx[0]) else {
            panic!("a request")
        };
        let via = sent.via().unwrap();
        let injected = sent.headers().get("X-Injected").is_some();
        (via.host().to_owned(), via.port(), injected)
    };
    for bad in ["evil.example.com\r\nX-Injected: 1", "bad host;x", ""] {
        let want = ("192.0.2.1".to_owned(), Some(5060), false);
        assert_eq!(sent_via(bad), want, "{bad:?}");
    }
    let want = ("pbx.example.com".to_owned(), Some(5070), false);
    assert_eq!(sent_via("pbx.example.com:5070"), want);
}

/// §8.1.1: `send_request` refuses a request without the mandatory headers (the TU's
/// mistake, reported before anything is sent), but not for lack of the Via it adds itself.
#[test]
fn send_request_checks_the_request_but_adds_the_via() {
    let t0 = base();
    let mut a = ep(A, 1);
    let no_call_id = Request::builder(Method::Options, "sip:bob@192.0.2.2")
        .max_forwards(70)
        .from("<sip:a@x>", Some("1"))
        .to("<sip:b@y>", None)
        .cseq(1)
        .build()
        .unwrap();
    assert!(matches!(
        a.send_request(t0, no_call_id, udp_b()),
        Err(EndpointError::InvalidMessage(_))
    ));
    assert!(drain(&mut a).tx.is_empty(), "nothing sent");
    let no_via = Request::builder(Method::Options, "sip:bob@192.0.2.2")
        .max_forwards(70)
        .from("<sip:a@x>", Some("1"))
        .to("<sip:b@y>", None)
        .call_id("c1")
        .cseq(1)
        .build()
        .unwrap();
    assert!(no_via.via().is_none());
    a.send_request(t0, no_via, udp_b()).unwrap();
    let SipMessage::Request(sent) = parsed(&drain(&mut a).tx[0]) else {
        panic!("a request")
    };
    assert!(sent.via().unwrap().has_rfc3261_branch());
    assert_eq!(
        sent.headers().iter().next().map(|r| r.known),
        Some(crate::message::HeaderName::Via)
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
    let req = invite(&mut a);
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

#[test]
fn folded_rows_are_copied_into_responses_by_their_values() {
    // A row continued on further lines is not `Name: value CRLF` any more, whatever its
    // first line looked like: the skeleton rewrites it from its value (trailing blanks and
    // blank continuation lines dropped), and the Via stamp takes the general way.
    let t0 = base();
    let from_rows = [
        "From: <sip:a@192.0.2.1>;tag=1\r\n ;x=1  ",
        "From: <sip:a@192.0.2.1>;tag=1\r\n   ",
        "From: <sip:a@192.0.2.1>\r\n ;tag=1",
    ];
    for (i, from) in from_rows.into_iter().enumerate() {
        // The first Via names the source (nothing to stamp), the second needs `received`
        // and `rport` on a folded row.
        for (via, received) in [
            ("Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKfold", None),
            (
                "Via: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bKfold\r\n ;rport  ",
                Some("192.0.2.1"),
            ),
        ] {
            let raw = format!(
                "OPTIONS sip:bob@192.0.2.2 SIP/2.0\r\n{via}\r\n{from}\r\nTo: <sip:bob@192.0.2.2>\r\nCall-ID: fold{i}\r\nCSeq: 1 OPTIONS\r\n \r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            );
            let mut b = ep(B, 2);
            b.handle_input(
                t0,
                Input::Receive {
                    transport: Transport::Udp,
                    from: addr(A),
                    to: addr(B),
                    bytes: Bytes::from(raw),
                },
            );
            let d = drain(&mut b);
            let Event::IncomingRequest { tx, request } = &d.ev[0] else {
                panic!("{i}: {:?}", d.ev)
            };
            let from_value = request.headers().get("From").unwrap().to_owned();
            b.respond_with(t0, *tx, 200).unwrap();
            let d = drain(&mut b);
            let r = parsed(&d.tx[0]);
            let m = r.message();
            assert_eq!(m.headers().get("From"), Some(from_value.as_str()), "{i}");
            assert_eq!(m.headers().get("CSeq"), Some("1 OPTIONS"), "{i}");
            assert_eq!(m.via().unwrap().received(), received, "{i}: {via}");
            let text = std::str::from_utf8(&d.tx[0].bytes).unwrap();
            assert!(
                !text.contains("  \r\n") && !text.contains("\r\n \r\n"),
                "{text}"
            );
        }
    }
}
