//! The mio driver running the `mio_uas` app over TCP against the attacks of issue 16
//! (items 4 and 5): the core's stream policy applied by this driver. Loopback only; every
//! test is bounded.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{Harness, addr, now};
use sip_core::transport::Transport;
use sip_core::transport::limits::StreamLimits;
use sip_mio::{DriverConfig, Listen};
use socket2::{Domain, Socket, Type};

const LIMIT: Duration = Duration::from_secs(10);

/// A harness whose one node is the `mio_uas` app on TCP with `limits`; its address.
fn uas(limits: StreamLimits) -> (Harness, SocketAddr) {
    let mut h = Harness::new();
    let mut config = DriverConfig::new(vec![Listen::tcp(addr("127.0.0.1:0"))]).seed(16);
    config.tcp_limits = limits;
    h.add(config, true);
    let server = h.driver(0).local_addr(Transport::Tcp).unwrap();
    (h, server)
}

/// An OPTIONS over TCP from `via_host`, with `extra` header lines.
fn options(to: SocketAddr, via_host: &str, n: usize, extra: &str) -> Vec<u8> {
    format!(
        "OPTIONS sip:uas@{to} SIP/2.0\r\n\
         Via: SIP/2.0/TCP {via_host}:5060;branch=z9hG4bK-limits-{n}\r\n\
         {extra}\
         Max-Forwards: 70\r\n\
         To: <sip:uas@{to}>\r\n\
         From: <sip:tester@{via_host}>;tag=t{n}\r\n\
         Call-ID: limits-{n}@{via_host}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// A connection to `server` from `source` (any port).
fn connect_from(source: &str, server: SocketAddr) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.bind(&addr(&format!("{source}:0")).into()).unwrap();
    socket.connect(&server.into()).unwrap();
    socket.into()
}

/// Turns the loop until `conn` has delivered a whole response head; the head.
fn response_head(h: &mut Harness, conn: &mut TcpStream) -> String {
    conn.set_nonblocking(true).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    let done = h.run_until(LIMIT, |_| {
        loop {
            match conn.read(&mut byte) {
                Ok(1) => {
                    head.push(byte[0]);
                    if head.ends_with(b"\r\n\r\n") {
                        return true;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
                other => panic!("connection ended before a response: {other:?}"),
            }
        }
    });
    assert!(done, "no response within {LIMIT:?}");
    String::from_utf8(head).unwrap()
}

/// Whether the peer closed `conn` (end of stream or an error), turning the loop meanwhile.
fn closed(h: &mut Harness, conn: &mut TcpStream, within: Duration) -> bool {
    conn.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 4096];
    h.run_until(within, |_| {
        loop {
            match conn.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
                Err(_) => return true,
            }
        }
    })
}

/// One source holds at most `max_connections_per_source`; other sources still get in
/// (and are answered) until the total is reached.
#[test]
fn one_source_cannot_take_every_connection() {
    let limits = StreamLimits {
        max_connections: 8,
        max_connections_per_source: 3,
        ..StreamLimits::default()
    };
    let (mut h, server) = uas(limits);
    let idle: Vec<TcpStream> = (0..10).map(|_| connect_from("127.0.0.1", server)).collect();
    assert!(h.run_until(LIMIT, |h| {
        let s = h.driver(0).stats();
        s.connections_accepted + s.source_limit_refused == 10
    }));
    let s = h.driver(0).stats();
    assert_eq!((s.connections_accepted, s.source_limit_refused), (3, 7));
    assert_eq!(h.driver(0).connection_count(), 3);

    // Another source is served.
    let mut other = connect_from("127.0.0.2", server);
    other
        .write_all(&options(server, "127.0.0.2", 1, ""))
        .unwrap();
    let head = response_head(&mut h, &mut other);
    assert!(head.starts_with("SIP/2.0 200 "), "{head}");

    // Four more sources reach the total of 8; the next is refused for the total.
    let more: Vec<TcpStream> = (3..7)
        .map(|i| connect_from(&format!("127.0.0.{i}"), server))
        .collect();
    let mut late = connect_from("127.0.0.7", server);
    assert!(closed(&mut h, &mut late, LIMIT));
    let s = h.driver(0).stats();
    assert_eq!(s.connections_accepted, 8);
    assert_eq!(s.connections_refused, 1);
    assert_eq!(s.source_limit_refused, 7);
    drop((idle, more));
}

/// A message trickled byte by byte is closed at the message deadline, however often its
/// bytes come; a connection that only pings (RFC 5626 §3.5.1) meanwhile is kept and
/// answered.
#[test]
fn a_trickle_is_closed_at_the_message_deadline_but_pings_keep_a_connection() {
    let limits = StreamLimits {
        message_deadline: Duration::from_millis(400),
        idle_timeout: Duration::from_secs(5),
        ..StreamLimits::default()
    };
    let (mut h, server) = uas(limits);
    let mut pinger = connect_from("127.0.0.1", server);
    let mut trickler = connect_from("127.0.0.1", server);
    let request = options(server, "127.0.0.1", 2, "");
    let t0 = now();
    for i in 0..10 {
        pinger.write_all(b"\r\n\r\n").unwrap();
        let _ = trickler.write_all(&request[i..=i]);
        h.run_until(Duration::from_millis(100), |_| false);
    }
    assert!(closed(&mut h, &mut trickler, LIMIT));
    assert!(now() - t0 >= limits.message_deadline);
    // Ten pongs, then the answer to a whole request.
    pinger.write_all(&request).unwrap();
    pinger.set_nonblocking(true).unwrap();
    let mut pongs = [0u8; 20];
    let mut got = 0;
    assert!(h.run_until(LIMIT, |_| {
        match pinger.read(&mut pongs[got..]) {
            Ok(n) => got += n,
            Err(e) => assert_eq!(e.kind(), ErrorKind::WouldBlock),
        }
        got == pongs.len()
    }));
    assert!(pongs.chunks(2).all(|c| c == b"\r\n"));
    let head = response_head(&mut h, &mut pinger);
    assert!(head.starts_with("SIP/2.0 200 "), "{head}");
    let s = h.driver(0).stats();
    assert_eq!((s.message_deadline_closed, s.idle_closed), (1, 0));
    assert_eq!((s.keepalives_in, s.pongs_sent), (10, 10));
}

/// A connection that brings neither a message nor a ping for the idle timeout is closed.
#[test]
fn a_silent_connection_is_closed_at_the_idle_timeout() {
    let limits = StreamLimits {
        idle_timeout: Duration::from_millis(300),
        ..StreamLimits::default()
    };
    let (mut h, server) = uas(limits);
    let mut silent = connect_from("127.0.0.1", server);
    assert!(closed(&mut h, &mut silent, LIMIT));
    let s = h.driver(0).stats();
    assert_eq!((s.idle_closed, s.message_deadline_closed), (1, 0));
    assert_eq!(h.driver(0).connection_count(), 0);
}

/// A peer that sends requests and never reads is closed once its queue would pass the
/// default per-connection cap (1 MiB); no connection ever held more.
#[test]
fn a_peer_that_never_reads_is_closed_at_its_output_cap() {
    let limits = StreamLimits::default();
    let (mut h, server) = uas(limits);
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(&server.into()).unwrap();
    let mut conn: TcpStream = socket.into();
    conn.set_write_timeout(Some(LIMIT)).unwrap();
    // ~50 kB of Via rows, copied into every response.
    let pad = "p".repeat(220);
    let vias: String = (0..200)
        .map(|i| {
            format!(
                "Via: SIP/2.0/TCP 10.0.0.{}:5060;branch=z9hG4bK-hop{i};x={pad}\r\n",
                i % 250
            )
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            for n in 0..600 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                if conn
                    .write_all(&options(server, "127.0.0.1", 1000 + n, &vias))
                    .is_err()
                {
                    break;
                }
            }
            conn
        })
    };
    let closed_at_cap = h.run_until(Duration::from_secs(30), |h| {
        h.driver(0).stats().output_cap_closed >= 1
    });
    stop.store(true, Ordering::Relaxed);
    let conn = writer.join().unwrap();
    assert!(closed_at_cap, "{:?}", h.driver(0).stats());
    let s = h.driver(0).stats();
    assert!(s.peak_connection_output > 0);
    assert!(
        s.peak_connection_output <= limits.max_output_per_connection as u64,
        "{} bytes on one connection",
        s.peak_connection_output
    );
    assert!(s.peak_output_queued <= limits.max_output_total as u64);
    drop(conn);
}
