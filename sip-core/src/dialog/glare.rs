//! The retry after a 491 Request Pending (RFC 3261 §14.1, RFC 3311 §5.1): when our
//! re-INVITE or UPDATE crossed one of the peer's, it is sent again after a random interval
//! from the endpoint's seeded generator — 2.1 to 4 s (in units of 10 ms) if we own the
//! Call-ID (we sent the dialog's initial INVITE), 0 to 2 s otherwise — so the two sides'
//! retries do not cross again.
//!
//! | 491 to our | retried as | carries |
//! |---|---|---|
//! | re-INVITE (the application's, a hold/resume, a session refresh) | re-INVITE | the same body (an offer with its `o=` version renewed, RFC 3264 §8) and, with a session timer, Session-Expires and Min-SE (RFC 4028 §7.4) |
//! | UPDATE with an offer (the application's) | UPDATE | the same body, `o=` version renewed |
//! | UPDATE refreshing the session timer | UPDATE | Session-Expires and Min-SE (RFC 4028 §7.4) |
//!
//! The retry waits while another INVITE transaction of the dialog is in progress either
//! way (§14.1), and is dropped when the dialog ends or the application sent a new
//! re-INVITE meanwhile.

use std::time::{Duration, Instant};

use super::layer::{Body, DialogEnv, DialogLayer, Usage};
use super::media_session::Outgoing;
use super::{Role, SdpMessage};
use crate::message::Method;
use crate::rng::IdGenerator;

/// What a 491 made us send again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Retried {
    /// A re-INVITE, with its body.
    ReInvite(Option<Body>),
    /// The application's UPDATE, with its body.
    Update(Option<Body>),
    /// The session timer's UPDATE refresh (RFC 4028 §7.4).
    RefreshUpdate,
}

/// A retry waiting for its instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GlareRetry {
    /// When to send it.
    pub(super) at: Instant,
    /// What to send.
    pub(super) what: Retried,
}

/// The §14.1 interval: 2.1–4 s in units of 10 ms when we own the Call-ID (we are the
/// dialog's UAC), 0–2 s in units of 10 ms otherwise.
pub(super) fn retry_interval(ids: &mut IdGenerator, call_id_owner: bool) -> Duration {
    let tens = if call_id_owner {
        ids.millis_between(210, 400)
    } else {
        ids.millis_between(0, 200)
    };
    Duration::from_millis(tens * 10)
}

impl DialogLayer {
    /// A 491 came for our `what` on dialog `id`: the retry is scheduled (§14.1).
    pub(super) fn schedule_glare_retry(&mut self, now: Instant, id: u64, what: Retried) {
        let owner = self.dialogs.get(&id).is_some_and(|d| d.role == Role::Uac);
        let at = now + retry_interval(&mut self.ids, owner);
        if let Some(d) = self.dialogs.get_mut(&id) {
            d.glare_retry = Some(Box::new(GlareRetry { at, what }));
        }
        self.arm_dialog(id);
    }

    /// The retry of dialog `id` is due: sent unless an INVITE transaction is in progress
    /// (then a re-INVITE waits another T1, §14.1; one the application started since makes
    /// it moot).
    pub(super) fn fire_glare_retry(
        &mut self,
        now: Instant,
        id: u64,
        retry: GlareRetry,
        env: &mut impl DialogEnv,
    ) {
        let t1 = self.config.timers.t1;
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        if let Retried::ReInvite(_) = retry.what {
            if d.invite_ctx.is_some() {
                return;
            }
            if d.invite_stx.is_some() || d.ok.is_some() {
                d.glare_retry = Some(Box::new(GlareRetry {
                    at: now + t1,
                    ..retry
                }));
                return;
            }
        }
        match retry.what {
            Retried::ReInvite(body) => self.retry_reinvite(now, id, body, env),
            Retried::Update(body) => {
                let body = body.map(|(ct, b)| (ct.to_string(), self.renewed_offer(id, &ct, b)));
                let sent = self.send_request(
                    now,
                    super::DialogId(id),
                    Method::Update,
                    &[],
                    body.as_ref().map(|(c, b)| (c.as_str(), b.clone())),
                    env,
                );
                match sent {
                    Ok(ctx) => {
                        let keep = body.map(|(c, b)| (Box::<str>::from(c), b));
                        self.reinvite_bodies.insert(ctx.0, keep);
                    }
                    Err(e) => tracing::debug!(dialog = id, error = %e, "UPDATE retry not sent"),
                }
            }
            Retried::RefreshUpdate => self.send_refresh(now, id, env),
        }
    }

    /// Sends the re-INVITE again: its body (an offer renewed), and the session timer's
    /// Session-Expires and Min-SE when the dialog has one (RFC 4028 §7.4: every re-INVITE
    /// refreshes the session).
    fn retry_reinvite(
        &mut self,
        now: Instant,
        id: u64,
        body: Option<Body>,
        env: &mut impl DialogEnv,
    ) {
        let body = body.map(|(ct, b)| (ct.to_string(), self.renewed_offer(id, &ct, b)));
        let offer = self
            .outgoing_sdp(
                id,
                SdpMessage::Invite,
                body.as_ref().map(|(c, b)| (c.as_str(), b)),
            )
            .unwrap_or(Outgoing::Nothing);
        let rows = self.session_request_rows(id);
        let extra: Vec<(&str, &str)> = rows
            .iter()
            .flatten()
            .map(|(n, v)| (*n, v.as_str()))
            .collect();
        self.session_sent_body(id, body.as_ref().map(|(c, b)| (c.as_str(), b)));
        let sent = self.send_in_dialog(
            now,
            id,
            Method::Invite,
            &extra,
            body.as_ref().map(|(c, b)| (c.as_str(), b.clone())),
            env,
        );
        match sent {
            Ok(ctx) => {
                if let Some(d) = self.dialogs.get_mut(&id) {
                    d.invite_ctx = Some(ctx);
                }
                self.usage.insert(ctx.0, Usage::Invite(id));
                self.sent_sdp(id, offer, env);
                // A second 491 retries the same body again.
                let keep = body.map(|(c, b)| (Box::<str>::from(c), b));
                self.reinvite_bodies.insert(ctx.0, keep);
            }
            Err(e) => tracing::debug!(dialog = id, error = %e, "re-INVITE retry not sent"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_follows_rfc3261_14_1_in_units_of_10_ms() {
        let mut ids = IdGenerator::new(11);
        for _ in 0..500 {
            let owner = retry_interval(&mut ids, true).as_millis();
            assert!((2100..=4000).contains(&owner), "{owner}");
            assert!(owner.is_multiple_of(10));
            let other = retry_interval(&mut ids, false).as_millis();
            assert!(other <= 2000, "{other}");
            assert!(other.is_multiple_of(10));
        }
        // Drawn from the seeded generator: the same seed, the same intervals.
        let draw = |seed| {
            let mut g = IdGenerator::new(seed);
            (0..8)
                .map(|_| retry_interval(&mut g, true))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(5), draw(5));
    }
}
