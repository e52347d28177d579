//! With `BEACON_HUB=true` (or `Builder::hub`), spans, logs, domain events and metrics reach
//! the in-process hub through the same pipeline as the exporters: correlated by trace id,
//! sampled the same way, and counted under destination `hub`.
#![cfg(feature = "hub")]

use beacon::config::Exporter;
use beacon::hub::query::{LogQuery, SeriesQuery, TraceQuery};
use beacon::hub::{HubEventsExt as _, TypedLive};
use opentelemetry::metrics::MeterProvider as _;

#[derive(beacon::Event, serde::Deserialize, Debug, PartialEq)]
#[event(name = "order.placed")]
struct OrderPlaced {
    order_id: u64,
}

/// The same event name with a field of another type: its records do not decode.
#[derive(beacon::Event, serde::Deserialize, Debug, PartialEq)]
#[event(name = "order.placed")]
struct OrderPlacedV2 {
    order_id: String,
}

fn env(
    pairs: &'static [(&'static str, &'static str)],
) -> impl Fn(&str) -> Option<String> + Send + Sync + 'static {
    move |k| {
        pairs
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    }
}

#[test]
fn every_signal_reaches_the_hub_correlated_by_trace() {
    let telemetry = beacon::builder()
        .env_source(env(&[("BEACON_HUB", "true")]))
        .service_name("hub-wired")
        .traces_exporter(Exporter::None)
        .metrics_exporter(Exporter::None)
        .logs_exporter(Exporter::None)
        .try_init()
        .expect("installed");
    let hub = telemetry
        .hub()
        .expect("BEACON_HUB=true attaches a hub")
        .clone();
    let mut placed = hub.subscribe_events::<OrderPlaced>();
    let mut v2 = hub.subscribe_events::<OrderPlacedV2>();
    let mut records = beacon::hub::subscribe_event_records::<OrderPlaced>(&hub);
    tracing::info_span!("checkout", order.id = 42_i64).in_scope(|| {
        tracing::info!("order accepted");
        beacon::emit(OrderPlaced { order_id: 42 });
    });
    telemetry
        .meter_provider()
        .meter("shop")
        .u64_counter("orders")
        .build()
        .add(3, &[]);
    telemetry.flush().expect("flushed");

    let traces = hub.traces(&TraceQuery {
        service: Some("hub-wired".into()),
        attributes: vec![("order.id".into(), "42".into())],
        ..TraceQuery::default()
    });
    assert_eq!(traces.len(), 1, "{:?}", hub.stats());
    let view = hub.trace(traces[0].trace_id).expect("stored");
    assert_eq!(view.spans[0].name, "checkout");
    assert_eq!(view.logs.len(), 1, "{view:?}");
    assert_eq!(view.logs[0].body_text(), "order accepted");
    assert_eq!(view.events.len(), 1);
    assert_eq!(view.events[0].event_name.as_deref(), Some("order.placed"));
    assert!(view.events[0].attributes.has("order_id", "42"));
    match placed.next().await_blocking() {
        Some(TypedLive::Event { value, record }) => {
            assert_eq!(value, OrderPlaced { order_id: 42 });
            assert_eq!(record.trace_id, Some(traces[0].trace_id));
        }
        other => panic!("expected the typed event, got {other:?}"),
    }
    match v2.next().await_blocking() {
        Some(TypedLive::Undecodable { record, error }) => {
            assert_eq!(record.event_name.as_deref(), Some("order.placed"));
            assert!(
                error.contains("order_id") || error.contains("invalid type"),
                "{error}"
            );
        }
        other => panic!("expected an undecodable record, got {other:?}"),
    }
    match records.next().await_blocking() {
        Some(beacon::hub::stream::Live::Item(item)) => {
            assert_eq!(item.name(), Some("order.placed"));
        }
        other => panic!("expected the event record, got {other:?}"),
    }
    let items = hub_metric(&hub, "beacon.hub.items");
    assert!(items.is_some(), "{:?}", hub.metric_names(None));
    let events = hub.events(&LogQuery {
        event_name: Some("order.placed".into()),
        ..LogQuery::default()
    });
    assert_eq!(events.len(), 1);
    let orders = hub.series(&SeriesQuery {
        name: "orders".into(),
        ..SeriesQuery::default()
    });
    assert_eq!(orders.len(), 1, "{:?}", hub.metric_names(None));
    assert!(telemetry
        .describe()
        .iter()
        .all(|d| d.contains("in-process hub")));
    let stats = telemetry.stats();
    assert_eq!(stats.traces.dropped, 0);
    telemetry.shutdown().expect("clean shutdown");
}

trait BlockOn: std::future::Future + Sized {
    fn await_blocking(self) -> Self::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(self)
    }
}
impl<F: std::future::Future> BlockOn for F {}

fn hub_metric(hub: &beacon::hub::Hub, name: &str) -> Option<beacon::hub::query::MetricInfo> {
    hub.metric_names(None).into_iter().find(|m| m.name == name)
}

#[test]
fn sampling_applies_to_the_hub_as_to_export() {
    let hub = beacon::hub::Hub::new();
    let telemetry = beacon::builder()
        .env_source(env(&[("OTEL_TRACES_SAMPLER", "always_off")]))
        .traces_exporter(Exporter::None)
        .metrics_exporter(Exporter::None)
        .logs_exporter(Exporter::None)
        .hub(hub.clone())
        .build()
        .expect("built");
    tracing::dispatcher::with_default(&telemetry.dispatch(), || {
        tracing::info_span!("dropped.by.sampler").in_scope(|| {});
    });
    telemetry.flush().expect("flushed");
    assert_eq!(hub.stats().spans_received, 0);
    assert!(beacon::builder()
        .env_source(|_| None)
        .build()
        .expect("built")
        .hub()
        .is_none());
}
