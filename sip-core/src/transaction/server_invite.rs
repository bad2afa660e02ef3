//! The INVITE server transaction (RFC 3261 §17.2.1, Figure 7, as corrected by RFC 6026 §7.1).
//!
//! The machine is message-agnostic: the endpoint keeps the INVITE and the most recent response,
//! feeds request retransmissions, ACKs, TU responses and timeouts in, and carries out the
//! returned [`Actions`].
//!
//! # State table
//!
//! "U" = unreliable transport, "R" = reliable. "TU nxx" is `on_tu_response`; its `Err` rows
//! leave the state and timers untouched. Every timer is cancelled when the state it belongs to
//! is left. The unit tests walk this table row by row.
//!
//! | State              | Event                              | Actions                      | Next state | Timers armed                        |
//! |--------------------|------------------------------------|------------------------------|------------|-------------------------------------|
//! | —                  | `new` (INVITE received)            | pass_to_tu                   | Proceeding | Trying = 200 ms (0: send_trying now) |
//! | Proceeding         | Trying timer, TU silent so far     | send_trying                  | Proceeding | —                                   |
//! | Proceeding         | INVITE retransmission, a response was sent | transmit (last response) | Proceeding | —                          |
//! | Proceeding         | INVITE retransmission, nothing sent yet | — (absorbed)            | Proceeding | —                                   |
//! | Proceeding         | TU 1xx                             | transmit                     | Proceeding | — (Trying cancelled)                |
//! | Proceeding         | TU 2xx                             | transmit                     | Accepted   | L = 64·T1                           |
//! | Proceeding         | TU 300–699                         | transmit                     | Completed  | G = T1 (U only), H = 64·T1          |
//! | Proceeding         | ACK                                | — (absorbed)                 | Proceeding | —                                   |
//! | Completed          | INVITE retransmission              | transmit (the final)         | Completed  | —                                   |
//! | Completed          | Timer G                            | transmit (the final)         | Completed  | G = min(2 × previous G, T2)         |
//! | Completed          | Timer H                            | timed_out(H), terminated     | Terminated | —                                   |
//! | Completed          | ACK (U)                            | —                            | Confirmed  | I = T4                              |
//! | Completed          | ACK (R)                            | terminated                   | Terminated | — (I = 0: terminated in the same call) |
//! | Completed          | TU any                             | `Err(AfterFinal)`            | Completed  | —                                   |
//! | Confirmed          | INVITE retransmission, ACK         | — (absorbed)                 | Confirmed  | —                                   |
//! | Confirmed          | Timer I                            | terminated                   | Terminated | —                                   |
//! | Confirmed          | TU any                             | `Err(AfterFinal)`            | Confirmed  | —                                   |
//! | Accepted           | INVITE retransmission              | — (absorbed, not to the TU)  | Accepted   | —                                   |
//! | Accepted           | ACK                                | pass_to_tu                   | Accepted   | —                                   |
//! | Accepted           | TU 2xx (the TU's retransmission)   | transmit                     | Accepted   | — (L is not restarted)              |
//! | Accepted           | TU 1xx, 300–699                    | `Err(AfterFinal)`            | Accepted   | —                                   |
//! | Accepted           | Timer L                            | terminated                   | Terminated | —                                   |
//! | any but Terminated | transport error                    | transport_failed, terminated | Terminated | —                                   |
//! | Terminated         | TU any                             | `Err(Terminated)`            | Terminated | —                                   |
//! | Terminated         | anything else                      | —                            | Terminated | —                                   |
//! | any                | TU status outside 100–699          | `Err(InvalidStatus)`         | unchanged  | —                                   |
//!
//! In Accepted the transaction never retransmits the 2xx itself: the TU does (RFC 3261
//! §13.3.1.4), and each retransmission goes through `on_tu_response` (RFC 6026 §7.1). Once the
//! `100 Trying` timer has fired or the TU has answered, Proceeding has no timer: the TU must send
//! a final response.

use std::time::{Duration, Instant};

use super::actions::Actions;
use super::error::TransactionError;
use super::timers::{TimerConfig, TimerName, deadline, earliest, is_due, next_capped};

/// The states of the INVITE server transaction (RFC 3261 Figure 7, RFC 6026 Figure 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerInviteState {
    /// The INVITE was passed to the TU; provisional responses may be sent.
    Proceeding,
    /// A 300–699 final was sent; retransmitting it (Timer G) until an ACK or Timer H.
    Completed,
    /// The ACK for the non-2xx final arrived; absorbing ACK retransmissions until Timer I.
    Confirmed,
    /// A 2xx was sent (RFC 6026); absorbing INVITE retransmissions until Timer L.
    Accepted,
    /// Finished: the transaction must be destroyed.
    Terminated,
}

/// An INVITE server transaction (RFC 3261 §17.2.1, RFC 6026 §7.1).
#[derive(Debug, Clone)]
pub struct ServerInviteTransaction {
    state: ServerInviteState,
    reliable: bool,
    /// Whether a response (from the TU or our own 100) was sent, so a retransmission of the
    /// INVITE has something to re-send.
    responded: bool,
    /// The final status sent, once one was.
    final_status: Option<u16>,
    /// T1 (Timer G's first interval; H and L are 64·T1), T2 (the cap on G) and Timer I's
    /// duration for this transport: all a live transaction needs of its `TimerConfig`.
    t1: Duration,
    t2: Duration,
    wait_i: Duration,
    /// Current Timer G interval (the value it was last armed with).
    g_interval: Duration,
    timer_trying: Option<Instant>,
    timer_g: Option<Instant>,
    timer_h: Option<Instant>,
    timer_i: Option<Instant>,
    timer_l: Option<Instant>,
}

impl ServerInviteTransaction {
    /// Creates the transaction for a new INVITE in Proceeding: the returned actions pass the
    /// INVITE to the TU, and the Trying timer is armed (RFC 3261 §17.2.1). With a zero Trying
    /// delay no timer is armed and the actions ask for the `100 Trying` at once.
    pub fn new(now: Instant, reliable: bool, config: &TimerConfig) -> (Self, Actions) {
        let mut tx = Self {
            state: ServerInviteState::Proceeding,
            reliable,
            responded: false,
            final_status: None,
            t1: config.t1,
            t2: config.t2,
            wait_i: config.timer_i(reliable),
            g_interval: config.timer_g(),
            timer_trying: None,
            timer_g: None,
            timer_h: None,
            timer_i: None,
            timer_l: None,
        };
        let actions = Actions::none().with_pass_to_tu();
        if config.trying_delay.is_zero() {
            tx.responded = true;
            (tx, actions.with_send_trying())
        } else {
            tx.timer_trying = deadline(now, config.trying_delay);
            (tx, actions)
        }
    }

    /// The current state.
    pub fn state(&self) -> ServerInviteState {
        self.state
    }

    /// Whether the transaction runs over a reliable transport (no Timer G, Timer I = 0).
    pub fn is_reliable(&self) -> bool {
        self.reliable
    }

    /// Whether the transaction has terminated and should be destroyed.
    pub fn is_terminated(&self) -> bool {
        self.state == ServerInviteState::Terminated
    }

    /// The final status code sent on this transaction, if any.
    pub fn final_status(&self) -> Option<u16> {
        self.final_status
    }

    fn clear_timers(&mut self) {
        self.timer_trying = None;
        self.timer_g = None;
        self.timer_h = None;
        self.timer_i = None;
        self.timer_l = None;
    }

    fn terminate(&mut self) {
        self.state = ServerInviteState::Terminated;
        self.clear_timers();
    }

    /// A retransmission of the INVITE arrived (RFC 3261 §17.2.1, RFC 6026 §7.1): in Proceeding
    /// the most recent provisional is re-sent (if one was sent), in Completed the final; it is
    /// absorbed in Confirmed and Accepted (never passed to the TU).
    pub fn on_request_retransmission(&mut self, _now: Instant) -> Actions {
        match self.state {
            ServerInviteState::Proceeding if self.responded => Actions::none().with_transmit(),
            ServerInviteState::Completed => Actions::none().with_transmit(),
            _ => Actions::none(),
        }
    }

    /// The TU passes a response down (RFC 3261 §17.2.1, RFC 6026 §7.1); on `Ok` the actions ask
    /// for it to be sent. Refused, with the state unchanged, when the RFC forbids it: see the
    /// module's state table.
    pub fn on_tu_response(
        &mut self,
        now: Instant,
        status: u16,
    ) -> Result<Actions, TransactionError> {
        use ServerInviteState as S;
        if !(100..=699).contains(&status) {
            return Err(TransactionError::InvalidStatus(status));
        }
        match self.state {
            S::Terminated => Err(TransactionError::Terminated { status }),
            S::Proceeding => {
                self.responded = true;
                self.timer_trying = None;
                match status {
                    100..=199 => {}
                    200..=299 => {
                        self.final_status = Some(status);
                        self.state = S::Accepted;
                        self.timer_l = deadline(now, self.t1.saturating_mul(64));
                    }
                    _ => {
                        self.final_status = Some(status);
                        self.state = S::Completed;
                        if !self.reliable {
                            self.g_interval = self.t1;
                            self.timer_g = deadline(now, self.g_interval);
                        }
                        self.timer_h = deadline(now, self.t1.saturating_mul(64));
                    }
                }
                Ok(Actions::none().with_transmit())
            }
            S::Accepted if (200..=299).contains(&status) => Ok(Actions::none().with_transmit()),
            S::Completed | S::Confirmed | S::Accepted => Err(TransactionError::AfterFinal {
                status,
                sent: self.final_status.unwrap_or(0),
            }),
        }
    }

    /// An ACK matching this transaction arrived (RFC 3261 §17.2.1, RFC 6026 §7.1): in Completed
    /// it confirms the non-2xx final (Timer I, or termination at once on reliable transports);
    /// in Accepted it is the ACK for the 2xx and goes to the TU; elsewhere it is absorbed.
    pub fn on_ack(&mut self, now: Instant) -> Actions {
        use ServerInviteState as S;
        match self.state {
            S::Completed => {
                self.clear_timers();
                let wait = self.wait_i;
                if wait.is_zero() {
                    self.terminate();
                    Actions::none().with_terminated()
                } else {
                    self.state = S::Confirmed;
                    self.timer_i = deadline(now, wait);
                    Actions::none()
                }
            }
            S::Accepted => Actions::none().with_pass_to_tu(),
            _ => Actions::none(),
        }
    }

    /// The transport failed to send a response (RFC 3261 §17.2.4): the TU is informed and the
    /// transaction terminates. Ignored once terminated.
    pub fn on_transport_error(&mut self, _now: Instant) -> Actions {
        if self.is_terminated() {
            return Actions::none();
        }
        self.terminate();
        Actions::none().with_transport_failed().with_terminated()
    }

    /// Fires every timer due at `now` (each at most once per call; Timer G is re-armed relative
    /// to `now`). A timeout that ends the transaction wins over a retransmission due at the
    /// same instant. Calling it early does nothing.
    pub fn handle_timeout(&mut self, now: Instant) -> Actions {
        use ServerInviteState as S;
        match self.state {
            S::Proceeding if is_due(self.timer_trying, now) => {
                self.timer_trying = None;
                self.responded = true;
                Actions::none().with_send_trying()
            }
            S::Completed if is_due(self.timer_h, now) => {
                self.terminate();
                Actions::none().with_timed_out(TimerName::H)
            }
            S::Completed if is_due(self.timer_g, now) => {
                self.g_interval = next_capped(self.g_interval, self.t2);
                self.timer_g = deadline(now, self.g_interval);
                Actions::none().with_transmit()
            }
            S::Confirmed if is_due(self.timer_i, now) => {
                self.terminate();
                Actions::none().with_terminated()
            }
            S::Accepted if is_due(self.timer_l, now) => {
                self.terminate();
                Actions::none().with_terminated()
            }
            _ => Actions::none(),
        }
    }

    /// The earliest armed timer, or `None` when no timer runs (Terminated, and Proceeding once
    /// the Trying timer is gone: the TU owes a final response).
    pub fn poll_timeout(&self) -> Option<Instant> {
        // Each state runs its own timers only (the others are disarmed on the way in), so
        // the earliest is read by state rather than compared across all five.
        let t = match self.state {
            ServerInviteState::Proceeding => self.timer_trying,
            ServerInviteState::Completed => earliest([self.timer_g, self.timer_h]),
            ServerInviteState::Confirmed => self.timer_i,
            ServerInviteState::Accepted => self.timer_l,
            ServerInviteState::Terminated => None,
        };
        debug_assert_eq!(
            t,
            earliest([
                self.timer_trying,
                self.timer_g,
                self.timer_h,
                self.timer_i,
                self.timer_l,
            ])
        );
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::table::{self, Ev, Machine, Row, base, ms, none, run_timers};
    use ServerInviteState as S;
    use proptest::prelude::*;

    impl Machine for ServerInviteTransaction {
        type State = ServerInviteState;
        type Out = Result<Actions, TransactionError>;
        const STATES: &'static [S] = &[
            S::Proceeding,
            S::Completed,
            S::Confirmed,
            S::Accepted,
            S::Terminated,
        ];

        fn start(now: Instant, reliable: bool, config: &TimerConfig) -> (Self, Actions) {
            Self::new(now, reliable, config)
        }

        fn input(&mut self, now: Instant, ev: Ev) -> Self::Out {
            match ev {
                Ev::Retrans => Ok(self.on_request_retransmission(now)),
                Ev::Tu(status) => self.on_tu_response(now, status),
                Ev::Ack => Ok(self.on_ack(now)),
                other => panic!("{other:?} is not an input of the INVITE server"),
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
        let tx_ = Ok(none().with_transmit());
        let nothing = Ok(none());
        let tp = Ok(none().with_transport_failed().with_terminated());
        let after = |status, sent| Err(TransactionError::AfterFinal { status, sent });
        #[rustfmt::skip]
        let rows: &[Row<ServerInviteTransaction>] = &[
            Row { doc: "Proceeding | Trying timer, TU silent so far", reliable: u, setup: &[], event: Fire, out: Ok(none().with_send_trying()), next: S::Proceeding, timer: None },
            Row { doc: "Proceeding | Trying timer, TU silent so far", reliable: r, setup: &[], event: Fire, out: Ok(none().with_send_trying()), next: S::Proceeding, timer: None },
            Row { doc: "Proceeding | INVITE retransmission, a response was sent", reliable: u, setup: &[Fire], event: Retrans, out: tx_, next: S::Proceeding, timer: None },
            Row { doc: "Proceeding | INVITE retransmission, a response was sent", reliable: u, setup: &[Tu(180)], event: Retrans, out: tx_, next: S::Proceeding, timer: None },
            Row { doc: "Proceeding | INVITE retransmission, nothing sent yet", reliable: u, setup: &[], event: Retrans, out: nothing, next: S::Proceeding, timer: Some(ms(200)) },
            Row { doc: "Proceeding | TU 1xx", reliable: u, setup: &[], event: Tu(180), out: tx_, next: S::Proceeding, timer: None },
            Row { doc: "Proceeding | TU 1xx", reliable: u, setup: &[], event: Tu(100), out: tx_, next: S::Proceeding, timer: None },
            Row { doc: "Proceeding | TU 1xx", reliable: u, setup: &[Tu(180)], event: Tu(183), out: tx_, next: S::Proceeding, timer: None },
            Row { doc: "Proceeding | TU 2xx", reliable: u, setup: &[], event: Tu(200), out: tx_, next: S::Accepted, timer: Some(ms(32_000)) },
            Row { doc: "Proceeding | TU 2xx", reliable: r, setup: &[Tu(180)], event: Tu(200), out: tx_, next: S::Accepted, timer: Some(ms(32_000)) },
            Row { doc: "Proceeding | TU 300–699", reliable: u, setup: &[], event: Tu(486), out: tx_, next: S::Completed, timer: Some(ms(500)) },
            Row { doc: "Proceeding | TU 300–699", reliable: r, setup: &[], event: Tu(486), out: tx_, next: S::Completed, timer: Some(ms(32_000)) },
            Row { doc: "Proceeding | TU 300–699", reliable: u, setup: &[Tu(180)], event: Tu(603), out: tx_, next: S::Completed, timer: Some(ms(500)) },
            Row { doc: "Proceeding | ACK", reliable: u, setup: &[], event: Ack, out: nothing, next: S::Proceeding, timer: Some(ms(200)) },
            Row { doc: "Completed | INVITE retransmission", reliable: u, setup: &[Tu(486)], event: Retrans, out: tx_, next: S::Completed, timer: Some(ms(500)) },
            Row { doc: "Completed | Timer G", reliable: u, setup: &[Tu(486)], event: Fire, out: tx_, next: S::Completed, timer: Some(ms(1000)) },
            Row { doc: "Completed | Timer H", reliable: r, setup: &[Tu(486)], event: Fire, out: Ok(none().with_timed_out(TimerName::H)), next: S::Terminated, timer: None },
            Row { doc: "Completed | ACK (U)", reliable: u, setup: &[Tu(486)], event: Ack, out: nothing, next: S::Confirmed, timer: Some(ms(5000)) },
            Row { doc: "Completed | ACK (R)", reliable: r, setup: &[Tu(486)], event: Ack, out: Ok(none().with_terminated()), next: S::Terminated, timer: None },
            Row { doc: "Completed | TU any", reliable: u, setup: &[Tu(486)], event: Tu(486), out: after(486, 486), next: S::Completed, timer: Some(ms(500)) },
            Row { doc: "Completed | TU any", reliable: u, setup: &[Tu(486)], event: Tu(200), out: after(200, 486), next: S::Completed, timer: Some(ms(500)) },
            Row { doc: "Completed | TU any", reliable: u, setup: &[Tu(486)], event: Tu(180), out: after(180, 486), next: S::Completed, timer: Some(ms(500)) },
            Row { doc: "Confirmed | INVITE retransmission, ACK", reliable: u, setup: &[Tu(486), Ack], event: Retrans, out: nothing, next: S::Confirmed, timer: Some(ms(5000)) },
            Row { doc: "Confirmed | INVITE retransmission, ACK", reliable: u, setup: &[Tu(486), Ack], event: Ack, out: nothing, next: S::Confirmed, timer: Some(ms(5000)) },
            Row { doc: "Confirmed | Timer I", reliable: u, setup: &[Tu(486), Ack], event: Fire, out: Ok(none().with_terminated()), next: S::Terminated, timer: None },
            Row { doc: "Confirmed | TU any", reliable: u, setup: &[Tu(486), Ack], event: Tu(500), out: after(500, 486), next: S::Confirmed, timer: Some(ms(5000)) },
            Row { doc: "Accepted | INVITE retransmission", reliable: u, setup: &[Tu(200)], event: Retrans, out: nothing, next: S::Accepted, timer: Some(ms(32_000)) },
            Row { doc: "Accepted | ACK", reliable: u, setup: &[Tu(200)], event: Ack, out: Ok(none().with_pass_to_tu()), next: S::Accepted, timer: Some(ms(32_000)) },
            Row { doc: "Accepted | TU 2xx (the TU's retransmission)", reliable: u, setup: &[Tu(200)], event: Tu(200), out: tx_, next: S::Accepted, timer: Some(ms(32_000)) },
            Row { doc: "Accepted | TU 1xx, 300–699", reliable: u, setup: &[Tu(200)], event: Tu(180), out: after(180, 200), next: S::Accepted, timer: Some(ms(32_000)) },
            Row { doc: "Accepted | TU 1xx, 300–699", reliable: u, setup: &[Tu(200)], event: Tu(486), out: after(486, 200), next: S::Accepted, timer: Some(ms(32_000)) },
            Row { doc: "Accepted | Timer L", reliable: u, setup: &[Tu(200)], event: Fire, out: Ok(none().with_terminated()), next: S::Terminated, timer: None },
            Row { doc: "Accepted | Timer L", reliable: r, setup: &[Tu(200)], event: Fire, out: Ok(none().with_terminated()), next: S::Terminated, timer: None },
            Row { doc: "any but Terminated | transport error", reliable: u, setup: &[], event: TransportErr, out: tp, next: S::Terminated, timer: None },
            Row { doc: "any but Terminated | transport error", reliable: u, setup: &[Tu(486)], event: TransportErr, out: tp, next: S::Terminated, timer: None },
            Row { doc: "any but Terminated | transport error", reliable: u, setup: &[Tu(486), Ack], event: TransportErr, out: tp, next: S::Terminated, timer: None },
            Row { doc: "any but Terminated | transport error", reliable: u, setup: &[Tu(200)], event: TransportErr, out: tp, next: S::Terminated, timer: None },
            Row { doc: "Terminated | TU any", reliable: u, setup: &[TransportErr], event: Tu(200), out: Err(TransactionError::Terminated { status: 200 }), next: S::Terminated, timer: None },
            Row { doc: "Terminated | anything else", reliable: u, setup: &[TransportErr], event: Retrans, out: nothing, next: S::Terminated, timer: None },
            Row { doc: "Terminated | anything else", reliable: u, setup: &[TransportErr], event: Ack, out: nothing, next: S::Terminated, timer: None },
            Row { doc: "Terminated | anything else", reliable: u, setup: &[TransportErr], event: TransportErr, out: nothing, next: S::Terminated, timer: None },
            Row { doc: "any | TU status outside 100–699", reliable: u, setup: &[], event: Tu(99), out: Err(TransactionError::InvalidStatus(99)), next: S::Proceeding, timer: Some(ms(200)) },
            Row { doc: "any | TU status outside 100–699", reliable: u, setup: &[], event: Tu(700), out: Err(TransactionError::InvalidStatus(700)), next: S::Proceeding, timer: Some(ms(200)) },
            Row { doc: "any | TU status outside 100–699", reliable: u, setup: &[Tu(486)], event: Tu(0), out: Err(TransactionError::InvalidStatus(0)), next: S::Completed, timer: Some(ms(500)) },
            Row { doc: "any | TU status outside 100–699", reliable: u, setup: &[Tu(486), Ack], event: Tu(700), out: Err(TransactionError::InvalidStatus(700)), next: S::Confirmed, timer: Some(ms(5000)) },
            Row { doc: "any | TU status outside 100–699", reliable: r, setup: &[Tu(200)], event: Tu(99), out: Err(TransactionError::InvalidStatus(99)), next: S::Accepted, timer: Some(ms(32_000)) },
            Row { doc: "any | TU status outside 100–699", reliable: u, setup: &[TransportErr], event: Tu(u16::MAX), out: Err(TransactionError::InvalidStatus(u16::MAX)), next: S::Terminated, timer: None },
        ];
        table::walk(
            base(),
            include_str!("server_invite.rs"),
            none().with_pass_to_tu(),
            rows,
        );
    }

    #[test]
    fn trying_after_200ms_unless_the_tu_answers() {
        let t0 = base();
        let c = TimerConfig::default();
        let (mut tx, a) = ServerInviteTransaction::new(t0, false, &c);
        assert_eq!(a, none().with_pass_to_tu());
        assert_eq!(tx.poll_timeout(), Some(t0 + ms(200)));
        assert!(tx.handle_timeout(t0 + ms(199)).is_empty());
        assert_eq!(tx.handle_timeout(t0 + ms(200)), none().with_send_trying());
        assert_eq!(tx.poll_timeout(), None);
        // The generated 100 is what an INVITE retransmission re-sends.
        assert_eq!(
            tx.on_request_retransmission(t0 + ms(500)),
            none().with_transmit()
        );

        // TU answers within 200 ms: no 100 from the transaction.
        let (mut tx, _) = ServerInviteTransaction::new(t0, false, &c);
        assert_eq!(
            tx.on_tu_response(t0 + ms(150), 180),
            Ok(none().with_transmit())
        );
        assert_eq!(tx.poll_timeout(), None);
        assert!(tx.handle_timeout(t0 + ms(200)).is_empty());

        // Zero delay: the 100 is requested by `new` itself.
        let zero = TimerConfig {
            trying_delay: Duration::ZERO,
            ..c
        };
        let (tx, a) = ServerInviteTransaction::new(t0, true, &zero);
        assert_eq!(a, none().with_pass_to_tu().with_send_trying());
        assert_eq!(tx.poll_timeout(), None);
    }

    #[test]
    fn timer_g_doubles_capped_at_t2_until_h_on_datagrams() {
        let t0 = base();
        let (mut tx, _) = ServerInviteTransaction::new(t0, false, &TimerConfig::default());
        assert!(tx.on_tu_response(t0, 486).is_ok());
        let (sends, end, at) = run_timers(&mut tx, t0);
        assert_eq!(
            sends,
            [
                500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500
            ]
        );
        assert_eq!(end, none().with_timed_out(TimerName::H));
        assert_eq!(at, 32_000);
        assert_eq!(tx.poll_timeout(), None);
    }

    #[test]
    fn reliable_final_has_only_timer_h() {
        let t0 = base();
        let (mut tx, _) = ServerInviteTransaction::new(t0, true, &TimerConfig::default());
        assert!(tx.on_tu_response(t0, 404).is_ok());
        let (sends, end, at) = run_timers(&mut tx, t0);
        assert!(sends.is_empty());
        assert_eq!(end.timed_out(), Some(TimerName::H));
        assert_eq!(at, 32_000);
    }

    #[test]
    fn ack_stops_g_and_h_then_timer_i() {
        let t0 = base();
        let (mut tx, _) = ServerInviteTransaction::new(t0, false, &TimerConfig::default());
        assert!(tx.on_tu_response(t0, 486).is_ok());
        assert!(tx.handle_timeout(t0 + ms(500)).transmit());
        assert!(tx.on_ack(t0 + ms(700)).is_empty());
        assert_eq!(tx.state(), S::Confirmed);
        assert_eq!(tx.poll_timeout(), Some(t0 + ms(5700)));
        assert!(tx.handle_timeout(t0 + ms(5699)).is_empty());
        assert_eq!(tx.handle_timeout(t0 + ms(5700)), none().with_terminated());
        assert_eq!(tx.poll_timeout(), None);
        assert_eq!(tx.final_status(), Some(486));
    }

    #[test]
    fn rfc6026_accepted() {
        let t0 = base();
        let c = TimerConfig {
            t1: ms(100),
            ..TimerConfig::default()
        };
        for reliable in [false, true] {
            let (mut tx, _) = ServerInviteTransaction::new(t0, reliable, &c);
            assert_eq!(
                tx.on_tu_response(t0 + ms(10), 200),
                Ok(none().with_transmit())
            );
            assert_eq!(tx.state(), S::Accepted);
            // Timer L = 64·T1 = 6.4 s with T1 = 100 ms, on every transport.
            assert_eq!(tx.poll_timeout(), Some(t0 + ms(6410)));
            // The transaction never retransmits the 2xx by itself.
            assert!(tx.handle_timeout(t0 + ms(6409)).is_empty());
            // INVITE retransmissions are absorbed and not passed to the TU.
            assert!(tx.on_request_retransmission(t0 + ms(500)).is_empty());
            // The TU's 2xx retransmissions are sent.
            assert_eq!(
                tx.on_tu_response(t0 + ms(510), 200),
                Ok(none().with_transmit())
            );
            // The ACK for the 2xx goes to the TU, every time.
            assert_eq!(tx.on_ack(t0 + ms(600)), none().with_pass_to_tu());
            assert_eq!(tx.on_ack(t0 + ms(700)), none().with_pass_to_tu());
            assert_eq!(tx.state(), S::Accepted);
            assert_eq!(tx.poll_timeout(), Some(t0 + ms(6410)));
            assert_eq!(tx.handle_timeout(t0 + ms(6410)), none().with_terminated());
            assert_eq!(tx.poll_timeout(), None);
            assert_eq!(
                tx.on_tu_response(t0 + ms(7000), 200),
                Err(TransactionError::Terminated { status: 200 })
            );
        }
    }

    #[test]
    fn errors_leave_state_and_timers_alone() {
        let t0 = base();
        let (mut tx, _) = ServerInviteTransaction::new(t0, false, &TimerConfig::default());
        assert!(tx.on_tu_response(t0, 480).is_ok());
        let before = tx.poll_timeout();
        assert_eq!(
            tx.on_tu_response(t0 + ms(1), 200),
            Err(TransactionError::AfterFinal {
                status: 200,
                sent: 480
            })
        );
        assert_eq!(tx.state(), S::Completed);
        assert_eq!(tx.poll_timeout(), before);
        assert_eq!(tx.final_status(), Some(480));
    }

    #[test]
    fn size_is_small() {
        assert!(std::mem::size_of::<ServerInviteTransaction>() <= 200);
    }

    fn rank(s: ServerInviteState) -> u8 {
        match s {
            S::Proceeding => 0,
            S::Completed | S::Accepted => 1,
            S::Confirmed => 2,
            S::Terminated => 3,
        }
    }

    #[derive(Debug, Clone)]
    enum PEv {
        Retrans,
        Tu(u16),
        Ack,
        TransportErr,
        Advance(u64),
        PollEarly,
    }

    fn pev() -> impl Strategy<Value = PEv> {
        prop_oneof![
            2 => Just(PEv::Retrans),
            3 => prop_oneof![Just(100u16), Just(180), Just(200), Just(486), Just(302), Just(0), Just(700), any::<u16>()].prop_map(PEv::Tu),
            2 => Just(PEv::Ack),
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
            let (mut tx, _) = ServerInviteTransaction::new(t0, reliable, &c);
            let mut now = t0;
            let mut last_rank = rank(tx.state());
            let mut tu_spoke = false;
            for ev in events {
                let before = (tx.state(), tx.poll_timeout());
                let a = match ev {
                    PEv::Retrans => tx.on_request_retransmission(now),
                    PEv::Tu(code) => match tx.on_tu_response(now, code) {
                        Ok(a) => { tu_spoke = true; a }
                        Err(_) => {
                            prop_assert_eq!((tx.state(), tx.poll_timeout()), before, "Err must not change anything");
                            Actions::none()
                        }
                    },
                    PEv::Ack => tx.on_ack(now),
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
                // None iff Terminated, or Proceeding once the Trying timer is spent.
                let s = tx.state();
                let idle = s == S::Terminated
                    || (s == S::Proceeding && (tu_spoke || now >= t0 + c.trying_delay));
                prop_assert_eq!(tx.poll_timeout().is_none(), idle, "poll_timeout in {:?}", s);
            }
            // In Proceeding the machine waits for the TU: let it answer with a final.
            if tx.state() == S::Proceeding {
                prop_assert!(tx.on_tu_response(now, 486).is_ok());
            }
            let bound = c.timer_h() + c.t4 + ms(1);
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
