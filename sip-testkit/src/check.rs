//! What a generated message must parse to, as proptest assertions (a fuzz target turns a
//! failure into a panic).

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use sip_core::message::{Method, SipMessage};

use crate::spec::{MessageSpec, Start};

/// Asserts that a parsed message carries the values `spec` was generated with.
pub fn check_expected(m: &SipMessage, spec: &MessageSpec) -> Result<(), TestCaseError> {
    let exp = &spec.expected;
    match (m, &exp.start) {
        (SipMessage::Request(r), Start::Request { method, uri }) => {
            prop_assert_eq!(r.method(), &Method::parse(method).unwrap());
            prop_assert_eq!(r.method().as_str(), method.as_str());
            prop_assert_eq!(r.uri_str(), uri.as_str());
            prop_assert!(r.uri().is_ok(), "Request-URI {uri} does not parse");
        }
        (SipMessage::Response(r), Start::Response { code, reason }) => {
            prop_assert_eq!(r.status(), *code);
            prop_assert_eq!(r.reason(), reason.as_str());
        }
        _ => prop_assert!(false, "wrong kind of message: {m:?}"),
    }
    let msg = m.message();
    let via = msg.via();
    prop_assert_eq!(via.and_then(|v| v.branch()), Some(exp.branch.as_str()));
    prop_assert_eq!(
        msg.from().and_then(|f| f.tag()),
        Some(exp.from_tag.as_str())
    );
    prop_assert_eq!(msg.to().and_then(|t| t.tag()), exp.to_tag.as_deref());
    prop_assert_eq!(msg.call_id(), Some(exp.call_id.as_str()));
    prop_assert_eq!(msg.cseq(), Some((exp.cseq.0, exp.cseq.1.as_str())));
    prop_assert_eq!(msg.max_forwards(), exp.max_forwards);
    prop_assert_eq!(msg.content_length(), Some(spec.body.len()));
    prop_assert_eq!(msg.headers().len(), spec.rows.len());
    prop_assert_eq!(&msg.body()[..], &spec.body[..]);
    prop_assert!(msg.header_fault().is_none());
    for v in msg.vias() {
        prop_assert!(v.is_ok(), "via-parm: {v:?}");
    }
    for c in msg.contacts() {
        prop_assert!(c.is_ok(), "contact: {c:?}");
    }
    for r in msg.routes().chain(msg.record_routes()) {
        prop_assert!(r.is_ok(), "route: {r:?}");
    }
    Ok(())
}

/// The typed values compared between two parses of the same message.
pub fn typed(m: &SipMessage) -> impl PartialEq + std::fmt::Debug + use<> {
    let msg = m.message();
    let start = match m {
        SipMessage::Request(r) => format!("{} {}", r.method(), r.uri_str()),
        SipMessage::Response(r) => format!("{} {}", r.status(), r.reason()),
    };
    (
        start,
        msg.via().and_then(|v| v.branch()).map(str::to_owned),
        msg.from().and_then(|f| f.tag()).map(str::to_owned),
        msg.to().and_then(|f| f.tag()).map(str::to_owned),
        msg.call_id().map(str::to_owned),
        msg.cseq().map(|(n, m)| (n, m.to_owned())),
        msg.max_forwards(),
        msg.headers().len(),
        msg.body().clone(),
    )
}
