//! Registration (RFC 3261 §10): a client endpoint against a registrar endpoint whose TU uses
//! `sip_core::registrar::Registrar`, on the simulated network of the test harness.

mod support;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use sip_core::auth::{ChallengeKind, NonceManager, UserAuth};
use sip_core::endpoint::{EndpointConfig, Event, RegisterOptions, RegistrationState};
use sip_core::message::{Method, SipMessage};
use sip_core::registrar::{Registrant, Registrar};
use sip_core::rng::IdGenerator;
use sip_core::transport::Transport;
use support::{A, Net, addr, udp};

const R: &str = "192.0.2.10:5060";

/// The registrar's TU: the bindings, and digest checks when `auth` is set (RFC 3261 §22),
/// whose authenticated user the registrar authorizes (§10.3 step 4).
struct Registry {
    registrar: Registrar,
    auth: Option<UserAuth>,
    /// Draws the registrar's To tags and nonce key.
    ids: IdGenerator,
}

/// A UA at A (seed 1) and a registrar at R (seed 2) granting at least `min_expires`.
fn world(min_expires: u32) -> (Net, Rc<RefCell<Registry>>) {
    let mut net = Net::empty();
    net.add(udp(A), 1);
    let mut registrar = Registrar::new();
    registrar.min_expires = min_expires;
    let registry = Rc::new(RefCell::new(Registry {
        registrar,
        auth: None,
        ids: IdGenerator::new(99),
    }));
    let shared = registry.clone();
    let node = net.ua(udp(R), 2).react(move |ctl, e| {
        if let Event::IncomingRequest { tx, request } = e
            && request.method() == &Method::Register
        {
            let reg = &mut *shared.borrow_mut();
            let checked = reg
                .auth
                .as_mut()
                .map(|a| a.check(ctl.now, request, ChallengeKind::Www));
            let response = match checked {
                Some(Err(refusal)) => {
                    let mut b = ctl.ep.response(*tx, 401).unwrap();
                    for ch in refusal.challenges {
                        b = b.header("WWW-Authenticate", ch);
                    }
                    b.build().unwrap()
                }
                Some(Ok(who)) => {
                    let tag = reg.ids.tag();
                    let who = Registrant::Authenticated(&who);
                    reg.registrar.respond(ctl.now, request, who, &tag).unwrap()
                }
                None => {
                    let tag = reg.ids.tag();
                    let open = Registrant::Unauthenticated;
                    reg.registrar.respond(ctl.now, request, open, &tag).unwrap()
                }
            };
            ctl.ep.respond(ctl.now, *tx, response).unwrap();
        }
    });
    net.add_node(node);
    (net, registry)
}

/// The registration states the UA reported, with their times.
fn ua_events(net: &Net) -> Vec<(Duration, RegistrationState)> {
    net.events(A)
        .iter()
        .filter_map(|(t, e)| match e {
            Event::Registration { state, .. } => Some((*t, *state)),
            _ => None,
        })
        .collect()
}

/// The REGISTERs the UA sent: time, CSeq number, Call-ID.
fn registers(net: &Net) -> Vec<(Duration, u32, String)> {
    net.wire()
        .into_iter()
        .filter(|s| s.from == addr(A))
        .filter_map(|s| match s.parsed() {
            SipMessage::Request(req) => Some((
                s.at,
                req.cseq().unwrap().0,
                req.call_id().unwrap().to_owned(),
            )),
            SipMessage::Response(_) => None,
        })
        .collect()
}

fn register(net: &mut Net, expires: u32) -> sip_core::endpoint::RegistrationId {
    net.with(A, |ep, now| {
        ep.register(
            now,
            RegisterOptions::new("sip:192.0.2.10", "<sip:alice@example.com>", expires),
        )
    })
    .unwrap()
}

#[test]
fn register_refresh_and_unregister() {
    let (mut net, registry) = world(60);
    let id = register(&mut net, 600);
    net.run();
    assert_eq!(
        ua_events(&net),
        [(
            Duration::ZERO,
            RegistrationState::Registered { expires: 600 }
        )]
    );
    assert_eq!(
        registry
            .borrow()
            .registrar
            .lookup(net.now(), "<sip:alice@example.com>")[0]
            .uri,
        "sip:192.0.2.1:5060"
    );
    // Refreshed at half the granted time, same Call-ID, CSeq + 1 (§10.2.4).
    net.advance(Duration::from_secs(700));
    let sent = registers(&net);
    let times: Vec<u64> = sent.iter().map(|r| r.0.as_secs()).collect();
    assert_eq!(times, [0, 300, 600]);
    assert!(sent.iter().all(|r| r.2 == sent[0].2));
    assert_eq!(sent.iter().map(|r| r.1).collect::<Vec<_>>(), [1, 2, 3]);
    net.with(A, |ep, now| ep.unregister(now, id)).unwrap();
    net.run();
    assert_eq!(
        ua_events(&net).last().map(|e| e.1),
        Some(RegistrationState::Unregistered)
    );
    assert!(registry.borrow().registrar.is_empty());
    net.advance(Duration::from_secs(2000));
    assert_eq!(net.ep(A).transaction_count(), (0, 0));
    assert_eq!(
        net.with(A, |ep, _| ep.poll_timeout()),
        None,
        "nothing left to refresh"
    );
}

#[test]
fn interval_too_brief_is_retried_with_min_expires() {
    let (mut net, _) = world(3600);
    register(&mut net, 300);
    net.run();
    assert_eq!(
        ua_events(&net),
        [(
            Duration::ZERO,
            RegistrationState::Registered { expires: 3600 }
        )]
    );
    assert_eq!(registers(&net).len(), 2, "the 423, then the retry");
}

#[test]
fn an_unreachable_registrar_fails_then_the_binding_expires() {
    let (mut net, _) = world(60);
    register(&mut net, 120);
    net.run();
    // The registrar drops off the network.
    net.sim.isolate(net.elapsed(), addr(R));
    net.advance(Duration::from_secs(200));
    let states: Vec<(u64, RegistrationState)> = ua_events(&net)
        .iter()
        .map(|(t, s)| (t.as_secs(), *s))
        .collect();
    // Refresh at 60 s times out at 92 s (Timer F); a retry at 122 s; the binding ends at 120 s.
    assert_eq!(
        states[0],
        (0, RegistrationState::Registered { expires: 120 })
    );
    assert_eq!(states[1], (92, RegistrationState::Failed(408)));
    assert_eq!(states[2], (120, RegistrationState::Expired));
}

#[test]
fn a_registrar_that_challenges_with_401() {
    use sip_core::auth::StaticCredentials;
    use sip_core::endpoint::Credentials;
    let (mut net, registry) = world(60);
    let mut cfg = EndpointConfig::with_local(Transport::Udp, addr(A));
    cfg.credentials = Some(Credentials::new(StaticCredentials::any("alice", "pw")));
    net.replace(A, cfg, 3);
    {
        let reg = &mut *registry.borrow_mut();
        let nonces = NonceManager::new(&mut reg.ids, net.sim.base());
        reg.auth = Some(UserAuth::new("example.com", nonces).with_user("alice", "pw"));
    }
    register(&mut net, 600);
    net.run();
    assert_eq!(
        ua_events(&net),
        [(
            Duration::ZERO,
            RegistrationState::Registered { expires: 600 }
        )]
    );
    // REGISTER, 401, REGISTER with Authorization (CSeq 2); the refresh is challenged again
    // (a new nonce each time here) and goes through too, with CSeq growing.
    net.advance(Duration::from_secs(301));
    let sent = registers(&net);
    let cseqs: Vec<u32> = sent.iter().map(|r| r.1).collect();
    assert_eq!(cseqs, [1, 2, 3, 4]);
    assert_eq!(ua_events(&net).len(), 2);
    assert!(sent.iter().all(|r| r.2 == sent[0].2), "one Call-ID");
}
