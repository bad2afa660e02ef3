//! Byte ranges into a message's text.
//!
//! A parsed message keeps its start line and header section as one string and refers to every
//! piece of it (a header name, a header value, a Via branch) by a [`Span`]: two `u32` offsets,
//! `Copy`, no reference count, no copy of the text.

/// A half-open byte range `start..end` into a message's header text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    /// A span from `usize` offsets. Offsets are bounded by the message size limit, which is
    /// far below `u32::MAX`; larger values saturate (and then resolve to an empty string).
    pub fn new(start: usize, end: usize) -> Self {
        Span {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(end).unwrap_or(u32::MAX),
        }
    }

    /// The span of `part` inside `base`, where `part` is a sub-slice of `base`
    /// (computed from the two pointers; an unrelated slice gives an empty span).
    pub fn of(base: &str, part: &str) -> Self {
        let b = base.as_ptr() as usize;
        let p = part.as_ptr() as usize;
        if p < b || p + part.len() > b + base.len() {
            return Span::default();
        }
        Span::new(p - b, p - b + part.len())
    }

    /// The text this span covers in `text`, or `""` if it is out of range.
    #[inline]
    pub fn get(self, text: &str) -> &str {
        text.get(self.start as usize..self.end as usize)
            .unwrap_or("")
    }

    /// Length in bytes.
    pub fn len(self) -> usize {
        self.end.saturating_sub(self.start) as usize
    }

    /// Whether the span is empty.
    pub fn is_empty(self) -> bool {
        self.end <= self.start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn of_and_get_round_trip() {
        let base = "Via: SIP/2.0/UDP host";
        let part = &base[5..12];
        let s = Span::of(base, part);
        assert_eq!((s.start, s.end), (5, 12));
        assert_eq!(s.get(base), "SIP/2.0");
        assert_eq!(Span::of(base, "other"), Span::default());
        assert_eq!(Span::new(3, 99).get(base), "");
    }
}
