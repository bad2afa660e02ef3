//! Scale-out behind Kamailio's dispatcher (`deploy/kamailio/dispatcher.cfg.in`), on
//! loopback: two `uas` instances, Kamailio spreading calls over them, SIPp's caller
//! (`deploy/kamailio/uac.xml`: ACK and BYE follow the Record-Route) placing `CALLS` calls at
//! `RATE` calls/s, each held `HOLD`, through Kamailio. Once both instances have answered
//! calls, one is killed (SIGKILL, as a crash). The test asserts that
//!
//! * Kamailio probes both instances with OPTIONS before the load starts;
//! * both instances took calls before the kill;
//! * calls keep completing, on the survivor, after it: every call not yet answered at the
//!   kill is answered there (new calls that hit the dead instance before Kamailio noticed
//!   are retried on the survivor by the failure route), and each of them ends;
//! * Kamailio marks the dead instance down;
//! * the only failed calls are those up on the killed instance when it died (their BYE
//!   has nowhere to go): no more than it had answered and not yet ended by its last
//!   counters before the kill, at most [`failed_bound`] (derived from the rate and hold
//!   time), and all of SIPp's kind "max UDP retransmissions" (the BYE).
//!
//! A second test checks that both sides' in-dialog requests go through the proxy: see
//! [`in_dialog_requests_of_both_sides_follow_the_record_route`].
//!
//! Each instance is the `uas` example's app (`examples/uas/tokio_pbx.rs`, as in the SIPp
//! and registrar tests) in a process of its own: this test binary run again as
//! [`uas_instance_process`], so the instance is always built from the current sources.
//! Everything started (the instances, Kamailio, SIPp) runs in a process group of its own
//! and is stopped when dropped, also when the test fails. Skipped with a message when
//! `kamailio` or `sipp` is missing; a failure under `CI=true`.

#[allow(dead_code)] // the registrar test's part of the launcher is not used here
#[path = "../../.ci/kamailio/launcher.rs"]
mod launcher;

#[allow(dead_code)] // the example's API, not all of it used here
#[path = "../examples/uas/tokio_pbx.rs"]
mod app;

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use app::{Uas, UasConfig};
use launcher::{free_port, group_alive, kamailio_binary, module_path, signal_group};
use sip_pbx::Report;

/// Calls SIPp places.
const CALLS: u64 = 1200;
/// New calls per second.
const RATE: u64 = 100;
/// How long each call is held before SIPp hangs up.
const HOLD: Duration = Duration::from_millis(1000);
/// The instance is killed once both instances have answered this many calls.
const KILL_AFTER: u64 = 150;
/// Instances behind Kamailio.
const INSTANCES: u64 = 2;
/// Set in the environment of an instance process: where it writes its counters.
const INSTANCE_ENV: &str = "SIP_DISPATCHER_TEST_INSTANCE";

/// The most calls that may fail: those up on the killed instance when it dies. Kamailio
/// deals new calls round-robin, so each instance takes `RATE / INSTANCES` calls per
/// second and holds each for `HOLD` plus its setup and teardown (milliseconds on
/// loopback; half a second allowed, for SIPp's uneven pacing too). New calls sent to the
/// dead instance before Kamailio notices are not among them: they are retried on the
/// other one.
fn failed_bound() -> u64 {
    let up = Duration::from_millis(500) + HOLD;
    (RATE as f64 * up.as_secs_f64() / INSTANCES as f64).ceil() as u64
}

/// A process group started by the test; stopped (SIGTERM, then SIGKILL after a bound)
/// when dropped.
struct Group {
    leader: Child,
    stopped: bool,
}

impl Group {
    fn spawn(cmd: &mut Command) -> Group {
        let leader = cmd.process_group(0).spawn().expect("process starts");
        Group {
            leader,
            stopped: false,
        }
    }

    /// Kills the whole group at once (SIGKILL: a crash, nothing said to anyone).
    fn crash(&mut self) {
        signal_group(self.leader.id(), "-KILL");
        let _ = self.leader.wait();
        self.stopped = true;
    }

    /// SIGTERM to the group; waits (bounded) for all of it to be gone.
    fn stop(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        let id = self.leader.id();
        signal_group(id, "-TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let done = matches!(self.leader.try_wait(), Ok(Some(_)));
            if done && !group_alive(id) {
                return;
            }
            if Instant::now() >= deadline {
                signal_group(id, "-KILL");
                let _ = self.leader.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits at most `limit` for the leader to exit; its exit code.
    fn wait(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.leader.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("process {} ran longer than {limit:?}", self.leader.id());
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An instance's counters, as it last wrote them.
#[derive(Debug, Default, Clone)]
struct Snapshot {
    addr: Option<SocketAddr>,
    answered: u64,
    ended: u64,
    options: u64,
    /// Written after the instance shut down.
    last: bool,
}

fn write_snapshot(path: &Path, addr: SocketAddr, r: &Report, last: bool) {
    let text = format!(
        "addr={addr}\nanswered={}\nended={}\noptions={}\nlast={last}\n",
        r.calls_answered, r.calls_ended, r.options
    );
    let tmp = path.with_extension("tmp");
    if std::fs::write(&tmp, text).is_ok() {
        let _ = std::fs::rename(&tmp, path);
    }
}

fn read_snapshot(path: &Path) -> Snapshot {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut s = Snapshot::default();
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        match k {
            "addr" => s.addr = v.parse().ok(),
            "answered" => s.answered = v.parse().unwrap_or(0),
            "ended" => s.ended = v.parse().unwrap_or(0),
            "options" => s.options = v.parse().unwrap_or(0),
            "last" => s.last = v == "true",
            _ => {}
        }
    }
    s
}

/// Not a test: the body of an instance process the test starts (this binary again, with
/// [`INSTANCE_ENV`] set; without it, it returns at once). The `uas` example's app on a
/// free loopback port, writing its counters to the file named in [`INSTANCE_ENV`] every
/// 50 ms until SIGTERM, then shutting down and writing them once more. It also ends when
/// the test process is gone, and after two minutes in any case.
#[test]
#[ignore = "the body of an instance process, started by the test"]
fn uas_instance_process() {
    let Some(path) = std::env::var_os(INSTANCE_ENV).map(PathBuf::from) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).unwrap();
        let uas = Uas::start(UasConfig::new("127.0.0.1:0".parse().unwrap()))
            .await
            .unwrap();
        let addr = uas.local_addr();
        let parent = std::os::unix::process::parent_id();
        let give_up = Instant::now() + Duration::from_secs(120);
        loop {
            write_snapshot(&path, addr, &uas.report().await, false);
            tokio::select! {
                _ = term.recv() => break,
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
            if std::os::unix::process::parent_id() != parent || Instant::now() > give_up {
                break;
            }
        }
        let report = uas.shutdown().await;
        write_snapshot(&path, addr, &report, true);
    });
}

/// Starts an instance process writing its counters to `dir/instance-<n>.txt`; waits
/// (bounded) for its address.
fn start_instance(dir: &Path, n: usize) -> (Group, PathBuf, SocketAddr) {
    let stats = dir.join(format!("instance-{n}.txt"));
    let log = std::fs::File::create(dir.join(format!("instance-{n}.log"))).unwrap();
    let group = Group::spawn(
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "uas_instance_process",
                "--ignored",
                "--nocapture",
            ])
            .env(INSTANCE_ENV, &stats)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log),
    );
    let addr = wait_for(Duration::from_secs(10), "the instance's address", || {
        read_snapshot(&stats).addr
    });
    (group, stats, addr)
}

/// Polls `f` every 20 ms until it gives a value; panics after `limit`.
fn wait_for<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "no {what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A fresh directory for one test's files.
fn work_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sip-dispatcher-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Kamailio with `deploy/kamailio/dispatcher.cfg.in` over `instances`, working in
/// `dir/kamailio`, answering; its address and its log. `workers`: its UDP worker
/// processes, when not the configuration's.
fn start_dispatcher(
    bin: &Path,
    dir: &Path,
    instances: &[SocketAddr],
    workers: Option<usize>,
) -> (launcher::Kamailio, SocketAddr, PathBuf) {
    let list = dir.join("dispatcher.list");
    let lines: String = instances.iter().map(|a| format!("1 sip:{a}\n")).collect();
    std::fs::write(&list, lines).unwrap();
    let proxy: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let template = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/kamailio/dispatcher.cfg.in"),
    )
    .unwrap();
    let mut cfg = template
        .replace("@LISTEN@", &proxy.to_string())
        .replace("@MPATH@", &module_path())
        .replace("@LIST@", &list.display().to_string());
    if let Some(n) = workers {
        assert!(
            cfg.contains("\nchildren=4\n"),
            "the template's workers changed"
        );
        cfg = cfg.replace("\nchildren=4\n", &format!("\nchildren={n}\n"));
    }
    let kamailio = launcher::start_config(bin, &dir.join("kamailio"), &cfg);
    wait_for_kamailio(proxy);
    (kamailio, proxy, dir.join("kamailio/kamailio.log"))
}

/// Whether SIPp can run; `false` (after saying so) when it is missing, a failure on CI.
fn sipp_available() -> bool {
    let found = Command::new("sipp")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "sipp is not on PATH and CI=true (install the sip-tester package)"
        );
        println!("skipped: sipp is not on PATH (apt-get install sip-tester)");
    }
    found
}

/// Waits (bounded) until Kamailio answers an OPTIONS addressed to itself.
fn wait_for_kamailio(addr: SocketAddr) {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let me = sock.local_addr().unwrap();
    let mut buf = [0u8; 2048];
    let mut attempt = 0u32;
    wait_for(Duration::from_secs(10), "answer from Kamailio", || {
        attempt += 1;
        let options = format!(
            "OPTIONS sip:{addr} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK-ready-{}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:test@{me}>;tag=ready\r\nTo: <sip:{addr}>\r\n\
             Call-ID: ready@{me}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
            attempt
        );
        sock.send_to(options.as_bytes(), addr).ok()?;
        let (n, _) = sock.recv_from(&mut buf).ok()?;
        buf[..n].starts_with(b"SIP/2.0 200").then_some(())
    });
}

/// The last line of SIPp's statistics file, by column.
fn sipp_stats(path: &Path) -> HashMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().unwrap_or_default().split(';').collect();
    let last: Vec<&str> = lines.next_back().unwrap_or_default().split(';').collect();
    header
        .iter()
        .zip(last.iter())
        .map(|(h, v)| (h.to_string(), v.trim().to_string()))
        .collect()
}

fn count(stats: &HashMap<String, String>, column: &str) -> u64 {
    stats
        .get(column)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {column} in SIPp's statistics: {stats:?}"))
}

/// The tail of a file, for failure messages.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let start = text.len().saturating_sub(3000);
    let start = (start..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    format!("--- {}:\n{}", path.display(), &text[start..])
}

#[test]
fn calls_survive_an_instance_dying_behind_kamailio() {
    let Some(kamailio) = kamailio_binary() else {
        return;
    };
    if !sipp_available() {
        return;
    }
    let started = Instant::now();
    let dir = work_dir("failover");
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/kamailio");

    // Two instances, then Kamailio with the dispatcher configuration over them.
    let (mut victim, victim_stats, victim_addr) = start_instance(&dir, 1);
    let (mut survivor, survivor_stats, survivor_addr) = start_instance(&dir, 2);
    let (kamailio, proxy, kamailio_log) =
        start_dispatcher(&kamailio, &dir, &[victim_addr, survivor_addr], None);
    wait_for_kamailio(proxy);
    // The OPTIONS probes reach both instances (every second).
    wait_for(Duration::from_secs(5), "OPTIONS probe of both", || {
        (read_snapshot(&victim_stats).options > 0 && read_snapshot(&survivor_stats).options > 0)
            .then_some(())
    });

    // The load, through Kamailio.
    let stat_file = dir.join("sipp-stat.csv");
    let mut sipp = Group::spawn(
        Command::new("sipp")
            .arg("-sf")
            .arg(deploy.join("uac.xml"))
            .arg(proxy.to_string())
            .args(["-i", "127.0.0.1", "-p", &free_port().to_string()])
            .args(["-m", &CALLS.to_string(), "-r", &RATE.to_string()])
            .args(["-d", &HOLD.as_millis().to_string()])
            // A 180 relayed after its 200 does not abort a call; a BYE answered 408 (its
            // instance is gone) is retransmitted three times, then the call fails.
            .args(["-default_behaviors", "all,-abortunexp"])
            .args(["-max_non_invite_retrans", "3"])
            .args(["-timeout", "45s", "-timeout_error", "-nostdin"])
            .args(["-trace_stat", "-fd", "1", "-stf"])
            .arg(&stat_file)
            .args(["-trace_err", "-error_file"])
            .arg(dir.join("sipp-errors.log"))
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.join("sipp.out")).unwrap())
            .stderr(Stdio::null()),
    );

    // Both instances take calls; then one dies.
    let (victim_before, survivor_before) =
        wait_for(Duration::from_secs(20), "calls on both instances", || {
            let (v, s) = (read_snapshot(&victim_stats), read_snapshot(&survivor_stats));
            (v.answered >= KILL_AFTER && s.answered >= KILL_AFTER).then_some((v, s))
        });
    victim.crash();
    let killed_at = Instant::now();
    let victim_last = read_snapshot(&victim_stats);

    let code = sipp.wait(Duration::from_secs(50));
    let stats = sipp_stats(&stat_file);
    survivor.stop();
    let survivor_after = read_snapshot(&survivor_stats);
    let log = std::fs::read_to_string(&kamailio_log).unwrap_or_default();
    let context = || {
        format!(
            "SIPp exit {code:?}; files in {}\n{}\n{}\n{}",
            dir.display(),
            tail(&dir.join("sipp-errors.log")),
            tail(&kamailio_log),
            tail(&dir.join("instance-2.log"))
        )
    };

    let (succeeded, failed) = (
        count(&stats, "SuccessfulCall(C)"),
        count(&stats, "FailedCall(C)"),
    );
    let retried = log.matches("dispatcher: retrying INVITE").count();
    let in_flight = victim_last.answered - victim_last.ended;
    let survivor_since = survivor_after.answered - survivor_before.answered;
    println!(
        "{CALLS} calls at {RATE}/s, held {HOLD:?}, through Kamailio to 2 instances; one \
         killed after {:.1} s:\n  \
         SIPp: {succeeded} completed, {failed} failed (bound {}); \
         {retried} INVITEs retried on the survivor after hitting the dead instance\n  \
         killed instance: answered {} (up at the kill: {in_flight})\n  \
         survivor: answered {} ({} before the kill, {survivor_since} after), ended {}\n  \
         test took {:.1} s",
        killed_at.duration_since(started).as_secs_f64(),
        failed_bound(),
        victim_last.answered,
        survivor_after.answered,
        survivor_before.answered,
        survivor_after.ended,
        started.elapsed().as_secs_f64(),
    );

    // Every call placed is accounted for.
    assert_eq!(succeeded + failed, CALLS, "{}", context());
    // Both instances took calls before the kill.
    assert!(victim_before.answered > 0 && survivor_before.answered > 0);
    // The only failed calls are those that were up on the killed instance: within the
    // bound, and all of them lost on the BYE (the INVITEs were answered).
    assert!(
        failed <= failed_bound(),
        "{failed} failed calls, more than the {} that can be up on one instance\n{}",
        failed_bound(),
        context()
    );
    // The victim's counters are at most 50 ms old at the kill: allow for the calls it
    // answered in that time.
    let lag_allowance = (RATE / INSTANCES).div_ceil(10) + 2;
    assert!(
        failed <= in_flight + lag_allowance,
        "{failed} failed calls; {in_flight} were up on the killed instance\n{}",
        context()
    );
    assert_eq!(
        count(&stats, "FailedMaxUDPRetrans(C)"),
        failed,
        "calls failed otherwise than on their BYE\n{}",
        context()
    );
    // Calls keep completing on the other instance: it answers every call not answered by
    // the time of the kill (the victim's counters lag by at most 50 ms, well within the
    // allowance), and ends each of them.
    assert!(
        survivor_after.last,
        "the survivor did not shut down cleanly"
    );
    let unanswered_at_kill = CALLS.saturating_sub(victim_last.answered + survivor_before.answered);
    assert!(
        survivor_since + failed_bound() >= unanswered_at_kill,
        "the survivor answered {survivor_since} calls after the kill; {unanswered_at_kill} \
         were still to come\n{}",
        context()
    );
    assert_eq!(
        survivor_after.ended,
        survivor_after.answered,
        "calls on the survivor that did not end\n{}",
        context()
    );
    assert!(succeeded >= survivor_after.answered, "{}", context());
    // Kamailio took the dead instance out of the rotation.
    let port = format!(":{}", victim_addr.port());
    assert!(
        log.lines().any(
            |l| (l.contains("marking it down") || l.contains("instance down")) && l.contains(&port)
        ),
        "Kamailio never marked {victim_addr} down\n{}",
        context()
    );

    // Passed: nothing left to look at.
    drop(sipp);
    drop(kamailio);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Both sides' in-dialog requests pass through the proxy. SIPp's REFER scenario
/// (`.ci/sipp/refer_uac.xml`, following the Record-Route) through Kamailio to one `uas`
/// (the example's app, in-process): the uas's NOTIFYs follow the route set it took from
/// the INVITE's Record-Route (RFC 3261 §12.1.1), so they reach SIPp through Kamailio; its
/// call to the transfer target (through Kamailio, back to itself) is record-routed too,
/// and hung up by it.
#[test]
fn in_dialog_requests_of_both_sides_follow_the_record_route() {
    let Some(kamailio) = kamailio_binary() else {
        return;
    };
    if !sipp_available() {
        return;
    }
    let calls = 10u64;
    let dir = work_dir("refer");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let uas = rt
        .block_on(Uas::start(UasConfig::new("127.0.0.1:0".parse().unwrap())))
        .unwrap();
    // One Kamailio worker, so that nothing is reordered: with several, relaying in
    // parallel, a transfer's NOTIFYs (the uas sends them back to back, without waiting
    // for the previous one's 200) may arrive out of CSeq order, and the target's 200 may
    // reach the uas before its 180 (the uas then rightly reports no 180); the scenario
    // expects exactly 100, 180, 200 in that order.
    let (kamailio, proxy, kamailio_log) =
        start_dispatcher(&kamailio, &dir, &[uas.local_addr()], Some(1));
    let stat_file = dir.join("sipp-stat.csv");
    let messages = dir.join("sipp-messages.log");
    let mut sipp = Group::spawn(
        Command::new("sipp")
            .arg("-sf")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.ci/sipp/refer_uac.xml"))
            .arg(proxy.to_string())
            .args(["-i", "127.0.0.1", "-p", &free_port().to_string()])
            .args(["-m", &calls.to_string(), "-r", "5"])
            .args(["-timeout", "30s", "-timeout_error", "-nostdin"])
            .args(["-trace_stat", "-fd", "1", "-stf"])
            .arg(&stat_file)
            .args(["-trace_msg", "-message_file"])
            .arg(&messages)
            .args(["-trace_err", "-error_file"])
            .arg(dir.join("sipp-errors.log"))
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let code = sipp.wait(Duration::from_secs(40));
    let stats = sipp_stats(&stat_file);
    let report = rt.block_on(async {
        // The transfers' calls end shortly after SIPp's.
        for _ in 0..100 {
            if uas.report().await.calls_ended >= 2 * calls {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        uas.shutdown().await
    });
    let context = || {
        format!(
            "SIPp exit {code:?}; files in {}\n{}\n{}",
            dir.display(),
            tail(&dir.join("sipp-errors.log")),
            tail(&kamailio_log)
        )
    };
    assert_eq!(count(&stats, "SuccessfulCall(C)"), calls, "{}", context());
    assert_eq!(report.transfers_succeeded, calls, "{report}\n{}", context());
    assert_eq!(report.calls_ended, 2 * calls, "{report}\n{}", context());
    // Every NOTIFY SIPp received came through the proxy: its top Via is Kamailio's.
    let log = std::fs::read_to_string(&messages).unwrap_or_default();
    let notifies: Vec<&str> = log
        .split("message received")
        .skip(1)
        .filter_map(|m| {
            let m = m.split_once('\n')?.1.trim_start();
            m.starts_with("NOTIFY ").then_some(m)
        })
        .collect();
    assert_eq!(notifies.len() as u64, 3 * calls, "{}", context());
    let via = format!("Via: SIP/2.0/UDP {proxy};");
    for n in &notifies {
        let top_via = n
            .lines()
            .find(|l| l.starts_with("Via:"))
            .unwrap_or_default();
        assert!(
            top_via.starts_with(&via),
            "a NOTIFY that did not come through the proxy:\n{n}"
        );
    }
    println!(
        "REFER through Kamailio: {calls}/{calls} calls, {} NOTIFYs all through the proxy, \
         {} transfers answered",
        notifies.len(),
        report.transfers_succeeded
    );
    drop(sipp);
    drop(kamailio);
    let _ = std::fs::remove_dir_all(&dir);
}
