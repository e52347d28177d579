//! A real Prometheus (Debian package `prometheus`) on a free loopback port, scraping one target
//! every second with exemplar storage on, and a blocking client for its HTTP API.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::output::Output;

/// A running Prometheus. Killed (and its data directory removed) on drop.
pub struct Prometheus {
    child: Child,
    log: Output,
    dir: PathBuf,
    /// The port of its HTTP API.
    pub port: u16,
}

/// Where the `prometheus` binary is: `PATH` (Debian installs it in `/usr/bin`).
pub fn binary() -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("prometheus"))
            .find(|p| p.is_file())
    })
}

impl Prometheus {
    /// Starts Prometheus scraping `target` (`host:port`, path `/metrics`) every second as job
    /// `job`, and returns once it is ready to serve queries.
    ///
    /// # Errors
    /// When the binary is missing or Prometheus is not ready within 60 s.
    pub fn start(target: &str, job: &str) -> Result<Self, String> {
        let bin = binary().ok_or_else(|| {
            "prometheus not found: `cargo xtask ci` installs the Debian package `prometheus`"
                .to_owned()
        })?;
        let port = crate::free_port().map_err(|e| e.to_string())?;
        let dir =
            std::env::temp_dir().join(format!("beacon-prometheus-{}-{port}", std::process::id()));
        std::fs::create_dir_all(dir.join("data")).map_err(|e| e.to_string())?;
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n  - job_name: {job}\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .map_err(|e| e.to_string())?;
        let mut child = Command::new(&bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--enable-feature=exemplar-storage")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let log = Output::default();
        if let Some(err) = child.stderr.take() {
            log.pump(err);
        }
        let prometheus = Self {
            child,
            log,
            dir,
            port,
        };
        prometheus.wait_for_log(Duration::from_secs(60), |log| {
            log.contains("Server is ready to receive web requests")
        })?;
        Ok(prometheus)
    }

    /// Waits until `done` holds for Prometheus's log; woken by each line it writes.
    ///
    /// # Errors
    /// When `timeout` passes first; the message ends with the log.
    pub fn wait_for_log(
        &self,
        timeout: Duration,
        done: impl Fn(&str) -> bool,
    ) -> Result<(), String> {
        self.log.wait_for("Prometheus", timeout, done)
    }

    /// `GET /api/v1/{path}?{query}` (the query already encoded), parsed; an error when the
    /// status is not `success`.
    ///
    /// # Errors
    /// When the request fails or Prometheus answers with an error.
    pub fn api(&self, path: &str, query: &str) -> Result<serde_json::Value, String> {
        let (status, body) = http_get(
            &format!("127.0.0.1:{}", self.port),
            &format!("/api/v1/{path}?{query}"),
            None,
        )?;
        let value: serde_json::Value = serde_json::from_str(&body)
            .map_err(|e| format!("Prometheus answered {status} with non-JSON ({e}): {body}"))?;
        if value["status"] != "success" {
            return Err(format!("Prometheus answered {status}: {body}"));
        }
        Ok(value["data"].clone())
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Percent-encodes a query-string value.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A blocking HTTP/1.1 `GET` with `Connection: close`: the status code and the body.
///
/// # Errors
/// When the connection or the read fails, or the response is not HTTP.
pub fn http_get(addr: &str, path: &str, accept: Option<&str>) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let accept = accept
        .map(|a| format!("Accept: {a}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{accept}Connection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("not an HTTP response: {raw}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {head}"))?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok((status, body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}
