//! Small builders of model items for the hub's tests.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::sync::Arc;

use beacon_hub::model::{
    Attributes, LogRecord, MetricKind, MetricPoint, MetricSample, PointValue, Resource, Span,
    SpanId, SpanKind, Status, TraceId, Value,
};

pub fn resource(service: &str) -> Arc<Resource> {
    Arc::new(Resource::for_service(service))
}

pub fn span(resource: &Arc<Resource>, trace: u64, span: u64, name: &str) -> Span {
    Span {
        trace_id: TraceId(u128::from(trace + 1).to_be_bytes()),
        span_id: SpanId((span + 1).to_be_bytes()),
        parent_span_id: None,
        name: name.into(),
        kind: SpanKind::Internal,
        start_time_unix_nano: trace * 10,
        end_time_unix_nano: trace * 10 + 5,
        status: Status::default(),
        attributes: Attributes(vec![("seq".into(), Value::Int(span as i64))]),
        events: vec![],
        links: vec![],
        resource: Arc::clone(resource),
        scope: Arc::default(),
    }
}

pub fn log(resource: &Arc<Resource>, seq: u64, event: Option<&str>) -> LogRecord {
    LogRecord {
        time_unix_nano: seq,
        severity_number: 9,
        severity_text: Some("INFO".into()),
        body: Some(Value::String(format!("record number {seq}"))),
        attributes: Attributes(vec![("seq".into(), Value::Int(seq as i64))]),
        event_name: event.map(str::to_owned),
        trace_id: None,
        span_id: None,
        resource: Arc::clone(resource),
        scope: Arc::default(),
    }
}

pub fn gauge(
    resource: &Arc<Resource>,
    name: &str,
    series: u64,
    time: u64,
    value: f64,
) -> MetricSample {
    MetricSample {
        name: name.into(),
        description: String::new(),
        unit: "1".into(),
        kind: MetricKind::Gauge,
        attributes: Attributes(vec![("series".into(), Value::Int(series as i64))]),
        resource: Arc::clone(resource),
        point: MetricPoint {
            time_unix_nano: time,
            start_time_unix_nano: 0,
            value: PointValue::Number { value },
        },
    }
}
