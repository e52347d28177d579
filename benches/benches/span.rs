//! The span hot path: `info_span!` with two fields, created, entered, exited and closed,
//! through Beacon's stack and through the stacks it replaces, in one run.
//!
//! `cargo xtask bench -- span_` (or `cargo bench -p beacon-benches --bench span`).

use std::hint::black_box;

use beacon::config::{Exporter, Sampler};
use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::trace::{Sampler as SdkSampler, SdkTracerProvider};
use tracing::Dispatch;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::{EnvFilter, Registry};

fn one_span() {
    let span = tracing::info_span!("request", user.id = 42_u64, http.route = "/users/{id}");
    let entered = span.enter();
    black_box(&entered);
    drop(entered);
    drop(span);
}

fn one_filtered_span() {
    let span = tracing::debug_span!("request", user.id = 42_u64, http.route = "/users/{id}");
    let entered = span.enter();
    black_box(&entered);
}

/// What a user assembles by hand for the same result as Beacon: the tracing-opentelemetry
/// layer (default settings) and the log bridge over an SDK tracer provider.
fn hand_assembled(sampler: SdkSampler) -> (Dispatch, SdkTracerProvider, SdkLoggerProvider) {
    let tp = SdkTracerProvider::builder().with_sampler(sampler).build();
    let lp = SdkLoggerProvider::builder().build();
    let subscriber = Registry::default()
        .with(EnvFilter::new("info"))
        .with(tracing_opentelemetry::layer().with_tracer(tp.tracer("bench")))
        .with(OpenTelemetryTracingBridge::new(&lp));
    (Dispatch::new(subscriber), tp, lp)
}

fn beacon(sampler: Sampler) -> beacon::Telemetry {
    beacon::builder()
        .env_source(|_| None)
        .sampler(sampler)
        .traces_exporter(Exporter::None)
        .metrics_exporter(Exporter::None)
        .logs_exporter(Exporter::None)
        .filter("info")
        .build()
        .expect("beacon builds")
}

fn under(
    dispatch: &Dispatch,
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    f: fn(),
) {
    tracing::dispatcher::with_default(dispatch, || c.bench_function(name, |b| b.iter(f)));
}

fn span_hot_path(c: &mut Criterion) {
    let mut g = c.benchmark_group("span_hot_path");
    under(
        &Dispatch::new(Registry::default()),
        &mut g,
        "registry_only",
        one_span,
    );
    let (hand, _tp, _lp) = hand_assembled(SdkSampler::AlwaysOn);
    under(&hand, &mut g, "hand_assembled", one_span);
    let t = beacon(Sampler::AlwaysOn);
    under(&t.dispatch(), &mut g, "beacon", one_span);

    // Where the time goes: the hand-assembled stack with inactivity tracking off (Beacon's
    // setting), and without the log bridge.
    let tp_a = SdkTracerProvider::builder().build();
    let lp_a = SdkLoggerProvider::builder().build();
    let no_inactivity = Dispatch::new(
        Registry::default()
            .with(EnvFilter::new("info"))
            .with(
                tracing_opentelemetry::layer()
                    .with_tracer(tp_a.tracer("bench"))
                    .with_tracked_inactivity(false),
            )
            .with(OpenTelemetryTracingBridge::new(&lp_a)),
    );
    under(
        &no_inactivity,
        &mut g,
        "hand_assembled_inactivity_off",
        one_span,
    );
    let no_bridge = Dispatch::new(
        Registry::default()
            .with(EnvFilter::new("info"))
            .with(tracing_opentelemetry::layer().with_tracer(tp_a.tracer("bench"))),
    );
    under(&no_bridge, &mut g, "hand_assembled_no_log_bridge", one_span);

    let tp = SdkTracerProvider::builder()
        .with_sampler(SdkSampler::AlwaysOn)
        .build();
    let tracer = tp.tracer("bench");
    g.bench_function("sdk_direct", |b| {
        b.iter(|| {
            let mut span = tracer
                .span_builder("request")
                .with_attributes([
                    KeyValue::new("user.id", 42_i64),
                    KeyValue::new("http.route", "/users/{id}"),
                ])
                .start(&tracer);
            span.end();
        })
    });
    g.finish();
}

fn span_sampled_out(c: &mut Criterion) {
    let mut g = c.benchmark_group("span_sampled_out");
    under(
        &Dispatch::new(Registry::default()),
        &mut g,
        "registry_only",
        one_span,
    );
    let (hand, _tp, _lp) = hand_assembled(SdkSampler::AlwaysOff);
    under(&hand, &mut g, "hand_assembled", one_span);
    let t = beacon(Sampler::AlwaysOff);
    under(&t.dispatch(), &mut g, "beacon", one_span);
    g.finish();
}

fn span_level_filtered(c: &mut Criterion) {
    let mut g = c.benchmark_group("span_level_filtered");
    under(
        &Dispatch::new(Registry::default().with(EnvFilter::new("info"))),
        &mut g,
        "registry_envfilter",
        one_filtered_span,
    );
    let (hand, _tp, _lp) = hand_assembled(SdkSampler::AlwaysOn);
    under(&hand, &mut g, "hand_assembled", one_filtered_span);
    let t = beacon(Sampler::AlwaysOn);
    under(&t.dispatch(), &mut g, "beacon", one_filtered_span);
    g.finish();
}

criterion_group!(
    benches,
    span_hot_path,
    span_sampled_out,
    span_level_filtered
);
criterion_main!(benches);
