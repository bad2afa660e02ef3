//! The INVITE client transaction (RFC 3261 §17.1.1, Figure 5, as corrected by RFC 6026 §7.2).
//!
//! The machine is message-agnostic: the endpoint keeps the INVITE and the ACK, feeds status
//! codes and timeouts in, and carries out the returned [`Actions`].
//!
//! # State table
//!
//! "U" = unreliable transport (UDP), "R" = reliable (TCP, TLS, SCTP). Timers not mentioned keep
//! running; every timer is cancelled when the state it belongs to is left. The unit tests walk
//! this table row by row.
//!
//! | State              | Event                   | Actions                          | Next state | Timers armed                         |
//! |--------------------|-------------------------|----------------------------------|------------|--------------------------------------|
//! | —                  | `new` (INVITE from TU)  | transmit                         | Calling    | A = T1 (U only), B = 64·T1           |
//! | Calling            | Timer A                 | transmit                         | Calling    | A = 2 × previous A (no T2 cap)       |
//! | Calling            | Timer B                 | timed_out(B), terminated         | Terminated | —                                    |
//! | Calling            | 1xx                     | pass_to_tu                       | Proceeding | — (A and B cancelled)                |
//! | Calling            | 2xx                     | pass_to_tu                       | Accepted   | M = 64·T1                            |
//! | Calling            | 300–699 (U)             | send_ack, pass_to_tu             | Completed  | D = configured (≥ 32 s)              |
//! | Calling            | 300–699 (R)             | send_ack, pass_to_tu, terminated | Terminated | — (D = 0: terminated in the same call) |
//! | Proceeding         | 1xx                     | pass_to_tu                       | Proceeding | —                                    |
//! | Proceeding         | 2xx                     | pass_to_tu                       | Accepted   | M = 64·T1                            |
//! | Proceeding         | 300–699 (U)             | send_ack, pass_to_tu             | Completed  | D                                    |
//! | Proceeding         | 300–699 (R)             | send_ack, pass_to_tu, terminated | Terminated | —                                    |
//! | Completed          | 300–699                 | send_ack                         | Completed  | —                                    |
//! | Completed          | 1xx, 2xx                | — (absorbed)                     | Completed  | —                                    |
//! | Completed          | Timer D                 | terminated                       | Terminated | —                                    |
//! | Accepted           | 2xx                     | pass_to_tu                       | Accepted   | — (M is not restarted)               |
//! | Accepted           | 1xx, 300–699            | — (absorbed)                     | Accepted   | —                                    |
//! | Accepted           | Timer M                 | terminated                       | Terminated | —                                    |
//! | any but Terminated | transport error         | transport_failed, terminated     | Terminated | —                                    |
//! | Terminated         | anything                | —                                | Terminated | —                                    |
//! | any                | status outside 100–699  | — (ignored)                      | unchanged  | —                                    |
//!
//! In Proceeding no timer runs: RFC 3261 stops Timer B once a provisional arrives, and the TU
//! ends a ringing INVITE with CANCEL (a separate transaction), so `poll_timeout` is `None` there
//! until a final response comes. Retransmitted 2xx responses are passed up in Accepted so that
//! the TU (dialog layer) re-sends its ACK for each of them (RFC 6026 §7.2, RFC 3261 §13.2.2.4).

use std::time::{Duration, Instant};

use super::actions::Actions;
use super::timers::{TimerConfig, TimerName, deadline, earliest, is_due};

/// The states of the INVITE client transaction (RFC 3261 Figure 5, RFC 6026 Figure 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientInviteState {
    /// The INVITE was sent; no response yet. Timer A retransmits it on unreliable transports.
    Calling,
    /// A provisional response arrived; retransmissions stopped, waiting for a final response.
    Proceeding,
    /// A 300–699 final arrived and was ACKed; absorbing its retransmissions until Timer D.
    Completed,
    /// A 2xx arrived (RFC 6026); further 2xx go to the TU until Timer M.
    Accepted,
    /// Finished: the transaction must be destroyed.
    Terminated,
}

/// An INVITE client transaction (RFC 3261 §17.1.1, RFC 6026 §7.2).
#[derive(Debug, Clone)]
pub struct ClientInviteTransaction {
    state: ClientInviteState,
    reliable: bool,
    /// Timer M's duration (64·T1, RFC 6026 §8.4) and Timer D's for this transport: all a
    /// live transaction needs of its `TimerConfig`.
    wait_m: Duration,
    wait_d: Duration,
    /// Current Timer A interval (the value it was last armed with).
    a_interval: Duration,
    timer_a: Option<Instant>,
    /// The one timer that ends the current state: Timer B in Calling, D in Completed, M in
    /// Accepted (they never run together, so they share a slot).
    state_timer: Option<Instant>,
}

impl ClientInviteTransaction {
    /// Starts the transaction in Calling: the returned actions ask for the INVITE to be sent;
    /// Timer A (unreliable transports only) and Timer B are armed (RFC 3261 §17.1.1.2).
    pub fn new(now: Instant, reliable: bool, config: &TimerConfig) -> (Self, Actions) {
        let a_interval = config.timer_a();
        let tx = Self {
            state: ClientInviteState::Calling,
            reliable,
            wait_m: config.timer_m(),
            wait_d: config.timer_d(reliable),
            a_interval,
            timer_a: if reliable {
                None
            } else {
                deadline(now, a_interval)
            },
            state_timer: deadline(now, config.timer_b()),
        };
        (tx, Actions::none().with_transmit())
    }

    /// The current state.
    pub fn state(&self) -> ClientInviteState {
        self.state
    }

    /// Whether the transaction runs over a reliable transport (no Timer A, Timer D = 0).
    pub fn is_reliable(&self) -> bool {
        self.reliable
    }

    /// Whether the transaction has terminated and should be destroyed.
    pub fn is_terminated(&self) -> bool {
        self.state == ClientInviteState::Terminated
    }

    fn clear_timers(&mut self) {
        self.timer_a = None;
        self.state_timer = None;
    }

    fn terminate(&mut self) {
        self.state = ClientInviteState::Terminated;
        self.clear_timers();
    }

    /// A response matching this transaction arrived (RFC 3261 §17.1.1.2, RFC 6026 §7.2); see
    /// the module's state table. Codes outside 100–699 are ignored.
    pub fn on_response(&mut self, now: Instant, status: u16) -> Actions {
        use ClientInviteState as S;
        match (self.state, status) {
            (S::Calling | S::Proceeding, 100..=199) => {
                self.state = S::Proceeding;
                self.timer_a = None;
                self.state_timer = None;
                Actions::none().with_pass_to_tu()
            }
            (S::Calling | S::Proceeding, 200..=299) => {
                self.clear_timers();
                self.state = S::Accepted;
                self.state_timer = deadline(now, self.wait_m);
                Actions::none().with_pass_to_tu()
            }
            (S::Calling | S::Proceeding, 300..=699) => {
                self.clear_timers();
                let actions = Actions::none().with_send_ack().with_pass_to_tu();
                let wait = self.wait_d;
                if wait.is_zero() {
                    self.terminate();
                    actions.with_terminated()
                } else {
                    self.state = S::Completed;
                    self.state_timer = deadline(now, wait);
                    actions
                }
            }
            (S::Completed, 300..=699) => Actions::none().with_send_ack(),
            (S::Accepted, 200..=299) => Actions::none().with_pass_to_tu(),
            _ => Actions::none(),
        }
    }

    /// The transport failed to send the INVITE or the ACK (RFC 3261 §17.1.4): the TU is
    /// informed and the transaction terminates. Ignored once terminated.
    pub fn on_transport_error(&mut self, _now: Instant) -> Actions {
        if self.is_terminated() {
            return Actions::none();
        }
        self.terminate();
        Actions::none().with_transport_failed().with_terminated()
    }

    /// Fires every timer due at `now` (each at most once per call; retransmission timers are
    /// re-armed relative to `now`). A timeout that ends the transaction wins over a
    /// retransmission due at the same instant. Calling it early does nothing.
    pub fn handle_timeout(&mut self, now: Instant) -> Actions {
        use ClientInviteState as S;
        match self.state {
            S::Calling if is_due(self.state_timer, now) => {
                self.terminate();
                Actions::none().with_timed_out(TimerName::B)
            }
            S::Calling if is_due(self.timer_a, now) => {
                self.a_interval = self.a_interval.saturating_mul(2);
                self.timer_a = deadline(now, self.a_interval);
                Actions::none().with_transmit()
            }
            S::Completed if is_due(self.state_timer, now) => {
                self.terminate();
                Actions::none().with_terminated()
            }
            S::Accepted if is_due(self.state_timer, now) => {
                self.terminate();
                Actions::none().with_terminated()
            }
            _ => Actions::none(),
        }
    }

    /// The earliest armed timer, or `None` when no timer runs (Terminated, and Proceeding,
    /// which waits for a final response without a timer).
    pub fn poll_timeout(&self) -> Option<Instant> {
        earliest([self.timer_a, self.state_timer])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::table::{self, Ev, Machine, Row, base, ms, none, run_timers};
    use ClientInviteState as S;
    use proptest::prelude::*;

    impl Machine for ClientInviteTransaction {
        type State = ClientInviteState;
        type Out = Actions;
        const STATES: &'static [S] = &[
            S::Calling,
            S::Proceeding,
            S::Completed,
            S::Accepted,
            S::Terminated,
        ];

        fn start(now: Instant, reliable: bool, config: &TimerConfig) -> (Self, Actions) {
            Self::new(now, reliable, config)
        }

        fn input(&mut self, now: Instant, ev: Ev) -> Actions {
            match ev {
                Ev::Resp(status) => self.on_response(now, status),
                other => panic!("{other:?} is not an input of the INVITE client"),
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
        let ack_pass = none().with_send_ack().with_pass_to_tu();
        let tp = none().with_transport_failed().with_terminated();
        #[rustfmt::skip]
        let rows: &[Row<ClientInviteTransaction>] = &[
            Row { doc: "Calling | Timer A", reliable: u, setup: &[], event: Fire, out: none().with_transmit(), next: S::Calling, timer: Some(ms(1000)) },
            Row { doc: "Calling | Timer B", reliable: r, setup: &[], event: Fire, out: none().with_timed_out(TimerName::B), next: S::Terminated, timer: None },
            Row { doc: "Calling | 1xx", reliable: u, setup: &[], event: Resp(100), out: pass, next: S::Proceeding, timer: None },
            Row { doc: "Calling | 1xx", reliable: u, setup: &[], event: Resp(180), out: pass, next: S::Proceeding, timer: None },
            Row { doc: "Calling | 2xx", reliable: u, setup: &[], event: Resp(200), out: pass, next: S::Accepted, timer: Some(ms(32_000)) },
            Row { doc: "Calling | 2xx", reliable: r, setup: &[], event: Resp(299), out: pass, next: S::Accepted, timer: Some(ms(32_000)) },
            Row { doc: "Calling | 300–699 (U)", reliable: u, setup: &[], event: Resp(486), out: ack_pass, next: S::Completed, timer: Some(ms(32_000)) },
            Row { doc: "Calling | 300–699 (U)", reliable: u, setup: &[], event: Resp(302), out: ack_pass, next: S::Completed, timer: Some(ms(32_000)) },
            Row { doc: "Calling | 300–699 (R)", reliable: r, setup: &[], event: Resp(699), out: ack_pass.with_terminated(), next: S::Terminated, timer: None },
            Row { doc: "Proceeding | 1xx", reliable: u, setup: &[Resp(180)], event: Resp(183), out: pass, next: S::Proceeding, timer: None },
            Row { doc: "Proceeding | 2xx", reliable: u, setup: &[Resp(180)], event: Resp(200), out: pass, next: S::Accepted, timer: Some(ms(32_000)) },
            Row { doc: "Proceeding | 300–699 (U)", reliable: u, setup: &[Resp(180)], event: Resp(404), out: ack_pass, next: S::Completed, timer: Some(ms(32_000)) },
            Row { doc: "Proceeding | 300–699 (R)", reliable: r, setup: &[Resp(180)], event: Resp(404), out: ack_pass.with_terminated(), next: S::Terminated, timer: None },
            Row { doc: "Completed | 300–699", reliable: u, setup: &[Resp(486)], event: Resp(486), out: none().with_send_ack(), next: S::Completed, timer: Some(ms(32_000)) },
            Row { doc: "Completed | 1xx, 2xx", reliable: u, setup: &[Resp(486)], event: Resp(180), out: none(), next: S::Completed, timer: Some(ms(32_000)) },
            Row { doc: "Completed | 1xx, 2xx", reliable: u, setup: &[Resp(486)], event: Resp(200), out: none(), next: S::Completed, timer: Some(ms(32_000)) },
            Row { doc: "Completed | Timer D", reliable: u, setup: &[Resp(486)], event: Fire, out: none().with_terminated(), next: S::Terminated, timer: None },
            Row { doc: "Accepted | 2xx", reliable: u, setup: &[Resp(200)], event: Resp(200), out: pass, next: S::Accepted, timer: Some(ms(32_000)) },
            Row { doc: "Accepted | 1xx, 300–699", reliable: u, setup: &[Resp(200)], event: Resp(180), out: none(), next: S::Accepted, timer: Some(ms(32_000)) },
            Row { doc: "Accepted | 1xx, 300–699", reliable: u, setup: &[Resp(200)], event: Resp(500), out: none(), next: S::Accepted, timer: Some(ms(32_000)) },
            Row { doc: "Accepted | Timer M", reliable: u, setup: &[Resp(200)], event: Fire, out: none().with_terminated(), next: S::Terminated, timer: None },
            Row { doc: "Accepted | Timer M", reliable: r, setup: &[Resp(200)], event: Fire, out: none().with_terminated(), next: S::Terminated, timer: None },
            Row { doc: "any but Terminated | transport error", reliable: u, setup: &[], event: TransportErr, out: tp, next: S::Terminated, timer: None },
            Row { doc: "any but Terminated | transport error", reliable: u, setup: &[Resp(180)], event: TransportErr, out: tp, next: S::Terminated, timer: None },
            Row { doc: "any but Terminated | transport error", reliable: u, setup: &[Resp(486)], event: TransportErr, out: tp, next: S::Terminated, timer: None },
            Row { doc: "any but Terminated | transport error", reliable: u, setup: &[Resp(200)], event: TransportErr, out: tp, next: S::Terminated, timer: None },
            Row { doc: "Terminated | anything", reliable: u, setup: &[TransportErr], event: Resp(200), out: none(), next: S::Terminated, timer: None },
            Row { doc: "Terminated | anything", reliable: u, setup: &[TransportErr], event: Resp(486), out: none(), next: S::Terminated, timer: None },
            Row { doc: "Terminated | anything", reliable: u, setup: &[TransportErr], event: TransportErr, out: none(), next: S::Terminated, timer: None },
            Row { doc: "any | status outside 100–699", reliable: u, setup: &[], event: Resp(99), out: none(), next: S::Calling, timer: Some(ms(500)) },
            Row { doc: "any | status outside 100–699", reliable: u, setup: &[], event: Resp(700), out: none(), next: S::Calling, timer: Some(ms(500)) },
            Row { doc: "any | status outside 100–699", reliable: u, setup: &[Resp(180)], event: Resp(0), out: none(), next: S::Proceeding, timer: None },
            Row { doc: "any | status outside 100–699", reliable: u, setup: &[Resp(486)], event: Resp(700), out: none(), next: S::Completed, timer: Some(ms(32_000)) },
            Row { doc: "any | status outside 100–699", reliable: r, setup: &[Resp(200)], event: Resp(99), out: none(), next: S::Accepted, timer: Some(ms(32_000)) },
            Row { doc: "any | status outside 100–699", reliable: u, setup: &[TransportErr], event: Resp(u16::MAX), out: none(), next: S::Terminated, timer: None },
        ];
        table::walk(
            base(),
            include_str!("client_invite.rs"),
            none().with_transmit(),
            rows,
        );
    }

    #[test]
    fn new_arms_a_and_b_on_datagrams_only_b_on_streams() {
        let t0 = base();
        let c = TimerConfig::default();
        let (tx, a) = ClientInviteTransaction::new(t0, false, &c);
        assert!(a.transmit() && !a.terminated());
        assert_eq!(tx.state(), S::Calling);
        assert_eq!(tx.poll_timeout(), Some(t0 + ms(500)));
        let (tx, _) = ClientInviteTransaction::new(t0, true, &c);
        assert_eq!(tx.poll_timeout(), Some(t0 + ms(32_000)));
        assert!(tx.is_reliable());
    }

    #[test]
    fn timer_a_doubles_without_cap_until_b_on_datagrams() {
        let t0 = base();
        let (mut tx, _) = ClientInviteTransaction::new(t0, false, &TimerConfig::default());
        let (sends, end, at) = run_timers(&mut tx, t0);
        assert_eq!(sends, [500, 1500, 3500, 7500, 15_500, 31_500]);
        assert_eq!(end.timed_out(), Some(TimerName::B));
        assert!(!end.transmit(), "B wins over nothing else at 32 s");
        assert_eq!(at, 32_000);
        assert_eq!(tx.state(), S::Terminated);
        assert_eq!(tx.poll_timeout(), None);
    }

    #[test]
    fn reliable_has_no_retransmissions_only_b() {
        let t0 = base();
        let (mut tx, _) = ClientInviteTransaction::new(t0, true, &TimerConfig::default());
        let (sends, end, at) = run_timers(&mut tx, t0);
        assert!(sends.is_empty());
        assert_eq!(end.timed_out(), Some(TimerName::B));
        assert_eq!(at, 32_000);
    }

    #[test]
    fn early_handle_timeout_is_a_no_op() {
        let t0 = base();
        let (mut tx, _) = ClientInviteTransaction::new(t0, false, &TimerConfig::default());
        assert!(tx.handle_timeout(t0 + ms(499)).is_empty());
        assert_eq!(tx.poll_timeout(), Some(t0 + ms(500)));
        assert!(tx.handle_timeout(t0 + ms(500)).transmit());
        assert_eq!(tx.poll_timeout(), Some(t0 + ms(1500)));
    }

    #[test]
    fn late_wakeup_prefers_timeout_over_retransmission() {
        let t0 = base();
        let (mut tx, _) = ClientInviteTransaction::new(t0, false, &TimerConfig::default());
        // A due at 0.5 s and B at 32 s are both due at 40 s: only the timeout is reported.
        let a = tx.handle_timeout(t0 + ms(40_000));
        assert_eq!(a, none().with_timed_out(TimerName::B));
        assert_eq!(tx.poll_timeout(), None);
    }

    #[test]
    fn provisional_stops_retransmissions_and_timer_b() {
        let t0 = base();
        let (mut tx, _) = ClientInviteTransaction::new(t0, false, &TimerConfig::default());
        assert!(tx.handle_timeout(t0 + ms(500)).transmit());
        assert_eq!(tx.on_response(t0 + ms(700), 180), none().with_pass_to_tu());
        assert_eq!(tx.poll_timeout(), None);
        // Even long after B would have fired, nothing happens: the TU cancels a ringing INVITE.
        assert!(tx.handle_timeout(t0 + ms(120_000)).is_empty());
        assert_eq!(tx.state(), S::Proceeding);
        // The final response still completes it.
        let a = tx.on_response(t0 + ms(130_000), 487);
        assert_eq!(a, none().with_send_ack().with_pass_to_tu());
        assert_eq!(tx.poll_timeout(), Some(t0 + ms(162_000)));
    }

    #[test]
    fn timer_d_on_datagrams_zero_on_streams() {
        let t0 = base();
        let c = TimerConfig::default();
        let (mut tx, _) = ClientInviteTransaction::new(t0, false, &c);
        tx.on_response(t0 + ms(100), 503);
        assert_eq!(tx.poll_timeout(), Some(t0 + ms(32_100)));
        assert_eq!(tx.on_response(t0 + ms(600), 503), none().with_send_ack());
        assert!(tx.handle_timeout(t0 + ms(32_099)).is_empty());
        assert_eq!(tx.handle_timeout(t0 + ms(32_100)), none().with_terminated());
        assert_eq!(tx.poll_timeout(), None);

        // A configured Timer D above 32 s is honoured.
        let long_d = TimerConfig {
            timer_d: Duration::from_secs(40),
            ..c
        };
        let (mut tx, _) = ClientInviteTransaction::new(t0, false, &long_d);
        tx.on_response(t0, 404);
        assert_eq!(tx.poll_timeout(), Some(t0 + Duration::from_secs(40)));

        let (mut tx, _) = ClientInviteTransaction::new(t0, true, &long_d);
        let a = tx.on_response(t0, 404);
        assert_eq!(
            a,
            none().with_send_ack().with_pass_to_tu().with_terminated()
        );
        assert_eq!(tx.state(), S::Terminated);
        assert_eq!(tx.poll_timeout(), None);
    }

    #[test]
    fn rfc6026_accepted_passes_2xx_retransmissions_until_timer_m() {
        let t0 = base();
        let c = TimerConfig {
            t1: ms(250),
            ..TimerConfig::default()
        };
        for reliable in [false, true] {
            let (mut tx, _) = ClientInviteTransaction::new(t0, reliable, &c);
            assert_eq!(tx.on_response(t0 + ms(50), 180), none().with_pass_to_tu());
            assert_eq!(tx.on_response(t0 + ms(100), 200), none().with_pass_to_tu());
            assert_eq!(tx.state(), S::Accepted);
            // Timer M = 64·T1 = 16 s with T1 = 250 ms, on every transport.
            assert_eq!(tx.poll_timeout(), Some(t0 + ms(16_100)));
            // Each retransmitted (or forked) 2xx goes to the TU, which ACKs it; no ACK here.
            for k in 1..=5 {
                let a = tx.on_response(t0 + ms(100 + 500 * k), 200);
                assert_eq!(a, none().with_pass_to_tu());
                assert!(!a.send_ack());
            }
            // M is not restarted by retransmissions.
            assert_eq!(tx.poll_timeout(), Some(t0 + ms(16_100)));
            assert!(tx.handle_timeout(t0 + ms(16_099)).is_empty());
            assert_eq!(tx.handle_timeout(t0 + ms(16_100)), none().with_terminated());
            assert_eq!(tx.poll_timeout(), None);
            assert!(tx.on_response(t0 + ms(16_200), 200).is_empty());
        }
    }

    #[test]
    fn absurd_config_does_not_panic() {
        let t0 = base();
        let c = TimerConfig {
            t1: Duration::MAX,
            t2: Duration::MAX,
            t4: Duration::MAX,
            timer_d: Duration::MAX,
            trying_delay: Duration::MAX,
        };
        let (mut tx, _) = ClientInviteTransaction::new(t0, false, &c);
        // Deadlines beyond what an Instant can hold are never reached.
        assert_eq!(tx.poll_timeout(), None);
        assert!(tx.on_response(t0, 404).send_ack());
        assert!(tx.handle_timeout(t0 + ms(1)).is_empty());

        let zero = TimerConfig {
            t1: Duration::ZERO,
            ..TimerConfig::default()
        };
        let (mut tx, _) = ClientInviteTransaction::new(t0, false, &zero);
        assert_eq!(tx.poll_timeout(), Some(t0));
        assert_eq!(tx.handle_timeout(t0), none().with_timed_out(TimerName::B));
    }

    #[test]
    fn size_is_small() {
        assert!(std::mem::size_of::<ClientInviteTransaction>() <= 192);
    }

    fn rank(s: ClientInviteState) -> u8 {
        match s {
            S::Calling => 0,
            S::Proceeding => 1,
            S::Completed | S::Accepted => 2,
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
            4 => prop_oneof![Just(100u16), Just(180), Just(200), Just(202), Just(302), Just(486), Just(603), Just(0), Just(700), any::<u16>()].prop_map(PEv::Resp),
            1 => Just(PEv::TransportErr),
            4 => (0u64..40_000).prop_map(PEv::Advance),
            1 => Just(PEv::PollEarly),
        ]
    }

    fn check(tx: &ClientInviteTransaction) {
        let s = tx.state();
        let waiting = s == S::Terminated || s == S::Proceeding;
        assert_eq!(
            tx.poll_timeout().is_none(),
            waiting,
            "poll_timeout in {s:?}"
        );
    }

    proptest! {
        #[test]
        fn random_inputs(reliable: bool, events in proptest::collection::vec(pev(), 0..40)) {
            let t0 = base();
            let c = TimerConfig::default();
            let (mut tx, _) = ClientInviteTransaction::new(t0, reliable, &c);
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
                check(&tx);
            }
            // In Proceeding the machine waits for a final response: give it one.
            if tx.state() == S::Proceeding {
                tx.on_response(now, 486);
            }
            let bound = c.timer_b().max(c.timer_d(reliable)).max(c.timer_m()) + c.t4 + ms(1);
            let limit = now + bound;
            while let Some(at) = tx.poll_timeout() {
                prop_assert!(at <= limit, "timer beyond the bound");
                now = at;
                tx.handle_timeout(now);
            }
            prop_assert_eq!(tx.state(), S::Terminated);
        }
    }
}
