//! Entries found by an id that names their slot: the client and server transactions, which
//! every request, response, timer and TU command looks up by id. A hash map would hash the id on
//! each lookup and box each entry to keep its table small; here the low bits of the id are
//! the index of the entry's slot in a vector, and a lookup is one bounds check and one
//! comparison with the id stored in the slot (so a stale id, whose slot was reused, finds
//! nothing).

/// Bits of an id that hold the slot: at most 2^24 entries live at once.
const SLOT_BITS: u32 = 24;
const SLOT_MASK: u64 = (1 << SLOT_BITS) - 1;
/// Set in every id a table gives out, so it never equals an id that is a plain serial
/// number.
const TABLE_BIT: u64 = 1 << 63;

/// One slot of the table.
#[derive(Debug)]
enum Slot<T> {
    Free,
    /// Held for an entry filed later under this id (a CANCEL waiting for a provisional
    /// response, §9.1, whose id the TU already has).
    Reserved(u64),
    Used(u64, T),
}

/// Entries of type `T` by id. Ids are made by [`IdTable::next_id`] (or taken with
/// [`IdTable::reserve`]) from a serial number the caller never repeats; an id is therefore
/// never given out twice (until the serial number passes 2^39).
#[derive(Debug)]
pub(crate) struct IdTable<T> {
    slots: Vec<Slot<T>>,
    /// Empty slots, the most recently emptied last (reused first).
    free: Vec<u32>,
    /// Entries filed (reserved slots not counted).
    len: usize,
    /// Slots at or above this index are not put back on the free list when emptied, so
    /// that after a peak the table's tail empties and [`IdTable::shrink`] can cut it off
    /// (with last-in-first-out reuse, freed high slots would be taken again at once).
    limit: usize,
}

/// Below this many slots a table is never shrunk.
const MIN_SLOTS: usize = crate::capacity::MIN;

impl<T> IdTable<T> {
    /// An empty table.
    pub(crate) fn new() -> Self {
        IdTable {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
            limit: usize::MAX,
        }
    }

    /// The id under which the next [`IdTable::insert_with`] files its entry, made from `serial`;
    /// `None` when all 2^24 slots are taken.
    pub(crate) fn next_id(&self, serial: u64) -> Option<u64> {
        let slot = match self.free.last() {
            Some(&s) => u64::from(s),
            None if (self.slots.len() as u64) <= SLOT_MASK => self.slots.len() as u64,
            None => return None,
        };
        Some(TABLE_BIT | ((serial << SLOT_BITS) & !TABLE_BIT) | slot)
    }

    /// Takes the slot of [`IdTable::next_id`] now, for an entry filed under the id later
    /// with [`IdTable::insert_with`] (or given up with [`IdTable::discard`]).
    pub(crate) fn reserve(&mut self, serial: u64) -> Option<u64> {
        let id = self.next_id(serial)?;
        self.take_slot(id)?;
        let slot = (id & SLOT_MASK) as usize;
        self.slots[slot] = Slot::Reserved(id);
        Some(id)
    }

    /// Takes the next slot for `id`, if `id` is the one [`IdTable::next_id`] gives.
    fn take_slot(&mut self, id: u64) -> Option<usize> {
        let slot = (id & SLOT_MASK) as usize;
        if id & TABLE_BIT == 0 {
            return None;
        }
        if self.free.last().is_some_and(|&s| s as usize == slot) {
            self.free.pop();
        } else if slot == self.slots.len() && self.free.is_empty() {
            self.slots.push(Slot::Free);
            if self.limit != usize::MAX {
                // Growing again after a shrink: every empty slot is reused again (those
                // above the old limit were left off the free list), lowest first.
                self.limit = usize::MAX;
                let last = slot;
                self.free = (0..last)
                    .rev()
                    .filter(|&i| matches!(self.slots[i], Slot::Free))
                    .map(|i| i as u32)
                    .collect();
            }
        } else {
            return None;
        }
        Some(slot)
    }

    /// Files the value `make` builds under `id`, which [`IdTable::next_id`] gave with no
    /// insert since, or [`IdTable::reserve`] reserved; the value is built where it is stored
    /// (a large value is not moved in). Refused (`false`, nothing filed, `make` not called)
    /// for any other id.
    #[inline(always)]
    pub(crate) fn insert_with(&mut self, id: u64, make: impl FnOnce() -> T) -> bool {
        let reserved = matches!(
            self.slots.get((id & SLOT_MASK) as usize),
            Some(Slot::Reserved(r)) if *r == id
        );
        let slot = if reserved {
            (id & SLOT_MASK) as usize
        } else {
            match self.take_slot(id) {
                Some(s) => s,
                None => return false,
            }
        };
        self.slots[slot] = Slot::Used(id, make());
        self.len += 1;
        true
    }

    /// The entry filed under `id`.
    #[inline]
    pub(crate) fn get(&self, id: &u64) -> Option<&T> {
        match self.slots.get((id & SLOT_MASK) as usize) {
            Some(Slot::Used(i, v)) if i == id => Some(v),
            _ => None,
        }
    }

    /// The entry filed under `id`, to change it.
    #[inline]
    pub(crate) fn get_mut(&mut self, id: &u64) -> Option<&mut T> {
        match self.slots.get_mut((id & SLOT_MASK) as usize) {
            Some(Slot::Used(i, v)) if i == id => Some(v),
            _ => None,
        }
    }

    /// The entries with their ids, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&u64, &T)> {
        self.slots.iter().filter_map(|s| match s {
            Slot::Used(id, v) => Some((id, v)),
            _ => None,
        })
    }

    /// Drops the entry filed (or the slot reserved) under `id` where it lies (it is not
    /// moved out of its slot); whether there was one.
    pub(crate) fn discard(&mut self, id: &u64) -> bool {
        let slot = (id & SLOT_MASK) as usize;
        let Some(s) = self.slots.get_mut(slot) else {
            return false;
        };
        let used = match s {
            Slot::Used(i, _) if i == id => true,
            Slot::Reserved(i) if i == id => false,
            _ => return false,
        };
        *s = Slot::Free;
        if slot < self.limit {
            self.free.push(slot as u32);
        }
        self.len -= usize::from(used);
        true
    }

    /// Returns memory after a peak: when at most a quarter of the slots are used, the
    /// slots above twice the entries (at least [`MIN_SLOTS`]) stop being reused, and the
    /// empty ones at the end are cut off, now and at later calls as their entries end.
    /// Ids stay valid: an entry never moves.
    pub(crate) fn shrink(&mut self) {
        if self.slots.len() <= MIN_SLOTS {
            return;
        }
        if let Some(limit) = crate::capacity::shrink_to(self.len, self.slots.len()) {
            // Lowered by halves at least, so the free list is filtered O(log n) times
            // while load falls.
            if limit <= self.limit / 2 {
                self.limit = limit;
                self.free.retain(|&s| (s as usize) < limit);
            }
        }
        let before = self.slots.len();
        while self.slots.len() > self.limit && matches!(self.slots.last(), Some(Slot::Free)) {
            self.slots.pop();
        }
        if self.slots.len() < before && self.slots.capacity() > 2 * self.slots.len() {
            self.slots.shrink_to_fit();
            self.free.shrink_to_fit();
        }
    }

    /// How many entries are filed.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// How many slots the table has (used, reserved and free).
    #[cfg(test)]
    pub(crate) fn slot_count(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_their_slots_and_are_not_reused() {
        let mut t = IdTable::new();
        let a = t.next_id(1).unwrap();
        assert!(t.insert_with(a, || "a"));
        let b = t.next_id(2).unwrap();
        assert!(t.insert_with(b, || "b"));
        assert_eq!((t.get(&a), t.get(&b), t.len()), (Some(&"a"), Some(&"b"), 2));
        assert_ne!(a, b);
        // A freed slot is reused under a new id; the old id finds nothing.
        assert!(t.discard(&a));
        assert!(!t.discard(&a));
        let c = t.next_id(3).unwrap();
        assert_eq!(c & SLOT_MASK, a & SLOT_MASK);
        assert_ne!(c, a);
        assert!(t.insert_with(c, || "c"));
        assert_eq!(t.get(&a), None);
        assert_eq!(t.get(&c), Some(&"c"));
        *t.get_mut(&c).unwrap() = "c2";
        assert_eq!(t.get(&c), Some(&"c2"));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn ids_never_equal_plain_serials_and_foreign_ids_are_refused() {
        let mut t = IdTable::new();
        let id = t.next_id(7).unwrap();
        assert!(id & TABLE_BIT != 0);
        // A plain serial, an id for another slot, an id already used: refused, nothing filed.
        assert!(!t.insert_with(7, || 1));
        assert!(!t.insert_with(id + 1, || 1));
        assert_eq!(t.len(), 0);
        assert!(t.insert_with(id, || 1));
        assert!(!t.insert_with(id, || 2));
        assert_eq!(t.get(&id), Some(&1));
        assert_eq!(t.get(&7), None);
        assert_eq!(t.get(&u64::MAX), None);
        assert!(!t.discard(&u64::MAX));
    }

    #[test]
    fn a_reserved_slot_waits_for_its_entry_and_can_be_given_up() {
        let mut t = IdTable::new();
        let r = t.reserve(1).unwrap();
        assert_eq!((t.get(&r), t.len()), (None, 0));
        // The next id is another slot; the reserved one is filed later.
        let a = t.next_id(2).unwrap();
        assert_ne!(a & SLOT_MASK, r & SLOT_MASK);
        assert!(t.insert_with(a, || "a"));
        assert!(!t.insert_with(r + 1, || "x"));
        assert!(t.insert_with(r, || "r"));
        assert!(!t.insert_with(r, || "again"));
        assert_eq!((t.get(&r), t.len()), (Some(&"r"), 2));
        // A reservation given up frees its slot, and counts for nothing.
        let q = t.reserve(3).unwrap();
        assert!(t.discard(&q));
        assert!(!t.discard(&q));
        assert_eq!(t.len(), 2);
        assert_eq!(t.iter().count(), 2);
    }

    #[test]
    fn after_a_peak_the_empty_tail_is_cut_off_and_ids_stay_valid() {
        let mut t = IdTable::new();
        let ids: Vec<u64> = (0..10_000u64)
            .map(|s| {
                let id = t.next_id(s).unwrap();
                assert!(t.insert_with(id, || s));
                id
            })
            .collect();
        // Keep one entry low and one high; the rest end.
        let (low, high) = (ids[10], ids[9_000]);
        for &id in &ids {
            if id != low && id != high {
                assert!(t.discard(&id));
            }
        }
        t.shrink();
        // The slot of `high` pins the tail: nothing past it can go yet.
        assert_eq!(t.slot_count(), 9_001);
        // New entries take low slots, not the freed high ones.
        let fresh: Vec<u64> = (20_000..20_050u64)
            .map(|s| {
                let id = t.next_id(s).unwrap();
                assert!(t.insert_with(id, || s));
                id
            })
            .collect();
        assert!(fresh.iter().all(|id| (id & SLOT_MASK) < MIN_SLOTS as u64));
        assert!(t.discard(&high));
        t.shrink();
        assert!(t.slot_count() <= MIN_SLOTS, "{}", t.slot_count());
        assert_eq!(t.get(&low), Some(&10));
        assert!(fresh.iter().all(|id| t.get(id).is_some()));
        assert_eq!(t.len(), 51);
        // Growing again past the limit works as before.
        for s in 30_000..32_000u64 {
            let id = t.next_id(s).unwrap();
            assert!(t.insert_with(id, || s));
        }
        assert_eq!(t.len(), 2_051);
    }

    #[test]
    fn it_matches_a_map_through_a_random_workload() {
        use std::collections::HashMap;
        let mut t = IdTable::new();
        let mut m: HashMap<u64, u32> = HashMap::new();
        let mut live: Vec<u64> = Vec::new();
        let mut rng = fastrand::Rng::with_seed(3);
        for serial in 0..20_000u64 {
            if live.is_empty() || rng.u8(..) < 140 {
                let id = t.next_id(serial).unwrap();
                assert!(!m.contains_key(&id));
                assert!(t.insert_with(id, || serial as u32));
                m.insert(id, serial as u32);
                live.push(id);
            } else {
                let id = live.swap_remove(rng.usize(..live.len()));
                assert!(t.discard(&id));
                assert!(m.remove(&id).is_some());
                assert!(!t.discard(&id));
                assert_eq!(t.get(&id), None);
            }
            assert_eq!(t.len(), m.len());
            if serial % 97 == 0 {
                t.shrink();
            }
        }
        for (id, v) in &m {
            assert_eq!(t.get(id), Some(v));
        }
        let mut listed: Vec<(u64, u32)> = t.iter().map(|(i, v)| (*i, *v)).collect();
        let mut want: Vec<(u64, u32)> = m.into_iter().collect();
        listed.sort_unstable();
        want.sort_unstable();
        assert_eq!(listed, want);
    }
}
