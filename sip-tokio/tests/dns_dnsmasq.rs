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

use std::net::SocketAddr;
use std::time::Duration;

use app::{Uas, UasConfig};
use launcher::{Dnsmasq, dnsmasq_binary};
use sip_tokio::UserAgent;

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
