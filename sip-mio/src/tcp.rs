//! TCP: listeners and connections (RFC 3261 §18.1.1, §18.2.2, §18.3; CRLF keep-alives of
//! RFC 5626 §3.5.1).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use sip_core::message::{ParseOptions, StreamFramer};
use socket2::{Protocol, Type};

use crate::config::DriverConfig;
use crate::event::TransportFailure;

/// Pending connections the kernel holds for each listener.
const LISTEN_BACKLOG: i32 = 1024;

/// A keep-alive pong: a single CRLF (RFC 5626 §3.5.1).
pub(crate) const PONG: &[u8] = b"\r\n";

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
    /// Established.
    Open,
}

/// One TCP connection, accepted or outgoing.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) stream: mio::net::TcpStream,
    pub(crate) peer: SocketAddr,
    /// The local end (known once connected).
    pub(crate) local: Option<SocketAddr>,
    pub(crate) state: ConnState,
    pub(crate) framer: StreamFramer,
    /// Messages to write; the first is written from `offset` on.
    pub(crate) queue: VecDeque<Bytes>,
    pub(crate) offset: usize,
    pub(crate) queued_bytes: usize,
    /// When the connection last carried bytes either way.
    pub(crate) last_activity: Instant,
    /// Tells this connection from an earlier one in the same slot.
    pub(crate) generation: u64,
    /// Line ends skipped by the framer not yet paired into a ping.
    pub(crate) crlf_pending: u64,
    /// Registered for writable readiness too.
    pub(crate) writable_interest: bool,
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
        config: &DriverConfig,
    ) -> Conn {
        let mut opts: ParseOptions = config.endpoint.parse;
        opts.limits.max_message_size = config.max_message_size;
        opts.limits.max_content_length = config.max_message_size;
        let local = match state {
            ConnState::Open => stream.local_addr().ok(),
            ConnState::Connecting(_) => None,
        };
        Conn {
            stream,
            peer,
            local,
            state,
            framer: StreamFramer::new(opts),
            queue: VecDeque::new(),
            offset: 0,
            queued_bytes: 0,
            last_activity: now,
            generation,
            crlf_pending: 0,
            writable_interest: false,
        }
    }

    /// When the connection's own timer is due: the connect deadline, or the idle limit.
    pub(crate) fn deadline(&self, idle: std::time::Duration) -> Option<Instant> {
        match self.state {
            ConnState::Connecting(at) => Some(at),
            ConnState::Open => self.last_activity.checked_add(idle),
        }
    }

    /// Queues bytes; `false` (and nothing queued) if that would exceed `limit`.
    pub(crate) fn enqueue(&mut self, bytes: Bytes, limit: usize) -> bool {
        if self.queued_bytes.saturating_add(bytes.len()) > limit && !self.queue.is_empty() {
            return false;
        }
        self.queued_bytes += bytes.len();
        self.queue.push_back(bytes);
        true
    }

    /// Writes what is queued until done or the socket would block.
    pub(crate) fn flush(&mut self, now: Instant) -> Flush {
        while let Some(front) = self.queue.front() {
            let rest = front.get(self.offset..).unwrap_or_default();
            match self.stream.write(rest) {
                Ok(0) => return Flush::Failed(io::ErrorKind::WriteZero),
                Ok(n) => {
                    self.last_activity = now;
                    self.offset += n;
                    if self.offset >= front.len() {
                        self.queued_bytes = self.queued_bytes.saturating_sub(front.len());
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

    /// Reads into the framer until the socket would block, at most `budget` reads.
    pub(crate) fn read(&mut self, buf: &mut [u8], budget: usize, now: Instant) -> ReadOutcome {
        for _ in 0..budget.max(1) {
            match self.stream.read(buf) {
                Ok(0) => return ReadOutcome::Closed,
                Ok(n) => {
                    self.last_activity = now;
                    self.framer.push(buf.get(..n).unwrap_or_default());
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return ReadOutcome::Drained,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return ReadOutcome::Failed(e.kind()),
            }
        }
        ReadOutcome::Budget
    }

    /// The next framed message, and how many keep-alive pings preceded it (RFC 5626
    /// §3.5.1: a double CRLF is a ping owed a single-CRLF pong; a ping may arrive split over
    /// two reads, so an odd line end waits for the next one, and a message resets the count).
    pub(crate) fn next_frame(&mut self) -> (u64, Option<Result<Bytes, TransportFailure>>) {
        let before = self.framer.keepalives();
        let next = self.framer.next_frame();
        let newlines = self.framer.keepalives().saturating_sub(before);
        let pings = pair_pings(&mut self.crlf_pending, newlines, next.is_some());
        // Every error of `next_frame` loses the stream (the framer has dropped its buffer;
        // `ParseError::breaks_stream` holds for each of them).
        let next = next.map(|r| r.map_err(|_| TransportFailure::Framing));
        (pings, next)
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

/// Pairs the line ends the framer skipped into double-CRLF pings (RFC 5626 §3.5.1).
/// `pending` carries an odd line end to the next call (a ping split over two reads);
/// `message_followed` resets it, since a stray CRLF before a message owes nothing. Returns
/// the pings seen, each owed a pong. (This driver sends no pings, so every pair is one.)
pub(crate) fn pair_pings(pending: &mut u64, newlines: u64, message_followed: bool) -> u64 {
    *pending = pending.saturating_add(newlines);
    let pings = *pending / 2;
    *pending %= 2;
    if message_followed {
        *pending = 0;
    }
    pings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_are_paired_across_reads() {
        let mut p = 0;
        assert_eq!(pair_pings(&mut p, 2, false), 1); // one ping in one read
        assert_eq!(pair_pings(&mut p, 1, false), 0); // a ping split over two reads
        assert_eq!(pair_pings(&mut p, 1, false), 1);
        assert_eq!(pair_pings(&mut p, 4, false), 2); // two back to back
        assert_eq!(pair_pings(&mut p, 1, true), 0); // a stray CRLF before a message
        assert_eq!(pair_pings(&mut p, 1, false), 0); // ... does not pair with a later one
        assert_eq!(p, 1);
        assert_eq!(pair_pings(&mut p, 3, false), 2);
        assert_eq!(p, 0);
    }
}
