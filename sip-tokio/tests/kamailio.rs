//! The tokio API against a real registrar and proxy (Kamailio, requiring digest auth):
//! `ua.register(..)` registers and re-registers, a call goes through the proxy (407
//! answered), and the registration is removed. Skipped with a message when `kamailio` is
//! not installed; a failure under `CI=true`.

#[path = "../../.ci/kamailio/launcher.rs"]
mod launcher;

use launcher::{PASSWORD, free_port, kamailio_binary, start};
use sip_tokio::{RegisterOptions, Target, Transport, UserAgent};
use std::time::Duration;

#[tokio::test]
async fn register_call_and_unregister_through_kamailio() {
    let Some(bin) = kamailio_binary() else { return };
    let port = free_port();
    let _k = start(&bin, port);
    let proxy = Target::new(Transport::Udp, format!("127.0.0.1:{port}").parse().unwrap());
    let ua = |user: &'static str| {
        UserAgent::builder()
            .udp("127.0.0.1:0")
            .identity(format!("<sip:{user}@127.0.0.1:{port}>"))
            .credentials(user, PASSWORD)
            .build()
    };
    let (alice, bob) = (ua("alice").await.unwrap(), ua("bob").await.unwrap());
    let reg = |user: &str, expires| {
        let mut o = RegisterOptions::new(
            format!("sip:127.0.0.1:{port}"),
            format!("<sip:{user}@127.0.0.1:{port}>"),
            expires,
        );
        o.target = Some(proxy.clone());
        o
    };
    let run = async {
        // Kamailio may still be starting: the REGISTER is retransmitted until it answers.
        let rb = bob.register(reg("bob", 60)).await.unwrap();
        let ra = alice.register(reg("alice", 4)).await.unwrap();
        assert_eq!(rb.registered().await.unwrap(), 60);
        assert_eq!(ra.registered().await.unwrap(), 4);
        ra.refreshed(2).await; // the core re-registers at half time

        let mut incoming = bob.incoming();
        let answer = tokio::spawn(async move {
            let inc = incoming.next().await.unwrap();
            let call = inc.accept(None).await.unwrap();
            call.ended().await
        });
        let call = alice
            .call(&format!("sip:bob@127.0.0.1:{port}"))
            .target(proxy.clone())
            .await
            .unwrap();
        call.answered().await.unwrap();
        call.hangup().await.unwrap();
        assert_eq!(answer.await.unwrap(), sip_tokio::EndReason::RemoteBye);

        ra.unregister().await.unwrap();
        rb.unregister().await.unwrap();
    };
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("bounded");
}
