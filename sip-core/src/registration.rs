//! The registration client (RFC 3261 §10.2): REGISTER, the granted expiry, refresh before it
//! runs out, 423 Interval Too Brief, and unregistering. Call-ID stays and CSeq grows across
//! refreshes (§10.2.4).
//!
//! A transaction user of its own beside the dialog layer: it owns its bindings and its
//! timers, sends through the transaction layer's `Transactions` service and hears the outcome of its
//! REGISTERs as the transaction layer reports them.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::message::{HeaderName, Method, Request, Response};
use crate::rng::IdGenerator;
use crate::timer::TimerQueue;
use crate::transaction::layer::{ClientTxId, EndpointError, Failure, Target, Transactions};

type Map<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// Identifies a registration (one AOR → one contact binding at one registrar).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegistrationId(pub(crate) u64);

/// What happened to a registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationState {
    /// The registrar accepted the binding for this many seconds (§10.2.4: the Contact's
    /// `expires`, else the Expires header, else what we asked).
    Registered {
        /// Granted seconds.
        expires: u32,
    },
    /// A REGISTER failed with this status (408 for a timeout). If a binding was in place,
    /// the core keeps retrying until it expires.
    Failed(u16),
    /// The binding ran out without a successful refresh.
    Expired,
    /// `Endpoint::unregister` completed (or the registrar granted 0 seconds).
    Unregistered,
}

/// Options for `Endpoint::register`.
#[derive(Debug, Clone)]
pub struct RegisterOptions {
    /// The registrar's URI: the Request-URI (`sip:example.com`, §10.2).
    pub registrar: String,
    /// The address of record, for To and From (`<sip:alice@example.com>`).
    pub aor: String,
    /// The Contact to bind; by default the local address.
    pub contact: Option<String>,
    /// Seconds asked for (§10.2.1.1).
    pub expires: u32,
    /// The next hop; by default read from the registrar URI (IP only).
    pub target: Option<Target>,
}

impl RegisterOptions {
    /// Register `aor` at `registrar` for `expires` seconds.
    pub fn new(registrar: impl Into<String>, aor: impl Into<String>, expires: u32) -> Self {
        RegisterOptions {
            registrar: registrar.into(),
            aor: aor.into(),
            contact: None,
            expires,
            target: None,
        }
    }
}

/// How long after a failure the core tries again while a binding is still in place.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

#[derive(Debug)]
struct RegEntry {
    call_id: Box<str>,
    from_tag: Box<str>,
    opts: RegisterOptions,
    contact: Box<str>,
    requested: u32,
    cseq: u32,
    target: Target,
    tried_423: bool,
    unregistering: bool,
    refresh_at: Option<Instant>,
    binding_until: Option<Instant>,
    armed: Option<Instant>,
}

impl RegEntry {
    fn next_timer(&self) -> Option<Instant> {
        [self.refresh_at, self.binding_until]
            .into_iter()
            .flatten()
            .min()
    }
}

/// What the registrations need around them: the transaction service below, and a way to
/// tell the application how a registration goes.
pub(crate) trait RegistrationEnv: Transactions {
    /// Tells the application what happened to a registration.
    fn registration(&mut self, id: RegistrationId, state: RegistrationState);
}

/// The client registrations of an endpoint. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct Registrations {
    ids: IdGenerator,
    next_id: u64,
    entries: Map<u64, RegEntry>,
    /// Our REGISTER client transactions → their registration.
    pending: Map<u64, u64>,
    timers: TimerQueue<u64>,
}

impl Registrations {
    /// No registrations yet; `ids` draws their Call-IDs and tags.
    pub(crate) fn new(ids: IdGenerator, hash_seed: u64) -> Self {
        let hash = || foldhash::fast::FixedState::with_seed(hash_seed);
        Registrations {
            ids,
            next_id: 1,
            entries: Map::with_hasher(hash()),
            pending: Map::with_hasher(hash()),
            timers: TimerQueue::new(),
        }
    }

    /// Whether client transaction `tx` is one of our REGISTERs.
    pub(crate) fn owns(&self, tx: ClientTxId) -> bool {
        !self.pending.is_empty() && self.pending.contains_key(&tx.0)
    }

    /// Live registrations.
    pub(crate) fn count(&self) -> usize {
        self.entries.len()
    }

    /// A REGISTER of ours went to another target of its registrar's DNS list (RFC 3263
    /// §4.3): the refreshes follow it there.
    pub(crate) fn retargeted(&mut self, tx: ClientTxId, target: Target) {
        if let Some(id) = self.pending.get(&tx.0)
            && let Some(r) = self.entries.get_mut(id)
        {
            r.target = target;
        }
    }

    /// The REGISTER client transaction of registration `reg` now in flight, if any.
    pub(crate) fn in_flight(&self, reg: RegistrationId) -> Option<ClientTxId> {
        self.pending
            .iter()
            .find(|(_, id)| **id == reg.0)
            .map(|(tx, _)| ClientTxId(*tx))
    }

    /// An id for a registration whose registrar is still being resolved (RFC 3263):
    /// [`Registrations::register_as`] takes it.
    pub(crate) fn reserve(&mut self) -> RegistrationId {
        let id = self.next_id;
        self.next_id += 1;
        RegistrationId(id)
    }

    /// A REGISTER of ours was re-sent with credentials with CSeq `seq` (§22.2).
    pub(crate) fn retried(&mut self, tx: ClientTxId, seq: u32) {
        if let Some(id) = self.pending.get(&tx.0)
            && let Some(r) = self.entries.get_mut(id)
        {
            r.cseq = r.cseq.max(seq);
        }
    }

    /// The response to one of our REGISTERs.
    pub(crate) fn on_response(
        &mut self,
        now: Instant,
        tx: ClientTxId,
        resp: &Response,
        env: &mut impl RegistrationEnv,
    ) {
        let Some(&id) = self.pending.get(&tx.0) else {
            return;
        };
        if resp.status() >= 200 {
            self.pending.remove(&tx.0);
        }
        self.register_response(now, id, resp, env);
    }

    /// One of our REGISTERs got no response (§10.2: reported as 408).
    pub(crate) fn on_failure(
        &mut self,
        now: Instant,
        tx: ClientTxId,
        _failure: Failure,
        env: &mut impl RegistrationEnv,
    ) {
        if let Some(id) = self.pending.remove(&tx.0) {
            self.registration_failed(now, id, 408, env);
        }
    }

    /// One of our REGISTER transactions is gone.
    pub(crate) fn ended(&mut self, tx: ClientTxId) {
        self.pending.remove(&tx.0);
    }

    /// The earliest refresh or expiry due.
    pub(crate) fn poll_timeout(&mut self) -> Option<Instant> {
        let entries = &self.entries;
        self.timers
            .next_live(|at, id| entries.get(id).is_some_and(|r| r.armed == Some(at)))
    }

    /// Fires every refresh and expiry due at `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant, env: &mut impl RegistrationEnv) {
        while let Some((at, id)) = self.timers.pop_due(now) {
            if self.entries.get(&id).is_some_and(|r| r.armed == Some(at)) {
                self.on_registration_timer(now, id, env);
            }
        }
    }

    /// Registers a binding (§10.2) and keeps it fresh; returns at once. Progress comes as
    /// registration events.
    pub(crate) fn register(
        &mut self,
        now: Instant,
        opts: RegisterOptions,
        env: &mut impl RegistrationEnv,
    ) -> Result<RegistrationId, EndpointError> {
        self.register_as(now, None, opts, env)
    }

    /// [`Registrations::register`] under an id [reserved](Registrations::reserve) earlier,
    /// or a new one.
    pub(crate) fn register_as(
        &mut self,
        now: Instant,
        reserved: Option<RegistrationId>,
        opts: RegisterOptions,
        env: &mut impl RegistrationEnv,
    ) -> Result<RegistrationId, EndpointError> {
        let target = match &opts.target {
            Some(t) => t.clone(),
            None => Target::from_uri(
                &crate::message::uri::Uri::parse(&opts.registrar)
                    .map_err(|_| EndpointError::UnsupportedScheme)?,
            )?,
        };
        let contact = match &opts.contact {
            Some(c) => c.clone(),
            None => env
                .locals()
                .contact(target.transport, target.addr)?
                .to_string(),
        };
        let id = match reserved {
            Some(r) => r.0,
            None => self.reserve().0,
        };
        let call_id = self.ids.call_id(None);
        let from_tag = self.ids.tag();
        let requested = opts.expires;
        self.entries.insert(
            id,
            RegEntry {
                call_id: call_id.into(),
                from_tag: from_tag.into(),
                opts,
                contact: contact.into(),
                requested,
                cseq: 0,
                target,
                tried_423: false,
                unregistering: false,
                refresh_at: None,
                binding_until: None,
                armed: None,
            },
        );
        self.send_register(now, id, env)?;
        Ok(RegistrationId(id))
    }

    /// Removes the binding (`Expires: 0`, §10.2.2); [`RegistrationState::Unregistered`]
    /// follows.
    pub(crate) fn unregister(
        &mut self,
        now: Instant,
        reg: RegistrationId,
        env: &mut impl RegistrationEnv,
    ) -> Result<(), EndpointError> {
        let r = self
            .entries
            .get_mut(&reg.0)
            .ok_or(EndpointError::UnknownTransaction)?;
        r.unregistering = true;
        r.refresh_at = None;
        self.send_register(now, reg.0, env)
    }

    fn send_register(
        &mut self,
        now: Instant,
        id: u64,
        env: &mut impl RegistrationEnv,
    ) -> Result<(), EndpointError> {
        let r = self
            .entries
            .get_mut(&id)
            .ok_or(EndpointError::UnknownTransaction)?;
        r.cseq += 1;
        let expires = if r.unregistering { 0 } else { r.requested };
        let req = Request::builder(Method::Register, &r.opts.registrar)
            .max_forwards(70)
            .from(&r.opts.aor, Some(&r.from_tag))
            .to(&r.opts.aor, None)
            .call_id(&r.call_id)
            .cseq(r.cseq)
            .contact(&r.contact)
            .header("Expires", expires)
            .build()?;
        let target = r.target.clone();
        let ctx = env.send_request(now, req, target)?;
        self.pending.insert(ctx.0, id);
        Ok(())
    }

    fn registration_event(env: &mut impl RegistrationEnv, id: u64, state: RegistrationState) {
        env.registration(RegistrationId(id), state);
    }

    fn arm_registration(&mut self, id: u64) {
        let Some(r) = self.entries.get_mut(&id) else {
            return;
        };
        let next = r.next_timer();
        if next != r.armed {
            r.armed = next;
            if let Some(at) = next {
                self.timers.schedule(at, id);
            }
        }
    }

    fn on_registration_timer(&mut self, now: Instant, id: u64, env: &mut impl RegistrationEnv) {
        let Some(r) = self.entries.get_mut(&id) else {
            return;
        };
        r.armed = None;
        if r.binding_until.is_some_and(|t| t <= now) {
            r.binding_until = None;
            Self::registration_event(env, id, RegistrationState::Expired);
        }
        let Some(r) = self.entries.get_mut(&id) else {
            return;
        };
        if r.refresh_at.is_some_and(|t| t <= now) {
            r.refresh_at = None;
            r.tried_423 = false;
            if self.send_register(now, id, env).is_err() {
                Self::registration_event(env, id, RegistrationState::Failed(503));
            }
        }
        self.arm_registration(id);
    }

    /// A response to one of our REGISTERs.
    fn register_response(
        &mut self,
        now: Instant,
        id: u64,
        resp: &Response,
        env: &mut impl RegistrationEnv,
    ) {
        let code = resp.status();
        if code < 200 {
            return;
        }
        let Some(r) = self.entries.get_mut(&id) else {
            return;
        };
        if (200..300).contains(&code) {
            if r.unregistering {
                self.entries.remove(&id);
                return Self::registration_event(env, id, RegistrationState::Unregistered);
            }
            let ours = crate::dialog::route::contact_uri(&r.contact);
            let from_contact = resp
                .contacts()
                .filter_map(Result::ok)
                .find(|c| ours.as_deref() == Some(c.uri_str()))
                .and_then(|c| c.expires());
            let granted = from_contact
                .or_else(|| resp.expires())
                .unwrap_or(r.requested);
            if granted == 0 {
                self.entries.remove(&id);
                return Self::registration_event(env, id, RegistrationState::Unregistered);
            }
            let g = Duration::from_secs(u64::from(granted));
            // Refresh at half the granted time (never later than 32 s before the end).
            let lead = (g / 2).max(g.saturating_sub(Duration::from_secs(32)).min(g / 2));
            r.refresh_at = Some(now + lead);
            r.binding_until = Some(now + g);
            Self::registration_event(env, id, RegistrationState::Registered { expires: granted });
        } else if code == 423 && !r.tried_423 {
            // §10.2.8: retry with at least Min-Expires.
            let min = resp
                .headers()
                .get(HeaderName::MinExpires)
                .and_then(|v| v.trim().parse::<u32>().ok());
            match min {
                Some(m) if m > r.requested => {
                    r.requested = m;
                    r.tried_423 = true;
                    let _ = self.send_register(now, id, env);
                }
                _ => self.registration_failed(now, id, code, env),
            }
        } else {
            self.registration_failed(now, id, code, env);
        }
        self.arm_registration(id);
    }

    fn registration_failed(
        &mut self,
        now: Instant,
        id: u64,
        code: u16,
        env: &mut impl RegistrationEnv,
    ) {
        let Some(r) = self.entries.get_mut(&id) else {
            return;
        };
        if r.unregistering {
            self.entries.remove(&id);
            Self::registration_event(env, id, RegistrationState::Failed(code));
            return;
        }
        // While a binding is still in place, try again before it runs out.
        if r.binding_until.is_some_and(|t| t > now) {
            r.refresh_at = Some(now + RETRY_AFTER_FAILURE);
        }
        Self::registration_event(env, id, RegistrationState::Failed(code));
        self.arm_registration(id);
    }
}
