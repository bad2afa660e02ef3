//! One WebSocket connection after its handshake, sans-IO: bytes read go in, whole SIP
//! messages and the bytes to write come out (RFC 6455 §5–§7, RFC 7118 §5).
//!
//! A driver feeds what it reads to [`WsConnection::handle_input`], takes each message with
//! [`WsConnection::poll_message`] (one SIP message per WebSocket message, RFC 7118 §5.1:
//! the message is the framing, no Content-Length needed), writes what
//! [`WsConnection::poll_transmit`] yields (its own messages, pongs, the closing handshake),
//! and closes the socket once [`WsConnection::is_closed`] says so and the transmits are
//! drained. Nothing that breaks the rules reaches the core: a protocol violation queues a
//! Close with its code (§7.4.1) and ends the connection.

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};

use super::frame::{self, FrameError, FrameHeader, Opcode};
use super::keepalive::{KeepaliveAction, PingKeepalive, WsKeepalive};

/// Which end of the connection this is: it decides the masking rules (RFC 6455 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Accepted the connection: sends unmasked frames, requires masked ones.
    Server,
    /// Opened the connection: masks every frame with a fresh key drawn from a generator
    /// seeded with this value (§5.3; the caller seeds it from its own random source, so a
    /// simulation replays), requires unmasked ones.
    Client {
        /// The seed of the masking-key generator.
        seed: u64,
    },
}

/// Sizes a peer controls, bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WsLimits {
    /// The largest message (all its fragments together), in bytes: a larger one closes
    /// the connection with 1009 (§7.4.1). Default 65,535, a UDP datagram's worth.
    pub max_message: usize,
    /// The most fragments one message may come in (a peer sending a message one byte per
    /// frame costs a header per byte). Default 64.
    pub max_fragments: usize,
}

impl Default for WsLimits {
    fn default() -> Self {
        WsLimits {
            max_message: 65_535,
            max_fragments: 64,
        }
    }
}

/// A WebSocket close status code (RFC 6455 §7.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: normal closure.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: going away (the server shuts down).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: protocol error.
    pub const PROTOCOL: CloseCode = CloseCode(1002);
    /// 1003: a data type the endpoint cannot accept.
    pub const UNSUPPORTED: CloseCode = CloseCode(1003);
    /// 1007: a text message that is not UTF-8.
    pub const INVALID_DATA: CloseCode = CloseCode(1007);
    /// 1008: a policy violation.
    pub const POLICY: CloseCode = CloseCode(1008);
    /// 1009: a message too big to process.
    pub const TOO_BIG: CloseCode = CloseCode(1009);

    /// Whether a peer may send this code in a Close frame (§7.4.1, §7.4.2: 1004–1006 and
    /// 1015 are reserved, below 1000 and 1016–2999 unassigned).
    pub fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

/// Why the connection ends: the code it was closed with and what broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WsError {
    /// A frame broke RFC 6455's framing rules (1002).
    #[error("protocol error: {0}")]
    Frame(#[from] FrameError),
    /// A frame's masking is wrong for its direction (1002, §5.1).
    #[error("frame masking wrong for its direction")]
    Masking,
    /// A continuation with no message begun, or a new message inside a fragmented one
    /// (1002, §5.4).
    #[error("fragments out of order")]
    Fragmentation,
    /// A Close frame with a 1-byte payload, a reserved code or a reason not in UTF-8
    /// (1002, §5.5.1, §7.4).
    #[error("malformed close frame")]
    BadClose,
    /// A text message that is not UTF-8 (1007, §8.1).
    #[error("text message is not UTF-8")]
    NotUtf8,
    /// A message over [`WsLimits::max_message`] bytes or in more than
    /// [`WsLimits::max_fragments`] frames (1009).
    #[error("message too big")]
    TooBig,
    /// Sending on a connection that is closing or closed.
    #[error("connection closed")]
    Closed,
    /// Our keep-alive Ping got no Pong within [`WsKeepalive::pong_timeout`] (closed with
    /// 1001, going away: the peer is presumed gone).
    #[error("no pong within the keep-alive deadline")]
    NoPong,
}

impl WsError {
    /// The close code this fault is answered with.
    pub fn close_code(self) -> CloseCode {
        match self {
            WsError::NotUtf8 => CloseCode::INVALID_DATA,
            WsError::TooBig => CloseCode::TOO_BIG,
            WsError::Closed => CloseCode::NORMAL,
            WsError::NoPong => CloseCode::GOING_AWAY,
            _ => CloseCode::PROTOCOL,
        }
    }
}

/// A message received: the bytes of one SIP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsMessage {
    /// The payload.
    pub payload: Bytes,
    /// Whether it came as text (checked to be UTF-8) rather than binary.
    pub text: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// We sent a Close and wait for the peer's (§5.5.1).
    CloseSent,
    /// Both Closes exchanged, or the connection failed: nothing more is read.
    Closed,
}

/// One connection's framing state.
#[derive(Debug)]
pub struct WsConnection {
    server: bool,
    rng: fastrand::Rng,
    limits: WsLimits,
    input: BytesMut,
    /// A fragmented message being reassembled: whether it is text, its bytes so far and
    /// its fragment count.
    partial: Option<(bool, BytesMut, usize)>,
    ready: VecDeque<WsMessage>,
    out: VecDeque<Bytes>,
    state: State,
    peer_close: Option<CloseCode>,
    error: Option<WsError>,
    /// Pings and Pongs received since [`WsConnection::take_keepalives`] last asked.
    keepalives: u64,
    /// Our own Pings on an idle connection, when asked for.
    keepalive: Option<PingKeepalive>,
}

impl WsConnection {
    /// A connection whose handshake is done.
    pub fn new(role: Role, limits: WsLimits) -> WsConnection {
        let (server, seed) = match role {
            Role::Server => (true, 0),
            Role::Client { seed } => (false, seed),
        };
        WsConnection {
            server,
            rng: fastrand::Rng::with_seed(seed),
            limits,
            input: BytesMut::new(),
            partial: None,
            ready: VecDeque::new(),
            out: VecDeque::new(),
            state: State::Open,
            peer_close: None,
            error: None,
            keepalives: 0,
            keepalive: None,
        }
    }

    /// This connection, pinging the peer when nothing has been received for
    /// `keepalive.interval` and failing with [`WsError::NoPong`] when the Pong does not
    /// come within `keepalive.pong_timeout` (RFC 6455 §5.5.2). `now` is when it opened.
    /// The driver sleeps until [`WsConnection::poll_timeout`] and calls
    /// [`WsConnection::handle_timeout`].
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use sip_core::transport::websocket::{Role, WsConnection, WsError, WsKeepalive, WsLimits};
    /// let t0 = Instant::now();
    /// let ka = WsKeepalive { interval: Duration::from_secs(30), pong_timeout: Duration::from_secs(5) };
    /// let mut ws = WsConnection::new(Role::Server, WsLimits::default()).with_keepalive(ka, t0);
    /// let at = ws.poll_timeout().unwrap();
    /// ws.handle_timeout(at).unwrap(); // a Ping is queued
    /// assert!(ws.poll_transmit().is_some());
    /// let at = ws.poll_timeout().unwrap(); // its Pong's deadline
    /// assert_eq!(ws.handle_timeout(at), Err(WsError::NoPong));
    /// assert!(ws.is_closed());
    /// ```
    pub fn with_keepalive(mut self, keepalive: WsKeepalive, now: std::time::Instant) -> Self {
        self.keepalive = Some(PingKeepalive::new(keepalive, now));
        self
    }

    /// When [`WsConnection::handle_timeout`] is due: `None` without a keep-alive or once
    /// the connection is closing.
    pub fn poll_timeout(&self) -> Option<std::time::Instant> {
        if self.state != State::Open {
            return None;
        }
        self.keepalive.as_ref().map(PingKeepalive::deadline)
    }

    /// The keep-alive deadline passed: queues a Ping on an idle connection, or fails the
    /// connection (its Close queued, [`WsError::NoPong`] returned) when the last Ping
    /// went unanswered. Does nothing before the deadline.
    pub fn handle_timeout(&mut self, now: std::time::Instant) -> Result<(), WsError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.state != State::Open {
            return Ok(());
        }
        let Some(ka) = self.keepalive.as_mut() else {
            return Ok(());
        };
        match ka.on_deadline(now) {
            KeepaliveAction::None => Ok(()),
            KeepaliveAction::Ping => {
                self.queue(Opcode::Ping, b"");
                Ok(())
            }
            KeepaliveAction::Dead => {
                self.fail(WsError::NoPong);
                Err(WsError::NoPong)
            }
        }
    }

    /// Takes bytes read from the socket and decodes every whole frame in them. An error
    /// ends the connection: its Close is queued for [`WsConnection::poll_transmit`] and
    /// the same error is returned again by later calls. Messages decoded before the fault
    /// stay available to [`WsConnection::poll_message`].
    pub fn handle_input(&mut self, data: &[u8]) -> Result<(), WsError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.state == State::Closed {
            return Ok(());
        }
        if let Some(ka) = self.keepalive.as_mut()
            && !data.is_empty()
        {
            ka.on_input();
        }
        self.input.extend_from_slice(data);
        while self.state != State::Closed {
            match self.next_frame() {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    self.fail(e);
                    return Err(e);
                }
            }
        }
        if self.state == State::Closed || (self.input.is_empty() && self.input.capacity() > 0) {
            // Nothing held: the buffer goes (an idle connection keeps no read buffer).
            self.input = BytesMut::new();
        }
        Ok(())
    }

    /// The next message received, in order.
    pub fn poll_message(&mut self) -> Option<WsMessage> {
        self.ready.pop_front()
    }

    /// The next bytes to write to the socket.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.out.pop_front()
    }

    /// Queues one SIP message as one WebSocket message: a text frame when it is UTF-8, a
    /// binary frame otherwise (RFC 7118 §5.1).
    pub fn send(&mut self, message: &[u8]) -> Result<(), WsError> {
        if self.state != State::Open {
            return Err(WsError::Closed);
        }
        let opcode = if simdutf8::basic::from_utf8(message).is_ok() {
            Opcode::Text
        } else {
            Opcode::Binary
        };
        self.queue(opcode, message);
        Ok(())
    }

    /// Queues a Ping (a keep-alive the peer must answer with a Pong, §5.5.2); `payload`
    /// is cut to 125 bytes.
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), WsError> {
        if self.state != State::Open {
            return Err(WsError::Closed);
        }
        let n = payload.len().min(frame::MAX_CONTROL_PAYLOAD);
        self.queue(Opcode::Ping, &payload[..n]);
        Ok(())
    }

    /// Starts the closing handshake (§7.1.2): a Close with `code` is queued, and the
    /// connection is closed once the peer's Close arrives (or the driver gives up waiting).
    pub fn close(&mut self, code: CloseCode) {
        if self.state == State::Open {
            self.queue(Opcode::Close, &code.0.to_be_bytes());
            self.state = State::CloseSent;
        }
    }

    /// Whether the connection is over: the driver writes what is left in
    /// [`WsConnection::poll_transmit`] and closes the socket (a server closes first, §7.1.1).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// The code of the peer's Close, once one came (1005 when it carried none).
    pub fn peer_close(&self) -> Option<CloseCode> {
        self.peer_close
    }

    /// Whether part of a frame or of a fragmented message is held: a driver's message
    /// deadline runs while it is (RFC 6455 leaves such limits to the endpoint).
    pub fn message_in_progress(&self) -> bool {
        !self.input.is_empty() || self.partial.is_some()
    }

    /// The Pings and Pongs received since the last call: keep-alives, which keep an idle
    /// connection open (§5.5.2, §5.5.3).
    pub fn take_keepalives(&mut self) -> u64 {
        std::mem::take(&mut self.keepalives)
    }

    fn queue(&mut self, opcode: Opcode, payload: &[u8]) {
        let mask = (!self.server).then(|| self.rng.u32(..).to_be_bytes());
        let mut out = BytesMut::new();
        frame::encode(opcode, payload, mask, &mut out);
        self.out.push_back(out.freeze());
    }

    fn fail(&mut self, e: WsError) {
        self.error = Some(e);
        if self.state == State::Open {
            self.queue(Opcode::Close, &e.close_code().0.to_be_bytes());
        }
        self.state = State::Closed;
        self.partial = None;
        self.input = BytesMut::new();
    }

    /// Decodes one frame from the input: `Ok(false)` when it is not all there yet.
    fn next_frame(&mut self) -> Result<bool, WsError> {
        let Some(h) = frame::parse_header(&self.input)? else {
            return Ok(false);
        };
        if h.mask.is_some() != self.server {
            return Err(WsError::Masking);
        }
        let max = self.limits.max_message as u64;
        let so_far = self.partial.as_ref().map_or(0, |(_, b, _)| b.len() as u64);
        if !h.opcode.is_control() && so_far.saturating_add(h.payload_len) > max {
            return Err(WsError::TooBig);
        }
        // Bounded: at most max_message (or 125) plus a 14-byte header is ever buffered.
        let len = h.header_len + h.payload_len as usize;
        if self.input.len() < len {
            self.input.reserve(len - self.input.len());
            return Ok(false);
        }
        let mut payload = self.input.split_to(len);
        payload.advance(h.header_len);
        if let Some(key) = h.mask {
            frame::apply_mask(&mut payload, key, 0);
        }
        self.on_frame(h, payload)?;
        Ok(true)
    }

    fn on_frame(&mut self, h: FrameHeader, payload: BytesMut) -> Result<(), WsError> {
        match h.opcode {
            Opcode::Ping => {
                self.keepalives += 1;
                if self.state == State::Open {
                    self.queue(Opcode::Pong, &payload);
                }
            }
            Opcode::Pong => {
                self.keepalives += 1;
                if let Some(ka) = self.keepalive.as_mut() {
                    ka.on_pong();
                }
            }
            Opcode::Close => self.on_close(&payload)?,
            Opcode::Text | Opcode::Binary if self.state == State::CloseSent => {}
            Opcode::Text | Opcode::Binary => {
                if self.partial.is_some() {
                    return Err(WsError::Fragmentation);
                }
                let text = h.opcode == Opcode::Text;
                if h.fin {
                    self.deliver(text, payload)?;
                } else {
                    self.partial = Some((text, payload, 1));
                }
            }
            Opcode::Continuation => {
                let Some((text, mut buf, n)) = self.partial.take() else {
                    return Err(WsError::Fragmentation);
                };
                if n >= self.limits.max_fragments {
                    return Err(WsError::TooBig);
                }
                buf.extend_from_slice(&payload);
                if h.fin {
                    if self.state == State::Open {
                        self.deliver(text, buf)?;
                    }
                } else {
                    self.partial = Some((text, buf, n + 1));
                }
            }
        }
        Ok(())
    }

    fn deliver(&mut self, text: bool, payload: BytesMut) -> Result<(), WsError> {
        if text && simdutf8::basic::from_utf8(&payload).is_err() {
            return Err(WsError::NotUtf8);
        }
        self.ready.push_back(WsMessage {
            payload: payload.freeze(),
            text,
        });
        Ok(())
    }

    /// The peer's Close (§5.5.1): answered with a Close echoing its code unless we sent
    /// ours first; either way the connection is then closed.
    fn on_close(&mut self, payload: &[u8]) -> Result<(), WsError> {
        let code = match payload {
            [] => None,
            [_] => return Err(WsError::BadClose),
            [a, b, reason @ ..] => {
                let code = CloseCode(u16::from_be_bytes([*a, *b]));
                if !code.is_valid_on_wire() || std::str::from_utf8(reason).is_err() {
                    return Err(WsError::BadClose);
                }
                Some(code)
            }
        };
        self.peer_close = Some(code.unwrap_or(CloseCode(1005)));
        if self.state == State::Open {
            let echo = code.map(|c| c.0.to_be_bytes());
            self.queue(Opcode::Close, echo.as_ref().map_or(&[][..], |c| &c[..]));
        }
        self.state = State::Closed;
        self.partial = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a client writes: `opcode` frames, each masked.
    fn client_frame(opcode: Opcode, fin: bool, payload: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        frame::encode(opcode, payload, Some([1, 2, 3, 4]), &mut out);
        if !fin {
            out[0] &= 0x7F;
        }
        out.to_vec()
    }

    fn server() -> WsConnection {
        WsConnection::new(Role::Server, WsLimits::default())
    }

    const OPTIONS: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/WS x.invalid\r\n\r\n";

    #[test]
    fn an_idle_connection_is_pinged_and_closed_without_a_pong() {
        #[allow(clippy::disallowed_methods)] // tests only: any instant will do
        let t0 = std::time::Instant::now();
        let ka = WsKeepalive {
            interval: std::time::Duration::from_secs(20),
            pong_timeout: std::time::Duration::from_secs(5),
        };
        let mut s = server().with_keepalive(ka, t0);
        // Traffic within the interval: no Ping at the first deadline.
        s.handle_input(&client_frame(Opcode::Text, true, OPTIONS))
            .unwrap();
        s.handle_timeout(s.poll_timeout().unwrap()).unwrap();
        assert!(s.poll_transmit().is_none());
        // Silence: a Ping (unmasked from a server), answered by the client's Pong.
        s.handle_timeout(s.poll_timeout().unwrap()).unwrap();
        let ping = s.poll_transmit().unwrap();
        let h = frame::parse_header(&ping).unwrap().unwrap();
        assert_eq!((h.opcode, h.mask), (Opcode::Ping, None));
        s.handle_input(&client_frame(Opcode::Pong, true, b""))
            .unwrap();
        s.handle_timeout(s.poll_timeout().unwrap()).unwrap();
        assert!(!s.is_closed());
        // Silence again, a Ping, and no Pong: closed with 1001.
        s.handle_timeout(s.poll_timeout().unwrap()).unwrap();
        assert!(s.poll_transmit().is_some());
        let at = s.poll_timeout().unwrap();
        assert_eq!(s.handle_timeout(at), Err(WsError::NoPong));
        assert!(s.is_closed() && s.poll_timeout().is_none());
        let close = s.poll_transmit().unwrap();
        assert_eq!(&close[2..4], &1001u16.to_be_bytes());
    }

    #[test]
    fn partial_frames_and_keepalives_are_reported() {
        let mut s = server();
        assert!(!s.message_in_progress());
        let wire = client_frame(Opcode::Text, true, OPTIONS);
        s.handle_input(&wire[..5]).unwrap();
        assert!(s.message_in_progress());
        s.handle_input(&wire[5..]).unwrap();
        assert!(!s.message_in_progress());
        s.handle_input(&client_frame(Opcode::Text, false, b"OPT"))
            .unwrap();
        assert!(s.message_in_progress());
        s.handle_input(&client_frame(Opcode::Ping, true, b""))
            .unwrap();
        s.handle_input(&client_frame(Opcode::Pong, true, b""))
            .unwrap();
        assert_eq!(s.take_keepalives(), 2);
        assert_eq!(s.take_keepalives(), 0);
    }

    #[test]
    fn a_message_in_one_frame_or_many_arrives_whole_even_byte_by_byte() {
        let mut s = server();
        let mut wire = client_frame(Opcode::Text, true, OPTIONS);
        wire.extend(client_frame(Opcode::Binary, false, &OPTIONS[..10]));
        wire.extend(client_frame(Opcode::Ping, true, b"p"));
        wire.extend(client_frame(Opcode::Continuation, true, &OPTIONS[10..]));
        for b in &wire {
            s.handle_input(std::slice::from_ref(b)).unwrap();
        }
        let m = s.poll_message().unwrap();
        assert_eq!((m.payload.as_ref(), m.text), (OPTIONS, true));
        let m = s.poll_message().unwrap();
        assert_eq!((m.payload.as_ref(), m.text), (OPTIONS, false));
        assert_eq!(s.poll_message(), None);
        // The ping, answered between the fragments, unmasked from a server.
        assert_eq!(s.poll_transmit().unwrap().as_ref(), &[0x8A, 0x01, b'p']);
        assert!(!s.is_closed());
    }

    #[test]
    fn sending_masks_by_role_and_picks_text_for_utf8() {
        let mut s = server();
        s.send(OPTIONS).unwrap();
        let f = s.poll_transmit().unwrap();
        let h = frame::parse_header(&f).unwrap().unwrap();
        assert_eq!((h.opcode, h.mask), (Opcode::Text, None));
        assert_eq!(&f[h.header_len..], OPTIONS);

        let mut c = WsConnection::new(Role::Client { seed: 7 }, WsLimits::default());
        c.send(&[0xFF, 0xFE]).unwrap();
        let f = c.poll_transmit().unwrap();
        let h = frame::parse_header(&f).unwrap().unwrap();
        assert_eq!(h.opcode, Opcode::Binary);
        // And our server reads what our client wrote.
        let mut s = server();
        c.send(OPTIONS).unwrap();
        s.handle_input(&c.poll_transmit().unwrap()).unwrap();
        assert_eq!(s.poll_message().unwrap().payload.as_ref(), OPTIONS);
    }

    #[test]
    fn each_violation_closes_with_its_code_and_nothing_reaches_the_core() {
        let unmasked = {
            let mut out = BytesMut::new();
            frame::encode(Opcode::Text, b"x", None, &mut out);
            out.to_vec()
        };
        let cases: Vec<(Vec<u8>, WsError)> = vec![
            (unmasked, WsError::Masking),
            (
                client_frame(Opcode::Continuation, true, b"x"),
                WsError::Fragmentation,
            ),
            (
                [
                    client_frame(Opcode::Text, false, b"a"),
                    client_frame(Opcode::Text, true, b"b"),
                ]
                .concat(),
                WsError::Fragmentation,
            ),
            (client_frame(Opcode::Text, true, &[0xC3]), WsError::NotUtf8),
            (client_frame(Opcode::Close, true, &[3]), WsError::BadClose),
            (
                client_frame(Opcode::Close, true, &1005u16.to_be_bytes()),
                WsError::BadClose,
            ),
            (
                vec![0x83, 0x80, 0, 0, 0, 0],
                WsError::Frame(FrameError::Opcode(3)),
            ),
            (
                vec![0xF1, 0x80, 0, 0, 0, 0],
                WsError::Frame(FrameError::Reserved),
            ),
        ];
        for (wire, err) in cases {
            let mut s = server();
            assert_eq!(s.handle_input(&wire), Err(err), "{wire:?}");
            assert_eq!(s.poll_message(), None);
            assert!(s.is_closed());
            let close = s.poll_transmit().unwrap();
            assert_eq!(close[0], 0x88);
            assert_eq!(&close[2..4], &err.close_code().0.to_be_bytes());
            // Later input is refused the same way and sends nothing more.
            assert_eq!(s.handle_input(OPTIONS), Err(err));
            assert_eq!(s.poll_transmit(), None);
        }
    }

    #[test]
    fn oversize_messages_are_refused_before_they_are_buffered() {
        let limits = WsLimits {
            max_message: 100,
            max_fragments: 3,
        };
        let mut s = WsConnection::new(Role::Server, limits);
        // Only the header of a frame announcing 1 MiB: refused at once.
        let head = [0x82, 0xFF, 0, 0, 0, 0, 0, 0x10, 0, 0, 1, 2, 3, 4];
        assert_eq!(s.handle_input(&head), Err(WsError::TooBig));
        assert_eq!(s.poll_transmit().unwrap()[2..4], 1009u16.to_be_bytes());

        let mut s = WsConnection::new(Role::Server, limits);
        let wire = [
            client_frame(Opcode::Text, false, &[b'a'; 60]),
            client_frame(Opcode::Continuation, true, &[b'a'; 60]),
        ]
        .concat();
        assert_eq!(s.handle_input(&wire), Err(WsError::TooBig));

        let mut s = WsConnection::new(Role::Server, limits);
        let wire = [
            client_frame(Opcode::Text, false, b"a"),
            client_frame(Opcode::Continuation, false, b"a"),
            client_frame(Opcode::Continuation, false, b"a"),
            client_frame(Opcode::Continuation, true, b"a"),
        ]
        .concat();
        assert_eq!(s.handle_input(&wire), Err(WsError::TooBig));
    }

    #[test]
    fn the_closing_handshake_both_ways() {
        // The peer closes: we echo its code and are closed.
        let mut s = server();
        let mut close = 1001u16.to_be_bytes().to_vec();
        close.extend_from_slice(b"bye");
        s.handle_input(&client_frame(Opcode::Close, true, &close))
            .unwrap();
        assert!(s.is_closed());
        assert_eq!(s.peer_close(), Some(CloseCode::GOING_AWAY));
        assert_eq!(s.poll_transmit().unwrap().as_ref(), &[0x88, 2, 0x03, 0xE9]);
        assert_eq!(s.send(OPTIONS), Err(WsError::Closed));

        // We close: messages still in flight are dropped, the peer's Close ends it.
        let mut s = server();
        s.close(CloseCode::NORMAL);
        assert_eq!(s.poll_transmit().unwrap().as_ref(), &[0x88, 2, 0x03, 0xE8]);
        s.handle_input(&client_frame(Opcode::Text, true, OPTIONS))
            .unwrap();
        assert_eq!(s.poll_message(), None);
        assert!(!s.is_closed());
        s.handle_input(&client_frame(Opcode::Close, true, &[]))
            .unwrap();
        assert!(s.is_closed());
        assert_eq!(s.peer_close(), Some(CloseCode(1005)));
        assert_eq!(s.poll_transmit(), None);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_stay_bounded() {
        let mut rng = fastrand::Rng::with_seed(11);
        for _ in 0..2_000 {
            let mut s = WsConnection::new(
                Role::Server,
                WsLimits {
                    max_message: 300,
                    max_fragments: 4,
                },
            );
            for _ in 0..rng.usize(1..8) {
                let len = rng.usize(0..200);
                let mut chunk: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
                if let Some(b) = chunk.get_mut(1) {
                    *b |= 0x80; // mostly masked, so more of it gets past the header
                }
                let _ = s.handle_input(&chunk);
                assert!(s.input.len() <= 300 + 14, "{} buffered", s.input.len());
                while let Some(m) = s.poll_message() {
                    assert!(m.payload.len() <= 300);
                }
            }
        }
    }
}
