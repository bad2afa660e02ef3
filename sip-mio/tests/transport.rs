//! The driver's sockets over loopback: sleeping while idle, transport errors, malformed
//! input, keep-alives, framing, idle close, queued writes, limits (RFC 3261 §18, RFC 5626).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

use bytes::Bytes;
use common::{Harness, addr, now, request, send};
use sip_core::endpoint::{Event as SipEvent, Failure, Target};
use sip_core::message::{Method, ParseOptions, StreamFramer};
use sip_core::transport::Transport;
use sip_mio::{DriverConfig, Event, Listen, TransportFailure};

const LIMIT: Duration = Duration::from_secs(5);

fn options(
    h: &mut Harness,
    n: usize,
    to: SocketAddr,
    transport: Transport,
) -> sip_core::endpoint::ClientTxId {
    let req = request(
        h,
        n,
        Method::Options,
        &format!("sip:x@{to}"),
        "<sip:a@example.com>",
        "<sip:x@example.com>",
    )
    .build()
    .unwrap();
    send(h, n, req, Target::new(transport, to))
}

/// A UDP port with nobody behind it.
fn black_hole() -> SocketAddr {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.local_addr().unwrap()
}

#[test]
fn idle_driver_sleeps_until_its_next_timer() {
    let mut h = Harness::new();
    let a = h.add_on(vec![Listen::udp(addr("127.0.0.1:0"))], 1, false);
    // Nothing scheduled: sleep until a socket is ready.
    assert_eq!(h.driver(a).next_timeout(now()), None);

    // Virtual time: an OPTIONS into a black hole retransmits at T1 = 500 ms, then 1.5 s
    // (Timer E, RFC 3261 §17.1.2.2); the loop wakes once in the first virtual second.
    let sink = black_hole();
    let req = request(
        &mut h,
        a,
        Method::Options,
        &format!("sip:x@{sink}"),
        "<sip:a@x>",
        "<sip:x@x>",
    )
    .build()
    .unwrap();
    let t0 = now();
    let tx = h
        .driver(a)
        .with_endpoint(t0, |ep| {
            ep.send_request(t0, req, Target::new(Transport::Udp, sink))
        })
        .unwrap();
    let mut t = t0;
    let mut wakes = Vec::new();
    while let Some(d) = h.driver(a).next_timeout(t) {
        assert!(d > Duration::ZERO, "busy loop at {:?}", t - t0);
        if t + d - t0 > Duration::from_secs(1) {
            break;
        }
        t += d;
        wakes.push(t - t0);
        h.driver(a).handle_timeout(t);
        h.drain_events();
    }
    assert_eq!(wakes, [Duration::from_millis(500)]);
    assert_eq!(h.driver(a).stats().datagrams_out, 2);
    // Then only the Timer E wake-ups (T2 = 4 s caps the interval) and Timer F at 64·T1.
    let mut wakes = Vec::new();
    while let Some(d) = h.driver(a).next_timeout(t) {
        assert!(d > Duration::ZERO, "busy loop at {:?}", t - t0);
        t += d;
        wakes.push((t - t0).as_millis());
        h.driver(a).handle_timeout(t);
        h.drain_events();
        if wakes.len() > 100 {
            break;
        }
    }
    assert_eq!(
        wakes,
        [
            1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500, 32000
        ]
    );
    assert!(h.nodes[a].events.iter().any(|e| matches!(
        e,
        Event::Sip(SipEvent::ClientTxFailed { tx: got, failure: Failure::Timeout }) if *got == tx
    )));
    assert_eq!(h.driver(a).next_timeout(t), None);
}

#[test]
fn idle_driver_does_not_spin_in_a_real_poll() {
    let mut h = Harness::new();
    let a = h.add_on(
        vec![
            Listen::udp(addr("127.0.0.1:0")),
            Listen::tcp(addr("127.0.0.1:0")),
        ],
        2,
        false,
    );
    let sink = black_hole();
    options(&mut h, a, sink, Transport::Udp);
    // One real second: wake-ups only for the retransmission at 500 ms and the end.
    let end = now() + Duration::from_secs(1);
    let mut iterations = 0;
    let mut events = mio::Events::with_capacity(16);
    loop {
        let t = now();
        if t >= end {
            break;
        }
        let left = end - t;
        let timeout = h.driver(a).next_timeout(t).map_or(left, |d| d.min(left));
        h.poll.poll(&mut events, Some(timeout)).unwrap();
        iterations += 1;
        let t = now();
        for ev in events.iter() {
            h.driver(a).handle_event(ev, t);
        }
        h.driver(a).handle_timeout(t);
        h.drain_events();
    }
    assert!((2..=3).contains(&iterations), "{iterations} iterations");
    assert_eq!(h.driver(a).stats().datagrams_out, 2);
}

#[test]
fn after_a_transaction_the_next_timeout_is_its_timer() {
    let mut h = Harness::new();
    let a = h.add_on(vec![Listen::udp(addr("127.0.0.1:0"))], 3, false);
    let b = h.add_on(vec![Listen::udp(addr("127.0.0.1:0"))], 4, true);
    let bob = h.driver(b).local_addr(Transport::Udp).unwrap();
    let tx = options(&mut h, a, bob, Transport::Udp);
    let t0 = now();
    assert!(
        h.run_until(LIMIT, |h| h.nodes[a].events.iter().any(|e| matches!(
            e,
            Event::Sip(SipEvent::Response { tx: got, .. }) if *got == tx
        )))
    );
    // Timer K = T4 = 5 s keeps the completed transaction (§17.1.2.2).
    let d = h.driver(a).next_timeout(now()).unwrap();
    assert!(
        d <= Duration::from_secs(5)
            && d > Duration::from_secs(5) - (now() - t0) - Duration::from_millis(10),
        "{d:?}"
    );
}

#[test]
fn tcp_reset_by_peer_is_a_transport_error_event() {
    let mut h = Harness::new();
    let a = h.add_on(vec![Listen::tcp(addr("127.0.0.1:0"))], 5, false);
    let listen = h.driver(a).local_addr(Transport::Tcp).unwrap();
    let peer = TcpStream::connect(listen).unwrap();
    let peer_addr = peer.local_addr().unwrap();
    assert!(h.run_until(LIMIT, |h| h.driver(a).connection_count() == 1));
    socket2::SockRef::from(&peer)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(peer); // RST
    assert!(h.run_until(LIMIT, |h| h.driver(a).connection_count() == 0));
    let errors: Vec<_> = h.nodes[a]
        .events
        .iter()
        .filter_map(|e| match e {
            Event::TransportError {
                transport,
                peer,
                failure,
            } => Some((*transport, *peer, failure.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        errors,
        [(
            Transport::Tcp,
            peer_addr,
            TransportFailure::Read(std::io::ErrorKind::ConnectionReset)
        )]
    );
    assert_eq!(h.driver(a).stats().connections_closed, 1);
}

#[test]
fn refused_connect_fails_the_transaction() {
    let mut h = Harness::new();
    let a = h.add_on(vec![Listen::tcp(addr("127.0.0.1:0"))], 6, false);
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let tx = options(&mut h, a, closed, Transport::Tcp);
    let failed = |h: &Harness| {
        h.nodes[a].events.iter().any(|e| matches!(
            e,
            Event::Sip(SipEvent::ClientTxFailed { tx: got, failure: Failure::TransportError }) if *got == tx
        ))
    };
    assert!(h.run_until(LIMIT, |h| failed(h)));
    assert!(h.nodes[a].events.iter().any(|e| matches!(
        e,
        Event::TransportError { peer, failure: TransportFailure::Connect(std::io::ErrorKind::ConnectionRefused), .. } if *peer == closed
    )));
    assert_eq!(h.driver(a).connection_count(), 0);
    assert_eq!(h.driver(a).stats().transport_errors, 1);
}

#[test]
fn malformed_datagrams_are_counted_and_the_driver_goes_on() {
    let mut h = Harness::new();
    let b = h.add_on(vec![Listen::udp(addr("127.0.0.1:0"))], 7, true);
    let bob = h.driver(b).local_addr(Transport::Udp).unwrap();
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    for junk in [
        &b"\x00\x01garbage"[..],
        b"NOT SIP AT ALL\r\n\r\n",
        b"INVITE\r\n",
    ] {
        peer.send_to(junk, bob).unwrap();
    }
    peer.send_to(b"\r\n\r\n", bob).unwrap(); // a keep-alive, not an error
    assert!(
        h.run_until(LIMIT, |h| h.driver(b).endpoint().stats().parse_errors == 3
            && h.driver(b).stats().keepalives_in == 1)
    );
    assert_eq!(h.driver(b).stats().datagrams_in, 3);
    // Still answering.
    let a = h.add_on(vec![Listen::udp(addr("127.0.0.1:0"))], 8, false);
    let tx = options(&mut h, a, bob, Transport::Udp);
    assert!(h.run_until(LIMIT, |h| h.nodes[a].events.iter().any(|e| matches!(
        e,
        Event::Sip(SipEvent::Response { tx: got, response }) if *got == tx && response.status() == 200
    ))));
}

#[test]
fn oversize_datagrams_are_dropped() {
    let mut h = Harness::new();
    let mut config = DriverConfig::new(vec![Listen::udp(addr("127.0.0.1:0"))]).seed(9);
    config.max_message_size = 1000;
    let b = h.add(config, false);
    let bob = h.driver(b).local_addr(Transport::Udp).unwrap();
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.send_to(&[b'A'; 1001], bob).unwrap();
    assert!(h.run_until(LIMIT, |h| h.driver(b).stats().oversize_dropped == 1));
    assert_eq!(h.driver(b).endpoint().stats().parse_errors, 0);
}

fn read_exact_with_driver(h: &mut Harness, s: &mut TcpStream, n: usize) -> Vec<u8> {
    read_with_driver(h, s, |got| got.len() >= n)
}

fn read_with_driver(
    h: &mut Harness,
    s: &mut TcpStream,
    mut done: impl FnMut(&[u8]) -> bool,
) -> Vec<u8> {
    s.set_nonblocking(true).unwrap();
    let mut got = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    assert!(h.run_until(LIMIT, |_| {
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(k) => got.extend_from_slice(&buf[..k]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        done(&got)
    }));
    got
}

#[test]
fn tcp_ping_gets_a_pong() {
    let mut h = Harness::new();
    let a = h.add_on(vec![Listen::tcp(addr("127.0.0.1:0"))], 10, false);
    let listen = h.driver(a).local_addr(Transport::Tcp).unwrap();
    let mut peer = TcpStream::connect(listen).unwrap();
    // One ping split over two writes.
    peer.write_all(b"\r\n").unwrap();
    assert!(h.run_until(LIMIT, |h| h.driver(a).connection_count() == 1));
    h.turn(Duration::from_millis(20));
    peer.write_all(b"\r\n").unwrap();
    let got = read_exact_with_driver(&mut h, &mut peer, 2);
    assert_eq!(got, b"\r\n");
    assert_eq!(h.driver(a).stats().pongs_sent, 1);
    assert_eq!(h.driver(a).stats().keepalives_in, 1);
}

#[test]
fn tcp_framing_error_closes_the_connection() {
    let mut h = Harness::new();
    let a = h.add_on(vec![Listen::tcp(addr("127.0.0.1:0"))], 11, false);
    let listen = h.driver(a).local_addr(Transport::Tcp).unwrap();
    let mut peer = TcpStream::connect(listen).unwrap();
    peer.write_all(b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP x;branch=z9hG4bK1\r\n\r\n")
        .unwrap();
    assert!(h.run_until(LIMIT, |h| h.driver(a).stats().framing_errors == 1));
    assert_eq!(h.driver(a).connection_count(), 0);
    assert!(h.nodes[a].events.iter().any(|e| matches!(
        e,
        Event::TransportError {
            failure: TransportFailure::Framing,
            ..
        }
    )));
    // The peer sees the close.
    peer.set_read_timeout(Some(LIMIT)).unwrap();
    let mut buf = [0u8; 16];
    assert!(matches!(peer.read(&mut buf), Ok(0) | Err(_)));
}

/// A message that breaks the framing but whose head can be read is answered before the
/// connection closes (RFC 3261 §18.3: a stream message needs Content-Length; §8.2.6).
#[test]
fn tcp_framing_error_is_answered_before_the_close() {
    let mut h = Harness::new();
    let a = h.add_on(vec![Listen::tcp(addr("127.0.0.1:0"))], 14, false);
    let listen = h.driver(a).local_addr(Transport::Tcp).unwrap();
    let mut peer = TcpStream::connect(listen).unwrap();
    peer.write_all(
        b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP x;branch=z9hG4bKf1\r\n\
          From: <sip:p@x>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: f1\r\nCSeq: 1 OPTIONS\r\n\r\n",
    )
    .unwrap();
    assert!(h.run_until(LIMIT, |h| h.driver(a).stats().framing_errors == 1));
    assert_eq!(h.driver(a).connection_count(), 0);
    // The answer, then the close.
    peer.set_read_timeout(Some(LIMIT)).unwrap();
    let mut got = Vec::new();
    let _ = peer.read_to_end(&mut got);
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.starts_with("SIP/2.0 400 Bad Request (Content-Length missing on a stream transport)"),
        "{text}"
    );
    assert!(text.contains("Call-ID: f1\r\n"), "{text}");
}

#[test]
fn idle_tcp_connections_are_closed() {
    let mut h = Harness::new();
    let mut config = DriverConfig::new(vec![Listen::tcp(addr("127.0.0.1:0"))]).seed(12);
    config.tcp_limits.idle_timeout = Duration::from_millis(200);
    let b = h.add(config, true);
    let a = h.add_on(vec![Listen::tcp(addr("127.0.0.1:0"))], 13, false);
    let bob = h.driver(b).local_addr(Transport::Tcp).unwrap();
    let tx = options(&mut h, a, bob, Transport::Tcp);
    assert!(
        h.run_until(LIMIT, |h| h.nodes[a].events.iter().any(|e| matches!(
            e,
            Event::Sip(SipEvent::Response { tx: got, .. }) if *got == tx
        )))
    );
    let t0 = now();
    assert!(h.run_until(LIMIT, |h| h.driver(b).stats().idle_closed == 1));
    assert!(now() - t0 < Duration::from_secs(2));
    assert_eq!(h.driver(b).connection_count(), 0);
    // Alice sees the peer close (no messages were lost: no error).
    assert!(h.run_until(LIMIT, |h| h.driver(a).connection_count() == 0));
    assert!(
        !h.nodes[a]
            .events
            .iter()
            .any(|e| matches!(e, Event::TransportError { .. }))
    );
}

#[test]
fn writes_that_would_block_are_queued_and_flushed() {
    let mut h = Harness::new();
    let a = h.add_on(vec![Listen::tcp(addr("127.0.0.1:0"))], 14, false);
    let sink = TcpListener::bind("127.0.0.1:0").unwrap();
    let dest = sink.local_addr().unwrap();
    let body = Bytes::from(vec![b'x'; 60_000]);
    let mut sent = 0usize;
    // Send until the kernel buffers are full and the driver queues.
    let mut conn = None;
    for _ in 0..2000 {
        let req = request(
            &mut h,
            a,
            Method::Message,
            &format!("sip:x@{dest}"),
            "<sip:a@x>",
            "<sip:x@x>",
        )
        .body("text/plain", body.clone())
        .build()
        .unwrap();
        send(&mut h, a, req, Target::new(Transport::Tcp, dest));
        sent += 1;
        if conn.is_none() {
            h.turn(Duration::from_millis(50)); // connect
            conn = Some(sink.accept().unwrap().0);
        }
        if h.driver(a).stats().writes_queued > 0 {
            break;
        }
    }
    assert!(h.driver(a).stats().writes_queued > 0, "never blocked");
    // The peer reads everything: the queue drains on writable readiness, in order.
    let mut conn = conn.unwrap();
    let mut framer = StreamFramer::new(ParseOptions::default());
    let mut framed = 0;
    let mut seen = 0;
    read_with_driver(&mut h, &mut conn, |got| {
        framer.push(&got[seen..]);
        seen = got.len();
        while let Some(m) = framer.next_message() {
            let m = m.unwrap();
            assert_eq!(m.as_request().unwrap().method(), &Method::Message);
            assert_eq!(m.message().body(), &body);
            framed += 1;
        }
        framed == sent
    });
    assert_eq!(framer.buffered(), 0);
    assert_eq!(h.driver(a).stats().stream_messages_out, sent as u64);
    assert!(
        !h.nodes[a]
            .events
            .iter()
            .any(|e| matches!(e, Event::TransportError { .. }))
    );
}

#[test]
fn connections_above_the_limit_are_refused() {
    let mut h = Harness::new();
    let mut config = DriverConfig::new(vec![Listen::tcp(addr("127.0.0.1:0"))]).seed(15);
    config.tcp_limits.max_connections = 1;
    let a = h.add(config, false);
    let listen = h.driver(a).local_addr(Transport::Tcp).unwrap();
    let _one = TcpStream::connect(listen).unwrap();
    assert!(h.run_until(LIMIT, |h| h.driver(a).connection_count() == 1));
    let mut two = TcpStream::connect(listen).unwrap();
    assert!(h.run_until(LIMIT, |h| h.driver(a).stats().connections_refused == 1));
    two.set_read_timeout(Some(LIMIT)).unwrap();
    let mut buf = [0u8; 4];
    assert!(matches!(two.read(&mut buf), Ok(0) | Err(_)));
    // Sending to a third address needs a connection too: a transport error.
    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    let tx = options(&mut h, a, other.local_addr().unwrap(), Transport::Tcp);
    h.drain_events();
    assert!(h.nodes[a].events.iter().any(|e| matches!(
        e,
        Event::Sip(SipEvent::ClientTxFailed { tx: got, failure: Failure::TransportError }) if *got == tx
    )));
    assert!(h.nodes[a].events.iter().any(|e| matches!(
        e,
        Event::TransportError {
            failure: TransportFailure::ConnectionLimit,
            ..
        }
    )));
}

#[test]
fn foreign_tokens_are_not_the_drivers() {
    let mut h = Harness::new();
    let a = h.add_on(vec![Listen::udp(addr("127.0.0.1:0"))], 16, false);
    assert!(!h.driver(a).owns(mio::Token(5)));
    assert!(h.driver(a).owns(mio::Token(1000)));
    assert!(!h.driver(a).handle_ready(mio::Token(5), now()));
    assert!(h.driver(a).handle_ready(mio::Token(1999), now())); // an unused connection token
}

#[test]
fn too_few_tokens_is_an_error() {
    let poll = mio::Poll::new().unwrap();
    let config = DriverConfig::new(vec![
        Listen::udp(addr("127.0.0.1:0")),
        Listen::tcp(addr("127.0.0.1:0")),
    ]);
    match sip_mio::Driver::new(config, poll.registry(), 0..2) {
        Err(sip_mio::DriverError::NotEnoughTokens { have: 2, need: 3 }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_applications_alarm_counts_as_a_timer() {
    let mut h = Harness::new();
    let a = h.add_on(vec![Listen::udp(addr("127.0.0.1:0"))], 17, false);
    let t0 = now();
    assert_eq!(h.driver(a).next_timeout(t0), None);
    // Virtual time: the loop sleeps exactly until the alarm, which rings once.
    let at = t0 + Duration::from_millis(250);
    h.driver(a).wake_at(at);
    assert_eq!(
        h.driver(a).next_timeout(t0),
        Some(Duration::from_millis(250))
    );
    h.driver(a).handle_timeout(at - Duration::from_millis(1));
    assert!(h.driver(a).poll_event().is_none());
    h.driver(a).handle_timeout(at);
    assert!(matches!(h.driver(a).poll_event(), Some(Event::Wake { at: got }) if got == at));
    assert!(h.driver(a).poll_event().is_none());
    assert_eq!(h.driver(a).wake(), None);
    assert_eq!(h.driver(a).next_timeout(at), None);
    // An alarm already due makes the next poll return at once.
    h.driver(a).wake_at(t0);
    assert_eq!(h.driver(a).next_timeout(at), Some(Duration::ZERO));
}
