//! How the driver starts its tasks: with whatever executor the application runs (smol's,
//! async-std's, `async-executor`'s), through a function it hands over.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A task of the user agent, for the application's executor to run to completion.
pub type Task = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Starts tasks on the application's executor.
#[derive(Clone)]
pub(crate) struct Spawner(Arc<dyn Fn(Task) + Send + Sync>);

impl Spawner {
    pub(crate) fn new(f: impl Fn(Task) + Send + Sync + 'static) -> Self {
        Spawner(Arc::new(f))
    }

    /// Starts `fut` as a task of its own.
    pub(crate) fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) {
        (self.0)(Box::pin(fut));
    }
}

impl fmt::Debug for Spawner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Spawner")
    }
}
