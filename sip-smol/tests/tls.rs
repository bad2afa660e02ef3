//! SIP over TLS between smol user agents on loopback (RFC 3261 §26.2, RFC 5922), through
//! futures-rustls, with certificates made at test time (`.ci/tls/pki.rs`): requests and
//! a call to `sips:` URIs, the server's identity checked against the URI's domain or IP
//! literal, and a refused certificate (wrong name, expired, untrusted CA) failing the
//! request or call at once with a typed error, with nothing sent in clear; the handshake
//! deadline and the per-source limit applied to TLS connections.

#[path = "../../.ci/tls/pki.rs"]
mod pki;

use std::future::Future;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_io::Async;
use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite};
use pki::{Kind, Pki};
use sip_smol::transport::TransportConfig;
use sip_smol::{
    EndReason, Error, Method, Target, TlsConfig, TlsFailure, TlsServerName, Transport,
    TrustAnchors, UserAgent,
};

/// Runs a test on smol's executor, failing it after 20 s.
fn run<F: Future>(f: F) -> F::Output {
    smol::block_on(futures_lite::future::or(f, async {
        smol::Timer::after(Duration::from_secs(20)).await;
        panic!("the test ran past its bound")
    }))
}

fn spawn(t: sip_smol::Task) {
    smol::spawn(t).detach();
}

/// A client trusting only the test CA (no listener of its own).
async fn client(pki: &Pki, seed: u64) -> UserAgent {
    UserAgent::builder()
        .udp("127.0.0.1:0")
        .tls_config(TlsConfig::client(TrustAnchors::PemFile(pki.ca.clone())).unwrap())
        .seed(seed)
        .spawner(spawn)
        .shutdown_grace(Duration::from_millis(50))
        .build()
        .await
        .unwrap()
}

/// A user agent serving TLS on loopback with the certificate `leaf`.
async fn server(pki: &Pki, leaf: &pki::Leaf) -> (UserAgent, SocketAddr) {
    let tls = TlsConfig::client(TrustAnchors::PemFile(pki.ca.clone()))
        .unwrap()
        .with_server_pem(&leaf.cert, &leaf.key)
        .unwrap();
    let ua = UserAgent::builder()
        .tls("127.0.0.1:0")
        .tls_config(tls)
        .seed(2)
        .spawner(spawn)
        .shutdown_grace(Duration::from_millis(50))
        .build()
        .await
        .unwrap();
    let addr = ua.local_addr(Transport::Tls).unwrap();
    (ua, addr)
}

#[test]
fn options_and_a_call_over_tls_to_an_ip_literal_and_to_a_domain() {
    let pki = Pki::new("smol-ok");
    let leaf = pki.leaf("server", &["sip.test", "127.0.0.1"], Kind::Good);
    run(async {
        let (bob, addr) = server(&pki, &leaf).await;
        let alice = client(&pki, 1).await;
        // sips: with an IP literal: checked against the IP subjectAltName.
        let uri = format!("sips:bob@{addr}");
        let r = alice.request(Method::Options, &uri).await.unwrap();
        assert_eq!(r.status(), 200);
        // Via SIP/2.0/TLS, on the one connection (reused by the second request).
        assert!(r.headers().get("Via").unwrap().starts_with("SIP/2.0/TLS "));
        let r = alice.request(Method::Options, &uri).await.unwrap();
        assert_eq!(r.status(), 200);
        let s = alice.stats().await.unwrap().transport;
        assert_eq!((s.tls_handshakes, s.connections_opened), (1, 1));

        // A host name with an explicit target carrying the server name (RFC 5922 §4):
        // the new connection is checked against the DNS subjectAltName.
        let carol = client(&pki, 3).await;
        let mut incoming = bob.incoming();
        let answer = smol::spawn(async move {
            let inc = incoming.next().await.unwrap();
            let call = inc.accept(None).await.unwrap();
            call.ended().await
        });
        let named = Target::new(Transport::Tls, addr)
            .with_server_name(TlsServerName::new("sip.test").unwrap());
        let call = carol
            .call(&format!("sips:bob@sip.test:{}", addr.port()))
            .target(named)
            .await
            .unwrap();
        call.answered().await.unwrap();
        // The BYE reuses the connection the INVITE opened (in-dialog, §18.1.1).
        call.hangup().await.unwrap();
        assert_eq!(answer.await, EndReason::RemoteBye);
        let s = bob.stats().await.unwrap().transport;
        assert_eq!(s.framing_errors, 0);
        assert_eq!(s.tls_handshakes, 2, "{s:?}");
        let s = carol.stats().await.unwrap().transport;
        assert_eq!((s.tls_handshakes, s.connections_opened), (1, 1));
        carol.shutdown().await;
        alice.shutdown().await;
        bob.shutdown().await;
    });
}

/// A TLS server of the test's own that records every byte it receives on the wire and
/// whether any handshake completed.
struct Witness {
    addr: SocketAddr,
    raw: Arc<Mutex<Vec<u8>>>,
    completed: Arc<Mutex<u32>>,
    _task: smol::Task<()>,
}

impl Witness {
    fn start(leaf: &pki::Leaf) -> Witness {
        let tls = TlsConfig::server(&leaf.cert, &leaf.key).unwrap();
        let acceptor = futures_rustls::TlsAcceptor::from(tls.server.unwrap());
        let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
        let addr = listener.get_ref().local_addr().unwrap();
        let raw = Arc::new(Mutex::new(Vec::new()));
        let completed = Arc::new(Mutex::new(0));
        let (r, c) = (raw.clone(), completed.clone());
        let task = smol::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let tap = Tap {
                    inner: stream,
                    seen: r.clone(),
                };
                if let Ok(mut s) = acceptor.accept(tap).await {
                    *c.lock().unwrap() += 1;
                    let mut buf = Vec::new();
                    let _ = s.read_to_end(&mut buf).await;
                }
            }
        });
        Witness {
            addr,
            raw,
            completed,
            _task: task,
        }
    }

    /// Checks that no SIP text crossed the wire and no handshake completed.
    fn saw_nothing_in_clear(&self) {
        let raw = self.raw.lock().unwrap();
        assert!(!raw.is_empty(), "the client did connect");
        let text = String::from_utf8_lossy(&raw);
        for word in ["OPTIONS", "INVITE", "SIP/2.0"] {
            assert!(!text.contains(word), "{word} sent in clear");
        }
        assert_eq!(*self.completed.lock().unwrap(), 0);
    }
}

/// A TCP stream that copies what it reads.
struct Tap {
    inner: Async<TcpStream>,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl AsyncRead for Tap {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(n)) = &r {
            let read = buf[..*n].to_vec();
            self.seen.lock().unwrap().extend_from_slice(&read);
        }
        r
    }
}

impl AsyncWrite for Tap {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

/// Sends an OPTIONS to `witness` (under `name` when given) and returns the error.
async fn options_error(alice: &UserAgent, witness: &Witness, name: Option<&str>) -> Error {
    let mut target = Target::new(Transport::Tls, witness.addr);
    if let Some(n) = name {
        target = target.with_server_name(TlsServerName::new(n).unwrap());
    }
    let host = name.map_or_else(|| witness.addr.ip().to_string(), str::to_owned);
    let started = Instant::now();
    let r = alice
        .request(
            Method::Options,
            &format!("sips:bob@{host}:{}", witness.addr.port()),
        )
        .target(target)
        .await;
    // A refused certificate fails at once, not at Timer F (32 s).
    assert!(started.elapsed() < Duration::from_secs(5));
    r.expect_err("the request must fail")
}

#[test]
fn a_certificate_for_another_name_fails_with_name_mismatch() {
    let pki = Pki::new("smol-name");
    let leaf = pki.leaf("other", &["other.test"], Kind::Good);
    run(async {
        let witness = Witness::start(&leaf);
        let alice = client(&pki, 1).await;
        let e = options_error(&alice, &witness, Some("sip.test")).await;
        assert!(
            matches!(&e, Error::Tls(TlsFailure::NameMismatch { expected }) if expected == "sip.test"),
            "{e:?}"
        );
        // The IP literal is not in the certificate either.
        let e = options_error(&alice, &witness, None).await;
        assert!(
            matches!(&e, Error::Tls(TlsFailure::NameMismatch { expected }) if expected == "127.0.0.1"),
            "{e:?}"
        );
        witness.saw_nothing_in_clear();
        let s = alice.stats().await.unwrap().transport;
        assert_eq!(s.tls_handshake_failures, 2);
        assert_eq!(s.stream_messages_out, 0);
        alice.shutdown().await;
    });
}

#[test]
fn an_expired_certificate_fails_with_expired() {
    let pki = Pki::new("smol-expired");
    let leaf = pki.leaf("expired", &["sip.test"], Kind::Expired);
    run(async {
        let witness = Witness::start(&leaf);
        let alice = client(&pki, 1).await;
        let e = options_error(&alice, &witness, Some("sip.test")).await;
        assert!(matches!(e, Error::Tls(TlsFailure::Expired)), "{e:?}");
        witness.saw_nothing_in_clear();
        alice.shutdown().await;
    });
}

#[test]
fn a_certificate_from_an_untrusted_ca_fails_the_request_and_the_call() {
    let pki = Pki::new("smol-untrusted");
    let leaf = pki.leaf("rogue", &["sip.test", "127.0.0.1"], Kind::Untrusted);
    run(async {
        let witness = Witness::start(&leaf);
        let alice = client(&pki, 1).await;
        let e = options_error(&alice, &witness, Some("sip.test")).await;
        assert!(
            matches!(e, Error::Tls(TlsFailure::UntrustedIssuer)),
            "{e:?}"
        );
        // A call to a sips: URI ends the same way, not with a timeout.
        let call = alice
            .call(&format!("sips:bob@{}", witness.addr))
            .await
            .unwrap();
        let r = call.answered().await;
        assert!(
            matches!(r, Err(Error::Tls(TlsFailure::UntrustedIssuer))),
            "{r:?}"
        );
        witness.saw_nothing_in_clear();
        alice.shutdown().await;
    });
}

/// A user agent with only a TLS listener and `limits` tuned by `tune`.
async fn tls_only(pki: &Pki, tune: impl FnOnce(&mut TransportConfig)) -> (UserAgent, SocketAddr) {
    let leaf = pki.leaf("server", &["127.0.0.1"], Kind::Good);
    let mut config = TransportConfig {
        tls_config: Some(TlsConfig::server(&leaf.cert, &leaf.key).unwrap()),
        ..Default::default()
    };
    tune(&mut config);
    let ua = UserAgent::builder()
        .tls("127.0.0.1:0")
        .transport_config(config)
        .spawner(spawn)
        .build()
        .await
        .unwrap();
    let addr = ua.local_addr(Transport::Tls).unwrap();
    (ua, addr)
}

#[test]
fn a_peer_that_never_completes_the_handshake_is_closed_at_the_deadline() {
    let pki = Pki::new("smol-deadline");
    run(async {
        let (ua, addr) = tls_only(&pki, |c| {
            c.tcp_limits.handshake_deadline = Duration::from_millis(300);
        })
        .await;
        // Connects and sends nothing: the server closes it once the deadline passes.
        let mut idle = Async::<TcpStream>::connect(addr).await.unwrap();
        let mut buf = [0u8; 16];
        let n = idle.read(&mut buf).await.unwrap_or(0);
        assert_eq!(n, 0, "closed without a word");
        // The socket closes when the timed-out handshake is dropped, just before the
        // connection task counts it: on a multi-threaded executor the counters may lag
        // the close by a moment, so wait for them (bounded).
        let give_up = Instant::now() + Duration::from_secs(2);
        let s = loop {
            let s = ua.stats().await.unwrap().transport;
            if s.connections_closed >= 1 || Instant::now() > give_up {
                break s;
            }
            async_io::Timer::after(Duration::from_millis(10)).await;
        };
        assert_eq!(s.tls_handshake_timeouts, 1);
        assert_eq!(s.connections_closed, 1);
        ua.shutdown().await;
    });
}

#[test]
fn the_per_source_limit_applies_to_tls_connections() {
    let pki = Pki::new("smol-limit");
    run(async {
        let (ua, addr) = tls_only(&pki, |c| c.tcp_limits.max_connections_per_source = 1).await;
        let _first = Async::<TcpStream>::connect(addr).await.unwrap();
        // The second from the same address is closed at once, before any handshake.
        let mut second = Async::<TcpStream>::connect(addr).await.unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(second.read(&mut buf).await.unwrap_or(0), 0);
        let s = ua.stats().await.unwrap().transport;
        assert_eq!(s.source_limit_refused, 1);
        ua.shutdown().await;
    });
}
