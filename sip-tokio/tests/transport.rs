//! Loopback tests of the tokio transport layer: every test is bounded by a 5 s timeout.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use sip_core::endpoint::{Input, Transmit};
use sip_core::transport::Transport;
use sip_core::transport::limits::StreamLimits;
use sip_tokio::transport::{TransportConfig, TransportStats, Transports};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;

const LIMIT: Duration = Duration::from_secs(5);

const REQ1: &[u8] = b"OPTIONS sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK-1\r\n\
Max-Forwards: 70\r\n\
To: <sip:bob@example.com>\r\n\
From: <sip:alice@example.com>;tag=a1\r\n\
Call-ID: call-1\r\n\
CSeq: 1 OPTIONS\r\n\
Content-Length: 3\r\n\
\r\n\
abc";

const REQ2: &[u8] = b"MESSAGE sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK-2\r\n\
Max-Forwards: 70\r\n\
To: <sip:bob@example.com>\r\n\
From: <sip:alice@example.com>;tag=a1\r\n\
Call-ID: call-2\r\n\
CSeq: 2 MESSAGE\r\n\
Content-Type: text/plain\r\n\
Content-Length: 5\r\n\
\r\n\
hello";

const RESP: &[u8] = b"SIP/2.0 200 OK\r\n\
Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK-1\r\n\
To: <sip:bob@example.com>;tag=b1\r\n\
From: <sip:alice@example.com>;tag=a1\r\n\
Call-ID: call-1\r\n\
CSeq: 1 OPTIONS\r\n\
Content-Length: 0\r\n\
\r\n";

/// Runs a test body within the time limit.
async fn bounded<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("test exceeded its 5 s limit")
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn config(udp: &[&str], tcp: &[&str]) -> TransportConfig {
    TransportConfig {
        udp: udp.iter().map(|s| addr(s)).collect(),
        tcp: tcp.iter().map(|s| addr(s)).collect(),
        ..Default::default()
    }
}

fn bound(t: &Transports, transport: Transport) -> SocketAddr {
    t.local_addrs()
        .into_iter()
        .find(|(tr, _)| *tr == transport)
        .map(|(_, a)| a)
        .unwrap()
}

/// The next input, which must be a `Receive`: (transport, from, to, bytes).
async fn receive(rx: &mut mpsc::Receiver<Input>) -> (Transport, SocketAddr, SocketAddr, Bytes) {
    match rx.recv().await.expect("input channel closed") {
        Input::Receive {
            transport,
            from,
            to,
            bytes,
        } => (transport, from, to, bytes),
        other => panic!("expected Receive, got {other:?}"),
    }
}

/// Waits until the stats satisfy `pred` (counters are updated by other tasks).
async fn stats_until(t: &Transports, pred: impl Fn(&TransportStats) -> bool) -> TransportStats {
    loop {
        let s = t.stats();
        if pred(&s) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Reads exactly `n` bytes.
async fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    s.read_exact(&mut buf).await.unwrap();
    buf
}

/// Whether the peer closed the connection (EOF or reset) on the next read.
async fn closed_by_peer(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    matches!(s.read(&mut buf).await, Ok(0) | Err(_))
}

fn transmit(transport: Transport, destination: SocketAddr, bytes: &'static [u8]) -> Transmit {
    Transmit {
        transport,
        source: None,
        destination,
        bytes: Bytes::from_static(bytes),
        server_name: None,
        ws_url: None,
    }
}

async fn udp_round_trip(ip: &str) {
    let (t, mut rx) = Transports::bind(config(&[&format!("{ip}:0")], &[]))
        .await
        .unwrap();
    let local = bound(&t, Transport::Udp);
    assert_ne!(local.port(), 0);
    let peer = UdpSocket::bind(format!("{ip}:0")).await.unwrap();
    let peer_addr = peer.local_addr().unwrap();

    peer.send_to(REQ1, local).await.unwrap();
    let (transport, from, to, bytes) = receive(&mut rx).await;
    assert_eq!(transport, Transport::Udp);
    assert_eq!(from, peer_addr);
    assert_eq!(to, local);
    assert_eq!(&bytes[..], REQ1);

    t.send(Transmit {
        source: Some(local),
        ..transmit(Transport::Udp, peer_addr, RESP)
    });
    let mut buf = [0u8; 2048];
    let (n, from) = peer.recv_from(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], RESP);
    assert_eq!(from, local);
    let s = stats_until(&t, |s| s.datagrams_out == 1).await;
    assert_eq!(s.datagrams_in, 1);
    assert_eq!(s.transport_errors, 0);
}

#[tokio::test]
async fn udp_round_trip_ipv4() {
    bounded(udp_round_trip("127.0.0.1")).await;
}

#[tokio::test]
async fn udp_round_trip_ipv6() {
    bounded(udp_round_trip("[::1]")).await;
}

#[tokio::test]
async fn udp_oversize_and_keepalive_datagrams_are_dropped_and_counted() {
    bounded(async {
        let cfg = TransportConfig {
            max_message_size: 300,
            ..config(&["127.0.0.1:0"], &[])
        };
        let (t, mut rx) = Transports::bind(cfg).await.unwrap();
        let local = bound(&t, Transport::Udp);
        let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        peer.send_to(&[b'x'; 301], local).await.unwrap();
        peer.send_to(b"\r\n\r\n", local).await.unwrap();
        peer.send_to(b"", local).await.unwrap();
        peer.send_to(&[b'y'; 300], local).await.unwrap();
        // Only the datagram at the limit comes through.
        let (_, _, _, bytes) = receive(&mut rx).await;
        assert_eq!(&bytes[..], &[b'y'; 300][..]);
        let s = t.stats();
        assert_eq!(s.oversize_dropped, 1);
        assert_eq!(s.keepalives_in, 2);
        assert_eq!(s.datagrams_in, 1);
    })
    .await;
}

#[tokio::test]
async fn udp_without_a_socket_of_the_family_is_a_transport_error() {
    bounded(async {
        let (t, mut rx) = Transports::bind(config(&["127.0.0.1:0"], &[]))
            .await
            .unwrap();
        let dest = addr("[::1]:5060");
        t.send(transmit(Transport::Udp, dest, REQ1));
        match rx.recv().await.unwrap() {
            Input::TransportError {
                transport,
                destination,
            } => {
                assert_eq!(transport, Transport::Udp);
                assert_eq!(destination, dest);
            }
            other => panic!("expected TransportError, got {other:?}"),
        }
        assert_eq!(t.stats().transport_errors, 1);
    })
    .await;
}

#[tokio::test]
async fn tcp_stream_is_framed_into_messages() {
    bounded(async {
        let (t, mut rx) = Transports::bind(config(&[], &["127.0.0.1:0"]))
            .await
            .unwrap();
        let listen = bound(&t, Transport::Tcp);
        let mut client = TcpStream::connect(listen).await.unwrap();
        let client_addr = client.local_addr().unwrap();

        // Two messages in one write.
        let mut both = REQ1.to_vec();
        both.extend_from_slice(REQ2);
        client.write_all(&both).await.unwrap();
        for expected in [REQ1, REQ2] {
            let (transport, from, to, bytes) = receive(&mut rx).await;
            assert_eq!(transport, Transport::Tcp);
            assert_eq!(from, client_addr);
            assert_eq!(to, listen);
            assert_eq!(&bytes[..], expected);
        }

        // One message split over several writes.
        for chunk in REQ2.chunks(17) {
            client.write_all(chunk).await.unwrap();
            client.flush().await.unwrap();
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let (_, from, _, bytes) = receive(&mut rx).await;
        assert_eq!(from, client_addr);
        assert_eq!(&bytes[..], REQ2);
        assert!(rx.try_recv().is_err(), "exactly three messages");

        let s = t.stats();
        assert_eq!(s.stream_messages_in, 3);
        assert_eq!(s.connections_accepted, 1);
        assert_eq!(t.connection_count(), 1);
    })
    .await;
}

async fn tcp_response_on_accepted_connection(ip: &str) {
    let (t, mut rx) = Transports::bind(config(&[], &[&format!("{ip}:0")]))
        .await
        .unwrap();
    let listen = bound(&t, Transport::Tcp);
    let mut client = TcpStream::connect(listen).await.unwrap();
    client.write_all(REQ1).await.unwrap();
    let (_, from, _, _) = receive(&mut rx).await;
    assert_eq!(from, client.local_addr().unwrap());

    // The core addresses the response to the request's source (RFC 3261 §18.2.2).
    t.send(transmit(Transport::Tcp, from, RESP));
    assert_eq!(read_n(&mut client, RESP.len()).await, RESP);

    let s = stats_until(&t, |s| s.stream_messages_out == 1).await;
    assert_eq!(s.connections_accepted, 1);
    assert_eq!(
        s.connections_opened, 0,
        "no new connection for the response"
    );
    assert_eq!(t.connection_count(), 1);
}

#[tokio::test]
async fn tcp_response_goes_back_on_the_accepted_connection_ipv4() {
    bounded(tcp_response_on_accepted_connection("127.0.0.1")).await;
}

#[tokio::test]
async fn tcp_response_goes_back_on_the_accepted_connection_ipv6() {
    bounded(tcp_response_on_accepted_connection("[::1]")).await;
}

#[tokio::test]
async fn tcp_outgoing_connection_is_opened_once_and_reused() {
    bounded(async {
        let (t, mut rx) = Transports::bind(config(&[], &[])).await.unwrap();
        let peer = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let peer_addr = peer.local_addr().unwrap();

        t.send(transmit(Transport::Tcp, peer_addr, REQ1));
        let (mut conn, _) = peer.accept().await.unwrap();
        assert_eq!(read_n(&mut conn, REQ1.len()).await, REQ1);

        t.send(transmit(Transport::Tcp, peer_addr, REQ2));
        assert_eq!(read_n(&mut conn, REQ2.len()).await, REQ2);
        // No second connection arrives.
        let second = tokio::time::timeout(Duration::from_millis(200), peer.accept()).await;
        assert!(second.is_err(), "a second connection was opened");

        // The peer answers on the same connection; it reaches the endpoint from the
        // address the connection was opened to.
        conn.write_all(RESP).await.unwrap();
        let (transport, from, to, bytes) = receive(&mut rx).await;
        assert_eq!(transport, Transport::Tcp);
        assert_eq!(from, peer_addr);
        assert_eq!(to, conn.peer_addr().unwrap());
        assert_eq!(&bytes[..], RESP);

        let s = t.stats();
        assert_eq!(s.connections_opened, 1);
        assert_eq!(s.connections_accepted, 0);
        assert_eq!(s.stream_messages_out, 2);
        assert_eq!(t.connection_count(), 1);
    })
    .await;
}

#[tokio::test]
async fn tcp_connect_to_a_closed_port_is_a_transport_error() {
    bounded(async {
        let (t, mut rx) = Transports::bind(config(&[], &[])).await.unwrap();
        let closed = {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            l.local_addr().unwrap()
        };
        t.send(transmit(Transport::Tcp, closed, REQ1));
        match rx.recv().await.unwrap() {
            Input::TransportError {
                transport,
                destination,
            } => {
                assert_eq!(transport, Transport::Tcp);
                assert_eq!(destination, closed);
            }
            other => panic!("expected TransportError, got {other:?}"),
        }
        let s = t.stats();
        assert_eq!(s.transport_errors, 1);
        assert_eq!(s.connections_opened, 0);
        assert_eq!(
            t.connection_count(),
            0,
            "the failed connection left the table"
        );
    })
    .await;
}

#[tokio::test]
async fn tcp_crlf_ping_gets_a_crlf_pong() {
    bounded(async {
        let (t, mut rx) = Transports::bind(config(&[], &["127.0.0.1:0"]))
            .await
            .unwrap();
        let mut client = TcpStream::connect(bound(&t, Transport::Tcp)).await.unwrap();
        client.write_all(b"\r\n\r\n").await.unwrap();
        assert_eq!(read_n(&mut client, 2).await, b"\r\n");

        // A ping split over two writes, then a message: one more pong, and the message.
        client.write_all(b"\r\n").await.unwrap();
        client.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        client.write_all(b"\r\n").await.unwrap();
        assert_eq!(read_n(&mut client, 2).await, b"\r\n");
        client.write_all(REQ1).await.unwrap();
        let (_, _, _, bytes) = receive(&mut rx).await;
        assert_eq!(&bytes[..], REQ1);

        let s = t.stats();
        assert_eq!(s.keepalives_in, 2);
        assert_eq!(s.pongs_sent, 2);
        assert_eq!(s.stream_messages_out, 0, "pongs are not messages");
    })
    .await;
}

/// A message without Content-Length breaks the framing (RFC 3261 §18.3): what was held of
/// it goes to the endpoint as `Input::Unframed`, an answer sent meanwhile still reaches
/// the peer, and then the connection closes.
#[tokio::test]
async fn tcp_framing_error_closes_the_connection() {
    bounded(async {
        let (t, mut rx) = Transports::bind(config(&[], &["127.0.0.1:0"]))
            .await
            .unwrap();
        let mut client = TcpStream::connect(bound(&t, Transport::Tcp))
            .await
            .unwrap();
        client
            .write_all(b"OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK-3\r\n\r\n")
            .await
            .unwrap();
        let Some(Input::Unframed {
            from, bytes, error, ..
        }) = rx.recv().await
        else {
            panic!("the unframed message")
        };
        assert!(bytes.starts_with(b"OPTIONS sip:bob@example.com SIP/2.0\r\n"));
        assert_eq!(error.kind, sip_core::message::ParseErrorKind::MissingContentLength);
        // The endpoint's answer (here a stand-in) goes out before the close.
        t.send(transmit(Transport::Tcp, from, RESP));
        assert_eq!(read_n(&mut client, RESP.len()).await, RESP);
        assert!(closed_by_peer(&mut client).await);
        let s = stats_until(&t, |s| s.connections_closed == 1).await;
        assert_eq!(s.framing_errors, 1);
        assert_eq!(s.stream_messages_in, 0);
        assert_eq!(t.connection_count(), 0);
        assert!(rx.try_recv().is_err(), "nothing else reached the endpoint");
    })
    .await;
}

#[tokio::test]
async fn tcp_malformed_but_framed_message_goes_to_the_endpoint_and_the_stream_goes_on() {
    bounded(async {
        let (t, mut rx) = Transports::bind(config(&[], &["127.0.0.1:0"]))
            .await
            .unwrap();
        let mut client = TcpStream::connect(bound(&t, Transport::Tcp)).await.unwrap();
        let bad: &[u8] = b"NOT A START LINE\r\nContent-Length: 2\r\n\r\nxy";
        let mut stream = bad.to_vec();
        stream.extend_from_slice(REQ1);
        client.write_all(&stream).await.unwrap();
        // Framed, not parsed: the endpoint judges (and counts) the malformed one.
        let (_, _, _, bytes) = receive(&mut rx).await;
        assert_eq!(&bytes[..], bad);
        let (_, _, _, bytes) = receive(&mut rx).await;
        assert_eq!(&bytes[..], REQ1);
        let s = t.stats();
        assert_eq!(s.stream_messages_in, 2);
        assert_eq!(s.framing_errors, 0);
        assert_eq!(s.connections_closed, 0);
    })
    .await;
}

#[tokio::test]
async fn tcp_idle_connection_is_closed_and_traffic_keeps_it_open() {
    bounded(async {
        let cfg = TransportConfig {
            tcp_limits: StreamLimits {
                idle_timeout: Duration::from_millis(300),
                ..Default::default()
            },
            ..config(&[], &["127.0.0.1:0"])
        };
        let (t, _rx) = Transports::bind(cfg).await.unwrap();
        let mut client = TcpStream::connect(bound(&t, Transport::Tcp)).await.unwrap();
        // Pings every 100 ms for 600 ms keep the connection open past the timeout.
        for _ in 0..6 {
            client.write_all(b"\r\n\r\n").await.unwrap();
            assert_eq!(read_n(&mut client, 2).await, b"\r\n");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(t.stats().idle_closed, 0);
        assert_eq!(t.connection_count(), 1);
        // Then silence closes it.
        let quiet = tokio::time::Instant::now();
        assert!(closed_by_peer(&mut client).await);
        assert!(quiet.elapsed() >= Duration::from_millis(150));
        let s = stats_until(&t, |s| s.connections_closed == 1).await;
        assert_eq!(s.idle_closed, 1);
        assert_eq!(t.connection_count(), 0);
    })
    .await;
}

#[tokio::test]
async fn tcp_max_connections_is_enforced() {
    bounded(async {
        let cfg = TransportConfig {
            tcp_limits: StreamLimits {
                max_connections: 1,
                ..Default::default()
            },
            ..config(&[], &["127.0.0.1:0"])
        };
        let (t, mut rx) = Transports::bind(cfg).await.unwrap();
        let listen = bound(&t, Transport::Tcp);
        let mut first = TcpStream::connect(listen).await.unwrap();
        first.write_all(REQ1).await.unwrap();
        receive(&mut rx).await;
        assert_eq!(t.connection_count(), 1);

        // A second accept is closed at once.
        let mut second = TcpStream::connect(listen).await.unwrap();
        assert!(closed_by_peer(&mut second).await);
        let s = stats_until(&t, |s| s.connections_refused == 1).await;
        assert_eq!(s.connections_accepted, 1);

        // An outgoing connection is refused too, as a transport error.
        let peer = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dest = peer.local_addr().unwrap();
        t.send(transmit(Transport::Tcp, dest, REQ2));
        match rx.recv().await.unwrap() {
            Input::TransportError {
                transport,
                destination,
            } => {
                assert_eq!(transport, Transport::Tcp);
                assert_eq!(destination, dest);
            }
            other => panic!("expected TransportError, got {other:?}"),
        }
        let s = t.stats();
        assert_eq!(s.connections_refused, 2);
        assert_eq!(s.connections_opened, 0);

        // The first connection still works.
        first.write_all(REQ2).await.unwrap();
        let (_, _, _, bytes) = receive(&mut rx).await;
        assert_eq!(&bytes[..], REQ2);
    })
    .await;
}

#[tokio::test]
async fn unsupported_transport_is_a_transport_error() {
    bounded(async {
        let (t, mut rx) = Transports::bind(config(&[], &[])).await.unwrap();
        let dest = addr("127.0.0.1:5060");
        t.send(transmit(Transport::Sctp, dest, REQ1));
        match rx.recv().await.unwrap() {
            Input::TransportError {
                transport,
                destination,
            } => {
                assert_eq!(transport, Transport::Sctp);
                assert_eq!(destination, dest);
            }
            other => panic!("expected TransportError, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn shutdown_closes_listeners_and_connections() {
    bounded(async {
        let (t, _rx) = Transports::bind(config(&["127.0.0.1:0"], &["127.0.0.1:0"]))
            .await
            .unwrap();
        let listen = bound(&t, Transport::Tcp);
        let mut client = TcpStream::connect(listen).await.unwrap();
        stats_until(&t, |s| s.connections_accepted == 1).await;

        t.shutdown().await;
        assert!(closed_by_peer(&mut client).await);
        assert!(TcpStream::connect(listen).await.is_err(), "listener closed");
        assert_eq!(t.connection_count(), 0);
        assert_eq!(t.stats().connections_closed, 1);
        // Sending after shutdown does nothing.
        t.send(transmit(Transport::Tcp, listen, REQ1));
        assert_eq!(t.connection_count(), 0);
    })
    .await;
}

#[tokio::test]
async fn dropping_the_transports_ends_every_task() {
    bounded(async {
        let (t, mut rx) = Transports::bind(config(&["127.0.0.1:0"], &["127.0.0.1:0"]))
            .await
            .unwrap();
        let listen = bound(&t, Transport::Tcp);
        let mut client = TcpStream::connect(listen).await.unwrap();
        client.write_all(REQ1).await.unwrap();
        receive(&mut rx).await;
        drop(t);
        // The input channel closes once the last task let go of it.
        assert!(rx.recv().await.is_none());
        assert!(closed_by_peer(&mut client).await);
    })
    .await;
}

/// A peer that connects from its listening address while our connection to that address is
/// open: the newest connection is used for sending, the older one still delivers.
#[cfg(unix)]
#[tokio::test]
async fn tcp_peer_connecting_from_its_listening_port_takes_over_sending() {
    use tokio::net::TcpSocket;
    fn shared_port_socket() -> TcpSocket {
        let s = TcpSocket::new_v4().unwrap();
        s.set_reuseaddr(true).unwrap();
        s.set_reuseport(true).unwrap();
        s
    }
    bounded(async {
        let (t, mut rx) = Transports::bind(config(&[], &["127.0.0.1:0"]))
            .await
            .unwrap();
        let listen = bound(&t, Transport::Tcp);
        let peer_listener = shared_port_socket();
        peer_listener.bind(addr("127.0.0.1:0")).unwrap();
        let peer_addr = peer_listener.local_addr().unwrap();
        let peer_listener = peer_listener.listen(16).unwrap();

        // Our connection to the peer.
        t.send(transmit(Transport::Tcp, peer_addr, REQ1));
        let (mut ours, _) = peer_listener.accept().await.unwrap();
        assert_eq!(read_n(&mut ours, REQ1.len()).await, REQ1);

        // The peer connects to us from its listening address.
        let theirs_socket = shared_port_socket();
        theirs_socket.bind(peer_addr).unwrap();
        let mut theirs = theirs_socket.connect(listen).await.unwrap();
        theirs.write_all(REQ2).await.unwrap();
        let (_, from, _, bytes) = receive(&mut rx).await;
        assert_eq!(from, peer_addr);
        assert_eq!(&bytes[..], REQ2);

        // Sending to the peer address now uses the newest connection.
        t.send(transmit(Transport::Tcp, peer_addr, RESP));
        assert_eq!(read_n(&mut theirs, RESP.len()).await, RESP);
        // The older connection still delivers.
        ours.write_all(RESP).await.unwrap();
        let (_, from, _, bytes) = receive(&mut rx).await;
        assert_eq!(from, peer_addr);
        assert_eq!(&bytes[..], RESP);
        assert_eq!(t.connection_count(), 1);
        let s = t.stats();
        assert_eq!(s.connections_opened, 1);
        assert_eq!(s.connections_accepted, 1);
        assert_eq!(s.connections_closed, 0);
    })
    .await;
}

#[test]
fn transports_can_be_shared_between_tasks() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Transports>();
    assert_send_sync::<TransportStats>();
    assert_send_sync::<TransportConfig>();
}

#[tokio::test]
async fn socket_options_and_unbounded_timeouts_are_accepted() {
    bounded(async {
        let cfg = TransportConfig {
            recv_buffer_size: Some(256 * 1024),
            send_buffer_size: Some(256 * 1024),
            reuse_address: false,
            tcp_limits: StreamLimits {
                idle_timeout: Duration::MAX,
                message_deadline: Duration::MAX,
                ..Default::default()
            },
            connect_timeout: Duration::MAX,
            ..config(&["127.0.0.1:0", "[::1]:0"], &["127.0.0.1:0", "[::1]:0"])
        };
        let (t, mut rx) = Transports::bind(cfg).await.unwrap();
        let kinds: Vec<Transport> = t.local_addrs().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            kinds,
            [
                Transport::Udp,
                Transport::Udp,
                Transport::Tcp,
                Transport::Tcp
            ]
        );
        assert!(t.local_addrs()[1].1.is_ipv6());
        let peer = TcpListener::bind("[::1]:0").await.unwrap();
        let dest = peer.local_addr().unwrap();
        t.send(transmit(Transport::Tcp, dest, REQ1));
        let (mut conn, _) = peer.accept().await.unwrap();
        assert_eq!(read_n(&mut conn, REQ1.len()).await, REQ1);
        conn.write_all(REQ2).await.unwrap();
        let (_, from, _, bytes) = receive(&mut rx).await;
        assert_eq!(from, dest);
        assert_eq!(&bytes[..], REQ2);
    })
    .await;
}

#[tokio::test]
async fn binding_a_port_in_use_fails_without_panicking() {
    bounded(async {
        let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = taken.local_addr().unwrap();
        let err = Transports::bind(TransportConfig {
            tcp: vec![addr],
            ..Default::default()
        })
        .await
        .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    })
    .await;
}

/// `send` never waits: with one slot per UDP queue, a second datagram queued before the
/// socket task runs (the test runtime is single-threaded) is dropped and counted. (A fresh
/// UDP socket is not known to be writable until the runtime first polls it, so its
/// datagrams go through the queue too.) A TCP connection's queue is bounded in bytes
/// instead, and the capacity does not apply to it.
#[tokio::test]
async fn full_send_queues_drop_and_count() {
    bounded(async {
        let cfg = TransportConfig {
            channel_capacity: 1,
            ..config(&["127.0.0.1:0"], &[])
        };
        let (t, _rx) = Transports::bind(cfg).await.unwrap();
        let udp_peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let udp_dest = udp_peer.local_addr().unwrap();
        let tcp_peer = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tcp_dest = tcp_peer.local_addr().unwrap();

        t.send(transmit(Transport::Udp, udp_dest, REQ1));
        t.send(transmit(Transport::Udp, udp_dest, REQ2));
        t.send(transmit(Transport::Tcp, tcp_dest, REQ1));
        t.send(transmit(Transport::Tcp, tcp_dest, REQ2));
        assert_eq!(t.stats().send_queue_full, 1);

        let mut buf = [0u8; 2048];
        let (n, _) = udp_peer.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], REQ1);
        let (mut conn, _) = tcp_peer.accept().await.unwrap();
        let mut both = REQ1.to_vec();
        both.extend_from_slice(REQ2);
        assert_eq!(read_n(&mut conn, both.len()).await, both);
        let s = t.stats();
        assert_eq!(s.datagrams_out, 1);
        assert_eq!(s.stream_messages_out, 2);
    })
    .await;
}

/// A message that would take a connection's queue past `max_output_per_connection` closes
/// the connection (its queue freed, the loss reported as a transport error).
#[tokio::test]
async fn tcp_output_cap_closes_the_connection() {
    bounded(async {
        let cfg = TransportConfig {
            tcp_limits: StreamLimits {
                // Room for REQ1 and its entry, not for REQ2 as well.
                max_output_per_connection: REQ1.len() + 100,
                ..Default::default()
            },
            ..config(&[], &[])
        };
        let (t, mut rx) = Transports::bind(cfg).await.unwrap();
        let tcp_peer = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dest = tcp_peer.local_addr().unwrap();
        // Both are queued before the connect completes: the second is over the cap.
        t.send(transmit(Transport::Tcp, dest, REQ1));
        t.send(transmit(Transport::Tcp, dest, REQ2));
        match rx.recv().await.unwrap() {
            Input::TransportError { destination, .. } => assert_eq!(destination, dest),
            other => panic!("expected TransportError, got {other:?}"),
        }
        let s = stats_until(&t, |s| s.connections_closed == 1).await;
        assert_eq!(s.output_cap_closed, 1);
        assert!(s.peak_output_queued <= (REQ1.len() + 100) as u64);
        assert_eq!(t.connection_count(), 0);
    })
    .await;
}

#[tokio::test]
async fn udp_datagrams_are_written_at_once_in_order() {
    bounded(async {
        let (t, _rx) = Transports::bind(config(&["127.0.0.1:0"], &[]))
            .await
            .unwrap();
        let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let dest = peer.local_addr().unwrap();
        // Let the runtime poll the new socket once: its writability is then known.
        tokio::time::sleep(Duration::from_millis(20)).await;
        t.send(transmit(Transport::Udp, dest, REQ1));
        t.send(transmit(Transport::Udp, dest, REQ2));
        t.send(transmit(Transport::Udp, dest, REQ1));
        // Counted as sent before this task yielded even once.
        assert_eq!(t.stats().datagrams_out, 3);
        assert_eq!(t.stats().send_queue_full, 0);
        let mut buf = [0u8; 2048];
        for want in [REQ1, REQ2, REQ1] {
            let (n, _) = peer.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], want);
        }
        t.shutdown().await;
        // After shutdown nothing is sent.
        t.send(transmit(Transport::Udp, dest, REQ2));
        assert_eq!(t.stats().datagrams_out, 3);
    })
    .await;
}
