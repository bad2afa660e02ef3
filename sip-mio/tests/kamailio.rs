//! Interop with a real registrar and proxy: Kamailio (Debian package `kamailio`), started
//! on loopback with `.ci/kamailio/kamailio.cfg.in`, requiring digest authentication.
//! Bob registers and answers calls; Alice registers, re-registers, calls Bob through the
//! proxy (answering its 407), hangs up, and both unregister. Skipped with a message when
//! `kamailio` is not installed; a failure under `CI=true`.

mod common;

use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Harness, now};
use sip_core::auth::StaticCredentials;
use sip_core::dialog::{DialogState, EndReason};
use sip_core::endpoint::{
    Credentials, Event as SipEvent, InviteOptions, RegisterOptions, RegistrationState, Target,
};
use sip_core::transport::Transport;
use sip_mio::{DriverConfig, Event, Listen};

const PASSWORD: &str = "s3cret";

fn kamailio_binary() -> Option<PathBuf> {
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

fn module_path() -> String {
    for p in [
        "/usr/lib/x86_64-linux-gnu/kamailio/modules",
        "/usr/lib/aarch64-linux-gnu/kamailio/modules",
        "/usr/lib/kamailio/modules",
        "/usr/lib64/kamailio/modules",
    ] {
        if std::path::Path::new(p).join("tm.so").exists() {
            return p.to_owned();
        }
    }
    "/usr/lib/x86_64-linux-gnu/kamailio/modules".to_owned()
}

struct Kamailio(Child);

impl Drop for Kamailio {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(bin: &PathBuf, port: u16) -> Kamailio {
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
    std::fs::create_dir_all(&dir).unwrap();
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
    let child = Command::new(bin)
        .args(["-DD", "-E", "-m", "64", "-M", "8", "-Y"])
        .arg(&dir)
        .arg("-f")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Kamailio(child)
}

fn registered(h: &Harness, n: usize) -> usize {
    h.nodes[n]
        .events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::Sip(SipEvent::Registration {
                    state: RegistrationState::Registered { .. },
                    ..
                })
            )
        })
        .count()
}

fn unregistered(h: &Harness, n: usize) -> bool {
    h.nodes[n].events.iter().any(|e| {
        matches!(
            e,
            Event::Sip(SipEvent::Registration {
                state: RegistrationState::Unregistered,
                ..
            })
        )
    })
}

#[test]
fn register_reregister_call_and_unregister_through_kamailio() {
    let Some(bin) = kamailio_binary() else { return };
    let port = free_port();
    let _k = start(&bin, port);
    let proxy = format!("127.0.0.1:{port}").parse().unwrap();
    let target = Target::new(Transport::Udp, proxy);

    let mut h = Harness::new();
    let node = |user: &str, seed| {
        let mut c = DriverConfig::new(vec![Listen::udp("127.0.0.1:0".parse().unwrap())], seed);
        c.endpoint.credentials = Some(Credentials::new(StaticCredentials::any(user, PASSWORD)));
        c
    };
    let alice = h.add(node("alice", 1), false);
    let bob = h.add(node("bob", 2), true);

    // Kamailio needs a moment to bind: register until it answers.
    let t = now();
    let reg = |user: &str, expires| {
        let mut o = RegisterOptions::new(
            format!("sip:127.0.0.1:{port}"),
            format!("<sip:{user}@127.0.0.1:{port}>"),
            expires,
        );
        o.target = Some(target);
        o
    };
    let bob_reg = h
        .driver(bob)
        .with_endpoint(t, |ep| ep.register(t, reg("bob", 60)))
        .unwrap();
    // Alice asks for 4 s: the core refreshes at half time, so a re-REGISTER comes at ~2 s.
    let alice_reg = h
        .driver(alice)
        .with_endpoint(t, |ep| ep.register(t, reg("alice", 4)))
        .unwrap();
    assert!(
        h.run_until(Duration::from_secs(10), |h| registered(h, bob) >= 1
            && registered(h, alice) >= 2),
        "registrations: {:?}",
        h.nodes[alice].events
    );

    // Alice calls Bob through the proxy; the INVITE is challenged with 407 and re-sent.
    let t = now();
    let uri = format!("sip:bob@127.0.0.1:{port}");
    let opts = InviteOptions::new(uri, format!("<sip:alice@127.0.0.1:{port}>"), format!("<sip:bob@127.0.0.1:{port}>"))
        .body("application/sdp", &b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n"[..])
        .target(target);
    let call = h.driver(alice).invite(t, opts).unwrap();
    assert!(
        h.run_until(Duration::from_secs(10), |h| h.has_state(
            alice,
            call,
            DialogState::Confirmed
        )),
        "call: {:?}",
        h.nodes[alice].events
    );
    let info = h.driver(alice).endpoint().dialog_info(call).unwrap();
    assert!(
        !info.route_set.is_empty(),
        "Kamailio record-routes the call"
    );
    let t = now();
    h.driver(alice).hangup(t, call).unwrap();
    assert!(h.run_until(Duration::from_secs(10), |h| {
        let b = h.incoming_call(bob);
        b.is_some_and(|d| h.has_state(bob, d, DialogState::Terminated(EndReason::RemoteBye)))
    }));

    let t = now();
    h.driver(alice)
        .with_endpoint(t, |ep| ep.unregister(t, alice_reg))
        .unwrap();
    h.driver(bob)
        .with_endpoint(t, |ep| ep.unregister(t, bob_reg))
        .unwrap();
    assert!(
        h.run_until(Duration::from_secs(10), |h| unregistered(h, alice)
            && unregistered(h, bob))
    );
}
