//! What a runtime crate's builder does the same way whatever the runtime: the addresses it
//! binds, the endpoint's local addresses and the default identity from what it bound, and
//! a random seed.

use std::hash::{BuildHasher, Hasher};
use std::net::{SocketAddr, ToSocketAddrs};

use sip_core::endpoint::{EndpointConfig, LocalAddr};
use sip_core::transport::Transport;

use crate::error::{Error, Result};

/// The address to bind for `addr` (`"127.0.0.1:5060"`, `"localhost:0"`): one socket per
/// name, at the first address it resolves to.
pub fn bind_addr(addr: &str) -> Result<SocketAddr> {
    let mut addrs = addr.to_socket_addrs().map_err(Error::Bind)?;
    addrs.next().ok_or_else(|| {
        Error::Bind(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "address resolves to nothing",
        ))
    })
}

/// Gives the endpoint the bound addresses as its local addresses, unless the application
/// set its own: each bound socket, and for outgoing TLS without a TLS listener the first
/// address as sent-by. Returns whether it set them.
pub fn set_local_addrs(econf: &mut EndpointConfig, bound: &[(Transport, SocketAddr)]) -> bool {
    if !econf.local_addrs.is_empty() {
        return false;
    }
    econf.local_addrs = bound.iter().map(|(t, a)| LocalAddr::new(*t, *a)).collect();
    if !bound.iter().any(|(t, _)| *t == Transport::Tls)
        && let Some((_, a)) = bound.first()
    {
        econf.local_addrs.push(LocalAddr::new(Transport::Tls, *a));
    }
    true
}

/// The From of what the user agent sends when the application set none:
/// `<sip:ua@HOST>` with the first local address's sent-by.
pub fn default_identity(econf: &EndpointConfig) -> String {
    let host = econf
        .local_addrs
        .first()
        .map_or_else(|| "localhost".to_owned(), LocalAddr::sent_by);
    format!("<sip:ua@{host}>")
}

/// A seed from the standard library's random hash keys: drawn from the operating system
/// when a process first asks, then stepped, so every call gives another seed.
pub fn random_seed() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0x5EED);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_differ_between_calls() {
        assert_ne!(random_seed(), random_seed());
    }

    #[test]
    fn bound_sockets_become_local_addrs_with_tls_sent_by() {
        let udp: SocketAddr = "127.0.0.1:5060".parse().unwrap();
        let mut c = EndpointConfig::default();
        assert!(set_local_addrs(&mut c, &[(Transport::Udp, udp)]));
        let got: Vec<_> = c.local_addrs.iter().map(|l| l.transport).collect();
        assert_eq!(got, vec![Transport::Udp, Transport::Tls]);
        assert_eq!(default_identity(&c), "<sip:ua@127.0.0.1:5060>");
        // The application's own addresses are kept.
        let before = c.local_addrs.len();
        assert!(!set_local_addrs(&mut c, &[(Transport::Tcp, udp)]));
        assert_eq!(c.local_addrs.len(), before);
    }

    #[test]
    fn an_address_that_does_not_parse_is_a_bind_error() {
        assert!(matches!(bind_addr("not an address"), Err(Error::Bind(_))));
        assert_eq!(bind_addr("127.0.0.1:0").unwrap().port(), 0);
    }
}
