//! The database refuses UPDATE and DELETE itself; and once someone drops those triggers with the
//! `sqlite3` CLI and edits the file, `verify` (the library and the `beacon-audit` binary) names
//! the first bad sequence number and what was done.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use beacon_audit::{AuditLog, AuditReader, Checkpoint, SigningKey, TamperKind, Tampering};
use support::{run_sql, sqlite3, TempDir};

/// A closed log of `n` entries (with a checkpoint after every entry).
fn log_of(dir: &TempDir, n: u32) -> (PathBuf, PathBuf) {
    let db = dir.path("audit.db");
    let cp = dir.path("head.json");
    let log = AuditLog::builder(&db)
        .checkpoint_file(&cp)
        .checkpoint_every(1)
        .signing_key(SigningKey::from_bytes(&[9; 32]))
        .open()
        .unwrap();
    for i in 1..=n {
        log.append_blocking(support::entry(i)).unwrap();
    }
    drop(log);
    (db, cp)
}

fn cli(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_beacon-audit"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn tamper_and_verify(sql: &str) -> Option<Tampering> {
    let sqlite3 = sqlite3()?;
    let dir = TempDir::new("tamper");
    let (db, _) = log_of(&dir, 5);
    let (ok, err) = run_sql(&sqlite3, &db, sql);
    assert!(ok, "sqlite3 failed: {err}");
    let found = AuditReader::open(&db).unwrap().verify().unwrap().tampering;
    let t = found.expect("verify must find the tampering");
    // The binary agrees, naming the sequence number, with a non-zero exit.
    let (code, out) = cli(&["verify", db.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "first bad sequence number {} ({})",
            t.sequence, t.kind
        )),
        "{out}"
    );
    Some(t)
}

#[test]
fn update_and_delete_are_refused_by_the_database_itself() {
    let dir = TempDir::new("refused");
    let (db, _) = log_of(&dir, 3);
    // Through a plain SQLite connection, not the log's API.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let update = conn.execute(
        "UPDATE audit_entries SET action = 'x' WHERE sequence = 2",
        [],
    );
    assert!(update
        .unwrap_err()
        .to_string()
        .contains("UPDATE is refused"));
    let delete = conn.execute("DELETE FROM audit_entries WHERE sequence = 2", []);
    assert!(delete
        .unwrap_err()
        .to_string()
        .contains("DELETE is refused"));
    let delete_all = conn.execute("DELETE FROM audit_entries", []);
    assert!(delete_all.is_err());
    drop(conn);
    // And through the sqlite3 CLI.
    if let Some(sqlite3) = sqlite3() {
        let (ok, err) = run_sql(
            &sqlite3,
            &db,
            "UPDATE audit_entries SET actor_id = 'mallory';",
        );
        assert!(!ok && err.contains("UPDATE is refused"), "{err}");
        let (ok, err) = run_sql(
            &sqlite3,
            &db,
            "DELETE FROM audit_entries WHERE sequence = 3;",
        );
        assert!(!ok && err.contains("DELETE is refused"), "{err}");
    }
    let report = AuditReader::open(&db).unwrap().verify().unwrap();
    assert!(report.is_intact());
    assert_eq!(report.entries, 3);
    let (code, out) = cli(&["verify", db.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("intact: 3 entries"), "{out}");
}

#[test]
fn a_modified_field_is_found() {
    let t = tamper_and_verify(
        "DROP TRIGGER audit_entries_no_update;
         UPDATE audit_entries SET actor_id = 'mallory' WHERE sequence = 3;",
    );
    if let Some(t) = t {
        assert_eq!(
            t,
            Tampering {
                sequence: 3,
                kind: TamperKind::Modified
            }
        );
    }
}

#[test]
fn a_deleted_middle_row_is_found() {
    let t = tamper_and_verify(
        "DROP TRIGGER audit_entries_no_delete;
         DELETE FROM audit_entries WHERE sequence = 3;",
    );
    if let Some(t) = t {
        assert_eq!(
            t,
            Tampering {
                sequence: 3,
                kind: TamperKind::Deleted
            }
        );
    }
}

#[test]
fn two_swapped_rows_are_found() {
    let t = tamper_and_verify(
        "DROP TRIGGER audit_entries_no_update;
         UPDATE audit_entries SET sequence = -3 WHERE sequence = 3;
         UPDATE audit_entries SET sequence = 3 WHERE sequence = 4;
         UPDATE audit_entries SET sequence = 4 WHERE sequence = -3;",
    );
    if let Some(t) = t {
        assert_eq!(
            t,
            Tampering {
                sequence: 3,
                kind: TamperKind::Reordered
            }
        );
    }
}

#[test]
fn an_inserted_row_is_found() {
    // Make room at 3 and put a copy of row 2 there.
    let t = tamper_and_verify(
        "DROP TRIGGER audit_entries_no_update;
         UPDATE audit_entries SET sequence = sequence + 100 WHERE sequence >= 3;
         UPDATE audit_entries SET sequence = sequence - 99 WHERE sequence >= 100;
         INSERT INTO audit_entries SELECT 3, inserted_at_us, event_type, actor_type, actor_id,
             resource_type, resource_id, action, details, correlation_id, client_ip, user_agent,
             prev_hash, hash FROM audit_entries WHERE sequence = 2;",
    );
    if let Some(t) = t {
        assert_eq!(
            t,
            Tampering {
                sequence: 3,
                kind: TamperKind::Inserted
            }
        );
    }
}

fn checkpoint_verify(db: &Path, cp: &Path) -> (Option<i32>, String) {
    let key = SigningKey::from_bytes(&[9; 32]).verifying_key();
    let hex: String = key.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    cli(&[
        "verify",
        db.to_str().unwrap(),
        "--checkpoint",
        cp.to_str().unwrap(),
        "--public-key",
        &hex,
    ])
}

#[test]
fn a_truncated_tail_is_found_against_the_signed_checkpoint() {
    let Some(sqlite3) = sqlite3() else { return };
    let dir = TempDir::new("truncate");
    let (db, cp_path) = log_of(&dir, 5);
    let cp = Checkpoint::read(&cp_path).unwrap();
    assert_eq!(cp.sequence, 5);
    cp.verify_signature(&SigningKey::from_bytes(&[9; 32]).verifying_key())
        .unwrap();
    assert_eq!(checkpoint_verify(&db, &cp_path).0, Some(0));

    let (ok, err) = run_sql(
        &sqlite3,
        &db,
        "DROP TRIGGER audit_entries_no_delete; DELETE FROM audit_entries WHERE sequence >= 4;",
    );
    assert!(ok, "{err}");
    let reader = AuditReader::open(&db).unwrap();
    // The chain alone still looks whole: only the checkpoint shows the cut.
    assert!(reader.verify().unwrap().is_intact());
    assert_eq!(
        reader.verify_against(&cp).unwrap().tampering,
        Some(Tampering {
            sequence: 4,
            kind: TamperKind::Truncated
        })
    );
    let (code, out) = checkpoint_verify(&db, &cp_path);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("first bad sequence number 4 (truncated)"),
        "{out}"
    );
    // The log's own verify reads the configured checkpoint too.
    let log = AuditLog::builder(&db)
        .checkpoint_file(&cp_path)
        .signing_key(SigningKey::from_bytes(&[9; 32]))
        .open()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let report = rt.block_on(log.verify()).unwrap();
    assert_eq!(
        report.tampering.map(|t| t.kind),
        Some(TamperKind::Truncated)
    );
}

#[test]
fn a_forged_checkpoint_signature_is_rejected() {
    let dir = TempDir::new("forged-cp");
    let (db, cp_path) = log_of(&dir, 2);
    // Someone rewrites the checkpoint to an earlier head, signing with another key.
    let forged =
        Checkpoint::new(1, beacon_audit::Hash([0; 32])).signed(&SigningKey::from_bytes(&[1; 32]));
    forged.write(&cp_path).unwrap();
    let (code, _) = checkpoint_verify(&db, &cp_path);
    assert_eq!(code, Some(2));
}

#[test]
fn a_checkpoint_that_disagrees_with_the_chain_means_a_rewritten_history() {
    let dir = TempDir::new("rewritten");
    let (db, cp_path) = log_of(&dir, 4);
    let reader = AuditReader::open(&db).unwrap();
    let real = Checkpoint::read(&cp_path).unwrap();
    assert!(reader.verify_against(&real).unwrap().is_intact());
    // The chain is consistent, but entry 3 is not the one the checkpoint saw.
    let other = Checkpoint::new(3, beacon_audit::Hash([7; 32]));
    assert_eq!(
        reader.verify_against(&other).unwrap().tampering,
        Some(Tampering {
            sequence: 3,
            kind: TamperKind::Rewritten
        })
    );
}

#[tokio::test]
async fn an_explicit_checkpoint_is_written_signed_and_names_the_head() {
    let dir = TempDir::new("explicit-cp");
    let key = SigningKey::from_bytes(&[4; 32]);
    let log = AuditLog::builder(dir.path("audit.db"))
        .checkpoint_file(dir.path("cp.json"))
        .signing_key(key.clone())
        .open()
        .unwrap();
    let mut last = None;
    for i in 1..=3 {
        last = Some(log.append(support::entry(i)).await.unwrap());
    }
    let cp = log.checkpoint().await.unwrap();
    let last = last.unwrap();
    assert_eq!((cp.sequence, cp.hash), (last.sequence(), last.hash()));
    let on_disk = Checkpoint::read(&dir.path("cp.json")).unwrap();
    assert_eq!(on_disk, cp);
    on_disk.verify_signature(&key.verifying_key()).unwrap();
    assert!(log.verify().await.unwrap().is_intact());
}
