//! OTLP/HTTP retries per the spec, against a receiver that answers as told: 503 with
//! `Retry-After` is retried after the given delay, 429 is retried, 400 is never retried (the
//! batch is counted failed), and a partial success is not retried. Beacon's own OTLP metric
//! exporter follows the same rules.

mod support;

use std::time::Duration;

use beacon::config::{Exporter, Protocol};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message as _;
use support::HttpReceiver;

fn pipeline(receiver: &HttpReceiver) -> beacon::Telemetry {
    beacon::builder()
        .env_source(|_| None)
        .otlp_endpoint(receiver.endpoint())
        .otlp_protocol(Protocol::HttpProtobuf)
        .otlp_timeout(Duration::from_secs(10))
        .metrics_exporter(Exporter::None)
        .logs_exporter(Exporter::None)
        .build()
        .expect("pipeline builds")
}

fn spans(t: &beacon::Telemetry, n: usize) {
    tracing::dispatcher::with_default(&t.dispatch(), || {
        for _ in 0..n {
            tracing::info_span!("work").in_scope(|| {});
        }
    });
}

#[test]
fn a_503_with_retry_after_is_retried_after_that_delay() {
    let receiver = HttpReceiver::start();
    receiver.respond_next(503, Some("1"), Vec::new());
    let t = pipeline(&receiver);
    spans(&t, 3);
    t.flush().expect("delivered on the retry");
    receiver.with(|r| {
        assert_eq!(r.arrivals.len(), 2, "one refusal, one retry");
        let gap = r.arrivals[1] - r.arrivals[0];
        assert!(
            gap >= Duration::from_millis(950),
            "Retry-After: 1 honoured, waited {gap:?}"
        );
        assert_eq!(r.spans().count(), 3);
    });
    assert_eq!(t.stats().traces.exported, 3);
}

#[test]
fn a_429_is_retried_with_backoff() {
    let receiver = HttpReceiver::start();
    receiver.respond_next(429, None, Vec::new());
    let t = pipeline(&receiver);
    spans(&t, 2);
    t.flush().expect("delivered on the retry");
    receiver.with(|r| {
        assert_eq!(r.arrivals.len(), 2);
        assert_eq!(r.spans().count(), 2);
    });
}

#[test]
fn a_400_is_never_retried_and_counted_failed() {
    let receiver = HttpReceiver::start();
    receiver.respond_next(400, None, Vec::new());
    let t = pipeline(&receiver);
    spans(&t, 4);
    assert!(t.flush().is_err(), "the collector refused the batch");
    receiver.with(|r| assert_eq!(r.arrivals.len(), 1, "no retry after a 400"));
    let stats = t.stats().traces;
    assert_eq!(
        (stats.failed, stats.retained, stats.exported),
        (4, 0, 0),
        "{stats:?}"
    );
}

#[test]
fn a_partial_success_is_not_retried() {
    let receiver = HttpReceiver::start();
    let body = ExportTraceServiceResponse {
        partial_success: Some(ExportTracePartialSuccess {
            rejected_spans: 1,
            error_message: "span too large".into(),
        }),
    }
    .encode_to_vec();
    receiver.respond_next(200, None, body);
    let t = pipeline(&receiver);
    spans(&t, 2);
    let _ = t.flush();
    receiver.with(|r| assert_eq!(r.arrivals.len(), 1, "a partial success is final"));
    assert_eq!(t.stats().traces.retained, 0);
}

/// Beacon's own metric exporter, by the same rules (OTLP spec, "OTLP/HTTP Throttling" and
/// "Failures"; issue 23, item 8): only metrics go to the receiver.
fn metric_pipeline(receiver: &HttpReceiver) -> beacon::Telemetry {
    beacon::builder()
        .env_source(|_| None)
        .otlp_endpoint(receiver.endpoint())
        .otlp_protocol(Protocol::HttpProtobuf)
        .otlp_timeout(Duration::from_secs(10))
        .traces_exporter(Exporter::None)
        .logs_exporter(Exporter::None)
        .metrics_exporter(Exporter::Otlp)
        .metric_interval(Duration::from_secs(3600))
        .self_telemetry(false)
        .build()
        .expect("pipeline builds")
}

fn count(t: &beacon::Telemetry) {
    t.meter("retry-test")
        .u64_counter("retry.test")
        .build()
        .add(1, &[]);
}

#[test]
fn a_metric_export_refused_with_503_and_retry_after_is_retried_after_that_delay() {
    let receiver = HttpReceiver::start();
    receiver.respond_next(503, Some("1"), Vec::new());
    let t = metric_pipeline(&receiver);
    count(&t);
    t.flush().expect("delivered on the retry");
    receiver.with(|r| {
        assert_eq!(r.arrivals.len(), 2, "one refusal, one retry");
        let gap = r.arrivals[1] - r.arrivals[0];
        assert!(
            gap >= Duration::from_millis(950),
            "Retry-After: 1 honoured, waited {gap:?}"
        );
        assert!(r.metric_names().iter().any(|n| n == "retry.test"));
    });
    let s = t.stats().metrics;
    assert!(s.exported > 0, "{s:?}");
    assert_eq!(
        (s.exported, s.retained, s.failed),
        (s.accepted, 0, 0),
        "{s:?}"
    );
}

#[test]
fn a_metric_export_refused_with_400_is_never_retried_and_counted_failed() {
    let receiver = HttpReceiver::start();
    receiver.respond_next(400, None, Vec::new());
    let t = metric_pipeline(&receiver);
    count(&t);
    assert!(t.flush().is_err(), "the collector refused the request");
    receiver.with(|r| assert_eq!(r.arrivals.len(), 1, "no retry after a 400"));
    let s = t.stats().metrics;
    assert!(s.failed > 0, "{s:?}");
    assert_eq!(
        (s.failed, s.retained, s.exported),
        (s.accepted, 0, 0),
        "{s:?}"
    );
    // The next collection goes on its own: a refusal is not kept.
    t.flush().expect("accepted now");
    receiver.with(|r| assert_eq!(r.arrivals.len(), 2));
}
