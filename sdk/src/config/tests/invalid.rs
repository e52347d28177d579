//! Values that cannot be used: by default, as the configuration spec says, a warning naming the
//! variable, the value and the choices, and the default used; in strict mode
//! (`BEACON_CONFIG_STRICT`) an error saying the same.

use std::time::Duration;

use super::{err, ok};
use crate::config::{Propagator, Sampler};

type Row<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);

/// Each unusable setting, what the message names, and a hint of what it accepts.
fn table() -> &'static [Row<'static>] {
    &[
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
            &[
                ("OTEL_TRACES_SAMPLER", "beacon_ratelimit"),
                ("OTEL_TRACES_SAMPLER_ARG", "-5"),
            ],
            "OTEL_TRACES_SAMPLER_ARG=\"-5\"",
            "traces per second",
        ),
        (
            // The bad item is named, not the whole list.
            &[("OTEL_PROPAGATORS", "tracecontext,xray")],
            "OTEL_PROPAGATORS=\"xray\"",
            "b3multi",
        ),
        (
            &[("OTEL_TRACES_EXPORTER", "zipkin")],
            "OTEL_TRACES_EXPORTER=\"zipkin\"",
            "otlp",
        ),
        (
            &[("OTEL_METRICS_EXPORTER", "statsd")],
            "OTEL_METRICS_EXPORTER=\"statsd\"",
            "prometheus",
        ),
        (
            &[("OTEL_TRACES_EXPORTER", "otlp,prometheus")],
            "OTEL_TRACES_EXPORTER=\"prometheus\"",
            "metrics only",
        ),
        (
            &[
                ("OTEL_METRICS_EXPORTER", "prometheus"),
                ("OTEL_EXPORTER_PROMETHEUS_PORT", "70000"),
            ],
            "OTEL_EXPORTER_PROMETHEUS_PORT=\"70000\"",
            "a TCP port",
        ),
        (
            &[("OTEL_METRICS_EXEMPLAR_FILTER", "sometimes")],
            "OTEL_METRICS_EXEMPLAR_FILTER=\"sometimes\"",
            "trace_based",
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
            "OTEL_EXPORTER_OTLP_HEADERS",
            "header name",
        ),
        (
            &[("OTEL_EXPORTER_OTLP_HEADERS", "k=%0A")],
            "OTEL_EXPORTER_OTLP_HEADERS",
            "the value of header `k`",
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
    ]
}

#[test]
fn unusable_values_are_errors_naming_variable_value_and_choices_in_strict_mode() {
    for (vars, names, hint) in table() {
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

/// configuration/common.md: "For sources accepting a numeric value, if the user provides a
/// value which is outside the valid range for the configuration item, the implementation
/// SHOULD generate a warning and gracefully ignore the setting, i.e., treat them as not set";
/// "Enum values SHOULD be interpreted in a case-insensitive manner"; an unrecognised enum value
/// MUST produce a warning and be ignored. Beacon's default does exactly that: every row above
/// resolves, with one warning naming the variable and what was used instead.
#[test]
fn by_default_unusable_values_are_warnings_and_the_defaults_apply() {
    for (vars, names, hint) in table() {
        let config = ok(vars);
        let said: Vec<&String> = config
            .warnings
            .iter()
            .filter(|w| w.contains(names))
            .collect();
        assert_eq!(
            said.len(),
            1,
            "{vars:?}: one warning, got {:?}",
            config.warnings
        );
        assert!(
            said[0].contains(hint),
            "{vars:?}: `{}` should say {hint}",
            said[0]
        );
        assert!(said[0].contains("ignoring it and using"), "{}", said[0]);
    }
    // What is used instead: the defaults, or the rest of a list.
    let c = ok(&[("OTEL_TRACES_SAMPLER", "sometimes")]);
    assert_eq!(c.sampler, Sampler::ParentBasedAlwaysOn);
    let c = ok(&[
        ("OTEL_TRACES_SAMPLER", "traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "abc"),
    ]);
    assert_eq!(
        c.sampler,
        Sampler::TraceIdRatio(1.0),
        "as if the argument were unset"
    );
    let c = ok(&[("OTEL_PROPAGATORS", "tracecontext,xray,b3")]);
    assert_eq!(
        c.propagators,
        vec![Propagator::TraceContext, Propagator::B3]
    );
    let c = ok(&[("OTEL_TRACES_EXPORTER", "zipkin,console")]);
    assert!(c.traces.otlp.is_none() && c.traces.console);
    let c = ok(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "-5")]);
    assert_eq!(
        c.traces.otlp.as_ref().map(|o| o.timeout),
        Some(Duration::from_secs(10))
    );
    let c = ok(&[
        ("OTEL_BSP_MAX_QUEUE_SIZE", "10"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "11"),
    ]);
    assert_eq!(c.span_batch.max_export_batch_size, 10, "cut to the queue");
    let c = ok(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url")]);
    assert_eq!(
        c.traces.otlp.as_ref().map(|o| o.endpoint.to_string()),
        Some("http://localhost:4318/v1/traces".to_owned())
    );
    let c = ok(&[("OTEL_METRIC_EXPORT_INTERVAL", "0")]);
    assert_eq!(c.metric_interval, Duration::from_secs(60));
}

/// configuration/common.md, "Enum": values "SHOULD be interpreted in a case-insensitive
/// manner".
#[test]
fn enum_values_are_case_insensitive() {
    let c = ok(&[
        ("OTEL_TRACES_SAMPLER", "Always_On"),
        ("OTEL_PROPAGATORS", "TraceContext,B3Multi"),
        ("OTEL_TRACES_EXPORTER", "OTLP,Console"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "GZIP"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "HTTP/JSON"),
        ("OTEL_METRICS_EXEMPLAR_FILTER", "Always_Off"),
    ]);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c.sampler, Sampler::AlwaysOn);
    assert_eq!(
        c.propagators,
        vec![Propagator::TraceContext, Propagator::B3Multi]
    );
    let t = c.traces.otlp.as_ref().expect("otlp");
    assert!(c.traces.console);
    assert_eq!(t.compression, beacon_exporter::otlp::Compression::Gzip);
    assert_eq!(t.protocol, beacon_exporter::otlp::Protocol::HttpJson);
}

#[test]
fn no_error_prints_a_header_value_an_endpoint_userinfo_or_query() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("OTEL_EXPORTER_OTLP_HEADERS", "x-team=a,Bearer hunter2")],
            "member 2 has no `=`",
        ),
        (
            &[("OTEL_EXPORTER_OTLP_HEADERS", "api-key=hunter2%zz")],
            "the value of member 1",
        ),
        (
            &[("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "api-key=hunter2%0A")],
            "the value of header `api-key`",
        ),
        (
            &[("OTEL_EXPORTER_OTLP_HEADERS", "hunter2 key=1")],
            "header names",
        ),
        (
            &[(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "ftp://me:hunter2@collector/?k=hunter2",
            )],
            "ftp://REDACTED:REDACTED@collector/?REDACTED",
        ),
        (
            &[(
                "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                "http://me:hunter2@ bad/?hunter2",
            )],
            "REDACTED",
        ),
    ];
    for (vars, says) in cases {
        let message = err(vars);
        assert!(
            !message.contains("hunter2"),
            "{vars:?}: `{message}` prints the secret"
        );
        assert!(
            message.contains(says),
            "{vars:?}: `{message}` should say {says}"
        );
    }
}

#[test]
fn credentials_for_a_plaintext_remote_endpoint_are_warned_about_never_printed() {
    use super::ok;
    let c = ok(&[
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "http://collector.example:4318",
        ),
        ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=hunter2"),
    ]);
    let warned: Vec<&String> = c
        .warnings
        .iter()
        .filter(|w| w.contains("plain http"))
        .collect();
    assert_eq!(warned.len(), 3, "one per signal: {:?}", c.warnings);
    assert!(warned
        .iter()
        .all(|w| !w.contains("hunter2") && w.contains("collector.example")));
    // Loopback, or https, or no credentials: nothing to warn about.
    for vars in [
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=x"),
        ][..],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://[::1]:4318"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=x"),
        ][..],
        &[
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "https://collector.example:4318",
            ),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=x"),
        ][..],
        &[(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "http://collector.example:4318",
        )][..],
    ] {
        let c = ok(vars);
        assert!(
            !c.warnings.iter().any(|w| w.contains("plain http")),
            "{vars:?}: {:?}",
            c.warnings
        );
    }
}
