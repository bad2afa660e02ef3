//! Credentials: the `Authorization` and `Proxy-Authorization` header values (RFC 3261
//! §22.2–§22.3 and §25.1 `digest-response`, RFC 7616 §3.4).

use super::AuthError;
use super::challenge::ChallengeKind;
use super::digest::{Algorithm, Qop};
use super::params::{
    RawAuth, parse_auth_list, push_param_auto, push_param_quoted, push_param_token,
};
use crate::message::Message;

/// One Digest credentials (RFC 7616 §3.4, RFC 3261 §25.1 `digest-response`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The scheme as written (always Digest once parsed).
    pub scheme: String,
    /// `username`: the user name, or H(username:realm) when [`userhash`](Self::userhash).
    pub username: String,
    /// `realm`, copied from the challenge.
    pub realm: String,
    /// `nonce`, copied from the challenge.
    pub nonce: String,
    /// `uri` (`digest-uri`): the Request-URI the response was computed over.
    pub uri: String,
    /// `response`: the hex digest proving knowledge of the password.
    pub response: String,
    /// `algorithm` as written; `None` means MD5.
    pub algorithm: Option<String>,
    /// `cnonce`, present with a qop.
    pub cnonce: Option<String>,
    /// `opaque`, echoed from the challenge.
    pub opaque: Option<String>,
    /// `qop`: the one quality of protection chosen.
    pub qop: Option<Qop>,
    /// `nc`: how many requests this client has sent with this nonce (written as 8 hex
    /// digits, RFC 3261 §25.1 `nc-value`).
    pub nc: Option<u32>,
    /// `userhash=true`: `username` is hashed (RFC 7616 §3.4.4).
    pub userhash: bool,
    /// Every other parameter (`username*`, `auts`, extensions), in order, value unquoted.
    pub params: Vec<(String, String)>,
}

/// `nc-value = 8LHEX`; one to eight hex digits are read (case-insensitively).
fn parse_nc(v: &str) -> Result<u32, AuthError> {
    let v = v.trim();
    if v.is_empty() || v.len() > 8 || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AuthError::InvalidValue("nc"));
    }
    u32::from_str_radix(v, 16).map_err(|_| AuthError::InvalidValue("nc"))
}

impl Credentials {
    /// The algorithm the response was computed with: MD5 when none is named, `None` when
    /// the named one is not implemented.
    pub fn algorithm(&self) -> Option<Algorithm> {
        match &self.algorithm {
            None => Some(Algorithm::Md5),
            Some(a) => Algorithm::parse(a),
        }
    }

    /// Parses a header value holding exactly one Digest credentials (RFC 3261 §25.1:
    /// `Authorization = "Authorization" HCOLON credentials`).
    ///
    /// Required: `username`, `realm`, `nonce`, `uri`, `response`, and with `qop` also
    /// `cnonce` and `nc` (RFC 7616 §3.4). A non-Digest scheme gives
    /// [`AuthError::NotDigest`].
    pub fn parse(value: &str) -> Result<Self, AuthError> {
        let mut all = parse_auth_list(value)?;
        if all.len() != 1 {
            return Err(AuthError::NotOneCredentials(all.len()));
        }
        match all.pop() {
            Some(raw) => Self::from_raw(raw),
            None => Err(AuthError::Empty),
        }
    }

    fn from_raw(raw: RawAuth) -> Result<Self, AuthError> {
        if !raw.scheme.eq_ignore_ascii_case("Digest") {
            return Err(AuthError::NotDigest(raw.scheme));
        }
        let mut username = None;
        let mut realm = None;
        let mut nonce = None;
        let mut uri = None;
        let mut response = None;
        let mut c = Self {
            scheme: raw.scheme,
            username: String::new(),
            realm: String::new(),
            nonce: String::new(),
            uri: String::new(),
            response: String::new(),
            algorithm: None,
            cnonce: None,
            opaque: None,
            qop: None,
            nc: None,
            userhash: false,
            params: Vec::new(),
        };
        for (name, value) in raw.params {
            match name.to_ascii_lowercase().as_str() {
                "username" => username = Some(value),
                "realm" => realm = Some(value),
                "nonce" => nonce = Some(value),
                "uri" => uri = Some(value),
                "response" => response = Some(value),
                "algorithm" => c.algorithm = Some(value.trim().to_owned()),
                "cnonce" => c.cnonce = Some(value),
                "opaque" => c.opaque = Some(value),
                "qop" => {
                    let q = value.trim();
                    if !crate::message::scan::is_token_str(q) {
                        return Err(AuthError::InvalidValue("qop"));
                    }
                    c.qop = Some(Qop::parse(q));
                }
                "nc" => c.nc = Some(parse_nc(&value)?),
                "userhash" => c.userhash = value.trim().eq_ignore_ascii_case("true"),
                _ => c.params.push((name, value)),
            }
        }
        c.username = username.ok_or(AuthError::MissingParam("username"))?;
        c.realm = realm.ok_or(AuthError::MissingParam("realm"))?;
        c.nonce = nonce.ok_or(AuthError::MissingParam("nonce"))?;
        c.uri = uri.ok_or(AuthError::MissingParam("uri"))?;
        c.response = response.ok_or(AuthError::MissingParam("response"))?;
        if c.qop.is_some() {
            if c.cnonce.is_none() {
                return Err(AuthError::MissingParam("cnonce"));
            }
            if c.nc.is_none() {
                return Err(AuthError::MissingParam("nc"));
            }
        }
        Ok(c)
    }

    /// The header value (RFC 3261 §25.1 `digest-response`, RFC 8760 §2.6): strings quoted
    /// (`username`, `realm`, `nonce`, `uri`, `response`, `cnonce`, `opaque`), `algorithm`
    /// and `qop` bare, `nc` as 8 lower-case hex digits.
    pub fn to_header_value(&self) -> String {
        let mut out = self.scheme.clone();
        let mut first = true;
        push_param_quoted(&mut out, &mut first, "username", &self.username);
        push_param_quoted(&mut out, &mut first, "realm", &self.realm);
        push_param_quoted(&mut out, &mut first, "nonce", &self.nonce);
        push_param_quoted(&mut out, &mut first, "uri", &self.uri);
        push_param_quoted(&mut out, &mut first, "response", &self.response);
        if let Some(a) = &self.algorithm {
            push_param_auto(&mut out, &mut first, "algorithm", a);
        }
        if let Some(c) = &self.cnonce {
            push_param_quoted(&mut out, &mut first, "cnonce", c);
        }
        if let Some(o) = &self.opaque {
            push_param_quoted(&mut out, &mut first, "opaque", o);
        }
        if let Some(q) = &self.qop {
            push_param_auto(&mut out, &mut first, "qop", q.as_str());
        }
        if let Some(nc) = self.nc {
            push_param_token(&mut out, &mut first, "nc", &format!("{nc:08x}"));
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

/// The Digest credentials a request carries for `realm` in the `kind` header
/// (`Authorization` for [`ChallengeKind::Www`], `Proxy-Authorization` for
/// [`ChallengeKind::Proxy`]), RFC 3261 §22.3 and §22.4: a request may carry one per realm.
///
/// `None` when no row is for that realm (answer with a challenge); `Some(Err)` when a row
/// is malformed (answer 400, see [`AuthError::status`]). Rows of other schemes are skipped.
pub fn credentials_in(
    msg: &Message,
    kind: ChallengeKind,
    realm: &str,
) -> Option<Result<Credentials, AuthError>> {
    for row in msg.headers().get_all(kind.credentials_header()) {
        match Credentials::parse(row) {
            Ok(c) if c.realm == realm => return Some(Ok(c)),
            Ok(_) | Err(AuthError::NotDigest(_)) => {}
            Err(e) => return Some(Err(e)),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC2617: &str = r#"Digest username="Mufasa",
                 realm="testrealm@host.com",
                 nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
                 uri="/dir/index.html",
                 qop=auth,
                 nc=00000001,
                 cnonce="0a4f113b",
                 response="6629fae49393a05397450978507c4ef1",
                 opaque="5ccc069c403ebaf9f0171e9517f40e41""#;

    #[test]
    fn parses_the_rfc_2617_example() {
        let c = Credentials::parse(RFC2617).unwrap();
        assert_eq!(c.username, "Mufasa");
        assert_eq!(c.realm, "testrealm@host.com");
        assert_eq!(c.nonce, "dcd98b7102dd2f0e8b11d0f600bfb0c093");
        assert_eq!(c.uri, "/dir/index.html");
        assert_eq!(c.qop, Some(Qop::Auth));
        assert_eq!(c.nc, Some(1));
        assert_eq!(c.cnonce.as_deref(), Some("0a4f113b"));
        assert_eq!(c.response, "6629fae49393a05397450978507c4ef1");
        assert_eq!(
            c.opaque.as_deref(),
            Some("5ccc069c403ebaf9f0171e9517f40e41")
        );
        assert_eq!(c.algorithm(), Some(Algorithm::Md5));
        assert!(!c.userhash && c.params.is_empty());
        assert_eq!(
            c.to_header_value(),
            "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", \
             nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", \
             response=\"6629fae49393a05397450978507c4ef1\", cnonce=\"0a4f113b\", \
             opaque=\"5ccc069c403ebaf9f0171e9517f40e41\", qop=auth, nc=00000001"
        );
        assert_eq!(Credentials::parse(&c.to_header_value()), Ok(c));
    }

    #[test]
    fn sip_style_credentials_with_quoted_qop_and_extension() {
        let c = Credentials::parse(
            "DIGEST USERNAME=\"bob\",REALM=\"biloxi.com\",NONCE=\"n\",URI=\"sip:bob@biloxi.com\",\
             RESPONSE=\"abc\",ALGORITHM=SHA-512-256,CNONCE=\"c\",QOP=\"auth-int\",NC=0000000A,\
             userhash=TRUE,username*=UTF-8''J%C3%A4s",
        )
        .unwrap();
        assert_eq!(c.algorithm(), Some(Algorithm::Sha512_256));
        assert_eq!(c.qop, Some(Qop::AuthInt));
        assert_eq!(c.nc, Some(10));
        assert!(c.userhash);
        assert_eq!(
            c.params,
            [("username*".to_owned(), "UTF-8''J%C3%A4s".to_owned())]
        );
    }

    #[test]
    fn missing_and_invalid_parameters() {
        let base = r#"Digest username="u", realm="r", nonce="n", uri="sip:x", response="0""#;
        assert!(Credentials::parse(base).is_ok());
        for (drop, name) in [
            ("username=\"u\", ", "username"),
            ("realm=\"r\", ", "realm"),
            ("nonce=\"n\", ", "nonce"),
            ("uri=\"sip:x\", ", "uri"),
            (", response=\"0\"", "response"),
        ] {
            assert_eq!(
                Credentials::parse(&base.replace(drop, "")),
                Err(AuthError::MissingParam(name)),
                "{drop}"
            );
        }
        assert_eq!(
            Credentials::parse(&format!("{base}, qop=auth, nc=1")),
            Err(AuthError::MissingParam("cnonce"))
        );
        assert_eq!(
            Credentials::parse(&format!("{base}, qop=auth, cnonce=\"c\"")),
            Err(AuthError::MissingParam("nc"))
        );
        for bad in ["nc=123456789", "nc=xyz", "nc=\"\""] {
            assert_eq!(
                Credentials::parse(&format!("{base}, {bad}")),
                Err(AuthError::InvalidValue("nc")),
                "{bad}"
            );
        }
        assert_eq!(
            Credentials::parse(&format!("{base}, qop=\"auth,auth-int\"")),
            Err(AuthError::InvalidValue("qop"))
        );
        assert_eq!(
            Credentials::parse("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
            Err(AuthError::NotDigest("Basic".into()))
        );
        assert_eq!(
            Credentials::parse(&format!("{base}, Digest realm=x")),
            Err(AuthError::NotOneCredentials(2))
        );
        assert_eq!(Credentials::parse(" "), Err(AuthError::Empty));
    }

    #[test]
    fn credentials_in_finds_the_row_for_the_realm() {
        let raw = "REGISTER sip:x SIP/2.0\r\n\
            Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n\
            From: <sip:a@x>;tag=1\r\nTo: <sip:a@x>\r\nCall-ID: c\r\nCSeq: 2 REGISTER\r\n\
            Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\
            Authorization: Digest username=\"a\", realm=\"other\", nonce=\"n\", uri=\"sip:x\", response=\"1\"\r\n\
            Authorization: Digest username=\"a\", realm=\"x\", nonce=\"n\", uri=\"sip:x\", response=\"2\"\r\n\
            Proxy-Authorization: Digest username=\"a\", realm=\"p\"\r\n\
            Content-Length: 0\r\n\r\n";
        let msg = crate::message::parse(
            bytes::Bytes::copy_from_slice(raw.as_bytes()),
            &crate::message::ParseOptions::default(),
        )
        .unwrap();
        let m = msg.message();
        let c = credentials_in(m, ChallengeKind::Www, "x").unwrap().unwrap();
        assert_eq!(c.response, "2");
        assert_eq!(credentials_in(m, ChallengeKind::Www, "nope"), None);
        assert_eq!(
            credentials_in(m, ChallengeKind::Proxy, "p"),
            Some(Err(AuthError::MissingParam("nonce")))
        );
    }
}
