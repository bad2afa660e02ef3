//! Loopback tests of hanging up (RFC 3261 §15.1.1): `Call::hangup` resolves with the BYE's
//! outcome, and a graceful shutdown ends once every BYE is answered. The far end is either
//! another user agent of this crate or a scripted UDP peer that answers (or not) exactly
//! as a test needs. T1 is 10 ms, so Timer F (64·T1) fires after 640 ms; every test is
//! bounded by 10 s.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use sip_core::endpoint::EndpointConfig;
use sip_core::transaction::TimerConfig;
use sip_tokio::{DialogState, EndReason, Error, Transport, UserAgent};
use tokio::net::UdpSocket;
use tokio::time::Instant;

const T1: Duration = Duration::from_millis(10);

async fn bounded<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("test took too long")
}

/// A user agent on loopback UDP with T1 = 10 ms (T4 stays 5 s, so a BYE transaction
/// lingers 5 s after its answer) and the given shutdown grace period.
async fn ua(seed: u64, grace: Duration) -> UserAgent {
    let endpoint = EndpointConfig {
        timers: TimerConfig {
            t1: T1,
            t2: Duration::from_millis(40),
            timer_d: Duration::from_millis(640),
            ..TimerConfig::default()
        },
        ..EndpointConfig::default()
    };
    UserAgent::builder()
        .udp("127.0.0.1:0")
        .seed(seed)
        .endpoint_config(endpoint)
        .shutdown_grace(grace)
        .shutdown_timeout(Duration::from_secs(8))
        .build()
        .await
        .unwrap()
}

fn uri_of(addr: SocketAddr) -> String {
    format!("sip:peer@{addr}")
}

/// A scripted UDP peer: it answers the INVITE with 200 itself, so a test decides what
/// becomes of the BYE.
struct Peer {
    sock: UdpSocket,
}

/// A received request: its method, the header rows a response copies, and its source.
struct Received {
    method: String,
    rows: Vec<String>,
    from: SocketAddr,
}

impl Peer {
    async fn new() -> Peer {
        Peer {
            sock: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
        }
    }

    fn addr(&self) -> SocketAddr {
        self.sock.local_addr().unwrap()
    }

    /// The next request with this method (retransmissions of others are skipped).
    async fn next(&self, method: &str) -> Received {
        let mut buf = vec![0u8; 65536];
        loop {
            let (n, from) = self.sock.recv_from(&mut buf).await.unwrap();
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            let mut lines = text.split("\r\n");
            let first = lines.next().unwrap_or("");
            let got = first.split(' ').next().unwrap_or("");
            if got != method {
                continue;
            }
            let rows = lines
                .take_while(|l| !l.is_empty())
                .filter(|l| {
                    let name = l
                        .split(':')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .to_ascii_lowercase();
                    matches!(
                        name.as_str(),
                        "via" | "v" | "from" | "f" | "to" | "t" | "call-id" | "i" | "cseq"
                    )
                })
                .map(str::to_owned)
                .collect();
            return Received {
                method: got.to_owned(),
                rows,
                from,
            };
        }
    }

    /// Answers `req` with `status`; a 2xx to the INVITE gets our To tag and Contact.
    async fn respond(&self, req: &Received, status: u16, reason: &str) {
        let mut msg = format!("SIP/2.0 {status} {reason}\r\n");
        for row in &req.rows {
            let lower = row.to_ascii_lowercase();
            if req.method == "INVITE" && (lower.starts_with("to:") || lower.starts_with("t:")) {
                msg.push_str(&format!("{row};tag=peer1\r\n"));
            } else {
                msg.push_str(row);
                msg.push_str("\r\n");
            }
        }
        if req.method == "INVITE" {
            msg.push_str(&format!("Contact: <sip:peer@{}>\r\n", self.addr()));
        }
        msg.push_str("Content-Length: 0\r\n\r\n");
        self.sock.send_to(msg.as_bytes(), req.from).await.unwrap();
    }

    /// Answers the INVITE with 200 and takes the ACK: the call is confirmed.
    async fn answer_call(&self) {
        let invite = self.next("INVITE").await;
        self.respond(&invite, 200, "OK").await;
        self.next("ACK").await;
    }
}

/// Places a call to the peer and waits until both ends have it confirmed.
async fn confirmed_call(alice: &UserAgent, peer: &Peer) -> sip_tokio::Call {
    let call = alice.call(&uri_of(peer.addr())).await.unwrap();
    let (answered, ()) = tokio::join!(call.answered(), peer.answer_call());
    assert_eq!(answered.unwrap().status(), 200);
    call
}

/// The hang-up is not done when the BYE leaves, only when the peer's 200 arrives.
#[tokio::test]
async fn hangup_resolves_once_the_bye_is_answered() {
    bounded(async {
        let alice = ua(1, Duration::from_millis(50)).await;
        let peer = Peer::new().await;
        let call = confirmed_call(&alice, &peer).await;
        let hangup = call.hangup();
        tokio::pin!(hangup);
        let bye = tokio::select! {
            r = &mut hangup => panic!("hang-up resolved before the BYE was answered: {r:?}"),
            bye = peer.next("BYE") => bye,
        };
        // The state changes as the BYE leaves (§15.1.1); the future keeps waiting.
        assert_eq!(call.state(), DialogState::Terminated(EndReason::LocalBye));
        let still = tokio::time::timeout(Duration::from_millis(100), &mut hangup).await;
        assert!(still.is_err(), "resolved without an answer: {still:?}");
        let answered_at = Instant::now();
        peer.respond(&bye, 200, "OK").await;
        hangup.await.unwrap();
        assert!(answered_at.elapsed() < Duration::from_secs(1));
        assert_eq!(call.ended().await, EndReason::LocalBye);
        alice.shutdown().await;
    })
    .await;
}

/// Between two user agents of this crate, over UDP and TCP alike.
#[tokio::test]
async fn hangup_between_two_user_agents_returns_after_the_200() {
    bounded(async {
        for transport in [Transport::Udp, Transport::Tcp] {
            let builder = |seed| {
                UserAgent::builder()
                    .udp("127.0.0.1:0")
                    .tcp("127.0.0.1:0")
                    .seed(seed)
                    .shutdown_grace(Duration::from_secs(5))
                    .build()
            };
            let alice = builder(2).await.unwrap();
            let bob = builder(3).await.unwrap();
            let mut incoming = bob.incoming();
            let bob_side = tokio::spawn(async move {
                let call = incoming.next().await.unwrap().accept(None).await.unwrap();
                call.ended().await
            });
            let a = bob.local_addr(transport).unwrap();
            let uri = match transport {
                Transport::Tcp => format!("sip:bob@{a};transport=tcp"),
                _ => format!("sip:bob@{a}"),
            };
            let call = alice.call(&uri).await.unwrap();
            call.answered().await.unwrap();
            call.hangup().await.unwrap();
            assert_eq!(bob_side.await.unwrap(), EndReason::RemoteBye);
            // Nothing left to wait for: shutdown does not sit out its 5 s grace period.
            let t = Instant::now();
            alice.shutdown().await;
            bob.shutdown().await;
            assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        }
    })
    .await;
}

/// A peer that already forgot the call answers 481: the call is over on both sides, which
/// is all a hang-up asks for. Another error status is reported with its code.
#[tokio::test]
async fn hangup_accepts_481_and_reports_other_errors() {
    bounded(async {
        let alice = ua(4, Duration::from_millis(50)).await;
        let peer = Peer::new().await;
        for (status, reason) in [(481, "Call/Transaction Does Not Exist"), (500, "Oops")] {
            let call = confirmed_call(&alice, &peer).await;
            let (r, ()) = tokio::join!(call.hangup(), async {
                let bye = peer.next("BYE").await;
                peer.respond(&bye, status, reason).await;
            });
            match status {
                481 => r.unwrap(),
                _ => assert!(matches!(r, Err(Error::ByeRejected(500))), "{r:?}"),
            }
            assert_eq!(call.state(), DialogState::Terminated(EndReason::LocalBye));
        }
        alice.shutdown().await;
    })
    .await;
}

/// No answer to the BYE: Timer F (64·T1 = 640 ms here) ends the wait with a timeout.
#[tokio::test]
async fn hangup_times_out_when_the_bye_is_never_answered() {
    bounded(async {
        let alice = ua(5, Duration::from_millis(50)).await;
        let peer = Peer::new().await;
        let call = confirmed_call(&alice, &peer).await;
        let t = Instant::now();
        let (r, _bye) = tokio::join!(call.hangup(), peer.next("BYE"));
        assert!(matches!(r, Err(Error::Timeout)), "{r:?}");
        let took = t.elapsed();
        assert!(took >= T1 * 64, "{took:?}");
        assert!(took < Duration::from_secs(3), "{took:?}");
        alice.shutdown().await;
    })
    .await;
}

/// The remote target cannot be reached (TCP to a closed port): the transport error is
/// reported as such, not as a timeout.
#[tokio::test]
async fn hangup_reports_a_transport_failure() {
    bounded(async {
        let alice = UserAgent::builder()
            .udp("127.0.0.1:0")
            .tcp("127.0.0.1:0")
            .seed(6)
            .shutdown_grace(Duration::from_millis(50))
            .build()
            .await
            .unwrap();
        let peer = Peer::new().await;
        // A port nobody listens on: bind, read it, close.
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let dead_addr = dead.local_addr().unwrap();
        drop(dead);
        let call = alice.call(&uri_of(peer.addr())).await.unwrap();
        let invite = peer.next("INVITE").await;
        // The 200's Contact sends the ACK and the BYE over TCP to the dead port.
        let mut msg = String::from("SIP/2.0 200 OK\r\n");
        for row in &invite.rows {
            let lower = row.to_ascii_lowercase();
            if lower.starts_with("to:") || lower.starts_with("t:") {
                msg.push_str(&format!("{row};tag=peer1\r\n"));
            } else {
                msg.push_str(&format!("{row}\r\n"));
            }
        }
        msg.push_str(&format!(
            "Contact: <sip:peer@{dead_addr};transport=tcp>\r\nContent-Length: 0\r\n\r\n"
        ));
        peer.sock
            .send_to(msg.as_bytes(), invite.from)
            .await
            .unwrap();
        assert_eq!(call.answered().await.unwrap().status(), 200);
        let t = Instant::now();
        let r = call.hangup().await;
        assert!(matches!(r, Err(Error::TransportFailed)), "{r:?}");
        // Well before Timer F (32 s with the default T1).
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        alice.shutdown().await;
    })
    .await;
}

/// Dropping a hang-up future does not stop the BYE, and the driver keeps nothing of it
/// once the BYE is answered.
#[tokio::test]
async fn a_dropped_hangup_still_completes_and_leaves_nothing_behind() {
    bounded(async {
        let alice = ua(7, Duration::from_secs(5)).await;
        let peer = Peer::new().await;
        let call = confirmed_call(&alice, &peer).await;
        let gave_up = tokio::time::timeout(Duration::from_millis(1), call.hangup()).await;
        assert!(gave_up.is_err());
        let bye = peer.next("BYE").await;
        peer.respond(&bye, 200, "OK").await;
        assert_eq!(call.state(), DialogState::Terminated(EndReason::LocalBye));
        drop(call);
        loop {
            let s = alice.stats().await.unwrap();
            if s.active_calls == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // The answered BYE is not waited for again: shutdown is prompt despite 5 s of grace.
        let t = Instant::now();
        alice.shutdown().await;
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    })
    .await;
}

/// Shutdown hangs up every call and returns as soon as the peers have answered the BYEs,
/// well inside a long grace period (which used to be sat out over UDP, where a finished
/// BYE transaction stays for T4).
#[tokio::test]
async fn shutdown_returns_once_every_bye_is_answered() {
    bounded(async {
        let alice = ua(8, Duration::from_secs(5)).await;
        let bob = ua(9, Duration::from_secs(5)).await;
        let mut incoming = bob.incoming();
        let bob_side = tokio::spawn(async move {
            let mut ended = Vec::new();
            for _ in 0..3 {
                let call = incoming.next().await.unwrap().accept(None).await.unwrap();
                ended.push(tokio::spawn(async move { call.ended().await }));
            }
            let mut reasons = Vec::new();
            for e in ended {
                reasons.push(e.await.unwrap());
            }
            reasons
        });
        let uri = format!("sip:bob@{}", bob.local_addr(Transport::Udp).unwrap());
        let mut calls = Vec::new();
        for _ in 0..3 {
            let call = alice.call(&uri).await.unwrap();
            call.answered().await.unwrap();
            calls.push(call);
        }
        let t = Instant::now();
        alice.shutdown().await;
        let took = t.elapsed();
        assert!(took < Duration::from_secs(1), "{took:?}");
        for call in &calls {
            assert_eq!(call.state(), DialogState::Terminated(EndReason::LocalBye));
        }
        assert_eq!(bob_side.await.unwrap(), vec![EndReason::RemoteBye; 3]);
        bob.shutdown().await;
    })
    .await;
}

/// A peer that never answers the BYE holds shutdown for the grace period, no longer; a
/// hang-up still waiting then fails with `Error::Shutdown`.
#[tokio::test]
async fn shutdown_waits_for_an_unanswered_bye_at_most_the_grace_period() {
    bounded(async {
        let grace = Duration::from_millis(200);
        let alice = ua(10, grace).await;
        let peer = Peer::new().await;
        let call = confirmed_call(&alice, &peer).await;
        let hangup = call.hangup();
        tokio::pin!(hangup);
        tokio::select! {
            r = &mut hangup => panic!("resolved before any answer: {r:?}"),
            _ = peer.next("BYE") => {}
        }
        let t = Instant::now();
        let ((), r) = tokio::join!(alice.shutdown(), hangup);
        let took = t.elapsed();
        assert!(took >= grace, "{took:?}");
        assert!(took < T1 * 64, "{took:?}");
        assert!(matches!(r, Err(Error::Shutdown)), "{r:?}");
    })
    .await;
}

/// A call we answer whose ACK is late: the BYE must wait for the ACK (RFC 3261 §15), and
/// the hang-up waits with it: it does not resolve before the ACK. Then the stack should
/// send the BYE, and the hang-up resolve with its answer.
#[tokio::test]
async fn hangup_before_the_ack_waits_for_the_ack() {
    bounded(async {
        let bob = ua(11, Duration::from_millis(50)).await;
        let mut incoming = bob.incoming();
        let caller = Peer::new().await;
        let bob_addr = bob.local_addr(Transport::Udp).unwrap();
        let me = caller.addr();
        let invite = format!(
            "INVITE sip:bob@{bob_addr} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {me};branch=z9hG4bK-inv1\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:caller@{me}>;tag=c1\r\n\
             To: <sip:bob@{bob_addr}>\r\n\
             Call-ID: late-ack-1\r\n\
             CSeq: 1 INVITE\r\n\
             Contact: <sip:caller@{me}>\r\n\
             Content-Length: 0\r\n\r\n"
        );
        caller
            .sock
            .send_to(invite.as_bytes(), bob_addr)
            .await
            .unwrap();
        let call = incoming.next().await.unwrap().accept(None).await.unwrap();
        // The 200 arrives; no ACK yet.
        let mut buf = vec![0u8; 65536];
        let to = loop {
            let (n, _) = caller.sock.recv_from(&mut buf).await.unwrap();
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            if text.starts_with("SIP/2.0 200") {
                break text
                    .split("\r\n")
                    .find(|l| l.to_ascii_lowercase().starts_with("to:"))
                    .unwrap()
                    .to_owned();
            }
        };
        let t = Instant::now();
        let hangup = call.hangup();
        tokio::pin!(hangup);
        let early = tokio::time::timeout(Duration::from_millis(100), &mut hangup).await;
        assert!(early.is_err(), "resolved before the ACK: {early:?}");
        assert_eq!(call.state(), DialogState::Terminated(EndReason::LocalBye));
        let ack = format!(
            "ACK sip:bob@{bob_addr} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {me};branch=z9hG4bK-ack1\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:caller@{me}>;tag=c1\r\n\
             {to}\r\n\
             Call-ID: late-ack-1\r\n\
             CSeq: 1 ACK\r\n\
             Content-Length: 0\r\n\r\n"
        );
        caller.sock.send_to(ack.as_bytes(), bob_addr).await.unwrap();
        tokio::select! {
            bye = caller.next("BYE") => {
                caller.respond(&bye, 200, "OK").await;
                hangup.await.unwrap();
                assert!(t.elapsed() < T1 * 64, "{:?}", t.elapsed());
            }
            r = &mut hangup => panic!("the hang-up ended before its BYE was sent: {r:?}"),
        }
        bob.shutdown().await;
    })
    .await;
}
