//! The `rotel` OTLP collector (PyPI `rotel`, binary `rotel-agent`), run on free loopback ports
//! with its debug exporter printing everything it receives.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::output::Output;

/// A running rotel. Killed on drop.
pub struct Rotel {
    child: Child,
    output: Output,
    /// The OTLP/gRPC port.
    pub grpc_port: u16,
    /// The OTLP/HTTP port.
    pub http_port: u16,
}

/// Where `rotel-agent` is: `BEACON_ROTEL_AGENT` (set by `cargo xtask ci`), the repository's
/// `.cache/rotel`, or `PATH`.
pub fn agent() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BEACON_ROTEL_AGENT").map(PathBuf::from) {
        return p.is_file().then_some(p);
    }
    let cached =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.cache/rotel/rotel/rotel-agent");
    if cached.is_file() {
        return Some(cached);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("rotel-agent"))
            .find(|p| p.is_file())
    })
}

impl Rotel {
    /// Starts rotel, or says why it cannot. Returns once rotel reports it is starting.
    ///
    /// # Errors
    /// When the agent is missing or does not start within 30 s.
    pub fn start() -> Result<Self, String> {
        let grpc_port = crate::free_port().map_err(|e| e.to_string())?;
        let http_port = crate::free_port().map_err(|e| e.to_string())?;
        Self::start_on(grpc_port, http_port)
    }

    /// Starts rotel on the given loopback ports (to bring a collector back where it was).
    ///
    /// # Errors
    /// When the agent is missing or does not start within 30 s.
    pub fn start_on(grpc_port: u16, http_port: u16) -> Result<Self, String> {
        Self::start_with(grpc_port, http_port, "detailed")
    }

    /// Starts rotel printing one line per request received, with its item count, instead of
    /// every item: for tests that send tens of thousands of items ([`received`] sums them).
    ///
    /// # Errors
    /// When the agent is missing or does not start within 30 s.
    pub fn start_counting_on(grpc_port: u16, http_port: u16) -> Result<Self, String> {
        Self::start_with(grpc_port, http_port, "basic")
    }

    fn start_with(grpc_port: u16, http_port: u16, verbosity: &str) -> Result<Self, String> {
        let agent = agent().ok_or_else(|| {
            "rotel-agent not found: run `cargo xtask ci` (it installs rotel==0.0.1a15 into .cache/rotel) \
             or set BEACON_ROTEL_AGENT"
                .to_owned()
        })?;
        let mut child = Command::new(&agent)
            .args(["start", "--exporter", "blackhole"])
            .args(["--otlp-grpc-endpoint", &format!("127.0.0.1:{grpc_port}")])
            .args(["--otlp-http-endpoint", &format!("127.0.0.1:{http_port}")])
            .args([
                "--debug-log",
                "traces",
                "--debug-log",
                "metrics",
                "--debug-log",
                "logs",
            ])
            .args(["--debug-log-verbosity", verbosity])
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", agent.display()))?;
        let output = Output::default();
        if let Some(out) = child.stdout.take() {
            output.pump(out);
        }
        if let Some(err) = child.stderr.take() {
            output.pump(err);
        }
        let rotel = Self {
            child,
            output,
            grpc_port,
            http_port,
        };
        rotel.wait_for(Duration::from_secs(30), |text| {
            text.contains("Starting Rotel")
        })?;
        Ok(rotel)
    }

    /// Everything rotel printed so far.
    pub fn output(&self) -> String {
        self.output.text()
    }

    /// Waits until `done` holds for rotel's output; woken by each line it prints.
    ///
    /// # Errors
    /// When `timeout` passes first; the message ends with what rotel printed.
    pub fn wait_for(&self, timeout: Duration, done: impl Fn(&str) -> bool) -> Result<(), String> {
        self.output.wait_for("rotel", timeout, done)
    }
}

/// Spans and log records a counting rotel ([`Rotel::start_counting_on`]) reports received, from
/// its `Received traces. … spans=N` and `Received logs. … logs=N` lines.
pub fn received(output: &str) -> (u64, u64) {
    let count = |line: &str, key: &str| -> u64 {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let (mut spans, mut logs) = (0, 0);
    for line in output.lines() {
        if line.contains("Received traces.") {
            spans += count(line, "spans=");
        } else if line.contains("Received logs.") {
            logs += count(line, "logs=");
        }
    }
    (spans, logs)
}

impl Drop for Rotel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
