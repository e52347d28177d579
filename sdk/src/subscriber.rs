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

use crate::log_limits::{LimitedProvider, LogLimits};
use tracing_subscriber::fmt::writer::BoxMakeWriter;
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
    log_limits: LogLimits,
    console: Option<(BoxMakeWriter, bool)>,
) -> Dispatch {
    let scope = InstrumentationScope::builder("beacon")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build();
    let tracer = tracer_provider.tracer_with_scope(scope);
    // Inactivity tracking adds `busy_ns`/`idle_ns` (not semantic conventions) and two clock
    // reads per enter/exit; Beacon leaves it off.
    let spans = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_tracked_inactivity(false)
        // `thread.id`/`thread.name` and a `target` attribute on every span cost an allocation
        // each and are not what span readers look for; `code.*` (the location) stays.
        .with_threads(false)
        .with_target(false);
    let logs =
        OpenTelemetryTracingBridge::new(&LimitedProvider::new(logger_provider.clone(), log_limits));
    let console = console.map(|(writer, ansi)| {
        tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_writer(writer)
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

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::ErrorKind::Other)?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn console_lines_carry_the_trace_id_of_their_span() {
        let tracer_provider = SdkTracerProvider::builder().build();
        let logger_provider = SdkLoggerProvider::builder().build();
        let buffer = Buffer::default();
        let writer = {
            let b = buffer.clone();
            BoxMakeWriter::new(move || b.clone())
        };
        let filter = filter("info").expect("filter");
        let dispatch = dispatch(
            filter,
            &tracer_provider,
            &logger_provider,
            LogLimits {
                attributes: 128,
                value_length: None,
            },
            Some((writer, false)),
        );
        let trace_id = tracing::dispatcher::with_default(&dispatch, || {
            use tracing_opentelemetry::OpenTelemetrySpanExt as _;
            let span = tracing::info_span!("request");
            let _e = span.enter();
            tracing::info!("inside");
            span.context().span().span_context().trace_id()
        });
        let text = String::from_utf8(buffer.0.lock().expect("lock").clone()).expect("utf8");
        assert!(
            text.starts_with(&format!("trace_id={trace_id} ")),
            "console line lacks the trace id: {text}"
        );
        assert!(text.contains("inside"));
    }

    #[test]
    fn the_export_path_is_quiet_unless_named() {
        let f = filter("debug").expect("filter").to_string();
        assert!(
            f.contains("h2=warn") && f.contains("opentelemetry=warn"),
            "{f}"
        );
        let f = filter("debug,tonic=trace").expect("filter").to_string();
        assert!(
            f.contains("tonic=trace") && !f.contains("tonic=warn"),
            "{f}"
        );
        assert!(filter("info,[").is_err());
    }
}
