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

/// Registers the optional check `telemetry.hub` in `health`: it fails (the service is
/// degraded, still ready) when live subscribers missed items since the previous check, or
/// the store holds more than 90% of its memory cap.
pub fn register_health(hub: &Hub, health: &crate::health::Health) {
    let hub = hub.clone();
    let last_lagged = Arc::new(std::sync::atomic::AtomicU64::new(hub.stats().lagged));
    health.register_optional("telemetry.hub", Duration::from_millis(100), move || {
        let stats = hub.stats();
        let before = last_lagged.swap(stats.lagged, std::sync::atomic::Ordering::Relaxed);
        let missed = stats.lagged.saturating_sub(before);
        let full = stats.bytes.saturating_mul(10) > stats.memory_limit.saturating_mul(9);
        let result = match (missed, full) {
            (0, false) => Ok(()),
            (missed, full) => Err(format!(
                "{missed} items missed by lagging live subscribers since the last check; store at {} of {} bytes{}",
                stats.bytes,
                stats.memory_limit,
                if full { " (over 90%, evicting)" } else { "" }
            )),
        };
        std::future::ready(result)
    });
}

/// Subscribes to the domain events of type `E` as they reach `hub` (a filter on
/// [`crate::events::Event::NAME`]); items are the stored records
/// ([`beacon_hub::stream::Item::Event`]), whose attributes are the event's fields.
#[must_use]
pub fn subscribe_events<E: crate::events::Event>(hub: &Hub) -> beacon_hub::stream::Subscription {
    hub.subscribe(beacon_hub::stream::Filter {
        signals: vec![beacon_hub::stream::Signal::Events],
        name: Some(E::NAME.to_owned()),
        ..beacon_hub::stream::Filter::default()
    })
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
