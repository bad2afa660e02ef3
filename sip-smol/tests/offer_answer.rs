//! The call API sip-smol shares with sip-tokio through sip-ua, on smol's executor over
//! loopback: a call accepted with `IncomingCall::accept_offer` (RFC 3264 §6), the media
//! agreed as `CallEvent::Media` on both sides, `Call::hold` answered by the callee's
//! `IncomingRequest::answer_offer` (a `sendonly` offer answered `recvonly`, RFC 3264
//! §8.4), `Call::resume`, and `Call::send_message` inside the call (RFC 3428 §4).
//! Bounded in time.

use std::future::Future;
use std::time::Duration;

use sip_core::endpoint::EndpointConfig;
use sip_core::sdp::Direction;
use sip_core::sdp::negotiate::{self, LocalMedia, NegotiatedMedia};
use sip_smol::{Body, Call, CallEvent, EndReason, IncomingRequest, Method, Transport, UserAgent};

/// Runs `fut` on smol's executor, failing the test if it takes longer than `limit`.
fn within<T>(limit: Duration, fut: impl Future<Output = T>) -> T {
    smol::block_on(futures_lite::future::or(fut, async {
        async_io::Timer::after(limit).await;
        panic!("test timed out after {limit:?}")
    }))
}

async fn ua(seed: u64) -> UserAgent {
    UserAgent::builder()
        .udp("127.0.0.1:0")
        .seed(seed)
        .spawner(|t| smol::spawn(t).detach())
        .endpoint_config(EndpointConfig {
            offer_answer: true,
            ..EndpointConfig::default()
        })
        .shutdown_grace(Duration::from_millis(50))
        .build()
        .await
        .unwrap()
}

fn caps(port: u16) -> LocalMedia {
    LocalMedia::telephone("127.0.0.1".parse().unwrap(), port, 5)
}

/// What a call reports next: its agreed media, or a request the peer sent in it.
enum Next {
    Media(Vec<NegotiatedMedia>),
    Request(Box<IncomingRequest>),
}

/// The next media or request event of `call` (transfers are not expected here).
async fn next(call: &mut Call) -> Next {
    loop {
        match call.next_event().await {
            Some(CallEvent::Media(m)) => return Next::Media(m),
            Some(CallEvent::Request(r)) => return Next::Request(Box::new(r)),
            Some(_) => continue,
            None => panic!("the call ended early"),
        }
    }
}

async fn media(call: &mut Call) -> Vec<NegotiatedMedia> {
    match next(call).await {
        Next::Media(m) => m,
        Next::Request(r) => panic!("a {} before the media", r.method()),
    }
}

#[test]
fn accept_offer_hold_resume_and_message_on_smol() {
    within(Duration::from_secs(20), async {
        let (alice, bob) = (ua(41).await, ua(42).await);
        let mut incoming = bob.incoming();
        let bob_side = smol::spawn(async move {
            let inc = incoming.next().await.unwrap();
            let mut call = inc.accept_offer(&caps(50000)).await.unwrap();
            let mut seen = Vec::new();
            loop {
                match next(&mut call).await {
                    Next::Media(m) => seen.push(m[0].direction),
                    Next::Request(r) if r.method() == &Method::Invite => {
                        r.answer_offer(&caps(50000)).await.unwrap();
                    }
                    Next::Request(r) if r.method() == &Method::Message => {
                        assert_eq!(&r.request().body()[..], b"on hold no more");
                        r.respond(200).await.unwrap();
                        break;
                    }
                    Next::Request(r) => panic!("unexpected {}", r.method()),
                }
            }
            (seen, call.ended().await)
        });
        let bob_uri = format!("sip:bob@{}", bob.local_addr(Transport::Udp).unwrap());
        let offer = negotiate::offer(&caps(40000), 1);
        let mut call = alice.call(&bob_uri).sdp(offer.to_bytes()).await.unwrap();
        assert_eq!(call.answered().await.unwrap().status(), 200);
        let m = media(&mut call).await;
        assert_eq!((m[0].codec.as_str(), m[0].payload_type), ("PCMU", 0));
        assert_eq!(m[0].remote, "127.0.0.1:50000".parse().unwrap());
        assert_eq!(m[0].direction, Direction::SendRecv);
        // Hold: our sendonly offer is answered recvonly, so we only send.
        let ok = call.hold().await.unwrap();
        assert!(String::from_utf8_lossy(ok.body()).contains("a=recvonly\r\n"));
        assert_eq!(media(&mut call).await[0].direction, Direction::SendOnly);
        let ok = call.resume().await.unwrap();
        assert!(String::from_utf8_lossy(ok.body()).contains("a=sendrecv\r\n"));
        assert_eq!(media(&mut call).await[0].direction, Direction::SendRecv);
        let r = call
            .send_message(Body::new("text/plain", "on hold no more"))
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        call.hangup().await.unwrap();
        let (seen, ended) = bob_side.await;
        // Bob's side: the first exchange, the hold (he only receives), the resume.
        assert_eq!(
            seen,
            vec![
                Direction::SendRecv,
                Direction::RecvOnly,
                Direction::SendRecv
            ]
        );
        assert_eq!(ended, EndReason::RemoteBye);
        alice.shutdown().await;
        bob.shutdown().await;
    });
}
