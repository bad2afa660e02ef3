//! What every driver does with a connection once bytes are read or queued, in one sans-IO
//! place: turning a read into the endpoint's inputs and the pongs owed (RFC 3261 §18.3
//! framing, RFC 5626 §3.5.1 keep-alives), and what a queued message costs against the
//! output caps of [`StreamLimits`](super::limits::StreamLimits).
//!
//! A driver reads into its [`StreamReader`], calls [`frame`], writes one
//! [`PONG`](super::keepalive::PONG) per [`Framed::pings`], hands
//! [`Framed::inputs`] to the endpoint, feeds [`Framed::progress`] to its
//! [`StreamTimer`](super::limits::StreamTimer), and closes the connection after the input
//! of an [`Framed::unframed`] stream.
//!
//! ```
//! use std::net::SocketAddr;
//! use sip_core::transport::Transport;
//! use sip_core::transport::keepalive::StreamReader;
//! use sip_core::transport::stream::frame;
//!
//! let mut r = StreamReader::new(Default::default());
//! r.push(b"\r\n\r\nOPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\nOPT");
//! let f = frame(&mut r, 0);
//! assert_eq!((f.pings, f.pongs), (1, 0));
//! assert_eq!(f.progress.messages, 1);
//! assert!(f.progress.in_progress && !f.unframed);
//! let peer: SocketAddr = "192.0.2.1:5060".parse().unwrap();
//! let local: SocketAddr = "192.0.2.2:5060".parse().unwrap();
//! assert_eq!(f.inputs(Transport::Tcp, peer, local).count(), 1);
//! ```

use std::net::SocketAddr;

use bytes::Bytes;

use super::Transport;
use super::keepalive::StreamReader;
use super::limits::ReadProgress;
use crate::endpoint::Input;
use crate::message::ParseError;

/// What one queued message costs against the output caps beyond its bytes: its queue
/// entry, so that even two-byte pongs cannot pile up for free.
pub const ENTRY_COST: usize = 64;

/// What a message of `len` bytes counts against the output caps
/// ([`StreamLimits::check_output`](super::limits::StreamLimits::check_output)).
///
/// ```
/// use sip_core::transport::stream::{output_cost, ENTRY_COST};
/// assert_eq!(output_cost(2), 2 + ENTRY_COST);
/// assert_eq!(output_cost(usize::MAX), usize::MAX);
/// ```
pub fn output_cost(len: usize) -> usize {
    len.saturating_add(ENTRY_COST)
}

/// One framed item of a stream.
#[derive(Debug, Clone, PartialEq)]
enum Frame {
    /// A whole message, framed but not parsed (the endpoint parses it once).
    Message(Bytes),
    /// The bytes held of the message that broke the framing, and why (§18.3).
    Unframed(Bytes, ParseError),
}

/// What [`frame`] found in the bytes read so far.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Framed {
    frames: Vec<Frame>,
    /// Double-CRLF pings, each owed a [`PONG`](super::keepalive::PONG) (RFC 5626 §3.5.1).
    pub pings: u64,
    /// Single-CRLF pongs answering pings the driver sent.
    pub pongs: u64,
    /// What the read brought, for the connection's
    /// [`StreamTimer`](super::limits::StreamTimer).
    pub progress: ReadProgress,
    /// The stream lost framing: after handing the inputs over (the last one is
    /// [`Input::Unframed`], which the endpoint answers if it can), read no more and close
    /// the connection (§18.3).
    pub unframed: bool,
}

impl Framed {
    /// Messages framed whole (the [`Input::Unframed`] of a broken stream not counted).
    pub fn messages(&self) -> usize {
        self.frames
            .iter()
            .filter(|f| matches!(f, Frame::Message(_)))
            .count()
    }

    /// The endpoint's inputs, in stream order, for a connection from `from` to `to`.
    pub fn inputs(
        self,
        transport: Transport,
        from: SocketAddr,
        to: SocketAddr,
    ) -> impl Iterator<Item = Input> {
        self.frames.into_iter().map(move |f| match f {
            Frame::Message(bytes) => Input::Receive {
                transport,
                from,
                to,
                bytes,
            },
            Frame::Unframed(bytes, error) => Input::Unframed {
                transport,
                from,
                to,
                bytes,
                error,
            },
        })
    }
}

/// Frames everything `reader` holds into messages, counting the keep-alives between them;
/// `awaiting_pong` is how many pings the driver sent that no pong answered yet. Stops at
/// the first framing error (the stream cannot be resynchronised, RFC 3261 §18.3).
pub fn frame(reader: &mut StreamReader, awaiting_pong: u64) -> Framed {
    let mut out = Framed::default();
    loop {
        let (seen, next) = reader.next(awaiting_pong.saturating_sub(out.pongs));
        out.pings += seen.pings;
        out.pongs += seen.pongs;
        out.progress.keepalives += seen.pings + seen.pongs;
        match next {
            None => break,
            Some(Ok(bytes)) => {
                out.progress.messages += 1;
                out.frames.push(Frame::Message(bytes));
            }
            Some(Err(error)) => {
                let bytes = reader.take_rejected().unwrap_or_default();
                out.frames.push(Frame::Unframed(bytes, error));
                out.unframed = true;
                break;
            }
        }
    }
    out.progress.in_progress = reader.message_in_progress();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::ParseOptions;

    const OPTIONS: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n";

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn messages_and_keepalives_in_one_read() {
        let mut r = StreamReader::new(ParseOptions::default());
        let mut bytes = OPTIONS.to_vec();
        bytes.extend_from_slice(b"\r\n\r\n");
        bytes.extend_from_slice(OPTIONS);
        r.push(&bytes);
        let f = frame(&mut r, 0);
        assert_eq!(f.messages(), 2);
        assert_eq!((f.pings, f.pongs), (1, 0));
        assert_eq!(f.progress.keepalives, 1);
        assert!(!f.progress.in_progress && !f.unframed);
        let inputs: Vec<Input> = f
            .inputs(Transport::Tcp, addr("192.0.2.1:1"), addr("192.0.2.2:2"))
            .collect();
        assert!(
            inputs
                .iter()
                .all(|i| matches!(i, Input::Receive { bytes, .. } if &bytes[..] == OPTIONS))
        );
    }

    /// A single CRLF answers one of our pings (RFC 5626 §3.5.1).
    #[test]
    fn pongs_count_against_pings_we_sent() {
        let mut r = StreamReader::new(ParseOptions::default());
        r.push(b"\r\n");
        let f = frame(&mut r, 1);
        assert_eq!((f.pings, f.pongs), (0, 1));
        assert_eq!(f.messages(), 0);
    }

    /// A message over the size limit breaks the stream: the input that lets the endpoint
    /// answer it comes last, and nothing after it is framed (§18.3).
    #[test]
    fn a_framing_error_ends_the_frames() {
        let mut opts = ParseOptions::default();
        opts.limits.max_message_size = 64;
        let mut r = StreamReader::new(opts);
        let mut bytes = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 500\r\n\r\n".to_vec();
        bytes.resize(600, b'x');
        r.push(&bytes);
        let f = frame(&mut r, 0);
        assert!(f.unframed);
        assert_eq!(f.messages(), 0);
        let inputs: Vec<Input> = f
            .inputs(Transport::Tcp, addr("192.0.2.1:1"), addr("192.0.2.2:2"))
            .collect();
        assert!(matches!(inputs.as_slice(), [Input::Unframed { .. }]));
    }
}
