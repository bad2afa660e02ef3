//! Generators of SIP messages (RFC 3261 §7, §20, §25) shared by the property tests of
//! `sip-core` (`sip-core/tests/proptest_message.rs`) and the fuzz crate (`fuzz/`), so that
//! both explore the same message space and there is one place to extend it.
//!
//! | module | what it is |
//! |---|---|
//! | [`spec`] | the message model: [`MessageSpec`] renders a valid message and knows the values a parser must read from it; [`Damaged`] renders it with [`Damage`] applied on purpose |
//! | [`mutation`] | byte-level damage ([`Mutation`]) and [`mutate`] |
//! | [`strategy`] | proptest strategies for messages, header values, URIs, damage and stream chunkings |
//! | [`check`] | what a generated message must parse to ([`check::check_expected`]) |
//! | [`exercise`] | every accessor and every edit of a parsed message, and the stream framer driven in chunks |
//!
//! The strategies drive proptest's `proptest!` tests as usual; outside a test runner,
//! [`generate_from_bytes`] turns a libFuzzer input into a value (the input keys the random
//! stream) and [`generate_from_seed`] makes a reproducible value from a number.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod check;
pub mod exercise;
pub mod mutation;
pub mod spec;
pub mod strategy;

pub use mutation::{Mutation, mutate};
/// The proptest this crate is built with, for users outside a proptest test suite.
pub use proptest;
pub use spec::{Damage, Damaged, Expected, MessageSpec, Row, Start};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// Generates one value of `strategy` from a ChaCha stream keyed by a digest of `data`: the
/// same bytes always give the same value, and any change gives an unrelated one.
///
/// proptest's pass-through generator (`RngAlgorithm::PassThrough`), which would let the
/// bytes drive the choices one by one, cannot serve here: every `prop_oneof!` forks the
/// stream for its other branches and keeps half of what is left, so after twenty or so the
/// stream is empty, and on an empty (all-zero) stream `rand`'s uniform sampling rejects
/// forever.
pub fn generate_from_bytes<S: Strategy>(strategy: &S, data: &[u8]) -> Option<S::Value> {
    generate(strategy, chacha(digest(data)))
}

/// Generates one value of `strategy` from a ChaCha stream seeded with `seed`: the same seed
/// always gives the same value.
pub fn generate_from_seed<S: Strategy>(strategy: &S, seed: u64) -> Option<S::Value> {
    generate(
        strategy,
        chacha([seed, !seed, seed.rotate_left(17), seed.rotate_left(41)]),
    )
}

/// Four 64-bit lanes, each a different multiply-xorshift hash of every byte and of the
/// length (not cryptographic: it only has to spread similar inputs apart).
fn digest(data: &[u8]) -> [u64; 4] {
    const K: [u64; 4] = [
        0x9E37_79B9_7F4A_7C15,
        0xC2B2_AE3D_27D4_EB4F,
        0x1656_67B1_9E37_79F9,
        0x2545_F491_4F6C_DD1D,
    ];
    let mut lanes = K;
    for (lane, k) in lanes.iter_mut().zip(K) {
        for &b in data {
            *lane = (*lane ^ u64::from(b)).wrapping_mul(k);
            *lane ^= *lane >> 29;
        }
        *lane = (*lane ^ data.len() as u64).wrapping_mul(k);
        *lane ^= *lane >> 32;
    }
    lanes
}

fn chacha(key: [u64; 4]) -> TestRng {
    let mut bytes = [0u8; 32];
    for (chunk, word) in bytes.chunks_mut(8).zip(key) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

fn generate<S: Strategy>(strategy: &S, rng: TestRng) -> Option<S::Value> {
    let config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(config, rng);
    strategy.new_tree(&mut runner).ok().map(|t| t.current())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::any;

    #[test]
    fn the_same_input_gives_the_same_value() {
        let s = vec(any::<u32>(), 0..10);
        let data = [7u8, 1, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(
            generate_from_bytes(&s, &data),
            generate_from_bytes(&s, &data)
        );
        assert_eq!(generate_from_seed(&s, 42), generate_from_seed(&s, 42));
        assert_ne!(generate_from_seed(&s, 42), generate_from_seed(&s, 43));
        assert_ne!(
            generate_from_bytes(&s, &data),
            generate_from_bytes(&s, &data[1..])
        );
    }

    #[test]
    fn any_input_generates_a_message() {
        for data in [&b""[..], b"\0", &[0xff; 300]] {
            let m = generate_from_bytes(&strategy::message(), data).expect("a message");
            assert!(m.to_bytes().starts_with(m.start_line.as_bytes()));
        }
    }
}
