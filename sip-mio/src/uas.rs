//! A user agent server that answers everything: the logic of the `uas` example, kept here
//! so the example and the SIPp interop test run the same code.
//!
//! It works on the endpoint alone (no I/O), so any driver can host it: with this crate,
//! [`Uas::on_driver_event`] runs it inside [`Driver::with_endpoint`], which sends what it
//! produced.
//!
//! | Received | Answer |
//! |---|---|
//! | INVITE (new call) | 180 Ringing, then 200 OK with an SDP answer (RFC 3264) |
//! | ACK, BYE, CANCEL | handled by the core; counted |
//! | re-INVITE | 200 OK with an SDP answer |
//! | INFO, UPDATE, OPTIONS, MESSAGE in a dialog | 200 OK |
//! | OPTIONS out of dialog | 200 OK with Allow and Accept (RFC 3261 §11.2) |
//! | REFER | 202 Accepted, NOTIFY `100 Trying`, NOTIFY `200 OK` (RFC 3515) |
//! | BYE, NOTIFY, INFO, UPDATE, PRACK out of dialog | 481 (§12.2.2) |
//! | anything else | 405 Method Not Allowed with Allow (§8.2.1) |
//!
//! As a test PBX ([`Uas::pbx`]): REGISTER is served by a registrar (§10.3), and with a
//! user and password every REGISTER must carry digest credentials (401 with
//! `WWW-Authenticate`, §22.2) and so must every INVITE (407 with `Proxy-Authenticate`,
//! §22.3); `stale=true` when only the nonce is stale (RFC 7616 §3.3).

use std::fmt;
use std::net::IpAddr;
use std::time::Instant;

use bytes::Bytes;
use sip_core::auth::{ChallengeKind, NonceManager, UserAuth};
use sip_core::dialog::{DialogState, EndReason};
use sip_core::endpoint::{Endpoint, Event, ServerTxId};
use sip_core::message::{Method, Request};
use sip_core::registrar::{Binding, Registrar};
use sip_core::rng::IdGenerator;

use crate::Driver;

/// The methods the UAS answers, for Allow headers.
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY, INFO, UPDATE, MESSAGE";

/// What the UAS saw and did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UasCounters {
    /// New calls (INVITEs out of dialog).
    pub calls: u64,
    /// Calls answered 200.
    pub answered: u64,
    /// ACKs of our 2xx.
    pub acks: u64,
    /// Calls ended by the peer's BYE.
    pub byes: u64,
    /// INVITEs cancelled by the peer.
    pub cancels: u64,
    /// OPTIONS answered out of dialog.
    pub options: u64,
    /// REFERs accepted.
    pub refers: u64,
    /// Requests answered 200 inside a dialog (re-INVITE, INFO, UPDATE, OPTIONS, MESSAGE).
    pub in_dialog: u64,
    /// Requests answered 405 or 481.
    pub rejected: u64,
    /// Transactions that failed (timeouts, transport errors).
    pub failures: u64,
    /// Commands the endpoint refused (a bug or a race; logged).
    pub errors: u64,
    /// REGISTERs accepted (200) by the registrar.
    pub registrations: u64,
    /// Digest challenges sent (401 and 407).
    pub challenges: u64,
    /// Requests whose credentials were wrong (bad password, user or uri).
    pub auth_failures: u64,
}

impl fmt::Display for UasCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "calls={} answered={} acks={} byes={} cancels={} options={} refers={} in_dialog={} rejected={} failures={} errors={} registrations={} challenges={} auth_failures={}",
            self.calls,
            self.answered,
            self.acks,
            self.byes,
            self.cancels,
            self.options,
            self.refers,
            self.in_dialog,
            self.rejected,
            self.failures,
            self.errors,
            self.registrations,
            self.challenges,
            self.auth_failures
        )
    }
}

/// The answering machine. See the [module docs](self).
#[derive(Debug, Default)]
pub struct Uas {
    counters: UasCounters,
    registrar: Option<Registrar>,
    auth: Option<UserAuth>,
}

impl Uas {
    /// A UAS with zeroed counters.
    pub fn new() -> Self {
        Uas::default()
    }

    /// A UAS that also serves as a test PBX: a registrar if `registrar` (else REGISTER is
    /// answered 405), and with `auth = Some((user, password))` digest authentication of
    /// REGISTER and INVITE in `realm`. The nonce key is drawn from `seed`; nonce ages count
    /// from `epoch`.
    pub fn pbx(
        registrar: bool,
        auth: Option<(String, String)>,
        realm: &str,
        seed: u64,
        epoch: Instant,
    ) -> Self {
        Uas {
            registrar: registrar.then(Registrar::new),
            auth: auth.map(|(user, password)| {
                let nonces = NonceManager::new(&mut IdGenerator::new(seed), epoch);
                UserAuth::new(&user, &password, realm, nonces)
            }),
            ..Uas::default()
        }
    }

    /// The live bindings the registrar holds for `aor`, best q first (RFC 3261 §10.3).
    pub fn bindings(&self, now: Instant, aor: &str) -> Vec<Binding> {
        self.registrar
            .as_ref()
            .map(|r| r.lookup(now, aor))
            .unwrap_or_default()
    }

    /// Checks `request`'s credentials if authentication is on; on refusal answers `tx`
    /// with the challenge (401 or 407 per `kind`) and returns `Ok(false)`.
    fn authenticated(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        tx: ServerTxId,
        request: &Request,
        kind: ChallengeKind,
    ) -> Result<bool, sip_core::endpoint::EndpointError> {
        let Some(auth) = self.auth.as_mut() else {
            return Ok(true);
        };
        let Err(refused) = auth.check(now, request, kind) else {
            return Ok(true);
        };
        self.counters.challenges += 1;
        if refused.wrong_credentials {
            self.counters.auth_failures += 1;
        }
        let mut b = ep.response(tx, kind.status())?;
        for c in &refused.challenges {
            b = b.header(kind.challenge_header().as_str(), c);
        }
        let resp = b.build()?;
        ep.respond(now, tx, resp)?;
        Ok(false)
    }

    /// A REGISTER with the registrar on: authenticated, then bound (§10.3), answered with
    /// the registrar's status and Contact / Min-Expires rows.
    fn register(
        &mut self,
        ep: &mut Endpoint,
        now: Instant,
        tx: ServerTxId,
        request: &Request,
    ) -> Result<(), sip_core::endpoint::EndpointError> {
        if !self.authenticated(ep, now, tx, request, ChallengeKind::Www)? {
            return Ok(());
        }
        let Some(registrar) = self.registrar.as_mut() else {
            return ep.respond_with(now, tx, 405);
        };
        let Ok(answer) = registrar.respond(now, request, "pbx") else {
            return ep.respond_with(now, tx, 500);
        };
        let mut b = ep.response(tx, answer.status())?;
        for name in ["Contact", "Min-Expires"] {
            for v in answer.headers().get_all(name) {
                b = b.header(name, v);
            }
        }
        let resp = b.build()?;
        ep.respond(now, tx, resp)?;
        if answer.status() == 200 {
            self.counters.registrations += 1;
        }
        Ok(())
    }

    /// The counters.
    pub fn counters(&self) -> UasCounters {
        self.counters
    }

    /// Handles one endpoint event inside `driver`, which sends the answers.
    pub fn on_driver_event(&mut self, driver: &mut Driver, now: Instant, event: &crate::Event) {
        match event {
            crate::Event::Sip(e) => driver.with_endpoint(now, |ep| self.handle(ep, now, e)),
            crate::Event::TransportError { .. } => self.counters.failures += 1,
            crate::Event::Wake { .. } => {}
        }
    }

    /// Handles one endpoint event: answers what needs an answer, counts the rest.
    pub fn handle(&mut self, ep: &mut Endpoint, now: Instant, event: &Event) {
        let ok = match event {
            Event::IncomingCall {
                dialog,
                tx,
                request,
            } => {
                self.counters.calls += 1;
                // A challenged INVITE is answered 407; the core ends its dialog.
                match self.authenticated(ep, now, *tx, request, ChallengeKind::Proxy) {
                    Ok(true) => {}
                    r => return self.refused(r.map(|_| ())),
                }
                let sdp = Bytes::from(sdp_answer(request.body(), local_ip(ep)));
                let r = ep
                    .dialog(*dialog)
                    .and_then(|mut d| d.answer(now, 180, None))
                    .and_then(|()| {
                        ep.dialog(*dialog)
                            .and_then(|mut d| d.answer(now, 200, Some(("application/sdp", sdp))))
                    });
                if r.is_ok() {
                    self.counters.answered += 1;
                }
                r.map_err(|e| e.to_string())
            }
            Event::AckReceived { .. } => {
                self.counters.acks += 1;
                Ok(())
            }
            Event::Cancelled { .. } => {
                self.counters.cancels += 1;
                Ok(())
            }
            Event::DialogStateChanged {
                state: DialogState::Terminated(EndReason::RemoteBye),
                ..
            } => {
                self.counters.byes += 1;
                Ok(())
            }
            Event::IncomingRequest { tx, request } => {
                let r = match request.method() {
                    Method::Register if self.registrar.is_some() => {
                        self.register(ep, now, *tx, request)
                    }
                    Method::Options => {
                        self.counters.options += 1;
                        ep.response(*tx, 200).and_then(|b| {
                            let resp = b
                                .header("Allow", ALLOW)
                                .header("Accept", "application/sdp")
                                .build()?;
                            ep.respond(now, *tx, resp)
                        })
                    }
                    Method::Bye
                    | Method::Notify
                    | Method::Info
                    | Method::Update
                    | Method::Prack => {
                        self.counters.rejected += 1;
                        ep.respond_with(now, *tx, 481)
                    }
                    _ => {
                        self.counters.rejected += 1;
                        ep.response(*tx, 405).and_then(|b| {
                            let resp = b.header("Allow", ALLOW).build()?;
                            ep.respond(now, *tx, resp)
                        })
                    }
                };
                r.map_err(|e| e.to_string())
            }
            Event::DialogRequest {
                dialog,
                tx,
                request,
            } => {
                let r = match request.method() {
                    Method::Invite => {
                        let sdp = Bytes::from(sdp_answer(request.body(), local_ip(ep)));
                        ep.dialog(*dialog)
                            .and_then(|mut d| d.answer(now, 200, Some(("application/sdp", sdp))))
                            .map_err(|e| e.to_string())
                    }
                    Method::Info | Method::Update | Method::Options | Method::Message => {
                        ep.respond_with(now, *tx, 200).map_err(|e| e.to_string())
                    }
                    _ => {
                        self.counters.rejected += 1;
                        ep.response(*tx, 405)
                            .and_then(|b| {
                                let resp = b.header("Allow", ALLOW).build()?;
                                ep.respond(now, *tx, resp)
                            })
                            .map_err(|e| e.to_string())
                    }
                };
                let answered = matches!(
                    request.method(),
                    Method::Invite
                        | Method::Info
                        | Method::Update
                        | Method::Options
                        | Method::Message
                );
                if r.is_ok() && answered {
                    self.counters.in_dialog += 1;
                }
                r
            }
            Event::ReferReceived { refer, .. } => {
                self.counters.refers += 1;
                ep.refer(*refer)
                    .and_then(|mut r| r.accept(now))
                    .and_then(|()| ep.refer(*refer).and_then(|mut r| r.notify(now, 200)))
                    .map_err(|e| e.to_string())
            }
            Event::ClientTxFailed { .. } | Event::ServerTxFailed { .. } => {
                self.counters.failures += 1;
                Ok(())
            }
            _ => Ok(()),
        };
        self.refused(ok);
    }

    fn refused<E: fmt::Display>(&mut self, r: Result<(), E>) {
        if let Err(e) = r {
            self.counters.errors += 1;
            tracing::warn!(error = %e, "UAS command refused");
        }
    }
}

fn local_ip(ep: &Endpoint) -> IpAddr {
    ep.config()
        .local_addrs
        .first()
        .map(|l| l.addr.ip())
        .filter(|ip| !ip.is_unspecified())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
}

/// An SDP answer to `offer` (RFC 3264 §6): one audio stream on `ip`, port 6000, with the
/// first payload format of the offer's first `m=audio` line (PCMU if there is no offer,
/// which makes this an offer, §13.2.1 late offer).
pub fn sdp_answer(offer: &[u8], ip: IpAddr) -> String {
    let text = std::str::from_utf8(offer).unwrap_or("");
    let mut fmt = "0".to_owned();
    let mut rtpmap = None;
    if let Some(m) = text
        .lines()
        .find_map(|l| l.trim_end().strip_prefix("m=audio "))
    {
        // m=audio <port> <proto> <fmt> ...
        if let Some(f) = m.split_whitespace().nth(2) {
            fmt = f.to_owned();
        }
    }
    let prefix = format!("a=rtpmap:{fmt} ");
    if let Some(r) = text
        .lines()
        .find_map(|l| l.trim_end().strip_prefix(prefix.as_str()))
    {
        rtpmap = Some(r.to_owned());
    }
    if rtpmap.is_none() && fmt == "0" {
        rtpmap = Some("PCMU/8000".to_owned());
    }
    let family = if ip.is_ipv4() { "IP4" } else { "IP6" };
    let mut s = format!(
        "v=0\r\no=sip-mio 1 1 IN {family} {ip}\r\ns=-\r\nc=IN {family} {ip}\r\nt=0 0\r\nm=audio 6000 RTP/AVP {fmt}\r\n"
    );
    if let Some(r) = rtpmap {
        s.push_str(&format!("a=rtpmap:{fmt} {r}\r\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_the_first_audio_format() {
        let offer = b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 9000 RTP/AVP 8 0\r\na=rtpmap:8 PCMA/8000\r\n";
        assert_eq!(
            sdp_answer(offer, IpAddr::from([127, 0, 0, 1])),
            "v=0\r\no=sip-mio 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n"
        );
    }

    #[test]
    fn offers_pcmu_without_an_offer() {
        let ip: IpAddr = "::1".parse().unwrap();
        assert_eq!(
            sdp_answer(b"", ip),
            "v=0\r\no=sip-mio 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
        );
    }
}
