//! # sip-core
//!
//! The sans-IO core of the SIP stack (RFC 3261 and friends). It never touches a socket, a
//! clock, a thread or an OS random source: bytes and timestamps go in, and actions come out
//! (*send these bytes to that address*, *wake me at instant T*, *here is an event*).
//!
//! | module | what it is |
//! |---|---|
//! | [`message`] | parsing (strict, lenient), typed headers, URIs, builders, the stream framer |
//! | [`transaction`] | the four RFC 3261 §17 machines with RFC 6026, as pure state machines |
//! | [`endpoint`] | the façade a driver feeds and drains: transactions, dialogs, REFER, registration |
//! | [`dialog`] | dialog and REFER types (the state lives in the endpoint) |
//! | [`auth`] | digest authentication, client and server (RFC 7616, RFC 8760) |
//! | [`registrar`] | an in-memory location service (RFC 3261 §10.3) |
//! | [`transport`], [`timer`], [`rng`] | transport kinds and response routing, the timer queue, the seeded id generator |
//!
//! A whole call between two endpoints, with the driver's job done by hand — moving each
//! transmit to the other endpoint:
//!
//! ```
//! use std::time::Instant;
//! use sip_core::dialog::DialogState;
//! use sip_core::endpoint::{Endpoint, EndpointConfig, Event, Input, InviteOptions, Output};
//! use sip_core::transport::Transport;
//!
//! # #[allow(clippy::disallowed_methods)]
//! let now = Instant::now();
//! let (a, b) = ("192.0.2.1:5060".parse().unwrap(), "192.0.2.2:5060".parse().unwrap());
//! let mut alice = Endpoint::new(EndpointConfig::with_local(Transport::Udp, a), 1);
//! let mut bob = Endpoint::new(EndpointConfig::with_local(Transport::Udp, b), 2);
//! let call = alice
//!     .invite(now, InviteOptions::new("sip:bob@192.0.2.2", "<sip:alice@example.com>", "<sip:bob@example.com>"))
//!     .unwrap();
//! // One drain of an endpoint: its transmits, with Bob's "application" answering calls.
//! fn drain(ep: &mut Endpoint, now: Instant) -> Vec<sip_core::endpoint::Transmit> {
//!     let mut out = Vec::new();
//!     while let Some(o) = ep.poll_output() {
//!         match o {
//!             Output::Transmit(t) => out.push(t),
//!             Output::Event(Event::IncomingCall { dialog, .. }) => ep.dialog(dialog).and_then(|mut d| d.answer(now, 200, None)).unwrap(),
//!             _ => {}
//!         }
//!     }
//!     out
//! }
//! // The driver's loop: carry every transmit to the other endpoint until both are quiet.
//! loop {
//!     let (to_bob, to_alice) = (drain(&mut alice, now), drain(&mut bob, now));
//!     if to_bob.is_empty() && to_alice.is_empty() {
//!         break;
//!     }
//!     for t in to_bob {
//!         bob.handle_input(now, Input::Receive { transport: t.transport, from: a, to: t.destination, bytes: t.bytes });
//!     }
//!     for t in to_alice {
//!         alice.handle_input(now, Input::Receive { transport: t.transport, from: b, to: t.destination, bytes: t.bytes });
//!     }
//! }
//! assert_eq!(alice.dialog_state(call), Some(DialogState::Confirmed));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod dialog;
pub mod endpoint;
mod key_index;
pub mod message;
pub mod registrar;
pub mod registration;
pub mod rng;
mod text;
pub mod timer;
pub mod transaction;
pub mod transport;
