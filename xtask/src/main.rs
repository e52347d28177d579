//! Beacon's automation. `cargo xtask ci` runs every check CI runs; `cargo xtask bench` runs the
//! benchmarks. Standard library only, so it builds in seconds.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

mod backends;
mod sleeps;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = repo_root();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(&root),
        Some("bench") => bench(&root, &args[1..]),
        Some("install-backends") => backends::ensure(&root).map(|_| ()),
        _ => {
            eprintln!("usage: cargo xtask <ci | bench [criterion args] | install-backends>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

fn repo_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

/// Whether we run in CI, where a missing backend is a failure, never a skip.
pub(crate) fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

struct Step<'a> {
    name: &'a str,
    program: &'a str,
    args: &'a [&'a str],
    env: Vec<(String, String)>,
}

fn run(root: &Path, step: &Step<'_>) -> Result<f64, String> {
    println!(
        "==> {}: {} {}",
        step.name,
        step.program,
        step.args.join(" ")
    );
    let started = Instant::now();
    let status = Command::new(step.program)
        .args(step.args)
        .envs(step.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(root)
        .status()
        .map_err(|e| format!("{}: cannot start `{}`: {e}", step.name, step.program))?;
    let secs = started.elapsed().as_secs_f64();
    if status.success() {
        println!("<== {} ok in {secs:.1}s", step.name);
        Ok(secs)
    } else {
        Err(format!(
            "step `{}` failed ({status}) after {secs:.1}s",
            step.name
        ))
    }
}

fn ci(root: &Path) -> Result<(), String> {
    let started = Instant::now();
    let mut timings: Vec<(String, f64)> = Vec::new();
    let step = |timings: &mut Vec<(String, f64)>, s: Step<'_>| -> Result<(), String> {
        let t = run(root, &s)?;
        timings.push((s.name.to_owned(), t));
        Ok(())
    };

    step(
        &mut timings,
        Step {
            name: "fmt",
            program: "cargo",
            args: &["fmt", "--all", "--", "--check"],
            env: vec![],
        },
    )?;
    let t = Instant::now();
    sleeps::check(root)?;
    timings.push((
        "no sleep-to-wait in tests".into(),
        t.elapsed().as_secs_f64(),
    ));
    step(
        &mut timings,
        Step {
            name: "clippy",
            program: "cargo",
            args: &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ],
            env: vec![],
        },
    )?;

    // The features users can turn off must still build (clippy above runs with all of them).
    step(
        &mut timings,
        Step {
            name: "check without default features",
            program: "cargo",
            args: &["check", "-p", "beacon", "--no-default-features", "--lib"],
            env: vec![],
        },
    )?;

    let t = Instant::now();
    let backends = backends::ensure(root)?;
    timings.push(("backends".into(), t.elapsed().as_secs_f64()));

    step(
        &mut timings,
        Step {
            name: "build quickstart",
            program: "cargo",
            args: &["build", "--example", "quickstart", "-p", "beacon-examples"],
            env: vec![],
        },
    )?;
    let quickstart = root.join("target/debug/examples/quickstart");
    let mut test_env = backends.env();
    test_env.push((
        "BEACON_QUICKSTART_BIN".into(),
        quickstart.display().to_string(),
    ));
    // A misspelt OTEL_* value in a test's environment fails the run instead of warning
    // (pipelines built with `env_source` read only their own map, and are unaffected).
    test_env.push(("BEACON_CONFIG_STRICT".into(), "true".into()));

    let nextest = Command::new("cargo")
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if nextest {
        step(
            &mut timings,
            Step {
                name: "tests",
                program: "cargo",
                args: &[
                    "nextest",
                    "run",
                    "--workspace",
                    "--all-features",
                    "--no-fail-fast",
                ],
                env: test_env.clone(),
            },
        )?;
    } else {
        step(
            &mut timings,
            Step {
                name: "tests",
                program: "cargo",
                args: &[
                    "test",
                    "--workspace",
                    "--all-features",
                    "--lib",
                    "--bins",
                    "--tests",
                    "--examples",
                ],
                env: test_env.clone(),
            },
        )?;
    }
    step(
        &mut timings,
        Step {
            name: "doc tests",
            program: "cargo",
            args: &["test", "--doc", "--workspace", "--all-features"],
            env: test_env,
        },
    )?;
    step(
        &mut timings,
        Step {
            name: "docs",
            program: "cargo",
            args: &["doc", "--workspace", "--no-deps", "--all-features"],
            env: vec![("RUSTDOCFLAGS".into(), "-D warnings".into())],
        },
    )?;

    // tokio reports some runtime metrics only when built with `--cfg tokio_unstable`: build the
    // collectors test that way too (its own target directory, so the main build is untouched).
    step(
        &mut timings,
        Step {
            name: "tokio_unstable collectors",
            program: "cargo",
            args: &[
                "test",
                "-p",
                "beacon",
                "--features",
                "tokio-unstable-metrics",
                "--test",
                "collectors_report_semconv_metrics",
                "--target-dir",
                "target/tokio-unstable",
            ],
            env: vec![("RUSTFLAGS".into(), "--cfg tokio_unstable".into())],
        },
    )?;

    println!(
        "\nxtask ci: all checks passed in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    for (name, secs) in timings {
        println!("  {name:<28} {secs:>7.1}s");
    }
    Ok(())
}

fn bench(root: &Path, extra: &[String]) -> Result<(), String> {
    let mut args: Vec<&str> = vec!["bench", "-p", "beacon-benches"];
    if !extra.is_empty() {
        args.push("--");
        args.extend(extra.iter().map(String::as_str));
    }
    if !root.join("benches/Cargo.toml").exists() {
        return Err("no benches/ package yet".into());
    }
    run(
        root,
        &Step {
            name: "bench",
            program: "cargo",
            args: &args,
            env: vec![],
        },
    )
    .map(|_| ())
}
