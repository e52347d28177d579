//! The embedded SQLite log (the default backend): one file in WAL mode, one writer thread.

mod reader;
mod schema;
pub(crate) mod writer;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use rusqlite::Connection;

pub use reader::AuditReader;
use writer::{Pending, Reply, Request};

use crate::{Checkpoint, Entry, Error, NewEntry, Page, Query, Verification};

/// Appends wait at most this long for others to share their commit, unless configured.
pub const DEFAULT_GROUP_COMMIT_WINDOW: Duration = Duration::from_millis(2);
/// The largest `details` accepted, as encoded JSON, unless configured: 64 KiB.
pub const DEFAULT_MAX_DETAILS_BYTES: usize = 64 * 1024;
/// Entries between two automatic checkpoints, unless configured.
pub const DEFAULT_CHECKPOINT_EVERY: u64 = 1000;
/// Most entries one commit carries, unless configured.
pub const DEFAULT_MAX_BATCH: usize = 1024;

/// An append-only, hash-chained audit log in one SQLite file.
///
/// Cloning is cheap; clones share the writer. Dropping the last clone waits for the writer to
/// finish the appends already queued and to write the final checkpoint.
///
/// # Example
/// ```
/// use beacon_audit::{Actor, AuditLog, NewEntry, Query, Resource};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), beacon_audit::Error> {
/// let path = std::env::temp_dir().join(format!("audit-doc-{}.db", std::process::id()));
/// # let _ = std::fs::remove_file(&path);
/// let log = AuditLog::open(&path)?;
/// let stored = log
///     .append(NewEntry::new(
///         "checkpoint.approved",
///         Actor::user("alice"),
///         Resource::new("checkpoint", "42"),
///         "approve",
///     ))
///     .await?;
/// assert_eq!(stored.sequence(), 1);
/// let page = log.query(Query::new().actor("alice")).await?;
/// assert_eq!(page.entries, vec![stored]);
/// assert!(log.verify().await?.is_intact());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AuditLog {
    inner: Arc<Inner>,
}

struct Inner {
    tx: Option<Sender<Request>>,
    thread: Option<JoinHandle<()>>,
    reader: Arc<Mutex<AuditReader>>,
    path: PathBuf,
    max_details_bytes: usize,
    checkpoint_file: Option<PathBuf>,
    verifying_key: Option<ed25519_dalek::VerifyingKey>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.path)
            .field("checkpoint_file", &self.checkpoint_file)
            .finish_non_exhaustive()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel stops the writer once it has drained it.
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Configures an [`AuditLog`].
#[derive(Debug)]
pub struct AuditLogBuilder {
    path: PathBuf,
    window: Duration,
    max_batch: usize,
    max_details_bytes: usize,
    checkpoint_file: Option<PathBuf>,
    checkpoint_every: u64,
    signing_key: Option<SigningKey>,
}

impl AuditLogBuilder {
    /// How long an append waits for others to share its commit (and sync). Zero commits at
    /// once, with whatever else is already queued.
    #[must_use]
    pub fn group_commit_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// The most entries one commit carries; 1 syncs every entry on its own.
    #[must_use]
    pub fn max_batch(mut self, n: usize) -> Self {
        self.max_batch = n.max(1);
        self
    }

    /// The largest `details` accepted, in bytes of encoded JSON.
    #[must_use]
    pub fn max_details_bytes(mut self, n: usize) -> Self {
        self.max_details_bytes = n;
        self
    }

    /// Writes the chain's head to `path` every [`checkpoint_every`](Self::checkpoint_every)
    /// entries, on [`AuditLog::checkpoint`], and when the log closes; [`AuditLog::verify`] then
    /// checks the log against it, which detects a truncated tail.
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

    /// Opens (or creates) the log: the file in WAL mode, the schema migrated to this version,
    /// the writer thread started.
    ///
    /// This does file I/O on the calling thread; call it at startup, not on a busy runtime.
    ///
    /// # Errors
    /// [`Error::Storage`] when the file cannot be opened or migrated, [`Error::SchemaTooNew`]
    /// when a newer beacon-audit wrote it, [`Error::Io`] when the thread cannot start.
    pub fn open(self) -> Result<AuditLog, Error> {
        let mut conn = Connection::open(&self.path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Storage(crate::error::StorageError::new(
                std::io::Error::other(format!("SQLite refused WAL mode (journal_mode = {mode})")),
            )));
        }
        // In WAL mode FULL syncs the WAL at every commit: a returned append is on disk.
        conn.pragma_update(None, "synchronous", "FULL")?;
        schema::migrate(&mut conn)?;
        let reader = AuditReader::open(&self.path)?;
        // Unbounded: an audit entry is never dropped, and queueing one never blocks the caller
        // (each caller waits for its own entry, which bounds the queue by the callers waiting).
        let (tx, rx) = std::sync::mpsc::channel();
        let verifying_key = self.signing_key.as_ref().map(SigningKey::verifying_key);
        let cfg = writer::Config {
            window: self.window,
            max_batch: self.max_batch,
            checkpoint_file: self.checkpoint_file.clone(),
            checkpoint_every: self.checkpoint_every,
            signing_key: self.signing_key,
        };
        let thread = std::thread::Builder::new()
            .name("beacon-audit-writer".into())
            .spawn(move || writer::run(conn, cfg, rx))
            .map_err(|e| Error::io(&self.path, e))?;
        Ok(AuditLog {
            inner: Arc::new(Inner {
                tx: Some(tx),
                thread: Some(thread),
                reader: Arc::new(Mutex::new(reader)),
                path: self.path,
                max_details_bytes: self.max_details_bytes,
                checkpoint_file: self.checkpoint_file,
                verifying_key,
            }),
        })
    }
}

impl AuditLog {
    /// A builder for the log in the SQLite file at `path`.
    pub fn builder(path: impl Into<PathBuf>) -> AuditLogBuilder {
        AuditLogBuilder {
            path: path.into(),
            window: DEFAULT_GROUP_COMMIT_WINDOW,
            max_batch: DEFAULT_MAX_BATCH,
            max_details_bytes: DEFAULT_MAX_DETAILS_BYTES,
            checkpoint_file: None,
            checkpoint_every: DEFAULT_CHECKPOINT_EVERY,
            signing_key: None,
        }
    }

    /// Opens (or creates) the log at `path` with the defaults.
    ///
    /// # Errors
    /// As [`AuditLogBuilder::open`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::builder(path.as_ref()).open()
    }

    /// The log's file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn pending(&self, entry: NewEntry) -> Result<Box<Pending>, Error> {
        Pending::prepare(entry, self.inner.max_details_bytes)
    }

    fn send(&self, request: Request) -> Result<(), Error> {
        let tx = self.inner.tx.as_ref().ok_or(Error::Closed)?;
        tx.send(request).map_err(|_| Error::Closed)
    }

    /// Appends `entry` and resolves to it as stored (sequence, timestamp, hash) once it is
    /// committed and synced to disk. The entry is validated and its correlation id taken from
    /// the current trace *when this is called*; the work happens on the log's writer thread,
    /// never on the caller's runtime. Dropping the future does not withdraw the entry.
    ///
    /// The stored entry is also emitted as a `tracing` event (see [`crate::TARGET`]).
    ///
    /// # Errors
    /// [`Error::DetailsTooLarge`], [`Error::EmptyField`] for a bad entry; [`Error::Storage`]
    /// when the commit fails; [`Error::Closed`] when the writer has stopped.
    pub fn append(
        &self,
        entry: NewEntry,
    ) -> impl Future<Output = Result<Entry, Error>> + Send + 'static {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let sent = self
            .pending(entry)
            .and_then(|p| self.send(Request::Append(p, Reply::Async(reply))));
        async move {
            sent?;
            let stored = rx.await.map_err(|_| Error::Closed)??;
            crate::telemetry::emit(&stored);
            Ok(stored)
        }
    }

    /// [`append`](Self::append) for code without an async runtime: blocks the calling thread
    /// until the entry is durable.
    ///
    /// # Errors
    /// As [`append`](Self::append).
    pub fn append_blocking(&self, entry: NewEntry) -> Result<Entry, Error> {
        let (reply, rx) = std::sync::mpsc::sync_channel(1);
        self.send(Request::Append(
            self.pending(entry)?,
            Reply::Blocking(reply),
        ))?;
        let stored = rx.recv().map_err(|_| Error::Closed)??;
        crate::telemetry::emit(&stored);
        Ok(stored)
    }

    /// Writes a checkpoint of the current head now (to the configured file, signed with the
    /// configured key) and returns it. Without a checkpoint file it is only returned.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be written, [`Error::Closed`] when the writer stopped.
    pub async fn checkpoint(&self) -> Result<Checkpoint, Error> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.send(Request::Checkpoint(Reply::Async(reply)))?;
        rx.await.map_err(|_| Error::Closed)?
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&AuditReader) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let reader = self.inner.reader.clone();
        let run = move || {
            let guard = reader
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&guard)
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => rt.spawn_blocking(run).await.map_err(|_| Error::Closed)?,
            Err(_) => run(),
        }
    }

    /// One page of the entries `query` selects, in sequence order (read on tokio's blocking
    /// pool when there is a runtime).
    ///
    /// # Errors
    /// As [`AuditReader::query`].
    pub async fn query(&self, query: Query) -> Result<Page, Error> {
        self.read(move |r| r.query(&query)).await
    }

    /// Walks the chain (and, when a checkpoint file is configured and exists, checks the log
    /// against it, with its signature when a signing key is configured).
    ///
    /// # Errors
    /// [`Error::Storage`] when the database fails; [`Error::Checkpoint`] when the checkpoint is
    /// malformed or its signature does not match. Tampering is reported in the
    /// [`Verification`], not as an error.
    pub async fn verify(&self) -> Result<Verification, Error> {
        let checkpoint = match &self.inner.checkpoint_file {
            Some(p) if p.exists() => Some(Checkpoint::read(p)?),
            _ => None,
        };
        if let (Some(cp), Some(key)) = (&checkpoint, &self.inner.verifying_key) {
            cp.verify_signature(key)?;
        }
        self.read(move |r| match &checkpoint {
            Some(cp) => r.verify_against(cp),
            None => r.verify(),
        })
        .await
    }
}
