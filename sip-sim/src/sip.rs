//! SIP endpoints as simulator nodes, and a small scripting surface for writing scenarios the
//! way RFC 3261 draws them.
//!
//! A [`SipNode`] wraps one [`sip_core::endpoint::Endpoint`] and plays its transaction user
//! (TU): it answers incoming requests as a [`Behaviour`] says (say, 180 at once and 200 two
//! seconds later, or never), acknowledges 2xx responses to its own INVITEs (RFC 3261
//! §13.2.2.4, until the dialog layer does it), and records everything with virtual times:
//! the endpoint's [`Event`]s, the messages it sent and received, refused commands, and each
//! change of its transaction counts. Tests drive it through [`Sim::with_node`]:
//!
//! ```
//! use std::time::Duration;
//! use sip_core::endpoint::{Event, Target};
//! use sip_core::message::Method;
//! use sip_sim::{Sim, Transport};
//! use sip_sim::sip::{Behaviour, Match, SipNode, Step, TraceExt, ms};
//!
//! let alice = "10.0.0.1:5060".parse().unwrap();
//! let bob = "10.0.0.2:5060".parse().unwrap();
//! let mut sim = Sim::new(1); // default link: 10 ms, lossless
//! let a = sim.add_node(alice, SipNode::new(sim.base(), alice, 1));
//! let mut b = SipNode::new(sim.base(), bob, 2);
//! b.on(Method::Invite, Behaviour::Answer(vec![Step::new(ms(0), 180), Step::new(ms(2000), 486)]));
//! let b = sim.add_node(bob, b);
//!
//! let tx = sim
//!     .with_node(a, |n: &mut SipNode, now| n.send(now, Method::Invite, Target::new(Transport::Udp, bob)))
//!     .unwrap()
//!     .unwrap();
//! sim.run_until_idle().unwrap();
//!
//! let alice_node = sim.node::<SipNode>(a).unwrap();
//! assert_eq!(alice_node.responses(tx), vec![(ms(20), 180), (ms(2020), 486)]);
//! // The transaction ACKs the 486 itself (§17.1.1.3) as soon as it arrives.
//! assert_eq!(sim.trace().sent_times(alice, &Match::Request(Method::Ack)), vec![ms(2020)]);
//! // Timer I (T4) ends Bob's server transaction 5 s after the ACK reached him.
//! assert_eq!(sim.node::<SipNode>(b).unwrap().emptied_at(), Some(ms(7030)));
//! ```
//!
//! [`Sim::with_node`]: crate::Sim::with_node

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sip_core::endpoint::{
    ClientTxId, Endpoint, EndpointConfig, EndpointError, Event, Failure, Input, LocalAddr, Output,
    ServerTxId, Target,
};
use sip_core::message::{
    HeaderName, Method, ParseOptions, Request, RequestBuilder, Response, SipMessage, StreamFramer,
    parse,
};
use sip_core::rng::IdGenerator;
use sip_core::transport::Transport;

use crate::trace::{TraceEntry, TraceKind, first_line};
use crate::{Datagram, Node};

/// `n` milliseconds: virtual times in scenarios read best in milliseconds.
pub const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ----- matching messages by their first line -----------------------------------------------

/// Which messages a query or a filter is about, judged by the message's first line
/// (RFC 3261 §7.1 Request-Line, §7.2 Status-Line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// Every message.
    Any,
    /// Requests with this method.
    Request(Method),
    /// Responses with exactly this status code.
    Status(u16),
    /// Responses of this class: 1 for 1xx, 2 for 2xx, ... (§7.2).
    Class(u16),
    /// Every request.
    AnyRequest,
    /// Every response.
    AnyResponse,
}

/// A test on a message's first line: implemented by [`Match`] and by any
/// `Fn(&str) -> bool` (write closures as `|line: &str| ...`).
pub trait LinePredicate {
    /// Whether the message with this first line is meant.
    fn test(&self, first_line: &str) -> bool;
}

impl<F: Fn(&str) -> bool> LinePredicate for F {
    fn test(&self, first_line: &str) -> bool {
        self(first_line)
    }
}

impl LinePredicate for Match {
    fn test(&self, line: &str) -> bool {
        let status = status_of(line);
        match self {
            Match::Any => true,
            Match::Request(m) => status.is_none() && line.split(' ').next() == Some(m.as_str()),
            Match::Status(s) => status == Some(*s),
            Match::Class(c) => status.is_some_and(|s| s / 100 == *c),
            Match::AnyRequest => status.is_none() && !line.is_empty(),
            Match::AnyResponse => status.is_some(),
        }
    }
}

impl LinePredicate for &Match {
    fn test(&self, line: &str) -> bool {
        (*self).test(line)
    }
}

/// The status code of a Status-Line (`SIP/2.0 486 Busy Here`), `None` for anything else.
pub fn status_of(first_line: &str) -> Option<u16> {
    let rest = first_line.strip_prefix("SIP/2.0 ")?;
    rest.split(' ').next()?.parse().ok()
}

// ----- trace queries -------------------------------------------------------------------------

/// Queries on a simulator [trace](crate::Sim::trace), by sender or receiver and first line.
/// Implemented for `[TraceEntry]`, so `sim.trace().sent_times(...)` works.
pub trait TraceExt {
    /// Virtual times at which `from` handed a matching message to the network (original
    /// sends only: the network's duplicates are not sends).
    fn sent_times(&self, from: SocketAddr, p: impl LinePredicate) -> Vec<Duration>;
    /// Virtual times at which a matching message (or a network duplicate of one) reached
    /// `to`.
    fn delivered_times(&self, to: SocketAddr, p: impl LinePredicate) -> Vec<Duration>;
    /// Every matching entry of the given kind, in order.
    fn entries(&self, kind: TraceKind, p: impl LinePredicate) -> Vec<&TraceEntry>;
}

impl TraceExt for [TraceEntry] {
    fn sent_times(&self, from: SocketAddr, p: impl LinePredicate) -> Vec<Duration> {
        self.iter()
            .filter(|e| e.kind == TraceKind::Sent && e.from == from && p.test(&e.first_line))
            .map(|e| e.at)
            .collect()
    }

    fn delivered_times(&self, to: SocketAddr, p: impl LinePredicate) -> Vec<Duration> {
        self.iter()
            .filter(|e| e.kind == TraceKind::Delivered && e.to == to && p.test(&e.first_line))
            .map(|e| e.at)
            .collect()
    }

    fn entries(&self, kind: TraceKind, p: impl LinePredicate) -> Vec<&TraceEntry> {
        self.iter()
            .filter(|e| e.kind == kind && p.test(&e.first_line))
            .collect()
    }
}

// ----- scripting -------------------------------------------------------------------------------

/// One scripted response: `status`, sent `after` the request arrived (offsets count from
/// the arrival, not from the previous step).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Delay from the request's arrival.
    pub after: Duration,
    /// Status code to answer with.
    pub status: u16,
}

impl Step {
    /// A step.
    pub const fn new(after: Duration, status: u16) -> Self {
        Step { after, status }
    }

    /// A step sent as soon as the request arrives.
    pub const fn now(status: u16) -> Self {
        Step {
            after: Duration::ZERO,
            status,
        }
    }
}

/// How a [`SipNode`] answers the requests of one method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// Never answer: the TU stays silent (RFC 3261 §17.2.1 then has the INVITE server send
    /// `100 Trying` after 200 ms by itself).
    Silent,
    /// Answer through the server transaction with these steps. A step the transaction
    /// refuses (a second final response, a provisional to a non-INVITE before RFC 4320
    /// allows it, ...) is recorded in [`SipNode::errors`]; "answer twice" is two final
    /// steps. A CANCEL that ends the INVITE (§9.2) drops its steps still pending.
    Answer(Vec<Step>),
    /// Bypass the endpoint: the node answers like a peer without a transaction layer,
    /// building each response from the received request (§8.2.6) and sending it to the
    /// request's source. Only the first copy of each request (by top Via branch and method)
    /// is answered; retransmissions are recorded and ignored. For responses a compliant
    /// server would never send, such as a 200 followed by a 180, or a 100 to a non-INVITE
    /// before RFC 4320 allows it.
    Stateless(Vec<Step>),
}

impl Behaviour {
    /// Answer at once with one status.
    pub fn answer(status: u16) -> Self {
        Behaviour::Answer(vec![Step::now(status)])
    }
}

/// A command the node's TU issued that the endpoint refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// A scripted response on a server transaction.
    Respond {
        /// The server transaction.
        tx: ServerTxId,
        /// The status code.
        status: u16,
    },
    /// A request to send.
    Send {
        /// Its method.
        method: Method,
    },
    /// The ACK for a 2xx (§13.2.2.4).
    Ack,
    /// A CANCEL (§9.1).
    Cancel {
        /// The INVITE to cancel.
        invite: ClientTxId,
    },
}

/// A refused command: what, when, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    /// Virtual time of the command.
    pub at: Duration,
    /// The command.
    pub command: Command,
    /// The endpoint's answer.
    pub error: EndpointError,
}

/// A message the node sent or received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wire {
    /// Virtual time it was queued for sending, or arrived.
    pub at: Duration,
    /// The transport.
    pub transport: Transport,
    /// The other end: destination of a send, source of a receipt.
    pub peer: SocketAddr,
    /// The first line ([`first_line`]).
    pub first_line: String,
    /// The whole message.
    pub bytes: Bytes,
    /// For received messages: whether a filter ([`SipNode::drop_received`]) or a
    /// [`Behaviour::Stateless`] script kept it from the endpoint.
    pub intercepted: bool,
}

/// A request the node started a client transaction for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// Virtual time it was sent.
    pub at: Duration,
    /// Its client transaction.
    pub tx: ClientTxId,
    /// Its method.
    pub method: Method,
    /// Where it went.
    pub target: Target,
    /// Its Call-ID, to find it again in the other node's logs.
    pub call_id: String,
}

/// Work the node does later.
#[derive(Debug)]
enum Pending {
    Respond {
        tx: ServerTxId,
        status: u16,
    },
    Stateless {
        request: Box<Request>,
        status: u16,
        to_tag: String,
        transport: Transport,
        peer: SocketAddr,
        local: SocketAddr,
    },
    Raw(Datagram),
    Send {
        method: Method,
        target: Target,
    },
    Cancel {
        invite: ClientTxId,
    },
}

/// A filter on received messages.
#[derive(Debug, Clone)]
struct Filter {
    what: Match,
    /// How many more to drop; `None` for all.
    left: Option<usize>,
}

/// An INVITE this node sent, kept to acknowledge its 2xx responses (§13.2.2.4).
#[derive(Debug)]
struct SentInvite {
    request: Request,
    target: Target,
}

/// A [`Node`] running a SIP [`Endpoint`] and a scripted transaction user. See the
/// [module docs](self).
pub struct SipNode {
    base: Instant,
    addr: SocketAddr,
    endpoint: Endpoint,
    /// Draws the To tags of the stateless answers the script sends.
    tags: IdGenerator,
    now: Instant,
    outbox: VecDeque<Datagram>,
    behaviours: BTreeMap<String, Behaviour>,
    default_behaviour: Behaviour,
    filters: Vec<Filter>,
    pending: BTreeMap<(Duration, u64), Pending>,
    pending_seq: u64,
    framers: BTreeMap<(SocketAddr, Transport), StreamFramer>,
    stateless_seen: BTreeSet<(String, String)>,
    invites: BTreeMap<ClientTxId, SentInvite>,
    auto_ack: bool,
    cancel_after: Option<Duration>,
    recording: bool,
    last_count: (usize, usize),
    /// Every event the endpoint emitted, with the virtual time it was drained at.
    pub events: Vec<(Duration, Event)>,
    /// Every message the node queued for sending.
    pub sent: Vec<Wire>,
    /// Every message that reached the node (whole messages, also for streams).
    pub received: Vec<Wire>,
    /// Commands the endpoint refused.
    pub errors: Vec<CommandError>,
    /// Every client transaction the node started.
    pub started: Vec<Started>,
    /// Each change of [`Endpoint::transaction_count`] (client, server), with its time.
    pub counts: Vec<(Duration, (usize, usize))>,
    /// Stream bytes that could not be framed (the connection lost sync, RFC 3261 §18.3).
    pub framing_errors: u64,
}

impl std::fmt::Debug for SipNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SipNode")
            .field("addr", &self.addr)
            .field("transactions", &self.endpoint.transaction_count())
            .field("events", &self.events.len())
            .field("sent", &self.sent.len())
            .field("received", &self.received.len())
            .field("errors", &self.errors)
            .finish_non_exhaustive()
    }
}

impl SipNode {
    /// A node at `addr` listening on UDP and TCP there, with default timers (RFC 3261
    /// Table 4) and an endpoint seeded with `seed`; virtual time counts from `base` (pass
    /// [`Sim::base`](crate::Sim::base)). Every request method is answered
    /// [`Behaviour::Silent`] until told otherwise.
    pub fn new(base: Instant, addr: SocketAddr, seed: u64) -> Self {
        let mut config = EndpointConfig::with_local(Transport::Udp, addr);
        config
            .local_addrs
            .push(LocalAddr::new(Transport::Tcp, addr));
        // The scripted node answers at the transaction level; dialog scenarios run the
        // dialog layer through `with_config`.
        let endpoint = Endpoint::builder(config).without_dialog_layer().build(seed);
        Self::around(base, addr, endpoint, seed)
    }

    /// A node at `addr` with this endpoint configuration (its local addresses should route
    /// to `addr`) and the dialog layer.
    pub fn with_config(base: Instant, addr: SocketAddr, config: EndpointConfig, seed: u64) -> Self {
        Self::around(base, addr, Endpoint::new(config, seed), seed)
    }

    fn around(base: Instant, addr: SocketAddr, endpoint: Endpoint, seed: u64) -> Self {
        SipNode {
            base,
            addr,
            endpoint,
            tags: IdGenerator::new(seed ^ 0x7461_6773),
            now: base,
            outbox: VecDeque::new(),
            behaviours: BTreeMap::new(),
            default_behaviour: Behaviour::Silent,
            filters: Vec::new(),
            pending: BTreeMap::new(),
            pending_seq: 0,
            framers: BTreeMap::new(),
            stateless_seen: BTreeSet::new(),
            invites: BTreeMap::new(),
            auto_ack: true,
            cancel_after: None,
            recording: true,
            last_count: (0, 0),
            events: Vec::new(),
            sent: Vec::new(),
            received: Vec::new(),
            errors: Vec::new(),
            started: Vec::new(),
            counts: Vec::new(),
            framing_errors: 0,
        }
    }

    // ----- set-up ------------------------------------------------------------------------

    /// The node's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The endpoint, to read its state ([`Endpoint::transaction_count`], stats, ...).
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Answers requests with `method` as `behaviour` says.
    pub fn on(&mut self, method: Method, behaviour: Behaviour) -> &mut Self {
        self.behaviours
            .insert(method.as_str().to_owned(), behaviour);
        self
    }

    /// Answers requests of every method without a behaviour of its own as `behaviour`
    /// says (default [`Behaviour::Silent`]).
    pub fn on_any(&mut self, behaviour: Behaviour) -> &mut Self {
        self.default_behaviour = behaviour;
        self
    }

    /// Drops every received message that `what` matches before the endpoint sees it (it is
    /// still recorded in [`SipNode::received`], marked intercepted): say, every ACK, for a
    /// UAC that never acknowledges.
    pub fn drop_received(&mut self, what: Match) -> &mut Self {
        self.filters.push(Filter { what, left: None });
        self
    }

    /// Drops the next `n` received messages that `what` matches.
    pub fn drop_received_first(&mut self, what: Match, n: usize) -> &mut Self {
        self.filters.push(Filter {
            what,
            left: Some(n),
        });
        self
    }

    /// Whether the node sends the ACK for each 2xx to an INVITE it sent (default on; the
    /// dialog layer's job per RFC 3261 §13.2.2.4, done here until it exists).
    pub fn set_auto_ack(&mut self, on: bool) -> &mut Self {
        self.auto_ack = on;
        self
    }

    /// Cancels every INVITE the node sends from now on this long after sending it (a caller
    /// who hangs up before the answer, §9.1); `None` (the default) never does. A CANCEL the
    /// endpoint refuses because the final response won the race is recorded in
    /// [`SipNode::errors`] like any refused command.
    pub fn cancel_invites_after(&mut self, after: Option<Duration>) -> &mut Self {
        self.cancel_after = after;
        self
    }

    /// Turns the logs ([`SipNode::events`], [`SipNode::sent`], [`SipNode::received`],
    /// [`SipNode::counts`], [`SipNode::started`]) on (default) or off, for long runs.
    pub fn set_recording(&mut self, on: bool) -> &mut Self {
        self.recording = on;
        self
    }

    // ----- client commands -----------------------------------------------------------

    /// A request from this node to `peer` out of any dialog (§8.1.1): Request-URI
    /// `sip:peer@<ip:port>` (with `;transport=tcp` etc. for reliable transports), From this
    /// node with a fresh tag, To the peer, a new Call-ID, CSeq 1, and a Contact for INVITE
    /// (§8.1.1.8). Add headers or a body, send it through [`SipNode::with_endpoint`] and
    /// record it with [`SipNode::track`].
    pub fn request(
        &mut self,
        method: Method,
        peer: SocketAddr,
        transport: Transport,
    ) -> RequestBuilder {
        let param = if transport == Transport::Udp {
            String::new()
        } else {
            format!(";transport={}", transport.via_token().to_ascii_lowercase())
        };
        let uri = format!("sip:peer@{peer}{param}");
        let from = format!("<sip:node@{}>", self.addr);
        let to = format!("<sip:peer@{peer}>");
        let invite = method == Method::Invite;
        let b = self.endpoint.request(method, &uri, &from, &to);
        if invite {
            b.contact(&format!("<sip:node@{}{param}>", self.addr))
        } else {
            b
        }
    }

    /// Records a client transaction the TU started, or the endpoint's refusal to start it:
    /// the one hook behind [`SipNode::started`] and [`SipNode::errors`], and, for an INVITE,
    /// what lets the node acknowledge its 2xx ([`SipNode::set_auto_ack`]) and cancel it on
    /// schedule ([`SipNode::cancel_invites_after`]). The node's own sends ([`SipNode::send`],
    /// [`SipNode::send_at`]) go through it; a test that sends a request of its own through
    /// [`SipNode::with_endpoint`] hands it the request and the endpoint's answer, which it
    /// returns:
    ///
    /// ```
    /// # use sip_core::endpoint::Target;
    /// # use sip_core::message::Method;
    /// # use sip_sim::{Sim, SipNode, Transport};
    /// let (a, b) = ("10.0.0.1:5060".parse().unwrap(), "10.0.0.2:5060".parse().unwrap());
    /// let mut sim = Sim::new(1);
    /// let ida = sim.add_node(a, SipNode::new(sim.base(), a, 1));
    /// let target = Target::new(Transport::Udp, b);
    /// let tx = sim.with_node(ida, |n: &mut SipNode, now| {
    ///     let req = n.request(Method::Options, b, Transport::Udp).header("Subject", "hand-made").build().unwrap();
    ///     let sent = n.with_endpoint(now, |ep, now| ep.send_request(now, req.clone(), target.clone()));
    ///     n.track(now, &req, target, sent)
    /// });
    /// let alice = sim.node::<SipNode>(ida).unwrap();
    /// assert_eq!(alice.started[0].tx, tx.unwrap().unwrap());
    /// assert_eq!(alice.started[0].method, Method::Options);
    /// ```
    pub fn track(
        &mut self,
        now: Instant,
        request: &Request,
        target: Target,
        result: Result<ClientTxId, EndpointError>,
    ) -> Result<ClientTxId, EndpointError> {
        self.now = now;
        let method = request.method().clone();
        match &result {
            Ok(tx) => {
                if method == Method::Invite {
                    let request = request.clone();
                    self.invites.insert(
                        *tx,
                        SentInvite {
                            request,
                            target: target.clone(),
                        },
                    );
                    if let Some(after) = self.cancel_after {
                        let at = self.offset(now).saturating_add(after);
                        self.schedule(at, Pending::Cancel { invite: *tx });
                    }
                }
                if self.recording {
                    self.started.push(Started {
                        at: self.offset(now),
                        tx: *tx,
                        method,
                        target,
                        call_id: request.call_id().unwrap_or_default().to_owned(),
                    });
                }
            }
            Err(e) => self.refused(Command::Send { method }, e.clone()),
        }
        result
    }

    /// Builds ([`SipNode::request`]) and sends a request with `method` to `target`.
    pub fn send(
        &mut self,
        now: Instant,
        method: Method,
        target: Target,
    ) -> Result<ClientTxId, EndpointError> {
        match self
            .request(method.clone(), target.addr, target.transport)
            .build()
        {
            Ok(r) => {
                self.now = now;
                // Tracked before the drain, so the TU's reaction to what the send caused
                // finds the INVITE. Only what is tracked needs a copy of the request.
                let sent = if method == Method::Invite || self.recording {
                    let sent = self.endpoint.send_request(now, r.clone(), target.clone());
                    self.track(now, &r, target, sent)
                } else {
                    let sent = self.endpoint.send_request(now, r, target);
                    if let Err(e) = &sent {
                        self.refused(Command::Send { method }, e.clone());
                    }
                    sent
                };
                self.pump(now);
                sent
            }
            Err(e) => {
                let e = EndpointError::Build(e);
                self.refused(Command::Send { method }, e.clone());
                Err(e)
            }
        }
    }

    /// Sends a request with `method` to `target` at virtual time `at` (see
    /// [`SipNode::started`] for its transaction).
    pub fn send_at(&mut self, at: Duration, method: Method, target: Target) {
        self.schedule(at, Pending::Send { method, target });
    }

    // ----- raw access ------------------------------------------------------------------

    /// Sends `bytes` to `to` now, past the endpoint (a hand-made stray response, an ACK
    /// for no transaction, ...).
    pub fn send_raw(
        &mut self,
        now: Instant,
        transport: Transport,
        to: SocketAddr,
        bytes: impl Into<Bytes>,
    ) {
        self.now = now;
        let d = Datagram {
            transport,
            source: self.addr,
            destination: to,
            bytes: bytes.into(),
        };
        self.queue(d);
    }

    /// Sends `bytes` to `to` at virtual time `at`, past the endpoint.
    pub fn send_raw_at(
        &mut self,
        at: Duration,
        transport: Transport,
        to: SocketAddr,
        bytes: impl Into<Bytes>,
    ) {
        let d = Datagram {
            transport,
            source: self.addr,
            destination: to,
            bytes: bytes.into(),
        };
        self.schedule(at, Pending::Raw(d));
    }

    /// Runs `f` on the endpoint at `now`, then drains its outputs (transmits and events)
    /// into the node's records: the one way a test commands the endpoint (`ep.cancel(..)`,
    /// `ep.respond_with(..)`, `ep.send_ack(..)`, ...). A request started this way is
    /// recorded in [`SipNode::started`] when handed to [`SipNode::track`].
    pub fn with_endpoint<R>(
        &mut self,
        now: Instant,
        f: impl FnOnce(&mut Endpoint, Instant) -> R,
    ) -> R {
        self.now = now;
        let r = f(&mut self.endpoint, now);
        self.pump(now);
        r
    }

    // ----- queries ----------------------------------------------------------------------

    /// Virtual times at which the node queued a matching message.
    pub fn sent_times(&self, p: impl LinePredicate) -> Vec<Duration> {
        self.sent
            .iter()
            .filter(|w| p.test(&w.first_line))
            .map(|w| w.at)
            .collect()
    }

    /// Virtual times at which a matching message reached the node (intercepted or not).
    pub fn received_times(&self, p: impl LinePredicate) -> Vec<Duration> {
        self.received
            .iter()
            .filter(|w| p.test(&w.first_line))
            .map(|w| w.at)
            .collect()
    }

    /// Virtual times of the events `p` accepts.
    pub fn event_times(&self, p: impl Fn(&Event) -> bool) -> Vec<Duration> {
        self.events
            .iter()
            .filter(|(_, e)| p(e))
            .map(|(t, _)| *t)
            .collect()
    }

    /// The responses passed up for client transaction `tx`: time and status.
    pub fn responses(&self, tx: ClientTxId) -> Vec<(Duration, u16)> {
        self.events
            .iter()
            .filter_map(|(t, e)| match e {
                Event::Response { tx: x, response } if *x == tx => Some((*t, response.status())),
                _ => None,
            })
            .collect()
    }

    /// The failures reported for client transaction `tx` (Timer B/F, transport errors).
    pub fn client_failures(&self, tx: ClientTxId) -> Vec<(Duration, Failure)> {
        self.events
            .iter()
            .filter_map(|(t, e)| match e {
                Event::ClientTxFailed { tx: x, failure } if *x == tx => Some((*t, *failure)),
                _ => None,
            })
            .collect()
    }

    /// Every server transaction failure (Timer H, transport errors).
    pub fn server_failures(&self) -> Vec<(Duration, ServerTxId, Failure)> {
        self.events
            .iter()
            .filter_map(|(t, e)| match e {
                Event::ServerTxFailed { tx, failure } => Some((*t, *tx, *failure)),
                _ => None,
            })
            .collect()
    }

    /// Every request passed up to the TU: time, server transaction, method.
    pub fn incoming(&self) -> Vec<(Duration, ServerTxId, Method)> {
        self.events
            .iter()
            .filter_map(|(t, e)| match e {
                Event::IncomingRequest { tx, request } => Some((*t, *tx, request.method().clone())),
                _ => None,
            })
            .collect()
    }

    /// The virtual time at which the endpoint's transaction tables last became empty, if
    /// they are empty now and ever held anything.
    pub fn emptied_at(&self) -> Option<Duration> {
        match self.counts.last() {
            Some((t, (0, 0))) => Some(*t),
            _ => None,
        }
    }

    /// The virtual time at which the client (`server == false`) or server transaction table
    /// last became empty, if it is empty now and ever held anything.
    pub fn table_emptied_at(&self, server: bool) -> Option<Duration> {
        let pick = |c: &(usize, usize)| if server { c.1 } else { c.0 };
        let mut at = None;
        let mut prev = 0;
        for (t, c) in &self.counts {
            let n = pick(c);
            if n == 0 && prev > 0 {
                at = Some(*t);
            } else if n > 0 {
                at = None;
            }
            prev = n;
        }
        at
    }

    // ----- internals --------------------------------------------------------------------

    fn offset(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.base)
    }

    fn refused(&mut self, command: Command, error: EndpointError) {
        self.errors.push(CommandError {
            at: self.offset(self.now),
            command,
            error,
        });
    }

    fn schedule(&mut self, at: Duration, p: Pending) {
        self.pending_seq += 1;
        self.pending.insert((at, self.pending_seq), p);
    }

    fn queue(&mut self, d: Datagram) {
        if self.recording {
            self.sent.push(Wire {
                at: self.offset(self.now),
                transport: d.transport,
                peer: d.destination,
                first_line: first_line(&d.bytes),
                bytes: d.bytes.clone(),
                intercepted: false,
            });
        }
        self.outbox.push_back(d);
    }

    fn behaviour(&self, method: &Method) -> &Behaviour {
        self.behaviours
            .get(method.as_str())
            .unwrap_or(&self.default_behaviour)
    }

    /// Drains the endpoint: transmits to the outbox, events to the log (after the TU has
    /// reacted to them), then notes a change of the transaction counts.
    fn pump(&mut self, now: Instant) {
        // A transaction can be born and die within one call (J = 0 over TCP): note the
        // count before the TU reacts, too.
        self.note_count(now);
        while let Some(o) = self.endpoint.poll_output() {
            match o {
                Output::Transmit(t) => {
                    let d = Datagram {
                        transport: t.transport,
                        source: t.source.unwrap_or(self.addr),
                        destination: t.destination,
                        bytes: t.bytes,
                    };
                    self.queue(d);
                }
                Output::Event(e) => {
                    self.react(now, &e);
                    if self.recording {
                        self.events.push((self.offset(now), e));
                    }
                }
            }
        }
        self.note_count(now);
    }

    fn note_count(&mut self, now: Instant) {
        let c = self.endpoint.transaction_count();
        if c != self.last_count {
            self.last_count = c;
            if self.recording {
                self.counts.push((self.offset(now), c));
            }
        }
    }

    /// The scripted TU.
    fn react(&mut self, now: Instant, e: &Event) {
        match e {
            Event::IncomingRequest { tx, request } => {
                let steps = match self.behaviour(request.method()) {
                    Behaviour::Answer(steps) => steps.clone(),
                    _ => return,
                };
                let at = self.offset(now);
                for step in steps {
                    if step.after.is_zero() {
                        // Queued behind this event; it runs before the drain ends.
                        let _ = self.endpoint_respond(now, *tx, step.status);
                    } else {
                        self.schedule(
                            at.saturating_add(step.after),
                            Pending::Respond {
                                tx: *tx,
                                status: step.status,
                            },
                        );
                    }
                }
            }
            Event::Cancelled { tx } => {
                let tx = *tx;
                self.pending
                    .retain(|_, p| !matches!(p, Pending::Respond { tx: t, .. } if *t == tx));
            }
            Event::Response { tx, response } => {
                let status = response.status();
                if (200..300).contains(&status) && self.auto_ack {
                    if let Some(ack) = self.invites.get(tx).and_then(|i| {
                        ack_for_2xx(&i.request, response)
                            .ok()
                            .map(|a| (a, i.target.clone()))
                    }) {
                        let (ack, target) = ack;
                        if let Err(e) = self.endpoint.send_ack(now, ack, target) {
                            self.refused(Command::Ack, e);
                        }
                    }
                } else if status >= 300 {
                    self.invites.remove(tx);
                }
            }
            Event::ClientTxFailed { tx, .. } => {
                self.invites.remove(tx);
            }
            _ => {}
        }
    }

    fn endpoint_respond(
        &mut self,
        now: Instant,
        tx: ServerTxId,
        status: u16,
    ) -> Result<(), EndpointError> {
        let r = self.endpoint.respond_with(now, tx, status);
        if let Err(e) = &r {
            self.refused(Command::Respond { tx, status }, e.clone());
        }
        r
    }

    fn receive_one(
        &mut self,
        now: Instant,
        transport: Transport,
        from: SocketAddr,
        to: SocketAddr,
        bytes: Bytes,
    ) {
        // The first line is only needed by filters, stateless scripts and the record.
        let needs_line = self.recording
            || !self.filters.is_empty()
            || matches!(self.default_behaviour, Behaviour::Stateless(_))
            || self
                .behaviours
                .values()
                .any(|b| matches!(b, Behaviour::Stateless(_)));
        let line = if needs_line {
            first_line(&bytes)
        } else {
            String::new()
        };
        let mut intercepted = false;
        for f in &mut self.filters {
            if f.left != Some(0) && f.what.test(&line) {
                if let Some(n) = &mut f.left {
                    *n -= 1;
                }
                intercepted = true;
                break;
            }
        }
        let stateless = !intercepted && self.stateless(now, transport, from, to, &bytes, &line);
        intercepted |= stateless;
        if self.recording {
            self.received.push(Wire {
                at: self.offset(now),
                transport,
                peer: from,
                first_line: line,
                bytes: bytes.clone(),
                intercepted,
            });
        }
        if !intercepted {
            self.endpoint.handle_input(
                now,
                Input::Receive {
                    transport,
                    from,
                    to,
                    bytes,
                },
            );
        }
        self.pump(now);
    }

    /// Handles a request a [`Behaviour::Stateless`] script owns; `false` if there is none.
    fn stateless(
        &mut self,
        now: Instant,
        transport: Transport,
        from: SocketAddr,
        to: SocketAddr,
        bytes: &Bytes,
        line: &str,
    ) -> bool {
        if line.is_empty() || status_of(line).is_some() {
            return false;
        }
        let Some(method) = line
            .split(' ')
            .next()
            .and_then(|m| m.parse::<Method>().ok())
        else {
            return false;
        };
        let Behaviour::Stateless(steps) = self.behaviour(&method).clone() else {
            return false;
        };
        let Ok(SipMessage::Request(request)) = parse(bytes.clone(), &ParseOptions::default())
        else {
            return true;
        };
        let branch = request
            .via()
            .and_then(|v| v.branch().map(str::to_owned))
            .unwrap_or_default();
        if !self
            .stateless_seen
            .insert((branch, method.as_str().to_owned()))
        {
            return true;
        }
        let to_tag = self.tags.tag();
        let at = self.offset(now);
        for step in steps {
            self.schedule(
                at.saturating_add(step.after),
                Pending::Stateless {
                    request: Box::new(request.clone()),
                    status: step.status,
                    to_tag: to_tag.clone(),
                    transport,
                    peer: from,
                    local: to,
                },
            );
        }
        // Steps due now go out with this call.
        self.run_pending(now);
        true
    }

    /// Runs every scripted action due at `now`.
    fn run_pending(&mut self, now: Instant) {
        let at = self.offset(now);
        while let Some(entry) = self.pending.first_entry() {
            if entry.key().0 > at {
                break;
            }
            match entry.remove() {
                Pending::Respond { tx, status } => {
                    let _ = self.endpoint_respond(now, tx, status);
                }
                Pending::Stateless {
                    request,
                    status,
                    to_tag,
                    transport,
                    peer,
                    local,
                } => {
                    let mut b = Response::from_request(&request, status);
                    if status != 100 {
                        b = b.to_tag(&to_tag);
                    }
                    if let Ok(r) = b.build() {
                        self.queue(Datagram {
                            transport,
                            source: local,
                            destination: peer,
                            bytes: r.to_bytes(),
                        });
                    }
                }
                Pending::Raw(d) => self.queue(d),
                Pending::Send { method, target } => {
                    let _ = self.send(now, method, target);
                }
                Pending::Cancel { invite } => {
                    if let Err(e) = self.endpoint.cancel(now, invite) {
                        self.refused(Command::Cancel { invite }, e);
                    }
                }
            }
            self.pump(now);
        }
    }
}

/// The ACK for a 2xx response to `invite` (RFC 3261 §13.2.2.4, §17.1.1.3): the INVITE's
/// Request-URI, From and Call-ID, the response's To (with the UAS's tag), the INVITE's
/// CSeq number with method ACK, the INVITE's Route rows. The endpoint adds the Via (a new
/// branch: the ACK for a 2xx is a transaction of its own).
pub fn ack_for_2xx(invite: &Request, response: &Response) -> Result<Request, EndpointError> {
    let mut b = Request::builder(Method::Ack, invite.uri_str()).max_forwards(70);
    for r in invite.headers().get_all(HeaderName::Route) {
        b = b.route(r);
    }
    if let Some(f) = invite.headers().get(HeaderName::From) {
        b = b.from(f, None);
    }
    if let Some(t) = response.headers().get(HeaderName::To) {
        b = b.to(t, None);
    }
    if let Some(c) = invite.call_id() {
        b = b.call_id(c);
    }
    if let Some((n, _)) = invite.cseq() {
        b = b.cseq(n);
    }
    Ok(b.build()?)
}

impl Node for SipNode {
    fn handle_receive(
        &mut self,
        now: Instant,
        transport: Transport,
        from: SocketAddr,
        to: SocketAddr,
        bytes: Bytes,
    ) {
        self.now = now;
        if !transport.is_stream() {
            self.receive_one(now, transport, from, to, bytes);
            return;
        }
        // RFC 3261 §18.3: cut whole messages out of the connection's byte stream.
        let opts = self.endpoint.config().parse;
        let framer = self
            .framers
            .entry((from, transport))
            .or_insert_with(|| StreamFramer::new(opts));
        framer.push(&bytes);
        let mut messages = Vec::new();
        while let Some(m) = framer.next_message() {
            match m {
                Ok(m) => messages.push(m.to_bytes()),
                Err(_) => self.framing_errors += 1,
            }
        }
        for m in messages {
            self.receive_one(now, transport, from, to, m);
        }
    }

    fn handle_transport_error(
        &mut self,
        now: Instant,
        transport: Transport,
        destination: SocketAddr,
    ) {
        self.now = now;
        self.endpoint.handle_input(
            now,
            Input::TransportError {
                transport,
                destination,
            },
        );
        self.pump(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        if self.endpoint.poll_timeout().is_some_and(|t| t <= now) {
            self.endpoint.handle_timeout(now);
            self.pump(now);
        }
        self.run_pending(now);
    }

    fn poll_transmit(&mut self) -> Option<Datagram> {
        self.outbox.pop_front()
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        let script = self
            .pending
            .first_key_value()
            .map(|((t, _), _)| self.base.checked_add(*t).unwrap_or(self.base));
        match (self.endpoint.poll_timeout(), script) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_line_matching() {
        let inv = "INVITE sip:bob@10.0.0.2:5060 SIP/2.0";
        let busy = "SIP/2.0 486 Busy Here";
        assert!(Match::Request(Method::Invite).test(inv));
        assert!(!Match::Request(Method::Ack).test(inv));
        assert!(!Match::Request(Method::Invite).test(busy));
        assert!(Match::Status(486).test(busy));
        assert!(!Match::Status(487).test(busy));
        assert!(Match::Class(4).test(busy));
        assert!(!Match::Class(4).test(inv));
        assert!(Match::AnyRequest.test(inv) && !Match::AnyRequest.test(busy));
        assert!(Match::AnyResponse.test(busy) && !Match::AnyResponse.test(inv));
        assert!(Match::Any.test(""));
        assert!((|l: &str| l.ends_with("Here")).test(busy));
        assert_eq!(status_of(busy), Some(486));
        assert_eq!(status_of("SIP/2.0 x"), None);
        assert_eq!(status_of(inv), None);
    }

    #[test]
    fn ack_for_2xx_copies_the_dialog_fields() {
        let invite = Request::builder(Method::Invite, "sip:bob@10.0.0.2")
            .header("Via", "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1")
            .max_forwards(70)
            .from("<sip:alice@10.0.0.1>", Some("a1"))
            .to("<sip:bob@10.0.0.2>", None)
            .call_id("c1")
            .cseq(7)
            .route("<sip:p@10.0.0.9;lr>")
            .build()
            .unwrap();
        let ok = Response::from_request(&invite, 200)
            .to_tag("b2")
            .build()
            .unwrap();
        let ack = ack_for_2xx(&invite, &ok).unwrap();
        assert_eq!(ack.method(), &Method::Ack);
        assert_eq!(ack.uri_str(), "sip:bob@10.0.0.2");
        assert_eq!(ack.cseq(), Some((7, "ACK")));
        assert_eq!(ack.to().unwrap().tag(), Some("b2"));
        assert_eq!(ack.from().unwrap().tag(), Some("a1"));
        assert_eq!(ack.call_id(), Some("c1"));
        assert_eq!(
            ack.headers().get(HeaderName::Route),
            Some("<sip:p@10.0.0.9;lr>")
        );
        assert!(ack.via().is_none(), "the endpoint adds the Via");
    }

    #[allow(clippy::disallowed_methods)]
    fn base() -> Instant {
        Instant::now()
    }

    #[test]
    fn scripted_steps_are_timed_from_arrival_and_stateless_answers_once() {
        let base = base();
        let a: SocketAddr = "10.0.0.1:5060".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:5060".parse().unwrap();
        let mut alice = SipNode::new(base, a, 1);
        let mut bob = SipNode::new(base, b, 2);
        bob.on(
            Method::Options,
            Behaviour::Stateless(vec![Step::new(ms(5), 200), Step::now(100)]),
        );
        alice
            .send(base, Method::Options, Target::new(Transport::Udp, b))
            .unwrap();
        let d = alice.poll_transmit().unwrap();
        let t = base + ms(10);
        bob.handle_receive(t, d.transport, a, b, d.bytes.clone());
        // The 100 goes at once, the 200 is due 5 ms after arrival.
        let out = bob.poll_transmit().unwrap();
        assert_eq!(first_line(&out.bytes), "SIP/2.0 100 Trying");
        assert_eq!(bob.poll_timeout(), Some(base + ms(15)));
        // A retransmission is recorded but not answered again.
        bob.handle_receive(t, d.transport, a, b, d.bytes);
        assert_eq!(bob.poll_transmit(), None);
        assert_eq!(
            bob.received_times(Match::Request(Method::Options)),
            vec![ms(10), ms(10)]
        );
        bob.handle_timeout(base + ms(15));
        let out = bob.poll_transmit().unwrap();
        assert_eq!(first_line(&out.bytes), "SIP/2.0 200 OK");
        assert_eq!(out.destination, a);
        assert_eq!(bob.poll_timeout(), None);
        assert_eq!(bob.endpoint().transaction_count(), (0, 0));
        assert_eq!(bob.sent_times(Match::AnyResponse), vec![ms(10), ms(15)]);
    }
}
