//! SIP over TLS between two mio drivers on loopback (RFC 3261 §26.2, RFC 5922), rustls
//! driven inside the loop, certificates made at test time: an OPTIONS and a call to
//! `sips:` URIs, and the three ways a server certificate is refused (wrong name, expired,
//! untrusted CA) each failing the request at once with a typed TLS failure while the
//! server never receives a message.

mod common;

#[path = "../../.ci/tls/pki.rs"]
mod pki;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Harness, hangup, invite, now, send};
use pki::{Kind, Pki};
use sip_core::dialog::{DialogState, EndReason};
use sip_core::endpoint::{Event as SipEvent, Failure, InviteOptions, Target};
use sip_core::message::Method;
use sip_core::transport::{TlsServerName, Transport};
use sip_mio::{DriverConfig, Event, Listen, TlsConfig, TlsFailure, TransportFailure, TrustAnchors};

/// A node serving TLS with `leaf` (running the PBX app: it answers calls).
fn server(h: &mut Harness, pki: &Pki, leaf: &pki::Leaf) -> (usize, SocketAddr) {
    let mut c = DriverConfig::new(vec![Listen::tls("127.0.0.1:0".parse().unwrap())]).seed(2);
    c.tls = Some(
        TlsConfig::client(TrustAnchors::PemFile(pki.ca.clone()))
            .unwrap()
            .with_server_pem(&leaf.cert, &leaf.key)
            .unwrap(),
    );
    let n = h.add(c, true);
    let addr = h.driver(n).local_addr(Transport::Tls).unwrap();
    (n, addr)
}

/// A node with a UDP socket only, trusting the test CA for its TLS connections.
fn client(h: &mut Harness, pki: &Pki, seed: u64) -> usize {
    let mut c = DriverConfig::new(vec![Listen::udp("127.0.0.1:0".parse().unwrap())]).seed(seed);
    c.tls = Some(TlsConfig::client(TrustAnchors::PemFile(pki.ca.clone())).unwrap());
    h.add(c, false)
}

/// Sends an OPTIONS from `n` to `target` and returns its status, or the TLS failure
/// reported for it.
fn options(h: &mut Harness, n: usize, target: Target) -> Result<u16, TransportFailure> {
    let host = target
        .server_name
        .as_ref()
        .map_or_else(|| target.addr.ip().to_string(), |s| s.to_string());
    let uri = format!("sips:bob@{host}:{}", target.addr.port());
    let t = now();
    let req = h.driver(n).with_endpoint(t, |ep| {
        ep.request(
            Method::Options,
            &uri,
            "<sips:alice@client.invalid>",
            "<sips:bob@server.invalid>",
        )
        .build()
        .unwrap()
    });
    let tx = send(h, n, req, target);
    let started = now();
    let mut outcome = None;
    assert!(h.run_until(Duration::from_secs(10), |h| {
        outcome = h.nodes[n].events.iter().find_map(|e| match e {
            Event::Sip(SipEvent::Response { tx: t, response }) if *t == tx => {
                Some(Ok(response.status()))
            }
            Event::Sip(SipEvent::ClientTxFailed { tx: t, failure }) if *t == tx => {
                assert_eq!(*failure, Failure::TransportError);
                let tls = h.nodes[n].events.iter().find_map(|e| match e {
                    Event::TransportError { failure, .. } => Some(failure.clone()),
                    _ => None,
                });
                Some(Err(tls.expect("the driver says why")))
            }
            _ => None,
        });
        outcome.is_some()
    }));
    // A refused certificate fails at once, not at Timer F (32 s).
    assert!(started.elapsed() < Duration::from_secs(5));
    outcome.unwrap()
}

#[test]
fn options_and_a_call_over_tls_to_an_ip_literal_and_to_a_domain() {
    let pki = Pki::new("mio-ok");
    let leaf = pki.leaf("server", &["sip.test", "127.0.0.1"], Kind::Good);
    let mut h = Harness::new();
    let (bob, addr) = server(&mut h, &pki, &leaf);
    let alice = client(&mut h, &pki, 1);
    // An IP literal: checked against the IP subjectAltName.
    let by_ip = Target::new(Transport::Tls, addr);
    assert_eq!(options(&mut h, alice, by_ip.clone()), Ok(200));
    assert_eq!(options(&mut h, alice, by_ip), Ok(200));
    let s = h.driver(alice).stats();
    assert_eq!((s.tls_handshakes, s.connections_opened), (1, 1), "{s:?}");

    // A domain, from a node with no connection yet: checked against the DNS name.
    let carol = client(&mut h, &pki, 3);
    let named =
        Target::new(Transport::Tls, addr).with_server_name(TlsServerName::new("sip.test").unwrap());
    let opts = InviteOptions::new(
        format!("sips:bob@sip.test:{}", addr.port()),
        "<sips:carol@client.invalid>",
        "<sips:bob@sip.test>",
    )
    .target(named);
    let call = invite(&mut h, carol, opts);
    assert!(h.run_until(Duration::from_secs(10), |h| h.has_state(
        carol,
        call,
        DialogState::Confirmed
    )));
    hangup(&mut h, carol, call);
    assert!(h.run_until(Duration::from_secs(10), |h| {
        h.incoming_call(bob)
            .is_some_and(|d| h.has_state(bob, d, DialogState::Terminated(EndReason::RemoteBye)))
    }));
    let (_, invite) = h.incoming_calls(bob)[0];
    assert!(
        invite
            .headers()
            .get("Via")
            .unwrap()
            .starts_with("SIP/2.0/TLS ")
    );
    let s = h.driver(carol).stats();
    assert_eq!((s.tls_handshakes, s.connections_opened), (1, 1), "{s:?}");
    assert_eq!(h.driver(bob).stats().tls_handshakes, 2);
}

/// Checks that a server that refused to be trusted received nothing: no message, no
/// completed handshake.
fn saw_nothing(h: &mut Harness, server: usize) {
    let s = h.driver(server).stats();
    assert_eq!(s.stream_messages_in, 0, "{s:?}");
    assert_eq!(s.tls_handshakes, 0, "{s:?}");
    assert!(s.connections_accepted >= 1, "the client did connect");
}

#[test]
fn a_certificate_for_another_name_fails_with_name_mismatch() {
    let pki = Pki::new("mio-name");
    let leaf = pki.leaf("other", &["other.test"], Kind::Good);
    let mut h = Harness::new();
    let (bob, addr) = server(&mut h, &pki, &leaf);
    let alice = client(&mut h, &pki, 1);
    let named =
        Target::new(Transport::Tls, addr).with_server_name(TlsServerName::new("sip.test").unwrap());
    assert_eq!(
        options(&mut h, alice, named),
        Err(TransportFailure::Tls(TlsFailure::NameMismatch {
            expected: "sip.test".into()
        }))
    );
    saw_nothing(&mut h, bob);
    assert_eq!(h.driver(alice).stats().tls_handshake_failures, 1);
}

#[test]
fn an_expired_certificate_fails_with_expired() {
    let pki = Pki::new("mio-expired");
    let leaf = pki.leaf("expired", &["127.0.0.1"], Kind::Expired);
    let mut h = Harness::new();
    let (bob, addr) = server(&mut h, &pki, &leaf);
    let alice = client(&mut h, &pki, 1);
    assert_eq!(
        options(&mut h, alice, Target::new(Transport::Tls, addr)),
        Err(TransportFailure::Tls(TlsFailure::Expired))
    );
    saw_nothing(&mut h, bob);
}

#[test]
fn a_certificate_from_an_untrusted_ca_fails_with_untrusted_issuer() {
    let pki = Pki::new("mio-untrusted");
    let leaf = pki.leaf("rogue", &["127.0.0.1"], Kind::Untrusted);
    let mut h = Harness::new();
    let (bob, addr) = server(&mut h, &pki, &leaf);
    let alice = client(&mut h, &pki, 1);
    assert_eq!(
        options(&mut h, alice, Target::new(Transport::Tls, addr)),
        Err(TransportFailure::Tls(TlsFailure::UntrustedIssuer))
    );
    saw_nothing(&mut h, bob);
}

#[test]
fn a_peer_that_never_completes_the_handshake_is_closed_at_the_deadline() {
    let pki = Pki::new("mio-deadline");
    let leaf = pki.leaf("server", &["127.0.0.1"], Kind::Good);
    let mut h = Harness::new();
    let mut c = DriverConfig::new(vec![Listen::tls("127.0.0.1:0".parse().unwrap())]).seed(2);
    c.tls = Some(TlsConfig::server(&leaf.cert, &leaf.key).unwrap());
    c.tcp_limits.handshake_deadline = Duration::from_millis(300);
    let bob = h.add(c, false);
    let addr = h.driver(bob).local_addr(Transport::Tls).unwrap();
    let _idle = std::net::TcpStream::connect(addr).unwrap();
    assert!(h.run_until(
        Duration::from_secs(5),
        |h| h.driver(bob).stats().tls_handshake_timeouts == 1
    ));
    assert_eq!(h.driver(bob).connection_count(), 0);
}

#[test]
fn the_per_source_limit_applies_to_tls_connections() {
    let pki = Pki::new("mio-limit");
    let leaf = pki.leaf("server", &["127.0.0.1"], Kind::Good);
    let mut h = Harness::new();
    let mut c = DriverConfig::new(vec![Listen::tls("127.0.0.1:0".parse().unwrap())]).seed(2);
    c.tls = Some(TlsConfig::server(&leaf.cert, &leaf.key).unwrap());
    c.tcp_limits.max_connections_per_source = 1;
    let bob = h.add(c, false);
    let addr = h.driver(bob).local_addr(Transport::Tls).unwrap();
    let _first = std::net::TcpStream::connect(addr).unwrap();
    let _second = std::net::TcpStream::connect(addr).unwrap();
    assert!(h.run_until(
        Duration::from_secs(5),
        |h| h.driver(bob).stats().source_limit_refused == 1
    ));
    assert_eq!(h.driver(bob).connection_count(), 1);
}
