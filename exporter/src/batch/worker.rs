//! The batch worker: a task on the export runtime that drains the queue into export calls.

use std::collections::VecDeque;
use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::Resource;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::stats::ExportErrorKind;
use super::{BatchConfig, BatchExport, PipelineStats};

/// Requests from the application side to the worker.
pub(super) enum Control {
    Flush(SyncSender<OTelSdkResult>),
    Shutdown(SyncSender<OTelSdkResult>, Duration),
    SetResource(Resource),
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
}

impl<E: BatchExport> Worker<E> {
    pub(super) fn new(
        exporter: E,
        config: BatchConfig,
        items: mpsc::Receiver<E::Item>,
        control: mpsc::UnboundedReceiver<Control>,
        stats: Arc<PipelineStats>,
    ) -> Self {
        let buffer = Vec::with_capacity(config.max_export_batch_size);
        Self {
            exporter,
            config,
            items,
            control,
            stats,
            buffer,
            retained: VecDeque::new(),
            retained_items: 0,
        }
    }

    pub(super) async fn run(mut self) {
        let mut deadline = Instant::now() + self.config.scheduled_delay;
        loop {
            let room = self.config.max_export_batch_size - self.buffer.len();
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
                        self.give_up_retained();
                        let shut = self.exporter.shutdown(timeout);
                        let _ = done.send(result.and(shut));
                        return;
                    }
                    Some(Control::SetResource(resource)) => self.exporter.set_resource(&resource),
                    // Every handle is gone without a shutdown: deliver what is queued, then stop.
                    None => {
                        self.items.close();
                        let _ = self.drain().await;
                        return;
                    }
                },
                received = self.items.recv_many(&mut self.buffer, room) => {
                    if received == 0 {
                        let _ = self.export_buffer().await;
                        return;
                    }
                    if self.buffer.len() >= self.config.max_export_batch_size {
                        let _ = self.export_buffer().await;
                        deadline = Instant::now() + self.config.scheduled_delay;
                    }
                }
                () = tokio::time::sleep_until(deadline) => {
                    let _ = self.resend_retained().await;
                    let _ = self.export_buffer().await;
                    deadline = Instant::now() + self.config.scheduled_delay;
                }
            }
        }
    }

    /// Exports everything queued so far, batch by batch, kept batches first. Once the
    /// collector has failed a retryable export, the rest is kept without more attempts.
    /// Returns the first failure.
    async fn drain(&mut self) -> OTelSdkResult {
        let mut result = self.resend_retained().await;
        let mut away = !self.retained.is_empty();
        loop {
            while self.buffer.len() < self.config.max_export_batch_size {
                match self.items.try_recv() {
                    Ok(item) => self.buffer.push(item),
                    Err(_) => break,
                }
            }
            if self.buffer.is_empty() {
                return result;
            }
            if away {
                let batch = std::mem::take(&mut self.buffer);
                self.retain(batch);
                continue;
            }
            let exported = self.export_buffer().await;
            away = !self.retained.is_empty();
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
        if !self.retained.is_empty() {
            if let Err(err) = self.resend_retained().await {
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

    /// Sends kept batches, oldest first, until one fails again (the collector is still away:
    /// stop and keep it) or none are left.
    async fn resend_retained(&mut self) -> OTelSdkResult {
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
        let timeout = self.config.export_timeout;
        let keep = self.config.max_retained > 0;
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

    /// Keeps a batch for another try, giving up the oldest ones past `max_retained` items.
    fn retain(&mut self, batch: Vec<E::Item>) {
        self.retained_items += batch.len();
        self.retained.push_back(batch);
        while self.retained_items > self.config.max_retained {
            match self.retained.pop_front() {
                Some(old) => {
                    self.retained_items -= old.len();
                    self.stats.failed(old.len());
                }
                None => break,
            }
        }
        self.stats.set_retained(self.retained_items);
    }

    /// At shutdown, whatever is still kept is lost: count it.
    fn give_up_retained(&mut self) {
        for batch in self.retained.drain(..) {
            self.stats.failed(batch.len());
        }
        self.retained_items = 0;
        self.stats.set_retained(0);
    }
}
