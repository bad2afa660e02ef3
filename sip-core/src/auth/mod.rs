//! Digest access authentication for SIP, sans-IO (RFC 3261 §22, RFC 2617, RFC 7616,
//! RFC 8760).
//!
//! This module is the pure layer below the endpoint: it parses and writes the
//! `WWW-Authenticate` / `Proxy-Authenticate` challenges and the `Authorization` /
//! `Proxy-Authorization` credentials, computes digest responses on the client side, and
//! issues nonces and checks responses on the server side. It touches no clock (time comes in
//! as an [`std::time::Instant`]) and no OS randomness (client nonces and the server's nonce
//! key come from the seeded [`IdGenerator`](crate::rng::IdGenerator)).
//!
//! - Parsing: [`Challenge::parse_all`], [`Credentials::parse`], [`challenges_in`],
//!   [`credentials_in`]. Malformed input gives an [`AuthError`] (whose
//!   [`status`](AuthError::status) is 400), never a panic.
//! - Client: [`pick_strongest`], [`answer`], [`CredentialsSource`], [`StaticCredentials`].
//! - Server: [`NonceManager`], [`challenge`], [`verify`]; [`UserAuth`] puts them together
//!   for a realm's users and hands back who a request was [`Authenticated`] as.
//!
//! Hashes come from the RustCrypto `md-5` and `sha2` crates.

mod challenge;
mod client;
mod credentials;
mod digest;
mod error;
mod params;
mod server;
mod user;

pub use challenge::{Challenge, ChallengeKind, challenges_in, pick_strongest, strongest_per_realm};
pub use client::{CredentialsSource, StaticCredentials, answer, answer_with_cnonce};
pub use credentials::{Credentials, credentials_in};
pub use digest::{Algorithm, Qop, user_hash};
pub use error::AuthError;
pub use server::{NonceManager, NonceStatus, Secret, Verdict, challenge, verify};
pub use user::{Authenticated, Refusal, RefusalReason, UserAuth};

#[cfg(test)]
mod tests {
    //! Properties over the whole layer: no input panics, written headers parse back to the
    //! same value, and a client answer always verifies on the server.
    use super::*;
    use crate::rng::IdGenerator;
    use proptest::prelude::*;
    use std::time::{Duration, Instant};

    #[allow(clippy::disallowed_methods)]
    fn base() -> Instant {
        Instant::now()
    }

    /// Text as found in realms, nonces and user names: printable, with the characters that
    /// need escaping, and non-ASCII.
    fn text() -> impl Strategy<Value = String> {
        "[ -~é\"\\\\\t]{0,24}"
    }

    fn algorithm() -> impl Strategy<Value = Algorithm> {
        proptest::sample::select(Algorithm::ALL.to_vec())
    }

    fn qops() -> impl Strategy<Value = Vec<Qop>> {
        proptest::sample::select(vec![
            vec![],
            vec![Qop::Auth],
            vec![Qop::AuthInt],
            vec![Qop::Auth, Qop::AuthInt],
            vec![Qop::Other("x-q".into()), Qop::AuthInt],
        ])
    }

    fn challenge_strategy() -> impl Strategy<Value = Challenge> {
        (
            text(),
            text(),
            proptest::option::of(text()),
            any::<bool>(),
            proptest::option::of(algorithm()),
            qops(),
            any::<bool>(),
        )
            .prop_map(|(realm, nonce, opaque, stale, alg, qop, userhash)| {
                let mut c = Challenge::digest(&realm, &nonce);
                c.opaque = opaque;
                c.stale = stale;
                c.algorithm = alg.map(|a| a.as_str().to_owned());
                c.qop = qop;
                c.userhash = userhash;
                c
            })
    }

    /// Fragments of real headers, glued in random order: reaches far more of the grammar
    /// than uniformly random strings.
    fn headerish() -> impl Strategy<Value = String> {
        let piece = proptest::sample::select(vec![
            "Digest",
            "Basic",
            " ",
            ",",
            "=",
            "\"",
            "\\",
            "realm",
            "nonce",
            "qop",
            "\"auth\"",
            "auth-int",
            "algorithm",
            "SHA-256",
            "stale",
            "true",
            "nc",
            "00000001",
            "abc==",
            "username",
            "uri",
            "response",
            "cnonce",
            "\r\n ",
            "é",
            "\u{0}",
            "/",
            "==",
        ]);
        proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(s in any::<String>()) {
            let _ = Challenge::parse_all(&s);
            let _ = Credentials::parse(&s);
        }

        #[test]
        fn header_like_input_never_panics(s in headerish()) {
            if let Ok(cs) = Challenge::parse_all(&s) {
                for c in &cs {
                    // Whatever parsed can be written and answered without panicking.
                    let _ = c.to_header_value();
                    let _ = answer_with_cnonce(c, "INVITE", "sip:x", b"b", "u", "p", 1, "c");
                }
                let _ = pick_strongest(&cs);
            }
            if let Ok(c) = Credentials::parse(&s) {
                let _ = c.to_header_value();
                let pw = Secret::Password { user: "u", password: "p" };
                let _ = verify(&c, "INVITE", b"", pw, NonceStatus::Valid);
            }
        }

        #[test]
        fn challenge_round_trips_through_its_header(c in challenge_strategy()) {
            let v = c.to_header_value();
            prop_assert!(!v.contains('\r') && !v.contains('\n'));
            prop_assert_eq!(Challenge::parse(&v), Ok(c));
        }

        #[test]
        fn answer_round_trips_and_verifies(
            c in challenge_strategy(),
            user in text(),
            password in text(),
            uri in "sip:[a-z]{1,8}@[a-z.]{1,12}",
            body in proptest::collection::vec(any::<u8>(), 0..64),
            nc in 1u32..,
            seed in any::<u64>(),
        ) {
            let mut ids = IdGenerator::new(seed);
            let Ok(creds) = answer(&c, "INVITE", &uri, &body, &user, &password, nc, &mut ids) else {
                // Only unanswerable challenges fail.
                prop_assert!(!c.is_supported());
                return Ok(());
            };
            prop_assert!(c.is_supported());
            let text = creds.to_header_value();
            prop_assert!(!text.contains('\r') && !text.contains('\n'));
            let back = Credentials::parse(&text);
            prop_assert_eq!(back.as_ref(), Ok(&creds));
            let pw = Secret::Password { user: &user, password: &password };
            prop_assert_eq!(verify(&creds, "INVITE", &body, pw, NonceStatus::Valid), Verdict::Ok);
            let wrong = format!("{password}x");
            let bad = Secret::Password { user: &user, password: &wrong };
            prop_assert_eq!(verify(&creds, "INVITE", &body, bad, NonceStatus::Valid), Verdict::Wrong);
        }

        #[test]
        fn nonce_check_never_accepts_other_strings(s in "[0-9a-f]{64}|.{0,80}", seed in any::<u64>()) {
            let t0 = base();
            let mut m = NonceManager::new(&mut IdGenerator::new(seed), t0)
                .with_lifetime(Duration::from_secs(1));
            let issued = m.issue(t0, "r", Algorithm::Sha256);
            prop_assert_eq!(m.check(&issued, "r", Algorithm::Sha256, t0), NonceStatus::Valid);
            if s != issued {
                prop_assert_eq!(m.check(&s, "r", Algorithm::Sha256, t0), NonceStatus::Invalid);
            }
        }
    }
}
