//! `beacon-audit query PATH --…` prints the selected entries as JSON lines, in sequence order;
//! bad arguments are a clear error with exit code 2.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod support;

use std::process::Command;

use beacon_audit::{Actor, AuditLog, NewEntry, Resource};
use support::TempDir;

fn cli(args: &[&str]) -> (Option<i32>, Vec<serde_json::Value>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_beacon-audit"))
        .args(args)
        .output()
        .unwrap();
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        out.status.code(),
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sequences(lines: &[serde_json::Value]) -> Vec<u64> {
    lines
        .iter()
        .map(|l| l["sequence"].as_u64().unwrap())
        .collect()
}

#[test]
fn each_filter_selects_its_entries_as_json_lines() {
    let dir = TempDir::new("cli");
    let db = dir.path("audit.db");
    let log = AuditLog::open(&db).unwrap();
    for i in 1..=6 {
        log.append_blocking(support::entry(i)).unwrap();
    }
    log.append_blocking(
        NewEntry::new(
            "checkpoint.approved",
            Actor::user("alice"),
            Resource::new("checkpoint", "42"),
            "approve",
        )
        .correlation_id("corr-2"),
    )
    .unwrap();
    drop(log);
    let db = db.to_str().unwrap();

    let (code, lines, _) = cli(&["query", db, "--correlation-id", "corr-2"]);
    assert_eq!(code, Some(0));
    assert_eq!(sequences(&lines), [2, 7]);
    assert_eq!(lines[1]["actor_id"], "alice");
    assert_eq!(lines[1]["actor_type"], "user");
    assert!(lines[1]["inserted_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(lines[1]["hash"].as_str().unwrap().len(), 64);

    assert_eq!(
        sequences(&cli(&["query", db, "--actor", "user-0"]).1),
        [3, 6]
    );
    assert_eq!(
        sequences(&cli(&["query", db, "--resource", "checkpoint:42"]).1),
        [7]
    );
    assert_eq!(
        sequences(&cli(&["query", db, "--event-type", "order.updated", "--limit", "2"]).1),
        [1, 2]
    );
    assert_eq!(
        sequences(&cli(&["query", db, "--since", "1970-01-01T00:00:00Z"]).1).len(),
        7
    );
    assert!(cli(&["query", db, "--since", "2999-01-01T00:00:00Z"])
        .1
        .is_empty());
    assert_eq!(sequences(&cli(&["query", db, "--after", "5"]).1), [6, 7]);

    let (code, _, err) = cli(&["query", db, "--since", "last tuesday"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("RFC 3339"), "{err}");
    let (code, _, err) = cli(&["query", db, "--resource", "checkpoint"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("TYPE:ID"), "{err}");
    let (code, _, err) = cli(&["verify", dir.path("missing.db").to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(!err.is_empty());
}
