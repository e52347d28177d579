//! A collector outage, side by side: the stock `opentelemetry_sdk` batch span processor with
//! the `opentelemetry-otlp` gRPC exporter, and Beacon's pipeline. Each makes 100 spans while
//! the collector (rotel) is down, then 100 after it is up, and we count what rotel received.
//!
//! `cargo run -p beacon-tests --example outage_vs_stock` (rotel from `cargo xtask ci`'s cache).

use std::time::Duration;

use beacon::config::{BatchConfig, Exporter, Protocol};
use beacon_tests::rotel::Rotel;
use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig as _;

const NAME_LINE: &str = "Name           : outage.span";

fn wait_count(rotel: &Rotel, at_least: usize) -> usize {
    let _ = rotel.wait_for(Duration::from_secs(10), |o| {
        o.matches(NAME_LINE).count() >= at_least
    });
    rotel.output().matches(NAME_LINE).count()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Stock: SDK batch processor + opentelemetry-otlp over gRPC.
    let (grpc, http) = (beacon_tests::free_port()?, beacon_tests::free_port()?);
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(format!("http://127.0.0.1:{grpc}"))
        .with_timeout(Duration::from_millis(500))
        .build()?;
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .build();
    let tracer = provider.tracer("stock");
    for _ in 0..100 {
        tracer.in_span("outage.span", |_| {});
    }
    let _ = tokio::task::spawn_blocking({
        let p = provider.clone();
        move || p.force_flush()
    })
    .await?;
    let rotel = Rotel::start_on(grpc, http)?;
    for _ in 0..100 {
        tracer.in_span("outage.span", |_| {});
    }
    tokio::task::spawn_blocking(move || provider.shutdown()).await??;
    let stock = wait_count(&rotel, 200);
    drop(rotel);

    // Beacon, same traffic.
    let (grpc, http) = (beacon_tests::free_port()?, beacon_tests::free_port()?);
    let telemetry = beacon::builder()
        .env_source(|_| None)
        .otlp_endpoint(format!("http://127.0.0.1:{grpc}"))
        .otlp_protocol(Protocol::Grpc)
        .otlp_timeout(Duration::from_millis(500))
        .span_batch(BatchConfig::default())
        .metrics_exporter(Exporter::None)
        .logs_exporter(Exporter::None)
        .build()?;
    let emit = |n: usize| {
        tracing::dispatcher::with_default(&telemetry.dispatch(), || {
            for _ in 0..n {
                tracing::info_span!("outage.span").in_scope(|| {});
            }
        })
    };
    emit(100);
    let _ = tokio::task::block_in_place(|| telemetry.flush());
    let rotel = Rotel::start_on(grpc, http)?;
    emit(100);
    let stats = tokio::task::block_in_place(|| telemetry.shutdown())?;
    let beacon = wait_count(&rotel, 200);

    println!("collector down for the first 100 of 200 spans:");
    println!("  stock BatchSpanProcessor + opentelemetry-otlp: {stock}/200 delivered");
    println!(
        "  Beacon: {beacon}/200 delivered (exported {}, dropped {}, failed {})",
        stats.traces.exported, stats.traces.dropped, stats.traces.failed
    );
    Ok(())
}
