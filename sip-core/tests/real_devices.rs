//! Messages in the forms real devices send (written here from the RFC 3261 §25 grammar and
//! the forms seen in the field, not captured): an IPv6 phone that writes its address
//! without brackets and with the port glued on, SIPp's 200 with Content-Type twice, tel
//! Request-URIs (RFC 3966, RFC 3261 §19.1.6), and the strict checks of the URIs in From,
//! To and Contact. Errors are pinned to the byte at fault and say what was expected.

use bytes::Bytes;
use sip_core::message::{
    ContactValue, ContentLengthFault, HeaderName, Host, ParseError, ParseErrorKind as K,
    ParseOptions, SipMessage, Uri, UriErrorKind, parse,
};

/// The IPv6 phone's address as it writes it: eight groups, then the port.
const PHONE: &str = "fec0:0:0:0:216:d3ff:fe0d:22c:5060";

/// A REGISTER from the IPv6 phone: every address without brackets.
fn ipv6_register() -> String {
    format!(
        "REGISTER sip:{PHONE} SIP/2.0\r\n\
Via: SIP/2.0/UDP {PHONE};branch=z9hG4bK-v6phone-1;rport\r\n\
From: \"4321\" <sip:4321@{PHONE}>;tag=v6-1\r\n\
To: <sip:4321@{PHONE}>\r\n\
Call-ID: 3c26700000aa@fec0::216:d3ff:fe0d:22c\r\n\
CSeq: 1 REGISTER\r\n\
Contact: <sip:4321@{PHONE};transport=udp>;expires=3600\r\n\
Max-Forwards: 70\r\n\
User-Agent: v6phone/1.0\r\n\
Content-Length: 0\r\n\
\r\n"
    )
}

/// SIPp's 200 OK to an INVITE, with its Content-Type row written twice.
fn sipp_ok(second_type: &str) -> String {
    let sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.2\r\ns=-\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n";
    format!(
        "SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-sipp-1\r\n\
From: sipp <sip:sipp@192.0.2.1:5060>;tag=1SIPpTag001\r\n\
To: sut <sip:service@192.0.2.2:5060>;tag=sut-1\r\n\
Call-ID: 1-4242@192.0.2.1\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:192.0.2.2:5060;transport=UDP>\r\n\
Content-Type: application/sdp\r\n\
Content-Type: {second_type}\r\n\
Content-Length: {}\r\n\
\r\n{sdp}",
        sdp.len()
    )
}

/// An INVITE with this Request-URI and these rows replaced.
fn invite(uri: &str, edits: &[(&str, &str)]) -> String {
    let text = format!(
        "INVITE {uri} SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\n\
To: <tel:+1-201-555-0123>\r\n\
From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.com>\r\n\
Content-Length: 0\r\n\
\r\n"
    );
    edits.iter().fold(text, |t, (a, b)| t.replace(a, b))
}

fn lenient(text: &str) -> Result<SipMessage, ParseError> {
    parse(
        Bytes::copy_from_slice(text.as_bytes()),
        &ParseOptions::lenient(),
    )
}

fn strict(text: &str) -> Result<SipMessage, ParseError> {
    parse(
        Bytes::copy_from_slice(text.as_bytes()),
        &ParseOptions::strict(),
    )
}

#[test]
fn lenient_takes_the_ipv6_phone_with_its_glued_port() {
    let text = ipv6_register();
    let m = lenient(&text).unwrap();
    let r = m.as_request().unwrap();
    let addr: std::net::Ipv6Addr = "fec0::216:d3ff:fe0d:22c".parse().unwrap();
    let via = r.via().unwrap();
    assert_eq!(via.host(), "fec0:0:0:0:216:d3ff:fe0d:22c");
    assert_eq!(via.port(), Some(5060));
    assert_eq!(via.branch(), Some("z9hG4bK-v6phone-1"));
    let Ok(Uri::Sip(ruri)) = r.uri() else {
        panic!("a SIP Request-URI")
    };
    assert_eq!((ruri.host(), ruri.port()), (&Host::Ipv6(addr), Some(5060)));
    for na in [r.from().unwrap(), r.to().unwrap()] {
        let Ok(Uri::Sip(u)) = na.uri() else {
            panic!("a SIP URI")
        };
        assert_eq!(
            (u.user(), u.host(), u.port()),
            (Some("4321"), &Host::Ipv6(addr), Some(5060))
        );
    }
    let Some(ContactValue::Addr(contact)) = r.contact() else {
        panic!("a Contact address")
    };
    let Ok(Uri::Sip(contact)) = contact.uri() else {
        panic!("a SIP Contact")
    };
    assert_eq!(contact.host(), &Host::Ipv6(addr));
    assert_eq!(contact.param("transport"), Some(Some("udp")));
    // Strict mode keeps to the grammar (brackets), and says where it stopped: in the
    // Request-URI, at the colon after `fec0:0`, where a port must end.
    let e = strict(&text).unwrap_err();
    let at = "REGISTER sip:fec0:0".len();
    assert_eq!(e.offset, at, "{e}");
    assert!(matches!(e.kind, K::RequestUri(_)), "{e}");
}

#[test]
fn only_unambiguous_unbracketed_ipv6_is_taken() {
    // Seven groups, a `::`, nine groups, a five-digit group before the port, a port that
    // is not decimal: not an address and a port in one reading only, refused as before.
    for host in [
        "fec0:0:0:216:d3ff:fe0d:22c",
        "fec0::216:d3ff:fe0d:22c:5060",
        "fec0:0:0:0:216:d3ff:fe0d:22c:1:5060",
        "fec0:0:0:0:216:d3ff:fe0d:0022c:5060",
        "fec0:0:0:0:216:d3ff:fe0d:22c:50a0",
    ] {
        let text = invite(&format!("sip:4321@{host}"), &[]);
        assert!(lenient(&text).is_err(), "{host}");
    }
    // Eight groups and no port is an address too.
    let text = invite("sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c", &[]);
    let m = lenient(&text).unwrap();
    let Ok(Uri::Sip(u)) = m.as_request().unwrap().uri() else {
        panic!("a SIP URI")
    };
    assert_eq!(u.port(), None);
    assert!(matches!(u.host(), Host::Ipv6(_)));
}

/// The Via case: strict mode reports the byte where the sent-by stops making sense, 18
/// bytes into the value (the colon after `fec0:0`), not the start of the value.
#[test]
fn an_unbracketed_ipv6_via_is_refused_strictly_at_the_failing_byte() {
    let text = invite(
        "sip:bob@[fec0::1]",
        &[(
            "SIP/2.0/UDP pc33.atlanta.com;",
            &format!("SIP/2.0/UDP {PHONE};"),
        )],
    );
    let e = strict(&text).unwrap_err();
    let value = text.find("SIP/2.0/UDP fec0").unwrap();
    assert_eq!(e.offset, value + "SIP/2.0/UDP fec0:0".len(), "{e}");
    assert_eq!(
        e.kind,
        K::HeaderValue {
            header: HeaderName::Via,
            reason: "expected ';' before a parameter"
        }
    );
    assert!(lenient(&text).is_ok());
}

#[test]
fn sipps_repeated_content_type_is_taken_leniently_when_identical() {
    let text = sipp_ok("application/sdp");
    let m = lenient(&text).unwrap();
    let r = m.as_response().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.message().headers().get("Content-Type"),
        Some("application/sdp")
    );
    assert!(r.message().body().starts_with(b"v=0\r\n"));
    // Strict: one Content-Type only (§7.3.1), reported at the second row.
    let second = text.rfind("Content-Type").unwrap();
    assert_eq!(
        strict(&text).unwrap_err(),
        ParseError {
            offset: second,
            kind: K::DuplicateHeader(HeaderName::ContentType)
        }
    );
    // Another value is refused in both modes.
    let text = sipp_ok("text/plain");
    let second = text.rfind("Content-Type").unwrap();
    for e in [lenient(&text).unwrap_err(), strict(&text).unwrap_err()] {
        assert_eq!(e.kind, K::DuplicateHeader(HeaderName::ContentType));
        assert_eq!(e.offset, second);
    }
    // The same goes for the rows the parser decodes: a Call-ID written twice alike.
    let text = invite(
        "sip:bob@biloxi.com",
        &[("CSeq", "Call-ID: a84b4c76e66710@pc33.atlanta.com\r\nCSeq")],
    );
    assert!(lenient(&text).is_ok());
    assert_eq!(
        strict(&text).unwrap_err().kind,
        K::DuplicateHeader(HeaderName::CallId)
    );
    let text = invite(
        "sip:bob@biloxi.com",
        &[("CSeq", "Call-ID: other@pc33.atlanta.com\r\nCSeq")],
    );
    assert_eq!(
        lenient(&text).unwrap_err().kind,
        K::DuplicateHeader(HeaderName::CallId)
    );
}

#[test]
fn strict_takes_a_tel_request_uri() {
    for uri in [
        "tel:+1-201-555-0123;phone-context=example.com",
        "tel:+1-201-555-0123",
        "tel:7042;phone-context=example.com",
        "tel:863-1234;phone-context=+1-914-555",
    ] {
        let m = strict(&invite(uri, &[])).unwrap_or_else(|e| panic!("{uri}: {e}"));
        let r = m.as_request().unwrap();
        assert!(matches!(r.uri(), Ok(Uri::Tel(_))), "{uri}");
        assert_eq!(r.uri_str(), uri);
    }
    // Still refused strictly: a local number without its context (RFC 3966 §5.1.5).
    let e = strict(&invite("tel:7042", &[])).unwrap_err();
    assert_eq!(e.kind, K::RequestUri("malformed URI"));
    assert_eq!(e.offset, "INVITE tel:7042".len());
}

#[test]
fn strict_checks_the_uris_of_from_to_and_contact() {
    let base = "sip:bob@biloxi.com";
    // (row replaced, its replacement, the header, what the grammar expected, the text at
    // the byte at fault)
    let cases: &[(&str, &str, HeaderName, UriErrorKind, &str)] = &[
        (
            "From: Alice <sip:alice@atlanta.com>;tag=1928301774",
            "From: Alice <sip:alice@atlanta.com:99999>;tag=1928301774",
            HeaderName::From,
            UriErrorKind::PortOutOfRange,
            "99999>",
        ),
        (
            "From: Alice <sip:alice@atlanta.com>;tag=1928301774",
            "From: sip:alice@-atlanta.com;tag=1928301774",
            HeaderName::From,
            UriErrorKind::InvalidHost,
            "-atlanta",
        ),
        (
            "To: <tel:+1-201-555-0123>",
            "To: <tel:555-0123>",
            HeaderName::To,
            UriErrorKind::MissingPhoneContext,
            ">\r\nFrom",
        ),
        (
            "Contact: <sip:alice@pc33.atlanta.com>",
            "Contact: <sip:alice@pc33.atlanta.com>, <sip:al%ZZice@pc33.atlanta.com>",
            HeaderName::Contact,
            UriErrorKind::InvalidEscape,
            "%ZZ",
        ),
    ];
    for (row, bad, header, kind, at) in cases {
        let text = invite(base, &[(row, bad)]);
        assert!(lenient(&text).is_ok(), "{bad}");
        let e = strict(&text).unwrap_err();
        assert_eq!(
            e,
            ParseError {
                offset: text.find(at).unwrap(),
                kind: K::HeaderUri {
                    header: *header,
                    error: *kind
                }
            },
            "{bad}: {e}"
        );
    }
    // `Contact: *` belongs to a REGISTER that removes its bindings (§10.2.2).
    let text = invite(
        base,
        &[("Contact: <sip:alice@pc33.atlanta.com>", "Contact: *")],
    );
    let e = strict(&text).unwrap_err();
    assert_eq!(e.offset, text.find("*\r\n").unwrap());
    assert!(e.to_string().contains("only in a REGISTER"), "{e}");
    let register = invite(
        base,
        &[
            ("INVITE sip:bob@biloxi.com", "REGISTER sip:biloxi.com"),
            ("314159 INVITE", "1 REGISTER"),
            (
                "Contact: <sip:alice@pc33.atlanta.com>",
                "Contact: *\r\nExpires: 0",
            ),
        ],
    );
    assert!(strict(&register).is_ok());
}

#[test]
fn content_length_errors_say_what_was_found_where() {
    let text = invite(
        "sip:bob@biloxi.com",
        &[("Content-Length: 0", "Content-Length: 12x")],
    );
    let e = lenient(&text).unwrap_err();
    assert_eq!(e.kind, K::ContentLength(ContentLengthFault::NotDigit('x')));
    assert_eq!(e.offset, text.find("x\r\n\r\n").unwrap());
    assert!(
        e.to_string()
            .starts_with("invalid Content-Length: expected decimal digits, found 'x'"),
        "{e}"
    );
    let text = invite(
        "sip:bob@biloxi.com",
        &[("Content-Length: 0", "Content-Length: 99999999999")],
    );
    let e = lenient(&text).unwrap_err();
    assert_eq!(e.kind, K::ContentLength(ContentLengthFault::TooBig));
    assert_eq!(e.offset, text.find("99999999999").unwrap());
    assert!(e.to_string().contains("exceeds 2^32 - 1"), "{e}");
    let text = invite(
        "sip:bob@biloxi.com",
        &[("Content-Length: 0", "Content-Length: ")],
    );
    assert_eq!(
        lenient(&text).unwrap_err().kind,
        K::ContentLength(ContentLengthFault::Empty)
    );
}

#[test]
fn name_addr_errors_point_at_the_failing_byte() {
    let base = "sip:bob@biloxi.com";
    let cases = [
        // A display name that is not a token must be quoted (strict): at its first
        // non-token character.
        ("From: Alice <", "From: Al@ice <", "@ice", true),
        // Text after the URI that is not a parameter: where it starts.
        (
            "<sip:alice@atlanta.com>;tag",
            "<sip:alice@atlanta.com> x;tag",
            "x;tag",
            false,
        ),
        // A quoted display name not followed by '<'.
        ("From: Alice <", "From: \"Alice\" x <", "x <", false),
        // A character that cannot be in a URI.
        (
            "<sip:alice@atlanta.com>",
            "<sip:ali\"ce@atlanta.com>",
            "\"ce@",
            false,
        ),
    ];
    for (row, bad, at, strict_only) in cases {
        let text = invite(base, &[(row, bad)]);
        let e = strict(&text).unwrap_err();
        assert!(
            matches!(
                e.kind,
                K::HeaderValue {
                    header: HeaderName::From,
                    ..
                }
            ),
            "{bad}: {e}"
        );
        assert_eq!(e.offset, text.find(at).unwrap(), "{bad}: {e}");
        assert_eq!(lenient(&text).is_ok(), strict_only, "{bad}");
    }
}
