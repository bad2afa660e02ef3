//! The resolver's cache (RFC 1035 §7.4, RFC 2308): answers kept for their TTL, keyed by name
//! and record type, negative answers (NXDOMAIN, NODATA) too for a bounded time. Bounded in
//! entries: when full, expired entries go first, else the one closest to expiry.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{RecordData, RecordType};

type Map<V> = HashMap<Box<str>, V, foldhash::fast::FixedState>;

#[derive(Debug, Clone)]
struct Entry {
    /// Empty: a negative answer.
    records: Arc<[RecordData]>,
    expires: Instant,
}

/// The cache. `now` is always passed in.
#[derive(Debug)]
pub(crate) struct DnsCache {
    /// One map per record type, so a lookup by `&str` needs no key allocation.
    maps: [Map<Entry>; 4],
    max_entries: usize,
    max_ttl: u32,
    max_negative_ttl: u32,
}

impl DnsCache {
    pub(crate) fn new(
        max_entries: usize,
        max_ttl: u32,
        max_negative_ttl: u32,
        hash_seed: u64,
    ) -> Self {
        let m = || Map::with_hasher(foldhash::fast::FixedState::with_seed(hash_seed));
        DnsCache {
            maps: [m(), m(), m(), m()],
            max_entries,
            max_ttl,
            max_negative_ttl,
        }
    }

    /// Entries held, expired ones not yet evicted included.
    pub(crate) fn len(&self) -> usize {
        self.maps.iter().map(HashMap::len).sum()
    }

    /// A live answer for `name`/`rtype`: its records, empty for a cached negative answer.
    pub(crate) fn get(
        &self,
        now: Instant,
        name: &str,
        rtype: RecordType,
    ) -> Option<Arc<[RecordData]>> {
        let e = self.maps[rtype as usize].get(name)?;
        (e.expires > now).then(|| e.records.clone())
    }

    /// Keeps an answer: `records` for the smallest of their TTLs (at most the cap), or a
    /// negative answer (`records` empty) for `negative_ttl` capped at the negative cap.
    pub(crate) fn put(
        &mut self,
        now: Instant,
        name: &str,
        rtype: RecordType,
        records: Arc<[RecordData]>,
        ttl: u32,
    ) {
        let cap = if records.is_empty() {
            self.max_negative_ttl
        } else {
            self.max_ttl
        };
        let ttl = ttl.min(cap);
        if ttl == 0 || self.max_entries == 0 {
            return;
        }
        if !self.maps[rtype as usize].contains_key(name) && self.len() >= self.max_entries {
            self.evict(now);
        }
        let expires = now + Duration::from_secs(u64::from(ttl));
        self.maps[rtype as usize].insert(name.into(), Entry { records, expires });
    }

    /// Makes room for one entry: every expired entry goes; if none was, the entry closest
    /// to expiry.
    fn evict(&mut self, now: Instant) {
        let before = self.len();
        for m in &mut self.maps {
            m.retain(|_, e| e.expires > now);
        }
        if self.len() < before {
            return;
        }
        let soonest = self
            .maps
            .iter()
            .enumerate()
            .flat_map(|(i, m)| m.iter().map(move |(k, e)| (e.expires, i, k)))
            .min_by_key(|(at, _, _)| *at)
            .map(|(_, i, k)| (i, k.clone()));
        if let Some((i, k)) = soonest {
            self.maps[i].remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn a(last: u8) -> Arc<[RecordData]> {
        Arc::from(vec![RecordData::A(Ipv4Addr::new(192, 0, 2, last))])
    }

    #[test]
    fn answers_live_for_their_ttl_keyed_by_name_and_type() {
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        let mut c = DnsCache::new(8, 3600, 30, 1);
        c.put(t0, "example.test", RecordType::A, a(1), 60);
        assert!(c.get(t0, "example.test", RecordType::A).is_some());
        assert!(c.get(t0, "example.test", RecordType::Aaaa).is_none());
        assert!(c.get(t0, "other.test", RecordType::A).is_none());
        let later = t0 + Duration::from_secs(59);
        assert!(c.get(later, "example.test", RecordType::A).is_some());
        let gone = t0 + Duration::from_secs(60);
        assert!(c.get(gone, "example.test", RecordType::A).is_none());
    }

    /// RFC 2308: negative answers are cached, for at most the negative cap; TTL 0 is not.
    #[test]
    fn negative_answers_are_capped() {
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        let mut c = DnsCache::new(8, 3600, 30, 1);
        c.put(t0, "nx.test", RecordType::Naptr, Arc::from(vec![]), 86400);
        let hit = c.get(t0 + Duration::from_secs(29), "nx.test", RecordType::Naptr);
        assert!(hit.is_some_and(|r| r.is_empty()));
        assert!(
            c.get(t0 + Duration::from_secs(30), "nx.test", RecordType::Naptr)
                .is_none()
        );
        c.put(t0, "zero.test", RecordType::A, a(1), 0);
        assert!(c.get(t0, "zero.test", RecordType::A).is_none());
    }

    #[test]
    fn bounded_in_entries() {
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        let mut c = DnsCache::new(2, 3600, 30, 1);
        c.put(t0, "a.test", RecordType::A, a(1), 10);
        c.put(t0, "b.test", RecordType::A, a(2), 100);
        c.put(t0, "c.test", RecordType::A, a(3), 100);
        assert_eq!(c.len(), 2);
        // The one closest to expiry went.
        assert!(c.get(t0, "a.test", RecordType::A).is_none());
        assert!(c.get(t0, "c.test", RecordType::A).is_some());
        // Expired entries go first.
        let t1 = t0 + Duration::from_secs(200);
        c.put(t1, "d.test", RecordType::A, a(4), 100);
        assert_eq!(c.len(), 1);
    }
}
