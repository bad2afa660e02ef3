//! SIP over WebSocket (RFC 7118) on accepted connections: the opening handshake and the
//! framing both run in the core's sans-IO codec ([`sip_core::transport::websocket`]);
//! this module only routes a connection's bytes through it. What the codec has to write
//! (the `101` answer or the refusal, pongs, Close frames, each SIP message as one
//! WebSocket message) goes on the connection's queue like any message, under the same
//! output caps. The mio driver serves WebSocket only: a browser opens the connection,
//! and a message for one whose connection is gone fails at once (RFC 7118 §5).

use bytes::Bytes;
use sip_core::transport::websocket::{
    MAX_HANDSHAKE, Role, WsConnection, WsError, WsLimits, handshake,
};

/// A WebSocket connection's side of [`crate::tcp::Conn`]: the codec and what it produced
/// since the driver last looked.
#[derive(Debug)]
pub(crate) struct WsState {
    pub(crate) side: WsSide,
    pub(crate) out: WsOutput,
}

/// Hands plaintext read from a connection to its framer: the WebSocket codec when it has
/// one, else the SIP stream framer.
pub(crate) fn push_plain(
    reader: &mut sip_core::transport::keepalive::StreamReader,
    ws: Option<&mut WsState>,
    data: &[u8],
) {
    match ws {
        Some(w) => w.side.absorb(data, &mut w.out),
        None => reader.push(data),
    }
}

/// Where an accepted WebSocket connection is.
#[derive(Debug)]
pub(crate) enum WsSide {
    /// Reading the upgrade request (bounded by [`MAX_HANDSHAKE`]).
    Handshake { head: Vec<u8>, limits: WsLimits },
    /// Upgraded: frames in and out.
    Open(WsConnection),
    /// Refused or failed: what is queued is written, then the connection closes.
    Failed,
}

/// What a read produced, for the driver to act on.
#[derive(Debug, Default)]
pub(crate) struct WsOutput {
    /// Whole SIP messages, one per WebSocket message (RFC 7118 §5.1).
    pub(crate) messages: Vec<Bytes>,
    /// Bytes to write: the handshake's answer, pongs, a Close.
    pub(crate) transmits: Vec<Bytes>,
    /// Pings and Pongs received (keep-alives for the idle timer).
    pub(crate) keepalives: u64,
    /// Why the connection must close once `transmits` are written, if it must.
    pub(crate) close: Option<WsClose>,
}

/// Why a WebSocket connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WsClose {
    /// The handshake was refused (answered with its HTTP status).
    Refused,
    /// A protocol violation (answered with a Close with its code).
    Protocol(WsError),
    /// The closing handshake completed.
    Closed,
}

impl WsSide {
    /// A connection just accepted, waiting for its upgrade request.
    pub(crate) fn accepted(max_message: usize) -> WsSide {
        WsSide::Handshake {
            head: Vec::new(),
            limits: WsLimits {
                max_message,
                ..WsLimits::default()
            },
        }
    }

    /// Takes bytes read from the socket.
    pub(crate) fn absorb(&mut self, data: &[u8], out: &mut WsOutput) {
        match self {
            WsSide::Failed => {}
            WsSide::Handshake { head, limits } => {
                head.extend_from_slice(data);
                match handshake::accept(head, MAX_HANDSHAKE) {
                    Ok(None) => {}
                    Ok(Some(up)) => {
                        out.transmits.push(Bytes::from(up.response));
                        let rest = head.split_off(up.consumed.min(head.len()));
                        *self = WsSide::Open(WsConnection::new(Role::Server, *limits));
                        self.absorb(&rest, out);
                    }
                    Err(e) => {
                        out.transmits.push(Bytes::from(e.response()));
                        out.close = Some(WsClose::Refused);
                        *self = WsSide::Failed;
                    }
                }
            }
            WsSide::Open(ws) => {
                let fault = ws.handle_input(data).err();
                while let Some(m) = ws.poll_message() {
                    out.messages.push(m.payload);
                }
                out.keepalives += ws.take_keepalives();
                while let Some(b) = ws.poll_transmit() {
                    out.transmits.push(b);
                }
                if let Some(e) = fault {
                    out.close = Some(WsClose::Protocol(e));
                } else if ws.is_closed() {
                    out.close = Some(WsClose::Closed);
                }
            }
        }
    }

    /// One SIP message as one WebSocket frame to write; `None` before the handshake or
    /// once closing.
    pub(crate) fn frame(&mut self, message: &[u8]) -> Option<Bytes> {
        let WsSide::Open(ws) = self else { return None };
        ws.send(message).ok()?;
        ws.poll_transmit()
    }

    /// Whether part of a handshake, frame or message is held (the message deadline runs).
    pub(crate) fn in_progress(&self) -> bool {
        match self {
            WsSide::Handshake { head, .. } => !head.is_empty(),
            WsSide::Open(ws) => ws.message_in_progress(),
            WsSide::Failed => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sip_core::transport::websocket::ClientHandshake;

    #[test]
    fn a_handshake_then_a_message_then_a_refusal_of_garbage() {
        let mut side = WsSide::accepted(65_535);
        let (hs, mut wire) = ClientHandshake::new([1; 16], "127.0.0.1:80", "/");
        let mut client = WsConnection::new(Role::Client { seed: 2 }, WsLimits::default());
        client.send(b"OPTIONS sip:a@b SIP/2.0\r\n\r\n").unwrap();
        wire.extend_from_slice(&client.poll_transmit().unwrap());
        let mut out = WsOutput::default();
        for piece in wire.chunks(10) {
            side.absorb(piece, &mut out);
        }
        assert!(
            hs.finish(&out.transmits[0], MAX_HANDSHAKE)
                .unwrap()
                .is_some()
        );
        assert_eq!(out.messages.len(), 1);
        assert_eq!(out.close, None);
        assert!(side.frame(b"SIP/2.0 200 OK\r\n\r\n").is_some());
        // Unmasked from a client: a protocol error, its Close queued.
        let mut out = WsOutput::default();
        side.absorb(&[0x81, 0x01, b'x'], &mut out);
        assert!(matches!(out.close, Some(WsClose::Protocol(_))));
        assert_eq!(out.transmits.len(), 1);
    }

    #[test]
    fn a_request_without_the_sip_subprotocol_is_refused() {
        let mut side = WsSide::accepted(65_535);
        let mut out = WsOutput::default();
        side.absorb(
            b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            &mut out,
        );
        assert_eq!(out.close, Some(WsClose::Refused));
        assert!(out.transmits[0].starts_with(b"HTTP/1.1 4"));
        assert!(side.frame(b"x").is_none());
    }
}
