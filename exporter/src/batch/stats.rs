//! Counters of what a pipeline accepted, exported, dropped and failed.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters of one signal's export pipeline. Updated with relaxed atomics on the hot path.
#[derive(Debug, Default)]
pub struct PipelineStats {
    accepted: AtomicU64,
    dropped: AtomicU64,
    exported: AtomicU64,
    failed: AtomicU64,
    retained: AtomicU64,
}

/// A point-in-time copy of [`PipelineStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Items handed to the queue.
    pub accepted: u64,
    /// Items refused because the queue was full or the pipeline was shut down.
    pub dropped: u64,
    /// Items the exporter reported as delivered.
    pub exported: u64,
    /// Items given up after their export failed: a non-retryable failure, evicted from the
    /// retry buffer when it was full, or still failing at shutdown.
    pub failed: u64,
    /// Items currently kept for another try after a retryable failure.
    pub retained: u64,
}

impl StatsSnapshot {
    /// Items that were accepted but never delivered: dropped or failed.
    pub fn lost(&self) -> u64 {
        self.dropped + self.failed
    }

    /// Items accepted and not (yet) delivered: lost, queued, or in an export still running.
    /// After shutdown, everything here is lost for good.
    pub fn undelivered(&self) -> u64 {
        self.accepted.saturating_sub(self.exported)
    }
}

impl PipelineStats {
    pub(crate) fn accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn exported(&self, n: usize) {
        self.exported.fetch_add(n as u64, Ordering::Relaxed);
    }
    pub(crate) fn failed(&self, n: usize) {
        self.failed.fetch_add(n as u64, Ordering::Relaxed);
    }
    pub(crate) fn set_retained(&self, n: usize) {
        self.retained.store(n as u64, Ordering::Relaxed);
    }

    /// Reads the counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            accepted: self.accepted.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            exported: self.exported.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            retained: self.retained.load(Ordering::Relaxed),
        }
    }
}
