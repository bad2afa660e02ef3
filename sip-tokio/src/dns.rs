//! The driver's DNS lookups for the core's RFC 3263 resolver: each [`DnsQuery`] the
//! endpoint asks is looked up with `hickory-resolver` in a task of its own, and the answer
//! comes back to the driver task over a channel — the driver never waits on DNS. The
//! procedure (which records, in what order, the cache, failover) stays in the core.
//!
//! By default the system's resolver configuration is used (`/etc/resolv.conf`); an
//! explicit server ([`UserAgentBuilder::dns_server`](crate::UserAgentBuilder::dns_server))
//! is for tests and for deployments that name their own.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::lookup::Lookup;
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType as HickoryType};
use sip_core::resolver::{
    DnsAnswer, DnsQuery, DnsQueryId, DnsRecord, MAX_RECORDS_PER_ANSWER, Naptr, RecordData,
    RecordType, Srv,
};
use tokio::sync::mpsc;

/// Where lookups go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum DnsServer {
    /// The system's configuration.
    #[default]
    System,
    /// This server only (UDP, then TCP for truncated answers).
    At(SocketAddr),
}

/// The lookups of one driver task.
pub(crate) struct Lookups {
    server: DnsServer,
    resolver: Arc<OnceLock<Option<TokioResolver>>>,
    answers_tx: mpsc::UnboundedSender<(DnsQueryId, DnsAnswer)>,
}

/// The answers of a driver task's lookups, for its select loop.
pub(crate) type Answers = mpsc::UnboundedReceiver<(DnsQueryId, DnsAnswer)>;

impl Lookups {
    /// The lookups, and where their answers arrive.
    pub(crate) fn new(server: DnsServer) -> (Self, Answers) {
        let (answers_tx, answers) = mpsc::unbounded_channel();
        let lookups = Lookups {
            server,
            resolver: Arc::new(OnceLock::new()),
            answers_tx,
        };
        (lookups, answers)
    }

    /// Looks `q` up in a task of its own; its answer arrives on the [`Answers`]. The
    /// core bounds how many queries are out at once, so the tasks are bounded too.
    pub(crate) fn spawn(&self, q: DnsQuery) {
        let resolver = self.resolver.clone();
        let server = self.server;
        let tx = self.answers_tx.clone();
        tokio::spawn(async move {
            let answer = match resolver.get_or_init(|| build(server)) {
                Some(r) => {
                    // A trailing dot: the name is absolute, no search domains are tried.
                    let name = format!("{}.", q.name);
                    answer_from(r.lookup(name.as_str(), hickory_type(q.record_type)).await)
                }
                None => DnsAnswer::Failed,
            };
            let _ = tx.send((q.id, answer));
        });
    }
}

/// The resolver for `server`, or `None` (with a warning) when the system configuration
/// cannot be read.
fn build(server: DnsServer) -> Option<TokioResolver> {
    let mut opts = ResolverOpts::default();
    // The core caches per TTL and counts its queries; a second cache would only hide them.
    opts.cache_size = 0;
    let builder = match server {
        DnsServer::System => match TokioResolver::builder_tokio() {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "no system DNS configuration: host names will not resolve");
                return None;
            }
        },
        DnsServer::At(addr) => {
            let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
            for c in &mut ns.connections {
                c.port = addr.port();
            }
            TokioResolver::builder_with_config(
                ResolverConfig::from_name_servers(vec![ns]),
                TokioRuntimeProvider::default(),
            )
        }
    };
    match builder.with_options(opts).build() {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::warn!(error = %e, "DNS resolver could not be built");
            None
        }
    }
}

fn hickory_type(t: RecordType) -> HickoryType {
    match t {
        RecordType::Naptr => HickoryType::NAPTR,
        RecordType::Srv => HickoryType::SRV,
        RecordType::A => HickoryType::A,
        RecordType::Aaaa => HickoryType::AAAA,
    }
}

/// The core's answer for a hickory lookup: its records (at most
/// [`MAX_RECORDS_PER_ANSWER`]), NXDOMAIN or NODATA with the negative TTL, or `Failed`.
fn answer_from(result: Result<Lookup, NetError>) -> DnsAnswer {
    match result {
        Ok(lookup) => DnsAnswer::Records(
            lookup
                .answers()
                .iter()
                .filter_map(|r| record_data(&r.data).map(|data| DnsRecord { ttl: r.ttl, data }))
                .take(MAX_RECORDS_PER_ANSWER)
                .collect(),
        ),
        Err(e) if e.is_no_records_found() => {
            let ttl = match &e {
                NetError::Dns(hickory_resolver::net::DnsError::NoRecordsFound(n)) => n.negative_ttl,
                _ => None,
            };
            if e.is_nx_domain() {
                DnsAnswer::NxDomain { ttl }
            } else {
                DnsAnswer::NoData { ttl }
            }
        }
        Err(e) => {
            tracing::debug!(error = %e, "DNS lookup failed");
            DnsAnswer::Failed
        }
    }
}

/// The core's form of a record, for the types it asks.
fn record_data(d: &RData) -> Option<RecordData> {
    Some(match d {
        RData::A(a) => RecordData::A(a.0),
        RData::AAAA(a) => RecordData::Aaaa(a.0),
        RData::SRV(s) => RecordData::Srv(Srv {
            priority: s.priority,
            weight: s.weight,
            port: s.port,
            target: s.target.to_ascii().into(),
        }),
        RData::NAPTR(n) => RecordData::Naptr(Naptr {
            order: n.order,
            preference: n.preference,
            flags: String::from_utf8_lossy(&n.flags).into(),
            services: String::from_utf8_lossy(&n.services).into(),
            replacement: n.replacement.to_ascii().into(),
        }),
        _ => return None,
    })
}
