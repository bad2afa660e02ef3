//! Semantic checks: a well-formed message that breaks a rule of RFC 3261 (§8.1.1 mandatory
//! headers, §8.1.1.5 CSeq method, §7.3.1 single-value headers) or carries a malformed value
//! in a header the stack relies on. Each failure is a [`ParseError`] whose layer says which
//! kind it is, so a UAS answers 400 (or 505) with a precise reason phrase.

use super::error::{ParseError, ParseErrorKind as K};
use super::header::simple::{MediaType, check_token_list};
use super::model::{HeaderEntry, Message, Request, Response};
use super::name::HeaderName;

/// Whether the row `e` repeats, value for value, the first row of its name: a repeated
/// single-value header that lenient mode takes (see [`Mode::Lenient`]).
///
/// [`Mode::Lenient`]: super::Mode::Lenient
#[cold]
#[inline(never)]
fn repeats_first(m: &Message, e: &HeaderEntry) -> bool {
    let text = m.text();
    m.headers
        .iter()
        .find(|f| f.name == e.name)
        .is_some_and(|f| f.value.get(text) == e.value.get(text))
}

/// The checks of requests and responses alike; `STRICT` refuses every repeated
/// single-value header, lenient mode those whose value differs from the first.
fn common<const STRICT: bool>(m: &Message) -> Result<(), ParseError> {
    if let Some(f) = &m.decoded.fault {
        return Err(f.clone());
    }
    if let Some((idx, name)) = m.decoded.duplicate
        && STRICT
    {
        // (Lenient: the loop below finds every repeated row, and judges it by its value.)
        let at = m.headers.get(idx).map_or(0, |e| e.line.start as usize) + m.origin;
        return Err(ParseError::new(at, K::DuplicateHeader(name)));
    }
    // Remaining single-value headers, and the list headers the stack reads.
    let mut seen: u64 = 0;
    let text = m.text();
    // The first Via and Contact rows were decoded while parsing; when they hold a single
    // value there is nothing left to check in them.
    let mut first_via = true;
    let mut first_contact = true;
    for e in &m.headers {
        if e.name.is_single() {
            let bit = 1u64 << (e.name as u64 % 64);
            // (Lenient: a repeat of the first row's value is taken, and checked as it.)
            if seen & bit != 0 && (STRICT || !repeats_first(m, e)) {
                return Err(ParseError::new(
                    e.line.start as usize + m.origin,
                    K::DuplicateHeader(e.name),
                ));
            }
            seen |= bit;
        }
        if !matches!(
            e.name,
            HeaderName::Via
                | HeaderName::Contact
                | HeaderName::Route
                | HeaderName::RecordRoute
                | HeaderName::ContentType
                | HeaderName::Require
                | HeaderName::ProxyRequire
                | HeaderName::Supported
                | HeaderName::Allow
                | HeaderName::Unsupported
        ) {
            // No value check for this row.
            continue;
        }
        let at = e.value.start as usize + m.origin;
        let value = e.value.get(text);
        let bad = |reason| {
            ParseError::new(
                at,
                K::HeaderValue {
                    header: e.name,
                    reason,
                },
            )
        };
        let decoded_alone = |first: &mut bool| {
            let was = std::mem::replace(first, false);
            was && super::scan::find_byte(value.as_bytes(), b',').is_none()
        };
        match e.name {
            HeaderName::Via if decoded_alone(&mut first_via) => {}
            HeaderName::Contact if decoded_alone(&mut first_contact) => {}
            HeaderName::Via => {
                for v in super::header::via::parse_via_list(
                    text,
                    e.value.start as usize,
                    e.value.end as usize,
                ) {
                    v.map_err(bad)?;
                }
            }
            HeaderName::Contact if super::scan::trim_lws(value) != "*" => {
                for a in super::header::name_addr::name_addr_list(text, e.value, false) {
                    a.map_err(bad)?;
                }
            }
            HeaderName::Route | HeaderName::RecordRoute => {
                for a in super::header::name_addr::name_addr_list(text, e.value, false) {
                    a.map_err(bad)?;
                }
            }
            HeaderName::ContentType => {
                MediaType::parse(value).map_err(bad)?;
            }
            HeaderName::Require
            | HeaderName::ProxyRequire
            | HeaderName::Supported
            | HeaderName::Allow
            | HeaderName::Unsupported => {
                check_token_list(value).map_err(bad)?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn require(m: &Message, present: bool, name: HeaderName) -> Result<(), ParseError> {
    if present {
        Ok(())
    } else {
        Err(ParseError::new(m.origin, K::MissingHeader(name)))
    }
}

/// Checks a request: the Request-URI against the full URI grammar, decoded header values, no repeated single-value header, the mandatory
/// headers of §8.1.1 (To, From, CSeq, Call-ID, Via; Max-Forwards in strict mode — the
/// lenient parser assumes 70 for RFC 2543 peers), and the CSeq method equal to the request
/// method (§8.1.1.5; RFC 4475 §3.1.2.17, §3.1.2.18).
pub fn check_request(r: &Request) -> Result<(), ParseError> {
    check_request_with::<false>(r, true)
}

/// [`check_request`] of a request about to be sent, before the transport adds its Via
/// (§8.1.1.7): everything but the presence of a Via.
pub(crate) fn check_request_to_send(r: &Request) -> Result<(), ParseError> {
    check_request_with::<false>(r, false)
}

fn check_request_with<const STRICT: bool>(
    r: &Request,
    via_required: bool,
) -> Result<(), ParseError> {
    let m = &r.msg;
    // The Request-URI's full grammar (§19.1, RFC 3966; other schemes kept opaque).
    if !super::uri::is_plain_sip_uri(r.uri_str()) && r.uri().is_err() {
        let at = r.uri.start as usize + m.origin;
        return Err(ParseError::new(at, K::RequestUri("malformed URI")));
    }
    common::<STRICT>(m)?;
    require(m, m.decoded.to.is_some(), HeaderName::To)?;
    require(m, m.decoded.from.is_some(), HeaderName::From)?;
    require(m, m.decoded.call_id.is_some(), HeaderName::CallId)?;
    require(m, m.decoded.cseq.is_some(), HeaderName::CSeq)?;
    require(m, !via_required || m.decoded.via.is_some(), HeaderName::Via)?;
    if let Some((_, method)) = m.cseq()
        && method != r.method.as_str()
    {
        let at = m.decoded.cseq.map_or(0, |(_, s)| s.start as usize) + m.origin;
        return Err(ParseError::new(at, K::CSeqMethodMismatch));
    }
    Ok(())
}

/// Like [`check_request`], to the letter of RFC 3261: Max-Forwards is mandatory too
/// (§8.1.1), no single-value header may repeat, even with the same value (§7.3.1), the URIs
/// of From, To and every Contact follow their grammar (§25.1 `name-addr` / `addr-spec`,
/// RFC 3966 for tel), and `Contact: *` only in a REGISTER (§10.2.2, §20.10).
pub fn check_request_strict(r: &Request) -> Result<(), ParseError> {
    check_request_with::<true>(r, true)?;
    require(
        &r.msg,
        r.msg.decoded.max_forwards.is_some(),
        HeaderName::MaxForwards,
    )?;
    check_addresses_strict(&r.msg, r.method == super::Method::Register)
}

/// The URIs of From, To and Contact against their full grammar (strict mode: lenient mode
/// checks only their characters, and a URI is parsed when it is asked for), and `*` only as
/// a REGISTER's Contact (`star_allowed`). Errors point at the byte at fault.
fn check_addresses_strict(m: &Message, star_allowed: bool) -> Result<(), ParseError> {
    use super::uri::Uri;
    let text = m.text();
    let uri_at = |header: HeaderName, span: super::Span| {
        Uri::parse_strict(span.get(text)).map(drop).map_err(|e| {
            ParseError::new(
                m.origin + span.start as usize + e.offset,
                K::HeaderUri {
                    header,
                    error: e.kind,
                },
            )
        })
    };
    for (header, d) in [
        (HeaderName::From, &m.decoded.from),
        (HeaderName::To, &m.decoded.to),
    ] {
        if let Some(d) = d {
            uri_at(header, d.uri)?;
        }
    }
    for e in m.headers.iter().filter(|e| e.name == HeaderName::Contact) {
        if super::scan::trim_lws(e.value.get(text)) == "*" {
            if star_allowed {
                continue;
            }
            return Err(ParseError::new(
                m.origin + e.value.start as usize,
                K::HeaderValue {
                    header: HeaderName::Contact,
                    reason: "'*' is allowed only in a REGISTER request",
                },
            ));
        }
        for a in super::header::name_addr::name_addr_list(text, e.value, true) {
            let a = a.map_err(|reason| {
                ParseError::new(
                    m.origin + e.value.start as usize,
                    K::HeaderValue {
                        header: HeaderName::Contact,
                        reason,
                    },
                )
            })?;
            uri_at(HeaderName::Contact, a.uri_span())?;
        }
    }
    Ok(())
}

/// Checks a response: decoded header values, no repeated single-value header, and Via,
/// From, To, Call-ID and CSeq present (§8.2.6, §20).
pub fn check_response(r: &Response) -> Result<(), ParseError> {
    check_response_with::<false>(r)
}

/// Like [`check_response`], to the letter of RFC 3261 (as [`check_request_strict`]: no
/// repeated single-value header, the URIs of From, To and Contact checked, no `Contact: *`).
pub fn check_response_strict(r: &Response) -> Result<(), ParseError> {
    check_response_with::<true>(r)?;
    check_addresses_strict(&r.msg, false)
}

fn check_response_with<const STRICT: bool>(r: &Response) -> Result<(), ParseError> {
    let m = &r.msg;
    common::<STRICT>(m)?;
    require(m, m.decoded.via.is_some(), HeaderName::Via)?;
    require(m, m.decoded.from.is_some(), HeaderName::From)?;
    require(m, m.decoded.to.is_some(), HeaderName::To)?;
    require(m, m.decoded.call_id.is_some(), HeaderName::CallId)?;
    require(m, m.decoded.cseq.is_some(), HeaderName::CSeq)
}
