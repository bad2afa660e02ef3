//! Counters of a user agent.

use sip_core::endpoint::Stats;

/// What one driver task (one endpoint shard) counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ShardStats {
    pub endpoint: Stats,
    pub calls: CallStats,
    pub active_calls: usize,
    pub dialogs: usize,
    pub client_transactions: usize,
    pub server_transactions: usize,
    pub lingering_transactions: usize,
    pub shedding: bool,
}

/// Calls and requests as the user-agent API saw them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallStats {
    /// INVITEs sent for new calls.
    pub placed: u64,
    /// INVITEs received for new calls.
    pub received: u64,
    /// Calls (placed or received) that reached the confirmed state (RFC 3261 §12).
    pub answered: u64,
    /// Calls that ended without being answered (rejected, cancelled, timed out).
    pub failed: u64,
    /// Calls the stack declined because no one was taking calls
    /// (the user agent's `incoming` not called, its stream full or
    /// dropped, or shutting down), with the core's answer for it (480, or 503).
    pub unhandled: u64,
    /// Out-of-dialog requests the stack answered because no one was taking them, with the
    /// core's answer for it (OPTIONS 200, other methods 405, 503 when behind or closing).
    pub requests_auto_answered: u64,
    /// Transfers (REFER) received.
    pub transfers_received: u64,
    /// Transfers (REFER) sent.
    pub transfers_sent: u64,
}

impl CallStats {
    fn add(&mut self, o: &CallStats) {
        self.placed += o.placed;
        self.received += o.received;
        self.answered += o.answered;
        self.failed += o.failed;
        self.unhandled += o.unhandled;
        self.requests_auto_answered += o.requests_auto_answered;
        self.transfers_received += o.transfers_received;
        self.transfers_sent += o.transfers_sent;
    }
}

/// A snapshot of a user agent's counters, from the runtime crate's `UserAgent::stats`:
/// the endpoint's (summed over shards), the transports' (`T`, the runtime crate's
/// `TransportStats`, which names this type `UaStats`), and the API's own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UaStats<T> {
    /// The core's counters: messages received, parse errors, retransmissions, stateless
    /// answers, ...
    pub endpoint: Stats,
    /// The sockets' counters.
    pub transport: T,
    /// Calls placed, received, answered, failed.
    pub calls: CallStats,
    /// Calls with a live handle or not yet over.
    pub active_calls: usize,
    /// Dialogs the core holds (terminated ones linger 64·T1 to absorb late messages).
    pub dialogs: usize,
    /// Client transactions alive in the core.
    pub client_transactions: usize,
    /// Server transactions alive in the core.
    pub server_transactions: usize,
    /// Of those client and server transactions, the lingering ones: answered, kept only to
    /// absorb retransmissions until their timer (64·T1 over UDP).
    pub lingering_transactions: usize,
    /// Whether any shard is refusing new requests with 503 for want of room.
    pub shedding: bool,
}

impl<T> UaStats<T> {
    pub(crate) fn add_shard(&mut self, s: &ShardStats) {
        let e = &mut self.endpoint;
        let o = &s.endpoint;
        e.received += o.received;
        e.parse_errors += o.parse_errors;
        e.stateless_responses += o.stateless_responses;
        e.misrouted_responses += o.misrouted_responses;
        e.retransmissions += o.retransmissions;
        e.absorbed_retransmissions += o.absorbed_retransmissions;
        e.overload_rejections += o.overload_rejections;
        e.unknown_dialog += o.unknown_dialog;
        self.calls.add(&s.calls);
        self.active_calls += s.active_calls;
        self.dialogs += s.dialogs;
        self.client_transactions += s.client_transactions;
        self.server_transactions += s.server_transactions;
        self.lingering_transactions += s.lingering_transactions;
        self.shedding |= s.shedding;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_add_up() {
        let mut s = ShardStats::default();
        s.endpoint.received = 3;
        s.endpoint.retransmissions = 1;
        s.calls.answered = 2;
        s.active_calls = 1;
        s.server_transactions = 4;
        let mut total = UaStats::<()>::default();
        total.add_shard(&s);
        total.add_shard(&s);
        assert_eq!(total.endpoint.received, 6);
        assert_eq!(total.endpoint.retransmissions, 2);
        assert_eq!(total.calls.answered, 4);
        assert_eq!(total.active_calls, 2);
        assert_eq!(total.server_transactions, 8);
        assert_eq!(total.client_transactions, 0);
    }
}
