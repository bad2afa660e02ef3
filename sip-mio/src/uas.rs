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

use std::fmt;
use std::net::IpAddr;
use std::time::Instant;

use bytes::Bytes;
use sip_core::dialog::{DialogState, EndReason};
use sip_core::endpoint::{Endpoint, Event};
use sip_core::message::Method;

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
}

impl fmt::Display for UasCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "calls={} answered={} acks={} byes={} cancels={} options={} refers={} in_dialog={} rejected={} failures={} errors={}",
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
            self.errors
        )
    }
}

/// The answering machine. See the [module docs](self).
#[derive(Debug, Default)]
pub struct Uas {
    counters: UasCounters,
}

impl Uas {
    /// A UAS with zeroed counters.
    pub fn new() -> Self {
        Uas::default()
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
        }
    }

    /// Handles one endpoint event: answers what needs an answer, counts the rest.
    pub fn handle(&mut self, ep: &mut Endpoint, now: Instant, event: &Event) {
        let ok = match event {
            Event::IncomingCall {
                dialog, request, ..
            } => {
                self.counters.calls += 1;
                let sdp = Bytes::from(sdp_answer(request.body(), local_ip(ep)));
                let r = ep
                    .answer(now, *dialog, 180, None)
                    .and_then(|()| ep.answer(now, *dialog, 200, Some(("application/sdp", sdp))));
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
                        ep.answer(now, *dialog, 200, Some(("application/sdp", sdp)))
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
                ep.accept_refer(now, *refer)
                    .and_then(|()| ep.notify_refer(now, *refer, 200))
                    .map_err(|e| e.to_string())
            }
            Event::ClientTxFailed { .. } | Event::ServerTxFailed { .. } => {
                self.counters.failures += 1;
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(e) = ok {
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
