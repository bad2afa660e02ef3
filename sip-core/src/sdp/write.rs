//! Serialisation: the source text while unedited, else the fields in RFC 8866 §5 order with
//! CRLF line ends (uninterpreted lines at their type's place, in their order).

use std::fmt;

use super::{
    Attribute, Bandwidth, Connection, MediaDescription, OtherLine, Session, SessionDescription,
};
use crate::text::push_uint;

impl SessionDescription {
    /// Appends the description to `out`.
    pub fn write(&self, out: &mut String) {
        match &self.source {
            Some(s) => out.push_str(s),
            None => self.session.write(out),
        }
    }

    /// The description as bytes (a body).
    pub fn to_bytes(&self) -> bytes::Bytes {
        let mut s = String::with_capacity(256);
        self.write(&mut s);
        bytes::Bytes::from(s)
    }
}

impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(s) => f.write_str(s),
            None => {
                let mut s = String::with_capacity(256);
                self.session.write(&mut s);
                f.write_str(&s)
            }
        }
    }
}

fn line(out: &mut String, kind: &str, parts: &[&str]) {
    out.push_str(kind);
    for p in parts {
        out.push_str(p);
    }
    out.push_str("\r\n");
}

fn others(out: &mut String, other: &[OtherLine], kinds: &[u8], known: bool) {
    for o in other {
        let listed = kinds.contains(&o.kind);
        if listed == known {
            out.push(char::from(o.kind));
            out.push('=');
            out.push_str(&o.value);
            out.push_str("\r\n");
        }
    }
}

fn connection(out: &mut String, c: &Option<Connection>) {
    if let Some(c) = c {
        line(
            out,
            "c=",
            &[&c.net_type, " ", &c.addr_type, " ", &c.address],
        );
    }
}

fn bandwidths(out: &mut String, bs: &[Bandwidth]) {
    for b in bs {
        out.push_str("b=");
        out.push_str(&b.kind);
        out.push(':');
        push_uint(out, b.value);
        out.push_str("\r\n");
    }
}

fn attributes(out: &mut String, attrs: &[Attribute]) {
    for a in attrs {
        out.push_str("a=");
        out.push_str(&a.name);
        if let Some(v) = &a.value {
            out.push(':');
            out.push_str(v);
        }
        out.push_str("\r\n");
    }
}

/// Session-level letters RFC 8866 §5 defines, in its order.
const SESSION_TEXT: &[u8] = b"iuep";
const SESSION_TIME: &[u8] = b"rz";
const KEY: &[u8] = b"k";
const SESSION_KNOWN: &[u8] = b"iueprzkc";

impl Session {
    /// Appends the fields as text (CRLF line ends, RFC 8866 §5 order).
    pub fn write(&self, out: &mut String) {
        out.push_str("v=");
        push_uint(out, self.version);
        out.push_str("\r\n");
        let o = &self.origin;
        out.push_str("o=");
        for p in [&o.username, " ", &o.session_id, " "] {
            out.push_str(p);
        }
        push_uint(out, o.session_version);
        line(out, " ", &[&o.net_type, " ", &o.addr_type, " ", &o.address]);
        line(out, "s=", &[&self.session_name]);
        others(out, &self.other, SESSION_TEXT, true);
        connection(out, &self.connection);
        bandwidths(out, &self.bandwidths);
        for t in &self.timing {
            out.push_str("t=");
            push_uint(out, t.start);
            out.push(' ');
            push_uint(out, t.stop);
            out.push_str("\r\n");
        }
        others(out, &self.other, SESSION_TIME, true);
        others(out, &self.other, KEY, true);
        // A repeated c= and letters §5 does not define, before the attributes.
        others(out, &self.other, SESSION_KNOWN, false);
        others(out, &self.other, b"c", true);
        attributes(out, &self.attributes);
        for m in &self.media {
            m.write(out);
        }
    }
}

impl MediaDescription {
    /// Appends the section as text.
    pub fn write(&self, out: &mut String) {
        out.push_str("m=");
        out.push_str(&self.media);
        out.push(' ');
        push_uint(out, self.port);
        if let Some(c) = self.port_count {
            out.push('/');
            push_uint(out, c);
        }
        out.push(' ');
        out.push_str(&self.protocol);
        for f in &self.formats {
            out.push(' ');
            out.push_str(f);
        }
        out.push_str("\r\n");
        others(out, &self.other, b"i", true);
        connection(out, &self.connection);
        bandwidths(out, &self.bandwidths);
        others(out, &self.other, b"k", true);
        others(out, &self.other, b"ik", false);
        attributes(out, &self.attributes);
    }
}
