//! Digest authentication of one user by a UAS or a small registrar (RFC 3261 §22.4): check
//! a request's credentials, or say how to challenge it. The checks and the challenge rules
//! live here so every driver's test PBX applies the same ones.

use std::time::Instant;

use super::challenge::ChallengeKind;
use super::credentials::credentials_in;
use super::digest::Algorithm;
use super::server::{NonceManager, NonceStatus, Secret, Verdict, challenge, verify};
use crate::message::Request;

/// One user's credentials in one realm, and the nonces issued for it.
#[derive(Debug)]
pub struct UserAuth {
    user: String,
    password: String,
    realm: String,
    nonces: NonceManager,
}

/// Why a request was not authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Challenge header values to send, strongest first (SHA-256 then MD5, RFC 8760 §2.3),
    /// in `WWW-Authenticate` (401) or `Proxy-Authenticate` (407) rows.
    pub challenges: Vec<String>,
    /// The request carried credentials for our realm and they were wrong (as opposed to
    /// none, or only a stale nonce).
    pub wrong_credentials: bool,
}

impl UserAuth {
    /// `user` with `password` in `realm`; `nonces` issues and checks the nonces.
    pub fn new(user: &str, password: &str, realm: &str, nonces: NonceManager) -> Self {
        UserAuth {
            user: user.to_owned(),
            password: password.to_owned(),
            realm: realm.to_owned(),
            nonces,
        }
    }

    /// The realm challenges name.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// Checks the credentials of `req` for our realm (`kind` says which header carries
    /// them: `Authorization` or `Proxy-Authorization`), or says how to challenge it.
    /// The challenge has `stale=true` when only the nonce was stale or not ours (RFC 7616
    /// §3.3); a wrong answer to a valid nonce is challenged with that same nonce, which is
    /// how a client knows its credentials, not the nonce, were refused (§22.2).
    pub fn check(
        &mut self,
        now: Instant,
        req: &Request,
        kind: ChallengeKind,
    ) -> Result<(), Refusal> {
        let (stale, wrong, nonce) = match credentials_in(req.message(), kind, &self.realm) {
            None => (false, false, None),
            Some(Err(_)) => (false, true, None),
            Some(Ok(c)) => {
                let secret = Secret::Password {
                    user: &self.user,
                    password: &self.password,
                };
                let status = self.nonces.check(&c.nonce, &self.realm, now);
                let verdict = if c.username == self.user && c.uri == req.uri_str() {
                    verify(&c, req.method().as_str(), req.body(), secret, status)
                } else {
                    Verdict::Wrong
                };
                match verdict {
                    Verdict::Ok => return Ok(()),
                    Verdict::Stale => (true, false, None),
                    Verdict::Wrong => (
                        false,
                        true,
                        (status == NonceStatus::Valid).then_some(c.nonce),
                    ),
                }
            }
        };
        let nonce = nonce.unwrap_or_else(|| self.nonces.issue(now, &self.realm));
        let challenges = [Algorithm::Sha256, Algorithm::Md5]
            .iter()
            .map(|a| challenge(&self.realm, &nonce, *a, stale).to_header_value())
            .collect();
        Err(Refusal {
            challenges,
            wrong_credentials: wrong,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{answer, challenges_in};
    use crate::message::{Method, Response};
    use crate::rng::IdGenerator;

    #[allow(clippy::disallowed_methods)]
    fn base() -> Instant {
        Instant::now()
    }

    fn register(authorization: Option<&str>) -> Request {
        let mut b = Request::builder(Method::Register, "sip:example.com")
            .via(
                crate::transport::Transport::Udp,
                "192.0.2.1:5060",
                "z9hG4bK1",
            )
            .max_forwards(70)
            .from("<sip:alice@example.com>", Some("t1"))
            .to("<sip:alice@example.com>", None)
            .call_id("c1")
            .cseq(1);
        if let Some(a) = authorization {
            b = b.header("Authorization", a);
        }
        b.build().unwrap()
    }

    /// The first challenge a refusal carries, parsed back as a client would.
    fn first_challenge(r: &Refusal, req: &Request) -> crate::auth::Challenge {
        let mut resp = Response::from_request(req, 401);
        for c in &r.challenges {
            resp = resp.header("WWW-Authenticate", c);
        }
        let resp = resp.build().unwrap();
        challenges_in(resp.message())
            .into_iter()
            .map(|(_, c)| c)
            .next()
            .unwrap()
    }

    /// §22.4: no credentials → challenged (SHA-256 first); the right answer passes; a
    /// wrong password is refused as wrong and challenged again with the same nonce.
    #[test]
    fn challenge_answer_and_wrong_password() {
        let now = base();
        let mut ids = IdGenerator::new(7);
        let mut auth = UserAuth::new(
            "alice",
            "secret",
            "example.com",
            NonceManager::new(&mut ids, now),
        );
        let bare = register(None);
        let r = auth.check(now, &bare, ChallengeKind::Www).unwrap_err();
        assert!(!r.wrong_credentials);
        assert_eq!(r.challenges.len(), 2);
        assert!(
            r.challenges[0].contains("algorithm=SHA-256"),
            "{}",
            r.challenges[0]
        );
        assert!(
            r.challenges[1].contains("algorithm=MD5"),
            "{}",
            r.challenges[1]
        );
        let c = first_challenge(&r, &bare);

        let good = answer(
            &c,
            "REGISTER",
            "sip:example.com",
            b"",
            "alice",
            "secret",
            1,
            &mut ids,
        )
        .unwrap();
        let req = register(Some(&good.to_header_value()));
        assert_eq!(auth.check(now, &req, ChallengeKind::Www), Ok(()));

        let bad = answer(
            &c,
            "REGISTER",
            "sip:example.com",
            b"",
            "alice",
            "nope",
            2,
            &mut ids,
        )
        .unwrap();
        let req = register(Some(&bad.to_header_value()));
        let r = auth.check(now, &req, ChallengeKind::Www).unwrap_err();
        assert!(r.wrong_credentials);
        assert_eq!(
            first_challenge(&r, &req).nonce,
            c.nonce,
            "same nonce after a wrong answer"
        );
    }
}
