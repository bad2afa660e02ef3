//! SDP: a typical 10-line audio offer parsed by sip-core and two peer crates, and
//! sip-core's parse plus its RFC 3264 answer (built and serialised), in one criterion run:
//! `cargo bench -p sip-bench --bench sdp`. The work is in `sip_bench::sdp`; instruction
//! counts come from the `profile` example under callgrind (`profile sdp <case> N`).
//!
//! * `sdp/sip-core/parse`, `sdp/webrtc-sdp/parse`, `sdp/sdp-types/parse`: bytes → the
//!   peer's typed session, then the first stream's port and format count read from it;
//! * `sdp/sip-core/parse_answer`: sip-core's borrowing parse (`SdpView`),
//!   `negotiate::answer_into` (codec intersection, direction, `o=`, written into one
//!   buffer), the answer as body bytes;
//! * `sdp/sip-core/parse_owned`, `parse_answer_owned`: the same through the owned
//!   `SessionDescription` and `negotiate::answer` (a `String` per field).

use criterion::{Criterion, criterion_group, criterion_main};
use sip_bench::sdp::{
    OFFER, local_media, sdp_types_parse, sip_core_parse, sip_core_parse_answer,
    sip_core_parse_answer_owned, sip_core_parse_owned, webrtc_sdp_parse,
};
use std::hint::black_box;

fn benches(c: &mut Criterion) {
    let offer = OFFER.as_bytes();
    let local = local_media();
    let mut g = c.benchmark_group("sdp/sip-core");
    g.bench_function("parse", |b| {
        b.iter(|| black_box(sip_core_parse(black_box(offer))))
    });
    g.bench_function("parse_answer", |b| {
        b.iter(|| black_box(sip_core_parse_answer(black_box(offer), &local)))
    });
    g.bench_function("parse_owned", |b| {
        b.iter(|| black_box(sip_core_parse_owned(black_box(offer))))
    });
    g.bench_function("parse_answer_owned", |b| {
        b.iter(|| black_box(sip_core_parse_answer_owned(black_box(offer), &local)))
    });
    g.finish();
    let mut g = c.benchmark_group("sdp/webrtc-sdp");
    g.bench_function("parse", |b| {
        b.iter(|| black_box(webrtc_sdp_parse(black_box(offer))))
    });
    g.finish();
    let mut g = c.benchmark_group("sdp/sdp-types");
    g.bench_function("parse", |b| {
        b.iter(|| black_box(sdp_types_parse(black_box(offer))))
    });
    g.finish();
}

criterion_group!(sdp, benches);
criterion_main!(sdp);
