//! The session description and its session-level fields (RFC 8866 §5.1–§5.11).

use std::net::IpAddr;
use std::ops::Deref;

use super::{Attribute, Direction, MediaDescription, OtherLine, SdpError, SdpLimits};

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>`
/// (RFC 8866 §5.2). The version grows with every new description a side sends in a session
/// (RFC 3264 §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The user's login, or `-`.
    pub username: String,
    /// The session id (a numeric string; kept as text, it may exceed 64 bits).
    pub session_id: String,
    /// The session version.
    pub session_version: u64,
    /// `IN`.
    pub net_type: String,
    /// `IP4` or `IP6`.
    pub addr_type: String,
    /// The originator's address or host name.
    pub address: String,
}

/// `c=<nettype> <addrtype> <connection-address>` (RFC 8866 §5.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// `IN`.
    pub net_type: String,
    /// `IP4` or `IP6`.
    pub addr_type: String,
    /// The address, possibly with `/ttl` and `/count` for multicast.
    pub address: String,
}

impl Connection {
    /// An `IN` connection for `ip`.
    pub fn ip(ip: IpAddr) -> Self {
        Connection {
            net_type: "IN".to_owned(),
            addr_type: if ip.is_ipv4() { "IP4" } else { "IP6" }.to_owned(),
            address: ip.to_string(),
        }
    }

    /// The address as an IP address (without any `/ttl` or `/count`), when it is one.
    pub fn ip_addr(&self) -> Option<IpAddr> {
        let a = self.address.split('/').next()?;
        a.parse().ok()
    }
}

/// `b=<bwtype>:<bandwidth>` (RFC 8866 §5.8), in kilobits per second for `AS` and `CT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth {
    /// `CT`, `AS`, `TIAS`, ...
    pub kind: String,
    /// The value.
    pub value: u64,
}

/// `t=<start-time> <stop-time>` (RFC 8866 §5.9); `t=0 0` for an unbounded session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// NTP start time, 0 for unbounded.
    pub start: u64,
    /// NTP stop time, 0 for unbounded.
    pub stop: u64,
}

/// The fields of a session description, readable through [`SessionDescription`] (which
/// derefs to it) and editable through [`SessionDescription::edit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// `v=` (always 0).
    pub version: u8,
    /// `o=`.
    pub origin: Origin,
    /// `s=` (`-` or a space when there is nothing to say).
    pub session_name: String,
    /// Session-level `c=`.
    pub connection: Option<Connection>,
    /// Session-level `b=`.
    pub bandwidths: Vec<Bandwidth>,
    /// `t=` lines.
    pub timing: Vec<Timing>,
    /// Session-level `a=` lines in order, direction attributes included.
    pub attributes: Vec<Attribute>,
    /// Session-level lines kept without interpretation.
    pub other: Vec<OtherLine>,
    /// The media sections.
    pub media: Vec<MediaDescription>,
}

impl Session {
    /// A description with `v=0`, the origin, `s=-`, `c=` for the origin's address when it is
    /// an IP address, `t=0 0`, and no media yet.
    pub fn new(origin: Origin) -> Self {
        let connection = origin.address.parse().ok().map(Connection::ip);
        Session {
            version: 0,
            origin,
            session_name: "-".to_owned(),
            connection,
            bandwidths: Vec::new(),
            timing: vec![Timing { start: 0, stop: 0 }],
            attributes: Vec::new(),
            other: Vec::new(),
            media: Vec::new(),
        }
    }

    /// The session-level direction attribute, if any (the last wins).
    pub fn direction(&self) -> Option<Direction> {
        self.attributes.iter().rev().find_map(Attribute::direction)
    }

    /// The direction of media section `i`: its own attribute, else the session's, else
    /// sendrecv (RFC 8866 §6.7, RFC 3264 §5.1). `None` when there is no such section.
    pub fn media_direction(&self, i: usize) -> Option<Direction> {
        let m = self.media.get(i)?;
        Some(
            m.direction()
                .or_else(|| self.direction())
                .unwrap_or(Direction::SendRecv),
        )
    }

    /// The connection address that applies to media section `i`: its own `c=`, else the
    /// session's.
    pub fn media_connection(&self, i: usize) -> Option<&Connection> {
        let m = self.media.get(i)?;
        m.connection.as_ref().or(self.connection.as_ref())
    }
}

/// A session description: its fields (through `Deref` to [`Session`]) and, while
/// unedited, the exact text it was parsed from, which is what it serialises to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    pub(super) session: Session,
    /// The received text; dropped by the first edit.
    pub(super) source: Option<String>,
}

impl SessionDescription {
    /// Parses with the default limits.
    pub fn parse(bytes: &[u8]) -> Result<Self, SdpError> {
        Self::parse_with(bytes, &SdpLimits::default())
    }

    /// Parses within `limits`; see the `parse` module for what is lenient and what is
    /// refused.
    pub fn parse_with(bytes: &[u8], limits: &SdpLimits) -> Result<Self, SdpError> {
        let text = super::parse::text(bytes, limits)?;
        let session = super::view::parse_text(text, limits)?.to_session();
        Ok(SessionDescription {
            session,
            source: Some(text.to_owned()),
        })
    }

    /// Mutable access to the fields; the description is then written from them (CRLF line
    /// ends, RFC 8866 §5 order, uninterpreted lines kept) instead of from its source text.
    pub fn edit(&mut self) -> &mut Session {
        self.source = None;
        &mut self.session
    }

    /// Whether it still serialises to the text it was parsed from.
    pub fn is_unedited(&self) -> bool {
        self.source.is_some()
    }

    /// The fields.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The fields, by value.
    pub fn into_session(self) -> Session {
        self.session
    }
}

impl From<Session> for SessionDescription {
    fn from(session: Session) -> Self {
        SessionDescription {
            session,
            source: None,
        }
    }
}

impl Deref for SessionDescription {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.session
    }
}
