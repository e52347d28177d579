//! Query parameters and results.
//!
//! ```
//! use beacon_hub::query::TraceQuery;
//! use std::time::Duration;
//!
//! let q = TraceQuery {
//!     service: Some("checkout".into()),
//!     attributes: vec![("http.route".into(), "/orders/{id}".into())],
//!     min_duration: Some(Duration::from_millis(250)),
//!     ..TraceQuery::default()
//! };
//! assert_eq!(q.limit(), 20);
//! ```

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::model::{Attributes, LogRecord, MetricKind, MetricPoint, Span, StatusCode, TraceId};

/// The most results one query returns, whatever its limit says.
pub const MAX_LIMIT: usize = 1000;

/// A trace search. A trace matches when its first span started within `start..=end` and
/// **one** of its spans satisfies every other filter given (service, span name, all
/// attributes, minimum duration, status), as in Jaeger's search. Results are newest first
/// (by when the hub first saw the trace).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraceQuery {
    /// The span's `service.name`.
    pub service: Option<String>,
    /// The span's name.
    pub span_name: Option<String>,
    /// `(key, value)` pairs the span (or its resource) must all carry; values compare as
    /// text ([`crate::model::Value::to_index_string`]).
    pub attributes: Vec<(String, String)>,
    /// The span lasted at least this long.
    pub min_duration: Option<Duration>,
    /// The span's status code.
    pub status: Option<StatusCode>,
    /// The trace started at or after this (Unix nanoseconds).
    pub start: Option<u64>,
    /// The trace started at or before this (Unix nanoseconds).
    pub end: Option<u64>,
    /// At most this many traces (default 20, at most [`MAX_LIMIT`]).
    pub limit: Option<usize>,
}

impl TraceQuery {
    /// The effective limit.
    #[must_use]
    pub fn limit(&self) -> usize {
        self.limit.unwrap_or(20).min(MAX_LIMIT)
    }

    pub(crate) fn span_matches(&self, s: &Span) -> bool {
        self.service.as_deref().is_none_or(|v| s.service() == v)
            && self.span_name.as_deref().is_none_or(|v| s.name == v)
            && self.attributes.iter().all(|(k, v)| s.has_attribute(k, v))
            && self
                .min_duration
                .is_none_or(|d| u128::from(s.duration_nanos()) >= d.as_nanos())
            && self.status.is_none_or(|c| s.status.code == c)
    }
}

/// One trace in search results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceSummary {
    /// The trace id.
    pub trace_id: TraceId,
    /// The root span's name, or the earliest span's when the root has not arrived.
    pub root_name: String,
    /// The root's (or earliest span's) service.
    pub root_service: String,
    /// Every service with a span in the trace, sorted.
    pub services: Vec<String>,
    /// The earliest span start (Unix nanoseconds).
    pub start_time_unix_nano: u64,
    /// Latest span end minus earliest start.
    pub duration_nanos: u64,
    /// Spans stored.
    pub span_count: usize,
    /// Spans with status error.
    pub error_count: usize,
}

/// A trace with everything correlated to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceView {
    /// The trace id.
    pub trace_id: TraceId,
    /// Its spans, by start time.
    pub spans: Vec<Arc<Span>>,
    /// Log records carrying its trace id, oldest first.
    pub logs: Vec<Arc<LogRecord>>,
    /// Domain events carrying its trace id, oldest first.
    pub events: Vec<Arc<LogRecord>>,
}

/// A log (or domain event) search: every filter given must hold. Results are newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogQuery {
    /// The record's `service.name`.
    pub service: Option<String>,
    /// At least this severity number (1–24: 5 DEBUG, 9 INFO, 13 WARN, 17 ERROR, 21 FATAL).
    pub min_severity: Option<u8>,
    /// Every word of this text appears as a word in the body (case-insensitive; words are
    /// runs of letters and digits, the first 64 of a body count).
    pub text: Option<String>,
    /// The trace the record was recorded in.
    pub trace_id: Option<TraceId>,
    /// The domain event name.
    pub event_name: Option<String>,
    /// `(key, value)` pairs the record (or its resource) must all carry.
    pub attributes: Vec<(String, String)>,
    /// At or after this time (Unix nanoseconds).
    pub start: Option<u64>,
    /// At or before this time (Unix nanoseconds).
    pub end: Option<u64>,
    /// At most this many records (default 100, at most [`MAX_LIMIT`]).
    pub limit: Option<usize>,
}

impl LogQuery {
    /// The effective limit.
    #[must_use]
    pub fn limit(&self) -> usize {
        self.limit.unwrap_or(100).min(MAX_LIMIT)
    }
}

/// A metric name the hub holds series for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricInfo {
    /// The name.
    pub name: String,
    /// Its unit.
    pub unit: String,
    /// Its description.
    pub description: String,
    /// The instrument kind.
    pub kind: MetricKind,
    /// Services reporting it, sorted.
    pub services: Vec<String>,
    /// Series stored under the name.
    pub series: usize,
}

/// Which series of one metric, over which window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeriesQuery {
    /// The metric name.
    pub name: String,
    /// Only this service's series.
    pub service: Option<String>,
    /// Only series carrying all these attributes.
    pub attributes: Vec<(String, String)>,
    /// Points at or after this (Unix nanoseconds).
    pub start: Option<u64>,
    /// Points at or before this (Unix nanoseconds).
    pub end: Option<u64>,
}

/// One metric series and its points in the window, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesView {
    /// The service reporting it.
    pub service: String,
    /// The metric name.
    pub name: String,
    /// Its unit.
    pub unit: String,
    /// The instrument kind.
    pub kind: MetricKind,
    /// The series' attributes.
    pub attributes: Attributes,
    /// Points, oldest first.
    pub points: Vec<MetricPoint>,
}

/// A service the hub holds telemetry from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceInfo {
    /// Its `service.name`.
    pub name: String,
    /// Traces with at least one of its spans.
    pub traces: usize,
    /// Its log records.
    pub logs: usize,
    /// Its domain events.
    pub events: usize,
    /// Its metric series.
    pub series: usize,
}
