//! What SIP over WebSocket (RFC 7118) costs the `uas` beside UDP: the time per OPTIONS
//! answered over each (the same endpoint behind both), and the memory each idle,
//! registered WebSocket connection holds with 1,000 of them on one shard.
//!
//! ```text
//! cargo build --release -p sip-tokio --example uas --example ws_cost
//! target/release/examples/ws_cost [--messages 20000] [--connections 1000]
//! ```
//!
//! It starts `uas` (the binary beside this one) twice as a child process: with
//! `--transport udp` and `--transport ws`, one shard each. Over each it keeps 64 OPTIONS
//! outstanding until `--messages` are answered (UDP: one socket; WS: one connection,
//! frames masked as a client must), and prints µs per message and the ratio. Then, against
//! a `uas --transport ws --registrar`, it opens `--connections` WebSocket connections,
//! registers one AOR on each, and prints the uas's resident memory before and after,
//! divided by the connections (kernel socket buffers are not in it). A measurement, not a
//! test: the figures depend on the machine.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use sip_core::transport::websocket::{
    ClientHandshake, MAX_HANDSHAKE, Role, WsConnection, WsLimits,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

const WINDOW: usize = 64;

/// The `uas` child process, stopped (SIGTERM, then waited for) when dropped.
struct UasProcess(Child);

impl Drop for UasProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

fn start_uas(port: u16, args: &[&str]) -> UasProcess {
    let exe = std::env::current_exe().expect("own path");
    let uas = exe.with_file_name("uas");
    let child = Command::new(&uas)
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e} (build the uas example first)", uas.display()));
    std::thread::sleep(Duration::from_millis(500));
    UasProcess(child)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn options(n: usize, transport: &str, host: &str) -> Vec<u8> {
    format!(
        "OPTIONS sip:uas@{host} SIP/2.0\r\nVia: SIP/2.0/{transport} {host};branch=z9hG4bKc{n};rport\r\n\
         Max-Forwards: 70\r\nTo: <sip:uas@{host}>\r\nFrom: <sip:bench@{host}>;tag=b{n}\r\n\
         Call-ID: cost-{n}@bench\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

async fn udp_run(server: SocketAddr, messages: usize) -> Duration {
    let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let host = s.local_addr().unwrap().to_string();
    let mut buf = vec![0u8; 65_536];
    let started = Instant::now();
    let (mut sent, mut got) = (0, 0);
    while got < messages {
        while sent < messages && sent - got < WINDOW {
            s.send_to(&options(sent, "UDP", &host), server)
                .await
                .unwrap();
            sent += 1;
        }
        match tokio::time::timeout(Duration::from_secs(2), s.recv_from(&mut buf)).await {
            Ok(r) => {
                r.unwrap();
                got += 1;
            }
            // A datagram lost: count it and go on (the uas answers each once).
            Err(_) => got = sent,
        }
    }
    started.elapsed()
}

/// A client WebSocket connection past its handshake, with the codec that frames for it.
async fn ws_open(server: SocketAddr, seed: u64) -> (TcpStream, WsConnection) {
    let mut s = TcpStream::connect(server).await.unwrap();
    s.set_nodelay(true).unwrap();
    let nonce = seed.to_le_bytes().repeat(2).try_into().unwrap();
    let (hs, request) = ClientHandshake::new(nonce, &server.to_string(), "/");
    s.write_all(&request).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while hs.finish(&head, MAX_HANDSHAKE).unwrap().is_none() {
        assert_eq!(s.read(&mut byte).await.unwrap(), 1, "handshake refused");
        head.push(byte[0]);
    }
    let ws = WsConnection::new(Role::Client { seed }, WsLimits::default());
    (s, ws)
}

async fn ws_write(s: &mut TcpStream, ws: &mut WsConnection, message: &[u8]) {
    ws.send(message).unwrap();
    let mut out = BytesMut::new();
    while let Some(b) = ws.poll_transmit() {
        out.extend_from_slice(&b);
    }
    s.write_all(&out).await.unwrap();
}

async fn ws_run(server: SocketAddr, messages: usize) -> Duration {
    let (mut s, mut ws) = ws_open(server, 1).await;
    let host = "b7kq2m.invalid";
    let mut buf = vec![0u8; 65_536];
    let started = Instant::now();
    let (mut sent, mut got) = (0, 0);
    while got < messages {
        while sent < messages && sent - got < WINDOW {
            ws_write(&mut s, &mut ws, &options(sent, "WS", host)).await;
            sent += 1;
        }
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed");
        ws.handle_input(&buf[..n]).unwrap();
        while ws.poll_message().is_some() {
            got += 1;
        }
    }
    started.elapsed()
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn idle_connections(connections: usize) {
    let port = free_port();
    let max = (connections + 16).to_string();
    let uas = start_uas(
        port,
        &[
            "--transport",
            "ws",
            "--registrar",
            "--tcp-max-connections",
            &max,
            "--tcp-max-per-source",
            &max,
        ],
    );
    let server: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    // One connection first, so the baseline has the runtime and the first allocations.
    let mut open = vec![ws_open(server, 0).await];
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = rss_kib(uas.0.id());
    let mut buf = vec![0u8; 4096];
    for i in 1..=connections {
        let (mut s, mut ws) = ws_open(server, i as u64).await;
        let host = format!("c{i}.invalid");
        let register = format!(
            "REGISTER sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/WS {host};branch=z9hG4bKr{i};rport\r\n\
             Max-Forwards: 70\r\nTo: <sip:u{i}@127.0.0.1>\r\nFrom: <sip:u{i}@127.0.0.1>;tag=r{i}\r\n\
             Call-ID: reg-{i}@bench\r\nCSeq: 1 REGISTER\r\nContact: <sip:u{i}@{host};transport=ws>\r\n\
             Expires: 600\r\nContent-Length: 0\r\n\r\n"
        );
        ws_write(&mut s, &mut ws, register.as_bytes()).await;
        loop {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed");
            ws.handle_input(&buf[..n]).unwrap();
            if let Some(m) = ws.poll_message() {
                assert!(m.payload.starts_with(b"SIP/2.0 200"), "REGISTER refused");
                break;
            }
        }
        open.push((s, ws));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib(uas.0.id());
    let per = (after.saturating_sub(before) * 1024) / connections as u64;
    println!(
        "idle WS connections: {connections} registered; uas RSS {before} KiB -> {after} KiB: {per} bytes per connection"
    );
    // Every client refreshes its binding once (RFC 3261 §10.2.4), as they all do at half
    // their expiry: the connections' memory after a second message each.
    for (i, (s, ws)) in open.iter_mut().enumerate().skip(1) {
        let host = format!("c{i}.invalid");
        let register = format!(
            "REGISTER sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/WS {host};branch=z9hG4bKq{i};rport\r\n\
             Max-Forwards: 70\r\nTo: <sip:u{i}@127.0.0.1>\r\nFrom: <sip:u{i}@127.0.0.1>;tag=r{i}\r\n\
             Call-ID: reg-{i}@bench\r\nCSeq: 2 REGISTER\r\nContact: <sip:u{i}@{host};transport=ws>\r\n\
             Expires: 600\r\nContent-Length: 0\r\n\r\n"
        );
        ws_write(s, ws, register.as_bytes()).await;
        loop {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed");
            ws.handle_input(&buf[..n]).unwrap();
            if let Some(m) = ws.poll_message() {
                assert!(m.payload.starts_with(b"SIP/2.0 200"), "re-REGISTER refused");
                break;
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let again = rss_kib(uas.0.id());
    let per = (again.saturating_sub(before) * 1024) / connections as u64;
    println!("after one re-registration each: uas RSS {again} KiB: {per} bytes per connection");
    drop(open);
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (mut messages, mut connections) = (20_000usize, 1_000usize);
    while let Some(a) = args.next() {
        let v: usize = args.next().and_then(|v| v.parse().ok()).expect("a number");
        match a.as_str() {
            "--messages" => messages = v,
            "--connections" => connections = v,
            other => panic!("unknown argument {other}"),
        }
    }
    if let Ok((_, hard)) = rlimit::Resource::NOFILE.get() {
        let _ = rlimit::Resource::NOFILE.set(hard, hard);
    }

    let port = free_port();
    let udp = {
        let _uas = start_uas(port, &["--transport", "udp"]);
        udp_run(format!("127.0.0.1:{port}").parse().unwrap(), messages).await
    };
    let port = free_port();
    let ws = {
        let _uas = start_uas(port, &["--transport", "ws"]);
        ws_run(format!("127.0.0.1:{port}").parse().unwrap(), messages).await
    };
    let per = |d: Duration| d.as_secs_f64() * 1e6 / messages as f64;
    println!(
        "OPTIONS answered, {messages} each, {WINDOW} outstanding: UDP {:.2} µs/msg, WS {:.2} µs/msg, WS/UDP {:.2}",
        per(udp),
        per(ws),
        per(ws) / per(udp)
    );
    idle_connections(connections).await;
}
