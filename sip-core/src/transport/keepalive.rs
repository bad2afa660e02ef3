//! CRLF keep-alives (RFC 5626 §3.5.1, §4.4.1) and the framing of a stream into messages
//! around them: what both drivers do with the bytes of a connection, in one sans-IO place.
//!
//! Over a stream a ping is a double CRLF and its pong a single CRLF, both between messages;
//! over UDP some user agents send bare CRLFs (RFC 5626 uses STUN there, which reaches the
//! endpoint as an unparsable datagram). [`StreamReader`] frames a connection's bytes
//! (with a [`crate::message::StreamFramer`]) and tells the driver, message by
//! message, how many pings it owes a pong and how many pongs answered its own pings.
//!
//! ```
//! use sip_core::transport::keepalive::{StreamReader, PONG};
//! let mut r = StreamReader::new(Default::default());
//! r.push(b"\r\n\r\nOPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n");
//! let (seen, msg) = r.next(0);
//! assert_eq!(seen.pings, 1); // the driver writes PONG once
//! assert!(msg.unwrap().is_ok());
//! assert_eq!(PONG, b"\r\n");
//! ```

use bytes::Bytes;

use crate::message::{ParseError, ParseOptions, StreamFramer};

/// A keep-alive ping over a stream: a double CRLF (RFC 5626 §3.5.1).
pub const PING: &[u8] = b"\r\n\r\n";

/// A keep-alive pong over a stream: a single CRLF (RFC 5626 §3.5.1).
pub const PONG: &[u8] = b"\r\n";

/// Whether a datagram is a keep-alive rather than a message: empty, or only CR and LF.
///
/// ```
/// use sip_core::transport::keepalive::is_keepalive_datagram;
/// assert!(is_keepalive_datagram(b"\r\n\r\n"));
/// assert!(!is_keepalive_datagram(b"\r\nOPTIONS"));
/// ```
pub fn is_keepalive_datagram(datagram: &[u8]) -> bool {
    datagram.iter().all(|&b| b == b'\r' || b == b'\n')
}

/// Keep-alives seen on a stream by one [`StreamReader::next`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Seen {
    /// Double-CRLF pings, each owed a [`PONG`].
    pub pings: u64,
    /// Single-CRLF pongs answering pings we sent.
    pub pongs: u64,
}

/// Tells pings from pongs among the line ends skipped between messages. A ping may arrive
/// split over two reads, so an odd line end is kept until the next one; a message resets
/// the count.
#[derive(Debug, Default, Clone)]
pub struct KeepAlive {
    pending: u64,
}

impl KeepAlive {
    /// `newlines`: line ends skipped since the last call; `message_followed`: a message (or
    /// a framing error) came after them; `awaiting_pong`: pings we sent, unanswered.
    pub fn observe(&mut self, newlines: u64, message_followed: bool, awaiting_pong: u64) -> Seen {
        self.pending = self.pending.saturating_add(newlines);
        let pongs = self.pending.min(awaiting_pong);
        self.pending -= pongs;
        let pings = self.pending / 2;
        self.pending %= 2;
        if message_followed {
            self.pending = 0;
        }
        Seen { pings, pongs }
    }
}

/// One connection's incoming bytes, framed into messages (RFC 3261 §18.3) with the
/// keep-alives between them counted (RFC 5626 §3.5.1).
#[derive(Debug)]
pub struct StreamReader {
    framer: StreamFramer,
    keepalive: KeepAlive,
}

impl StreamReader {
    /// A reader whose framer enforces `opts.limits` (message size, Content-Length).
    pub fn new(opts: ParseOptions) -> Self {
        StreamReader {
            framer: StreamFramer::new(opts),
            keepalive: KeepAlive::default(),
        }
    }

    /// Appends bytes read from the connection.
    pub fn push(&mut self, chunk: &[u8]) {
        self.framer.push(chunk);
    }

    /// Bytes held and not yet framed.
    pub fn buffered(&self) -> usize {
        self.framer.buffered()
    }

    /// Whether bytes of a message not yet complete are held: after [`StreamReader::next`]
    /// returned `None`, anything still buffered is the start of a message (line ends
    /// between messages are consumed as keep-alives). What
    /// [`StreamTimer`](super::limits::StreamTimer)'s message deadline watches.
    pub fn message_in_progress(&self) -> bool {
        self.framer.buffered() > 0
    }

    /// The bytes of the message that broke the framing, once (see
    /// [`StreamFramer::take_rejected`]).
    pub fn take_rejected(&mut self) -> Option<Bytes> {
        self.framer.take_rejected()
    }

    /// The keep-alives before the next message, and that message: `None` when more bytes
    /// are needed; an error means the stream lost sync and the connection must close
    /// (§18.3). `awaiting_pong` is how many pings the driver sent unanswered.
    pub fn next(&mut self, awaiting_pong: u64) -> (Seen, Option<Result<Bytes, ParseError>>) {
        let before = self.framer.keepalives();
        let next = self.framer.next_frame();
        let newlines = self.framer.keepalives().saturating_sub(before);
        let seen = self
            .keepalive
            .observe(newlines, next.is_some(), awaiting_pong);
        (seen, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalive_datagrams() {
        assert!(is_keepalive_datagram(b""));
        assert!(is_keepalive_datagram(b"\r\n\r\n"));
        assert!(!is_keepalive_datagram(b"\r\nOPTIONS"));
        assert!(!is_keepalive_datagram(b" "));
    }

    #[test]
    fn keepalive_pings_and_pongs() {
        let mut k = KeepAlive::default();
        // One ping in one read.
        assert_eq!(k.observe(2, false, 0), Seen { pings: 1, pongs: 0 });
        // A ping split over two reads.
        assert_eq!(k.observe(1, false, 0), Seen::default());
        assert_eq!(k.observe(1, false, 0), Seen { pings: 1, pongs: 0 });
        // Two pings back to back.
        assert_eq!(k.observe(4, false, 0), Seen { pings: 2, pongs: 0 });
        // A stray CRLF before a message owes nothing, and does not pair with a later one.
        assert_eq!(k.observe(1, true, 0), Seen::default());
        assert_eq!(k.observe(1, false, 0), Seen::default());
        assert_eq!(k.observe(0, true, 0), Seen::default());
        // A pong for our ping.
        assert_eq!(k.observe(1, false, 1), Seen { pings: 0, pongs: 1 });
        // A ping while none of ours is pending, after a pong.
        assert_eq!(k.observe(3, false, 1), Seen { pings: 1, pongs: 1 });
    }

    #[test]
    fn pings_are_no_message_in_progress() {
        let mut r = StreamReader::new(ParseOptions::default());
        r.push(b"\r\n\r\n\r\n");
        assert_eq!(r.next(0).0.pings, 1);
        assert!(!r.message_in_progress());
        r.push(b"O");
        assert!(r.next(0).1.is_none());
        assert!(r.message_in_progress());
        r.push(b"PTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n");
        assert!(matches!(r.next(0).1, Some(Ok(_))));
        assert!(r.next(0).1.is_none());
        assert!(!r.message_in_progress());
    }

    #[test]
    fn a_reader_frames_messages_around_pings_split_anywhere() {
        let msg = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n";
        let mut stream = Vec::new();
        stream.extend_from_slice(PING);
        stream.extend_from_slice(msg);
        stream.extend_from_slice(PING);
        stream.extend_from_slice(PING);
        stream.extend_from_slice(msg);
        for cut in 0..stream.len() {
            let mut r = StreamReader::new(ParseOptions::default());
            let (mut pings, mut msgs) = (0, 0);
            for part in [&stream[..cut], &stream[cut..]] {
                r.push(part);
                loop {
                    let (seen, next) = r.next(0);
                    pings += seen.pings;
                    match next {
                        Some(Ok(b)) => {
                            assert_eq!(&b[..], &msg[..]);
                            msgs += 1;
                        }
                        Some(Err(e)) => panic!("{e}"),
                        None => break,
                    }
                }
            }
            assert_eq!((pings, msgs), (3, 2), "cut at {cut}");
        }
    }
}
