//! Exemplars: a recorded measurement's value, time and trace/span ids, kept beside the metric so
//! a latency spike in a dashboard leads to the trace that caused it.
//!
//! `opentelemetry_sdk` 0.33 has the data model for exemplars but never fills it (its data points'
//! fields are private, so an exporter cannot add them either). Beacon therefore keeps them at the
//! narrowest point it owns: the instruments Beacon itself records (HTTP and gRPC durations,
//! `#[beacon::instrument(metrics)]` calls, `beacon.events`) offer each measurement to a
//! [`Reservoir`] named after the instrument, and the exporters attach what the reservoir holds to
//! the matching series: the Prometheus encoder in OpenMetrics output, the OTLP metric exporter
//! ([`crate::otlp::OtlpMetricExporter`]) in the data points' `exemplars`. Reservoirs follow the SDK spec:
//! an explicit-bucket histogram keeps the latest exemplar per bucket
//! (`AlignedHistogramBucketExemplarReservoir`), a counter keeps one per series
//! (`SimpleFixedSizeExemplarReservoir` of size 1), sampled uniformly from the measurements
//! offered since the last collection.
//!
//! Collection cycles: each reader holds a [`Cycle`] and opens a [`Window`] when it collects
//! ([`Exemplars::collect`]); it sees only the exemplars offered since its previous collection,
//! so an exemplar is sent once, and a counter's sampling starts afresh every cycle (any
//! reader's collection starts a new one, so with two readers a counter's sample is uniform
//! over the most recent cycle of either).
//!
//! # Example
//! ```
//! use beacon_exporter::exemplars::{exemplars, Cycle, ExemplarFilter};
//! use opentelemetry::trace::SpanContext;
//!
//! let store = exemplars();
//! store.enable(ExemplarFilter::AlwaysOn);
//! let calls = store.counter("doc.example.calls");
//! let hash = beacon_exporter::exemplars::attributes_hash([].iter());
//! let reader = Cycle::default();
//!
//! calls.offer(1.0, &[], &SpanContext::empty_context());
//! let window = store.collect(&reader);
//! assert_eq!(calls.get(hash, 0, window).map(|e| e.value), Some(1.0));
//! // Sent once: the next collection has nothing new.
//! let window = store.collect(&reader);
//! assert_eq!(calls.get(hash, 0, window), None);
//! ```
//!
//! Cost: nothing until a Prometheus reader or OTLP metrics turn exemplars on ([`Exemplars::enabled`] is one
//! relaxed atomic load); then one hash of the attributes and an uncontended `try_lock` of one of
//! 16 shards per offered measurement. A shard that is busy is skipped — an exemplar is a sample,
//! and recording must never wait for one.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::SystemTime;

use opentelemetry::trace::{SpanContext, SpanId, TraceId};
use opentelemetry::{KeyValue, Value};

/// Which measurements may become exemplars (`OTEL_METRICS_EXEMPLAR_FILTER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExemplarFilter {
    /// Only measurements made inside a sampled span (`trace_based`, the default).
    #[default]
    TraceBased,
    /// Every measurement (`always_on`); those outside a span carry no ids.
    AlwaysOn,
    /// None (`always_off`).
    AlwaysOff,
}

impl ExemplarFilter {
    /// The accepted values.
    pub const NAMES: &'static str = "trace_based, always_on or always_off";

    fn code(self) -> u8 {
        match self {
            ExemplarFilter::TraceBased => 0,
            ExemplarFilter::AlwaysOn => 1,
            ExemplarFilter::AlwaysOff => 2,
        }
    }

    fn from_code(code: u8) -> Self {
        match code {
            1 => ExemplarFilter::AlwaysOn,
            2 => ExemplarFilter::AlwaysOff,
            _ => ExemplarFilter::TraceBased,
        }
    }
}

impl std::str::FromStr for ExemplarFilter {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim() {
            "trace_based" => Ok(ExemplarFilter::TraceBased),
            "always_on" => Ok(ExemplarFilter::AlwaysOn),
            "always_off" => Ok(ExemplarFilter::AlwaysOff),
            _ => Err(()),
        }
    }
}

/// One kept measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exemplar {
    /// The measured value.
    pub value: f64,
    /// When it was measured.
    pub time: SystemTime,
    /// The span it was measured in; invalid when there was none (`always_on`).
    pub trace_id: TraceId,
    /// See [`Self::trace_id`].
    pub span_id: SpanId,
}

impl Exemplar {
    /// The trace and span ids, when the measurement was made in a span.
    pub fn ids(&self) -> Option<(TraceId, SpanId)> {
        (self.trace_id != TraceId::INVALID).then_some((self.trace_id, self.span_id))
    }
}

const SHARDS: usize = 16;

/// Series a reservoir keeps exemplars for, at most (the SDK's default cardinality limit).
pub const MAX_SERIES: usize = 2000;

/// One kept exemplar, the collection cycle it was offered in, and (for the uniform counter
/// reservoir) how many measurements that cycle has offered to the slot.
#[derive(Debug, Clone, Copy)]
struct Slot {
    exemplar: Exemplar,
    cycle: u64,
    seen: u64,
}

type Slots = Box<[Option<Slot>]>;

#[derive(Debug)]
struct Shard {
    series: HashMap<u64, Slots, BuildHasherDefault<Prehashed>>,
    /// xorshift64 state for the uniform sampling (never 0).
    rng: u64,
}

impl Shard {
    fn new(seed: u64) -> Self {
        Self {
            series: HashMap::default(),
            rng: seed | 1,
        }
    }

    /// A uniform draw from `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x % n
    }
}

/// The exemplars of one instrument, per series (attribute set).
#[derive(Debug)]
pub struct Reservoir {
    /// Explicit bucket bounds: one slot per bucket (`bounds.len() + 1`); empty: one slot.
    bounds: Box<[f64]>,
    shards: [Mutex<Shard>; SHARDS],
}

/// The collection cycles one reader has seen: hold one per reader and pass it to
/// [`Exemplars::collect`] each time the reader collects.
#[derive(Debug, Default)]
pub struct Cycle {
    /// The first cycle this reader has not collected yet.
    next: AtomicU64,
}

/// The collection cycles whose exemplars one collection shows: those offered since the
/// reader's previous collection. See [`Exemplars::collect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    from: u64,
    to: u64,
}

impl Window {
    /// Every exemplar still kept, whenever it was offered.
    pub fn everything() -> Self {
        Self {
            from: 0,
            to: u64::MAX,
        }
    }

    fn contains(self, cycle: u64) -> bool {
        (self.from..self.to).contains(&cycle)
    }
}

/// The shards' keys are already hashes ([`attributes_hash`]): used as they are.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed here; fold anything else in rather than lose it.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

impl Reservoir {
    fn new(bounds: &[f64]) -> Self {
        let seeds = foldhash::fast::RandomState::default();
        Self {
            bounds: bounds.into(),
            shards: std::array::from_fn(|i| Mutex::new(Shard::new(seeds.hash_one(i)))),
        }
    }

    fn slots(&self) -> usize {
        if self.bounds.is_empty() {
            1
        } else {
            self.bounds.len() + 1
        }
    }

    /// Offers a measurement made in `span` (pass [`SpanContext::empty_context`] when there is
    /// none) with the attributes it was recorded with; kept if the global filter admits it.
    pub fn offer(&self, value: f64, attrs: &[KeyValue], span: &SpanContext) {
        let store = exemplars();
        if !store.enabled() {
            return;
        }
        let filter = store.filter();
        let admitted = match filter {
            ExemplarFilter::AlwaysOff => false,
            ExemplarFilter::AlwaysOn => true,
            ExemplarFilter::TraceBased => span.is_sampled(),
        };
        if !admitted {
            return;
        }
        let (trace_id, span_id) = if span.is_valid() {
            (span.trace_id(), span.span_id())
        } else {
            (TraceId::INVALID, SpanId::INVALID)
        };
        let exemplar = Exemplar {
            value,
            time: SystemTime::now(),
            trace_id,
            span_id,
        };
        let slot = if self.bounds.is_empty() {
            0
        } else {
            // Buckets are (previous bound, bound]: the first bound >= value.
            self.bounds.partition_point(|b| *b < value)
        };
        let hash = attributes_hash(attrs.iter());
        let shard = &self.shards[(hash as usize) % SHARDS];
        let Ok(mut shard) = shard.try_lock() else {
            return;
        };
        let per_shard = MAX_SERIES / SHARDS;
        let slots = self.slots();
        if !shard.series.contains_key(&hash) && shard.series.len() >= per_shard {
            return;
        }
        let cycle = store.cycle.load(Ordering::Relaxed);
        let seen = match shard
            .series
            .get(&hash)
            .and_then(|s| s[slot].as_ref())
            .filter(|s| s.cycle == cycle)
        {
            // Each cycle samples afresh: the first measurement of a cycle is always kept.
            None => 1,
            Some(s) => s.seen + 1,
        };
        // A bucket keeps its latest measurement (`AlignedHistogramBucketExemplarReservoir`);
        // the counter's one cell keeps each of the cycle's `seen` measurements with
        // probability 1/seen, a uniform sample (`SimpleFixedSizeExemplarReservoir`).
        let replace = !self.bounds.is_empty() || seen == 1 || shard.below(seen) == 0;
        let entry = shard
            .series
            .entry(hash)
            .or_insert_with(|| vec![None; slots].into_boxed_slice());
        match (&mut entry[slot], replace) {
            (cell, true) => {
                *cell = Some(Slot {
                    exemplar,
                    cycle,
                    seen,
                });
            }
            (Some(kept), false) => kept.seen = seen,
            (None, false) => {}
        }
    }

    /// The exemplar in `slot` (a bucket index, or 0 for a counter) of the series whose
    /// attributes hash to `hash` (see [`attributes_hash`]), if it was offered in `window`.
    pub fn get(&self, hash: u64, slot: usize, window: Window) -> Option<Exemplar> {
        let shard = self.shards[(hash as usize) % SHARDS].lock().ok()?;
        shard
            .series
            .get(&hash)
            .and_then(|s| s.get(slot).copied().flatten())
            .filter(|s| window.contains(s.cycle))
            .map(|s| s.exemplar)
    }

    /// Every slot of one series (those not offered in `window` empty), copied out so no lock
    /// is held while it is encoded.
    pub fn snapshot(&self, hash: u64, window: Window) -> Option<Vec<Option<Exemplar>>> {
        let shard = self.shards[(hash as usize) % SHARDS].lock().ok()?;
        shard.series.get(&hash).map(|s| {
            s.iter()
                .map(|slot| {
                    slot.filter(|s| window.contains(s.cycle))
                        .map(|s| s.exemplar)
                })
                .collect()
        })
    }
}

/// The process's exemplar reservoirs, by instrument name.
#[derive(Debug, Default)]
pub struct Exemplars {
    enabled: AtomicBool,
    filter: AtomicU8,
    /// The current collection cycle; every collection starts the next one.
    cycle: AtomicU64,
    reservoirs: RwLock<HashMap<String, Arc<Reservoir>>>,
}

/// The process-wide store (meter providers are process-wide too).
pub fn exemplars() -> &'static Exemplars {
    static STORE: OnceLock<Exemplars> = OnceLock::new();
    STORE.get_or_init(Exemplars::default)
}

impl Exemplars {
    /// Whether any reader shows exemplars; recording sites check this first.
    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Turns exemplar keeping on with `filter` (off when it is `AlwaysOff`).
    pub fn enable(&self, filter: ExemplarFilter) {
        self.filter.store(filter.code(), Ordering::Relaxed);
        self.enabled
            .store(filter != ExemplarFilter::AlwaysOff, Ordering::Relaxed);
    }

    /// The filter in force.
    pub fn filter(&self) -> ExemplarFilter {
        ExemplarFilter::from_code(self.filter.load(Ordering::Relaxed))
    }

    /// Starts a collection by the reader holding `reader`: a new cycle begins (measurements
    /// offered from now on are sampled afresh), and the returned window holds what was
    /// offered since this reader's previous collection, which it alone has not shown yet.
    pub fn collect(&self, reader: &Cycle) -> Window {
        let to = self.cycle.fetch_add(1, Ordering::Relaxed) + 1;
        let from = reader.next.swap(to, Ordering::Relaxed);
        Window { from, to }
    }

    /// The reservoir for an explicit-bucket histogram named `name` with these bounds (the
    /// existing one if the name is known).
    pub fn histogram(&self, name: &str, bounds: &[f64]) -> Arc<Reservoir> {
        self.get_or_insert(name, bounds)
    }

    /// The reservoir for a counter named `name`.
    pub fn counter(&self, name: &str) -> Arc<Reservoir> {
        self.get_or_insert(name, &[])
    }

    /// The reservoir for `name`, if an instrument of that name offers exemplars.
    pub fn reservoir(&self, name: &str) -> Option<Arc<Reservoir>> {
        self.reservoirs.read().ok()?.get(name).cloned()
    }

    fn get_or_insert(&self, name: &str, bounds: &[f64]) -> Arc<Reservoir> {
        if let Some(r) = self.reservoir(name) {
            return r;
        }
        let mut map = match self.reservoirs.write() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry(name.to_owned())
            .or_insert_with(|| Arc::new(Reservoir::new(bounds)))
            .clone()
    }
}

/// A hash of an attribute set that does not depend on the attributes' order (the SDK sorts a
/// data point's attributes; recording sites pass them in their own order).
///
/// foldhash rather than std's SipHash: this runs once per kept measurement on the request path
/// (five attributes for an HTTP duration), where SipHash's per-hasher set-up and finish cost
/// about 25 ns each. The seed is random per process, as std's is.
pub fn attributes_hash<'a>(attrs: impl Iterator<Item = &'a KeyValue>) -> u64 {
    static STATE: std::sync::LazyLock<foldhash::fast::RandomState> =
        std::sync::LazyLock::new(foldhash::fast::RandomState::default);
    let state = &*STATE;
    attrs.fold(0u64, |acc, kv| {
        let mut h = state.build_hasher();
        kv.key.as_str().hash(&mut h);
        match &kv.value {
            Value::Bool(b) => b.hash(&mut h),
            Value::I64(i) => i.hash(&mut h),
            Value::F64(f) => f.to_bits().hash(&mut h),
            Value::String(s) => s.as_str().hash(&mut h),
            other => other.as_str().hash(&mut h),
        }
        acc.wrapping_add(h.finish())
    })
}

#[cfg(test)]
mod tests;
