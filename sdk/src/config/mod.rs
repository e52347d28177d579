//! Configuration: the typed [`Builder`] and the `OTEL_*` environment it reads.
//!
//! Every setting has a builder method and, where the OpenTelemetry specification defines one,
//! an environment variable (names in [`vars`]). A value set in code wins over the environment.
//!
//! # Invalid values
//! As the configuration spec says, a value that cannot be used — not a number, out of range,
//! an unknown sampler, protocol, compression, exporter or propagator (or one the spec knows and
//! Beacon does not implement), an endpoint that is not an absolute `http(s)://` URL, a
//! malformed header — is ignored with one warning naming the variable, the value, what is
//! accepted and what is used instead (the default; for a list, the rest of it; an invalid
//! `OTEL_TRACES_SAMPLER_ARG` counts as unset). Enum values are case-insensitive. Warnings are
//! logged once the subscriber is up and kept in [`Telemetry::warnings`](crate::Telemetry::warnings).
//! [`Builder::strict_config`] (`BEACON_CONFIG_STRICT=true`) makes each of them an
//! [`InitError`] instead: a sampler typo that silently falls back to the default can send far
//! more traces than intended (opentelemetry-rust #3283), so tests and CI should fail on it.
//! Beacon's own spool variables are errors in both modes.
//!
//! # Example
//! ```
//! use beacon::config::{Exporter, Sampler};
//!
//! let env = |name: &str| match name {
//!     "OTEL_TRACES_SAMPLER" => Some("traceidratio".to_string()),
//!     "OTEL_TRACES_SAMPLER_ARG" => Some("abc".to_string()),
//!     _ => None,
//! };
//! let quiet = || {
//!     beacon::builder()
//!         .env_source(env)
//!         .traces_exporter(Exporter::None)
//!         .metrics_exporter(Exporter::None)
//!         .logs_exporter(Exporter::None)
//! };
//! // By default: a warning, and the argument counts as unset (a ratio of 1).
//! let telemetry = quiet().build()?;
//! assert!(telemetry.warnings()[0].contains("OTEL_TRACES_SAMPLER_ARG=\"abc\""));
//! telemetry.shutdown()?;
//!
//! // In strict mode: an error naming the variable and the value.
//! let err = quiet().strict_config(true).build().unwrap_err();
//! assert_eq!(err.variable(), Some("OTEL_TRACES_SAMPLER_ARG"));
//!
//! // Code wins over the environment.
//! let telemetry = quiet().strict_config(true).sampler(Sampler::AlwaysOn).build()?;
//! telemetry.shutdown()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
pub(crate) mod extra;
#[cfg(feature = "config-file")]
pub mod file;
pub mod http;
mod metrics;
mod otlp;
pub(crate) mod parse;
mod resolve;
mod spool;
mod types;
pub mod vars;

use std::sync::Arc;
use std::time::Duration;

pub use beacon_exporter::batch::BatchConfig;
pub use beacon_exporter::otlp::{Compression, Protocol, Signal, TlsFiles};
pub use beacon_exporter::spool::SpoolConfig;
use opentelemetry::KeyValue;

pub use error::InitError;
#[cfg(feature = "config-file")]
pub use file::{FileError, FileErrorKind};
pub(crate) use metrics::default_view as metrics_view;
pub use metrics::{HistogramAggregation, Temporality};
pub(crate) use otlp::OtlpOverrides;
pub use otlp::OtlpSignal;
pub(crate) use resolve::Config;
pub use types::{Exporter, Limits, Propagator, Sampler};

use crate::Telemetry;

/// Builds Beacon's telemetry pipeline. Start from [`crate::builder()`]; every setter overrides
/// the matching `OTEL_*` variable.
#[derive(Default)]
pub struct Builder {
    pub(crate) env: Option<Arc<parse::Lookup>>,
    pub(crate) disabled: Option<bool>,
    pub(crate) service_name: Option<String>,
    pub(crate) service_version: Option<String>,
    pub(crate) resource: Vec<KeyValue>,
    pub(crate) sampler: Option<Sampler>,
    pub(crate) propagators: Option<Vec<Propagator>>,
    pub(crate) traces_exporter: Option<Exporter>,
    pub(crate) metrics_exporter: Option<Exporter>,
    pub(crate) logs_exporter: Option<Exporter>,
    pub(crate) otlp: OtlpOverrides,
    pub(crate) otlp_signals: Vec<(Signal, OtlpSignal)>,
    pub(crate) exemplar_filter: Option<crate::metrics::ExemplarFilter>,
    pub(crate) prometheus_address: Option<(String, u16)>,
    pub(crate) span_batch: Option<BatchConfig>,
    pub(crate) log_batch: Option<BatchConfig>,
    pub(crate) metric_interval: Option<Duration>,
    pub(crate) metric_timeout: Option<Duration>,
    pub(crate) metric_max_retained: Option<u64>,
    pub(crate) limits: Option<Limits>,
    pub(crate) filter: Option<String>,
    pub(crate) console_logs: Option<bool>,
    pub(crate) strict_config: Option<bool>,
    pub(crate) shutdown_timeout: Option<Duration>,
    pub(crate) span_processors: Vec<extra::BoxedSpanProcessor>,
    pub(crate) tail_sampling: Option<crate::sampling::TailSamplingConfig>,
    pub(crate) cardinality_limits: Vec<(String, usize)>,
    pub(crate) id_generator: Option<Box<dyn opentelemetry_sdk::trace::IdGenerator>>,
    #[cfg(feature = "system-metrics")]
    pub(crate) collectors: Option<crate::collectors::Collectors>,
    pub(crate) log_processors: Vec<extra::BoxedLogProcessor>,
    /// Serve scrapes only through the application's router (no listener of its own).
    pub(crate) prometheus_no_listener: bool,
    /// How the Prometheus exporter names metrics.
    pub(crate) prometheus_naming: beacon_exporter::prometheus::Naming,
    pub(crate) otlp_temporality: Option<Temporality>,
    pub(crate) otlp_histogram_aggregation: Option<HistogramAggregation>,
    /// Leave out the pipelines' own `otel.sdk.*` / `beacon.exporter.*` metrics.
    pub(crate) no_self_telemetry: bool,
    /// A configuration file given in code (wins over `OTEL_CONFIG_FILE`).
    #[cfg(feature = "config-file")]
    pub(crate) config_file: Option<file::Source>,
    /// The in-process hub to send everything to as well.
    #[cfg(feature = "hub")]
    pub(crate) hub: Option<beacon_hub::Hub>,
    /// The disk spool for OTLP exports.
    pub(crate) spool: Option<SpoolConfig>,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("service_name", &self.service_name)
            .field("sampler", &self.sampler)
            .field("traces_exporter", &self.traces_exporter)
            .field("metrics_exporter", &self.metrics_exporter)
            .field("logs_exporter", &self.logs_exporter)
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// Reads configuration from `lookup` instead of the process environment — for tests, or to
    /// take `OTEL_*` values from a file of your own.
    #[must_use]
    pub fn env_source(
        mut self,
        lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.env = Some(Arc::new(lookup));
        self
    }

    /// Turns the SDK off (`OTEL_SDK_DISABLED`): nothing is recorded or exported.
    #[must_use]
    pub fn disabled(mut self, disabled: bool) -> Self {
        self.disabled = Some(disabled);
        self
    }

    /// `service.name` (`OTEL_SERVICE_NAME`).
    #[must_use]
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// `service.version`, for example `env!("CARGO_PKG_VERSION")`.
    #[must_use]
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.service_version = Some(version.into());
        self
    }

    /// Adds a resource attribute; wins over the detected and `OTEL_RESOURCE_ATTRIBUTES` ones.
    #[must_use]
    pub fn resource_attribute(mut self, attribute: KeyValue) -> Self {
        self.resource.push(attribute);
        self
    }

    /// The head sampler (`OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`).
    #[must_use]
    pub fn sampler(mut self, sampler: Sampler) -> Self {
        self.sampler = Some(sampler);
        self
    }

    /// The propagators (`OTEL_PROPAGATORS`); an empty list propagates nothing.
    #[must_use]
    pub fn propagators(mut self, propagators: impl IntoIterator<Item = Propagator>) -> Self {
        self.propagators = Some(propagators.into_iter().collect());
        self
    }

    /// Where spans go (`OTEL_TRACES_EXPORTER`).
    #[must_use]
    pub fn traces_exporter(mut self, exporter: Exporter) -> Self {
        self.traces_exporter = Some(exporter);
        self
    }

    /// Where metrics go (`OTEL_METRICS_EXPORTER`).
    #[must_use]
    pub fn metrics_exporter(mut self, exporter: Exporter) -> Self {
        self.metrics_exporter = Some(exporter);
        self
    }

    /// Whether the Prometheus exporter (`OTEL_METRICS_EXPORTER=prometheus`) opens its own
    /// listener on `OTEL_EXPORTER_PROMETHEUS_HOST:OTEL_EXPORTER_PROMETHEUS_PORT` (default
    /// `localhost:9464`). Turn it off when the application serves `/metrics` itself with
    /// `beacon_middleware::axum::metrics_route`. On by default.
    #[must_use]
    pub fn prometheus_listener(mut self, on: bool) -> Self {
        self.prometheus_no_listener = !on;
        self
    }

    /// Where the Prometheus exporter's own listener binds (`OTEL_EXPORTER_PROMETHEUS_HOST`,
    /// `OTEL_EXPORTER_PROMETHEUS_PORT`; default `localhost:9464`; port 0 picks a free one).
    #[must_use]
    pub fn prometheus_address(mut self, host: impl Into<String>, port: u16) -> Self {
        self.prometheus_address = Some((host.into(), port));
        self
    }

    /// Which measurements may become exemplars (`OTEL_METRICS_EXEMPLAR_FILTER`; default
    /// `trace_based`: those made inside a sampled span).
    #[must_use]
    pub fn exemplar_filter(mut self, filter: crate::metrics::ExemplarFilter) -> Self {
        self.exemplar_filter = Some(filter);
        self
    }

    /// How the Prometheus exporter maps OTel names to Prometheus names. The default,
    /// [`Naming::Compatibility`](crate::metrics::Naming::Compatibility), is the compatibility
    /// spec's `UnderscoreEscapingWithSuffixes`: the names the OTel Collector's Prometheus
    /// exporter gives. [`Naming::Prometheus`](crate::metrics::Naming::Prometheus) names gauges
    /// counting things by their plural (`process_threads`, not `process_thread_count`), so
    /// that `promtool check metrics` passes.
    #[must_use]
    pub fn prometheus_naming(mut self, naming: crate::metrics::Naming) -> Self {
        self.prometheus_naming = naming;
        self
    }

    /// Whether the pipelines report on themselves as metrics (`otel.sdk.processor.*`,
    /// `otel.sdk.exporter.*`, `beacon.exporter.*`; see [`crate::self_telemetry`]). On by
    /// default; [`crate::Telemetry::stats`] works either way.
    #[must_use]
    pub fn self_telemetry(mut self, on: bool) -> Self {
        self.no_self_telemetry = !on;
        self
    }

    /// Where log records go (`OTEL_LOGS_EXPORTER`).
    #[must_use]
    pub fn logs_exporter(mut self, exporter: Exporter) -> Self {
        self.logs_exporter = Some(exporter);
        self
    }

    /// Sends every signal to the console (readable lines on stdout) — handy in development.
    #[must_use]
    pub fn console(self) -> Self {
        self.traces_exporter(Exporter::Console)
            .metrics_exporter(Exporter::Console)
            .logs_exporter(Exporter::Console)
    }

    /// The OTLP base endpoint for all signals (`OTEL_EXPORTER_OTLP_ENDPOINT`); over HTTP,
    /// `v1/traces`, `v1/metrics` and `v1/logs` are appended.
    #[must_use]
    pub fn otlp_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.otlp.endpoint = Some(endpoint.into());
        self
    }

    /// The OTLP protocol (`OTEL_EXPORTER_OTLP_PROTOCOL`).
    #[must_use]
    pub fn otlp_protocol(mut self, protocol: Protocol) -> Self {
        self.otlp.protocol = Some(protocol);
        self
    }

    /// Adds a header (gRPC metadata) to every OTLP export; wins over `OTEL_EXPORTER_OTLP_HEADERS`.
    #[must_use]
    pub fn otlp_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.otlp.headers.push((name.into(), value.into()));
        self
    }

    /// OTLP compression (`OTEL_EXPORTER_OTLP_COMPRESSION`).
    #[must_use]
    pub fn otlp_compression(mut self, compression: Compression) -> Self {
        self.otlp.compression = Some(compression);
        self
    }

    /// OTLP request timeout (`OTEL_EXPORTER_OTLP_TIMEOUT`).
    #[must_use]
    pub fn otlp_timeout(mut self, timeout: Duration) -> Self {
        self.otlp.timeout = Some(timeout);
        self
    }

    /// OTLP settings for one signal only, over the general ones (the code equivalent of
    /// `OTEL_EXPORTER_OTLP_{TRACES,METRICS,LOGS}_*`; see [`OtlpSignal`]). Given twice for one
    /// signal, the last wins.
    #[must_use]
    pub fn otlp_signal(mut self, signal: Signal, settings: OtlpSignal) -> Self {
        self.otlp_signals.push((signal, settings));
        self
    }

    /// TLS material for `https` OTLP endpoints (`OTEL_EXPORTER_OTLP_CERTIFICATE`,
    /// `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`, `OTEL_EXPORTER_OTLP_CLIENT_KEY`), as PEM bytes.
    #[must_use]
    pub fn otlp_tls(mut self, tls: TlsFiles) -> Self {
        self.otlp.tls = Some(tls);
        self
    }

    /// Spools OTLP spans and log records the collector could not take to disk, bounded, so
    /// that a long outage or a restart loses nothing that fits (`BEACON_EXPORT_SPOOL_DIR`,
    /// `BEACON_EXPORT_SPOOL_MAX_BYTES`); see [`beacon_exporter::spool`].
    #[must_use]
    pub fn export_spool(mut self, spool: SpoolConfig) -> Self {
        self.spool = Some(spool);
        self
    }

    /// Span queue and batching (`OTEL_BSP_*`).
    #[must_use]
    pub fn span_batch(mut self, config: BatchConfig) -> Self {
        self.span_batch = Some(config);
        self
    }

    /// Log queue and batching (`OTEL_BLRP_*`).
    #[must_use]
    pub fn log_batch(mut self, config: BatchConfig) -> Self {
        self.log_batch = Some(config);
        self
    }

    /// How often metrics are exported (`OTEL_METRIC_EXPORT_INTERVAL`, default 60 s).
    #[must_use]
    pub fn metric_interval(mut self, interval: Duration) -> Self {
        self.metric_interval = Some(interval);
        self
    }

    /// How long one metric export may take (`OTEL_METRIC_EXPORT_TIMEOUT`, default 30 s).
    #[must_use]
    pub fn metric_timeout(mut self, timeout: Duration) -> Self {
        self.metric_timeout = Some(timeout);
        self
    }

    /// The most metric data points the OTLP metric exporter keeps in memory for another try
    /// after a retryable export failure (default
    /// [`beacon_exporter::otlp::DEFAULT_MAX_RETAINED_POINTS`], 8,192). Past it, the oldest kept
    /// collections go to the disk spool ([`Builder::export_spool`]) or, without one, are given
    /// up and counted as failed. `0` sends every failed collection straight to the spool, so
    /// that even a process killed with SIGKILL loses none of them.
    #[must_use]
    pub fn metric_max_retained(mut self, points: u64) -> Self {
        self.metric_max_retained = Some(points);
        self
    }

    /// Span limits (`OTEL_SPAN_*_LIMIT`, `OTEL_ATTRIBUTE_*_LIMIT`).
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// The `tracing` filter in `EnvFilter` syntax (`RUST_LOG`; default `info`).
    #[must_use]
    pub fn filter(mut self, directives: impl Into<String>) -> Self {
        self.filter = Some(directives.into());
        self
    }

    /// Also prints `tracing` events as readable lines on stderr, each with its trace id so the
    /// line can be found in Jaeger (`BEACON_CONSOLE`).
    #[must_use]
    pub fn console_logs(mut self, on: bool) -> Self {
        self.console_logs = Some(on);
        self
    }

    /// Makes an invalid or unsupported `OTEL_*` value an error of `build()`/`init()`
    /// (`BEACON_CONFIG_STRICT`). Without it Beacon does what the configuration spec says: a
    /// warning on stderr naming the variable, the value and what is used instead, and the
    /// default. Strict mode suits tests and CI, where a typo should fail the run.
    ///
    /// ```
    /// let lenient = beacon::builder()
    ///     .env_source(|k| (k == "OTEL_TRACES_SAMPLER").then(|| "sometimes".to_owned()))
    ///     .traces_exporter(beacon::config::Exporter::None)
    ///     .metrics_exporter(beacon::config::Exporter::None)
    ///     .logs_exporter(beacon::config::Exporter::None)
    ///     .build()?;
    /// assert!(lenient.warnings()[0].contains("OTEL_TRACES_SAMPLER"));
    /// let strict = beacon::builder()
    ///     .env_source(|k| (k == "OTEL_TRACES_SAMPLER").then(|| "sometimes".to_owned()))
    ///     .strict_config(true)
    ///     .build();
    /// assert_eq!(strict.unwrap_err().variable(), Some("OTEL_TRACES_SAMPLER"));
    /// # Ok::<(), beacon::config::InitError>(())
    /// ```
    #[must_use]
    pub fn strict_config(mut self, on: bool) -> Self {
        self.strict_config = Some(on);
        self
    }

    /// Adds a span processor beside the configured exporters (for example a test capture, or
    /// a processor of your own). It sees every sampled span when it ends.
    #[must_use]
    pub fn with_span_processor(
        mut self,
        processor: impl opentelemetry_sdk::trace::SpanProcessor + 'static,
    ) -> Self {
        self.span_processors
            .push(extra::BoxedSpanProcessor(Box::new(processor)));
        self
    }

    /// Decides which traces to export after they end: keeps every trace with an error, a slow
    /// root or a matching attribute, and a ratio of the rest (see
    /// [`crate::sampling::TailSampling`] for the memory bounds and trade-offs). Applies to the
    /// exporters configured here, not to processors added with
    /// [`Builder::with_span_processor`]. Its counters are in [`Telemetry::stats`].
    #[must_use]
    pub fn tail_sampling(mut self, config: crate::sampling::TailSamplingConfig) -> Self {
        self.tail_sampling = Some(config);
        self
    }

    /// Which process, system and tokio runtime metrics to collect (default: process and
    /// runtime on, system off); [`crate::collectors::Collectors::none`] turns them all off.
    #[cfg(feature = "system-metrics")]
    #[must_use]
    pub fn collectors(mut self, collectors: crate::collectors::Collectors) -> Self {
        self.collectors = Some(collectors);
        self
    }

    /// Generates trace and span ids with `generator` instead of the SDK's random one (for
    /// example seeded ids in tests of sampling, or ids a legacy system expects).
    #[must_use]
    pub fn id_generator(
        mut self,
        generator: impl opentelemetry_sdk::trace::IdGenerator + 'static,
    ) -> Self {
        self.id_generator = Some(Box::new(generator));
        self
    }

    /// At most `limit` attribute sets (series) for the instrument named `name`, instead of the
    /// SDK's default of 2000. Measurements with new attribute sets past the limit are added to
    /// one series with `otel.metric.overflow = true`, so totals stay exact and memory bounded.
    #[must_use]
    pub fn cardinality_limit(mut self, name: impl Into<String>, limit: usize) -> Self {
        self.cardinality_limits.push((name.into(), limit.max(1)));
        self
    }

    /// Adds a log processor beside the configured exporters.
    #[must_use]
    pub fn with_log_processor(
        mut self,
        processor: impl opentelemetry_sdk::logs::LogProcessor + 'static,
    ) -> Self {
        self.log_processors
            .push(extra::BoxedLogProcessor(Box::new(processor)));
        self
    }

    /// The most time [`Telemetry::shutdown`] may take in all (default 10 s).
    #[must_use]
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// Configures from the OpenTelemetry configuration file at `path` (as `OTEL_CONFIG_FILE`
    /// does); the other `OTEL_*` variables are then ignored except through `${VAR}`
    /// substitution. See [`crate::config::file`](mod@crate::config::file).
    #[cfg(feature = "config-file")]
    #[must_use]
    pub fn config_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.config_file = Some(file::Source::Path(path.into()));
        self
    }

    /// Like [`Builder::config_file`], with the file's YAML text.
    #[cfg(feature = "config-file")]
    #[must_use]
    pub fn config_yaml(mut self, yaml: impl Into<String>) -> Self {
        self.config_file = Some(file::Source::Text(yaml.into()));
        self
    }

    /// Builds the pipeline without installing anything globally. Use
    /// [`Telemetry::dispatch`] to run code under it (tests, benchmarks, embedding).
    ///
    /// # Errors
    /// An [`InitError`] when a setting or environment variable cannot be used, or an exporter
    /// cannot be built.
    pub fn build(self) -> Result<Telemetry, InitError> {
        #[cfg(feature = "config-file")]
        let config = file::resolve(self)?;
        #[cfg(not(feature = "config-file"))]
        let config = {
            let set = match &self.env {
                Some(lookup) => lookup(vars::OTEL_CONFIG_FILE),
                None => std::env::var(vars::OTEL_CONFIG_FILE).ok(),
            };
            if let Some(path) = set.filter(|p| !p.trim().is_empty()) {
                return Err(InitError::invalid(
                    vars::OTEL_CONFIG_FILE,
                    &path,
                    "nothing: this binary was built without Beacon's `config-file` feature, so it \
                     cannot read configuration files (enable the feature, or unset the variable)",
                ));
            }
            Config::resolve(self)?
        };
        crate::pipeline::build(config)
    }

    /// Builds the pipeline and installs it: the `tracing` subscriber, the OTel tracer and meter
    /// providers and the propagator, all global.
    ///
    /// # Errors
    /// As [`Builder::build`], and when a global `tracing` subscriber is already set.
    pub fn try_init(self) -> Result<Telemetry, InitError> {
        let telemetry = self.build()?;
        telemetry.install()?;
        Ok(telemetry)
    }

    /// Like [`Builder::try_init`], for `main`.
    ///
    /// # Panics
    /// When [`Builder::try_init`] fails; the panic message is the error's.
    #[allow(clippy::expect_used)]
    pub fn init(self) -> Telemetry {
        self.try_init().expect("beacon::init failed")
    }
}

#[cfg(test)]
mod tests;
