//! The driver's DNS socket for the core's RFC 3263 resolver: a non-blocking UDP socket
//! registered with the caller's `mio::Poll`, so lookups never block the loop and need no
//! thread. The messages, their matching, retransmission and give-up are
//! [`sip_dns::DnsClient`]'s (shared with sip-smol); this module only moves its datagrams.
//!
//! Why not hickory-resolver on a helper thread: it needs a tokio runtime on that thread,
//! a channel and a waker; a socket in the loop is what a mio user expects, and the
//! procedure (and the cache) are the core's anyway.

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use mio::{Interest, Registry, Token};
use sip_core::resolver::{DnsAnswer, DnsQuery, DnsQueryId};
use sip_dns::Started;

/// The client and its socket. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct DnsClient {
    client: sip_dns::DnsClient,
    token: Option<Token>,
    socket: Option<mio::net::UdpSocket>,
    buf: Vec<u8>,
}

impl DnsClient {
    /// A client for `server` (none: every query fails) whose socket will be registered on
    /// `token` (none: no token was free, every query fails).
    pub(crate) fn new(server: Option<SocketAddr>, token: Option<Token>, seed: u64) -> Self {
        DnsClient {
            client: sip_dns::DnsClient::new(server.filter(|_| token.is_some()), seed),
            token,
            socket: None,
            buf: vec![0; 4096],
        }
    }

    /// Whether `token` is the client's.
    pub(crate) fn owns(&self, token: Token) -> bool {
        self.token == Some(token)
    }

    /// The earliest retransmission or give-up.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.client.next_deadline()
    }

    /// Sends `q`; `Some` with the answer at once when it cannot be sent.
    pub(crate) fn send(
        &mut self,
        registry: &Registry,
        q: DnsQuery,
        now: Instant,
    ) -> Option<(DnsQueryId, DnsAnswer)> {
        let (Some(server), Some(token)) = (self.client.server(), self.token) else {
            return Some((q.id, DnsAnswer::Failed));
        };
        if self.socket.is_none() {
            match open(server, registry, token) {
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
                let sent = self.socket.as_ref().map(|s| s.send_to(packet, server));
                if matches!(sent, Some(Ok(_))) {
                    None
                } else {
                    self.client.give_up(id)
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
        loop {
            let (n, from) = match socket.recv_from(&mut self.buf) {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break, // an ICMP error for an earlier send: the timer decides
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
                let _ = s.send_to(packet, server);
            }
        })
    }
}

/// A socket of `server`'s family on an ephemeral port, registered for reading.
fn open(server: SocketAddr, registry: &Registry, token: Token) -> io::Result<mio::net::UdpSocket> {
    let any: SocketAddr = if server.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let mut s = mio::net::UdpSocket::bind(any)?;
    registry.register(&mut s, token, Interest::READABLE)?;
    Ok(s)
}
