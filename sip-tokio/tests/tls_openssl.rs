//! An independent TLS client against the `uas` over TLS: `openssl s_client`, with
//! certificate verification on (the test CA, the server name checked, SNI sent), sends an
//! OPTIONS and gets 200; asked for another name it refuses the server and the `uas`
//! receives nothing. Skipped with a message when `openssl` is not installed; a failure
//! under `CI=true`.

#[path = "../../.ci/tls/pki.rs"]
mod pki;

#[path = "../examples/uas/tokio_pbx.rs"]
#[allow(dead_code)] // the test drives only part of the app
mod app;

use std::process::Stdio;
use std::time::Duration;

use app::{Uas, UasConfig};
use pki::{Kind, Pki};
use sip_tokio::{TlsConfig, Transport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

fn openssl() -> Option<&'static str> {
    let found = std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("openssl is not installed (apt-get install openssl)");
        }
        println!("skipped: openssl is not installed");
        return None;
    }
    Some("openssl")
}

/// Runs `openssl s_client` against `port` checking the name `name`, writes `request`, and
/// returns what it printed and whether it exited with success, within a bound; the
/// process group is killed at the end whatever happened.
async fn s_client(ca: &std::path::Path, port: u16, name: &str, request: &str) -> (String, bool) {
    let mut child = Command::new("openssl")
        .args(["s_client", "-quiet", "-verify_return_error", "-CAfile"])
        .arg(ca)
        .args(["-servername", name, "-verify_hostname", name, "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let _ = stdin.write_all(request.as_bytes()).await;
    let _ = stdin.flush().await;
    // Read until a complete response (empty body) has come, or s_client exits.
    let mut out = Vec::new();
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            match stdout.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
            let text = String::from_utf8_lossy(&out);
            if text.contains("SIP/2.0 ") && text.contains("\r\n\r\n") {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), read).await;
    // s_client waits for more (-quiet implies -ign_eof): stop its whole group.
    let _ = std::process::Command::new("kill")
        .args(["-TERM", "--", &format!("-{pid}")])
        .status();
    let status = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
    let ok = matches!(status, Ok(Ok(s)) if s.success());
    (String::from_utf8_lossy(&out).into_owned(), ok)
}

#[tokio::test]
async fn openssl_s_client_gets_200_for_options_over_tls() {
    if openssl().is_none() {
        return;
    }
    let pki = Pki::new("openssl-uas");
    let leaf = pki.leaf("uas", &["uas.test"], Kind::Good);
    let mut config = UasConfig::new("127.0.0.1:0".parse().unwrap());
    config.transport = Transport::Tls;
    config.tls = Some(TlsConfig::server(&leaf.cert, &leaf.key).unwrap());
    config.seed = Some(5);
    let uas = Uas::start(config).await.unwrap();
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
    let (out, _) = s_client(&pki.ca, port, "uas.test", &options).await;
    assert!(out.starts_with("SIP/2.0 200 "), "s_client printed {out:?}");
    assert!(out.contains("CSeq: 1 OPTIONS"), "{out}");
    assert!(out.contains("Via: SIP/2.0/TLS client.invalid"), "{out}");

    // The same client asked to check another name refuses the server: the uas receives
    // no request (verification fails before any application data is sent).
    let before = uas.transport_stats().await.stream_messages_in;
    let (out, ok) = s_client(&pki.ca, port, "other.test", &options).await;
    assert!(!ok && !out.contains("SIP/2.0"), "{out:?}");
    let s = uas.transport_stats().await;
    assert_eq!(s.stream_messages_in, before);
    assert!(s.tls_handshakes >= 1);
    uas.shutdown().await;
}
