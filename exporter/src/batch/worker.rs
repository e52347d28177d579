//! The batch worker: a task on the export runtime that drains the queue into export calls.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::Resource;
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;

use super::stats::ExportErrorKind;
use super::{BatchConfig, BatchExport, PipelineStats};
use crate::spool::{Oldest, Spool, REPLAY_PER_EXPORT};

/// Requests from the application side to the worker.
pub(super) enum Control {
    Flush(SyncSender<OTelSdkResult>),
    Shutdown(SyncSender<OTelSdkResult>, Duration),
    SetResource(Resource),
}

/// How the application side tells the worker that a full batch waits.
///
/// The worker does not wait on the item channel itself: a receiver waiting there is woken by
/// every item sent, and each wake-up costs the sending thread (the application's, ending a
/// span) a task notification and, when the export runtime's thread sleeps, a system call to
/// unpark it. The worker sleeps on this and its timer instead, and is woken once per batch.
#[derive(Debug, Default)]
pub(super) struct Wake {
    notify: Notify,
    /// A wake-up was sent and the worker has not started collecting yet: later items need
    /// not send another.
    pending: AtomicBool,
}

impl Wake {
    /// At least one full batch is queued.
    #[inline]
    pub(super) fn batch_ready(&self) {
        if !self.pending.load(Ordering::Relaxed) && !self.pending.swap(true, Ordering::AcqRel) {
            self.notify.notify_one();
        }
    }

    /// The worker starts collecting: items queued after this need a new wake-up.
    fn taken(&self) {
        self.pending.store(false, Ordering::Release);
    }
}

pub(super) struct Worker<E: BatchExport> {
    exporter: E,
    config: BatchConfig,
    items: mpsc::Receiver<E::Item>,
    control: mpsc::UnboundedReceiver<Control>,
    stats: Arc<PipelineStats>,
    buffer: Vec<E::Item>,
    /// Batches that failed for a retryable reason, oldest first, and their item count.
    retained: VecDeque<Vec<E::Item>>,
    retained_items: usize,
    /// The disk spool behind `retained`, if any; `None` once it failed (the in-memory
    /// behaviour from then on).
    spool: Option<Spool>,
    /// The resource the exporter labels batches with (spooled batches carry their own).
    resource: Resource,
    /// The last export failed for a retryable reason (the collector is away).
    away: bool,
    wake: Arc<Wake>,
}

impl<E: BatchExport> Worker<E> {
    pub(super) fn new(
        exporter: E,
        config: BatchConfig,
        items: mpsc::Receiver<E::Item>,
        control: mpsc::UnboundedReceiver<Control>,
        stats: Arc<PipelineStats>,
        spool: Option<Spool>,
        wake: Arc<Wake>,
    ) -> Self {
        let buffer = Vec::with_capacity(config.max_export_batch_size);
        if let Some(spool) = &spool {
            stats.recovered(spool.recovered.items);
            stats.spool_corrupt(spool.recovered.corrupt);
            stats.set_spooled(spool.store.items(), spool.store.bytes());
        }
        Self {
            exporter,
            config,
            items,
            control,
            stats,
            buffer,
            retained: VecDeque::new(),
            retained_items: 0,
            spool,
            resource: Resource::builder_empty().build(),
            away: false,
            wake,
        }
    }

    /// Batches wait, in memory or on disk, for the collector.
    fn backlog(&self) -> bool {
        !self.retained.is_empty() || self.spool.as_ref().is_some_and(|s| s.store.len() > 0)
    }

    pub(super) async fn run(mut self) {
        let mut deadline = Instant::now() + self.config.scheduled_delay;
        loop {
            tokio::select! {
                biased;
                control = self.control.recv() => match control {
                    Some(Control::Flush(done)) => {
                        let result = self.drain().await;
                        let _ = done.send(result);
                    }
                    Some(Control::Shutdown(done, timeout)) => {
                        self.items.close();
                        let result = self.drain().await;
                        self.park_retained();
                        // Release the spool's lock before answering, so that the directory is
                        // free for whoever starts next as soon as shutdown returns.
                        drop(self.spool.take());
                        let shut = self.exporter.shutdown(timeout);
                        let _ = done.send(result.and(shut));
                        return;
                    }
                    Some(Control::SetResource(resource)) => {
                        self.exporter.set_resource(&resource);
                        self.resource = resource;
                    }
                    // Every handle is gone without a shutdown: deliver what is queued, then stop.
                    None => {
                        self.items.close();
                        let _ = self.drain().await;
                        self.park_retained();
                        return;
                    }
                },
                () = self.wake.notify.notified() => {
                    self.wake.taken();
                    self.fill();
                    if self.buffer.len() >= self.config.max_export_batch_size {
                        if self.away && self.backlog() {
                            // The collector failed the last attempt: keep the batch without
                            // another one. The next tick tries again, so a dead collector
                            // costs one attempt per `scheduled_delay`, not one per batch.
                            let batch = std::mem::take(&mut self.buffer);
                            self.retain(batch);
                        } else {
                            let _ = self.export_buffer().await;
                            deadline = Instant::now() + self.config.scheduled_delay;
                        }
                    }
                    // Another full batch may be waiting: come back for it after looking at
                    // the control channel.
                    if self.queued() >= self.config.max_export_batch_size {
                        self.wake.batch_ready();
                    }
                }
                () = tokio::time::sleep_until(deadline) => {
                    self.fill();
                    let _ = self.resend_retained(Some(REPLAY_PER_EXPORT)).await;
                    if self.away && self.backlog() {
                        let batch = std::mem::take(&mut self.buffer);
                        if !batch.is_empty() {
                            self.retain(batch);
                        }
                    } else {
                        let _ = self.export_buffer().await;
                    }
                    deadline = Instant::now() + self.config.scheduled_delay;
                }
            }
        }
    }

    /// Moves queued items into the buffer, up to a batch.
    fn fill(&mut self) {
        while self.buffer.len() < self.config.max_export_batch_size {
            match self.items.try_recv() {
                Ok(item) => self.buffer.push(item),
                Err(_) => break,
            }
        }
    }

    /// Items waiting in the channel.
    fn queued(&self) -> usize {
        self.items.len()
    }

    /// Exports everything queued so far, batch by batch, kept batches first. Once the
    /// collector has failed a retryable export, the rest is kept without more attempts.
    /// Returns the first failure.
    async fn drain(&mut self) -> OTelSdkResult {
        let mut result = self.resend_retained(None).await;
        let mut away = self.backlog();
        loop {
            self.fill();
            if self.buffer.is_empty() {
                return result;
            }
            if away {
                let batch = std::mem::take(&mut self.buffer);
                self.retain(batch);
                continue;
            }
            let exported = self.export_buffer().await;
            away = self.backlog();
            if result.is_ok() {
                result = exported;
            }
        }
    }

    async fn export_buffer(&mut self) -> OTelSdkResult {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(self.config.max_export_batch_size),
        );
        // Older data first: while kept batches wait for the collector, new ones join them.
        if self.backlog() {
            if let Err(err) = self.resend_retained(Some(REPLAY_PER_EXPORT)).await {
                self.retain(batch);
                return Err(err);
            }
        }
        match self.export(batch).await {
            Ok(()) => Ok(()),
            Err((err, Some(batch))) => {
                self.retain(batch);
                Err(err)
            }
            Err((err, None)) => Err(err),
        }
    }

    /// Sends kept batches, oldest first — the spooled ones, then those in memory — until one
    /// fails again (the collector is still away: stop and keep it) or none are left. With a
    /// `budget`, at most that many spooled batches are sent, and the in-memory ones (newer)
    /// wait until the spool is empty.
    async fn resend_retained(&mut self, budget: Option<usize>) -> OTelSdkResult {
        if !self.replay_spool(budget).await? {
            return Ok(());
        }
        while let Some(batch) = self.retained.pop_front() {
            // The batch stays counted as retained while it is in flight, so the counters add
            // up at every moment.
            let n = batch.len();
            match self.export(batch).await {
                Ok(()) => {
                    self.retained_items -= n;
                    self.stats.set_retained(self.retained_items);
                }
                Err((err, Some(batch))) => {
                    self.retained.push_front(batch);
                    return Err(err);
                }
                Err((_, None)) => {
                    self.retained_items -= n;
                    self.stats.set_retained(self.retained_items);
                }
            }
        }
        Ok(())
    }

    /// Exports one batch. On a retryable failure the batch comes back to be kept; on any
    /// other failure it is counted as failed.
    async fn export(
        &mut self,
        batch: Vec<E::Item>,
    ) -> Result<(), (OTelSdkError, Option<Vec<E::Item>>)> {
        let n = batch.len();
        let timeout = crate::timeout_or_no_limit(self.config.export_timeout);
        let keep = self.config.max_retained > 0 || self.spool.is_some();
        let started = Instant::now();
        let outcome = tokio::time::timeout(timeout, self.exporter.export(&batch)).await;
        let took = started.elapsed();
        match &outcome {
            Ok(Ok(())) => self.stats.export_done(took, None),
            Ok(Err(err)) => {
                let message = err.to_string();
                // The exporter's own deadline (gRPC DEADLINE_EXCEEDED, an HTTP client timeout)
                // is a timeout too, not an unreachable collector.
                let lower = message.to_ascii_lowercase();
                let kind = if matches!(err, OTelSdkError::Timeout(_))
                    || lower.contains("deadline")
                    || lower.contains("timed out")
                    || lower.contains("timeout")
                {
                    ExportErrorKind::Timeout
                } else if super::retry::is_retryable(err) {
                    ExportErrorKind::Unavailable
                } else {
                    ExportErrorKind::Rejected
                };
                self.stats.export_done(took, Some((kind, &message)));
            }
            Err(_) => self
                .stats
                .export_done(took, Some((ExportErrorKind::Timeout, "no answer in time"))),
        }
        let keep = keep.then_some(batch);
        self.away = match &outcome {
            Ok(Ok(())) => false,
            Ok(Err(err)) => super::retry::is_retryable(err),
            Err(_) => true,
        };
        match outcome {
            Ok(Ok(())) => {
                self.stats.exported(n);
                Ok(())
            }
            Ok(Err(err)) if super::retry::is_retryable(&err) && keep.is_some() => Err((err, keep)),
            Err(_) if keep.is_some() => Err((OTelSdkError::Timeout(timeout), keep)),
            Ok(Err(err)) => {
                self.stats.failed(n);
                Err((err, None))
            }
            Err(_) => {
                self.stats.failed(n);
                Err((OTelSdkError::Timeout(timeout), None))
            }
        }
    }

    /// Sends spooled batches, oldest first, at most `budget` of them. Returns whether the
    /// spool is now empty (or absent).
    async fn replay_spool(&mut self, budget: Option<usize>) -> Result<bool, OTelSdkError> {
        let mut sent = 0;
        loop {
            let Some(spool) = self.spool.as_mut() else {
                return Ok(true);
            };
            if budget.is_some_and(|b| sent >= b) {
                return Ok(spool.store.len() == 0);
            }
            let (payload, items) = match spool.store.oldest() {
                Oldest::Empty => return Ok(true),
                Oldest::Corrupt { items } => {
                    self.stats.spool_corrupt(1);
                    self.stats.failed(items as usize);
                    self.update_spooled();
                    continue;
                }
                Oldest::Record { payload, items } => (payload, items),
            };
            sent += 1;
            let groups = match E::decode(&payload) {
                Ok(groups) => groups,
                Err(message) => {
                    // It passed its checksum, so it is from an incompatible version: give it up.
                    self.stats
                        .export_done(Duration::ZERO, Some((ExportErrorKind::Rejected, &message)));
                    self.stats.failed(items as usize);
                    self.ack_spooled();
                    continue;
                }
            };
            for (resource, batch) in groups {
                let relabel = resource != self.resource;
                if relabel {
                    self.exporter.set_resource(&resource);
                }
                let outcome = self.export(batch).await;
                if relabel {
                    self.exporter.set_resource(&self.resource.clone());
                }
                if let Err((err, Some(_))) = outcome {
                    // Still away: the record stays spooled, and is sent again whole.
                    return Err(err);
                }
            }
            self.ack_spooled();
        }
    }

    /// The oldest spooled record was delivered or given up: remove it.
    fn ack_spooled(&mut self) {
        if let Some(spool) = self.spool.as_mut() {
            if let Err(err) = spool.store.ack() {
                self.spool_failed(&err.to_string());
            }
        }
        self.update_spooled();
    }

    fn update_spooled(&self) {
        if let Some(spool) = &self.spool {
            self.stats
                .set_spooled(spool.store.items(), spool.store.bytes());
        }
    }

    /// Writes a batch to the spool. Returns it when there is no spool, or the spool failed.
    fn spool(&mut self, batch: Vec<E::Item>) -> Option<Vec<E::Item>> {
        let Some(spool) = self.spool.as_mut() else {
            return Some(batch);
        };
        let payload = E::encode(&batch, &self.resource);
        match spool.store.push(batch.len() as u64, &payload) {
            Ok(evicted) => {
                if evicted > 0 {
                    self.stats.spool_evicted(evicted);
                }
                self.update_spooled();
                None
            }
            Err(err) => {
                self.spool_failed(&err.to_string());
                Some(batch)
            }
        }
    }

    /// The spool cannot be written any more: say so once, and carry on in memory. What it
    /// holds stays on disk for the next start.
    fn spool_failed(&mut self, message: &str) {
        if let Some(spool) = self.spool.take() {
            eprintln!(
                "beacon: the export spool {} failed ({message}); continuing without it \
                 (failed exports are kept in memory only, up to max_retained items)",
                spool.dir().display()
            );
            self.stats.set_spooled(0, 0);
            // What it holds stays on disk for the next start, no longer this pipeline's to
            // deliver: for this process's counts, it is given up.
            let held = spool.store.items();
            self.stats
                .failed(usize::try_from(held).unwrap_or(usize::MAX));
        }
    }

    /// Keeps a batch for another try. Past `max_retained` items, the oldest kept batches go to
    /// the spool, or are given up and counted as failed without one.
    fn retain(&mut self, batch: Vec<E::Item>) {
        self.retained_items += batch.len();
        self.retained.push_back(batch);
        while self.retained_items > self.config.max_retained {
            match self.retained.pop_front() {
                Some(old) => {
                    self.retained_items -= old.len();
                    if let Some(lost) = self.spool(old) {
                        self.stats.failed(lost.len());
                    }
                }
                None => break,
            }
        }
        self.stats.set_retained(self.retained_items);
    }

    /// At shutdown, whatever is still kept goes to the spool for the next start; without one
    /// it is lost: count it.
    fn park_retained(&mut self) {
        while let Some(batch) = self.retained.pop_front() {
            if let Some(lost) = self.spool(batch) {
                self.stats.failed(lost.len());
            }
        }
        self.retained_items = 0;
        self.stats.set_retained(0);
    }
}
