//! # sip-core
//!
//! The sans-IO core of the SIP stack (RFC 3261 and friends). It never touches a socket, a
//! clock, a thread or an OS random source: bytes and timestamps go in, and actions come out
//! (*send these bytes to that address*, *wake me at instant T*, *here is an event*).
//!
//! # The layers
//!
//! ```text
//!  bytes ─► message ─► transaction layer ─► digest client ─► registrations ─► dialog layer ─► events
//!           (parse)    (§17 tables, §18)    (401/407 retry)   (REGISTER)       (§12–§15, REFER)
//! ```
//!
//! Bytes flow one way up: parsed once, matched to a transaction, reported up as typed
//! values, taken by the layer they concern or handed to the application. Actions flow one
//! way down: the layers above ask the transaction layer to start, answer or cancel
//! transactions through one service interface, and never see its tables. The
//! [`Endpoint`](endpoint::Endpoint) is the one façade a driver feeds and drains; it owns the
//! layers and routes between them (its module docs give the calling contract).
//!
//! # Module map
//!
//! | module | what it is |
//! |---|---|
//! | [`message`] | parsing (strict, lenient; its fast path fenced in its own file), typed headers, URIs, builders, the stream framer, the Call-ID peek |
//! | [`transaction`] | the four RFC 3261 §17 machines with RFC 6026, as pure state machines, each with its state table in its docs |
//! | `transaction::layer` | the transaction layer: client and server transactions in slot tables, matching (§17.1.3, §17.2.3), `received`/`rport` and response routing (§18), CANCEL, stateless answers |
//! | [`dialog`] | the dialog layer: dialogs (§12), INVITE sessions with forks, 2xx/ACK and glare (§13–§15), requests within dialogs, REFER and its subscription (RFC 3515), the lifetime guard |
//! | [`registration`] | the registration client (§10.2): bindings kept fresh |
//! | [`resolver`] | RFC 3263 server location, sans-IO: NAPTR, SRV (RFC 2782 order), A/AAAA as queries out and answers in, a TTL cache |
//! | [`endpoint`] | the façade: configuration, inputs and outputs, the digest client (§22.2), scoped dialog and REFER handles, the policy for requests the application does not take |
//! | [`auth`] | digest authentication, client and server (RFC 7616, RFC 8760) |
//! | [`sdp`] | session descriptions (RFC 8866): parse, serialise byte-exactly; the offer/answer model (RFC 3264): answers, offers, hold and resume |
//! | [`registrar`] | an in-memory location service (RFC 3261 §10.3) |
//! | [`transport`] | transport kinds, response routing, and the drivers' protocol chores: CRLF keep-alives around stream framing (RFC 5626), socket selection |
//! | [`timer`], [`rng`] | the timer queue each layer keeps, the seeded id generator |
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
//!             Output::Event(Event::IncomingCall { dialog, .. }) => ep.dialog(dialog).unwrap().accept(now, None).unwrap(),
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
pub mod capacity;
pub mod dialog;
pub mod endpoint;
mod key_index;
pub mod message;
mod overload;
pub mod registrar;
pub mod registration;
pub mod resolver;
pub mod rng;
pub mod sdp;
mod text;
pub mod timer;
pub mod transaction;
pub mod transport;
