//! The client side: answering a challenge (RFC 3261 §22.2–§22.4, RFC 7616 §3.4, RFC 8760
//! §2.4).

use super::AuthError;
use super::challenge::Challenge;
use super::credentials::Credentials;
use super::digest::{DigestInput, base_ha1, response, session_ha1, to_hex, user_hash};
use crate::rng::IdGenerator;

/// Where the client finds a user name and password for a realm (RFC 3261 §22.1: the realm
/// tells the user which credentials to use).
pub trait CredentialsSource {
    /// `(user, password)` for `realm`, or `None` when the application has none, in which
    /// case the challenged request fails.
    fn credentials(&self, realm: &str) -> Option<(String, String)>;
}

/// A fixed set of credentials: per-realm entries, and optionally one for any realm.
///
/// ```
/// use sip_core::auth::{CredentialsSource, StaticCredentials};
/// let c = StaticCredentials::any("alice", "secret").with_realm("corp", "alice.c", "pw2");
/// assert_eq!(c.credentials("corp"), Some(("alice.c".into(), "pw2".into())));
/// assert_eq!(c.credentials("home"), Some(("alice".into(), "secret".into())));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaticCredentials {
    any: Option<(String, String)>,
    by_realm: Vec<(String, String, String)>,
}

impl StaticCredentials {
    /// No credentials at all.
    pub fn new() -> Self {
        Self::default()
    }

    /// One user and password for every realm (the usual softphone account).
    pub fn any(user: &str, password: &str) -> Self {
        Self {
            any: Some((user.to_owned(), password.to_owned())),
            by_realm: Vec::new(),
        }
    }

    /// Adds credentials for one realm (compared exactly, realms are case-sensitive strings);
    /// they take precedence over the any-realm ones.
    pub fn with_realm(mut self, realm: &str, user: &str, password: &str) -> Self {
        self.by_realm
            .push((realm.to_owned(), user.to_owned(), password.to_owned()));
        self
    }
}

impl CredentialsSource for StaticCredentials {
    fn credentials(&self, realm: &str) -> Option<(String, String)> {
        self.by_realm
            .iter()
            .find(|(r, _, _)| r == realm)
            .map(|(_, u, p)| (u.clone(), p.clone()))
            .or_else(|| self.any.clone())
    }
}

/// Answers a Digest challenge (RFC 7616 §3.4, RFC 3261 §22.4).
///
/// - `method` and `uri` are the request's method and Request-URI (the `digest-uri`, RFC 3261
///   §22.4 asks for the Request-URI as sent); `body` is hashed only for `qop=auth-int`.
/// - `nc` is how many times this client has now used the challenge's nonce (start at 1 and
///   increase for each request that reuses the nonce, RFC 7616 §3.4).
/// - The client nonce (32 hex digits) comes from `ids`, so runs replay from the seed.
///
/// The qop is `auth` when offered, else `auth-int`; with no qop in the challenge the RFC
/// 2069 form is used (no cnonce, no nc). The `algorithm` and `opaque` of the challenge are
/// echoed; with `userhash=true` the user name is sent hashed (RFC 7616 §3.4.4).
#[allow(clippy::too_many_arguments)] // one value per RFC 7616 input: grouping them would only rename them
pub fn answer(
    challenge: &Challenge,
    method: &str,
    uri: &str,
    body: &[u8],
    user: &str,
    password: &str,
    nc: u32,
    ids: &mut IdGenerator,
) -> Result<Credentials, AuthError> {
    let mut raw = [0u8; 16];
    raw[..8].copy_from_slice(&ids.u64().to_be_bytes());
    raw[8..].copy_from_slice(&ids.u64().to_be_bytes());
    answer_with_cnonce(
        challenge,
        method,
        uri,
        body,
        user,
        password,
        nc,
        &to_hex(&raw),
    )
}

/// [`answer`] with a given client nonce instead of a generated one (for tests against
/// published examples, and for drivers that make their own).
#[allow(clippy::too_many_arguments)] // same inputs as `answer`
pub fn answer_with_cnonce(
    challenge: &Challenge,
    method: &str,
    uri: &str,
    body: &[u8],
    user: &str,
    password: &str,
    nc: u32,
    cnonce: &str,
) -> Result<Credentials, AuthError> {
    if !challenge.is_digest() {
        return Err(AuthError::NotDigest(challenge.scheme.clone()));
    }
    let algorithm = challenge.algorithm().ok_or_else(|| {
        AuthError::UnsupportedAlgorithm(challenge.algorithm.clone().unwrap_or_default())
    })?;
    let qop = challenge.chosen_qop()?;
    if qop.is_none() && algorithm.is_session() {
        return Err(AuthError::SessionWithoutQop);
    }
    let cnonce = qop.as_ref().map(|_| cnonce);
    let realm = challenge.realm.as_str();
    let ha1 = session_ha1(
        algorithm,
        &base_ha1(algorithm, user, realm, password),
        &challenge.nonce,
        cnonce,
    )
    .ok_or(AuthError::SessionWithoutQop)?;
    let input = DigestInput {
        algorithm,
        nonce: &challenge.nonce,
        method,
        uri,
        body,
        qop: match (&qop, cnonce) {
            (Some(q), Some(c)) => Some((q, c, nc)),
            _ => None,
        },
    };
    let resp = response(&ha1, &input).ok_or(AuthError::UnsupportedQop)?;
    let username = if challenge.userhash {
        user_hash(algorithm, user, realm)
    } else {
        user.to_owned()
    };
    Ok(Credentials {
        scheme: "Digest".to_owned(),
        username,
        realm: realm.to_owned(),
        nonce: challenge.nonce.clone(),
        uri: uri.to_owned(),
        response: resp,
        algorithm: challenge
            .algorithm
            .as_ref()
            .map(|_| algorithm.as_str().to_owned()),
        cnonce: cnonce.map(str::to_owned),
        opaque: challenge.opaque.clone(),
        nc: qop.as_ref().map(|_| nc),
        qop,
        userhash: challenge.userhash,
        params: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Algorithm, Qop};

    const RFC7616_NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    const RFC7616_OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
    const RFC7616_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    fn rfc7616_challenge(alg: &str) -> Challenge {
        Challenge::parse(&format!(
            r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={alg}, nonce="{RFC7616_NONCE}", opaque="{RFC7616_OPAQUE}""#
        ))
        .unwrap()
    }

    fn rfc7616_answer(alg: &str) -> Credentials {
        answer_with_cnonce(
            &rfc7616_challenge(alg),
            "GET",
            "/dir/index.html",
            b"",
            "Mufasa",
            "Circle of Life",
            1,
            RFC7616_CNONCE,
        )
        .unwrap()
    }

    #[test]
    fn rfc_7616_section_3_9_1_md5() {
        let c = rfc7616_answer("MD5");
        assert_eq!(c.response, "8ca523f5e9506fed4657c9700eebdbec");
        assert_eq!(
            c.to_header_value(),
            format!(
                "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", \
                 nonce=\"{RFC7616_NONCE}\", uri=\"/dir/index.html\", \
                 response=\"8ca523f5e9506fed4657c9700eebdbec\", algorithm=MD5, \
                 cnonce=\"{RFC7616_CNONCE}\", opaque=\"{RFC7616_OPAQUE}\", qop=auth, nc=00000001"
            )
        );
    }

    #[test]
    fn rfc_7616_section_3_9_1_sha_256() {
        let c = rfc7616_answer("SHA-256");
        assert_eq!(
            c.response,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
        assert_eq!(c.algorithm.as_deref(), Some("SHA-256"));
        assert_eq!(c.qop, Some(Qop::Auth));
        assert_eq!(c.nc, Some(1));
    }

    #[test]
    fn sha_512_256_and_sess_variants_match_python_hashlib() {
        // Expected values computed independently with python3 hashlib over the RFC 7616
        // §3.9.1 inputs (the same script reproduces the RFC's MD5 and SHA-256 values):
        //   H = lambda s: hashlib.new('sha512_256', s.encode()).hexdigest()
        //   ha1 = H("Mufasa:http-auth@example.org:Circle of Life")
        //   ha1 = H(f"{ha1}:{nonce}:{cnonce}")            # -sess variants only
        //   ha2 = H("GET:/dir/index.html")
        //   H(f"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}")
        let cases = [
            (
                "SHA-512-256",
                "430d05014cecc49cab6fbe03176d41a1da86cbfe24a16580e22aaad928d960d0",
            ),
            ("MD5-sess", "e783283f46242139c486a698fec7211d"),
            (
                "SHA-256-sess",
                "2fd51b3a77ad75bad6afad6003e818d767133c46d9e2749e7f5232ae1ea3efd7",
            ),
            (
                "SHA-512-256-sess",
                "3f2a34f923c38b0fb26dce2fdfc2ce326c23cecf86fbb1444f3e51fbbc2cb92e",
            ),
        ];
        for (alg, expected) in cases {
            assert_eq!(rfc7616_answer(alg).response, expected, "{alg}");
        }
    }

    #[test]
    fn rfc_2617_section_3_5() {
        let ch = Challenge::parse(
            r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
        )
        .unwrap();
        let c = answer_with_cnonce(
            &ch,
            "GET",
            "/dir/index.html",
            b"",
            "Mufasa",
            "Circle Of Life",
            1,
            "0a4f113b",
        )
        .unwrap();
        assert_eq!(c.response, "6629fae49393a05397450978507c4ef1");
        assert_eq!(c.algorithm, None);
        assert_eq!(
            c.opaque.as_deref(),
            Some("5ccc069c403ebaf9f0171e9517f40e41")
        );
    }

    #[test]
    fn no_qop_is_the_rfc_2069_form() {
        // The RFC 2069 §2.4 example (password "CircleOfLife"), whose published response this
        // is: H(H(A1) ":" nonce ":" H(A2)).
        let ch = Challenge::parse(
            r#"Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093""#,
        )
        .unwrap();
        let c = answer_with_cnonce(
            &ch,
            "GET",
            "/dir/index.html",
            b"",
            "Mufasa",
            "CircleOfLife",
            1,
            "ignored",
        )
        .unwrap();
        assert_eq!(c.response, "1949323746fe6a43ef61f9606e7febea");
        assert_eq!((c.cnonce, c.nc, c.qop), (None, None, None));
    }

    #[test]
    fn auth_int_hashes_the_body() {
        let mut ch = rfc7616_challenge("MD5");
        ch.qop = vec![Qop::AuthInt];
        let a = answer_with_cnonce(&ch, "INVITE", "sip:b@x", b"v=0\r\n", "u", "p", 7, "c").unwrap();
        assert_eq!(a.qop, Some(Qop::AuthInt));
        assert_eq!(a.nc, Some(7));
        // python3: H(f"{H('u:http-auth@example.org:p')}:{nonce}:00000007:c:auth-int:"
        //            f"{H('INVITE:sip:b@x:' + H('v=0\r\n'))}") with H = MD5.
        assert_eq!(a.response, "53449bbd385b3327c0f9d7e20887086d");
        let b = answer_with_cnonce(&ch, "INVITE", "sip:b@x", b"v=1\r\n", "u", "p", 7, "c").unwrap();
        assert_ne!(a.response, b.response);
    }

    #[test]
    fn userhash_sends_the_hashed_name() {
        let mut ch = rfc7616_challenge("SHA-256");
        ch.userhash = true;
        let c = answer_with_cnonce(&ch, "GET", "/", b"", "Mufasa", "pw", 1, "c").unwrap();
        assert!(c.userhash);
        assert_eq!(
            c.username,
            user_hash(Algorithm::Sha256, "Mufasa", "http-auth@example.org")
        );
        assert_eq!(c.username.len(), 64);
    }

    #[test]
    fn generated_cnonce_is_seeded_hex() {
        let ch = rfc7616_challenge("MD5");
        let mut g1 = IdGenerator::new(5);
        let mut g2 = IdGenerator::new(5);
        let a = answer(&ch, "GET", "/", b"", "u", "p", 1, &mut g1).unwrap();
        let b = answer(&ch, "GET", "/", b"", "u", "p", 1, &mut g2).unwrap();
        assert_eq!(a, b);
        let cn = a.cnonce.unwrap();
        assert_eq!(cn.len(), 32);
        assert!(cn.bytes().all(|b| b.is_ascii_hexdigit()));
        let c = answer(&ch, "GET", "/", b"", "u", "p", 1, &mut g1).unwrap();
        assert_ne!(c.cnonce.as_deref(), Some(cn.as_str()));
    }

    #[test]
    fn unanswerable_challenges_are_errors() {
        let basic = Challenge::parse("Basic realm=\"r\"").unwrap();
        let e = |ch: &Challenge| answer_with_cnonce(ch, "GET", "/", b"", "u", "p", 1, "c");
        assert_eq!(e(&basic), Err(AuthError::NotDigest("Basic".into())));
        let mut ch = Challenge::digest("r", "n");
        ch.algorithm = Some("SHA3-256".into());
        assert_eq!(
            e(&ch),
            Err(AuthError::UnsupportedAlgorithm("SHA3-256".into()))
        );
        ch.algorithm = Some("MD5-sess".into());
        assert_eq!(e(&ch), Err(AuthError::SessionWithoutQop));
        ch.qop = vec![Qop::Other("auth-conf".into())];
        assert_eq!(e(&ch), Err(AuthError::UnsupportedQop));
    }
}
