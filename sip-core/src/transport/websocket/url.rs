//! The `ws://` and `wss://` URIs a WebSocket client connects to (RFC 6455 §3), checked
//! once so that what goes into the opening handshake's request line and `Host` header
//! (§4.1) is always well-formed: a SIP URI says which transport to use but not which
//! HTTP resource serves it, so a client is given the WebSocket URI as well (RFC 7118 §4
//! leaves the resource to the server's configuration; JsSIP and SIP.js are configured the
//! same way).

use std::sync::Arc;

use super::super::Transport;

/// The longest URI accepted.
pub const MAX_WS_URL: usize = 1024;

/// Why a text is not a usable WebSocket URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WsUrlError {
    /// Neither `ws://` nor `wss://`.
    #[error("not a ws:// or wss:// URI")]
    Scheme,
    /// No host, or one with characters a host cannot hold.
    #[error("bad host")]
    Host,
    /// A port that is not a number from 1 to 65535.
    #[error("bad port")]
    Port,
    /// A fragment (§3 forbids it), or a character outside visible ASCII.
    #[error("bad resource path")]
    Path,
    /// Longer than [`MAX_WS_URL`].
    #[error("longer than {MAX_WS_URL} bytes")]
    TooLong,
}

/// A checked `ws://host[:port][/path][?query]` or `wss://...` (RFC 6455 §3), cheap to
/// clone (shared).
///
/// ```
/// use sip_core::transport::Transport;
/// use sip_core::transport::websocket::WsUrl;
/// let u = WsUrl::parse("wss://edge.example.test:8443/sip?tenant=a").unwrap();
/// assert_eq!(u.transport(), Transport::Wss);
/// assert_eq!((u.host(), u.port()), ("edge.example.test", 8443));
/// assert_eq!(u.host_header(), "edge.example.test:8443");
/// assert_eq!(u.resource(), "/sip?tenant=a");
/// assert_eq!(WsUrl::parse("ws://192.0.2.1").unwrap().resource(), "/");
/// assert!(WsUrl::parse("ws://host/a b").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WsUrl(Arc<Parts>);

#[derive(Debug, PartialEq, Eq, Hash)]
struct Parts {
    secure: bool,
    host: String,
    port: Option<u16>,
    resource: String,
}

impl WsUrl {
    /// Parses and checks `text`.
    pub fn parse(text: &str) -> Result<WsUrl, WsUrlError> {
        if text.len() > MAX_WS_URL {
            return Err(WsUrlError::TooLong);
        }
        let (secure, rest) = match text.split_once("://") {
            Some((s, rest)) if s.eq_ignore_ascii_case("ws") => (false, rest),
            Some((s, rest)) if s.eq_ignore_ascii_case("wss") => (true, rest),
            _ => return Err(WsUrlError::Scheme),
        };
        let (authority, resource) = match rest.find(['/', '?']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let (host, port) = split_host_port(authority)?;
        if resource
            .bytes()
            .any(|b| !(0x21..=0x7E).contains(&b) || b == b'#')
        {
            return Err(WsUrlError::Path);
        }
        let resource = match resource {
            "" => "/".to_owned(),
            r if r.starts_with('?') => format!("/{r}"),
            r => r.to_owned(),
        };
        Ok(WsUrl(Arc::new(Parts {
            secure,
            host: host.to_owned(),
            port,
            resource,
        })))
    }

    /// [`Transport::Wss`] for `wss://`, else [`Transport::Ws`].
    pub fn transport(&self) -> Transport {
        if self.0.secure {
            Transport::Wss
        } else {
            Transport::Ws
        }
    }

    /// The host as written (an IPv6 literal keeps its brackets).
    pub fn host(&self) -> &str {
        &self.0.host
    }

    /// The port, or the scheme's default (80, 443; RFC 6455 §3).
    pub fn port(&self) -> u16 {
        self.0.port.unwrap_or(if self.0.secure { 443 } else { 80 })
    }

    /// The `Host` header of the opening handshake: the host, with the port when the URI
    /// names one other than the default (RFC 6455 §4.1, RFC 7230 §5.4).
    pub fn host_header(&self) -> String {
        match self.0.port {
            Some(p) if p != self.port_default() => format!("{}:{p}", self.0.host),
            _ => self.0.host.clone(),
        }
    }

    /// The resource to request: the path and query, `/` when the URI has none.
    pub fn resource(&self) -> &str {
        &self.0.resource
    }

    fn port_default(&self) -> u16 {
        if self.0.secure { 443 } else { 80 }
    }
}

impl std::fmt::Display for WsUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.0.secure { "wss" } else { "ws" };
        write!(f, "{scheme}://{}", self.0.host)?;
        if let Some(p) = self.0.port {
            write!(f, ":{p}")?;
        }
        f.write_str(&self.0.resource)
    }
}

/// Splits `host[:port]` (an IPv6 literal in brackets), checking both.
fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), WsUrlError> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']').ok_or(WsUrlError::Host)? + 1;
        let (h, rest) = authority.split_at(end);
        if h[1..h.len() - 1].parse::<std::net::Ipv6Addr>().is_err() {
            return Err(WsUrlError::Host);
        }
        match rest {
            "" => (h, None),
            r => (h, Some(r.strip_prefix(':').ok_or(WsUrlError::Port)?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let host_ok = host.starts_with('[')
        || (!host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
    if !host_ok {
        return Err(WsUrlError::Host);
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => return Err(WsUrlError::Port),
        },
    };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_ports_and_hosts_are_kept() {
        let u = WsUrl::parse("ws://127.0.0.1:8080/sip/ws").unwrap();
        assert_eq!(u.transport(), Transport::Ws);
        assert_eq!(u.host_header(), "127.0.0.1:8080");
        assert_eq!(u.resource(), "/sip/ws");
        assert_eq!(u.to_string(), "ws://127.0.0.1:8080/sip/ws");
        let u = WsUrl::parse("WSS://[::1]:443?x=1").unwrap();
        assert_eq!((u.host(), u.port()), ("[::1]", 443));
        assert_eq!(u.host_header(), "[::1]", "the default port is left out");
        assert_eq!(u.resource(), "/?x=1");
        assert_eq!(WsUrl::parse("ws://h.test").unwrap().port(), 80);
    }

    #[test]
    fn malformed_uris_are_refused_with_their_reason() {
        for (text, e) in [
            ("http://h/", WsUrlError::Scheme),
            ("ws:/h", WsUrlError::Scheme),
            ("ws:///p", WsUrlError::Host),
            ("ws://h_x/", WsUrlError::Host),
            ("ws://[::zz]/", WsUrlError::Host),
            ("ws://h:0/", WsUrlError::Port),
            ("ws://h:70000/", WsUrlError::Port),
            ("ws://h:+80/", WsUrlError::Port),
            ("ws://[::1]x/", WsUrlError::Port),
            ("ws://h/p#frag", WsUrlError::Path),
            ("ws://h/p\r\nX: y", WsUrlError::Path),
            ("ws://h/é", WsUrlError::Path),
        ] {
            assert_eq!(WsUrl::parse(text), Err(e), "{text}");
        }
        let long = format!("ws://h/{}", "a".repeat(MAX_WS_URL));
        assert_eq!(WsUrl::parse(&long), Err(WsUrlError::TooLong));
    }
}
