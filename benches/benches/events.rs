//! `beacon::emit` cost on its cheap path: with no subscriber at all, and with Beacon's
//! pipeline built with `OTEL_SDK_DISABLED=true`.
//!
//! `cargo bench -p beacon-benches --bench events`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};

#[derive(beacon::Event)]
#[event(name = "payment.charged")]
struct Charged {
    order_id: u64,
    amount: f64,
    currency: &'static str,
}

fn event() -> Charged {
    Charged {
        order_id: black_box(7),
        amount: black_box(9.99),
        currency: "EUR",
    }
}

fn events(c: &mut Criterion) {
    let mut g = c.benchmark_group("emit");
    g.bench_function("no_subscriber", |b| b.iter(|| beacon::emit(event())));
    let disabled = beacon::builder()
        .env_source(|_| None)
        .disabled(true)
        .build()
        .expect("beacon builds");
    tracing::dispatcher::with_default(&disabled.dispatch(), || {
        g.bench_function("sdk_disabled", |b| b.iter(|| beacon::emit(event())));
    });
    g.finish();
}

criterion_group!(benches, events);
criterion_main!(benches);
