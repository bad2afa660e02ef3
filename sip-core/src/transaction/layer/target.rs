//! Where a request goes: an explicit transport and socket address, or one read from an IP
//! literal in the Request-URI or the first Route (RFC 3261 §8.1.2, §18.1.1). The core does
//! no DNS (RFC 3263 belongs to the driver or the application). Over TLS a target also
//! names the domain the server's certificate must match (RFC 5922 §4).

use super::EndpointError;
use crate::message::Request;
use crate::message::uri::{Host, Uri};
use crate::transport::websocket::WsUrl;
use crate::transport::{TlsPeerIdentity, TlsServerName, Transport};
use std::net::{IpAddr, SocketAddr};

/// A next hop: the transport and address a request is sent to and, for TLS, the domain
/// the server must prove it serves.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// The transport.
    pub transport: Transport,
    /// The destination address.
    pub addr: SocketAddr,
    /// The domain of the URI this hop was found from (RFC 5922 §4): what a driver that
    /// opens a new TLS connection checks the server certificate against and sends as SNI.
    /// `None` when the URI held an IP literal: the certificate must then carry `addr`'s IP
    /// (see [`TlsPeerIdentity`]). An RFC 3263 resolver sets it to the domain it resolved
    /// (the URI's host, not an SRV target's name). Only TLS connections look at it.
    pub server_name: Option<TlsServerName>,
    /// For WebSocket: the URI to open a new connection with (its resource and `Host`,
    /// RFC 6455 §4.1), from [`Target::websocket`]; `None` requests `/` with the address
    /// as the host. Only a driver opening a WebSocket connection looks at it.
    pub ws_url: Option<WsUrl>,
}

impl Target {
    /// A target with no server name.
    pub fn new(transport: Transport, addr: SocketAddr) -> Self {
        Target {
            transport,
            addr,
            server_name: None,
            ws_url: None,
        }
    }

    /// The target a WebSocket URI names, at `addr` (where its host resolved): its
    /// transport (`wss` is [`Transport::Wss`]), and the URI itself, so a new connection
    /// requests its resource with its host (RFC 6455 §4.1); over `wss` a host name is
    /// also the [`server_name`](Self::server_name) the certificate must match.
    ///
    /// ```
    /// use sip_core::endpoint::Target;
    /// use sip_core::transport::websocket::WsUrl;
    /// let url = WsUrl::parse("wss://edge.example.test/sip").unwrap();
    /// let t = Target::websocket(url, "192.0.2.1:443".parse().unwrap());
    /// assert_eq!(t.server_name.unwrap().as_str(), "edge.example.test");
    /// assert_eq!(t.ws_url.unwrap().resource(), "/sip");
    /// ```
    pub fn websocket(url: WsUrl, addr: SocketAddr) -> Self {
        let server_name = (url.transport() == Transport::Wss
            && crate::transport::parse_ip_literal(url.host()).is_none())
        .then(|| TlsServerName::new(url.host()).ok())
        .flatten();
        Target {
            transport: url.transport(),
            addr,
            server_name,
            ws_url: Some(url),
        }
    }

    /// This target with the domain a TLS server reached through it must prove (RFC 5922
    /// §4): use it with an address found for a host name.
    ///
    /// ```
    /// use sip_core::endpoint::Target;
    /// use sip_core::transport::{TlsServerName, Transport};
    /// let t = Target::new(Transport::Tls, "192.0.2.1:5061".parse().unwrap())
    ///     .with_server_name(TlsServerName::new("sip.example.com").unwrap());
    /// assert_eq!(t.server_name.unwrap().as_str(), "sip.example.com");
    /// ```
    pub fn with_server_name(mut self, name: TlsServerName) -> Self {
        self.server_name = Some(name);
        self
    }

    /// What a TLS server at this target must prove: the server name, else the address.
    pub fn tls_identity(&self) -> TlsPeerIdentity {
        TlsPeerIdentity::of(self.server_name.as_ref(), self.addr)
    }

    /// The target a SIP URI with an IP-literal host (or an IP `maddr`) names: its `maddr`
    /// or host, its port or the transport's default port, its `transport` parameter
    /// (default UDP, TLS for `sips:`). A domain host with an IP `maddr` becomes the
    /// [`server_name`](Self::server_name) (RFC 5922 §4: the URI's domain, not the address
    /// it leads to). A host name without `maddr` gives [`EndpointError::UnresolvedHost`].
    pub fn from_uri(uri: &Uri<'_>) -> Result<Target, EndpointError> {
        let sip = uri.as_sip().ok_or(EndpointError::UnsupportedScheme)?;
        let transport = match sip.transport_kind() {
            Some(t) => t,
            None if sip.transport().is_some() => return Err(EndpointError::UnsupportedTransport),
            None if sip.is_secure() => Transport::Tls,
            None => Transport::Udp,
        };
        let domain = match sip.host() {
            Host::Domain(d) => Some(d.as_ref()),
            _ => None,
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
            // A domain that is not a valid DNS name cannot be matched: leave the address
            // to be checked (which such a server will fail, so nothing is sent).
            server_name: domain
                .filter(|_| transport == Transport::Tls)
                .and_then(|d| TlsServerName::new(d).ok()),
            ws_url: None,
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
        assert_eq!(t.transport, Transport::Tls);
        assert_eq!(
            t.tls_identity(),
            TlsPeerIdentity::Address("192.0.2.4".parse().unwrap())
        );
        let t =
            Target::from_uri(&Uri::parse("sip:bob@example.com;maddr=192.0.2.9").unwrap()).unwrap();
        assert_eq!(t.addr, "192.0.2.9:5060".parse().unwrap());
        let t = Target::from_uri(
            &Uri::parse("sip:bob@Example.com;maddr=192.0.2.9;transport=tls").unwrap(),
        )
        .unwrap();
        assert_eq!(t.transport, Transport::Tls);
        assert_eq!(t.addr, "192.0.2.9:5061".parse().unwrap());
        assert_eq!(
            t.tls_identity(),
            TlsPeerIdentity::Domain(TlsServerName::new("example.com").unwrap())
        );
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
