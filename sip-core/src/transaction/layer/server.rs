//! A server transaction as the layer keeps it (RFC 3261 §17.2): its machine, the rows its
//! responses copy, and where they go (§18.2.2).

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;

use crate::endpoint::ops;
use crate::transaction::{
    Actions, ServerInviteTransaction, ServerNonInviteTransaction, TransactionError,
};
use crate::transport::{ResponseTarget, Transport};

#[derive(Debug)]
pub(super) enum ServerMachine {
    Invite(ServerInviteTransaction),
    NonInvite(ServerNonInviteTransaction),
}

impl ServerMachine {
    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        match self {
            ServerMachine::Invite(m) => m.poll_timeout(),
            ServerMachine::NonInvite(m) => m.poll_timeout(),
        }
    }
    pub(super) fn handle_timeout(&mut self, now: Instant) -> Actions {
        match self {
            ServerMachine::Invite(m) => m.handle_timeout(now),
            ServerMachine::NonInvite(m) => m.handle_timeout(now),
        }
    }
    pub(super) fn on_request_retransmission(&mut self, now: Instant) -> Actions {
        match self {
            ServerMachine::Invite(m) => m.on_request_retransmission(now),
            ServerMachine::NonInvite(m) => m.on_request_retransmission(now),
        }
    }
    pub(super) fn on_tu_response(
        &mut self,
        now: Instant,
        status: u16,
    ) -> Result<Actions, TransactionError> {
        match self {
            ServerMachine::Invite(m) => m.on_tu_response(now, status),
            ServerMachine::NonInvite(m) => m.on_tu_response(now, status),
        }
    }
    pub(super) fn on_transport_error(&mut self, now: Instant) -> Actions {
        match self {
            ServerMachine::Invite(m) => m.on_transport_error(now),
            ServerMachine::NonInvite(m) => m.on_transport_error(now),
        }
    }
    /// Whether the transaction may re-send its last response itself (a request
    /// retransmission, Timer G). Not in Accepted: a 2xx is re-sent by the TU alone and
    /// INVITE retransmissions are absorbed there (RFC 6026 §7.1, §8.5).
    pub(super) fn resends_last_response(&self) -> bool {
        match self {
            ServerMachine::Invite(m) => {
                m.state() != crate::transaction::ServerInviteState::Accepted
            }
            ServerMachine::NonInvite(_) => true,
        }
    }
    /// Whether the TU can send no further response: a final non-2xx was sent (Completed
    /// and after), or the non-INVITE transaction answered. A 2xx to an INVITE (Accepted) may
    /// still be followed by others (RFC 6026 §7.1).
    pub(super) fn answered_for_good(&self) -> bool {
        use crate::transaction::{ServerInviteState as I, ServerNonInviteState as N};
        match self {
            ServerMachine::Invite(m) => {
                matches!(m.state(), I::Completed | I::Confirmed | I::Terminated)
            }
            ServerMachine::NonInvite(m) => matches!(m.state(), N::Completed | N::Terminated),
        }
    }
    pub(super) fn final_status(&self) -> Option<u16> {
        match self {
            ServerMachine::Invite(m) => m.final_status(),
            ServerMachine::NonInvite(m) => m.final_status(),
        }
    }
}

#[derive(Debug)]
pub(super) struct ServerTx {
    pub(super) machine: ServerMachine,
    /// What responses copy from the request (§8.2.6), the key the transaction is filed
    /// under in `server_keys` and the To tag of its responses.
    pub(super) skel: ops::Skeleton,
    /// The hash of the key in `server_keys` (so that removal need not hash it again).
    pub(super) key_hash: u64,
    pub(super) transport: Transport,
    pub(super) local: SocketAddr,
    pub(super) target: ResponseTarget,
    pub(super) last_response: Option<Bytes>,
    pub(super) armed: Option<Instant>,
}

/// Whether a Request-URI's scheme (what precedes its first colon) is one the endpoint
/// serves: `sip`, `sips` or `tel` in any letter case (§8.2.2.1 answers others 416).
pub(super) fn has_supported_scheme(uri: &str) -> bool {
    let b = uri.as_bytes();
    let lower = |i: usize| b.get(i).map(u8::to_ascii_lowercase);
    matches!(
        (lower(0), lower(1), lower(2), lower(3), lower(4)),
        (Some(b's'), Some(b'i'), Some(b'p'), Some(b':'), _)
            | (Some(b's'), Some(b'i'), Some(b'p'), Some(b's'), Some(b':'))
            | (Some(b't'), Some(b'e'), Some(b'l'), Some(b':'), _)
    )
}

/// How a request arrived: what a stateless answer needs.
#[derive(Debug, Clone, Copy)]
pub(super) struct Arrival {
    pub(super) transport: Transport,
    pub(super) from: SocketAddr,
    pub(super) local: SocketAddr,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supported_schemes_are_read_from_the_text_before_the_first_colon() {
        // The rule as first written: the text before the first colon, compared ignoring case.
        let by_split = |u: &str| {
            let scheme = u.split(':').next().unwrap_or("");
            ["sip", "sips", "tel"]
                .iter()
                .any(|k| scheme.eq_ignore_ascii_case(k))
        };
        let schemes = [
            "sip", "SIP", "sIp", "sips", "SIPS", "tel", "TEL", "si", "sipx", "sipss", "te", "tell",
            "http", "mailto", "", "s", "ip",
        ];
        for s in schemes {
            for rest in [":bob@example.com", ":", ":+1-555", "::"] {
                let u = format!("{s}{rest}");
                assert_eq!(has_supported_scheme(&u), by_split(&u), "{u:?}");
            }
        }
        // Without a colon there is no scheme (the grammar check refuses such a URI first).
        assert!(!has_supported_scheme("sip"));
        assert!(!has_supported_scheme(""));
    }
}
