//! # sip-pbx
//!
//! The sample PBX behind the drivers' example apps — sip-tokio's `uas`, sip-mio's
//! `mio_uas` — and the interop tests that run them against SIPp and Kamailio: every
//! decision it makes, written once and driven by the core's types, so both drivers behave
//! the same. It does no I/O and reads no clock: a driver's app hands it each request and
//! `now`, and carries out the [`CallPlan`] or [`Reply`] it gets back.
//!
//! | request | the PBX's answer |
//! |---|---|
//! | INVITE, a new call | with `auth`: 407 with `Proxy-Authenticate` until the credentials are right (§22.3); then 180, `ring` later 200 with the answer to the caller's offer from [`Pbx::media`] (PCMU, PCMA, telephone-event; RFC 3264 §6), or 488 with Warning 304/305 when no offered stream is acceptable; an INVITE without an offer gets the PBX's offer in the 200 |
//! | REGISTER, with `registrar` | with `auth`: 401 with `WWW-Authenticate` until right (§22.2, `stale=true` for a stale or replayed nonce, RFC 7616 §3.3, §3.4); then 403 unless the To is the user's own AOR ([`OwnAor`](sip_core::registrar::OwnAor), §10.3 step 4); then the registrar's answer (§10.3) |
//! | MESSAGE outside calls | 200 (RFC 3428 §7) |
//! | OPTIONS, anything else outside calls | left to the endpoint's policy: 200 with Allow and Accept, or 405 with Allow ([`Endpoint::decline`](sip_core::endpoint::Endpoint::decline)) |
//! | INVITE with `Require: 100rel` (or `Supported: 100rel` with `--prefer-100rel`) | the 180 sent reliably, with `Require: 100rel` and `RSeq`, retransmitted until its PRACK, which gets 200 (RFC 3262 §3, [`reliable_provisionals`]) |
//! | INVITE or re-INVITE with `Supported: timer` and a Session-Expires below 90 | 422 with `Min-SE: 90`, by the endpoint's session timers ([`session_timers`], RFC 4028 §9) |
//! | re-INVITE in a call | [`InDialogPlan::AnswerOffer`]: the answer to its offer, the direction mirrored (a `sendonly` hold answered `recvonly`, `inactive` with `inactive`, RFC 3264 §6.1, §8.4), 488 when nothing is acceptable (and the negotiated Session-Expires) |
//! | UPDATE with an offer, in an early or confirmed call | [`InDialogPlan::AnswerOffer`]: its 200 carries the answer (RFC 3311 §5.2); 491 or 500 from the endpoint when it crosses another offer |
//! | INFO, UPDATE without a body, MESSAGE, OPTIONS, ... in a call | 200 |
//! | REFER in a call | accepted; the app calls the target, reports its progress in NOTIFYs, then hangs that call up (there is no media to bridge) |
//!
//! ```
//! use std::time::{Duration, Instant};
//! use sip_pbx::{CallPlan, Pbx, PbxConfig};
//! # #[allow(clippy::disallowed_methods)]
//! let now = Instant::now();
//! let mut pbx = Pbx::new(PbxConfig { ring: Duration::from_millis(500), ..PbxConfig::default() }, now);
//! let invite = sip_core::message::parse(
//!     bytes::Bytes::from_static(b"INVITE sip:u@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\
//!       Max-Forwards: 70\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:u@y>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\
//!       Contact: <sip:a@192.0.2.1>\r\nContent-Length: 0\r\n\r\n"),
//!     &Default::default(),
//! ).unwrap();
//! let invite = invite.as_request().unwrap();
//! assert_eq!(pbx.on_call(now, invite), CallPlan::Answer { ring: Duration::from_millis(500) });
//! assert_eq!(pbx.report().calls_received, 1);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cli;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sip_core::auth::{ChallengeKind, NonceManager, UserAuth};
use sip_core::endpoint::EndpointConfig;
use sip_core::message::{Method, Request};
use sip_core::registrar::{Binding, Registrant, Registrar};
use sip_core::rng::IdGenerator;
use sip_core::sdp::Session;
use sip_core::sdp::negotiate::{self, Answer, LocalMedia, NegotiationError};

/// A fixed SDP answer (RFC 4566; PCMU on a port nothing listens on), for apps that answer
/// without offer/answer. The PBX itself answers each offer with [`Pbx::answer`]'s rules.
pub const ANSWER_SDP: &str = "v=0\r\n\
o=sip-pbx 1 1 IN IP4 127.0.0.1\r\n\
s=-\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
m=audio 6000 RTP/AVP 0\r\n\
a=rtpmap:0 PCMU/8000\r\n";

/// The Content-Type of [`ANSWER_SDP`].
pub const SDP: &str = "application/sdp";

/// How the PBX behaves.
#[derive(Debug, Clone, Default)]
pub struct PbxConfig {
    /// How long to ring (after the 180) before answering.
    pub ring: Duration,
    /// Serve REGISTER as a registrar (RFC 3261 §10.3) instead of leaving it to the
    /// endpoint's policy (405).
    pub registrar: bool,
    /// `(user, password)` of each user: unless empty, REGISTERs and INVITEs must carry
    /// digest credentials of one of them (§22; RFC 7616 as [`UserAuth`] applies it), and a
    /// user may register only their own address of record, `user@realm` (§10.3 step 4).
    pub auth: Vec<(String, String)>,
    /// The digest realm.
    pub realm: String,
    /// Keys the nonces (a random one if `None`, taken from the process's hash seed).
    pub seed: Option<u64>,
    /// The media the PBX answers offers with; `None`: PCMU, PCMA and telephone-event
    /// (101) on 127.0.0.1:6000, where nothing listens (the PBX bridges no media).
    pub media: Option<LocalMedia>,
}

/// What to do with a request inside a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InDialogPlan {
    /// Answer it so.
    Reply(Reply),
    /// A re-INVITE: answer its offer from [`Pbx::media`] through the endpoint's offer/answer
    /// (`answer_offer`): 200 with the answer, or 488 when no stream is acceptable; without
    /// an offer, 200 with the PBX's offer.
    AnswerOffer,
}

/// The PBX's session timers (RFC 4028): on, asking for 1800 s (§4's recommended
/// interval) and accepting no less than Min-SE 90 s (§4's floor), so an INVITE with
/// `Session-Expires: 60` is refused 422 with `Min-SE: 90` and its retry with 90 succeeds.
/// A UAC that supports timers is left the refreshes (§9); for one that does not, the PBX
/// refreshes, and either way a call whose refreshes stop is ended with BYE (§10).
pub fn session_timers() -> sip_core::dialog::SessionTimers {
    sip_core::dialog::SessionTimers::on(1800, sip_core::dialog::session_timer::MIN_SE_FLOOR)
}

/// The PBX's reliable provisional responses (RFC 3262): supported, so an INVITE that
/// requires `100rel` gets a reliable 180 (RSeq, retransmitted until its PRACK) rather than
/// 420, and one that merely supports it gets a plain 180 unless the app prefers reliable
/// ones (`--prefer-100rel`, [`ReliableProvisionals::Preferred`](sip_core::dialog::ReliableProvisionals)).
pub fn reliable_provisionals() -> sip_core::dialog::ReliableProvisionals {
    sip_core::dialog::ReliableProvisionals::Supported
}

/// What to do with a new call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallPlan {
    /// Refuse it with 407 and these `Proxy-Authenticate` values (§22.3).
    Challenge(Vec<String>),
    /// Ring (180), wait `ring` (unless the caller cancels), then answer the offer from
    /// [`Pbx::media`] (`answer_offer`: 200 with the answer, or 488 with a Warning).
    Answer {
        /// How long to ring.
        ring: Duration,
    },
}

/// An answer the app sends as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Rows to add (Contact, Min-Expires, WWW-Authenticate, ...).
    pub headers: Vec<(&'static str, String)>,
    /// A body and its Content-Type.
    pub body: Option<(&'static str, &'static str)>,
}

impl Reply {
    fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: None,
        }
    }
}

/// What to do with a request outside any call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestPlan {
    /// Answer it so.
    Reply(Reply),
    /// Leave it to the endpoint's policy (`Endpoint::decline` with `Unhandled::NoListener`):
    /// 200 with Allow and Accept to OPTIONS, 405 with Allow to the rest.
    Decline,
}

/// The PBX's counters; shared by the tasks of a multi-threaded app.
#[derive(Debug, Default)]
pub struct Counters {
    calls_received: AtomicU64,
    calls_answered: AtomicU64,
    calls_failed: AtomicU64,
    calls_cancelled: AtomicU64,
    calls_ended: AtomicU64,
    options: AtomicU64,
    not_allowed: AtomicU64,
    in_dialog_requests: AtomicU64,
    transfers: AtomicU64,
    transfers_succeeded: AtomicU64,
    registrations: AtomicU64,
    challenges: AtomicU64,
    auth_failures: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    /// A call was answered with 200.
    pub fn answered(&self) {
        bump(&self.calls_answered);
    }
    /// A call could not be answered: cancelled by the caller while ringing (`cancelled`),
    /// or the answer was refused.
    pub fn failed(&self, cancelled: bool) {
        bump(&self.calls_failed);
        if cancelled {
            bump(&self.calls_cancelled);
        }
    }
    /// An answered call is over.
    pub fn ended(&self) {
        bump(&self.calls_ended);
    }
    /// A transfer was accepted (its target is being called).
    pub fn transfer_started(&self) {
        bump(&self.transfers);
    }
    /// A transfer's call ended with `status` (a 2xx: it succeeded).
    pub fn transfer_ended(&self, status: u16) {
        if (200..300).contains(&status) {
            bump(&self.transfers_succeeded);
        }
    }
}

/// What a PBX did: its own counters and the stack's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    /// INVITEs for new calls.
    pub calls_received: u64,
    /// Calls answered with 200 OK.
    pub calls_answered: u64,
    /// Calls that could not be answered (cancelled by the caller while ringing, or the
    /// answer refused).
    pub calls_failed: u64,
    /// Of the failed calls, those the caller cancelled.
    pub calls_cancelled: u64,
    /// Answered calls that are over (BYE either way).
    pub calls_ended: u64,
    /// OPTIONS outside calls (answered by the endpoint's policy).
    pub options: u64,
    /// Requests left to the endpoint's policy that it answers 405 Method Not Allowed.
    pub not_allowed: u64,
    /// Requests answered inside calls (INFO, UPDATE, re-INVITE, ...).
    pub in_dialog_requests: u64,
    /// REFERs accepted.
    pub transfers: u64,
    /// Transfers whose new call was answered.
    pub transfers_succeeded: u64,
    /// REGISTERs accepted (200) by the registrar.
    pub registrations: u64,
    /// Live bindings in the registrar.
    pub bindings: u64,
    /// Digest challenges sent (401, 407).
    pub challenges: u64,
    /// Requests whose credentials were wrong (bad password, user, realm, uri, qop or
    /// algorithm) or replayed (a nonce-count that did not grow).
    pub auth_failures: u64,
    /// Retransmissions the stack sent (requests and responses).
    pub retransmissions: u64,
    /// Retransmitted requests the stack absorbed.
    pub absorbed_retransmissions: u64,
    /// Received messages that did not parse.
    pub parse_errors: u64,
    /// Messages the stack received.
    pub messages_received: u64,
    /// New requests the stack refused with 503 for want of room (transactions at work,
    /// lingering ones, dialogs: see `EndpointConfig::max_transactions`).
    pub overload_rejections: u64,
}

impl Report {
    /// The stack's counters added to the PBX's.
    pub fn with_stack(mut self, s: sip_core::endpoint::Stats) -> Report {
        self.retransmissions = s.retransmissions;
        self.absorbed_retransmissions = s.absorbed_retransmissions;
        self.parse_errors = s.parse_errors;
        self.messages_received = s.received;
        self.overload_rejections = s.overload_rejections;
        self
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "calls received:        {}", self.calls_received)?;
        writeln!(f, "calls answered:        {}", self.calls_answered)?;
        writeln!(
            f,
            "calls failed:          {} ({} cancelled)",
            self.calls_failed, self.calls_cancelled
        )?;
        writeln!(f, "calls ended:           {}", self.calls_ended)?;
        writeln!(f, "OPTIONS answered:      {}", self.options)?;
        writeln!(f, "405 answers:           {}", self.not_allowed)?;
        writeln!(f, "in-dialog requests:    {}", self.in_dialog_requests)?;
        writeln!(
            f,
            "transfers:             {} ({} succeeded)",
            self.transfers, self.transfers_succeeded
        )?;
        writeln!(
            f,
            "registrations:         {} ({} bindings)",
            self.registrations, self.bindings
        )?;
        writeln!(f, "challenges sent:       {}", self.challenges)?;
        writeln!(f, "auth failures:         {}", self.auth_failures)?;
        writeln!(f, "messages received:     {}", self.messages_received)?;
        writeln!(f, "retransmissions sent:  {}", self.retransmissions)?;
        writeln!(
            f,
            "retransmissions absorbed: {}",
            self.absorbed_retransmissions
        )?;
        writeln!(f, "parse errors:          {}", self.parse_errors)?;
        write!(f, "503 (overloaded):      {}", self.overload_rejections)
    }
}

/// The PBX: its registrar, its digest check and its counters. See the [crate docs](crate).
#[derive(Debug)]
pub struct Pbx {
    ring: Duration,
    media: LocalMedia,
    registrar: Option<Registrar>,
    auth: Option<UserAuth>,
    counters: std::sync::Arc<Counters>,
}

impl Pbx {
    /// A PBX; `epoch` starts its nonces' clock.
    pub fn new(config: PbxConfig, epoch: Instant) -> Pbx {
        let auth = (!config.auth.is_empty()).then(|| {
            // The nonce key: from the seed, or from the process's hash randomness.
            let seed = config.seed.unwrap_or_else(|| {
                use std::hash::BuildHasher;
                std::collections::hash_map::RandomState::new().hash_one(epoch)
            });
            let mut ids = IdGenerator::new(seed ^ 0x6e6f_6e63_655f_6b65);
            let nonces = NonceManager::new(&mut ids, epoch);
            config.auth.iter().fold(
                UserAuth::new(&config.realm, nonces),
                |a, (user, password)| a.with_user(user, password),
            )
        });
        let media = config.media.unwrap_or_else(|| {
            LocalMedia::telephone(std::net::Ipv4Addr::LOCALHOST.into(), 6000, 1)
        });
        Pbx {
            ring: config.ring,
            media,
            registrar: config.registrar.then(Registrar::new),
            auth,
            counters: Default::default(),
        }
    }

    /// The counters, for the app's tasks to update as calls go.
    pub fn counters(&self) -> std::sync::Arc<Counters> {
        self.counters.clone()
    }

    /// A new call: challenge it or answer it.
    pub fn on_call(&mut self, now: Instant, invite: &Request) -> CallPlan {
        let c = &self.counters;
        bump(&c.calls_received);
        if let Some(auth) = &mut self.auth
            && let Err(refused) = auth.check(now, invite, ChallengeKind::Proxy)
        {
            bump(&c.challenges);
            if refused.is_failure() {
                bump(&c.auth_failures);
            }
            return CallPlan::Challenge(refused.challenges);
        }
        CallPlan::Answer { ring: self.ring }
    }

    /// A request outside any call.
    pub fn on_request(&mut self, now: Instant, req: &Request) -> RequestPlan {
        let c = &self.counters;
        match req.method() {
            Method::Register if self.registrar.is_some() => {
                RequestPlan::Reply(self.register(now, req))
            }
            Method::Options => {
                bump(&c.options);
                RequestPlan::Decline
            }
            // RFC 3428 §7: an instant message delivered is answered 200.
            Method::Message => RequestPlan::Reply(Reply::status(200)),
            _ => {
                bump(&c.not_allowed);
                RequestPlan::Decline
            }
        }
    }

    /// A request in a call: a re-INVITE's offer answered, 200 to anything else.
    pub fn on_in_dialog(&mut self, req: &Request) -> InDialogPlan {
        bump(&self.counters.in_dialog_requests);
        // RFC 3311 §5.2: an UPDATE with a session description is an offer to answer.
        let update_offer = *req.method() == Method::Update
            && !req.body().is_empty()
            && req
                .content_type()
                .and_then(Result::ok)
                .is_some_and(|ct| ct.subtype.eq_ignore_ascii_case("sdp"));
        if *req.method() == Method::Invite || update_offer {
            return InDialogPlan::AnswerOffer;
        }
        InDialogPlan::Reply(Reply::status(200))
    }

    /// The media the PBX answers offers with (pass it to `answer_offer`).
    pub fn media(&self) -> &LocalMedia {
        &self.media
    }

    /// The answer the PBX gives `offer` (RFC 3264 §6), as the endpoint's `answer_offer`
    /// builds it from [`Pbx::media`]: for apps and tests that hold the offer themselves.
    pub fn answer(&self, offer: &Session, version: u64) -> Result<Answer, NegotiationError> {
        negotiate::answer(offer, &self.media, version)
    }

    /// The endpoint configuration the PBX needs on top of `base`: offer/answer on
    /// (`EndpointConfig::offer_answer`), so offers are answered through [`Pbx::media`].
    pub fn endpoint_config(mut base: EndpointConfig) -> EndpointConfig {
        base.offer_answer = true;
        base
    }

    /// A REGISTER: challenged (401) unless authenticated, refused (403) unless the user may
    /// bind the To's AOR, then bound (RFC 3261 §10.3), with the registrar's Contact and
    /// Min-Expires rows.
    fn register(&mut self, now: Instant, req: &Request) -> Reply {
        let c = &self.counters;
        let who = match self
            .auth
            .as_mut()
            .map(|a| a.check(now, req, ChallengeKind::Www))
        {
            None => None,
            Some(Ok(who)) => Some(who),
            Some(Err(refused)) => {
                bump(&c.challenges);
                if refused.is_failure() {
                    bump(&c.auth_failures);
                }
                let headers = refused
                    .challenges
                    .into_iter()
                    .map(|v| ("WWW-Authenticate", v))
                    .collect();
                return Reply {
                    status: 401,
                    headers,
                    body: None,
                };
            }
        };
        let registrant = who
            .as_ref()
            .map_or(Registrant::Unauthenticated, Registrant::Authenticated);
        let Some(registrar) = self.registrar.as_mut() else {
            return Reply::status(500);
        };
        match registrar.respond(now, req, registrant, "pbx") {
            Ok(resp) => {
                let headers = ["Contact", "Min-Expires"]
                    .into_iter()
                    .flat_map(|n| resp.headers().get_all(n).map(move |v| (n, v.to_owned())))
                    .collect();
                if resp.status() == 200 {
                    bump(&c.registrations);
                }
                Reply {
                    status: resp.status(),
                    headers,
                    body: None,
                }
            }
            Err(e) => {
                let _ = e;
                Reply::status(500)
            }
        }
    }

    /// The live bindings the registrar holds for `aor` (RFC 3261 §10.3), best q first;
    /// empty without a registrar.
    pub fn bindings(&self, now: Instant, aor: &str) -> Vec<Binding> {
        self.registrar
            .as_ref()
            .map(|r| r.lookup(now, aor))
            .unwrap_or_default()
    }

    /// The counters now (the stack's are added with [`Report::with_stack`]).
    pub fn report_at(&mut self, now: Instant) -> Report {
        let bindings = self.registrar.as_mut().map_or(0, |r| {
            r.expire(now);
            r.len() as u64
        });
        Report {
            bindings,
            ..self.report()
        }
    }

    /// The counters now, bindings not counted.
    pub fn report(&self) -> Report {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Report {
            calls_received: get(&c.calls_received),
            calls_answered: get(&c.calls_answered),
            calls_failed: get(&c.calls_failed),
            calls_cancelled: get(&c.calls_cancelled),
            calls_ended: get(&c.calls_ended),
            options: get(&c.options),
            not_allowed: get(&c.not_allowed),
            in_dialog_requests: get(&c.in_dialog_requests),
            transfers: get(&c.transfers),
            transfers_succeeded: get(&c.transfers_succeeded),
            registrations: get(&c.registrations),
            challenges: get(&c.challenges),
            auth_failures: get(&c.auth_failures),
            ..Report::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sip_core::message::{SipMessage, parse};

    #[allow(clippy::disallowed_methods)]
    fn base() -> Instant {
        Instant::now()
    }

    fn request(text: &str) -> Request {
        let text = text.replace('\n', "\r\n");
        match parse(bytes::Bytes::from(text), &Default::default()) {
            Ok(SipMessage::Request(r)) => r,
            other => panic!("{other:?}"),
        }
    }

    fn register(extra: &str) -> Request {
        register_to("alice", extra)
    }

    /// A REGISTER from alice binding `user`'s AOR to alice's contact.
    fn register_to(user: &str, extra: &str) -> Request {
        request(&format!(
            "REGISTER sip:192.0.2.2 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKr1
Max-Forwards: 70
From: <sip:alice@192.0.2.2>;tag=1
To: <sip:{user}@192.0.2.2>
Call-ID: reg-1
CSeq: 1 REGISTER
Contact: <sip:alice@192.0.2.1>
Expires: 600
{extra}Content-Length: 0

"
        ))
    }

    #[test]
    fn a_registrar_binds_and_the_rest_is_left_to_the_endpoint() {
        let now = base();
        let mut pbx = Pbx::new(
            PbxConfig {
                registrar: true,
                ..PbxConfig::default()
            },
            now,
        );
        let RequestPlan::Reply(r) = pbx.on_request(now, &register("")) else {
            panic!("the registrar answers REGISTER")
        };
        assert_eq!(r.status, 200);
        assert!(
            r.headers
                .iter()
                .any(|(n, v)| *n == "Contact" && v.contains("alice"))
        );
        assert_eq!(pbx.bindings(now, "sip:alice@192.0.2.2").len(), 1);
        let options = request(
            "OPTIONS sip:192.0.2.2 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKo1
Max-Forwards: 70
From: <sip:alice@192.0.2.2>;tag=1
To: <sip:pbx@192.0.2.2>
Call-ID: o-1
CSeq: 1 OPTIONS
Content-Length: 0

",
        );
        assert_eq!(pbx.on_request(now, &options), RequestPlan::Decline);
        let report = pbx.report_at(now);
        assert_eq!(
            (report.registrations, report.bindings, report.options),
            (1, 1, 1)
        );
    }

    #[test]
    fn with_auth_a_register_is_challenged_until_its_credentials_are_right() {
        let now = base();
        let mut pbx = Pbx::new(
            PbxConfig {
                registrar: true,
                auth: vec![("alice".into(), "s3cret".into())],
                realm: "192.0.2.2".into(),
                seed: Some(1),
                ..PbxConfig::default()
            },
            now,
        );
        let RequestPlan::Reply(r) = pbx.on_request(now, &register("")) else {
            panic!()
        };
        assert_eq!(r.status, 401);
        let (_, challenge) = r.headers.first().expect("a WWW-Authenticate row");
        let c = sip_core::auth::Challenge::parse_all(challenge)
            .unwrap()
            .remove(0);
        let mut ids = IdGenerator::new(3);
        let creds = sip_core::auth::answer(
            &c,
            "REGISTER",
            "sip:192.0.2.2",
            b"",
            "alice",
            "s3cret",
            1,
            &mut ids,
        )
        .unwrap();
        let row = format!("Authorization: {}\n", creds.to_header_value());
        let RequestPlan::Reply(r) = pbx.on_request(now, &register(&row)) else {
            panic!()
        };
        assert_eq!(r.status, 200);
        let report = pbx.report();
        assert_eq!((report.challenges, report.registrations), (1, 1));
    }

    /// The `Authorization` row answering the first challenge of a 401 as `user`.
    fn authorization(r: &Reply, user: &str, password: &str, nc: u32) -> String {
        let (_, challenge) = r.headers.first().expect("a WWW-Authenticate row");
        let c = sip_core::auth::Challenge::parse(challenge).unwrap();
        let mut ids = IdGenerator::new(3);
        let creds = sip_core::auth::answer(
            &c,
            "REGISTER",
            "sip:192.0.2.2",
            b"",
            user,
            password,
            nc,
            &mut ids,
        )
        .unwrap();
        format!("Authorization: {}\n", creds.to_header_value())
    }

    fn reply(pbx: &mut Pbx, now: Instant, req: &Request) -> Reply {
        match pbx.on_request(now, req) {
            RequestPlan::Reply(r) => r,
            RequestPlan::Decline => panic!("the registrar answers REGISTER"),
        }
    }

    /// RFC 3261 §10.3 step 4: with alice's valid credentials, binding bob's AOR is refused
    /// with 403 and bob stays unbound; RFC 7616 §3.4: the Authorization that bound alice,
    /// sent again, is challenged (401, `stale=true`) and binds nothing.
    #[test]
    fn a_user_binds_only_their_own_aor_and_credentials_do_not_replay() {
        let now = base();
        let mut pbx = Pbx::new(
            PbxConfig {
                registrar: true,
                auth: vec![
                    ("alice".into(), "s3cret".into()),
                    ("bob".into(), "b0b".into()),
                ],
                realm: "192.0.2.2".into(),
                seed: Some(1),
                ..PbxConfig::default()
            },
            now,
        );
        let challenge = reply(&mut pbx, now, &register_to("bob", ""));
        assert_eq!(challenge.status, 401);
        let row = authorization(&challenge, "alice", "s3cret", 1);
        let hijack = reply(&mut pbx, now, &register_to("bob", &row));
        assert_eq!(hijack.status, 403);
        assert!(pbx.bindings(now, "sip:bob@192.0.2.2").is_empty());

        let challenge = reply(&mut pbx, now, &register(""));
        let row = authorization(&challenge, "alice", "s3cret", 1);
        assert_eq!(reply(&mut pbx, now, &register(&row)).status, 200);
        let replayed = reply(&mut pbx, now, &register(&row));
        assert_eq!(replayed.status, 401);
        assert!(
            replayed
                .headers
                .iter()
                .all(|(_, v)| v.contains("stale=true"))
        );
        // bob, with his own password, binds his own AOR.
        let challenge = reply(&mut pbx, now, &register_to("bob", ""));
        let row = authorization(&challenge, "bob", "b0b", 1);
        assert_eq!(reply(&mut pbx, now, &register_to("bob", &row)).status, 200);
        let report = pbx.report();
        assert_eq!((report.registrations, report.auth_failures), (2, 1));
    }

    #[test]
    fn requests_in_a_call_get_200_and_a_reinvite_the_answer() {
        let mut pbx = Pbx::new(PbxConfig::default(), base());
        let reinvite = request(
            "INVITE sip:u@192.0.2.2 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK2
Max-Forwards: 70
From: <sip:a@x>;tag=1
To: <sip:u@y>;tag=2
Call-ID: c
CSeq: 2 INVITE
Contact: <sip:a@192.0.2.1>
Content-Length: 0

",
        );
        assert_eq!(pbx.on_in_dialog(&reinvite), InDialogPlan::AnswerOffer);
        let info = request(
            "INFO sip:u@192.0.2.2 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK3
Max-Forwards: 70
From: <sip:a@x>;tag=1
To: <sip:u@y>;tag=2
Call-ID: c
CSeq: 3 INFO
Content-Length: 0

",
        );
        assert_eq!(
            pbx.on_in_dialog(&info),
            InDialogPlan::Reply(Reply::status(200))
        );
        assert_eq!(pbx.report().in_dialog_requests, 2);
        // RFC 3311 §5.2: an UPDATE with an offer is answered through offer/answer, one
        // without a body gets 200.
        let update = |body: &str| {
            let ct = if body.is_empty() {
                String::new()
            } else {
                "Content-Type: application/sdp\r\n".to_owned()
            };
            let text = format!(
                "UPDATE sip:u@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK4\r\n\
                 Max-Forwards: 70\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:u@y>;tag=2\r\n\
                 Call-ID: c\r\nCSeq: 4 UPDATE\r\n{ct}Content-Length: {}\r\n\r\n{body}",
                body.len()
            );
            let m =
                sip_core::message::parse(bytes::Bytes::from(text), &Default::default()).unwrap();
            m.as_request().unwrap().clone()
        };
        assert_eq!(
            pbx.on_in_dialog(&update("v=0\r\n")),
            InDialogPlan::AnswerOffer
        );
        assert_eq!(
            pbx.on_in_dialog(&update("")),
            InDialogPlan::Reply(Reply::status(200))
        );
    }

    /// The PBX's answers, offer by offer: its codecs in the caller's order, the direction
    /// mirrored (the bug of old: a hold offer got a fixed sendrecv answer), 488's warning.
    #[test]
    fn offers_are_answered_with_pcmu_pcma_and_telephone_event() {
        use sip_core::sdp::{Direction, SessionDescription};
        let pbx = Pbx::new(PbxConfig::default(), base());
        let offer = |media: &str| {
            let text = format!(
                "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n{media}"
            );
            SessionDescription::parse(text.as_bytes())
                .unwrap()
                .into_session()
        };
        let rows = [
            ("a=sendrecv", Direction::SendRecv),
            ("a=sendonly", Direction::RecvOnly),
            ("a=recvonly", Direction::SendOnly),
            ("a=inactive", Direction::Inactive),
        ];
        for (attr, answered) in rows {
            let o = offer(&format!(
                "m=audio 4000 RTP/AVP 18 8 0 96\r\na=rtpmap:96 telephone-event/8000\r\n{attr}\r\n"
            ));
            let a = pbx.answer(&o, 2).unwrap();
            let m = &a.sdp.media[0];
            assert_eq!(m.formats, ["8", "0", "96"], "{attr}");
            assert_eq!(m.direction(), Some(answered), "{attr}");
            assert_eq!((m.port, a.media[0].codec.as_str()), (6000, "PCMA"));
        }
        let g729 = offer("m=audio 4000 RTP/AVP 18\r\n");
        let e = pbx.answer(&g729, 1).unwrap_err();
        assert_eq!(e.warn_code(), 305);
        assert!(Pbx::endpoint_config(EndpointConfig::default()).offer_answer);
    }

    #[test]
    fn a_message_outside_calls_gets_200_rfc3428_s7() {
        let mut pbx = Pbx::new(PbxConfig::default(), base());
        let message = request(
            "MESSAGE sip:u@192.0.2.2 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK3
Max-Forwards: 70
From: <sip:a@x>;tag=1
To: <sip:u@y>
Call-ID: m
CSeq: 1 MESSAGE
Content-Type: text/plain
Content-Length: 2

hi",
        );
        match pbx.on_request(base(), &message) {
            RequestPlan::Reply(r) => assert_eq!(r.status, 200),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_pbx_runs_session_timers_with_min_se_90_rfc4028_s4() {
        let st = session_timers();
        assert!(st.enabled);
        assert_eq!(st.min_se, 90);
    }
}
