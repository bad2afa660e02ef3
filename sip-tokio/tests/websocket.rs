//! The tokio user agent as a SIP-over-WebSocket client (RFC 7118) against the `uas` PBX
//! serving WS over loopback: it connects to `ws://host:port/` for a `;transport=ws`
//! target, masks its frames (the server refuses unmasked ones), writes a random
//! `.invalid` Via host and a `;transport=ws` Contact, registers with digest credentials,
//! places a call and hangs up, all over the one connection.

use std::time::Duration;

#[allow(dead_code)] // the example's API, not all of it used here
#[path = "../examples/uas/tokio_pbx.rs"]
mod app;

#[path = "../../.ci/tls/pki.rs"]
mod pki;

use app::{Uas, UasConfig};
use pki::{Kind, Pki};
use sip_tokio::{RegisterOptions, Target, TlsConfig, Transport, TrustAnchors, UserAgent};

const LIMIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn registers_and_calls_over_websocket() {
    let run = async {
        let mut config = UasConfig::new("127.0.0.1:0".parse().unwrap());
        config.transport = Transport::Ws;
        config.seed = Some(7118);
        config.registrar = true;
        config.auth = vec![("alice".into(), "s3cret".into())];
        let uas = Uas::start(config).await.unwrap();
        let addr = uas.local_addr();

        let ua = UserAgent::builder()
            .udp("127.0.0.1:0")
            .identity(format!("<sip:alice@{addr}>"))
            .credentials("alice", "s3cret")
            .seed(5)
            .build()
            .await
            .unwrap();
        let target = Target::new(Transport::Ws, addr);
        let aor = format!("<sip:alice@{addr}>");
        let mut opts = RegisterOptions::new(format!("sip:{addr};transport=ws"), aor.as_str(), 300);
        opts.target = Some(target.clone());
        let reg = ua.register(opts).await.unwrap();
        assert_eq!(reg.registered().await.unwrap(), 300);
        let bound = uas.bindings(&aor);
        assert_eq!(bound.len(), 1);
        // RFC 7118 §5.2: the client's own host is a `.invalid` one, reached only over
        // this connection.
        assert!(bound[0].uri.contains(".invalid"), "{}", bound[0].uri);
        assert!(bound[0].uri.contains(";transport=ws"), "{}", bound[0].uri);

        let call = ua
            .call(&format!("sip:bob@{addr};transport=ws"))
            .await
            .unwrap();
        call.answered().await.unwrap();
        call.hangup().await.unwrap();
        reg.unregister().await.unwrap();
        assert!(uas.bindings(&aor).is_empty());

        let report = uas.report().await;
        assert_eq!(
            (report.calls_answered, report.calls_ended),
            (1, 1),
            "{report}"
        );
        let stats = uas.transport_stats().await;
        // One connection carried everything; no frame broke the rules.
        assert_eq!(stats.connections_accepted, 1, "{stats:?}");
        assert_eq!(stats.ws_handshakes, 1, "{stats:?}");
        assert_eq!(stats.ws_protocol_errors, 0, "{stats:?}");
        let client = ua.stats().await.unwrap().transport;
        assert_eq!(
            (client.connections_opened, client.ws_handshakes),
            (1, 1),
            "{client:?}"
        );
    };
    tokio::time::timeout(LIMIT, run).await.expect("bounded");
}

#[tokio::test]
async fn a_server_that_is_not_websocket_is_a_transport_error() {
    // A plain TCP listener that answers the upgrade with SIP: the handshake fails.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        if let Ok((mut s, _)) = listener.accept().await {
            let _ = s.write_all(b"SIP/2.0 400 Bad Request\r\n\r\n").await;
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
    let ua = UserAgent::builder()
        .udp("127.0.0.1:0")
        .build()
        .await
        .unwrap();
    let run = async {
        let call = ua
            .call(&format!("sip:bob@{addr};transport=ws"))
            .await
            .unwrap();
        call.answered().await
    };
    let outcome = tokio::time::timeout(LIMIT, run).await.expect("bounded");
    assert!(outcome.is_err(), "{outcome:?}");
    let stats = ua.stats().await.unwrap().transport;
    assert_eq!(stats.ws_handshake_failures, 1, "{stats:?}");
    assert!(stats.transport_errors >= 1, "{stats:?}");
}

/// WSS: the WebSocket over TLS, the server's certificate checked against the URI's host
/// (RFC 5922 §4, an IP literal here) before anything is sent.
#[tokio::test]
async fn calls_over_secure_websocket() {
    let pki = Pki::new("wss");
    let leaf = pki.leaf("server", &["127.0.0.1"], Kind::Good);
    let run = async {
        let mut config = UasConfig::new("127.0.0.1:0".parse().unwrap());
        config.transport = Transport::Wss;
        config.seed = Some(443);
        config.tls = Some(TlsConfig::server(&leaf.cert, &leaf.key).unwrap());
        let uas = Uas::start(config).await.unwrap();
        let addr = uas.local_addr();
        let ua = UserAgent::builder()
            .udp("127.0.0.1:0")
            .tls_config(TlsConfig::client(TrustAnchors::PemFile(pki.ca.clone())).unwrap())
            .seed(6)
            .build()
            .await
            .unwrap();
        let call = ua
            .call(&format!("sip:bob@{addr};transport=wss"))
            .await
            .unwrap();
        call.answered().await.unwrap();
        call.hangup().await.unwrap();
        let stats = uas.transport_stats().await;
        assert_eq!(
            (stats.tls_handshakes, stats.ws_handshakes),
            (1, 1),
            "{stats:?}"
        );
        let report = uas.report().await;
        assert_eq!(
            (report.calls_answered, report.calls_ended),
            (1, 1),
            "{report}"
        );
    };
    tokio::time::timeout(LIMIT, run).await.expect("bounded");
}
