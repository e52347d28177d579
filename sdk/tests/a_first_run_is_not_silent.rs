//! A new user's first run, with no collector: Beacon's own warnings (a configuration value it
//! discarded, exports that fail) reach stderr even though the log pipeline that would carry
//! them is the one failing; `BEACON_CONSOLE=true` adds the readable log lines. Each case runs
//! this test binary again as a child process, whose stderr the test reads.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::process::Command;

const CHILD: &str = "BEACON_TEST_FIRST_RUN_CHILD";

/// What the child does: a plain `beacon::init()` and one span with a log line in it.
fn child() {
    let telemetry = beacon::init().unwrap();
    tracing::info_span!("first.run").in_scope(|| tracing::info!("hello from the app"));
    let _ = telemetry.shutdown();
}

fn run(extra: &[(&str, &str)]) -> String {
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "the_child", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{dead}"),
        )
        .env("OTEL_RESOURCE_ATTRIBUTES", "team=%zz")
        .env("OTEL_METRICS_EXPORTER", "none")
        .env("OTEL_EXPORTER_OTLP_TIMEOUT", "2000")
        .env_remove("RUST_LOG")
        .env_remove("BEACON_CONSOLE");
    for (k, v) in extra {
        command.env(k, v);
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Not a test of its own: the child process's body (a no-op when run directly).
#[test]
fn the_child() {
    if std::env::var_os(CHILD).is_some() {
        child();
    }
}

#[test]
fn beacons_warnings_reach_stderr_with_no_collector() {
    let stderr = run(&[]);
    assert!(
        stderr.contains("WARN beacon: ") && stderr.contains("OTEL_RESOURCE_ATTRIBUTES"),
        "the discarded variable is reported: {stderr}"
    );
    assert!(
        stderr.contains("WARN beacon_exporter"),
        "the failing export is reported: {stderr}"
    );
    assert!(
        !stderr.contains("hello from the app"),
        "the app's own log lines stay in the log pipeline: {stderr}"
    );
}

#[test]
fn beacon_console_prints_readable_log_lines_with_their_trace_id() {
    let stderr = run(&[("BEACON_CONSOLE", "true")]);
    let line = stderr
        .lines()
        .find(|l| l.contains("hello from the app"))
        .unwrap_or_else(|| panic!("no console line: {stderr}"));
    assert!(line.starts_with("trace_id="), "{line}");
    assert!(stderr.contains("OTEL_RESOURCE_ATTRIBUTES"), "{stderr}");
}
