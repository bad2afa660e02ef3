//! The endpoint's seeded generator for tags, branches and Call-IDs.
//!
//! RFC 3261 requires branches to be unique in space and time (§8.1.1.7), tags to carry at
//! least 32 bits of randomness (§19.3) and Call-IDs to be globally unique (§8.1.1.4). The core
//! never reads OS randomness: every value comes from this generator, seeded by the caller, so
//! a simulation with the same seed and inputs replays byte for byte. A driver that faces a real
//! network seeds it from the OS once at start-up.

/// Characters used for generated tokens: lower-case letters and digits are `token` and
/// `word` characters (RFC 3261 §25.1), safe in tags, branches and Call-IDs alike.
const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// The RFC 3261 magic cookie every branch we generate starts with (§8.1.1.7).
pub const BRANCH_MAGIC_COOKIE: &str = "z9hG4bK";

/// Length of the random part of a branch (36^16 ≈ 2^82 values).
const BRANCH_RANDOM_LEN: usize = 16;
/// Length of a tag (36^10 ≈ 2^51 values, above §19.3's 32 bits).
const TAG_LEN: usize = 10;
/// Length of a Call-ID (36^20 ≈ 2^103 values).
const CALL_ID_LEN: usize = 20;

const BRANCH_LEN: usize = BRANCH_MAGIC_COOKIE.len() + BRANCH_RANDOM_LEN;

/// A branch from [`IdGenerator::branch_token`], held inline.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Branch([u8; BRANCH_LEN]);

impl Branch {
    /// The branch text (`z9hG4bK` and 16 token characters).
    pub fn as_str(&self) -> &str {
        // Only ASCII from the cookie and the alphabet is ever written.
        std::str::from_utf8(&self.0).unwrap_or(BRANCH_MAGIC_COOKIE)
    }
}

impl std::fmt::Debug for Branch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A small deterministic generator (wyrand, through `fastrand`) for protocol identifiers.
///
/// ```
/// use sip_core::rng::IdGenerator;
/// let mut a = IdGenerator::new(7);
/// let mut b = IdGenerator::new(7);
/// assert_eq!(a.branch(), b.branch());
/// assert!(a.branch().starts_with("z9hG4bK"));
/// ```
#[derive(Debug, Clone)]
pub struct IdGenerator {
    rng: fastrand::Rng,
}

impl IdGenerator {
    /// A generator whose every output is determined by `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// A new Via branch: the magic cookie followed by random token characters (§8.1.1.7).
    pub fn branch(&mut self) -> String {
        self.branch_token().as_str().to_owned()
    }

    /// [`IdGenerator::branch`] without an allocation (the same draws, the same value).
    pub fn branch_token(&mut self) -> Branch {
        let mut b = [0u8; BRANCH_LEN];
        let (cookie, random) = b.split_at_mut(BRANCH_MAGIC_COOKIE.len());
        cookie.copy_from_slice(BRANCH_MAGIC_COOKIE.as_bytes());
        let mut digits = Digits::default();
        for c in random {
            *c = digits.next(&mut self.rng);
        }
        Branch(b)
    }

    /// A new From/To tag (§19.3).
    pub fn tag(&mut self) -> String {
        let mut s = String::with_capacity(TAG_LEN);
        self.push_token(&mut s, TAG_LEN);
        s
    }

    /// [`IdGenerator::tag`] written at the end of `s` (the same draws, the same value).
    pub(crate) fn push_tag(&mut self, s: &mut String) {
        self.push_token(s, TAG_LEN);
    }

    /// A new Call-ID (§8.1.1.4); `host`, when given, is appended as `@host`.
    pub fn call_id(&mut self, host: Option<&str>) -> String {
        let mut s = String::with_capacity(CALL_ID_LEN + host.map_or(0, |h| 1 + h.len()));
        self.push_token(&mut s, CALL_ID_LEN);
        if let Some(h) = host {
            s.push('@');
            s.push_str(h);
        }
        s
    }

    /// A uniformly drawn duration in `[low, high]` milliseconds, for the random back-off
    /// intervals of §14.1 (re-INVITE glare).
    pub fn millis_between(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            return low;
        }
        self.rng.u64(low..=high)
    }

    /// A raw 64-bit value (used to key hash tables from the endpoint seed).
    pub fn u64(&mut self) -> u64 {
        self.rng.u64(..)
    }

    fn push_token(&mut self, s: &mut String, len: usize) {
        let mut digits = Digits::default();
        for _ in 0..len {
            s.push(char::from(digits.next(&mut self.rng)));
        }
    }
}

/// Characters of [`ALPHABET`] drawn [`Digits::PER_DRAW`] at a time from one 64-bit value
/// `x`: the first ten base-36 digits of `x / 2^64` (multiply by 36, the integer part is the
/// digit), i.e. `⌊x·36^10 / 2^64⌋` written in base 36. Each of the 36^10 strings comes from
/// 5039 or 5040 of the 2^64 values, so ten characters are uniform to within 0.02 % and carry
/// about 51.7 bits of randomness (a tag needs 32, §19.3), for one draw instead of ten.
#[derive(Default)]
struct Digits {
    value: u64,
    left: u32,
}

impl Digits {
    const PER_DRAW: u32 = 10;

    fn next(&mut self, rng: &mut fastrand::Rng) -> u8 {
        if self.left == 0 {
            self.value = rng.u64(..);
            self.left = Self::PER_DRAW;
        }
        self.left -= 1;
        let m = u128::from(self.value) * ALPHABET.len() as u128;
        self.value = m as u64;
        ALPHABET[(m >> 64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_different_seed_different_sequence() {
        let mut a = IdGenerator::new(42);
        let mut b = IdGenerator::new(42);
        let mut c = IdGenerator::new(43);
        let xa: Vec<String> = (0..5).map(|_| a.tag()).collect();
        let xb: Vec<String> = (0..5).map(|_| b.tag()).collect();
        let xc: Vec<String> = (0..5).map(|_| c.tag()).collect();
        assert_eq!(xa, xb);
        assert_ne!(xa, xc);
    }

    #[test]
    fn ten_digits_per_draw_are_the_base_36_expansion() {
        // Each draw's ten characters spell ⌊x·36^10 / 2^64⌋ in base 36.
        let mut rng = fastrand::Rng::with_seed(5);
        for _ in 0..1000 {
            let mut probe = rng.clone();
            let x = probe.u64(..);
            let mut d = Digits::default();
            let chars: Vec<u8> = (0..10).map(|_| d.next(&mut rng)).collect();
            let mut n = (u128::from(x) * 36u128.pow(10)) >> 64;
            let mut want = [0u8; 10];
            for c in want.iter_mut().rev() {
                *c = ALPHABET[(n % 36) as usize];
                n /= 36;
            }
            assert_eq!(chars, want);
        }
        // And the characters come out evenly: 360,000 of them, each of the 36 within 5 % (five standard deviations).
        let mut g = IdGenerator::new(11);
        let mut counts = [0u32; 256];
        for _ in 0..36_000 {
            for c in g.tag().bytes() {
                counts[usize::from(c)] += 1;
            }
        }
        for &c in ALPHABET {
            let n = counts[usize::from(c)];
            assert!((9_500..=10_500).contains(&n), "{}: {n}", char::from(c));
        }
    }

    #[test]
    fn push_tag_draws_what_tag_draws() {
        let mut a = IdGenerator::new(9);
        let mut b = IdGenerator::new(9);
        let mut s = String::from("x;tag=");
        for _ in 0..20 {
            let t = a.tag();
            assert_eq!(t.len(), TAG_LEN);
            s.truncate("x;tag=".len());
            b.push_tag(&mut s);
            assert_eq!(&s["x;tag=".len()..], t);
        }
    }

    #[test]
    fn branch_token_draws_what_branch_draws() {
        let mut a = IdGenerator::new(9);
        let mut b = IdGenerator::new(9);
        for _ in 0..5 {
            let t = a.branch_token();
            assert_eq!(t.as_str(), b.branch());
            assert_eq!(t.as_str().len(), 23);
            assert!(t.as_str().starts_with(BRANCH_MAGIC_COOKIE));
        }
        assert_eq!(a.tag(), b.tag());
    }

    #[test]
    fn identifiers_have_the_rfc_shape() {
        let mut g = IdGenerator::new(1);
        let br = g.branch();
        assert!(br.starts_with(BRANCH_MAGIC_COOKIE));
        assert_eq!(br.len(), 7 + BRANCH_RANDOM_LEN);
        let tag = g.tag();
        assert_eq!(tag.len(), TAG_LEN);
        assert!(tag.bytes().all(|b| ALPHABET.contains(&b)));
        let cid = g.call_id(Some("host.example"));
        assert!(cid.ends_with("@host.example"));
        assert_eq!(cid.len(), CALL_ID_LEN + 1 + 12);
    }

    #[test]
    fn many_branches_are_distinct() {
        let mut g = IdGenerator::new(9);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..10_000 {
            assert!(seen.insert(g.branch()));
        }
    }

    #[test]
    fn millis_between_stays_in_range() {
        let mut g = IdGenerator::new(3);
        for _ in 0..1000 {
            let v = g.millis_between(2100, 4000);
            assert!((2100..=4000).contains(&v));
        }
        assert_eq!(g.millis_between(5, 5), 5);
        assert_eq!(g.millis_between(9, 5), 9);
    }
}
