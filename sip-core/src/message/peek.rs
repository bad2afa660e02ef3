//! A look at one header of a message without parsing it: the Call-ID, for a driver that
//! spreads messages over several endpoints by call (every message of a call must reach the
//! endpoint that holds its dialog and transactions).

use super::HeaderName;

/// The Call-ID of a message (`Call-ID` or its compact form `i`, any letter case, RFC 3261
/// §7.3.3, §20.8), found by the parser's own name recognition without parsing the message:
/// the value of the first such header before the blank line that ends the head, even when
/// it was folded onto a continuation line (§7.3.1). `None` if the head has none, or ends
/// before one is found. Reads at most up to the end of the head.
///
/// ```
/// use sip_core::message::peek_call_id;
/// let m = b"BYE sip:a@b SIP/2.0\r\nVia: x\r\ncall-id:  abc@host \r\n\r\n";
/// assert_eq!(peek_call_id(m), Some(&b"abc@host"[..]));
/// assert_eq!(peek_call_id(b"INVITE sip:a@b SIP/2.0\r\ni:xyz\r\n\r\n"), Some(&b"xyz"[..]));
/// assert_eq!(peek_call_id(b"INVITE sip:a@b SIP/2.0\r\nCall-ID:\r\n  folded\r\n\r\n"), Some(&b"folded"[..]));
/// assert_eq!(peek_call_id(b"INVITE sip:a@b SIP/2.0\r\n\r\ni: body\r\n"), None);
/// ```
pub fn peek_call_id(msg: &[u8]) -> Option<&[u8]> {
    let mut at = memchr::memchr(b'\n', msg)? + 1;
    loop {
        let line_end = memchr::memchr(b'\n', msg.get(at..)?).map_or(msg.len(), |i| at + i);
        let line = trim_cr(msg.get(at..line_end)?);
        if line.is_empty() {
            return None; // the blank line: the head is over
        }
        let colon = memchr::memchr(b':', line);
        let is_call_id = colon.is_some_and(|c| {
            let name = line.get(..c).map_or(&[][..], <[u8]>::trim_ascii);
            !name.is_empty()
                && name.iter().all(|&b| super::scan::is_token(b))
                && HeaderName::lookup_bytes(name) == HeaderName::CallId
        });
        if let (true, Some(c)) = (is_call_id, colon) {
            let value = line.get(c + 1..)?.trim_ascii();
            if !value.is_empty() {
                return Some(first_word(value));
            }
            // Folded: the value is on the continuation lines (§7.3.1).
            let mut next = line_end + 1;
            while let Some(rest) = msg.get(next..) {
                if !matches!(rest.first(), Some(b' ' | b'\t')) {
                    return None;
                }
                let end = memchr::memchr(b'\n', rest).map_or(msg.len(), |i| next + i);
                let v = trim_cr(msg.get(next..end)?).trim_ascii();
                if !v.is_empty() {
                    return Some(first_word(v));
                }
                next = end + 1;
            }
            return None;
        }
        at = line_end + 1;
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// A Call-ID holds no whitespace (`word ["@" word]`, §25.1): what precedes the first blank.
fn first_word(v: &[u8]) -> &[u8] {
    let end = v
        .iter()
        .position(|b| b.is_ascii_whitespace())
        .unwrap_or(v.len());
    v.get(..end).unwrap_or(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{ParseOptions, parse_unchecked};
    use proptest::prelude::*;

    #[test]
    fn call_id_forms() {
        assert_eq!(
            peek_call_id(b"SIP/2.0 200 OK\r\nCALL-ID: q\r\n\r\n"),
            Some(&b"q"[..])
        );
        assert_eq!(
            peek_call_id(b"SIP/2.0 200 OK\nI :  q  \n\n"),
            Some(&b"q"[..])
        );
        assert_eq!(peek_call_id(b"SIP/2.0 200 OK\r\nVia: i: x\r\n\r\n"), None);
        assert_eq!(peek_call_id(b"SIP/2.0 200 OK\r\nCall-Info: x\r\n"), None);
        assert_eq!(peek_call_id(b"no newline at all"), None);
        assert_eq!(peek_call_id(b""), None);
        assert_eq!(peek_call_id(b"X\r\nCall-ID:\r\n\r\n"), None);
        assert_eq!(
            peek_call_id(b"X\r\nCall-ID:\r\n \r\n\tz\r\n\r\n"),
            Some(&b"z"[..])
        );
    }

    proptest! {
        /// Whatever the head holds, the peek agrees with the parser on messages it accepts.
        #[test]
        fn agrees_with_the_parser(
            name in prop::sample::select(vec!["Call-ID", "call-id", "i", "I", "CALL-id"]),
            id in "[a-zA-Z0-9.!%*_+`'~()<>:\\\\\"/\\[\\]?{}-]{1,20}(@[a-z0-9.]{1,10})?",
            fold in any::<bool>(),
            before in prop::collection::vec(("X-[a-z]{1,5}", "[a-z ]{0,10}"), 0..4),
        ) {
            let mut m = String::from("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n");
            for (n, v) in &before {
                m.push_str(&format!("{n}: {v}\r\n"));
            }
            let sep = if fold { ":\r\n  " } else { ": " };
            m.push_str(&format!("{name}{sep}{id}\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"));
            let peeked = peek_call_id(m.as_bytes()).map(|b| String::from_utf8_lossy(b).into_owned());
            if let Ok(msg) = parse_unchecked(bytes::Bytes::from(m), &ParseOptions::default()) {
                prop_assert_eq!(peeked.as_deref(), msg.message().call_id());
            }
        }
    }
}
