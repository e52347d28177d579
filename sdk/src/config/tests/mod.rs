//! The environment table: every supported variable, valid and invalid values.

mod invalid;
mod table;

use std::collections::HashMap;
use std::time::Duration;

use beacon_exporter::otlp::{Compression, Protocol};
use opentelemetry::Key;

use super::{Builder, Config, Exporter, Propagator, Sampler};

pub(super) fn resolve(vars: &[(&str, &str)]) -> Result<Config, super::InitError> {
    resolve_with(vars, false)
}

pub(super) fn resolve_with(
    vars: &[(&str, &str)],
    strict: bool,
) -> Result<Config, super::InitError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::resolve(
        Builder::default()
            .env_source(move |k| map.get(k).cloned())
            .strict_config(strict),
    )
}

pub(super) fn ok(vars: &[(&str, &str)]) -> Config {
    match resolve(vars) {
        Ok(c) => c,
        Err(e) => panic!("{vars:?} should resolve: {e}"),
    }
}

/// The error of strict mode (`BEACON_CONFIG_STRICT`); see `invalid::lenient` for the default.
pub(super) fn err(vars: &[(&str, &str)]) -> String {
    match resolve_with(vars, true) {
        Ok(_) => panic!("{vars:?} should fail"),
        Err(e) => e.to_string(),
    }
}

pub(super) fn resource(c: &Config, key: &'static str) -> Option<String> {
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

#[test]
fn the_spec_warn_and_continue_cases_warn_and_continue() {
    let c = ok(&[("OTEL_SDK_DISABLED", "yes")]);
    assert!(!c.disabled);
    assert!(c.warnings.iter().any(|w| w.contains("OTEL_SDK_DISABLED")));

    // An argument for a sampler that takes none is ignored, with a warning.
    let c = ok(&[
        ("OTEL_TRACES_SAMPLER", "parentbased_always_on"),
        ("OTEL_TRACES_SAMPLER_ARG", "0.1"),
    ]);
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("OTEL_TRACES_SAMPLER_ARG=\"0.1\" is ignored")),
        "{:?}",
        c.warnings
    );
    let c = ok(&[
        ("OTEL_TRACES_SAMPLER", "traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "0.1"),
    ]);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);

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

/// OpenTelemetry SDK environment variables (configuration/sdk-environment-variables.md):
/// "The environment-based configuration MUST have a direct code configuration equivalent."
/// Each of these is the code equivalent of a variable, and wins over it.
#[test]
fn every_variable_has_a_code_equivalent_that_wins() {
    use beacon_exporter::exemplars::ExemplarFilter;
    use beacon_exporter::otlp::Signal;

    use super::OtlpSignal;

    let env: HashMap<String, String> = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://general:4318"),
        (
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
            "http://env-logs:4318/v1/logs",
        ),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/json"),
        ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "1234"),
        ("OTEL_METRICS_EXEMPLAR_FILTER", "always_on"),
        ("OTEL_METRICS_EXPORTER", "otlp,prometheus"),
        ("OTEL_EXPORTER_PROMETHEUS_HOST", "0.0.0.0"),
        ("OTEL_EXPORTER_PROMETHEUS_PORT", "9999"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let c = Config::resolve(
        Builder::default()
            .env_source(move |k| env.get(k).cloned())
            .strict_config(true)
            .otlp_header("x-all", "1")
            .otlp_signal(
                Signal::Logs,
                OtlpSignal::new()
                    .endpoint("http://code-logs:4317")
                    .protocol(Protocol::Grpc)
                    .header("x-logs", "2")
                    .compression(Compression::Gzip),
            )
            .otlp_signal(
                Signal::Metrics,
                OtlpSignal::new()
                    .protocol(Protocol::HttpProtobuf)
                    .timeout(Duration::from_millis(50)),
            )
            .exemplar_filter(ExemplarFilter::AlwaysOff)
            .prometheus_address("127.0.0.1", 0),
    )
    .unwrap_or_else(|e| panic!("{e}"));

    let logs = c.logs.otlp.as_ref().expect("logs over OTLP");
    assert_eq!(
        logs.endpoint.to_string(),
        "http://code-logs:4317/",
        "used as it is"
    );
    assert_eq!(logs.protocol, Protocol::Grpc);
    assert_eq!(logs.compression, Compression::Gzip);
    assert!(logs.headers.contains_key("x-all") && logs.headers.contains_key("x-logs"));

    let metrics = c.metrics.otlp.as_ref().expect("metrics over OTLP");
    assert_eq!(
        metrics.protocol,
        Protocol::HttpProtobuf,
        "code over the variable"
    );
    assert_eq!(metrics.timeout, Duration::from_millis(50));
    assert_eq!(
        metrics.endpoint.to_string(),
        "http://general:4318/v1/metrics"
    );
    assert!(
        !metrics.headers.contains_key("x-logs"),
        "only the logs' own"
    );

    let traces = c.traces.otlp.as_ref().expect("traces over OTLP");
    assert_eq!(traces.endpoint.to_string(), "http://general:4318/v1/traces");
    assert_eq!(traces.protocol, Protocol::HttpProtobuf);

    assert_eq!(c.exemplar_filter, ExemplarFilter::AlwaysOff);
    let prometheus = c.metrics.prometheus.as_ref().expect("prometheus");
    assert_eq!(prometheus.listen, Some(("127.0.0.1".to_owned(), 0)));
}
