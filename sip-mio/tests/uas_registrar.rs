//! The `mio_uas` app as a test PBX over loopback: registrar and digest authentication of REGISTER
//! (401) and INVITE (407) (RFC 3261 §10.3, §22), against clients with and without the
//! right credentials.

mod common;

use std::time::Duration;

use common::{Harness, addr, invite, invite_to, now};
use sip_core::auth::StaticCredentials;
use sip_core::dialog::{DialogState, EndReason};
use sip_core::endpoint::{Credentials, Event as SipEvent, RegisterOptions, RegistrationState};
use sip_core::transport::Transport;
use sip_mio::{DriverConfig, Event, Listen};
use sip_pbx::PbxConfig;

const LIMIT: Duration = Duration::from_secs(10);

/// The PBX (node 0) and a client (node 1) with `password`, if any.
fn setup(password: Option<&str>) -> Harness {
    let mut h = Harness::new();
    let pbx = PbxConfig {
        registrar: true,
        auth: vec![("alice".into(), "secret".into())],
        realm: "pbx.test".into(),
        seed: Some(7),
        ..PbxConfig::default()
    };
    let config = DriverConfig::new(vec![Listen::udp(addr("127.0.0.1:0"))]).seed(1);
    h.add_with(config, Some(pbx));
    let mut config = DriverConfig::new(vec![Listen::udp(addr("127.0.0.1:0"))]).seed(2);
    if let Some(p) = password {
        config.endpoint.credentials = Some(Credentials::new(StaticCredentials::any("alice", p)));
    }
    h.add(config, false);
    h
}

fn registration(h: &Harness) -> Option<RegistrationState> {
    h.nodes[1].events.iter().find_map(|e| match e {
        Event::Sip(SipEvent::Registration { state, .. }) => Some(*state),
        _ => None,
    })
}

fn register(h: &mut Harness) -> Option<RegistrationState> {
    let pbx = h.driver(0).local_addr(Transport::Udp).unwrap();
    let opts = RegisterOptions::new(format!("sip:{pbx}"), "<sip:alice@pbx.test>", 600);
    h.driver(1)
        .with_endpoint(now(), |ep| ep.register(now(), opts))
        .unwrap();
    assert!(h.run_until(LIMIT, |h| registration(h).is_some()));
    registration(h)
}

#[test]
fn registers_with_the_right_password() {
    let mut h = setup(Some("secret"));
    assert_eq!(
        register(&mut h),
        Some(RegistrationState::Registered { expires: 600 })
    );
    let app = h.app(0);
    assert_eq!(app.pbx().bindings(now(), "<sip:alice@pbx.test>").len(), 1);
    let c = app.report();
    assert_eq!((c.registrations, c.challenges, c.auth_failures), (1, 1, 0));
}

#[test]
fn a_wrong_password_fails_with_401() {
    let mut h = setup(Some("wrong"));
    assert_eq!(register(&mut h), Some(RegistrationState::Failed(401)));
    let app = h.app(0);
    assert!(app.pbx().bindings(now(), "<sip:alice@pbx.test>").is_empty());
    let c = app.report();
    assert_eq!((c.registrations, c.challenges, c.auth_failures), (0, 2, 1));
}

fn call(h: &mut Harness) -> (sip_core::dialog::DialogId, bool) {
    let pbx = h.driver(0).local_addr(Transport::Udp).unwrap();
    let call = invite(h, 1, invite_to(Transport::Udp, pbx));
    let ended = |h: &Harness| {
        h.states(1, call)
            .iter()
            .any(|s| matches!(s, DialogState::Confirmed | DialogState::Terminated(_)))
    };
    assert!(h.run_until(LIMIT, |h| ended(h)));
    (call, h.has_state(1, call, DialogState::Confirmed))
}

#[test]
fn a_call_with_credentials_is_answered() {
    let mut h = setup(Some("secret"));
    let (_, confirmed) = call(&mut h);
    assert!(confirmed);
    let c = h.app(0).report();
    assert_eq!((c.calls_answered, c.challenges, c.auth_failures), (1, 1, 0));
}

#[test]
fn a_call_without_credentials_fails_with_407() {
    let mut h = setup(None);
    let (call, confirmed) = call(&mut h);
    assert!(!confirmed);
    assert!(h.has_state(1, call, DialogState::Terminated(EndReason::Rejected(407))));
    let c = h.app(0).report();
    assert_eq!(
        (c.calls_answered, c.challenges, h.app(0).stats().errors),
        (0, 1, 0)
    );
}
