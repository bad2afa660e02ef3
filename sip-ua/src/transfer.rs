//! Call transfer with REFER (RFC 3515): [`Transfer`] follows a REFER we sent,
//! [`IncomingTransfer`] answers one we received.

use std::collections::VecDeque;
use std::sync::Arc;

use sip_core::dialog::ReferId;

use crate::command::{Command, Link, ReferAction};
use crate::error::{Error, Result};
use crate::shared::Shared;

/// How a transfer ended (RFC 3515 §2.4.5): the core's [`ReferOutcome`](sip_core::dialog::ReferOutcome),
/// with [`succeeded`](sip_core::dialog::ReferOutcome::succeeded) telling whether the new call
/// was answered.
pub type TransferOutcome = sip_core::dialog::ReferOutcome;

/// What the driver reports about a REFER we sent.
#[derive(Debug, Default)]
pub(crate) struct TransferState {
    /// `Ok` on 2xx, `Err(status)` on a final error.
    pub accepted: Option<Result<(), u16>>,
    /// NOTIFY statuses not read yet.
    pub progress: VecDeque<u16>,
    /// Set once the subscription is over.
    pub outcome: Option<TransferOutcome>,
}

/// A transfer we asked for with [`Call::refer`](crate::Call::refer), accepted by the peer.
///
/// ```no_run
/// # async fn demo(call: sip_ua::Call) -> sip_ua::Result<()> {
/// let mut transfer = call.refer("sip:carol@127.0.0.1:5080").await?;
/// while let Some(status) = transfer.progress().await {
///     println!("transferee's call: {status}");
/// }
/// let outcome = transfer.outcome().await;
/// if outcome.succeeded() {
///     call.hangup().await?;
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Transfer {
    id: ReferId,
    shared: Arc<Shared<TransferState>>,
}

impl Transfer {
    pub(crate) fn new(id: ReferId, shared: Arc<Shared<TransferState>>) -> Self {
        Transfer { id, shared }
    }

    /// The REFER's handle in the core.
    pub fn id(&self) -> ReferId {
        self.id
    }

    /// The next status the peer reported in a NOTIFY (100, 180, 200, 486, ...), or `None`
    /// once the subscription is over and every status was read. Cancellation-safe.
    pub async fn progress(&mut self) -> Option<u16> {
        self.shared
            .wait(|t| match t.progress.pop_front() {
                Some(s) => Some(Some(s)),
                None => t.outcome.is_some().then_some(None),
            })
            .await
    }

    /// Waits until the subscription ends (a NOTIFY with `Subscription-State: terminated`,
    /// its expiry, or the end of the call) and returns the outcome. Can be awaited any
    /// number of times.
    pub async fn outcome(&self) -> TransferOutcome {
        self.shared.wait(|t| t.outcome).await
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answered {
    No,
    Accepted,
    Finished,
}

/// A REFER received in a call ([`CallEvent::Transfer`](crate::CallEvent::Transfer)): the
/// peer asks us to call [`IncomingTransfer::target`]. Accept it, place that call, and
/// report its progress with [`IncomingTransfer::notify`] — a final status (≥ 200) ends the
/// subscription (RFC 3515 §2.4.4, §2.4.5).
///
/// Dropped without an answer, the core declines it (603 Decline); dropped after `accept`
/// without a final status, the core abandons it (a final NOTIFY with 503), so the peer is
/// never left waiting (RFC 3515 §2.4.2, §2.4.5).
///
/// ```no_run
/// # async fn demo(ua: sip_ua::runtime::UaFront, mut call: sip_ua::Call) -> sip_ua::Result<()> {
/// use sip_ua::CallEvent;
/// if let Some(CallEvent::Transfer(mut t)) = call.next_event().await {
///     t.accept().await?;
///     let new_call = ua.call(t.target()).await?;
///     match new_call.answered().await {
///         Ok(_) => t.notify(200).await?,
///         Err(_) => t.notify(503).await?,
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct IncomingTransfer {
    id: ReferId,
    refer_to: String,
    target: String,
    referred_by: Option<String>,
    link: Link,
    answered: Answered,
}

impl IncomingTransfer {
    pub(crate) fn new(
        id: ReferId,
        refer_to: String,
        target: String,
        referred_by: Option<String>,
        link: Link,
    ) -> Self {
        IncomingTransfer {
            id,
            refer_to,
            target,
            referred_by,
            link,
            answered: Answered::No,
        }
    }

    /// The REFER's handle in the core.
    pub fn id(&self) -> ReferId {
        self.id
    }

    /// The Refer-To value as received (a name-addr such as `<sip:carol@192.0.2.3>`).
    pub fn refer_to(&self) -> &str {
        &self.refer_to
    }

    /// The URI to call: the Refer-To value's URI as the core's name-addr parser reads it,
    /// without display name or angle brackets (RFC 3261 §20.10; URI headers such as
    /// `?Replaces=` are kept, RFC 3515 §2.1). For `"Carol" <sip:carol@192.0.2.3>`, it is
    /// `sip:carol@192.0.2.3` — and so for `"a<b" <sip:carol@192.0.2.3>`, whose display
    /// name holds a `<`.
    ///
    /// ```no_run
    /// # async fn demo(ua: sip_ua::runtime::UaFront, mut t: sip_ua::IncomingTransfer) -> sip_ua::Result<()> {
    /// // Refer-To: "Carol" <sip:carol@192.0.2.3>
    /// assert_eq!(t.target(), "sip:carol@192.0.2.3");
    /// t.accept().await?;
    /// let call = ua.call(t.target()).await?;
    /// # let _ = call; Ok(()) }
    /// ```
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The Referred-By value, if the REFER had one (RFC 3892).
    pub fn referred_by(&self) -> Option<&str> {
        self.referred_by.as_deref()
    }

    /// Carries out `action`; the core says whether the subscription is still alive.
    async fn act(&self, action: ReferAction) -> Result<bool> {
        let id = self.id;
        self.link
            .ask(|r| Command::ReferAnswer(id, action, Some(r)))
            .await
    }

    /// Accepts: 202 Accepted, then the first NOTIFY (`SIP/2.0 100 Trying`, subscription
    /// active), RFC 3515 §2.4.2.
    pub async fn accept(&mut self) -> Result<()> {
        if self.answered != Answered::No {
            return Err(Error::AlreadyDone);
        }
        self.act(ReferAction::Accept).await?;
        self.answered = Answered::Accepted;
        Ok(())
    }

    /// Rejects with a final error status (300–699, e.g. 603 Decline; the core refuses
    /// another).
    pub async fn reject(mut self, status: u16) -> Result<()> {
        if self.answered != Answered::No {
            return Err(Error::AlreadyDone);
        }
        self.answered = Answered::Finished;
        self.act(ReferAction::Reject(status)).await.map(drop)
    }

    /// Reports the status of the call to the target in a NOTIFY (a `message/sipfrag` body,
    /// RFC 3515 §2.4.5); a final status (≥ 200) terminates the subscription.
    pub async fn notify(&mut self, status: u16) -> Result<()> {
        if self.answered == Answered::Finished {
            return Err(Error::AlreadyDone);
        }
        // Not accepted yet: the core refuses (`DialogError::ReferNotAccepted`).
        if !self.act(ReferAction::Notify(status)).await? {
            // A final status: the core ended the subscription.
            self.answered = Answered::Finished;
        }
        Ok(())
    }
}

impl Drop for IncomingTransfer {
    fn drop(&mut self) {
        let action = match self.answered {
            Answered::No => ReferAction::Decline,
            Answered::Accepted => ReferAction::Abandon,
            Answered::Finished => return,
        };
        let _ = self.link.send(Command::ReferAnswer(self.id, action, None));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes() {
        let ok = TransferOutcome {
            final_status: Some(200),
            expired: false,
        };
        assert!(ok.succeeded());
        let busy = TransferOutcome {
            final_status: Some(486),
            expired: false,
        };
        assert!(!busy.succeeded());
        let none = TransferOutcome {
            final_status: None,
            expired: true,
        };
        assert!(!none.succeeded());
    }
}
