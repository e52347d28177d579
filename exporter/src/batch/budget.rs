//! A byte budget beside the item count: a queue of 2,048 spans is small until each carries a
//! 300 KB attribute. Each queued item holds a [`Ticket`] for its estimated size, returned when
//! the item is dropped — exported, given up or discarded — wherever that happens.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use opentelemetry::logs::AnyValue;
use opentelemetry::{Array, KeyValue, Value};
use opentelemetry_sdk::logs::SdkLogRecord;
use opentelemetry_sdk::trace::SpanData;

/// Bytes held by the items of one pipeline, against a limit.
#[derive(Debug)]
pub(crate) struct ByteBudget {
    used: AtomicUsize,
    limit: usize,
}

impl ByteBudget {
    pub(crate) fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            used: AtomicUsize::new(0),
            limit,
        })
    }

    /// Takes `bytes` from the budget, or `None` when they do not fit.
    pub(crate) fn reserve(self: &Arc<Self>, bytes: usize) -> Option<Ticket> {
        let mut used = self.used.load(Ordering::Relaxed);
        loop {
            let next = used.checked_add(bytes).filter(|n| *n <= self.limit)?;
            match self
                .used
                .compare_exchange_weak(used, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => {
                    return Some(Ticket {
                        budget: Arc::clone(self),
                        bytes,
                    })
                }
                Err(now) => used = now,
            }
        }
    }

    /// Bytes held now.
    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
}

/// A share of a [`ByteBudget`], given back when dropped.
#[derive(Debug)]
pub(crate) struct Ticket {
    budget: Arc<ByteBudget>,
    bytes: usize,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

/// An item and its share of the budget.
#[derive(Debug)]
pub(crate) struct Ticketed<T> {
    pub(crate) item: T,
    /// `None` for an item read back from the disk spool: the worker replays a few batches at a
    /// time, so those are bounded by that, not by the budget of the process that queued them.
    pub(crate) _ticket: Option<Ticket>,
}

impl<T> Ticketed<T> {
    /// An item read back from the disk spool.
    pub(crate) fn recovered(item: T) -> Self {
        Self {
            item,
            _ticket: None,
        }
    }
}

/// Heap and inline bytes of a span, estimated from what varies: names, attribute keys and
/// values, events, links and the status text, plus the fixed size of the struct.
pub fn span_bytes(span: &SpanData) -> usize {
    let mut n = std::mem::size_of::<SpanData>() + span.name.len();
    n += attributes_bytes(&span.attributes);
    for event in span.events.iter() {
        n += std::mem::size_of_val(event) + event.name.len() + attributes_bytes(&event.attributes);
    }
    for link in span.links.iter() {
        n += std::mem::size_of_val(link) + attributes_bytes(&link.attributes);
    }
    if let opentelemetry::trace::Status::Error { description } = &span.status {
        n += description.len();
    }
    n
}

/// Bytes of a log record: body, attributes and the fixed size of the struct.
pub(crate) fn log_bytes(record: &SdkLogRecord) -> usize {
    let mut n = std::mem::size_of::<SdkLogRecord>();
    if let Some(body) = record.body() {
        n += any_value_bytes(body);
    }
    for (key, value) in record.attributes_iter() {
        n += key.as_str().len() + any_value_bytes(value);
    }
    n
}

fn attributes_bytes(attributes: &[KeyValue]) -> usize {
    attributes
        .iter()
        .map(|kv| std::mem::size_of::<KeyValue>() + kv.key.as_str().len() + value_bytes(&kv.value))
        .sum()
}

fn value_bytes(value: &Value) -> usize {
    match value {
        Value::String(s) => s.as_str().len(),
        Value::Array(Array::String(items)) => items
            .iter()
            .map(|s| std::mem::size_of_val(s) + s.as_str().len())
            .sum(),
        Value::Array(Array::I64(v)) => v.len() * 8,
        Value::Array(Array::F64(v)) => v.len() * 8,
        Value::Array(Array::Bool(v)) => v.len(),
        _ => 0,
    }
}

fn any_value_bytes(value: &AnyValue) -> usize {
    match value {
        AnyValue::String(s) => s.as_str().len(),
        AnyValue::Bytes(b) => b.len(),
        AnyValue::ListAny(items) => items
            .iter()
            .map(|v| std::mem::size_of::<AnyValue>() + any_value_bytes(v))
            .sum(),
        AnyValue::Map(map) => map
            .iter()
            .map(|(k, v)| k.as_str().len() + std::mem::size_of::<AnyValue>() + any_value_bytes(v))
            .sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_come_back_when_items_are_dropped_and_the_limit_holds() {
        let budget = ByteBudget::new(100);
        let a = budget.reserve(60);
        assert!(a.is_some());
        assert!(budget.reserve(60).is_none(), "over the limit");
        let b = budget.reserve(40);
        assert!(b.is_some());
        assert_eq!(budget.used(), 100);
        drop(a);
        assert_eq!(budget.used(), 40);
        drop(b);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn estimates_grow_with_what_a_caller_can_make_big() {
        use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _};
        use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};

        let big = "x".repeat(100_000);
        // Logs: body and attributes.
        let provider = opentelemetry_sdk::logs::SdkLoggerProvider::builder().build();
        let logger = provider.logger("t");
        let mut small = logger.create_log_record();
        small.set_body("hi".into());
        let mut large = logger.create_log_record();
        large.set_body(big.clone().into());
        large.add_attribute("user_agent.original", big.clone());
        let (small, large) = (log_bytes(&small), log_bytes(&large));
        assert!(large >= small + 200_000, "{small} vs {large}");

        // Spans: attributes, events and the status text.
        #[derive(Debug, Clone, Default)]
        struct Keep(Arc<std::sync::Mutex<Vec<SpanData>>>);
        impl opentelemetry_sdk::trace::SpanExporter for Keep {
            async fn export(
                &self,
                batch: Vec<SpanData>,
            ) -> opentelemetry_sdk::error::OTelSdkResult {
                if let Ok(mut kept) = self.0.lock() {
                    kept.extend(batch);
                }
                Ok(())
            }
        }
        let exporter = Keep::default();
        let tracer_provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let mut span = tracer_provider.tracer("t").start("s");
        span.set_attribute(KeyValue::new("url.query", big.clone()));
        span.add_event("e", vec![KeyValue::new("k", big.clone())]);
        span.set_status(opentelemetry::trace::Status::error(big.clone()));
        span.end();
        let spans = exporter.0.lock().map(|v| v.clone()).unwrap_or_default();
        assert!(
            spans.first().is_some_and(|s| span_bytes(s) >= 300_000),
            "{}",
            spans.len()
        );
    }
}
