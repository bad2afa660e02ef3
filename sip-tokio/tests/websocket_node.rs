//! SIP over WebSocket (RFC 7118) against clients nobody here wrote, run under node over
//! loopback: the `ws` package as a raw RFC 6455 client (the `sip` subprotocol negotiated,
//! an OPTIONS in a text frame answered; a handshake without `sip` refused), and JsSIP, a
//! browser softphone library, registering with digest credentials to the `uas` PBX,
//! sending a MESSAGE and unregistering.
//!
//! The npm packages are installed into a folder under the build's temporary directory
//! (`npm install --prefix`). Skipped with a message when node or npm is missing; a failure
//! under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

#[allow(dead_code)] // the example's API, not all of it used here
#[path = "../examples/uas/tokio_pbx.rs"]
mod app;

#[path = "../../.ci/tls/pki.rs"]
mod pki;

use app::{Uas, UasConfig};
use sip_core::transport::Transport;

/// How long one node client may run.
const LIMIT: Duration = Duration::from_secs(20);

/// The folder holding `node_modules` with `ws` and `jssip`, installed once per run; `None`
/// (after saying why) when node or npm is missing outside CI.
fn npm_packages() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        for tool in ["node", "npm"] {
            let found = std::process::Command::new(tool)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !found {
                assert!(!ci, "{tool} is not installed (apt-get install nodejs npm)");
                println!("skipped: {tool} is not installed");
                return None;
            }
        }
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("websocket-npm");
        std::fs::create_dir_all(&dir).unwrap();
        let out = std::process::Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .args(["ws@8", "jssip@3"])
            .output()
            .expect("npm runs");
        assert!(
            out.status.success(),
            "npm install failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(dir)
    })
    .as_deref()
}

/// Runs `script` (in tests/node/) under node with `args`, within [`LIMIT`]; its stdout.
/// The process is killed if it outlives the limit or the test.
async fn node(modules: &Path, script: &str, args: &[&str]) -> String {
    node_with(modules, script, args, &[]).await
}

/// [`node`] with environment variables.
async fn node_with(modules: &Path, script: &str, args: &[&str], env: &[(&str, &Path)]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/node")
        .join(script);
    let child = tokio::process::Command::new("node")
        .arg(path)
        .args(args)
        .env("NODE_PATH", modules.join("node_modules"))
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node starts");
    let out = tokio::time::timeout(LIMIT, child.wait_with_output())
        .await
        .expect("the node client ends within its limit")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{script}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

async fn uas(registrar: bool) -> Uas {
    let mut config = UasConfig::new("127.0.0.1:0".parse().unwrap());
    config.transport = Transport::Ws;
    config.seed = Some(19);
    if registrar {
        config.registrar = true;
        config.auth = vec![("alice".into(), "s3cret".into())];
    }
    Uas::start(config).await.unwrap()
}

#[tokio::test]
async fn ws_package_gets_options_answered_over_the_sip_subprotocol() {
    let Some(modules) = npm_packages() else {
        return;
    };
    let uas = uas(false).await;
    let url = format!("ws://{}/", uas.local_addr());
    let out = node(modules, "ws_raw.js", &[&url, "sip"]).await;
    assert!(out.contains("PROTOCOL sip\n"), "{out}");
    assert!(out.contains("RESPONSE SIP/2.0 200 OK\n"), "{out}");
    // The client's `.invalid` host never matches its address: `received` is added
    // (RFC 3261 §18.2.1, RFC 7118 §5.2), with the `rport` it asked for.
    assert!(out.contains(";received=127.0.0.1"), "{out}");
    assert!(out.contains(";rport="), "{out}");
    assert!(out.contains("FRAME text\n"), "{out}");
    assert!(out.contains("CLOSED 1000\n"), "{out}");
    assert_eq!(uas.report().await.options, 1);
}

#[tokio::test]
async fn handshake_without_the_sip_subprotocol_is_refused() {
    let Some(modules) = npm_packages() else {
        return;
    };
    let uas = uas(false).await;
    let url = format!("ws://{}/", uas.local_addr());
    let out = node(modules, "ws_raw.js", &[&url, "none"]).await;
    assert!(out.contains("REFUSED 400"), "{out}");
    let out = node(modules, "ws_raw.js", &[&url, "chat,superchat"]).await;
    assert!(out.contains("REFUSED 400"), "{out}");
    assert!(!out.contains("RESPONSE"), "{out}");
    assert_eq!(uas.report().await.options, 0);
    assert_eq!(uas.transport_stats().await.ws_handshake_failures, 2);
}

#[tokio::test]
async fn jssip_registers_with_digest_sends_a_message_and_unregisters() {
    let Some(modules) = npm_packages() else {
        return;
    };
    let uas = uas(true).await;
    let addr = uas.local_addr();
    let url = format!("ws://{addr}");
    let host = addr.to_string();
    let out = node(modules, "jssip.js", &[&url, &host, "alice", "s3cret"]).await;
    for step in [
        "STEP connected",
        "STEP registered 200",
        "STEP message 200",
        "STEP unregistered 200",
    ] {
        assert!(out.contains(step), "missing {step:?} in {out}");
    }
    let report = uas.report().await;
    // The REGISTER and the un-REGISTER, each challenged first (RFC 3261 §22).
    assert_eq!(report.registrations, 2, "{report}");
    assert!(report.challenges >= 2, "{report}");
    assert_eq!(report.auth_failures, 0, "{report}");
    assert!(uas.bindings(&format!("<sip:alice@{host}>")).is_empty());

    // A wrong password: challenged, refused, nothing bound.
    let out = node(modules, "jssip.js", &[&url, &host, "alice", "wrong"]).await;
    assert!(out.contains("FAIL registration"), "{out}");
    assert!(uas.bindings(&format!("<sip:alice@{host}>")).is_empty());
}

/// WSS: the `ws` package over TLS (trusting the test CA), OPTIONS answered.
#[tokio::test]
async fn ws_package_over_tls_gets_options_answered() {
    let Some(modules) = npm_packages() else {
        return;
    };
    let pki = pki::Pki::new("wss-node");
    let leaf = pki.leaf("server", &["127.0.0.1"], pki::Kind::Good);
    let mut config = UasConfig::new("127.0.0.1:0".parse().unwrap());
    config.transport = Transport::Wss;
    config.tls = Some(sip_tokio::TlsConfig::server(&leaf.cert, &leaf.key).unwrap());
    let uas = Uas::start(config).await.unwrap();
    let url = format!("wss://{}/", uas.local_addr());
    let env = [("NODE_EXTRA_CA_CERTS", pki.ca.as_path())];
    let out = node_with(modules, "ws_raw.js", &[&url, "sip"], &env).await;
    assert!(out.contains("PROTOCOL sip\n"), "{out}");
    assert!(out.contains("RESPONSE SIP/2.0 200 OK\n"), "{out}");
    assert!(out.contains("VIA Via: SIP/2.0/WS "), "{out}");
    assert_eq!(uas.transport_stats().await.tls_handshakes, 1);
}
