//! Unit tests of the dialog layer: alone, against a fake of the transaction layer that
//! records what it is asked; and over a real transaction layer where the bytes on the wire
//! are the point.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::layer::{DialogConfig, DialogEnv, DialogEvent, DialogLayer};
use super::{DialogId, DialogState, EndReason, InviteOptions};
use crate::message::{Method, Request, Response, ResponseBuilder, SipMessage, parse_unchecked};
use crate::rng::IdGenerator;
use crate::transaction::TimerConfig;
use crate::transaction::layer::{
    ClientTxId, EndpointError, LocalAddr, Locals, Responded, ServerInfo, ServerTxId, Service, Sink,
    Target, TransactionLayer, Transactions, Transmit, TxConfig, Up,
};
use crate::transport::Transport;

const A: &str = "192.0.2.1:5060";
const B: &str = "192.0.2.2:5060";

#[allow(clippy::disallowed_methods)]
fn base() -> Instant {
    Instant::now()
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn config() -> DialogConfig {
    DialogConfig {
        timers: TimerConfig::default(),
        max_dialogs: 100,
        max_ended: 100,
        bye_extra_forks: true,
        refer_expires_secs: 60,
        retry_after_secs: 5,
        guard: super::DialogGuard::default(),
        no_ack_bye: super::NoAckBye::default(),
        session_timers: super::SessionTimers::OFF,
        info_packages: None,
        offer_answer: false,
        prack: super::ReliableProvisionals::Off,
        allow: "INVITE, ACK, BYE, CANCEL".into(),
    }
}

fn layer(seed: u64) -> DialogLayer {
    DialogLayer::new(config(), IdGenerator::new(seed), seed)
}

/// What the transaction layer sent, and what the dialog layer told the application.
#[derive(Default)]
struct Out {
    tx: Vec<Transmit>,
    events: Vec<DialogEvent>,
}

impl Sink for Out {
    fn transmit(&mut self, t: Transmit) {
        self.tx.push(t);
    }
}

impl DialogEnv for Service<'_, Out> {
    fn emit(&mut self, e: DialogEvent) {
        self.out.events.push(e);
    }
}

/// The dialog layer over a real transaction layer at `A` (its service, as the endpoint
/// gives it), its transmits and events kept.
struct TxEnv {
    txl: TransactionLayer,
    out: Out,
}

impl TxEnv {
    fn new() -> Self {
        let locals = Locals::new(vec![LocalAddr::new(Transport::Udp, addr(A))]);
        let c = TxConfig {
            max_transactions: 100,
            max_lingering: 100,
            report_ends: true,
            ..TxConfig::default()
        };
        TxEnv {
            txl: TransactionLayer::new(c, locals, IdGenerator::new(5), 5),
            out: Out::default(),
        }
    }

    fn env(&mut self) -> Service<'_, Out> {
        Service::new(&mut self.txl, &mut self.out)
    }
}

/// What the fake transaction layer was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Asked {
    Start {
        method: String,
        target: Target,
        text: String,
    },
    Respond {
        tx: ServerTxId,
        status: u16,
        rows: Vec<(String, String)>,
    },
    Cancel(ClientTxId),
    Transmit(String),
}

/// A transaction layer that is not there: it files nothing, answers every request it is
/// handed with the next id, and records what it was asked.
struct Fake {
    locals: Locals,
    next: u64,
    asked: Vec<Asked>,
    events: Vec<DialogEvent>,
    /// The To tag of every server transaction.
    to_tag: String,
    /// Whether a client transaction fits (the transaction limit).
    room: bool,
}

impl Fake {
    fn new() -> Self {
        Fake {
            locals: Locals::new(vec![LocalAddr::new(Transport::Udp, addr(B))]),
            next: 1000,
            asked: Vec::new(),
            events: Vec::new(),
            to_tag: "uas-tag".into(),
            room: true,
        }
    }
    fn responded(&self) -> Vec<(u16, Vec<(String, String)>)> {
        self.asked
            .iter()
            .filter_map(|a| match a {
                Asked::Respond { status, rows, .. } => Some((*status, rows.clone())),
                _ => None,
            })
            .collect()
    }
    fn states(&self) -> Vec<DialogState> {
        self.events
            .iter()
            .filter_map(|e| match e {
                DialogEvent::StateChanged { state, .. } => Some(*state),
                _ => None,
            })
            .collect()
    }
}

impl Transactions for Fake {
    fn locals(&self) -> &Locals {
        &self.locals
    }
    fn room(&self) -> bool {
        self.room
    }
    fn start_client(
        &mut self,
        _now: Instant,
        method: Method,
        _branch: &str,
        bytes: Bytes,
        target: Target,
        _source: Option<SocketAddr>,
    ) -> Result<ClientTxId, EndpointError> {
        self.next += 1;
        self.asked.push(Asked::Start {
            method: method.to_string(),
            target,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        });
        Ok(ClientTxId(self.next))
    }
    fn send_request(
        &mut self,
        _now: Instant,
        request: Request,
        target: Target,
    ) -> Result<ClientTxId, EndpointError> {
        self.next += 1;
        self.asked.push(Asked::Start {
            method: request.method().to_string(),
            target,
            text: String::from_utf8_lossy(&request.to_bytes()).into_owned(),
        });
        Ok(ClientTxId(self.next))
    }
    fn cancel(&mut self, _now: Instant, invite: ClientTxId) -> Result<ClientTxId, EndpointError> {
        self.asked.push(Asked::Cancel(invite));
        self.next += 1;
        Ok(ClientTxId(self.next))
    }
    fn response(&self, _tx: ServerTxId, status: u16) -> Result<ResponseBuilder, EndpointError> {
        Ok(Response::builder(status))
    }
    fn respond(
        &mut self,
        _now: Instant,
        tx: ServerTxId,
        response: Response,
    ) -> Result<Responded, EndpointError> {
        let rows = response
            .headers()
            .iter()
            .map(|r| (r.name.to_owned(), r.value.to_owned()))
            .collect();
        self.asked.push(Asked::Respond {
            tx,
            status: response.status(),
            rows,
        });
        Ok(self.sent(None))
    }
    fn respond_written(
        &mut self,
        _now: Instant,
        tx: ServerTxId,
        status: u16,
        _record_route: bool,
        extra: &[(&str, &str)],
        _body: Option<(&str, &[u8])>,
        keep: bool,
    ) -> Result<Responded, EndpointError> {
        let rows = extra
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        self.asked.push(Asked::Respond { tx, status, rows });
        Ok(self.sent(keep.then(|| Bytes::from_static(b"SIP/2.0 200 OK\r\n\r\n"))))
    }
    fn server_info(&self, _tx: ServerTxId) -> Option<ServerInfo<'_>> {
        Some(ServerInfo {
            transport: Transport::Udp,
            local: addr(B),
            to_tag: &self.to_tag,
        })
    }
    fn transmit(&mut self, t: Transmit) {
        self.asked.push(Asked::Transmit(
            String::from_utf8_lossy(&t.bytes).into_owned(),
        ));
    }
}

impl Fake {
    fn sent(&self, bytes: Option<Bytes>) -> Responded {
        Responded {
            bytes,
            transport: Transport::Udp,
            local: addr(B),
            destination: addr(A),
        }
    }
}

impl DialogEnv for Fake {
    fn emit(&mut self, e: DialogEvent) {
        self.events.push(e);
    }
}

/// A request as the transaction layer hands it up.
fn request(text: &str) -> Box<Request> {
    let text = text.replace('\n', "\r\n");
    match parse_unchecked(Bytes::from(text), &Default::default()) {
        Ok(SipMessage::Request(r)) => Box::new(r),
        other => panic!("{other:?}"),
    }
}

const INVITE: &str = "INVITE sip:bob@192.0.2.2 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa1
Max-Forwards: 70
From: <sip:alice@a>;tag=caller
To: <sip:bob@b>
Call-ID: call-1
CSeq: 1 INVITE
Contact: <sip:alice@192.0.2.1>
Content-Length: 0

";

fn incoming_call(l: &mut DialogLayer, f: &mut Fake, now: Instant) -> DialogId {
    let up = Up::Request {
        tx: ServerTxId(7),
        request: request(INVITE),
        from: addr(A),
    };
    assert!(
        l.on_up(now, up, f).is_none(),
        "an INVITE is the dialog layer's"
    );
    match f.events.last() {
        Some(DialogEvent::IncomingCall { dialog, tx, .. }) => {
            assert_eq!(*tx, ServerTxId(7));
            *dialog
        }
        other => panic!("{other:?}"),
    }
}

/// Alone, against the fake: an INVITE becomes a call; ringing and accepting answer its
/// server transaction with our Contact (§12.1.1), and the 2xx is kept for retransmission
/// until the ACK (§13.3.1.4).
#[test]
fn a_call_is_answered_through_the_transaction_service() {
    let now = base();
    let (mut l, mut f) = (layer(1), Fake::new());
    let d = incoming_call(&mut l, &mut f, now);
    assert_eq!(l.state(d), Some(DialogState::Trying));
    l.answer(now, d, 180, None, &mut f).unwrap();
    l.answer(now, d, 200, None, &mut f).unwrap();
    let contact = ("Contact".to_owned(), "<sip:192.0.2.2:5060>".to_owned());
    assert_eq!(
        f.responded(),
        [(180, vec![contact.clone()]), (200, vec![contact])]
    );
    assert_eq!(f.states(), [DialogState::Early, DialogState::Confirmed]);
    let info = l.info(d).unwrap();
    assert_eq!(info.local_tag, "uas-tag");
    assert_eq!(info.remote_tag.as_deref(), Some("caller"));
    // Unacknowledged, the 2xx goes again at T1 (§13.3.1.4).
    let at = l.poll_timeout().unwrap();
    assert_eq!(at, now + Duration::from_millis(500));
    l.handle_timeout(at, &mut f);
    assert!(matches!(f.asked.last(), Some(Asked::Transmit(t)) if t.starts_with("SIP/2.0 200")));
    assert_eq!(
        l.answer(now, d, 200, None, &mut f),
        Err(super::DialogError::AlreadyAnswered)
    );
}

/// Alone: a BYE in the call is answered 200 and ends it (§15.1.2); a request in a dialog
/// that does not exist gets 481 (§12.2.2), and so does a BYE outside any dialog (§15.1.2).
#[test]
fn bye_ends_the_call_and_unknown_dialogs_get_481() {
    let now = base();
    let (mut l, mut f) = (layer(1), Fake::new());
    let d = incoming_call(&mut l, &mut f, now);
    l.answer(now, d, 200, None, &mut f).unwrap();
    let ack = INVITE
        .replace("INVITE sip", "ACK sip")
        .replace("CSeq: 1 INVITE", "CSeq: 1 ACK")
        .replace("To: <sip:bob@b>", "To: <sip:bob@b>;tag=uas-tag");
    assert!(
        l.on_up(
            now,
            Up::Ack {
                request: request(&ack),
                from: addr(A)
            },
            &mut f
        )
        .is_none()
    );
    let bye = ack
        .replace("ACK sip", "BYE sip")
        .replace("CSeq: 1 ACK", "CSeq: 2 BYE");
    let up = Up::Request {
        tx: ServerTxId(8),
        request: request(&bye),
        from: addr(A),
    };
    assert!(l.on_up(now, up, &mut f).is_none());
    assert_eq!(f.responded().last().map(|r| r.0), Some(200));
    assert_eq!(
        l.state(d),
        Some(DialogState::Terminated(EndReason::RemoteBye))
    );
    let outside = bye.replace("call-1", "call-3").replace(";tag=uas-tag", "");
    for (tx, text) in [
        (9, bye.replace("call-1", "call-2")),
        (10, outside.clone()),
        (
            11,
            outside
                .replace("BYE sip", "INFO sip")
                .replace("2 BYE", "2 INFO"),
        ),
        (
            12,
            outside
                .replace("BYE sip", "UPDATE sip")
                .replace("2 BYE", "2 UPDATE"),
        ),
        (
            13,
            outside
                .replace("BYE sip", "PRACK sip")
                .replace("2 BYE", "2 PRACK"),
        ),
    ] {
        let up = Up::Request {
            tx: ServerTxId(tx),
            request: request(&text),
            from: addr(A),
        };
        assert!(l.on_up(now, up, &mut f).is_none());
        assert_eq!(f.responded().last().map(|r| r.0), Some(481), "{text}");
    }
    assert_eq!(l.stats().unknown_dialog, 5);
}

/// Alone: a hang-up before the ACK of our 2xx waits for it (§15); when none comes, the BYE
/// goes at 64·T1 (§13.3.1.4) — and if it cannot be sent then, `ByeCompleted` says so, so a
/// hang-up always hears how its BYE went.
#[test]
fn a_bye_held_for_the_ack_reports_its_outcome_even_unsent() {
    let now = base();
    let (mut l, mut f) = (layer(1), Fake::new());
    let d = incoming_call(&mut l, &mut f, now);
    l.answer(now, d, 200, None, &mut f).unwrap();
    l.hangup(now, d, &mut f).unwrap();
    assert_eq!(
        l.state(d),
        Some(DialogState::Terminated(EndReason::LocalBye))
    );
    assert!(
        !f.asked.iter().any(|a| matches!(a, Asked::Start { .. })),
        "no BYE before the ACK"
    );
    f.room = false;
    let mut t = now;
    while let Some(at) = l.poll_timeout() {
        t = at;
        l.handle_timeout(at, &mut f);
        if t > now + Duration::from_secs(100) {
            break;
        }
    }
    let outcomes: Vec<_> = f
        .events
        .iter()
        .filter_map(|e| match e {
            DialogEvent::ByeCompleted { dialog, outcome } => Some((*dialog, *outcome)),
            _ => None,
        })
        .collect();
    assert_eq!(
        outcomes,
        [(d, Err(crate::transaction::layer::Failure::NotSent))]
    );
    assert!(
        t >= now + Duration::from_secs(32),
        "the 2xx was retransmitted until 64·T1"
    );
    assert_eq!(l.count(), 0, "the dialog is forgotten in the end");
}

/// Alone: reports the dialog layer does not own go back up untouched.
#[test]
fn what_is_not_the_dialog_layers_is_given_back() {
    let now = base();
    let (mut l, mut f) = (layer(1), Fake::new());
    let options = INVITE
        .replace("INVITE sip", "OPTIONS sip")
        .replace("CSeq: 1 INVITE", "CSeq: 1 OPTIONS");
    let up = Up::Request {
        tx: ServerTxId(3),
        request: request(&options),
        from: addr(A),
    };
    assert!(matches!(l.on_up(now, up, &mut f), Some(Up::Request { .. })));
    let failed = Up::ClientFailed {
        tx: ClientTxId(42),
        failure: crate::transaction::layer::Failure::Timeout,
    };
    assert!(matches!(
        l.on_up(now, failed, &mut f),
        Some(Up::ClientFailed { .. })
    ));
    assert!(f.asked.is_empty());
    assert!(f.events.is_empty());
}

/// Alone: hanging up a call not yet answered asks the transaction layer to cancel its
/// INVITE (§9.1); a hang-up after the 2xx sends BYE (§15.1.1).
#[test]
fn hanging_up_cancels_or_sends_bye() {
    let now = base();
    let (mut l, mut f) = (layer(1), Fake::new());
    let opts = InviteOptions::new("sip:bob@192.0.2.2", "<sip:alice@a>", "<sip:bob@b>");
    let d = l.invite(now, opts, &mut f).unwrap();
    let Some(Asked::Start {
        method,
        target,
        text,
    }) = f.asked.first().cloned()
    else {
        panic!("{:?}", f.asked)
    };
    assert_eq!(method, "INVITE");
    assert_eq!(target, Target::new(Transport::Udp, addr(B)));
    assert!(text.contains("Contact: <sip:192.0.2.2:5060>"), "{text}");
    l.hangup(now, d, &mut f).unwrap();
    assert_eq!(f.asked.last(), Some(&Asked::Cancel(ClientTxId(1001))));
}

/// `text` with its first Via branch replaced by `z9hG4bK*` (after checking it is one).
fn without_branch(text: &str) -> String {
    let at = text.find(";branch=z9hG4bK").expect("a branch") + ";branch=z9hG4bK".len();
    let end = at + text[at..].find(';').expect("rport follows");
    assert!(end - at >= 10, "a branch of at least ten random characters");
    format!("{}*{}", &text[..at], &text[end..])
}

/// The INVITE `invite` writes straight to bytes is the one the builder writes, byte for
/// byte but for the branch, for the same seed; and every input the builder refuses is left to the builder.
#[test]
fn the_written_invite_is_the_built_invite() {
    let sdp = Bytes::from_static(b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n");
    let cases = [
        InviteOptions::new("sip:bob@192.0.2.2", "<sip:alice@a.example>", "<sip:bob@b>"),
        InviteOptions::new(
            "sip:bob@192.0.2.2:5070",
            "\"Alice A\" <sip:alice@a>",
            "sip:bob@b",
        )
        .body("application/sdp", sdp.clone()),
        InviteOptions::new("sip:bob@b.example", "<sip:alice@a>", "<sip:bob@b.example>")
            .target(Target::new(Transport::Udp, addr(B))),
        InviteOptions {
            contact: Some("<sip:alice@192.0.2.1:5060;ob>".into()),
            ..InviteOptions::new("sip:bob@192.0.2.2", " <sip:alice@a> ", "<sip:bob@b>\t")
        },
    ];
    let now = base();
    for (i, opts) in cases.into_iter().enumerate() {
        let (mut written, mut wenv) = (layer(11), TxEnv::new());
        written
            .invite(now, opts.clone(), &mut wenv.env())
            .expect("invite");
        let w = wenv.out.tx;
        let (mut check, mut cenv) = (layer(11), TxEnv::new());
        let (call_id, tag) = (check.ids.call_id(None), check.ids.tag());
        assert!(
            check
                .invite_written(now, &opts, &call_id, &tag, &mut cenv.env())
                .expect("no error")
                .is_some(),
            "case {i} takes the written path"
        );
        let (mut built, mut benv) = (layer(11), TxEnv::new());
        let (call_id, tag) = (built.ids.call_id(None), built.ids.tag());
        built
            .invite_built(now, &opts, &call_id, &tag, &mut benv.env())
            .expect("builds");
        let b = benv.out.tx;
        assert_eq!(w.len(), 1, "case {i}");
        // The branch is drawn by whoever writes the Via: the dialog layer on the written
        // path, the transaction layer on the built one. Everything else is the same.
        assert_eq!(
            without_branch(std::str::from_utf8(&w[0].bytes).unwrap()),
            without_branch(std::str::from_utf8(&b[0].bytes).unwrap()),
            "case {i}"
        );
        assert_eq!(w[0].destination, b[0].destination, "case {i}");
    }
}

#[test]
fn an_invite_the_builder_refuses_is_refused_with_the_builders_error() {
    let now = base();
    let bad = [
        InviteOptions::new("sip:bob@192.0.2.2", "<sip:alice@a>\r\nX: y", "<sip:bob@b>"),
        InviteOptions::new("sip:bob@192.0.2.2", "<sip:alice@a>", "<sip:bob@b"),
        InviteOptions {
            contact: Some("<sip:alice@192.0.2.1".into()),
            ..InviteOptions::new("sip:bob@192.0.2.2", "<sip:alice@a>", "<sip:bob@b>")
        },
        InviteOptions::new("sip:bob@192.0.2.2 x", "<sip:alice@a>", "<sip:bob@b>"),
    ];
    for (i, opts) in bad.into_iter().enumerate() {
        let (mut e, mut env) = (layer(3), TxEnv::new());
        let (call_id, tag) = (e.ids.call_id(None), e.ids.tag());
        assert!(
            e.invite_written(now, &opts, &call_id, &tag, &mut env.env())
                .expect("no error")
                .is_none(),
            "case {i} is left to the builder"
        );
        let (mut e, mut env) = (layer(3), TxEnv::new());
        let err = e
            .invite(now, opts.clone(), &mut env.env())
            .expect_err("refused");
        let (mut f, mut fenv) = (layer(3), TxEnv::new());
        let (call_id, tag) = (f.ids.call_id(None), f.ids.tag());
        let built = f
            .invite_built(now, &opts, &call_id, &tag, &mut fenv.env())
            .expect_err("refused");
        assert_eq!(format!("{err:?}"), format!("{built:?}"), "case {i}");
        assert!(env.out.tx.is_empty(), "case {i}: nothing sent");
    }
}

/// Alone: ended dialogs move to the table of compact records (ended.rs) and still count
/// against the budget of ended dialogs, not the live limit; both tables give their memory
/// back once the records are forgotten at 64·T1 (`crate::capacity`).
#[test]
fn ended_records_count_as_ended_and_their_table_shrinks_after_a_peak() {
    let now = base();
    let mut c = config();
    c.max_dialogs = 2;
    c.max_ended = 1000;
    let (mut l, mut f) = (DialogLayer::new(c, IdGenerator::new(3), 3), Fake::new());
    let calls = 400;
    for i in 0..calls {
        let invite = INVITE.replace("call-1", &format!("call-x{i}"));
        let up = Up::Request {
            tx: ServerTxId(10_000 + 2 * i),
            request: request(&invite),
            from: addr(A),
        };
        assert!(l.on_up(now, up, &mut f).is_none());
        let d = match f.events.last() {
            Some(DialogEvent::IncomingCall { dialog, .. }) => *dialog,
            other => panic!("call {i}: {other:?}"),
        };
        l.answer(now, d, 200, None, &mut f).unwrap();
        let ack = invite
            .replace("INVITE sip", "ACK sip")
            .replace("CSeq: 1 INVITE", "CSeq: 1 ACK")
            .replace("To: <sip:bob@b>", "To: <sip:bob@b>;tag=uas-tag");
        let up = Up::Ack {
            request: request(&ack),
            from: addr(A),
        };
        assert!(l.on_up(now, up, &mut f).is_none());
        let bye = ack
            .replace("ACK sip", "BYE sip")
            .replace("CSeq: 1 ACK", "CSeq: 2 BYE");
        let up = Up::Request {
            tx: ServerTxId(10_001 + 2 * i),
            request: request(&bye),
            from: addr(A),
        };
        assert!(l.on_up(now, up, &mut f).is_none());
        assert_eq!(
            l.state(d),
            Some(DialogState::Terminated(EndReason::RemoteBye))
        );
    }
    // Two live dialogs at most, yet 400 ended ones kept: records, not live dialogs.
    assert_eq!(
        (l.dialogs.len(), l.ended_dialogs.len(), l.count()),
        (0, 400, 400)
    );
    assert!(l.room(), "ended records do not take the live limit");
    let peak = l.ended_dialogs.capacity();
    assert!(peak >= 400);
    // All forgotten at 64·T1, the table shrunk back.
    let t64 = config().timers.timer_b();
    l.handle_timeout(now + t64 - Duration::from_millis(1), &mut f);
    assert_eq!(l.count(), 400);
    l.handle_timeout(now + t64, &mut f);
    assert_eq!(l.count(), 0);
    let cap = l.ended_dialogs.capacity();
    assert!(
        cap < peak / 2 && cap < 2 * crate::capacity::MIN,
        "{peak} → {cap}"
    );
    assert_eq!(l.poll_timeout(), None);
}
