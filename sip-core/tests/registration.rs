//! Registration (RFC 3261 §10): a client endpoint against a registrar endpoint whose TU uses
//! `sip_core::registrar::Registrar`, with an explicit clock.

use sip_core::endpoint::{
    Endpoint, EndpointConfig, Event, Input, Output, RegisterOptions, RegistrationState,
};
use sip_core::message::Method;
use sip_core::registrar::Registrar;
use sip_core::transport::Transport;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

#[allow(clippy::disallowed_methods)]
fn base() -> Instant {
    Instant::now()
}

const A: &str = "192.0.2.1:5060";
const R: &str = "192.0.2.10:5060";

struct World {
    ua: Endpoint,
    reg_ep: Endpoint,
    registrar: Registrar,
    answering: bool,
    t0: Instant,
    now: Instant,
    ua_events: Vec<(Duration, RegistrationState)>,
    registers: Vec<(Duration, u32, String)>,
    /// When set, the registrar requires digest credentials (RFC 3261 §22).
    auth: Option<sip_core::auth::NonceManager>,
    /// Draws the registrar's To tags and nonce key.
    ids: sip_core::rng::IdGenerator,
}

impl World {
    fn new(min_expires: u32) -> World {
        let t0 = base();
        let mut registrar = Registrar::new();
        registrar.min_expires = min_expires;
        World {
            ua: Endpoint::new(
                EndpointConfig::with_local(Transport::Udp, A.parse().unwrap()),
                1,
            ),
            reg_ep: Endpoint::new(
                EndpointConfig::with_local(Transport::Udp, R.parse().unwrap()),
                2,
            ),
            registrar,
            answering: true,
            t0,
            now: t0,
            ua_events: Vec::new(),
            registers: Vec::new(),
            auth: None,
            ids: sip_core::rng::IdGenerator::new(99),
        }
    }

    fn pump(&mut self) {
        let (a, r): (SocketAddr, SocketAddr) = (A.parse().unwrap(), R.parse().unwrap());
        for _ in 0..100 {
            let mut moved = false;
            while let Some(o) = self.ua.poll_output() {
                match o {
                    Output::Transmit(t) => {
                        moved = true;
                        if let Ok(sip_core::message::SipMessage::Request(req)) =
                            sip_core::message::parse_unchecked(t.bytes.clone(), &Default::default())
                        {
                            self.registers.push((
                                self.now - self.t0,
                                req.cseq().unwrap().0,
                                req.call_id().unwrap().to_owned(),
                            ));
                        }
                        if self.answering {
                            self.reg_ep.handle_input(
                                self.now,
                                Input::Receive {
                                    transport: t.transport,
                                    from: a,
                                    to: r,
                                    bytes: t.bytes,
                                },
                            );
                        }
                    }
                    Output::Event(Event::Registration { state, .. }) => {
                        self.ua_events.push((self.now - self.t0, state))
                    }
                    _ => {}
                }
            }
            while let Some(o) = self.reg_ep.poll_output() {
                match o {
                    Output::Transmit(t) => {
                        moved = true;
                        self.ua.handle_input(
                            self.now,
                            Input::Receive {
                                transport: t.transport,
                                from: r,
                                to: a,
                                bytes: t.bytes,
                            },
                        );
                    }
                    Output::Event(Event::IncomingRequest { tx, request })
                        if request.method() == &Method::Register =>
                    {
                        use sip_core::auth::{
                            Algorithm, ChallengeKind, NonceStatus, Secret, Verdict, challenge,
                            credentials_in, verify,
                        };
                        if let Some(nm) = self.auth.as_mut() {
                            let now = self.now;
                            let ok = credentials_in(&request, ChallengeKind::Www, "example.com")
                                .and_then(Result::ok)
                                .is_some_and(|c| {
                                    let st = nm.check(&c.nonce, "example.com", now);
                                    let secret = Secret::Password {
                                        user: "alice",
                                        password: "pw",
                                    };
                                    st == NonceStatus::Valid
                                        && verify(&c, "REGISTER", request.body(), secret, st)
                                            == Verdict::Ok
                                });
                            if !ok {
                                let ch = challenge(
                                    "example.com",
                                    &nm.issue(now, "example.com"),
                                    Algorithm::Md5,
                                    false,
                                );
                                let r = self.reg_ep.response(tx, 401).unwrap();
                                let r = r
                                    .header("WWW-Authenticate", ch.to_header_value())
                                    .build()
                                    .unwrap();
                                self.reg_ep.respond(now, tx, r).unwrap();
                                continue;
                            }
                        }
                        let tag = self.ids.tag();
                        let resp = self.registrar.respond(self.now, &request, &tag).unwrap();
                        self.reg_ep.respond(self.now, tx, resp).unwrap();
                    }
                    _ => {}
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn advance(&mut self, to: Duration) {
        let end = self.t0 + to;
        loop {
            self.pump();
            let next = [self.ua.poll_timeout(), self.reg_ep.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(n) if n <= end => {
                    self.now = n.max(self.now);
                    self.ua.handle_timeout(self.now);
                    self.reg_ep.handle_timeout(self.now);
                }
                _ => break,
            }
        }
        self.now = end;
        self.pump();
    }
}

#[test]
fn register_refresh_and_unregister() {
    let mut w = World::new(60);
    let id =
        w.ua.register(
            w.now,
            RegisterOptions::new("sip:192.0.2.10", "<sip:alice@example.com>", 600),
        )
        .unwrap();
    w.pump();
    assert_eq!(
        w.ua_events,
        [(
            Duration::ZERO,
            RegistrationState::Registered { expires: 600 }
        )]
    );
    assert_eq!(
        w.registrar.lookup(w.now, "<sip:alice@example.com>")[0].uri,
        "sip:192.0.2.1:5060"
    );
    // Refreshed at half the granted time, same Call-ID, CSeq + 1 (§10.2.4).
    w.advance(Duration::from_secs(700));
    let times: Vec<u64> = w.registers.iter().map(|r| r.0.as_secs()).collect();
    assert_eq!(times, [0, 300, 600]);
    assert!(w.registers.iter().all(|r| r.2 == w.registers[0].2));
    assert_eq!(
        w.registers.iter().map(|r| r.1).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    w.ua.unregister(w.now, id).unwrap();
    w.pump();
    assert_eq!(
        w.ua_events.last().map(|e| e.1),
        Some(RegistrationState::Unregistered)
    );
    assert!(w.registrar.is_empty());
    w.advance(Duration::from_secs(2000));
    assert_eq!(w.ua.transaction_count(), (0, 0));
    assert_eq!(w.ua.poll_timeout(), None, "nothing left to refresh");
}

#[test]
fn interval_too_brief_is_retried_with_min_expires() {
    let mut w = World::new(3600);
    w.ua.register(
        w.now,
        RegisterOptions::new("sip:192.0.2.10", "<sip:alice@example.com>", 300),
    )
    .unwrap();
    w.pump();
    assert_eq!(
        w.ua_events,
        [(
            Duration::ZERO,
            RegistrationState::Registered { expires: 3600 }
        )]
    );
    assert_eq!(w.registers.len(), 2, "the 423, then the retry");
}

#[test]
fn an_unreachable_registrar_fails_then_the_binding_expires() {
    let mut w = World::new(60);
    w.ua.register(
        w.now,
        RegisterOptions::new("sip:192.0.2.10", "<sip:alice@example.com>", 120),
    )
    .unwrap();
    w.pump();
    w.answering = false;
    w.advance(Duration::from_secs(200));
    let states: Vec<(u64, RegistrationState)> =
        w.ua_events.iter().map(|(t, s)| (t.as_secs(), *s)).collect();
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
    use sip_core::auth::{NonceManager, StaticCredentials};
    use sip_core::endpoint::Credentials;
    let mut w = World::new(60);
    let mut cfg = EndpointConfig::with_local(Transport::Udp, A.parse().unwrap());
    cfg.credentials = Some(Credentials::new(StaticCredentials::any("alice", "pw")));
    w.ua = Endpoint::new(cfg, 3);
    w.auth = Some(NonceManager::new(&mut w.ids, w.t0));
    w.ua.register(
        w.now,
        RegisterOptions::new("sip:192.0.2.10", "<sip:alice@example.com>", 600),
    )
    .unwrap();
    w.pump();
    assert_eq!(
        w.ua_events,
        [(
            Duration::ZERO,
            RegistrationState::Registered { expires: 600 }
        )]
    );
    // REGISTER, 401, REGISTER with Authorization (CSeq 2); the refresh is challenged again
    // (a new nonce each time here) and goes through too, with CSeq growing.
    w.advance(Duration::from_secs(301));
    let cseqs: Vec<u32> = w.registers.iter().map(|r| r.1).collect();
    assert_eq!(cseqs, [1, 2, 3, 4]);
    assert_eq!(w.ua_events.len(), 2);
    assert!(
        w.registers.iter().all(|r| r.2 == w.registers[0].2),
        "one Call-ID"
    );
}
