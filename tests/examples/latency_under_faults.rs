//! Request latency of an instrumented service (axum + `ServerLayer`, a handler doing ~100 µs
//! of CPU work, spans and logs exported over OTLP/gRPC) while its collector is healthy, down,
//! and stalling (accepting connections but never answering), in one run.
//!
//! `cargo run --release -p beacon-tests --example latency_under_faults [seconds per phase]`
//! (needs the rotel agent: `cargo xtask ci` installs it into `.cache/rotel`, or set
//! `BEACON_ROTEL_AGENT`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::routing::get;
use beacon::config::{BatchConfig, Protocol};
use beacon_tests::rotel::Rotel;
use beacon_tests::stall::StallProxy;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// ~100 µs of CPU: the work under load, spun on purpose.
fn work() -> &'static str {
    let start = Instant::now();
    while start.elapsed() < Duration::from_micros(100) {
        std::hint::spin_loop();
    }
    tracing::info!("order priced");
    "ok"
}

/// Sequential requests for `seconds`: their latencies, sorted.
async fn measure(addr: SocketAddr, seconds: u64) -> Vec<Duration> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let url: http::Uri = format!("http://{addr}/orders/1").parse().expect("uri");
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut latencies = Vec::new();
    while Instant::now() < until {
        let started = Instant::now();
        let response = client.get(url.clone()).await.expect("response");
        response.into_body().collect().await.expect("body");
        latencies.push(started.elapsed());
    }
    latencies.sort();
    latencies
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let rotel = Rotel::start()?;
    let proxy = StallProxy::start(rotel.grpc_port)?;
    let telemetry = beacon::builder()
        .service_name("latency-under-faults")
        .otlp_endpoint(format!("http://127.0.0.1:{}", proxy.port()))
        .otlp_protocol(Protocol::Grpc)
        .otlp_timeout(Duration::from_millis(500))
        .span_batch(BatchConfig {
            scheduled_delay: Duration::from_millis(200),
            ..BatchConfig::default()
        })
        .try_init()?;
    let app = axum::Router::new()
        .route("/orders/{id}", get(|| async { work() }))
        .layer(beacon_middleware::http::ServerLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });

    measure(addr, 1).await; // warm-up
    println!("| collector | requests | p50 | p99 | p50 vs healthy | p99 vs healthy |");
    println!("|---|---|---|---|---|---|");
    let healthy = measure(addr, seconds).await;
    let row = |name: &str, l: &[Duration]| {
        println!(
            "| {name} | {} | {:.1} µs | {:.1} µs | {:+.1} % | {:+.1} % |",
            l.len(),
            pct(l, 0.5).as_secs_f64() * 1e6,
            pct(l, 0.99).as_secs_f64() * 1e6,
            (pct(l, 0.5).as_secs_f64() / pct(&healthy, 0.5).as_secs_f64() - 1.0) * 100.0,
            (pct(l, 0.99).as_secs_f64() / pct(&healthy, 0.99).as_secs_f64() - 1.0) * 100.0,
        );
    };
    row("healthy", &healthy);
    proxy.stall();
    let stalled = measure(addr, seconds).await;
    row("stalling (accepts, never answers)", &stalled);
    proxy.resume();
    drop(rotel);
    let down = measure(addr, seconds).await;
    row("down (killed)", &down);
    let stats = telemetry.stats();
    println!(
        "\nspans: accepted {} = exported {} + retained {} + dropped {} + failed {} + in flight {}",
        stats.traces.accepted,
        stats.traces.exported,
        stats.traces.retained,
        stats.traces.dropped,
        stats.traces.failed,
        stats.traces.in_flight()
    );
    Ok(())
}
