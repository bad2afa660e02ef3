//! Heap allocations per message for each peer: `cargo run -p sip-bench --release --example allocs`.
//!
//! A counting `#[global_allocator]` wraps the system allocator; each operation runs once to
//! warm up, then `RUNS` times, and the table shows the per-run average (all peers are
//! deterministic, so the average is the exact count). Columns:
//! * `parse`: bytes to the peer's message;
//! * `decode`: typed Via/From/To/Call-ID/CSeq/Contact on an already parsed message;
//! * `serialize`: the parsed message back to a fresh buffer;
//!
//! Each cell is the allocation count and the bytes requested (`allocs / bytes`).

use bytes::Bytes;
use sip_bench::peers::{Rsip, RsipStack, SipCore, SipCoreChecked, Sipx};
use sip_bench::{CASES, Case, Serialize};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Counts every allocation (and reallocation) and the bytes it asks for.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract is exactly `System`'s; the counters are plain atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: forwarded unchanged, see the impl comment.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(new_size as u64, Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const RUNS: u64 = 100;

/// Allocations and bytes per call of `f`, averaged over `RUNS` calls after one warm-up.
fn measure<T>(mut f: impl FnMut() -> T) -> (u64, u64) {
    drop(black_box(f()));
    let (a0, b0) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
    for _ in 0..RUNS {
        drop(black_box(f()));
    }
    let (a1, b1) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
    ((a1 - a0) / RUNS, (b1 - b0) / RUNS)
}

fn cell(m: Option<(u64, u64)>) -> String {
    m.map_or_else(|| "fails".to_owned(), |(a, b)| format!("{a} / {b}"))
}

fn row<P: Serialize>(case: Case) {
    let input = Bytes::from_static(case.bytes);
    let parsed = P::parse(&input).ok();
    let parse = parsed
        .as_ref()
        .map(|_| measure(|| P::parse(black_box(&input))));
    let decode = parsed.as_ref().and_then(|m| {
        let ok = P::decode(m).and_then(|d| P::probe(&d).map(|_| ())).is_ok();
        ok.then(|| {
            measure(|| {
                let d = P::decode(black_box(m));
                if let Ok(d) = &d {
                    black_box(P::probe(d).ok());
                }
                d
            })
        })
    });
    let ser = parsed
        .as_ref()
        .map(|m| measure(|| P::serialize(black_box(m))));
    println!(
        "| {} | {} | {} | {} | {} |",
        case.name,
        P::NAME,
        cell(parse),
        cell(decode),
        cell(ser)
    );
}

fn main() {
    println!("Allocations per message (count / bytes requested), {RUNS} runs averaged\n");
    println!("| message | peer | parse | decode | serialize |");
    println!("|---|---|---:|---:|---:|");
    for case in CASES {
        let input = Bytes::from_static(case.bytes);
        let floor = measure(|| memchr::memchr_iter(b'\n', black_box(&input)).count());
        println!(
            "| {} | memchr floor | {} | - | - |",
            case.name,
            cell(Some(floor))
        );
        row::<SipCore>(case);
        row::<SipCoreChecked>(case);
        row::<Rsip>(case);
        row::<RsipStack>(case);
        row::<Sipx>(case);
    }
}
