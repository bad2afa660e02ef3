//! Transaction-layer throughput: `cargo bench -p sip-bench --bench transactions`.
//!
//! No I/O: endpoints live in one process and the bench carries each `Output::Transmit`'s bytes
//! to the other endpoint by hand. Time is a fixed base `Instant` advanced by hand, so timers
//! fire exactly when the bench says.
//!
//! * `transactions/sip-core/options_round_trip`: client builds an OPTIONS, sends it; server
//!   parses it, the TU answers 200; the client parses the 200 and reports it; then Timers K
//!   (client, T4) and J (server, 64·T1) fire and both tables are empty. One iteration is one
//!   complete round trip: 1 s / time = round trips per second.
//! * `transactions/sip-core/invite_call`: INVITE (with Contact and a small SDP) → 200 with
//!   Contact → ACK sent by the TU with `send_ack`, then Timers M (client) and L (server) fire;
//!   tables empty. Calls per second.
//! * `transactions/sip-core/server_invite_cycle`: the server side only, on pre-serialized
//!   INVITEs (the 758-byte benchmark INVITE, 1024 different branches): `handle_input`, drain
//!   the `IncomingRequest`, `respond_with(200)` (adds the To-tag), drain the transmit,
//!   `handle_timeout(now + 32 s)` (Timer L), table empty.
//! * `transactions/sipx/server_invite_cycle`: the same cycle with `sipx-sip`'s
//!   `TransactionLayer` (parse, `receive`, build the 200 with `ResponseBuilder::to_request`
//!   plus a To-tag, `send_response`, serialize the `Output::Send`, `on_timer(L)`, empty).
//!   sipx has no timer queue of its own (the driver keeps the timers), so this cycle calls
//!   `on_timer` directly: it does slightly less work than sip-core's.

use criterion::{Criterion, criterion_group, criterion_main};
use sip_bench::txn::{DialogPair, Pair, ServerCycle, invites, sipx_cycle::SipxCycle};
use std::hint::black_box;

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("transactions/sip-core");
    let mut pair = Pair::new();
    assert_eq!(pair.options_round_trip(), 200);
    g.bench_function("options_round_trip", |b| {
        b.iter(|| black_box(pair.options_round_trip()))
    });
    let mut pair = Pair::new();
    assert_eq!(pair.invite_call(), 200);
    g.bench_function("invite_call", |b| b.iter(|| black_box(pair.invite_call())));
    let mut cycle = ServerCycle::new();
    let sent = cycle.run();
    assert!(sent.starts_with(b"SIP/2.0 200 "));
    g.bench_function("server_invite_cycle", |b| b.iter(|| black_box(cycle.run())));
    // Issue 5: a whole call with the dialog layer (INVITE, 180, 200, ACK, BYE, 200).
    let mut calls = DialogPair::new();
    calls.call();
    g.bench_function("dialog_call", |b| b.iter(|| calls.call()));
    g.finish();

    let mut g = c.benchmark_group("transactions/sipx");
    let mut sipx = SipxCycle::new(invites());
    assert!(sipx.run().starts_with(b"SIP/2.0 200 "));
    g.bench_function("server_invite_cycle", |b| b.iter(|| black_box(sipx.run())));
    g.finish();
}

criterion_group!(transactions, benches);
criterion_main!(transactions);
