//! `#[beacon::instrument]` against `#[tracing::instrument]` on the same function, the added cost
//! of its `metrics` and `err` options, and `beacon::emit` with Beacon's pipeline installed —
//! all under one installed pipeline (spans sampled and ended, no span or log exporter, metrics
//! aggregated by the Prometheus reader, which is never scraped during the run), with exemplars
//! kept (the default `trace_based` filter) and then with `always_off`.
//!
//! `cargo bench -p beacon-benches --bench functions`

use std::hint::black_box;

use beacon::config::Exporter;
use criterion::{criterion_group, criterion_main, Criterion};

#[tracing::instrument]
fn with_tracing(order: u64, sku: &str) -> u64 {
    order + sku.len() as u64
}

#[beacon::instrument]
fn with_beacon(order: u64, sku: &str) -> u64 {
    order + sku.len() as u64
}

#[beacon::instrument(err)]
fn with_beacon_err(order: u64, sku: &str) -> Result<u64, std::fmt::Error> {
    Ok(order + sku.len() as u64)
}

#[beacon::instrument(metrics)]
fn with_beacon_metrics(order: u64, sku: &str) -> u64 {
    order + sku.len() as u64
}

#[derive(beacon::Event)]
#[event(name = "payment.charged")]
struct Charged {
    order_id: u64,
    amount: f64,
    currency: &'static str,
}

fn functions(c: &mut Criterion) {
    let _telemetry = beacon::builder()
        .env_source(|_| None)
        .traces_exporter(Exporter::None)
        .metrics_exporter(Exporter::Prometheus)
        .prometheus_listener(false)
        .logs_exporter(Exporter::None)
        .collectors(beacon::collectors::Collectors::none())
        .filter("info")
        .try_init()
        .expect("beacon installs");

    let mut g = c.benchmark_group("instrument");
    g.bench_function("tracing_instrument", |b| {
        b.iter(|| with_tracing(black_box(7), black_box("espresso")))
    });
    g.bench_function("beacon_instrument", |b| {
        b.iter(|| with_beacon(black_box(7), black_box("espresso")))
    });
    g.bench_function("beacon_instrument_err", |b| {
        b.iter(|| with_beacon_err(black_box(7), black_box("espresso")))
    });
    g.bench_function("beacon_instrument_metrics", |b| {
        b.iter(|| with_beacon_metrics(black_box(7), black_box("espresso")))
    });
    beacon::metrics::exemplars().enable(beacon::metrics::ExemplarFilter::AlwaysOff);
    g.bench_function("beacon_instrument_metrics_no_exemplars", |b| {
        b.iter(|| with_beacon_metrics(black_box(7), black_box("espresso")))
    });
    beacon::metrics::exemplars().enable(beacon::metrics::ExemplarFilter::TraceBased);
    g.finish();

    let mut g = c.benchmark_group("emit");
    g.bench_function("installed_pipeline", |b| {
        b.iter(|| {
            beacon::emit(Charged {
                order_id: black_box(7),
                amount: black_box(9.99),
                currency: "EUR",
            })
        })
    });
    g.bench_function("installed_pipeline_in_span", |b| {
        let span = tracing::info_span!("checkout");
        let _entered = span.enter();
        b.iter(|| {
            beacon::emit(Charged {
                order_id: black_box(7),
                amount: black_box(9.99),
                currency: "EUR",
            })
        })
    });
    g.finish();
}

criterion_group!(benches, functions);
criterion_main!(benches);
