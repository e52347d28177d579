//! The typed model of the OpenTelemetry configuration schema (`opentelemetry-configuration`
//! v1.0 and v1.1), for the parts Beacon implements. Names follow the schema exactly; objects
//! reject keys the schema does not define (`additionalProperties: false`), except the top
//! level, which the schema leaves open. A plugin position (exporter, processor, sampler,
//! propagator, detector, aggregation) with a name Beacon does not implement is an error naming
//! it.

#![allow(dead_code)] // Fields the schema defines and the mapping only validates.

use serde::Deserialize;

/// The whole file (`OpenTelemetryConfiguration`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Configuration {
    pub(crate) file_format: String,
    pub(crate) disabled: Option<bool>,
    pub(crate) log_level: Option<Severity>,
    pub(crate) resource: Option<Resource>,
    pub(crate) attribute_limits: Option<AttributeLimits>,
    pub(crate) propagator: Option<Propagator>,
    pub(crate) tracer_provider: Option<TracerProvider>,
    pub(crate) meter_provider: Option<MeterProvider>,
    pub(crate) logger_provider: Option<LoggerProvider>,
    #[serde(rename = "instrumentation/development")]
    pub(crate) instrumentation: Option<Instrumentation>,
}

/// `SeverityNumber`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Severity {
    Trace,
    Trace2,
    Trace3,
    Trace4,
    Debug,
    Debug2,
    Debug3,
    Debug4,
    Info,
    Info2,
    Info3,
    Info4,
    Warn,
    Warn2,
    Warn3,
    Warn4,
    Error,
    Error2,
    Error3,
    Error4,
    Fatal,
    Fatal2,
    Fatal3,
    Fatal4,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Resource {
    pub(crate) attributes: Option<Vec<AttributeNameValue>>,
    pub(crate) attributes_list: Option<String>,
    #[serde(rename = "detection/development")]
    pub(crate) detection: Option<ResourceDetection>,
    pub(crate) schema_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AttributeNameValue {
    pub(crate) name: String,
    pub(crate) value: AttributeValue,
    #[serde(rename = "type")]
    pub(crate) kind: Option<AttributeType>,
}

/// `string`, `number`, `boolean`, `null`, or a non-empty array of one of them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AttributeValue {
    Bool(bool),
    Int(i64),
    Double(f64),
    String(String),
    BoolArray(Vec<bool>),
    IntArray(Vec<i64>),
    DoubleArray(Vec<f64>),
    StringArray(Vec<String>),
    Null(()),
}

const ATTRIBUTE_VALUE: &str =
    "a string, number or boolean, or a non-empty array of strings, numbers or booleans";

impl<'de> Deserialize<'de> for AttributeValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = AttributeValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(ATTRIBUTE_VALUE)
            }
            fn visit_bool<E>(self, v: bool) -> Result<AttributeValue, E> {
                Ok(AttributeValue::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<AttributeValue, E> {
                Ok(AttributeValue::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<AttributeValue, E> {
                i64::try_from(v).map(AttributeValue::Int).map_err(|_| {
                    E::invalid_value(serde::de::Unexpected::Unsigned(v), &"an integer below 2^63")
                })
            }
            fn visit_f64<E>(self, v: f64) -> Result<AttributeValue, E> {
                Ok(AttributeValue::Double(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<AttributeValue, E> {
                Ok(AttributeValue::String(v.to_owned()))
            }
            fn visit_unit<E>(self) -> Result<AttributeValue, E> {
                Ok(AttributeValue::Null(()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<AttributeValue, A::Error> {
                use serde::de::Error as _;
                let mut items: Vec<AttributeValue> = Vec::new();
                while let Some(item) = seq.next_element::<AttributeValue>()? {
                    items.push(item);
                }
                let mismatch = || {
                    A::Error::invalid_type(
                        serde::de::Unexpected::Seq,
                        &"an array whose items are all strings, all booleans or all numbers",
                    )
                };
                match items.first() {
                    None => Err(mismatch()),
                    Some(AttributeValue::Bool(_)) => items
                        .iter()
                        .map(|i| match i {
                            AttributeValue::Bool(b) => Ok(*b),
                            _ => Err(mismatch()),
                        })
                        .collect::<Result<_, _>>()
                        .map(AttributeValue::BoolArray),
                    Some(AttributeValue::String(_)) => items
                        .iter()
                        .map(|i| match i {
                            AttributeValue::String(s) => Ok(s.clone()),
                            _ => Err(mismatch()),
                        })
                        .collect::<Result<_, _>>()
                        .map(AttributeValue::StringArray),
                    Some(AttributeValue::Int(_))
                        if items.iter().all(|i| matches!(i, AttributeValue::Int(_))) =>
                    {
                        items
                            .iter()
                            .map(|i| match i {
                                AttributeValue::Int(n) => Ok(*n),
                                _ => Err(mismatch()),
                            })
                            .collect::<Result<_, _>>()
                            .map(AttributeValue::IntArray)
                    }
                    #[allow(clippy::cast_precision_loss)]
                    Some(AttributeValue::Int(_) | AttributeValue::Double(_)) => items
                        .iter()
                        .map(|i| match i {
                            AttributeValue::Int(n) => Ok(*n as f64),
                            AttributeValue::Double(x) => Ok(*x),
                            _ => Err(mismatch()),
                        })
                        .collect::<Result<_, _>>()
                        .map(AttributeValue::DoubleArray),
                    Some(_) => Err(mismatch()),
                }
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AttributeType {
    String,
    Bool,
    Int,
    Double,
    StringArray,
    BoolArray,
    IntArray,
    DoubleArray,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResourceDetection {
    pub(crate) attributes: Option<IncludeExclude>,
    pub(crate) detectors: Option<Vec<ResourceDetector>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ResourceDetector {
    Container(()),
    Host(()),
    Process(()),
    Service(()),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IncludeExclude {
    pub(crate) included: Option<Vec<String>>,
    pub(crate) excluded: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AttributeLimits {
    pub(crate) attribute_value_length_limit: Option<u64>,
    pub(crate) attribute_count_limit: Option<u64>,
    /// Defined after v1.1; accepted so newer files load.
    pub(crate) attribute_value_depth_limit: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Propagator {
    pub(crate) composite: Option<Vec<TextMapPropagator>>,
    pub(crate) composite_list: Option<String>,
}

/// `TextMapPropagator`; `jaeger` is Beacon's (the schema allows plugins here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TextMapPropagator {
    Tracecontext(()),
    Baggage(()),
    B3(()),
    B3multi(()),
    Jaeger(()),
}

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
