//! The `smol_uas` example over TCP against the attacks of issue 16 (items 4 and 5), with the
//! core's default limits ([`StreamLimits::default`]) unless a test says otherwise, started
//! in-process as `uas_registrar.rs` starts it. Loopback only; every test is bounded.

use std::net::SocketAddr;
use std::time::Duration;

#[allow(dead_code)] // the example's API, not all of it used here
#[path = "../examples/smol_uas/smol_pbx.rs"]
mod app;
mod common;

use app::{Uas, UasConfig};
use sip_core::transport::limits::StreamLimits;
use std::net::TcpStream as StdTcpStream;
use std::time::Instant;

use async_io::{Async, Timer};
use common::{Ex, run, timeout};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use sip_smol::Transport;
use sip_smol::transport::TransportStats;
use socket2::{Domain, Socket, Type};

type TcpStream = Async<StdTcpStream>;

async fn sleep(d: Duration) {
    Timer::after(d).await;
}

/// A connection to `server` from `from` (port 0: any), with a receive buffer of
/// `recv_buffer` bytes if given.
async fn connect_from(server: SocketAddr, from: &str, recv_buffer: Option<usize>) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    if let Some(size) = recv_buffer {
        socket.set_recv_buffer_size(size).unwrap();
    }
    socket
        .bind(&from.parse::<SocketAddr>().unwrap().into())
        .unwrap();
    socket.connect(&server.into()).unwrap();
    Async::new(StdTcpStream::from(socket)).unwrap()
}

/// Lets this process hold the thousands of sockets the tests open (client and server
/// ends both live here).
fn raise_open_file_limit() {
    let limit = rlimit::increase_nofile_limit(u64::MAX).expect("open-file limit raised");
    assert!(limit >= 10_000, "open-file hard limit {limit} is too low");
}

async fn uas(ex: &Ex, limits: StreamLimits) -> Uas {
    let mut config = UasConfig::new("127.0.0.1:0".parse().unwrap());
    config.transport = Transport::Tcp;
    config.seed = Some(16);
    config.tcp_limits = limits;
    Uas::start(config, ex.clone()).await.unwrap()
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

/// Reads a response's head (up to the empty line).
async fn read_head(conn: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = conn.read(&mut byte).await.expect("response read");
        assert_eq!(n, 1, "closed before a whole response head arrived");
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

/// Polls the uas's transport counters until `done` holds (at most 10 s).
async fn stats_until(uas: &Uas, done: impl Fn(&TransportStats) -> bool) -> TransportStats {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let s = uas.transport_stats().await;
        if done(&s) || Instant::now() > end {
            return s;
        }
        sleep(Duration::from_millis(20)).await;
    }
}

/// Whether the peer closed `conn` (a read returns end of stream or an error) within
/// `within`.
async fn closed_within(conn: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 512];
    let end = Instant::now() + within;
    loop {
        match timeout(
            end.saturating_duration_since(Instant::now()),
            conn.read(&mut buf),
        )
        .await
        {
            None => return false,
            Some(Ok(0)) | Some(Err(_)) => return true,
            Some(Ok(_)) => {}
        }
    }
}

/// Issue 16 item 4: 4,096 idle connections from one address used to lock every TCP caller
/// out. Now one source holds at most `max_connections_per_source` (64), so 4,200 idle
/// connections from 127.0.0.1 leave room for an OPTIONS from 127.0.0.2, answered within
/// 3 s.
#[test]
fn idle_connections_from_one_address_do_not_lock_out_another() {
    raise_open_file_limit();
    run(Duration::from_secs(60), |ex| async move {
        let uas = uas(&ex, StreamLimits::default()).await;
        let server = uas.local_addr();
        let mut idle = Vec::with_capacity(4200);
        for _ in 0..4200 {
            idle.push(TcpStream::connect(server).await.unwrap());
        }
        let s = stats_until(&uas, |s| {
            s.connections_accepted + s.source_limit_refused == 4200
        })
        .await;
        assert_eq!(s.connections_accepted, 64);
        assert_eq!(s.source_limit_refused, 4200 - 64);
        assert_eq!(s.connections_refused, 0);

        let asked = Instant::now();
        let answered = async {
            let mut conn = connect_from(server, "127.0.0.2:0", None).await;
            conn.write_all(&options(server, "127.0.0.2", 1, ""))
                .await
                .unwrap();
            read_head(&mut conn).await
        };
        let head = timeout(Duration::from_secs(3), answered)
            .await
            .expect("OPTIONS from 127.0.0.2 answered within 3 s");
        assert!(head.starts_with("SIP/2.0 200 "), "{head}");
        assert!(asked.elapsed() < Duration::from_secs(3));
        drop(idle);
        uas.shutdown().await;
    });
}

/// Issue 16 item 4 (slowloris): one byte every 2 s used to keep a connection forever. The
/// default message deadline (20 s from the first byte, not moved by later ones) closes it
/// well within 40 s.
#[test]
fn a_trickle_is_closed_by_the_default_message_deadline() {
    run(Duration::from_secs(45), |ex| async move {
        let limits = StreamLimits::default();
        let uas = uas(&ex, limits).await;
        let server = uas.local_addr();
        let mut conn = TcpStream::connect(server).await.unwrap();
        let request = options(server, "127.0.0.1", 2, "");
        let started = Instant::now();
        let mut closed = false;
        for &byte in request.iter().take(25) {
            if conn.write_all(&[byte]).await.is_err()
                || closed_within(&mut conn, Duration::from_secs(2)).await
            {
                closed = true;
                break;
            }
        }
        let took = started.elapsed();
        assert!(closed, "still open after {took:?}");
        assert!(took < Duration::from_secs(40), "closed after {took:?}");
        // Not before the deadline: the trickle was not cut for something else.
        assert!(took >= limits.message_deadline, "closed after {took:?}");
        let s = stats_until(&uas, |s| s.message_deadline_closed == 1).await;
        assert_eq!(s.message_deadline_closed, 1);
        assert_eq!(s.idle_closed, 0);
        uas.shutdown().await;
    });
}

/// The same with a short configured deadline, next to a connection that sends only CRLF
/// pings (RFC 5626 §3.5.1) for longer than the deadline: pings between messages are no
/// message in progress, they keep the connection and are answered.
#[test]
fn pings_are_no_message_in_progress_but_a_trickle_is() {
    run(Duration::from_secs(10), |ex| async move {
        let limits = StreamLimits {
            message_deadline: Duration::from_millis(400),
            idle_timeout: Duration::from_secs(5),
            ..StreamLimits::default()
        };
        let uas = uas(&ex, limits).await;
        let server = uas.local_addr();
        let mut pinger = TcpStream::connect(server).await.unwrap();
        let mut trickler = TcpStream::connect(server).await.unwrap();
        let request = options(server, "127.0.0.1", 3, "");
        let mut pong = [0u8; 2];
        for i in 0..10 {
            pinger.write_all(b"\r\n\r\n").await.unwrap();
            pinger.read_exact(&mut pong).await.unwrap();
            assert_eq!(&pong, b"\r\n");
            let _ = trickler.write_all(&request[i..=i]).await;
            sleep(Duration::from_millis(100)).await;
        }
        assert!(closed_within(&mut trickler, Duration::from_secs(2)).await);
        // The pinger is still served after a second of pings.
        pinger.write_all(&request).await.unwrap();
        let head = read_head(&mut pinger).await;
        assert!(head.starts_with("SIP/2.0 200 "), "{head}");
        let s = stats_until(&uas, |s| s.message_deadline_closed == 1).await;
        assert_eq!((s.message_deadline_closed, s.idle_closed), (1, 0));
        assert_eq!(s.keepalives_in, 10);
        uas.shutdown().await;
    });
}

/// Issue 16 item 5: a peer that sends requests and never reads used to make the server
/// queue 1,024 responses per connection (70 MB with 55 kB requests whose Vias the
/// responses copy). Now its connection is closed once its queue would pass the default
/// 1 MiB cap, and the bytes queued never exceeded that.
#[test]
fn a_peer_that_never_reads_is_closed_at_its_output_cap() {
    run(Duration::from_secs(60), |ex| async move {
        let limits = StreamLimits::default();
        let uas = uas(&ex, limits).await;
        let server = uas.local_addr();
        let mut conn = connect_from(server, "127.0.0.1:0", Some(4096)).await;
        // ~50 kB of Via rows (under the header-count and line-length limits), copied into
        // every response.
        let pad = "p".repeat(220);
        let vias: String = (0..200)
            .map(|i| {
                format!(
                    "Via: SIP/2.0/TCP 10.0.{}.{}:5060;branch=z9hG4bK-hop{i};x={pad}\r\n",
                    i / 250,
                    i % 250
                )
            })
            .collect();
        let mut sent = 0;
        let mut write_failed = false;
        for n in 0..600 {
            let request = options(server, "127.0.0.1", 1000 + n, &vias);
            if conn.write_all(&request).await.is_err() {
                write_failed = true;
                break;
            }
            sent += request.len();
            if uas.transport_stats().await.output_cap_closed > 0 {
                break;
            }
        }
        let s = stats_until(&uas, |s| s.output_cap_closed >= 1).await;
        // The peer's connection, and maybe a fresh connect to its address that the
        // responses still in the pipeline went to.
        assert!(
            s.output_cap_closed >= 1,
            "sent {sent} bytes, write failed: {write_failed}"
        );
        assert_eq!(s.output_budget_closed, 0);
        // Memory stayed bounded: the connection never held more than its cap, and all
        // connections together (responses still in the pipeline after the close go to a
        // fresh connect to the peer's address, which fails) never more than the budget.
        assert!(s.peak_connection_output > 0);
        assert!(
            s.peak_connection_output <= limits.max_output_per_connection as u64,
            "{} bytes queued on one connection",
            s.peak_connection_output
        );
        assert!(s.peak_output_queued <= limits.max_output_total as u64);
        // The connection is gone: the peer sees it closed (after what its buffers hold).
        let mut buf = vec![0u8; 64 * 1024];
        let drained = async {
            loop {
                match conn.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        };
        timeout(Duration::from_secs(10), drained)
            .await
            .expect("the server closed the connection");
        uas.shutdown().await;
    });
}

/// A Content-Length over the message size limit breaks the stream (RFC 3261 §18.3): the
/// core answers the message it could not frame (513 Message Too Large, §21.5.11), the
/// connection closes and the framing error is counted. A CRLF ping before it got its pong
/// (RFC 5626 §3.5.1).
#[test]
fn a_framing_error_is_answered_then_the_connection_closes() {
    run(Duration::from_secs(10), |ex| async move {
        let uas = uas(&ex, StreamLimits::default()).await;
        let server = uas.local_addr();
        let mut conn = TcpStream::connect(server).await.unwrap();
        conn.write_all(b"\r\n\r\n").await.unwrap();
        let mut pong = [0u8; 2];
        conn.read_exact(&mut pong).await.unwrap();
        assert_eq!(&pong, b"\r\n");
        let request = String::from_utf8(options(server, "127.0.0.1", 9, ""))
            .unwrap()
            .replace("Content-Length: 0", "Content-Length: 70000");
        conn.write_all(request.as_bytes()).await.unwrap();
        let head = read_head(&mut conn).await;
        assert!(head.starts_with("SIP/2.0 513 "), "{head}");
        assert!(closed_within(&mut conn, Duration::from_secs(2)).await);
        let s = stats_until(&uas, |s| s.framing_errors == 1 && s.connections_closed == 1).await;
        assert_eq!((s.framing_errors, s.connections_closed), (1, 1));
        assert_eq!((s.keepalives_in, s.pongs_sent), (1, 1));
        uas.shutdown().await;
    });
}
