//! A client transaction as the layer keeps it (RFC 3261 §17.1): its machine, the request
//! as sent, and what only some transactions need (CANCEL, the ACK of a non-2xx).

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;

use super::ClientTxId;
use crate::message::{Method, Span};
use crate::transaction::{Actions, ClientInviteTransaction, ClientNonInviteTransaction};
use crate::transport::Transport;

#[derive(Debug)]
pub(super) enum ClientMachine {
    Invite(ClientInviteTransaction),
    NonInvite(ClientNonInviteTransaction),
}

impl ClientMachine {
    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        match self {
            ClientMachine::Invite(m) => m.poll_timeout(),
            ClientMachine::NonInvite(m) => m.poll_timeout(),
        }
    }
    pub(super) fn handle_timeout(&mut self, now: Instant) -> Actions {
        match self {
            ClientMachine::Invite(m) => m.handle_timeout(now),
            ClientMachine::NonInvite(m) => m.handle_timeout(now),
        }
    }
    pub(super) fn on_response(&mut self, now: Instant, status: u16) -> Actions {
        match self {
            ClientMachine::Invite(m) => m.on_response(now, status),
            ClientMachine::NonInvite(m) => m.on_response(now, status),
        }
    }
    pub(super) fn on_transport_error(&mut self, now: Instant) -> Actions {
        match self {
            ClientMachine::Invite(m) => m.on_transport_error(now),
            ClientMachine::NonInvite(m) => m.on_transport_error(now),
        }
    }
}

/// CANCEL bookkeeping of an INVITE client transaction (§9.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum CancelState {
    #[default]
    None,
    /// Requested before any provisional response: sent when one arrives.
    Pending(ClientTxId),
    Sent,
}

#[derive(Debug)]
pub(super) struct ClientTx {
    /// Where the top Via branch is in `bytes`: with `method`, the key of the transaction
    /// (§17.1.3); it is filed under the branch in `client_keys`.
    pub(super) branch: Span,
    /// The hash of the branch in `client_keys` (so that removal need not hash it again).
    pub(super) branch_hash: u64,
    pub(super) method: Method,
    pub(super) machine: ClientMachine,
    /// The request as sent (parsed again on the rare paths that need its fields: the ACK
    /// for a non-2xx, CANCEL, a digest retry).
    pub(super) bytes: Bytes,
    pub(super) transport: Transport,
    pub(super) source: Option<SocketAddr>,
    pub(super) destination: SocketAddr,
    /// What only some transactions need, allocated the first time one does: most
    /// transactions are never cancelled or answered with a non-2xx.
    pub(super) extra: Option<Box<ClientExtra>>,
    pub(super) armed: Option<Instant>,
}

/// The rarely used part of a client transaction.
#[derive(Debug, Default)]
pub(super) struct ClientExtra {
    /// The ACK for a 3xx–6xx final response, kept to answer its retransmissions (§17.1.1.3).
    pub(super) ack: Option<Bytes>,
    pub(super) cancel: CancelState,
    /// §9.1: once a CANCEL is sent, the INVITE gives up 64·T1 later if no final response
    /// (normally a 487) has come.
    pub(super) cancel_deadline: Option<Instant>,
}

impl ClientTx {
    /// The branch of the request's top Via.
    pub(super) fn branch(&self) -> &[u8] {
        self.bytes
            .get(self.branch.start as usize..self.branch.end as usize)
            .unwrap_or_default()
    }

    pub(super) fn extra_mut(&mut self) -> &mut ClientExtra {
        self.extra.get_or_insert_with(Default::default)
    }

    pub(super) fn ack(&self) -> Option<&Bytes> {
        self.extra.as_ref().and_then(|e| e.ack.as_ref())
    }

    pub(super) fn cancel(&self) -> CancelState {
        self.extra.as_ref().map_or(CancelState::None, |e| e.cancel)
    }

    pub(super) fn cancel_deadline(&self) -> Option<Instant> {
        self.extra.as_ref().and_then(|e| e.cancel_deadline)
    }
}
