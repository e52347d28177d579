//! OpenTelemetry configuration spec, `configuration/common.md`, "Timeout": "A value of 0
//! indicates no limit (infinity)". With every export timeout set to 0 — the OTLP request
//! timeout, the span and log batch export timeouts and the metric export timeout — every
//! signal is still exported; as the spec's deadlines, a zero would have abandoned each export
//! at once.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use beacon::otel::api::metrics::MeterProvider as _;
use support::HttpReceiver;

#[test]
fn zero_timeouts_export_everything() {
    let receiver = HttpReceiver::start();
    let env: HashMap<&str, String> = HashMap::from([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "0".to_owned()),
        ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "0".to_owned()),
        ("OTEL_BSP_EXPORT_TIMEOUT", "0".to_owned()),
        ("OTEL_BLRP_EXPORT_TIMEOUT", "0".to_owned()),
        ("OTEL_METRIC_EXPORT_TIMEOUT", "0".to_owned()),
    ]);
    let telemetry = beacon::builder()
        .env_source(move |name| env.get(name).cloned())
        .service_name("zero-timeouts")
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let jobs = telemetry
        .meter_provider()
        .meter("test")
        .u64_counter("jobs.done")
        .build();
    tracing::dispatcher::with_default(&telemetry.dispatch(), || {
        let _span = tracing::info_span!("job").entered();
        tracing::info!("done");
        jobs.add(1, &[]);
    });
    telemetry
        .shutdown()
        .unwrap_or_else(|e| panic!("shutdown: {e}"));
    let arrived = receiver.wait_for(Duration::from_secs(10), |r| {
        r.spans().count() == 1
            && r.log_records().count() == 1
            && r.metric_names().contains(&"jobs.done".to_owned())
    });
    assert!(arrived, "{:?}", receiver.with(|r| r.span_names()));
}
