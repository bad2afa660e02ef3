//! INFO with Info Packages (RFC 6086) and MESSAGE (RFC 3428) within a call, between two
//! user agents on a 10 ms lossless link. Bob receives the `dtmf` package only.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use sip_core::dialog::DialogId;
use sip_core::endpoint::{EndpointConfig, Event, InviteOptions};
use sip_core::message::Method;
use sip_sim::sip::{Match, TraceExt, ms};
use sip_sim::{LinkConfig, Sim, TraceKind, Transport, UaNode};

fn alice_addr() -> SocketAddr {
    "10.0.0.1:5060".parse().unwrap()
}

fn bob_addr() -> SocketAddr {
    "10.0.0.2:5060".parse().unwrap()
}

fn texts(sim: &Sim, p: Match) -> Vec<String> {
    sim.trace()
        .entries(TraceKind::Sent, p)
        .into_iter()
        .map(|e| String::from_utf8_lossy(sim.message(e.id).unwrap()).into_owned())
        .collect()
}

fn body() -> Option<(&'static str, Bytes)> {
    Some((
        "application/dtmf-relay",
        Bytes::from_static(b"Signal=5\r\n"),
    ))
}

fn header<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[test]
fn info_packages_and_messages_in_a_call_rfc6086_rfc3428() {
    let mut sim = Sim::new(3);
    sim.set_default_link(LinkConfig::ideal(ms(10)));
    let a = sim.add_node(alice_addr(), UaNode::new(sim.base(), alice_addr(), 1));
    let bob_config = EndpointConfig {
        info_packages: Some(vec!["dtmf".to_owned()]),
        ..EndpointConfig::with_local(Transport::Udp, bob_addr())
    };
    let bob = UaNode::with_config(sim.base(), bob_addr(), bob_config, 2).react(|ctl, e| {
        match e {
            Event::IncomingCall { dialog, .. } => {
                ctl.ep
                    .dialog(*dialog)
                    .and_then(|mut d| d.accept(ctl.now, None))
                    .unwrap();
            }
            // The application answers what reaches it.
            Event::DialogRequest { tx, .. } => {
                ctl.ep.respond_with(ctl.now, *tx, 200).unwrap();
            }
            _ => {}
        }
    });
    let b = sim.add_node(bob_addr(), bob);
    let d: DialogId = sim
        .with_node(a, |n: &mut UaNode, now| {
            n.with_endpoint(now, |ep, now| {
                ep.invite(
                    now,
                    InviteOptions::new("sip:bob@10.0.0.2", "<sip:alice@a>", "<sip:bob@b>"),
                )
            })
        })
        .unwrap()
        .unwrap();
    sim.run_until(Duration::from_secs(1)).unwrap();
    // Bob's 2xx says which packages he receives (§5.2.2); Alice (legacy) says nothing.
    let oks = texts(&sim, Match::Status(200));
    assert_eq!(header(&oks[0], "Recv-Info"), Some("dtmf"));
    let invites = texts(&sim, Match::Request(Method::Invite));
    assert_eq!(header(&invites[0], "Recv-Info"), None);

    let send =
        |sim: &mut Sim, f: fn(&mut sip_core::endpoint::Endpoint, std::time::Instant, DialogId)| {
            sim.with_node(a, |n: &mut UaNode, now| {
                n.with_endpoint(now, |ep, now| f(ep, now, d))
            })
            .unwrap();
            sim.run_for(Duration::from_millis(100)).unwrap();
        };
    send(&mut sim, |ep, now, d| {
        ep.dialog(d)
            .unwrap()
            .send_info(now, Some("dtmf"), body())
            .unwrap();
    });
    send(&mut sim, |ep, now, d| {
        ep.dialog(d)
            .unwrap()
            .send_info(now, Some("foo"), body())
            .unwrap();
    });
    send(&mut sim, |ep, now, d| {
        ep.dialog(d).unwrap().send_info(now, None, body()).unwrap();
    });
    send(&mut sim, |ep, now, d| {
        let text = Bytes::from_static(b"hello");
        ep.dialog(d)
            .unwrap()
            .send_message(now, "text/plain", text)
            .unwrap();
    });

    let infos = texts(&sim, Match::Request(Method::Info));
    assert_eq!(header(&infos[0], "Info-Package"), Some("dtmf"));
    assert_eq!(
        header(&infos[0], "Content-Disposition"),
        Some("Info-Package")
    );
    assert_eq!(header(&infos[2], "Info-Package"), None);
    // The INFO for a package Bob does not receive got 469 with his Recv-Info (§4.2.2),
    // from his core: his application saw the other three requests only.
    let refused = texts(&sim, Match::Status(469));
    assert_eq!(refused.len(), 1);
    assert!(refused[0].starts_with("SIP/2.0 469 Bad Info Package\r\n"));
    assert_eq!(header(&refused[0], "Recv-Info"), Some("dtmf"));
    let bob = sim.node::<UaNode>(b).unwrap();
    let seen: Vec<(Method, Option<String>)> = bob
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::DialogRequest { request, .. } => Some((
                request.method().clone(),
                request.headers().get("Info-Package").map(str::to_owned),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (Method::Info, Some("dtmf".to_owned())),
            (Method::Info, None),
            (Method::Message, None),
        ]
    );
    let alice = sim.node::<UaNode>(a).unwrap();
    let statuses: Vec<u16> = alice
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::DialogResponse { response, .. }
                if response.cseq().is_some_and(|c| c.1 != "INVITE") =>
            {
                Some(response.status())
            }
            _ => None,
        })
        .collect();
    assert_eq!(statuses, vec![200, 469, 200, 200]);
}

/// Both sides use Info Packages: Alice receives `foo`, Bob `dtmf`, each says so in
/// Recv-Info (her INVITE, his 2xx). Each sends an INFO only for a package the other listed
/// (RFC 6086 §4.2.1): the other package is refused by the sender's core with a typed error
/// and never goes on the wire; a legacy INFO (no package) still goes. Against a peer that
/// never sent Recv-Info (Carol, a legacy user), no package INFO is sent at all.
#[test]
fn an_info_package_the_peer_did_not_list_in_recv_info_is_not_sent_rfc6086_s4_2_1() {
    use sip_core::dialog::DialogError;
    let mut sim = Sim::new(4);
    sim.set_default_link(LinkConfig::ideal(ms(10)));
    let config = |addr, packages: &[&str]| EndpointConfig {
        info_packages: Some(packages.iter().map(|p| (*p).to_owned()).collect()),
        ..EndpointConfig::with_local(Transport::Udp, addr)
    };
    fn answering(ctl: &mut sip_sim::UaCtl<'_>, e: &Event) {
        match e {
            Event::IncomingCall { dialog, .. } => {
                ctl.ep
                    .dialog(*dialog)
                    .and_then(|mut d| d.accept(ctl.now, None))
                    .unwrap();
            }
            Event::DialogRequest { tx, .. } => ctl.ep.respond_with(ctl.now, *tx, 200).unwrap(),
            _ => {}
        }
    }
    let a = sim.add_node(
        alice_addr(),
        UaNode::with_config(sim.base(), alice_addr(), config(alice_addr(), &["foo"]), 1)
            .react(answering),
    );
    let b = sim.add_node(
        bob_addr(),
        UaNode::with_config(sim.base(), bob_addr(), config(bob_addr(), &["dtmf"]), 2)
            .react(answering),
    );
    let carol_addr: SocketAddr = "10.0.0.3:5060".parse().unwrap();
    sim.add_node(
        carol_addr,
        UaNode::new(sim.base(), carol_addr, 3).react(answering),
    );
    let call = |sim: &mut Sim, uri: &str| -> DialogId {
        let opts = InviteOptions::new(uri, "<sip:alice@a>", "<sip:x@x>");
        sim.with_node(a, |n: &mut UaNode, now| {
            n.with_endpoint(now, |ep, now| ep.invite(now, opts))
        })
        .unwrap()
        .unwrap()
    };
    let to_bob = call(&mut sim, "sip:bob@10.0.0.2");
    let to_carol = call(&mut sim, "sip:carol@10.0.0.3");
    sim.run_until(Duration::from_secs(1)).unwrap();
    let bob_dialog = sim
        .node::<UaNode>(b)
        .unwrap()
        .events
        .iter()
        .find_map(|(_, e)| match e {
            Event::IncomingCall { dialog, .. } => Some(*dialog),
            _ => None,
        })
        .unwrap();
    let info = |sim: &mut Sim, node, d: DialogId, package: Option<&'static str>| {
        sim.with_node(node, |n: &mut UaNode, now| {
            n.with_endpoint(now, |ep, now| {
                ep.dialog(d)
                    .unwrap()
                    .send_info(now, package, body())
                    .map(drop)
            })
        })
        .unwrap()
    };
    let refused = |p: &str| Err(DialogError::InfoPackageNotReceived(p.to_owned()));
    assert_eq!(info(&mut sim, a, to_bob, Some("dtmf")), Ok(()));
    assert_eq!(info(&mut sim, a, to_bob, Some("foo")), refused("foo"));
    assert_eq!(info(&mut sim, b, bob_dialog, Some("foo")), Ok(()));
    assert_eq!(info(&mut sim, b, bob_dialog, Some("dtmf")), refused("dtmf"));
    assert_eq!(info(&mut sim, a, to_carol, Some("dtmf")), refused("dtmf"));
    assert_eq!(info(&mut sim, a, to_carol, None), Ok(()));
    sim.run_for(Duration::from_secs(1)).unwrap();
    // On the wire: the three INFOs allowed, each answered 200 (no 469 anywhere).
    let infos = texts(&sim, Match::Request(Method::Info));
    let packages: Vec<Option<&str>> = infos.iter().map(|t| header(t, "Info-Package")).collect();
    assert_eq!(packages, [Some("dtmf"), Some("foo"), None]);
    assert!(texts(&sim, Match::Status(469)).is_empty());
    let invites = texts(&sim, Match::Request(Method::Invite));
    assert_eq!(header(&invites[0], "Recv-Info"), Some("foo"));
}
