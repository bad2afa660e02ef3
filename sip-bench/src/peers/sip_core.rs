//! sip-core, this workspace's own parser: one forward pass that frames the message, keeps the
//! head as one `String` with spans into it, and decodes the top Via, From, To, Call-ID,
//! CSeq, Max-Forwards, Content-Length and the first Contact while it goes. `decode` reads
//! values the parse already produced, and parses the Contact's URI into its parts, as the
//! peers do (equal work).

use crate::{Peer, PeerError, Probe, Serialize};
use sip_core::message::{ContactValue, NameAddr, ParseOptions, SipMessage, Uri, Via};

/// sip-core with [`sip_core::message::parse_unchecked`] and lenient options: framing, start
/// line and the decoded headers, without the semantic checks (what an endpoint runs before it
/// decides whether to answer 400).
#[derive(Debug, Clone, Copy)]
pub struct SipCore;

/// sip-core with [`sip_core::message::parse`]: everything [`SipCore`] does plus the semantic
/// checks of `sip_core::message::validate` (mandatory headers, CSeq method, single-value
/// headers, every Via / Contact / Route / Record-Route value, Content-Type, token lists).
#[derive(Debug, Clone, Copy)]
pub struct SipCoreChecked;

/// The six values, borrowed from the parsed message's head.
#[derive(Debug)]
pub struct Decoded<'m> {
    via: Via<'m>,
    from: NameAddr<'m>,
    to: NameAddr<'m>,
    call_id: &'m str,
    cseq: (u32, &'m str),
    /// The first Contact's URI, parsed into its parts (`NameAddr::uri`): the peers parse
    /// it fully too, so the decode does equal work.
    contact_uri: Uri<'m>,
}

fn decode(msg: &SipMessage) -> Result<Decoded<'_>, PeerError> {
    let m = msg.message();
    if let Some(fault) = m.header_fault() {
        // A value the parse could not decode: report which one instead of `Missing`.
        return Err(PeerError::parse(fault.clone()));
    }
    Ok(Decoded {
        via: m.via().ok_or(PeerError::Missing("Via"))?,
        from: m.from().ok_or(PeerError::Missing("From"))?,
        to: m.to().ok_or(PeerError::Missing("To"))?,
        call_id: m.call_id().ok_or(PeerError::Missing("Call-ID"))?,
        cseq: m.cseq().ok_or(PeerError::Missing("CSeq"))?,
        contact_uri: match m.contact() {
            Some(ContactValue::Addr(a)) => {
                a.uri().map_err(|_| PeerError::Missing("Contact URI"))?
            }
            Some(ContactValue::Star) | None => return Err(PeerError::Missing("Contact")),
        },
    })
}

fn probe<'a>(d: &'a Decoded<'_>) -> Result<Probe<'a>, PeerError> {
    Ok(Probe {
        via_branch: d
            .via
            .branch()
            .ok_or(PeerError::Missing("Via branch"))?
            .as_bytes(),
        from_tag: d
            .from
            .tag()
            .ok_or(PeerError::Missing("From tag"))?
            .as_bytes(),
        to_tag: d.to.tag().map(str::as_bytes),
        call_id: d.call_id.as_bytes(),
        cseq: d.cseq.0,
        cseq_method: &d.cseq.1,
        contact_uri: &d.contact_uri,
    })
}

impl Peer for SipCore {
    const NAME: &'static str = "sip-core";
    type Message = SipMessage;
    type Decoded<'m> = Decoded<'m>;

    fn parse(input: &bytes::Bytes) -> Result<SipMessage, PeerError> {
        sip_core::message::parse_unchecked(input.clone(), &ParseOptions::default())
            .map_err(PeerError::parse)
    }

    fn decode(msg: &SipMessage) -> Result<Decoded<'_>, PeerError> {
        decode(msg)
    }

    fn probe<'a>(d: &'a Decoded<'_>) -> Result<Probe<'a>, PeerError> {
        probe(d)
    }
}

impl Peer for SipCoreChecked {
    const NAME: &'static str = "sip-core+check";
    type Message = SipMessage;
    type Decoded<'m> = Decoded<'m>;

    fn parse(input: &bytes::Bytes) -> Result<SipMessage, PeerError> {
        sip_core::message::parse(input.clone(), &ParseOptions::default()).map_err(PeerError::parse)
    }

    fn decode(msg: &SipMessage) -> Result<Decoded<'_>, PeerError> {
        decode(msg)
    }

    fn probe<'a>(d: &'a Decoded<'_>) -> Result<Probe<'a>, PeerError> {
        probe(d)
    }
}

impl Serialize for SipCore {
    fn serialize(msg: &SipMessage) -> Vec<u8> {
        // `to_bytes` gives a `Bytes` (one allocation of the exact length); turning it into a
        // `Vec` for the trait reuses that allocation (`Bytes` from a unique `BytesMut`).
        msg.to_bytes().into()
    }
}

impl Serialize for SipCoreChecked {
    fn serialize(msg: &SipMessage) -> Vec<u8> {
        msg.to_bytes().into()
    }
}
