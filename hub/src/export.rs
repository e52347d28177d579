//! The hub as a destination of the OpenTelemetry SDK: a span exporter, a log exporter and a
//! push metric exporter.
//!
//! Put the span and log exporters behind a batch processor (the SDK's, or Beacon's bounded
//! one) so the application thread only enqueues; the metric exporter goes in a
//! `PeriodicReader`, which collects one point per series per interval. The SDK's data is
//! converted with `opentelemetry-proto`'s transforms (the ones the official OTLP exporter
//! uses), so in-process telemetry and telemetry received over OTLP are stored the same way.
//!
//! ```
//! use beacon_hub::export::HubSpanExporter;
//! use beacon_hub::Hub;
//! use opentelemetry::trace::{Tracer, TracerProvider as _};
//! use opentelemetry_sdk::trace::SdkTracerProvider;
//!
//! let hub = Hub::new();
//! let provider = SdkTracerProvider::builder()
//!     .with_simple_exporter(HubSpanExporter::new(hub.clone()))
//!     .build();
//! provider.tracer("demo").in_span("work", |_| {});
//! assert_eq!(hub.stats().spans, 1);
//! ```

use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::logs::tonic::group_logs_by_resource_and_scope;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;

use crate::Hub;

/// Exports spans into a [`Hub`].
#[derive(Debug)]
pub struct HubSpanExporter {
    hub: Hub,
    resource: ResourceAttributesWithSchema,
}

impl HubSpanExporter {
    /// An exporter into `hub`.
    #[must_use]
    pub fn new(hub: Hub) -> Self {
        Self {
            hub,
            resource: ResourceAttributesWithSchema::default(),
        }
    }

    /// Stores a batch now (what `export` does, without a future).
    pub fn store(&self, batch: Vec<SpanData>) {
        let resource_spans = group_spans_by_resource_and_scope(batch, &self.resource);
        self.hub
            .ingest_traces(ExportTraceServiceRequest { resource_spans });
    }
}

impl SpanExporter for HubSpanExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.store(batch);
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}

/// Exports log records (and domain events) into a [`Hub`].
#[derive(Debug)]
pub struct HubLogExporter {
    hub: Hub,
    resource: ResourceAttributesWithSchema,
}

impl HubLogExporter {
    /// An exporter into `hub`.
    #[must_use]
    pub fn new(hub: Hub) -> Self {
        Self {
            hub,
            resource: ResourceAttributesWithSchema::default(),
        }
    }
}

impl LogExporter for HubLogExporter {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let resource_logs = group_logs_by_resource_and_scope(&batch, &self.resource);
        self.hub
            .ingest_logs(ExportLogsServiceRequest { resource_logs });
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}

/// Exports metric collections into a [`Hub`], one point per series per collection.
/// Asks for cumulative temporality, so each point is a running total and rates come from
/// differences between points.
#[derive(Debug)]
pub struct HubMetricExporter {
    hub: Hub,
}

impl HubMetricExporter {
    /// An exporter into `hub`.
    #[must_use]
    pub fn new(hub: Hub) -> Self {
        Self { hub }
    }
}

impl PushMetricExporter for HubMetricExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        self.hub
            .ingest_metrics(ExportMetricsServiceRequest::from(metrics));
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}
