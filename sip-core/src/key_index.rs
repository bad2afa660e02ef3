//! Finding a dialog or a transaction by the strings that identify it: a dialog by its id
//! (RFC 3261 §12: Call-ID, local tag and remote tag), a transaction by its key (§17.1.3,
//! §17.2.3).
//!
//! Every in-dialog request, ACK and stray 2xx, and every message a transaction matches, is
//! looked up by such strings. The index keeps only a keyed hash of them and the entry's
//! handle; the entry holds the strings, and the caller's comparison against it settles hash
//! collisions. A lookup therefore neither allocates nor copies the strings it is given, and
//! the strings are stored once, in the entry.

use foldhash::fast::FixedState;
use hashbrown::HashTable;
use std::hash::{BuildHasher, Hasher};

/// Handles by their identifying strings: (Call-ID, local tag, remote tag) for dialogs, the
/// key for transactions.
#[derive(Debug)]
pub(crate) struct KeyIndex {
    table: HashTable<(u64, u64)>,
    hasher: FixedState,
}

impl KeyIndex {
    /// An empty index hashing with `hasher` (keyed from the endpoint seed).
    pub(crate) fn new(hasher: FixedState) -> Self {
        KeyIndex {
            table: HashTable::new(),
            hasher,
        }
    }

    /// The hash `parts` are filed under, for [`KeyIndex::find_hashed`] and
    /// [`KeyIndex::insert_new`] (one hash for a lookup followed by an insert).
    pub(crate) fn hash<P: AsRef<[u8]>>(&self, parts: &[P]) -> u64 {
        let mut h = self.hasher.build_hasher();
        for part in parts {
            h.write(part.as_ref());
            h.write_u8(0xff); // not a byte of UTF-8: ("a","bc") and ("ab","c") differ
        }
        h.finish()
    }

    /// The handle filed under `parts`, if any: among the handles whose hash matches, the
    /// first for which `is` (comparing the entry's own strings) says yes.
    pub(crate) fn find<P: AsRef<[u8]>>(
        &self,
        parts: &[P],
        is: impl Fn(u64) -> bool,
    ) -> Option<u64> {
        self.find_hashed(self.hash(parts), is)
    }

    /// [`KeyIndex::find`] with the hash of the parts already computed.
    pub(crate) fn find_hashed(&self, hash: u64, is: impl Fn(u64) -> bool) -> Option<u64> {
        self.table
            .find(hash, |&(h, id)| h == hash && is(id))
            .map(|&(_, id)| id)
    }

    /// Files `id`, which is not filed yet (a new handle), under the parts that hash to
    /// `hash`.
    pub(crate) fn insert_new(&mut self, hash: u64, id: u64) {
        debug_assert!(self.table.find(hash, |&e| e == (hash, id)).is_none());
        self.table.insert_unique(hash, (hash, id), |&(h, _)| h);
    }

    /// Files `id` under `parts`.
    pub(crate) fn insert<P: AsRef<[u8]>>(&mut self, parts: &[P], id: u64) {
        let hash = self.hash(parts);
        if self.table.find(hash, |&e| e == (hash, id)).is_none() {
            self.table.insert_unique(hash, (hash, id), |&(h, _)| h);
        }
    }

    /// Forgets `id` (filed under `parts`).
    pub(crate) fn remove<P: AsRef<[u8]>>(&mut self, parts: &[P], id: u64) {
        self.remove_hashed(self.hash(parts), id);
    }

    /// Forgets `id`, filed under the parts that hash to `hash`.
    pub(crate) fn remove_hashed(&mut self, hash: u64, id: u64) {
        if let Ok(e) = self.table.find_entry(hash, |&e| e == (hash, id)) {
            e.remove();
        }
    }

    /// Returns memory after a peak (see [`crate::capacity`]).
    pub(crate) fn shrink(&mut self) {
        if let Some(to) = crate::capacity::shrink_to(self.table.len(), self.table.capacity()) {
            self.table.shrink_to(to, |&(h, _)| h);
        }
    }

    /// How many handles are filed.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> KeyIndex {
        KeyIndex::new(FixedState::with_seed(7))
    }

    #[test]
    fn finds_by_all_three_parts() {
        let mut x = index();
        x.insert(&["c1@h", "a", "b"], 1);
        x.insert(&["c1@h", "a", "z"], 2);
        assert_eq!(x.find(&["c1@h", "a", "b"], |id| id == 1), Some(1));
        assert_eq!(x.find(&["c1@h", "a", "z"], |id| id == 2), Some(2));
        assert_eq!(x.find(&["c1@h", "b", "a"], |_| true), None);
        assert_eq!(x.find(&["c1@h", "ab", ""], |_| true), None);
    }

    #[test]
    fn hashed_lookups_and_inserts_agree_with_the_plain_ones() {
        let mut x = index();
        let h = x.hash(&["z9hG4bKa\0host:5060\0INVITE"]);
        assert_eq!(x.find_hashed(h, |_| true), None);
        x.insert_new(h, 4);
        assert_eq!(
            x.find(&["z9hG4bKa\0host:5060\0INVITE"], |id| id == 4),
            Some(4)
        );
        assert_eq!(x.find_hashed(h, |id| id == 4), Some(4));
        x.insert(&["z9hG4bKa\0host:5060\0INVITE"], 4);
        assert_eq!(x.len(), 1);
        x.remove(&["z9hG4bKa\0host:5060\0INVITE"], 4);
        assert_eq!(x.find_hashed(h, |_| true), None);
        x.insert_new(h, 5);
        x.remove_hashed(h, 5);
        assert_eq!(x.len(), 0);
    }

    #[test]
    fn the_callers_comparison_settles_a_shared_hash() {
        let mut x = index();
        // Two dialogs filed under one key (a collision, as far as the index can tell):
        // the comparison picks the one that really has those strings.
        x.insert(&["c", "l", "r"], 1);
        x.insert(&["c", "l", "r"], 2);
        assert_eq!(x.len(), 2);
        assert_eq!(x.find(&["c", "l", "r"], |id| id == 2), Some(2));
        assert_eq!(x.find(&["c", "l", "r"], |_| false), None);
    }

    #[test]
    fn insert_is_idempotent_and_remove_forgets_only_that_dialog() {
        let mut x = index();
        x.insert(&["c", "l", "r"], 1);
        x.insert(&["c", "l", "r"], 1);
        x.insert(&["c", "l", "r"], 2);
        assert_eq!(x.len(), 2);
        x.remove(&["c", "l", "r"], 1);
        assert_eq!(x.len(), 1);
        assert_eq!(x.find(&["c", "l", "r"], |_| true), Some(2));
        x.remove(&["c", "l", "r"], 2);
        x.remove(&["c", "l", "r"], 2);
        assert_eq!(x.len(), 0);
    }
}
