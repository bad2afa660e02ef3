//! [`UaNode`]: a user agent with the dialog layer on, driven by a reaction closure — the
//! node for call, transfer and registration scenarios (the transaction-level [`SipNode`]
//! is for timer tests).
//!
//! [`SipNode`]: crate::SipNode

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sip_core::endpoint::{Endpoint, EndpointConfig, Event, Input, LocalAddr, Output};
use sip_core::message::{ParseOptions, StreamFramer};
use sip_core::timer::TimerQueue;

use crate::{Datagram, Node, Transport};

/// A deferred action on the endpoint.
pub type Action = Box<dyn FnOnce(&mut Endpoint, Instant)>;

/// What a reaction can do besides reading the event: act on the endpoint now, or later.
pub struct UaCtl<'a> {
    /// The endpoint.
    pub ep: &'a mut Endpoint,
    /// The current instant.
    pub now: Instant,
    later: &'a mut TimerQueue<Action>,
}

impl UaCtl<'_> {
    /// Runs `f` on the endpoint `after` from now.
    pub fn after(&mut self, after: Duration, f: impl FnOnce(&mut Endpoint, Instant) + 'static) {
        self.later.schedule(self.now + after, Box::new(f));
    }
}

type Reaction = Box<dyn FnMut(&mut UaCtl<'_>, &Event)>;

/// A user agent in the simulator.
pub struct UaNode {
    /// The endpoint (dialog layer on).
    pub ep: Endpoint,
    /// Every event with its time since the simulation base.
    pub events: Vec<(Duration, Event)>,
    base: Instant,
    addr: SocketAddr,
    outbox: VecDeque<Datagram>,
    /// Deferred actions in time order (ties in scheduling order): O(log n) each.
    later: TimerQueue<Action>,
    recording: bool,
    reaction: Option<Reaction>,
    framers: std::collections::HashMap<(SocketAddr, Transport), StreamFramer>,
    /// The events of one drain, kept between drains so draining does not allocate.
    fresh: Vec<Event>,
    /// The zone its DNS queries are answered from (RFC 3263), if any.
    dns: Option<crate::DnsZone>,
}

impl UaNode {
    /// A user agent at `addr` (UDP and TCP), seeded.
    pub fn new(base: Instant, addr: SocketAddr, seed: u64) -> Self {
        let mut config = EndpointConfig::with_local(Transport::Udp, addr);
        config
            .local_addrs
            .push(LocalAddr::new(Transport::Tcp, addr));
        Self::with_config(base, addr, config, seed)
    }

    /// A user agent with this configuration.
    pub fn with_config(base: Instant, addr: SocketAddr, config: EndpointConfig, seed: u64) -> Self {
        UaNode {
            ep: Endpoint::new(config, seed),
            events: Vec::new(),
            base,
            addr,
            outbox: VecDeque::new(),
            later: TimerQueue::new(),
            fresh: Vec::new(),
            recording: true,
            reaction: None,
            framers: Default::default(),
            dns: None,
        }
    }

    /// Answers the endpoint's DNS queries from `zone`, in virtual time.
    pub fn with_dns(mut self, zone: crate::DnsZone) -> Self {
        self.dns = Some(zone);
        self
    }

    /// The zone, to read what was asked.
    pub fn dns(&self) -> Option<&crate::DnsZone> {
        self.dns.as_ref()
    }

    /// Sets the reaction called on every event (answer calls, accept REFERs, ...).
    pub fn react(mut self, f: impl FnMut(&mut UaCtl<'_>, &Event) + 'static) -> Self {
        self.reaction = Some(Box::new(f));
        self
    }

    /// Whether events are kept in [`UaNode::events`] (on by default; turn it off for long
    /// runs such as throughput measurements, where the reaction does the counting).
    pub fn set_recording(&mut self, on: bool) {
        self.recording = on;
    }

    /// Runs `f` on the endpoint at the virtual instant `at` (e.g. to place calls on a
    /// schedule before the simulation starts).
    pub fn at(&mut self, at: Instant, f: impl FnOnce(&mut Endpoint, Instant) + 'static) {
        self.later.schedule(at, Box::new(f));
    }

    /// The node's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Runs `f` on the endpoint at `now`, then drains what it produced: transmits to the
    /// network, events through the reaction into [`UaNode::events`] (use through
    /// `Sim::with_node`, which sends the transmits on at once). The one way a test commands
    /// the endpoint, as [`SipNode::with_endpoint`](crate::SipNode::with_endpoint) is for
    /// the scripted node.
    pub fn with_endpoint<R>(
        &mut self,
        now: Instant,
        f: impl FnOnce(&mut Endpoint, Instant) -> R,
    ) -> R {
        let r = f(&mut self.ep, now);
        self.pump(now);
        r
    }

    /// The events recorded since the last call (or since the start), with their times; the
    /// record starts empty again. For tests that look at what one step caused.
    ///
    /// ```
    /// # use sip_core::endpoint::{Event, InviteOptions};
    /// # use sip_sim::{Sim, UaNode};
    /// let (a, b) = ("10.0.0.1:5060".parse().unwrap(), "10.0.0.2:5060".parse().unwrap());
    /// let mut sim = Sim::new(1);
    /// let ida = sim.add_node(a, UaNode::new(sim.base(), a, 1));
    /// let idb = sim.add_node(b, UaNode::new(sim.base(), b, 2));
    /// sim.with_node(ida, |n: &mut UaNode, now| {
    ///     n.with_endpoint(now, |ep, now| ep.invite(now, InviteOptions::new("sip:b@10.0.0.2", "<sip:a@x>", "<sip:b@y>")))
    /// });
    /// sim.run_for(std::time::Duration::from_millis(10)).unwrap();
    /// let bob = sim.node_mut::<UaNode>(idb).unwrap();
    /// let got = bob.take_events();
    /// assert!(matches!(got[..], [(t, Event::IncomingCall { .. })] if t.as_millis() == 10));
    /// assert!(bob.take_events().is_empty());
    /// ```
    pub fn take_events(&mut self) -> Vec<(Duration, Event)> {
        std::mem::take(&mut self.events)
    }

    /// Events matching a predicate, with their times.
    pub fn find<'a>(
        &'a self,
        p: impl Fn(&Event) -> bool + 'a,
    ) -> impl Iterator<Item = (Duration, &'a Event)> + 'a {
        self.events
            .iter()
            .filter(move |(_, e)| p(e))
            .map(|(t, e)| (*t, e))
    }

    /// Schedules the zone's answer to every DNS query the endpoint asked.
    fn answer_dns(&mut self, now: Instant) {
        while let Some(q) = self.ep.poll_dns_query() {
            let Some(zone) = self.dns.as_mut() else {
                continue; // no zone: the query is never answered
            };
            let (after, answer) = zone.answer(&q);
            self.later.schedule(
                now + after,
                Box::new(move |ep: &mut Endpoint, now| ep.handle_dns_answer(now, q.id, answer)),
            );
        }
    }

    fn pump(&mut self, now: Instant) {
        self.answer_dns(now);
        for _ in 0..10_000 {
            let mut fresh = std::mem::take(&mut self.fresh);
            while let Some(o) = self.ep.poll_output() {
                match o {
                    Output::Transmit(t) => self.outbox.push_back(Datagram {
                        transport: t.transport,
                        source: t.source.unwrap_or(self.addr),
                        destination: t.destination,
                        bytes: t.bytes,
                    }),
                    Output::Event(e) => fresh.push(e),
                }
            }
            if fresh.is_empty() {
                self.fresh = fresh;
                self.answer_dns(now);
                return;
            }
            for e in fresh.drain(..) {
                if let Some(r) = self.reaction.as_mut() {
                    let mut ctl = UaCtl {
                        ep: &mut self.ep,
                        now,
                        later: &mut self.later,
                    };
                    r(&mut ctl, &e);
                }
                if self.recording {
                    self.events
                        .push((now.saturating_duration_since(self.base), e));
                }
            }
            self.fresh = fresh;
        }
    }

    fn run_later(&mut self, now: Instant) {
        while let Some((_, f)) = self.later.pop_due(now) {
            f(&mut self.ep, now);
            self.pump(now);
        }
    }
}

impl Node for UaNode {
    fn handle_receive(
        &mut self,
        now: Instant,
        transport: Transport,
        from: SocketAddr,
        to: SocketAddr,
        bytes: Bytes,
    ) {
        if !transport.is_stream() {
            self.ep.handle_input(
                now,
                Input::Receive {
                    transport,
                    from,
                    to,
                    bytes,
                },
            );
        } else {
            let framer = self
                .framers
                .entry((from, transport))
                .or_insert_with(|| StreamFramer::new(ParseOptions::default()));
            framer.push(&bytes);
            let mut frames = Vec::new();
            while let Some(Ok(f)) = framer.next_frame() {
                frames.push(f);
            }
            for f in frames {
                self.ep.handle_input(
                    now,
                    Input::Receive {
                        transport,
                        from,
                        to,
                        bytes: f,
                    },
                );
            }
        }
        self.pump(now);
    }

    fn handle_transport_error(
        &mut self,
        now: Instant,
        transport: Transport,
        destination: SocketAddr,
    ) {
        self.ep.handle_input(
            now,
            Input::TransportError {
                transport,
                destination,
            },
        );
        self.pump(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.ep.handle_timeout(now);
        self.pump(now);
        self.run_later(now);
    }

    fn poll_transmit(&mut self) -> Option<Datagram> {
        self.outbox.pop_front()
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        [self.ep.poll_timeout(), self.later.next_deadline()]
            .into_iter()
            .flatten()
            .min()
    }
}
