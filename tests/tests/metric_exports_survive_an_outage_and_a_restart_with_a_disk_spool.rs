//! Beacon's own OTLP metric exporter, with the disk spool on, against a real collector (rotel)
//! on loopback: every collection made while the collector is down reaches it, in order, once
//! it is back; and what a process still held when it shut down during the outage is delivered
//! by the next process started with the same directory. Values are read from rotel's own
//! print-out of every data point it received.

#![cfg(unix)]

use std::path::PathBuf;
use std::time::Duration;

use beacon::config::{Exporter, Protocol, SpoolConfig};
use beacon_tests::rotel::Rotel;

fn pipeline(grpc_port: u16, spool: SpoolConfig) -> beacon::Telemetry {
    beacon::builder()
        .env_source(|_| None)
        .service_name("spool-metrics-test")
        .otlp_endpoint(format!("http://127.0.0.1:{grpc_port}"))
        .otlp_protocol(Protocol::Grpc)
        .otlp_timeout(Duration::from_millis(500))
        .traces_exporter(Exporter::None)
        .logs_exporter(Exporter::None)
        .metrics_exporter(Exporter::Otlp)
        // Only `flush` exports: one collection per call, so the test knows each one.
        .metric_interval(Duration::from_secs(3600))
        .self_telemetry(false)
        .export_spool(spool)
        .build()
        .expect("pipeline builds")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "beacon-e2e-metric-spool-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn rotel_or_skip(grpc: u16) -> Option<Rotel> {
    if beacon_tests::rotel::agent().is_none() && !beacon_tests::in_ci() {
        eprintln!("SKIPPED: rotel-agent not installed (cargo xtask ci installs it)");
        return None;
    }
    let http = beacon_tests::free_port().expect("port");
    match Rotel::start_on(grpc, http) {
        Ok(r) => Some(r),
        Err(e) if beacon_tests::in_ci() => panic!("CI needs a real collector: {e}"),
        Err(e) => {
            eprintln!("SKIPPED: {e}");
            None
        }
    }
}

/// The values rotel printed for the gauge `spool.metric.seq`, in the order it received them.
fn seq_values(output: &str) -> Vec<i64> {
    let mut values = Vec::new();
    let mut in_seq = false;
    for line in output.lines() {
        if line.contains("Name: ") {
            in_seq = line.contains("Name: spool.metric.seq");
        } else if in_seq {
            if let Some(v) = line.split("Value: ").nth(1) {
                if let Ok(v) = v.trim().parse::<i64>() {
                    values.push(v);
                }
            }
        }
    }
    values
}

/// Records `seq` on the gauge and collects once (the export fails while the collector is
/// away).
fn collect(t: &beacon::Telemetry, gauge: &opentelemetry::metrics::Gauge<i64>, seq: i64) -> bool {
    gauge.record(seq, &[]);
    t.flush().is_ok()
}

#[test]
fn metric_points_made_during_an_outage_arrive_in_order_and_a_restart_delivers_the_rest() {
    let grpc = beacon_tests::free_port().expect("port");
    let dir = temp_dir("outage");
    if beacon_tests::rotel::agent().is_none() && !beacon_tests::in_ci() {
        eprintln!("SKIPPED: rotel-agent not installed (cargo xtask ci installs it)");
        return;
    }

    // Outage, first process: five collections, none delivered, all kept.
    let first = pipeline(grpc, SpoolConfig::new(&dir));
    let gauge = first
        .meter("spool-test")
        .i64_gauge("spool.metric.seq")
        .build();
    for seq in 0..5 {
        assert!(!collect(&first, &gauge, seq), "nothing listens yet");
    }
    let during = first.stats().metrics;
    assert!(during.accepted >= 5, "{during:?}");
    assert_eq!(
        (during.exported, during.dropped, during.failed),
        (0, 0, 0),
        "{during:?}"
    );
    assert_eq!(
        during.retained + during.spooled,
        during.accepted,
        "{during:?}"
    );
    // Shut down during the outage: the final collection is kept too, and everything kept in
    // memory moves to the spool for the next start.
    let stats = first
        .shutdown()
        .expect_err("the collector is away")
        .stats
        .metrics;
    assert_eq!(
        (stats.exported, stats.failed, stats.retained),
        (0, 0, 0),
        "{stats:?}"
    );
    assert_eq!(stats.spooled, stats.accepted, "all on disk: {stats:?}");
    let parked = stats.spooled;

    // Restart, collector still down: the second process finds it all, and adds its own.
    let second = pipeline(grpc, SpoolConfig::new(&dir));
    assert_eq!(second.stats().metrics.recovered, parked);
    let gauge = second
        .meter("spool-test")
        .i64_gauge("spool.metric.seq")
        .build();
    for seq in 5..8 {
        assert!(!collect(&second, &gauge, seq), "still away");
    }

    // The collector is back: everything, oldest first, then the new collection.
    let Some(rotel) = rotel_or_skip(grpc) else {
        return;
    };
    assert!(collect(&second, &gauge, 8), "the collector is back");
    let s = second.stats().metrics;
    assert_eq!(
        (s.exported, s.retained, s.spooled, s.failed, s.dropped),
        (s.accepted + s.recovered, 0, 0, 0, 0),
        "{s:?}"
    );
    rotel
        .wait_for(Duration::from_secs(30), |out| seq_values(out).len() >= 10)
        .expect("rotel receives every collection");
    // 0..=4 from the first process (4 twice: its last flush and its shutdown's collection),
    // then 5..=8 from the second.
    assert_eq!(
        seq_values(&rotel.output()),
        vec![0, 1, 2, 3, 4, 4, 5, 6, 7, 8]
    );
    eprintln!("first process at shutdown: {stats:?}\nsecond process after the return: {s:?}");
    second.shutdown().expect("clean shutdown");
    let _ = std::fs::remove_dir_all(&dir);
}
