//! Requests whose header rows come in every shape RFC 3261 allows (§7.3.1 spacing around the
//! colon, compact names §7.3.3, any letter case, folds with blank continuation lines and
//! trailing blanks, several Via rows), received by an [`Endpoint`] over UDP and TCP from
//! IPv4 and IPv6 sources and answered 100/180/200 through the skeleton the endpoint keeps.
//!
//! Nothing may panic (debug builds check the endpoint's internal invariants, such as which
//! rows can be copied as received), and every response must parse in strict mode and carry
//! the request's From, Call-ID, CSeq and Via values (§8.2.6.2) with `received` where
//! §18.2.1 asks for it.

use bytes::Bytes;
use sip_core::endpoint::{Endpoint, EndpointConfig, Event, Input, Output};
use sip_core::message::{ParseOptions, SipMessage, parse};
use sip_core::transport::Transport;
use std::net::SocketAddr;
use std::time::Instant;

/// Blanks: nothing, SP or HTAB, up to two.
fn blanks(rng: &mut fastrand::Rng) -> &'static str {
    ["", " ", "\t", "  ", " \t"][rng.usize(..5)]
}

/// `name: value` CRLF in a random legal shape: canonical, compact, upper or lower case name;
/// blanks around the colon; the value folded before a `;`, with trailing blanks, or followed
/// by a blank continuation line.
fn row(rng: &mut fastrand::Rng, name: &str, compact: Option<&str>, value: &str) -> String {
    let name = match (compact, rng.u8(..6)) {
        (Some(c), 0) => c.to_owned(),
        (_, 1) => name.to_uppercase(),
        (_, 2) => name.to_lowercase(),
        _ => name.to_owned(),
    };
    let colon = match rng.u8(..4) {
        0 => ":".to_owned(),
        1 => format!("{}:{}", blanks(rng), blanks(rng)),
        _ => ": ".to_owned(),
    };
    let mut v = value.to_owned();
    // A fold where LWS may stand: before a `;` outside `<>` (not inside a URI).
    let after_uri = v.find('>').map_or(0, |k| k + 1);
    if rng.u8(..3) == 0
        && let Some(i) = v[after_uri..].find(';')
    {
        let fold = format!("\r\n{}{}", [" ", "\t"][rng.usize(..2)], blanks(rng));
        v.insert_str(after_uri + i, &fold);
    }
    if rng.u8(..4) == 0 {
        v.push_str(blanks(rng));
    }
    if rng.u8(..6) == 0 {
        v.push_str("\r\n ");
        v.push_str(blanks(rng));
    }
    format!("{name}{colon}{v}\r\n")
}

/// The value of `name` in `m` with folds and blanks squeezed, for comparing values that
/// may be written differently.
fn squeezed(v: &str) -> String {
    v.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace(" ;", ";")
}

#[test]
fn every_row_shape_is_answered_with_the_requests_values() {
    let mut rng = fastrand::Rng::with_seed(6);
    let local: SocketAddr = "192.0.2.2:5060".parse().unwrap();
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let mut answered = 0;
    for i in 0..3000 {
        let transport = if rng.bool() {
            Transport::Udp
        } else {
            Transport::Tcp
        };
        let (source, source_ip): (SocketAddr, &str) = match rng.u8(..3) {
            0 => ("192.0.2.1:5060".parse().unwrap(), "192.0.2.1"),
            1 => ("198.51.100.7:40000".parse().unwrap(), "198.51.100.7"),
            _ => ("[2001:db8::7]:5062".parse().unwrap(), "2001:db8::7"),
        };
        let method = ["OPTIONS", "INVITE", "MESSAGE"][rng.usize(..3)];
        let sent_by = ["192.0.2.1:5060", "192.0.2.1", "client.example.com:5070"][rng.usize(..3)];
        let params = [
            ";branch=z9hG4bKr",
            ";rport;branch=z9hG4bKr",
            ";branch=z9hG4bKr;rport",
        ][rng.usize(..3)];
        let via = format!("SIP/2.0/{} {sent_by}{params}{i}", transport.via_token());
        let mut rows = vec![
            row(&mut rng, "Via", Some("v"), &via),
            row(&mut rng, "From", Some("f"), "\"A\" <sip:a@192.0.2.1>;tag=1"),
            row(&mut rng, "To", Some("t"), "<sip:bob@192.0.2.2>"),
            row(&mut rng, "Call-ID", Some("i"), &format!("shape{i}")),
            row(&mut rng, "CSeq", None, &format!("1 {method}")),
            row(&mut rng, "Max-Forwards", None, "70"),
        ];
        if rng.bool() {
            let proxy = "SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp1";
            rows.push(row(&mut rng, "Via", Some("v"), proxy));
        }
        if rng.bool() {
            let rr = "<sip:p1.example.com;lr>;x=1";
            rows.push(row(&mut rng, "Record-Route", None, rr));
        }
        if rng.bool() {
            rows.push(row(&mut rng, "Timestamp", None, "12.5"));
        }
        if method == "INVITE" {
            let contact = "<sip:a@192.0.2.1>;expires=60";
            rows.push(row(&mut rng, "Contact", Some("m"), contact));
        }
        rng.shuffle(&mut rows[1..]);
        let raw = format!(
            "{method} sip:bob@192.0.2.2 SIP/2.0\r\n{}Content-Length: 0\r\n\r\n",
            rows.concat()
        );

        let mut e = Endpoint::new(EndpointConfig::with_local(transport, local), 1);
        e.handle_input(
            now,
            Input::Receive {
                transport,
                from: source,
                to: local,
                bytes: Bytes::from(raw.clone()),
            },
        );
        let mut request = None;
        while let Some(o) = e.poll_output() {
            if let Output::Event(
                Event::IncomingRequest { tx, request: r }
                | Event::IncomingCall { tx, request: r, .. },
            ) = o
            {
                request = Some((tx, r));
            }
        }
        let (tx, request) = request.unwrap_or_else(|| panic!("refused: {raw:?}"));
        let statuses: &[u16] = if method == "INVITE" {
            &[100, 180, 200]
        } else {
            &[200]
        };
        for &status in statuses {
            e.respond_with(now, tx, status).unwrap();
        }
        let mut sent = 0;
        while let Some(o) = e.poll_output() {
            let Output::Transmit(t) = o else { continue };
            let Ok(SipMessage::Response(resp)) = parse(t.bytes.clone(), &ParseOptions::strict())
            else {
                panic!("not a strict response: {:?}\nfor {raw:?}", t.bytes)
            };
            for name in ["From", "Call-ID", "CSeq"] {
                let want = request.headers().get(name).map(squeezed);
                let got = resp.headers().get(name).map(squeezed);
                assert_eq!(got, want, "{name} for {raw:?}");
            }
            let (v, rv) = (request.via().unwrap(), resp.via().unwrap());
            assert_eq!(rv.branch(), v.branch(), "{raw:?}");
            assert_eq!(rv.host(), v.host(), "{raw:?}");
            if v.host() != source_ip || v.rport().is_some() {
                assert_eq!(rv.received(), Some(source_ip), "{raw:?}");
            }
            sent += 1;
        }
        assert_eq!(sent, statuses.len(), "{raw:?}");
        answered += 1;
    }
    assert_eq!(answered, 3000);
}
