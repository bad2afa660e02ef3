//! # sip-tokio
//!
//! The tokio driver for [`sip_core`]: it will bind the sans-IO core to tokio UDP and TCP
//! sockets and timers and offer an async user-agent API (place a call, answer, transfer,
//! hang up). Nothing is exposed yet: the driver lands with its own issue, after the
//! transaction and dialog layers of the core.
#![forbid(unsafe_code)]

pub mod transport;
