//! WebSocket peers that break the rules (RFC 6455, RFC 7118) against the `uas` over
//! loopback: garbage frames, a message over the size limit and a handshake never
//! completed each get their connection closed within a deadline (with the codec's close
//! code where a WebSocket was open), nothing they sent reaches the endpoint, and the
//! server goes on serving well-behaved clients, whose pings are answered.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use sip_core::transport::Transport;
use sip_core::transport::limits::StreamLimits;
use sip_core::transport::websocket::frame::{self, Opcode};
use sip_core::transport::websocket::{ClientHandshake, MAX_HANDSHAKE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[allow(dead_code)] // the example's API, not all of it used here
#[path = "../examples/uas/tokio_pbx.rs"]
mod app;

use app::{Uas, UasConfig};

/// What every close must happen within.
const LIMIT: Duration = Duration::from_secs(5);

const HANDSHAKE_DEADLINE: Duration = Duration::from_millis(300);

async fn uas() -> Uas {
    let mut config = UasConfig::new("127.0.0.1:0".parse().unwrap());
    config.transport = Transport::Ws;
    config.seed = Some(6455);
    config.tcp_limits = StreamLimits {
        handshake_deadline: HANDSHAKE_DEADLINE,
        ..StreamLimits::default()
    };
    Uas::start(config).await.unwrap()
}

/// A masked client frame (RFC 6455 §5.3).
fn client_frame(opcode: Opcode, payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    frame::encode(opcode, payload, Some([0x5A, 0x01, 0xC3, 0x7E]), &mut out);
    out.to_vec()
}

/// A connection past its opening handshake (with the `sip` subprotocol).
async fn open(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let (hs, request) = ClientHandshake::new([7; 16], &addr.to_string(), "/");
    s.write_all(&request).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    // Byte by byte, so nothing after the head is taken here.
    while hs.finish(&head, MAX_HANDSHAKE).unwrap().is_none() {
        assert_eq!(
            s.read(&mut byte).await.unwrap(),
            1,
            "closed in the handshake"
        );
        head.push(byte[0]);
    }
    s
}

/// Everything the server writes until it closes the connection (bounded by [`LIMIT`]).
async fn until_closed(s: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    tokio::time::timeout(LIMIT, s.read_to_end(&mut all))
        .await
        .expect("the server closes the connection within the limit")
        .ok();
    all
}

/// The close code of the server's Close frame (unmasked, §5.5.1) at the start of `bytes`.
fn close_code(bytes: &[u8]) -> Option<u16> {
    let h = frame::parse_header(bytes).ok()??;
    (h.opcode == Opcode::Close && h.mask.is_none() && h.payload_len >= 2)
        .then(|| u16::from_be_bytes([bytes[h.header_len], bytes[h.header_len + 1]]))
}

const OPTIONS: &str = "OPTIONS sip:uas@127.0.0.1 SIP/2.0\r\n\
    Via: SIP/2.0/WS k3x9.invalid;branch=z9hG4bKws1;rport\r\nMax-Forwards: 70\r\n\
    To: <sip:uas@127.0.0.1>\r\nFrom: <sip:probe@k3x9.invalid>;tag=7\r\n\
    Call-ID: abuse-1@k3x9.invalid\r\nCSeq: 1 OPTIONS\r\n\r\n";

/// A well-behaved client: a ping answered with its pong, an OPTIONS with a 200 in one
/// text frame, and a clean closing handshake.
async fn well_behaved(addr: SocketAddr) {
    let mut s = open(addr).await;
    s.write_all(&client_frame(Opcode::Ping, b"hb"))
        .await
        .unwrap();
    s.write_all(&client_frame(Opcode::Text, OPTIONS.as_bytes()))
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut frames = Vec::new();
    let mut buf = [0u8; 4096];
    while frames.len() < 2 {
        let n = tokio::time::timeout(LIMIT, s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed early");
        got.extend_from_slice(&buf[..n]);
        while let Some(h) = frame::parse_header(&got).unwrap() {
            let len = h.header_len + h.payload_len as usize;
            if got.len() < len {
                break;
            }
            let f: Vec<u8> = got.drain(..len).collect();
            frames.push((h.opcode, f[h.header_len..].to_vec()));
        }
    }
    assert_eq!(frames[0], (Opcode::Pong, b"hb".to_vec()));
    assert_eq!(frames[1].0, Opcode::Text);
    assert!(frames[1].1.starts_with(b"SIP/2.0 200 OK\r\n"));
    s.write_all(&client_frame(Opcode::Close, &1000u16.to_be_bytes()))
        .await
        .unwrap();
    assert_eq!(close_code(&until_closed(&mut s).await), Some(1000));
}

#[tokio::test]
async fn garbage_frames_close_the_connection_with_a_protocol_error() {
    let uas = uas().await;
    let addr = uas.local_addr();
    // An unmasked frame from a client (§5.1), carrying a valid SIP request.
    let mut s = open(addr).await;
    let mut unmasked = BytesMut::new();
    frame::encode(Opcode::Text, OPTIONS.as_bytes(), None, &mut unmasked);
    s.write_all(&unmasked).await.unwrap();
    assert_eq!(close_code(&until_closed(&mut s).await), Some(1002));
    // Random bytes: reserved bits and opcodes.
    let mut s = open(addr).await;
    s.write_all(&[0xF3, 0xFF, 0x00, 0x13, 0x37, 0xAB, 0xCD, 0xEF])
        .await
        .unwrap();
    assert_eq!(close_code(&until_closed(&mut s).await), Some(1002));
    // A text frame that is not UTF-8 (§8.1).
    let mut s = open(addr).await;
    s.write_all(&client_frame(
        Opcode::Text,
        b"OPTIONS \xFF\xFE sip:x SIP/2.0\r\n\r\n",
    ))
    .await
    .unwrap();
    assert_eq!(close_code(&until_closed(&mut s).await), Some(1007));

    well_behaved(addr).await;
    let report = uas.report().await;
    assert_eq!((report.options, report.parse_errors), (1, 0), "{report}");
    assert_eq!(uas.transport_stats().await.ws_protocol_errors, 3);
}

#[tokio::test]
async fn an_oversize_message_closes_the_connection_with_1009() {
    let uas = uas().await;
    let addr = uas.local_addr();
    // One frame announcing more than max_message_size (65,535): refused at its header.
    let mut s = open(addr).await;
    let mut header = vec![0x81, 0x80 | 127];
    header.extend_from_slice(&(1u64 << 20).to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4]);
    s.write_all(&header).await.unwrap();
    assert_eq!(close_code(&until_closed(&mut s).await), Some(1009));
    // Fragments adding up past the limit.
    let mut s = open(addr).await;
    let chunk = vec![b'a'; 40_000];
    let mut first = client_frame(Opcode::Text, &chunk);
    first[0] &= 0x7F; // not FIN
    s.write_all(&first).await.unwrap();
    let _ = s
        .write_all(&client_frame(Opcode::Continuation, &chunk))
        .await;
    assert_eq!(close_code(&until_closed(&mut s).await), Some(1009));

    well_behaved(addr).await;
    let report = uas.report().await;
    assert_eq!((report.options, report.parse_errors), (1, 0), "{report}");
}

#[tokio::test]
async fn a_handshake_never_completed_is_closed_at_its_deadline() {
    let uas = uas().await;
    let addr = uas.local_addr();
    let started = tokio::time::Instant::now();
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let mut partial = TcpStream::connect(addr).await.unwrap();
    partial
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n")
        .await
        .unwrap();
    assert!(until_closed(&mut silent).await.is_empty());
    assert!(until_closed(&mut partial).await.is_empty());
    assert!(started.elapsed() >= HANDSHAKE_DEADLINE);
    // Not a WebSocket at all: a SIP request straight onto the port is refused (400).
    let mut sip = TcpStream::connect(addr).await.unwrap();
    sip.write_all(OPTIONS.as_bytes()).await.unwrap();
    let answer = until_closed(&mut sip).await;
    assert!(
        answer.starts_with(b"HTTP/1.1 400"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );

    well_behaved(addr).await;
    let stats = uas.transport_stats().await;
    assert_eq!(stats.ws_handshake_failures, 3, "{stats:?}");
    assert_eq!(stats.ws_handshakes, 1, "{stats:?}");
    let report = uas.report().await;
    assert_eq!((report.options, report.parse_errors), (1, 0), "{report}");
}
