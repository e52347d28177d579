//! Beacon's own OTLP metric exporter, with the disk spool on, against a real collector (rotel)
//! on loopback: every collection made while the collector is down reaches it, in order, once
//! it is back; and what a process still held when it shut down during the outage is delivered
//! by the next process started with the same directory — also when the process was killed with
//! SIGKILL, with nothing kept in memory. Values are read from rotel's own print-out of every
//! data point it received.

#![cfg(unix)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use beacon::config::{Exporter, Protocol, SpoolConfig};
use beacon_tests::rotel::Rotel;

fn pipeline(grpc_port: u16, spool: SpoolConfig) -> beacon::Telemetry {
    builder(grpc_port, spool).build().expect("pipeline builds")
}

fn builder(grpc_port: u16, spool: SpoolConfig) -> beacon::Builder {
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

/// The service half of [`a_service_killed_during_an_outage_delivers_its_spooled_metrics`], run
/// as a child process of this test binary.
#[test]
#[ignore = "run as a child process by a_service_killed_during_an_outage_delivers_its_spooled_metrics"]
fn metric_spool_service() {
    let (Ok(dir), Ok(port), Ok(mode)) = (
        std::env::var("METRIC_SPOOL_DIR"),
        std::env::var("METRIC_SPOOL_PORT"),
        std::env::var("METRIC_SPOOL_MODE"),
    ) else {
        panic!("set METRIC_SPOOL_DIR, METRIC_SPOOL_PORT and METRIC_SPOOL_MODE");
    };
    let port: u16 = port.parse().expect("port");
    // Nothing kept in memory: every failed collection goes straight to disk.
    let t = builder(port, SpoolConfig::new(dir))
        .metric_max_retained(0)
        .build()
        .expect("pipeline builds");
    if mode == "produce" {
        let gauge = t.meter("spool-test").i64_gauge("spool.metric.seq").build();
        for seq in 0..5 {
            assert!(!collect(&t, &gauge, seq), "nothing listens yet");
        }
        let s = t.stats().metrics;
        assert_eq!((s.retained, s.spooled), (0, s.accepted), "{s:?}");
        println!("SPOOLED {}", s.spooled);
        // Wait to be killed. Should the test die first, its end of stdin closes: stop then.
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
        std::process::exit(1);
    }
    println!("RECOVERED {}", t.stats().metrics.recovered);
    t.flush().expect("the collector is up");
    let s = t.shutdown().expect("clean shutdown").metrics;
    println!(
        "DELIVERED {} {} LEFT {}",
        s.exported,
        s.recovered + s.accepted,
        s.spooled
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

fn service(dir: &Path, port: u16, mode: &str) -> (Service, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "metric_spool_service",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("METRIC_SPOOL_DIR", dir)
        .env("METRIC_SPOOL_PORT", port.to_string())
        .env("METRIC_SPOOL_MODE", mode)
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
        if let Some((_, rest)) = line.split_once(prefix) {
            return rest
                .split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect();
        }
    }
}

#[test]
fn a_service_killed_during_an_outage_delivers_its_spooled_metrics() {
    if beacon_tests::rotel::agent().is_none() && !beacon_tests::in_ci() {
        eprintln!("SKIPPED: rotel-agent not installed (cargo xtask ci installs it)");
        return;
    }
    let grpc = beacon_tests::free_port().expect("port");
    let dir = temp_dir("crash");
    let (mut first, lines) = service(&dir, grpc, "produce");
    let spooled = line_starting(&lines, "SPOOLED");
    assert!(spooled[0] >= 5, "{spooled:?}");
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
    let (mut second, lines) = service(&dir, grpc, "deliver");
    assert_eq!(
        line_starting(&lines, "RECOVERED"),
        spooled,
        "all of it found"
    );
    let delivered = line_starting(&lines, "DELIVERED");
    assert_eq!(
        delivered[0], delivered[1],
        "everything delivered: {delivered:?}"
    );
    assert_eq!(delivered[2], 0, "nothing left: {delivered:?}");
    assert!(second.0.wait().expect("exits").success());
    rotel
        .wait_for(Duration::from_secs(30), |out| seq_values(out).len() >= 5)
        .expect("rotel receives every spooled collection");
    assert_eq!(
        seq_values(&rotel.output()),
        vec![0, 1, 2, 3, 4],
        "in order, each once"
    );
    eprintln!("spooled {spooled:?} before SIGKILL; after restart delivered {delivered:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
