//! The `uas` as a registrar with two users, attacked over loopback UDP by a client that
//! holds alice's password and copies of her requests (issue 16): alice may not bind bob's
//! AOR (403, RFC 3261 §10.3 step 4), and no Authorization counts twice or bends the digest
//! rules the challenge set (401, RFC 7616 §3.3, §3.4).

use std::net::SocketAddr;
use std::time::Duration;

#[allow(dead_code)] // the example's API, not all of it used here
#[path = "../examples/uas/tokio_pbx.rs"]
mod app;

use app::{Uas, UasConfig};
use sip_core::auth::{Challenge, ChallengeKind, answer, challenges_in};
use sip_core::message::{Response, SipMessage, parse};
use sip_core::rng::IdGenerator;
use tokio::net::UdpSocket;

/// The whole test, and each wait for an answer.
const LIMIT: Duration = Duration::from_secs(15);
const ANSWER: Duration = Duration::from_secs(3);

/// A raw UDP client: writes REGISTERs by hand, reads the answers.
struct Attacker {
    socket: UdpSocket,
    pbx: SocketAddr,
    sent: u32,
}

impl Attacker {
    async fn new(pbx: SocketAddr) -> Attacker {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        Attacker {
            socket,
            pbx,
            sent: 0,
        }
    }

    fn request_uri(&self) -> String {
        format!("sip:{}", self.pbx)
    }

    /// Sends a REGISTER binding `aor_user`@127.0.0.1 to `contact`, with `authorization`
    /// if any (a new transaction each time: new branch, next CSeq), and returns the answer.
    async fn register(
        &mut self,
        aor_user: &str,
        contact: &str,
        authorization: Option<&str>,
    ) -> Response {
        self.sent += 1;
        let local = self.socket.local_addr().unwrap();
        let auth = authorization
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        let text = format!(
            "REGISTER {uri} SIP/2.0\r\n\
             Via: SIP/2.0/UDP {local};branch=z9hG4bK-attack-{n}\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:alice@127.0.0.1>;tag=attacker\r\n\
             To: <sip:{aor_user}@127.0.0.1>\r\n\
             Call-ID: attack-{local}\r\n\
             CSeq: {n} REGISTER\r\n\
             Contact: <{contact}>\r\n\
             Expires: 600\r\n\
             {auth}Content-Length: 0\r\n\r\n",
            uri = self.request_uri(),
            n = self.sent,
        );
        self.socket
            .send_to(text.as_bytes(), self.pbx)
            .await
            .unwrap();
        let mut buf = vec![0u8; 65_536];
        loop {
            let (n, _) = tokio::time::timeout(ANSWER, self.socket.recv_from(&mut buf))
                .await
                .expect("an answer in time")
                .unwrap();
            let msg = parse(
                bytes::Bytes::copy_from_slice(&buf[..n]),
                &Default::default(),
            );
            if let Ok(SipMessage::Response(r)) = msg
                && r.cseq().map(|c| c.0) == Some(self.sent)
                && r.status() >= 200
            {
                return r;
            }
        }
    }

    /// The challenges of a 401, in order (SHA-256 first).
    fn challenges(resp: &Response) -> Vec<Challenge> {
        assert_eq!(resp.status(), 401);
        challenges_in(resp)
            .into_iter()
            .filter(|(k, _)| *k == ChallengeKind::Www)
            .map(|(_, c)| c)
            .collect()
    }

    /// A fresh challenge for a REGISTER of `aor_user` (the first one offered, SHA-256).
    async fn challenge(&mut self, aor_user: &str) -> Vec<Challenge> {
        let r = self.register(aor_user, "sip:probe@192.0.2.66", None).await;
        Self::challenges(&r)
    }

    /// The Authorization value answering `c` with alice's password and count `nc`.
    fn alice(&self, c: &Challenge, nc: u32) -> String {
        let mut ids = IdGenerator::new(u64::from(nc) + 100);
        answer(
            c,
            "REGISTER",
            &self.request_uri(),
            b"",
            "alice",
            "secret",
            nc,
            &mut ids,
        )
        .unwrap()
        .to_header_value()
    }
}

#[tokio::test]
async fn alices_credentials_bind_neither_bob_nor_twice() {
    let run = async {
        let mut config = UasConfig::new("127.0.0.1:0".parse().unwrap());
        config.seed = Some(5);
        config.registrar = true;
        config.auth = vec![
            ("alice".into(), "secret".into()),
            ("bob".into(), "b0b".into()),
        ];
        let uas = Uas::start(config).await.unwrap();
        let mut eve = Attacker::new(uas.local_addr()).await;
        let evil = "sip:eve@203.0.113.9";

        // Alice's valid credentials, bob's AOR: 403, and bob stays unbound.
        let c = eve.challenge("bob").await;
        let row = eve.alice(&c[0], 1);
        assert_eq!(eve.register("bob", evil, Some(&row)).await.status(), 403);
        assert!(uas.bindings("<sip:bob@127.0.0.1>").is_empty());

        // Alice's own AOR: bound. The captured Authorization, sent again with another
        // Contact, is a replay: 401 with stale=true, and the binding is unchanged.
        let c = eve.challenge("alice").await;
        let captured = eve.alice(&c[0], 1);
        let ok = eve
            .register("alice", "sip:alice@192.0.2.1", Some(&captured))
            .await;
        assert_eq!(ok.status(), 200);
        let replay = eve.register("alice", evil, Some(&captured)).await;
        assert!(Attacker::challenges(&replay).iter().all(|c| c.stale));
        // A growing count over the same nonce passes; a lower one does not.
        let five = eve.alice(&c[0], 5);
        let five_ok = eve
            .register("alice", "sip:alice@192.0.2.1", Some(&five))
            .await;
        assert_eq!(five_ok.status(), 200);
        let four = eve.alice(&c[0], 4);
        assert_eq!(eve.register("alice", evil, Some(&four)).await.status(), 401);

        // Bending the challenge: no qop although qop="auth" was offered, an algorithm never
        // offered, MD5 over the SHA-256 challenge's nonce. Each gets a new challenge.
        let c = eve.challenge("alice").await;
        let mut no_qop = c[0].clone();
        no_qop.qop.clear();
        let mut unoffered = c[0].clone();
        unoffered.algorithm = Some("SHA-512-256".into());
        let mut md5_over_sha = c[0].clone();
        md5_over_sha.algorithm = Some("MD5".into());
        for bent in [no_qop, unoffered, md5_over_sha] {
            let row = eve.alice(&bent, 1);
            let r = eve.register("alice", evil, Some(&row)).await;
            assert_eq!(r.status(), 401, "{bent:?}");
        }

        let bound = uas.bindings("<sip:alice@127.0.0.1>");
        assert_eq!(bound.len(), 1);
        assert_eq!(bound[0].uri, "sip:alice@192.0.2.1");
        let report = uas.shutdown().await;
        assert_eq!(report.registrations, 2);
        // The replay, the lower count and the three bent answers.
        assert_eq!(report.auth_failures, 5);
    };
    tokio::time::timeout(LIMIT, run).await.expect("bounded");
}
