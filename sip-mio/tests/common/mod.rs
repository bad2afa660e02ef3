//! A loop for tests: several drivers in one `mio::Poll`, each optionally answering through
//! the shared UAS logic, with every event kept for assertions.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::{Events, Poll};
use sip_core::dialog::{DialogId, DialogState};
use sip_core::endpoint::{Event as SipEvent, InviteOptions, Target};
use sip_core::transport::Transport;
use sip_mio::uas::Uas;
use sip_mio::{Driver, DriverConfig, Event, Listen};

#[allow(clippy::disallowed_methods)]
pub fn now() -> Instant {
    Instant::now()
}

pub struct Node {
    pub driver: Driver,
    pub uas: Option<Uas>,
    pub events: Vec<Event>,
}

pub struct Harness {
    pub poll: Poll,
    events: Events,
    pub nodes: Vec<Node>,
    /// Loop iterations so far.
    pub iterations: u64,
}

impl Harness {
    pub fn new() -> Harness {
        Harness {
            poll: Poll::new().unwrap(),
            events: Events::with_capacity(256),
            nodes: Vec::new(),
            iterations: 0,
        }
    }

    /// Adds a driver on `listen` (tokens 1000·(n+1)..), answering with the UAS if `uas`.
    pub fn add(&mut self, config: DriverConfig, uas: bool) -> usize {
        let n = self.nodes.len();
        let base = 1000 * (n + 1);
        let driver = Driver::new(config, self.poll.registry(), base..base + 1000).unwrap();
        self.nodes.push(Node {
            driver,
            uas: uas.then(Uas::new),
            events: Vec::new(),
        });
        n
    }

    pub fn add_on(&mut self, listen: Vec<Listen>, seed: u64, uas: bool) -> usize {
        self.add(DriverConfig::new(listen).seed(seed), uas)
    }

    pub fn driver(&mut self, n: usize) -> &mut Driver {
        &mut self.nodes[n].driver
    }

    /// One turn of the loop, sleeping at most `max_wait`.
    pub fn turn(&mut self, max_wait: Duration) {
        self.iterations += 1;
        let t = now();
        let timeout = self
            .nodes
            .iter_mut()
            .filter_map(|n| n.driver.next_timeout(t))
            .min()
            .map_or(max_wait, |d| d.min(max_wait));
        self.poll.poll(&mut self.events, Some(timeout)).unwrap();
        let t = now();
        for ev in self.events.iter() {
            let owned = self.nodes.iter_mut().any(|n| n.driver.handle_event(ev, t));
            assert!(owned, "foreign token {:?}", ev.token());
        }
        for n in &mut self.nodes {
            n.driver.handle_timeout(t);
        }
        self.drain_events();
    }

    /// Moves every driver's events into its node, feeding its UAS on the way.
    pub fn drain_events(&mut self) {
        let t = now();
        for n in &mut self.nodes {
            while let Some(e) = n.driver.poll_event() {
                if let Some(u) = n.uas.as_mut() {
                    u.on_driver_event(&mut n.driver, t, &e);
                }
                n.events.push(e);
            }
        }
    }

    /// Turns until `done` holds or `limit` passes; whether it held.
    pub fn run_until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&mut Harness) -> bool,
    ) -> bool {
        let end = now() + limit;
        loop {
            self.drain_events();
            if done(self) {
                return true;
            }
            let left = end.saturating_duration_since(now());
            if left.is_zero() {
                return false;
            }
            self.turn(left.min(Duration::from_millis(100)));
        }
    }

    pub fn states(&self, n: usize, d: DialogId) -> Vec<DialogState> {
        self.nodes[n]
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Sip(SipEvent::DialogStateChanged { dialog, state }) if *dialog == d => {
                    Some(*state)
                }
                _ => None,
            })
            .collect()
    }

    pub fn has_state(&self, n: usize, d: DialogId, s: DialogState) -> bool {
        self.states(n, d).contains(&s)
    }

    pub fn incoming_call(&self, n: usize) -> Option<DialogId> {
        self.nodes[n].events.iter().find_map(|e| match e {
            Event::Sip(SipEvent::IncomingCall { dialog, .. }) => Some(*dialog),
            _ => None,
        })
    }
}

pub fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// INVITE options from node `from` to the address `to` over `transport`, with an SDP offer.
pub fn invite_to(transport: Transport, to: SocketAddr) -> InviteOptions {
    let uri = match (transport, to) {
        (Transport::Tcp, SocketAddr::V4(a)) => format!("sip:bob@{a};transport=tcp"),
        (Transport::Tcp, SocketAddr::V6(a)) => format!("sip:bob@{a};transport=tcp"),
        (_, SocketAddr::V4(a)) => format!("sip:bob@{a}"),
        (_, SocketAddr::V6(a)) => format!("sip:bob@{a}"),
    };
    InviteOptions::new(uri, "<sip:alice@example.com>", "<sip:bob@example.com>")
        .body(
            "application/sdp",
            &b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n"[..],
        )
        .target(Target::new(transport, to))
}
