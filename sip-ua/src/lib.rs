//! # sip-ua
//!
//! The user-agent API over [`sip_core`] that the async drivers share — [`Call`],
//! [`IncomingCall`], [`Transfer`], [`IncomingTransfer`], [`Registration`],
//! [`IncomingRequest`], their errors, bodies and counters — and the driver's event routing
//! ([`runtime::Router`]), with no runtime of its own: its channels and wake-ups
//! (`async-channel`, `event-listener`) work under any executor.
//!
//! Applications use it through a runtime crate, which re-exports these types under its
//! own name: `sip-tokio` (tokio) and `sip-smol` (async-io: smol and async-std). A runtime
//! crate supplies only what needs a runtime — sockets, timers, tasks, TLS and DNS I/O — as
//! an [`runtime::Io`], runs one task per [`runtime::Router`], and wraps a
//! [`runtime::UaFront`] in its `UserAgent`.
//!
//! The router moves no bytes and reads no clock; like the drivers before it, it knows no
//! SIP rule of its own: statuses, methods and headers are the core's choice, and what no
//! handle takes is answered by the core's policy
//! ([`Endpoint::decline`](sip_core::endpoint::Endpoint::decline)) after the router told it
//! why ([`Unhandled`](sip_core::endpoint::Unhandled)).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body;
mod call;
pub mod chan;
mod command;
mod error;
mod front;
mod registration;
mod request;
mod router;
mod setup;
mod shared;
mod stats;
mod transfer;

pub use body::Body;
pub use call::{Accepting, Call, CallBuilder, CallEvent, IncomingCall, IncomingCalls};
pub use error::{Error, Result};
pub use registration::Registration;
pub use request::{IncomingRequest, IncomingRequests, Reply, RequestBuilder};
pub use stats::{CallStats, UaStats};
pub use transfer::{IncomingTransfer, Transfer, TransferOutcome};

/// What a runtime crate builds its driver from.
pub mod runtime {
    pub use crate::RouterLink;
    pub use crate::front::UaFront;
    pub use crate::router::{ApiCommand, Io, Router, RouterConfig, Tap};
    pub use crate::setup::{bind_addr, default_identity, random_seed, set_local_addrs};
}

/// The way from the API handles to one [`runtime::Router`]; handed to
/// [`runtime::UaFront::new`]. Opaque.
#[derive(Debug, Clone)]
pub struct RouterLink(command::Link);
