//! The handles' answer shortcuts over real sockets: `ring_and_accept` (RFC 3261 §13.3.1).

use std::future::Future;
use std::time::Duration;

use sip_smol::{Body, DialogState, EndReason, Error, Transport, UserAgent};

async fn ua(seed: u64) -> UserAgent {
    UserAgent::builder()
        .udp("127.0.0.1:0")
        .seed(seed)
        .spawner(|t| smol::spawn(t).detach())
        .shutdown_grace(Duration::from_millis(50))
        .build()
        .await
        .unwrap()
}

fn uri(ua: &UserAgent) -> String {
    format!("sip:bob@{}", ua.local_addr(Transport::Udp).unwrap())
}

/// 180 and 200 handed over together reach the caller in that order, and the call is
/// confirmed (RFC 3261 §13.3.1).
#[test]
fn ring_and_accept_sends_180_then_200() {
    within(Duration::from_secs(20), async {
        let (alice, bob) = (ua(21).await, ua(22).await);
        let mut incoming = bob.incoming();
        let bob_side = smol::spawn(async move {
            let inc = incoming.next().await.unwrap();
            let call = inc
                .ring_and_accept(Some(Body::sdp("answer")))
                .await
                .unwrap();
            call.ended().await
        });
        let mut call = alice.call(&uri(&bob)).sdp("offer").await.unwrap();
        let mut statuses = Vec::new();
        while let Some(p) = call.progress().await {
            statuses.push(p.status());
        }
        assert_eq!(statuses, vec![180]);
        let ok = call.answered().await.unwrap();
        assert_eq!(ok.status(), 200);
        assert_eq!(&ok.body()[..], b"answer");
        assert_eq!(call.state(), DialogState::Confirmed);
        call.hangup().await.unwrap();
        assert_eq!(bob_side.await, EndReason::RemoteBye);
        alice.shutdown().await;
        bob.shutdown().await;
    });
}

/// A call the caller cancelled first cannot be answered: the error says it had ended.
#[test]
fn ring_and_accept_after_cancel_fails_as_ended() {
    within(Duration::from_secs(20), async {
        let (alice, bob) = (ua(23).await, ua(24).await);
        let mut incoming = bob.incoming();
        let call = alice.call(&uri(&bob)).await.unwrap();
        let inc = incoming.next().await.unwrap();
        // The stack's 100 Trying (after 200 ms) lets the caller send its CANCEL (§9.1).
        call.cancel().await.unwrap();
        assert_eq!(inc.cancelled().await, EndReason::Cancelled);
        let r = inc.ring_and_accept(None).await;
        assert!(
            matches!(r, Err(Error::CallEnded(EndReason::Cancelled))),
            "{r:?}"
        );
        assert_eq!(call.ended().await, EndReason::Cancelled);
        alice.shutdown().await;
        bob.shutdown().await;
    });
}

/// Runs `fut` on smol's executor, failing the test if it takes longer than `limit`.
fn within<T>(limit: Duration, fut: impl Future<Output = T>) -> T {
    smol::block_on(futures_lite::future::or(fut, async {
        async_io::Timer::after(limit).await;
        panic!("test timed out after {limit:?}")
    }))
}
