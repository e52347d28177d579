//! Beacon's exporters: everything that ships telemetry out of the process.
//!
//! - [`otlp`]: OTLP over gRPC and HTTP (protobuf or JSON), gzip, headers, TLS — built on
//!   `opentelemetry-otlp`, configured once with typed values.
//! - [`batch`]: bounded batch processors for spans and logs that never block the application,
//!   count everything they accept, export, drop or fail, and run on Beacon's own
//!   [`ExportRuntime`].
//! - [`spool`]: a bounded, checksummed disk spool behind the batch processors and the OTLP
//!   metric exporter, so that a long collector outage or a restart of the service loses nothing
//!   that fits in it.
//! - [`console`]: a readable line-per-item exporter for development.
//! - [`prometheus`]: a scrape endpoint (pull reader, text 0.0.4 and OpenMetrics encoders, an
//!   optional listener of its own), with [`exemplars`] linking series to traces.
//!
//! This crate knows `opentelemetry_sdk`, not `beacon`; the `beacon` crate wires it up from the
//! `OTEL_*` environment.
//!
//! | feature | what it adds |
//! |---|---|
//! | `otlp-grpc` (default) | OTLP/gRPC through tonic, gzip, TLS with the system roots |
//! | `otlp-http` (default) | OTLP/HTTP with protobuf or JSON, gzip, TLS with the system roots |
//! | `prometheus-server` (default) | [`prometheus::PrometheusServer`], a scrape listener on a port of its own |
//!
//! # Example
//! ```
//! use beacon_exporter::console::{ConsoleLogExporter, Output};
//! use beacon_exporter::batch::{BatchConfig, BatchLogProcessor};
//! use beacon_exporter::ExportRuntime;
//! use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _};
//! use opentelemetry_sdk::logs::SdkLoggerProvider;
//!
//! let out = Output::buffer();
//! let runtime = ExportRuntime::new()?;
//! let processor = BatchLogProcessor::new(ConsoleLogExporter::new(out.clone()), BatchConfig::logs_default(), &runtime);
//! let provider = SdkLoggerProvider::builder().with_log_processor(processor).build();
//! let logger = provider.logger("doc");
//! let mut record = logger.create_log_record();
//! record.set_body("hello".into());
//! logger.emit(record);
//! provider.force_flush()?;
//! assert!(out.contents().contains("hello"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod batch;
pub mod console;
mod error;
pub mod exemplars;
mod metrics;
pub mod otlp;
pub mod prometheus;
mod runtime;
pub mod spool;

pub use error::ExporterError;

/// What a timeout of zero means, for every timeout Beacon's exporters take: no limit (the
/// OpenTelemetry configuration spec, `configuration/common.md`, "Timeout": "A value of 0
/// indicates no limit (infinity)"). Any other timeout is itself.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(beacon_exporter::timeout_or_no_limit(Duration::ZERO), Duration::MAX);
/// assert_eq!(beacon_exporter::timeout_or_no_limit(Duration::from_secs(3)), Duration::from_secs(3));
/// ```
pub fn timeout_or_no_limit(timeout: std::time::Duration) -> std::time::Duration {
    if timeout.is_zero() {
        std::time::Duration::MAX
    } else {
        timeout
    }
}
pub use metrics::{Deadline, LastError, RuntimeMetricExporter};
pub use runtime::{ExportRuntime, InRuntime};
