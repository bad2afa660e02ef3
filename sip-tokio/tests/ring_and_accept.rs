//! The handles' answer shortcuts over real sockets: `ring_and_accept` (RFC 3261 §13.3.1).

use std::time::Duration;

use sip_tokio::{Body, DialogState, EndReason, Error, Transport, UserAgent};

async fn ua(seed: u64) -> UserAgent {
    UserAgent::builder()
        .udp("127.0.0.1:0")
        .seed(seed)
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
#[tokio::test]
async fn ring_and_accept_sends_180_then_200() {
    tokio::time::timeout(Duration::from_secs(20), async {
        let (alice, bob) = (ua(21).await, ua(22).await);
        let mut incoming = bob.incoming();
        let bob_side = tokio::spawn(async move {
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
        assert_eq!(bob_side.await.unwrap(), EndReason::RemoteBye);
        alice.shutdown().await;
        bob.shutdown().await;
    })
    .await
    .unwrap();
}

/// A call the caller cancelled first cannot be answered: the error says it had ended.
#[tokio::test]
async fn ring_and_accept_after_cancel_fails_as_ended() {
    tokio::time::timeout(Duration::from_secs(20), async {
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
    })
    .await
    .unwrap();
}
