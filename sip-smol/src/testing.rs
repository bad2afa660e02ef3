//! Helpers of the unit tests.

use std::future::Future;
use std::time::Duration;

/// Runs `fut` on smol's executor, failing the test if it takes longer than `limit`.
pub(crate) fn within<T>(limit: Duration, fut: impl Future<Output = T>) -> T {
    smol::block_on(futures_lite::future::or(fut, async {
        async_io::Timer::after(limit).await;
        panic!("test timed out after {limit:?}")
    }))
}
