//! State shared by the driver task and a handle: a value behind a mutex plus an
//! [`Event`] that wakes every waiter after each change.
//!
//! One allocation per call or transfer, and waiting is cancellation-safe: a waiter only
//! takes something out of the state in the same synchronous step that returns it.

use std::sync::{Mutex, MutexGuard};

use event_listener::Event;

/// A value the driver updates and handles wait on.
#[derive(Debug, Default)]
pub(crate) struct Shared<T> {
    value: Mutex<T>,
    notify: Event,
}

impl<T> Shared<T> {
    pub(crate) fn new(value: T) -> Self {
        Shared {
            value: Mutex::new(value),
            notify: Event::new(),
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
        self.notify.notify(usize::MAX);
        r
    }

    /// Waits until `f` returns `Some`, re-checking after every update.
    pub(crate) async fn wait<R>(&self, mut f: impl FnMut(&mut T) -> Option<R>) -> R {
        loop {
            if let Some(r) = f(&mut self.lock()) {
                return r;
            }
            // Listen before checking again, so an update in between is not missed.
            let listener = self.notify.listen();
            if let Some(r) = f(&mut self.lock()) {
                return r;
            }
            listener.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn waiters_see_updates_made_before_and_after_they_wait() {
        futures_lite::future::block_on(async {
            let s = Arc::new(Shared::new(0u32));
            s.update(|v| *v = 1);
            assert_eq!(s.wait(|v| (*v >= 1).then_some(*v)).await, 1);
            let s2 = s.clone();
            let updates = async move {
                futures_lite::future::yield_now().await;
                s2.update(|v| *v = 2);
                s2.update(|v| *v = 3);
            };
            let (seen, ()) =
                futures_lite::future::zip(s.wait(|v| (*v >= 3).then_some(*v)), updates).await;
            assert_eq!(seen, 3);
        });
    }
}
