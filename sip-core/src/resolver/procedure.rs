//! One resolution of a host name to an ordered list of targets, as a state machine that asks
//! one question at a time and is fed the answers (RFC 3263 §4.1 transport, §4.2 port and
//! address):
//!
//! ```text
//!  transport and port given ──────────────────────────────────► A (then AAAA) of the host
//!  transport given, no port ──► SRV of that transport ─┐
//!  neither ──► NAPTR ─┬─ usable records ─► SRV per record, in order ─┤
//!                     └─ none ─► SRV per supported transport ───────┤
//!                                     records ─► A/AAAA of each SRV target, RFC 2782 order
//!                                     none ───► A/AAAA of the host, default port
//! ```

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use super::destination::{DomainTarget, default_transport};
use super::{RecordData, RecordType, ResolveError, ResolvedTarget, naptr, srv};
use crate::rng::IdGenerator;
use crate::transaction::layer::Target;
use crate::transport::{TlsServerName, Transport};

/// Most targets one resolution yields (SRV hosts times addresses).
pub const MAX_TARGETS: usize = 16;

/// A question for DNS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Question {
    pub name: Box<str>,
    pub record_type: RecordType,
}

/// What the procedure needs next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Ask(Question),
    Done(Result<Vec<ResolvedTarget>, ResolveError>),
}

#[derive(Debug)]
enum Stage {
    Naptr,
    /// SRV names still to try, the current one first.
    Srv(VecDeque<(Transport, Box<str>)>),
    /// Hosts still to look up (transport, host, port), the current one first; whether its
    /// AAAA was asked already.
    Hosts(VecDeque<(Transport, Box<str>, u16)>, bool),
}

/// One resolution. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct Procedure {
    dest: DomainTarget,
    /// The domain the targets are for (RFC 5922 §4: what a TLS client checks).
    domain: Arc<str>,
    stage: Stage,
    targets: Vec<ResolvedTarget>,
}

impl Procedure {
    /// Starts resolving `dest`; its first step.
    pub(crate) fn start(dest: DomainTarget) -> (Procedure, Step) {
        let domain: Arc<str> = Arc::from(&*dest.name);
        let mut p = Procedure {
            stage: Stage::Naptr,
            domain,
            targets: Vec::new(),
            dest,
        };
        let step = match (p.dest.transport, p.dest.port) {
            // §4.2: an explicit port: no SRV, the host's addresses with that port.
            (Some(t), Some(port)) => {
                let name = p.dest.name.clone();
                p.hosts(VecDeque::from([(t, name, port)]))
            }
            // §4.1: a transport given: its SRV.
            (Some(t), None) => {
                let srvs = srv::service_name(t, &p.dest.name)
                    .map(|n| (t, n))
                    .into_iter()
                    .collect();
                p.srvs(srvs)
            }
            _ => Step::Ask(Question {
                name: p.dest.name.clone(),
                record_type: RecordType::Naptr,
            }),
        };
        (p, step)
    }

    /// Feeds the answer to the last question: its records (empty for NXDOMAIN, NODATA or a
    /// failed query). Returns the next step.
    pub(crate) fn answer(
        &mut self,
        records: &[RecordData],
        rng: &mut IdGenerator,
        supported: impl Fn(Transport) -> bool,
    ) -> Step {
        match std::mem::replace(&mut self.stage, Stage::Naptr) {
            Stage::Naptr => self.on_naptr(records, supported),
            Stage::Srv(list) => self.on_srv(list, records, rng),
            Stage::Hosts(list, asked_aaaa) => self.on_addresses(list, asked_aaaa, records),
        }
    }

    fn on_naptr(&mut self, records: &[RecordData], supported: impl Fn(Transport) -> bool) -> Step {
        let naptrs: Vec<naptr::Naptr> = records
            .iter()
            .filter_map(|r| match r {
                RecordData::Naptr(n) => Some(n.clone()),
                _ => None,
            })
            .collect();
        let chosen = naptr::choose(&naptrs, self.dest.secure, &supported);
        if !chosen.is_empty() {
            return self.srvs(chosen.into());
        }
        // §4.1: no NAPTR: an SRV query per supported transport (TLS only for sips:), in
        // the client's order of preference: UDP, then TCP (RFC 3261 §18 requires both).
        let transports: &[Transport] = if self.dest.secure {
            &[Transport::Tls]
        } else {
            &[Transport::Udp, Transport::Tcp]
        };
        let srvs = transports
            .iter()
            .filter(|t| supported(**t))
            .filter_map(|t| srv::service_name(*t, &self.dest.name).map(|n| (*t, n)))
            .collect();
        self.srvs(srvs)
    }

    /// Asks the first SRV name left, or (none left) falls back to the host's addresses.
    fn srvs(&mut self, list: VecDeque<(Transport, Box<str>)>) -> Step {
        match list.front() {
            Some((_, name)) => {
                let name = name.clone();
                self.stage = Stage::Srv(list);
                Step::Ask(Question {
                    name,
                    record_type: RecordType::Srv,
                })
            }
            None => {
                // §4.2: no SRV: the host's A/AAAA with the transport's default port.
                let t = self
                    .dest
                    .transport
                    .unwrap_or(default_transport(self.dest.secure));
                let name = self.dest.name.clone();
                self.hosts(VecDeque::from([(t, name, t.default_port())]))
            }
        }
    }

    fn on_srv(
        &mut self,
        mut list: VecDeque<(Transport, Box<str>)>,
        records: &[RecordData],
        rng: &mut IdGenerator,
    ) -> Step {
        let Some((transport, _)) = list.pop_front() else {
            return self.srvs(list);
        };
        let srvs: Vec<srv::Srv> = records
            .iter()
            .filter_map(|r| match r {
                RecordData::Srv(s) => Some(s.clone()),
                _ => None,
            })
            .collect();
        let ordered = srv::order(srvs, rng);
        if ordered.is_empty() {
            return self.srvs(list);
        }
        // §4.2: the first SRV set found is used; its hosts in RFC 2782 order.
        let hosts = ordered
            .into_iter()
            .take(MAX_TARGETS)
            .map(|s| {
                let host = s.target.strip_suffix('.').unwrap_or(&s.target);
                (transport, host.to_ascii_lowercase().into(), s.port)
            })
            .collect();
        self.hosts(hosts)
    }

    /// Looks up the first host left (an IP literal needs no lookup), or ends.
    fn hosts(&mut self, mut list: VecDeque<(Transport, Box<str>, u16)>) -> Step {
        while let Some((t, host, port)) = list.front() {
            if self.targets.len() >= MAX_TARGETS {
                break;
            }
            match crate::transport::parse_ip_literal(host) {
                Some(ip) => {
                    self.push(*t, ip, *port);
                    list.pop_front();
                }
                None => {
                    let name = host.clone();
                    self.stage = Stage::Hosts(list, false);
                    return Step::Ask(Question {
                        name,
                        record_type: RecordType::A,
                    });
                }
            }
        }
        let targets = std::mem::take(&mut self.targets);
        Step::Done(if targets.is_empty() {
            Err(ResolveError::NotFound)
        } else {
            Ok(targets)
        })
    }

    fn on_addresses(
        &mut self,
        mut list: VecDeque<(Transport, Box<str>, u16)>,
        asked_aaaa: bool,
        records: &[RecordData],
    ) -> Step {
        let Some((t, host, port)) = list.front().cloned() else {
            return self.hosts(list);
        };
        let mut found = false;
        for r in records {
            match r {
                RecordData::A(a) => self.push(t, IpAddr::V4(*a), port),
                RecordData::Aaaa(a) => self.push(t, IpAddr::V6(*a), port),
                _ => continue,
            }
            found = true;
        }
        // IPv4 first (the usual local address); AAAA only for a host without A records.
        if !found && !asked_aaaa {
            self.stage = Stage::Hosts(list, true);
            return Step::Ask(Question {
                name: host,
                record_type: RecordType::Aaaa,
            });
        }
        list.pop_front();
        self.hosts(list)
    }

    fn push(&mut self, transport: Transport, ip: IpAddr, port: u16) {
        let mut target = Target::new(transport, SocketAddr::new(ip, port));
        if transport == Transport::Tls
            && let Ok(name) = TlsServerName::new(&self.domain)
        {
            // RFC 5922 §4: a TLS server reached through NAPTR/SRV proves the domain the
            // procedure started from, not the SRV target's name or the address.
            target = target.with_server_name(name);
        }
        if self.targets.len() < MAX_TARGETS && !self.targets.iter().any(|t| t.target == target) {
            self.targets.push(ResolvedTarget {
                target,
                domain: self.domain.clone(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::uri::Uri;
    use crate::resolver::{Destination, naptr::Naptr, srv::Srv};
    use std::net::Ipv4Addr;

    fn dest(uri: &str) -> DomainTarget {
        match Destination::from_uri(&Uri::parse(uri).unwrap()).unwrap() {
            Destination::Domain(d) => d,
            other => panic!("{other:?}"),
        }
    }

    fn ask(step: &Step) -> (&str, RecordType) {
        match step {
            Step::Ask(q) => (&q.name, q.record_type),
            other => panic!("{other:?}"),
        }
    }

    fn a(last: u8) -> RecordData {
        RecordData::A(Ipv4Addr::new(192, 0, 2, last))
    }

    fn srv(priority: u16, port: u16, target: &str) -> RecordData {
        RecordData::Srv(Srv {
            priority,
            weight: 0,
            port,
            target: target.into(),
        })
    }

    fn done(step: Step) -> Vec<(Transport, String, String)> {
        match step {
            Step::Done(Ok(t)) => t
                .into_iter()
                .map(|t| {
                    (
                        t.target.transport,
                        t.target.addr.to_string(),
                        t.domain.to_string(),
                    )
                })
                .collect(),
            other => panic!("{other:?}"),
        }
    }

    fn all(_: Transport) -> bool {
        true
    }

    /// RFC 3263 §4.1 NAPTR present → its SRV → A, with the URI's domain kept.
    #[test]
    fn naptr_then_srv_then_a() {
        let mut rng = IdGenerator::new(1);
        let (mut p, s) = Procedure::start(dest("sip:bob@example.test"));
        assert_eq!(ask(&s), ("example.test", RecordType::Naptr));
        let s = p.answer(
            &[RecordData::Naptr(Naptr {
                order: 10,
                preference: 10,
                flags: "S".into(),
                services: "SIP+D2T".into(),
                replacement: "_sip._tcp.example.test.".into(),
            })],
            &mut rng,
            all,
        );
        assert_eq!(ask(&s), ("_sip._tcp.example.test", RecordType::Srv));
        let s = p.answer(
            &[
                srv(10, 5070, "pbx1.example.test."),
                srv(20, 5080, "pbx2.example.test"),
            ],
            &mut rng,
            all,
        );
        assert_eq!(ask(&s), ("pbx1.example.test", RecordType::A));
        let s = p.answer(&[a(1)], &mut rng, all);
        assert_eq!(ask(&s), ("pbx2.example.test", RecordType::A));
        let s = p.answer(&[a(2)], &mut rng, all);
        assert_eq!(
            done(s),
            vec![
                (
                    Transport::Tcp,
                    "192.0.2.1:5070".into(),
                    "example.test".into()
                ),
                (
                    Transport::Tcp,
                    "192.0.2.2:5080".into(),
                    "example.test".into()
                ),
            ]
        );
    }

    /// §4.1: no NAPTR → SRV per transport (UDP, then TCP) → the first found.
    #[test]
    fn naptr_absent_srv_per_transport() {
        let mut rng = IdGenerator::new(1);
        let (mut p, s) = Procedure::start(dest("sip:bob@example.test"));
        assert_eq!(ask(&s).1, RecordType::Naptr);
        let s = p.answer(&[], &mut rng, all);
        assert_eq!(ask(&s), ("_sip._udp.example.test", RecordType::Srv));
        let s = p.answer(&[], &mut rng, all);
        assert_eq!(ask(&s), ("_sip._tcp.example.test", RecordType::Srv));
        let s = p.answer(&[srv(1, 5099, "192.0.2.7")], &mut rng, all);
        assert_eq!(
            done(s),
            vec![(
                Transport::Tcp,
                "192.0.2.7:5099".into(),
                "example.test".into()
            )]
        );
    }

    /// §4.2: no NAPTR and no SRV → A of the host, default port, UDP; AAAA when no A.
    #[test]
    fn srv_absent_falls_back_to_addresses() {
        let mut rng = IdGenerator::new(1);
        let (mut p, _) = Procedure::start(dest("sip:bob@example.test"));
        p.answer(&[], &mut rng, all);
        p.answer(&[], &mut rng, all);
        let s = p.answer(&[], &mut rng, all);
        assert_eq!(ask(&s), ("example.test", RecordType::A));
        let s = p.answer(&[], &mut rng, all);
        assert_eq!(ask(&s), ("example.test", RecordType::Aaaa));
        let s = p.answer(
            &[RecordData::Aaaa("2001:db8::5".parse().unwrap())],
            &mut rng,
            all,
        );
        assert_eq!(
            done(s),
            vec![(
                Transport::Udp,
                "[2001:db8::5]:5060".into(),
                "example.test".into()
            )]
        );
    }

    /// Two SRV targets at the same address give it once, and an A answer that only
    /// repeats a known address still counts as an answer (no AAAA is asked).
    #[test]
    fn duplicate_addresses_are_kept_once() {
        let mut rng = IdGenerator::new(1);
        let (mut p, _) = Procedure::start(dest("sip:bob@example.test;transport=udp"));
        let s = p.answer(
            &[srv(10, 5060, "one.test"), srv(20, 5060, "two.test")],
            &mut rng,
            all,
        );
        assert_eq!(ask(&s), ("one.test", RecordType::A));
        let s = p.answer(&[a(1)], &mut rng, all);
        assert_eq!(ask(&s), ("two.test", RecordType::A));
        let s = p.answer(&[a(1)], &mut rng, all);
        assert_eq!(done(s).len(), 1);
    }

    /// §4.2: an explicit port: no NAPTR, no SRV.
    #[test]
    fn explicit_port_asks_only_addresses() {
        let mut rng = IdGenerator::new(1);
        let (mut p, s) = Procedure::start(dest("sip:bob@example.test:5080"));
        assert_eq!(ask(&s), ("example.test", RecordType::A));
        let s = p.answer(&[a(3)], &mut rng, all);
        assert_eq!(
            done(s),
            vec![(
                Transport::Udp,
                "192.0.2.3:5080".into(),
                "example.test".into()
            )]
        );
    }

    /// §4.1: `sips:` without NAPTR asks `_sips._tcp` only, and its targets are TLS.
    #[test]
    fn sips_asks_sips_tcp() {
        let mut rng = IdGenerator::new(1);
        let (mut p, _) = Procedure::start(dest("sips:bob@example.test"));
        let s = p.answer(&[], &mut rng, all);
        assert_eq!(ask(&s), ("_sips._tcp.example.test", RecordType::Srv));
        let s = p.answer(&[], &mut rng, all);
        assert_eq!(ask(&s), ("example.test", RecordType::A));
        let s = p.answer(&[a(4)], &mut rng, all);
        assert_eq!(
            done(s),
            vec![(
                Transport::Tls,
                "192.0.2.4:5061".into(),
                "example.test".into()
            )]
        );
    }

    /// §4.1: a `transport` parameter goes straight to that transport's SRV.
    #[test]
    fn transport_param_skips_naptr() {
        let (_, s) = Procedure::start(dest("sip:bob@example.test;transport=tcp"));
        assert_eq!(ask(&s), ("_sip._tcp.example.test", RecordType::Srv));
    }

    /// Nothing anywhere: NotFound.
    #[test]
    fn nothing_found() {
        let mut rng = IdGenerator::new(1);
        let (mut p, _) = Procedure::start(dest("sip:bob@example.test:5060"));
        p.answer(&[], &mut rng, all);
        assert_eq!(
            p.answer(&[], &mut rng, all),
            Step::Done(Err(ResolveError::NotFound))
        );
    }
}
