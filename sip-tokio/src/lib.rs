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
//! call.hangup().await?;
//! alice.shutdown().await;
//! bob.shutdown().await;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body;
mod call;
mod command;
mod driver;
mod error;
mod request;
mod shard;
mod shared;
mod stats;
pub mod transfer;
pub mod transport;
mod ua;
pub mod uas;

pub use body::Body;
pub use call::{Call, CallBuilder, CallEvent, IncomingCall, IncomingCalls};
pub use error::{Error, Result};
pub use request::{IncomingRequest, IncomingRequests, Reply, RequestBuilder};
#[doc(hidden)]
pub use shard::call_id as shard_call_id;
pub use stats::{CallStats, UaStats};
pub use transfer::{IncomingTransfer, Transfer, TransferOutcome};
pub use ua::{UserAgent, UserAgentBuilder};

pub use sip_core::dialog::{DialogId, DialogInfo, DialogState, EndReason, ReferId, Role};
pub use sip_core::endpoint::{Target, Transmit};
pub use sip_core::message::{Method, Request, Response};
pub use sip_core::transport::Transport;
