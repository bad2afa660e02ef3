//! `sipx-sip` 1.0: sans-IO parser that keeps header lines as `Bytes` views into the input
//! buffer and decodes typed headers on demand.

use crate::{Peer, PeerError, Probe, Serialize};
use sipx_sip::headers::{CSeq, CallId, Contact, From, To, Via};
use sipx_sip::{Limits, Message, TypedHeader};

/// The `sipx-sip` crate (library name `sipx_sip`).
#[derive(Debug, Clone, Copy)]
pub struct Sipx;

/// sipx's typed forms of the six headers; all own their data (Call-ID is copied to a `Vec`).
#[derive(Debug)]
pub struct Decoded {
    via: Via,
    from: From,
    to: To,
    call_id: CallId,
    cseq: CSeq,
    contact: Contact,
}

fn typed<H: TypedHeader>(msg: &Message, name: &'static str) -> Result<H, PeerError> {
    match msg.headers().typed::<H>() {
        None => Err(PeerError::Missing(name)),
        Some(r) => r.map_err(|e| PeerError::header(name, e)),
    }
}

impl Peer for Sipx {
    const NAME: &'static str = "sipx";
    type Message = Message;
    type Decoded<'m> = Decoded;

    fn parse(input: &bytes::Bytes) -> Result<Self::Message, PeerError> {
        // The parsed message keeps views into the buffer: cloning a `Bytes` is a refcount
        // bump (free for the `Bytes::from_static` the bench uses), not a copy.
        sipx_sip::parse_datagram(input.clone(), &Limits::datagram()).map_err(PeerError::parse)
    }

    fn decode(msg: &Self::Message) -> Result<Decoded, PeerError> {
        Ok(Decoded {
            via: typed(msg, "Via")?,
            from: typed(msg, "From")?,
            to: typed(msg, "To")?,
            call_id: typed(msg, "Call-ID")?,
            cseq: typed(msg, "CSeq")?,
            contact: typed(msg, "Contact")?,
        })
    }

    fn probe<'a>(d: &'a Decoded) -> Result<Probe<'a>, PeerError> {
        Ok(Probe {
            via_branch: d.via.branch().ok_or(PeerError::Missing("Via branch"))?,
            from_tag: d.from.tag().ok_or(PeerError::Missing("From tag"))?,
            to_tag: d.to.tag(),
            call_id: &d.call_id.0,
            cseq: d.cseq.sequence,
            cseq_method: &d.cseq.method,
            contact_uri: &d.contact.uri,
        })
    }
}

impl Serialize for Sipx {
    fn serialize(msg: &Self::Message) -> Vec<u8> {
        let mut out = Vec::new();
        msg.write_to(&mut out);
        out
    }
}
