//! Transaction harnesses shared by `benches/transactions.rs` and the examples.
//!
//! No I/O: endpoints live in one process and the harness carries each `Output::Transmit`'s
//! bytes to the other endpoint by hand. Time is a fixed base `Instant` advanced by hand, so
//! timers fire exactly when the harness says (RFC 3261 §17 timers, default T1 = 500 ms).
//!
//! * [`Pair::options_round_trip`]: a full non-INVITE transaction (§17.1.2, §17.2.2) with
//!   Timers K and J run out.
//! * [`Pair::invite_call`]: INVITE → 200 → ACK (§13, §17.1.1, §17.2.1 with RFC 6026's
//!   Accepted state), Timers M and L run out.
//! * [`ServerCycle`]: the server side of one INVITE transaction on pre-serialized INVITEs.
//! * [`sipx_cycle::SipxCycle`]: the same server cycle with `sipx-sip`'s `TransactionLayer`.

use bytes::Bytes;
use sip_core::endpoint::{
    ClientTxId, Endpoint, EndpointConfig, Event, Input, Output, ServerTxId, Target, Transmit,
};
use sip_core::message::{Method, Request, Response};
use sip_core::transport::Transport;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Client address (Alice's endpoint in the two-endpoint harnesses).
pub const A: &str = "192.0.2.1:5060";
/// Server address (Bob's endpoint).
pub const B: &str = "192.0.2.2:5060";
/// Where the benchmark INVITE claims to come from (its Via sent-by is a host name, so the
/// server adds `received=` as well as `rport=`).
pub const ALICE: &str = "192.0.2.101:5060";

/// 64·T1 with the default T1 of 500 ms: Timers J, L, M (and B, F, H).
pub const T64: Duration = Duration::from_secs(32);
/// T4, Timer K for UDP.
pub const T4: Duration = Duration::from_secs(5);
/// How far apart in time consecutive iterations run: past every timer of the last one.
pub const STEP: Duration = Duration::from_secs(33);

/// The base instant every harness advances by hand (the one reading of the clock).
#[allow(clippy::disallowed_methods)]
pub fn base() -> Instant {
    Instant::now()
}

/// Parses a socket address literal.
pub fn addr(s: &str) -> SocketAddr {
    s.parse().expect("a socket address literal")
}

/// A UDP endpoint at `local` running the transaction layer alone (the transaction benches
/// measure that layer; `DialogPair` measures whole calls with the dialog layer).
pub fn endpoint(local: &str, seed: u64) -> Endpoint {
    let c = EndpointConfig::with_local(Transport::Udp, addr(local));
    Endpoint::builder(c).without_dialog_layer().build(seed)
}

/// Two endpoints with the dialog layer on, for whole calls: INVITE, 180, 200, ACK (sent by
/// the core), BYE, 200, and every timer run out.
pub struct DialogPair {
    a: Endpoint,
    b: Endpoint,
    a_addr: SocketAddr,
    b_addr: SocketAddr,
    now: Instant,
    out: Vec<(SocketAddr, Transmit)>,
    events: Vec<Event>,
    /// A softphone call ([`DialogPair::softphone`]): B's media, and A's offer.
    softphone: Option<(sip_core::sdp::negotiate::LocalMedia, Bytes)>,
}

impl Default for DialogPair {
    fn default() -> Self {
        Self::new()
    }
}

impl DialogPair {
    /// A pair at 192.0.2.1 and 192.0.2.2.
    pub fn new() -> Self {
        let (a_addr, b_addr) = (addr("192.0.2.1:5060"), addr("192.0.2.2:5060"));
        DialogPair {
            a: Endpoint::new(EndpointConfig::with_local(Transport::Udp, a_addr), 1),
            b: Endpoint::new(EndpointConfig::with_local(Transport::Udp, b_addr), 2),
            a_addr,
            b_addr,
            now: base(),
            out: Vec::with_capacity(8),
            events: Vec::with_capacity(8),
            softphone: None,
        }
    }

    /// A pair whose calls use what a softphone does (issue 20): SDP offer/answer (A offers
    /// PCMU, PCMA and telephone-event from the negotiation helper, B answers through
    /// `answer_offer`), 100rel (A's INVITE requires it: B's 180 is reliable and A PRACKs it,
    /// RFC 3262) and session timers (RFC 4028, 1800 s, Min-SE 90) on both sides.
    pub fn softphone() -> Self {
        use sip_core::dialog::{ReliableProvisionals, SessionTimers};
        use sip_core::sdp::negotiate::{LocalMedia, offer};
        let (a_addr, b_addr) = (addr("192.0.2.1:5060"), addr("192.0.2.2:5060"));
        let config = |at| EndpointConfig {
            offer_answer: true,
            reliable_provisionals: ReliableProvisionals::Supported,
            session_timers: SessionTimers::on(1800, 90),
            ..EndpointConfig::with_local(Transport::Udp, at)
        };
        let a_media = LocalMedia::telephone(a_addr.ip(), 4000, 1);
        let b_media = LocalMedia::telephone(b_addr.ip(), 6000, 2);
        DialogPair {
            a: Endpoint::new(config(a_addr), 1),
            b: Endpoint::new(config(b_addr), 2),
            softphone: Some((b_media, offer(&a_media, 1).to_bytes())),
            ..DialogPair::new()
        }
    }

    /// Moves every transmit between the two until both are quiet; B answers calls 180 + 200.
    fn pump(&mut self) {
        loop {
            for (from, ep) in [(self.a_addr, &mut self.a), (self.b_addr, &mut self.b)] {
                while let Some(o) = ep.poll_output() {
                    match o {
                        Output::Transmit(t) => self.out.push((from, t)),
                        Output::Event(e) => self.events.push(e),
                    }
                }
            }
            let answered = !self.events.is_empty();
            for e in self.events.drain(..) {
                if let (Event::IncomingCall { dialog, .. }, Some((media, _))) =
                    (&e, &self.softphone)
                {
                    let mut d = self.b.dialog(*dialog).expect("dialog");
                    d.answer(self.now, 180, None).expect("reliable 180");
                    d.answer_offer(self.now, media)
                        .expect("200 with the answer");
                    continue;
                }
                if let Event::IncomingCall { dialog, .. } = e {
                    self.b
                        .dialog(dialog)
                        .and_then(|mut d| d.answer(self.now, 180, None))
                        .expect("180");
                    self.b
                        .dialog(dialog)
                        .and_then(|mut d| {
                            d.answer(
                                self.now,
                                200,
                                Some(("application/sdp", Bytes::from_static(SDP))),
                            )
                        })
                        .expect("200");
                }
            }
            if self.out.is_empty() && !answered {
                return;
            }
            for (from, t) in self.out.drain(..) {
                let to = if t.destination == self.a_addr {
                    &mut self.a
                } else {
                    &mut self.b
                };
                to.handle_input(
                    self.now,
                    Input::Receive {
                        transport: t.transport,
                        from,
                        to: t.destination,
                        bytes: t.bytes,
                    },
                );
            }
        }
    }

    /// One whole call; panics if it does not complete.
    pub fn call(&mut self) {
        self.call_and_hang_up();
        // Every timer (L, M, K, J, the dialogs' 64·T1 memory) runs out.
        self.expire();
        assert_eq!(
            (self.a.transaction_count(), self.b.transaction_count()),
            ((0, 0), (0, 0))
        );
        assert_eq!((self.a.dialog_count(), self.b.dialog_count()), (0, 0));
        self.now += STEP;
    }

    /// A call up to the 200 for its BYE, with no timer run: what is left are lingering
    /// transactions and terminated dialogs kept for late messages.
    pub fn call_and_hang_up(&mut self) {
        let opts = sip_core::endpoint::InviteOptions::new(
            "sip:bob@192.0.2.2",
            "<sip:alice@192.0.2.1>",
            "<sip:bob@192.0.2.2>",
        );
        let opts = match &self.softphone {
            Some((_, offer)) => opts
                .body("application/sdp", offer.clone())
                .header("Require", "100rel"),
            None => opts.body("application/sdp", Bytes::from_static(SDP)),
        };
        let d = self.a.invite(self.now, opts).expect("invite");
        self.pump();
        assert_eq!(
            self.a.dialog_state(d),
            Some(sip_core::dialog::DialogState::Confirmed)
        );
        self.a
            .dialog(d)
            .and_then(|mut d| d.hangup(self.now))
            .expect("hangup");
        self.pump();
    }

    /// Runs every timer out (2·64·T1 later) and moves the clock on by as much.
    pub fn expire(&mut self) {
        let later = self.now + T64 + T64;
        self.a.handle_timeout(later);
        self.b.handle_timeout(later);
        self.pump();
    }

    /// Moves the clock on by `d` and runs the timers due by then on both endpoints.
    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        self.a.handle_timeout(self.now);
        self.b.handle_timeout(self.now);
        self.pump();
    }

    /// Moves the clock on by `d`, waking the endpoints only when their `poll_timeout`
    /// asks (as a driver does).
    pub fn advance_by_timers(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            let next = [self.a.poll_timeout(), self.b.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(at) if at <= end => {
                    self.now = self.now.max(at);
                    self.a.handle_timeout(self.now);
                    self.b.handle_timeout(self.now);
                    self.pump();
                }
                _ => break,
            }
        }
        self.now = end;
    }

    /// The answering endpoint (B).
    pub fn uas(&self) -> &Endpoint {
        &self.b
    }

    /// Drops the calling endpoint (A), with everything it holds, for a fresh one: what is
    /// left allocated is B's.
    pub fn forget_uac(&mut self) {
        self.a = Endpoint::new(EndpointConfig::with_local(Transport::Udp, self.a_addr), 1);
    }
}

/// What one drain of an endpoint produced. Reused between calls so draining does not
/// allocate in the timed loop.
#[derive(Default)]
pub struct Drained {
    /// Transmits of the last drain, in order.
    pub tx: Vec<Transmit>,
    /// Events of the last drain, in order.
    pub ev: Vec<Event>,
}

impl Drained {
    /// Empties `e`'s output queue into `self` (replacing what the last drain held).
    pub fn drain(&mut self, e: &mut Endpoint) -> &mut Self {
        self.tx.clear();
        self.ev.clear();
        while let Some(o) = e.poll_output() {
            match o {
                Output::Transmit(t) => self.tx.push(t),
                Output::Event(ev) => self.ev.push(ev),
            }
        }
        self
    }

    /// The single transmit of this drain.
    ///
    /// # Panics
    /// If there was not exactly one.
    pub fn one_tx(&self) -> &Transmit {
        match &self.tx[..] {
            [t] => t,
            other => panic!("expected one transmit, got {}", other.len()),
        }
    }

    /// The single transmit of this drain, moved out of it.
    ///
    /// # Panics
    /// If there was not exactly one.
    pub fn take_one_tx(&mut self) -> Transmit {
        match self.tx.len() {
            1 => self.tx.remove(0),
            n => panic!("expected one transmit, got {n}"),
        }
    }

    /// The server transaction of the single `IncomingRequest` of this drain.
    ///
    /// # Panics
    /// If the drain held anything else.
    pub fn incoming(&self) -> ServerTxId {
        match &self.ev[..] {
            [Event::IncomingRequest { tx, .. }] => *tx,
            other => panic!("expected one IncomingRequest, got {other:?}"),
        }
    }

    /// The single `Response` event of this drain, for client transaction `want`.
    ///
    /// # Panics
    /// If the drain held anything else.
    pub fn response(&self, want: ClientTxId) -> &Response {
        match &self.ev[..] {
            [Event::Response { tx, response }] if *tx == want => response,
            other => panic!("expected one Response, got {other:?}"),
        }
    }
}

/// Hands `t`'s bytes to `to` as if received from `from`.
pub fn deliver(to: &mut Endpoint, now: Instant, t: &Transmit, from: SocketAddr) {
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
#[allow(missing_debug_implementations)]
pub struct Pair {
    /// The client (UAC) endpoint at [`A`].
    pub a: Endpoint,
    /// The server (UAS) endpoint at [`B`].
    pub b: Endpoint,
    a_addr: SocketAddr,
    b_addr: SocketAddr,
    da: Drained,
    db: Drained,
    now: Instant,
}

impl Default for Pair {
    fn default() -> Self {
        Self::new()
    }
}

impl Pair {
    /// Two fresh endpoints (seeds 1 and 2) at [`A`] and [`B`].
    pub fn new() -> Self {
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

    /// # Panics
    /// If either endpoint still has a transaction.
    pub fn assert_empty(&self) {
        assert_eq!(
            (self.a.transaction_count(), self.b.transaction_count()),
            ((0, 0), (0, 0)),
            "every transaction ended"
        );
    }

    /// One OPTIONS round trip, ending with both tables empty.
    /// Returns the status the client saw (200).
    ///
    /// # Panics
    /// If any step deviates from the expected exchange.
    pub fn options_round_trip(&mut self) -> u16 {
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
    /// Returns the status the client saw (200).
    ///
    /// # Panics
    /// If any step deviates from the expected exchange.
    pub fn invite_call(&mut self) -> u16 {
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

/// A small SDP offer for the harness INVITE.
pub const SDP: &[u8] = b"v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.1\r\ns=-\r\n\
c=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 49172 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

/// The benchmark INVITE with its branch replaced by 1024 different ones (same length).
pub fn invites() -> Vec<Bytes> {
    let text = std::str::from_utf8(crate::INVITE.bytes).expect("UTF-8");
    let branch = crate::INVITE.expected.via_branch;
    (0..1024)
        .map(|i| {
            let other = format!("z9hG4bK{i:09}");
            assert_eq!(other.len(), branch.len());
            Bytes::from(text.replacen(branch, &other, 1))
        })
        .collect()
}

/// sip-core's server side of one INVITE transaction, on pre-serialized INVITEs.
pub struct ServerCycle {
    ep: Endpoint,
    from: SocketAddr,
    local: SocketAddr,
    d: Drained,
    msgs: Vec<Bytes>,
    i: usize,
    now: Instant,
}

impl Default for ServerCycle {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerCycle {
    /// A fresh server endpoint at [`B`] and the 1024 INVITEs of [`invites`].
    pub fn new() -> Self {
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

    /// One cycle; returns the 200 as sent.
    ///
    /// # Panics
    /// If any step deviates from the expected exchange.
    pub fn run(&mut self) -> Bytes {
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
        // Moved out of the drain, as a driver hands it to its socket (no extra handle).
        let sent = self.d.drain(&mut self.ep).take_one_tx().bytes;
        self.ep.handle_timeout(now + T64);
        self.d.drain(&mut self.ep);
        assert_eq!(self.ep.transaction_count(), (0, 0));
        self.now += STEP;
        sent
    }
}

/// The same cycle with sipx-sip's transaction layer.
/// The server INVITE cycle with `sipx-sip` 1.0's `TransactionLayer`.
pub mod sipx_cycle {
    use bytes::Bytes;
    use sipx_sip::transaction::Dispatch;
    use sipx_sip::{
        HeaderName, Limits, Output, Reliability, ResponseBuilder, StatusCode, Timer, Timers,
        TransactionLayer, TuEvent,
    };

    /// sipx's transaction layer and the INVITEs to feed it.
    pub struct SipxCycle {
        layer: TransactionLayer,
        limits: Limits,
        msgs: Vec<Bytes>,
        i: usize,
        tag: u64,
    }

    impl SipxCycle {
        /// A fresh layer with default timers, cycling through `msgs`.
        pub fn new(msgs: Vec<Bytes>) -> Self {
            SipxCycle {
                layer: TransactionLayer::new(Timers::default()),
                limits: Limits::datagram(),
                msgs,
                i: 0,
                tag: 0x5eed,
            }
        }

        /// One cycle; returns the 200 as sent.
        ///
        /// # Panics
        /// If any step deviates from the expected exchange.
        pub fn run(&mut self) -> Vec<u8> {
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
            let mut sent = Vec::new();
            for o in self.layer.send_response(&key, response) {
                if let Output::Send(m) = o {
                    m.write_to(&mut sent);
                }
            }
            let done = self.layer.on_timer(&key, Timer::L);
            assert!(done.iter().any(|o| matches!(o, Output::Terminated(_))));
            assert!(self.layer.is_empty());
            sent
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sip_core::message::{ParseOptions, SipMessage, parse};

    fn response(bytes: &[u8]) -> Response {
        match parse(Bytes::copy_from_slice(bytes), &ParseOptions::strict()) {
            Ok(SipMessage::Response(r)) => r,
            other => panic!("not a response: {other:?}"),
        }
    }

    #[test]
    fn invites_differ_only_in_the_branch() {
        let m = invites();
        assert_eq!(m.len(), 1024);
        assert!(m.iter().all(|b| b.len() == crate::INVITE.bytes.len()));
        let r = |i: usize| match parse(m[i].clone(), &ParseOptions::default()) {
            Ok(SipMessage::Request(r)) => r.via().and_then(|v| v.branch()).map(str::to_owned),
            other => panic!("{other:?}"),
        };
        assert_eq!(r(0).as_deref(), Some("z9hG4bK000000000"));
        assert_eq!(r(1023).as_deref(), Some("z9hG4bK000001023"));
    }

    #[test]
    fn round_trips_and_calls_end_with_empty_tables() {
        let mut p = Pair::new();
        let t0 = p.now;
        for _ in 0..3 {
            assert_eq!(p.options_round_trip(), 200);
            assert_eq!(p.invite_call(), 200);
        }
        p.assert_empty();
        assert_eq!(p.now - t0, STEP * 6);
        // Nothing was retransmitted: every exchange completed at its first instant.
        assert_eq!(p.a.stats().retransmissions, 0);
        assert_eq!(p.b.stats().retransmissions, 0);
        assert_eq!(p.b.stats().received, 9, "3 OPTIONS, 3 INVITEs, 3 ACKs");
        assert_eq!(p.a.stats().received, 6, "3 + 3 responses");
    }

    #[test]
    fn sip_core_server_cycle_answers_200_with_a_to_tag_and_received_rport() {
        let mut c = ServerCycle::new();
        for i in 0..3 {
            let r = response(&c.run());
            assert_eq!(r.status(), 200);
            let via = r.via().expect("Via");
            assert_eq!(via.branch(), Some(format!("z9hG4bK{i:09}").as_str()));
            assert_eq!(via.received(), Some("192.0.2.101"));
            assert_eq!(via.rport(), Some(Some(5060)));
            assert!(r.to().and_then(|t| t.tag()).is_some_and(|t| !t.is_empty()));
            assert_eq!(r.from().and_then(|f| f.tag()), Some("1928301774"));
            assert_eq!(r.cseq(), Some((314_159, "INVITE")));
        }
        assert_eq!(c.ep.stats().received, 3);
    }

    #[test]
    fn sipx_server_cycle_answers_200_with_a_to_tag() {
        let mut c = sipx_cycle::SipxCycle::new(invites());
        for i in 0..3 {
            let r = response(&c.run());
            assert_eq!(r.status(), 200);
            let via = r.via().expect("Via");
            assert_eq!(via.branch(), Some(format!("z9hG4bK{i:09}").as_str()));
            assert!(r.to().and_then(|t| t.tag()).is_some_and(|t| !t.is_empty()));
            assert_eq!(r.call_id(), Some(crate::INVITE.expected.call_id));
        }
    }
}
