//! The WebSocket base framing (RFC 6455 §5.2): a frame's header, masking, and encoding.

use bytes::{BufMut, BytesMut};

/// A frame's opcode (RFC 6455 §5.2, §11.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    /// Continues a fragmented message (§5.4).
    Continuation,
    /// A text message (UTF-8).
    Text,
    /// A binary message.
    Binary,
    /// Close (§5.5.1).
    Close,
    /// Ping (§5.5.2).
    Ping,
    /// Pong (§5.5.3).
    Pong,
}

impl Opcode {
    fn from_bits(b: u8) -> Option<Opcode> {
        Some(match b {
            0x0 => Opcode::Continuation,
            0x1 => Opcode::Text,
            0x2 => Opcode::Binary,
            0x8 => Opcode::Close,
            0x9 => Opcode::Ping,
            0xA => Opcode::Pong,
            _ => return None,
        })
    }

    fn bits(self) -> u8 {
        match self {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xA,
        }
    }

    /// Close, Ping and Pong: at most 125 bytes of payload, never fragmented (§5.5).
    pub fn is_control(self) -> bool {
        matches!(self, Opcode::Close | Opcode::Ping | Opcode::Pong)
    }
}

/// The largest payload of a control frame (§5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame header as read (§5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// The last frame of its message.
    pub fin: bool,
    /// The opcode.
    pub opcode: Opcode,
    /// The masking key, if the frame is masked (§5.3).
    pub mask: Option<[u8; 4]>,
    /// The payload length.
    pub payload_len: u64,
    /// The header's own length (2 to 14 bytes).
    pub header_len: usize,
}

/// Why a frame header is refused: each is a protocol error (close code 1002, §7.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A reserved bit is set with no extension negotiated (§5.2).
    #[error("reserved bit set")]
    Reserved,
    /// An opcode RFC 6455 reserves (§5.2).
    #[error("reserved opcode {0:#x}")]
    Opcode(u8),
    /// A control frame fragmented or longer than 125 bytes (§5.5).
    #[error("control frame fragmented or over 125 bytes")]
    Control,
    /// A 64-bit length with its most significant bit set (§5.2).
    #[error("payload length out of range")]
    Length,
}

/// Reads a frame header from the start of `buf`: `Ok(None)` until all of it is there.
pub fn parse_header(buf: &[u8]) -> Result<Option<FrameHeader>, FrameError> {
    let [b0, b1, ..] = *buf else {
        return Ok(None);
    };
    if b0 & 0x70 != 0 {
        return Err(FrameError::Reserved);
    }
    let opcode = Opcode::from_bits(b0 & 0x0F).ok_or(FrameError::Opcode(b0 & 0x0F))?;
    let fin = b0 & 0x80 != 0;
    let masked = b1 & 0x80 != 0;
    let (payload_len, mut at) = match b1 & 0x7F {
        126 => match buf.get(2..4) {
            Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10) {
            Some(b) => {
                let mut n = [0; 8];
                n.copy_from_slice(b);
                let len = u64::from_be_bytes(n);
                if len >> 63 != 0 {
                    return Err(FrameError::Length);
                }
                (len, 10)
            }
            None => return Ok(None),
        },
        n => (u64::from(n), 2),
    };
    if opcode.is_control() && (!fin || payload_len > MAX_CONTROL_PAYLOAD as u64) {
        return Err(FrameError::Control);
    }
    let mask = if masked {
        let Some(k) = buf.get(at..at + 4) else {
            return Ok(None);
        };
        at += 4;
        Some([k[0], k[1], k[2], k[3]])
    } else {
        None
    };
    Ok(Some(FrameHeader {
        fin,
        opcode,
        mask,
        payload_len,
        header_len: at,
    }))
}

/// XORs `data` with the masking key, `offset` bytes into the payload (§5.3): the same
/// operation masks and unmasks.
pub fn apply_mask(data: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, b) in data.iter_mut().enumerate() {
        *b ^= key[(offset + i) % 4];
    }
}

/// Appends one whole frame (FIN set) to `out`, masked with `mask` if given (clients mask
/// every frame, servers none, §5.1).
pub fn encode(opcode: Opcode, payload: &[u8], mask: Option<[u8; 4]>, out: &mut BytesMut) {
    out.reserve(payload.len() + 14);
    out.put_u8(0x80 | opcode.bits());
    let m = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.put_u8(m | n as u8),
        n if n <= usize::from(u16::MAX) => {
            out.put_u8(m | 126);
            out.put_u16(n as u16);
        }
        n => {
            out.put_u8(m | 127);
            out.put_u64(n as u64);
        }
    }
    let start = out.len();
    if let Some(key) = mask {
        out.put_slice(&key);
        out.put_slice(payload);
        apply_mask(&mut out[start + 4..], key, 0);
    } else {
        out.put_slice(payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6455_examples_decode() {
        // §5.7: an unmasked "Hello", a masked "Hello", and a 256-byte binary header.
        let h = parse_header(&[0x81, 0x05, 0x48]).unwrap().unwrap();
        assert_eq!(
            (h.fin, h.opcode, h.mask, h.payload_len, h.header_len),
            (true, Opcode::Text, None, 5, 2)
        );
        let masked = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let h = parse_header(&masked).unwrap().unwrap();
        assert_eq!(h.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
        let mut payload = masked[6..].to_vec();
        apply_mask(&mut payload, h.mask.unwrap(), 0);
        assert_eq!(payload, b"Hello");
        let h = parse_header(&[0x82, 0x7E, 0x01, 0x00]).unwrap().unwrap();
        assert_eq!((h.payload_len, h.header_len), (256, 4));
        let h = parse_header(&[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0])
            .unwrap()
            .unwrap();
        assert_eq!((h.payload_len, h.header_len), (65536, 10));
    }

    #[test]
    fn partial_headers_wait() {
        assert_eq!(parse_header(&[]), Ok(None));
        assert_eq!(parse_header(&[0x81]), Ok(None));
        assert_eq!(parse_header(&[0x81, 0xFE, 0x01]), Ok(None));
        assert_eq!(parse_header(&[0x81, 0x85, 1, 2, 3]), Ok(None));
        assert_eq!(parse_header(&[0x82, 0x7F, 0, 0, 0]), Ok(None));
    }

    #[test]
    fn bad_headers_are_protocol_errors() {
        assert_eq!(parse_header(&[0xC1, 0x00]), Err(FrameError::Reserved));
        assert_eq!(parse_header(&[0x83, 0x00]), Err(FrameError::Opcode(3)));
        assert_eq!(
            parse_header(&[0x89, 0x7E, 0, 126]),
            Err(FrameError::Control)
        );
        assert_eq!(parse_header(&[0x09, 0x00]), Err(FrameError::Control));
        assert_eq!(
            parse_header(&[0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0]),
            Err(FrameError::Length)
        );
    }

    #[test]
    fn encoding_round_trips_at_each_length_form() {
        for len in [0, 125, 126, 65535, 65536] {
            for mask in [None, Some([9, 8, 7, 6])] {
                let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
                let mut out = BytesMut::new();
                encode(Opcode::Binary, &payload, mask, &mut out);
                let h = parse_header(&out).unwrap().unwrap();
                assert_eq!((h.fin, h.opcode, h.mask), (true, Opcode::Binary, mask));
                assert_eq!(h.payload_len, len as u64);
                let mut body = out[h.header_len..].to_vec();
                if let Some(k) = h.mask {
                    apply_mask(&mut body, k, 0);
                }
                assert_eq!(body, payload, "len {len} mask {mask:?}");
            }
        }
    }
}
