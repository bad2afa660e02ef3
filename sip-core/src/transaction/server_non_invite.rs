//! The non-INVITE server transaction (RFC 3261 §17.2.2, Figure 8, with RFC 4320 §4.1).
//!
//! The machine is message-agnostic: the endpoint keeps the request and the most recent
//! response, feeds request retransmissions, TU responses and timeouts in, and carries out the
//! returned [`Actions`].
//!
//! # State table
//!
//! "U" = unreliable transport, "R" = reliable. "TU nxx" is `on_tu_response`; its `Err` rows
//! leave the state and timers untouched. The unit tests walk this table row by row.
//!
//! | State              | Event                        | Actions                      | Next state | Timers armed                           |
//! |--------------------|------------------------------|------------------------------|------------|----------------------------------------|
//! | —                  | `new` (request received)     | pass_to_tu                   | Trying     | —                                      |
//! | Trying             | request retransmission       | — (absorbed)                 | Trying     | —                                      |
//! | Trying, Proceeding | TU 100 (R, or U once allowed) | transmit                    | Proceeding | —                                      |
//! | Trying             | TU 100 (U, too early)        | `Err(TryingTooEarly)`        | unchanged  | —                                      |
//! | Trying, Proceeding | TU 101–199                   | `Err(ProvisionalToNonInvite)` | unchanged | —                                      |
//! | Trying, Proceeding | TU 200–699 (U)               | transmit                     | Completed  | J = 64·T1                              |
//! | Trying, Proceeding | TU 200–699 (R)               | transmit, terminated         | Terminated | — (J = 0: terminated in the same call) |
//! | Proceeding         | request retransmission       | transmit (last provisional)  | Proceeding | —                                      |
//! | Completed          | request retransmission       | transmit (the final)         | Completed  | —                                      |
//! | Completed          | TU any                       | `Err(AfterFinal)`            | Completed  | —                                      |
//! | Completed          | Timer J                      | terminated                   | Terminated | —                                      |
//! | any but Terminated | transport error              | transport_failed, terminated | Terminated | —                                      |
//! | Terminated         | TU any                       | `Err(Terminated)`            | Terminated | —                                      |
//! | Terminated         | anything else                | —                            | Terminated | —                                      |
//! | any                | TU status outside 100–699    | `Err(InvalidStatus)`         | unchanged  | —                                      |
//!
//! RFC 4320 §4.1 (which updates RFC 3261) forbids provisional responses other than 100 to
//! non-INVITE requests, and a 100 over an unreliable transport before the client's Timer E can
//! have reached T2 ([`TimerConfig::non_invite_trying_delay`], 3.5 s by default, counted from
//! `new`).
//!
//! Trying and Proceeding have no timer (`poll_timeout` is `None`): RFC 3261 gives the server no
//! timeout there, the TU owes a final response.

use std::time::{Duration, Instant};

use super::actions::Actions;
use super::error::TransactionError;
use super::timers::{TimerConfig, deadline, is_due};

/// The states of the non-INVITE server transaction (RFC 3261 Figure 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerNonInviteState {
    /// The request was passed to the TU; nothing sent yet.
    Trying,
    /// A provisional response was sent.
    Proceeding,
    /// A final response was sent; re-sent on request retransmissions until Timer J.
    Completed,
    /// Finished: the transaction must be destroyed.
    Terminated,
}

/// A non-INVITE server transaction (RFC 3261 §17.2.2).
#[derive(Debug, Clone)]
pub struct ServerNonInviteTransaction {
    state: ServerNonInviteState,
    reliable: bool,
    /// The final status sent, once one was.
    final_status: Option<u16>,
    /// Timer J's duration for this transport: all a live transaction needs of its
    /// `TimerConfig`.
    wait_j: Duration,
    /// First instant a `100 Trying` may be sent (RFC 4320 §4.1).
    trying_allowed_at: Instant,
    timer_j: Option<Instant>,
}

impl ServerNonInviteTransaction {
    /// Creates the transaction for a new request in Trying: the returned actions pass the
    /// request to the TU (RFC 3261 §17.2.2). No timer is armed until a final response.
    pub fn new(now: Instant, reliable: bool, config: &TimerConfig) -> (Self, Actions) {
        let trying_allowed_at = if reliable {
            now
        } else {
            deadline(now, config.non_invite_trying_delay()).unwrap_or(now)
        };
        let tx = Self {
            state: ServerNonInviteState::Trying,
            reliable,
            final_status: None,
            wait_j: config.timer_j(reliable),
            trying_allowed_at,
            timer_j: None,
        };
        (tx, Actions::none().with_pass_to_tu())
    }

    /// The current state.
    pub fn state(&self) -> ServerNonInviteState {
        self.state
    }

    /// Whether the transaction runs over a reliable transport (Timer J = 0).
    pub fn is_reliable(&self) -> bool {
        self.reliable
    }

    /// Whether the transaction has terminated and should be destroyed.
    pub fn is_terminated(&self) -> bool {
        self.state == ServerNonInviteState::Terminated
    }

    /// The final status code sent on this transaction, if any.
    pub fn final_status(&self) -> Option<u16> {
        self.final_status
    }

    /// The first instant at which a `100 Trying` may be sent (RFC 4320 §4.1).
    pub fn trying_allowed_at(&self) -> Instant {
        self.trying_allowed_at
    }

    fn terminate(&mut self) {
        self.state = ServerNonInviteState::Terminated;
        self.timer_j = None;
    }

    /// A retransmission of the request arrived (RFC 3261 §17.2.2): absorbed in Trying, answered
    /// with the most recent response in Proceeding and Completed.
    pub fn on_request_retransmission(&mut self, _now: Instant) -> Actions {
        match self.state {
            ServerNonInviteState::Proceeding | ServerNonInviteState::Completed => {
                Actions::none().with_transmit()
            }
            _ => Actions::none(),
        }
    }

    /// The TU passes a response down (RFC 3261 §17.2.2, RFC 4320 §4.1); on `Ok` the actions ask
    /// for it to be sent. Refused, with the state unchanged, when the RFC forbids it: see the
    /// module's state table.
    pub fn on_tu_response(
        &mut self,
        now: Instant,
        status: u16,
    ) -> Result<Actions, TransactionError> {
        use ServerNonInviteState as S;
        if !(100..=699).contains(&status) {
            return Err(TransactionError::InvalidStatus(status));
        }
        match self.state {
            S::Terminated => Err(TransactionError::Terminated { status }),
            S::Completed => Err(TransactionError::AfterFinal {
                status,
                sent: self.final_status.unwrap_or(0),
            }),
            S::Trying | S::Proceeding => match status {
                100 if now < self.trying_allowed_at => Err(TransactionError::TryingTooEarly {
                    earliest: self.trying_allowed_at,
                }),
                100 => {
                    self.state = S::Proceeding;
                    Ok(Actions::none().with_transmit())
                }
                101..=199 => Err(TransactionError::ProvisionalToNonInvite { status }),
                _ => {
                    self.final_status = Some(status);
                    let wait = self.wait_j;
                    if wait.is_zero() {
                        self.terminate();
                        Ok(Actions::none().with_transmit().with_terminated())
                    } else {
                        self.state = S::Completed;
                        self.timer_j = deadline(now, wait);
                        Ok(Actions::none().with_transmit())
                    }
                }
            },
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

    /// Fires Timer J if it is due at `now` (RFC 3261 §17.2.2). Calling it early does nothing.
    pub fn handle_timeout(&mut self, now: Instant) -> Actions {
        if self.state == ServerNonInviteState::Completed && is_due(self.timer_j, now) {
            self.terminate();
            return Actions::none().with_terminated();
        }
        Actions::none()
    }

    /// The armed timer (Timer J in Completed), or `None` in Trying, Proceeding and Terminated.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timer_j
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::table::{self, Ev, Machine, Row, base, ms, none};
    use ServerNonInviteState as S;
    use proptest::prelude::*;

    impl Machine for ServerNonInviteTransaction {
        type State = ServerNonInviteState;
        type Out = Result<Actions, TransactionError>;
        const STATES: &'static [S] = &[S::Trying, S::Proceeding, S::Completed, S::Terminated];

        fn start(now: Instant, reliable: bool, config: &TimerConfig) -> (Self, Actions) {
            Self::new(now, reliable, config)
        }

        fn input(&mut self, now: Instant, ev: Ev) -> Self::Out {
            match ev {
                Ev::Retrans => Ok(self.on_request_retransmission(now)),
                Ev::Tu(status) => self.on_tu_response(now, status),
                other => panic!("{other:?} is not an input of the non-INVITE server"),
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
        let t0 = base();
        let u = false;
        let r = true;
        let tx_ = Ok(none().with_transmit());
        let nothing = Ok(none());
        let tp = Ok(none().with_transport_failed().with_terminated());
        let after = |status, sent| Err(TransactionError::AfterFinal { status, sent });
        let prov = |status| Err(TransactionError::ProvisionalToNonInvite { status });
        // Timer E reaches T2 3.5 s after the request with the default timers (RFC 4320 §4.1).
        let early = Err(TransactionError::TryingTooEarly {
            earliest: t0 + ms(3500),
        });
        #[rustfmt::skip]
        let rows: &[Row<ServerNonInviteTransaction>] = &[
            Row { doc: "Trying | request retransmission", reliable: u, setup: &[], event: Retrans, out: nothing, next: S::Trying, timer: None },
            Row { doc: "Trying, Proceeding | TU 100 (R, or U once allowed)", reliable: u, setup: &[Wait(3500)], event: Tu(100), out: tx_, next: S::Proceeding, timer: None },
            Row { doc: "Trying, Proceeding | TU 100 (R, or U once allowed)", reliable: r, setup: &[], event: Tu(100), out: tx_, next: S::Proceeding, timer: None },
            Row { doc: "Trying, Proceeding | TU 100 (R, or U once allowed)", reliable: u, setup: &[Wait(3500), Tu(100)], event: Tu(100), out: tx_, next: S::Proceeding, timer: None },
            Row { doc: "Trying | TU 100 (U, too early)", reliable: u, setup: &[], event: Tu(100), out: early, next: S::Trying, timer: None },
            Row { doc: "Trying | TU 100 (U, too early)", reliable: u, setup: &[Wait(3499)], event: Tu(100), out: early, next: S::Trying, timer: None },
            Row { doc: "Trying, Proceeding | TU 101–199", reliable: u, setup: &[], event: Tu(180), out: prov(180), next: S::Trying, timer: None },
            Row { doc: "Trying, Proceeding | TU 101–199", reliable: r, setup: &[], event: Tu(183), out: prov(183), next: S::Trying, timer: None },
            Row { doc: "Trying, Proceeding | TU 101–199", reliable: u, setup: &[Wait(3500), Tu(100)], event: Tu(180), out: prov(180), next: S::Proceeding, timer: None },
            Row { doc: "Trying, Proceeding | TU 200–699 (U)", reliable: u, setup: &[], event: Tu(200), out: tx_, next: S::Completed, timer: Some(ms(32_000)) },
            Row { doc: "Trying, Proceeding | TU 200–699 (U)", reliable: u, setup: &[], event: Tu(404), out: tx_, next: S::Completed, timer: Some(ms(32_000)) },
            Row { doc: "Trying, Proceeding | TU 200–699 (U)", reliable: u, setup: &[Wait(3500), Tu(100)], event: Tu(200), out: tx_, next: S::Completed, timer: Some(ms(32_000)) },
            Row { doc: "Trying, Proceeding | TU 200–699 (R)", reliable: r, setup: &[], event: Tu(200), out: Ok(none().with_transmit().with_terminated()), next: S::Terminated, timer: None },
            Row { doc: "Trying, Proceeding | TU 200–699 (R)", reliable: r, setup: &[Tu(100)], event: Tu(500), out: Ok(none().with_transmit().with_terminated()), next: S::Terminated, timer: None },
            Row { doc: "Proceeding | request retransmission", reliable: u, setup: &[Wait(3500), Tu(100)], event: Retrans, out: tx_, next: S::Proceeding, timer: None },
            Row { doc: "Completed | request retransmission", reliable: u, setup: &[Tu(404)], event: Retrans, out: tx_, next: S::Completed, timer: Some(ms(32_000)) },
            Row { doc: "Completed | TU any", reliable: u, setup: &[Tu(404)], event: Tu(200), out: after(200, 404), next: S::Completed, timer: Some(ms(32_000)) },
            Row { doc: "Completed | TU any", reliable: u, setup: &[Tu(404)], event: Tu(100), out: after(100, 404), next: S::Completed, timer: Some(ms(32_000)) },
            Row { doc: "Completed | Timer J", reliable: u, setup: &[Tu(404)], event: Fire, out: Ok(none().with_terminated()), next: S::Terminated, timer: None },
            Row { doc: "any but Terminated | transport error", reliable: u, setup: &[], event: TransportErr, out: tp, next: S::Terminated, timer: None },
            Row { doc: "any but Terminated | transport error", reliable: u, setup: &[Wait(3500), Tu(100)], event: TransportErr, out: tp, next: S::Terminated, timer: None },
            Row { doc: "any but Terminated | transport error", reliable: u, setup: &[Tu(404)], event: TransportErr, out: tp, next: S::Terminated, timer: None },
            Row { doc: "Terminated | TU any", reliable: u, setup: &[TransportErr], event: Tu(200), out: Err(TransactionError::Terminated { status: 200 }), next: S::Terminated, timer: None },
            Row { doc: "Terminated | anything else", reliable: u, setup: &[TransportErr], event: Retrans, out: nothing, next: S::Terminated, timer: None },
            Row { doc: "Terminated | anything else", reliable: u, setup: &[TransportErr], event: TransportErr, out: nothing, next: S::Terminated, timer: None },
            Row { doc: "any | TU status outside 100–699", reliable: u, setup: &[], event: Tu(99), out: Err(TransactionError::InvalidStatus(99)), next: S::Trying, timer: None },
            Row { doc: "any | TU status outside 100–699", reliable: u, setup: &[], event: Tu(700), out: Err(TransactionError::InvalidStatus(700)), next: S::Trying, timer: None },
            Row { doc: "any | TU status outside 100–699", reliable: u, setup: &[Wait(3500), Tu(100)], event: Tu(0), out: Err(TransactionError::InvalidStatus(0)), next: S::Proceeding, timer: None },
            Row { doc: "any | TU status outside 100–699", reliable: u, setup: &[Tu(404)], event: Tu(700), out: Err(TransactionError::InvalidStatus(700)), next: S::Completed, timer: Some(ms(32_000)) },
            Row { doc: "any | TU status outside 100–699", reliable: u, setup: &[TransportErr], event: Tu(u16::MAX), out: Err(TransactionError::InvalidStatus(u16::MAX)), next: S::Terminated, timer: None },
        ];
        table::walk(
            t0,
            include_str!("server_non_invite.rs"),
            none().with_pass_to_tu(),
            rows,
        );
    }

    #[test]
    fn rfc4320_early_trying_over_datagrams() {
        let t0 = base();
        let (mut tx, _) = ServerNonInviteTransaction::new(t0, false, &TimerConfig::default());
        assert_eq!(tx.trying_allowed_at(), t0 + ms(3500));
        assert_eq!(
            tx.on_tu_response(t0 + ms(3499), 100),
            Err(TransactionError::TryingTooEarly {
                earliest: t0 + ms(3500)
            })
        );
        assert_eq!(tx.state(), S::Trying);
        assert_eq!(
            tx.on_tu_response(t0 + ms(3500), 100),
            Ok(none().with_transmit())
        );
        assert_eq!(tx.state(), S::Proceeding);

        let (tx, _) = ServerNonInviteTransaction::new(t0, true, &TimerConfig::default());
        assert_eq!(tx.trying_allowed_at(), t0);
    }

    #[test]
    fn timer_j_on_datagrams_zero_on_streams() {
        let t0 = base();
        let c = TimerConfig {
            t1: ms(200),
            ..TimerConfig::default()
        };
        let (mut tx, _) = ServerNonInviteTransaction::new(t0, false, &c);
        assert_eq!(
            tx.on_tu_response(t0 + ms(50), 200),
            Ok(none().with_transmit())
        );
        // J = 64·T1 = 12.8 s with T1 = 200 ms.
        assert_eq!(tx.poll_timeout(), Some(t0 + ms(12_850)));
        assert!(tx.handle_timeout(t0 + ms(12_849)).is_empty());
        assert_eq!(tx.handle_timeout(t0 + ms(12_850)), none().with_terminated());
        assert_eq!(tx.poll_timeout(), None);
        assert_eq!(tx.final_status(), Some(200));

        let (mut tx, _) = ServerNonInviteTransaction::new(t0, true, &c);
        assert_eq!(
            tx.on_tu_response(t0, 200),
            Ok(none().with_transmit().with_terminated())
        );
        assert_eq!(tx.poll_timeout(), None);
        assert_eq!(tx.state(), S::Terminated);
    }

    #[test]
    fn size_is_small() {
        assert!(std::mem::size_of::<ServerNonInviteTransaction>() <= 128);
    }

    fn rank(s: ServerNonInviteState) -> u8 {
        match s {
            S::Trying => 0,
            S::Proceeding => 1,
            S::Completed => 2,
            S::Terminated => 3,
        }
    }

    #[derive(Debug, Clone)]
    enum PEv {
        Retrans,
        Tu(u16),
        TransportErr,
        Advance(u64),
        PollEarly,
    }

    fn pev() -> impl Strategy<Value = PEv> {
        prop_oneof![
            2 => Just(PEv::Retrans),
            3 => prop_oneof![Just(100u16), Just(180), Just(200), Just(404), Just(0), Just(700), any::<u16>()].prop_map(PEv::Tu),
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
            let (mut tx, _) = ServerNonInviteTransaction::new(t0, reliable, &c);
            let mut now = t0;
            let mut last_rank = rank(tx.state());
            for ev in events {
                let before = (tx.state(), tx.poll_timeout());
                let a = match ev {
                    PEv::Retrans => tx.on_request_retransmission(now),
                    PEv::Tu(code) => match tx.on_tu_response(now, code) {
                        Ok(a) => a,
                        Err(_) => {
                            prop_assert_eq!((tx.state(), tx.poll_timeout()), before, "Err must not change anything");
                            Actions::none()
                        }
                    },
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
                let s = tx.state();
                let idle = matches!(s, S::Trying | S::Proceeding | S::Terminated);
                prop_assert_eq!(tx.poll_timeout().is_none(), idle, "poll_timeout in {:?}", s);
            }
            // In Trying/Proceeding the machine waits for the TU: let it answer with a final.
            if matches!(tx.state(), S::Trying | S::Proceeding) {
                prop_assert!(tx.on_tu_response(now, 200).is_ok());
            }
            let limit = now + c.timer_j(reliable) + c.t4 + ms(1);
            while let Some(at) = tx.poll_timeout() {
                prop_assert!(at <= limit, "timer beyond the bound");
                now = at;
                tx.handle_timeout(now);
            }
            prop_assert_eq!(tx.state(), S::Terminated);
        }
    }
}
