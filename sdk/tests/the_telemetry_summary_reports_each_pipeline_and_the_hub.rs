//! `Telemetry::register_health` puts every export pipeline and the live hub in the
//! `/health/telemetry` summary: their counters, and "degraded" with a reason while the hub's
//! live subscribers miss items; the hub's own check `telemetry.hub` says the same.
#![cfg(feature = "hub")]

use beacon::config::Exporter;
use beacon::health::{Health, Status};
use beacon::hub::stream::{Filter, Live};
use beacon::hub::{Hub, HubConfig};

fn figure(summary: &beacon::telemetry_health::TelemetrySummary, name: &str, key: &str) -> u64 {
    let component = summary
        .components
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no component {name}: {summary:?}"));
    component
        .figures
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("no figure {key} in {component:?}"))
}

#[tokio::test]
async fn pipelines_and_the_hub_are_summarized_and_a_lagging_subscriber_degrades_the_hub() {
    let hub = Hub::with_config(HubConfig::builder().stream_capacity(16).build());
    let telemetry = beacon::builder()
        .env_source(|_| None)
        .service_name("summary")
        .traces_exporter(Exporter::None)
        .metrics_exporter(Exporter::None)
        .logs_exporter(Exporter::None)
        .hub(hub.clone())
        .build()
        .expect("built");
    let health = Health::new().cache_for(std::time::Duration::ZERO);
    telemetry.register_health(&health);
    let mut stalled = hub.subscribe(Filter::default());

    tracing::dispatcher::with_default(&telemetry.dispatch(), || {
        for i in 0..40_i64 {
            tracing::info_span!("work", i).in_scope(|| tracing::info!(i, "step"));
        }
    });
    telemetry.flush().expect("flushed");

    let summary = health.telemetry_summary();
    let kinds: Vec<(&str, &str)> = summary
        .components
        .iter()
        .map(|c| (c.kind, c.name.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("pipeline", "traces/hub"),
            ("pipeline", "logs/hub"),
            ("hub", "hub")
        ],
        "{summary:?}"
    );
    assert_eq!(figure(&summary, "traces/hub", "exported"), 40);
    assert_eq!(figure(&summary, "logs/hub", "exported"), 40);
    assert_eq!(figure(&summary, "hub", "spans"), 40);
    assert_eq!(figure(&summary, "hub", "subscribers"), 1);
    assert_eq!(summary.status, Status::Up, "nobody has missed anything yet");
    assert!(health
        .check()
        .await
        .checks
        .iter()
        .any(|c| c.name == "telemetry.hub" && c.status == Status::Up));

    // The subscriber reads only now: 80 spans and logs (and the flush's metric points) went
    // by a ring of 16.
    let missed = match stalled.next().await {
        Some(Live::Lagged(n)) if n >= 80 - 16 => n,
        other => panic!("expected a lag marker, got {other:?}"),
    };
    let summary = health.telemetry_summary();
    assert_eq!(summary.status, Status::Degraded);
    assert_eq!(figure(&summary, "hub", "lagged"), missed);
    let json = summary.to_json();
    let expected = format!(
        r#"{{"kind":"hub","name":"hub","status":"degraded","reason":"in the last 60 s live subscribers missed {missed} items"#
    );
    assert!(json.contains(&expected), "{json}");
    // Asking again does not clear it: the window is kept by time.
    assert_eq!(health.telemetry_summary().status, Status::Degraded);
    let report = health.check().await;
    let check = report
        .checks
        .iter()
        .find(|c| c.name == "telemetry.hub")
        .expect("the hub registered its check");
    assert_eq!(check.status, Status::Degraded, "{report:?}");
    assert!(report.is_ready(), "an optional check only degrades");
}
