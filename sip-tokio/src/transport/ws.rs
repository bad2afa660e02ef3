//! SIP over WebSocket (RFC 7118): the opening handshake within
//! `tcp_limits.handshake_deadline`, then one connection's messages, both through the
//! core's sans-IO codec ([`sip_core::transport::websocket`]): this driver only moves
//! bytes and applies the TCP limits (message deadline, idle timeout, output caps), as for
//! TCP and TLS connections, which share the connection table.
//!
//! Each WebSocket message is one SIP message (RFC 7118 §5.1), handed to the endpoint as
//! `Input::Receive` with [`Transport::Ws`] or [`Transport::Wss`], which the core parses
//! like a datagram (no Content-Length framing). Anything that breaks RFC 6455's rules or
//! exceeds `max_message_size` closes the connection with the codec's close code; nothing
//! of it reaches the endpoint.

use std::net::SocketAddr;
use std::time::Duration;

use sip_core::endpoint::Input;
use sip_core::transport::Transport;
use sip_core::transport::limits::{CloseReason, ReadProgress, StreamTimer};
use sip_core::transport::websocket::{
    ClientHandshake, CloseCode, MAX_HANDSHAKE, Role, WsConnection, WsLimits, handshake,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use super::stats::bump;
use super::tcp::{Close, ConnParts, finish, now};
use super::{Shared, until_stopped};

/// Bytes read from a connection at a time, at first: a SIP message over WebSocket is
/// mostly well under it, and an idle connection holds its read buffer for its whole life.
const READ_CHUNK: usize = 2 * 1024;

/// The most a connection's read buffer grows to, doubling each time a read fills it (a
/// peer sending large messages or many at once).
const MAX_READ_CHUNK: usize = 16 * 1024;

/// How long a connection we close waits for what is left to be written (its Close frame,
/// a refusal) before the socket goes.
const CLOSE_LINGER: Duration = Duration::from_millis(250);

/// Why an opening handshake failed.
#[derive(Debug, thiserror::Error)]
pub(super) enum HandshakeFailure {
    /// Refused (and answered with its HTTP status), or the server's answer refused.
    #[error("refused: {0}")]
    Refused(String),
    /// Not completed within the deadline.
    #[error("not completed within the handshake deadline")]
    Timeout,
    /// The peer closed, or reading or writing failed.
    #[error("{0}")]
    Io(std::io::Error),
}

/// Reads an upgrade request and answers it (RFC 6455 §4.2, RFC 7118 §4: `sip` must be
/// offered), within the handshake deadline. Returns the bytes that followed the head.
async fn server_handshake<S>(shared: &Shared, stream: &mut S) -> Result<Vec<u8>, HandshakeFailure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let work = async {
        // Read into the buffer's spare room: no array in the task's future, which would
        // weigh on every connection for its whole life.
        let mut buf = Vec::with_capacity(1024);
        loop {
            buf.reserve(1024);
            let n = stream
                .read_buf(&mut buf)
                .await
                .map_err(HandshakeFailure::Io)?;
            if n == 0 {
                return Err(HandshakeFailure::Io(
                    std::io::ErrorKind::UnexpectedEof.into(),
                ));
            }
            match handshake::accept(&buf, MAX_HANDSHAKE) {
                Ok(None) => {}
                Ok(Some(up)) => {
                    stream
                        .write_all(&up.response)
                        .await
                        .map_err(HandshakeFailure::Io)?;
                    stream.flush().await.map_err(HandshakeFailure::Io)?;
                    return Ok(buf.split_off(up.consumed.min(buf.len())));
                }
                Err(e) => {
                    // Answered with its status (400, 426 for a wrong version), then closed.
                    let _ = tokio::time::timeout(CLOSE_LINGER, async {
                        let _ = stream.write_all(&e.response()).await;
                        let _ = stream.flush().await;
                    })
                    .await;
                    return Err(HandshakeFailure::Refused(e.to_string()));
                }
            }
        }
    };
    tokio::time::timeout(shared.config.tcp_limits.handshake_deadline, work)
        .await
        .unwrap_or(Err(HandshakeFailure::Timeout))
}

/// Sends the upgrade request for `host` and `path` and reads the answer (RFC 6455 §4.1,
/// RFC 7118 §4: `sip` must be selected), within the handshake deadline. Returns the bytes
/// that followed the answer's head.
async fn client_handshake<S>(
    shared: &Shared,
    stream: &mut S,
    nonce: [u8; 16],
    host: &str,
    path: &str,
) -> Result<Vec<u8>, HandshakeFailure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let work = async {
        let (hs, request) = ClientHandshake::new(nonce, host, path);
        stream
            .write_all(&request)
            .await
            .map_err(HandshakeFailure::Io)?;
        stream.flush().await.map_err(HandshakeFailure::Io)?;
        let mut buf = Vec::with_capacity(512);
        loop {
            buf.reserve(1024);
            let n = stream
                .read_buf(&mut buf)
                .await
                .map_err(HandshakeFailure::Io)?;
            if n == 0 {
                return Err(HandshakeFailure::Io(
                    std::io::ErrorKind::UnexpectedEof.into(),
                ));
            }
            match hs.finish(&buf, MAX_HANDSHAKE) {
                Ok(None) => {}
                Ok(Some(consumed)) => return Ok(buf.split_off(consumed.min(buf.len()))),
                Err(e) => return Err(HandshakeFailure::Refused(e.to_string())),
            }
        }
    };
    tokio::time::timeout(shared.config.tcp_limits.handshake_deadline, work)
        .await
        .unwrap_or(Err(HandshakeFailure::Timeout))
}

/// Runs an outgoing WebSocket connection to `ws://host/` (or `wss://`, TLS already
/// established) as a client: the handshake, then [`pump`], masking every frame with keys
/// drawn from a generator seeded per connection from `TransportConfig::ws_mask_seed`
/// (RFC 6455 §5.3). A failed handshake is a transport error (RFC 3261 §18.4): nothing
/// queued is sent.
pub(super) async fn run_client<S>(
    shared: std::sync::Arc<Shared>,
    mut stream: S,
    peer: SocketAddr,
    local: SocketAddr,
    transport: Transport,
    host: String,
    mut parts: ConnParts,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (seed, nonce) =
        sip_core::transport::websocket::client_keys(shared.config.ws_mask_seed, parts.id);
    let resource = parts.ws_url.as_ref().map_or("/", |u| u.resource());
    let hs = client_handshake(&shared, &mut stream, nonce, &host, resource);
    let early = match until_stopped(shared.stop.clone(), hs).await {
        None => return finish(&shared, transport, peer, parts, Close::Shutdown).await,
        Some(Ok(early)) => early,
        Some(Err(f)) => {
            handshake_failed(&shared, peer, transport, &f);
            tracing::warn!(%peer, %transport, error = %f, "WebSocket handshake failed: nothing sent");
            shared.finish_conn(
                (transport, peer),
                parts.id,
                parts.permit,
                &parts.output,
                &mut parts.rx,
            );
            bump(&shared.counters.connections_closed);
            return shared.report_error(transport, peer).await;
        }
    };
    bump(&shared.counters.ws_handshakes);
    let ws = WsConnection::new(Role::Client { seed }, limits(&shared));
    let reason = pump(
        &shared, stream, ws, early, peer, local, transport, &mut parts,
    )
    .await;
    finish(&shared, transport, peer, parts, reason).await;
}

/// Counts and logs a failed handshake.
fn handshake_failed(shared: &Shared, peer: SocketAddr, transport: Transport, f: &HandshakeFailure) {
    bump(&shared.counters.ws_handshake_failures);
    tracing::debug!(%peer, %transport, error = %f, "WebSocket handshake failed: closing");
}

/// Runs an accepted connection (TCP, or TLS already established for WSS): the handshake,
/// then [`pump`]. Returns why it ended.
pub(super) async fn serve<S>(
    shared: &Shared,
    mut stream: S,
    peer: SocketAddr,
    local: SocketAddr,
    transport: Transport,
    parts: &mut ConnParts,
) -> Close
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let early =
        match until_stopped(shared.stop.clone(), server_handshake(shared, &mut stream)).await {
            None => return Close::Shutdown,
            Some(Ok(early)) => early,
            Some(Err(f)) => {
                handshake_failed(shared, peer, transport, &f);
                return Close::Framing;
            }
        };
    bump(&shared.counters.ws_handshakes);
    let ws = WsConnection::new(Role::Server, limits(shared));
    pump(shared, stream, ws, early, peer, local, transport, parts).await
}

fn limits(shared: &Shared) -> WsLimits {
    WsLimits {
        max_message: shared.config.max_message_size,
        ..WsLimits::default()
    }
}

/// Moves one open WebSocket connection's bytes: what is read goes through `ws` (whole
/// messages to the endpoint; pongs and closes it queues), what is queued for the peer is
/// sent as one WebSocket message each. Ends on the closing handshake, a protocol error
/// (after writing the Close), a deadline of the [`StreamTimer`], an output cap, or a
/// read or write failure.
#[allow(clippy::too_many_arguments)]
async fn pump<S>(
    shared: &Shared,
    stream: S,
    mut ws: WsConnection,
    early: Vec<u8>,
    peer: SocketAddr,
    local: SocketAddr,
    transport: Transport,
    parts: &mut ConnParts,
) -> Close
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if let Some(keepalive) = shared.config.ws_keepalive {
        ws = ws.with_keepalive(keepalive, now());
    }
    let (mut rd, mut wr) = tokio::io::split(stream);
    let counters = &shared.counters;
    let mut timer = StreamTimer::new(&shared.config.tcp_limits, now());
    let mut buf = vec![0u8; READ_CHUNK];
    let mut read_len = 0;
    let mut pending: Option<Vec<u8>> = (!early.is_empty()).then_some(early);
    // While the table holds our queue we send what it brings; once a newer connection
    // from the same address takes the entry, we only read.
    let mut queue_open = true;
    let mut stop = shared.stop.clone();
    loop {
        // What the codec has to write: messages, pongs, Close frames.
        let mut wrote = false;
        while let Some(bytes) = ws.poll_transmit() {
            let write = tokio::time::timeout(CLOSE_LINGER * 40, wr.write_all(&bytes));
            tokio::select! {
                r = write => match r {
                    Ok(Ok(())) => wrote = true,
                    Ok(Err(e)) => return Close::WriteError(e),
                    Err(_) => return Close::WriteError(std::io::ErrorKind::TimedOut.into()),
                },
                () = parts.output.kill.notified() => return killed(parts),
                () = stopped(&mut stop) => return Close::Shutdown,
            }
        }
        if wrote && let Err(e) = wr.flush().await {
            return Close::WriteError(e);
        }
        if ws.is_closed() {
            let _ = tokio::time::timeout(CLOSE_LINGER, wr.shutdown()).await;
            if ws.peer_close().is_none() {
                // We failed the connection: what the peer still sends is read and dropped
                // for a moment, so the kernel does not answer it with a reset that could
                // destroy our Close frame before the peer reads it (RFC 6455 §7.1.1).
                drain(&mut rd, &mut buf).await;
            }
            return match ws.peer_close() {
                Some(_) => Close::PeerClosed,
                None => Close::Framing,
            };
        }
        let data = if let Some(early) = pending.take() {
            buf = early;
            read_len = buf.len();
            Ok(())
        } else {
            if read_len == buf.len() && buf.len() < MAX_READ_CHUNK {
                // The last read filled the buffer: more may be waiting.
                buf.resize(buf.len() * 2, 0);
            }
            if buf.len() < READ_CHUNK {
                // The early bytes' buffer, too short to read into.
                buf.resize(READ_CHUNK, 0);
            }
            let deadline = match (timer.deadline(), ws.poll_timeout()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
            .map(Instant::from_std);
            let sleep = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                read = rd.read(&mut buf) => match read {
                    Ok(0) => return Close::PeerClosed,
                    Ok(n) => {
                        read_len = n;
                        Ok(())
                    }
                    Err(e) => return Close::ReadError(e),
                },
                out = parts.rx.recv(), if queue_open => match out {
                    Some(bytes) => Err(bytes),
                    None => {
                        queue_open = false;
                        tracing::debug!(%peer, "connection replaced in the table: receive only");
                        continue;
                    }
                },
                () = sleep => {
                    if ws.handle_timeout(now()).is_err() {
                        bump(&counters.ws_pong_timeouts);
                        tracing::debug!(%peer, %transport, "no pong to our keep-alive ping: closing");
                        // The codec queued its Close; the loop writes it and ends.
                        continue;
                    }
                    match timer.expired(now()) {
                    Some(reason) => {
                        ws.close(CloseCode::POLICY);
                        flush_close(&mut ws, &mut wr).await;
                        return Close::Limit(reason);
                    }
                    None => continue,
                    }
                },
                () = parts.output.kill.notified() => {
                    ws.close(CloseCode::POLICY);
                    flush_close(&mut ws, &mut wr).await;
                    return killed(parts);
                },
                () = stopped(&mut stop) => {
                    // Shutting down: a Close saying so (RFC 6455 §7.4.1), for a moment.
                    ws.close(CloseCode::GOING_AWAY);
                    flush_close(&mut ws, &mut wr).await;
                    return Close::Shutdown;
                },
            }
        };
        match data {
            // A SIP message for the peer: one WebSocket message.
            Err(message) => {
                shared.written(&parts.output, message.len());
                if ws.send(&message).is_ok() {
                    bump(&counters.stream_messages_out);
                }
            }
            Ok(()) => {
                let arrived = now();
                let read = buf.get(..read_len).unwrap_or_default();
                let fault = ws.handle_input(read).err();
                let mut progress = ReadProgress::default();
                while let Some(m) = ws.poll_message() {
                    progress.messages += 1;
                    bump(&counters.stream_messages_in);
                    let input = Input::Receive {
                        transport,
                        from: peer,
                        to: local,
                        bytes: m.payload,
                    };
                    if shared.input.send(input).await.is_err() {
                        return Close::InputClosed;
                    }
                }
                progress.keepalives = ws.take_keepalives();
                for _ in 0..progress.keepalives {
                    bump(&counters.keepalives_in);
                }
                if let Some(e) = fault {
                    bump(&counters.ws_protocol_errors);
                    tracing::debug!(%peer, %transport, error = %e, code = e.close_code().0, "WebSocket protocol error: closing");
                    // The codec queued the Close; the loop writes it and ends.
                    continue;
                }
                progress.in_progress = ws.message_in_progress();
                timer.on_read(arrived, progress);
            }
        }
    }
}

/// Completes once the transports stop (or their stop sender is gone).
async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// Reads and drops what the peer sends until it closes, for [`CLOSE_LINGER`] at most.
async fn drain<R: AsyncRead + Unpin>(rd: &mut R, buf: &mut [u8]) {
    let _ = tokio::time::timeout(CLOSE_LINGER, async {
        while matches!(rd.read(buf).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// Writes the Close frame just queued, for a moment at most.
async fn flush_close<W: AsyncWrite + Unpin>(ws: &mut WsConnection, wr: &mut W) {
    let _ = tokio::time::timeout(CLOSE_LINGER, async {
        while let Some(b) = ws.poll_transmit() {
            if wr.write_all(&b).await.is_err() {
                return;
            }
        }
        let _ = wr.flush().await;
        let _ = wr.shutdown().await;
    })
    .await;
}

fn killed(parts: &ConnParts) -> Close {
    Close::Limit(
        parts
            .output
            .reason
            .get()
            .copied()
            .unwrap_or(CloseReason::OutputCap),
    )
}
