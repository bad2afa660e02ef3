//! The tokio user agent as a SIP-over-WebSocket client (RFC 7118) through a WebSocket edge
//! nobody here wrote: Kamailio with its `websocket` and `xhttp` modules
//! (`.ci/kamailio/kamailio-ws.cfg.in`). Our client opens `ws://` to Kamailio, registers
//! with digest authentication, and a MESSAGE another user agent sends to its AoR over
//! UDP comes back to it over that same WebSocket connection (the binding's `.invalid`
//! host is unreachable: Kamailio routes by the connection's address, RFC 7118 §5). Skipped
//! with a message when `kamailio` or its WebSocket modules are not installed; a failure
//! under `CI=true`.

#[allow(dead_code)] // the TLS part of the launcher is not used here
#[path = "../../.ci/kamailio/launcher.rs"]
mod launcher;

use launcher::{Kamailio, PASSWORD, free_port, kamailio_binary, module_path, start_config};
use sip_tokio::{Body, RegisterOptions, Target, Transport, UserAgent};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// Starts Kamailio with UDP at `port` and WebSocket at `ws_port`; `None` (with a message)
/// when its WebSocket modules are missing, a panic under `CI=true`.
fn start_ws(bin: &Path, port: u16, ws_port: u16) -> Option<Kamailio> {
    let mpath = module_path();
    let missing: Vec<_> = ["websocket.so", "xhttp.so", "nathelper.so"]
        .into_iter()
        .filter(|m| !Path::new(&mpath).join(m).exists())
        .collect();
    if !missing.is_empty() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "kamailio modules {missing:?} are not installed (apt-get install kamailio-websocket-modules)"
            );
        }
        println!("skipped: kamailio modules {missing:?} are not installed");
        return None;
    }
    let template = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../.ci/kamailio/kamailio-ws.cfg.in"
    ))
    .unwrap();
    let cfg = template
        .replace("@PORT@", &port.to_string())
        .replace("@WS_PORT@", &ws_port.to_string())
        .replace("@MPATH@", &mpath)
        .replace("@PASSWORD@", PASSWORD);
    let dir = std::env::temp_dir().join(format!("sip-kamailio-ws-{ws_port}"));
    Some(start_config(bin, &dir, &cfg))
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
async fn registers_through_kamailio_websocket_and_is_reached_back_over_it() {
    let Some(bin) = kamailio_binary() else { return };
    let (port, ws_port) = (free_port(), free_tcp_port());
    let Some(_k) = start_ws(&bin, port, ws_port) else {
        return;
    };
    let ws_addr: SocketAddr = format!("127.0.0.1:{ws_port}").parse().unwrap();
    let udp_addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let run = async {
        wait_listening(ws_addr).await;
        // Alice: a WebSocket client only (its UDP socket is never used towards Kamailio).
        let alice = UserAgent::builder()
            .udp("127.0.0.1:0")
            .identity(format!("<sip:alice@127.0.0.1:{port}>"))
            .credentials("alice", PASSWORD)
            .seed(19)
            .build()
            .await
            .unwrap();
        let bob = UserAgent::builder()
            .udp("127.0.0.1:0")
            .identity(format!("<sip:bob@127.0.0.1:{port}>"))
            .build()
            .await
            .unwrap();
        let mut opts = RegisterOptions::new(
            format!("sip:127.0.0.1:{ws_port};transport=ws"),
            format!("<sip:alice@127.0.0.1:{port}>"),
            60,
        );
        opts.target = Some(Target::new(Transport::Ws, ws_addr));
        // The REGISTER (401 answered, then authenticated) goes over the WebSocket.
        let reg = alice.register(opts).await.unwrap();
        assert_eq!(reg.registered().await.unwrap(), 60);

        let mut inbox = alice.incoming_requests();
        let receive = tokio::spawn(async move {
            let req = inbox.next().await.expect("the MESSAGE reaches alice");
            let via = req.request().headers().get("Via").unwrap().to_owned();
            let uri = req.request().uri_str().to_owned();
            let body = req.request().body().to_vec();
            req.respond(200).await.unwrap();
            (via, uri, body)
        });
        let answer = bob
            .send_message(
                &format!("sip:alice@127.0.0.1:{port}"),
                Body::new("text/plain", "over the edge"),
            )
            .target(Target::new(Transport::Udp, udp_addr))
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "{answer:?}");
        let (via, uri, body) = receive.await.unwrap();
        // Kamailio relayed it over the WebSocket (its Via says so), to the Contact alice
        // registered: the `.invalid` host of RFC 7118 §5.2.
        assert!(via.starts_with("SIP/2.0/WS "), "{via}");
        assert!(uri.contains(".invalid"), "{uri}");
        assert_eq!(body, b"over the edge");

        reg.unregister().await.unwrap();
        // Everything of alice's went over one connection: REGISTERs, the MESSAGE's
        // answer, the unregistration.
        let s = alice.stats().await.unwrap().transport;
        assert_eq!((s.connections_opened, s.ws_handshakes), (1, 1), "{s:?}");
        assert_eq!(s.ws_protocol_errors, 0, "{s:?}");
        alice.shutdown().await;
        bob.shutdown().await;
    };
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("bounded");
}
