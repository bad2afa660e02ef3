//! Counters of a user agent: sip-ua's, with this crate's transport counters.

use crate::transport::TransportStats;

/// A snapshot of a user agent's counters, from
/// [`UserAgent::stats`](crate::UserAgent::stats): the endpoint's, the transports', and the
/// API's own.
pub type UaStats = sip_ua::UaStats<TransportStats>;
