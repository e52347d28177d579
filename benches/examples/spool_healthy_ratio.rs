//! The disk spool's cost on the healthy path, as a same-run ratio that drift on a shared
//! machine cannot fake: two batch span processors whose exporter always succeeds, one with a
//! spool behind it, measured in many short alternating rounds (off then on, then on then off,
//! …), each round timing the same number of spans on each. Prints the median of the per-round
//! ratios (on / off), their spread, and the spans per second of each.
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

/// Seconds to make `n` spans with `tracer`.
fn round(tracer: &opentelemetry_sdk::trace::SdkTracer, n: u64) -> f64 {
    let started = Instant::now();
    for _ in 0..n {
        tracer.in_span("request", |cx| {
            cx.span().set_attribute(KeyValue::new("user.id", 42));
            black_box(&cx);
        });
    }
    started.elapsed().as_secs_f64()
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
    let (off, on) = (provider(None, &rt), provider(Some(spool), &rt));
    let (t_off, t_on) = (off.tracer("bench"), on.tracer("bench"));
    // Warm-up: both pipelines, caches and the allocator.
    round(&t_off, spans);
    round(&t_on, spans);
    let (mut ratios, mut s_off, mut s_on) = (Vec::new(), Vec::new(), Vec::new());
    for r in 0..rounds {
        let (a, b) = if r % 2 == 0 {
            let a = round(&t_off, spans);
            (a, round(&t_on, spans))
        } else {
            let b = round(&t_on, spans);
            (round(&t_off, spans), b)
        };
        ratios.push(b / a);
        s_off.push(spans as f64 / a);
        s_on.push(spans as f64 / b);
    }
    let _ = (off.shutdown(), on.shutdown());
    let mut sorted = ratios.clone();
    sorted.sort_by(f64::total_cmp);
    let quartile = |q: usize| sorted[(sorted.len() - 1) * q / 4];
    println!(
        "rounds {rounds} x {spans} spans per setting\nratio on/off (time per span): median \
         {:.3}, quartiles {:.3}..{:.3}\nspans/s: spool off {:.0}, spool on {:.0} (medians)",
        median(&mut ratios),
        quartile(1),
        quartile(3),
        median(&mut s_off),
        median(&mut s_on),
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
