//! CPU-heavy request work (filtering a collection, draft geometry operations, rendering a
//! Gebietsstand) runs here: off the async workers, so that cheap requests (`/conformance`,
//! the map's files) keep being answered; at most a few at a time, so that a burst of costly
//! requests cannot take every core; and with a deadline the work itself checks, because a
//! timeout around a blocking task only abandons the waiting, not the work.

use crate::error::ApiError;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Runs costly work with bounded concurrency and a per-request budget.
#[derive(Debug, Clone)]
pub struct WorkLimiter {
    permits: Arc<Semaphore>,
    /// How long a request waits for a free slot before it is answered 503.
    pub queue_timeout: Duration,
    /// Computing time one request may use; work past its deadline stops.
    pub budget: Duration,
}

impl Default for WorkLimiter {
    fn default() -> Self {
        Self::new(0, Duration::from_secs(10), Duration::from_secs(10))
    }
}

impl WorkLimiter {
    /// `slots` costly requests at a time (0 = the number of cores, at least 2).
    pub fn new(slots: usize, queue_timeout: Duration, budget: Duration) -> Self {
        let slots = if slots == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
                .max(2)
        } else {
            slots
        };
        Self {
            permits: Arc::new(Semaphore::new(slots)),
            queue_timeout,
            budget,
        }
    }

    /// Runs `f(deadline)` on the blocking pool once a slot is free. `f` should stop with an
    /// error when `Instant::now()` passes the deadline. A panic in `f` becomes a 500.
    pub async fn run<T, E>(
        &self,
        f: impl FnOnce(Instant) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<ApiError> + Send + 'static,
    {
        let permit = tokio::time::timeout(self.queue_timeout, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| {
                E::from(ApiError::Busy(
                    "the server is busy with other costly requests; please retry in a few seconds"
                        .into(),
                ))
            })?
            .map_err(|_| E::from(ApiError::Busy("the server is shutting down".into())))?;
        let budget = self.budget;
        let joined = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f(Instant::now() + budget)
        })
        .await;
        match joined {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "request work panicked");
                Err(E::from(ApiError::Internal("internal error".into())))
            }
        }
    }
}
