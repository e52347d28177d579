//! OTLP (protobuf messages, as the receiver decodes them and as the SDK's data converts to)
//! into the hub's model.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point, AggregationTemporality};
use opentelemetry_proto::tonic::resource::v1::Resource as ProtoResource;
use opentelemetry_proto::tonic::trace::v1::{span, status};

use crate::model::{
    Attributes, Link, LogRecord, MetricKind, MetricPoint, MetricSample, PointValue, Resource,
    Scope, Span, SpanEvent, SpanId, SpanKind, Status, StatusCode, TraceId, Value,
};

/// The service name the SDK specification gives telemetry without `service.name`.
pub(crate) const UNKNOWN_SERVICE: &str = "unknown_service";

pub(crate) fn value(v: AnyValue) -> Option<Value> {
    Some(match v.value? {
        any_value::Value::StringValue(s) => Value::String(s),
        any_value::Value::BoolValue(b) => Value::Bool(b),
        any_value::Value::IntValue(i) => Value::Int(i),
        any_value::Value::DoubleValue(d) => Value::Double(d),
        any_value::Value::BytesValue(b) => Value::Bytes(b),
        // An index into a profiles string table, which traces, logs and metrics do not
        // carry: there is no text to resolve it to.
        any_value::Value::StringValueStrindex(_) => return None,
        any_value::Value::ArrayValue(a) => {
            Value::Array(a.values.into_iter().filter_map(value).collect())
        }
        any_value::Value::KvlistValue(kv) => Value::Map(
            kv.values
                .into_iter()
                .filter_map(|kv| Some((kv.key, value(kv.value?)?)))
                .collect(),
        ),
    })
}

pub(crate) fn attributes(kvs: Vec<KeyValue>) -> Attributes {
    Attributes(
        kvs.into_iter()
            .filter_map(|kv| Some((kv.key, value(kv.value?)?)))
            .collect(),
    )
}

fn resource(r: Option<ProtoResource>) -> Arc<Resource> {
    let attributes = attributes(r.map(|r| r.attributes).unwrap_or_default());
    let service = match attributes.get("service.name") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => UNKNOWN_SERVICE.to_owned(),
    };
    Arc::new(Resource {
        service,
        attributes,
    })
}

fn scope(s: Option<InstrumentationScope>) -> Arc<Scope> {
    Arc::new(s.map_or_else(Scope::default, |s| Scope {
        name: s.name,
        version: (!s.version.is_empty()).then_some(s.version),
    }))
}

fn kind(k: i32) -> SpanKind {
    match span::SpanKind::try_from(k) {
        Ok(span::SpanKind::Internal) => SpanKind::Internal,
        Ok(span::SpanKind::Server) => SpanKind::Server,
        Ok(span::SpanKind::Client) => SpanKind::Client,
        Ok(span::SpanKind::Producer) => SpanKind::Producer,
        Ok(span::SpanKind::Consumer) => SpanKind::Consumer,
        Ok(span::SpanKind::Unspecified) | Err(_) => SpanKind::Unspecified,
    }
}

/// Why part of an OTLP request could not be taken.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Items left out.
    pub count: u64,
    /// The first reason, for the partial-success message.
    pub reason: Option<String>,
}

impl Rejected {
    fn add(&mut self, reason: impl FnOnce() -> String) {
        self.count += 1;
        if self.reason.is_none() {
            self.reason = Some(reason());
        }
    }
}

pub(crate) fn spans(req: ExportTraceServiceRequest, rejected: &mut Rejected) -> Vec<Span> {
    let mut out = Vec::new();
    for rs in req.resource_spans {
        let resource = resource(rs.resource);
        for ss in rs.scope_spans {
            let scope = scope(ss.scope);
            for s in ss.spans {
                let (Some(trace_id), Some(span_id)) = (
                    TraceId::from_slice(&s.trace_id),
                    SpanId::from_slice(&s.span_id),
                ) else {
                    rejected.add(|| {
                        format!(
                            "span {:?}: trace_id must be 16 bytes and span_id 8, not all zero",
                            s.name
                        )
                    });
                    continue;
                };
                let status = s.status.map_or_else(Status::default, |st| Status {
                    code: match status::StatusCode::try_from(st.code) {
                        Ok(status::StatusCode::Ok) => StatusCode::Ok,
                        Ok(status::StatusCode::Error) => StatusCode::Error,
                        _ => StatusCode::Unset,
                    },
                    message: st.message,
                });
                out.push(Span {
                    trace_id,
                    span_id,
                    parent_span_id: SpanId::from_slice(&s.parent_span_id),
                    name: s.name,
                    kind: kind(s.kind),
                    start_time_unix_nano: s.start_time_unix_nano,
                    end_time_unix_nano: s.end_time_unix_nano,
                    status,
                    attributes: attributes(s.attributes),
                    events: s
                        .events
                        .into_iter()
                        .map(|e| SpanEvent {
                            time_unix_nano: e.time_unix_nano,
                            name: e.name,
                            attributes: attributes(e.attributes),
                        })
                        .collect(),
                    links: s
                        .links
                        .into_iter()
                        .filter_map(|l| {
                            Some(Link {
                                trace_id: TraceId::from_slice(&l.trace_id)?,
                                span_id: SpanId::from_slice(&l.span_id)?,
                                attributes: attributes(l.attributes),
                            })
                        })
                        .collect(),
                    resource: Arc::clone(&resource),
                    scope: Arc::clone(&scope),
                });
            }
        }
    }
    out
}

/// `tracing` names every event `event <file>:<line>` unless given a name, and the
/// OpenTelemetry appender passes that on as the OTLP event name: it names a call site, not
/// an event type, so such a record is a plain log.
fn is_tracing_default_name(name: &str) -> bool {
    name.strip_prefix("event ")
        .and_then(|rest| rest.rsplit_once(':'))
        .is_some_and(|(_, line)| !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()))
}

pub(crate) fn logs(req: ExportLogsServiceRequest) -> Vec<LogRecord> {
    let mut out = Vec::new();
    for rl in req.resource_logs {
        let resource = resource(rl.resource);
        for sl in rl.scope_logs {
            let scope = scope(sl.scope);
            for r in sl.log_records {
                let attributes = attributes(r.attributes);
                let event_name =
                    if r.event_name.is_empty() || is_tracing_default_name(&r.event_name) {
                        match attributes.get("event.name") {
                            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                            _ => None,
                        }
                    } else {
                        Some(r.event_name)
                    };
                let time = if r.time_unix_nano != 0 {
                    r.time_unix_nano
                } else {
                    r.observed_time_unix_nano
                };
                out.push(LogRecord {
                    time_unix_nano: time,
                    severity_number: u8::try_from(r.severity_number.clamp(0, 24)).unwrap_or(0),
                    severity_text: (!r.severity_text.is_empty()).then_some(r.severity_text),
                    body: r.body.and_then(value),
                    attributes,
                    event_name,
                    trace_id: TraceId::from_slice(&r.trace_id),
                    span_id: SpanId::from_slice(&r.span_id),
                    resource: Arc::clone(&resource),
                    scope: Arc::clone(&scope),
                });
            }
        }
    }
    out
}

fn number(v: Option<number_data_point::Value>) -> f64 {
    match v {
        Some(number_data_point::Value::AsDouble(d)) => d,
        #[allow(clippy::cast_precision_loss)]
        Some(number_data_point::Value::AsInt(i)) => i as f64,
        None => 0.0,
    }
}

fn cumulative(t: i32) -> bool {
    t == AggregationTemporality::Cumulative as i32
}

pub(crate) fn metrics(req: ExportMetricsServiceRequest) -> Vec<MetricSample> {
    let mut out = Vec::new();
    for rm in req.resource_metrics {
        let resource = resource(rm.resource);
        for sm in rm.scope_metrics {
            for m in sm.metrics {
                let Some(data) = m.data else { continue };
                let mut push = |kind, attrs, time, start, value| {
                    out.push(MetricSample {
                        name: m.name.clone(),
                        description: m.description.clone(),
                        unit: m.unit.clone(),
                        kind,
                        attributes: attributes(attrs),
                        resource: Arc::clone(&resource),
                        point: MetricPoint {
                            time_unix_nano: time,
                            start_time_unix_nano: start,
                            value,
                        },
                    });
                };
                match data {
                    metric::Data::Gauge(g) => {
                        for p in g.data_points {
                            push(
                                MetricKind::Gauge,
                                p.attributes,
                                p.time_unix_nano,
                                p.start_time_unix_nano,
                                PointValue::Number {
                                    value: number(p.value),
                                },
                            );
                        }
                    }
                    metric::Data::Sum(s) => {
                        let kind = MetricKind::Sum {
                            monotonic: s.is_monotonic,
                            cumulative: cumulative(s.aggregation_temporality),
                        };
                        for p in s.data_points {
                            push(
                                kind,
                                p.attributes,
                                p.time_unix_nano,
                                p.start_time_unix_nano,
                                PointValue::Number {
                                    value: number(p.value),
                                },
                            );
                        }
                    }
                    metric::Data::Histogram(h) => {
                        let kind = MetricKind::Histogram {
                            cumulative: cumulative(h.aggregation_temporality),
                        };
                        for p in h.data_points {
                            push(
                                kind,
                                p.attributes,
                                p.time_unix_nano,
                                p.start_time_unix_nano,
                                PointValue::Histogram {
                                    count: p.count,
                                    sum: p.sum.unwrap_or(0.0),
                                    min: p.min,
                                    max: p.max,
                                    bounds: p.explicit_bounds,
                                    bucket_counts: p.bucket_counts,
                                },
                            );
                        }
                    }
                    metric::Data::ExponentialHistogram(h) => {
                        let kind = MetricKind::ExponentialHistogram {
                            cumulative: cumulative(h.aggregation_temporality),
                        };
                        for p in h.data_points {
                            let (po, pc) = p
                                .positive
                                .map_or((0, Vec::new()), |b| (b.offset, b.bucket_counts));
                            let (no, nc) = p
                                .negative
                                .map_or((0, Vec::new()), |b| (b.offset, b.bucket_counts));
                            push(
                                kind,
                                p.attributes,
                                p.time_unix_nano,
                                p.start_time_unix_nano,
                                PointValue::ExponentialHistogram {
                                    count: p.count,
                                    sum: p.sum.unwrap_or(0.0),
                                    min: p.min,
                                    max: p.max,
                                    scale: p.scale,
                                    zero_count: p.zero_count,
                                    positive_offset: po,
                                    positive_counts: pc,
                                    negative_offset: no,
                                    negative_counts: nc,
                                },
                            );
                        }
                    }
                    metric::Data::Summary(s) => {
                        for p in s.data_points {
                            push(
                                MetricKind::Summary,
                                p.attributes,
                                p.time_unix_nano,
                                p.start_time_unix_nano,
                                PointValue::Summary {
                                    count: p.count,
                                    sum: p.sum,
                                    quantiles: p
                                        .quantile_values
                                        .into_iter()
                                        .map(|q| (q.quantile, q.value))
                                        .collect(),
                                },
                            );
                        }
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn tracing_call_site_names_are_not_event_names() {
        assert!(super::is_tracing_default_name("event src/main.rs:42"));
        assert!(!super::is_tracing_default_name("payment.charged"));
        assert!(!super::is_tracing_default_name("event src/main.rs:"));
    }
}
