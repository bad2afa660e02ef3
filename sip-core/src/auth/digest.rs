//! Digest algorithms and the response computation (RFC 7616 §3.4.1–§3.4.3, RFC 2617 §3.2.2,
//! RFC 8760 §2).

use md5::Md5;
use sha2::{Digest, Sha256, Sha512_256};

/// A digest algorithm from the IANA "HTTP Digest Algorithm Values" registry that SIP may
/// use (RFC 7616 §3.3 and §6.1, RFC 8760 §2.2).
///
/// The `-sess` variants hash the client nonce into the session key H(A1) (RFC 7616
/// §3.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// `MD5`, the RFC 3261 default when a challenge names no algorithm.
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256` (RFC 7616, RFC 8760).
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
    /// `SHA-512-256`: SHA-512/256, the SHA-512 variant truncated to 256 bits (RFC 8760).
    Sha512_256,
    /// `SHA-512-256-sess`.
    Sha512_256Sess,
}

impl Algorithm {
    /// Every supported algorithm, weakest first.
    pub const ALL: [Algorithm; 6] = [
        Algorithm::Md5,
        Algorithm::Md5Sess,
        Algorithm::Sha256,
        Algorithm::Sha256Sess,
        Algorithm::Sha512_256,
        Algorithm::Sha512_256Sess,
    ];

    /// The algorithm named by an `algorithm` parameter value, compared case-insensitively
    /// (RFC 7616 §3.3); `SHA-512/256` is read as `SHA-512-256`. `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
            .or_else(|| {
                if s.eq_ignore_ascii_case("SHA-512/256") {
                    Some(Self::Sha512_256)
                } else if s.eq_ignore_ascii_case("SHA-512/256-sess") {
                    Some(Self::Sha512_256Sess)
                } else {
                    None
                }
            })
    }

    /// The registered spelling, as written in headers (RFC 8760 §2.6 ABNF).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Md5Sess => "MD5-sess",
            Self::Sha256 => "SHA-256",
            Self::Sha256Sess => "SHA-256-sess",
            Self::Sha512_256 => "SHA-512-256",
            Self::Sha512_256Sess => "SHA-512-256-sess",
        }
    }

    /// Whether this is a `-sess` variant (RFC 7616 §3.4.2).
    pub fn is_session(self) -> bool {
        matches!(
            self,
            Self::Md5Sess | Self::Sha256Sess | Self::Sha512_256Sess
        )
    }

    /// Strength rank of the underlying hash: MD5 < SHA-256 < SHA-512/256. A `-sess`
    /// variant ranks with its hash.
    pub fn strength(self) -> u8 {
        match self {
            Self::Md5 | Self::Md5Sess => 0,
            Self::Sha256 | Self::Sha256Sess => 1,
            Self::Sha512_256 | Self::Sha512_256Sess => 2,
        }
    }

    /// `H(parts joined by ":")` as lower-case hex (RFC 7616 §3.4: the digest is written
    /// most significant nibble first with the characters `0-9a-f`).
    pub(crate) fn hash_hex(self, parts: &[&[u8]]) -> String {
        fn run<D: Digest>(parts: &[&[u8]]) -> String {
            let mut h = D::new();
            for (k, p) in parts.iter().enumerate() {
                if k > 0 {
                    h.update(b":");
                }
                h.update(p);
            }
            to_hex(h.finalize().as_slice())
        }
        match self {
            Self::Md5 | Self::Md5Sess => run::<Md5>(parts),
            Self::Sha256 | Self::Sha256Sess => run::<Sha256>(parts),
            Self::Sha512_256 | Self::Sha512_256Sess => run::<Sha512_256>(parts),
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A quality-of-protection value (RFC 7616 §3.3, RFC 3261 §25.1 `qop-value`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Qop {
    /// `auth`: authentication of the method and request-URI.
    Auth,
    /// `auth-int`: `auth` plus integrity of the message body.
    AuthInt,
    /// Any other token, kept as written; never chosen by the client.
    Other(String),
}

impl Qop {
    /// The value named by `s`, compared case-insensitively.
    pub fn parse(s: &str) -> Self {
        let s = s.trim();
        if s.eq_ignore_ascii_case("auth") {
            Self::Auth
        } else if s.eq_ignore_ascii_case("auth-int") {
            Self::AuthInt
        } else {
            Self::Other(s.to_owned())
        }
    }

    /// The value as written in headers.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Auth => "auth",
            Self::AuthInt => "auth-int",
            Self::Other(s) => s,
        }
    }
}

impl std::fmt::Display for Qop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    s
}

/// The hashed user name sent when a challenge asks for `userhash=true`:
/// `H(username ":" realm)` (RFC 7616 §3.4.4). A server that enables `userhash` looks its
/// users up by this value.
pub fn user_hash(algorithm: Algorithm, username: &str, realm: &str) -> String {
    algorithm.hash_hex(&[username.as_bytes(), realm.as_bytes()])
}

/// The inputs of one response computation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DigestInput<'a> {
    pub algorithm: Algorithm,
    pub nonce: &'a str,
    pub method: &'a str,
    pub uri: &'a str,
    pub body: &'a [u8],
    /// `(qop, cnonce, nc)` when a qop is in use; `None` for the RFC 2069 form.
    pub qop: Option<(&'a Qop, &'a str, u32)>,
}

/// The session key H(A1) from the plain H(username:realm:password) (RFC 7616 §3.4.2): the
/// same value for the non-`-sess` algorithms, `H(H(...) ":" nonce ":" cnonce)` for the
/// `-sess` ones.
pub(crate) fn session_ha1(
    algorithm: Algorithm,
    base_ha1: &str,
    nonce: &str,
    cnonce: Option<&str>,
) -> Option<String> {
    if algorithm.is_session() {
        let cnonce = cnonce?;
        Some(algorithm.hash_hex(&[base_ha1.as_bytes(), nonce.as_bytes(), cnonce.as_bytes()]))
    } else {
        Some(base_ha1.to_owned())
    }
}

/// The plain H(username ":" realm ":" password) (RFC 7616 §3.4.2, the non-`-sess` A1).
pub(crate) fn base_ha1(algorithm: Algorithm, user: &str, realm: &str, password: &str) -> String {
    algorithm.hash_hex(&[user.as_bytes(), realm.as_bytes(), password.as_bytes()])
}

/// The `response` value from the session key H(A1) (RFC 7616 §3.4.1 and §3.4.3; RFC 2617
/// §3.2.2.1 without qop). `None` for an unknown qop or a `-sess` algorithm without qop.
pub(crate) fn response(ha1: &str, d: &DigestInput<'_>) -> Option<String> {
    let alg = d.algorithm;
    let ha2 = match d.qop {
        None | Some((Qop::Auth, _, _)) => alg.hash_hex(&[d.method.as_bytes(), d.uri.as_bytes()]),
        Some((Qop::AuthInt, _, _)) => {
            let hbody = alg.hash_hex(&[d.body]);
            alg.hash_hex(&[d.method.as_bytes(), d.uri.as_bytes(), hbody.as_bytes()])
        }
        Some((Qop::Other(_), _, _)) => return None,
    };
    match d.qop {
        Some((qop, cnonce, nc)) => {
            let nc = format!("{nc:08x}");
            Some(alg.hash_hex(&[
                ha1.as_bytes(),
                d.nonce.as_bytes(),
                nc.as_bytes(),
                cnonce.as_bytes(),
                qop.as_str().as_bytes(),
                ha2.as_bytes(),
            ]))
        }
        None if alg.is_session() => None,
        None => Some(alg.hash_hex(&[ha1.as_bytes(), d.nonce.as_bytes(), ha2.as_bytes()])),
    }
}

/// Equality of two strings in time that depends on their lengths only, not on where they
/// first differ, so a response cannot be guessed byte by byte from timing.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_names_round_trip_case_insensitively() {
        for a in Algorithm::ALL {
            assert_eq!(Algorithm::parse(a.as_str()), Some(a));
            assert_eq!(Algorithm::parse(&a.as_str().to_ascii_lowercase()), Some(a));
        }
        assert_eq!(Algorithm::parse("SHA-512/256"), Some(Algorithm::Sha512_256));
        assert_eq!(
            Algorithm::parse("sha-512/256-SESS"),
            Some(Algorithm::Sha512_256Sess)
        );
        assert_eq!(Algorithm::parse("SHA-1"), None);
        assert_eq!(Algorithm::parse(""), None);
        assert!(Algorithm::Sha256Sess.is_session() && !Algorithm::Sha256.is_session());
        assert_eq!(Algorithm::Sha512_256.to_string(), "SHA-512-256");
    }

    #[test]
    fn hashes_match_known_vectors() {
        // Test vectors: MD5("abc") RFC 1321 A.5, SHA-256("abc") FIPS 180-2, SHA-512/256("abc")
        // FIPS 180-4 examples (also python3 hashlib.new('sha512_256', b'abc')).
        assert_eq!(
            Algorithm::Md5.hash_hex(&[b"abc"]),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            Algorithm::Sha256.hash_hex(&[b"abc"]),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            Algorithm::Sha512_256.hash_hex(&[b"abc"]),
            "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23"
        );
        // Parts are joined with ':'.
        assert_eq!(
            Algorithm::Md5.hash_hex(&[b"a", b"b"]),
            Algorithm::Md5.hash_hex(&[b"a:b"])
        );
    }

    #[test]
    fn qop_parse_and_hex() {
        assert_eq!(Qop::parse("AUTH"), Qop::Auth);
        assert_eq!(Qop::parse(" auth-int "), Qop::AuthInt);
        assert_eq!(Qop::parse("x"), Qop::Other("x".into()));
        assert_eq!(Qop::AuthInt.to_string(), "auth-int");
        assert_eq!(to_hex(&[0, 0xab, 0x0f]), "00ab0f");
    }

    #[test]
    fn constant_time_eq_compares_exactly() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn unknown_qop_and_sess_without_qop_have_no_response() {
        let other = Qop::Other("x".into());
        let d = DigestInput {
            algorithm: Algorithm::Md5,
            nonce: "n",
            method: "GET",
            uri: "/",
            body: b"",
            qop: Some((&other, "c", 1)),
        };
        assert_eq!(response("h", &d), None);
        let d = DigestInput {
            algorithm: Algorithm::Md5Sess,
            qop: None,
            ..d
        };
        assert_eq!(response("h", &d), None);
        assert_eq!(session_ha1(Algorithm::Md5Sess, "h", "n", None), None);
        assert_eq!(
            session_ha1(Algorithm::Md5, "h", "n", None).as_deref(),
            Some("h")
        );
    }
}
