//! The one-pass check of the usual Request-URI (RFC 3261 §25.1 `SIP-URI` without escapes,
//! password or headers), which lets the message checks skip building a [`Uri`] for it.

#[cfg(doc)]
use super::Uri;
use super::host::parse_ipv4;
use crate::message::escape::{
    ALNUM, CLASS, DOMAIN, NOT_IPV4, PARAM_UNRES, UNRESERVED, USER_UNRES, has,
};

/// The usual Request-URI, checked in one pass without building a [`Uri`]:
/// `sip:`/`sips:` (lower case), an optional user of unreserved and user-unreserved
/// characters and `@`, an IPv4 address or a host name, an optional port, and
/// `;name[=value]` parameters of unreserved and param-unreserved characters; no escapes, no
/// password, no `?headers`. `true` only for text [`Uri::parse`] accepts (the host rules
/// are its lenient ones); `false` says nothing (the caller parses the general way).
pub(crate) fn is_plain_sip_uri(s: &str) -> bool {
    let b = s.as_bytes();
    let rest = match b {
        [b's', b'i', b'p', b':', rest @ ..] => rest,
        [b's', b'i', b'p', b's', b':', rest @ ..] => rest,
        _ => return false,
    };
    // The end of the run of bytes in `mask` from `from`.
    let run = |from: usize, mask: u32| {
        from + rest
            .get(from..)
            .unwrap_or_default()
            .iter()
            .take_while(|&&c| has(c, mask))
            .count()
    };
    // userinfo: a run of user characters ended by `@`; anything else means no user.
    let user_end = run(0, UNRESERVED | USER_UNRES);
    let host_start = match rest.get(user_end) {
        Some(b'@') if user_end > 0 => user_end + 1,
        _ => 0,
    };
    let mut i = host_start;
    let mut seen = 0;
    for &c in rest.get(host_start..).unwrap_or_default() {
        let class = CLASS[usize::from(c)];
        if class & DOMAIN == 0 {
            break;
        }
        seen |= class;
        i += 1;
    }
    // As `parse_host_at` in lenient mode: digits and dots are an IPv4 address, anything
    // else a name with at least one letter or digit.
    let host_ok = i > host_start
        && if seen & NOT_IPV4 == 0 {
            parse_ipv4(&rest[host_start..i]).is_some()
        } else {
            seen & ALNUM != 0
        };
    if !host_ok {
        return false;
    }
    if rest.get(i) == Some(&b':') {
        match crate::message::scan::port_at(rest, i + 1) {
            Some((_, end)) => i = end,
            None => return false,
        }
    }
    let param = UNRESERVED | PARAM_UNRES;
    while rest.get(i) == Some(&b';') {
        let name_end = run(i + 1, param);
        if name_end == i + 1 {
            return false;
        }
        i = name_end;
        if rest.get(i) == Some(&b'=') {
            let value_end = run(i + 1, param);
            if value_end == i + 1 {
                return false;
            }
            i = value_end;
        }
    }
    i == rest.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::uri::Uri;

    /// The one-pass check accepts only what `Uri::parse` accepts, and
    /// takes the usual Request-URIs: compared on the URIs below and on 300,000 strings
    /// built from pieces that sit at the edges of each rule.
    #[test]
    fn plain_sip_uris_are_a_subset_of_the_grammar() {
        for u in [
            "sip:bob@biloxi.example.com",
            "sip:bob@192.0.2.2",
            "sips:alice@atlanta.example.com:5061;transport=tls",
            "sip:192.0.2.1:5060",
            "sip:+15551234567;phone-context=example.com@gw.example.com;user=phone",
            "sip:h.example.com.;lr",
        ] {
            assert!(is_plain_sip_uri(u), "{u}");
            assert!(Uri::parse(u).is_ok(), "{u}");
        }
        let pieces = [
            "sip:",
            "sips:",
            "SIP:",
            "bob",
            "b%41b",
            "@",
            "@@",
            ":",
            ":5060",
            ":65535",
            ":65536",
            ":0",
            ":",
            "192.0.2.1",
            "1.2.3",
            "256.1.1.1",
            "01.2.3.4",
            "h",
            "-h",
            "h-",
            "a.b",
            "a..b",
            "9a",
            "a9",
            ".",
            ";",
            ";lr",
            ";x=",
            "=",
            ";=y",
            ";transport=udp",
            "?a=b",
            "[2001:db8::1]",
            "&",
            "+",
            "é",
            " ",
            "pw",
            "/",
            "a-b.c-d",
            "com.",
            "%20",
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        let mut plain = 0;
        for _ in 0..300_000 {
            let mut u = String::from(if next(2) == 0 { "sip:" } else { "sips:" });
            for _ in 0..next(6) {
                u.push_str(pieces[next(pieces.len())]);
            }
            if is_plain_sip_uri(&u) {
                plain += 1;
                assert!(Uri::parse(&u).is_ok(), "Uri::parse refuses {u:?}");
            }
        }
        assert!(plain > 10_000, "only {plain} plain URIs generated");
    }
}
