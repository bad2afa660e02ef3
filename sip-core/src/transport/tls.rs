//! Who a TLS server must prove to be (RFC 5922 §4, RFC 3261 §26.3.1).
//!
//! When a driver opens a new TLS connection for a request, the server's certificate must
//! match the **domain of the URI the request was routed by** — the host of the first Route
//! or of the Request-URI, as written, before any DNS resolution (RFC 5922 §4: the domain
//! the RFC 3263 lookups started from, not the name an SRV record led to, nor the address
//! found). The driver checks that name against the certificate's subjectAltName DNS
//! entries (RFC 5922 §7.1 also names `sip:` URI entries) and sends it as SNI (RFC 6066
//! §3). A URI whose host is an IP literal has no domain: the certificate must then carry
//! that address in an IP subjectAltName.
//!
//! The core only carries the name: [`Target::server_name`](crate::endpoint::Target) for
//! a next hop (filled from the URI by `Target::from_uri`, by the application with
//! [`Target::with_server_name`](crate::endpoint::Target::with_server_name), or by an RFC
//! 3263 resolver with the domain it resolved), copied onto every
//! [`Transmit::server_name`](crate::endpoint::Transmit) of that hop. The check itself
//! (certificates, trust anchors) is the driver's.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Longest DNS name, in text form without the trailing dot (RFC 1035 §2.3.4).
pub const MAX_SERVER_NAME: usize = 253;

/// A DNS domain name a TLS server's certificate must match (RFC 5922 §4): letters, digits
/// and hyphens in dot-separated labels of 1 to 63 characters, at most
/// [`MAX_SERVER_NAME`] in all, not an IP address. Cheap to clone (shared text).
///
/// ```
/// use sip_core::transport::TlsServerName;
/// let name = TlsServerName::new("Proxy.Example.com").unwrap();
/// assert_eq!(name.as_str(), "proxy.example.com");
/// assert!(TlsServerName::new("192.0.2.1").is_err());
/// assert!(TlsServerName::new("bad..name").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TlsServerName(Arc<str>);

/// Why a text is not a [`TlsServerName`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidServerName {
    /// Empty, longer than 253 characters, or a label empty or longer than 63.
    #[error("a TLS server name must be 1 to 253 characters in labels of 1 to 63")]
    Length,
    /// A character other than a letter, digit, hyphen or dot, or a label that starts or
    /// ends with a hyphen (RFC 1123 §2.1).
    #[error("a TLS server name holds only letters, digits, hyphens and dots")]
    Syntax,
    /// An IP address is not a domain: the certificate is checked against the address.
    #[error("an IP address is not a TLS server name")]
    IpAddress,
}

impl TlsServerName {
    /// Checks `name` (one trailing dot allowed and dropped) and keeps it in lower case
    /// (DNS names compare without case, RFC 4343).
    pub fn new(name: &str) -> Result<Self, InvalidServerName> {
        let name = name.strip_suffix('.').unwrap_or(name);
        if crate::transport::parse_ip_literal(name).is_some() {
            return Err(InvalidServerName::IpAddress);
        }
        if name.is_empty() || name.len() > MAX_SERVER_NAME {
            return Err(InvalidServerName::Length);
        }
        for label in name.split('.') {
            if label.is_empty() || label.len() > 63 {
                return Err(InvalidServerName::Length);
            }
            let b = label.as_bytes();
            let ok = b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-');
            if !ok || b.first() == Some(&b'-') || b.last() == Some(&b'-') {
                return Err(InvalidServerName::Syntax);
            }
        }
        Ok(TlsServerName(name.to_ascii_lowercase().into()))
    }

    /// The name, in lower case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TlsServerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for TlsServerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the certificate of a TLS server reached at some address must show (RFC 5922 §4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TlsPeerIdentity {
    /// The domain of the URI: matched against subjectAltName DNS (or `sip:` URI) entries,
    /// and sent as SNI.
    Domain(TlsServerName),
    /// No domain was given (the URI held an IP literal): matched against an IP
    /// subjectAltName; no SNI is sent (RFC 6066 §3 forbids addresses there).
    Address(IpAddr),
}

impl TlsPeerIdentity {
    /// The identity to check for a connection to `destination`: `server_name` if the next
    /// hop has one, else the destination's address.
    ///
    /// ```
    /// use sip_core::transport::{TlsPeerIdentity, TlsServerName};
    /// let dest = "192.0.2.1:5061".parse().unwrap();
    /// let name = TlsServerName::new("example.com").unwrap();
    /// assert_eq!(TlsPeerIdentity::of(Some(&name), dest), TlsPeerIdentity::Domain(name.clone()));
    /// assert_eq!(TlsPeerIdentity::of(None, dest), TlsPeerIdentity::Address(dest.ip()));
    /// ```
    pub fn of(server_name: Option<&TlsServerName>, destination: SocketAddr) -> Self {
        match server_name {
            Some(n) => TlsPeerIdentity::Domain(n.clone()),
            None => TlsPeerIdentity::Address(destination.ip()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_lowered() {
        assert_eq!(
            TlsServerName::new("SIP.Example.COM.").unwrap().as_str(),
            "sip.example.com"
        );
        assert_eq!(
            TlsServerName::new("localhost").unwrap().as_str(),
            "localhost"
        );
        assert_eq!(TlsServerName::new(""), Err(InvalidServerName::Length));
        assert_eq!(TlsServerName::new("a..b"), Err(InvalidServerName::Length));
        assert_eq!(
            TlsServerName::new(&"a".repeat(64)),
            Err(InvalidServerName::Length)
        );
        let long = vec!["a".repeat(63); 5].join(".");
        assert_eq!(TlsServerName::new(&long), Err(InvalidServerName::Length));
        assert_eq!(TlsServerName::new("-a.b"), Err(InvalidServerName::Syntax));
        assert_eq!(TlsServerName::new("a_b.c"), Err(InvalidServerName::Syntax));
        assert_eq!(
            TlsServerName::new("x.com\r\nVia: 1"),
            Err(InvalidServerName::Syntax)
        );
        assert_eq!(
            TlsServerName::new("[2001:db8::1]"),
            Err(InvalidServerName::IpAddress)
        );
        assert_eq!(
            TlsServerName::new("127.0.0.1"),
            Err(InvalidServerName::IpAddress)
        );
    }
}
