//! The environment table: every supported variable, valid and invalid values.

use std::collections::HashMap;
use std::time::Duration;

use beacon_exporter::otlp::{Compression, Protocol};
use opentelemetry::Key;

use super::{Builder, Config, Exporter, Propagator, Sampler};

fn resolve(vars: &[(&str, &str)]) -> Result<Config, super::InitError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::resolve(Builder::default().env_source(move |k| map.get(k).cloned()))
}

fn ok(vars: &[(&str, &str)]) -> Config {
    match resolve(vars) {
        Ok(c) => c,
        Err(e) => panic!("{vars:?} should resolve: {e}"),
    }
}

fn err(vars: &[(&str, &str)]) -> String {
    match resolve(vars) {
        Ok(_) => panic!("{vars:?} should fail"),
        Err(e) => e.to_string(),
    }
}

fn resource(c: &Config, key: &'static str) -> Option<String> {
    c.resource
        .get(&Key::from_static_str(key))
        .map(|v| v.to_string())
}

#[test]
fn defaults_follow_the_spec() {
    let c = ok(&[]);
    assert!(!c.disabled);
    assert_eq!(c.sampler, Sampler::ParentBasedAlwaysOn);
    assert_eq!(
        c.propagators,
        vec![Propagator::TraceContext, Propagator::Baggage]
    );
    let t = c.traces.otlp.as_ref().expect("otlp by default");
    assert_eq!(t.protocol, Protocol::HttpProtobuf);
    assert_eq!(t.endpoint.to_string(), "http://localhost:4318/v1/traces");
    assert_eq!(t.timeout, Duration::from_secs(10));
    assert_eq!(t.compression, Compression::None);
    assert_eq!(c.span_batch.scheduled_delay, Duration::from_millis(5000));
    assert_eq!(c.span_batch.max_queue_size, 2048);
    assert_eq!(c.span_batch.max_export_batch_size, 512);
    assert_eq!(c.log_batch.scheduled_delay, Duration::from_millis(1000));
    assert_eq!(c.metric_interval, Duration::from_secs(60));
    assert_eq!(c.metric_timeout, Duration::from_secs(30));
    assert_eq!(c.limits.span_attributes, 128);
    assert_eq!(c.limits.attribute_value_length, None);
    assert_eq!(c.filter, "info");
    assert!(resource(&c, "service.name").is_some_and(|s| s.starts_with("unknown_service:")));
    for key in [
        "service.instance.id",
        "os.type",
        "process.pid",
        "process.executable.name",
        "process.runtime.name",
        "process.runtime.version",
        "telemetry.sdk.name",
        "telemetry.sdk.language",
        "telemetry.sdk.version",
    ] {
        assert!(resource(&c, key).is_some(), "resource lacks {key}");
    }
}

/// `(variables, what the resolved config must show)` for every supported variable.
#[test]
fn every_variable_is_read() {
    type Check = fn(&Config) -> bool;
    let table: &[(&[(&str, &str)], Check)] = &[
        (&[("OTEL_SDK_DISABLED", "true")], |c| c.disabled),
        (&[("OTEL_SDK_DISABLED", "TRUE")], |c| c.disabled),
        (&[("OTEL_SERVICE_NAME", "shop")], |c| {
            resource(c, "service.name").as_deref() == Some("shop")
        }),
        (
            &[(
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment.name=prod,team=a%2Cb",
            )],
            |c| {
                resource(c, "deployment.environment.name").as_deref() == Some("prod")
                    && resource(c, "team").as_deref() == Some("a,b")
            },
        ),
        (
            &[
                ("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs"),
                ("OTEL_SERVICE_NAME", "wins"),
            ],
            |c| resource(c, "service.name").as_deref() == Some("wins"),
        ),
        (&[("OTEL_TRACES_SAMPLER", "always_on")], |c| {
            c.sampler == Sampler::AlwaysOn
        }),
        (&[("OTEL_TRACES_SAMPLER", "always_off")], |c| {
            c.sampler == Sampler::AlwaysOff
        }),
        (
            &[
                ("OTEL_TRACES_SAMPLER", "traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
            ],
            |c| c.sampler == Sampler::TraceIdRatio(0.25),
        ),
        (&[("OTEL_TRACES_SAMPLER", "traceidratio")], |c| {
            c.sampler == Sampler::TraceIdRatio(1.0)
        }),
        (&[("OTEL_TRACES_SAMPLER", "parentbased_always_on")], |c| {
            c.sampler == Sampler::ParentBasedAlwaysOn
        }),
        (&[("OTEL_TRACES_SAMPLER", "parentbased_always_off")], |c| {
            c.sampler == Sampler::ParentBasedAlwaysOff
        }),
        (
            &[
                ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", "0"),
            ],
            |c| c.sampler == Sampler::ParentBasedTraceIdRatio(0.0),
        ),
        (
            &[("OTEL_PROPAGATORS", "b3,b3multi,jaeger,tracecontext,baggage")],
            |c| c.propagators.len() == 5,
        ),
        (&[("OTEL_PROPAGATORS", "none")], |c| {
            c.propagators.is_empty()
        }),
        (&[("OTEL_TRACES_EXPORTER", "console")], |c| {
            c.traces.console && c.traces.otlp.is_none()
        }),
        (&[("OTEL_TRACES_EXPORTER", "otlp,console")], |c| {
            c.traces.console && c.traces.otlp.is_some()
        }),
        (&[("OTEL_METRICS_EXPORTER", "none")], |c| {
            c.metrics.is_empty()
        }),
        (&[("OTEL_LOGS_EXPORTER", "console")], |c| {
            c.logs.console && c.logs.otlp.is_none()
        }),
        (
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")],
            |c| {
                c.traces
                    .otlp
                    .as_ref()
                    .is_some_and(|o| o.endpoint == "http://collector:4318/v1/traces")
                    && c.metrics
                        .otlp
                        .as_ref()
                        .is_some_and(|o| o.endpoint == "http://collector:4318/v1/metrics")
                    && c.logs
                        .otlp
                        .as_ref()
                        .is_some_and(|o| o.endpoint == "http://collector:4318/v1/logs")
            },
        ),
        (
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ],
            |c| {
                c.traces.otlp.as_ref().is_some_and(|o| {
                    o.protocol == Protocol::Grpc && o.endpoint == "http://collector:4317/"
                })
            },
        ),
        (
            &[
                ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:1/custom"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:2"),
            ],
            |c| {
                c.traces
                    .otlp
                    .as_ref()
                    .is_some_and(|o| o.endpoint == "http://t:1/custom")
                    && c.logs
                        .otlp
                        .as_ref()
                        .is_some_and(|o| o.endpoint == "http://base:2/v1/logs")
            },
        ),
        (
            &[("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "https://m:1/x")],
            |c| {
                c.metrics
                    .otlp
                    .as_ref()
                    .is_some_and(|o| o.endpoint == "https://m:1/x")
            },
        ),
        (
            &[("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://l:1/y")],
            |c| {
                c.logs
                    .otlp
                    .as_ref()
                    .is_some_and(|o| o.endpoint == "http://l:1/y")
            },
        ),
        (&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")], |c| {
            c.traces
                .otlp
                .as_ref()
                .is_some_and(|o| o.protocol == Protocol::HttpJson)
        }),
        (
            &[
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
                ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
            ],
            |c| {
                c.traces
                    .otlp
                    .as_ref()
                    .is_some_and(|o| o.protocol == Protocol::HttpProtobuf)
                    && c.logs
                        .otlp
                        .as_ref()
                        .is_some_and(|o| o.protocol == Protocol::Grpc)
            },
        ),
        (&[("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc")], |c| {
            c.metrics
                .otlp
                .as_ref()
                .is_some_and(|o| o.protocol == Protocol::Grpc)
        }),
        (&[("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/json")], |c| {
            c.logs
                .otlp
                .as_ref()
                .is_some_and(|o| o.protocol == Protocol::HttpJson)
        }),
        (
            &[("OTEL_EXPORTER_OTLP_HEADERS", "api-key=s%3Dcret,x-team=a")],
            |c| {
                c.traces
                    .otlp
                    .as_ref()
                    .is_some_and(|o| o.headers["api-key"] == "s=cret" && o.headers["x-team"] == "a")
            },
        ),
        (
            &[
                ("OTEL_EXPORTER_OTLP_HEADERS", "a=1"),
                ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "b=2"),
            ],
            |c| {
                c.traces
                    .otlp
                    .as_ref()
                    .is_some_and(|o| o.headers.get("a").is_none() && o.headers["b"] == "2")
            },
        ),
        (&[("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "m=1")], |c| {
            c.metrics
                .otlp
                .as_ref()
                .is_some_and(|o| o.headers["m"] == "1")
        }),
        (&[("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "l=1")], |c| {
            c.logs.otlp.as_ref().is_some_and(|o| o.headers["l"] == "1")
        }),
        (&[("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")], |c| {
            c.traces
                .otlp
                .as_ref()
                .is_some_and(|o| o.compression == Compression::Gzip)
        }),
        (
            &[
                ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
                ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none"),
            ],
            |c| {
                c.traces
                    .otlp
                    .as_ref()
                    .is_some_and(|o| o.compression == Compression::None)
                    && c.logs
                        .otlp
                        .as_ref()
                        .is_some_and(|o| o.compression == Compression::Gzip)
            },
        ),
        (&[("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "gzip")], |c| {
            c.metrics
                .otlp
                .as_ref()
                .is_some_and(|o| o.compression == Compression::Gzip)
        }),
        (&[("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "gzip")], |c| {
            c.logs
                .otlp
                .as_ref()
                .is_some_and(|o| o.compression == Compression::Gzip)
        }),
        (&[("OTEL_EXPORTER_OTLP_TIMEOUT", "2500")], |c| {
            c.traces
                .otlp
                .as_ref()
                .is_some_and(|o| o.timeout == Duration::from_millis(2500))
        }),
        (
            &[
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
                ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "100"),
            ],
            |c| {
                c.traces
                    .otlp
                    .as_ref()
                    .is_some_and(|o| o.timeout == Duration::from_millis(100))
            },
        ),
        (&[("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "7")], |c| {
            c.metrics
                .otlp
                .as_ref()
                .is_some_and(|o| o.timeout == Duration::from_millis(7))
        }),
        (&[("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "8")], |c| {
            c.logs
                .otlp
                .as_ref()
                .is_some_and(|o| o.timeout == Duration::from_millis(8))
        }),
        (&[("OTEL_BSP_SCHEDULE_DELAY", "100")], |c| {
            c.span_batch.scheduled_delay == Duration::from_millis(100)
        }),
        (&[("OTEL_BSP_EXPORT_TIMEOUT", "200")], |c| {
            c.span_batch.export_timeout == Duration::from_millis(200)
        }),
        (
            &[
                ("OTEL_BSP_MAX_QUEUE_SIZE", "10"),
                ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "5"),
            ],
            |c| c.span_batch.max_queue_size == 10 && c.span_batch.max_export_batch_size == 5,
        ),
        (&[("OTEL_BLRP_SCHEDULE_DELAY", "100")], |c| {
            c.log_batch.scheduled_delay == Duration::from_millis(100)
        }),
        (&[("OTEL_BLRP_EXPORT_TIMEOUT", "200")], |c| {
            c.log_batch.export_timeout == Duration::from_millis(200)
        }),
        (
            &[
                ("OTEL_BLRP_MAX_QUEUE_SIZE", "10"),
                ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "10"),
            ],
            |c| c.log_batch.max_queue_size == 10 && c.log_batch.max_export_batch_size == 10,
        ),
        (&[("OTEL_METRIC_EXPORT_INTERVAL", "500")], |c| {
            c.metric_interval == Duration::from_millis(500)
        }),
        (&[("OTEL_METRIC_EXPORT_TIMEOUT", "400")], |c| {
            c.metric_timeout == Duration::from_millis(400)
        }),
        (&[("OTEL_ATTRIBUTE_COUNT_LIMIT", "10")], |c| {
            c.limits.span_attributes == 10
                && c.limits.event_attributes == 10
                && c.limits.link_attributes == 10
                && c.limits.span_events == 128
        }),
        (
            &[
                ("OTEL_ATTRIBUTE_COUNT_LIMIT", "10"),
                ("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "3"),
            ],
            |c| c.limits.span_attributes == 3,
        ),
        (&[("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "64")], |c| {
            c.limits.attribute_value_length == Some(64)
        }),
        (
            &[
                ("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "64"),
                ("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "8"),
            ],
            |c| c.limits.attribute_value_length == Some(8),
        ),
        (&[("OTEL_SPAN_EVENT_COUNT_LIMIT", "4")], |c| {
            c.limits.span_events == 4
        }),
        (&[("OTEL_SPAN_LINK_COUNT_LIMIT", "5")], |c| {
            c.limits.span_links == 5
        }),
        (&[("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "6")], |c| {
            c.limits.event_attributes == 6
        }),
        (&[("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "7")], |c| {
            c.limits.link_attributes == 7
        }),
        (&[("RUST_LOG", "warn,my_crate=debug")], |c| {
            c.filter == "warn,my_crate=debug"
        }),
        // Empty means unset.
        (
            &[
                ("OTEL_TRACES_SAMPLER", ""),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "  "),
            ],
            |c| c.sampler == Sampler::ParentBasedAlwaysOn,
        ),
    ];
    for (vars, check) in table {
        let c = ok(vars);
        assert!(
            check(&c),
            "{vars:?} resolved to an unexpected config: {c:#?}"
        );
    }
}

#[test]
fn unusable_values_are_errors_naming_variable_value_and_choices() {
    type Row<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let table: &[Row<'_>] = &[
        (
            &[("OTEL_TRACES_SAMPLER", "sometimes")],
            "OTEL_TRACES_SAMPLER=\"sometimes\"",
            "always_on",
        ),
        (
            &[
                ("OTEL_TRACES_SAMPLER", "traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", "abc"),
            ],
            "OTEL_TRACES_SAMPLER_ARG=\"abc\"",
            "between 0 and 1",
        ),
        (
            &[
                ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", "1.5"),
            ],
            "OTEL_TRACES_SAMPLER_ARG=\"1.5\"",
            "between 0 and 1",
        ),
        (
            &[("OTEL_PROPAGATORS", "tracecontext,xray")],
            "OTEL_PROPAGATORS",
            "b3multi",
        ),
        (
            &[("OTEL_TRACES_EXPORTER", "zipkin")],
            "OTEL_TRACES_EXPORTER=\"zipkin\"",
            "otlp",
        ),
        (
            &[("OTEL_METRICS_EXPORTER", "prometheus")],
            "OTEL_METRICS_EXPORTER=\"prometheus\"",
            "console",
        ),
        (
            &[("OTEL_LOGS_EXPORTER", "file")],
            "OTEL_LOGS_EXPORTER",
            "none",
        ),
        (
            &[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpcc")],
            "OTEL_EXPORTER_OTLP_PROTOCOL=\"grpcc\"",
            "http/protobuf",
        ),
        (
            &[("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http")],
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "grpc",
        ),
        (
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url")],
            "OTEL_EXPORTER_OTLP_ENDPOINT=\"not a url\"",
            "http://",
        ),
        (
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4317")],
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "absolute",
        ),
        (
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://collector")],
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "https://",
        ),
        (
            &[("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "::")],
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
            "URL",
        ),
        (
            &[("OTEL_EXPORTER_OTLP_HEADERS", "api-key")],
            "OTEL_EXPORTER_OTLP_HEADERS",
            "no `=`",
        ),
        (
            &[("OTEL_EXPORTER_OTLP_HEADERS", "bad header=1")],
            "bad header",
            "header name",
        ),
        (
            &[("OTEL_EXPORTER_OTLP_HEADERS", "k=%0A")],
            "OTEL_EXPORTER_OTLP_HEADERS",
            "header value",
        ),
        (
            &[("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd")],
            "OTEL_EXPORTER_OTLP_COMPRESSION=\"zstd\"",
            "gzip or none",
        ),
        (
            &[("OTEL_EXPORTER_OTLP_TIMEOUT", "-5")],
            "OTEL_EXPORTER_OTLP_TIMEOUT=\"-5\"",
            "non-negative",
        ),
        (
            &[("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "1s")],
            "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
            "milliseconds",
        ),
        (
            &[("OTEL_BSP_SCHEDULE_DELAY", "soon")],
            "OTEL_BSP_SCHEDULE_DELAY",
            "milliseconds",
        ),
        (
            &[("OTEL_BSP_MAX_QUEUE_SIZE", "0")],
            "OTEL_BSP_MAX_QUEUE_SIZE",
            "at least 1",
        ),
        (
            &[
                ("OTEL_BSP_MAX_QUEUE_SIZE", "10"),
                ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "11"),
            ],
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
            "queue size (10)",
        ),
        (
            &[("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "x")],
            "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE",
            "whole number",
        ),
        (
            &[("OTEL_METRIC_EXPORT_INTERVAL", "0")],
            "OTEL_METRIC_EXPORT_INTERVAL",
            "positive",
        ),
        (
            &[("OTEL_METRIC_EXPORT_TIMEOUT", "-1")],
            "OTEL_METRIC_EXPORT_TIMEOUT",
            "milliseconds",
        ),
        (
            &[("OTEL_ATTRIBUTE_COUNT_LIMIT", "many")],
            "OTEL_ATTRIBUTE_COUNT_LIMIT",
            "whole number",
        ),
        (
            &[("OTEL_SPAN_EVENT_COUNT_LIMIT", "-1")],
            "OTEL_SPAN_EVENT_COUNT_LIMIT",
            "whole number",
        ),
        (
            &[("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "1.5")],
            "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
            "whole number",
        ),
    ];
    for (vars, names, hint) in table {
        let message = err(vars);
        assert!(
            message.contains(names),
            "{vars:?}: `{message}` should name {names}"
        );
        assert!(
            message.contains(hint),
            "{vars:?}: `{message}` should say {hint}"
        );
    }
}

#[test]
fn the_spec_warn_and_continue_cases_warn_and_continue() {
    let c = ok(&[("OTEL_SDK_DISABLED", "yes")]);
    assert!(!c.disabled);
    assert!(c.warnings.iter().any(|w| w.contains("OTEL_SDK_DISABLED")));

    let c = ok(&[("OTEL_RESOURCE_ATTRIBUTES", "team=ok,broken")]);
    assert_eq!(resource(&c, "team"), None, "the whole value is discarded");
    assert!(c
        .warnings
        .iter()
        .any(|w| w.contains("OTEL_RESOURCE_ATTRIBUTES")));
}

#[test]
fn an_unused_signal_does_not_fail_on_its_otlp_settings() {
    let c = ok(&[
        ("OTEL_TRACES_EXPORTER", "none"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "nonsense"),
    ]);
    assert!(c.traces.is_empty());
}

#[test]
fn code_wins_over_the_environment() {
    let map: HashMap<String, String> = [
        ("OTEL_SERVICE_NAME", "env-name"),
        ("OTEL_TRACES_SAMPLER", "not-a-sampler"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpcc"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "k=env"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let b = Builder::default()
        .env_source(move |k| map.get(k).cloned())
        .service_name("code-name")
        .sampler(Sampler::AlwaysOff)
        .otlp_endpoint("http://code:4317")
        .otlp_protocol(Protocol::Grpc)
        .otlp_header("k", "code")
        .metrics_exporter(Exporter::Console)
        .logs_exporter(Exporter::None);
    let c = Config::resolve(b).expect("resolves");
    assert_eq!(resource(&c, "service.name").as_deref(), Some("code-name"));
    assert_eq!(c.sampler, Sampler::AlwaysOff);
    let t = c.traces.otlp.as_ref().expect("otlp");
    assert_eq!(t.endpoint.to_string(), "http://code:4317/");
    assert_eq!(t.protocol, Protocol::Grpc);
    assert_eq!(t.headers["k"], "code");
    assert!(c.metrics.console && c.metrics.otlp.is_none());
    assert!(c.logs.is_empty());
}
