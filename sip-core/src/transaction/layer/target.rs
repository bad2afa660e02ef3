//! Where a request goes: an explicit transport and socket address, or one read from an IP
//! literal in the Request-URI or the first Route (RFC 3261 §8.1.2, §18.1.1). The core does
//! no DNS (RFC 3263 belongs to the driver or the application).

use super::EndpointError;
use crate::message::Request;
use crate::message::uri::{Host, Uri};
use crate::transport::Transport;
use std::net::{IpAddr, SocketAddr};

/// A next hop: the transport and address a request is sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Target {
    /// The transport.
    pub transport: Transport,
    /// The destination address.
    pub addr: SocketAddr,
}

impl Target {
    /// A target.
    pub fn new(transport: Transport, addr: SocketAddr) -> Self {
        Target { transport, addr }
    }

    /// The target a SIP URI with an IP-literal host names: its `maddr` or host, its port or
    /// the transport's default port, its `transport` parameter (default UDP, TLS for
    /// `sips:`). A host name gives [`EndpointError::UnresolvedHost`].
    pub fn from_uri(uri: &Uri<'_>) -> Result<Target, EndpointError> {
        let sip = uri.as_sip().ok_or(EndpointError::UnsupportedScheme)?;
        let transport = match sip.transport_kind() {
            Some(t) => t,
            None if sip.transport().is_some() => return Err(EndpointError::UnsupportedTransport),
            None if sip.is_secure() => Transport::Tls,
            None => Transport::Udp,
        };
        let ip: IpAddr = match sip.maddr().and_then(crate::transport::parse_ip_literal) {
            Some(ip) => ip,
            None => match sip.host() {
                Host::Ipv4(a) => IpAddr::V4(*a),
                Host::Ipv6(a) => IpAddr::V6(*a),
                Host::Domain(_) => return Err(EndpointError::UnresolvedHost),
            },
        };
        let port = sip.port().unwrap_or(transport.default_port());
        Ok(Target {
            transport,
            addr: SocketAddr::new(ip, port),
        })
    }

    /// The next hop of a request: the first Route if there is one (loose routing, §16.12),
    /// else the Request-URI.
    pub fn for_request(req: &Request) -> Result<Target, EndpointError> {
        if let Some(route) = req.routes().next() {
            let route = route.map_err(|_| EndpointError::UnresolvedHost)?;
            let uri = route.uri().map_err(|_| EndpointError::UnresolvedHost)?;
            return Target::from_uri(&uri);
        }
        let uri = req.uri().map_err(|_| EndpointError::UnsupportedScheme)?;
        Target::from_uri(&uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_from_uris() {
        let t = Target::from_uri(&Uri::parse("sip:bob@192.0.2.4").unwrap()).unwrap();
        assert_eq!(
            t,
            Target::new(Transport::Udp, "192.0.2.4:5060".parse().unwrap())
        );
        let t = Target::from_uri(&Uri::parse("sip:bob@[2001:db8::1]:5070;transport=tcp").unwrap())
            .unwrap();
        assert_eq!(
            t,
            Target::new(Transport::Tcp, "[2001:db8::1]:5070".parse().unwrap())
        );
        let t = Target::from_uri(&Uri::parse("sips:bob@192.0.2.4").unwrap()).unwrap();
        assert_eq!(t.addr.port(), 5061);
        let t =
            Target::from_uri(&Uri::parse("sip:bob@example.com;maddr=192.0.2.9").unwrap()).unwrap();
        assert_eq!(t.addr, "192.0.2.9:5060".parse().unwrap());
        assert_eq!(
            Target::from_uri(&Uri::parse("sip:bob@example.com").unwrap()),
            Err(EndpointError::UnresolvedHost)
        );
        assert_eq!(
            Target::from_uri(&Uri::parse("tel:+1234").unwrap()),
            Err(EndpointError::UnsupportedScheme)
        );
    }
}
