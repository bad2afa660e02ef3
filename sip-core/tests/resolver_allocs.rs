//! RFC 3263's cost for a next hop that is an IP literal: nothing. Reading the URI's
//! destination allocates nothing, and a call placed to `sip:bob@192.0.2.2` allocates
//! exactly as much as one given its target explicitly (no resolver state, no query).
//! Counted with a counting global allocator, per thread (the harness's own threads
//! allocate at any time).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Instant;

use sip_core::endpoint::{Endpoint, EndpointConfig, InviteOptions, Target};
use sip_core::message::Uri;
use sip_core::resolver::Destination;
use sip_core::transport::Transport;

struct Counting;

thread_local! {
    // Const-initialised and without a destructor: touching it never allocates.
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every method forwards to `System` unchanged; the counter is a thread-local cell.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn allocs(f: impl FnOnce()) -> u64 {
    let before = ALLOCS.with(Cell::get);
    f();
    ALLOCS.with(Cell::get) - before
}

#[test]
fn ip_literal_next_hops_cost_no_allocation() {
    let n = allocs(|| {
        let uri = Uri::parse("sip:bob@192.0.2.2:5070;transport=tcp").unwrap();
        assert!(matches!(
            Destination::from_uri(&uri),
            Ok(Destination::Numeric(_))
        ));
    });
    assert_eq!(n, 0);

    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let local = "192.0.2.1:5060".parse().unwrap();
    let bob = "192.0.2.2:5060".parse().unwrap();
    let mut ep = Endpoint::new(EndpointConfig::with_local(Transport::Udp, local), 1);
    let opts = || InviteOptions::new("sip:bob@192.0.2.2", "<sip:a@a.test>", "<sip:b@b.test>");
    // Warm the tables up, then one call each way, drained alike.
    for _ in 0..4 {
        ep.invite(now, opts()).unwrap();
        while ep.poll_output().is_some() {}
    }
    // Alternating, the fewest of five each (a table growing shows in one of them).
    let (mut with_target, mut from_uri) = (u64::MAX, u64::MAX);
    for _ in 0..5 {
        let explicit = opts().target(Target::new(Transport::Udp, bob));
        let implicit = opts();
        with_target = with_target.min(allocs(|| {
            ep.invite(now, explicit).unwrap();
            while ep.poll_output().is_some() {}
        }));
        from_uri = from_uri.min(allocs(|| {
            ep.invite(now, implicit).unwrap();
            while ep.poll_output().is_some() {}
        }));
    }
    assert!(with_target > 0, "the counter counts");
    assert_eq!(from_uri, with_target);
    assert_eq!(ep.dns_queries_sent(), 0);
    assert!(ep.poll_dns_query().is_none());
}
