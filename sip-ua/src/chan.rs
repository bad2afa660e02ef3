//! The channels between a router, the handles and (for a runtime crate that wants them)
//! the transports, on `async-channel`: runtime-neutral, they wake whatever executor polls
//! them.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

/// The other end is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

/// A channel for one value.
pub mod oneshot {
    use super::*;

    /// Sends the one value.
    #[derive(Debug)]
    pub struct Sender<T>(async_channel::Sender<T>);

    impl<T> Sender<T> {
        /// Hands the value over; gives it back if the receiver is gone.
        pub fn send(self, value: T) -> Result<(), T> {
            self.0.try_send(value).map_err(|e| e.into_inner())
        }
    }

    /// Resolves to the value, or [`Closed`] if the sender was dropped without one.
    #[derive(Debug)]
    pub struct Receiver<T>(Pin<Box<async_channel::Receiver<T>>>);

    impl<T> Future for Receiver<T> {
        type Output = Result<T, Closed>;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            self.0.as_mut().poll_next(cx).map(|v| v.ok_or(Closed))
        }
    }

    /// A channel for one value.
    pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
        let (tx, rx) = async_channel::bounded(1);
        (Sender(tx), Receiver(Box::pin(rx)))
    }
}

/// Queues of many values: bounded ones for what the handles may fall behind on, unbounded
/// ones for commands.
pub mod mpsc {
    use super::*;

    pub use async_channel::TrySendError;

    /// A sender, bounded or not.
    #[derive(Debug)]
    pub struct Sender<T>(async_channel::Sender<T>);

    impl<T> Clone for Sender<T> {
        fn clone(&self) -> Self {
            Sender(self.0.clone())
        }
    }

    impl<T> Sender<T> {
        /// Queues without waiting (fails if full or closed).
        pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
            self.0.try_send(value)
        }

        /// Queues, waiting for room.
        pub async fn send(&self, value: T) -> Result<(), Closed> {
            self.0.send(value).await.map_err(|_| Closed)
        }

        /// A sender that does not keep the channel open.
        pub fn downgrade(&self) -> WeakSender<T> {
            WeakSender(self.0.downgrade())
        }
    }

    /// A sender that does not keep the channel open.
    #[derive(Debug)]
    pub struct WeakSender<T>(async_channel::WeakSender<T>);

    impl<T> WeakSender<T> {
        /// A sender again, unless every sender is gone.
        pub fn upgrade(&self) -> Option<Sender<T>> {
            self.0.upgrade().map(Sender)
        }
    }

    /// A receiver.
    #[derive(Debug)]
    pub struct Receiver<T>(Pin<Box<async_channel::Receiver<T>>>);

    impl<T> Receiver<T> {
        /// The next value, or `None` once every sender is gone and the queue is empty.
        pub async fn recv(&self) -> Option<T> {
            self.0.recv().await.ok()
        }

        /// The next value if one is queued.
        pub fn try_recv(&self) -> Option<T> {
            self.0.try_recv().ok()
        }

        /// Polls for the next value (`None` once every sender is gone and the queue is
        /// empty).
        pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
            self.0.as_mut().poll_next(cx)
        }

        /// Refuses further values (those queued can still be taken).
        pub fn close(&self) {
            self.0.close();
        }
    }

    /// A queue of at most `cap` values (at least one).
    pub fn channel<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
        let (tx, rx) = async_channel::bounded(cap.max(1));
        (Sender(tx), Receiver(Box::pin(rx)))
    }

    /// A queue without a bound (commands: each is answered at once).
    pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
        let (tx, rx) = async_channel::unbounded();
        (Sender(tx), Receiver(Box::pin(rx)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oneshot_delivers_or_reports_the_sender_gone() {
        futures_lite::future::block_on(async {
            let (tx, rx) = oneshot::channel();
            tx.send(5).unwrap();
            assert_eq!(rx.await, Ok(5));
            let (tx, rx) = oneshot::channel::<u8>();
            drop(tx);
            assert_eq!(rx.await, Err(Closed));
        });
    }

    #[test]
    fn a_weak_sender_does_not_keep_the_queue_open() {
        futures_lite::future::block_on(async {
            let (tx, rx) = mpsc::unbounded::<u8>();
            let weak = tx.downgrade();
            tx.try_send(1).unwrap();
            drop(tx);
            assert!(weak.upgrade().is_none());
            assert_eq!(rx.recv().await, Some(1));
            assert_eq!(rx.recv().await, None);
        });
    }
}
