//! Keep-alive by Ping and Pong on an idle WebSocket connection (RFC 6455 §5.5.2,
//! §5.5.3), sans-IO: time comes in as values, the driver sleeps until
//! [`PingKeepalive::deadline`] and then asks [`PingKeepalive::on_deadline`] what to do.
//!
//! RFC 7118 leaves keep-alives to the WebSocket layer (§6 says no more than that a
//! connection may be kept alive); a Ping answered by a Pong proves the peer is still
//! there and refreshes the NAT bindings and proxies on the way, where RFC 5626's CRLF
//! keep-alives (§3.5.1) would be a SIP message of their own inside a WebSocket frame.
//! Both ends may run one: a server to find browsers that vanished without a Close, a
//! client to keep its only route open.

use std::time::{Duration, Instant};

/// When to ping an idle connection and how long its Pong may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WsKeepalive {
    /// Nothing received for this long (at most twice this long, as the check is lazy)
    /// sends a Ping.
    pub interval: Duration,
    /// No Pong this long after the Ping fails the connection.
    pub pong_timeout: Duration,
}

impl Default for WsKeepalive {
    /// A Ping after 30 s of silence (below the usual NAT and proxy idle timeouts), 10 s
    /// for its Pong.
    fn default() -> Self {
        WsKeepalive {
            interval: Duration::from_secs(30),
            pong_timeout: Duration::from_secs(10),
        }
    }
}

/// What the deadline asks of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepaliveAction {
    /// Nothing: the connection was busy, the next check is re-armed.
    None,
    /// Send a Ping now.
    Ping,
    /// The Ping went unanswered: fail the connection.
    Dead,
}

/// One connection's keep-alive state.
#[derive(Debug, Clone)]
pub struct PingKeepalive {
    config: WsKeepalive,
    deadline: Instant,
    /// Something arrived since the deadline was set.
    heard: bool,
    /// A Ping is out and its Pong not back.
    awaiting_pong: bool,
}

impl PingKeepalive {
    /// Starts watching a connection opened (or last heard from) at `now`.
    pub fn new(config: WsKeepalive, now: Instant) -> PingKeepalive {
        PingKeepalive {
            config,
            deadline: now + config.interval,
            heard: false,
            awaiting_pong: false,
        }
    }

    /// When the driver must call [`PingKeepalive::on_deadline`].
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Bytes arrived from the peer.
    pub fn on_input(&mut self) {
        self.heard = true;
    }

    /// A Pong arrived (§5.5.3: any Pong, solicited or not, shows the peer is there).
    pub fn on_pong(&mut self) {
        self.heard = true;
        self.awaiting_pong = false;
    }

    /// The deadline passed (or `now` is later): what to do, the next deadline set.
    pub fn on_deadline(&mut self, now: Instant) -> KeepaliveAction {
        if now < self.deadline {
            return KeepaliveAction::None;
        }
        if self.awaiting_pong {
            return KeepaliveAction::Dead;
        }
        if std::mem::take(&mut self.heard) {
            self.deadline = now + self.config.interval;
            return KeepaliveAction::None;
        }
        self.awaiting_pong = true;
        self.deadline = now + self.config.pong_timeout;
        KeepaliveAction::Ping
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn ka(t0: Instant) -> PingKeepalive {
        PingKeepalive::new(
            WsKeepalive {
                interval: 30 * S,
                pong_timeout: 10 * S,
            },
            t0,
        )
    }

    #[test]
    fn an_idle_connection_is_pinged_and_kept_when_the_pong_comes() {
        #[allow(clippy::disallowed_methods)] // tests only: any instant will do
        let t0 = Instant::now();
        let mut k = ka(t0);
        assert_eq!(k.deadline(), t0 + 30 * S);
        assert_eq!(k.on_deadline(t0 + 29 * S), KeepaliveAction::None);
        assert_eq!(k.on_deadline(t0 + 30 * S), KeepaliveAction::Ping);
        assert_eq!(k.deadline(), t0 + 40 * S);
        k.on_pong();
        // The Pong counts as traffic: the next Ping comes an interval after the check.
        assert_eq!(k.on_deadline(t0 + 40 * S), KeepaliveAction::None);
        assert_eq!(k.deadline(), t0 + 70 * S);
        assert_eq!(k.on_deadline(t0 + 70 * S), KeepaliveAction::Ping);
    }

    #[test]
    fn an_unanswered_ping_fails_the_connection() {
        #[allow(clippy::disallowed_methods)] // tests only: any instant will do
        let t0 = Instant::now();
        let mut k = ka(t0);
        assert_eq!(k.on_deadline(t0 + 30 * S), KeepaliveAction::Ping);
        // Messages without a Pong do not answer the Ping.
        k.on_input();
        assert_eq!(k.on_deadline(t0 + 40 * S), KeepaliveAction::Dead);
    }

    #[test]
    fn a_busy_connection_is_not_pinged() {
        #[allow(clippy::disallowed_methods)] // tests only: any instant will do
        let t0 = Instant::now();
        let mut k = ka(t0);
        for i in 1..=5 {
            k.on_input();
            assert_eq!(k.on_deadline(k.deadline()), KeepaliveAction::None, "{i}");
        }
        assert_eq!(k.on_deadline(k.deadline()), KeepaliveAction::Ping);
    }
}
