//! A small in-memory registrar and location service (RFC 3261 §10.3): bindings of an address
//! of record to contacts with expiry and q-values, `Contact: *` with `Expires: 0`, Min-Expires
//! (423), the Call-ID/CSeq ordering rule, and the authorization step: who may bind which
//! address of record (403, see [`AorPolicy`]). Sans-IO: a driver hands it a REGISTER and
//! who sent it, and sends the response it builds.

mod authorization;

pub use authorization::{AnyAor, AorPolicy, OwnAor, Registrant};

use crate::message::{HeaderName, NameAddr, Request, Response, ResponseBuilder};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One contact bound to an address of record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The contact URI.
    pub uri: String,
    /// When it runs out.
    pub expires_at: Instant,
    /// q-value in thousandths (1000 when absent).
    pub q: u16,
    /// Call-ID and CSeq of the REGISTER that set it (§10.3 step 7).
    pub call_id: String,
    /// CSeq number.
    pub cseq: u32,
    /// The connection the REGISTER came over when the contact cannot be reached any other
    /// way: a WebSocket client's (RFC 7118 §5, its contact host is `.invalid`). Requests
    /// for this contact go over it ([`Flow::target`]), never to the contact's host.
    pub flow: Option<Flow>,
    /// The REGISTER's Path header values, in order (RFC 3327 §5.3): the proxies between
    /// the registrar and the contact, which requests for it are routed through.
    pub path: Vec<String>,
}

/// A connection a contact is reached over: the transport and the client's address (its
/// connection's remote end), from the REGISTER's top Via `received` and `rport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    /// The transport of the connection.
    pub transport: crate::transport::Transport,
    /// The client's end of it.
    pub remote: std::net::SocketAddr,
}

impl Flow {
    /// The flow of a REGISTER that came over WebSocket (RFC 7118 §5): its top Via names a
    /// WS or WSS transport and carries the `received` address and `rport` port the
    /// transaction layer stamps on every request received over WebSocket. `None` for
    /// other transports, where the contact is reachable by itself.
    pub fn of_register(req: &Request) -> Option<Flow> {
        let via = req.via()?;
        let transport = via.transport().filter(|t| t.is_websocket())?;
        let ip = crate::transport::parse_ip_literal(via.received()?)?;
        let port = via.rport()??;
        Some(Flow {
            transport,
            remote: std::net::SocketAddr::new(ip, port),
        })
    }

    /// Where a request for the contact goes: this connection (the driver has it open, or
    /// reports a transport error at once when it has closed).
    pub fn target(&self) -> crate::endpoint::Target {
        crate::endpoint::Target::new(self.transport, self.remote)
    }
}

/// Why a REGISTER was refused, with the status to answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrarError {
    /// 400: malformed To or Contact, or `*` without `Expires: 0` (§10.3 step 6).
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// 403: the authenticated user may not modify the bindings of this address of record
    /// (§10.3 step 4).
    #[error("not authorized for this address of record")]
    Forbidden,
    /// 423 Interval Too Brief, with the Min-Expires to announce (§10.3 step 7).
    #[error("interval too brief; min {0}")]
    IntervalTooBrief(u32),
    /// 500: an older REGISTER of the same Call-ID (§10.3 step 7).
    #[error("out-of-order REGISTER")]
    OutOfOrder,
    /// 503: the binding limit is reached.
    #[error("too many bindings")]
    Full,
}

impl RegistrarError {
    /// The status code to answer.
    pub fn status(&self) -> u16 {
        match self {
            RegistrarError::BadRequest(_) => 400,
            RegistrarError::Forbidden => 403,
            RegistrarError::IntervalTooBrief(_) => 423,
            RegistrarError::OutOfOrder => 500,
            RegistrarError::Full => 503,
        }
    }
}

/// The most Path entries kept per binding (RFC 3327 leaves it open; a real path is a few
/// proxies long).
pub const MAX_PATH: usize = 8;

/// The location service.
///
/// Who may bind what is its [`AorPolicy`]: [`OwnAor`] (a user binds only their own AOR)
/// unless [`with_policy`](Self::with_policy) says otherwise.
#[derive(Debug, Clone)]
pub struct Registrar {
    bindings: BTreeMap<String, Vec<Binding>>,
    policy: Arc<dyn AorPolicy>,
    /// Shortest expiry accepted (Min-Expires), seconds. Default 60.
    pub min_expires: u32,
    /// Longest expiry granted, seconds. Default 3600.
    pub max_expires: u32,
    /// Expiry when the request names none, seconds. Default 3600.
    pub default_expires: u32,
    /// Most bindings in all. Default 100,000.
    pub max_bindings: usize,
}

impl Default for Registrar {
    fn default() -> Self {
        Registrar {
            bindings: BTreeMap::new(),
            policy: Arc::new(OwnAor::new()),
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            max_bindings: 100_000,
        }
    }
}

/// The canonical form of an AOR used as the key: scheme, user and lower-case host[:port]
/// (§10.3 step 5).
fn aor_key(to: &NameAddr<'_>) -> Option<String> {
    let uri = to.uri().ok()?;
    let sip = uri.as_sip()?;
    let user = sip
        .user_unescaped()
        .map(|u| u.into_owned())
        .unwrap_or_default();
    Some(format!(
        "{}:{}@{}",
        sip.scheme(),
        user,
        sip.host_port().to_ascii_lowercase()
    ))
}

impl Registrar {
    /// A registrar with default limits.
    pub fn new() -> Self {
        Registrar::default()
    }

    /// Decides who may bind what with `policy` instead of [`OwnAor`].
    pub fn with_policy(mut self, policy: impl AorPolicy + 'static) -> Self {
        self.policy = Arc::new(policy);
        self
    }

    /// Applies a REGISTER sent by `who` (§10.3 steps 4–8) and returns the current bindings
    /// of its AOR. An authenticated registrant the policy does not allow for the To's AOR
    /// gets [`RegistrarError::Forbidden`] (403, step 4), for a query as for a change: the
    /// bindings of another user are not theirs to read either.
    pub fn process(
        &mut self,
        now: Instant,
        req: &Request,
        who: Registrant<'_>,
    ) -> Result<Vec<Binding>, RegistrarError> {
        self.expire(now);
        let to = req.to().ok_or(RegistrarError::BadRequest("missing To"))?;
        let key = aor_key(&to).ok_or(RegistrarError::BadRequest("To is not a SIP AOR"))?;
        if let Registrant::Authenticated(user) = who {
            let uri = to
                .uri()
                .map_err(|_| RegistrarError::BadRequest("malformed To"))?;
            let aor = uri
                .as_sip()
                .ok_or(RegistrarError::BadRequest("To is not a SIP AOR"))?;
            if !self.policy.may_bind(user, aor) {
                return Err(RegistrarError::Forbidden);
            }
        }
        let call_id = req.call_id().unwrap_or("").to_owned();
        let cseq = req.cseq().map_or(0, |c| c.0);
        let flow = Flow::of_register(req);
        let path: Vec<String> = req
            .headers()
            .values("Path")
            .take(MAX_PATH)
            .map(str::to_owned)
            .collect();
        let header_expires = req.expires();
        let star = req
            .headers()
            .get_all(HeaderName::Contact)
            .any(|v| v.trim() == "*");
        if star {
            // §10.3 step 6: `*` only alone and with Expires: 0.
            if header_expires != Some(0) || req.contacts().count() > 0 {
                return Err(RegistrarError::BadRequest(
                    "Contact: * needs Expires: 0 and no other contact",
                ));
            }
            if let Some(list) = self.bindings.get(&key)
                && list.iter().any(|b| b.call_id == call_id && b.cseq >= cseq)
            {
                return Err(RegistrarError::OutOfOrder);
            }
            self.bindings.remove(&key);
            return Ok(Vec::new());
        }
        let mut changes = Vec::new();
        for c in req.contacts() {
            let c = c.map_err(|_| RegistrarError::BadRequest("malformed Contact"))?;
            let expires = c
                .expires()
                .or(header_expires)
                .unwrap_or(self.default_expires);
            if expires != 0 && expires < self.min_expires {
                return Err(RegistrarError::IntervalTooBrief(self.min_expires));
            }
            changes.push((
                c.uri_str().to_owned(),
                expires.min(self.max_expires),
                c.q_millis().unwrap_or(1000),
            ));
        }
        let total: usize = self.bindings.values().map(Vec::len).sum();
        let list = self.bindings.entry(key.clone()).or_default();
        for (uri, expires, q) in changes {
            match list.iter().position(|b| b.uri == uri) {
                Some(i) => {
                    let b = &list[i];
                    if b.call_id == call_id && b.cseq >= cseq {
                        return Err(RegistrarError::OutOfOrder);
                    }
                    if expires == 0 {
                        list.remove(i);
                    } else {
                        list[i] = Binding {
                            uri,
                            expires_at: now + Duration::from_secs(expires.into()),
                            q,
                            call_id: call_id.clone(),
                            cseq,
                            flow,
                            path: path.clone(),
                        };
                    }
                }
                None if expires == 0 => {}
                None => {
                    if total + list.len() >= self.max_bindings {
                        return Err(RegistrarError::Full);
                    }
                    list.push(Binding {
                        uri,
                        expires_at: now + Duration::from_secs(expires.into()),
                        q,
                        call_id: call_id.clone(),
                        cseq,
                        flow,
                        path: path.clone(),
                    });
                }
            }
        }
        let out = list.clone();
        if list.is_empty() {
            self.bindings.remove(&key);
        }
        Ok(out)
    }

    /// Builds the response to a REGISTER sent by `who`: 200 listing every binding with its
    /// remaining `expires` (§10.3 step 8), or the error status (403, 423 with Min-Expires).
    pub fn respond(
        &mut self,
        now: Instant,
        req: &Request,
        who: Registrant<'_>,
        to_tag: &str,
    ) -> Result<Response, crate::message::BuildError> {
        let b: ResponseBuilder = match self.process(now, req, who) {
            Ok(bindings) => {
                let mut b = Response::from_request(req, 200);
                if !to_tag.is_empty() {
                    b = b.to_tag(to_tag);
                }
                for x in &bindings {
                    let left = x.expires_at.saturating_duration_since(now).as_secs();
                    b = b.header("Contact", format!("<{}>;expires={left}", x.uri));
                }
                // RFC 3327 §5.3: the Path stored is echoed to a client that supports it.
                let supports_path = req
                    .headers()
                    .values("Supported")
                    .any(|o| o.eq_ignore_ascii_case("path"));
                if supports_path {
                    for p in req.headers().get_all("Path") {
                        b = b.header("Path", p.to_owned());
                    }
                }
                b
            }
            Err(e) => {
                let mut b = Response::from_request(req, e.status());
                if !to_tag.is_empty() {
                    b = b.to_tag(to_tag);
                }
                if let RegistrarError::IntervalTooBrief(m) = e {
                    b = b.header("Min-Expires", m);
                }
                b
            }
        };
        b.build()
    }

    /// The live bindings of an AOR (as written in a To header or URI), best q first.
    pub fn lookup(&self, now: Instant, aor: &str) -> Vec<Binding> {
        let Ok(a) = NameAddr::parse(aor) else {
            return Vec::new();
        };
        let Some(key) = aor_key(&a) else {
            return Vec::new();
        };
        let mut v: Vec<Binding> = self
            .bindings
            .get(&key)
            .map(|l| l.iter().filter(|b| b.expires_at > now).cloned().collect())
            .unwrap_or_default();
        v.sort_by_key(|b| std::cmp::Reverse(b.q));
        v
    }

    /// Drops expired bindings.
    pub fn expire(&mut self, now: Instant) {
        self.bindings.retain(|_, l| {
            l.retain(|b| b.expires_at > now);
            !l.is_empty()
        });
    }

    /// Number of bindings.
    pub fn len(&self) -> usize {
        self.bindings.values().map(Vec::len).sum()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Authenticated;
    use crate::message::{Method, Request};

    const OPEN: Registrant<'static> = Registrant::Unauthenticated;

    #[allow(clippy::disallowed_methods)]
    fn base() -> Instant {
        Instant::now()
    }

    fn reg(call_id: &str, cseq: u32, contacts: &[&str], expires: Option<u32>) -> Request {
        reg_to("<sip:alice@Example.COM>", call_id, cseq, contacts, expires)
    }

    fn reg_to(
        to: &str,
        call_id: &str,
        cseq: u32,
        contacts: &[&str],
        expires: Option<u32>,
    ) -> Request {
        let mut b = Request::builder(Method::Register, "sip:example.com")
            .header("Via", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKr")
            .max_forwards(70)
            .from("<sip:alice@example.com>", Some("f"))
            .to(to, None)
            .call_id(call_id)
            .cseq(cseq);
        for c in contacts {
            b = b.contact(c);
        }
        if let Some(e) = expires {
            b = b.header("Expires", e);
        }
        b.build().unwrap()
    }

    /// RFC 7118 §5 and RFC 3327 §5.3: a REGISTER that came over WebSocket (its top Via as
    /// the transaction layer stamps it: `received` and `rport`) binds its `.invalid`
    /// contact to that connection, and a Path is stored and echoed when supported.
    #[test]
    fn a_websocket_contact_is_bound_to_its_connection_and_path_kept() {
        let now = base();
        let mut r = Registrar::new();
        let req = Request::builder(Method::Register, "sip:example.com")
            .header(
                "Via",
                "SIP/2.0/WS k3j2.invalid;branch=z9hG4bKw;received=192.0.2.9;rport=50123",
            )
            .max_forwards(70)
            .from("<sip:alice@example.com>", Some("f"))
            .to("<sip:alice@example.com>", None)
            .call_id("ws1")
            .cseq(1)
            .contact("<sip:alice@k3j2.invalid;transport=ws>")
            .header("Path", "<sip:edge.example.com;lr>")
            .header("Supported", "path, outbound")
            .build()
            .unwrap();
        let bound = r.process(now, &req, OPEN).unwrap();
        let flow = bound[0].flow.unwrap();
        assert_eq!(flow.transport, crate::transport::Transport::Ws);
        assert_eq!(flow.remote, "192.0.2.9:50123".parse().unwrap());
        assert_eq!(flow.target().addr, flow.remote);
        assert_eq!(bound[0].path, ["<sip:edge.example.com;lr>"]);
        let ok = Registrar::new().respond(now, &req, OPEN, "t").unwrap();
        assert_eq!(
            ok.headers().get("Path"),
            Some("<sip:edge.example.com;lr>"),
            "{ok:?}"
        );
        // Over UDP the contact is reachable as it is: no flow.
        let udp = reg_to(
            "<sip:bob@example.com>",
            "u1",
            1,
            &["<sip:bob@192.0.2.1>"],
            None,
        );
        assert_eq!(r.process(now, &udp, OPEN).unwrap()[0].flow, None);
    }

    #[test]
    fn bind_refresh_q_and_star() {
        let t0 = base();
        let mut r = Registrar::new();
        let b = r
            .process(
                t0,
                &reg(
                    "c1",
                    1,
                    &["<sip:alice@192.0.2.1>;q=0.5", "<sip:alice@192.0.2.2>"],
                    Some(600),
                ),
                OPEN,
            )
            .unwrap();
        assert_eq!(b.len(), 2);
        let found = r.lookup(t0, "<sip:alice@example.com>");
        assert_eq!(found[0].uri, "sip:alice@192.0.2.2", "best q first");
        assert_eq!(found[1].q, 500);
        // Out of order (same Call-ID, not a higher CSeq): refused.
        assert_eq!(
            r.process(
                t0,
                &reg("c1", 1, &["<sip:alice@192.0.2.1>"], Some(600)),
                OPEN
            ),
            Err(RegistrarError::OutOfOrder)
        );
        // 423 below Min-Expires, with the header.
        let resp = r
            .respond(
                t0,
                &reg("c1", 2, &["<sip:alice@192.0.2.1>"], Some(10)),
                OPEN,
                "t",
            )
            .unwrap();
        assert_eq!(resp.status(), 423);
        assert_eq!(resp.headers().get("Min-Expires"), Some("60"));
        // Expiry.
        assert_eq!(
            r.lookup(t0 + Duration::from_secs(601), "<sip:alice@example.com>")
                .len(),
            0
        );
        // `*` needs Expires: 0.
        assert!(matches!(
            r.process(t0, &reg("c2", 1, &["*"], None), OPEN),
            Err(RegistrarError::BadRequest(_))
        ));
        let resp = r
            .respond(t0, &reg("c2", 1, &["*"], Some(0)), OPEN, "t")
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert!(r.is_empty());
    }

    #[test]
    fn ok_lists_bindings_with_remaining_expiry() {
        let t0 = base();
        let mut r = Registrar::new();
        let resp = r
            .respond(
                t0,
                &reg("c1", 1, &["<sip:alice@192.0.2.1>;expires=120"], Some(600)),
                OPEN,
                "t",
            )
            .unwrap();
        assert_eq!(resp.status(), 200);
        let c = resp.contacts().next().unwrap().unwrap();
        assert_eq!(
            (c.uri_str(), c.expires()),
            ("sip:alice@192.0.2.1", Some(120))
        );
        let resp = r
            .respond(
                t0 + Duration::from_secs(20),
                &reg("c1", 2, &[], None),
                OPEN,
                "t",
            )
            .unwrap();
        assert_eq!(
            resp.contacts().next().unwrap().unwrap().expires(),
            Some(100),
            "a query lists bindings"
        );
    }

    /// §10.3 step 4: alice, authenticated, may bind her own AOR but not bob's (403), whether
    /// adding, removing all (`*`) or only querying; bob's bindings stay as they were.
    #[test]
    fn an_authenticated_user_binds_only_their_own_aor() {
        let t0 = base();
        let mut r = Registrar::new();
        let alice = Authenticated {
            user: "alice".into(),
            realm: "example.com".into(),
        };
        let bob = Authenticated {
            user: "bob".into(),
            realm: "example.com".into(),
        };
        let as_alice = Registrant::Authenticated(&alice);
        let own = reg_to(
            "<sip:alice@example.com>",
            "a",
            1,
            &["<sip:alice@192.0.2.1>"],
            None,
        );
        assert_eq!(r.process(t0, &own, as_alice).map(|b| b.len()), Ok(1));
        let bobs = reg_to(
            "<sip:bob@example.com>",
            "b",
            1,
            &["<sip:bob@192.0.2.7>"],
            None,
        );
        assert_eq!(
            r.process(t0, &bobs, Registrant::Authenticated(&bob))
                .map(|b| b.len()),
            Ok(1)
        );
        let hijack = reg_to(
            "<sip:bob@example.com>",
            "x",
            1,
            &["<sip:evil@203.0.113.9>"],
            None,
        );
        assert_eq!(
            r.process(t0, &hijack, as_alice),
            Err(RegistrarError::Forbidden)
        );
        let resp = r.respond(t0, &hijack, as_alice, "t").unwrap();
        assert_eq!(resp.status(), 403);
        let wipe = reg_to("<sip:bob@example.com>", "x", 2, &["*"], Some(0));
        assert_eq!(
            r.process(t0, &wipe, as_alice),
            Err(RegistrarError::Forbidden)
        );
        let query = reg_to("<sip:bob@example.com>", "x", 3, &[], None);
        assert_eq!(
            r.process(t0, &query, as_alice),
            Err(RegistrarError::Forbidden)
        );
        let bound = r.lookup(t0, "<sip:bob@example.com>");
        assert_eq!(bound.len(), 1);
        assert_eq!(bound[0].uri, "sip:bob@192.0.2.7");
        // Another domain than the realm is not alice's either.
        let elsewhere = reg_to(
            "<sip:alice@example.org>",
            "y",
            1,
            &["<sip:a@192.0.2.1>"],
            None,
        );
        assert_eq!(
            r.process(t0, &elsewhere, as_alice),
            Err(RegistrarError::Forbidden)
        );
        // An application that trusts every user says so.
        let mut open = Registrar::new().with_policy(AnyAor);
        assert!(open.process(t0, &hijack, as_alice).is_ok());
    }
}
