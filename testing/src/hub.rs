//! The hub: one span processor and one log processor for the whole test process, routing each
//! item to the captures that asked for its trace.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, RwLock, Weak};

use opentelemetry::trace::TraceId;
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord};
use opentelemetry_sdk::trace::{SpanData, SpanProcessor};

use crate::record::{CapturedLog, CapturedSpan, Item};

/// The name of the root span each capture opens; its own end is not captured.
pub(crate) const CAPTURE_SPAN: &str = "beacon_test.capture";

/// What one capture has received, with the means to wake its waiters.
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub(crate) items: Mutex<Vec<Item>>,
    pub(crate) changed: Condvar,
    pub(crate) notify: tokio::sync::Notify,
}

impl Store {
    fn push(&self, item: Item) {
        if let Ok(mut items) = self.items.lock() {
            items.push(item);
        }
        self.changed.notify_all();
        self.notify.notify_waiters();
    }
}

#[derive(Default)]
pub(crate) struct Hub {
    by_trace: RwLock<HashMap<TraceId, Weak<Store>>>,
    global: RwLock<Vec<Weak<Store>>>,
    pub(crate) attached: AtomicBool,
}

pub(crate) fn hub() -> &'static Hub {
    static HUB: OnceLock<Hub> = OnceLock::new();
    HUB.get_or_init(Hub::default)
}

impl Hub {
    pub(crate) fn register_trace(&self, trace: TraceId, store: &Arc<Store>) {
        if let Ok(mut map) = self.by_trace.write() {
            map.retain(|_, s| s.strong_count() > 0);
            map.insert(trace, Arc::downgrade(store));
        }
    }

    pub(crate) fn register_global(&self, store: &Arc<Store>) {
        if let Ok(mut list) = self.global.write() {
            list.retain(|s| s.strong_count() > 0);
            list.push(Arc::downgrade(store));
        }
    }

    fn route(&self, trace: Option<TraceId>, item: impl Fn() -> Item) {
        if let Ok(list) = self.global.read() {
            for store in list.iter().filter_map(Weak::upgrade) {
                store.push(item());
            }
        }
        let target = trace.and_then(|t| self.by_trace.read().ok()?.get(&t)?.upgrade());
        if let Some(store) = target {
            store.push(item());
        }
    }
}

/// The span processor that feeds captures. Add it to your own pipeline with [`crate::attach`].
#[derive(Debug, Default)]
pub struct SpanSink;

impl SpanProcessor for SpanSink {
    fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &opentelemetry::Context) {}

    fn on_end(&self, span: SpanData) {
        if span.name == CAPTURE_SPAN {
            return;
        }
        let captured = CapturedSpan::from_data(&span);
        hub().route(Some(captured.trace_id), || Item::Span(captured.clone()));
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// The log processor that feeds captures. Add it to your own pipeline with [`crate::attach`].
#[derive(Debug, Default)]
pub struct LogSink;

impl LogProcessor for LogSink {
    fn emit(&self, record: &mut SdkLogRecord, _scope: &InstrumentationScope) {
        let captured = CapturedLog::from_record(record);
        hub().route(captured.trace_id, || Item::Log(captured.clone()));
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// Marks the hub as fed by a pipeline the application built itself.
pub(crate) fn mark_attached() {
    hub().attached.store(true, Ordering::Release);
}

pub(crate) fn is_attached() -> bool {
    hub().attached.load(Ordering::Acquire)
}
