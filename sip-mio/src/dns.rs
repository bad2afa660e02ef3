//! The driver's DNS client for the core's RFC 3263 resolver: a non-blocking UDP socket
//! registered with the caller's `mio::Poll`, so lookups never block the loop and need no
//! thread. Each [`DnsQuery`] of the endpoint becomes one DNS message (encoded and decoded
//! with `hickory-proto`, EDNS0 with a 1232-byte payload) sent to one server; an answer
//! is matched by id, source and question (RFC 5452), a query without one is sent again
//! once and then answered [`DnsAnswer::Failed`]. A truncated answer (TC) is `Failed` too:
//! no TCP fallback — the records RFC 3263 asks for fit EDNS0 sizes.
//!
//! Why not hickory-resolver on a helper thread: it needs a tokio runtime on that thread,
//! a channel and a waker; a socket in the loop is what a mio user expects, and the
//! procedure (and the cache) are the core's anyway.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType as Wire};
use mio::{Interest, Registry, Token};
use sip_core::resolver::{
    DnsAnswer, DnsQuery, DnsQueryId, DnsRecord, MAX_RECORDS_PER_ANSWER, Naptr, RecordData,
    RecordType, Srv,
};
use sip_core::rng::IdGenerator;

/// How long an attempt waits for its answer.
const ATTEMPT: Duration = Duration::from_secs(2);
/// Attempts per query.
const ATTEMPTS: u8 = 2;
/// Most queries out at once (the core bounds them too).
const MAX_OUT: usize = 256;

#[derive(Debug)]
struct Out {
    query: DnsQueryId,
    name: Name,
    record_type: Wire,
    packet: Vec<u8>,
    deadline: Instant,
    attempts: u8,
}

/// The client. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct DnsClient {
    server: Option<SocketAddr>,
    token: Option<Token>,
    socket: Option<mio::net::UdpSocket>,
    ids: IdGenerator,
    out: HashMap<u16, Out>,
    buf: Vec<u8>,
}

impl DnsClient {
    /// A client for `server` (none: every query fails) whose socket will be registered on
    /// `token` (none: no token was free, every query fails).
    pub(crate) fn new(server: Option<SocketAddr>, token: Option<Token>, seed: u64) -> Self {
        DnsClient {
            server,
            token,
            socket: None,
            ids: IdGenerator::new(seed ^ 0x646e_735f_6964),
            out: HashMap::new(),
            buf: vec![0; 4096],
        }
    }

    /// Whether `token` is the client's.
    pub(crate) fn owns(&self, token: Token) -> bool {
        self.token == Some(token)
    }

    /// The earliest retransmission or give-up.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.out.values().map(|o| o.deadline).min()
    }

    /// Sends `q`; `Some` with the answer at once when it cannot be sent.
    pub(crate) fn send(
        &mut self,
        registry: &Registry,
        q: DnsQuery,
        now: Instant,
    ) -> Option<(DnsQueryId, DnsAnswer)> {
        let failed = Some((q.id, DnsAnswer::Failed));
        let (Some(server), Some(token)) = (self.server, self.token) else {
            return failed;
        };
        if self.out.len() >= MAX_OUT {
            return failed;
        }
        if self.socket.is_none() {
            let any: SocketAddr = if server.is_ipv4() {
                ([0, 0, 0, 0], 0).into()
            } else {
                (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
            };
            let mut s = match mio::net::UdpSocket::bind(any) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "DNS socket");
                    return failed;
                }
            };
            if let Err(e) = registry.register(&mut s, token, Interest::READABLE) {
                tracing::warn!(error = %e, "DNS socket registration");
                return failed;
            }
            self.socket = Some(s);
        }
        let Ok(name) = Name::from_ascii(format!("{}.", q.name)) else {
            return failed;
        };
        let record_type = wire_type(q.record_type);
        let mut id = self.ids.u64() as u16;
        while self.out.contains_key(&id) {
            id = id.wrapping_add(1);
        }
        let mut m = Message::new(id, MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(name.clone(), record_type));
        let mut edns = Edns::new();
        edns.set_max_payload(1232);
        m.set_edns(edns);
        let Ok(packet) = m.to_vec() else {
            return failed;
        };
        let sent = self.socket.as_ref().map(|s| s.send_to(&packet, server));
        if !matches!(sent, Some(Ok(_))) {
            return failed;
        }
        self.out.insert(
            id,
            Out {
                query: q.id,
                name,
                record_type,
                packet,
                deadline: now + ATTEMPT,
                attempts: 1,
            },
        );
        None
    }

    /// Reads every answer that arrived.
    pub(crate) fn read(&mut self) -> Vec<(DnsQueryId, DnsAnswer)> {
        let mut answers = Vec::new();
        let Some(socket) = self.socket.as_ref() else {
            return answers;
        };
        loop {
            let (n, from) = match socket.recv_from(&mut self.buf) {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break, // an ICMP error for an earlier send: the timer decides
            };
            if Some(from) != self.server {
                continue;
            }
            let Ok(m) = Message::from_vec(&self.buf[..n]) else {
                continue;
            };
            let Some(out) = self.out.get(&m.metadata.id) else {
                continue;
            };
            let same_question = m
                .queries
                .first()
                .is_some_and(|q| q.query_type() == out.record_type && *q.name() == out.name);
            if m.metadata.message_type != MessageType::Response || !same_question {
                continue;
            }
            if let Some(out) = self.out.remove(&m.metadata.id) {
                answers.push((out.query, answer_from(&m)));
            }
        }
        answers
    }

    /// Sends again what is due, and gives up on what was sent [`ATTEMPTS`] times.
    pub(crate) fn handle_timeout(&mut self, now: Instant) -> Vec<(DnsQueryId, DnsAnswer)> {
        let mut failed = Vec::new();
        let due: Vec<u16> = self
            .out
            .iter()
            .filter(|(_, o)| o.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let Some(o) = self.out.get_mut(&id) else {
                continue;
            };
            if o.attempts >= ATTEMPTS {
                if let Some(o) = self.out.remove(&id) {
                    failed.push((o.query, DnsAnswer::Failed));
                }
                continue;
            }
            o.attempts += 1;
            o.deadline = now + ATTEMPT;
            if let (Some(s), Some(server)) = (self.socket.as_ref(), self.server) {
                let _ = s.send_to(&o.packet, server);
            }
        }
        failed
    }
}

fn wire_type(t: RecordType) -> Wire {
    match t {
        RecordType::Naptr => Wire::NAPTR,
        RecordType::Srv => Wire::SRV,
        RecordType::A => Wire::A,
        RecordType::Aaaa => Wire::AAAA,
    }
}

/// The core's answer for a DNS response.
fn answer_from(m: &Message) -> DnsAnswer {
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

/// The first `nameserver` of `/etc/resolv.conf`, port 53: the system's resolver.
pub(crate) fn system_server() -> Option<SocketAddr> {
    let text = std::fs::read_to_string("/etc/resolv.conf").ok()?;
    first_nameserver(&text)
}

fn first_nameserver(text: &str) -> Option<SocketAddr> {
    text.lines().find_map(|l| {
        let mut words = l.split_whitespace();
        (words.next()? == "nameserver")
            .then(|| words.next()?.parse::<std::net::IpAddr>().ok())
            .flatten()
            .map(|ip| SocketAddr::new(ip, 53))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_nameserver() {
        let text = "# comment\nsearch example.test\nnameserver 192.0.2.53\nnameserver ::1\n";
        assert_eq!(
            first_nameserver(text),
            Some("192.0.2.53:53".parse().unwrap())
        );
        assert_eq!(first_nameserver("options ndots:1\n"), None);
    }

    /// A response is read back into the core's form: records, NXDOMAIN, NODATA, TC.
    #[test]
    fn responses_become_answers() {
        use hickory_proto::rr::Record;
        use hickory_proto::rr::rdata::A;
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
}
