//! The endpoint's side of RFC 3263: commands whose next hop is a host name are held while
//! the [resolver](crate::resolver) runs, then sent to the first target, with the other
//! targets kept for [failover](super::failover). The driver drains
//! [`Endpoint::poll_dns_query`] after every input and command (like `poll_output`), looks
//! each query up, and hands the answer to [`Endpoint::handle_dns_answer`].
//!
//! A next hop that is an IP literal (or an explicit [`Target`]) never reaches this module:
//! its commands take the path they always took, with no lookup and no allocation more.

use std::time::Instant;

use crate::dialog::{DialogId, DialogState, EndReason, InviteOptions};
use crate::message::header::NameAddr;
use crate::message::uri::Uri;
use crate::registration::{RegisterOptions, RegistrationId, RegistrationState};
use crate::resolver::{
    Destination, DnsAnswer, DnsQuery, DnsQueryId, DomainTarget, Resolution, ResolutionId,
    ResolveError, ResolvedTarget,
};
use crate::transaction::layer::ClientTxId;

use super::{Endpoint, Event};

/// A command waiting for its next hop to be resolved.
#[derive(Debug)]
pub(super) enum Held {
    /// A call, under the dialog id `invite` returned.
    Invite(DialogId, Box<InviteOptions>),
    /// A registration, under the id `register` returned.
    Register(RegistrationId, Box<RegisterOptions>),
    /// A dialog's next hop (§12.2.1.1), with its text.
    Hop(DialogId, Box<str>),
}

/// The host name an out-of-dialog request's next hop needs resolved, if it is one: the
/// first pre-loaded Route (§8.1.2) or else the Request-URI. `None` for an IP literal, a
/// URI that is not SIP, or text that does not parse (the usual path reports those).
pub(super) fn domain_hop(uri: &str, headers: &[(String, String)]) -> Option<DomainTarget> {
    let route = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("route"))
        .map(|(_, v)| first_route(v));
    let hop = match route {
        Some(r) => Some(NameAddr::parse(r).ok()?.uri().ok()?.to_string()),
        // The usual Request-URI of a call through a trunk or proxy: no parse to find that
        // there is nothing to resolve (the send path parses it anyway).
        None if names_ip_literal(uri) => return None,
        None => None,
    };
    let text = hop.as_deref().unwrap_or(uri);
    match Destination::from_uri(&Uri::parse(text).ok()?).ok()? {
        Destination::Domain(d) => Some(d),
        Destination::Numeric(_) => None,
    }
}

/// Whether `uri` is a `sip:` or `sips:` URI whose host is an IP literal and which has no
/// `maddr` parameter: then RFC 3263 §4 asks no lookup whatever the rest says (§4.1, §4.2:
/// a numeric host is used as it is). A quick look at the text only: the user part ends at
/// the last `@` (no `@` may appear unescaped after it, RFC 3261 §25.1), the host at the
/// port, a parameter or the headers. Any other form answers `false` and is parsed in full.
fn names_ip_literal(uri: &str) -> bool {
    let Some(rest) = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))
    else {
        return false;
    };
    let b = rest.as_bytes();
    // One pass: where the host starts (after the last '@') and where parameters start.
    let (mut host, mut params) = (0, b.len());
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'@' => host = i + 1,
            b';' if params == b.len() => params = i,
            _ => {}
        }
    }
    if params < b.len()
        && b[params..]
            .windows(5)
            .any(|w| w.eq_ignore_ascii_case(b"maddr"))
    {
        return false;
    }
    let host = &b[host.min(b.len())..];
    if host.first() == Some(&b'[') {
        return host
            .iter()
            .position(|&c| c == b']')
            .and_then(|end| std::str::from_utf8(&host[1..end]).ok())
            .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok());
    }
    is_dotted_quad(host)
}

/// Whether `b` starts with four decimal octets (0–255, no leading zero) joined by dots and
/// ends there or at a port, a parameter or the headers.
fn is_dotted_quad(b: &[u8]) -> bool {
    let (mut octets, mut value, mut digits) = (0u8, 0u16, 0u8);
    for &c in b {
        match c {
            b'0'..=b'9' => {
                if digits == 1 && value == 0 {
                    return false;
                }
                value = value * 10 + u16::from(c - b'0');
                digits += 1;
                if digits > 3 || value > 255 {
                    return false;
                }
            }
            b'.' if digits > 0 && octets < 3 => (octets, value, digits) = (octets + 1, 0, 0),
            b':' | b';' | b'?' => return octets == 3 && digits > 0,
            _ => return false,
        }
    }
    octets == 3 && digits > 0
}

/// The first value of a Route header's comma-separated list.
fn first_route(v: &str) -> &str {
    match v.find('>') {
        Some(end) => &v[..=end],
        None => v.split(',').next().unwrap_or(v),
    }
}

impl Endpoint {
    /// The next DNS query for the driver, if any (RFC 3263 lookups for requests whose next
    /// hop is a host name). Drain it after every input and command, like
    /// [`Endpoint::poll_output`]; answer each with [`Endpoint::handle_dns_answer`], and
    /// answer [`DnsAnswer::Failed`] when a lookup times out.
    #[must_use]
    pub fn poll_dns_query(&mut self) -> Option<DnsQuery> {
        self.resolver.poll_query()
    }

    /// The answer to DNS query `id`. Resolutions it completes send their held requests
    /// (or fail them: the call ends `Terminated(TransportError)`, the registration
    /// `Failed(503)`, as RFC 3261 §8.1.3.1 treats a request that reached no server).
    pub fn handle_dns_answer(&mut self, now: Instant, id: DnsQueryId, answer: DnsAnswer) {
        self.resolver.handle_answer(now, id, answer);
        while let Some((rid, result)) = self.resolver.poll_resolved() {
            if let Some(held) = self.held.remove(&rid.0) {
                self.release(now, held, result);
            }
        }
        self.pump(now);
    }

    /// The domain a target was resolved for (RFC 3263), if it was: the name a TLS driver
    /// sends as SNI and checks the server's certificate against (RFC 5922 §4). `None` for
    /// a target that came from an IP literal.
    pub fn resolved_domain(&self, target: &crate::endpoint::Target) -> Option<&str> {
        self.resolver.domain_of(target).map(|d| &**d)
    }

    /// DNS queries the resolver sent to the driver so far (cache hits send none).
    pub fn dns_queries_sent(&self) -> u64 {
        self.resolver.queries_sent()
    }

    /// Requests retried at another target after a failure (RFC 3263 §4.3).
    pub fn failovers(&self) -> u64 {
        self.failover.retries
    }

    /// Starts resolving `dest` for `held`: sends it at once if the cache had everything,
    /// else holds it.
    pub(super) fn resolve_and_send(&mut self, now: Instant, dest: DomainTarget, held: Held) {
        match self.resolver.resolve(now, dest) {
            Ok(Resolution::Ready(result)) => self.release(now, held, result),
            Ok(Resolution::Pending(ResolutionId(id))) => {
                self.held.insert(id, held);
            }
            Err(e) => self.release(now, held, Err(e)),
        }
        self.pump(now);
    }

    /// Starts resolving the dialogs' next hops that are host names (their requests go over
    /// the dialog's flow until then).
    pub(super) fn resolve_hops(&mut self, now: Instant) {
        while let Some((dialog, dest, hop)) =
            self.dialogs.as_mut().and_then(|d| d.take_hop_to_resolve())
        {
            if !self.can_hold() {
                break;
            }
            match self.resolver.resolve(now, dest) {
                Ok(Resolution::Ready(result)) => self.release(now, Held::Hop(dialog, hop), result),
                Ok(Resolution::Pending(ResolutionId(id))) => {
                    self.held.insert(id, Held::Hop(dialog, hop));
                }
                Err(_) => {}
            }
        }
    }

    /// Whether `dialog` is a call waiting for its next hop to be resolved.
    pub(super) fn is_held_call(&self, dialog: DialogId) -> bool {
        self.held
            .values()
            .any(|h| matches!(h, Held::Invite(d, _) if *d == dialog))
    }

    /// Drops a call waiting for its next hop: nothing was sent; it ends
    /// `Terminated(Cancelled)`. Whether it was one.
    pub(super) fn drop_held_call(&mut self, dialog: DialogId) -> bool {
        let before = self.held.len();
        self.held
            .retain(|_, h| !matches!(h, Held::Invite(d, _) if *d == dialog));
        if self.held.len() == before {
            return false;
        }
        self.out.event(Event::DialogStateChanged {
            dialog,
            state: DialogState::Terminated(EndReason::Cancelled),
        });
        true
    }

    /// Whether another held command fits (the resolver bounds its pending resolutions).
    pub(super) fn can_hold(&self) -> bool {
        self.held.len() < self.config.resolver.max_pending
    }

    /// Sends a held command to the first target of `result` and lets failover follow the
    /// rest; or fails it.
    fn release(
        &mut self,
        now: Instant,
        held: Held,
        result: Result<Vec<ResolvedTarget>, ResolveError>,
    ) {
        match held {
            Held::Invite(dialog, opts) => {
                let sent = result.ok().and_then(|mut targets| {
                    let first = targets.remove(0);
                    let opts = (*opts).target(first.target);
                    let id = self
                        .with_dialogs(now, |d, below| d.invite_as(now, Some(dialog), opts, below))
                        .ok()?;
                    let tx = self.dialogs.as_ref()?.invite_tx(id)?;
                    self.follow(tx, targets);
                    Some(())
                });
                if sent.is_none() {
                    self.out.event(Event::DialogStateChanged {
                        dialog,
                        state: DialogState::Terminated(EndReason::TransportError),
                    });
                }
            }
            // A hop that does not resolve stays on the dialog's flow.
            Held::Hop(dialog, hop) => {
                if let Ok(targets) = result {
                    self.hop_resolved(dialog, &hop, &targets);
                }
            }
            Held::Register(reg, mut opts) => {
                let sent = result.ok().and_then(|mut targets| {
                    let first = targets.remove(0);
                    opts.target = Some(first.target);
                    self.with_registrations(now, |regs, below| {
                        regs.register_as(now, Some(reg), *opts, below)
                    })
                    .ok()?;
                    let tx = self.regs.in_flight(reg)?;
                    self.follow(tx, targets);
                    Some(())
                });
                if sent.is_none() {
                    self.out.event(Event::Registration {
                        registration: reg,
                        state: RegistrationState::Failed(503),
                    });
                }
            }
        }
    }

    /// (See [`Endpoint::resolve_hops`].)
    fn hop_resolved(&mut self, dialog: DialogId, hop: &str, targets: &[ResolvedTarget]) {
        if let (Some(d), Some(first)) = (self.dialogs.as_mut(), targets.first()) {
            d.resolved_hop(dialog, hop, first.target.clone());
        }
    }

    /// Failover follows client transaction `tx` over the `rest` of its targets.
    fn follow(&mut self, tx: ClientTxId, rest: Vec<ResolvedTarget>) {
        if rest.is_empty() {
            return;
        }
        if let Some(bytes) = self.txl.client_bytes(tx) {
            self.failover.track(tx, bytes, rest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::{EndpointConfig, Input, Output, Transmit};
    use crate::resolver::{DnsRecord, RecordData, RecordType, Srv};
    use crate::transport::Transport;
    use std::net::SocketAddr;
    use std::time::Duration;

    fn srv(priority: u16, host: &str) -> DnsRecord {
        DnsRecord {
            ttl: 60,
            data: RecordData::Srv(Srv {
                priority,
                weight: 0,
                port: 5060,
                target: host.into(),
            }),
        }
    }

    fn drain(ep: &mut Endpoint) -> (Vec<Transmit>, Vec<Event>) {
        let (mut t, mut e) = (Vec::new(), Vec::new());
        while let Some(o) = ep.poll_output() {
            match o {
                Output::Transmit(x) => t.push(x),
                Output::Event(x) => e.push(x),
            }
        }
        (t, e)
    }

    fn deliver(to: &mut Endpoint, from: SocketAddr, t: Transmit) {
        #[allow(clippy::disallowed_methods)]
        let now = Instant::now();
        to.handle_input(
            now,
            Input::Receive {
                transport: t.transport,
                from,
                to: t.destination,
                bytes: t.bytes,
            },
        );
    }

    /// The whole §4.3 path inside the core: the call is held while DNS answers, goes to
    /// the first SRV target, moves to the second on its 503, and the TU sees one
    /// Confirmed; when every transaction has ended, failover keeps nothing.
    #[test]
    fn held_call_fails_over_on_503_and_leaves_nothing_behind() {
        #[allow(clippy::disallowed_methods)]
        let now = Instant::now();
        let (a, b1, b2): (SocketAddr, SocketAddr, SocketAddr) = (
            "192.0.2.1:5060".parse().unwrap(),
            "192.0.2.2:5060".parse().unwrap(),
            "192.0.2.3:5060".parse().unwrap(),
        );
        let mut alice = Endpoint::new(EndpointConfig::with_local(Transport::Udp, a), 1);
        let mut bob1 = Endpoint::builder(EndpointConfig::with_local(Transport::Udp, b1))
            .without_dialog_layer()
            .build(2);
        let mut bob2 = Endpoint::new(EndpointConfig::with_local(Transport::Udp, b2), 3);
        let call = alice
            .invite(
                now,
                InviteOptions::new("sip:bob@example.test", "<sip:a@a>", "<sip:b@b>"),
            )
            .unwrap();
        assert!(drain(&mut alice).0.is_empty(), "held while resolving");
        while let Some(q) = alice.poll_dns_query() {
            let answer = match (q.record_type, &*q.name) {
                (RecordType::Srv, "_sip._udp.example.test") => {
                    DnsAnswer::Records(vec![srv(1, "192.0.2.2"), srv(2, "192.0.2.3")])
                }
                _ => DnsAnswer::NxDomain { ttl: None },
            };
            alice.handle_dns_answer(now, q.id, answer);
        }
        let (t, _) = drain(&mut alice);
        assert_eq!(t[0].destination, b1);
        deliver(&mut bob1, a, t[0].clone());
        let (_, e) = drain(&mut bob1);
        let Some(Event::IncomingRequest { tx, .. }) = e.into_iter().next() else {
            panic!()
        };
        bob1.respond_with(now, tx, 503).unwrap();
        let (t, _) = drain(&mut bob1);
        deliver(&mut alice, b1, t[0].clone());
        let (t, e) = drain(&mut alice);
        assert!(e.is_empty(), "the 503 is not the TU's: {e:?}");
        let invite = t.iter().find(|t| t.destination == b2).unwrap().clone();
        deliver(&mut bob2, a, invite);
        let (_, e) = drain(&mut bob2);
        let Some(Event::IncomingCall { dialog, .. }) = e.into_iter().next() else {
            panic!()
        };
        bob2.dialog(dialog).unwrap().accept(now, None).unwrap();
        let (t, _) = drain(&mut bob2);
        deliver(&mut alice, b2, t[0].clone());
        let (_, e) = drain(&mut alice);
        let states: Vec<_> = e
            .iter()
            .filter_map(|e| match e {
                Event::DialogStateChanged { dialog, state } if *dialog == call => Some(*state),
                _ => None,
            })
            .collect();
        assert_eq!(states, [DialogState::Confirmed]);
        assert_eq!(alice.failovers(), 1);
        assert_eq!(
            alice.resolved_domain(&crate::endpoint::Target::new(Transport::Udp, b2)),
            Some("example.test")
        );
        alice.handle_timeout(now + Duration::from_secs(64));
        drain(&mut alice);
        assert!(alice.failover.is_idle());
    }

    /// A call hung up while its host name resolves is dropped: nothing is ever sent, and
    /// the late answer finds nothing to release.
    #[test]
    fn hanging_up_a_held_call_drops_it() {
        #[allow(clippy::disallowed_methods)]
        let now = Instant::now();
        let a: SocketAddr = "192.0.2.1:5060".parse().unwrap();
        let mut ep = Endpoint::new(EndpointConfig::with_local(Transport::Udp, a), 1);
        let call = ep
            .invite(
                now,
                InviteOptions::new("sip:bob@example.test:5060", "<sip:a@a>", "<sip:b@b>"),
            )
            .unwrap();
        let q = ep.poll_dns_query().unwrap();
        ep.dialog(call).unwrap().hangup(now).unwrap();
        let (t, e) = drain(&mut ep);
        assert!(t.is_empty());
        assert!(matches!(
            e.as_slice(),
            [Event::DialogStateChanged {
                state: DialogState::Terminated(EndReason::Cancelled),
                ..
            }]
        ));
        let answer = DnsAnswer::Records(vec![DnsRecord {
            ttl: 60,
            data: RecordData::A([192, 0, 2, 2].into()),
        }]);
        ep.handle_dns_answer(now, q.id, answer);
        let (t, e) = drain(&mut ep);
        assert!(t.is_empty() && e.is_empty());
        assert_eq!(
            ep.dialog(call).err(),
            Some(crate::dialog::DialogError::UnknownDialog)
        );
    }

    #[test]
    fn the_hop_is_the_first_route_else_the_request_uri() {
        let d = domain_hop("sip:bob@example.test", &[]).unwrap();
        assert_eq!(&*d.name, "example.test");
        assert!(domain_hop("sip:bob@192.0.2.1", &[]).is_none());
        let route = vec![(
            "Route".to_owned(),
            "<sip:proxy.example.test;lr>, <sip:other.test;lr>".to_owned(),
        )];
        let d = domain_hop("sip:bob@192.0.2.1", &route).unwrap();
        assert_eq!(&*d.name, "proxy.example.test");
        let route = vec![("route".to_owned(), "<sip:192.0.2.9;lr>".to_owned())];
        assert!(domain_hop("sip:bob@example.test", &route).is_none());
    }

    #[test]
    fn the_quick_look_at_ip_literals_agrees_with_the_full_parse() {
        // Said numeric by the quick look: the full parse finds no host name either.
        for uri in [
            "sip:bob@192.0.2.1",
            "sip:192.0.2.1:5070;transport=tcp",
            "sips:alice;phone-context=x@192.0.2.1?subject=a",
            "sip:bob@[2001:db8::1]:5060",
            "sip:a:pw@10.0.0.1;lr",
        ] {
            assert!(names_ip_literal(uri), "{uri}");
            let full = Uri::parse(uri).ok().map(|u| Destination::from_uri(&u));
            assert!(!matches!(full, Some(Ok(Destination::Domain(_)))), "{uri}");
        }
        // Left to the full parse: a name, a maddr (which wins over the host, §4.1), other
        // schemes, hosts that only look numeric.
        for uri in [
            "sip:bob@example.test",
            "sip:bob@192.0.2.1;maddr=proxy.example.test",
            "sip:bob@192.0.2.1;MADDR=proxy.example.test",
            "tel:+15551234",
            "SIP:bob@192.0.2.1",
            "sip:bob@192.0.2.1.example.test",
            "sip:bob@[2001:db8::1",
            "sip:bob@300.0.2.1",
            "sip:bob@01.0.2.1",
            "sip:bob@1.2.3",
            "sip:bob@1.2.3.4.5",
            "sip:bob@1..3.4",
            "sip:bob@1.2.3.",
        ] {
            assert!(!names_ip_literal(uri), "{uri}");
        }
        assert!(domain_hop("sip:bob@192.0.2.1;maddr=proxy.example.test", &[]).is_some());
    }
}
