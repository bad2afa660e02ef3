//! Prints the ladder diagram of a call over a lossy link.
//!
//! ```text
//! cargo run -p sip-sim --example ladder [-- --seed N] [-- --svg FILE]
//! ```
//!
//! Alice calls Bob, who rings (180) and answers (200) after 1.5 s; Alice's core ACKs the 2xx
//! and hangs up (BYE) 2 s later. The link loses 20 % of the datagrams both ways, so the
//! timers (A, E, the 2xx retransmission of §13.3.1.4) have work to do; the run is fixed by
//! its seed.

use std::net::SocketAddr;

use sip_core::dialog::DialogState;
use sip_core::endpoint::{Event, InviteOptions};
use sip_sim::sip::ms;
use sip_sim::{LinkConfig, Sim, UaNode};

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

    // Bob rings at once and answers after 1.5 s; Alice hangs up 2 s after the answer.
    let bob = UaNode::new(sim.base(), bob_addr, seed ^ 2).react(|ctl, e| {
        if let Event::IncomingCall { dialog, .. } = e {
            let d = *dialog;
            let _ = ctl
                .ep
                .dialog(d)
                .and_then(|mut d| d.answer(ctl.now, 180, None));
            ctl.after(ms(1500), move |ep, now| {
                let sdp = bytes::Bytes::from_static(b"v=0\r\n");
                let _ = ep
                    .dialog(d)
                    .and_then(|mut d| d.answer(now, 200, Some(("application/sdp", sdp))));
            });
        }
    });
    let alice = UaNode::new(sim.base(), alice_addr, seed ^ 1).react(|ctl, e| {
        if let Event::DialogStateChanged {
            dialog,
            state: DialogState::Confirmed,
        } = e
        {
            let d = *dialog;
            ctl.after(ms(2000), move |ep, now| {
                let _ = ep.dialog(d).and_then(|mut d| d.hangup(now));
            });
        }
    });
    let a = sim.add_node(alice_addr, alice);
    sim.add_node(bob_addr, bob);
    let call = sim.with_node(a, |n: &mut UaNode, now| {
        n.with_endpoint(now, |ep, now| {
            ep.invite(
                now,
                InviteOptions::new(
                    "sip:bob@10.0.0.2",
                    "<sip:alice@example.com>",
                    "<sip:bob@example.com>",
                ),
            )
        })
    });
    if !matches!(call, Some(Ok(_))) {
        eprintln!("could not place the call: {call:?}");
        std::process::exit(1);
    }

    if let Err(e) = sim.run_until_idle() {
        eprintln!("the run did not finish: {e}");
        std::process::exit(1);
    }

    println!(
        "seed {seed}: a call (INVITE / 180 / 200 / ACK / BYE / 200) over a link with 20 % loss\n"
    );
    print!("{}", sim.ladder_text());
    println!();
    if let Some(alice) = sim.node::<UaNode>(a) {
        for (t, e) in &alice.events {
            let what = match e {
                Event::DialogResponse { response, .. } => {
                    format!("{} {}", response.status(), response.reason())
                }
                Event::DialogStateChanged { state, .. } => format!("dialog {state:?}"),
                other => format!("{other:?}"),
            };
            println!("alice {:>8.3} s  {what}", t.as_secs_f64());
        }
    }
    println!(
        "\nall transactions and dialogs gone at {:.3} s of virtual time",
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
