//! A ready-made answering user agent: the logic of the `uas` example, as a library so
//! tests can run it in-process (on a random port) against SIPp or anything else.
//!
//! It answers every INVITE with 180 Ringing, then (after `ring`) 200 OK with an SDP
//! answer; handles ACK, BYE and CANCEL (the stack does); answers OPTIONS with 200 and the
//! methods it allows, and other requests outside calls with 405 Method Not Allowed
//! (RFC 3261 §8.2.1, §11.2); answers INFO, UPDATE, MESSAGE, OPTIONS and re-INVITEs inside
//! a call with 200; and on a REFER (RFC 3515) accepts it, calls the Refer-To target,
//! reports that call's progress with NOTIFYs, then hangs that call up (there is no media
//! to bridge).
//!
//! As a test PBX ([`UasConfig::registrar`], [`UasConfig::auth`]) it also serves REGISTER
//! as a registrar (RFC 3261 §10.3, [`sip_core::registrar::Registrar`]) and demands digest
//! credentials (§22) of every REGISTER, answering 401 with `WWW-Authenticate` until they
//! are right (`stale=true` when only the nonce is stale, RFC 7616 §3.3), and of every
//! INVITE, answering 407 with `Proxy-Authenticate` (§22.3) through
//! [`IncomingCall::reject_with`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> sip_tokio::Result<()> {
//! use sip_tokio::uas::{Uas, UasConfig};
//! use sip_tokio::{Method, UserAgent};
//! let uas = Uas::start(UasConfig::new("127.0.0.1:0".parse().unwrap())).await?;
//! let caller = UserAgent::builder().udp("127.0.0.1:0").build().await?;
//! let call = caller.call(&format!("sip:service@{}", uas.local_addr())).await?;
//! assert_eq!(call.answered().await?.status(), 200);
//! call.hangup().await?;
//! let r = caller.request(Method::Options, &format!("sip:service@{}", uas.local_addr())).await?;
//! assert_eq!(r.status(), 200);
//! let report = uas.shutdown().await;
//! assert_eq!(report.calls_answered, 1);
//! assert_eq!(report.options, 1);
//! caller.shutdown().await;
//! # Ok(()) }
//! ```

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sip_core::auth::{ChallengeKind, NonceManager, UserAuth};
use sip_core::endpoint::EndpointConfig;
use sip_core::message::Method;
use sip_core::registrar::{Binding, Registrar};
use sip_core::rng::IdGenerator;
use sip_core::transport::Transport;

use crate::body::Body;
use crate::call::{Accepting, Call, CallEvent, IncomingCall};
use crate::error::Result;
use crate::request::IncomingRequest;
use crate::transfer::IncomingTransfer;
use crate::ua::UserAgent;

/// The SDP answer the UAS sends (RFC 4566; a port of 0 would reject the stream, so it
/// offers PCMU on a port nothing listens on).
pub const ANSWER_SDP: &str = "v=0\r\n\
o=sip-tokio 1 1 IN IP4 127.0.0.1\r\n\
s=-\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
m=audio 6000 RTP/AVP 0\r\n\
a=rtpmap:0 PCMU/8000\r\n";

/// How to run a [`Uas`].
#[derive(Debug, Clone)]
pub struct UasConfig {
    /// The address to bind.
    pub bind: SocketAddr,
    /// UDP or TCP.
    pub transport: Transport,
    /// How long to ring (after the 180) before answering.
    pub ring: Duration,
    /// The seed of tags and Call-IDs (random if `None`).
    pub seed: Option<u64>,
    /// Endpoint shards (see [`UserAgentBuilder::shards`](crate::UserAgentBuilder::shards)).
    pub shards: usize,
    /// The endpoint configuration (timers, limits).
    pub endpoint: EndpointConfig,
    /// How long shutdown waits for calls to end.
    pub shutdown_timeout: Duration,
    /// Serve REGISTER as a registrar (RFC 3261 §10.3) instead of answering 405.
    pub registrar: bool,
    /// `(user, password)`: REGISTERs must carry digest credentials for it (§22).
    pub auth: Option<(String, String)>,
    /// The digest realm (the bind address's host if `None`).
    pub realm: Option<String>,
}

impl UasConfig {
    /// UDP at `bind`, answering at once, one shard.
    pub fn new(bind: SocketAddr) -> Self {
        UasConfig {
            bind,
            transport: Transport::Udp,
            ring: Duration::ZERO,
            seed: None,
            shards: 1,
            endpoint: EndpointConfig::default(),
            shutdown_timeout: Duration::from_secs(2),
            registrar: false,
            auth: None,
            realm: None,
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    calls_received: AtomicU64,
    calls_answered: AtomicU64,
    calls_failed: AtomicU64,
    calls_cancelled: AtomicU64,
    calls_ended: AtomicU64,
    options: AtomicU64,
    not_allowed: AtomicU64,
    in_dialog_requests: AtomicU64,
    transfers: AtomicU64,
    transfers_succeeded: AtomicU64,
    registrations: AtomicU64,
    challenges: AtomicU64,
    auth_failures: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// What a [`Uas`] did: its own counters and the stack's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UasReport {
    /// INVITEs for new calls.
    pub calls_received: u64,
    /// Calls answered with 200 OK.
    pub calls_answered: u64,
    /// Calls that could not be answered (cancelled by the caller while ringing, or the
    /// answer refused).
    pub calls_failed: u64,
    /// Of the failed calls, those the caller cancelled.
    pub calls_cancelled: u64,
    /// Answered calls that are over (BYE either way).
    pub calls_ended: u64,
    /// OPTIONS answered outside calls.
    pub options: u64,
    /// Requests answered 405 Method Not Allowed.
    pub not_allowed: u64,
    /// Requests answered inside calls (INFO, UPDATE, re-INVITE, ...).
    pub in_dialog_requests: u64,
    /// REFERs accepted.
    pub transfers: u64,
    /// Transfers whose new call was answered.
    pub transfers_succeeded: u64,
    /// REGISTERs accepted (200) by the registrar.
    pub registrations: u64,
    /// Live bindings in the registrar.
    pub bindings: u64,
    /// Digest challenges sent (401).
    pub challenges: u64,
    /// Requests whose credentials were wrong (bad password, user, realm or uri).
    pub auth_failures: u64,
    /// Retransmissions the stack sent (requests and responses).
    pub retransmissions: u64,
    /// Retransmitted requests the stack absorbed.
    pub absorbed_retransmissions: u64,
    /// Received messages that did not parse.
    pub parse_errors: u64,
    /// Messages the stack received.
    pub messages_received: u64,
}

impl fmt::Display for UasReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "calls received:        {}", self.calls_received)?;
        writeln!(f, "calls answered:        {}", self.calls_answered)?;
        writeln!(
            f,
            "calls failed:          {} ({} cancelled)",
            self.calls_failed, self.calls_cancelled
        )?;
        writeln!(f, "calls ended:           {}", self.calls_ended)?;
        writeln!(f, "OPTIONS answered:      {}", self.options)?;
        writeln!(f, "405 answers:           {}", self.not_allowed)?;
        writeln!(f, "in-dialog requests:    {}", self.in_dialog_requests)?;
        writeln!(
            f,
            "transfers:             {} ({} succeeded)",
            self.transfers, self.transfers_succeeded
        )?;
        writeln!(
            f,
            "registrations:         {} ({} bindings)",
            self.registrations, self.bindings
        )?;
        writeln!(f, "challenges sent:       {}", self.challenges)?;
        writeln!(f, "auth failures:         {}", self.auth_failures)?;
        writeln!(f, "messages received:     {}", self.messages_received)?;
        writeln!(f, "retransmissions sent:  {}", self.retransmissions)?;
        writeln!(
            f,
            "retransmissions absorbed: {}",
            self.absorbed_retransmissions
        )?;
        write!(f, "parse errors:          {}", self.parse_errors)
    }
}

/// The PBX side: the registrar and the digest check, shared by the request tasks.
#[derive(Debug)]
struct Pbx {
    registrar: Option<Registrar>,
    auth: Option<UserAuth>,
}

impl Pbx {
    fn new(config: &UasConfig, epoch: Instant) -> Pbx {
        let auth = config.auth.as_ref().map(|(user, password)| {
            // The nonce key: from the seed, or from the process's hash randomness.
            let seed = config.seed.unwrap_or_else(|| {
                use std::hash::BuildHasher;
                std::collections::hash_map::RandomState::new().hash_one(epoch)
            });
            let mut ids = IdGenerator::new(seed ^ 0x6e6f_6e63_655f_6b65);
            let realm = config
                .realm
                .clone()
                .unwrap_or_else(|| config.bind.ip().to_string());
            UserAuth::new(user, password, &realm, NonceManager::new(&mut ids, epoch))
        });
        Pbx {
            registrar: config.registrar.then(Registrar::new),
            auth,
        }
    }
}

fn lock(pbx: &Mutex<Pbx>) -> std::sync::MutexGuard<'_, Pbx> {
    pbx.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running answering user agent. See the [module docs](self).
#[derive(Debug)]
pub struct Uas {
    ua: UserAgent,
    counters: Arc<Counters>,
    pbx: Arc<Mutex<Pbx>>,
    local: SocketAddr,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Uas {
    /// Binds and starts answering.
    pub async fn start(config: UasConfig) -> Result<Uas> {
        let mut b = UserAgent::builder()
            .shards(config.shards)
            .endpoint_config(config.endpoint.clone())
            .shutdown_timeout(config.shutdown_timeout)
            .identity(format!("<sip:uas@{}>", config.bind));
        b = match config.transport {
            Transport::Tcp => b.tcp(config.bind.to_string()),
            _ => b.udp(config.bind.to_string()),
        };
        if let Some(seed) = config.seed {
            b = b.seed(seed);
        }
        let ua = b.build().await?;
        let local = ua.local_addrs().first().map_or(config.bind, |(_, a)| *a);
        let counters = Arc::new(Counters::default());
        let pbx = Arc::new(Mutex::new(Pbx::new(&config, Instant::now())));
        let mut calls = ua.incoming();
        let mut requests = ua.incoming_requests();
        let (u, c, ring, p) = (ua.clone(), counters.clone(), config.ring, pbx.clone());
        let calls_task = tokio::spawn(async move {
            while let Some(inc) = calls.next().await {
                bump(&c.calls_received);
                // As a PBX with --auth, an INVITE must carry proxy credentials (§22.3).
                let refused = {
                    let mut pbx = lock(&p);
                    pbx.auth
                        .as_mut()
                        .map(|a| a.check(Instant::now(), inc.request(), ChallengeKind::Proxy))
                };
                if let Some(Err(refused)) = refused {
                    bump(&c.challenges);
                    if refused.wrong_credentials {
                        bump(&c.auth_failures);
                    }
                    let rows: Vec<(&str, &str)> = refused
                        .challenges
                        .iter()
                        .map(|v| ("Proxy-Authenticate", v.as_str()))
                        .collect();
                    let _ = inc.reject_with(407, &rows).await;
                    continue;
                }
                if ring.is_zero() {
                    // 180 and 200 go to the driver together; one task per call waits for
                    // the answer and then serves the call.
                    let accepting = inc.ring_and_accept(Some(Body::sdp(ANSWER_SDP)));
                    tokio::spawn(answer_and_serve(u.clone(), c.clone(), accepting));
                } else {
                    tokio::spawn(answer(u.clone(), c.clone(), inc, ring));
                }
            }
        });
        let (c, p) = (counters.clone(), pbx.clone());
        let requests_task = tokio::spawn(async move {
            while let Some(req) = requests.next().await {
                tokio::spawn(out_of_dialog(c.clone(), p.clone(), req));
            }
        });
        Ok(Uas {
            ua,
            counters,
            pbx,
            local,
            tasks: vec![calls_task, requests_task],
        })
    }

    /// The bound address (with the actual port).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The user agent underneath.
    pub fn user_agent(&self) -> &UserAgent {
        &self.ua
    }

    /// The live bindings the registrar holds for `aor` (RFC 3261 §10.3), best q first;
    /// empty without [`UasConfig::registrar`].
    pub fn bindings(&self, aor: &str) -> Vec<Binding> {
        lock(&self.pbx)
            .registrar
            .as_ref()
            .map(|r| r.lookup(Instant::now(), aor))
            .unwrap_or_default()
    }

    /// The counters now.
    pub async fn report(&self) -> UasReport {
        let bindings = {
            let mut p = lock(&self.pbx);
            p.registrar.as_mut().map_or(0, |r| {
                r.expire(Instant::now());
                r.len() as u64
            })
        };
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut r = UasReport {
            calls_received: get(&c.calls_received),
            calls_answered: get(&c.calls_answered),
            calls_failed: get(&c.calls_failed),
            calls_cancelled: get(&c.calls_cancelled),
            calls_ended: get(&c.calls_ended),
            options: get(&c.options),
            not_allowed: get(&c.not_allowed),
            in_dialog_requests: get(&c.in_dialog_requests),
            transfers: get(&c.transfers),
            transfers_succeeded: get(&c.transfers_succeeded),
            registrations: get(&c.registrations),
            bindings,
            challenges: get(&c.challenges),
            auth_failures: get(&c.auth_failures),
            ..UasReport::default()
        };
        if let Ok(s) = self.ua.stats().await {
            r.retransmissions = s.endpoint.retransmissions;
            r.absorbed_retransmissions = s.endpoint.absorbed_retransmissions;
            r.parse_errors = s.endpoint.parse_errors;
            r.messages_received = s.endpoint.received;
        }
        r
    }

    /// Shuts the user agent down gracefully (see [`UserAgent::shutdown`]) and returns the
    /// final counters.
    pub async fn shutdown(self) -> UasReport {
        let report = self.report().await;
        self.ua.shutdown().await;
        for t in &self.tasks {
            t.abort();
        }
        report
    }
}

/// One incoming call: ring, answer, serve its events until it ends.
async fn answer(ua: UserAgent, c: Arc<Counters>, inc: IncomingCall, ring: Duration) {
    if inc.ringing().await.is_err() {
        return fail(&c, &inc);
    }
    if !ring.is_zero() {
        tokio::select! {
            _ = tokio::time::sleep(ring) => {}
            _ = inc.cancelled() => {}
        }
    }
    let cancelled = inc.is_cancelled();
    let call = match inc.accept(Some(Body::sdp(ANSWER_SDP))).await {
        Ok(call) => call,
        Err(e) => return answer_refused(&c, &e, cancelled),
    };
    bump(&c.calls_answered);
    // The answering future is large (it holds the INVITE); the call is served by a
    // small task of its own for as long as it lasts.
    tokio::spawn(serve(ua, c, call));
}

/// Serves an answered call's events until it ends.
async fn serve(ua: UserAgent, c: Arc<Counters>, mut call: Call) {
    while let Some(ev) = call.next_event().await {
        on_call_event(&ua, &c, ev);
    }
    // No more events: the call is over.
    bump(&c.calls_ended);
}

/// A call answered without ringing delay: waits for the 200 to be sent, then serves the
/// call's events until it ends. The loop of [`serve`] is written out rather than awaited,
/// so the task stays small (it lives as long as the call).
async fn answer_and_serve(ua: UserAgent, c: Arc<Counters>, accepting: Accepting) {
    let mut call = match accepting.await {
        Ok(call) => call,
        Err(e) => {
            let cancelled = matches!(e, crate::Error::CallEnded(_));
            return answer_refused(&c, &e, cancelled);
        }
    };
    bump(&c.calls_answered);
    while let Some(ev) = call.next_event().await {
        on_call_event(&ua, &c, ev);
    }
    bump(&c.calls_ended);
}

/// An in-dialog request or a transfer: each is handled by a task of its own.
fn on_call_event(ua: &UserAgent, c: &Arc<Counters>, ev: CallEvent) {
    match ev {
        CallEvent::Request(r) => {
            bump(&c.in_dialog_requests);
            tokio::spawn(in_dialog(r));
        }
        CallEvent::Transfer(t) => {
            tokio::spawn(transfer(ua.clone(), c.clone(), t));
        }
    }
}

/// The 200 was refused: the call failed, cancelled by the caller or for `e`.
fn answer_refused(c: &Counters, e: &crate::Error, cancelled: bool) {
    bump(&c.calls_failed);
    if cancelled {
        bump(&c.calls_cancelled);
    } else {
        tracing::debug!(error = %e, "answer refused");
    }
}

fn fail(c: &Counters, inc: &IncomingCall) {
    bump(&c.calls_failed);
    if inc.is_cancelled() {
        bump(&c.calls_cancelled);
    }
}

async fn in_dialog(r: IncomingRequest) {
    let res = if *r.method() == Method::Invite {
        r.response(200)
            .body("application/sdp", ANSWER_SDP)
            .send()
            .await
    } else {
        r.respond(200).await
    };
    if let Err(e) = res {
        tracing::debug!(error = %e, "in-dialog answer refused");
    }
}

/// Accepts a REFER, calls the target and reports how that call goes.
async fn transfer(ua: UserAgent, c: Arc<Counters>, mut t: IncomingTransfer) {
    if t.accept().await.is_err() {
        return;
    }
    bump(&c.transfers);
    let mut call = match ua.call(t.target()).await {
        Ok(call) => call,
        Err(e) => {
            tracing::debug!(error = %e, target = t.target(), "transfer target not callable");
            let _ = t.notify(503).await;
            return;
        }
    };
    while let Some(p) = call.progress().await {
        if p.status() > 100 {
            let _ = t.notify(p.status()).await;
        }
    }
    let status = match call.answered().await {
        Ok(ok) => ok.status(),
        Err(crate::Error::CallEnded(sip_core::dialog::EndReason::Rejected(s))) => s,
        Err(_) => 503,
    };
    if (200..300).contains(&status) {
        bump(&c.transfers_succeeded);
    }
    let _ = t.notify(status).await;
    // No media to bridge: the new call has served its purpose.
    let _ = call.hangup().await;
}

/// A REGISTER when the PBX has a registrar: challenged (401) unless authenticated, then
/// bound (RFC 3261 §10.3), with the registrar's answer's Contact and Min-Expires rows.
async fn register(c: &Counters, pbx: &Mutex<Pbx>, req: IncomingRequest) -> Result<()> {
    let now = Instant::now();
    let (status, headers) = {
        let mut p = lock(pbx);
        let p = &mut *p;
        let checked = p
            .auth
            .as_mut()
            .map_or(Ok(()), |a| a.check(now, req.request(), ChallengeKind::Www));
        match (checked, p.registrar.as_mut()) {
            (Err(refused), _) => {
                bump(&c.challenges);
                if refused.wrong_credentials {
                    bump(&c.auth_failures);
                }
                let h = refused.challenges.into_iter();
                (401, h.map(|v| ("WWW-Authenticate", v)).collect())
            }
            (Ok(()), Some(registrar)) => match registrar.respond(now, req.request(), "pbx") {
                Ok(resp) => {
                    let rows = ["Contact", "Min-Expires"]
                        .into_iter()
                        .flat_map(|n| resp.headers().get_all(n).map(move |v| (n, v.to_owned())));
                    (resp.status(), rows.collect::<Vec<_>>())
                }
                Err(e) => {
                    tracing::debug!(error = %e, "registrar answer not built");
                    (500, Vec::new())
                }
            },
            (Ok(()), None) => (500, Vec::new()),
        }
    };
    if status == 200 {
        bump(&c.registrations);
    }
    let mut reply = req.response(status);
    for (n, v) in &headers {
        reply = reply.header(n, v);
    }
    reply.send().await
}

async fn out_of_dialog(c: Arc<Counters>, pbx: Arc<Mutex<Pbx>>, req: IncomingRequest) {
    let registrar = *req.method() == Method::Register && lock(&pbx).registrar.is_some();
    let res = if registrar {
        register(&c, &pbx, req).await
    } else {
        // The core's policy: 200 with Allow and Accept to OPTIONS, 405 to the rest.
        match req.method() {
            Method::Options => bump(&c.options),
            _ => bump(&c.not_allowed),
        }
        req.decline().await.map(drop)
    };
    if let Err(e) = res {
        tracing::debug!(error = %e, "answer refused");
    }
}
