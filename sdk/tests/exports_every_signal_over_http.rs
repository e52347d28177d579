//! Spans, log records and metrics reach an OTLP/HTTP receiver, as protobuf and as JSON, with
//! gzip and custom headers; parent/child links, attributes, resource and log-to-span
//! correlation survive the trip.

mod support;

use std::time::Duration;

use beacon::config::{Compression, Protocol};
use beacon::otel::api::metrics::MeterProvider as _;
use beacon::otel::api::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value;
use support::{any_value, HttpReceiver};

fn run(protocol: Protocol, compression: Compression, service: &str) -> HttpReceiver {
    let receiver = HttpReceiver::start();
    let telemetry = beacon::builder()
        .env_source(|_| None)
        .service_name(service)
        .service_version("1.2.3")
        .otlp_endpoint(receiver.endpoint())
        .otlp_protocol(protocol)
        .otlp_compression(compression)
        .otlp_header("x-api-key", "secret")
        .build()
        .expect("pipeline builds");
    let jobs = telemetry
        .meter_provider()
        .meter("test")
        .u64_counter("jobs.done")
        .build();
    tracing::dispatcher::with_default(&telemetry.dispatch(), || {
        let parent = tracing::info_span!("parent", job.id = 7_i64);
        let _p = parent.enter();
        let child = tracing::info_span!("child");
        let _c = child.enter();
        tracing::info!(answer = 42_i64, "inside child");
        jobs.add(3, &[KeyValue::new("kind", "batch")]);
    });
    telemetry.shutdown().expect("clean shutdown");
    let arrived = receiver.wait_for(Duration::from_secs(10), |r| {
        r.spans().count() == 2
            && r.log_records().count() == 1
            && r.metric_names().contains(&"jobs.done".to_owned())
    });
    assert!(
        arrived,
        "not everything arrived: {:?}",
        receiver.with(|r| r.span_names())
    );
    receiver
}

fn check(receiver: &HttpReceiver, service: &str, content_type: &str, encoding: &str) {
    receiver.with(|r| {
        let parent = r.spans().find(|s| s.name == "parent").expect("parent span");
        let child = r.spans().find(|s| s.name == "child").expect("child span");
        assert_eq!(child.trace_id, parent.trace_id);
        assert_eq!(child.parent_span_id, parent.span_id);
        assert!(parent.parent_span_id.is_empty(), "parent is a root");
        let job = parent
            .attributes
            .iter()
            .find(|kv| kv.key == "job.id")
            .expect("job.id");
        assert_eq!(any_value(job.value.as_ref()), "7");

        let log = r.log_records().next().expect("log record");
        assert_eq!(any_value(log.body.as_ref()), "inside child");
        assert_eq!(
            log.trace_id, child.trace_id,
            "log carries the span's trace id"
        );
        assert_eq!(log.span_id, child.span_id, "log carries the span's id");
        assert_eq!(log.severity_text, "INFO");
        // A plain `tracing` event is a log record with no event name (logs/data-model.md,
        // "Field: EventName": only events carry one) and with the time it happened
        // ("Field: Timestamp"), not the zero time.
        assert_eq!(log.event_name, "", "a plain log record has no EventName");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_nanos() as u64;
        assert!(
            log.time_unix_nano > now - 600_000_000_000 && log.time_unix_nano <= now,
            "Timestamp is the emit time: {}",
            log.time_unix_nano
        );
        assert!(log
            .attributes
            .iter()
            .any(|kv| kv.key == "answer" && any_value(kv.value.as_ref()) == "42"));

        let resource = r.trace_resource();
        let get = |k: &str| {
            resource
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("service.name").as_deref(), Some(service));
        assert_eq!(get("service.version").as_deref(), Some("1.2.3"));
        assert_eq!(get("telemetry.sdk.language").as_deref(), Some("rust"));
        assert!(get("service.instance.id").is_some() && get("process.pid").is_some());

        let sum: i64 = r
            .metrics
            .iter()
            .flat_map(|m| &m.resource_metrics)
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
            .filter(|m| m.name == "jobs.done")
            .filter_map(|m| match &m.data {
                Some(Data::Sum(s)) => s.data_points.last().and_then(|p| match p.value {
                    Some(Value::AsInt(v)) => Some(v),
                    _ => None,
                }),
                _ => None,
            })
            .max()
            .expect("jobs.done sum");
        assert_eq!(sum, 3);

        for (path, ctype, enc, headers) in &r.requests {
            assert!(ctype.contains(content_type), "{path}: content-type {ctype}");
            assert_eq!(enc, encoding, "{path}: content-encoding");
            assert_eq!(
                headers.get("x-api-key").map(|v| v.as_bytes()),
                Some(&b"secret"[..])
            );
        }
        let paths: Vec<&str> = r.requests.iter().map(|(p, ..)| p.as_str()).collect();
        for p in ["/v1/traces", "/v1/metrics", "/v1/logs"] {
            assert!(paths.contains(&p), "no request to {p}: {paths:?}");
        }
    });
}

#[test]
fn http_protobuf_delivers_every_signal() {
    let r = run(Protocol::HttpProtobuf, Compression::None, "http-proto-svc");
    check(&r, "http-proto-svc", "application/x-protobuf", "");
}

#[test]
fn http_json_with_gzip_delivers_every_signal() {
    let r = run(Protocol::HttpJson, Compression::Gzip, "http-json-svc");
    check(&r, "http-json-svc", "application/json", "gzip");
}
