//! Interop with SIPp (Debian package `sip-tester`), on loopback, bounded in time and count.
//!
//! The tests run when `sipp` is on PATH, print that they are skipped when it is not, and
//! fail when `CI=true` and it is missing. They run one at a time (they measure whole
//! runs, and SIPp is CPU-hungry).
//!
//! * SIPp's built-in `uac` against our answering UA (the `uas` example's `tokio_pbx.rs`, the
//!   sample PBX, run in-process on a random port): 1,000 calls at 200 calls/s over UDP,
//!   the same over TCP, and over UDP with SIPp dropping 10 % of the messages.
//! * SIPp's built-in `uas` against our UAC (calls placed through the API), UDP and TCP.
//! * `.ci/sipp/refer_uac.xml`: a REFER inside a call to our UA, expecting 202 and NOTIFYs
//!   ending in a terminated subscription.
//! * `.ci/sipp/session_timer_uac.xml`: session timers (RFC 4028): an INVITE with
//!   `Session-Expires: 60` gets 422 with `Min-SE: 90`, the retry with 90 gets 200 with
//!   `Session-Expires: 90;refresher=uac`.
//! * `.ci/sipp/prack_uac.xml`: reliable provisionals (RFC 3262): an INVITE with
//!   `Require: 100rel` gets a 180 with `Require: 100rel` and `RSeq`, its PRACK (RAck) 200,
//!   then the INVITE 200.
//! * `.ci/sipp/hold_uac.xml`: hold and resume by re-INVITE, each SDP answer's direction
//!   checked with `<ereg>` (a `sendonly` hold answered `recvonly`, RFC 3264 §6.1, §8.4);
//!   `.ci/sipp/no_codec_uac.xml`: an offer with no acceptable codec refused 488 with
//!   Warning 305.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

#[allow(dead_code)] // the example's API, not all of it used here
#[path = "../examples/uas/tokio_pbx.rs"]
mod app;

use app::{Uas, UasConfig};
use sip_pbx::Report;
use sip_tokio::{Transport, UserAgent};
use tokio::process::Command;
use tokio::sync::Mutex;

/// One SIPp run at a time.
static SERIAL: Mutex<()> = Mutex::const_new(());

/// Whether SIPp can run; `false` (after saying so) when it is missing, a failure on CI.
fn sipp_available(test: &str) -> bool {
    let found = std::process::Command::new("sipp")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{test}: sipp is not on PATH and CI=true (install the sip-tester package)"
        );
        eprintln!("{test}: skipped: sipp is not on PATH (apt-get install sip-tester)");
    }
    found
}

/// A port free on loopback for both UDP and TCP right now.
fn free_port() -> u16 {
    for _ in 0..50 {
        let Ok(u) = std::net::UdpSocket::bind("127.0.0.1:0") else {
            continue;
        };
        let Ok(port) = u.local_addr().map(|a| a.port()) else {
            continue;
        };
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port on loopback");
}

/// A fresh directory for one run's files.
fn work_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sip-tokio-sipp-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// What a SIPp run left behind.
#[derive(Debug)]
struct Run {
    success: bool,
    code: Option<i32>,
    stats: HashMap<String, String>,
    errors: String,
    output: String,
}

impl Run {
    fn count(&self, column: &str) -> u64 {
        self.stats
            .get(column)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {column} in SIPp's statistics: {self:#?}"))
    }
}

/// Runs SIPp with `args` plus statistics and error traces, waiting at most `limit`.
async fn sipp(dir: &Path, args: &[String], limit: Duration) -> Run {
    let stat = dir.join("stat.csv");
    let err = dir.join("errors.log");
    let mut cmd = Command::new("sipp");
    cmd.args(args)
        .args(["-nostdin", "-trace_stat", "-fd", "1", "-trace_err"])
        .arg("-stf")
        .arg(&stat)
        .arg("-error_file")
        .arg(&err)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().expect("sipp starts");
    let out = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("sipp ran longer than {limit:?}"))
        .expect("sipp runs");
    let text = std::fs::read_to_string(&stat).unwrap_or_default();
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().unwrap_or_default().split(';').collect();
    let last: Vec<&str> = lines.next_back().unwrap_or_default().split(';').collect();
    let stats = header
        .iter()
        .zip(last.iter())
        .map(|(h, v)| (h.to_string(), v.to_string()))
        .collect();
    let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
    output.push_str(&String::from_utf8_lossy(&out.stderr));
    Run {
        success: out.status.success(),
        code: out.status.code(),
        stats,
        errors: std::fs::read_to_string(&err).unwrap_or_default(),
        output,
    }
}

fn s(v: &str) -> String {
    v.to_owned()
}

async fn start_uas(transport: Transport) -> Uas {
    let mut c = UasConfig::new("127.0.0.1:0".parse().unwrap());
    c.transport = transport;
    c.seed = Some(42);
    Uas::start(c).await.expect("uas starts")
}

/// Waits (bounded) until the UAS has seen every call end, and returns its counters.
async fn settled(uas: &Uas, calls: u64) -> Report {
    for _ in 0..100 {
        let r = uas.report().await;
        if r.calls_ended >= calls {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    uas.report().await
}

fn short(text: &str) -> &str {
    text.get(..text.len().min(3000)).unwrap_or(text)
}

/// SIPp's `uac` against our UAS: `calls` at `rate`, extra SIPp arguments in `extra`.
async fn uac_against_our_uas(name: &str, transport: Transport, extra: &[&str]) -> (Run, Report) {
    let uas = start_uas(transport).await;
    let dir = work_dir(name);
    let mut args = vec![
        s("-sn"),
        s("uac"),
        uas.local_addr().to_string(),
        s("-i"),
        s("127.0.0.1"),
        s("-p"),
        free_port().to_string(),
        s("-m"),
        s("1000"),
        s("-r"),
        s("200"),
        s("-timeout"),
        s("50s"),
        s("-timeout_error"),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    let run = sipp(&dir, &args, Duration::from_secs(60)).await;
    let report = settled(&uas, 1000).await;
    uas.shutdown().await;
    (run, report)
}

fn check_all_calls(run: &Run, calls: u64) {
    assert!(
        run.success && run.count("SuccessfulCall(C)") == calls && run.count("FailedCall(C)") == 0,
        "SIPp: exit {:?}, {} successful, {} failed\nerrors:\n{}\noutput:\n{}",
        run.code,
        run.count("SuccessfulCall(C)"),
        run.count("FailedCall(C)"),
        short(&run.errors),
        short(&run.output),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_uac_1000_calls_over_udp() {
    if !sipp_available("sipp_uac_1000_calls_over_udp") {
        return;
    }
    let _serial = SERIAL.lock().await;
    let (run, report) = uac_against_our_uas("uac-udp", Transport::Udp, &[]).await;
    check_all_calls(&run, 1000);
    assert_eq!(run.count("FailedUnexpectedMessage(C)"), 0);
    assert_eq!(report.calls_received, 1000);
    assert_eq!(report.calls_answered, 1000);
    assert_eq!(report.calls_failed, 0);
    assert_eq!(report.calls_ended, 1000);
    assert_eq!(report.parse_errors, 0);
    eprintln!("sipp uac over UDP: 1000/1000 calls; uas:\n{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_uac_1000_calls_over_tcp() {
    if !sipp_available("sipp_uac_1000_calls_over_tcp") {
        return;
    }
    let _serial = SERIAL.lock().await;
    let (run, report) = uac_against_our_uas("uac-tcp", Transport::Tcp, &["-t", "t1"]).await;
    check_all_calls(&run, 1000);
    assert_eq!(run.count("FailedUnexpectedMessage(C)"), 0);
    assert_eq!(report.calls_answered, 1000);
    assert_eq!(report.calls_ended, 1000);
    assert_eq!(
        report.retransmissions, 0,
        "nothing is retransmitted over TCP"
    );
    eprintln!("sipp uac over TCP: 1000/1000 calls; uas:\n{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_uac_1000_calls_with_10_percent_loss() {
    if !sipp_available("sipp_uac_1000_calls_with_10_percent_loss") {
        return;
    }
    let _serial = SERIAL.lock().await;
    let (run, report) = uac_against_our_uas("uac-lost", Transport::Udp, &["-lost", "10"]).await;
    check_all_calls(&run, 1000);
    assert_eq!(report.calls_answered, 1000);
    assert!(
        report.retransmissions > 0 && report.absorbed_retransmissions > 0,
        "loss must have been repaired by retransmissions: {report:?}"
    );
    eprintln!(
        "sipp uac over UDP with -lost 10: 1000/1000 calls, SIPp retransmissions {}; uas:\n{report}",
        run.count("Retransmissions(C)")
    );
}

/// SIPp's `uas` answering `calls` calls placed through our API, `concurrency` at a time.
async fn our_uac_against_sipp_uas(name: &str, transport: Transport, calls: u64) {
    let port = free_port();
    let dir = work_dir(name);
    let mut args = vec![
        s("-sn"),
        s("uas"),
        s("-i"),
        s("127.0.0.1"),
        s("-p"),
        port.to_string(),
        s("-m"),
        calls.to_string(),
        s("-timeout"),
        s("40s"),
        s("-timeout_error"),
    ];
    if transport == Transport::Tcp {
        args.extend([s("-t"), s("t1")]);
    }
    let sipp_run = tokio::spawn({
        let dir = dir.clone();
        async move { sipp(&dir, &args, Duration::from_secs(50)).await }
    });
    let b = UserAgent::builder().seed(7);
    let ua = match transport {
        Transport::Tcp => b.tcp("127.0.0.1:0"),
        _ => b.udp("127.0.0.1:0"),
    }
    .build()
    .await
    .unwrap();
    let sipp_addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let uri = match transport {
        Transport::Tcp => format!("sip:service@{sipp_addr};transport=tcp"),
        _ => format!("sip:service@{sipp_addr}"),
    };
    // SIPp needs a moment to bind; the first call retries until it answers.
    let mut placed = 0u64;
    let mut refused = 0u64;
    for attempt in 0..20 {
        let tried = tokio::time::timeout(Duration::from_secs(1), async {
            let call = ua.call(&uri).sdp("v=0\r\n").await?;
            call.answered().await?;
            call.hangup().await
        })
        .await;
        match tried {
            Ok(Ok(())) => {
                placed = 1;
                break;
            }
            // Unanswered (the dropped call is cancelled) or refused: counted as failed.
            Ok(Err(e)) => eprintln!("attempt {attempt} (SIPp not listening yet): {e}"),
            Err(_) => eprintln!("attempt {attempt} (SIPp not listening yet): no answer in 1 s"),
        }
        refused += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(placed, 1, "SIPp's uas never answered");
    let mut tasks = tokio::task::JoinSet::new();
    let concurrency = 20;
    let mut next = 1;
    while next < calls || !tasks.is_empty() {
        while next < calls && tasks.len() < concurrency {
            let ua = ua.clone();
            let uri = uri.clone();
            tasks.spawn(async move {
                let call = ua.call(&uri).sdp("v=0\r\n").await?;
                call.answered().await?;
                call.hangup().await?;
                Ok::<_, sip_tokio::Error>(call.ended().await)
            });
            next += 1;
        }
        if let Some(r) = tasks.join_next().await {
            assert_eq!(r.unwrap().unwrap(), sip_tokio::EndReason::LocalBye);
        }
    }
    let run = sipp_run.await.unwrap();
    let stats = ua.stats().await.unwrap();
    ua.shutdown().await;
    check_all_calls(&run, calls);
    assert_eq!(
        run.count("FailedUnexpectedMessage(C)"),
        0,
        "{}",
        short(&run.errors)
    );
    assert_eq!(stats.calls.answered, calls);
    assert_eq!(stats.calls.failed, refused);
    eprintln!(
        "our UAC against SIPp uas over {transport}: {calls}/{calls} calls, 0 unexpected messages"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_uac_against_sipp_uas_over_udp() {
    if !sipp_available("our_uac_against_sipp_uas_over_udp") {
        return;
    }
    let _serial = SERIAL.lock().await;
    our_uac_against_sipp_uas("uas-udp", Transport::Udp, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_uac_against_sipp_uas_over_tcp() {
    if !sipp_available("our_uac_against_sipp_uas_over_tcp") {
        return;
    }
    let _serial = SERIAL.lock().await;
    our_uac_against_sipp_uas("uas-tcp", Transport::Tcp, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_session_timer_422_then_success() {
    if !sipp_available("sipp_session_timer_422_then_success") {
        return;
    }
    let _serial = SERIAL.lock().await;
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/sipp/session_timer_uac.xml");
    let uas = start_uas(Transport::Udp).await;
    let dir = work_dir("session-timer");
    let calls = 20;
    let args = vec![
        s("-sf"),
        scenario.display().to_string(),
        uas.local_addr().to_string(),
        s("-i"),
        s("127.0.0.1"),
        s("-p"),
        free_port().to_string(),
        s("-m"),
        calls.to_string(),
        s("-r"),
        s("20"),
        s("-timeout"),
        s("30s"),
        s("-timeout_error"),
    ];
    let run = sipp(&dir, &args, Duration::from_secs(40)).await;
    let report = settled(&uas, calls).await;
    uas.shutdown().await;
    check_all_calls(&run, calls);
    assert_eq!(run.count("FailedUnexpectedMessage(C)"), 0);
    assert_eq!(run.count("FailedRegexpDoesntMatch(C)"), 0);
    // The 422s never reach the PBX: the endpoint refuses them; only the retries are calls.
    assert_eq!(report.calls_answered, calls);
    eprintln!(
        "SIPp session timers: {calls}/{calls} calls, 422 (Min-SE: 90) then 200 (90;refresher=uac)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_prack_of_a_reliable_180_rfc3262() {
    if !sipp_available("sipp_prack_of_a_reliable_180_rfc3262") {
        return;
    }
    let _serial = SERIAL.lock().await;
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/sipp/prack_uac.xml");
    // The PBX rings 300 ms, so the PRACK's 200 comes before the INVITE's.
    let mut c = UasConfig::new("127.0.0.1:0".parse().unwrap());
    c.seed = Some(42);
    c.ring = Duration::from_millis(300);
    let uas = Uas::start(c).await.expect("uas starts");
    let dir = work_dir("prack");
    let calls = 20;
    let args = vec![
        s("-sf"),
        scenario.display().to_string(),
        uas.local_addr().to_string(),
        s("-i"),
        s("127.0.0.1"),
        s("-p"),
        free_port().to_string(),
        s("-m"),
        calls.to_string(),
        s("-r"),
        s("20"),
        s("-timeout"),
        s("30s"),
        s("-timeout_error"),
    ];
    let run = sipp(&dir, &args, Duration::from_secs(40)).await;
    let report = settled(&uas, calls).await;
    uas.shutdown().await;
    check_all_calls(&run, calls);
    assert_eq!(run.count("FailedUnexpectedMessage(C)"), 0);
    assert_eq!(run.count("FailedRegexpDoesntMatch(C)"), 0);
    assert_eq!(report.calls_answered, calls);
    eprintln!("SIPp PRACK: {calls}/{calls} calls, reliable 180 with RSeq, PRACK 200, INVITE 200");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_refer_inside_a_call() {
    if !sipp_available("sipp_refer_inside_a_call") {
        return;
    }
    let _serial = SERIAL.lock().await;
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/sipp/refer_uac.xml");
    let uas = start_uas(Transport::Udp).await;
    let dir = work_dir("refer");
    let calls = 50;
    let args = vec![
        s("-sf"),
        scenario.display().to_string(),
        uas.local_addr().to_string(),
        s("-i"),
        s("127.0.0.1"),
        s("-p"),
        free_port().to_string(),
        s("-m"),
        calls.to_string(),
        s("-r"),
        s("25"),
        s("-timeout"),
        s("30s"),
        s("-timeout_error"),
    ];
    let run = sipp(&dir, &args, Duration::from_secs(40)).await;
    // Each transfer is a second call, to the uas itself.
    let report = settled(&uas, 2 * calls).await;
    uas.shutdown().await;
    check_all_calls(&run, calls);
    assert_eq!(run.count("FailedUnexpectedMessage(C)"), 0);
    assert_eq!(run.count("FailedRegexpDoesntMatch(C)"), 0);
    assert_eq!(report.transfers, calls);
    assert_eq!(report.transfers_succeeded, calls);
    assert_eq!(report.calls_answered, 2 * calls);
    eprintln!(
        "SIPp REFER scenario: {calls}/{calls} calls, 202 + NOTIFY 100/180/200 (terminated) each"
    );
}

/// Runs a scenario of `.ci/sipp/` against the tokio uas: `calls` calls at 25 calls/s.
async fn sipp_scenario(name: &str, file: &str, calls: u64) -> (Run, Report) {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../.ci/sipp")
        .join(file);
    let uas = start_uas(Transport::Udp).await;
    let dir = work_dir(name);
    let args = vec![
        s("-sf"),
        scenario.display().to_string(),
        uas.local_addr().to_string(),
        s("-i"),
        s("127.0.0.1"),
        s("-p"),
        free_port().to_string(),
        s("-m"),
        calls.to_string(),
        s("-r"),
        s("25"),
        s("-timeout"),
        s("30s"),
        s("-timeout_error"),
    ];
    let run = sipp(&dir, &args, Duration::from_secs(40)).await;
    let report = uas.report().await;
    uas.shutdown().await;
    (run, report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_hold_and_resume_get_mirrored_answers() {
    if !sipp_available("sipp_hold_and_resume_get_mirrored_answers") {
        return;
    }
    let _serial = SERIAL.lock().await;
    let calls = 20;
    let (run, report) = sipp_scenario("hold", "hold_uac.xml", calls).await;
    // Every answer matched its <ereg>: sendrecv in the caller's codec order, recvonly to
    // the sendonly hold, inactive to inactive, sendrecv on resume (RFC 3264 §6.1, §8.4).
    check_all_calls(&run, calls);
    assert_eq!(run.count("FailedRegexpDoesntMatch(C)"), 0);
    assert_eq!(run.count("FailedUnexpectedMessage(C)"), 0);
    assert_eq!(report.calls_answered, calls);
    assert_eq!(report.in_dialog_requests, 3 * calls);
    eprintln!(
        "SIPp hold scenario: {calls}/{calls} calls, answers sendrecv/recvonly/inactive/sendrecv"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sipp_offer_without_an_acceptable_codec_gets_488() {
    if !sipp_available("sipp_offer_without_an_acceptable_codec_gets_488") {
        return;
    }
    let _serial = SERIAL.lock().await;
    let calls = 10;
    let (run, report) = sipp_scenario("no-codec", "no_codec_uac.xml", calls).await;
    check_all_calls(&run, calls);
    assert_eq!(run.count("FailedRegexpDoesntMatch(C)"), 0);
    assert_eq!(report.calls_answered, 0);
    assert_eq!(report.calls_failed, calls);
}
