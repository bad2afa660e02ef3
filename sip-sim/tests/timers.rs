//! Every timer of RFC 3261 §17 (with RFC 6026 and RFC 4320), asserted at exact virtual times.
//!
//! All scenarios run over a 10 ms lossless link: a message sent at `t` arrives at `t + 10 ms`.
//! Alice (10.0.0.1) is the client, Bob (10.0.0.2) the server; times are from the start of
//! the simulation, and Alice sends her request at 0.

use std::net::SocketAddr;
use std::time::Duration;

use sip_core::endpoint::{
    EndpointConfig, EndpointError, Event, Failure, LocalAddr, ServerTxId, Target,
};
use sip_core::message::Method;
use sip_core::transaction::TransactionError;
use sip_sim::sip::{Behaviour, Command, Match, SipNode, Step, TraceExt, ms};
use sip_sim::testing::ScriptNode;
use sip_sim::{LinkConfig, NodeId, Sim, Transport};

fn alice_addr() -> SocketAddr {
    "10.0.0.1:5060".parse().unwrap()
}

fn bob_addr() -> SocketAddr {
    "10.0.0.2:5060".parse().unwrap()
}

fn sim(seed: u64) -> Sim {
    let mut sim = Sim::new(seed);
    sim.set_default_link(LinkConfig::ideal(ms(10)));
    sim
}

/// Times in milliseconds, for compact expectations.
fn at(list: &[u64]) -> Vec<Duration> {
    list.iter().map(|&m| ms(m)).collect()
}

/// Alice as a SipNode and Bob as a sink that never answers (so no `100 Trying` stops Alice's
/// retransmissions).
fn against_sink(transport: Transport, method: Method) -> (Sim, NodeId, NodeId) {
    let mut sim = sim(1);
    let a = sim.add_node(alice_addr(), SipNode::new(sim.base(), alice_addr(), 1));
    let b = sim.add_node(bob_addr(), ScriptNode::new(sim.base(), bob_addr()));
    sim.with_node(a, |n: &mut SipNode, now| {
        n.send(now, method, Target::new(transport, bob_addr()))
    })
    .unwrap()
    .unwrap();
    (sim, a, b)
}

/// Alice and Bob as SipNodes; Bob scripted by `script`; Alice sends `method` at 0.
fn pair(
    transport: Transport,
    method: Method,
    script: impl FnOnce(&mut SipNode),
) -> (Sim, NodeId, NodeId) {
    let mut sim = sim(1);
    let a = sim.add_node(alice_addr(), SipNode::new(sim.base(), alice_addr(), 1));
    let mut bob = SipNode::new(sim.base(), bob_addr(), 2);
    script(&mut bob);
    let b = sim.add_node(bob_addr(), bob);
    sim.with_node(a, |n: &mut SipNode, now| {
        n.send(now, method, Target::new(transport, bob_addr()))
    })
    .unwrap()
    .unwrap();
    (sim, a, b)
}

fn node(sim: &Sim, id: NodeId) -> &SipNode {
    sim.node::<SipNode>(id).unwrap()
}

fn first_tx(n: &SipNode) -> sip_core::endpoint::ClientTxId {
    n.started[0].tx
}

fn server_tx(n: &SipNode) -> ServerTxId {
    n.incoming()[0].1
}

// ----- Timers A and B (§17.1.1.2) ------------------------------------------------------------

#[test]
fn timer_a_doubles_from_t1_and_timer_b_fires_at_64_t1_over_udp() {
    let (mut sim, a, b) = against_sink(Transport::Udp, Method::Invite);
    sim.run_until_idle().unwrap();
    assert_eq!(
        sim.trace()
            .sent_times(alice_addr(), Match::Request(Method::Invite)),
        at(&[0, 500, 1500, 3500, 7500, 15500, 31500]),
        "Timer A: T1, 2·T1, 4·T1, ... uncapped"
    );
    let alice = node(&sim, a);
    assert_eq!(
        alice.client_failures(first_tx(alice)),
        vec![(ms(32_000), Failure::Timeout)],
        "Timer B = 64·T1"
    );
    assert_eq!(alice.emptied_at(), Some(ms(32_000)));
    assert_eq!(alice.endpoint().stats().retransmissions, 6);
    let bob = sim.node::<ScriptNode>(b).unwrap();
    let arrivals: Vec<Duration> = bob.received.iter().map(|r| r.at).collect();
    assert_eq!(arrivals, at(&[10, 510, 1510, 3510, 7510, 15510, 31510]));
    assert_eq!(sim.elapsed(), ms(32_000), "nothing happens after Timer B");
}

#[test]
fn no_timer_a_over_tcp_and_timer_b_still_fires_at_64_t1() {
    let (mut sim, a, b) = against_sink(Transport::Tcp, Method::Invite);
    sim.run_until_idle().unwrap();
    assert_eq!(
        sim.trace()
            .sent_times(alice_addr(), Match::Request(Method::Invite)),
        at(&[0])
    );
    let alice = node(&sim, a);
    assert_eq!(
        alice.client_failures(first_tx(alice)),
        vec![(ms(32_000), Failure::Timeout)]
    );
    assert_eq!(alice.emptied_at(), Some(ms(32_000)));
    assert_eq!(sim.node::<ScriptNode>(b).unwrap().received.len(), 1);
}

#[test]
fn timers_follow_a_configured_t1() {
    let mut sim = sim(1);
    let mut config = EndpointConfig::with_local(Transport::Udp, alice_addr());
    config.timers.t1 = ms(100);
    config.timers.t2 = ms(1000);
    let a = sim.add_node(
        alice_addr(),
        SipNode::with_config(sim.base(), alice_addr(), config, 1),
    );
    sim.add_node(bob_addr(), ScriptNode::new(sim.base(), bob_addr()));
    let target = Target::new(Transport::Udp, bob_addr());
    sim.with_node(a, |n: &mut SipNode, now| {
        n.send(now, Method::Invite, target.clone()).unwrap();
        n.send(now, Method::Options, target).unwrap();
    });
    sim.run_until_idle().unwrap();
    let trace = sim.trace();
    assert_eq!(
        trace.sent_times(alice_addr(), Match::Request(Method::Invite)),
        at(&[0, 100, 300, 700, 1500, 3100, 6300])
    );
    assert_eq!(
        trace.sent_times(alice_addr(), Match::Request(Method::Options)),
        at(&[0, 100, 300, 700, 1500, 2500, 3500, 4500, 5500])
    );
    let alice = node(&sim, a);
    let failures = alice.event_times(|e| matches!(e, Event::ClientTxFailed { .. }));
    assert_eq!(failures, at(&[6400, 6400]), "B and F = 64·T1 = 6.4 s");
}

// ----- Timers E and F (§17.1.2.2) ------------------------------------------------------------

#[test]
fn timer_e_doubles_to_t2_and_timer_f_fires_at_64_t1_over_udp() {
    let (mut sim, a, _) = against_sink(Transport::Udp, Method::Options);
    sim.run_until_idle().unwrap();
    assert_eq!(
        sim.trace()
            .sent_times(alice_addr(), Match::Request(Method::Options)),
        at(&[
            0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
        ]),
        "Timer E: T1, 2·T1, 4·T1, then T2"
    );
    let alice = node(&sim, a);
    assert_eq!(
        alice.client_failures(first_tx(alice)),
        vec![(ms(32_000), Failure::Timeout)],
        "Timer F = 64·T1"
    );
    assert_eq!(alice.emptied_at(), Some(ms(32_000)));
}

#[test]
fn no_timer_e_over_tcp_and_timer_f_still_fires_at_64_t1() {
    let (mut sim, a, _) = against_sink(Transport::Tcp, Method::Options);
    sim.run_until_idle().unwrap();
    assert_eq!(
        sim.trace()
            .sent_times(alice_addr(), Match::Request(Method::Options)),
        at(&[0])
    );
    let alice = node(&sim, a);
    assert_eq!(
        alice.client_failures(first_tx(alice)),
        vec![(ms(32_000), Failure::Timeout)]
    );
}

/// A pre-RFC 4320 server (scripted without a transaction layer) sends `100 Trying` at 1 s.
/// In Proceeding the client keeps its pending Timer E (1.5 s) and then retransmits every T2
/// (§17.1.2.2), until Timer F.
#[test]
fn timer_e_runs_every_t2_after_a_provisional() {
    let (mut sim, a, b) = pair(Transport::Udp, Method::Options, |bob| {
        bob.on(
            Method::Options,
            Behaviour::Stateless(vec![Step::new(ms(990), 100)]),
        );
    });
    sim.run_until_idle().unwrap();
    assert_eq!(
        sim.trace().sent_times(bob_addr(), Match::Status(100)),
        at(&[1000])
    );
    assert_eq!(
        sim.trace()
            .sent_times(alice_addr(), Match::Request(Method::Options)),
        at(&[0, 500, 1500, 5500, 9500, 13500, 17500, 21500, 25500, 29500])
    );
    let alice = node(&sim, a);
    let tx = first_tx(alice);
    assert_eq!(alice.responses(tx), vec![(ms(1010), 100)]);
    assert_eq!(
        alice.client_failures(tx),
        vec![(ms(32_000), Failure::Timeout)]
    );
    assert_eq!(node(&sim, b).endpoint().transaction_count(), (0, 0));
}

/// The core's own non-INVITE server follows RFC 4320 §4.1: no provisional other than 100,
/// and no 100 over UDP before the client's Timer E has reached T2 (3.5 s after the request
/// arrived). Once the 100 is out, a retransmitted request is answered with it again.
#[test]
fn non_invite_server_refuses_early_provisionals_and_resends_its_100() {
    let (mut sim, a, b) = pair(Transport::Udp, Method::Options, |bob| {
        bob.on(
            Method::Options,
            Behaviour::Answer(vec![
                Step::now(180),
                Step::new(ms(1000), 100),
                Step::new(ms(3600), 100),
                Step::new(ms(10_000), 200),
            ]),
        );
    });
    sim.run_until_idle().unwrap();
    let base = sim.base();
    let bob = node(&sim, b);
    let stx = server_tx(bob);
    assert_eq!(
        bob.errors
            .iter()
            .map(|e| (e.at, e.command.clone(), e.error.clone()))
            .collect::<Vec<_>>(),
        vec![
            (
                ms(10),
                Command::Respond {
                    tx: stx,
                    status: 180
                },
                EndpointError::Transaction(TransactionError::ProvisionalToNonInvite {
                    status: 180
                })
            ),
            (
                ms(1010),
                Command::Respond {
                    tx: stx,
                    status: 100
                },
                EndpointError::Transaction(TransactionError::TryingTooEarly {
                    earliest: base + ms(3510)
                })
            ),
        ]
    );
    // The 100 at 3.61 s, again for the retransmission arriving at 7.51 s, then the 200.
    assert_eq!(
        bob.sent_times(Match::AnyResponse),
        at(&[3610, 7510, 10_010])
    );
    let alice = node(&sim, a);
    let tx = first_tx(alice);
    assert_eq!(
        alice.sent_times(Match::Request(Method::Options)),
        at(&[0, 500, 1500, 3500, 7500])
    );
    assert_eq!(
        alice.responses(tx),
        vec![(ms(3620), 100), (ms(7520), 100), (ms(10_020), 200)]
    );
    assert_eq!(alice.emptied_at(), Some(ms(15_020)), "Timer K = T4");
    assert_eq!(bob.emptied_at(), Some(ms(42_010)), "Timer J = 64·T1");
}

// ----- Timers G, H and I (§17.2.1) ------------------------------------------------------------

#[test]
fn timer_g_resends_the_final_capped_at_t2_until_timer_h_without_ack() {
    let (mut sim, a, b) = pair(Transport::Udp, Method::Invite, |bob| {
        bob.on(Method::Invite, Behaviour::answer(486))
            .drop_received(Match::Request(Method::Ack));
    });
    sim.run_until_idle().unwrap();
    let bob = node(&sim, b);
    assert_eq!(
        sim.trace().sent_times(bob_addr(), Match::Status(486)),
        at(&[
            10, 510, 1510, 3510, 7510, 11510, 15510, 19510, 23510, 27510, 31510
        ]),
        "Timer G: T1, 2·T1, 4·T1, then T2"
    );
    assert_eq!(
        bob.server_failures(),
        vec![(ms(32_010), server_tx(bob), Failure::Timeout)],
        "Timer H = 64·T1 after the 486"
    );
    assert_eq!(bob.emptied_at(), Some(ms(32_010)));
    assert_eq!(
        bob.received_times(Match::Request(Method::Ack)).len(),
        11,
        "every 486 was acknowledged, every ACK dropped"
    );

    let alice = node(&sim, a);
    let tx = first_tx(alice);
    assert_eq!(alice.responses(tx), vec![(ms(20), 486)], "passed up once");
    assert_eq!(
        alice.sent_times(Match::Request(Method::Ack)),
        at(&[
            20, 520, 1520, 3520, 7520, 11520, 15520, 19520, 23520, 27520, 31520
        ]),
        "the client transaction ACKs each retransmission (§17.1.1.2)"
    );
    assert_eq!(alice.emptied_at(), Some(ms(32_020)), "Timer D = 32 s");
}

#[test]
fn no_timer_g_over_tcp_and_timer_h_still_fires_without_ack() {
    let (mut sim, a, b) = pair(Transport::Tcp, Method::Invite, |bob| {
        bob.on(Method::Invite, Behaviour::answer(486))
            .drop_received(Match::Request(Method::Ack));
    });
    sim.run_until_idle().unwrap();
    let bob = node(&sim, b);
    assert_eq!(bob.sent_times(Match::Status(486)), at(&[10]));
    assert_eq!(
        bob.server_failures(),
        vec![(ms(32_010), server_tx(bob), Failure::Timeout)]
    );
    let alice = node(&sim, a);
    assert_eq!(alice.sent_times(Match::Request(Method::Ack)), at(&[20]));
    assert_eq!(alice.emptied_at(), Some(ms(20)), "Timer D = 0 over TCP");
}

#[test]
fn ack_stops_timer_g_and_timer_i_ends_the_server_t4_later_and_timer_d_the_client() {
    let (mut sim, a, b) = pair(Transport::Udp, Method::Invite, |bob| {
        bob.on(Method::Invite, Behaviour::answer(486));
    });
    sim.run_until_idle().unwrap();
    let bob = node(&sim, b);
    assert_eq!(bob.sent_times(Match::Status(486)), at(&[10]));
    assert_eq!(bob.received_times(Match::Request(Method::Ack)), at(&[30]));
    assert!(
        bob.event_times(|e| matches!(e, Event::Ack { .. }))
            .is_empty(),
        "the ACK for a non-2xx stays in the transaction"
    );
    assert_eq!(
        bob.emptied_at(),
        Some(ms(5030)),
        "Timer I = T4 after the ACK"
    );
    let alice = node(&sim, a);
    assert_eq!(alice.emptied_at(), Some(ms(32_020)), "Timer D = 32 s");
    assert_eq!(sim.elapsed(), ms(32_020));
}

#[test]
fn timer_i_and_timer_d_are_zero_over_tcp() {
    let (mut sim, a, b) = pair(Transport::Tcp, Method::Invite, |bob| {
        bob.on(Method::Invite, Behaviour::answer(486));
    });
    sim.run_until_idle().unwrap();
    assert_eq!(node(&sim, b).emptied_at(), Some(ms(30)), "Timer I = 0");
    assert_eq!(node(&sim, a).emptied_at(), Some(ms(20)), "Timer D = 0");
    assert_eq!(sim.elapsed(), ms(30));
}

// ----- Timers J and K (§17.2.2, §17.1.2.2) ----------------------------------------------------

#[test]
fn timer_j_is_64_t1_and_timer_k_is_t4_over_udp() {
    let (mut sim, a, b) = pair(Transport::Udp, Method::Options, |bob| {
        bob.on(Method::Options, Behaviour::answer(200));
    });
    sim.run_until_idle().unwrap();
    let bob = node(&sim, b);
    assert_eq!(bob.counts, vec![(ms(10), (0, 1)), (ms(32_010), (0, 0))]);
    let alice = node(&sim, a);
    assert_eq!(alice.counts, vec![(ms(0), (1, 0)), (ms(5020), (0, 0))]);
    assert_eq!(alice.responses(first_tx(alice)), vec![(ms(20), 200)]);
}

#[test]
fn timers_j_and_k_are_zero_over_tcp() {
    let (mut sim, a, b) = pair(Transport::Tcp, Method::Options, |bob| {
        bob.on(Method::Options, Behaviour::answer(200));
    });
    sim.run_until_idle().unwrap();
    assert_eq!(
        node(&sim, b).table_emptied_at(true),
        Some(ms(10)),
        "Timer J = 0"
    );
    assert_eq!(
        node(&sim, b).counts,
        vec![(ms(10), (0, 1)), (ms(10), (0, 0))]
    );
    assert_eq!(
        node(&sim, a).table_emptied_at(false),
        Some(ms(20)),
        "Timer K = 0"
    );
    assert_eq!(sim.elapsed(), ms(20));
}

// ----- Timers L and M (RFC 6026 §7.1, §7.2) ---------------------------------------------------

fn timers_l_and_m(transport: Transport) {
    let (mut sim, a, b) = pair(transport, Method::Invite, |bob| {
        bob.on(Method::Invite, Behaviour::answer(200));
    });
    sim.run_until_idle().unwrap();
    let bob = node(&sim, b);
    assert_eq!(bob.sent_times(Match::Status(200)), at(&[10]));
    assert_eq!(
        bob.event_times(|e| matches!(e, Event::Ack { .. })),
        at(&[30]),
        "the 2xx ACK goes to the TU (the dialog)"
    );
    assert_eq!(bob.emptied_at(), Some(ms(32_010)), "Timer L = 64·T1");
    let alice = node(&sim, a);
    assert_eq!(alice.sent_times(Match::Request(Method::Ack)), at(&[20]));
    assert_eq!(alice.emptied_at(), Some(ms(32_020)), "Timer M = 64·T1");
}

#[test]
fn timers_l_and_m_are_64_t1_over_udp() {
    timers_l_and_m(Transport::Udp);
}

#[test]
fn timers_l_and_m_are_64_t1_over_tcp_too() {
    timers_l_and_m(Transport::Tcp);
}

// ----- 100 Trying (§17.2.1) -------------------------------------------------------------------

fn trying_when_silent(transport: Transport) {
    let (mut sim, a, b) = pair(transport, Method::Invite, |bob| {
        bob.on(Method::Invite, Behaviour::Silent);
    });
    sim.run_until(ms(40_000)).unwrap();
    assert_eq!(
        sim.trace().sent_times(bob_addr(), Match::AnyResponse),
        at(&[210]),
        "100 Trying 200 ms after the INVITE arrived"
    );
    let alice = node(&sim, a);
    assert_eq!(alice.responses(first_tx(alice)), vec![(ms(220), 100)]);
    assert_eq!(
        alice.sent_times(Match::Request(Method::Invite)),
        at(&[0]),
        "the 100 arrived before Timer A (500 ms) and stopped it"
    );
    assert!(
        alice.client_failures(first_tx(alice)).is_empty(),
        "no Timer B in Proceeding"
    );
    assert_eq!(alice.endpoint().transaction_count(), (1, 0));
    assert_eq!(node(&sim, b).endpoint().transaction_count(), (0, 1));
}

#[test]
fn trying_is_sent_at_200_ms_when_the_tu_is_silent_over_udp() {
    trying_when_silent(Transport::Udp);
}

#[test]
fn trying_is_sent_at_200_ms_when_the_tu_is_silent_over_tcp() {
    trying_when_silent(Transport::Tcp);
}

#[test]
fn no_trying_when_the_tu_answers_within_200_ms() {
    let (mut sim, a, b) = pair(Transport::Udp, Method::Invite, |bob| {
        bob.on(
            Method::Invite,
            Behaviour::Answer(vec![Step::new(ms(100), 180), Step::new(ms(300), 486)]),
        );
    });
    sim.run_until_idle().unwrap();
    let bob = node(&sim, b);
    assert_eq!(bob.sent_times(Match::Status(100)), at(&[]));
    assert_eq!(bob.sent_times(Match::AnyResponse), at(&[110, 310]));
    let alice = node(&sim, a);
    assert_eq!(
        alice.responses(first_tx(alice)),
        vec![(ms(120), 180), (ms(320), 486)]
    );
}

/// Both ends listening on UDP and TCP at the same address, configured by hand: the Via and
/// the response path follow the transport of the request.
#[test]
fn a_node_with_explicit_local_addresses_answers_over_the_request_transport() {
    let mut sim = sim(1);
    let mut config = EndpointConfig::with_local(Transport::Tcp, bob_addr());
    config
        .local_addrs
        .push(LocalAddr::new(Transport::Udp, bob_addr()));
    let a = sim.add_node(alice_addr(), SipNode::new(sim.base(), alice_addr(), 1));
    let mut bob = SipNode::with_config(sim.base(), bob_addr(), config, 2);
    bob.on_any(Behaviour::answer(200));
    let b = sim.add_node(bob_addr(), bob);
    sim.with_node(a, |n: &mut SipNode, now| {
        n.send(
            now,
            Method::Options,
            Target::new(Transport::Tcp, bob_addr()),
        )
        .unwrap();
        n.send(
            now,
            Method::Options,
            Target::new(Transport::Udp, bob_addr()),
        )
        .unwrap();
    });
    sim.run_until_idle().unwrap();
    let bob = node(&sim, b);
    let transports: Vec<Transport> = bob.sent.iter().map(|w| w.transport).collect();
    assert_eq!(transports, vec![Transport::Tcp, Transport::Udp]);
    let alice = node(&sim, a);
    assert_eq!(
        alice.event_times(|e| matches!(e, Event::Response { .. })),
        at(&[20, 20])
    );
}
