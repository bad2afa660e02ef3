//! The record of everything the network did.

use std::net::SocketAddr;
use std::time::Duration;

use sip_core::transport::Transport;

/// The longest first line kept in a [`TraceEntry`], in characters.
const MAX_FIRST_LINE: usize = 200;

/// Why the network did not deliver a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The datagram was lost at random ([`LinkConfig::loss`](crate::LinkConfig::loss)).
    Loss,
    /// A partition separated the two addresses when the datagram was sent or when it would
    /// have arrived.
    Partition,
    /// No node listens at the destination address of the datagram.
    NoNode,
    /// A reliable transport could not connect (partition, or nobody listening); the sender
    /// got [`Node::handle_transport_error`](crate::Node::handle_transport_error).
    ConnectionFailed,
    /// The test's filter ([`Sim::drop_where`](crate::Sim::drop_where)) matched its first
    /// line; recorded at the send time, whatever the transport.
    Filtered,
}

/// What happened to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TraceKind {
    /// A node handed the message to the network (at the send time).
    Sent,
    /// The network made a second copy of the datagram (at the send time); the copy's later
    /// entries have [`TraceEntry::duplicate`] set.
    Duplicated,
    /// The message reached the destination node (at the arrival time).
    Delivered,
    /// The message was not delivered. Random loss and partitions in force at the send time
    /// are recorded at the send time; partitions that start while a datagram is in flight
    /// and missing nodes at its arrival time; connection failures when the sender learns of
    /// them, one latency after the send.
    Dropped(DropReason),
}

/// One event in the life of a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TraceEntry {
    /// Virtual time of the event, from the start of the simulation.
    pub at: Duration,
    /// What happened.
    pub kind: TraceKind,
    /// Sequence number of the send, shared by all entries of the message and its duplicate.
    pub id: u64,
    /// Whether this entry concerns the network's duplicate copy rather than the original.
    pub duplicate: bool,
    /// The transport.
    pub transport: Transport,
    /// Source address.
    pub from: SocketAddr,
    /// Destination address.
    pub to: SocketAddr,
    /// The message's first line (see [`first_line`]).
    pub first_line: String,
    /// Length of the message in bytes.
    pub len: usize,
}

/// The first non-empty line of a message, for traces and diagrams: leading CR and LF bytes
/// (keep-alives, RFC 5626 §3.5.1) are skipped, the line ends at the first CR or LF, invalid
/// UTF-8 is replaced, control characters become `?`, and the result is cut to 200
/// characters. A message of only line breaks gives an empty string.
///
/// ```
/// assert_eq!(sip_sim::first_line(b"SIP/2.0 200 OK\r\nVia: x\r\n\r\n"), "SIP/2.0 200 OK");
/// assert_eq!(sip_sim::first_line(b"\r\n\r\n"), "");
/// ```
pub fn first_line(bytes: &[u8]) -> String {
    let start = bytes
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(bytes.len());
    let rest = bytes.get(start..).unwrap_or_default();
    let end = rest
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(rest.len());
    let line = rest.get(..end).unwrap_or_default();
    // The common case, a short printable ASCII line, is copied as it is.
    if line.len() <= MAX_FIRST_LINE && line.iter().all(|&b| (0x20..0x7f).contains(&b)) {
        return String::from_utf8_lossy(line).into_owned();
    }
    String::from_utf8_lossy(line)
        .chars()
        .take(MAX_FIRST_LINE)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_line_cases() {
        assert_eq!(
            first_line(b"INVITE sip:bob@b SIP/2.0\r\nVia: x\r\n"),
            "INVITE sip:bob@b SIP/2.0"
        );
        assert_eq!(
            first_line(b"\r\n\r\nOPTIONS sip:a SIP/2.0\n"),
            "OPTIONS sip:a SIP/2.0"
        );
        assert_eq!(first_line(b""), "");
        assert_eq!(first_line(b"\r\n"), "");
        assert_eq!(first_line(b"no line break"), "no line break");
        assert_eq!(first_line(b"a\tb\xffc"), "a?b\u{fffd}c");
        assert_eq!(first_line(&[b'x'; 500]).len(), 200);
    }
}
