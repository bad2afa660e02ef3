//! Fuzz target bodies for the sip-core message layer, as plain functions so that they run
//! on stable too (`examples/replay.rs`), not only under libFuzzer (`fuzz_targets/`).
//!
//! Each body panics when an invariant breaks; a panic anywhere inside sip-core is a bug as
//! well (the parser must not panic on any input).

#![forbid(unsafe_code)]

use bytes::Bytes;
use sip_core::message::{
    ContactValue, Framing, NameAddr, ParseError, ParseOptions, SipMessage, StreamFramer, Via,
    parse, parse_framed, parse_unchecked, uri::Uri,
};

/// The two parser modes, lenient first.
fn modes() -> [ParseOptions; 2] {
    [ParseOptions::lenient(), ParseOptions::strict()]
}

/// Target `parse`: `data` as one UDP datagram (RFC 3261 §18.3), in lenient and strict mode.
///
/// Checks that: a message that passes every check also parses unchecked and passes
/// `check()`; whatever strict mode accepts, lenient mode accepts too; a parsed message
/// re-serializes to bytes that parse to the same values and serialize identically; every
/// accessor and every edit runs without panicking.
pub fn parse_target(data: &[u8]) {
    let bytes = Bytes::copy_from_slice(data);
    let mut checked_ok = [false; 2];
    for (i, opts) in modes().iter().enumerate() {
        let checked = parse(bytes.clone(), opts);
        let unchecked = parse_unchecked(bytes.clone(), opts);
        if let Err(e) = &checked {
            let _ = (e.to_string(), e.layer(), e.status_code());
        }
        if let Ok(m) = &checked {
            checked_ok[i] = true;
            assert!(
                unchecked.is_ok(),
                "passes parse() but not parse_unchecked()"
            );
            assert_eq!(
                m.check(),
                Ok(()),
                "parse() returned a message failing check()"
            );
            let out = m.to_bytes();
            let again = parse(out.clone(), opts);
            assert!(again.is_ok(), "re-parse with every check failed: {again:?}");
        }
        if let Ok(mut m) = unchecked {
            touch(&m);
            let out = m.to_bytes();
            assert_eq!(out.len(), m.message().encoded_len(), "encoded_len is wrong");
            let again = parse_unchecked(out.clone(), opts)
                .unwrap_or_else(|e| panic!("serialized message does not re-parse: {e}"));
            assert_eq!(summary(&again), summary(&m), "re-parse changed the values");
            assert_eq!(again.to_bytes(), out, "second serialization differs");
            edit_everything(&mut m);
            touch(&m);
            if let Ok(e) = parse_unchecked(m.to_bytes(), opts) {
                touch(&e);
            }
        }
    }
    assert!(
        !checked_ok[1] || checked_ok[0],
        "strict mode accepts what lenient mode rejects"
    );
}

/// Target `framer`: `data[2..]` as a TCP byte stream (RFC 3261 §18.3) fed to a
/// [`StreamFramer`] in chunks whose sizes come from `data[0]` and `data[1]`.
///
/// Checks that: the messages (and the first error) do not depend on how the stream was
/// cut; every message re-serializes to bytes that the stream parser takes back unchanged;
/// accessors and edits run without panicking.
pub fn framer_target(data: &[u8]) {
    let (seed, stream) = match data {
        [a, b, rest @ ..] => ([*a, *b], rest),
        _ => return,
    };
    let chunks = [
        usize::from(seed[0] % 17) + 1,
        usize::from(seed[1] % 5) + 1,
        usize::from(seed[0] ^ seed[1]) + 1,
    ];
    for opts in modes() {
        let whole = frame(stream, &[stream.len().max(1)], opts);
        let cut = frame(stream, &chunks, opts);
        assert_eq!(
            outcomes(&whole),
            outcomes(&cut),
            "the framer's output depends on the chunking {chunks:?}"
        );
        for m in cut.iter().filter_map(|r| r.as_ref().ok()) {
            let out = m.to_bytes();
            let again = parse_framed(out.clone(), &opts, Framing::Stream)
                .unwrap_or_else(|e| panic!("framed message does not re-parse: {e}"));
            assert_eq!(again.to_bytes(), out);
            let mut m = m.clone();
            edit_everything(&mut m);
            touch(&m);
        }
    }
}

/// The framer's results up to and including the first error (after an error the framer
/// drops its buffer, so what follows depends on how much had arrived).
fn outcomes(rs: &[Result<SipMessage, ParseError>]) -> Vec<Result<Bytes, ParseError>> {
    let mut v = Vec::new();
    for r in rs {
        match r {
            Ok(m) => v.push(Ok(m.to_bytes())),
            Err(e) => {
                v.push(Err(e.clone()));
                break;
            }
        }
    }
    v
}

/// Feeds `stream` to a framer in chunks of the given sizes (cycled), collecting and
/// touching every message.
pub fn frame(
    stream: &[u8],
    chunks: &[usize],
    opts: ParseOptions,
) -> Vec<Result<SipMessage, ParseError>> {
    let mut f = StreamFramer::new(opts);
    let mut out = Vec::new();
    let mut pos = 0;
    let mut i = 0;
    while pos < stream.len() {
        let n = chunks
            .get(i % chunks.len().max(1))
            .copied()
            .unwrap_or(1)
            .clamp(1, stream.len() - pos);
        f.push(&stream[pos..pos + n]);
        pos += n;
        i += 1;
        let mut guard = 0;
        while let Some(r) = f.next_message() {
            if let Ok(m) = &r {
                touch(m);
            }
            out.push(r);
            guard += 1;
            assert!(guard <= stream.len() + 1, "framer yields without consuming");
        }
    }
    assert!(
        f.buffered() <= stream.len(),
        "framer holds more than it got"
    );
    out
}

/// The values compared between two parses of the same bytes.
fn summary(m: &SipMessage) -> String {
    let msg = m.message();
    let start = match m {
        SipMessage::Request(r) => format!("{} {}", r.method(), r.uri_str()),
        SipMessage::Response(r) => format!("{} {}", r.status(), r.reason()),
    };
    format!(
        "{start} | {:?} | {:?} | {:?} | {:?} | {:?} | {:?} | {:?} | {} | {:?} | {:?}",
        msg.via().map(|v| v.as_str()),
        msg.from().map(|f| f.as_str()),
        msg.to().map(|f| f.as_str()),
        msg.call_id(),
        msg.cseq(),
        msg.max_forwards(),
        msg.content_length(),
        msg.headers().len(),
        msg.body(),
        msg.header_fault().map(|f| &f.kind),
    )
}

/// Edits an arbitrary message in every way the API offers; only "no panic" is asked.
pub fn edit_everything(m: &mut SipMessage) {
    let msg = m.message_mut();
    let _ = msg.set_via_param("received", Some("192.0.2.4"));
    let _ = msg.set_via_param("rport", Some("5062"));
    let _ = msg.set_via_param("x", None);
    let _ = msg.set_header("Max-Forwards", "69");
    let _ = msg.prepend_header("Via", "SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp");
    let _ = msg.prepend_header("X-Unknown", "1");
    let _ = msg.insert_header(3, "Record-Route", "<sip:p.example.com;lr>");
    let _ = msg.remove_header("Contact");
    let _ = msg.remove_header("x-unknown");
    let _ = msg.push_header("Subject", "edited");
    let _ = msg.set_body(Some("text/plain"), Bytes::from_static(b"hello"));
    let _ = msg.set_header("bad name", "x");
    let _ = msg.push_header("X", "a\r\nInjected: 1");
}

/// Calls every accessor of a message and of the values it hands out; returns a number
/// derived from all of them.
pub fn touch(m: &SipMessage) -> usize {
    let mut s = String::new();
    let _ = m.check();
    match m {
        SipMessage::Request(r) => {
            s += &format!(
                "{} {} {}",
                r.method(),
                r.method().creates_dialog(),
                r.uri_str()
            );
            if let Ok(u) = r.uri() {
                s += &touch_uri(&u);
            }
        }
        SipMessage::Response(r) => {
            s += &format!(
                "{} {} {} {}",
                r.status(),
                r.reason(),
                r.is_provisional(),
                r.is_success()
            );
        }
    }
    let msg = m.message();
    if let Some(v) = msg.via() {
        s += &touch_via(&v);
    }
    for v in msg.vias() {
        match v {
            Ok(v) => s += &touch_via(&v),
            Err(e) => s += e,
        }
    }
    for a in [msg.from(), msg.to()].into_iter().flatten() {
        s += &touch_addr(&a);
    }
    match msg.contact() {
        Some(ContactValue::Star) => s += "*",
        Some(ContactValue::Addr(a)) => s += &touch_addr(&a),
        None => {}
    }
    for a in msg
        .contacts()
        .chain(msg.routes())
        .chain(msg.record_routes())
        .chain(msg.refer_to())
        .chain(msg.referred_by())
    {
        match a {
            Ok(a) => s += &touch_addr(&a),
            Err(e) => s += e,
        }
    }
    s += &format!(
        "{:?} {:?} {:?} {:?} {:?} {:?}",
        msg.call_id(),
        msg.cseq(),
        msg.cseq_method(),
        msg.max_forwards(),
        msg.content_length(),
        msg.expires()
    );
    if let Some(Ok(ct)) = msg.content_type() {
        s += &format!(
            "{ct:?} {} {:?} {:?}",
            ct.is("application", "sdp"),
            ct.param("charset"),
            ct.params().collect::<Vec<_>>()
        );
    }
    for tp in [msg.event(), msg.subscription_state()]
        .into_iter()
        .flatten()
        .flatten()
    {
        s += &format!(
            "{tp:?} {:?} {:?} {:?}",
            tp.id(),
            tp.expires(),
            tp.params().collect::<Vec<_>>()
        );
    }
    for t in msg.allow().chain(msg.supported()).chain(msg.require()) {
        s += t;
    }
    let h = msg.headers();
    s += &format!("{h:?} {} {}", h.len(), h.is_empty());
    for row in h.iter() {
        s += row.name;
        s += row.value;
        s += h.get(row.name).unwrap_or("");
        s += &format!("{}", h.contains(row.known));
        for v in h.values(row.name) {
            s += v;
        }
        for v in h.get_all(row.known) {
            s += v;
        }
    }
    if let Some(f) = msg.header_fault() {
        s += &format!("{f} {:?} {}", f.layer(), f.status_code());
    }
    s += &format!(
        "{} {} {m} {m:?} {msg:?}",
        m.to_bytes().len(),
        msg.encoded_len()
    );
    s.len()
}

fn touch_via(v: &Via<'_>) -> String {
    format!(
        "{} {} {} {} {:?} {} {:?} {} {:?} {:?} {:?} {} {:?} {:?} {:?} {:?} {:?}",
        v.as_str(),
        v.protocol(),
        v.version(),
        v.transport_str(),
        v.transport(),
        v.host(),
        v.port(),
        v.params_raw(),
        v.params().collect::<Vec<_>>(),
        v.param("branch"),
        v.branch(),
        v.has_rfc3261_branch(),
        v.received(),
        v.maddr(),
        v.rport(),
        v.ttl(),
        v
    )
}

fn touch_addr(a: &NameAddr<'_>) -> String {
    let uri = a.uri().map(|u| touch_uri(&u)).unwrap_or_default();
    format!(
        "{} {:?} {:?} {} {} {} {:?} {:?} {:?} {:?} {:?} {uri}",
        a.as_str(),
        a.display_name_raw(),
        a.display_name(),
        a.uri_str(),
        a.is_name_addr(),
        a.params_raw(),
        a.params().collect::<Vec<_>>(),
        a.param("tag"),
        a.tag(),
        a.expires(),
        a.q_millis()
    )
}

fn touch_uri(u: &Uri<'_>) -> String {
    let mut s = format!("{u} {u:?} {} {}", u.scheme(), *u == u.clone());
    if let Some(sip) = u.as_sip() {
        s += &format!(
            "{:?} {:?} {:?} {:?} {} {:?} {} {} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {} {} {:?} {:?} {} {} {:?} {}",
            sip.user(),
            sip.user_unescaped(),
            sip.password(),
            sip.password_unescaped(),
            sip.host(),
            sip.port(),
            sip.port_or_default(),
            sip.host_port(),
            sip.params_raw(),
            sip.params().collect::<Vec<_>>(),
            sip.param("transport"),
            sip.transport(),
            sip.transport_kind(),
            sip.maddr(),
            sip.user_param(),
            sip.method(),
            sip.lr(),
            sip.is_secure(),
            sip.ttl(),
            sip.headers().collect::<Vec<_>>(),
            sip.headers_raw(),
            sip.host().is_ip(),
            sip.header("subject"),
            sip.has_param("lr"),
        );
    }
    if let Some(t) = u.as_tel() {
        s += &format!(
            "{} {} {} {:?} {:?} {:?} {:?}",
            t.is_global(),
            t.number(),
            t.number_digits(),
            t.params().collect::<Vec<_>>(),
            t.phone_context(),
            t.extension(),
            t.isdn_subaddress()
        );
    }
    if let Some(a) = u.as_absolute() {
        s += a.scheme();
        s += a.rest();
    }
    s += &u.clone().into_owned().to_string();
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &[u8] = b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.example.com>\r\n\
Content-Length: 4\r\n\
\r\n\
v=0\r\n";

    #[test]
    fn bodies_accept_valid_and_broken_input() {
        for input in [
            INVITE,
            &INVITE[..60],
            b"",
            b"\r\n\r\n",
            b"SIP/2.0 200 OK\r\n\r\n",
        ] {
            parse_target(input);
            framer_target(input);
        }
    }

    #[test]
    fn frame_cuts_a_stream_at_every_chunk_size() {
        let mut stream = INVITE[..INVITE.len() - 1].to_vec();
        stream.extend_from_slice(b"\r\n\r\n");
        stream.extend_from_slice(&INVITE[..INVITE.len() - 1]);
        for n in [1, 2, 5, 64, stream.len()] {
            let got = frame(&stream, &[n], ParseOptions::lenient());
            let got: Vec<Bytes> = got.into_iter().map(|r| r.unwrap().to_bytes()).collect();
            assert_eq!(got, [&INVITE[..INVITE.len() - 1]; 2], "chunk size {n}");
        }
    }
}
