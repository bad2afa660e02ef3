//! SIP over WebSocket (RFC 7118) in the smol driver, on loopback:
//!
//! * a sip-smol WS server answers OPTIONS from a raw RFC 6455 client whose handshake and
//!   frames are written by hand here (not with the core's codec, which the server uses),
//!   so the two sides are checked against the RFC's bytes, not against each other;
//! * unmasked and garbage frames get their connection closed with 1002, a handshake never
//!   completed is closed at its deadline, and nothing of any of it reaches the endpoint;
//! * a sip-smol WS client places a call and sends a MESSAGE to a sip-smol WS server, and
//!   a call over WSS with a certificate made at test time;
//! * a `ws://host:port/resource` target requests that resource and Host (RFC 6455 §4.1);
//! * a message for a browser whose connection closed fails at once (RFC 7118 §5);
//! * with `ws_keepalive`, the server pings idle connections and closes the silent ones.

#[path = "../../.ci/tls/pki.rs"]
mod pki;

use std::future::Future;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use async_io::Async;
use futures_lite::{AsyncReadExt, AsyncWriteExt, future};
use pki::{Kind, Pki};
use sip_core::transport::limits::StreamLimits;
use sip_core::transport::websocket::{
    MAX_HANDSHAKE, Role, WsConnection, WsKeepalive, WsLimits, WsUrl, handshake,
};
use sip_smol::transport::TransportConfig;
use sip_smol::{Body, Method, Target, TlsConfig, Transport, TrustAnchors, UserAgent};

/// Runs a test on smol's executor, failing it after 15 s (below Timer F's 32 s, which a
/// message waiting for a transaction timeout would take).
fn run<F: Future>(f: F) -> F::Output {
    smol::block_on(future::or(f, async {
        smol::Timer::after(Duration::from_secs(15)).await;
        panic!("the test ran past its bound")
    }))
}

fn spawn(t: sip_smol::Task) {
    smol::spawn(t).detach();
}

/// A user agent serving WS on loopback, with `config`'s limits.
async fn ws_server(seed: u64, config: TransportConfig) -> (UserAgent, SocketAddr) {
    let ua = UserAgent::builder()
        .ws("127.0.0.1:0")
        .transport_config(config)
        .seed(seed)
        .spawner(spawn)
        .shutdown_grace(Duration::from_millis(50))
        .build()
        .await
        .unwrap();
    let addr = ua.local_addr(Transport::Ws).unwrap();
    (ua, addr)
}

/// A user agent with only a UDP socket: its WebSocket connections are outgoing ones.
async fn ws_client(seed: u64, tls: Option<TlsConfig>) -> UserAgent {
    let mut b = UserAgent::builder()
        .udp("127.0.0.1:0")
        .seed(seed)
        .spawner(spawn)
        .shutdown_grace(Duration::from_millis(50));
    if let Some(tls) = tls {
        b = b.tls_config(tls);
    }
    b.build().await.unwrap()
}

// ---- A raw RFC 6455 client, written by hand ----

/// The key of RFC 6455 §1.3's example and the accept value it must produce.
const SAMPLE_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const SAMPLE_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

const OP_TEXT: u8 = 0x1;
const OP_CLOSE: u8 = 0x8;

/// A complete frame (FIN set) as RFC 6455 §5.2 lays it out, masked with `mask` when given
/// (§5.3: a client must mask every frame).
fn frame(opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut f = vec![0x80 | opcode];
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    let len = payload.len();
    if len < 126 {
        f.push(mask_bit | len as u8);
    } else if len <= 0xFFFF {
        f.push(mask_bit | 126);
        f.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        f.push(mask_bit | 127);
        f.extend_from_slice(&(len as u64).to_be_bytes());
    }
    match mask {
        Some(key) => {
            f.extend_from_slice(&key);
            f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => f.extend_from_slice(payload),
    }
    f
}

/// A server frame at the start of `buf`: (FIN, opcode, masked, payload, bytes used), or
/// `None` while incomplete.
fn parse_frame(buf: &[u8]) -> Option<(bool, u8, bool, Vec<u8>, usize)> {
    let (b0, b1) = (*buf.first()?, *buf.get(1)?);
    let masked = b1 & 0x80 != 0;
    let (len, mut at) = match b1 & 0x7F {
        126 => (
            u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?) as usize,
            4,
        ),
        127 => (
            u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?) as usize,
            10,
        ),
        n => (n as usize, 2),
    };
    let key = if masked {
        let k: [u8; 4] = buf.get(at..at + 4)?.try_into().ok()?;
        at += 4;
        Some(k)
    } else {
        None
    };
    let mut payload = buf.get(at..at + len)?.to_vec();
    if let Some(k) = key {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= k[i % 4];
        }
    }
    Some((b0 & 0x80 != 0, b0 & 0x0F, masked, payload, at + len))
}

/// Sends an upgrade request offering `protocol` and returns the answer's head.
async fn upgrade(s: &mut Async<TcpStream>, addr: SocketAddr, protocol: &str) -> String {
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {SAMPLE_KEY}\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: {protocol}\r\n\r\n"
    );
    s.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    // Byte by byte, so nothing after the head is taken here.
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).await.unwrap() == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

/// A connection past its opening handshake, checked against RFC 6455 §4.2.2 and RFC 7118
/// §4 (the `sip` subprotocol selected).
async fn open(addr: SocketAddr) -> Async<TcpStream> {
    let mut s = Async::<TcpStream>::connect(addr).await.unwrap();
    let head = upgrade(&mut s, addr, "sip").await.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101 "), "{head}");
    let accept = format!(
        "sec-websocket-accept: {}\r\n",
        SAMPLE_ACCEPT.to_ascii_lowercase()
    );
    assert!(head.contains(&accept), "{head}");
    assert!(head.contains("sec-websocket-protocol: sip\r\n"), "{head}");
    s
}

/// Reads frames until one completes.
async fn read_frame(s: &mut Async<TcpStream>, buf: &mut Vec<u8>) -> (bool, u8, bool, Vec<u8>) {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some((fin, op, masked, payload, used)) = parse_frame(buf) {
            buf.drain(..used);
            return (fin, op, masked, payload);
        }
        let n = s.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed before a whole frame: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Everything the server writes until it closes the connection (bounded).
async fn until_closed(s: &mut Async<TcpStream>) -> Vec<u8> {
    let mut all = Vec::new();
    let read = async {
        let _ = s.read_to_end(&mut all).await;
        true
    };
    let closed = future::or(read, async {
        smol::Timer::after(Duration::from_secs(5)).await;
        false
    })
    .await;
    assert!(closed, "the server did not close the connection");
    all
}

/// The close code of the server's Close frame at the start of `bytes` (unmasked).
fn close_code(bytes: &[u8]) -> Option<u16> {
    let (_, op, masked, payload, _) = parse_frame(bytes)?;
    (op == OP_CLOSE && !masked && payload.len() >= 2)
        .then(|| u16::from_be_bytes([payload[0], payload[1]]))
}

fn options(addr: SocketAddr, branch: &str) -> String {
    format!(
        "OPTIONS sip:ua@{addr};transport=ws SIP/2.0\r\n\
         Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK{branch}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:web@example.test>;tag=w1\r\n\
         To: <sip:ua@{addr}>\r\n\
         Call-ID: {branch}@df7jal23ls0d.invalid\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

#[test]
fn a_raw_rfc6455_client_gets_its_options_answered() {
    run(async {
        let (server, addr) = ws_server(6455, TransportConfig::default()).await;
        let mut s = open(addr).await;
        let request = options(addr, "raw1");
        s.write_all(&frame(OP_TEXT, request.as_bytes(), Some([1, 2, 3, 4])))
            .await
            .unwrap();
        let mut buf = Vec::new();
        let (fin, op, masked, payload) = read_frame(&mut s, &mut buf).await;
        // One SIP message per WebSocket message (RFC 7118 §5.1), in a text frame as the
        // request came (§5.1), unmasked from a server (RFC 6455 §5.1).
        assert!(fin && !masked, "fin {fin}, masked {masked}");
        assert_eq!(op, OP_TEXT);
        let answer = String::from_utf8(payload).unwrap();
        assert!(answer.starts_with("SIP/2.0 200 "), "{answer}");
        assert!(answer.contains("branch=z9hG4bKraw1"), "{answer}");
        assert!(answer.contains("received=127.0.0.1"), "{answer}");

        // The closing handshake: our Close (1000) is echoed, then the server closes.
        s.write_all(&frame(OP_CLOSE, &1000u16.to_be_bytes(), Some([9, 8, 7, 6])))
            .await
            .unwrap();
        let mut rest = buf;
        rest.extend(until_closed(&mut s).await);
        assert_eq!(close_code(&rest), Some(1000), "{rest:?}");

        // A client that does not offer `sip` is refused (RFC 7118 §4), not upgraded.
        let mut s = Async::<TcpStream>::connect(addr).await.unwrap();
        let head = upgrade(&mut s, addr, "chat").await;
        assert!(head.starts_with("HTTP/1.1 400 "), "{head}");
        until_closed(&mut s).await;

        let stats = server.stats().await.unwrap().transport;
        assert_eq!(stats.ws_handshakes, 1, "{stats:?}");
        assert_eq!(stats.ws_handshake_failures, 1, "{stats:?}");
        assert_eq!(
            (stats.stream_messages_in, stats.stream_messages_out),
            (1, 1),
            "{stats:?}"
        );
        server.shutdown().await;
    });
}

#[test]
fn unmasked_and_garbage_frames_are_closed_with_1002_and_reach_nothing() {
    run(async {
        let handshake_deadline = Duration::from_millis(300);
        let config = TransportConfig {
            tcp_limits: StreamLimits {
                handshake_deadline,
                ..StreamLimits::default()
            },
            ..TransportConfig::default()
        };
        let (server, addr) = ws_server(1002, config).await;
        let mut inbox = server.incoming_requests();
        let message = options(addr, "bad1");

        // An unmasked frame from a client (RFC 6455 §5.1: the server must close).
        let mut unmasked = open(addr).await;
        unmasked
            .write_all(&frame(OP_TEXT, message.as_bytes(), None))
            .await
            .unwrap();
        let got = until_closed(&mut unmasked).await;
        assert_eq!(close_code(&got), Some(1002), "{got:?}");

        // Garbage: a reserved opcode with RSV bits set, then a SIP message that must
        // not be read past it.
        let mut garbage = open(addr).await;
        let mut bytes = vec![0xF3, 0x80 | 4, 1, 2, 3, 4, 0, 0, 0, 0];
        bytes.extend(frame(OP_TEXT, message.as_bytes(), Some([5, 6, 7, 8])));
        garbage.write_all(&bytes).await.unwrap();
        let got = until_closed(&mut garbage).await;
        assert_eq!(close_code(&got), Some(1002), "{got:?}");

        // A handshake never completed: closed at its deadline, nothing answered.
        let mut stalled = Async::<TcpStream>::connect(addr).await.unwrap();
        stalled
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let got = until_closed(&mut stalled).await;
        assert!(got.is_empty(), "{got:?}");
        assert!(started.elapsed() >= handshake_deadline / 2);

        // Nothing of any of it reached the endpoint.
        let nothing = future::or(async { inbox.next().await.map(|_| ()) }, async {
            smol::Timer::after(Duration::from_millis(200)).await;
            None
        })
        .await;
        assert!(nothing.is_none(), "a request reached the endpoint");
        let stats = server.stats().await.unwrap().transport;
        assert_eq!(stats.ws_protocol_errors, 2, "{stats:?}");
        assert_eq!(stats.stream_messages_in, 0, "{stats:?}");
        assert_eq!(stats.ws_handshakes, 2, "{stats:?}");
        assert_eq!(stats.ws_handshake_failures, 1, "{stats:?}");
        let core = server.stats().await.unwrap();
        assert_eq!(core.transport.connections_closed, 3, "{core:?}");

        // The server goes on serving well-behaved clients.
        let mut good = open(addr).await;
        good.write_all(&frame(
            OP_TEXT,
            options(addr, "ok2").as_bytes(),
            Some([1, 1, 1, 1]),
        ))
        .await
        .unwrap();
        let req = inbox
            .next()
            .await
            .expect("the good client's OPTIONS arrives");
        req.respond(200).await.unwrap();
        let (_, op, _, payload) = read_frame(&mut good, &mut Vec::new()).await;
        assert_eq!(op, OP_TEXT);
        assert!(payload.starts_with(b"SIP/2.0 200 "));
        server.shutdown().await;
    });
}

#[test]
fn a_smol_ws_client_calls_and_messages_a_smol_ws_server() {
    run(async {
        let (bob, addr) = ws_server(7118, TransportConfig::default()).await;
        let mut incoming = bob.incoming();
        let mut inbox = bob.incoming_requests();
        let answering = smol::spawn(async move {
            let inc = incoming.next().await.expect("the call arrives");
            inc.ringing().await.unwrap();
            let call = inc.accept(Some(Body::sdp("v=0\r\n"))).await.unwrap();
            call.ended().await
        });
        let reading = smol::spawn(async move {
            let req = inbox.next().await.expect("the MESSAGE arrives");
            let text = String::from_utf8_lossy(req.request().body()).into_owned();
            let via = req.request().headers().get("Via").unwrap().to_owned();
            req.respond(200).await.unwrap();
            (text, via)
        });

        let alice = ws_client(1, None).await;
        let call = alice
            .call(&format!("sip:bob@{addr};transport=ws"))
            .sdp("v=0\r\n")
            .await
            .unwrap();
        assert_eq!(call.answered().await.unwrap().status(), 200);
        let answer = alice
            .send_message(
                &format!("sip:bob@{addr};transport=ws"),
                Body::new("text/plain", "over the socket"),
            )
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        call.hangup().await.unwrap();
        assert_eq!(answering.await, sip_smol::EndReason::RemoteBye);
        let (text, via) = reading.await;
        assert_eq!(text, "over the socket");
        // RFC 7118 §5.2: a client with no listener writes a `.invalid` Via host.
        assert!(via.starts_with("SIP/2.0/WS "), "{via}");
        assert!(via.contains(".invalid"), "{via}");

        // Everything went over the one connection, both ways.
        let client = alice.stats().await.unwrap().transport;
        assert_eq!(
            (client.connections_opened, client.ws_handshakes),
            (1, 1),
            "{client:?}"
        );
        let server = bob.stats().await.unwrap().transport;
        assert_eq!(
            (server.connections_accepted, server.ws_handshakes),
            (1, 1),
            "{server:?}"
        );
        assert_eq!(server.ws_protocol_errors + client.ws_protocol_errors, 0);
        alice.shutdown().await;
        bob.shutdown().await;
    });
}

/// WSS: TLS, then the WebSocket; the server's certificate checked against the URI's IP
/// literal (RFC 5922 §4) before anything is sent.
#[test]
fn a_call_over_secure_websocket() {
    let pki = Pki::new("smol-wss");
    let leaf = pki.leaf("server", &["127.0.0.1"], Kind::Good);
    run(async {
        let bob = UserAgent::builder()
            .wss("127.0.0.1:0")
            .tls_config(TlsConfig::server(&leaf.cert, &leaf.key).unwrap())
            .seed(443)
            .spawner(spawn)
            .shutdown_grace(Duration::from_millis(50))
            .build()
            .await
            .unwrap();
        let addr = bob.local_addr(Transport::Wss).unwrap();
        let mut incoming = bob.incoming();
        let answering = smol::spawn(async move {
            let inc = incoming.next().await.expect("the call arrives");
            let call = inc.accept(Some(Body::sdp("v=0\r\n"))).await.unwrap();
            call.ended().await
        });
        let trust = TlsConfig::client(TrustAnchors::PemFile(pki.ca.clone())).unwrap();
        let alice = ws_client(2, Some(trust)).await;
        let call = alice
            .call(&format!("sip:bob@{addr};transport=wss"))
            .sdp("v=0\r\n")
            .await
            .unwrap();
        call.answered().await.unwrap();
        call.hangup().await.unwrap();
        assert_eq!(answering.await, sip_smol::EndReason::RemoteBye);
        let server = bob.stats().await.unwrap().transport;
        assert_eq!(
            (server.tls_handshakes, server.ws_handshakes),
            (1, 1),
            "{server:?}"
        );
        let client = alice.stats().await.unwrap().transport;
        assert_eq!(
            (client.tls_handshakes, client.ws_handshakes),
            (1, 1),
            "{client:?}"
        );
        alice.shutdown().await;
        bob.shutdown().await;
    });
}

/// A client given `ws://edge.test:PORT/sip/edge?t=1` (RFC 6455 §3) requests that
/// resource with that Host in its opening handshake (§4.1). The server is a raw one on
/// the core's codec, so the head can be read as sent.
#[test]
fn a_ws_url_target_requests_its_resource_and_host() {
    run(async {
        let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
        let addr = listener.get_ref().local_addr().unwrap();
        let server = smol::spawn(async move {
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
        let ua = ws_client(3, None).await;
        let url = WsUrl::parse(&format!("ws://edge.test:{}/sip/edge?t=1", addr.port())).unwrap();
        let answer = ua
            .request(Method::Options, "sip:edge.test;transport=ws")
            .target(Target::websocket(url, addr))
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        ua.shutdown().await;
        let head = server.await;
        assert!(head.starts_with("GET /sip/edge?t=1 HTTP/1.1\r\n"), "{head}");
        let host = format!("\r\nHost: edge.test:{}\r\n", addr.port());
        assert!(head.contains(&host), "{head}");
    });
}

/// A browser's connection is the only way to it (RFC 7118 §5): once it has closed, the
/// response and a new request for it fail at once, and nothing connects to its address.
#[test]
fn messages_for_a_closed_browser_connection_fail_at_once() {
    run(async {
        let (server, addr) = ws_server(75, TransportConfig::default()).await;
        let mut inbox = server.incoming_requests();
        let mut browser = open(addr).await;
        let browser_addr = browser.get_ref().local_addr().unwrap();
        let message = format!(
            "MESSAGE sip:ua@{addr};transport=ws SIP/2.0\r\n\
             Via: SIP/2.0/WS k3j2n4.invalid;branch=z9hG4bK7118gone\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:web@example.test>;tag=b1\r\n\
             To: <sip:ua@{addr}>\r\n\
             Call-ID: gone-1@k3j2n4.invalid\r\n\
             CSeq: 1 MESSAGE\r\n\
             Content-Type: text/plain\r\n\
             Content-Length: 2\r\n\r\nhi"
        );
        browser
            .write_all(&frame(OP_TEXT, message.as_bytes(), Some([3, 1, 4, 1])))
            .await
            .unwrap();
        let req = inbox.next().await.expect("the MESSAGE arrives");
        // The browser goes away before it is answered (with a reset: no TIME_WAIT holds
        // its address, which the trap below takes).
        socket2::SockRef::from(browser.get_ref())
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(browser);
        while server.stats().await.unwrap().transport.connections_closed < 1 {
            smol::Timer::after(Duration::from_millis(10)).await;
        }
        // Something listens at the browser's old address now: a connect there is seen.
        let trap = Async::<TcpListener>::bind(browser_addr).unwrap();

        req.respond(200).await.unwrap();
        let options = server
            .request(Method::Options, "sip:web@k3j2n4.invalid;transport=ws")
            .target(Target::new(Transport::Ws, browser_addr))
            .await;
        assert!(options.is_err(), "{options:?}");

        let s = server.stats().await.unwrap().transport;
        assert_eq!(s.ws_client_gone, 2, "the response and the request: {s:?}");
        assert!(s.transport_errors >= 2, "{s:?}");
        assert_eq!(s.connections_opened, 0, "{s:?}");
        let tried = future::or(async { trap.accept().await.is_ok() }, async {
            smol::Timer::after(Duration::from_millis(200)).await;
            false
        })
        .await;
        assert!(!tried, "the server connected to the browser's address");
        server.shutdown().await;
    });
}

/// Our own keep-alive (RFC 6455 §5.5.2): with `ws_keepalive` the server pings an idle
/// connection, keeps the one whose Pong comes, and closes the one whose Pong does not.
#[test]
fn the_server_pings_idle_connections_and_closes_the_silent_ones() {
    run(async {
        let config = TransportConfig {
            ws_keepalive: Some(WsKeepalive {
                interval: Duration::from_millis(150),
                pong_timeout: Duration::from_millis(150),
            }),
            ..TransportConfig::default()
        };
        let (server, addr) = ws_server(5, config).await;
        let mut lively = open(addr).await;
        let mut silent = open(addr).await;
        // The lively client answers each Ping with a Pong of the same payload (§5.5.3),
        // by hand, until the silent one is closed.
        let mut pings = 0;
        let mut buf = Vec::new();
        let silent_closed = smol::spawn(async move { until_closed(&mut silent).await });
        let answer = async {
            loop {
                let (_, op, _, payload) = read_frame(&mut lively, &mut buf).await;
                assert_eq!(op, 0x9, "only pings come on an idle connection");
                pings += 1;
                lively
                    .write_all(&frame(0xA, &payload, Some([4, 4, 4, 4])))
                    .await
                    .unwrap();
            }
        };
        let closed = future::or(silent_closed, answer).await;
        // The silent one got a Ping, then a Close with 1001 (going away).
        let (_, op, _, _, used) = parse_frame(&closed).unwrap();
        assert_eq!(op, 0x9);
        assert_eq!(close_code(&closed[used..]), Some(1001), "{closed:?}");
        // The lively one is still served: another Ping comes and is answered.
        let (_, op, _, payload) = read_frame(&mut lively, &mut buf).await;
        assert_eq!(op, 0x9);
        lively
            .write_all(&frame(0xA, &payload, Some([4, 4, 4, 4])))
            .await
            .unwrap();
        assert!(pings >= 1, "the lively connection was pinged");
        let s = server.stats().await.unwrap().transport;
        assert_eq!(s.ws_pong_timeouts, 1, "{s:?}");
        assert_eq!(s.ws_handshakes, 2, "{s:?}");
        server.shutdown().await;
    });
}
