//! Pieces shared by the tests of `deploy/`: where it is, a scratch directory per test, and
//! `promtool` (required in CI, skipped with a message elsewhere).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The provisioned Grafana dashboards, in `deploy/grafana/dashboards/`.
pub const DASHBOARDS: [&str; 4] = [
    "functions.json",
    "runtime-and-system.json",
    "service-overview.json",
    "telemetry-pipeline.json",
];

/// Histograms recorded on the application's own requests and calls, whose latency targets
/// carry exemplars (a trace id per bucket) to Jaeger.
pub const EXEMPLAR_HISTOGRAMS: [&str; 5] = [
    "http_server_request_duration_seconds_bucket",
    "http_client_request_duration_seconds_bucket",
    "rpc_server_duration_milliseconds_bucket",
    "rpc_client_duration_milliseconds_bucket",
    "function_calls_duration_seconds_bucket",
];

/// The repository's `deploy/` directory.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

/// A file's text.
///
/// # Panics
/// When it cannot be read, naming it.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// A fresh directory for one test (tests run in parallel, in one process).
///
/// # Panics
/// When it cannot be created.
pub fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("beacon-deploy-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// `promtool`, or `None` (and a skip message) when it is missing outside CI.
///
/// # Panics
/// In CI (`CI=true`) when it is missing.
pub fn promtool() -> Option<&'static str> {
    let found = Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    match (found, crate::in_ci()) {
        (true, _) => Some("promtool"),
        (false, true) => {
            panic!("CI needs promtool (Debian package prometheus; cargo xtask ci installs it)")
        }
        (false, false) => {
            eprintln!("SKIPPED: promtool not installed (cargo xtask ci installs it)");
            None
        }
    }
}

/// Runs promtool with `args` in `dir`; its output, after asserting that it succeeded.
///
/// # Panics
/// When promtool fails or reports `FAILED`, with its output.
pub fn run_promtool(promtool: &str, args: &[&str], dir: &Path) -> String {
    let (success, text) = promtool_output(promtool, args, dir);
    assert!(
        success && !text.contains("FAILED"),
        "promtool {args:?}:\n{text}"
    );
    text
}

/// Runs promtool with `args` in `dir`: whether it exited successfully, and its stdout and
/// stderr together.
///
/// # Panics
/// When promtool cannot be started.
pub fn promtool_output(promtool: &str, args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new(promtool)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("promtool runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
