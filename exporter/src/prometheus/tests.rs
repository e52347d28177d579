use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::Resource;

use super::*;

fn provider(reader: &PrometheusReader) -> SdkMeterProvider {
    SdkMeterProvider::builder()
        .with_resource(
            Resource::builder_empty()
                .with_attributes([
                    KeyValue::new("service.name", "shop"),
                    KeyValue::new("service.version", "1.2"),
                ])
                .build(),
        )
        .with_reader(reader.clone())
        .build()
}

#[test]
fn negotiation_picks_the_highest_q_supported() {
    use Format::*;
    assert_eq!(Format::negotiate(None), Text);
    assert_eq!(Format::negotiate(Some("")), Text);
    assert_eq!(Format::negotiate(Some("text/plain")), Text);
    assert_eq!(Format::negotiate(Some("application/json")), Text);
    assert_eq!(
        Format::negotiate(Some("application/openmetrics-text; version=1.0.0")),
        OpenMetrics
    );
    // What Prometheus 2.x sends.
    assert_eq!(
        Format::negotiate(Some(
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        )),
        OpenMetrics
    );
    assert_eq!(
        Format::negotiate(Some(
            "text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5"
        )),
        Text
    );
    assert_eq!(
        Format::negotiate(Some("application/openmetrics-text;version=2.0.0")),
        Text
    );
    assert_eq!(
        Format::negotiate(Some("application/openmetrics-text;q=0")),
        Text
    );
    assert_eq!(
        Format::negotiate(Some("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.9,application/openmetrics-text;q=0.5")),
        OpenMetrics
    );
}

#[test]
fn text_format_names_types_and_labels() {
    let reader = PrometheusReader::new();
    let provider = provider(&reader);
    let meter = provider.meter_with_scope(
        InstrumentationScope::builder("beacon")
            .with_version("0.1.0")
            .build(),
    );
    meter
        .u64_counter("function.calls")
        .with_unit("{call}")
        .with_description("Calls of instrumented functions")
        .build()
        .add(
            2,
            &[
                KeyValue::new("function", "charge"),
                KeyValue::new("result", "ok"),
            ],
        );
    meter
        .i64_up_down_counter("http.server.active_requests")
        .with_unit("{request}")
        .build()
        .add(3, &[KeyValue::new("http.request.method", "GET")]);
    meter
        .f64_gauge("process.cpu.utilization")
        .with_unit("1")
        .build()
        .record(0.25, &[]);
    meter
        .f64_histogram("http.server.request.duration")
        .with_unit("s")
        .with_description("Duration of HTTP server requests.")
        .with_boundaries(vec![0.1, 1.0])
        .build()
        .record(0.5, &[KeyValue::new("http.route", "/users/{id}")]);

    let body = reader.render(Format::Text).expect("renders");
    let expected = [
        "# HELP target_info Target metadata\n# TYPE target_info gauge\n",
        "target_info{service_name=\"shop\",service_version=\"1.2\"} 1\n",
        "# HELP function_calls_total Calls of instrumented functions\n# TYPE function_calls_total counter\n",
        "function_calls_total{function=\"charge\",result=\"ok\",otel_scope_name=\"beacon\",otel_scope_version=\"0.1.0\"} 2\n",
        // No description: the instrument's name stands in, so promtool finds help text.
        "# HELP http_server_active_requests http.server.active_requests\n# TYPE http_server_active_requests gauge\n",
        "http_server_active_requests{http_request_method=\"GET\",otel_scope_name=\"beacon\",otel_scope_version=\"0.1.0\"} 3\n",
        "# TYPE process_cpu_utilization_ratio gauge\n",
        "process_cpu_utilization_ratio{otel_scope_name=\"beacon\",otel_scope_version=\"0.1.0\"} 0.25\n",
        "# TYPE http_server_request_duration_seconds histogram\n",
        "http_server_request_duration_seconds_bucket{http_route=\"/users/{id}\",otel_scope_name=\"beacon\",otel_scope_version=\"0.1.0\",le=\"0.1\"} 0\n",
        "http_server_request_duration_seconds_bucket{http_route=\"/users/{id}\",otel_scope_name=\"beacon\",otel_scope_version=\"0.1.0\",le=\"1.0\"} 1\n",
        "http_server_request_duration_seconds_bucket{http_route=\"/users/{id}\",otel_scope_name=\"beacon\",otel_scope_version=\"0.1.0\",le=\"+Inf\"} 1\n",
        "http_server_request_duration_seconds_sum{http_route=\"/users/{id}\",otel_scope_name=\"beacon\",otel_scope_version=\"0.1.0\"} 0.5\n",
        "http_server_request_duration_seconds_count{http_route=\"/users/{id}\",otel_scope_name=\"beacon\",otel_scope_version=\"0.1.0\"} 1\n",
    ];
    for line in expected {
        assert!(body.contains(line), "missing\n{line}in\n{body}");
    }
    assert!(!body.contains("# EOF"));
    assert!(!body.contains("# UNIT"));
}

#[test]
fn openmetrics_has_units_eof_and_counter_family_names() {
    let reader = PrometheusReader::new();
    let provider = provider(&reader);
    let meter = provider.meter("m");
    meter
        .f64_counter("process.cpu.time")
        .with_unit("s")
        .with_description("CPU \"time\"\nspent")
        .build()
        .add(1.5, &[KeyValue::new("cpu.mode", "user")]);
    let body = reader.render(Format::OpenMetrics).expect("renders");
    assert!(body.starts_with("# TYPE target info\n# HELP target Target metadata\ntarget_info{"));
    assert!(
        body.contains(
            "# HELP process_cpu_time_seconds CPU \\\"time\\\"\\nspent\n# TYPE process_cpu_time_seconds counter\n# UNIT process_cpu_time_seconds seconds\nprocess_cpu_time_seconds_total{cpu_mode=\"user\",otel_scope_name=\"m\"} 1.5\n"
        ),
        "{body}"
    );
    assert!(body.ends_with("# EOF\n"));
}

#[test]
fn label_values_are_escaped_and_colliding_keys_joined() {
    let reader = PrometheusReader::new();
    let provider = provider(&reader);
    let meter = provider.meter("m");
    meter.u64_counter("hits").build().add(
        1,
        &[
            KeyValue::new("a.b", "dot"),
            KeyValue::new("a_b", "under"),
            KeyValue::new("quote", "say \"hi\"\\\n"),
            KeyValue::new("otel_scope_name", "spoof"),
            KeyValue::new("flag", true),
            KeyValue::new("n", 7),
        ],
    );
    let body = reader.render(Format::Text).expect("renders");
    assert!(
        body.contains(
            "hits_total{a_b=\"dot;under\",flag=\"true\",n=\"7\",quote=\"say \\\"hi\\\"\\\\\\n\",otel_scope_name=\"m\"} 1\n"
        ),
        "{body}"
    );
}

#[test]
fn a_name_taken_by_another_type_is_left_out_not_mixed_in() {
    // Scopes are encoded in name order, so "a" claims the name whatever order the SDK keeps.
    let reader = PrometheusReader::new();
    let provider = provider(&reader);
    provider.meter("a").u64_counter("jobs").build().add(1, &[]);
    provider
        .meter("b")
        .i64_gauge("jobs_total")
        .build()
        .record(5, &[]);
    provider.meter("c").u64_counter("jobs").build().add(2, &[]);
    let body = reader.render(Format::Text).expect("renders");
    assert_eq!(body.matches("# TYPE jobs_total").count(), 1, "{body}");
    assert!(body.contains("jobs_total{otel_scope_name=\"a\"} 1\n"));
    assert!(body.contains("jobs_total{otel_scope_name=\"c\"} 2\n"));
    assert!(!body.contains("} 5\n"), "{body}");
}

#[test]
fn exemplars_appear_in_openmetrics_only() {
    let reader = PrometheusReader::new().with_exemplar_filter(ExemplarFilter::TraceBased);
    let provider = provider(&reader);
    let bounds = vec![0.1, 1.0];
    let histogram = provider
        .meter("m")
        .f64_histogram("test.prom.exemplar.duration")
        .with_unit("s")
        .with_boundaries(bounds.clone())
        .build();
    let reservoir = exemplars().histogram("test.prom.exemplar.duration", &bounds);
    let span = SpanContext::new(
        TraceId::from(0x0af7651916cd43dd8448eb211c80319c_u128),
        SpanId::from(0xb7ad6b7169203331_u64),
        TraceFlags::SAMPLED,
        false,
        TraceState::default(),
    );
    let attrs = [KeyValue::new("http.route", "/x")];
    histogram.record(0.5, &attrs);
    reservoir.offer(0.5, &attrs, &span);

    let om = reader.render(Format::OpenMetrics).expect("renders");
    let line = om
        .lines()
        .find(|l| l.contains("le=\"1.0\""))
        .expect("bucket line");
    assert!(
        line.starts_with(
            "test_prom_exemplar_duration_seconds_bucket{http_route=\"/x\",otel_scope_name=\"m\",le=\"1.0\"} 1 # {trace_id=\"0af7651916cd43dd8448eb211c80319c\",span_id=\"b7ad6b7169203331\"} 0.5 "
        ),
        "{line}"
    );
    let other = om.lines().find(|l| l.contains("le=\"0.1\"")).expect("line");
    assert!(!other.contains('#'), "{other}");
    let text = reader.render(Format::Text).expect("renders");
    assert!(!text.contains("trace_id"), "{text}");
}

#[test]
fn a_reader_without_a_provider_says_so() {
    let reader = PrometheusReader::new();
    let err = reader.render(Format::Text).expect_err("not registered");
    assert!(err.to_string().contains("with_reader"), "{err}");
}

/// `specification/compatibility/prometheus_and_openmetrics.md`, "OTLP Metric points to
/// Prometheus" / "Metric Metadata": "The Name of an OTLP metric MUST be added as the Prometheus
/// Metric Name, with unit and type suffixes added as described below" — the
/// `UnderscoreEscapingWithSuffixes` translation, which the spec (and the configuration schema's
/// `translation_strategy`) makes the default. `Naming::Prometheus`, the promtool-clean naming,
/// is the option.
#[test]
fn gauges_of_things_keep_the_spec_names_unless_prometheus_naming_is_asked_for() {
    let reader = PrometheusReader::new();
    assert_eq!(reader.naming(), Naming::Compatibility);
    let provider = provider(&reader);
    let meter = provider.meter("beacon");
    let threads = meter
        .i64_up_down_counter("process.thread.count")
        .with_unit("{thread}")
        .build();
    threads.add(7, &[]);
    let text = reader.render(Format::Text).expect("scrape");
    assert!(
        text.contains("# TYPE process_thread_count gauge\n"),
        "{text}"
    );
    assert!(
        text.contains("\nprocess_thread_count{otel_scope_name=\"beacon\"} 7\n"),
        "{text}"
    );
    assert!(!text.contains("process_threads"), "{text}");

    // Clones share the naming: the one serving scrapes sees the change.
    let _ = reader.clone().with_naming(Naming::Prometheus);
    assert_eq!(reader.naming(), Naming::Prometheus);
    let text = reader.render(Format::Text).expect("scrape");
    assert!(text.contains("# TYPE process_threads gauge\n"), "{text}");
    assert!(!text.contains("process_thread_count"), "{text}");
}

/// `specification/compatibility/prometheus_and_openmetrics.md`, "OTLP Metric points to
/// Prometheus" / "Instrumentation Scope": "Prometheus exporters MUST add the scope name as the
/// `otel_scope_name` label and the scope version as the `otel_scope_version` label on all
/// metric points by default" and "Scope attributes MUST also be added as labels following the
/// rules described in the `Metric Attributes` section" — here as `otel_scope_<key>`, as the
/// Collector's and the Go SDK's exporters name them.
#[test]
fn scope_attributes_become_otel_scope_labels() {
    let reader = PrometheusReader::new();
    let provider = provider(&reader);
    let meter = provider.meter_with_scope(
        InstrumentationScope::builder("lib")
            .with_version("2.0")
            .with_attributes([
                KeyValue::new("team", "payments"),
                KeyValue::new("tier.level", 1),
                // Would repeat the scope's own label: the scope name wins.
                KeyValue::new("name", "spoof"),
            ])
            .build(),
    );
    meter
        .u64_counter("jobs")
        .build()
        .add(1, &[KeyValue::new("otel_scope_team", "attr")]);
    let body = reader.render(Format::Text).expect("renders");
    assert!(
        body.contains(
            "jobs_total{otel_scope_name=\"lib\",otel_scope_version=\"2.0\",otel_scope_team=\"payments\",otel_scope_tier_level=\"1\"} 1\n"
        ),
        "{body}"
    );
}

/// `specification/compatibility/prometheus_and_openmetrics.md`, "Metric Attributes":
/// "Multiple consecutive `_` characters MUST be replaced with a single `_` character. ... if
/// multiple key-value pairs are converted to have the same Prometheus key, the values MUST be
/// concatenated together, separated by `;`, and ordered by the lexicographical order of the
/// original keys."
#[test]
fn keys_that_collapse_to_one_label_are_joined_in_key_order() {
    let reader = PrometheusReader::new();
    let provider = provider(&reader);
    provider.meter("m").u64_counter("hits").build().add(
        1,
        &[
            KeyValue::new("a_b", "under"),
            KeyValue::new("a..b", "dots"),
            KeyValue::new("a-b", "dash"),
        ],
    );
    let body = reader.render(Format::Text).expect("renders");
    // Key order: "a-b" < "a..b" < "a_b".
    assert!(
        body.contains("hits_total{a_b=\"dash;dots;under\",otel_scope_name=\"m\"} 1\n"),
        "{body}"
    );
}

/// `specification/compatibility/prometheus_and_openmetrics.md`, "Sums": "Monotonic Sum metric
/// points with `StartTimeUnixNano` should export the `{name}_created` metric as well", and
/// "Histograms": "Histograms with `StartTimeUnixNano` set should export the `{name}_created`
/// metric as well." OpenMetrics has `_created`; the text format 0.0.4 does not.
#[test]
fn openmetrics_counters_and_histograms_carry_created() {
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    let reader = PrometheusReader::new();
    let provider = provider(&reader);
    let meter = provider.meter("m");
    meter.u64_counter("orders").build().add(2, &[]);
    meter
        .f64_histogram("wait")
        .with_unit("s")
        .with_boundaries(vec![1.0])
        .build()
        .record(0.5, &[]);
    meter.i64_up_down_counter("queue.depth").build().add(3, &[]);
    let om = reader.render(Format::OpenMetrics).expect("renders");
    let created = |prefix: &str| -> f64 {
        om.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{om}"))
            .parse()
            .expect("a number of seconds")
    };
    for prefix in [
        "orders_created{otel_scope_name=\"m\"} ",
        "wait_seconds_created{otel_scope_name=\"m\"} ",
    ] {
        let t = created(prefix);
        assert!(t >= before - 1.0 && t <= before + 60.0, "{prefix}{t}");
    }
    // The counter's `_created` follows its `_total`, inside its family.
    let total = om.find("orders_total{").expect("total");
    let made = om.find("orders_created{").expect("created");
    assert!(made > total, "{om}");
    assert!(
        !om.contains("queue_depth_created"),
        "gauges have none:\n{om}"
    );
    let text = reader.render(Format::Text).expect("renders");
    assert!(!text.contains("_created"), "{text}");
}
