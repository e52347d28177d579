//! `instrumentation/development`: `general.http` and Beacon's own `rust.beacon`.

use serde::Deserialize;

use super::*;

/// `instrumentation/development`: Beacon reads `general.http` (the captured headers) and its
/// own settings under `rust.beacon`; the other languages' sections and the rest of `general`
/// are accepted and left to their owners.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Instrumentation {
    pub(crate) general: Option<GeneralInstrumentation>,
    pub(crate) rust: Option<RustInstrumentation>,
}

/// `GeneralInstrumentation`: `peer` and anything newer are other instrumentations' business.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct GeneralInstrumentation {
    pub(crate) http: Option<GeneralHttp>,
}

/// `HttpInstrumentation`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GeneralHttp {
    pub(crate) client: Option<CapturedHeaders>,
    pub(crate) server: Option<CapturedHeaders>,
}

/// `HttpClientInstrumentation` / `HttpServerInstrumentation`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CapturedHeaders {
    pub(crate) request_captured_headers: Option<Vec<String>>,
    pub(crate) response_captured_headers: Option<Vec<String>>,
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
    /// The disk spool (`BEACON_EXPORT_SPOOL_DIR`, `BEACON_EXPORT_SPOOL_MAX_BYTES`).
    pub(crate) export_spool: Option<ExportSpool>,
    /// The in-process live hub (`BEACON_HUB`, feature `hub`); a bare `hub:` turns it on.
    #[serde(default, deserialize_with = "present")]
    pub(crate) hub: Option<HubSettings>,
    /// Beacon's HTTP layers.
    pub(crate) http: Option<BeaconHttp>,
}

/// `instrumentation/development.rust.beacon.export_spool`: a null `directory` (an unset
/// `${BEACON_EXPORT_SPOOL_DIR}`) leaves the code's spool, or none.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExportSpool {
    pub(crate) directory: Option<String>,
    pub(crate) max_bytes: Option<u64>,
}

/// `instrumentation/development.rust.beacon.hub`: the bounds of `beacon_hub::HubConfig`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HubSettings {
    /// Default true when the section is present; false leaves the code's hub, or none.
    pub(crate) enabled: Option<bool>,
    pub(crate) max_traces: Option<usize>,
    pub(crate) max_spans: Option<usize>,
    pub(crate) max_logs: Option<usize>,
    pub(crate) max_events: Option<usize>,
    pub(crate) max_series: Option<usize>,
    pub(crate) max_points_per_series: Option<usize>,
    /// Milliseconds of metric points kept per series.
    pub(crate) metric_window: Option<u64>,
    /// Bytes.
    pub(crate) memory_limit: Option<usize>,
}

/// `instrumentation/development.rust.beacon.http`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BeaconHttp {
    pub(crate) server: Option<HttpServer>,
    pub(crate) client: Option<HttpClient>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HttpServer {
    pub(crate) excluded_paths: Option<Vec<String>>,
    pub(crate) max_attribute_bytes: Option<usize>,
    pub(crate) sensitive_headers: Option<Vec<String>>,
    pub(crate) sensitive_query_keys: Option<Vec<String>>,
    pub(crate) catch_panic: Option<bool>,
    pub(crate) trace_response: Option<bool>,
    pub(crate) inbound_context: Option<InboundContext>,
    pub(crate) allowed_baggage_keys: Option<Vec<String>>,
    pub(crate) trusted_proxies: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum InboundContext {
    Trust,
    Link,
    Ignore,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HttpClient {
    pub(crate) max_attribute_bytes: Option<usize>,
    pub(crate) sensitive_headers: Option<Vec<String>>,
    pub(crate) sensitive_query_keys: Option<Vec<String>>,
    pub(crate) propagate_to_hosts: Option<Vec<String>>,
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

/// A section whose presence means something even when it is empty (`hub:`): `Some` of its
/// settings, the defaults for a null; absent, `#[serde(default)]` gives `None`.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}
