//! The registration client (RFC 3261 §10.2): REGISTER, the granted expiry, refresh before it
//! runs out, 423 Interval Too Brief, and unregistering. Call-ID stays and CSeq grows across
//! refreshes (§10.2.4).

use super::dialogs::Usage;
use super::*;
use crate::message::HeaderName;
use std::time::Duration;

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

/// Options for [`Endpoint::register`].
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
pub(super) struct RegEntry {
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
    pub(super) armed: Option<Instant>,
}

impl RegEntry {
    fn next_timer(&self) -> Option<Instant> {
        [self.refresh_at, self.binding_until]
            .into_iter()
            .flatten()
            .min()
    }
}

impl Endpoint {
    /// Registers a binding (§10.2) and keeps it fresh; returns at once. Progress comes as
    /// [`Event::Registration`].
    pub fn register(
        &mut self,
        now: Instant,
        opts: RegisterOptions,
    ) -> Result<RegistrationId, EndpointError> {
        let target = match opts.target {
            Some(t) => t,
            None => Target::from_uri(
                &crate::message::uri::Uri::parse(&opts.registrar)
                    .map_err(|_| EndpointError::UnsupportedScheme)?,
            )?,
        };
        let contact = match &opts.contact {
            Some(c) => c.clone(),
            None => self
                .local_contact(target.transport, target.addr)?
                .to_string(),
        };
        let id = self.alloc_id();
        let call_id = self.ids.call_id(None);
        let from_tag = self.ids.tag();
        let requested = opts.expires;
        self.registrations.insert(
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
        self.send_register(now, id)?;
        Ok(RegistrationId(id))
    }

    /// Removes the binding (`Expires: 0`, §10.2.2); [`RegistrationState::Unregistered`]
    /// follows.
    pub fn unregister(&mut self, now: Instant, reg: RegistrationId) -> Result<(), EndpointError> {
        let r = self
            .registrations
            .get_mut(&reg.0)
            .ok_or(EndpointError::UnknownTransaction)?;
        r.unregistering = true;
        r.refresh_at = None;
        self.send_register(now, reg.0)
    }

    fn send_register(&mut self, now: Instant, id: u64) -> Result<(), EndpointError> {
        let r = self
            .registrations
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
        let target = r.target;
        let ctx = self.send_own_request(now, req, target)?;
        self.tx_usage.insert(ctx.0, Usage::Register(id));
        Ok(())
    }

    pub(super) fn set_register_cseq(&mut self, id: u64, seq: u32) {
        if let Some(r) = self.registrations.get_mut(&id) {
            r.cseq = r.cseq.max(seq);
        }
    }

    fn registration_event(&mut self, id: u64, state: RegistrationState) {
        self.event(Event::Registration {
            registration: RegistrationId(id),
            state,
        });
    }

    pub(super) fn arm_registration(&mut self, id: u64) {
        let Some(r) = self.registrations.get_mut(&id) else {
            return;
        };
        let next = r.next_timer();
        if next != r.armed {
            r.armed = next;
            if let Some(at) = next {
                self.timers.schedule(at, TimerRef::Registration(id));
            }
        }
    }

    pub(super) fn registration_timer_live(&self, id: u64, at: Instant) -> bool {
        self.registrations
            .get(&id)
            .is_some_and(|r| r.armed == Some(at))
    }

    pub(super) fn on_registration_timer(&mut self, now: Instant, id: u64) {
        let Some(r) = self.registrations.get_mut(&id) else {
            return;
        };
        r.armed = None;
        if r.binding_until.is_some_and(|t| t <= now) {
            r.binding_until = None;
            self.registration_event(id, RegistrationState::Expired);
        }
        let Some(r) = self.registrations.get_mut(&id) else {
            return;
        };
        if r.refresh_at.is_some_and(|t| t <= now) {
            r.refresh_at = None;
            r.tried_423 = false;
            if self.send_register(now, id).is_err() {
                self.registration_event(id, RegistrationState::Failed(503));
            }
        }
        self.arm_registration(id);
    }

    /// A response to one of our REGISTERs.
    pub(super) fn register_response(&mut self, now: Instant, id: u64, resp: &Response) {
        let code = resp.status();
        if code < 200 {
            return;
        }
        let Some(r) = self.registrations.get_mut(&id) else {
            return;
        };
        if (200..300).contains(&code) {
            if r.unregistering {
                self.registrations.remove(&id);
                return self.registration_event(id, RegistrationState::Unregistered);
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
                self.registrations.remove(&id);
                return self.registration_event(id, RegistrationState::Unregistered);
            }
            let g = Duration::from_secs(u64::from(granted));
            // Refresh at half the granted time (never later than 32 s before the end).
            let lead = (g / 2).max(g.saturating_sub(Duration::from_secs(32)).min(g / 2));
            r.refresh_at = Some(now + lead);
            r.binding_until = Some(now + g);
            self.registration_event(id, RegistrationState::Registered { expires: granted });
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
                    let _ = self.send_register(now, id);
                }
                _ => self.registration_failed(now, id, code),
            }
        } else {
            self.registration_failed(now, id, code);
        }
        self.arm_registration(id);
    }

    pub(super) fn registration_failed(&mut self, now: Instant, id: u64, code: u16) {
        let Some(r) = self.registrations.get_mut(&id) else {
            return;
        };
        if r.unregistering {
            self.registrations.remove(&id);
            self.registration_event(id, RegistrationState::Failed(code));
            return;
        }
        // While a binding is still in place, try again before it runs out.
        if r.binding_until.is_some_and(|t| t > now) {
            r.refresh_at = Some(now + RETRY_AFTER_FAILURE);
        }
        self.registration_event(id, RegistrationState::Failed(code));
        self.arm_registration(id);
    }
}
