//! TLS for the SIP drivers (RFC 3261 §26.2, RFC 5922, RFC 5630), with rustls.
//!
//! Both drivers (`sip-tokio`, `sip-mio`) take a [`TlsConfig`]: the trust anchors a client
//! checks servers against ([`TrustAnchors`]: the platform's by default, or a PEM file),
//! and for a server its certificate chain and key from PEM files. The crypto provider is
//! rustls's `ring` one (it builds with a C compiler alone; `aws-lc-rs` needs cmake).
//!
//! A connection the driver opens checks the server as RFC 5922 §4 asks: against the
//! domain the core put on the transmit ([`TlsPeerIdentity`]) — subjectAltName DNS entries,
//! that name sent as SNI — or, when the URI held an IP literal, against an IP
//! subjectAltName. A failed handshake comes out as a typed [`TlsFailure`].
//!
//! Not covered: RFC 5922 §7.1 subjectAltName URI entries (`sip:example.com`) are not
//! matched (webpki reads DNS and IP entries only), and client certificates are neither
//! sent nor asked for (the mutual authentication between domains of RFC 5922 §5).

mod config;
mod failure;

pub use config::{TlsConfig, TlsConfigError, TrustAnchors};
pub use failure::TlsFailure;
pub use rustls;

use rustls::pki_types::ServerName;
use sip_core::transport::TlsPeerIdentity;

/// The name a client checks the server certificate against and sends as SNI (RFC 5922
/// §4, RFC 6066 §3): the domain, or the IP address (rustls sends no SNI for an address, as RFC
/// 6066 §3 asks).
///
/// ```
/// use sip_core::transport::{TlsPeerIdentity, TlsServerName};
/// let name = sip_tls::server_name(&TlsPeerIdentity::Domain(TlsServerName::new("example.com").unwrap()));
/// assert_eq!(name.to_str(), "example.com");
/// let ip = sip_tls::server_name(&TlsPeerIdentity::Address("192.0.2.1".parse().unwrap()));
/// assert_eq!(ip.to_str(), "192.0.2.1");
/// ```
pub fn server_name(identity: &TlsPeerIdentity) -> ServerName<'static> {
    match identity {
        TlsPeerIdentity::Domain(d) => match ServerName::try_from(d.as_str().to_owned()) {
            Ok(n) => n,
            // `TlsServerName` admits only what rustls takes as a DNS name; should the two
            // ever disagree, an address nobody certifies fails the check rather than
            // skipping it.
            Err(_) => ServerName::IpAddress(std::net::Ipv4Addr::UNSPECIFIED.into()),
        },
        TlsPeerIdentity::Address(ip) => ServerName::IpAddress((*ip).into()),
    }
}
