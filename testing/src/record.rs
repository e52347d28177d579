//! What a capture holds: owned, test-friendly copies of spans and log records.

use std::fmt;
use std::time::SystemTime;

use opentelemetry::logs::{AnyValue, Severity};
use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};
use opentelemetry::{Key, Value};
use opentelemetry_sdk::logs::SdkLogRecord;
use opentelemetry_sdk::trace::SpanData;

/// A span that ended while a capture was listening.
#[derive(Debug, Clone)]
pub struct CapturedSpan {
    /// The span name.
    pub name: String,
    /// Server, client, internal…
    pub kind: SpanKind,
    /// Unset, Ok or Error (with its description).
    pub status: Status,
    /// The trace it belongs to.
    pub trace_id: TraceId,
    /// Its own id.
    pub span_id: SpanId,
    /// The parent's id (`SpanId::INVALID` for a root).
    pub parent_span_id: SpanId,
    /// Attributes, in recording order.
    pub attributes: Vec<(Key, Value)>,
    /// Names of the span's events.
    pub events: Vec<String>,
    /// When it started.
    pub start_time: SystemTime,
    /// When it ended.
    pub end_time: SystemTime,
}

impl CapturedSpan {
    pub(crate) fn from_data(data: &SpanData) -> Self {
        Self {
            name: data.name.to_string(),
            kind: data.span_kind.clone(),
            status: data.status.clone(),
            trace_id: data.span_context.trace_id(),
            span_id: data.span_context.span_id(),
            parent_span_id: data.parent_span_id,
            attributes: data
                .attributes
                .iter()
                .map(|kv| (kv.key.clone(), kv.value.clone()))
                .collect(),
            events: data.events.iter().map(|e| e.name.to_string()).collect(),
            start_time: data.start_time,
            end_time: data.end_time,
        }
    }

    /// The value of attribute `key`, if recorded.
    pub fn attr(&self, key: &str) -> Option<&Value> {
        self.attributes
            .iter()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v)
    }

    /// How long the span lasted.
    pub fn duration(&self) -> std::time::Duration {
        self.end_time
            .duration_since(self.start_time)
            .unwrap_or_default()
    }

    /// Whether the span's status is Error.
    pub fn is_error(&self) -> bool {
        matches!(self.status, Status::Error { .. })
    }
}

impl fmt::Display for CapturedSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "span {:?} kind={:?}", self.name, self.kind)?;
        match &self.status {
            Status::Unset => {}
            Status::Ok => write!(f, " status=ok")?,
            Status::Error { description } => write!(f, " status=error({description})")?,
        }
        for (k, v) in self
            .attributes
            .iter()
            .filter(|(k, _)| !k.as_str().starts_with("code.") && !k.as_str().starts_with("thread."))
        {
            write!(f, " {k}={v}")?;
        }
        Ok(())
    }
}

/// A log record emitted while a capture was listening.
#[derive(Debug, Clone)]
pub struct CapturedLog {
    /// The severity, when set.
    pub severity: Option<Severity>,
    /// The body as text.
    pub body: String,
    /// The `tracing` target.
    pub target: String,
    /// The event name, when set (`event.name`).
    pub event_name: Option<String>,
    /// Attributes as text, in recording order.
    pub attributes: Vec<(String, String)>,
    /// The trace the record was emitted in.
    pub trace_id: Option<TraceId>,
    /// The span the record was emitted in.
    pub span_id: Option<SpanId>,
}

impl CapturedLog {
    pub(crate) fn from_record(record: &SdkLogRecord) -> Self {
        let tc = record.trace_context();
        Self {
            severity: record.severity_number(),
            body: record.body().map(text).unwrap_or_default(),
            target: record.target().map(|t| t.to_string()).unwrap_or_default(),
            event_name: record.event_name().map(str::to_owned),
            attributes: record
                .attributes_iter()
                .map(|(k, v)| (k.to_string(), text(v)))
                .collect(),
            trace_id: tc.map(|t| t.trace_id),
            span_id: tc.map(|t| t.span_id),
        }
    }

    /// The value of attribute `key` as text, if recorded.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl fmt::Display for CapturedLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = self.severity.map(|s| s.name()).unwrap_or("-");
        write!(f, "log {severity} {:?}", self.body)?;
        for (k, v) in &self.attributes {
            write!(f, " {k}={v}")?;
        }
        Ok(())
    }
}

fn text(v: &AnyValue) -> String {
    match v {
        AnyValue::String(s) => s.to_string(),
        AnyValue::Int(i) => i.to_string(),
        AnyValue::Double(d) => d.to_string(),
        AnyValue::Boolean(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

/// A span or a log record, in the order they were captured.
#[derive(Debug, Clone)]
pub enum Item {
    /// A span, captured when it ended.
    Span(CapturedSpan),
    /// A log record, captured when it was emitted.
    Log(CapturedLog),
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Span(s) => s.fmt(f),
            Item::Log(l) => l.fmt(f),
        }
    }
}
