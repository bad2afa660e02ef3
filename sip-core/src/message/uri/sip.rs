//! SIP and SIPS URIs (RFC 3261 §19.1): [`SipUri`], its parser (§25.1 `SIP-URI`, `SIPS-URI`,
//! with the lenient deviations listed in the [module documentation](super)), its accessors
//! (§19.1.1, §19.1.2) and its builders, which escape what they write (§19.1.2). Comparison
//! (§19.1.4) is in `compare.rs`.

use std::borrow::Cow;
use std::fmt;

#[cfg(doc)]
use super::Uri;
use super::host::{Host, parse_host_at, parse_port_at};
use super::params::{Headers, Params, find_param, name_is};
use super::{
    Kind, Mode, UriError, UriErrorKind, classify_scheme, err, scan, slice, split_scheme,
    to_owned_cow,
};
use crate::message::escape::{
    self, AT, EQ, HNV_UNRES, LENIENT_EXTRA, PARAM_UNRES, PASS_EXTRA, SEMI_COMMA, UNRESERVED,
    USER_UNRES,
};
use crate::transport::Transport;

/// A SIP or SIPS URI (RFC 3261 §19.1), borrowing its components from the parsed text.
///
/// `user`, `password`, parameters and headers are kept as written, escapes included;
/// accessors ending in `_unescaped` decode them.
#[derive(Debug, Clone)]
pub struct SipUri<'a> {
    pub(super) scheme: Cow<'a, str>,
    pub(super) secure: bool,
    pub(super) user: Option<Cow<'a, str>>,
    pub(super) password: Option<Cow<'a, str>>,
    pub(super) host: Host<'a>,
    pub(super) port: Option<u16>,
    /// `host [ ":" port ]` as written.
    pub(super) hostport: Cow<'a, str>,
    /// Raw parameters, each starting with `;`.
    pub(super) params: Cow<'a, str>,
    /// Raw headers after `?`, without the `?`; empty when there are none.
    pub(super) headers: Cow<'a, str>,
}

impl<'a> SipUri<'a> {
    /// Parses a `sip:` or `sips:` URI leniently (see [`Uri::parse`]).
    pub fn parse(s: &'a str) -> Result<SipUri<'a>, UriError> {
        Self::parse_mode(s, Mode::Lenient)
    }

    /// Parses a `sip:` or `sips:` URI strictly (see [`Uri::parse_strict`]).
    pub fn parse_strict(s: &'a str) -> Result<SipUri<'a>, UriError> {
        Self::parse_mode(s, Mode::Strict)
    }

    fn parse_mode(s: &'a str, mode: Mode) -> Result<SipUri<'a>, UriError> {
        let colon = split_scheme(s)?;
        match classify_scheme(slice(s, 0, colon, UriErrorKind::InvalidScheme)?) {
            Kind::Sip => Self::parse_after_scheme(s, colon, false, mode),
            Kind::Sips => Self::parse_after_scheme(s, colon, true, mode),
            _ => Err(err(0, UriErrorKind::WrongScheme)),
        }
    }

    /// Parses everything after the scheme's `:` at `colon` (RFC 3261 §25.1 `SIP-URI`).
    pub(super) fn parse_after_scheme(
        s: &'a str,
        colon: usize,
        secure: bool,
        mode: Mode,
    ) -> Result<SipUri<'a>, UriError> {
        let b = s.as_bytes();
        let scheme = slice(s, 0, colon, UriErrorKind::InvalidScheme)?;
        let mut pos = colon + 1;

        // userinfo = ( user / telephone-subscriber ) [ ":" password ] "@"
        // Neither the host, parameters nor headers may hold an unescaped '@', so the first
        // one ends the userinfo.
        let (mut user, mut password) = (None, None);
        if let Some(i) = crate::message::scan::find_byte(b.get(pos..).unwrap_or_default(), b'@') {
            let at = pos + i;
            // No user class holds ':', so the scan stops at the password separator.
            let user_mask = UNRESERVED | USER_UNRES | mode.extra(LENIENT_EXTRA);
            let user_end = scan(b, pos, at, user_mask, mode)?;
            if user_end != at && b.get(user_end) != Some(&b':') {
                return Err(err(user_end, UriErrorKind::InvalidUser));
            }
            if user_end == pos {
                return Err(err(pos, UriErrorKind::EmptyUser));
            }
            user = Some(Cow::Borrowed(slice(
                s,
                pos,
                user_end,
                UriErrorKind::InvalidUser,
            )?));
            if user_end < at {
                let pass_mask =
                    UNRESERVED | PASS_EXTRA | mode.extra(LENIENT_EXTRA | USER_UNRES | PARAM_UNRES);
                let e = scan(b, user_end + 1, at, pass_mask, mode)?;
                if e != at {
                    return Err(err(e, UriErrorKind::InvalidPassword));
                }
                password = Some(Cow::Borrowed(slice(
                    s,
                    user_end + 1,
                    at,
                    UriErrorKind::InvalidPassword,
                )?));
            }
            pos = at + 1;
        }

        // hostport = host [ ":" port ]
        let host_start = pos;
        let (host, host_end) = parse_host_at(s, pos, mode)?;
        pos = host_end;
        let mut port = None;
        if b.get(pos) == Some(&b':') {
            let (p, end) = parse_port_at(b, pos + 1)?;
            port = Some(p);
            pos = end;
        }
        let hostport = slice(s, host_start, pos, UriErrorKind::InvalidHost)?;

        // uri-parameters = *( ";" uri-parameter )
        let params_start = pos;
        if b.get(pos) == Some(&b';') {
            pos = scan_params(b, pos, mode, true)?;
        }
        let params = slice(s, params_start, pos, UriErrorKind::InvalidParam)?;

        // [ headers ]
        let headers = match b.get(pos) {
            None => "",
            Some(b'?') => {
                scan_headers(b, pos + 1, mode)?;
                s.get(pos + 1..).unwrap_or_default()
            }
            Some(_) => return Err(err(pos, UriErrorKind::UnexpectedChar)),
        };

        Ok(SipUri {
            scheme: Cow::Borrowed(scheme),
            secure,
            user,
            password,
            host,
            port,
            hostport: Cow::Borrowed(hostport),
            params: Cow::Borrowed(params),
            headers: Cow::Borrowed(headers),
        })
    }

    /// A `sip:` URI with only a host (RFC 3261 §19.1.1). A [`Host::Domain`] is written as
    /// given: build it with [`Host::parse`] or use [`SipUri::parse_host`] for text that is
    /// not known to be a valid host name.
    pub fn new(host: Host<'a>) -> SipUri<'a> {
        let hostport = host.to_cow();
        SipUri {
            scheme: Cow::Borrowed("sip"),
            secure: false,
            user: None,
            password: None,
            host,
            port: None,
            hostport,
            params: Cow::Borrowed(""),
            headers: Cow::Borrowed(""),
        }
    }

    /// A `sip:` URI from strictly valid `host [ ":" port ]` text (RFC 3261 §25.1
    /// `hostport`), e.g. `"example.com:5070"` or `"[2001:db8::1]"`. Borrows from `s`.
    pub fn parse_host(s: &'a str) -> Result<SipUri<'a>, UriError> {
        let b = s.as_bytes();
        let (host, mut pos) = parse_host_at(s, 0, Mode::Strict)?;
        let mut port = None;
        if b.get(pos) == Some(&b':') {
            let (p, end) = parse_port_at(b, pos + 1)?;
            port = Some(p);
            pos = end;
        }
        if pos != s.len() {
            return Err(err(pos, UriErrorKind::UnexpectedChar));
        }
        let mut uri = SipUri::new(host);
        uri.port = port;
        uri.hostport = Cow::Borrowed(s);
        Ok(uri)
    }

    /// Copies every borrowed component so the URI outlives the parsed text.
    pub fn into_owned(self) -> SipUri<'static> {
        SipUri {
            scheme: to_owned_cow(self.scheme),
            secure: self.secure,
            user: self.user.map(to_owned_cow),
            password: self.password.map(to_owned_cow),
            host: self.host.into_owned(),
            port: self.port,
            hostport: to_owned_cow(self.hostport),
            params: to_owned_cow(self.params),
            headers: to_owned_cow(self.headers),
        }
    }

    /// Whether this is a SIPS URI (RFC 3261 §19.1).
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// `"sips"` or `"sip"`, in lower case whatever the original spelling.
    pub fn scheme(&self) -> &'static str {
        if self.secure { "sips" } else { "sip" }
    }

    /// The user part as written, escapes kept (RFC 3261 §19.1.1 `user`).
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The user part with `%HH` escapes decoded (§19.1.2). A `%` that does not start an escape
    /// (lenient parse) is kept, and bytes that are not UTF-8 become U+FFFD. Borrows when the
    /// user holds no `%`.
    pub fn user_unescaped(&self) -> Option<Cow<'_, str>> {
        self.user.as_deref().map(escape::unescape_lossy)
    }

    /// The password as written, escapes kept (§19.1.1; its use is NOT RECOMMENDED).
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The password with escapes decoded, as [`SipUri::user_unescaped`] does.
    pub fn password_unescaped(&self) -> Option<Cow<'_, str>> {
        self.password.as_deref().map(escape::unescape_lossy)
    }

    /// The host (RFC 3261 §19.1.1).
    pub fn host(&self) -> &Host<'a> {
        &self.host
    }

    /// The explicit port, if any (§19.1.1). An absent port is not the same as 5060 (§19.1.4).
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The port, or the default for the scheme when absent: 5061 for SIPS, else 5060
    /// (RFC 3261 §19.1.2, RFC 3263 §4.2).
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(if self.secure { 5061 } else { 5060 })
    }

    /// `host [ ":" port ]` as written (IPv6 in brackets).
    pub fn host_port(&self) -> &str {
        &self.hostport
    }

    /// The raw parameters, each starting with `;` (e.g. `";transport=tcp;lr"`), or `""`.
    pub fn params_raw(&self) -> &str {
        &self.params
    }

    /// Iterates over the parameters as written (RFC 3261 §19.1.1).
    pub fn params(&self) -> Params<'_> {
        Params::new(&self.params)
    }

    /// The first parameter called `name` (unescaped text; ASCII case and escapes in the URI's
    /// parameter names are ignored):
    /// `None` if absent, `Some(None)` for a flag such as `lr`, `Some(Some(raw_value))`.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }

    /// Whether a parameter called `name` is present.
    pub fn has_param(&self, name: &str) -> bool {
        self.param(name).is_some()
    }

    fn param_value(&self, name: &str) -> Option<&str> {
        self.param(name).flatten()
    }

    /// The `transport` parameter value as written (§19.1.1).
    pub fn transport(&self) -> Option<&str> {
        self.param_value("transport")
    }

    /// The `transport` parameter as a known [`Transport`] (`udp`, `tcp`, `tls`, `sctp`,
    /// `ws`, `wss`, any case); `None` when absent or unknown.
    pub fn transport_kind(&self) -> Option<Transport> {
        self.transport().and_then(Transport::from_via_token)
    }

    /// The `maddr` parameter value as written (§19.1.1).
    pub fn maddr(&self) -> Option<&str> {
        self.param_value("maddr")
    }

    /// The `user` parameter value (`phone`, `ip`, ...) as written (§19.1.1).
    pub fn user_param(&self) -> Option<&str> {
        self.param_value("user")
    }

    /// The `method` parameter value as written (§19.1.1).
    pub fn method(&self) -> Option<&str> {
        self.param_value("method")
    }

    /// The `ttl` parameter (`1*3DIGIT`, 0–255, §25.1); `None` when absent or not a valid ttl.
    pub fn ttl(&self) -> Option<u8> {
        let v = self.param_value("ttl")?;
        if v.is_empty() || v.len() > 3 || !v.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        v.parse().ok()
    }

    /// Whether the loose-routing `lr` parameter is present (§19.1.1, §16.12).
    pub fn lr(&self) -> bool {
        self.has_param("lr")
    }

    /// The raw headers after `?`, without it (e.g. `"subject=project%20x&priority=urgent"`),
    /// or `""`.
    pub fn headers_raw(&self) -> &str {
        &self.headers
    }

    /// Iterates over the headers as `(name, value)` pairs as written (§19.1.1).
    pub fn headers(&self) -> Headers<'_> {
        Headers {
            rest: &self.headers,
        }
    }

    /// The value of the first header called `name` (unescaped text; case and escapes in the
    /// URI's header names are ignored), as written.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers()
            .find(|(n, _)| name_is(n, name))
            .map(|(_, v)| v)
    }

    /// The host part of `hostport` (without the port), keeping the borrow when possible.
    fn host_text(&self) -> Cow<'a, str> {
        fn strip(hp: &str, has_port: bool) -> &str {
            if has_port {
                hp.rsplit_once(':').map_or(hp, |(h, _)| h)
            } else {
                hp
            }
        }
        match &self.hostport {
            Cow::Borrowed(hp) => Cow::Borrowed(strip(hp, self.port.is_some())),
            Cow::Owned(hp) => Cow::Owned(strip(hp, self.port.is_some()).to_owned()),
        }
    }

    fn set_hostport(&mut self, host: Cow<'a, str>) {
        self.hostport = match self.port {
            Some(p) => Cow::Owned(format!("{host}:{p}")),
            None => host,
        };
    }

    /// Makes this a SIPS (`true`) or SIP (`false`) URI (§19.1).
    pub fn with_secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self.scheme = Cow::Borrowed(if secure { "sips" } else { "sip" });
        self
    }

    /// Replaces the host, keeping the port. See [`SipUri::new`] about domain names.
    pub fn with_host(mut self, host: Host<'a>) -> Self {
        let text = host.to_cow();
        self.host = host;
        self.set_hostport(text);
        self
    }

    /// Sets (`Some`) or removes (`None`) the port.
    pub fn with_port(mut self, port: Option<u16>) -> Self {
        let host = self.host_text();
        self.port = port;
        self.set_hostport(host);
        self
    }

    /// Sets the user from unescaped text, escaping what `user` does not allow (§19.1.2,
    /// [`escape::escape_user`]). An empty user removes the userinfo (user and password),
    /// since `user` cannot be empty (§25.1).
    pub fn with_user(mut self, user: impl Into<Cow<'a, str>>) -> Self {
        let user = user.into();
        if user.is_empty() {
            self.user = None;
            self.password = None;
        } else {
            self.user = Some(escape_cow(user, escape::escape_user));
        }
        self
    }

    /// Sets or removes the password from unescaped text ([`escape::escape_password`]).
    /// `password` only exists after a user (§25.1 `userinfo`), so without a user this does
    /// nothing: set the user first.
    pub fn with_password(mut self, password: Option<impl Into<Cow<'a, str>>>) -> Self {
        if self.user.is_some() {
            self.password = password.map(|p| escape_cow(p.into(), escape::escape_password));
        }
        self
    }

    /// Sets parameter `name` (unescaped text) to `value`, replacing any parameter of that
    /// name; `None` or an empty value makes a flag parameter such as `lr`. Names and values
    /// are escaped with [`escape::escape_param`]. An empty name cannot be written
    /// (`pname = 1*paramchar`) and leaves the URI unchanged.
    pub fn with_param(mut self, name: &str, value: Option<&str>) -> Self {
        if name.is_empty() {
            return self;
        }
        let mut out = remove_params(&self.params, name);
        out.push(';');
        out.push_str(&escape::escape_param(name));
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            out.push('=');
            out.push_str(&escape::escape_param(v));
        }
        self.params = Cow::Owned(out);
        self
    }

    /// Removes every parameter called `name` (case and escapes ignored).
    pub fn without_param(mut self, name: &str) -> Self {
        if self.has_param(name) {
            self.params = Cow::Owned(remove_params(&self.params, name));
        }
        self
    }

    /// Appends header `name=value` (unescaped text, escaped with [`escape::escape_header`]).
    /// An empty name cannot be written (`hname = 1*(...)`) and leaves the URI unchanged.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if name.is_empty() {
            return self;
        }
        let mut out = self.headers.into_owned();
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&escape::escape_header(name));
        out.push('=');
        out.push_str(&escape::escape_header(value));
        self.headers = Cow::Owned(out);
        self
    }

    /// Removes all headers, as needed for a Request-URI (RFC 3261 §19.1.5).
    pub fn without_headers(mut self) -> Self {
        self.headers = Cow::Borrowed("");
        self
    }
}

/// Raw parameters without those called `name`, as an owned string.
fn remove_params(raw: &str, name: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 16);
    for seg in raw.split(';').filter(|s| !s.is_empty()) {
        let n = seg.split_once('=').map_or(seg, |(n, _)| n);
        if !name_is(n, name) {
            out.push(';');
            out.push_str(seg);
        }
    }
    out
}

/// Escapes `c` with `f`, borrowing or reusing the allocation when nothing changes.
fn escape_cow<'a>(c: Cow<'a, str>, f: for<'x> fn(&'x str) -> Cow<'x, str>) -> Cow<'a, str> {
    match c {
        Cow::Borrowed(s) => f(s),
        Cow::Owned(s) => {
            let escaped = match f(&s) {
                Cow::Owned(e) => Some(e),
                Cow::Borrowed(_) => None,
            };
            Cow::Owned(escaped.unwrap_or(s))
        }
    }
}

impl fmt::Display for SipUri<'_> {
    /// Writes the URI; unchanged parsed URIs come out byte-identical to their input.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.scheme)?;
        f.write_str(":")?;
        if let Some(user) = &self.user {
            f.write_str(user)?;
            if let Some(pw) = &self.password {
                f.write_str(":")?;
                f.write_str(pw)?;
            }
            f.write_str("@")?;
        }
        f.write_str(&self.hostport)?;
        f.write_str(&self.params)?;
        if !self.headers.is_empty() {
            f.write_str("?")?;
            f.write_str(&self.headers)?;
        }
        Ok(())
    }
}

/// Scans `*( ";" pname [ "=" pvalue ] )` starting at `pos`. Stops at the end, or at `?` when
/// `allow_query`. Returns the end position.
fn scan_params(b: &[u8], mut pos: usize, mode: Mode, allow_query: bool) -> Result<usize, UriError> {
    let name_mask = UNRESERVED | PARAM_UNRES | mode.extra(LENIENT_EXTRA | AT);
    let value_mask = name_mask | mode.extra(EQ);
    let len = b.len();
    while b.get(pos) == Some(&b';') {
        pos += 1;
        let is_end = |p: usize| match b.get(p) {
            None | Some(b';') => true,
            Some(b'?') => allow_query,
            Some(_) => false,
        };
        let name_end = scan(b, pos, len, name_mask, mode)?;
        if name_end == pos {
            if mode == Mode::Lenient && is_end(pos) {
                continue;
            }
            if is_end(pos) || b.get(pos) == Some(&b'=') {
                return Err(err(pos, UriErrorKind::EmptyParamName));
            }
            return Err(err(pos, UriErrorKind::InvalidParam));
        }
        pos = name_end;
        if b.get(pos) == Some(&b'=') {
            pos += 1;
            let value_end = scan(b, pos, len, value_mask, mode)?;
            if value_end == pos && mode == Mode::Strict && is_end(pos) {
                return Err(err(pos, UriErrorKind::EmptyParamValue));
            }
            pos = value_end;
        }
        match b.get(pos) {
            None | Some(b';') => {}
            Some(b'?') if allow_query => {}
            Some(_) => return Err(err(pos, UriErrorKind::InvalidParam)),
        }
    }
    Ok(pos)
}

/// Scans `header *( "&" header )` from `start` (just after `?`) to the end.
fn scan_headers(b: &[u8], start: usize, mode: Mode) -> Result<(), UriError> {
    let name_mask = UNRESERVED | HNV_UNRES | mode.extra(LENIENT_EXTRA | AT);
    let value_mask = name_mask | mode.extra(EQ | SEMI_COMMA);
    let len = b.len();
    let mut pos = start;
    loop {
        let name_end = scan(b, pos, len, name_mask, mode)?;
        if name_end == pos {
            match (mode, b.get(pos)) {
                (Mode::Lenient, Some(b'&')) => {
                    pos += 1;
                    continue;
                }
                (Mode::Lenient, None) if pos > start => return Ok(()),
                (_, None | Some(b'&' | b'=')) => {
                    return Err(err(pos, UriErrorKind::EmptyHeaderName));
                }
                _ => return Err(err(pos, UriErrorKind::InvalidHeader)),
            }
        }
        pos = name_end;
        if b.get(pos) == Some(&b'=') {
            pos = scan(b, pos + 1, len, value_mask, mode)?;
        } else if mode == Mode::Strict && matches!(b.get(pos), None | Some(b'&')) {
            return Err(err(pos, UriErrorKind::MissingHeaderValue));
        }
        match b.get(pos) {
            None => return Ok(()),
            Some(b'&') => pos += 1,
            Some(_) => return Err(err(pos, UriErrorKind::InvalidHeader)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::uri::Uri;
    use crate::message::uri::UriErrorKind as K;
    use crate::message::uri::test_util::*;
    use std::net::Ipv4Addr;

    /// RFC 3261 §19.1.3: every example, with its components and byte-identical display.
    #[test]
    fn rfc3261_19_1_3_examples() {
        type Row = (
            &'static str,
            bool,
            Option<&'static str>,
            Option<&'static str>,
            &'static str,
            Option<u16>,
            &'static str,
            &'static str,
        );
        let table: [Row; 8] = [
            (
                "sip:alice@atlanta.com",
                false,
                Some("alice"),
                None,
                "atlanta.com",
                None,
                "",
                "",
            ),
            (
                "sip:alice:secretword@atlanta.com;transport=tcp",
                false,
                Some("alice"),
                Some("secretword"),
                "atlanta.com",
                None,
                ";transport=tcp",
                "",
            ),
            (
                "sips:alice@atlanta.com?subject=project%20x&priority=urgent",
                true,
                Some("alice"),
                None,
                "atlanta.com",
                None,
                "",
                "subject=project%20x&priority=urgent",
            ),
            (
                "sip:+1-212-555-1212:1234@gateway.com;user=phone",
                false,
                Some("+1-212-555-1212"),
                Some("1234"),
                "gateway.com",
                None,
                ";user=phone",
                "",
            ),
            (
                "sips:1212@gateway.com",
                true,
                Some("1212"),
                None,
                "gateway.com",
                None,
                "",
                "",
            ),
            (
                "sip:alice@192.0.2.4",
                false,
                Some("alice"),
                None,
                "192.0.2.4",
                None,
                "",
                "",
            ),
            (
                "sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com",
                false,
                None,
                None,
                "atlanta.com",
                None,
                ";method=REGISTER",
                "to=alice%40atlanta.com",
            ),
            (
                "sip:alice;day=tuesday@atlanta.com",
                false,
                Some("alice;day=tuesday"),
                None,
                "atlanta.com",
                None,
                "",
                "",
            ),
        ];
        for (text, secure, user, password, hostport, port, params, headers) in table {
            for u in [sip(text), SipUri::parse(text).unwrap()] {
                assert_eq!(u.is_secure(), secure, "{text}");
                assert_eq!(u.user(), user, "{text}");
                assert_eq!(u.password(), password, "{text}");
                assert_eq!(u.host_port(), hostport, "{text}");
                assert_eq!(u.port(), port, "{text}");
                assert_eq!(u.params_raw(), params, "{text}");
                assert_eq!(u.headers_raw(), headers, "{text}");
                assert_eq!(u.to_string(), text);
                assert!(all_borrowed(&u), "{text} allocated");
            }
        }
        let u = sip("sip:alice@192.0.2.4");
        assert_eq!(u.host(), &Host::Ipv4(Ipv4Addr::new(192, 0, 2, 4)));
        let u = sip("sips:alice@atlanta.com?subject=project%20x&priority=urgent");
        assert_eq!(
            u.headers().collect::<Vec<_>>(),
            [("subject", "project%20x"), ("priority", "urgent")]
        );
        assert_eq!(u.header("SUBJECT"), Some("project%20x"));
        assert_eq!(u.header("to"), None);
        assert_eq!(u.scheme(), "sips");
        assert_eq!(u.port_or_default(), 5061);
        let u = sip("sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com");
        assert_eq!(u.method(), Some("REGISTER"));
        assert_eq!(u.host(), &Host::Domain(Cow::Borrowed("atlanta.com")));
        assert_eq!(u.port_or_default(), 5060);
    }

    #[test]
    fn parameter_accessors() {
        let u = sip(
            "sip:p.example.com;transport=TCP;maddr=239.255.255.1;ttl=15;lr;user=phone;method=INVITE;x-y=%41b",
        );
        assert_eq!(u.transport(), Some("TCP"));
        assert_eq!(u.transport_kind(), Some(Transport::Tcp));
        assert_eq!(u.maddr(), Some("239.255.255.1"));
        assert_eq!(u.ttl(), Some(15));
        assert!(u.lr());
        assert_eq!(u.user_param(), Some("phone"));
        assert_eq!(u.method(), Some("INVITE"));
        assert_eq!(u.param("LR"), Some(None));
        assert_eq!(u.param("X-Y"), Some(Some("%41b")));
        assert_eq!(u.param("nope"), None);
        assert!(u.has_param("ttl") && !u.has_param("tt"));
        assert_eq!(
            u.params().collect::<Vec<_>>(),
            [
                ("transport", Some("TCP")),
                ("maddr", Some("239.255.255.1")),
                ("ttl", Some("15")),
                ("lr", None),
                ("user", Some("phone")),
                ("method", Some("INVITE")),
                ("x-y", Some("%41b")),
            ]
        );
        assert_eq!(sip("sip:a.com;ttl=256").ttl(), None);
        assert_eq!(sip("sip:a.com;ttl=0015").ttl(), None);
        assert_eq!(sip("sip:a.com;transport=foo").transport_kind(), None);
        assert!(!sip("sip:a.com").lr());
        // Lenient empty parameters are skipped by the iterator.
        let u = SipUri::parse("sip:a.com;;lr;").unwrap();
        assert_eq!(u.params().collect::<Vec<_>>(), [("lr", None)]);
        assert_eq!(u.to_string(), "sip:a.com;;lr;");
    }

    /// RFC 4475 §3.1.1.2, §3.1.1.3, §3.1.1.4, §3.1.1.10 and the unknown-scheme case.
    #[test]
    fn rfc4475_escaped_and_unusual_uris() {
        let u = sip("sip:sips%3Auser%40example.com@example.net");
        assert_eq!(u.user(), Some("sips%3Auser%40example.com"));
        assert_eq!(u.user_unescaped().unwrap(), "sips:user@example.com");
        assert_eq!(u.host_port(), "example.net");

        let u = sip("sip:%75se%72@example.com");
        assert_eq!(u.user_unescaped().unwrap(), "user");
        assert!(u == sip("sip:user@example.com"));

        let u = sip("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31");
        assert_eq!(u.user_unescaped().unwrap(), "caller");
        assert!(u.lr());
        assert_eq!(u.param("name"), Some(Some("v%61lue%25%34%31")));
        assert_eq!(escape::unescape("v%61lue%25%34%31").unwrap(), "value%41");

        let u = sip("sip:null-%00-null@example.com");
        assert_eq!(u.user_unescaped().unwrap(), "null-\0-null");

        let u = sip("sip:user;par=u%40example.net@example.com");
        assert_eq!(u.user(), Some("user;par=u%40example.net"));
        assert_eq!(u.host_port(), "example.com");
        assert_eq!(u.params_raw(), "");

        let u = sip("sip:1_unusual.URI~(to-test!)@example.com");
        assert_eq!(u.user(), Some("1_unusual.URI~(to-test!)"));

        let u = Uri::parse_strict("nobodyKnowsThisScheme:totallyopaquecontent").unwrap();
        let a = u.as_absolute().unwrap();
        assert_eq!(a.scheme(), "nobodyKnowsThisScheme");
        assert_eq!(a.rest(), "totallyopaquecontent");
        assert_eq!(u.to_string(), "nobodyKnowsThisScheme:totallyopaquecontent");

        // Escaped Route header in a URI (valid URI syntax; a Request-URI check is the
        // message layer's business).
        let u = sip("sip:user@example.com?Route=%3Csip:example.com%3E");
        assert_eq!(u.header("route"), Some("%3Csip:example.com%3E"));
    }

    #[test]
    fn builders_write_valid_uris() {
        let u = SipUri::new(Host::parse("example.com").unwrap())
            .with_user("alice smith@home")
            .with_password(Some("p:w"))
            .with_port(Some(5070))
            .with_param("transport", Some("tcp"))
            .with_param("lr", None)
            .with_param("odd;name", Some("v=1"))
            .with_header("Subject", "hi there&more")
            .with_secure(true);
        let text = u.to_string();
        assert_eq!(
            text,
            "sips:alice%20smith%40home:p%3Aw@example.com:5070;transport=tcp;lr;odd%3Bname=v%3D1?Subject=hi%20there%26more"
        );
        let p = SipUri::parse_strict(&text).unwrap();
        assert!(p == u);
        assert_eq!(p.user_unescaped().unwrap(), "alice smith@home");
        assert_eq!(p.password_unescaped().unwrap(), "p:w");
        assert_eq!(p.param("odd;name"), Some(Some("v%3D1")));
        assert_eq!(p.port(), Some(5070));

        // Replacing and removing parameters, ports, hosts and headers.
        let u = sip("sip:bob@[2001:db8::1]:5060;transport=udp;lr?x=1")
            .with_param("TRANSPORT", Some("tls"))
            .without_param("lr")
            .with_port(None)
            .without_headers();
        assert_eq!(u.to_string(), "sip:bob@[2001:db8::1];TRANSPORT=tls");
        let u = u
            .with_port(Some(5061))
            .with_host(Host::Ipv4(Ipv4Addr::new(192, 0, 2, 1)));
        assert_eq!(u.to_string(), "sip:bob@192.0.2.1:5061;TRANSPORT=tls");
        let u = u.with_user("").with_secure(false).with_param("", Some("x"));
        assert_eq!(u.to_string(), "sip:192.0.2.1:5061;TRANSPORT=tls");
        assert_eq!(u.clone().with_header("", "v").to_string(), u.to_string());
        assert_eq!(
            u.clone().with_password(Some("ignored")).to_string(),
            u.to_string()
        );
        assert_eq!(
            u.with_user(String::from("a b"))
                .with_param("k", Some(""))
                .to_string(),
            "sip:a%20b@192.0.2.1:5061;TRANSPORT=tls;k"
        );

        // Builders keep borrows where nothing needs escaping.
        let u = SipUri::parse_host("example.com:5070")
            .unwrap()
            .with_user("alice");
        assert!(all_borrowed(&u));
        assert_eq!(u.to_string(), "sip:alice@example.com:5070");
        assert_eq!(
            SipUri::parse_host("example.com;x").unwrap_err(),
            err(11, K::UnexpectedChar)
        );
        assert_eq!(
            SipUri::new(Host::Ipv6("::1".parse().unwrap())).to_string(),
            "sip:[::1]"
        );
    }
}
