//! The Via header (RFC 3261 §20.42, §18.2.1; RFC 3581 `rport`).

use super::params::{Params, scan_params_at};
use crate::message::scan::{Caseless, HOST, TOKEN, run, skip_lws};
use crate::message::span::Span;
use crate::transport::Transport;

/// Decoded positions of one via-parm, relative to the text it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct ViaData {
    pub whole: Span,
    pub protocol: Span,
    pub version: Span,
    pub transport: Span,
    pub host: Span,
    pub port: Option<u16>,
    pub params: Span,
    pub branch: Option<Span>,
    pub received: Option<Span>,
    pub maddr: Option<Span>,
    pub rport: Option<Option<u16>>,
    /// Where the name of the first `rport` parameter starts (0 without one): the server
    /// transport writes the port after it (RFC 3581 §4).
    pub rport_at: u32,
    pub ttl: Option<u8>,
}

/// One Via entry (`SIP/2.0/UDP host:port;branch=...`), borrowed from the message.
#[derive(Debug, Clone, Copy)]
pub struct Via<'a> {
    text: &'a str,
    d: ViaData,
}

impl<'a> Via<'a> {
    pub(crate) fn from_data(text: &'a str, d: ViaData) -> Self {
        Via { text, d }
    }

    /// Parses a single via-parm, e.g. `SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds`.
    ///
    /// ```
    /// use sip_core::message::Via;
    /// let v = Via::parse("SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bKx;rport").unwrap();
    /// assert_eq!(v.host(), "[2001:db8::1]");
    /// assert_eq!(v.port(), Some(5061));
    /// assert_eq!(v.rport(), Some(None));
    /// ```
    pub fn parse(s: &'a str) -> Result<Via<'a>, &'static str> {
        let (d, next) = parse_via(s, 0, s.len())?;
        if next != s.len() {
            return Err("more than one via-parm");
        }
        Ok(Via { text: s, d })
    }

    /// The whole via-parm as received.
    pub fn as_str(&self) -> &'a str {
        self.d.whole.get(self.text)
    }
    /// Protocol name, normally `SIP`.
    pub fn protocol(&self) -> &'a str {
        self.d.protocol.get(self.text)
    }
    /// Protocol version, normally `2.0`.
    pub fn version(&self) -> &'a str {
        self.d.version.get(self.text)
    }
    /// The transport token as written (`UDP`, `tcp`, `SCTP`, or an extension).
    pub fn transport_str(&self) -> &'a str {
        self.d.transport.get(self.text)
    }
    /// The transport, if it is one the stack knows (RFC 4475 §3.1.1.10 allows others).
    pub fn transport(&self) -> Option<Transport> {
        Transport::from_via_token(self.transport_str())
    }
    /// sent-by host (a bracketed IPv6 reference keeps its brackets).
    pub fn host(&self) -> &'a str {
        self.d.host.get(self.text)
    }
    /// sent-by port, if given.
    pub fn port(&self) -> Option<u16> {
        self.d.port
    }
    /// The raw parameter list, starting at the first `;` (empty if none).
    pub fn params_raw(&self) -> &'a str {
        self.d.params.get(self.text)
    }
    /// Iterates over all parameters.
    pub fn params(&self) -> Params<'a> {
        Params::new(self.params_raw())
    }
    /// Looks a parameter up (see [`Params::get`]).
    pub fn param(&self, name: &str) -> Option<Option<&'a str>> {
        self.params().get(name)
    }
    /// The branch parameter (§8.1.1.7).
    pub fn branch(&self) -> Option<&'a str> {
        self.d.branch.map(|s| s.get(self.text))
    }
    /// Whether the branch carries the RFC 3261 magic cookie `z9hG4bK` followed by an
    /// identifier (§17.2.3); requests without it — or with the bare cookie, RFC 4475 §3.2.1 —
    /// are matched by the RFC 2543 rules.
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch()
            .is_some_and(|b| b.len() > 7 && b.starts_with("z9hG4bK"))
    }
    /// The `received` parameter (§18.2.1).
    pub fn received(&self) -> Option<&'a str> {
        self.d.received.map(|s| s.get(self.text))
    }
    /// The `maddr` parameter.
    pub fn maddr(&self) -> Option<&'a str> {
        self.d.maddr.map(|s| s.get(self.text))
    }
    /// The `rport` parameter (RFC 3581): `Some(None)` when present without a value (the
    /// client asks for it), `Some(Some(port))` when filled in by the server.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.d.rport
    }
    /// The `ttl` parameter.
    pub fn ttl(&self) -> Option<u8> {
        self.d.ttl
    }
}

/// Parses one via-parm of `s[start..end]`, returning it and the index where the next one
/// starts (past a top-level comma) or `end`.
/// (Unbracketed IPv6 sent-by hosts are taken, as in lenient mode.)
pub(crate) fn parse_via(
    s: &str,
    start: usize,
    end: usize,
) -> Result<(ViaData, usize), &'static str> {
    parse_via_bytes(s.as_bytes(), start, end, false).map_err(|(_, reason)| reason)
}

/// [`parse_via`] on the bytes of the text (the parser decodes rows before it has checked
/// that the header section is UTF-8; a section that is not is rejected anyway). The error
/// comes with the index of the byte at fault. Not `strict`, a sent-by host may be an IPv6
/// address without brackets where that is unambiguous (`Mode::Lenient`).
///
/// [`Mode::Lenient`]: crate::message::Mode::Lenient
pub(crate) fn parse_via_bytes(
    s: &[u8],
    start: usize,
    end: usize,
    strict: bool,
) -> Result<(ViaData, usize), (usize, &'static str)> {
    let b = s.get(..end).ok_or((start, "out of range"))?;
    let mut d = ViaData::default();
    let mut i = skip_lws(b, start);
    let elem_start = i;
    let field = |i: &mut usize| -> Result<Span, (usize, &'static str)> {
        let st = *i;
        *i = run(b, st, &TOKEN);
        if *i == st {
            return Err((st, "expected a token in sent-protocol"));
        }
        Ok(Span::new(st, *i))
    };
    if is_sip_2_0(b, i) {
        // `SIP/2.0/` as one word: the fields and slashes below would find the same.
        d.protocol = Span::new(i, i + 3);
        d.version = Span::new(i + 4, i + 7);
        i = skip_lws(b, i + 8);
    } else {
        d.protocol = field(&mut i)?;
        i = expect_slash(b, i)?;
        d.version = field(&mut i)?;
        i = expect_slash(b, i)?;
    }
    if let Some(&[x, y, z, sp]) = b.get(i..i + 4)
        && is_transport_sp(u32::from_le_bytes([x, y, z, sp]))
    {
        // A three-letter transport and a space: the token run below would stop there.
        d.transport = Span::new(i, i + 3);
        i += 3;
    } else {
        d.transport = field(&mut i)?;
    }
    let before_host = i;
    i = skip_lws(b, i);
    if i == before_host {
        return Err((i, "expected whitespace before sent-by"));
    }
    // sent-by = host [ COLON port ]
    let host_start = i;
    if b.get(i) == Some(&b'[') {
        while i < b.len() && b[i] != b']' {
            if !(b[i].is_ascii_hexdigit() || matches!(b[i], b':' | b'.' | b'[')) {
                return Err((i, "malformed IPv6 reference in sent-by"));
            }
            i += 1;
        }
        if i >= b.len() {
            return Err((host_start, "unterminated IPv6 reference in sent-by"));
        }
        i += 1;
    } else if let Some(e) = (!strict)
        .then(|| crate::message::uri::unbracketed_ipv6_end(b, i))
        .flatten()
    {
        // Lenient: `fec0:0:0:0:216:d3ff:fe0d:22c:5060` is eight groups and a port.
        i = e;
    } else {
        i = run(b, i, &HOST);
    }
    if i == host_start {
        return Err((i, "missing sent-by host"));
    }
    d.host = Span::new(host_start, i);
    let j = skip_lws(b, i);
    if b.get(j) == Some(&b':') {
        let ps = skip_lws(b, j + 1);
        let (port, pe) =
            crate::message::scan::port_at(b, ps).ok_or((ps, "invalid sent-by port"))?;
        d.port = Some(port);
        i = pe;
    }
    let params_start = skip_lws(b, i);
    let mut known: [Option<(usize, Option<std::ops::Range<usize>>)>; 5] =
        [None, None, None, None, None];
    let params_end = scan_params_at(b, params_start, |n, v| {
        if let Some(slot) = known_slot(&b[n.clone()])
            && known[slot].is_none()
        {
            known[slot] = Some((n.start, v));
        }
    })?;
    d.params = Span::new(params_start, params_end);
    let mut last = params_end;
    while last > params_start && matches!(b[last - 1], b' ' | b'\t' | b'\r' | b'\n') {
        last -= 1;
    }
    d.whole = Span::new(elem_start, last.max(i));
    d.params = Span::new(params_start, last.max(params_start));
    decode_known(s, &known, &mut d)?;
    let next = match b.get(params_end) {
        Some(b',') => params_end + 1,
        _ => params_end,
    };
    if next < end && skip_lws(b, next) >= end {
        return Err((next, "empty via-parm after comma"));
    }
    Ok((d, next))
}

/// The slot of a parameter [`decode_known`] reads: branch, received, maddr, rport, ttl.
#[inline(always)]
pub(crate) fn known_slot(name: &[u8]) -> Option<usize> {
    // The names are letters only: one word compare per name, in either case.
    const BRANCH: Caseless = Caseless::new(b"branch");
    const RECEIVED: Caseless = Caseless::new(b"received");
    const MADDR: Caseless = Caseless::new(b"maddr");
    const RPORT: Caseless = Caseless::new(b"rport");
    const TTL: Caseless = Caseless::new(b"ttl");
    let word = |n: &[u8]| {
        let mut w = [0u8; 8];
        w[..n.len()].copy_from_slice(n);
        u64::from_le_bytes(w)
    };
    match name.len() {
        6 if BRANCH.matches(word(name)) => Some(0),
        8 if RECEIVED.matches(word(name)) => Some(1),
        5 => match word(name) {
            w if MADDR.matches(w) => Some(2),
            w if RPORT.matches(w) => Some(3),
            _ => None,
        },
        3 if TTL.matches(word(name)) => Some(4),
        _ => None,
    }
}

/// Whether the four bytes `w` (a little-endian word) are `UDP`, `TCP` or `TLS` in either
/// case and a SP.
#[inline(always)]
pub(crate) fn is_transport_sp(w: u32) -> bool {
    const UDP: Caseless = Caseless::new(b"udp ");
    const TCP: Caseless = Caseless::new(b"tcp ");
    const TLS: Caseless = Caseless::new(b"tls ");
    UDP.matches4(w) || TCP.matches4(w) || TLS.matches4(w)
}

/// Whether `b[i..]` starts with `SIP/2.0/` (the letters in either case).
#[inline]
pub(crate) fn is_sip_2_0(b: &[u8], i: usize) -> bool {
    const SIP_2_0: Caseless = Caseless::new(b"SIP/2.0/");
    SIP_2_0.matches_at(b, i)
}

fn expect_slash(b: &[u8], i: usize) -> Result<usize, (usize, &'static str)> {
    let i = skip_lws(b, i);
    if b.get(i) != Some(&b'/') {
        return Err((i, "expected '/' in sent-protocol"));
    }
    Ok(skip_lws(b, i + 1))
}

/// Fills in branch, received, maddr, rport and ttl from the positions found while scanning.
/// The error comes with the index of the parameter at fault (its name, or its bad value).
#[allow(clippy::type_complexity)]
pub(crate) fn decode_known(
    s: &[u8],
    known: &[Option<(usize, Option<std::ops::Range<usize>>)>; 5],
    d: &mut ViaData,
) -> Result<(), (usize, &'static str)> {
    let number = |r: &std::ops::Range<usize>| parse_u16(s.get(r.clone()).unwrap_or_default());
    let value = |at: usize, v: &Option<std::ops::Range<usize>>, why| {
        v.clone()
            .map(|r| Span::new(r.start, r.end))
            .ok_or((at, why))
    };
    if let Some((at, v)) = &known[0] {
        d.branch = Some(value(*at, v, "branch without value")?);
    }
    if let Some((at, v)) = &known[1] {
        d.received = Some(value(*at, v, "received without value")?);
    }
    if let Some((at, v)) = &known[2] {
        d.maddr = Some(value(*at, v, "maddr without value")?);
    }
    if let Some((at, v)) = &known[3] {
        d.rport_at = *at as u32;
        d.rport = Some(match v {
            None => None,
            Some(r) => Some(number(r).ok_or((r.start, "invalid rport"))?),
        });
    }
    if let Some((at, v)) = &known[4] {
        let v = v.as_ref().ok_or((*at, "ttl without value"))?;
        let ttl = number(v).and_then(|n| u8::try_from(n).ok());
        d.ttl = Some(ttl.ok_or((v.start, "invalid ttl"))?);
    }
    Ok(())
}

/// What `str::parse::<u16>` gives for these bytes (an optional `+`, then one or more
/// digits, no overflow), without the UTF-8 check: a port or ttl parameter value.
fn parse_u16(t: &[u8]) -> Option<u16> {
    let digits = t.strip_prefix(b"+").unwrap_or(t);
    match crate::message::scan::port_at(digits, 0)? {
        (n, end) if end == digits.len() => Some(n),
        _ => None,
    }
}

/// Iterates over every via-parm in a Via header value (comma-separated list).
pub(crate) fn parse_via_list(s: &str, start: usize, end: usize) -> ViaList<'_> {
    ViaList {
        s,
        pos: start,
        end,
        failed: false,
    }
}

/// Iterator over the via-parms of one or more Via header values.
#[derive(Debug, Clone)]
pub(crate) struct ViaList<'a> {
    s: &'a str,
    pos: usize,
    end: usize,
    failed: bool,
}

impl<'a> Iterator for ViaList<'a> {
    type Item = Result<Via<'a>, &'static str>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.end {
            return None;
        }
        match parse_via(self.s, self.pos, self.end) {
            Ok((d, next)) => {
                self.pos = next;
                Some(Ok(Via::from_data(self.s, d)))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_protocol_in_any_case_and_spacing() {
        for (text, proto, version, transport) in [
            ("sip/2.0/udp h", "sip", "2.0", "udp"),
            ("SIP/2.0/TCP h", "SIP", "2.0", "TCP"),
            ("SIP / 2.0 / TLS h", "SIP", "2.0", "TLS"),
            ("SIP/2.0/ SCTP h", "SIP", "2.0", "SCTP"),
            ("SIP/3.0/UDP h", "SIP", "3.0", "UDP"),
            ("SIPX/2.0/UDP h", "SIPX", "2.0", "UDP"),
            ("SIP/2.0/uDp h", "SIP", "2.0", "uDp"),
            ("SIP/2.0/TLS\th", "SIP", "2.0", "TLS"),
            ("SIP/2.0/UDPX h", "SIP", "2.0", "UDPX"),
            ("SIP/2.0/WSS h", "SIP", "2.0", "WSS"),
        ] {
            let v = Via::parse(text).unwrap();
            assert_eq!(
                (v.protocol(), v.version(), v.transport_str(), v.host()),
                (proto, version, transport, "h"),
                "{text}"
            );
        }
        assert!(Via::parse("SIP/2.0/").is_err());
        assert!(Via::parse("SIP/2.0/UDP").is_err());
        assert_eq!(
            Via::parse("SIP/2.0/UDP h:05060").unwrap().port(),
            Some(5060)
        );
        assert!(Via::parse("SIP/2.0/UDP h:65536").is_err());
    }

    #[test]
    fn parses_typical_via() {
        let v = Via::parse("SIP/2.0/UDP pc33.atlanta.com:5066;branch=z9hG4bK776asdhds;received=192.0.2.1;ttl=16;maddr=224.2.0.1;x=y").unwrap();
        assert_eq!(
            (v.protocol(), v.version(), v.transport_str()),
            ("SIP", "2.0", "UDP")
        );
        assert_eq!(v.transport(), Some(Transport::Udp));
        assert_eq!((v.host(), v.port()), ("pc33.atlanta.com", Some(5066)));
        assert_eq!(v.branch(), Some("z9hG4bK776asdhds"));
        assert!(v.has_rfc3261_branch());
        assert_eq!(v.received(), Some("192.0.2.1"));
        assert_eq!(v.ttl(), Some(16));
        assert_eq!(v.maddr(), Some("224.2.0.1"));
        assert_eq!(v.rport(), None);
        assert_eq!(v.param("x"), Some(Some("y")));
    }

    #[test]
    fn parse_u16_is_str_parse() {
        for t in [
            "",
            "+",
            "0",
            "+0",
            "00065535",
            "65535",
            "65536",
            "+65535",
            "-1",
            "1a",
            "99999999999",
            "５",
            "12 ",
            "++1",
        ] {
            assert_eq!(parse_u16(t.as_bytes()), t.parse::<u16>().ok(), "{t:?}");
        }
    }

    #[test]
    fn whitespace_folding_and_rport_forms() {
        let s = "SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw";
        let v = Via::parse(s).unwrap();
        assert_eq!(
            (v.transport_str(), v.host(), v.branch()),
            ("UDP", "192.0.2.2", Some("390skdjuw"))
        );
        assert!(!v.has_rfc3261_branch());
        let v = Via::parse("SIP/2.0/UDP h;rport=5070").unwrap();
        assert_eq!(v.rport(), Some(Some(5070)));
        let v = Via::parse("SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKa").unwrap();
        assert_eq!((v.transport(), v.transport_str()), (None, "UNKNOWN"));
    }

    #[test]
    fn list_of_vias() {
        let s = "SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8  ,\r\n SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239";
        let v: Vec<_> = parse_via_list(s, 0, s.len())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].branch(), Some("z9hG4bK9ikj8"));
        assert_eq!(v[0].host(), "spindle.example.com");
        assert_eq!(v[1].branch(), Some("z9hG4bK30239"));
        assert_eq!(v[1].transport(), Some(Transport::Udp));
    }

    #[test]
    fn sent_by_port_limits() {
        let port = |v: &str| Via::parse(v).map(|v| v.port());
        assert_eq!(port("SIP/2.0/UDP h:65535"), Ok(Some(65535)));
        assert_eq!(port("SIP/2.0/UDP h:0"), Ok(Some(0)));
        assert_eq!(
            port("SIP/2.0/UDP h : 00000000000000000000005060"),
            Ok(Some(5060))
        );
        assert_eq!(port("SIP/2.0/UDP h"), Ok(None));
        for bad in [
            "SIP/2.0/UDP h:65536",
            "SIP/2.0/UDP h:",
            "SIP/2.0/UDP h:;branch=z9hG4bK1",
            "SIP/2.0/UDP h:99999999999999999999999",
        ] {
            assert_eq!(port(bad).err(), Some("invalid sent-by port"), "{bad}");
        }
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "SIP/2.0/UDP 192.0.2.15;;,;,,",
            "SIP/2.0 host",
            "SIP/2.0/UDP",
            "SIP/2.0/UDP host:99999",
            "SIP/2.0/UDP host;rport=x",
            "SIP/2.0/UDP host;ttl=300",
            "SIP/2.0/UDP [::1",
            "SIP/2.0/UDP host, ",
        ] {
            assert!(Via::parse(bad).is_err(), "{bad}");
            let n = parse_via_list(bad, 0, bad.len())
                .filter(Result::is_err)
                .count();
            assert_eq!(n, 1, "{bad}");
        }
    }
}
