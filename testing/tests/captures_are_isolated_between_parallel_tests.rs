//! Many captures at once, on many threads of one process: each sees exactly its own spans and
//! logs, including those made on another worker thread by a task that carries its context.

use std::time::Duration;

use beacon_test::{capture, log, span};
use tracing::Instrument as _;

#[test]
fn sixteen_parallel_captures_each_see_only_their_own_telemetry() {
    let threads: Vec<_> = (0..16_i64)
        .map(|n| {
            std::thread::spawn(move || {
                let cap = capture();
                for i in 0..10_i64 {
                    tracing::info_span!("work", owner = n, i)
                        .in_scope(|| tracing::info!(owner = n, "step"));
                }
                cap.wait_for_span(span::named("work").attr("i", 9_i64))
                    .blocking()
                    .expect("own last span");
                let spans = cap.spans();
                assert_eq!(spans.len(), 10, "exactly its own spans");
                assert!(spans
                    .iter()
                    .all(|s| s.attr("owner").map(|v| v.to_string()) == Some(n.to_string())));
                let logs = cap.logs();
                assert_eq!(logs.len(), 10, "exactly its own logs");
                assert!(logs
                    .iter()
                    .all(|l| l.attr("owner") == Some(&*n.to_string())));
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a capture thread failed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_span_from_a_task_on_another_worker_is_captured() {
    let cap = capture();
    let task = tokio::spawn(
        async {
            let worker = std::thread::current().id();
            tracing::info_span!("background.job").in_scope(|| tracing::info!("job done"));
            worker
        }
        .in_current_span(),
    );
    let done = cap
        .wait_for_span(span::named("background.job"))
        .await
        .expect("captured");
    assert_eq!(Some(done.trace_id), cap.trace_id());
    let worker = task.await.expect("task");
    assert_ne!(
        worker,
        std::thread::current().id(),
        "the task ran on a worker thread"
    );
    cap.wait_for_log(log::body_contains("job done").in_span(&done))
        .await
        .expect("its log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_outside_the_capture_is_not_captured_but_a_global_capture_sees_it() {
    let everything = beacon_test::capture_global();
    let cap = capture();
    // Not instrumented: a new trace, which this capture does not own.
    tokio::spawn(async { tracing::info_span!("stray.job").in_scope(|| {}) });
    everything
        .wait_for_span(span::named("stray.job"))
        .await
        .expect("global sees it");
    assert!(cap.refute(span::named("stray.job")).is_ok());
}

#[test]
fn a_capture_inside_a_capture_is_its_own_trace() {
    let outer = capture();
    tracing::info_span!("outer.work").in_scope(|| {});
    let inner = capture();
    tracing::info_span!("inner.work").in_scope(|| {});
    inner
        .wait_for_span(span::named("inner.work"))
        .timeout(Duration::from_secs(5))
        .blocking()
        .expect("inner");
    assert!(inner.refute(span::named("outer.work")).is_ok());
    assert!(outer.refute(span::named("inner.work")).is_ok());
    outer
        .wait_for_span(span::named("outer.work"))
        .blocking()
        .expect("outer");
}
