//! What Beacon's OTLP metric exporter does with an export request the collector could not
//! take: the same rules as the span and log batch processors.
//!
//! - Each export is tried with the OTLP retry rules ([`super::retry`]).
//! - A request that still fails for a retryable reason is **kept** in memory, up to
//!   [`DEFAULT_MAX_RETAINED_POINTS`] data points (the request being exported is always held
//!   until its export ends); past that the oldest kept request moves to the disk spool, when
//!   there is one ([`crate::spool`], subdirectory `metrics/`), or is given up and counted as
//!   failed.
//! - The next export sends what is kept first, oldest first — spooled requests, then those in
//!   memory, then the new one — at most [`REPLAY_PER_EXPORT`] requests per export; the rest
//!   waits for the next one. Cumulative points reach the collector in the order they were
//!   collected. A request leaves the spool only once the collector acknowledged it.
//! - At shutdown, what is kept in memory moves to the spool, and the next process with the same
//!   directory delivers it. The healthy path never touches the disk.
//!
//! The counts are in data points: `accepted + recovered = exported + dropped + failed +
//! retained + spooled` once no export is running.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::metric;
use prost::Message as _;
use tokio::time::Instant;

use super::retry::{self, Failure, Retry};
use crate::batch::{ExportErrorKind, PipelineStats};
use crate::spool::{Oldest, Spool};

/// The most data points kept in memory for another try, by default.
pub const DEFAULT_MAX_RETAINED_POINTS: u64 = 8192;

/// The most kept requests (spooled or in memory) one export sends before the new one.
pub const REPLAY_PER_EXPORT: usize = 64;

/// Data points in a request: what the metric exporter's counters count.
pub(crate) fn data_points(request: &ExportMetricsServiceRequest) -> u64 {
    request
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(|m| match &m.data {
            Some(metric::Data::Gauge(g)) => g.data_points.len(),
            Some(metric::Data::Sum(s)) => s.data_points.len(),
            Some(metric::Data::Histogram(h)) => h.data_points.len(),
            Some(metric::Data::ExponentialHistogram(h)) => h.data_points.len(),
            Some(metric::Data::Summary(s)) => s.data_points.len(),
            None => 0,
        } as u64)
        .sum()
}

struct Backlog {
    /// Kept requests, oldest first, with their data points.
    memory: VecDeque<(ExportMetricsServiceRequest, u64)>,
    memory_points: u64,
    /// Older than everything in `memory`; `None` without one, or once it failed.
    spool: Option<Spool>,
}

impl Backlog {
    fn spooled(&self) -> usize {
        self.spool.as_ref().map_or(0, |s| s.store.len())
    }
}

/// Retry, keep, spool and replay for one metric exporter.
pub(crate) struct Delivery {
    backlog: tokio::sync::Mutex<Backlog>,
    stats: Arc<PipelineStats>,
    max_retained: u64,
    /// The retries of one request end within this (the OTLP timeout).
    timeout: Duration,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("stats", &self.stats.snapshot())
            .field("max_retained", &self.max_retained)
            .finish_non_exhaustive()
    }
}

impl Delivery {
    pub(crate) fn new(timeout: Duration) -> Self {
        Self {
            backlog: tokio::sync::Mutex::new(Backlog {
                memory: VecDeque::new(),
                memory_points: 0,
                spool: None,
            }),
            stats: Arc::new(PipelineStats::default()),
            max_retained: DEFAULT_MAX_RETAINED_POINTS,
            timeout,
        }
    }

    pub(crate) fn stats(&self) -> Arc<PipelineStats> {
        Arc::clone(&self.stats)
    }

    pub(crate) fn set_max_retained(&mut self, points: u64) {
        self.max_retained = points;
    }

    /// Spools what cannot be kept in memory from now on; what an earlier process left there is
    /// sent first.
    pub(crate) fn set_spool(&mut self, spool: Spool) {
        self.stats.recovered(spool.recovered.items);
        self.stats.spool_corrupt(spool.recovered.corrupt);
        self.stats
            .set_spooled(spool.store.items(), spool.store.bytes());
        self.backlog.get_mut().spool = Some(spool);
    }

    /// Exports `request` through `send` (one attempt), behind whatever is kept. Returns the
    /// failure that ended this export, if one did: then what could not be sent is kept (or, for
    /// a refusal, counted as failed).
    pub(crate) async fn deliver<S, Fut>(
        &self,
        request: ExportMetricsServiceRequest,
        send: S,
    ) -> Result<(), Failure>
    where
        S: Fn(ExportMetricsServiceRequest) -> Fut + Sync,
        Fut: std::future::Future<Output = Result<(), Failure>> + Send,
    {
        let points = data_points(&request);
        self.stats.accepted_many(points);
        let mut backlog = self.backlog.lock().await;
        // Kept before the first attempt, so that an export abandoned by its caller's timeout
        // leaves the request kept (and counted), not lost.
        backlog.memory.push_back((request, points));
        backlog.memory_points += points;
        self.trim(&mut backlog, 1);
        let result = self.replay(&mut backlog, &send).await;
        if result.is_err() {
            self.trim(&mut backlog, 0);
        }
        self.stats.set_retained(backlog.memory_points as usize);
        result
    }

    /// Sends kept requests oldest first until one fails for a retryable reason (the collector
    /// is still away) or [`REPLAY_PER_EXPORT`] were sent. A refused request is counted as
    /// failed and the rest still go; its failure is returned at the end.
    async fn replay<S, Fut>(&self, backlog: &mut Backlog, send: &S) -> Result<(), Failure>
    where
        S: Fn(ExportMetricsServiceRequest) -> Fut + Sync,
        Fut: std::future::Future<Output = Result<(), Failure>> + Send,
    {
        let mut sent = 0;
        let mut refused = None;
        while sent < REPLAY_PER_EXPORT {
            let Some(spool) = backlog.spool.as_mut() else {
                break;
            };
            let (payload, items) = match spool.store.oldest() {
                Oldest::Empty => break,
                Oldest::Corrupt { items } => {
                    self.stats.spool_corrupt(1);
                    self.stats.failed(items as usize);
                    self.update_spooled(backlog);
                    continue;
                }
                Oldest::Record { payload, items } => (payload, items),
            };
            sent += 1;
            match ExportMetricsServiceRequest::decode(payload.as_slice()) {
                Ok(request) => match self.send(request, send).await {
                    Ok(()) => self.stats.exported(items as usize),
                    Err(failure) if failure.retryable() => return Err(failure),
                    Err(failure) => {
                        self.stats.failed(items as usize);
                        refused.get_or_insert(failure);
                    }
                },
                // It passed its checksum, so it is from an incompatible version: give it up.
                Err(e) => {
                    self.stats.failed(items as usize);
                    refused.get_or_insert(Failure::new(
                        Retry::Never,
                        format!("a spooled metrics request does not decode: {e}"),
                    ));
                }
            }
            self.ack_spooled(backlog);
        }
        while sent < REPLAY_PER_EXPORT && backlog.spooled() == 0 {
            let Some((request, points)) = backlog.memory.front() else {
                break;
            };
            let points = *points;
            sent += 1;
            match self.send(request.clone(), send).await {
                Ok(()) => self.stats.exported(points as usize),
                Err(failure) if failure.retryable() => return Err(failure),
                Err(failure) => {
                    self.stats.failed(points as usize);
                    refused.get_or_insert(failure);
                }
            }
            backlog.memory.pop_front();
            backlog.memory_points -= points;
            self.stats.set_retained(backlog.memory_points as usize);
        }
        refused.map_or(Ok(()), Err)
    }

    /// One request, with retries; its outcome goes to the export counters.
    async fn send<S, Fut>(
        &self,
        request: ExportMetricsServiceRequest,
        send: &S,
    ) -> Result<(), Failure>
    where
        S: Fn(ExportMetricsServiceRequest) -> Fut + Sync,
        Fut: std::future::Future<Output = Result<(), Failure>> + Send,
    {
        let started = Instant::now();
        let (result, _) = retry::with_backoff(self.timeout, || send(request.clone())).await;
        let took = started.elapsed();
        match &result {
            Ok(()) => self.stats.export_done(took, None),
            Err(failure) => {
                let lower = failure.message.to_ascii_lowercase();
                let kind = if lower.contains("deadline")
                    || lower.contains("timed out")
                    || lower.contains("timeout")
                {
                    ExportErrorKind::Timeout
                } else if failure.retryable() {
                    ExportErrorKind::Unavailable
                } else {
                    ExportErrorKind::Rejected
                };
                self.stats.export_done(took, Some((kind, &failure.message)));
            }
        }
        result
    }

    /// Past the memory bound, the oldest kept requests (all but the newest `spare`) go to the
    /// spool, or are given up without one.
    fn trim(&self, backlog: &mut Backlog, spare: usize) {
        while backlog.memory_points > self.max_retained && backlog.memory.len() > spare {
            let Some((request, points)) = backlog.memory.pop_front() else {
                break;
            };
            backlog.memory_points -= points;
            if !self.spool(backlog, &request, points) {
                self.stats.failed(points as usize);
            }
        }
        self.stats.set_retained(backlog.memory_points as usize);
    }

    /// Writes a request to the spool; whether it is there now.
    fn spool(
        &self,
        backlog: &mut Backlog,
        request: &ExportMetricsServiceRequest,
        points: u64,
    ) -> bool {
        let Some(spool) = backlog.spool.as_mut() else {
            return false;
        };
        match spool.store.push(points, &request.encode_to_vec()) {
            Ok(evicted) => {
                if evicted > 0 {
                    self.stats.spool_evicted(evicted);
                }
                self.update_spooled(backlog);
                true
            }
            Err(err) => {
                self.spool_failed(backlog, &err.to_string());
                false
            }
        }
    }

    fn ack_spooled(&self, backlog: &mut Backlog) {
        if let Some(spool) = backlog.spool.as_mut() {
            if let Err(err) = spool.store.ack() {
                self.spool_failed(backlog, &err.to_string());
            }
        }
        self.update_spooled(backlog);
    }

    fn update_spooled(&self, backlog: &Backlog) {
        if let Some(spool) = &backlog.spool {
            self.stats
                .set_spooled(spool.store.items(), spool.store.bytes());
        }
    }

    /// The spool cannot be written any more: say so once, and carry on in memory. What it
    /// holds stays on disk for the next start, no longer this exporter's to deliver.
    fn spool_failed(&self, backlog: &mut Backlog, message: &str) {
        if let Some(spool) = backlog.spool.take() {
            eprintln!(
                "beacon: the export spool {} failed ({message}); continuing without it \
                 (failed metric exports are kept in memory only, up to {} data points)",
                spool.dir().display(),
                self.max_retained
            );
            self.stats.set_spooled(0, 0);
            self.stats
                .failed(usize::try_from(spool.store.items()).unwrap_or(usize::MAX));
        }
    }

    /// At shutdown: what is kept in memory goes to the spool for the next start (without one
    /// it is lost, and counted), and the spool's lock is released. An export still running
    /// keeps its requests, and they are lost with the process.
    pub(crate) fn park(&self) {
        let Ok(mut backlog) = self.backlog.try_lock() else {
            return;
        };
        while let Some((request, points)) = backlog.memory.pop_front() {
            backlog.memory_points -= points;
            if !self.spool(&mut backlog, &request, points) {
                self.stats.failed(points as usize);
            }
        }
        self.stats.set_retained(0);
        backlog.spool = None;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Mutex;

    use opentelemetry_proto::tonic::metrics::v1::{
        Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    };

    use super::*;
    use crate::otlp::Signal;
    use crate::spool::SpoolConfig;

    /// A request with `points` gauge points, named `seq` so the order can be checked.
    fn request(seq: u64, points: usize) -> ExportMetricsServiceRequest {
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![Metric {
                        name: format!("m{seq}"),
                        data: Some(metric::Data::Gauge(Gauge {
                            data_points: vec![NumberDataPoint::default(); points],
                        })),
                        ..Metric::default()
                    }],
                    ..ScopeMetrics::default()
                }],
                ..ResourceMetrics::default()
            }],
        }
    }

    fn name(r: &ExportMetricsServiceRequest) -> String {
        r.resource_metrics[0].scope_metrics[0].metrics[0]
            .name
            .clone()
    }

    /// A collector that is up or down, recording what it received and how often it was tried.
    #[derive(Default)]
    struct Collector {
        up: AtomicBool,
        refuse: AtomicBool,
        tries: AtomicUsize,
        got: Mutex<Vec<String>>,
    }

    impl Collector {
        async fn send(&self, r: ExportMetricsServiceRequest) -> Result<(), Failure> {
            self.tries.fetch_add(1, Ordering::Relaxed);
            if self.refuse.load(Ordering::Relaxed) {
                return Err(Failure::new(Retry::Never, "InvalidArgument"));
            }
            if !self.up.load(Ordering::Relaxed) {
                return Err(Failure::new(Retry::Backoff, "Unavailable: transport error"));
            }
            self.got.lock().expect("lock").push(name(&r));
            Ok(())
        }
        fn got(&self) -> Vec<String> {
            std::mem::take(&mut *self.got.lock().expect("lock"))
        }
    }

    fn adds_up(s: &crate::batch::StatsSnapshot) {
        assert_eq!(
            s.accepted + s.recovered,
            s.exported + s.dropped + s.failed + s.retained + s.spooled,
            "{s:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn failed_exports_are_retried_kept_and_sent_oldest_first_when_the_collector_is_back() {
        let c = Collector::default();
        let d = Delivery::new(Duration::from_secs(10));
        for seq in 0..3 {
            assert!(d.deliver(request(seq, 5), |r| c.send(r)).await.is_err());
        }
        // Four attempts (three retries) for the first request; each later export is one
        // request tried four times too (the kept ones wait behind the first failure).
        assert_eq!(c.tries.load(Ordering::Relaxed), 12);
        let s = d.stats().snapshot();
        assert_eq!((s.accepted, s.retained, s.exported), (15, 15, 0));
        c.up.store(true, Ordering::Relaxed);
        d.deliver(request(3, 5), |r| c.send(r)).await.expect("back");
        assert_eq!(c.got(), ["m0", "m1", "m2", "m3"]);
        let s = d.stats().snapshot();
        assert_eq!((s.exported, s.retained, s.failed), (20, 0, 0));
        adds_up(&s);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_request_is_counted_as_failed_and_not_kept() {
        let c = Collector::default();
        c.refuse.store(true, Ordering::Relaxed);
        let d = Delivery::new(Duration::from_secs(10));
        let err = d
            .deliver(request(0, 7), |r| c.send(r))
            .await
            .expect_err("refused");
        assert!(!err.retryable());
        assert_eq!(c.tries.load(Ordering::Relaxed), 1, "never retried");
        let s = d.stats().snapshot();
        assert_eq!((s.failed, s.retained), (7, 0));
        adds_up(&s);
    }

    #[tokio::test(start_paused = true)]
    async fn past_the_memory_bound_requests_go_to_the_spool_and_survive_a_restart() {
        let dir = crate::spool::tests::temp_dir("metrics-delivery");
        let config = SpoolConfig::new(&dir);
        let c = Collector::default();
        {
            let mut d = Delivery::new(Duration::from_secs(10));
            d.set_max_retained(10);
            d.set_spool(Spool::open(&config, Signal::Metrics).expect("spool"));
            for seq in 0..5 {
                let _ = d.deliver(request(seq, 4), |r| c.send(r)).await;
            }
            let s = d.stats().snapshot();
            // 10 points fit in memory: the two newest requests (8); the rest is on disk.
            assert_eq!((s.retained, s.spooled), (8, 12), "{s:?}");
            adds_up(&s);
            d.park();
            let s = d.stats().snapshot();
            assert_eq!((s.retained, s.spooled), (0, 20), "{s:?}");
        }
        c.up.store(true, Ordering::Relaxed);
        let mut d = Delivery::new(Duration::from_secs(10));
        d.set_spool(Spool::open(&config, Signal::Metrics).expect("reopen"));
        assert_eq!(d.stats().snapshot().recovered, 20);
        d.deliver(request(5, 4), |r| c.send(r)).await.expect("up");
        assert_eq!(c.got(), ["m0", "m1", "m2", "m3", "m4", "m5"]);
        let s = d.stats().snapshot();
        assert_eq!((s.exported, s.spooled, s.retained), (24, 0, 0), "{s:?}");
        adds_up(&s);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_backlog_drains_at_a_bounded_rate_per_export() {
        let c = Collector::default();
        let mut d = Delivery::new(Duration::from_secs(10));
        d.set_max_retained(u64::MAX);
        for seq in 0..100 {
            let _ = d.deliver(request(seq, 1), |r| c.send(r)).await;
        }
        c.up.store(true, Ordering::Relaxed);
        d.deliver(request(100, 1), |r| c.send(r)).await.expect("up");
        assert_eq!(c.got().len(), REPLAY_PER_EXPORT);
        d.deliver(request(101, 1), |r| c.send(r)).await.expect("up");
        let rest = c.got();
        assert_eq!(rest.len(), 102 - REPLAY_PER_EXPORT);
        assert_eq!(rest.last().map(String::as_str), Some("m101"));
        adds_up(&d.stats().snapshot());
    }

    #[tokio::test(start_paused = true)]
    async fn past_the_spool_cap_the_oldest_requests_are_dropped_and_counted_exactly() {
        let dir = crate::spool::tests::temp_dir("metrics-cap");
        let c = Collector::default();
        let mut d = Delivery::new(Duration::from_secs(10));
        d.set_max_retained(0);
        let config = SpoolConfig::new(&dir).with_max_bytes(1024);
        d.set_spool(Spool::open(&config, Signal::Metrics).expect("spool"));
        for seq in 0..40 {
            let _ = d.deliver(request(seq, 20), |r| c.send(r)).await;
        }
        let s = d.stats().snapshot();
        assert!(s.spool_evicted > 0 && s.spooled_bytes <= 1024, "{s:?}");
        assert_eq!(s.dropped, s.spool_evicted, "{s:?}");
        adds_up(&s);
        c.up.store(true, Ordering::Relaxed);
        d.deliver(request(40, 20), |r| c.send(r)).await.expect("up");
        let got = c.got();
        // The newest that fit, oldest first, then the new one.
        let first: u64 = got[0].trim_start_matches('m').parse().expect("seq");
        let expected: Vec<String> = (first..=40).map(|n| format!("m{n}")).collect();
        assert_eq!(got, expected);
        let s = d.stats().snapshot();
        assert_eq!(s.exported + s.dropped, s.accepted, "{s:?}");
        adds_up(&s);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test(start_paused = true)]
    async fn the_healthy_path_never_touches_the_disk() {
        let dir = crate::spool::tests::temp_dir("metrics-healthy");
        let c = Collector::default();
        c.up.store(true, Ordering::Relaxed);
        let mut d = Delivery::new(Duration::from_secs(10));
        d.set_max_retained(0);
        d.set_spool(Spool::open(&SpoolConfig::new(&dir), Signal::Metrics).expect("spool"));
        for seq in 0..20 {
            d.deliver(request(seq, 100), |r| c.send(r))
                .await
                .expect("up");
        }
        d.park();
        let segments = std::fs::read_dir(dir.join("metrics"))
            .expect("dir")
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "seg"))
            .count();
        assert_eq!(
            segments, 0,
            "no segment written while every export succeeds"
        );
        let s = d.stats().snapshot();
        assert_eq!((s.exported, s.spooled), (2000, 0));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn data_points_are_counted_over_every_kind_of_metric() {
        assert_eq!(data_points(&request(0, 3)), 3);
        assert_eq!(data_points(&ExportMetricsServiceRequest::default()), 0);
    }
}
