//! Where the BYE after a missing ACK may go (RFC 3261 §13.3.1.4).
//!
//! A UAS whose 2xx got no ACK within 64·T1 confirms the dialog but "SHOULD" end the
//! session with a BYE. That BYE goes where any in-dialog request goes (§12.2.1.1): the
//! first route, else the remote target — the INVITE's Contact. Nothing proved that
//! address: the INVITE's sender never ACKed, so it may never have seen the 2xx, and its
//! Contact may name any host. Followed blindly, ten INVITEs with a victim's address in
//! Contact make the UAS send the victim ten BYE transactions (eleven datagrams each over
//! UDP, Timer E) although the victim never spoke to it: a reflector that needs no spoofing.
//!
//! [`NoAckBye::SameSource`] (the default) sends the BYE only when its next hop is at the IP
//! address the INVITE came from — a peer (or proxy) that did reach us — and otherwise ends
//! the dialog without one (`EndReason::NoAckNoBye`). Behind a NAT, or over a connection,
//! the dialog's requests already go back over the INVITE's flow, so the BYE is sent.
//!
//! # The bound on reflection
//!
//! Over UDP with the default timers an INVITE that is never ACKed makes the endpoint send
//! the TU's provisional responses, at most 11 copies of its 2xx (T1 doubling to T2 until
//! 64·T1, §13.3.1.4 — the RFC's schedule, kept), and, only to the INVITE's source address,
//! at most one BYE transaction (11 copies at most, Timer E until Timer F): nothing to any
//! other host (with `EndpointConfig::via_maddr` off, the responses too go to the source).
//! For a SIPp-style INVITE answered with the `uas` example's SDP that is about 10× the
//! INVITE's bytes with its Contact elsewhere (issue 16 measured 18.7× when the BYEs went
//! there) and about 16× with the BYE back to the source (`tests/reflection.rs`).

use std::net::IpAddr;

/// Whether the BYE after a missing ACK (§13.3.1.4) is sent. A part of `EndpointConfig`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NoAckBye {
    /// Send it only if its next hop (first route, else remote target) is at the IP address
    /// the INVITE came from; else end the dialog without BYE (`EndReason::NoAckNoBye`).
    #[default]
    SameSource,
    /// Always send it, wherever the route set or Contact points (the RFC's letter).
    Always,
    /// Never send it: end the dialog without BYE.
    Never,
}

impl NoAckBye {
    /// Whether a BYE whose next hop is at `next_hop` may be sent for a dialog whose INVITE
    /// came from `source`.
    pub(crate) fn allows(self, source: IpAddr, next_hop: IpAddr) -> bool {
        match self {
            NoAckBye::SameSource => canonical(source) == canonical(next_hop),
            NoAckBye::Always => true,
            NoAckBye::Never => false,
        }
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it maps (a dual-stack socket reports
/// IPv4 peers that way).
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn same_source_compares_addresses() {
        let p = NoAckBye::default();
        assert_eq!(p, NoAckBye::SameSource);
        assert!(p.allows(ip("192.0.2.1"), ip("192.0.2.1")));
        assert!(!p.allows(ip("192.0.2.1"), ip("203.0.113.5")));
        assert!(p.allows(ip("::ffff:192.0.2.1"), ip("192.0.2.1")));
        assert!(!p.allows(ip("2001:db8::1"), ip("2001:db8::2")));
    }

    #[test]
    fn always_and_never() {
        assert!(NoAckBye::Always.allows(ip("192.0.2.1"), ip("203.0.113.5")));
        assert!(!NoAckBye::Never.allows(ip("192.0.2.1"), ip("192.0.2.1")));
    }
}
