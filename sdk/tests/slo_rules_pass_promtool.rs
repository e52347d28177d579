//! The SLO rules Beacon renders pass `promtool check rules`, and `promtool test rules` fires
//! the burn-rate alerts on a synthetic error burst (and stays quiet without one). The committed
//! `deploy/prometheus/slo-rules.yaml` is what `examples/slo_rules.rs` renders.

use std::path::{Path, PathBuf};
use std::process::Command;

use beacon::slo::{prometheus_rules, Objective};

/// The objective of `examples/slo_rules.rs`.
const CHECKOUT: Objective = Objective::new("checkout")
    .success_rate(99.9)
    .latency(0.25, 99.0);

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/prometheus")
}

fn promtool() -> Option<&'static str> {
    let found = Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    match (
        found,
        std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false"),
    ) {
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

#[test]
fn the_committed_rules_are_the_rendered_ones() {
    let committed =
        std::fs::read_to_string(deploy().join("slo-rules.yaml")).expect("committed rules");
    assert_eq!(
        committed,
        prometheus_rules(&[CHECKOUT]),
        "regenerate with `cargo run -p beacon-examples --example slo_rules`"
    );
}

#[test]
fn promtool_checks_the_rules_and_the_alert_fires_on_an_error_burst() {
    let Some(promtool) = promtool() else { return };
    let check = Command::new(promtool)
        .args(["check", "rules", "slo-rules.yaml"])
        .current_dir(deploy())
        .output()
        .expect("promtool runs");
    let out = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success()
            && out.contains("SUCCESS: 12 rules found")
            && !out.contains("FAILED"),
        "{out}"
    );
    let test = Command::new(promtool)
        .args(["test", "rules", "slo-rules.test.yaml"])
        .current_dir(deploy())
        .output()
        .expect("promtool runs");
    assert!(
        test.status.success(),
        "{}{}",
        String::from_utf8_lossy(&test.stdout),
        String::from_utf8_lossy(&test.stderr)
    );
}

#[test]
fn rules_for_several_objectives_pass_promtool() {
    let Some(promtool) = promtool() else { return };
    let rules = prometheus_rules(&[
        Objective::new("search").success_rate(99.0),
        Objective::new("upload").latency(2.5, 95.0),
        CHECKOUT,
    ]);
    let dir = std::env::temp_dir().join(format!("beacon-slo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("rules.yaml");
    std::fs::write(&file, rules).expect("write rules");
    let check = Command::new(promtool)
        .args(["check", "rules"])
        .arg(&file)
        .output()
        .expect("promtool runs");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        out.contains("SUCCESS: 24 rules found") && !out.contains("FAILED"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
