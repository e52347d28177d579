//! The bounded stores, one per signal, each behind its own lock.

pub(crate) mod logs;
pub(crate) mod metrics;
pub(crate) mod postings;
pub(crate) mod spans;

/// What one insertion pushed out.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Evicted {
    pub(crate) traces: u64,
    pub(crate) spans: u64,
}

#[cfg(test)]
mod tests;
