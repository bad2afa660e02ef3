//! # sip-tokio
//!
//! The tokio driver for [`sip_core`] and an async user-agent API over it: place, answer,
//! reject, cancel and transfer calls (RFC 3261, RFC 3515), send and answer requests
//! outside calls, over UDP and TCP.
//!
//! One task owns each [`sip_core::endpoint::Endpoint`]; the sockets ([`transport`]) and
//! the API handles talk to it over channels, and a `tokio::time::sleep_until` follows the
//! endpoint's next timer. The driver adds no protocol logic of its own: every SIP rule —
//! retransmissions, ACKs, CANCEL, BYE, NOTIFY — is the core's.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> sip_tokio::Result<()> {
//! use sip_tokio::{Body, UserAgent};
//!
//! let bob = UserAgent::builder().udp("127.0.0.1:0").build().await?;
//! let alice = UserAgent::builder().udp("127.0.0.1:0").build().await?;
//! let bob_uri = format!("sip:bob@{}", bob.local_addrs()[0].1);
//!
//! let mut incoming = bob.incoming();
//! tokio::spawn(async move {
//!     while let Some(inc) = incoming.next().await {
//!         let _ = inc.ringing().await;
//!         if let Ok(call) = inc.accept(Some(Body::sdp("v=0\r\n"))).await {
//!             call.ended().await;
//!         }
//!     }
//! });
//!
//! let mut call = alice.call(&bob_uri).sdp("v=0\r\n").await?;
//! assert_eq!(call.progress().await.map(|r| r.status()), Some(180));
//! assert_eq!(call.answered().await?.status(), 200);
//! call.hangup().await?; // BYE sent, and answered with 200
//! alice.shutdown().await;
//! bob.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Handles
//!
//! | Handle | From | Dropped without finishing it |
//! |---|---|---|
//! | [`Call`] | [`UserAgent::call`], [`IncomingCall::accept`] | hangs up (BYE, or CANCEL while ringing) |
//! | [`IncomingCall`] | [`UserAgent::incoming`] | declines the call (603) |
//! | [`IncomingTransfer`] | [`Call::next_event`] | rejects the REFER (603), or ends an accepted one with a final NOTIFY (503) |
//! | [`IncomingRequest`] | [`UserAgent::incoming_requests`], [`Call::next_event`] | answers 500 |
//! | [`Transfer`] | [`Call::refer`] | nothing: the REFER's subscription runs its course |
//!
//! Every async method is cancellation-safe: a future dropped before its command reached
//! the driver did nothing; one dropped after had its command carried out, and whatever it
//! would have returned cleans up as in the table (a call placed by a dropped
//! `ua.call(..)` future is cancelled at once). Nothing panics on input; every failure is
//! an [`Error`], and commands the core refuses carry its reason.
//!
//! # Examples
//!
//! * `cargo run -p sip-tokio --example call` — Alice calls Bob, transfers him to Carol
//!   with REFER, everyone hangs up; prints the ladder diagram. `--to <sip-uri>` calls a
//!   real user agent instead.
//! * `cargo run --release -p sip-tokio --example uas -- --bind 127.0.0.1:5060` — answers
//!   every call ([`uas`]); SIGINT prints its counters.
//! * `cargo run --release -p sip-tokio --example bench_sipp` — the rate and memory
//!   benchmark against SIPp.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body;
mod call;
mod command;
mod driver;
mod error;
mod registration;
mod request;
mod shard;
mod shared;
mod stats;
mod transfer;
pub mod transport;
mod ua;

pub use body::Body;
pub use call::{Accepting, Call, CallBuilder, CallEvent, IncomingCall, IncomingCalls};
pub use error::{Error, Result};
pub use registration::Registration;
pub use request::{IncomingRequest, IncomingRequests, Reply, RequestBuilder};
pub use sip_core::endpoint::{RegisterOptions, RegistrationState};
pub use stats::{CallStats, UaStats};
pub use transfer::{IncomingTransfer, Transfer, TransferOutcome};
pub use ua::{UserAgent, UserAgentBuilder};

pub use sip_core::dialog::{DialogId, DialogInfo, DialogState, EndReason, ReferId, Role};
pub use sip_core::endpoint::{Target, Transmit};
pub use sip_core::message::{Method, Request, Response};
pub use sip_core::transport::Transport;
