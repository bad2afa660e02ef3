//! Test harness shared by the four transaction machines: it walks a machine's state table
//! (RFC 3261 §17.1.1–§17.2.2, Figures 5–8, with RFC 6026 §7.1, §7.2) row by row, and holds the
//! table to the one written in the machine's module docs.
//!
//! A machine's tests give their table as data, a slice of [`Row`]s in the order of the doc
//! table. Each row names the doc row it exercises by that row's State and Event cells
//! (`"Calling | 1xx"`) and gives one concrete case of it: the transport, the inputs that lead
//! to the state, the event, and what must follow (the actions or `Err`, the next state, and the
//! next timeout relative to the event). [`walk`] runs every row on a fresh machine and checks:
//!
//! * the machine's answer, its next state and its `poll_timeout()` against the row;
//! * the row against its doc row: the state before the event is one the doc row's State cell
//!   names, an event marked "(U)" or "(R)" runs on that transport, and the doc's Actions and
//!   Next-state cells say what the row says;
//! * the doc against the rows: every doc row is walked, every state a State cell names (or,
//!   for "any" and "any but X", every state it covers) is walked from, and the rows follow the
//!   doc's order.

#![cfg(test)]

use std::fmt;
use std::time::{Duration, Instant};

use super::actions::Actions;
use super::error::TransactionError;
use super::timers::{TimerConfig, TimerName};

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
    /// The machine's state enum; its `Debug` names are the ones the doc table uses.
    type State: Copy + PartialEq + fmt::Debug + 'static;
    /// What an input returns: `Actions`, or `Result<Actions, TransactionError>` where the TU
    /// can be refused.
    type Out: Outcome;
    /// Every state, for the doc's "any" and "any but X" rows.
    const STATES: &'static [Self::State];
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

/// One row of a doc table, by its cells.
struct DocRow<'a> {
    state: &'a str,
    event: &'a str,
    actions: &'a str,
    next: &'a str,
}

impl DocRow<'_> {
    fn key(&self) -> String {
        format!("{} | {}", self.state, self.event)
    }
}

/// The rows of the state table in a module's `//!` docs (the first Markdown table there).
fn doc_rows(src: &str) -> Vec<DocRow<'_>> {
    let mut lines = src
        .lines()
        .map_while(|l| l.strip_prefix("//!"))
        .map(str::trim)
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'));
    let header = cells_of(lines.next().expect("the module docs have a state table"));
    assert_eq!(
        header,
        ["State", "Event", "Actions", "Next state", "Timers armed"],
        "state table header"
    );
    let rule = lines.next().expect("the table has a header rule");
    assert!(
        rule.chars().all(|c| matches!(c, '|' | '-' | ' ')),
        "header rule: {rule}"
    );
    lines
        .map(|line| match cells_of(line)[..] {
            [state, event, actions, next, _timers] => DocRow {
                state,
                event,
                actions,
                next,
            },
            _ => panic!("a state table row has five cells: {line}"),
        })
        .collect()
}

/// The trimmed cells of a Markdown table line.
fn cells_of(line: &str) -> Vec<&str> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split('|').map(str::trim).collect()
}

/// The states a State cell covers: a comma-separated list, "any", or "any but X".
fn covered<S: fmt::Debug + Copy>(cell: &str, all: &[S]) -> Vec<S> {
    let named = |s: &S| format!("{s:?}");
    if cell == "any" {
        return all.to_vec();
    }
    if let Some(except) = cell.strip_prefix("any but ") {
        assert!(
            all.iter().any(|s| named(s) == except),
            "unknown state in doc row: {cell}"
        );
        return all.iter().copied().filter(|s| named(s) != except).collect();
    }
    cell.split(", ")
        .map(|name| {
            *all.iter()
                .find(|s| named(s) == name)
                .unwrap_or_else(|| panic!("unknown state {name:?} in doc row: {cell}"))
        })
        .collect()
}

/// What an Actions cell says: the actions (`—` for none, a trailing " (…)" being a comment),
/// or the variant of a `` `Err(…)` ``.
fn doc_outcome(cell: &str) -> Result<Actions, String> {
    if let Some(err) = cell.strip_prefix("`Err(") {
        return Err(err.trim_end_matches(")`").to_owned());
    }
    let words = cell.split(" (").next().unwrap_or(cell).trim();
    if words == "—" {
        return Ok(Actions::none());
    }
    Ok(words
        .split(", ")
        .fold(Actions::none(), |a, word| match word {
            "transmit" => a.with_transmit(),
            "send_ack" => a.with_send_ack(),
            "pass_to_tu" => a.with_pass_to_tu(),
            "send_trying" => a.with_send_trying(),
            "transport_failed" => a.with_transport_failed(),
            "terminated" => a.with_terminated(),
            "timed_out(B)" => a.with_timed_out(TimerName::B),
            "timed_out(F)" => a.with_timed_out(TimerName::F),
            "timed_out(H)" => a.with_timed_out(TimerName::H),
            _ => panic!("unknown action {word:?} in doc cell: {cell}"),
        }))
}

/// Walks `rows` (see the module docs): each on a fresh machine started at `t0` with the default
/// timers, whose `new` must return `new`; `doc` is the machine's source, whose state table the
/// rows must match and cover.
pub(super) fn walk<M: Machine>(t0: Instant, doc: &str, new: Actions, rows: &[Row<M>]) {
    let table = doc_rows(doc);
    for (i, a) in table.iter().enumerate() {
        for b in &table[..i] {
            assert_ne!(a.key(), b.key(), "doc rows must differ in State or Event");
        }
    }

    // The `new` row.
    let mut starts = table.iter().filter(|d| d.state == "—");
    let start = starts.next().expect("the doc table has a `new` row");
    assert!(starts.next().is_none(), "one `new` row");
    assert_eq!(
        doc_outcome(start.actions),
        Ok(new),
        "doc `new` row: actions"
    );
    let (tx, _) = M::start(t0, false, &TimerConfig::default());
    assert_eq!(
        format!("{:?}", tx.state()),
        start.next,
        "doc `new` row: next state"
    );

    // Which (doc row, state) pairs the rows walk.
    let mut walked: Vec<(usize, M::State)> = Vec::new();
    let mut last_doc = 0;
    for (i, row) in rows.iter().enumerate() {
        let at = format!("row {i} ({})", row.doc);
        let d = table
            .iter()
            .position(|d| d.key() == row.doc)
            .unwrap_or_else(|| panic!("{at}: no such doc row"));
        assert!(d >= last_doc, "{at}: rows follow the doc's order");
        last_doc = d;
        let doc_row = &table[d];

        let mut now = t0;
        let (mut tx, first) = M::start(t0, row.reliable, &TimerConfig::default());
        assert_eq!(first, new, "{at}: new");
        for ev in row.setup {
            let out = apply(&mut tx, &mut now, *ev);
            assert!(out.summary().is_ok(), "{at}: setup {ev:?} gave {out:?}");
        }
        let before = tx.state();
        let got = apply(&mut tx, &mut now, row.event);
        assert_eq!(got, row.out, "{at}: actions");
        assert_eq!(tx.state(), row.next, "{at}: state");
        assert_eq!(tx.poll_timeout(), row.timer.map(|d| now + d), "{at}: timer");

        // The row says what its doc row says.
        assert!(
            covered(doc_row.state, M::STATES).contains(&before),
            "{at}: walked from {before:?}"
        );
        if doc_row.event.ends_with("(U)") {
            assert!(!row.reliable, "{at}: an unreliable-transport row");
        }
        if doc_row.event.ends_with("(R)") {
            assert!(row.reliable, "{at}: a reliable-transport row");
        }
        assert_eq!(
            doc_outcome(doc_row.actions),
            row.out.summary(),
            "{at}: the doc's Actions cell"
        );
        let next = if doc_row.next == "unchanged" {
            before
        } else {
            match covered(doc_row.next, M::STATES)[..] {
                [next] => next,
                _ => panic!("{at}: the doc's Next state cell names one state"),
            }
        };
        assert_eq!(next, row.next, "{at}: the doc's Next state cell");
        walked.push((d, before));
    }

    // Every doc row is walked, from every state it covers.
    for (d, doc_row) in table.iter().enumerate() {
        if doc_row.state == "—" {
            continue;
        }
        for state in covered(doc_row.state, M::STATES) {
            assert!(
                walked.contains(&(d, state)),
                "doc row \"{}\" is not walked from {state:?}",
                doc_row.key()
            );
        }
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

mod tests {
    use super::*;

    #[test]
    fn reads_a_doc_table() {
        let src = "//! Intro.\n//!\n\
                   //! | State | Event | Actions | Next state | Timers armed |\n\
                   //! |---|---|---|---|---|\n\
                   //! | — | `new` | transmit | A | x = 1 |\n\
                   //! | A, B | e (U) | send_ack, pass_to_tu (note) | unchanged | — |\n\
                   //! | any but B | f | `Err(AfterFinal)` | B | — |\n\
                   //!\n//! | not | the | table | at | all |\n\nfn x() {}\n";
        let rows = doc_rows(src);
        assert_eq!(rows.len(), 3, "only the first table is read");
        assert_eq!(rows[1].key(), "A, B | e (U)");
        assert_eq!(
            doc_outcome(rows[1].actions),
            Ok(none().with_send_ack().with_pass_to_tu())
        );
        assert_eq!(doc_outcome(rows[2].actions), Err("AfterFinal".to_owned()));
        assert_eq!(doc_outcome("— (absorbed)"), Ok(none()));
        assert_eq!(
            doc_outcome("timed_out(B), terminated"),
            Ok(none().with_timed_out(TimerName::B))
        );
        #[derive(Debug, Clone, Copy, PartialEq)]
        enum S {
            A,
            B,
            C,
        }
        let all = [S::A, S::B, S::C];
        assert_eq!(covered("any", &all), all);
        assert_eq!(covered("any but B", &all), [S::A, S::C]);
        assert_eq!(covered("C, A", &all), [S::C, S::A]);
    }

    #[test]
    fn error_summary_is_the_variant() {
        let e: Result<Actions, TransactionError> =
            Err(TransactionError::AfterFinal { status: 1, sent: 2 });
        assert_eq!(e.summary(), Err("AfterFinal".to_owned()));
        let e: Result<Actions, TransactionError> = Err(TransactionError::InvalidStatus(7));
        assert_eq!(e.summary(), Err("InvalidStatus".to_owned()));
        assert_eq!(none().with_transmit().summary(), Ok(none().with_transmit()));
    }

    /// A two-state machine to walk: the first response moves Idle to Done, later ones are
    /// absorbed; a transport error always ends in Done.
    struct Toy(T);

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum T {
        Idle,
        Done,
    }

    impl Machine for Toy {
        type State = T;
        type Out = Actions;
        const STATES: &'static [T] = &[T::Idle, T::Done];

        fn start(_: Instant, _: bool, _: &TimerConfig) -> (Self, Actions) {
            (Toy(T::Idle), none().with_transmit())
        }

        fn input(&mut self, _: Instant, ev: Ev) -> Actions {
            match (ev, self.0) {
                (Ev::Resp(_), T::Idle) => {
                    self.0 = T::Done;
                    none().with_pass_to_tu()
                }
                (Ev::Resp(_), T::Done) => none(),
                (other, _) => panic!("{other:?} is not an input of the toy"),
            }
        }

        fn on_transport_error(&mut self, _: Instant) -> Actions {
            self.0 = T::Done;
            none().with_transport_failed().with_terminated()
        }

        fn handle_timeout(&mut self, _: Instant) -> Actions {
            none()
        }

        fn poll_timeout(&self) -> Option<Instant> {
            None
        }

        fn state(&self) -> T {
            self.0
        }
    }

    const TOY_DOC: &str = "//! | State | Event | Actions | Next state | Timers armed |\n\
                           //! |---|---|---|---|---|\n\
                           //! | — | `new` | transmit | Idle | — |\n\
                           //! | Idle | 1xx (U) | pass_to_tu | Done | — |\n\
                           //! | Done | any response | — (absorbed) | unchanged | — |\n\
                           //! | any | transport error | transport_failed, terminated | Done | — |\n";

    #[rustfmt::skip]
    fn toy_rows() -> Vec<Row<Toy>> {
        let tp = none().with_transport_failed().with_terminated();
        vec![
            Row { doc: "Idle | 1xx (U)", reliable: false, setup: &[], event: Ev::Resp(180), out: none().with_pass_to_tu(), next: T::Done, timer: None },
            Row { doc: "Done | any response", reliable: false, setup: &[Ev::Resp(180)], event: Ev::Resp(200), out: none(), next: T::Done, timer: None },
            Row { doc: "any | transport error", reliable: false, setup: &[], event: Ev::TransportErr, out: tp, next: T::Done, timer: None },
            Row { doc: "any | transport error", reliable: true, setup: &[Ev::Resp(180)], event: Ev::TransportErr, out: tp, next: T::Done, timer: None },
        ]
    }

    fn walk_toy(doc: &str, edit: impl FnOnce(&mut Vec<Row<Toy>>)) {
        let mut rows = toy_rows();
        edit(&mut rows);
        walk(base(), doc, none().with_transmit(), &rows);
    }

    #[test]
    fn walks_a_matching_table() {
        walk_toy(TOY_DOC, |_| {});
    }

    #[test]
    #[should_panic(expected = "the doc's Actions cell")]
    fn doc_actions_must_match() {
        walk_toy(&TOY_DOC.replace("| pass_to_tu |", "| transmit |"), |_| {});
    }

    #[test]
    #[should_panic(expected = "the doc's Next state cell")]
    fn doc_next_state_must_match() {
        walk_toy(
            &TOY_DOC.replace("| pass_to_tu | Done |", "| pass_to_tu | Idle |"),
            |_| {},
        );
    }

    #[test]
    #[should_panic(expected = "doc `new` row: actions")]
    fn doc_new_row_must_match() {
        walk_toy(
            &TOY_DOC.replace("| `new` | transmit |", "| `new` | — |"),
            |_| {},
        );
    }

    #[test]
    #[should_panic(expected = "walked from Idle")]
    fn row_must_start_in_a_state_its_doc_row_names() {
        // The machine does what the row says, but from Idle, which the doc row is not about.
        walk_toy(TOY_DOC, |rows| {
            rows[1].setup = &[];
            rows[1].out = none().with_pass_to_tu();
        });
    }

    #[test]
    #[should_panic(expected = "an unreliable-transport row")]
    fn row_must_run_on_the_doc_rows_transport() {
        walk_toy(TOY_DOC, |rows| rows[0].reliable = true);
    }

    #[test]
    #[should_panic(expected = "no such doc row")]
    fn row_must_name_a_doc_row() {
        walk_toy(TOY_DOC, |rows| rows[0].doc = "Idle | 1xx");
    }

    #[test]
    #[should_panic(expected = "rows follow the doc's order")]
    fn rows_follow_the_doc() {
        walk_toy(TOY_DOC, |rows| rows.swap(0, 2));
    }

    #[test]
    #[should_panic(expected = "\"any | transport error\" is not walked from Done")]
    fn every_state_of_a_doc_row_is_walked() {
        walk_toy(TOY_DOC, |rows| {
            rows.pop();
        });
    }

    #[test]
    #[should_panic(expected = "row 0 (Idle | 1xx (U)): actions")]
    fn the_machine_must_do_what_the_row_says() {
        walk_toy(TOY_DOC, |rows| rows[0].out = none().with_transmit());
    }
}
