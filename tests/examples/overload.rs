//! Overload: spans made as fast as one thread can for a few seconds while the collector is
//! away (so the exporter ships nothing). Memory stays bounded by the queue and the retry
//! buffer, the loss is counted exactly, and the application thread never waits on telemetry.
//!
//! `cargo run --release -p beacon-tests --example overload [seconds]`

use std::time::{Duration, Instant};

use beacon::config::{BatchConfig, Exporter, Protocol};

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
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let port = beacon_tests::free_port()?; // nothing listens there
    let telemetry = beacon::builder()
        .env_source(|_| None)
        .otlp_endpoint(format!("http://127.0.0.1:{port}"))
        .otlp_protocol(Protocol::Grpc)
        .otlp_timeout(Duration::from_millis(200))
        .span_batch(BatchConfig {
            scheduled_delay: Duration::from_millis(200),
            ..BatchConfig::default()
        })
        .metrics_exporter(Exporter::None)
        .logs_exporter(Exporter::None)
        .shutdown_timeout(Duration::from_secs(5))
        .build()?;
    // Touch the latency buffer first, so its pages are not counted as telemetry's growth.
    let mut lat = vec![Duration::ZERO; 1 << 20];
    lat.clear();
    let rss_before = rss_kib();
    let mut worst = Duration::ZERO;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut made = 0_u64;
    let mut rss_peak = rss_before;
    tracing::dispatcher::with_default(&telemetry.dispatch(), || {
        while Instant::now() < deadline {
            let t = Instant::now();
            tracing::info_span!("overload.span", n = made as i64).in_scope(|| {});
            let d = t.elapsed();
            worst = worst.max(d);
            if lat.len() < lat.capacity() {
                lat.push(d);
            }
            made += 1;
            if made.is_multiple_of(100_000) {
                rss_peak = rss_peak.max(rss_kib());
            }
        }
    });
    lat.sort_unstable();
    let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    let stats = match telemetry.shutdown() {
        Ok(s) => s,
        Err(e) => *e.stats,
    };
    let t = stats.traces;
    println!(
        "{seconds} s, collector away: {made} spans made ({:.0}/s)",
        made as f64 / seconds as f64
    );
    println!(
        "  span create+end: p50 {:?}, p99 {:?}, p99.9 {:?}, max {:?}",
        p(0.5),
        p(0.99),
        p(0.999),
        worst
    );
    println!(
        "  RSS: {} KiB before, {} KiB peak during",
        rss_before, rss_peak
    );
    println!(
        "  accepted {} = exported {} + dropped {} + failed {} + retained {} -> {}",
        t.accepted,
        t.exported,
        t.dropped,
        t.failed,
        t.retained,
        if t.accepted == t.exported + t.dropped + t.failed + t.retained {
            "adds up"
        } else {
            "DOES NOT ADD UP"
        }
    );
    Ok(())
}
