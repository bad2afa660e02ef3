//! What the driver reports to its user.

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use sip_core::transport::Transport;
use sip_core::transport::limits::CloseReason;

/// Why a transport flow failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportFailure {
    /// The peer reset the connection, or reading from it failed.
    #[error("read failed: {0}")]
    Read(io::ErrorKind),
    /// Writing failed: what was queued is lost.
    #[error("write failed: {0}")]
    Write(io::ErrorKind),
    /// The connect failed (RFC 3261 §18.1.1: a transport error for the transaction).
    #[error("connect failed: {0}")]
    Connect(io::ErrorKind),
    /// The connect took longer than `connect_timeout`.
    #[error("connect timed out")]
    ConnectTimeout,
    /// The peer closed the connection while messages were still waiting to be written.
    #[error("closed with messages unsent")]
    ClosedWithQueuedData,
    /// The stream lost message framing (no or bad Content-Length, too large; §18.3).
    #[error("stream framing lost")]
    Framing,
    /// `tcp_limits.max_connections` or the token range is exhausted: no connection was
    /// opened.
    #[error("connection limit reached")]
    ConnectionLimit,
    /// The core's stream policy closed the connection: a message deadline or the idle
    /// timeout passed, or an output cap was reached (a peer that does not read).
    #[error("closed: {0}")]
    Limit(CloseReason),
    /// No bound socket can send to this destination (no socket of its transport or
    /// address family).
    #[error("no socket for this destination")]
    NoSocket,
    /// The TLS handshake failed (the peer's certificate refused: another name, expired,
    /// untrusted CA, ...; RFC 5922) or did not complete within
    /// `tcp_limits.handshake_deadline`. Nothing was sent over the connection.
    #[error("TLS: {0}")]
    Tls(sip_tls::TlsFailure),
}

/// An event from [`Driver::poll_event`](crate::Driver::poll_event).
// Endpoint events carry whole messages; they are moved once, which costs less than a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Event {
    /// An event of the endpoint: calls, responses, dialog states, REFER progress.
    Sip(sip_core::endpoint::Event),
    /// A transport flow failed. When messages were lost or could not be sent, the
    /// endpoint was told too (`Input::TransportError`, RFC 3261 §18.4), so the transactions
    /// involved fail with their own events.
    TransportError {
        /// The transport.
        transport: Transport,
        /// The peer (the destination for sends and connects).
        peer: SocketAddr,
        /// What went wrong.
        failure: TransportFailure,
    },
    /// The application's alarm rang: the instant it asked for with
    /// [`Driver::wake_at`](crate::Driver::wake_at) has passed. It is disarmed; ask again
    /// for the next one.
    Wake {
        /// The instant asked for (the `now` of the call that delivered it is at or after it).
        at: Instant,
    },
}
