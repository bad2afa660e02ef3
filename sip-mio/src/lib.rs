//! # sip-mio
//!
//! The driver for people who run their own event loop: it will register the sockets of a
//! [`sip_core`] endpoint with a caller-owned `mio::Poll`. Nothing is exposed yet: the
//! driver lands with its own issue, after the dialog layer of the core.
#![forbid(unsafe_code)]
