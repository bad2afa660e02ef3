//! UDP: one datagram is one message (RFC 3261 §18.1.1, §18.2.1).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_io::{Async, Timer};
use bytes::Bytes;
use sip_core::endpoint::Input;
use sip_core::transport::Transport;
use sip_core::transport::keepalive::is_keepalive_datagram;
use socket2::{Protocol, Type};
use std::net::UdpSocket;

use sip_ua::chan::mpsc;

use super::config::TransportConfig;
use super::stats::bump;
use super::{Shared, new_socket};

/// The largest UDP payload there is (an IPv4 datagram's 16-bit length).
const UDP_MAX: usize = 65_535;

/// Pause after a failed receive, so an error that repeats cannot spin the loop.
const RECV_ERROR_PAUSE: Duration = Duration::from_millis(10);

/// Creates and binds a UDP socket with the configured options; also returns the receive
/// buffer the kernel granted.
pub(super) fn bind_socket(
    addr: SocketAddr,
    config: &TransportConfig,
) -> io::Result<(Async<UdpSocket>, usize)> {
    let socket = new_socket(addr, Type::DGRAM, Protocol::UDP, config)?;
    if config.recv_buffer_size.is_none()
        && let Some(size) = config.udp_recv_buffer_size
    {
        socket.set_recv_buffer_size(size)?;
    }
    let granted = socket.recv_buffer_size().unwrap_or(0);
    if config
        .recv_buffer_size
        .or(config.udp_recv_buffer_size)
        .is_some_and(|asked| granted < asked)
    {
        tracing::info!(socket = %addr, granted, "UDP receive buffer capped by the kernel (net.core.rmem_max)");
    }
    socket.bind(&addr.into())?;
    Ok((Async::new(UdpSocket::from(socket))?, granted))
}

/// Reads datagrams until the input channel closes (the task is also stopped from outside).
pub(super) async fn recv_loop(
    shared: Arc<Shared>,
    socket: Arc<Async<UdpSocket>>,
    local: SocketAddr,
) {
    let max = shared.config.max_message_size.min(UDP_MAX);
    // One byte more than the limit tells a datagram that fits from one the kernel cut.
    let mut buf = vec![0u8; max + 1];
    loop {
        let (n, from) = match socket.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                bump(&shared.counters.io_errors);
                tracing::warn!(socket = %local, error = %e, "UDP receive failed");
                Timer::after(RECV_ERROR_PAUSE).await;
                continue;
            }
        };
        if n > max {
            bump(&shared.counters.oversize_dropped);
            tracing::warn!(socket = %local, %from, limit = max, "oversize UDP datagram dropped");
            continue;
        }
        let Some(data) = buf.get(..n) else {
            continue;
        };
        if is_keepalive_datagram(data) {
            bump(&shared.counters.keepalives_in);
            tracing::trace!(socket = %local, %from, "UDP keep-alive ignored");
            continue;
        }
        bump(&shared.counters.datagrams_in);
        let input = Input::Receive {
            transport: Transport::Udp,
            from,
            to: local,
            bytes: Bytes::copy_from_slice(data),
        };
        if shared.input.send(input).await.is_err() {
            tracing::debug!(socket = %local, "input channel closed: UDP receive loop ends");
            return;
        }
    }
}

/// Sends the datagrams [`Transports::send`](super::Transports::send) could not write at
/// once (the socket's buffer was full), in order; a failed send is a transport error (RFC 3261 §18.4).
pub(super) async fn send_loop(
    shared: Arc<Shared>,
    socket: Arc<Async<UdpSocket>>,
    queue: mpsc::Receiver<(SocketAddr, Bytes)>,
    queued: Arc<AtomicUsize>,
) {
    while let Some((destination, bytes)) = queue.recv().await {
        let sent = socket.send_to(&bytes, destination).await;
        // Counted down once sent, so a datagram handed over later never overtakes it.
        queued.fetch_sub(1, Ordering::AcqRel);
        match sent {
            Ok(_) => bump(&shared.counters.datagrams_out),
            Err(e) => {
                tracing::warn!(%destination, error = %e, len = bytes.len(), "UDP send failed");
                shared.report_error(Transport::Udp, destination).await;
            }
        }
    }
}
