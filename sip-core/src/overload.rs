//! Overload episodes: a layer that refuses new work for want of room (a 503 with
//! Retry-After, RFC 3261 §21.5.4) says so once when it starts and once when it ends, so
//! an operator sees load shedding in the log without a line per refused request.

/// Whether a layer is refusing new work, and how much it refused since it started.
#[derive(Debug, Clone)]
pub(crate) struct Shedding {
    /// What ran out (for the log): "transactions", "dialogs".
    what: &'static str,
    active: bool,
    refused: u64,
}

impl Shedding {
    pub(crate) fn new(what: &'static str) -> Self {
        Shedding {
            what,
            active: false,
            refused: 0,
        }
    }

    /// Whether the last request was refused (and none admitted since).
    pub(crate) fn active(&self) -> bool {
        self.active
    }

    /// A request was refused for want of room; the first of an episode is logged as a
    /// warning with the occupancy `detail` gives.
    pub(crate) fn refused(&mut self, detail: impl FnOnce() -> String) {
        if !self.active {
            self.active = true;
            tracing::warn!(
                limit = self.what,
                occupancy = %detail(),
                "overloaded: new requests are refused with 503 and Retry-After"
            );
        }
        self.refused += 1;
    }

    /// New work was admitted; an episode in progress ends (logged with its count) once
    /// occupancy is `relieved` — below nine tenths of the limits ([`relieved`]), so that a
    /// layer at its limit, where each slot freed admits one request, does not start and end
    /// an episode per request.
    #[inline]
    pub(crate) fn admitted(&mut self, relieved: impl FnOnce() -> bool) {
        if self.active && relieved() {
            self.active = false;
            tracing::info!(
                limit = self.what,
                refused = self.refused,
                "overload over: new requests are accepted again"
            );
            self.refused = 0;
        }
    }
}

/// Whether `used` is below nine tenths of `limit`.
pub(crate) fn relieved(used: usize, limit: usize) -> bool {
    used.saturating_mul(10) < limit.saturating_mul(9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_episode_runs_from_the_first_refusal_to_the_next_admission() {
        let mut s = Shedding::new("transactions");
        assert!(!s.active());
        s.admitted(|| true);
        assert!(!s.active());
        let mut asked = 0;
        for _ in 0..3 {
            s.refused(|| {
                asked += 1;
                "x".into()
            });
        }
        assert!(s.active());
        assert_eq!(s.refused, 3);
        // Written at most once: for the first refusal, and only if the warning is logged.
        assert!(asked <= 1);
        // Admitted at the limit (one slot freed): the episode goes on.
        s.admitted(|| relieved(95, 100));
        assert!(s.active());
        s.admitted(|| relieved(89, 100));
        assert!(!s.active());
        assert_eq!(s.refused, 0);
    }
}
