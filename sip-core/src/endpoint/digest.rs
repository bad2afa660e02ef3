//! The digest client of the UAC core (RFC 3261 §22.2, §8.1.3.5): a 401 or 407 to any request
//! the endpoint sent (INVITE, REGISTER, in-dialog requests, the application's own) is
//! answered by sending the request again with credentials from the configured
//! [`CredentialsSource`], a new CSeq and a new branch — once per challenge, never looping on a
//! wrong password.
//!
//! It sits between the transaction layer and the transaction users: the challenged
//! transaction's [`Up::Response`] stops here, and every later report of the retry carries the
//! id the user first got ([`DigestClient::map_up`]), so the dialog layer, the registrations
//! and the application keep the id they know.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use crate::auth::{ChallengeKind, CredentialsSource, answer, challenges_in, strongest_per_realm};
use crate::message::{HeaderName, Request, Response, SipMessage};
use crate::rng::IdGenerator;
use crate::transaction::layer::{ClientTxId, CurrentTx, SentRequest, Transactions, Up};

type Map<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// The credentials the endpoint answers challenges with.
#[derive(Clone)]
pub struct Credentials(pub Arc<dyn CredentialsSource + Send + Sync>);

impl Credentials {
    /// Wraps a credentials source.
    pub fn new(source: impl CredentialsSource + Send + Sync + 'static) -> Self {
        Credentials(Arc::new(source))
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(..)")
    }
}

/// Nonces counted at once before the oldest is forgotten (a bound on the `nc` table).
const MAX_NONCES: usize = 1024;

/// Retries a request chain at most this many times on `stale=true` alone.
const MAX_STALE_RETRIES: usize = 4;

/// The digest client. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct DigestClient {
    credentials: Option<Credentials>,
    ids: IdGenerator,
    /// `nc` per nonce (RFC 7616 §3.4: it counts the requests sent with the nonce).
    nonce_counts: NonceCounts,
    /// A retry's transaction → the id its user knows.
    aliases: Map<u64, u64>,
    /// The id a user knows → the retry now carrying it.
    current: Map<u64, u64>,
    /// Nonces already answered for the request chain a user id names.
    answered: Map<u64, Vec<Box<str>>>,
    /// Transactions superseded by a retry: whatever is left of them is not reported.
    retired: HashSet<u64, foldhash::fast::FixedState>,
}

impl DigestClient {
    pub(crate) fn new(credentials: Option<Credentials>, ids: IdGenerator, hash_seed: u64) -> Self {
        let hash = || foldhash::fast::FixedState::with_seed(hash_seed);
        DigestClient {
            credentials,
            ids,
            nonce_counts: NonceCounts::new(hash(), MAX_NONCES),
            aliases: Map::with_hasher(hash()),
            current: Map::with_hasher(hash()),
            answered: Map::with_hasher(hash()),
            retired: HashSet::with_hasher(hash()),
        }
    }

    /// Whether no retry is being followed (nothing is left of the ones that ended).
    #[cfg(test)]
    pub(crate) fn is_idle(&self) -> bool {
        self.aliases.is_empty()
            && self.current.is_empty()
            && self.answered.is_empty()
            && self.retired.is_empty()
    }

    /// The transaction now carrying the request a user knows as `tx` (a CANCEL goes to the
    /// latest retry, §9.1).
    pub(crate) fn current(&self, tx: ClientTxId) -> ClientTxId {
        if self.current.is_empty() {
            return tx;
        }
        ClientTxId(self.current.get(&tx.0).copied().unwrap_or(tx.0))
    }

    /// Gives a report of the transaction layer the id its user knows; drops what is left of
    /// a transaction a retry replaced.
    pub(crate) fn map_up(&mut self, up: Up) -> Option<Up> {
        if self.aliases.is_empty() && self.retired.is_empty() {
            return Some(up);
        }
        let tx = match &up {
            Up::Response { tx, .. } | Up::ClientFailed { tx, .. } | Up::ClientEnded { tx } => *tx,
            _ => return Some(up),
        };
        if self.retired.contains(&tx.0) {
            if matches!(up, Up::ClientEnded { .. }) {
                self.retired.remove(&tx.0);
            }
            return None;
        }
        let Some(&user) = self.aliases.get(&tx.0) else {
            if matches!(up, Up::ClientEnded { .. }) {
                self.answered.remove(&tx.0);
            }
            return Some(up);
        };
        let user = ClientTxId(user);
        Some(match up {
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
                self.aliases.remove(&tx.0);
                self.current.remove(&user.0);
                self.answered.remove(&user.0);
                Up::ClientEnded { tx: user }
            }
            other => other,
        })
    }

    /// Answers a 401/407 to `tx` (already mapped to the id its user knows) by sending its
    /// request again with credentials; returns the retry's CSeq number if it was sent (the
    /// challenge is then not reported). `sent` is the challenged request as the transaction
    /// layer sent it; `raw` is the id of the transaction that got the challenge.
    pub(crate) fn retry(
        &mut self,
        now: Instant,
        tx: ClientTxId,
        raw: ClientTxId,
        resp: &Response,
        sent: &SentRequest,
        below: &mut impl Transactions,
    ) -> Option<u32> {
        let creds = self.credentials.clone()?;
        let challenges = challenges_in(resp);
        let kind = if resp.status() == 407 {
            ChallengeKind::Proxy
        } else {
            ChallengeKind::Www
        };
        let chosen = strongest_per_realm(
            challenges
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, c)| c),
        );
        if chosen.is_empty() {
            return None;
        }
        let answered = self.answered.get(&tx.0).map_or(&[][..], Vec::as_slice);
        // One retry per challenge: a challenge whose nonce we already answered means the
        // credentials were refused, unless the server says the nonce was merely stale.
        if chosen
            .iter()
            .any(|c| answered.iter().any(|n| **n == *c.nonce) && !c.stale)
        {
            return None;
        }
        // A second challenge after credentials were sent means they were refused — unless
        // the server says the nonce was only stale (RFC 7616 §3.3). Bounded either way, so a
        // server that hands out a fresh nonce with every refusal cannot make us loop.
        if !answered.is_empty()
            && (!chosen.iter().all(|c| c.stale) || answered.len() >= MAX_STALE_RETRIES)
        {
            return None;
        }
        let mut req = match crate::message::parse_unchecked(sent.bytes.clone(), &Default::default())
        {
            Ok(SipMessage::Request(r)) => r,
            _ => return None,
        };
        let (method, uri) = (req.method().as_str().to_owned(), req.uri_str().to_owned());
        let body = req.body().clone();
        let mut values = Vec::new();
        for c in &chosen {
            let (user, password) = creds.0.credentials(&c.realm)?;
            let nc = self.nonce_counts.next(&c.nonce);
            let cr = answer(c, &method, &uri, &body, &user, &password, nc, &mut self.ids).ok()?;
            values.push(cr.to_header_value());
        }
        let (seq, _) = req.cseq()?;
        let next_seq = seq.saturating_add(1);
        if !with_credentials(&mut req, kind, &method, next_seq, &values) {
            return None;
        }
        let new = below.send_request(now, req, sent.target.clone()).ok()?;
        let mut answered = self.answered.remove(&tx.0).unwrap_or_default();
        answered.extend(chosen.iter().map(|c| Box::<str>::from(c.nonce.as_str())));
        self.answered.insert(tx.0, answered);
        if raw != tx {
            self.aliases.remove(&raw.0);
        }
        self.retired.insert(raw.0);
        self.aliases.insert(new.0, tx.0);
        self.current.insert(tx.0, new.0);
        Some(next_seq)
    }
}

/// The client's nonce-counts (RFC 7616 §3.4): each request sent with a nonce counts one
/// more than the last, so a server that tracks counts (ours, Kamailio) never takes a reused
/// nonce for a replay. Bounded: beyond `max` nonces the one first used longest ago is
/// forgotten (a server would long have let it expire; if not, it answers `stale=true` and
/// the request is retried with a fresh nonce).
#[derive(Debug)]
struct NonceCounts {
    counts: Map<Box<str>, u32>,
    /// Nonces in the order they were first used.
    order: VecDeque<Box<str>>,
    max: usize,
}

impl NonceCounts {
    fn new(hasher: foldhash::fast::FixedState, max: usize) -> Self {
        NonceCounts {
            counts: Map::with_hasher(hasher),
            order: VecDeque::new(),
            max: max.max(1),
        }
    }

    /// The `nc` of the next request sent with `nonce`: 1, then 2, 3, ...
    fn next(&mut self, nonce: &str) -> u32 {
        if let Some(n) = self.counts.get_mut(nonce) {
            *n = n.saturating_add(1);
            return *n;
        }
        while self.order.len() >= self.max {
            if let Some(oldest) = self.order.pop_front() {
                self.counts.remove(&oldest);
            }
        }
        self.order.push_back(nonce.into());
        self.counts.insert(nonce.into(), 1);
        1
    }
}

impl CurrentTx for DigestClient {
    fn current(&self, tx: ClientTxId) -> ClientTxId {
        DigestClient::current(self, tx)
    }
}

/// `req` made ready to go again (§22.2): no Via (the layer adds a new one), the next CSeq,
/// and `values` in the credentials header `kind` asks for instead of any earlier ones.
fn with_credentials(
    req: &mut Request,
    kind: ChallengeKind,
    method: &str,
    seq: u32,
    values: &[String],
) -> bool {
    let header = kind.credentials_header();
    req.remove_header(HeaderName::Via);
    req.remove_header(header);
    if req.set_header("CSeq", &format!("{seq} {method}")).is_err() {
        return false;
    }
    values
        .iter()
        .all(|v| req.push_header(header.as_str(), v).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7616 §3.4: a reused nonce is sent with a growing nc, even after other nonces were
    /// used in between; the table keeps at most `max` nonces, forgetting the oldest first.
    #[test]
    fn nonce_counts_grow_per_nonce_and_stay_bounded() {
        let mut n = NonceCounts::new(foldhash::fast::FixedState::with_seed(1), 3);
        assert_eq!(n.next("a"), 1);
        assert_eq!(n.next("b"), 1);
        assert_eq!(n.next("a"), 2);
        assert_eq!(n.next("c"), 1);
        assert_eq!(n.next("a"), 3);
        // Full: d pushes out a, the nonce first used longest ago, and nothing else.
        assert_eq!(n.next("d"), 1);
        assert_eq!((n.counts.len(), n.order.len()), (3, 3));
        assert_eq!(n.next("b"), 2);
        assert_eq!(n.next("c"), 2);
        assert_eq!(n.next("a"), 1);
        assert_eq!((n.counts.len(), n.order.len()), (3, 3));
    }
}
