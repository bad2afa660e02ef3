//! A loop to run under a profiler:
//! `cargo run -p sip-bench --release --example profile -- <what> [iterations]` where `<what>`
//! is `parse` (sip-core `parse_unchecked` of the benchmark INVITE), `check` (`parse`),
//! `serialize` (`to_bytes` of the parsed INVITE), `server` (the server INVITE cycle),
//! `sipx-server`, `options` (the OPTIONS round trip), `call` (INVITE → 200 → ACK),
//! `dialog-call` (a whole call with the dialog layer), `softphone-call` (the same with SDP
//! offer/answer, 100rel/PRACK and session timers, issue 20), `sdp-parse`, `sdp-answer` (sip-core's
//! borrowing parse of the 10-line offer of `sip_bench::sdp`, and parse + answer + serialise;
//! `sdp-parse-owned`, `sdp-answer-owned` through the owned `SessionDescription`),
//! `webrtc-sdp-parse` or `sdp-types-parse` (the peers' parse of it).
//!
//! For example `valgrind --tool=callgrind target/release/examples/profile server 20000`.
//!
//! `profile peer <peer> <op> <message> [iterations]` runs one cell of the parse benchmark
//! (`<peer>` a `Peer::NAME`, `<op>` parse, decode or serialize, `<message>` a case name): the
//! callgrind instruction count of it, minus that of 0 iterations, divided by the iterations,
//! is a load-independent cost per message (see `ir.sh`).

use bytes::Bytes;
use sip_bench::peers::{Rsip, RsipStack, SipCore, SipCoreChecked, Sipx};
use sip_bench::txn::{Pair, ServerCycle, invites, sipx_cycle::SipxCycle};
use sip_bench::{CASES, Serialize};
use sip_core::message::{ParseOptions, parse, parse_unchecked};
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let what = args.next().unwrap_or_else(|| "parse".to_owned());
    if what == "ws" {
        // `profile ws <sip-core|tungstenite> [iterations]`: WebSocket exchanges
        // (sip_bench::ws), for callgrind's instruction counts.
        let peer = args.next().unwrap_or_default();
        let n: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
        match peer.as_str() {
            "sip-core" => {
                let mut s = sip_bench::ws::SipCoreWs::default();
                (0..n).for_each(|_| {
                    black_box(s.exchange());
                });
            }
            "tungstenite" => {
                let mut s = sip_bench::ws::TungsteniteWs::default();
                (0..n).for_each(|_| {
                    black_box(s.exchange());
                });
            }
            _ => {
                eprintln!("usage: profile ws <sip-core|tungstenite> [iterations]");
                std::process::exit(2);
            }
        }
        return;
    }
    if what == "peer" {
        let (peer, op, msg) = (args.next(), args.next(), args.next());
        let n: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
        let (Some(peer), Some(op), Some(msg)) = (peer, op, msg) else {
            eprintln!("usage: profile peer <peer> <op> <message> [iterations]");
            std::process::exit(2);
        };
        let Some(case) = CASES.iter().find(|c| c.name == msg) else {
            eprintln!("unknown message {msg}");
            std::process::exit(2);
        };
        let input = Bytes::from_static(case.bytes);
        let ok = match peer.as_str() {
            "sip-core" => run::<SipCore>(&op, &input, n),
            "sip-core+check" => run::<SipCoreChecked>(&op, &input, n),
            "rsip" => run::<Rsip>(&op, &input, n),
            "rsipstack" => run::<RsipStack>(&op, &input, n),
            "sipx" => run::<Sipx>(&op, &input, n),
            "memchr" => {
                (0..n).for_each(|_| {
                    black_box(memchr::memchr_iter(b'\n', black_box(&input)).count());
                });
                true
            }
            _ => false,
        };
        if !ok {
            eprintln!("{peer} cannot {op} {msg}");
            std::process::exit(1);
        }
        return;
    }
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
        "sdp-parse" => (0..n).for_each(|_| {
            black_box(sip_bench::sdp::sip_core_parse(black_box(
                sip_bench::sdp::OFFER.as_bytes(),
            )));
        }),
        "sdp-answer" => {
            let local = sip_bench::sdp::local_media();
            (0..n).for_each(|_| {
                black_box(sip_bench::sdp::sip_core_parse_answer(
                    black_box(sip_bench::sdp::OFFER.as_bytes()),
                    &local,
                ));
            })
        }
        "sdp-parse-owned" => (0..n).for_each(|_| {
            black_box(sip_bench::sdp::sip_core_parse_owned(black_box(
                sip_bench::sdp::OFFER.as_bytes(),
            )));
        }),
        "sdp-answer-owned" => {
            let local = sip_bench::sdp::local_media();
            (0..n).for_each(|_| {
                black_box(sip_bench::sdp::sip_core_parse_answer_owned(
                    black_box(sip_bench::sdp::OFFER.as_bytes()),
                    &local,
                ));
            })
        }
        "webrtc-sdp-parse" => (0..n).for_each(|_| {
            black_box(sip_bench::sdp::webrtc_sdp_parse(black_box(
                sip_bench::sdp::OFFER.as_bytes(),
            )));
        }),
        "sdp-types-parse" => (0..n).for_each(|_| {
            black_box(sip_bench::sdp::sdp_types_parse(black_box(
                sip_bench::sdp::OFFER.as_bytes(),
            )));
        }),
        "dialog-call" => {
            let mut p = sip_bench::txn::DialogPair::new();
            (0..n).for_each(|_| p.call());
        }
        "softphone-call" => {
            let mut p = sip_bench::txn::DialogPair::softphone();
            (0..n).for_each(|_| p.call());
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

/// Runs `op` of peer `P` on `input` `n` times, as the criterion bench times it. `false` if
/// the peer fails on this message.
fn run<P: Serialize>(op: &str, input: &Bytes, n: u64) -> bool {
    let Ok(msg) = P::parse(input) else {
        return false;
    };
    let decodes = P::decode(&msg)
        .and_then(|d| P::probe(&d).map(|_| ()))
        .is_ok();
    match op {
        "parse" => (0..n).for_each(|_| drop(black_box(P::parse(black_box(input))))),
        "decode" if decodes => (0..n).for_each(|_| {
            let m = P::parse(black_box(input));
            if let Ok(m) = &m
                && let Ok(d) = P::decode(m)
            {
                black_box(P::probe(&d).ok());
                black_box(&d);
            }
            drop(black_box(m));
        }),
        "serialize" => (0..n).for_each(|_| drop(black_box(P::serialize(black_box(&msg))))),
        _ => return false,
    }
    true
}
