//! The rate benchmark: SIPp's `uac` against the tokio `uas` example (1 and 2 shards), the
//! mio `mio_uas` example and SIPp's own `uas`, side by side in one run. For each server it
//! reports the highest call rate sustained with 0 failed calls and 0 retransmissions with
//! its RSS, the CPU seconds the server process spends per 1,000 calls at a common rate,
//! and its resident memory per established call. Not part of the test suite.
//!
//! Equal conditions: every server and SIPp's `uac` get the same socket receive buffer
//! (`--buffer`, default 4 MiB: SIPp's `-buff_size`, our `--recv-buffer`; the kernel caps
//! both at `net.core.rmem_max`), and each rate step runs for `--sustain` seconds (default
//! 60; 0 for the old bursts of `--step-calls`).
//!
//! Both run the sample PBX of `sip-pbx`, each over its own driver:
//!
//! ```text
//! cargo build --release -p sip-mio --example mio_uas
//! cargo build --release -p sip-tokio --example uas --example bench_sipp
//! target/release/examples/bench_sipp [--rates 1000,2500,5000] [--sustain 60] [--buffer 4194304] [--step-calls 5000]
//!     [--cpu-rate 1000] [--cpu-calls 10000] [--cpu-rounds 2] [--hold-calls 5000]
//!     [--tokio-uas PATH] [--mio-uas PATH]
//! ```
//!
//! * Rate: steps of rising rate on one server process, each `--sustain` seconds of calls
//!   (with `--sustain 0`, `min(3 s of calls, --step-calls)` calls). A step is *sustained*
//!   when SIPp reports every call successful (none failed, none timed out), no
//!   retransmission, and the step took no more than 10 % + 1 s longer than the calls
//!   needed at the asked rate (beyond that the server, or SIPp sharing the CPUs, falls
//!   behind). The server's VmRSS is sampled during each step; 36 s after the last step
//!   (64·T1 + 4 s) it is read again, to see the memory of the load given back.
//! * CPU: utime + stime of the server process (all its threads) from `/proc/<pid>/stat`,
//!   before and after `--cpu-calls` calls at `--cpu-rate`, in clock ticks
//!   (`getconf CLK_TCK`). The servers take turns, `--cpu-rounds` times; the lowest
//!   figure of each is reported (the machine is shared: the noise only ever adds).
//! * Memory: VmRSS from `/proc/<pid>/status` of a fresh server, then SIPp places
//!   `--hold-calls` calls that stay up (SIPp's `-d` pause between ACK and BYE, `-l`
//!   limit); VmRSS is read again when they are all established, and once more 36 s
//!   later, when the INVITE server transactions (kept 64·T1 after the 2xx, RFC 6026) are
//!   gone and only the dialogs remain.

use std::collections::HashMap;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

struct Options {
    rates: Vec<u32>,
    step_calls: u64,
    cpu_rate: u32,
    cpu_calls: u64,
    cpu_rounds: u32,
    hold_calls: u32,
    /// Socket receive buffer given to every server and to SIPp's uac alike.
    buffer: usize,
    /// Seconds each rate step lasts (0: bursts of `step_calls`).
    sustain: u64,
    tokio_uas: PathBuf,
    mio_uas: PathBuf,
}

fn parse() -> Result<Options, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut o = Options {
        rates: vec![1000, 2500, 5000, 10_000, 15_000],
        step_calls: 5000,
        cpu_rate: 1000,
        cpu_calls: 10_000,
        cpu_rounds: 2,
        hold_calls: 5000,
        buffer: 4 << 20,
        sustain: 60,
        tokio_uas: exe.with_file_name("uas"),
        mio_uas: exe.with_file_name("mio_uas"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        let num = |v: String| v.trim().parse::<u64>().map_err(|e| format!("{a}: {e}"));
        match a.as_str() {
            "--rates" => {
                o.rates = value()?
                    .split(',')
                    .map(|r| r.trim().parse().map_err(|e| format!("--rates: {e}")))
                    .collect::<Result<_, _>>()?
            }
            "--step-calls" => o.step_calls = num(value()?)?.max(1),
            "--cpu-rate" => o.cpu_rate = num(value()?)?.clamp(1, 100_000) as u32,
            "--cpu-calls" => o.cpu_calls = num(value()?)?.max(1),
            "--cpu-rounds" => o.cpu_rounds = num(value()?)?.clamp(1, 10) as u32,
            "--hold-calls" => o.hold_calls = num(value()?)?.clamp(1, 100_000) as u32,
            "--buffer" => o.buffer = num(value()?)?.clamp(65_536, 1 << 30) as usize,
            "--sustain" => o.sustain = num(value()?)?.min(3600),
            "--tokio-uas" => o.tokio_uas = PathBuf::from(value()?),
            "--mio-uas" => o.mio_uas = PathBuf::from(value()?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    for (path, build) in [
        (
            &o.tokio_uas,
            "cargo build --release -p sip-tokio --example uas",
        ),
        (
            &o.mio_uas,
            "cargo build --release -p sip-mio --example mio_uas",
        ),
    ] {
        if !path.exists() {
            return Err(format!("{} not found: {build}", path.display()));
        }
    }
    // Paths given by hand may be swapped: only the tokio one has `--shards` in its usage
    // line.
    let usage = |p: &Path| {
        Command::new(p)
            .arg("--help")
            .stdin(Stdio::null())
            .output()
            .map(|out| {
                String::from_utf8_lossy(&out.stdout).into_owned()
                    + &String::from_utf8_lossy(&out.stderr)
            })
            .unwrap_or_default()
    };
    if !usage(&o.tokio_uas).contains("--shards") {
        return Err(format!(
            "{} is not the sip-tokio uas",
            o.tokio_uas.display()
        ));
    }
    if usage(&o.mio_uas).contains("--shards") {
        return Err(format!(
            "{} is the sip-tokio uas, not the sip-mio one",
            o.mio_uas.display()
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
#[derive(Clone, Copy, PartialEq)]
enum Server {
    Tokio,
    /// The tokio `uas` with two shards (and two runtime threads).
    Tokio2,
    Mio,
    SippUas,
}

impl Server {
    const ALL: [Server; 3] = [Server::Tokio, Server::Mio, Server::SippUas];
    /// The servers whose highest rate is measured (the CPU and memory runs use `ALL`).
    const RATED: [Server; 4] = [Server::Tokio, Server::Tokio2, Server::Mio, Server::SippUas];

    fn name(self) -> &'static str {
        match self {
            Server::Tokio => "sip-tokio uas (1 shard)",
            Server::Tokio2 => "sip-tokio uas (2 shards)",
            Server::Mio => "sip-mio mio_uas",
            Server::SippUas => "SIPp uas",
        }
    }

    /// Starts the server on `port` and checks that it is still running half a second later.
    fn start(self, o: &Options, port: u16, dir: &Path) -> Option<Child> {
        let bind = format!("127.0.0.1:{port}");
        let buffer = o.buffer.to_string();
        let mut cmd = match self {
            Server::Tokio | Server::Tokio2 => {
                let shards = if self == Server::Tokio { "1" } else { "2" };
                let mut c = Command::new(&o.tokio_uas);
                c.args(["--bind", &bind, "--shards", shards]);
                c.args(["--recv-buffer", &buffer]);
                c
            }
            Server::Mio => {
                let mut c = Command::new(&o.mio_uas);
                c.args(["--bind", &bind, "--recv-buffer", &buffer]);
                c
            }
            Server::SippUas => {
                let mut c = Command::new("sipp");
                c.args(["-sn", "uas", "-i", "127.0.0.1", "-p", &port.to_string()])
                    .args(["-buff_size", &buffer])
                    .arg("-nostdin");
                c
            }
        };
        let mut child = match cmd
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!("{}: not started: {e}", self.name());
                return None;
            }
        };
        std::thread::sleep(Duration::from_millis(500));
        if let Ok(Some(status)) = child.try_wait() {
            eprintln!("{}: exited at once ({status})", self.name());
            return None;
        }
        Some(child)
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
    calls: u64,
    successful: u64,
    failed: u64,
    achieved: f64,
    retransmissions: u64,
    /// The server's peak VmRSS during the step, KiB (0 if not sampled).
    peak_rss: u64,
}

/// `calls` calls at `rate` calls/s from SIPp's `uac` to `port`, with `buffer` bytes of
/// socket buffer; the peak RSS of process `server` (if given) is sampled meanwhile.
fn run_uac(
    port: u16,
    rate: u32,
    calls: u64,
    buffer: usize,
    server: Option<u32>,
    dir: &Path,
) -> Step {
    let needed = calls as f64 / f64::from(rate.max(1));
    let stat = dir.join(format!("uac-{port}-{rate}.csv"));
    let _ = std::fs::remove_file(&stat);
    let limit = (needed * 4.0) as u64 + 20;
    let start = Instant::now();
    let child = Command::new("sipp")
        .args([
            "-sn",
            "uac",
            &format!("127.0.0.1:{port}"),
            "-i",
            "127.0.0.1",
        ])
        .args(["-p", &free_port().to_string()])
        .args(["-r", &rate.to_string(), "-m", &calls.to_string()])
        .args(["-buff_size", &buffer.to_string()])
        .args(["-timeout", &format!("{limit}s"), "-timeout_error"])
        .args(["-max_recv_loops", "10000", "-max_sched_loops", "10000"])
        .args(["-nostdin", "-trace_stat", "-fd", "1", "-stf"])
        .arg(&stat)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let mut peak_rss = 0;
    let status = child.and_then(|mut c| {
        loop {
            if let Some(st) = c.try_wait()? {
                break Ok(st);
            }
            if let Some(kib) = server.and_then(rss_kib) {
                peak_rss = peak_rss.max(kib);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    let elapsed = start.elapsed().as_secs_f64();
    let s = stats(&stat);
    let successful = count(&s, "SuccessfulCall(C)");
    let failed = count(&s, "FailedCall(C)");
    let retransmissions = count(&s, "Retransmissions(C)");
    let ok = status.is_ok_and(|s| s.success())
        && failed == 0
        && retransmissions == 0
        && successful == calls
        && elapsed <= needed * 1.1 + 1.0;
    Step {
        ok,
        calls,
        successful,
        failed,
        achieved: successful as f64 / elapsed.max(0.001),
        retransmissions,
        peak_rss,
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// utime + stime of the process (all its threads), in clock ticks: fields 14 and 15 of
/// `/proc/<pid>/stat`, counted after the parenthesised command name.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    // `rest` starts at field 3 (the state).
    let mut fields = rest.split_whitespace().skip(14 - 3);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
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

fn step_calls(o: &Options, rate: u32) -> u64 {
    if o.sustain > 0 {
        return u64::from(rate) * o.sustain;
    }
    (u64::from(rate) * 3).clamp(o.step_calls.min(2000), o.step_calls)
}

/// What the rate run of one server found.
struct Rated {
    /// The highest sustained rate asked, and the rate completed at that step.
    best: Option<(u32, f64)>,
    /// VmRSS (KiB): at start, at the peak of the best step, and 64·T1 + 4 s after the
    /// load stopped (the lingering transactions are gone by then).
    rss: (u64, u64, u64),
}

/// The highest sustained rate of `server`: steps of rising rate on one server process
/// until one fails (a failed call, a retransmission, or falling behind).
fn max_rate(o: &Options, server: Server, dir: &Path) -> Option<Rated> {
    let port = free_port();
    let child = server.start(o, port, dir)?;
    let pid = child.id();
    let fresh = rss_kib(pid).unwrap_or(0);
    let mut best = None;
    let mut peak = 0;
    for &rate in &o.rates {
        let step = run_uac(port, rate, step_calls(o, rate), o.buffer, Some(pid), dir);
        println!(
            "  {:<24} {rate:>5} calls/s asked, {:>7} calls: {:>7} ok, {:>5} failed, {:>6.0} calls/s done, {:>5} SIPp retransmissions, peak RSS {:>7} KiB -> {}",
            server.name(),
            step.calls,
            step.successful,
            step.failed,
            step.achieved,
            step.retransmissions,
            step.peak_rss,
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
        peak = step.peak_rss;
    }
    // 64·T1 = 32 s after the last call, every lingering transaction and kept dialog is gone.
    std::thread::sleep(Duration::from_secs(36));
    let after = rss_kib(pid).unwrap_or(0);
    stop(child);
    Some(Rated {
        best,
        rss: (fresh, peak, after),
    })
}

/// CPU seconds of `server` per 1,000 calls at `o.cpu_rate`; `None` when a call failed.
fn cpu(o: &Options, server: Server, dir: &Path, ticks_per_s: f64) -> Option<f64> {
    let port = free_port();
    let child = server.start(o, port, dir)?;
    let pid = child.id();
    let before = cpu_ticks(pid);
    let step = run_uac(port, o.cpu_rate, o.cpu_calls, o.buffer, None, dir);
    let after = cpu_ticks(pid);
    stop(child);
    let secs = after?.checked_sub(before?)? as f64 / ticks_per_s;
    let per_1000 = secs * 1000.0 / step.successful.max(1) as f64;
    println!(
        "  {:<24} {} calls at {} calls/s: {} ok, {} failed; {secs:.2} CPU s, {per_1000:.3} s per 1,000 calls",
        server.name(),
        o.cpu_calls,
        o.cpu_rate,
        step.successful,
        step.failed
    );
    (step.failed == 0 && step.successful == o.cpu_calls).then_some(per_1000)
}

/// Memory of a server holding `o.hold_calls` calls.
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

fn memory(o: &Options, server: Server, dir: &Path) -> Option<Memory> {
    let port = free_port();
    let child = server.start(o, port, dir)?;
    let pid = child.id();
    let idle = rss_kib(pid)?;
    let rate = 500u32;
    let ramp = Duration::from_secs_f64(f64::from(o.hold_calls) / f64::from(rate));
    // Past 64·T1 (32 s) after the last call is set up, plus margin.
    let hold = ramp + Duration::from_secs(45);
    let stat = dir.join(format!("hold-{port}.csv"));
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
    let m = Memory {
        idle_kib: idle,
        established,
        fresh: per(fresh, established),
        steady: per(steady, still),
    };
    println!(
        "  {:<24} idle {} KiB; {} calls up: {:.0} bytes per call just established, {:.0} bytes after 64*T1",
        server.name(),
        m.idle_kib,
        m.established,
        m.fresh,
        m.steady
    );
    Some(m)
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
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
    let ticks_per_s = clock_ticks_per_second();
    let steps = if o.sustain > 0 {
        format!("each step sustained for {} s", o.sustain)
    } else {
        format!("bursts of up to {} calls per step", o.step_calls)
    };
    println!(
        "SIPp uac, built-in scenario, UDP on loopback; rates {:?}, {steps}; {} B socket \
         receive buffer asked on both sides (SIPp -buff_size, our --recv-buffer)",
        o.rates, o.buffer
    );

    println!("\nhighest rate with 0 failed calls and 0 retransmissions:");
    let rated: Vec<_> = Server::RATED
        .iter()
        .map(|&s| max_rate(&o, s, &dir))
        .collect();
    let top = o.rates.iter().max().copied();
    println!(
        "\n| Server | Highest sustained rate (0 failed, 0 retransmissions) | RSS at start / peak at that rate / 36 s after the load |"
    );
    println!("|---|---|---|");
    for (r, s) in rated.iter().zip(Server::RATED) {
        let Some(r) = r else {
            println!("| {} | not started | |", s.name());
            continue;
        };
        let rate = r
            .best
            .map_or("none of the rates".to_owned(), |(rate, done)| {
                format!(
                    "{}{} calls/s ({} done)",
                    if Some(rate) == top { "≥ " } else { "" },
                    thousands(u64::from(rate)),
                    thousands(done.round() as u64),
                )
            });
        let (fresh, peak, after) = r.rss;
        println!(
            "| {} | {rate} | {:.1} / {:.1} / {:.1} MiB |",
            s.name(),
            fresh as f64 / 1024.0,
            peak as f64 / 1024.0,
            after as f64 / 1024.0
        );
    }
    // The rate table's columns by `Server::ALL` order, for the summary below.
    let rates: Vec<Option<(u32, f64)>> = Server::ALL
        .iter()
        .map(|a| {
            Server::RATED
                .iter()
                .position(|r| r == a)
                .and_then(|i| rated[i].as_ref())
                .and_then(|r| r.best)
        })
        .collect();

    println!(
        "\nCPU of the server process, {} calls at {} calls/s, {} rounds:",
        o.cpu_calls, o.cpu_rate, o.cpu_rounds
    );
    let mut cpu_best: [Option<f64>; 3] = [None; 3];
    for _ in 0..o.cpu_rounds {
        for (i, &s) in Server::ALL.iter().enumerate() {
            if let Some(c) = cpu(&o, s, &dir, ticks_per_s) {
                cpu_best[i] = Some(cpu_best[i].map_or(c, |b: f64| b.min(c)));
            }
        }
    }

    println!("\nresident memory, {} calls held:", o.hold_calls);
    let mem: Vec<_> = Server::ALL.iter().map(|&s| memory(&o, s, &dir)).collect();

    println!(
        "\n| Server | Highest rate with 0 failed calls | CPU s per 1,000 calls (at {} calls/s) | RSS per established call: set up / after 64·T1 |",
        thousands(u64::from(o.cpu_rate))
    );
    println!("|---|---|---|---|");
    for (i, s) in Server::ALL.iter().enumerate() {
        let top = o.rates.iter().max().copied();
        let rate = rates[i].map_or("none of the rates".to_owned(), |(r, done)| {
            format!(
                "{}{} calls/s ({} done{})",
                if Some(r) == top { "≥ " } else { "" },
                thousands(u64::from(r)),
                thousands(done.round() as u64),
                if Some(r) == top {
                    "; the highest step tried"
                } else {
                    ""
                }
            )
        });
        let cpu = cpu_best[i].map_or("not measured".to_owned(), |c| format!("{c:.3}"));
        let mem = mem[i].as_ref().map_or("not measured".to_owned(), |m| {
            format!("{:.1} KiB / {:.1} KiB", m.fresh / 1024.0, m.steady / 1024.0)
        });
        println!("| {} | {rate} | {cpu} | {mem} |", s.name());
    }
    match (cpu_best[0], cpu_best[1]) {
        (Some(t), Some(m)) => println!(
            "\nmio / tokio CPU per call: {:.2}; target (mio <= tokio): {}",
            m / t,
            if m <= t { "met" } else { "NOT met" }
        ),
        _ => println!("\nmio / tokio CPU per call: not measured"),
    }
    match (
        rates.first().copied().flatten(),
        rates.get(2).copied().flatten(),
    ) {
        (Some((t, _)), Some((s, _))) => println!(
            "tokio / SIPp uas highest rate: {:.2}; target (>= 1.0): {}",
            f64::from(t) / f64::from(s),
            if t >= s { "met" } else { "NOT met" }
        ),
        (None, _) => {
            println!("tokio / SIPp uas highest rate: tokio sustained none; target NOT met")
        }
        (Some(_), None) => println!("tokio / SIPp uas highest rate: SIPp uas sustained none"),
    }
    let _ = std::fs::remove_dir_all(&dir);
    ExitCode::SUCCESS
}
