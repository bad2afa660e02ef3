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
        // ... and bound to the connection it registered over, the way back to it.
        let flow = bound[0]
            .flow
            .expect("a WebSocket contact is bound to its connection");
        assert_eq!(flow.transport, Transport::Ws);
        assert!(flow.remote.ip().is_loopback(), "{flow:?}");

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

/// A client given `ws://edge.test:PORT/sip/edge?t=1` (RFC 6455 §3) requests that resource
/// with that host in its opening handshake (§4.1), not `/` and an address; the SIP
/// exchange then runs over the connection. The server is a raw one on the core's codec,
/// so the handshake's head can be read as sent.
#[tokio::test]
async fn a_ws_url_target_requests_its_resource_and_host() {
    use sip_core::transport::websocket::{
        MAX_HANDSHAKE, Role, WsConnection, WsLimits, WsUrl, handshake,
    };
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 2048];
        let up = loop {
            let n = s.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed in the handshake");
            buf.extend_from_slice(&chunk[..n]);
            if let Some(up) = handshake::accept(&buf, MAX_HANDSHAKE).unwrap() {
                break up;
            }
        };
        let head = String::from_utf8_lossy(&buf[..up.consumed]).into_owned();
        s.write_all(&up.response).await.unwrap();
        let mut ws = WsConnection::new(Role::Server, WsLimits::default());
        ws.handle_input(&buf[up.consumed..]).unwrap();
        let request = loop {
            if let Some(m) = ws.poll_message() {
                break String::from_utf8(m.payload.to_vec()).unwrap();
            }
            let n = s.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed before the request");
            ws.handle_input(&chunk[..n]).unwrap();
        };
        // A 200 echoing the request's Via, From, To, Call-ID and CSeq (RFC 3261 §8.2.6).
        let mut ok = String::from("SIP/2.0 200 OK\r\n");
        for line in request.lines() {
            let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
            if ["via", "from", "to", "call-id", "cseq"].contains(&name.as_str()) {
                ok.push_str(line);
                if name == "to" {
                    ok.push_str(";tag=edge");
                }
                ok.push_str("\r\n");
            }
        }
        ok.push_str("Content-Length: 0\r\n\r\n");
        ws.send(ok.as_bytes()).unwrap();
        while let Some(b) = ws.poll_transmit() {
            s.write_all(&b).await.unwrap();
        }
        // Held open until the client has read the answer.
        let _ = s.read(&mut chunk).await;
        head
    });
    let ua = UserAgent::builder()
        .udp("127.0.0.1:0")
        .build()
        .await
        .unwrap();
    let url = WsUrl::parse(&format!("ws://edge.test:{}/sip/edge?t=1", addr.port())).unwrap();
    let run = async {
        let answer = ua
            .request(sip_tokio::Method::Options, "sip:edge.test;transport=ws")
            .target(Target::websocket(url, addr))
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    };
    tokio::time::timeout(LIMIT, run).await.expect("bounded");
    ua.shutdown().await;
    let head = tokio::time::timeout(LIMIT, server)
        .await
        .expect("bounded")
        .unwrap();
    assert!(head.starts_with("GET /sip/edge?t=1 HTTP/1.1\r\n"), "{head}");
    let host = format!("\r\nHost: edge.test:{}\r\n", addr.port());
    assert!(head.contains(&host), "{head}");
}

/// One accepted connection of a raw WS server on the core's codec: the handshake's head as
/// received, and the connection ready to read SIP messages.
struct RawWs {
    stream: tokio::net::TcpStream,
    ws: sip_core::transport::websocket::WsConnection,
    head: String,
}

impl RawWs {
    async fn accept(listener: &tokio::net::TcpListener) -> RawWs {
        use sip_core::transport::websocket::{MAX_HANDSHAKE, Role, WsConnection, WsLimits};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 2048];
        let up = loop {
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed in the handshake");
            buf.extend_from_slice(&chunk[..n]);
            let accepted = sip_core::transport::websocket::handshake::accept(&buf, MAX_HANDSHAKE);
            if let Some(up) = accepted.unwrap() {
                break up;
            }
        };
        let head = String::from_utf8_lossy(&buf[..up.consumed]).into_owned();
        stream.write_all(&up.response).await.unwrap();
        let mut ws = WsConnection::new(Role::Server, WsLimits::default());
        ws.handle_input(&buf[up.consumed..]).unwrap();
        RawWs { stream, ws, head }
    }

    /// The next SIP message's text.
    async fn recv(&mut self) -> String {
        use tokio::io::AsyncReadExt;
        let mut chunk = [0u8; 2048];
        loop {
            if let Some(m) = self.ws.poll_message() {
                return String::from_utf8(m.payload.to_vec()).unwrap();
            }
            let n = self.stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed before a message");
            self.ws.handle_input(&chunk[..n]).unwrap();
        }
    }

    /// A 200 to `request` (its Via, From, To tagged, Call-ID, CSeq; RFC 3261 §8.2.6).
    async fn ok(&mut self, request: &str, contact: &str) {
        use tokio::io::AsyncWriteExt;
        let mut ok = String::from("SIP/2.0 200 OK\r\n");
        for line in request.lines() {
            let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
            if ["via", "from", "to", "call-id", "cseq"].contains(&name.as_str()) {
                ok.push_str(line);
                if name == "to" && !line.contains(";tag=") {
                    ok.push_str(";tag=edge");
                }
                ok.push_str("\r\n");
            }
        }
        ok.push_str(&format!(
            "Contact: <{contact}>\r\nContent-Length: 0\r\n\r\n"
        ));
        self.ws.send(ok.as_bytes()).unwrap();
        while let Some(b) = self.ws.poll_transmit() {
            self.stream.write_all(&b).await.unwrap();
        }
    }
}

/// A call placed to `ws://127.0.0.1:PORT/sip` (RFC 7118): the server drops the connection
/// after the ACK, and the BYE opens a new one to the same resource `/sip` (the dialog keeps
/// the URL of the connection its INVITE used), not to `/`.
#[tokio::test]
async fn a_bye_after_the_connection_dropped_reconnects_to_the_dialogs_ws_url() {
    use sip_core::transport::websocket::WsUrl;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let contact = format!("sip:edge@{addr};transport=ws");
    let server = tokio::spawn(async move {
        let mut first = RawWs::accept(&listener).await;
        let invite = first.recv().await;
        assert!(invite.starts_with("INVITE "), "{invite}");
        first.ok(&invite, &contact).await;
        let ack = first.recv().await;
        assert!(ack.starts_with("ACK "), "{ack}");
        drop(first.stream); // the connection drops mid-dialog
        let mut second = RawWs::accept(&listener).await;
        let bye = second.recv().await;
        assert!(bye.starts_with("BYE "), "{bye}");
        second.ok(&bye, &contact).await;
        // Held open until the client is done.
        let _ = tokio::io::AsyncReadExt::read(&mut second.stream, &mut [0u8; 64]).await;
        (first.head, second.head)
    });
    let ua = UserAgent::builder()
        .udp("127.0.0.1:0")
        .shutdown_grace(Duration::from_millis(50))
        .build()
        .await
        .unwrap();
    let url = WsUrl::parse(&format!("ws://127.0.0.1:{}/sip", addr.port())).unwrap();
    let run = async {
        let call = ua
            .call(&format!("sip:edge@{addr};transport=ws"))
            .target(Target::websocket(url, addr))
            .await
            .unwrap();
        assert_eq!(call.answered().await.unwrap().status(), 200);
        // Let the client see the connection close before it hangs up.
        tokio::time::sleep(Duration::from_millis(300)).await;
        call.hangup().await.unwrap();
        assert_eq!(call.ended().await, sip_tokio::EndReason::LocalBye);
    };
    tokio::time::timeout(LIMIT, run).await.expect("bounded");
    ua.shutdown().await;
    let (first, second) = tokio::time::timeout(LIMIT, server)
        .await
        .expect("bounded")
        .unwrap();
    assert!(first.starts_with("GET /sip HTTP/1.1\r\n"), "{first}");
    assert!(second.starts_with("GET /sip HTTP/1.1\r\n"), "{second}");
}
