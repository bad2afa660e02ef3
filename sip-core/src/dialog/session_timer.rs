//! Session timers (RFC 4028): the session interval and its refresher negotiated on each
//! INVITE and re-INVITE (Session-Expires, Min-SE, 422), the refresh the refresher sends at
//! half the interval (§10), and the BYE the other side sends when no refresh came in time
//! (§10).
//!
//! The rules are the pure functions of this module; the dialog layer applies them (see
//! `invite.rs` and `layer.rs`) with the dialog's own timer, the one that also re-sends 2xx
//! responses and retries after glare: an active session timer is one more deadline of
//! `DialogEntry::next_timer` (entry.rs).
//!
//! | Side | Request | What we do |
//! |---|---|---|
//! | UAC | INVITE | `Supported: timer`, `Session-Expires: <ours>`, `Min-SE: <ours>` (§7.1) |
//! | UAC | 422 with Min-SE | the INVITE again, same Call-ID and tags, next CSeq, with the larger interval (§7.3) |
//! | UAC | 2xx with Session-Expires | the timer runs with its interval; `refresher=uac`: we refresh (§7.2) |
//! | UAC | 2xx without | no session expiry (§7.2) |
//! | UAS | INVITE with `Supported: timer` and Session-Expires below our Min-SE | 422 with our Min-SE (§9) |
//! | UAS | INVITE with Session-Expires (proxy-inserted, no `Supported: timer`) | accepted as it is, `refresher=uas` (§9) |
//! | UAS | INVITE without Session-Expires | our interval, `refresher=uac` if the UAC supports timers, else `uas` (§9) |
//! | UAS | 2xx | carries the negotiated Session-Expires (`Require: timer` when `refresher=uac`, §9) |
//! | both | refresher, at interval/2 | a re-INVITE re-offering our last session description (§7.4, §10) |
//! | both | other side, at interval − min(32 s, interval/3) without refresh | BYE (§10) |
//!
//! Refreshes go by UPDATE (RFC 3311) when the peer listed it in `Allow` (the INVITE's, or
//! the 2xx's; §7.4 prefers it: no new offer/answer round), else by re-INVITE; see
//! `refresh_method`. An UPDATE refresh carries no body, and one received is answered by
//! the endpoint itself with the interval granted (§9) — one with a body goes to the
//! application as any UPDATE.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::EndReason;
use super::InviteOptions;
use super::layer::{Body, DialogEnv, DialogLayer, Usage};
use crate::message::{Method, MinSe, Refresher, Request, Response, SessionExpires};
use crate::transaction::layer::ServerTxId;

/// The smallest Min-SE RFC 4028 allows (§4: "MUST NOT be less than 90 seconds"), and the
/// value a request without Min-SE stands for (§5).
pub const MIN_SE_FLOOR: u32 = 90;

/// Session timer settings of an endpoint (a part of `EndpointConfig`).
///
/// Off by default ([`SessionTimers::OFF`]): an endpoint then neither asks for session
/// timers nor grants them and adds no header to any call, so applications that do not use
/// them send the same bytes and pay the same as before (a `Require: timer` is refused 420
/// as any unknown extension, RFC 3261 §8.2.2.3). Calls nobody hangs up are still bounded
/// by the dialog lifetime guard ([`DialogGuard`](super::DialogGuard)).
///
/// ```
/// use sip_core::dialog::SessionTimers;
/// let st = SessionTimers::on(1800, 90);
/// assert!(st.enabled);
/// assert_eq!(SessionTimers::default(), SessionTimers::OFF);
/// // A Min-SE below RFC 4028's floor is raised to it.
/// assert_eq!(SessionTimers::on(60, 30).min_se, 90);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimers {
    /// Whether the endpoint uses session timers on its calls.
    pub enabled: bool,
    /// Seconds: the interval we ask for (UAC) and grant when a request names none (UAS).
    pub session_expires: u32,
    /// Seconds: the smallest interval we accept (Min-SE, §5); at least [`MIN_SE_FLOOR`].
    pub min_se: u32,
}

impl SessionTimers {
    /// No session timers (the default).
    pub const OFF: SessionTimers = SessionTimers {
        enabled: false,
        session_expires: 1800,
        min_se: MIN_SE_FLOOR,
    };

    /// Session timers on, asking for `session_expires` seconds and accepting no less than
    /// `min_se` (raised to [`MIN_SE_FLOOR`]; the interval is raised to the minimum).
    pub fn on(session_expires: u32, min_se: u32) -> Self {
        let min_se = min_se.max(MIN_SE_FLOOR);
        SessionTimers {
            enabled: true,
            session_expires: session_expires.max(min_se),
            min_se,
        }
    }
}

impl Default for SessionTimers {
    /// [`SessionTimers::OFF`].
    fn default() -> Self {
        SessionTimers::OFF
    }
}

/// What a UAS grants for an INVITE or re-INVITE: the interval and the refresher, as its
/// 2xx writes them (§9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Grant {
    pub interval: u32,
    pub refresher: Refresher,
}

impl Grant {
    /// The Session-Expires value of the 2xx.
    pub(crate) fn header(self) -> SessionExpires {
        SessionExpires {
            delta_seconds: self.interval,
            refresher: Some(self.refresher),
        }
    }
}

/// The UAS's decision on a request's Session-Expires and Min-SE (§9): `Ok(grant)`, or
/// `Err(min_se)` to refuse it with 422 and that Min-SE. Only a UAC that supports timers is
/// sent 422 (it can retry); a Session-Expires a proxy inserted for a UAC that does not is
/// taken as it is, with ourselves as the refresher.
pub(crate) fn uas_grant(
    cfg: &SessionTimers,
    se: Option<SessionExpires>,
    min_se: Option<MinSe>,
    uac_supports: bool,
) -> Result<Grant, u32> {
    let req_min = min_se.map_or(MIN_SE_FLOOR, |m| m.0);
    match se {
        Some(se) => {
            if uac_supports && se.delta_seconds < cfg.min_se {
                return Err(cfg.min_se.max(req_min));
            }
            // §9: copied, never increased; the refresher as asked, else our choice —
            // the UAC when it supports timers, ourselves when it does not.
            let refresher = match se.refresher {
                Some(Refresher::Uac) if uac_supports => Refresher::Uac,
                Some(Refresher::Uas) => Refresher::Uas,
                _ if uac_supports => Refresher::Uac,
                _ => Refresher::Uas,
            };
            Ok(Grant {
                interval: se.delta_seconds,
                refresher,
            })
        }
        // §9: the UAS may use a session timer the request did not ask for; not below the
        // request's Min-SE.
        None => Ok(Grant {
            interval: cfg.session_expires.max(req_min).max(cfg.min_se),
            refresher: if uac_supports {
                Refresher::Uac
            } else {
                Refresher::Uas
            },
        }),
    }
}

/// The UAC's reading of the 2xx to its INVITE or re-INVITE (§7.2): the interval and
/// whether we (the transaction's client) refresh; `None`: no session expiry. A 2xx that
/// names no refresher (§9 says it must) leaves the refresh to us, so the session does not
/// expire for want of one.
pub(crate) fn uac_outcome(se: Option<SessionExpires>) -> Option<(u32, bool)> {
    let se = se?;
    Some((se.delta_seconds, se.refresher != Some(Refresher::Uas)))
}

/// After a 422 (§7.3): the interval to ask for next, if it is larger than what we asked.
pub(crate) fn after_422(asked: u32, min_se: Option<MinSe>) -> Option<u32> {
    min_se.map(|m| m.0).filter(|&m| m > asked)
}

/// When the refresher refreshes, counted from the last refresh: half the interval (§10).
pub(crate) fn refresh_after(interval: u32) -> Duration {
    Duration::from_secs(interval.into()) / 2
}

/// When the other side gives up, counted from the last refresh: the interval less the
/// minimum of 32 s and a third of it (§10).
pub(crate) fn expire_after(interval: u32) -> Duration {
    let i = Duration::from_secs(interval.into());
    i - (i / 3).min(Duration::from_secs(32))
}

/// The method of a refresh (§7.4): UPDATE when the peer allows it (RFC 3311), which
/// refreshes without another offer/answer round; else re-INVITE.
pub(crate) fn refresh_method(peer_allows_update: bool) -> Method {
    if peer_allows_update {
        Method::Update
    } else {
        Method::Invite
    }
}

/// Whether a message's `Allow` lists UPDATE (RFC 3261 §20.5).
pub(crate) fn allows_update(m: &crate::message::Message) -> bool {
    m.headers()
        .get_all(crate::message::HeaderName::Allow)
        .any(|v| {
            v.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("UPDATE"))
        })
}

/// A running session timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Active {
    /// Seconds.
    pub interval: u32,
    /// Whether we are the refresher.
    pub we_refresh: bool,
    /// The last refresh (a 2xx to an INVITE or re-INVITE, sent or received).
    pub since: Instant,
    /// We are the refresher and our refresh is out (or could not go out): only the
    /// expiry deadline is left.
    pub refresh_sent: bool,
}

impl Active {
    /// The timer's next deadline: the refresh, or the expiry.
    pub(crate) fn due(&self) -> Instant {
        if self.we_refresh && !self.refresh_sent {
            self.since + refresh_after(self.interval)
        } else {
            self.since + expire_after(self.interval)
        }
    }

    /// Whether the deadline due is the expiry (BYE) rather than our refresh.
    pub(crate) fn expiring(&self) -> bool {
        !self.we_refresh || self.refresh_sent
    }
}

/// One dialog's session timer state, boxed in its entry only when the endpoint uses
/// session timers (plain dialogs carry a `None`).
#[derive(Debug, Default)]
pub(crate) struct SessionState {
    pub active: Option<Active>,
    /// UAS: granted for the INVITE or re-INVITE not yet answered.
    pub pending: Option<Grant>,
    /// The Min-SE our requests carry: ours, or the largest a 422 told us (§7.3, §7.4).
    pub min_se: u32,
    /// UAC: the interval the INVITE asked for.
    pub asked: u32,
    /// 422s taken for the initial INVITE (bounded: a peer cannot keep us retrying).
    pub retries_422: u8,
    /// The last session description we sent (the offer of our INVITE, the answer in our
    /// 2xx), re-offered unchanged by a refresh (RFC 3264 §8: same version, no change).
    pub last_body: Option<Body>,
    /// UAC: the initial INVITE's extra headers (its Session-Expires and Min-SE aside), for
    /// the retry after a 422.
    pub initial_headers: Vec<(String, String)>,
    /// The peer listed UPDATE in Allow: refreshes go by UPDATE (§7.4).
    pub peer_allows_update: bool,
}

impl SessionState {
    /// The headers of a request of ours that refreshes (or asks for) the session: the
    /// interval and our role as its client (§7.4: `refresher=uac` when we keep refreshing).
    pub(crate) fn request_headers(&self) -> [(&'static str, String); 3] {
        let se = match self.active {
            Some(a) => SessionExpires {
                delta_seconds: a.interval,
                refresher: Some(if a.we_refresh {
                    Refresher::Uac
                } else {
                    Refresher::Uas
                }),
            },
            None => SessionExpires {
                delta_seconds: self.asked,
                refresher: None,
            },
        };
        [
            ("Supported", "timer".to_owned()),
            ("Session-Expires", se.to_string()),
            ("Min-SE", self.min_se.to_string()),
        ]
    }
}

/// Why a request's session timer headers are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// 422 with this Min-SE (§9).
    TooSmall(u32),
    /// 400: Session-Expires or Min-SE does not parse (§4, §5).
    Malformed,
}

impl DialogLayer {
    /// UAC: readies an INVITE for session timers (§7.1): adds `Supported: timer`,
    /// Session-Expires and Min-SE to `opts`, and returns the state its dialog keeps
    /// (`None` when the endpoint does not use session timers).
    pub(super) fn session_for_invite(&self, opts: &mut InviteOptions) -> Option<Box<SessionState>> {
        let cfg = &self.config.session_timers;
        if !cfg.enabled {
            return None;
        }
        let s = SessionState {
            min_se: cfg.min_se,
            asked: cfg.session_expires,
            last_body: opts
                .body
                .as_ref()
                .map(|(ct, b)| (Box::<str>::from(ct.as_str()), b.clone())),
            initial_headers: opts.headers.clone(),
            ..SessionState::default()
        };
        for (n, v) in s.request_headers() {
            opts.headers.push((n.to_owned(), v));
        }
        Some(Box::new(s))
    }

    /// UAC: a 422 to our initial INVITE (§7.3): the INVITE again with the interval the
    /// 422's Min-SE asks for, same Call-ID and From tag, next CSeq. `false` (the 422 then
    /// ends the call) if session timers are off, the 422 names no larger interval, an early
    /// dialog exists already, or two retries were made.
    pub(super) fn retry_after_422(
        &mut self,
        now: Instant,
        root: u64,
        resp: &Response,
        env: &mut impl DialogEnv,
    ) -> bool {
        let min_se = resp.min_se().and_then(Result::ok);
        let Some(d) = self.dialogs.get_mut(&root) else {
            return false;
        };
        let Some(s) = d.session.as_mut() else {
            return false;
        };
        if d.remote_tag.is_some() || !d.forks.is_empty() || s.retries_422 >= 2 {
            return false;
        }
        let Some(asked) = after_422(s.asked, min_se) else {
            return false;
        };
        s.retries_422 += 1;
        s.asked = asked;
        s.min_se = s.min_se.max(asked);
        let mut headers: Vec<(String, String)> = s.initial_headers.clone();
        headers.extend(
            s.request_headers()
                .into_iter()
                .map(|(n, v)| (n.to_owned(), v)),
        );
        let body = s.last_body.clone();
        // The retry goes where the INVITE went.
        d.hop = Some(d.flow.clone());
        let extra: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let body = body.as_ref().map(|(c, b)| (&**c, b.clone()));
        match self.send_in_dialog(now, root, Method::Invite, &extra, body, env) {
            Ok(ctx) => {
                if let Some(d) = self.dialogs.get_mut(&root) {
                    d.invite_ctx = Some(ctx);
                }
                self.usage.insert(ctx.0, Usage::Invite(root));
                true
            }
            Err(e) => {
                tracing::debug!(dialog = root, error = %e, "INVITE retry after 422 not sent");
                false
            }
        }
    }

    /// UAC: the 2xx to our INVITE or re-INVITE on dialog `id` (forked from `root`, or
    /// `root` itself): the session timer runs as it says, or stops (§7.2).
    pub(super) fn session_answered(&mut self, now: Instant, id: u64, root: u64, resp: &Response) {
        if !self.config.session_timers.enabled {
            return;
        }
        let inherited = self.dialogs.get(&root).and_then(|r| {
            r.session.as_ref().map(|s| SessionState {
                min_se: s.min_se,
                asked: s.asked,
                last_body: s.last_body.clone(),
                ..SessionState::default()
            })
        });
        let outcome = uac_outcome(resp.session_expires().and_then(Result::ok));
        let update = allows_update(resp);
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        let s = d
            .session
            .get_or_insert_with(|| Box::new(inherited.unwrap_or_default()));
        s.peer_allows_update |= update;
        s.active = outcome.map(|(interval, we_refresh)| Active {
            interval,
            we_refresh,
            since: now,
            refresh_sent: false,
        });
        self.arm_dialog(id);
    }

    /// UAC: a 422 to a re-INVITE of ours (§7.3, §7.4): the refresh again, with the larger
    /// interval.
    pub(super) fn session_refresh_422(
        &mut self,
        now: Instant,
        id: u64,
        resp: &Response,
        env: &mut impl DialogEnv,
    ) {
        let min_se = resp.min_se().and_then(Result::ok);
        let Some(s) = self.dialogs.get_mut(&id).and_then(|d| d.session.as_mut()) else {
            return;
        };
        let Some(a) = s.active.as_mut() else {
            return;
        };
        let Some(larger) = after_422(a.interval, min_se) else {
            return;
        };
        a.interval = larger;
        s.min_se = s.min_se.max(larger);
        s.asked = larger;
        self.send_refresh(now, id, env);
    }

    /// UAS: what a received INVITE or re-INVITE gets (§9): `Ok(None)` when session timers
    /// are off.
    pub(super) fn session_grant(&self, req: &Request) -> Result<Option<Grant>, Refusal> {
        let cfg = &self.config.session_timers;
        if !cfg.enabled {
            return Ok(None);
        }
        let se = req
            .session_expires()
            .transpose()
            .map_err(|_| Refusal::Malformed)?;
        let min_se = req.min_se().transpose().map_err(|_| Refusal::Malformed)?;
        let supports = req.supported().any(|t| t.eq_ignore_ascii_case("timer"));
        uas_grant(cfg, se, min_se, supports)
            .map(Some)
            .map_err(Refusal::TooSmall)
    }

    /// Refuses an INVITE for its session timer headers: 422 with our Min-SE (§9), or 400.
    pub(super) fn refuse_session(
        &mut self,
        now: Instant,
        stx: ServerTxId,
        why: Refusal,
        env: &mut impl DialogEnv,
    ) {
        let sent = match why {
            Refusal::TooSmall(min) => {
                let min = min.to_string();
                env.respond_written(now, stx, 422, false, &[("Min-SE", &min)], None, false)
            }
            Refusal::Malformed => env.response(stx, 400).and_then(|b| {
                let r = b
                    .reason("Bad Request (malformed Session-Expires or Min-SE)")
                    .build()?;
                env.respond(now, stx, r)
            }),
        };
        if let Err(e) = sent {
            tracing::debug!(error = %e, "session timer refusal not sent");
        }
    }

    /// UAS: keeps what was granted for the INVITE or re-INVITE dialog `id` is answering.
    pub(super) fn session_pending(&mut self, id: u64, grant: Option<Grant>) {
        let cfg = self.config.session_timers;
        let (Some(g), Some(d)) = (grant, self.dialogs.get_mut(&id)) else {
            return;
        };
        d.session
            .get_or_insert_with(|| {
                Box::new(SessionState {
                    min_se: cfg.min_se,
                    asked: cfg.session_expires,
                    ..SessionState::default()
                })
            })
            .pending = Some(g);
    }

    /// UAS: the peer's INVITE listed UPDATE in Allow: our refreshes go by UPDATE (§7.4).
    #[inline]
    pub(super) fn session_peer_allow(&mut self, id: u64, req: &Request) {
        if !self.config.session_timers.enabled || !allows_update(req) {
            return;
        }
        if let Some(s) = self.dialogs.get_mut(&id).and_then(|d| d.session.as_mut()) {
            s.peer_allows_update = true;
        }
    }

    /// UAS: an UPDATE without a body on dialog `id` while session timers are on (§9): a
    /// refresh, answered here with the interval granted (422 when too small). `false`
    /// when it is not one (it then goes to the application).
    pub(super) fn session_update_received(
        &mut self,
        now: Instant,
        id: u64,
        stx: ServerTxId,
        req: &Request,
        env: &mut impl DialogEnv,
    ) -> bool {
        if !self.config.session_timers.enabled
            || !req.body().is_empty()
            || req.session_expires().is_none()
        {
            return false;
        }
        let grant = match self.session_grant(req) {
            Ok(g) => g,
            Err(why) => {
                self.refuse_session(now, stx, why, env);
                return true;
            }
        };
        self.session_pending(id, grant);
        let Some((se, require)) = self.session_response_rows(id) else {
            return false;
        };
        let Some(d) = self.dialogs.get(&id) else {
            return false;
        };
        let contact = d.local_contact.clone();
        let mut rows = vec![
            ("Contact", &*contact),
            ("Session-Expires", se.as_str()),
            ("Supported", "timer"),
        ];
        if require {
            rows.push(("Require", "timer"));
        }
        match env.respond_written(now, stx, 200, false, &rows, None, false) {
            Ok(_) => self.session_responded(now, id, 200),
            Err(e) => tracing::debug!(dialog = id, error = %e, "UPDATE refresh not answered"),
        }
        self.arm_dialog(id);
        true
    }

    /// UAC: the final response to our UPDATE refresh of dialog `id` (§7.4, §10): a 2xx
    /// runs the timer as it says, a 422 asks again with the larger interval, 481/408 end
    /// the dialog (RFC 3261 §12.2.1.2); other failures leave the expiry to end it.
    pub(super) fn session_update_answered(
        &mut self,
        now: Instant,
        id: u64,
        resp: &Response,
        env: &mut impl DialogEnv,
    ) {
        match resp.status() {
            200..=299 => self.session_answered(now, id, id, resp),
            422 => self.session_refresh_422(now, id, resp, env),
            // RFC 3311 §5.1, RFC 3261 §14.1: the UPDATE crossed one of the peer's.
            491 => self.schedule_glare_retry(now, id, super::glare::Retried::RefreshUpdate),
            code @ (408 | 481) => self.end_on_481_408(now, id, code, env),
            _ => {}
        }
        self.arm_dialog(id);
    }

    /// UAS: the rows a 2xx of dialog `id` adds for its session timer (§9): Session-Expires
    /// as granted, and `Require: timer` when the UAC refreshes.
    pub(super) fn session_response_rows(&self, id: u64) -> Option<(String, bool)> {
        if !self.config.session_timers.enabled {
            return None; // no lookup on the plain path
        }
        let g = self.dialogs.get(&id)?.session.as_ref()?.pending?;
        Some((g.header().to_string(), g.refresher == Refresher::Uac))
    }

    /// UAS: a response went out on the INVITE or re-INVITE of dialog `id`; a 2xx starts
    /// (or refreshes) the session timer as granted (§9, §10), with `body` as our last
    /// session description.
    pub(super) fn session_responded(&mut self, now: Instant, id: u64, status: u16) {
        if !self.config.session_timers.enabled || status < 200 {
            return;
        }
        let Some(s) = self.dialogs.get_mut(&id).and_then(|d| d.session.as_mut()) else {
            return;
        };
        if status < 200 {
            return;
        }
        let g = s.pending.take();
        if (200..300).contains(&status)
            && let Some(g) = g
        {
            s.active = Some(Active {
                interval: g.interval,
                we_refresh: g.refresher == Refresher::Uas,
                since: now,
                refresh_sent: false,
            });
        }
    }

    /// Keeps `body` as the last session description dialog `id` sent, if it uses a
    /// session timer (a refresh re-offers it).
    pub(super) fn session_sent_body(&mut self, id: u64, body: Option<(&str, &Bytes)>) {
        if !self.config.session_timers.enabled {
            return;
        }
        if let (Some(s), Some((ct, b))) = (
            self.dialogs.get_mut(&id).and_then(|d| d.session.as_mut()),
            body,
        ) {
            s.last_body = Some((ct.into(), b.clone()));
        }
    }

    /// The rows a re-INVITE of ours carries when dialog `id` uses a session timer (§7.4).
    pub(super) fn session_request_rows(&self, id: u64) -> Option<[(&'static str, String); 3]> {
        if !self.config.session_timers.enabled {
            return None;
        }
        let s = self.dialogs.get(&id)?.session.as_ref()?;
        Some(s.request_headers())
    }

    /// The session timer of dialog `id` is due (§10): refresh if we are the refresher,
    /// else (or if our refresh went unanswered) end the dialog with BYE.
    pub(super) fn on_session_due(&mut self, now: Instant, id: u64, env: &mut impl DialogEnv) {
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        let Some(a) = d.session.as_mut().and_then(|s| s.active.as_mut()) else {
            return;
        };
        if a.expiring() {
            if let Some(s) = d.session.as_mut() {
                s.active = None;
            }
            tracing::debug!(dialog = id, "session timer expired");
            let reason = EndReason::Expired(super::Expiry::SessionTimer);
            let _ = self.end_confirmed(now, id, reason, env);
            return;
        }
        self.send_refresh(now, id, env);
    }

    /// Sends the refresh of dialog `id` (§7.4): a re-INVITE re-offering our last session
    /// description, unless an INVITE transaction is pending either way (its 2xx refreshes
    /// the session, §10). Either way only the expiry deadline is left until a 2xx.
    pub(super) fn send_refresh(&mut self, now: Instant, id: u64, env: &mut impl DialogEnv) {
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        let busy = d.invite_ctx.is_some() || d.invite_stx.is_some() || d.ok.is_some();
        let Some(s) = d.session.as_mut() else {
            return;
        };
        if let Some(a) = s.active.as_mut() {
            a.refresh_sent = true;
        }
        if busy {
            return;
        }
        let rows = s.request_headers();
        let method = refresh_method(s.peer_allows_update);
        // An UPDATE refresh carries no offer (§7.4); a re-INVITE re-offers our last
        // description unchanged.
        let body = match method {
            Method::Update => None,
            _ => s.last_body.clone(),
        };
        let extra: Vec<(&str, &str)> = rows.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let sent = self.send_in_dialog(
            now,
            id,
            method.clone(),
            &extra,
            body.as_ref().map(|(c, b)| (&**c, b.clone())),
            env,
        );
        match sent {
            Ok(ctx) if method == Method::Update => {
                self.usage.insert(ctx.0, Usage::SessionRefresh(id));
            }
            Ok(ctx) => {
                if let Some(d) = self.dialogs.get_mut(&id) {
                    d.invite_ctx = Some(ctx);
                }
                self.reinvite_bodies.insert(ctx.0, body);
                self.usage.insert(ctx.0, Usage::Invite(id));
            }
            Err(e) => tracing::debug!(dialog = id, error = %e, "session refresh not sent"),
        }
    }

    /// The running session timer of `dialog`, if any.
    pub(crate) fn session_timer(&self, dialog: super::DialogId) -> Option<SessionTimerInfo> {
        let a = self.dialogs.get(&dialog.0)?.session.as_ref()?.active?;
        Some(SessionTimerInfo {
            interval: Duration::from_secs(a.interval.into()),
            local_refresher: a.we_refresh,
        })
    }
}

/// A snapshot of a dialog's running session timer, for the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimerInfo {
    /// The negotiated session interval.
    pub interval: Duration,
    /// Whether this endpoint sends the refreshes (else the peer does, and this endpoint
    /// ends the call with BYE if they stop, §10).
    pub local_refresher: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn se(d: u32, r: Option<Refresher>) -> Option<SessionExpires> {
        Some(SessionExpires {
            delta_seconds: d,
            refresher: r,
        })
    }

    const CFG: SessionTimers = SessionTimers {
        enabled: true,
        session_expires: 1800,
        min_se: 90,
    };

    #[test]
    fn uas_sends_422_with_its_min_se_only_to_a_uac_that_supports_timers_rfc4028_s9() {
        assert_eq!(uas_grant(&CFG, se(60, None), None, true), Err(90));
        // The request's own Min-SE, if larger, is what the retry needs.
        assert_eq!(
            uas_grant(&CFG, se(60, None), Some(MinSe(120)), true),
            Err(120)
        );
        // A proxy inserted it for a UAC without timers: taken as it is, we refresh.
        assert_eq!(
            uas_grant(&CFG, se(60, None), None, false),
            Ok(Grant {
                interval: 60,
                refresher: Refresher::Uas
            })
        );
        assert_eq!(
            uas_grant(&CFG, se(90, None), None, true),
            Ok(Grant {
                interval: 90,
                refresher: Refresher::Uac
            })
        );
    }

    #[test]
    fn uas_copies_the_interval_and_the_refresher_asked_for_rfc4028_s9() {
        let g = uas_grant(&CFG, se(4000, Some(Refresher::Uas)), None, true).unwrap();
        assert_eq!((g.interval, g.refresher), (4000, Refresher::Uas));
        assert_eq!(g.header().to_string(), "4000;refresher=uas");
        let g = uas_grant(&CFG, se(4000, Some(Refresher::Uac)), None, true).unwrap();
        assert_eq!(g.refresher, Refresher::Uac);
        // refresher=uac from a UAC that does not support timers cannot hold: we refresh.
        let g = uas_grant(&CFG, se(4000, Some(Refresher::Uac)), None, false).unwrap();
        assert_eq!(g.refresher, Refresher::Uas);
    }

    #[test]
    fn uas_may_start_a_timer_the_request_did_not_ask_for_rfc4028_s9() {
        let g = uas_grant(&CFG, None, None, false).unwrap();
        assert_eq!((g.interval, g.refresher), (1800, Refresher::Uas));
        let g = uas_grant(&CFG, None, Some(MinSe(2000)), true).unwrap();
        assert_eq!((g.interval, g.refresher), (2000, Refresher::Uac));
    }

    #[test]
    fn uac_reads_the_2xx_rfc4028_s7_2() {
        assert_eq!(uac_outcome(None), None);
        assert_eq!(uac_outcome(se(90, Some(Refresher::Uac))), Some((90, true)));
        assert_eq!(uac_outcome(se(90, Some(Refresher::Uas))), Some((90, false)));
        assert_eq!(uac_outcome(se(90, None)), Some((90, true)));
    }

    #[test]
    fn uac_retries_after_422_only_with_a_larger_interval_rfc4028_s7_3() {
        assert_eq!(after_422(60, Some(MinSe(90))), Some(90));
        assert_eq!(after_422(90, Some(MinSe(90))), None);
        assert_eq!(after_422(60, None), None);
    }

    #[test]
    fn refresh_at_half_and_bye_before_expiry_rfc4028_s10() {
        assert_eq!(refresh_after(90), Duration::from_secs(45));
        assert_eq!(refresh_after(91), Duration::from_millis(45_500));
        // min(32, 90/3) = 30; min(32, 1800/3) = 32.
        assert_eq!(expire_after(90), Duration::from_secs(60));
        assert_eq!(expire_after(1800), Duration::from_secs(1768));
        #[allow(clippy::disallowed_methods)] // tests only: any instant will do
        let t0 = Instant::now();
        let mut a = Active {
            interval: 90,
            we_refresh: true,
            since: t0,
            refresh_sent: false,
        };
        assert_eq!(
            (a.due(), a.expiring()),
            (t0 + Duration::from_secs(45), false)
        );
        a.refresh_sent = true;
        assert_eq!(
            (a.due(), a.expiring()),
            (t0 + Duration::from_secs(60), true)
        );
        a.we_refresh = false;
        a.refresh_sent = false;
        assert_eq!(
            (a.due(), a.expiring()),
            (t0 + Duration::from_secs(60), true)
        );
    }

    #[test]
    fn on_raises_to_the_floor_and_off_is_the_default() {
        assert_eq!(SessionTimers::on(60, 0).min_se, 90);
        assert_eq!(SessionTimers::on(60, 0).session_expires, 90);
        assert!(!SessionTimers::default().enabled);
    }

    #[test]
    fn request_headers_name_us_as_refresher_when_we_refresh_rfc4028_s7_4() {
        #[allow(clippy::disallowed_methods)]
        let t0 = Instant::now();
        let mut s = SessionState {
            min_se: 90,
            asked: 1800,
            ..Default::default()
        };
        let h = s.request_headers();
        assert_eq!(h[1].1, "1800");
        s.active = Some(Active {
            interval: 120,
            we_refresh: true,
            since: t0,
            refresh_sent: false,
        });
        let h = s.request_headers();
        assert_eq!(
            (h[0].1.as_str(), h[1].1.as_str(), h[2].1.as_str()),
            ("timer", "120;refresher=uac", "90")
        );
    }
}
