//! Transaction-layer throughput: `cargo bench -p sip-bench --bench transactions`.
//!
//! No I/O: endpoints live in one process and the bench carries each `Output::Transmit`'s bytes
//! to the other endpoint by hand. Time is a fixed base `Instant` advanced by hand, so timers
//! fire exactly when the bench says.
//!
//! * `transactions/sip-core/options_round_trip`: client builds an OPTIONS, sends it; server
//!   parses it, the TU answers 200; the client parses the 200 and reports it; then Timers K
//!   (client, T4) and J (server, 64·T1) fire and both tables are empty. One iteration is one
//!   complete round trip: 1 s / time = round trips per second.
//! * `transactions/sip-core/invite_call`: INVITE (with Contact and a small SDP) → 200 with
//!   Contact → ACK sent by the TU with `send_ack`, then Timers M (client) and L (server) fire;
//!   tables empty. Calls per second.
//! * `transactions/sip-core/server_invite_cycle`: the server side only, on pre-serialized
//!   INVITEs (the 758-byte benchmark INVITE, 1024 different branches): `handle_input`, drain
//!   the `IncomingRequest`, `respond_with(200)` (adds the To-tag), drain the transmit,
//!   `handle_timeout(now + 32 s)` (Timer L), table empty.
//! * `transactions/sipx/server_invite_cycle`: the same cycle with `sipx-sip`'s
//!   `TransactionLayer` (parse, `receive`, build the 200 with `ResponseBuilder::to_request`
//!   plus a To-tag, `send_response`, serialize the `Output::Send`, `on_timer(L)`, empty).
//!   sipx has no timer queue of its own (the driver keeps the timers), so this cycle calls
//!   `on_timer` directly: it does slightly less work than sip-core's.

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use sip_core::endpoint::{
    ClientTxId, Endpoint, EndpointConfig, Event, Input, Output, ServerTxId, Target, Transmit,
};
use sip_core::message::{Method, Request, Response};
use sip_core::transport::Transport;
use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const A: &str = "192.0.2.1:5060";
const B: &str = "192.0.2.2:5060";
/// Where the benchmark INVITE claims to come from (its Via sent-by is a host name, so the
/// server adds `received=` as well as `rport=`).
const ALICE: &str = "192.0.2.101:5060";

/// 64·T1 with the default T1 of 500 ms: Timers J, L, M (and B, F, H).
const T64: Duration = Duration::from_secs(32);
/// T4, Timer K for UDP.
const T4: Duration = Duration::from_secs(5);
/// How far apart in time consecutive iterations run: past every timer of the last one.
const STEP: Duration = Duration::from_secs(33);

#[allow(clippy::disallowed_methods)] // the one reading of the clock, as a base for fixed times
fn base() -> Instant {
    Instant::now()
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("a socket address literal")
}

fn endpoint(local: &str, seed: u64) -> Endpoint {
    Endpoint::new(
        EndpointConfig::with_local(Transport::Udp, addr(local)),
        seed,
    )
}

/// What one drain of an endpoint produced. Reused between calls so draining does not
/// allocate in the timed loop.
#[derive(Default)]
struct Drained {
    tx: Vec<Transmit>,
    ev: Vec<Event>,
}

impl Drained {
    fn drain(&mut self, e: &mut Endpoint) -> &mut Self {
        self.tx.clear();
        self.ev.clear();
        while let Some(o) = e.poll_output() {
            match o {
                Output::Transmit(t) => self.tx.push(t),
                Output::Event(ev) => self.ev.push(ev),
                Output::Timeout(_) => {}
            }
        }
        self
    }

    /// The single transmit of this drain.
    fn one_tx(&self) -> &Transmit {
        match &self.tx[..] {
            [t] => t,
            other => panic!("expected one transmit, got {}", other.len()),
        }
    }

    fn incoming(&self) -> ServerTxId {
        match &self.ev[..] {
            [Event::IncomingRequest { tx, .. }] => *tx,
            other => panic!("expected one IncomingRequest, got {other:?}"),
        }
    }

    fn response(&self, want: ClientTxId) -> &Response {
        match &self.ev[..] {
            [Event::Response { tx, response }] if *tx == want => response,
            other => panic!("expected one Response, got {other:?}"),
        }
    }
}

fn deliver(to: &mut Endpoint, now: Instant, t: &Transmit, from: SocketAddr) {
    to.handle_input(
        now,
        Input::Receive {
            transport: t.transport,
            from,
            to: t.destination,
            bytes: t.bytes.clone(),
        },
    );
}

/// Two endpoints back to back and the scratch space for draining them.
struct Pair {
    a: Endpoint,
    b: Endpoint,
    a_addr: SocketAddr,
    b_addr: SocketAddr,
    da: Drained,
    db: Drained,
    now: Instant,
}

impl Pair {
    fn new() -> Self {
        Pair {
            a: endpoint(A, 1),
            b: endpoint(B, 2),
            a_addr: addr(A),
            b_addr: addr(B),
            da: Drained::default(),
            db: Drained::default(),
            now: base(),
        }
    }

    fn target(&self) -> Target {
        Target::new(Transport::Udp, self.b_addr)
    }

    fn assert_empty(&self) {
        assert_eq!(
            (self.a.transaction_count(), self.b.transaction_count()),
            ((0, 0), (0, 0)),
            "every transaction ended"
        );
    }

    /// One OPTIONS round trip, ending with both tables empty.
    fn options_round_trip(&mut self) -> u16 {
        let now = self.now;
        let req = self
            .a
            .request(
                Method::Options,
                "sip:bob@192.0.2.2",
                "<sip:alice@192.0.2.1>",
                "<sip:bob@192.0.2.2>",
            )
            .build()
            .expect("OPTIONS builds");
        let ctx = self
            .a
            .send_request(now, req, self.target())
            .expect("send_request");
        deliver(
            &mut self.b,
            now,
            self.da.drain(&mut self.a).one_tx(),
            self.a_addr,
        );
        let stx = self.db.drain(&mut self.b).incoming();
        self.b.respond_with(now, stx, 200).expect("respond_with");
        deliver(
            &mut self.a,
            now,
            self.db.drain(&mut self.b).one_tx(),
            self.b_addr,
        );
        let status = self.da.drain(&mut self.a).response(ctx).status();
        // Timer K on the client (T4), Timer J on the server (64·T1).
        self.a.handle_timeout(now + T4);
        self.b.handle_timeout(now + T64);
        self.da.drain(&mut self.a);
        self.db.drain(&mut self.b);
        self.assert_empty();
        self.now += STEP;
        status
    }

    /// One INVITE → 200 → ACK call, ending with both tables empty.
    fn invite_call(&mut self) -> u16 {
        let now = self.now;
        let req = self
            .a
            .request(
                Method::Invite,
                "sip:bob@192.0.2.2",
                "<sip:alice@192.0.2.1>",
                "<sip:bob@192.0.2.2>",
            )
            .contact("<sip:alice@192.0.2.1>")
            .body("application/sdp", Bytes::from_static(SDP))
            .build()
            .expect("INVITE builds");
        let ctx = self
            .a
            .send_request(now, req, self.target())
            .expect("send_request");
        deliver(
            &mut self.b,
            now,
            self.da.drain(&mut self.a).one_tx(),
            self.a_addr,
        );
        let stx = self.db.drain(&mut self.b).incoming();
        let ok = self
            .b
            .response(stx, 200)
            .expect("response")
            .header("Contact", "<sip:bob@192.0.2.2>")
            .build()
            .expect("200 builds");
        self.b.respond(now, stx, ok).expect("respond");
        deliver(
            &mut self.a,
            now,
            self.db.drain(&mut self.b).one_tx(),
            self.b_addr,
        );
        let resp = self.da.drain(&mut self.a).response(ctx);
        let status = resp.status();
        // The dialog layer's ACK (§13.2.2.4): From, To (with the tag), Call-ID, CSeq number.
        let ack = Request::builder(Method::Ack, "sip:bob@192.0.2.2")
            .max_forwards(70)
            .header("From", resp.headers().get("From").expect("From"))
            .header("To", resp.headers().get("To").expect("To"))
            .call_id(resp.call_id().expect("Call-ID"))
            .cseq(resp.cseq().expect("CSeq").0)
            .build()
            .expect("ACK builds");
        self.a.send_ack(now, ack, self.target()).expect("send_ack");
        deliver(
            &mut self.b,
            now,
            self.da.drain(&mut self.a).one_tx(),
            self.a_addr,
        );
        assert!(matches!(
            &self.db.drain(&mut self.b).ev[..],
            [Event::Ack { .. }]
        ));
        // Timer M on the client, Timer L on the server: both 64·T1.
        self.a.handle_timeout(now + T64);
        self.b.handle_timeout(now + T64);
        self.da.drain(&mut self.a);
        self.db.drain(&mut self.b);
        self.assert_empty();
        self.now += STEP;
        status
    }
}

const SDP: &[u8] = b"v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.1\r\ns=-\r\n\
c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 49172 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

/// The benchmark INVITE with its branch replaced by 1024 different ones (same length).
fn invites() -> Vec<Bytes> {
    let text = std::str::from_utf8(sip_bench::INVITE.bytes).expect("UTF-8");
    let branch = sip_bench::INVITE.expected.via_branch;
    (0..1024)
        .map(|i| {
            let other = format!("z9hG4bK{i:09}");
            assert_eq!(other.len(), branch.len());
            Bytes::from(text.replacen(branch, &other, 1))
        })
        .collect()
}

/// sip-core's server side of one INVITE transaction, on pre-serialized INVITEs.
struct ServerCycle {
    ep: Endpoint,
    from: SocketAddr,
    local: SocketAddr,
    d: Drained,
    msgs: Vec<Bytes>,
    i: usize,
    now: Instant,
}

impl ServerCycle {
    fn new() -> Self {
        ServerCycle {
            ep: endpoint(B, 2),
            from: addr(ALICE),
            local: addr(B),
            d: Drained::default(),
            msgs: invites(),
            i: 0,
            now: base(),
        }
    }

    fn run(&mut self) -> usize {
        let now = self.now;
        let bytes = self.msgs[self.i % self.msgs.len()].clone();
        self.i += 1;
        self.ep.handle_input(
            now,
            Input::Receive {
                transport: Transport::Udp,
                from: self.from,
                to: self.local,
                bytes,
            },
        );
        let stx = self.d.drain(&mut self.ep).incoming();
        self.ep.respond_with(now, stx, 200).expect("respond_with");
        let sent = self.d.drain(&mut self.ep).one_tx().bytes.len();
        self.ep.handle_timeout(now + T64);
        self.d.drain(&mut self.ep);
        assert_eq!(self.ep.transaction_count(), (0, 0));
        self.now += STEP;
        sent
    }
}

/// The same cycle with sipx-sip's transaction layer.
mod sipx_cycle {
    use bytes::Bytes;
    use sipx_sip::transaction::Dispatch;
    use sipx_sip::{
        HeaderName, Limits, Output, Reliability, ResponseBuilder, StatusCode, Timer, Timers,
        TransactionLayer, TuEvent,
    };

    pub struct SipxCycle {
        layer: TransactionLayer,
        limits: Limits,
        msgs: Vec<Bytes>,
        i: usize,
        tag: u64,
    }

    impl SipxCycle {
        pub fn new(msgs: Vec<Bytes>) -> Self {
            SipxCycle {
                layer: TransactionLayer::new(Timers::default()),
                limits: Limits::datagram(),
                msgs,
                i: 0,
                tag: 0x5eed,
            }
        }

        pub fn run(&mut self) -> usize {
            let bytes = self.msgs[self.i % self.msgs.len()].clone();
            self.i += 1;
            let msg = sipx_sip::parse_datagram(bytes, &self.limits).expect("sipx parses");
            let Dispatch::Created { key, outputs } =
                self.layer.receive(msg, Reliability::Unreliable)
            else {
                panic!("a new server transaction")
            };
            let request = outputs
                .into_iter()
                .find_map(|o| match o {
                    Output::ToTu(ev) => match *ev {
                        TuEvent::Request(r) => Some(r),
                        _ => None,
                    },
                    _ => None,
                })
                .expect("the request for the TU");
            // A To-tag, as the endpoint adds one: the request's To plus `;tag=`.
            self.tag = self.tag.wrapping_mul(6364136223846793005).wrapping_add(1);
            let to = request
                .headers
                .get(&HeaderName::To)
                .expect("To")
                .raw_value();
            let mut tagged = Vec::with_capacity(to.len() + 22);
            tagged.extend_from_slice(to);
            tagged.extend_from_slice(format!(";tag={:x}", self.tag).as_bytes());
            let status = StatusCode::new(200).expect("200 is a status");
            let response = ResponseBuilder::to_request(&request, status, "OK")
                .and_then(|b| b.set_header(&HeaderName::To, Bytes::from(tagged)))
                .expect("the 200 builds")
                .build();
            let mut sent = 0;
            for o in self.layer.send_response(&key, response) {
                if let Output::Send(m) = o {
                    let mut out = Vec::new();
                    m.write_to(&mut out);
                    sent += out.len();
                    std::hint::black_box(out);
                }
            }
            let done = self.layer.on_timer(&key, Timer::L);
            assert!(done.iter().any(|o| matches!(o, Output::Terminated(_))));
            assert!(self.layer.is_empty());
            sent
        }
    }
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("transactions/sip-core");
    let mut pair = Pair::new();
    assert_eq!(pair.options_round_trip(), 200);
    g.bench_function("options_round_trip", |b| {
        b.iter(|| black_box(pair.options_round_trip()))
    });
    let mut pair = Pair::new();
    assert_eq!(pair.invite_call(), 200);
    g.bench_function("invite_call", |b| b.iter(|| black_box(pair.invite_call())));
    let mut cycle = ServerCycle::new();
    let sent = cycle.run();
    assert!(sent > 0);
    g.bench_function("server_invite_cycle", |b| b.iter(|| black_box(cycle.run())));
    g.finish();

    let mut g = c.benchmark_group("transactions/sipx");
    let mut sipx = sipx_cycle::SipxCycle::new(invites());
    assert!(sipx.run() > 0);
    g.bench_function("server_invite_cycle", |b| b.iter(|| black_box(sipx.run())));
    g.finish();
}

criterion_group!(transactions, benches);
criterion_main!(transactions);
