//! `logger_provider` and Beacon's `instrumentation/development.rust.beacon`.

use serde::Deserialize;

use super::*;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoggerProvider {
    pub(crate) processors: Vec<LogProcessor>,
    pub(crate) limits: Option<LogLimits>,
    /// Defined by the schema, not implemented by Beacon: an error when present.
    #[serde(rename = "logger_configurator/development")]
    pub(crate) logger_configurator: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LogProcessor {
    Batch(BatchProcessor<Exporter>),
    Simple(SimpleProcessor<Exporter>),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogLimits {
    pub(crate) attribute_value_length_limit: Option<u64>,
    pub(crate) attribute_count_limit: Option<u64>,
    pub(crate) attribute_value_depth_limit: Option<u64>,
}

/// `instrumentation/development`: Beacon reads its own settings under `rust.beacon`; the
/// other languages' sections and `general` are accepted and left to their owners.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Instrumentation {
    pub(crate) rust: Option<RustInstrumentation>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RustInstrumentation {
    pub(crate) beacon: Option<BeaconSettings>,
}

/// Beacon's own settings (`instrumentation/development.rust.beacon`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BeaconSettings {
    /// The `tracing` filter in `EnvFilter` syntax (what `RUST_LOG` sets without a file).
    pub(crate) filter: Option<String>,
    /// Also print `tracing` events on stderr.
    pub(crate) console_logs: Option<bool>,
    /// Milliseconds `Telemetry::shutdown` may take in all.
    pub(crate) shutdown_timeout: Option<u64>,
    /// The pipelines' own `otel.sdk.*` metrics.
    pub(crate) self_telemetry: Option<bool>,
    /// Process, system and runtime collectors.
    pub(crate) collectors: Option<Collectors>,
    /// Tail sampling of what the configured exporters receive.
    pub(crate) tail_sampling: Option<TailSampling>,
    /// Whether the Prometheus pull exporter opens its own listener.
    pub(crate) prometheus_listener: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Collectors {
    pub(crate) process: Option<bool>,
    pub(crate) system: Option<bool>,
    pub(crate) runtime: Option<bool>,
}

/// `instrumentation/development.rust.beacon.tail_sampling`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TailSampling {
    /// The share of uninteresting traces kept, 0 to 1.
    pub(crate) ratio: Option<f64>,
    /// Milliseconds: a trace whose local root lasts this long is kept.
    pub(crate) latency_threshold: Option<u64>,
    /// A trace with a span carrying one of these attributes is kept.
    pub(crate) keep_attributes: Option<Vec<NameStringValuePair>>,
    pub(crate) max_traces: Option<usize>,
    pub(crate) max_spans: Option<usize>,
    /// Milliseconds a trace waits for its root before it is decided.
    pub(crate) decision_wait: Option<u64>,
}
