//! Entries: what the caller hands in ([`NewEntry`]) and what the log stored ([`Entry`]).
//!
//! # Example
//! ```
//! use beacon_audit::{Actor, NewEntry, Resource};
//!
//! let entry = NewEntry::new(
//!     "checkpoint.approved",
//!     Actor::user("alice"),
//!     Resource::new("checkpoint", "42"),
//!     "approve",
//! )
//! .details(serde_json::json!({"comment": "looks good"}))
//! .correlation_id("4bf92f3577b34da6a3ce929d0e0e4736");
//! assert_eq!(entry.event_type(), "checkpoint.approved");
//! ```

use std::fmt;
use std::time::SystemTime;

use serde::ser::SerializeStruct;

/// Who did it: `system`, `user` or `api`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActorType {
    /// The service itself (a scheduled job, a reaction to an event).
    System,
    /// A person.
    User,
    /// Another program calling an API (an API key, a service account).
    Api,
}

impl ActorType {
    /// The stored name: `system`, `user` or `api`.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorType::System => "system",
            ActorType::User => "user",
            ActorType::Api => "api",
        }
    }

    /// The actor type named `name`, if it is one of `system`, `user`, `api`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "system" => Some(ActorType::System),
            "user" => Some(ActorType::User),
            "api" => Some(ActorType::Api),
            _ => None,
        }
    }
}

impl fmt::Display for ActorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The actor of an entry: its type and its id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Actor {
    /// `system`, `user` or `api`.
    pub kind: ActorType,
    /// The actor's id (user id, API key id, job name).
    pub id: String,
}

impl Actor {
    /// An actor of type `kind`.
    pub fn new(kind: ActorType, id: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.into(),
        }
    }

    /// A person.
    pub fn user(id: impl Into<String>) -> Self {
        Self::new(ActorType::User, id)
    }

    /// A program calling an API.
    pub fn api(id: impl Into<String>) -> Self {
        Self::new(ActorType::Api, id)
    }

    /// The service itself.
    pub fn system(id: impl Into<String>) -> Self {
        Self::new(ActorType::System, id)
    }
}

/// The resource an entry is about: its type (`checkpoint`, `order`) and id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Resource {
    /// The resource type.
    pub kind: String,
    /// The resource id.
    pub id: String,
}

impl Resource {
    /// The resource `id` of type `kind`.
    pub fn new(kind: impl Into<String>, id: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            id: id.into(),
        }
    }
}

/// Where the request came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ClientInfo {
    /// The client's IP address (the peer, or what a trusted proxy reported).
    pub ip: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
}

/// A SHA-256 digest: an entry's hash, or the previous entry's.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The previous hash of the first entry: 32 zero bytes.
    pub const GENESIS: Hash = Hash([0; 32]);

    /// Lower-case hex, 64 characters.
    pub fn to_hex(&self) -> String {
        use fmt::Write;
        let mut s = String::with_capacity(64);
        for b in self.0 {
            let _ = write!(s, "{b:02x}");
        }
        s
    }

    /// Parses 64 hex characters.
    pub fn from_hex(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks(2).enumerate() {
            let hi = char::from(pair[0]).to_digit(16)?;
            let lo = char::from(pair[1]).to_digit(16)?;
            out[i] = u8::try_from(hi * 16 + lo).ok()?;
        }
        Some(Hash(out))
    }

    pub(crate) fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Hash)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// An entry to append. The log sets the sequence number, the timestamp and the hash.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub(crate) event_type: String,
    pub(crate) actor: Actor,
    pub(crate) resource: Resource,
    pub(crate) action: String,
    pub(crate) details: serde_json::Value,
    pub(crate) correlation_id: Option<String>,
    pub(crate) client: ClientInfo,
}

impl NewEntry {
    /// An entry of `event_type` (for example `checkpoint.approved`): `actor` did `action` to
    /// `resource`. Details default to `{}`; the correlation id defaults to the trace id current
    /// when the entry is appended.
    pub fn new(
        event_type: impl Into<String>,
        actor: Actor,
        resource: Resource,
        action: impl Into<String>,
    ) -> Self {
        Self {
            event_type: event_type.into(),
            actor,
            resource,
            action: action.into(),
            details: serde_json::Value::Object(serde_json::Map::new()),
            correlation_id: None,
            client: ClientInfo::default(),
        }
    }

    /// Structured details (stored as JSON, size-limited by the log).
    #[must_use]
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }

    /// The correlation id, instead of the current trace id.
    #[must_use]
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.correlation_id = Some(id.into());
        self
    }

    /// The client's IP address.
    #[must_use]
    pub fn client_ip(mut self, ip: impl Into<String>) -> Self {
        self.client.ip = Some(ip.into());
        self
    }

    /// The client's `User-Agent`.
    #[must_use]
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.client.user_agent = Some(agent.into());
        self
    }

    /// Both client fields at once, as the HTTP helper extracts them; fields already set win.
    #[must_use]
    pub fn client(mut self, client: ClientInfo) -> Self {
        self.client.ip = self.client.ip.or(client.ip);
        self.client.user_agent = self.client.user_agent.or(client.user_agent);
        self
    }

    /// The event type.
    pub fn event_type(&self) -> &str {
        &self.event_type
    }
}

/// An entry as the log stored it. Entries are never changed, so there is no `updated_at`.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub(crate) sequence: u64,
    pub(crate) inserted_at_us: i64,
    pub(crate) event_type: String,
    pub(crate) actor: Actor,
    pub(crate) resource: Resource,
    pub(crate) action: String,
    pub(crate) details: serde_json::Value,
    pub(crate) details_json: String,
    pub(crate) correlation_id: Option<String>,
    pub(crate) client: ClientInfo,
    pub(crate) prev_hash: Hash,
    pub(crate) hash: Hash,
}

impl Entry {
    /// The position in the log, from 1, without gaps.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }
    /// When the log stored the entry (UTC, microsecond precision).
    pub fn inserted_at(&self) -> SystemTime {
        crate::time::from_micros(self.inserted_at_us)
    }
    /// When the log stored the entry, in microseconds since the Unix epoch.
    pub fn inserted_at_micros(&self) -> i64 {
        self.inserted_at_us
    }
    /// The event type.
    pub fn event_type(&self) -> &str {
        &self.event_type
    }
    /// Who did it.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }
    /// What it was done to.
    pub fn resource(&self) -> &Resource {
        &self.resource
    }
    /// What was done.
    pub fn action(&self) -> &str {
        &self.action
    }
    /// The details.
    pub fn details(&self) -> &serde_json::Value {
        &self.details
    }
    /// The details exactly as stored (and hashed).
    pub fn details_json(&self) -> &str {
        &self.details_json
    }
    /// The correlation id (by default the trace id the entry was appended under).
    pub fn correlation_id(&self) -> Option<&str> {
        self.correlation_id.as_deref()
    }
    /// Client IP address and user agent.
    pub fn client(&self) -> &ClientInfo {
        &self.client
    }
    /// The previous entry's hash ([`Hash::GENESIS`] for the first).
    pub fn prev_hash(&self) -> Hash {
        self.prev_hash
    }
    /// This entry's hash: SHA-256 over its canonical encoding and the previous hash.
    pub fn hash(&self) -> Hash {
        self.hash
    }

    pub(crate) fn fields(&self) -> crate::chain::Fields<'_> {
        crate::chain::Fields {
            sequence: self.sequence,
            inserted_at_us: self.inserted_at_us,
            event_type: &self.event_type,
            actor_type: self.actor.kind.as_str(),
            actor_id: &self.actor.id,
            resource_type: &self.resource.kind,
            resource_id: &self.resource.id,
            action: &self.action,
            details: &self.details_json,
            correlation_id: self.correlation_id.as_deref(),
            client_ip: self.client.ip.as_deref(),
            user_agent: self.client.user_agent.as_deref(),
            prev_hash: &self.prev_hash,
        }
    }

    /// Whether the stored hash is the hash of the entry's content (one entry; [`verify`] checks
    /// the whole chain).
    ///
    /// [`verify`]: crate::AuditLog::verify
    pub fn hash_matches(&self) -> bool {
        self.fields().hash() == self.hash
    }
}

impl serde::Serialize for Entry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Entry", 14)?;
        st.serialize_field("sequence", &self.sequence)?;
        st.serialize_field(
            "inserted_at",
            &crate::time::format_rfc3339(self.inserted_at_us),
        )?;
        st.serialize_field("event_type", &self.event_type)?;
        st.serialize_field("actor_type", self.actor.kind.as_str())?;
        st.serialize_field("actor_id", &self.actor.id)?;
        st.serialize_field("resource_type", &self.resource.kind)?;
        st.serialize_field("resource_id", &self.resource.id)?;
        st.serialize_field("action", &self.action)?;
        st.serialize_field("details", &self.details)?;
        st.serialize_field("correlation_id", &self.correlation_id)?;
        st.serialize_field("client_ip", &self.client.ip)?;
        st.serialize_field("user_agent", &self.client.user_agent)?;
        st.serialize_field("prev_hash", &self.prev_hash.to_hex())?;
        st.serialize_field("hash", &self.hash.to_hex())?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_hex_round_trips() {
        let mut h = [0u8; 32];
        h[0] = 0xab;
        h[31] = 0x01;
        let hash = Hash(h);
        assert_eq!(Hash::from_hex(&hash.to_hex()), Some(hash));
        assert_eq!(Hash::from_hex("zz"), None);
        assert_eq!(Hash::from_hex(&"g".repeat(64)), None);
    }

    #[test]
    fn actor_types_round_trip_and_unknown_is_none() {
        for t in [ActorType::System, ActorType::User, ActorType::Api] {
            assert_eq!(ActorType::parse(t.as_str()), Some(t));
        }
        assert_eq!(ActorType::parse("root"), None);
    }

    #[test]
    fn client_fields_already_set_win() {
        let e = NewEntry::new("a.b", Actor::user("u"), Resource::new("r", "1"), "x")
            .client_ip("10.0.0.1")
            .client(ClientInfo {
                ip: Some("192.0.2.1".into()),
                user_agent: Some("curl/8".into()),
            });
        assert_eq!(e.client.ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(e.client.user_agent.as_deref(), Some("curl/8"));
    }
}
