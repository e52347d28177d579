//! A push metric exporter adapter that polls its exporter inside the export runtime.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;

use crate::ExportRuntime;

/// Wraps a [`PushMetricExporter`] so the SDK's periodic reader, which polls exports from a
/// thread of its own, drives them inside Beacon's [`ExportRuntime`] (where tonic and reqwest
/// find their reactor), with telemetry suppressed and a bound on each export
/// (`OTEL_METRIC_EXPORT_TIMEOUT`, which the SDK's reader does not apply itself).
#[derive(Debug)]
pub struct RuntimeMetricExporter<E> {
    inner: E,
    runtime: ExportRuntime,
    timeout: Duration,
    last_error: LastError,
    deadline: Deadline,
}

/// A moment no export of a [`RuntimeMetricExporter`] may run past, once set: the end of the
/// application's shutdown budget. The SDK's periodic reader runs the final export during
/// `shutdown` without passing the time left on (it waits up to 5 s of its own), so the owner of
/// the budget sets it here before shutting the reader down.
#[derive(Debug, Clone, Default)]
pub struct Deadline(Arc<Mutex<Option<Instant>>>);

impl Deadline {
    /// From now on, exports end by `at`.
    pub fn set(&self, at: Instant) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(at);
        }
    }

    /// `timeout`, or less if the deadline comes sooner (at least 1 ms, so an export past the
    /// deadline fails fast as a timeout rather than never starting).
    fn bound(&self, timeout: Duration) -> Duration {
        let at = self.0.lock().ok().and_then(|slot| *slot);
        match at {
            Some(at) => timeout
                .min(at.saturating_duration_since(Instant::now()))
                .max(Duration::from_millis(1)),
            None => timeout,
        }
    }
}

/// The most recent export failure of a [`RuntimeMetricExporter`], readable after the exporter
/// was handed to a reader (the SDK reports a failed final export only as "Failed to shutdown").
#[derive(Debug, Clone, Default)]
pub struct LastError(Arc<Mutex<Option<String>>>);

impl LastError {
    /// The last export error's message, if an export has failed.
    pub fn get(&self) -> Option<String> {
        self.0.lock().ok().and_then(|e| e.clone())
    }

    fn set(&self, error: Option<String>) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = error;
        }
    }
}

impl<E> RuntimeMetricExporter<E> {
    /// Wraps `inner`; each export may take at most 30 s until [`Self::with_timeout`] says
    /// otherwise.
    pub fn new(inner: E, runtime: ExportRuntime) -> Self {
        Self {
            inner,
            runtime,
            timeout: Duration::from_secs(30),
            last_error: LastError::default(),
            deadline: Deadline::default(),
        }
    }

    /// The handle that bounds every export of this exporter by a deadline, such as the end of
    /// a shutdown.
    pub fn deadline(&self) -> Deadline {
        self.deadline.clone()
    }

    /// A handle on the last export error (cleared by a successful export).
    pub fn last_error(&self) -> LastError {
        self.last_error.clone()
    }

    /// The wrapped exporter.
    pub fn get_ref(&self) -> &E {
        &self.inner
    }

    /// Replaces the wrapped exporter with what `f` makes of it.
    #[must_use]
    pub fn map_inner(mut self, f: impl FnOnce(E) -> E) -> Self {
        self.inner = f(self.inner);
        self
    }

    /// Bounds each export; zero means no limit
    /// ([`timeout_or_no_limit`](crate::timeout_or_no_limit)).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = crate::timeout_or_no_limit(timeout);
        self
    }
}

impl<E: PushMetricExporter> PushMetricExporter for RuntimeMetricExporter<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let timeout = self.deadline.bound(self.timeout);
        let export = self.inner.export(metrics);
        let result = self
            .runtime
            .in_context(async move {
                match tokio::time::timeout(timeout, export).await {
                    Ok(result) => result,
                    Err(_) => Err(OTelSdkError::Timeout(timeout)),
                }
            })
            .await;
        self.last_error
            .set(result.as_ref().err().map(ToString::to_string));
        result
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}
