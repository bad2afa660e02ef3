//! Choosing among NAPTR records (RFC 3263 §4.1, RFC 3403): the records whose service field
//! names a SIP transport the client supports (`SIP+D2U`, `SIP+D2T`, `SIPS+D2T`; only
//! `SIPS+D2T` for a `sips:` URI) and whose flag is `S` (the replacement is an SRV name), in
//! `order` then `preference`.

use crate::transport::Transport;

/// One NAPTR record's data (RFC 3403 §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naptr {
    /// Lower is used first.
    pub order: u16,
    /// Lower is preferred among equal `order`.
    pub preference: u16,
    /// The flags (`S` for SIP: the replacement is an SRV owner name).
    pub flags: Box<str>,
    /// The service field (`SIP+D2U`, `SIP+D2T`, `SIPS+D2T`, ...).
    pub services: Box<str>,
    /// The next name to look up.
    pub replacement: Box<str>,
}

/// The transport a NAPTR service field names (RFC 3263 §4.1, table of resolution
/// services), if the client supports it.
pub fn service_transport(services: &str) -> Option<Transport> {
    [
        ("SIP+D2U", Transport::Udp),
        ("SIP+D2T", Transport::Tcp),
        ("SIPS+D2T", Transport::Tls),
    ]
    .into_iter()
    .find(|(s, _)| s.eq_ignore_ascii_case(services))
    .map(|(_, t)| t)
}

/// The usable records, best first, as (transport, SRV name) pairs. `supported` filters the
/// transports the client can use.
pub fn choose(
    records: &[Naptr],
    secure: bool,
    supported: impl Fn(Transport) -> bool,
) -> Vec<(Transport, Box<str>)> {
    let mut usable: Vec<&Naptr> = records
        .iter()
        .filter(|r| r.flags.eq_ignore_ascii_case("s"))
        .filter(|r| {
            service_transport(&r.services)
                .is_some_and(|t| supported(t) && (!secure || t == Transport::Tls))
        })
        .filter(|r| !r.replacement.is_empty() && &*r.replacement != ".")
        .collect();
    usable.sort_by_key(|r| (r.order, r.preference));
    usable
        .into_iter()
        .filter_map(|r| {
            let t = service_transport(&r.services)?;
            let name = r.replacement.strip_suffix('.').unwrap_or(&r.replacement);
            Some((t, name.to_ascii_lowercase().into()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naptr(order: u16, pref: u16, flags: &str, services: &str, repl: &str) -> Naptr {
        Naptr {
            order,
            preference: pref,
            flags: flags.into(),
            services: services.into(),
            replacement: repl.into(),
        }
    }

    /// RFC 3263 §4.1: order, then preference; unknown services and non-`S` flags skipped.
    #[test]
    fn order_then_preference() {
        let recs = [
            naptr(20, 10, "s", "SIP+D2U", "_sip._udp.example.test."),
            naptr(10, 20, "S", "SIP+D2T", "_sip._tcp.example.test."),
            naptr(10, 10, "s", "SIPS+D2T", "_sips._tcp.Example.test"),
            naptr(5, 10, "u", "SIP+D2U", "!^.*$!sip:x!"),
            naptr(5, 10, "s", "SIP+D2S", "_sip._sctp.example.test"),
        ];
        let got = choose(&recs, false, |_| true);
        assert_eq!(
            got,
            vec![
                (Transport::Tls, "_sips._tcp.example.test".into()),
                (Transport::Tcp, "_sip._tcp.example.test".into()),
                (Transport::Udp, "_sip._udp.example.test".into()),
            ]
        );
        // Only what the client supports.
        let got = choose(&recs, false, |t| t != Transport::Tls);
        assert_eq!(got[0].0, Transport::Tcp);
    }

    /// RFC 3263 §4.1: a `sips:` URI uses only `SIPS+D2T`.
    #[test]
    fn sips_uses_only_tls() {
        let recs = [
            naptr(10, 10, "s", "SIP+D2U", "_sip._udp.example.test"),
            naptr(20, 10, "s", "SIPS+D2T", "_sips._tcp.example.test"),
        ];
        assert_eq!(
            choose(&recs, true, |_| true),
            vec![(Transport::Tls, "_sips._tcp.example.test".into())]
        );
    }
}
