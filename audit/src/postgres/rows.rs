//! PostgreSQL rows as `verify` links and as entries.

use tokio_postgres::Row;

use super::pg;
use crate::chain::{Fields, Link};
use crate::{Actor, ActorType, ClientInfo, Entry, Error, Hash, Resource};

fn hash_column(row: &Row, i: usize) -> Hash {
    row.try_get::<_, &[u8]>(i)
        .ok()
        .and_then(Hash::from_slice)
        .unwrap_or(Hash([0xff; 32]))
}

pub(super) fn link_from_row(row: &Row) -> Link {
    let sequence = row
        .try_get::<_, i64>(0)
        .ok()
        .and_then(|s| u64::try_from(s).ok())
        .unwrap_or(0);
    let prev_hash = hash_column(row, 12);
    let hash = hash_column(row, 13);
    let content = (|| -> Result<Hash, tokio_postgres::Error> {
        Ok(Fields {
            sequence,
            inserted_at_us: row.try_get(1)?,
            event_type: row.try_get(2)?,
            actor_type: row.try_get(3)?,
            actor_id: row.try_get(4)?,
            resource_type: row.try_get(5)?,
            resource_id: row.try_get(6)?,
            action: row.try_get(7)?,
            details: row.try_get(8)?,
            correlation_id: row.try_get(9)?,
            client_ip: row.try_get(10)?,
            user_agent: row.try_get(11)?,
            prev_hash: &prev_hash,
        }
        .hash())
    })();
    Link {
        sequence,
        prev_hash,
        hash,
        content_ok: content.is_ok_and(|h| h == hash),
    }
}

pub(super) fn entry_from_row(row: &Row) -> Result<Entry, Error> {
    let sequence = u64::try_from(row.try_get::<_, i64>(0).map_err(pg)?).unwrap_or(0);
    let corrupt = |reason: String| Error::Corrupt { sequence, reason };
    let get = |i: usize| -> Result<String, Error> { row.try_get(i).map_err(pg) };
    let opt = |i: usize| -> Result<Option<String>, Error> { row.try_get(i).map_err(pg) };
    let actor_type = get(3)?;
    let kind = ActorType::parse(&actor_type)
        .ok_or_else(|| corrupt(format!("unknown actor_type {actor_type:?}")))?;
    let details_json = get(8)?;
    let details = serde_json::from_str(&details_json)
        .map_err(|e| corrupt(format!("details are not JSON: {e}")))?;
    let blob = |i: usize| -> Result<Hash, Error> {
        row.try_get::<_, &[u8]>(i)
            .ok()
            .and_then(Hash::from_slice)
            .ok_or_else(|| corrupt("a hash column is not 32 bytes".into()))
    };
    Ok(Entry {
        sequence,
        inserted_at_us: row.try_get(1).map_err(pg)?,
        event_type: get(2)?,
        actor: Actor::new(kind, get(4)?),
        resource: Resource::new(get(5)?, get(6)?),
        action: get(7)?,
        details,
        details_json,
        correlation_id: opt(9)?,
        client: ClientInfo {
            ip: opt(10)?,
            user_agent: opt(11)?,
        },
        prev_hash: blob(12)?,
        hash: blob(13)?,
    })
}
