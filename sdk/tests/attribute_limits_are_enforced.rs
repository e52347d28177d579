//! The `OTEL_*` span and log-record limits are enforced on what reaches a real OTLP receiver:
//! attribute count and value length, events and links per span, with the dropped counts
//! reported.

mod support;

use std::time::Duration;

use beacon::otel::api::trace::{
    Link, Span as _, SpanContext, SpanId, TraceFlags, TraceId, TraceState, Tracer as _,
    TracerProvider as _,
};
use beacon::otel::api::KeyValue;
use support::{any_value, HttpReceiver};

#[test]
fn counts_lengths_events_and_links_are_capped_and_drops_reported() {
    let receiver = HttpReceiver::start();
    let telemetry = support::env_builder(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
        ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "4".to_owned()),
        ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "8".to_owned()),
        ("OTEL_SPAN_EVENT_COUNT_LIMIT", "2".to_owned()),
        ("OTEL_SPAN_LINK_COUNT_LIMIT", "1".to_owned()),
        ("OTEL_METRICS_EXPORTER", "none".to_owned()),
        ("OTEL_LOGS_EXPORTER", "none".to_owned()),
    ])
    .build()
    .expect("pipeline builds");
    let tracer = telemetry.tracer_provider().tracer("limits");
    let link = |n: u128| {
        Link::with_context(SpanContext::new(
            TraceId::from(n),
            SpanId::from(n as u64),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        ))
    };
    let mut span = tracer
        .span_builder("limited")
        .with_attributes((0..10).map(|i| KeyValue::new(format!("k{i}"), "0123456789abcdef")))
        .with_links(vec![link(1), link(2), link(3)])
        .start(&tracer);
    for i in 0..5 {
        span.add_event(format!("event {i}"), vec![]);
    }
    span.end();
    telemetry.shutdown().expect("clean shutdown");

    assert!(receiver.wait_for(Duration::from_secs(10), |r| r.spans().count() == 1));
    receiver.with(|r| {
        let s = r.spans().next().expect("the span");
        assert_eq!(s.attributes.len(), 4);
        assert_eq!(s.dropped_attributes_count, 6);
        for kv in &s.attributes {
            assert_eq!(any_value(kv.value.as_ref()), "01234567", "{}", kv.key);
        }
        assert_eq!((s.events.len(), s.dropped_events_count), (2, 3));
        assert_eq!((s.links.len(), s.dropped_links_count), (1, 2));
    });
}

#[test]
fn log_record_attributes_are_capped_in_count_and_length() {
    let receiver = HttpReceiver::start();
    let telemetry = support::env_builder(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
        ("OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT", "3".to_owned()),
        ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "8".to_owned()),
        ("OTEL_METRICS_EXPORTER", "none".to_owned()),
        ("OTEL_TRACES_EXPORTER", "none".to_owned()),
    ])
    .build()
    .expect("pipeline builds");
    tracing::dispatcher::with_default(&telemetry.dispatch(), || {
        tracing::info!(
            a = "0123456789abcdef",
            b = "ünïcödé-välüé",
            c = 42_i64,
            d = "dropped",
            e = "dropped too",
            "the body is not an attribute and is kept whole"
        );
    });
    telemetry.shutdown().expect("clean shutdown");
    assert!(receiver.wait_for(Duration::from_secs(10), |r| r.log_records().count() == 1));
    receiver.with(|r| {
        let log = r.log_records().next().expect("the record");
        let attrs: Vec<(String, String)> = log
            .attributes
            .iter()
            .map(|kv| (kv.key.clone(), any_value(kv.value.as_ref())))
            .collect();
        assert_eq!(attrs.len(), 3, "{attrs:?}");
        assert_eq!(attrs[0], ("a".to_owned(), "01234567".to_owned()));
        assert_eq!(attrs[1], ("b".to_owned(), "ünïcödé-".to_owned()));
        assert_eq!(attrs[2], ("c".to_owned(), "42".to_owned()));
        assert_eq!(
            any_value(log.body.as_ref()),
            "the body is not an attribute and is kept whole"
        );
    });
}
