//! Endpoint scenarios at the transaction level (RFC 3261 §8, §17, §18; RFC 3581, RFC 6026):
//! endpoints on the simulated network of the test harness, every message they send
//! inspected. (Tests that need the endpoint's crate-private parts stay in
//! `src/endpoint/tests.rs`.)

mod support;

use std::time::Duration;

use bytes::Bytes;
use sip_core::endpoint::{
    ClientTxId, Endpoint, EndpointConfig, EndpointError, Event, Failure, Input, MaxForwardsPolicy,
    ServerTxId, Target,
};
use sip_core::message::{HeaderName, Method, Request, SipMessage, parse_unchecked};
use sip_core::transaction::ServerInviteState;
use sip_core::transport::Transport;
use sip_sim::Match;
use sip_sim::testing::ScriptNode;
use support::{A, B, Drained, Net, addr, udp};

/// Endpoints at A (seed 1) and B (seed 2).
fn pair() -> Net {
    let mut net = Net::empty();
    net.add(udp(A), 1);
    net.add(udp(B), 2);
    net
}

/// One endpoint, bound where `config` says, seeded.
fn single(config: EndpointConfig, seed: u64) -> Net {
    let mut net = Net::empty();
    net.add(config, seed);
    net
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

/// A sends the INVITE of [`invite`] to B.
fn send_invite(net: &mut Net) -> ClientTxId {
    net.with(A, |ep, now| {
        let req = invite(ep);
        ep.send_request(now, req, udp_b())
    })
    .unwrap()
}

/// A sends an OPTIONS to B.
fn send_options(net: &mut Net) -> ClientTxId {
    net.with(A, |ep, now| {
        let req = ep
            .request(
                Method::Options,
                "sip:bob@192.0.2.2",
                "<sip:a@x>",
                "<sip:b@y>",
            )
            .build()
            .unwrap();
        ep.send_request(now, req, udp_b())
    })
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

/// Hand-written text from A to B, delivered; what B did about it.
fn to_b(net: &mut Net, text: impl Into<Bytes>) -> Drained {
    net.inject(Transport::Udp, addr(A), addr(B), text);
    net.run();
    net.drain(B)
}

#[test]
fn invite_rejected_is_acked_by_the_transaction_and_tables_empty_after_timers() {
    let mut net = pair();
    let t0 = net.now();
    let ctx = send_invite(&mut net);
    let d = net.drain(A);
    assert_eq!(d.tx.len(), 1);
    assert_eq!(d.timeout, Some(t0 + Duration::from_millis(500)), "Timer A");
    net.run();
    let db = net.drain(B);
    let stx = incoming(&db);
    assert!(db.tx.is_empty(), "no 100 before 200 ms");
    assert_eq!(
        db.timeout,
        Some(t0 + Duration::from_millis(200)),
        "the Trying timer"
    );

    net.with(B, |ep, now| ep.respond_with(now, stx, 486))
        .unwrap();
    let db = net.drain(B);
    assert_eq!(db.tx[0].status(), 486);
    let resp = db.tx[0].parsed();
    assert!(
        resp.message().to().unwrap().tag().is_some(),
        "a To tag on a final response"
    );
    // The 486 reaches A, whose transaction ACKs it; the ACK reaches B.
    net.run();
    let da = net.drain(A);
    assert_eq!(da.tx.len(), 1);
    let ack = da.tx[0].parsed();
    let ack = ack.as_request().unwrap();
    assert_eq!(ack.method(), &Method::Ack);
    let SipMessage::Request(inv) = d.tx[0].parsed() else {
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
    net.inject(Transport::Udp, addr(B), addr(A), db.tx[0].bytes.clone());
    net.run();
    let da2 = net.drain(A);
    assert_eq!(da2.tx.len(), 1);
    assert!(da2.ev.is_empty());

    let db = net.drain(B);
    assert!(
        db.ev.is_empty(),
        "the ACK for a non-2xx is absorbed by the transaction"
    );
    assert_eq!(
        net.ep(B).server_invite_state(stx),
        Some(ServerInviteState::Confirmed)
    );
    net.settle();
    assert_eq!(net.ep(A).transaction_count(), (0, 0));
    assert_eq!(net.ep(B).transaction_count(), (0, 0));
}

#[test]
fn trying_after_200ms_and_retransmissions_absorbed() {
    let mut net = pair();
    send_invite(&mut net);
    net.run();
    let stx = incoming(&net.drain(B));
    // The 100 is lost on its way: Alice's Timer A keeps running.
    net.sim.drop_where(Match::Status(100));
    net.advance(Duration::from_millis(200));
    let db = net.drain(B);
    assert_eq!(db.tx.len(), 1);
    assert_eq!(db.tx[0].status(), 100);
    assert!(
        db.tx[0].parsed().message().to().unwrap().tag().is_none(),
        "no tag on 100"
    );
    // The INVITE retransmitted by Timer A gets the 100 again, and no new event.
    net.drain(A);
    net.advance(Duration::from_millis(500));
    let d = net.drain(A);
    assert_eq!(d.tx.len(), 1);
    assert_eq!(net.ep(A).stats().retransmissions, 1);
    let db = net.drain(B);
    assert!(db.ev.is_empty());
    assert_eq!(db.tx.len(), 1);
    assert_eq!(db.tx[0].status(), 100);
    assert_eq!(net.ep(B).stats().absorbed_retransmissions, 1);
    net.sim.stop_dropping();
    net.with(B, |ep, now| ep.respond_with(now, stx, 180))
        .unwrap();
    assert_eq!(net.drain(B).tx[0].status(), 180);
}

/// An OPTIONS sent by A over UDP that reaches B as if from `source` (A is behind a NAT):
/// what B then did.
fn options_arriving_from(net: &mut Net, source: &str) -> Drained {
    // The request leaves A but reaches B only as the NAT forwards it.
    net.sim.drop_where(Match::Request(Method::Options));
    send_options(net);
    net.sim.stop_dropping();
    let sent = net.drain(A).tx.remove(0);
    net.inject(sent.transport, addr(source), sent.to, sent.bytes);
    net.run();
    net.drain(B)
}

#[test]
fn received_and_rport_are_filled_in_and_responses_go_to_the_source() {
    let mut net = pair();
    // The packet arrives from a NAT: another address and port.
    let nat = "198.51.100.7:40000";
    let db = options_arriving_from(&mut net, nat);
    let Event::IncomingRequest { tx, request } = &db.ev[0] else {
        panic!()
    };
    let via = request.via().unwrap();
    assert_eq!(via.received(), Some("198.51.100.7"));
    assert_eq!(via.rport(), Some(Some(40000)));
    net.with(B, |ep, now| ep.respond_with(now, *tx, 200))
        .unwrap();
    let db = net.drain(B);
    assert_eq!(db.tx[0].to, addr(nat), "RFC 3581: back to the source port");
    let resp = db.tx[0].parsed();
    assert_eq!(
        resp.message().via().unwrap().received(),
        Some("198.51.100.7")
    );
}

/// An IPv6 phone that writes its addresses without brackets, the port glued on
/// (`Mode::Lenient`, the endpoint's default): its OPTIONS is taken, and the answer goes
/// back to it (§18.2.2: the sent-by port at the source address).
#[test]
fn an_ipv6_phone_without_brackets_is_answered() {
    let mut net = single(udp(B), 2);
    let phone = "fec0:0:0:0:216:d3ff:fe0d:22c:5060";
    let source: std::net::SocketAddr = "[fec0::216:d3ff:fe0d:22c]:5060".parse().unwrap();
    let text = format!(
        "OPTIONS sip:{phone} SIP/2.0\r\nVia: SIP/2.0/UDP {phone};branch=z9hG4bK-v6-1\r\n\
         Max-Forwards: 70\r\nTo: <sip:192.0.2.2>\r\nFrom: <sip:4321@{phone}>;tag=v6\r\n\
         Call-ID: v6-1@fec0::216:d3ff:fe0d:22c\r\nCSeq: 1 OPTIONS\r\n\
         Contact: <sip:4321@{phone}>\r\nContent-Length: 0\r\n\r\n"
    );
    net.inject(Transport::Udp, source, addr(B), text);
    net.run();
    let db = net.drain(B);
    let Some(Event::IncomingRequest { tx, request }) = db.ev.first() else {
        panic!("taken: {:?}", db.ev)
    };
    assert_eq!(request.via().unwrap().port(), Some(5060));
    net.with(B, |ep, now| ep.respond_with(now, *tx, 200))
        .unwrap();
    let db = net.drain(B);
    assert_eq!(db.tx[0].to, source);
    // (The answer copies the Via as the phone wrote it: lenient to read back.)
    let ok = parse_unchecked(db.tx[0].bytes.clone(), &Default::default()).unwrap();
    assert_eq!(ok.as_response().unwrap().status(), 200);
}

#[test]
fn each_source_gets_its_own_received_address() {
    // The endpoint keeps the text of the last source address: requests from alternating
    // sources (IPv4 and IPv6) must each be stamped with their own (§18.2.1).
    let mut net = pair();
    let sources = [
        ("198.51.100.7:40000", "198.51.100.7"),
        ("203.0.113.250:5070", "203.0.113.250"),
        ("198.51.100.7:40001", "198.51.100.7"),
        ("[2001:db8::7]:5060", "2001:db8::7"),
        ("198.51.100.70:5060", "198.51.100.70"),
    ];
    for (i, (src, ip)) in sources.into_iter().enumerate() {
        let db = options_arriving_from(&mut net, src);
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
    let mut net = pair();
    let itx = send_invite(&mut net);
    let d = net.drain(A);
    let ctx = net.with(A, |ep, now| ep.cancel(now, itx)).unwrap();
    assert!(
        net.drain(A).tx.is_empty(),
        "§9.1: no CANCEL before a provisional"
    );
    assert_eq!(
        net.with(A, |ep, now| ep.cancel(now, itx)),
        Err(EndpointError::AlreadyCancelled)
    );

    net.run();
    let stx = incoming(&net.drain(B));
    net.with(B, |ep, now| ep.respond_with(now, stx, 180))
        .unwrap();
    net.drain(B);
    // The 180 reaches A, which sends the CANCEL it held.
    net.step();
    let da = net.drain(A);
    assert_eq!(da.tx.len(), 1);
    assert_eq!(da.tx[0].method(), "CANCEL");
    let SipMessage::Request(inv) = d.tx[0].parsed() else {
        panic!()
    };
    let SipMessage::Request(can) = da.tx[0].parsed() else {
        panic!()
    };
    assert_eq!(can.via().unwrap().branch(), inv.via().unwrap().branch());
    assert_eq!(can.cseq(), Some((1, "CANCEL")));

    // The CANCEL reaches B.
    net.step();
    let db = net.drain(B);
    let codes: Vec<u16> = db.tx.iter().map(|t| t.status()).collect();
    assert_eq!(codes, [200, 487]);
    assert!(
        db.ev
            .iter()
            .any(|e| matches!(e, Event::Cancelled { tx } if *tx == stx))
    );
    assert!(
        net.with(B, |ep, now| ep.respond_with(now, stx, 200))
            .is_err(),
        "no 200 after 487"
    );

    // Both reach A, whose ACK of the 487 reaches B.
    net.run();
    let da = net.drain(A);
    let got: Vec<(ClientTxId, u16)> = da
        .ev
        .iter()
        .filter_map(|e| match e {
            Event::Response { tx, response } => Some((*tx, response.status())),
            _ => None,
        })
        .collect();
    assert_eq!(got, [(ctx, 200), (itx, 487)]);
    assert_eq!(da.tx[0].method(), "ACK");
    net.settle();
    assert_eq!(
        (net.ep(A).transaction_count(), net.ep(B).transaction_count()),
        ((0, 0), (0, 0))
    );
}

/// Requests the parser refuses are answered when the rows a response copies can be read
/// (RFC 3261 §8.2.6): 400 for a Content-Length beyond the datagram (§18.3) and for a head
/// that is not UTF-8, 513 for too many headers or an over-long line (§21.5.9), 414 for an
/// over-long Request-URI (§21.4.12), each with a reason phrase saying why. A response or
/// an ACK gets nothing, nor does a head without those rows.
#[test]
fn refused_requests_are_answered_when_their_head_can_be_read() {
    let mut net = single(udp(B), 2);
    let base_req = "OPTIONS sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKr1\r\nMax-Forwards: 70\r\nTo: <sip:bob@b>\r\nFrom: <sip:a@a>;tag=1\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    let edit = |edits: &[(&str, &str)]| {
        edits
            .iter()
            .fold(base_req.to_owned(), |t, (a, b)| t.replace(a, b))
    };
    // What B answered: (status, reason), after checking the answer is the §8.2.6 one.
    let answer = |net: &mut Net, bytes: Vec<u8>| {
        let d = to_b(net, bytes);
        assert_eq!(d.tx.len(), 1, "one answer");
        let t = &d.tx[0];
        assert_eq!(t.to, addr(A));
        let m = t.parsed();
        let r = m.as_response().unwrap();
        assert_eq!(r.via().unwrap().branch(), Some("z9hG4bKr1"));
        assert_eq!(r.message().call_id(), Some("c1"));
        assert_eq!(r.message().cseq(), Some((1, "OPTIONS")));
        assert_eq!(r.message().from().unwrap().tag(), Some("1"));
        assert!(r.message().to().unwrap().tag().is_some());
        (r.status(), r.reason().to_owned())
    };
    // §18.3: Content-Length beyond the datagram's body.
    let (code, reason) = answer(
        &mut net,
        edit(&[(
            "Content-Length: 0\r\n\r\n",
            "Content-Length: 40\r\n\r\nv=0\r\n",
        )])
        .into_bytes(),
    );
    assert_eq!(code, 400);
    assert!(
        reason.contains("Content-Length 40 larger than the 5 body bytes"),
        "{reason}"
    );
    // 257 headers, one over the default limit of 256.
    let many = "X-H: 1\r\n".repeat(257);
    let (code, reason) = answer(
        &mut net,
        edit(&[("Content-Length", &format!("{many}Content-Length"))]).into_bytes(),
    );
    assert_eq!(code, 513);
    assert!(reason.contains("more than 256 headers"), "{reason}");
    // A line of 8 KiB and more.
    let long = format!("Subject: {}\r\n", "s".repeat(8 * 1024));
    let (code, reason) = answer(
        &mut net,
        edit(&[("Content-Length", &format!("{long}Content-Length"))]).into_bytes(),
    );
    assert_eq!(code, 513);
    assert!(reason.contains("line longer than 8192 bytes"), "{reason}");
    // A Request-URI of 4 KiB and more.
    let uri = format!("sip:{}@192.0.2.2", "u".repeat(4 * 1024));
    let (code, reason) = answer(&mut net, edit(&[("sip:bob@192.0.2.2", &uri)]).into_bytes());
    assert_eq!(code, 414);
    assert!(
        reason.contains("Request-URI longer than 4096 bytes"),
        "{reason}"
    );
    // A header value that is not UTF-8.
    let mut bytes =
        edit(&[("Content-Length", "Subject: caf\u{e9}\r\nContent-Length")]).into_bytes();
    let at = bytes.iter().position(|&b| b == 0xc3).unwrap();
    bytes.splice(at..at + 2, [0xe9]);
    let (code, reason) = answer(&mut net, bytes);
    assert_eq!(code, 400);
    assert!(reason.contains("not valid UTF-8"), "{reason}");
    // Nothing to answer: the same faults in an ACK, in a response, without a Call-ID.
    let short = |start: &str| {
        edit(&[
            ("OPTIONS sip:bob@192.0.2.2 SIP/2.0", start),
            ("1 OPTIONS", "1 ACK"),
            ("Content-Length: 0", "Content-Length: 40"),
        ])
    };
    assert!(
        to_b(&mut net, short("ACK sip:bob@192.0.2.2 SIP/2.0"))
            .tx
            .is_empty()
    );
    assert!(to_b(&mut net, short("SIP/2.0 200 OK")).tx.is_empty());
    let no_call_id = edit(&[
        ("Call-ID: c1\r\n", ""),
        ("Content-Length: 0", "Content-Length: 40"),
    ]);
    assert!(to_b(&mut net, no_call_id).tx.is_empty());
    assert_eq!(net.ep(B).stats().parse_errors, 8);
    assert_eq!(net.ep(B).stats().stateless_responses, 5);
    assert_eq!(net.ep(B).transaction_count(), (0, 0));
}

/// A TCP message that broke the framing (no Content-Length, §18.3), handed in by the
/// driver before it closes the connection: answered 400 on that connection's peer when
/// its head can be read, and a response that broke it is not answered.
#[test]
fn unframed_stream_messages_are_answered_when_their_head_can_be_read() {
    let mut net = single(udp(B), 2);
    let head = "OPTIONS sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bKu1\r\nTo: <sip:bob@b>\r\nFrom: <sip:a@a>;tag=1\r\nCall-ID: u1\r\nCSeq: 1 OPTIONS\r\n\r\n";
    let peer = addr("192.0.2.1:40000");
    let hand_in = |net: &mut Net, text: &str| {
        let mut framer = sip_core::message::StreamFramer::new(Default::default());
        framer.push(text.as_bytes());
        let error = framer.next_frame().unwrap().unwrap_err();
        net.with(B, |ep, now| {
            ep.handle_input(
                now,
                Input::Unframed {
                    transport: Transport::Tcp,
                    from: peer,
                    to: addr(B),
                    bytes: framer.take_rejected().unwrap(),
                    error,
                },
            )
        });
        net.drain(B).tx
    };
    let tx = hand_in(&mut net, head);
    assert_eq!(tx.len(), 1);
    assert_eq!((tx[0].transport, tx[0].to), (Transport::Tcp, peer));
    let m = parse_unchecked(tx[0].bytes.clone(), &Default::default()).unwrap();
    let r = m.as_response().unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.reason().contains("Content-Length missing"),
        "{}",
        r.reason()
    );
    assert_eq!(r.message().call_id(), Some("u1"));
    let response = head.replace("OPTIONS sip:bob@192.0.2.2 SIP/2.0", "SIP/2.0 200 OK");
    assert!(hand_in(&mut net, &response).is_empty());
    assert_eq!(net.ep(B).stats().parse_errors, 2);
}

#[test]
fn stateless_answers() {
    let mut net = single(udp(B), 2);
    let base_req = "OPTIONS sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKs1\r\nMax-Forwards: 70\r\nTo: <sip:bob@b>\r\nFrom: <sip:a@a>;tag=1\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\r\n";
    // The base request with some of its text replaced, sent to B: what B sent back.
    let send = |net: &mut Net, edits: &[(&str, &str)]| {
        let text = edits
            .iter()
            .fold(base_req.to_owned(), |t, (a, b)| t.replace(a, b));
        to_b(net, text).tx
    };
    // Mismatched CSeq method: 400 with a reason that says so.
    let t = send(&mut net, &[("1 OPTIONS", "1 INVITE")]);
    let r = t[0].parsed();
    let r = r.as_response().unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.reason().contains("CSeq"), "{}", r.reason());
    // Missing Call-ID.
    let t = send(&mut net, &[("Call-ID: c1\r\n", "")]);
    let r = parse_unchecked(t[0].bytes.clone(), &Default::default()).unwrap();
    assert!(r.as_response().unwrap().reason().contains("Call-ID"));
    // Unsupported version: 505.
    let t = send(&mut net, &[(" SIP/2.0\r\nVia", " SIP/3.0\r\nVia")]);
    assert_eq!(t[0].status(), 505);
    // No Via at all: nothing can be sent.
    assert!(
        send(
            &mut net,
            &[("Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKs1\r\n", "")]
        )
        .is_empty()
    );
    // Garbage is counted, not answered.
    assert!(to_b(&mut net, "\u{1}\u{2}garbage").tx.is_empty());
    // Unknown URI scheme: 416; Require of an unknown extension: 420 with Unsupported.
    let t = send(
        &mut net,
        &[("sip:bob@192.0.2.2 SIP", "http://x SIP"), ("bKs1", "bKs2")],
    );
    assert_eq!(t[0].status(), 416);
    let t = send(
        &mut net,
        &[("CSeq", "Require: foo, bar\r\nCSeq"), ("bKs1", "bKs3")],
    );
    let r = t[0].parsed();
    assert_eq!(r.as_response().unwrap().status(), 420);
    assert_eq!(r.message().headers().get("Unsupported"), Some("foo, bar"));
    // CANCEL that matches nothing: 481.
    let t = send(&mut net, &[("OPTIONS", "CANCEL"), ("bKs1", "bKs4")]);
    assert_eq!(t[0].status(), 481);
    assert_eq!(net.ep(B).stats().parse_errors, 2);
    assert_eq!(net.ep(B).transaction_count(), (0, 0));
    // Max-Forwards 0 with the proxy policy: 483.
    let mut proxy = udp(B);
    proxy.max_forwards_policy = MaxForwardsPolicy::Reject;
    net.replace(B, proxy.clone(), 2);
    let t = send(
        &mut net,
        &[("Max-Forwards: 70", "Max-Forwards: 0"), ("bKs1", "bKs5")],
    );
    assert_eq!(t[0].status(), 483);
    // Over the transaction limit: 503 with Retry-After.
    proxy.max_transactions = 0;
    net.replace(B, proxy, 2);
    let t = send(&mut net, &[("bKs1", "bKs6")]);
    let r = t[0].parsed();
    assert_eq!(r.as_response().unwrap().status(), 503);
    assert_eq!(r.message().headers().get("Retry-After"), Some("5"));
    assert_eq!(net.ep(B).stats().overload_rejections, 1);
}

#[test]
fn timer_b_and_transport_errors_fail_the_client_transaction() {
    // Nobody listens at B.
    let mut net = single(udp(A), 1);
    let t0 = net.now();
    let tx = send_invite(&mut net);
    net.drain(A);
    let mut sends = vec![];
    let mut now = t0;
    while let Some(t) = net.with(A, |ep, _| ep.poll_timeout()) {
        now = t;
        net.advance_to(now);
        let d = net.drain(A);
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
    assert_eq!(net.ep(A).transaction_count(), (0, 0));

    let tx = send_options(&mut net);
    net.drain(A);
    // The driver learns the destination is unreachable (ICMP, say).
    net.with(A, |ep, now| {
        ep.handle_input(
            now,
            Input::TransportError {
                transport: Transport::Udp,
                destination: addr(B),
            },
        )
    });
    let d = net.drain(A);
    assert!(
        matches!(&d.ev[..], [Event::ClientTxFailed { tx: got, failure: Failure::TransportError }] if *got == tx)
    );
    assert_eq!(net.ep(A).transaction_count(), (0, 0));
}

#[test]
fn stray_and_misrouted_responses() {
    let mut net = single(udp(A), 1);
    let stray = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKgone\r\nTo: <sip:b@b>;tag=2\r\nFrom: <sip:a@a>;tag=1\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    net.inject(Transport::Udp, addr(B), addr(A), stray);
    net.run();
    assert!(matches!(
        &net.drain(A).ev[..],
        [Event::StrayResponse { .. }]
    ));
    let other = stray.replace("192.0.2.1:5060", "203.0.113.9:5060");
    net.inject(Transport::Udp, addr(B), addr(A), other);
    net.run();
    assert!(net.drain(A).ev.is_empty());
    assert_eq!(net.ep(A).stats().misrouted_responses, 1);
}

#[test]
fn invite_2xx_goes_to_the_tu_and_retransmissions_too() {
    let mut net = pair();
    let ctx = send_invite(&mut net);
    let t0 = net.now();
    let d = net.drain(A);
    net.run();
    let stx = incoming(&net.drain(B));
    let ok = net
        .ep(B)
        .response(stx, 200)
        .unwrap()
        .header("Contact", "<sip:bob@192.0.2.2>")
        .build()
        .unwrap();
    net.with(B, |ep, now| ep.respond(now, stx, ok.clone()))
        .unwrap();
    let db = net.drain(B);
    assert_eq!(db.tx.len(), 1);
    // RFC 6026 §8.5: an INVITE retransmission in Accepted is absorbed; the transaction
    // does not re-send the 2xx (that is the TU's job). All at once: at T1 B's dialog layer
    // would re-send the 2xx itself (§13.3.1.4).
    net.inject(Transport::Udp, addr(A), addr(B), d.tx[0].bytes.clone());
    net.run();
    let again = net.drain(B);
    assert!(again.tx.is_empty() && again.ev.is_empty(), "{again:?}");
    assert_eq!(net.ep(B).stats().absorbed_retransmissions, 1);
    // RFC 6026: the TU re-sends the 2xx through the Accepted transaction.
    net.with(B, |ep, now| ep.respond(now, stx, ok)).unwrap();
    let db2 = net.drain(B);
    assert_eq!(db2.tx.len(), 1);
    net.run();
    let da = net.drain(A);
    assert!(da.tx.is_empty(), "the transaction does not ACK a 2xx");
    let n = da.ev.iter().filter(|e| matches!(e, Event::Response { tx, response } if *tx == ctx && response.status() == 200)).count();
    assert_eq!(n, 2);
    // The dialog layer's ACK goes out through send_ack and reaches B's TU.
    let SipMessage::Response(resp) = db.tx[0].parsed() else {
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
    net.with(A, |ep, now| ep.send_ack(now, ack, udp_b()))
        .unwrap();
    net.run();
    let db = net.drain(B);
    // B's TU answered the call's INVITE through the transaction API: the dialog follows
    // it, so the ACK for the 2xx is the dialog's.
    assert!(
        matches!(&db.ev[..], [Event::AckReceived { .. }]),
        "{:?}",
        db.ev
    );
    // Timers L and M are 64·T1. (The network does not settle then: each confirmed dialog
    // keeps its lifetime guard's timer, 12 hours by default.)
    let counts = |net: &Net| (net.ep(A).transaction_count(), net.ep(B).transaction_count());
    net.advance_to(t0 + Duration::from_millis(31_999));
    assert_ne!(counts(&net), ((0, 0), (0, 0)));
    net.advance_to(t0 + Duration::from_secs(32));
    assert_eq!(counts(&net), ((0, 0), (0, 0)), "Timers L and M are 64·T1");
    let guard = net.with(B, |ep, _| ep.poll_timeout());
    assert!(guard.is_some_and(|t| t - t0 >= Duration::from_secs(12 * 3600)));
}

#[test]
fn same_seed_same_bytes() {
    let run = |seed| {
        let mut net = Net::empty();
        net.add(udp(A), seed);
        net.add(udp(B), seed + 1);
        send_invite(&mut net);
        let d = net.drain(A);
        net.run();
        let stx = incoming(&net.drain(B));
        net.with(B, |ep, now| ep.respond_with(now, stx, 603))
            .unwrap();
        let db = net.drain(B);
        net.run();
        let da = net.drain(A);
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
fn a_lost_connection_falls_back_to_the_sent_by_port() {
    // A final non-2xx (Completed) and a 2xx (Accepted, RFC 6026) alike: the transaction
    // re-sends its response to the received address and sent-by port (§18.2.2).
    for (status, branch) in [(486, "z9hG4bKfb1"), (200, "z9hG4bKfb2")] {
        let b_addr = addr(B);
        let mut net = single(EndpointConfig::with_local(Transport::Tcp, b_addr), 2);
        // The caller listens at its sent-by port. The connection its request came in on is
        // gone: nobody is at its far end, so the response sent over it fails.
        let sent_by = addr("192.0.2.1:5070");
        net.sim
            .add_node(sent_by, ScriptNode::new(net.sim.base(), sent_by));
        let req = format!(
            "INVITE sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.1:5070;branch={branch}\r\nMax-Forwards: 70\r\nTo: <sip:bob@b>\r\nFrom: <sip:a@a>;tag=1\r\nCall-ID: fb\r\nCSeq: 1 INVITE\r\nContact: <sip:a@192.0.2.1:5070;transport=tcp>\r\nContent-Length: 0\r\n\r\n"
        );
        let peer = addr("192.0.2.1:40123");
        net.inject(Transport::Tcp, peer, b_addr, req);
        net.run();
        let stx = incoming(&net.drain(B));
        net.with(B, |ep, now| ep.respond_with(now, stx, status))
            .unwrap();
        let d = net.drain(B);
        assert_eq!(
            d.tx[0].to, peer,
            "{status}: on the connection the request came in on"
        );
        // The transport error reaches B.
        net.run();
        let d = net.drain(B);
        assert_eq!(d.tx.len(), 1, "{status}");
        assert_eq!(
            d.tx[0].to, sent_by,
            "{status}: §18.2.2: received address, sent-by port"
        );
        assert_eq!(d.tx[0].status(), status);
        assert!(d.ev.is_empty());
    }
}

#[test]
fn methods_the_tu_does_not_handle_get_405_with_allow() {
    let mut cfg = udp(B);
    cfg.allowed_methods = Some(vec![
        Method::Invite,
        Method::Ack,
        Method::Bye,
        Method::Cancel,
        Method::Options,
    ]);
    let mut net = single(cfg, 2);
    let req = "SUBSCRIBE sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKm405\r\nMax-Forwards: 70\r\nTo: <sip:bob@b>\r\nFrom: <sip:a@a>;tag=1\r\nCall-ID: m405\r\nCSeq: 1 SUBSCRIBE\r\nEvent: presence\r\nContent-Length: 0\r\n\r\n";
    let d = to_b(&mut net, req);
    let r = d.tx[0].parsed();
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
    let mut net = single(udp(B), 2);
    let invite = "INVITE sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060\r\nMax-Forwards: 70\r\nTo: <sip:bob@b>\r\nFrom: <sip:a@a>;tag=old\r\nCall-ID: c2543\r\nCSeq: 4 INVITE\r\nContact: <sip:a@192.0.2.1>\r\nContent-Length: 0\r\n\r\n";
    let feed = |net: &mut Net, text: &str| to_b(net, text.to_owned());
    let stx = incoming(&feed(&mut net, invite));
    net.with(B, |ep, now| ep.respond_with(now, stx, 486))
        .unwrap();
    let d = net.drain(B);
    let to = d.tx[0]
        .parsed()
        .message()
        .headers()
        .get("To")
        .unwrap()
        .to_owned();
    // The retransmission gets the 486 again and no new event.
    let d = feed(&mut net, invite);
    assert!(d.ev.is_empty());
    assert_eq!(d.tx[0].status(), 486);
    // An ACK with another To tag is not this transaction's.
    let ack = |to: &str| {
        format!(
            "ACK sip:bob@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060\r\nMax-Forwards: 70\r\nTo: {to}\r\nFrom: <sip:a@a>;tag=old\r\nCall-ID: c2543\r\nCSeq: 4 ACK\r\nContent-Length: 0\r\n\r\n"
        )
    };
    feed(&mut net, &ack("<sip:bob@b>;tag=other"));
    assert_eq!(
        net.ep(B).server_invite_state(stx),
        Some(ServerInviteState::Completed)
    );
    // The right one confirms it.
    let d = feed(&mut net, &ack(&to));
    assert!(d.ev.is_empty());
    assert_eq!(
        net.ep(B).server_invite_state(stx),
        Some(ServerInviteState::Confirmed)
    );
    // Another From tag is another transaction.
    let d = feed(&mut net, &invite.replace("tag=old", "tag=new"));
    assert_eq!(d.ev.len(), 1);
}

/// A UAS whose caller folded its From line sends the BYE with that value on one line.
#[test]
fn an_in_dialog_request_carries_folded_peer_values_on_one_line() {
    let mut net = single(udp(B), 2);
    let invite = "INVITE sip:bob@192.0.2.2 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKfold1\r\n\
        Max-Forwards: 70\r\n\
        From: \"Alice\"\r\n <sip:alice@192.0.2.1>;tag=a1\r\n\
        To: <sip:bob@192.0.2.2>\r\n\
        Call-ID: fold-1@192.0.2.1\r\n\
        CSeq: 1 INVITE\r\n\
        Contact: <sip:alice@192.0.2.1:5060>\r\n\
        Content-Length: 0\r\n\r\n";
    let d = to_b(&mut net, invite)
        .ev
        .iter()
        .find_map(|e| match e {
            Event::IncomingCall { dialog, .. } => Some(*dialog),
            _ => None,
        })
        .expect("incoming call");
    net.with(B, |ep, now| {
        ep.dialog(d).and_then(|mut d| d.answer(now, 200, None))
    })
    .unwrap();
    net.drain(B);
    let ack = "ACK sip:bob@192.0.2.2 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKfold2\r\n\
        Max-Forwards: 70\r\n\
        From: \"Alice\" <sip:alice@192.0.2.1>;tag=a1\r\n\
        To: <sip:bob@192.0.2.2>;tag=TAG\r\n\
        Call-ID: fold-1@192.0.2.1\r\n\
        CSeq: 1 ACK\r\n\
        Content-Length: 0\r\n\r\n"
        .replace("TAG", &net.ep(B).dialog_info(d).unwrap().local_tag);
    to_b(&mut net, ack);
    net.with(B, |ep, now| ep.dialog(d).and_then(|mut d| d.hangup(now)))
        .unwrap();
    let out = net.drain(B);
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
        let mut c = udp(A);
        c.local_addrs[0].advertised = Some(advertised.into());
        let mut net = single(c, 1);
        send_options(&mut net);
        let SipMessage::Request(sent) = net.drain(A).tx[0].parsed() else {
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
    let mut net = single(udp(A), 1);
    let no_call_id = Request::builder(Method::Options, "sip:bob@192.0.2.2")
        .max_forwards(70)
        .from("<sip:a@x>", Some("1"))
        .to("<sip:b@y>", None)
        .cseq(1)
        .build()
        .unwrap();
    assert!(matches!(
        net.with(A, |ep, now| ep.send_request(now, no_call_id, udp_b())),
        Err(EndpointError::InvalidMessage(_))
    ));
    assert!(net.drain(A).tx.is_empty(), "nothing sent");
    let no_via = Request::builder(Method::Options, "sip:bob@192.0.2.2")
        .max_forwards(70)
        .from("<sip:a@x>", Some("1"))
        .to("<sip:b@y>", None)
        .call_id("c1")
        .cseq(1)
        .build()
        .unwrap();
    assert!(no_via.via().is_none());
    net.with(A, |ep, now| ep.send_request(now, no_via, udp_b()))
        .unwrap();
    let SipMessage::Request(sent) = net.drain(A).tx[0].parsed() else {
        panic!("a request")
    };
    assert!(sent.via().unwrap().has_rfc3261_branch());
    assert_eq!(
        sent.headers().iter().next().map(|r| r.known),
        Some(HeaderName::Via)
    );
}

#[test]
fn folded_rows_are_copied_into_responses_by_their_values() {
    // A row continued on further lines is not `Name: value CRLF` any more, whatever its
    // first line looked like: the skeleton rewrites it from its value (trailing blanks and
    // blank continuation lines dropped), and the Via stamp takes the general way.
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
            let mut net = single(udp(B), 2);
            let d = to_b(&mut net, raw);
            let Event::IncomingRequest { tx, request } = &d.ev[0] else {
                panic!("{i}: {:?}", d.ev)
            };
            let from_value = request.headers().get("From").unwrap().to_owned();
            net.with(B, |ep, now| ep.respond_with(now, *tx, 200))
                .unwrap();
            let d = net.drain(B);
            let r = d.tx[0].parsed();
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

/// The endpoint parses what it receives with room for its `received`/`rport` stamp
/// (§18.2.1, RFC 3581), so stamping does not reallocate the header text.
#[test]
fn the_endpoint_parses_with_room_for_received() {
    let ep = Endpoint::new(EndpointConfig::default(), 1);
    assert_eq!(
        ep.config().parse.received_headroom,
        sip_core::message::ParseOptions::RECEIVED_HEADROOM
    );
}
