//! The quickstart example, configured only by `OTEL_CONFIG_FILE` with each of the SDK's
//! fixture files (getting started, comprehensive, migration), delivers its spans, metrics
//! and logs to a real OTLP collector (rotel) under the service name the file gives it, over
//! OTLP/HTTP and over OTLP/gRPC.
//!
//! The schema makes the protocol a choice of component (`otlp_http` or `otlp_grpc`), which
//! substitution cannot make, so each fixture is run as written and once more with its
//! exporter keys swapped ([`other_protocol`]): what an operator does to move a file from one
//! protocol to the other.

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

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Protocol {
    Http,
    Grpc,
}

/// `text` with its OTLP exporters moved to `to`: `otlp_http` ↔ `otlp_grpc`, and for gRPC the
/// `/v1/<signal>` path the HTTP endpoints end in (and the HTTP-only `encoding`) removed.
/// Panics when there is nothing to swap, so a fixture that changed shape cannot make the test
/// pass by running the original protocol twice.
fn other_protocol(text: &str, to: Protocol) -> String {
    let (from_key, to_key) = match to {
        Protocol::Grpc => ("otlp_http:", "otlp_grpc:"),
        Protocol::Http => ("otlp_grpc:", "otlp_http:"),
    };
    let mut swapped = 0;
    let mut out = String::new();
    for line in text.lines() {
        let indent = &line[..line.len() - line.trim_start().len()];
        let trimmed = line.trim();
        if trimmed == from_key {
            swapped += 1;
            out.push_str(&format!("{indent}{to_key}\n"));
            continue;
        }
        if to == Protocol::Grpc {
            if trimmed.starts_with("encoding:") {
                continue;
            }
            if trimmed.starts_with("endpoint:") {
                let cut = ["/v1/traces", "/v1/metrics", "/v1/logs"]
                    .iter()
                    .find_map(|suffix| line.strip_suffix(suffix));
                out.push_str(cut.unwrap_or(line));
                out.push('\n');
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    assert!(
        swapped >= 3,
        "expected an OTLP exporter per signal to move to {to:?}, found {swapped}"
    );
    out
}

/// The fixture as written, or moved to `protocol` in a fresh temporary directory.
fn config_file(name: &str, written: Protocol, protocol: Protocol) -> (PathBuf, Option<PathBuf>) {
    let original = fixture(name);
    if written == protocol {
        return (original, None);
    }
    let text = std::fs::read_to_string(&original).expect("fixture reads");
    let dir = std::env::temp_dir().join(format!(
        "beacon-e2e-config-{}-{name}-{protocol:?}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, other_protocol(&text, protocol)).expect("variant written");
    (path, Some(dir))
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

/// What the quickstart's run should have done besides delivering.
#[derive(Clone, Copy)]
struct Expect {
    /// Whether its `tracing` events are printed on stderr (the code asks for it; the file's
    /// `instrumentation/development.rust.beacon.console_logs` overrides).
    console_logs: bool,
    /// More that rotel must show.
    extra: &'static [&'static str],
}

/// Runs the quickstart with `file` (written for `written`, run over `protocol`) and `vars`
/// (the only variables the file reads) and waits for rotel to show every signal.
fn delivers_everything(
    file: &str,
    written: Protocol,
    protocol: Protocol,
    expect: Expect,
    vars: impl Fn(&Rotel) -> Vec<(String, String)>,
) {
    let Some(rotel) = start_rotel() else { return };
    let (path, temp) = config_file(file, written, protocol);
    let service = format!(
        "file-{}-{protocol:?}",
        file.trim_end_matches(".yaml").trim_start_matches("otel-")
    )
    .to_lowercase();
    let out = Command::new(quickstart())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("OTEL_CONFIG_FILE", &path)
        .env("OTEL_SERVICE_NAME", &service)
        // Ignored with a file (the spec): were it read, nothing would be exported.
        .env("OTEL_TRACES_EXPORTER", "none")
        .env("OTEL_METRICS_EXPORTER", "none")
        .env("OTEL_LOGS_EXPORTER", "none")
        .envs(vars(&rotel))
        .output()
        .expect("quickstart runs");
    if let Some(dir) = temp {
        let _ = std::fs::remove_dir_all(dir);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "quickstart failed: {}\n{stdout}\n{stderr}",
        out.status,
    );
    assert!(
        stdout.contains("0 lost"),
        "quickstart reported a loss: {stdout}"
    );
    let wanted_protocol = match protocol {
        Protocol::Http => "http/protobuf",
        Protocol::Grpc => "grpc",
    };
    for signal in ["traces", "metrics", "logs"] {
        let line = format!("{signal}: OTLP {wanted_protocol} to");
        assert!(
            stdout.contains(&line),
            "the pipeline does not describe `{line}`: {stdout}"
        );
    }
    // The console layer's lines carry the trace id; the OTLP exporters print nothing there.
    let console_line = stderr
        .lines()
        .any(|l| l.contains("order processed") && l.contains("trace_id"));
    assert_eq!(
        console_line, expect.console_logs,
        "console lines on stderr: {stderr}"
    );
    let wanted: Vec<String> = [
        format!("service.name: Str({service})"),
        "Name           : checkout".to_owned(),
        "orders.processed".to_owned(),
        "Body: Str(order processed)".to_owned(),
        "DataType: Sum".to_owned(),
        "DataType: Histogram".to_owned(),
    ]
    .into_iter()
    .chain(expect.extra.iter().map(|s| (*s).to_owned()))
    .collect::<Vec<_>>();
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

/// The getting-started and migration files read the base `OTEL_EXPORTER_OTLP_ENDPOINT`.
fn base_endpoint(r: &Rotel, protocol: Protocol) -> (String, String) {
    let port = match protocol {
        Protocol::Http => r.http_port,
        Protocol::Grpc => r.grpc_port,
    };
    (
        "OTEL_EXPORTER_OTLP_ENDPOINT".into(),
        format!("http://127.0.0.1:{port}"),
    )
}

/// The comprehensive file reads the per-signal endpoints, which are used as they are.
fn signal_endpoints(r: &Rotel, protocol: Protocol) -> Vec<(String, String)> {
    ["TRACES", "METRICS", "LOGS"]
        .iter()
        .map(|signal| {
            let url = match protocol {
                Protocol::Http => format!(
                    "http://127.0.0.1:{}/v1/{}",
                    r.http_port,
                    signal.to_lowercase()
                ),
                Protocol::Grpc => format!("http://127.0.0.1:{}", r.grpc_port),
            };
            (format!("OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"), url)
        })
        .chain([
            // The file's pull reader: a free port, so parallel tests never collide.
            ("OTEL_EXPORTER_PROMETHEUS_PORT".into(), "0".into()),
        ])
        .collect()
}

const CODE_CONSOLE: Expect = Expect {
    console_logs: true,
    extra: &[],
};

fn getting_started(protocol: Protocol) {
    delivers_everything(
        "otel-getting-started.yaml",
        Protocol::Http,
        protocol,
        CODE_CONSOLE,
        |r| vec![base_endpoint(r, protocol)],
    );
}

fn migration(protocol: Protocol) {
    delivers_everything(
        "otel-sdk-migration-config.yaml",
        Protocol::Http,
        protocol,
        CODE_CONSOLE,
        |r| {
            vec![
                base_endpoint(r, protocol),
                (
                    "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION".into(),
                    "gzip".into(),
                ),
                ("OTEL_METRIC_EXPORT_INTERVAL".into(), "500".into()),
            ]
        },
    );
}

fn comprehensive(protocol: Protocol) {
    // The file says `console_logs: false`, which wins over the quickstart's code; and its
    // `general.http.server.response_captured_headers` reach the quickstart's
    // `ServerLayer::new()` through `init()`.
    delivers_everything(
        "otel-sdk-config.yaml",
        Protocol::Grpc,
        protocol,
        Expect {
            console_logs: false,
            extra: &["http.response.header.content-type"],
        },
        |r| signal_endpoints(r, protocol),
    );
}

#[test]
fn the_getting_started_file_over_http() {
    getting_started(Protocol::Http);
}

#[test]
fn the_getting_started_file_over_grpc() {
    getting_started(Protocol::Grpc);
}

#[test]
fn the_migration_file_over_http() {
    migration(Protocol::Http);
}

#[test]
fn the_migration_file_over_grpc() {
    migration(Protocol::Grpc);
}

#[test]
fn the_comprehensive_file_over_grpc() {
    comprehensive(Protocol::Grpc);
}

#[test]
fn the_comprehensive_file_over_http() {
    comprehensive(Protocol::Http);
}

#[test]
fn moving_a_file_to_grpc_swaps_the_exporters_and_drops_the_http_paths() {
    let text = std::fs::read_to_string(fixture("otel-getting-started.yaml")).expect("reads");
    let grpc = other_protocol(&text, Protocol::Grpc);
    assert!(!grpc.contains("otlp_http"), "{grpc}");
    assert_eq!(grpc.matches("otlp_grpc:").count(), 3, "{grpc}");
    assert!(!grpc.contains("/v1/"), "{grpc}");
    assert!(grpc.contains("endpoint: ${OTEL_EXPORTER_OTLP_ENDPOINT:-http://localhost:4318}\n"));
}
