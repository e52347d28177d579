//! Batches as encoded OTLP export requests, and back.
//!
//! A spooled batch is exactly what would go on the wire: an `ExportTraceServiceRequest` or
//! `ExportLogsServiceRequest` in protobuf, built by `opentelemetry-proto`'s own transforms (the
//! ones `opentelemetry-otlp` uses), resource included. To send it again, it is decoded back into
//! the SDK's types and handed to the same exporter as live data, so every protocol, header,
//! TLS setting, compression and retry rule applies unchanged. Decoding inverts the transform:
//! re-encoding a decoded batch gives the same request (the unit tests check this).
//!
//! One limit of the SDK's types: a log record's `severity_text` and `event_name` are
//! `&'static str`. Decoded values are interned (kept for the life of the process), at most
//! [`MAX_INTERNED`] distinct ones; past that a record keeps its severity number and loses only
//! the text or the event name. Real services use a handful of each.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::logs::Severity;
use opentelemetry::logs::{AnyValue as LogValue, LogRecord as _, Logger as _, LoggerProvider as _};
use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, Key, KeyValue, StringValue, Value};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue as ProtoKeyValue;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope as Scope};
use opentelemetry_proto::tonic::resource::v1::Resource as ProtoResource;
use opentelemetry_proto::tonic::trace::v1::{span, status, Span};
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_sdk::logs::{LogBatch, SdkLogRecord, SdkLogger, SdkLoggerProvider};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use opentelemetry_sdk::Resource;
use prost::Message as _;

/// A log record and the scope that emitted it, as the batch log processor holds them.
pub(crate) type LogItem = Box<(SdkLogRecord, InstrumentationScope)>;

/// The most distinct severity texts and event names interned per process.
pub(crate) const MAX_INTERNED: usize = 1024;

/// A spooled record that is not a valid export request (it passed its checksum, so this is a
/// record from an incompatible version, not damage on disk).
#[derive(Debug, thiserror::Error)]
#[error("a spooled batch is not a valid OTLP export request: {0}")]
pub(crate) struct DecodeError(#[from] prost::DecodeError);

/// Encodes spans as an `ExportTraceServiceRequest`.
pub(crate) fn encode_spans(batch: &[SpanData], resource: &Resource) -> Vec<u8> {
    let resource = ResourceAttributesWithSchema::from(resource);
    let request = ExportTraceServiceRequest {
        resource_spans:
            opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope(
                batch.to_vec(),
                &resource,
            ),
    };
    request.encode_to_vec()
}

/// Encodes log records as an `ExportLogsServiceRequest`.
pub(crate) fn encode_logs(batch: &[LogItem], resource: &Resource) -> Vec<u8> {
    let resource = ResourceAttributesWithSchema::from(resource);
    let refs: Vec<(&SdkLogRecord, &InstrumentationScope)> =
        batch.iter().map(|b| (&b.0, &b.1)).collect();
    let logs = LogBatch::new(&refs);
    let request = ExportLogsServiceRequest {
        resource_logs:
            opentelemetry_proto::transform::logs::tonic::group_logs_by_resource_and_scope(
                &logs, &resource,
            ),
    };
    request.encode_to_vec()
}

/// Decodes an `ExportTraceServiceRequest` into spans grouped by resource.
pub(crate) fn decode_spans(bytes: &[u8]) -> Result<Vec<(Resource, Vec<SpanData>)>, DecodeError> {
    let request = ExportTraceServiceRequest::decode(bytes)?;
    Ok(request
        .resource_spans
        .into_iter()
        .map(|rs| {
            let resource = resource(rs.resource, rs.schema_url);
            let spans = rs
                .scope_spans
                .into_iter()
                .flat_map(|ss| {
                    let scope = scope(ss.scope, ss.schema_url);
                    ss.spans
                        .into_iter()
                        .map(move |s| span_data(s, scope.clone()))
                })
                .collect();
            (resource, spans)
        })
        .collect())
}

/// Decodes an `ExportLogsServiceRequest` into log records grouped by resource.
pub(crate) fn decode_logs(bytes: &[u8]) -> Result<Vec<(Resource, Vec<LogItem>)>, DecodeError> {
    let request = ExportLogsServiceRequest::decode(bytes)?;
    let logger = logger();
    Ok(request
        .resource_logs
        .into_iter()
        .map(|rl| {
            let resource = resource(rl.resource, rl.schema_url);
            let mut items = Vec::new();
            for sl in rl.scope_logs {
                let scope = scope(sl.scope, sl.schema_url);
                for lr in sl.log_records {
                    items.push(Box::new((log_record(logger, lr), scope.clone())));
                }
            }
            (resource, items)
        })
        .collect())
}

fn resource(resource: Option<ProtoResource>, schema_url: String) -> Resource {
    let attributes: Vec<KeyValue> = resource
        .map(|r| attributes(r.attributes))
        .unwrap_or_default();
    let builder = Resource::builder_empty();
    if schema_url.is_empty() {
        builder.with_attributes(attributes).build()
    } else {
        builder.with_schema_url(attributes, schema_url).build()
    }
}

fn scope(scope: Option<Scope>, schema_url: String) -> InstrumentationScope {
    let scope = scope.unwrap_or_default();
    let mut builder = InstrumentationScope::builder(scope.name);
    if !scope.version.is_empty() {
        builder = builder.with_version(scope.version);
    }
    if !schema_url.is_empty() {
        builder = builder.with_schema_url(schema_url);
    }
    if !scope.attributes.is_empty() {
        builder = builder.with_attributes(attributes(scope.attributes));
    }
    builder.build()
}

fn time(nanos: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(nanos)
}

fn trace_id(bytes: &[u8]) -> TraceId {
    <[u8; 16]>::try_from(bytes).map_or(TraceId::INVALID, TraceId::from_bytes)
}

fn span_id(bytes: &[u8]) -> SpanId {
    <[u8; 8]>::try_from(bytes).map_or(SpanId::INVALID, SpanId::from_bytes)
}

fn trace_state(header: &str) -> TraceState {
    header.parse().unwrap_or_default()
}

/// The OTLP span flag saying the parent (or the linked span) is remote.
const IS_REMOTE: u32 = 0x200;

fn span_data(s: Span, scope: InstrumentationScope) -> SpanData {
    let flags = TraceFlags::new((s.flags & 0xFF) as u8);
    let kind = match span::SpanKind::try_from(s.kind) {
        Ok(span::SpanKind::Server) => SpanKind::Server,
        Ok(span::SpanKind::Client) => SpanKind::Client,
        Ok(span::SpanKind::Producer) => SpanKind::Producer,
        Ok(span::SpanKind::Consumer) => SpanKind::Consumer,
        _ => SpanKind::Internal,
    };
    let status = match s.status {
        Some(st) if st.code == status::StatusCode::Error as i32 => Status::Error {
            description: Cow::Owned(st.message),
        },
        Some(st) if st.code == status::StatusCode::Ok as i32 => Status::Ok,
        _ => Status::Unset,
    };
    let mut events = SpanEvents::default();
    events.events = s
        .events
        .into_iter()
        .map(|e| {
            Event::new(
                e.name,
                time(e.time_unix_nano),
                attributes(e.attributes),
                e.dropped_attributes_count,
            )
        })
        .collect();
    events.dropped_count = s.dropped_events_count;
    let mut links = SpanLinks::default();
    links.links = s
        .links
        .into_iter()
        .map(|l| {
            let context = SpanContext::new(
                trace_id(&l.trace_id),
                span_id(&l.span_id),
                TraceFlags::new((l.flags & 0xFF) as u8),
                l.flags & IS_REMOTE != 0,
                trace_state(&l.trace_state),
            );
            Link::new(
                context,
                attributes(l.attributes),
                l.dropped_attributes_count,
            )
        })
        .collect();
    links.dropped_count = s.dropped_links_count;
    SpanData {
        span_context: SpanContext::new(
            trace_id(&s.trace_id),
            span_id(&s.span_id),
            flags,
            false,
            trace_state(&s.trace_state),
        ),
        parent_span_id: span_id(&s.parent_span_id),
        parent_span_is_remote: s.flags & IS_REMOTE != 0,
        span_kind: kind,
        name: Cow::Owned(s.name),
        start_time: time(s.start_time_unix_nano),
        end_time: time(s.end_time_unix_nano),
        attributes: attributes(s.attributes),
        dropped_attributes_count: s.dropped_attributes_count,
        events,
        links,
        status,
        instrumentation_scope: scope,
    }
}

/// Span, event, link, scope and resource attributes: the API's [`Value`]s.
fn attributes(kvs: Vec<ProtoKeyValue>) -> Vec<KeyValue> {
    kvs.into_iter()
        .filter_map(|kv| Some(KeyValue::new(kv.key, value(kv.value?.value?)?)))
        .collect()
}

fn value(v: any_value::Value) -> Option<Value> {
    Some(match v {
        any_value::Value::BoolValue(b) => Value::Bool(b),
        any_value::Value::IntValue(i) => Value::I64(i),
        any_value::Value::DoubleValue(d) => Value::F64(d),
        any_value::Value::StringValue(s) => Value::String(s.into()),
        any_value::Value::ArrayValue(a) => {
            let values: Vec<any_value::Value> =
                a.values.into_iter().filter_map(|v| v.value).collect();
            Value::Array(match values.first() {
                Some(any_value::Value::BoolValue(_)) => Array::Bool(
                    values
                        .into_iter()
                        .filter_map(|v| match v {
                            any_value::Value::BoolValue(b) => Some(b),
                            _ => None,
                        })
                        .collect(),
                ),
                Some(any_value::Value::IntValue(_)) => Array::I64(
                    values
                        .into_iter()
                        .filter_map(|v| match v {
                            any_value::Value::IntValue(i) => Some(i),
                            _ => None,
                        })
                        .collect(),
                ),
                Some(any_value::Value::DoubleValue(_)) => Array::F64(
                    values
                        .into_iter()
                        .filter_map(|v| match v {
                            any_value::Value::DoubleValue(d) => Some(d),
                            _ => None,
                        })
                        .collect(),
                ),
                _ => Array::String(
                    values
                        .into_iter()
                        .filter_map(|v| match v {
                            any_value::Value::StringValue(s) => Some(StringValue::from(s)),
                            _ => None,
                        })
                        .collect(),
                ),
            })
        }
        // The API's attribute values have no bytes or maps, and the SDK's encoder writes no
        // string-table references: encoded spans never carry them.
        any_value::Value::BytesValue(_)
        | any_value::Value::KvlistValue(_)
        | any_value::Value::StringValueStrindex(_) => return None,
    })
}

/// Log bodies and attributes: the logs API's [`LogValue`]s, which cover all of OTLP.
fn log_value(v: AnyValue) -> Option<LogValue> {
    Some(match v.value? {
        any_value::Value::BoolValue(b) => LogValue::Boolean(b),
        any_value::Value::IntValue(i) => LogValue::Int(i),
        any_value::Value::DoubleValue(d) => LogValue::Double(d),
        any_value::Value::StringValue(s) => LogValue::String(s.into()),
        any_value::Value::BytesValue(b) => LogValue::Bytes(Box::new(b)),
        any_value::Value::ArrayValue(a) => LogValue::ListAny(Box::new(
            a.values.into_iter().filter_map(log_value).collect(),
        )),
        any_value::Value::KvlistValue(m) => LogValue::Map(Box::new(
            m.values
                .into_iter()
                .filter_map(|kv| Some((Key::from(kv.key), log_value(kv.value?)?)))
                .collect(),
        )),
        // Beacon's encoder writes no string-table references.
        any_value::Value::StringValueStrindex(_) => return None,
    })
}

/// A logger that only creates records (the SDK's record constructor is crate-private).
fn logger() -> &'static SdkLogger {
    static LOGGER: OnceLock<(SdkLoggerProvider, SdkLogger)> = OnceLock::new();
    &LOGGER
        .get_or_init(|| {
            let provider = SdkLoggerProvider::builder().build();
            let logger = provider.logger("beacon-spool");
            (provider, logger)
        })
        .1
}

fn log_record(
    logger: &SdkLogger,
    lr: opentelemetry_proto::tonic::logs::v1::LogRecord,
) -> SdkLogRecord {
    let mut record = logger.create_log_record();
    if lr.time_unix_nano != 0 {
        record.set_timestamp(time(lr.time_unix_nano));
    }
    record.set_observed_timestamp(time(lr.observed_time_unix_nano));
    if let Some(severity) = severity(lr.severity_number) {
        record.set_severity_number(severity);
    }
    if let Some(text) = intern(&lr.severity_text) {
        record.set_severity_text(text);
    }
    if let Some(name) = intern(&lr.event_name) {
        record.set_event_name(name);
    }
    if let Some(body) = lr.body.and_then(log_value) {
        record.set_body(body);
    }
    for kv in lr.attributes {
        if let Some(v) = kv.value.and_then(log_value) {
            record.add_attribute(kv.key, v);
        }
    }
    if !lr.trace_id.is_empty() {
        let flags = (lr.flags != 0).then(|| TraceFlags::new((lr.flags & 0xFF) as u8));
        record.set_trace_context(trace_id(&lr.trace_id), span_id(&lr.span_id), flags);
    }
    record
}

fn severity(n: i32) -> Option<Severity> {
    use Severity::*;
    const ALL: [Severity; 24] = [
        Trace, Trace2, Trace3, Trace4, Debug, Debug2, Debug3, Debug4, Info, Info2, Info3, Info4,
        Warn, Warn2, Warn3, Warn4, Error, Error2, Error3, Error4, Fatal, Fatal2, Fatal3, Fatal4,
    ];
    usize::try_from(n - 1)
        .ok()
        .and_then(|i| ALL.get(i).copied())
}

/// A `'static` copy of `s`; `None` for an empty string or once [`MAX_INTERNED`] are held.
fn intern(s: &str) -> Option<&'static str> {
    const KNOWN: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
    if s.is_empty() {
        return None;
    }
    if let Some(k) = KNOWN.iter().find(|k| **k == s) {
        return Some(k);
    }
    static HELD: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut held = HELD.get_or_init(Mutex::default).lock().ok()?;
    if let Some(h) = held.get(s) {
        return Some(h);
    }
    if held.len() >= MAX_INTERNED {
        return None;
    }
    let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
    held.insert(leaked);
    Some(leaked)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::trace::{SdkTracerProvider, SpanExporter};

    use super::*;

    #[derive(Debug, Clone, Default)]
    struct Collect(Arc<Mutex<Vec<SpanData>>>);

    impl SpanExporter for Collect {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            self.0.lock().expect("lock").extend(batch);
            Ok(())
        }
    }

    fn resource() -> Resource {
        Resource::builder_empty()
            .with_schema_url(
                [KeyValue::new("service.name", "spool-test")],
                "https://opentelemetry.io/schemas/1.30.0",
            )
            .build()
    }

    #[test]
    fn spans_survive_the_round_trip_byte_for_byte() {
        let exporter = Collect::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let tracer = provider.tracer_with_scope(
            InstrumentationScope::builder("lib")
                .with_version("1.2")
                .with_attributes([KeyValue::new("scope.attr", true)])
                .build(),
        );
        tracer.in_span("parent", |cx| {
            let mut child = tracer
                .span_builder("child")
                .with_kind(SpanKind::Client)
                .with_attributes([
                    KeyValue::new("s", "v"),
                    KeyValue::new("i", 7),
                    KeyValue::new("f", 1.5),
                    KeyValue::new("b", false),
                    KeyValue::new("a", Value::Array(Array::I64(vec![1, 2]))),
                ])
                .with_links(vec![Link::new(
                    SpanContext::new(
                        TraceId::from(9u128),
                        SpanId::from(3u64),
                        TraceFlags::SAMPLED,
                        true,
                        TraceState::default(),
                    ),
                    vec![KeyValue::new("l", 1)],
                    0,
                )])
                .start_with_context(&tracer, &cx);
            child.add_event("evt", vec![KeyValue::new("e", "x")]);
            child.set_status(Status::error("broke"));
            child.end();
        });
        let spans = exporter.0.lock().expect("lock").clone();
        assert_eq!(spans.len(), 2);
        let encoded = encode_spans(&spans, &resource());
        let decoded = decode_spans(&encoded).expect("decodes");
        assert_eq!(decoded.len(), 1);
        let (res, back) = &decoded[0];
        assert_eq!(res, &resource());
        assert_eq!(back.len(), 2);
        assert_eq!(encode_spans(back, res), encoded);
    }

    #[test]
    fn log_records_survive_the_round_trip_byte_for_byte() {
        let provider = SdkLoggerProvider::builder().build();
        let logger = provider.logger_with_scope(
            InstrumentationScope::builder("lib")
                .with_version("2")
                .build(),
        );
        let scope = InstrumentationScope::builder("lib")
            .with_version("2")
            .build();
        let mut items: Vec<LogItem> = Vec::new();
        for (i, target) in [(0, None), (1, Some("my_app::db"))] {
            let mut r = logger.create_log_record();
            r.set_timestamp(time(1_000 + i));
            r.set_observed_timestamp(time(2_000 + i));
            r.set_severity_number(Severity::Warn);
            r.set_severity_text("WARN");
            r.set_event_name("order.placed");
            r.set_body(LogValue::Map(Box::new(
                [(
                    Key::from("k"),
                    LogValue::ListAny(Box::new(vec![LogValue::Int(1)])),
                )]
                .into_iter()
                .collect(),
            )));
            r.add_attribute("bytes", LogValue::Bytes(Box::new(vec![1, 2, 3])));
            r.set_trace_context(
                TraceId::from(5u128),
                SpanId::from(6u64),
                Some(TraceFlags::SAMPLED),
            );
            if let Some(t) = target {
                r.set_target(t);
            }
            items.push(Box::new((r, scope.clone())));
        }
        let encoded = encode_logs(&items, &resource());
        let decoded = decode_logs(&encoded).expect("decodes");
        let (res, back) = &decoded[0];
        assert_eq!(back.len(), 2);
        // Scopes are grouped through a hash map, so compare the requests in a fixed order.
        let sorted = |bytes: &[u8]| {
            let mut request = ExportLogsServiceRequest::decode(bytes).expect("request");
            for rl in &mut request.resource_logs {
                rl.scope_logs.sort_by(|a, b| {
                    a.scope
                        .as_ref()
                        .map(|s| &s.name)
                        .cmp(&b.scope.as_ref().map(|s| &s.name))
                });
            }
            request
        };
        assert_eq!(sorted(&encode_logs(back, res)), sorted(&encoded));
        assert_eq!(
            sorted(&encoded).resource_logs[0].scope_logs.len(),
            2,
            "the target names a scope"
        );
    }

    #[test]
    fn bytes_that_are_not_a_request_are_an_error_not_a_panic() {
        assert!(decode_spans(&[0xFF, 0xFF, 0xFF]).is_err());
        assert!(decode_logs(&[0x0A, 0x05, 0x01]).is_err());
    }

    #[test]
    fn interning_is_bounded() {
        assert_eq!(intern("INFO"), Some("INFO"));
        assert_eq!(intern(""), None);
        let a = intern("spool.test.event").expect("held");
        let b = intern("spool.test.event").expect("held");
        assert!(std::ptr::eq(a, b), "one copy per distinct value");
    }
}
