//! The sans-IO endpoint: transactions (and, later, dialogs) behind one façade that a driver
//! feeds with bytes and time and drains for transmits, events and timeouts.

mod config;
mod io;

pub use config::{EndpointConfig, LocalAddr, MaxForwardsPolicy};
pub use io::{ClientTxId, Event, Failure, Input, Output, ServerTxId, Stats, Transmit};
