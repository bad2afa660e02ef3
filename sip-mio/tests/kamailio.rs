//! Interop with a real registrar and proxy: Kamailio (Debian package `kamailio`), started
//! on loopback with `.ci/kamailio/kamailio.cfg.in`, requiring digest authentication.
//! Bob registers and answers calls; Alice registers, re-registers, calls Bob through the
//! proxy (answering its 407), hangs up, and both unregister — over UDP, and over TLS with
//! Kamailio's TLS module, its certificate checked by name (RFC 5922). Skipped with a
//! message when `kamailio` (or its TLS module) is not installed; a failure under `CI=true`.

mod common;

use std::time::Duration;

use common::{Harness, hangup, invite, now};
use sip_core::auth::StaticCredentials;
use sip_core::dialog::{DialogState, EndReason};
use sip_core::endpoint::{
    Credentials, Event as SipEvent, InviteOptions, RegisterOptions, RegistrationState, Target,
};
use sip_core::transport::Transport;
use sip_mio::{DriverConfig, Event, Listen};

#[path = "../../.ci/kamailio/launcher.rs"]
mod launcher;
use launcher::{PASSWORD, free_port, kamailio_binary, start, start_tls};

#[path = "../../.ci/tls/pki.rs"]
mod pki;
use pki::{Kind, Pki};

fn registered(h: &Harness, n: usize) -> usize {
    h.nodes[n]
        .events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::Sip(SipEvent::Registration {
                    state: RegistrationState::Registered { .. },
                    ..
                })
            )
        })
        .count()
}

fn unregistered(h: &Harness, n: usize) -> bool {
    h.nodes[n].events.iter().any(|e| {
        matches!(
            e,
            Event::Sip(SipEvent::Registration {
                state: RegistrationState::Unregistered,
                ..
            })
        )
    })
}

#[test]
fn register_reregister_call_and_unregister_through_kamailio() {
    let Some(bin) = kamailio_binary() else { return };
    let port = free_port();
    let _k = start(&bin, port);
    let proxy = format!("127.0.0.1:{port}").parse().unwrap();
    let target = Target::new(Transport::Udp, proxy);

    let mut h = Harness::new();
    let node = |user: &str, seed| {
        let mut c = DriverConfig::new(vec![Listen::udp("127.0.0.1:0".parse().unwrap())]).seed(seed);
        c.endpoint.credentials = Some(Credentials::new(StaticCredentials::any(user, PASSWORD)));
        c
    };
    let alice = h.add(node("alice", 1), false);
    let bob = h.add(node("bob", 2), true);

    // Kamailio needs a moment to bind: register until it answers.
    let t = now();
    let reg = |user: &str, expires| {
        let mut o = RegisterOptions::new(
            format!("sip:127.0.0.1:{port}"),
            format!("<sip:{user}@127.0.0.1:{port}>"),
            expires,
        );
        o.target = Some(target.clone());
        o
    };
    let bob_reg = h
        .driver(bob)
        .with_endpoint(t, |ep| ep.register(t, reg("bob", 60)))
        .unwrap();
    // Alice asks for 4 s: the core refreshes at half time, so a re-REGISTER comes at ~2 s.
    let alice_reg = h
        .driver(alice)
        .with_endpoint(t, |ep| ep.register(t, reg("alice", 4)))
        .unwrap();
    assert!(
        h.run_until(Duration::from_secs(10), |h| registered(h, bob) >= 1
            && registered(h, alice) >= 2),
        "registrations: {:?}",
        h.nodes[alice].events
    );

    // Alice calls Bob through the proxy; the INVITE is challenged with 407 and re-sent.
    let uri = format!("sip:bob@127.0.0.1:{port}");
    let opts = InviteOptions::new(uri, format!("<sip:alice@127.0.0.1:{port}>"), format!("<sip:bob@127.0.0.1:{port}>"))
        .body("application/sdp", &b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n"[..])
        .target(target);
    let call = invite(&mut h, alice, opts);
    assert!(
        h.run_until(Duration::from_secs(10), |h| h.has_state(
            alice,
            call,
            DialogState::Confirmed
        )),
        "call: {:?}",
        h.nodes[alice].events
    );
    let info = h.driver(alice).endpoint().dialog_info(call).unwrap();
    assert!(
        !info.route_set.is_empty(),
        "Kamailio record-routes the call"
    );
    hangup(&mut h, alice, call);
    assert!(h.run_until(Duration::from_secs(10), |h| {
        let b = h.incoming_call(bob);
        b.is_some_and(|d| h.has_state(bob, d, DialogState::Terminated(EndReason::RemoteBye)))
    }));

    let t = now();
    h.driver(alice)
        .with_endpoint(t, |ep| ep.unregister(t, alice_reg))
        .unwrap();
    h.driver(bob)
        .with_endpoint(t, |ep| ep.unregister(t, bob_reg))
        .unwrap();
    assert!(
        h.run_until(Duration::from_secs(10), |h| unregistered(h, alice)
            && unregistered(h, bob))
    );
}

#[test]
fn register_and_call_over_tls_through_kamailio() {
    let Some(bin) = kamailio_binary() else { return };
    let pki = Pki::new("kamailio-mio");
    let kam = pki.leaf("kamailio", &["kamailio.test"], Kind::Good);
    let ua_leaf = pki.leaf("ua", &["127.0.0.1"], Kind::Good);
    let port = free_port();
    let tls_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let Some(_k) = start_tls(&bin, port, tls_port, &kam.cert, &kam.key) else {
        return;
    };
    let kamailio: std::net::SocketAddr = format!("127.0.0.1:{tls_port}").parse().unwrap();
    // Kamailio is up once its TLS port accepts (bounded).
    let up = (0..100).any(|_| {
        std::net::TcpStream::connect(kamailio).is_ok() || {
            std::thread::sleep(Duration::from_millis(100));
            false
        }
    });
    assert!(up, "kamailio does not listen on {kamailio}");
    // Kamailio's certificate names kamailio.test only: that name is checked and sent as SNI.
    let target = Target::new(Transport::Tls, kamailio)
        .with_server_name(sip_core::transport::TlsServerName::new("kamailio.test").unwrap());
    let mut h = Harness::new();
    let node = |user: &str, seed| {
        let mut c = DriverConfig::new(vec![Listen::tls("127.0.0.1:0".parse().unwrap())]).seed(seed);
        c.endpoint.credentials = Some(Credentials::new(StaticCredentials::any(user, PASSWORD)));
        c.tls = Some(
            sip_mio::TlsConfig::client(sip_mio::TrustAnchors::PemFile(pki.ca.clone()))
                .unwrap()
                .with_server_pem(&ua_leaf.cert, &ua_leaf.key)
                .unwrap(),
        );
        c
    };
    let alice = h.add(node("alice", 1), false);
    let bob = h.add(node("bob", 2), true);
    let t = now();
    let reg = |user: &str| {
        let mut o = RegisterOptions::new(
            format!("sips:127.0.0.1:{tls_port}"),
            format!("<sip:{user}@127.0.0.1:{port}>"),
            60,
        );
        o.target = Some(target.clone());
        o
    };
    let bob_reg = h
        .driver(bob)
        .with_endpoint(t, |ep| ep.register(t, reg("bob")))
        .unwrap();
    let alice_reg = h
        .driver(alice)
        .with_endpoint(t, |ep| ep.register(t, reg("alice")))
        .unwrap();
    assert!(
        h.run_until(Duration::from_secs(10), |h| registered(h, bob) >= 1
            && registered(h, alice) >= 1),
        "registrations: {:?}",
        h.nodes[alice].events
    );

    let uri = format!("sips:bob@127.0.0.1:{tls_port}");
    let opts = InviteOptions::new(uri, format!("<sip:alice@127.0.0.1:{port}>"), format!("<sip:bob@127.0.0.1:{port}>"))
        .body("application/sdp", &b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n"[..])
        .target(target.clone());
    let call = invite(&mut h, alice, opts);
    assert!(
        h.run_until(Duration::from_secs(10), |h| h.has_state(
            alice,
            call,
            DialogState::Confirmed
        )),
        "call: {:?}",
        h.nodes[alice].events
    );
    let (_, invite) = h.incoming_calls(bob)[0];
    let via = invite.headers().get("Via").unwrap().to_owned();
    assert!(via.starts_with("SIP/2.0/TLS 127.0.0.1:"), "{via}");
    hangup(&mut h, alice, call);
    assert!(h.run_until(Duration::from_secs(10), |h| {
        let b = h.incoming_call(bob);
        b.is_some_and(|d| h.has_state(bob, d, DialogState::Terminated(EndReason::RemoteBye)))
    }));

    let t = now();
    h.driver(alice)
        .with_endpoint(t, |ep| ep.unregister(t, alice_reg))
        .unwrap();
    h.driver(bob)
        .with_endpoint(t, |ep| ep.unregister(t, bob_reg))
        .unwrap();
    assert!(
        h.run_until(Duration::from_secs(10), |h| unregistered(h, alice)
            && unregistered(h, bob))
    );
    // Alice's requests all went over one connection, checked once.
    let s = h.driver(alice).stats();
    assert_eq!((s.connections_opened, s.tls_handshakes), (1, 1), "{s:?}");
}
