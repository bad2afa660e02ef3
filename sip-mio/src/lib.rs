//! # sip-mio
//!
//! The driver of [`sip_core`] for applications that run their own event loop: a
//! [`Driver`] owns an [`Endpoint`](sip_core::endpoint::Endpoint) and its sockets (UDP over
//! IPv4 and IPv6, TCP listeners and connections, RFC 3261 §18) and registers them with a
//! `mio::Poll` **that the caller owns**, on a range of tokens the caller chooses, so SIP
//! lives beside the caller's other sources. No async runtime, no threads.
//!
//! # The loop contract
//!
//! ```no_run
//! use std::time::Instant;
//! use mio::{Events, Poll};
//! use sip_core::endpoint::Event as SipEvent;
//! use sip_mio::{Driver, DriverConfig, Event, Listen};
//!
//! let mut poll = Poll::new()?;
//! // A random seed for tags, branches and Call-IDs (fix one only in tests: see
//! // `DriverConfig::seed`).
//! let config = DriverConfig::new(vec![Listen::udp("127.0.0.1:5060".parse().unwrap())]);
//! // Tokens 100..200 are the driver's; the caller keeps the others for its own sources.
//! let mut driver = Driver::new(config, poll.registry(), 100..200)?;
//! let mut events = Events::with_capacity(256);
//! loop {
//!     // 1. How long may we sleep? `None`: until a socket is ready.
//!     let timeout = driver.next_timeout(Instant::now());
//!     poll.poll(&mut events, timeout)?;
//!     // 2. Hand every readiness event to the driver (it says `false` for foreign tokens).
//!     let now = Instant::now();
//!     for ev in events.iter() {
//!         if !driver.handle_event(ev, now) {
//!             // one of the caller's own sources
//!         }
//!     }
//!     // 3. Fire due timers (and continue reads cut short by the read budget).
//!     driver.handle_timeout(now);
//!     // 4. Drain the events; commands may be given right here, through the endpoint.
//!     while let Some(event) = driver.poll_event() {
//!         match event {
//!             Event::Sip(SipEvent::IncomingCall { dialog, .. }) => {
//!                 driver.with_endpoint(now, |ep| ep.dialog(dialog)?.ring(now))?;
//!             }
//!             Event::Sip(_) => { /* DialogStateChanged, ReferReceived, Response, ... */ }
//!             Event::Wake { .. } => { /* the alarm asked for with `driver.wake_at(at)` */ }
//!             Event::TransportError { .. } => {}
//!         }
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! * Every method that takes `now` takes the caller's clock reading; the driver reads no
//!   clock itself (except in [`Driver::run`], the loop for callers that have none).
//! * The endpoint is commanded through [`Driver::with_endpoint`] (`ep.invite(..)`,
//!   `ep.dialog(id)?.answer(..)`, `ep.refer(id)?.notify(..)`, `ep.send_request(..)`, ...:
//!   the whole [`Endpoint`](sip_core::endpoint::Endpoint) API), which sends at once what
//!   the command produced; a write that would block is queued and flushed when the socket
//!   reports writable readiness, so no call ever blocks. [`Driver::endpoint`] reads it.
//! * The driver makes no SIP decision: what to answer, when, and how a stream is framed
//!   and kept alive are the core's ([`Endpoint::decline`](sip_core::endpoint::Endpoint::decline),
//!   [`sip_core::transport::keepalive`], [`sip_core::transport::select_socket`]). It moves
//!   bytes and time.
//! * The application's own timers: [`Driver::wake_at`] arms an alarm that comes back as
//!   [`Event::Wake`] and that [`Driver::next_timeout`] counts, so a loop — the caller's
//!   or [`Driver::run`] — sleeps no longer than the application wants.
//! * Nothing busy-loops: [`Driver::next_timeout`] is `None` while no timer is pending, and
//!   otherwise the time to the earliest one (the endpoint's transaction and dialog timers,
//!   a connect timeout, a connection's message deadline or idle close, the application's
//!   alarm). It is zero
//!   only when work is due.
//! * Sockets are registered edge-triggered, for readability; writability is asked for only
//!   while something waits to be written.
//!
//! # Which connection a TCP message uses (RFC 3261 §18.1.1, §18.2.2)
//!
//! Connections, accepted and outgoing, are kept in one table keyed by the peer's address.
//! The core addresses a response to the source address of its request, so responses go
//! back on the connection the request came in on; a request to an address with an open
//! connection reuses it; otherwise a new connection is opened and the message waits in its
//! queue until it is established. A failed connect or write, a connect that times out,
//! the connection limit, and a connection that closes with messages unsent are reported to
//! the endpoint as `Input::TransportError` (§18.4) and to the caller as
//! [`Event::TransportError`]; a peer that resets a connection is reported to the caller.
//! A newer connection from the same peer address takes over sending; the older keeps
//! delivering what arrives on it until it closes or idles out. A double-CRLF ping is
//! answered with a CRLF pong (RFC 5626 §3.5.1): the core's
//! [`StreamReader`](sip_core::transport::keepalive::StreamReader) frames each connection
//! and counts the pings; the core's [`select_socket`](sip_core::transport::select_socket)
//! picks the UDP socket a datagram leaves from.
//!
//! # TCP limits
//!
//! [`DriverConfig::tcp_limits`] is the core's policy
//! ([`sip_core::transport::limits`]), applied as it stands: accepts and connects are
//! admitted per source and in total, each connection's
//! [`StreamTimer`](sip_core::transport::limits::StreamTimer) gives its message deadline and
//! idle timeout (in [`Driver::next_timeout`]), and a message the output caps refuse closes
//! its connection ([`TransportFailure::Limit`]). Each refusal and close is counted in
//! [`TransportStats`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod config;
mod dns;
mod driver;
mod event;
mod stats;
mod tcp;
mod tls;
mod udp;
mod ws;

pub use config::{DriverConfig, Listen};
pub use driver::{Driver, DriverError, Step};
pub use event::{Event, TransportFailure};
pub use sip_tls::{TlsConfig, TlsConfigError, TlsFailure, TrustAnchors};
pub use stats::TransportStats;

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};

/// A non-blocking socket for `addr`'s family; IPv6 sockets are IPv6-only so `0.0.0.0` and
/// `[::]` can share a port number.
fn new_socket(
    addr: SocketAddr,
    ty: Type,
    protocol: Protocol,
    config: &DriverConfig,
) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), ty, Some(protocol))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(config.reuse_address)?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}
