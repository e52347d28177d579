//! The in-process live hub as one more destination (feature `hub`).
//!
//! With [`crate::Builder::hub`] (or [`crate::Builder::local_hub`], or `BEACON_HUB=true`),
//! every span, log record, domain event and metric collection also goes to a
//! [`beacon_hub::Hub`]: spans and logs through their own bounded batch processor (the same
//! path as the OTLP exporter, so sampling, tail sampling and limits apply the same way, and
//! what does not fit in the queue is dropped and counted in [`crate::Telemetry::stats`] under
//! destination `hub`), metrics through a periodic reader at the metric export interval.
//!
//! ```
//! use beacon::config::Exporter;
//! use beacon::hub::query::TraceQuery;
//!
//! let telemetry = beacon::builder()
//!     .env_source(|_| None)
//!     .traces_exporter(Exporter::None)
//!     .metrics_exporter(Exporter::None)
//!     .logs_exporter(Exporter::None)
//!     .local_hub()
//!     .build()?;
//! tracing::dispatcher::with_default(&telemetry.dispatch(), || {
//!     tracing::info_span!("checkout", order.id = 7).in_scope(|| {});
//! });
//! telemetry.flush()?;
//! let hub = telemetry.hub().expect("a hub was asked for");
//! let found = hub.traces(&TraceQuery {
//!     attributes: vec![("order.id".into(), "7".into())],
//!     ..TraceQuery::default()
//! });
//! assert_eq!(found.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::Arc;
use std::time::Duration;

use beacon_exporter::batch::{BatchLogProcessor, BatchSpanProcessor, PipelineStats};
use beacon_exporter::otlp::Signal;
use beacon_exporter::ExportRuntime;
use beacon_hub::export::{HubLogExporter, HubMetricExporter, HubSpanExporter};
pub use beacon_hub::{model, query, stream, Hub, HubConfig, HubStats, IndexedAttributes};
pub use typed::{EventSubscription, HubEventsExt, TypedLive};

pub mod typed;
use opentelemetry_sdk::metrics::PeriodicReader;

use crate::config::parse::Env;

/// `true` attaches an in-process hub with the default bounds when the code gives none.
pub const BEACON_HUB: &str = "BEACON_HUB";

impl crate::Builder {
    /// Also sends all telemetry to `hub` (see the [module docs](self)); keep a clone to query
    /// and subscribe to it, or get it back with [`crate::Telemetry::hub`].
    #[must_use]
    pub fn hub(mut self, hub: Hub) -> Self {
        self.hub = Some(hub);
        self
    }

    /// Also sends all telemetry to a new hub with the default bounds
    /// ([`HubConfig::default`]); get it with [`crate::Telemetry::hub`].
    #[must_use]
    pub fn local_hub(self) -> Self {
        self.hub(Hub::new())
    }
}

/// The hub the builder gave, else a default one when `BEACON_HUB=true`.
pub(crate) fn resolve(given: Option<Hub>, env: &Env<'_>) -> Option<Hub> {
    given.or_else(|| env.bool(BEACON_HUB).then(Hub::new))
}

type Stats = Vec<(Signal, &'static str, Arc<PipelineStats>)>;

pub(crate) fn span_processor(
    hub: &Hub,
    config: &crate::config::Config,
    runtime: &ExportRuntime,
    stats: &mut Stats,
) -> BatchSpanProcessor {
    let processor = BatchSpanProcessor::new(
        HubSpanExporter::new(hub.clone()),
        config.span_batch,
        runtime,
    )
    .with_value_length_limit(config.limits.attribute_value_length);
    processor
        .stats()
        .set_destination("traces to the in-process hub");
    stats.push((Signal::Traces, "hub", processor.stats()));
    processor
}

pub(crate) fn log_processor(
    hub: &Hub,
    config: &crate::config::Config,
    runtime: &ExportRuntime,
    stats: &mut Stats,
) -> BatchLogProcessor {
    let processor =
        BatchLogProcessor::new(HubLogExporter::new(hub.clone()), config.log_batch, runtime);
    processor
        .stats()
        .set_destination("logs to the in-process hub");
    stats.push((Signal::Logs, "hub", processor.stats()));
    processor
}

pub(crate) fn metric_reader(hub: &Hub, interval: Duration) -> PeriodicReader<HubMetricExporter> {
    PeriodicReader::builder(HubMetricExporter::new(hub.clone()))
        .with_interval(interval)
        .build()
}

/// Registers the hub with `health`: the optional check `telemetry.hub`, which fails (the
/// service is degraded, still ready) when live subscribers missed items within the last
/// minute or the store holds more than 90% of its memory cap; and the component `hub` of the
/// `/health/telemetry` summary ([`crate::telemetry_health`]) with the store's pressure, what it
/// received and evicted, the OTLP receiver's requests and the lagging subscribers.
/// [`crate::Telemetry::register_health`] calls it for the pipeline's own hub.
pub fn register_health(hub: &Hub, health: &crate::health::Health) {
    let state = Arc::new(HubHealth::new(hub.clone()));
    let check = Arc::clone(&state);
    health.register_optional("telemetry.hub", Duration::from_millis(100), move || {
        let (_, reason) = check.observe();
        std::future::ready(reason.map_or(Ok(()), Err))
    });
    health.register_component("beacon.hub", move || state.report());
}

/// The hub's health, with the minute-long window of lagged items.
struct HubHealth {
    hub: Hub,
    lagged: std::sync::Mutex<crate::export_health::ExportWindow>,
}

impl HubHealth {
    fn new(hub: Hub) -> Self {
        let lagged = hub.stats().lagged;
        Self {
            hub,
            lagged: std::sync::Mutex::new(crate::export_health::ExportWindow::new(
                std::time::Instant::now(),
                lagged,
                0,
            )),
        }
    }

    /// The stats now and why the hub is degraded, if it is.
    fn observe(&self) -> (HubStats, Option<String>) {
        let stats = self.hub.stats();
        let (missed, _) = self
            .lagged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .observe(std::time::Instant::now(), stats.lagged, 0);
        let full = stats.bytes.saturating_mul(10) > stats.memory_limit.saturating_mul(9);
        let reason = match (missed, full) {
            (0, false) => None,
            (missed, full) => Some(format!(
                "in the last {} s live subscribers missed {missed} items; store at {} of {} bytes{}",
                crate::export_health::WINDOW.as_secs(),
                stats.bytes,
                stats.memory_limit,
                if full { " (over 90%, evicting)" } else { "" }
            )),
        };
        (stats, reason)
    }

    fn report(&self) -> crate::telemetry_health::ComponentReport {
        let (s, reason) = self.observe();
        let n = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
        crate::telemetry_health::ComponentReport {
            kind: "hub",
            name: "hub".to_owned(),
            status: if reason.is_some() {
                crate::health::Status::Degraded
            } else {
                crate::health::Status::Up
            },
            reason,
            figures: vec![
                ("memory_bytes", n(s.bytes)),
                ("memory_limit_bytes", n(s.memory_limit)),
                ("traces", n(s.traces)),
                ("spans", n(s.spans)),
                ("logs", n(s.logs)),
                ("events", n(s.events)),
                ("metric_series", n(s.series)),
                ("metric_points", n(s.points)),
                ("spans_received", s.spans_received),
                ("logs_received", s.logs_received),
                ("events_received", s.events_received),
                ("points_received", s.points_received),
                ("rejected", s.rejected),
                (
                    "evicted",
                    s.traces_evicted
                        + s.logs_evicted
                        + s.events_evicted
                        + s.points_evicted
                        + s.series_evicted,
                ),
                ("receiver_requests", s.receiver_requests),
                ("receiver_refused", s.receiver_refused),
                ("subscribers", n(s.subscribers)),
                ("lagged", s.lagged),
            ],
        }
    }
}

/// Subscribes to the domain events of type `E` as they reach `hub`, untyped: the stored
/// records ([`beacon_hub::stream::Item::Event`]), whose attributes are the event's fields.
/// [`HubEventsExt::subscribe_events`] decodes them into `E`.
#[must_use]
pub fn subscribe_event_records<E: crate::events::Event>(
    hub: &Hub,
) -> beacon_hub::stream::Subscription {
    hub.subscribe(typed::filter::<E>())
}

/// The hub's own metrics on `meter_provider`: `beacon.hub.items` (stored now, by `signal`),
/// `beacon.hub.evicted` (evicted to stay within bounds, by `signal`), `beacon.hub.memory.usage`
/// (estimated bytes) and `beacon.hub.stream.lagged` (items live subscribers missed).
pub(crate) fn register_metrics(
    meter_provider: &opentelemetry_sdk::metrics::SdkMeterProvider,
    hub: &Hub,
) {
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry::KeyValue;
    let meter = meter_provider.meter("beacon");
    let signal = |s: &'static str| [KeyValue::new("signal", s)];
    let h = hub.clone();
    meter
        .i64_observable_up_down_counter("beacon.hub.items")
        .with_unit("{item}")
        .with_description(
            "Items the live hub holds now (traces, spans, logs, events, metric points).",
        )
        .with_callback(move |o| {
            let s = h.stats();
            for (name, n) in [
                ("traces", s.traces),
                ("spans", s.spans),
                ("logs", s.logs),
                ("events", s.events),
                ("metric_points", s.points),
            ] {
                o.observe(i64::try_from(n).unwrap_or(i64::MAX), &signal(name));
            }
        })
        .build();
    let h = hub.clone();
    meter
        .u64_observable_counter("beacon.hub.evicted")
        .with_unit("{item}")
        .with_description("Items the live hub evicted, oldest first, to stay within its bounds.")
        .with_callback(move |o| {
            let s = h.stats();
            for (name, n) in [
                ("traces", s.traces_evicted),
                ("spans", s.spans_evicted),
                ("logs", s.logs_evicted),
                ("events", s.events_evicted),
                ("metric_points", s.points_evicted),
                ("metric_series", s.series_evicted),
            ] {
                o.observe(n, &signal(name));
            }
        })
        .build();
    let h = hub.clone();
    meter
        .i64_observable_up_down_counter("beacon.hub.memory.usage")
        .with_unit("By")
        .with_description("Estimated bytes the live hub holds, indexes included.")
        .with_callback(move |o| o.observe(i64::try_from(h.stats().bytes).unwrap_or(i64::MAX), &[]))
        .build();
    let h = hub.clone();
    meter
        .u64_observable_counter("beacon.hub.stream.lagged")
        .with_unit("{item}")
        .with_description("Items live subscribers missed because they fell behind.")
        .with_callback(move |o| o.observe(h.stats().lagged, &[]))
        .build();
}
