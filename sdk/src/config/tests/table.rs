//! Every supported variable is read.

use std::time::Duration;

use beacon_exporter::otlp::{Compression, Protocol};

use super::super::{Config, Sampler};
use super::{ok, resource};

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
        (
            &[
                ("OTEL_TRACES_SAMPLER", "beacon_ratelimit"),
                ("OTEL_TRACES_SAMPLER_ARG", "50"),
            ],
            |c| c.sampler == Sampler::ParentBasedRateLimited(50.0),
        ),
        (&[("OTEL_TRACES_SAMPLER", "beacon_ratelimit")], |c| {
            c.sampler == Sampler::ParentBasedRateLimited(100.0)
        }),
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
        (&[("OTEL_METRICS_EXPORTER", "prometheus")], |c| {
            c.metrics.otlp.is_none()
                && c.metrics.prometheus
                    == Some(super::super::resolve::PrometheusConfig {
                        listen: Some(("localhost".into(), 9464)),
                        naming: Default::default(),
                    })
        }),
        (
            &[
                ("OTEL_METRICS_EXPORTER", "otlp, prometheus"),
                ("OTEL_EXPORTER_PROMETHEUS_HOST", "0.0.0.0"),
                ("OTEL_EXPORTER_PROMETHEUS_PORT", "9100"),
            ],
            |c| {
                c.metrics.otlp.is_some()
                    && c.metrics.prometheus
                        == Some(super::super::resolve::PrometheusConfig {
                            listen: Some(("0.0.0.0".into(), 9100)),
                            naming: Default::default(),
                        })
            },
        ),
        (&[], |c| {
            c.exemplar_filter == beacon_exporter::exemplars::ExemplarFilter::TraceBased
        }),
        (&[("OTEL_METRICS_EXEMPLAR_FILTER", "always_off")], |c| {
            c.exemplar_filter == beacon_exporter::exemplars::ExemplarFilter::AlwaysOff
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
            &[(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "http://base:2/otlp/?tenant=a",
            )],
            |c| {
                // The signal path joins the base path; the query stays after it.
                c.traces
                    .otlp
                    .as_ref()
                    .is_some_and(|o| o.endpoint == "http://base:2/otlp/v1/traces?tenant=a")
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
                c.traces.otlp.as_ref().is_some_and(|o| {
                    o.headers["api-key"] == "s=cret"
                        && o.headers["x-team"] == "a"
                        && o.headers.values().all(|v| v.is_sensitive())
                })
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
