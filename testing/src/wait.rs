//! Waiting on a capture: woken by each item that arrives, bounded by a timeout.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::hub::Store;
use crate::record::Item;

/// Why a wait or a refutation failed, with everything the capture saw.
#[derive(Debug, Clone)]
pub struct WaitError {
    expected: String,
    reason: String,
    captured: Vec<Item>,
    /// What else the wait looked at (a metric wait: the points it saw).
    seen: Option<String>,
}

impl WaitError {
    pub(crate) fn new(expected: String, reason: String, captured: Vec<Item>) -> Self {
        Self {
            expected,
            reason,
            captured,
            seen: None,
        }
    }

    /// What the capture had received when the wait gave up.
    pub fn captured(&self) -> &[Item] {
        &self.captured
    }
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} {}", self.reason, self.expected)?;
        if let Some(seen) = &self.seen {
            writeln!(f, "{seen}")?;
        }
        if self.captured.is_empty() {
            return write!(
                f,
                "the capture received nothing: work spawned onto another task or thread is \
                 captured only when it carries the test's span, e.g. \
                 `tokio::spawn(work.in_current_span())` (tracing::Instrument) or \
                 `beacon::propagation::spawn(work)`"
            );
        }
        writeln!(
            f,
            "the capture received {} items, in order:",
            self.captured.len()
        )?;
        for (i, item) in self.captured.iter().enumerate() {
            writeln!(f, "  {:>3}. {item}", i + 1)?;
        }
        Ok(())
    }
}

impl std::error::Error for WaitError {}

type CheckFn<R> = Box<dyn FnMut(&[Item]) -> Option<R> + Send>;

/// A pending wait. `.await` it in async tests, or call [`Wait::blocking`] in sync ones;
/// [`Wait::timeout`] changes how long it may take.
#[must_use = "a wait does nothing until awaited or run with .blocking()"]
pub struct Wait<R> {
    store: Arc<Store>,
    timeout: Duration,
    expected: String,
    check: CheckFn<R>,
    seen: Option<SeenFn>,
}

type SeenFn = Box<dyn Fn() -> String + Send>;

impl<R: Send + 'static> Wait<R> {
    pub(crate) fn new(
        store: Arc<Store>,
        timeout: Duration,
        expected: String,
        check: impl FnMut(&[Item]) -> Option<R> + Send + 'static,
    ) -> Self {
        Self {
            store,
            timeout,
            expected,
            check: Box::new(check),
            seen: None,
        }
    }

    /// On a timeout, the error also says what `seen` returns (what the wait looked at besides
    /// the captured items).
    pub(crate) fn with_seen(mut self, seen: impl Fn() -> String + Send + 'static) -> Self {
        self.seen = Some(Box::new(seen));
        self
    }

    /// Gives up after `timeout` instead of the capture's default.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Waits on this thread, for tests without an async runtime.
    ///
    /// # Errors
    /// A [`WaitError`] when the timeout passes first.
    pub fn blocking(mut self) -> Result<R, WaitError> {
        let deadline = Instant::now() + self.timeout;
        let mut items = self.store.items.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(found) = (self.check)(&items) {
                return Ok(found);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.timed_out(items.clone()));
            }
            items = self
                .store
                .changed
                .wait_timeout(items, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn timed_out(&self, captured: Vec<Item>) -> WaitError {
        let mut error = WaitError::new(
            self.expected.clone(),
            format!("timed out after {:?} waiting for", self.timeout),
            captured,
        );
        error.seen = self.seen.as_ref().map(|seen| seen());
        error
    }

    async fn run(mut self) -> Result<R, WaitError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            let notified = self.store.notify.notified();
            tokio::pin!(notified);
            // Register before checking, so an item that lands in between still wakes us.
            notified.as_mut().enable();
            {
                let items = self.store.items.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(found) = (self.check)(&items) {
                    return Ok(found);
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let items = self
                    .store
                    .items
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                if let Some(found) = (self.check)(&items) {
                    return Ok(found);
                }
                return Err(self.timed_out(items));
            }
        }
    }
}

impl<R: Send + 'static> IntoFuture for Wait<R> {
    type Output = Result<R, WaitError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}
