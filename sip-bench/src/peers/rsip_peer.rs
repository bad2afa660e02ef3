//! `rsip` 0.4: nom-based parser; headers stay untyped strings until `.typed()` is called.

use crate::{Peer, PeerError, Probe, Serialize};
use rsip::prelude::*;

/// The `rsip` crate.
#[derive(Debug, Clone, Copy)]
pub struct Rsip;

/// rsip's typed forms of the six headers. Call-ID has no typed form in rsip: it is the
/// untyped string.
#[derive(Debug)]
pub struct Decoded<'m> {
    via: rsip::typed::Via,
    from: rsip::typed::From,
    to: rsip::typed::To,
    call_id: &'m str,
    cseq: rsip::typed::CSeq,
    contact: rsip::typed::Contact,
}

impl Peer for Rsip {
    const NAME: &'static str = "rsip";
    type Message = rsip::SipMessage;
    type Decoded<'m> = Decoded<'m>;

    fn parse(input: &bytes::Bytes) -> Result<Self::Message, PeerError> {
        rsip::SipMessage::try_from(input.as_ref()).map_err(PeerError::parse)
    }

    fn decode(msg: &Self::Message) -> Result<Decoded<'_>, PeerError> {
        let h = |name| move |e| PeerError::header(name, e);
        Ok(Decoded {
            via: msg.via_header().and_then(|v| v.typed()).map_err(h("Via"))?,
            from: msg
                .from_header()
                .and_then(|v| v.typed())
                .map_err(h("From"))?,
            to: msg.to_header().and_then(|v| v.typed()).map_err(h("To"))?,
            call_id: msg
                .call_id_header()
                .map(|v| v.value())
                .map_err(h("Call-ID"))?,
            cseq: msg
                .cseq_header()
                .and_then(|v| v.typed())
                .map_err(h("CSeq"))?,
            contact: msg
                .contact_header()
                .and_then(|v| v.typed())
                .map_err(h("Contact"))?,
        })
    }

    fn probe<'a>(d: &'a Decoded<'_>) -> Result<Probe<'a>, PeerError> {
        Ok(Probe {
            via_branch: d
                .via
                .branch()
                .ok_or(PeerError::Missing("Via branch"))?
                .value()
                .as_bytes(),
            from_tag: d
                .from
                .tag()
                .ok_or(PeerError::Missing("From tag"))?
                .value()
                .as_bytes(),
            to_tag: d.to.tag().map(|t| t.value().as_bytes()),
            call_id: d.call_id.as_bytes(),
            cseq: d.cseq.seq,
            cseq_method: &d.cseq.method,
            contact_uri: &d.contact.uri,
        })
    }
}

impl Serialize for Rsip {
    fn serialize(msg: &Self::Message) -> Vec<u8> {
        // rsip writes through `Display`; `From<SipMessage> for Vec<u8>` does the same but
        // consumes the message.
        msg.to_string().into_bytes()
    }
}
