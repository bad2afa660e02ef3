//! Parser modes and limits.

/// How forgiving the parser is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// RFC 3261 §25 grammar, to the letter.
    Strict,
    /// What real devices send, the default for received traffic. Each deviation accepted:
    /// - bare LF line ends instead of CRLF (a bare CR is not a line end);
    /// - several SP/HTAB between the parts of the request line, and trailing whitespace
    ///   after it (RFC 4475 §3.1.2.9, §3.1.2.10);
    /// - headers in the Request-URI, which are ignored (RFC 4475 §3.1.2.11);
    /// - spaces inside `<...>` around a URI, which are dropped (§3.1.2.14);
    /// - an unquoted display name containing non-token characters such as a comma
    ///   (§3.1.2.15);
    /// - a request without Max-Forwards (treated as 70, §8.1.1.6; RFC 2543 peers, §3.4.1);
    /// - empty lines before the start line (§7.5);
    /// - an IPv6 address without brackets where that is unambiguous — eight full groups,
    ///   then perhaps a colon and a port — in a URI's host and a Via sent-by, as some IPv6
    ///   phones write `sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c:5060` (§25.1 and RFC 5954 §4.1
    ///   want `[...]`);
    /// - a single-value header repeated with the very same value, e.g. the same
    ///   Content-Type twice as SIPp writes it (§7.3.1 allows one); the first is used, and
    ///   a repeat with another value is still refused (RFC 4475 §3.3.8, §3.3.9).
    ///
    /// Strict mode, besides refusing all of these, checks the URIs of From, To and Contact
    /// against their grammar and allows `Contact: *` only in a REGISTER
    /// ([`check_request_strict`](super::validate::check_request_strict)).
    #[default]
    Lenient,
}

/// Limits on everything the input controls; checked before allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message (start line, headers and body). Default 65,535 (the UDP maximum).
    pub max_message_size: usize,
    /// Most header lines (folded continuations count with their header). Default 256.
    pub max_headers: usize,
    /// Longest line, including folded continuations of one header. Default 8,192.
    pub max_line_length: usize,
    /// Longest URI. Default 4,096.
    pub max_uri_length: usize,
    /// Largest Content-Length accepted. Default 65,535 − the smallest head.
    pub max_content_length: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: 65_535,
            max_headers: 256,
            max_line_length: 8_192,
            max_uri_length: 4_096,
            max_content_length: 65_535,
        }
    }
}

/// Parser options: mode, limits, and the room to leave for the rewrite a server transport
/// makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ParseOptions {
    /// Strict or lenient.
    pub mode: Mode,
    /// Size limits.
    pub limits: Limits,
    /// Spare bytes reserved after a parsed request's header text for the server
    /// transport's rewrite of its top Via row, which is appended to that text: the
    /// `received` parameter (RFC 3261 §18.2.1) and the `rport` value (RFC 3581 §4). With
    /// enough of them that rewrite does not reallocate and copy the text. Responses get
    /// none. Default 0: a plain parse reserves nothing. An [`Endpoint`] asks for at least
    /// [`ParseOptions::RECEIVED_HEADROOM`] ([`ParseOptions::with_received_headroom`]).
    ///
    /// [`Endpoint`]: crate::endpoint::Endpoint
    pub received_headroom: usize,
}

impl ParseOptions {
    /// The headroom an endpoint reserves in each received request (see
    /// [`ParseOptions::received_headroom`]): the rewritten row is the top Via row with
    /// `;received=` and an address (an IPv6 one is up to 39 bytes) and `=65535` added,
    /// so this holds it for a Via row of some 130 bytes.
    pub const RECEIVED_HEADROOM: usize = 192;

    /// These options with [`ParseOptions::received_headroom`] raised to at least
    /// [`ParseOptions::RECEIVED_HEADROOM`]: what an endpoint parses received traffic with.
    pub fn with_received_headroom(mut self) -> Self {
        self.received_headroom = self.received_headroom.max(Self::RECEIVED_HEADROOM);
        self
    }

    /// Strict mode with default limits.
    pub fn strict() -> Self {
        ParseOptions {
            mode: Mode::Strict,
            ..Default::default()
        }
    }

    /// Lenient mode with default limits.
    pub fn lenient() -> Self {
        ParseOptions::default()
    }

    pub(crate) fn is_strict(&self) -> bool {
        self.mode == Mode::Strict
    }
}
