//! Installs the real backends the end-to-end tests talk to, when they are missing.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The OTLP collector the end-to-end tests run: `rotel` from PyPI.
const ROTEL: &str = "rotel==0.0.1a15";
/// The official Python OpenTelemetry SDK and its OTLP/HTTP exporter, which the hub's receiver
/// test sends a trace with.
const OTEL_PYTHON: &[&str] = &[
    "opentelemetry-sdk==1.45.2",
    "opentelemetry-exporter-otlp-proto-http==1.45.2",
];

pub(crate) struct Backends {
    rotel: Option<PathBuf>,
    sqlite3: Option<PathBuf>,
    postgres: Option<PathBuf>,
    otel_python: Option<PathBuf>,
}

impl Backends {
    /// Variables that tell the tests where the backends are.
    pub(crate) fn env(&self) -> Vec<(String, String)> {
        let mut env = Vec::new();
        if let Some(r) = &self.rotel {
            env.push(("BEACON_ROTEL_AGENT".into(), r.display().to_string()));
        }
        if let Some(s) = &self.sqlite3 {
            env.push(("BEACON_SQLITE3".into(), s.display().to_string()));
        }
        if let Some(p) = &self.postgres {
            env.push(("BEACON_PG_BIN".into(), p.display().to_string()));
        }
        if let Some(p) = &self.otel_python {
            env.push(("BEACON_OTEL_PYTHON".into(), p.display().to_string()));
        }
        env
    }
}

/// Finds or installs every backend. In CI a backend that cannot be had fails the run;
/// elsewhere it is a loud warning and the tests that need it say they skipped.
pub(crate) fn ensure(root: &Path) -> Result<Backends, String> {
    let rotel = match rotel(root) {
        Ok(path) => {
            println!("backend: rotel-agent at {}", path.display());
            Some(path)
        }
        Err(e) if crate::in_ci() => return Err(format!("rotel is required in CI: {e}")),
        Err(e) => {
            eprintln!("WARNING: rotel unavailable ({e}); end-to-end tests will be skipped");
            None
        }
    };
    match promtool() {
        Ok(()) => println!("backend: promtool on PATH"),
        Err(e) if crate::in_ci() => return Err(format!("promtool is required in CI: {e}")),
        Err(e) => {
            eprintln!("WARNING: promtool unavailable ({e}); the SLO rule tests will be skipped")
        }
    }
    let otel_python = match otel_python(root) {
        Ok(path) => {
            println!("backend: Python OpenTelemetry SDK at {}", path.display());
            Some(path)
        }
        Err(e) if crate::in_ci() => {
            return Err(format!(
                "the Python OpenTelemetry SDK is required in CI: {e}"
            ))
        }
        Err(e) => {
            eprintln!("WARNING: Python OpenTelemetry SDK unavailable ({e}); the hub's Python test will be skipped");
            None
        }
    };
    let sqlite3 = match sqlite3() {
        Ok(path) => {
            println!("backend: sqlite3 at {}", path.display());
            Some(path)
        }
        Err(e) if crate::in_ci() => return Err(format!("sqlite3 is required in CI: {e}")),
        Err(e) => {
            eprintln!("WARNING: sqlite3 unavailable ({e}); the audit tamper tests will be skipped");
            None
        }
    };
    let postgres = match postgres() {
        Ok(path) => {
            println!("backend: PostgreSQL server binaries in {}", path.display());
            Some(path)
        }
        Err(e) if crate::in_ci() => return Err(format!("PostgreSQL is required in CI: {e}")),
        Err(e) => {
            eprintln!(
                "WARNING: PostgreSQL unavailable ({e}); the audit PostgreSQL tests will be skipped"
            );
            None
        }
    };
    Ok(Backends {
        rotel,
        sqlite3,
        postgres,
        otel_python,
    })
}

/// The newest `/usr/lib/postgresql/<major>/bin` holding `initdb` and `pg_ctl`.
fn postgres_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BEACON_PG_BIN").map(PathBuf::from) {
        if p.join("initdb").is_file() {
            return Some(p);
        }
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((major, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

/// The PostgreSQL server (Debian package `postgresql`) the audit tests start on loopback in a
/// temporary data directory; installed with apt when missing.
fn postgres() -> Result<PathBuf, String> {
    if let Some(bin) = postgres_bin() {
        return Ok(bin);
    }
    apt_install("postgresql")?;
    postgres_bin()
        .ok_or_else(|| "postgresql installed, but no /usr/lib/postgresql/*/bin/initdb".into())
}

/// The `sqlite3` CLI (Debian package `sqlite3`), with which the audit tests tamper with a log;
/// installed with apt when missing.
fn sqlite3() -> Result<PathBuf, String> {
    let path = std::env::var_os("BEACON_SQLITE3")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/sqlite3"));
    let works = |p: &Path| {
        Command::new(p)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if works(&path) {
        return Ok(path);
    }
    apt_install("sqlite3")?;
    let installed = PathBuf::from("/usr/bin/sqlite3");
    if works(&installed) {
        Ok(installed)
    } else {
        Err("sqlite3 installed, but /usr/bin/sqlite3 does not run".into())
    }
}

/// Installs a Debian package with apt, updating the package lists once if the first try fails
/// (they may be missing on a fresh machine).
fn apt_install(package: &str) -> Result<(), String> {
    println!("backend: installing Debian package {package}");
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-q", package])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map_err(|e| format!("cannot run apt-get: {e}"))
    };
    if install()?.success() {
        return Ok(());
    }
    let _ = Command::new("apt-get").args(["update", "-q"]).status();
    let status = install()?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("apt-get install {package} failed ({status})"))
    }
}

fn has_promtool() -> bool {
    Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `promtool` (Debian package `prometheus`), installed with apt when missing.
fn promtool() -> Result<(), String> {
    if has_promtool() {
        return Ok(());
    }
    apt_install("prometheus")?;
    if has_promtool() {
        Ok(())
    } else {
        Err("prometheus installed, but promtool is not on PATH".into())
    }
}

fn rotel(root: &Path) -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("BEACON_ROTEL_AGENT").map(PathBuf::from) {
        if p.is_file() {
            return Ok(p);
        }
    }
    let cache = root.join(".cache/rotel");
    let installed = cache.join("rotel/rotel-agent");
    if installed.is_file() {
        return Ok(installed);
    }
    println!("backend: installing {ROTEL} into {}", cache.display());
    let status = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
        ])
        .arg(&cache)
        .arg(ROTEL)
        .status()
        .map_err(|e| format!("cannot run python3 -m pip: {e}"))?;
    if !status.success() {
        return Err(format!("pip install {ROTEL} failed ({status})"));
    }
    if installed.is_file() {
        Ok(installed)
    } else {
        Err(format!(
            "{ROTEL} installed, but {} is missing",
            installed.display()
        ))
    }
}

/// A venv at `.cache/otel-python` with [`OTEL_PYTHON`] installed; its interpreter.
fn otel_python(root: &Path) -> Result<PathBuf, String> {
    let venv = root.join(".cache/otel-python");
    let python = venv.join("bin/python");
    let has_sdk = |python: &Path| {
        Command::new(python)
            .args([
                "-c",
                "import opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http",
            ])
            .status()
            .is_ok_and(|s| s.success())
    };
    if python.is_file() && has_sdk(&python) {
        return Ok(python);
    }
    println!(
        "backend: installing {} into {}",
        OTEL_PYTHON.join(" "),
        venv.display()
    );
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .map_err(|e| format!("cannot run python3 -m venv: {e}"))?;
    if !status.success() {
        return Err(format!("python3 -m venv failed ({status})"));
    }
    let status = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(OTEL_PYTHON)
        .status()
        .map_err(|e| format!("cannot run pip in {}: {e}", venv.display()))?;
    if !status.success() {
        return Err(format!(
            "pip install {} failed ({status})",
            OTEL_PYTHON.join(" ")
        ));
    }
    if has_sdk(&python) {
        Ok(python)
    } else {
        Err("installed, but the Python OpenTelemetry SDK does not import".into())
    }
}
