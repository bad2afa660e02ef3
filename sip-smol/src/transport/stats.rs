//! Counters of what the transport layer moved, dropped and refused.

use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($( $(#[$doc:meta])* $name:ident ),* $(,)?) => {
        /// A snapshot of the transport counters, in [`UaStats::transport`](crate::UaStats::transport).
        /// Every count starts at zero when the transports are bound and only grows.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct TransportStats {
            $( $(#[$doc])* pub $name: u64, )*
        }

        /// The live counters, shared by every task.
        #[derive(Debug, Default)]
        pub(crate) struct Counters {
            $( pub(crate) $name: AtomicU64, )*
        }

        impl Counters {
            /// Reads every counter (each one atomically; the set is not one instant).
            pub(crate) fn snapshot(&self) -> TransportStats {
                TransportStats {
                    $( $name: self.$name.load(Ordering::Relaxed), )*
                }
            }
        }
    };
}

counters! {
    /// UDP datagrams handed to the endpoint as `Input::Receive`.
    datagrams_in,
    /// UDP datagrams sent.
    datagrams_out,
    /// The receive buffer (`SO_RCVBUF`) the kernel granted the last UDP socket bound, in
    /// bytes as it reports it (Linux reports twice the usable size); compare with
    /// `udp_recv_buffer_size`.
    udp_recv_buffer,
    /// UDP datagrams dropped for being larger than `max_message_size`.
    oversize_dropped,
    /// Keep-alives received: empty or CRLF-only UDP datagrams, and double-CRLF pings on
    /// TCP (RFC 5626 §3.5.1).
    keepalives_in,
    /// Single-CRLF pongs queued in answer to a TCP ping (RFC 5626 §3.5.1).
    pongs_sent,
    /// Messages framed from TCP streams and handed to the endpoint (unparsed: the endpoint
    /// parses them and counts the malformed ones).
    stream_messages_in,
    /// Messages written to TCP streams (pongs not included).
    stream_messages_out,
    /// Streams that lost message framing (no or bad Content-Length, too large; RFC 3261
    /// §18.3): each closed its connection.
    framing_errors,
    /// Outgoing TCP connections established.
    connections_opened,
    /// Incoming TCP connections accepted.
    connections_accepted,
    /// TCP connections closed, for any reason.
    connections_closed,
    /// TCP connections refused (accepts closed at once, connects not attempted) because
    /// `tcp_limits.max_connections` were open.
    connections_refused,
    /// Accepted TCP connections closed at once because their source had
    /// `tcp_limits.max_connections_per_source` open.
    source_limit_refused,
    /// TCP connections closed after `tcp_limits.idle_timeout` without a complete message
    /// or keep-alive.
    idle_closed,
    /// TCP connections closed because a message begun did not complete within
    /// `tcp_limits.message_deadline` (slowloris).
    message_deadline_closed,
    /// TCP connections closed because their unwritten bytes would have passed
    /// `tcp_limits.max_output_per_connection` (a peer that does not read).
    output_cap_closed,
    /// TCP connections closed because unwritten bytes across connections would have passed
    /// `tcp_limits.max_output_total`.
    output_budget_closed,
    /// The most bytes waiting to be written to TCP connections at once, all connections
    /// together, since the transports were bound (a high-water mark, so it only grows).
    peak_output_queued,
    /// The most bytes waiting to be written to any one TCP connection at once (a
    /// high-water mark; never above `tcp_limits.max_output_per_connection`).
    peak_connection_output,
    /// UDP datagrams dropped because their socket's send queue was full.
    send_queue_full,
    /// Transport errors reported as `Input::TransportError` (failed connect, failed write,
    /// failed datagram send, no socket for the destination, messages lost on a closed
    /// connection).
    transport_errors,
    /// `Input::TransportError`s that could not be delivered because the input channel was
    /// full or closed.
    inputs_dropped,
    /// Failed socket receive or accept calls (logged, then retried).
    io_errors,
    /// TLS handshakes completed, on accepted and outgoing connections (the TCP counters
    /// above count TLS connections too).
    tls_handshakes,
    /// TLS handshakes that failed (certificate refused, by us or the peer; not TLS;
    /// closed), each closing its connection.
    tls_handshake_failures,
    /// TLS handshakes not completed within `tcp_limits.handshake_deadline`.
    tls_handshake_timeouts,
    /// WebSocket opening handshakes completed (RFC 6455 §4; the TCP counters count
    /// WebSocket connections too).
    ws_handshakes,
    /// WebSocket opening handshakes refused or failed (not an upgrade, no `sip`
    /// subprotocol, too large, not done within `tcp_limits.handshake_deadline`).
    ws_handshake_failures,
    /// WebSocket connections closed for breaking the framing rules or sending a message
    /// over `max_message_size` (nothing of it reached the endpoint).
    ws_protocol_errors,
    /// Messages for a WebSocket client whose connection had closed: failed at once with a
    /// transport error (RFC 7118 §5), no connection attempted.
    ws_client_gone,
    /// WebSocket connections closed because our keep-alive Ping got no Pong in time.
    ws_pong_timeouts,
}

/// Adds one to a counter.
pub(crate) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_reads_each_counter() {
        let c = Counters::default();
        bump(&c.datagrams_in);
        bump(&c.datagrams_in);
        bump(&c.io_errors);
        let s = c.snapshot();
        assert_eq!(
            s,
            TransportStats {
                datagrams_in: 2,
                io_errors: 1,
                ..Default::default()
            }
        );
    }
}
