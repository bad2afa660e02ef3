//! The local addresses the driver listens on, and what the endpoint writes from them: the
//! Via sent-by of its requests (RFC 3261 §18.1.1), its default Contact (§8.1.1.8), and the
//! check that a response's Via is ours (§18.1.2). Formatted once, shared by every layer.

use std::net::SocketAddr;
use std::sync::Arc;

use super::EndpointError;
use crate::rng::{Branch, IdGenerator};
use crate::transport::Transport;

/// One local address the endpoint's driver listens on.
///
/// The core uses it for the Via sent-by of requests it sends (RFC 3261 §18.1.1) and as the
/// source address of its transmits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalAddr {
    /// The transport bound at this address.
    pub transport: Transport,
    /// The bound socket address.
    pub addr: SocketAddr,
    /// The `host[:port]` to advertise in Via and Contact instead of `addr` (e.g. a public
    /// address or a host name); `None` advertises `addr` itself. Text that is not a valid
    /// `hostport` (RFC 3261 §25.1) is ignored, with a warning: `addr` is advertised.
    pub advertised: Option<String>,
}

impl LocalAddr {
    /// A local address advertised as itself.
    pub fn new(transport: Transport, addr: SocketAddr) -> Self {
        Self {
            transport,
            addr,
            advertised: None,
        }
    }

    /// The `host:port` text to put in a Via sent-by or a Contact: `advertised` when it is a
    /// valid `hostport` (so nothing the endpoint writes with it can break a header or inject
    /// one), else the bound address.
    ///
    /// ```
    /// use sip_core::endpoint::LocalAddr;
    /// use sip_core::transport::Transport;
    /// let mut l = LocalAddr::new(Transport::Udp, "192.0.2.1:5060".parse().unwrap());
    /// l.advertised = Some("pbx.example.com:5070".into());
    /// assert_eq!(l.sent_by(), "pbx.example.com:5070");
    /// l.advertised = Some("pbx.example.com\r\nX-Injected: 1".into());
    /// assert_eq!(l.sent_by(), "192.0.2.1:5060");
    /// ```
    pub fn sent_by(&self) -> String {
        match &self.advertised {
            Some(a) if crate::message::SipUri::parse_host(a).is_ok() => a.clone(),
            Some(a) => {
                tracing::warn!(advertised = %a.escape_debug(), addr = %self.addr,
                    "advertised address is not a host[:port]; advertising the bound address");
                LocalAddr::new(self.transport, self.addr).sent_by()
            }
            None => {
                let mut s = String::with_capacity(24);
                crate::text::push_socket_addr(&mut s, self.addr);
                s
            }
        }
    }
}

/// The local address to send from for a destination reached over `transport`: the first
/// bound address of that transport and the destination's IP family, else the first of that
/// transport.
pub(crate) fn local_for(
    addrs: &[LocalAddr],
    transport: Transport,
    dest: SocketAddr,
) -> Option<(usize, &LocalAddr)> {
    let same = |(_, l): &(usize, &LocalAddr)| l.transport == transport;
    addrs
        .iter()
        .enumerate()
        .filter(same)
        .find(|(_, l)| l.addr.is_ipv4() == dest.is_ipv4())
        .or_else(|| addrs.iter().enumerate().find(same))
}

/// The local addresses with their sent-by and default Contact texts, written once.
#[derive(Debug, Clone, Default)]
pub(crate) struct Locals {
    addrs: Vec<LocalAddr>,
    /// `LocalAddr::sent_by` of each address.
    sent_by: Vec<String>,
    /// The default Contact of each address ([`contact_text`] of its sent-by), shared by
    /// every dialog that uses it.
    contacts: Vec<Arc<str>>,
}

impl Locals {
    pub(crate) fn new(addrs: Vec<LocalAddr>) -> Self {
        let sent_by: Vec<String> = addrs.iter().map(LocalAddr::sent_by).collect();
        let contacts = addrs
            .iter()
            .zip(&sent_by)
            .map(|(l, s)| contact_text(l.transport, s).into())
            .collect();
        Locals {
            addrs,
            sent_by,
            contacts,
        }
    }

    /// Which configured address (its index and address) serves `dest` over `transport`.
    fn index(
        &self,
        transport: Transport,
        dest: SocketAddr,
    ) -> Result<(usize, SocketAddr), EndpointError> {
        local_for(&self.addrs, transport, dest)
            .map(|(i, l)| (i, l.addr))
            .ok_or(EndpointError::NoLocalAddress(transport))
    }

    /// The local address a request to `dest` over `transport` leaves from, and its sent-by.
    pub(crate) fn sent_by(
        &self,
        transport: Transport,
        dest: SocketAddr,
    ) -> Result<(SocketAddr, &str), EndpointError> {
        let (i, addr) = self.index(transport, dest)?;
        Ok((addr, self.sent_by.get(i).map_or("", String::as_str)))
    }

    /// The default Contact (§8.1.1.8) for requests to `dest` over `transport`: the local
    /// address's sent-by as a SIP URI (`sips:` over TLS, `;transport=` for other non-UDP
    /// transports).
    pub(crate) fn contact(
        &self,
        transport: Transport,
        dest: SocketAddr,
    ) -> Result<Arc<str>, EndpointError> {
        let (i, _) = self.index(transport, dest)?;
        self.contacts
            .get(i)
            .cloned()
            .ok_or(EndpointError::NoLocalAddress(transport))
    }

    /// Writes our Via value for a request to `dest` (§8.1.1.7, §18.1.1): sent-protocol,
    /// the local sent-by, a new branch from `ids` and `rport` (RFC 3581 §3) into `out`
    /// (cleared first). Returns the branch and the local address the request leaves from.
    pub(crate) fn write_via(
        &self,
        out: &mut String,
        ids: &mut IdGenerator,
        transport: Transport,
        dest: SocketAddr,
    ) -> Result<(Branch, SocketAddr), EndpointError> {
        let branch = ids.branch_token();
        let (addr, sent_by) = self.sent_by(transport, dest)?;
        out.clear();
        out.push_str("SIP/2.0/");
        out.push_str(transport.via_token());
        out.push(' ');
        out.push_str(sent_by);
        out.push_str(";branch=");
        out.push_str(branch.as_str());
        out.push_str(";rport");
        Ok((branch, addr))
    }

    /// Whether a Via sent-by names one of our addresses (§18.1.2). With no address
    /// configured, every sent-by is taken as ours.
    pub(crate) fn is_ours(&self, host: &str, port: Option<u16>) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.addrs.iter().zip(&self.sent_by).any(|(l, sb)| {
            let (h, p) = split_host_port(sb);
            h.eq_ignore_ascii_case(host)
                && port.unwrap_or(l.transport.default_port())
                    == p.unwrap_or(l.transport.default_port())
        }) || self.addrs.is_empty()
    }
}

/// `<sip:sent-by>` (`sips:` over TLS), with `;transport=` for the stream transports.
pub(crate) fn contact_text(transport: Transport, sent_by: &str) -> String {
    let mut c = String::with_capacity(sent_by.len() + 24);
    c.push_str(if transport == Transport::Tls {
        "<sips:"
    } else {
        "<sip:"
    });
    c.push_str(sent_by);
    match transport {
        Transport::Udp | Transport::Tls => {}
        t => {
            c.push_str(";transport=");
            c.push_str(&t.via_token().to_ascii_lowercase());
        }
    }
    c.push('>');
    c
}

fn split_host_port(s: &str) -> (&str, Option<u16>) {
    if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest.split_once(']').unwrap_or((rest, ""));
        return (h, p.strip_prefix(':').and_then(|p| p.parse().ok()));
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, p.parse().ok()),
        _ => (s, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_contacts_name_the_scheme_and_transport() {
        assert_eq!(
            contact_text(Transport::Udp, "192.0.2.1:5060"),
            "<sip:192.0.2.1:5060>"
        );
        assert_eq!(
            contact_text(Transport::Tcp, "192.0.2.1:5060"),
            "<sip:192.0.2.1:5060;transport=tcp>"
        );
        assert_eq!(
            contact_text(Transport::Tls, "[2001:db8::1]:5061"),
            "<sips:[2001:db8::1]:5061>"
        );
    }

    #[test]
    fn our_sent_by_is_recognised_with_default_ports() {
        let l = Locals::new(vec![LocalAddr::new(
            Transport::Udp,
            "192.0.2.1:5060".parse().unwrap(),
        )]);
        assert!(l.is_ours("192.0.2.1", None));
        assert!(l.is_ours("192.0.2.1", Some(5060)));
        assert!(!l.is_ours("192.0.2.1", Some(5070)));
        assert!(!l.is_ours("192.0.2.2", None));
        assert!(Locals::default().is_ours("anything", Some(1)));
        let v6 = Locals::new(vec![LocalAddr::new(
            Transport::Udp,
            "[2001:db8::1]:5062".parse().unwrap(),
        )]);
        assert!(v6.is_ours("[2001:db8::1]", Some(5062)));
    }

    #[test]
    fn the_address_of_the_destinations_family_is_chosen() {
        let l = Locals::new(vec![
            LocalAddr::new(Transport::Udp, "192.0.2.1:5060".parse().unwrap()),
            LocalAddr::new(Transport::Udp, "[2001:db8::1]:5060".parse().unwrap()),
        ]);
        let (a, s) = l
            .sent_by(Transport::Udp, "[2001:db8::9]:5060".parse().unwrap())
            .unwrap();
        assert!(a.is_ipv6());
        assert_eq!(s, "[2001:db8::1]:5060");
        assert_eq!(
            l.sent_by(Transport::Tcp, "192.0.2.9:5060".parse().unwrap()),
            Err(EndpointError::NoLocalAddress(Transport::Tcp))
        );
    }
}
