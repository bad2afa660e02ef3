//! # sip-tokio
//!
//! The tokio driver for [`sip_core`] and an async user-agent API over it: place, answer,
//! reject, cancel and transfer calls (RFC 3261, RFC 3515), send and answer requests
//! outside calls, over UDP and TCP.
//!
//! One task owns each [`sip_core::endpoint::Endpoint`]; the sockets ([`transport`]) and
//! the API handles talk to it over channels, and a `tokio::time::sleep_until` follows the
//! endpoint's next timer. The handles ([`Call`], [`IncomingCall`], [`Transfer`], ...) and
//! the routing of the core's events to them are the runtime-neutral `sip-ua` crate's,
//! shared with sip-smol; this crate adds the sockets, timers, tasks, TLS and DNS.
//!
//! # What the driver does, and what it leaves to the core
//!
//! The driver moves bytes and time, and routes the core's events to the handles; it knows
//! no SIP rule of its own.
//!
//! * **It does**: bind and run the sockets (UDP datagrams, TCP connections framed by the
//!   core's [`StreamReader`](sip_core::transport::keepalive::StreamReader), CRLF pings
//!   answered with pongs as it says; the UDP socket a transmit leaves from chosen by the
//!   core's [`select_socket`](sip_core::transport::select_socket)); feed the endpoint what
//!   arrives, the API's commands and its timers; spread messages over
//!   [shards](UserAgentBuilder::shards) by the Call-ID the core's
//!   [`peek_call_id`](sip_core::message::peek_call_id) finds; hand events to the handle
//!   they belong to; draw a random seed unless given one ([`UserAgentBuilder::seed`]);
//!   shut down gracefully, waiting for the outstanding BYEs the core reports done.
//! * **It does not**: choose a status, a method or a header. Retransmissions, ACKs,
//!   CANCEL, BYE (and the guarantee that every BYE is reported, sent or not), NOTIFY,
//!   digest retries and registration refreshes are the core's; so are the answers to
//!   what no handle takes — a call nobody takes, OPTIONS and other requests nobody
//!   takes, a request in a released call, a REFER nobody holds, a handle dropped
//!   unanswered: the driver tells the core *why*
//!   ([`Unhandled`](sip_core::endpoint::Unhandled)) and the core's policy
//!   ([`Endpoint::decline`](sip_core::endpoint::Endpoint::decline),
//!   [`Refer::decline`](sip_core::endpoint::Refer::decline)) answers. The status checks of
//!   the handles' commands are the core's too: a refusal comes back as
//!   [`Error::Dialog`] or [`Error::Endpoint`] with the core's reason.
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
//! | [`IncomingCall`] | [`UserAgent::incoming`] | hangs up: the core declines the call (603) |
//! | [`IncomingTransfer`] | [`Call::next_event`] | the core declines the REFER (603), or abandons an accepted one (final NOTIFY 503) |
//! | [`IncomingRequest`] | [`UserAgent::incoming_requests`], [`Call::next_event`] | the core's answer to a request let go of (500) |
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
//! * `cargo run --release -p sip-tokio --example uas -- --bind 127.0.0.1:5060` — the
//!   sample PBX: answers every call (180, then 200 with SDP), serves REGISTER as a
//!   registrar with `--registrar`, demands digest credentials with `--auth`, follows
//!   transfers; SIGINT prints its counters. Its decisions are those of the `sip-pbx`
//!   crate, shared with sip-mio's `mio_uas`; `examples/uas/tokio_pbx.rs` carries them out over
//!   this crate's public API, and the SIPp and registrar tests run it in-process.
//! * `cargo build --release -p sip-tokio --example bench_sipp` — the rate, CPU and
//!   memory benchmark against SIPp (see its docs for the build steps).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod dns;
mod driver;
mod shard;
mod stats;
pub mod transport;
mod ua;

// The handles and their API are sip-ua's, shared with sip-smol.
pub use sip_core::endpoint::{RegisterOptions, RegistrationState};
pub use sip_ua::{
    Accepting, Body, Call, CallBuilder, CallEvent, CallStats, Error, IncomingCall, IncomingCalls,
    IncomingRequest, IncomingRequests, IncomingTransfer, Registration, Reply, RequestBuilder,
    Result, Transfer, TransferOutcome,
};
pub use stats::UaStats;
pub use ua::{UserAgent, UserAgentBuilder};

pub use sip_core::dialog::{DialogId, DialogInfo, DialogState, EndReason, ReferId, Role};
pub use sip_core::endpoint::{Target, Transmit};
pub use sip_core::message::{Method, Request, Response};
pub use sip_core::transport::TlsServerName;
pub use sip_core::transport::Transport;
pub use sip_tls::{TlsConfig, TlsConfigError, TlsFailure, TrustAnchors};
