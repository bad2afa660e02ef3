//! # sip-sim
//!
//! A deterministic network simulator for sans-IO protocol endpoints, such as the `Endpoint`
//! of [`sip_core`]. Nothing sleeps and nothing touches a socket: the [`Sim`] owns a virtual
//! clock, a seeded network and any number of [`Node`]s, and moves bytes and time between them.
//!
//! * **Virtual clock.** One base [`Instant`] is taken when the simulator is built; "now" is
//!   that base plus a [`Duration`](std::time::Duration) offset that only [`Sim::step`] moves forward. A run of
//!   many virtual minutes takes milliseconds.
//! * **Seeded network.** Every random decision (loss, duplication, jitter, reordering,
//!   stream chunking) comes from one PRNG seeded by [`Sim::new`], and ties between events at
//!   the same instant are broken by the order in which they were scheduled, so the same seed
//!   and the same nodes give a byte-identical [`trace`](Sim::trace).
//! * **Datagrams and connections.** UDP datagrams are lost, duplicated, delayed and
//!   reordered independently, as set by the [`LinkConfig`] of the path. Reliable transports
//!   (TCP, TLS, SCTP, WebSockets: [`Transport::is_reliable`]) behave like a connection per
//!   `(from, to, transport)`: no loss, no duplication, strictly in order, and a send across
//!   a partition or to an address nobody listens on fails with
//!   [`Node::handle_transport_error`]. Byte streams (TCP, TLS: [`Transport::is_stream`]) can
//!   optionally be cut into random chunks ([`LinkConfig::chunking`]) to exercise framing.
//! * **Partitions** between two addresses, or isolating one address from all others, start
//!   and end at scheduled virtual times ([`Sim::partition`], [`Sim::heal`], [`Sim::isolate`],
//!   [`Sim::rejoin`]).
//! * **Trace and ladder diagrams.** Every send, delivery, drop and duplicate is recorded as a
//!   [`TraceEntry`] with its virtual time and the message's first line, and can be drawn as a
//!   sequence diagram in text ([`Sim::ladder_text`]) or SVG ([`Sim::ladder_svg`]). The
//!   bytes of each send are kept with it ([`Sim::message`]).
//! * **A test's hand on the wire.** [`Sim::drop_where`] drops every message whose first
//!   line matches (every ACK, say), and [`Sim::inject`] puts a hand-written message on the
//!   network from any address, a node's or not.
//! * **Bounded runs.** [`Sim::run_until_idle`], [`Sim::run_until`] and [`Sim::run_for`] stop
//!   with a [`SimError`] after a configurable number of steps or past a virtual time limit, so
//!   a livelocked node fails a test instead of hanging it.
//!
//! ## Example
//!
//! A node that answers every message with `PONG`, and a scripted node that pings it once:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use std::net::SocketAddr;
//! use bytes::Bytes;
//! use sip_core::transport::Transport;
//! use sip_sim::{Datagram, LinkConfig, Node, Sim};
//! use sip_sim::testing::ScriptNode;
//!
//! /// Answers every message with `PONG` over the same transport.
//! #[derive(Default)]
//! struct Ponger {
//!     outbox: Vec<Datagram>,
//! }
//!
//! impl Node for Ponger {
//!     fn handle_receive(&mut self, _now: Instant, transport: Transport, from: SocketAddr,
//!                       to: SocketAddr, _bytes: Bytes) {
//!         self.outbox.push(Datagram { transport, source: to, destination: from,
//!                                     bytes: Bytes::from_static(b"PONG") });
//!     }
//!     fn handle_transport_error(&mut self, _: Instant, _: Transport, _: SocketAddr) {}
//!     fn handle_timeout(&mut self, _now: Instant) {}
//!     fn poll_transmit(&mut self) -> Option<Datagram> { self.outbox.pop() }
//!     fn poll_timeout(&mut self) -> Option<Instant> { None }
//! }
//!
//! let a: SocketAddr = "10.0.0.1:5060".parse().unwrap();
//! let b: SocketAddr = "10.0.0.2:5060".parse().unwrap();
//! let mut sim = Sim::new(7);
//! sim.set_default_link(LinkConfig::ideal(Duration::from_millis(25)));
//!
//! let mut pinger = ScriptNode::new(sim.base(), a);
//! pinger.send_at(Duration::from_millis(10), Transport::Udp, b, "PING");
//! let pinger = sim.add_node(a, pinger);
//! sim.add_node(b, Ponger::default());
//!
//! sim.run_until_idle().unwrap();
//!
//! // Sent at 10 ms, answered at 35 ms, back at 60 ms.
//! let got = &sim.node::<ScriptNode>(pinger).unwrap().received;
//! assert_eq!(got.len(), 1);
//! assert_eq!(got[0].at, Duration::from_millis(60));
//! assert_eq!(&got[0].bytes[..], b"PONG");
//! assert_eq!(sim.elapsed(), Duration::from_millis(60));
//!
//! assert_eq!(sim.ladder_text(), "\
//! time (s)  10.0.0.1:5060                                   10.0.0.2:5060
//!    0.035  |-------------------- PING -------------------->|
//!    0.060  |<-------------------- PONG --------------------|
//! ");
//! ```
//!
//! To drive a node from a test (say, tell an endpoint to send an INVITE), use
//! [`Sim::with_node`], which hands the node out together with the current virtual instant and
//! then [flushes](Sim::flush) whatever it queued into the network.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
pub use sip_core::transport::Transport;

pub mod dns;
mod ladder;
mod link;
mod sim;
pub mod sip;
pub mod testing;
mod trace;
pub mod ua;

pub use dns::DnsZone;
pub use ladder::Ladder;
pub use link::LinkConfig;
pub use sim::{Sim, SimError};
pub use sip::{Behaviour, Match, SipNode, Step, TraceExt};
pub use trace::{DropReason, TraceEntry, TraceKind, first_line};
pub use ua::{UaCtl, UaNode};

/// One message a node hands to the network: the bytes, the transport, and the local
/// (`source`) and remote (`destination`) addresses. For stream transports it is one framed
/// message; the simulator keeps it whole unless [`LinkConfig::chunking`] is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// The transport to send over.
    pub transport: Transport,
    /// The local address it leaves from (what the receiver sees as `from`).
    pub source: SocketAddr,
    /// The remote address it goes to.
    pub destination: SocketAddr,
    /// The bytes.
    pub bytes: Bytes,
}

/// What the simulator needs from a sans-IO protocol endpoint.
///
/// After every call into a node (a delivery, a timer, a transport error, or a test driving it
/// through [`Sim::with_node`]) the simulator drains [`Node::poll_transmit`] until it returns
/// `None` and asks [`Node::poll_timeout`] for the node's next deadline. Nodes must be
/// `'static` so tests can get them back by type ([`Sim::node_mut`]).
pub trait Node {
    /// Bytes arrived at local address `to` from `from` over `transport`, at virtual instant
    /// `now`. For a chunked stream this is one chunk; otherwise one whole message.
    fn handle_receive(
        &mut self,
        now: Instant,
        transport: Transport,
        from: SocketAddr,
        to: SocketAddr,
        bytes: Bytes,
    );

    /// A message this node sent to `destination` over a reliable `transport` could not be
    /// delivered: the connection could not be opened (nobody listens there, or a partition
    /// is in the way). Reported one link latency after the send.
    fn handle_transport_error(
        &mut self,
        now: Instant,
        transport: Transport,
        destination: SocketAddr,
    );

    /// The deadline last returned by [`Node::poll_timeout`] has come; `now` is that deadline
    /// (or the current virtual time if the deadline was already past).
    fn handle_timeout(&mut self, now: Instant);

    /// The next message to send, if any. Called until it returns `None`.
    fn poll_transmit(&mut self) -> Option<Datagram>;

    /// The next instant at which [`Node::handle_timeout`] must be called, if any. A deadline
    /// in the past fires at the current virtual time. A node that returns the same past
    /// deadline after handling it is livelocked; bounded runs report that as a
    /// [`SimError`].
    fn poll_timeout(&mut self) -> Option<Instant>;
}

/// The handle of a node added to a [`Sim`], in the order nodes were added (0, 1, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub usize);
