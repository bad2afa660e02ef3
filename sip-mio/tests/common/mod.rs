//! A loop for tests: several drivers in one `mio::Poll`, each optionally running the
//! `mio_uas` example's app (included from the example, so the tests run it as shipped),
//! with every event kept for assertions.
#![allow(dead_code)]

#[path = "../../examples/mio_uas/mio_pbx.rs"]
pub mod app;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::{Events, Poll};
use sip_core::dialog::{DialogId, DialogState};
use sip_core::endpoint::{Event as SipEvent, InviteOptions, Target};
use sip_core::transport::Transport;
use sip_mio::{Driver, DriverConfig, Event, Listen};
use sip_pbx::PbxConfig;

use app::App;

#[allow(clippy::disallowed_methods)]
pub fn now() -> Instant {
    Instant::now()
}

pub struct Node {
    pub driver: Driver,
    pub app: Option<App>,
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

    /// Adds a driver (tokens 1000·(n+1)..), running the app with a default PBX if `app`.
    pub fn add(&mut self, config: DriverConfig, app: bool) -> usize {
        self.add_with(config, app.then(PbxConfig::default))
    }

    /// Adds a driver, running the app with `pbx` if given.
    pub fn add_with(&mut self, mut config: DriverConfig, pbx: Option<PbxConfig>) -> usize {
        if pbx.is_some() {
            // The app answers offers through the core's offer/answer.
            config.endpoint = sip_pbx::Pbx::endpoint_config(config.endpoint);
        }
        let n = self.nodes.len();
        let base = 1000 * (n + 1);
        let driver = Driver::new(config, self.poll.registry(), base..base + 1000).unwrap();
        let app = pbx.map(|c| App::new(c, &driver, now()));
        self.nodes.push(Node {
            driver,
            app,
            events: Vec::new(),
        });
        n
    }

    /// Adds a driver on `listen` with a fixed `seed` (tests repeat themselves).
    pub fn add_on(&mut self, listen: Vec<Listen>, seed: u64, app: bool) -> usize {
        self.add(DriverConfig::new(listen).seed(seed), app)
    }

    /// Node `n`'s app.
    pub fn app(&self, n: usize) -> &App {
        self.nodes[n].app.as_ref().expect("the node runs the app")
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

    /// Moves every driver's events into its node, feeding its app on the way.
    pub fn drain_events(&mut self) {
        let t = now();
        for n in &mut self.nodes {
            while let Some(e) = n.driver.poll_event() {
                if let Some(a) = n.app.as_mut() {
                    a.on_event(&mut n.driver, t, &e);
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

    /// The requests of node `n`'s incoming calls, in order.
    pub fn incoming_calls(&self, n: usize) -> Vec<(DialogId, &sip_core::message::Request)> {
        self.nodes[n]
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Sip(SipEvent::IncomingCall {
                    dialog, request, ..
                }) => Some((*dialog, &**request)),
                _ => None,
            })
            .collect()
    }
}

/// Sends `request` from node `n` to `to` in a new client transaction.
pub fn send(
    h: &mut Harness,
    n: usize,
    request: sip_core::message::Request,
    to: Target,
) -> sip_core::endpoint::ClientTxId {
    let t = now();
    h.driver(n)
        .with_endpoint(t, |ep| ep.send_request(t, request, to))
        .unwrap()
}

/// Places a call from node `n`.
pub fn invite(h: &mut Harness, n: usize, opts: InviteOptions) -> DialogId {
    let t = now();
    h.driver(n)
        .with_endpoint(t, |ep| ep.invite(t, opts))
        .unwrap()
}

/// Hangs up node `n`'s `call`.
pub fn hangup(h: &mut Harness, n: usize, call: DialogId) {
    let t = now();
    h.driver(n)
        .with_endpoint(t, |ep| ep.dialog(call)?.hangup(t))
        .unwrap()
}

/// An out-of-dialog request from node `n` (Call-ID and From tag drawn by its endpoint).
pub fn request(
    h: &mut Harness,
    n: usize,
    method: sip_core::message::Method,
    uri: &str,
    from: &str,
    to: &str,
) -> sip_core::message::RequestBuilder {
    h.driver(n)
        .with_endpoint(now(), |ep| ep.request(method, uri, from, to))
}

pub fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// A URI for `user` at `to`, with `;transport=tcp` over TCP.
pub fn uri(user: &str, transport: Transport, to: SocketAddr) -> String {
    match transport {
        Transport::Tcp => format!("sip:{user}@{to};transport=tcp"),
        _ => format!("sip:{user}@{to}"),
    }
}

/// INVITE options to the address `to` over `transport`, with an SDP offer.
pub fn invite_to(transport: Transport, to: SocketAddr) -> InviteOptions {
    InviteOptions::new(uri("bob", transport, to), "<sip:alice@example.com>", "<sip:bob@example.com>")
        .body(
            "application/sdp",
            &b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n"[..],
        )
        .target(Target::new(transport, to))
}
