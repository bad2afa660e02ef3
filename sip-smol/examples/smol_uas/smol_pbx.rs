//! The sample PBX on sip-smol: the `smol_uas` example's engine, and the in-process UAS of the
//! SIPp and registrar tests (they include this file by path, so no test depends on PBX
//! code in the library).
//!
//! Every decision is [`sip_pbx::Pbx`]'s — the same PBX as sip-tokio's `uas` and sip-mio's
//! `mio_uas` — and every SIP rule the core's: this file only hands the user agent's streams
//! to the PBX and carries out its plans over sip-smol's public API, on a smol
//! [`Executor`] the caller runs.
//!
//! * A new call: [`Pbx::on_call`] challenges it (407 with `Proxy-Authenticate`, RFC 3261
//!   §22.3) or has it answered: 180 Ringing, then after `ring` 200 OK with
//!   [`ANSWER_SDP`]; ACK, BYE and CANCEL are the stack's.
//! * Outside calls: [`Pbx::on_request`] answers REGISTER as a registrar (§10.3, digest
//!   auth with 401) or leaves the request to the core's policy
//!   ([`IncomingRequest::decline`]: OPTIONS 200 with Allow and Accept, the rest 405).
//! * Inside a call: [`Pbx::on_in_dialog`] answers (200; a re-INVITE with the SDP answer).
//! * A REFER (RFC 3515): accepted, the target called, its progress reported in NOTIFYs,
//!   then that call hung up (there is no media to bridge).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use futures_lite::future;
use smol::{Executor, Task, Timer};

use sip_core::endpoint::EndpointConfig;
use sip_core::registrar::Binding;
use sip_core::sdp::SessionDescription;
use sip_core::transport::limits::StreamLimits;
use sip_pbx::{ANSWER_SDP, CallPlan, Counters, InDialogPlan, Pbx, PbxConfig, Report, RequestPlan};
use sip_smol::transport::{TransportConfig, TransportStats};
use sip_smol::{
    Accepting, Body, Call, CallEvent, EndReason, Error, IncomingCall, IncomingRequest,
    IncomingTransfer, Result, Transport, UserAgent,
};

/// How to run a [`Uas`].
#[derive(Debug, Clone)]
pub struct UasConfig {
    /// The address to bind.
    pub bind: SocketAddr,
    /// UDP, TCP, TLS, WS or WSS.
    pub transport: Transport,
    /// The server certificate and key, with `Transport::Tls` or `Transport::Wss`.
    pub tls: Option<sip_smol::TlsConfig>,
    /// How long to ring (after the 180) before answering.
    pub ring: Duration,
    /// The seed of tags and Call-IDs, and of the nonces (random if `None`).
    pub seed: Option<u64>,
    /// The endpoint configuration (timers, limits).
    pub endpoint: EndpointConfig,
    /// How long shutdown waits for calls to end.
    pub shutdown_timeout: Duration,
    /// Serve REGISTER as a registrar (RFC 3261 §10.3) instead of leaving it to the core.
    pub registrar: bool,
    /// `(user, password)` of each user: unless empty, REGISTERs and INVITEs must carry
    /// digest credentials of one of them (§22), and each user registers only their own AOR.
    pub auth: Vec<(String, String)>,
    /// The digest realm (the bind address's host if `None`).
    pub realm: Option<String>,
    /// What TCP peers may hold (connections per source and in total, message deadline,
    /// idle timeout, output caps); the core's defaults unless set.
    pub tcp_limits: StreamLimits,
    /// `SO_RCVBUF` to ask for on the UDP socket (`None`: the system's default).
    pub udp_recv_buffer: Option<usize>,
}

impl UasConfig {
    /// UDP at `bind`, answering at once.
    pub fn new(bind: SocketAddr) -> Self {
        UasConfig {
            bind,
            transport: Transport::Udp,
            tls: None,
            ring: Duration::ZERO,
            seed: None,
            endpoint: EndpointConfig::default(),
            shutdown_timeout: Duration::from_secs(2),
            registrar: false,
            auth: Vec::new(),
            realm: None,
            tcp_limits: StreamLimits::default(),
            udp_recv_buffer: Some(sip_core::transport::UDP_RECV_BUFFER),
        }
    }
}

/// The PBX, shared by the tasks that serve calls and requests.
type Shared = Arc<Mutex<Pbx>>;

/// The executor every task of the PBX and of its user agent runs on.
type Ex = Arc<Executor<'static>>;

fn lock(pbx: &Mutex<Pbx>) -> MutexGuard<'_, Pbx> {
    pbx.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running PBX. See the [module docs](self).
#[derive(Debug)]
pub struct Uas {
    ua: UserAgent,
    pbx: Shared,
    local: SocketAddr,
    /// Dropping them stops taking calls and requests.
    tasks: Vec<Task<()>>,
}

impl Uas {
    /// Binds and starts answering, with every task on `ex` (which the caller runs).
    pub async fn start(config: UasConfig, ex: Ex) -> Result<Uas> {
        let spawner = ex.clone();
        let mut b = UserAgent::builder()
            .spawner(move |task| spawner.spawn(task).detach())
            .endpoint_config(config.endpoint.clone())
            .shutdown_timeout(config.shutdown_timeout)
            .transport_config(TransportConfig {
                tcp_limits: config.tcp_limits,
                udp_recv_buffer_size: config.udp_recv_buffer,
                tls_config: config.tls.clone(),
                ..TransportConfig::default()
            })
            .identity(format!("<sip:uas@{}>", config.bind));
        b = match config.transport {
            Transport::Tcp => b.tcp(config.bind.to_string()),
            Transport::Tls => b.tls(config.bind.to_string()),
            Transport::Ws => b.ws(config.bind.to_string()),
            Transport::Wss => b.wss(config.bind.to_string()),
            _ => b.udp(config.bind.to_string()),
        };
        if let Some(seed) = config.seed {
            b = b.seed(seed);
        }
        let ua = b.build().await?;
        let local = ua.local_addrs().first().map_or(config.bind, |(_, a)| *a);
        let pbx_config = PbxConfig {
            ring: config.ring,
            registrar: config.registrar,
            auth: config.auth.clone(),
            realm: config
                .realm
                .clone()
                .unwrap_or_else(|| config.bind.ip().to_string()),
            seed: config.seed,
            media: None,
        };
        let pbx: Shared = Arc::new(Mutex::new(Pbx::new(pbx_config, Instant::now())));
        let mut calls = ua.incoming();
        let mut requests = ua.incoming_requests();
        let (u, p) = (ua.clone(), pbx.clone());
        let e = ex.clone();
        let calls_task = ex.spawn(async move {
            while let Some(inc) = calls.next().await {
                let plan = lock(&p).on_call(Instant::now(), inc.request());
                match plan {
                    CallPlan::Challenge(challenges) => {
                        let rows: Vec<(&str, &str)> = challenges
                            .iter()
                            .map(|v| ("Proxy-Authenticate", v.as_str()))
                            .collect();
                        if let Err(e) = inc.reject_with(407, &rows).await {
                            tracing::debug!(error = %e, "challenge not sent");
                        }
                    }
                    CallPlan::Answer { ring } if ring.is_zero() => {
                        // 180 and 200 go to the driver together; one task per call waits
                        // for the answer and then serves the call.
                        let accepting = inc.ring_and_accept(Some(Body::sdp(ANSWER_SDP)));
                        let task = answer_and_serve(e.clone(), u.clone(), p.clone(), accepting);
                        e.spawn(task).detach();
                    }
                    CallPlan::Answer { ring } => {
                        e.spawn(answer(e.clone(), u.clone(), p.clone(), inc, ring))
                            .detach();
                    }
                }
            }
        });
        let p = pbx.clone();
        let e = ex.clone();
        let requests_task = ex.spawn(async move {
            while let Some(req) = requests.next().await {
                let plan = lock(&p).on_request(Instant::now(), req.request());
                e.spawn(out_of_dialog(req, plan)).detach();
            }
        });
        Ok(Uas {
            ua,
            pbx,
            local,
            tasks: vec![calls_task, requests_task],
        })
    }

    /// The bound address (with the actual port).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The live bindings the registrar holds for `aor` (RFC 3261 §10.3), best q first;
    /// empty without [`UasConfig::registrar`].
    #[allow(dead_code)] // for the registrar tests; the binary does not ask
    pub fn bindings(&self, aor: &str) -> Vec<Binding> {
        lock(&self.pbx).bindings(Instant::now(), aor)
    }

    /// The counters now: the PBX's and the stack's.
    pub async fn report(&self) -> Report {
        let report = lock(&self.pbx).report_at(Instant::now());
        match self.ua.stats().await {
            Ok(s) => report.with_stack(s.endpoint),
            Err(_) => report,
        }
    }

    /// The transport counters now (connections refused and closed by each TCP limit
    /// among them).
    pub async fn transport_stats(&self) -> TransportStats {
        self.ua
            .stats()
            .await
            .map(|s| s.transport)
            .unwrap_or_default()
    }

    /// Shuts the user agent down gracefully (see [`UserAgent::shutdown`]) and returns the
    /// final counters.
    pub async fn shutdown(self) -> Report {
        let report = self.report().await;
        self.ua.shutdown().await;
        drop(self.tasks);
        report
    }
}

fn counters(pbx: &Mutex<Pbx>) -> Arc<Counters> {
    lock(pbx).counters()
}

/// One incoming call: ring, wait `ring` (unless the caller cancels), answer, then serve
/// its events in a task of its own.
async fn answer(ex: Ex, ua: UserAgent, pbx: Shared, inc: IncomingCall, ring: Duration) {
    let c = counters(&pbx);
    if inc.ringing().await.is_err() {
        return c.failed(inc.is_cancelled());
    }
    future::or(
        async {
            Timer::after(ring).await;
        },
        async {
            inc.cancelled().await;
        },
    )
    .await;
    let cancelled = inc.is_cancelled();
    let call = match inc.accept(Some(Body::sdp(ANSWER_SDP))).await {
        Ok(call) => call,
        Err(e) => return refused(&c, &e, cancelled),
    };
    c.answered();
    // The answering future is large (it held the INVITE); the call is served by a small
    // task of its own for as long as it lasts.
    ex.spawn(serve(ex.clone(), ua, pbx, call)).detach();
}

/// Serves an answered call's events until it ends.
async fn serve(ex: Ex, ua: UserAgent, pbx: Shared, mut call: Call) {
    while let Some(ev) = call.next_event().await {
        on_call_event(&ex, &ua, &pbx, ev);
    }
    // No more events: the call is over.
    counters(&pbx).ended();
}

/// A call answered without ringing delay: waits for the 200 to be sent, then serves the
/// call's events until it ends. The loop of [`serve`] is written out rather than awaited,
/// so the task stays small (it lives as long as the call).
async fn answer_and_serve(ex: Ex, ua: UserAgent, pbx: Shared, accepting: Accepting) {
    let c = counters(&pbx);
    let mut call = match accepting.await {
        Ok(call) => call,
        Err(e) => {
            let cancelled = matches!(e, Error::CallEnded(_));
            return refused(&c, &e, cancelled);
        }
    };
    c.answered();
    while let Some(ev) = call.next_event().await {
        on_call_event(&ex, &ua, &pbx, ev);
    }
    c.ended();
}

/// The 200 was refused: the call failed, cancelled by the caller or for `e`.
fn refused(c: &Counters, e: &Error, cancelled: bool) {
    c.failed(cancelled);
    if !cancelled {
        tracing::debug!(error = %e, "answer refused");
    }
}

/// An in-dialog request or a transfer: each is handled by a task of its own.
fn on_call_event(ex: &Ex, ua: &UserAgent, pbx: &Shared, ev: CallEvent) {
    match ev {
        CallEvent::Request(r) => match lock(pbx).on_in_dialog(r.request()) {
            InDialogPlan::Reply(reply) => ex.spawn(send(r, reply)).detach(),
            InDialogPlan::AnswerOffer => {
                let answer = answer_offer(&lock(pbx), r.request());
                ex.spawn(send_answer(r, answer)).detach();
            }
        },
        CallEvent::Transfer(t) => {
            ex.spawn(transfer(ua.clone(), counters(pbx), t)).detach();
        }
        // Kinds added later are dropped, which answers them as the stack does.
        _ => {}
    }
}

/// A request outside calls, as the PBX planned.
async fn out_of_dialog(req: IncomingRequest, plan: RequestPlan) {
    let sent = match plan {
        RequestPlan::Reply(reply) => send(req, reply).await,
        RequestPlan::Decline => req.decline().await.map(drop),
    };
    if let Err(e) = sent {
        tracing::debug!(error = %e, "answer refused");
    }
}

/// The `o=` versions of the answers this app writes: one higher for each (RFC 3264 §8).
static ANSWER_VERSION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// The PBX's answer to a re-INVITE's offer (RFC 3264 §6: codecs from [`Pbx::media`], the
/// direction mirrored, so a `sendonly` hold is answered `recvonly`), or the 488 Warning
/// when nothing is acceptable or the offer cannot be read. Built here from the body: this
/// driver has no offer/answer API of its own yet.
fn answer_offer(pbx: &Pbx, req: &sip_core::message::Request) -> Result<bytes::Bytes, String> {
    let offer =
        SessionDescription::parse(req.body()).map_err(|e| format!("399 smol_uas \"{e}\""))?;
    let version = ANSWER_VERSION.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    pbx.answer(offer.session(), version)
        .map(|a| a.sdp.to_bytes())
        .map_err(|e| e.warning("smol_uas"))
}

/// Sends the answer (200 with the SDP) or 488 with its Warning (RFC 3261 §13.3.1.3).
async fn send_answer(req: IncomingRequest, answer: Result<bytes::Bytes, String>) {
    let sent = match answer {
        Ok(sdp) => req.response(200).body("application/sdp", sdp).send().await,
        Err(warning) => req.response(488).header("Warning", &warning).send().await,
    };
    if let Err(e) = sent {
        tracing::debug!(error = %e, "answer refused");
    }
}

/// Sends the PBX's reply.
async fn send(req: IncomingRequest, reply: sip_pbx::Reply) -> Result<()> {
    let mut r = req.response(reply.status);
    for (name, value) in &reply.headers {
        r = r.header(name, value);
    }
    if let Some((content_type, body)) = reply.body {
        r = r.body(content_type, body);
    }
    r.send().await
}

/// Accepts a REFER, calls the target and reports how that call goes.
async fn transfer(ua: UserAgent, c: Arc<Counters>, mut t: IncomingTransfer) {
    if t.accept().await.is_err() {
        return;
    }
    c.transfer_started();
    let mut call = match ua.call(t.target()).await {
        Ok(call) => call,
        Err(e) => {
            // Dropping the accepted transfer has the core end it (final NOTIFY 503).
            tracing::debug!(error = %e, target = t.target(), "transfer target not callable");
            return;
        }
    };
    while let Some(p) = call.progress().await {
        // The NOTIFY sent on accepting already said 100 Trying.
        if p.status() > 100 {
            let _ = t.notify(p.status()).await;
        }
    }
    let status = match call.answered().await {
        Ok(ok) => ok.status(),
        Err(Error::CallEnded(EndReason::Rejected(s))) => s,
        // No final status to report (cancelled, timed out): dropping the transfer has the
        // core end it.
        Err(e) => {
            tracing::debug!(error = %e, target = t.target(), "transfer target's call failed");
            return;
        }
    };
    c.transfer_ended(status);
    let _ = t.notify(status).await;
    // No media to bridge: the new call has served its purpose.
    let _ = call.hangup().await;
}
