//! What the scenario tests share: an executor per test, time bounds, and the sample PBX.

#![allow(dead_code)] // each test file uses part of it

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use smol::{Executor, Timer};

/// The executor a test runs everything on, the PBX's and the user agents' tasks included.
pub type Ex = Arc<Executor<'static>>;

/// Runs `body` on a fresh executor driven by the test's thread; the test fails if it
/// takes longer than `limit`.
pub fn run<F: Future>(limit: Duration, body: impl FnOnce(Ex) -> F) -> F::Output {
    let ex: Ex = Arc::new(Executor::new());
    let fut = body(ex.clone());
    smol::block_on(ex.run(async move {
        timeout(limit, fut)
            .await
            .unwrap_or_else(|| panic!("test took longer than {limit:?}"))
    }))
}

/// `fut`'s output, or `None` after `limit`.
pub async fn timeout<T>(limit: Duration, fut: impl Future<Output = T>) -> Option<T> {
    futures_lite::future::or(async { Some(fut.await) }, async {
        Timer::after(limit).await;
        None
    })
    .await
}

/// A spawner onto `ex`, for `UserAgentBuilder::spawner`.
pub fn spawner(ex: &Ex) -> impl Fn(sip_smol::Task) + Send + Sync + 'static {
    let ex = ex.clone();
    move |t| ex.spawn(t).detach()
}
