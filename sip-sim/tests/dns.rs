//! RFC 3263 in virtual time: calls and registrations to host names resolved from the
//! simulator's own DNS zone, and failover to the next target (§4.3) on each reason — no
//! answer (Timer B = 64·T1, §17.1.1.2), 503 without Retry-After, a transport error — at the
//! exact virtual times the RFC predicts.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use sip_core::dialog::{DialogId, DialogState, EndReason};
use sip_core::endpoint::{Event, InviteOptions};
use sip_core::registration::{RegisterOptions, RegistrationState};
use sip_core::resolver::RecordType;
use sip_sim::{DnsZone, LinkConfig, Sim, TraceKind, UaNode};

const ALICE: &str = "10.0.0.1:5060";
const BOB1: &str = "10.0.0.2:5060";
const BOB2: &str = "10.0.0.3:5060";
/// One-way link latency.
const LATENCY: Duration = Duration::from_millis(20);
/// The zone's answer delay.
const DNS: Duration = Duration::from_millis(10);

fn a(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// `example.test`: no NAPTR; `_sip._udp` → bob1 (priority 10), bob2 (priority 20).
fn udp_zone() -> DnsZone {
    DnsZone::new()
        .delay(DNS)
        .srv("_sip._udp.example.test", 10, 0, 5060, "bob1.example.test.")
        .srv("_sip._udp.example.test", 20, 0, 5060, "bob2.example.test.")
        .a("bob1.example.test", Ipv4Addr::new(10, 0, 0, 2))
        .a("bob2.example.test", Ipv4Addr::new(10, 0, 0, 3))
}

/// A UA that answers every call 200 at once, or rejects it with `status` and `headers`.
fn callee(
    sim: &Sim,
    addr: &str,
    seed: u64,
    reject: Option<(u16, &'static [(&'static str, &'static str)])>,
) -> UaNode {
    UaNode::new(sim.base(), a(addr), seed).react(move |ctl, e| {
        if let Event::IncomingCall { dialog, .. } = e {
            let _ = ctl.ep.dialog(*dialog).and_then(|mut d| match reject {
                Some((s, h)) => d.reject_with(ctl.now, s, h),
                None => d.accept(ctl.now, None),
            });
        }
    })
}

fn states(ua: &UaNode, d: DialogId) -> Vec<(Duration, DialogState)> {
    ua.events
        .iter()
        .filter_map(|(t, e)| match e {
            Event::DialogStateChanged { dialog, state } if *dialog == d => Some((*t, *state)),
            _ => None,
        })
        .collect()
}

/// The times INVITEs were sent to `to`, with their Via branch and CSeq lines.
fn invites_to(sim: &Sim, to: &str) -> Vec<(Duration, String, String)> {
    sim.trace()
        .iter()
        .filter(|t| {
            t.kind == TraceKind::Sent && t.to == a(to) && t.first_line.starts_with("INVITE")
        })
        .map(|t| {
            let text = String::from_utf8_lossy(sim.message(t.id).unwrap()).into_owned();
            let line = |name: &str| {
                text.lines()
                    .find(|l| l.starts_with(name))
                    .unwrap_or_default()
                    .to_owned()
            };
            let via = line("Via:");
            let branch = via
                .split("branch=")
                .nth(1)
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default()
                .to_owned();
            (t.at, branch, line("CSeq:"))
        })
        .collect()
}

fn call(sim: &mut Sim, ia: sip_sim::NodeId, uri: &'static str) -> DialogId {
    sim.with_node(ia, |n: &mut UaNode, now| {
        n.with_endpoint(now, |ep, now| {
            ep.invite(
                now,
                InviteOptions::new(uri, "<sip:alice@a>", "<sip:bob@example.test>"),
            )
            .unwrap()
        })
    })
    .unwrap()
}

/// RFC 3263 §4.1 (no NAPTR → SRV per transport) and §4.3 with §17.1.1.2: the first SRV
/// target drops everything, so its INVITE client transaction times out at Timer B =
/// 64·T1 = 32 s; the same INVITE (same CSeq, new branch) then goes to the second target,
/// and the caller's TU sees one call that is confirmed one round trip later.
#[test]
fn first_srv_target_silent_call_completes_on_the_second_at_timer_b() {
    let mut sim = Sim::new(1);
    sim.set_default_link(LinkConfig::ideal(LATENCY));
    let alice = UaNode::new(sim.base(), a(ALICE), 1).with_dns(udp_zone());
    let ia = sim.add_node(a(ALICE), alice);
    // Nobody at BOB1: every datagram sent there is dropped.
    sim.add_node(a(BOB2), callee(&sim, BOB2, 3, None));
    let d = call(&mut sim, ia, "sip:bob@example.test");
    sim.run_until(Duration::from_secs(40)).unwrap();

    // NAPTR, SRV _sip._udp, A bob1, A bob2: four answers, 10 ms each.
    let resolved = DNS * 4;
    let first = invites_to(&sim, BOB1);
    assert_eq!(first[0].0, resolved);
    let second = invites_to(&sim, BOB2);
    let timer_b = Duration::from_millis(64 * 500);
    assert_eq!(second.len(), 1, "{second:?}");
    assert_eq!(second[0].0, resolved + timer_b);
    assert_ne!(
        second[0].1, first[0].1,
        "a new branch: a new client transaction"
    );
    assert_eq!(second[0].2, first[0].2, "the same CSeq (RFC 3263 §4.3)");
    let alice = sim.node::<UaNode>(ia).unwrap();
    assert_eq!(
        states(alice, d),
        vec![(resolved + timer_b + LATENCY * 2, DialogState::Confirmed)]
    );
    assert_eq!(alice.ep.failovers(), 1);
    let asked: Vec<RecordType> = alice.dns().unwrap().asked.iter().map(|q| q.1).collect();
    assert_eq!(
        asked,
        [
            RecordType::Naptr,
            RecordType::Srv,
            RecordType::A,
            RecordType::A
        ]
    );
}

/// §4.3: a 503 without Retry-After from the first target sends the INVITE to the second
/// as soon as the 503 arrives; the TU never sees the 503.
#[test]
fn first_srv_target_503_call_completes_on_the_second() {
    let mut sim = Sim::new(2);
    sim.set_default_link(LinkConfig::ideal(LATENCY));
    let ia = sim.add_node(
        a(ALICE),
        UaNode::new(sim.base(), a(ALICE), 1).with_dns(udp_zone()),
    );
    sim.add_node(a(BOB1), callee(&sim, BOB1, 2, Some((503, &[]))));
    sim.add_node(a(BOB2), callee(&sim, BOB2, 3, None));
    let d = call(&mut sim, ia, "sip:bob@example.test");
    sim.run_until(Duration::from_secs(5)).unwrap();

    let resolved = DNS * 4;
    assert_eq!(invites_to(&sim, BOB1)[0].0, resolved);
    let second = invites_to(&sim, BOB2);
    assert_eq!(second[0].0, resolved + LATENCY * 2);
    let alice = sim.node::<UaNode>(ia).unwrap();
    assert_eq!(
        states(alice, d),
        vec![(resolved + LATENCY * 4, DialogState::Confirmed)]
    );
    assert!(!alice.events.iter().any(|(_, e)| matches!(
        e,
        Event::DialogResponse { response, .. } if response.status() == 503
    )));
}

/// §4.3: a 503 *with* Retry-After is the server's answer, not a reason to move on.
#[test]
fn a_503_with_retry_after_is_final() {
    let mut sim = Sim::new(3);
    sim.set_default_link(LinkConfig::ideal(LATENCY));
    let ia = sim.add_node(
        a(ALICE),
        UaNode::new(sim.base(), a(ALICE), 1).with_dns(udp_zone()),
    );
    sim.add_node(
        a(BOB1),
        callee(&sim, BOB1, 2, Some((503, &[("Retry-After", "30")]))),
    );
    sim.add_node(a(BOB2), callee(&sim, BOB2, 3, None));
    let d = call(&mut sim, ia, "sip:bob@example.test");
    sim.run_until(Duration::from_secs(5)).unwrap();
    assert!(invites_to(&sim, BOB2).is_empty());
    let alice = sim.node::<UaNode>(ia).unwrap();
    assert_eq!(
        states(alice, d).last().map(|s| s.1),
        Some(DialogState::Terminated(EndReason::Rejected(503)))
    );
    assert_eq!(alice.ep.failovers(), 0);
}

/// §4.1 NAPTR present (`SIP+D2T`) → `_sip._tcp` SRV; §4.3 a transport error (nobody
/// listens at the first target) moves the INVITE to the second at once.
#[test]
fn naptr_to_tcp_and_failover_on_transport_error() {
    let zone = DnsZone::new()
        .delay(DNS)
        .naptr("example.test", 10, "SIP+D2T", "_sip._tcp.example.test.")
        .srv("_sip._tcp.example.test", 10, 0, 5060, "bob1.example.test")
        .srv("_sip._tcp.example.test", 20, 0, 5060, "bob2.example.test")
        .a("bob1.example.test", Ipv4Addr::new(10, 0, 0, 2))
        .a("bob2.example.test", Ipv4Addr::new(10, 0, 0, 3));
    let mut sim = Sim::new(4);
    sim.set_default_link(LinkConfig::ideal(LATENCY));
    let ia = sim.add_node(
        a(ALICE),
        UaNode::new(sim.base(), a(ALICE), 1).with_dns(zone),
    );
    sim.add_node(a(BOB2), callee(&sim, BOB2, 3, None));
    let d = call(&mut sim, ia, "sip:bob@example.test");
    sim.run_until(Duration::from_secs(5)).unwrap();
    let resolved = DNS * 4;
    let second = invites_to(&sim, BOB2);
    // The connection failure is known one latency after the send.
    assert_eq!(second[0].0, resolved + LATENCY);
    let tcp = sim
        .trace()
        .iter()
        .filter(|t| t.first_line.starts_with("INVITE"))
        .all(|t| t.transport == sip_sim::Transport::Tcp);
    assert!(tcp);
    let alice = sim.node::<UaNode>(ia).unwrap();
    assert_eq!(
        states(alice, d),
        vec![(resolved + LATENCY * 3, DialogState::Confirmed)]
    );
}

/// The cache: a second call to the same domain within the TTLs sends no DNS query, and
/// its INVITE leaves at once. A numeric host never asks DNS.
#[test]
fn second_call_uses_the_cache_and_numeric_hosts_ask_nothing() {
    let mut sim = Sim::new(5);
    sim.set_default_link(LinkConfig::ideal(LATENCY));
    let ia = sim.add_node(
        a(ALICE),
        UaNode::new(sim.base(), a(ALICE), 1).with_dns(udp_zone()),
    );
    sim.add_node(a(BOB1), callee(&sim, BOB1, 2, None));
    let d1 = call(&mut sim, ia, "sip:bob@example.test");
    sim.run_until(Duration::from_secs(2)).unwrap();
    let asked = sim.node::<UaNode>(ia).unwrap().ep.dns_queries_sent();
    assert_eq!(asked, 4);
    let d2 = call(&mut sim, ia, "sip:carol@example.test");
    let d3 = call(&mut sim, ia, "sip:bob@10.0.0.2");
    sim.run_until(Duration::from_secs(4)).unwrap();
    let alice = sim.node::<UaNode>(ia).unwrap();
    assert_eq!(alice.ep.dns_queries_sent(), asked);
    for d in [d1, d2, d3] {
        assert_eq!(
            states(alice, d).last().map(|s| s.1),
            Some(DialogState::Confirmed)
        );
    }
    let sent = invites_to(&sim, BOB1);
    assert_eq!(
        sent[1].0,
        Duration::from_secs(2),
        "no wait for DNS the second time"
    );
}

/// A registrar named by host name (SRV absent → A, default port), and a name nobody
/// knows: the registration fails with 503 (RFC 3261 §8.1.3.1).
#[test]
fn registrations_resolve_their_registrar() {
    let zone = DnsZone::new()
        .delay(DNS)
        .a("registrar.example.test", Ipv4Addr::new(10, 0, 0, 2));
    let mut sim = Sim::new(6);
    sim.set_default_link(LinkConfig::ideal(LATENCY));
    let ia = sim.add_node(
        a(ALICE),
        UaNode::new(sim.base(), a(ALICE), 1).with_dns(zone),
    );
    let registrar = UaNode::new(sim.base(), a(BOB1), 2).react(|ctl, e| {
        if let Event::IncomingRequest { tx, .. } = e {
            let _ = ctl.ep.respond_with(ctl.now, *tx, 200);
        }
    });
    sim.add_node(a(BOB1), registrar);
    let (ok, nx) = sim
        .with_node(ia, |n: &mut UaNode, now| {
            n.with_endpoint(now, |ep, now| {
                let ok = ep
                    .register(
                        now,
                        RegisterOptions::new(
                            "sip:registrar.example.test",
                            "<sip:alice@example.test>",
                            600,
                        ),
                    )
                    .unwrap();
                let nx = ep
                    .register(
                        now,
                        RegisterOptions::new("sip:nowhere.test", "<sip:alice@nowhere.test>", 600),
                    )
                    .unwrap();
                (ok, nx)
            })
        })
        .unwrap();
    sim.run_until(Duration::from_secs(2)).unwrap();
    let alice = sim.node::<UaNode>(ia).unwrap();
    let state = |id| {
        alice.events.iter().find_map(|(_, e)| match e {
            Event::Registration {
                registration,
                state,
            } if *registration == id => Some(*state),
            _ => None,
        })
    };
    assert!(
        matches!(state(ok), Some(RegistrationState::Registered { .. })),
        "{:?}",
        state(ok)
    );
    assert_eq!(state(nx), Some(RegistrationState::Failed(503)));
}

/// §12.2.1.1 with RFC 3263: the callee's Contact names a host (`bob.example.test:5062`);
/// once the caller has resolved it, the in-dialog BYE goes to the address it resolves to,
/// not over the flow the INVITE took.
#[test]
fn in_dialog_requests_follow_a_host_name_remote_target() {
    use sip_core::endpoint::{EndpointConfig, LocalAddr};
    let zone = DnsZone::new()
        .delay(DNS)
        .a("bob.example.test", Ipv4Addr::new(10, 0, 0, 3));
    let mut sim = Sim::new(7);
    sim.set_default_link(LinkConfig::ideal(LATENCY));
    let alice = UaNode::new(sim.base(), a(ALICE), 1)
        .with_dns(zone)
        .react(|ctl, e| {
            if let Event::DialogStateChanged {
                dialog,
                state: DialogState::Confirmed,
            } = e
            {
                let d = *dialog;
                ctl.after(Duration::from_secs(1), move |ep, now| {
                    let _ = ep.dialog(d).and_then(|mut d| d.hangup(now));
                });
            }
        });
    let ia = sim.add_node(a(ALICE), alice);
    let mut config = EndpointConfig::with_local(sip_sim::Transport::Udp, a(BOB1));
    config.local_addrs = vec![LocalAddr {
        advertised: Some("bob.example.test:5060".into()),
        ..LocalAddr::new(sip_sim::Transport::Udp, a(BOB1))
    }];
    let bob = UaNode::with_config(sim.base(), a(BOB1), config, 2).react(|ctl, e| {
        if let Event::IncomingCall { dialog, .. } = e {
            let _ = ctl
                .ep
                .dialog(*dialog)
                .and_then(|mut d| d.accept(ctl.now, None));
        }
    });
    let ib = sim.add_node(a(BOB1), bob);
    assert!(sim.add_address(ib, a(BOB2)));
    let d = call(&mut sim, ia, "sip:bob@10.0.0.2");
    sim.run_until(Duration::from_secs(5)).unwrap();
    let byes: Vec<_> = sim
        .trace()
        .iter()
        .filter(|t| t.kind == TraceKind::Sent && t.first_line.starts_with("BYE"))
        .map(|t| t.to)
        .collect();
    assert_eq!(byes, [a(BOB2)]);
    let alice = sim.node::<UaNode>(ia).unwrap();
    assert_eq!(
        states(alice, d).last().map(|s| s.1),
        Some(DialogState::Terminated(EndReason::LocalBye))
    );
    assert_eq!(
        alice.dns().unwrap().asked,
        [("bob.example.test".to_owned(), RecordType::A)]
    );
}
