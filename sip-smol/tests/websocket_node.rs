//! SIP over WebSocket (RFC 7118) in the smol driver against clients nobody here wrote,
//! under node over loopback, with `smol_uas`'s PBX serving WS: the `ws` package as a raw
//! RFC 6455 client (the `sip` subprotocol negotiated, an OPTIONS in a text frame
//! answered; a handshake without `sip` refused), over WS and WSS, and JsSIP, a browser
//! softphone library, registering with digest credentials, sending a MESSAGE and
//! unregistering.
//!
//! The node scripts are sip-tokio's (`sip-tokio/tests/node/`), so both drivers face the
//! same clients. The npm packages are installed into a folder under the build's
//! temporary directory (`npm install --prefix`). Skipped with a message when node or npm
//! is missing; a failure under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

#[allow(dead_code)] // the example's API, not all of it used here
#[path = "../examples/smol_uas/smol_pbx.rs"]
mod app;
mod common;

#[path = "../../.ci/tls/pki.rs"]
mod pki;

use app::{Uas, UasConfig};
use common::{Ex, run};
use sip_core::transport::Transport;

/// How long one node client may run.
const LIMIT: Duration = Duration::from_secs(20);

/// Bounds a whole test: two node clients and the PBX.
const TEST_LIMIT: Duration = Duration::from_secs(60);

/// The folder holding `node_modules` with `ws` and `jssip`, installed once per run; `None`
/// (after saying why) when node or npm is missing outside CI.
fn npm_packages() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        for tool in ["node", "npm"] {
            let found = Command::new(tool)
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
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("websocket-npm-smol");
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new("npm")
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

/// A node process, killed and reaped when dropped (the test failing included).
struct NodeChild(Child);

impl Drop for NodeChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `script` (sip-tokio's tests/node/) under node with `args` and `env`, within
/// [`LIMIT`]; its stdout. It runs while the executor serves the PBX: its exit is polled.
async fn node(modules: &Path, script: &str, args: &[&str], env: &[(&str, &Path)]) -> String {
    use std::io::Read;
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../sip-tokio/tests/node")
        .join(script);
    let child = Command::new("node")
        .arg(path)
        .args(args)
        .env("NODE_PATH", modules.join("node_modules"))
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node starts");
    let mut child = NodeChild(child);
    let started = Instant::now();
    // The scripts print a few lines: well under a pipe's buffer, so waiting for the exit
    // before reading cannot block the child.
    while child.0.try_wait().expect("node is waited for").is_none() {
        assert!(
            started.elapsed() < LIMIT,
            "the node client did not end within {LIMIT:?}"
        );
        smol::Timer::after(Duration::from_millis(20)).await;
    }
    let (mut stdout, mut stderr) = (String::new(), String::new());
    if let Some(mut o) = child.0.stdout.take() {
        let _ = o.read_to_string(&mut stdout);
    }
    if let Some(mut e) = child.0.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    println!("{script}: {stdout}{stderr}");
    stdout
}

async fn uas(ex: &Ex, registrar: bool) -> Uas {
    let mut config = UasConfig::new("127.0.0.1:0".parse().unwrap());
    config.transport = Transport::Ws;
    config.seed = Some(19);
    if registrar {
        config.registrar = true;
        config.auth = vec![("alice".into(), "s3cret".into())];
    }
    Uas::start(config, ex.clone()).await.unwrap()
}

#[test]
fn ws_package_gets_options_answered_and_a_handshake_without_sip_refused() {
    let Some(modules) = npm_packages() else {
        return;
    };
    run(TEST_LIMIT, |ex| async move {
        let uas = uas(&ex, false).await;
        let url = format!("ws://{}/", uas.local_addr());
        let out = node(modules, "ws_raw.js", &[&url, "sip"], &[]).await;
        assert!(out.contains("PROTOCOL sip\n"), "{out}");
        assert!(out.contains("RESPONSE SIP/2.0 200 OK\n"), "{out}");
        // The client's `.invalid` host never matches its address: `received` is added
        // (RFC 3261 §18.2.1, RFC 7118 §5.2), with the `rport` it asked for.
        assert!(out.contains(";received=127.0.0.1"), "{out}");
        assert!(out.contains(";rport="), "{out}");
        assert!(out.contains("FRAME text\n"), "{out}");
        assert!(out.contains("CLOSED 1000\n"), "{out}");
        assert_eq!(uas.report().await.options, 1);

        let out = node(modules, "ws_raw.js", &[&url, "chat,superchat"], &[]).await;
        assert!(out.contains("REFUSED 400"), "{out}");
        assert!(!out.contains("RESPONSE"), "{out}");
        assert_eq!(uas.report().await.options, 1);
        assert_eq!(uas.transport_stats().await.ws_handshake_failures, 1);
        uas.shutdown().await;
    });
}

#[test]
fn jssip_registers_with_digest_sends_a_message_and_unregisters() {
    let Some(modules) = npm_packages() else {
        return;
    };
    run(TEST_LIMIT, |ex| async move {
        let uas = uas(&ex, true).await;
        let addr = uas.local_addr();
        let url = format!("ws://{addr}");
        let host = addr.to_string();
        let out = node(modules, "jssip.js", &[&url, &host, "alice", "s3cret"], &[]).await;
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
        let out = node(modules, "jssip.js", &[&url, &host, "alice", "wrong"], &[]).await;
        assert!(out.contains("FAIL registration"), "{out}");
        assert!(uas.bindings(&format!("<sip:alice@{host}>")).is_empty());
        uas.shutdown().await;
    });
}

/// WSS: the `ws` package over TLS (trusting the test CA), OPTIONS answered.
#[test]
fn ws_package_over_tls_gets_options_answered() {
    let Some(modules) = npm_packages() else {
        return;
    };
    let pki = pki::Pki::new("smol-wss-node");
    let leaf = pki.leaf("server", &["127.0.0.1"], pki::Kind::Good);
    run(TEST_LIMIT, |ex| async move {
        let mut config = UasConfig::new("127.0.0.1:0".parse().unwrap());
        config.transport = Transport::Wss;
        config.tls = Some(sip_smol::TlsConfig::server(&leaf.cert, &leaf.key).unwrap());
        let uas = Uas::start(config, ex.clone()).await.unwrap();
        let url = format!("wss://{}/", uas.local_addr());
        let env = [("NODE_EXTRA_CA_CERTS", pki.ca.as_path())];
        let out = node(modules, "ws_raw.js", &[&url, "sip"], &env).await;
        assert!(out.contains("PROTOCOL sip\n"), "{out}");
        assert!(out.contains("RESPONSE SIP/2.0 200 OK\n"), "{out}");
        assert!(out.contains("VIA Via: SIP/2.0/WS "), "{out}");
        assert_eq!(uas.transport_stats().await.tls_handshakes, 1);
        uas.shutdown().await;
    });
}
