//! Digest authentication of the users of a UAS or a small registrar (RFC 3261 §22.4, RFC
//! 7616): check a request's credentials and say who sent it, or say how to challenge it.
//! The checks and the challenge rules live here so every driver's test PBX applies the same
//! ones.

use std::collections::BTreeMap;
use std::time::Instant;

use super::challenge::ChallengeKind;
use super::credentials::{Credentials, credentials_in};
use super::digest::{Algorithm, Qop};
use super::server::{NonceManager, NonceStatus, Secret, Verdict, challenge, verify};
use crate::message::Request;

/// Who a request was authenticated as: the identity [`UserAuth::check`] hands back, for
/// the authorization step that follows (RFC 3261 §10.3 steps 3 and 4, §22.4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Authenticated {
    /// The user name the credentials proved (as configured, compared exactly).
    pub user: String,
    /// The realm they were checked in.
    pub realm: String,
}

/// Why a request was not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalReason {
    /// No credentials for our realm: the first challenge.
    Missing,
    /// Wrong credentials: malformed, an unknown user, a wrong password, another
    /// `uri` than the Request-URI, no `qop` or one not offered (RFC 7616 §3.4), an algorithm
    /// not offered, or the nonce of another algorithm's challenge. Challenged without
    /// `stale`.
    Wrong,
    /// The response was right but the nonce was too old or not ours: challenged with
    /// `stale=true` and a fresh nonce (RFC 7616 §3.3).
    Stale,
    /// The response was right but its nonce-count did not grow: a replay (RFC 7616 §3.4).
    /// The nonce is spent for that count, so it is challenged like a stale one (`stale=true`,
    /// a fresh nonce): an honest client whose requests crossed retries without asking its
    /// user, and whoever only copied the header has nothing to answer with.
    Replayed,
}

/// Why a request was not authenticated, and how to challenge it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Challenge header values to send, strongest first (SHA-256 then MD5 by default, RFC
    /// 8760 §2.3), each with its own nonce, in `WWW-Authenticate` (401) or
    /// `Proxy-Authenticate` (407) rows.
    pub challenges: Vec<String>,
    /// Why.
    pub reason: RefusalReason,
}

impl Refusal {
    /// Whether the request carried credentials that were refused as wrong or replayed (as
    /// opposed to none, or only a stale nonce).
    pub fn is_failure(&self) -> bool {
        matches!(self.reason, RefusalReason::Wrong | RefusalReason::Replayed)
    }
}

/// The users of one realm, the algorithms offered to them, and the nonces issued for them.
///
/// [`check`](Self::check) applies RFC 7616 on the server side: `qop=auth` is offered and
/// required, only the offered algorithms are taken, each challenge has its own nonce bound
/// to the realm and to its algorithm, and the nonce-count of a nonce must grow from one
/// request to the next ([`NonceManager::accept_nc`]). Nonce lifetime and the size of the
/// nonce-count table are the [`NonceManager`]'s (5 minutes and 16,384 nonces by default).
#[derive(Debug)]
pub struct UserAuth {
    users: BTreeMap<String, String>,
    realm: String,
    algorithms: Vec<Algorithm>,
    nonces: NonceManager,
}

impl UserAuth {
    /// The algorithms offered unless set otherwise, strongest first (RFC 8760 §2.3).
    pub const DEFAULT_ALGORITHMS: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Md5];

    /// No users yet in `realm`; `nonces` issues and checks the nonces.
    pub fn new(realm: &str, nonces: NonceManager) -> Self {
        UserAuth {
            users: BTreeMap::new(),
            realm: realm.to_owned(),
            algorithms: Self::DEFAULT_ALGORITHMS.to_vec(),
            nonces,
        }
    }

    /// Adds `user` with `password` (a user added twice keeps the last password).
    pub fn with_user(mut self, user: &str, password: &str) -> Self {
        self.users.insert(user.to_owned(), password.to_owned());
        self
    }

    /// Offers these algorithms, most preferred first, instead of
    /// [`DEFAULT_ALGORITHMS`](Self::DEFAULT_ALGORITHMS); an empty list keeps the default.
    pub fn with_algorithms(mut self, algorithms: &[Algorithm]) -> Self {
        let mut offered: Vec<Algorithm> = Vec::new();
        for a in algorithms {
            if !offered.contains(a) {
                offered.push(*a);
            }
        }
        if !offered.is_empty() {
            self.algorithms = offered;
        }
        self
    }

    /// The realm challenges name.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// Checks the credentials of `req` for our realm (`kind` says which header carries
    /// them: `Authorization` or `Proxy-Authorization`) and says who sent it, or says how to
    /// challenge it.
    ///
    /// The challenge has `stale=true` when only the nonce was stale or not ours, or when
    /// the nonce-count did not grow (RFC 7616 §3.3, §3.4); a wrong answer to a valid nonce
    /// is challenged with that same nonce for its algorithm, which is how a client knows
    /// its credentials, not the nonce, were refused (RFC 3261 §22.2).
    pub fn check(
        &mut self,
        now: Instant,
        req: &Request,
        kind: ChallengeKind,
    ) -> Result<Authenticated, Refusal> {
        let creds = match credentials_in(req.message(), kind, &self.realm) {
            None => return Err(self.refuse(now, RefusalReason::Missing, None)),
            Some(Err(_)) => return Err(self.refuse(now, RefusalReason::Wrong, None)),
            Some(Ok(c)) => c,
        };
        let Some(algorithm) = creds.algorithm().filter(|a| self.algorithms.contains(a)) else {
            return Err(self.refuse(now, RefusalReason::Wrong, None));
        };
        let status = self.nonces.check(&creds.nonce, &self.realm, algorithm, now);
        let same_nonce = (status == NonceStatus::Valid).then(|| (algorithm, creds.nonce.clone()));
        let Some(password) = self.users.get(&creds.username) else {
            return Err(self.refuse(now, RefusalReason::Wrong, same_nonce));
        };
        let verdict = if is_answer_to_our_challenge(&creds, req) {
            let secret = Secret::Password {
                user: &creds.username,
                password,
            };
            verify(&creds, req.method().as_str(), req.body(), secret, status)
        } else {
            Verdict::Wrong
        };
        match (verdict, creds.nc) {
            (Verdict::Ok, Some(nc)) if self.nonces.accept_nc(&creds.nonce, nc, now) => {
                Ok(Authenticated {
                    user: creds.username,
                    realm: self.realm.clone(),
                })
            }
            (Verdict::Ok, _) => Err(self.refuse(now, RefusalReason::Replayed, None)),
            (Verdict::Stale, _) => Err(self.refuse(now, RefusalReason::Stale, None)),
            (Verdict::Wrong, _) => Err(self.refuse(now, RefusalReason::Wrong, same_nonce)),
        }
    }

    /// The refusal for `reason`: one challenge per offered algorithm, each with a fresh
    /// nonce except `same_nonce`'s algorithm, which is challenged again with that nonce.
    fn refuse(
        &mut self,
        now: Instant,
        reason: RefusalReason,
        same_nonce: Option<(Algorithm, String)>,
    ) -> Refusal {
        let stale = matches!(reason, RefusalReason::Stale | RefusalReason::Replayed);
        let mut challenges = Vec::with_capacity(self.algorithms.len());
        for &a in &self.algorithms {
            let nonce = match &same_nonce {
                Some((b, n)) if *b == a => n.clone(),
                _ => self.nonces.issue(now, &self.realm, a),
            };
            challenges.push(challenge(&self.realm, &nonce, a, stale).to_header_value());
        }
        Refusal { challenges, reason }
    }
}

/// Whether the credentials answer the challenges [`UserAuth`] makes for this request: the
/// digest-uri is the Request-URI (RFC 3261 §22.4) and the qop is the `auth` every challenge
/// offers (RFC 7616 §3.4: with qop offered, the RFC 2069 form without it is refused).
fn is_answer_to_our_challenge(creds: &Credentials, req: &Request) -> bool {
    creds.uri == req.uri_str() && creds.qop == Some(Qop::Auth)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Challenge, answer, answer_with_cnonce};
    use crate::message::Method;
    use crate::rng::IdGenerator;

    #[allow(clippy::disallowed_methods)]
    fn base() -> Instant {
        Instant::now()
    }

    const REALM: &str = "example.com";

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

    fn auth(now: Instant) -> UserAuth {
        UserAuth::new(REALM, NonceManager::new(&mut IdGenerator::new(7), now))
            .with_user("alice", "secret")
            .with_user("bob", "hunter2")
    }

    /// The challenges of a refusal, parsed back as a client would, in order.
    fn challenges(r: &Refusal) -> Vec<Challenge> {
        r.challenges
            .iter()
            .map(|c| Challenge::parse(c).unwrap())
            .collect()
    }

    /// The REGISTER answering `c` as `user` with `password` and count `nc`.
    fn answered(c: &Challenge, user: &str, password: &str, nc: u32) -> Request {
        let mut ids = IdGenerator::new(u64::from(nc));
        let creds = answer(
            c,
            "REGISTER",
            "sip:example.com",
            b"",
            user,
            password,
            nc,
            &mut ids,
        )
        .unwrap();
        register(Some(&creds.to_header_value()))
    }

    /// A fresh challenge pair (SHA-256, MD5) for a request without credentials.
    fn first_challenges(auth: &mut UserAuth, now: Instant) -> (Challenge, Challenge) {
        let r = auth
            .check(now, &register(None), ChallengeKind::Www)
            .unwrap_err();
        assert_eq!(r.reason, RefusalReason::Missing);
        let mut cs = challenges(&r).into_iter();
        (cs.next().unwrap(), cs.next().unwrap())
    }

    /// §22.4: no credentials → challenged (SHA-256 first, each challenge with its own
    /// nonce); the right answer passes and says who; a wrong password is refused as wrong
    /// and challenged again with the same nonce.
    #[test]
    fn challenge_answer_and_wrong_password() {
        let now = base();
        let mut auth = auth(now);
        let r = auth
            .check(now, &register(None), ChallengeKind::Www)
            .unwrap_err();
        assert!(!r.is_failure());
        let cs = challenges(&r);
        assert_eq!(cs.len(), 2);
        assert_eq!(cs[0].algorithm(), Some(Algorithm::Sha256));
        assert_eq!(cs[1].algorithm(), Some(Algorithm::Md5));
        assert!(cs.iter().all(|c| c.qop == [Qop::Auth] && !c.stale));
        assert_ne!(cs[0].nonce, cs[1].nonce, "one nonce per challenge");

        let who = auth.check(
            now,
            &answered(&cs[0], "alice", "secret", 1),
            ChallengeKind::Www,
        );
        assert_eq!(
            who,
            Ok(Authenticated {
                user: "alice".into(),
                realm: REALM.into()
            })
        );
        // MD5 works too, over the MD5 challenge's nonce; bob is a user as well.
        let who = auth.check(
            now,
            &answered(&cs[1], "bob", "hunter2", 1),
            ChallengeKind::Www,
        );
        assert_eq!(who.map(|a| a.user), Ok("bob".to_string()));

        let (sha, _) = first_challenges(&mut auth, now);
        let req = answered(&sha, "alice", "nope", 1);
        let r = auth.check(now, &req, ChallengeKind::Www).unwrap_err();
        assert_eq!(r.reason, RefusalReason::Wrong);
        assert!(r.is_failure());
        assert_eq!(
            challenges(&r)[0].nonce,
            sha.nonce,
            "same nonce after a wrong answer"
        );
        // An unknown user is wrong the same way.
        let r = auth
            .check(
                now,
                &answered(&sha, "mallory", "secret", 1),
                ChallengeKind::Www,
            )
            .unwrap_err();
        assert_eq!(r.reason, RefusalReason::Wrong);
    }

    /// RFC 7616 §3.4: the same Authorization sent again (same nonce, same nc), or a lower
    /// nc, is a replay: refused with `stale=true` and fresh nonces. A growing nc passes.
    #[test]
    fn replayed_or_lowered_nonce_count_is_refused() {
        let now = base();
        let mut auth = auth(now);
        let (sha, _) = first_challenges(&mut auth, now);
        let captured = answered(&sha, "alice", "secret", 1);
        assert!(auth.check(now, &captured, ChallengeKind::Www).is_ok());
        let r = auth.check(now, &captured, ChallengeKind::Www).unwrap_err();
        assert_eq!(r.reason, RefusalReason::Replayed);
        assert!(r.is_failure());
        let cs = challenges(&r);
        assert!(cs.iter().all(|c| c.stale && c.nonce != sha.nonce));

        assert!(
            auth.check(
                now,
                &answered(&sha, "alice", "secret", 5),
                ChallengeKind::Www
            )
            .is_ok()
        );
        let r = auth
            .check(
                now,
                &answered(&sha, "alice", "secret", 4),
                ChallengeKind::Www,
            )
            .unwrap_err();
        assert_eq!(r.reason, RefusalReason::Replayed);
        assert!(
            auth.check(
                now,
                &answered(&sha, "alice", "secret", 6),
                ChallengeKind::Www
            )
            .is_ok()
        );
    }

    /// A wrong answer does not use up the nonce-count: a forged request cannot lock an
    /// honest client out of its nonce.
    #[test]
    fn a_wrong_answer_spends_no_count() {
        let now = base();
        let mut auth = auth(now);
        let (sha, _) = first_challenges(&mut auth, now);
        let forged = answered(&sha, "alice", "guess", 1);
        assert!(auth.check(now, &forged, ChallengeKind::Www).is_err());
        assert!(
            auth.check(
                now,
                &answered(&sha, "alice", "secret", 1),
                ChallengeKind::Www
            )
            .is_ok()
        );
    }

    /// RFC 7616 §3.4: with `qop` offered, a response without it (the RFC 2069 form) is
    /// refused, even with the right password; so is a qop that was not offered.
    #[test]
    fn missing_or_unoffered_qop_is_refused() {
        let now = base();
        let mut auth = auth(now);
        let (sha, _) = first_challenges(&mut auth, now);
        let mut no_qop = sha.clone();
        no_qop.qop.clear();
        let creds = answer_with_cnonce(
            &no_qop,
            "REGISTER",
            "sip:example.com",
            b"",
            "alice",
            "secret",
            1,
            "c",
        )
        .unwrap();
        assert_eq!(creds.qop, None);
        let r = auth
            .check(
                now,
                &register(Some(&creds.to_header_value())),
                ChallengeKind::Www,
            )
            .unwrap_err();
        assert_eq!(r.reason, RefusalReason::Wrong);
        let mut int = sha.clone();
        int.qop = vec![Qop::AuthInt];
        let creds = answer_with_cnonce(
            &int,
            "REGISTER",
            "sip:example.com",
            b"",
            "alice",
            "secret",
            1,
            "c",
        )
        .unwrap();
        let r = auth
            .check(
                now,
                &register(Some(&creds.to_header_value())),
                ChallengeKind::Www,
            )
            .unwrap_err();
        assert_eq!(r.reason, RefusalReason::Wrong);
    }

    /// Only the offered algorithms are taken, each over the nonce of its own challenge: an
    /// algorithm never offered, MD5 over the SHA-256 challenge's nonce, or MD5 when only
    /// SHA-256 is offered, are refused even with the right password.
    #[test]
    fn unoffered_algorithm_or_another_challenges_nonce_is_refused() {
        let now = base();
        let mut auth = auth(now);
        let (sha, md5) = first_challenges(&mut auth, now);
        let refused = |auth: &mut UserAuth, c: &Challenge| {
            auth.check(now, &answered(c, "alice", "secret", 1), ChallengeKind::Www)
                .unwrap_err()
                .reason
        };
        let mut never = sha.clone();
        never.algorithm = Some("SHA-512-256".into());
        assert_eq!(refused(&mut auth, &never), RefusalReason::Wrong);
        let mut md5_over_sha = sha.clone();
        md5_over_sha.algorithm = Some("MD5".into());
        assert_eq!(refused(&mut auth, &md5_over_sha), RefusalReason::Wrong);
        let mut sha_over_md5 = md5.clone();
        sha_over_md5.algorithm = Some("SHA-256".into());
        assert_eq!(refused(&mut auth, &sha_over_md5), RefusalReason::Wrong);
        // The honest answers still pass afterwards.
        assert!(
            auth.check(
                now,
                &answered(&sha, "alice", "secret", 1),
                ChallengeKind::Www
            )
            .is_ok()
        );

        let mut strict = UserAuth::new(REALM, NonceManager::with_key([9; 32], now))
            .with_user("alice", "secret")
            .with_algorithms(&[Algorithm::Sha256]);
        let r = strict
            .check(now, &register(None), ChallengeKind::Www)
            .unwrap_err();
        let cs = challenges(&r);
        assert_eq!(cs.len(), 1);
        let mut md5 = cs[0].clone();
        md5.algorithm = Some("MD5".into());
        assert_eq!(refused(&mut strict, &md5), RefusalReason::Wrong);
    }

    /// RFC 7616 §3.3: a right answer over an expired nonce is challenged with
    /// `stale=true` and a fresh nonce; the lifetime is the nonce manager's.
    #[test]
    fn an_expired_nonce_is_stale() {
        let now = base();
        let mut auth = UserAuth::new(
            REALM,
            NonceManager::with_key([5; 32], now).with_lifetime(std::time::Duration::from_secs(1)),
        )
        .with_user("alice", "secret");
        let (sha, _) = first_challenges(&mut auth, now);
        let later = now + std::time::Duration::from_secs(2);
        let r = auth
            .check(
                later,
                &answered(&sha, "alice", "secret", 1),
                ChallengeKind::Www,
            )
            .unwrap_err();
        assert_eq!(r.reason, RefusalReason::Stale);
        assert!(!r.is_failure());
        assert!(
            challenges(&r)
                .iter()
                .all(|c| c.stale && c.nonce != sha.nonce)
        );
    }
}
