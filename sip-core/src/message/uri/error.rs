//! Where and why a URI failed to parse: [`UriError`] carries the byte offset and a
//! [`UriErrorKind`] naming what the grammar expected there (RFC 3261 §25.1, RFC 3966 §3,
//! RFC 5954 §4.1).

use thiserror::Error;

/// Where and why a URI failed to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("invalid URI at byte {offset}: {kind}")]
pub struct UriError {
    /// Byte offset in the parsed text where the problem was found.
    pub offset: usize,
    /// What the parser expected there.
    pub kind: UriErrorKind,
}

/// What the URI parser expected (RFC 3261 §25.1, RFC 3966 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum UriErrorKind {
    /// No `:` ends the scheme.
    #[error("expected a scheme followed by ':'")]
    MissingScheme,
    /// A scheme must be `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )` (RFC 3986 §3.1).
    #[error("expected a scheme character (ALPHA, then ALPHA / DIGIT / '+' / '-' / '.')")]
    InvalidScheme,
    /// A typed parser was given another scheme.
    #[error("expected the scheme this URI type parses (sip, sips or tel)")]
    WrongScheme,
    /// `@` with nothing before it.
    #[error("expected a user before '@'")]
    EmptyUser,
    /// A character outside `unreserved / user-unreserved / escaped`.
    #[error("expected a user character (unreserved, user-unreserved or escape)")]
    InvalidUser,
    /// A character outside `unreserved / escaped / & = + $ ,`.
    #[error("expected a password character (unreserved, '&=+$,' or escape)")]
    InvalidPassword,
    /// A `%` not followed by two hex digits (strict mode).
    #[error("expected '%' followed by two hex digits")]
    InvalidEscape,
    /// Nothing where the host should be.
    #[error("expected a host")]
    MissingHost,
    /// Not a `hostname` (strict) nor a lenient host name.
    #[error("expected a host name, IPv4 address or IPv6 reference")]
    InvalidHost,
    /// All digits and dots, but not four octets of at most 255.
    #[error("expected an IPv4 address (four decimal octets of at most 255)")]
    InvalidIpv4,
    /// `[` without `]`.
    #[error("expected ']' closing the IPv6 reference")]
    UnclosedIpv6,
    /// The text between `[` and `]` is not an IPv6 address (RFC 5954 §4.1).
    #[error("expected an IPv6 address inside '[' ']'")]
    InvalidIpv6,
    /// `:` without digits after it.
    #[error("expected port digits after ':'")]
    MissingPort,
    /// A port above 65535.
    #[error("expected a port of at most 65535")]
    PortOutOfRange,
    /// Something other than a port, parameter, header or the end after the host.
    #[error("expected ':' port, ';' parameter, '?' headers or end of URI")]
    UnexpectedChar,
    /// `;` not followed by a parameter name.
    #[error("expected a parameter name")]
    EmptyParamName,
    /// `=` not followed by a value (strict mode).
    #[error("expected a parameter value after '='")]
    EmptyParamValue,
    /// A character not allowed in a parameter.
    #[error("expected a parameter character (param-unreserved, unreserved or escape)")]
    InvalidParam,
    /// `?` or `&` not followed by a header name.
    #[error("expected a header name")]
    EmptyHeaderName,
    /// A header name not followed by `=` (strict mode).
    #[error("expected '=' after the header name")]
    MissingHeaderValue,
    /// A character not allowed in a header.
    #[error("expected a header character (hnv-unreserved, unreserved or escape)")]
    InvalidHeader,
    /// A tel URI without digits.
    #[error("expected a telephone number")]
    EmptyNumber,
    /// A character that is not a digit (or, for local numbers, hex digit, `*`, `#`) nor a
    /// visual separator.
    #[error("expected a telephone number digit or visual separator")]
    InvalidNumber,
    /// A local tel number without `;phone-context=` (RFC 3966 §5.1.5, strict mode).
    #[error("expected a ';phone-context=' parameter for a local number")]
    MissingPhoneContext,
    /// A `phone-context` that is neither a domain name nor a global number.
    #[error("expected a phone-context of a domain name or global number digits")]
    InvalidPhoneContext,
    /// A character not allowed in an absolute URI.
    #[error("expected a URI character (reserved, unreserved or escape)")]
    InvalidChar,
    /// Nothing after the scheme of an absolute URI.
    #[error("expected content after the scheme")]
    EmptyOpaque,
}

#[inline]
pub(super) fn err(offset: usize, kind: UriErrorKind) -> UriError {
    UriError { offset, kind }
}
