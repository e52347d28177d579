//! Added time per request of HTTP server instrumentation: a `/users/{id}` route with a trivial
//! handler through axum's `Router`, in process (no network), with no layer, with Beacon's
//! `ServerLayer` (span + metrics), and with `tower-http`'s `TraceLayer` over a hand-assembled
//! `tracing-opentelemetry` stack (span only), in one run.
//!
//! `cargo xtask bench -- http_` (or `cargo bench -p beacon-benches --bench http`).

use std::hint::black_box;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use beacon::config::Exporter;
use beacon_middleware::http::ServerLayer;
use criterion::{criterion_group, criterion_main, Criterion};
use http::Request;
use http_body_util::BodyExt as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tower::ServiceExt as _;
use tracing::Dispatch;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::{EnvFilter, Registry};

fn app() -> Router {
    Router::new().route("/users/{id}", get(|| async { "ok" }))
}

async fn one_request(app: &Router) {
    let request = Request::get("/users/42")
        .body(Body::empty())
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("response");
    let body = response.into_body().collect().await.expect("body");
    black_box(body);
}

fn http_server(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("http_server");

    let telemetry = beacon::builder()
        .env_source(|_| None)
        .traces_exporter(Exporter::None)
        .metrics_exporter(Exporter::None)
        .logs_exporter(Exporter::None)
        .filter("info")
        .build()
        .expect("beacon builds");
    let dispatch = telemetry.dispatch();

    let bare = app();
    tracing::dispatcher::with_default(&dispatch, || {
        g.bench_function("no_middleware", |b| {
            b.iter(|| rt.block_on(one_request(&bare)))
        });
    });

    let meters = beacon_benches::aggregating_meter_provider();
    let beacon_app = app().layer(
        ServerLayer::new()
            .meter_provider(&meters)
            .propagator(telemetry.propagator()),
    );
    tracing::dispatcher::with_default(&dispatch, || {
        g.bench_function("beacon_server_layer", |b| {
            b.iter(|| rt.block_on(one_request(&beacon_app)));
        });
    });
    // The same, keeping an exemplar of each request's duration (as when metrics go to OTLP or
    // a Prometheus reader, with the default `trace_based` filter).
    beacon::metrics::exemplars().enable(beacon::metrics::ExemplarFilter::TraceBased);
    tracing::dispatcher::with_default(&dispatch, || {
        g.bench_function("beacon_server_layer_exemplars", |b| {
            b.iter(|| rt.block_on(one_request(&beacon_app)));
        });
    });
    beacon::metrics::exemplars().enable(beacon::metrics::ExemplarFilter::AlwaysOff);

    // The same layer recording into a provider without readers (the SDK makes its instruments
    // no-ops): the cost of the span alone.
    let no_readers = SdkMeterProvider::builder().build();
    let spans_only_app = app().layer(
        ServerLayer::new()
            .meter_provider(&no_readers)
            .propagator(telemetry.propagator()),
    );
    tracing::dispatcher::with_default(&dispatch, || {
        g.bench_function("beacon_server_layer_span_only", |b| {
            b.iter(|| rt.block_on(one_request(&spans_only_app)));
        });
    });

    // tower-http's TraceLayer, its span at INFO so the filter keeps it, over the stack a user
    // assembles by hand (defaults: inactivity tracking on).
    let tp = SdkTracerProvider::builder().build();
    let hand = Dispatch::new(
        Registry::default()
            .with(EnvFilter::new("info"))
            .with(tracing_opentelemetry::layer().with_tracer(tp.tracer("bench"))),
    );
    let traced_app = app().layer(
        tower_http::trace::TraceLayer::new_for_http()
            .make_span_with(tower_http::trace::DefaultMakeSpan::new().level(tracing::Level::INFO)),
    );
    tracing::dispatcher::with_default(&hand, || {
        g.bench_function("tower_http_trace_layer", |b| {
            b.iter(|| rt.block_on(one_request(&traced_app)));
        });
    });
    g.finish();
}

criterion_group!(benches, http_server);
criterion_main!(benches);
