//! Counters of what a pipeline accepted, exported, dropped and failed.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
#[cfg(test)]
use std::sync::Arc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use opentelemetry::metrics::Histogram;
use opentelemetry::KeyValue;

/// Why the latest failed export failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportErrorKind {
    /// The export did not finish within its timeout.
    Timeout,
    /// The collector could not be reached or asked to retry later (retryable).
    Unavailable,
    /// The collector refused the data, or the export failed for a reason not worth retrying.
    Rejected,
}

impl ExportErrorKind {
    /// `timeout`, `unavailable` or `rejected` (the `error.type` of the self-metrics).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Unavailable => "unavailable",
            Self::Rejected => "rejected",
        }
    }

    fn code(self) -> u8 {
        match self {
            Self::Timeout => 1,
            Self::Unavailable => 2,
            Self::Rejected => 3,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Timeout),
            2 => Some(Self::Unavailable),
            3 => Some(Self::Rejected),
            _ => None,
        }
    }
}

/// Warnings about failed exports: at most one a minute for each cause.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// Live counters of one signal's export pipeline. Updated with relaxed atomics on the hot path.
#[derive(Debug, Default)]
pub struct PipelineStats {
    accepted: AtomicU64,
    dropped: AtomicU64,
    exported: AtomicU64,
    failed: AtomicU64,
    retained: AtomicU64,
    spooled: AtomicU64,
    spooled_bytes: AtomicU64,
    recovered: AtomicU64,
    spool_corrupt: AtomicU64,
    spool_evicted: AtomicU64,
    export_calls: AtomicU64,
    export_nanos: AtomicU64,
    last_error: AtomicU8,
    /// Where this pipeline sends its data, for warnings.
    destination: OnceLock<String>,
    /// `otel.sdk.exporter.operation.duration`, once the SDK's meter provider exists.
    duration: OnceLock<(Histogram<f64>, Vec<KeyValue>)>,
    /// When each cause (dropped, each error kind, spool eviction) was last warned about.
    warned: Mutex<[Option<Instant>; 5]>,
}

/// A point-in-time copy of [`PipelineStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Items handed to the queue.
    pub accepted: u64,
    /// Items refused because the queue was full or the pipeline was shut down, and items
    /// evicted from the disk spool past its byte cap.
    pub dropped: u64,
    /// Items the exporter reported as delivered.
    pub exported: u64,
    /// Items given up after their export failed: a non-retryable failure, evicted from the
    /// retry buffer when it was full (and no spool took them), still failing at shutdown
    /// without a spool, or in a spooled record found damaged when read back.
    pub failed: u64,
    /// Items currently kept in memory for another try after a retryable failure.
    pub retained: u64,
    /// Items currently in the disk spool (see [`crate::spool`]), waiting for the collector.
    pub spooled: u64,
    /// Bytes of those spooled items on disk (encoded OTLP requests plus record headers).
    pub spooled_bytes: u64,
    /// Items an earlier process left in the spool, found when this pipeline started; they
    /// count like accepted ones: `accepted + recovered = exported + dropped + failed + retained
    /// + spooled + in flight`.
    pub recovered: u64,
    /// Damaged stretches of the spool skipped (a torn write after a crash, an overwritten
    /// block): when found at start their items are unknown, and not in `recovered`; when a
    /// record turns out damaged on reading back, its items are counted in `failed` too.
    pub spool_corrupt: u64,
    /// Of `dropped`, the items evicted from the spool past its byte cap.
    pub spool_evicted: u64,
    /// Export calls made, successful or not.
    pub export_calls: u64,
    /// Time spent in export calls, in all.
    pub export_time: Duration,
    /// Why the latest failed export failed (cleared by nothing: it is the latest known cause).
    pub last_error: Option<ExportErrorKind>,
}

impl StatsSnapshot {
    /// Items that were accepted but never delivered: dropped or failed.
    pub fn lost(&self) -> u64 {
        self.dropped + self.failed
    }

    /// Items in the queue or in an export running now.
    pub fn in_flight(&self) -> u64 {
        (self.accepted + self.recovered).saturating_sub(
            self.dropped + self.exported + self.failed + self.retained + self.spooled,
        )
    }

    /// Items accepted (or recovered from the spool) and not (yet) delivered: lost, queued,
    /// spooled, or in an export still running. After shutdown, everything here but the spooled
    /// items is lost for good; those wait on disk for the next start.
    pub fn undelivered(&self) -> u64 {
        (self.accepted + self.recovered).saturating_sub(self.exported)
    }
}

impl PipelineStats {
    pub(crate) fn accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn accepted_many(&self, n: u64) {
        self.accepted.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        self.warn(0, || {
            "the export queue is full: new items are dropped".to_owned()
        });
    }

    /// Names where this pipeline sends its data (for example `traces to OTLP
    /// http://localhost:4318/v1/traces`), used in warnings.
    pub fn set_destination(&self, destination: impl Into<String>) {
        let _ = self.destination.set(destination.into());
    }

    /// Records each export's duration in `histogram` from now on, with `attributes` (and
    /// `error.type` when the export failed).
    pub fn set_duration_histogram(&self, histogram: Histogram<f64>, attributes: Vec<KeyValue>) {
        let _ = self.duration.set((histogram, attributes));
    }

    /// One export call finished after `took`, failed with `error` if any.
    pub(crate) fn export_done(&self, took: Duration, error: Option<(ExportErrorKind, &str)>) {
        self.export_calls.fetch_add(1, Ordering::Relaxed);
        self.export_nanos
            .fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
        if let Some((histogram, attributes)) = self.duration.get() {
            match error {
                None => histogram.record(took.as_secs_f64(), attributes),
                Some((kind, _)) => {
                    let mut attributes = attributes.clone();
                    attributes.push(KeyValue::new("error.type", kind.as_str()));
                    histogram.record(took.as_secs_f64(), &attributes);
                }
            }
        }
        if let Some((kind, message)) = error {
            self.last_error.store(kind.code(), Ordering::Relaxed);
            self.warn(usize::from(kind.code()), || {
                format!("export failed ({}): {message}", kind.as_str())
            });
        }
    }

    /// A warning on the `beacon_exporter` target, at most once a minute per cause, so a dead
    /// collector never becomes a log storm.
    fn warn(&self, cause: usize, message: impl FnOnce() -> String) {
        let now = Instant::now();
        {
            let Ok(mut warned) = self.warned.try_lock() else {
                return;
            };
            match warned.get_mut(cause) {
                Some(Some(last)) if now.duration_since(*last) < WARN_EVERY => return,
                Some(slot) => *slot = Some(now),
                None => return,
            }
        }
        let destination = self.destination.get().map_or("telemetry", String::as_str);
        tracing::warn!(
            target: "beacon_exporter::batch",
            destination,
            "{}; further warnings of this kind are held back for a minute",
            message()
        );
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
    pub(crate) fn set_spooled(&self, items: u64, bytes: u64) {
        self.spooled.store(items, Ordering::Relaxed);
        self.spooled_bytes.store(bytes, Ordering::Relaxed);
    }
    pub(crate) fn recovered(&self, n: u64) {
        self.recovered.fetch_add(n, Ordering::Relaxed);
    }
    pub(crate) fn spool_corrupt(&self, n: u64) {
        self.spool_corrupt.fetch_add(n, Ordering::Relaxed);
    }
    /// Items evicted from the spool past its cap: counted as dropped.
    pub(crate) fn spool_evicted(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
        self.spool_evicted.fetch_add(n, Ordering::Relaxed);
        self.warn(4, || {
            "the export spool is full: its oldest items are dropped".to_owned()
        });
    }

    /// Reads the counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            accepted: self.accepted.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            exported: self.exported.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            retained: self.retained.load(Ordering::Relaxed),
            spooled: self.spooled.load(Ordering::Relaxed),
            spooled_bytes: self.spooled_bytes.load(Ordering::Relaxed),
            recovered: self.recovered.load(Ordering::Relaxed),
            spool_corrupt: self.spool_corrupt.load(Ordering::Relaxed),
            spool_evicted: self.spool_evicted.load(Ordering::Relaxed),
            export_calls: self.export_calls.load(Ordering::Relaxed),
            export_time: Duration::from_nanos(self.export_nanos.load(Ordering::Relaxed)),
            last_error: ExportErrorKind::from_code(self.last_error.load(Ordering::Relaxed)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    /// Counts the events it sees.
    struct Count(Arc<AtomicUsize>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Count {
        fn on_event(&self, _: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn warnings_are_held_back_to_one_a_minute_per_cause() {
        let seen = Arc::new(AtomicUsize::new(0));
        let subscriber = tracing_subscriber::registry().with(Count(Arc::clone(&seen)));
        tracing::subscriber::with_default(subscriber, || {
            let stats = PipelineStats::default();
            stats.set_destination("traces to OTLP http://collector:4318/v1/traces");
            for _ in 0..1_000 {
                stats.dropped();
                stats.export_done(
                    Duration::from_millis(3),
                    Some((ExportErrorKind::Unavailable, "connection refused")),
                );
            }
            stats.export_done(
                Duration::from_millis(3),
                Some((ExportErrorKind::Timeout, "slow")),
            );
            let snap = stats.snapshot();
            assert_eq!(snap.dropped, 1_000);
            assert_eq!(snap.export_calls, 1_001);
            assert_eq!(snap.last_error, Some(ExportErrorKind::Timeout));
        });
        assert_eq!(
            seen.load(Ordering::Relaxed),
            3,
            "one per cause: dropped, unavailable, timeout"
        );
    }
}
