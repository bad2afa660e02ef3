//! One WebSocket exchange, server side, by sip-core's codec and by tungstenite: the work
//! `benches/websocket.rs` times and the `profile ws` mode counts instructions of.
//!
//! Equal work per exchange: a browser's masked text frame carrying the 758-byte INVITE
//! comes in (header parsed, payload unmasked, UTF-8 checked, the message handed out as
//! bytes), then the 200 OK goes out as an unmasked text frame (its bytes ready to write).
//! Neither side parses SIP; the handshake is not part of it. tungstenite runs over an
//! in-memory stream that yields the frame and collects what is written, as a socket would.

use crate::{INVITE, OK200};
use bytes::{Bytes, BytesMut};
use sip_core::transport::websocket::{Role, WsConnection, WsLimits, frame};
use std::hint::black_box;
use std::io::{self, Read, Write};

/// The INVITE as a browser sends it: one masked text frame.
pub fn client_frame() -> Bytes {
    let mut out = BytesMut::new();
    frame::encode(
        frame::Opcode::Text,
        INVITE.bytes,
        Some([0x5a, 0x11, 0xc3, 0x7e]),
        &mut out,
    );
    out.freeze()
}

/// sip-core's side: a server connection that runs exchanges.
pub struct SipCoreWs {
    conn: WsConnection,
    wire: Bytes,
}

impl Default for SipCoreWs {
    fn default() -> Self {
        SipCoreWs {
            conn: WsConnection::new(Role::Server, WsLimits::default()),
            wire: client_frame(),
        }
    }
}

impl SipCoreWs {
    /// One exchange; returns the received message's and the sent frame's lengths.
    pub fn exchange(&mut self) -> (usize, usize) {
        self.conn
            .handle_input(black_box(&self.wire))
            .expect("a valid frame");
        let m = self.conn.poll_message().expect("one message");
        self.conn.send(black_box(OK200.bytes)).expect("open");
        let out = self.conn.poll_transmit().expect("one frame");
        (black_box(m.payload).len(), black_box(out).len())
    }
}

/// A socket stand-in: reads give `input` once per refill, writes are collected.
struct Pipe {
    input: Bytes,
    at: usize,
    written: Vec<u8>,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = &self.input[self.at..];
        if rest.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.at += n;
        Ok(n)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// tungstenite's side: a server `WebSocket` over an in-memory pipe.
pub struct TungsteniteWs {
    ws: tungstenite::WebSocket<Pipe>,
    ok: tungstenite::Utf8Bytes,
}

impl Default for TungsteniteWs {
    fn default() -> Self {
        let pipe = Pipe {
            input: client_frame(),
            at: 0,
            written: Vec::with_capacity(4096),
        };
        let ws = tungstenite::WebSocket::from_raw_socket(
            pipe,
            tungstenite::protocol::Role::Server,
            None,
        );
        let ok = tungstenite::Utf8Bytes::from_static(
            std::str::from_utf8(OK200.bytes).expect("the 200 OK is text"),
        );
        TungsteniteWs { ws, ok }
    }
}

impl TungsteniteWs {
    /// One exchange; returns the received message's and the sent frame's lengths.
    pub fn exchange(&mut self) -> (usize, usize) {
        self.ws.get_mut().at = 0;
        self.ws.get_mut().written.clear();
        let m = self.ws.read().expect("a valid frame");
        let got = black_box(m.into_data()).len();
        self.ws
            .send(tungstenite::Message::Text(black_box(self.ok.clone())))
            .expect("open");
        (got, black_box(self.ws.get_ref().written.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_do_the_same_exchange() {
        let ours = SipCoreWs::default().exchange();
        let theirs = TungsteniteWs::default().exchange();
        assert_eq!(ours, theirs);
        assert_eq!(ours.0, INVITE.bytes.len());
        // A 2-byte header and a 16-bit length before the 200 OK's bytes.
        assert_eq!(ours.1, OK200.bytes.len() + 4);
    }
}
