//! `try_init()` installs the subscriber, providers and propagator globally, once; a second call
//! is a typed error, not a panic. `OTEL_SDK_DISABLED=true` installs nothing and records nothing.

use std::collections::HashMap;

use beacon::config::Exporter;
use beacon::otel::api::trace::{TraceContextExt as _, Tracer as _};

#[test]
fn the_first_init_installs_and_the_second_is_a_typed_error() {
    let disabled = beacon::builder()
        .env_source(|k| (k == "OTEL_SDK_DISABLED").then(|| "true".to_owned()))
        .try_init()
        .expect("a disabled SDK still initialises");
    assert!(!disabled.is_enabled());
    assert_eq!(disabled.stats(), beacon::Stats::default());

    let telemetry = beacon::builder()
        .env_source(|_| None)
        .traces_exporter(Exporter::None)
        .metrics_exporter(Exporter::None)
        .logs_exporter(Exporter::None)
        .try_init()
        .expect("first init");
    assert!(telemetry.is_enabled());

    // The global OTel tracer and propagator are Beacon's.
    let tracer = beacon::otel::api::global::tracer("t");
    tracer.in_span("global", |cx| {
        assert!(
            cx.span().span_context().is_valid(),
            "the SDK tracer provider is installed"
        );
        let mut headers = HashMap::new();
        beacon::otel::api::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut headers));
        assert!(headers.contains_key("traceparent"), "{headers:?}");
    });
    // The global tracing subscriber is Beacon's: a span is an OTel span.
    let span = tracing::info_span!("via tracing");
    let mut headers: HashMap<String, String> = HashMap::new();
    span.in_scope(|| beacon::propagation::inject(&mut headers));
    assert!(headers.contains_key("traceparent"), "{headers:?}");

    let again = beacon::builder()
        .env_source(|_| None)
        .traces_exporter(Exporter::None)
        .metrics_exporter(Exporter::None)
        .logs_exporter(Exporter::None)
        .try_init()
        .expect_err("a second global subscriber is refused");
    assert!(again.is_already_initialized());
    assert!(
        again.to_string().contains("call beacon::init() once"),
        "{again}"
    );
    telemetry.shutdown().expect("shutdown");
}
