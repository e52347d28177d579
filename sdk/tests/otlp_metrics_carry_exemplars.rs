//! Histograms and counters Beacon records inside a sampled span reach an OTLP receiver with an
//! exemplar naming that span (`exemplars` of the data point), over gRPC. (Which measurements
//! qualify — the filters — is tested in `beacon_exporter::exemplars`.)

use std::time::Duration;

use beacon::config::{Exporter, Protocol};
use fake_opentelemetry_collector::FakeCollectorServer;

#[beacon::instrument(metrics)]
fn settle(amount: u64) -> u64 {
    amount * 2
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exemplars_reach_the_collector_with_the_span_ids() {
    let mut collector = FakeCollectorServer::start()
        .await
        .expect("collector starts");
    let telemetry = beacon::builder()
        .env_source(|_| None)
        .service_name("exemplar-svc")
        .otlp_endpoint(collector.endpoint())
        .otlp_protocol(Protocol::Grpc)
        .logs_exporter(Exporter::None)
        .collectors(beacon::collectors::Collectors::none())
        .try_init()
        .expect("pipeline installs");

    assert_eq!(settle(21), 42);
    let stats = tokio::task::block_in_place(|| telemetry.shutdown()).expect("clean shutdown");
    assert_eq!(stats.traces.exported, 1);

    let spans = collector.exported_spans(1, Duration::from_secs(10)).await;
    let settle_span = spans
        .iter()
        .find(|s| s.name == "settle")
        .expect("settle span");
    let metrics = collector.exported_metrics(1, Duration::from_secs(10)).await;
    // The receiver's types are not all public; read them through their JSON form.
    let json = serde_json::to_value(&metrics).expect("json");
    let point = |name: &str, kind: &str| -> serde_json::Value {
        json.as_array()
            .into_iter()
            .flatten()
            .flat_map(|m| m["metrics"].as_array().cloned().unwrap_or_default())
            .filter(|m| m["name"] == name)
            .flat_map(|m| {
                m["data"][kind]["data_points"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .rfind(|p| {
                p["attributes"]["function"]
                    .as_str()
                    .is_some_and(|f| f.contains("settle"))
            })
            .unwrap_or_else(|| panic!("{name} point for settle in {json}"))
    };
    for (name, kind) in [
        ("function.calls.duration", "Histogram"),
        ("function.calls", "Sum"),
    ] {
        let p = point(name, kind);
        let exemplars = p["exemplars"].as_array().cloned().unwrap_or_default();
        assert_eq!(exemplars.len(), 1, "{name}: {p}");
        assert_eq!(
            exemplars[0]["trace_id"],
            settle_span.trace_id.as_str(),
            "{name}"
        );
        assert_eq!(
            exemplars[0]["span_id"],
            settle_span.span_id.as_str(),
            "{name}"
        );
        assert!(exemplars[0]["time_unix_nano"]
            .as_u64()
            .is_some_and(|t| t > 0));
    }
}
