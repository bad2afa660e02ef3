//! A UAS that answers every call: 180, then 200 with an SDP answer; handles ACK, BYE,
//! CANCEL, OPTIONS and REFER, and answers 405 to the rest (the logic is
//! [`sip_mio::uas::Uas`], shared with the SIPp test). Prints its counters and exits 0 on
//! SIGINT or SIGTERM.
//!
//! ```text
//! cargo run --release -p sip-mio --example uas -- --bind 127.0.0.1:5060 [--transport udp|tcp]
//!     [--registrar] [--auth user:password] [--realm R]
//! ```
//!
//! As a test PBX: `--registrar` serves REGISTER (RFC 3261 §10.3); `--auth` demands digest
//! credentials of every REGISTER (401) and INVITE (407) in realm `--realm` (default: the
//! bind host).

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
    registrar: bool,
    auth: Option<(String, String)>,
    realm: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut bind: SocketAddr = ([127, 0, 0, 1], 5060).into();
    let mut tcp = false;
    let (mut registrar, mut auth, mut realm) = (false, None, None);
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
            "--registrar" => registrar = true,
            "--auth" => {
                let v = it.next().ok_or("--auth needs user:password")?;
                let (u, p) = v.split_once(':').ok_or("--auth needs user:password")?;
                auth = Some((u.to_owned(), p.to_owned()));
            }
            "--realm" => realm = Some(it.next().ok_or("--realm needs a value")?),
            "-h" | "--help" => {
                return Err(
                    "usage: uas [--bind ADDR:PORT] [--transport udp|tcp] [--registrar] \
                            [--auth user:password] [--realm R]"
                        .into(),
                );
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Args {
        bind,
        tcp,
        registrar,
        auth,
        realm,
    })
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
    // A seed drawn for this run: a fixed one would repeat the tags and Call-IDs of every
    // earlier run (RFC 3261 §8.1.1.4, §19.3).
    let config = DriverConfig::new(vec![listen]);
    // Token 0 is the signal pipe; the driver has the rest (its connections included).
    let tokens = 1..config.max_connections + 2;
    let mut driver = Driver::new(config, poll.registry(), tokens)?;
    for (t, a) in driver.local_addrs() {
        println!("uas listening on {t} {a}");
    }

    let realm = args.realm.unwrap_or_else(|| args.bind.ip().to_string());
    #[allow(clippy::disallowed_methods)]
    let epoch = std::time::Instant::now();
    // The nonce key: from the process's hash randomness.
    let seed =
        std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), epoch);
    let mut uas = Uas::pbx(args.registrar, args.auth, &realm, seed, epoch);
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
