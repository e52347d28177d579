//! The PostgreSQL schema, versioned in table `audit_schema`, with its migrations.

use tokio_postgres::Client;

use crate::Error;

/// Serializes migrations of several processes starting at once.
const MIGRATION_LOCK_KEY: i64 = 0x6265_6163_6f6e_4d49; // "beaconMI"

/// Migration `i` takes the schema from version `i` to `i + 1`. Never edit one that shipped.
const MIGRATIONS: &[&str] = &[r"
CREATE TABLE audit_entries (
    sequence       BIGINT PRIMARY KEY,
    inserted_at_us BIGINT NOT NULL,
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
    prev_hash      BYTEA NOT NULL,
    hash           BYTEA NOT NULL
);
CREATE INDEX audit_entries_event_type ON audit_entries (event_type, sequence);
CREATE INDEX audit_entries_actor ON audit_entries (actor_id, sequence);
CREATE INDEX audit_entries_resource ON audit_entries (resource_type, resource_id, sequence);
CREATE INDEX audit_entries_correlation ON audit_entries (correlation_id, sequence);
CREATE INDEX audit_entries_inserted_at ON audit_entries (inserted_at_us);
CREATE FUNCTION audit_entries_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are immutable: % is refused', TG_OP;
END
$$;
CREATE TRIGGER audit_entries_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION audit_entries_refuse();
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_refuse();
"];

const VERSION: i64 = MIGRATIONS.len() as i64;

fn pg(e: tokio_postgres::Error) -> Error {
    Error::Storage(crate::error::StorageError::new(e))
}

/// Brings the database to [`VERSION`], in one transaction, one process at a time.
pub(crate) async fn migrate(client: &mut Client) -> Result<(), Error> {
    let tx = client.transaction().await.map_err(pg)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK_KEY])
        .await
        .map_err(pg)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS audit_schema (version BIGINT NOT NULL)")
        .await
        .map_err(pg)?;
    let found: i64 = tx
        .query_opt("SELECT version FROM audit_schema", &[])
        .await
        .map_err(pg)?
        .map_or(0, |r| r.get(0));
    if found > VERSION {
        return Err(Error::SchemaTooNew {
            found,
            supported: VERSION,
        });
    }
    for sql in MIGRATIONS.iter().skip(usize::try_from(found).unwrap_or(0)) {
        tx.batch_execute(sql).await.map_err(pg)?;
    }
    if found < VERSION {
        tx.execute("DELETE FROM audit_schema", &[])
            .await
            .map_err(pg)?;
        tx.execute(
            "INSERT INTO audit_schema (version) VALUES ($1)",
            &[&VERSION],
        )
        .await
        .map_err(pg)?;
    }
    tx.commit().await.map_err(pg)?;
    Ok(())
}
