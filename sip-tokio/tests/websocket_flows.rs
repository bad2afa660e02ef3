//! A WebSocket client's connection is the only way to it (RFC 7118 §5): once a browser's
//! connection has closed, a response or a request for it fails at once with a transport
//! error, and the server never tries to connect to the browser's source port. The
//! browser here is a raw client on the core's codec over a tokio socket.
//!
//! And our own keep-alive (RFC 6455 §5.5.2): with `TransportConfig::ws_keepalive` the
//! server pings an idle connection, keeps the one whose Pong comes, and closes the one
//! whose Pong does not.

use std::net::SocketAddr;
use std::time::Duration;

use sip_core::transport::websocket::frame::{self, Opcode};
use sip_core::transport::websocket::{
    ClientHandshake, MAX_HANDSHAKE, Role, WsConnection, WsKeepalive, WsLimits,
};
use sip_tokio::transport::TransportConfig;
use sip_tokio::{Method, Target, Transport, UserAgent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Bounds the whole test: far below Timer F's 32 s, which a message waiting for a
/// transaction timeout would take.
const LIMIT: Duration = Duration::from_secs(8);

/// A connection past its opening handshake (with the `sip` subprotocol).
async fn open(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let (hs, request) = ClientHandshake::new([9; 16], &addr.to_string(), "/");
    s.write_all(&request).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
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

#[tokio::test]
async fn messages_for_a_closed_browser_connection_fail_at_once() {
    let run = async {
        let server = UserAgent::builder()
            .ws("127.0.0.1:0")
            .seed(75)
            .build()
            .await
            .unwrap();
        let addr = server.local_addr(Transport::Ws).unwrap();
        let mut inbox = server.incoming_requests();

        let mut browser = open(addr).await;
        let browser_addr = browser.local_addr().unwrap();
        let mut ws = WsConnection::new(Role::Client { seed: 3 }, WsLimits::default());
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
        ws.send(message.as_bytes()).unwrap();
        while let Some(b) = ws.poll_transmit() {
            browser.write_all(&b).await.unwrap();
        }
        let req = inbox.next().await.expect("the MESSAGE arrives");
        // The core notes the connection's remote end in the Via even unasked (no
        // `rport` sent): what a registrar binds a WebSocket contact to (RFC 7118 §5).
        let via = req.request().headers().get("Via").unwrap().to_owned();
        let stamped = format!(";received=127.0.0.1;rport={}", browser_addr.port());
        assert!(via.ends_with(&stamped), "{via}");
        // The browser goes away before it is answered (with a reset: no TIME_WAIT holds
        // its address, which the trap below takes).
        browser.set_zero_linger().unwrap();
        drop(browser);
        loop {
            let s = server.stats().await.unwrap().transport;
            if s.connections_closed == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Something listens at the browser's old address now: if the server tried to
        // connect there, it would be seen.
        let trap = TcpListener::bind(browser_addr).await.unwrap();

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
        let tried = tokio::time::timeout(Duration::from_millis(200), trap.accept()).await;
        assert!(
            tried.is_err(),
            "the server connected to the browser's address"
        );
        server.shutdown().await;
    };
    tokio::time::timeout(LIMIT, run).await.expect("bounded");
}

#[tokio::test]
async fn the_server_pings_idle_connections_and_closes_the_silent_ones() {
    let run = async {
        let config = TransportConfig {
            ws_keepalive: Some(WsKeepalive {
                interval: Duration::from_millis(150),
                pong_timeout: Duration::from_millis(150),
            }),
            ..TransportConfig::default()
        };
        let server = UserAgent::builder()
            .ws("127.0.0.1:0")
            .transport_config(config)
            .build()
            .await
            .unwrap();
        let addr = server.local_addr(Transport::Ws).unwrap();
        let mut lively = open(addr).await;
        let mut silent = open(addr).await;

        // The lively client answers what it reads (the codec pongs each Ping) for as long
        // as it takes the silent one to be closed.
        let mut ws = WsConnection::new(Role::Client { seed: 4 }, WsLimits::default());
        let mut pings = 0;
        let mut buf = [0u8; 512];
        let mut closed = Vec::new();
        let silent_closed = async {
            let _ = silent.read_to_end(&mut closed).await;
        };
        tokio::pin!(silent_closed);
        loop {
            tokio::select! {
                () = &mut silent_closed => break,
                n = lively.read(&mut buf) => {
                    let n = n.unwrap();
                    assert!(n > 0, "the lively connection was closed");
                    ws.handle_input(&buf[..n]).unwrap();
                    pings += ws.take_keepalives();
                    while let Some(b) = ws.poll_transmit() {
                        lively.write_all(&b).await.unwrap();
                    }
                }
            }
        }
        assert!(pings >= 1, "the lively connection was pinged");
        // The silent one got a Ping, then a Close with 1001 (going away).
        let h = frame::parse_header(&closed).unwrap().unwrap();
        assert_eq!(h.opcode, Opcode::Ping);
        let rest = &closed[h.header_len + h.payload_len as usize..];
        let h = frame::parse_header(rest).unwrap().unwrap();
        assert_eq!(h.opcode, Opcode::Close);
        assert_eq!(
            &rest[h.header_len..h.header_len + 2],
            &1001u16.to_be_bytes()
        );

        // The lively one is still served: another round of pings answered.
        let before = pings;
        while pings == before {
            let n = lively.read(&mut buf).await.unwrap();
            assert!(n > 0, "the lively connection was closed");
            ws.handle_input(&buf[..n]).unwrap();
            pings += ws.take_keepalives();
            while let Some(b) = ws.poll_transmit() {
                lively.write_all(&b).await.unwrap();
            }
        }
        let s = server.stats().await.unwrap().transport;
        assert_eq!(s.ws_pong_timeouts, 1, "{s:?}");
        assert_eq!(s.ws_handshakes, 2, "{s:?}");
        server.shutdown().await;
    };
    tokio::time::timeout(LIMIT, run).await.expect("bounded");
}
