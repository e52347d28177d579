//! The audit log's errors: one enum, messages that say what to fix.

use std::sync::Arc;

/// What can go wrong when appending to, reading or verifying the audit log.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The entry's `details`, encoded as JSON, are larger than the log accepts.
    #[error(
        "audit entry details are {size} bytes of JSON, over the limit of {limit}: \
         store a reference to large payloads, or raise `max_details_bytes`"
    )]
    DetailsTooLarge {
        /// The encoded size of the details.
        size: usize,
        /// The configured limit (`AuditLogBuilder::max_details_bytes`).
        limit: usize,
    },
    /// A required field of the entry is empty.
    #[error("audit entry field `{0}` is empty: every entry needs it")]
    EmptyField(&'static str),
    /// The database (SQLite or PostgreSQL) failed.
    #[error("audit storage failed: {0}")]
    Storage(#[source] StorageError),
    /// The log's file or checkpoint file could not be read or written.
    #[error("audit file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the operating system said.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The database was written by a newer beacon-audit whose schema this one does not know.
    #[error(
        "audit schema version {found} is newer than this beacon-audit supports ({supported}): \
         upgrade beacon-audit"
    )]
    SchemaTooNew {
        /// The version found in the database.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The file is not an audit log: it has no audit schema.
    #[error("{0} is not a beacon-audit log (it has no audit schema)")]
    NotAnAuditLog(String),
    /// A stored row cannot be read back as an entry (it was altered outside the log).
    #[error("audit entry {sequence} cannot be read: {reason} (run verify)")]
    Corrupt {
        /// The entry's sequence number.
        sequence: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A checkpoint file is malformed, unsigned where a signature is required, or its signature
    /// does not match the key.
    #[error("audit checkpoint: {0}")]
    Checkpoint(String),
    /// The log's writer thread has stopped (the log was closed, or the thread could not start).
    #[error("the audit log's writer has stopped; reopen the log")]
    Closed,
}

/// A storage backend's error, kept opaque so the driver's (pre-1.0) types stay out of this API.
#[derive(Debug, Clone)]
pub struct StorageError(Arc<dyn std::error::Error + Send + Sync>);

impl StorageError {
    pub(crate) fn new(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Arc::new(e))
    }
}

impl std::fmt::Display for StorageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for StorageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Storage(StorageError::new(e))
    }
}

impl Error {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.display().to_string(),
            source: Arc::new(source),
        }
    }
}
