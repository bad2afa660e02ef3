//! TCP: listeners and connections (RFC 3261 §18.1.1, §18.2.2, §18.3; CRLF keep-alives of
//! RFC 5626 §3.5.1). A TLS connection is one of these with a [`TlsSession`] between the
//! socket and the framer ([`crate::tls`]).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use sip_core::message::{ParseError, ParseOptions};
use sip_core::transport::Transport;
use sip_core::transport::keepalive::{Seen, StreamReader};
use sip_core::transport::limits::{CloseReason, Permit, Queued, StreamLimits, StreamTimer};
use sip_core::transport::stream::output_cost;
use socket2::{Protocol, Type};

use crate::config::DriverConfig;
use crate::tls::TlsSession;

/// Pending connections the kernel holds for each listener.
const LISTEN_BACKLOG: i32 = 1024;

/// Creates, binds and starts a TCP listener.
pub(crate) fn bind_listener(
    addr: SocketAddr,
    config: &DriverConfig,
) -> io::Result<(mio::net::TcpListener, SocketAddr)> {
    let socket = crate::new_socket(addr, Type::STREAM, Protocol::TCP, config)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    let std: std::net::TcpListener = socket.into();
    let local = std.local_addr()?;
    Ok((mio::net::TcpListener::from_std(std), local))
}

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnState {
    /// An outgoing connect in progress, which fails if not done by this instant.
    Connecting(Instant),
    /// Connected, the TLS handshake in progress: it fails if not done by this instant
    /// (`tcp_limits.handshake_deadline`).
    Handshaking(Instant),
    /// Established.
    Open,
}

/// One TCP connection, accepted or outgoing.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) stream: mio::net::TcpStream,
    /// TCP, or TLS when `tls` is set.
    pub(crate) transport: Transport,
    /// The TLS session of a TLS connection (boxed: TCP connections carry only a pointer).
    pub(crate) tls: Option<Box<TlsSession>>,
    pub(crate) peer: SocketAddr,
    /// The local end (known once connected).
    pub(crate) local: Option<SocketAddr>,
    pub(crate) state: ConnState,
    /// Frames the incoming bytes into messages and counts the keep-alives between them.
    pub(crate) reader: StreamReader,
    /// Messages to write; the first is written from `offset` on.
    pub(crate) queue: VecDeque<Bytes>,
    pub(crate) offset: usize,
    /// What the queued messages cost against the output caps ([`output_cost`]).
    pub(crate) queued_bytes: usize,
    /// The message deadline and idle timeout (the core's policy).
    pub(crate) timer: StreamTimer,
    /// Its place in the admission counts, handed back when it closes.
    pub(crate) permit: Permit,
    /// Tells this connection from an earlier one in the same slot.
    pub(crate) generation: u64,
    /// Registered for writable readiness too.
    pub(crate) writable_interest: bool,
    /// The WebSocket codec of a WebSocket connection (boxed: others carry a pointer).
    pub(crate) ws: Option<Box<crate::ws::WsState>>,
}

/// Outcome of writing what is queued.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Flush {
    /// Everything is written.
    Done,
    /// The socket would block: the rest waits for writable readiness.
    Blocked,
    /// Writing failed.
    Failed(io::ErrorKind),
}

/// Outcome of reading what is available.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ReadOutcome {
    /// Everything available was read.
    Drained,
    /// The read budget ran out first.
    Budget,
    /// The peer closed its side.
    Closed,
    /// Reading failed.
    Failed(io::ErrorKind),
}

impl Conn {
    pub(crate) fn new(
        stream: mio::net::TcpStream,
        peer: SocketAddr,
        state: ConnState,
        now: Instant,
        generation: u64,
        permit: Permit,
        config: &DriverConfig,
    ) -> Conn {
        let mut opts: ParseOptions = config.endpoint.parse;
        opts.limits.max_message_size = config.max_message_size;
        opts.limits.max_content_length = config.max_message_size;
        let local = match state {
            ConnState::Open | ConnState::Handshaking(_) => stream.local_addr().ok(),
            ConnState::Connecting(_) => None,
        };
        Conn {
            stream,
            transport: Transport::Tcp,
            tls: None,
            peer,
            local,
            state,
            reader: StreamReader::new(opts),
            queue: VecDeque::new(),
            offset: 0,
            queued_bytes: 0,
            timer: StreamTimer::new(&config.tcp_limits, now),
            permit,
            generation,
            writable_interest: false,
            ws: None,
        }
    }

    /// This (accepted) connection as a WebSocket one (RFC 7118): its bytes go through the
    /// core's WebSocket codec instead of the SIP stream framer.
    pub(crate) fn with_ws(mut self, max_message: usize) -> Conn {
        self.transport = Transport::Ws;
        self.ws = Some(Box::new(crate::ws::WsState {
            side: crate::ws::WsSide::accepted(max_message),
            out: crate::ws::WsOutput::default(),
        }));
        self
    }

    /// This connection as a TLS one, with `session` between the socket and the framer.
    pub(crate) fn with_tls(mut self, session: TlsSession) -> Conn {
        self.transport = Transport::Tls;
        self.tls = Some(Box::new(session));
        self
    }

    /// When the connection's own timer is due: the connect or handshake deadline, or the
    /// message deadline or idle timeout of its [`StreamTimer`].
    pub(crate) fn deadline(&self) -> Option<Instant> {
        match self.state {
            ConnState::Connecting(at) | ConnState::Handshaking(at) => Some(at),
            ConnState::Open => self.timer.deadline(),
        }
    }

    /// Queues bytes if the output caps allow (`total`: what all connections have queued);
    /// an `Err` says why the connection must close instead. Returns the cost charged.
    pub(crate) fn enqueue(
        &mut self,
        bytes: Bytes,
        limits: &StreamLimits,
        total: usize,
    ) -> Result<usize, CloseReason> {
        let cost = output_cost(bytes.len());
        let queued = Queued {
            connection: self.queued_bytes,
            total,
        };
        limits.check_output(queued, cost)?;
        self.queued_bytes += cost;
        self.queue.push_back(bytes);
        Ok(cost)
    }

    /// Writes what is queued until done or the socket would block.
    pub(crate) fn flush(&mut self) -> Flush {
        if self.tls.is_some() {
            return self.tls_flush();
        }
        while let Some(front) = self.queue.front() {
            let rest = front.get(self.offset..).unwrap_or_default();
            match self.stream.write(rest) {
                Ok(0) => return Flush::Failed(io::ErrorKind::WriteZero),
                Ok(n) => {
                    self.offset += n;
                    if self.offset >= front.len() {
                        let cost = output_cost(front.len());
                        self.queued_bytes = self.queued_bytes.saturating_sub(cost);
                        self.queue.pop_front();
                        self.offset = 0;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Flush::Blocked,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Flush::Failed(e.kind()),
            }
        }
        Flush::Done
    }

    /// Reads into the reader until the socket would block, at most `budget` reads.
    pub(crate) fn read(&mut self, buf: &mut [u8], budget: usize) -> ReadOutcome {
        for _ in 0..budget.max(1) {
            match self.stream.read(buf) {
                Ok(0) => return ReadOutcome::Closed,
                Ok(n) => crate::ws::push_plain(
                    &mut self.reader,
                    self.ws.as_deref_mut(),
                    buf.get(..n).unwrap_or_default(),
                ),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return ReadOutcome::Drained,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return ReadOutcome::Failed(e.kind()),
            }
        }
        ReadOutcome::Budget
    }

    /// The keep-alives before the next framed message, and that message (`None`: more
    /// bytes are needed; an error: the stream lost framing and must close, and
    /// `take_rejected` gives what was held of the message). This driver sends no pings, so
    /// every ping seen is owed a pong.
    pub(crate) fn next_frame(&mut self) -> (Seen, Option<Result<Bytes, ParseError>>) {
        self.reader.next(0)
    }

    /// The bytes of the message that broke the framing, once.
    pub(crate) fn take_rejected(&mut self) -> Option<Bytes> {
        self.reader.take_rejected()
    }

    /// Checks an outgoing connect after writable readiness (as mio documents it: a
    /// pending error fails it, a peer address means it is established). `Ok(false)`: still
    /// in progress.
    pub(crate) fn check_connected(&mut self) -> Result<bool, io::ErrorKind> {
        match self.stream.take_error() {
            Ok(Some(e)) | Err(e) => return Err(e.kind()),
            Ok(None) => {}
        }
        match self.stream.peer_addr() {
            Ok(_) => {
                self.state = ConnState::Open;
                self.local = self.stream.local_addr().ok();
                if let Err(e) = self.stream.set_nodelay(true) {
                    tracing::debug!(peer = %self.peer, error = %e, "TCP_NODELAY not set");
                }
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(e) => Err(e.kind()),
        }
    }
}
