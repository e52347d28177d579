//! The SQLite schema, versioned in `PRAGMA user_version`, with its migrations.

use rusqlite::{Connection, TransactionBehavior};

use crate::Error;

/// The table's name; the triggers and the tamper tests refer to it.
pub(crate) const TABLE: &str = "audit_entries";

/// Migration `i` takes the schema from version `i` to `i + 1`. Never edit one that shipped: add
/// the next.
const MIGRATIONS: &[&str] = &[r"
CREATE TABLE audit_entries (
    sequence       INTEGER PRIMARY KEY,
    inserted_at_us INTEGER NOT NULL,
    event_type     TEXT NOT NULL,
    actor_type     TEXT NOT NULL,
    actor_id       TEXT NOT NULL,
    resource_type  TEXT NOT NULL,
    resource_id    TEXT NOT NULL,
    action         TEXT NOT NULL,
    details        TEXT NOT NULL,
    correlation_id TEXT,
    client_ip      TEXT,
    user_agent     TEXT,
    prev_hash      BLOB NOT NULL,
    hash           BLOB NOT NULL
);
CREATE INDEX audit_entries_event_type ON audit_entries (event_type, sequence);
CREATE INDEX audit_entries_actor ON audit_entries (actor_id, sequence);
CREATE INDEX audit_entries_resource ON audit_entries (resource_type, resource_id, sequence);
CREATE INDEX audit_entries_correlation ON audit_entries (correlation_id, sequence);
CREATE INDEX audit_entries_inserted_at ON audit_entries (inserted_at_us);
CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN
    SELECT RAISE(ABORT, 'audit entries are immutable: UPDATE is refused');
END;
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN
    SELECT RAISE(ABORT, 'audit entries are immutable: DELETE is refused');
END;
"];

/// The schema version this build writes.
pub(crate) const VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database to [`VERSION`], in one transaction.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), Error> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > VERSION {
        return Err(Error::SchemaTooNew {
            found,
            supported: VERSION,
        });
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(found).unwrap_or(0))
    {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
    }
    tx.commit()?;
    Ok(())
}

/// Checks a database opened for reading: its schema must be one this build knows.
pub(crate) fn check(conn: &Connection, path: &std::path::Path) -> Result<(), Error> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > VERSION {
        return Err(Error::SchemaTooNew {
            found,
            supported: VERSION,
        });
    }
    if found < 1 {
        return Err(Error::NotAnAuditLog(path.display().to_string()));
    }
    Ok(())
}
