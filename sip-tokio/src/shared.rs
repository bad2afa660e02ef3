//! State shared by the driver task and a handle: a value behind a mutex plus a
//! [`Notify`] that wakes every waiter after each change.
//!
//! One allocation per call or transfer (a channel per call would allocate a block of
//! slots each), and waiting is cancellation-safe: a waiter only takes something out of
//! the state in the same synchronous step that returns it.

use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

/// A value the driver updates and handles wait on.
#[derive(Debug, Default)]
pub(crate) struct Shared<T> {
    value: Mutex<T>,
    notify: Notify,
}

impl<T> Shared<T> {
    pub(crate) fn new(value: T) -> Self {
        Shared {
            value: Mutex::new(value),
            notify: Notify::new(),
        }
    }

    /// Locks the value (never poisoned in practice: nothing panics while holding it).
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.value
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Changes the value and wakes every waiter.
    pub(crate) fn update<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let r = f(&mut self.lock());
        self.notify.notify_waiters();
        r
    }

    /// Waits until `f` returns `Some`, re-checking after every update.
    pub(crate) async fn wait<R>(&self, mut f: impl FnMut(&mut T) -> Option<R>) -> R {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Register before checking, so an update between the check and the await is
            // not missed.
            notified.as_mut().enable();
            if let Some(r) = f(&mut self.lock()) {
                return r;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn waiters_see_updates_made_before_and_after_they_wait() {
        let s = Arc::new(Shared::new(0u32));
        s.update(|v| *v = 1);
        assert_eq!(s.wait(|v| (*v >= 1).then_some(*v)).await, 1);
        let s2 = s.clone();
        let waiter = tokio::spawn(async move { s2.wait(|v| (*v >= 3).then_some(*v)).await });
        tokio::task::yield_now().await;
        s.update(|v| *v = 2);
        s.update(|v| *v = 3);
        assert_eq!(waiter.await.unwrap(), 3);
    }
}
