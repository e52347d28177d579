//! # Beacon
//!
//! OpenTelemetry-native instrumentation for Rust services: one call configures traces, metrics
//! and logs from the standard `OTEL_*` environment variables, installs a `tracing` subscriber
//! that turns spans into OTel spans and events into OTel log records (carrying the trace and
//! span ids), and returns a guard that flushes everything on shutdown.
//!
//! ```no_run
//! fn main() -> Result<(), beacon::InitError> {
//!     let _telemetry = beacon::init()?;           // reads OTEL_*; flushes on drop
//!     let span = tracing::info_span!("checkout", order.id = 42);
//!     let _entered = span.enter();
//!     tracing::info!(amount = 9.99, "order processed"); // a log record in the span's trace
//!     Ok(())
//! }
//! ```
//!
//! Everything can also be set in code, where it wins over the environment:
//!
//! ```
//! use beacon::config::Exporter;
//! use opentelemetry::metrics::MeterProvider as _;
//!
//! let telemetry = beacon::builder()
//!     .service_name("checkout")
//!     .service_version("1.2.3")
//!     .traces_exporter(Exporter::None)
//!     .metrics_exporter(Exporter::None)
//!     .logs_exporter(Exporter::None)
//!     .build()?;                                   // `.try_init()` also installs it globally
//! let orders = telemetry.meter_provider().meter("shop").u64_counter("orders.processed").build();
//! orders.add(1, &[]);
//! assert!(telemetry.is_enabled());
//! telemetry.shutdown()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Where things are
//! | module | what |
//! |---|---|
//! | [`collectors`] | process, system and tokio runtime metrics in semantic-convention form (feature `system-metrics`) |
//! | [`config`] | the [`Builder`], typed values ([`config::Sampler`], [`config::Exporter`]…), the variable names ([`config::vars`]) and the rules for invalid values |
//! | [`health`] | named async health checks with timeouts, and the JSON report `/health/ready` serves |
//! | [`self_telemetry`] | the pipelines' own metrics (`otel.sdk.*`, `beacon.exporter.*`): processed, dropped, queued, retained, exported, export duration |
//! | [`sampling`] | samplers beyond the spec's: at most N traces per second; tail sampling |
//! | [`propagation`] | inject/extract on any string map (message headers), task spawning that keeps the trace, B3 and Jaeger propagators |
//! | [`otel`] | the OpenTelemetry crates Beacon is built on, re-exported so versions always match |
//!
//! ## Features
//! | feature | default | what |
//! |---|---|---|
//! | `otlp-grpc` | yes | OTLP over gRPC (tonic) |
//! | `otlp-http` | yes | OTLP over HTTP, protobuf or JSON |
//! | `system-metrics` | yes | the [`collectors`] (sysinfo) |
//! | `prometheus-server` | yes | Beacon's own scrape listener ([`metrics`]); without it, serve scrapes on your router |
//! | `config-file` | yes | `OTEL_CONFIG_FILE` and [`Builder::config_file`]: the OpenTelemetry configuration schema ([`config::file`]) |
//! | `hub` | no | the in-process live hub as a destination ([`hub`]: `Builder::hub`, `BEACON_HUB=true`) |
//! | `tokio-unstable-metrics` | no | tokio's unstable runtime metrics (build with `--cfg tokio_unstable`) |
//!
//! Without `otlp-grpc` and `otlp-http`, an OTLP destination (the default for every signal) is an
//! [`InitError`] naming the feature to turn on; set the `OTEL_*_EXPORTER`s to `console`,
//! `prometheus` or `none`.
//!
//! ## Runtimes
//! Exporters run on a small runtime Beacon owns (one thread, `beacon-export`), so `init()` and
//! [`Telemetry::shutdown`] work the same on a multi-thread or current-thread tokio runtime, or
//! with no tokio at all, and shutdown cannot deadlock waiting on the runtime it blocks.

#[cfg(feature = "system-metrics")]
pub mod collectors;
pub mod config;
pub mod events;
mod export_health;
mod functions;
pub mod health;
#[cfg(feature = "hub")]
pub mod hub;
mod log_limits;
pub mod metrics;
mod pipeline;
pub mod propagation;
mod resource;
pub mod sampling;
pub mod self_telemetry;
pub mod slo;
mod subscriber;
mod telemetry;
pub mod telemetry_health;

/// `#[beacon::instrument]`: `tracing::instrument` plus span kind, `Result`-aware span status
/// and `error.type`, and (with `metrics`) the autometrics-compatible `function.calls*`
/// metrics. See the `beacon-macros` crate docs for every option.
pub use beacon_macros::instrument;
/// `#[derive(beacon::Event)]`: see [`events`].
pub use beacon_macros::Event;
pub use config::{Builder, InitError};
pub use events::{emit, Event};
pub use functions::{set_default_function_meter_provider, ErrorType, FunctionMeterProviderGuard};

/// What Beacon's macros expand to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::events::__private::*;
    pub use crate::events::Event;
    pub use crate::functions::{
        attach_parent, record_error, record_error_as, release_parent, AsCaller, AsParentContext,
        AsUnsignedField, Call, CallerGuard, ErrorProbe, ErrorTypeViaDebug, ErrorTypeViaName,
        ErrorTypeViaTrait, UnsignedField,
    };
    pub use tracing;
}
pub use telemetry::{ShutdownError, Stats, Telemetry};

/// The OpenTelemetry crates Beacon is built on, re-exported so that your code uses exactly the
/// versions Beacon does.
pub mod otel {
    pub use opentelemetry as api;
    pub use opentelemetry_sdk as sdk;
    pub use tracing_opentelemetry;
}

/// A builder for the pipeline; every setter overrides the matching `OTEL_*` variable.
pub fn builder() -> Builder {
    Builder::default()
}

/// Configures everything from the environment and installs it globally.
///
/// # Errors
/// An [`InitError`] naming the variable and value that cannot be used, or saying that a global
/// `tracing` subscriber is already installed.
pub fn try_init() -> Result<Telemetry, InitError> {
    builder().try_init()
}

/// Same as [`try_init`]; the short name for `main`.
///
/// # Errors
/// As [`try_init`].
pub fn init() -> Result<Telemetry, InitError> {
    try_init()
}
