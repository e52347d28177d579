//! The disk spool's cost on the healthy path: spans through a batch processor whose exporter
//! always succeeds, with the spool off and on, in one run. The spool is only written when an
//! export fails, so the two should be within noise.
//!
//! `cargo bench -p beacon-benches --bench spool -- --warm-up-time 1 --measurement-time 3`.
//! The write rate of the spool itself: `cargo run --release -p beacon-benches --example
//! spool_write_rate`.

use std::hint::black_box;

use beacon_exporter::batch::{BatchConfig, BatchSpanProcessor};
use beacon_exporter::otlp::Signal;
use beacon_exporter::spool::{Spool, SpoolConfig};
use beacon_exporter::ExportRuntime;
use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::trace::{Tracer as _, TracerProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};

/// A healthy collector that costs nothing: every export succeeds at once.
#[derive(Debug)]
struct Healthy;

impl SpanExporter for Healthy {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        black_box(batch);
        Ok(())
    }
}

fn provider(spool: Option<Spool>, rt: &ExportRuntime) -> SdkTracerProvider {
    let config = BatchConfig::default();
    let processor = match spool {
        Some(spool) => BatchSpanProcessor::with_spool(Healthy, config, spool, rt),
        None => BatchSpanProcessor::new(Healthy, config, rt),
    };
    SdkTracerProvider::builder()
        .with_span_processor(processor)
        .build()
}

fn healthy(c: &mut Criterion) {
    let rt = ExportRuntime::new().expect("runtime");
    let dir = std::env::temp_dir().join(format!("beacon-bench-spool-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let spool =
        |n: &str| Spool::open(&SpoolConfig::new(dir.join(n)), Signal::Traces).expect("spool");
    let mut group = c.benchmark_group("spool_healthy");
    // Each twice, alternating, so that drift on a shared machine shows as a difference
    // between the two runs of the same setting rather than as a cost of the spool.
    for (name, provider) in [
        ("spool_off", provider(None, &rt)),
        ("spool_on", provider(Some(spool("a")), &rt)),
        ("spool_off_again", provider(None, &rt)),
        ("spool_on_again", provider(Some(spool("b")), &rt)),
    ] {
        let tracer = provider.tracer("bench");
        group.bench_function(name, |b| {
            b.iter(|| {
                tracer.in_span("request", |cx| {
                    use opentelemetry::trace::TraceContextExt as _;
                    cx.span().set_attribute(KeyValue::new("user.id", 42));
                    black_box(&cx);
                });
            });
        });
        let _ = provider.shutdown();
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, healthy);
criterion_main!(benches);
