//! The client's state machine: queries out, matched with their responses, retransmitted
//! and given up on. No socket, no clock: the driver sends, reads, and passes the time in.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType};
use hickory_proto::rr::{Name, RecordType as Wire};
use sip_core::resolver::{DnsAnswer, DnsQuery, DnsQueryId};
use sip_core::rng::IdGenerator;

use crate::message::{answer_from, fqdn, query_message, wire_type};

/// How long an attempt waits for its response.
pub const ATTEMPT: Duration = Duration::from_secs(2);
/// Attempts per query before it is answered [`DnsAnswer::Failed`].
pub const ATTEMPTS: u8 = 2;
/// Most queries out at once (the core bounds them too); past it a query fails at once.
pub const MAX_OUTSTANDING: usize = 256;

#[derive(Debug)]
struct Out {
    query: DnsQueryId,
    name: Name,
    record_type: Wire,
    packet: Vec<u8>,
    deadline: Instant,
    attempts: u8,
}

/// What became of a query handed to [`DnsClient::query`].
#[derive(Debug, PartialEq, Eq)]
pub enum Started<'a> {
    /// Send this datagram to [`DnsClient::server`]; the answer comes from
    /// [`DnsClient::receive`] or [`DnsClient::handle_timeout`].
    Send(&'a [u8]),
    /// Answered at once (no server, too many queries out, a name that is not a DNS name):
    /// hand it to the endpoint.
    Answered(DnsQueryId, DnsAnswer),
}

/// The client. See the [crate docs](crate).
#[derive(Debug)]
pub struct DnsClient {
    server: Option<SocketAddr>,
    ids: IdGenerator,
    out: HashMap<u16, Out>,
}

impl DnsClient {
    /// A client asking `server` (none: every query fails at once); message ids are drawn
    /// from a generator seeded with `seed` (RFC 5452 §9.2: ids the peer cannot guess).
    pub fn new(server: Option<SocketAddr>, seed: u64) -> Self {
        DnsClient {
            server,
            ids: IdGenerator::new(seed ^ 0x646e_735f_6964),
            out: HashMap::new(),
        }
    }

    /// The server every query goes to.
    pub fn server(&self) -> Option<SocketAddr> {
        self.server
    }

    /// Queries out (sent, not answered yet).
    pub fn outstanding(&self) -> usize {
        self.out.len()
    }

    /// The earliest retransmission or give-up.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.out.values().map(|o| o.deadline).min()
    }

    /// Starts `q` at `now`: the datagram to send, or the answer when there is none to send.
    pub fn query(&mut self, q: DnsQuery, now: Instant) -> Started<'_> {
        let failed = Started::Answered(q.id, DnsAnswer::Failed);
        if self.server.is_none() || self.out.len() >= MAX_OUTSTANDING {
            return failed;
        }
        let Some(name) = fqdn(&q.name) else {
            return failed;
        };
        let mut id = self.ids.u64() as u16;
        while self.out.contains_key(&id) {
            id = id.wrapping_add(1);
        }
        let Some(packet) = query_message(id, &name, q.record_type) else {
            return failed;
        };
        let out = self.out.entry(id).insert_entry(Out {
            query: q.id,
            name,
            record_type: wire_type(q.record_type),
            packet,
            deadline: now + ATTEMPT,
            attempts: 1,
        });
        Started::Send(&out.into_mut().packet)
    }

    /// Gives up on `query` (its datagram could not be sent): its answer, `Failed`, if it
    /// was out.
    pub fn give_up(&mut self, query: DnsQueryId) -> Option<(DnsQueryId, DnsAnswer)> {
        let id = self
            .out
            .iter()
            .find_map(|(id, o)| (o.query == query).then_some(*id))?;
        self.out.remove(&id).map(|o| (o.query, DnsAnswer::Failed))
    }

    /// A datagram read from `from`: the answer of the query it responds to, or `None` if it
    /// responds to none (another source, an unknown id, another question, not a response,
    /// not a DNS message — RFC 5452 §9.1).
    pub fn receive(
        &mut self,
        from: SocketAddr,
        datagram: &[u8],
    ) -> Option<(DnsQueryId, DnsAnswer)> {
        if Some(from) != self.server {
            return None;
        }
        let m = Message::from_vec(datagram).ok()?;
        let out = self.out.get(&m.metadata.id)?;
        let same_question = m
            .queries
            .first()
            .is_some_and(|q| q.query_type() == out.record_type && *q.name() == out.name);
        if m.metadata.message_type != MessageType::Response || !same_question {
            return None;
        }
        let out = self.out.remove(&m.metadata.id)?;
        Some((out.query, answer_from(&m)))
    }

    /// At `now`: hands `resend` each datagram due again, and returns the queries given up
    /// on (sent [`ATTEMPTS`] times without a response), each answered `Failed`.
    pub fn handle_timeout(
        &mut self,
        now: Instant,
        mut resend: impl FnMut(&[u8]),
    ) -> Vec<(DnsQueryId, DnsAnswer)> {
        let mut failed = Vec::new();
        self.out.retain(|_, o| {
            if o.deadline > now {
                return true;
            }
            if o.attempts >= ATTEMPTS {
                failed.push((o.query, DnsAnswer::Failed));
                return false;
            }
            o.attempts += 1;
            o.deadline = now + ATTEMPT;
            resend(&o.packet);
            true
        });
        failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{OpCode, Query};
    use hickory_proto::rr::rdata::A;
    use hickory_proto::rr::{RData, Record};
    use sip_core::resolver::{DnsRecord, RecordData, RecordType};

    const SERVER: &str = "127.0.0.1:5353";

    fn query(id: u64, name: &str) -> DnsQuery {
        DnsQuery {
            id: DnsQueryId(id),
            name: name.into(),
            record_type: RecordType::A,
        }
    }

    /// The response a server would send to `packet`, with one A record.
    fn response_to(packet: &[u8]) -> Message {
        let q = Message::from_vec(packet).unwrap();
        let mut m = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
        let question = q.queries[0].clone();
        m.answers.push(Record::from_rdata(
            question.name().clone(),
            30,
            RData::A(A::new(192, 0, 2, 7)),
        ));
        m.add_query(question);
        m
    }

    #[test]
    fn answer_is_matched_by_source_id_and_question() {
        let mut c = DnsClient::new(Some(SERVER.parse().unwrap()), 1);
        let now = Instant::now();
        let Started::Send(packet) = c.query(query(9, "pbx.example.test"), now) else {
            panic!("not sent");
        };
        let packet = packet.to_vec();
        let good = response_to(&packet);
        let bytes = good.to_vec().unwrap();
        // Another source, another id, another question, a query, garbage: ignored.
        assert_eq!(c.receive("127.0.0.1:53".parse().unwrap(), &bytes), None);
        let mut other_id = good.clone();
        other_id.metadata.id = other_id.metadata.id.wrapping_add(1);
        let server = SERVER.parse().unwrap();
        assert_eq!(c.receive(server, &other_id.to_vec().unwrap()), None);
        let mut other_q = good.clone();
        other_q.queries[0] = Query::query(Name::from_ascii("x.example.test.").unwrap(), Wire::A);
        assert_eq!(c.receive(server, &other_q.to_vec().unwrap()), None);
        assert_eq!(c.receive(server, &packet), None);
        assert_eq!(c.receive(server, b"\x00\x01junk"), None);
        assert_eq!(c.outstanding(), 1);
        assert_eq!(
            c.receive(server, &bytes),
            Some((
                DnsQueryId(9),
                DnsAnswer::Records(vec![DnsRecord {
                    ttl: 30,
                    data: RecordData::A([192, 0, 2, 7].into())
                }])
            ))
        );
        assert_eq!(c.outstanding(), 0);
        // A duplicate of the response answers nothing more.
        assert_eq!(c.receive(server, &bytes), None);
    }

    #[test]
    fn sent_again_once_then_failed() {
        let mut c = DnsClient::new(Some(SERVER.parse().unwrap()), 2);
        let t0 = Instant::now();
        let Started::Send(first) = c.query(query(1, "a.example.test"), t0) else {
            panic!("not sent");
        };
        let first = first.to_vec();
        assert_eq!(c.next_deadline(), Some(t0 + ATTEMPT));
        let mut sent = Vec::new();
        let early = c.handle_timeout(t0 + ATTEMPT - Duration::from_millis(1), |p| {
            sent.push(p.to_vec())
        });
        assert!(early.is_empty() && sent.is_empty());
        let t1 = t0 + ATTEMPT;
        assert!(c.handle_timeout(t1, |p| sent.push(p.to_vec())).is_empty());
        assert_eq!(sent, vec![first]);
        assert_eq!(c.next_deadline(), Some(t1 + ATTEMPT));
        let failed = c.handle_timeout(t1 + ATTEMPT, |p| sent.push(p.to_vec()));
        assert_eq!(failed, vec![(DnsQueryId(1), DnsAnswer::Failed)]);
        assert_eq!(sent.len(), 1);
        assert_eq!(c.next_deadline(), None);
    }

    #[test]
    fn without_server_or_room_a_query_fails_at_once() {
        let now = Instant::now();
        let mut none = DnsClient::new(None, 3);
        assert_eq!(
            none.query(query(1, "a.example.test"), now),
            Started::Answered(DnsQueryId(1), DnsAnswer::Failed)
        );
        let mut c = DnsClient::new(Some(SERVER.parse().unwrap()), 3);
        for i in 0..MAX_OUTSTANDING as u64 {
            assert!(matches!(
                c.query(query(i, "a.example.test"), now),
                Started::Send(_)
            ));
        }
        let over = MAX_OUTSTANDING as u64;
        assert_eq!(
            c.query(query(over, "a.example.test"), now),
            Started::Answered(DnsQueryId(over), DnsAnswer::Failed)
        );
        // Distinct message ids for every query out.
        assert_eq!(c.outstanding(), MAX_OUTSTANDING);
        assert_eq!(
            c.give_up(DnsQueryId(5)),
            Some((DnsQueryId(5), DnsAnswer::Failed))
        );
        assert_eq!(c.give_up(DnsQueryId(5)), None);
        assert_eq!(c.outstanding(), MAX_OUTSTANDING - 1);
    }

    #[test]
    fn a_name_that_is_no_dns_name_fails_at_once() {
        let mut c = DnsClient::new(Some(SERVER.parse().unwrap()), 4);
        let long = "a".repeat(300);
        assert_eq!(
            c.query(query(1, &long), Instant::now()),
            Started::Answered(DnsQueryId(1), DnsAnswer::Failed)
        );
    }
}
