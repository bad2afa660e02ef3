//! CPU per call of sip-smol's `smol_uas` beside sip-tokio's `uas` under the same SIPp load,
//! in one run: the CPU part of sip-tokio's `bench_sipp`, for two servers. Not part of the
//! test suite.
//!
//! ```text
//! cargo build --release -p sip-tokio --example uas
//! cargo build --release -p sip-smol --example smol_uas --example bench_cpu
//! target/release/examples/bench_cpu [--rate 2000] [--seconds 20] [--rounds 2] [--transport udp|tcp]
//!     [--buffer 4194304] [--tokio-uas PATH] [--smol-uas PATH]
//! ```
//!
//! Each round starts each server in turn on a fresh port (the same PBX of `sip-pbx`, one
//! thread each: `uas --shards 1`, `smol_uas --threads 1`), has SIPp's `uac` place
//! `rate × seconds` calls at `rate` calls/s, and reads the server process's utime + stime
//! (`/proc/<pid>/stat`, all threads) before and after. The lowest figure of the rounds is
//! kept for each server (a shared machine's noise only ever adds), and the ratio
//! smol / tokio printed. A run with a failed call counts for nothing.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Duration;

struct Options {
    rate: u32,
    seconds: u64,
    rounds: u32,
    tcp: bool,
    buffer: usize,
    tokio_uas: PathBuf,
    smol_uas: PathBuf,
}

fn parse() -> Result<Options, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut o = Options {
        rate: 2000,
        seconds: 20,
        rounds: 2,
        tcp: false,
        buffer: 4 << 20,
        tokio_uas: exe.with_file_name("uas"),
        smol_uas: exe.with_file_name("smol_uas"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        let num = |v: String| v.trim().parse::<u64>().map_err(|e| format!("{a}: {e}"));
        match a.as_str() {
            "--rate" => o.rate = num(value()?)?.clamp(1, 100_000) as u32,
            "--seconds" => o.seconds = num(value()?)?.clamp(1, 3600),
            "--rounds" => o.rounds = num(value()?)?.clamp(1, 10) as u32,
            "--buffer" => o.buffer = num(value()?)?.clamp(65_536, 1 << 30) as usize,
            "--transport" => o.tcp = value()? == "tcp",
            "--tokio-uas" => o.tokio_uas = PathBuf::from(value()?),
            "--smol-uas" => o.smol_uas = PathBuf::from(value()?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    for (path, build) in [
        (
            &o.tokio_uas,
            "cargo build --release -p sip-tokio --example uas",
        ),
        (
            &o.smol_uas,
            "cargo build --release -p sip-smol --example smol_uas",
        ),
    ] {
        if !path.exists() {
            return Err(format!("{} not found: {build}", path.display()));
        }
    }
    Ok(o)
}

/// A server under test.
#[derive(Clone, Copy)]
enum Server {
    Tokio,
    Smol,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::Tokio => "sip-tokio uas",
            Server::Smol => "sip-smol smol_uas",
        }
    }

    /// Starts the server on `port`; `None` if it did not start or exited at once.
    fn start(self, o: &Options, port: u16) -> Option<Child> {
        let (path, one_thread) = match self {
            Server::Tokio => (&o.tokio_uas, ["--shards", "1"]),
            Server::Smol => (&o.smol_uas, ["--threads", "1"]),
        };
        let mut child = Command::new(path)
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .args(["--transport", if o.tcp { "tcp" } else { "udp" }])
            .args(["--recv-buffer", &o.buffer.to_string()])
            .args(one_thread)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| eprintln!("{}: not started: {e}", self.name()))
            .ok()?;
        std::thread::sleep(Duration::from_millis(500));
        if let Ok(Some(status)) = child.try_wait() {
            eprintln!("{}: exited at once ({status})", self.name());
            return None;
        }
        Some(child)
    }
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap_or(15060)
}

/// utime + stime of the process (all its threads), in clock ticks: fields 14 and 15 of
/// `/proc/<pid>/stat`, counted after the parenthesised command name.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.get(stat.rfind(')')? + 1..)?;
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

/// Stops a server with SIGINT (it prints its counters and exits), killing it after 5 s.
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

/// SIPp's `uac`: `calls` calls at `rate` to `port`. Returns (successful, failed) from
/// SIPp's final statistics, or `None` if it could not run.
fn run_uac(o: &Options, port: u16, calls: u64, dir: &Path) -> Option<(u64, u64)> {
    let stat = dir.join(format!("uac-{port}.csv"));
    let _ = std::fs::remove_file(&stat);
    let limit = o.seconds * 4 + 20;
    let status = Command::new("sipp")
        .args([
            "-sn",
            "uac",
            &format!("127.0.0.1:{port}"),
            "-i",
            "127.0.0.1",
        ])
        .args(["-p", &free_port().to_string()])
        .args(["-t", if o.tcp { "t1" } else { "u1" }])
        .args(["-r", &o.rate.to_string(), "-m", &calls.to_string()])
        .args(["-buff_size", &o.buffer.to_string()])
        .args(["-timeout", &format!("{limit}s"), "-timeout_error"])
        .args(["-max_recv_loops", "10000", "-max_sched_loops", "10000"])
        .args(["-nostdin", "-trace_stat", "-stf"])
        .arg(&stat)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    let text = std::fs::read_to_string(&stat).ok()?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next()?.split(';').collect();
    let last: Vec<&str> = lines.next_back()?.split(';').collect();
    let column = |name: &str| -> u64 {
        header
            .iter()
            .position(|h| *h == name)
            .and_then(|i| last.get(i))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    let failed = column("FailedCall(C)") + u64::from(!status.success());
    Some((column("SuccessfulCall(C)"), failed))
}

/// CPU seconds per 1,000 calls of one server run; `None` if a call failed.
fn measure(o: &Options, server: Server, dir: &Path, ticks_per_s: f64) -> Option<f64> {
    let port = free_port();
    let child = server.start(o, port)?;
    let pid = child.id();
    let calls = u64::from(o.rate) * o.seconds;
    let before = cpu_ticks(pid);
    let outcome = run_uac(o, port, calls, dir);
    let after = cpu_ticks(pid);
    stop(child);
    let (ok, failed) = outcome?;
    let secs = after?.checked_sub(before?)? as f64 / ticks_per_s;
    let per_1000 = secs * 1000.0 / ok.max(1) as f64;
    println!(
        "  {:<18} {calls} calls at {} calls/s: {ok} ok, {failed} failed; {secs:.2} CPU s, {per_1000:.3} s per 1,000 calls",
        server.name(),
        o.rate,
    );
    (failed == 0 && ok == calls).then_some(per_1000)
}

fn main() -> ExitCode {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench_cpu: {e}");
            return ExitCode::from(2);
        }
    };
    let dir = std::env::temp_dir().join(format!("sip-smol-bench-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("bench_cpu: {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    let ticks = clock_ticks_per_second();
    let mut best: [Option<f64>; 2] = [None, None];
    for round in 1..=o.rounds {
        println!("round {round}:");
        for (i, s) in [Server::Tokio, Server::Smol].into_iter().enumerate() {
            if let Some(c) = measure(&o, s, &dir, ticks) {
                best[i] = Some(best[i].map_or(c, |b: f64| b.min(c)));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let transport = if o.tcp { "TCP" } else { "UDP" };
    println!(
        "\nCPU s per 1,000 calls ({transport}, {} calls/s, lowest of {} rounds):",
        o.rate, o.rounds
    );
    for (i, s) in [Server::Tokio, Server::Smol].into_iter().enumerate() {
        let v = best[i].map_or("not measured".to_owned(), |c| format!("{c:.3}"));
        println!("  {:<18} {v}", s.name());
    }
    match best {
        [Some(t), Some(s)] => {
            println!("  smol / tokio: {:.2}", s / t);
            ExitCode::SUCCESS
        }
        _ => ExitCode::FAILURE,
    }
}
