//! The message model: what a generator decided, rendered to bytes on demand.
//!
//! A [`MessageSpec`] is a valid message (RFC 3261 §7, §25.1): a start line, header rows each
//! written with its own spelling of the name and blanks around the colon (§7.3.1), a body,
//! and the [`Expected`] values a parser must read from it. A [`Damaged`] message is a spec
//! with [`Damage`] applied after rendering, for inputs that are wrong on purpose.

use std::fmt;

use proptest::sample::Index;
use sip_core::message::HeaderName;

use crate::mutation::{Mutation, mutate};

/// Bytes as text, invalid UTF-8 replaced (for messages in failure reports).
pub fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// One header row: `name [before] ":" [after] value CRLF` (§7.3.1).
#[derive(Debug, Clone)]
pub struct Row {
    /// The name as written (any case, or a compact form).
    pub name: String,
    /// Blanks between the name and the colon.
    pub before: &'static str,
    /// Blanks between the colon and the value.
    pub after: &'static str,
    /// The value, folds included.
    pub value: String,
}

impl Row {
    /// Appends the row, CRLF included, to `out`.
    pub fn render(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.name.as_bytes());
        out.extend_from_slice(self.before.as_bytes());
        out.push(b':');
        out.extend_from_slice(self.after.as_bytes());
        out.extend_from_slice(self.value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }

    /// A row of the known header `canon`, its name spelt as `s` says.
    pub fn known(canon: &str, s: &Spelling, value: String) -> Row {
        Row {
            name: spell(canon, s.how, s.mask),
            before: s.before,
            after: s.after,
            value,
        }
    }
}

/// How a known header name is written, and the blanks around its colon (§7.3.1 HCOLON).
#[derive(Debug, Clone)]
pub struct Spelling {
    /// 0 canonical, 1 lower case, 2 upper case, 3 random case, 4 compact form (see [`spell`]).
    pub how: u8,
    /// The random case: bit `i % 64` set means character `i` in upper case.
    pub mask: u64,
    /// Blanks before the colon.
    pub before: &'static str,
    /// Blanks after the colon.
    pub after: &'static str,
}

/// Spells a known header name: canonical, lower case, upper case, random case, or its
/// compact form (random case) where it has one (§7.3.1, §7.3.3).
pub fn spell(canon: &str, how: u8, mask: u64) -> String {
    let random_case = |s: &str| -> String {
        s.chars()
            .enumerate()
            .map(|(i, c)| {
                if mask >> (i % 64) & 1 == 1 {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    };
    match how {
        0 => canon.to_owned(),
        1 => canon.to_ascii_lowercase(),
        2 => canon.to_ascii_uppercase(),
        3 => random_case(canon),
        _ => match HeaderName::lookup(canon).compact() {
            Some(c) => random_case(&c.to_string()),
            None => random_case(canon),
        },
    }
}

/// The parts of a `name-addr` or `addr-spec` (§20.10, §25.1); the tag is added when
/// rendering.
#[derive(Debug, Clone)]
pub struct Addr {
    /// A display name, quoted or not.
    pub display: Option<String>,
    /// Whether the URI is in `<>` when there is no display name.
    pub angle: bool,
    /// The URI used inside `<>` (it may carry uri-parameters).
    pub uri: String,
    /// The URI used as a bare addr-spec (no uri-parameters).
    pub bare: String,
    /// One more header parameter after the tag.
    pub other: Option<String>,
}

impl Addr {
    /// The header value, with `;tag=` when `tag` is given.
    pub fn render(&self, tag: Option<&str>) -> String {
        let mut p = String::new();
        if let Some(t) = tag {
            p.push_str(";tag=");
            p.push_str(t);
        }
        if let Some(o) = &self.other {
            p.push(';');
            p.push_str(o);
        }
        match &self.display {
            Some(d) => format!("{d} <{}>{p}", self.uri),
            None if self.angle => format!("<{}>{p}", self.uri),
            // An addr-spec without <> takes no URI parameters (§20.10).
            None => format!("{}{p}", self.bare),
        }
    }
}

/// What the start line must parse to.
#[derive(Debug, Clone, PartialEq)]
pub enum Start {
    /// A request line (§7.1).
    Request {
        /// The method as written.
        method: String,
        /// The Request-URI as written.
        uri: String,
    },
    /// A status line (§7.2).
    Response {
        /// The status code.
        code: u16,
        /// The reason phrase as written.
        reason: String,
    },
}

/// The typed values a generated message must parse to (the row count and the body are the
/// spec's own [`MessageSpec::rows`] and [`MessageSpec::body`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    /// The start line.
    pub start: Start,
    /// The top Via's branch.
    pub branch: String,
    /// The From tag.
    pub from_tag: String,
    /// The To tag, if any.
    pub to_tag: Option<String>,
    /// The Call-ID.
    pub call_id: String,
    /// The CSeq number and method.
    pub cseq: (u32, String),
    /// Max-Forwards, if present.
    pub max_forwards: Option<u8>,
}

/// A valid message: rendered by [`MessageSpec::to_bytes`], read back as [`Expected`].
#[derive(Clone)]
pub struct MessageSpec {
    /// The start line, CRLF included.
    pub start_line: String,
    /// The header rows in the order they are written.
    pub rows: Vec<Row>,
    /// The body (Content-Length among the rows gives its length).
    pub body: Vec<u8>,
    /// What a parser must read from the rendered message.
    pub expected: Expected,
}

impl MessageSpec {
    /// The message: start line, rows, blank line, body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = self.start_line.clone().into_bytes();
        for r in &self.rows {
            r.render(&mut bytes);
        }
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

impl fmt::Debug for MessageSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageSpec")
            .field("text", &show(&self.to_bytes()))
            .field("expected", &self.expected)
            .finish()
    }
}

/// Damage done on purpose to a rendered message.
#[derive(Debug, Clone)]
pub enum Damage {
    /// A byte-level mutation.
    Bytes(Mutation),
    /// The text after the first `:` of one line (never the start line) replaced by SIP-ish
    /// noise: a header value that is most likely wrong. The message is taken as UTF-8, invalid
    /// bytes replaced.
    NoisyLine(Index, String),
}

impl Damage {
    /// Applies the damage to `bytes`.
    pub fn apply(&self, bytes: Vec<u8>) -> Vec<u8> {
        match self {
            Damage::Bytes(m) => mutate(bytes, std::slice::from_ref(m)),
            Damage::NoisyLine(at, noise) => {
                let text = show(&bytes);
                let lines: Vec<&str> = text.split("\r\n").collect();
                let i = 1 + at.index(lines.len().saturating_sub(1).max(1));
                let mut out: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
                if let Some(l) = out.get_mut(i)
                    && let Some(c) = l.find(':')
                {
                    l.replace_range(c + 1.., noise);
                }
                out.join("\r\n").into_bytes()
            }
        }
    }
}

/// A valid message with damage applied in order; with no damage it is the valid message.
#[derive(Debug, Clone)]
pub struct Damaged {
    /// The message before the damage.
    pub spec: MessageSpec,
    /// What is done to it, in order.
    pub damage: Vec<Damage>,
}

impl Damaged {
    /// The damaged message.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.damage
            .iter()
            .fold(self.spec.to_bytes(), |b, d| d.apply(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> MessageSpec {
        let plain = Spelling {
            how: 0,
            mask: 0,
            before: "",
            after: " ",
        };
        MessageSpec {
            start_line: "OPTIONS sip:b@example.com SIP/2.0\r\n".to_owned(),
            rows: vec![
                Row::known("Call-ID", &plain, "c1".to_owned()),
                Row::known(
                    "Content-Length",
                    &Spelling {
                        how: 4,
                        mask: u64::MAX,
                        before: " ",
                        after: "",
                    },
                    "2".to_owned(),
                ),
            ],
            body: b"hi".to_vec(),
            expected: Expected {
                start: Start::Request {
                    method: "OPTIONS".to_owned(),
                    uri: "sip:b@example.com".to_owned(),
                },
                branch: String::new(),
                from_tag: String::new(),
                to_tag: None,
                call_id: "c1".to_owned(),
                cseq: (1, "OPTIONS".to_owned()),
                max_forwards: None,
            },
        }
    }

    #[test]
    fn a_spec_renders_its_rows_as_spelt() {
        assert_eq!(
            show(&options().to_bytes()),
            "OPTIONS sip:b@example.com SIP/2.0\r\nCall-ID: c1\r\nL :2\r\n\r\nhi"
        );
        assert_eq!(spell("Call-ID", 1, 0), "call-id");
        assert_eq!(spell("Call-ID", 2, 0), "CALL-ID");
        assert_eq!(spell("Call-ID", 3, 0b101), "CaLl-id");
        assert_eq!(spell("Call-ID", 4, 0), "i");
        assert_eq!(spell("X-Other", 4, 1), "X-other");
    }

    #[test]
    fn damage_applies_in_order() {
        let undamaged = Damaged {
            spec: options(),
            damage: vec![],
        };
        assert_eq!(undamaged.to_bytes(), options().to_bytes());
        let first = crate::mutation::tests::index(0);
        let noisy = Damaged {
            spec: options(),
            damage: vec![Damage::NoisyLine(first, "<x".to_owned())],
        };
        assert_eq!(
            show(&noisy.to_bytes()),
            "OPTIONS sip:b@example.com SIP/2.0\r\nCall-ID:<x\r\nL :2\r\n\r\nhi"
        );
    }
}
