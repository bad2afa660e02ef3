//! SIP over TLS between two user agents on loopback (RFC 3261 §26.2, RFC 5922), with
//! certificates made at test time: requests and calls to `sips:` URIs, the server's
//! identity checked against the URI's domain or IP literal, and the three ways a
//! certificate is refused (wrong name, expired, untrusted CA) each failing the request or
//! call at once with a typed error, with nothing sent in clear.

#[path = "../../.ci/tls/pki.rs"]
mod pki;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pki::{Kind, Pki};
use sip_tokio::{
    Error, Method, Target, TlsConfig, TlsFailure, TlsServerName, Transport, TrustAnchors, UserAgent,
};
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Every test ends well within this, or fails.
async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("the test ran past its bound")
}

/// A client trusting only the test CA (no listener of its own).
async fn client(pki: &Pki) -> UserAgent {
    UserAgent::builder()
        .udp("127.0.0.1:0")
        .tls_config(TlsConfig::client(TrustAnchors::PemFile(pki.ca.clone())).unwrap())
        .seed(1)
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
        .build()
        .await
        .unwrap();
    let addr = ua.local_addr(Transport::Tls).unwrap();
    (ua, addr)
}

#[tokio::test]
async fn options_and_a_call_over_tls_to_an_ip_literal_and_to_a_domain() {
    let pki = Pki::new("tokio-ok");
    let leaf = pki.leaf("server", &["sip.test", "127.0.0.1"], Kind::Good);
    bounded(async {
        let (bob, addr) = server(&pki, &leaf).await;
        let alice = client(&pki).await;
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

        // A host name with an explicit target, from a client with no connection yet: the
        // new connection is checked against the DNS subjectAltName.
        let carol = client(&pki).await;
        let mut incoming = bob.incoming();
        let answer = tokio::spawn(async move {
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
        assert_eq!(answer.await.unwrap(), sip_tokio::EndReason::RemoteBye);
        let s = bob.stats().await.unwrap().transport;
        assert_eq!(s.framing_errors, 0);
        assert_eq!(s.tls_handshakes, 2, "{s:?}");
        let s = carol.stats().await.unwrap().transport;
        assert_eq!((s.tls_handshakes, s.connections_opened), (1, 1));
        carol.shutdown().await;
        alice.shutdown().await;
        bob.shutdown().await;
    })
    .await;
}

/// A TLS server of the test's own that records every byte it receives on the wire and
/// whether any handshake completed.
struct Witness {
    addr: SocketAddr,
    raw: Arc<Mutex<Vec<u8>>>,
    completed: Arc<Mutex<u32>>,
}

impl Witness {
    async fn start(leaf: &pki::Leaf) -> Witness {
        let tls = TlsConfig::client(TrustAnchors::PemFile(leaf.cert.clone()))
            .unwrap()
            .with_server_pem(&leaf.cert, &leaf.key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(tls.server.unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let raw = Arc::new(Mutex::new(Vec::new()));
        let completed = Arc::new(Mutex::new(0));
        let (r, c) = (raw.clone(), completed.clone());
        tokio::spawn(async move {
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
    inner: TcpStream,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl AsyncRead for Tap {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        let new = buf.filled()[before..].to_vec();
        self.seen.lock().unwrap().extend_from_slice(&new);
        r
    }
}

impl tokio::io::AsyncWrite for Tap {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Sends an OPTIONS to `witness` (under `name` when given) and returns the error.
async fn options_error(alice: &UserAgent, witness: &Witness, name: Option<&str>) -> Error {
    let mut target = Target::new(Transport::Tls, witness.addr);
    if let Some(n) = name {
        target = target.with_server_name(TlsServerName::new(n).unwrap());
    }
    let host = name.map_or_else(|| witness.addr.ip().to_string(), str::to_owned);
    let started = tokio::time::Instant::now();
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

#[tokio::test]
async fn a_certificate_for_another_name_fails_with_name_mismatch() {
    let pki = Pki::new("tokio-name");
    let leaf = pki.leaf("other", &["other.test"], Kind::Good);
    bounded(async {
        let witness = Witness::start(&leaf).await;
        let alice = client(&pki).await;
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
    })
    .await;
}

#[tokio::test]
async fn an_expired_certificate_fails_with_expired() {
    let pki = Pki::new("tokio-expired");
    let leaf = pki.leaf("expired", &["sip.test"], Kind::Expired);
    bounded(async {
        let witness = Witness::start(&leaf).await;
        let alice = client(&pki).await;
        let e = options_error(&alice, &witness, Some("sip.test")).await;
        assert!(matches!(e, Error::Tls(TlsFailure::Expired)), "{e:?}");
        assert_eq!(e.to_string(), "TLS: the server certificate has expired");
        witness.saw_nothing_in_clear();
    })
    .await;
}

#[tokio::test]
async fn a_certificate_from_an_untrusted_ca_fails_the_request_and_the_call() {
    let pki = Pki::new("tokio-untrusted");
    let leaf = pki.leaf("rogue", &["sip.test", "127.0.0.1"], Kind::Untrusted);
    bounded(async {
        let witness = Witness::start(&leaf).await;
        let alice = client(&pki).await;
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
    })
    .await;
}

#[tokio::test]
async fn a_peer_that_never_completes_the_handshake_is_closed_at_the_deadline() {
    let pki = Pki::new("tokio-deadline");
    let leaf = pki.leaf("server", &["127.0.0.1"], Kind::Good);
    let tls = TlsConfig::client(TrustAnchors::PemFile(pki.ca.clone()))
        .unwrap()
        .with_server_pem(&leaf.cert, &leaf.key)
        .unwrap();
    let mut config = sip_tokio::transport::TransportConfig {
        tls: vec!["127.0.0.1:0".parse().unwrap()],
        tls_config: Some(tls),
        ..Default::default()
    };
    config.tcp_limits.handshake_deadline = Duration::from_millis(300);
    bounded(async {
        let (t, _inputs) = sip_tokio::transport::Transports::bind(config)
            .await
            .unwrap();
        let addr = t.local_addrs()[0].1;
        // Connects and sends nothing: the server closes it once the deadline passes.
        let mut idle = TcpStream::connect(addr).await.unwrap();
        let mut buf = [0u8; 16];
        let n = idle.read(&mut buf).await.unwrap_or(0);
        assert_eq!(n, 0, "closed without a word");
        let s = t.stats();
        assert_eq!(s.tls_handshake_timeouts, 1);
        assert_eq!(t.connection_count(), 0);
        t.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn the_per_source_limit_applies_to_tls_connections() {
    let pki = Pki::new("tokio-limit");
    let leaf = pki.leaf("server", &["127.0.0.1"], Kind::Good);
    let mut config = sip_tokio::transport::TransportConfig {
        tls: vec!["127.0.0.1:0".parse().unwrap()],
        tls_config: Some(TlsConfig::server(&leaf.cert, &leaf.key).unwrap()),
        ..Default::default()
    };
    config.tcp_limits.max_connections_per_source = 1;
    bounded(async {
        let (t, _inputs) = sip_tokio::transport::Transports::bind(config)
            .await
            .unwrap();
        let addr = t.local_addrs()[0].1;
        let _first = TcpStream::connect(addr).await.unwrap();
        // The second from the same address is closed at once, before any handshake.
        let mut second = TcpStream::connect(addr).await.unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(second.read(&mut buf).await.unwrap_or(0), 0);
        let s = t.stats();
        assert_eq!(s.source_limit_refused, 1);
        assert_eq!(t.connection_count(), 1);
        t.shutdown().await;
    })
    .await;
}
