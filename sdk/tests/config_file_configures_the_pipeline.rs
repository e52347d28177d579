//! A configuration file (`OTEL_CONFIG_FILE` / `Builder::config_yaml`) builds the pipeline it
//! describes: exports reach a receiver with the file's resource and headers, span limits are
//! enforced, views rename, filter, re-bucket and drop metrics, the temporality preference is
//! honoured, and the sampler decides.

mod support;

use std::time::Duration;

use beacon::otel::api::metrics::MeterProvider as _;
use beacon::otel::api::KeyValue;
use fake_opentelemetry_collector::FakeCollectorServer;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use support::{any_value, HttpReceiver};

fn http_file(endpoint: &str) -> String {
    format!(
        r#"
file_format: "1.1"
resource:
  attributes:
    - name: service.name
      value: ${{SERVICE:-from-file}}
    - name: team
      value: payments
tracer_provider:
  processors:
    - batch:
        schedule_delay: 100
        exporter:
          otlp_http:
            endpoint: {endpoint}/v1/traces
            headers:
              - name: x-api-key
                value: ${{API_KEY}}
  limits:
    attribute_count_limit: 2
meter_provider:
  readers:
    - periodic:
        exporter:
          otlp_http:
            endpoint: {endpoint}/v1/metrics
            headers_list: x-api-key=${{API_KEY}}
            temporality_preference: delta
  views:
    - selector:
        instrument_name: jobs.done
      stream:
        name: jobs.completed
        attribute_keys:
          included: [kind]
    - selector:
        instrument_name: debug.*
      stream:
        aggregation:
          drop:
    - selector:
        instrument_type: histogram
      stream:
        aggregation:
          explicit_bucket_histogram:
            boundaries: [1, 2]
logger_provider:
  processors:
    - simple:
        exporter:
          otlp_http:
            endpoint: {endpoint}/v1/logs
"#
    )
}

#[test]
fn a_file_configures_exports_resource_headers_limits_and_views() {
    let receiver = HttpReceiver::start();
    let env = |name: &str| match name {
        "API_KEY" => Some("s3cret".to_owned()),
        "SERVICE" => Some("checkout".to_owned()),
        // Ignored: a file replaces the environment.
        "OTEL_SERVICE_NAME" => Some("from-env".to_owned()),
        "OTEL_TRACES_SAMPLER" => Some("always_off".to_owned()),
        _ => None,
    };
    let telemetry = beacon::builder()
        .env_source(env)
        .config_yaml(http_file(&receiver.endpoint()))
        .build()
        .expect("pipeline builds from the file");
    let meter = telemetry.meter_provider().meter("test");
    let jobs = meter.u64_counter("jobs.done").build();
    let noise = meter.u64_counter("debug.noise").build();
    let latency = meter.f64_histogram("work.duration").build();
    tracing::dispatcher::with_default(&telemetry.dispatch(), || {
        let span = tracing::info_span!("work", a = 1_i64, b = 2_i64, c = 3_i64, d = 4_i64);
        let _e = span.enter();
        tracing::info!("inside");
        jobs.add(
            3,
            &[KeyValue::new("kind", "batch"), KeyValue::new("host", "h1")],
        );
        noise.add(1, &[]);
        latency.record(1.5, &[]);
    });
    telemetry.shutdown().expect("clean shutdown");
    let arrived = receiver.wait_for(Duration::from_secs(10), |r| {
        r.spans().count() == 1
            && r.log_records().count() == 1
            && r.metric_names().contains(&"jobs.completed".to_owned())
    });
    assert!(arrived, "not everything arrived");
    receiver.with(|r| {
        let resource = r.trace_resource();
        assert!(resource.contains(&("service.name".to_owned(), "checkout".to_owned())));
        assert!(resource.contains(&("team".to_owned(), "payments".to_owned())));
        // Headers are per exporter: the logs exporter was given none.
        for (path, _, _, headers) in &r.requests {
            let want = (path != "/v1/logs").then_some("s3cret");
            assert_eq!(
                headers.get("x-api-key").and_then(|v| v.to_str().ok()),
                want,
                "{path}"
            );
        }
        let span = r.spans().next().expect("a span");
        assert!(span.attributes.len() <= 2, "{:?}", span.attributes);
        assert!(span.dropped_attributes_count >= 2);

        let names = r.metric_names();
        assert!(!names.contains(&"jobs.done".to_owned()), "{names:?}");
        assert!(!names.contains(&"debug.noise".to_owned()), "{names:?}");
        let metrics: Vec<_> = r
            .metrics
            .iter()
            .flat_map(|m| &m.resource_metrics)
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
            .collect();
        let completed = metrics
            .iter()
            .find(|m| m.name == "jobs.completed")
            .expect("renamed");
        let Some(Data::Sum(sum)) = &completed.data else {
            panic!("a sum: {completed:?}")
        };
        assert_eq!(sum.aggregation_temporality, 1, "delta, as preferred");
        let point = sum.data_points.first().expect("a point");
        let keys: Vec<_> = point.attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, ["kind"]);
        assert_eq!(any_value(point.attributes[0].value.as_ref()), "batch");
        let histogram = metrics
            .iter()
            .find(|m| m.name == "work.duration")
            .expect("histogram");
        let Some(Data::Histogram(h)) = &histogram.data else {
            panic!("a histogram: {histogram:?}")
        };
        assert_eq!(h.data_points[0].explicit_bounds, vec![1.0, 2.0]);
        assert_eq!(h.data_points[0].bucket_counts, vec![0, 1, 0]);
    });
}

fn grpc_file(endpoint: &str, root: &str) -> String {
    format!(
        r#"
file_format: "1.0"
resource:
  attributes:
    - name: service.name
      value: grpc-from-file
tracer_provider:
  processors:
    - batch:
        exporter:
          otlp_grpc:
            endpoint: {endpoint}
  sampler:
    parent_based:
      root:
        {root}:
meter_provider:
  readers:
    - periodic:
        exporter:
          otlp_grpc:
            endpoint: {endpoint}
logger_provider:
  processors:
    - batch:
        exporter:
          otlp_grpc:
            endpoint: {endpoint}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_configures_grpc_and_the_sampler_decides() {
    let mut collector = FakeCollectorServer::start()
        .await
        .expect("collector starts");
    for (root, expected) in [("always_off", 0), ("always_on", 1)] {
        let telemetry = beacon::builder()
            .env_source(|_| None)
            .config_yaml(grpc_file(&collector.endpoint(), root))
            .build()
            .expect("pipeline builds");
        let counter = telemetry
            .meter_provider()
            .meter("test")
            .u64_counter("grpc.file.count")
            .build();
        tracing::dispatcher::with_default(&telemetry.dispatch(), || {
            let span = tracing::info_span!("root-span");
            let _e = span.enter();
            tracing::warn!("a log");
            counter.add(1, &[]);
        });
        let stats = tokio::task::block_in_place(|| telemetry.shutdown()).expect("clean shutdown");
        assert_eq!(stats.traces.exported, expected, "root sampler {root}");
    }
    let spans = collector.exported_spans(1, Duration::from_secs(10)).await;
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].name, "root-span");
    let logs = collector.exported_logs(2, Duration::from_secs(10)).await;
    assert_eq!(logs.len(), 2, "logs are not sampled");
    let metrics = collector.exported_metrics(1, Duration::from_secs(10)).await;
    assert!(metrics
        .iter()
        .flat_map(|m| &m.metrics)
        .any(|m| m.name == "grpc.file.count"));
}

#[test]
fn otel_config_file_names_the_file_in_errors() {
    let dir = std::env::temp_dir().join(format!("beacon-config-err-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bad.yaml");
    std::fs::write(
        &path,
        "file_format: \"1.1\"\ntracer_provider:\n  processors:\n    - batch:\n        exporter:\n          otlp_http:\n            compression: brotli\n",
    )
    .expect("write");
    let p = path.to_string_lossy().into_owned();
    let err = beacon::builder()
        .env_source(move |k| (k == "OTEL_CONFIG_FILE").then(|| p.clone()))
        .build()
        .expect_err("brotli is not supported");
    let file = err.file_error().expect("a file error");
    assert_eq!(file.file(), Some(path.as_path()));
    assert_eq!((file.line(), file.column()), (Some(7), Some(26)));
    assert_eq!(
        file.field(),
        "tracer_provider.processors[0].batch.exporter.otlp_http.compression"
    );
    let text = err.to_string();
    assert!(text.contains("bad.yaml:7:26"), "{text}");
    assert!(
        text.contains("\"brotli\"") && text.contains("gzip or none"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn default_histogram_aggregation_base2_exports_exponential_histograms() {
    let receiver = HttpReceiver::start();
    let yaml = format!(
        r#"
file_format: "1.1"
meter_provider:
  readers:
    - periodic:
        exporter:
          otlp_http:
            endpoint: {}/v1/metrics
            default_histogram_aggregation: base2_exponential_bucket_histogram
  views:
    - selector:
        instrument_name: explicit.duration
      stream:
        aggregation:
          explicit_bucket_histogram:
            boundaries: [10]
"#,
        receiver.endpoint()
    );
    let telemetry = beacon::builder()
        .env_source(|_| None)
        .config_yaml(yaml)
        .build()
        .expect("pipeline builds");
    let meter = telemetry.meter_provider().meter("test");
    let exp = meter.f64_histogram("exp.duration").build();
    let explicit = meter.f64_histogram("explicit.duration").build();
    exp.record(0.3, &[]);
    exp.record(7.0, &[]);
    explicit.record(3.0, &[]);
    telemetry.shutdown().expect("clean shutdown");
    assert!(receiver.wait_for(Duration::from_secs(10), |r| {
        let names = r.metric_names();
        names.contains(&"exp.duration".to_owned())
            && names.contains(&"explicit.duration".to_owned())
    }));
    receiver.with(|r| {
        let metrics: Vec<_> = r
            .metrics
            .iter()
            .flat_map(|m| &m.resource_metrics)
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
            .collect();
        let exp = metrics
            .iter()
            .find(|m| m.name == "exp.duration")
            .expect("exp");
        let Some(Data::ExponentialHistogram(h)) = &exp.data else {
            panic!("an exponential histogram: {exp:?}")
        };
        assert_eq!(h.data_points[0].count, 2);
        // A view's explicit aggregation wins over the exporter's default.
        let explicit = metrics
            .iter()
            .find(|m| m.name == "explicit.duration")
            .expect("explicit");
        let Some(Data::Histogram(h)) = &explicit.data else {
            panic!("an explicit histogram: {explicit:?}")
        };
        assert_eq!(h.data_points[0].explicit_bounds, vec![10.0]);
    });
}

#[test]
fn a_simple_processor_exports_each_span_as_it_ends() {
    let receiver = HttpReceiver::start();
    let yaml = format!(
        "file_format: \"1.1\"\ntracer_provider:\n  processors:\n    - simple:\n        exporter:\n          otlp_http:\n            endpoint: {}/v1/traces\n",
        receiver.endpoint()
    );
    let telemetry = beacon::builder()
        .env_source(|_| None)
        .config_yaml(yaml)
        .build()
        .expect("pipeline builds");
    tracing::dispatcher::with_default(&telemetry.dispatch(), || {
        let _s = tracing::info_span!("one").entered();
    });
    // Before any flush or shutdown (a batch processor would hold it for its 5 s delay).
    assert!(
        receiver.wait_for(Duration::from_secs(4), |r| r.spans().count() == 1),
        "the span was not exported as it ended"
    );
    telemetry.shutdown().expect("clean shutdown");
}

/// Reads `GET /metrics` from Beacon's own listener.
fn scrape(addr: std::net::SocketAddr) -> String {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("response");
    text
}

#[test]
fn a_pull_reader_serves_prometheus_with_the_views_applied() {
    let yaml = r#"
file_format: "1.1"
resource:
  attributes:
    - name: service.name
      value: scraped
meter_provider:
  readers:
    - pull:
        exporter:
          prometheus/development:
            host: 127.0.0.1
            port: 0
  views:
    - selector:
        instrument_name: orders.placed
      stream:
        name: orders.accepted
"#;
    let telemetry = beacon::builder()
        .env_source(|_| None)
        .config_yaml(yaml)
        .build()
        .expect("pipeline builds");
    telemetry
        .meter_provider()
        .meter("shop")
        .u64_counter("orders.placed")
        .build()
        .add(2, &[KeyValue::new("region", "eu")]);
    let addr = telemetry.prometheus_addr().expect("a listener of its own");
    let text = scrape(addr);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.contains("orders_accepted_total{") && text.contains("region=\"eu\""),
        "{text}"
    );
    assert!(!text.contains("orders_placed"), "{text}");
    assert!(
        text.contains("target_info{") && text.contains("service_name=\"scraped\""),
        "{text}"
    );
    telemetry.shutdown().expect("clean shutdown");
}
