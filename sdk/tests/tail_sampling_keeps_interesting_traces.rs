//! The tail sampler keeps every trace with an error, a slow root or a matching attribute, and
//! the configured ratio of the rest; it holds no more than its bounds and counts every span.

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use beacon::otel::api::trace::{
    Span as _, SpanKind, Status, TraceContextExt as _, TraceId, Tracer as _, TracerProvider as _,
};
use beacon::otel::api::{Context, KeyValue};
use beacon::otel::sdk::error::OTelSdkResult;
use beacon::otel::sdk::trace::{
    Sampler, SamplingDecision, SdkTracerProvider, ShouldSample, Span, SpanData, SpanProcessor,
};
use beacon::sampling::{TailSampling, TailSamplingConfig, TailSnapshot, TailStats};

/// Stands in for the exporters: collects what the tail sampler passes on.
#[derive(Debug, Clone, Default)]
struct Collect(Arc<Mutex<Vec<SpanData>>>);

impl SpanProcessor for Collect {
    fn on_start(&self, _: &mut Span, _: &Context) {}
    fn on_end(&self, span: SpanData) {
        self.0.lock().expect("collect lock").push(span);
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
        Ok(())
    }
}

fn provider(config: TailSamplingConfig, seed: u64) -> (SdkTracerProvider, Collect, Arc<TailStats>) {
    let out = Collect::default();
    let tail = TailSampling::new(config, vec![Box::new(out.clone())]);
    let stats = tail.stats();
    let provider = SdkTracerProvider::builder()
        .with_id_generator(beacon_test::SeededIds::new(seed))
        .with_span_processor(tail)
        .build();
    (provider, out, stats)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Error,
    Slow,
    Gold,
    Boring,
}

/// One trace: a root with two children, shaped by `kind`. Start and end times are given
/// explicitly, so "slow" needs no waiting.
fn trace(provider: &SdkTracerProvider, kind: Kind) -> TraceId {
    let tracer = provider.tracer("tail-test");
    let t0 = SystemTime::now();
    let root = tracer
        .span_builder("request")
        .with_kind(SpanKind::Server)
        .with_start_time(t0)
        .start(&tracer);
    let trace_id = root.span_context().trace_id();
    let cx = Context::current_with_span(root);
    for (i, name) in ["db.query", "cache.get"].into_iter().enumerate() {
        let mut child = tracer
            .span_builder(name)
            .with_start_time(t0)
            .start_with_context(&tracer, &cx);
        if i == 1 && kind == Kind::Error {
            child.set_status(Status::error("cache unavailable"));
        }
        if i == 0 && kind == Kind::Gold {
            child.set_attribute(KeyValue::new("tenant.tier", "gold"));
        }
        child.end_with_timestamp(t0 + Duration::from_millis(5));
    }
    let took = if kind == Kind::Slow {
        Duration::from_millis(1500)
    } else {
        Duration::from_millis(20)
    };
    cx.span().end_with_timestamp(t0 + took);
    trace_id
}

#[test]
fn keeps_every_error_and_slow_trace_and_the_ratio_of_the_rest_over_10_000_traces() {
    const RATIO: f64 = 0.25;
    let config = TailSamplingConfig::default()
        .ratio(RATIO)
        .latency_threshold(Duration::from_secs(1))
        .keep_attribute("tenant.tier", "gold");
    let (provider, out, stats) = provider(config, 42);

    let mut kinds = HashMap::new();
    for i in 0..10_000 {
        let kind = match i % 20 {
            0 => Kind::Error,
            1 => Kind::Slow,
            2 => Kind::Gold,
            _ => Kind::Boring,
        };
        kinds.insert(trace(&provider, kind), kind);
    }

    let kept = out.0.lock().unwrap();
    let mut spans_per_trace: HashMap<TraceId, usize> = HashMap::new();
    for span in kept.iter() {
        *spans_per_trace
            .entry(span.span_context.trace_id())
            .or_default() += 1;
    }
    assert!(
        spans_per_trace.values().all(|&n| n == 3),
        "a kept trace is kept whole"
    );
    let kept_of = |kind: Kind| {
        kinds
            .iter()
            .filter(|(id, k)| **k == kind && spans_per_trace.contains_key(id))
            .count()
    };
    assert_eq!(kept_of(Kind::Error), 500, "every error trace");
    assert_eq!(kept_of(Kind::Slow), 500, "every slow trace");
    assert_eq!(kept_of(Kind::Gold), 500, "every trace matching the rule");

    // The rest: within 4 standard deviations of the ratio...
    let boring = kinds.values().filter(|k| **k == Kind::Boring).count() as f64;
    let kept_boring = kept_of(Kind::Boring) as f64;
    let sigma = (boring * RATIO * (1.0 - RATIO)).sqrt();
    assert!(
        (kept_boring - boring * RATIO).abs() < 4.0 * sigma,
        "kept {kept_boring} of {boring} boring traces, expected about {}",
        boring * RATIO
    );
    // ...and exactly the ones the spec's TraceIdRatioBased head sampler would keep, so that
    // processes sampling the same trace agree.
    let head = Sampler::TraceIdRatioBased(RATIO);
    for (id, kind) in &kinds {
        if *kind != Kind::Boring {
            continue;
        }
        let by_head = head
            .should_sample(None, *id, "request", &SpanKind::Server, &[], &[])
            .decision
            == SamplingDecision::RecordAndSample;
        assert_eq!(by_head, spans_per_trace.contains_key(id), "trace {id}");
    }

    let s = stats.snapshot();
    assert_eq!(s.traces_kept_error, 500);
    assert_eq!(s.traces_kept_slow, 500);
    assert_eq!(s.traces_kept_rule, 500);
    assert_eq!(s.traces_kept_ratio, kept_boring as u64);
    assert_eq!(s.traces_kept() + s.traces_dropped, 10_000);
    assert_eq!(s.traces_decided_early, 0);
    assert_eq!(s.spans_kept, kept.len() as u64);
    assert_eq!(
        s.spans_kept + s.spans_dropped,
        30_000,
        "every span is accounted for"
    );
}

#[test]
fn a_child_that_ends_after_its_root_follows_the_decision() {
    let (provider, out, stats) = provider(TailSamplingConfig::default().ratio(0.0), 7);
    let tracer = provider.tracer("tail-test");
    for fail in [true, false] {
        let root = tracer.start("request");
        let cx = Context::current_with_span(root);
        let mut late = tracer.start_with_context("background.flush", &cx);
        if fail {
            cx.span().set_status(Status::error("bad request"));
        }
        cx.span().end();
        late.end();
    }
    let kept: Vec<_> = out
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(
        kept,
        ["request", "background.flush"],
        "only the failed trace, whole"
    );
    let s = stats.snapshot();
    assert_eq!((s.spans_kept, s.spans_dropped), (2, 2));
    assert_eq!((s.traces_kept_error, s.traces_dropped), (1, 1));
}

#[test]
fn the_buffer_is_bounded_and_the_oldest_trace_is_decided_early_with_what_it_has() {
    let config = TailSamplingConfig::default()
        .ratio(1.0)
        .max_traces(160)
        .max_spans(1_600);
    let (provider, out, stats) = provider(config, 3);
    let tracer = provider.tracer("tail-test");
    // 10,000 traces whose roots never end here (still running): only children end.
    let mut roots = Vec::new();
    for _ in 0..10_000 {
        let root = tracer.start("long.running");
        let cx = Context::current_with_span(root);
        tracer.start_with_context("step", &cx).end();
        roots.push(cx);
    }
    let s = stats.snapshot();
    let waiting = 10_000 - s.spans_kept - s.spans_dropped;
    assert!(
        waiting <= 160,
        "{waiting} spans still waiting, bound is 160 traces"
    );
    assert_eq!(s.traces_decided_early, s.traces_kept());
    assert_eq!(out.0.lock().unwrap().len() as u64, s.spans_kept);

    // Flushing decides the rest; ratio 1.0 keeps all of them.
    provider.force_flush().unwrap();
    let s = stats.snapshot();
    assert_eq!(s.spans_kept, 10_000);
    let traces: HashSet<_> = out
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.span_context.trace_id())
        .collect();
    assert_eq!(traces.len(), 10_000);
    drop(roots);
}

#[test]
fn big_spans_are_bounded_by_bytes_as_well_as_by_count() {
    // Count bounds that 2,000 waiting spans fit; a byte bound that 20 of 100 KB do.
    let config = TailSamplingConfig::default()
        .ratio(1.0)
        .max_traces(10_000)
        .max_spans(100_000)
        .max_bytes(2 * 1024 * 1024);
    let (provider, out, stats) = provider(config, 4);
    let tracer = provider.tracer("tail-test");
    let agent = "A".repeat(100_000);
    let mut roots = Vec::new();
    for _ in 0..2_000 {
        let root = tracer.start("long.running");
        let cx = Context::current_with_span(root);
        let mut step = tracer.start_with_context("step", &cx);
        step.set_attribute(KeyValue::new("user_agent.original", agent.clone()));
        step.end();
        roots.push(cx);
    }
    let s = stats.snapshot();
    let waiting = 2_000 - s.spans_kept - s.spans_dropped;
    // 2 MiB over 100 KB spans, with per-shard rounding: a few dozen at most.
    assert!(waiting <= 40, "{waiting} spans of 100 KB still waiting");
    assert!(s.traces_decided_early >= 1_900, "{s:?}");
    provider.force_flush().unwrap();
    assert_eq!(out.0.lock().unwrap().len(), 2_000);
    drop(roots);
}

#[test]
fn through_the_builder_only_kept_traces_reach_the_collector_and_stats_say_why() {
    let receiver = support::HttpReceiver::start();
    let telemetry = beacon::builder()
        .env_source(|_| None)
        .service_name("tail-sampled")
        .otlp_endpoint(receiver.endpoint())
        .otlp_protocol(beacon::config::Protocol::HttpProtobuf)
        .tail_sampling(TailSamplingConfig::default().ratio(0.0))
        .build()
        .expect("pipeline builds");
    tracing::dispatcher::with_default(&telemetry.dispatch(), || {
        for i in 0..20 {
            let span = tracing::info_span!("job", otel.status_code = tracing::field::Empty);
            let _entered = span.enter();
            tracing::info_span!("step").in_scope(|| {});
            if i == 7 {
                span.record("otel.status_code", "ERROR");
            }
        }
    });
    let stats = telemetry.shutdown().expect("clean shutdown");
    assert!(receiver.wait_for(Duration::from_secs(10), |r| r.spans().count() >= 2));
    receiver.with(|r| {
        let names = r.span_names();
        assert_eq!(names.len(), 2, "only the failed trace: {names:?}");
    });
    let tail: TailSnapshot = stats.tail_sampling.expect("tail sampling stats");
    assert_eq!((tail.traces_kept_error, tail.traces_dropped), (1, 19));
    assert_eq!((tail.spans_kept, tail.spans_dropped), (2, 38));
    assert_eq!(tail.traces_kept_ratio + tail.traces_decided_early, 0);
    assert_eq!(stats.traces.exported, 2);
    assert_eq!(stats.lost(), 0, "sampled-out spans are not lost");
}
