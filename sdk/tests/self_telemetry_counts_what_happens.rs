//! The pipeline's self-metrics, as a real OTLP receiver gets them, match what happened when
//! the trace collector is down: items dropped on a full queue, held for retry, failed export
//! attempts timed with their cause — and they agree with `Telemetry::stats()`.

mod support;

use std::time::Duration;

use beacon::config::BatchConfig;
use support::{latest, HttpReceiver};

#[test]
fn self_metrics_match_reality_with_the_trace_collector_down() {
    let receiver = HttpReceiver::start();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let telemetry = support::env_builder(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            format!("http://{closed}/v1/traces"),
        ),
        (
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            format!("{}/v1/metrics", receiver.endpoint()),
        ),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "500".to_owned()),
        ("OTEL_LOGS_EXPORTER", "none".to_owned()),
    ])
    .span_batch(BatchConfig {
        max_queue_size: 10,
        max_export_batch_size: 10,
        scheduled_delay: Duration::from_secs(3600),
        ..BatchConfig::default()
    })
    .build()
    .expect("pipeline builds");

    tracing::dispatcher::with_default(&telemetry.dispatch(), || {
        for i in 0..50_i64 {
            tracing::info_span!("work", i).in_scope(|| {});
        }
    });
    // Exports the queued spans (refused: held for retry), then the metrics.
    let _ = telemetry.flush();
    let stats = telemetry.stats().traces;
    assert_eq!(stats.accepted, 50);
    assert!(
        stats.dropped >= 10,
        "a queue of 10 cannot take 50 at once: {stats:?}"
    );
    assert_eq!(stats.retained, stats.accepted - stats.dropped, "{stats:?}");
    assert!(stats.export_calls >= 1);
    assert_eq!(
        stats.last_error,
        Some(beacon_exporter::batch::ExportErrorKind::Unavailable)
    );

    let _ = telemetry.flush();
    let name = [
        ("otel.component.type", "batching_span_processor"),
        ("otel.component.name", "traces/otlp"),
    ];
    let arrived = receiver.wait_for(Duration::from_secs(10), |r| {
        latest(r, "otel.sdk.processor.span.processed", &name).is_some()
    });
    assert!(
        arrived,
        "self-metrics reached the receiver: {:?}",
        receiver.with(|r| r.metric_names())
    );
    receiver.with(|r| {
        let dropped = [name[0], name[1], ("error.type", "queue_full")];
        assert_eq!(
            latest(r, "otel.sdk.processor.span.processed", &name),
            Some((stats.accepted - stats.dropped) as f64)
        );
        assert_eq!(
            latest(r, "otel.sdk.processor.span.processed", &dropped),
            Some(stats.dropped as f64)
        );
        assert_eq!(
            latest(r, "otel.sdk.processor.span.queue.capacity", &name),
            Some(10.0)
        );
        assert_eq!(
            latest(r, "otel.sdk.processor.span.queue.size", &name),
            Some(0.0)
        );
        assert_eq!(
            latest(r, "beacon.exporter.span.retained", &name[1..]),
            Some(stats.retained as f64)
        );
        assert_eq!(
            latest(r, "otel.sdk.exporter.span.exported", &name[1..]),
            Some(0.0)
        );
        let failures = latest(
            r,
            "otel.sdk.exporter.operation.duration",
            &[
                ("otel.component.name", "traces/otlp"),
                ("error.type", "unavailable"),
            ],
        );
        assert!(
            failures.is_some_and(|n| n >= 1.0),
            "failed exports are timed: {failures:?}"
        );
        // In seconds, with boundaries that fit seconds (the SDK's default ones are for
        // milliseconds: every export would land in the first bucket).
        let bounds: Vec<f64> = r
            .metrics
            .iter()
            .flat_map(|r| &r.resource_metrics)
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
            .filter(|m| m.name == "otel.sdk.exporter.operation.duration")
            .find_map(|m| match &m.data {
                Some(opentelemetry_proto::tonic::metrics::v1::metric::Data::Histogram(h)) => {
                    h.data_points.first().map(|p| p.explicit_bounds.clone())
                }
                _ => None,
            })
            .expect("a histogram point");
        assert_eq!(
            bounds,
            [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0]
        );
    });
    drop(telemetry);
}

#[test]
fn spooled_items_and_bytes_are_reported_as_self_metrics() {
    let receiver = HttpReceiver::start();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let dir = std::env::temp_dir().join(format!("beacon-selfmetrics-spool-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let telemetry = support::env_builder(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            format!("http://{closed}/v1/traces"),
        ),
        (
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            format!("{}/v1/metrics", receiver.endpoint()),
        ),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "500".to_owned()),
        ("OTEL_LOGS_EXPORTER", "none".to_owned()),
        ("BEACON_EXPORT_SPOOL_DIR", dir.display().to_string()),
    ])
    .span_batch(BatchConfig {
        max_export_batch_size: 10,
        scheduled_delay: Duration::from_secs(3600),
        // Nothing kept in memory: every refused batch goes to the spool.
        max_retained: 0,
        ..BatchConfig::default()
    })
    .build()
    .expect("pipeline builds");
    tracing::dispatcher::with_default(&telemetry.dispatch(), || {
        for i in 0..30_i64 {
            tracing::info_span!("work", i).in_scope(|| {});
        }
    });
    let _ = telemetry.flush();
    let stats = telemetry.stats().traces;
    assert_eq!(
        (stats.accepted, stats.spooled, stats.retained),
        (30, 30, 0),
        "{stats:?}"
    );
    assert!(stats.spooled_bytes > 0);
    let _ = telemetry.flush();
    let name = [("otel.component.name", "traces/otlp")];
    let arrived = receiver.wait_for(Duration::from_secs(10), |r| {
        latest(r, "beacon.exporter.span.spooled", &name).is_some()
    });
    assert!(arrived, "{:?}", receiver.with(|r| r.metric_names()));
    receiver.with(|r| {
        assert_eq!(latest(r, "beacon.exporter.span.spooled", &name), Some(30.0));
        assert_eq!(
            latest(r, "beacon.exporter.span.spool.usage", &name),
            Some(stats.spooled_bytes as f64)
        );
    });
    drop(telemetry);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn self_telemetry_can_be_turned_off() {
    let scrape = |on: bool| {
        let telemetry = beacon::builder()
            .env_source(|_| None)
            .traces_exporter(beacon::config::Exporter::Console)
            .logs_exporter(beacon::config::Exporter::None)
            .metrics_exporter(beacon::config::Exporter::Prometheus)
            .prometheus_listener(false)
            .collectors(beacon::collectors::Collectors::none())
            .self_telemetry(on)
            .build()
            .expect("pipeline builds");
        let text = telemetry
            .prometheus()
            .expect("prometheus reader")
            .render(beacon::metrics::Format::Text)
            .expect("scrape");
        assert!(
            telemetry.stats().traces.accepted == 0,
            "stats work either way"
        );
        text
    };
    assert!(scrape(true).contains("otel_sdk_processor_span_queue_capacity"));
    let off = scrape(false);
    assert!(!off.contains("otel_sdk_"), "{off}");
    assert!(!off.contains("beacon_exporter_"), "{off}");
}

/// With two destinations (`otlp,console`) each span is still one span: `Telemetry::stats()`
/// counts items, not deliveries, and its figures add up.
#[test]
fn stats_count_each_item_once_whatever_the_number_of_destinations() {
    let receiver = HttpReceiver::start();
    let telemetry = support::env_builder(&[
        ("OTEL_TRACES_EXPORTER", "otlp,console".to_owned()),
        ("OTEL_LOGS_EXPORTER", "none".to_owned()),
        ("OTEL_METRICS_EXPORTER", "none".to_owned()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint()),
    ])
    .build()
    .expect("pipeline builds");
    tracing::dispatcher::with_default(&telemetry.dispatch(), || {
        for _ in 0..9 {
            tracing::info_span!("counted").in_scope(|| {});
        }
    });
    let stats = telemetry.flush().expect("flushed");
    assert_eq!(stats.traces.accepted, 9, "{stats:?}");
    assert_eq!(stats.traces.exported, 9, "{stats:?}");
    assert_eq!(stats.traces.undelivered(), 0);
    assert!(stats.traces.export_calls >= 2, "both destinations exported");
}

/// Beacon's OTLP metric exporter reports on itself like the span and log exporters: a
/// collection the collector refused (400) shows as data points given up, in the next
/// collection the collector takes.
#[test]
fn the_metric_exporter_reports_the_data_points_it_gave_up() {
    let receiver = HttpReceiver::start();
    receiver.respond_next(400, None, Vec::new());
    let telemetry = support::env_builder(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint()),
        ("OTEL_TRACES_EXPORTER", "none".to_owned()),
        ("OTEL_LOGS_EXPORTER", "none".to_owned()),
    ])
    .metric_interval(Duration::from_secs(3600))
    .build()
    .expect("pipeline builds");
    assert!(telemetry.flush().is_err(), "refused");
    let refused = telemetry.stats().metrics;
    assert!(
        refused.failed > 0 && refused.failed == refused.accepted,
        "{refused:?}"
    );
    telemetry.flush().expect("taken");
    let name = [("otel.component.name", "metrics/otlp")];
    let failed = [
        ("otel.component.name", "metrics/otlp"),
        ("error.type", "export_failed"),
    ];
    receiver.with(|r| {
        assert_eq!(
            latest(r, "otel.sdk.exporter.metric_data_point.exported", &failed),
            Some(refused.failed as f64),
            "{:?}",
            r.metric_names()
        );
        assert_eq!(
            latest(r, "beacon.exporter.metric_data_point.retained", &name),
            Some(0.0)
        );
        assert!(
            latest(r, "otel.sdk.processor.metric_data_point.queue.size", &name).is_none(),
            "a metric exporter has no queue"
        );
    });
    drop(telemetry);
}
