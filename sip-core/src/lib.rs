//! # sip-core
//!
//! The sans-IO core of the SIP stack (RFC 3261 and friends). It never touches a socket, a
//! clock, a thread or an OS random source: bytes and timestamps go in, and actions come out
//! (*send these bytes to that address*, *wake me at instant T*, *here is an event*).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod dialog;
pub mod endpoint;
pub mod message;
pub mod registrar;
pub mod rng;
pub mod timer;
pub mod transaction;
pub mod transport;
