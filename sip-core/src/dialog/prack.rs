//! Reliable provisional responses (RFC 3262): the `100rel` option tag, RSeq and RAck, the
//! UAS's retransmission of a reliable 1xx until its PRACK, and the UAC's automatic PRACK.
//!
//! | side | on | does |
//! |---|---|---|
//! | UAS | INVITE with `Require: 100rel` (or `Supported: 100rel` and [`ReliableProvisionals::Preferred`]) | its 101–199 go reliably: `Require: 100rel`, `RSeq` (§3) |
//! | UAS | a reliable 1xx while another awaits its PRACK | refused: [`DialogError::ReliablePending`](super::DialogError::ReliablePending) (§3) |
//! | UAS | no PRACK yet | the 1xx again at T1, 2·T1, 4·T1, … (§3) |
//! | UAS | no PRACK after 64·T1 | the INVITE refused 500 (§3) |
//! | UAS | PRACK whose RAck matches the outstanding 1xx | 200; retransmissions stop; a held 2xx goes out (§3) |
//! | UAS | PRACK matching nothing | 481 (§3) |
//! | UAS | a 2xx while a 1xx that carried an offer awaits its PRACK | the 2xx is held until that PRACK (§3) |
//! | UAC | a reliable 1xx with the next RSeq (or the first) | passed up, PRACK sent in its own transaction with `RAck` (§4) |
//! | UAC | a reliable 1xx with an RSeq already seen or out of order | discarded (§4) |
//!
//! Off by default ([`ReliableProvisionals::Off`]): an INVITE requiring `100rel` is then
//! refused 420, INVITEs carry no `Supported: 100rel`, and plain calls pay one test.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::layer::Body;
use crate::message::Method;
use crate::transport::Transport;

/// The option tag of RFC 3262 (§7.1).
pub const TAG: &str = "100rel";

/// Whether and when the endpoint uses reliable provisional responses (RFC 3262).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReliableProvisionals {
    /// No `100rel`: an INVITE with `Require: 100rel` is answered 420 (RFC 3261 §8.2.2.3),
    /// provisional responses are sent unreliably and reliable ones received are not
    /// PRACKed. The default: applications that do not use the extension send and pay what
    /// they did before it existed.
    #[default]
    Off,
    /// `Supported: 100rel` on our INVITEs and PRACKs for reliable 1xx received; as UAS,
    /// provisional responses go reliably when the INVITE requires it (§3).
    Supported,
    /// As [`Supported`](Self::Supported), and as UAS also when the INVITE only lists
    /// `100rel` in Supported (§3: the UAS may then choose to).
    Preferred,
}

impl ReliableProvisionals {
    /// Whether the extension is in use at all.
    pub fn enabled(self) -> bool {
        self != ReliableProvisionals::Off
    }

    /// Whether the provisional responses to an INVITE that requires (`required`) or
    /// supports (`supported`) `100rel` go reliably (§3).
    pub fn reliable_for(self, required: bool, supported: bool) -> bool {
        match self {
            ReliableProvisionals::Off => false,
            ReliableProvisionals::Supported => required,
            ReliableProvisionals::Preferred => required || supported,
        }
    }
}

/// The value of an `RAck` header (RFC 3262 §7.2): the RSeq of the response acknowledged,
/// and the CSeq number and method of its request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RAck {
    /// The RSeq of the reliable provisional response.
    pub rseq: u32,
    /// The CSeq number of the request it answered.
    pub cseq: u32,
    /// The method of that request.
    pub method: Method,
}

impl RAck {
    /// Parses `response-num CSeq-num Method` (§7.2); `None` when malformed.
    pub fn parse(s: &str) -> Option<RAck> {
        let mut it = s.split_ascii_whitespace();
        let rseq = parse_num(it.next()?)?;
        let cseq = parse_num(it.next()?)?;
        let method = it.next()?.parse::<Method>().ok()?;
        it.next().is_none().then_some(RAck { rseq, cseq, method })
    }
}

/// A sequence number of RSeq or RAck: 1 to 2^32 − 1 (§7.1), digits only.
pub fn parse_num(s: &str) -> Option<u32> {
    let s = s.trim();
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u32>().ok().filter(|n| *n > 0)
}

/// The first RSeq of a transaction: random, from 1 to 2^31 − 1 (§3), so that 2^31 more
/// fit before it wraps.
pub(crate) fn first_rseq(random: u64) -> u32 {
    (random % ((1u64 << 31) - 1)) as u32 + 1
}

/// A reliable provisional response awaiting its PRACK (§3).
#[derive(Debug)]
pub(crate) struct Outstanding {
    pub(super) rseq: u32,
    pub(super) bytes: Bytes,
    pub(super) transport: Transport,
    pub(super) source: SocketAddr,
    pub(super) destination: SocketAddr,
    pub(super) interval: Duration,
    pub(super) next: Instant,
    pub(super) give_up: Instant,
    /// The response carried an offer: the 2xx waits for its PRACK (§3).
    pub(super) offer: bool,
}

impl Outstanding {
    /// The next instant the response needs attention.
    pub(super) fn due(&self) -> Instant {
        self.next.min(self.give_up)
    }
}

/// A dialog's reliable-provisional state (boxed in the dialog, only where 100rel is used).
#[derive(Debug, Default)]
pub(crate) struct PrackState {
    /// UAS: the provisional responses of the INVITE go reliably; the RSeq of the next one.
    pub(super) next_rseq: Option<u32>,
    /// UAS: the INVITE's CSeq number (RAck's second field must match it).
    pub(super) invite_cseq: u32,
    /// UAS: the reliable 1xx awaiting PRACK.
    pub(super) outstanding: Option<Outstanding>,
    /// UAS: a 2xx (status and body) held until the PRACK of an offer-carrying 1xx.
    pub(super) held: Option<(u16, Option<Body>)>,
    /// UAC: the RSeq of the last reliable 1xx taken (§4).
    pub(super) last_rseq: Option<u32>,
}

impl PrackState {
    /// UAS state for an INVITE with CSeq `cseq`, its first RSeq drawn from `random`.
    pub(super) fn uas(cseq: u32, random: u64) -> PrackState {
        PrackState {
            next_rseq: Some(first_rseq(random)),
            invite_cseq: cseq,
            ..PrackState::default()
        }
    }

    /// Whether `rack` acknowledges the outstanding response (§3: RSeq, CSeq number and
    /// method all match).
    pub(super) fn matches(&self, rack: &RAck) -> bool {
        self.outstanding.as_ref().is_some_and(|o| {
            o.rseq == rack.rseq && rack.cseq == self.invite_cseq && rack.method == Method::Invite
        })
    }

    /// UAC §4: whether a reliable 1xx with `rseq` is new and in order (the first one, or
    /// one more than the last); if so it becomes the last.
    pub(super) fn take_rseq(&mut self, rseq: u32) -> bool {
        let fresh = match self.last_rseq {
            None => true,
            Some(last) => rseq == last.wrapping_add(1),
        };
        if fresh {
            self.last_rseq = Some(rseq);
        }
        fresh
    }

    /// The next instant the UAS side needs attention.
    pub(super) fn due(&self) -> Option<Instant> {
        self.outstanding.as_ref().map(Outstanding::due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rack_parses_three_fields_rfc3262_s7_2() {
        assert_eq!(
            RAck::parse("776656 1 INVITE"),
            Some(RAck {
                rseq: 776656,
                cseq: 1,
                method: Method::Invite
            })
        );
        assert_eq!(RAck::parse(" 5  2 INVITE "), RAck::parse("5 2 INVITE"));
        for bad in [
            "",
            "1 INVITE",
            "x 1 INVITE",
            "1 1 INVITE extra",
            "0 1 INVITE",
            "-1 1 INVITE",
        ] {
            assert_eq!(RAck::parse(bad), None, "{bad:?}");
        }
        assert_eq!(parse_num("4294967296"), None);
        assert_eq!(parse_num("4294967295"), Some(u32::MAX));
    }

    #[test]
    fn first_rseq_is_between_1_and_2_pow_31_rfc3262_s3() {
        for r in [0, 1, u64::MAX, (1 << 31) - 2, (1 << 31) - 1, 1 << 40] {
            let n = first_rseq(r);
            assert!((1..1 << 31).contains(&n), "{r} -> {n}");
        }
    }

    #[test]
    fn the_uac_takes_rseqs_in_order_only_rfc3262_s4() {
        let mut s = PrackState::default();
        assert!(s.take_rseq(10));
        assert!(!s.take_rseq(10), "a retransmission");
        assert!(!s.take_rseq(12), "out of order");
        assert!(s.take_rseq(11));
        assert_eq!(s.last_rseq, Some(11));
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // a test's arbitrary instant
    fn rack_must_match_rseq_cseq_and_method_rfc3262_s3() {
        let t = Instant::now();
        let mut s = PrackState::uas(7, 99);
        let rack = |rseq, cseq, method| RAck { rseq, cseq, method };
        assert!(
            !s.matches(&rack(100, 7, Method::Invite)),
            "nothing outstanding"
        );
        s.outstanding = Some(Outstanding {
            rseq: 100,
            bytes: Bytes::new(),
            transport: Transport::Udp,
            source: "127.0.0.1:1".parse().unwrap(),
            destination: "127.0.0.1:2".parse().unwrap(),
            interval: Duration::from_millis(500),
            next: t,
            give_up: t,
            offer: false,
        });
        assert!(s.matches(&rack(100, 7, Method::Invite)));
        assert!(!s.matches(&rack(101, 7, Method::Invite)));
        assert!(!s.matches(&rack(100, 8, Method::Invite)));
        assert!(!s.matches(&rack(100, 7, Method::Update)));
    }

    #[test]
    fn who_sends_reliably_rfc3262_s3() {
        use ReliableProvisionals::*;
        assert!(!Off.reliable_for(true, true));
        assert!(Supported.reliable_for(true, false));
        assert!(!Supported.reliable_for(false, true));
        assert!(Preferred.reliable_for(false, true));
        assert!(!Preferred.reliable_for(false, false));
    }
}
