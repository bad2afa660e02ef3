//! Every entry point over a parsed message: each accessor and each edit, with only "no
//! panic" asked of them, and the stream framer (RFC 3261 §18.3) fed in chunks.

use bytes::Bytes;
use sip_core::message::{
    ContactValue, NameAddr, ParseError, ParseOptions, SipMessage, StreamFramer, Via, uri::Uri,
};

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

/// The framer's results up to and including the first error (after an error the framer
/// drops its buffer, so what follows depends on how much had arrived).
pub fn outcomes(rs: &[Result<SipMessage, ParseError>]) -> Vec<Result<Bytes, ParseError>> {
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

/// Feeds `bytes` to a framer in chunks of the given sizes (cycled) and collects what comes
/// out; with `touch_all`, every accessor of every message is called.
pub fn frame(
    bytes: &[u8],
    chunks: &[usize],
    opts: ParseOptions,
    touch_all: bool,
) -> (Vec<Result<SipMessage, ParseError>>, StreamFramer) {
    let mut f = StreamFramer::new(opts);
    let mut out = Vec::new();
    let mut pos = 0;
    let mut i = 0;
    while pos < bytes.len() {
        let n = chunks
            .get(i % chunks.len().max(1))
            .copied()
            .unwrap_or(1)
            .clamp(1, bytes.len() - pos);
        f.push(&bytes[pos..pos + n]);
        pos += n;
        i += 1;
        let mut guard = 0;
        while let Some(r) = f.next_message() {
            if let (Ok(m), true) = (&r, touch_all) {
                touch(m);
            }
            out.push(r);
            guard += 1;
            assert!(guard <= bytes.len() + 1, "framer yields without consuming");
        }
    }
    (out, f)
}
