//! Many concurrent INVITE client transactions:
//! `cargo run -p sip-bench --release --example txn_scale [-- <n>...]` (default 1000 10000
//! 100000).
//!
//! For n = 1k, 10k, 100k, one endpoint sends n INVITEs to a target that never answers
//! (creation instants spread over 100 ms), so n client transactions with their timers are
//! live at once. A counting `#[global_allocator]` gives:
//!
//! * bytes allocated, and bytes still live, per created transaction (building the INVITE,
//!   `send_request`, draining its transmit);
//! * the heap size the message would have parsed (one transmitted INVITE, parsed once: for
//!   reference), and the wire copy the transaction keeps of it for retransmission (its
//!   length): that copy is the message as a client transaction holds it;
//! * what is left per transaction beside the message (tables, timer entry, key, state):
//!   live bytes minus the wire copy.
//!
//! Then the timers fire: `handle_timeout` is called at instants that each make about 64
//! timers due, and the table shows the time per fired timer for the first two Timer A
//! retransmission rounds (RFC 3261 §17.1.1.2: T1 and 2·T1 after sending) and for Timer B
//! (64·T1, the transaction fails and is removed). A binary heap makes each O(log n).

use sip_bench::txn::{SDP, addr, base};
use sip_core::endpoint::{Endpoint, EndpointConfig, Output, Target};
use sip_core::message::{Method, ParseOptions, parse};
use sip_core::transport::Transport;
use std::hint::black_box;
use std::time::{Duration, Instant};

#[path = "common/counting.rs"]
mod counting;
use counting::counters;

fn drain(ep: &mut Endpoint) -> usize {
    let mut transmits = 0;
    while let Some(o) = ep.poll_output() {
        transmits += usize::from(matches!(o, Output::Transmit(_)));
        drop(black_box(o));
    }
    transmits
}

fn invite(ep: &mut Endpoint) -> sip_core::message::Request {
    ep.request(
        Method::Invite,
        "sip:nobody@192.0.2.9",
        "<sip:alice@192.0.2.1>",
        "<sip:nobody@192.0.2.9>",
    )
    .contact("<sip:alice@192.0.2.1>")
    .body("application/sdp", bytes::Bytes::from_static(SDP))
    .build()
    .expect("INVITE builds")
}

/// Calls `handle_timeout` from `from` to `to` in steps that make about `per_call` timers of
/// `n` (spread evenly over `spread`) due each time. Returns (fired, ns per fired timer),
/// counting only the time inside `handle_timeout`.
fn fire(
    ep: &mut Endpoint,
    from: Instant,
    spread: Duration,
    n: usize,
    per_call: usize,
) -> (u64, u64, f64) {
    let before = ep.stats().retransmissions;
    let live_before = ep.transaction_count().0;
    let calls = n.div_ceil(per_call).max(1);
    let step = spread / calls as u32;
    let mut inside = Duration::ZERO;
    for k in 1..=calls + 1 {
        let now = from + step * k as u32;
        #[allow(clippy::disallowed_methods)]
        let t = Instant::now();
        ep.handle_timeout(now);
        inside += t.elapsed();
        drain(ep);
    }
    let retrans = ep.stats().retransmissions - before;
    let ended = (live_before - ep.transaction_count().0) as u64;
    let fired = retrans + ended;
    (
        retrans,
        ended,
        inside.as_nanos() as f64 / fired.max(1) as f64,
    )
}

fn main() {
    let target = Target::new(Transport::Udp, addr("192.0.2.9:5060"));
    let spread = Duration::from_millis(100);
    let t1 = Duration::from_millis(500);

    // The message itself: one transmitted INVITE, parsed once.
    let mut probe = Endpoint::new(
        EndpointConfig::with_local(Transport::Udp, addr("192.0.2.1:5060")),
        7,
    );
    let req = invite(&mut probe);
    probe
        .send_request(base(), req, target.clone())
        .expect("sends");
    let wire = match probe.poll_output() {
        Some(Output::Transmit(t)) => t.bytes,
        other => panic!("expected the INVITE, got {other:?}"),
    };
    let (_, l0) = counters();
    let parsed = parse(wire.clone(), &ParseOptions::default()).expect("parses");
    let (_, l1) = counters();
    let message = l1 - l0;
    drop(parsed);
    let wire_len = wire.len() as u64;

    println!(
        "INVITE on the wire: {wire_len} bytes; parsed, it holds {message} heap bytes (its body is a\n\
         view into the received buffer)\n"
    );
    println!(
        "size_of: Request {} B, Response {} B, endpoint Output {} B, Event {} B\n",
        size_of::<sip_core::message::Request>(),
        size_of::<sip_core::message::Response>(),
        size_of::<Output>(),
        size_of::<sip_core::endpoint::Event>(),
    );
    println!(
        "| n | create µs/tx | allocated B/tx | live B/tx | live − wire copy (beside the message) | Timer A₁ ns/timer | Timer A₁…A₆ ns/timer | Timer B ns/timer | live B after B | live B after drop |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");

    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = vec![1_000, 10_000, 100_000];
    }
    for n in sizes {
        // Memory is deterministic; times are the minimum of three runs (the machine is shared).
        let runs: Vec<Row> = (0..3).map(|_| one(n, target.clone(), spread, t1)).collect();
        let r = &runs[0];
        let min = |f: fn(&Row) -> f64| runs.iter().map(f).fold(f64::INFINITY, f64::min);
        println!(
            "| {n} | {:.2} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {} | {} |",
            min(|r| r.create_us),
            r.alloc_per,
            r.live_per,
            r.live_per - wire_len as f64,
            min(|r| r.a1_ns),
            min(|r| r.a_all_ns),
            min(|r| r.b_ns),
            r.after_b,
            r.after_drop,
        );
    }
    println!(
        "\nlive B/tx includes the endpoint's tables at the capacity they grew to (hash maps and the\n\
         timer heap double), so it steps with n; `after B` is what stays allocated once every\n\
         transaction has ended (table capacity is kept), `after drop` once the endpoint is dropped."
    );
}

/// One run at `n` transactions.
struct Row {
    create_us: f64,
    alloc_per: f64,
    live_per: f64,
    a1_ns: f64,
    a_all_ns: f64,
    b_ns: f64,
    after_b: i64,
    after_drop: i64,
}

fn one(n: usize, target: Target, spread: Duration, t1: Duration) -> Row {
    let mut cfg = EndpointConfig::with_local(Transport::Udp, addr("192.0.2.1:5060"));
    cfg.max_transactions = n + 1;
    let (_, l0) = counters();
    let mut ep = Endpoint::new(cfg, 42);
    let t0 = base();
    let (a0, l0e) = counters();
    #[allow(clippy::disallowed_methods)]
    let c0 = Instant::now();
    for i in 0..n {
        let now = t0 + spread * i as u32 / n as u32;
        let req = invite(&mut ep);
        ep.send_request(now, req, target.clone()).expect("sends");
        assert_eq!(drain(&mut ep), 1);
    }
    let create_us = c0.elapsed().as_nanos() as f64 / n as f64 / 1000.0;
    let (a1, l1) = counters();
    assert_eq!(ep.transaction_count(), (n, 0));

    // Timer A fires at 1, 3, 7, 15, 31 and 63 T1 (T1 doubling), Timer B at 64·T1.
    let mut a_sum = 0.0;
    let mut a1_ns = 0.0;
    for (round, k) in [1, 3, 7, 15, 31, 63].into_iter().enumerate() {
        let (r, e, ns) = fire(&mut ep, t0 + k * t1, spread, n, 64);
        assert_eq!((r, e), (n as u64, 0), "every INVITE retransmitted once");
        if round == 0 {
            a1_ns = ns;
        }
        a_sum += ns;
    }
    let (_, eb, b_ns) = fire(&mut ep, t0 + 64 * t1, spread, n, 64);
    assert_eq!(eb, n as u64, "Timer B ends every transaction");
    assert_eq!(ep.transaction_count(), (0, 0));
    let (_, l2) = counters();
    drop(ep);
    let (_, l3) = counters();
    Row {
        create_us,
        alloc_per: (a1 - a0) as f64 / n as f64,
        live_per: (l1 - l0e) as f64 / n as f64,
        a1_ns,
        a_all_ns: a_sum / 6.0,
        b_ns,
        after_b: l2 as i64 - l0e as i64,
        after_drop: l3 as i64 - l0 as i64,
    }
}
