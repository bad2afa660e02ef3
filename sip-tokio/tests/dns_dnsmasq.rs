//! RFC 3263 against a real DNS server: `dnsmasq`, started by each test on 127.0.0.1 at a
//! free port with NAPTR, SRV and A records for `example.test`, serves the lookups the
//! core asks for; the user agent reaches the `uas` example's app through
//! `sip:bob@example.test`, failing over from a first SRV target that answers 503. The
//! dnsmasq process runs in a process group of its own and is stopped (SIGTERM, waited
//! for) when dropped, also when a test fails. Skipped with a message when dnsmasq is
//! missing; a failure under `CI=true`.

#[path = "../../.ci/dnsmasq/launcher.rs"]
mod launcher;

#[allow(dead_code)] // the example's API, not all of it used here
#[path = "../examples/uas/tokio_pbx.rs"]
mod app;

#[path = "../../.ci/tls/pki.rs"]
mod pki;

use std::net::SocketAddr;
use std::time::Duration;

use app::{Uas, UasConfig};
use launcher::{Dnsmasq, dnsmasq_binary};
use pki::{Kind, Pki};
use sip_core::transport::Transport;
use sip_tokio::{TlsConfig, TrustAnchors, UserAgent};

const LIMIT: Duration = Duration::from_secs(20);

/// A user agent that answers every call 503 without Retry-After (RFC 3263 §4.3: try the
/// next target).
async fn busy() -> (UserAgent, tokio::task::JoinHandle<u32>) {
    let ua = UserAgent::builder()
        .udp("127.0.0.1:0")
        .seed(21)
        .build()
        .await
        .unwrap();
    let mut incoming = ua.incoming();
    let task = tokio::spawn(async move {
        let mut rejected = 0;
        while let Some(call) = incoming.next().await {
            if call.reject(503).await.is_ok() {
                rejected += 1;
            }
        }
        rejected
    });
    (ua, task)
}

/// The zone: NAPTR `SIP+D2U` → `_sip._udp` SRV with `first` (priority 10) and `second`
/// (priority 20), both on 127.0.0.1.
fn zone(first: SocketAddr, second: SocketAddr) -> Vec<String> {
    vec![
        "--naptr-record=example.test,10,10,S,SIP+D2U,,_sip._udp.example.test".into(),
        format!(
            "--srv-host=_sip._udp.example.test,first.example.test,{},10,0",
            first.port()
        ),
        format!(
            "--srv-host=_sip._udp.example.test,second.example.test,{},20,0",
            second.port()
        ),
        "--host-record=first.example.test,127.0.0.1".into(),
        "--host-record=second.example.test,127.0.0.1".into(),
    ]
}

async fn caller(dns: SocketAddr) -> UserAgent {
    UserAgent::builder()
        .udp("127.0.0.1:0")
        .dns_server(dns)
        .seed(11)
        .build()
        .await
        .unwrap()
}

/// NAPTR → SRV → A from a real server; the first SRV target answers 503, the call is
/// answered by the `uas` at the second.
#[tokio::test]
async fn call_by_host_name_fails_over_from_503_to_the_uas() {
    let Some(bin) = dnsmasq_binary() else {
        return;
    };
    let run = async {
        let uas = Uas::start(UasConfig::new("127.0.0.1:0".parse().unwrap()))
            .await
            .unwrap();
        let (busy, rejected) = busy().await;
        let busy_addr = busy.local_addrs()[0].1;
        let dns = Dnsmasq::start(&bin, &zone(busy_addr, uas.local_addr()));
        let ua = caller(dns.addr).await;
        let call = ua.call("sip:bob@example.test").await.unwrap();
        assert_eq!(call.answered().await.unwrap().status(), 200);
        call.hangup().await.unwrap();
        let queries = dns.queries();
        assert!(
            queries
                .iter()
                .any(|q| q.contains("query[NAPTR] example.test")),
            "{queries:?}"
        );
        assert!(
            queries
                .iter()
                .any(|q| q.contains("query[SRV] _sip._udp.example.test")),
            "{queries:?}"
        );
        ua.shutdown().await;
        busy.shutdown().await;
        assert_eq!(rejected.await.unwrap(), 1);
        let report = uas.shutdown().await;
        assert_eq!((report.calls_received, report.calls_answered), (1, 1));
    };
    tokio::time::timeout(LIMIT, run).await.unwrap();
}

/// The core's cache: a second call to the same domain within the TTLs asks the server
/// nothing (counted in the server's own query log).
#[tokio::test]
async fn second_call_to_the_same_domain_sends_no_dns_query() {
    let Some(bin) = dnsmasq_binary() else {
        return;
    };
    let run = async {
        let uas = Uas::start(UasConfig::new("127.0.0.1:0".parse().unwrap()))
            .await
            .unwrap();
        let dns = Dnsmasq::start(&bin, &zone(uas.local_addr(), uas.local_addr()));
        let ua = caller(dns.addr).await;
        let call = ua.call("sip:bob@example.test").await.unwrap();
        assert_eq!(call.answered().await.unwrap().status(), 200);
        call.hangup().await.unwrap();
        let first = dns.queries().len();
        // NAPTR, SRV, and the A of each SRV target.
        assert_eq!(first, 4, "{:?}", dns.queries());
        let call = ua.call("sip:carol@example.test").await.unwrap();
        assert_eq!(call.answered().await.unwrap().status(), 200);
        call.hangup().await.unwrap();
        assert_eq!(dns.queries().len(), first, "{:?}", dns.queries());
        ua.shutdown().await;
        let report = uas.shutdown().await;
        assert_eq!(report.calls_answered, 2);
    };
    tokio::time::timeout(LIMIT, run).await.unwrap();
}

/// `sips:` through NAPTR `SIPS+D2T` and `_sips._tcp` SRV (RFC 3263 §4.1: a SIPS URI goes
/// over TLS only): the first target, a TLS server answering 503, is left for the second,
/// the `uas` over TLS. Both present a certificate for `example.test`, the domain resolved,
/// not for the SRV targets' names (RFC 5922 §4), and the caller trusts only the test CA.
#[tokio::test]
async fn sips_call_by_host_name_fails_over_from_503_over_tls() {
    let Some(bin) = dnsmasq_binary() else {
        return;
    };
    let pki = Pki::new("dns-sips");
    let leaf = pki.leaf("example", &["example.test"], Kind::Good);
    let server_tls = || {
        TlsConfig::client(TrustAnchors::PemFile(pki.ca.clone()))
            .unwrap()
            .with_server_pem(&leaf.cert, &leaf.key)
            .unwrap()
    };
    let run = async {
        let uas = Uas::start(UasConfig {
            transport: Transport::Tls,
            tls: Some(server_tls()),
            ..UasConfig::new("127.0.0.1:0".parse().unwrap())
        })
        .await
        .unwrap();
        let busy = UserAgent::builder()
            .tls("127.0.0.1:0")
            .tls_config(server_tls())
            .seed(22)
            .build()
            .await
            .unwrap();
        let busy_addr = busy.local_addr(Transport::Tls).unwrap();
        let mut incoming = busy.incoming();
        let rejected = tokio::spawn(async move {
            let mut n = 0;
            while let Some(call) = incoming.next().await {
                if call.reject(503).await.is_ok() {
                    n += 1;
                }
            }
            n
        });
        let zone = vec![
            "--naptr-record=example.test,10,10,S,SIPS+D2T,,_sips._tcp.example.test".into(),
            format!(
                "--srv-host=_sips._tcp.example.test,first.example.test,{},10,0",
                busy_addr.port()
            ),
            format!(
                "--srv-host=_sips._tcp.example.test,second.example.test,{},20,0",
                uas.local_addr().port()
            ),
            "--host-record=first.example.test,127.0.0.1".into(),
            "--host-record=second.example.test,127.0.0.1".into(),
        ];
        let dns = Dnsmasq::start(&bin, &zone);
        let ua = UserAgent::builder()
            .udp("127.0.0.1:0")
            .tls_config(TlsConfig::client(TrustAnchors::PemFile(pki.ca.clone())).unwrap())
            .dns_server(dns.addr)
            .seed(12)
            .build()
            .await
            .unwrap();
        let call = ua.call("sips:bob@example.test").await.unwrap();
        assert_eq!(call.answered().await.unwrap().status(), 200);
        call.hangup().await.unwrap();
        let queries = dns.queries();
        assert!(
            queries
                .iter()
                .any(|q| q.contains("query[SRV] _sips._tcp.example.test")),
            "{queries:?}"
        );
        assert!(
            !queries.iter().any(|q| q.contains("_sip._udp")),
            "a SIPS URI asks for TLS targets only: {queries:?}"
        );
        ua.shutdown().await;
        busy.shutdown().await;
        assert_eq!(rejected.await.unwrap(), 1);
        let report = uas.shutdown().await;
        assert_eq!((report.calls_received, report.calls_answered), (1, 1));
    };
    tokio::time::timeout(LIMIT, run).await.unwrap();
}
