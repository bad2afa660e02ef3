//! The endpoint's timer queue: a binary min-heap of deadlines keyed by `Instant`.
//!
//! Every transaction (and later dialog) keeps its own armed timers; the queue only remembers
//! *who* wants to be woken *when*. Entries are never removed in place: when an owner re-arms or
//! terminates, its old entry stays in the heap and is recognised as stale when it pops (the
//! owner's own deadline no longer matches). Scheduling and popping are O(log n), so the cost of
//! `Endpoint::handle_timeout` per fired timer stays O(log n) with 100,000
//! live transactions. [`TimerQueue::compact`] bounds the stale entries.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::time::Instant;

/// One scheduled wake-up.
#[derive(Debug, Clone, Copy)]
struct Entry<K> {
    at: Instant,
    /// Insertion order: equal deadlines fire first-scheduled first, so runs replay exactly.
    seq: u64,
    key: K,
}

impl<K> PartialEq for Entry<K> {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at && self.seq == other.seq
    }
}
impl<K> Eq for Entry<K> {}
impl<K> PartialOrd for Entry<K> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<K> Ord for Entry<K> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// A min-heap of `(deadline, key)` pairs with deterministic tie-breaking.
///
/// ```
/// use std::time::{Duration, Instant};
/// use sip_core::timer::TimerQueue;
/// let t0 = Instant::now();
/// let mut q = TimerQueue::new();
/// q.schedule(t0 + Duration::from_millis(500), "A");
/// q.schedule(t0 + Duration::from_millis(200), "Trying");
/// assert_eq!(q.next_deadline(), Some(t0 + Duration::from_millis(200)));
/// assert_eq!(q.pop_due(t0 + Duration::from_secs(1)), Some((t0 + Duration::from_millis(200), "Trying")));
/// assert_eq!(q.pop_due(t0 + Duration::from_millis(499)), None);
/// // An owner that re-armed away from its entry: `next_live` skips (and drops) it.
/// q.schedule(t0 + Duration::from_millis(600), "B");
/// assert_eq!(q.next_live(|_, k| *k != "A"), Some(t0 + Duration::from_millis(600)));
/// assert_eq!(q.len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct TimerQueue<K> {
    heap: BinaryHeap<Reverse<Entry<K>>>,
    seq: u64,
}

impl<K> Default for TimerQueue<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K> TimerQueue<K> {
    /// An empty queue.
    pub fn new() -> Self {
        Self {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }

    /// Asks to be woken at `at` for `key`.
    pub fn schedule(&mut self, at: Instant, key: K) {
        self.seq = self.seq.wrapping_add(1);
        self.heap.push(Reverse(Entry {
            at,
            seq: self.seq,
            key,
        }));
    }

    /// The earliest deadline in the queue (stale entries included: an early wake-up that
    /// finds nothing to do is harmless).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse(e)| e.at)
    }

    /// The key of the earliest entry.
    pub fn peek_key(&self) -> Option<&K> {
        self.heap.peek().map(|Reverse(e)| &e.key)
    }

    /// The earliest deadline whose entry its owner still waits for (`live`), dropping the
    /// stale entries in front of it: what a layer's `poll_timeout` answers.
    pub fn next_live(&mut self, live: impl Fn(Instant, &K) -> bool) -> Option<Instant> {
        loop {
            let at = self.next_deadline()?;
            if self.peek_key().is_some_and(|k| live(at, k)) {
                return Some(at);
            }
            self.heap.pop();
        }
    }

    /// Removes and returns the earliest entry whose deadline is at or before `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<(Instant, K)> {
        if self.heap.peek().is_some_and(|Reverse(e)| e.at <= now) {
            self.heap.pop().map(|Reverse(e)| (e.at, e.key))
        } else {
            None
        }
    }

    /// Removes the earliest entry if it is `(at, key)`: an entry its owner re-armed away
    /// from, dropped now rather than found stale by every later look at the front (the
    /// usual case: a timer cancelled by the very next input, such as the `100 Trying`
    /// timer of an INVITE the TU answered at once). Whether it did.
    pub fn discard_first(&mut self, at: Instant, key: &K) -> bool
    where
        K: PartialEq,
    {
        if self
            .heap
            .peek()
            .is_some_and(|Reverse(e)| e.at == at && e.key == *key)
        {
            self.heap.pop();
            true
        } else {
            false
        }
    }

    /// Number of entries, stale ones included.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether the queue holds no entry.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Drops every entry for which `live` says no (O(n)); the endpoint calls it when stale
    /// entries outnumber live owners, so memory stays proportional to live state.
    pub fn compact(&mut self, mut live: impl FnMut(Instant, &K) -> bool) {
        self.heap.retain(|Reverse(e)| live(e.at, &e.key));
    }

    /// Returns memory after a peak: when at most a quarter of the capacity is used, the
    /// capacity drops to twice the entries (at least 1024).
    pub fn shrink(&mut self) {
        if let Some(to) = crate::capacity::shrink_to(self.heap.len(), self.heap.capacity()) {
            self.heap.shrink_to(to);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Tests need some base instant; the core's code never reads the clock.
    #[allow(clippy::disallowed_methods)]
    fn base() -> Instant {
        Instant::now()
    }

    #[test]
    fn pops_in_deadline_then_insertion_order() {
        let t0 = base();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut q = TimerQueue::new();
        q.schedule(ms(300), 1);
        q.schedule(ms(100), 2);
        q.schedule(ms(300), 3);
        q.schedule(ms(100), 4);
        let mut out = vec![];
        while let Some((_, k)) = q.pop_due(ms(1000)) {
            out.push(k);
        }
        assert_eq!(out, vec![2, 4, 1, 3]);
        assert!(q.is_empty());
    }

    #[test]
    fn nothing_pops_before_its_deadline() {
        let t0 = base();
        let mut q = TimerQueue::new();
        q.schedule(t0 + Duration::from_secs(32), 'B');
        assert_eq!(q.pop_due(t0 + Duration::from_millis(31_999)), None);
        assert_eq!(q.len(), 1);
        assert_eq!(
            q.pop_due(t0 + Duration::from_secs(32)).map(|e| e.1),
            Some('B')
        );
    }

    #[test]
    fn discard_first_removes_only_that_entry_at_the_front() {
        let t0 = base();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut q = TimerQueue::new();
        q.schedule(ms(200), 'T');
        q.schedule(ms(32_000), 'L');
        // Not at the front, or another key or instant: nothing happens.
        assert!(!q.discard_first(ms(32_000), &'L'));
        assert!(!q.discard_first(ms(200), &'L'));
        assert!(!q.discard_first(ms(201), &'T'));
        assert_eq!(q.len(), 2);
        assert!(q.discard_first(ms(200), &'T'));
        assert_eq!(q.next_deadline(), Some(ms(32_000)));
        assert!(q.discard_first(ms(32_000), &'L'));
        assert!(q.is_empty());
        assert!(!q.discard_first(ms(0), &'T'));
    }

    #[test]
    fn compact_keeps_only_live_entries() {
        let t0 = base();
        let mut q = TimerQueue::new();
        for i in 0..100u32 {
            q.schedule(t0 + Duration::from_millis(u64::from(i)), i);
        }
        q.compact(|_, k| k % 10 == 0);
        assert_eq!(q.len(), 10);
        assert_eq!(q.next_deadline(), Some(t0));
    }
}
