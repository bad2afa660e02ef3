//! The server side: nonces, challenges and checking credentials (RFC 3261 §22.2–§22.4,
//! RFC 7616 §3.3, §3.5 and §5.4, RFC 8760 §2.3).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::challenge::Challenge;
use super::credentials::Credentials;
use super::digest::{
    Algorithm, DigestInput, Qop, base_ha1, constant_time_eq, response, session_ha1, to_hex,
};
use crate::rng::IdGenerator;

/// What [`NonceManager::check`] says of a nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NonceStatus {
    /// Issued by this manager for this realm and this algorithm, and younger than the
    /// lifetime.
    Valid,
    /// Issued by this manager for this realm and this algorithm, but older than the
    /// lifetime: a client with the right password gets a new challenge with `stale=true`
    /// (RFC 7616 §3.3).
    Stale,
    /// Issued by this manager for this realm, but with the challenge of another algorithm:
    /// the client answered a challenge that was never made (e.g. MD5 over the nonce of the
    /// SHA-256 challenge). Refused as wrong credentials, never accepted.
    OtherAlgorithm,
    /// Not issued by this manager for this realm (forged, altered, from another realm or
    /// from before a restart, or not a nonce of ours at all).
    Invalid,
}

/// Hex digits of the issue time and of the counter at the start of a nonce.
const STAMP_LEN: usize = 32;
/// Length of the hex nonce: 16 digits of issue time, 16 of counter, 1 naming the
/// algorithm, 32 of MAC.
const NONCE_LEN: usize = STAMP_LEN + 1 + 2 * MAC_LEN;
/// Bytes of the HMAC-SHA-256 kept in the nonce (128 bits).
const MAC_LEN: usize = 16;

/// Where a nonce sits in issue order: (issue time in ms since the epoch, counter). Unique
/// per manager, and ordered as the nonces were issued.
type Stamp = (u64, u64);

/// The algorithm a nonce was issued for, as its one hex digit (its index in
/// [`Algorithm::ALL`]).
fn algorithm_digit(algorithm: Algorithm) -> char {
    let i = Algorithm::ALL
        .iter()
        .position(|a| *a == algorithm)
        .unwrap_or(0);
    char::from_digit(u32::try_from(i).unwrap_or(0), 16).unwrap_or('0')
}

/// Issues and checks nonces (RFC 7616 §3.3 and §5.4), and tracks the nonce-count of the
/// nonces in use (§3.4) in a table of bounded size.
///
/// A nonce is `hex(issue time) hex(counter) algorithm-digit hex(MAC)` where the time is
/// milliseconds since the manager's `epoch` and the MAC is HMAC-SHA-256 (RFC 2104,
/// truncated to 128 bits), keyed with a 256-bit secret, over the time, the counter, the
/// algorithm and the realm. So a nonce carries its own age, is bound to its realm and to
/// the algorithm of the one challenge it was issued for, and cannot be forged without the
/// key; [`check`](Self::check) needs no table. The key comes from the seeded
/// [`IdGenerator`] ([`new`](Self::new)) or from the driver ([`with_key`](Self::with_key)):
/// a driver facing a real network seeds either from the OS at start-up, as it does for tags.
///
/// Replay protection: [`accept_nc`](Self::accept_nc) remembers the highest nonce-count
/// accepted per nonce and refuses counts that do not grow. Only nonces that authenticated a
/// request take a row (issuing a challenge costs no memory), and the table is capped
/// ([`DEFAULT_MAX_TRACKED`](Self::DEFAULT_MAX_TRACKED) rows unless
/// [`with_max_tracked`](Self::with_max_tracked) says otherwise): expired rows are pruned
/// as time goes by, and when the table is full the oldest row is dropped and every nonce
/// issued up to it is refused from then on (as stale), so a dropped row never lets a replay
/// through.
///
/// Defaults: nonces live [`DEFAULT_LIFETIME`](Self::DEFAULT_LIFETIME) (5 minutes), at
/// most 16,384 nonces are tracked.
#[derive(Clone)]
pub struct NonceManager {
    key: [u8; 32],
    epoch: Instant,
    lifetime: Duration,
    counter: u64,
    /// Nonce (by stamp) → highest nc accepted.
    counts: BTreeMap<Stamp, u32>,
    /// Nonces issued up to this stamp were dropped from `counts` to make room: refused.
    forgotten: Option<Stamp>,
    max_tracked: usize,
}

impl std::fmt::Debug for NonceManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NonceManager")
            .field("lifetime", &self.lifetime)
            .field("issued", &self.counter)
            .field("tracked", &self.counts.len())
            .finish_non_exhaustive()
    }
}

fn ms_since(epoch: Instant, now: Instant) -> u64 {
    u64::try_from(now.saturating_duration_since(epoch).as_millis()).unwrap_or(u64::MAX)
}

/// HMAC-SHA-256 (RFC 2104) of the concatenated `parts`.
fn hmac_sha256(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for ((i, o), k) in ipad.iter_mut().zip(opad.iter_mut()).zip(key.iter()) {
        *i ^= k;
        *o ^= k;
    }
    let mut inner = Sha256::new();
    inner.update(ipad);
    for p in parts {
        inner.update(p);
    }
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(opad);
    outer.update(inner.as_slice());
    let mut out = [0u8; 32];
    out.copy_from_slice(outer.finalize().as_slice());
    out
}

/// A nonce of ours taken apart (not yet authenticated by its MAC).
struct Decoded<'a> {
    stamp: Stamp,
    algorithm: char,
    mac_hex: &'a str,
}

impl NonceManager {
    /// Nonce lifetime unless set otherwise: 5 minutes.
    pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

    /// How many nonces [`accept_nc`](Self::accept_nc) tracks at most unless set
    /// otherwise: 16,384 (a row is a few dozen bytes, so well under a megabyte).
    pub const DEFAULT_MAX_TRACKED: usize = 16_384;

    /// A manager whose key is drawn from `ids`; nonce times count from `epoch`.
    pub fn new(ids: &mut IdGenerator, epoch: Instant) -> Self {
        let mut key = [0u8; 32];
        for chunk in key.chunks_exact_mut(8) {
            chunk.copy_from_slice(&ids.u64().to_be_bytes());
        }
        Self::with_key(key, epoch)
    }

    /// A manager with the given 256-bit key.
    pub fn with_key(key: [u8; 32], epoch: Instant) -> Self {
        Self {
            key,
            epoch,
            lifetime: Self::DEFAULT_LIFETIME,
            counter: 0,
            counts: BTreeMap::new(),
            forgotten: None,
            max_tracked: Self::DEFAULT_MAX_TRACKED,
        }
    }

    /// Sets how long a nonce stays [`NonceStatus::Valid`].
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Sets how many nonces [`accept_nc`](Self::accept_nc) tracks (at least 1).
    pub fn with_max_tracked(mut self, max: usize) -> Self {
        self.max_tracked = max.max(1);
        self
    }

    /// The nonce lifetime.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// How many nonces the nonce-count table holds now.
    pub fn tracked(&self) -> usize {
        self.counts.len()
    }

    fn mac(&self, stamp: Stamp, algorithm: char, realm: &str) -> [u8; 32] {
        hmac_sha256(
            &self.key,
            &[
                &stamp.0.to_be_bytes(),
                &stamp.1.to_be_bytes(),
                &[algorithm as u8],
                realm.as_bytes(),
            ],
        )
    }

    /// A fresh nonce for one challenge of `algorithm` in `realm`, issued at `now`: 65 hex
    /// digits, unique per manager. Each challenge gets its own nonce, so a nonce names the
    /// one algorithm it may be answered with (RFC 7616 §3.3, RFC 8760 §2.3).
    pub fn issue(&mut self, now: Instant, realm: &str, algorithm: Algorithm) -> String {
        let time = ms_since(self.epoch, now);
        self.counter = self.counter.wrapping_add(1);
        let digit = algorithm_digit(algorithm);
        let mac = self.mac((time, self.counter), digit, realm);
        let mut s = String::with_capacity(NONCE_LEN);
        s.push_str(&format!("{time:016x}{:016x}", self.counter));
        s.push(digit);
        s.push_str(&to_hex(mac.get(..MAC_LEN).unwrap_or(&mac)));
        s
    }

    /// Takes a nonce of ours apart; `None` when it has not the form of one.
    fn decode(nonce: &str) -> Option<Decoded<'_>> {
        if nonce.len() != NONCE_LEN
            || !nonce
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return None;
        }
        let time = u64::from_str_radix(nonce.get(..16)?, 16).ok()?;
        let counter = u64::from_str_radix(nonce.get(16..STAMP_LEN)?, 16).ok()?;
        Some(Decoded {
            stamp: (time, counter),
            algorithm: nonce.get(STAMP_LEN..)?.chars().next()?,
            mac_hex: nonce.get(STAMP_LEN + 1..)?,
        })
    }

    /// Whether `nonce` was issued by this manager for `realm` and for a challenge of
    /// `algorithm` (the one the credentials name), and whether it is still young enough at
    /// `now` (RFC 7616 §3.3, §5.4). The MAC is compared in constant time.
    pub fn check(
        &self,
        nonce: &str,
        realm: &str,
        algorithm: Algorithm,
        now: Instant,
    ) -> NonceStatus {
        let Some(d) = Self::decode(nonce) else {
            return NonceStatus::Invalid;
        };
        let mac = self.mac(d.stamp, d.algorithm, realm);
        let expected = to_hex(mac.get(..MAC_LEN).unwrap_or(&mac));
        if !constant_time_eq(expected.as_bytes(), d.mac_hex.as_bytes()) {
            return NonceStatus::Invalid;
        }
        if d.algorithm != algorithm_digit(algorithm) {
            return NonceStatus::OtherAlgorithm;
        }
        if self.is_expired(d.stamp, now) {
            NonceStatus::Stale
        } else {
            NonceStatus::Valid
        }
    }

    fn is_expired(&self, stamp: Stamp, now: Instant) -> bool {
        let age = ms_since(self.epoch, now).saturating_sub(stamp.0);
        u128::from(age) > self.lifetime.as_millis()
    }

    /// The replay check (RFC 7616 §3.4: the server keeps its own copy of each nonce's
    /// count; a count seen before means a replay): records `nc` for `nonce` and says whether
    /// it is greater than every count accepted before for that nonce. Call it once
    /// [`check`](Self::check) said [`NonceStatus::Valid`] and [`verify`] said
    /// [`Verdict::Ok`] (so a forged request cannot use up an honest client's counts); on
    /// `false`, challenge again with a fresh nonce.
    ///
    /// Counts must grow strictly, so a client that sends two requests with the same nonce
    /// out of order sees the older one refused (transaction-layer retransmissions never get
    /// here). Memory is bounded: rows older than the lifetime are pruned (their nonces are
    /// stale anyway), and when the table holds [`with_max_tracked`](Self::with_max_tracked)
    /// rows the oldest is dropped and every nonce issued up to it is refused from then on.
    pub fn accept_nc(&mut self, nonce: &str, nc: u32, now: Instant) -> bool {
        let Some(d) = Self::decode(nonce) else {
            return false;
        };
        self.prune(now);
        if let Some(highest) = self.counts.get_mut(&d.stamp) {
            if nc <= *highest {
                return false;
            }
            *highest = nc;
            return true;
        }
        if self.forgotten.is_some_and(|f| d.stamp <= f) {
            return false;
        }
        while self.counts.len() >= self.max_tracked {
            // Full: a nonce older than every row would be the one to drop, so it is refused
            // (dropping another row for it would only let that one be forgotten).
            match self.counts.first_key_value() {
                Some((&oldest, _)) if oldest < d.stamp => {
                    self.counts.pop_first();
                    self.forgotten = Some(self.forgotten.map_or(oldest, |f| f.max(oldest)));
                }
                _ => return false,
            }
        }
        self.counts.insert(d.stamp, nc);
        true
    }

    /// Drops the rows of nonces that expired by `now` (the table is in issue order, so they
    /// are at its front).
    fn prune(&mut self, now: Instant) {
        while let Some((&stamp, _)) = self.counts.first_key_value() {
            if !self.is_expired(stamp, now) {
                break;
            }
            self.counts.pop_first();
        }
    }
}

/// A Digest challenge for a 401 / 407 (RFC 3261 §22.1, RFC 8760 §2.3): the realm, the
/// nonce, the algorithm (always written, even MD5), `qop="auth"` (RFC 8760 §2.5 makes qop
/// mandatory) and `stale=true` when asked. Offer several algorithms with one challenge
/// each, most preferred first (RFC 8760 §2.3).
pub fn challenge(realm: &str, nonce: &str, algorithm: Algorithm, stale: bool) -> Challenge {
    let mut c = Challenge::digest(realm, nonce);
    c.algorithm = Some(algorithm.as_str().to_owned());
    c.qop = vec![Qop::Auth];
    c.stale = stale;
    c
}

/// What the server knows about the user, to check a response with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret<'a> {
    /// The clear password, with the (real, unhashed) user name it belongs to.
    Password {
        /// The user name (the one the password was looked up with; with `userhash`, the
        /// name behind the hash).
        user: &'a str,
        /// The password.
        password: &'a str,
    },
    /// The stored hex H(username ":" realm ":" password), computed with the algorithm the
    /// credentials name (RFC 7616 §3.4.2: servers may store this instead of passwords).
    /// For `-sess` algorithms this is still the plain value; the session key is derived here.
    Ha1(&'a str),
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Right response for a valid nonce: the request is authenticated.
    Ok,
    /// Right response, but the nonce is stale or not ours: challenge again with
    /// `stale=true` and a fresh nonce (RFC 7616 §3.3).
    Stale,
    /// Wrong response (wrong password or user), or credentials this layer cannot check
    /// (unknown algorithm or qop): challenge again without `stale`.
    Wrong,
}

/// Checks Digest credentials (RFC 7616 §3.4 and §3.5, RFC 3261 §22.4), comparing the
/// response in constant time.
///
/// `method` is the request's method and `body` its body (hashed only for `auth-int`); the
/// response is computed over the credentials' own `uri`. `nonce_status` is
/// [`NonceManager::check`] of the credentials' nonce for the server's realm.
///
/// Left to the caller, who has the request and the user database: that `creds.realm` is its
/// realm, that `creds.uri` names the Request-URI, that the user exists (looked up by
/// `creds.username`, or by [`user_hash`](super::user_hash) when `creds.userhash`), that the
/// qop is one the challenge offered (this function also takes the RFC 2069 form without
/// qop, which a server offering qop must refuse, RFC 7616 §3.4), and
/// [`NonceManager::accept_nc`] for replay protection. [`UserAuth`](super::UserAuth) does
/// all of it.
///
/// A nonce issued for another algorithm's challenge
/// ([`NonceStatus::OtherAlgorithm`]) gives [`Verdict::Wrong`] whatever the response.
pub fn verify(
    creds: &Credentials,
    method: &str,
    body: &[u8],
    secret: Secret<'_>,
    nonce_status: NonceStatus,
) -> Verdict {
    let Some(algorithm) = creds.algorithm() else {
        return Verdict::Wrong;
    };
    let qop = match (&creds.qop, creds.cnonce.as_deref(), creds.nc) {
        (None, _, _) => None,
        (Some(q @ (Qop::Auth | Qop::AuthInt)), Some(cnonce), Some(nc)) => Some((q, cnonce, nc)),
        _ => return Verdict::Wrong,
    };
    let base = match secret {
        Secret::Password { user, password } => base_ha1(algorithm, user, &creds.realm, password),
        Secret::Ha1(h) => h.trim().to_ascii_lowercase(),
    };
    let Some(ha1) = session_ha1(algorithm, &base, &creds.nonce, qop.map(|(_, c, _)| c)) else {
        return Verdict::Wrong;
    };
    let input = DigestInput {
        algorithm,
        nonce: &creds.nonce,
        method,
        uri: &creds.uri,
        body,
        qop,
    };
    let Some(expected) = response(&ha1, &input) else {
        return Verdict::Wrong;
    };
    let got = creds.response.to_ascii_lowercase();
    if !constant_time_eq(expected.as_bytes(), got.as_bytes()) {
        return Verdict::Wrong;
    }
    match nonce_status {
        NonceStatus::Valid => Verdict::Ok,
        NonceStatus::Stale | NonceStatus::Invalid => Verdict::Stale,
        NonceStatus::OtherAlgorithm => Verdict::Wrong,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{answer, answer_with_cnonce, user_hash};

    #[allow(clippy::disallowed_methods)]
    fn base() -> Instant {
        Instant::now()
    }

    const REALM: &str = "biloxi.example.com";

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        // RFC 4231 test case 2 uses a 4-byte key; ours is 32 bytes, zero-padded like HMAC
        // pads any short key, so "Jefe" followed by zeros is the same key.
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        assert_eq!(
            to_hex(&hmac_sha256(&key, &[b"what do ya want ", b"for nothing?"])),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn nonces_are_unique_bound_to_realm_and_expire() {
        let t0 = base();
        let mut ids = IdGenerator::new(11);
        let mut m = NonceManager::new(&mut ids, t0).with_lifetime(Duration::from_secs(30));
        let sha = Algorithm::Sha256;
        let a = m.issue(t0, REALM, sha);
        let b = m.issue(t0, REALM, sha);
        assert_ne!(a, b);
        assert_eq!(a.len(), 65);
        assert!(a.starts_with("00000000000000000000000000000001"));
        assert_eq!(m.check(&a, REALM, sha, t0), NonceStatus::Valid);
        assert_eq!(
            m.check(&a, REALM, sha, t0 + Duration::from_secs(30)),
            NonceStatus::Valid
        );
        assert_eq!(
            m.check(&a, REALM, sha, t0 + Duration::from_millis(30_001)),
            NonceStatus::Stale
        );
        assert_eq!(m.check(&a, "other.realm", sha, t0), NonceStatus::Invalid);
        // Another manager (another key) does not accept it.
        let other = NonceManager::new(&mut IdGenerator::new(12), t0);
        assert_eq!(other.check(&a, REALM, sha, t0), NonceStatus::Invalid);
        // Same seed, same nonces: runs replay.
        let mut again = NonceManager::new(&mut IdGenerator::new(11), t0);
        assert_eq!(again.issue(t0, REALM, sha), a);
        // Altered time (to make an old nonce look young), altered MAC, junk.
        let later = m.issue(t0 + Duration::from_secs(100), REALM, sha);
        assert!(later.starts_with("00000000000186a0"));
        let forged = format!("{:016x}{}", 0, &later[16..]);
        assert_eq!(m.check(&forged, REALM, sha, t0), NonceStatus::Invalid);
        let mut flipped = later.clone();
        flipped.replace_range(64..65, if later.ends_with('0') { "1" } else { "0" });
        assert_eq!(m.check(&flipped, REALM, sha, t0), NonceStatus::Invalid);
        for junk in ["", "xyz", &later.to_ascii_uppercase(), &format!("{later}0")] {
            assert_eq!(
                m.check(junk, REALM, sha, t0),
                NonceStatus::Invalid,
                "{junk}"
            );
        }
    }

    #[test]
    fn challenge_header_value() {
        let c = challenge(REALM, "abc", Algorithm::Sha256, true);
        assert_eq!(
            c.to_header_value(),
            r#"Digest realm="biloxi.example.com", nonce="abc", stale=true, algorithm=SHA-256, qop="auth""#
        );
        let c = challenge(REALM, "abc", Algorithm::Md5, false);
        assert_eq!(
            c.to_header_value(),
            r#"Digest realm="biloxi.example.com", nonce="abc", algorithm=MD5, qop="auth""#
        );
    }

    /// Server challenge → client answer → header text → server verify, for every algorithm.
    #[test]
    fn round_trip_ok_wrong_password_and_stale() {
        let t0 = base();
        let mut ids = IdGenerator::new(1);
        let mut m = NonceManager::new(&mut ids, t0).with_lifetime(Duration::from_secs(60));
        for alg in Algorithm::ALL {
            let nonce = m.issue(t0, REALM, alg);
            let ch =
                Challenge::parse(&challenge(REALM, &nonce, alg, false).to_header_value()).unwrap();
            let sent = answer(
                &ch,
                "REGISTER",
                "sip:biloxi.example.com",
                b"",
                "bob",
                "zanzibar",
                1,
                &mut ids,
            )
            .unwrap();
            let creds = Credentials::parse(&sent.to_header_value()).unwrap();
            assert_eq!(creds, sent);
            let pw = Secret::Password {
                user: "bob",
                password: "zanzibar",
            };
            let status = m.check(&creds.nonce, REALM, alg, t0 + Duration::from_secs(1));
            assert_eq!(status, NonceStatus::Valid);
            assert_eq!(
                verify(&creds, "REGISTER", b"", pw, status),
                Verdict::Ok,
                "{alg}"
            );
            let ha1 = base_ha1(alg, "bob", REALM, "zanzibar");
            assert_eq!(
                verify(
                    &creds,
                    "REGISTER",
                    b"",
                    Secret::Ha1(&ha1.to_ascii_uppercase()),
                    status
                ),
                Verdict::Ok,
                "{alg}"
            );
            let wrong = Secret::Password {
                user: "bob",
                password: "zanzibaR",
            };
            assert_eq!(
                verify(&creds, "REGISTER", b"", wrong, status),
                Verdict::Wrong
            );
            // Another method over the same credentials is wrong (A2 covers the method).
            assert_eq!(verify(&creds, "INVITE", b"", pw, status), Verdict::Wrong);
            // An old nonce: right password → Stale; wrong one stays Wrong.
            let old = m.check(&creds.nonce, REALM, alg, t0 + Duration::from_secs(61));
            assert_eq!(old, NonceStatus::Stale);
            assert_eq!(verify(&creds, "REGISTER", b"", pw, old), Verdict::Stale);
            assert_eq!(verify(&creds, "REGISTER", b"", wrong, old), Verdict::Wrong);
            assert_eq!(
                verify(&creds, "REGISTER", b"", pw, NonceStatus::Invalid),
                Verdict::Stale
            );
        }
    }

    #[test]
    fn verify_auth_int_userhash_and_rfc_2069_form() {
        let t0 = base();
        let mut m = NonceManager::with_key([7; 32], t0);
        let nonce = m.issue(t0, REALM, Algorithm::Sha512_256Sess);
        let mut ch = challenge(REALM, &nonce, Algorithm::Sha512_256Sess, false);
        ch.qop = vec![Qop::AuthInt];
        ch.userhash = true;
        let body = b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n";
        let creds = answer_with_cnonce(&ch, "INVITE", "sip:bob@biloxi", body, "bob", "pw", 3, "cn")
            .unwrap();
        assert_eq!(
            creds.username,
            user_hash(Algorithm::Sha512_256Sess, "bob", REALM)
        );
        let pw = Secret::Password {
            user: "bob",
            password: "pw",
        };
        let st = m.check(&nonce, REALM, Algorithm::Sha512_256Sess, t0);
        assert_eq!(verify(&creds, "INVITE", body, pw, st), Verdict::Ok);
        assert_eq!(verify(&creds, "INVITE", b"v=1", pw, st), Verdict::Wrong);
        // RFC 2069 form (no qop) is still checked.
        let mut ch = challenge(REALM, &nonce, Algorithm::Md5, false);
        ch.qop.clear();
        let creds = answer_with_cnonce(&ch, "BYE", "sip:x", b"", "bob", "pw", 1, "c").unwrap();
        assert_eq!(creds.qop, None);
        assert_eq!(verify(&creds, "BYE", b"", pw, st), Verdict::Ok);
        // Unknown algorithm, unknown qop, qop without cnonce: not checkable → Wrong.
        let mut odd = creds.clone();
        odd.algorithm = Some("SHA3-256".into());
        assert_eq!(verify(&odd, "BYE", b"", pw, st), Verdict::Wrong);
        let mut odd = creds.clone();
        odd.qop = Some(Qop::Other("auth-conf".into()));
        odd.cnonce = Some("c".into());
        odd.nc = Some(1);
        assert_eq!(verify(&odd, "BYE", b"", pw, st), Verdict::Wrong);
        let mut odd = creds;
        odd.qop = Some(Qop::Auth);
        assert_eq!(verify(&odd, "BYE", b"", pw, st), Verdict::Wrong);
    }

    /// RFC 7616 §3.3, RFC 8760 §2.3: a nonce belongs to the one challenge it was issued for;
    /// answered with another algorithm it is refused, even with the right password.
    #[test]
    fn a_nonce_names_its_algorithm() {
        let t0 = base();
        let mut m = NonceManager::with_key([3; 32], t0);
        let sha = m.issue(t0, REALM, Algorithm::Sha256);
        let md5 = m.issue(t0, REALM, Algorithm::Md5);
        assert_ne!(sha[STAMP_LEN..=STAMP_LEN], md5[STAMP_LEN..=STAMP_LEN]);
        assert_eq!(
            m.check(&sha, REALM, Algorithm::Md5, t0),
            NonceStatus::OtherAlgorithm
        );
        assert_eq!(m.check(&md5, REALM, Algorithm::Md5, t0), NonceStatus::Valid);
        // Rewriting the algorithm digit breaks the MAC.
        let mut swapped = sha.clone();
        swapped.replace_range(STAMP_LEN..=STAMP_LEN, &md5[STAMP_LEN..=STAMP_LEN]);
        assert_eq!(
            m.check(&swapped, REALM, Algorithm::Md5, t0),
            NonceStatus::Invalid
        );
        // MD5 over the SHA-256 challenge's nonce: the right password is still Wrong.
        let mut ch = challenge(REALM, &sha, Algorithm::Md5, false);
        ch.qop = vec![Qop::Auth];
        let creds = answer_with_cnonce(&ch, "REGISTER", "sip:x", b"", "bob", "pw", 1, "c").unwrap();
        let pw = Secret::Password {
            user: "bob",
            password: "pw",
        };
        let status = m.check(&creds.nonce, REALM, Algorithm::Md5, t0);
        assert_eq!(verify(&creds, "REGISTER", b"", pw, status), Verdict::Wrong);
    }

    /// RFC 7616 §3.4: per nonce, the count must grow; the same or a lower count is a replay.
    #[test]
    fn nonce_count_must_grow() {
        let t0 = base();
        let mut m = NonceManager::with_key([1; 32], t0);
        let a = m.issue(t0, REALM, Algorithm::Sha256);
        let b = m.issue(t0, REALM, Algorithm::Sha256);
        assert!(m.accept_nc(&a, 1, t0));
        assert!(!m.accept_nc(&a, 1, t0), "same nc: replay");
        assert!(m.accept_nc(&a, 3, t0), "gaps are fine");
        assert!(!m.accept_nc(&a, 2, t0), "lower nc: replay");
        assert!(m.accept_nc(&b, 1, t0), "each nonce counts on its own");
        assert!(!m.accept_nc("junk", 1, t0));
        assert_eq!(m.tracked(), 2);
    }

    /// The table is capped and pruned: expired rows go as time passes, and a row dropped
    /// to make room never lets its nonce be replayed.
    #[test]
    fn nonce_count_table_is_bounded_and_never_forgets_into_a_replay() {
        let t0 = base();
        let mut m = NonceManager::with_key([1; 32], t0)
            .with_lifetime(Duration::from_secs(10))
            .with_max_tracked(2);
        assert_eq!(
            NonceManager::with_key([1; 32], t0).max_tracked,
            NonceManager::DEFAULT_MAX_TRACKED
        );
        let a = m.issue(t0, REALM, Algorithm::Sha256);
        let b = m.issue(t0, REALM, Algorithm::Sha256);
        let c = m.issue(t0, REALM, Algorithm::Sha256);
        let d = m.issue(t0, REALM, Algorithm::Sha256);
        assert!(m.accept_nc(&a, 1, t0));
        assert!(m.accept_nc(&c, 1, t0));
        // Full: the oldest row (a) is dropped to make room for d ...
        assert!(m.accept_nc(&d, 1, t0));
        assert_eq!(m.tracked(), 2);
        // ... and a, and b (issued before it was dropped, never used), are refused from now,
        // without dropping anything else.
        assert!(!m.accept_nc(&a, 1, t0));
        assert!(!m.accept_nc(&a, 9, t0));
        assert!(!m.accept_nc(&b, 1, t0));
        assert!(m.accept_nc(&c, 2, t0));
        assert!(m.accept_nc(&d, 2, t0));
        // A flood of challenges takes no row at all.
        for _ in 0..1000 {
            m.issue(t0, REALM, Algorithm::Md5);
        }
        assert_eq!(m.tracked(), 2);
        // Once expired, rows are pruned (and their nonces are stale for `check`).
        let t1 = t0 + Duration::from_secs(11);
        let e = m.issue(t1, REALM, Algorithm::Sha256);
        assert!(m.accept_nc(&e, 1, t1));
        assert_eq!(m.tracked(), 1);
        assert_eq!(
            m.check(&c, REALM, Algorithm::Sha256, t1),
            NonceStatus::Stale
        );
        assert!(format!("{m:?}").contains("tracked: 1"));
    }
}
