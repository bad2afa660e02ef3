//! Test harness shared by the four transaction machines: it walks a machine's state table
//! (RFC 3261 §17.1.1–§17.2.2, Figures 5–8, with RFC 6026 §7.1, §7.2) row by row.
//!
//! A machine's tests give their table as data, a slice of [`Row`]s in the order of the doc
//! table. Each row names the doc row it exercises by that row's State and Event cells
//! (`"Calling | 1xx"`) and gives one concrete case of it: the transport, the inputs that lead
//! to the state, the event, and what must follow (the actions or `Err`, the next state, and the
//! next timeout relative to the event). [`walk`] runs every row on a fresh machine and checks
//! the machine's answer, its next state and its `poll_timeout()` against the row.

#![cfg(test)]

use std::fmt;
use std::time::{Duration, Instant};

use super::actions::Actions;
use super::error::TransactionError;
use super::timers::TimerConfig;

/// One input to a machine under test.
#[derive(Debug, Clone, Copy)]
pub(super) enum Ev {
    /// A response with this status code from the network (client machines).
    Resp(u16),
    /// A retransmission of the request from the network (server machines).
    Retrans,
    /// An ACK from the network (INVITE server).
    Ack,
    /// The TU passes down a response with this status code (server machines).
    Tu(u16),
    /// The transport reports an error (every machine).
    TransportErr,
    /// The clock moves on by this many milliseconds, with no input.
    Wait(u64),
    /// The clock moves to the next armed timer, which fires.
    Fire,
}

/// What the harness needs of a machine.
pub(super) trait Machine: Sized {
    /// The machine's state enum.
    type State: Copy + PartialEq + fmt::Debug;
    /// What an input returns: `Actions`, or `Result<Actions, TransactionError>` where the TU
    /// can be refused.
    type Out: Outcome;
    /// The machine's `new`.
    fn start(now: Instant, reliable: bool, config: &TimerConfig) -> (Self, Actions);
    /// Feeds one network or TU input (`Resp`, `Retrans`, `Ack`, `Tu`); panics on an input the
    /// machine does not take, which is a mistake in its table.
    fn input(&mut self, now: Instant, ev: Ev) -> Self::Out;
    /// The machine's `on_transport_error`.
    fn on_transport_error(&mut self, now: Instant) -> Actions;
    /// The machine's `handle_timeout`.
    fn handle_timeout(&mut self, now: Instant) -> Actions;
    /// The machine's `poll_timeout`.
    fn poll_timeout(&self) -> Option<Instant>;
    /// The machine's `state`.
    fn state(&self) -> Self::State;
}

/// The answer to an input, as far as the doc table describes it.
pub(super) trait Outcome: PartialEq + fmt::Debug {
    /// Wraps the actions of an input that cannot be refused.
    fn from_actions(actions: Actions) -> Self;
    /// The actions, or the name of the `TransactionError` variant.
    fn summary(&self) -> Result<Actions, String>;
}

impl Outcome for Actions {
    fn from_actions(actions: Actions) -> Self {
        actions
    }

    fn summary(&self) -> Result<Actions, String> {
        Ok(*self)
    }
}

impl Outcome for Result<Actions, TransactionError> {
    fn from_actions(actions: Actions) -> Self {
        Ok(actions)
    }

    fn summary(&self) -> Result<Actions, String> {
        self.map_err(|e| {
            let debug = format!("{e:?}");
            debug
                .split(|c: char| !c.is_ascii_alphanumeric())
                .next()
                .unwrap_or_default()
                .to_owned()
        })
    }
}

/// One row of a machine's table: a concrete case of the doc row `doc`.
pub(super) struct Row<M: Machine> {
    /// The doc row walked: its State and Event cells, as `"State | Event"`.
    pub doc: &'static str,
    /// Whether the transport is reliable.
    pub reliable: bool,
    /// Inputs from `new` to the state the row starts in; each must be accepted.
    pub setup: &'static [Ev],
    /// The input the row is about.
    pub event: Ev,
    /// What the event must return.
    pub out: M::Out,
    /// The state after the event.
    pub next: M::State,
    /// `poll_timeout()` after the event, relative to the instant of the event.
    pub timer: Option<Duration>,
}

/// A fixed instant for tests (the core never reads the clock; its tests may).
#[allow(clippy::disallowed_methods)]
pub(super) fn base() -> Instant {
    Instant::now()
}

/// `n` milliseconds.
pub(super) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// No actions.
pub(super) fn none() -> Actions {
    Actions::none()
}

/// Feeds one input, moving `now` for `Wait` and `Fire`.
fn apply<M: Machine>(tx: &mut M, now: &mut Instant, ev: Ev) -> M::Out {
    match ev {
        Ev::TransportErr => M::Out::from_actions(tx.on_transport_error(*now)),
        Ev::Wait(d) => {
            *now += ms(d);
            M::Out::from_actions(Actions::none())
        }
        Ev::Fire => match tx.poll_timeout() {
            Some(at) => {
                *now = at;
                M::Out::from_actions(tx.handle_timeout(at))
            }
            None => panic!("no timer armed in {:?}", tx.state()),
        },
        input => tx.input(*now, input),
    }
}

/// Walks `rows` (see the module docs): each on a fresh machine started at `t0` with the default
/// timers, whose `new` must return `new`.
pub(super) fn walk<M: Machine>(t0: Instant, new: Actions, rows: &[Row<M>]) {
    for (i, row) in rows.iter().enumerate() {
        let at = format!("row {i} ({})", row.doc);
        let mut now = t0;
        let (mut tx, first) = M::start(t0, row.reliable, &TimerConfig::default());
        assert_eq!(first, new, "{at}: new");
        for ev in row.setup {
            let out = apply(&mut tx, &mut now, *ev);
            assert!(out.summary().is_ok(), "{at}: setup {ev:?} gave {out:?}");
        }
        let got = apply(&mut tx, &mut now, row.event);
        assert_eq!(got, row.out, "{at}: actions");
        assert_eq!(tx.state(), row.next, "{at}: state");
        assert_eq!(tx.poll_timeout(), row.timer.map(|d| now + d), "{at}: timer");
    }
}

/// Drives a machine by its own timers until it terminates: the instants (ms after `t0`) it
/// asked to transmit at, the actions it ended with, and when it ended.
pub(super) fn run_timers<M: Machine>(tx: &mut M, t0: Instant) -> (Vec<u64>, Actions, u64) {
    let mut sends = Vec::new();
    for _ in 0..1000 {
        let Some(at) = tx.poll_timeout() else { break };
        let a = tx.handle_timeout(at);
        let at_ms = u64::try_from((at - t0).as_millis()).unwrap_or(u64::MAX);
        if a.transmit() {
            sends.push(at_ms);
        }
        if a.terminated() {
            return (sends, a, at_ms);
        }
    }
    panic!("did not terminate");
}
