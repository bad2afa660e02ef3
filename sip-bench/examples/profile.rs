//! A loop to run under a profiler:
//! `cargo run -p sip-bench --release --example profile -- <what> [iterations]` where `<what>`
//! is `parse` (sip-core `parse_unchecked` of the benchmark INVITE), `check` (`parse`),
//! `serialize` (`to_bytes` of the parsed INVITE), `server` (the server INVITE cycle),
//! `sipx-server`, `options` (the OPTIONS round trip) or `call` (INVITE → 200 → ACK).
//!
//! For example `valgrind --tool=callgrind target/release/examples/profile server 20000`.

use bytes::Bytes;
use sip_bench::txn::{Pair, ServerCycle, invites, sipx_cycle::SipxCycle};
use sip_core::message::{ParseOptions, parse, parse_unchecked};
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let what = args.next().unwrap_or_else(|| "parse".to_owned());
    let n: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let input = Bytes::from_static(sip_bench::INVITE.bytes);
    let opts = ParseOptions::default();
    #[allow(clippy::disallowed_methods)]
    let t0 = Instant::now();
    match what.as_str() {
        "parse" => {
            (0..n).for_each(|_| drop(black_box(parse_unchecked(black_box(input.clone()), &opts))))
        }
        "check" => (0..n).for_each(|_| drop(black_box(parse(black_box(input.clone()), &opts)))),
        "serialize" => {
            let m = parse_unchecked(input.clone(), &opts).expect("parses");
            (0..n).for_each(|_| drop(black_box(black_box(&m).to_bytes())));
        }
        "server" => {
            let mut c = ServerCycle::new();
            (0..n).for_each(|_| drop(black_box(c.run())));
        }
        "sipx-server" => {
            let mut c = SipxCycle::new(invites());
            (0..n).for_each(|_| drop(black_box(c.run())));
        }
        "options" => {
            let mut p = Pair::new();
            (0..n).for_each(|_| {
                black_box(p.options_round_trip());
            });
        }
        "call" => {
            let mut p = Pair::new();
            (0..n).for_each(|_| {
                black_box(p.invite_call());
            });
        }
        other => {
            eprintln!("unknown: {other}");
            std::process::exit(2);
        }
    }
    let ns = t0.elapsed().as_nanos() as f64 / n as f64;
    eprintln!("{what}: {n} iterations, {ns:.0} ns each");
}
