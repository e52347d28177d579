//! How much the hub keeps and what it indexes.
//!
//! ```
//! let config = beacon_hub::HubConfig::builder().max_traces(500).max_logs(2_000).build();
//! assert_eq!(config.max_traces(), 500);
//! assert_eq!(beacon_hub::HubConfig::default().max_traces(), 10_000);
//! ```

use std::time::Duration;

/// Which attributes the hub indexes for equality lookups.
///
/// Filters on any attribute work either way; an indexed one answers from its posting list
/// instead of looking at each stored item.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum IndexedAttributes {
    /// Every attribute whose value is a string, integer, boolean or double of at most
    /// [`HubConfig::max_indexed_value_len`] bytes (the default).
    #[default]
    All,
    /// Only these keys.
    Keys(Vec<String>),
    /// None.
    None,
}

impl IndexedAttributes {
    pub(crate) fn covers(&self, key: &str) -> bool {
        match self {
            IndexedAttributes::All => true,
            IndexedAttributes::Keys(keys) => keys.iter().any(|k| k == key),
            IndexedAttributes::None => false,
        }
    }
}

/// The hub's bounds. Every bound evicts the oldest items first and counts what it evicts
/// ([`crate::HubStats`]).
#[derive(Debug, Clone)]
pub struct HubConfig {
    pub(crate) max_traces: usize,
    pub(crate) max_spans: usize,
    pub(crate) max_logs: usize,
    pub(crate) max_events: usize,
    pub(crate) max_series: usize,
    pub(crate) max_points_per_series: usize,
    pub(crate) metric_window: Duration,
    pub(crate) memory_limit: usize,
    pub(crate) indexed_attributes: IndexedAttributes,
    pub(crate) max_indexed_value_len: usize,
    pub(crate) stream_capacity: usize,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            max_traces: 10_000,
            max_spans: 200_000,
            max_logs: 10_000,
            max_events: 10_000,
            max_series: 10_000,
            max_points_per_series: 720,
            metric_window: Duration::from_secs(3600),
            memory_limit: 256 * 1024 * 1024,
            indexed_attributes: IndexedAttributes::All,
            max_indexed_value_len: 256,
            stream_capacity: 4096,
        }
    }
}

impl HubConfig {
    /// A builder starting from the defaults.
    #[must_use]
    pub fn builder() -> HubConfigBuilder {
        HubConfigBuilder(Self::default())
    }

    /// At most this many traces (default 10,000, as the Aspire dashboard).
    #[must_use]
    pub fn max_traces(&self) -> usize {
        self.max_traces
    }

    /// At most this many spans over all traces (default 200,000).
    #[must_use]
    pub fn max_spans(&self) -> usize {
        self.max_spans
    }

    /// At most this many log records (default 10,000).
    #[must_use]
    pub fn max_logs(&self) -> usize {
        self.max_logs
    }

    /// At most this many domain events (default 10,000), kept apart from logs so chatty logs
    /// do not push events out.
    #[must_use]
    pub fn max_events(&self) -> usize {
        self.max_events
    }

    /// At most this many metric series (default 10,000); the least recently updated goes
    /// first.
    #[must_use]
    pub fn max_series(&self) -> usize {
        self.max_series
    }

    /// At most this many points per series (default 720: an hour at a 5 s interval).
    #[must_use]
    pub fn max_points_per_series(&self) -> usize {
        self.max_points_per_series
    }

    /// Points older than this behind a series' newest point are dropped (default 1 hour).
    #[must_use]
    pub fn metric_window(&self) -> Duration {
        self.metric_window
    }

    /// The memory cap in bytes (default 256 MiB), shared out as: spans 50%, logs 25%,
    /// domain events 10%, metrics 15%. Sizes are estimates of what each item holds, indexes
    /// included.
    #[must_use]
    pub fn memory_limit(&self) -> usize {
        self.memory_limit
    }

    /// Which attributes are indexed.
    #[must_use]
    pub fn indexed_attributes(&self) -> &IndexedAttributes {
        &self.indexed_attributes
    }

    /// Longest attribute value (in bytes of its text) that is indexed (default 256).
    #[must_use]
    pub fn max_indexed_value_len(&self) -> usize {
        self.max_indexed_value_len
    }

    /// Items the live stream buffers for its slowest subscriber before that subscriber is
    /// told it lagged (default 4096).
    #[must_use]
    pub fn stream_capacity(&self) -> usize {
        self.stream_capacity
    }

    pub(crate) fn budget(&self, percent: usize) -> usize {
        self.memory_limit / 100 * percent
    }
}

/// Builds a [`HubConfig`]; every setter has the default named on [`HubConfig`]'s getter.
#[derive(Debug, Clone)]
pub struct HubConfigBuilder(HubConfig);

impl HubConfigBuilder {
    /// See [`HubConfig::max_traces`]; at least 1.
    #[must_use]
    pub fn max_traces(mut self, n: usize) -> Self {
        self.0.max_traces = n.max(1);
        self
    }
    /// See [`HubConfig::max_spans`]; at least 1.
    #[must_use]
    pub fn max_spans(mut self, n: usize) -> Self {
        self.0.max_spans = n.max(1);
        self
    }
    /// See [`HubConfig::max_logs`]; at least 1.
    #[must_use]
    pub fn max_logs(mut self, n: usize) -> Self {
        self.0.max_logs = n.max(1);
        self
    }
    /// See [`HubConfig::max_events`]; at least 1.
    #[must_use]
    pub fn max_events(mut self, n: usize) -> Self {
        self.0.max_events = n.max(1);
        self
    }
    /// See [`HubConfig::max_series`]; at least 1.
    #[must_use]
    pub fn max_series(mut self, n: usize) -> Self {
        self.0.max_series = n.max(1);
        self
    }
    /// See [`HubConfig::max_points_per_series`]; at least 1.
    #[must_use]
    pub fn max_points_per_series(mut self, n: usize) -> Self {
        self.0.max_points_per_series = n.max(1);
        self
    }
    /// See [`HubConfig::metric_window`].
    #[must_use]
    pub fn metric_window(mut self, window: Duration) -> Self {
        self.0.metric_window = window;
        self
    }
    /// See [`HubConfig::memory_limit`]; at least 1 MiB.
    #[must_use]
    pub fn memory_limit(mut self, bytes: usize) -> Self {
        self.0.memory_limit = bytes.max(1024 * 1024);
        self
    }
    /// See [`HubConfig::indexed_attributes`].
    #[must_use]
    pub fn indexed_attributes(mut self, which: IndexedAttributes) -> Self {
        self.0.indexed_attributes = which;
        self
    }
    /// See [`HubConfig::max_indexed_value_len`].
    #[must_use]
    pub fn max_indexed_value_len(mut self, bytes: usize) -> Self {
        self.0.max_indexed_value_len = bytes;
        self
    }
    /// See [`HubConfig::stream_capacity`]; at least 16.
    #[must_use]
    pub fn stream_capacity(mut self, n: usize) -> Self {
        self.0.stream_capacity = n.max(16);
        self
    }
    /// The configuration.
    #[must_use]
    pub fn build(self) -> HubConfig {
        self.0
    }
}
