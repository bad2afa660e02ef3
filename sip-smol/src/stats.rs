//! Counters of a user agent.

use sip_core::endpoint::Stats;

use crate::transport::TransportStats;

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
    /// ([`UserAgent::incoming`](crate::UserAgent::incoming) not called, its stream full or
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

/// A snapshot of a user agent's counters, from
/// [`UserAgent::stats`](crate::UserAgent::stats): the endpoint's,
/// the transports', and the API's own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UaStats {
    /// The core's counters: messages received, parse errors, retransmissions, stateless
    /// answers, ...
    pub endpoint: Stats,
    /// The sockets' counters.
    pub transport: TransportStats,
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
    /// Whether the endpoint is refusing new requests with 503 for want of room.
    pub shedding: bool,
}
