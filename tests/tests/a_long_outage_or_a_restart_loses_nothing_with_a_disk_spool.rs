//! With the disk spool on (`Builder::export_spool`), against a real collector (rotel) on
//! loopback: an outage far longer than memory holds loses nothing; a service killed with
//! SIGKILL delivers what it had spooled when it starts again; a damaged segment costs only the
//! damaged record, counted; and past the byte cap the oldest data is dropped, counted exactly,
//! with memory and disk bounded. Counts are read from rotel's own per-request lines.

#![cfg(unix)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use beacon::config::{BatchConfig, Exporter, Protocol, SpoolConfig};
use beacon_tests::rotel::{received, Rotel};

/// Spans and log records made per pacing step: below the queue's 2,048, so nothing is dropped
/// while the worker writes the previous step to disk.
const STEP: u64 = 1_000;

fn pipeline(grpc_port: u16, spool: SpoolConfig, max_retained: usize) -> beacon::Telemetry {
    let batch = BatchConfig {
        max_queue_size: 2048,
        max_export_batch_size: 512,
        // Also how often a dead collector is tried again; each try costs about a second of
        // opentelemetry-otlp's own backoff, during which the worker writes nothing to disk.
        scheduled_delay: Duration::from_secs(5),
        export_timeout: Duration::from_secs(5),
        max_retained,
        ..BatchConfig::default()
    };
    beacon::builder()
        .env_source(|_| None)
        .service_name("spool-test")
        .otlp_endpoint(format!("http://127.0.0.1:{grpc_port}"))
        .otlp_protocol(Protocol::Grpc)
        .otlp_timeout(Duration::from_millis(500))
        .span_batch(batch)
        .log_batch(batch)
        .metrics_exporter(Exporter::None)
        .export_spool(spool)
        .build()
        .expect("pipeline builds")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("beacon-e2e-spool-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Waits (yielding, never sleeping) until `done` holds for the pipeline's counters.
fn wait_for_stats(t: &beacon::Telemetry, what: &str, done: impl Fn(&beacon::Stats) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let stats = t.stats();
        if done(&stats) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {stats:?}");
        std::thread::yield_now();
    }
}

/// Makes `total` spans, each with one log record in it, in steps the export worker can keep
/// up with, so that the queue never overflows: every item made is accepted.
fn emit(t: &beacon::Telemetry, total: u64) {
    tracing::dispatcher::with_default(&t.dispatch(), || {
        let mut seq = 0;
        while seq < total {
            for _ in 0..STEP.min(total - seq) {
                tracing::info_span!("spool.span", seq).in_scope(|| {
                    tracing::info!(seq, "spool.log");
                });
                seq += 1;
            }
            wait_for_stats(t, "the worker keeps up", |s| {
                s.traces.in_flight() <= 1024 && s.logs.in_flight() <= 1024
            });
        }
    });
}

fn rotel_or_skip(grpc: u16) -> Option<Rotel> {
    let http = beacon_tests::free_port().expect("port");
    match Rotel::start_counting_on(grpc, http) {
        Ok(r) => Some(r),
        Err(e) if beacon_tests::in_ci() => panic!("CI needs a real collector: {e}"),
        Err(e) => {
            eprintln!("SKIPPED: {e}");
            None
        }
    }
}

fn skip() -> bool {
    if beacon_tests::rotel::agent().is_none() && !beacon_tests::in_ci() {
        eprintln!("SKIPPED: rotel-agent not installed (cargo xtask ci installs it)");
        return true;
    }
    false
}

fn wait_received(rotel: &Rotel, spans: u64, logs: u64) {
    rotel
        .wait_for(Duration::from_secs(60), |out| {
            let (s, l) = received(out);
            s >= spans && l >= logs
        })
        .expect("rotel receives everything");
    assert_eq!(
        received(&rotel.output()),
        (spans, logs),
        "each item exactly once"
    );
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn fifty_thousand_spans_and_logs_through_a_long_outage_all_arrive() {
    if skip() {
        return;
    }
    const N: u64 = 50_000;
    let grpc = beacon_tests::free_port().expect("port");
    let dir = temp_dir("outage");
    // Memory holds 2,048 queued + 512 kept per signal: the rest must go to disk.
    let t = pipeline(grpc, SpoolConfig::new(&dir), 512);
    emit(&t, N);
    assert!(t.flush().is_err(), "nothing listens yet");
    let during = t.stats();
    for s in [during.traces, during.logs] {
        assert_eq!((s.accepted, s.dropped, s.failed), (N, 0, 0), "{s:?}");
        assert_eq!(s.retained + s.spooled, N, "{s:?}");
        assert!(s.spooled >= N - 512 && s.spooled_bytes > 0, "{s:?}");
    }

    let Some(rotel) = rotel_or_skip(grpc) else {
        return;
    };
    t.flush().expect("the collector is back");
    let stats = t.shutdown().expect("clean shutdown");
    for s in [stats.traces, stats.logs] {
        assert_eq!(
            (s.exported, s.dropped, s.failed, s.retained, s.spooled),
            (N, 0, 0, 0, 0),
            "{s:?}"
        );
    }
    wait_received(&rotel, N, N);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The service half of [`a_service_killed_during_an_outage_delivers_its_spool_when_restarted`],
/// run as a child process of this test binary.
#[test]
#[ignore = "run as a child process by a_service_killed_during_an_outage_delivers_its_spool_when_restarted"]
fn spool_service() {
    let (Ok(dir), Ok(port), Ok(mode)) = (
        std::env::var("SPOOL_SERVICE_DIR"),
        std::env::var("SPOOL_SERVICE_PORT"),
        std::env::var("SPOOL_SERVICE_MODE"),
    ) else {
        panic!("set SPOOL_SERVICE_DIR, SPOOL_SERVICE_PORT and SPOOL_SERVICE_MODE");
    };
    let port: u16 = port.parse().expect("port");
    // Nothing kept in memory: every failed batch goes straight to disk.
    let t = pipeline(port, SpoolConfig::new(dir), 0);
    if mode == "produce" {
        let n: u64 = std::env::var("SPOOL_SERVICE_ITEMS")
            .expect("items")
            .parse()
            .expect("number");
        emit(&t, n);
        wait_for_stats(&t, "everything spooled", |s| {
            s.traces.spooled == n && s.logs.spooled == n
        });
        let s = t.stats();
        println!("SPOOLED {} {}", s.traces.spooled, s.logs.spooled);
        // Wait to be killed. Should the test die first, its end of stdin closes: stop then.
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
        std::process::exit(1);
    }
    let s = t.stats();
    println!("RECOVERED {} {}", s.traces.recovered, s.logs.recovered);
    t.flush().expect("the collector is up");
    let s = t.shutdown().expect("clean shutdown");
    println!(
        "DELIVERED {} {} LEFT {} {}",
        s.traces.exported, s.logs.exported, s.traces.spooled, s.logs.spooled
    );
}

/// A child process, killed (SIGKILL) when dropped, also when the test fails.
struct Service(std::process::Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs [`spool_service`] in a child process; returns it and a channel of its stdout lines.
fn service(
    dir: &Path,
    port: u16,
    mode: &str,
    items: u64,
) -> (Service, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "spool_service",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SPOOL_SERVICE_DIR", dir)
        .env("SPOOL_SERVICE_PORT", port.to_string())
        .env("SPOOL_SERVICE_MODE", mode)
        .env("SPOOL_SERVICE_ITEMS", items.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("child starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (Service(child), rx)
}

fn line_starting(rx: &std::sync::mpsc::Receiver<String>, prefix: &str) -> Vec<u64> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("no `{prefix}` line from the service: {e}"));
        // libtest prints `test spool_service ... ` before the service's first line.
        if let Some(rest) = line.split_once(prefix).map(|(_, rest)| rest) {
            return rest
                .split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect();
        }
    }
}

#[test]
fn a_service_killed_during_an_outage_delivers_its_spool_when_restarted() {
    if skip() {
        return;
    }
    const N: u64 = 20_000;
    let grpc = beacon_tests::free_port().expect("port");
    let dir = temp_dir("crash");
    let (mut first, lines) = service(&dir, grpc, "produce", N);
    assert_eq!(line_starting(&lines, "SPOOLED"), vec![N, N]);
    first.0.kill().expect("SIGKILL");
    let status = first.0.wait().expect("killed");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "killed by SIGKILL, no shutdown ran"
    );

    let Some(rotel) = rotel_or_skip(grpc) else {
        return;
    };
    let (mut second, lines) = service(&dir, grpc, "deliver", 0);
    assert_eq!(line_starting(&lines, "RECOVERED"), vec![N, N]);
    assert_eq!(line_starting(&lines, "DELIVERED"), vec![N, N, 0, 0]);
    assert!(second.0.wait().expect("exits").success());
    wait_received(&rotel, N, N);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Overwrites part of the payload of the middle record of the largest segment in `dir`;
/// returns the items that record held (read from its header, per the documented format).
fn damage_middle_record(dir: &Path) -> u64 {
    let segment = std::fs::read_dir(dir)
        .expect("spool dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .expect("a segment");
    let mut bytes = std::fs::read(&segment).expect("read");
    let le = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let mut records = Vec::new();
    let mut at = 8;
    while at + 16 <= bytes.len() {
        records.push((at, le(at + 8)));
        at += 16 + le(at + 4) as usize;
    }
    assert!(records.len() >= 3, "{} records", records.len());
    let (offset, items) = records[records.len() / 2];
    bytes[offset + 40..offset + 104].fill(0xA5);
    std::fs::write(&segment, &bytes).expect("write");
    u64::from(items)
}

#[test]
fn a_damaged_segment_costs_only_the_damaged_record_and_the_loss_is_counted() {
    if skip() {
        return;
    }
    const N: u64 = 6_000;
    let grpc = beacon_tests::free_port().expect("port");
    let dir = temp_dir("corrupt");
    let first = pipeline(grpc, SpoolConfig::new(&dir), 0);
    emit(&first, N);
    let _ = first.flush();
    let stats = first.shutdown().expect_err("the collector is away").stats;
    assert_eq!(
        (stats.traces.spooled, stats.traces.failed),
        (N, 0),
        "{stats:?}"
    );

    let lost = damage_middle_record(&dir.join("traces"));
    assert!(lost > 0);

    let Some(rotel) = rotel_or_skip(grpc) else {
        return;
    };
    let second = pipeline(grpc, SpoolConfig::new(&dir), 0);
    let s = second.stats().traces;
    assert_eq!((s.recovered, s.spool_corrupt), (N - lost, 1), "{s:?}");
    second.flush().expect("the collector is up");
    let stats = second.shutdown().expect("clean shutdown");
    assert_eq!(
        (
            stats.traces.exported,
            stats.traces.spooled,
            stats.logs.exported
        ),
        (N - lost, 0, N),
        "{stats:?}"
    );
    eprintln!("damaged record held {lost} spans; after {stats:?}");
    wait_received(&rotel, N - lost, N);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_outage_larger_than_the_cap_keeps_the_newest_and_counts_the_rest_exactly() {
    if skip() {
        return;
    }
    const N: u64 = 20_000;
    // Several 512-item records per signal, far less than the outage.
    const CAP: u64 = 1_500_000;
    let grpc = beacon_tests::free_port().expect("port");
    let dir = temp_dir("cap");
    let t = pipeline(grpc, SpoolConfig::new(&dir).with_max_bytes(CAP), 512);
    emit(&t, N);
    let _ = t.flush();
    let during = t.stats();
    for (s, sub) in [(during.traces, "traces"), (during.logs, "logs")] {
        assert!(s.spool_evicted > 0 && s.spooled > 0, "{s:?}");
        assert_eq!(s.dropped, s.spool_evicted, "only the spool drops: {s:?}");
        assert_eq!(s.accepted, s.dropped + s.retained + s.spooled, "{s:?}");
        assert!(s.spooled_bytes <= CAP, "{s:?}");
        assert!(s.retained <= 512, "{s:?}");
        // On disk: the cap, plus at most one segment (1/16 of the cap) not yet deleted.
        let disk = dir_bytes(&dir.join(sub));
        assert!(disk <= CAP + CAP / 16 + 64, "{sub}: {disk} bytes on disk");
    }

    let Some(rotel) = rotel_or_skip(grpc) else {
        return;
    };
    t.flush().expect("the collector is back");
    let stats = t.shutdown().expect("clean shutdown");
    for (s, before) in [(stats.traces, during.traces), (stats.logs, during.logs)] {
        assert_eq!(s.exported + s.dropped, N, "{s:?}");
        assert_eq!((s.failed, s.spooled, s.retained), (0, 0, 0), "{s:?}");
        assert_eq!(
            s.dropped, before.dropped,
            "nothing more dropped once it is back: {s:?}"
        );
    }
    eprintln!("cap {CAP} bytes: during {during:?}\nafter {stats:?}");
    wait_received(&rotel, stats.traces.exported, stats.logs.exported);
    let _ = std::fs::remove_dir_all(&dir);
}
