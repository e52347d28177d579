//! `tracer_provider` and the exporters shared with `logger_provider`.

use serde::Deserialize;

use super::*;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TracerProvider {
    pub(crate) processors: Vec<SpanProcessor>,
    pub(crate) limits: Option<SpanLimits>,
    pub(crate) sampler: Option<Sampler>,
    pub(crate) id_generator: Option<IdGenerator>,
    /// Defined by the schema, not implemented by Beacon: an error when present.
    #[serde(rename = "tracer_configurator/development")]
    pub(crate) tracer_configurator: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum IdGenerator {
    Random(()),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SpanProcessor {
    Batch(BatchProcessor<Exporter>),
    Simple(SimpleProcessor<Exporter>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BatchProcessor<E> {
    pub(crate) schedule_delay: Option<u64>,
    pub(crate) export_timeout: Option<u64>,
    pub(crate) max_queue_size: Option<u64>,
    pub(crate) max_export_batch_size: Option<u64>,
    pub(crate) exporter: E,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SimpleProcessor<E> {
    pub(crate) exporter: E,
}

/// `SpanExporter` and `LogRecordExporter`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Exporter {
    OtlpHttp(Option<OtlpHttp>),
    OtlpGrpc(Option<OtlpGrpc>),
    Console(Option<Empty>),
}

/// An object with no properties (`ConsoleExporter`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Empty {}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OtlpHttp {
    pub(crate) endpoint: Option<String>,
    pub(crate) tls: Option<Tls>,
    pub(crate) headers: Option<Vec<NameStringValuePair>>,
    pub(crate) headers_list: Option<String>,
    pub(crate) compression: Option<String>,
    pub(crate) timeout: Option<u64>,
    pub(crate) encoding: Option<OtlpHttpEncoding>,
    pub(crate) max_request_size: Option<u64>,
    pub(crate) max_response_size: Option<u64>,
    // Metric exporters only.
    pub(crate) temporality_preference: Option<Temporality>,
    pub(crate) default_histogram_aggregation: Option<HistogramAggregation>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OtlpGrpc {
    pub(crate) endpoint: Option<String>,
    pub(crate) tls: Option<GrpcTls>,
    pub(crate) headers: Option<Vec<NameStringValuePair>>,
    pub(crate) headers_list: Option<String>,
    pub(crate) compression: Option<String>,
    pub(crate) timeout: Option<u64>,
    pub(crate) max_request_size: Option<u64>,
    pub(crate) max_response_size: Option<u64>,
    pub(crate) temporality_preference: Option<Temporality>,
    pub(crate) default_histogram_aggregation: Option<HistogramAggregation>,
}

/// `HttpTls`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Tls {
    pub(crate) ca_file: Option<String>,
    pub(crate) key_file: Option<String>,
    pub(crate) cert_file: Option<String>,
}

/// `GrpcTls`: `insecure` applies to endpoints without a scheme, which Beacon does not accept,
/// so it is read and has no effect (the schema allows implementations to ignore it).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GrpcTls {
    pub(crate) ca_file: Option<String>,
    pub(crate) key_file: Option<String>,
    pub(crate) cert_file: Option<String>,
    pub(crate) insecure: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum OtlpHttpEncoding {
    Protobuf,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NameStringValuePair {
    pub(crate) name: String,
    pub(crate) value: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SpanLimits {
    pub(crate) attribute_value_length_limit: Option<u64>,
    pub(crate) attribute_count_limit: Option<u64>,
    pub(crate) event_count_limit: Option<u64>,
    pub(crate) link_count_limit: Option<u64>,
    pub(crate) event_attribute_count_limit: Option<u64>,
    pub(crate) link_attribute_count_limit: Option<u64>,
    pub(crate) attribute_value_depth_limit: Option<u64>,
}

/// `Sampler`; `beacon_rate_limited` is Beacon's own plugin.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Sampler {
    AlwaysOn(()),
    AlwaysOff(()),
    TraceIdRatioBased(Option<Ratio>),
    ParentBased(Option<Box<ParentBased>>),
    BeaconRateLimited(Option<RateLimited>),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Ratio {
    pub(crate) ratio: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RateLimited {
    pub(crate) traces_per_second: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ParentBased {
    pub(crate) root: Option<Sampler>,
    pub(crate) remote_parent_sampled: Option<Sampler>,
    pub(crate) remote_parent_not_sampled: Option<Sampler>,
    pub(crate) local_parent_sampled: Option<Sampler>,
    pub(crate) local_parent_not_sampled: Option<Sampler>,
}
