//! The tail-sampling span processor.
//!
//! Written here because neither `opentelemetry_sdk` nor any other Rust crate offers tail
//! sampling in-process (the Collector's `tail_sampling` processor is the usual answer, at the
//! cost of shipping every span over the network first).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use opentelemetry::trace::{SpanId, Status, TraceId};
use opentelemetry::{Context, Key, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;

/// Buffers are split by trace id so that threads ending spans of different traces rarely
/// contend on one lock.
const SHARDS: usize = 16;

type Predicate = Arc<dyn Fn(&SpanData) -> bool + Send + Sync>;

/// What [`TailSampling`] keeps, and how much it may hold while it waits.
///
/// A trace is kept whole when any of its spans has status Error, when its local root took at
/// least [`TailSamplingConfig::latency_threshold`], or when any span matches a rule; otherwise
/// it is kept with probability [`TailSamplingConfig::ratio`], decided from the trace id (so
/// every process that uses the same ratio makes the same choice for the same trace).
#[derive(Clone)]
pub struct TailSamplingConfig {
    ratio: f64,
    latency_threshold: Option<Duration>,
    rules: Vec<Predicate>,
    max_traces: usize,
    max_spans: usize,
    max_bytes: usize,
    decision_wait: Duration,
}

impl fmt::Debug for TailSamplingConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TailSamplingConfig")
            .field("ratio", &self.ratio)
            .field("latency_threshold", &self.latency_threshold)
            .field("rules", &self.rules.len())
            .field("max_traces", &self.max_traces)
            .field("max_spans", &self.max_spans)
            .field("max_bytes", &self.max_bytes)
            .field("decision_wait", &self.decision_wait)
            .finish()
    }
}

impl Default for TailSamplingConfig {
    /// Keeps errors and 10% of the rest; no latency rule; at most 10,000 traces, 100,000
    /// spans and 128 MiB of spans buffered; a trace whose root has not ended after 30 s is
    /// decided with what is there.
    fn default() -> Self {
        Self {
            ratio: 0.1,
            latency_threshold: None,
            rules: Vec::new(),
            max_traces: 10_000,
            max_spans: 100_000,
            max_bytes: 128 * 1024 * 1024,
            decision_wait: Duration::from_secs(30),
        }
    }
}

impl TailSamplingConfig {
    /// The share of uninteresting traces to keep, 0.0 to 1.0 (clamped; default 0.1).
    #[must_use]
    pub fn ratio(mut self, ratio: f64) -> Self {
        self.ratio = if ratio.is_nan() {
            0.0
        } else {
            ratio.clamp(0.0, 1.0)
        };
        self
    }

    /// Keeps every trace whose local root span lasted at least `threshold`.
    #[must_use]
    pub fn latency_threshold(mut self, threshold: Duration) -> Self {
        self.latency_threshold = Some(threshold);
        self
    }

    /// Keeps every trace in which some span has attribute `key` equal to `value`.
    #[must_use]
    pub fn keep_attribute(self, key: impl Into<Key>, value: impl Into<Value>) -> Self {
        let (key, value) = (key.into(), value.into());
        self.keep_if(move |span| {
            span.attributes
                .iter()
                .any(|kv| kv.key == key && kv.value == value)
        })
    }

    /// Keeps every trace in which some span satisfies `rule`.
    #[must_use]
    pub fn keep_if(mut self, rule: impl Fn(&SpanData) -> bool + Send + Sync + 'static) -> Self {
        self.rules.push(Arc::new(rule));
        self
    }

    /// The most traces waiting for a decision (default 10,000). When full, the oldest waiting
    /// trace is decided early with the spans it has.
    #[must_use]
    pub fn max_traces(mut self, max: usize) -> Self {
        self.max_traces = max.max(SHARDS);
        self
    }

    /// The most spans waiting for a decision, over all traces (default 100,000). When full,
    /// the oldest waiting traces are decided early.
    #[must_use]
    pub fn max_spans(mut self, max: usize) -> Self {
        self.max_spans = max.max(SHARDS);
        self
    }

    /// The most bytes of spans waiting for a decision, over all traces (default 128 MiB,
    /// estimated as the batch queues do: names, attributes, events, links). When full, the
    /// oldest waiting traces are decided early, as for [`TailSamplingConfig::max_spans`].
    #[must_use]
    pub fn max_bytes(mut self, max: usize) -> Self {
        self.max_bytes = max.max(SHARDS);
        self
    }

    /// How long a trace may wait for its local root to end (default 30 s); after that it is
    /// decided with the spans it has.
    #[must_use]
    pub fn decision_wait(mut self, wait: Duration) -> Self {
        self.decision_wait = wait;
        self
    }
}

/// Counters of a [`TailSampling`] processor's decisions. Every span that reached the processor
/// is either kept, dropped or still waiting.
#[derive(Debug, Default)]
pub struct TailStats {
    traces_kept_error: AtomicU64,
    traces_kept_slow: AtomicU64,
    traces_kept_rule: AtomicU64,
    traces_kept_ratio: AtomicU64,
    traces_dropped: AtomicU64,
    traces_decided_early: AtomicU64,
    spans_kept: AtomicU64,
    spans_dropped: AtomicU64,
}

/// A point-in-time copy of [`TailStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TailSnapshot {
    /// Traces kept because a span had status Error.
    pub traces_kept_error: u64,
    /// Traces kept because the local root was slower than the threshold.
    pub traces_kept_slow: u64,
    /// Traces kept because a rule matched.
    pub traces_kept_rule: u64,
    /// Uninteresting traces kept by the ratio.
    pub traces_kept_ratio: u64,
    /// Traces dropped.
    pub traces_dropped: u64,
    /// Traces decided before their local root ended (buffer full, waited too long, flush or
    /// shutdown); included in the counts above.
    pub traces_decided_early: u64,
    /// Spans passed on to the exporters.
    pub spans_kept: u64,
    /// Spans dropped.
    pub spans_dropped: u64,
}

impl TailSnapshot {
    /// All traces kept, for any reason.
    pub fn traces_kept(&self) -> u64 {
        self.traces_kept_error
            + self.traces_kept_slow
            + self.traces_kept_rule
            + self.traces_kept_ratio
    }
}

impl TailStats {
    /// Reads the counters.
    pub fn snapshot(&self) -> TailSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        TailSnapshot {
            traces_kept_error: get(&self.traces_kept_error),
            traces_kept_slow: get(&self.traces_kept_slow),
            traces_kept_rule: get(&self.traces_kept_rule),
            traces_kept_ratio: get(&self.traces_kept_ratio),
            traces_dropped: get(&self.traces_dropped),
            traces_decided_early: get(&self.traces_decided_early),
            spans_kept: get(&self.spans_kept),
            spans_dropped: get(&self.spans_dropped),
        }
    }
}

/// A span processor that decides whether to keep a trace after its local root span ended.
///
/// It holds each trace's spans in memory until the root ends (or the trace waited too long, or
/// the buffer is full), decides once for the whole trace, then passes the kept spans to the
/// processors it wraps — usually Beacon's batch exporters, via
/// [`crate::Builder::tail_sampling`]. Spans of a decided trace that end later follow the same
/// decision.
///
/// # Trade-offs
/// - Memory: up to [`TailSamplingConfig::max_spans`] finished spans, and at most
///   [`TailSamplingConfig::max_bytes`] of them, are held (a span with a few attributes is
///   around 0.5–1 KiB). The bounds are hard: when full, the oldest trace is
///   decided early rather than anything being lost uncounted.
/// - Latency of export: a trace reaches the backend only after its root ends.
/// - Traces that cross processes: each process decides for its own part. Errors and slowness
///   are judged per process, so a downstream service may keep its half of a trace whose
///   upstream half was dropped. The ratio part is decided from the trace id and is consistent
///   everywhere. For whole-trace decisions across services use the Collector's
///   `tail_sampling` processor behind a load-balancing exporter.
/// - It sees only spans the head sampler recorded: use it with the default `parentbased_always_on`.
///
/// # Example
/// ```
/// use std::time::Duration;
/// use beacon::sampling::TailSamplingConfig;
///
/// let telemetry = beacon::builder()
///     .tail_sampling(
///         TailSamplingConfig::default()
///             .ratio(0.05)
///             .latency_threshold(Duration::from_millis(500))
///             .keep_attribute("tenant.tier", "gold"),
///     )
///     .build()
///     .unwrap();
/// # drop(telemetry);
/// ```
pub struct TailSampling {
    config: TailSamplingConfig,
    /// `ratio` as a bound on the upper 63 bits of the trace id's low half, as
    /// `TraceIdRatioBased` does, so that the decision agrees with that head sampler's.
    ratio_bound: u64,
    shards: Box<[Mutex<Shard>]>,
    next: Vec<Box<dyn SpanProcessor>>,
    stats: Arc<TailStats>,
}

impl fmt::Debug for TailSampling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TailSampling")
            .field("config", &self.config)
            .field("next", &self.next)
            .field("stats", &self.stats.snapshot())
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Shard {
    waiting: HashMap<TraceId, Waiting>,
    /// Waiting traces in arrival order, to evict and to expire the oldest first. May hold ids
    /// already decided; those are skipped.
    order: VecDeque<TraceId>,
    spans: usize,
    bytes: usize,
    /// Recent decisions, for spans that end after their root.
    decided: HashMap<TraceId, bool>,
    decided_order: VecDeque<TraceId>,
}

struct Waiting {
    spans: Vec<SpanData>,
    bytes: usize,
    since: Instant,
    error: bool,
    rule: bool,
}

#[derive(Clone, Copy)]
enum Verdict {
    Error,
    Slow,
    Rule,
    Ratio,
    Drop,
}

impl TailSampling {
    /// Wraps `next`: kept spans are passed to each of those processors in turn.
    pub fn new(config: TailSamplingConfig, next: Vec<Box<dyn SpanProcessor>>) -> Self {
        let ratio_bound = if config.ratio >= 1.0 {
            u64::MAX
        } else {
            (config.ratio * (1u64 << 63) as f64) as u64
        };
        Self {
            config,
            ratio_bound,
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            next,
            stats: Arc::default(),
        }
    }

    /// The decision counters, shared (they stay readable after the provider is gone).
    pub fn stats(&self) -> Arc<TailStats> {
        Arc::clone(&self.stats)
    }

    fn shard(&self, trace_id: TraceId) -> MutexGuard<'_, Shard> {
        self.lock((u128::from_be_bytes(trace_id.to_bytes()) as usize) % SHARDS)
    }

    fn lock(&self, index: usize) -> MutexGuard<'_, Shard> {
        // A poisoned shard still holds consistent data: every mutation below completes
        // before anything that could panic (the rules run outside the lock).
        self.shards[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn by_ratio(&self, trace_id: TraceId) -> bool {
        if self.ratio_bound == u64::MAX {
            return true;
        }
        let low = u64::from_be_bytes(trace_id.to_bytes()[8..].try_into().unwrap_or([0; 8]));
        (low >> 1) < self.ratio_bound
    }

    fn matches_rule(&self, span: &SpanData) -> bool {
        self.config.rules.iter().any(|rule| rule(span))
    }

    fn is_slow(&self, span: &SpanData) -> bool {
        self.config.latency_threshold.is_some_and(|threshold| {
            span.end_time
                .duration_since(span.start_time)
                .is_ok_and(|took| took >= threshold)
        })
    }

    /// `root_slow` is `None` when the trace is decided before its local root ended.
    fn verdict(&self, trace_id: TraceId, waiting: &Waiting, root_slow: Option<bool>) -> Verdict {
        if waiting.error {
            Verdict::Error
        } else if root_slow == Some(true) {
            Verdict::Slow
        } else if waiting.rule {
            Verdict::Rule
        } else if self.by_ratio(trace_id) {
            Verdict::Ratio
        } else {
            Verdict::Drop
        }
    }

    fn count(&self, verdict: Verdict, spans: usize, early: bool) {
        let counter = match verdict {
            Verdict::Error => &self.stats.traces_kept_error,
            Verdict::Slow => &self.stats.traces_kept_slow,
            Verdict::Rule => &self.stats.traces_kept_rule,
            Verdict::Ratio => &self.stats.traces_kept_ratio,
            Verdict::Drop => &self.stats.traces_dropped,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if early {
            self.stats
                .traces_decided_early
                .fetch_add(1, Ordering::Relaxed);
        }
        let spans_counter = match verdict {
            Verdict::Drop => &self.stats.spans_dropped,
            _ => &self.stats.spans_kept,
        };
        spans_counter.fetch_add(spans as u64, Ordering::Relaxed);
    }

    fn forward(&self, spans: Vec<SpanData>) {
        for span in spans {
            match self.next.as_slice() {
                [] => {}
                [only] => only.on_end(span),
                many => many.iter().for_each(|p| p.on_end(span.clone())),
            }
        }
    }

    /// Decides the waiting trace `trace_id` (already removed from the shard), records the
    /// decision, and returns the spans to forward.
    fn decide(
        &self,
        shard: &mut Shard,
        trace_id: TraceId,
        waiting: Waiting,
        root_slow: Option<bool>,
    ) -> Option<Vec<SpanData>> {
        let verdict = self.verdict(trace_id, &waiting, root_slow);
        let keep = !matches!(verdict, Verdict::Drop);
        self.count(verdict, waiting.spans.len(), root_slow.is_none());
        self.remember(shard, trace_id, keep);
        keep.then_some(waiting.spans)
    }

    fn remember(&self, shard: &mut Shard, trace_id: TraceId, keep: bool) {
        let capacity = self.config.max_traces / SHARDS;
        while shard.decided.len() >= capacity {
            match shard.decided_order.pop_front() {
                Some(old) => {
                    shard.decided.remove(&old);
                }
                None => break,
            }
        }
        if shard.decided.insert(trace_id, keep).is_none() {
            shard.decided_order.push_back(trace_id);
        }
    }

    /// Decides the oldest waiting traces while the shard is over its bounds or they waited
    /// too long; returns the spans to forward.
    fn evict(&self, shard: &mut Shard, now: Instant, out: &mut Vec<SpanData>) {
        let max_traces = self.config.max_traces / SHARDS;
        let max_spans = self.config.max_spans / SHARDS;
        let max_bytes = self.config.max_bytes / SHARDS;
        while let Some(&oldest) = shard.order.front() {
            let Some(waiting) = shard.waiting.get(&oldest) else {
                shard.order.pop_front();
                continue;
            };
            let over = shard.waiting.len() > max_traces
                || shard.spans > max_spans
                || shard.bytes > max_bytes;
            let expired = now.duration_since(waiting.since) >= self.config.decision_wait;
            if !over && !expired {
                break;
            }
            shard.order.pop_front();
            if let Some(waiting) = shard.waiting.remove(&oldest) {
                shard.spans -= waiting.spans.len();
                shard.bytes -= waiting.bytes;
                if let Some(kept) = self.decide(shard, oldest, waiting, None) {
                    out.extend(kept);
                }
            }
        }
    }

    /// Decides every waiting trace now (flush and shutdown).
    fn decide_all(&self) {
        for index in 0..SHARDS {
            let mut out = Vec::new();
            {
                let mut shard = self.lock(index);
                let shard = &mut *shard;
                shard.order.clear();
                shard.spans = 0;
                shard.bytes = 0;
                let waiting: Vec<_> = shard.waiting.drain().collect();
                for (trace_id, waiting) in waiting {
                    if let Some(kept) = self.decide(shard, trace_id, waiting, None) {
                        out.extend(kept);
                    }
                }
            }
            self.forward(out);
        }
    }
}

impl SpanProcessor for TailSampling {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        for next in &self.next {
            next.on_start(span, cx);
        }
    }

    fn on_end(&self, span: SpanData) {
        let trace_id = span.span_context.trace_id();
        let is_root = span.parent_span_id == SpanId::INVALID || span.parent_span_is_remote;
        let error = matches!(span.status, Status::Error { .. });
        // Rules are user code: run them before taking the lock.
        let rule = !error && self.matches_rule(&span);
        let bytes = beacon_exporter::batch::span_bytes(&span);
        let now = Instant::now();
        let mut out = Vec::new();
        {
            let mut guard = self.shard(trace_id);
            let shard = &mut *guard;
            if let Some(&keep) = shard.decided.get(&trace_id) {
                // A late span of a decided trace follows the decision.
                let counter = if keep {
                    out.push(span);
                    &self.stats.spans_kept
                } else {
                    &self.stats.spans_dropped
                };
                counter.fetch_add(1, Ordering::Relaxed);
            } else {
                let waiting = shard.waiting.entry(trace_id).or_insert_with(|| Waiting {
                    spans: Vec::new(),
                    bytes: 0,
                    since: now,
                    error: false,
                    rule: false,
                });
                if waiting.spans.is_empty() && !is_root {
                    shard.order.push_back(trace_id);
                }
                waiting.error |= error;
                waiting.rule |= rule;
                if is_root {
                    if let Some(mut waiting) = shard.waiting.remove(&trace_id) {
                        shard.spans -= waiting.spans.len();
                        shard.bytes -= waiting.bytes;
                        let slow = self.is_slow(&span);
                        waiting.spans.push(span);
                        if let Some(kept) = self.decide(shard, trace_id, waiting, Some(slow)) {
                            out.extend(kept);
                        }
                    }
                } else {
                    waiting.spans.push(span);
                    waiting.bytes += bytes;
                    shard.spans += 1;
                    shard.bytes += bytes;
                }
            }
            self.evict(shard, now, &mut out);
        }
        self.forward(out);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.decide_all();
        self.next.iter().try_for_each(|next| next.force_flush())
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.decide_all();
        let mut result = Ok(());
        for next in &self.next {
            if let Err(e) = next.shutdown_with_timeout(timeout) {
                result = Err(e);
            }
        }
        result
    }

    fn set_resource(&mut self, resource: &Resource) {
        for next in &mut self.next {
            next.set_resource(resource);
        }
    }
}
