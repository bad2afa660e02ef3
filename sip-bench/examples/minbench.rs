//! Interleaved minimum-of-batches timing, for a machine shared with other work:
//! `cargo run -p sip-bench --release --example minbench [-- <rounds> [<operation>]]`.
//!
//! Criterion measures one benchmark after another, so a build that starts on another core
//! halfway through the run skews the later benchmarks against the earlier ones. Here every
//! cell (parse / decode / serialize of each message by each peer, the memchr floor, and the
//! transaction cycles) runs as a short batch (about 200 µs) once per round, all cells in
//! every round, for many rounds. Load then hits all cells alike, and the *minimum* batch of
//! each cell — a batch that ran without being preempted — estimates its unloaded cost. The
//! median is printed beside it to show how noisy the run was.
//!
//! Output: markdown tables, ns per operation, `min (median)`, and for each peer the ratio of
//! its minimum to sip-core's (how many times sip-core is faster).

use bytes::Bytes;
use sip_bench::peers::{Rsip, RsipStack, SipCore, SipCoreChecked, Sipx};
use sip_bench::txn::{Pair, ServerCycle, invites, sipx_cycle::SipxCycle};
use sip_bench::{CASES, Case, Serialize};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// One timed cell: runs its operation `n` times.
struct Cell {
    message: &'static str,
    peer: &'static str,
    op: &'static str,
    run: Box<dyn FnMut(u64)>,
    batch: u64,
    samples: Vec<f64>,
}

#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

impl Cell {
    fn new(
        message: &'static str,
        peer: &'static str,
        op: &'static str,
        run: impl FnMut(u64) + 'static,
    ) -> Self {
        Cell {
            message,
            peer,
            op,
            run: Box::new(run),
            batch: 1,
            samples: Vec::new(),
        }
    }

    /// Finds a batch size that takes about `target`.
    fn calibrate(&mut self, target: Duration) {
        let mut n = 1;
        loop {
            let t = now();
            (self.run)(n);
            let e = t.elapsed();
            if e >= target / 4 || n >= 1 << 24 {
                let per = e.as_secs_f64() / n as f64;
                self.batch = ((target.as_secs_f64() / per) as u64).max(1);
                return;
            }
            n *= 2;
        }
    }

    fn sample(&mut self) {
        let t = now();
        (self.run)(self.batch);
        let ns = t.elapsed().as_nanos() as f64 / self.batch as f64;
        self.samples.push(ns);
    }

    fn min(&self) -> f64 {
        self.samples.iter().copied().fold(f64::INFINITY, f64::min)
    }

    fn median(&mut self) -> f64 {
        self.samples.sort_by(f64::total_cmp);
        self.samples
            .get(self.samples.len() / 2)
            .copied()
            .unwrap_or(f64::NAN)
    }
}

/// The parse, decode and serialize cells of peer `P` on `case` (those it can do).
fn peer_cells<P: Serialize + 'static>(case: Case, serialize: bool, out: &mut Vec<Cell>) {
    let input = Bytes::from_static(case.bytes);
    let Ok(msg) = P::parse(&input) else { return };
    let decodes = P::decode(&msg)
        .and_then(|d| P::probe(&d).map(|_| ()))
        .is_ok();
    let i = input.clone();
    out.push(Cell::new(case.name, P::NAME, "parse", move |n| {
        for _ in 0..n {
            drop(black_box(P::parse(black_box(&i))));
        }
    }));
    if decodes {
        let i = input.clone();
        out.push(Cell::new(case.name, P::NAME, "decode", move |n| {
            for _ in 0..n {
                let m = P::parse(black_box(&i));
                if let Ok(m) = &m
                    && let Ok(d) = P::decode(m)
                {
                    black_box(P::probe(&d).ok());
                    black_box(&d);
                }
                drop(black_box(m));
            }
        }));
    }
    if serialize {
        out.push(Cell::new(case.name, P::NAME, "serialize", move |n| {
            for _ in 0..n {
                drop(black_box(P::serialize(black_box(&msg))));
            }
        }));
    }
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 10_000.0 {
        format!("{:.1} µs", ns / 1000.0)
    } else {
        format!("{ns:.0} ns")
    }
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let mut cells = Vec::new();
    for case in CASES {
        let input = Bytes::from_static(case.bytes);
        cells.push(Cell::new(case.name, "memchr", "floor", move |n| {
            for _ in 0..n {
                black_box(memchr::memchr_iter(b'\n', black_box(&input)).count());
            }
        }));
        peer_cells::<SipCore>(case, true, &mut cells);
        peer_cells::<SipCoreChecked>(case, false, &mut cells);
        peer_cells::<Rsip>(case, true, &mut cells);
        peer_cells::<RsipStack>(case, true, &mut cells);
        peer_cells::<Sipx>(case, true, &mut cells);
    }
    let mut pair = Pair::new();
    cells.push(Cell::new(
        "transactions",
        "sip-core",
        "options_round_trip",
        move |n| {
            for _ in 0..n {
                black_box(pair.options_round_trip());
            }
        },
    ));
    let mut pair = Pair::new();
    cells.push(Cell::new(
        "transactions",
        "sip-core",
        "invite_call",
        move |n| {
            for _ in 0..n {
                black_box(pair.invite_call());
            }
        },
    ));
    let mut cycle = ServerCycle::new();
    cells.push(Cell::new(
        "transactions",
        "sip-core",
        "server_invite_cycle",
        move |n| {
            for _ in 0..n {
                drop(black_box(cycle.run()));
            }
        },
    ));
    let mut sipx = SipxCycle::new(invites());
    cells.push(Cell::new(
        "transactions",
        "sipx",
        "server_invite_cycle",
        move |n| {
            for _ in 0..n {
                drop(black_box(sipx.run()));
            }
        },
    ));

    // An optional second argument keeps only the cells whose operation contains it
    // (`minbench 300 server_invite_cycle`: the two server cycles, interleaved).
    if let Some(only) = std::env::args().nth(2) {
        cells.retain(|c| c.op.contains(only.as_str()));
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    eprintln!(
        "{} cells, {rounds} rounds; load before: {}",
        cells.len(),
        load.trim()
    );
    for c in &mut cells {
        c.calibrate(Duration::from_micros(200));
    }
    let t = now();
    for _ in 0..rounds {
        for c in &mut cells {
            c.sample();
        }
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    eprintln!(
        "{:.1} s; load after: {}",
        t.elapsed().as_secs_f64(),
        load.trim()
    );

    let mins: Vec<((&str, &str, &str), f64, f64)> = cells
        .iter_mut()
        .map(|c| ((c.message, c.peer, c.op), c.min(), c.median()))
        .collect();
    let get = |m: &str, p: &str, o: &str| {
        mins.iter()
            .find(|(k, _, _)| *k == (m, p, o))
            .map(|&(_, min, med)| (min, med))
    };
    println!("ns per operation: minimum over {rounds} interleaved batches (median in brackets);");
    println!(
        "`×` = this peer's minimum ÷ sip-core's (parse+check rows: ÷ sip-core's parse/decode)\n"
    );
    for case in CASES {
        let m = case.name;
        println!("### {m} ({} bytes)\n", case.bytes.len());
        println!("| peer | parse | decode | serialize |");
        println!("|---|---:|---:|---:|");
        for peer in ["sip-core", "sip-core+check", "rsip", "rsipstack", "sipx"] {
            let cells: Vec<String> = ["parse", "decode", "serialize"]
                .iter()
                .map(|op| match (get(m, peer, op), get(m, "sip-core", op)) {
                    (Some((min, med)), Some((base, _))) if peer != "sip-core" => {
                        format!("{} ({}) **{:.2}×**", fmt_ns(min), fmt_ns(med), min / base)
                    }
                    (Some((min, med)), _) => format!("{} ({})", fmt_ns(min), fmt_ns(med)),
                    (None, _) => "–".to_owned(),
                })
                .collect();
            println!("| {peer} | {} |", cells.join(" | "));
        }
        if let Some((min, med)) = get(m, "memchr", "floor") {
            println!("| *memchr floor* | {} ({}) | | |", fmt_ns(min), fmt_ns(med));
        }
        println!();
    }
    println!("### transactions\n");
    println!("| cycle | peer | min | median | per second (min) |");
    println!("|---|---|---:|---:|---:|");
    for (peer, op) in [
        ("sip-core", "options_round_trip"),
        ("sip-core", "invite_call"),
        ("sip-core", "server_invite_cycle"),
        ("sipx", "server_invite_cycle"),
    ] {
        if let Some((min, med)) = get("transactions", peer, op) {
            println!(
                "| {op} | {peer} | {} | {} | {:.0} |",
                fmt_ns(min),
                fmt_ns(med),
                1e9 / min
            );
        }
    }
}
