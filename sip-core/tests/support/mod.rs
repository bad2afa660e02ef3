//! The one harness of sip-core's integration tests: sip-sim's deterministic simulator
//! (virtual clock, seeded network, trace with each message's bytes, ladder diagrams) with a
//! user agent ([`UaNode`]) per address, on links without latency: a message arrives at
//! the instant it was sent, so every time a test reads is a timer's own (RFC 3261 Table 4,
//! §17, §13.3.1.4).
//!
//! A test reads:
//!
//! ```text
//! let mut net = Net::new(&[A, B]);                         // UAs at A and B
//! let call = net.with(A, |ep, now| ep.invite(now, opts)).unwrap();
//! net.run();                                               // deliver; no time passes
//! let ev = net.take_events(B);                             // what B's TU was told
//! net.sim.drop_where(Match::Request(Method::Ack));         // the network loses ACKs
//! net.advance(Duration::from_secs(32));                    // timers fire on the way
//! assert_eq!(net.sent("BYE").len(), 1);                    // the wire, from the trace
//! ```
//!
//! A hand-written message from anywhere goes in with [`Net::inject`]; what one endpoint
//! sent and was told since the last look comes out of [`Net::drain`]; a failing scenario
//! can print `net.sim.ladder_text()`.

// Each test file uses its share of the harness.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sip_core::endpoint::{Endpoint, EndpointConfig, Event};
use sip_core::message::{ParseOptions, SipMessage, parse};
use sip_core::transport::Transport;
use sip_sim::{Datagram, LinkConfig, NodeId, Sim, TraceKind, UaNode};

pub const A: &str = "192.0.2.1:5060";
pub const B: &str = "192.0.2.2:5060";
pub const C: &str = "192.0.2.3:5060";

pub fn addr(s: &str) -> SocketAddr {
    s.parse().expect("a socket address")
}

/// A UDP endpoint configuration bound at `a`.
pub fn udp(a: &str) -> EndpointConfig {
    EndpointConfig::with_local(Transport::Udp, addr(a))
}

/// A message handed to the network, as the trace recorded its send, with its bytes.
#[derive(Debug, Clone)]
pub struct Sent {
    /// Virtual time of the send.
    pub at: Duration,
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub transport: Transport,
    /// Its first line.
    pub line: String,
    pub bytes: Bytes,
}

impl Sent {
    /// The message, parsed strictly (it came from an endpoint under test).
    pub fn parsed(&self) -> SipMessage {
        parse(self.bytes.clone(), &ParseOptions::strict())
            .unwrap_or_else(|e| panic!("{e}: {:?}", self.bytes))
    }

    /// Its status code; 0 for a request.
    pub fn status(&self) -> u16 {
        self.parsed().as_response().map_or(0, |r| r.status())
    }

    /// Its method; empty for a response.
    pub fn method(&self) -> String {
        self.parsed()
            .as_request()
            .map_or(String::new(), |r| r.method().to_string())
    }
}

/// What one endpoint did since the harness last looked: the messages it sent, the events
/// its TU was told, and its next timer.
#[derive(Debug)]
pub struct Drained {
    pub tx: Vec<Sent>,
    pub ev: Vec<Event>,
    pub timeout: Option<Instant>,
}

/// The simulator and what the harness remembers of it.
pub struct Net {
    /// The simulator itself, for what the harness does not wrap (partitions, filters,
    /// ladders).
    pub sim: Sim,
    /// Per node address, how far into the trace [`Net::drain`] has read.
    read: HashMap<SocketAddr, usize>,
    /// The trace ids of injected messages: [`Net::drain`] does not count them as sent by
    /// the node at their source.
    injected: HashSet<u64>,
}

impl Net {
    /// No node yet; every link lossless and without latency.
    pub fn empty() -> Net {
        let mut sim = Sim::new(1);
        sim.set_default_link(LinkConfig::ideal(Duration::ZERO));
        Net {
            sim,
            read: HashMap::new(),
            injected: HashSet::new(),
        }
    }

    /// A user agent (UDP) at each of `addrs`, seeded 100, 101, ... in order.
    pub fn new(addrs: &[&str]) -> Net {
        let mut net = Net::empty();
        for (i, a) in (100..).zip(addrs) {
            net.add(udp(a), i);
        }
        net
    }

    /// A user agent bound where `config`'s first local address says, seeded; set its
    /// reaction if it needs one, then [`Net::add_node`] it.
    pub fn ua(&self, config: EndpointConfig, seed: u64) -> UaNode {
        let at = config.local_addrs.first().expect("a local address").addr;
        UaNode::with_config(self.sim.base(), at, config, seed)
    }

    /// Adds a user agent with `config`, seeded.
    pub fn add(&mut self, config: EndpointConfig, seed: u64) -> NodeId {
        let node = self.ua(config, seed);
        self.add_node(node)
    }

    /// Adds `node` at its address.
    pub fn add_node(&mut self, node: UaNode) -> NodeId {
        self.sim.add_node(node.addr(), node)
    }

    /// Gives the user agent at `a` a new endpoint (a restart with another configuration):
    /// its column, record and address stay.
    pub fn replace(&mut self, a: &str, config: EndpointConfig, seed: u64) {
        let id = self.id(a);
        self.sim
            .with_node(id, |n: &mut UaNode, _| n.ep = Endpoint::new(config, seed))
            .expect("a user agent");
    }

    fn id(&self, a: &str) -> NodeId {
        self.sim.node_at(addr(a)).expect("a node at that address")
    }

    /// Runs `f` on the endpoint at `a` now; what it sends leaves at once.
    pub fn with<R>(&mut self, a: &str, f: impl FnOnce(&mut Endpoint, Instant) -> R) -> R {
        let id = self.id(a);
        self.sim
            .with_node(id, |n: &mut UaNode, now| n.with_endpoint(now, f))
            .expect("a user agent")
    }

    /// The endpoint at `a`, to read.
    pub fn ep(&self, a: &str) -> &Endpoint {
        &self
            .sim
            .node::<UaNode>(self.id(a))
            .expect("a user agent")
            .ep
    }

    /// The current virtual instant.
    pub fn now(&self) -> Instant {
        self.sim.now()
    }

    /// Virtual time since the start.
    pub fn elapsed(&self) -> Duration {
        self.sim.elapsed()
    }

    /// Delivers whatever is in flight, and what that causes, without letting time pass.
    pub fn run(&mut self) {
        let now = self.sim.elapsed();
        self.advance(now);
    }

    /// Runs to virtual time `t` (since the start), firing every timer due on the way.
    pub fn advance(&mut self, t: Duration) {
        self.sim.run_until(t).expect("the network settles");
    }

    /// Runs to the virtual instant `t`, firing every timer due on the way.
    pub fn advance_to(&mut self, t: Instant) {
        let t = self.sim.offset_of(t);
        self.advance(t);
    }

    /// Runs the next event only: at no latency, the delivery of the first message in
    /// flight, so a test can look between one message and the next.
    pub fn step(&mut self) {
        assert!(self.sim.step(), "nothing left to run");
    }

    /// Runs until no message is in flight and no timer is armed; returns the time then.
    pub fn settle(&mut self) -> Duration {
        self.sim.run_until_idle().expect("the timers run out");
        self.sim.elapsed()
    }

    /// Every event of the endpoint at `a` so far (but those taken), with its time.
    pub fn events(&self, a: &str) -> &[(Duration, Event)] {
        &self
            .sim
            .node::<UaNode>(self.id(a))
            .expect("a user agent")
            .events
    }

    /// The events of the endpoint at `a` since they were last taken.
    pub fn take_events(&mut self, a: &str) -> Vec<Event> {
        let id = self.id(a);
        let taken = self
            .sim
            .node_mut::<UaNode>(id)
            .expect("a user agent")
            .take_events();
        taken.into_iter().map(|(_, e)| e).collect()
    }

    /// Every message handed to the network so far (dropped ones too), in order.
    pub fn wire(&self) -> Vec<Sent> {
        self.sends_since(0).into_iter().map(|(_, s)| s).collect()
    }

    /// The times of the messages sent whose first line contains `pat`.
    pub fn sent(&self, pat: &str) -> Vec<Duration> {
        self.wire()
            .into_iter()
            .filter(|s| s.line.contains(pat))
            .map(|s| s.at)
            .collect()
    }

    /// The sends recorded from trace entry `start` on, with their ids.
    fn sends_since(&self, start: usize) -> Vec<(u64, Sent)> {
        let trace = self.sim.trace();
        trace
            .get(start..)
            .unwrap_or_default()
            .iter()
            .filter(|e| e.kind == TraceKind::Sent)
            .map(|e| {
                let sent = Sent {
                    at: e.at,
                    from: e.from,
                    to: e.to,
                    transport: e.transport,
                    line: e.first_line.clone(),
                    bytes: self.sim.message(e.id).cloned().unwrap_or_default(),
                };
                (e.id, sent)
            })
            .collect()
    }

    /// What the endpoint at `a` sent (injected messages aside) and was told since the last
    /// drain of `a`, and its next timer.
    pub fn drain(&mut self, a: &str) -> Drained {
        let at = addr(a);
        let start = self.read.insert(at, self.sim.trace().len()).unwrap_or(0);
        let tx = self
            .sends_since(start)
            .into_iter()
            .filter(|(id, s)| s.from == at && !self.injected.contains(id))
            .map(|(_, s)| s)
            .collect();
        let ev = self.take_events(a);
        let timeout = self.with(a, |ep, _| ep.poll_timeout());
        Drained { tx, ev, timeout }
    }

    /// Puts a hand-written message on the wire from `from` (a node's address or not) to
    /// `to`; it arrives when the network next runs.
    pub fn inject(
        &mut self,
        transport: Transport,
        from: SocketAddr,
        to: SocketAddr,
        bytes: impl Into<Bytes>,
    ) {
        let id = self.sim.inject(Datagram {
            transport,
            source: from,
            destination: to,
            bytes: bytes.into(),
        });
        self.injected.insert(id);
    }
}
