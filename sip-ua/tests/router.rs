//! The router needs nothing of a runtime: two routers wired back to back by an in-memory
//! [`Io`] (no socket, no task, no executor but `futures_lite::future::block_on`) carry a
//! whole call placed, answered and hung up through the handles (RFC 3261 §13, §15).
//! Bounded in time.

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_lite::future;
use sip_core::dialog::{DialogState, EndReason};
use sip_core::endpoint::{Endpoint, EndpointConfig, Input, Transmit};
use sip_core::resolver::{DnsAnswer, DnsQuery, DnsQueryId};
use sip_core::transport::Transport;
use sip_tls::TlsFailure;
use sip_ua::Body;
use sip_ua::runtime::{self, Io, Router, RouterConfig, UaFront};

/// What a router sent, for the test to deliver.
#[derive(Default)]
struct Wire {
    sent: Vec<Transmit>,
}

impl Io for Wire {
    fn send(&mut self, transmit: Transmit) {
        self.sent.push(transmit);
    }

    fn tls_failure(&self, _peer: SocketAddr) -> Option<TlsFailure> {
        None
    }

    /// No DNS here: every query fails at once.
    fn dns_query(&mut self, _now: Instant, q: DnsQuery) -> Option<(DnsQueryId, DnsAnswer)> {
        Some((q.id, DnsAnswer::Failed))
    }
}

struct Node {
    addr: SocketAddr,
    router: Router<Wire>,
}

fn node(addr: &str, seed: u64) -> (Node, UaFront) {
    let addr: SocketAddr = addr.parse().unwrap();
    let mut econf = EndpointConfig::default();
    runtime::set_local_addrs(&mut econf, &[(Transport::Udp, addr)]);
    let identity = runtime::default_identity(&econf);
    let cfg = RouterConfig {
        shutdown_timeout: Duration::from_secs(2),
        shutdown_grace: Duration::from_millis(50),
        tap: None,
    };
    let (router, link) = Router::new(Endpoint::new(econf, seed), Wire::default(), cfg);
    (
        Node { addr, router },
        UaFront::new(vec![link], identity, 16),
    )
}

/// Runs the routers until `test` is done: their commands, their timers, and every
/// transmit delivered to the router at its destination.
fn run<T>(nodes: &mut [Node], test: impl Future<Output = T>) -> T {
    let pump = async {
        let start = Instant::now();
        loop {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "test took too long"
            );
            let now = Instant::now();
            let mut wire = Vec::new();
            for n in nodes.iter_mut() {
                while let Some(cmd) = n.router.try_command() {
                    n.router.command(now, cmd);
                }
                if n.router.next_wake().is_some_and(|at| at <= now) {
                    n.router.timeout(now);
                }
                n.router.drain(now);
                wire.extend(n.router.io_mut().sent.drain(..).map(|t| (n.addr, t)));
            }
            for (from, t) in wire {
                if let Some(n) = nodes.iter_mut().find(|n| n.addr == t.destination) {
                    let input = Input::Receive {
                        transport: t.transport,
                        from: t.source.unwrap_or(from),
                        to: n.addr,
                        bytes: t.bytes,
                    };
                    n.router.input(now, input);
                }
            }
            future::yield_now().await;
        }
    };
    future::block_on(future::or(test, pump))
}

#[test]
fn a_call_through_two_routers_without_a_runtime() {
    let (alice_node, alice) = node("127.0.0.1:5001", 1);
    let (bob_node, bob) = node("127.0.0.1:5002", 2);
    let mut incoming = bob.incoming();
    let mut nodes = [alice_node, bob_node];
    let (caller_saw, callee_saw) = run(&mut nodes, async {
        let caller = async {
            let mut call = alice
                .call("sip:bob@127.0.0.1:5002")
                .sdp("v=0\r\n")
                .await
                .unwrap();
            let ringing = call.progress().await.map(|r| r.status());
            let ok = call.answered().await.unwrap();
            assert_eq!(call.state(), DialogState::Confirmed);
            call.hangup().await.unwrap();
            (ringing, ok.status(), call.ended().await)
        };
        let callee = async {
            let inc = incoming.next().await.unwrap();
            inc.ringing().await.unwrap();
            let call = inc.accept(Some(Body::sdp("v=0\r\n"))).await.unwrap();
            call.ended().await
        };
        future::zip(caller, callee).await
    });
    assert_eq!(caller_saw, (Some(180), 200, EndReason::LocalBye));
    assert_eq!(callee_saw, EndReason::RemoteBye);
    for n in nodes {
        n.router.end();
    }
}
