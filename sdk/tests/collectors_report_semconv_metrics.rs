//! The process, system and tokio runtime collectors, as a real OTLP receiver gets them: every
//! name with its unit and attributes, with plausible values (CPU time grows after a busy
//! loop; threads at least the runtime's workers).

mod support;

use std::time::{Duration, Instant};

use beacon::collectors::Collectors;
use support::{latest, HttpReceiver, Received};

fn unit(r: &Received, name: &str) -> Option<String> {
    r.metrics
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .flat_map(|rm| &rm.scope_metrics)
        .flat_map(|sm| &sm.metrics)
        .find(|m| m.name == name)
        .map(|m| m.unit.clone())
}

#[test]
fn every_collector_reports_plausible_values() {
    let receiver = HttpReceiver::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let endpoint = receiver.endpoint();
    let telemetry = rt.block_on(async move {
        beacon::builder()
            .env_source(|_| None)
            .otlp_endpoint(endpoint)
            .otlp_protocol(beacon::config::Protocol::HttpProtobuf)
            .collectors(Collectors::default().system(true))
            .build()
            .expect("pipeline builds")
    });
    let user_cpu = |r: &Received| latest(r, "process.cpu.time", &[("cpu.mode", "user")]);

    telemetry.flush().expect("first collection");
    assert!(receiver.wait_for(Duration::from_secs(10), |r| user_cpu(r).is_some()));
    let before = receiver.with(user_cpu).unwrap_or_default();
    // The first sample has no earlier one to compare with; it is the average since the process
    // started (which has used CPU by now), not 0.
    let first = receiver.with(|r| latest(r, "process.cpu.utilization", &[]));
    assert!(first.is_some_and(|u| u > 0.0 && u <= 1.0), "{first:?}");
    // CPU work is the behaviour under test here: burn at least 150 ms of user time, counted
    // by the kernel (on a loaded machine 150 ms of wall time can be much less CPU).
    let start = Instant::now();
    let ticks = user_ticks();
    let mut x = 0_u64;
    while user_ticks() < ticks + 15 && start.elapsed() < Duration::from_secs(20) {
        for _ in 0..100_000 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
    rt.block_on(async {
        tokio::spawn(async { std::hint::black_box(1) })
            .await
            .expect("task");
    });
    let calls = receiver.with(|r| r.metrics.len());
    telemetry.flush().expect("second collection");
    assert!(receiver.wait_for(Duration::from_secs(10), |r| r.metrics.len() > calls));

    receiver.with(|r| {
        let after = user_cpu(r).expect("user CPU time");
        assert!(
            after >= before + 0.05,
            "user CPU grew from {before} to {after}"
        );
        for (name, expected) in [
            ("process.cpu.time", "s"),
            ("process.cpu.utilization", "1"),
            ("process.memory.usage", "By"),
            ("process.memory.virtual", "By"),
            ("process.thread.count", "{thread}"),
            ("process.unix.file_descriptor.count", "{file_descriptor}"),
            ("process.uptime", "s"),
            ("process.disk.io", "By"),
            ("system.cpu.time", "s"),
            ("system.cpu.utilization", "1"),
            ("system.memory.usage", "By"),
            ("system.memory.utilization", "1"),
            ("system.network.io", "By"),
            ("tokio.workers", "{thread}"),
            ("tokio.tasks.alive", "{task}"),
            ("tokio.global_queue.depth", "{task}"),
            ("tokio.worker.busy_time", "s"),
            ("tokio.worker.park.count", "{park}"),
            ("tokio.worker.busy_ratio", "1"),
        ] {
            assert_eq!(unit(r, name).as_deref(), Some(expected), "{name}");
        }
        assert!(latest(r, "process.cpu.time", &[("cpu.mode", "system")]).is_some());
        let utilization = latest(r, "process.cpu.utilization", &[]).expect("utilization");
        assert!(
            (0.0..=1.0).contains(&utilization) && utilization > 0.0,
            "{utilization}"
        );
        assert!(latest(r, "process.memory.usage", &[]).is_some_and(|b| b > 1_000_000.0));
        let virt = latest(r, "process.memory.virtual", &[]).expect("virtual");
        assert!(virt >= latest(r, "process.memory.usage", &[]).unwrap_or(0.0));
        assert!(
            latest(r, "process.thread.count", &[]).is_some_and(|n| n >= 3.0),
            "main + 2 workers"
        );
        assert!(latest(r, "process.unix.file_descriptor.count", &[]).is_some_and(|n| n >= 3.0));
        assert!(latest(r, "process.uptime", &[]).is_some_and(|s| s >= 0.0));
        assert!(latest(r, "process.disk.io", &[("disk.io.direction", "read")]).is_some());
        assert!(latest(r, "system.cpu.time", &[("cpu.mode", "user")]).is_some_and(|s| s > 0.0));
        assert!(
            latest(r, "system.memory.usage", &[("system.memory.state", "used")])
                .is_some_and(|b| b > 0.0)
        );
        assert_eq!(latest(r, "tokio.workers", &[]), Some(2.0));
        assert!(latest(r, "tokio.worker.busy_time", &[("tokio.worker", "0")]).is_some());
        assert!(latest(r, "tokio.worker.park.count", &[("tokio.worker", "1")]).is_some());
        let ratio = latest(r, "tokio.worker.busy_ratio", &[]).expect("busy ratio");
        assert!((0.0..=1.0).contains(&ratio));
        #[cfg(all(feature = "tokio-unstable-metrics", tokio_unstable))]
        {
            assert!(latest(r, "tokio.tasks.spawned", &[]).is_some_and(|n| n >= 1.0));
            assert!(latest(r, "tokio.worker.poll.count", &[("tokio.worker", "0")]).is_some());
            assert!(latest(r, "tokio.worker.steal.count", &[("tokio.worker", "1")]).is_some());
            assert!(latest(
                r,
                "tokio.worker.local_queue.depth",
                &[("tokio.worker", "0")]
            )
            .is_some());
            assert!(latest(r, "tokio.blocking_threads", &[]).is_some());
        }
    });
    drop(telemetry);
}

/// `specification/compatibility/prometheus_and_openmetrics.md`, "Metric Metadata": "The Name
/// of an OTLP metric MUST be added as the Prometheus Metric Name, with unit and type suffixes
/// added as described below" (`UnderscoreEscapingWithSuffixes`, the default translation).
#[test]
fn a_prometheus_scrape_uses_the_spec_names_by_default_and_promtool_names_on_request() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let scrape = |naming: Option<beacon::metrics::Naming>| {
        let _entered = rt.enter();
        let mut builder = beacon::builder()
            .env_source(|_| None)
            .traces_exporter(beacon::config::Exporter::None)
            .logs_exporter(beacon::config::Exporter::None)
            .metrics_exporter(beacon::config::Exporter::Prometheus)
            .prometheus_listener(false)
            .self_telemetry(false)
            .collectors(Collectors::default());
        if let Some(naming) = naming {
            builder = builder.prometheus_naming(naming);
        }
        let telemetry = builder.build().expect("pipeline builds");
        telemetry
            .prometheus()
            .expect("prometheus reader")
            .render(beacon::metrics::Format::Text)
            .expect("scrape")
    };
    // The spec's names by default (`UnderscoreEscapingWithSuffixes`).
    let default = scrape(None);
    assert!(
        default.contains("# TYPE process_thread_count gauge\n"),
        "{default}"
    );
    assert!(!default.contains("process_threads"), "{default}");
    if cfg!(unix) {
        assert!(
            default.contains("# TYPE process_unix_file_descriptor_count gauge\n"),
            "{default}"
        );
    }
    // The promtool-clean option.
    let lint = scrape(Some(beacon::metrics::Naming::Prometheus));
    assert!(lint.contains("# TYPE process_threads gauge\n"), "{lint}");
    assert!(!lint.contains("process_thread_count"), "{lint}");
    if cfg!(unix) {
        assert!(
            lint.contains("# TYPE process_unix_file_descriptors gauge\n"),
            "{lint}"
        );
    }
}

/// This process's user CPU time in clock ticks (`utime`, field 14 of `/proc/self/stat`; 100
/// per second on Linux).
fn user_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // The command name (field 2) may hold spaces: count from the `)` that ends it.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    after
        .split_whitespace()
        .nth(11)
        .and_then(|t| t.parse().ok())
        .expect("utime in /proc/self/stat")
}
