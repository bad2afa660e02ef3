//! The simulator: virtual clock, event queue, seeded network.

use std::any::Any;
use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sip_core::transport::Transport;

use crate::ladder::{Column, Ladder};
use crate::link::{LinkConfig, probability};
use crate::sip::LinePredicate;
use crate::trace::{DropReason, TraceEntry, TraceKind, first_line};
use crate::{Datagram, Node, NodeId};

/// Default bound on the steps of one bounded run.
const DEFAULT_MAX_STEPS: u64 = 1_000_000;
/// Default virtual-time limit of [`Sim::run_until_idle`]: one day.
const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(24 * 60 * 60);
/// Default bound on the transmits drained from one node in one flush.
const DEFAULT_MAX_TRANSMITS: usize = 100_000;

/// Why a bounded run stopped before it was done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// The run took `limit` steps and still had events left: most likely a livelock, such as
    /// a node re-arming a timer forever. See [`Sim::set_max_steps`].
    #[error("step limit of {limit} reached at virtual time {at:?} with events left")]
    StepLimit {
        /// The step bound that was reached.
        limit: u64,
        /// Virtual time when the run stopped.
        at: Duration,
    },
    /// [`Sim::run_until_idle`] found its next event past the virtual time limit. See
    /// [`Sim::set_time_limit`].
    #[error("next event at virtual time {next:?} lies past the limit {limit:?}")]
    TimeLimit {
        /// The virtual time limit.
        limit: Duration,
        /// When the next event was due.
        next: Duration,
    },
    /// A node kept returning transmits from [`Node::poll_transmit`] past the bound of one
    /// flush. The rest stay queued in the node.
    #[error("node {node:?} queued more than {limit} transmits in one flush")]
    TransmitLimit {
        /// The node.
        node: NodeId,
        /// The bound.
        limit: usize,
    },
}

/// A [`Node`] that can also be downcast, so tests get their concrete node type back.
trait AnyNode: Node + Any {}
impl<T: Node + Any> AnyNode for T {}

/// A node and what the simulator knows about it.
struct Slot {
    node: Box<dyn AnyNode>,
    /// The address the node was added with (its ladder column header).
    addr: SocketAddr,
    /// Further addresses routed to this node.
    aliases: Vec<SocketAddr>,
    /// The node's next deadline (virtual time) and the sequence number it was armed with.
    timer: Option<(Duration, u64)>,
    /// Whether the node was called (or handed out) since its transmits and deadline were
    /// last read.
    dirty: bool,
}

/// A message in flight.
struct Packet {
    id: u64,
    duplicate: bool,
    transport: Transport,
    from: SocketAddr,
    to: SocketAddr,
    first_line: String,
    len: usize,
    /// The bytes as delivered: one chunk, or several for a chunked stream.
    chunks: Vec<Bytes>,
}

enum Event {
    /// A message arrives.
    Deliver(Packet),
    /// A reliable send failed; tell the sender (if a node sent it).
    ConnectionFailed {
        sender: Option<NodeId>,
        packet: Packet,
    },
    /// A partition between two addresses starts (`cut`) or ends.
    Partition {
        a: SocketAddr,
        b: SocketAddr,
        cut: bool,
    },
    /// An address is cut off from every other (`cut`) or rejoins.
    Isolate { a: SocketAddr, cut: bool },
}

/// A queue entry: when, in what order, and which slot of `Sim::pending` holds the event.
/// Kept small so the heap moves 24 bytes per sift, not a whole packet.
struct Scheduled {
    at: Duration,
    seq: u64,
    slot: usize,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// What comes next.
enum Next {
    Queue,
    Timer(usize),
}

/// A deterministic network of [`Node`]s on a virtual clock. See the [crate docs](crate).
///
/// Every event (a delivery, a node deadline, a transport error, a partition starting or
/// ending) has a virtual time and a sequence number taken when it was scheduled; events run
/// in `(time, sequence)` order, so events due at the same instant run in the order they were
/// scheduled. Node deadlines take their sequence number when the node reports a new one.
pub struct Sim {
    base: Instant,
    now: Duration,
    rng: fastrand::Rng,
    nodes: Vec<Slot>,
    by_addr: BTreeMap<SocketAddr, usize>,
    default_link: LinkConfig,
    links: BTreeMap<(SocketAddr, SocketAddr), LinkConfig>,
    partitions: BTreeSet<(SocketAddr, SocketAddr)>,
    isolated: BTreeSet<SocketAddr>,
    queue: BinaryHeap<Reverse<Scheduled>>,
    /// The queued events, by slot; `free` lists the empty slots for reuse.
    pending: Vec<Option<Event>>,
    free: Vec<usize>,
    /// Every node deadline as `(time, sequence, node index)`, mirroring `Slot::timer`.
    timers: BTreeSet<(Duration, u64, usize)>,
    seq: u64,
    next_message: u64,
    /// Per reliable connection `(from, to, transport)`: the arrival time of its last message.
    connections: BTreeMap<(SocketAddr, SocketAddr, Transport), Duration>,
    trace: Vec<TraceEntry>,
    trace_enabled: bool,
    /// The bytes of each traced send, by message id (ids grow, so the list is sorted).
    messages: Vec<(u64, Bytes)>,
    /// The test's filter: messages whose first line it matches are dropped.
    drop_filter: Option<Box<dyn LinePredicate>>,
    steps: u64,
    max_steps: u64,
    time_limit: Duration,
    max_transmits: usize,
    overflow: Option<SimError>,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("elapsed", &self.now)
            .field(
                "nodes",
                &self.nodes.iter().map(|s| s.addr).collect::<Vec<_>>(),
            )
            .field("queued", &self.queue.len())
            .field("steps", &self.steps)
            .field("trace_len", &self.trace.len())
            .finish_non_exhaustive()
    }
}

impl Sim {
    /// A simulator whose network draws all its randomness from `seed`, with the virtual clock
    /// based on the current instant (read once, here) and the [default
    /// link](LinkConfig::default) between every pair of addresses.
    #[allow(clippy::disallowed_methods)]
    pub fn new(seed: u64) -> Self {
        Self::with_base(seed, Instant::now())
    }

    /// Like [`Sim::new`], with the virtual clock starting at `base`.
    pub fn with_base(seed: u64, base: Instant) -> Self {
        Sim {
            base,
            now: Duration::ZERO,
            rng: fastrand::Rng::with_seed(seed),
            nodes: Vec::new(),
            by_addr: BTreeMap::new(),
            default_link: LinkConfig::default(),
            links: BTreeMap::new(),
            partitions: BTreeSet::new(),
            isolated: BTreeSet::new(),
            queue: BinaryHeap::new(),
            pending: Vec::new(),
            free: Vec::new(),
            timers: BTreeSet::new(),
            seq: 0,
            next_message: 0,
            connections: BTreeMap::new(),
            trace: Vec::new(),
            trace_enabled: true,
            messages: Vec::new(),
            drop_filter: None,
            steps: 0,
            max_steps: DEFAULT_MAX_STEPS,
            time_limit: DEFAULT_TIME_LIMIT,
            max_transmits: DEFAULT_MAX_TRANSMITS,
            overflow: None,
        }
    }

    // ----- clock -------------------------------------------------------------------------

    /// The instant virtual time 0 maps to.
    pub fn base(&self) -> Instant {
        self.base
    }

    /// The current virtual instant: [`Sim::base`] plus [`Sim::elapsed`].
    pub fn now(&self) -> Instant {
        self.instant_at(self.now)
    }

    /// Virtual time since the start.
    pub fn elapsed(&self) -> Duration {
        self.now
    }

    /// The instant of virtual time `t` (saturating at the base if the sum overflows, which
    /// needs a `t` of centuries).
    pub fn instant_at(&self, t: Duration) -> Instant {
        self.base.checked_add(t).unwrap_or(self.base)
    }

    /// The virtual time of `instant` (zero for instants before the base).
    pub fn offset_of(&self, instant: Instant) -> Duration {
        instant.saturating_duration_since(self.base)
    }

    // ----- nodes -------------------------------------------------------------------------

    /// Adds a node listening at `addr` and returns its id. Whatever the node already queued
    /// is sent and its deadline read at once. If another node listened at `addr`, the new
    /// node takes the address over (the old one keeps running but no longer receives there):
    /// a way to model a restart.
    pub fn add_node<N: Node + 'static>(&mut self, addr: SocketAddr, node: N) -> NodeId {
        let index = self.nodes.len();
        self.nodes.push(Slot {
            node: Box::new(node),
            addr,
            aliases: Vec::new(),
            timer: None,
            dirty: true,
        });
        self.by_addr.insert(addr, index);
        self.flush_node(index);
        NodeId(index)
    }

    /// Routes messages for `addr` to node `id` as well (a node with several sockets, such
    /// as UDP and TCP on different ports). Returns `false` if there is no such node.
    pub fn add_address(&mut self, id: NodeId, addr: SocketAddr) -> bool {
        let Some(slot) = self.nodes.get_mut(id.0) else {
            return false;
        };
        if slot.addr != addr && !slot.aliases.contains(&addr) {
            slot.aliases.push(addr);
        }
        self.by_addr.insert(addr, id.0);
        true
    }

    /// The number of nodes added.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The address node `id` was added with.
    pub fn node_addr(&self, id: NodeId) -> Option<SocketAddr> {
        self.nodes.get(id.0).map(|s| s.addr)
    }

    /// The node receiving at `addr`, if any.
    pub fn node_at(&self, addr: SocketAddr) -> Option<NodeId> {
        self.by_addr.get(&addr).copied().map(NodeId)
    }

    /// Node `id` as its concrete type, or `None` if there is no such node or it is of
    /// another type.
    pub fn node<N: Node + 'static>(&self, id: NodeId) -> Option<&N> {
        let slot = self.nodes.get(id.0)?;
        let any: &dyn Any = &*slot.node;
        any.downcast_ref::<N>()
    }

    /// Node `id` as its concrete type, mutably. After driving it directly, call
    /// [`Sim::flush`] (or any run method, which flushes first) so what it queued leaves at
    /// the current virtual time; [`Sim::with_node`] does both.
    pub fn node_mut<N: Node + 'static>(&mut self, id: NodeId) -> Option<&mut N> {
        let slot = self.nodes.get_mut(id.0)?;
        slot.dirty = true;
        let any: &mut dyn Any = &mut *slot.node;
        any.downcast_mut::<N>()
    }

    /// Calls `f` with node `id` (as its concrete type) and the current virtual instant, then
    /// [flushes](Sim::flush) its transmits into the network and reads its deadline. `None` if
    /// there is no such node or it is of another type.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sip_sim::{Sim, Transport, testing::ScriptNode};
    /// let a = "10.0.0.1:5060".parse().unwrap();
    /// let b = "10.0.0.2:5060".parse().unwrap();
    /// let mut sim = Sim::new(1);
    /// let ida = sim.add_node(a, ScriptNode::new(sim.base(), a));
    /// let idb = sim.add_node(b, ScriptNode::new(sim.base(), b));
    /// sim.with_node(ida, |n: &mut ScriptNode, _now| n.send_now(Transport::Udp, b, "hello"));
    /// sim.run_until_idle().unwrap();
    /// assert_eq!(sim.node::<ScriptNode>(idb).unwrap().received[0].at, Duration::from_millis(10));
    /// ```
    pub fn with_node<N: Node + 'static, R>(
        &mut self,
        id: NodeId,
        f: impl FnOnce(&mut N, Instant) -> R,
    ) -> Option<R> {
        let now = self.now();
        let node = self.node_mut::<N>(id)?;
        let r = f(node, now);
        self.flush_dirty();
        Some(r)
    }

    // ----- network configuration ---------------------------------------------------------

    /// Sets the link used between every pair of addresses without a link of its own.
    pub fn set_default_link(&mut self, link: LinkConfig) {
        self.default_link = link;
    }

    /// Sets the link between `a` and `b`, both directions.
    pub fn set_link(&mut self, a: SocketAddr, b: SocketAddr, link: LinkConfig) {
        self.links.insert((a, b), link);
        self.links.insert((b, a), link);
    }

    /// Sets the link for messages from `from` to `to` only.
    pub fn set_link_directed(&mut self, from: SocketAddr, to: SocketAddr, link: LinkConfig) {
        self.links.insert((from, to), link);
    }

    /// The link messages from `from` to `to` take.
    pub fn link(&self, from: SocketAddr, to: SocketAddr) -> LinkConfig {
        self.links
            .get(&(from, to))
            .copied()
            .unwrap_or(self.default_link)
    }

    /// At virtual time `at` (or now, if `at` has passed), cut `a` and `b` apart, both
    /// directions: datagrams between them are dropped, reliable sends fail.
    pub fn partition(&mut self, at: Duration, a: SocketAddr, b: SocketAddr) {
        self.schedule(at, Event::Partition { a, b, cut: true });
    }

    /// At virtual time `at` (or now), end a partition between `a` and `b`.
    pub fn heal(&mut self, at: Duration, a: SocketAddr, b: SocketAddr) {
        self.schedule(at, Event::Partition { a, b, cut: false });
    }

    /// At virtual time `at` (or now), cut `a` off from every other address (a crashed host
    /// or a pulled cable).
    pub fn isolate(&mut self, at: Duration, a: SocketAddr) {
        self.schedule(at, Event::Isolate { a, cut: true });
    }

    /// At virtual time `at` (or now), end the isolation of `a`.
    pub fn rejoin(&mut self, at: Duration, a: SocketAddr) {
        self.schedule(at, Event::Isolate { a, cut: false });
    }

    /// From now on, drops every message whose first line `p` matches (a
    /// [`Match`](crate::Match) or a `|line: &str| ...` closure), whatever its transport and
    /// link: a test's way to lose one kind of message on purpose, say every ACK. Each is
    /// traced as sent and then [`DropReason::Filtered`] at the send time; the sender of a
    /// reliable one is not told. Replaces the filter set before; [`Sim::stop_dropping`]
    /// removes it.
    ///
    /// ```
    /// # use sip_sim::{DropReason, Sim, TraceKind, Transport, testing::ScriptNode};
    /// let (a, b) = ("10.0.0.1:5060".parse().unwrap(), "10.0.0.2:5060".parse().unwrap());
    /// let mut sim = Sim::new(1);
    /// let ida = sim.add_node(a, ScriptNode::new(sim.base(), a));
    /// let idb = sim.add_node(b, ScriptNode::new(sim.base(), b));
    /// sim.drop_where(|line: &str| line.starts_with("ACK"));
    /// sim.with_node(ida, |n: &mut ScriptNode, _| {
    ///     n.send_now(Transport::Udp, b, "ACK sip:b SIP/2.0\r\n\r\n");
    ///     n.send_now(Transport::Udp, b, "BYE sip:b SIP/2.0\r\n\r\n");
    /// });
    /// sim.run_until_idle().unwrap();
    /// assert_eq!(sim.node::<ScriptNode>(idb).unwrap().received.len(), 1);
    /// assert_eq!(sim.trace()[1].kind, TraceKind::Dropped(DropReason::Filtered));
    /// ```
    pub fn drop_where(&mut self, p: impl LinePredicate + 'static) {
        self.drop_filter = Some(Box::new(p));
    }

    /// Removes the filter of [`Sim::drop_where`]: from now on nothing is dropped for its
    /// first line.
    pub fn stop_dropping(&mut self) {
        self.drop_filter = None;
    }

    /// Whether messages between `a` and `b` are cut off right now.
    pub fn is_partitioned(&self, a: SocketAddr, b: SocketAddr) -> bool {
        self.partitions.contains(&ordered(a, b))
            || self.isolated.contains(&a)
            || self.isolated.contains(&b)
    }

    /// Bounds the steps one call of [`Sim::run_until_idle`], [`Sim::run_until`] or
    /// [`Sim::run_for`] may take (default 1,000,000).
    pub fn set_max_steps(&mut self, max_steps: u64) {
        self.max_steps = max_steps;
    }

    /// The virtual time past which [`Sim::run_until_idle`] refuses to go (default one day).
    pub fn set_time_limit(&mut self, limit: Duration) {
        self.time_limit = limit;
    }

    /// Bounds how many transmits one flush takes from one node (default 100,000).
    pub fn set_max_transmits_per_flush(&mut self, max: usize) {
        self.max_transmits = max;
    }

    // ----- running -----------------------------------------------------------------------

    /// Runs the next event (a delivery, a node deadline, a transport error, a partition
    /// change): advances the clock to its time, processes it, and flushes every node's
    /// transmits into the network. Transmits nodes queued before the call leave first, at
    /// the current time. Returns `false`, doing nothing else, if no event is left.
    pub fn step(&mut self) -> bool {
        self.flush_dirty();
        let Some((at, next)) = self.peek() else {
            return false;
        };
        self.now = self.now.max(at);
        match next {
            Next::Queue => {
                if let Some(Reverse(s)) = self.queue.pop()
                    && let Some(event) = self.pending.get_mut(s.slot).and_then(Option::take)
                {
                    self.free.push(s.slot);
                    self.process(event);
                }
            }
            Next::Timer(index) => {
                let now = self.now();
                if let Some(slot) = self.nodes.get_mut(index) {
                    if let Some((t, seq)) = slot.timer.take() {
                        self.timers.remove(&(t, seq, index));
                    }
                    slot.dirty = true;
                    slot.node.handle_timeout(now);
                }
            }
        }
        self.steps += 1;
        self.flush_dirty();
        true
    }

    /// Virtual time of the next event, if any (after flushing what nodes queued).
    pub fn next_event_at(&mut self) -> Option<Duration> {
        self.flush_dirty();
        self.peek().map(|(at, _)| at)
    }

    /// Runs every event due up to and including virtual time `t`, then sets the clock to `t`
    /// (if it is not past it already). Fails after [`Sim::set_max_steps`] steps.
    pub fn run_until(&mut self, t: Duration) -> Result<(), SimError> {
        let mut taken = 0u64;
        loop {
            self.check_overflow()?;
            match self.next_event_at() {
                Some(at) if at <= t => {
                    if taken >= self.max_steps {
                        return Err(SimError::StepLimit {
                            limit: self.max_steps,
                            at: self.now,
                        });
                    }
                    self.step();
                    taken += 1;
                }
                _ => break,
            }
        }
        self.now = self.now.max(t);
        Ok(())
    }

    /// [`Sim::run_until`] `d` from now.
    pub fn run_for(&mut self, d: Duration) -> Result<(), SimError> {
        self.run_until(self.now.saturating_add(d))
    }

    /// Runs until no event is left: every message delivered or dropped, no node deadline
    /// pending. Fails after [`Sim::set_max_steps`] steps, or if the next event lies past
    /// [`Sim::set_time_limit`], so a livelock cannot hang a test.
    pub fn run_until_idle(&mut self) -> Result<(), SimError> {
        let mut taken = 0u64;
        loop {
            self.check_overflow()?;
            let Some(at) = self.next_event_at() else {
                return Ok(());
            };
            if at > self.time_limit {
                return Err(SimError::TimeLimit {
                    limit: self.time_limit,
                    next: at,
                });
            }
            if taken >= self.max_steps {
                return Err(SimError::StepLimit {
                    limit: self.max_steps,
                    at: self.now,
                });
            }
            self.step();
            taken += 1;
        }
    }

    /// Steps taken since the start.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Drains every node's transmits into the network at the current virtual time and reads
    /// each node's next deadline. Call after driving a node through [`Sim::node_mut`] to
    /// send what it queued right away; the run methods and [`Sim::step`] do it anyway first
    /// (for the nodes handed out or called since the last flush).
    pub fn flush(&mut self) {
        for index in 0..self.nodes.len() {
            self.flush_node(index);
        }
    }

    /// Puts `d` on the network now, as if the host at `d.source` had sent it: a hand-written
    /// message from a peer that runs no node (a proxy, a NAT, a broken client), or a copy of
    /// a message sent before (a retransmission the sender never made). Whatever nodes
    /// queued leaves first. It takes the link from `d.source` to `d.destination` and is
    /// traced like any send; a failed reliable send is reported to the node at `d.source`,
    /// if there is one. Returns the id its trace entries carry ([`TraceEntry::id`]).
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use sip_sim::{Datagram, Sim, Transport, testing::ScriptNode};
    /// let b = "10.0.0.2:5060".parse().unwrap();
    /// let mut sim = Sim::new(1);
    /// let idb = sim.add_node(b, ScriptNode::new(sim.base(), b));
    /// let id = sim.inject(Datagram {
    ///     transport: Transport::Udp,
    ///     source: "198.51.100.7:4000".parse().unwrap(),
    ///     destination: b,
    ///     bytes: "OPTIONS sip:b SIP/2.0\r\n\r\n".into(),
    /// });
    /// sim.run_until_idle().unwrap();
    /// assert_eq!(sim.node::<ScriptNode>(idb).unwrap().received[0].at, Duration::from_millis(10));
    /// assert!(sim.trace().iter().all(|e| e.id == id));
    /// ```
    pub fn inject(&mut self, d: Datagram) -> u64 {
        self.flush_dirty();
        let sender = self.node_at(d.source);
        self.send(sender, d)
    }

    /// [`Sim::flush`] for the nodes called or handed out since they were last flushed: the
    /// only ones whose transmits or deadline can have changed, since nodes are sans-IO.
    fn flush_dirty(&mut self) {
        for index in 0..self.nodes.len() {
            if self.nodes.get(index).is_some_and(|s| s.dirty) {
                self.flush_node(index);
            }
        }
    }

    // ----- trace -------------------------------------------------------------------------

    /// Everything the network did so far, in order.
    pub fn trace(&self) -> &[TraceEntry] {
        &self.trace
    }

    /// The bytes of the message whose trace entries carry `id` ([`TraceEntry::id`]), as its
    /// sender handed them to the network (a duplicate shares its original's id and bytes).
    /// Kept while the trace is on, until [`Sim::clear_trace`]; `None` for other ids.
    ///
    /// ```
    /// # use sip_sim::{Sim, Transport, testing::ScriptNode};
    /// let a = "10.0.0.1:5060".parse().unwrap();
    /// let mut sim = Sim::new(1);
    /// let ida = sim.add_node(a, ScriptNode::new(sim.base(), a));
    /// sim.with_node(ida, |n: &mut ScriptNode, _| n.send_now(Transport::Udp, a, "PING\r\nx"));
    /// let sent = &sim.trace()[0];
    /// assert_eq!(sent.first_line, "PING");
    /// assert_eq!(&sim.message(sent.id).unwrap()[..], b"PING\r\nx");
    /// ```
    pub fn message(&self, id: u64) -> Option<&Bytes> {
        let i = self.messages.binary_search_by_key(&id, |(m, _)| *m).ok()?;
        self.messages.get(i).map(|(_, b)| b)
    }

    /// Forgets the trace so far (say, after a set-up phase), with the bytes it kept.
    pub fn clear_trace(&mut self) {
        self.trace.clear();
        self.messages.clear();
    }

    /// Turns recording of the trace on (the default) or off, for long runs such as property
    /// tests over many seeds that do not look at it. The network behaves the same either way.
    pub fn set_trace_enabled(&mut self, enabled: bool) {
        self.trace_enabled = enabled;
    }

    /// The trace as a sequence diagram, one column per node (in the order they were added,
    /// headed by the address each was added with) plus one per address no node listens at.
    pub fn ladder(&self) -> Ladder {
        let columns = self
            .nodes
            .iter()
            .map(|s| {
                let mut addrs = vec![s.addr];
                addrs.extend(s.aliases.iter().copied());
                Column {
                    header: s.addr.to_string(),
                    addrs,
                }
            })
            .collect();
        Ladder::build(&self.trace, columns)
    }

    /// [`Sim::ladder`] as text (see [`Ladder::to_text`]).
    pub fn ladder_text(&self) -> String {
        self.ladder().to_text()
    }

    /// [`Sim::ladder`] as a standalone SVG document (see [`Ladder::to_svg`]).
    pub fn ladder_svg(&self) -> String {
        self.ladder().to_svg()
    }

    // ----- internals ---------------------------------------------------------------------

    fn next_seq(&mut self) -> u64 {
        let s = self.seq;
        self.seq += 1;
        s
    }

    fn schedule(&mut self, at: Duration, event: Event) {
        let seq = self.next_seq();
        let slot = match self.free.pop() {
            Some(i) => {
                self.pending[i] = Some(event);
                i
            }
            None => {
                self.pending.push(Some(event));
                self.pending.len() - 1
            }
        };
        self.queue.push(Reverse(Scheduled {
            at: at.max(self.now),
            seq,
            slot,
        }));
    }

    fn check_overflow(&mut self) -> Result<(), SimError> {
        match self.overflow.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The next event: the earliest of the queue head and the node deadlines, by
    /// `(time, sequence)`.
    fn peek(&self) -> Option<(Duration, Next)> {
        let queued = self
            .queue
            .peek()
            .map(|Reverse(s)| ((s.at, s.seq), Next::Queue));
        let timer = self
            .timers
            .first()
            .map(|&(at, seq, i)| ((at, seq), Next::Timer(i)));
        let best = match (queued, timer) {
            (Some(q), Some(t)) => Some(if t.0 < q.0 { t } else { q }),
            (q, t) => q.or(t),
        };
        best.map(|((at, _), next)| (at, next))
    }

    fn flush_node(&mut self, index: usize) {
        if let Some(slot) = self.nodes.get_mut(index) {
            slot.dirty = false;
        }
        let mut taken = 0usize;
        loop {
            if taken >= self.max_transmits {
                self.overflow = Some(SimError::TransmitLimit {
                    node: NodeId(index),
                    limit: self.max_transmits,
                });
                // Leave it dirty: the rest goes out at the next flush.
                if let Some(slot) = self.nodes.get_mut(index) {
                    slot.dirty = true;
                }
                break;
            }
            let Some(datagram) = self
                .nodes
                .get_mut(index)
                .and_then(|s| s.node.poll_transmit())
            else {
                break;
            };
            taken += 1;
            self.send(Some(NodeId(index)), datagram);
        }
        self.refresh_timer(index);
    }

    fn refresh_timer(&mut self, index: usize) {
        let now = self.now;
        let base = self.base;
        let Some(deadline) = self.nodes.get_mut(index).map(|s| {
            s.node
                .poll_timeout()
                .map(|i| i.saturating_duration_since(base).max(now))
        }) else {
            return;
        };
        let current = self.nodes.get(index).and_then(|s| s.timer);
        let timer = match (deadline, current) {
            (None, _) => None,
            (Some(d), Some((t, seq))) if d == t => Some((t, seq)),
            (Some(d), _) => Some((d, self.next_seq())),
        };
        if timer != current {
            if let Some((t, seq)) = current {
                self.timers.remove(&(t, seq, index));
            }
            if let Some((t, seq)) = timer {
                self.timers.insert((t, seq, index));
            }
        }
        if let Some(slot) = self.nodes.get_mut(index) {
            slot.timer = timer;
        }
    }

    fn record(&mut self, kind: TraceKind, p: &Packet) {
        if !self.trace_enabled {
            return;
        }
        self.trace.push(TraceEntry {
            at: self.now,
            kind,
            id: p.id,
            duplicate: p.duplicate,
            transport: p.transport,
            from: p.from,
            to: p.to,
            first_line: p.first_line.clone(),
            len: p.len,
        });
    }

    fn chance(&mut self, p: f64) -> bool {
        let p = probability(p);
        if p <= 0.0 {
            false
        } else if p >= 1.0 {
            true
        } else {
            self.rng.f64() < p
        }
    }

    fn jitter(&mut self, jitter: Duration) -> Duration {
        if jitter.is_zero() {
            return Duration::ZERO;
        }
        let max = u64::try_from(jitter.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(self.rng.u64(0..=max))
    }

    /// A node (or a test, through [`Sim::inject`]) handed `d` to the network; returns the
    /// message's id.
    fn send(&mut self, sender: Option<NodeId>, d: Datagram) -> u64 {
        let id = self.next_message;
        self.next_message += 1;
        if self.trace_enabled {
            self.messages.push((id, d.bytes.clone()));
        }
        let packet = Packet {
            id,
            duplicate: false,
            transport: d.transport,
            from: d.source,
            to: d.destination,
            // Only the trace and the filter read it: without them, skip the scan and the
            // copy.
            first_line: if self.trace_enabled || self.drop_filter.is_some() {
                first_line(&d.bytes)
            } else {
                String::new()
            },
            len: d.bytes.len(),
            chunks: vec![d.bytes],
        };
        self.record(TraceKind::Sent, &packet);
        if self
            .drop_filter
            .as_ref()
            .is_some_and(|f| f.test(&packet.first_line))
        {
            self.record(TraceKind::Dropped(DropReason::Filtered), &packet);
            return id;
        }
        let link = self.link(d.source, d.destination);
        if d.transport.is_reliable() {
            self.send_reliable(sender, packet, &link);
        } else {
            self.send_datagram(packet, &link);
        }
        id
    }

    fn send_reliable(&mut self, sender: Option<NodeId>, mut packet: Packet, link: &LinkConfig) {
        let delay = link.latency.saturating_add(self.jitter(link.jitter));
        let arrival = self.now.saturating_add(delay);
        let reachable =
            self.by_addr.contains_key(&packet.to) && !self.is_partitioned(packet.from, packet.to);
        if !reachable {
            self.schedule(arrival, Event::ConnectionFailed { sender, packet });
            return;
        }
        let key = (packet.from, packet.to, packet.transport);
        let arrival = match self.connections.get(&key) {
            Some(&last) => arrival.max(last),
            None => arrival,
        };
        self.connections.insert(key, arrival);
        if link.chunking && packet.transport.is_stream() {
            packet.chunks = self.chunk(std::mem::take(&mut packet.chunks));
        }
        self.schedule(arrival, Event::Deliver(packet));
    }

    /// Cuts a stream message into random pieces of at most half its length (so anything of
    /// two bytes or more is split).
    fn chunk(&mut self, chunks: Vec<Bytes>) -> Vec<Bytes> {
        let mut out = Vec::new();
        for mut bytes in chunks {
            let max = (bytes.len() / 2).max(1);
            while !bytes.is_empty() {
                let n = self.rng.usize(1..=max.min(bytes.len()));
                out.push(bytes.split_to(n));
            }
        }
        out
    }

    fn send_datagram(&mut self, packet: Packet, link: &LinkConfig) {
        if self.is_partitioned(packet.from, packet.to) {
            self.record(TraceKind::Dropped(DropReason::Partition), &packet);
            return;
        }
        let copy = if self.chance(link.duplicate) {
            let copy = Packet {
                id: packet.id,
                duplicate: true,
                transport: packet.transport,
                from: packet.from,
                to: packet.to,
                first_line: packet.first_line.clone(),
                len: packet.len,
                chunks: packet.chunks.clone(),
            };
            self.record(TraceKind::Duplicated, &copy);
            Some(copy)
        } else {
            None
        };
        self.launch(packet, link);
        if let Some(copy) = copy {
            self.launch(copy, link);
        }
    }

    /// Loses or schedules one copy of a datagram.
    fn launch(&mut self, packet: Packet, link: &LinkConfig) {
        if self.chance(link.loss) {
            self.record(TraceKind::Dropped(DropReason::Loss), &packet);
            return;
        }
        let mut delay = link.latency.saturating_add(self.jitter(link.jitter));
        if self.chance(link.reorder) {
            delay = delay.saturating_add(link.reorder_delay);
        }
        let at = self.now.saturating_add(delay);
        self.schedule(at, Event::Deliver(packet));
    }

    fn process(&mut self, event: Event) {
        match event {
            Event::Deliver(packet) => self.deliver(packet),
            Event::ConnectionFailed { sender, packet } => {
                self.record(TraceKind::Dropped(DropReason::ConnectionFailed), &packet);
                let now = self.now();
                if let Some(slot) = sender.and_then(|s| self.nodes.get_mut(s.0)) {
                    slot.dirty = true;
                    slot.node
                        .handle_transport_error(now, packet.transport, packet.to);
                }
            }
            Event::Partition { a, b, cut } => {
                if cut {
                    self.partitions.insert(ordered(a, b));
                } else {
                    self.partitions.remove(&ordered(a, b));
                }
            }
            Event::Isolate { a, cut } => {
                if cut {
                    self.isolated.insert(a);
                } else {
                    self.isolated.remove(&a);
                }
            }
        }
    }

    fn deliver(&mut self, packet: Packet) {
        if !packet.transport.is_reliable() && self.is_partitioned(packet.from, packet.to) {
            self.record(TraceKind::Dropped(DropReason::Partition), &packet);
            return;
        }
        let Some(&index) = self.by_addr.get(&packet.to) else {
            self.record(TraceKind::Dropped(DropReason::NoNode), &packet);
            return;
        };
        self.record(TraceKind::Delivered, &packet);
        let now = self.now();
        if let Some(slot) = self.nodes.get_mut(index) {
            slot.dirty = true;
            for chunk in packet.chunks {
                slot.node
                    .handle_receive(now, packet.transport, packet.from, packet.to, chunk);
            }
        }
    }
}

/// The pair in a fixed order, so a partition covers both directions.
fn ordered(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    if a <= b { (a, b) } else { (b, a) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::ScriptNode;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ordered_pairs() {
        let (a, b) = (addr("10.0.0.1:1"), addr("10.0.0.2:1"));
        assert_eq!(ordered(a, b), (a, b));
        assert_eq!(ordered(b, a), (a, b));
    }

    #[test]
    fn chunks_are_at_most_half_and_cover_the_message() {
        let mut sim = Sim::new(5);
        let msg = Bytes::from(vec![7u8; 100]);
        let chunks = sim.chunk(vec![msg.clone()]);
        assert!(chunks.len() >= 2);
        assert!(chunks.iter().all(|c| !c.is_empty() && c.len() <= 50));
        assert_eq!(chunks.concat(), msg.to_vec());
        let one = sim.chunk(vec![Bytes::from_static(b"x")]);
        assert_eq!(one, vec![Bytes::from_static(b"x")]);
        assert!(sim.chunk(vec![Bytes::new()]).is_empty());
    }

    /// Node A sends over TCP at 10 ms (a reliable send checks the partition at the send
    /// only); a partition also starts at 10 ms. Whichever was scheduled first runs first.
    fn tie(partition_first: bool) -> usize {
        let (a, b) = (addr("10.0.0.1:1"), addr("10.0.0.2:1"));
        let mut sim = Sim::new(1);
        let mut n = ScriptNode::new(sim.base(), a);
        n.send_at(Duration::from_millis(10), Transport::Tcp, b, "x");
        if partition_first {
            sim.partition(Duration::from_millis(10), a, b);
        }
        sim.add_node(a, n);
        if !partition_first {
            sim.partition(Duration::from_millis(10), a, b);
        }
        let idb = sim.add_node(b, ScriptNode::new(sim.base(), b));
        sim.run_until_idle().unwrap();
        sim.node::<ScriptNode>(idb).unwrap().received.len()
    }

    #[test]
    fn ties_break_by_scheduling_order() {
        assert_eq!(tie(true), 0);
        assert_eq!(tie(false), 1);
    }

    #[test]
    fn unchanged_deadline_keeps_its_place() {
        let a = addr("10.0.0.1:1");
        let mut sim = Sim::new(1);
        let mut n = ScriptNode::new(sim.base(), a);
        n.send_at(Duration::from_millis(10), Transport::Udp, a, "x");
        let id = sim.add_node(a, n);
        let before = sim.timers.clone();
        sim.flush();
        sim.flush();
        assert_eq!(sim.timers, before);
        assert_eq!(sim.timers.len(), 1);
        assert_eq!(
            sim.nodes[id.0].timer.map(|t| t.0),
            Some(Duration::from_millis(10))
        );
        sim.run_until_idle().unwrap();
        assert!(sim.timers.is_empty());
    }

    #[test]
    fn disabled_trace_records_nothing_but_runs_the_same() {
        let (a, b) = (addr("10.0.0.1:1"), addr("10.0.0.2:1"));
        let run = |enabled: bool| {
            let mut sim = Sim::new(8);
            sim.set_trace_enabled(enabled);
            sim.set_default_link(LinkConfig::ideal(Duration::from_millis(3)).with_loss(0.5));
            let mut n = ScriptNode::new(sim.base(), a);
            for i in 0..100 {
                n.send_at(Duration::from_millis(i), Transport::Udp, b, "x");
            }
            sim.add_node(a, n);
            let idb = sim.add_node(b, ScriptNode::new(sim.base(), b));
            sim.run_until_idle().unwrap();
            let got = sim.node::<ScriptNode>(idb).unwrap().received.clone();
            (got, sim.trace().len())
        };
        let (with, len_with) = run(true);
        let (without, len_without) = run(false);
        assert_eq!(with, without);
        assert_eq!(len_without, 0);
        assert_eq!(len_with, 100 + 100);
    }
}
