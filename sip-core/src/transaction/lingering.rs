//! A server transaction that only lingers: its final response is sent and all it still
//! does is absorb retransmissions until one timer ends it — the INVITE server transaction
//! in Accepted until Timer L (RFC 6026 §7.1, §8.7) and the non-INVITE server transaction in
//! Completed until Timer J (RFC 3261 §17.2.2).
//!
//! Every answered call leaves two of these behind for 64·T1 (its INVITE's and its BYE's), so
//! at a sustained load they outnumber the transactions at work by far. The full machines
//! carry the timers and intervals of every state; a lingering one keeps the one deadline of
//! its state, the final status and which of the two states it is in — 24 bytes instead of
//! the INVITE machine's 150 — and answers every event as the full machine would in that
//! state (the unit tests check both side by side):
//!
//! | State     | Event                       | Actions                      | Next state |
//! |-----------|-----------------------------|------------------------------|------------|
//! | Accepted  | INVITE retransmission       | — (absorbed)                 | Accepted   |
//! | Accepted  | ACK                         | pass_to_tu                   | Accepted   |
//! | Accepted  | TU 2xx                      | transmit                     | Accepted   |
//! | Accepted  | TU 1xx, 300–699             | `Err(AfterFinal)`            | Accepted   |
//! | Accepted  | Timer L                     | terminated                   | Terminated |
//! | Completed | request retransmission      | transmit (the final)         | Completed  |
//! | Completed | TU any                      | `Err(AfterFinal)`            | Completed  |
//! | Completed | Timer J                     | terminated                   | Terminated |
//! | either    | transport error             | transport_failed, terminated | Terminated |
//! | either    | TU status outside 100–699   | `Err(InvalidStatus)`         | unchanged  |
//! | Terminated| TU any                      | `Err(Terminated)`            | Terminated |
//! | Terminated| anything else               | —                            | Terminated |
//!
//! The response to re-send is not here: the transaction layer keeps its bytes beside the
//! machine, as it does for every server transaction (for a lingering one, in the compact
//! record it moves to once its request's rows are released: `transaction::layer::parked`).

use std::time::Instant;

use super::actions::Actions;
use super::error::TransactionError;
use super::{
    ServerInviteState, ServerInviteTransaction, ServerNonInviteState, ServerNonInviteTransaction,
};

/// Which waiting state a [`LingeringServer`] is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LingerState {
    /// An INVITE server transaction whose 2xx was sent (RFC 6026 Accepted), until Timer L.
    Accepted,
    /// A non-INVITE server transaction whose final response was sent (RFC 3261 Completed),
    /// until Timer J.
    Completed,
    /// Timer L or J fired, or the transport failed: the transaction must be destroyed.
    Terminated,
}

/// A server transaction waiting only to absorb retransmissions (see the
/// [module docs](self)).
#[derive(Debug, Clone)]
pub struct LingeringServer {
    state: LingerState,
    final_status: u16,
    /// Timer L (Accepted) or Timer J (Completed).
    until: Instant,
}

impl LingeringServer {
    /// The lingering form of an INVITE server transaction in Accepted; `None` in any other
    /// state (or if Timer L would never fire).
    pub fn accepted(m: &ServerInviteTransaction) -> Option<Self> {
        (m.state() == ServerInviteState::Accepted).then_some(())?;
        Some(LingeringServer {
            state: LingerState::Accepted,
            final_status: m.final_status()?,
            until: m.poll_timeout()?,
        })
    }

    /// The lingering form of a non-INVITE server transaction in Completed; `None` in any
    /// other state.
    pub fn completed(m: &ServerNonInviteTransaction) -> Option<Self> {
        (m.state() == ServerNonInviteState::Completed).then_some(())?;
        Some(LingeringServer {
            state: LingerState::Completed,
            final_status: m.final_status()?,
            until: m.poll_timeout()?,
        })
    }

    /// The current state.
    pub fn state(&self) -> LingerState {
        self.state
    }

    /// The final status code that was sent.
    pub fn final_status(&self) -> u16 {
        self.final_status
    }

    /// Timer L or J while it runs; `None` once terminated.
    pub fn poll_timeout(&self) -> Option<Instant> {
        (self.state != LingerState::Terminated).then_some(self.until)
    }

    /// Timer L or J fires at its deadline: the transaction terminates. Early calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) -> Actions {
        if self.state == LingerState::Terminated || now < self.until {
            return Actions::none();
        }
        self.state = LingerState::Terminated;
        Actions::none().with_terminated()
    }

    /// A retransmission of the request: absorbed in Accepted (the TU re-sends a 2xx, RFC
    /// 6026 §7.1), answered with the final response in Completed (§17.2.2).
    pub fn on_request_retransmission(&mut self, _now: Instant) -> Actions {
        match self.state {
            LingerState::Completed => Actions::none().with_transmit(),
            _ => Actions::none(),
        }
    }

    /// The ACK for the 2xx goes to the TU (RFC 6026 §7.1); absorbed otherwise.
    pub fn on_ack(&mut self, _now: Instant) -> Actions {
        match self.state {
            LingerState::Accepted => Actions::none().with_pass_to_tu(),
            _ => Actions::none(),
        }
    }

    /// The TU passes a response down: only a further 2xx in Accepted is sent (RFC 6026
    /// §7.1); anything else is refused as after the final.
    pub fn on_tu_response(
        &mut self,
        _now: Instant,
        status: u16,
    ) -> Result<Actions, TransactionError> {
        if !(100..=699).contains(&status) {
            return Err(TransactionError::InvalidStatus(status));
        }
        match self.state {
            LingerState::Terminated => Err(TransactionError::Terminated { status }),
            LingerState::Accepted if (200..=299).contains(&status) => {
                Ok(Actions::none().with_transmit())
            }
            _ => Err(TransactionError::AfterFinal {
                status,
                sent: self.final_status,
            }),
        }
    }

    /// The transport failed (RFC 3261 §17.2.4): the TU is told and the transaction ends.
    pub fn on_transport_error(&mut self, _now: Instant) -> Actions {
        if self.state == LingerState::Terminated {
            return Actions::none();
        }
        self.state = LingerState::Terminated;
        Actions::none().with_transport_failed().with_terminated()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::TimerConfig;
    use std::time::Duration;

    const MS: Duration = Duration::from_millis(1);

    /// Any instant will do as the base (tests only: the core takes time as input).
    #[allow(clippy::disallowed_methods)]
    fn t0() -> Instant {
        Instant::now()
    }

    fn accepted(t0: Instant) -> ServerInviteTransaction {
        let (mut m, _) = ServerInviteTransaction::new(t0, false, &TimerConfig::default());
        m.on_tu_response(t0 + MS, 200).unwrap();
        m
    }

    fn completed(t0: Instant) -> ServerNonInviteTransaction {
        let (mut m, _) = ServerNonInviteTransaction::new(t0, false, &TimerConfig::default());
        m.on_tu_response(t0 + MS, 200).unwrap();
        m
    }

    /// One event fed to both forms.
    #[derive(Debug, Clone, Copy)]
    enum Ev {
        Retransmission,
        Ack,
        Tu(u16),
        TransportError,
        Timeout(Duration),
    }

    const EVENTS: &[Ev] = &[
        Ev::Retransmission,
        Ev::Ack,
        Ev::Tu(180),
        Ev::Tu(200),
        Ev::Tu(299),
        Ev::Tu(486),
        Ev::Tu(99),
        Ev::Tu(700),
        Ev::TransportError,
        Ev::Timeout(Duration::from_secs(1)),
        Ev::Timeout(Duration::from_secs(32)),
        Ev::Timeout(Duration::from_secs(33)),
    ];

    fn step_lingering(l: &mut LingeringServer, t0: Instant, ev: Ev) -> String {
        let now = t0 + Duration::from_secs(2);
        format!(
            "{:?}",
            match ev {
                Ev::Retransmission => Ok(l.on_request_retransmission(now)),
                Ev::Ack => Ok(l.on_ack(now)),
                Ev::Tu(s) => l.on_tu_response(now, s),
                Ev::TransportError => Ok(l.on_transport_error(now)),
                Ev::Timeout(d) => Ok(l.handle_timeout(t0 + d + MS)),
            }
        )
    }

    #[test]
    fn an_accepted_invite_transaction_lingers_as_the_full_machine_would() {
        let t0 = t0();
        // Every sequence of two events: the same actions, errors and timer from both.
        for &a in EVENTS {
            for &b in EVENTS {
                let mut full = accepted(t0);
                let mut l = LingeringServer::accepted(&full).unwrap();
                assert_eq!(l.state(), LingerState::Accepted);
                assert_eq!(l.final_status(), 200);
                for ev in [a, b] {
                    let now = t0 + Duration::from_secs(2);
                    let want = format!(
                        "{:?}",
                        match ev {
                            Ev::Retransmission => Ok(full.on_request_retransmission(now)),
                            Ev::Ack => Ok(full.on_ack(now)),
                            Ev::Tu(s) => full.on_tu_response(now, s),
                            Ev::TransportError => Ok(full.on_transport_error(now)),
                            Ev::Timeout(d) => Ok(full.handle_timeout(t0 + d + MS)),
                        }
                    );
                    assert_eq!(step_lingering(&mut l, t0, ev), want, "{a:?} then {b:?}");
                    assert_eq!(l.poll_timeout(), full.poll_timeout(), "{a:?} then {b:?}");
                }
            }
        }
    }

    #[test]
    fn a_completed_non_invite_transaction_lingers_as_the_full_machine_would() {
        let t0 = t0();
        for &a in EVENTS {
            for &b in EVENTS {
                let mut full = completed(t0);
                let mut l = LingeringServer::completed(&full).unwrap();
                assert_eq!(l.state(), LingerState::Completed);
                for ev in [a, b] {
                    let now = t0 + Duration::from_secs(2);
                    let want = format!(
                        "{:?}",
                        match ev {
                            Ev::Retransmission => Ok(full.on_request_retransmission(now)),
                            // The non-INVITE machine has no ACK; the layer never feeds one.
                            Ev::Ack => Ok(Actions::none()),
                            Ev::Tu(s) => full.on_tu_response(now, s),
                            Ev::TransportError => Ok(full.on_transport_error(now)),
                            Ev::Timeout(d) => Ok(full.handle_timeout(t0 + d + MS)),
                        }
                    );
                    assert_eq!(step_lingering(&mut l, t0, ev), want, "{a:?} then {b:?}");
                    assert_eq!(l.poll_timeout(), full.poll_timeout(), "{a:?} then {b:?}");
                }
            }
        }
    }

    #[test]
    fn only_the_waiting_states_linger_and_the_form_is_small() {
        let t0 = t0();
        let (m, _) = ServerInviteTransaction::new(t0, false, &TimerConfig::default());
        assert!(LingeringServer::accepted(&m).is_none());
        let mut rejected = m.clone();
        rejected.on_tu_response(t0, 486).unwrap();
        assert!(LingeringServer::accepted(&rejected).is_none());
        let (n, _) = ServerNonInviteTransaction::new(t0, false, &TimerConfig::default());
        assert!(LingeringServer::completed(&n).is_none());
        // Over a reliable transport the non-INVITE one terminates at once (J = 0).
        let (mut r, _) = ServerNonInviteTransaction::new(t0, true, &TimerConfig::default());
        r.on_tu_response(t0, 200).unwrap();
        assert!(LingeringServer::completed(&r).is_none());
        assert!(std::mem::size_of::<LingeringServer>() <= 24);
    }
}
