//! Trying the next target (RFC 3263 §4.3): when a request sent to a resolved target gets
//! no answer (Timer B/F, §17.1.1.2, §17.1.2.2), hits a transport error (§18.4), or is
//! answered 503 without Retry-After, the same request — same Call-ID, From, To and CSeq,
//! with a new Via branch, so a new client transaction (§4.3; a proxy does the same,
//! RFC 3261 §16.6 and §16.7) — goes to the next target of the list. The transaction user
//! sees one outcome: every report of a retry carries the id it first got, and what is left
//! of a replaced transaction is not reported (the way the digest client maps its
//! retries).

use std::collections::{HashMap, HashSet, VecDeque};

use bytes::Bytes;

use crate::message::{HeaderName, ParseOptions, SipMessage};
use crate::resolver::ResolvedTarget;
use crate::transaction::layer::{ClientTxId, CurrentTx, Failure, Target, Transactions, Up};

type Map<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// A request with targets left to try.
#[derive(Debug)]
struct Entry {
    /// The id the user knows.
    user: u64,
    /// The request as first sent (its Via is replaced on each retry).
    request: Bytes,
    /// The targets not tried yet, in order.
    rest: VecDeque<ResolvedTarget>,
}

/// A request moved to another target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Moved {
    /// The id its user knows.
    pub user: ClientTxId,
    /// Where it goes now.
    pub target: Target,
}

/// What became of a report.
#[derive(Debug)]
pub(crate) enum Mapped {
    /// Report this (with the id its user knows).
    Up(Up),
    /// The request went to its next target: report nothing.
    Moved(Moved),
    /// A leftover of a replaced transaction: report nothing.
    Dropped,
}

/// The failover table. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct Failover {
    /// Live transaction → its request's entry.
    entries: Map<u64, Entry>,
    /// A user id → the transaction now carrying its request.
    current: Map<u64, u64>,
    /// Transactions replaced by a retry: what is left of them is not reported.
    retired: HashSet<u64, foldhash::fast::FixedState>,
    /// Retries sent (a counter for tests and statistics).
    pub(crate) retries: u64,
}

/// Whether a report means "try the next target" (RFC 3263 §4.3).
fn is_failure(up: &Up) -> bool {
    match up {
        Up::ClientFailed { failure, .. } => {
            matches!(failure, Failure::Timeout | Failure::TransportError)
        }
        Up::Response { response, .. } => {
            response.status() == 503 && !response.headers().contains(HeaderName::RetryAfter)
        }
        _ => false,
    }
}

impl Failover {
    pub(crate) fn new(hash_seed: u64) -> Self {
        let h = || foldhash::fast::FixedState::with_seed(hash_seed);
        Failover {
            entries: Map::with_hasher(h()),
            current: Map::with_hasher(h()),
            retired: HashSet::with_hasher(h()),
            retries: 0,
        }
    }

    /// Whether nothing is being followed.
    #[cfg(test)]
    pub(crate) fn is_idle(&self) -> bool {
        self.entries.is_empty() && self.current.is_empty() && self.retired.is_empty()
    }

    /// Follows `tx`, which carries `request` to the first of a list whose other targets
    /// are `rest`.
    pub(crate) fn track(&mut self, tx: ClientTxId, request: Bytes, rest: Vec<ResolvedTarget>) {
        if rest.is_empty() {
            return;
        }
        self.entries.insert(
            tx.0,
            Entry {
                user: tx.0,
                request,
                rest: rest.into(),
            },
        );
    }

    /// Takes a report of the transaction layer: a failure of a followed request sends it
    /// to its next target ([`Mapped::Moved`]: nothing is reported); other reports get the
    /// id their user knows.
    #[inline]
    pub(crate) fn map_up(
        &mut self,
        now: std::time::Instant,
        up: Up,
        below: &mut impl Transactions,
    ) -> Mapped {
        // Inlined so that a report goes through unmoved when nothing is followed (every
        // request to an IP literal).
        if self.entries.is_empty() && self.retired.is_empty() {
            return Mapped::Up(up);
        }
        self.map_followed(now, up, below)
    }

    fn map_followed(
        &mut self,
        now: std::time::Instant,
        up: Up,
        below: &mut impl Transactions,
    ) -> Mapped {
        let tx = match &up {
            Up::Response { tx, .. } | Up::ClientFailed { tx, .. } | Up::ClientEnded { tx } => tx.0,
            _ => return Mapped::Up(up),
        };
        if self.retired.contains(&tx) {
            if matches!(up, Up::ClientEnded { .. }) {
                self.retired.remove(&tx);
            }
            // Whatever a replaced transaction still says (a late response, its end) is
            // nobody's business.
            return Mapped::Dropped;
        }
        if !self.entries.contains_key(&tx) {
            return Mapped::Up(up);
        }
        if is_failure(&up)
            && let Some(moved) = self.retry(now, tx, below)
        {
            return Mapped::Moved(moved);
        }
        let user = self.entries.get(&tx).map_or(tx, |e| e.user);
        let user = ClientTxId(user);
        Mapped::Up(match up {
            Up::Response {
                response,
                challenged,
                ..
            } => Up::Response {
                tx: user,
                response,
                challenged,
            },
            Up::ClientFailed { failure, .. } => Up::ClientFailed { tx: user, failure },
            Up::ClientEnded { .. } => {
                self.entries.remove(&tx);
                self.current.remove(&user.0);
                Up::ClientEnded { tx: user }
            }
            other => other,
        })
    }

    /// Sends the request of transaction `tx` to its next target that takes it.
    fn retry(
        &mut self,
        now: std::time::Instant,
        tx: u64,
        below: &mut impl Transactions,
    ) -> Option<Moved> {
        let mut entry = self.entries.remove(&tx)?;
        while let Some(next) = entry.rest.pop_front() {
            let Ok(SipMessage::Request(mut req)) =
                crate::message::parse_unchecked(entry.request.clone(), &ParseOptions::default())
            else {
                break;
            };
            req.remove_header(HeaderName::Via);
            let Ok(new) = below.send_request(now, req, next.target.clone()) else {
                continue; // no local address for that transport, say: the next one
            };
            tracing::debug!(
                target = %next.target.addr,
                domain = %next.domain,
                "RFC 3263 §4.3: request retried at the next target"
            );
            self.retries += 1;
            self.retired.insert(tx);
            self.current.insert(entry.user, new.0);
            let user = ClientTxId(entry.user);
            self.entries.insert(new.0, entry);
            return Some(Moved {
                user,
                target: next.target,
            });
        }
        // Nothing left: the failure goes up as it is.
        self.entries.insert(tx, entry);
        if let Some(e) = self.entries.get_mut(&tx) {
            e.rest.clear();
        }
        None
    }
}

impl CurrentTx for Failover {
    fn current(&self, tx: ClientTxId) -> ClientTxId {
        ClientTxId(self.current.get(&tx.0).copied().unwrap_or(tx.0))
    }
}
