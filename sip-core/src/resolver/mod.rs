//! Locating SIP servers (RFC 3263 §4), sans-IO: which DNS records to ask for, in what
//! order, and the ordered list of targets they give. The resolver asks its questions as
//! [`DnsQuery`] values ([`Resolver::poll_query`]); the driver looks them up however it likes
//! (hickory in sip-tokio, a zone in sip-sim) and hands the answers back
//! ([`Resolver::handle_answer`]); finished resolutions come out of
//! [`Resolver::poll_resolved`]. Answers are cached per TTL (the private `cache` module), negative ones for a
//! bounded time; the RFC 2782 weighted draws come from the endpoint's seeded generator.
//!
//! Numeric hosts never reach the resolver: [`Destination::from_uri`] gives their target
//! at once (RFC 3263 §4.1, §4.2).
//!
//! ```
//! # #[allow(clippy::disallowed_methods)]
//! # let now = std::time::Instant::now();
//! use sip_core::message::uri::Uri;
//! use sip_core::resolver::*;
//!
//! let mut r = Resolver::new(ResolverConfig::default(), 1);
//! let Destination::Domain(d) = Destination::from_uri(&Uri::parse("sip:bob@example.test:5070").unwrap()).unwrap() else { panic!() };
//! let Resolution::Pending(id) = r.resolve(now, d).unwrap() else { panic!() };
//! let q = r.poll_query().unwrap();
//! assert_eq!((&*q.name, q.record_type), ("example.test", RecordType::A));
//! r.handle_answer(now, q.id, DnsAnswer::Records(vec![DnsRecord { ttl: 60, data: RecordData::A([192, 0, 2, 1].into()) }]));
//! let (done, targets) = r.poll_resolved().unwrap();
//! assert_eq!(done, id);
//! assert_eq!(targets.unwrap()[0].target.addr, "192.0.2.1:5070".parse().unwrap());
//! ```

mod cache;
mod destination;
pub mod naptr;
mod procedure;
pub mod srv;

pub use destination::{Destination, DomainTarget, MAX_NAME_LEN};
pub use naptr::Naptr;
pub use procedure::MAX_TARGETS;
pub use srv::Srv;

use std::collections::{HashMap, VecDeque};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Instant;

use crate::rng::IdGenerator;
use crate::transaction::layer::Target;
use crate::transport::Transport;
use cache::DnsCache;
use procedure::{Procedure, Question, Step};

type Map<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// Most records taken from one answer; the rest are ignored.
pub const MAX_RECORDS_PER_ANSWER: usize = 32;

/// A DNS record type the resolver asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// NAPTR (RFC 3403).
    Naptr = 0,
    /// SRV (RFC 2782).
    Srv = 1,
    /// IPv4 address.
    A = 2,
    /// IPv6 address.
    Aaaa = 3,
}

/// The id of a DNS query, to answer it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DnsQueryId(pub u64);

/// A question for the driver: look up `name`'s `record_type` records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsQuery {
    /// Answer with this id.
    pub id: DnsQueryId,
    /// The name, lower-case, without the trailing dot.
    pub name: Box<str>,
    /// The record type.
    pub record_type: RecordType,
}

/// A record's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordData {
    /// A NAPTR record.
    Naptr(Naptr),
    /// An SRV record.
    Srv(Srv),
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
}

impl RecordData {
    fn record_type(&self) -> RecordType {
        match self {
            RecordData::Naptr(_) => RecordType::Naptr,
            RecordData::Srv(_) => RecordType::Srv,
            RecordData::A(_) => RecordType::A,
            RecordData::Aaaa(_) => RecordType::Aaaa,
        }
    }
}

/// A record with its time to live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRecord {
    /// Seconds it may be cached.
    pub ttl: u32,
    /// The data.
    pub data: RecordData,
}

/// The answer to a [`DnsQuery`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsAnswer {
    /// Records (those of another type than asked are ignored).
    Records(Vec<DnsRecord>),
    /// The name does not exist; `ttl` from the SOA if known (RFC 2308).
    NxDomain {
        /// Negative-caching seconds.
        ttl: Option<u32>,
    },
    /// The name exists without records of the type (RFC 2308 NODATA).
    NoData {
        /// Negative-caching seconds.
        ttl: Option<u32>,
    },
    /// No answer: a timeout, SERVFAIL, a refused query. Not cached; the procedure goes on
    /// as if there were no records.
    Failed,
}

/// A target with the domain it was resolved for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedTarget {
    /// Where to send.
    pub target: Target,
    /// The domain of the URI that was resolved — the identity a TLS client checks the
    /// server's certificate against (RFC 5922 §4: the SIP domain, not the SRV target).
    pub domain: Arc<str>,
}

/// A pending resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResolutionId(pub u64);

/// What [`Resolver::resolve`] gives.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolution {
    /// Everything was in the cache.
    Ready(Result<Vec<ResolvedTarget>, ResolveError>),
    /// Queries are out; the targets come from [`Resolver::poll_resolved`].
    Pending(ResolutionId),
}

/// Why a resolution gave no target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// No record led to an address (RFC 3263 §4.2).
    #[error("no DNS record leads to an address for the host")]
    NotFound,
    /// Too many resolutions are pending.
    #[error("too many DNS resolutions pending")]
    TooManyPending,
}

/// The transports a resolver may choose for an endpoint bound at `locals` (one of each
/// present, in a fixed order).
pub fn supported_by(locals: &[crate::transaction::layer::LocalAddr]) -> Vec<Transport> {
    [Transport::Udp, Transport::Tcp, Transport::Tls]
        .into_iter()
        .filter(|t| locals.iter().any(|l| l.transport == *t))
        .collect()
}

/// The resolver's settings.
#[derive(Debug, Clone)]
pub struct ResolverConfig {
    /// Transports the client can use (NAPTR and SRV records for others are skipped).
    pub supported: Vec<Transport>,
    /// Most resolutions pending at once.
    pub max_pending: usize,
    /// Most cache entries (name and type).
    pub cache_entries: usize,
    /// The longest a positive answer is cached, in seconds.
    pub max_ttl: u32,
    /// The longest a negative answer is cached, in seconds (RFC 2308 §5 suggests 1–3
    /// hours as a ceiling; a phone wants to see a fixed zone sooner).
    pub max_negative_ttl: u32,
    /// Seconds a negative answer is cached when the driver knows no SOA TTL.
    pub default_negative_ttl: u32,
}

impl Default for ResolverConfig {
    fn default() -> Self {
        ResolverConfig {
            supported: vec![Transport::Udp, Transport::Tcp, Transport::Tls],
            max_pending: 256,
            cache_entries: 1024,
            max_ttl: 86_400,
            max_negative_ttl: 300,
            default_negative_ttl: 30,
        }
    }
}

#[derive(Debug)]
struct PendingQuery {
    question: Question,
    /// Resolutions waiting on it.
    waiters: Vec<u64>,
}

/// The RFC 3263 resolver. See the [module docs](self).
#[derive(Debug)]
pub struct Resolver {
    config: ResolverConfig,
    rng: IdGenerator,
    cache: DnsCache,
    procedures: Map<u64, Procedure>,
    queries: Map<u64, PendingQuery>,
    out: VecDeque<DnsQuery>,
    done: VecDeque<(ResolutionId, Result<Vec<ResolvedTarget>, ResolveError>)>,
    next_id: u64,
    queries_sent: u64,
    /// The domain each target of a finished resolution was resolved for (bounded like the
    /// cache; the latest resolution wins).
    domains: Map<Target, Arc<str>>,
}

impl Resolver {
    /// A resolver whose RFC 2782 draws (and table hashing) come from `seed`.
    pub fn new(config: ResolverConfig, seed: u64) -> Self {
        let mut rng = IdGenerator::new(seed);
        let hash = rng.u64();
        let h = || foldhash::fast::FixedState::with_seed(hash);
        Resolver {
            cache: DnsCache::new(
                config.cache_entries,
                config.max_ttl,
                config.max_negative_ttl,
                hash,
            ),
            config,
            rng,
            procedures: Map::with_hasher(h()),
            queries: Map::with_hasher(h()),
            out: VecDeque::new(),
            done: VecDeque::new(),
            next_id: 1,
            queries_sent: 0,
            domains: Map::with_hasher(h()),
        }
    }

    /// DNS queries asked so far (answered from the network, not the cache).
    pub fn queries_sent(&self) -> u64 {
        self.queries_sent
    }

    /// The domain `target` was last resolved for — the name a TLS client checks the
    /// server's certificate against and sends as SNI (RFC 5922 §4) — if it came from a
    /// resolution (an IP literal has none).
    pub fn domain_of(&self, target: &Target) -> Option<&Arc<str>> {
        self.domains.get(target)
    }

    /// Resolutions waiting for answers.
    pub fn pending(&self) -> usize {
        self.procedures.len()
    }

    /// Starts resolving `dest`. When the cache holds every answer the targets come at once.
    pub fn resolve(
        &mut self,
        now: Instant,
        dest: DomainTarget,
    ) -> Result<Resolution, ResolveError> {
        if self.procedures.len() >= self.config.max_pending {
            return Err(ResolveError::TooManyPending);
        }
        let id = self.next_id;
        self.next_id += 1;
        let (p, step) = Procedure::start(dest);
        Ok(match self.run(now, id, p, step) {
            Some(result) => Resolution::Ready(result),
            None => Resolution::Pending(ResolutionId(id)),
        })
    }

    /// The next question for DNS, if any. Answer each with [`Resolver::handle_answer`].
    pub fn poll_query(&mut self) -> Option<DnsQuery> {
        self.out.pop_front()
    }

    /// The next finished resolution, if any.
    pub fn poll_resolved(
        &mut self,
    ) -> Option<(ResolutionId, Result<Vec<ResolvedTarget>, ResolveError>)> {
        self.done.pop_front()
    }

    /// The answer to query `id` (an unknown id is ignored and gives `false`). At most
    /// [`MAX_RECORDS_PER_ANSWER`] records of the asked type are used.
    pub fn handle_answer(&mut self, now: Instant, id: DnsQueryId, answer: DnsAnswer) -> bool {
        let Some(q) = self.queries.remove(&id.0) else {
            return false;
        };
        let rtype = q.question.record_type;
        let (records, ttl): (Arc<[RecordData]>, Option<u32>) = match answer {
            DnsAnswer::Records(rs) => {
                let kept: Vec<&DnsRecord> = rs
                    .iter()
                    .filter(|r| r.data.record_type() == rtype)
                    .take(MAX_RECORDS_PER_ANSWER)
                    .collect();
                let ttl = kept.iter().map(|r| r.ttl).min();
                let data: Arc<[RecordData]> = kept.into_iter().map(|r| r.data.clone()).collect();
                let ttl = if data.is_empty() {
                    Some(self.config.default_negative_ttl)
                } else {
                    ttl
                };
                (data, ttl)
            }
            DnsAnswer::NxDomain { ttl } | DnsAnswer::NoData { ttl } => (
                Arc::from(Vec::new()),
                Some(ttl.unwrap_or(self.config.default_negative_ttl)),
            ),
            DnsAnswer::Failed => (Arc::from(Vec::new()), None),
        };
        if let Some(ttl) = ttl {
            self.cache
                .put(now, &q.question.name, rtype, records.clone(), ttl);
        }
        for w in q.waiters {
            let Some(mut p) = self.procedures.remove(&w) else {
                continue;
            };
            let supported = &self.config.supported;
            let step = p.answer(&records, &mut self.rng, |t| supported.contains(&t));
            if let Some(result) = self.run(now, w, p, step) {
                self.done.push_back((ResolutionId(w), result));
            }
        }
        true
    }

    /// Runs procedure `id` from `step` through the cache until it needs the network
    /// (then parked, `None`) or ends (its result).
    fn run(
        &mut self,
        now: Instant,
        id: u64,
        mut p: Procedure,
        mut step: Step,
    ) -> Option<Result<Vec<ResolvedTarget>, ResolveError>> {
        loop {
            let q = match step {
                Step::Done(r) => {
                    if let Ok(targets) = &r {
                        self.remember_domains(targets);
                    }
                    return Some(r);
                }
                Step::Ask(q) => q,
            };
            if let Some(records) = self.cache.get(now, &q.name, q.record_type) {
                let supported = &self.config.supported;
                step = p.answer(&records, &mut self.rng, |t| supported.contains(&t));
                continue;
            }
            self.ask(id, q);
            self.procedures.insert(id, p);
            return None;
        }
    }

    fn remember_domains(&mut self, targets: &[ResolvedTarget]) {
        if self.domains.len() + targets.len() > self.config.cache_entries.max(MAX_TARGETS) {
            self.domains.clear();
        }
        for t in targets {
            self.domains.insert(t.target.clone(), t.domain.clone());
        }
    }

    /// Asks `q` for resolution `id`, sharing a query already out for the same question.
    fn ask(&mut self, id: u64, q: Question) {
        if let Some(pending) = self.queries.values_mut().find(|p| p.question == q) {
            pending.waiters.push(id);
            return;
        }
        let qid = self.next_id;
        self.next_id += 1;
        self.queries_sent += 1;
        self.out.push_back(DnsQuery {
            id: DnsQueryId(qid),
            name: q.name.clone(),
            record_type: q.record_type,
        });
        self.queries.insert(
            qid,
            PendingQuery {
                question: q,
                waiters: vec![id],
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::uri::Uri;

    fn domain(uri: &str) -> DomainTarget {
        match Destination::from_uri(&Uri::parse(uri).unwrap()).unwrap() {
            Destination::Domain(d) => d,
            other => panic!("{other:?}"),
        }
    }

    fn answer_a(r: &mut Resolver, now: Instant, last: u8, ttl: u32) {
        let q = r.poll_query().unwrap();
        r.handle_answer(
            now,
            q.id,
            DnsAnswer::Records(vec![DnsRecord {
                ttl,
                data: RecordData::A(Ipv4Addr::new(192, 0, 2, last)),
            }]),
        );
    }

    /// The cache answers a second resolution of the same name: no query goes out, until
    /// the TTL runs out.
    #[test]
    fn cache_spares_the_second_lookup() {
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        let mut r = Resolver::new(ResolverConfig::default(), 1);
        let Resolution::Pending(_) = r.resolve(t0, domain("sip:a@example.test:5060")).unwrap()
        else {
            panic!()
        };
        answer_a(&mut r, t0, 1, 60);
        assert!(r.poll_resolved().unwrap().1.is_ok());
        assert_eq!(r.queries_sent(), 1);
        let got = r.resolve(t0, domain("sip:b@example.test:5060")).unwrap();
        let Resolution::Ready(Ok(t)) = got else {
            panic!("{got:?}")
        };
        assert_eq!(t[0].target.addr, "192.0.2.1:5060".parse().unwrap());
        assert_eq!(r.queries_sent(), 1);
        assert!(r.poll_query().is_none());
        let later = t0 + std::time::Duration::from_secs(60);
        assert!(matches!(
            r.resolve(later, domain("sip:b@example.test:5060")).unwrap(),
            Resolution::Pending(_)
        ));
        assert_eq!(r.queries_sent(), 2);
    }

    /// RFC 5922 §4: each target remembers the domain it was resolved for.
    #[test]
    fn targets_remember_their_domain() {
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        let mut r = Resolver::new(ResolverConfig::default(), 1);
        r.resolve(t0, domain("sips:a@Example.test:5061")).unwrap();
        answer_a(&mut r, t0, 9, 60);
        let (_, got) = r.poll_resolved().unwrap();
        let target = got.unwrap()[0].target.clone();
        assert_eq!(target.transport, Transport::Tls);
        assert_eq!(r.domain_of(&target).map(|d| &**d), Some("example.test"));
        let other = Target::new(Transport::Tls, "192.0.2.99:5061".parse().unwrap());
        assert_eq!(r.domain_of(&other), None);
    }

    /// RFC 2308: a negative answer is cached too; a failed query is not.
    #[test]
    fn negative_answers_cached_failures_not() {
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        let mut r = Resolver::new(ResolverConfig::default(), 1);
        r.resolve(t0, domain("sip:a@nx.test:5060")).unwrap();
        let q = r.poll_query().unwrap();
        r.handle_answer(t0, q.id, DnsAnswer::NxDomain { ttl: Some(10) });
        let q = r.poll_query().unwrap(); // AAAA after no A
        r.handle_answer(t0, q.id, DnsAnswer::NxDomain { ttl: Some(10) });
        assert_eq!(r.poll_resolved().unwrap().1, Err(ResolveError::NotFound));
        assert_eq!(
            r.resolve(t0, domain("sip:a@nx.test:5060")).unwrap(),
            Resolution::Ready(Err(ResolveError::NotFound))
        );
        r.resolve(t0, domain("sip:a@down.test:5060")).unwrap();
        let q = r.poll_query().unwrap();
        r.handle_answer(t0, q.id, DnsAnswer::Failed);
        let q = r.poll_query().unwrap();
        r.handle_answer(t0, q.id, DnsAnswer::Failed);
        assert_eq!(r.poll_resolved().unwrap().1, Err(ResolveError::NotFound));
        assert!(matches!(
            r.resolve(t0, domain("sip:a@down.test:5060")).unwrap(),
            Resolution::Pending(_)
        ));
    }

    /// Two resolutions of the same name share one query; pending ones are bounded; unknown
    /// answers and oversized answers are harmless.
    #[test]
    fn shared_queries_and_bounds() {
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        let config = ResolverConfig {
            max_pending: 2,
            ..Default::default()
        };
        let mut r = Resolver::new(config, 1);
        r.resolve(t0, domain("sip:a@example.test:5060")).unwrap();
        r.resolve(t0, domain("sip:b@example.test:5060")).unwrap();
        assert_eq!(
            r.resolve(t0, domain("sip:c@other.test:5060")),
            Err(ResolveError::TooManyPending)
        );
        assert!(!r.handle_answer(t0, DnsQueryId(999), DnsAnswer::Failed));
        let q = r.poll_query().unwrap();
        assert!(r.poll_query().is_none());
        let many = (0..1000)
            .map(|i| DnsRecord {
                ttl: 60,
                data: RecordData::A(Ipv4Addr::from(0xC000_0200u32 + i)),
            })
            .collect();
        r.handle_answer(t0, q.id, DnsAnswer::Records(many));
        let (_, a) = r.poll_resolved().unwrap();
        let (_, b) = r.poll_resolved().unwrap();
        assert_eq!(a.unwrap().len(), MAX_TARGETS);
        assert_eq!(b.unwrap().len(), MAX_TARGETS);
        assert_eq!(r.pending(), 0);
    }
}
