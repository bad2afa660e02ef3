//! How many simulated SIP transactions the simulator runs per second of wall-clock time.
//!
//! ```text
//! cargo run -p sip-sim --release --example throughput [-- N [invite486|invite200|options|call]]
//! ```
//!
//! With a second argument only that run is made (e.g. to count its instructions under
//! `valgrind --tool=callgrind`, which is steadier than wall time on a shared machine).
//!
//! Three runs of `N` transactions each (default 50,000) between two `SipNode`s over a
//! lossless 10 ms UDP link, one started every 0.2 ms of virtual time, every timer run to the
//! end (Timers D, I, K, J, L, M included), trace and logs off:
//!
//! * INVITE → 486 → ACK (the ACK from the client transaction, §17.1.1.3);
//! * INVITE → 200 → ACK (the 2xx ACK from the node's TU, §13.2.2.4);
//! * OPTIONS → 200;
//!
//! and one run of `N` whole calls between two [`UaNode`]s (dialog layer on): INVITE → 180 →
//! 200 → ACK (the core's 2xx ACK, §13.2.2.4), then the caller hangs up at once: BYE → 200,
//! every timer run out and both ends' transaction and dialog tables empty at the end.
//!
//! A transaction counts once it has run to completion on both sides; a call once the
//! caller saw it end with its own BYE answered.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use std::cell::Cell;
use std::rc::Rc;

use sip_core::dialog::{DialogState, EndReason};
use sip_core::endpoint::{Event, InviteOptions, Target};
use sip_core::message::Method;
use sip_sim::sip::{Behaviour, SipNode};
use sip_sim::{LinkConfig, Sim, Transport, UaNode};

#[allow(clippy::disallowed_methods)]
fn wall() -> Instant {
    Instant::now()
}

fn run(n: usize, method: Method, status: u16) -> (Duration, u64, Duration) {
    let alice_addr: SocketAddr = "10.0.0.1:5060".parse().expect("address");
    let bob_addr: SocketAddr = "10.0.0.2:5060".parse().expect("address");
    let mut sim = Sim::new(1);
    sim.set_trace_enabled(false);
    sim.set_max_steps(u64::MAX);
    sim.set_default_link(LinkConfig::ideal(Duration::from_millis(10)));
    let mut alice = SipNode::new(sim.base(), alice_addr, 1);
    alice.set_recording(false);
    let target = Target::new(Transport::Udp, bob_addr);
    for i in 0..n {
        let at = Duration::from_micros(200 * i as u64);
        alice.send_at(at, method.clone(), target.clone());
    }
    let mut bob = SipNode::new(sim.base(), bob_addr, 2);
    bob.set_recording(false);
    bob.on(method.clone(), Behaviour::answer(status));
    let a = sim.add_node(alice_addr, alice);
    let b = sim.add_node(bob_addr, bob);

    let start = wall();
    if let Err(e) = sim.run_until_idle() {
        eprintln!("run failed: {e}");
        std::process::exit(1);
    }
    let took = start.elapsed();
    for id in [a, b] {
        let left = sim
            .node::<SipNode>(id)
            .map(|n| n.endpoint().transaction_count());
        assert_eq!(left, Some((0, 0)), "transactions left behind");
    }
    (took, sim.steps(), sim.elapsed())
}

/// `n` whole calls (INVITE/180/200/ACK/BYE/200); returns the wall time, steps, virtual
/// time and the calls the caller saw end with its own BYE.
fn calls(n: usize) -> (Duration, u64, Duration, u64) {
    let alice_addr: SocketAddr = "10.0.0.1:5060".parse().expect("address");
    let bob_addr: SocketAddr = "10.0.0.2:5060".parse().expect("address");
    let mut sim = Sim::new(1);
    sim.set_trace_enabled(false);
    sim.set_max_steps(u64::MAX);
    sim.set_default_link(LinkConfig::ideal(Duration::from_millis(10)));
    let ended = Rc::new(Cell::new(0u64));
    let seen = ended.clone();
    let mut alice = UaNode::new(sim.base(), alice_addr, 1).react(move |ctl, e| {
        if let Event::DialogStateChanged { dialog, state } = e {
            match state {
                DialogState::Confirmed => {
                    let _ = ctl.ep.dialog(*dialog).and_then(|mut d| d.hangup(ctl.now));
                }
                DialogState::Terminated(EndReason::LocalBye) => seen.set(seen.get() + 1),
                _ => {}
            }
        }
    });
    alice.set_recording(false);
    let target = Target::new(Transport::Udp, bob_addr);
    for i in 0..n {
        let at = sim.base() + Duration::from_micros(200 * i as u64);
        let target = target.clone();
        alice.at(at, move |ep, now| {
            let opts = InviteOptions::new("sip:bob@10.0.0.2", "<sip:alice@a>", "<sip:bob@b>")
                .target(target);
            let _ = ep.invite(now, opts);
        });
    }
    let mut bob = UaNode::new(sim.base(), bob_addr, 2).react(|ctl, e| {
        if let Event::IncomingCall { dialog, .. } = e {
            let _ = ctl
                .ep
                .dialog(*dialog)
                .and_then(|mut d| d.answer(ctl.now, 180, None));
            let _ = ctl
                .ep
                .dialog(*dialog)
                .and_then(|mut d| d.answer(ctl.now, 200, None));
        }
    });
    bob.set_recording(false);
    let a = sim.add_node(alice_addr, alice);
    let b = sim.add_node(bob_addr, bob);
    let start = wall();
    if let Err(e) = sim.run_until_idle() {
        eprintln!("run failed: {e}");
        std::process::exit(1);
    }
    let took = start.elapsed();
    for id in [a, b] {
        let node = sim.node_mut::<UaNode>(id).expect("node");
        assert_eq!(
            node.ep.transaction_count(),
            (0, 0),
            "transactions left behind"
        );
        assert_eq!(node.ep.dialog_count(), 0, "dialogs left behind");
    }
    (took, sim.steps(), sim.elapsed(), ended.get())
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(50_000);
    let only = std::env::args().nth(2);
    let wanted = |name: &str| only.as_deref().is_none_or(|o| o == name);
    if cfg!(debug_assertions) {
        eprintln!("note: a debug build; run with --release for meaningful figures");
    }
    println!("{n} transactions per run, 10 ms lossless UDP link, every timer run out\n");
    for (name, label, method, status) in [
        ("invite486", "INVITE -> 486 -> ACK", Method::Invite, 486),
        ("invite200", "INVITE -> 200 -> ACK", Method::Invite, 200),
        ("options", "OPTIONS -> 200", Method::Options, 200),
    ] {
        if !wanted(name) {
            continue;
        }
        let (took, steps, virt) = run(n, method, status);
        let secs = took.as_secs_f64().max(1e-9);
        println!(
            "{label:<22} {:>10.0} transactions/s  ({:.3} s wall, {steps} steps, {:.1} s virtual, {:.2} µs/step)",
            n as f64 / secs,
            secs,
            virt.as_secs_f64(),
            secs * 1e6 / steps.max(1) as f64,
        );
    }
    if !wanted("call") {
        return;
    }
    let (took, steps, virt, ended) = calls(n);
    assert_eq!(
        ended, n as u64,
        "every call ends with the caller's BYE answered"
    );
    let secs = took.as_secs_f64().max(1e-9);
    println!(
        "{:<22} {:>10.0} calls/s         ({:.3} s wall, {steps} steps, {:.1} s virtual, {:.2} µs/step)",
        "call: INVITE..BYE/200",
        n as f64 / secs,
        secs,
        virt.as_secs_f64(),
        secs * 1e6 / steps.max(1) as f64,
    );
}
