//! A push metric exporter adapter that polls its exporter inside the export runtime.

use std::sync::{Arc, Mutex};
use std::time::Duration;

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
        }
    }

    /// A handle on the last export error (cleared by a successful export).
    pub fn last_error(&self) -> LastError {
        self.last_error.clone()
    }

    /// Bounds each export.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl<E: PushMetricExporter> PushMetricExporter for RuntimeMetricExporter<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let timeout = self.timeout;
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
