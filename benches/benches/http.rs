//! Added time per request of HTTP server instrumentation: a `/users/{id}` route with a trivial
//! handler through axum's `Router`, in process (no network), with no layer, with Beacon's
//! `ServerLayer` (span + metrics), and with `tower-http`'s `TraceLayer` over a hand-assembled
//! `tracing-opentelemetry` stack (span only), in one run.
//!
//! `cargo xtask bench -- http_` (or `cargo bench -p beacon-benches --bench http`);
//! `HTTP_INTERLEAVED=15 cargo bench -p beacon-benches --bench http` alternates the stacks
//! round by round instead (see [`interleaved`]).

use std::hint::black_box;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use beacon::config::Exporter;
use beacon_middleware::http::ServerLayer;
use criterion::{criterion_group, Criterion};
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

/// The stacks under comparison, each an app and the dispatcher it runs under.
struct Stacks {
    rt: tokio::runtime::Runtime,
    /// Keeps Beacon's pipeline alive.
    _telemetry: beacon::Telemetry,
    rows: Vec<Row>,
}

struct Row {
    name: &'static str,
    app: Router,
    dispatch: Dispatch,
    /// Whether Beacon keeps exemplars while this row runs.
    exemplars: bool,
}

impl Stacks {
    fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        // Beacon's pipeline with nothing exported, `filter` deciding which spans are recorded.
        let beacon = |filter: &str| {
            beacon::builder()
                .env_source(|_| None)
                .traces_exporter(Exporter::None)
                .metrics_exporter(Exporter::None)
                .logs_exporter(Exporter::None)
                .filter(filter)
                .build()
                .expect("beacon builds")
        };
        let telemetry = beacon("info");
        let dispatch = telemetry.dispatch();
        // `with_state(())` turns each route's handler into its service once, as `axum::serve`
        // does for each connection; without it axum rebuilds (and re-layers) it per request.
        let row = |name, app: Router, dispatch: &Dispatch, exemplars| Row {
            name,
            app: app.with_state(()),
            dispatch: dispatch.clone(),
            exemplars,
        };

        let meters = beacon_benches::aggregating_meter_provider();
        let beacon_app = app().layer(
            ServerLayer::new()
                .meter_provider(&meters)
                .propagator(telemetry.propagator()),
        );
        // The same layer recording into a provider without readers (the SDK makes its
        // instruments no-ops): the cost of the span alone.
        let no_readers = SdkMeterProvider::builder().build();
        let spans_only_app: Router = app().layer(
            ServerLayer::new()
                .meter_provider(&no_readers)
                .propagator(telemetry.propagator()),
        );

        // tower-http's TraceLayer, its span at INFO so the filter keeps it, over the stack a
        // user assembles by hand (defaults: inactivity tracking on).
        let tp = SdkTracerProvider::builder().build();
        let hand = Dispatch::new(
            Registry::default()
                .with(EnvFilter::new("info"))
                .with(tracing_opentelemetry::layer().with_tracer(tp.tracer("bench"))),
        );
        let traced_app = app().layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                tower_http::trace::DefaultMakeSpan::new().level(tracing::Level::INFO),
            ),
        );
        // opentelemetry-instrumentation-tower (OpenTelemetry contrib): its server span and
        // `http.server.*` metrics go straight to the OTel API, without `tracing`. It reads the
        // global providers when built: an SDK tracer provider without processors (as the other
        // rows have) and an aggregating meter provider.
        opentelemetry::global::set_tracer_provider(SdkTracerProvider::builder().build());
        opentelemetry::global::set_meter_provider(beacon_benches::aggregating_meter_provider());
        let contrib_app =
            app().layer(opentelemetry_instrumentation_tower::http::server::Layer::new());

        // The layer's own work with neither spans (filtered out) nor metrics (no readers).
        let quiet = beacon("warn").dispatch();
        let rows = vec![
            row("no_middleware", app(), &dispatch, false),
            row("beacon_server_layer", beacon_app.clone(), &dispatch, false),
            // Keeping an exemplar of each request's duration (as when metrics go to OTLP or a
            // Prometheus reader, with the default `trace_based` filter).
            row("beacon_server_layer_exemplars", beacon_app, &dispatch, true),
            row(
                "beacon_server_layer_span_only",
                spans_only_app.clone(),
                &dispatch,
                false,
            ),
            row("tower_http_trace_layer", traced_app, &hand, false),
            // Beacon's dispatcher, so that a `tracing` span in a handler would nest under the
            // contrib layer's span through the OTel context, as under Beacon.
            row("otel_instrumentation_tower", contrib_app, &dispatch, false),
            row(
                "beacon_server_layer_disabled",
                spans_only_app,
                &quiet,
                false,
            ),
        ];
        Self {
            rt,
            _telemetry: telemetry,
            rows,
        }
    }

    /// Runs `f` with `row`'s dispatcher and exemplar setting in place.
    fn with_row<R>(row: &Row, f: impl FnOnce() -> R) -> R {
        let filter = if row.exemplars {
            beacon::metrics::ExemplarFilter::TraceBased
        } else {
            beacon::metrics::ExemplarFilter::AlwaysOff
        };
        beacon::metrics::exemplars().enable(filter);
        tracing::dispatcher::with_default(&row.dispatch, f)
    }
}

fn http_server(c: &mut Criterion) {
    let stacks = Stacks::new();
    let mut g = c.benchmark_group("http_server");
    for row in &stacks.rows {
        Stacks::with_row(row, || {
            g.bench_function(row.name, |b| {
                b.iter(|| stacks.rt.block_on(one_request(&row.app)));
            });
        });
    }
    g.finish();
}

/// `HTTP_INTERLEAVED=rounds`: instead of criterion's one-stack-after-another, runs every stack
/// for a short batch in turn, round after round, and prints each stack's median time per
/// request and its added time over `no_middleware`. Drift on a shared machine (neighbours,
/// frequency) then hits every stack alike, which criterion's sequential groups cannot promise.
fn interleaved(rounds: usize) {
    const BATCH: u32 = 20_000;
    let stacks = Stacks::new();
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); stacks.rows.len()];
    for round in 0..=rounds {
        for (i, row) in stacks.rows.iter().enumerate() {
            let ns = Stacks::with_row(row, || {
                let start = std::time::Instant::now();
                stacks.rt.block_on(async {
                    for _ in 0..BATCH {
                        one_request(&row.app).await;
                    }
                });
                start.elapsed().as_nanos() as f64 / f64::from(BATCH)
            });
            // Round 0 warms every stack up.
            if round > 0 {
                samples[i].push(ns);
            }
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let medians: Vec<f64> = samples.iter_mut().map(median).collect();
    println!(
        "{rounds} interleaved rounds of {BATCH} requests per stack; median ns per request, and added over no_middleware:"
    );
    for (row, m) in stacks.rows.iter().zip(&medians) {
        println!("{:<32} {m:>7.0} ns  {:>+7.0} ns", row.name, m - medians[0]);
    }
}

criterion_group!(benches, http_server);

fn main() {
    match std::env::var("HTTP_INTERLEAVED") {
        Ok(rounds) => interleaved(rounds.parse().unwrap_or(15)),
        Err(_) => {
            benches();
            Criterion::default().configure_from_args().final_summary();
        }
    }
}
