//! Starts Kamailio on loopback for the interop tests of sip-mio and sip-tokio (included in
//! both with `#[path]`), with `.ci/kamailio/kamailio.cfg.in`: a registrar and proxy that
//! requires digest authentication with one password for every user ([`start`]), or with a
//! configuration of the test's own ([`start_config`]). Kamailio's log goes to
//! `kamailio.log` in its working directory.

use std::net::UdpSocket;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The password of every user.
pub const PASSWORD: &str = "s3cret";

/// The kamailio binary; `None` (with a message) when it is not installed, a panic under
/// `CI=true`.
pub fn kamailio_binary() -> Option<PathBuf> {
    let found = ["/usr/sbin/kamailio", "/usr/local/sbin/kamailio"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if found.is_none() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("kamailio is not installed (apt-get install kamailio)");
        }
        println!("skipped: kamailio is not installed");
    }
    found
}

/// Kamailio's module directory on this machine (the `mpath` of a configuration).
pub fn module_path() -> String {
    for p in [
        "/usr/lib/x86_64-linux-gnu/kamailio/modules",
        "/usr/lib/aarch64-linux-gnu/kamailio/modules",
        "/usr/lib/kamailio/modules",
        "/usr/lib64/kamailio/modules",
    ] {
        if Path::new(p).join("tm.so").exists() {
            return p.to_owned();
        }
    }
    "/usr/lib/x86_64-linux-gnu/kamailio/modules".to_owned()
}

/// A running Kamailio in a process group of its own, stopped when dropped — also when the
/// test fails: SIGTERM to the whole group (its worker processes included), then SIGKILL to
/// what is left after a bound.
pub struct Kamailio(Child);

/// Sends `signal` (e.g. `"-TERM"`) to every process of the group `leader` leads.
pub fn signal_group(leader: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, "--", &format!("-{leader}")])
        .stderr(Stdio::null())
        .status();
}

/// Whether any process of the group `leader` leads is still alive.
pub fn group_alive(leader: u32) -> bool {
    Command::new("kill")
        .args(["-0", "--", &format!("-{leader}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        let leader = self.0.id();
        signal_group(leader, "-TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let main_done = matches!(self.0.try_wait(), Ok(Some(_)));
            if main_done && !group_alive(leader) {
                return;
            }
            if Instant::now() >= deadline {
                signal_group(leader, "-KILL");
                let _ = self.0.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A free UDP port on loopback.
pub fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts Kamailio listening on 127.0.0.1:`port` (UDP).
pub fn start(bin: &Path, port: u16) -> Kamailio {
    let template = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../.ci/kamailio/kamailio.cfg.in"
    ))
    .unwrap();
    let cfg = template
        .replace("@PORT@", &port.to_string())
        .replace("@MPATH@", &module_path())
        .replace("@PASSWORD@", PASSWORD);
    let dir = std::env::temp_dir().join(format!("sip-kamailio-{port}"));
    start_config(bin, &dir, &cfg)
}

/// Starts Kamailio as [`start`] does, listening on TLS at 127.0.0.1:`tls_port` too, with the
/// certificate chain `cert` and key `key` (PEM) and its TLS module (package
/// `kamailio-tls-modules`). It does not check the certificates of the clients that
/// connect to it, nor of the user agents it connects to (the tests check the user
/// agents' side: they verify Kamailio's). `None` (with a message) when the module is not
/// installed, a panic under `CI=true`.
pub fn start_tls(
    bin: &Path,
    port: u16,
    tls_port: u16,
    cert: &Path,
    key: &Path,
) -> Option<Kamailio> {
    if !Path::new(&module_path()).join("tls.so").exists() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("kamailio's TLS module is not installed (apt-get install kamailio-tls-modules)");
        }
        println!("skipped: kamailio's TLS module is not installed");
        return None;
    }
    let template = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../.ci/kamailio/kamailio.cfg.in"
    ))
    .unwrap();
    let tls = format!(
        "listen=tls:127.0.0.1:{tls_port}\n\
         enable_tls=yes\n\
         tcp_children=2\n\
         alias=\"127.0.0.1:{tls_port}\"\n"
    );
    let modules = format!(
        "loadmodule \"tls.so\"\n\
         modparam(\"tls\", \"tls_method\", \"TLSv1.2+\")\n\
         modparam(\"tls\", \"certificate\", \"{}\")\n\
         modparam(\"tls\", \"private_key\", \"{}\")\n\
         modparam(\"tls\", \"verify_certificate\", 0)\n\
         modparam(\"tls\", \"require_certificate\", 0)\n",
        cert.display(),
        key.display()
    );
    let cfg = template
        .replace(
            "mpath=\"@MPATH@\"\n",
            &format!("{tls}mpath=\"@MPATH@\"\n{modules}"),
        )
        .replace("@PORT@", &port.to_string())
        .replace("@MPATH@", &module_path())
        .replace("@PASSWORD@", PASSWORD);
    let dir = std::env::temp_dir().join(format!("sip-kamailio-tls-{tls_port}"));
    Some(start_config(bin, &dir, &cfg))
}

/// Starts Kamailio with the configuration `cfg` (written to `dir/kamailio.cfg` and checked
/// with `kamailio -c` first), working in `dir`, its log in `dir/kamailio.log`.
pub fn start_config(bin: &Path, dir: &Path, cfg: &str) -> Kamailio {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("kamailio.cfg");
    std::fs::write(&path, cfg).unwrap();
    let check = Command::new(bin)
        .arg("-c")
        .arg("-f")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "kamailio rejects the config: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let log = std::fs::File::create(dir.join("kamailio.log")).unwrap();
    let child = Command::new(bin)
        .args(["-DD", "-E", "-m", "64", "-M", "8", "-Y"])
        .arg(dir)
        .arg("-f")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(log)
        .process_group(0)
        .spawn()
        .unwrap();
    Kamailio(child)
}
