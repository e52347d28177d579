//! The quickstart example, configured only by `OTEL_CONFIG_FILE` with each of the SDK's
//! fixture files (getting started and migration over HTTP, the comprehensive one over gRPC),
//! delivers its spans, metrics and logs to a real OTLP collector (rotel) under the service
//! name the file gives it.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use beacon_tests::rotel::Rotel;

fn quickstart() -> PathBuf {
    if let Some(p) = std::env::var_os("BEACON_QUICKSTART_BIN") {
        return PathBuf::from(p);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let status = Command::new(env!("CARGO"))
        .args(["build", "--example", "quickstart", "-p", "beacon-examples"])
        .current_dir(&root)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the quickstart failed");
    root.join("target/debug/examples/quickstart")
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../sdk/tests/fixtures/config")
        .join(name)
}

fn start_rotel() -> Option<Rotel> {
    match Rotel::start() {
        Ok(r) => Some(r),
        Err(e) if beacon_tests::in_ci() => panic!("CI needs a real collector: {e}"),
        Err(e) => {
            eprintln!("SKIPPED: {e}");
            None
        }
    }
}

/// Runs the quickstart with `file` and `vars` (the only variables the file reads) and waits
/// for rotel to show every signal.
fn delivers_everything(file: &str, service: &str, vars: impl Fn(&Rotel) -> Vec<(String, String)>) {
    let Some(rotel) = start_rotel() else { return };
    let out = Command::new(quickstart())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("OTEL_CONFIG_FILE", fixture(file))
        .env("OTEL_SERVICE_NAME", service)
        .envs(vars(&rotel))
        .output()
        .expect("quickstart runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "quickstart failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("0 lost"),
        "quickstart reported a loss: {stdout}"
    );
    let wanted = [
        format!("service.name: Str({service})"),
        "Name           : checkout".to_owned(),
        "orders.processed".to_owned(),
        "Body: Str(order processed)".to_owned(),
    ];
    if let Err(e) = rotel.wait_for(Duration::from_secs(20), |text| {
        wanted.iter().all(|w| text.contains(w))
    }) {
        let missing: Vec<_> = wanted
            .iter()
            .filter(|w| !rotel.output().contains(w.as_str()))
            .collect();
        panic!("rotel never showed {missing:?}: {e}");
    }
}

#[test]
fn the_getting_started_file_over_http() {
    delivers_everything("otel-getting-started.yaml", "file-getting-started", |r| {
        vec![(
            "OTEL_EXPORTER_OTLP_ENDPOINT".into(),
            format!("http://127.0.0.1:{}", r.http_port),
        )]
    });
}

#[test]
fn the_migration_file_over_http() {
    delivers_everything("otel-sdk-migration-config.yaml", "file-migration", |r| {
        vec![
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT".into(),
                format!("http://127.0.0.1:{}", r.http_port),
            ),
            (
                "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION".into(),
                "gzip".into(),
            ),
            ("OTEL_METRIC_EXPORT_INTERVAL".into(), "500".into()),
        ]
    });
}

#[test]
fn the_comprehensive_file_over_grpc() {
    delivers_everything("otel-sdk-config.yaml", "file-comprehensive", |r| {
        let grpc = format!("http://127.0.0.1:{}", r.grpc_port);
        vec![
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT".into(), grpc.clone()),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT".into(), grpc.clone()),
            ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT".into(), grpc),
            // The file's pull reader: a free port, so parallel tests never collide.
            ("OTEL_EXPORTER_PROMETHEUS_PORT".into(), "0".into()),
        ]
    });
}
