//! Starts `dnsmasq` for the RFC 3263 tests of both drivers: an authoritative-only server
//! on 127.0.0.1 at a free port, serving the records it is given (TTL 300), logging every
//! query, in a process group of its own, stopped (SIGTERM, waited for) when dropped.

use std::net::{SocketAddr, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn signal_group(leader: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, "--", &format!("-{leader}")])
        .stderr(Stdio::null())
        .status();
}

fn group_alive(leader: u32) -> bool {
    Command::new("kill")
        .args(["-0", "--", &format!("-{leader}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// dnsmasq's path, or `None` (after saying so) when it is missing; a failure on CI.
pub fn dnsmasq_binary() -> Option<PathBuf> {
    let found = ["/usr/sbin/dnsmasq", "/usr/local/sbin/dnsmasq"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "dnsmasq is missing and CI=true (install the dnsmasq package)"
        );
        println!("skipped: dnsmasq is not installed (apt-get install dnsmasq)");
    }
    found
}

/// A dnsmasq serving only the records given, logging every query it receives.
pub struct Dnsmasq {
    leader: Child,
    pub addr: SocketAddr,
    log: PathBuf,
}

impl Dnsmasq {
    pub fn start(bin: &Path, records: &[String]) -> Dnsmasq {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("sip-dnsmasq-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("dnsmasq.log");
        let leader = Command::new(bin)
            .args([
                "--no-daemon",
                "--listen-address=127.0.0.1",
                "--bind-interfaces",
                "--no-resolv",
                "--no-hosts",
                "--conf-file=/dev/null",
                "--pid-file=",
                "--log-queries",
                // Local records are served with TTL 0 (do not cache) unless told.
                "--local-ttl=300",
            ])
            .arg(format!("--port={port}"))
            .arg(format!("--log-facility={}", log.display()))
            .args(records)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("dnsmasq starts");
        let d = Dnsmasq {
            leader,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            log,
        };
        // Ready once it has logged its start (it binds before).
        let deadline = Instant::now() + Duration::from_secs(5);
        while !d.log_text().contains("started") {
            assert!(Instant::now() < deadline, "dnsmasq did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        d
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Queries received so far (`query[TYPE] name from ...` lines).
    pub fn queries(&self) -> Vec<String> {
        self.log_text()
            .lines()
            .filter(|l| l.contains(" query["))
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let id = self.leader.id();
        signal_group(id, "-TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let done = matches!(self.leader.try_wait(), Ok(Some(_)));
            if done && !group_alive(id) {
                break;
            }
            if Instant::now() >= deadline {
                signal_group(id, "-KILL");
                let _ = self.leader.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Some(dir) = self.log.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
