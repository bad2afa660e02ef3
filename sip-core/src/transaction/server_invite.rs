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
//! is left.
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
//!
//! A TU status outside 100–699 is `Err(InvalidStatus)` in every state. In Accepted the
//! transaction never retransmits the 2xx itself: the TU does (RFC 3261 §13.3.1.4), and each
//! retransmission goes through `on_tu_response` (RFC 6026 §7.1). Once the `100 Trying` timer has
//! fired or the TU has answered, Proceeding has no timer: the TU must send a final response.

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
    config: TimerConfig,
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
            config: *config,
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
                        self.timer_l = deadline(now, self.config.timer_l());
                    }
                    _ => {
                        self.final_status = Some(status);
                        self.state = S::Completed;
                        if !self.reliable {
                            self.g_interval = self.config.timer_g();
                            self.timer_g = deadline(now, self.g_interval);
                        }
                        self.timer_h = deadline(now, self.config.timer_h());
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
                let wait = self.config.timer_i(self.reliable);
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
                self.g_interval = next_capped(self.g_interval, self.config.t2);
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
        earliest([
            self.timer_trying,
            self.timer_g,
            self.timer_h,
            self.timer_i,
            self.timer_l,
        ])
    }
}
