//! SIPp's built-in `uac` scenario, `.ci/sipp/refer_uac.xml` (a transfer inside a call),
//! `.ci/sipp/hold_uac.xml` (hold and resume, each answer's direction checked) and
//! `.ci/sipp/no_codec_uac.xml` (488) and `.ci/sipp/prack_uac.xml` (a reliable 180 and its
//! PRACK, RFC 3262), against the `mio_uas` example's app, in-process on a
//! mio loop. Skipped with a message when `sipp` is not installed (a failure under
//! `CI=true`).

mod common;

use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::app::AppStats;
use common::{Harness, addr};
use sip_core::transport::Transport;
use sip_mio::{DriverConfig, Listen};
use sip_pbx::{PbxConfig, Report};

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

/// Runs `sipp -sn uac` with `extra` arguments against the app over `transport`, turning
/// the loop until SIPp exits or `limit` passes. Returns SIPp's exit code and the app's
/// counters.
fn run_uac(
    transport: Transport,
    extra: &[&str],
    limit: Duration,
) -> (Option<i32>, Report, AppStats) {
    run_sipp(transport, &["-sn", "uac"], extra, limit)
}

/// Runs SIPp with `scenario` (`-sn NAME` or `-sf FILE`) and `extra` arguments against the
/// app, as [`run_uac`] says.
fn run_sipp(
    transport: Transport,
    scenario: &[&str],
    extra: &[&str],
    limit: Duration,
) -> (Option<i32>, Report, AppStats) {
    run_sipp_with(transport, scenario, extra, limit, PbxConfig::default())
}

/// [`run_sipp`] with the app's PBX configured by `pbx`.
fn run_sipp_with(
    transport: Transport,
    scenario: &[&str],
    extra: &[&str],
    limit: Duration,
    pbx: PbxConfig,
) -> (Option<i32>, Report, AppStats) {
    static RUNS: AtomicU32 = AtomicU32::new(0);
    let mut h = Harness::new();
    let listen = match transport {
        Transport::Tcp => Listen::tcp(addr("127.0.0.1:0")),
        _ => Listen::udp(addr("127.0.0.1:0")),
    };
    // As the mio_uas app sets it up: the PBX's reliable provisionals (RFC 3262).
    let mut config = DriverConfig::new(vec![listen]).seed(42);
    config.endpoint.reliable_provisionals = sip_pbx::reliable_provisionals();
    let n = h.add_with(config, Some(pbx));
    let uas = h.driver(n).local_addr(transport).unwrap();
    let run = RUNS.fetch_add(1, Ordering::Relaxed);
    let log = std::env::temp_dir().join(format!("sip-mio-sipp-{}-{run}.log", std::process::id()));
    let mut child = Command::new("sipp")
        .arg(uas.to_string())
        .args(scenario)
        .args(["-i", "127.0.0.1", "-nostdin"])
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
    let (report, stats) = (h.app(n).report(), h.app(n).stats());
    if status.is_none_or(|s| s.code() != Some(0)) {
        let out = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = out.lines().rev().take(40).collect();
        eprintln!("sipp output (last lines, reversed):\n{}", tail.join("\n"));
    }
    let _ = std::fs::remove_file(&log);
    (status.and_then(|s| s.code()), report, stats)
}

#[test]
fn sipp_uac_1000_calls_over_udp() {
    if !sipp_available() {
        return;
    }
    let (code, c, s) = run_uac(
        Transport::Udp,
        &["-m", "1000", "-r", "200"],
        Duration::from_secs(10),
    );
    assert_eq!(code, Some(0), "SIPp reported failed calls; app: {c}\n{s:?}");
    assert_eq!(
        (c.calls_received, c.calls_answered, s.acks, c.calls_ended),
        (1000, 1000, 1000, 1000)
    );
    assert_eq!((s.failures, s.errors), (0, 0));
}

#[test]
fn sipp_uac_over_tcp() {
    if !sipp_available() {
        return;
    }
    let (code, c, s) = run_uac(
        Transport::Tcp,
        &["-m", "200", "-r", "100"],
        Duration::from_secs(10),
    );
    assert_eq!(code, Some(0), "SIPp reported failed calls; app: {c}\n{s:?}");
    assert_eq!(
        (c.calls_received, c.calls_answered, s.acks, c.calls_ended),
        (200, 200, 200, 200)
    );
    assert_eq!((s.failures, s.errors), (0, 0));
}

#[test]
fn sipp_uac_with_10_percent_loss() {
    if !sipp_available() {
        return;
    }
    // SIPp drops 10% of what it sends and receives: both sides' retransmissions
    // (RFC 3261 §17 timers, §13.3.1.4 for the 2xx) must carry every call through.
    let (code, c, s) = run_uac(
        Transport::Udp,
        &["-m", "100", "-r", "50", "-lost", "10"],
        // Lost messages cost up to 64·T1 of retransmissions on a loaded machine.
        Duration::from_secs(40),
    );
    assert_eq!(code, Some(0), "SIPp reported failed calls; app: {c}\n{s:?}");
    assert_eq!(c.calls_received, 100);
    assert_eq!(s.errors, 0);
}

#[test]
fn sipp_refer_inside_a_call_transfers() {
    if !sipp_available() {
        return;
    }
    // SIPp calls the app, refers it to itself and expects 202, then NOTIFYs with 100, 180
    // (the app's call to the target rings) and 200 (answered), RFC 3515 §2.4.
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/../.ci/sipp/refer_uac.xml");
    let (code, c, s) = run_sipp(
        Transport::Udp,
        &["-sf", scenario],
        &["-m", "20", "-r", "10"],
        Duration::from_secs(20),
    );
    assert_eq!(code, Some(0), "SIPp reported failed calls; app: {c}\n{s:?}");
    // Each SIPp call, and each transfer's call from the app to itself.
    assert_eq!((c.calls_received, c.calls_answered), (40, 40));
    assert_eq!((c.transfers, c.transfers_succeeded), (20, 20));
    assert_eq!((s.failures, s.errors), (0, 0));
}

#[test]
fn sipp_hold_and_resume_get_mirrored_answers() {
    if !sipp_available() {
        return;
    }
    // `.ci/sipp/hold_uac.xml`: each re-INVITE's SDP answer is checked with <ereg> (a
    // sendonly hold answered recvonly, inactive inactive, RFC 3264 §6.1, §8.4); a
    // mismatch fails the call, and SIPp's exit code with it.
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/../.ci/sipp/hold_uac.xml");
    let (code, c, s) = run_sipp(
        Transport::Udp,
        &["-sf", scenario],
        &["-m", "20", "-r", "10"],
        Duration::from_secs(20),
    );
    assert_eq!(code, Some(0), "SIPp reported failed calls; app: {c}\n{s:?}");
    assert_eq!((c.calls_received, c.calls_answered), (20, 20));
    assert_eq!(c.in_dialog_requests, 60);
    assert_eq!((s.failures, s.errors), (0, 0));
}

#[test]
fn sipp_prack_of_a_reliable_180_rfc3262() {
    if !sipp_available() {
        return;
    }
    // `.ci/sipp/prack_uac.xml`: INVITE with Require: 100rel, a 180 with Require: 100rel and
    // RSeq, PRACK with RAck answered 200, then the INVITE's 200 (the PBX rings 300 ms).
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/../.ci/sipp/prack_uac.xml");
    let pbx = PbxConfig {
        ring: Duration::from_millis(300),
        ..PbxConfig::default()
    };
    let (code, c, s) = run_sipp_with(
        Transport::Udp,
        &["-sf", scenario],
        &["-m", "20", "-r", "10"],
        Duration::from_secs(20),
        pbx,
    );
    assert_eq!(code, Some(0), "SIPp reported failed calls; app: {c}\n{s:?}");
    assert_eq!((c.calls_received, c.calls_answered), (20, 20));
    assert_eq!((s.failures, s.errors), (0, 0));
}

#[test]
fn sipp_offer_without_an_acceptable_codec_gets_488() {
    if !sipp_available() {
        return;
    }
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/../.ci/sipp/no_codec_uac.xml");
    let (code, c, s) = run_sipp(
        Transport::Udp,
        &["-sf", scenario],
        &["-m", "10", "-r", "10"],
        Duration::from_secs(20),
    );
    assert_eq!(code, Some(0), "SIPp reported failed calls; app: {c}\n{s:?}");
    assert_eq!(
        (c.calls_received, c.calls_answered, c.calls_failed),
        (10, 0, 10)
    );
    assert_eq!(s.errors, 0);
}
