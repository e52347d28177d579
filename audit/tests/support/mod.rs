//! Shared test helpers: unique temporary directories and the `sqlite3` CLI.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)] // each test binary uses a part

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

#[cfg(feature = "postgres")]
pub mod pg;

use beacon_audit::{Actor, NewEntry, Resource};

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "beacon-audit-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An entry numbered `i`, about order `i`.
pub fn entry(i: u32) -> NewEntry {
    NewEntry::new(
        "order.updated",
        Actor::user(format!("user-{}", i % 3)),
        Resource::new("order", i.to_string()),
        "update",
    )
    .details(serde_json::json!({ "i": i }))
    .correlation_id(format!("corr-{i}"))
}

/// The `sqlite3` CLI: `BEACON_SQLITE3`, else `sqlite3` on PATH. `None` (after saying so) when
/// it is missing outside CI; in CI (`CI=true`) a missing CLI fails the test.
pub fn sqlite3() -> Option<PathBuf> {
    let candidate = std::env::var_os("BEACON_SQLITE3")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("sqlite3"));
    let works = Command::new(&candidate)
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if works {
        return Some(candidate);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the sqlite3 CLI is required in CI (set BEACON_SQLITE3 or install Debian package sqlite3)"
    );
    eprintln!("SKIPPED: no sqlite3 CLI (set BEACON_SQLITE3 or install Debian package sqlite3)");
    None
}

/// Runs `sql` against the database at `db` with the sqlite3 CLI; returns (success, stderr).
pub fn run_sql(sqlite3: &Path, db: &Path, sql: &str) -> (bool, String) {
    let out = Command::new(sqlite3)
        .arg("-bail")
        .arg(db)
        .arg(sql)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
