//! The transaction layer's vocabulary: the ids of its transactions, the bytes it asks to
//! send, and what it reports to the transaction user above it (RFC 3261 §17: "the
//! transaction layer ... passes the response up to the TU").

use std::net::SocketAddr;

use bytes::Bytes;

use super::Target;
use crate::message::{Request, Response};
use crate::transport::{TlsServerName, Transport};

/// Identifies a client transaction for as long as it lives (and is never reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientTxId(pub(crate) u64);

/// Identifies a server transaction for as long as it lives (and is never reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerTxId(pub(crate) u64);

/// Bytes the driver must send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The transport to send over.
    pub transport: Transport,
    /// The local address to send from (the socket, or the connection's local end).
    pub source: Option<SocketAddr>,
    /// Where to send.
    pub destination: SocketAddr,
    /// The encoded message.
    pub bytes: Bytes,
    /// For a request over TLS: the domain the server must prove if the driver opens a new
    /// connection for it (RFC 5922 §4), from [`Target::server_name`]; `None` checks the
    /// destination's address ([`TlsPeerIdentity::of`](crate::transport::TlsPeerIdentity::of)).
    /// Responses carry none (they go back on the request's connection, §18.2.2).
    pub server_name: Option<TlsServerName>,
    /// For a request over WebSocket: the URI a new connection is opened with (resource
    /// and `Host`, RFC 6455 §4.1), from [`Target::ws_url`]; `None` requests `/`.
    pub ws_url: Option<crate::transport::websocket::WsUrl>,
}

/// Why a client transaction ended without a final response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// Timer B or F fired: no final response within 64·T1 (RFC 3261 §17.1.1.2, §17.1.2.2).
    Timeout,
    /// The transport reported the destination unreachable (§17.1.4).
    TransportError,
    /// The request was never sent: a CANCEL held until a provisional response, whose INVITE
    /// ended first (§9.1), or a BYE the endpoint could not send.
    NotSent,
}

/// Where the transaction layer puts the bytes it sends: the endpoint's output queue, so
/// transmits and the events of the layers above come out in the order they arose.
pub(crate) trait Sink {
    /// Queues bytes to send.
    fn transmit(&mut self, t: Transmit);
}

impl Sink for Vec<Transmit> {
    fn transmit(&mut self, t: Transmit) {
        self.push(t);
    }
}

/// A request the layer sent and was challenged for (401/407), handed up so the digest
/// client can send it again with credentials (RFC 3261 §22.2).
#[derive(Debug, Clone)]
pub(crate) struct SentRequest {
    /// The request as sent, top Via included.
    pub bytes: Bytes,
    /// Where it went.
    pub target: Target,
}

/// What the transaction layer tells the transaction user, in the order it happened.
#[derive(Debug)]
pub(crate) enum Up {
    /// A new request created server transaction `tx` (§17.2): `received`/`rport` are
    /// already stamped on its top Via (§18.2.1).
    Request {
        tx: ServerTxId,
        request: Box<Request>,
        from: SocketAddr,
    },
    /// A response for client transaction `tx`: provisional, final, and (for an INVITE) every
    /// 2xx retransmission (RFC 6026 §8.4). A 401/407 carries the request it answers.
    Response {
        tx: ClientTxId,
        response: Box<Response>,
        challenged: Option<SentRequest>,
    },
    /// Client transaction `tx` got no final response (Timer B/F) or hit a transport error.
    ClientFailed { tx: ClientTxId, failure: Failure },
    /// Server transaction `tx` got no ACK (Timer H) or could not send its response.
    ServerFailed { tx: ServerTxId, failure: Failure },
    /// A CANCEL matched INVITE server transaction `tx` before its final response (§9.2): the
    /// layer has answered the CANCEL 200 and the INVITE 487.
    Cancelled { tx: ServerTxId },
    /// An ACK no INVITE server transaction absorbed: the ACK for a 2xx (§13.3.1.4, §17.2.3).
    Ack {
        request: Box<Request>,
        from: SocketAddr,
    },
    /// A response that matched no client transaction but whose Via is ours (§18.1.2): a 2xx
    /// retransmission after the INVITE transaction ended, or a late fork.
    Stray {
        response: Box<Response>,
        from: SocketAddr,
    },
    /// Client transaction `tx` is gone: nothing more will be reported about it.
    ClientEnded { tx: ClientTxId },
    /// Server transaction `tx` is gone: it takes no more responses.
    ServerEnded { tx: ServerTxId },
}

/// A response the layer accepted and sent on a server transaction: what the dialog layer
/// keeps of a 2xx to retransmit it (§13.3.1.4).
#[derive(Debug, Clone)]
pub(crate) struct Responded {
    /// The bytes as sent, when the caller asked to keep them.
    pub bytes: Option<Bytes>,
    /// The transport, local address and destination they went over.
    pub transport: Transport,
    pub local: SocketAddr,
    pub destination: SocketAddr,
}

/// What a dialog needs to know of the server transaction that creates it (§12.1.1).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServerInfo<'a> {
    /// The transport the request came over.
    pub transport: Transport,
    /// The local address it arrived at.
    pub local: SocketAddr,
    /// The To tag of the transaction's responses (the UAS's dialog tag).
    pub to_tag: &'a str,
}

/// Counters of the transaction layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TxStats {
    pub received: u64,
    pub parse_errors: u64,
    pub stateless_responses: u64,
    pub misrouted_responses: u64,
    pub retransmissions: u64,
    pub absorbed_retransmissions: u64,
    pub overload_rejections: u64,
}
