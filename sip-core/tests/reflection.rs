//! Reflection limits (issue 16, item 7): what an INVITE that is never ACKed makes the
//! endpoint send, and where (RFC 3261 §13.3.1.4, §18.2.2; RFC 3581), on the simulated
//! network with its virtual clock.

mod attacker;
mod support;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use sip_core::dialog::{DialogState, EndReason, NoAckBye};
use sip_core::endpoint::Event;
use sip_core::transport::Transport;
use support::{B, Net, Sent, addr, udp};

use attacker::{X, invite, pbx};

/// A host that never sent the PBX anything.
const VICTIM: &str = "203.0.113.5:5060";

/// The documented bound (README, `sip_core::dialog::no_ack`): over UDP with the default
/// timers an un-ACKed INVITE gets the TU's provisional responses, at most 11 copies of
/// its 2xx (T1 doubling to T2 until 64·T1, §13.3.1.4) and, only where its next hop is the
/// INVITE's source, one BYE transaction (at most 11 copies, Timer E until Timer F).
const MAX_2XX_COPIES: usize = 11;
const MAX_BYE_COPIES: usize = 11;

/// One un-ACKed call from the attacker with its Contact at `contact`; the PBX's sends
/// over the next 64 s, and the INVITE's size.
fn unacked_call(
    config: sip_core::endpoint::EndpointConfig,
    contact: &str,
) -> (Net, Vec<Sent>, usize) {
    let mut net = Net::empty();
    let node = pbx(&net, config, 9);
    net.add_node(node);
    let inv = invite(1, addr(X), addr(B), addr(contact));
    let size = inv.len();
    net.inject(Transport::Udp, addr(X), addr(B), Bytes::from(inv));
    net.advance(Duration::from_secs(64));
    let out: Vec<Sent> = net
        .wire()
        .into_iter()
        .filter(|s| s.from == addr(B))
        .collect();
    (net, out, size)
}

fn bytes(out: &[Sent]) -> usize {
    out.iter().map(|s| s.bytes.len()).sum()
}

fn end_reason(net: &Net) -> Option<EndReason> {
    net.events(B).iter().find_map(|(_, e)| match e {
        Event::DialogStateChanged {
            state: DialogState::Terminated(r),
            ..
        } => Some(*r),
        _ => None,
    })
}

/// Issue 16: ten un-ACKed INVITEs with a third party's address in Contact made the PBX
/// send that party 110 BYEs. By default the BYE of §13.3.1.4 goes only where the INVITE
/// came from; here it is withheld and the dialog ends locally, which the TU hears.
#[test]
fn an_unacked_invite_sends_no_bye_to_a_contact_at_another_host() {
    let (net, out, _) = unacked_call(udp(B), VICTIM);
    let victim_ip = addr(VICTIM).ip();
    let to_victim: Vec<&str> = out
        .iter()
        .filter(|s| s.to.ip() == victim_ip)
        .map(|s| s.line.as_str())
        .collect();
    assert_eq!(to_victim, Vec::<&str>::new(), "nothing to the third party");
    assert!(out.iter().all(|s| s.to == addr(X)));
    assert!(!out.iter().any(|s| s.line.starts_with("BYE")));
    assert_eq!(end_reason(&net), Some(EndReason::NoAckNoBye));
}

/// The RFC's letter stays available: with `NoAckBye::Always` the BYE goes to the Contact.
#[test]
fn the_bye_to_a_foreign_contact_is_a_configured_choice() {
    let mut config = udp(B);
    config.no_ack_bye = NoAckBye::Always;
    let (net, out, _) = unacked_call(config, VICTIM);
    let byes: Vec<SocketAddr> = out
        .iter()
        .filter(|s| s.line.starts_with("BYE"))
        .map(|s| s.to)
        .collect();
    assert!(!byes.is_empty() && byes.len() <= MAX_BYE_COPIES, "{byes:?}");
    assert!(byes.iter().all(|a| *a == addr(VICTIM)));
    assert_eq!(end_reason(&net), Some(EndReason::NoAck));
}

/// The amplification of an un-ACKed INVITE (bytes the PBX sends / bytes of the INVITE) is
/// bounded as documented: at most 11 copies of the 2xx, and a BYE transaction only back to
/// the source. Issue 16 measured 18.7× with the BYEs to a Contact elsewhere; that attack
/// now gets the 180 and the 2xx copies only.
#[test]
fn the_amplification_of_an_unacked_invite_is_bounded() {
    // Contact elsewhere: no BYE at all.
    let (_, out, size) = unacked_call(udp(B), VICTIM);
    let oks = out
        .iter()
        .filter(|s| s.line.starts_with("SIP/2.0 200"))
        .count();
    let provisional = out
        .iter()
        .filter(|s| s.line.starts_with("SIP/2.0 1"))
        .count();
    assert_eq!(oks, MAX_2XX_COPIES);
    assert_eq!(provisional, 1, "the TU's 180");
    assert_eq!(out.len(), provisional + oks);
    let ok_size = out
        .iter()
        .find(|s| s.line.starts_with("SIP/2.0 200"))
        .unwrap();
    let ratio = bytes(&out) as f64 / size as f64;
    eprintln!(
        "un-ACKed INVITE of {size} B, Contact elsewhere: {} B out in {} datagrams, {ratio:.1}×",
        bytes(&out),
        out.len()
    );
    // Every byte out is the 180 or a copy of the one 2xx.
    let bound = out[0].bytes.len() + MAX_2XX_COPIES * ok_size.bytes.len();
    assert!(bytes(&out) <= bound);
    assert!(
        ratio < 12.0,
        "{ratio:.1}× (issue 16 measured 18.7× with the BYEs)"
    );

    // Contact at the source: the BYE goes back there, its retransmissions counted.
    let (_, out, size) = unacked_call(udp(B), X);
    let byes: Vec<&Sent> = out.iter().filter(|s| s.line.starts_with("BYE")).collect();
    assert!(!byes.is_empty() && byes.len() <= MAX_BYE_COPIES);
    assert!(out.iter().all(|s| s.to == addr(X)), "only to the source");
    let oks = out
        .iter()
        .filter(|s| s.line.starts_with("SIP/2.0 200"))
        .count();
    assert!(oks <= MAX_2XX_COPIES);
    let ratio = bytes(&out) as f64 / size as f64;
    eprintln!(
        "un-ACKed INVITE of {size} B, Contact at the source: {} B out in {} datagrams, {ratio:.1}×",
        bytes(&out),
        out.len()
    );
    let bound = out[0].bytes.len()
        + MAX_2XX_COPIES * ok_size.bytes.len()
        + MAX_BYE_COPIES * byes[0].bytes.len();
    assert!(bytes(&out) <= bound);
}

/// §18.2.2 says to send a response to a Via's `maddr`; followed, it lets any request aim
/// its responses (and, for an INVITE, eleven 2xx copies) at another host. By default the
/// response goes to the source (`received`, and `rport` per RFC 3581).
#[test]
fn a_response_goes_to_the_source_not_the_via_maddr() {
    let req = |n: u32| {
        format!(
            "BYE sip:service@192.0.2.2 SIP/2.0\r\n\
             Via: SIP/2.0/UDP {X};maddr=203.0.113.5;branch=z9hG4bK-maddr-{n}\r\n\
             From: <sip:a@x>;tag=f{n}\r\nTo: <sip:b@y>;tag=t{n}\r\nCall-ID: maddr-{n}\r\n\
             CSeq: 1 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
    };
    let mut net = Net::new(&[B]);
    net.inject(Transport::Udp, addr(X), addr(B), Bytes::from(req(1)));
    net.run();
    let answers: Vec<Sent> = net
        .wire()
        .into_iter()
        .filter(|s| s.from == addr(B))
        .collect();
    assert_eq!(answers.len(), 1);
    assert!(
        answers[0].line.starts_with("SIP/2.0 481"),
        "{}",
        answers[0].line
    );
    assert_eq!(answers[0].to, addr(X), "to the source, not the maddr");

    // Configured, the maddr is followed (at the sent-by port).
    let mut config = udp(B);
    config.via_maddr = true;
    net.replace(B, config, 3);
    net.inject(Transport::Udp, addr(X), addr(B), Bytes::from(req(2)));
    net.run();
    let last = net.wire().into_iter().rfind(|s| s.from == addr(B)).unwrap();
    assert!(last.line.starts_with("SIP/2.0 481"));
    assert_eq!(last.to, "203.0.113.5:5060".parse::<SocketAddr>().unwrap());
}

/// A hang-up before the ACK waits for it (§15); when none comes and the BYE is withheld,
/// the TU still hears how its BYE went (not sent) and nothing reaches the Contact's host.
#[test]
fn a_hangup_waiting_for_an_ack_that_never_comes_hears_its_bye_was_not_sent() {
    let mut net = Net::empty();
    let node = pbx(&net, udp(B), 9);
    net.add_node(node);
    let inv = invite(1, addr(X), addr(B), addr(VICTIM));
    net.inject(Transport::Udp, addr(X), addr(B), Bytes::from(inv));
    net.run();
    let d = net
        .events(B)
        .iter()
        .find_map(|(_, e)| match e {
            Event::IncomingCall { dialog, .. } => Some(*dialog),
            _ => None,
        })
        .unwrap();
    net.with(B, |ep, now| ep.dialog(d).and_then(|mut h| h.hangup(now)))
        .unwrap();
    net.advance(Duration::from_secs(64));
    assert_eq!(end_reason(&net), Some(EndReason::LocalBye));
    let outcomes: Vec<_> = net
        .events(B)
        .iter()
        .filter_map(|(t, e)| match e {
            Event::ByeCompleted { dialog, outcome } if *dialog == d => Some((*t, *outcome)),
            _ => None,
        })
        .collect();
    assert_eq!(
        outcomes,
        [(
            Duration::from_secs(32),
            Err(sip_core::endpoint::Failure::NotSent)
        )]
    );
    assert!(net.wire().iter().all(|s| s.to.ip() != addr(VICTIM).ip()));
}

/// Through a proxy that Record-Routes, the Contact is at another host but the BYE's next
/// hop is the first route — the proxy the INVITE came from — so the BYE is sent, there.
#[test]
fn the_bye_after_a_missing_ack_goes_through_the_proxy_the_invite_came_from() {
    let proxy: SocketAddr = "192.0.2.9:5060".parse().unwrap();
    let mut net = Net::empty();
    let node = pbx(&net, udp(B), 9);
    net.add_node(node);
    let inv = invite(1, addr(X), addr(B), addr(VICTIM)).replacen(
        "Via: ",
        "Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK-px1\r\nRecord-Route: <sip:192.0.2.9;lr>\r\nVia: ",
        1,
    );
    net.inject(Transport::Udp, proxy, addr(B), Bytes::from(inv));
    net.advance(Duration::from_secs(64));
    let out: Vec<Sent> = net
        .wire()
        .into_iter()
        .filter(|s| s.from == addr(B))
        .collect();
    let byes: Vec<&Sent> = out.iter().filter(|s| s.line.starts_with("BYE")).collect();
    assert!(!byes.is_empty() && byes.len() <= MAX_BYE_COPIES);
    assert!(out.iter().all(|s| s.to == proxy), "everything to the proxy");
    assert_eq!(end_reason(&net), Some(EndReason::NoAck));
}
