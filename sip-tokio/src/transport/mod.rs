//! The transport layer of the tokio driver: UDP sockets, TCP listeners and connections that
//! turn bytes on the wire into [`Input`]s for the endpoint and [`Transmit`]s from it into
//! bytes on the wire (RFC 3261 §18).
//!
//! [`Transports::bind`] binds every configured socket and spawns the tasks that read them;
//! everything received arrives on the returned [`mpsc::Receiver<Input>`], which the endpoint
//! task drains. [`Transports::send`] never blocks: it writes a UDP datagram to its socket
//! at once when the socket takes it, and otherwise queues the bytes for the task that owns
//! the socket or connection, dropping them (counted, logged) if that queue is full.
//!
//! # Tasks
//!
//! * one receive loop and one send loop per UDP socket (the send loop only sends what
//!   could not be written at once: the socket's buffer was full);
//! * one accept loop per TCP, TLS, WS and WSS listener;
//! * one task per WebSocket connection (RFC 7118, the private `ws` module): its opening handshake within
//!   `tcp_limits.handshake_deadline`, then the core's
//!   [`WsConnection`](sip_core::transport::websocket::WsConnection) turning frames into
//!   whole SIP messages, with the same limits, table and output accounts as TCP;
//! * one task per TCP connection, which runs its reader (the core's
//!   [`StreamReader`](sip_core::transport::keepalive::StreamReader) cutting the stream into
//!   messages and telling the CRLF keep-alive pings it must answer from the pongs, and the
//!   core's [`StreamTimer`](sip_core::transport::limits::StreamTimer) giving its message
//!   deadline and idle timeout) and its writer (fed by a per-connection queue bounded in
//!   bytes) side by side: when either ends (peer closed, read or write error, framing
//!   error, a deadline or an output cap of [`TransportConfig::tcp_limits`], shutdown) the
//!   connection is closed, leaves the table and frees its queue, at one place.
//!
//! # TCP limits
//!
//! Every limit is the core's policy ([`sip_core::transport::limits`]); this driver only
//! applies it: accepts and connects are admitted by its
//! [`Admission`] (per source and in total), each
//! message queued for a connection is checked with
//! [`StreamLimits::check_output`](sip_core::transport::limits::StreamLimits::check_output)
//! (a refusal closes the connection), and each connection's reader sleeps until its
//! [`StreamTimer`](sip_core::transport::limits::StreamTimer)'s deadline. What each limit
//! refused or closed is counted in [`TransportStats`].
//!
//! Every task ends on [`Transports::shutdown`] or when the [`Transports`] is dropped.
//!
//! # Which connection a TCP transmit uses (RFC 3261 §18.1.1, §18.2.2)
//!
//! Connections, accepted and outgoing alike, are kept in one table keyed by the transport
//! and the **peer's address** as seen on the socket:
//!
//! * a transmit whose destination is the peer address of an open connection goes on that
//!   connection. The core addresses the responses to a request received over TCP to the
//!   request's source address (`Input::Receive::from`), so responses go back on the
//!   connection the request came in on (§18.2.2), and requests sent to an address we
//!   already have a connection to reuse it (§18.1.1);
//! * otherwise a new connection is opened to the destination; the bytes wait in its queue
//!   until it is established. Its local end gets an ephemeral port: it is not bound to
//!   `Transmit::source`, since peers answer on the same connection anyway and binding the
//!   listening port for outgoing connections needs `SO_REUSEPORT` and fails on collisions;
//! * a connect that fails or times out, a write that fails, a connection that closes
//!   with messages still queued, and a destination refused by the connection limits are
//!   reported as [`Input::TransportError`] (§18.4);
//! * one connection per key is used for sending: if a peer connects from the address we
//!   already have a connection to (a peer that binds its outgoing connections to its
//!   listening port), the newest connection takes the entry; the older one is no longer
//!   written to but still delivers what arrives on it until it closes or idles out;
//! * a connection whose peer connected to us is never reached under the peer's listening
//!   address (its Via sent-by): a request to that address opens a new connection (RFC 5923
//!   connection reuse by alias is not implemented).
//!
//! # UDP
//!
//! A transmit leaves from the socket the core's [`select_socket`] picks: the one bound at
//! `Transmit::source`; failing that, one bound to the wildcard address on the same port;
//! failing that, the first UDP socket of the destination's address family. With none, it
//! is a transport error. Datagrams that are only CRLFs are keep-alives
//! ([`is_keepalive_datagram`](sip_core::transport::keepalive::is_keepalive_datagram)):
//! counted and dropped.
//! `Input::Receive::to` is the socket's bound address (the wildcard address if it was bound
//! to one: the driver does not read `IP_PKTINFO`).

mod config;
mod stats;
mod tcp;
mod tls;
mod udp;
mod ws;

pub use config::TransportConfig;
pub use stats::TransportStats;

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use bytes::Bytes;
use sip_core::endpoint::{Input, Transmit};
use sip_core::transport::limits::{Admission, CloseReason, Permit, Queued, Refusal};
use sip_core::transport::{TlsPeerIdentity, Transport, select_socket};
use sip_tls::TlsFailure;
use sip_tls::rustls::ClientConfig;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::runtime::Handle;
use tokio::sync::{Notify, mpsc, watch};

use stats::{Counters, bump};

/// Held by every task; [`Transports::shutdown`] waits until all are dropped.
type Guard = mpsc::Sender<()>;

/// A UDP socket as [`Transports::send`] sees it: the socket itself, written to directly
/// while it takes datagrams, and the queue of its send task for when it does not.
#[derive(Debug)]
struct UdpHandle {
    local: SocketAddr,
    socket: Arc<tokio::net::UdpSocket>,
    queue: mpsc::Sender<(SocketAddr, Bytes)>,
    /// Datagrams in `queue` not sent yet. While any are, later ones queue behind them, so
    /// datagrams leave a socket in the order they were handed over.
    queued: Arc<AtomicUsize>,
}

/// One TCP connection's output account and its off switch, shared by the table, the
/// connection's task and whoever queues for it.
#[derive(Debug, Default)]
struct ConnOutput {
    /// What the messages queued and not yet written cost ([`output_cost`](sip_core::transport::stream::output_cost)).
    queued: AtomicUsize,
    /// Wakes the connection's task to close it, for [`ConnOutput::reason`].
    kill: Notify,
    reason: OnceLock<CloseReason>,
}

impl ConnOutput {
    /// Has the connection closed for `reason` (the first reason given wins).
    fn kill(&self, reason: CloseReason) {
        let _ = self.reason.set(reason);
        self.kill.notify_one();
    }
}

/// A TCP connection as the table sees it.
#[derive(Debug)]
struct Conn {
    /// Tells this connection from a later one to the same peer.
    id: u64,
    /// The connection's send queue (bounded in bytes by the output caps).
    queue: mpsc::UnboundedSender<Bytes>,
    output: Arc<ConnOutput>,
}

type ConnKey = (Transport, SocketAddr);

/// What runs on the connections a listener accepts.
#[derive(Clone)]
enum ListenerKind {
    Tcp,
    Tls(tokio_rustls::TlsAcceptor),
    Ws,
    Wss(tokio_rustls::TlsAcceptor),
}

impl ListenerKind {
    fn transport(&self) -> Transport {
        match self {
            ListenerKind::Tcp => Transport::Tcp,
            ListenerKind::Tls(_) => Transport::Tls,
            ListenerKind::Ws => Transport::Ws,
            ListenerKind::Wss(_) => Transport::Wss,
        }
    }
}

#[derive(Debug)]
struct ConnTable {
    map: HashMap<ConnKey, Conn>,
    /// Connections open, in total and per source (the core's policy).
    admission: Admission,
    /// Set by shutdown: nothing new is added.
    closed: bool,
    /// The WebSocket clients connected to us: never connected to (RFC 7118 §5).
    ws_clients: sip_core::transport::websocket::ClientFlows,
}

/// Why a message was not queued on a connection.
#[derive(Debug)]
enum EnqueueError {
    /// The connection's task has ended: the bytes come back.
    Closed(Bytes),
    /// An output cap refused it: the connection must close.
    Limit(CloseReason),
}

/// State shared by [`Transports`] and every task.
#[derive(Debug)]
struct Shared {
    config: TransportConfig,
    counters: Counters,
    input: mpsc::Sender<Input>,
    udp: Vec<UdpHandle>,
    /// The UDP sockets' bound addresses, in the order of `udp`.
    udp_locals: Vec<SocketAddr>,
    conns: Mutex<ConnTable>,
    /// What the messages queued on all TCP connections cost ([`output_cost`](sip_core::transport::stream::output_cost)).
    output_total: AtomicUsize,
    runtime: Handle,
    stop: watch::Receiver<bool>,
    /// Set by shutdown: [`Transports::send`] writes nothing more.
    stopped: AtomicBool,
    next_id: AtomicU64,
    /// The client side of TLS: `TransportConfig::tls_config`'s, else one trusting the
    /// platform's CAs, made at the first TLS connect.
    tls_client: OnceLock<Result<Arc<ClientConfig>, String>>,
    /// The last handshake failure per peer address (for [`Transports::tls_failure`]);
    /// bounded by [`MAX_TLS_FAILURES`].
    tls_failures: Mutex<HashMap<SocketAddr, TlsFailure>>,
}

/// Peers whose last TLS handshake failure is kept; past it the oldest are forgotten (all
/// at once: they are there only to explain an error the application has seen).
const MAX_TLS_FAILURES: usize = 1024;

impl Shared {
    fn table(&self) -> MutexGuard<'_, ConnTable> {
        // Nothing panics while holding the lock; recover the data if something ever did.
        self.conns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The client configuration for TLS connects.
    fn tls_client(&self) -> Result<Arc<ClientConfig>, String> {
        self.tls_client
            .get_or_init(|| match &self.config.tls_config {
                Some(c) => Ok(c.client.clone()),
                None => sip_tls::TlsConfig::client(sip_tls::TrustAnchors::Platform)
                    .map(|c| c.client)
                    .map_err(|e| e.to_string()),
            })
            .clone()
    }

    fn tls_failures(&self) -> MutexGuard<'_, HashMap<SocketAddr, TlsFailure>> {
        self.tls_failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps why the handshake with `peer` failed.
    fn tls_failed(&self, peer: SocketAddr, failure: TlsFailure) {
        let mut map = self.tls_failures();
        if map.len() >= MAX_TLS_FAILURES {
            map.clear();
        }
        map.insert(peer, failure);
    }

    /// A handshake with `peer` succeeded: its earlier failure no longer applies.
    fn tls_succeeded(&self, peer: SocketAddr) {
        self.tls_failures().remove(&peer);
    }

    fn next_conn_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Counts a connection refused by `refusal`.
    fn count_refusal(&self, refusal: Refusal) {
        bump(match refusal {
            Refusal::ConnectionLimit => &self.counters.connections_refused,
            Refusal::SourceLimit => &self.counters.source_limit_refused,
        });
    }

    /// Queues `bytes` on a connection if the output caps allow it
    /// ([`StreamLimits::check_output`](sip_core::transport::limits::StreamLimits::check_output)).
    /// Call it with the table locked (`_locked`), so that the check and the charge are one
    /// step against every other sender and against [`Shared::finish_conn`].
    fn enqueue(
        &self,
        _locked: &ConnTable,
        queue: &mpsc::UnboundedSender<Bytes>,
        output: &ConnOutput,
        bytes: Bytes,
    ) -> Result<(), EnqueueError> {
        let cost = sip_core::transport::stream::output_cost(bytes.len());
        let queued = Queued {
            connection: output.queued.load(Ordering::Acquire),
            total: self.output_total.load(Ordering::Acquire),
        };
        self.config
            .tcp_limits
            .check_output(queued, cost)
            .map_err(EnqueueError::Limit)?;
        let on_conn = output.queued.fetch_add(cost, Ordering::AcqRel) + cost;
        self.counters.peak_connection_output.fetch_max(
            u64::try_from(on_conn).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        let total = self.output_total.fetch_add(cost, Ordering::AcqRel) + cost;
        self.counters
            .peak_output_queued
            .fetch_max(u64::try_from(total).unwrap_or(u64::MAX), Ordering::Relaxed);
        queue.send(bytes).map_err(|e| {
            self.written(output, e.0.len());
            EnqueueError::Closed(e.0)
        })
    }

    /// Takes a message of `len` bytes off a connection's account (written, or given back).
    fn written(&self, output: &ConnOutput, len: usize) {
        let cost = sip_core::transport::stream::output_cost(len);
        output.queued.fetch_sub(cost, Ordering::AcqRel);
        self.output_total.fetch_sub(cost, Ordering::AcqRel);
    }

    /// A connection's task is over: out of the table (unless a newer connection took its
    /// key), its admission handed back, its queue freed and its account closed. Returns
    /// whether messages were still queued.
    fn finish_conn(
        &self,
        key: ConnKey,
        id: u64,
        permit: Permit,
        output: &ConnOutput,
        rx: &mut mpsc::UnboundedReceiver<Bytes>,
    ) -> bool {
        let mut table = self.table();
        if table.map.get(&key).is_some_and(|c| c.id == id) {
            table.map.remove(&key);
        }
        if key.0.is_websocket() {
            let ConnTable {
                map, ws_clients, ..
            } = &mut *table;
            ws_clients.closed(key, |k| map.contains_key(k));
        }
        table.admission.release(permit);
        rx.close();
        let mut lost = false;
        while rx.try_recv().is_ok() {
            lost = true;
        }
        // What was queued, and what a cancelled write held: all of it leaves the total.
        let left = output.queued.swap(0, Ordering::AcqRel);
        self.output_total.fetch_sub(left, Ordering::AcqRel);
        lost
    }

    /// Spawns a task that holds `guard` for as long as it runs.
    fn spawn<F>(&self, guard: Guard, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.runtime.spawn(async move {
            let _guard = guard;
            fut.await;
        });
    }

    /// Reports a transport error without waiting (from [`Transports::send`], which runs on
    /// the endpoint task that drains the input channel, so it must not wait for room).
    fn report_error_now(&self, transport: Transport, destination: SocketAddr) {
        bump(&self.counters.transport_errors);
        let input = Input::TransportError {
            transport,
            destination,
        };
        if self.input.try_send(input).is_err() {
            bump(&self.counters.inputs_dropped);
            tracing::warn!(%transport, %destination, "input channel full or closed: transport error dropped");
        }
    }

    /// Reports a transport error from a task, waiting for room in the input channel.
    async fn report_error(&self, transport: Transport, destination: SocketAddr) {
        bump(&self.counters.transport_errors);
        let input = Input::TransportError {
            transport,
            destination,
        };
        let sent = until_stopped(self.stop.clone(), self.input.send(input)).await;
        if !matches!(sent, Some(Ok(()))) {
            bump(&self.counters.inputs_dropped);
        }
    }
}

/// Runs `fut` until it completes (`Some`) or the transports stop (`None`).
async fn until_stopped<F: Future>(mut stop: watch::Receiver<bool>, fut: F) -> Option<F::Output> {
    tokio::select! {
        biased;
        // Completes when `true` is sent or the sender is dropped.
        _ = stop.wait_for(|stopped| *stopped) => None,
        out = fut => Some(out),
    }
}

/// The bound sockets and their tasks. Dropping it stops every task and closes every socket.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use sip_tokio::transport::{TransportConfig, Transports};
/// let config = TransportConfig {
///     udp: vec!["0.0.0.0:5060".parse().unwrap()],
///     tcp: vec!["0.0.0.0:5060".parse().unwrap()],
///     ..Default::default()
/// };
/// let (transports, mut inputs) = Transports::bind(config).await?;
/// while let Some(input) = inputs.recv().await {
///     // endpoint.handle_input(now, input); then for each Output::Transmit(t):
///     // transports.send(t);
///     # let _ = (&transports, input);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Transports {
    shared: Arc<Shared>,
    locals: Vec<(Transport, SocketAddr)>,
    stop: watch::Sender<bool>,
    guard: Mutex<Option<Guard>>,
    done: tokio::sync::Mutex<mpsc::Receiver<()>>,
}

impl Transports {
    /// Binds every UDP socket and TCP listener of `config` and starts their tasks (RFC 3261
    /// §18: a UA must be ready to receive on UDP and TCP). Returns the transports and the
    /// channel on which everything received arrives.
    ///
    /// Must be called within a tokio runtime; the tasks run on that runtime. Fails if a
    /// socket cannot be created or bound, or if there is no current runtime.
    pub async fn bind(config: TransportConfig) -> io::Result<(Transports, mpsc::Receiver<Input>)> {
        let runtime = Handle::try_current().map_err(io::Error::other)?;
        let mut udp_sockets = Vec::with_capacity(config.udp.len());
        let mut recv_buffer = 0;
        for &addr in &config.udp {
            let (socket, granted) = udp::bind_socket(addr, &config)?;
            recv_buffer = granted;
            let local = socket.local_addr()?;
            udp_sockets.push((Arc::new(socket), local));
        }
        let server_tls = || {
            config
                .tls_config
                .as_ref()
                .and_then(|c| c.server.clone())
                .map(tokio_rustls::TlsAcceptor::from)
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "a TLS or WSS listener needs a server certificate (TransportConfig::tls_config)",
                    )
                })
        };
        let mut listeners = Vec::new();
        for (addrs, transport) in [
            (&config.tcp, Transport::Tcp),
            (&config.tls, Transport::Tls),
            (&config.ws, Transport::Ws),
            (&config.wss, Transport::Wss),
        ] {
            for &addr in addrs {
                let kind = match transport {
                    Transport::Tls => ListenerKind::Tls(server_tls()?),
                    Transport::Wss => ListenerKind::Wss(server_tls()?),
                    Transport::Ws => ListenerKind::Ws,
                    _ => ListenerKind::Tcp,
                };
                let listener = tcp::bind_listener(addr, &config)?;
                let local = listener.local_addr()?;
                listeners.push((listener, local, kind));
            }
        }

        let cap = config.capacity();
        let (input_tx, input_rx) = mpsc::channel(cap);
        let (stop_tx, stop_rx) = watch::channel(false);
        let (guard, done) = mpsc::channel(1);

        let mut udp_handles = Vec::with_capacity(udp_sockets.len());
        let mut udp_queues = Vec::with_capacity(udp_sockets.len());
        for (socket, local) in &udp_sockets {
            let (tx, rx) = mpsc::channel(cap);
            let queued = Arc::new(AtomicUsize::new(0));
            udp_handles.push(UdpHandle {
                local: *local,
                socket: socket.clone(),
                queue: tx,
                queued: queued.clone(),
            });
            udp_queues.push((rx, queued));
        }
        let mut locals: Vec<(Transport, SocketAddr)> = udp_sockets
            .iter()
            .map(|(_, a)| (Transport::Udp, *a))
            .collect();
        locals.extend(listeners.iter().map(|(_, a, kind)| (kind.transport(), *a)));

        let admission = Admission::new(config.tcp_limits);
        let shared = Arc::new(Shared {
            config,
            counters: Counters::default(),
            input: input_tx,
            udp_locals: udp_handles.iter().map(|u| u.local).collect(),
            udp: udp_handles,
            conns: Mutex::new(ConnTable {
                map: HashMap::new(),
                admission,
                closed: false,
                ws_clients: sip_core::transport::websocket::ClientFlows::default(),
            }),
            output_total: AtomicUsize::new(0),
            runtime,
            stop: stop_rx,
            stopped: AtomicBool::new(false),
            next_id: AtomicU64::new(0),
            tls_client: OnceLock::new(),
            tls_failures: Mutex::new(HashMap::new()),
        });
        shared
            .counters
            .udp_recv_buffer
            .store(recv_buffer as u64, Ordering::Relaxed);

        for ((socket, local), queue) in udp_sockets.into_iter().zip(udp_queues) {
            let recv = udp::recv_loop(shared.clone(), socket.clone(), local);
            shared.spawn(guard.clone(), until_stopped_unit(shared.stop.clone(), recv));
            let (queue, queued) = queue;
            let send = udp::send_loop(shared.clone(), socket, queue, queued);
            shared.spawn(guard.clone(), until_stopped_unit(shared.stop.clone(), send));
        }
        for (listener, local, kind) in listeners {
            let accept = tcp::accept_loop(shared.clone(), listener, local, guard.clone(), kind);
            shared.spawn(
                guard.clone(),
                until_stopped_unit(shared.stop.clone(), accept),
            );
        }

        let transports = Transports {
            shared,
            locals,
            stop: stop_tx,
            guard: Mutex::new(Some(guard)),
            done: tokio::sync::Mutex::new(done),
        };
        Ok((transports, input_rx))
    }

    /// The bound addresses, UDP sockets first then TCP listeners then TLS listeners, each
    /// in configuration order, with the actual ports (useful after binding port 0).
    pub fn local_addrs(&self) -> Vec<(Transport, SocketAddr)> {
        self.locals.clone()
    }

    /// Sends `t`, without blocking or waiting (RFC 3261 §18.1.1 for requests,
    /// §18.2.2 for responses; see the module docs for which socket or connection is used).
    ///
    /// UDP, TCP, TLS, WS and WSS are supported; any other transport is reported at once
    /// as an [`Input::TransportError`]. A WS or WSS message goes on the open connection to
    /// its destination (RFC 7118 §5: the only route back to a browser), else on a new
    /// one to `ws://destination/` (`wss://` checked against the server name). A UDP datagram is written to its socket at once; if the
    /// socket's buffer is full it waits in the socket's send queue, behind which later
    /// datagrams queue too (those of one caller leave in the order it handed them over). A
    /// full UDP queue drops the datagram (counted in [`TransportStats::send_queue_full`]):
    /// the transaction layer retransmits over UDP. A TCP message that the output caps of
    /// [`TransportConfig::tcp_limits`] refuse closes its connection instead (a peer that
    /// does not read) and is reported as a transport error. After
    /// [`shutdown`](Self::shutdown) nothing is sent.
    pub fn send(&self, t: Transmit) {
        match t.transport {
            Transport::Udp => self.send_udp(t),
            Transport::Tcp | Transport::Tls => self.send_stream(t),
            Transport::Ws | Transport::Wss => self.send_stream(t),
            other => {
                tracing::warn!(transport = %other, destination = %t.destination, "transport not supported by this driver");
                self.shared.report_error_now(other, t.destination);
            }
        }
    }

    fn send_udp(&self, t: Transmit) {
        if self.shared.stopped.load(Ordering::Acquire) {
            tracing::debug!(destination = %t.destination, "transports shut down: datagram dropped");
            return;
        }
        let Some(handle) = select_socket(&self.shared.udp_locals, t.source, t.destination)
            .and_then(|i| self.shared.udp.get(i))
        else {
            tracing::warn!(destination = %t.destination, source = ?t.source, "no UDP socket for this destination");
            self.shared.report_error_now(Transport::Udp, t.destination);
            return;
        };
        // Straight onto the socket when nothing waits in its queue: no task to wake.
        if handle.queued.load(Ordering::Acquire) == 0 {
            match handle.socket.try_send_to(&t.bytes, t.destination) {
                Ok(_) => {
                    bump(&self.shared.counters.datagrams_out);
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    tracing::warn!(destination = %t.destination, error = %e, len = t.bytes.len(), "UDP send failed");
                    self.shared.report_error_now(Transport::Udp, t.destination);
                    return;
                }
            }
        }
        // The socket's buffer is full (or datagrams wait already): the send task waits
        // until it drains.
        handle.queued.fetch_add(1, Ordering::AcqRel);
        match handle.queue.try_send((t.destination, t.bytes)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                handle.queued.fetch_sub(1, Ordering::AcqRel);
                bump(&self.shared.counters.send_queue_full);
                tracing::warn!(socket = %handle.local, destination = %t.destination, "UDP send queue full: datagram dropped");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                handle.queued.fetch_sub(1, Ordering::AcqRel);
                tracing::debug!(destination = %t.destination, "UDP socket closed: datagram dropped");
            }
        }
    }

    /// A message over TCP, TLS, WS or WSS: on the open connection to the destination, else
    /// on a new one (for TLS and WSS, checked against the transmit's server name, RFC 5922
    /// §4).
    fn send_stream(&self, t: Transmit) {
        let transport = t.transport;
        let key = (transport, t.destination);
        let mut bytes = t.bytes;
        let mut table = self.shared.table();
        if table.closed {
            tracing::debug!(destination = %t.destination, "transports shut down: message dropped");
            return;
        }
        if let Some(conn) = table.map.get(&key) {
            match self
                .shared
                .enqueue(&table, &conn.queue, &conn.output, bytes)
            {
                Ok(()) => return,
                Err(EnqueueError::Limit(reason)) => {
                    // The peer does not read (or the budget is spent): close the
                    // connection, which frees its queue; this message is lost.
                    conn.output.kill(reason);
                    table.map.remove(&key);
                    drop(table);
                    tracing::warn!(peer = %t.destination, %transport, %reason, "connection closed");
                    self.shared.report_error_now(transport, t.destination);
                    return;
                }
                Err(EnqueueError::Closed(b)) => {
                    // The connection is closing; open a fresh one.
                    table.map.remove(&key);
                    bytes = b;
                }
            }
        }
        if transport.is_websocket() && table.ws_clients.is_client(&key) {
            // A browser's connection is the only way to it (RFC 7118 §5): gone, the
            // message fails now rather than at Timer B/F, and nothing connects to it.
            drop(table);
            bump(&self.shared.counters.ws_client_gone);
            tracing::debug!(peer = %t.destination, %transport, "WebSocket client's connection closed: message not sent");
            self.shared.report_error_now(transport, t.destination);
            return;
        }
        let permit = match table.admission.admit_outbound() {
            Ok(p) => p,
            Err(refusal) => {
                drop(table);
                self.shared.count_refusal(refusal);
                tracing::warn!(peer = %t.destination, %transport, %refusal, "connection not opened");
                self.shared.report_error_now(transport, t.destination);
                return;
            }
        };
        let Some(guard) = self.task_guard() else {
            table.admission.release(permit);
            return;
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let output = Arc::new(ConnOutput::default());
        if let Err(e) = self.shared.enqueue(&table, &tx, &output, bytes) {
            // One message over the caps on its own: nothing to open a connection for.
            table.admission.release(permit);
            drop(table);
            tracing::warn!(peer = %t.destination, %transport, error = ?e, "message over the output caps: connection not opened");
            self.shared.report_error_now(transport, t.destination);
            return;
        }
        let id = self.shared.next_conn_id();
        let pong = tx.downgrade();
        let conn = Conn {
            id,
            queue: tx,
            output: output.clone(),
        };
        table.map.insert(key, conn);
        drop(table);
        let tls = matches!(transport, Transport::Tls | Transport::Wss)
            .then(|| TlsPeerIdentity::of(t.server_name.as_ref(), t.destination));
        let task = tcp::connect_and_run(
            self.shared.clone(),
            t.destination,
            transport,
            tcp::ConnParts {
                id,
                permit,
                output,
                pong,
                rx,
                ws_url: t.ws_url,
            },
            tls,
        );
        self.shared.spawn(guard, task);
    }

    fn task_guard(&self) -> Option<Guard> {
        self.guard
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Why the last TLS handshake with `peer` failed, if it did (and none has succeeded
    /// since): what lies behind the transport error a request to it got.
    pub fn tls_failure(&self, peer: SocketAddr) -> Option<TlsFailure> {
        self.shared.tls_failures().get(&peer).cloned()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> TransportStats {
        self.shared.counters.snapshot()
    }

    /// TCP connections currently in the table (accepted, outgoing, and outgoing still
    /// connecting).
    pub fn connection_count(&self) -> usize {
        self.shared.table().map.len()
    }

    /// Closes every listener, socket and connection and waits until all tasks have ended.
    /// Messages still queued are dropped. Later [`send`](Self::send)s do nothing.
    pub async fn shutdown(&self) {
        self.stop_now();
        let mut done = self.done.lock().await;
        // Every task holds a guard; `None` means the last one is gone.
        while done.recv().await.is_some() {}
    }

    fn stop_now(&self) {
        self.shared.stopped.store(true, Ordering::Release);
        self.stop.send_replace(true);
        let mut table = self.shared.table();
        table.closed = true;
        table.map.clear();
        drop(table);
        self.guard
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
    }
}

impl Drop for Transports {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// [`until_stopped`] for tasks whose result does not matter.
async fn until_stopped_unit<F: Future<Output = ()>>(stop: watch::Receiver<bool>, fut: F) {
    let _ = until_stopped(stop, fut).await;
}

/// A non-blocking socket for `addr`'s family with the configured options; IPv6 sockets are
/// IPv6-only, so binding `0.0.0.0` and `[::]` on one port works everywhere.
fn new_socket(
    addr: SocketAddr,
    ty: Type,
    protocol: Protocol,
    config: &TransportConfig,
) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), ty, Some(protocol))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(config.reuse_address)?;
    if let Some(size) = config.recv_buffer_size {
        socket.set_recv_buffer_size(size)?;
    }
    if let Some(size) = config.send_buffer_size {
        socket.set_send_buffer_size(size)?;
    }
    socket.set_nonblocking(true)?;
    Ok(socket)
}
