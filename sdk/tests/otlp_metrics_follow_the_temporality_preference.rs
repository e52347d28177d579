//! `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` and
//! `OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION` (and their builder settings) shape
//! what the OTLP metric exporter sends, checked at a real OTLP/gRPC receiver.

use std::time::Duration;

use beacon::config::{Exporter, HistogramAggregation, Protocol, Temporality};
use fake_opentelemetry_collector::FakeCollectorServer;
use serde_json::Value;

/// Every data set of the metric named `name` received so far, as JSON (the receiver's types
/// are not all public), with the kind it arrived as (`Sum`, `Histogram`, …).
fn received(json: &Value, name: &str) -> Vec<(String, Value)> {
    json.as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["metrics"].as_array().cloned().unwrap_or_default())
        .filter(|m| m["name"] == name)
        .filter_map(|m| {
            let data = m["data"].as_object()?;
            let (kind, value) = data.iter().next()?;
            Some((kind.clone(), value.clone()))
        })
        .collect()
}

fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }
}

/// `specification/metrics/sdk_exporters/otlp.md`: "The exporter MUST configure the default
/// aggregation temporality on the basis of instrument kind using the
/// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` variable", whose recognized
/// (case-insensitive) values include `DELTA`: "Choose Delta aggregation temporality for
/// Counter, Asynchronous Counter and Histogram instrument kinds, choose Cumulative aggregation
/// temporality for UpDownCounter and Asynchronous UpDownCounter instrument kinds." Beacon's
/// metrics were always cumulative.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delta_preference_sends_counter_deltas_and_cumulative_up_down_counters() {
    let mut collector = FakeCollectorServer::start().await.expect("collector");
    let telemetry = beacon::builder()
        .env_source(env(&[(
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "Delta",
        )]))
        .service_name("delta-svc")
        .otlp_endpoint(collector.endpoint())
        .otlp_protocol(Protocol::Grpc)
        .traces_exporter(Exporter::None)
        .logs_exporter(Exporter::None)
        .self_telemetry(false)
        .collectors(beacon::collectors::Collectors::none())
        .build()
        .expect("pipeline builds");
    let meter = telemetry.meter("delta.test");
    let orders = meter.u64_counter("orders").build();
    let queue = meter.i64_up_down_counter("queue.depth").build();
    orders.add(5, &[]);
    queue.add(5, &[]);
    tokio::task::block_in_place(|| telemetry.flush()).expect("first export");
    orders.add(3, &[]);
    queue.add(3, &[]);
    tokio::task::block_in_place(|| telemetry.shutdown()).expect("second export");

    let metrics = collector.exported_metrics(2, Duration::from_secs(10)).await;
    let json = serde_json::to_value(&metrics).expect("json");
    let values = |name: &str| -> Vec<(i64, i64)> {
        received(&json, name)
            .into_iter()
            .filter(|(kind, _)| kind == "Sum")
            .flat_map(|(_, sum)| {
                let temporality = sum["aggregation_temporality"].as_i64().unwrap_or(-1);
                sum["data_points"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |p| {
                        let v = p["value"]["AsInt"].as_i64().unwrap_or(-1);
                        (temporality, v)
                    })
            })
            .collect()
    };
    // AggregationTemporality: 1 = DELTA, 2 = CUMULATIVE.
    assert_eq!(values("orders"), vec![(1, 5), (1, 3)], "{json}");
    assert_eq!(values("queue.depth"), vec![(2, 5), (2, 8)], "{json}");
}

/// `specification/metrics/sdk_exporters/otlp.md`: "The exporter MUST configure the default
/// aggregation on the basis of instrument kind using the
/// `OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION` variable as described below if
/// it is implemented" — `base2_exponential_bucket_histogram` sends exponential histograms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base2_default_aggregation_sends_exponential_histograms() {
    let mut collector = FakeCollectorServer::start().await.expect("collector");
    let telemetry = beacon::builder()
        .env_source(env(&[(
            "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION",
            "base2_exponential_bucket_histogram",
        )]))
        .otlp_endpoint(collector.endpoint())
        .otlp_protocol(Protocol::Grpc)
        .traces_exporter(Exporter::None)
        .logs_exporter(Exporter::None)
        .self_telemetry(false)
        .collectors(beacon::collectors::Collectors::none())
        // A cardinality limit on the same instrument: still one stream, not two.
        .cardinality_limit("wait", 10)
        .build()
        .expect("pipeline builds");
    let wait = telemetry.meter("base2.test").f64_histogram("wait").build();
    for v in [0.5, 1.0, 2.0, 4.0] {
        wait.record(v, &[]);
    }
    tokio::task::block_in_place(|| telemetry.shutdown()).expect("export");
    let metrics = collector.exported_metrics(1, Duration::from_secs(10)).await;
    let json = serde_json::to_value(&metrics).expect("json");
    let got = received(&json, "wait");
    assert_eq!(got.len(), 1, "one stream: {json}");
    assert_eq!(got[0].0, "ExponentialHistogram", "{json}");
    assert_eq!(got[0].1["data_points"][0]["count"], 4, "{json}");
}

/// Code wins over the environment, values are read in any case, and a value Beacon does not
/// know is refused naming the variable; an exponential default beside the Prometheus
/// exporter (whose formats cannot carry it) is refused too.
#[test]
fn code_wins_and_bad_values_name_the_variable() {
    assert_eq!("CUMULATIVE".parse(), Ok(Temporality::Cumulative));
    assert_eq!("LowMemory".parse(), Ok(Temporality::LowMemory));
    assert_eq!(
        "Explicit_Bucket_Histogram".parse(),
        Ok(HistogramAggregation::ExplicitBucketHistogram)
    );
    let quiet = || {
        beacon::builder()
            .traces_exporter(Exporter::None)
            .logs_exporter(Exporter::None)
            .self_telemetry(false)
            .collectors(beacon::collectors::Collectors::none())
    };
    let err = quiet()
        .env_source(env(&[(
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "sometimes",
        )]))
        .strict_config(true)
        .build()
        .expect_err("unknown temporality, in strict mode");
    assert_eq!(
        err.variable(),
        Some("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE")
    );
    // By default, the spec's rule: a warning, and the default (cumulative).
    let lenient = quiet()
        .env_source(env(&[(
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "sometimes",
        )]))
        .strict_config(false)
        .build()
        .expect("a warning, not an error");
    assert!(lenient
        .warnings()
        .iter()
        .any(|w| w.contains("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE")));
    drop(lenient);
    // The builder's value wins: the bad variable is never read.
    let telemetry = quiet()
        .env_source(env(&[(
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "sometimes",
        )]))
        .otlp_temporality_preference(Temporality::LowMemory)
        .build()
        .expect("code wins");
    drop(telemetry);
    let err = quiet()
        .env_source(env(&[("OTEL_METRICS_EXPORTER", "otlp,prometheus")]))
        .prometheus_listener(false)
        .otlp_default_histogram_aggregation(HistogramAggregation::Base2ExponentialBucketHistogram)
        .build()
        .expect_err("base2 beside prometheus");
    assert_eq!(
        err.variable(),
        Some("OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION")
    );
}
