//! The driver task: it runs one [`Router`] (sip-ua's event routing over one
//! [`Endpoint`]) on tokio — waits for what the transports received, the API's commands,
//! DNS answers and the router's next wake-up, and hands each over. The sockets and the
//! DNS lookups are the router's [`Io`]; every SIP rule is the core's, every routing
//! decision the router's.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sip_core::endpoint::{Endpoint, Input, Transmit};
use sip_core::resolver::{DnsAnswer, DnsQuery, DnsQueryId};
use sip_tls::TlsFailure;
use sip_ua::RouterLink;
use sip_ua::runtime::{Io, Router, RouterConfig};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::shard::Registry;
use crate::transport::Transports;

pub(crate) use sip_ua::runtime::Tap;

/// Inputs (or commands) handled in one go before the outputs are drained.
const INPUT_BATCH: usize = 32;

/// Settings of a driver task.
#[derive(Clone)]
pub(crate) struct DriverConfig {
    pub shard: usize,
    pub shutdown_timeout: Duration,
    pub shutdown_grace: Duration,
    pub tap: Option<Tap>,
    pub registry: Option<Arc<Registry>>,
    /// Where the core's DNS queries (RFC 3263) are looked up.
    pub dns: crate::dns::DnsServer,
}

/// What the router needs of tokio: the transports, the DNS lookups, and the shard
/// registry that routes the answers to a Call-ID of this shard back to it.
struct TokioIo {
    transports: Arc<Transports>,
    dns: crate::dns::Lookups,
    registry: Option<Arc<Registry>>,
    shard: usize,
}

impl Io for TokioIo {
    fn send(&mut self, transmit: Transmit) {
        self.transports.send(transmit);
    }

    fn tls_failure(&self, peer: SocketAddr) -> Option<TlsFailure> {
        self.transports.tls_failure(peer)
    }

    fn dns_query(
        &mut self,
        _now: std::time::Instant,
        q: DnsQuery,
    ) -> Option<(DnsQueryId, DnsAnswer)> {
        self.dns.spawn(q);
        None
    }

    fn tracks_call_ids(&self) -> bool {
        self.registry.is_some()
    }

    fn call_id_opened(&mut self, call_id: &str) {
        if let Some(reg) = &self.registry {
            reg.insert(call_id, self.shard);
        }
    }

    fn call_id_closed(&mut self, call_id: &str) {
        if let Some(reg) = &self.registry {
            reg.remove(call_id);
        }
    }
}

/// The task that owns one endpoint.
pub(crate) struct Driver {
    router: Router<TokioIo>,
    input_rx: mpsc::Receiver<Input>,
    dns_answers: crate::dns::Answers,
    shard: usize,
}

/// The driver's clock: tokio's, so paused-time tests move it too.
fn now() -> std::time::Instant {
    Instant::now().into_std()
}

impl Driver {
    pub(crate) fn new(
        ep: Endpoint,
        transports: Arc<Transports>,
        input_rx: mpsc::Receiver<Input>,
        cfg: DriverConfig,
    ) -> (Driver, RouterLink) {
        let (dns, dns_answers) = crate::dns::Lookups::new(cfg.dns);
        let io = TokioIo {
            transports,
            dns,
            registry: cfg.registry,
            shard: cfg.shard,
        };
        let rcfg = RouterConfig {
            shutdown_timeout: cfg.shutdown_timeout,
            shutdown_grace: cfg.shutdown_grace,
            tap: cfg.tap,
        };
        let (router, link) = Router::new(ep, io, rcfg);
        let driver = Driver {
            router,
            input_rx,
            dns_answers,
            shard: cfg.shard,
        };
        (driver, link)
    }

    /// Runs until shut down (by the API, or when every handle is gone).
    pub(crate) async fn run(mut self) {
        let sleep = tokio::time::sleep_until(Instant::now());
        tokio::pin!(sleep);
        let mut armed: Option<Instant> = None;
        let mut cmd_open = true;
        let mut input_open = true;
        loop {
            tokio::select! {
                input = self.input_rx.recv(), if input_open => match input {
                    Some(input) => {
                        let now = now();
                        self.router.input(now, input);
                        for _ in 1..INPUT_BATCH {
                            match self.input_rx.try_recv() {
                                Ok(input) => self.router.input(now, input),
                                Err(_) => break,
                            }
                        }
                    }
                    None => {
                        // The transports are gone: nothing can be sent or received.
                        input_open = false;
                        self.router.close(now());
                    }
                },
                cmd = self.router.next_command(), if cmd_open => match cmd {
                    Some(cmd) => {
                        let now = now();
                        self.router.command(now, cmd);
                        for _ in 1..INPUT_BATCH {
                            match self.router.try_command() {
                                Some(cmd) => self.router.command(now, cmd),
                                None => break,
                            }
                        }
                    }
                    None => {
                        cmd_open = false;
                        self.router.close(now());
                    }
                },
                Some((id, answer)) = self.dns_answers.recv() => {
                    self.router.dns_answer(now(), id, answer);
                }
                () = &mut sleep, if armed.is_some() => {
                    armed = None;
                    self.router.timeout(now());
                }
            }
            let now = now();
            self.router.drain(now);
            if self.router.finished(now) {
                break;
            }
            let next = self.router.next_wake().map(Instant::from_std);
            if next != armed {
                if let Some(at) = next {
                    sleep.as_mut().reset(at);
                }
                armed = next;
            }
        }
        tracing::debug!(shard = self.shard, "driver task ends");
        self.router.end();
    }
}
