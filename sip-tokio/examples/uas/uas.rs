//! A user agent that answers every call: 180 Ringing, then 200 OK with an SDP answer.
//!
//! ```text
//! cargo run --release -p sip-tokio --example uas -- --bind 127.0.0.1:5060 [--transport udp|tcp|tls|ws|wss]
//!     [--cert PEM --key PEM] [--ring-ms N] [--shards N]
//!     [--threads N] [--registrar] [--auth user:password]... [--realm R]
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
//! The `--tcp-*` flags set what TCP peers may hold (the core's
//! [`StreamLimits`](sip_core::transport::limits::StreamLimits), whose defaults are meant
//! for the open internet). At start the process raises its open-file limit to the hard
//! limit, so it can hold as many connections as the system lets it.
//!
//! `--threads` sets the tokio runtime's worker threads; it defaults to the number of
//! `--shards`. With one (the default) everything runs on the main thread, on a
//! current-thread runtime: no cross-thread wake-ups, which is what costs most on a
//! loaded machine. With more, a multi-thread runtime of that many workers runs the shards
//! side by side.
//!
//! As a test PBX: `--registrar` serves REGISTER (RFC 3261 §10.3) instead of leaving it to
//! the core (405); `--auth` demands digest credentials of every REGISTER (401 with
//! `WWW-Authenticate`, §22) and every INVITE (407 with `Proxy-Authenticate`), in realm
//! `--realm` (default: the bind host). `--auth` may be repeated, one user each; a user may
//! register only their own address of record, `user@realm` (else 403, §10.3 step 4).
//! Registrations, challenges and authentication failures are printed with the other
//! counters.
//!
//! The stack handles ACK, BYE and CANCEL and answers OPTIONS and methods nobody serves
//! (the core's 200 with Allow and Accept, and 405); REFER is accepted, the target called
//! and its progress reported with NOTIFY. On SIGINT or SIGTERM it prints its counters
//! (calls answered and failed, retransmissions, parse errors) and exits 0. The PBX's
//! decisions are [`sip_pbx::Pbx`]'s, the same as sip-mio's `mio_uas`; `tokio_pbx.rs` carries
//! them out over sip-tokio's public API.

#[path = "tokio_pbx.rs"]
mod app;

use std::process::ExitCode;

use app::{Uas, UasConfig};

/// The usage line: the PBX flags both drivers' apps share (`sip_pbx::cli`), and this
/// driver's own.
fn usage() -> String {
    format!(
        "usage: uas {} [--shards N] [--threads N] {}",
        sip_pbx::cli::USAGE,
        sip_pbx::cli::TCP_USAGE
    )
}

/// The configuration and the number of runtime threads.
fn parse_args() -> Result<(UasConfig, usize), String> {
    let args = sip_pbx::cli::parse(std::env::args().skip(1), &["--shards", "--threads"])?;
    let mut config = UasConfig::new(args.bind);
    config.transport = args.transport;
    if let Some(files) = &args.tls {
        let tls =
            sip_tokio::TlsConfig::server(&files.cert, &files.key).map_err(|e| e.to_string())?;
        config.tls = Some(tls);
    }
    config.ring = args.pbx.ring;
    config.registrar = args.pbx.registrar;
    config.auth = args.pbx.auth;
    config.realm = Some(args.pbx.realm);
    config.tcp_limits = args.tcp;
    config.udp_recv_buffer = args.udp_recv_buffer;
    config.endpoint.dialog_guard = args.dialog_guard;
    config.endpoint.session_timers = args.session_timers;
    config.endpoint.reliable_provisionals = args.reliable_provisionals;
    if let Some(n) = args.max_transactions {
        config.endpoint.max_transactions = n;
    }
    if let Some(n) = args.max_lingering {
        config.endpoint.max_lingering_transactions = n;
    }
    let mut threads = None;
    for (flag, value) in &args.own {
        let n: usize = value.parse().map_err(|e| format!("{flag}: {e}"))?;
        match flag.as_str() {
            "--shards" => config.shards = n,
            _ => threads = Some(n),
        }
    }
    let threads = threads.unwrap_or(config.shards).max(1);
    Ok((config, threads))
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
    let config = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("uas: {e}");
            }
            eprintln!("{}", usage());
            return ExitCode::from(2);
        }
    };
    let (config, threads) = config;
    raise_open_file_limit();
    // One thread: a current-thread runtime, where waking a task is a queue push rather
    // than a cross-thread wake-up (futex, eventfd) as on a multi-thread runtime.
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("uas: no runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(config))
}

async fn run(config: UasConfig) -> ExitCode {
    // Listen for the signals before anything else, so one sent right after the start
    // is not fatal.
    let signals = match Signals::install() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("uas: cannot wait for signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    let transport = config.transport;
    let uas = match Uas::start(config).await {
        Ok(u) => u,
        Err(e) => {
            eprintln!("uas: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "uas: answering on {} ({transport}); SIGINT or SIGTERM prints the counters and exits",
        uas.local_addr()
    );
    if transport == sip_core::transport::Transport::Udp {
        let granted = uas.transport_stats().await.udp_recv_buffer;
        println!("uas: UDP receive buffer granted by the kernel: {granted} bytes");
    }
    signals.wait().await;
    let transport = uas.transport_stats().await;
    let report = uas.shutdown().await;
    println!("{report}");
    println!("transport: {transport:?}");
    ExitCode::SUCCESS
}

/// Raises the soft open-file limit to the hard limit: every TCP peer holds a descriptor,
/// and a default soft limit of 1,024 would cap the connections far below
/// `--tcp-max-connections`. A failure is reported and the app goes on.
fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) if n < 8192 => eprintln!(
            "uas: open-file limit is {n}: fewer TCP connections than the default limit may fit"
        ),
        Ok(_) => {}
        Err(e) => eprintln!("uas: open-file limit not raised: {e}"),
    }
}

/// SIGINT and SIGTERM (Ctrl-C elsewhere).
struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                int: signal(SignalKind::interrupt())?,
                term: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Signals {})
        }
    }

    async fn wait(mut self) {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.int.recv() => {}
                _ = self.term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
