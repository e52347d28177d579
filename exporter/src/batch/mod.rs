//! Bounded batch processors for spans and log records, run on the [`ExportRuntime`].
//!
//! Why not the SDK's `BatchSpanProcessor`: it exports with `block_on` on a thread of its own, so
//! a tonic or async-HTTP exporter needs some tokio runtime to be around, and it does not tell
//! the application how much it dropped. These processors keep the same contract (a bounded
//! queue; `on_end` never blocks; a full queue drops and counts) and add: the batch worker is a
//! task on Beacon's export runtime, exports are bounded by a timeout, a batch whose export failed
//! for a reason the OTLP spec calls retryable (collector unreachable, `UNAVAILABLE`, HTTP
//! 429/502/503/504, a timeout) is **kept** — up to [`BatchConfig::max_retained`] items — and
//! sent again, oldest first, before newer data, until the collector takes it; and every item is
//! counted as accepted, exported, dropped or failed ([`PipelineStats`]), so that after shutdown
//! `accepted == exported + dropped + failed` exactly.
//!
//! # Example
//! ```
//! use beacon_exporter::batch::{BatchConfig, BatchSpanProcessor};
//! use beacon_exporter::console::{ConsoleSpanExporter, Output};
//! use beacon_exporter::ExportRuntime;
//! use opentelemetry::trace::{Tracer, TracerProvider as _};
//! use opentelemetry_sdk::trace::SdkTracerProvider;
//!
//! let out = Output::buffer();
//! let runtime = ExportRuntime::new()?;
//! let processor = BatchSpanProcessor::new(ConsoleSpanExporter::new(out.clone()), BatchConfig::default(), &runtime);
//! let stats = processor.stats();
//! let provider = SdkTracerProvider::builder().with_span_processor(processor).build();
//! provider.tracer("doc").in_span("work", |_| {});
//! provider.force_flush()?;
//! assert!(out.contents().contains("SPAN work"));
//! assert_eq!(stats.snapshot().exported, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod budget;
mod limits;
mod retry;
mod stats;
mod worker;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter, LogProcessor, SdkLogRecord};
use opentelemetry_sdk::trace::{SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;
use tokio::sync::mpsc;

pub use budget::span_bytes;
use budget::{ByteBudget, Ticketed};
pub use limits::truncated;
pub use stats::{ExportErrorKind, PipelineStats, StatsSnapshot};
use worker::{Control, Wake, Worker};

use crate::spool::Spool;
use crate::ExportRuntime;

/// Queue and batch settings, as in `OTEL_BSP_*` / `OTEL_BLRP_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchConfig {
    /// The most items waiting to be exported; past this, new items are dropped and counted.
    pub max_queue_size: usize,
    /// The most items in one export call.
    pub max_export_batch_size: usize,
    /// How long an item may wait before a partial batch is exported.
    pub scheduled_delay: Duration,
    /// How long one export may take before it is abandoned; zero means no limit
    /// ([`timeout_or_no_limit`](crate::timeout_or_no_limit)).
    pub export_timeout: Duration,
    /// The most items kept for another try after a retryable export failure (collector down,
    /// overloaded or unreachable). Past this, the oldest kept batch is given up and counted as
    /// failed. `0` keeps nothing: a failed batch is lost at once, as in the SDK's processor.
    pub max_retained: usize,
    /// The most bytes (estimated: names, attribute keys and values, events, links, bodies,
    /// plus each item's fixed size) held by the items of this pipeline at once — queued,
    /// being batched, or kept for retry. Past it, new items are dropped and counted, as when
    /// the queue is full. Default 64 MiB.
    pub max_queue_bytes: usize,
}

impl Default for BatchConfig {
    /// The span defaults of the OTel spec (`OTEL_BSP_*`): 2048 / 512 / 5 s / 30 s.
    fn default() -> Self {
        Self {
            max_queue_size: 2048,
            max_export_batch_size: 512,
            scheduled_delay: Duration::from_millis(5000),
            export_timeout: Duration::from_millis(30000),
            max_retained: 2048,
            max_queue_bytes: 64 * 1024 * 1024,
        }
    }
}

impl BatchConfig {
    /// The log defaults of the OTel spec (`OTEL_BLRP_*`): 2048 / 512 / 1 s / 30 s.
    pub fn logs_default() -> Self {
        Self {
            scheduled_delay: Duration::from_millis(1000),
            ..Self::default()
        }
    }

    fn normalized(mut self) -> Self {
        self.max_queue_size = self.max_queue_size.max(1);
        self.max_export_batch_size = self.max_export_batch_size.clamp(1, self.max_queue_size);
        self
    }
}

/// A spooled request decoded: its batches, each with the resource it was recorded under.
pub(crate) type Decoded<T> = Vec<(Resource, Vec<T>)>;

/// What the batch worker needs from an exporter, for spans and logs alike.
pub(crate) trait BatchExport: Send + 'static {
    type Item: Send + 'static;
    /// Exports a batch the worker keeps, so it can be sent again after a retryable failure.
    fn export(
        &mut self,
        batch: &[Self::Item],
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send;
    fn shutdown(&mut self, timeout: Duration) -> OTelSdkResult;
    fn set_resource(&mut self, resource: &Resource);
    /// The batch as an encoded OTLP export request, for the disk spool.
    fn encode(batch: &[Self::Item], resource: &Resource) -> Vec<u8>;
    /// A spooled request back as batches, one per resource.
    fn decode(bytes: &[u8]) -> Result<Decoded<Self::Item>, String>;
}

struct Spans<E>(E);

impl<E: SpanExporter + 'static> BatchExport for Spans<E> {
    type Item = Ticketed<SpanData>;
    async fn export(&mut self, batch: &[Self::Item]) -> OTelSdkResult {
        // The SDK's exporter takes the spans by value (and opentelemetry-otlp clones them
        // again per attempt); one copy here lets Beacon keep the batch if the collector is away.
        self.0
            .export(batch.iter().map(|t| t.item.clone()).collect())
            .await
    }
    fn shutdown(&mut self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
    fn encode(batch: &[Self::Item], resource: &Resource) -> Vec<u8> {
        let spans: Vec<SpanData> = batch.iter().map(|t| t.item.clone()).collect();
        crate::spool::encode_spans(&spans, resource)
    }
    fn decode(bytes: &[u8]) -> Result<Decoded<Self::Item>, String> {
        Ok(recovered(
            crate::spool::decode_spans(bytes).map_err(|e| e.to_string())?,
        ))
    }
}

struct Logs<E>(E);

impl<E: LogExporter + 'static> BatchExport for Logs<E> {
    type Item = Ticketed<Box<(SdkLogRecord, InstrumentationScope)>>;
    async fn export(&mut self, batch: &[Self::Item]) -> OTelSdkResult {
        let refs: Vec<(&SdkLogRecord, &InstrumentationScope)> =
            batch.iter().map(|b| (&b.item.0, &b.item.1)).collect();
        self.0.export(LogBatch::new(&refs)).await
    }
    fn shutdown(&mut self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }
    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
    fn encode(batch: &[Self::Item], resource: &Resource) -> Vec<u8> {
        let logs: Vec<_> = batch.iter().map(|t| t.item.clone()).collect();
        crate::spool::encode_logs(&logs, resource)
    }
    fn decode(bytes: &[u8]) -> Result<Decoded<Self::Item>, String> {
        Ok(recovered(
            crate::spool::decode_logs(bytes).map_err(|e| e.to_string())?,
        ))
    }
}

/// Batches read back from the disk spool, as worker items.
fn recovered<T>(decoded: Decoded<T>) -> Decoded<Ticketed<T>> {
    decoded
        .into_iter()
        .map(|(resource, items)| {
            (
                resource,
                items.into_iter().map(Ticketed::recovered).collect(),
            )
        })
        .collect()
}

/// The application-side half of a batch pipeline: a bounded queue into the worker.
struct Queue<T> {
    items: mpsc::Sender<Ticketed<T>>,
    control: mpsc::UnboundedSender<Control>,
    stats: Arc<PipelineStats>,
    config: BatchConfig,
    budget: Arc<ByteBudget>,
    /// Wakes the worker once a full batch is queued (not once per item).
    wake: Arc<Wake>,
}

impl<T: Send + 'static> Queue<T> {
    fn start<E: BatchExport<Item = Ticketed<T>>>(
        exporter: E,
        config: BatchConfig,
        spool: Option<Spool>,
        rt: &ExportRuntime,
    ) -> Self {
        let config = config.normalized();
        let (items, item_rx) = mpsc::channel(config.max_queue_size);
        let (control, control_rx) = mpsc::unbounded_channel();
        let stats = Arc::new(PipelineStats::default());
        let wake = Arc::new(Wake::default());
        let worker = Worker::new(
            exporter,
            config,
            item_rx,
            control_rx,
            Arc::clone(&stats),
            spool,
            Arc::clone(&wake),
        );
        rt.spawn(worker.run());
        Self {
            items,
            control,
            stats,
            config,
            budget: ByteBudget::new(config.max_queue_bytes),
            wake,
        }
    }

    /// Never blocks: a full (or closed) queue, or an item of `bytes` over the byte budget,
    /// drops the item and counts it. Wakes the worker only when a full batch is waiting (its
    /// timer collects partial batches), so the caller's thread pays no wake-up per item.
    #[inline]
    fn push(&self, item: T, bytes: usize) {
        self.stats.accepted();
        let Some(ticket) = self.budget.reserve(bytes) else {
            self.stats.dropped();
            return;
        };
        let item = Ticketed {
            item,
            _ticket: Some(ticket),
        };
        if self.items.try_send(item).is_err() {
            self.stats.dropped();
            return;
        }
        let queued = self.items.max_capacity() - self.items.capacity();
        if queued >= self.config.max_export_batch_size {
            self.wake.batch_ready();
        }
    }

    /// Sends a control message and waits (blocking, bounded by `timeout`) for its answer. The
    /// worker runs on the export runtime, never on the caller's, so this cannot deadlock.
    fn call(
        &self,
        make: impl FnOnce(std::sync::mpsc::SyncSender<OTelSdkResult>) -> Control,
        timeout: Duration,
    ) -> OTelSdkResult {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.control
            .send(make(tx))
            .map_err(|_| OTelSdkError::AlreadyShutdown)?;
        match rx.recv_timeout(timeout) {
            Ok(result) => result,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(OTelSdkError::Timeout(timeout)),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                Err(OTelSdkError::AlreadyShutdown)
            }
        }
    }

    /// Waits as long as the queued batches may take: one export timeout per batch queued, plus
    /// the one the worker holds and the one it may be exporting.
    fn flush(&self) -> OTelSdkResult {
        let queued = self.items.max_capacity() - self.items.capacity();
        let spooled = usize::try_from(self.stats.snapshot().spooled).unwrap_or(usize::MAX);
        let batches = queued.saturating_add(spooled) / self.config.max_export_batch_size + 2;
        let timeout = crate::timeout_or_no_limit(self.config.export_timeout)
            .saturating_mul(u32::try_from(batches).unwrap_or(u32::MAX));
        self.call(Control::Flush, timeout)
    }

    fn shutdown(&self, timeout: Duration) -> OTelSdkResult {
        self.call(|tx| Control::Shutdown(tx, timeout), timeout)
    }

    fn set_resource(&self, resource: &Resource) {
        // Ignored only when the worker is gone, in which case there is nothing to label.
        let _ = self.control.send(Control::SetResource(resource.clone()));
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("config", &self.config)
            .field("stats", &self.stats.snapshot())
            .finish_non_exhaustive()
    }
}

/// A span processor with a bounded queue, exporting on the [`ExportRuntime`].
#[derive(Debug)]
pub struct BatchSpanProcessor {
    queue: Queue<SpanData>,
    value_length_limit: Option<usize>,
}

impl BatchSpanProcessor {
    /// Starts the processor's worker on `runtime`.
    pub fn new<E: SpanExporter + 'static>(
        exporter: E,
        config: BatchConfig,
        runtime: &ExportRuntime,
    ) -> Self {
        Self {
            queue: Queue::start(Spans(exporter), config, None, runtime),
            value_length_limit: None,
        }
    }

    /// Like [`BatchSpanProcessor::new`], with a disk spool behind the in-memory retry buffer
    /// (see [`crate::spool`]): spans the collector could not take wait on disk, and what an
    /// earlier process left in the spool is delivered first.
    pub fn with_spool<E: SpanExporter + 'static>(
        exporter: E,
        config: BatchConfig,
        spool: Spool,
        runtime: &ExportRuntime,
    ) -> Self {
        Self {
            queue: Queue::start(Spans(exporter), config, Some(spool), runtime),
            value_length_limit: None,
        }
    }

    /// Truncates string attribute values (on the span and its events) to `limit` characters
    /// (`OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT`). `None`, the default, keeps them whole.
    #[must_use]
    pub fn with_value_length_limit(mut self, limit: Option<usize>) -> Self {
        self.value_length_limit = limit;
        self
    }

    /// The live counters of this pipeline.
    pub fn stats(&self) -> Arc<PipelineStats> {
        Arc::clone(&self.queue.stats)
    }
}

impl SpanProcessor for BatchSpanProcessor {
    fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &opentelemetry::Context) {}

    fn on_end(&self, mut span: SpanData) {
        if span.span_context.is_sampled() {
            if let Some(limit) = self.value_length_limit {
                limits::truncate_span(&mut span, limit);
            }
            let bytes = budget::span_bytes(&span);
            self.queue.push(span, bytes);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.queue.flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.queue.shutdown(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.queue.set_resource(resource);
    }
}

/// A log processor with a bounded queue, exporting on the [`ExportRuntime`].
#[derive(Debug)]
pub struct BatchLogProcessor {
    queue: Queue<Box<(SdkLogRecord, InstrumentationScope)>>,
}

impl BatchLogProcessor {
    /// Starts the processor's worker on `runtime`.
    pub fn new<E: LogExporter + 'static>(
        exporter: E,
        config: BatchConfig,
        runtime: &ExportRuntime,
    ) -> Self {
        Self {
            queue: Queue::start(Logs(exporter), config, None, runtime),
        }
    }

    /// Like [`BatchLogProcessor::new`], with a disk spool behind the in-memory retry buffer
    /// (see [`crate::spool`]).
    pub fn with_spool<E: LogExporter + 'static>(
        exporter: E,
        config: BatchConfig,
        spool: Spool,
        runtime: &ExportRuntime,
    ) -> Self {
        Self {
            queue: Queue::start(Logs(exporter), config, Some(spool), runtime),
        }
    }

    /// The live counters of this pipeline.
    pub fn stats(&self) -> Arc<PipelineStats> {
        Arc::clone(&self.queue.stats)
    }
}

impl LogProcessor for BatchLogProcessor {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        // Logs emitted by the export path itself (hyper, tonic, reqwest) would feed back into
        // the queue; the export runtime runs with telemetry suppressed, so skip those.
        if opentelemetry::Context::is_current_telemetry_suppressed() {
            return;
        }
        let bytes = budget::log_bytes(record);
        self.queue
            .push(Box::new((record.clone(), scope.clone())), bytes);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.queue.flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.queue.shutdown(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.queue.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use opentelemetry::trace::{Tracer as _, TracerProvider as _};
    use opentelemetry_sdk::trace::SdkTracerProvider;

    use super::*;

    /// An exporter whose every export waits until the test opens the gate.
    #[derive(Debug, Clone)]
    struct Gated {
        gate: Arc<tokio::sync::Semaphore>,
        seen: Arc<AtomicUsize>,
    }

    impl SpanExporter for Gated {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            let _permit = self
                .gate
                .acquire()
                .await
                .map_err(|_| OTelSdkError::AlreadyShutdown)?;
            self.seen.fetch_add(batch.len(), Ordering::SeqCst);
            Ok(())
        }
    }

    #[test]
    fn a_full_queue_drops_and_counts_without_blocking_then_delivers_the_rest() {
        let rt = ExportRuntime::new().expect("runtime");
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let seen = Arc::new(AtomicUsize::new(0));
        let exporter = Gated {
            gate: Arc::clone(&gate),
            seen: Arc::clone(&seen),
        };
        let config = BatchConfig {
            max_queue_size: 4,
            max_export_batch_size: 2,
            scheduled_delay: Duration::from_millis(1),
            export_timeout: Duration::from_secs(30),
            max_retained: 2048,
            max_queue_bytes: 64 * 1024 * 1024,
        };
        let processor = BatchSpanProcessor::new(exporter, config, &rt);
        let stats = processor.stats();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .build();
        let tracer = provider.tracer("test");
        for _ in 0..20 {
            tracer.in_span("s", |_| {});
        }
        let snap = stats.snapshot();
        assert_eq!(snap.accepted, 20);
        // 4 fit in the queue and at most 2 more in the batch the worker holds.
        assert!((14..=16).contains(&snap.dropped), "{snap:?}");

        gate.add_permits(1000);
        provider.force_flush().expect("flush");
        let snap = stats.snapshot();
        assert_eq!(snap.exported + snap.dropped, 20, "{snap:?}");
        assert_eq!(seen.load(Ordering::SeqCst) as u64, snap.exported);
        assert_eq!(snap.failed, 0);
    }

    #[test]
    fn big_spans_are_bounded_by_bytes_not_only_by_count() {
        use opentelemetry::trace::Span as _;
        let rt = ExportRuntime::new().expect("runtime");
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let exporter = Gated {
            gate: Arc::clone(&gate),
            seen: Arc::new(AtomicUsize::new(0)),
        };
        let config = BatchConfig {
            max_queue_bytes: 1024 * 1024,
            ..BatchConfig::default()
        };
        let processor = BatchSpanProcessor::new(exporter, config, &rt);
        let (stats, budget) = (processor.stats(), Arc::clone(&processor.queue.budget));
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .build();
        let tracer = provider.tracer("test");
        // The collector is away (the gate stays shut): 200 spans with a 100 KB attribute
        // each, 20 MB, that the item count (2048) alone would all keep.
        let agent = "A".repeat(100_000);
        for _ in 0..200 {
            let mut span = tracer.start("big");
            span.set_attribute(opentelemetry::KeyValue::new(
                "user_agent.original",
                agent.clone(),
            ));
            span.end();
        }
        let snap = stats.snapshot();
        assert_eq!(snap.accepted, 200);
        assert!(snap.dropped >= 190, "{snap:?}");
        assert!(budget.used() <= 1024 * 1024, "{} bytes held", budget.used());
        gate.add_permits(1000);
        provider.force_flush().expect("flush");
        assert_eq!(budget.used(), 0, "every ticket came back once exported");
    }

    #[test]
    fn an_export_that_hangs_is_abandoned_at_the_timeout_and_kept_or_counted() {
        for (max_retained, kept, failed) in [(2048, 1, 0), (0, 0, 1)] {
            let rt = ExportRuntime::new().expect("runtime");
            let exporter = Gated {
                gate: Arc::new(tokio::sync::Semaphore::new(0)),
                seen: Arc::new(AtomicUsize::new(0)),
            };
            let config = BatchConfig {
                export_timeout: Duration::from_millis(50),
                max_retained,
                ..BatchConfig::default()
            };
            let processor = BatchSpanProcessor::new(exporter, config, &rt);
            let stats = processor.stats();
            let provider = SdkTracerProvider::builder()
                .with_span_processor(processor)
                .build();
            provider.tracer("test").in_span("s", |_| {});
            let flushed = provider.force_flush();
            assert!(flushed.is_err(), "a timed-out export is reported");
            let snap = stats.snapshot();
            assert_eq!((snap.retained, snap.failed), (kept, failed), "{snap:?}");
        }
    }

    /// An exporter that fails with a given message until told the collector is back.
    #[derive(Debug, Clone)]
    struct Outage {
        up: Arc<std::sync::atomic::AtomicBool>,
        message: &'static str,
        seen: Arc<AtomicUsize>,
    }

    impl SpanExporter for Outage {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            if self.up.load(Ordering::SeqCst) {
                self.seen.fetch_add(batch.len(), Ordering::SeqCst);
                Ok(())
            } else {
                Err(OTelSdkError::InternalFailure(self.message.to_owned()))
            }
        }
    }

    fn outage_with_delay(
        message: &'static str,
        max_retained: usize,
        scheduled_delay: Duration,
    ) -> (SdkTracerProvider, Arc<PipelineStats>, Outage, ExportRuntime) {
        let rt = ExportRuntime::new().expect("runtime");
        let exporter = Outage {
            up: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            message,
            seen: Arc::new(AtomicUsize::new(0)),
        };
        let config = BatchConfig {
            max_export_batch_size: 10,
            max_retained,
            scheduled_delay,
            ..BatchConfig::default()
        };
        let processor = BatchSpanProcessor::new(exporter.clone(), config, &rt);
        let stats = processor.stats();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .build();
        (provider, stats, exporter, rt)
    }

    fn outage(
        message: &'static str,
        max_retained: usize,
    ) -> (SdkTracerProvider, Arc<PipelineStats>, Outage, ExportRuntime) {
        outage_with_delay(message, max_retained, Duration::from_secs(5))
    }

    #[test]
    fn kept_batches_survive_timer_driven_exports_too() {
        let (provider, stats, exporter, _rt) = outage_with_delay(
            "TonicTracesClient export failed with gRPC code: Unavailable",
            2048,
            Duration::from_millis(1),
        );
        let tracer = provider.tracer("test");
        for _ in 0..300 {
            tracer.in_span("s", |_| {});
        }
        let _ = provider.force_flush();
        let snap = stats.snapshot();
        assert_eq!(
            (snap.exported, snap.failed, snap.retained),
            (0, 0, 300),
            "{snap:?}"
        );
        exporter.up.store(true, Ordering::SeqCst);
        provider.force_flush().expect("back");
        assert_eq!(stats.snapshot().exported, 300);
    }

    #[test]
    fn batches_that_fail_while_the_collector_is_away_are_kept_and_delivered_later() {
        let (provider, stats, exporter, _rt) = outage(
            "TonicTracesClient export failed with gRPC code: Unavailable",
            2048,
        );
        let tracer = provider.tracer("test");
        for _ in 0..35 {
            tracer.in_span("s", |_| {});
        }
        assert!(provider.force_flush().is_err(), "the collector is away");
        let snap = stats.snapshot();
        assert_eq!(
            (snap.exported, snap.failed, snap.retained),
            (0, 0, 35),
            "{snap:?}"
        );

        exporter.up.store(true, Ordering::SeqCst);
        provider.force_flush().expect("the collector is back");
        let snap = stats.snapshot();
        assert_eq!(
            (snap.exported, snap.failed, snap.retained, snap.dropped),
            (35, 0, 0, 0),
            "{snap:?}"
        );
        assert_eq!(exporter.seen.load(Ordering::SeqCst), 35);
    }

    #[test]
    fn the_retry_buffer_is_bounded_and_gives_up_the_oldest() {
        let (provider, stats, _exporter, _rt) = outage("HTTP export failed: network error", 20);
        let tracer = provider.tracer("test");
        for _ in 0..35 {
            tracer.in_span("s", |_| {});
        }
        let _ = provider.force_flush();
        let snap = stats.snapshot();
        assert!(snap.retained <= 20, "{snap:?}");
        assert_eq!(snap.retained + snap.failed, 35, "{snap:?}");
    }

    #[test]
    fn a_rejected_batch_is_not_sent_again() {
        let (provider, stats, exporter, _rt) =
            outage("HTTP export failed with status code: 400", 2048);
        provider.tracer("test").in_span("s", |_| {});
        let _ = provider.force_flush();
        exporter.up.store(true, Ordering::SeqCst);
        provider.force_flush().expect("nothing left to send");
        let snap = stats.snapshot();
        assert_eq!(
            (snap.exported, snap.failed, snap.retained),
            (0, 1, 0),
            "{snap:?}"
        );
    }

    #[test]
    fn what_is_still_kept_at_shutdown_is_counted_as_failed() {
        let (provider, stats, _exporter, _rt) = outage(
            "TonicTracesClient export failed with gRPC code: Unavailable",
            2048,
        );
        provider.tracer("test").in_span("s", |_| {});
        let _ = provider.shutdown_with_timeout(Duration::from_secs(5));
        let snap = stats.snapshot();
        assert_eq!(
            (snap.accepted, snap.exported, snap.failed, snap.retained),
            (1, 0, 1, 0),
            "{snap:?}"
        );
    }

    /// An exporter that records span names in the order it received them, failing while the
    /// collector is "away".
    #[derive(Debug, Clone)]
    struct Ordered {
        up: Arc<std::sync::atomic::AtomicBool>,
        names: Arc<std::sync::Mutex<Vec<String>>>,
    }

    impl SpanExporter for Ordered {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            if !self.up.load(Ordering::SeqCst) {
                return Err(OTelSdkError::InternalFailure(
                    "TonicTracesClient export failed with gRPC code: Unavailable".to_owned(),
                ));
            }
            let mut names = self.names.lock().expect("lock");
            names.extend(batch.into_iter().map(|s| s.name.into_owned()));
            Ok(())
        }
    }

    fn spooled(
        dir: &std::path::Path,
        max_bytes: u64,
    ) -> (
        SdkTracerProvider,
        Arc<PipelineStats>,
        Ordered,
        ExportRuntime,
    ) {
        let rt = ExportRuntime::new().expect("runtime");
        let exporter = Ordered {
            up: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            names: Arc::default(),
        };
        let config = BatchConfig {
            max_export_batch_size: 10,
            max_retained: 20,
            scheduled_delay: Duration::from_secs(5),
            ..BatchConfig::default()
        };
        let spool = crate::spool::Spool::open(
            &crate::spool::SpoolConfig::new(dir).with_max_bytes(max_bytes),
            crate::otlp::Signal::Traces,
        )
        .expect("spool");
        let processor = BatchSpanProcessor::with_spool(exporter.clone(), config, spool, &rt);
        let stats = processor.stats();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .build();
        (provider, stats, exporter, rt)
    }

    fn make(provider: &SdkTracerProvider, from: usize, to: usize) {
        let tracer = provider.tracer("test");
        for i in from..to {
            tracer.in_span(format!("s{i}"), |_| {});
            if i % 50 == 49 {
                // Let the worker keep up, so that nothing is dropped at the queue.
                let _ = provider.force_flush();
            }
        }
    }

    #[test]
    fn past_the_retry_buffer_batches_wait_on_disk_and_are_delivered_oldest_first() {
        let dir = crate::spool::tests::temp_dir("worker-order");
        let (provider, stats, exporter, _rt) = spooled(&dir, 1 << 20);
        make(&provider, 0, 300);
        let _ = provider.force_flush();
        let snap = stats.snapshot();
        assert_eq!(
            (snap.retained, snap.spooled, snap.failed, snap.dropped),
            (20, 280, 0, 0),
            "{snap:?}"
        );
        assert!(snap.spooled_bytes > 0);
        exporter.up.store(true, Ordering::SeqCst);
        provider.force_flush().expect("back");
        let snap = stats.snapshot();
        assert_eq!(
            (
                snap.exported,
                snap.retained,
                snap.spooled,
                snap.spooled_bytes
            ),
            (300, 0, 0, 0),
            "{snap:?}"
        );
        let names = exporter.names.lock().expect("lock").clone();
        let expected: Vec<String> = (0..300).map(|i| format!("s{i}")).collect();
        assert_eq!(names, expected, "oldest first, each once");
    }

    #[test]
    fn what_is_kept_at_shutdown_is_delivered_by_the_next_start_on_the_same_directory() {
        let dir = crate::spool::tests::temp_dir("worker-restart");
        {
            let (provider, stats, _exporter, _rt) = spooled(&dir, 1 << 20);
            make(&provider, 0, 100);
            let _ = provider.shutdown();
            let snap = stats.snapshot();
            assert_eq!(
                (snap.accepted, snap.failed, snap.retained, snap.spooled),
                (100, 0, 0, 100),
                "{snap:?}"
            );
        }
        let (provider, stats, exporter, _rt) = spooled(&dir, 1 << 20);
        assert_eq!(stats.snapshot().recovered, 100);
        exporter.up.store(true, Ordering::SeqCst);
        make(&provider, 100, 110);
        provider.force_flush().expect("delivered");
        let snap = stats.snapshot();
        assert_eq!(
            (snap.accepted, snap.recovered, snap.exported, snap.spooled),
            (10, 100, 110, 0),
            "{snap:?}"
        );
        let mut names = exporter.names.lock().expect("lock").clone();
        // Oldest first, at a bounded rate: a live batch may go out after every
        // `REPLAY_PER_EXPORT` spooled ones, so the earlier process's spans lead, and every span
        // arrives once.
        let lead: Vec<String> = (0..10).map(|i| format!("s{i}")).collect();
        assert_eq!(names[..10], lead[..], "the earlier process's spans first");
        names.sort_by_key(|n| n[1..].parse::<u32>().unwrap_or(u32::MAX));
        let expected: Vec<String> = (0..110).map(|i| format!("s{i}")).collect();
        assert_eq!(names, expected, "each once");
    }

    #[test]
    fn past_the_spool_cap_the_oldest_are_dropped_and_the_count_is_exact() {
        let dir = crate::spool::tests::temp_dir("worker-cap");
        // Room for a few batches of ten spans only.
        let (provider, stats, exporter, _rt) = spooled(&dir, 6_000);
        make(&provider, 0, 400);
        let _ = provider.force_flush();
        let snap = stats.snapshot();
        assert!(snap.dropped > 0 && snap.spooled > 0, "{snap:?}");
        assert!(snap.spooled_bytes <= 6_000, "{snap:?}");
        assert_eq!(
            snap.accepted,
            snap.dropped + snap.retained + snap.spooled,
            "{snap:?}"
        );
        exporter.up.store(true, Ordering::SeqCst);
        provider.force_flush().expect("back");
        let snap = stats.snapshot();
        assert_eq!(snap.exported + snap.dropped, 400, "{snap:?}");
        let names = exporter.names.lock().expect("lock").clone();
        let first_kept = 400 - names.len();
        let expected: Vec<String> = (first_kept..400).map(|i| format!("s{i}")).collect();
        assert_eq!(names, expected, "the newest within the cap, in order");
    }
}
