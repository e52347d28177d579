//! What the official `opentelemetry-otlp` HTTP exporter (inside Beacon's pipeline) sends to
//! the receiver comes back from the query API with the same ids, names, attributes and
//! parent links as the same spans stored in process (and a histogram keeps its buckets), over
//! protobuf and JSON, with and without gzip.
#![allow(clippy::unwrap_used)]

mod common;

use beacon::config::{Compression, Protocol};
use beacon_hub::export::{HubLogExporter, HubSpanExporter};
use opentelemetry_sdk::logs::SimpleLogProcessor;
use opentelemetry_sdk::trace::SimpleSpanProcessor;

async fn round_trip(protocol: Protocol, compression: Compression) {
    let served = common::serve(beacon_viewer::ViewerConfig::default()).await;
    let local = beacon_hub::Hub::new();
    let service = format!("round-trip-{protocol:?}-{compression:?}").to_lowercase();
    let telemetry = beacon::builder()
        .env_source(|_| None)
        .service_name(service.clone())
        .otlp_endpoint(format!("http://{}", served.addr))
        .otlp_protocol(protocol)
        .otlp_compression(compression)
        .collectors(beacon::collectors::Collectors::none())
        .with_span_processor(SimpleSpanProcessor::new(HubSpanExporter::new(
            local.clone(),
        )))
        .with_log_processor(SimpleLogProcessor::new(HubLogExporter::new(local.clone())))
        .build()
        .unwrap();
    tracing::dispatcher::with_default(&telemetry.dispatch(), || {
        let parent =
            tracing::info_span!("checkout", order.id = 42_i64, http.route = "/orders/{id}");
        parent.in_scope(|| {
            tracing::info_span!("charge", amount = 9.5_f64, card = "visa").in_scope(|| {
                tracing::warn!(attempt = 2_i64, "card declined, retrying");
            });
        });
    });
    {
        use opentelemetry::metrics::MeterProvider as _;
        let meter = telemetry.meter_provider().meter("shop");
        let latency = meter
            .f64_histogram("checkout.duration")
            .with_unit("s")
            .with_boundaries(vec![0.1, 1.0])
            .build();
        for v in [0.05, 0.5, 0.7, 3.0] {
            latency.record(v, &[opentelemetry::KeyValue::new("route", "/orders")]);
        }
    }
    // Shutdown flushes every batch processor: once it returns the receiver has answered.
    tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .unwrap()
        .unwrap();

    let found = common::get(
        served.addr,
        &format!("/api/traces?service={service}&attr=order.id%3D42"),
    )
    .await;
    assert_eq!(found.status, 200);
    let found = found.json();
    let summaries = found.as_array().unwrap();
    assert_eq!(summaries.len(), 1, "{found}");
    let trace_id = summaries[0]["trace_id"].as_str().unwrap().to_owned();
    assert_eq!(summaries[0]["root_name"], "checkout");
    assert_eq!(summaries[0]["span_count"], 2);

    let remote = common::get(served.addr, &format!("/api/traces/{trace_id}")).await;
    assert_eq!(remote.status, 200);
    let remote = remote.json();
    let expected = serde_json::to_value(local.trace(trace_id.parse().unwrap()).unwrap()).unwrap();
    for (r, l) in remote["spans"]
        .as_array()
        .unwrap()
        .iter()
        .zip(expected["spans"].as_array().unwrap())
    {
        for field in [
            "trace_id",
            "span_id",
            "parent_span_id",
            "name",
            "kind",
            "start_time_unix_nano",
            "end_time_unix_nano",
            "attributes",
            "status",
        ] {
            assert_eq!(r[field], l[field], "{field} differs: {r} vs {l}");
        }
        assert_eq!(r["resource"]["service"], service.as_str());
    }
    let spans = remote["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 2);
    let (checkout, charge) = (&spans[0], &spans[1]);
    assert_eq!(checkout["name"], "checkout");
    assert_eq!(checkout["parent_span_id"], serde_json::Value::Null);
    assert_eq!(charge["parent_span_id"], checkout["span_id"]);
    assert_eq!(checkout["attributes"]["order.id"], 42);
    assert_eq!(checkout["attributes"]["http.route"], "/orders/{id}");
    assert_eq!(charge["attributes"]["card"], "visa");

    let logs = remote["logs"].as_array().unwrap();
    assert_eq!(logs.len(), 1, "{remote}");
    assert_eq!(logs[0]["span_id"], charge["span_id"]);
    assert_eq!(logs[0]["severity_number"], 13);
    assert_eq!(logs[0]["attributes"]["attempt"], 2);
    assert_eq!(logs[0]["body"], expected["logs"][0]["body"]);

    let series = common::get(
        served.addr,
        &format!("/api/metrics?name=checkout.duration&service={service}&attr=route%3D%2Forders"),
    )
    .await
    .json();
    assert_eq!(series.as_array().map(Vec::len), Some(1), "{series}");
    let point = &series[0]["points"][0];
    assert_eq!(series[0]["kind"]["type"], "histogram");
    assert_eq!(point["count"], 4);
    assert_eq!(point["bounds"], serde_json::json!([0.1, 1.0]));
    assert_eq!(point["bucket_counts"], serde_json::json!([1, 2, 1]));

    let text = common::get(
        served.addr,
        &format!("/api/logs?service={service}&min_severity=warn&text=declined"),
    )
    .await;
    assert_eq!(text.json().as_array().map(Vec::len), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf() {
    round_trip(Protocol::HttpProtobuf, Compression::None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_gzip() {
    round_trip(Protocol::HttpProtobuf, Compression::Gzip).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json() {
    round_trip(Protocol::HttpJson, Compression::None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_gzip() {
    round_trip(Protocol::HttpJson, Compression::Gzip).await;
}
