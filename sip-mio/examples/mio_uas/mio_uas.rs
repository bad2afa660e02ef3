//! The sample PBX on a mio loop: the same behaviour as sip-tokio's `uas` (both are
//! [`sip_pbx`]), driven by a [`sip_mio::Driver`] in [`Driver::run`]. It rings (180),
//! answers 200 with an SDP answer after `--ring-ms`, leaves OPTIONS and unknown methods to
//! the core's policy (200 with Allow, 405), and on a REFER calls the target and reports
//! that call in NOTIFYs (`mio_pbx.rs` has the details). Prints its counters and exits 0 on
//! SIGINT or SIGTERM.
//!
//! ```text
//! cargo run --release -p sip-mio --example mio_uas -- --bind 127.0.0.1:5060 [--transport udp|tcp|tls|ws]
//!     [--cert PEM --key PEM] [--ring-ms N]
//!     [--registrar] [--auth user:password]... [--realm R]
//!     [--tcp-max-connections N] [--tcp-max-per-source N] [--tcp-message-timeout-ms N]
//!     [--tcp-idle-timeout-ms N] [--tcp-max-queue BYTES] [--tcp-max-queue-total BYTES]
//!     [--tcp-handshake-timeout-ms N]
//! ```
//!
//! `--transport tls` serves SIP over TLS (RFC 3261 §26.2, `sips:`) with the certificate
//! chain and key of the PEM files `--cert` and `--key`, rustls driven inside the mio loop;
//! the `--tcp-*` limits apply to its connections, and a peer must finish the handshake
//! within `--tcp-handshake-timeout-ms` (default 10,000).
//!
//! `--transport ws` serves SIP over WebSocket (RFC 7118) for browser softphones
//! (`ws://host:port`, subprotocol `sip`), through the core's WebSocket codec; the `--tcp-*`
//! limits apply too. WSS is served by the tokio `uas` only.
//!
//! The `--tcp-*` flags set what TCP peers may hold (the core's
//! [`StreamLimits`](sip_core::transport::limits::StreamLimits), whose defaults are meant
//! for the open internet). At start the process raises its open-file limit to the hard
//! limit, so it can hold as many connections as the system lets it.
//!
//! As a test PBX: `--registrar` serves REGISTER (RFC 3261 §10.3) instead of answering 405;
//! `--auth` demands digest credentials of every REGISTER (401) and INVITE (407) in realm
//! `--realm` (default: the bind host). `--auth` may be repeated, one user each; a user may
//! register only their own address of record, `user@realm` (else 403, §10.3 step 4).
//!
//! Its tags, branches and Call-IDs come from a seed drawn at start
//! ([`DriverConfig::new`]), so no two runs send the same ones (RFC 3261 §8.1.1.4, §19.3).

// The tests include `mio_pbx.rs` too, and use accessors this binary does not.
#[allow(dead_code)]
#[path = "mio_pbx.rs"]
mod app;

use std::ops::ControlFlow;
use std::process::ExitCode;
use std::time::Instant;

use mio::{Interest, Poll, Token};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;
use sip_core::transport::Transport;
use sip_mio::{Driver, DriverConfig, Listen, Step};
use sip_pbx::cli::Args;

use app::App;

const SIGNALS: Token = Token(0);

/// The usage line: the PBX flags both drivers' apps share (`sip_pbx::cli`).
fn usage() -> String {
    format!(
        "usage: mio_uas {} {}",
        sip_pbx::cli::USAGE,
        sip_pbx::cli::TCP_USAGE
    )
}

fn parse_args() -> Result<Args, String> {
    sip_pbx::cli::parse(std::env::args().skip(1), &[])
}

/// jemalloc with its background threads gives freed memory back to the system while the
/// process idles (glibc's malloc kept 282 of 475 MiB 45 s after a 10,000 calls/s load;
/// mimalloc purges only when allocating again), so the process shrinks once the calls'
/// 64·T1 are over: 505 MiB at that peak, 9.8 MiB 45 s later.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's run-time options, read once at start-up: pages freed for 1 s (instead of
/// 10 s) go back to the system, so RSS is back near its idle level a second after the
/// calls' 64·T1 have run out. The symbol is jemalloc's `malloc_conf` under the prefix the
/// crate builds it with; the value is a NUL-terminated string.
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
static malloc_conf: Option<&u8> = Some(&b"dirty_decay_ms:1000\0"[0]);

fn main() -> ExitCode {
    // The stack's warnings (overload shedding starts, connections refused) go to stderr.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_writer(std::io::stderr)
        .init();
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("mio_uas: {e}");
            }
            eprintln!("{}", usage());
            return ExitCode::from(2);
        }
    };
    raise_open_file_limit();
    match serve(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mio_uas: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut poll = Poll::new()?;
    // Listen for the signals before anything else, so one sent right after the start is
    // not fatal.
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    poll.registry()
        .register(&mut signals, SIGNALS, Interest::READABLE)?;

    let listen = match args.transport {
        Transport::Tcp => Listen::tcp(args.bind),
        Transport::Tls => Listen::tls(args.bind),
        // SIP over WebSocket (RFC 7118) for browser clients; WSS is not served by sip-mio.
        Transport::Ws => Listen::ws(args.bind),
        Transport::Wss => {
            return Err(format!("--transport {} is not served by sip-mio", args.transport).into());
        }
        _ => Listen::udp(args.bind),
    };
    let mut config = DriverConfig::new(vec![listen]);
    if let Some(files) = &args.tls {
        config.tls = Some(sip_mio::TlsConfig::server(&files.cert, &files.key)?);
    }
    config.endpoint = sip_pbx::Pbx::endpoint_config(config.endpoint);
    config.tcp_limits = args.tcp;
    config.udp_recv_buffer_size = args.udp_recv_buffer;
    config.endpoint.dialog_guard = args.dialog_guard;
    config.endpoint.session_timers = args.session_timers;
    config.endpoint.reliable_provisionals = args.reliable_provisionals;
    if let Some(n) = args.max_transactions {
        config.endpoint.max_transactions = n;
    }
    if let Some(n) = args.max_lingering {
        config.endpoint.max_lingering_transactions = n;
    }
    // Token 0 is the signal pipe; the driver has the rest (its connections included).
    let tokens = 1..config.tcp_limits.max_connections + 2;
    let mut driver = Driver::new(config, poll.registry(), tokens)?;
    for (t, a) in driver.local_addrs() {
        println!(
            "mio_uas: answering on {a} ({t}); SIGINT or SIGTERM prints the counters and exits"
        );
    }
    if args.transport == Transport::Udp {
        let granted = driver.stats().udp_recv_buffer;
        println!("mio_uas: UDP receive buffer granted by the kernel: {granted} bytes");
    }

    let mut app = App::new(args.pbx, &driver, Instant::now());
    driver.run(&mut poll, |driver, now, step| match step {
        Step::Event(e) => {
            app.on_event(driver, now, &e);
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

    println!("{}", app.report_at(Instant::now(), &driver));
    let s = app.stats();
    println!(
        "acks: {}, failures: {}, commands refused: {}",
        s.acks, s.failures, s.errors
    );
    println!("transport: {:?}", driver.stats());
    Ok(())
}

/// Raises the soft open-file limit to the hard limit: every TCP peer holds a descriptor,
/// and a default soft limit of 1,024 would cap the connections far below
/// `--tcp-max-connections`. A failure is reported and the app goes on.
fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) if n < 8192 => eprintln!(
            "mio_uas: open-file limit is {n}: fewer TCP connections than the default limit may fit"
        ),
        Ok(_) => {}
        Err(e) => eprintln!("mio_uas: open-file limit not raised: {e}"),
    }
}
