//! The four transaction state machines of RFC 3261 §17 (with RFC 6026).
pub mod actions;
pub mod client_invite;
pub mod client_non_invite;
pub mod error;
pub mod server_invite;
pub mod server_non_invite;
pub mod timers;
