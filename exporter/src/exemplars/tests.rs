use super::*;
use opentelemetry::trace::{TraceFlags, TraceState};

fn sampled(trace: u128, span: u64) -> SpanContext {
    SpanContext::new(
        TraceId::from(trace),
        SpanId::from(span),
        TraceFlags::SAMPLED,
        false,
        TraceState::default(),
    )
}

#[test]
fn the_hash_ignores_order() {
    let a = [KeyValue::new("a", 1), KeyValue::new("b", "x")];
    let b = [KeyValue::new("b", "x"), KeyValue::new("a", 1)];
    assert_eq!(attributes_hash(a.iter()), attributes_hash(b.iter()));
    let c = [KeyValue::new("b", "y"), KeyValue::new("a", 1)];
    assert_ne!(attributes_hash(a.iter()), attributes_hash(c.iter()));
}

/// The store is process-wide: the tests that change its filter take turns.
static SEQUENTIAL: Mutex<()> = Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    SEQUENTIAL.lock().unwrap_or_else(|p| p.into_inner())
}

#[test]
fn buckets_filters_and_series() {
    let _turn = turn();
    let store = exemplars();
    store.enable(ExemplarFilter::TraceBased);
    let r = store.histogram("test.exemplars.duration", &[0.1, 1.0]);
    let attrs = [KeyValue::new("route", "/a")];
    let hash = attributes_hash(attrs.iter());

    r.offer(0.05, &attrs, &sampled(1, 1));
    r.offer(0.1, &attrs, &sampled(2, 2)); // le="0.1" includes its bound
    r.offer(5.0, &attrs, &sampled(3, 3));
    r.offer(0.5, &attrs, &SpanContext::empty_context()); // no span: filtered out
    let all = Window::everything();
    let slots = r.snapshot(hash, all).expect("series kept");
    assert_eq!(slots.len(), 3);
    assert_eq!(slots[0].map(|e| e.trace_id), Some(TraceId::from(2u128)));
    assert_eq!(slots[1], None);
    assert_eq!(slots[2].map(|e| e.value), Some(5.0));

    store.enable(ExemplarFilter::AlwaysOn);
    r.offer(0.5, &attrs, &SpanContext::empty_context());
    let e = r.get(hash, 1, all).expect("always_on keeps it");
    assert_eq!(e.ids(), None);

    store.enable(ExemplarFilter::AlwaysOff);
    r.offer(0.01, &attrs, &sampled(9, 9));
    assert_eq!(r.get(hash, 0, all).map(|e| e.value), Some(0.1));
    assert!(!store.enabled());

    // Bounded: series beyond the limit are not kept.
    store.enable(ExemplarFilter::TraceBased);
    let c = store.counter("test.exemplars.calls");
    for i in 0..(MAX_SERIES * 3) {
        c.offer(1.0, &[KeyValue::new("id", i as i64)], &sampled(1, 1));
    }
    let kept: usize = c
        .shards
        .iter()
        .map(|s| s.lock().map_or(0, |m| m.series.len()))
        .sum();
    assert!(kept <= MAX_SERIES, "{kept} series kept");
    assert!(kept > MAX_SERIES / 2, "{kept} series kept");
}

/// `specification/metrics/sdk.md`, "SimpleFixedSizeExemplarReservoir": "This reservoir
/// MUST use a uniformly-weighted sampling algorithm based on the number of samples the
/// reservoir has seen so far to determine if the offered measurements should be sampled.
/// ... Any stateful portion of sampling computation SHOULD be reset every collection
/// cycle." Before, the counter's cell kept the latest measurement for ever: every
/// collection re-sent it, and the last measurement of a cycle always won.
#[test]
fn the_counter_reservoir_samples_uniformly_and_resets_each_collection() {
    let _turn = turn();
    let store = exemplars();
    store.enable(ExemplarFilter::TraceBased);
    let c = store.counter("test.exemplars.uniform.calls");
    let attrs = [KeyValue::new("route", "/u")];
    let hash = attributes_hash(attrs.iter());
    let reader = Cycle::default();
    let none = sampled(5, 5);

    c.offer(1.0, &attrs, &none);
    let w = store.collect(&reader);
    assert_eq!(c.get(hash, 0, w).map(|e| e.value), Some(1.0));
    // Reset: nothing offered since, nothing shown (the same exemplar is not re-sent).
    let w = store.collect(&reader);
    assert_eq!(c.get(hash, 0, w), None);
    // A second reader has not collected yet: it still sees what it has not shown.
    let other = Cycle::default();
    let w = store.collect(&other);
    assert_eq!(c.get(hash, 0, w).map(|e| e.value), Some(1.0));

    // Uniform: of 10 measurements per cycle, each is kept about 1 time in 10, so the last
    // one wins about 30 of 300 cycles (keep-the-latest would win all 300).
    let mut last_kept = 0;
    let mut first_kept = 0;
    for _ in 0..300 {
        for v in 0..10 {
            c.offer(f64::from(v), &attrs, &none);
        }
        let kept = c
            .get(hash, 0, store.collect(&reader))
            .map(|e| e.value)
            .expect("one kept per cycle");
        last_kept += usize::from(kept == 9.0);
        first_kept += usize::from(kept == 0.0);
    }
    assert!(
        (5..100).contains(&last_kept),
        "last kept {last_kept} of 300"
    );
    assert!(
        (5..100).contains(&first_kept),
        "first kept {first_kept} of 300"
    );
}

/// The histogram reservoir keeps the latest per bucket (`specification/metrics/sdk.md`,
/// "AlignedHistogramBucketExemplarReservoir": "This implementation MUST keep the last seen
/// measurement that falls within a histogram bucket"), and shows it once per reader.
#[test]
fn the_bucket_reservoir_keeps_the_latest_and_shows_it_once() {
    let _turn = turn();
    let store = exemplars();
    store.enable(ExemplarFilter::TraceBased);
    let r = store.histogram("test.exemplars.once.duration", &[1.0]);
    let hash = attributes_hash([].iter());
    let reader = Cycle::default();
    let none = sampled(6, 6);
    r.offer(0.2, &[], &none);
    r.offer(0.3, &[], &none);
    let slots = r.snapshot(hash, store.collect(&reader)).expect("kept");
    assert_eq!(slots[0].map(|e| e.value), Some(0.3));
    let slots = r.snapshot(hash, store.collect(&reader)).expect("kept");
    assert_eq!(slots[0], None);
}
