//! The `call` example's remote mode, run in-process against the sample PBX on loopback:
//! a server given as a WebSocket URL (`--to ws://127.0.0.1:PORT/sip`, RFC 7118) is called
//! over WS, with `--late-offer` as well. Bounded in time.

use std::time::Duration;

use sip_tokio::Transport;

#[allow(dead_code)] // the example's API, not all of it used here
#[path = "../examples/uas/tokio_pbx.rs"]
mod app;

#[allow(dead_code)] // the example's main and demo are not run here
#[path = "../examples/call.rs"]
mod call;

fn args(list: &[&str]) -> impl Iterator<Item = String> {
    list.iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .into_iter()
}

#[test]
fn a_ws_url_to_names_the_server_and_its_resource() {
    let r = call::parse_remote(args(&["--to", "ws://127.0.0.1:8080/sip?x=1"]))
        .unwrap()
        .unwrap();
    assert_eq!(r.to, "sip:127.0.0.1:8080;transport=ws");
    assert_eq!(r.transport, Transport::Ws);
    let url = r.server.unwrap();
    assert_eq!(
        (url.host(), url.port(), url.resource()),
        ("127.0.0.1", 8080, "/sip?x=1")
    );
    let r = call::parse_remote(args(&[
        "--to",
        "sip:bob@example.test",
        "--server",
        "wss://edge.example.test/sip",
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(
        (r.to.as_str(), r.transport),
        ("sip:bob@example.test", Transport::Wss)
    );
    assert_eq!(r.server.unwrap().port(), 443);
    assert!(call::parse_remote(args(&["--to", "sip:a@b", "--server", "http://x/"])).is_err());
    assert!(call::parse_remote(args(&["--to", "ws://h:1/a b"])).is_err());
}

#[tokio::test]
async fn call_example_reaches_a_ws_url_server_and_hangs_up() {
    let test = async {
        let mut config = app::UasConfig::new("127.0.0.1:0".parse().unwrap());
        config.transport = Transport::Ws;
        let uas = app::Uas::start(config).await.unwrap();
        let to = format!("ws://{}/sip", uas.local_addr());
        for extra in [None, Some("--late-offer")] {
            let mut list = vec!["--to", to.as_str(), "--hold-ms", "20"];
            list.extend(extra);
            let r = call::parse_remote(args(&list)).unwrap().unwrap();
            call::remote(r).await.unwrap();
        }
        let report = uas.shutdown().await;
        assert_eq!(
            (report.calls_answered, report.calls_ended),
            (2, 2),
            "{report}"
        );
    };
    tokio::time::timeout(Duration::from_secs(30), test)
        .await
        .expect("test took too long");
}
