//! Message bodies.

use bytes::Bytes;

/// A message body and its Content-Type (RFC 3261 §7.4), such as an SDP offer or answer.
///
/// ```
/// use sip_ua::Body;
/// let offer = Body::sdp("v=0\r\n");
/// assert_eq!(offer.content_type, "application/sdp");
/// assert_eq!(&offer.bytes[..], b"v=0\r\n");
/// let text = Body::new("text/plain", "hello");
/// assert_eq!(text.content_type, "text/plain");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    /// The media type, as written in the Content-Type header.
    pub content_type: String,
    /// The bytes.
    pub bytes: Bytes,
}

impl Body {
    /// A body of any media type.
    pub fn new(content_type: impl Into<String>, bytes: impl Into<Bytes>) -> Self {
        Body {
            content_type: content_type.into(),
            bytes: bytes.into(),
        }
    }

    /// An `application/sdp` body (RFC 3264 offers and answers).
    pub fn sdp(bytes: impl Into<Bytes>) -> Self {
        Body::new("application/sdp", bytes)
    }

    /// The body as the core takes it.
    pub(crate) fn as_parts(&self) -> (&str, Bytes) {
        (&self.content_type, self.bytes.clone())
    }
}
