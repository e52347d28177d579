//! The Prometheus scrape endpoint as users mount it: `metrics_route_for` on an axum router and
//! Beacon's own listener, each answering in the format the scraper's `Accept` header asks for,
//! and a route without a reader saying how to turn Prometheus export on.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod support;

use beacon::config::Exporter;
use http::StatusCode;
use opentelemetry::metrics::MeterProvider as _;
use support::{plain_get as get, serve};

const OPENMETRICS: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_route_and_the_listener_negotiate_the_format() {
    let telemetry = beacon::builder()
        .env_source(|k| match k {
            "OTEL_EXPORTER_PROMETHEUS_HOST" => Some("127.0.0.1".to_owned()),
            "OTEL_EXPORTER_PROMETHEUS_PORT" => Some("0".to_owned()),
            _ => None,
        })
        .traces_exporter(Exporter::None)
        .logs_exporter(Exporter::None)
        .metrics_exporter(Exporter::Prometheus)
        .collectors(beacon::collectors::Collectors::none())
        .build()
        .unwrap();
    telemetry
        .meter_provider()
        .meter("shop")
        .u64_counter("orders.placed")
        .build()
        .add(2, &[opentelemetry::KeyValue::new("region", "eu")]);
    let reader = telemetry.prometheus().unwrap();
    let app = axum::Router::new().merge(beacon_middleware::axum::metrics_route_for(reader));
    let routed = serve(app).await;
    let own = telemetry.prometheus_addr().unwrap();
    assert!(telemetry
        .describe()
        .iter()
        .any(|d| d.contains(&format!("http://{own}/metrics"))));

    for addr in [routed, own] {
        let (status, content_type, body) = get(addr, "/metrics", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
        assert!(
            body.contains("orders_placed_total{region=\"eu\",otel_scope_name=\"shop\"} 2\n"),
            "{body}"
        );
        assert!(!body.contains("# EOF"));

        let (status, content_type, body) = get(addr, "/metrics", Some(OPENMETRICS)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            content_type,
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
        assert!(body.contains("# TYPE orders_placed counter\n"), "{body}");
        assert!(body.ends_with("# EOF\n"), "{body}");
    }
    let (status, _, body) = get(own, "/elsewhere", None).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::NOT_FOUND, "metrics are at /metrics\n")
    );

    // Once shut down, a scrape says why it has nothing rather than serving stale numbers.
    telemetry.shutdown().unwrap();
    let (status, _, body) = get(routed, "/metrics", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("shut down"), "{body}");
}

#[tokio::test]
async fn a_route_without_prometheus_export_says_how_to_turn_it_on() {
    // Nothing installed a pipeline with Prometheus in this test binary's process for this test.
    let app = axum::Router::new().merge(beacon_middleware::axum::metrics_route());
    let addr = serve(app).await;
    let (status, _, body) = get(addr, "/metrics", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("OTEL_METRICS_EXPORTER=prometheus"), "{body}");
}
