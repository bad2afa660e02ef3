//! sip-smol under async-std's executor, for the users of that discontinued runtime
//! (RUSTSEC-2025-0052): async-std runs on the same async-io reactor, so the driver needs
//! nothing of its own there. Loopback only, bounded in time.

use std::time::Duration;

use sip_smol::{Body, EndReason, Method, Transport, UserAgent};

/// Starts a user agent whose tasks run on async-std's executor.
async fn ua(seed: u64) -> UserAgent {
    UserAgent::builder()
        .udp("127.0.0.1:0")
        .tcp("127.0.0.1:0")
        .seed(seed)
        .spawner(|task| {
            async_std::task::spawn(task);
        })
        .shutdown_grace(Duration::from_millis(50))
        .build()
        .await
        .unwrap()
}

/// A call over UDP and one over TCP, each rung, answered and hung up (RFC 3261 §13, §15),
/// and an OPTIONS the core answers (§11.2), all on async-std's executor.
#[test]
fn calls_and_requests_run_under_async_std() {
    async_std::task::block_on(async {
        let run = async {
            let (alice, bob) = (ua(1).await, ua(2).await);
            let mut incoming = bob.incoming();
            let bob_side = async_std::task::spawn(async move {
                let mut ends = Vec::new();
                for _ in 0..2 {
                    let inc = incoming.next().await.unwrap();
                    inc.ringing().await.unwrap();
                    let call = inc.accept(Some(Body::sdp("answer"))).await.unwrap();
                    ends.push(call.ended().await);
                }
                ends
            });
            for t in [Transport::Udp, Transport::Tcp] {
                let addr = bob.local_addr(t).unwrap();
                let uri = match t {
                    Transport::Tcp => format!("sip:bob@{addr};transport=tcp"),
                    _ => format!("sip:bob@{addr}"),
                };
                let mut call = alice.call(&uri).sdp("offer").await.unwrap();
                assert_eq!(call.progress().await.map(|r| r.status()), Some(180));
                let ok = call.answered().await.unwrap();
                assert_eq!(&ok.body()[..], b"answer");
                call.hangup().await.unwrap();
                assert_eq!(call.ended().await, EndReason::LocalBye);
            }
            assert_eq!(bob_side.await, vec![EndReason::RemoteBye; 2]);
            let options = format!("sip:bob@{}", bob.local_addr(Transport::Udp).unwrap());
            let r = alice.request(Method::Options, &options).await.unwrap();
            assert_eq!(r.status(), 200);
            let s = alice.stats().await.unwrap();
            assert_eq!((s.calls.placed, s.calls.answered), (2, 2));
            assert_eq!(s.transport.connections_opened, 1);
            alice.shutdown().await;
            bob.shutdown().await;
        };
        async_std::future::timeout(Duration::from_secs(20), run)
            .await
            .expect("test took longer than 20 s");
    });
}
