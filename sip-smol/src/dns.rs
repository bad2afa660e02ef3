//! The driver's DNS client for the core's RFC 3263 resolver: [`sip_dns::DnsClient`] (the
//! same sans-IO client sip-mio uses: messages, matching, retransmission, give-up) on one
//! non-blocking UDP socket of `async-io`, read by the driver task itself when it is
//! readable. A lookup never blocks the task: queries leave with a non-blocking send, and
//! their answers arrive as wake-ups of the task like any other input.
//!
//! The socket is `async_io::Async<UdpSocket>` directly (what `async-net`'s `UdpSocket`
//! wraps): the driver already uses it for its SIP sockets, so no other crate is needed.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::Instant;

use async_io::Async;
use sip_core::resolver::{DnsAnswer, DnsQuery, DnsQueryId};
use sip_dns::Started;

/// Largest DNS datagram read (the EDNS0 payload asked for is 1232).
const BUF: usize = 4096;

/// The client and its socket.
#[derive(Debug)]
pub(crate) struct Dns {
    client: sip_dns::DnsClient,
    socket: Option<Async<UdpSocket>>,
    buf: Vec<u8>,
}

impl Dns {
    /// A client asking `server` (none: every query fails at once).
    pub(crate) fn new(server: Option<SocketAddr>, seed: u64) -> Self {
        Dns {
            client: sip_dns::DnsClient::new(server, seed),
            socket: None,
            buf: Vec::new(),
        }
    }

    /// The earliest retransmission or give-up.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.client.next_deadline()
    }

    /// Returns once the socket has something to read (never while there is no socket).
    pub(crate) async fn readable(&self) {
        match &self.socket {
            Some(s) => {
                if s.readable().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            None => std::future::pending().await,
        }
    }

    /// Sends `q`; `Some` with the answer at once when it cannot be sent.
    pub(crate) fn send(&mut self, q: DnsQuery, now: Instant) -> Option<(DnsQueryId, DnsAnswer)> {
        let Some(server) = self.client.server() else {
            return Some((q.id, DnsAnswer::Failed));
        };
        if self.socket.is_none() {
            match open(server) {
                Ok(s) => self.socket = Some(s),
                Err(e) => {
                    tracing::warn!(error = %e, "DNS socket");
                    return Some((q.id, DnsAnswer::Failed));
                }
            }
        }
        let id = q.id;
        match self.client.query(q, now) {
            Started::Answered(id, answer) => Some((id, answer)),
            Started::Send(packet) => {
                let sent = self
                    .socket
                    .as_ref()
                    .map(|s| s.get_ref().send_to(packet, server));
                match sent {
                    Some(Ok(_)) => None,
                    // A full socket buffer: the retransmission timer sends it again.
                    Some(Err(e)) if e.kind() == io::ErrorKind::WouldBlock => None,
                    _ => self.client.give_up(id),
                }
            }
        }
    }

    /// Reads every answer that arrived.
    pub(crate) fn read(&mut self) -> Vec<(DnsQueryId, DnsAnswer)> {
        let mut answers = Vec::new();
        let Some(socket) = self.socket.as_ref() else {
            return answers;
        };
        self.buf.resize(BUF, 0);
        loop {
            let (n, from) = match socket.get_ref().recv_from(&mut self.buf) {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // WouldBlock: all read. Other errors (an ICMP error for an earlier send):
                // the timer decides.
                Err(_) => break,
            };
            answers.extend(self.client.receive(from, &self.buf[..n]));
        }
        answers
    }

    /// Sends again what is due, and gives up on what was sent too often.
    pub(crate) fn handle_timeout(&mut self, now: Instant) -> Vec<(DnsQueryId, DnsAnswer)> {
        let (socket, server) = (self.socket.as_ref(), self.client.server());
        self.client.handle_timeout(now, |packet| {
            if let (Some(s), Some(server)) = (socket, server) {
                let _ = s.get_ref().send_to(packet, server);
            }
        })
    }
}

/// A non-blocking socket of `server`'s family on an ephemeral port.
fn open(server: SocketAddr) -> io::Result<Async<UdpSocket>> {
    let any: SocketAddr = if server.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    Async::<UdpSocket>::bind(any)
}
