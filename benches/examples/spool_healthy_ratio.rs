//! The disk spool's cost on the healthy path, as a same-run ratio that drift on a shared
//! machine cannot fake: three batch span processors whose exporter always succeeds — spool off,
//! spool on, and a second spool-off one as an A/A control — measured in many short rounds, every
//! order of the three in turn, each round timing the same number of spans on each and then
//! flushing (untimed) so that no worker is busy while another is measured. Prints the median and
//! quartiles of the per-round ratios (on / off, and control / off: the noise floor), the spans
//! per second of each, and the segment bytes the spool wrote (0 while exports succeed).
//!
//! `cargo run --release -p beacon-benches --example spool_healthy_ratio [rounds] [spans]`
//! (defaults 40 rounds of 20,000 spans per setting). The criterion bench of the same setup:
//! `cargo bench -p beacon-benches --bench spool`.

use std::hint::black_box;
use std::time::Instant;

use beacon_exporter::batch::{BatchConfig, BatchSpanProcessor};
use beacon_exporter::otlp::Signal;
use beacon_exporter::spool::{Spool, SpoolConfig};
use beacon_exporter::ExportRuntime;
use opentelemetry::trace::{TraceContextExt as _, Tracer as _, TracerProvider as _};
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

/// Seconds to make `n` spans with `provider`'s tracer. Then (untimed) the provider is flushed,
/// so that its worker has nothing left to do when the other setting is measured.
fn round(provider: &SdkTracerProvider, n: u64) -> f64 {
    let tracer = provider.tracer("bench");
    let started = Instant::now();
    for _ in 0..n {
        tracer.in_span("request", |cx| {
            cx.span().set_attribute(KeyValue::new("user.id", 42));
            black_box(&cx);
        });
    }
    let took = started.elapsed().as_secs_f64();
    let _ = provider.force_flush();
    took
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().map_or(Ok(40), |a| a.parse())?;
    let spans: u64 = args.next().map_or(Ok(20_000), |a| a.parse())?;
    let rt = ExportRuntime::new()?;
    let dir = std::env::temp_dir().join(format!("beacon-bench-ratio-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let spool = Spool::open(&SpoolConfig::new(&dir), Signal::Traces)?;
    // `control` is a second pipeline without a spool: its ratio to `off` is the noise floor
    // of this machine, measured the same way (an A/A test).
    let providers = [
        provider(None, &rt),
        provider(Some(spool), &rt),
        provider(None, &rt),
    ];
    // Warm-up: every pipeline, caches and the allocator.
    for p in &providers {
        round(p, spans);
    }
    let (mut on_off, mut control_off) = (Vec::new(), Vec::new());
    let mut rates: [Vec<f64>; 3] = Default::default();
    for r in 0..rounds {
        // Every order of the three in turn, so none is always first or last.
        let order = [
            [0, 1, 2],
            [1, 2, 0],
            [2, 0, 1],
            [0, 2, 1],
            [2, 1, 0],
            [1, 0, 2],
        ][r % 6];
        let mut took = [0.0; 3];
        for i in order {
            took[i] = round(&providers[i], spans);
        }
        on_off.push(took[1] / took[0]);
        control_off.push(took[2] / took[0]);
        for i in 0..3 {
            rates[i].push(spans as f64 / took[i]);
        }
    }
    for p in &providers {
        let _ = p.shutdown();
    }
    let spread = |v: &[f64]| {
        let mut sorted = v.to_vec();
        sorted.sort_by(f64::total_cmp);
        let q = |n: usize| sorted[(sorted.len() - 1) * n / 4];
        (q(2), q(1), q(3))
    };
    let (m, lo, hi) = spread(&on_off);
    let (cm, clo, chi) = spread(&control_off);
    println!(
        "rounds {rounds} x {spans} spans per setting\n\
         spool on / off (time per span): median {m:.3}, quartiles {lo:.3}..{hi:.3}\n\
         control (a second spool-less pipeline) / off: median {cm:.3}, quartiles {clo:.3}..{chi:.3}\n\
         spans/s (medians): off {:.0}, on {:.0}, control {:.0}",
        median(&mut rates[0]),
        median(&mut rates[1]),
        median(&mut rates[2]),
    );
    let segments: u64 = std::fs::read_dir(dir.join("traces"))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "seg"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!("segment bytes the spool wrote while every export succeeded: {segments}");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
