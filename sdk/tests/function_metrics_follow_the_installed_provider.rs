//! `#[beacon::instrument(metrics)]` records to the meter provider installed when the call
//! happens: a call made before any provider is installed (config loading, a lazy static, a
//! test helper) does not turn function metrics off for the process, a provider installed
//! later takes over at the next call, and a test's own provider
//! (`MetricsCapture::record_function_metrics`) sees that test's calls only, whichever tests
//! ran before it or run beside it.

use beacon_test::MetricsCapture;

#[beacon::instrument(metrics)]
fn load_config(n: u32) -> u32 {
    n
}

#[beacon::instrument(metrics)]
fn shared(n: u32) -> u32 {
    n
}

fn calls(metrics: &MetricsCapture, function: &str) -> Option<f64> {
    metrics
        .point(
            "function.calls",
            &[("function", function), ("result", "ok")],
        )
        .and_then(|p| p.value.sum())
}

#[test]
fn a_call_before_the_provider_is_installed_does_not_turn_metrics_off() {
    // Before any provider: the global one is the no-op provider.
    assert_eq!(load_config(1), 1);

    let first = MetricsCapture::new();
    opentelemetry::global::set_meter_provider(first.provider().clone());
    assert_eq!(load_config(2), 2);
    assert_eq!(calls(&first, "load_config"), Some(1.0));

    // Replaced again: the next call goes to the new provider, the old one keeps its count.
    let second = MetricsCapture::new();
    opentelemetry::global::set_meter_provider(second.provider().clone());
    assert_eq!(load_config(3), 3);
    assert_eq!(load_config(4), 4);
    assert_eq!(calls(&second, "load_config"), Some(2.0));
    assert_eq!(calls(&first, "load_config"), Some(1.0));
}

/// Calls `shared` `times` times with this test's own provider, and checks it saw exactly those.
fn own_provider_sees_own_calls(times: u32) {
    let metrics = MetricsCapture::new();
    {
        let _functions = metrics.record_function_metrics();
        for n in 0..times {
            assert_eq!(shared(n), n);
        }
    }
    // After the guard, calls go to the global provider again.
    assert_eq!(shared(99), 99);
    assert_eq!(calls(&metrics, "shared"), Some(f64::from(times)));
    let concurrent = metrics
        .point("function.calls.concurrent", &[("function", "shared")])
        .and_then(|p| p.value.sum());
    assert_eq!(concurrent, Some(0.0));
}

#[test]
fn parallel_tests_each_see_their_own_function_metrics_two() {
    own_provider_sees_own_calls(2);
}

#[test]
fn parallel_tests_each_see_their_own_function_metrics_three() {
    own_provider_sees_own_calls(3);
}

#[test]
fn nested_defaults_restore_the_outer_one() {
    let outer = MetricsCapture::new();
    let inner = MetricsCapture::new();
    let _outer = outer.record_function_metrics();
    {
        let _inner = inner.record_function_metrics();
        shared(1);
    }
    shared(2);
    shared(3);
    assert_eq!(calls(&inner, "shared"), Some(1.0));
    assert_eq!(calls(&outer, "shared"), Some(2.0));
}

#[beacon::instrument(metrics)]
async fn reserve(n: u32) -> u32 {
    tokio::task::yield_now().await;
    n
}

/// On a multi-thread runtime, with the capture's span entered: calls in tasks that carry the
/// trace (`.in_current_span()`) reach this test's provider whichever worker thread runs them,
/// and a task in another trace does not.
async fn spawned_calls_in_the_trace_are_seen(tasks: u32) {
    use tracing::Instrument as _;
    let cap = beacon_test::capture();
    let metrics = MetricsCapture::new();
    let _functions = metrics.record_function_metrics();
    let mut handles = Vec::new();
    for n in 0..tasks {
        handles.push(tokio::spawn(reserve(n).in_current_span()));
    }
    // A task in a trace of its own: not this test's.
    handles.push(tokio::spawn(
        reserve(1000).instrument(tracing::info_span!(parent: None, "elsewhere")),
    ));
    for h in handles {
        h.await.unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(calls(&metrics, "reserve"), Some(f64::from(tasks)));
    drop(cap);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_tasks_of_the_trace_record_to_its_provider_four() {
    spawned_calls_in_the_trace_are_seen(4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_tasks_of_the_trace_record_to_its_provider_seven() {
    spawned_calls_in_the_trace_are_seen(7).await;
}
