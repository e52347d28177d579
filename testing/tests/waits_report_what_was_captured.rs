//! Timeouts, sequences, alternatives and refutations: they pass and fail when they should, and
//! a failure lists what the capture did see.

use std::time::Duration;

use beacon::otel::api::logs::Severity;
use beacon::otel::api::metrics::MeterProvider as _;
use beacon::otel::api::trace::SpanKind;
use beacon_test::{capture, log, span, Item};

#[tokio::test]
async fn a_timeout_names_what_was_expected_and_lists_what_arrived() {
    let cap = capture();
    tracing::info_span!(
        "GET /orders/{id}",
        otel.kind = "server",
        http.route = "/orders/{id}"
    )
    .in_scope(|| {
        tracing::warn!(order.id = 7_i64, "order not found");
    });
    let err = cap
        .wait_for_span(span::named("checkout").kind(SpanKind::Server))
        .timeout(Duration::from_millis(50))
        .await
        .expect_err("no such span");
    let report = err.to_string();
    assert!(
        report
            .contains("timed out after 50ms waiting for a span named \"checkout\", of kind Server"),
        "{report}"
    );
    assert!(report.contains("received 2 items"), "{report}");
    assert!(report.contains("log WARN \"order not found\""), "{report}");
    assert!(
        report.contains("span \"GET /orders/{id}\" kind=Server"),
        "{report}"
    );
    assert!(report.contains("http.route=/orders/{id}"), "{report}");
    assert_eq!(err.captured().len(), 2);
}

#[test]
fn a_sequence_must_come_in_order_though_others_may_interleave() {
    let cap = capture();
    tracing::info!("connecting");
    tracing::info_span!("attempt", n = 1_i64).in_scope(|| {});
    tracing::info!("unrelated");
    tracing::warn!("retries exhausted");
    tracing::info_span!("attempt", n = 2_i64).in_scope(|| {});

    let matched = cap
        .assert_sequence([
            log::body_contains("connecting").into(),
            span::named("attempt").attr("n", 1_i64).into(),
            log::body_contains("retries exhausted")
                .severity(Severity::Warn)
                .into(),
        ])
        .blocking()
        .expect("in order");
    assert_eq!(matched.len(), 3);
    assert!(matches!(&matched[1], Item::Span(s) if s.name == "attempt"));

    let err = cap
        .assert_sequence([
            log::body_contains("retries exhausted").into(),
            log::body_contains("connecting").into(),
        ])
        .timeout(Duration::from_millis(30))
        .blocking()
        .expect_err("reversed order is not there");
    assert!(err.to_string().contains("the sequence [a log record whose body contains \"retries exhausted\" → a log record whose body contains \"connecting\"]"), "{err}");
}

#[tokio::test]
async fn wait_for_any_returns_the_first_alternative_that_happened() {
    let cap = capture();
    tokio::spawn(tracing::Instrument::in_current_span(async {
        tracing::error!(reason = "timeout", "payment failed");
    }));
    let (which, item) = cap
        .wait_for_any([
            log::body_contains("payment succeeded").into(),
            log::any().at_least(Severity::Error).into(),
        ])
        .await
        .expect("one of them");
    assert_eq!(which, 1);
    assert!(matches!(item, Item::Log(l) if l.attr("reason") == Some("timeout")));
}

#[test]
fn refute_fails_when_something_matching_was_captured() {
    let cap = capture();
    tracing::info_span!("db.query", otel.status_code = "ERROR").in_scope(|| {});
    assert!(cap.refute(log::any().at_least(Severity::Error)).is_ok());
    let err = cap
        .refute(span::named("db.query").error())
        .expect_err("it errored");
    assert!(
        err.to_string().contains(
            "item 1 is, against the refutation, a span named \"db.query\", with status Error"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_wait_is_woken_by_the_item_not_by_its_timeout() {
    let cap = capture().with_timeout(Duration::from_secs(30));
    let started = std::time::Instant::now();
    tokio::spawn(tracing::Instrument::in_current_span(async {
        tokio::task::yield_now().await;
        tracing::info_span!("late").in_scope(|| {});
    }));
    cap.wait_for_span(span::named("late"))
        .await
        .expect("arrives");
    // Woken on arrival: far below the 30 s timeout even on a loaded machine.
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn closures_are_matchers_too() {
    let cap = capture();
    tracing::info_span!("sized", bytes = 2048_i64).in_scope(|| {});
    let big = cap
        .wait_for_span(|s: &beacon_test::CapturedSpan| {
            s.attr("bytes").and_then(|v| v.as_str().parse::<i64>().ok()) > Some(1024)
        })
        .blocking()
        .expect("a big one");
    assert_eq!(big.name, "sized");
}

#[tokio::test]
async fn a_wait_that_saw_nothing_points_at_spawned_work_without_the_span() {
    let cap = capture();
    // Work on another thread that does not carry the test's span: not the test's trace, so
    // not captured.
    std::thread::spawn(|| tracing::info_span!("elsewhere").in_scope(|| {}))
        .join()
        .expect("thread");
    let err = cap
        .wait_for_span(span::named("elsewhere"))
        .timeout(Duration::from_millis(50))
        .await
        .expect_err("not captured");
    let report = err.to_string();
    assert!(report.contains("received nothing"), "{report}");
    assert!(report.contains(".in_current_span()"), "{report}");
}

#[tokio::test]
async fn a_metric_wait_that_times_out_shows_the_points_it_saw() {
    let cap = capture();
    let metrics = beacon_test::MetricsCapture::new();
    let jobs = metrics
        .provider()
        .meter("worker")
        .u64_counter("jobs.done")
        .build();
    jobs.add(1, &[beacon::otel::api::KeyValue::new("queue", "mail")]);
    let err = cap
        .wait_for_metric(&metrics, "jobs.done", |p| p.value.sum() == Some(3.0))
        .timeout(Duration::from_millis(50))
        .await
        .expect_err("only 1");
    let report = err.to_string();
    assert!(
        report.contains("the data points of \"jobs.done\" it saw"),
        "{report}"
    );
    assert!(
        report.contains("mail") && report.contains("1.0"),
        "{report}"
    );

    let err = cap
        .wait_for_metric(&metrics, "never.recorded", |_| true)
        .timeout(Duration::from_millis(50))
        .await
        .expect_err("nothing");
    assert!(
        err.to_string()
            .contains("no data point of \"never.recorded\""),
        "{err}"
    );
}
