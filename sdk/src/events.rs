//! Typed domain events: one call, three signals.
//!
//! [`emit`] turns a value implementing [`Event`] (usually through `#[derive(beacon::Event)]`)
//! into a span event on the current span, an OpenTelemetry log record with `event.name` and the
//! fields as attributes (carrying the trace and span ids), and an increment of the counter
//! `beacon.events` with attribute `event.name` — so every event has a rate without extra code.
//! Each output can be turned off per event type.
//!
//! ```
//! #[derive(beacon::Event)]
//! #[event(name = "payment.charged")]
//! struct Charged {
//!     order_id: u64,
//!     amount: f64,
//!     #[event(sensitive)]
//!     card: String,
//! }
//!
//! beacon::emit(Charged { order_id: 7, amount: 9.99, card: "4242…".into() });
//! ```
//!
//! Without a subscriber or with `OTEL_SDK_DISABLED=true`, `emit` returns after one check (a
//! few nanoseconds; see `BENCHMARKS.md`): the attributes are never built.

use std::sync::{OnceLock, RwLock};

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::metrics::{Counter, MeterProvider as _};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::logs::{SdkLogger, SdkLoggerProvider};
use opentelemetry_sdk::metrics::SdkMeterProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// A domain event: a name, attributes, and which outputs it goes to. Derive it with
/// `#[derive(beacon::Event)]`.
pub trait Event {
    /// `event.name`, for example `circuit_breaker.state_change`.
    const NAME: &'static str;
    /// The log record's severity (default INFO).
    const SEVERITY: Severity = Severity::Info;
    /// Whether to add a span event to the current span.
    const SPAN_EVENT: bool = true;
    /// Whether to emit a log record.
    const LOG: bool = true;
    /// Whether to count it in `beacon.events`.
    const METRIC: bool = true;

    /// The event's fields as attributes.
    fn attributes(&self) -> Vec<KeyValue>;
}

/// Where events go besides the current span: set by `Telemetry` when it is installed.
struct Sink {
    logger: SdkLogger,
    counter: Counter<u64>,
    exemplars: std::sync::Arc<crate::metrics::Reservoir>,
}

fn sink() -> &'static RwLock<Option<Sink>> {
    static SINK: OnceLock<RwLock<Option<Sink>>> = OnceLock::new();
    SINK.get_or_init(|| RwLock::new(None))
}

pub(crate) fn install(logs: &SdkLoggerProvider, metrics: &SdkMeterProvider) {
    let scope = opentelemetry::InstrumentationScope::builder("beacon.events")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build();
    let counter = metrics
        .meter_with_scope(scope.clone())
        .u64_counter("beacon.events")
        .with_unit("{event}")
        .with_description("Domain events emitted, by event.name.")
        .build();
    let logger = logs.logger_with_scope(scope);
    if let Ok(mut slot) = sink().write() {
        *slot = Some(Sink {
            logger,
            counter,
            exemplars: crate::metrics::exemplars().counter("beacon.events"),
        });
    }
}

/// Emits `event`: a span event, a log record and a count, as the event type says.
pub fn emit<E: Event>(event: E) {
    // The cheap path: nothing listens (no subscriber, or the SDK is disabled).
    if !tracing::enabled!(target: "beacon::event", tracing::Level::ERROR) {
        return;
    }
    let span = tracing::Span::current();
    let mut attributes = event.attributes();
    if E::SPAN_EVENT && !span.is_disabled() {
        // Copied only when the log record needs them too.
        let for_span = if E::LOG {
            attributes.clone()
        } else {
            std::mem::take(&mut attributes)
        };
        span.add_event(E::NAME, for_span);
    }
    if !(E::LOG || E::METRIC) {
        return;
    }
    let Ok(guard) = sink().read() else { return };
    let Some(sink) = guard.as_ref() else { return };
    // The span's context, read once (it costs a few hundred nanoseconds) for the log record's
    // trace ids and the counter's exemplar.
    let span_context = (E::LOG || crate::metrics::exemplars().enabled()).then(|| {
        // Entering a span attaches its OpenTelemetry context: a thread-local read, far cheaper
        // than asking the subscriber for `span.context()`.
        opentelemetry::Context::map_current(|cx| cx.span().span_context().clone())
    });
    if E::METRIC {
        let attrs = [KeyValue::new("event.name", E::NAME)];
        sink.counter.add(1, &attrs);
        if let Some(sc) = &span_context {
            // The reservoir applies the filter (and keeps nothing when exemplars are off).
            sink.exemplars.offer(1.0, &attrs, sc);
        }
    }
    if E::LOG {
        let mut record = sink.logger.create_log_record();
        record.set_event_name(E::NAME);
        record.set_severity_number(E::SEVERITY);
        record.set_severity_text(E::SEVERITY.name());
        record.set_body(AnyValue::from(E::NAME));
        record.set_timestamp(std::time::SystemTime::now());
        for kv in attributes {
            record.add_attribute(kv.key, to_any(kv.value));
        }
        if let Some(sc) = span_context.filter(|sc| sc.is_valid()) {
            record.set_trace_context(sc.trace_id(), sc.span_id(), Some(sc.trace_flags()));
        }
        sink.logger.emit(record);
    }
}

fn to_any(value: Value) -> AnyValue {
    match value {
        Value::Bool(b) => AnyValue::Boolean(b),
        Value::I64(i) => AnyValue::Int(i),
        Value::F64(f) => AnyValue::Double(f),
        Value::String(s) => AnyValue::String(s),
        other => AnyValue::String(other.to_string().into()),
    }
}

/// What the derive macro uses; not for direct use.
#[doc(hidden)]
pub mod __private {
    pub use opentelemetry::logs::Severity;
    pub use opentelemetry::{KeyValue, Value};

    /// The text that replaces a `#[event(sensitive)]` field.
    pub const REDACTED: &str = "REDACTED";

    /// Field values the derive turns into attributes without help; `None` leaves the
    /// attribute out.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be an event attribute as it is",
        label = "not an integer, float, bool, string, or an `Option` of one",
        note = "record its text: put `#[event(display)]` (its `Display`) or `#[event(debug)]` (its `Debug`) on the field, or leave it out with `#[event(skip)]`"
    )]
    pub trait ToAttribute {
        /// The attribute value.
        fn to_attribute(&self) -> Option<Value>;
    }

    macro_rules! ints {
        ($($t:ty),*) => {$(
            impl ToAttribute for $t {
                fn to_attribute(&self) -> Option<Value> {
                    Some(Value::I64(i64::from(*self)))
                }
            }
        )*};
    }
    ints!(i8, i16, i32, i64, u8, u16, u32);

    /// Integers that may not fit in `i64`: an integer attribute when they do, else the
    /// decimal text (never a wrapped negative number) — as `#[beacon::instrument]` records
    /// an unsigned argument.
    macro_rules! wide_ints {
        ($($t:ty),*) => {$(
            impl ToAttribute for $t {
                fn to_attribute(&self) -> Option<Value> {
                    Some(match i64::try_from(*self) {
                        Ok(v) => Value::I64(v),
                        Err(_) => Value::from(self.to_string()),
                    })
                }
            }
        )*};
    }
    wide_ints!(isize, u64, usize);

    impl ToAttribute for f32 {
        fn to_attribute(&self) -> Option<Value> {
            Some(Value::F64(f64::from(*self)))
        }
    }
    impl ToAttribute for f64 {
        fn to_attribute(&self) -> Option<Value> {
            Some(Value::F64(*self))
        }
    }
    impl ToAttribute for bool {
        fn to_attribute(&self) -> Option<Value> {
            Some(Value::Bool(*self))
        }
    }
    impl ToAttribute for String {
        fn to_attribute(&self) -> Option<Value> {
            Some(Value::from(self.clone()))
        }
    }
    impl ToAttribute for &str {
        fn to_attribute(&self) -> Option<Value> {
            Some(Value::from((*self).to_owned()))
        }
    }
    impl<T: ToAttribute> ToAttribute for Option<T> {
        fn to_attribute(&self) -> Option<Value> {
            self.as_ref().and_then(ToAttribute::to_attribute)
        }
    }
}
