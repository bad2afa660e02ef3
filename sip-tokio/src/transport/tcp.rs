//! TCP: listeners, outgoing connects, and the task that runs one connection (RFC 3261
//! §18.1.1, §18.2.2, §18.3; CRLF keep-alives of RFC 5626 §3.5.1). TLS connections are TCP
//! connections with a handshake first ([`super::tls`]); past it they run the same way.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use sip_core::endpoint::Input;
use sip_core::message::ParseOptions;
use sip_core::transport::TlsPeerIdentity;
use sip_core::transport::Transport;
use sip_core::transport::keepalive::{PING, PONG, StreamReader};
use sip_core::transport::limits::{CloseReason, Permit, ReadProgress, Refusal, StreamTimer};
use socket2::{Protocol, Type};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

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
pub(super) fn bind_listener(addr: SocketAddr, config: &TransportConfig) -> io::Result<TcpListener> {
    let socket = new_socket(addr, Type::STREAM, Protocol::TCP, config)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    TcpListener::from_std(socket.into())
}

/// Accepts connections until stopped from outside, refusing those the core's
/// [`Admission`](sip_core::transport::limits::Admission) refuses (per source, in total).
/// What `kind` says runs on each connection: TCP, TLS once its handshake is done, or
/// WebSocket (over TLS for WSS) once its opening handshake is done.
pub(super) async fn accept_loop(
    shared: Arc<Shared>,
    listener: TcpListener,
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
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
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
        let (tx, rx) = mpsc::unbounded_channel();
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
    pub(super) pong: mpsc::WeakUnboundedSender<Bytes>,
    /// What is queued for it.
    pub(super) rx: mpsc::UnboundedReceiver<Bytes>,
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
    let attempt = tokio::time::timeout(timeout, connect(peer, &shared.config));
    let failure = match until_stopped(shared.stop.clone(), attempt).await {
        None => {
            shared.finish_conn(key, parts.id, parts.permit, &parts.output, &mut parts.rx);
            return;
        }
        Some(Ok(Ok(stream))) => {
            bump(&shared.counters.connections_opened);
            tracing::debug!(%peer, %transport, "connection opened");
            return match (tls, transport) {
                (Some(identity), _) => {
                    super::tls::handshake_and_run(shared, stream, peer, identity, parts, transport)
                        .await
                }
                (None, Transport::Ws) => {
                    let _ = stream.set_nodelay(true);
                    match stream.local_addr() {
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
        Some(Ok(Err(e))) => e.to_string(),
        Some(Err(_elapsed)) => format!("no answer within {timeout:?}"),
    };
    tracing::warn!(%peer, %transport, error = %failure, "connect failed");
    // Out of the table first, so a retry prompted by the error opens a new connection.
    shared.finish_conn(key, parts.id, parts.permit, &parts.output, &mut parts.rx);
    shared.report_error(transport, peer).await;
}

async fn connect(peer: SocketAddr, config: &TransportConfig) -> io::Result<TcpStream> {
    let socket = if peer.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(size) = config.recv_buffer_size {
        socket.set_recv_buffer_size(u32::try_from(size).unwrap_or(u32::MAX))?;
    }
    if let Some(size) = config.send_buffer_size {
        socket.set_send_buffer_size(u32::try_from(size).unwrap_or(u32::MAX))?;
    }
    socket.connect(peer).await
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

/// The driver's clock, as the core takes it (tokio's, so paused test clocks apply).
pub(super) fn now() -> std::time::Instant {
    Instant::now().into_std()
}

/// Runs one established TCP connection (see [`pump`] and [`finish`]).
async fn run_connection(
    shared: Arc<Shared>,
    mut stream: TcpStream,
    peer: SocketAddr,
    mut parts: ConnParts,
) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(%peer, error = %e, "TCP_NODELAY not set");
    }
    let reason = match stream.local_addr() {
        Ok(local) => {
            let (rd, wr) = stream.split();
            pump(&shared, rd, wr, peer, local, Transport::Tcp, &mut parts).await
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
    stream: TcpStream,
    peer: SocketAddr,
    mut parts: ConnParts,
) {
    let _ = stream.set_nodelay(true);
    let reason = match stream.local_addr() {
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
    let conn = Connection {
        shared,
        peer,
        local,
        transport,
        output: &parts.output,
        awaiting_pong: &awaiting_pong,
    };
    let output = &parts.output;
    let work = async {
        tokio::select! {
            r = conn.read_loop(rd, &parts.pong) => r,
            w = conn.write_loop(wr, &mut parts.rx) => w,
            () = output.kill.notified() => {
                Close::Limit(output.reason.get().copied().unwrap_or(CloseReason::OutputCap))
            }
        }
    };
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
    mut parts: ConnParts,
    reason: Close,
) {
    let key = (transport, peer);
    let mut lost = shared.finish_conn(key, parts.id, parts.permit, &parts.output, &mut parts.rx);
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
    async fn read_loop(
        &self,
        mut rd: impl AsyncRead + Unpin,
        pong: &mpsc::WeakUnboundedSender<Bytes>,
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
                    match tokio::time::timeout_at(Instant::from_std(at), rd.read(&mut buf)).await {
                        Ok(read) => read,
                        Err(_elapsed) => match timer.expired(now()) {
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
            let mut progress = ReadProgress::default();
            loop {
                let (seen, next) = reader.next(self.awaiting_pong.load(Ordering::Relaxed));
                if seen.pongs > 0 {
                    self.awaiting_pong.fetch_sub(seen.pongs, Ordering::Relaxed);
                }
                progress.keepalives += seen.pings + seen.pongs;
                for _ in 0..seen.pings + seen.pongs {
                    bump(&counters.keepalives_in);
                }
                for _ in 0..seen.pings {
                    if let Err(reason) = self.send_pong(pong) {
                        return Close::Limit(reason);
                    }
                }
                match next {
                    None => break,
                    Some(Ok(bytes)) => {
                        progress.messages += 1;
                        // Framed but not parsed: the endpoint parses each message once (and
                        // answers 400 to one that is framed but malformed).
                        bump(&counters.stream_messages_in);
                        let input = Input::Receive {
                            transport: self.transport,
                            from: self.peer,
                            to: self.local,
                            bytes,
                        };
                        if self.shared.input.send(input).await.is_err() {
                            return Close::InputClosed;
                        }
                    }
                    // Every framer error means the stream lost sync (RFC 3261 §18.3).
                    Some(Err(e)) => {
                        debug_assert!(e.breaks_stream());
                        bump(&counters.framing_errors);
                        tracing::warn!(peer = %self.peer, error = %e, "TCP stream lost framing: closing the connection");
                        // The endpoint answers that message if it can (§18.3); the writer
                        // gets a moment to send the answer before the connection closes.
                        let input = Input::Unframed {
                            transport: self.transport,
                            from: self.peer,
                            to: self.local,
                            bytes: reader.take_rejected().unwrap_or_default(),
                            error: e,
                        };
                        if self.shared.input.send(input).await.is_err() {
                            return Close::InputClosed;
                        }
                        tokio::time::sleep(FRAMING_LINGER).await;
                        return Close::Framing;
                    }
                }
            }
            progress.in_progress = reader.message_in_progress();
            timer.on_read(arrived, progress);
        }
    }

    /// Queues a pong; an output cap refusing it closes the connection (a peer that pings
    /// and does not read).
    fn send_pong(&self, pong: &mpsc::WeakUnboundedSender<Bytes>) -> Result<(), CloseReason> {
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
    async fn write_loop(
        &self,
        mut wr: impl AsyncWrite + Unpin,
        rx: &mut mpsc::UnboundedReceiver<Bytes>,
    ) -> Close {
        while let Some(bytes) = rx.recv().await {
            if let Err(e) = wr.write_all(&bytes).await {
                return Close::WriteError(e);
            }
            // A TLS stream may hold records back until flushed (a no-op on TCP); one flush
            // per batch of queued messages.
            if rx.is_empty()
                && let Err(e) = wr.flush().await
            {
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
