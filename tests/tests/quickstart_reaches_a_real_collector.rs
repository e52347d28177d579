//! The quickstart example, pointed at a real OTLP collector (rotel) over gRPC and over HTTP,
//! delivers its spans, metrics and logs under its service name.

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

fn delivers_everything(protocol: &str, use_http_port: bool) {
    let Some(rotel) = start_rotel() else { return };
    let port = if use_http_port {
        rotel.http_port
    } else {
        rotel.grpc_port
    };
    let service = format!("quickstart-e2e-{}", protocol.replace('/', "-"));
    let out = Command::new(quickstart())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("OTEL_SERVICE_NAME", &service)
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{port}"),
        )
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
        .env("OTEL_METRIC_EXPORT_INTERVAL", "500")
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
        // Every metric kind the quickstart records arrives decoded, over every protocol: a
        // histogram whose OTLP/JSON the collector cannot read shows as `DataType: Empty`.
        "DataType: Sum".to_owned(),
        "DataType: Gauge".to_owned(),
        "DataType: Histogram".to_owned(),
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
    let output = rotel.output();
    assert!(
        !output.contains("DataType: Empty"),
        "{protocol}: the collector could not decode a metric: {output}"
    );
}

#[test]
fn over_grpc() {
    delivers_everything("grpc", false);
}

#[test]
fn over_http_protobuf() {
    delivers_everything("http/protobuf", true);
}

#[test]
fn over_http_json() {
    delivers_everything("http/json", true);
}
