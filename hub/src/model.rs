//! The hub's data model: what a stored span, log record, domain event and metric point hold.
//!
//! Everything the hub keeps is converted into these plain types once, at ingestion, from
//! OTLP (the receiver) or from the OpenTelemetry SDK (in-process exporters), so queries and
//! the live stream never depend on where an item came from. All of them serialize to JSON in
//! the shape the HTTP API returns: ids as lowercase hex, times as Unix nanoseconds, attributes
//! as a JSON object.
//!
//! ```
//! use beacon_hub::model::{TraceId, Value};
//!
//! let id: TraceId = "4bf92f3577b34da6a3ce929d0e0e4736".parse()?;
//! assert_eq!(id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
//! assert_eq!(Value::Int(200).to_index_string().as_deref(), Some("200"));
//! # Ok::<(), beacon_hub::model::ParseIdError>(())
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// A hex id did not have the expected length or contained a non-hex character.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected} lowercase or uppercase hex digits, got {got:?}")]
pub struct ParseIdError {
    expected: usize,
    got: String,
}

fn parse_hex<const N: usize>(s: &str) -> Result<[u8; N], ParseIdError> {
    let err = || ParseIdError {
        expected: N * 2,
        got: s.chars().take(64).collect(),
    };
    if s.len() != N * 2 {
        return Err(err());
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        let pair = s.get(i * 2..i * 2 + 2).ok_or_else(err)?;
        *byte = u8::from_str_radix(pair, 16).map_err(|_| err())?;
    }
    Ok(out)
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $len:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// The id from raw bytes, or `None` when `bytes` is not exactly the right length
            /// or is all zeroes (the W3C and OTLP "invalid" id).
            #[must_use]
            pub fn from_slice(bytes: &[u8]) -> Option<Self> {
                let arr: [u8; $len] = bytes.try_into().ok()?;
                (arr != [0u8; $len]).then_some(Self(arr))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_hex(f, &self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_hex(f, &self.0)
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_hex::<$len>(s).map(Self)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    };
}

id_type!(
    /// A W3C / OpenTelemetry trace id (16 bytes, shown as 32 hex digits).
    TraceId,
    16
);
id_type!(
    /// A span id (8 bytes, shown as 16 hex digits).
    SpanId,
    8
);

/// An attribute or body value, as OTLP's `AnyValue`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// A floating point number.
    Double(f64),
    /// A string.
    String(String),
    /// Raw bytes (serialized as hex).
    Bytes(Vec<u8>),
    /// An array of values.
    Array(Vec<Value>),
    /// A list of key/value pairs (serialized as a JSON object).
    Map(Vec<(String, Value)>),
}

impl Value {
    /// The value's text as attribute filters and indexes compare it: strings as they are,
    /// numbers and booleans in their usual decimal/`true`/`false` form; `None` for bytes,
    /// arrays and maps, which are never indexed nor matched by equality.
    #[must_use]
    pub fn to_index_string(&self) -> Option<String> {
        match self {
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Double(d) => Some(d.to_string()),
            Value::String(s) => Some(s.clone()),
            Value::Bytes(_) | Value::Array(_) | Value::Map(_) => None,
        }
    }

    /// Whether this value's [`Value::to_index_string`] equals `text`, without allocating for
    /// strings.
    #[must_use]
    pub fn matches_text(&self, text: &str) -> bool {
        match self {
            Value::String(s) => s == text,
            other => other.to_index_string().is_some_and(|s| s == text),
        }
    }

    /// The value as display text: strings unquoted, everything else in JSON form.
    #[must_use]
    pub fn to_display_string(&self) -> String {
        match self {
            Value::String(s) => s.clone(),
            other => {
                let mut out = String::new();
                other.write_json_like(&mut out);
                out
            }
        }
    }

    fn write_json_like(&self, out: &mut String) {
        use std::fmt::Write as _;
        match self {
            Value::Bool(b) => {
                let _ = write!(out, "{b}");
            }
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Double(d) => {
                let _ = write!(out, "{d}");
            }
            Value::String(s) => {
                let _ = write!(out, "{s:?}");
            }
            Value::Bytes(b) => {
                out.push('"');
                for byte in b {
                    let _ = write!(out, "{byte:02x}");
                }
                out.push('"');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_json_like(out);
                }
                out.push(']');
            }
            Value::Map(items) => {
                out.push('{');
                for (i, (k, v)) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{k:?}:");
                    v.write_json_like(out);
                }
                out.push('}');
            }
        }
    }

    /// Approximate heap bytes this value holds, for the store's memory accounting.
    #[must_use]
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Bool(_) | Value::Int(_) | Value::Double(_) => 0,
            Value::String(s) => s.capacity(),
            Value::Bytes(b) => b.capacity(),
            Value::Array(items) => items
                .iter()
                .map(|v| std::mem::size_of::<Value>() + v.heap_size())
                .sum(),
            Value::Map(items) => items
                .iter()
                .map(|(k, v)| std::mem::size_of::<(String, Value)>() + k.capacity() + v.heap_size())
                .sum(),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Double(d) => s.serialize_f64(*d),
            Value::String(v) => s.serialize_str(v),
            Value::Bytes(b) => s.collect_str(&HexBytes(b)),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Map(items) => {
                let mut map = s.serialize_map(Some(items.len()))?;
                for (k, v) in items {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

struct HexBytes<'a>(&'a [u8]);

impl fmt::Display for HexBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, self.0)
    }
}

/// Attributes in the order they were recorded; serialized as a JSON object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attributes(pub Vec<(String, Value)>);

impl Attributes {
    /// The value of `key`, if present.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Whether `key` is present with a value whose text is `value`.
    #[must_use]
    pub fn has(&self, key: &str, value: &str) -> bool {
        self.0
            .iter()
            .any(|(k, v)| k == key && v.matches_text(value))
    }

    /// Iterates over the pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Approximate heap bytes, for memory accounting.
    #[must_use]
    pub fn heap_size(&self) -> usize {
        self.0.capacity() * std::mem::size_of::<(String, Value)>()
            + self
                .0
                .iter()
                .map(|(k, v)| k.capacity() + v.heap_size())
                .sum::<usize>()
    }
}

impl Serialize for Attributes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// The entity that produced telemetry: its `service.name` and all resource attributes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resource {
    /// `service.name`, or `unknown_service` when the sender did not set one (the SDK spec's
    /// default).
    pub service: String,
    /// Every resource attribute, `service.name` included.
    pub attributes: Attributes,
}

impl Resource {
    /// The resource whose service is `service` and which holds only `service.name`.
    #[must_use]
    pub fn for_service(service: impl Into<String>) -> Self {
        let service = service.into();
        Self {
            attributes: Attributes(vec![(
                "service.name".to_owned(),
                Value::String(service.clone()),
            )]),
            service,
        }
    }
}

/// The instrumentation scope (library) that produced telemetry.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Scope {
    /// The scope's name (a crate, module or `tracing` target).
    pub name: String,
    /// Its version, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// A span's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SpanKind {
    /// Not given (OTLP `SPAN_KIND_UNSPECIFIED`).
    #[default]
    Unspecified,
    /// Internal operation.
    Internal,
    /// Server side of a request.
    Server,
    /// Client side of a request.
    Client,
    /// Producer of a message.
    Producer,
    /// Consumer of a message.
    Consumer,
}

/// A span status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum StatusCode {
    /// Not set.
    #[default]
    Unset,
    /// Explicitly OK.
    Ok,
    /// An error.
    Error,
}

impl FromStr for StatusCode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "unset" => Ok(Self::Unset),
            "ok" => Ok(Self::Ok),
            "error" => Ok(Self::Error),
            _ => Err(format!("status must be unset, ok or error, not {s:?}")),
        }
    }
}

/// A span's status.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Status {
    /// The code.
    pub code: StatusCode,
    /// The description, for errors.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// An event recorded on a span.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpanEvent {
    /// When it happened (Unix nanoseconds).
    pub time_unix_nano: u64,
    /// Its name (`exception`, a domain event's name…).
    pub name: String,
    /// Its attributes.
    pub attributes: Attributes,
}

/// A link from a span to another span.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    /// The linked span's trace.
    pub trace_id: TraceId,
    /// The linked span.
    pub span_id: SpanId,
    /// The link's attributes.
    pub attributes: Attributes,
}

/// A finished span.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Span {
    /// Its trace.
    pub trace_id: TraceId,
    /// Its id.
    pub span_id: SpanId,
    /// Its parent, `None` for a root span.
    pub parent_span_id: Option<SpanId>,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: SpanKind,
    /// Start (Unix nanoseconds).
    pub start_time_unix_nano: u64,
    /// End (Unix nanoseconds).
    pub end_time_unix_nano: u64,
    /// Its status.
    pub status: Status,
    /// Its attributes.
    pub attributes: Attributes,
    /// Its events.
    pub events: Vec<SpanEvent>,
    /// Its links.
    pub links: Vec<Link>,
    /// The resource (service) that produced it.
    pub resource: Arc<Resource>,
    /// The instrumentation scope that produced it.
    pub scope: Arc<Scope>,
}

impl Span {
    /// Its service (`resource.service`).
    #[must_use]
    pub fn service(&self) -> &str {
        &self.resource.service
    }

    /// End minus start, zero when the clock went backwards.
    #[must_use]
    pub fn duration_nanos(&self) -> u64 {
        self.end_time_unix_nano
            .saturating_sub(self.start_time_unix_nano)
    }

    /// Whether the span or its resource has attribute `key` with text `value`.
    #[must_use]
    pub fn has_attribute(&self, key: &str, value: &str) -> bool {
        self.attributes.has(key, value) || self.resource.attributes.has(key, value)
    }

    /// Approximate bytes this span occupies (shared resource and scope not counted).
    #[must_use]
    pub fn size(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.name.capacity()
            + self.status.message.capacity()
            + self.attributes.heap_size()
            + self
                .events
                .iter()
                .map(|e| {
                    std::mem::size_of::<SpanEvent>() + e.name.capacity() + e.attributes.heap_size()
                })
                .sum::<usize>()
            + self
                .links
                .iter()
                .map(|l| std::mem::size_of::<Link>() + l.attributes.heap_size())
                .sum::<usize>()
    }
}

/// A log record; with [`LogRecord::event_name`] set, a domain event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogRecord {
    /// When it happened (Unix nanoseconds; the observed time when the sender gave none).
    pub time_unix_nano: u64,
    /// Its severity number (1–24, 0 when not given), as OTLP's `SeverityNumber`.
    pub severity_number: u8,
    /// Its severity text (`INFO`, `WARN`…), when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity_text: Option<String>,
    /// Its body.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Its attributes.
    pub attributes: Attributes,
    /// The event name (OTLP `event_name`, or the `event.name` attribute), for domain events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_name: Option<String>,
    /// The trace it was recorded in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<TraceId>,
    /// The span it was recorded in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span_id: Option<SpanId>,
    /// The resource (service) that produced it.
    pub resource: Arc<Resource>,
    /// The instrumentation scope that produced it.
    pub scope: Arc<Scope>,
}

impl LogRecord {
    /// Its service (`resource.service`).
    #[must_use]
    pub fn service(&self) -> &str {
        &self.resource.service
    }

    /// The body as text (strings unquoted), empty when there is none.
    #[must_use]
    pub fn body_text(&self) -> String {
        self.body
            .as_ref()
            .map(Value::to_display_string)
            .unwrap_or_default()
    }

    /// Whether the record or its resource has attribute `key` with text `value`.
    #[must_use]
    pub fn has_attribute(&self, key: &str, value: &str) -> bool {
        self.attributes.has(key, value) || self.resource.attributes.has(key, value)
    }

    /// Approximate bytes this record occupies (shared resource and scope not counted).
    #[must_use]
    pub fn size(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.severity_text.as_ref().map_or(0, String::capacity)
            + self.body.as_ref().map_or(0, Value::heap_size)
            + self.attributes.heap_size()
            + self.event_name.as_ref().map_or(0, String::capacity)
    }
}

/// What kind of instrument a metric series comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum MetricKind {
    /// A gauge: each point is the latest value.
    Gauge,
    /// A sum (counter or up-down counter).
    Sum {
        /// Whether it only goes up (a counter).
        monotonic: bool,
        /// Whether points are cumulative (since start) or deltas (since the previous point).
        cumulative: bool,
    },
    /// An explicit-bucket histogram.
    Histogram {
        /// Whether points are cumulative or deltas.
        cumulative: bool,
    },
    /// An exponential histogram.
    ExponentialHistogram {
        /// Whether points are cumulative or deltas.
        cumulative: bool,
    },
    /// A summary (legacy, from other SDKs): quantiles computed by the sender.
    Summary,
}

/// The value of one metric point.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum PointValue {
    /// A gauge or sum value.
    Number {
        /// The value.
        value: f64,
    },
    /// An explicit-bucket histogram: `bucket_counts` has one more entry than `bounds`.
    Histogram {
        /// Number of measurements.
        count: u64,
        /// Their sum.
        sum: f64,
        /// Smallest measurement, when recorded.
        min: Option<f64>,
        /// Largest measurement, when recorded.
        max: Option<f64>,
        /// Upper bounds of the buckets (the last bucket is unbounded).
        bounds: Vec<f64>,
        /// Count in each bucket.
        bucket_counts: Vec<u64>,
    },
    /// An exponential histogram.
    ExponentialHistogram {
        /// Number of measurements.
        count: u64,
        /// Their sum.
        sum: f64,
        /// Smallest measurement, when recorded.
        min: Option<f64>,
        /// Largest measurement, when recorded.
        max: Option<f64>,
        /// The scale (base = 2^(2^-scale)).
        scale: i32,
        /// Measurements in the zero bucket.
        zero_count: u64,
        /// Index of the first positive bucket.
        positive_offset: i32,
        /// Positive bucket counts.
        positive_counts: Vec<u64>,
        /// Index of the first negative bucket.
        negative_offset: i32,
        /// Negative bucket counts.
        negative_counts: Vec<u64>,
    },
    /// A summary.
    Summary {
        /// Number of measurements.
        count: u64,
        /// Their sum.
        sum: f64,
        /// `(quantile, value)` pairs.
        quantiles: Vec<(f64, f64)>,
    },
}

impl PointValue {
    fn heap_size(&self) -> usize {
        match self {
            PointValue::Number { .. } => 0,
            PointValue::Histogram {
                bounds,
                bucket_counts,
                ..
            } => bounds.capacity() * 8 + bucket_counts.capacity() * 8,
            PointValue::ExponentialHistogram {
                positive_counts,
                negative_counts,
                ..
            } => (positive_counts.capacity() + negative_counts.capacity()) * 8,
            PointValue::Summary { quantiles, .. } => quantiles.capacity() * 16,
        }
    }
}

/// One point of a metric series (one per collection).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricPoint {
    /// When it was collected (Unix nanoseconds).
    pub time_unix_nano: u64,
    /// Start of the point's aggregation period, when given (cumulative and delta data).
    pub start_time_unix_nano: u64,
    /// The value.
    #[serde(flatten)]
    pub value: PointValue,
}

impl MetricPoint {
    /// Approximate bytes this point occupies.
    #[must_use]
    pub fn size(&self) -> usize {
        std::mem::size_of::<Self>() + self.value.heap_size()
    }
}

/// A metric point as it arrives, with the series it belongs to (what the live stream carries).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricSample {
    /// The metric's name.
    pub name: String,
    /// Its description.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Its unit (UCUM, as the instrument gave it).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub unit: String,
    /// The instrument kind.
    pub kind: MetricKind,
    /// The series' attributes.
    pub attributes: Attributes,
    /// The resource (service) that produced it.
    pub resource: Arc<Resource>,
    /// The point.
    pub point: MetricPoint,
}

impl MetricSample {
    /// Its service (`resource.service`).
    #[must_use]
    pub fn service(&self) -> &str {
        &self.resource.service
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_and_print_as_hex() {
        let id: SpanId = "00f067aa0ba902b7".parse().unwrap();
        assert_eq!(id.0, [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]);
        assert_eq!(id.to_string(), "00f067aa0ba902b7");
        assert!("00f067aa0ba902b".parse::<SpanId>().is_err());
        assert!("zzf067aa0ba902b7".parse::<SpanId>().is_err());
        assert_eq!(SpanId::from_slice(&[0; 8]), None);
    }

    #[test]
    fn values_serialize_as_plain_json() {
        let attrs = Attributes(vec![
            ("a".into(), Value::Int(1)),
            ("b".into(), Value::Array(vec![Value::Bool(true)])),
            ("c".into(), Value::Bytes(vec![0xab])),
        ]);
        assert_eq!(
            serde_json::to_string(&attrs).unwrap(),
            r#"{"a":1,"b":[true],"c":"ab"}"#
        );
        assert!(attrs.has("a", "1"));
        assert!(!attrs.has("b", "[true]"));
    }
}
