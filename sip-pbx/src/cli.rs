//! The command line both drivers' PBX apps take — `--bind --transport --ring-ms --registrar
//! --auth --realm`, plus flags of their own — parsed once, so the two accept the same.

use std::net::SocketAddr;
use std::time::Duration;

use sip_core::dialog::DialogGuard;
use sip_core::transport::Transport;

use crate::PbxConfig;

/// The common usage text (an app appends its own flags).
pub const USAGE: &str = "--bind <ip:port> [--transport udp|tcp] [--ring-ms N] [--registrar] \
                         [--auth user:password] [--realm R] [--max-call-secs N] [--idle-call-secs N]";

/// What the command line asked for.
#[derive(Debug, Clone)]
pub struct Args {
    /// The address to bind.
    pub bind: SocketAddr,
    /// UDP (the default) or TCP.
    pub transport: Transport,
    /// The PBX's behaviour; the realm defaults to the bind address's host.
    pub pbx: PbxConfig,
    /// The app's own flags (those named in `own`), with their values, in order.
    pub own: Vec<(String, String)>,
    /// The dialog lifetime guard for the endpoint (`EndpointConfig::dialog_guard`):
    /// `--max-call-secs N` (0: no limit; default 12 h) and `--idle-call-secs N` (0, the
    /// default: no idle limit).
    pub dialog_guard: DialogGuard,
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
/// assert_eq!(a.pbx.auth, Some(("u".into(), "p".into())));
/// assert_eq!(a.own, [("--shards".to_string(), "2".to_string())]);
/// assert_eq!(a.dialog_guard, sip_core::dialog::DialogGuard::default());
/// let g = sip_pbx::cli::parse(
///     ["--bind", "127.0.0.1:5060", "--max-call-secs", "0", "--idle-call-secs", "300"].map(String::from),
///     &[],
/// )
/// .unwrap()
/// .dialog_guard;
/// assert_eq!((g.max_duration, g.idle.map(|d| d.as_secs())), (None, Some(300)));
/// assert!(sip_pbx::cli::parse(["--bind".to_string()], &[]).is_err());
/// ```
pub fn parse(args: impl IntoIterator<Item = String>, own: &[&str]) -> Result<Args, String> {
    let mut args = args.into_iter();
    let mut bind: Option<SocketAddr> = None;
    let mut transport = Transport::Udp;
    let mut pbx = PbxConfig::default();
    let mut realm = None;
    let mut mine = Vec::new();
    let mut dialog_guard = DialogGuard::default();
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--bind" => bind = Some(value()?.parse().map_err(|e| format!("--bind: {e}"))?),
            "--transport" => {
                transport = match value()?.as_str() {
                    "udp" => Transport::Udp,
                    "tcp" => Transport::Tcp,
                    other => return Err(format!("--transport: {other:?} is not udp or tcp")),
                }
            }
            "--ring-ms" => {
                let ms = value()?.parse().map_err(|e| format!("--ring-ms: {e}"))?;
                pbx.ring = Duration::from_millis(ms);
            }
            "--registrar" => pbx.registrar = true,
            "--auth" => {
                let v = value()?;
                let (user, password) = v.split_once(':').ok_or("--auth: user:password")?;
                pbx.auth = Some((user.to_owned(), password.to_owned()));
            }
            "--realm" => realm = Some(value()?),
            "--max-call-secs" | "--idle-call-secs" => {
                let secs: u64 = value()?.parse().map_err(|e| format!("{a}: {e}"))?;
                let limit = (secs > 0).then(|| Duration::from_secs(secs));
                if a == "--max-call-secs" {
                    dialog_guard.max_duration = limit;
                } else {
                    dialog_guard.idle = limit;
                }
            }
            "-h" | "--help" => return Err(String::new()),
            flag if own.contains(&flag) => {
                let v = value()?;
                mine.push((a, v));
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let bind = bind.ok_or("--bind is required")?;
    pbx.realm = realm.unwrap_or_else(|| bind.ip().to_string());
    Ok(Args {
        bind,
        transport,
        pbx,
        own: mine,
        dialog_guard,
    })
}
