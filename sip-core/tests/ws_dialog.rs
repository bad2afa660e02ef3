//! A dialog set up over a WebSocket client connection opened to a URL (RFC 7118, RFC 6455
//! §4.1): every request of the dialog — the ACK to the 2xx (RFC 3261 §13.2.2.4), its
//! re-sends for 2xx retransmissions, and the BYE — carries that URL, so a driver whose
//! connection dropped meanwhile reconnects to the same resource, not to `/`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sip_core::endpoint::{
    Endpoint, EndpointConfig, Input, InviteOptions, LocalAddr, Output, Target, Transmit,
};
use sip_core::transport::Transport;
use sip_core::transport::websocket::WsUrl;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// The transmits queued now, as (method or status line, resource of their ws_url).
fn drain(ep: &mut Endpoint) -> Vec<Transmit> {
    let mut out = Vec::new();
    while let Some(o) = ep.poll_output() {
        if let Output::Transmit(t) = o {
            out.push(t);
        }
    }
    out
}

fn first_line(t: &Transmit) -> String {
    let text = String::from_utf8_lossy(&t.bytes);
    text.lines().next().unwrap_or("").to_owned()
}

fn resource(t: &Transmit) -> Option<String> {
    t.ws_url.as_ref().map(|u| u.resource().to_owned())
}

/// A 200 to `invite` (its Via, From, To with a tag, Call-ID and CSeq; RFC 3261 §8.2.6)
/// with a Contact at `contact`.
fn ok_for(invite: &[u8], contact: &str) -> Bytes {
    let text = String::from_utf8_lossy(invite);
    let mut ok = String::from("SIP/2.0 200 OK\r\n");
    for line in text.lines() {
        let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
        if ["via", "from", "to", "call-id", "cseq"].contains(&name.as_str()) {
            ok.push_str(line);
            if name == "to" {
                ok.push_str(";tag=edge");
            }
            ok.push_str("\r\n");
        }
    }
    ok.push_str(&format!(
        "Contact: <{contact}>\r\nContent-Length: 0\r\n\r\n"
    ));
    Bytes::from(ok)
}

#[test]
fn in_dialog_requests_keep_the_ws_url_of_the_dialogs_connection() {
    let edge = addr("192.0.2.2:8080");
    // A client's WebSocket local address: a random `.invalid` host (RFC 7118 §5.2).
    let mut config = EndpointConfig::with_local(Transport::Udp, addr("192.0.2.1:5060"));
    let mut ws = LocalAddr::new(Transport::Ws, addr("192.0.2.1:5060"));
    ws.advertised = Some(sip_core::transport::websocket::invalid_host(3));
    config.local_addrs.push(ws);
    let mut ep = Endpoint::new(config, 3);
    // The test is the driver: it reads the clock once, as a base time.
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let url = WsUrl::parse("ws://192.0.2.2:8080/sip").unwrap();
    let opts = InviteOptions::new(
        "sip:bob@192.0.2.2:8080;transport=ws",
        "<sip:alice@a.example>",
        "<sip:bob@b.example>",
    )
    .target(Target::websocket(url, edge));
    let d = ep.invite(now, opts).unwrap();
    let sent = drain(&mut ep);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(resource(&sent[0]).as_deref(), Some("/sip"));
    let invite = sent[0].clone();
    let ok = ok_for(&invite.bytes, "sip:bob@192.0.2.2:8080;transport=ws");
    let answer = |ep: &mut Endpoint, at: Instant| {
        ep.handle_input(
            at,
            Input::Receive {
                transport: Transport::Ws,
                from: edge,
                to: invite.source.unwrap_or(addr("192.0.2.1:5060")),
                bytes: ok.clone(),
            },
        );
        drain(ep)
    };
    let acks = answer(&mut ep, now);
    assert_eq!(acks.len(), 1, "{acks:?}");
    assert!(first_line(&acks[0]).starts_with("ACK "), "{acks:?}");
    assert_eq!(
        (acks[0].transport, acks[0].destination),
        (Transport::Ws, edge)
    );
    assert_eq!(resource(&acks[0]).as_deref(), Some("/sip"), "the ACK");
    // A retransmission of the 2xx: the kept ACK again, over the same URL.
    let again = answer(&mut ep, now + Duration::from_millis(500));
    assert_eq!(again.len(), 1, "{again:?}");
    assert!(first_line(&again[0]).starts_with("ACK "), "{again:?}");
    assert_eq!(
        resource(&again[0]).as_deref(),
        Some("/sip"),
        "the re-sent ACK"
    );
    ep.dialog(d)
        .unwrap()
        .hangup(now + Duration::from_secs(1))
        .unwrap();
    let bye = drain(&mut ep);
    assert_eq!(bye.len(), 1, "{bye:?}");
    assert!(first_line(&bye[0]).starts_with("BYE "), "{bye:?}");
    assert_eq!(resource(&bye[0]).as_deref(), Some("/sip"), "the BYE");
}
