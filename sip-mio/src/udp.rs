//! UDP sockets: one datagram is one message (RFC 3261 §18.1.1, §18.2.1).

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;

use bytes::Bytes;
use socket2::{Protocol, Type};

use crate::config::DriverConfig;

/// The largest UDP payload there is (an IPv4 datagram's 16-bit length).
pub(crate) const UDP_MAX: usize = 65_535;

/// A bound UDP socket and the datagrams waiting for it to become writable.
#[derive(Debug)]
pub(crate) struct UdpSock {
    pub(crate) socket: mio::net::UdpSocket,
    pub(crate) local: SocketAddr,
    pub(crate) queue: VecDeque<(SocketAddr, Bytes)>,
    pub(crate) queued_bytes: usize,
    /// Registered for writable readiness too (only while `queue` is not empty, since a UDP
    /// socket would otherwise wake the loop after every datagram sent).
    pub(crate) writable_interest: bool,
    /// The `SO_RCVBUF` the kernel granted.
    pub(crate) recv_buffer: usize,
}

impl UdpSock {
    pub(crate) fn bind(addr: SocketAddr, config: &DriverConfig) -> io::Result<UdpSock> {
        let socket = crate::new_socket(addr, Type::DGRAM, Protocol::UDP, config)?;
        if let Some(size) = config.udp_recv_buffer_size {
            socket.set_recv_buffer_size(size)?;
        }
        let recv_buffer = socket.recv_buffer_size().unwrap_or(0);
        socket.bind(&addr.into())?;
        let std: std::net::UdpSocket = socket.into();
        let local = std.local_addr()?;
        Ok(UdpSock {
            socket: mio::net::UdpSocket::from_std(std),
            local,
            queue: VecDeque::new(),
            queued_bytes: 0,
            writable_interest: false,
            recv_buffer,
        })
    }
}
