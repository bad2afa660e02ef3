//! TCP: listeners, outgoing connects, and the task that runs one connection (RFC 3261
//! §18.1.1, §18.2.2, §18.3; CRLF keep-alives of RFC 5626 §3.5.1). TLS connections are TCP
//! connections with a handshake first ([`super::tls`]); past it they run the same way.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use std::net::{TcpListener, TcpStream};
use std::time::Instant;

use async_io::{Async, Timer};
use bytes::Bytes;
use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, future};
use sip_core::message::ParseOptions;
use sip_core::transport::keepalive::{PING, PONG, StreamReader};
use sip_core::transport::limits::{CloseReason, Permit, Refusal, StreamTimer};
use sip_core::transport::stream::frame;
use sip_core::transport::{TlsPeerIdentity, Transport};
use socket2::{Protocol, Type};

use sip_ua::chan::mpsc;

use super::config::TransportConfig;
use super::stats::bump;
use super::{
    Conn, ConnOutput, EnqueueError, Guard, ListenerKind, Shared, new_socket, until_stopped,
};

/// Pending connections the kernel holds for each listener.
const LISTEN_BACKLOG: i32 = 1024;

/// Pause after a failed accept (out of file descriptors, typically), so the loop cannot spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// Bytes read from a connection at a time.
const READ_CHUNK: usize = 16 * 1024;

/// Creates, binds and starts a TCP listener with the configured options.
pub(super) fn bind_listener(
    addr: SocketAddr,
    config: &TransportConfig,
) -> io::Result<Async<TcpListener>> {
    let socket = new_socket(addr, Type::STREAM, Protocol::TCP, config)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Async::new(TcpListener::from(socket))
}

/// Accepts connections until stopped from outside, refusing those the core's
/// [`Admission`](sip_core::transport::limits::Admission) refuses (per source, in total).
/// What `kind` says runs on each connection: TCP, TLS once its handshake is done, or
/// WebSocket (over TLS for WSS) once its opening handshake is done.
pub(super) async fn accept_loop(
    shared: Arc<Shared>,
    listener: Async<TcpListener>,
    local: SocketAddr,
    guard: Guard,
    kind: ListenerKind,
) {
    let transport = kind.transport();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                bump(&shared.counters.io_errors);
                tracing::warn!(listener = %local, error = %e, "TCP accept failed");
                Timer::after(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        let key = (transport, peer);
        let mut table = shared.table();
        if table.closed {
            return;
        }
        let permit = match table.admission.admit_inbound(peer.ip()) {
            Ok(p) => p,
            Err(refusal) => {
                drop(table);
                shared.count_refusal(refusal);
                match refusal {
                    // One source at its limit is an attack or a misconfiguration: say it
                    // quietly, it may say it thousands of times.
                    Refusal::SourceLimit => {
                        tracing::debug!(listener = %local, %peer, %refusal, "connection refused");
                    }
                    Refusal::ConnectionLimit => {
                        tracing::warn!(listener = %local, %peer, %refusal, "connection refused");
                    }
                }
                drop(stream);
                continue;
            }
        };
        let (tx, rx) = mpsc::unbounded();
        let pong = tx.downgrade();
        let id = shared.next_conn_id();
        let output = Arc::new(ConnOutput::default());
        let conn = Conn {
            id,
            queue: tx,
            output: output.clone(),
        };
        if table.map.insert(key, conn).is_some() {
            tracing::debug!(%peer, "a new connection from this address takes the older one's place for sending");
        }
        if transport.is_websocket() {
            table.ws_clients.accepted(key);
        }
        drop(table);
        bump(&shared.counters.connections_accepted);
        tracing::debug!(listener = %local, %peer, %transport, "connection accepted");
        let parts = ConnParts {
            id,
            permit,
            output,
            pong,
            rx,
            ws_url: None,
        };
        match &kind {
            ListenerKind::Tcp => shared.spawn(
                guard.clone(),
                run_connection(shared.clone(), stream, peer, parts),
            ),
            ListenerKind::Tls(acceptor) | ListenerKind::Wss(acceptor) => {
                let task = super::tls::accept_and_run(
                    shared.clone(),
                    acceptor.clone(),
                    stream,
                    peer,
                    parts,
                    transport,
                );
                shared.spawn(guard.clone(), task);
            }
            ListenerKind::Ws => shared.spawn(
                guard.clone(),
                run_ws_connection(shared.clone(), stream, peer, parts),
            ),
        }
    }
}

/// What a connection's task holds besides its stream.
pub(super) struct ConnParts {
    /// Tells this connection from a later one to the same peer.
    pub(super) id: u64,
    /// Its place in the admission counts, handed back when it ends.
    pub(super) permit: Permit,
    /// Its output account and off switch.
    pub(super) output: Arc<ConnOutput>,
    /// Its own queue, for pongs (weak: the table holds the queue).
    pub(super) pong: mpsc::WeakSender<Bytes>,
    /// What is queued for it.
    pub(super) rx: mpsc::Receiver<Bytes>,
    /// For a WebSocket connection we open: the URI it requests (RFC 6455 §4.1); `None`
    /// requests `/` from the address.
    pub(super) ws_url: Option<sip_core::transport::websocket::WsUrl>,
}

/// Connects to `peer` (within `connect_timeout`), then runs the connection. The messages
/// queued meanwhile wait in `rx`. A failed connect is a transport error (RFC 3261 §18.4).
/// With `tls`, the connection is a TLS one whose server must prove that identity
/// (RFC 5922 §4): nothing queued is written before the handshake has checked it.
pub(super) async fn connect_and_run(
    shared: Arc<Shared>,
    peer: SocketAddr,
    transport: Transport,
    mut parts: ConnParts,
    tls: Option<TlsPeerIdentity>,
) {
    let key = (transport, peer);
    let timeout = shared.config.connect_timeout;
    let attempt = future::or(
        async { Some(Async::<TcpStream>::connect(peer).await) },
        async {
            Timer::after(timeout).await;
            None
        },
    );
    let failure = match until_stopped(shared.stop.clone(), attempt).await {
        None => {
            shared.finish_conn(key, parts.id, parts.permit, &parts.output, &mut parts.rx);
            return;
        }
        Some(Some(Ok(stream))) => {
            bump(&shared.counters.connections_opened);
            tracing::debug!(%peer, %transport, "connection opened");
            return match (tls, transport) {
                (Some(identity), _) => {
                    super::tls::handshake_and_run(shared, stream, peer, identity, parts, transport)
                        .await
                }
                (None, Transport::Ws) => {
                    let _ = stream.get_ref().set_nodelay(true);
                    match stream.get_ref().local_addr() {
                        Ok(local) => {
                            let host = parts
                                .ws_url
                                .as_ref()
                                .map_or_else(|| peer.to_string(), |u| u.host_header());
                            super::ws::run_client(
                                shared, stream, peer, local, transport, host, parts,
                            )
                            .await
                        }
                        Err(e) => {
                            finish(&shared, transport, peer, parts, Close::ReadError(e)).await
                        }
                    }
                }
                (None, _) => run_connection(shared, stream, peer, parts).await,
            };
        }
        Some(Some(Err(e))) => e.to_string(),
        Some(None) => format!("no answer within {timeout:?}"),
    };
    tracing::warn!(%peer, %transport, error = %failure, "connect failed");
    // Out of the table first, so a retry prompted by the error opens a new connection.
    shared.finish_conn(key, parts.id, parts.permit, &parts.output, &mut parts.rx);
    shared.report_error(transport, peer).await;
}

/// How long a connection that lost its framing stays open for the endpoint's answer to
/// the message that broke it (reading has stopped; only that answer is awaited).
const FRAMING_LINGER: Duration = Duration::from_millis(250);

/// Why a connection ended.
#[derive(Debug)]
pub(super) enum Close {
    /// The peer closed its side.
    PeerClosed,
    /// Reading failed.
    ReadError(io::Error),
    /// Writing failed: what was queued is lost.
    WriteError(io::Error),
    /// The stream lost message framing (already logged and counted).
    Framing,
    /// The core's policy closed it: a deadline passed or an output cap was reached.
    Limit(CloseReason),
    /// The endpoint dropped its input channel.
    InputClosed,
    /// The transports were shut down.
    Shutdown,
}

/// The driver's clock, as the core takes it.
pub(super) fn now() -> Instant {
    Instant::now()
}

/// Runs one established TCP connection (see [`pump`] and [`finish`]).
async fn run_connection(
    shared: Arc<Shared>,
    stream: Async<TcpStream>,
    peer: SocketAddr,
    mut parts: ConnParts,
) {
    if let Err(e) = stream.get_ref().set_nodelay(true) {
        tracing::debug!(%peer, error = %e, "TCP_NODELAY not set");
    }
    let reason = match stream.get_ref().local_addr() {
        Ok(local) => {
            pump(
                &shared,
                &stream,
                &stream,
                peer,
                local,
                Transport::Tcp,
                &mut parts,
            )
            .await
        }
        Err(e) => Close::ReadError(e),
    };
    drop(stream);
    finish(&shared, Transport::Tcp, peer, parts, reason).await;
}

/// Runs one accepted WebSocket connection: its handshake, then its messages
/// ([`super::ws::serve`]).
async fn run_ws_connection(
    shared: Arc<Shared>,
    stream: Async<TcpStream>,
    peer: SocketAddr,
    mut parts: ConnParts,
) {
    let _ = stream.get_ref().set_nodelay(true);
    let reason = match stream.get_ref().local_addr() {
        Ok(local) => {
            super::ws::serve(&shared, stream, peer, local, Transport::Ws, &mut parts).await
        }
        Err(e) => Close::ReadError(e),
    };
    finish(&shared, Transport::Ws, peer, parts, reason).await;
}

/// Runs a connection's reader and writer side by side until one of them ends it or it
/// is closed from outside (an output cap or shutdown).
pub(super) async fn pump<R, W>(
    shared: &Shared,
    rd: R,
    wr: W,
    peer: SocketAddr,
    local: SocketAddr,
    transport: Transport,
    parts: &mut ConnParts,
) -> Close
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let awaiting_pong = AtomicU64::new(0);
    let output = parts.output.clone();
    let conn = Connection {
        shared,
        peer,
        local,
        transport,
        output: &output,
        awaiting_pong: &awaiting_pong,
    };
    let work = future::or(
        conn.read_loop(rd, &parts.pong),
        future::or(conn.write_loop(wr, &mut parts.rx), async {
            Close::Limit(output.killed().await)
        }),
    );
    until_stopped(shared.stop.clone(), work)
        .await
        .unwrap_or(Close::Shutdown)
}

/// A connection is over (its stream already dropped): out of the table, counted, logged,
/// and a transport error reported if messages queued for it were lost.
pub(super) async fn finish(
    shared: &Shared,
    transport: Transport,
    peer: SocketAddr,
    parts: ConnParts,
    reason: Close,
) {
    let ConnParts {
        id,
        permit,
        output,
        pong: _,
        ws_url: _,
        mut rx,
    } = parts;
    let key = (transport, peer);
    let mut lost = shared.finish_conn(key, id, permit, &output, &mut rx);
    bump(&shared.counters.connections_closed);
    match &reason {
        Close::PeerClosed | Close::InputClosed | Close::Framing => {
            tracing::debug!(%peer, %transport, ?reason, "connection closed");
        }
        Close::ReadError(e) => tracing::debug!(%peer, %transport, error = %e, "read failed"),
        Close::WriteError(e) => {
            tracing::warn!(%peer, %transport, error = %e, "write failed");
            lost = true;
        }
        Close::Limit(why) => {
            let c = &shared.counters;
            bump(match why {
                CloseReason::Idle => &c.idle_closed,
                CloseReason::MessageDeadline => &c.message_deadline_closed,
                CloseReason::OutputCap => &c.output_cap_closed,
                CloseReason::OutputBudget => &c.output_budget_closed,
            });
            tracing::debug!(%peer, %transport, reason = %why, "connection closed");
        }
        Close::Shutdown => lost = false,
    }
    if lost {
        shared.report_error(transport, peer).await;
    }
}

/// What the reader and the writer of one connection share.
struct Connection<'a> {
    shared: &'a Shared,
    peer: SocketAddr,
    local: SocketAddr,
    transport: Transport,
    output: &'a ConnOutput,
    /// Pings we wrote that no pong has answered yet.
    awaiting_pong: &'a AtomicU64,
}

impl Connection<'_> {
    /// Frames the stream into messages for the endpoint, answers pings, and closes the
    /// connection when its [`StreamTimer`] says so (message deadline, idle timeout).
    async fn read_loop<R: AsyncRead + Unpin>(
        &self,
        mut rd: R,
        pong: &mpsc::WeakSender<Bytes>,
    ) -> Close {
        let counters = &self.shared.counters;
        let mut opts = ParseOptions::default();
        opts.limits.max_message_size = self.shared.config.max_message_size;
        opts.limits.max_content_length = self.shared.config.max_message_size;
        let mut reader = StreamReader::new(opts);
        let mut timer = StreamTimer::new(&self.shared.config.tcp_limits, now());
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            let read = match timer.deadline() {
                // A deadline too large to represent never fires.
                None => rd.read(&mut buf).await,
                Some(at) => {
                    let read = future::or(async { Some(rd.read(&mut buf).await) }, async {
                        Timer::at(at).await;
                        None
                    });
                    match read.await {
                        Some(read) => read,
                        None => match timer.expired(now()) {
                            Some(reason) => return Close::Limit(reason),
                            None => continue,
                        },
                    }
                }
            };
            let n = match read {
                Ok(0) => return Close::PeerClosed,
                Ok(n) => n,
                Err(e) => return Close::ReadError(e),
            };
            let arrived = now();
            reader.push(buf.get(..n).unwrap_or_default());
            let framed = frame(&mut reader, self.awaiting_pong.load(Ordering::Relaxed));
            if framed.pongs > 0 {
                self.awaiting_pong
                    .fetch_sub(framed.pongs, Ordering::Relaxed);
            }
            counters
                .keepalives_in
                .fetch_add(framed.pings + framed.pongs, Ordering::Relaxed);
            for _ in 0..framed.pings {
                if let Err(reason) = self.send_pong(pong) {
                    return Close::Limit(reason);
                }
            }
            let (progress, unframed) = (framed.progress, framed.unframed);
            counters
                .stream_messages_in
                .fetch_add(progress.messages, Ordering::Relaxed);
            for input in framed.inputs(self.transport, self.peer, self.local) {
                // Framed but not parsed: the endpoint parses each message once (and
                // answers 400 to one that is framed but malformed, or the one that broke
                // the framing if it can, §18.3).
                if self.shared.input.send(input).await.is_err() {
                    return Close::InputClosed;
                }
            }
            if unframed {
                // Every framer error means the stream lost sync (RFC 3261 §18.3); the
                // writer gets a moment to send the endpoint's answer before it closes.
                bump(&counters.framing_errors);
                tracing::warn!(peer = %self.peer, transport = %self.transport, "stream lost framing: closing the connection");
                Timer::after(FRAMING_LINGER).await;
                return Close::Framing;
            }
            timer.on_read(arrived, progress);
        }
    }

    /// Queues a pong; an output cap refusing it closes the connection (a peer that pings
    /// and does not read).
    fn send_pong(&self, pong: &mpsc::WeakSender<Bytes>) -> Result<(), CloseReason> {
        let Some(queue) = pong.upgrade() else {
            return Ok(());
        };
        let table = self.shared.table();
        match self
            .shared
            .enqueue(&table, &queue, self.output, Bytes::from_static(PONG))
        {
            Ok(()) => {
                bump(&self.shared.counters.pongs_sent);
                Ok(())
            }
            Err(EnqueueError::Limit(reason)) => Err(reason),
            Err(EnqueueError::Closed(_)) => Ok(()),
        }
    }

    /// Writes queued messages in order until a write fails, taking each off the
    /// connection's output account once written.
    ///
    /// If the table lets go of the queue (a newer connection from the same peer address
    /// took the entry: typically a peer that connects from its listening port while our
    /// connection to that port is open), nothing more is sent here, but the connection
    /// stays open for what the peer still sends on it, until it closes or a deadline
    /// passes.
    async fn write_loop<W: AsyncWrite + Unpin>(
        &self,
        mut wr: W,
        rx: &mut mpsc::Receiver<Bytes>,
    ) -> Close {
        while let Some(bytes) = rx.recv().await {
            if let Err(e) = wr.write_all(&bytes).await {
                return Close::WriteError(e);
            }
            // TLS buffers records: push them out now.
            if let Err(e) = wr.flush().await {
                return Close::WriteError(e);
            }
            self.shared.written(self.output, bytes.len());
            match bytes.as_ref() {
                PONG => {}
                PING => {
                    self.awaiting_pong.fetch_add(1, Ordering::Relaxed);
                }
                _ => bump(&self.shared.counters.stream_messages_out),
            }
        }
        tracing::debug!(peer = %self.peer, "connection replaced in the table: receive only");
        std::future::pending().await
    }
}
