//! Calls, answers, transfers and hangs up, and prints the call flow as a ladder diagram.
//!
//! ```text
//! cargo run -p sip-tokio --example call
//! cargo run -p sip-tokio --example call -- --to sip:bob@192.0.2.7:5060 [--bind 0.0.0.0:0] [--transport udp|tcp|tls|ws|wss] [--hold-ms 1000]
//! cargo run -p sip-tokio --example call -- --to sips:bob@192.0.2.7:5061 [--ca ca.pem]
//! cargo run -p sip-tokio --example call -- --to sip:bob@example.test [--dns-server 127.0.0.1:5353]
//! cargo run -p sip-tokio --example call -- --to sip:bob@192.0.2.7:5060 --late-offer
//! cargo run -p sip-tokio --example call -- --to ws://127.0.0.1:8080/sip
//! cargo run -p sip-tokio --example call -- --to sip:bob@example.test --server wss://edge.example.test/sip [--ca ca.pem]
//! ```
//!
//! Over WebSocket (`--transport ws|wss`, or `;transport=ws|wss` in `--to`, e.g.
//! `--to 'sip:bob@127.0.0.1:8080;transport=ws'`, RFC 7118) it connects to
//! `ws://host:port/` (`wss://` checked like TLS), with a random `.invalid` Via host as
//! browser clients do; everything comes back on that connection. A server given as a
//! WebSocket URL, `--to ws://host:port/path` (the server itself is called) or
//! `--server wss://host:port/path` with a `sip:` `--to`, is connected to with that resource
//! and host in the handshake (RFC 6455 §4.1); in-dialog requests reconnect the same way.
//!
//! Over TLS (`--transport tls`, or a `sips:` URI, RFC 3261 §26.2) the server's certificate
//! must name the URI's host (RFC 5922 §4: its IP address for an IP literal) and chain to a
//! CA of the platform's store, or of the PEM file `--ca`; otherwise the call fails at once
//! with the reason (`TLS: the server certificate ...`) and nothing is sent.
//!
//! With no arguments, three user agents run in this process on loopback: Alice calls Bob,
//! Bob answers, Alice transfers Bob to Carol with REFER, Bob calls Carol, Alice sees the
//! transfer succeed (NOTIFY with `SIP/2.0 200 OK`) and hangs up, then Bob and Carol hang
//! up. The messages the three sent are drawn as a ladder; the exit status is 0 if every
//! step went as described.
//!
//! With `--to`, it calls that URI instead, waits `--hold-ms` after the answer, hangs up,
//! and exits 0 only if the call was answered and ended cleanly. A host name in `--to` is
//! resolved as RFC 3263 says (NAPTR, SRV, A/AAAA; the next SRV target is tried on a
//! timeout, a transport error or a 503 without Retry-After), with the system's resolver
//! or the `--dns-server` given.
//!
//!
//! Alice's offers are built by the SDP helper (`sip_core::sdp::negotiate::offer`: PCMU,
//! PCMA, telephone-event) with offer/answer on (`EndpointConfig::offer_answer`), Bob
//! answers through it (`IncomingCall::accept_offer`), and the codec they agreed is
//! printed from `CallEvent::Media`. With `--late-offer` the INVITE goes without SDP and
//! the offer the peer puts in its 2xx (or reliable 1xx) is answered from the same
//! capabilities in the ACK (or PRACK) (`CallBuilder::late_offer`, RFC 3261 §13.2.1); the
//! codec agreed is printed the same way.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use sip_core::endpoint::EndpointConfig;
use sip_core::message::Uri;
use sip_core::sdp::negotiate::{self, LocalMedia, NegotiatedMedia};
use sip_core::transport::websocket::WsUrl;
use sip_sim::{Ladder, TraceEntry, TraceKind};
use sip_tokio::{Body, CallEvent, EndReason, Target, Transport, UserAgent};
use tokio::time::Instant;

const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0\r\n";
const ANSWER: &str = "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 49180 RTP/AVP 0\r\n";

/// Every message the three user agents sent, as ladder rows.
#[derive(Clone)]
struct Trace {
    start: Instant,
    entries: Arc<Mutex<Vec<TraceEntry>>>,
    last: Arc<Mutex<Instant>>,
}

impl Trace {
    fn new() -> Self {
        let start = Instant::now();
        Trace {
            start,
            entries: Arc::default(),
            last: Arc::new(Mutex::new(start)),
        }
    }

    /// A transmit hook for a user agent whose UDP address will be `me`.
    fn tap(
        &self,
        me: Arc<OnceLock<SocketAddr>>,
    ) -> impl Fn(&sip_tokio::Transmit) + Send + Sync + 'static + use<> {
        let t = self.clone();
        move |tx| {
            let now = Instant::now();
            let from = tx
                .source
                .or_else(|| me.get().copied())
                .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
            let mut entries = t.entries.lock().unwrap_or_else(|e| e.into_inner());
            let id = entries.len() as u64;
            entries.push(TraceEntry {
                at: now - t.start,
                kind: TraceKind::Delivered,
                id,
                duplicate: false,
                transport: tx.transport,
                from,
                to: tx.destination,
                first_line: label(&tx.bytes),
                len: tx.bytes.len(),
            });
            *t.last.lock().unwrap_or_else(|e| e.into_inner()) = now;
        }
    }

    /// Waits until nothing was sent for `quiet` (at most `limit`): the last responses are
    /// out.
    async fn settle(&self, quiet: Duration, limit: Duration) {
        let until = Instant::now() + limit;
        loop {
            let last = *self.last.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            if now >= until || now >= last + quiet {
                return;
            }
            tokio::time::sleep_until((last + quiet).min(until)).await;
        }
    }

    fn entries(&self) -> Vec<TraceEntry> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// A row label: the first line, except that a NOTIFY shows its sipfrag status line
/// (RFC 3515 §2.4.5) instead of its Request-URI.
fn label(bytes: &[u8]) -> String {
    let first = sip_sim::first_line(bytes);
    if first.starts_with("NOTIFY ") {
        let body = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .and_then(|i| bytes.get(i + 4..))
            .unwrap_or_default();
        let frag = sip_sim::first_line(body);
        if !frag.is_empty() {
            return format!("NOTIFY ({frag})");
        }
    }
    first
}

async fn start_ua(name: &str, seed: u64, trace: &Trace) -> sip_tokio::Result<UserAgent> {
    let me = Arc::new(OnceLock::new());
    let ua = UserAgent::builder()
        .udp("127.0.0.1:0")
        .endpoint_config(offer_answer())
        .seed(seed)
        .identity(format!("\"{}\" <sip:{name}@127.0.0.1>", capitalize(name)))
        .shutdown_grace(Duration::from_millis(100))
        .on_transmit(trace.tap(me.clone()))
        .build()
        .await?;
    if let Some(addr) = ua.local_addr(Transport::Udp) {
        let _ = me.set(addr);
    }
    Ok(ua)
}

/// The endpoint configuration with offer/answer on.
fn offer_answer() -> EndpointConfig {
    EndpointConfig {
        offer_answer: true,
        ..EndpointConfig::default()
    }
}

/// A telephone's media (PCMU, PCMA, telephone-event) at `ip:port`.
fn media(ip: std::net::IpAddr, port: u16, session: u64) -> LocalMedia {
    LocalMedia::telephone(ip, port, session)
}

/// The media agreed for a call, from its first `CallEvent::Media` (within a second).
async fn negotiated(call: &mut sip_tokio::Call) -> Result<NegotiatedMedia, String> {
    let wait = tokio::time::timeout(Duration::from_secs(1), async {
        loop {
            match call.next_event().await {
                Some(CallEvent::Media(m)) => return m.into_iter().next(),
                Some(_) => continue,
                None => return None,
            }
        }
    });
    match wait.await {
        Ok(Some(m)) => Ok(m),
        Ok(None) => Err("no stream agreed".to_owned()),
        Err(_) => Err("no offer/answer exchange completed".to_owned()),
    }
}

/// One line on the media agreed.
fn describe(m: &NegotiatedMedia) -> String {
    format!(
        "{}/{} (payload type {}{}), RTP to {}, {}",
        m.codec,
        m.clock_rate,
        m.payload_type,
        m.telephone_event
            .map(|t| format!(", telephone-event {t}"))
            .unwrap_or_default(),
        m.remote,
        m.direction.name()
    )
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The three-party demo. Returns an error message if a step did not go as described.
async fn demo() -> Result<(), String> {
    let trace = Trace::new();
    let e = |what: &'static str| move |err: sip_tokio::Error| format!("{what}: {err}");
    let alice = start_ua("alice", 1, &trace).await.map_err(e("alice"))?;
    let bob = start_ua("bob", 2, &trace).await.map_err(e("bob"))?;
    let carol = start_ua("carol", 3, &trace).await.map_err(e("carol"))?;
    let addr = |ua: &UserAgent| {
        ua.local_addr(Transport::Udp)
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)))
    };
    let (a, b, c) = (addr(&alice), addr(&bob), addr(&carol));

    // Carol answers the call Bob will place.
    let mut carol_in = carol.incoming();
    let carol_side = tokio::spawn(async move {
        let inc = carol_in.next().await.ok_or("carol: no call")?;
        inc.ringing()
            .await
            .map_err(|e| format!("carol: ringing: {e}"))?;
        let call = inc
            .accept(Some(Body::sdp(ANSWER)))
            .await
            .map_err(|e| format!("carol: accept: {e}"))?;
        Ok::<_, String>(call.ended().await)
    });

    // Bob answers Alice, then follows her transfer to Carol.
    let mut bob_in = bob.incoming();
    let bob_ua = bob.clone();
    let bob_side = tokio::spawn(async move {
        let inc = bob_in.next().await.ok_or("bob: no call")?;
        inc.ringing()
            .await
            .map_err(|e| format!("bob: ringing: {e}"))?;
        let bob_media = media([127, 0, 0, 1].into(), 49180, 2);
        let mut call = inc
            .accept_offer(&bob_media)
            .await
            .map_err(|e| format!("bob: accept: {e}"))?;
        let mut transfer = loop {
            match call.next_event().await {
                Some(CallEvent::Transfer(t)) => break t,
                Some(CallEvent::Media(_)) => continue,
                _ => return Err("bob: expected a REFER".to_owned()),
            }
        };
        transfer
            .accept()
            .await
            .map_err(|e| format!("bob: accept REFER: {e}"))?;
        let mut to_carol = bob_ua
            .call(transfer.target())
            .sdp(OFFER)
            .await
            .map_err(|e| format!("bob: call carol: {e}"))?;
        while let Some(p) = to_carol.progress().await {
            if p.status() > 100 {
                transfer
                    .notify(p.status())
                    .await
                    .map_err(|e| format!("bob: NOTIFY: {e}"))?;
            }
        }
        let ok = to_carol
            .answered()
            .await
            .map_err(|e| format!("bob: carol did not answer: {e}"))?;
        transfer
            .notify(ok.status())
            .await
            .map_err(|e| format!("bob: final NOTIFY: {e}"))?;
        // Alice hangs up once she sees the transfer succeed.
        let with_alice = call.ended().await;
        if with_alice != EndReason::RemoteBye {
            return Err(format!("bob: call with alice ended with {with_alice:?}"));
        }
        // Bob and Carol talk a moment, then hang up.
        tokio::time::sleep(Duration::from_millis(20)).await;
        to_carol
            .hangup()
            .await
            .map_err(|e| format!("bob: hang up carol: {e}"))?;
        Ok(())
    });

    let bob_uri = format!("sip:bob@{b}");
    let carol_uri = format!("sip:carol@{c}");
    let offer = negotiate::offer(&media([127, 0, 0, 1].into(), 49170, 1), 1);
    let mut call = alice
        .call(&bob_uri)
        .sdp(offer.to_bytes())
        .await
        .map_err(e("alice: call bob"))?;
    call.answered()
        .await
        .map_err(e("alice: bob did not answer"))?;
    let agreed = negotiated(&mut call)
        .await
        .map_err(|m| format!("alice: {m}"))?;
    println!("alice and bob agreed: {}", describe(&agreed));
    let transfer = call.refer(&carol_uri).await.map_err(e("alice: REFER"))?;
    let outcome = transfer.outcome().await;
    if !outcome.succeeded() {
        return Err(format!("alice: transfer failed: {outcome:?}"));
    }
    call.hangup().await.map_err(e("alice: hang up"))?;

    let joined =
        |r: Result<Result<(), String>, tokio::task::JoinError>| r.map_err(|e| e.to_string())?;
    joined(bob_side.await)?;
    let carol_end = carol_side.await.map_err(|e| e.to_string())??;
    if carol_end != EndReason::RemoteBye {
        return Err(format!("carol: call ended with {carol_end:?}"));
    }
    trace
        .settle(Duration::from_millis(100), Duration::from_secs(2))
        .await;

    println!("alice = {a}   bob = {b}   carol = {c}\n");
    let ladder = Ladder::from_trace(&trace.entries(), &[a, b, c]);
    print!("{}", ladder.to_text());
    println!(
        "\nAlice called Bob, transferred him to Carol (final NOTIFY: {}), and hung up; Bob and Carol hung up.",
        outcome.final_status.unwrap_or(0)
    );
    for ua in [alice, bob, carol] {
        ua.shutdown().await;
    }
    Ok(())
}

pub(crate) struct Remote {
    pub(crate) to: String,
    pub(crate) bind: String,
    pub(crate) transport: Transport,
    pub(crate) hold: Duration,
    /// `--register <aor-uri>`: register this AOR at the host of `--to` first.
    pub(crate) register: Option<String>,
    /// `--auth user:password`: credentials for 401/407 challenges.
    pub(crate) auth: Option<(String, String)>,
    /// `--ca PEM`: the CAs trusted for TLS instead of the platform's.
    pub(crate) ca: Option<std::path::PathBuf>,
    /// `--dns-server ip:port`: where host names are looked up (default: the system's).
    pub(crate) dns_server: Option<SocketAddr>,
    /// `--late-offer`: the INVITE carries no SDP; the peer's offer in its 2xx (or reliable
    /// 1xx) is answered in the ACK (or PRACK), RFC 3261 §13.2.1.
    pub(crate) late_offer: bool,
    /// `--server ws://host:port/path` (or a `ws://`/`wss://` `--to`): the WebSocket server
    /// the INVITE goes to, its resource requested in the handshake (RFC 7118, RFC 6455 §4.1).
    pub(crate) server: Option<WsUrl>,
}

/// `text` as a WebSocket URL (RFC 6455 §3) when it has a `ws` or `wss` scheme.
fn ws_url(text: &str) -> Result<Option<WsUrl>, String> {
    let scheme = text.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("ws" | "wss") => WsUrl::parse(text)
            .map(Some)
            .map_err(|e| format!("{text:?}: {e}")),
        _ => Ok(None),
    }
}

/// The SIP URI of a WebSocket server itself: `sip:host:port;transport=ws|wss` (RFC 7118 §7).
fn sip_uri_of(url: &WsUrl) -> String {
    let t = match url.transport() {
        Transport::Wss => "wss",
        _ => "ws",
    };
    format!("sip:{}:{};transport={t}", url.host(), url.port())
}

/// The address of a WebSocket URL's host (the first the system's resolver gives).
async fn ws_addr(url: &WsUrl) -> Result<SocketAddr, String> {
    let host = url.host().trim_start_matches('[').trim_end_matches(']');
    tokio::net::lookup_host((host, url.port()))
        .await
        .map_err(|e| format!("{url}: {e}"))?
        .next()
        .ok_or_else(|| format!("{url}: no address"))
}

pub(crate) fn parse_remote(
    mut args: impl Iterator<Item = String>,
) -> Result<Option<Remote>, String> {
    let mut to = None;
    let mut bind = "127.0.0.1:0".to_owned();
    let mut transport = None;
    let mut hold = Duration::from_millis(1000);
    let mut register = None;
    let mut auth = None;
    let mut ca = None;
    let mut dns_server = None;
    let mut late_offer = false;
    let mut server = None;
    let mut any = false;
    while let Some(a) = args.next() {
        any = true;
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--to" => to = Some(value()?),
            "--bind" => bind = value()?,
            "--transport" => {
                transport = Some(match value()?.as_str() {
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
                })
            }
            "--hold-ms" => {
                hold =
                    Duration::from_millis(value()?.parse().map_err(|e| format!("--hold-ms: {e}"))?)
            }
            "--register" => register = Some(value()?),
            "--late-offer" => late_offer = true,
            "--server" => {
                let v = value()?;
                server = Some(ws_url(&v)?.ok_or(format!("--server {v:?}: not ws:// or wss://"))?);
            }
            "--ca" => ca = Some(value()?.into()),
            "--dns-server" => {
                let v = value()?;
                dns_server = Some(v.parse().map_err(|e| format!("--dns-server {v:?}: {e}"))?);
            }
            "--auth" => {
                let v = value()?;
                let (u, p) = v.split_once(':').ok_or("--auth takes user:password")?;
                auth = Some((u.to_owned(), p.to_owned()));
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if !any {
        return Ok(None);
    }
    let to = to.ok_or("--to <sip-uri> is required with the other options")?;
    // A WebSocket URL in --to names the server, and the call goes to the server itself.
    let (to, server) = match ws_url(&to)? {
        Some(url) => (sip_uri_of(&url), Some(url)),
        None => (to, server),
    };
    let transport = server.as_ref().map(WsUrl::transport).or(transport);
    let uri_transport = Uri::parse(&to)
        .ok()
        .and_then(|u| Target::from_uri(&u).ok())
        .map(|t| t.transport);
    Ok(Some(Remote {
        to,
        bind,
        transport: transport.or(uri_transport).unwrap_or(Transport::Udp),
        hold,
        register,
        auth,
        ca,
        dns_server,
        late_offer,
        server,
    }))
}

/// Calls a remote user agent, holds, hangs up.
pub(crate) async fn remote(r: Remote) -> Result<(), String> {
    let b = UserAgent::builder().shutdown_grace(Duration::from_millis(200));
    let b = match r.transport {
        Transport::Tcp => b.tcp(r.bind.clone()),
        _ => b.udp(r.bind.clone()),
    };
    // Over TLS the connection is ours: no listener, the CAs of --ca or the platform's.
    let b = match (r.transport, &r.ca) {
        (Transport::Tls | Transport::Wss, ca) => {
            let anchors = match ca {
                Some(path) => sip_tokio::TrustAnchors::PemFile(path.clone()),
                None => sip_tokio::TrustAnchors::Platform,
            };
            let tls = sip_tokio::TlsConfig::client(anchors).map_err(|e| format!("--ca: {e}"))?;
            b.tls_config(tls)
        }
        _ => b,
    };
    let b = match &r.auth {
        Some((u, p)) => b.credentials(u, p),
        None => b,
    };
    let b = match &r.register {
        Some(aor) => b.identity(format!("<{aor}>")),
        None => b,
    };
    let b = match r.dns_server {
        Some(server) => b.dns_server(server),
        None => b,
    };
    let ua = b
        .endpoint_config(offer_answer())
        .build()
        .await
        .map_err(|e| format!("bind {}: {e}", r.bind))?;
    let uri = Uri::parse(&r.to).map_err(|e| format!("--to {:?}: {e}", r.to))?;
    // A WebSocket server is the target; an IP literal is the target itself; a host name
    // is resolved by the stack (RFC 3263).
    let target = match (&r.server, Target::from_uri(&uri)) {
        (Some(url), _) => Some(Target::websocket(url.clone(), ws_addr(url).await?)),
        (None, Ok(t)) => Some(Target {
            transport: r.transport,
            ..t
        }),
        (None, Err(sip_core::endpoint::EndpointError::UnresolvedHost)) => None,
        (None, Err(e)) => return Err(format!("--to {:?}: {e}", r.to)),
    };
    let host = uri
        .as_sip()
        .map(|s| s.host_port().to_owned())
        .unwrap_or_default();
    let registration = match &r.register {
        Some(aor) => {
            let registrar = match &target {
                Some(t) => format!("sip:{}", t.addr),
                None => format!("sip:{host}"),
            };
            let mut o = sip_tokio::RegisterOptions::new(registrar, format!("<{aor}>"), 600);
            o.target = target.clone();
            let reg = ua
                .register(o)
                .await
                .map_err(|e| format!("REGISTER not sent: {e}"))?;
            let granted = reg
                .registered()
                .await
                .map_err(|e| format!("registration: {e}"))?;
            println!("registered {aor} for {granted} s");
            Some(reg)
        }
        None => None,
    };
    println!(
        "calling {} over {} from {:?}",
        r.to,
        r.transport,
        ua.local_addrs()
    );
    let local_ip = ua
        .local_addr(r.transport)
        .map(|a| a.ip())
        .filter(|ip| !ip.is_unspecified())
        .unwrap_or_else(|| std::net::Ipv4Addr::LOCALHOST.into());
    let caps = media(local_ip, 49170, 1);
    let call = match r.late_offer {
        true => ua.call(&r.to).late_offer(caps),
        false => ua.call(&r.to).sdp(negotiate::offer(&caps, 1).to_bytes()),
    };
    let call = match target {
        Some(t) => call.target(t),
        None => call,
    };
    let mut call = call.await.map_err(|e| format!("INVITE not sent: {e}"))?;
    while let Some(p) = call.progress().await {
        println!("  <- {} {}", p.status(), p.reason());
    }
    let ok = call
        .answered()
        .await
        .map_err(|e| format!("not answered: {e}"))?;
    println!(
        "  <- {} {} (answered; holding {:?})",
        ok.status(),
        ok.reason(),
        r.hold
    );
    match negotiated(&mut call).await {
        Ok(m) => println!("  media: {}", describe(&m)),
        Err(why) => println!("  media: {why}"),
    }
    tokio::select! {
        _ = tokio::time::sleep(r.hold) => {}
        reason = call.ended() => return Err(format!("the call ended during the hold: {reason:?}")),
    }
    call.hangup()
        .await
        .map_err(|e| format!("hang-up failed: {e}"))?;
    let reason = call.ended().await;
    println!("  -> BYE (call ended: {reason:?})");
    if let Some(reg) = registration {
        reg.unregister()
            .await
            .map_err(|e| format!("unregister: {e}"))?;
        println!("unregistered");
    }
    ua.shutdown().await;
    if reason == EndReason::LocalBye {
        Ok(())
    } else {
        Err(format!("the call ended with {reason:?}"))
    }
}

fn main() -> ExitCode {
    let remote_args = match parse_remote(std::env::args().skip(1)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("call: {e}");
            eprintln!(
                "usage: call [--to <sip-uri> [--bind ip:port] [--transport udp|tcp|tls|ws|wss] [--ca PEM] [--hold-ms N] [--register <aor-uri>] [--auth user:password] [--dns-server ip:port] [--late-offer] [--server ws[s]://host:port/path]]"
            );
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("call: no runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let work = async {
            match remote_args {
                Some(r) => remote(r).await,
                None => demo().await,
            }
        };
        tokio::time::timeout(Duration::from_secs(60), work)
            .await
            .unwrap_or_else(|_| Err("gave up after 60 s".to_owned()))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("call: {e}");
            ExitCode::FAILURE
        }
    }
}
