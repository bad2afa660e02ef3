//! The `uas` as a test PBX over loopback: a registrar that demands digest credentials
//! (RFC 3261 §10.3, §22), driven by the smol user agent's own registration client.

use std::time::Duration;

#[allow(dead_code)] // the example's API, not all of it used here
#[path = "../examples/smol_uas/smol_pbx.rs"]
mod app;
mod common;

use app::{Uas, UasConfig};
use common::{Ex, run, spawner};
use sip_smol::{Error, RegisterOptions, UserAgent};

const LIMIT: Duration = Duration::from_secs(10);

async fn pbx(ex: &Ex) -> Uas {
    let mut config = UasConfig::new("127.0.0.1:0".parse().unwrap());
    config.seed = Some(7);
    config.registrar = true;
    config.auth = vec![("alice".into(), "secret".into())];
    Uas::start(config, ex.clone()).await.unwrap()
}

async fn client(ex: &Ex, password: &str) -> UserAgent {
    UserAgent::builder()
        .spawner(spawner(ex))
        .udp("127.0.0.1:0")
        .identity("<sip:alice@127.0.0.1>")
        .credentials("alice", password)
        .seed(11)
        .build()
        .await
        .unwrap()
}

#[test]
fn registers_with_the_right_password_only() {
    run(LIMIT, |ex| async move {
        let uas = pbx(&ex).await;
        let registrar = format!("sip:{}", uas.local_addr());
        let opts = RegisterOptions::new(registrar.as_str(), "<sip:alice@127.0.0.1>", 600);

        let good = client(&ex, "secret").await;
        let reg = good.register(opts.clone()).await.unwrap();
        assert_eq!(reg.registered().await.unwrap(), 600);
        let bound = uas.bindings("<sip:alice@127.0.0.1>");
        assert_eq!(bound.len(), 1);
        let local = good.local_addrs()[0].1;
        assert!(
            bound[0].uri.contains(&local.to_string()),
            "{}",
            bound[0].uri
        );

        let bad = client(&ex, "wrong").await;
        let reg = bad.register(opts).await.unwrap();
        // Challenged again with the nonce it answered: the client gives up (§22.2).
        assert!(matches!(
            reg.registered().await,
            Err(Error::RegistrationFailed(401))
        ));

        let report = uas.shutdown().await;
        assert_eq!(report.registrations, 1);
        assert_eq!(report.bindings, 1);
        // One challenge to each client's first REGISTER, one to the wrong answer.
        assert_eq!(report.challenges, 3);
        assert_eq!(report.auth_failures, 1);
        assert_eq!(report.not_allowed, 0);
        good.shutdown().await;
        bad.shutdown().await;
    });
}

#[test]
fn register_is_405_without_the_registrar() {
    run(LIMIT, |ex| async move {
        let uas = Uas::start(UasConfig::new("127.0.0.1:0".parse().unwrap()), ex.clone())
            .await
            .unwrap();
        let ua = client(&ex, "secret").await;
        let registrar = format!("sip:{}", uas.local_addr());
        let reg = ua
            .register(RegisterOptions::new(
                registrar.as_str(),
                "<sip:alice@127.0.0.1>",
                600,
            ))
            .await
            .unwrap();
        assert!(matches!(
            reg.registered().await,
            Err(Error::RegistrationFailed(405))
        ));
        let report = uas.shutdown().await;
        assert_eq!((report.not_allowed, report.registrations), (1, 0));
        ua.shutdown().await;
    });
}

#[test]
fn calls_need_proxy_credentials() {
    run(LIMIT, |ex| async move {
        let uas = pbx(&ex).await;
        let uri = format!("sip:service@{}", uas.local_addr());
        // With the right credentials the 407 is answered and the call goes through.
        let good = client(&ex, "secret").await;
        let call = good.call(&uri).await.unwrap();
        assert_eq!(call.answered().await.unwrap().status(), 200);
        call.hangup().await.unwrap();
        // Without credentials the call ends with the 407.
        let anonymous = UserAgent::builder()
            .spawner(spawner(&ex))
            .udp("127.0.0.1:0")
            .build()
            .await
            .unwrap();
        let call = anonymous.call(&uri).await.unwrap();
        assert!(matches!(
            call.answered().await,
            Err(Error::CallEnded(sip_smol::EndReason::Rejected(407)))
        ));
        let report = uas.shutdown().await;
        assert_eq!(report.challenges, 2);
    });
}
