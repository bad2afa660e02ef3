//! `rsipstack` 0.7: carries its own `sip` module (an rsip descendant) with a hand-written,
//! line-splitting message parser; headers stay untyped strings until `.typed()`.

use crate::{Peer, PeerError, Probe, Serialize};
use rsipstack::sip::prelude::*;
use rsipstack::sip::typed;

/// The `rsipstack` crate's `rsipstack::sip` parser.
#[derive(Debug, Clone, Copy)]
pub struct RsipStack;

/// rsipstack's typed forms of the six headers (Call-ID is untyped there).
#[derive(Debug)]
pub struct Decoded<'m> {
    via: typed::Via,
    from: typed::From,
    to: typed::To,
    call_id: &'m str,
    cseq: typed::CSeq,
    contact: typed::Contact,
}

impl Peer for RsipStack {
    const NAME: &'static str = "rsipstack";
    type Message = rsipstack::sip::SipMessage;
    type Decoded<'m> = Decoded<'m>;

    fn parse(input: &bytes::Bytes) -> Result<Self::Message, PeerError> {
        rsipstack::sip::SipMessage::try_from(input.as_ref()).map_err(PeerError::parse)
    }

    fn decode(msg: &Self::Message) -> Result<Decoded<'_>, PeerError> {
        let h = |name| move |e| PeerError::header(name, e);
        Ok(Decoded {
            // `top_via_header` splits off the first comma-separated hop before typing it.
            via: msg
                .top_via_header()
                .and_then(|v| v.typed())
                .map_err(h("Via"))?,
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

impl Serialize for RsipStack {
    fn serialize(msg: &Self::Message) -> Vec<u8> {
        msg.to_bytes()
    }
}
