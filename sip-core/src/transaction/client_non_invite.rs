//! The non-INVITE client transaction (RFC 3261 §17.1.2, Figure 6).
//!
//! The machine is message-agnostic: the endpoint keeps the request, feeds status codes and
//! timeouts in, and carries out the returned [`Actions`].
//!
//! # State table
//!
//! "U" = unreliable transport, "R" = reliable. Every timer is cancelled when the transaction
//! leaves Trying/Proceeding (E, F) or Completed (K). The unit tests walk this table row by row.
//!
//! | State              | Event             | Actions                      | Next state | Timers armed                           |
//! |--------------------|-------------------|------------------------------|------------|----------------------------------------|
//! | —                  | `new` (request from TU) | transmit               | Trying     | E = T1 (U only), F = 64·T1             |
//! | Trying             | Timer E           | transmit                     | Trying     | E = min(2 × previous E, T2)            |
//! | Trying             | Timer F           | timed_out(F), terminated     | Terminated | —                                      |
//! | Trying             | 1xx               | pass_to_tu                   | Proceeding | — (pending E kept; its next interval is T2) |
//! | Trying             | 200–699 (U)       | pass_to_tu                   | Completed  | K = T4                                 |
//! | Trying             | 200–699 (R)       | pass_to_tu, terminated       | Terminated | — (K = 0: terminated in the same call) |
//! | Proceeding         | Timer E           | transmit                     | Proceeding | E = T2                                 |
//! | Proceeding         | Timer F           | timed_out(F), terminated     | Terminated | —                                      |
//! | Proceeding         | 1xx               | pass_to_tu                   | Proceeding | —                                      |
//! | Proceeding         | 200–699 (U)       | pass_to_tu                   | Completed  | K = T4                                 |
//! | Proceeding         | 200–699 (R)       | pass_to_tu, terminated       | Terminated | —                                      |
//! | Completed          | any response      | — (absorbed)                 | Completed  | —                                      |
//! | Completed          | Timer K           | terminated                   | Terminated | —                                      |
//! | any but Terminated | transport error   | transport_failed, terminated | Terminated | —                                      |
//! | Terminated         | anything          | —                            | Terminated | —                                      |
//! | any                | status outside 100–699 | — (ignored)             | unchanged  | —                                      |
//!
//! With the defaults on a datagram transport, E fires at 0.5, 1.5, 3.5, 7.5, 11.5, 15.5 … s (every
//! 4 s once capped) and F at 32 s. Every state but Terminated has a timer, so the transaction
//! always ends within 64·T1 (+ T4 in Completed) without further input.

use std::time::{Duration, Instant};

use super::actions::Actions;
use super::timers::{TimerConfig, TimerName, deadline, earliest, is_due, next_capped};

/// The states of the non-INVITE client transaction (RFC 3261 Figure 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientNonInviteState {
    /// The request was sent; no response yet. Timer E retransmits it on unreliable transports.
    Trying,
    /// A provisional response arrived; retransmissions continue every T2.
    Proceeding,
    /// A final response arrived; absorbing its retransmissions until Timer K.
    Completed,
    /// Finished: the transaction must be destroyed.
    Terminated,
}

/// A non-INVITE client transaction (RFC 3261 §17.1.2).
#[derive(Debug, Clone)]
pub struct ClientNonInviteTransaction {
    state: ClientNonInviteState,
    reliable: bool,
    /// T2 (the cap on Timer E) and Timer K's duration for this transport: all a live
    /// transaction needs of its `TimerConfig`.
    t2: Duration,
    wait_k: Duration,
    /// Current Timer E interval (the value it was last armed with).
    e_interval: Duration,
    timer_e: Option<Instant>,
    /// The timer that ends the current state: Timer F in Trying and Proceeding, K in
    /// Completed (never together, so they share a slot).
    state_timer: Option<Instant>,
}

impl ClientNonInviteTransaction {
    /// Starts the transaction in Trying: the returned actions ask for the request to be sent;
    /// Timer E (unreliable transports only) and Timer F are armed (RFC 3261 §17.1.2.2).
    pub fn new(now: Instant, reliable: bool, config: &TimerConfig) -> (Self, Actions) {
        let e_interval = config.timer_e();
        let tx = Self {
            state: ClientNonInviteState::Trying,
            reliable,
            t2: config.t2,
            wait_k: config.timer_k(reliable),
            e_interval,
            timer_e: if reliable {
                None
            } else {
                deadline(now, e_interval)
            },
            state_timer: deadline(now, config.timer_f()),
        };
        (tx, Actions::none().with_transmit())
    }

    /// The current state.
    pub fn state(&self) -> ClientNonInviteState {
        self.state
    }

    /// Whether the transaction runs over a reliable transport (no Timer E, Timer K = 0).
    pub fn is_reliable(&self) -> bool {
        self.reliable
    }

    /// Whether the transaction has terminated and should be destroyed.
    pub fn is_terminated(&self) -> bool {
        self.state == ClientNonInviteState::Terminated
    }

    fn terminate(&mut self) {
        self.state = ClientNonInviteState::Terminated;
        self.timer_e = None;
        self.state_timer = None;
    }

    /// A response matching this transaction arrived (RFC 3261 §17.1.2.2); see the module's
    /// state table. Codes outside 100–699 are ignored.
    pub fn on_response(&mut self, now: Instant, status: u16) -> Actions {
        use ClientNonInviteState as S;
        match (self.state, status) {
            (S::Trying | S::Proceeding, 100..=199) => {
                self.state = S::Proceeding;
                Actions::none().with_pass_to_tu()
            }
            (S::Trying | S::Proceeding, 200..=699) => {
                self.timer_e = None;
                self.state_timer = None;
                let wait = self.wait_k;
                if wait.is_zero() {
                    self.terminate();
                    Actions::none().with_pass_to_tu().with_terminated()
                } else {
                    self.state = S::Completed;
                    self.state_timer = deadline(now, wait);
                    Actions::none().with_pass_to_tu()
                }
            }
            _ => Actions::none(),
        }
    }

    /// The transport failed to send the request (RFC 3261 §17.1.4): the TU is informed and the
    /// transaction terminates. Ignored once terminated.
    pub fn on_transport_error(&mut self, _now: Instant) -> Actions {
        if self.is_terminated() {
            return Actions::none();
        }
        self.terminate();
        Actions::none().with_transport_failed().with_terminated()
    }

    /// Fires every timer due at `now` (each at most once per call; Timer E is re-armed relative
    /// to `now`). A timeout that ends the transaction wins over a retransmission due at the
    /// same instant. Calling it early does nothing.
    pub fn handle_timeout(&mut self, now: Instant) -> Actions {
        use ClientNonInviteState as S;
        match self.state {
            S::Trying | S::Proceeding if is_due(self.state_timer, now) => {
                self.terminate();
                Actions::none().with_timed_out(TimerName::F)
            }
            S::Trying | S::Proceeding if is_due(self.timer_e, now) => {
                self.e_interval = if self.state == S::Trying {
                    next_capped(self.e_interval, self.t2)
                } else {
                    self.t2
                };
                self.timer_e = deadline(now, self.e_interval);
                Actions::none().with_transmit()
            }
            S::Completed if is_due(self.state_timer, now) => {
                self.terminate();
                Actions::none().with_terminated()
            }
            _ => Actions::none(),
        }
    }

    /// The earliest armed timer; `None` only when Terminated.
    pub fn poll_timeout(&self) -> Option<Instant> {
        earliest([self.timer_e, self.state_timer])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::table::{self, Ev, Machine, Row, base, ms, none, run_timers};
    use ClientNonInviteState as S;
    use proptest::prelude::*;

    impl Machine for ClientNonInviteTransaction {
        type State = ClientNonInviteState;
        type Out = Actions;
        const STATES: &'static [S] = &[S::Trying, S::Proceeding, S::Completed, S::Terminated];

        fn start(now: Instant, reliable: bool, config: &TimerConfig) -> (Self, Actions) {
            Self::new(now, reliable, config)
        }

        fn input(&mut self, now: Instant, ev: Ev) -> Actions {
            match ev {
                Ev::Resp(status) => self.on_response(now, status),
                other => panic!("{other:?} is not an input of the non-INVITE client"),
            }
        }

        fn on_transport_error(&mut self, now: Instant) -> Actions {
            self.on_transport_error(now)
        }

        fn handle_timeout(&mut self, now: Instant) -> Actions {
            self.handle_timeout(now)
        }

        fn poll_timeout(&self) -> Option<Instant> {
            self.poll_timeout()
        }

        fn state(&self) -> S {
            self.state()
        }
    }

    /// The module docs' state table, one or more concrete rows per doc row, in its order.
    #[test]
    fn state_table() {
        use Ev::*;
        let u = false;
        let r = true;
        let pass = none().with_pass_to_tu();
        let tp = none().with_transport_failed().with_terminated();
        let f = none().with_timed_out(TimerName::F);
        #[rustfmt::skip]
        let rows: &[Row<ClientNonInviteTransaction>] = &[
            Row { doc: "Trying | Timer E", reliable: u, setup: &[], event: Fire, out: none().with_transmit(), next: S::Trying, timer: Some(ms(1000)) },
            Row { doc: "Trying | Timer E", reliable: u, setup: &[Fire, Fire, Fire], event: Fire, out: none().with_transmit(), next: S::Trying, timer: Some(ms(4000)) },
            Row { doc: "Trying | Timer F", reliable: r, setup: &[], event: Fire, out: f, next: S::Terminated, timer: None },
            Row { doc: "Trying | 1xx", reliable: u, setup: &[], event: Resp(100), out: pass, next: S::Proceeding, timer: Some(ms(500)) },
            Row { doc: "Trying | 1xx", reliable: r, setup: &[], event: Resp(180), out: pass, next: S::Proceeding, timer: Some(ms(32_000)) },
            Row { doc: "Trying | 200–699 (U)", reliable: u, setup: &[], event: Resp(200), out: pass, next: S::Completed, timer: Some(ms(5000)) },
            Row { doc: "Trying | 200–699 (U)", reliable: u, setup: &[], event: Resp(404), out: pass, next: S::Completed, timer: Some(ms(5000)) },
            Row { doc: "Trying | 200–699 (R)", reliable: r, setup: &[], event: Resp(200), out: pass.with_terminated(), next: S::Terminated, timer: None },
            Row { doc: "Trying | 200–699 (R)", reliable: r, setup: &[], event: Resp(699), out: pass.with_terminated(), next: S::Terminated, timer: None },
            Row { doc: "Proceeding | Timer E", reliable: u, setup: &[Resp(100)], event: Fire, out: none().with_transmit(), next: S::Proceeding, timer: Some(ms(4000)) },
            Row { doc: "Proceeding | Timer F", reliable: r, setup: &[Resp(100)], event: Fire, out: f, next: S::Terminated, timer: None },
            Row { doc: "Proceeding | 1xx", reliable: u, setup: &[Resp(100)], event: Resp(100), out: pass, next: S::Proceeding, timer: Some(ms(500)) },
            Row { doc: "Proceeding | 200–699 (U)", reliable: u, setup: &[Resp(100)], event: Resp(202), out: pass, next: S::Completed, timer: Some(ms(5000)) },
            Row { doc: "Proceeding | 200–699 (R)", reliable: r, setup: &[Resp(100)], event: Resp(503), out: pass.with_terminated(), next: S::Terminated, timer: None },
            Row { doc: "Completed | any response", reliable: u, setup: &[Resp(200)], event: Resp(200), out: none(), next: S::Completed, timer: Some(ms(5000)) },
            Row { doc: "Completed | any response", reliable: u, setup: &[Resp(200)], event: Resp(100), out: none(), next: S::Completed, timer: Some(ms(5000)) },
            Row { doc: "Completed | any response", reliable: u, setup: &[Resp(200)], event: Resp(500), out: none(), next: S::Completed, timer: Some(ms(5000)) },
            Row { doc: "Completed | Timer K", reliable: u, setup: &[Resp(200)], event: Fire, out: none().with_terminated(), next: S::Terminated, timer: None },
            Row { doc: "any but Terminated | transport error", reliable: u, setup: &[], event: TransportErr, out: tp, next: S::Terminated, timer: None },
            Row { doc: "any but Terminated | transport error", reliable: u, setup: &[Resp(100)], event: TransportErr, out: tp, next: S::Terminated, timer: None },
            Row { doc: "any but Terminated | transport error", reliable: u, setup: &[Resp(200)], event: TransportErr, out: tp, next: S::Terminated, timer: None },
            Row { doc: "Terminated | anything", reliable: u, setup: &[TransportErr], event: Resp(200), out: none(), next: S::Terminated, timer: None },
            Row { doc: "Terminated | anything", reliable: u, setup: &[TransportErr], event: TransportErr, out: none(), next: S::Terminated, timer: None },
            Row { doc: "any | status outside 100–699", reliable: u, setup: &[], event: Resp(99), out: none(), next: S::Trying, timer: Some(ms(500)) },
            Row { doc: "any | status outside 100–699", reliable: u, setup: &[], event: Resp(700), out: none(), next: S::Trying, timer: Some(ms(500)) },
            Row { doc: "any | status outside 100–699", reliable: r, setup: &[Resp(180)], event: Resp(0), out: none(), next: S::Proceeding, timer: Some(ms(32_000)) },
            Row { doc: "any | status outside 100–699", reliable: u, setup: &[Resp(404)], event: Resp(700), out: none(), next: S::Completed, timer: Some(ms(5000)) },
            Row { doc: "any | status outside 100–699", reliable: u, setup: &[TransportErr], event: Resp(u16::MAX), out: none(), next: S::Terminated, timer: None },
        ];
        table::walk(
            base(),
            include_str!("client_non_invite.rs"),
            none().with_transmit(),
            rows,
        );
    }

    #[test]
    fn timer_e_doubles_capped_at_t2_until_f_on_datagrams() {
        let t0 = base();
        let (mut tx, _) = ClientNonInviteTransaction::new(t0, false, &TimerConfig::default());
        let (sends, end, at) = run_timers(&mut tx, t0);
        assert_eq!(
            sends,
            [
                500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500
            ]
        );
        assert_eq!(end, none().with_timed_out(TimerName::F));
        assert_eq!(at, 32_000);
        assert_eq!(tx.poll_timeout(), None);
    }

    #[test]
    fn timer_e_every_t2_after_a_provisional() {
        let t0 = base();
        let (mut tx, _) = ClientNonInviteTransaction::new(t0, false, &TimerConfig::default());
        assert!(tx.handle_timeout(t0 + ms(500)).transmit());
        // Provisional at 0.7 s: the pending E (1.5 s) is kept, then every T2 = 4 s.
        assert_eq!(tx.on_response(t0 + ms(700), 100), none().with_pass_to_tu());
        let (sends, end, at) = run_timers(&mut tx, t0);
        assert_eq!(
            sends,
            [1500, 5500, 9500, 13_500, 17_500, 21_500, 25_500, 29_500]
        );
        assert_eq!(end.timed_out(), Some(TimerName::F));
        assert_eq!(at, 32_000);
    }

    #[test]
    fn reliable_has_no_retransmissions_only_f() {
        let t0 = base();
        let (mut tx, _) = ClientNonInviteTransaction::new(t0, true, &TimerConfig::default());
        let (sends, end, at) = run_timers(&mut tx, t0);
        assert!(sends.is_empty());
        assert_eq!(end.timed_out(), Some(TimerName::F));
        assert_eq!(at, 32_000);
    }

    #[test]
    fn timer_k_on_datagrams_zero_on_streams() {
        let t0 = base();
        let c = TimerConfig::default();
        let (mut tx, _) = ClientNonInviteTransaction::new(t0, false, &c);
        assert_eq!(tx.on_response(t0 + ms(300), 200), none().with_pass_to_tu());
        assert_eq!(tx.poll_timeout(), Some(t0 + ms(5300)));
        assert!(tx.on_response(t0 + ms(800), 200).is_empty());
        assert!(tx.handle_timeout(t0 + ms(5299)).is_empty());
        assert_eq!(tx.handle_timeout(t0 + ms(5300)), none().with_terminated());
        assert_eq!(tx.poll_timeout(), None);

        let (mut tx, _) = ClientNonInviteTransaction::new(t0, true, &c);
        assert_eq!(
            tx.on_response(t0 + ms(300), 200),
            none().with_pass_to_tu().with_terminated()
        );
        assert_eq!(tx.state(), S::Terminated);
        assert_eq!(tx.poll_timeout(), None);
    }

    #[test]
    fn late_wakeup_prefers_timeout_over_retransmission() {
        let t0 = base();
        let (mut tx, _) = ClientNonInviteTransaction::new(t0, false, &TimerConfig::default());
        assert_eq!(
            tx.handle_timeout(t0 + ms(33_000)),
            none().with_timed_out(TimerName::F)
        );
    }

    #[test]
    fn size_is_small() {
        assert!(std::mem::size_of::<ClientNonInviteTransaction>() <= 160);
    }

    fn rank(s: ClientNonInviteState) -> u8 {
        match s {
            S::Trying => 0,
            S::Proceeding => 1,
            S::Completed => 2,
            S::Terminated => 3,
        }
    }

    #[derive(Debug, Clone)]
    enum PEv {
        Resp(u16),
        TransportErr,
        Advance(u64),
        PollEarly,
    }

    fn pev() -> impl Strategy<Value = PEv> {
        prop_oneof![
            4 => prop_oneof![Just(100u16), Just(180), Just(200), Just(202), Just(302), Just(404), Just(0), Just(700), any::<u16>()].prop_map(PEv::Resp),
            1 => Just(PEv::TransportErr),
            4 => (0u64..40_000).prop_map(PEv::Advance),
            1 => Just(PEv::PollEarly),
        ]
    }

    proptest! {
        #[test]
        fn random_inputs(reliable: bool, events in proptest::collection::vec(pev(), 0..40)) {
            let t0 = base();
            let c = TimerConfig::default();
            let (mut tx, _) = ClientNonInviteTransaction::new(t0, reliable, &c);
            let mut now = t0;
            let mut last_rank = rank(tx.state());
            for ev in events {
                let a = match ev {
                    PEv::Resp(code) => tx.on_response(now, code),
                    PEv::TransportErr => tx.on_transport_error(now),
                    PEv::PollEarly => tx.handle_timeout(now),
                    PEv::Advance(d) => {
                        let target = now + ms(d);
                        let mut acc = Actions::none();
                        while let Some(at) = tx.poll_timeout().filter(|at| *at <= target) {
                            now = now.max(at);
                            let a = tx.handle_timeout(now);
                            prop_assert!(!a.is_empty(), "a due timer must do something");
                            acc = a;
                        }
                        now = target;
                        acc
                    }
                };
                if a.terminated() {
                    prop_assert_eq!(tx.state(), S::Terminated);
                }
                let r = rank(tx.state());
                prop_assert!(r >= last_rank, "state went backwards");
                last_rank = r;
                prop_assert_eq!(tx.poll_timeout().is_none(), tx.state() == S::Terminated);
            }
            let limit = now + c.timer_f() + c.t4 + ms(1);
            while let Some(at) = tx.poll_timeout() {
                prop_assert!(at <= limit, "timer beyond the bound");
                now = at;
                tx.handle_timeout(now);
            }
            prop_assert_eq!(tx.state(), S::Terminated);
        }
    }
}
