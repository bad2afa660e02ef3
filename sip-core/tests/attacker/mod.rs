//! An attacker's side of a call, written by hand (issue 16's INVITE flood and reflection
//! attempts), and a PBX that answers every call as the `uas` example does: 180, then 200
//! with an SDP answer; in-dialog requests get 200.

#![allow(dead_code)]

use std::net::SocketAddr;

use bytes::Bytes;
use sip_core::endpoint::{EndpointConfig, Event};
use sip_sim::UaNode;

use super::support::{Net, Sent};

/// The attacker's address.
pub const X: &str = "198.51.100.7:5060";

/// The PBX's SDP answer (as `sip_pbx::ANSWER_SDP`).
pub const ANSWER_SDP: &str = "v=0\r\no=sip-pbx 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

/// A user agent that rings and answers every call at once, and answers 200 to every
/// request within a dialog.
pub fn pbx(net: &Net, config: EndpointConfig, seed: u64) -> UaNode {
    net.ua(config, seed).react(|ctl, ev| match ev {
        Event::IncomingCall { dialog, .. } => {
            let (d, now) = (*dialog, ctl.now);
            let _ = ctl.ep.dialog(d).and_then(|mut h| h.ring(now));
            let sdp = Bytes::from_static(ANSWER_SDP.as_bytes());
            let _ = ctl
                .ep
                .dialog(d)
                .and_then(|mut h| h.accept(now, Some(("application/sdp", sdp))));
        }
        Event::DialogRequest { tx, .. } => {
            let _ = ctl.ep.respond_with(ctl.now, *tx, 200);
        }
        _ => {}
    })
}

/// A SIPp-style INVITE with an SDP offer, call `n`, from `from` to the PBX at `to`, with
/// its Contact at `contact` (no `rport`, sent-by = source: nothing marks it as NATed).
pub fn invite(n: u32, from: SocketAddr, to: SocketAddr, contact: SocketAddr) -> String {
    let sdp = format!(
        "v=0\r\no=user1 53655765 2353687637 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
        ip = from.ip()
    );
    format!(
        "INVITE sip:service@{to} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {from};branch=z9hG4bK-attack-{n}\r\n\
         From: sipp <sip:sipp@{from}>;tag={n}SIPpTag00\r\n\
         To: service <sip:service@{to}>\r\n\
         Call-ID: {n}-attack@{ip}\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: sip:sipp@{contact}\r\n\
         Max-Forwards: 70\r\n\
         Subject: Performance Test\r\n\
         Content-Type: application/sdp\r\n\
         Content-Length: {len}\r\n\r\n{sdp}",
        ip = from.ip(),
        len = sdp.len()
    )
}

/// The ACK for the 2xx `ok` to call `n` (§13.2.2.4).
pub fn ack(n: u32, from: SocketAddr, to: SocketAddr, ok: &Sent) -> String {
    let resp = ok.parsed();
    let tag = resp
        .as_response()
        .and_then(|r| r.to().and_then(|t| t.tag().map(str::to_owned)))
        .expect("a To tag on the 2xx");
    format!(
        "ACK sip:service@{to} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {from};branch=z9hG4bK-ack-{n}\r\n\
         From: sipp <sip:sipp@{from}>;tag={n}SIPpTag00\r\n\
         To: service <sip:service@{to}>;tag={tag}\r\n\
         Call-ID: {n}-attack@{ip}\r\n\
         CSeq: 1 ACK\r\n\
         Max-Forwards: 70\r\n\
         Content-Length: 0\r\n\r\n",
        ip = from.ip()
    )
}

/// The last response with status `status` sent to call `n`, if any.
pub fn response_to(net: &Net, n: u32, status: u16) -> Option<Sent> {
    let call_id = format!("Call-ID: {n}-attack@");
    net.wire().into_iter().rev().find(|s| {
        s.line.starts_with(&format!("SIP/2.0 {status} "))
            && String::from_utf8_lossy(&s.bytes).contains(&call_id)
    })
}
