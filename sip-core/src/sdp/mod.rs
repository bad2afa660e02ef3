//! SDP, the Session Description Protocol (RFC 8866), as SIP's offer/answer model carries it
//! (RFC 3264): a typed session description that parses leniently, serialises byte-exactly
//! when unedited, and rejects what it cannot use with a typed error naming the line.
//!
//! # Why written here, not taken from a crate
//!
//! The two maintained crates were weighed first. `webrtc-sdp` (MPL-2.0, Mozilla) parses the
//! subset WebRTC's JSEP needs, pulls in `url`, reports unknown lines as warnings or errors
//! rather than keeping them, and writes its own canonical form back. `sdp-types` (MIT) keeps
//! attributes as name/value strings and is small, but it too re-writes the description in
//! its own line order and ending, so neither gives back the bytes a peer sent. A SIP stack
//! forwards and stores descriptions it did not write and compares `o=` lines across
//! offers (RFC 3264 §8), so byte-exactness matters; the description here keeps the text it
//! was parsed from and returns it verbatim until a field is edited (the same contract as the
//! stack's SIP messages), keeps every line it does not interpret in order, and bounds every
//! count the input controls ([`SdpLimits`]).
//!
//! # Shape
//!
//! | module | what it holds |
//! |---|---|
//! | `session` | [`SessionDescription`] and the session-level fields: origin, connection, bandwidth, timing |
//! | `media` | [`MediaDescription`]: port, protocol, formats, typed `rtpmap`/`fmtp`/`ptime` views |
//! | `attribute` | [`Attribute`] and [`Direction`] (RFC 8866 §6.7, RFC 3264 §5.1) |
//! | `parse` | the bounds ([`SdpLimits`]) and [`SdpError`] |
//! | `view` | the borrowing parse: [`SdpView`], fields as `&str` into the text, owned on demand |
//! | `write` | serialisation |
//! | `negotiate` | the answerer's and offerer's side of RFC 3264: answers, offers, hold and resume |
//!
//! ```
//! use sip_core::sdp::{Direction, SessionDescription};
//!
//! let text = "v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.1\r\ns=-\r\n\
//!             c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8 101\r\n\
//!             a=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n";
//! let sdp = SessionDescription::parse(text.as_bytes()).unwrap();
//! assert_eq!(sdp.media[0].port, 49170);
//! assert_eq!(sdp.media_direction(0), Some(Direction::SendOnly));
//! assert_eq!(sdp.to_string(), text); // unedited: the bytes it came from
//! ```

mod attribute;
mod media;
pub mod negotiate;
mod parse;
mod session;
mod view;
mod write;

pub use attribute::{Attribute, Direction};
pub use media::{Fmtp, MediaDescription, Rtpmap, static_payload};
pub use parse::{SdpError, SdpErrorKind, SdpLimits};
pub use session::{Bandwidth, Connection, Origin, Session, SessionDescription, Timing};
pub use view::{ConnectionView, MediaView, OriginView, SdpView};

/// A line this parser keeps without interpreting it (`i=`, `u=`, `e=`, `p=`, `r=`, `z=`,
/// `k=`, or a type letter RFC 8866 does not define), in the order it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherLine {
    /// The type letter (`b'i'`, `b'u'`, ...).
    pub kind: u8,
    /// What follows the `=`.
    pub value: String,
}

/// Splits `s` at the first `b` (an ASCII byte, so both halves are `str`s). A byte loop:
/// SDP fields are a few bytes long, shorter than a `char` pattern search takes to set up.
pub(crate) fn split_byte(s: &str, b: u8) -> Option<(&str, &str)> {
    let i = s.bytes().position(|c| c == b)?;
    Some((&s[..i], &s[i + 1..]))
}

/// The pieces of `s` between the ASCII byte `b` (like `str::split`, by bytes).
pub(crate) fn split_bytes(s: &str, b: u8) -> SplitBytes<'_> {
    SplitBytes { rest: Some(s), b }
}

/// The iterator of [`split_bytes`].
pub(crate) struct SplitBytes<'a> {
    rest: Option<&'a str>,
    b: u8,
}

impl<'a> Iterator for SplitBytes<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest?;
        match split_byte(s, self.b) {
            Some((head, tail)) => {
                self.rest = Some(tail);
                Some(head)
            }
            None => {
                self.rest = None;
                Some(s)
            }
        }
    }
}

#[cfg(test)]
mod tests;
