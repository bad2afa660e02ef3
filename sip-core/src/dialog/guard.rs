//! The lifetime guard of a confirmed dialog: a deadline after which the endpoint ends the
//! dialog itself, with BYE (RFC 3261 §15.1.1), so that a call nobody hangs up cannot hold
//! a slot of `max_dialogs` forever.
//!
//! RFC 3261 gives a confirmed dialog no end but a BYE (or a failed in-dialog request,
//! §12.2.1.2). A peer that answers, ACKs and then says nothing again — a crashed phone, a
//! lost BYE, an attacker filling the table — keeps the dialog alive for good. The guard
//! bounds that with two deadlines, each optional:
//!
//! * **maximum duration** — counted from the moment the dialog was confirmed; on by default
//!   ([`DialogGuard::DEFAULT_MAX_DURATION`], 12 hours: the default dialog lifetime of
//!   Kamailio's dialog module, `default_timeout`, which carriers run with), so an abandoned
//!   dialog is gone after half a day whatever the peer does;
//! * **idle** — counted from the last message of the dialog heard from the peer (a request
//!   within it, its ACK, a response to our in-dialog request); off by default, because RFC
//!   3261 asks nothing of a peer during a call: media flows outside SIP and a phone without
//!   session timers sends nothing between ACK and BYE, so an idle limit would end normal
//!   long calls. Turn it on where every peer refreshes its sessions (RFC 4028) or sends
//!   keep-alive requests within dialogs.
//!
//! Whichever comes first ends the dialog as a hang-up does, and the application hears
//! `DialogState::Terminated(EndReason::Expired(_))` with the [`Expiry`] that fired. RFC 4028
//! session timers (see [`super::session_timer`]) end a dialog the same way, with
//! [`Expiry::SessionTimer`].

use std::time::{Duration, Instant};

/// How long a confirmed dialog may live without the application ending it (see the
/// [module docs](self)). A part of `EndpointConfig`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DialogGuard {
    /// End a confirmed dialog this long after it was confirmed; `None`: never.
    pub max_duration: Option<Duration>,
    /// End a confirmed dialog after this long without a message from the peer within it;
    /// `None` (the default): never.
    pub idle: Option<Duration>,
}

impl DialogGuard {
    /// The default maximum duration of a call: 12 hours.
    pub const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(12 * 3600);

    /// No guard at all: dialogs end only by BYE or a failed request (plain RFC 3261).
    pub const OFF: DialogGuard = DialogGuard {
        max_duration: None,
        idle: None,
    };
}

impl Default for DialogGuard {
    /// A 12-hour maximum duration; no idle limit.
    fn default() -> Self {
        DialogGuard {
            max_duration: Some(Self::DEFAULT_MAX_DURATION),
            idle: None,
        }
    }
}

/// Which deadline of the guard ended a dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expiry {
    /// The dialog reached [`DialogGuard::max_duration`].
    MaxDuration,
    /// Nothing was heard from the peer within the dialog for [`DialogGuard::idle`].
    Idle,
    /// The session timer ran out: no refresh came before the session interval less
    /// min(32 s, interval/3), or our own refresh got no answer by then (RFC 4028 §10).
    SessionTimer,
}

/// The instants the guard's deadlines are counted from, kept while a dialog is confirmed:
/// whole seconds since an epoch of the layer (the first dialog it confirmed), rounded up,
/// so a deadline may pass up to a second late and never early. Twelve bytes, because every
/// dialog carries one (issue 5's memory budget).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lifetime {
    confirmed: u32,
    last_heard: u32,
    /// When the dialog's timer next looks at the guard ([`NEVER`]: no deadline): the
    /// earliest deadline as it was when last looked at. Hearing the peer moves the idle
    /// deadline later without re-arming the timer; the check at this instant finds it
    /// moved and waits again.
    check: u32,
}

const NEVER: u32 = u32::MAX;

/// Whole seconds from `epoch` to `t`, rounded up (0 before the epoch), below [`NEVER`].
fn secs_since(epoch: Instant, t: Instant) -> u32 {
    let d = t.saturating_duration_since(epoch);
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    s.min(u64::from(NEVER - 1)) as u32
}

/// A limit in whole seconds, rounded up.
fn secs(d: Duration) -> u64 {
    d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0))
}

impl Lifetime {
    /// A dialog confirmed at `now`.
    pub(crate) fn new(epoch: Instant, now: Instant, guard: &DialogGuard) -> Self {
        let t = secs_since(epoch, now);
        let mut l = Lifetime {
            confirmed: t,
            last_heard: t,
            check: NEVER,
        };
        l.check = l.deadline(guard).map_or(NEVER, |(at, _)| at);
        l
    }

    /// The peer was heard from within the dialog at `now`.
    pub(crate) fn heard(&mut self, epoch: Instant, now: Instant) {
        self.last_heard = self.last_heard.max(secs_since(epoch, now));
    }

    /// When the dialog's timer should next look at the guard.
    pub(crate) fn check_at(&self, epoch: Instant) -> Option<Instant> {
        (self.check != NEVER)
            .then(|| epoch.checked_add(Duration::from_secs(self.check.into())))
            .flatten()
    }

    /// The earliest deadline of `guard`, in seconds since the epoch, and which one it is
    /// (the maximum duration first on a tie). A deadline past what the epoch counts is none.
    fn deadline(&self, guard: &DialogGuard) -> Option<(u32, Expiry)> {
        let at = |from: u32, d: Duration| {
            u32::try_from(u64::from(from).saturating_add(secs(d)))
                .ok()
                .filter(|&s| s != NEVER)
        };
        let max = guard
            .max_duration
            .and_then(|d| at(self.confirmed, d))
            .map(|s| (s, Expiry::MaxDuration));
        let idle = guard
            .idle
            .and_then(|d| at(self.last_heard, d))
            .map(|s| (s, Expiry::Idle));
        match (max, idle) {
            (Some(m), Some(i)) => Some(if i.0 < m.0 { i } else { m }),
            (m, i) => m.or(i),
        }
    }

    /// Whether the dialog was confirmed at least `d` before `now` (whole seconds: it may say
    /// no up to two seconds after, never before).
    pub(crate) fn confirmed_for(&self, epoch: Instant, now: Instant, d: Duration) -> bool {
        let now = now.saturating_duration_since(epoch).as_secs();
        now >= u64::from(self.confirmed).saturating_add(secs(d))
    }

    /// At `now`, the check due: `Err(expiry)` if a deadline has passed; else `Ok`, the next
    /// check moved to the deadline as it now stands.
    pub(crate) fn check(
        &mut self,
        epoch: Instant,
        now: Instant,
        guard: &DialogGuard,
    ) -> Result<(), Expiry> {
        let now = now.saturating_duration_since(epoch).as_secs();
        match self.deadline(guard) {
            Some((at, why)) if u64::from(at) <= now => {
                self.check = NEVER;
                Err(why)
            }
            next => {
                self.check = next.map_or(NEVER, |(at, _)| at);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    /// Any instant will do as the epoch (tests only: the core takes time as input).
    #[allow(clippy::disallowed_methods)]
    fn epoch() -> Instant {
        Instant::now()
    }

    #[test]
    fn default_is_a_generous_maximum_and_no_idle_limit() {
        let g = DialogGuard::default();
        assert_eq!(g.max_duration, Some(Duration::from_secs(43_200)));
        assert_eq!(g.idle, None);
        let e = epoch();
        let l = Lifetime::new(e, e + 5 * S, &g);
        assert_eq!(l.check_at(e), Some(e + 43_205 * S));
        assert_eq!(Lifetime::new(e, e, &DialogGuard::OFF).check_at(e), None);
        assert!(std::mem::size_of::<Option<Lifetime>>() <= 16);
    }

    #[test]
    fn confirmed_for_counts_whole_seconds_and_never_says_yes_early() {
        let e = epoch();
        let l = Lifetime::new(e, e + S / 2, &DialogGuard::default());
        let t = 32 * S;
        assert!(!l.confirmed_for(e, e + S / 2 + t, t));
        assert!(!l.confirmed_for(e, e + 32 * S, t));
        assert!(l.confirmed_for(e, e + 33 * S, t));
    }

    #[test]
    fn the_earlier_deadline_fires_and_hearing_the_peer_moves_only_idle() {
        let g = DialogGuard {
            max_duration: Some(100 * S),
            idle: Some(30 * S),
        };
        let e = epoch();
        let mut l = Lifetime::new(e, e, &g);
        assert_eq!(l.check_at(e), Some(e + 30 * S));
        l.heard(e, e + 20 * S);
        // The timer armed for 30 s finds the idle deadline moved to 50 s.
        assert_eq!(l.check(e, e + 30 * S, &g), Ok(()));
        assert_eq!(l.check_at(e), Some(e + 50 * S));
        l.heard(e, e + 49 * S);
        l.heard(e, e + 10 * S); // late, out of order: no effect
        assert_eq!(l.check(e, e + 50 * S, &g), Ok(()));
        assert_eq!(l.check_at(e), Some(e + 79 * S));
        assert_eq!(l.check(e, e + 79 * S, &g), Err(Expiry::Idle));
        assert_eq!(l.check_at(e), None);
        // Kept busy, the dialog still ends at its maximum duration.
        let mut l = Lifetime::new(e, e, &g);
        for s in (10..=100).step_by(10) {
            l.heard(e, e + s * S);
        }
        assert_eq!(l.check(e, e + 99 * S, &g), Ok(()));
        assert_eq!(l.check(e, e + 100 * S, &g), Err(Expiry::MaxDuration));
    }

    #[test]
    fn seconds_round_up_so_deadlines_are_never_early() {
        let g = DialogGuard {
            max_duration: Some(Duration::from_millis(1500)),
            idle: None,
        };
        let e = epoch();
        let mut l = Lifetime::new(e, e + Duration::from_millis(200), &g);
        // Confirmed at 0.2 s (counted as 1 s), 1.5 s (counted as 2 s): due at 3 s.
        assert_eq!(l.check_at(e), Some(e + 3 * S));
        assert_eq!(l.check(e, e + Duration::from_millis(2900), &g), Ok(()));
        assert_eq!(l.check(e, e + 3 * S, &g), Err(Expiry::MaxDuration));
    }

    #[test]
    fn ties_far_deadlines_and_instants_before_the_epoch() {
        let g = DialogGuard {
            max_duration: Some(30 * S),
            idle: Some(30 * S),
        };
        let e = epoch();
        let mut l = Lifetime::new(e, e, &g);
        assert_eq!(l.check(e, e + 30 * S, &g), Err(Expiry::MaxDuration));
        // A deadline past what the epoch counts is no deadline, not a panic.
        let far = DialogGuard {
            max_duration: Some(Duration::MAX),
            idle: Some(Duration::from_secs(u64::from(u32::MAX))),
        };
        let mut l = Lifetime::new(e, e, &far);
        assert_eq!(l.check_at(e), None);
        assert_eq!(l.check(e, e + 1000 * S, &far), Ok(()));
        // An instant before the epoch counts as the epoch.
        if let Some(before) = e.checked_sub(5 * S) {
            let l = Lifetime::new(e, before, &g);
            assert_eq!(l.check_at(e), Some(e + 30 * S));
        }
    }
}
