//! Worst-case memory under hostile requests while the collector is away: every request
//! carries a 300 KB `User-Agent` and a 300 KB captured header (issue 24: the same traffic took
//! a process to 573 MB, 2.37 GB with the header captured). The middleware cuts each value to
//! 4 KiB and the queues hold at most their byte budget, so growth stays bounded.
//!
//! `cargo run --release -p beacon-tests --example hostile_memory [requests]`

use std::time::Duration;

use axum::routing::get;
use beacon::config::{Exporter, Protocol};
use beacon_middleware::http::ServerLayer;
use tower::ServiceExt as _;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let requests: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(4_500);
    let port = beacon_tests::free_port()?; // nothing listens there
    let telemetry = beacon::builder()
        .env_source(|_| None)
        .otlp_endpoint(format!("http://127.0.0.1:{port}"))
        .otlp_protocol(Protocol::Grpc)
        .otlp_timeout(Duration::from_millis(200))
        .metrics_exporter(Exporter::None)
        .logs_exporter(Exporter::None)
        .shutdown_timeout(Duration::from_secs(5))
        .build()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let app = axum::Router::new()
        .route("/{*rest}", get(|| async { "ok" }))
        .layer(
            ServerLayer::new()
                .meter_provider(&telemetry.meter_provider())
                .propagator(telemetry.propagator())
                .capture_request_headers(["x-note"]),
        );
    let big = "A".repeat(300_000);
    let rss_before = rss_kib();
    let mut rss_peak = rss_before;
    let _dispatch = tracing::dispatcher::set_default(&telemetry.dispatch());
    rt.block_on(async {
        for i in 0..requests {
            let request = http::Request::get(format!("/item/{i}"))
                .header("user-agent", big.as_str())
                .header("x-note", big.as_str())
                .body(axum::body::Body::empty())?;
            let response = app.clone().oneshot(request).await?;
            drop(response);
            if i % 500 == 0 {
                rss_peak = rss_peak.max(rss_kib());
            }
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    rss_peak = rss_peak.max(rss_kib());
    let stats = telemetry.stats();
    println!(
        "{requests} requests with a 300 KB User-Agent and a 300 KB captured header, collector away: \
         RSS {} MiB -> peak {} MiB (+{} MiB); spans accepted {}, dropped {}, retained {}",
        rss_before / 1024,
        rss_peak / 1024,
        (rss_peak.saturating_sub(rss_before)) / 1024,
        stats.traces.accepted,
        stats.traces.dropped,
        stats.traces.retained,
    );
    Ok(())
}
