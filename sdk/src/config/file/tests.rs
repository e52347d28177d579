//! Tables: a file in, the resolved configuration (or the error) out.

use std::collections::HashMap;
use std::time::Duration;

use beacon_exporter::otlp::{Compression, Protocol};
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags, TraceId, TraceState,
};
use opentelemetry::Key;
use opentelemetry_sdk::trace::{SamplingDecision, ShouldSample};

use super::{resolve, FileErrorKind};
use crate::config::{Builder, Config, Propagator};

fn build(yaml: &str, env: &[(&str, &str)]) -> Result<Config, crate::config::InitError> {
    let map: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    resolve(
        Builder::default()
            .env_source(move |k| map.get(k).cloned())
            .config_yaml(yaml.to_owned()),
    )
}

fn ok(yaml: &str, env: &[(&str, &str)]) -> Config {
    build(yaml, env).unwrap_or_else(|e| panic!("{yaml}\nshould resolve: {e}"))
}

fn res(c: &Config, key: &'static str) -> Option<String> {
    c.resource
        .get(&Key::from_static_str(key))
        .map(|v| v.to_string())
}

const TRACES_HTTP: &str =
    "tracer_provider:\n  processors:\n    - batch:\n        exporter:\n          otlp_http:\n";

#[test]
fn every_supported_field_is_read() {
    type Check = fn(&Config) -> bool;
    type Row<'a> = (&'a str, &'a [(&'a str, &'a str)], Check);
    let table: &[Row<'_>] = &[
        ("file_format: \"1.0\"\ndisabled: true\n", &[], |c| c.disabled),
        ("file_format: \"1.1\"\n", &[], |c| {
            // No provider sections: nothing is exported (noop providers), no propagator.
            !c.disabled && c.traces.is_empty() && c.metrics.is_empty() && c.logs.is_empty()
                && c.propagators.is_empty()
        }),
        ("file_format: \"1.1\"\ndisabled: ${OFF}\n", &[("OFF", "true")], |c| c.disabled),
        (
            "file_format: \"1.1\"\nresource:\n  attributes:\n    - name: service.name\n      value: shop\n    - name: replicas\n      value: 3\n    - name: ratio\n      value: 2\n      type: double\n    - name: tags\n      value: [a, b]\n  attributes_list: team=a%2Cb,service.name=loses\n",
            &[],
            |c| res(c, "service.name").as_deref() == Some("shop")
                && res(c, "replicas").as_deref() == Some("3")
                && res(c, "ratio").as_deref() == Some("2")
                && res(c, "team").as_deref() == Some("a,b")
                && res(c, "tags").is_some_and(|t| t.contains('a') && t.contains('b')),
        ),
        (
            "file_format: \"1.1\"\nresource:\n  detection/development:\n    detectors:\n      - service:\n      - process:\n      - host:\n    attributes:\n      excluded: [host.*]\n",
            &[],
            |c| res(c, "service.instance.id").is_some() && res(c, "process.pid").is_some()
                && res(c, "host.name").is_none() && res(c, "os.type").is_some(),
        ),
        ("file_format: \"1.1\"\n", &[], |c| {
            // Without detectors, only the SDK's own attributes and the default service name.
            res(c, "process.pid").is_none()
                && res(c, "service.name").is_some_and(|s| s.starts_with("unknown_service"))
                && res(c, "telemetry.sdk.language").as_deref() == Some("rust")
        }),
        (
            "file_format: \"1.1\"\npropagator:\n  composite:\n    - tracecontext:\n    - baggage:\n  composite_list: b3,b3multi,jaeger,tracecontext\n",
            &[],
            |c| c.propagators == vec![Propagator::TraceContext, Propagator::Baggage, Propagator::B3, Propagator::B3Multi, Propagator::Jaeger],
        ),
        (
            "file_format: \"1.1\"\ntracer_provider:\n  processors:\n    - batch:\n        schedule_delay: 100\n        export_timeout: 200\n        max_queue_size: 10\n        max_export_batch_size: 5\n        exporter:\n          otlp_grpc:\n            endpoint: http://collector:4317\n            headers:\n              - name: api-key\n                value: secret\n              - name: dropped\n                value:\n            headers_list: api-key=loses,team=ops\n            compression: gzip\n            timeout: 1500\n    - batch:\n        schedule_delay: 100\n        export_timeout: 200\n        max_queue_size: 10\n        max_export_batch_size: 5\n        exporter:\n          console:\n",
            &[],
            |c| {
                let o = c.traces.otlp.as_ref().expect("otlp");
                o.protocol == Protocol::Grpc
                    && o.endpoint == "http://collector:4317/"
                    && o.headers["api-key"] == "secret"
                    && o.headers["team"] == "ops"
                    && !o.headers.contains_key("dropped")
                    && o.compression == Compression::Gzip
                    && o.timeout == Duration::from_millis(1500)
                    && c.traces.console
                    && c.span_batch.scheduled_delay == Duration::from_millis(100)
                    && c.span_batch.export_timeout == Duration::from_millis(200)
                    && c.span_batch.max_queue_size == 10
                    && c.span_batch.max_export_batch_size == 5
            },
        ),
        (&format!("file_format: \"1.1\"\n{TRACES_HTTP}"), &[], |c| {
            let o = c.traces.otlp.as_ref().expect("otlp");
            // The schema's default: the signal path is part of the endpoint.
            o.protocol == Protocol::HttpProtobuf
                && o.endpoint == "http://localhost:4318/v1/traces"
                && o.timeout == Duration::from_secs(10)
        }),
        (
            "file_format: \"1.1\"\nlogger_provider:\n  processors:\n    - simple:\n        exporter:\n          otlp_http:\n            endpoint: http://x:4318/custom/logs\n            encoding: json\n  limits:\n    attribute_count_limit: 7\n    attribute_value_length_limit: 9\n",
            &[],
            |c| {
                let o = c.logs.otlp.as_ref().expect("otlp");
                o.protocol == Protocol::HttpJson
                    && o.endpoint == "http://x:4318/custom/logs"
                    && c.log_batch.max_export_batch_size == 1
                    && c.limits.log_attributes == 7
                    && c.limits.log_attribute_value_length == Some(9)
            },
        ),
        (
            &format!("file_format: \"1.1\"\nattribute_limits:\n  attribute_count_limit: 11\n  attribute_value_length_limit: 12\n{TRACES_HTTP}  limits:\n    event_count_limit: 3\n    link_count_limit: 4\n    event_attribute_count_limit: 5\n    link_attribute_count_limit: 6\n"),
            &[],
            |c| c.limits.span_attributes == 11
                && c.limits.attribute_value_length == Some(12)
                && c.limits.span_events == 3
                && c.limits.span_links == 4
                && c.limits.event_attributes == 5
                && c.limits.link_attributes == 6,
        ),
        (
            "file_format: \"1.1\"\nmeter_provider:\n  readers:\n    - periodic:\n        interval: 1000\n        timeout: 500\n        exporter:\n          otlp_http:\n            temporality_preference: delta\n    - pull:\n        exporter:\n          prometheus/development:\n            host: 0.0.0.0\n            port: ${PORT}\n  exemplar_filter: always_off\n",
            &[("PORT", "9999")],
            |c| {
                c.metric_interval == Duration::from_secs(1)
                    && c.metric_timeout == Duration::from_millis(500)
                    && c.metrics.otlp.as_ref().is_some_and(|o| o.endpoint == "http://localhost:4318/v1/metrics")
                    && c.otlp_temporality == crate::config::Temporality::Delta
                    && c.metrics.prometheus.as_ref().is_some_and(|p| p.listen == Some(("0.0.0.0".to_owned(), 9999)))
                    && c.exemplar_filter == beacon_exporter::exemplars::ExemplarFilter::AlwaysOff
            },
        ),
        (
            "file_format: \"1.1\"\ninstrumentation/development:\n  general:\n    anything: goes\n  java:\n    other: lang\n  rust:\n    beacon:\n      filter: warn,app=debug\n      console_logs: true\n      shutdown_timeout: 2500\n      self_telemetry: false\n",
            &[],
            |c| c.filter == "warn,app=debug" && c.console_logs
                && c.shutdown_timeout == Duration::from_millis(2500) && !c.self_telemetry,
        ),
        ("file_format: \"1.1\"\nlog_level: debug\n", &[], |c| c.filter.ends_with(",beacon=debug,beacon_exporter=debug")),
        (
            "file_format: \"1.1\"\ninstrumentation/development:\n  rust:\n    beacon:\n      tail_sampling:\n        ratio: 0.5\n        latency_threshold: 250\n        keep_attributes:\n          - name: tenant\n            value: vip\n        max_traces: 64\n        max_spans: 640\n        decision_wait: 1000\n",
            &[],
            |c| c.tail_sampling.as_ref().is_some_and(|t| {
                let d = format!("{t:?}");
                d.contains("ratio: 0.5") && d.contains("250ms") && d.contains("rules: 1")
                    && d.contains("max_traces: 64") && d.contains("max_spans: 640") && d.contains("decision_wait: 1s")
            }),
        ),
        // Unknown top-level keys are allowed by the schema (`additionalProperties: true`).
        ("file_format: \"1.1\"\nx-custom: 1\n", &[], |c| !c.disabled),
    ];
    for (yaml, env, check) in table {
        let c = ok(yaml, env);
        assert!(check(&c), "check failed for\n{yaml}");
    }
}

/// When a file is used, the other OTEL_* variables are ignored except through substitution.
#[test]
fn other_variables_are_ignored() {
    let c = ok(
        "file_format: \"1.1\"\nresource:\n  attributes:\n    - name: service.name\n      value: ${OTEL_SERVICE_NAME:-from-file}\n",
        &[
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_TRACES_SAMPLER", "nonsense"),
            ("OTEL_RESOURCE_ATTRIBUTES", "team=env"),
            ("OTEL_SERVICE_NAME", "substituted"),
        ],
    );
    assert!(!c.disabled);
    assert_eq!(res(&c, "team"), None);
    assert_eq!(res(&c, "service.name").as_deref(), Some("substituted"));
}

#[test]
fn otel_config_file_selects_a_file() {
    let dir = std::env::temp_dir().join(format!("beacon-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("otel.yaml");
    std::fs::write(&path, "file_format: \"1.1\"\ndisabled: true\n").expect("write");
    let p = path.to_string_lossy().into_owned();
    let c = resolve(
        Builder::default().env_source(move |k| (k == "OTEL_CONFIG_FILE").then(|| p.clone())),
    )
    .expect("resolves");
    assert!(c.disabled);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    // The data model requires .yaml or .yml: another name is read, with a warning.
    let other = dir.join("otel.conf");
    std::fs::write(&other, "file_format: \"1.1\"\n").expect("write");
    let c = resolve(Builder::default().env_source(|_| None).config_file(&other)).expect("resolves");
    assert!(
        c.warnings.iter().any(|w| w.contains(".yaml or .yml")),
        "{:?}",
        c.warnings
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `(file, field path, line, what the error must say)`.
#[test]
fn errors_name_the_place_the_value_and_what_is_accepted() {
    type Row<'a> = (&'a str, &'a str, usize, fn(&FileErrorKind) -> bool);
    let table: &[Row<'_>] = &[
        ("file_format: \"2.0\"\n", "file_format", 1, |k| matches!(k, FileErrorKind::FileFormat { value } if value == "2.0")),
        ("disabled: true\n", "", 1, |k| matches!(k, FileErrorKind::MissingField { field } if field == "file_format")),
        ("file_format: \"1.1\"\ndisabled: maybe\n", "disabled", 2, |k| matches!(k, FileErrorKind::InvalidValue { value, .. } if value == "maybe")),
        (
            "file_format: \"1.1\"\ntracer_provider:\n  processors:\n    - batch:\n        exporter:\n          otlp_http:\n            endpoint: nonsense\n",
            "tracer_provider.processors[0].batch.exporter.otlp_http.endpoint", 7,
            |k| matches!(k, FileErrorKind::InvalidValue { value, expected } if value == "nonsense" && expected.contains("http://")),
        ),
        (
            "file_format: \"1.1\"\ntracer_provider:\n  processors:\n    - batch:\n        exporter:\n          zipkin:\n",
            "tracer_provider.processors[0].batch.exporter.zipkin", 6,
            |k| matches!(k, FileErrorKind::UnsupportedComponent { name, expected } if name == "zipkin" && expected.contains("otlp_grpc")),
        ),
        (
            "file_format: \"1.1\"\ntracer_provider:\n  processors:\n    - batch:\n        exporter:\n          otlp_file/development:\n",
            "tracer_provider.processors[0].batch.exporter.otlp_file/development", 6,
            |k| matches!(k, FileErrorKind::UnsupportedComponent { expected, .. } if expected.contains("the schema defines")),
        ),
        (
            "file_format: \"1.1\"\ntracer_provider:\n  processors:\n    - batch:\n        exporter:\n          otlp_http:\n            endpont: http://x\n",
            "tracer_provider.processors[0].batch.exporter.otlp_http.endpont", 7,
            |k| matches!(k, FileErrorKind::UnknownField { field, expected } if field == "endpont" && expected.contains("endpoint")),
        ),
        (
            "file_format: \"1.1\"\ntracer_provider:\n  processors:\n    - batch:\n        max_queue_size: 0\n        exporter:\n          console:\n",
            "tracer_provider.processors[0].batch.max_queue_size", 5,
            |k| matches!(k, FileErrorKind::InvalidValue { value, .. } if value == "0"),
        ),
        (
            "file_format: \"1.1\"\ntracer_provider:\n  processors: []\n  sampler:\n    parent_based:\n      local_parent_sampled:\n        trace_id_ratio_based:\n          ratio: 2\n",
            "tracer_provider.sampler.parent_based.local_parent_sampled.trace_id_ratio_based.ratio", 8,
            |k| matches!(k, FileErrorKind::InvalidValue { value, .. } if value == "2"),
        ),
        (
            "file_format: \"1.1\"\nmeter_provider:\n  readers:\n    - periodic:\n        exporter:\n          console:\n            temporality_preference: delta\n",
            "meter_provider.readers[0].periodic.exporter.console.temporality_preference", 7,
            |k| matches!(k, FileErrorKind::Unsupported { .. }),
        ),
        (
            "file_format: \"1.1\"\nmeter_provider:\n  readers:\n    - periodic:\n        exporter:\n          otlp_grpc:\n            temporality_preference: sometimes\n",
            "meter_provider.readers[0].periodic.exporter.otlp_grpc.temporality_preference", 7,
            |k| matches!(k, FileErrorKind::UnsupportedComponent { name, .. } if name == "sometimes"),
        ),
        (
            "file_format: \"1.1\"\nmeter_provider:\n  readers:\n    - periodic:\n        exporter:\n          console:\n  views:\n    - selector:\n        instrument_name: a\n      stream:\n        attribute_keys:\n          excluded: [x]\n",
            "meter_provider.views[0].stream.attribute_keys.excluded", 12,
            |k| matches!(k, FileErrorKind::Unsupported { .. }),
        ),
        (
            "file_format: \"1.1\"\nresource:\n  attributes:\n    - name: x\n      value: ${1BAD}\n",
            "resource.attributes[0].value", 5,
            |k| matches!(k, FileErrorKind::Substitution { reference } if reference == "${1BAD}"),
        ),
        (
            "file_format: \"1.1\"\nsampler: [unclosed\n",
            "", 3,
            |k| matches!(k, FileErrorKind::Yaml(_)),
        ),
        (
            "file_format: \"1.1\"\ntracer_provider:\n  processors:\n    - batch:\n        exporter:\n          console:\n          otlp_http:\n",
            "tracer_provider.processors[0].batch.exporter", 6,
            |k| matches!(k, FileErrorKind::InvalidValue { expected, .. } if expected.contains("exactly one key")),
        ),
        (
            "file_format: \"1.1\"\nresource:\n  attributes:\n    - name: x\n      value: {a: 1}\n",
            "resource.attributes[0].value", 5,
            |k| matches!(k, FileErrorKind::InvalidValue { expected, .. } if expected.contains("non-empty array")),
        ),
        (
            "file_format: \"1.1\"\nresource:\n  attributes:\n    - name: x\n      value: [a, 1]\n",
            "resource.attributes[0].value", 5,
            |k| matches!(k, FileErrorKind::InvalidValue { .. }),
        ),
        (
            "file_format: \"1.1\"\ntracer_provider:\n  processors: []\n  tracer_configurator/development:\n    default_config:\n      enabled: false\n",
            "tracer_provider.tracer_configurator/development", 4,
            |k| matches!(k, FileErrorKind::Unsupported { why } if why.contains("defined by the schema")),
        ),
        (
            "file_format: \"1.1\"\nmeter_provider:\n  readers:\n    - periodic:\n        max_export_batch_size/development: 10\n        exporter:\n          console:\n",
            "meter_provider.readers[0].periodic.max_export_batch_size/development", 5,
            |k| matches!(k, FileErrorKind::Unsupported { .. }),
        ),
        (
            "file_format: \"1.1\"\ntracer_provider:\n  processors:\n    - batch:\n        exporter:\n          otlp_http:\n            tls:\n              insecure: true\n",
            "tracer_provider.processors[0].batch.exporter.otlp_http.tls.insecure", 8,
            |k| matches!(k, FileErrorKind::UnknownField { field, .. } if field == "insecure"),
        ),
        (
            "file_format: \"1.1\"\nattribute_limits:\n  attribute_count_limit: -1\n",
            "attribute_limits.attribute_count_limit", 3,
            |k| matches!(k, FileErrorKind::InvalidValue { value, .. } if value == "-1"),
        ),
    ];
    for (yaml, field, line, check) in table {
        let err = build(yaml, &[])
            .err()
            .unwrap_or_else(|| panic!("{yaml}\nshould fail"));
        let f = err
            .file_error()
            .unwrap_or_else(|| panic!("{yaml}\nnot a file error: {err}"));
        assert_eq!(f.field(), *field, "{yaml}\n{err}");
        assert_eq!(f.line(), Some(*line), "{yaml}\n{err}");
        assert!(check(f.kind()), "{yaml}\n{err}");
        assert!(err.to_string().contains("configuration file"), "{err}");
    }
}

fn decide(s: &dyn ShouldSample, parent: Option<(bool, bool)>) -> SamplingDecision {
    let cx = match parent {
        None => opentelemetry::Context::new(),
        Some((remote, sampled)) => {
            let flags = if sampled {
                TraceFlags::SAMPLED
            } else {
                TraceFlags::default()
            };
            let sc = SpanContext::new(
                TraceId::from(7u128),
                SpanId::from(9u64),
                flags,
                remote,
                TraceState::default(),
            );
            opentelemetry::Context::new().with_remote_span_context(sc)
        }
    };
    s.should_sample(
        Some(&cx),
        TraceId::from(u128::MAX),
        "s",
        &SpanKind::Internal,
        &[],
        &[],
    )
    .decision
}

/// `parent_based` with all five branches, each set to the opposite of its default.
#[test]
fn parent_based_honours_every_branch() {
    let yaml = "file_format: \"1.1\"\ntracer_provider:\n  processors: []\n  sampler:\n    parent_based:\n      root:\n        always_off:\n      remote_parent_sampled:\n        always_off:\n      remote_parent_not_sampled:\n        always_on:\n      local_parent_sampled:\n        always_off:\n      local_parent_not_sampled:\n        always_on:\n";
    let c = ok(yaml, &[]);
    let s = c.file.sampler.as_ref().expect("sampler");
    use SamplingDecision::{Drop, RecordAndSample};
    assert_eq!(decide(s, None), Drop);
    assert_eq!(decide(s, Some((true, true))), Drop);
    assert_eq!(decide(s, Some((true, false))), RecordAndSample);
    // A local parent: the context carries a span that is not remote.
    let local = |sampled: bool| {
        let flags = if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        let sc = SpanContext::new(
            TraceId::from(7u128),
            SpanId::from(9u64),
            flags,
            false,
            TraceState::default(),
        );
        let cx = opentelemetry::Context::new().with_remote_span_context(sc);
        s.should_sample(
            Some(&cx),
            TraceId::from(1u128),
            "s",
            &SpanKind::Internal,
            &[],
            &[],
        )
        .decision
    };
    assert_eq!(local(true), Drop);
    assert_eq!(local(false), RecordAndSample);

    let ratio = ok("file_format: \"1.1\"\ntracer_provider:\n  processors: []\n  sampler:\n    trace_id_ratio_based:\n      ratio: 0\n", &[]);
    assert_eq!(
        decide(ratio.file.sampler.as_ref().expect("sampler"), None),
        Drop
    );
    let default = ok(
        "file_format: \"1.1\"\ntracer_provider:\n  processors: []\n",
        &[],
    );
    let d = default.file.sampler.as_ref().expect("default sampler");
    assert_eq!(decide(d, None), RecordAndSample);
    assert_eq!(decide(d, Some((true, false))), Drop);
}

fn fixture(name: &str, env: &[(&str, &str)]) -> Config {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name);
    let map: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    resolve(
        Builder::default()
            .env_source(move |k| map.get(k).cloned())
            .config_file(&path),
    )
    .unwrap_or_else(|e| panic!("{name} should load: {e}"))
}

#[test]
fn the_fixtures_load() {
    let c = fixture(
        "otel-getting-started.yaml",
        &[("OTEL_SERVICE_NAME", "starter")],
    );
    assert_eq!(res(&c, "service.name").as_deref(), Some("starter"));
    assert!(res(&c, "host.name").is_some() || res(&c, "os.type").is_some());
    for (dest, path) in [
        (&c.traces, "/v1/traces"),
        (&c.metrics, "/v1/metrics"),
        (&c.logs, "/v1/logs"),
    ] {
        let o = dest.otlp.as_ref().expect("otlp");
        assert_eq!(
            o.endpoint.to_string(),
            format!("http://localhost:4318{path}")
        );
    }

    let c = fixture(
        "otel-sdk-config.yaml",
        &[("OTEL_EXPORTER_PROMETHEUS_PORT", "0")],
    );
    assert_eq!(res(&c, "service.name").as_deref(), Some("checkout"));
    assert_eq!(res(&c, "service.replicas").as_deref(), Some("3"));
    assert_eq!(
        res(&c, "process.executable.name"),
        None,
        "excluded by the detection filter"
    );
    assert!(res(&c, "process.pid").is_some());
    assert_eq!(
        c.propagators,
        vec![
            Propagator::TraceContext,
            Propagator::Baggage,
            Propagator::B3Multi
        ]
    );
    assert_eq!(
        c.traces
            .otlp
            .as_ref()
            .map(|o| o.headers["x-tenant"].clone()),
        Some("acme".parse().expect("header"))
    );
    assert!(c
        .metrics
        .prometheus
        .as_ref()
        .is_some_and(|p| p.listen == Some(("localhost".to_owned(), 0))));
    assert!(c.logs.console && c.logs.otlp.is_some());
    assert_eq!(c.limits.attribute_value_length, Some(4096));
    assert_eq!(
        c.http.server.response_captured_headers,
        Some(vec!["content-type".to_owned()])
    );
    assert_eq!(c.http.server.catch_panic, Some(true));
    assert_eq!(c.http.client.max_attribute_bytes, Some(4096));
    assert!(c.spool.is_none(), "BEACON_EXPORT_SPOOL_DIR is unset");

    // With no variables set, every default after `:-` applies (and Beacon's own keys are
    // null: the code's choices, here none).
    let c = fixture("otel-sdk-migration-config.yaml", &[]);
    assert!(!c.disabled);
    assert!(!c.console_logs && c.spool.is_none());
    assert_eq!(
        c.propagators,
        vec![Propagator::TraceContext, Propagator::Baggage]
    );
    assert_eq!(c.span_batch.max_queue_size, 2048);
    assert_eq!(c.metric_interval, Duration::from_secs(60));
    // And each referenced variable reaches its setting.
    let c = fixture(
        "otel-sdk-migration-config.yaml",
        &[
            ("OTEL_SERVICE_NAME", "migrated"),
            ("OTEL_RESOURCE_ATTRIBUTES", "team=core"),
            ("OTEL_PROPAGATORS", "b3,jaeger"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "api-key=s3cret"),
            ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip"),
            ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "5000"),
            ("OTEL_SPAN_EVENT_COUNT_LIMIT", "5"),
            ("OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT", "6"),
            ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "64"),
            ("OTEL_METRICS_EXEMPLAR_FILTER", "always_on"),
            ("OTEL_SDK_DISABLED", "false"),
            ("RUST_LOG", "warn,shop=debug"),
            ("BEACON_CONSOLE", "true"),
            ("BEACON_EXPORT_SPOOL_DIR", "/var/spool/shop"),
            ("BEACON_EXPORT_SPOOL_MAX_BYTES", "1048576"),
            ("BEACON_HUB", "false"),
        ],
    );
    assert!(c.filter.starts_with("warn,shop=debug"), "{}", c.filter);
    assert!(c.console_logs);
    let spool = c.spool.as_ref().expect("the spool variables reach it");
    assert_eq!(
        (spool.dir.to_string_lossy().as_ref(), spool.max_bytes),
        ("/var/spool/shop", 1_048_576)
    );
    assert_eq!(res(&c, "service.name").as_deref(), Some("migrated"));
    assert_eq!(res(&c, "team").as_deref(), Some("core"));
    assert_eq!(c.propagators, vec![Propagator::B3, Propagator::Jaeger]);
    assert_eq!(c.span_batch.max_queue_size, 100);
    assert_eq!(c.span_batch.max_export_batch_size, 10);
    let t = c.traces.otlp.as_ref().expect("otlp");
    assert_eq!(t.endpoint.to_string(), "http://collector:4318/v1/traces");
    assert_eq!(t.headers["api-key"], "s3cret");
    assert_eq!(t.compression, Compression::Gzip);
    assert_eq!(c.otlp_temporality, crate::config::Temporality::Delta);
    assert_eq!(c.metric_interval, Duration::from_secs(5));
    assert_eq!(c.limits.span_events, 5);
    assert_eq!(c.limits.log_attributes, 6);
    assert_eq!(c.limits.attribute_value_length, Some(64));
    assert_eq!(
        c.exemplar_filter,
        beacon_exporter::exemplars::ExemplarFilter::AlwaysOn
    );
}

/// YAML and substitution pieces on top of the shared hostile alphabet.
const YAML_PIECES: &[&str] = &[
    "$",
    "$$",
    "${",
    "}",
    "${A}",
    "${env:A}",
    "${A:-",
    "${1}",
    ":-",
    "{",
    "[",
    "&a ",
    "*a",
    "!!str ",
    "!!binary ",
    "---\n",
    "\n  ",
    "\n- ",
    ": ",
    "- ",
    "'",
    "\"",
    "#",
    "|",
    ">",
    "~",
    "0x",
    ".inf",
];

/// Seeded mutations of the comprehensive fixture, and of hostile substitution values: every
/// outcome is a configuration or a typed error whose message is bounded — never a panic.
#[test]
fn hostile_files_are_errors_never_panics() {
    let base = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/config/otel-sdk-config.yaml"),
    )
    .expect("fixture");
    let mut gen = beacon_test::HostileStrings::new(0x00C0_F1FE);
    let (mut ok_count, mut err_count) = (0, 0);
    for round in 0..400 {
        let mut text = base.clone();
        for _ in 0..1 + gen.below(4) {
            let mut at = gen.below(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let piece = if gen.below(2) == 0 {
                YAML_PIECES[gen.below(YAML_PIECES.len())].to_owned()
            } else {
                gen.next_string(6)
            };
            let cut = (at + gen.below(8)).min(text.len());
            let cut = (cut..=text.len())
                .find(|i| text.is_char_boundary(*i))
                .unwrap_or(text.len());
            text.replace_range(at..cut, &piece);
        }
        let value = gen.next_string(10);
        let env: Vec<(String, String)> = vec![
            ("A".into(), value.clone()),
            ("OTEL_SERVICE_NAME".into(), value.clone()),
            ("SAMPLE_RATIO".into(), value),
            ("OTEL_EXPORTER_PROMETHEUS_PORT".into(), "0".into()),
        ];
        let outcome = std::panic::catch_unwind(|| {
            let map: HashMap<String, String> = env.into_iter().collect();
            resolve(
                Builder::default()
                    .env_source(move |k| map.get(k).cloned())
                    .config_yaml(text),
            )
        });
        match outcome {
            Ok(Ok(_)) => ok_count += 1,
            Ok(Err(e)) => {
                err_count += 1;
                let msg = e.to_string();
                assert!(!msg.is_empty() && msg.len() < 4_000, "round {round}: {msg}");
                assert!(e.file_error().is_some(), "round {round}: {msg}");
            }
            Err(_) => panic!("round {round} panicked"),
        }
    }
    // The mutations exercise both paths.
    assert!(
        ok_count > 0 && err_count > 0,
        "ok {ok_count}, errors {err_count}"
    );
}

#[test]
fn huge_and_deep_files_are_errors() {
    let huge = format!("file_format: \"1.1\"\n# {}\n", "x".repeat(2 << 20));
    let err = build(&huge, &[]).expect_err("too large");
    assert!(matches!(
        err.file_error().map(|f| f.kind()),
        Some(FileErrorKind::TooLarge { .. })
    ));
    let deep = format!(
        "file_format: \"1.1\"\nresource: {}{}\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let err = build(&deep, &[]).expect_err("too deep");
    assert!(matches!(
        err.file_error().map(|f| f.kind()),
        Some(FileErrorKind::TooDeep { .. } | FileErrorKind::Yaml(_))
    ));
    let err = build("", &[]).expect_err("empty");
    assert!(matches!(
        err.file_error().map(|f| f.kind()),
        Some(FileErrorKind::MissingField { .. })
    ));
    let err =
        build("file_format: \"1.1\"\n---\nfile_format: \"1.1\"\n", &[]).expect_err("two documents");
    assert!(matches!(
        err.file_error().map(|f| f.kind()),
        Some(FileErrorKind::Yaml(_))
    ));
    let err = build("- a\n- b\n", &[]).expect_err("not a mapping");
    assert!(matches!(
        err.file_error().map(|f| f.kind()),
        Some(FileErrorKind::InvalidValue { .. })
    ));
}

/// What a newcomer writes first: an unquoted `file_format`, a quoted number, a Prometheus key
/// that asks for what Beacon does anyway, a propagator the schema names. Each reads clearly.
#[test]
fn a_newcomers_first_mistakes_read_clearly() {
    let err = build("file_format: 1.1\n", &[]).expect_err("unquoted");
    let file = err.file_error().expect("file error");
    assert_eq!(file.field(), "file_format");
    assert!(
        matches!(file.kind(), FileErrorKind::InvalidValue { value, expected }
            if value == "1.1" && expected.contains("quoted")),
        "{err}"
    );
    let pull = |key: &str| {
        format!("file_format: \"1.1\"\nmeter_provider:\n  readers:\n    - pull:\n        exporter:\n          prometheus/development:\n            {key}\n")
    };
    let err = build(&pull("port: \"${P}\""), &[("P", "9464")]).expect_err("a string");
    assert!(err.to_string().contains("0 to 65535"), "{err}");
    for same in [
        "without_scope_info: true",
        "scope_info_enabled: false",
        "target_info_enabled/development: true",
        "without_target_info/development: false",
    ] {
        let mut c = ok(&format!("{}            port: 0\n", pull(same)), &[]);
        assert!(c.metrics.prometheus.take().is_some(), "{same}");
    }
    let err = build(&pull("without_scope_info: false"), &[]).expect_err("scope labels");
    let file = err.file_error().expect("file error");
    assert_eq!(
        file.field(),
        "meter_provider.readers[0].pull.exporter.prometheus/development.without_scope_info",
        "the key as written"
    );
    let err = build(
        "file_format: \"1.1\"\npropagator:\n  composite:\n    - ottrace:\n",
        &[],
    )
    .expect_err("ottrace");
    assert!(err.to_string().contains("schema defines ottrace"), "{err}");
}
