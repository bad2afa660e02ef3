//! The rate benchmark: SIPp's `uac` against the `uas` example (1 and 2 endpoint shards)
//! and against SIPp's own `uas`, at increasing call rates, in one run. Reports the highest
//! rate each sustains with 0 failed calls, and the `uas` process's resident memory per
//! established call. Not part of the test suite.
//!
//! ```text
//! cargo build --release -p sip-tokio --example uas --example bench_sipp
//! target/release/examples/bench_sipp [--rates 500,1000,2000,4000] [--step-secs 5] [--hold-calls 5000]
//! ```
//!
//! A rate is *sustained* when SIPp reports every call of the step successful (none failed,
//! none timed out) and the calls completed at no less than 90 % of the rate asked for
//! (beyond that SIPp itself, sharing the CPUs, is the limit). Memory: the `uas` is started
//! fresh, its VmRSS read, then SIPp places `--hold-calls` calls that stay up (SIPp's `-d`
//! pause between ACK and BYE) and VmRSS is read again when they are all established, and
//! once more 36 s later, when the INVITE server transactions (kept 64·T1 after the 2xx,
//! RFC 6026) are gone and only the dialogs remain.

use std::collections::HashMap;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

struct Options {
    rates: Vec<u32>,
    step: Duration,
    hold_calls: u32,
    uas_bin: PathBuf,
}

fn parse() -> Result<Options, String> {
    let mut o = Options {
        rates: vec![250, 500, 1000, 1500, 2000, 3000, 4000, 6000, 8000],
        step: Duration::from_secs(5),
        hold_calls: 5000,
        uas_bin: std::env::current_exe()
            .map_err(|e| e.to_string())?
            .with_file_name("uas"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--rates" => {
                o.rates = value()?
                    .split(',')
                    .map(|r| r.trim().parse().map_err(|e| format!("--rates: {e}")))
                    .collect::<Result<_, _>>()?
            }
            "--step-secs" => {
                o.step = Duration::from_secs(value()?.parse().map_err(|e| format!("{e}"))?)
            }
            "--hold-calls" => o.hold_calls = value()?.parse().map_err(|e| format!("{e}"))?,
            "--uas-bin" => o.uas_bin = PathBuf::from(value()?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if !o.uas_bin.exists() {
        return Err(format!(
            "{} not found: cargo build --release -p sip-tokio --example uas",
            o.uas_bin.display()
        ));
    }
    Ok(o)
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap_or(15060)
}

/// A server under test.
enum Server {
    Ours { shards: usize },
    SippUas,
}

impl Server {
    fn name(&self) -> String {
        match self {
            Server::Ours { shards } => format!(
                "sip-tokio uas ({shards} shard{})",
                if *shards == 1 { "" } else { "s" }
            ),
            Server::SippUas => "SIPp uas".to_owned(),
        }
    }

    fn start(&self, o: &Options, port: u16, dir: &Path) -> std::io::Result<Child> {
        let child = match self {
            Server::Ours { shards } => Command::new(&o.uas_bin)
                .args([
                    "--bind",
                    &format!("127.0.0.1:{port}"),
                    "--shards",
                    &shards.to_string(),
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?,
            Server::SippUas => Command::new("sipp")
                .args([
                    "-sn",
                    "uas",
                    "-i",
                    "127.0.0.1",
                    "-p",
                    &port.to_string(),
                    "-nostdin",
                ])
                .current_dir(dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?,
        };
        std::thread::sleep(Duration::from_millis(500));
        Ok(child)
    }
}

/// The last line of SIPp's statistics file, by column.
fn stats(path: &Path) -> HashMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().unwrap_or_default().split(';').collect();
    let last: Vec<&str> = lines.next_back().unwrap_or_default().split(';').collect();
    header
        .iter()
        .zip(last.iter())
        .map(|(h, v)| (h.to_string(), v.to_string()))
        .collect()
}

fn count(s: &HashMap<String, String>, k: &str) -> u64 {
    s.get(k).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

struct Step {
    ok: bool,
    successful: u64,
    failed: u64,
    achieved: f64,
    retransmissions: u64,
}

/// One step: `rate` calls/s for `o.step` against `port`.
fn run_uac(o: &Options, port: u16, rate: u32, dir: &Path, extra: &[&str]) -> Step {
    let calls = (f64::from(rate) * o.step.as_secs_f64()).round() as u64;
    let stat = dir.join(format!("uac-{port}-{rate}.csv"));
    let _ = std::fs::remove_file(&stat);
    let limit = o.step.as_secs() * 4 + 20;
    let start = Instant::now();
    let status = Command::new("sipp")
        .args([
            "-sn",
            "uac",
            &format!("127.0.0.1:{port}"),
            "-i",
            "127.0.0.1",
        ])
        .args(["-p", &free_port().to_string()])
        .args(["-r", &rate.to_string(), "-m", &calls.to_string()])
        .args(["-timeout", &format!("{limit}s"), "-timeout_error"])
        .args(["-max_recv_loops", "10000", "-max_sched_loops", "10000"])
        .args(extra)
        .args(["-nostdin", "-trace_stat", "-fd", "1", "-stf"])
        .arg(&stat)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let elapsed = start.elapsed().as_secs_f64();
    let s = stats(&stat);
    let successful = count(&s, "SuccessfulCall(C)");
    let failed = count(&s, "FailedCall(C)");
    let achieved = successful as f64 / elapsed.max(0.001);
    let ok = status.is_ok_and(|s| s.success())
        && failed == 0
        && successful == calls
        && achieved >= 0.9 * f64::from(rate);
    Step {
        ok,
        successful,
        failed,
        achieved,
        retransmissions: count(&s, "Retransmissions(C)"),
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    for _ in 0..50 {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The highest sustained rate of `server`.
fn max_rate(o: &Options, server: &Server, dir: &Path) -> Option<(u32, f64)> {
    let port = free_port();
    let child = match server.start(o, port, dir) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}: not started: {e}", server.name());
            return None;
        }
    };
    let mut best = None;
    for &rate in &o.rates {
        let step = run_uac(o, port, rate, dir, &[]);
        println!(
            "  {:<28} {rate:>6} calls/s asked: {:>6} ok, {:>4} failed, {:>8.0} calls/s done, {:>5} SIPp retransmissions -> {}",
            server.name(),
            step.successful,
            step.failed,
            step.achieved,
            step.retransmissions,
            if step.ok {
                "sustained"
            } else {
                "NOT sustained"
            }
        );
        if !step.ok {
            break;
        }
        best = Some((rate, step.achieved));
    }
    stop(child);
    best
}

/// Memory of our uas with `shards` holding `o.hold_calls` calls.
struct Memory {
    idle_kib: u64,
    established: u64,
    /// Bytes per call right after the calls are established (the INVITE server
    /// transactions still absorb retransmissions: 64·T1, RFC 6026).
    fresh: f64,
    /// Bytes per call once those transactions are over: what a long call costs.
    steady: f64,
}

fn peak_rss(pid: u32) -> u64 {
    let mut peak = 0;
    for _ in 0..10 {
        peak = peak.max(rss_kib(pid).unwrap_or(0));
        std::thread::sleep(Duration::from_millis(200));
    }
    peak
}

fn memory(o: &Options, shards: usize, dir: &Path) -> Option<Memory> {
    let port = free_port();
    let server = Server::Ours { shards };
    let child = server.start(o, port, dir).ok()?;
    let pid = child.id();
    let idle = rss_kib(pid)?;
    let rate = 500u32;
    let ramp = Duration::from_secs_f64(f64::from(o.hold_calls) / f64::from(rate));
    // Past 64·T1 (32 s) after the last call is set up, plus margin.
    let hold = ramp + Duration::from_secs(45);
    let stat = dir.join("hold.csv");
    let mut sipp = Command::new("sipp")
        .args([
            "-sn",
            "uac",
            &format!("127.0.0.1:{port}"),
            "-i",
            "127.0.0.1",
        ])
        .args(["-p", &free_port().to_string()])
        .args(["-r", &rate.to_string(), "-m", &o.hold_calls.to_string()])
        .args([
            "-d",
            &hold.as_millis().to_string(),
            "-l",
            &o.hold_calls.to_string(),
        ])
        .args(["-timeout", &format!("{}s", hold.as_secs() * 2 + 30)])
        .args(["-nostdin", "-trace_stat", "-fd", "1", "-stf"])
        .arg(&stat)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    std::thread::sleep(ramp + Duration::from_secs(3));
    let fresh = peak_rss(pid);
    let established = count(&stats(&stat), "CurrentCall").max(1);
    std::thread::sleep(Duration::from_secs(36));
    let steady = peak_rss(pid);
    let still = count(&stats(&stat), "CurrentCall").max(1);
    let _ = sipp.wait();
    stop(child);
    let per = |kib: u64, n: u64| (kib.saturating_sub(idle) * 1024) as f64 / n as f64;
    Some(Memory {
        idle_kib: idle,
        established,
        fresh: per(fresh, established),
        steady: per(steady, still),
    })
}

fn main() -> ExitCode {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench_sipp: {e}");
            return ExitCode::from(2);
        }
    };
    let dir = std::env::temp_dir().join(format!("bench-sipp-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("bench_sipp: {e}");
        return ExitCode::FAILURE;
    }
    println!(
        "SIPp uac, built-in scenario, UDP on loopback; {} s per step; rates {:?}",
        o.step.as_secs(),
        o.rates
    );
    let servers = [
        Server::Ours { shards: 1 },
        Server::Ours { shards: 2 },
        Server::SippUas,
    ];
    let mut results = Vec::new();
    for server in &servers {
        results.push((server.name(), max_rate(&o, server, &dir)));
    }
    println!("\nhighest rate with 0 failed calls:");
    let sipp_best = results.last().and_then(|(_, r)| *r).map(|(r, _)| r);
    for (name, r) in &results {
        match r {
            Some((rate, done)) => {
                let ratio = sipp_best.map_or(String::new(), |s| {
                    format!(
                        "  (ratio to SIPp uas {:.2})",
                        f64::from(*rate) / f64::from(s)
                    )
                });
                println!("  {name:<28} {rate:>6} calls/s ({done:.0} done){ratio}");
            }
            None => println!("  {name:<28} none of the rates"),
        }
    }
    println!(
        "\nresident memory per established call ({} calls held):",
        o.hold_calls
    );
    for shards in [1, 2] {
        match memory(&o, shards, &dir) {
            Some(m) => println!(
                "  sip-tokio uas ({shards} shard{}): idle {} KiB; {} calls up: {:.0} bytes ({:.2} KiB) per call just established, {:.0} bytes ({:.2} KiB) per call after 64*T1",
                if shards == 1 { "" } else { "s" },
                m.idle_kib,
                m.established,
                m.fresh,
                m.fresh / 1024.0,
                m.steady,
                m.steady / 1024.0
            ),
            None => println!("  sip-tokio uas ({shards} shards): not measured"),
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    ExitCode::SUCCESS
}
