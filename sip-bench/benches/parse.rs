//! Parser comparison: `cargo bench -p sip-bench`.
//!
//! Benchmark ids are `<message>/<peer>/<what>`:
//! * `parse`: bytes to the peer's message type;
//! * `decode`: parse, then the typed Via (branch), From (tag), To (tag), Call-ID, CSeq and
//!   Contact URI, all `black_box`ed through a [`sip_bench::Probe`];
//! * `serialize`: an already parsed message back to a fresh byte buffer;
//! * `<message>/memchr/floor`: one `memchr_iter(b'\n')` pass, the cost of touching every byte.
//!
//! A peer that fails on a message is reported on stderr and that benchmark is skipped.

use bytes::Bytes;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use sip_bench::peers::{Rsip, RsipStack, SipCore, SipCoreChecked, Sipx};
use sip_bench::{CASES, Case, Peer, Serialize};
use std::hint::black_box;

/// Calls `$m!(Peer)` for every peer.
macro_rules! for_each_peer {
    ($m:ident) => {
        $m!(SipCore);
        $m!(SipCoreChecked);
        $m!(Rsip);
        $m!(RsipStack);
        $m!(Sipx);
    };
}

/// Calls `$m!(Peer)` for every peer implementing [`Serialize`] (`SipCoreChecked` writes
/// exactly as `SipCore` does, so it is not timed twice).
macro_rules! for_each_serializer {
    ($m:ident) => {
        $m!(SipCore);
        $m!(Rsip);
        $m!(RsipStack);
        $m!(Sipx);
    };
}

type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

fn group<'c>(c: &'c mut Criterion, case: Case, peer: &str) -> Group<'c> {
    let mut g = c.benchmark_group(format!("{}/{}", case.name, peer));
    g.throughput(Throughput::Bytes(case.bytes.len() as u64));
    g
}

fn floor(c: &mut Criterion, case: Case) {
    let input = Bytes::from_static(case.bytes);
    let mut g = group(c, case, "memchr");
    g.bench_function("floor", |b| {
        b.iter(|| memchr::memchr_iter(b'\n', black_box(&input)).count())
    });
    g.finish();
}

fn parse_and_decode<P: Peer>(c: &mut Criterion, case: Case) {
    let input = Bytes::from_static(case.bytes);
    // Check once outside the timed loop, so a failure is visible rather than timed.
    let msg = match P::parse(&input) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("skip {}/{}: parse: {e}", case.name, P::NAME);
            return;
        }
    };
    let decodes = match P::decode(&msg).and_then(|d| P::probe(&d).map(|_| ())) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("skip {}/{}/decode: {e}", case.name, P::NAME);
            false
        }
    };
    let mut g = group(c, case, P::NAME);
    g.bench_function("parse", |b| b.iter(|| P::parse(black_box(&input))));
    if decodes {
        g.bench_function("decode", |b| {
            b.iter(|| {
                let msg = P::parse(black_box(&input));
                if let Ok(msg) = &msg
                    && let Ok(decoded) = P::decode(msg)
                {
                    black_box(P::probe(&decoded).ok());
                    black_box(&decoded);
                }
                msg
            })
        });
    }
    g.finish();
}

fn serialize<P: Serialize>(c: &mut Criterion, case: Case) {
    let Ok(msg) = P::parse(&Bytes::from_static(case.bytes)) else {
        return; // already reported by parse_and_decode
    };
    let mut g = group(c, case, P::NAME);
    g.bench_function("serialize", |b| b.iter(|| P::serialize(black_box(&msg))));
    g.finish();
}

fn benches(c: &mut Criterion) {
    for case in CASES {
        floor(c, case);
        macro_rules! run {
            ($p:ty) => {
                parse_and_decode::<$p>(c, case)
            };
        }
        for_each_peer!(run);
        macro_rules! ser {
            ($p:ty) => {
                serialize::<$p>(c, case)
            };
        }
        for_each_serializer!(ser);
    }
}

criterion_group!(parse, benches);
criterion_main!(parse);
