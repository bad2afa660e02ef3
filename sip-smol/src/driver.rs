//! The driver task: it runs sip-ua's [`Router`] (the event routing over one
//! [`Endpoint`]) on async-io — waits for what the transports received, the API's
//! commands, the DNS client's socket and an [`async_io::Timer`] at the router's next
//! wake-up, and hands each over. The sockets and the DNS client are the router's [`Io`];
//! every SIP rule is the core's, every routing decision the router's.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_io::Timer;
use futures_lite::future;
use sip_core::endpoint::{Endpoint, Input, Transmit};
use sip_core::resolver::{DnsAnswer, DnsQuery, DnsQueryId};
use sip_tls::TlsFailure;
use sip_ua::RouterLink;
use sip_ua::chan::mpsc;
use sip_ua::runtime::{ApiCommand, Io, Router, RouterConfig};

use crate::transport::Transports;

pub(crate) use sip_ua::runtime::Tap;

/// Inputs (or commands) handled in one go before the outputs are drained.
const INPUT_BATCH: usize = 32;

/// Settings of a driver task.
#[derive(Clone)]
pub(crate) struct DriverConfig {
    pub shutdown_timeout: Duration,
    pub shutdown_grace: Duration,
    pub tap: Option<Tap>,
    /// The DNS server RFC 3263 lookups go to (none: every lookup fails).
    pub dns_server: Option<SocketAddr>,
    /// Seeds the DNS message ids.
    pub seed: u64,
}

/// What the router needs of async-io: the transports and the DNS client.
struct SmolIo {
    transports: Arc<Transports>,
    dns: crate::dns::Dns,
}

impl Io for SmolIo {
    fn send(&mut self, transmit: Transmit) {
        self.transports.send(transmit);
    }

    fn tls_failure(&self, peer: SocketAddr) -> Option<TlsFailure> {
        self.transports.tls_failure(peer)
    }

    /// Sent on the client's socket; one that cannot be sent is answered at once.
    fn dns_query(&mut self, now: Instant, q: DnsQuery) -> Option<(DnsQueryId, DnsAnswer)> {
        self.dns.send(q, now)
    }
}

/// The task that owns one endpoint.
pub(crate) struct Driver {
    router: Router<SmolIo>,
    input_rx: mpsc::Receiver<Input>,
}

/// What woke the driver task.
enum Wake {
    Input(Option<Input>),
    Command(Option<ApiCommand>),
    Timer,
    Dns,
}

impl Driver {
    pub(crate) fn new(
        ep: Endpoint,
        transports: Arc<Transports>,
        input_rx: mpsc::Receiver<Input>,
        cfg: DriverConfig,
    ) -> (Driver, RouterLink) {
        let io = SmolIo {
            transports,
            dns: crate::dns::Dns::new(cfg.dns_server, cfg.seed),
        };
        let rcfg = RouterConfig {
            shutdown_timeout: cfg.shutdown_timeout,
            shutdown_grace: cfg.shutdown_grace,
            tap: cfg.tap,
        };
        let (router, link) = Router::new(ep, io, rcfg);
        (Driver { router, input_rx }, link)
    }

    /// Runs until shut down (by the API, or when every handle is gone).
    pub(crate) async fn run(mut self) {
        let mut timer = Timer::never();
        let mut armed: Option<Instant> = None;
        let mut cmd_open = true;
        let mut input_open = true;
        loop {
            let wake = {
                let router = &self.router;
                let input = async {
                    if !input_open {
                        return future::pending().await;
                    }
                    Wake::Input(self.input_rx.recv().await)
                };
                let cmd = async {
                    if !cmd_open {
                        return future::pending().await;
                    }
                    Wake::Command(router.next_command().await)
                };
                let tick = async {
                    if armed.is_none() {
                        return future::pending().await;
                    }
                    (&mut timer).await;
                    Wake::Timer
                };
                let dns = async {
                    router.io().dns.readable().await;
                    Wake::Dns
                };
                // Commands first: what the application asked before a message arrived
                // (taking calls, answering) is done before that message is handled.
                future::or(cmd, future::or(input, future::or(tick, dns))).await
            };
            let now = Instant::now();
            match wake {
                Wake::Input(Some(input)) => {
                    self.router.input(now, input);
                    for _ in 1..INPUT_BATCH {
                        match self.input_rx.try_recv() {
                            Some(input) => self.router.input(now, input),
                            None => break,
                        }
                    }
                }
                Wake::Command(Some(cmd)) => {
                    self.router.command(now, cmd);
                    for _ in 1..INPUT_BATCH {
                        match self.router.try_command() {
                            Some(cmd) => self.router.command(now, cmd),
                            None => break,
                        }
                    }
                }
                // The transports are gone (nothing can be sent or received), or every
                // handle is.
                Wake::Input(None) => {
                    input_open = false;
                    self.router.close(now);
                }
                Wake::Command(None) => {
                    cmd_open = false;
                    self.router.close(now);
                }
                Wake::Timer => {
                    armed = None;
                    self.router.timeout(now);
                    for (id, answer) in self.router.io_mut().dns.handle_timeout(now) {
                        self.router.dns_answer(now, id, answer);
                    }
                }
                Wake::Dns => {
                    for (id, answer) in self.router.io_mut().dns.read() {
                        self.router.dns_answer(now, id, answer);
                    }
                }
            }
            let now = Instant::now();
            self.router.drain(now);
            if self.router.finished(now) {
                break;
            }
            let next = [
                self.router.next_wake(),
                self.router.io().dns.next_deadline(),
            ]
            .into_iter()
            .flatten()
            .min();
            if next != armed {
                if let Some(at) = next {
                    timer.set_at(at);
                }
                armed = next;
            }
        }
        tracing::debug!("driver task ends");
        self.router.end();
    }
}
