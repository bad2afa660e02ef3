//! The error type of the authentication layer.

/// Why a challenge or credentials header could not be parsed, or a challenge could not be
/// answered (RFC 3261 §22, RFC 7616 §3).
///
/// Every variant maps to a `400 Bad Request` when a server meets it in a request's
/// `Authorization` / `Proxy-Authorization` header (see [`status`](Self::status)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The header value holds no challenge or credentials at all.
    #[error("empty authentication header value")]
    Empty,
    /// An auth-param (`name=value`) came before any authentication scheme.
    #[error("expected an authentication scheme at byte {0}")]
    ExpectedScheme(usize),
    /// Something other than `token=token` / `token="quoted"` where an auth-param belongs
    /// (RFC 7235 §2.1, RFC 3261 §25.1 `auth-param`).
    #[error("malformed auth-param at byte {0}")]
    MalformedParam(usize),
    /// A quoted string with no closing quote.
    #[error("unterminated quoted string at byte {0}")]
    UnterminatedQuote(usize),
    /// The same parameter name twice in one challenge or credentials (RFC 7235 §2.1: each
    /// name appears at most once, compared case-insensitively).
    #[error("parameter `{0}` appears more than once")]
    DuplicateParam(String),
    /// A parameter that Digest requires is absent (RFC 7616 §3.3, §3.4).
    #[error("missing required parameter `{0}`")]
    MissingParam(&'static str),
    /// A parameter whose value does not fit its grammar (for example a `nc` that is not
    /// 8 hex digits, or a `qop` in credentials that is not a single token).
    #[error("invalid value for parameter `{0}`")]
    InvalidValue(&'static str),
    /// The scheme is not `Digest`, so this layer cannot answer or verify it.
    #[error("authentication scheme `{0}` is not Digest")]
    NotDigest(String),
    /// The challenge names an algorithm this layer does not implement.
    #[error("unsupported digest algorithm `{0}`")]
    UnsupportedAlgorithm(String),
    /// The challenge offers only `qop` values this layer does not implement.
    #[error("none of the offered qop values is supported")]
    UnsupportedQop,
    /// A `-sess` algorithm without `qop`: the session key needs a client nonce, which is only
    /// sent together with `qop` (RFC 2617 §3.2.2).
    #[error("a -sess algorithm needs qop")]
    SessionWithoutQop,
    /// A header value meant to hold exactly one credentials held another number of them
    /// (RFC 3261 §25.1: `Authorization = "Authorization" HCOLON credentials`).
    #[error("expected one credentials, found {0}")]
    NotOneCredentials(usize),
}

impl AuthError {
    /// The status a server answers a request with when its credentials fail this way:
    /// always 400 (Bad Request, RFC 3261 §21.4.1). A challenge the client cannot parse is
    /// not answered at all, so the hint only matters on the server side.
    pub fn status(&self) -> u16 {
        400
    }
}
