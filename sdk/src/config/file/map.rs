//! Mapping the typed model onto Beacon's resolved [`Config`].

use std::time::Duration;

use beacon_exporter::batch::BatchConfig;
use beacon_exporter::otlp::{Compression, OtlpConfig, Protocol, Signal, TlsFiles};
use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use opentelemetry::{Array, KeyValue, StringValue, Value as OtelValue};
use opentelemetry_sdk::metrics::Temporality as SdkTemporality;
use opentelemetry_sdk::trace::{ParentBasedSampler, Sampler as SdkSampler, ShouldSample};

use super::error::FileError;
use super::model::*;
use super::views::{self, Views};
use super::Extras;
use crate::config::resolve::{Config, Destinations, PrometheusConfig};
use crate::config::{Limits, Propagator as BeaconPropagator};

type R<T> = Result<T, FileError>;

fn at(field: impl Into<String>, mut e: FileError) -> FileError {
    if e.field.is_empty() {
        e.field = field.into();
    }
    e
}

/// Applies `model` to `config` (resolved from the builder with an empty environment).
pub(crate) fn apply(model: &Configuration, config: &mut Config, code_attrs: &[KeyValue]) -> R<()> {
    config.disabled = model.disabled.unwrap_or(false);
    let beacon = model
        .instrumentation
        .as_ref()
        .and_then(|i| i.rust.as_ref())
        .and_then(|r| r.beacon.as_ref());
    if let Some(b) = beacon {
        if let Some(f) = &b.filter {
            config.filter = f.clone();
        }
        if let Some(on) = b.console_logs {
            config.console_logs = on;
        }
        if let Some(ms) = b.shutdown_timeout {
            config.shutdown_timeout = Duration::from_millis(ms);
        }
        if let Some(on) = b.self_telemetry {
            config.self_telemetry = on;
        }
        if let Some(t) = &b.tail_sampling {
            config.tail_sampling = Some(tail_sampling(t)?);
        }
        #[cfg(feature = "system-metrics")]
        if let Some(c) = &b.collectors {
            let mut collectors = config.collectors.clone();
            collectors.process = c.process.unwrap_or(collectors.process);
            collectors.system = c.system.unwrap_or(collectors.system);
            collectors.runtime = c.runtime.unwrap_or(collectors.runtime);
            config.collectors = collectors;
        }
    }
    if let Some(level) = model.log_level {
        // The SDK's own diagnostics are Beacon's `beacon*` targets.
        let l = level_name(level);
        config.filter = format!("{},beacon={l},beacon_exporter={l}", config.filter);
    }
    config.resource = resource(model.resource.as_ref(), code_attrs, &mut config.warnings)?;
    config.propagators = propagators(model.propagator.as_ref())?;

    let general = model.attribute_limits.as_ref();
    if general
        .and_then(|g| g.attribute_value_depth_limit)
        .is_some()
    {
        return Err(at(
            "attribute_limits.attribute_value_depth_limit",
            FileError::unsupported(
                "Beacon does not limit the depth of attribute values; remove the key",
            ),
        ));
    }
    let mut limits = Limits::default();
    let g_count = general.and_then(|g| g.attribute_count_limit);
    let g_len = general.and_then(|g| g.attribute_value_length_limit);

    // Traces.
    config.traces = Destinations::default();
    config.file = Extras::default();
    if let Some(tp) = &model.tracer_provider {
        if tp.tracer_configurator.is_some() {
            return Err(at(
                "tracer_provider.tracer_configurator/development",
                not_implemented("tracer_configurator/development"),
            ));
        }
        let (dest, batch, console) = processors(
            "tracer_provider",
            Signal::Traces,
            tp.processors.iter().map(|p| match p {
                SpanProcessor::Batch(b) => Proc::Batch(b),
                SpanProcessor::Simple(s) => Proc::Simple(&s.exporter),
            }),
            BatchConfig::default(),
        )?;
        config.traces = dest;
        config.span_batch = batch;
        config.file.console_span_batch = console;
        let l = tp.limits.as_ref();
        let f = "tracer_provider.limits";
        if l.and_then(|l| l.attribute_value_depth_limit).is_some() {
            return Err(at(
                format!("{f}.attribute_value_depth_limit"),
                FileError::unsupported("Beacon does not limit the depth of attribute values"),
            ));
        }
        limits.span_attributes = u32_or(
            l.and_then(|l| l.attribute_count_limit).or(g_count),
            128,
            &format!("{f}.attribute_count_limit"),
        )?;
        limits.span_events = u32_or(
            l.and_then(|l| l.event_count_limit),
            128,
            &format!("{f}.event_count_limit"),
        )?;
        limits.span_links = u32_or(
            l.and_then(|l| l.link_count_limit),
            128,
            &format!("{f}.link_count_limit"),
        )?;
        limits.event_attributes = u32_or(
            l.and_then(|l| l.event_attribute_count_limit),
            128,
            &format!("{f}.event_attribute_count_limit"),
        )?;
        limits.link_attributes = u32_or(
            l.and_then(|l| l.link_attribute_count_limit),
            128,
            &format!("{f}.link_attribute_count_limit"),
        )?;
        limits.attribute_value_length = l
            .and_then(|l| l.attribute_value_length_limit)
            .or(g_len)
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        let sampler = match &tp.sampler {
            Some(s) => sampler(s, "tracer_provider.sampler")?,
            None => Box::new(ParentBasedSampler::new(SdkSampler::AlwaysOn)),
        };
        config.file.sampler = Some(AnySampler(sampler));
    }

    // Metrics.
    config.metrics = Destinations::default();
    if let Some(mp) = &model.meter_provider {
        metrics(mp, config, beacon)?;
    }

    // Logs.
    config.logs = Destinations::default();
    if let Some(lp) = &model.logger_provider {
        if lp.logger_configurator.is_some() {
            return Err(at(
                "logger_provider.logger_configurator/development",
                not_implemented("logger_configurator/development"),
            ));
        }
        let (dest, batch, console) = processors(
            "logger_provider",
            Signal::Logs,
            lp.processors.iter().map(|p| match p {
                LogProcessor::Batch(b) => Proc::Batch(b),
                LogProcessor::Simple(s) => Proc::Simple(&s.exporter),
            }),
            BatchConfig::logs_default(),
        )?;
        config.logs = dest;
        config.log_batch = batch;
        config.file.console_log_batch = console;
        let l = lp.limits.as_ref();
        if l.and_then(|l| l.attribute_value_depth_limit).is_some() {
            return Err(at(
                "logger_provider.limits.attribute_value_depth_limit",
                FileError::unsupported("Beacon does not limit the depth of attribute values"),
            ));
        }
        limits.log_attributes = u32_or(
            l.and_then(|l| l.attribute_count_limit).or(g_count),
            128,
            "logger_provider.limits.attribute_count_limit",
        )?;
        limits.log_attribute_value_length = l
            .and_then(|l| l.attribute_value_length_limit)
            .or(g_len)
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    }
    config.limits = limits;
    Ok(())
}

fn tail_sampling(t: &TailSampling) -> R<crate::sampling::TailSamplingConfig> {
    const F: &str = "instrumentation/development.rust.beacon.tail_sampling";
    let mut c = crate::sampling::TailSamplingConfig::default();
    if let Some(r) = t.ratio {
        if !(0.0..=1.0).contains(&r) {
            return Err(at(
                format!("{F}.ratio"),
                FileError::invalid(r, "a share from 0 to 1"),
            ));
        }
        c = c.ratio(r);
    }
    if let Some(ms) = t.latency_threshold {
        c = c.latency_threshold(Duration::from_millis(ms));
    }
    for (i, kv) in t.keep_attributes.iter().flatten().enumerate() {
        let Some(v) = &kv.value else {
            return Err(at(
                format!("{F}.keep_attributes[{i}].value"),
                FileError::invalid("null", "the attribute value to keep"),
            ));
        };
        c = c.keep_attribute(kv.name.clone(), v.clone());
    }
    if let Some(n) = t.max_traces {
        c = c.max_traces(n);
    }
    if let Some(n) = t.max_spans {
        c = c.max_spans(n);
    }
    if let Some(ms) = t.decision_wait {
        c = c.decision_wait(Duration::from_millis(ms));
    }
    Ok(c)
}

fn not_implemented(what: &str) -> FileError {
    FileError::unsupported(format!(
        "{what} is defined by the schema but not implemented by Beacon; remove it"
    ))
}

fn level_name(s: Severity) -> &'static str {
    use Severity::*;
    match s {
        Trace | Trace2 | Trace3 | Trace4 => "trace",
        Debug | Debug2 | Debug3 | Debug4 => "debug",
        Info | Info2 | Info3 | Info4 => "info",
        Warn | Warn2 | Warn3 | Warn4 => "warn",
        Error | Error2 | Error3 | Error4 | Fatal | Fatal2 | Fatal3 | Fatal4 => "error",
    }
}

fn u32_or(v: Option<u64>, default: u32, field: &str) -> R<u32> {
    match v {
        None => Ok(default),
        Some(n) => u32::try_from(n)
            .map_err(|_| at(field, FileError::invalid(n, "a number below 4294967296"))),
    }
}

// ---- resource ----

fn resource(
    r: Option<&super::model::Resource>,
    code: &[KeyValue],
    warnings: &mut Vec<String>,
) -> R<opentelemetry_sdk::Resource> {
    use opentelemetry_sdk::resource::{ResourceDetector as _, TelemetryResourceDetector};
    let mut attrs: Vec<KeyValue> = TelemetryResourceDetector
        .detect()
        .iter()
        .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
        .collect();
    attrs.push(KeyValue::new("telemetry.distro.name", "beacon"));
    attrs.push(KeyValue::new(
        "telemetry.distro.version",
        env!("CARGO_PKG_VERSION"),
    ));
    let exe = crate::resource::executable_name();
    attrs.push(KeyValue::new(
        "service.name",
        format!("unknown_service:{exe}"),
    ));
    let mut schema_url = None;
    if let Some(r) = r {
        if let Some(d) = &r.detection {
            let mut detected = Vec::new();
            for det in d.detectors.iter().flatten() {
                match det {
                    ResourceDetector::Service(()) => {
                        detected.push(KeyValue::new(
                            "service.instance.id",
                            crate::resource::instance_id(),
                        ));
                    }
                    ResourceDetector::Host(()) => {
                        if let Some(h) = crate::resource::host_name() {
                            detected.push(KeyValue::new("host.name", h));
                        }
                        detected.push(KeyValue::new("os.type", crate::resource::os_type()));
                    }
                    ResourceDetector::Process(()) => {
                        detected.push(KeyValue::new("process.pid", i64::from(std::process::id())));
                        detected.push(KeyValue::new("process.executable.name", exe.clone()));
                        detected.push(KeyValue::new("process.runtime.name", "rustc"));
                        detected.push(KeyValue::new(
                            "process.runtime.version",
                            env!("BEACON_RUSTC_VERSION"),
                        ));
                    }
                    ResourceDetector::Container(()) => {
                        if let Some(id) = container_id() {
                            detected.push(KeyValue::new("container.id", id));
                        }
                    }
                }
            }
            let filter = d.attributes.clone().unwrap_or_default();
            attrs.extend(
                detected
                    .into_iter()
                    .filter(|kv| views::included(&filter, kv.key.as_str())),
            );
        }
        if let Some(list) = &r.attributes_list {
            match crate::config::parse::key_values(list) {
                Ok(pairs) => attrs.extend(pairs.into_iter().map(|(k, v)| KeyValue::new(k, v))),
                Err(why) => warnings.push(format!(
                    "resource.attributes_list discarded, as for OTEL_RESOURCE_ATTRIBUTES: {why}"
                )),
            }
        }
        for (i, a) in r.attributes.iter().flatten().enumerate() {
            if let Some(v) =
                attribute(a).map_err(|e| at(format!("resource.attributes[{i}].value"), e))?
            {
                attrs.push(KeyValue::new(a.name.clone(), v));
            }
        }
        schema_url = r.schema_url.clone();
    }
    attrs.extend(code.iter().cloned());
    let builder = opentelemetry_sdk::Resource::builder_empty();
    Ok(match schema_url {
        Some(url) => builder.with_schema_url(attrs, url).build(),
        None => builder.with_attributes(attrs).build(),
    })
}

/// The container id from cgroup v1 paths or the v2 mount table, when this runs in one.
fn container_id() -> Option<String> {
    let is_id = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    for file in ["/proc/self/cgroup", "/proc/self/mountinfo"] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for part in text.split(['/', ' ', '\n', '-', '.', ':']) {
            if is_id(part) {
                return Some(part.to_owned());
            }
        }
    }
    None
}

fn attribute(a: &AttributeNameValue) -> R<Option<OtelValue>> {
    use AttributeValue as V;
    let t = a.kind.unwrap_or(match &a.value {
        V::Bool(_) => AttributeType::Bool,
        V::Int(_) => AttributeType::Int,
        V::Double(_) => AttributeType::Double,
        V::String(_) | V::Null(()) => AttributeType::String,
        V::BoolArray(_) => AttributeType::BoolArray,
        V::IntArray(_) => AttributeType::IntArray,
        V::DoubleArray(_) => AttributeType::DoubleArray,
        V::StringArray(_) => AttributeType::StringArray,
    });
    let mismatch =
        || FileError::invalid(format!("{:?}", a.value), format!("a value of type {t:?}"));
    Ok(Some(match (t, &a.value) {
        (_, V::Null(())) => return Ok(None),
        (AttributeType::String, V::String(s)) => OtelValue::from(s.clone()),
        (AttributeType::Bool, V::Bool(b)) => OtelValue::Bool(*b),
        (AttributeType::Int, V::Int(i)) => OtelValue::I64(*i),
        (AttributeType::Double, V::Double(x)) => OtelValue::F64(*x),
        #[allow(clippy::cast_precision_loss)]
        (AttributeType::Double, V::Int(i)) => OtelValue::F64(*i as f64),
        (AttributeType::StringArray, V::StringArray(v)) => OtelValue::Array(Array::String(
            v.iter().cloned().map(StringValue::from).collect(),
        )),
        (AttributeType::BoolArray, V::BoolArray(v)) => OtelValue::Array(Array::Bool(v.clone())),
        (AttributeType::IntArray, V::IntArray(v)) => OtelValue::Array(Array::I64(v.clone())),
        (AttributeType::DoubleArray, V::DoubleArray(v)) => OtelValue::Array(Array::F64(v.clone())),
        #[allow(clippy::cast_precision_loss)]
        (AttributeType::DoubleArray, V::IntArray(v)) => {
            OtelValue::Array(Array::F64(v.iter().map(|i| *i as f64).collect()))
        }
        _ => return Err(mismatch()),
    }))
}

// ---- propagators ----

fn propagators(p: Option<&Propagator>) -> R<Vec<BeaconPropagator>> {
    let mut out = Vec::new();
    let Some(p) = p else {
        return Ok(out);
    };
    for item in p.composite.iter().flatten() {
        let b = match item {
            TextMapPropagator::Tracecontext(()) => BeaconPropagator::TraceContext,
            TextMapPropagator::Baggage(()) => BeaconPropagator::Baggage,
            TextMapPropagator::B3(()) => BeaconPropagator::B3,
            TextMapPropagator::B3multi(()) => BeaconPropagator::B3Multi,
            TextMapPropagator::Jaeger(()) => BeaconPropagator::Jaeger,
        };
        if !out.contains(&b) {
            out.push(b);
        }
    }
    if let Some(list) = &p.composite_list {
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if name == "none" {
                continue;
            }
            let b: BeaconPropagator = name.parse().map_err(|()| {
                at(
                    "propagator.composite_list",
                    FileError::new(super::FileErrorKind::UnsupportedComponent {
                        name: name.to_owned(),
                        expected: BeaconPropagator::NAMES.to_owned(),
                    }),
                )
            })?;
            if !out.contains(&b) {
                out.push(b);
            }
        }
    }
    Ok(out)
}

// ---- samplers ----

/// Any sampler, so that the tracer provider takes one type.
#[derive(Debug, Clone)]
pub(crate) struct AnySampler(pub(crate) Box<dyn ShouldSample>);

impl ShouldSample for AnySampler {
    fn should_sample(
        &self,
        parent_context: Option<&opentelemetry::Context>,
        trace_id: opentelemetry::trace::TraceId,
        name: &str,
        span_kind: &opentelemetry::trace::SpanKind,
        attributes: &[KeyValue],
        links: &[opentelemetry::trace::Link],
    ) -> opentelemetry_sdk::trace::SamplingResult {
        self.0
            .should_sample(parent_context, trace_id, name, span_kind, attributes, links)
    }
}

pub(crate) fn sampler(s: &Sampler, field: &str) -> R<Box<dyn ShouldSample>> {
    Ok(match s {
        Sampler::AlwaysOn(()) => Box::new(SdkSampler::AlwaysOn),
        Sampler::AlwaysOff(()) => Box::new(SdkSampler::AlwaysOff),
        Sampler::TraceIdRatioBased(r) => {
            let ratio = r.as_ref().and_then(|r| r.ratio).unwrap_or(1.0);
            if !(0.0..=1.0).contains(&ratio) {
                return Err(at(
                    format!("{field}.trace_id_ratio_based.ratio"),
                    FileError::invalid(ratio, "a probability from 0 to 1, such as 0.25"),
                ));
            }
            Box::new(SdkSampler::TraceIdRatioBased(ratio))
        }
        Sampler::BeaconRateLimited(r) => {
            let per_second = r
                .as_ref()
                .and_then(|r| r.traces_per_second)
                .unwrap_or(100.0);
            if !per_second.is_finite() || per_second < 0.0 {
                return Err(at(
                    format!("{field}.beacon_rate_limited.traces_per_second"),
                    FileError::invalid(per_second, "a non-negative number of traces per second"),
                ));
            }
            Box::new(crate::sampling::RateLimited::new(per_second))
        }
        Sampler::ParentBased(p) => {
            let p = p.as_deref().cloned().unwrap_or_default();
            let f = format!("{field}.parent_based");
            let branch = |s: &Option<Sampler>, name: &str| -> R<Option<Box<dyn ShouldSample>>> {
                s.as_ref()
                    .map(|s| sampler(s, &format!("{f}.{name}")))
                    .transpose()
            };
            let root = branch(&p.root, "root")?.unwrap_or_else(|| Box::new(SdkSampler::AlwaysOn));
            let mut pb = ParentBasedSampler::new(root);
            if let Some(s) = branch(&p.remote_parent_sampled, "remote_parent_sampled")? {
                pb = pb.with_remote_parent_sampled(s);
            }
            if let Some(s) = branch(&p.remote_parent_not_sampled, "remote_parent_not_sampled")? {
                pb = pb.with_remote_parent_not_sampled(s);
            }
            if let Some(s) = branch(&p.local_parent_sampled, "local_parent_sampled")? {
                pb = pb.with_local_parent_sampled(s);
            }
            if let Some(s) = branch(&p.local_parent_not_sampled, "local_parent_not_sampled")? {
                pb = pb.with_local_parent_not_sampled(s);
            }
            Box::new(pb)
        }
    })
}

// ---- processors and exporters ----

enum Proc<'a> {
    Batch(&'a BatchProcessor<Exporter>),
    Simple(&'a Exporter),
}

fn processors<'a>(
    provider: &str,
    signal: Signal,
    procs: impl Iterator<Item = Proc<'a>>,
    defaults: BatchConfig,
) -> R<(Destinations, BatchConfig, Option<BatchConfig>)> {
    let mut dest = Destinations::default();
    let mut otlp_batch: Option<BatchConfig> = None;
    let mut console_batch: Option<BatchConfig> = None;
    for (i, p) in procs.enumerate() {
        let (batch, exporter, f) = match p {
            Proc::Batch(b) => {
                let f = format!("{provider}.processors[{i}].batch");
                (batch_config(b, defaults, &f)?, &b.exporter, f)
            }
            Proc::Simple(e) => {
                // Beacon never exports on the application's thread: `simple` is a queue that
                // exports each item as soon as it is queued (a batch of one).
                let b = BatchConfig {
                    max_export_batch_size: 1,
                    ..defaults
                };
                (b, e, format!("{provider}.processors[{i}].simple"))
            }
        };
        match exporter {
            Exporter::Console(_) => console_batch = Some(batch),
            Exporter::OtlpHttp(_) | Exporter::OtlpGrpc(_) => otlp_batch = Some(batch),
        }
        let ef = format!("{f}.exporter");
        match exporter {
            Exporter::Console(_) => {
                if dest.console {
                    return Err(at(
                        ef,
                        FileError::unsupported("a second console exporter for the same signal"),
                    ));
                }
                dest.console = true;
            }
            Exporter::OtlpHttp(o) => {
                if dest.otlp.is_some() {
                    return Err(at(ef, FileError::unsupported("Beacon exports each signal to one OTLP destination; remove the second OTLP exporter")));
                }
                let o = o.clone().unwrap_or_default();
                dest.otlp = Some(otlp_http(&o, signal, &format!("{ef}.otlp_http"), false)?);
            }
            Exporter::OtlpGrpc(o) => {
                if dest.otlp.is_some() {
                    return Err(at(ef, FileError::unsupported("Beacon exports each signal to one OTLP destination; remove the second OTLP exporter")));
                }
                let o = o.clone().unwrap_or_default();
                dest.otlp = Some(otlp_grpc(&o, &format!("{ef}.otlp_grpc"), false)?);
            }
        }
    }
    let main = otlp_batch.or(console_batch).unwrap_or(defaults);
    let console = console_batch.filter(|c| *c != main);
    Ok((dest, main, console))
}

fn batch_config(b: &BatchProcessor<Exporter>, d: BatchConfig, f: &str) -> R<BatchConfig> {
    let count = |v: Option<u64>, default: usize, name: &str| -> R<usize> {
        match v {
            None => Ok(default),
            Some(0) => Err(at(
                format!("{f}.{name}"),
                FileError::invalid(0, "a number of at least 1"),
            )),
            Some(n) => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        }
    };
    let c = BatchConfig {
        scheduled_delay: b
            .schedule_delay
            .map_or(d.scheduled_delay, Duration::from_millis),
        export_timeout: match b.export_timeout {
            None => d.export_timeout,
            Some(0) => NO_LIMIT,
            Some(ms) => Duration::from_millis(ms),
        },
        max_queue_size: count(b.max_queue_size, d.max_queue_size, "max_queue_size")?,
        max_export_batch_size: count(
            b.max_export_batch_size,
            d.max_export_batch_size,
            "max_export_batch_size",
        )?,
        max_retained: d.max_retained,
    };
    if c.max_export_batch_size > c.max_queue_size {
        return Err(at(
            format!("{f}.max_export_batch_size"),
            FileError::invalid(
                c.max_export_batch_size,
                format!(
                    "a batch size from 1 to max_queue_size ({})",
                    c.max_queue_size
                ),
            ),
        ));
    }
    Ok(c)
}

/// What a timeout of 0 ("no limit") becomes: a day, long past any export.
const NO_LIMIT: Duration = Duration::from_secs(24 * 3600);

struct Common<'a> {
    endpoint: Option<&'a str>,
    default_endpoint: String,
    headers: Option<&'a [NameStringValuePair]>,
    headers_list: Option<&'a str>,
    compression: Option<&'a str>,
    timeout: Option<u64>,
    tls: TlsPaths<'a>,
    max_request_size: Option<u64>,
    max_response_size: Option<u64>,
    metric_fields: bool,
}

struct TlsPaths<'a> {
    ca: Option<&'a str>,
    cert: Option<&'a str>,
    key: Option<&'a str>,
    ca_name: &'static str,
    cert_name: &'static str,
    key_name: &'static str,
}

fn tls_paths<'a>(ca: Option<&'a str>, cert: Option<&'a str>, key: Option<&'a str>) -> TlsPaths<'a> {
    TlsPaths {
        ca,
        cert,
        key,
        ca_name: "tls.ca_file",
        cert_name: "tls.cert_file",
        key_name: "tls.key_file",
    }
}

pub(crate) fn otlp_http(o: &OtlpHttp, signal: Signal, f: &str, metrics: bool) -> R<OtlpConfig> {
    if !metrics {
        reject_metric_fields(
            o.temporality_preference.is_some(),
            o.default_histogram_aggregation.is_some(),
            f,
        )?;
    }
    let protocol = match o.encoding {
        None | Some(OtlpHttpEncoding::Protobuf) => Protocol::HttpProtobuf,
        Some(OtlpHttpEncoding::Json) => Protocol::HttpJson,
    };
    common(
        protocol,
        &Common {
            endpoint: o.endpoint.as_deref(),
            default_endpoint: format!("http://localhost:4318/{}", signal.http_path()),
            headers: o.headers.as_deref(),
            headers_list: o.headers_list.as_deref(),
            compression: o.compression.as_deref(),
            timeout: o.timeout,
            tls: tls_paths(
                o.tls.as_ref().and_then(|t| t.ca_file.as_deref()),
                o.tls.as_ref().and_then(|t| t.cert_file.as_deref()),
                o.tls.as_ref().and_then(|t| t.key_file.as_deref()),
            ),
            max_request_size: o.max_request_size,
            max_response_size: o.max_response_size,
            metric_fields: metrics,
        },
        f,
    )
}

pub(crate) fn otlp_grpc(o: &OtlpGrpc, f: &str, metrics: bool) -> R<OtlpConfig> {
    if !metrics {
        reject_metric_fields(
            o.temporality_preference.is_some(),
            o.default_histogram_aggregation.is_some(),
            f,
        )?;
    }
    common(
        Protocol::Grpc,
        &Common {
            endpoint: o.endpoint.as_deref(),
            default_endpoint: "http://localhost:4317".to_owned(),
            headers: o.headers.as_deref(),
            headers_list: o.headers_list.as_deref(),
            compression: o.compression.as_deref(),
            timeout: o.timeout,
            tls: tls_paths(
                o.tls.as_ref().and_then(|t| t.ca_file.as_deref()),
                o.tls.as_ref().and_then(|t| t.cert_file.as_deref()),
                o.tls.as_ref().and_then(|t| t.key_file.as_deref()),
            ),
            max_request_size: o.max_request_size,
            max_response_size: o.max_response_size,
            metric_fields: metrics,
        },
        f,
    )
}

fn reject_metric_fields(temporality: bool, histogram: bool, f: &str) -> R<()> {
    for (set, name) in [
        (temporality, "temporality_preference"),
        (histogram, "default_histogram_aggregation"),
    ] {
        if set {
            return Err(at(
                format!("{f}.{name}"),
                FileError::new(super::FileErrorKind::UnknownField {
                    field: name.to_owned(),
                    expected:
                        "the keys of a span or log exporter (this key is for metric exporters)"
                            .to_owned(),
                }),
            ));
        }
    }
    Ok(())
}

fn common(protocol: Protocol, c: &Common<'_>, f: &str) -> R<OtlpConfig> {
    let _ = c.metric_fields;
    const URL: &str =
        "an absolute http:// or https:// URL, such as http://localhost:4318/v1/traces";
    let raw = c.endpoint.unwrap_or(&c.default_endpoint);
    let endpoint: Uri = raw
        .parse()
        .map_err(|_| at(format!("{f}.endpoint"), FileError::invalid(raw, URL)))?;
    if !matches!(endpoint.scheme_str(), Some("http" | "https")) || endpoint.host().is_none() {
        return Err(at(format!("{f}.endpoint"), FileError::invalid(raw, URL)));
    }
    let mut headers = HeaderMap::new();
    if let Some(list) = c.headers_list {
        let pairs = crate::config::parse::key_values(list).map_err(|why| {
            at(
                format!("{f}.headers_list"),
                FileError::invalid(list, format!("comma-separated key=value pairs ({why})")),
            )
        })?;
        for (k, v) in pairs {
            insert(&mut headers, &k, &v, &format!("{f}.headers_list"))?;
        }
    }
    // `.headers` entries win over `.headers_list`; a null value is ignored.
    for (i, h) in c.headers.into_iter().flatten().enumerate() {
        if let Some(v) = &h.value {
            insert(&mut headers, &h.name, v, &format!("{f}.headers[{i}]"))?;
        }
    }
    let compression = match c.compression {
        None | Some("none") => Compression::None,
        Some("gzip") => Compression::Gzip,
        Some(other) => {
            return Err(at(
                format!("{f}.compression"),
                FileError::invalid(other, "gzip or none"),
            ))
        }
    };
    let timeout = match c.timeout {
        None => Duration::from_millis(10_000),
        Some(0) => NO_LIMIT,
        Some(ms) => Duration::from_millis(ms),
    };
    if c.max_request_size.is_some_and(|n| n != 67_108_864) {
        return Err(at(format!("{f}.max_request_size"), FileError::unsupported("Beacon's request limit is fixed at 67108864 bytes (64 MiB), the spec's default; remove the key")));
    }
    if c.max_response_size.is_some_and(|n| n != 4_194_304) {
        return Err(at(format!("{f}.max_response_size"), FileError::unsupported("Beacon's response limit is fixed at 4194304 bytes (4 MiB), the spec's default; remove the key")));
    }
    let pem = |path: Option<&str>, name: &str| -> R<Option<Vec<u8>>> {
        match path {
            None => Ok(None),
            Some(p) => std::fs::read(p).map(Some).map_err(|e| {
                at(
                    format!("{f}.{name}"),
                    FileError::invalid(p, format!("the path of a readable PEM file ({e})")),
                )
            }),
        }
    };
    let tls = TlsFiles {
        ca_certificate: pem(c.tls.ca, c.tls.ca_name)?,
        client_certificate: pem(c.tls.cert, c.tls.cert_name)?,
        client_key: pem(c.tls.key, c.tls.key_name)?,
    };
    if tls.client_certificate.is_some() != tls.client_key.is_some() {
        return Err(at(
            format!(
                "{f}.{}",
                if tls.client_key.is_some() {
                    c.tls.key_name
                } else {
                    c.tls.cert_name
                }
            ),
            FileError::unsupported(format!(
                "mutual TLS needs both {} and {}; only one is set",
                c.tls.cert_name, c.tls.key_name
            )),
        ));
    }
    Ok(OtlpConfig {
        protocol,
        endpoint,
        headers,
        compression,
        timeout,
        tls,
    })
}

fn insert(headers: &mut HeaderMap, k: &str, v: &str, f: &str) -> R<()> {
    let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
        at(
            f,
            FileError::invalid(
                k,
                "a header name of letters, digits and `-` (RFC 9110 token)",
            ),
        )
    })?;
    let value = HeaderValue::from_str(v).map_err(|_| {
        at(
            f,
            FileError::invalid(v, "a header value of visible ASCII characters"),
        )
    })?;
    headers.insert(name, value);
    Ok(())
}

// ---- metrics ----

fn metrics(mp: &MeterProvider, config: &mut Config, beacon: Option<&BeaconSettings>) -> R<()> {
    if mp.meter_configurator.is_some() {
        return Err(at(
            "meter_provider.meter_configurator/development",
            not_implemented("meter_configurator/development"),
        ));
    }
    let mut temporality: Option<(Temporality, String)> = None;
    let mut histogram: Option<HistogramAggregation> = None;
    let mut interval: Option<(u64, u64)> = None;
    let mut cardinality: Option<CardinalityLimits> = None;
    for (i, reader) in mp.readers.iter().enumerate() {
        let f = format!("meter_provider.readers[{i}]");
        let limits = match reader {
            MetricReader::Periodic(p) => {
                let f = format!("{f}.periodic");
                if p.producers.is_some() {
                    return Err(at(
                        format!("{f}.producers"),
                        FileError::unsupported("Beacon has no metric producers"),
                    ));
                }
                if p.max_export_batch_size.is_some() {
                    return Err(at(
                        format!("{f}.max_export_batch_size/development"),
                        not_implemented("max_export_batch_size/development"),
                    ));
                }
                let iv = (p.interval.unwrap_or(60_000), p.timeout.unwrap_or(30_000));
                if iv.0 == 0 {
                    return Err(at(
                        format!("{f}.interval"),
                        FileError::invalid(0, "a positive number of milliseconds"),
                    ));
                }
                if interval.is_some_and(|prev| prev != iv) {
                    return Err(at(format!("{f}.interval"), FileError::unsupported("Beacon exports all periodic readers on one schedule; give them the same interval and timeout")));
                }
                interval = Some(iv);
                let ef = format!("{f}.exporter");
                let (t, h) = match &p.exporter {
                    PushMetricExporter::Console(c) => {
                        if config.metrics.console {
                            return Err(at(
                                ef,
                                FileError::unsupported("a second console exporter"),
                            ));
                        }
                        config.metrics.console = true;
                        let c = c.as_ref();
                        let t = c.and_then(|c| c.temporality_preference);
                        if t.is_some_and(|t| t != Temporality::Cumulative) {
                            return Err(at(format!("{ef}.console.temporality_preference"), FileError::unsupported("Beacon's console metric exporter prints cumulative values only")));
                        }
                        (None, c.and_then(|c| c.default_histogram_aggregation))
                    }
                    PushMetricExporter::OtlpHttp(o) => {
                        let o = o.clone().unwrap_or_default();
                        if config.metrics.otlp.is_some() {
                            return Err(at(ef, FileError::unsupported("Beacon exports metrics to one OTLP destination; remove the second OTLP exporter")));
                        }
                        config.metrics.otlp = Some(otlp_http(
                            &o,
                            Signal::Metrics,
                            &format!("{ef}.otlp_http"),
                            true,
                        )?);
                        (
                            Some((
                                o.temporality_preference.unwrap_or(Temporality::Cumulative),
                                format!("{ef}.otlp_http.temporality_preference"),
                            )),
                            o.default_histogram_aggregation,
                        )
                    }
                    PushMetricExporter::OtlpGrpc(o) => {
                        let o = o.clone().unwrap_or_default();
                        if config.metrics.otlp.is_some() {
                            return Err(at(ef, FileError::unsupported("Beacon exports metrics to one OTLP destination; remove the second OTLP exporter")));
                        }
                        config.metrics.otlp =
                            Some(otlp_grpc(&o, &format!("{ef}.otlp_grpc"), true)?);
                        (
                            Some((
                                o.temporality_preference.unwrap_or(Temporality::Cumulative),
                                format!("{ef}.otlp_grpc.temporality_preference"),
                            )),
                            o.default_histogram_aggregation,
                        )
                    }
                };
                if let Some(t) = t {
                    temporality = Some(t);
                }
                if let Some(h) = h {
                    if histogram.is_some_and(|prev| prev != h) {
                        return Err(at(ef, FileError::unsupported("Beacon applies one default histogram aggregation to all readers; give them the same default_histogram_aggregation")));
                    }
                    histogram = Some(h);
                }
                p.cardinality_limits
            }
            MetricReader::Pull(p) => {
                let f = format!("{f}.pull");
                if p.producers.is_some() {
                    return Err(at(
                        format!("{f}.producers"),
                        FileError::unsupported("Beacon has no metric producers"),
                    ));
                }
                let PullMetricExporter::Prometheus(prom) = &p.exporter;
                let prom = prom.as_ref();
                let pf = format!("{f}.exporter.prometheus/development");
                if config.metrics.prometheus.is_some() {
                    return Err(at(
                        pf,
                        FileError::unsupported("a second Prometheus exporter"),
                    ));
                }
                let naming = match prom.and_then(|p| p.translation_strategy.as_deref()) {
                    None | Some("underscore_escaping_with_suffixes") => beacon_exporter::prometheus::Naming::Compatibility,
                    Some(other) => return Err(at(format!("{pf}.translation_strategy"), FileError::invalid(other, "underscore_escaping_with_suffixes (the only strategy Beacon implements)"))),
                };
                if let Some(p) = prom {
                    let set = [
                        (
                            p.scope_info_enabled.is_some() || p.without_scope_info.is_some(),
                            "scope_info_enabled",
                        ),
                        (
                            p.target_info_enabled.is_some() || p.without_target_info.is_some(),
                            "target_info_enabled/development",
                        ),
                        (
                            p.resource_constant_labels.is_some()
                                || p.with_resource_constant_labels.is_some(),
                            "resource_constant_labels",
                        ),
                    ];
                    if let Some((_, name)) = set.iter().find(|(on, _)| *on) {
                        return Err(at(format!("{pf}.{name}"), FileError::unsupported(format!("Beacon's Prometheus exporter has fixed behaviour for {name} (target_info from the resource, no scope labels); remove the key"))));
                    }
                }
                let listen = beacon
                    .and_then(|b| b.prometheus_listener)
                    .unwrap_or(true)
                    .then(|| {
                        (
                            prom.and_then(|p| p.host.clone())
                                .unwrap_or_else(|| "localhost".to_owned()),
                            prom.and_then(|p| p.port).unwrap_or(9464),
                        )
                    });
                config.metrics.prometheus = Some(PrometheusConfig { listen, naming });
                p.cardinality_limits
            }
        };
        if let Some(l) = limits {
            if cardinality.is_some_and(|prev| prev != l) {
                return Err(at(format!("{f}.cardinality_limits"), FileError::unsupported("Beacon applies one set of cardinality limits to all readers; give them the same cardinality_limits")));
            }
            cardinality = Some(l);
        }
    }
    if let Some((t, _)) = &temporality {
        config.file.temporality = match t {
            Temporality::Cumulative => SdkTemporality::Cumulative,
            Temporality::Delta => SdkTemporality::Delta,
            Temporality::LowMemory => SdkTemporality::LowMemory,
        };
    }
    if histogram == Some(HistogramAggregation::Base2ExponentialBucketHistogram)
        && config.metrics.prometheus.is_some()
    {
        return Err(at("meter_provider.readers", FileError::unsupported("Beacon's Prometheus exporter cannot encode base2 exponential histograms; keep explicit_bucket_histogram while a pull reader is configured")));
    }
    if let Some((ms, timeout)) = interval {
        config.metric_interval = Duration::from_millis(ms);
        config.metric_timeout = Duration::from_millis(timeout);
    }
    config.exemplar_filter = match mp.exemplar_filter {
        None | Some(ExemplarFilter::TraceBased) => {
            beacon_exporter::exemplars::ExemplarFilter::TraceBased
        }
        Some(ExemplarFilter::AlwaysOn) => beacon_exporter::exemplars::ExemplarFilter::AlwaysOn,
        Some(ExemplarFilter::AlwaysOff) => beacon_exporter::exemplars::ExemplarFilter::AlwaysOff,
    };
    config.file.views = Some(Views::new(
        mp.views.as_deref().unwrap_or_default(),
        histogram == Some(HistogramAggregation::Base2ExponentialBucketHistogram),
        cardinality.unwrap_or_default(),
    )?);
    Ok(())
}
