//! Spans, logs and metrics reach an OTLP/gRPC receiver (the `fake-opentelemetry-collector`
//! crate), with the parent/child links and the log-to-span correlation intact.

use std::time::Duration;

use beacon::config::Protocol;
use beacon::otel::api::metrics::MeterProvider as _;
use fake_opentelemetry_collector::FakeCollectorServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_delivers_spans_logs_and_metrics() {
    let mut collector = FakeCollectorServer::start()
        .await
        .expect("collector starts");
    let telemetry = beacon::builder()
        .env_source(|_| None)
        .service_name("grpc-svc")
        .otlp_endpoint(collector.endpoint())
        .otlp_protocol(Protocol::Grpc)
        .otlp_header("x-tenant", "acme")
        .build()
        .expect("pipeline builds");
    let requests = telemetry
        .meter_provider()
        .meter("test")
        .f64_histogram("work.duration")
        .with_unit("s")
        .build();
    tracing::dispatcher::with_default(&telemetry.dispatch(), || {
        let outer = tracing::info_span!("outer", otel.kind = "server");
        let _o = outer.enter();
        let inner = tracing::info_span!("inner", step = 1_i64);
        let _i = inner.enter();
        tracing::warn!(attempt = 2_i64, "retrying");
        requests.record(0.25, &[]);
    });
    // Shutting down inside a multi-thread runtime must neither block forever nor panic.
    let stats = tokio::task::block_in_place(|| telemetry.shutdown()).expect("clean shutdown");
    assert_eq!(stats.traces.exported, 2);
    assert_eq!(stats.logs.exported, 1);

    let spans = collector.exported_spans(2, Duration::from_secs(10)).await;
    let outer = spans
        .iter()
        .find(|s| s.name == "outer")
        .expect("outer span");
    let inner = spans
        .iter()
        .find(|s| s.name == "inner")
        .expect("inner span");
    assert_eq!(inner.parent_span_id, outer.span_id);
    assert_eq!(inner.trace_id, outer.trace_id);
    assert_eq!(outer.kind, "SPAN_KIND_SERVER");
    assert!(inner
        .attributes
        .get("step")
        .is_some_and(|v| v.contains("IntValue(1)")));

    let logs = collector.exported_logs(1, Duration::from_secs(10)).await;
    let log = logs.first().expect("a log record");
    assert!(log
        .body
        .as_deref()
        .is_some_and(|b| b.contains("\"retrying\"")));
    assert_eq!(log.trace_id, inner.trace_id);
    assert_eq!(log.span_id, inner.span_id);
    assert_eq!(log.severity_text, "WARN");

    let metrics = collector.exported_metrics(1, Duration::from_secs(10)).await;
    let histogram = metrics
        .iter()
        .flat_map(|m| &m.metrics)
        .find(|m| m.name == "work.duration")
        .expect("work.duration exported");
    assert_eq!(histogram.unit, "s");
}
