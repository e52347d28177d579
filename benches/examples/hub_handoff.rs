//! Instructions the application's thread spends per span, with no destination, a discarding
//! batch destination, and the live hub: deterministic where wall-clock figures on a shared
//! machine are not. Run under callgrind, counting only inside `one_span`:
//!
//! ```text
//! cargo build --release -p beacon-benches --example hub_handoff
//! for mode in none discard hub; do
//!   valgrind --tool=callgrind --toggle-collect='hub_handoff::one_span' \
//!     --callgrind-out-file=/tmp/handoff.$mode target/release/examples/hub_handoff $mode 2>&1 \
//!     | grep 'Collected'
//! done
//! ```
//!
//! Each mode makes `SPANS` spans in bursts of 256 (under one batch, so the worker is not
//! woken during a burst), flushing between bursts so that the destination's worker has
//! stored everything before the next one; the worker's own instructions are not counted.

use beacon::config::Exporter;

const SPANS: u64 = 20_480;
const BURST: u64 = 256;

#[inline(never)]
fn one_span() {
    let span = tracing::info_span!("request", user.id = 42_u64, http.route = "/users/{id}");
    let entered = span.enter();
    std::hint::black_box(&entered);
    drop(entered);
    drop(span);
}

#[derive(Debug)]
struct Discard;

impl opentelemetry_sdk::trace::SpanExporter for Discard {
    async fn export(
        &self,
        _batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "none".into());
    let runtime = beacon_exporter::ExportRuntime::new()?;
    let b = beacon::builder()
        .env_source(|_| None)
        .traces_exporter(Exporter::None)
        .metrics_exporter(Exporter::None)
        .logs_exporter(Exporter::None)
        .filter("info");
    let b = match mode.as_str() {
        "none" => b,
        "discard" => b.with_span_processor(beacon_exporter::batch::BatchSpanProcessor::new(
            Discard,
            beacon_exporter::batch::BatchConfig::default(),
            &runtime,
        )),
        "hub" => b.local_hub(),
        other => return Err(format!("mode is none, discard or hub, not {other:?}").into()),
    };
    let telemetry = b.build()?;
    tracing::dispatcher::with_default(&telemetry.dispatch(), || {
        let mut left = SPANS;
        while left > 0 {
            let n = left.min(BURST);
            for _ in 0..n {
                one_span();
            }
            left -= n;
            telemetry.flush().map_err(|e| format!("{e:?}"))?;
        }
        Ok::<(), String>(())
    })?;
    let stats = telemetry.stats();
    println!(
        "{mode}: {SPANS} spans; accepted {}, dropped {}",
        stats.traces.accepted, stats.traces.dropped
    );
    if let Some(hub) = telemetry.hub() {
        let newest = hub.traces(&beacon::hub::query::TraceQuery::default());
        let resource = newest
            .first()
            .and_then(|t| hub.trace(t.trace_id))
            .and_then(|v| v.spans.first().map(|s| s.resource.attributes.0.len()));
        println!(
            "hub holds {} spans; a span's resource has {resource:?} attributes",
            hub.stats().spans
        );
    }
    Ok(())
}
