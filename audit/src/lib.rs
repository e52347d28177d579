//! Beacon's audit log: who did what to which resource, in an append-only store that nobody can
//! quietly edit.
//!
//! Every entry records an event type, an actor (`system`, `user` or `api`), a resource, an
//! action, JSON details (size-limited), a correlation id (by default the current trace id), the
//! client's IP address and user agent, and a timestamp set by the log (UTC, microseconds). The
//! log gives it a sequence number (1, 2, 3… without gaps) and a SHA-256 hash over its
//! [canonical encoding](chain) and the previous entry's hash. There is no `updated_at`: the
//! database itself refuses `UPDATE` and `DELETE`, and [`AuditLog::verify`] names the first
//! entry that was modified, inserted, deleted or reordered anyway. Checkpoints of the head
//! (optionally Ed25519-signed) make a cut-off tail detectable.
//!
//! Appends run on a dedicated writer thread that commits concurrent appends together
//! (*group commit*, window [`DEFAULT_GROUP_COMMIT_WINDOW`]) and answers each one only once its
//! entry is committed and synced. Each stored entry is also emitted as a `tracing` event with
//! `event.name = audit.<event_type>` (see [`telemetry`]), so it reaches the log pipeline too.
//!
//! # Quickstart
//! ```
//! use beacon_audit::{Actor, AuditLog, NewEntry, Query, Resource};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), beacon_audit::Error> {
//! let path = std::env::temp_dir().join(format!("audit-quickstart-{}.db", std::process::id()));
//! # let _ = std::fs::remove_file(&path);
//! let log = AuditLog::builder(&path).open()?;
//! for action in ["submit", "approve"] {
//!     log.append(
//!         NewEntry::new(
//!             format!("checkpoint.{action}"),
//!             Actor::user("alice"),
//!             Resource::new("checkpoint", "42"),
//!             action,
//!         )
//!         .correlation_id("req-7")
//!         .client_ip("192.0.2.10"),
//!     )
//!     .await?;
//! }
//! let story = log.query(Query::new().correlation_id("req-7")).await?;
//! let actions: Vec<_> = story.entries.iter().map(|e| e.action()).collect();
//! assert_eq!(actions, ["submit", "approve"]);
//! assert!(log.verify().await?.is_intact());
//! # Ok(()) }
//! ```
//!
//! # Features
//! | feature | adds |
//! |---|---|
//! | `axum` | [`http`]: a tower layer filling client IP, user agent and actor from axum requests |
//! | `postgres` | [`postgres`]: the same log in PostgreSQL, shared by several processes |
//!
//! The `beacon-audit` binary verifies and queries a log:
//! `beacon-audit verify PATH [--checkpoint FILE] [--public-key HEX]` and
//! `beacon-audit query PATH [--correlation-id ID] [--actor ID] [--resource TYPE:ID]
//! [--event-type T] [--since RFC3339] [--until RFC3339] [--limit N]` (JSON lines).

pub mod chain;
mod checkpoint;
mod entry;
mod error;
#[cfg(feature = "axum")]
pub mod http;
#[cfg(feature = "postgres")]
pub mod postgres;
mod query;
mod sqlite;
pub mod telemetry;
mod time;

pub use chain::{Head, TamperKind, Tampering, Verification};
pub use checkpoint::Checkpoint;
pub use ed25519_dalek::{SigningKey, VerifyingKey};
pub use entry::{Actor, ActorType, ClientInfo, Entry, Hash, NewEntry, Resource};
pub use error::{Error, StorageError};
pub use query::{Page, Query, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use sqlite::{
    AuditLog, AuditLogBuilder, AuditReader, DEFAULT_CHECKPOINT_EVERY, DEFAULT_GROUP_COMMIT_WINDOW,
    DEFAULT_MAX_BATCH, DEFAULT_MAX_DETAILS_BYTES,
};
pub use telemetry::{current_trace_id, TARGET};

/// Parses an RFC 3339 time (`2026-12-01T09:00:00Z`, optional fraction, `Z` or `±HH:MM`).
pub fn parse_time(text: &str) -> Option<std::time::SystemTime> {
    time::parse_rfc3339(text).map(time::from_micros)
}

/// Checks the fields every entry needs.
pub(crate) fn validate(entry: &NewEntry) -> Result<(), Error> {
    for (name, value) in [
        ("event_type", &entry.event_type),
        ("actor_id", &entry.actor.id),
        ("resource_type", &entry.resource.kind),
        ("resource_id", &entry.resource.id),
        ("action", &entry.action),
    ] {
        if value.is_empty() {
            return Err(Error::EmptyField(name));
        }
    }
    Ok(())
}

/// The details as stored (and hashed) JSON text, within `limit` bytes.
pub(crate) fn encode_details(details: &serde_json::Value, limit: usize) -> Result<String, Error> {
    // A `Value` always encodes (its map keys are strings).
    let json = details.to_string();
    if json.len() > limit {
        return Err(Error::DetailsTooLarge {
            size: json.len(),
            limit,
        });
    }
    Ok(json)
}
