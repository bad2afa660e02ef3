//! The DNS client of the SIP drivers, without I/O: the part of a stub resolver that does
//! not depend on a runtime, shared by `sip-mio` (a socket in the caller's `mio::Poll`)
//! and `sip-smol` (an `async-net`-style socket on `async-io`).
//!
//! The core's RFC 3263 resolver ([`sip_core::resolver`]) asks for records with a
//! [`DnsQuery`](sip_core::resolver::DnsQuery) and takes a [`DnsAnswer`](sip_core::resolver::DnsAnswer); it never sees the wire format, so `sip-core`
//! stays free of a DNS library. This crate turns each query into one DNS message (encoded
//! and decoded with `hickory-proto`, EDNS0 with a 1232-byte payload, RFC 6891), matches
//! each response by id, source and question (RFC 5452 §9.1), decodes it into the core's
//! form (records with their TTLs, NXDOMAIN and NODATA with the negative TTL of RFC 2308
//! §5), and keeps the timers: an attempt waits [`ATTEMPT`], a query is sent
//! [`ATTEMPTS`] times and then answered [`DnsAnswer::Failed`](sip_core::resolver::DnsAnswer::Failed). A truncated response (TC)
//! is `Failed` too: no TCP fallback, the records RFC 3263 asks for fit EDNS0 sizes.
//!
//! A driver owns one UDP socket and a [`DnsClient`]: it sends what
//! [`DnsClient::query`] returns to [`DnsClient::server`], feeds every datagram it reads
//! to [`DnsClient::receive`], and calls [`DnsClient::handle_timeout`] at
//! [`DnsClient::next_deadline`], sending again what it returns.
//!
//! Why a crate of its own and not a module of `sip-core` or `sip-tls`: the core holds no
//! wire-format dependency (it is the procedure, not the protocol encoding), and `sip-tls`
//! is about TLS — a driver built without TLS should not pull rustls to resolve names.
//!
//! ```
//! use std::time::Instant;
//! use sip_core::resolver::{DnsQuery, DnsQueryId, RecordType};
//! use sip_dns::{DnsClient, Started};
//!
//! let mut dns = DnsClient::new(Some("127.0.0.1:5353".parse().unwrap()), 7);
//! let now = Instant::now();
//! let q = DnsQuery { id: DnsQueryId(1), name: "example.test".into(), record_type: RecordType::Naptr };
//! match dns.query(q, now) {
//!     Started::Send(packet) => assert!(packet.len() > 12), // send it to dns.server()
//!     Started::Answered(..) => unreachable!(),
//! }
//! assert_eq!(dns.next_deadline(), Some(now + sip_dns::ATTEMPT));
//! ```

#![forbid(unsafe_code)]

mod client;
mod message;
mod system;

pub use client::{ATTEMPT, ATTEMPTS, DnsClient, MAX_OUTSTANDING, Started};
pub use system::{first_nameserver, system_server};
