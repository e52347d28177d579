//! `meter_provider`.

use serde::Deserialize;

use super::*;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MeterProvider {
    pub(crate) readers: Vec<MetricReader>,
    pub(crate) views: Option<Vec<View>>,
    pub(crate) exemplar_filter: Option<ExemplarFilter>,
    /// Defined by the schema, not implemented by Beacon: an error when present.
    #[serde(rename = "meter_configurator/development")]
    pub(crate) meter_configurator: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum MetricReader {
    Periodic(PeriodicReader),
    Pull(PullReader),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PeriodicReader {
    pub(crate) interval: Option<u64>,
    pub(crate) timeout: Option<u64>,
    pub(crate) exporter: PushMetricExporter,
    pub(crate) cardinality_limits: Option<CardinalityLimits>,
    pub(crate) producers: Option<Vec<MetricProducer>>,
    /// Defined by the schema (v1.1), not implemented by Beacon: an error when set.
    #[serde(rename = "max_export_batch_size/development")]
    pub(crate) max_export_batch_size: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PullReader {
    pub(crate) exporter: PullMetricExporter,
    pub(crate) cardinality_limits: Option<CardinalityLimits>,
    pub(crate) producers: Option<Vec<MetricProducer>>,
}

/// `MetricProducer`: no producer is built in to Beacon, so any entry is an error.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum MetricProducer {}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PushMetricExporter {
    OtlpHttp(Option<OtlpHttp>),
    OtlpGrpc(Option<OtlpGrpc>),
    Console(Option<ConsoleMetricExporter>),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsoleMetricExporter {
    pub(crate) temporality_preference: Option<Temporality>,
    pub(crate) default_histogram_aggregation: Option<HistogramAggregation>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) enum PullMetricExporter {
    #[serde(rename = "prometheus/development")]
    Prometheus(Option<Prometheus>),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Prometheus {
    pub(crate) host: Option<String>,
    pub(crate) port: Option<u16>,
    pub(crate) scope_info_enabled: Option<bool>,
    #[serde(rename = "target_info_enabled/development")]
    pub(crate) target_info_enabled: Option<bool>,
    pub(crate) resource_constant_labels: Option<IncludeExclude>,
    pub(crate) translation_strategy: Option<String>,
    // v1.0 names.
    pub(crate) without_scope_info: Option<bool>,
    #[serde(rename = "without_target_info/development")]
    pub(crate) without_target_info: Option<bool>,
    pub(crate) with_resource_constant_labels: Option<IncludeExclude>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Temporality {
    Cumulative,
    Delta,
    LowMemory,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum HistogramAggregation {
    ExplicitBucketHistogram,
    Base2ExponentialBucketHistogram,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ExemplarFilter {
    AlwaysOn,
    AlwaysOff,
    TraceBased,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CardinalityLimits {
    pub(crate) default: Option<usize>,
    pub(crate) counter: Option<usize>,
    pub(crate) gauge: Option<usize>,
    pub(crate) histogram: Option<usize>,
    pub(crate) observable_counter: Option<usize>,
    pub(crate) observable_gauge: Option<usize>,
    pub(crate) observable_up_down_counter: Option<usize>,
    pub(crate) up_down_counter: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct View {
    pub(crate) selector: ViewSelector,
    pub(crate) stream: ViewStream,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ViewSelector {
    pub(crate) instrument_name: Option<String>,
    pub(crate) instrument_type: Option<InstrumentType>,
    pub(crate) unit: Option<String>,
    pub(crate) meter_name: Option<String>,
    pub(crate) meter_version: Option<String>,
    pub(crate) meter_schema_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum InstrumentType {
    Counter,
    Gauge,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ViewStream {
    pub(crate) name: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) aggregation: Option<Aggregation>,
    pub(crate) aggregation_cardinality_limit: Option<usize>,
    pub(crate) attribute_keys: Option<IncludeExclude>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Aggregation {
    Default(()),
    Drop(()),
    Sum(()),
    LastValue(()),
    ExplicitBucketHistogram(Option<ExplicitBuckets>),
    Base2ExponentialBucketHistogram(Option<Base2Buckets>),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExplicitBuckets {
    pub(crate) boundaries: Option<Vec<f64>>,
    pub(crate) record_min_max: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Base2Buckets {
    pub(crate) max_scale: Option<i8>,
    pub(crate) max_size: Option<u32>,
    pub(crate) record_min_max: Option<bool>,
}
