//! An independent TLS client against the `mio_uas` app over TLS: `openssl s_client`, with
//! certificate verification on (the test CA, the server name checked, SNI sent), sends an
//! OPTIONS and gets 200. Skipped with a message when `openssl` is not installed; a failure
//! under `CI=true`.

mod common;

#[path = "../../.ci/tls/pki.rs"]
mod pki;

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Harness;
use pki::{Kind, Pki};
use sip_core::transport::Transport;
use sip_mio::{DriverConfig, Listen, TlsConfig};

fn openssl_installed() -> bool {
    let found = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("openssl is not installed (apt-get install openssl)");
        }
        println!("skipped: openssl is not installed");
    }
    found
}

/// `openssl s_client`'s process group, stopped when dropped (also when the test fails).
struct SClient(std::process::Child);

impl Drop for SClient {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.0.id())])
            .status();
        let _ = self.0.wait();
    }
}

#[test]
fn openssl_s_client_gets_200_for_options_over_tls() {
    if !openssl_installed() {
        return;
    }
    let pki = Pki::new("openssl-mio");
    let leaf = pki.leaf("uas", &["uas.test"], Kind::Good);
    let mut h = Harness::new();
    let mut c = DriverConfig::new(vec![Listen::tls("127.0.0.1:0".parse().unwrap())]).seed(4);
    c.tls = Some(TlsConfig::server(&leaf.cert, &leaf.key).unwrap());
    let uas = h.add(c, true);
    let port = h.driver(uas).local_addr(Transport::Tls).unwrap().port();

    let mut child = Command::new("openssl")
        .args(["s_client", "-quiet", "-verify_return_error", "-CAfile"])
        .arg(&pki.ca)
        .args(["-servername", "uas.test", "-verify_hostname", "uas.test"])
        .arg("-connect")
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let _guard = SClient(child);
    let options = format!(
        "OPTIONS sips:uas@uas.test:{port} SIP/2.0\r\n\
         Via: SIP/2.0/TLS client.invalid;branch=z9hG4bK-openssl-mio\r\n\
         Max-Forwards: 70\r\n\
         From: <sips:probe@client.invalid>;tag=1\r\n\
         To: <sips:uas@uas.test>\r\n\
         Call-ID: openssl-options-mio\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    );
    stdin.write_all(options.as_bytes()).unwrap();
    stdin.flush().unwrap();
    let out = Arc::new(Mutex::new(Vec::new()));
    let sink = out.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let done = |out: &Arc<Mutex<Vec<u8>>>| {
        let text = String::from_utf8_lossy(&out.lock().unwrap()).into_owned();
        (text.contains("SIP/2.0 ") && text.contains("\r\n\r\n")).then_some(text)
    };
    assert!(h.run_until(Duration::from_secs(10), |_| done(&out).is_some()));
    let text = done(&out).unwrap();
    assert!(
        text.starts_with("SIP/2.0 200 "),
        "s_client printed {text:?}"
    );
    assert!(text.contains("CSeq: 1 OPTIONS"), "{text}");
    let s = h.driver(uas).stats();
    assert_eq!((s.tls_handshakes, s.stream_messages_in), (1, 1), "{s:?}");
}
