//! Helper nodes for testing the simulator and for scripting simple peers in protocol tests.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sip_core::transport::Transport;

use crate::{Datagram, Node};

/// A message a [`ScriptNode`] received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Virtual time of arrival.
    pub at: Duration,
    /// The transport.
    pub transport: Transport,
    /// The sender's address.
    pub from: SocketAddr,
    /// The local address it arrived at.
    pub to: SocketAddr,
    /// The bytes (one chunk, for a chunked stream).
    pub bytes: Bytes,
}

/// A send a [`ScriptNode`] was told had failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportFailure {
    /// Virtual time the node was told.
    pub at: Duration,
    /// The transport.
    pub transport: Transport,
    /// Where the message was going.
    pub destination: SocketAddr,
}

/// What a [`ScriptNode`] answers to a received message: bytes to send back to the sender
/// over the same transport, or `None`.
pub type Responder = Box<dyn FnMut(&Received) -> Option<Bytes>>;

/// A node that sends given messages at given virtual times, optionally answers what it
/// receives, and records everything that happens to it with virtual times.
pub struct ScriptNode {
    base: Instant,
    addr: SocketAddr,
    /// Scheduled sends, by time; equal times keep the order they were added in.
    script: Vec<(Duration, Datagram)>,
    outbox: VecDeque<Datagram>,
    responder: Option<Responder>,
    /// Every message received, in order.
    pub received: Vec<Received>,
    /// Every transport error reported, in order.
    pub errors: Vec<TransportFailure>,
    /// Virtual times at which the node's deadline fired.
    pub timeouts: Vec<Duration>,
}

impl std::fmt::Debug for ScriptNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptNode")
            .field("addr", &self.addr)
            .field("pending", &self.script.len())
            .field("received", &self.received)
            .field("errors", &self.errors)
            .finish_non_exhaustive()
    }
}

impl ScriptNode {
    /// A node sending from `addr`, measuring virtual time from `base` (pass
    /// [`Sim::base`](crate::Sim::base)).
    pub fn new(base: Instant, addr: SocketAddr) -> Self {
        ScriptNode {
            base,
            addr,
            script: Vec::new(),
            outbox: VecDeque::new(),
            responder: None,
            received: Vec::new(),
            errors: Vec::new(),
            timeouts: Vec::new(),
        }
    }

    /// Answers every received message with what `responder` returns for it.
    pub fn with_responder(
        mut self,
        responder: impl FnMut(&Received) -> Option<Bytes> + 'static,
    ) -> Self {
        self.responder = Some(Box::new(responder));
        self
    }

    /// The address the node sends from.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends `bytes` to `to` at virtual time `at` (at once if `at` has passed).
    pub fn send_at(
        &mut self,
        at: Duration,
        transport: Transport,
        to: SocketAddr,
        bytes: impl Into<Bytes>,
    ) {
        let d = self.datagram(transport, to, bytes.into());
        let index = self.script.partition_point(|(t, _)| *t <= at);
        self.script.insert(index, (at, d));
    }

    /// Queues `bytes` for `to` now; they leave at the simulator's next flush.
    pub fn send_now(&mut self, transport: Transport, to: SocketAddr, bytes: impl Into<Bytes>) {
        let d = self.datagram(transport, to, bytes.into());
        self.outbox.push_back(d);
    }

    /// The received messages' bytes, as lossy UTF-8 strings (handy in assertions).
    pub fn received_text(&self) -> Vec<String> {
        self.received
            .iter()
            .map(|r| String::from_utf8_lossy(&r.bytes).into_owned())
            .collect()
    }

    fn datagram(&self, transport: Transport, to: SocketAddr, bytes: Bytes) -> Datagram {
        Datagram {
            transport,
            source: self.addr,
            destination: to,
            bytes,
        }
    }

    fn offset(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.base)
    }
}

impl Node for ScriptNode {
    fn handle_receive(
        &mut self,
        now: Instant,
        transport: Transport,
        from: SocketAddr,
        to: SocketAddr,
        bytes: Bytes,
    ) {
        let r = Received {
            at: self.offset(now),
            transport,
            from,
            to,
            bytes,
        };
        if let Some(answer) = self.responder.as_mut().and_then(|f| f(&r)) {
            self.outbox.push_back(Datagram {
                transport,
                source: to,
                destination: from,
                bytes: answer,
            });
        }
        self.received.push(r);
    }

    fn handle_transport_error(
        &mut self,
        now: Instant,
        transport: Transport,
        destination: SocketAddr,
    ) {
        self.errors.push(TransportFailure {
            at: self.offset(now),
            transport,
            destination,
        });
    }

    fn handle_timeout(&mut self, now: Instant) {
        let now = self.offset(now);
        self.timeouts.push(now);
        let due = self.script.partition_point(|(t, _)| *t <= now);
        for (_, d) in self.script.drain(..due) {
            self.outbox.push_back(d);
        }
    }

    fn poll_transmit(&mut self) -> Option<Datagram> {
        self.outbox.pop_front()
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        self.script
            .first()
            .map(|(t, _)| self.base.checked_add(*t).unwrap_or(self.base))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::disallowed_methods)]
    fn base() -> Instant {
        Instant::now()
    }

    #[test]
    fn script_releases_due_messages_in_order() {
        let base = base();
        let a: SocketAddr = "10.0.0.1:1".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:2".parse().unwrap();
        let mut n = ScriptNode::new(base, a);
        n.send_at(Duration::from_millis(20), Transport::Udp, b, "third");
        n.send_at(Duration::from_millis(10), Transport::Udp, b, "first");
        n.send_at(Duration::from_millis(10), Transport::Tcp, b, "second");
        assert_eq!(n.poll_timeout(), Some(base + Duration::from_millis(10)));
        assert_eq!(n.poll_transmit(), None);
        n.handle_timeout(base + Duration::from_millis(10));
        let first = n.poll_transmit().unwrap();
        assert_eq!(&first.bytes[..], b"first");
        assert_eq!(first.source, a);
        assert_eq!(first.destination, b);
        let second = n.poll_transmit().unwrap();
        assert_eq!(
            (second.transport, &second.bytes[..]),
            (Transport::Tcp, &b"second"[..])
        );
        assert_eq!(n.poll_transmit(), None);
        assert_eq!(n.poll_timeout(), Some(base + Duration::from_millis(20)));
        assert_eq!(n.timeouts, vec![Duration::from_millis(10)]);
    }

    #[test]
    fn responder_answers_to_sender_on_same_transport() {
        let base = base();
        let a: SocketAddr = "10.0.0.1:1".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:2".parse().unwrap();
        let mut n = ScriptNode::new(base, a).with_responder(|r| {
            let mut v = b"re: ".to_vec();
            v.extend_from_slice(&r.bytes);
            Some(Bytes::from(v))
        });
        n.handle_receive(
            base + Duration::from_millis(3),
            Transport::Tls,
            b,
            a,
            "hi".into(),
        );
        assert_eq!(
            n.poll_transmit(),
            Some(Datagram {
                transport: Transport::Tls,
                source: a,
                destination: b,
                bytes: Bytes::from_static(b"re: hi"),
            })
        );
        assert_eq!(n.received[0].at, Duration::from_millis(3));
        assert_eq!(n.received_text(), vec!["hi".to_string()]);
    }
}
