//! Challenges: the `WWW-Authenticate` and `Proxy-Authenticate` header values (RFC 3261
//! §22.2–§22.3 and §25.1, RFC 7616 §3.3, RFC 8760 §2.4).

use super::AuthError;
use super::digest::{Algorithm, Qop};
use super::params::{
    RawAuth, parse_auth_list, push_param_auto, push_param_quoted, push_param_token,
};
use crate::message::{HeaderName, Message};

/// Which pair of headers a challenge travels in (RFC 3261 §22.2 and §22.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChallengeKind {
    /// A UAS or registrar: `WWW-Authenticate` in a 401, answered with `Authorization`.
    Www,
    /// A proxy: `Proxy-Authenticate` in a 407, answered with `Proxy-Authorization`.
    Proxy,
}

impl ChallengeKind {
    /// The header carrying the challenge.
    pub fn challenge_header(self) -> HeaderName {
        match self {
            Self::Www => HeaderName::WwwAuthenticate,
            Self::Proxy => HeaderName::ProxyAuthenticate,
        }
    }

    /// The header carrying the answer.
    pub fn credentials_header(self) -> HeaderName {
        match self {
            Self::Www => HeaderName::Authorization,
            Self::Proxy => HeaderName::ProxyAuthorization,
        }
    }

    /// The response status that carries this kind of challenge: 401 or 407.
    pub fn status(self) -> u16 {
        match self {
            Self::Www => 401,
            Self::Proxy => 407,
        }
    }
}

/// One challenge (RFC 7235 §2.1; for Digest RFC 7616 §3.3 and RFC 3261 §25.1
/// `digest-cln`).
///
/// A `Digest` challenge always has a realm and a nonce (parsing fails without them). Other
/// schemes (`Basic`, `Bearer`, ...) are kept so that nothing is lost, with whatever they
/// carry in [`realm`](Self::realm), [`token68`](Self::token68) and
/// [`params`](Self::params); this layer never answers them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme as written (compare with [`is_digest`](Self::is_digest)).
    pub scheme: String,
    /// `realm`: the protection space, shown to users and used in H(A1).
    pub realm: String,
    /// `nonce`: the server's one-time value (empty for non-Digest schemes).
    pub nonce: String,
    /// `opaque`, echoed back unchanged in the credentials.
    pub opaque: Option<String>,
    /// `stale=true`: the previous credentials were right but their nonce was not, so the
    /// client retries with the new nonce without asking the user again.
    pub stale: bool,
    /// The `algorithm` value as written; `None` means MD5 (RFC 3261 §22.4). See
    /// [`algorithm`](Self::algorithm) for the typed value.
    pub algorithm: Option<String>,
    /// The offered `qop` values (`qop="auth,auth-int"`); empty when the challenge has no
    /// `qop` (the RFC 2069 compatibility form).
    pub qop: Vec<Qop>,
    /// `domain`: the space-separated URIs of the protection space.
    pub domain: Vec<String>,
    /// `userhash=true`: the client sends H(username:realm) instead of the user name
    /// (RFC 7616 §3.4.4).
    pub userhash: bool,
    /// `charset` (only `UTF-8` is defined, RFC 7616 §3.3).
    pub charset: Option<String>,
    /// The token68 form of non-Digest schemes.
    pub token68: Option<String>,
    /// Every other parameter, in order, value unquoted.
    pub params: Vec<(String, String)>,
}

fn is_true(v: &str) -> bool {
    v.trim().eq_ignore_ascii_case("true")
}

impl Challenge {
    /// A Digest challenge with only realm and nonce set; adjust the other fields as needed.
    pub fn digest(realm: &str, nonce: &str) -> Self {
        Self {
            scheme: "Digest".to_owned(),
            realm: realm.to_owned(),
            nonce: nonce.to_owned(),
            opaque: None,
            stale: false,
            algorithm: None,
            qop: Vec::new(),
            domain: Vec::new(),
            userhash: false,
            charset: None,
            token68: None,
            params: Vec::new(),
        }
    }

    /// Whether the scheme is `Digest` (case-insensitive, RFC 7235 §2.1).
    pub fn is_digest(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("Digest")
    }

    /// The algorithm to use: MD5 when the challenge names none (RFC 3261 §22.4), `None`
    /// when it names one this layer does not implement.
    pub fn algorithm(&self) -> Option<Algorithm> {
        match &self.algorithm {
            None => Some(Algorithm::Md5),
            Some(a) => Algorithm::parse(a),
        }
    }

    /// The qop the client answers with: `auth` when offered (the one every server takes),
    /// else `auth-int`; `None` when the challenge has no qop. `Err` when only unknown
    /// values are offered.
    pub fn chosen_qop(&self) -> Result<Option<Qop>, AuthError> {
        if self.qop.is_empty() {
            return Ok(None);
        }
        [Qop::Auth, Qop::AuthInt]
            .into_iter()
            .find(|q| self.qop.contains(q))
            .map(Some)
            .ok_or(AuthError::UnsupportedQop)
    }

    /// Whether [`answer`](super::answer) can answer this challenge: Digest, a known
    /// algorithm, a known qop (or none), and no `-sess` without qop.
    pub fn is_supported(&self) -> bool {
        let Some(alg) = self.algorithm() else {
            return false;
        };
        match self.chosen_qop() {
            Ok(None) => self.is_digest() && !alg.is_session(),
            Ok(Some(_)) => self.is_digest(),
            Err(_) => false,
        }
    }

    /// Every challenge in one header value: a value may hold several, separated by commas
    /// (RFC 7235 §4.1). Parameter names are case-insensitive; values may be quoted or not.
    pub fn parse_all(value: &str) -> Result<Vec<Self>, AuthError> {
        parse_auth_list(value)?
            .into_iter()
            .map(Self::from_raw)
            .collect()
    }

    /// Exactly one challenge (the first, when the value holds several).
    pub fn parse(value: &str) -> Result<Self, AuthError> {
        Self::parse_all(value)?
            .into_iter()
            .next()
            .ok_or(AuthError::Empty)
    }

    fn from_raw(raw: RawAuth) -> Result<Self, AuthError> {
        let mut c = Self::digest("", "");
        c.scheme = raw.scheme;
        c.token68 = raw.token68;
        let mut has_realm = false;
        let mut has_nonce = false;
        for (name, value) in raw.params {
            let n = name.to_ascii_lowercase();
            match n.as_str() {
                "realm" => {
                    c.realm = value;
                    has_realm = true;
                }
                "nonce" => {
                    c.nonce = value;
                    has_nonce = true;
                }
                "opaque" => c.opaque = Some(value),
                "stale" => c.stale = is_true(&value),
                "algorithm" => c.algorithm = Some(value.trim().to_owned()),
                "qop" => {
                    c.qop = value
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(Qop::parse)
                        .collect();
                }
                "domain" => c.domain = value.split_whitespace().map(str::to_owned).collect(),
                "userhash" => c.userhash = is_true(&value),
                "charset" => c.charset = Some(value),
                _ => c.params.push((name, value)),
            }
        }
        if c.is_digest() {
            if !has_realm {
                return Err(AuthError::MissingParam("realm"));
            }
            if !has_nonce {
                return Err(AuthError::MissingParam("nonce"));
            }
        }
        Ok(c)
    }

    /// The header value (RFC 3261 §25.1 `challenge`, RFC 8760 §2.6): string parameters
    /// quoted, `algorithm` and `stale` bare, `qop` as a quoted comma-separated list. Fields
    /// left at their defaults (no algorithm, `stale=false`, ...) are not written.
    pub fn to_header_value(&self) -> String {
        let mut out = self.scheme.clone();
        let mut first = true;
        if let Some(t) = &self.token68 {
            out.push(' ');
            out.push_str(t);
            return out;
        }
        let digest = self.is_digest();
        if digest || !self.realm.is_empty() {
            push_param_quoted(&mut out, &mut first, "realm", &self.realm);
        }
        if !self.domain.is_empty() {
            push_param_quoted(&mut out, &mut first, "domain", &self.domain.join(" "));
        }
        if digest || !self.nonce.is_empty() {
            push_param_quoted(&mut out, &mut first, "nonce", &self.nonce);
        }
        if let Some(o) = &self.opaque {
            push_param_quoted(&mut out, &mut first, "opaque", o);
        }
        if self.stale {
            push_param_token(&mut out, &mut first, "stale", "true");
        }
        if let Some(a) = &self.algorithm {
            push_param_auto(&mut out, &mut first, "algorithm", a);
        }
        if !self.qop.is_empty() {
            let list: Vec<&str> = self.qop.iter().map(Qop::as_str).collect();
            push_param_quoted(&mut out, &mut first, "qop", &list.join(","));
        }
        if let Some(cs) = &self.charset {
            push_param_auto(&mut out, &mut first, "charset", cs);
        }
        if self.userhash {
            push_param_token(&mut out, &mut first, "userhash", "true");
        }
        for (n, v) in &self.params {
            if crate::message::scan::is_token_str(n) {
                push_param_auto(&mut out, &mut first, n, v);
            }
        }
        out
    }
}

/// Every challenge of a 401 / 407 response, with the kind of header each came in, in
/// header order (RFC 3261 §22.2–§22.3; a proxy that forks may merge 401s and 407s into one
/// response, §16.7, so both kinds can be present).
///
/// Rows that do not parse are skipped (logged at debug level): a client answers the
/// challenges it understands. Use [`Challenge::parse_all`] on each row to see the errors.
pub fn challenges_in(msg: &Message) -> Vec<(ChallengeKind, Challenge)> {
    let mut out = Vec::new();
    for kind in [ChallengeKind::Www, ChallengeKind::Proxy] {
        for row in msg.headers().get_all(kind.challenge_header()) {
            match Challenge::parse_all(row) {
                Ok(cs) => out.extend(cs.into_iter().map(|c| (kind, c))),
                Err(e) => tracing::debug!(error = %e, "skipping a malformed challenge"),
            }
        }
    }
    out
}

/// The challenge to answer among several: the supported Digest challenge with the
/// strongest hash (SHA-512-256 > SHA-256 > MD5, `-sess` variants ranking with their hash),
/// the topmost one among equals.
///
/// RFC 8760 §2.4 has the client take the topmost supported challenge "unless a local policy
/// dictates otherwise"; preferring the strongest hash is that local policy, and it only
/// differs from the RFC rule when a server lists a weaker algorithm first. Challenges for
/// different realms should each be answered: see [`strongest_per_realm`].
pub fn pick_strongest<'a, I>(challenges: I) -> Option<&'a Challenge>
where
    I: IntoIterator<Item = &'a Challenge>,
{
    let mut best: Option<(u8, &'a Challenge)> = None;
    for c in challenges {
        if !c.is_supported() {
            continue;
        }
        let Some(alg) = c.algorithm() else { continue };
        let s = alg.strength();
        if best.is_none_or(|(bs, _)| s > bs) {
            best = Some((s, c));
        }
    }
    best.map(|(_, c)| c)
}

/// [`pick_strongest`] for each realm, in order of each realm's first appearance: a request
/// that crossed a proxy and reached a registrar may need one answer per realm (RFC 3261
/// §22.3).
pub fn strongest_per_realm<'a, I>(challenges: I) -> Vec<&'a Challenge>
where
    I: IntoIterator<Item = &'a Challenge>,
{
    let all: Vec<&'a Challenge> = challenges.into_iter().collect();
    let mut realms: Vec<&str> = Vec::new();
    for c in &all {
        if c.is_supported() && !realms.contains(&c.realm.as_str()) {
            realms.push(&c.realm);
        }
    }
    realms
        .into_iter()
        .filter_map(|r| pick_strongest(all.iter().copied().filter(|c| c.realm == r)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kamailio_style_challenge() {
        let c = Challenge::parse(
            r#"Digest realm="sip.example.org", nonce="Zk8aQmZPGRZxL6/5O3b9r1S1hEQ0dX3T", qop="auth""#,
        )
        .unwrap();
        assert!(c.is_digest());
        assert_eq!(c.realm, "sip.example.org");
        assert_eq!(c.nonce, "Zk8aQmZPGRZxL6/5O3b9r1S1hEQ0dX3T");
        assert_eq!(c.qop, [Qop::Auth]);
        assert_eq!(c.algorithm(), Some(Algorithm::Md5));
        assert!(!c.stale);
        assert!(c.is_supported());
    }

    #[test]
    fn asterisk_style_challenge_with_bare_algorithm_and_empty_opaque() {
        let c = Challenge::parse(
            r#"Digest algorithm=MD5, realm="asterisk", nonce="1a2b3c4d", opaque="", qop="auth,auth-int", stale=FALSE"#,
        )
        .unwrap();
        assert_eq!(c.algorithm.as_deref(), Some("MD5"));
        assert_eq!(c.realm, "asterisk");
        assert_eq!(c.opaque.as_deref(), Some(""));
        assert_eq!(c.qop, [Qop::Auth, Qop::AuthInt]);
        assert_eq!(c.chosen_qop(), Ok(Some(Qop::Auth)));
        assert!(!c.stale);
    }

    #[test]
    fn unquoted_values_odd_case_and_unknown_params() {
        let c = Challenge::parse(
            "digest REALM=biloxi.com,Nonce=abc/def==,QOP=auth-int,Stale=TRUE,ALGORITHM=\"sha-256\",\
             userhash=true,charset=UTF-8,domain=\"sip:a.example sip:b.example\",x-vendor=\"v 1\"",
        )
        .unwrap();
        assert!(c.is_digest());
        assert_eq!(c.realm, "biloxi.com");
        assert_eq!(c.nonce, "abc/def==");
        assert_eq!(c.qop, [Qop::AuthInt]);
        assert!(c.stale && c.userhash);
        assert_eq!(c.algorithm(), Some(Algorithm::Sha256));
        assert_eq!(c.charset.as_deref(), Some("UTF-8"));
        assert_eq!(c.domain, ["sip:a.example", "sip:b.example"]);
        assert_eq!(c.params, [("x-vendor".to_owned(), "v 1".to_owned())]);
    }

    #[test]
    fn several_challenges_in_one_value() {
        let v = Challenge::parse_all(
            r#"Digest realm="r", nonce="n1", algorithm=SHA-256, qop="auth", Digest realm="r", nonce="n2", algorithm=MD5, qop="auth", Basic realm="r""#,
        )
        .unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].algorithm(), Some(Algorithm::Sha256));
        assert_eq!(v[0].nonce, "n1");
        assert_eq!(v[1].algorithm(), Some(Algorithm::Md5));
        assert_eq!(v[2].scheme, "Basic");
        assert_eq!(v[2].realm, "r");
        assert!(!v[2].is_supported());
        assert_eq!(pick_strongest(&v).map(|c| c.nonce.as_str()), Some("n1"));
    }

    #[test]
    fn several_rows_of_a_response() {
        let raw = "SIP/2.0 401 Unauthorized\r\n\
            Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n\
            From: <sip:a@x>;tag=1\r\nTo: <sip:a@x>;tag=2\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\n\
            WWW-Authenticate: Digest realm=\"x\", nonce=\"m\", algorithm=MD5, qop=\"auth\"\r\n\
            WWW-Authenticate: Digest realm=\"x\", nonce=\"s\", algorithm=SHA-256, qop=\"auth\"\r\n\
            WWW-Authenticate: Digest nonce=\"no-realm\"\r\n\
            Proxy-Authenticate: Digest realm=\"p\", nonce=\"q\"\r\n\
            Content-Length: 0\r\n\r\n";
        let msg = crate::message::parse(
            bytes::Bytes::copy_from_slice(raw.as_bytes()),
            &crate::message::ParseOptions::default(),
        )
        .unwrap();
        let cs = challenges_in(msg.message());
        let got: Vec<(ChallengeKind, &str)> =
            cs.iter().map(|(k, c)| (*k, c.nonce.as_str())).collect();
        assert_eq!(
            got,
            [
                (ChallengeKind::Www, "m"),
                (ChallengeKind::Www, "s"),
                (ChallengeKind::Proxy, "q")
            ]
        );
        let www: Vec<&Challenge> = cs.iter().map(|(_, c)| c).collect();
        assert_eq!(
            pick_strongest(www.iter().copied()).map(|c| c.nonce.as_str()),
            Some("s")
        );
        let per: Vec<&str> = strongest_per_realm(www.iter().copied())
            .iter()
            .map(|c| c.nonce.as_str())
            .collect();
        assert_eq!(per, ["s", "q"]);
        assert_eq!(
            ChallengeKind::Proxy.credentials_header(),
            HeaderName::ProxyAuthorization
        );
        assert_eq!(ChallengeKind::Www.status(), 401);
    }

    #[test]
    fn pick_strongest_ranks_hashes_and_skips_unsupported() {
        let mk = |alg: Option<&str>, qop: &[Qop], nonce: &str| {
            let mut c = Challenge::digest("r", nonce);
            c.algorithm = alg.map(str::to_owned);
            c.qop = qop.to_vec();
            c
        };
        let auth = [Qop::Auth];
        let v = [
            mk(None, &auth, "md5"),
            mk(Some("SHA-256-sess"), &auth, "s256sess"),
            mk(Some("SHA-256"), &auth, "s256"),
            mk(Some("SHA3-512"), &auth, "unknown-alg"),
            mk(Some("SHA-512-256-sess"), &[], "sess-without-qop"),
            mk(
                Some("SHA-512-256"),
                &[Qop::Other("x".into())],
                "unknown-qop",
            ),
        ];
        assert_eq!(
            pick_strongest(&v).map(|c| c.nonce.as_str()),
            Some("s256sess")
        );
        let v2 = [v[0].clone(), mk(Some("sha-512-256"), &auth, "s512")];
        assert_eq!(pick_strongest(&v2).map(|c| c.nonce.as_str()), Some("s512"));
        assert_eq!(pick_strongest(&v[3..]), None);
        assert_eq!(pick_strongest(&[]), None);
    }

    #[test]
    fn digest_without_realm_or_nonce_is_an_error() {
        assert_eq!(
            Challenge::parse("Digest nonce=\"n\""),
            Err(AuthError::MissingParam("realm"))
        );
        assert_eq!(
            Challenge::parse("Digest realm=\"r\""),
            Err(AuthError::MissingParam("nonce"))
        );
        assert_eq!(
            Challenge::parse("Digest"),
            Err(AuthError::MissingParam("realm"))
        );
        assert_eq!(Challenge::parse(""), Err(AuthError::Empty));
        assert_eq!(AuthError::MissingParam("realm").status(), 400);
    }

    #[test]
    fn to_header_value_writes_rfc_3261_form_and_parses_back() {
        let mut c = Challenge::digest("atlanta.com", "ea9c8e88df84f1cec4341ae6cbe5a359");
        c.algorithm = Some("SHA-256".into());
        c.qop = vec![Qop::Auth, Qop::AuthInt];
        c.opaque = Some("o\"q".into());
        c.stale = true;
        c.domain = vec!["sip:ss1.carrier.com".into()];
        c.params = vec![("x".into(), "1 2".into())];
        let v = c.to_header_value();
        assert_eq!(
            v,
            r#"Digest realm="atlanta.com", domain="sip:ss1.carrier.com", nonce="ea9c8e88df84f1cec4341ae6cbe5a359", opaque="o\"q", stale=true, algorithm=SHA-256, qop="auth,auth-int", x="1 2""#
        );
        assert_eq!(Challenge::parse(&v), Ok(c));
        let b = Challenge::parse("Negotiate abc==").unwrap();
        assert_eq!(b.to_header_value(), "Negotiate abc==");
    }
}
