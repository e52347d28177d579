//! `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`: truncating long string values before export.

use opentelemetry::{KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::SpanData;

pub(super) fn truncate_span(span: &mut SpanData, limit: usize) {
    truncate_all(&mut span.attributes, limit);
    for event in span.events.events.iter_mut() {
        truncate_all(&mut event.attributes, limit);
    }
}

fn truncate_all(attributes: &mut [KeyValue], limit: usize) {
    for kv in attributes {
        truncate_value(&mut kv.value, limit);
    }
}

fn truncate_value(value: &mut Value, limit: usize) {
    match value {
        Value::String(s) => {
            if let Some(t) = truncated(s.as_str(), limit) {
                *s = StringValue::from(t);
            }
        }
        Value::Array(opentelemetry::Array::String(items)) => {
            for s in items.iter_mut() {
                if let Some(t) = truncated(s.as_str(), limit) {
                    *s = StringValue::from(t);
                }
            }
        }
        _ => {}
    }
}

/// The first `limit` characters of `s`, or `None` when it is short enough already.
pub fn truncated(s: &str, limit: usize) -> Option<String> {
    let (cut, _) = s.char_indices().nth(limit)?;
    Some(s[..cut].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_by_characters_not_bytes() {
        assert_eq!(truncated("héllo", 2).as_deref(), Some("hé"));
        assert_eq!(truncated("hi", 2), None);
        let mut v = Value::from("abcdef");
        truncate_value(&mut v, 3);
        assert_eq!(v.as_str(), "abc");
        let mut n = Value::from(12345_i64);
        truncate_value(&mut n, 1);
        assert_eq!(n, Value::from(12345_i64));
    }
}
