//! How fast the disk spool takes data while the collector is away: spans made on one thread
//! into a batch processor whose every export fails (`UNAVAILABLE`) and which keeps nothing in
//! memory, so every 512-span batch is encoded as an OTLP request, checksummed and appended to
//! the spool. Prints spans per second and megabytes per second written.
//!
//! `cargo run --release -p beacon-benches --example spool_write_rate [spans]` (default 200,000).

use std::time::{Duration, Instant};

use beacon_exporter::batch::{BatchConfig, BatchSpanProcessor};
use beacon_exporter::otlp::Signal;
use beacon_exporter::spool::{Spool, SpoolConfig};
use beacon_exporter::ExportRuntime;
use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};

#[derive(Debug)]
struct Away;

impl SpanExporter for Away {
    async fn export(&self, _: Vec<SpanData>) -> OTelSdkResult {
        Err(OTelSdkError::InternalFailure(
            "TonicTracesClient export failed with gRPC code: Unavailable".to_owned(),
        ))
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(200_000);
    let dir = std::env::temp_dir().join(format!("beacon-spool-rate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let rt = ExportRuntime::new()?;
    let spool = Spool::open(
        &SpoolConfig::new(&dir).with_max_bytes(4 * 1024 * 1024 * 1024),
        Signal::Traces,
    )?;
    let config = BatchConfig {
        max_queue_size: 65_536,
        max_retained: 0,
        scheduled_delay: Duration::from_secs(3600),
        ..BatchConfig::default()
    };
    let processor = BatchSpanProcessor::with_spool(Away, config, spool, &rt);
    let stats = processor.stats();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .build();
    let tracer = provider.tracer("rate");
    let started = Instant::now();
    let mut made = 0;
    while made < n {
        tracer.in_span("request", |cx| {
            use opentelemetry::trace::TraceContextExt as _;
            cx.span()
                .set_attribute(KeyValue::new("http.route", "/users/{id}"));
            cx.span().set_attribute(KeyValue::new("user.id", 42));
        });
        made += 1;
        // Keep the queue from overflowing: wait (yielding) for the worker to catch up.
        while stats.snapshot().in_flight() > 32_768 {
            std::thread::yield_now();
        }
    }
    while stats.snapshot().in_flight() >= 512 {
        std::thread::yield_now();
    }
    let took = started.elapsed();
    let s = stats.snapshot();
    println!(
        "spooled {} spans ({} dropped) in {:.2?}: {:.0} spans/s, {:.1} MB/s ({} bytes, {:.0} bytes/span)",
        s.spooled,
        s.dropped,
        took,
        s.spooled as f64 / took.as_secs_f64(),
        s.spooled_bytes as f64 / took.as_secs_f64() / 1e6,
        s.spooled_bytes,
        s.spooled_bytes as f64 / s.spooled.max(1) as f64,
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
