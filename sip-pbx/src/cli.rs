//! The command line both drivers' PBX apps take — `--bind --transport --ring-ms --registrar
//! --auth --realm`, plus flags of their own — parsed once, so the two accept the same.

use std::net::SocketAddr;
use std::time::Duration;

use sip_core::dialog::{DialogGuard, ReliableProvisionals, SessionTimers};
use sip_core::transport::Transport;
use sip_core::transport::limits::StreamLimits;

use crate::PbxConfig;

/// The common usage text (an app appends its own flags).
pub const USAGE: &str = "--bind <ip:port> [--transport udp|tcp|tls|ws|wss] [--cert PEM --key PEM] \
                         [--ring-ms N] [--registrar] \
                         [--auth user:password]... [--realm R] [--recv-buffer BYTES] \
                         [--max-call-secs N] [--idle-call-secs N] [--max-transactions N] \
                         [--max-lingering N] [--session-expires N] [--min-se N] \
                         [--no-session-timers] [--prefer-100rel] [--no-100rel]";

/// The TCP limit flags (each sets one field of [`StreamLimits`]; unset ones keep its
/// defaults, which are meant for the open internet).
pub const TCP_USAGE: &str = "[--tcp-max-connections N] [--tcp-max-per-source N] \
                             [--tcp-message-timeout-ms N] [--tcp-idle-timeout-ms N] \
                             [--tcp-max-queue BYTES] [--tcp-max-queue-total BYTES] \
                             [--tcp-handshake-timeout-ms N]";

/// What the command line asked for.
#[derive(Debug, Clone)]
pub struct Args {
    /// The address to bind.
    pub bind: SocketAddr,
    /// UDP (the default), TCP or TLS.
    pub transport: Transport,
    /// With `--transport tls`: the server certificate chain and key, PEM files
    /// (`--cert PEM --key PEM`, both required then).
    pub tls: Option<TlsFiles>,
    /// The PBX's behaviour; the realm defaults to the bind address's host.
    pub pbx: PbxConfig,
    /// The app's own flags (those named in `own`), with their values, in order.
    pub own: Vec<(String, String)>,
    /// What TCP peers may hold ([`TCP_USAGE`] flags).
    pub tcp: StreamLimits,
    /// `SO_RCVBUF` to ask for on the UDP socket (`--recv-buffer BYTES`, default
    /// [`UDP_RECV_BUFFER`](sip_core::transport::UDP_RECV_BUFFER); 0 keeps the system's).
    pub udp_recv_buffer: Option<usize>,
    /// The dialog lifetime guard for the endpoint (`EndpointConfig::dialog_guard`):
    /// `--max-call-secs N` (0: no limit; default 12 h) and `--idle-call-secs N` (0, the
    /// default: no idle limit).
    pub dialog_guard: DialogGuard,
    /// `--max-transactions N` (`EndpointConfig::max_transactions`: transactions at work)
    /// and `--max-lingering N` (`max_lingering_transactions`); `None` keeps the core's.
    pub max_transactions: Option<usize>,
    /// See [`Args::max_transactions`].
    pub max_lingering: Option<usize>,
    /// Session timers (RFC 4028, `EndpointConfig::session_timers`): the PBX's choice
    /// ([`crate::session_timers`]: on, Min-SE 90) unless `--session-expires N`,
    /// `--min-se N` or `--no-session-timers` say otherwise.
    pub session_timers: SessionTimers,
    /// Reliable provisional responses (RFC 3262, `EndpointConfig::reliable_provisionals`):
    /// the PBX's choice ([`crate::reliable_provisionals`]: reliable when the INVITE requires
    /// them) unless `--prefer-100rel` (also when it supports them) or `--no-100rel` (never:
    /// `Require: 100rel` gets 420).
    pub reliable_provisionals: ReliableProvisionals,
}

/// The PEM files a TLS listener serves with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: std::path::PathBuf,
    /// The private key.
    pub key: std::path::PathBuf,
}

/// Parses `args` (without the program name). `own` names flags of the app that take a
/// value; anything else unknown is an error. `Err("")` asks for the usage (`-h`).
///
/// ```
/// let a = sip_pbx::cli::parse(
///     ["--bind", "127.0.0.1:5060", "--ring-ms", "200", "--shards", "2", "--auth", "u:p"].map(String::from),
///     &["--shards"],
/// )
/// .unwrap();
/// assert_eq!(a.pbx.ring.as_millis(), 200);
/// assert_eq!(a.pbx.realm, "127.0.0.1");
/// assert_eq!(a.pbx.auth, [("u".into(), "p".into())]);
/// // `--auth` may be repeated, one user each.
/// let two = sip_pbx::cli::parse(
///     ["--bind", "127.0.0.1:5060", "--auth", "alice:a", "--auth", "bob:b"].map(String::from),
///     &[],
/// )
/// .unwrap();
/// assert_eq!(two.pbx.auth.len(), 2);
/// assert_eq!(a.own, [("--shards".to_string(), "2".to_string())]);
/// assert_eq!(a.dialog_guard, sip_core::dialog::DialogGuard::default());
/// let g = sip_pbx::cli::parse(
///     ["--bind", "127.0.0.1:5060", "--max-call-secs", "0", "--idle-call-secs", "300"].map(String::from),
///     &[],
/// )
/// .unwrap()
/// .dialog_guard;
/// assert_eq!((g.max_duration, g.idle.map(|d| d.as_secs())), (None, Some(300)));
/// // Session timers are on with Min-SE 90 unless switched off.
/// assert_eq!(a.session_timers.min_se, 90);
/// assert!(a.session_timers.enabled);
/// let off = sip_pbx::cli::parse(
///     ["--bind", "127.0.0.1:5060", "--no-session-timers"].map(String::from),
///     &[],
/// )
/// .unwrap();
/// assert!(!off.session_timers.enabled);
/// assert!(sip_pbx::cli::parse(["--bind".to_string()], &[]).is_err());
/// ```
pub fn parse(args: impl IntoIterator<Item = String>, own: &[&str]) -> Result<Args, String> {
    let mut args = args.into_iter();
    let mut bind: Option<SocketAddr> = None;
    let mut transport = Transport::Udp;
    let mut pbx = PbxConfig::default();
    let mut realm = None;
    let mut mine = Vec::new();
    let mut tcp = StreamLimits::default();
    let mut udp_recv_buffer = Some(sip_core::transport::UDP_RECV_BUFFER);
    let mut dialog_guard = DialogGuard::default();
    let (mut max_transactions, mut max_lingering) = (None, None);
    let (mut cert, mut key) = (None, None);
    let mut session_timers = crate::session_timers();
    let mut reliable_provisionals = crate::reliable_provisionals();
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--bind" => bind = Some(value()?.parse().map_err(|e| format!("--bind: {e}"))?),
            "--transport" => {
                transport = match value()?.as_str() {
                    "udp" => Transport::Udp,
                    "tcp" => Transport::Tcp,
                    "tls" => Transport::Tls,
                    "ws" => Transport::Ws,
                    "wss" => Transport::Wss,
                    other => {
                        return Err(format!(
                            "--transport: {other:?} is not udp, tcp, tls, ws or wss"
                        ));
                    }
                }
            }
            "--cert" => cert = Some(value()?.into()),
            "--key" => key = Some(value()?.into()),
            "--ring-ms" => {
                let ms = value()?.parse().map_err(|e| format!("--ring-ms: {e}"))?;
                pbx.ring = Duration::from_millis(ms);
            }
            "--registrar" => pbx.registrar = true,
            "--auth" => {
                let v = value()?;
                let (user, password) = v.split_once(':').ok_or("--auth: user:password")?;
                pbx.auth.push((user.to_owned(), password.to_owned()));
            }
            "--realm" => realm = Some(value()?),
            "--recv-buffer" => {
                let n: usize = value()?
                    .parse()
                    .map_err(|e| format!("--recv-buffer: {e}"))?;
                udp_recv_buffer = (n > 0).then_some(n);
            }
            "--max-transactions" | "--max-lingering" => {
                let n: usize = value()?.parse().map_err(|e| format!("{a}: {e}"))?;
                if a == "--max-transactions" {
                    max_transactions = Some(n);
                } else {
                    max_lingering = Some(n);
                }
            }
            "--max-call-secs" | "--idle-call-secs" => {
                let secs: u64 = value()?.parse().map_err(|e| format!("{a}: {e}"))?;
                let limit = (secs > 0).then(|| Duration::from_secs(secs));
                if a == "--max-call-secs" {
                    dialog_guard.max_duration = limit;
                } else {
                    dialog_guard.idle = limit;
                }
            }
            "--session-expires" | "--min-se" => {
                let secs: u32 = value()?.parse().map_err(|e| format!("{a}: {e}"))?;
                let (mut se, mut min) = (session_timers.session_expires, session_timers.min_se);
                if a == "--min-se" {
                    min = secs;
                } else {
                    se = secs;
                }
                session_timers = SessionTimers::on(se, min);
            }
            "--no-session-timers" => session_timers = SessionTimers::OFF,
            "--prefer-100rel" => reliable_provisionals = ReliableProvisionals::Preferred,
            "--no-100rel" => reliable_provisionals = ReliableProvisionals::Off,
            "-h" | "--help" => return Err(String::new()),
            flag if own.contains(&flag) => {
                let v = value()?;
                mine.push((a, v));
            }
            flag if flag.starts_with("--tcp-") => tcp_flag(&mut tcp, flag, &value()?)?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let bind = bind.ok_or("--bind is required")?;
    let tls = match (transport, cert, key) {
        (Transport::Tls | Transport::Wss, Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        (Transport::Tls | Transport::Wss, _, _) => {
            return Err(format!("--transport {transport} needs --cert and --key").to_lowercase());
        }
        (_, None, None) => None,
        _ => return Err("--cert and --key go with --transport tls or wss".into()),
    };
    pbx.realm = realm.unwrap_or_else(|| bind.ip().to_string());
    Ok(Args {
        bind,
        transport,
        tls,
        pbx,
        own: mine,
        tcp,
        udp_recv_buffer,
        dialog_guard,
        max_transactions,
        max_lingering,
        session_timers,
        reliable_provisionals,
    })
}

/// Sets the [`StreamLimits`] field `flag` names.
fn tcp_flag(tcp: &mut StreamLimits, flag: &str, value: &str) -> Result<(), String> {
    let number = || -> Result<usize, String> { value.parse().map_err(|e| format!("{flag}: {e}")) };
    let millis = || number().map(|ms| Duration::from_millis(ms as u64));
    match flag {
        "--tcp-max-connections" => tcp.max_connections = number()?,
        "--tcp-max-per-source" => tcp.max_connections_per_source = number()?,
        "--tcp-message-timeout-ms" => tcp.message_deadline = millis()?,
        "--tcp-idle-timeout-ms" => tcp.idle_timeout = millis()?,
        "--tcp-max-queue" => tcp.max_output_per_connection = number()?,
        "--tcp-max-queue-total" => tcp.max_output_total = number()?,
        "--tcp-handshake-timeout-ms" => tcp.handshake_deadline = millis()?,
        other => return Err(format!("unknown argument {other:?}")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Result<Args, String> {
        parse(v.iter().map(|s| s.to_string()), &[])
    }

    #[test]
    fn reliable_provisionals_when_required_unless_a_flag_says_otherwise_rfc3262_s3() {
        let base = ["--bind", "127.0.0.1:5060"];
        let with = |flag: &str| {
            let mut v = base.to_vec();
            v.push(flag);
            args(&v).unwrap().reliable_provisionals
        };
        assert_eq!(
            args(&base).unwrap().reliable_provisionals,
            ReliableProvisionals::Supported
        );
        assert_eq!(with("--prefer-100rel"), ReliableProvisionals::Preferred);
        assert_eq!(with("--no-100rel"), ReliableProvisionals::Off);
    }

    #[test]
    fn tls_takes_a_certificate_and_a_key() {
        let a = args(&[
            "--bind",
            "127.0.0.1:5061",
            "--transport",
            "tls",
            "--cert",
            "c.pem",
            "--key",
            "k.pem",
        ])
        .unwrap();
        assert_eq!(a.transport, Transport::Tls);
        assert_eq!(
            a.tls,
            Some(TlsFiles {
                cert: "c.pem".into(),
                key: "k.pem".into()
            })
        );
        assert_eq!(args(&["--bind", "127.0.0.1:5060"]).unwrap().tls, None);
        let e = args(&["--bind", "127.0.0.1:5061", "--transport", "tls"]).unwrap_err();
        assert_eq!(e, "--transport tls needs --cert and --key");
        let e = args(&[
            "--bind",
            "127.0.0.1:5060",
            "--cert",
            "c.pem",
            "--key",
            "k.pem",
        ]);
        assert_eq!(
            e.unwrap_err(),
            "--cert and --key go with --transport tls or wss"
        );
        assert!(args(&["--bind", "127.0.0.1:5060", "--transport", "sctp"]).is_err());
        let ws = args(&["--bind", "127.0.0.1:8080", "--transport", "ws"]).unwrap();
        assert_eq!((ws.transport, ws.tls), (Transport::Ws, None));
        let e = args(&["--bind", "127.0.0.1:8443", "--transport", "wss"]).unwrap_err();
        assert_eq!(e, "--transport wss needs --cert and --key");
        let wss = args(&[
            "--bind",
            "127.0.0.1:8443",
            "--transport",
            "wss",
            "--cert",
            "c.pem",
            "--key",
            "k.pem",
        ])
        .unwrap();
        assert_eq!(wss.transport, Transport::Wss);
        assert!(wss.tls.is_some());
    }

    #[test]
    fn the_transaction_limits_keep_the_cores_unless_set() {
        let a = args(&["--bind", "127.0.0.1:5060"]).unwrap();
        assert_eq!((a.max_transactions, a.max_lingering), (None, None));
        let a = args(&[
            "--bind",
            "127.0.0.1:5060",
            "--max-transactions",
            "10",
            "--max-lingering",
            "20",
        ])
        .unwrap();
        assert_eq!((a.max_transactions, a.max_lingering), (Some(10), Some(20)));
        assert!(args(&["--bind", "127.0.0.1:5060", "--max-lingering", "-1"]).is_err());
    }

    #[test]
    fn the_udp_receive_buffer_defaults_to_the_drivers_and_zero_keeps_the_systems() {
        let a = args(&["--bind", "127.0.0.1:5060"]).unwrap();
        assert_eq!(
            a.udp_recv_buffer,
            Some(sip_core::transport::UDP_RECV_BUFFER)
        );
        let a = args(&["--bind", "127.0.0.1:5060", "--recv-buffer", "1048576"]).unwrap();
        assert_eq!(a.udp_recv_buffer, Some(1 << 20));
        let a = args(&["--bind", "127.0.0.1:5060", "--recv-buffer", "0"]).unwrap();
        assert_eq!(a.udp_recv_buffer, None);
        assert!(args(&["--bind", "127.0.0.1:5060", "--recv-buffer", "x"]).is_err());
    }

    #[test]
    fn tcp_limits_default_to_the_cores_and_each_flag_sets_one() {
        let a = args(&["--bind", "127.0.0.1:5060"]).unwrap();
        assert_eq!(a.tcp, StreamLimits::default());
        let a = args(&[
            "--bind",
            "127.0.0.1:5060",
            "--tcp-max-connections",
            "100",
            "--tcp-max-per-source",
            "5",
            "--tcp-message-timeout-ms",
            "1500",
            "--tcp-idle-timeout-ms",
            "60000",
            "--tcp-max-queue",
            "65536",
            "--tcp-max-queue-total",
            "1048576",
        ])
        .unwrap();
        let want = StreamLimits {
            max_connections: 100,
            max_connections_per_source: 5,
            message_deadline: Duration::from_millis(1500),
            idle_timeout: Duration::from_secs(60),
            max_output_per_connection: 65536,
            max_output_total: 1 << 20,
            ..Default::default()
        };
        assert_eq!(a.tcp, want);
        assert!(args(&["--bind", "127.0.0.1:5060", "--tcp-max-queue", "lots"]).is_err());
        let a = args(&[
            "--bind",
            "127.0.0.1:5060",
            "--tcp-handshake-timeout-ms",
            "700",
        ])
        .unwrap();
        assert_eq!(a.tcp.handshake_deadline, Duration::from_millis(700));
        assert!(args(&["--bind", "127.0.0.1:5060", "--tcp-nonsense", "1"]).is_err());
        assert!(args(&["--bind", "127.0.0.1:5060", "--tcp-max-per-source"]).is_err());
    }
}
