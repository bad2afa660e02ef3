//! The tokio API against a real registrar and proxy (Kamailio, requiring digest auth):
//! `ua.register(..)` registers and re-registers, a call goes through the proxy (407
//! answered), and the registration is removed — over UDP, and over TLS with Kamailio's
//! certificate checked against the name the user agents expect (RFC 5922). Skipped with a
//! message when `kamailio` (or its TLS module) is not installed; a failure under `CI=true`.

#[path = "../../.ci/kamailio/launcher.rs"]
mod launcher;

#[path = "../../.ci/tls/pki.rs"]
mod pki;

use launcher::{PASSWORD, free_port, kamailio_binary, start, start_tls};
use pki::{Kind, Pki};
use sip_tokio::{
    RegisterOptions, Target, TlsConfig, TlsServerName, Transport, TrustAnchors, UserAgent,
};
use std::net::SocketAddr;
use std::time::Duration;

#[tokio::test]
async fn register_call_and_unregister_through_kamailio() {
    let Some(bin) = kamailio_binary() else { return };
    let port = free_port();
    let _k = start(&bin, port);
    let proxy = Target::new(Transport::Udp, format!("127.0.0.1:{port}").parse().unwrap());
    let ua = |user: &'static str| {
        UserAgent::builder()
            .udp("127.0.0.1:0")
            .identity(format!("<sip:{user}@127.0.0.1:{port}>"))
            .credentials(user, PASSWORD)
            .build()
    };
    let (alice, bob) = (ua("alice").await.unwrap(), ua("bob").await.unwrap());
    let reg = |user: &str, expires| {
        let mut o = RegisterOptions::new(
            format!("sip:127.0.0.1:{port}"),
            format!("<sip:{user}@127.0.0.1:{port}>"),
            expires,
        );
        o.target = Some(proxy.clone());
        o
    };
    let run = async {
        // Kamailio may still be starting: the REGISTER is retransmitted until it answers.
        let rb = bob.register(reg("bob", 60)).await.unwrap();
        let ra = alice.register(reg("alice", 4)).await.unwrap();
        assert_eq!(rb.registered().await.unwrap(), 60);
        assert_eq!(ra.registered().await.unwrap(), 4);
        ra.refreshed(2).await; // the core re-registers at half time

        let mut incoming = bob.incoming();
        let answer = tokio::spawn(async move {
            let inc = incoming.next().await.unwrap();
            let call = inc.accept(None).await.unwrap();
            call.ended().await
        });
        let call = alice
            .call(&format!("sip:bob@127.0.0.1:{port}"))
            .target(proxy.clone())
            .await
            .unwrap();
        call.answered().await.unwrap();
        call.hangup().await.unwrap();
        assert_eq!(answer.await.unwrap(), sip_tokio::EndReason::RemoteBye);

        ra.unregister().await.unwrap();
        rb.unregister().await.unwrap();
    };
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("bounded");
}

/// A free TCP port on loopback.
fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits (bounded) until something accepts TCP connections at `addr`: Kamailio is up.
async fn wait_listening(addr: SocketAddr) {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("nothing listens at {addr}");
}

#[tokio::test]
async fn register_and_call_over_tls_through_kamailio() {
    let Some(bin) = kamailio_binary() else { return };
    let pki = Pki::new("kamailio-tokio");
    let kam = pki.leaf("kamailio", &["kamailio.test"], Kind::Good);
    let ua_leaf = pki.leaf("ua", &["127.0.0.1"], Kind::Good);
    let (port, tls_port) = (free_port(), free_tcp_port());
    let Some(_k) = start_tls(&bin, port, tls_port, &kam.cert, &kam.key) else {
        return;
    };
    let kamailio: SocketAddr = format!("127.0.0.1:{tls_port}").parse().unwrap();
    // Kamailio's certificate names kamailio.test only: the connections check that name
    // (and send it as SNI), not the address.
    let proxy = Target::new(Transport::Tls, kamailio)
        .with_server_name(TlsServerName::new("kamailio.test").unwrap());
    let ua = |user: &'static str| {
        let tls = TlsConfig::client(TrustAnchors::PemFile(pki.ca.clone()))
            .unwrap()
            .with_server_pem(&ua_leaf.cert, &ua_leaf.key)
            .unwrap();
        UserAgent::builder()
            .tls("127.0.0.1:0")
            .tls_config(tls)
            .identity(format!("<sip:{user}@127.0.0.1:{port}>"))
            .credentials(user, PASSWORD)
            .build()
    };
    let run = async {
        wait_listening(kamailio).await;
        let (alice, bob) = (ua("alice").await.unwrap(), ua("bob").await.unwrap());
        let reg = |user: &str| {
            let mut o = RegisterOptions::new(
                format!("sips:127.0.0.1:{tls_port}"),
                format!("<sip:{user}@127.0.0.1:{port}>"),
                60,
            );
            o.target = Some(proxy.clone());
            o
        };
        // The REGISTERs (401 answered) go over TLS; the Contacts are sips: URIs of the
        // user agents' TLS listeners, where Kamailio sends Bob's INVITE.
        let rb = bob.register(reg("bob")).await.unwrap();
        let ra = alice.register(reg("alice")).await.unwrap();
        assert_eq!(rb.registered().await.unwrap(), 60);
        assert_eq!(ra.registered().await.unwrap(), 60);

        let mut incoming = bob.incoming();
        let answer = tokio::spawn(async move {
            let inc = incoming.next().await.unwrap();
            let via = inc.request().headers().get("Via").unwrap().to_owned();
            let call = inc.accept(None).await.unwrap();
            (via, call.ended().await)
        });
        let call = alice
            .call(&format!("sips:bob@127.0.0.1:{tls_port}"))
            .target(proxy.clone())
            .await
            .unwrap();
        call.answered().await.unwrap();
        call.hangup().await.unwrap();
        let (via, ended) = answer.await.unwrap();
        assert!(via.starts_with("SIP/2.0/TLS 127.0.0.1:"), "{via}");
        assert_eq!(ended, sip_tokio::EndReason::RemoteBye);

        ra.unregister().await.unwrap();
        rb.unregister().await.unwrap();
        // Alice's requests all went over one connection (REGISTER, INVITE, ACK, BYE, the
        // re-REGISTER that unregisters).
        let s = alice.stats().await.unwrap().transport;
        assert_eq!(s.connections_opened, 1, "{s:?}");
        assert_eq!(s.tls_handshake_failures, 0);
        alice.shutdown().await;
        bob.shutdown().await;
    };
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("bounded");
}
