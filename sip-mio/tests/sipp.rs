//! SIPp's built-in `uac` scenario against the UAS logic of the `uas` example, in-process on
//! a mio loop. Skipped with a message when `sipp` is not installed (a failure under
//! `CI=true`).

mod common;

use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Harness, addr};
use sip_core::transport::Transport;
use sip_mio::Listen;
use sip_mio::uas::UasCounters;

fn sipp_available() -> bool {
    let found = Command::new("sipp")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("sipp is not installed (apt-get install sip-tester)");
        }
        println!("skipped: sipp is not installed");
    }
    found
}

/// A local port for SIPp's own socket.
fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `sipp -sn uac` with `extra` arguments against a mio UAS over `transport`, turning
/// the loop until SIPp exits or `limit` passes. Returns SIPp's exit code and the UAS
/// counters.
fn run_uac(transport: Transport, extra: &[&str], limit: Duration) -> (Option<i32>, UasCounters) {
    let mut h = Harness::new();
    let listen = match transport {
        Transport::Tcp => Listen::tcp(addr("127.0.0.1:0")),
        _ => Listen::udp(addr("127.0.0.1:0")),
    };
    let n = h.add_on(vec![listen], 42, true);
    let uas = h.driver(n).local_addr(transport).unwrap();
    let log = std::env::temp_dir().join(format!("sip-mio-sipp-{}.log", std::process::id()));
    let mut child = Command::new("sipp")
        .arg(uas.to_string())
        .args(["-sn", "uac", "-i", "127.0.0.1", "-nostdin"])
        .args(["-p", &free_port().to_string()])
        .args([
            "-t",
            if transport == Transport::Tcp {
                "t1"
            } else {
                "u1"
            },
        ])
        .args(["-timeout", &limit.as_secs().to_string()])
        .args(extra)
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut status = None;
    let done = h.run_until(limit, |h| {
        h.turn(Duration::from_millis(20));
        status = child.try_wait().unwrap();
        status.is_some()
    });
    if !done {
        let _ = child.kill();
        let _ = child.wait();
    }
    let counters = h.nodes[n].uas.as_ref().unwrap().counters();
    if status.is_none_or(|s| s.code() != Some(0)) {
        let out = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = out.lines().rev().take(40).collect();
        eprintln!("sipp output (last lines, reversed):\n{}", tail.join("\n"));
    }
    let _ = std::fs::remove_file(&log);
    (status.and_then(|s| s.code()), counters)
}

#[test]
fn sipp_uac_1000_calls_over_udp() {
    if !sipp_available() {
        return;
    }
    let (code, c) = run_uac(
        Transport::Udp,
        &["-m", "1000", "-r", "200"],
        Duration::from_secs(10),
    );
    assert_eq!(code, Some(0), "SIPp reported failed calls; UAS: {c}");
    assert_eq!(
        (c.calls, c.answered, c.acks, c.byes),
        (1000, 1000, 1000, 1000)
    );
    assert_eq!((c.failures, c.errors), (0, 0));
}

#[test]
fn sipp_uac_over_tcp() {
    if !sipp_available() {
        return;
    }
    let (code, c) = run_uac(
        Transport::Tcp,
        &["-m", "200", "-r", "100"],
        Duration::from_secs(10),
    );
    assert_eq!(code, Some(0), "SIPp reported failed calls; UAS: {c}");
    assert_eq!((c.calls, c.answered, c.acks, c.byes), (200, 200, 200, 200));
    assert_eq!((c.failures, c.errors), (0, 0));
}

#[test]
fn sipp_uac_with_10_percent_loss() {
    if !sipp_available() {
        return;
    }
    // SIPp drops 10% of what it sends and receives: both sides' retransmissions
    // (RFC 3261 §17 timers, §13.3.1.4 for the 2xx) must carry every call through.
    let (code, c) = run_uac(
        Transport::Udp,
        &["-m", "100", "-r", "50", "-lost", "10"],
        // Lost messages cost up to 64·T1 of retransmissions on a loaded machine.
        Duration::from_secs(40),
    );
    assert_eq!(code, Some(0), "SIPp reported failed calls; UAS: {c}");
    assert_eq!(c.calls, 100);
    assert_eq!(c.errors, 0);
}
