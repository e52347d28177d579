//! `OTEL_TRACES_SAMPLER=traceidratio` / `parentbased_traceidratio` with a seeded id generator:
//! over 10,000 roots the kept share is the ratio (within 4 standard deviations), the same seed
//! keeps the same traces, and a child follows its parent whatever the ratio.

mod support;

use beacon::otel::api::trace::{
    Span as _, SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    Tracer as _, TracerProvider as _,
};
use beacon::otel::api::Context;
use beacon_test::SeededIds;

fn kept(sampler: &str, ratio: f64, seed: u64, roots: usize) -> usize {
    let telemetry = support::env_builder(&[
        ("OTEL_TRACES_SAMPLER", sampler.to_owned()),
        ("OTEL_TRACES_SAMPLER_ARG", ratio.to_string()),
        ("OTEL_TRACES_EXPORTER", "none".to_owned()),
        ("OTEL_METRICS_EXPORTER", "none".to_owned()),
        ("OTEL_LOGS_EXPORTER", "none".to_owned()),
    ])
    .id_generator(SeededIds::new(seed))
    .build()
    .expect("pipeline builds");
    let tracer = telemetry.tracer_provider().tracer("ratio");
    (0..roots)
        .filter(|_| {
            let mut span = tracer.start("root");
            let sampled = span.span_context().is_sampled();
            span.end();
            sampled
        })
        .count()
}

#[test]
fn the_kept_share_is_the_ratio_and_repeatable_with_a_seed() {
    const N: usize = 10_000;
    for (sampler, ratio) in [("traceidratio", 0.25), ("parentbased_traceidratio", 0.1)] {
        let k = kept(sampler, ratio, 11, N);
        let sigma = (N as f64 * ratio * (1.0 - ratio)).sqrt();
        assert!(
            (k as f64 - N as f64 * ratio).abs() < 4.0 * sigma,
            "{sampler} {ratio}: kept {k} of {N}"
        );
        assert_eq!(k, kept(sampler, ratio, 11, N), "same seed, same traces");
    }
}

#[test]
fn a_child_follows_its_sampled_parent_under_parentbased_ratio() {
    let telemetry = support::env_builder(&[
        ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio".to_owned()),
        ("OTEL_TRACES_SAMPLER_ARG", "0".to_owned()),
        ("OTEL_TRACES_EXPORTER", "none".to_owned()),
        ("OTEL_METRICS_EXPORTER", "none".to_owned()),
        ("OTEL_LOGS_EXPORTER", "none".to_owned()),
    ])
    .build()
    .expect("pipeline builds");
    let tracer = telemetry.tracer_provider().tracer("ratio");
    let parent = Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(42_u128),
        SpanId::from(7_u64),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    ));
    let kept = (0..100)
        .filter(|_| {
            tracer
                .start_with_context("child", &parent)
                .span_context()
                .is_sampled()
        })
        .count();
    assert_eq!(
        kept, 100,
        "ratio 0 for roots, but children of a sampled parent are kept"
    );
    assert!(
        !tracer.start("root").span_context().is_sampled(),
        "ratio 0 keeps no root"
    );
}
