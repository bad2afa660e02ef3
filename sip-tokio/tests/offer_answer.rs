//! Offer/answer through the user-agent API, on loopback, against the sample PBX (the `uas`
//! example's `tokio_pbx.rs`): a call offered with the SDP helper, the media agreed as
//! `CallEvent::Media`, then `Call::hold` (the PBX answers `recvonly`, RFC 3264 §6.1, §8.4)
//! and `Call::resume`. Bounded in time.

use std::time::Duration;

use sip_core::endpoint::EndpointConfig;
use sip_core::sdp::Direction;
use sip_core::sdp::negotiate::{self, LocalMedia, NegotiatedMedia};
use sip_tokio::{Call, CallEvent, EndReason, UserAgent};

#[allow(dead_code)] // the example's API, not all of it used here
#[path = "../examples/uas/tokio_pbx.rs"]
mod app;

/// The next `CallEvent::Media` of `call`, within 5 s.
async fn media(call: &mut Call) -> Vec<NegotiatedMedia> {
    let wait = async {
        loop {
            match call.next_event().await {
                Some(CallEvent::Media(m)) => return m,
                Some(_) => continue,
                None => panic!("the call ended before its media was agreed"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .expect("a media event")
}

#[tokio::test]
async fn hold_and_resume_against_the_sample_pbx() {
    let test = async {
        let uas = app::Uas::start(app::UasConfig::new("127.0.0.1:0".parse().unwrap()))
            .await
            .unwrap();
        let alice = UserAgent::builder()
            .udp("127.0.0.1:0")
            .seed(7)
            .endpoint_config(EndpointConfig {
                offer_answer: true,
                ..EndpointConfig::default()
            })
            .shutdown_grace(Duration::from_millis(50))
            .build()
            .await
            .unwrap();
        let caps = LocalMedia::telephone("127.0.0.1".parse().unwrap(), 40000, 5);
        let offer = negotiate::offer(&caps, 1);
        let mut call = alice
            .call(&format!("sip:pbx@{}", uas.local_addr()))
            .sdp(offer.to_bytes())
            .await
            .unwrap();
        assert_eq!(call.answered().await.unwrap().status(), 200);
        let m = media(&mut call).await;
        assert_eq!((m[0].codec.as_str(), m[0].payload_type), ("PCMU", 0));
        assert_eq!(m[0].remote, "127.0.0.1:6000".parse().unwrap());
        assert_eq!(m[0].telephone_event, Some(101));
        assert_eq!(m[0].direction, Direction::SendRecv);
        // Hold: our sendonly offer is answered recvonly, so we only send.
        let ok = call.hold().await.unwrap();
        assert_eq!(ok.status(), 200);
        assert!(
            String::from_utf8_lossy(ok.body()).contains("a=recvonly\r\n"),
            "{ok:?}"
        );
        assert_eq!(media(&mut call).await[0].direction, Direction::SendOnly);
        let ok = call.resume().await.unwrap();
        assert!(String::from_utf8_lossy(ok.body()).contains("a=sendrecv\r\n"));
        assert_eq!(media(&mut call).await[0].direction, Direction::SendRecv);
        call.hangup().await.unwrap();
        assert_eq!(call.ended().await, EndReason::LocalBye);
        alice.shutdown().await;
        let report = uas.shutdown().await;
        assert_eq!(report.calls_answered, 1);
        assert_eq!(report.in_dialog_requests, 2);
    };
    tokio::time::timeout(Duration::from_secs(20), test)
        .await
        .expect("test took too long");
}

/// `Call::update` (RFC 3311): an UPDATE offer in the confirmed call, answered by the PBX in
/// its 200 (§5.2), the media agreed as `CallEvent::Media`.
#[tokio::test]
async fn update_offer_answered_by_the_sample_pbx_rfc3311() {
    let test = async {
        let uas = app::Uas::start(app::UasConfig::new("127.0.0.1:0".parse().unwrap()))
            .await
            .unwrap();
        let alice = UserAgent::builder()
            .udp("127.0.0.1:0")
            .seed(8)
            .endpoint_config(EndpointConfig {
                offer_answer: true,
                ..EndpointConfig::default()
            })
            .shutdown_grace(Duration::from_millis(50))
            .build()
            .await
            .unwrap();
        let caps = LocalMedia::telephone("127.0.0.1".parse().unwrap(), 40000, 5);
        let mut call = alice
            .call(&format!("sip:pbx@{}", uas.local_addr()))
            .sdp(negotiate::offer(&caps, 1).to_bytes())
            .await
            .unwrap();
        assert_eq!(call.answered().await.unwrap().status(), 200);
        media(&mut call).await;
        // A new offer: PCMA only, on another port.
        let mut pcma = caps.clone();
        pcma.streams[0].codecs.retain(|c| c.encoding == "PCMA");
        pcma.streams[0].port = 40002;
        let body = sip_tokio::Body::sdp(negotiate::offer(&pcma, 2).to_bytes());
        let ok = call.update(Some(body)).await.unwrap();
        assert_eq!(ok.status(), 200);
        assert!(String::from_utf8_lossy(ok.body()).contains("m=audio 6000 RTP/AVP 8"));
        let m = media(&mut call).await;
        assert_eq!((m[0].codec.as_str(), m[0].payload_type), ("PCMA", 8));
        call.hangup().await.unwrap();
        alice.shutdown().await;
        let report = uas.shutdown().await;
        assert_eq!(report.in_dialog_requests, 1);
    };
    tokio::time::timeout(Duration::from_secs(20), test)
        .await
        .expect("test took too long");
}

/// Two user agents with offer/answer on, on loopback.
async fn pair(seed: u64) -> (UserAgent, UserAgent) {
    let ua = |seed| {
        UserAgent::builder()
            .udp("127.0.0.1:0")
            .seed(seed)
            .endpoint_config(EndpointConfig {
                offer_answer: true,
                ..EndpointConfig::default()
            })
            .shutdown_grace(Duration::from_millis(50))
            .build()
    };
    (ua(seed).await.unwrap(), ua(seed + 1).await.unwrap())
}

/// `CallBuilder::late_offer` (RFC 3261 §13.2.1, §13.2.2.4): the INVITE goes without SDP,
/// Bob offers PCMA and PCMU in his 200, Alice's ACK answers from her capabilities (the
/// offerer's order kept: PCMA), and both sides get the agreed media as `CallEvent::Media`.
#[tokio::test]
async fn late_offer_in_the_2xx_answered_in_the_ack() {
    let test = async {
        let (alice, bob) = pair(20).await;
        let mut incoming = bob.incoming();
        let bob_side = tokio::spawn(async move {
            let inc = incoming.next().await.unwrap();
            assert!(inc.request().body().is_empty(), "a late offer has no SDP");
            let mut caps = LocalMedia::telephone("127.0.0.1".parse().unwrap(), 42000, 9);
            caps.streams[0].codecs.reverse(); // telephone-event, PCMA, PCMU
            let offer = negotiate::offer(&caps, 1).to_bytes();
            let mut call = inc.accept(Some(sip_tokio::Body::sdp(offer))).await.unwrap();
            let m = media(&mut call).await;
            assert_eq!((m[0].codec.as_str(), m[0].payload_type), ("PCMA", 8));
            assert_eq!(m[0].remote, "127.0.0.1:40000".parse().unwrap());
            call.ended().await
        });
        let caps = LocalMedia::telephone("127.0.0.1".parse().unwrap(), 40000, 5);
        let mut call = alice
            .call(&format!("sip:bob@{}", bob.local_addrs()[0].1))
            .late_offer(caps)
            .await
            .unwrap();
        let ok = call.answered().await.unwrap();
        assert_eq!(ok.status(), 200);
        let m = media(&mut call).await;
        assert_eq!((m[0].codec.as_str(), m[0].payload_type), ("PCMA", 8));
        assert_eq!(m[0].remote, "127.0.0.1:42000".parse().unwrap());
        assert_eq!(m[0].telephone_event, Some(101));
        call.hangup().await.unwrap();
        assert_eq!(bob_side.await.unwrap(), EndReason::RemoteBye);
        alice.shutdown().await;
        bob.shutdown().await;
    };
    tokio::time::timeout(Duration::from_secs(20), test)
        .await
        .expect("test took too long");
}

/// A late offer with nothing Alice can use (Bob offers only G722): the ACK refuses every
/// stream and Alice ends the call with BYE, `Rejected(488)` (RFC 3261 §13.2.2.4).
#[tokio::test]
async fn late_offer_that_cannot_be_answered_ends_the_call_488() {
    let test = async {
        let (alice, bob) = pair(30).await;
        let mut incoming = bob.incoming();
        let bob_side = tokio::spawn(async move {
            let inc = incoming.next().await.unwrap();
            let mut caps = LocalMedia::telephone("127.0.0.1".parse().unwrap(), 42000, 9);
            caps.streams[0].codecs = vec![negotiate::Codec::new(9, "G722", 8000)];
            let offer = negotiate::offer(&caps, 1).to_bytes();
            let call = inc.accept(Some(sip_tokio::Body::sdp(offer))).await.unwrap();
            call.ended().await
        });
        let caps = LocalMedia::telephone("127.0.0.1".parse().unwrap(), 40000, 5);
        let call = alice
            .call(&format!("sip:bob@{}", bob.local_addrs()[0].1))
            .late_offer(caps)
            .await
            .unwrap();
        assert_eq!(call.ended().await, EndReason::Rejected(488));
        assert_eq!(bob_side.await.unwrap(), EndReason::RemoteBye);
        alice.shutdown().await;
        bob.shutdown().await;
    };
    tokio::time::timeout(Duration::from_secs(20), test)
        .await
        .expect("test took too long");
}
