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
