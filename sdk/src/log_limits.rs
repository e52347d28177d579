//! Log-record attribute limits (`OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT`,
//! `OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT`), applied as the `tracing` bridge adds each
//! attribute.
//!
//! `opentelemetry_sdk` 0.33 has no log limits and its records cannot be edited after the
//! fact, so Beacon hands the bridge a logger whose records enforce them on the way in. Two
//! more corrections happen there, for records of plain `tracing` events: the name `tracing`
//! makes up for an event that has none (`event src/main.rs:12`) is not an event name (only
//! named events and domain events carry `EventName`), and a record the bridge leaves without
//! a `Timestamp` gets the moment it was emitted. The rest goes to the SDK unchanged.

use std::borrow::Cow;
use std::time::SystemTime;

use opentelemetry::logs::{AnyValue, LogRecord, Logger, LoggerProvider, Severity};
use opentelemetry::trace::{SpanId, TraceFlags, TraceId};
use opentelemetry::{InstrumentationScope, Key};
use opentelemetry_sdk::logs::{SdkLogRecord, SdkLogger, SdkLoggerProvider};

#[derive(Clone, Copy, Debug)]
pub(crate) struct LogLimits {
    pub(crate) attributes: usize,
    pub(crate) value_length: Option<usize>,
}

/// The provider the bridge is given.
#[derive(Clone, Debug)]
pub(crate) struct LimitedProvider {
    inner: SdkLoggerProvider,
    limits: LogLimits,
}

impl LimitedProvider {
    pub(crate) fn new(inner: SdkLoggerProvider, limits: LogLimits) -> Self {
        Self { inner, limits }
    }
}

impl LoggerProvider for LimitedProvider {
    type Logger = LimitedLogger;

    fn logger_with_scope(&self, scope: InstrumentationScope) -> LimitedLogger {
        LimitedLogger {
            inner: self.inner.logger_with_scope(scope),
            limits: self.limits,
        }
    }
}

#[derive(Debug)]
pub(crate) struct LimitedLogger {
    inner: SdkLogger,
    limits: LogLimits,
}

impl Logger for LimitedLogger {
    type LogRecord = LimitedRecord;

    fn create_log_record(&self) -> LimitedRecord {
        LimitedRecord {
            inner: self.inner.create_log_record(),
            limits: self.limits,
            attributes: 0,
        }
    }

    fn emit(&self, mut record: LimitedRecord) {
        if record.inner.timestamp().is_none() {
            let now = record
                .inner
                .observed_timestamp()
                .unwrap_or_else(SystemTime::now);
            record.inner.set_timestamp(now);
        }
        self.inner.emit(record.inner);
    }

    fn event_enabled(&self, level: Severity, target: &str, name: Option<&str>) -> bool {
        self.inner.event_enabled(level, target, name)
    }
}

/// A record that keeps at most `limits.attributes` attributes, each string value cut to
/// `limits.value_length` characters.
#[derive(Debug)]
pub(crate) struct LimitedRecord {
    inner: SdkLogRecord,
    limits: LogLimits,
    attributes: usize,
}

fn cut(value: AnyValue, limit: Option<usize>) -> AnyValue {
    let Some(limit) = limit else { return value };
    match value {
        AnyValue::String(s) => match beacon_exporter::batch::truncated(s.as_str(), limit) {
            Some(cut) => AnyValue::String(cut.into()),
            None => AnyValue::String(s),
        },
        AnyValue::ListAny(list) => AnyValue::ListAny(Box::new(
            list.into_iter().map(|v| cut(v, Some(limit))).collect(),
        )),
        other => other,
    }
}

/// Whether `name` is the one `tracing` gives an event that was not named:
/// `event {file}:{line}`.
fn made_up_event_name(name: &str) -> bool {
    name.strip_prefix("event ")
        .and_then(|rest| rest.rsplit_once(':'))
        .is_some_and(|(_, line)| !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()))
}

impl LogRecord for LimitedRecord {
    fn set_event_name(&mut self, name: &'static str) {
        if !made_up_event_name(name) {
            self.inner.set_event_name(name);
        }
    }
    fn set_target<T>(&mut self, target: T)
    where
        T: Into<Cow<'static, str>>,
    {
        self.inner.set_target(target);
    }
    fn set_timestamp(&mut self, timestamp: SystemTime) {
        self.inner.set_timestamp(timestamp);
    }
    fn set_observed_timestamp(&mut self, timestamp: SystemTime) {
        self.inner.set_observed_timestamp(timestamp);
    }
    fn set_severity_text(&mut self, text: &'static str) {
        self.inner.set_severity_text(text);
    }
    fn set_severity_number(&mut self, number: Severity) {
        self.inner.set_severity_number(number);
    }
    fn set_body(&mut self, body: AnyValue) {
        self.inner.set_body(body);
    }
    fn add_attributes<I, K, V>(&mut self, attributes: I)
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<Key>,
        V: Into<AnyValue>,
    {
        for (k, v) in attributes {
            self.add_attribute(k, v);
        }
    }
    fn add_attribute<K, V>(&mut self, key: K, value: V)
    where
        K: Into<Key>,
        V: Into<AnyValue>,
    {
        if self.attributes >= self.limits.attributes {
            return;
        }
        self.attributes += 1;
        self.inner
            .add_attribute(key, cut(value.into(), self.limits.value_length));
    }
    fn set_trace_context(
        &mut self,
        trace_id: TraceId,
        span_id: SpanId,
        trace_flags: Option<TraceFlags>,
    ) {
        self.inner.set_trace_context(trace_id, span_id, trace_flags);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_cut_on_character_boundaries() {
        let v = cut(AnyValue::from("héllo wörld"), Some(4));
        assert_eq!(v, AnyValue::from("héll"));
        assert_eq!(cut(AnyValue::from("ok"), Some(4)), AnyValue::from("ok"));
        assert_eq!(cut(AnyValue::Int(123_456), Some(2)), AnyValue::Int(123_456));
    }

    #[test]
    fn only_the_names_tracing_makes_up_are_dropped() {
        assert!(made_up_event_name("event examples/quickstart.rs:68"));
        assert!(made_up_event_name("event src/main.rs:1"));
        assert!(!made_up_event_name("checkout.completed"));
        assert!(!made_up_event_name("event"));
        assert!(!made_up_event_name("event src/main.rs:"));
        assert!(!made_up_event_name("event src/main.rs:12a"));
    }
}
