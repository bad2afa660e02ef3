//! What a URI asks of the resolver (RFC 3263 §4.1, §4.2): a numeric host needs no lookup;
//! a host name comes with what the URI already fixes (its `transport` parameter, its port,
//! whether it is `sips:`).

use std::net::SocketAddr;

use crate::message::uri::{Host, Uri};
use crate::transaction::layer::{EndpointError, Target};
use crate::transport::Transport;

/// The longest host name the resolver looks up (RFC 1035 §2.3.4: 255 octets on the wire,
/// 253 characters as text).
pub const MAX_NAME_LEN: usize = 253;

/// Where a URI points, before any lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A numeric host (or a numeric `maddr`): the target is known without DNS (RFC 3263
    /// §4.1, §4.2: "if TARGET is a numeric IP address, the client uses that address").
    Numeric(Target),
    /// A host name to resolve.
    Domain(DomainTarget),
}

/// A host name with what the URI fixes of the lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainTarget {
    /// The name, lower-cased (DNS names compare without case, RFC 4343).
    pub name: Box<str>,
    /// The URI's `transport` parameter, or TLS for a `sips:` URI with an explicit port
    /// (RFC 3263 §4.1); `None`: NAPTR chooses.
    pub transport: Option<Transport>,
    /// The URI's explicit port: no NAPTR or SRV is asked (RFC 3263 §4.2).
    pub port: Option<u16>,
    /// A `sips:` URI: only TLS targets qualify (RFC 3263 §4.1).
    pub secure: bool,
}

impl Destination {
    /// Reads a SIP URI: its `maddr` (which overrides the host, RFC 3263 §4 "the TARGET is
    /// the maddr parameter of the URI, if present, otherwise the host value of the
    /// hostport"), its port and `transport` parameter, and its scheme.
    ///
    /// ```
    /// use sip_core::message::uri::Uri;
    /// use sip_core::resolver::Destination;
    ///
    /// let d = Destination::from_uri(&Uri::parse("sips:bob@Example.test").unwrap()).unwrap();
    /// let Destination::Domain(d) = d else { panic!() };
    /// assert_eq!((&*d.name, d.secure, d.port), ("example.test", true, None));
    /// ```
    pub fn from_uri(uri: &Uri<'_>) -> Result<Destination, EndpointError> {
        let sip = uri.as_sip().ok_or(EndpointError::UnsupportedScheme)?;
        let secure = sip.is_secure();
        let named = match sip.transport_kind() {
            Some(t) => Some(t),
            None if sip.transport().is_some() => return Err(EndpointError::UnsupportedTransport),
            None => None,
        };
        let port = sip.port();
        if let Some(ip) = sip.maddr().and_then(crate::transport::parse_ip_literal) {
            return Ok(Destination::Numeric(numeric(ip, named, port, secure)));
        }
        let name = match (sip.maddr(), sip.host()) {
            (Some(m), _) => m,
            (None, Host::Ipv4(a)) => {
                return Ok(Destination::Numeric(numeric(
                    (*a).into(),
                    named,
                    port,
                    secure,
                )));
            }
            (None, Host::Ipv6(a)) => {
                return Ok(Destination::Numeric(numeric(
                    (*a).into(),
                    named,
                    port,
                    secure,
                )));
            }
            (None, Host::Domain(d)) => d.as_ref(),
        };
        let name = name.strip_suffix('.').unwrap_or(name);
        if name.is_empty() || name.len() > MAX_NAME_LEN {
            return Err(EndpointError::UnresolvedHost);
        }
        // §4.1: a port without a transport means UDP for sip:, TLS (over TCP) for sips:.
        let transport = named.or_else(|| port.map(|_| default_transport(secure)));
        Ok(Destination::Domain(DomainTarget {
            name: name.to_ascii_lowercase().into(),
            transport,
            port,
            secure,
        }))
    }
}

/// The transport a URI gets when nothing chooses one: UDP for `sip:`, TLS for `sips:`
/// (RFC 3263 §4.1).
pub(crate) fn default_transport(secure: bool) -> Transport {
    if secure {
        Transport::Tls
    } else {
        Transport::Udp
    }
}

/// The target of a numeric host (RFC 3263 §4.1, §4.2): the named transport or the scheme's
/// default, the port or the transport's default.
fn numeric(
    ip: std::net::IpAddr,
    named: Option<Transport>,
    port: Option<u16>,
    secure: bool,
) -> Target {
    let transport = named.unwrap_or(default_transport(secure));
    Target::new(
        transport,
        SocketAddr::new(ip, port.unwrap_or(transport.default_port())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dest(s: &str) -> Destination {
        Destination::from_uri(&Uri::parse(s).unwrap()).unwrap()
    }

    fn domain(s: &str) -> DomainTarget {
        match dest(s) {
            Destination::Domain(d) => d,
            other => panic!("{other:?}"),
        }
    }

    /// RFC 3263 §4.1/§4.2: numeric hosts and numeric `maddr` need no lookup.
    #[test]
    fn numeric_hosts_short_circuit() {
        assert_eq!(
            dest("sip:bob@192.0.2.4"),
            Destination::Numeric(Target::new(
                Transport::Udp,
                "192.0.2.4:5060".parse().unwrap()
            ))
        );
        assert_eq!(
            dest("sips:bob@[2001:db8::1]"),
            Destination::Numeric(Target::new(
                Transport::Tls,
                "[2001:db8::1]:5061".parse().unwrap()
            ))
        );
        assert_eq!(
            dest("sip:bob@example.test:5070;transport=tcp;maddr=192.0.2.9"),
            Destination::Numeric(Target::new(
                Transport::Tcp,
                "192.0.2.9:5070".parse().unwrap()
            ))
        );
    }

    /// RFC 3263 §4.1: what the URI fixes of a host name's lookup.
    #[test]
    fn host_names_keep_what_the_uri_fixes() {
        let d = domain("sip:bob@Example.TEST.");
        assert_eq!(
            (&*d.name, d.transport, d.port, d.secure),
            ("example.test", None, None, false)
        );
        let d = domain("sip:bob@example.test:5080");
        assert_eq!((d.transport, d.port), (Some(Transport::Udp), Some(5080)));
        let d = domain("sips:bob@example.test:5081");
        assert_eq!((d.transport, d.port), (Some(Transport::Tls), Some(5081)));
        let d = domain("sip:bob@example.test;transport=tcp");
        assert_eq!((d.transport, d.port), (Some(Transport::Tcp), None));
        let d = domain("sip:bob@example.test;maddr=proxy.example.test");
        assert_eq!(&*d.name, "proxy.example.test");
    }

    #[test]
    fn unusable_uris_are_refused() {
        let e = |s: &str| Destination::from_uri(&Uri::parse(s).unwrap()).unwrap_err();
        assert_eq!(e("tel:+1234"), EndpointError::UnsupportedScheme);
        assert_eq!(
            e("sip:bob@example.test;transport=foo"),
            EndpointError::UnsupportedTransport
        );
    }
}
