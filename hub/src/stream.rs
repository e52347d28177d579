//! The live stream: every item the hub stores, as it arrives, to any number of filtered
//! subscribers.
//!
//! Items go out on one bounded broadcast ring ([`crate::HubConfig::stream_capacity`]). Sending
//! never blocks or waits for a subscriber; a subscriber that falls more than the ring behind
//! gets [`Live::Lagged`] with the number of items it missed, then carries on from the oldest
//! item still in the ring. Filtering runs in the subscriber's task, not the emitter's.
//!
//! ```
//! use beacon_hub::stream::{Filter, Live, Signal};
//! use beacon_hub::{model, Hub};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let hub = Hub::new();
//! let mut errors = hub.subscribe(Filter {
//!     signals: vec![Signal::Logs],
//!     min_severity: Some(17),
//!     ..Filter::default()
//! });
//! let resource = std::sync::Arc::new(model::Resource::for_service("checkout"));
//! for (severity, body) in [(9, "fine"), (17, "payment failed")] {
//!     hub.insert_log(model::LogRecord {
//!         time_unix_nano: 1,
//!         severity_number: severity,
//!         severity_text: None,
//!         body: Some(model::Value::String(body.into())),
//!         attributes: model::Attributes::default(),
//!         event_name: None,
//!         trace_id: None,
//!         span_id: None,
//!         resource: resource.clone(),
//!         scope: Default::default(),
//!     });
//! }
//! let Some(Live::Item(item)) = errors.next().await else { panic!("no item") };
//! assert_eq!(item.as_log().map(|l| l.body_text()), Some("payment failed".to_owned()));
//! # }
//! ```

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use serde::Serialize;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;

use crate::model::{LogRecord, MetricSample, Span, TraceId};

/// A kind of telemetry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Signal {
    /// Spans.
    Traces,
    /// Log records without an event name.
    Logs,
    /// Domain events (log records with an event name).
    Events,
    /// Metric points.
    Metrics,
}

impl std::str::FromStr for Signal {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "traces" | "spans" => Ok(Self::Traces),
            "logs" => Ok(Self::Logs),
            "events" => Ok(Self::Events),
            "metrics" => Ok(Self::Metrics),
            other => Err(format!(
                "signal must be traces, logs, events or metrics, not {other:?}"
            )),
        }
    }
}

/// One stored item, shared (cloning is a reference count).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "signal", content = "item", rename_all = "lowercase")]
pub enum Item {
    /// A span.
    #[serde(rename = "traces")]
    Span(Arc<Span>),
    /// A log record.
    #[serde(rename = "logs")]
    Log(Arc<LogRecord>),
    /// A domain event.
    #[serde(rename = "events")]
    Event(Arc<LogRecord>),
    /// A metric point.
    #[serde(rename = "metrics")]
    Metric(Arc<MetricSample>),
}

impl Item {
    /// Its signal.
    #[must_use]
    pub fn signal(&self) -> Signal {
        match self {
            Item::Span(_) => Signal::Traces,
            Item::Log(_) => Signal::Logs,
            Item::Event(_) => Signal::Events,
            Item::Metric(_) => Signal::Metrics,
        }
    }

    /// Its service.
    #[must_use]
    pub fn service(&self) -> &str {
        match self {
            Item::Span(s) => s.service(),
            Item::Log(l) | Item::Event(l) => l.service(),
            Item::Metric(m) => m.service(),
        }
    }

    /// Its name: the span name, the event name, the metric name; `None` for a plain log.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        match self {
            Item::Span(s) => Some(&s.name),
            Item::Log(l) | Item::Event(l) => l.event_name.as_deref(),
            Item::Metric(m) => Some(&m.name),
        }
    }

    /// Its trace, when it has one.
    #[must_use]
    pub fn trace_id(&self) -> Option<TraceId> {
        match self {
            Item::Span(s) => Some(s.trace_id),
            Item::Log(l) | Item::Event(l) => l.trace_id,
            Item::Metric(_) => None,
        }
    }

    /// Whether it (or its resource) carries attribute `key` with text `value`.
    #[must_use]
    pub fn has_attribute(&self, key: &str, value: &str) -> bool {
        match self {
            Item::Span(s) => s.has_attribute(key, value),
            Item::Log(l) | Item::Event(l) => l.has_attribute(key, value),
            Item::Metric(m) => {
                m.attributes.has(key, value) || m.resource.attributes.has(key, value)
            }
        }
    }

    /// The log record, for [`Item::Log`] and [`Item::Event`].
    #[must_use]
    pub fn as_log(&self) -> Option<&LogRecord> {
        match self {
            Item::Log(l) | Item::Event(l) => Some(l),
            _ => None,
        }
    }

    /// The span, for [`Item::Span`].
    #[must_use]
    pub fn as_span(&self) -> Option<&Span> {
        match self {
            Item::Span(s) => Some(s),
            _ => None,
        }
    }
}

/// Which items a subscriber wants; every field given must hold (empty `signals`: all).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Only these signals.
    pub signals: Vec<Signal>,
    /// Only this service.
    pub service: Option<String>,
    /// Only items of this name (span, event or metric name; plain logs have none).
    pub name: Option<String>,
    /// Only items of this trace.
    pub trace_id: Option<TraceId>,
    /// Only items carrying all these attributes (a topic: `run.id=42`, `asset=pump-7`).
    pub attributes: Vec<(String, String)>,
    /// Logs and events below this severity number are left out; other signals are not
    /// affected by it (combine with `signals` to see only logs).
    pub min_severity: Option<u8>,
}

impl Filter {
    /// Whether `item` passes.
    #[must_use]
    pub fn matches(&self, item: &Item) -> bool {
        (self.signals.is_empty() || self.signals.contains(&item.signal()))
            && self.service.as_deref().is_none_or(|s| item.service() == s)
            && self.name.as_deref().is_none_or(|n| item.name() == Some(n))
            && self.trace_id.is_none_or(|t| item.trace_id() == Some(t))
            && self
                .attributes
                .iter()
                .all(|(k, v)| item.has_attribute(k, v))
            && self
                .min_severity
                .is_none_or(|m| item.as_log().is_none_or(|l| l.severity_number >= m))
    }
}

/// What a subscription yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Live {
    /// An item that passed the filter.
    Item(Item),
    /// The subscriber fell behind: this many items (before filtering) went by unseen.
    Lagged(u64),
}

/// A filtered subscription to the live stream; an async [`Stream`] of [`Live`]. Dropping
/// it unsubscribes.
pub struct Subscription {
    inner: BroadcastStream<Item>,
    filter: Filter,
    lagged: Arc<AtomicU64>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("filter", &self.filter)
            .finish_non_exhaustive()
    }
}

impl Subscription {
    pub(crate) fn new(
        rx: tokio::sync::broadcast::Receiver<Item>,
        filter: Filter,
        lagged: Arc<AtomicU64>,
    ) -> Self {
        Self {
            inner: BroadcastStream::new(rx),
            filter,
            lagged,
        }
    }

    /// The next matching item or lag marker; `None` once the hub is gone.
    pub async fn next(&mut self) -> Option<Live> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// The filter this subscription applies.
    #[must_use]
    pub fn filter(&self) -> &Filter {
        &self.filter
    }
}

impl Stream for Subscription {
    type Item = Live;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Live>> {
        loop {
            match Pin::new(&mut self.inner).poll_next(cx) {
                Poll::Ready(Some(Ok(item))) => {
                    if self.filter.matches(&item) {
                        return Poll::Ready(Some(Live::Item(item)));
                    }
                }
                Poll::Ready(Some(Err(BroadcastStreamRecvError::Lagged(n)))) => {
                    self.lagged.fetch_add(n, Ordering::Relaxed);
                    return Poll::Ready(Some(Live::Lagged(n)));
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
