//! A user agent that answers every call: 180 Ringing, then 200 OK with an SDP answer —
//! sip-tokio's `uas` on smol's executor, with the same flags and behaviour.
//!
//! ```text
//! cargo run --release -p sip-smol --example smol_uas -- --bind 127.0.0.1:5060 [--transport udp|tcp|tls|ws|wss]
//!     [--cert PEM --key PEM] [--ring-ms N] [--threads N] [--registrar] [--auth user:password]... [--realm R]
//!     [--tcp-max-connections N] [--tcp-max-per-source N] [--tcp-message-timeout-ms N]
//!     [--tcp-idle-timeout-ms N] [--tcp-max-queue BYTES] [--tcp-max-queue-total BYTES]
//!     [--tcp-handshake-timeout-ms N]
//! ```
//!
//! `--transport tls` serves SIP over TLS (RFC 3261 §26.2, `sips:`) with the certificate
//! chain and key of the PEM files `--cert` and `--key`; the `--tcp-*` limits apply to its
//! connections too, and a peer must finish the TLS handshake within
//! `--tcp-handshake-timeout-ms` (default 10,000).
//!
//! `--transport ws` serves SIP over WebSocket (RFC 7118) for browser softphones (JsSIP,
//! SIP.js: `ws://host:port`, subprotocol `sip`); `--transport wss` the same over TLS with
//! `--cert`/`--key`. The `--tcp-*` limits apply to these connections too, and the opening
//! handshake must finish within `--tcp-handshake-timeout-ms`.
//!
//! Every flag but `--threads` is `sip_pbx::cli`'s, shared with sip-tokio's `uas` and
//! sip-mio's `mio_uas`; see `uas` for what each does. `--threads N` runs the smol
//! executor on N threads (default 1: everything on the main thread, which also drives the
//! async-io reactor, so no wake-up crosses threads). At start the process raises its
//! open-file limit to the hard limit.
//!
//! The PBX's decisions are [`sip_pbx::Pbx`]'s; `smol_pbx.rs` carries them out over
//! sip-smol's public API. On SIGINT or SIGTERM it prints its counters and exits 0.

#[path = "smol_pbx.rs"]
mod app;

use std::process::ExitCode;
use std::sync::Arc;

use app::{Uas, UasConfig};
use futures_lite::StreamExt;
use smol::Executor;

/// The usage line: the PBX flags the drivers' apps share (`sip_pbx::cli`), and this
/// app's own.
fn usage() -> String {
    format!(
        "usage: smol_uas {} [--threads N] {}",
        sip_pbx::cli::USAGE,
        sip_pbx::cli::TCP_USAGE
    )
}

/// The configuration and the number of executor threads.
fn parse_args() -> Result<(UasConfig, usize), String> {
    let args = sip_pbx::cli::parse(std::env::args().skip(1), &["--threads"])?;
    let mut config = UasConfig::new(args.bind);
    config.transport = args.transport;
    if let Some(files) = &args.tls {
        let tls =
            sip_smol::TlsConfig::server(&files.cert, &files.key).map_err(|e| e.to_string())?;
        config.tls = Some(tls);
    }
    config.ring = args.pbx.ring;
    config.registrar = args.pbx.registrar;
    config.auth = args.pbx.auth;
    config.realm = Some(args.pbx.realm);
    config.tcp_limits = args.tcp;
    config.udp_recv_buffer = args.udp_recv_buffer;
    config.endpoint.dialog_guard = args.dialog_guard;
    if let Some(n) = args.max_transactions {
        config.endpoint.max_transactions = n;
    }
    if let Some(n) = args.max_lingering {
        config.endpoint.max_lingering_transactions = n;
    }
    let mut threads = 1;
    for (flag, value) in &args.own {
        threads = value.parse().map_err(|e| format!("{flag}: {e}"))?;
    }
    Ok((config, threads))
}

/// jemalloc, as the other drivers' apps use: it gives freed memory back while idle.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    // The stack's warnings (overload shedding starts, connections refused) go to stderr.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_writer(std::io::stderr)
        .init();
    let (config, threads) = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("smol_uas: {e}");
            }
            eprintln!("{}", usage());
            return ExitCode::from(2);
        }
    };
    raise_open_file_limit();
    let ex = Arc::new(Executor::new());
    // Threads beyond the main one run the executor until the process exits.
    for _ in 1..threads.max(1) {
        let ex = ex.clone();
        std::thread::spawn(move || smol::block_on(ex.run(futures_lite::future::pending::<()>())));
    }
    smol::block_on(ex.run(run(config, ex.clone())))
}

async fn run(config: UasConfig, ex: Arc<Executor<'static>>) -> ExitCode {
    // Listen for the signals before anything else, so one sent right after the start
    // is not fatal.
    let mut signals =
        match async_signal::Signals::new([async_signal::Signal::Int, async_signal::Signal::Term]) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("smol_uas: cannot wait for signals: {e}");
                return ExitCode::FAILURE;
            }
        };
    let transport = config.transport;
    let uas = match Uas::start(config, ex).await {
        Ok(u) => u,
        Err(e) => {
            eprintln!("smol_uas: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "smol_uas: answering on {} ({transport}); SIGINT or SIGTERM prints the counters and exits",
        uas.local_addr()
    );
    if transport == sip_core::transport::Transport::Udp {
        let granted = uas.transport_stats().await.udp_recv_buffer;
        println!("smol_uas: UDP receive buffer granted by the kernel: {granted} bytes");
    }
    let _ = signals.next().await;
    let transport = uas.transport_stats().await;
    let report = uas.shutdown().await;
    println!("{report}");
    println!("transport: {transport:?}");
    ExitCode::SUCCESS
}

/// Raises the soft open-file limit to the hard limit: every TCP peer holds a descriptor.
/// A failure is reported and the app goes on.
fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) if n < 8192 => eprintln!(
            "smol_uas: open-file limit is {n}: fewer TCP connections than the default limit may fit"
        ),
        Ok(_) => {}
        Err(e) => eprintln!("smol_uas: open-file limit not raised: {e}"),
    }
}
