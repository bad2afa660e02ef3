//! The wire format: a query message for one [`RecordType`], and a response read back into
//! the core's [`DnsAnswer`].

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType as Wire};
use sip_core::resolver::{
    DnsAnswer, DnsRecord, MAX_RECORDS_PER_ANSWER, Naptr, RecordData, RecordType, Srv,
};

/// The EDNS0 payload size advertised (RFC 6891 §6.2.5; 1232 avoids IP fragmentation).
const EDNS_PAYLOAD: u16 = 1232;

/// The wire type of a record type the core asks for.
pub(crate) fn wire_type(t: RecordType) -> Wire {
    match t {
        RecordType::Naptr => Wire::NAPTR,
        RecordType::Srv => Wire::SRV,
        RecordType::A => Wire::A,
        RecordType::Aaaa => Wire::AAAA,
    }
}

/// The fully qualified name for `name` (the core's names carry no trailing dot); `None`
/// when it is not a valid DNS name.
pub(crate) fn fqdn(name: &str) -> Option<Name> {
    Name::from_ascii(format!("{name}.")).ok()
}

/// A recursive query (RD set, RFC 1035 §4.1.1) with message id `id` for `name`'s `record_type`
/// records, with an EDNS0 OPT record. `None` if it cannot be encoded.
pub(crate) fn query_message(id: u16, name: &Name, record_type: RecordType) -> Option<Vec<u8>> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(name.clone(), wire_type(record_type)));
    let mut edns = Edns::new();
    edns.set_max_payload(EDNS_PAYLOAD);
    m.set_edns(edns);
    m.to_vec().ok()
}

/// The core's answer for a DNS response: its records (at most
/// [`MAX_RECORDS_PER_ANSWER`], other types skipped), NXDOMAIN, NODATA (no error, no
/// record of the type asked), or `Failed` (truncated, or any other response code).
pub(crate) fn answer_from(m: &Message) -> DnsAnswer {
    if m.metadata.truncation {
        return DnsAnswer::Failed;
    }
    // RFC 2308 §5: the negative TTL is the SOA's minimum, bounded by the SOA's own TTL.
    let negative_ttl = m.authorities.iter().find_map(|r| match &r.data {
        RData::SOA(soa) => Some(soa.minimum.min(r.ttl)),
        _ => None,
    });
    match m.metadata.response_code {
        ResponseCode::NXDomain => DnsAnswer::NxDomain { ttl: negative_ttl },
        ResponseCode::NoError => {
            let records: Vec<DnsRecord> = m
                .answers
                .iter()
                .filter_map(|r| record_data(&r.data).map(|data| DnsRecord { ttl: r.ttl, data }))
                .take(MAX_RECORDS_PER_ANSWER)
                .collect();
            if records.is_empty() {
                DnsAnswer::NoData { ttl: negative_ttl }
            } else {
                DnsAnswer::Records(records)
            }
        }
        _ => DnsAnswer::Failed,
    }
}

fn record_data(d: &RData) -> Option<RecordData> {
    Some(match d {
        RData::A(a) => RecordData::A(a.0),
        RData::AAAA(a) => RecordData::Aaaa(a.0),
        RData::SRV(s) => RecordData::Srv(Srv {
            priority: s.priority,
            weight: s.weight,
            port: s.port,
            target: s.target.to_ascii().into(),
        }),
        RData::NAPTR(n) => RecordData::Naptr(Naptr {
            order: n.order,
            preference: n.preference,
            flags: String::from_utf8_lossy(&n.flags).into(),
            services: String::from_utf8_lossy(&n.services).into(),
            replacement: n.replacement.to_ascii().into(),
        }),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::Record;
    use hickory_proto::rr::rdata::A;

    /// A response is read back into the core's form: records, NXDOMAIN, NODATA, TC.
    #[test]
    fn responses_become_answers() {
        let name = Name::from_ascii("pbx.example.test.").unwrap();
        let mut m = Message::new(7, MessageType::Response, OpCode::Query);
        m.add_query(Query::query(name.clone(), Wire::A));
        m.answers
            .push(Record::from_rdata(name, 60, RData::A(A::new(192, 0, 2, 1))));
        let bytes = m.to_vec().unwrap();
        let back = Message::from_vec(&bytes).unwrap();
        assert_eq!(
            answer_from(&back),
            DnsAnswer::Records(vec![DnsRecord {
                ttl: 60,
                data: RecordData::A([192, 0, 2, 1].into())
            }])
        );
        m.answers.clear();
        assert_eq!(answer_from(&m), DnsAnswer::NoData { ttl: None });
        m.metadata.response_code = ResponseCode::NXDomain;
        assert_eq!(answer_from(&m), DnsAnswer::NxDomain { ttl: None });
        m.metadata.truncation = true;
        assert_eq!(answer_from(&m), DnsAnswer::Failed);
    }

    /// The query asks recursion for the one name and type, with EDNS0.
    #[test]
    fn query_carries_name_type_rd_and_edns() {
        let name = fqdn("_sip._udp.example.test").unwrap();
        let bytes = query_message(0x1234, &name, RecordType::Srv).unwrap();
        let m = Message::from_vec(&bytes).unwrap();
        assert_eq!(m.metadata.id, 0x1234);
        assert!(m.metadata.recursion_desired);
        assert_eq!(m.queries.len(), 1);
        assert_eq!(m.queries[0].query_type(), Wire::SRV);
        assert_eq!(*m.queries[0].name(), name);
        assert_eq!(m.edns.as_ref().map(|e| e.max_payload()), Some(EDNS_PAYLOAD));
    }
}
