//! Registration with a registrar (RFC 3261 §10.2): `UserAgent::register` returns a
//! [`Registration`] whose state can be awaited; the core refreshes it before it runs out,
//! answers digest challenges with the credentials given to the builder
//! (`UserAgentBuilder::credentials`), and unregisters on request.

use std::sync::Arc;

use sip_core::endpoint::{RegistrationId, RegistrationState};

use crate::command::{Command, Link};
use crate::error::{Error, Result};
use crate::shared::Shared;

/// What a registration handle sees: every state the core reported, in order.
#[derive(Debug, Default)]
pub(crate) struct RegState {
    pub(crate) history: Vec<RegistrationState>,
}

/// A registration kept fresh by the user agent.
#[derive(Debug)]
pub struct Registration {
    pub(crate) id: RegistrationId,
    pub(crate) link: Link,
    pub(crate) shared: Arc<Shared<RegState>>,
}

impl Registration {
    /// The latest state, if the registrar has answered yet.
    pub fn state(&self) -> Option<RegistrationState> {
        self.shared.lock().history.last().copied()
    }

    /// How many times the binding was (re)registered so far.
    pub fn registrations(&self) -> usize {
        self.shared
            .lock()
            .history
            .iter()
            .filter(|s| matches!(s, RegistrationState::Registered { .. }))
            .count()
    }

    /// Waits for the first answer: the granted expiry in seconds, or the failure.
    pub async fn registered(&self) -> Result<u32> {
        self.shared
            .wait(|s| match s.history.first()? {
                RegistrationState::Registered { expires } => Some(Ok(*expires)),
                RegistrationState::Failed(code) => Some(Err(Error::RegistrationFailed(*code))),
                RegistrationState::Expired | RegistrationState::Unregistered => {
                    Some(Err(Error::RegistrationFailed(0)))
                }
            })
            .await
    }

    /// Waits until at least `n` successful registrations (the first one and refreshes).
    pub async fn refreshed(&self, n: usize) {
        self.shared
            .wait(|s| {
                (s.history
                    .iter()
                    .filter(|x| matches!(x, RegistrationState::Registered { .. }))
                    .count()
                    >= n)
                    .then_some(())
            })
            .await
    }

    /// Removes the binding (`Expires: 0`) and waits for the registrar's answer.
    pub async fn unregister(self) -> Result<()> {
        let id = self.id;
        self.link.ask(|r| Command::Unregister(id, r)).await?;
        self.shared
            .wait(|s| match s.history.last()? {
                RegistrationState::Unregistered => Some(Ok(())),
                RegistrationState::Failed(code) if s.history.len() > 1 => {
                    Some(Err(Error::RegistrationFailed(*code)))
                }
                _ => None,
            })
            .await
    }
}
