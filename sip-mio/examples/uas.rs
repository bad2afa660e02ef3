//! A UAS that answers every call: 180, then 200 with an SDP answer; handles ACK, BYE,
//! CANCEL, OPTIONS and REFER, and answers 405 to the rest (the logic is
//! [`sip_mio::uas::Uas`], shared with the SIPp test). Prints its counters and exits 0 on
//! SIGINT or SIGTERM.
//!
//! ```text
//! cargo run --release -p sip-mio --example uas -- --bind 127.0.0.1:5060 [--transport udp|tcp]
//! ```

use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::process::ExitCode;

use mio::{Interest, Poll, Token};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;
use sip_mio::uas::Uas;
use sip_mio::{Driver, DriverConfig, Listen, Step};

const SIGNALS: Token = Token(0);

struct Args {
    bind: SocketAddr,
    tcp: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut bind: SocketAddr = ([127, 0, 0, 1], 5060).into();
    let mut tcp = false;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--bind" => {
                let v = it.next().ok_or("--bind needs an address")?;
                bind = v.parse().map_err(|e| format!("--bind {v}: {e}"))?;
            }
            "--transport" => match it.next().as_deref() {
                Some("udp") => tcp = false,
                Some("tcp") => tcp = true,
                other => return Err(format!("--transport udp|tcp, not {other:?}")),
            },
            "-h" | "--help" => {
                return Err("usage: uas [--bind ADDR:PORT] [--transport udp|tcp]".into());
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Args { bind, tcp })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match serve(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("uas: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut poll = Poll::new()?;
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    poll.registry()
        .register(&mut signals, SIGNALS, Interest::READABLE)?;

    let listen = if args.tcp {
        Listen::tcp(args.bind)
    } else {
        Listen::udp(args.bind)
    };
    let mut config = DriverConfig::new(vec![listen], 0x5eed);
    config.endpoint.user_agent = Some("sip-mio uas".into());
    // Token 0 is the signal pipe; the driver has the rest (its connections included).
    let tokens = 1..config.max_connections + 2;
    let mut driver = Driver::new(config, poll.registry(), tokens)?;
    for (t, a) in driver.local_addrs() {
        println!("uas listening on {t} {a}");
    }

    let mut uas = Uas::new();
    driver.run(&mut poll, |driver, now, step| match step {
        Step::Event(e) => {
            uas.on_driver_event(driver, now, &e);
            ControlFlow::Continue(())
        }
        Step::Foreign(ev) if ev.token() == SIGNALS => {
            if signals.pending().next().is_some() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
        Step::Foreign(_) => ControlFlow::Continue(()),
    })?;

    println!("uas: {}", uas.counters());
    let ep = driver.endpoint().stats();
    println!(
        "endpoint: received={} parse_errors={} retransmissions={} stateless_responses={}",
        ep.received, ep.parse_errors, ep.retransmissions, ep.stateless_responses
    );
    println!("transport: {:?}", driver.stats());
    Ok(())
}
