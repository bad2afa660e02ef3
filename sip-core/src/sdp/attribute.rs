//! Attributes (`a=`, RFC 8866 §5.13) and the media direction they may carry (RFC 8866
//! §6.7, RFC 3264 §5.1).

/// One `a=` line: `a=name` (a property attribute) or `a=name:value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The name (before any `:`).
    pub name: String,
    /// The value (after the first `:`), if any.
    pub value: Option<String>,
}

impl Attribute {
    /// A property attribute (`a=sendonly`).
    pub fn property(name: &str) -> Self {
        Attribute {
            name: name.to_owned(),
            value: None,
        }
    }

    /// A value attribute (`a=ptime:20`).
    pub fn value(name: &str, value: &str) -> Self {
        Attribute {
            name: name.to_owned(),
            value: Some(value.to_owned()),
        }
    }

    /// Splits the text after `a=` at its first colon.
    pub(crate) fn from_line(text: &str) -> Self {
        match super::split_byte(text, b':') {
            Some((n, v)) => Attribute::value(n, v),
            None => Attribute::property(text),
        }
    }

    /// The direction this attribute states, if it is one of the four.
    pub fn direction(&self) -> Option<Direction> {
        if self.value.is_some() {
            return None;
        }
        Direction::from_name(&self.name)
    }
}

/// The direction of a media stream as its describer sees it (RFC 8866 §6.7; RFC 3264 §5.1):
/// whether the describer sends, receives, both or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `a=sendrecv`, the default when none is given.
    SendRecv,
    /// `a=sendonly`: the describer sends and will not receive.
    SendOnly,
    /// `a=recvonly`: the describer receives and will not send.
    RecvOnly,
    /// `a=inactive`: neither.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub fn name(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction named by an attribute name (exact, as RFC 8866 spells them).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "sendrecv" => Direction::SendRecv,
            "sendonly" => Direction::SendOnly,
            "recvonly" => Direction::RecvOnly,
            "inactive" => Direction::Inactive,
            _ => return None,
        })
    }

    /// From whether the describer sends and receives.
    pub fn from_parts(send: bool, recv: bool) -> Self {
        match (send, recv) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    /// Whether the describer sends.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether the describer receives.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// The same stream seen from the other end: sendonly ↔ recvonly; sendrecv and inactive
    /// stay.
    pub fn reversed(self) -> Self {
        Direction::from_parts(self.receives(), self.sends())
    }

    /// The direction an answerer states for a stream offered as `self`, given the direction
    /// it wants (RFC 3264 §6.1): it may send only if the offerer receives, and receive only
    /// if the offerer sends. So sendonly is answered recvonly (or inactive), recvonly
    /// sendonly (or inactive), inactive inactive, sendrecv with what the answerer wants.
    pub fn answer(self, wanted: Direction) -> Self {
        Direction::from_parts(
            self.receives() && wanted.sends(),
            self.sends() && wanted.receives(),
        )
    }
}
