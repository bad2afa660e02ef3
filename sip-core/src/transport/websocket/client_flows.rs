//! The WebSocket clients a server accepted (RFC 7118 §5), for the drivers: a message for a
//! browser whose connection is gone fails at once instead of connecting to its port.

use std::net::SocketAddr;

use crate::transport::Transport;

/// The WebSocket clients whose connections we accepted (RFC 7118 §5): a browser accepts
/// no connections, so the connection it opened is the only way to it, and a message for
/// it once that connection is gone fails at once (a transport error, RFC 3261 §18.4)
/// instead of trying to connect to its source port. Holds the peers of the open accepted
/// connections, and the last [`ClientFlows::MAX_CLOSED`] that closed.
#[derive(Debug, Default)]
pub struct ClientFlows {
    peers: std::collections::HashSet<(Transport, SocketAddr)>,
    closed: std::collections::VecDeque<(Transport, SocketAddr)>,
}

impl ClientFlows {
    /// Closed client connections remembered; past it the oldest are forgotten (a message
    /// for one of those tries a connection, which a browser refuses).
    pub const MAX_CLOSED: usize = 4096;

    /// A WebSocket client connected from `key`'s address.
    pub fn accepted(&mut self, key: (Transport, SocketAddr)) {
        self.peers.insert(key);
    }

    /// Whether `key` is (or was, recently) a WebSocket client's connection.
    pub fn is_client(&self, key: &(Transport, SocketAddr)) -> bool {
        self.peers.contains(key)
    }

    /// `key`'s connection closed; `reopened` tells whether another one from the same
    /// address is open (it keeps the entry when the oldest is forgotten).
    pub fn closed(
        &mut self,
        key: (Transport, SocketAddr),
        reopened: impl Fn(&(Transport, SocketAddr)) -> bool,
    ) {
        if !self.peers.contains(&key) {
            return;
        }
        self.closed.push_back(key);
        while self.closed.len() > Self::MAX_CLOSED {
            if let Some(old) = self.closed.pop_front()
                && !reopened(&old)
            {
                self.peers.remove(&old);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(port: u16) -> (Transport, SocketAddr) {
        (Transport::Ws, SocketAddr::from(([127, 0, 0, 1], port)))
    }

    #[test]
    fn closed_clients_are_remembered_up_to_the_bound() {
        let mut f = ClientFlows::default();
        assert!(!f.is_client(&key(1)));
        f.accepted(key(1));
        f.closed(key(1), |_| false);
        assert!(f.is_client(&key(1)));
        // An address never accepted is not recorded when "closed".
        f.closed(key(2), |_| false);
        assert!(!f.is_client(&key(2)));
        for port in 10..10 + ClientFlows::MAX_CLOSED as u16 {
            f.accepted(key(port));
            f.closed(key(port), |_| false);
        }
        assert!(!f.is_client(&key(1)), "the oldest is forgotten");
        assert!(f.is_client(&key(10)));
        assert_eq!(f.closed.len(), ClientFlows::MAX_CLOSED);
        assert!(f.peers.len() <= ClientFlows::MAX_CLOSED);
    }
}
