//! The transaction layer: the four state machines of RFC 3261 §17, with the corrections of
//! RFC 6026 (the Accepted state and Timers L and M) and RFC 4320 §4.1 (provisional responses
//! to non-INVITE requests).
//!
//! | Machine                          | RFC                                  | States |
//! |----------------------------------|--------------------------------------|--------|
//! | [`ClientInviteTransaction`]      | RFC 3261 §17.1.1, RFC 6026 §7.2      | Calling, Proceeding, Completed, Accepted, Terminated |
//! | [`ClientNonInviteTransaction`]   | RFC 3261 §17.1.2                     | Trying, Proceeding, Completed, Terminated |
//! | [`ServerInviteTransaction`]      | RFC 3261 §17.2.1, RFC 6026 §7.1      | Proceeding, Completed, Confirmed, Accepted, Terminated |
//! | [`ServerNonInviteTransaction`]   | RFC 3261 §17.2.2, RFC 4320 §4.1      | Trying, Proceeding, Completed, Terminated |
//! | [`LingeringServer`]              | RFC 6026 §7.1, RFC 3261 §17.2.2      | Accepted, Completed (waiting only), Terminated |
//!
//! Each module documents its machine as a state × event table, which its unit tests walk row
//! by row.
//!
//! # How the machines are driven
//!
//! The machines are pure and message-agnostic. They never see bytes, addresses or a clock:
//! the endpoint matches messages to transactions (RFC 3261 §17.1.3, §17.2.3), keeps the request,
//! the ACK and the last response, and tells a machine only *what happened* (a response with
//! status code N, a request retransmission, an ACK, a TU response, a transport error) and
//! *when* (`now`). Each input returns an [`Actions`] value saying what to do: transmit or
//! re-transmit, send the ACK, generate `100 Trying`, pass the message to the TU, report a
//! timeout or transport failure, destroy the transaction.
//!
//! Timers live inside each machine. `poll_timeout()` gives the earliest armed deadline; the
//! endpoint calls `handle_timeout(now)` once `now` has reached it and re-reads `poll_timeout()`
//! after every call, since any input can arm or cancel timers. Conventions:
//!
//! * Each due timer fires at most once per `handle_timeout` call; retransmission timers
//!   (A, E, G) are re-armed relative to the `now` they fired at. When a timeout (B, D, F, H, I,
//!   J, K, L, M) and a retransmission are due together, only the timeout takes effect.
//! * Zero-duration timers are never armed: on reliable transports D, I, J and K are zero
//!   (RFC 3261 §17.1.1.2, §17.1.2.2, §17.2.1, §17.2.2), and the machine terminates inside the
//!   call that would have armed them, setting [`Actions::terminated`] alongside that call's
//!   other actions. The same goes for a zero Trying delay, which makes `ServerInviteTransaction::new`
//!   ask for the `100 Trying` at once.
//! * `poll_timeout()` is `None` once Terminated, and also in the states where RFC 3261 runs no
//!   timer because the next move belongs to someone else: the INVITE client in Proceeding (the
//!   TU ends a ringing call with CANCEL), the INVITE server in Proceeding once the Trying timer
//!   is spent, and the non-INVITE server in Trying and Proceeding (the TU owes a final response).
//!   Every other state has a timer, and without further input the transaction terminates
//!   within `max(64·T1, Timer D) + T4`.
//! * Network input that does not fit the state is absorbed (an empty [`Actions`]), as §17 says.
//!   A TU response the RFC forbids is refused with a [`TransactionError`] and changes nothing.
//! * Deadlines that would overflow an `Instant` (absurd configurations) are treated as never.
//!
//! # Example
//!
//! A non-INVITE request over UDP that gets a 200 after one retransmission:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use sip_core::transaction::{ClientNonInviteState, ClientNonInviteTransaction, TimerConfig};
//!
//! let t0 = Instant::now();
//! let (mut tx, actions) = ClientNonInviteTransaction::new(t0, false, &TimerConfig::default());
//! assert!(actions.transmit()); // send the request
//! let wake = tx.poll_timeout().unwrap();
//! assert_eq!(wake, t0 + Duration::from_millis(500)); // Timer E = T1
//! assert!(tx.handle_timeout(wake).transmit()); // re-send it
//! let actions = tx.on_response(t0 + Duration::from_millis(800), 200);
//! assert!(actions.pass_to_tu() && !actions.terminated());
//! assert_eq!(tx.state(), ClientNonInviteState::Completed);
//! let wake = tx.poll_timeout().unwrap(); // Timer K = T4
//! assert!(tx.handle_timeout(wake).terminated());
//! assert_eq!(tx.poll_timeout(), None);
//! ```

pub mod actions;
pub mod client_invite;
pub mod client_non_invite;
pub mod error;
pub(crate) mod layer;
pub mod lingering;
pub mod server_invite;
pub mod server_non_invite;
mod table;
pub mod timers;

pub use actions::Actions;
pub use client_invite::{ClientInviteState, ClientInviteTransaction};
pub use client_non_invite::{ClientNonInviteState, ClientNonInviteTransaction};
pub use error::TransactionError;
pub use lingering::{LingerState, LingeringServer};
pub use server_invite::{ServerInviteState, ServerInviteTransaction};
pub use server_non_invite::{ServerNonInviteState, ServerNonInviteTransaction};
pub use timers::{TimerConfig, TimerName};
