//! When a table gives memory back after a peak of load: one rule for every table of the
//! core (transaction slots, key indexes, timer queues, dialog maps), so none keeps the
//! capacity of its busiest moment forever. Public so that the drivers' tables (a user
//! agent's calls and pending requests) follow the same rule.

/// Below this capacity a table is never shrunk.
pub const MIN: usize = 64;

/// The capacity a table of `len` entries and capacity `cap` should shrink to: twice its
/// entries (at least [`MIN`]) once at most a quarter of `cap` is used; `None` otherwise
/// (an O(1) check, cheap enough to make after every batch of timers).
///
/// ```
/// use std::collections::HashMap;
/// let mut calls: HashMap<u32, [u8; 64]> = (0..10_000).map(|i| (i, [0; 64])).collect();
/// calls.retain(|k, _| *k < 100);
/// if let Some(to) = sip_core::capacity::shrink_to(calls.len(), calls.capacity()) {
///     calls.shrink_to(to);
/// }
/// assert!(calls.capacity() < 1_000);
/// ```
pub fn shrink_to(len: usize, cap: usize) -> Option<usize> {
    (cap > MIN && len.saturating_mul(4) <= cap).then(|| len.saturating_mul(2).max(MIN))
}

/// A queue drained empty (the endpoint's outputs, the transaction layer's reports up) keeps
/// up to this capacity; above it, it shrinks back to [`MIN`]. A queue that a steady load
/// fills with a few entries per input never reaches it, so only a burst (every timer of a
/// peak firing at once) costs a reallocation, and the burst's memory goes back.
pub const DRAINED_QUEUE_KEEP: usize = 256;

/// The capacity a queue that is now empty should shrink to: [`MIN`] once its capacity
/// passed [`DRAINED_QUEUE_KEEP`]; `None` otherwise.
pub fn drained_shrink_to(cap: usize) -> Option<usize> {
    (cap > DRAINED_QUEUE_KEEP).then_some(MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_shrinks_to_twice_its_entries_once_a_quarter_full() {
        assert_eq!(shrink_to(0, MIN), None, "never below the minimum");
        assert_eq!(shrink_to(1000, 4000), Some(2000));
        assert_eq!(shrink_to(1001, 4000), None, "more than a quarter used");
        assert_eq!(shrink_to(10, 100_000), Some(MIN));
    }

    #[test]
    fn a_drained_queue_keeps_a_small_burst_and_gives_back_a_large_one() {
        assert_eq!(drained_shrink_to(DRAINED_QUEUE_KEEP), None);
        assert_eq!(drained_shrink_to(DRAINED_QUEUE_KEEP + 1), Some(MIN));
        assert_eq!(drained_shrink_to(8192), Some(MIN));
    }
}
