//! A push metric exporter adapter that polls its exporter inside the export runtime.

use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;

use crate::ExportRuntime;

/// Wraps a [`PushMetricExporter`] so the SDK's periodic reader, which polls exports from a
/// thread of its own, drives them inside Beacon's [`ExportRuntime`] (where tonic and reqwest
/// find their reactor) with telemetry suppressed.
#[derive(Debug)]
pub struct RuntimeMetricExporter<E> {
    inner: E,
    runtime: ExportRuntime,
}

impl<E> RuntimeMetricExporter<E> {
    /// Wraps `inner`.
    pub fn new(inner: E, runtime: ExportRuntime) -> Self {
        Self { inner, runtime }
    }
}

impl<E: PushMetricExporter> PushMetricExporter for RuntimeMetricExporter<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        self.runtime.in_context(self.inner.export(metrics)).await
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
