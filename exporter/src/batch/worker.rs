//! The batch worker: a task on the export runtime that drains the queue into export calls.

use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::Resource;
use tokio::sync::mpsc;
use tokio::time::Instant;

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
                    let _ = self.export_buffer().await;
                    deadline = Instant::now() + self.config.scheduled_delay;
                }
            }
        }
    }

    /// Exports everything queued so far, batch by batch. Returns the first failure.
    async fn drain(&mut self) -> OTelSdkResult {
        let mut result = Ok(());
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
            let exported = self.export_buffer().await;
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
        let n = batch.len();
        let timeout = self.config.export_timeout;
        match tokio::time::timeout(timeout, self.exporter.export(batch)).await {
            Ok(Ok(())) => {
                self.stats.exported(n);
                Ok(())
            }
            Ok(Err(err)) => {
                self.stats.failed(n);
                Err(err)
            }
            Err(_) => {
                self.stats.failed(n);
                Err(OTelSdkError::Timeout(timeout))
            }
        }
    }
}
