//! The `tracing` subscriber stack: spans → OTel spans, events → OTel log records, and an
//! optional readable console layer whose lines carry the trace id.

use std::fmt;

use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry::InstrumentationScope;
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::{Dispatch, Event, Subscriber};
use tracing_subscriber::fmt::format::{DefaultFields, Format, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{EnvFilter, Registry};

use crate::config::vars::RUST_LOG;
use crate::config::InitError;

/// Targets of the export path (HTTP/2, gRPC, TLS, the OTel SDK itself). Their events are kept
/// at `warn` unless the filter names them, so that a `RUST_LOG=debug` does not turn every
/// export into more telemetry.
const EXPORT_PATH_TARGETS: &[&str] = &[
    "h2",
    "hyper",
    "tonic",
    "tower",
    "reqwest",
    "rustls",
    "opentelemetry",
];

pub(crate) fn filter(directives: &str) -> Result<EnvFilter, InitError> {
    let mut filter = EnvFilter::builder().parse(directives).map_err(|e| {
        InitError::invalid(
            RUST_LOG,
            directives,
            format!("tracing-subscriber EnvFilter directives, such as `info,my_crate=debug` ({e})"),
        )
    })?;
    for target in EXPORT_PATH_TARGETS {
        if !directives.contains(target) {
            if let Ok(directive) = format!("{target}=warn").parse() {
                filter = filter.add_directive(directive);
            }
        }
    }
    Ok(filter)
}

pub(crate) fn dispatch(
    filter: EnvFilter,
    tracer_provider: &SdkTracerProvider,
    logger_provider: &SdkLoggerProvider,
    console_logs: bool,
) -> Dispatch {
    let scope = InstrumentationScope::builder("beacon")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build();
    let tracer = tracer_provider.tracer_with_scope(scope);
    // Inactivity tracking adds `busy_ns`/`idle_ns` (not semantic conventions) and two clock
    // reads per enter/exit; Beacon leaves it off.
    let spans = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_tracked_inactivity(false);
    let logs = OpenTelemetryTracingBridge::new(logger_provider);
    let console = console_logs.then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .event_format(WithTraceId(Format::default()))
    });
    let subscriber = Registry::default()
        .with(filter)
        .with(spans)
        .with(logs)
        .with(console);
    Dispatch::new(subscriber)
}

/// Prefixes each console line with the trace id of the span it happened in.
struct WithTraceId<F>(F);

impl<S, F> FormatEvent<S, DefaultFields> for WithTraceId<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    F: FormatEvent<S, DefaultFields>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, DefaultFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let cx = opentelemetry::Context::current();
        let span = cx.span();
        let sc = span.span_context();
        if sc.is_valid() {
            write!(writer, "trace_id={} ", sc.trace_id())?;
        }
        self.0.format_event(ctx, writer, event)
    }
}
