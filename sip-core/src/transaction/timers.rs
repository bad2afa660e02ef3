//! Transaction timer values (RFC 3261 §17 Table 4 / Appendix A, RFC 6026 §7.1, §7.2, §8).
//!
//! Every duration a transaction machine arms is derived here from four configured values:
//! `T1` (RTT estimate), `T2` (the cap on request and non-INVITE response retransmission
//! intervals), `T4` (how long a message can stay in the network) and Timer D (the INVITE client's
//! wait for response retransmissions, "at least 32 seconds" for unreliable transports).
//! The "reliable" variants return zero where the RFC says so: the machines treat a zero-duration
//! *terminating* timer (D, I, J, K) as firing inside the call that would arm it, so a reliable
//! transport never needs an extra wake-up.

use std::fmt;
use std::time::{Duration, Instant};

/// The configurable base values of the transaction timers (RFC 3261 §17.1.1.1, Table 4).
///
/// Every field is public; the defaults are the RFC's recommended values. Durations are used
/// with saturating arithmetic, so an absurd configuration cannot make a machine panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerConfig {
    /// T1, the round-trip time estimate (RFC 3261 §17.1.1.1, default 500 ms).
    pub t1: Duration,
    /// T2, the maximum retransmission interval for non-INVITE requests and INVITE responses
    /// (RFC 3261 §17.1.2.2, default 4 s).
    pub t2: Duration,
    /// T4, the maximum time a message stays in the network (RFC 3261 §17.1.2.2, default 5 s).
    pub t4: Duration,
    /// Timer D on unreliable transports: how long the INVITE client transaction stays in
    /// Completed to absorb final response retransmissions (RFC 3261 §17.1.1.2, at least 32 s).
    pub timer_d: Duration,
    /// How long the INVITE server transaction waits for the TU before it generates
    /// `100 Trying` itself (RFC 3261 §17.2.1: "within 200 ms", default 200 ms).
    pub trying_delay: Duration,
}

impl Default for TimerConfig {
    /// T1 = 500 ms, T2 = 4 s, T4 = 5 s, Timer D = 32 s, Trying delay = 200 ms (RFC 3261 Table 4).
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            timer_d: Duration::from_secs(32),
            trying_delay: Duration::from_millis(200),
        }
    }
}

impl TimerConfig {
    /// `64·T1`, the common transaction timeout, saturating on overflow.
    fn sixty_four_t1(&self) -> Duration {
        self.t1.saturating_mul(64)
    }

    /// Timer A's first interval: T1, doubled after each firing and *not* capped at T2
    /// (RFC 3261 §17.1.1.2). Only armed on unreliable transports.
    pub fn timer_a(&self) -> Duration {
        self.t1
    }

    /// Timer B, the INVITE client transaction timeout: `64·T1` (RFC 3261 §17.1.1.2).
    pub fn timer_b(&self) -> Duration {
        self.sixty_four_t1()
    }

    /// Timer D, the INVITE client wait in Completed: the configured value (≥ 32 s) on unreliable
    /// transports, zero on reliable ones (RFC 3261 §17.1.1.2).
    pub fn timer_d(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            self.timer_d
        }
    }

    /// Timer E's first interval: T1; it doubles up to T2 in Trying and is T2 in Proceeding
    /// (RFC 3261 §17.1.2.2). Only armed on unreliable transports.
    pub fn timer_e(&self) -> Duration {
        self.t1
    }

    /// Timer F, the non-INVITE client transaction timeout: `64·T1` (RFC 3261 §17.1.2.2).
    pub fn timer_f(&self) -> Duration {
        self.sixty_four_t1()
    }

    /// Timer G's first interval: T1, doubling up to T2 (RFC 3261 §17.2.1). Only armed on
    /// unreliable transports.
    pub fn timer_g(&self) -> Duration {
        self.t1
    }

    /// Timer H, the wait for an ACK to a non-2xx final response: `64·T1` on every transport
    /// (RFC 3261 §17.2.1).
    pub fn timer_h(&self) -> Duration {
        self.sixty_four_t1()
    }

    /// Timer I, the wait in Confirmed absorbing ACK retransmissions: T4 on unreliable
    /// transports, zero on reliable ones (RFC 3261 §17.2.1).
    pub fn timer_i(&self, reliable: bool) -> Duration {
        if reliable { Duration::ZERO } else { self.t4 }
    }

    /// Timer J, the non-INVITE server wait in Completed: `64·T1` on unreliable transports, zero
    /// on reliable ones (RFC 3261 §17.2.2).
    pub fn timer_j(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            self.sixty_four_t1()
        }
    }

    /// Timer K, the non-INVITE client wait in Completed: T4 on unreliable transports, zero on
    /// reliable ones (RFC 3261 §17.1.2.2).
    pub fn timer_k(&self, reliable: bool) -> Duration {
        if reliable { Duration::ZERO } else { self.t4 }
    }

    /// Timer L, the INVITE server wait in Accepted for INVITE retransmissions after a 2xx:
    /// `64·T1` on every transport (RFC 6026 §7.1).
    pub fn timer_l(&self) -> Duration {
        self.sixty_four_t1()
    }

    /// Timer M, the INVITE client wait in Accepted for 2xx retransmissions: `64·T1` on every
    /// transport (RFC 6026 §7.2).
    pub fn timer_m(&self) -> Duration {
        self.sixty_four_t1()
    }

    /// How long after receiving a non-INVITE request a server may first send `100 Trying` on an
    /// unreliable transport: the time a client's Timer E takes to reach T2 (RFC 4320 §4.1;
    /// 3.5 s with the defaults: E fires at 0.5, 1.5 and 3.5 s, after which its interval is T2).
    /// On reliable transports the 100 may be sent at any time.
    pub fn non_invite_trying_delay(&self) -> Duration {
        // In nanoseconds (a `u128` holds any sum of `Duration`s here), as `next_capped` steps.
        let (t1, t2) = (self.t1.as_nanos(), self.t2.as_nanos());
        let mut elapsed = 0u128;
        let mut interval = t1;
        // Bounded: the interval doubles each round, so it reaches T2 within ~100 rounds unless
        // it is zero, in which case there is nothing to wait for.
        for _ in 0..128 {
            if interval == 0 {
                break;
            }
            elapsed += interval;
            interval = (interval * 2).min(t2);
            if interval >= t2 {
                break;
            }
        }
        if elapsed >= Duration::MAX.as_nanos() {
            return Duration::MAX;
        }
        let secs = u64::try_from(elapsed / 1_000_000_000).unwrap_or(u64::MAX);
        Duration::new(secs, (elapsed % 1_000_000_000) as u32)
    }
}

/// The next interval of a "double, capped at T2" retransmission timer (E and G).
pub(crate) fn next_capped(current: Duration, t2: Duration) -> Duration {
    current.saturating_mul(2).min(t2)
}

/// `now + d`, or `None` (never) if the sum does not fit in an `Instant`.
pub(crate) fn deadline(now: Instant, d: Duration) -> Option<Instant> {
    now.checked_add(d)
}

/// Whether an armed deadline is due at `now`.
pub(crate) fn is_due(deadline: Option<Instant>, now: Instant) -> bool {
    matches!(deadline, Some(at) if at <= now)
}

/// The earliest of a few optional deadlines.
pub(crate) fn earliest<const N: usize>(deadlines: [Option<Instant>; N]) -> Option<Instant> {
    deadlines.into_iter().flatten().min()
}

/// The names of the transaction timers (RFC 3261 Table 4, RFC 6026 Timers L and M), plus the
/// INVITE server's 200 ms `100 Trying` timer (RFC 3261 §17.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimerName {
    /// INVITE request retransmission (client, unreliable transports).
    A,
    /// INVITE client transaction timeout.
    B,
    /// INVITE client wait for response retransmissions in Completed.
    D,
    /// Non-INVITE request retransmission (client, unreliable transports).
    E,
    /// Non-INVITE client transaction timeout.
    F,
    /// INVITE non-2xx final response retransmission (server, unreliable transports).
    G,
    /// INVITE server wait for ACK.
    H,
    /// INVITE server wait for ACK retransmissions in Confirmed.
    I,
    /// Non-INVITE server wait for request retransmissions in Completed.
    J,
    /// Non-INVITE client wait for response retransmissions in Completed.
    K,
    /// INVITE server wait in Accepted (RFC 6026).
    L,
    /// INVITE client wait in Accepted (RFC 6026).
    M,
    /// The INVITE server's `100 Trying` timer (RFC 3261 §17.2.1, 200 ms).
    Trying,
}

impl fmt::Display for TimerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let letter = match self {
            Self::A => "A",
            Self::B => "B",
            Self::D => "D",
            Self::E => "E",
            Self::F => "F",
            Self::G => "G",
            Self::H => "H",
            Self::I => "I",
            Self::J => "J",
            Self::K => "K",
            Self::L => "L",
            Self::M => "M",
            Self::Trying => return f.write_str("Trying timer"),
        };
        write!(f, "Timer {letter}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_rfc_values() {
        let c = TimerConfig::default();
        assert_eq!(c.t1, Duration::from_millis(500));
        assert_eq!(c.t2, Duration::from_secs(4));
        assert_eq!(c.t4, Duration::from_secs(5));
        assert_eq!(c.timer_d, Duration::from_secs(32));
        assert_eq!(c.trying_delay, Duration::from_millis(200));
    }

    #[test]
    fn derived_timer_values_match_table_4() {
        let c = TimerConfig::default();
        let s = Duration::from_secs;
        assert_eq!(c.timer_a(), Duration::from_millis(500));
        assert_eq!(c.timer_b(), s(32));
        assert_eq!(c.timer_d(false), s(32));
        assert_eq!(c.timer_d(true), Duration::ZERO);
        assert_eq!(c.timer_e(), Duration::from_millis(500));
        assert_eq!(c.timer_f(), s(32));
        assert_eq!(c.timer_g(), Duration::from_millis(500));
        assert_eq!(c.timer_h(), s(32));
        assert_eq!(c.timer_i(false), s(5));
        assert_eq!(c.timer_i(true), Duration::ZERO);
        assert_eq!(c.timer_j(false), s(32));
        assert_eq!(c.timer_j(true), Duration::ZERO);
        assert_eq!(c.timer_k(false), s(5));
        assert_eq!(c.timer_k(true), Duration::ZERO);
        assert_eq!(c.timer_l(), s(32));
        assert_eq!(c.timer_m(), s(32));
    }

    #[test]
    fn timers_scale_with_t1() {
        let c = TimerConfig {
            t1: Duration::from_millis(100),
            ..TimerConfig::default()
        };
        assert_eq!(c.timer_b(), Duration::from_millis(6400));
        assert_eq!(c.timer_f(), Duration::from_millis(6400));
        assert_eq!(c.timer_h(), Duration::from_millis(6400));
        assert_eq!(c.timer_j(false), Duration::from_millis(6400));
        assert_eq!(c.timer_l(), Duration::from_millis(6400));
        assert_eq!(c.timer_m(), Duration::from_millis(6400));
        // Timer D is configured on its own, not derived from T1.
        assert_eq!(c.timer_d(false), Duration::from_secs(32));
    }

    #[test]
    fn huge_t1_saturates_instead_of_panicking() {
        let c = TimerConfig {
            t1: Duration::MAX,
            ..TimerConfig::default()
        };
        assert_eq!(c.timer_b(), Duration::MAX);
        assert_eq!(next_capped(Duration::MAX, Duration::MAX), Duration::MAX);
    }

    #[test]
    fn rfc4320_trying_delay() {
        let c = TimerConfig::default();
        assert_eq!(c.non_invite_trying_delay(), Duration::from_millis(3500));
        let t1_above_t2 = TimerConfig {
            t1: Duration::from_secs(5),
            ..TimerConfig::default()
        };
        assert_eq!(
            t1_above_t2.non_invite_trying_delay(),
            Duration::from_secs(5)
        );
        let zero = TimerConfig {
            t1: Duration::ZERO,
            ..TimerConfig::default()
        };
        assert_eq!(zero.non_invite_trying_delay(), Duration::ZERO);
        // Timer E's own steps (`next_capped`) add up to the same delay for any T1 and T2.
        let times = [
            0,
            1,
            7,
            499_999_999,
            500_000_000,
            1_000_000_001,
            4_000_000_000,
        ];
        for t1 in times
            .map(Duration::from_nanos)
            .into_iter()
            .chain([Duration::MAX])
        {
            for t2 in times
                .map(Duration::from_nanos)
                .into_iter()
                .chain([Duration::MAX])
            {
                let mut steps = (Duration::ZERO, t1);
                while !steps.1.is_zero() {
                    steps = (steps.0.saturating_add(steps.1), next_capped(steps.1, t2));
                    if steps.1 >= t2 {
                        break;
                    }
                }
                let c = TimerConfig {
                    t1,
                    t2,
                    ..TimerConfig::default()
                };
                assert_eq!(c.non_invite_trying_delay(), steps.0, "T1 {t1:?}, T2 {t2:?}");
            }
        }
    }

    #[test]
    fn timer_names_display() {
        assert_eq!(TimerName::A.to_string(), "Timer A");
        assert_eq!(TimerName::B.to_string(), "Timer B");
        assert_eq!(TimerName::M.to_string(), "Timer M");
        assert_eq!(TimerName::Trying.to_string(), "Trying timer");
    }

    #[test]
    fn helpers() {
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        let s = Duration::from_secs;
        assert_eq!(deadline(t0, s(1)), Some(t0 + s(1)));
        assert_eq!(deadline(t0, Duration::MAX), None);
        assert!(is_due(Some(t0), t0));
        assert!(!is_due(Some(t0 + s(1)), t0));
        assert!(!is_due(None, t0));
        assert_eq!(
            earliest([None, Some(t0 + s(2)), Some(t0 + s(1))]),
            Some(t0 + s(1))
        );
        assert_eq!(earliest::<2>([None, None]), None);
        assert_eq!(next_capped(s(1), s(4)), s(2));
        assert_eq!(next_capped(s(4), s(4)), s(4));
        assert_eq!(next_capped(s(3), s(4)), s(4));
    }
}
