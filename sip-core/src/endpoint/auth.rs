//! The digest client inside the endpoint (RFC 3261 §22.2, §8.1.3.5): a 401 or 407 to any
//! request we sent (INVITE included) is answered by re-sending the request with credentials
//! from the configured [`CredentialsSource`], a new CSeq and a new branch — once per
//! challenge, never looping on a wrong password. The TU keeps the id it was given: events of
//! the re-sent transaction carry the original [`ClientTxId`].

use super::*;
use crate::auth::{ChallengeKind, CredentialsSource, answer, challenges_in, strongest_per_realm};
use crate::message::HeaderName;
use std::sync::Arc;

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

/// Nonces counted at once before the oldest are forgotten (a bound on the `nc` table).
const MAX_NONCES: usize = 1024;

impl Endpoint {
    /// Tries to answer a 401/407 to client transaction `id`; `true` if the request was
    /// re-sent (the challenge is then not reported to the TU).
    pub(super) fn retry_with_credentials(
        &mut self,
        now: Instant,
        id: u64,
        resp: &Response,
    ) -> bool {
        let Some(creds) = self.config.credentials.clone() else {
            return false;
        };
        let Some(tx) = self.clients.get(&id) else {
            return false;
        };
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
            return false;
        }
        // One retry per challenge: a challenge whose nonce we already answered means the
        // credentials were refused, unless the server says the nonce was merely stale.
        if chosen
            .iter()
            .any(|c| tx.answered_nonces().iter().any(|n| **n == *c.nonce) && !c.stale)
        {
            return false;
        }
        // A second challenge after credentials were sent means they were refused — unless
        // the server says the nonce was only stale (RFC 7616 §3.3). Bounded either way, so a
        // server that hands out a fresh nonce with every refusal cannot make us loop.
        if !tx.answered_nonces().is_empty()
            && (!chosen.iter().all(|c| c.stale) || tx.answered_nonces().len() >= 4)
        {
            return false;
        }
        let Some(mut req) = super::sent_request(&tx.bytes) else {
            return false;
        };
        let (method, uri) = (req.method().as_str().to_owned(), req.uri_str().to_owned());
        let body = req.body().clone();
        let mut values = Vec::new();
        for c in &chosen {
            let Some((user, password)) = creds.0.credentials(&c.realm) else {
                return false;
            };
            let nc = {
                if self.nonce_counts.len() >= MAX_NONCES {
                    self.nonce_counts.clear();
                }
                let n = self.nonce_counts.entry(c.nonce.clone().into()).or_insert(0);
                *n += 1;
                *n
            };
            match answer(c, &method, &uri, &body, &user, &password, nc, &mut self.ids) {
                Ok(cr) => values.push(cr.to_header_value()),
                Err(_) => return false,
            }
        }
        let Some((seq, _)) = req.cseq() else {
            return false;
        };
        let next_seq = seq.saturating_add(1);
        let header = kind.credentials_header();
        req.remove_header(HeaderName::Via);
        req.remove_header(header);
        if req
            .set_header("CSeq", &format!("{next_seq} {method}"))
            .is_err()
        {
            return false;
        }
        for v in &values {
            if req.push_header(header.as_str(), v).is_err() {
                return false;
            }
        }
        let target = Target::new(tx.transport, tx.destination);
        let mut answered: Vec<Box<str>> = tx.answered_nonces().to_vec();
        answered.extend(chosen.iter().map(|c| Box::<str>::from(c.nonce.as_str())));
        let original = self.tx_alias.get(&id).copied().unwrap_or(id);
        let Ok(new) = self.send_request(now, req, target) else {
            return false;
        };
        if let Some(t) = self.clients.get_mut(&new.0) {
            t.extra_mut().answered_nonces = answered;
        }
        self.tx_alias.insert(new.0, original);
        // The dialog layer follows the new transaction and its CSeq (§12.2.1.1).
        if let Some(u) = self.tx_usage.remove(&id) {
            self.tx_usage.insert(new.0, u);
            self.follow_retry(u, ClientTxId(id), new, next_seq);
        }
        true
    }
}
