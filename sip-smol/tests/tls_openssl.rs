//! An independent TLS client against `smol_uas` over TLS: `openssl s_client`, with
//! certificate verification on (the test CA, the server name checked, SNI sent), sends an
//! OPTIONS and gets 200; asked for another name it refuses the server and the uas
//! receives nothing. Certificates are made at test time (`.ci/tls/pki.rs`). s_client runs
//! in a process group of its own, stopped (SIGTERM, waited for) whatever happens. Skipped
//! with a message when `openssl` is not installed; a failure under `CI=true`.

#[path = "../../.ci/tls/pki.rs"]
mod pki;

#[path = "../examples/smol_uas/smol_pbx.rs"]
#[allow(dead_code)] // the test drives only part of the app
mod app;

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use app::{Uas, UasConfig};
use pki::{Kind, Pki};
use sip_smol::{TlsConfig, Transport};

fn openssl() -> bool {
    let found = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "openssl is not installed (apt-get install openssl) and CI=true"
        );
        println!("skipped: openssl is not installed");
    }
    found
}

/// Stops `child`'s process group (SIGTERM) and waits for it, at most 5 s (then SIGKILL).
struct Group(Child);

impl Group {
    fn stop(&mut self) -> bool {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let until = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(Some(status)) = self.0.try_wait() {
                return status.success();
            }
            if Instant::now() > until {
                let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
                let _ = self.0.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            self.stop();
        }
    }
}

/// Runs `openssl s_client` against `port` checking the name `name`, writes `request`, and
/// returns what it printed and whether it exited with success, within a bound.
fn s_client(ca: &std::path::Path, port: u16, name: &str, request: &str) -> (String, bool) {
    let child = Command::new("openssl")
        .args(["s_client", "-quiet", "-verify_return_error", "-CAfile"])
        .arg(ca)
        .args(["-servername", name, "-verify_hostname", name, "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let mut group = Group(child);
    let mut stdin = group.0.stdin.take().unwrap();
    let mut stdout = group.0.stdout.take().unwrap();
    let _ = stdin.write_all(request.as_bytes());
    let _ = stdin.flush();
    // Read until a complete response (empty body) has come, or s_client exits.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    let mut out = Vec::new();
    let until = Instant::now() + Duration::from_secs(10);
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(chunk) => out.extend_from_slice(&chunk),
            Err(_) => break,
        }
        let text = String::from_utf8_lossy(&out);
        if text.contains("SIP/2.0 ") && text.contains("\r\n\r\n") {
            break;
        }
    }
    // s_client waits for more (-quiet implies -ign_eof): stop its whole group.
    drop(stdin);
    let ok = group.stop();
    (String::from_utf8_lossy(&out).into_owned(), ok)
}

#[test]
fn openssl_s_client_gets_200_for_options_over_tls() {
    if !openssl() {
        return;
    }
    let pki = Pki::new("openssl-smol-uas");
    let leaf = pki.leaf("uas", &["uas.test"], Kind::Good);
    let ex = Arc::new(smol::Executor::new());
    let (stop, stopped) = async_channel::bounded::<()>(1);
    let runner = ex.clone();
    let thread = std::thread::spawn(move || {
        smol::block_on(runner.run(async { stopped.recv().await.ok() }));
    });
    let mut config = UasConfig::new("127.0.0.1:0".parse().unwrap());
    config.transport = Transport::Tls;
    config.tls = Some(TlsConfig::server(&leaf.cert, &leaf.key).unwrap());
    config.seed = Some(5);
    let uas = smol::block_on(Uas::start(config, ex.clone())).unwrap();
    let port = uas.local_addr().port();
    let options = format!(
        "OPTIONS sips:uas@uas.test:{port} SIP/2.0\r\n\
         Via: SIP/2.0/TLS client.invalid;branch=z9hG4bK-openssl-1\r\n\
         Max-Forwards: 70\r\n\
         From: <sips:probe@client.invalid>;tag=1\r\n\
         To: <sips:uas@uas.test>\r\n\
         Call-ID: openssl-options-1\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    );
    let (out, _) = s_client(&pki.ca, port, "uas.test", &options);
    assert!(out.starts_with("SIP/2.0 200 "), "s_client printed {out:?}");
    assert!(out.contains("CSeq: 1 OPTIONS"), "{out}");
    assert!(out.contains("Via: SIP/2.0/TLS client.invalid"), "{out}");

    // The same client asked to check another name refuses the server: the uas receives
    // no request (verification fails before any application data is sent).
    let before = smol::block_on(uas.transport_stats()).stream_messages_in;
    let (out, ok) = s_client(&pki.ca, port, "other.test", &options);
    assert!(!ok && !out.contains("SIP/2.0"), "{out:?}");
    let s = smol::block_on(uas.transport_stats());
    assert_eq!(s.stream_messages_in, before);
    assert!(s.tls_handshakes >= 1);
    smol::block_on(uas.shutdown());
    let _ = stop.try_send(());
    thread.join().unwrap();
}
