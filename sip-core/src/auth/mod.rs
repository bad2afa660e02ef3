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
//! - Server: [`NonceManager`], [`challenge`], [`verify`].
//!
//! Hashes come from the RustCrypto `md-5` and `sha2` crates.

mod challenge;
mod client;
mod credentials;
mod digest;
mod error;
mod params;
mod server;

pub use challenge::{Challenge, ChallengeKind, challenges_in, pick_strongest, strongest_per_realm};
pub use client::{CredentialsSource, StaticCredentials, answer, answer_with_cnonce};
pub use credentials::{Credentials, credentials_in};
pub use digest::{Algorithm, Qop, user_hash};
pub use error::AuthError;
pub use server::{NonceManager, NonceStatus, Secret, Verdict, challenge, verify};
