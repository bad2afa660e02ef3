//! The mio driver as a SIP-over-WebSocket server (RFC 7118) with the PBX app: a client on
//! its own thread (a plain socket through the core's codec, as a browser would frame)
//! completes the opening handshake with the `sip` subprotocol, sends an OPTIONS in a
//! masked text frame and gets the 200 back in an unmasked one over the same connection;
//! a second client that sends an unmasked frame is closed with 1002 and nothing of it
//! reaches the endpoint.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use common::{Harness, addr};
use sip_core::transport::Transport;
use sip_core::transport::websocket::frame::{self, Opcode};
use sip_core::transport::websocket::{
    ClientHandshake, MAX_HANDSHAKE, Role, WsConnection, WsLimits,
};
use sip_mio::{DriverConfig, Listen};
use sip_pbx::PbxConfig;

const LIMIT: Duration = Duration::from_secs(10);

/// Connects and completes the opening handshake; returns the socket.
fn open(server: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(server).unwrap();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    let (hs, request) = ClientHandshake::new([5; 16], &server.to_string(), "/");
    s.write_all(&request).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while hs.finish(&head, MAX_HANDSHAKE).unwrap().is_none() {
        assert_eq!(s.read(&mut byte).unwrap(), 1, "closed in the handshake");
        head.push(byte[0]);
    }
    s
}

/// OPTIONS over WebSocket; returns the answer's payload.
fn options(server: SocketAddr) -> String {
    let mut s = open(server);
    let mut ws = WsConnection::new(Role::Client { seed: 9 }, WsLimits::default());
    let request = format!(
        "OPTIONS sip:{server};transport=ws SIP/2.0\r\n\
         Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKmio1\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:web@example.test>;tag=w1\r\n\
         To: <sip:{server}>\r\n\
         Call-ID: mio-ws-1@df7jal23ls0d.invalid\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    );
    ws.send(request.as_bytes()).unwrap();
    while let Some(b) = ws.poll_transmit() {
        s.write_all(&b).unwrap();
    }
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed before the answer");
        ws.handle_input(&buf[..n]).unwrap();
        if let Some(m) = ws.poll_message() {
            assert!(m.text);
            return String::from_utf8(m.payload.to_vec()).unwrap();
        }
    }
}

/// Sends an unmasked frame (a server's framing, §5.1) and reads until the server closes.
fn unmasked(server: SocketAddr) -> Vec<u8> {
    let mut s = open(server);
    let mut out = bytes::BytesMut::new();
    frame::encode(
        Opcode::Text,
        b"OPTIONS sip:x SIP/2.0\r\n\r\n",
        None,
        &mut out,
    );
    s.write_all(&out).unwrap();
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    all
}

#[test]
fn serves_sip_over_websocket_and_closes_a_client_that_breaks_the_framing() {
    let mut h = Harness::new();
    let pbx = PbxConfig {
        seed: Some(11),
        ..PbxConfig::default()
    };
    let config = DriverConfig::new(vec![Listen::ws(addr("127.0.0.1:0"))]).seed(3);
    h.add_with(config, Some(pbx));
    let server = h.driver(0).local_addr(Transport::Ws).unwrap();

    let client = thread::spawn(move || (options(server), unmasked(server)));
    assert!(
        h.run_until(LIMIT, |_| client.is_finished()),
        "the clients finish within the limit"
    );
    let (answer, closed) = client.join().unwrap();
    assert!(answer.starts_with("SIP/2.0 200 OK\r\n"), "{answer}");
    // The Via's `.invalid` host gets `received` (RFC 7118 §5.2, RFC 3261 §18.2.1).
    assert!(answer.contains("df7jal23ls0d.invalid;branch=z9hG4bKmio1;received=127.0.0.1"));
    let h2 = frame::parse_header(&closed).unwrap().unwrap();
    assert_eq!(h2.opcode, Opcode::Close);
    assert_eq!(
        &closed[h2.header_len..h2.header_len + 2],
        &1002u16.to_be_bytes()
    );

    let stats = h.driver(0).stats();
    assert_eq!(stats.connections_accepted, 2, "{stats:?}");
    assert_eq!(
        stats.stream_messages_in, 1,
        "only the OPTIONS reached the endpoint: {stats:?}"
    );
    assert_eq!(stats.framing_errors, 1, "{stats:?}");
}
