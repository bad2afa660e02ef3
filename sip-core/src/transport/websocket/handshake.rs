//! The opening handshake: an HTTP/1.1 Upgrade request answered `101 Switching Protocols`
//! (RFC 6455 §4), with the `sip` subprotocol both sides must name (RFC 7118 §4).
//!
//! Both sides are pure functions of the bytes read so far: they say "not yet" until the
//! head is complete, refuse it with a typed reason (and, on the server, the HTTP answer to
//! send before closing), or accept it and say how many bytes the head took, since frames
//! may follow it in the same read.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha1::{Digest, Sha1};

/// The subprotocol of SIP over WebSocket (RFC 7118 §4; IANA WebSocket Subprotocol Name
/// Registry).
pub const SUBPROTOCOL: &str = "sip";

/// The GUID RFC 6455 §1.3 appends to the client's key before hashing it.
const ACCEPT_GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Most header fields a handshake head may carry.
const MAX_HEADERS: usize = 32;

/// Why a handshake was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The head grew past the limit without ending.
    #[error("handshake head longer than {0} bytes")]
    TooLarge(usize),
    /// Not HTTP/1.1 as RFC 9112 writes it.
    #[error("malformed HTTP head: {0}")]
    Malformed(&'static str),
    /// The request is not a GET (RFC 6455 §4.1).
    #[error("the opening handshake must be a GET")]
    NotGet,
    /// No `Upgrade: websocket`, or no `upgrade` token in `Connection` (RFC 6455 §4.2.1).
    #[error("not a WebSocket upgrade: {0}")]
    NotUpgrade(&'static str),
    /// `Sec-WebSocket-Version` is not 13 (RFC 6455 §4.2.2: answered 426 with the version
    /// supported).
    #[error("unsupported Sec-WebSocket-Version")]
    Version,
    /// `Sec-WebSocket-Key` is missing or not 16 bytes in base64 (RFC 6455 §4.1).
    #[error("missing or malformed Sec-WebSocket-Key")]
    Key,
    /// The `sip` subprotocol was not offered (client side: not selected) (RFC 7118 §4).
    #[error("the sip subprotocol was not negotiated")]
    NoSipSubprotocol,
    /// Client side: the answer is not `101 Switching Protocols`.
    #[error("the server answered {0} instead of 101")]
    Status(u16),
    /// Client side: `Sec-WebSocket-Accept` does not match the key sent (RFC 6455 §4.1).
    #[error("Sec-WebSocket-Accept does not match the key sent")]
    Accept,
}

impl HandshakeError {
    /// The HTTP status a server answers this refusal with (RFC 6455 §4.2.2).
    pub fn status(&self) -> u16 {
        match self {
            HandshakeError::TooLarge(_) => 431,
            HandshakeError::NotGet => 405,
            HandshakeError::Version => 426,
            _ => 400,
        }
    }

    /// The whole HTTP answer a server sends before closing the connection: the status,
    /// the version it supports when that was the fault, and the reason as text.
    pub fn response(&self) -> Vec<u8> {
        let status = self.status();
        let phrase = match status {
            405 => "Method Not Allowed",
            426 => "Upgrade Required",
            431 => "Request Header Fields Too Large",
            _ => "Bad Request",
        };
        let body = self.to_string();
        let extra = match self {
            HandshakeError::Version => "Sec-WebSocket-Version: 13\r\n",
            HandshakeError::NotGet => "Allow: GET\r\n",
            _ => "",
        };
        format!(
            "HTTP/1.1 {status} {phrase}\r\n{extra}Connection: close\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }
}

/// The value of `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key` (RFC 6455 §4.2.2
/// step 5.4: base64 of the SHA-1 of the key followed by the protocol's GUID).
pub fn accept_value(key: &str) -> String {
    let mut h = Sha1::new();
    h.update(key.trim().as_bytes());
    h.update(ACCEPT_GUID);
    BASE64.encode(h.finalize())
}

/// A client's upgrade request, accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgrade {
    /// How many bytes of the input the head took (frames may follow at once).
    pub consumed: usize,
    /// The `101 Switching Protocols` answer to send.
    pub response: Vec<u8>,
    /// The request target (e.g. `/`), for servers that route by path.
    pub path: String,
    /// The `Origin` the browser sent, for servers that check it (RFC 6455 §10.2).
    pub origin: Option<String>,
}

/// A server's look at what a connection sent so far: `Ok(None)` until the head is
/// complete (at most `max_head` bytes), then the accepted upgrade or the refusal.
///
/// Refused (RFC 6455 §4.2.1, RFC 7118 §4): not a GET, not HTTP/1.1, no `Upgrade:
/// websocket`, no `upgrade` in `Connection`, a version other than 13, a key that is not 16
/// bytes of base64, and a request that does not offer `sip` in `Sec-WebSocket-Protocol`.
///
/// ```
/// use sip_core::transport::websocket::handshake::{accept, accept_value};
/// let req = b"GET / HTTP/1.1\r\nHost: example.test\r\nUpgrade: websocket\r\n\
///     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///     Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n\r\n";
/// let up = accept(req, 8192).unwrap().unwrap();
/// assert_eq!(up.consumed, req.len());
/// let answer = String::from_utf8(up.response).unwrap();
/// assert!(answer.starts_with("HTTP/1.1 101 "));
/// assert!(answer.contains(&accept_value("dGhlIHNhbXBsZSBub25jZQ==")));
/// assert!(answer.contains("Sec-WebSocket-Protocol: sip\r\n"));
/// ```
pub fn accept(input: &[u8], max_head: usize) -> Result<Option<Upgrade>, HandshakeError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let consumed = match req.parse(input) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if input.len() > max_head => {
            return Err(HandshakeError::TooLarge(max_head));
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(HandshakeError::TooLarge(max_head)),
        Err(e) => return Err(HandshakeError::Malformed(http_fault(e))),
    };
    if consumed > max_head {
        return Err(HandshakeError::TooLarge(max_head));
    }
    if req.version != Some(1) {
        return Err(HandshakeError::Malformed("HTTP/1.1 required"));
    }
    if req.method != Some("GET") {
        return Err(HandshakeError::NotGet);
    }
    let fields = Fields(req.headers);
    if !fields.has_token("upgrade", "websocket") {
        return Err(HandshakeError::NotUpgrade("no Upgrade: websocket"));
    }
    if !fields.has_token("connection", "upgrade") {
        return Err(HandshakeError::NotUpgrade("no upgrade token in Connection"));
    }
    if fields.value("sec-websocket-version").map(str::trim) != Some("13") {
        return Err(HandshakeError::Version);
    }
    let key = fields
        .value("sec-websocket-key")
        .map(str::trim)
        .filter(|k| is_key(k))
        .ok_or(HandshakeError::Key)?;
    if !fields.has_token("sec-websocket-protocol", SUBPROTOCOL) {
        return Err(HandshakeError::NoSipSubprotocol);
    }
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: {SUBPROTOCOL}\r\n\r\n",
        accept_value(key)
    )
    .into_bytes();
    Ok(Some(Upgrade {
        consumed,
        response,
        path: req.path.unwrap_or("/").to_owned(),
        origin: fields.value("origin").map(|o| o.trim().to_owned()),
    }))
}

/// A client's opening handshake: the request to send and what the answer must carry.
#[derive(Debug, Clone)]
pub struct ClientHandshake {
    expected_accept: String,
}

impl ClientHandshake {
    /// The request for `ws://host/path` (or `wss://`), offering the `sip` subprotocol, with
    /// a key made of 16 bytes the caller draws from its random source (RFC 6455 §4.1: a
    /// nonce randomly selected for each connection).
    pub fn new(nonce: [u8; 16], host: &str, path: &str) -> (ClientHandshake, Vec<u8>) {
        let key = BASE64.encode(nonce);
        let path = if path.is_empty() { "/" } else { path };
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Protocol: {SUBPROTOCOL}\r\n\r\n"
        )
        .into_bytes();
        let expected_accept = accept_value(&key);
        (ClientHandshake { expected_accept }, request)
    }

    /// The server's answer so far: `Ok(None)` until its head is complete, then how many
    /// bytes it took (frames may follow), or why it fails the connection (RFC 6455 §4.1:
    /// not 101, no `Upgrade: websocket`/`Connection: upgrade`, a wrong
    /// `Sec-WebSocket-Accept`; RFC 7118 §4: `sip` not selected).
    pub fn finish(&self, input: &[u8], max_head: usize) -> Result<Option<usize>, HandshakeError> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut res = httparse::Response::new(&mut headers);
        let consumed = match res.parse(input) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) if input.len() > max_head => {
                return Err(HandshakeError::TooLarge(max_head));
            }
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) => {
                return Err(HandshakeError::TooLarge(max_head));
            }
            Err(e) => return Err(HandshakeError::Malformed(http_fault(e))),
        };
        if consumed > max_head {
            return Err(HandshakeError::TooLarge(max_head));
        }
        match res.code {
            Some(101) => {}
            Some(c) => return Err(HandshakeError::Status(c)),
            None => return Err(HandshakeError::Malformed("no status code")),
        }
        let fields = Fields(res.headers);
        if !fields.has_token("upgrade", "websocket") {
            return Err(HandshakeError::NotUpgrade("no Upgrade: websocket"));
        }
        if !fields.has_token("connection", "upgrade") {
            return Err(HandshakeError::NotUpgrade("no upgrade token in Connection"));
        }
        if fields.value("sec-websocket-accept").map(str::trim)
            != Some(self.expected_accept.as_str())
        {
            return Err(HandshakeError::Accept);
        }
        // The server selects exactly one of the offered subprotocols (RFC 6455 §4.2.2).
        match fields.value("sec-websocket-protocol").map(str::trim) {
            Some(p) if p.eq_ignore_ascii_case(SUBPROTOCOL) => Ok(Some(consumed)),
            _ => Err(HandshakeError::NoSipSubprotocol),
        }
    }
}

/// Whether a `Sec-WebSocket-Key` is 16 bytes in base64 (RFC 6455 §4.1).
fn is_key(key: &str) -> bool {
    key.len() == 24
        && BASE64
            .decode(key)
            .is_ok_and(|bytes: Vec<u8>| bytes.len() == 16)
}

fn http_fault(e: httparse::Error) -> &'static str {
    match e {
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Status => "invalid status",
        httparse::Error::Token => "invalid token",
        httparse::Error::Version => "invalid HTTP version",
        httparse::Error::TooManyHeaders => "too many header fields",
    }
}

/// A head's header fields, looked up by case-insensitive name.
struct Fields<'h, 'b>(&'h [httparse::Header<'b>]);

impl Fields<'_, '_> {
    /// The value of the first field named `name`, if it is text.
    fn value(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
    }

    /// Whether any field named `name` lists `token` among its comma-separated values
    /// (case-insensitive, RFC 9110 §5.6.1).
    fn has_token(&self, name: &str, token: &str) -> bool {
        self.0
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .filter_map(|h| std::str::from_utf8(h.value).ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(extra: &str, omit: &str) -> Vec<u8> {
        let fields = [
            ("Host", "example.test"),
            ("Upgrade", "websocket"),
            ("Connection", "keep-alive, Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Protocol", "chat, sip"),
        ];
        let mut s = String::from("GET /ws HTTP/1.1\r\n");
        for (n, v) in fields {
            if n != omit {
                s.push_str(&format!("{n}: {v}\r\n"));
            }
        }
        s.push_str(extra);
        s.push_str("\r\n");
        s.into_bytes()
    }

    #[test]
    fn the_accept_value_is_the_rfc_6455_example() {
        // RFC 6455 §1.3's worked example.
        assert_eq!(
            accept_value("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn a_complete_upgrade_offering_sip_is_accepted_and_frames_may_follow() {
        let mut input = request("Origin: https://phone.example\r\n", "");
        let head = input.len();
        input.extend_from_slice(&[0x81, 0x80]);
        let up = accept(&input, 8192).unwrap().unwrap();
        assert_eq!(up.consumed, head);
        assert_eq!(up.path, "/ws");
        assert_eq!(up.origin.as_deref(), Some("https://phone.example"));
        let answer = String::from_utf8(up.response).unwrap();
        assert!(answer.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
        assert!(answer.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        assert!(answer.contains("Sec-WebSocket-Protocol: sip\r\n"));
        assert!(answer.ends_with("\r\n\r\n"));
    }

    #[test]
    fn a_partial_head_waits_and_an_endless_one_is_refused() {
        let input = request("", "");
        for cut in [0, 10, input.len() - 1] {
            assert_eq!(accept(&input[..cut], 8192), Ok(None), "cut at {cut}");
        }
        let endless = [b"GET / HTTP/1.1\r\nX: ".as_slice(), &[b'a'; 9000]].concat();
        assert_eq!(accept(&endless, 8192), Err(HandshakeError::TooLarge(8192)));
        let many: String = (0..40).map(|i| format!("X-{i}: y\r\n")).collect();
        assert_eq!(
            accept(&request(&many, ""), 8192),
            Err(HandshakeError::TooLarge(8192))
        );
    }

    #[test]
    fn each_missing_requirement_is_refused_with_its_status() {
        let cases = [
            (
                "Upgrade",
                HandshakeError::NotUpgrade("no Upgrade: websocket"),
                400,
            ),
            (
                "Connection",
                HandshakeError::NotUpgrade("no upgrade token in Connection"),
                400,
            ),
            ("Sec-WebSocket-Version", HandshakeError::Version, 426),
            ("Sec-WebSocket-Key", HandshakeError::Key, 400),
            (
                "Sec-WebSocket-Protocol",
                HandshakeError::NoSipSubprotocol,
                400,
            ),
        ];
        for (omit, err, status) in cases {
            let got = accept(&request("", omit), 8192).unwrap_err();
            assert_eq!(got, err, "without {omit}");
            assert_eq!(got.status(), status);
            let answer = String::from_utf8(got.response()).unwrap();
            assert!(
                answer.starts_with(&format!("HTTP/1.1 {status} ")),
                "{answer}"
            );
        }
        let answer = String::from_utf8(HandshakeError::Version.response()).unwrap();
        assert!(answer.contains("Sec-WebSocket-Version: 13\r\n"));
    }

    #[test]
    fn wrong_method_version_or_key_is_refused() {
        let post = String::from_utf8(request("", ""))
            .unwrap()
            .replacen("GET", "POST", 1);
        assert_eq!(accept(post.as_bytes(), 8192), Err(HandshakeError::NotGet));
        let http10 = String::from_utf8(request("", ""))
            .unwrap()
            .replacen("HTTP/1.1", "HTTP/1.0", 1);
        assert!(matches!(
            accept(http10.as_bytes(), 8192),
            Err(HandshakeError::Malformed(_))
        ));
        let short_key = String::from_utf8(request("", ""))
            .unwrap()
            .replace("dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ=");
        assert_eq!(accept(short_key.as_bytes(), 8192), Err(HandshakeError::Key));
        assert!(matches!(
            accept(b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 8192),
            Err(HandshakeError::Malformed(_))
        ));
    }

    #[test]
    fn a_client_handshake_completes_against_our_server() {
        let (client, req) = ClientHandshake::new([7; 16], "example.test:8080", "/sip");
        let text = String::from_utf8(req.clone()).unwrap();
        assert!(text.starts_with("GET /sip HTTP/1.1\r\nHost: example.test:8080\r\n"));
        let up = accept(&req, 8192).unwrap().unwrap();
        let mut answer = up.response.clone();
        assert_eq!(client.finish(&answer[..20], 8192), Ok(None));
        answer.extend_from_slice(b"\x81\x00");
        assert_eq!(client.finish(&answer, 8192), Ok(Some(up.response.len())));
    }

    #[test]
    fn a_client_refuses_a_wrong_answer() {
        let (client, req) = ClientHandshake::new([1; 16], "h", "/");
        let good = String::from_utf8(accept(&req, 8192).unwrap().unwrap().response).unwrap();
        let finish = |s: &str| client.finish(s.as_bytes(), 8192);
        assert_eq!(
            finish("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
            Err(HandshakeError::Status(404))
        );
        let other_key = good.replace(&accept_value(&BASE64.encode([1u8; 16])), "AAAA");
        assert_eq!(finish(&other_key), Err(HandshakeError::Accept));
        let no_sip = good.replace("Sec-WebSocket-Protocol: sip\r\n", "");
        assert_eq!(finish(&no_sip), Err(HandshakeError::NoSipSubprotocol));
        let no_upgrade = good.replace("Upgrade: websocket\r\n", "");
        assert!(matches!(
            finish(&no_upgrade),
            Err(HandshakeError::NotUpgrade(_))
        ));
    }
}
