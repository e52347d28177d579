//! The `rotel` OTLP collector (PyPI `rotel`, binary `rotel-agent`), run on free loopback ports
//! with its debug exporter printing everything it receives.

use std::io::{BufRead as _, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A running rotel. Killed on drop.
pub struct Rotel {
    child: Child,
    output: Arc<(Mutex<String>, Condvar)>,
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
            .args(["--debug-log-verbosity", "detailed"])
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", agent.display()))?;
        let output = Arc::new((Mutex::new(String::new()), Condvar::new()));
        if let Some(out) = child.stdout.take() {
            pump(out, Arc::clone(&output));
        }
        if let Some(err) = child.stderr.take() {
            pump(err, Arc::clone(&output));
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
        self.output.0.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Waits until `done` holds for rotel's output; woken by each line it prints.
    ///
    /// # Errors
    /// When `timeout` passes first; the message ends with what rotel printed.
    pub fn wait_for(&self, timeout: Duration, done: impl Fn(&str) -> bool) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let (lock, arrived) = &*self.output;
        let mut text = lock.lock().map_err(|e| e.to_string())?;
        loop {
            if done(&text) {
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let tail: String = text
                    .chars()
                    .rev()
                    .take(4000)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                return Err(format!(
                    "rotel did not show it within {timeout:?}; its output ends with:\n{tail}"
                ));
            }
            text = arrived
                .wait_timeout(text, left)
                .map_err(|e| e.to_string())?
                .0;
        }
    }
}

impl Drop for Rotel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pump(stream: impl Read + Send + 'static, output: Arc<(Mutex<String>, Condvar)>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            let (lock, arrived) = &*output;
            if let Ok(mut text) = lock.lock() {
                text.push_str(&line);
                text.push('\n');
            }
            arrived.notify_all();
        }
    });
}
