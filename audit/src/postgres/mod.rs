//! The PostgreSQL log (feature `postgres`), for services whose instances share one audit log.
//!
//! The same entries, canonical encoding and chain as the SQLite log, in table `audit_entries`.
//! Appends from many tasks and many processes become one gap-free chain: each commit takes the
//! transaction-scoped advisory lock [`ADVISORY_LOCK_KEY`], reads the head, and inserts after it.
//! Each process has one writer task doing group commit as the SQLite log does; a returned
//! append is committed (and, with PostgreSQL's default `synchronous_commit = on`, flushed).
//! Row-level triggers refuse `UPDATE` and `DELETE`, a statement trigger refuses `TRUNCATE`, and
//! [`PgAuditLog::grant_append_only`] leaves an application role only `SELECT` and `INSERT`.
//!
//! # Example
//! ```no_run
//! # async fn demo() -> Result<(), beacon_audit::Error> {
//! use beacon_audit::postgres::PgAuditLog;
//! use beacon_audit::{Actor, NewEntry, Resource};
//!
//! let log = PgAuditLog::builder("host=127.0.0.1 user=audit dbname=app").connect().await?;
//! let e = log
//!     .append(NewEntry::new("order.paid", Actor::api("shop"), Resource::new("order", "7"), "pay"))
//!     .await?;
//! assert!(e.sequence() >= 1);
//! # Ok(()) }
//! ```

mod rows;
mod schema;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::SigningKey;

use rows::{entry_from_row, link_from_row};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::{Client, NoTls};

use crate::chain::{classify, Link, Walker};
use crate::sqlite::writer::Pending;
use crate::{
    Checkpoint, Entry, Error, Hash, NewEntry, Page, Query, TamperKind, Tampering, Verification,
};

/// The advisory lock (`pg_advisory_xact_lock`) that serializes appends across processes.
pub const ADVISORY_LOCK_KEY: i64 = 0x6265_6163_6f6e_4155; // "beaconAU"

const COLUMNS: &str = "sequence, inserted_at_us, event_type, actor_type, actor_id, \
    resource_type, resource_id, action, details, correlation_id, client_ip, user_agent, \
    prev_hash, hash";

fn pg(e: tokio_postgres::Error) -> Error {
    Error::Storage(crate::error::StorageError::new(e))
}

/// What the writer task is asked to do, in the order callers asked.
enum Request {
    /// Commit the entry; answer with it as stored.
    Append(Box<Pending>, oneshot::Sender<Result<Entry, Error>>),
    /// Write a checkpoint of the head (after every append asked before it); answer with it.
    Checkpoint(oneshot::Sender<Result<Checkpoint, Error>>),
}

/// An append-only, hash-chained audit log in PostgreSQL. Cloning is cheap.
#[derive(Debug, Clone)]
pub struct PgAuditLog {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    tx: mpsc::UnboundedSender<Request>,
    reader: Client,
    max_details_bytes: usize,
    checkpoint_file: Option<PathBuf>,
    verifying_key: Option<ed25519_dalek::VerifyingKey>,
}

/// What the writer task needs to write checkpoints.
struct Checkpoints {
    file: Option<PathBuf>,
    every: u64,
    key: Option<SigningKey>,
}

/// Configures a [`PgAuditLog`].
#[derive(Debug, Clone)]
pub struct PgAuditLogBuilder {
    config: String,
    window: Duration,
    max_batch: usize,
    max_details_bytes: usize,
    checkpoint_file: Option<PathBuf>,
    checkpoint_every: u64,
    signing_key: Option<SigningKey>,
}

impl PgAuditLogBuilder {
    /// As [`AuditLogBuilder::group_commit_window`](crate::AuditLogBuilder::group_commit_window).
    #[must_use]
    pub fn group_commit_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// As [`AuditLogBuilder::max_batch`](crate::AuditLogBuilder::max_batch).
    #[must_use]
    pub fn max_batch(mut self, n: usize) -> Self {
        self.max_batch = n.max(1);
        self
    }

    /// As [`AuditLogBuilder::max_details_bytes`](crate::AuditLogBuilder::max_details_bytes).
    #[must_use]
    pub fn max_details_bytes(mut self, n: usize) -> Self {
        self.max_details_bytes = n;
        self
    }

    /// Writes the head this process last committed to `path` every
    /// [`checkpoint_every`](Self::checkpoint_every) of its entries and when the writer stops;
    /// [`PgAuditLog::verify`] then checks the log against it.
    #[must_use]
    pub fn checkpoint_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.checkpoint_file = Some(path.into());
        self
    }

    /// Entries between two automatic checkpoints (at least 1).
    #[must_use]
    pub fn checkpoint_every(mut self, n: u64) -> Self {
        self.checkpoint_every = n.max(1);
        self
    }

    /// Signs checkpoints with this Ed25519 key; `verify` then requires a valid signature.
    #[must_use]
    pub fn signing_key(mut self, key: SigningKey) -> Self {
        self.signing_key = Some(key);
        self
    }

    /// Connects (two connections: the writer's and the readers'), migrates the schema, and
    /// starts the writer task on the current tokio runtime.
    ///
    /// # Errors
    /// [`Error::Storage`] when the server cannot be reached or the schema cannot be created,
    /// [`Error::SchemaTooNew`] when a newer beacon-audit created it.
    pub async fn connect(self) -> Result<PgAuditLog, Error> {
        let mut writer = connect(&self.config).await?;
        schema::migrate(&mut writer).await?;
        let reader = connect(&self.config).await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let verifying_key = self.signing_key.as_ref().map(SigningKey::verifying_key);
        let checkpoints = Checkpoints {
            file: self.checkpoint_file.clone(),
            every: self.checkpoint_every,
            key: self.signing_key,
        };
        tokio::spawn(run(writer, rx, self.window, self.max_batch, checkpoints));
        Ok(PgAuditLog {
            inner: Arc::new(Inner {
                tx,
                reader,
                max_details_bytes: self.max_details_bytes,
                checkpoint_file: self.checkpoint_file,
                verifying_key,
            }),
        })
    }
}

async fn connect(config: &str) -> Result<Client, Error> {
    let (client, connection) = tokio_postgres::connect(config, NoTls).await.map_err(pg)?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(target: crate::TARGET, error = %e, "audit PostgreSQL connection ended");
        }
    });
    Ok(client)
}

impl PgAuditLog {
    /// A builder for the log in the database `config` names (a `postgres://` URL or a
    /// `key=value` connection string, as `tokio_postgres::Config` parses it; no TLS).
    pub fn builder(config: impl Into<String>) -> PgAuditLogBuilder {
        PgAuditLogBuilder {
            config: config.into(),
            window: crate::DEFAULT_GROUP_COMMIT_WINDOW,
            max_batch: crate::DEFAULT_MAX_BATCH,
            max_details_bytes: crate::DEFAULT_MAX_DETAILS_BYTES,
            checkpoint_file: None,
            checkpoint_every: crate::DEFAULT_CHECKPOINT_EVERY,
            signing_key: None,
        }
    }

    /// Appends `entry`; resolves to it as stored once committed. As
    /// [`AuditLog::append`](crate::AuditLog::append).
    ///
    /// # Errors
    /// As [`AuditLog::append`](crate::AuditLog::append).
    pub fn append(
        &self,
        entry: NewEntry,
    ) -> impl std::future::Future<Output = Result<Entry, Error>> + Send + 'static {
        let (reply, rx) = oneshot::channel();
        let sent = Pending::prepare(entry, self.inner.max_details_bytes).and_then(|p| {
            self.inner
                .tx
                .send(Request::Append(p, reply))
                .map_err(|_| Error::Closed)
        });
        async move {
            sent?;
            let stored = rx.await.map_err(|_| Error::Closed)??;
            crate::telemetry::emit(&stored);
            Ok(stored)
        }
    }

    /// Leaves `role` only `SELECT` and `INSERT` on the entries (revoking `UPDATE`, `DELETE`,
    /// `TRUNCATE` and the rest); run it as the table's owner.
    ///
    /// # Errors
    /// [`Error::Storage`] when the statements fail (for example, no such role).
    pub async fn grant_append_only(&self, role: &str) -> Result<(), Error> {
        let role = format!("\"{}\"", role.replace('"', "\"\""));
        self.inner
            .reader
            .batch_execute(&format!(
                "REVOKE ALL ON audit_entries FROM {role}; \
                 GRANT SELECT, INSERT ON audit_entries TO {role};"
            ))
            .await
            .map_err(pg)
    }

    /// One page of the entries `query` selects, in sequence order.
    ///
    /// # Errors
    /// [`Error::Storage`] when the query fails, [`Error::Corrupt`] when a row cannot be read.
    pub async fn query(&self, query: Query) -> Result<Page, Error> {
        use tokio_postgres::types::ToSql;
        let mut sql = format!("SELECT {COLUMNS} FROM audit_entries WHERE sequence > $1");
        let mut params: Vec<Box<dyn ToSql + Sync>> =
            vec![Box::new(i64::try_from(query.after).unwrap_or(i64::MAX))];
        let mut filter = |clause: &str, value: Box<dyn ToSql + Sync>| {
            params.push(value);
            sql.push_str(&format!(" AND {clause} ${}", params.len()));
        };
        if let Some(t) = &query.event_type {
            filter("event_type =", Box::new(t.clone()));
        }
        if let Some(a) = &query.actor_id {
            filter("actor_id =", Box::new(a.clone()));
        }
        if let Some((kind, id)) = &query.resource {
            filter("resource_type =", Box::new(kind.clone()));
            filter("resource_id =", Box::new(id.clone()));
        }
        if let Some(c) = &query.correlation_id {
            filter("correlation_id =", Box::new(c.clone()));
        }
        if let Some(t) = query.since_us {
            filter("inserted_at_us >=", Box::new(t));
        }
        if let Some(t) = query.until_us {
            filter("inserted_at_us <", Box::new(t));
        }
        let size = query.page_size();
        params.push(Box::new(i64::from(size) + 1));
        sql.push_str(&format!(" ORDER BY sequence LIMIT ${}", params.len()));
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(AsRef::as_ref).collect();
        let rows = self.inner.reader.query(&sql, &params).await.map_err(pg)?;
        let mut entries = rows
            .iter()
            .map(entry_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if entries.len() > size as usize {
            entries.truncate(size as usize);
            entries.last().map(Entry::sequence)
        } else {
            None
        };
        Ok(Page { entries, next })
    }

    /// Walks the whole chain; reports the first entry modified, inserted, deleted or reordered
    /// (and, when a checkpoint file is configured and exists, checks the log against it, with its
    /// signature when a signing key is configured).
    ///
    /// # Errors
    /// [`Error::Storage`] when the query fails; [`Error::Checkpoint`] when the checkpoint is
    /// malformed or its signature does not match.
    pub async fn verify(&self) -> Result<Verification, Error> {
        let checkpoint = match &self.inner.checkpoint_file {
            Some(p) if p.exists() => Some(Checkpoint::read(p)?),
            _ => None,
        };
        if let (Some(cp), Some(key)) = (&checkpoint, &self.inner.verifying_key) {
            cp.verify_signature(key)?;
        }
        self.verify_inner(checkpoint.as_ref()).await
    }

    /// [`verify`](Self::verify), and checks the log against `checkpoint` (see
    /// [`AuditReader::verify_against`](crate::AuditReader::verify_against)).
    ///
    /// # Errors
    /// As [`verify`](Self::verify).
    pub async fn verify_against(&self, checkpoint: &Checkpoint) -> Result<Verification, Error> {
        self.verify_inner(Some(checkpoint)).await
    }

    /// Writes a checkpoint of the head now — after every append this process asked for
    /// before it — to the configured file, signed with the configured key, and returns it to
    /// keep elsewhere too (see [`Checkpoint::write`]). Without a checkpoint file it is only
    /// returned.
    ///
    /// # Errors
    /// [`Error::Storage`] when the head cannot be read, [`Error::Io`] when the file cannot be
    /// written, [`Error::Closed`] when the writer stopped.
    pub async fn checkpoint(&self) -> Result<Checkpoint, Error> {
        let (reply, rx) = oneshot::channel();
        self.inner
            .tx
            .send(Request::Checkpoint(reply))
            .map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }

    async fn verify_inner(&self, checkpoint: Option<&Checkpoint>) -> Result<Verification, Error> {
        use futures_util::TryStreamExt;
        let sql = format!("SELECT {COLUMNS} FROM audit_entries ORDER BY sequence");
        let mut walker = Walker::new(checkpoint.map(|c| c.sequence));
        let stream = self
            .inner
            .reader
            .query_raw(&sql, std::iter::empty::<i64>())
            .await
            .map_err(pg)?;
        let mut stream = std::pin::pin!(stream);
        while let Some(row) = stream.try_next().await.map_err(pg)? {
            if !walker.feed(&link_from_row(&row)) {
                break;
            }
        }
        let walk = walker.finish();
        let tampering = if let Some(p) = walk.broken_at {
            let rows = self.inner.reader.query(&sql, &[]).await.map_err(pg)?;
            let all: Vec<Link> = rows.iter().map(link_from_row).collect();
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
}

async fn head<C: tokio_postgres::GenericClient>(client: &C) -> Result<(u64, Hash, i64), Error> {
    let row = client
        .query_opt(
            "SELECT sequence, hash, inserted_at_us FROM audit_entries \
             ORDER BY sequence DESC LIMIT 1",
            &[],
        )
        .await
        .map_err(pg)?;
    match row {
        None => Ok((0, Hash::GENESIS, i64::MIN)),
        Some(r) => {
            let sequence = u64::try_from(r.get::<_, i64>(0)).unwrap_or(0);
            let hash = Hash::from_slice(r.get::<_, &[u8]>(1)).ok_or(Error::Corrupt {
                sequence,
                reason: "the head's hash is not 32 bytes".into(),
            })?;
            Ok((sequence, hash, r.get(2)))
        }
    }
}

/// Writes a checkpoint of (`sequence`, `hash`) off the runtime's worker threads.
async fn save_checkpoint(
    checkpoints: &Checkpoints,
    sequence: u64,
    hash: Hash,
) -> Result<Checkpoint, Error> {
    let file = checkpoints.file.clone();
    let key = checkpoints.key.clone();
    tokio::task::spawn_blocking(move || {
        crate::checkpoint::save(
            Checkpoint::new(sequence, hash),
            file.as_deref(),
            key.as_ref(),
        )
    })
    .await
    .map_err(|_| Error::Closed)?
}

async fn run(
    mut client: Client,
    mut rx: mpsc::UnboundedReceiver<Request>,
    window: Duration,
    max_batch: usize,
    checkpoints: Checkpoints,
) {
    let mut checkpointed = 0u64;
    let mut latest: Option<(u64, Hash)> = None;
    while let Some(first) = rx.recv().await {
        let mut appends = Vec::new();
        let mut asked = Vec::new();
        let mut next = Some(first);
        let deadline = tokio::time::Instant::now() + window;
        while let Some(r) = next.take() {
            match r {
                Request::Append(p, reply) => appends.push((*p, reply)),
                Request::Checkpoint(reply) => asked.push(reply),
            }
            if appends.len() >= max_batch {
                break;
            }
            next = if window.is_zero() {
                rx.try_recv().ok()
            } else {
                tokio::time::timeout_at(deadline, rx.recv())
                    .await
                    .ok()
                    .flatten()
            };
        }
        if !appends.is_empty() {
            let (pending, replies): (Vec<_>, Vec<_>) = appends.into_iter().unzip();
            match commit(&mut client, pending).await {
                Ok(stored) => {
                    if let Some(last) = stored.last() {
                        latest = Some((last.sequence(), last.hash()));
                    }
                    for (e, reply) in stored.into_iter().zip(replies) {
                        let _ = reply.send(Ok(e));
                    }
                }
                Err(e) => {
                    for reply in replies {
                        let _ = reply.send(Err(e.clone()));
                    }
                }
            }
        }
        if let (Some(_), Some((sequence, hash))) = (&checkpoints.file, latest) {
            if sequence >= checkpointed + checkpoints.every
                && save_checkpoint(&checkpoints, sequence, hash).await.is_ok()
            {
                checkpointed = sequence;
            }
        }
        for reply in asked {
            // The database's head, not this process's last entry: other processes append too.
            let cp = match head(&client).await {
                Ok((sequence, hash, _)) => save_checkpoint(&checkpoints, sequence, hash).await,
                Err(e) => Err(e),
            };
            if let Ok(cp) = &cp {
                checkpointed = checkpointed.max(cp.sequence);
            }
            let _ = reply.send(cp);
        }
    }
    if let (Some(_), Some((sequence, hash))) = (&checkpoints.file, latest) {
        if sequence > checkpointed {
            let _ = save_checkpoint(&checkpoints, sequence, hash).await;
        }
    }
}

async fn commit(client: &mut Client, pending: Vec<Pending>) -> Result<Vec<Entry>, Error> {
    let tx = client.transaction().await.map_err(pg)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&ADVISORY_LOCK_KEY])
        .await
        .map_err(pg)?;
    let (mut sequence, mut prev, mut at) = head(&tx).await?;
    let insert = tx
        .prepare(
            "INSERT INTO audit_entries (sequence, inserted_at_us, event_type, actor_type, \
             actor_id, resource_type, resource_id, action, details, correlation_id, client_ip, \
             user_agent, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
             $12, $13, $14)",
        )
        .await
        .map_err(pg)?;
    let mut stored = Vec::with_capacity(pending.len());
    for p in pending {
        sequence += 1;
        at = at.max(crate::time::now_micros());
        let e = p.seal(sequence, at, prev);
        tx.execute(
            &insert,
            &[
                &i64::try_from(e.sequence).unwrap_or(i64::MAX),
                &e.inserted_at_us,
                &e.event_type,
                &e.actor.kind.as_str(),
                &e.actor.id,
                &e.resource.kind,
                &e.resource.id,
                &e.action,
                &e.details_json,
                &e.correlation_id,
                &e.client.ip,
                &e.client.user_agent,
                &&e.prev_hash.0[..],
                &&e.hash.0[..],
            ],
        )
        .await
        .map_err(pg)?;
        prev = e.hash;
        stored.push(e);
    }
    tx.commit().await.map_err(pg)?;
    Ok(stored)
}
