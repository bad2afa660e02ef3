//! baresip (a real softphone) as the peer of hold and resume (RFC 3264 §8.4, §6.1): baresip
//! calls our user agent on loopback, which answers through the SDP helper; baresip puts the
//! call on hold (its re-INVITE offers `sendonly`, our answer must be `recvonly`), takes it
//! off (`sendrecv`), and hangs up. baresip runs headless from a generated configuration
//! (a sine tone as its microphone, an audio bridge as its speaker, no sound device) and is
//! driven over its `ctrl_tcp` control socket (netstrings of JSON); it runs in a process
//! group of its own, stopped on drop (SIGTERM, then SIGKILL), and with `-t` as a last
//! bound. Skipped with a message when baresip is not installed; a failure under `CI=true`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sip_core::endpoint::EndpointConfig;
use sip_core::sdp::Direction;
use sip_core::sdp::negotiate::LocalMedia;
use sip_tokio::{CallEvent, EndReason, Transport, UserAgent};

/// baresip's path, or `None` (with a message) when it is not installed; a panic under
/// `CI=true`, where it must be.
fn baresip_binary() -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .chain([PathBuf::from("/usr/bin")])
        .map(|d| d.join("baresip"))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "baresip is not installed (CI installs it in .ci/run)"
        );
        eprintln!("SKIPPED: baresip is not installed");
    }
    found
}

/// The directory of baresip's modules (Debian's package puts them here).
const MODULES: &str = "/usr/lib/baresip/modules";

/// A running baresip in a process group of its own, stopped when dropped — also when the
/// test fails.
struct Baresip {
    child: Child,
    dir: PathBuf,
}

fn signal_group(leader: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, "--", &format!("-{leader}")])
        .stderr(Stdio::null())
        .status();
}

impl Drop for Baresip {
    fn drop(&mut self) {
        signal_group(self.child.id(), "-TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while !matches!(self.child.try_wait(), Ok(Some(_))) {
            if Instant::now() >= deadline {
                signal_group(self.child.id(), "-KILL");
                let _ = self.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if std::thread::panicking() {
            eprintln!("baresip's log:\n{}", self.log());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Baresip {
    /// Starts baresip with a configuration in a fresh temporary directory: SIP on
    /// 127.0.0.1:`sip_port`, its control socket on 127.0.0.1:`ctrl_port`, G.711 only.
    fn start(bin: &Path, sip_port: u16, ctrl_port: u16) -> Baresip {
        let dir =
            std::env::temp_dir().join(format!("sip-baresip-{}-{sip_port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let config = format!(
            "poll_method epoll\n\
             sip_listen 127.0.0.1:{sip_port}\n\
             audio_source ausine,440\n\
             audio_alert ausine,440\n\
             ausrc_srate 48000\n\
             ausrc_channels 2\n\
             audio_player aubridge,speaker\n\
             rtp_ports 41000-41998\n\
             module_path {MODULES}\n\
             module g711.so\n\
             module ausine.so\n\
             module aubridge.so\n\
             module_app account.so\n\
             module_app menu.so\n\
             module_app ctrl_tcp.so\n\
             ctrl_tcp_listen 127.0.0.1:{ctrl_port}\n"
        );
        std::fs::write(dir.join("config"), config).unwrap();
        // No registration: baresip only places the call.
        std::fs::write(
            dir.join("accounts"),
            format!("<sip:baresip@127.0.0.1:{sip_port}>;regint=0\n"),
        )
        .unwrap();
        std::fs::write(dir.join("contacts"), "").unwrap();
        let log = std::fs::File::create(dir.join("baresip.log")).unwrap();
        let child = Command::new(bin)
            .arg("-f")
            .arg(&dir)
            .args(["-t", "60"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap();
        Baresip { child, dir }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("baresip.log")).unwrap_or_default()
    }
}

/// baresip's control socket: commands out, responses and events in (netstrings, each a
/// JSON object).
struct Control {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Every message received, in order.
    seen: Vec<String>,
}

impl Control {
    /// Connects, retrying while baresip starts (within 10 s).
    fn connect(port: u16) -> Control {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(stream) => {
                    stream
                        .set_read_timeout(Some(Duration::from_millis(200)))
                        .unwrap();
                    return Control {
                        stream,
                        buf: Vec::new(),
                        seen: Vec::new(),
                    };
                }
                Err(e) if Instant::now() >= deadline => panic!("baresip's ctrl_tcp: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Sends one command (`dial`, `hold`, `resume`, `hangup`, ... as its menu names them).
    fn command(&mut self, command: &str, params: &str) {
        let json = format!(r#"{{"command":"{command}","params":"{params}","token":"{command}"}}"#);
        let frame = format!("{}:{json},", json.len());
        self.stream.write_all(frame.as_bytes()).unwrap();
    }

    /// Reads until a message containing `needle` arrives (within 10 s); all are kept.
    fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            while let Some(m) = self.next_message() {
                self.seen.push(m.clone());
                if m.contains(needle) {
                    return m;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no {needle} from baresip; seen {:?}",
                self.seen
            );
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!("baresip closed its control socket; seen {:?}", self.seen),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("baresip's control socket: {e}"),
            }
        }
    }

    /// One complete netstring from the buffer.
    fn next_message(&mut self) -> Option<String> {
        let colon = self.buf.iter().position(|b| *b == b':')?;
        let len: usize = std::str::from_utf8(&self.buf[..colon]).ok()?.parse().ok()?;
        let end = colon + 1 + len;
        if self.buf.len() <= end {
            return None;
        }
        let m = String::from_utf8_lossy(&self.buf[colon + 1..end]).into_owned();
        self.buf.drain(..=end);
        Some(m)
    }
}

fn free_udp_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.local_addr().unwrap().port()
}

fn free_tcp_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_holds_and_resumes_a_call_we_answer_rfc3264_8_4() {
    let Some(bin) = baresip_binary() else { return };
    let ua = UserAgent::builder()
        .udp("127.0.0.1:0")
        .seed(20)
        .endpoint_config(EndpointConfig {
            offer_answer: true,
            ..EndpointConfig::default()
        })
        .shutdown_grace(Duration::from_millis(50))
        .build()
        .await
        .unwrap();
    let ours = ua.local_addr(Transport::Udp).unwrap();
    let ctrl_port = free_tcp_port();
    let baresip = Baresip::start(&bin, free_udp_port(), ctrl_port);
    let caps = LocalMedia::telephone("127.0.0.1".parse().unwrap(), 42000, 9);

    // Our side: answer the call and every re-INVITE through the helper, and report the
    // direction agreed each time.
    let (dir_tx, mut dir_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut incoming = ua.incoming();
    let ours_side = tokio::spawn(async move {
        let inc = incoming.next().await.expect("baresip's INVITE");
        let mut call = inc.accept_offer(&caps).await.unwrap();
        while let Some(ev) = call.next_event().await {
            match ev {
                CallEvent::Media(m) => {
                    let _ =
                        dir_tx.send(("media", m.first().map(|m| (m.direction, m.codec.clone()))));
                }
                CallEvent::Request(r) if *r.method() == sip_core::message::Method::Invite => {
                    let m = r.answer_offer(&caps).await.unwrap();
                    let _ =
                        dir_tx.send(("answer", m.first().map(|m| (m.direction, m.codec.clone()))));
                }
                CallEvent::Request(r) => r.respond(200).await.unwrap(),
                _ => {}
            }
        }
        call.ended().await
    });

    let script = tokio::task::spawn_blocking(move || {
        let mut ctrl = Control::connect(ctrl_port);
        ctrl.command("dial", &format!("sip:softphone@{ours}"));
        ctrl.wait_for("CALL_ESTABLISHED");
        std::thread::sleep(Duration::from_millis(300));
        ctrl.command("hold", "");
        ctrl.wait_for(r#""token":"hold""#);
        std::thread::sleep(Duration::from_millis(700));
        ctrl.command("resume", "");
        ctrl.wait_for(r#""token":"resume""#);
        std::thread::sleep(Duration::from_millis(700));
        ctrl.command("hangup", "");
        ctrl.wait_for(r#""token":"hangup""#);
        if !ctrl.seen.iter().any(|m| m.contains("CALL_CLOSED")) {
            ctrl.wait_for("CALL_CLOSED");
        }
        ctrl.seen
    });

    let run = async {
        // The first media agreed: the INVITE's offer, answered in our 200.
        let mut directions = Vec::new();
        while directions.len() < 3 {
            let (what, m) = tokio::time::timeout(Duration::from_secs(15), dir_rx.recv())
                .await
                .expect("our side agrees media three times")
                .expect("our side's events");
            let (d, codec) = m.expect("a stream agreed");
            assert!(codec == "PCMU" || codec == "PCMA", "{codec}");
            // The re-INVITE's answer and the media event may both report a step: keep the
            // steps, not the reports.
            if directions.last() != Some(&d) {
                directions.push(d);
            }
            assert!(what == "media" || what == "answer");
        }
        assert_eq!(
            directions,
            [
                Direction::SendRecv,
                Direction::RecvOnly,
                Direction::SendRecv
            ],
            "initial, held by baresip (its sendonly answered recvonly), resumed"
        );
        let seen = script.await.unwrap();
        assert_eq!(
            tokio::time::timeout(Duration::from_secs(10), ours_side)
                .await
                .expect("our call ends")
                .unwrap(),
            EndReason::RemoteBye
        );
        seen
    };
    let seen = tokio::time::timeout(Duration::from_secs(40), run)
        .await
        .unwrap_or_else(|_| panic!("bounded; baresip's log:\n{}", baresip.log()));
    // baresip's side: the call was established and closed, and every command succeeded.
    for event in ["CALL_ESTABLISHED", "CALL_CLOSED"] {
        assert!(seen.iter().any(|m| m.contains(event)), "{event}: {seen:?}");
    }
    // Three SDP answers reached baresip: the 200 to its INVITE and to both re-INVITEs.
    let answers = seen
        .iter()
        .filter(|m| m.contains("CALL_REMOTE_SDP") && m.contains(r#""param":"answer""#))
        .count();
    assert_eq!(answers, 3, "{seen:?}");
    for token in ["hold", "resume", "hangup"] {
        let r = seen
            .iter()
            .find(|m| m.contains(&format!(r#""token":"{token}""#)))
            .unwrap_or_else(|| panic!("no response to {token}: {seen:?}"));
        assert!(r.contains(r#""ok":true"#), "{token}: {r}");
    }
    let log = baresip.log();
    assert!(!log.contains("488"), "baresip saw a 488:\n{log}");
    ua.shutdown().await;
}
