//! Queries: filters combined with AND, results in sequence order, paged by sequence number.
//!
//! # Example
//! ```
//! use beacon_audit::Query;
//!
//! let q = Query::new().resource("checkpoint", "42").limit(50);
//! assert_eq!(q.page_size(), 50);
//! ```

use std::time::SystemTime;

use crate::Entry;

/// The most entries one page returns.
pub const MAX_PAGE_SIZE: u32 = 10_000;
/// Entries per page unless [`Query::limit`] says otherwise.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// Which entries to read. Every filter set must match; none set reads the whole log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub(crate) event_type: Option<String>,
    pub(crate) actor_id: Option<String>,
    pub(crate) resource: Option<(String, String)>,
    pub(crate) correlation_id: Option<String>,
    pub(crate) since_us: Option<i64>,
    pub(crate) until_us: Option<i64>,
    pub(crate) after: u64,
    pub(crate) limit: Option<u32>,
}

impl Query {
    /// Every entry, first page.
    pub fn new() -> Self {
        Self::default()
    }

    /// Entries of this event type.
    #[must_use]
    pub fn event_type(mut self, event_type: impl Into<String>) -> Self {
        self.event_type = Some(event_type.into());
        self
    }

    /// Entries by the actor with this id.
    #[must_use]
    pub fn actor(mut self, actor_id: impl Into<String>) -> Self {
        self.actor_id = Some(actor_id.into());
        self
    }

    /// Entries about this resource.
    #[must_use]
    pub fn resource(mut self, kind: impl Into<String>, id: impl Into<String>) -> Self {
        self.resource = Some((kind.into(), id.into()));
        self
    }

    /// Entries with this correlation id: the story of one operation, across services.
    #[must_use]
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.correlation_id = Some(id.into());
        self
    }

    /// Entries stored at or after `t`.
    #[must_use]
    pub fn since(mut self, t: SystemTime) -> Self {
        self.since_us = Some(crate::time::to_micros(t));
        self
    }

    /// Entries stored before `t`.
    #[must_use]
    pub fn until(mut self, t: SystemTime) -> Self {
        self.until_us = Some(crate::time::to_micros(t));
        self
    }

    /// Entries after this sequence number (the [`Page::next`] cursor of the previous page).
    #[must_use]
    pub fn after(mut self, sequence: u64) -> Self {
        self.after = sequence;
        self
    }

    /// At most `n` entries per page (capped at [`MAX_PAGE_SIZE`], at least 1).
    #[must_use]
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }

    /// The page size this query reads.
    pub fn page_size(&self) -> u32 {
        self.limit
            .unwrap_or(DEFAULT_PAGE_SIZE)
            .clamp(1, MAX_PAGE_SIZE)
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The entries, in sequence order.
    pub entries: Vec<Entry>,
    /// Pass to [`Query::after`] for the next page; `None` when this was the last.
    pub next: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_is_clamped() {
        assert_eq!(Query::new().page_size(), DEFAULT_PAGE_SIZE);
        assert_eq!(Query::new().limit(0).page_size(), 1);
        assert_eq!(Query::new().limit(u32::MAX).page_size(), MAX_PAGE_SIZE);
    }
}
