//! What a stream transport (TCP, TLS) allows each peer, as one sans-IO policy both drivers
//! apply: how many connections, how long a message may take to arrive, how long a
//! connection may sit idle, and how many bytes may wait to be written to a peer.
//!
//! RFC 3261 §18.3 frames messages on a stream with Content-Length and says nothing of a
//! peer that opens connections and sends nothing, sends a message one byte at a time, or
//! never reads what it is sent; RFC 5626 §3.5.1 and §4.4.1 have a client that wants its
//! flow kept send a CRLF ping every 95–120 s. Every resource such a peer could hold is
//! bounded here:
//!
//! * [`Admission`] counts open connections, in total and per source ([`SourceKey`]: an
//!   IPv4 address, or an IPv6 /64 since one host is handed a whole /64), and refuses one
//!   more past either limit ([`Refusal`]). A [`Permit`] stands for an admitted connection
//!   and must be handed back when it closes.
//! * [`StreamTimer`] is one connection's clock: once the first byte of a message has
//!   arrived the whole message must follow within [`StreamLimits::message_deadline`] (more
//!   bytes of the same message do not move that deadline, so a trickle cannot hold the
//!   connection), and a connection that brings no complete message and no keep-alive for
//!   [`StreamLimits::idle_timeout`] is closed. Keep-alive line ends between messages are not
//!   a message in progress.
//! * [`StreamLimits::check_output`] decides whether one more message may be queued for a
//!   peer: a connection whose unwritten bytes would pass
//!   [`StreamLimits::max_output_per_connection`] belongs to a peer that does not read, and
//!   is closed (its queue freed); past [`StreamLimits::max_output_total`] across all
//!   connections the connection asking is closed too, so memory stays bounded whatever
//!   the peers do.
//!
//! The drivers read the clock and the sockets and apply the answers ([`CloseReason`],
//! [`Refusal`]); the rules are all here.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use sip_core::transport::limits::{CloseReason, ReadProgress, StreamLimits, StreamTimer};
//! let limits = StreamLimits::default();
//! let t0 = Instant::now(); // a driver's clock; the core only takes instants
//! let mut timer = StreamTimer::new(&limits, t0);
//! // The first byte of a message, then one more byte every 2 s.
//! for i in 0..30 {
//!     let now = t0 + Duration::from_secs(2 * i);
//!     timer.on_read(now, ReadProgress { messages: 0, keepalives: 0, in_progress: true });
//! }
//! let late = t0 + limits.message_deadline;
//! assert_eq!(timer.expired(late), Some(CloseReason::MessageDeadline));
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The limits of stream connections. `Default` is meant for a server on the open internet;
/// each field says what its default protects against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    /// Connections open at once, accepted and outgoing together (default 4,096). Bounds
    /// file descriptors and per-connection memory whatever the number of peers.
    pub max_connections: usize,
    /// Accepted connections open at once from one source ([`SourceKey`]: an IPv4 address or
    /// an IPv6 /64), default 64. One address cannot take every connection slot: 4,096
    /// idle connections from one host leave the other 4,032 slots to everyone else, and
    /// exhausting the total takes 64 sources. Raise it for many clients behind one NAT.
    /// Outgoing connections do not count against their destination.
    pub max_connections_per_source: usize,
    /// Once the first byte of a message has arrived, the whole message must have arrived
    /// within this (default 20 s). Defeats slowloris: bytes of the same message do not move
    /// the deadline. A 64 KiB message needs only ~26 kbit/s to make it, and a typical
    /// message of 1–2 KB a few hundred bit/s.
    pub message_deadline: Duration,
    /// A connection that brings no complete message and no keep-alive (RFC 5626 §3.5.1
    /// ping or pong) for this long is closed (default 120 s: RFC 5626 §4.4.1 clients ping
    /// every 95–120 s, so a flow kept alive by pings stays open). What we write does not
    /// count: a peer must send to keep a connection.
    pub idle_timeout: Duration,
    /// Bytes that may wait to be written to one connection (default 1 MiB, sixteen
    /// messages of the 64 KiB maximum). Only a peer that stops reading lets this much
    /// pile up above its socket buffers; its connection is closed and the queue freed.
    pub max_output_per_connection: usize,
    /// Bytes that may wait to be written across all connections (default 64 MiB). The
    /// last bound on memory: a message that would pass it closes the connection it was
    /// for.
    pub max_output_total: usize,
    /// A TLS connection, accepted or outgoing, must complete its handshake within this
    /// (default 10 s) or is closed (an outgoing one with a transport error, RFC 3261
    /// §18.4). A peer that opens a connection and never finishes the handshake holds a
    /// slot no longer than this; the message deadline applies once it is done.
    pub handshake_deadline: Duration,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            max_connections: 4096,
            max_connections_per_source: 64,
            message_deadline: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(120),
            max_output_per_connection: 1 << 20,
            max_output_total: 64 << 20,
            handshake_deadline: Duration::from_secs(10),
        }
    }
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// [`StreamLimits::max_connections`] are open.
    ConnectionLimit,
    /// [`StreamLimits::max_connections_per_source`] are open from this source.
    SourceLimit,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::ConnectionLimit => "connection limit reached",
            Refusal::SourceLimit => "per-source connection limit reached",
        })
    }
}

/// Why the policy closes a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// A message begun did not complete within [`StreamLimits::message_deadline`].
    MessageDeadline,
    /// No complete message and no keep-alive for [`StreamLimits::idle_timeout`].
    Idle,
    /// The connection's unwritten bytes would pass
    /// [`StreamLimits::max_output_per_connection`]: the peer does not read.
    OutputCap,
    /// Unwritten bytes across all connections would pass
    /// [`StreamLimits::max_output_total`].
    OutputBudget,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CloseReason::MessageDeadline => "message not complete within the deadline",
            CloseReason::Idle => "idle",
            CloseReason::OutputCap => "output queue over its cap: the peer does not read",
            CloseReason::OutputBudget => "total output budget exhausted",
        })
    }
}

/// Bytes waiting to be written, on one connection and on all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Queued {
    /// On the connection a message is for.
    pub connection: usize,
    /// Across all connections (that one included).
    pub total: usize,
}

impl StreamLimits {
    /// Whether a message of `len` bytes may join the output queues `queued`; an `Err` names
    /// why the connection must close instead (the message is not queued).
    ///
    /// ```
    /// use sip_core::transport::limits::{CloseReason, Queued, StreamLimits};
    /// let l = StreamLimits { max_output_per_connection: 100, max_output_total: 150, ..Default::default() };
    /// assert_eq!(l.check_output(Queued { connection: 60, total: 60 }, 40), Ok(()));
    /// assert_eq!(l.check_output(Queued { connection: 60, total: 60 }, 41), Err(CloseReason::OutputCap));
    /// assert_eq!(l.check_output(Queued { connection: 0, total: 140 }, 20), Err(CloseReason::OutputBudget));
    /// ```
    pub fn check_output(&self, queued: Queued, len: usize) -> Result<(), CloseReason> {
        if queued.connection.saturating_add(len) > self.max_output_per_connection {
            return Err(CloseReason::OutputCap);
        }
        if queued.total.saturating_add(len) > self.max_output_total {
            return Err(CloseReason::OutputBudget);
        }
        Ok(())
    }
}

/// The source a connection counts against for
/// [`StreamLimits::max_connections_per_source`]: an IPv4 address, or the /64 prefix of an
/// IPv6 address (a host usually holds a whole /64, RFC 4291 §2.5.4, and could otherwise
/// take a new address for every connection). An IPv4-mapped IPv6 address counts as its
/// IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SourceKey {
    /// An IPv4 address.
    V4(std::net::Ipv4Addr),
    /// The first 64 bits of an IPv6 address.
    V6Prefix(u64),
}

impl SourceKey {
    /// The source `ip` counts as.
    ///
    /// ```
    /// use sip_core::transport::limits::SourceKey;
    /// let a = SourceKey::of("2001:db8:1:2::7".parse().unwrap());
    /// let b = SourceKey::of("2001:db8:1:2:ffff::1".parse().unwrap());
    /// assert_eq!(a, b);
    /// assert_ne!(a, SourceKey::of("2001:db8:1:3::7".parse().unwrap()));
    /// ```
    pub fn of(ip: IpAddr) -> SourceKey {
        match ip {
            IpAddr::V4(v4) => SourceKey::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => SourceKey::V4(v4),
                None => {
                    let bits = u128::from(v6);
                    SourceKey::V6Prefix((bits >> 64) as u64)
                }
            },
        }
    }
}

/// An admitted connection's place in the counts of an [`Admission`]: hand it back with
/// [`Admission::release`] when the connection closes. It cannot be copied, so a
/// connection is released at most once.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a permit not released holds its connection slot forever"]
pub struct Permit {
    /// The source it counts against; `None` for an outgoing connection.
    source: Option<SourceKey>,
}

impl Permit {
    /// The source the connection counts against (`None`: an outgoing connection).
    pub fn source(&self) -> Option<SourceKey> {
        self.source
    }
}

/// Counts open connections, in total and per source, and admits or refuses new ones
/// ([`StreamLimits::max_connections`], [`StreamLimits::max_connections_per_source`]).
///
/// ```
/// use sip_core::transport::limits::{Admission, Refusal, StreamLimits};
/// let mut a = Admission::new(StreamLimits { max_connections: 3, max_connections_per_source: 2, ..Default::default() });
/// let ip = "192.0.2.1".parse().unwrap();
/// let p1 = a.admit_inbound(ip).unwrap();
/// let _p2 = a.admit_inbound(ip).unwrap();
/// assert_eq!(a.admit_inbound(ip), Err(Refusal::SourceLimit));
/// let _p3 = a.admit_outbound().unwrap();
/// assert_eq!(a.admit_inbound("192.0.2.2".parse().unwrap()), Err(Refusal::ConnectionLimit));
/// a.release(p1);
/// assert!(a.admit_inbound(ip).is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct Admission {
    limits: StreamLimits,
    open: usize,
    /// Open accepted connections per source; only sources with at least one. A B-tree,
    /// so peers choosing their addresses cannot degrade it.
    per_source: BTreeMap<SourceKey, usize>,
}

impl Admission {
    /// No connection open yet.
    pub fn new(limits: StreamLimits) -> Self {
        Admission {
            limits,
            open: 0,
            per_source: BTreeMap::new(),
        }
    }

    /// The limits applied.
    pub fn limits(&self) -> &StreamLimits {
        &self.limits
    }

    /// Connections admitted and not yet released.
    pub fn open(&self) -> usize {
        self.open
    }

    /// Connections admitted from `ip`'s source and not yet released.
    pub fn open_from(&self, ip: IpAddr) -> usize {
        self.per_source
            .get(&SourceKey::of(ip))
            .copied()
            .unwrap_or(0)
    }

    /// Admits a connection accepted from `peer`, unless the total or `peer`'s source is at
    /// its limit.
    pub fn admit_inbound(&mut self, peer: IpAddr) -> Result<Permit, Refusal> {
        if self.open >= self.limits.max_connections {
            return Err(Refusal::ConnectionLimit);
        }
        let source = SourceKey::of(peer);
        let count = self.per_source.get(&source).copied().unwrap_or(0);
        if count >= self.limits.max_connections_per_source {
            return Err(Refusal::SourceLimit);
        }
        self.per_source.insert(source, count + 1);
        self.open += 1;
        Ok(Permit {
            source: Some(source),
        })
    }

    /// Admits a connection we open, unless the total is at its limit (the destination's
    /// source count does not apply: we chose to connect).
    pub fn admit_outbound(&mut self) -> Result<Permit, Refusal> {
        if self.open >= self.limits.max_connections {
            return Err(Refusal::ConnectionLimit);
        }
        self.open += 1;
        Ok(Permit { source: None })
    }

    /// Hands back the permit of a connection that closed.
    pub fn release(&mut self, permit: Permit) {
        self.open = self.open.saturating_sub(1);
        if let Some(source) = permit.source
            && let Some(count) = self.per_source.get_mut(&source)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.per_source.remove(&source);
            }
        }
    }
}

/// What one pass of framing over newly read bytes found (see
/// [`StreamReader`](super::keepalive::StreamReader)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadProgress {
    /// Messages completed.
    pub messages: u64,
    /// Keep-alives received (pings and pongs, RFC 5626 §3.5.1).
    pub keepalives: u64,
    /// Bytes of a message not yet complete are held (line ends between messages do not
    /// count).
    pub in_progress: bool,
}

/// One connection's deadlines: the message deadline and the idle timeout (see the
/// [module docs](self)). The driver tells it what each read brought
/// ([`StreamTimer::on_read`]), sleeps until [`StreamTimer::deadline`], and closes the
/// connection if [`StreamTimer::expired`] says why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamTimer {
    message_deadline: Duration,
    idle_timeout: Duration,
    /// When the connection opened, or last brought a complete message or a keep-alive.
    last_activity: Instant,
    /// When the first byte of the message in progress arrived.
    message_started: Option<Instant>,
}

impl StreamTimer {
    /// The clock of a connection established at `now`.
    pub fn new(limits: &StreamLimits, now: Instant) -> Self {
        StreamTimer {
            message_deadline: limits.message_deadline,
            idle_timeout: limits.idle_timeout,
            last_activity: now,
            message_started: None,
        }
    }

    /// Records what the bytes read at `now` brought. A completed message or a keep-alive
    /// restarts the idle timeout; a message in progress keeps the deadline set when its
    /// first byte arrived, unless a message completed in this read (the bytes left belong
    /// to a new one, begun now).
    pub fn on_read(&mut self, now: Instant, progress: ReadProgress) {
        if progress.messages > 0 || progress.keepalives > 0 {
            self.last_activity = now;
        }
        self.message_started = match (progress.in_progress, self.message_started) {
            (false, _) => None,
            (true, Some(started)) if progress.messages == 0 => Some(started),
            (true, _) => Some(now),
        };
    }

    /// Whether part of a message has arrived and the rest has not.
    pub fn message_in_progress(&self) -> bool {
        self.message_started.is_some()
    }

    /// The next instant at which [`StreamTimer::expired`] may close the connection: the
    /// message deadline while a message is in progress, or the idle timeout, whichever
    /// is sooner. `None` if neither can be represented (durations too large: never).
    pub fn deadline(&self) -> Option<Instant> {
        let idle = self.last_activity.checked_add(self.idle_timeout);
        let message = self
            .message_started
            .and_then(|s| s.checked_add(self.message_deadline));
        match (idle, message) {
            (Some(i), Some(m)) => Some(i.min(m)),
            (i, m) => i.or(m),
        }
    }

    /// Why the connection must close at `now`, if it must. The message deadline is named
    /// first when both have passed.
    pub fn expired(&self, now: Instant) -> Option<CloseReason> {
        let passed = |at: Option<Instant>| at.is_some_and(|at| at <= now);
        let message = self
            .message_started
            .and_then(|s| s.checked_add(self.message_deadline));
        if passed(message) {
            return Some(CloseReason::MessageDeadline);
        }
        if passed(self.last_activity.checked_add(self.idle_timeout)) {
            return Some(CloseReason::Idle);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Instant {
        // A fixed instant from the test's point of view: only differences matter.
        #[allow(clippy::disallowed_methods)]
        Instant::now()
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    const PARTIAL: ReadProgress = ReadProgress {
        messages: 0,
        keepalives: 0,
        in_progress: true,
    };
    const PING: ReadProgress = ReadProgress {
        messages: 0,
        keepalives: 1,
        in_progress: false,
    };
    const MESSAGE: ReadProgress = ReadProgress {
        messages: 1,
        keepalives: 0,
        in_progress: false,
    };

    #[test]
    fn defaults_are_the_documented_ones() {
        let l = StreamLimits::default();
        assert_eq!(l.max_connections, 4096);
        assert_eq!(l.max_connections_per_source, 64);
        assert_eq!(l.message_deadline, secs(20));
        assert_eq!(l.idle_timeout, secs(120));
        assert_eq!(l.max_output_per_connection, 1 << 20);
        assert_eq!(l.max_output_total, 64 << 20);
        // A trickle of one byte every 2 s is closed well within 40 s.
        assert!(l.message_deadline < secs(40));
        // One max-size message (64 KiB) always fits an empty queue.
        assert!(l.max_output_per_connection >= 65_535);
    }

    #[test]
    fn per_source_and_total_limits() {
        let mut a = Admission::new(StreamLimits {
            max_connections: 5,
            max_connections_per_source: 2,
            ..Default::default()
        });
        let one: IpAddr = "127.0.0.1".parse().unwrap();
        let two: IpAddr = "127.0.0.2".parse().unwrap();
        let p1 = a.admit_inbound(one).unwrap();
        let p2 = a.admit_inbound(one).unwrap();
        assert_eq!(a.admit_inbound(one), Err(Refusal::SourceLimit));
        assert_eq!(a.open_from(one), 2);
        // Another source still gets in.
        let p3 = a.admit_inbound(two).unwrap();
        let p4 = a.admit_outbound().unwrap();
        let p5 = a.admit_outbound().unwrap();
        assert_eq!(a.open(), 5);
        assert_eq!(a.admit_outbound(), Err(Refusal::ConnectionLimit));
        assert_eq!(a.admit_inbound(two), Err(Refusal::ConnectionLimit));
        assert_eq!(p4.source(), None);
        a.release(p4);
        assert_eq!(a.admit_inbound(one), Err(Refusal::SourceLimit));
        let p6 = a.admit_inbound(two).unwrap();
        for p in [p1, p2, p3, p5, p6] {
            a.release(p);
        }
        assert_eq!((a.open(), a.open_from(one), a.open_from(two)), (0, 0, 0));
        assert!(a.per_source.is_empty(), "no source left behind");
    }

    #[test]
    fn zero_limits_refuse_everything() {
        let mut a = Admission::new(StreamLimits {
            max_connections_per_source: 0,
            ..Default::default()
        });
        assert_eq!(
            a.admit_inbound("192.0.2.1".parse().unwrap()),
            Err(Refusal::SourceLimit)
        );
        assert!(a.admit_outbound().is_ok());
        let mut a = Admission::new(StreamLimits {
            max_connections: 0,
            ..Default::default()
        });
        assert_eq!(a.admit_outbound(), Err(Refusal::ConnectionLimit));
    }

    #[test]
    fn ipv6_sources_are_grouped_by_slash_64() {
        let mut a = Admission::new(StreamLimits {
            max_connections_per_source: 1,
            ..Default::default()
        });
        let _p = a.admit_inbound("2001:db8::1".parse().unwrap()).unwrap();
        assert_eq!(
            a.admit_inbound("2001:db8::2".parse().unwrap()),
            Err(Refusal::SourceLimit)
        );
        assert!(a.admit_inbound("2001:db8:0:1::1".parse().unwrap()).is_ok());
        // An IPv4-mapped address is its IPv4 address.
        let _q = a.admit_inbound("192.0.2.9".parse().unwrap()).unwrap();
        assert_eq!(
            a.admit_inbound("::ffff:192.0.2.9".parse().unwrap()),
            Err(Refusal::SourceLimit)
        );
    }

    #[test]
    fn a_trickle_does_not_move_the_message_deadline() {
        let t0 = base();
        let limits = StreamLimits::default();
        let mut t = StreamTimer::new(&limits, t0);
        assert!(!t.message_in_progress());
        assert_eq!(t.deadline(), Some(t0 + secs(120)));
        t.on_read(t0 + secs(1), PARTIAL);
        assert_eq!(t.deadline(), Some(t0 + secs(21)));
        for s in (3..21).step_by(2) {
            t.on_read(t0 + secs(s), PARTIAL);
            assert_eq!(t.deadline(), Some(t0 + secs(21)), "after {s} s");
            assert_eq!(t.expired(t0 + secs(s)), None);
        }
        assert_eq!(t.expired(t0 + secs(21)), Some(CloseReason::MessageDeadline));
    }

    #[test]
    fn a_complete_message_ends_the_deadline_and_restarts_idle() {
        let t0 = base();
        let mut t = StreamTimer::new(&StreamLimits::default(), t0);
        t.on_read(t0 + secs(5), PARTIAL);
        t.on_read(t0 + secs(10), MESSAGE);
        assert!(!t.message_in_progress());
        assert_eq!(t.deadline(), Some(t0 + secs(130)));
        assert_eq!(t.expired(t0 + secs(129)), None);
        assert_eq!(t.expired(t0 + secs(130)), Some(CloseReason::Idle));
    }

    #[test]
    fn a_message_completed_with_the_start_of_another_starts_a_new_deadline() {
        let t0 = base();
        let mut t = StreamTimer::new(&StreamLimits::default(), t0);
        t.on_read(t0 + secs(1), PARTIAL);
        t.on_read(
            t0 + secs(15),
            ReadProgress {
                messages: 1,
                keepalives: 0,
                in_progress: true,
            },
        );
        assert_eq!(t.deadline(), Some(t0 + secs(35)));
    }

    #[test]
    fn pings_keep_a_connection_and_are_no_message_in_progress() {
        let t0 = base();
        let mut t = StreamTimer::new(&StreamLimits::default(), t0);
        // RFC 5626 §4.4.1: a ping every 95–120 s keeps the flow.
        for k in 1..10 {
            let now = t0 + secs(100 * k);
            assert_eq!(t.expired(now), None, "ping {k}");
            t.on_read(now, PING);
            assert!(!t.message_in_progress());
            assert_eq!(t.deadline(), Some(now + secs(120)));
        }
        // A lone line end (half a ping) is neither activity nor a message.
        let last = t0 + secs(900);
        t.on_read(last + secs(60), ReadProgress::default());
        assert_eq!(t.expired(last + secs(120)), Some(CloseReason::Idle));
    }

    #[test]
    fn a_trickle_past_idle_is_still_cut_at_the_message_deadline() {
        let t0 = base();
        let limits = StreamLimits {
            message_deadline: secs(300),
            idle_timeout: secs(60),
            ..Default::default()
        };
        let mut t = StreamTimer::new(&limits, t0);
        t.on_read(t0 + secs(50), PARTIAL);
        // Bytes of a message are not activity: idle fires first here.
        assert_eq!(t.deadline(), Some(t0 + secs(60)));
        assert_eq!(t.expired(t0 + secs(60)), Some(CloseReason::Idle));
        // Both passed: the message deadline is named.
        assert_eq!(
            t.expired(t0 + secs(400)),
            Some(CloseReason::MessageDeadline)
        );
    }

    #[test]
    fn huge_durations_never_fire() {
        let t0 = base();
        let limits = StreamLimits {
            message_deadline: Duration::MAX,
            idle_timeout: Duration::MAX,
            ..Default::default()
        };
        let mut t = StreamTimer::new(&limits, t0);
        t.on_read(t0, PARTIAL);
        assert_eq!(t.deadline(), None);
        assert_eq!(t.expired(t0 + secs(1 << 40)), None);
    }

    #[test]
    fn output_caps() {
        let l = StreamLimits {
            max_output_per_connection: 1000,
            max_output_total: 2500,
            ..Default::default()
        };
        let q = |connection, total| Queued { connection, total };
        assert_eq!(l.check_output(q(0, 0), 1000), Ok(()));
        assert_eq!(l.check_output(q(0, 0), 1001), Err(CloseReason::OutputCap));
        assert_eq!(l.check_output(q(999, 999), 2), Err(CloseReason::OutputCap));
        assert_eq!(l.check_output(q(500, 2000), 500), Ok(()));
        assert_eq!(
            l.check_output(q(500, 2001), 500),
            Err(CloseReason::OutputBudget)
        );
        // No overflow at the edges.
        assert_eq!(
            l.check_output(q(usize::MAX, usize::MAX), usize::MAX),
            Err(CloseReason::OutputCap)
        );
    }

    #[test]
    fn reasons_read_well() {
        assert_eq!(
            Refusal::SourceLimit.to_string(),
            "per-source connection limit reached"
        );
        assert_eq!(CloseReason::Idle.to_string(), "idle");
    }
}
