//! `wait_for_metric`: completes as soon as a span or log that follows the measurement arrives,
//! and reports a clear timeout when the point never comes.

use std::time::Duration;

use beacon_test::{capture, MetricsCapture};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_histogram_count_reached_in_another_task_is_seen() {
    let cap = capture();
    let metrics = MetricsCapture::new();
    let latency = metrics
        .provider()
        .meter("svc")
        .f64_histogram("request.duration")
        .with_unit("s")
        .build();
    let (go, wait) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(tracing::Instrument::in_current_span(async move {
        let _ = wait.await;
        for ms in [5.0, 20.0, 80.0] {
            tracing::info_span!("request").in_scope(|| {
                latency.record(ms / 1000.0, &[KeyValue::new("route", "/orders/{id}")]);
            });
        }
    }));
    // Not there before the work runs.
    assert!(metrics.point("request.duration", &[]).is_none());
    go.send(()).expect("task waiting");
    let point = cap
        .wait_for_metric(&metrics, "request.duration", |p| p.value.count() == Some(3))
        .await
        .expect("three requests recorded");
    assert!(point.has(&[("route", "/orders/{id}")]));
    assert!((point.value.sum().unwrap_or(0.0) - 0.105).abs() < 1e-9);
}

#[test]
fn a_point_that_never_comes_times_out_with_what_was_captured() {
    let cap = capture();
    let metrics = MetricsCapture::new();
    tracing::info_span!("unrelated.work").in_scope(|| {});
    let err = cap
        .wait_for_metric(&metrics, "never.recorded", |_| true)
        .timeout(Duration::from_millis(50))
        .blocking()
        .expect_err("nothing recorded");
    let text = err.to_string();
    assert!(text.contains("never.recorded"), "{text}");
    assert!(text.contains("unrelated.work"), "{text}");
}
