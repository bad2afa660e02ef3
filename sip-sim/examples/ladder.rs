//! Prints the ladder diagram of a short SIP exchange over a lossy link.
//!
//! ```text
//! cargo run -p sip-sim --example ladder [-- --seed N] [-- --svg FILE]
//! ```
//!
//! Alice INVITEs Bob, who rings (180) and after 1.5 s turns the call down (486 Busy Here);
//! Alice's INVITE transaction ACKs the 486 (RFC 3261 §17.1.1.3). Then Alice sends an
//! OPTIONS, answered 200. The link loses 20 % of the datagrams both ways, so the timers
//! (A, E, G) have work to do; the run is fixed by its seed.

use std::net::SocketAddr;
use std::time::Duration;

use sip_core::endpoint::{Event, Target};
use sip_core::message::Method;
use sip_sim::sip::{Behaviour, SipNode, Step, ms};
use sip_sim::{LinkConfig, Sim, Transport};

fn main() {
    let mut seed = 11u64;
    let mut svg: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--svg" => svg = args.next(),
            "--seed" => seed = args.next().and_then(|s| s.parse().ok()).unwrap_or(seed),
            other => {
                eprintln!("unknown argument {other}; usage: ladder [--seed N] [--svg FILE]");
                std::process::exit(2);
            }
        }
    }

    let alice_addr: SocketAddr = "10.0.0.1:5060".parse().expect("address");
    let bob_addr: SocketAddr = "10.0.0.2:5060".parse().expect("address");
    let mut sim = Sim::new(seed);
    sim.set_default_link(LinkConfig::ideal(ms(40)).with_jitter(ms(10)).with_loss(0.2));

    let mut bob = SipNode::new(sim.base(), bob_addr, seed ^ 2);
    bob.on(
        Method::Invite,
        Behaviour::Answer(vec![Step::now(180), Step::new(ms(1500), 486)]),
    )
    .on(Method::Options, Behaviour::answer(200));
    let mut alice = SipNode::new(sim.base(), alice_addr, seed ^ 1);
    let to_bob = Target::new(Transport::Udp, bob_addr);
    alice.send_at(Duration::ZERO, Method::Invite, to_bob);
    alice.send_at(ms(4000), Method::Options, to_bob);
    let a = sim.add_node(alice_addr, alice);
    sim.add_node(bob_addr, bob);

    if let Err(e) = sim.run_until_idle() {
        eprintln!("the run did not finish: {e}");
        std::process::exit(1);
    }

    println!("seed {seed}: INVITE / 180 / 486 / ACK, then OPTIONS / 200, 20 % loss\n");
    print!("{}", sim.ladder_text());
    println!();
    if let Some(alice) = sim.node::<SipNode>(a) {
        for (t, e) in &alice.events {
            let what = match e {
                Event::Response { response, .. } => {
                    format!("{} {}", response.status(), response.reason())
                }
                Event::ClientTxFailed { failure, .. } => format!("failed: {failure:?}"),
                other => format!("{other:?}"),
            };
            println!("alice {:>8.3} s  {what}", t.as_secs_f64());
        }
    }
    println!(
        "\nall transactions gone at {:.3} s of virtual time",
        sim.elapsed().as_secs_f64()
    );
    if let Some(path) = svg {
        match std::fs::write(&path, sim.ladder_svg()) {
            Ok(()) => println!("SVG written to {path}"),
            Err(e) => {
                eprintln!("cannot write {path}: {e}");
                std::process::exit(1);
            }
        }
    }
}
