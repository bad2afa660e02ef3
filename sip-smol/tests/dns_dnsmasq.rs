//! RFC 3263 through sip-smol's DNS client (`sip-dns` on an async-io socket) against a
//! real server: `dnsmasq`, started by each test on 127.0.0.1 at a free port with NAPTR,
//! SRV and A records for `example.test` (see `.ci/dnsmasq/launcher.rs`; its own process
//! group, stopped with SIGTERM and waited for when dropped, also when a test fails). The
//! caller reaches the `smol_uas` app through `sip:bob@example.test`, failing over from a
//! first SRV target that answers 503; a second call to the domain is served from the
//! core's cache. Skipped with a message when dnsmasq is missing; a failure under `CI=true`.

#[path = "../../.ci/dnsmasq/launcher.rs"]
mod launcher;

#[allow(dead_code)] // the example's API, not all of it used here
#[path = "../examples/smol_uas/smol_pbx.rs"]
mod app;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use app::{Uas, UasConfig};
use launcher::{Dnsmasq, dnsmasq_binary};
use sip_smol::UserAgent;

type Ex = Arc<smol::Executor<'static>>;

/// Runs a test on an executor of its own, failing it after 20 s.
fn run<F: Future>(f: impl FnOnce(Ex) -> F) -> F::Output {
    let ex: Ex = Arc::new(smol::Executor::new());
    let fut = f(ex.clone());
    smol::block_on(ex.run(futures_lite::future::or(fut, async {
        smol::Timer::after(Duration::from_secs(20)).await;
        panic!("test took too long")
    })))
}

/// A user agent that answers every call 503 without Retry-After (RFC 3263 §4.3: try the
/// next target), and the task counting its refusals.
async fn busy(ex: &Ex) -> (UserAgent, smol::Task<u32>) {
    let spawner = ex.clone();
    let ua = UserAgent::builder()
        .udp("127.0.0.1:0")
        .seed(21)
        .spawner(move |t| spawner.spawn(t).detach())
        .build()
        .await
        .unwrap();
    let mut incoming = ua.incoming();
    let task = ex.spawn(async move {
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

async fn caller(ex: &Ex, dns: SocketAddr) -> UserAgent {
    let spawner = ex.clone();
    UserAgent::builder()
        .udp("127.0.0.1:0")
        .dns_server(dns)
        .seed(11)
        .spawner(move |t| spawner.spawn(t).detach())
        .shutdown_grace(Duration::from_millis(50))
        .build()
        .await
        .unwrap()
}

async fn uas(ex: &Ex) -> Uas {
    Uas::start(UasConfig::new("127.0.0.1:0".parse().unwrap()), ex.clone())
        .await
        .unwrap()
}

/// NAPTR → SRV → A from a real server; the first SRV target answers 503, the call is
/// answered by `smol_uas`'s app at the second, and the caller sees one call.
#[test]
fn call_by_host_name_fails_over_from_503_to_the_uas() {
    let Some(bin) = dnsmasq_binary() else {
        return;
    };
    run(|ex| async move {
        let uas = uas(&ex).await;
        let (busy, rejected) = busy(&ex).await;
        let busy_addr = busy.local_addrs()[0].1;
        let dns = Dnsmasq::start(&bin, &zone(busy_addr, uas.local_addr()));
        let ua = caller(&ex, dns.addr).await;
        let call = ua.call("sip:bob@example.test").await.unwrap();
        assert_eq!(call.answered().await.unwrap().status(), 200);
        call.hangup().await.unwrap();
        let queries = dns.queries();
        for asked in [
            "query[NAPTR] example.test",
            "query[SRV] _sip._udp.example.test",
            "query[A] first.example.test",
            "query[A] second.example.test",
        ] {
            assert!(queries.iter().any(|q| q.contains(asked)), "{queries:?}");
        }
        ua.shutdown().await;
        busy.shutdown().await;
        assert_eq!(rejected.await, 1);
        let report = uas.shutdown().await;
        assert_eq!((report.calls_received, report.calls_answered), (1, 1));
    });
}

/// The core's cache: a second call to the same domain within the TTLs asks the server
/// nothing (counted in the server's own query log).
#[test]
fn second_call_to_the_same_domain_sends_no_dns_query() {
    let Some(bin) = dnsmasq_binary() else {
        return;
    };
    run(|ex| async move {
        let uas = uas(&ex).await;
        let dns = Dnsmasq::start(&bin, &zone(uas.local_addr(), uas.local_addr()));
        let ua = caller(&ex, dns.addr).await;
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
    });
}
