//! Counters of what the driver's sockets moved, dropped and refused.

/// Transport counters of a [`Driver`](crate::Driver). Each only grows. Parse errors of
/// received messages are counted by the endpoint
/// ([`Stats::parse_errors`](sip_core::endpoint::Stats::parse_errors)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransportStats {
    /// UDP datagrams handed to the endpoint.
    pub datagrams_in: u64,
    /// UDP datagrams sent.
    pub datagrams_out: u64,
    /// The receive buffer (`SO_RCVBUF`) the kernel granted the last UDP socket bound, in
    /// bytes as it reports it (Linux reports twice the usable size); compare with
    /// `DriverConfig::udp_recv_buffer_size`.
    pub udp_recv_buffer: u64,
    /// UDP datagrams dropped for exceeding `max_message_size`.
    pub oversize_dropped: u64,
    /// Keep-alives received: empty or CRLF-only datagrams, double-CRLF pings on TCP
    /// (RFC 5626 §3.5.1).
    pub keepalives_in: u64,
    /// Single-CRLF pongs queued in answer to TCP pings (RFC 5626 §3.5.1).
    pub pongs_sent: u64,
    /// Messages framed from TCP streams and handed to the endpoint.
    pub stream_messages_in: u64,
    /// Messages queued on TCP connections (pongs not included).
    pub stream_messages_out: u64,
    /// Streams that lost framing (RFC 3261 §18.3): each closed its connection.
    pub framing_errors: u64,
    /// Outgoing TCP connections established.
    pub connections_opened: u64,
    /// Incoming TCP connections accepted.
    pub connections_accepted: u64,
    /// TCP connections closed, for any reason.
    pub connections_closed: u64,
    /// Connections refused (accepts closed at once, connects not attempted) because
    /// `tcp_limits.max_connections` were open or no token was free.
    pub connections_refused: u64,
    /// Accepted connections closed at once because their source had
    /// `tcp_limits.max_connections_per_source` open.
    pub source_limit_refused: u64,
    /// Connections closed after `tcp_limits.idle_timeout` without a complete message or
    /// keep-alive.
    pub idle_closed: u64,
    /// Connections closed because a message begun did not complete within
    /// `tcp_limits.message_deadline` (slowloris).
    pub message_deadline_closed: u64,
    /// Connections closed because their unwritten bytes would have passed
    /// `tcp_limits.max_output_per_connection` (a peer that does not read).
    pub output_cap_closed: u64,
    /// Connections closed because unwritten bytes across connections would have passed
    /// `tcp_limits.max_output_total`.
    pub output_budget_closed: u64,
    /// The most bytes waiting to be written to TCP connections at once, all together (a
    /// high-water mark, so it only grows).
    pub peak_output_queued: u64,
    /// The most bytes waiting to be written to any one connection at once (a high-water
    /// mark; never above `tcp_limits.max_output_per_connection`).
    pub peak_connection_output: u64,
    /// Writes that would have blocked: the bytes waited for writable readiness.
    pub writes_queued: u64,
    /// UDP datagrams dropped because their socket's queue was over `max_queued_bytes`.
    pub send_queue_full: u64,
    /// Transport errors handed to the endpoint as `Input::TransportError`.
    pub transport_errors: u64,
    /// Failed receive or accept calls (other than would-block).
    pub io_errors: u64,
    /// TLS handshakes completed, accepted and outgoing (the connection counters above
    /// count TLS connections too).
    pub tls_handshakes: u64,
    /// TLS handshakes that failed (a certificate refused, by us or the peer; not TLS),
    /// each closing its connection.
    pub tls_handshake_failures: u64,
    /// TLS handshakes not completed within `tcp_limits.handshake_deadline`.
    pub tls_handshake_timeouts: u64,
}
