//! The `tracing` subscriber stack: spans → OTel spans, events → OTel log records, an optional
//! readable console layer whose lines carry the trace id, and — when that layer is off —
//! Beacon's own warnings on stderr, so that they are seen whatever the log pipeline does (with
//! no collector, the OTLP log exporter itself is what fails).

use std::fmt;

use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry::InstrumentationScope;
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::{Dispatch, Event, Subscriber};
use tracing_subscriber::fmt::format::{DefaultFields, Format, Writer};

use crate::log_limits::{LimitedProvider, LogLimits};
use tracing_subscriber::filter::Targets;
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

/// The `tracing` filter. `EnvFilter` parses and checks the directives either way; when all of
/// them are static (targets and levels, no `[span]` or `{field}` parts), the filter that runs is
/// a [`Targets`] built from the same directives instead.
///
/// Why: `EnvFilter` consults a process-wide `RwLock`ed map on every span new/enter/exit/record/
/// close, to track spans for its dynamic directives, even when there are none — about ten lock
/// round trips per HTTP request, shared by every core. `Targets` holds the same static
/// directive set (tracing-subscriber's `DirectiveSet<StaticDirective>`, matched the same way)
/// and keeps no per-span state.
#[derive(Debug)]
pub(crate) struct Filter {
    directives: String,
    kind: FilterKind,
}

// Built once per `init`, and moved into the subscriber: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum FilterKind {
    Static(Targets),
    Dynamic(EnvFilter),
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.directives)
    }
}

impl Filter {
    #[cfg(test)]
    fn is_static(&self) -> bool {
        matches!(self.kind, FilterKind::Static(_))
    }
}

pub(crate) fn filter(directives: &str) -> Result<Filter, InitError> {
    let mut parts: Vec<String> = directives
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
        .collect();
    for target in EXPORT_PATH_TARGETS {
        if !directives.contains(target) {
            parts.push(format!("{target}=warn"));
        }
    }
    let all = parts.join(",");
    let env = EnvFilter::builder().parse(&all).map_err(|e| {
        InitError::invalid(
            RUST_LOG,
            directives,
            format!("tracing-subscriber EnvFilter directives, such as `info,my_crate=debug` ({e})"),
        )
    })?;
    let dynamic = all.contains(['[', '{']);
    let kind = match all.parse::<Targets>() {
        Ok(targets) if !dynamic => FilterKind::Static(targets),
        _ => FilterKind::Dynamic(env),
    };
    Ok(Filter {
        directives: all,
        kind,
    })
}

pub(crate) fn dispatch(
    filter: Filter,
    tracer_provider: &SdkTracerProvider,
    logger_provider: &SdkLoggerProvider,
    log_limits: LogLimits,
    console: Option<(BoxMakeWriter, bool)>,
) -> Dispatch {
    let diagnostics = console.is_none().then(|| Diagnostics {
        writer: BoxMakeWriter::new(std::io::stderr),
    });
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
    let (static_filter, env_filter) = match filter.kind {
        FilterKind::Static(targets) => (Some(targets), None),
        FilterKind::Dynamic(env) => (None, Some(env)),
    };
    let subscriber = Registry::default()
        .with(static_filter)
        .with(env_filter)
        .with(spans)
        .with(logs)
        .with(console)
        .with(diagnostics);
    Dispatch::new(subscriber)
}

/// Writes Beacon's own warnings and errors (events whose target starts with `beacon`: config
/// warnings, failed or dropped exports, which their sources already rate-limit) as one line each
/// to `writer`. Only `on_event` does anything, so spans cost nothing more.
struct Diagnostics {
    writer: BoxMakeWriter,
}

impl Diagnostics {
    fn wants(metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() <= tracing::Level::WARN && metadata.target().starts_with("beacon")
    }
}

impl<S: Subscriber> tracing_subscriber::Layer<S> for Diagnostics {
    fn on_event(&self, event: &Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let metadata = event.metadata();
        if !Self::wants(metadata) {
            return;
        }
        let mut line = format!("{} {}: ", metadata.level(), metadata.target());
        event.record(&mut LineVisitor(&mut line));
        line.push('\n');
        use std::io::Write as _;
        use tracing_subscriber::fmt::MakeWriter as _;
        // Nothing to do about a stderr that cannot be written.
        let _ = self.writer.make_writer().write_all(line.as_bytes());
    }
}

/// The message first, then `key=value` for every other field.
struct LineVisitor<'a>(&'a mut String);

impl tracing::field::Visit for LineVisitor<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        use fmt::Write as _;
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        use fmt::Write as _;
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
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

    #[test]
    fn beacons_own_warnings_reach_the_diagnostics_writer_and_nothing_else_does() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = Registry::default().with(Diagnostics {
            writer: BoxMakeWriter::new(move || writer.clone()),
        });
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(target: "beacon", "OTEL_RESOURCE_ATTRIBUTES discarded");
            tracing::warn!(
                target: "beacon_exporter::batch",
                destination = "traces/otlp",
                "export failed"
            );
            tracing::info!(target: "beacon", "not a warning");
            tracing::warn!(target: "my_app", "the application's own");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "WARN beacon: OTEL_RESOURCE_ATTRIBUTES discarded\n\
             WARN beacon_exporter::batch: export failed destination=traces/otlp\n"
        );
    }

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
        assert!(filter("info,my_crate=loud").is_err());
    }

    #[test]
    fn static_directives_run_without_envfilters_span_tracking() {
        assert!(filter("info").expect("filter").is_static());
        assert!(filter("warn,my_crate::db=trace,off_crate=off")
            .expect("filter")
            .is_static());
        assert!(filter("").expect("filter").is_static());
        assert!(!filter("info,[request{user=admin}]=trace")
            .expect("filter")
            .is_static());
        assert!(!filter("my_crate[{id}]=debug").expect("filter").is_static());
    }

    /// The same directives decide the same way whichever filter runs them.
    #[test]
    fn both_filters_keep_the_same_events() {
        use tracing::Level;
        use tracing_subscriber::layer::Context as LayerContext;

        struct Seen(Arc<Mutex<Vec<String>>>);
        impl<S: Subscriber> tracing_subscriber::Layer<S> for Seen {
            fn on_event(&self, event: &Event<'_>, _: LayerContext<'_, S>) {
                let m = event.metadata();
                if let Ok(mut seen) = self.0.lock() {
                    seen.push(format!("{}:{}", m.target(), m.level()));
                }
            }
        }
        let run = |f: Filter| {
            let seen = Arc::new(Mutex::new(Vec::new()));
            let (a, b) = match f.kind {
                FilterKind::Static(t) => (Some(t), None),
                FilterKind::Dynamic(e) => (None, Some(e)),
            };
            let subscriber = Registry::default().with(a).with(b).with(Seen(seen.clone()));
            tracing::subscriber::with_default(subscriber, || {
                macro_rules! all_levels {
                    ($target:literal) => {
                        tracing::event!(target: $target, Level::TRACE, "t");
                        tracing::event!(target: $target, Level::DEBUG, "d");
                        tracing::event!(target: $target, Level::INFO, "i");
                        tracing::event!(target: $target, Level::WARN, "w");
                        tracing::event!(target: $target, Level::ERROR, "e");
                    };
                }
                all_levels!("app");
                all_levels!("app::db");
                all_levels!("app::dbx");
                all_levels!("hyper::proto");
                all_levels!("noisy");
                all_levels!("other");
            });
            let seen = seen.lock().expect("lock").clone();
            seen
        };
        for directives in [
            "info",
            "warn,app=debug,app::db=trace,noisy=off",
            "app=trace",
            "debug,hyper=info",
            "error",
        ] {
            let fast = filter(directives).expect("filter");
            assert!(fast.is_static(), "{directives}");
            let env = Filter {
                kind: FilterKind::Dynamic(
                    EnvFilter::builder()
                        .parse(&fast.directives)
                        .expect("directives"),
                ),
                directives: fast.directives.clone(),
            };
            let (a, b) = (run(fast), run(env));
            assert!(!a.is_empty() || directives == "error", "{directives}");
            assert_eq!(a, b, "{directives}");
        }
    }
}
