//! Reading the SQLite log: queries and `verify`.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, Row};

use crate::chain::{classify, Fields, Link, Walker};
use crate::{
    Actor, ActorType, Checkpoint, ClientInfo, Entry, Error, Hash, Page, Query, Resource,
    TamperKind, Tampering, Verification,
};

const COLUMNS: &str = "sequence, inserted_at_us, event_type, actor_type, actor_id, \
    resource_type, resource_id, action, details, correlation_id, client_ip, user_agent, \
    prev_hash, hash";

/// A read-only view of a SQLite audit log: queries and verification. It never creates or
/// changes the file.
///
/// # Example
/// ```
/// # fn main() -> Result<(), beacon_audit::Error> {
/// let path = std::env::temp_dir().join(format!("reader-doc-{}.db", std::process::id()));
/// # let _ = std::fs::remove_file(&path);
/// drop(beacon_audit::AuditLog::open(&path)?); // creates the schema
/// let reader = beacon_audit::AuditReader::open(&path)?;
/// assert!(reader.verify()?.is_intact());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct AuditReader {
    conn: Connection,
}

impl AuditReader {
    /// Opens the log at `path` for reading.
    ///
    /// # Errors
    /// [`Error::Storage`] when the file cannot be opened, [`Error::NotAnAuditLog`] when it has no
    /// audit schema, [`Error::SchemaTooNew`] when a newer beacon-audit wrote it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        super::schema::check(&conn, path)?;
        Ok(Self { conn })
    }

    /// One page of the entries `query` selects, in sequence order.
    ///
    /// # Errors
    /// [`Error::Storage`] when the database fails, [`Error::Corrupt`] when a row cannot be read.
    pub fn query(&self, query: &Query) -> Result<Page, Error> {
        let mut sql = format!(
            "SELECT {COLUMNS} FROM {} WHERE sequence > ?",
            super::schema::TABLE
        );
        let mut params: Vec<rusqlite::types::Value> =
            vec![i64::try_from(query.after).unwrap_or(i64::MAX).into()];
        let mut filter = |clause: &str, value: rusqlite::types::Value| {
            sql.push_str(" AND ");
            sql.push_str(clause);
            params.push(value);
        };
        if let Some(t) = &query.event_type {
            filter("event_type = ?", t.clone().into());
        }
        if let Some(a) = &query.actor_id {
            filter("actor_id = ?", a.clone().into());
        }
        if let Some((kind, id)) = &query.resource {
            filter("resource_type = ?", kind.clone().into());
            filter("resource_id = ?", id.clone().into());
        }
        if let Some(c) = &query.correlation_id {
            filter("correlation_id = ?", c.clone().into());
        }
        if let Some(t) = query.since_us {
            filter("inserted_at_us >= ?", t.into());
        }
        if let Some(t) = query.until_us {
            filter("inserted_at_us < ?", t.into());
        }
        let size = query.page_size();
        sql.push_str(" ORDER BY sequence LIMIT ?");
        params.push(i64::from(size + 1).into());
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
        let mut entries = Vec::new();
        while let Some(row) = rows.next()? {
            entries.push(entry_from_row(row)?);
        }
        let next = if entries.len() > size as usize {
            entries.truncate(size as usize);
            entries.last().map(Entry::sequence)
        } else {
            None
        };
        Ok(Page { entries, next })
    }

    /// The entry with sequence number `sequence`, if there is one.
    ///
    /// # Errors
    /// As [`AuditReader::query`].
    pub fn get(&self, sequence: u64) -> Result<Option<Entry>, Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM {} WHERE sequence = ?",
            super::schema::TABLE
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query([i64::try_from(sequence).unwrap_or(i64::MAX)])?;
        match rows.next()? {
            Some(row) => entry_from_row(row).map(Some),
            None => Ok(None),
        }
    }

    /// Walks the whole chain and reports the first entry that was modified, inserted, deleted
    /// or reordered.
    ///
    /// # Errors
    /// [`Error::Storage`] when the database fails. Tampering is not an error: it is in the
    /// returned [`Verification`].
    pub fn verify(&self) -> Result<Verification, Error> {
        self.verify_inner(None)
    }

    /// [`verify`](Self::verify), and also checks the log against `checkpoint`: the log must
    /// reach the checkpoint's sequence (else it was [truncated](TamperKind::Truncated)) with the
    /// same hash there (else it was [rewritten](TamperKind::Rewritten)).
    ///
    /// # Errors
    /// As [`verify`](Self::verify).
    pub fn verify_against(&self, checkpoint: &Checkpoint) -> Result<Verification, Error> {
        self.verify_inner(Some(checkpoint))
    }

    fn verify_inner(&self, checkpoint: Option<&Checkpoint>) -> Result<Verification, Error> {
        let mut walker = Walker::new(checkpoint.map(|c| c.sequence));
        self.scan(|link| walker.feed(&link))?;
        let walk = walker.finish();
        let tampering = if let Some(p) = walk.broken_at {
            let mut all = Vec::new();
            self.scan(|link| {
                all.push(link);
                true
            })?;
            Some(classify(&all, p))
        } else {
            checkpoint.and_then(|cp| {
                let head = walk.head.map_or(0, |h| h.sequence);
                if head < cp.sequence {
                    Some(Tampering {
                        sequence: head + 1,
                        kind: TamperKind::Truncated,
                    })
                } else if cp.sequence > 0 && walk.hash_at_checkpoint != Some(cp.hash) {
                    Some(Tampering {
                        sequence: cp.sequence,
                        kind: TamperKind::Rewritten,
                    })
                } else {
                    None
                }
            })
        };
        Ok(Verification {
            entries: walk.entries,
            head: walk.head,
            tampering,
        })
    }

    /// Reads every row in sequence order as a [`Link`], until `f` returns false.
    fn scan(&self, mut f: impl FnMut(Link) -> bool) -> Result<(), Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM {} ORDER BY sequence",
            super::schema::TABLE
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            if !f(link_from_row(row)?) {
                break;
            }
        }
        Ok(())
    }
}

fn text<'r>(row: &'r Row<'_>, i: usize) -> Result<&'r str, rusqlite::Error> {
    row.get_ref(i)?.as_str().map_err(rusqlite::Error::from)
}

fn optional_text<'r>(row: &'r Row<'_>, i: usize) -> Result<Option<&'r str>, rusqlite::Error> {
    row.get_ref(i)?
        .as_str_or_null()
        .map_err(rusqlite::Error::from)
}

/// A hash column, or the all-`0xff` hash when the column is not 32 bytes (which then fails the
/// chain check as any other alteration does).
fn hash_column(row: &Row<'_>, i: usize) -> Result<Hash, rusqlite::Error> {
    let v = row.get_ref(i)?;
    Ok(v.as_blob()
        .ok()
        .and_then(Hash::from_slice)
        .unwrap_or(Hash([0xff; 32])))
}

fn link_from_row(row: &Row<'_>) -> Result<Link, Error> {
    let sequence = u64::try_from(row.get::<_, i64>(0)?).unwrap_or(0);
    let prev_hash = hash_column(row, 12)?;
    let hash = hash_column(row, 13)?;
    // A column of the wrong type (a number where text belongs) counts as altered content.
    let content = (|| -> Result<Hash, rusqlite::Error> {
        Ok(Fields {
            sequence,
            inserted_at_us: row.get(1)?,
            event_type: text(row, 2)?,
            actor_type: text(row, 3)?,
            actor_id: text(row, 4)?,
            resource_type: text(row, 5)?,
            resource_id: text(row, 6)?,
            action: text(row, 7)?,
            details: text(row, 8)?,
            correlation_id: optional_text(row, 9)?,
            client_ip: optional_text(row, 10)?,
            user_agent: optional_text(row, 11)?,
            prev_hash: &prev_hash,
        }
        .hash())
    })();
    Ok(Link {
        sequence,
        prev_hash,
        hash,
        content_ok: content.is_ok_and(|h| h == hash),
    })
}

pub(crate) fn entry_from_row(row: &Row<'_>) -> Result<Entry, Error> {
    let sequence = u64::try_from(row.get::<_, i64>(0)?).unwrap_or(0);
    let corrupt = |reason: String| Error::Corrupt { sequence, reason };
    let actor_type = text(row, 3)?;
    let kind = ActorType::parse(actor_type)
        .ok_or_else(|| corrupt(format!("unknown actor_type {actor_type:?}")))?;
    let details_json = text(row, 8)?.to_owned();
    let details = serde_json::from_str(&details_json)
        .map_err(|e| corrupt(format!("details are not JSON: {e}")))?;
    let blob = |i: usize| -> Result<Hash, Error> {
        row.get_ref(i)?
            .as_blob()
            .ok()
            .and_then(Hash::from_slice)
            .ok_or_else(|| corrupt("a hash column is not 32 bytes".into()))
    };
    Ok(Entry {
        sequence,
        inserted_at_us: row.get(1)?,
        event_type: text(row, 2)?.to_owned(),
        actor: Actor::new(kind, text(row, 4)?),
        resource: Resource::new(text(row, 5)?, text(row, 6)?),
        action: text(row, 7)?.to_owned(),
        details,
        details_json,
        correlation_id: optional_text(row, 9)?.map(str::to_owned),
        client: ClientInfo {
            ip: optional_text(row, 10)?.map(str::to_owned),
            user_agent: optional_text(row, 11)?.map(str::to_owned),
        },
        prev_hash: blob(12)?,
        hash: blob(13)?,
    })
}
