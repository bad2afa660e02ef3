//! What an answered call leaves behind on the answering side, and for how long:
//! `cargo run -p sip-bench --release --example linger [-- <calls>...]` (default 10000
//! 100000).
//!
//! For each n, two endpoints run n whole calls (INVITE, 180, 200, ACK, BYE, 200) at one
//! instant, so no timer runs: the answering endpoint (B) is left with what RFC 3261 keeps
//! after a call: its INVITE server transaction in Accepted until Timer L, its BYE server
//! transaction in Completed until Timer J (both 64·T1 over UDP, RFC 6026 §8.7, §17.2.2),
//! and the terminated dialog kept 64·T1 for late messages. The calling endpoint is then
//! dropped, and a counting `#[global_allocator]` gives B's live heap bytes per call (what
//! sustaining R calls/s costs: 64·T1·R calls' worth). Then the timers run out and the
//! table shows what B still holds (its tables shrink once at most a quarter full).
//!
//! Equal work: every call is the same full call; nothing is sampled.
//!
//! `linger softphone [<calls>...]`: the same with the calls of `profile softphone-call`
//! (SDP offer/answer, a reliable 180 and its PRACK, session timers on both sides), as the
//! sample `uas` answers SIPp's calls with offer/answer and session timers on.
//!
//! `linger sustained RATE SECS`: RATE calls/s for SECS seconds of virtual time with the
//! timers run every millisecond, then 36 s without calls: the live heap at the end of the
//! load and after (what the tables give back as their transactions end).

#[path = "common/counting.rs"]
mod counting;
use counting::counters;

use sip_bench::txn::DialogPair;
use std::time::Duration;

/// `rate` calls/s for `secs` seconds of virtual time, timers run every millisecond as a
/// driver would; then 36 s (64·T1 + 4 s) with no calls. Prints B's live heap at the end of
/// the load and after.
fn sustained(rate: u32, secs: u32) {
    let (_, before) = counters();
    let mut pair = DialogPair::new();
    let per_ms = f64::from(rate) / 1000.0;
    let mut owed = 0.0;
    for _ in 0..secs * 1000 {
        owed += per_ms;
        while owed >= 1.0 {
            pair.call_and_hang_up();
            owed -= 1.0;
        }
        pair.advance(Duration::from_millis(1));
    }
    let (_, at_peak) = counters();
    let lingering = pair.uas().lingering_transaction_count();
    // From here on the endpoints are woken only when they ask (`poll_timeout`).
    pair.advance_by_timers(Duration::from_secs(36));
    pair.forget_uac();
    let (_, after) = counters();
    let mib = |b: u64| (b - before) as f64 / f64::from(1 << 20);
    println!(
        "| {rate} calls/s for {secs} s | {lingering} | {:.1} MiB | {:.2} MiB |",
        mib(at_peak),
        mib(after)
    );
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("sustained") {
        let n = |i: usize, d: u32| {
            std::env::args()
                .nth(i)
                .and_then(|a| a.parse().ok())
                .unwrap_or(d)
        };
        println!(
            "| load (virtual time) | B's lingering transactions at its end | live heap, both endpoints, at its end | B's live heap 36 s later |"
        );
        println!("|---|---:|---:|---:|");
        sustained(n(2, 2000), n(3, 20));
        return;
    }
    let softphone = std::env::args().nth(1).as_deref() == Some("softphone");
    let runs: Vec<usize> = std::env::args()
        .skip(1 + usize::from(softphone))
        .filter_map(|a| a.parse().ok())
        .collect();
    let runs = if runs.is_empty() {
        vec![10_000, 100_000]
    } else {
        runs
    };
    println!(
        "| calls | B's lingering transactions | B's dialogs kept | B's live bytes per call | per lingering transaction | B's live bytes per call after 64·T1 (tables shrunk) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for n in runs {
        let (_, before) = counters();
        let mut pair = if softphone {
            DialogPair::softphone()
        } else {
            DialogPair::new()
        };
        for _ in 0..n {
            pair.call_and_hang_up();
        }
        pair.forget_uac();
        let (_, held) = counters();
        let lingering = pair.uas().lingering_transaction_count();
        let dialogs = pair.uas().dialog_count();
        let per_call = (held - before) as f64 / n as f64;
        // The timers run out; the tables shrink at the timer ticks that find them sparse
        // (the last ones empty during the first tick, so a second one follows).
        pair.expire();
        pair.expire();
        pair.forget_uac();
        assert_eq!(pair.uas().transaction_count(), (0, 0));
        let (_, after) = counters();
        println!(
            "| {n} | {lingering} | {dialogs} | {per_call:.0} | {:.0} | {:.0} |",
            per_call / (lingering as f64 / n as f64),
            (after - before) as f64 / n as f64
        );
    }
}
