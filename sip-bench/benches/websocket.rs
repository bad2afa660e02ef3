//! WebSocket framing of SIP messages (RFC 7118): sip-core's sans-IO codec beside
//! tungstenite's, `cargo bench -p sip-bench --bench websocket`. The work is described in
//! [`sip_bench::ws`]; instruction counts come from `profile ws <peer> N` under callgrind.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sip_bench::ws::{SipCoreWs, TungsteniteWs};
use sip_bench::{INVITE, OK200};

fn exchange(c: &mut Criterion) {
    let mut g = c.benchmark_group("ws_exchange");
    g.throughput(Throughput::Bytes(
        (INVITE.bytes.len() + OK200.bytes.len()) as u64,
    ));
    let mut ours = SipCoreWs::default();
    g.bench_function("sip-core", |b| b.iter(|| ours.exchange()));
    let mut theirs = TungsteniteWs::default();
    g.bench_function("tungstenite", |b| b.iter(|| theirs.exchange()));
    g.finish();
}

criterion_group!(benches, exchange);
criterion_main!(benches);
