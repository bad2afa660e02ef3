//! RFC 3263 through the mio driver's non-blocking DNS client against a real server
//! (`dnsmasq`, started by the test; see `.ci/dnsmasq/launcher.rs`): a call to
//! `sip:bob@example.test` resolved NAPTR → SRV → A, failing over from a first target that
//! answers 503 to the `mio_uas` app at the second. Skipped with a message when dnsmasq is
//! missing; a failure under `CI=true`.

mod common;

#[path = "../../.ci/dnsmasq/launcher.rs"]
mod launcher;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{Harness, addr, now};
use launcher::{Dnsmasq, dnsmasq_binary};
use sip_core::dialog::DialogState;
use sip_core::endpoint::{Event as SipEvent, InviteOptions};
use sip_core::transport::Transport;
use sip_mio::{DriverConfig, Event, Listen};

const LIMIT: Duration = Duration::from_secs(10);

#[test]
fn call_by_host_name_fails_over_from_503_to_the_uas() {
    let Some(bin) = dnsmasq_binary() else {
        return;
    };
    let mut h = Harness::new();
    // Node 0: the PBX app; node 1: answers every call 503.
    h.add_on(vec![Listen::udp(addr("127.0.0.1:0"))], 1, true);
    h.add_on(vec![Listen::udp(addr("127.0.0.1:0"))], 2, false);
    let pbx = h.driver(0).local_addr(Transport::Udp).unwrap();
    let busy = h.driver(1).local_addr(Transport::Udp).unwrap();
    let dns = Dnsmasq::start(
        &bin,
        &[
            "--naptr-record=example.test,10,10,S,SIP+D2U,,_sip._udp.example.test".into(),
            format!(
                "--srv-host=_sip._udp.example.test,busy.example.test,{},10,0",
                busy.port()
            ),
            format!(
                "--srv-host=_sip._udp.example.test,pbx.example.test,{},20,0",
                pbx.port()
            ),
            "--host-record=busy.example.test,127.0.0.1".into(),
            "--host-record=pbx.example.test,127.0.0.1".into(),
        ],
    );
    let mut config = DriverConfig::new(vec![Listen::udp(addr("127.0.0.1:0"))]).seed(3);
    config.dns_server = Some(dns.addr);
    h.add(config, false);
    let call = h
        .driver(2)
        .with_endpoint(now(), |ep| {
            ep.invite(
                now(),
                InviteOptions::new(
                    "sip:bob@example.test",
                    "<sip:alice@a.test>",
                    "<sip:bob@example.test>",
                ),
            )
        })
        .unwrap();
    let mut rejected = BTreeSet::new();
    let done = h.run_until(LIMIT, |h| {
        let calls: Vec<_> = h.nodes[1]
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Sip(SipEvent::IncomingCall { dialog, .. }) => Some(*dialog),
                _ => None,
            })
            .collect();
        for d in calls {
            if rejected.insert(d) {
                h.driver(1)
                    .with_endpoint(now(), |ep| {
                        ep.dialog(d).and_then(|mut d| d.reject(now(), 503))
                    })
                    .unwrap();
            }
        }
        h.has_state(2, call, DialogState::Confirmed)
    });
    assert!(done, "caller events: {:?}", h.nodes[2].events);
    assert_eq!(rejected.len(), 1);
    // One call for the TU: ringing then answered by the PBX, the 503 never seen.
    assert_eq!(
        h.states(2, call),
        [DialogState::Early, DialogState::Confirmed]
    );
    assert_eq!(h.driver(2).endpoint().failovers(), 1);
    let queries = dns.queries();
    assert!(
        queries
            .iter()
            .any(|q| q.contains("query[NAPTR] example.test")),
        "{queries:?}"
    );
}
