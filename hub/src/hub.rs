//! The hub handle: ingestion, queries, the live stream and counters.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use serde::Serialize;
use tokio::sync::broadcast;

use crate::config::HubConfig;
use crate::convert::{self, Rejected};
use crate::model::{LogRecord, MetricSample, Span, TraceId};
use crate::query::{
    LogQuery, MetricInfo, SeriesQuery, SeriesView, ServiceInfo, TraceQuery, TraceSummary, TraceView,
};
use crate::store::logs::LogStore;
use crate::store::metrics::MetricStore;
use crate::store::spans::SpanStore;
use crate::store::Evicted;
use crate::stream::{Filter, Item, Subscription};

/// The live hub: a bounded, indexed store of recent telemetry and a live stream of it.
///
/// Cheap to clone (a reference count); every clone is the same hub. Each signal has its own
/// store behind its own read/write lock: ingestion takes the write lock per chunk of 64 items for
/// the inserts and index updates only, queries take the read lock and copy out reference
/// counts, so neither holds a lock across I/O or while serializing.
///
/// ```
/// use beacon_hub::{model, query::TraceQuery, Hub};
/// use std::sync::Arc;
///
/// let hub = Hub::new();
/// let resource = Arc::new(model::Resource::for_service("checkout"));
/// let trace_id: model::TraceId = "4bf92f3577b34da6a3ce929d0e0e4736".parse()?;
/// hub.insert_spans([model::Span {
///     trace_id,
///     span_id: "00f067aa0ba902b7".parse()?,
///     parent_span_id: None,
///     name: "GET /orders/{id}".into(),
///     kind: model::SpanKind::Server,
///     start_time_unix_nano: 1_000,
///     end_time_unix_nano: 5_000,
///     status: model::Status::default(),
///     attributes: model::Attributes(vec![("http.route".into(), model::Value::String("/orders/{id}".into()))]),
///     events: vec![],
///     links: vec![],
///     resource,
///     scope: Default::default(),
/// }]);
/// let found = hub.traces(&TraceQuery {
///     attributes: vec![("http.route".into(), "/orders/{id}".into())],
///     ..TraceQuery::default()
/// });
/// assert_eq!(found[0].trace_id, trace_id);
/// assert_eq!(hub.trace(trace_id).map(|t| t.spans.len()), Some(1));
/// # Ok::<(), beacon_hub::model::ParseIdError>(())
/// ```
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").field("stats", &self.stats()).finish()
    }
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

struct Inner {
    config: HubConfig,
    spans: RwLock<SpanStore>,
    logs: RwLock<LogStore>,
    events: RwLock<LogStore>,
    metrics: RwLock<MetricStore>,
    live: broadcast::Sender<Item>,
    counters: Counters,
}

#[derive(Default)]
struct Counters {
    spans_received: AtomicU64,
    logs_received: AtomicU64,
    events_received: AtomicU64,
    points_received: AtomicU64,
    rejected: AtomicU64,
    traces_evicted: AtomicU64,
    spans_evicted: AtomicU64,
    logs_evicted: AtomicU64,
    events_evicted: AtomicU64,
    points_evicted: AtomicU64,
    series_evicted: AtomicU64,
    lagged: Arc<AtomicU64>,
    receiver_requests: AtomicU64,
    receiver_refused: AtomicU64,
}

/// A snapshot of what the hub holds and has done since it started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HubStats {
    /// Traces stored.
    pub traces: usize,
    /// Spans stored.
    pub spans: usize,
    /// Log records stored.
    pub logs: usize,
    /// Domain events stored.
    pub events: usize,
    /// Metric series stored.
    pub series: usize,
    /// Metric points stored.
    pub points: usize,
    /// Estimated bytes held, indexes included.
    pub bytes: usize,
    /// The memory cap ([`HubConfig::memory_limit`]).
    pub memory_limit: usize,
    /// Spans received.
    pub spans_received: u64,
    /// Log records received.
    pub logs_received: u64,
    /// Domain events received.
    pub events_received: u64,
    /// Metric points received.
    pub points_received: u64,
    /// Items refused at ingestion (an OTLP span without valid ids…).
    pub rejected: u64,
    /// Traces evicted to stay within bounds.
    pub traces_evicted: u64,
    /// Spans evicted (with their traces).
    pub spans_evicted: u64,
    /// Log records evicted.
    pub logs_evicted: u64,
    /// Domain events evicted.
    pub events_evicted: u64,
    /// Metric points evicted (out of the window, over the per-series cap, or with a series).
    pub points_evicted: u64,
    /// Metric series evicted (least recently updated first).
    pub series_evicted: u64,
    /// Live subscribers now.
    pub subscribers: usize,
    /// Items live subscribers missed because they fell behind, summed over subscribers.
    pub lagged: u64,
    /// OTLP requests a receiver in front of this hub took (see [`Hub::receiver_request`]).
    pub receiver_requests: u64,
    /// OTLP requests a receiver refused whole (unreadable, too large, wrong content type).
    pub receiver_refused: u64,
}

/// What an ingestion call stored and refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ingested {
    /// Items stored.
    pub accepted: u64,
    /// Items refused, and the first reason.
    pub rejected: Rejected,
}

/// Items inserted per write-lock section.
const LOCK_CHUNK: usize = 64;

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

impl Hub {
    /// A hub with the default bounds ([`HubConfig::default`]).
    #[must_use]
    pub fn new() -> Self {
        Self::with_config(HubConfig::default())
    }

    /// A hub with these bounds.
    #[must_use]
    pub fn with_config(config: HubConfig) -> Self {
        let (live, _) = broadcast::channel(config.stream_capacity);
        Self {
            inner: Arc::new(Inner {
                spans: RwLock::new(SpanStore::new(&config)),
                logs: RwLock::new(LogStore::new(&config, config.max_logs, 25)),
                events: RwLock::new(LogStore::new(&config, config.max_events, 10)),
                metrics: RwLock::new(MetricStore::new(&config)),
                live,
                counters: Counters::default(),
                config,
            }),
        }
    }

    /// Its bounds.
    #[must_use]
    pub fn config(&self) -> &HubConfig {
        &self.inner.config
    }

    fn publish(&self, items: impl IntoIterator<Item = Item>) {
        if self.inner.live.receiver_count() == 0 {
            return;
        }
        for item in items {
            // Err only when every subscriber left meanwhile: nothing to deliver.
            let _ = self.inner.live.send(item);
        }
    }

    /// Stores spans (one write-lock section for the whole batch) and streams them.
    pub fn insert_spans(&self, spans: impl IntoIterator<Item = Span>) -> u64 {
        let spans: Vec<Arc<Span>> = spans.into_iter().map(Arc::new).collect();
        let n = spans.len() as u64;
        let mut evicted = Evicted::default();
        // The write lock is taken per chunk, so a reader waits for at most one chunk's
        // inserts, not a whole export batch's.
        for chunk in spans.chunks(LOCK_CHUNK) {
            let mut store = write(&self.inner.spans);
            for span in chunk {
                store.insert(Arc::clone(span), &mut evicted);
            }
        }
        let c = &self.inner.counters;
        c.spans_received.fetch_add(n, Ordering::Relaxed);
        c.traces_evicted
            .fetch_add(evicted.traces, Ordering::Relaxed);
        c.spans_evicted.fetch_add(evicted.spans, Ordering::Relaxed);
        self.publish(spans.into_iter().map(Item::Span));
        n
    }

    /// Stores log records: those with an event name as domain events, the rest as logs.
    pub fn insert_logs(&self, records: impl IntoIterator<Item = LogRecord>) -> u64 {
        let (events, logs): (Vec<Arc<LogRecord>>, Vec<Arc<LogRecord>>) = records
            .into_iter()
            .map(Arc::new)
            .partition(|r| r.event_name.is_some());
        let c = &self.inner.counters;
        if !logs.is_empty() {
            let evicted: u64 = logs
                .chunks(LOCK_CHUNK)
                .map(|chunk| {
                    let mut store = write(&self.inner.logs);
                    chunk
                        .iter()
                        .map(|r| store.insert(Arc::clone(r)))
                        .sum::<u64>()
                })
                .sum();
            c.logs_evicted.fetch_add(evicted, Ordering::Relaxed);
            c.logs_received
                .fetch_add(logs.len() as u64, Ordering::Relaxed);
        }
        if !events.is_empty() {
            let evicted: u64 = events
                .chunks(LOCK_CHUNK)
                .map(|chunk| {
                    let mut store = write(&self.inner.events);
                    chunk
                        .iter()
                        .map(|r| store.insert(Arc::clone(r)))
                        .sum::<u64>()
                })
                .sum();
            c.events_evicted.fetch_add(evicted, Ordering::Relaxed);
            c.events_received
                .fetch_add(events.len() as u64, Ordering::Relaxed);
        }
        let n = (logs.len() + events.len()) as u64;
        self.publish(
            logs.into_iter()
                .map(Item::Log)
                .chain(events.into_iter().map(Item::Event)),
        );
        n
    }

    /// Stores one log record (or domain event); see [`Hub::insert_logs`].
    pub fn insert_log(&self, record: LogRecord) {
        self.insert_logs([record]);
    }

    /// Stores metric points, each in its series.
    pub fn insert_metrics(&self, samples: impl IntoIterator<Item = MetricSample>) -> u64 {
        let samples: Vec<Arc<MetricSample>> = samples.into_iter().map(Arc::new).collect();
        let (mut points, mut series) = (0, 0);
        {
            let mut store = write(&self.inner.metrics);
            for s in &samples {
                let (p, s) = store.insert(s);
                points += p;
                series += s;
            }
        }
        let c = &self.inner.counters;
        c.points_received
            .fetch_add(samples.len() as u64, Ordering::Relaxed);
        c.points_evicted.fetch_add(points, Ordering::Relaxed);
        c.series_evicted.fetch_add(series, Ordering::Relaxed);
        let n = samples.len() as u64;
        self.publish(samples.into_iter().map(Item::Metric));
        n
    }

    fn rejected(&self, rejected: Rejected, accepted: u64) -> Ingested {
        self.inner
            .counters
            .rejected
            .fetch_add(rejected.count, Ordering::Relaxed);
        Ingested { accepted, rejected }
    }

    /// Stores an OTLP trace export request (from the receiver, or the SDK's spans converted).
    pub fn ingest_traces(&self, request: ExportTraceServiceRequest) -> Ingested {
        let mut rejected = Rejected::default();
        let spans = convert::spans(request, &mut rejected);
        let accepted = self.insert_spans(spans);
        self.rejected(rejected, accepted)
    }

    /// Stores an OTLP logs export request.
    pub fn ingest_logs(&self, request: ExportLogsServiceRequest) -> Ingested {
        let accepted = self.insert_logs(convert::logs(request));
        self.rejected(Rejected::default(), accepted)
    }

    /// Stores an OTLP metrics export request.
    pub fn ingest_metrics(&self, request: ExportMetricsServiceRequest) -> Ingested {
        let accepted = self.insert_metrics(convert::metrics(request));
        self.rejected(Rejected::default(), accepted)
    }

    /// Subscribes to items as they are stored, filtered by `filter`.
    #[must_use]
    pub fn subscribe(&self, filter: Filter) -> Subscription {
        Subscription::new(
            self.inner.live.subscribe(),
            filter,
            Arc::clone(&self.inner.counters.lagged),
        )
    }

    /// Traces matching `query`, newest first.
    #[must_use]
    pub fn traces(&self, query: &TraceQuery) -> Vec<TraceSummary> {
        read(&self.inner.spans).search(query)
    }

    /// A trace's spans (by start time) with its logs and domain events; `None` when no span
    /// of it is stored.
    #[must_use]
    pub fn trace(&self, id: TraceId) -> Option<TraceView> {
        let spans = read(&self.inner.spans).trace(&id)?;
        let logs = read(&self.inner.logs).for_trace(id);
        let events = read(&self.inner.events).for_trace(id);
        Some(TraceView {
            trace_id: id,
            spans,
            logs,
            events,
        })
    }

    /// Log records (domain events excluded) matching `query`, newest first.
    #[must_use]
    pub fn logs(&self, query: &LogQuery) -> Vec<Arc<LogRecord>> {
        read(&self.inner.logs).search(query)
    }

    /// Domain events matching `query`, newest first.
    #[must_use]
    pub fn events(&self, query: &LogQuery) -> Vec<Arc<LogRecord>> {
        read(&self.inner.events).search(query)
    }

    /// Domain event names stored, with how many of each, sorted by name.
    #[must_use]
    pub fn event_names(&self) -> Vec<(String, usize)> {
        read(&self.inner.events).event_names()
    }

    /// Metric names stored (of one service, or all), sorted.
    #[must_use]
    pub fn metric_names(&self, service: Option<&str>) -> Vec<MetricInfo> {
        read(&self.inner.metrics).names(service)
    }

    /// The series of one metric and their points in a window.
    #[must_use]
    pub fn series(&self, query: &SeriesQuery) -> Vec<SeriesView> {
        read(&self.inner.metrics).series(query)
    }

    /// Every service the hub holds telemetry from, sorted by name.
    #[must_use]
    pub fn services(&self) -> Vec<ServiceInfo> {
        fn row<'a>(all: &'a mut BTreeMap<String, ServiceInfo>, name: &str) -> &'a mut ServiceInfo {
            all.entry(name.to_owned()).or_insert_with(|| ServiceInfo {
                name: name.to_owned(),
                traces: 0,
                logs: 0,
                events: 0,
                series: 0,
            })
        }
        let mut all = BTreeMap::new();
        for (name, n) in read(&self.inner.spans).services() {
            row(&mut all, name).traces = n;
        }
        for (name, n) in read(&self.inner.logs).services() {
            row(&mut all, name).logs = n;
        }
        for (name, n) in read(&self.inner.events).services() {
            row(&mut all, name).events = n;
        }
        for (name, n) in read(&self.inner.metrics).services() {
            row(&mut all, name).series = n;
        }
        all.into_values().collect()
    }

    /// Counters and sizes now.
    #[must_use]
    pub fn stats(&self) -> HubStats {
        let (traces, spans, span_bytes) = read(&self.inner.spans).len();
        let (logs, log_bytes) = read(&self.inner.logs).len();
        let (events, event_bytes) = read(&self.inner.events).len();
        let (series, points, metric_bytes) = read(&self.inner.metrics).len();
        let c = &self.inner.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        HubStats {
            traces,
            spans,
            logs,
            events,
            series,
            points,
            bytes: span_bytes + log_bytes + event_bytes + metric_bytes,
            memory_limit: self.inner.config.memory_limit,
            spans_received: get(&c.spans_received),
            logs_received: get(&c.logs_received),
            events_received: get(&c.events_received),
            points_received: get(&c.points_received),
            rejected: get(&c.rejected),
            traces_evicted: get(&c.traces_evicted),
            spans_evicted: get(&c.spans_evicted),
            logs_evicted: get(&c.logs_evicted),
            events_evicted: get(&c.events_evicted),
            points_evicted: get(&c.points_evicted),
            series_evicted: get(&c.series_evicted),
            subscribers: self.inner.live.receiver_count(),
            lagged: get(&c.lagged),
            receiver_requests: get(&c.receiver_requests),
            receiver_refused: get(&c.receiver_refused),
        }
    }

    /// Counts one request an OTLP receiver in front of this hub answered: `taken` when it
    /// was read and stored (even partly), `false` when it was refused whole. For
    /// [`HubStats::receiver_requests`] and [`HubStats::receiver_refused`], which the health
    /// summary reports as the receiver's state.
    pub fn receiver_request(&self, taken: bool) {
        let c = &self.inner.counters;
        let counter = if taken {
            &c.receiver_requests
        } else {
            &c.receiver_refused
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}
