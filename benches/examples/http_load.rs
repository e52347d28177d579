//! Loopback load run: throughput of an axum service whose handler does ~100 µs of CPU work,
//! without instrumentation and with Beacon's `ServerLayer` (spans + metrics), alternating
//! A/B/A/B in one run.
//!
//! `cargo run --release -p beacon-benches --example http_load [seconds per round, default 5]`
//! (`HTTP_LOAD_AA=1`, `HTTP_LOAD_FILTER=warn`, `HTTP_LOAD_NO_METRICS=1`, `HTTP_LOAD_EXEMPLARS=1`
//! vary it, `HTTP_LOAD_TRACE_LAYER=1` measures tower-http's `TraceLayer` instead,
//! `HTTP_LOAD_CONTRIB=1` opentelemetry-instrumentation-tower,
//! `HTTP_LOAD_ROUNDS` sets the number of A/B pairs, default 2; see BENCHMARKS.md)
//!
//! The server runs on one tokio worker, the load generator (16 keep-alive connections) on
//! another, so on a 2-core machine each has a core. Spans are recorded by Beacon's pipeline with
//! no exporter (export happens off the request path, on Beacon's own thread, and is not what
//! is measured here); metrics aggregate into a reader that never exports during the run.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use beacon::config::Exporter;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// The handler's work: ~100 µs of CPU, spun (it is the behaviour under load, not a wait).
fn work() -> &'static str {
    let start = Instant::now();
    while start.elapsed() < Duration::from_micros(100) {
        std::hint::spin_loop();
    }
    "done"
}

fn serve(app: Router) -> (SocketAddr, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("server runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    rt.spawn(async move { axum::serve(listener, app).await });
    (addr, rt)
}

fn load(addr: SocketAddr, seconds: u64) -> f64 {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("client runtime");
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let url: http::Uri = format!("http://{addr}/work").parse().expect("uri");
    let started = Instant::now();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (client, url, done, stop) =
                (client.clone(), url.clone(), done.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let response = client.get(url.clone()).await.expect("response");
                    response.into_body().collect().await.expect("body");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        // The run's length is the measurement itself.
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            t.await.expect("load task");
        }
    });
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let seconds = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    // `HTTP_LOAD_TRACE_LAYER=1`: the instrumented side is tower-http's `TraceLayer` (span at
    // INFO) over a hand-assembled Registry + EnvFilter + tracing-opentelemetry stack, spans
    // only: the stock stack under the same load, for comparison.
    let trace_layer = std::env::var_os("HTTP_LOAD_TRACE_LAYER").is_some();
    // `HTTP_LOAD_CONTRIB=1`: the instrumented side is opentelemetry-instrumentation-tower
    // (spans and metrics on the OTel API, global providers set here), under Beacon's
    // subscriber.
    let contrib = std::env::var_os("HTTP_LOAD_CONTRIB").is_some();
    let _telemetry = if trace_layer {
        use opentelemetry::trace::TracerProvider as _;
        use tracing_subscriber::layer::SubscriberExt as _;
        let tp = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let subscriber = tracing_subscriber::Registry::default()
            .with(tracing_subscriber::EnvFilter::new("info"))
            .with(tracing_opentelemetry::layer().with_tracer(tp.tracer("load")));
        tracing::subscriber::set_global_default(subscriber).expect("subscriber");
        None
    } else {
        Some(
            beacon::builder()
                .env_source(|_| None)
                .traces_exporter(Exporter::None)
                .metrics_exporter(Exporter::None)
                .logs_exporter(Exporter::None)
                .filter(std::env::var("HTTP_LOAD_FILTER").unwrap_or_else(|_| "info".into()))
                .try_init()
                .expect("beacon"),
        )
    };
    // `HTTP_LOAD_NO_METRICS=1`: instruments from a provider without readers (no-ops), to
    // separate the metrics' cost from the rest of the layer.
    let meters = if std::env::var_os("HTTP_LOAD_NO_METRICS").is_some() {
        opentelemetry_sdk::metrics::SdkMeterProvider::builder().build()
    } else {
        beacon_benches::aggregating_meter_provider()
    };

    // `HTTP_LOAD_EXEMPLARS=1`: keep an exemplar of each request's duration, as Beacon does when
    // metrics go to OTLP or a Prometheus reader.
    if std::env::var_os("HTTP_LOAD_EXEMPLARS").is_some() {
        beacon::metrics::exemplars().enable(beacon::metrics::ExemplarFilter::TraceBased);
    }

    let bare = Router::new().route("/work", get(|| async { work() }));
    let instrumented = Router::new().route("/work", get(|| async { work() }));
    let instrumented = if contrib {
        opentelemetry::global::set_tracer_provider(
            opentelemetry_sdk::trace::SdkTracerProvider::builder().build(),
        );
        opentelemetry::global::set_meter_provider(meters.clone());
        instrumented.layer(opentelemetry_instrumentation_tower::http::server::Layer::new())
    } else if trace_layer {
        instrumented.layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                tower_http::trace::DefaultMakeSpan::new().level(tracing::Level::INFO),
            ),
        )
    } else {
        instrumented.layer(beacon_middleware::http::ServerLayer::new().meter_provider(&meters))
    };
    let (bare_addr, _bare_rt) = serve(bare);
    let same = std::env::var_os("HTTP_LOAD_AA").is_some();
    let (beacon_addr, _beacon_rt) = if same {
        serve(Router::new().route("/work", get(|| async { work() })))
    } else {
        serve(instrumented)
    };

    // `HTTP_LOAD_ROUNDS`: A/B pairs, alternating which side goes first so neither gains from
    // order; the median of the pairs' losses is the result (one disturbed pair cannot move it).
    let rounds: usize = std::env::var("HTTP_LOAD_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(2);
    let mut losses = Vec::new();
    let (mut plain_sum, mut layered_sum) = (0.0, 0.0);
    for round in 1..=rounds {
        let (plain, layered) = if round % 2 == 1 {
            let plain = load(bare_addr, seconds);
            (plain, load(beacon_addr, seconds))
        } else {
            let layered = load(beacon_addr, seconds);
            (load(bare_addr, seconds), layered)
        };
        let loss = (1.0 - layered / plain) * 100.0;
        println!(
            "round {round}: no middleware {plain:.0} req/s, ServerLayer {layered:.0} req/s, loss {loss:.1}%"
        );
        losses.push(loss);
        plain_sum += plain;
        layered_sum += layered;
    }
    losses.sort_by(f64::total_cmp);
    let median = if losses.len() % 2 == 1 {
        losses[losses.len() / 2]
    } else {
        (losses[losses.len() / 2 - 1] + losses[losses.len() / 2]) / 2.0
    };
    println!(
        "total: loss {:.1}% ({:.0} vs {:.0} req/s on average), median of {rounds} rounds {median:.1}%",
        (1.0 - layered_sum / plain_sum) * 100.0,
        plain_sum / rounds as f64,
        layered_sum / rounds as f64,
    );
}
