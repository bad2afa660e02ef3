//! The [`UserAgent`] and its builder.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sip_core::endpoint::{Endpoint, EndpointConfig, LocalAddr, Transmit};
use sip_core::message::Method;
use sip_core::transport::Transport;
use sip_ua::runtime::{self, UaFront};
use sip_ua::{CallBuilder, Error, IncomingCalls, IncomingRequests, RequestBuilder, Result};

use crate::driver::{Driver, DriverConfig, Tap};
use crate::spawn::Spawner;
use crate::stats::UaStats;
use crate::transport::{TransportConfig, Transports};

/// A SIP user agent on async-io: bound sockets, one endpoint in its driver task, and
/// the handles to place, answer and transfer calls and to send and answer requests.
///
/// Cheap to clone (all clones drive the same user agent). Everything keeps running while
/// any clone or any [`Call`](crate::Call) handle lives; [`UserAgent::shutdown`] ends it
/// gracefully.
///
/// ```
/// # fn main() -> sip_smol::Result<()> { smol::block_on(async {
/// use sip_smol::{Body, UserAgent};
/// let spawn = |task| smol::spawn(task).detach();
/// let bob = UserAgent::builder().udp("127.0.0.1:0").seed(2).spawner(spawn).build().await?;
/// let alice = UserAgent::builder().udp("127.0.0.1:0").seed(1).spawner(spawn).build().await?;
/// let mut incoming = bob.incoming();
/// let bob_uri = format!("sip:bob@{}", bob.local_addrs()[0].1);
///
/// let answering = smol::spawn(async move {
///     let inc = incoming.next().await.unwrap();
///     inc.ringing().await?;
///     let call = inc.accept(Some(Body::sdp("v=0\r\n"))).await?;
///     Ok::<_, sip_smol::Error>(call.ended().await)
/// });
///
/// let call = alice.call(&bob_uri).sdp("v=0\r\n").await?;
/// let ok = call.answered().await?;
/// assert_eq!(ok.status(), 200);
/// call.hangup().await?;
/// assert_eq!(answering.await?, sip_smol::EndReason::RemoteBye);
/// alice.shutdown().await;
/// bob.shutdown().await;
/// # Ok(()) }) }
/// ```
#[derive(Debug, Clone)]
pub struct UserAgent {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    front: UaFront,
    transports: Arc<Transports>,
    locals: Vec<(Transport, SocketAddr)>,
}

impl UserAgent {
    /// Starts building a user agent.
    pub fn builder() -> UserAgentBuilder {
        UserAgentBuilder::default()
    }

    /// The bound addresses, UDP first then TCP, TLS, WS and WSS, with the actual ports (after binding
    /// port 0).
    pub fn local_addrs(&self) -> Vec<(Transport, SocketAddr)> {
        self.inner.locals.clone()
    }

    /// The first bound address of `transport`.
    pub fn local_addr(&self, transport: Transport) -> Option<SocketAddr> {
        self.inner
            .locals
            .iter()
            .find(|(t, _)| *t == transport)
            .map(|(_, a)| *a)
    }

    /// The From value used when a call or request does not set one.
    pub fn identity(&self) -> &str {
        self.inner.front.identity()
    }

    /// Places a call to `uri` (an INVITE, RFC 3261 §13.2): set the body and headers on the
    /// returned builder, then `.await` it for the [`Call`](crate::Call).
    ///
    /// The next hop is the URI's IP address, port and `transport` parameter (UDP by
    /// default) unless [`CallBuilder::target`] says otherwise: the core does no DNS.
    pub fn call(&self, uri: &str) -> CallBuilder {
        self.inner.front.call(uri)
    }

    /// The calls placed to this user agent, from now on.
    ///
    /// Until this is called, and after the returned stream is dropped or falls 1024 calls
    /// behind, the stack declines new calls with the core's policy
    /// ([`Endpoint::decline`](sip_core::endpoint::Endpoint::decline): 480 Temporarily
    /// Unavailable, or 503 with Retry-After when behind). Calling it again hands the calls
    /// to the new stream; the old one ends.
    pub fn incoming(&self) -> IncomingCalls {
        self.inner.front.incoming()
    }

    /// Sends a request outside any dialog (OPTIONS, MESSAGE, INFO, ...; RFC 3261 §8.1,
    /// §11): set headers and body on the returned builder, then `.await` it for the final
    /// response. Use [`UserAgent::call`] for INVITE.
    pub fn request(&self, method: Method, uri: &str) -> RequestBuilder {
        self.inner.front.request(method, uri)
    }

    /// Sends an instant message outside any call (MESSAGE, RFC 3428 §4): `.await` the
    /// returned builder for the final response (200 or 202 when delivered, §7).
    ///
    /// ```no_run
    /// # async fn demo(ua: sip_smol::UserAgent) -> sip_smol::Result<()> {
    /// let r = ua.send_message("sip:bob@127.0.0.1:5070", sip_smol::Body::new("text/plain", "hello")).await?;
    /// assert!(r.is_success());
    /// # Ok(()) }
    /// ```
    pub fn send_message(&self, uri: &str, body: crate::Body) -> RequestBuilder {
        self.inner.front.send_message(uri, body)
    }

    /// Registers a binding with a registrar (RFC 3261 §10.2) and keeps it fresh; the
    /// returned handle reports each registration, and unregisters on request.
    ///
    /// ```no_run
    /// # async fn f(ua: sip_smol::UserAgent) -> sip_smol::Result<()> {
    /// use sip_smol::RegisterOptions;
    /// let reg = ua.register(RegisterOptions::new("sip:127.0.0.1:5060", "<sip:alice@example.com>", 600)).await?;
    /// let granted = reg.registered().await?;
    /// reg.unregister().await?;
    /// # let _ = granted; Ok(()) }
    /// ```
    pub async fn register(
        &self,
        opts: sip_core::endpoint::RegisterOptions,
    ) -> Result<crate::Registration> {
        self.inner.front.register(opts).await
    }

    /// The requests received outside any dialog (other than INVITE), from now on.
    ///
    /// Until this is called, and after the returned stream is dropped, the stack answers
    /// them with the core's policy
    /// ([`Endpoint::decline`](sip_core::endpoint::Endpoint::decline)): OPTIONS with 200 and
    /// the methods and media types it supports (RFC 3261 §11.2), anything else with 405
    /// Method Not Allowed and an Allow header (§8.2.1).
    pub fn incoming_requests(&self) -> IncomingRequests {
        self.inner.front.incoming_requests()
    }

    /// A snapshot of the counters.
    pub async fn stats(&self) -> Result<UaStats> {
        self.inner.front.stats(self.inner.transports.stats()).await
    }

    /// Shuts down gracefully: new calls and requests are declined (the core's 503 with
    /// Retry-After), every call still up is hung up (BYE, CANCEL, or the core's refusal of
    /// a call not answered yet), then the stack waits until the calls are over,
    /// the API's pending requests are answered and every BYE sent (by this shutdown or by
    /// an earlier hang-up) has its final response (RFC 3261 §15.1.1) — and returns as soon
    /// as that is so. Unanswered BYEs are waited for at most the builder's
    /// `shutdown_grace` (500 ms by default) once the rest is settled, and everything at
    /// most `shutdown_timeout` (5 s by default); then the sockets are closed. Handles used
    /// afterwards fail with [`Error::Shutdown`], a [`Call::hangup`](crate::Call::hangup)
    /// still waiting included. Calling it again is harmless.
    pub async fn shutdown(&self) {
        self.inner.front.shutdown().await;
        self.inner.transports.shutdown().await;
    }
}

/// Configures and starts a [`UserAgent`].
///
/// ```
/// # fn main() -> sip_smol::Result<()> { smol::block_on(async {
/// use sip_smol::{Transport, UserAgent};
/// let ua = UserAgent::builder()
///     .spawner(|task| smol::spawn(task).detach())
///     .udp("127.0.0.1:0")
///     .tcp("127.0.0.1:0")
///     .identity("\"Alice\" <sip:alice@example.com>")
///     .seed(7)
///     .build()
///     .await?;
/// assert!(ua.local_addr(Transport::Udp).is_some());
/// assert!(ua.local_addr(Transport::Tcp).is_some());
/// ua.shutdown().await;
/// # Ok(()) }) }
/// ```
#[must_use = "nothing starts until build() is awaited"]
pub struct UserAgentBuilder {
    udp: Vec<String>,
    tcp: Vec<String>,
    tls: Vec<String>,
    ws: Vec<String>,
    wss: Vec<String>,
    seed: Option<u64>,
    identity: Option<String>,
    endpoint: EndpointConfig,
    transport: TransportConfig,
    spawner: Option<Spawner>,
    shutdown_timeout: Duration,
    shutdown_grace: Duration,
    subscriber_capacity: usize,
    tap: Option<Tap>,
    dns_server: Option<SocketAddr>,
}

impl Default for UserAgentBuilder {
    fn default() -> Self {
        UserAgentBuilder {
            udp: Vec::new(),
            tcp: Vec::new(),
            tls: Vec::new(),
            ws: Vec::new(),
            wss: Vec::new(),
            seed: None,
            identity: None,
            endpoint: EndpointConfig::default(),
            transport: TransportConfig::default(),
            spawner: None,
            shutdown_timeout: Duration::from_secs(5),
            shutdown_grace: Duration::from_millis(500),
            subscriber_capacity: 1024,
            tap: None,
            dns_server: None,
        }
    }
}

impl std::fmt::Debug for UserAgentBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserAgentBuilder")
            .field("udp", &self.udp)
            .field("tcp", &self.tcp)
            .field("tls", &self.tls)
            .field("ws", &self.ws)
            .field("wss", &self.wss)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

impl UserAgentBuilder {
    /// Binds a UDP socket at `addr` (`"127.0.0.1:5060"`, `"[::1]:0"`, ...). Any number of
    /// UDP and TCP addresses can be bound.
    pub fn udp(mut self, addr: impl Into<String>) -> Self {
        self.udp.push(addr.into());
        self
    }

    /// Binds a TCP listener at `addr`. Outgoing TCP needs no listener, but RFC 3261 §18
    /// wants a UA to accept TCP where it accepts UDP.
    pub fn tcp(mut self, addr: impl Into<String>) -> Self {
        self.tcp.push(addr.into());
        self
    }

    /// Binds a TLS listener at `addr` (RFC 3261 §26.2: `sips:`, port 5061); it needs a
    /// server certificate from [`tls_config`](Self::tls_config). Outgoing TLS (to a
    /// `sips:` URI or a `;transport=tls` one) needs no listener: without one, requests over
    /// TLS carry the first bound address as their Via sent-by, and their responses come
    /// back on the connection (§18.2.2).
    pub fn tls(mut self, addr: impl Into<String>) -> Self {
        self.tls.push(addr.into());
        self
    }

    /// Binds a WebSocket listener at `addr` (RFC 7118: SIP over WebSocket, `ws://`, what
    /// browser softphones such as JsSIP and SIP.js speak). Clients must offer the `sip`
    /// subprotocol; responses and requests to them go back on their connection (§5), and
    /// a message for a client whose connection closed fails at once. Outgoing WebSocket
    /// (a `;transport=ws` URI, or a [`Target::websocket`](sip_core::endpoint::Target::websocket)
    /// for a `ws://` URL) needs no listener.
    ///
    /// ```no_run
    /// # async fn demo() -> sip_smol::Result<()> {
    /// let ua = sip_smol::UserAgent::builder()
    ///     .ws("0.0.0.0:8080")
    ///     .spawner(|task| smol::spawn(task).detach())
    ///     .build()
    ///     .await?;
    /// # let _ = ua; Ok(()) }
    /// ```
    pub fn ws(mut self, addr: impl Into<String>) -> Self {
        self.ws.push(addr.into());
        self
    }

    /// Binds a secure WebSocket listener at `addr` (`wss://`); it needs a server
    /// certificate from [`tls_config`](Self::tls_config).
    pub fn wss(mut self, addr: impl Into<String>) -> Self {
        self.wss.push(addr.into());
        self
    }

    /// Certificates for TLS: the trust anchors outgoing connections check servers
    /// against (default: the platform's) and the listeners' certificate. Shortcut for
    /// setting `TransportConfig::tls_config`.
    ///
    /// ```no_run
    /// # async fn demo() -> sip_smol::Result<()> {
    /// use sip_smol::{TlsConfig, TrustAnchors};
    /// let tls = TlsConfig::client(TrustAnchors::PemFile("ca.pem".into()))
    ///     .and_then(|c| c.with_server_pem("cert.pem".as_ref(), "key.pem".as_ref()))
    ///     .expect("certificates");
    /// let ua = sip_smol::UserAgent::builder()
    ///     .tls("0.0.0.0:5061")
    ///     .tls_config(tls)
    ///     .spawner(|task| smol::spawn(task).detach())
    ///     .build()
    ///     .await?;
    /// # let _ = ua; Ok(()) }
    /// ```
    pub fn tls_config(mut self, config: sip_tls::TlsConfig) -> Self {
        self.transport.tls_config = Some(config);
        self
    }

    /// The DNS server host names in Request-URIs, Routes and registrars are looked up at
    /// (RFC 3263: NAPTR, SRV, A/AAAA; the core caches the answers per TTL). By default the
    /// system's resolver (the first `nameserver` of `/etc/resolv.conf`) is used.
    pub fn dns_server(mut self, server: SocketAddr) -> Self {
        self.dns_server = Some(server);
        self
    }

    /// The seed of the endpoints' tags, branches and Call-IDs (default: a random one,
    /// drawn from the operating system's randomness at each start). With a fixed seed a
    /// run's identifiers repeat, which is what tests want.
    ///
    /// **Never reuse a fixed seed across restarts of a deployed user agent**: its tags,
    /// branches and Call-IDs would repeat those of its previous life, and peers would take
    /// new requests for retransmissions or for requests in dialogs that are gone (RFC 3261
    /// §8.1.1.4, §8.1.1.7, §19.3 want them unique). Leave it unset outside tests.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The From value of calls and requests that do not set one (default
    /// `<sip:ua@first-bound-address>`).
    pub fn identity(mut self, from: impl Into<String>) -> Self {
        self.identity = Some(from.into());
        self
    }

    /// The endpoint configuration: timers, limits, User-Agent header, ... Its
    /// `local_addrs` are replaced by the bound addresses unless set; set them to
    /// advertise another address in Via and Contact (a wildcard bind needs one).
    pub fn endpoint_config(mut self, config: EndpointConfig) -> Self {
        self.endpoint = config;
        self
    }

    /// Credentials for digest challenges (401/407) to any request the user agent sends,
    /// REGISTER and INVITE included (RFC 3261 §22.2); for every realm.
    pub fn credentials(mut self, user: &str, password: &str) -> Self {
        self.endpoint.credentials = Some(sip_core::endpoint::Credentials::new(
            sip_core::auth::StaticCredentials::any(user, password),
        ));
        self
    }

    /// The transport configuration: buffer sizes, connection limits, idle timeout, ...
    /// Its `udp`, `tcp`, `tls`, `ws` and `wss` lists are bound along with the builder's;
    /// its `ws_mask_seed` is replaced by the user agent's seed.
    pub fn transport_config(mut self, config: TransportConfig) -> Self {
        self.transport = config;
        self
    }

    /// How the user agent starts its tasks (the driver task, one per UDP socket and TCP
    /// listener, one per TCP connection): with the executor the application runs, e.g.
    /// `.spawner(|task| smol::spawn(task).detach())` or
    /// `.spawner(|task| { async_std::task::spawn(task); })`. Required.
    pub fn spawner(mut self, spawn: impl Fn(crate::Task) + Send + Sync + 'static) -> Self {
        self.spawner = Some(Spawner::new(spawn));
        self
    }

    /// The most [`UserAgent::shutdown`] waits for calls and transactions to finish
    /// (default 5 s).
    pub fn shutdown_timeout(mut self, d: Duration) -> Self {
        self.shutdown_timeout = d;
        self
    }

    /// How long shutdown waits, once every call is over and every request answered, for
    /// the BYEs still unanswered (a peer that never answers one would otherwise hold it
    /// for 64·T1). Shutdown ends as soon as the last BYE is answered, so this is only an
    /// upper bound. Default 500 ms.
    pub fn shutdown_grace(mut self, d: Duration) -> Self {
        self.shutdown_grace = d;
        self
    }

    /// Calls `f` with every message the user agent sends, before it is sent (for traces
    /// and ladder diagrams). It runs on the driver task: keep it quick.
    pub fn on_transmit(mut self, f: impl Fn(&Transmit) + Send + Sync + 'static) -> Self {
        self.tap = Some(Arc::new(f));
        self
    }

    /// Binds the sockets and starts the driver task with the [spawner](Self::spawner).
    pub async fn build(self) -> Result<UserAgent> {
        let mut tconf = self.transport.clone();
        for a in &self.udp {
            tconf.udp.push(runtime::bind_addr(a)?);
        }
        for a in &self.tcp {
            tconf.tcp.push(runtime::bind_addr(a)?);
        }
        for a in &self.tls {
            tconf.tls.push(runtime::bind_addr(a)?);
        }
        for a in &self.ws {
            tconf.ws.push(runtime::bind_addr(a)?);
        }
        for a in &self.wss {
            tconf.wss.push(runtime::bind_addr(a)?);
        }
        if tconf.udp.is_empty()
            && tconf.tcp.is_empty()
            && tconf.tls.is_empty()
            && tconf.ws.is_empty()
            && tconf.wss.is_empty()
        {
            return Err(Error::NoTransport);
        }
        let spawner = self.spawner.clone().ok_or(Error::NoSpawner)?;
        let seed = self.seed.unwrap_or_else(runtime::random_seed);
        tconf.ws_mask_seed = seed;
        let (transports, input) = Transports::bind(tconf, spawner.clone())
            .await
            .map_err(Error::Bind)?;
        let transports = Arc::new(transports);
        let locals = transports.local_addrs();
        let mut econf = self.endpoint.clone();
        if runtime::set_local_addrs(&mut econf, &locals) {
            // Outgoing WebSocket without a listener: a client's random `.invalid` host
            // (RFC 7118 §5.2); responses come back on the connection.
            for ws in [Transport::Ws, Transport::Wss] {
                if !locals.iter().any(|(t, _)| *t == ws)
                    && let Some((_, a)) = locals.first()
                {
                    let mut l = LocalAddr::new(ws, *a);
                    l.advertised = Some(sip_core::transport::websocket::invalid_host(seed));
                    econf.local_addrs.push(l);
                }
            }
        }
        let identity = self
            .identity
            .clone()
            .unwrap_or_else(|| runtime::default_identity(&econf));
        let ep = Endpoint::new(econf, seed);
        let cfg = DriverConfig {
            shutdown_timeout: self.shutdown_timeout,
            shutdown_grace: self.shutdown_grace,
            tap: self.tap.clone(),
            dns_server: self.dns_server.or_else(sip_dns::system_server),
            seed,
        };
        let (driver, link) = Driver::new(ep, transports.clone(), input, cfg);
        spawner.spawn(driver.run());
        Ok(UserAgent {
            inner: Arc::new(Inner {
                front: UaFront::new(vec![link], identity, self.subscriber_capacity),
                transports,
                locals,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    /// Without a seed set, the builder draws a random one (sip-ua's `random_seed`).
    #[test]
    fn seeds_are_random_by_default() {
        assert!(super::UserAgentBuilder::default().seed.is_none());
    }
}
