//! # sip-smol
//!
//! A driver for [`sip_core`] on `async-io` — the reactor under smol and async-std — and an
//! async user-agent API over it: place, answer, reject, cancel and transfer calls (RFC
//! 3261, RFC 3515), register (RFC 3261 §10), send and answer requests outside calls, over
//! UDP, TCP, TLS (RFC 3261 §26.2, through futures-rustls with [`sip_tls`]) and WebSocket,
//! WS and WSS (RFC 7118, on the core's
//! [`websocket`](sip_core::transport::websocket) codec), with host
//! names resolved as RFC 3263 says (the core's resolver, answered by the `sip-dns` client
//! on a non-blocking UDP socket; [`UserAgentBuilder::dns_server`]). No tokio: the application's own executor runs the tasks, handed to the
//! builder as a [spawner](UserAgentBuilder::spawner) (`smol::spawn`,
//! `async_std::task::spawn`, an `async_executor::Executor`, ...).
//!
//! One task owns the [`sip_core::endpoint::Endpoint`]; the sockets and the API handles talk
//! to it over channels, and an `async_io::Timer` follows the endpoint's next timer. The API
//! is sip-tokio's: [`Call`], [`IncomingCall`], [`Transfer`], [`IncomingTransfer`],
//! [`Registration`], [`IncomingRequest`] and the routing of the core's events to them are
//! the runtime-neutral `sip-ua` crate's, shared by both drivers; this crate adds the
//! sockets, timers, DNS client, TLS glue and its [`UserAgent`].
//!
//! # What the driver does, and what it leaves to the core
//!
//! The driver moves bytes and time, and routes the core's events to the handles; it knows
//! no SIP rule of its own.
//!
//! * **It does**: bind and run the sockets (UDP datagrams; TCP connections framed by the
//!   core's [`stream::frame`](sip_core::transport::stream::frame), with CRLF pings answered
//!   as it counts them, deadlines from its
//!   [`StreamTimer`](sip_core::transport::limits::StreamTimer) and admission and output caps
//!   from its [`limits`](sip_core::transport::limits); the UDP socket a transmit leaves from
//!   chosen by [`select_socket`](sip_core::transport::select_socket); TLS handshakes
//!   checking the server against the name the core puts on the transmit, RFC 5922 §4;
//!   WebSocket handshakes and frames through the core's codec, one SIP message per
//!   WebSocket message;
//!   the DNS queries the core asks for); feed the endpoint what
//!   arrives, the API's commands and its timers; hand events to the handle they belong to;
//!   shut down gracefully, waiting for the outstanding BYEs the core reports done.
//! * **It does not**: choose a status, a method or a header. Retransmissions, ACKs,
//!   CANCEL, BYE, NOTIFY, digest retries and registration refreshes are the core's; so
//!   are the answers to what no handle takes: the driver tells the core *why*
//!   ([`Unhandled`](sip_core::endpoint::Unhandled)) and the core's policy
//!   ([`Endpoint::decline`](sip_core::endpoint::Endpoint::decline)) answers.
//!
//! ```
//! # fn main() -> sip_smol::Result<()> {
//! # smol::block_on(async {
//! use sip_smol::{Body, UserAgent};
//!
//! let spawn = |task| smol::spawn(task).detach();
//! let bob = UserAgent::builder().udp("127.0.0.1:0").spawner(spawn).build().await?;
//! let alice = UserAgent::builder().udp("127.0.0.1:0").spawner(spawn).build().await?;
//! let bob_uri = format!("sip:bob@{}", bob.local_addrs()[0].1);
//!
//! let mut incoming = bob.incoming();
//! smol::spawn(async move {
//!     while let Some(inc) = incoming.next().await {
//!         let _ = inc.ringing().await;
//!         if let Ok(call) = inc.accept(Some(Body::sdp("v=0\r\n"))).await {
//!             call.ended().await;
//!         }
//!     }
//! })
//! .detach();
//!
//! let mut call = alice.call(&bob_uri).sdp("v=0\r\n").await?;
//! assert_eq!(call.progress().await.map(|r| r.status()), Some(180));
//! assert_eq!(call.answered().await?.status(), 200);
//! call.hangup().await?; // BYE sent, and answered with 200
//! alice.shutdown().await;
//! bob.shutdown().await;
//! # Ok(()) })
//! # }
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
//! Every async method is cancellation-safe, as in sip-tokio.
//!
//! # Examples
//!
//! * `cargo run -p sip-smol --example smol_call` — Alice calls Bob, transfers him to Carol
//!   with REFER, everyone hangs up; prints the ladder diagram. `--to <sip-uri>` calls a
//!   real user agent instead.
//! * `cargo run --release -p sip-smol --example smol_uas -- --bind 127.0.0.1:5060` — the
//!   sample PBX of the `sip-pbx` crate (the flags of sip-tokio's `uas`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod dns;
mod driver;
mod spawn;
mod stats;
pub mod transport;
mod ua;

// The handles and their API are sip-ua's, shared with sip-tokio.
pub use sip_core::endpoint::{RegisterOptions, RegistrationState};
pub use sip_ua::{
    Accepting, Body, Call, CallBuilder, CallEvent, CallStats, Error, IncomingCall, IncomingCalls,
    IncomingRequest, IncomingRequests, IncomingTransfer, Registration, Reply, RequestBuilder,
    Result, Transfer, TransferOutcome,
};
pub use spawn::Task;
pub use stats::UaStats;
pub use ua::{UserAgent, UserAgentBuilder};

pub use sip_core::dialog::{DialogId, DialogInfo, DialogState, EndReason, ReferId, Role};
pub use sip_core::endpoint::{Target, Transmit};
pub use sip_core::message::{Method, Request, Response};
pub use sip_core::transport::TlsServerName;
pub use sip_core::transport::Transport;
pub use sip_tls::{TlsConfig, TlsConfigError, TlsFailure, TrustAnchors};
