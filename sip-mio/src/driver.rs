//! The [`Driver`]: an endpoint and its sockets on a caller's `mio::Poll`.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::ops::{ControlFlow, Range};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mio::{Interest, Poll, Registry, Token};
use sip_core::endpoint::{Endpoint, Input, LocalAddr, Output, Transmit};
use sip_core::transport::keepalive::{PONG, is_keepalive_datagram};
use sip_core::transport::limits::{Admission, CloseReason, ReadProgress, Refusal, StreamTimer};
use sip_core::transport::{Transport, select_socket};

use crate::config::DriverConfig;
use crate::event::{Event, TransportFailure};
use crate::stats::TransportStats;
use crate::tcp::{self, Conn, ConnState, Flush, ReadOutcome};
use crate::tls::{TlsRead, TlsSession};
use crate::udp::{self, UdpSock};
use sip_core::transport::TlsPeerIdentity;
use sip_tls::TlsFailure;
use sip_tls::rustls::{self, ClientConfig, ServerConfig};
use std::sync::Arc;

/// Rounds of "feed transport errors back to the endpoint" per drain, so a pathological
/// error → send → error chain cannot spin; what is left waits for the next call.
const MAX_ERROR_ROUNDS: usize = 64;

/// Why a driver could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriverError {
    /// A socket could not be created, bound or registered.
    #[error("cannot bind {transport} {addr}: {source}")]
    Bind {
        /// The transport.
        transport: Transport,
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// Only UDP, TCP and TLS are supported by this driver.
    #[error("transport {0} is not supported by the mio driver")]
    UnsupportedTransport(Transport),
    /// A TLS listener needs [`DriverConfig::tls`] with a server certificate.
    #[error("a TLS listener needs a server certificate (DriverConfig::tls)")]
    NoServerCertificate,
    /// The token range has fewer tokens than sockets to bind, plus one for a connection
    /// if any TCP listener is bound.
    #[error("the token range holds {have} tokens; at least {need} are needed")]
    NotEnoughTokens {
        /// Tokens given.
        have: usize,
        /// Tokens needed.
        need: usize,
    },
    /// The registry could not be cloned.
    #[error("cannot clone the mio registry: {0}")]
    Registry(io::Error),
}

/// What [`Driver::run`] hands its callback.
// Moved once per event, like the endpoint's own outputs.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Step<'a> {
    /// An event of the driver.
    Event(Event),
    /// A readiness event for a token the driver does not own (the caller's own sources).
    Foreign(&'a mio::event::Event),
}

/// What a token of the driver's range stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Udp(usize),
    Listener(usize),
    Conn(usize),
}

/// A SIP endpoint and its UDP sockets, TCP listeners and TCP connections, registered with
/// a `mio::Poll` the caller owns, on tokens the caller hands it.
///
/// See the [crate docs](crate) for the loop contract.
#[derive(Debug)]
pub struct Driver {
    endpoint: Endpoint,
    registry: Registry,
    config: DriverConfig,
    tokens: Range<usize>,
    udp: Vec<UdpSock>,
    /// The UDP sockets' bound addresses, in `udp`'s order (for `select_socket`).
    udp_addrs: Vec<SocketAddr>,
    /// TCP and TLS listeners (a TLS one with its server configuration).
    listeners: Vec<(
        mio::net::TcpListener,
        SocketAddr,
        Option<Arc<ServerConfig>>,
        bool,
    )>,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    conn_keys: HashMap<(Transport, SocketAddr), usize>,
    /// How many of the endpoint's local addresses are bound sockets (a TLS sent-by for
    /// outgoing TLS may follow them).
    bound: usize,
    /// The client side of TLS, made at the first TLS connect (see [`DriverConfig::tls`]).
    tls_client: Option<Result<Arc<ClientConfig>, String>>,
    live_conns: usize,
    /// Connections open, in total and per source (the core's policy).
    admission: Admission,
    /// What the messages queued on all connections cost against the output budget.
    output_total: usize,
    /// Connection deadlines (connect timeout, message deadline, idle close): (when, slot,
    /// generation).
    deadlines: BinaryHeap<Reverse<(Instant, usize, u64)>>,
    /// Slots whose reads were cut short by the read budget.
    backlog: Vec<Slot>,
    events: VecDeque<Event>,
    /// Transport errors for the endpoint, fed in after the current drain.
    pending_errors: Vec<(Transport, SocketAddr)>,
    stats: TransportStats,
    buf: Vec<u8>,
    frames: Vec<Bytes>,
    next_generation: u64,
    /// The application's alarm (see [`Driver::wake_at`]).
    wake: Option<Instant>,
    /// Lookups for the endpoint's RFC 3263 resolver, on the range's last token.
    dns: crate::dns::DnsClient,
}

impl Driver {
    /// Binds every socket of `config`, registers them with `registry` on the first tokens
    /// of `tokens` (in the order of `config.listen`), and creates the endpoint with the
    /// bound addresses as its local addresses. The rest of `tokens` is used for TCP
    /// connections, so its length bounds their number too.
    pub fn new(
        mut config: DriverConfig,
        registry: &Registry,
        tokens: Range<usize>,
    ) -> Result<Driver, DriverError> {
        let have = tokens.len();
        let has_tcp = config
            .listen
            .iter()
            .any(|l| matches!(l.transport, Transport::Tcp | Transport::Tls | Transport::Ws));
        let need = config.listen.len() + usize::from(has_tcp);
        if have < need {
            return Err(DriverError::NotEnoughTokens { have, need });
        }
        let registry = registry.try_clone().map_err(DriverError::Registry)?;
        let mut udp = Vec::new();
        let mut listeners = Vec::new();
        let mut locals = Vec::new();
        let mut udp_recv_buffer = 0;
        for l in &config.listen {
            let bind_err = |source| DriverError::Bind {
                transport: l.transport,
                addr: l.addr,
                source,
            };
            let local = match l.transport {
                Transport::Udp => {
                    let s = UdpSock::bind(l.addr, &config).map_err(bind_err)?;
                    let local = s.local;
                    udp_recv_buffer = s.recv_buffer as u64;
                    udp.push(s);
                    local
                }
                Transport::Tcp => {
                    let (listener, local) =
                        tcp::bind_listener(l.addr, &config).map_err(bind_err)?;
                    listeners.push((listener, local, None, false));
                    local
                }
                Transport::Ws => {
                    let (listener, local) =
                        tcp::bind_listener(l.addr, &config).map_err(bind_err)?;
                    listeners.push((listener, local, None, true));
                    local
                }
                Transport::Tls => {
                    let server = config
                        .tls
                        .as_ref()
                        .and_then(|t| t.server.clone())
                        .ok_or(DriverError::NoServerCertificate)?;
                    let (listener, local) =
                        tcp::bind_listener(l.addr, &config).map_err(bind_err)?;
                    listeners.push((listener, local, Some(server), false));
                    local
                }
                other => return Err(DriverError::UnsupportedTransport(other)),
            };
            locals.push(LocalAddr {
                transport: l.transport,
                addr: local,
                advertised: l.advertised.clone(),
            });
        }
        // Tokens: UDP sockets, then listeners, then connections.
        for (i, s) in udp.iter_mut().enumerate() {
            let token = Token(tokens.start + i);
            registry
                .register(&mut s.socket, token, Interest::READABLE)
                .map_err(|source| DriverError::Bind {
                    transport: Transport::Udp,
                    addr: s.local,
                    source,
                })?;
        }
        for (i, (l, local, _, _)) in listeners.iter_mut().enumerate() {
            let token = Token(tokens.start + udp.len() + i);
            registry
                .register(l, token, Interest::READABLE)
                .map_err(|source| DriverError::Bind {
                    transport: Transport::Tcp,
                    addr: *local,
                    source,
                })?;
        }
        let bound = locals.len();
        // Outgoing TLS without a TLS listener: the first address stands as sent-by (the
        // responses come back on the connection, RFC 3261 §18.2.2).
        if !locals.iter().any(|l| l.transport == Transport::Tls)
            && let Some(first) = locals.first()
        {
            locals.push(LocalAddr {
                transport: Transport::Tls,
                ..first.clone()
            });
        }
        // Locals in the endpoint follow the configuration order (UDP and TCP interleaved as
        // given), which is what `EndpointConfig::local_for` searches.
        config.endpoint.local_addrs = locals;
        let endpoint = Endpoint::new(config.endpoint.clone(), config.seed);
        let buf_len = config.max_message_size.clamp(1, udp::UDP_MAX) + 1;
        let udp_addrs = udp.iter().map(|s| s.local).collect();
        // The last token goes to DNS when the range has one beyond the sockets and one
        // connection.
        let dns_token = (have > need).then(|| Token(tokens.end - 1));
        let dns_server = config.dns_server.or_else(sip_dns::system_server);
        let dns = crate::dns::DnsClient::new(dns_server, dns_token, config.seed);
        Ok(Driver {
            endpoint,
            registry,
            tokens,
            udp,
            udp_addrs,
            listeners,
            conns: Vec::new(),
            free: Vec::new(),
            conn_keys: HashMap::new(),
            tls_client: None,
            bound,
            live_conns: 0,
            admission: Admission::new(config.tcp_limits),
            output_total: 0,
            deadlines: BinaryHeap::new(),
            backlog: Vec::new(),
            events: VecDeque::new(),
            pending_errors: Vec::new(),
            stats: TransportStats {
                udp_recv_buffer,
                ..TransportStats::default()
            },
            buf: vec![0; buf_len.max(16 * 1024)],
            frames: Vec::new(),
            next_generation: 0,
            wake: None,
            dns,
            config,
        })
    }

    // ---- the loop ---------------------------------------------------------------------

    /// Whether `token` is one of the driver's (its whole range, used or not).
    pub fn owns(&self, token: Token) -> bool {
        self.tokens.contains(&token.0)
    }

    fn slot(&self, token: Token) -> Option<Slot> {
        let i = token.0.checked_sub(self.tokens.start)?;
        if !self.tokens.contains(&token.0) {
            return None;
        }
        if i < self.udp.len() {
            return Some(Slot::Udp(i));
        }
        let i = i - self.udp.len();
        if i < self.listeners.len() {
            return Some(Slot::Listener(i));
        }
        Some(Slot::Conn(i - self.listeners.len()))
    }

    fn conn_token(&self, slot: usize) -> Token {
        Token(self.tokens.start + self.udp.len() + self.listeners.len() + slot)
    }

    /// Connection slots the token range holds (the admission limits apply on top).
    fn conn_capacity(&self) -> usize {
        let dns = usize::from(self.dns.owns(Token(self.tokens.end.saturating_sub(1))));
        self.tokens.len() - self.udp.len() - self.listeners.len() - dns
    }

    /// How long the caller may block in `Poll::poll` before calling
    /// [`Driver::handle_timeout`]: `None` when nothing is scheduled (sleep until a socket is
    /// ready), zero when work is already due: a timer passed, reads were left over by the
    /// read budget, or events wait in [`Driver::poll_event`] (a command called after the
    /// last drain can produce some, e.g. a failed connect).
    pub fn next_timeout(&mut self, now: Instant) -> Option<Duration> {
        if !self.backlog.is_empty() || !self.events.is_empty() {
            return Some(Duration::ZERO);
        }
        self.next_deadline()
            .map(|at| at.saturating_duration_since(now))
    }

    /// The earliest instant a timer of the endpoint, of a connection (connect timeout,
    /// idle close) or the application's alarm ([`Driver::wake_at`]) is due, if any.
    pub fn next_deadline(&mut self) -> Option<Instant> {
        let ep = self.endpoint.poll_timeout();
        // Bring the heap's top up to date: an entry whose connection is gone or has seen
        // traffic since it was pushed is replaced, so the caller never wakes for nothing.
        let conn = loop {
            let Some(&Reverse((at, slot, generation))) = self.deadlines.peek() else {
                break None;
            };
            let actual = self
                .conns
                .get(slot)
                .and_then(Option::as_ref)
                .filter(|c| c.generation == generation)
                .map(Conn::deadline);
            match actual {
                Some(Some(real)) if real == at => break Some(at),
                Some(Some(real)) => {
                    self.deadlines.pop();
                    self.deadlines.push(Reverse((real, slot, generation)));
                }
                _ => {
                    self.deadlines.pop();
                }
            }
        };
        [ep, conn, self.wake, self.dns.next_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Handles readiness of `token`: reads what arrived (handing each message to the
    /// endpoint) and writes what was waiting. Returns `false` if the token is not the
    /// driver's. Trying both directions is harmless; [`Driver::handle_event`] uses the
    /// event's readiness to skip the one not signalled.
    pub fn handle_ready(&mut self, token: Token, now: Instant) -> bool {
        self.ready(token, true, true, now)
    }

    /// Handles one event from `Poll::poll`; `false` if its token is not the driver's.
    pub fn handle_event(&mut self, event: &mio::event::Event, now: Instant) -> bool {
        let error = event.is_error();
        let readable = error || event.is_readable() || event.is_read_closed();
        let writable = error || event.is_writable() || event.is_write_closed();
        self.ready(event.token(), readable, writable, now)
    }

    fn ready(&mut self, token: Token, readable: bool, writable: bool, now: Instant) -> bool {
        if self.dns.owns(token) {
            for (id, answer) in self.dns.read() {
                self.endpoint.handle_dns_answer(now, id, answer);
            }
            self.drain(now);
            return true;
        }
        let Some(slot) = self.slot(token) else {
            return false;
        };
        match slot {
            Slot::Udp(i) => {
                if writable {
                    self.flush_udp(i, now);
                }
                if readable {
                    self.read_udp(i, now);
                }
            }
            Slot::Listener(i) => self.accept_conns(i, now),
            Slot::Conn(c) => self.conn_ready(c, readable, writable, now),
        }
        self.drain(now);
        true
    }

    /// Fires the timers due at `now` (the endpoint's, connect timeouts, idle closes, the
    /// application's alarm) and continues reads that the read budget cut short.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(at) = self.wake.filter(|at| *at <= now) {
            self.wake = None;
            self.events.push_back(Event::Wake { at });
        }
        self.endpoint.handle_timeout(now);
        for (id, answer) in self.dns.handle_timeout(now) {
            self.endpoint.handle_dns_answer(now, id, answer);
        }
        self.drain(now);
        while let Some(&Reverse((at, slot, generation))) = self.deadlines.peek() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            let Some(c) = self.conns.get(slot).and_then(Option::as_ref) else {
                continue;
            };
            if c.generation != generation {
                continue;
            }
            match c.deadline() {
                Some(real) if real > now => {
                    self.deadlines.push(Reverse((real, slot, generation)));
                }
                None => {}
                Some(_) => match c.state {
                    ConnState::Connecting(_) => {
                        tracing::warn!(peer = %c.peer, "TCP connect timed out");
                        self.close(slot, Some(TransportFailure::ConnectTimeout), true);
                    }
                    ConnState::Handshaking(_) => {
                        tracing::warn!(peer = %c.peer, "TLS handshake timed out");
                        self.stats.tls_handshake_timeouts += 1;
                        let lost = !c.queue.is_empty();
                        let failure = TransportFailure::Tls(TlsFailure::HandshakeTimeout);
                        self.close(slot, Some(failure), lost);
                    }
                    ConnState::Open => {
                        if let Some(reason) = c.timer.expired(now) {
                            self.close_for(slot, reason);
                        }
                    }
                },
            }
        }
        for slot in std::mem::take(&mut self.backlog) {
            match slot {
                Slot::Udp(i) => self.read_udp(i, now),
                Slot::Conn(c) => self.conn_ready(c, true, false, now),
                Slot::Listener(i) => self.accept_conns(i, now),
            }
        }
        self.drain(now);
    }

    /// The next event, in the order they arose.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// A loop for callers that have none: polls `poll`, feeds the driver, and hands every
    /// driver event and every foreign readiness event to `f`, until `f` breaks (or polling
    /// fails). Time is read from the system clock.
    ///
    /// The application's own timers go through the driver's alarm: `f` (or code before
    /// the loop) calls [`Driver::wake_at`], `run` sleeps no longer than that, and the alarm
    /// arrives as `Step::Event(Event::Wake { .. })`, in order with the other events.
    pub fn run<F>(&mut self, poll: &mut Poll, mut f: F) -> io::Result<()>
    where
        F: FnMut(&mut Driver, Instant, Step<'_>) -> ControlFlow<()>,
    {
        let mut events = mio::Events::with_capacity(1024);
        loop {
            let now = Instant::now();
            while let Some(e) = self.poll_event() {
                if f(self, now, Step::Event(e)).is_break() {
                    return Ok(());
                }
            }
            let timeout = self.next_timeout(now);
            match poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let now = Instant::now();
            for ev in events.iter() {
                if !self.handle_event(ev, now) && f(self, now, Step::Foreign(ev)).is_break() {
                    return Ok(());
                }
            }
            self.handle_timeout(now);
        }
    }

    // ---- introspection -----------------------------------------------------------------

    /// The endpoint (dialog and transaction state, its counters).
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Transport counters.
    pub fn stats(&self) -> TransportStats {
        self.stats
    }

    /// The bound addresses, in configuration order, with their actual ports.
    pub fn local_addrs(&self) -> Vec<(Transport, SocketAddr)> {
        self.endpoint
            .config()
            .local_addrs
            .iter()
            .take(self.bound)
            .map(|l| (l.transport, l.addr))
            .collect()
    }

    /// The first bound address of `transport`.
    pub fn local_addr(&self, transport: Transport) -> Option<SocketAddr> {
        self.local_addrs()
            .into_iter()
            .find(|(t, _)| *t == transport)
            .map(|(_, a)| a)
    }

    /// TCP connections open or connecting.
    pub fn connection_count(&self) -> usize {
        self.live_conns
    }

    // ---- commands ----------------------------------------------------------------------

    /// The one way to act on the endpoint: runs `f` on it (any command — `invite`,
    /// `ep.dialog(id)?.answer(..)`, `ep.refer(id)?.notify(..)`, `send_request`,
    /// `decline`, `register`, ...), then sends what it produced at once and queues its
    /// events for [`Driver::poll_event`]. Returns what `f` returned.
    ///
    /// ```no_run
    /// # use std::time::Instant;
    /// # use sip_core::dialog::DialogId;
    /// # fn f(driver: &mut sip_mio::Driver, call: DialogId) -> Result<(), sip_core::dialog::DialogError> {
    /// let now = Instant::now();
    /// driver.with_endpoint(now, |ep| ep.dialog(call)?.hangup(now))?;
    /// # Ok(()) }
    /// ```
    pub fn with_endpoint<R>(&mut self, now: Instant, f: impl FnOnce(&mut Endpoint) -> R) -> R {
        let r = f(&mut self.endpoint);
        self.drain(now);
        r
    }

    /// Arms the application's alarm: [`Event::Wake`] comes from [`Driver::poll_event`]
    /// once `at` has passed (at the first [`Driver::handle_timeout`] at or after it), and
    /// [`Driver::next_timeout`] counts it like the driver's own timers, so [`Driver::run`]
    /// wakes for it. There is one alarm: the earliest instant asked for wins, and once it
    /// has rung the application asks again for its next one. Use it for the application's
    /// own timers (ringing before answering, retries), kept in a queue of its own.
    pub fn wake_at(&mut self, at: Instant) {
        self.wake = Some(self.wake.map_or(at, |w| w.min(at)));
    }

    /// When the application's alarm is set to ring, if it is armed.
    pub fn wake(&self) -> Option<Instant> {
        self.wake
    }

    // ---- moving outputs ----------------------------------------------------------------

    /// Sends every transmit the endpoint has queued, queues its events, and feeds transport
    /// errors found on the way back to it.
    fn drain(&mut self, now: Instant) {
        for _ in 0..MAX_ERROR_ROUNDS {
            self.drain_outputs(now);
            // DNS queries: sent on the client's socket; one that cannot be sent is
            // answered at once, which may send (or fail) a held request.
            let mut answered = false;
            while let Some(q) = self.endpoint.poll_dns_query() {
                if let Some((id, answer)) = self.dns.send(&self.registry, q, now) {
                    self.endpoint.handle_dns_answer(now, id, answer);
                    answered = true;
                }
            }
            if !answered {
                return;
            }
        }
    }

    /// Sends every transmit, queues every event, feeds transport errors back.
    fn drain_outputs(&mut self, now: Instant) {
        for _ in 0..MAX_ERROR_ROUNDS {
            while let Some(out) = self.endpoint.poll_output() {
                match out {
                    Output::Transmit(t) => self.send(now, t),
                    Output::Event(e) => self.events.push_back(Event::Sip(e)),
                }
            }
            if self.pending_errors.is_empty() {
                return;
            }
            for (transport, destination) in std::mem::take(&mut self.pending_errors) {
                self.stats.transport_errors += 1;
                self.endpoint.handle_input(
                    now,
                    Input::TransportError {
                        transport,
                        destination,
                    },
                );
            }
        }
    }

    fn fail(
        &mut self,
        transport: Transport,
        peer: SocketAddr,
        failure: TransportFailure,
        tell_endpoint: bool,
    ) {
        self.events.push_back(Event::TransportError {
            transport,
            peer,
            failure,
        });
        if tell_endpoint {
            self.pending_errors.push((transport, peer));
        }
    }

    fn send(&mut self, now: Instant, t: Transmit) {
        match t.transport {
            Transport::Udp => self.send_udp(t),
            Transport::Tcp | Transport::Tls | Transport::Ws => self.send_tcp(now, t),
            other => {
                tracing::warn!(transport = %other, destination = %t.destination, "transport not supported by the mio driver");
                self.fail(other, t.destination, TransportFailure::NoSocket, true);
            }
        }
    }

    // ---- UDP ---------------------------------------------------------------------------

    fn send_udp(&mut self, t: Transmit) {
        let Some(i) = select_socket(&self.udp_addrs, t.source, t.destination) else {
            tracing::warn!(destination = %t.destination, "no UDP socket for this destination");
            self.fail(
                Transport::Udp,
                t.destination,
                TransportFailure::NoSocket,
                true,
            );
            return;
        };
        let limit = self.config.max_queued_bytes;
        let Some(s) = self.udp.get_mut(i) else { return };
        if s.queue.is_empty() {
            match s.socket.send_to(&t.bytes, t.destination) {
                Ok(_) => {
                    self.stats.datagrams_out += 1;
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    tracing::warn!(destination = %t.destination, error = %e, "UDP send failed");
                    let failure = TransportFailure::Write(e.kind());
                    self.fail(Transport::Udp, t.destination, failure, true);
                    return;
                }
            }
        }
        if s.queued_bytes.saturating_add(t.bytes.len()) > limit && !s.queue.is_empty() {
            self.stats.send_queue_full += 1;
            tracing::warn!(destination = %t.destination, "UDP send queue full: datagram dropped");
            return;
        }
        self.stats.writes_queued += 1;
        s.queued_bytes += t.bytes.len();
        s.queue.push_back((t.destination, t.bytes));
        if !s.writable_interest {
            let token = Token(self.tokens.start + i);
            match self.registry.reregister(
                &mut s.socket,
                token,
                Interest::READABLE | Interest::WRITABLE,
            ) {
                Ok(()) => s.writable_interest = true,
                Err(e) => tracing::warn!(error = %e, "cannot register UDP socket for writability"),
            }
        }
    }

    fn flush_udp(&mut self, i: usize, _now: Instant) {
        let mut failed = Vec::new();
        let Some(s) = self.udp.get_mut(i) else { return };
        while let Some((dest, bytes)) = s.queue.front() {
            match s.socket.send_to(bytes, *dest) {
                Ok(_) => self.stats.datagrams_out += 1,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => failed.push((*dest, e.kind())),
            }
            s.queued_bytes = s.queued_bytes.saturating_sub(bytes.len());
            s.queue.pop_front();
        }
        if s.queue.is_empty() && s.writable_interest {
            let token = Token(self.tokens.start + i);
            if self
                .registry
                .reregister(&mut s.socket, token, Interest::READABLE)
                .is_ok()
            {
                s.writable_interest = false;
            }
        }
        for (dest, kind) in failed {
            self.fail(Transport::Udp, dest, TransportFailure::Write(kind), true);
        }
    }

    fn read_udp(&mut self, i: usize, now: Instant) {
        let max = self.config.max_message_size.min(udp::UDP_MAX);
        for _ in 0..self.config.read_budget.max(1) {
            let Some(s) = self.udp.get(i) else { return };
            let local = s.local;
            let (n, from) = match s.socket.recv_from(&mut self.buf) {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.stats.io_errors += 1;
                    tracing::warn!(socket = %local, error = %e, "UDP receive failed");
                    continue;
                }
            };
            if n > max {
                self.stats.oversize_dropped += 1;
                tracing::warn!(socket = %local, %from, limit = max, "oversize UDP datagram dropped");
                continue;
            }
            let data = self.buf.get(..n).unwrap_or_default();
            if is_keepalive_datagram(data) {
                self.stats.keepalives_in += 1;
                continue;
            }
            self.stats.datagrams_in += 1;
            let bytes = Bytes::copy_from_slice(data);
            self.endpoint.handle_input(
                now,
                Input::Receive {
                    transport: Transport::Udp,
                    from,
                    to: local,
                    bytes,
                },
            );
            self.drain(now);
        }
        self.push_backlog(Slot::Udp(i));
    }

    fn push_backlog(&mut self, slot: Slot) {
        if !self.backlog.contains(&slot) {
            self.backlog.push(slot);
        }
    }

    // ---- TCP ---------------------------------------------------------------------------

    fn alloc_slot(&mut self) -> Option<usize> {
        if self.live_conns >= self.conn_capacity() {
            return None;
        }
        if let Some(s) = self.free.pop() {
            return Some(s);
        }
        self.conns.push(None);
        Some(self.conns.len() - 1)
    }

    fn install(&mut self, slot: usize, conn: Conn, interest: Interest) -> bool {
        let token = self.conn_token(slot);
        let mut conn = conn;
        if let Err(e) = self.registry.register(&mut conn.stream, token, interest) {
            tracing::warn!(peer = %conn.peer, error = %e, "cannot register TCP connection");
            self.free.push(slot);
            return false;
        }
        conn.writable_interest = interest.is_writable();
        let deadline = conn.deadline();
        let (peer, generation, transport) = (conn.peer, conn.generation, conn.transport);
        if let Some(s) = self.conns.get_mut(slot) {
            *s = Some(conn);
        }
        self.live_conns += 1;
        if self.conn_keys.insert((transport, peer), slot).is_some() {
            tracing::debug!(%peer, "a newer connection from this address takes over sending");
        }
        if let Some(at) = deadline {
            self.deadlines.push(Reverse((at, slot, generation)));
        }
        true
    }

    fn generation(&mut self) -> u64 {
        self.next_generation += 1;
        self.next_generation
    }

    fn accept_conns(&mut self, i: usize, now: Instant) {
        for _ in 0..self.config.read_budget.max(1) {
            let Some((listener, local, server, ws)) = self.listeners.get(i) else {
                return;
            };
            let (local, ws) = (*local, *ws);
            let server = server.clone();
            let (stream, peer) = match listener.accept() {
                Ok(a) => a,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // Out of descriptors, typically: stop here rather than spin; the next
                    // connection attempt wakes the listener again.
                    self.stats.io_errors += 1;
                    tracing::warn!(listener = %local, error = %e, "TCP accept failed");
                    return;
                }
            };
            let permit = match self.admission.admit_inbound(peer.ip()) {
                Ok(p) => p,
                Err(refusal) => {
                    self.count_refusal(refusal);
                    // A source at its limit may be refused thousands of times: quietly.
                    tracing::debug!(listener = %local, %peer, %refusal, "connection refused");
                    drop(stream);
                    continue;
                }
            };
            let Some(slot) = self.alloc_slot() else {
                self.admission.release(permit);
                self.count_refusal(Refusal::ConnectionLimit);
                tracing::warn!(listener = %local, %peer, "no token free: connection refused");
                drop(stream);
                continue;
            };
            if let Err(e) = stream.set_nodelay(true) {
                tracing::debug!(%peer, error = %e, "TCP_NODELAY not set");
            }
            let generation = self.generation();
            let handshake = now
                .checked_add(self.config.tcp_limits.handshake_deadline)
                .unwrap_or(now);
            let state = match server {
                Some(_) => ConnState::Handshaking(handshake),
                None => ConnState::Open,
            };
            let mut conn = Conn::new(stream, peer, state, now, generation, permit, &self.config);
            if ws {
                conn = conn.with_ws(self.config.max_message_size);
            }
            if let Some(server) = server {
                match rustls::ServerConnection::new(server) {
                    Ok(c) => {
                        conn = conn.with_tls(TlsSession {
                            conn: c.into(),
                            expected: "client".to_owned(),
                        });
                    }
                    Err(e) => {
                        tracing::warn!(%peer, error = %e, "TLS session not created");
                        self.admission.release(conn.permit);
                        self.free.push(slot);
                        continue;
                    }
                }
            }
            if self.install(slot, conn, Interest::READABLE) {
                self.stats.connections_accepted += 1;
                tracing::debug!(listener = %local, %peer, "TCP connection accepted");
            }
        }
        self.push_backlog(Slot::Listener(i));
    }

    /// A message over TCP or TLS: on the open connection to the destination, else on a
    /// new one (for TLS, checked against the transmit's server name, RFC 5922 §4).
    fn send_tcp(&mut self, now: Instant, t: Transmit) {
        let peer = t.destination;
        let transport = t.transport;
        if let Some(&slot) = self.conn_keys.get(&(transport, peer)) {
            let Some(c) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
                self.conn_keys.remove(&(transport, peer));
                return self.send_tcp(now, t);
            };
            let bytes = match c.ws.as_mut() {
                // One SIP message, one WebSocket message (RFC 7118 §5.1).
                Some(w) => match w.side.frame(&t.bytes) {
                    Some(frame) => frame,
                    None => {
                        // Not upgraded yet, or closing: nothing can go over it.
                        self.fail(transport, peer, TransportFailure::NoSocket, true);
                        return;
                    }
                },
                None => t.bytes,
            };
            match c.enqueue(bytes, &self.config.tcp_limits, self.output_total) {
                Ok(cost) => {
                    let on_conn = c.queued_bytes;
                    self.charge(cost, on_conn);
                }
                Err(reason) => {
                    // A peer that does not read (or the budget is spent): close the
                    // connection, which frees its queue; this message is lost.
                    tracing::warn!(%peer, %reason, "TCP connection closed");
                    self.close_for(slot, reason);
                    return;
                }
            }
            self.stats.stream_messages_out += 1;
            if c_is_open(&self.conns, slot) {
                self.flush_conn(slot);
            }
            return;
        }
        if transport.is_websocket() {
            // This driver opens no WebSocket connections: a browser's is the only way to
            // it (RFC 7118 §5), and once it is gone the message fails at once.
            tracing::debug!(%peer, "no WebSocket connection to this client: message not sent");
            self.fail(transport, peer, TransportFailure::NoSocket, true);
            return;
        }
        let permit = match self.admission.admit_outbound() {
            Ok(p) => p,
            Err(refusal) => {
                self.count_refusal(refusal);
                tracing::warn!(%peer, %refusal, "TCP connection not opened");
                self.fail(transport, peer, TransportFailure::ConnectionLimit, true);
                return;
            }
        };
        let tls = match transport {
            Transport::Tls => match self.tls_session(&t) {
                Ok(s) => Some(s),
                Err(failure) => {
                    self.admission.release(permit);
                    self.fail(transport, peer, failure, true);
                    return;
                }
            },
            _ => None,
        };
        let Some(slot) = self.alloc_slot() else {
            self.admission.release(permit);
            self.count_refusal(Refusal::ConnectionLimit);
            tracing::warn!(%peer, "no token free: connection not opened");
            self.fail(transport, peer, TransportFailure::ConnectionLimit, true);
            return;
        };
        let stream = match mio::net::TcpStream::connect(peer) {
            Ok(s) => s,
            Err(e) => {
                self.admission.release(permit);
                self.free.push(slot);
                tracing::warn!(%peer, error = %e, "TCP connect failed");
                self.fail(transport, peer, TransportFailure::Connect(e.kind()), true);
                return;
            }
        };
        let generation = self.generation();
        let deadline = now.checked_add(self.config.connect_timeout).unwrap_or(now);
        let mut conn = Conn::new(
            stream,
            peer,
            ConnState::Connecting(deadline),
            now,
            generation,
            permit,
            &self.config,
        );
        if let Some(session) = tls {
            conn = conn.with_tls(session);
        }
        let queued = conn.enqueue(t.bytes, &self.config.tcp_limits, self.output_total);
        let Ok(cost) = queued else {
            // One message over the caps on its own: nothing to open a connection for.
            self.admission.release(conn.permit);
            self.free.push(slot);
            tracing::warn!(%peer, "TCP message over the output caps: connection not opened");
            let failure = TransportFailure::Limit(CloseReason::OutputCap);
            self.fail(transport, peer, failure, true);
            return;
        };
        self.charge(cost, conn.queued_bytes);
        if self.install(slot, conn, Interest::READABLE | Interest::WRITABLE) {
            self.stats.stream_messages_out += 1;
        } else {
            let failure = TransportFailure::Connect(io::ErrorKind::Other);
            self.fail(transport, peer, failure, true);
        }
    }

    /// A client TLS session for a connection to `t`'s destination, checking the server
    /// against `t`'s server name or, without one, its address (RFC 5922 §4).
    fn tls_session(&mut self, t: &Transmit) -> Result<TlsSession, TransportFailure> {
        let client = self
            .tls_client
            .get_or_insert_with(|| match &self.config.tls {
                Some(c) => Ok(c.client.clone()),
                None => sip_tls::TlsConfig::client(sip_tls::TrustAnchors::Platform)
                    .map(|c| c.client)
                    .map_err(|e| e.to_string()),
            })
            .clone()
            .map_err(|e| TransportFailure::Tls(TlsFailure::Handshake(e)))?;
        let identity = TlsPeerIdentity::of(t.server_name.as_ref(), t.destination);
        let expected = match &identity {
            TlsPeerIdentity::Domain(d) => d.to_string(),
            TlsPeerIdentity::Address(ip) => ip.to_string(),
        };
        let conn = rustls::ClientConnection::new(client, sip_tls::server_name(&identity))
            .map_err(|e| TransportFailure::Tls(TlsFailure::from_rustls(&e, &expected)))?;
        Ok(TlsSession {
            conn: conn.into(),
            expected,
        })
    }

    /// Writes what a connection has queued, and keeps its writable interest in step with
    /// whether anything is left.
    fn flush_conn(&mut self, slot: usize) {
        let token = self.conn_token(slot);
        let Some(c) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let before = c.queued_bytes;
        let flushed = c.flush();
        self.output_total = self
            .output_total
            .saturating_sub(before.saturating_sub(c.queued_bytes));
        match flushed {
            Flush::Done => {
                if c.writable_interest
                    && self
                        .registry
                        .reregister(&mut c.stream, token, Interest::READABLE)
                        .is_ok()
                {
                    c.writable_interest = false;
                }
            }
            Flush::Blocked => {
                self.stats.writes_queued += 1;
                if !c.writable_interest {
                    match self.registry.reregister(
                        &mut c.stream,
                        token,
                        Interest::READABLE | Interest::WRITABLE,
                    ) {
                        Ok(()) => c.writable_interest = true,
                        Err(e) => {
                            let kind = e.kind();
                            self.close(slot, Some(TransportFailure::Write(kind)), true);
                        }
                    }
                }
            }
            Flush::Failed(kind) => {
                tracing::warn!(peer = %c.peer, error = ?kind, "TCP write failed");
                self.close(slot, Some(TransportFailure::Write(kind)), true);
            }
        }
    }

    fn conn_ready(&mut self, slot: usize, readable: bool, writable: bool, now: Instant) {
        let Some(c) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        if let ConnState::Connecting(_) = c.state {
            match c.check_connected() {
                Ok(true) => {
                    self.stats.connections_opened += 1;
                    tracing::debug!(peer = %c.peer, "TCP connection opened");
                    // The connect deadline's heap entry becomes the idle one when it is
                    // reached (or sooner, by `next_deadline`); the clock starts now.
                    c.timer = StreamTimer::new(&self.config.tcp_limits, now);
                    if c.tls.is_some() {
                        let at = now
                            .checked_add(self.config.tcp_limits.handshake_deadline)
                            .unwrap_or(now);
                        c.state = ConnState::Handshaking(at);
                        self.deadlines.push(Reverse((at, slot, c.generation)));
                    }
                    // Over TLS this writes the ClientHello; the messages wait for the
                    // handshake.
                    self.flush_conn(slot);
                }
                Ok(false) => return,
                Err(kind) => {
                    tracing::warn!(peer = %c.peer, error = ?kind, "TCP connect failed");
                    self.close(slot, Some(TransportFailure::Connect(kind)), true);
                    return;
                }
            }
        } else if writable {
            self.flush_conn(slot);
        }
        if readable {
            self.read_conn(slot, now);
        }
    }

    fn read_conn(&mut self, slot: usize, now: Instant) {
        let budget = self.config.read_budget;
        let Some(c) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let outcome = match c.state {
            ConnState::Connecting(_) => return,
            _ if c.tls.is_some() => match c.tls_read(&mut self.buf, budget) {
                TlsRead::Io(o) => o,
                TlsRead::Refused(failure) => {
                    let (peer, lost) = (c.peer, !c.queue.is_empty());
                    self.stats.tls_handshake_failures += u64::from(c.tls_handshaking());
                    if lost {
                        tracing::warn!(%peer, error = %failure, "TLS refused: closing the connection, nothing sent");
                    } else {
                        // An accepted connection whose client refused us: its business.
                        tracing::debug!(%peer, error = %failure, "TLS refused: closing the connection");
                    }
                    self.close(slot, Some(TransportFailure::Tls(failure)), lost);
                    return;
                }
            },
            _ => c.read(&mut self.buf, budget),
        };
        if let ConnState::Handshaking(_) = c.state
            && !c.tls_handshaking()
        {
            // The peer is checked: the messages waiting for it go now.
            c.state = ConnState::Open;
            c.timer = StreamTimer::new(&self.config.tcp_limits, now);
            self.stats.tls_handshakes += 1;
            tracing::debug!(peer = %c.peer, "TLS connection established");
        }
        if c.tls.is_some() {
            // Records the handshake (or rustls) wants to send, then what was queued.
            self.flush_conn(slot);
        }
        let Some(c) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        if c.ws.is_some() {
            return self.read_ws(slot, now, outcome);
        }
        // Frame everything read before handing it on: the endpoint's answers may close or
        // replace this connection.
        let mut frames = std::mem::take(&mut self.frames);
        let mut pongs = 0;
        let mut framing_lost = None;
        loop {
            let (seen, next) = c.next_frame();
            pongs += seen.pings;
            match next {
                None => break,
                Some(Ok(bytes)) => frames.push(bytes),
                Some(Err(e)) => {
                    framing_lost = Some((c.take_rejected().unwrap_or_default(), e));
                    break;
                }
            }
        }
        let (peer, local, transport) = (c.peer, c.local.unwrap_or(c.peer), c.transport);
        let progress = ReadProgress {
            messages: frames.len() as u64,
            keepalives: pongs,
            in_progress: c.reader.message_in_progress(),
        };
        c.timer.on_read(now, progress);
        self.stats.keepalives_in += pongs;
        for _ in 0..pongs {
            let Some(c) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
                break;
            };
            match c.enqueue(
                Bytes::from_static(PONG),
                &self.config.tcp_limits,
                self.output_total,
            ) {
                Ok(cost) => {
                    let on_conn = c.queued_bytes;
                    self.charge(cost, on_conn);
                    self.stats.pongs_sent += 1;
                }
                Err(reason) => {
                    // Pings from a peer that does not read: it goes.
                    frames.clear();
                    self.frames = frames;
                    self.close_for(slot, reason);
                    return;
                }
            }
        }
        if pongs > 0 {
            self.flush_conn(slot);
        }
        for bytes in frames.drain(..) {
            self.stats.stream_messages_in += 1;
            self.endpoint.handle_input(
                now,
                Input::Receive {
                    transport,
                    from: peer,
                    to: local,
                    bytes,
                },
            );
            self.drain(now);
        }
        self.frames = frames;
        if let Some((bytes, error)) = framing_lost {
            // The endpoint answers the message that broke the framing if it can (§18.3),
            // and the answer is flushed before the connection closes.
            self.endpoint.handle_input(
                now,
                Input::Unframed {
                    transport,
                    from: peer,
                    to: local,
                    bytes,
                    error,
                },
            );
            self.drain(now);
            self.stats.framing_errors += 1;
            tracing::warn!(%peer, "TCP stream lost framing: closing the connection");
            self.close_if(slot, peer, Some(TransportFailure::Framing), false);
            return;
        }
        match outcome {
            ReadOutcome::Drained => {}
            ReadOutcome::Budget => self.push_backlog(Slot::Conn(slot)),
            ReadOutcome::Closed => {
                let lost = self
                    .conns
                    .get(slot)
                    .and_then(Option::as_ref)
                    .is_some_and(|c| !c.queue.is_empty());
                tracing::debug!(%peer, "TCP connection closed by the peer");
                let failure = lost.then_some(TransportFailure::ClosedWithQueuedData);
                self.close_if(slot, peer, failure, lost);
            }
            ReadOutcome::Failed(kind) => {
                tracing::debug!(%peer, error = ?kind, "TCP read failed");
                let lost = self
                    .conns
                    .get(slot)
                    .and_then(Option::as_ref)
                    .is_some_and(|c| !c.queue.is_empty());
                self.close_if(slot, peer, Some(TransportFailure::Read(kind)), lost);
            }
        }
    }

    /// After a read of a WebSocket connection: writes what the codec produced (the
    /// handshake's answer, pongs, a Close), hands each message to the endpoint, and
    /// closes the connection when the codec says so (RFC 6455 §7, RFC 7118 §5).
    fn read_ws(&mut self, slot: usize, now: Instant, outcome: ReadOutcome) {
        let Some(c) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let Some(w) = c.ws.as_mut() else { return };
        let out = std::mem::take(&mut w.out);
        let in_progress = w.side.in_progress();
        let (peer, local, transport) = (c.peer, c.local.unwrap_or(c.peer), c.transport);
        c.timer.on_read(
            now,
            ReadProgress {
                messages: out.messages.len() as u64,
                keepalives: out.keepalives,
                in_progress,
            },
        );
        self.stats.keepalives_in += out.keepalives;
        for bytes in out.transmits {
            let Some(c) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
                return;
            };
            match c.enqueue(bytes, &self.config.tcp_limits, self.output_total) {
                Ok(cost) => {
                    let on_conn = c.queued_bytes;
                    self.charge(cost, on_conn);
                }
                Err(reason) => return self.close_for(slot, reason),
            }
        }
        self.flush_conn(slot);
        for bytes in out.messages {
            self.stats.stream_messages_in += 1;
            self.endpoint.handle_input(
                now,
                Input::Receive {
                    transport,
                    from: peer,
                    to: local,
                    bytes,
                },
            );
            self.drain(now);
        }
        if let Some(why) = out.close {
            tracing::debug!(%peer, ?why, "WebSocket connection closing");
            if why != crate::ws::WsClose::Closed {
                self.stats.framing_errors += 1;
            }
            self.close_if(slot, peer, None, false);
            return;
        }
        match outcome {
            ReadOutcome::Drained => {}
            ReadOutcome::Budget => self.push_backlog(Slot::Conn(slot)),
            ReadOutcome::Closed => {
                tracing::debug!(%peer, "WebSocket connection closed by the peer");
                self.close_if(slot, peer, None, false);
            }
            ReadOutcome::Failed(kind) => {
                self.close_if(slot, peer, Some(TransportFailure::Read(kind)), false);
            }
        }
    }

    /// Closes `slot` if it still holds the connection to `peer` (handing frames to the
    /// endpoint may have closed it already).
    fn close_if(
        &mut self,
        slot: usize,
        peer: SocketAddr,
        failure: Option<TransportFailure>,
        lost: bool,
    ) {
        if self
            .conns
            .get(slot)
            .and_then(Option::as_ref)
            .is_some_and(|c| c.peer == peer)
        {
            self.close(slot, failure, lost);
        }
    }

    fn count_refusal(&mut self, refusal: Refusal) {
        match refusal {
            Refusal::ConnectionLimit => self.stats.connections_refused += 1,
            Refusal::SourceLimit => self.stats.source_limit_refused += 1,
        }
    }

    /// Adds a queued message's cost to the output total (`on_conn`: what its connection
    /// holds now).
    fn charge(&mut self, cost: usize, on_conn: usize) {
        let on_conn = u64::try_from(on_conn).unwrap_or(u64::MAX);
        self.stats.peak_connection_output = self.stats.peak_connection_output.max(on_conn);
        self.output_total = self.output_total.saturating_add(cost);
        let total = u64::try_from(self.output_total).unwrap_or(u64::MAX);
        self.stats.peak_output_queued = self.stats.peak_output_queued.max(total);
    }

    /// Closes a connection for a reason of the core's policy, counting it. Lost messages
    /// are reported to the endpoint; an output cap always loses the message refused.
    fn close_for(&mut self, slot: usize, reason: CloseReason) {
        let Some(c) = self.conns.get(slot).and_then(Option::as_ref) else {
            return;
        };
        let lost = !c.queue.is_empty();
        tracing::debug!(peer = %c.peer, %reason, "TCP connection closed");
        match reason {
            CloseReason::Idle => {
                self.stats.idle_closed += 1;
                let failure = lost.then_some(TransportFailure::ClosedWithQueuedData);
                self.close(slot, failure, lost);
            }
            CloseReason::MessageDeadline => {
                self.stats.message_deadline_closed += 1;
                self.close(slot, Some(TransportFailure::Limit(reason)), lost);
            }
            CloseReason::OutputCap | CloseReason::OutputBudget => {
                if reason == CloseReason::OutputCap {
                    self.stats.output_cap_closed += 1;
                } else {
                    self.stats.output_budget_closed += 1;
                }
                self.close(slot, Some(TransportFailure::Limit(reason)), true);
            }
        }
    }

    /// Closes a connection: out of the poll, the table and its slot. A failure is reported
    /// as an event; `lost` (messages not delivered) tells the endpoint too (§18.4).
    fn close(&mut self, slot: usize, failure: Option<TransportFailure>, lost: bool) {
        let Some(mut c) = self.conns.get_mut(slot).and_then(Option::take) else {
            return;
        };
        if let Err(e) = self.registry.deregister(&mut c.stream) {
            tracing::debug!(peer = %c.peer, error = %e, "deregister failed");
        }
        self.free.push(slot);
        self.live_conns = self.live_conns.saturating_sub(1);
        self.output_total = self.output_total.saturating_sub(c.queued_bytes);
        self.admission.release(c.permit);
        self.backlog.retain(|s| *s != Slot::Conn(slot));
        if self.conn_keys.get(&(c.transport, c.peer)) == Some(&slot) {
            self.conn_keys.remove(&(c.transport, c.peer));
        }
        self.stats.connections_closed += 1;
        // Entries of closed connections leave the heap when they reach its top; under
        // heavy churn, drop them all at once so the heap stays near the live count.
        if self.deadlines.len() > 2 * self.live_conns + 1024 {
            let conns = &self.conns;
            self.deadlines.retain(|Reverse((_, s, g))| {
                conns
                    .get(*s)
                    .and_then(Option::as_ref)
                    .is_some_and(|c| c.generation == *g)
            });
        }
        match failure {
            Some(f) => self.fail(c.transport, c.peer, f, lost),
            None if lost => self.pending_errors.push((c.transport, c.peer)),
            None => {}
        }
    }
}

/// Whether `slot` holds an established connection.
fn c_is_open(conns: &[Option<Conn>], slot: usize) -> bool {
    conns
        .get(slot)
        .and_then(Option::as_ref)
        .is_some_and(|c| c.state == ConnState::Open)
}
