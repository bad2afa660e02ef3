//! Writing numbers and addresses into message text without `core::fmt`.
//!
//! Every message the endpoint writes carries a Content-Length and a CSeq number, and every
//! received request may get `received=`/`rport=` (RFC 3261 §18.2.1, RFC 3581 §4): the
//! formatting machinery costs more than the rest of such a row, so these helpers write the
//! digits directly (`itoa`) and IPv4 addresses octet by octet.

use std::net::{IpAddr, SocketAddr};

/// Appends the decimal form of `n`.
pub(crate) fn push_uint(out: &mut String, n: impl itoa::Integer) {
    out.push_str(itoa::Buffer::new().format(n));
}

/// Appends an IP address as it appears in a Via `received` parameter: dotted IPv4, or the
/// IPv6 text form without brackets (RFC 5118 §4.5 style `received=2001:db8::1`).
pub(crate) fn push_ip(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            // Digit by digit: no formatter, no scratch buffer to check as UTF-8.
            let digit = |d: u8| char::from(b'0' + d);
            for (i, o) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                if o >= 100 {
                    out.push(digit(o / 100));
                }
                if o >= 10 {
                    out.push(digit(o / 10 % 10));
                }
                out.push(digit(o % 10));
            }
        }
        IpAddr::V6(v6) => {
            use std::fmt::Write;
            let _ = write!(out, "{v6}");
        }
    }
}

/// Appends `host:port` the way `SocketAddr`'s `Display` does (IPv6 in brackets), without
/// the flow info or scope id.
pub(crate) fn push_socket_addr(out: &mut String, addr: SocketAddr) {
    match addr {
        SocketAddr::V4(_) => push_ip(out, addr.ip()),
        SocketAddr::V6(_) => {
            out.push('[');
            push_ip(out, addr.ip());
            out.push(']');
        }
    }
    out.push(':');
    push_uint(out, addr.port());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_addresses_match_display() {
        for n in [0u64, 7, 10, 99, 65_535, 4_294_967_295, u64::MAX] {
            let mut s = String::new();
            push_uint(&mut s, n);
            assert_eq!(s, n.to_string());
        }
        for a in [
            "0.0.0.0:0",
            "127.0.0.1:5060",
            "255.255.255.255:65535",
            "10.20.30.40:7",
            "1.10.100.199:1",
            "200.9.90.109:2",
            "[::1]:5060",
            "[2001:db8::17]:5061",
            "[::ffff:192.0.2.1]:5060",
        ] {
            let addr: SocketAddr = a.parse().expect("address");
            let mut s = String::new();
            push_socket_addr(&mut s, addr);
            assert_eq!(s, addr.to_string());
            assert_eq!(s, a);
            let mut ip = String::new();
            push_ip(&mut ip, addr.ip());
            assert_eq!(ip, addr.ip().to_string());
        }
    }
}
