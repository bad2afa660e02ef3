//! One [`crate::Peer`] implementation per parser under test.
//!
//! `SipCore` (parse without the semantic checks) and `SipCoreChecked` (full `parse`) are
//! this workspace's parser; the others are the public peers it is compared with.

mod rsip_peer;
mod rsipstack_peer;
mod sip_core;
mod sipx_peer;

pub use rsip_peer::Rsip;
pub use rsipstack_peer::RsipStack;
pub use sip_core::{SipCore, SipCoreChecked};
pub use sipx_peer::Sipx;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CASES, Case, Fields, HEADERS40, Peer, PeerError, Serialize, fields};
    use bytes::Bytes;

    /// What `P` decodes from `case`, or the error it gives.
    fn decoded<P: Peer>(case: Case) -> Result<Fields, PeerError> {
        fields::<P>(&Bytes::from_static(case.bytes))
    }

    /// The expected fields with the Contact URI replaced.
    fn with_contact(case: Case, contact_uri: &str) -> Fields {
        Fields {
            contact_uri: contact_uri.to_owned(),
            ..Fields::from(case.expected)
        }
    }

    #[test]
    fn sip_core_decodes_every_message_exactly() {
        for case in CASES {
            assert_eq!(
                decoded::<SipCore>(case).ok(),
                Some(Fields::from(case.expected)),
                "{}",
                case.name
            );
            assert_eq!(
                decoded::<SipCoreChecked>(case).ok(),
                Some(Fields::from(case.expected)),
                "{} (checked)",
                case.name
            );
        }
    }

    #[test]
    fn sip_core_reports_a_broken_decoded_header_as_such() {
        // CSeq without a method: the message frames, but the decoded value is a fault.
        let text =
            String::from_utf8_lossy(crate::REGISTER.bytes).replace("CSeq: 2 REGISTER", "CSeq: 2");
        let input = Bytes::from(text);
        assert!(SipCore::parse(&input).is_ok(), "parse_unchecked frames it");
        let msg = SipCore::parse(&input).expect("frames");
        assert!(matches!(SipCore::decode(&msg), Err(PeerError::Parse(_))));
        assert!(matches!(
            SipCoreChecked::parse(&input),
            Err(PeerError::Parse(_))
        ));
    }

    #[test]
    fn sipx_decodes_every_message_exactly() {
        for case in CASES {
            assert_eq!(
                decoded::<Sipx>(case).ok(),
                Some(Fields::from(case.expected)),
                "{}",
                case.name
            );
        }
    }

    #[test]
    fn rsip_uppercases_transport_and_rejects_a_quoted_contact_param() {
        let upper = |case: Case| {
            case.expected
                .contact_uri
                .replace("transport=udp", "transport=UDP")
                .replace("transport=tcp", "transport=TCP")
        };
        for case in [crate::INVITE, crate::OK200, crate::REGISTER] {
            assert_eq!(
                decoded::<Rsip>(case).ok(),
                Some(with_contact(case, &upper(case))),
                "{}",
                case.name
            );
        }
        // `+sip.instance="<urn:uuid:...>"` (RFC 5626 §4.1): the `<` inside the quoted
        // string ends rsip's name-addr early.
        match decoded::<Rsip>(HEADERS40) {
            Err(PeerError::Header { header, .. }) => assert_eq!(header, "Contact"),
            other => panic!("rsip headers40: {other:?}"),
        }
    }

    #[test]
    fn rsipstack_drops_transport_udp_from_contact_and_uppercases_others() {
        let expect = [
            (crate::INVITE, "sip:alice@pc33.atlanta.example.com:5060"),
            (crate::OK200, "sip:bob@client.biloxi.example.com:5060"),
            (crate::REGISTER, "sip:bob@192.0.2.4:5060;transport=TCP"),
            (
                HEADERS40,
                "sip:alice@pc33.atlanta.example.com:5061;transport=TLS",
            ),
        ];
        for (case, uri) in expect {
            assert_eq!(
                decoded::<RsipStack>(case).ok(),
                Some(with_contact(case, uri)),
                "{}",
                case.name
            );
        }
    }

    fn round_trips<P: Serialize>() {
        for case in CASES {
            let msg = P::parse(&Bytes::from_static(case.bytes)).expect(case.name);
            assert_eq!(P::serialize(&msg), case.bytes, "{} {}", P::NAME, case.name);
        }
    }

    #[test]
    fn every_peer_serializes_the_messages_back_byte_for_byte() {
        round_trips::<Rsip>();
        round_trips::<RsipStack>();
        round_trips::<Sipx>();
        round_trips::<SipCore>();
        round_trips::<SipCoreChecked>();
    }

    #[test]
    fn headers_cut_before_the_blank_line() {
        // No CRLFCRLF: the message cannot be framed (RFC 3261 §7.5).
        let cut = Bytes::from_static(crate::INVITE.bytes.get(..200).unwrap_or_default());
        // rsip accepts it: after the Via line it takes the remaining header lines as body.
        let rsip = Rsip::parse(&cut).expect("rsip accepts a message without a blank line");
        assert_eq!(rsip::message::HasHeaders::headers(&rsip).iter().count(), 1);
        assert!(rsip.body().starts_with(b"Max-Forwards: 70\r\nTo: Bob"));
        assert_eq!(rsip.body().len(), 200 - 43 - 78);
        assert!(matches!(RsipStack::parse(&cut), Err(PeerError::Parse(_))));
        assert!(matches!(Sipx::parse(&cut), Err(PeerError::Parse(_))));
        // sip-core (lenient) takes the end of a datagram as the end of the header section
        // only when the last header line is complete; here it ends mid-line.
        assert!(matches!(SipCore::parse(&cut), Err(PeerError::Parse(_))));
    }
}
