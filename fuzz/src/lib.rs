//! Fuzz target bodies for the sip-core message layer, as plain functions so that they run
//! on stable too (`examples/replay.rs`), not only under libFuzzer (`fuzz_targets/`).
//!
//! Each body panics when an invariant breaks; a panic anywhere inside sip-core is a bug as
//! well (the parser must not panic on any input). The message generators, the accessors and
//! edits run on every parsed message, and the framer driver come from `sip-testkit`, the
//! crate the property tests of `sip-core/tests/proptest_message.rs` use too.

#![forbid(unsafe_code)]

use bytes::Bytes;
use sip_core::message::{Framing, ParseOptions, SipMessage, parse, parse_framed, parse_unchecked};
use sip_testkit::check::check_expected;
use sip_testkit::exercise::{edit_everything, frame, outcomes, touch};
use sip_testkit::proptest::strategy::{BoxedStrategy, Strategy};
use sip_testkit::spec::show;
use sip_testkit::{Damaged, generate_from_bytes};

/// The two parser modes, lenient first.
fn modes() -> [ParseOptions; 2] {
    [ParseOptions::lenient(), ParseOptions::strict()]
}

/// Target `parse`: `data` as one UDP datagram (RFC 3261 §18.3), in lenient and strict mode.
///
/// Checks that: a message that passes every check also parses unchecked and passes
/// `check()`; whatever strict mode accepts, lenient mode accepts too; a parsed message
/// re-serializes to bytes that parse to the same values and serialize identically; every
/// accessor and every edit runs without panicking.
pub fn parse_target(data: &[u8]) {
    let bytes = Bytes::copy_from_slice(data);
    let mut checked_ok = [false; 2];
    for (i, opts) in modes().iter().enumerate() {
        let checked = parse(bytes.clone(), opts);
        let unchecked = parse_unchecked(bytes.clone(), opts);
        if let Err(e) = &checked {
            let _ = (e.to_string(), e.layer(), e.status_code());
        }
        if let Ok(m) = &checked {
            checked_ok[i] = true;
            assert!(
                unchecked.is_ok(),
                "passes parse() but not parse_unchecked()"
            );
            assert_eq!(
                m.check(),
                Ok(()),
                "parse() returned a message failing check()"
            );
            let out = m.to_bytes();
            let again = parse(out.clone(), opts);
            assert!(again.is_ok(), "re-parse with every check failed: {again:?}");
        }
        if let Ok(mut m) = unchecked {
            touch(&m);
            let out = m.to_bytes();
            assert_eq!(out.len(), m.message().encoded_len(), "encoded_len is wrong");
            let again = parse_unchecked(out.clone(), opts)
                .unwrap_or_else(|e| panic!("serialized message does not re-parse: {e}"));
            assert_eq!(summary(&again), summary(&m), "re-parse changed the values");
            assert_eq!(again.to_bytes(), out, "second serialization differs");
            edit_everything(&mut m);
            touch(&m);
            if let Ok(e) = parse_unchecked(m.to_bytes(), opts) {
                touch(&e);
            }
        }
    }
    assert!(
        !checked_ok[1] || checked_ok[0],
        "strict mode accepts what lenient mode rejects"
    );
}

/// Target `framer`: `data[2..]` as a TCP byte stream (RFC 3261 §18.3) fed to a
/// [`StreamFramer`](sip_core::message::StreamFramer) in chunks whose sizes come from
/// `data[0]` and `data[1]`.
///
/// Checks that: the messages (and the first error) do not depend on how the stream was
/// cut; every message re-serializes to bytes that the stream parser takes back unchanged;
/// accessors and edits run without panicking.
pub fn framer_target(data: &[u8]) {
    let (seed, stream) = match data {
        [a, b, rest @ ..] => ([*a, *b], rest),
        _ => return,
    };
    let chunks = [
        usize::from(seed[0] % 17) + 1,
        usize::from(seed[1] % 5) + 1,
        usize::from(seed[0] ^ seed[1]) + 1,
    ];
    for opts in modes() {
        let (whole, f) = frame(stream, &[stream.len().max(1)], opts, true);
        assert!(
            f.buffered() <= stream.len(),
            "framer holds more than it got"
        );
        let (cut, f) = frame(stream, &chunks, opts, true);
        assert!(
            f.buffered() <= stream.len(),
            "framer holds more than it got"
        );
        assert_eq!(
            outcomes(&whole),
            outcomes(&cut),
            "the framer's output depends on the chunking {chunks:?}"
        );
        for m in cut.iter().filter_map(|r| r.as_ref().ok()) {
            let out = m.to_bytes();
            let again = parse_framed(out.clone(), &opts, Framing::Stream)
                .unwrap_or_else(|e| panic!("framed message does not re-parse: {e}"));
            assert_eq!(again.to_bytes(), out);
            let mut m = m.clone();
            edit_everything(&mut m);
            touch(&m);
        }
    }
}

/// The values compared between two parses of the same bytes.
fn summary(m: &SipMessage) -> String {
    let msg = m.message();
    let start = match m {
        SipMessage::Request(r) => format!("{} {}", r.method(), r.uri_str()),
        SipMessage::Response(r) => format!("{} {}", r.status(), r.reason()),
    };
    format!(
        "{start} | {:?} | {:?} | {:?} | {:?} | {:?} | {:?} | {:?} | {} | {:?} | {:?}",
        msg.via().map(|v| v.as_str()),
        msg.from().map(|f| f.as_str()),
        msg.to().map(|f| f.as_str()),
        msg.call_id(),
        msg.cseq(),
        msg.max_forwards(),
        msg.content_length(),
        msg.headers().len(),
        msg.body(),
        msg.header_fault().map(|f| &f.kind),
    )
}

thread_local! {
    /// The generator of target `structured`, built once (its regexes compile when built).
    static DAMAGED: BoxedStrategy<Damaged> = sip_testkit::strategy::damaged().boxed();
}

/// Target `structured`: `data` keys the choices of sip-testkit's message generator, which
/// builds a valid request or response (RFC 3261 §7, §25.1: every header spelling, folds,
/// bodies) and then, three times out of four, damages it (bit flips, SIP delimiters
/// inserted, deletions, truncations, a header value replaced by noise).
///
/// Checks that: an undamaged message parses in lenient and strict mode to exactly the
/// generated values and serializes back byte for byte; whatever comes out, damaged or not,
/// passes [`parse_target`] and, fed as a stream, [`framer_target`].
pub fn structured_target(data: &[u8]) {
    let Some(d) = DAMAGED.with(|s| generate_from_bytes(s, data)) else {
        return;
    };
    let bytes = d.to_bytes();
    if d.damage.is_empty() {
        for opts in modes() {
            let m = parse(Bytes::from(bytes.clone()), &opts).unwrap_or_else(|e| {
                panic!("a generated message does not parse: {e}\n{}", show(&bytes))
            });
            assert_eq!(show(&m.to_bytes()), show(&bytes), "serialization differs");
            if let Err(e) = check_expected(&m, &d.spec) {
                panic!("{e}\n{}", show(&bytes));
            }
        }
    }
    parse_target(&bytes);
    let mut stream = data.get(..2).unwrap_or(&[0, 0]).to_vec();
    stream.extend_from_slice(&bytes);
    framer_target(&stream);
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &[u8] = b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.example.com>\r\n\
Content-Length: 4\r\n\
\r\n\
v=0\r\n";

    #[test]
    fn bodies_accept_valid_and_broken_input() {
        for input in [
            INVITE,
            &INVITE[..60],
            b"",
            b"\r\n\r\n",
            b"SIP/2.0 200 OK\r\n\r\n",
        ] {
            parse_target(input);
            framer_target(input);
            structured_target(input);
        }
    }

    #[test]
    fn structured_inputs_cover_valid_and_damaged_messages() {
        let mut undamaged = 0;
        for i in 0u32..64 {
            let data = i.to_le_bytes();
            structured_target(&data);
            let d = DAMAGED.with(|s| generate_from_bytes(s, &data)).unwrap();
            undamaged += usize::from(d.damage.is_empty());
        }
        assert!((4..60).contains(&undamaged), "{undamaged} of 64 undamaged");
    }

    #[test]
    fn frame_cuts_a_stream_at_every_chunk_size() {
        let mut stream = INVITE[..INVITE.len() - 1].to_vec();
        stream.extend_from_slice(b"\r\n\r\n");
        stream.extend_from_slice(&INVITE[..INVITE.len() - 1]);
        for n in [1, 2, 5, 64, stream.len()] {
            let (got, _) = frame(&stream, &[n], ParseOptions::lenient(), true);
            let got: Vec<Bytes> = got.into_iter().map(|r| r.unwrap().to_bytes()).collect();
            assert_eq!(got, [&INVITE[..INVITE.len() - 1]; 2], "chunk size {n}");
        }
    }
}
