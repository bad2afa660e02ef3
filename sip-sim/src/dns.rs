//! A DNS zone of the simulator's own: records per name and type, answered in virtual time
//! (after a fixed delay, or lost — then answered [`DnsAnswer::Failed`] after a timeout, as
//! a driver's resolver gives up), so RFC 3263 resolution and failover run deterministically.
//! A [`UaNode`](crate::UaNode) given a zone answers its endpoint's DNS queries from it.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use sip_core::resolver::{DnsAnswer, DnsQuery, DnsRecord, Naptr, RecordData, RecordType, Srv};

/// The zone. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct DnsZone {
    records: BTreeMap<(String, u8), Vec<DnsRecord>>,
    ttl: u32,
    delay: Duration,
    loss: f64,
    timeout: Duration,
    rng: fastrand::Rng,
    /// Every query asked, with its name and type, in order.
    pub asked: Vec<(String, RecordType)>,
}

impl Default for DnsZone {
    fn default() -> Self {
        DnsZone::new()
    }
}

impl DnsZone {
    /// An empty zone: answers after 10 ms, loses nothing, TTL 300 s.
    pub fn new() -> Self {
        DnsZone {
            records: BTreeMap::new(),
            ttl: 300,
            delay: Duration::from_millis(10),
            loss: 0.0,
            timeout: Duration::from_secs(5),
            rng: fastrand::Rng::with_seed(0),
            asked: Vec::new(),
        }
    }

    /// Answers after `delay`.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Loses each query with probability `p` (seeded): the endpoint is told
    /// [`DnsAnswer::Failed`] after `timeout`.
    pub fn loss(mut self, p: f64, timeout: Duration, seed: u64) -> Self {
        self.loss = p;
        self.timeout = timeout;
        self.rng = fastrand::Rng::with_seed(seed);
        self
    }

    /// The TTL of records added from now on.
    pub fn ttl(mut self, ttl: u32) -> Self {
        self.ttl = ttl;
        self
    }

    fn add(&mut self, name: &str, data: RecordData) {
        let key = (
            name.trim_end_matches('.').to_ascii_lowercase(),
            kind(&data) as u8,
        );
        self.records.entry(key).or_default().push(DnsRecord {
            ttl: self.ttl,
            data,
        });
    }

    /// A NAPTR record (flag `S`).
    pub fn naptr(mut self, name: &str, order: u16, services: &str, replacement: &str) -> Self {
        self.add(
            name,
            RecordData::Naptr(Naptr {
                order,
                preference: 10,
                flags: "S".into(),
                services: services.into(),
                replacement: replacement.into(),
            }),
        );
        self
    }

    /// An SRV record.
    pub fn srv(mut self, name: &str, priority: u16, weight: u16, port: u16, target: &str) -> Self {
        self.add(
            name,
            RecordData::Srv(Srv {
                priority,
                weight,
                port,
                target: target.into(),
            }),
        );
        self
    }

    /// An A record.
    pub fn a(mut self, name: &str, ip: Ipv4Addr) -> Self {
        self.add(name, RecordData::A(ip));
        self
    }

    /// An AAAA record.
    pub fn aaaa(mut self, name: &str, ip: Ipv6Addr) -> Self {
        self.add(name, RecordData::Aaaa(ip));
        self
    }

    /// The answer to `q` and after how long it comes: the records, NODATA when the name
    /// has records of other types only, NXDOMAIN when it has none.
    pub fn answer(&mut self, q: &DnsQuery) -> (Duration, DnsAnswer) {
        self.asked.push((q.name.to_string(), q.record_type));
        if self.loss > 0.0 && self.rng.f64() < self.loss {
            return (self.timeout, DnsAnswer::Failed);
        }
        let name = q.name.to_ascii_lowercase();
        let answer = match self.records.get(&(name.clone(), q.record_type as u8)) {
            Some(r) => DnsAnswer::Records(r.clone()),
            None if self.records.keys().any(|(n, _)| *n == name) => {
                DnsAnswer::NoData { ttl: Some(60) }
            }
            None => DnsAnswer::NxDomain { ttl: Some(60) },
        };
        (self.delay, answer)
    }
}

fn kind(d: &RecordData) -> RecordType {
    match d {
        RecordData::Naptr(_) => RecordType::Naptr,
        RecordData::Srv(_) => RecordType::Srv,
        RecordData::A(_) => RecordType::A,
        RecordData::Aaaa(_) => RecordType::Aaaa,
    }
}
