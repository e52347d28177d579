//! The writer thread: one connection, group commit, the chain's head.
//!
//! Appends queue on a channel. The thread takes the first, waits up to the group-commit window
//! for more (up to the batch limit), writes them all in one `BEGIN IMMEDIATE` transaction that
//! reads the head inside it (so several processes on one file still make one chain), commits —
//! with `synchronous = FULL` in WAL mode the commit syncs the WAL — and only then answers each
//! caller.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::{Checkpoint, Entry, Error, Hash, NewEntry};

/// Where an answer goes: an async caller's oneshot, or a blocking caller's channel.
pub(crate) enum Reply<T> {
    Async(tokio::sync::oneshot::Sender<Result<T, Error>>),
    Blocking(SyncSender<Result<T, Error>>),
}

impl<T> Reply<T> {
    fn send(self, value: Result<T, Error>) {
        // A caller that stopped waiting has nothing to be told.
        match self {
            Reply::Async(tx) => {
                let _ = tx.send(value);
            }
            Reply::Blocking(tx) => {
                let _ = tx.send(value);
            }
        }
    }
}

pub(crate) enum Request {
    Append(Box<Pending>, Reply<Entry>),
    Checkpoint(Reply<Checkpoint>),
}

/// A validated entry: its details already encoded, its correlation id filled in.
pub(crate) struct Pending {
    pub(crate) entry: NewEntry,
    pub(crate) details_json: String,
}

impl Pending {
    /// Validates `entry`, encodes its details, and fills its correlation id from the current
    /// trace when it has none.
    pub(crate) fn prepare(
        mut entry: NewEntry,
        max_details_bytes: usize,
    ) -> Result<Box<Self>, Error> {
        crate::validate(&entry)?;
        let details_json = crate::encode_details(&entry.details, max_details_bytes)?;
        if entry.correlation_id.is_none() {
            entry.correlation_id = crate::current_trace_id();
        }
        Ok(Box::new(Self {
            entry,
            details_json,
        }))
    }

    /// The entry as stored at `sequence`, at time `at`, after the entry hashed `prev`.
    pub(crate) fn seal(self, sequence: u64, at: i64, prev: Hash) -> Entry {
        let Pending {
            entry,
            details_json,
        } = self;
        let mut e = Entry {
            sequence,
            inserted_at_us: at,
            event_type: entry.event_type,
            actor: entry.actor,
            resource: entry.resource,
            action: entry.action,
            details: entry.details,
            details_json,
            correlation_id: entry.correlation_id,
            client: entry.client,
            prev_hash: prev,
            hash: Hash::GENESIS,
        };
        e.hash = e.fields().hash();
        e
    }
}

pub(crate) struct Config {
    pub(crate) window: Duration,
    pub(crate) max_batch: usize,
    pub(crate) checkpoint_file: Option<PathBuf>,
    pub(crate) checkpoint_every: u64,
    pub(crate) signing_key: Option<SigningKey>,
}

const INSERT: &str = "INSERT INTO audit_entries (sequence, inserted_at_us, event_type, \
    actor_type, actor_id, resource_type, resource_id, action, details, correlation_id, \
    client_ip, user_agent, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, \
    ?11, ?12, ?13, ?14)";

/// The last entry's sequence, hash and timestamp (zeros and genesis for an empty log).
fn head(conn: &Connection) -> Result<(u64, Hash, i64), Error> {
    let row: Option<(i64, Vec<u8>, i64)> = conn
        .query_row(
            "SELECT sequence, hash, inserted_at_us FROM audit_entries \
             ORDER BY sequence DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    match row {
        None => Ok((0, Hash::GENESIS, i64::MIN)),
        Some((seq, hash, at)) => {
            let sequence = u64::try_from(seq).unwrap_or(0);
            let hash = Hash::from_slice(&hash).ok_or(Error::Corrupt {
                sequence,
                reason: "the head's hash is not 32 bytes".into(),
            })?;
            Ok((sequence, hash, at))
        }
    }
}

pub(crate) fn run(mut conn: Connection, cfg: Config, rx: Receiver<Request>) {
    let mut checkpointed = head(&conn).map_or(0, |(s, _, _)| s);
    let mut latest = checkpointed;
    while let Ok(first) = rx.recv() {
        let mut appends = Vec::new();
        let mut checkpoints = Vec::new();
        let take = |r: Request, appends: &mut Vec<_>, checkpoints: &mut Vec<_>| match r {
            Request::Append(p, reply) => appends.push((p, reply)),
            Request::Checkpoint(reply) => checkpoints.push(reply),
        };
        take(first, &mut appends, &mut checkpoints);
        let deadline = Instant::now() + cfg.window;
        let mut open = true;
        while open && appends.len() < cfg.max_batch {
            let next = if cfg.window.is_zero() {
                rx.try_recv()
                    .map_err(|e| matches!(e, TryRecvError::Disconnected))
            } else {
                let left = deadline.saturating_duration_since(Instant::now());
                rx.recv_timeout(left)
                    .map_err(|e| matches!(e, RecvTimeoutError::Disconnected))
            };
            match next {
                Ok(r) => take(r, &mut appends, &mut checkpoints),
                Err(disconnected) => {
                    open = !disconnected;
                    break;
                }
            }
        }
        if !appends.is_empty() {
            if let Some(seq) = commit(&mut conn, appends) {
                latest = seq;
            }
        }
        if cfg.checkpoint_file.is_some() && latest >= checkpointed + cfg.checkpoint_every {
            if let Ok(cp) = write_checkpoint(&conn, &cfg) {
                checkpointed = cp.sequence;
            }
        }
        for reply in checkpoints {
            let cp = write_checkpoint(&conn, &cfg);
            if let Ok(cp) = &cp {
                checkpointed = checkpointed.max(cp.sequence);
            }
            reply.send(cp);
        }
        if !open {
            break;
        }
    }
    if cfg.checkpoint_file.is_some() && latest > checkpointed {
        let _ = write_checkpoint(&conn, &cfg);
    }
}

/// Appends the batch in one transaction; answers every caller. Returns the new head sequence.
fn commit(conn: &mut Connection, batch: Vec<(Box<Pending>, Reply<Entry>)>) -> Option<u64> {
    let (pending, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
    let result = (|| -> Result<Vec<Entry>, Error> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (mut sequence, mut prev, mut at) = head(&tx)?;
        let mut stored = Vec::with_capacity(pending.len());
        {
            let mut stmt = tx.prepare_cached(INSERT)?;
            for p in pending {
                sequence += 1;
                // Timestamps never go backwards along the chain, even if the clock does.
                at = at.max(crate::time::now_micros());
                let e = p.seal(sequence, at, prev);
                stmt.execute(rusqlite::params![
                    i64::try_from(e.sequence).unwrap_or(i64::MAX),
                    e.inserted_at_us,
                    e.event_type,
                    e.actor.kind.as_str(),
                    e.actor.id,
                    e.resource.kind,
                    e.resource.id,
                    e.action,
                    e.details_json,
                    e.correlation_id,
                    e.client.ip,
                    e.client.user_agent,
                    &e.prev_hash.0[..],
                    &e.hash.0[..],
                ])?;
                prev = e.hash;
                stored.push(e);
            }
        }
        tx.commit()?;
        Ok(stored)
    })();
    match result {
        Ok(stored) => {
            let last = stored.last().map(Entry::sequence);
            for (entry, reply) in stored.into_iter().zip(replies) {
                reply.send(Ok(entry));
            }
            last
        }
        Err(e) => {
            for reply in replies {
                reply.send(Err(e.clone()));
            }
            None
        }
    }
}

/// A checkpoint of the current head, signed when a key is configured, written when a file is.
fn write_checkpoint(conn: &Connection, cfg: &Config) -> Result<Checkpoint, Error> {
    let (sequence, hash, _) = head(conn)?;
    crate::checkpoint::save(
        Checkpoint::new(sequence, hash),
        cfg.checkpoint_file.as_deref(),
        cfg.signing_key.as_ref(),
    )
}
