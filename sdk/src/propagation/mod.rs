//! Context propagation beyond HTTP: inject the current trace context into any string map
//! (message-queue headers, job payloads) and extract it on the other side; spawn tasks that
//! keep the current trace.
//!
//! The propagators are those of `OTEL_PROPAGATORS` (W3C `tracecontext` and `baggage` by
//! default; `b3`, `b3multi` and `jaeger` on request), installed globally by `beacon::init()`.
//!
//! # Example: a producer and a consumer in one trace
//! ```
//! use std::collections::HashMap;
//! use opentelemetry::trace::TraceContextExt as _;
//! use beacon::propagation::{extract, inject, SpanExt as _};
//!
//! let telemetry = beacon::builder()
//!     .traces_exporter(beacon::config::Exporter::None)
//!     .metrics_exporter(beacon::config::Exporter::None)
//!     .logs_exporter(beacon::config::Exporter::None)
//!     .build()?;
//! tracing::dispatcher::with_default(&telemetry.dispatch(), || {
//!     let mut headers: HashMap<String, String> = HashMap::new();
//!     let produced = tracing::info_span!("publish");
//!     produced.in_scope(|| telemetry.propagator().inject(&mut headers));
//!     assert!(headers.contains_key("traceparent"));
//!
//!     let consumed = tracing::info_span!("consume");
//!     consumed.set_parent(telemetry.propagator().extract(&headers))?;
//!     assert_eq!(
//!         consumed.context().span().span_context().trace_id(),
//!         produced.context().span().span_context().trace_id(),
//!     );
//!     Ok::<_, Box<dyn std::error::Error>>(())
//! })?;
//! # let _ = (inject::<HashMap<String, String>>, extract::<HashMap<String, String>>);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod b3;
mod hex;
mod jaeger;
pub(crate) mod random;
mod w3c;

use std::sync::Arc;

use opentelemetry::propagation::{
    Extractor, Injector, TextMapCompositePropagator, TextMapPropagator,
};
use opentelemetry::Context;
use opentelemetry_sdk::propagation::BaggagePropagator;

pub use b3::B3Propagator;
pub use jaeger::JaegerPropagator;
pub use tracing_opentelemetry::OpenTelemetrySpanExt as SpanExt;
pub use w3c::TraceContextPropagator;

use crate::config::Propagator;

/// The configured propagators as one. Cheap to clone.
#[derive(Clone)]
pub struct Propagators {
    inner: Arc<TextMapCompositePropagator>,
}

impl std::fmt::Debug for Propagators {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Propagators")
            .field("fields", &self.inner.fields().collect::<Vec<_>>())
            .finish()
    }
}

impl Propagators {
    pub(crate) fn new(list: &[Propagator]) -> Self {
        let parts: Vec<Box<dyn TextMapPropagator + Send + Sync>> = list
            .iter()
            .map(|p| -> Box<dyn TextMapPropagator + Send + Sync> {
                match p {
                    Propagator::TraceContext => Box::new(TraceContextPropagator::new()),
                    Propagator::Baggage => Box::new(JoinedBaggage(BaggagePropagator::new())),
                    Propagator::B3 => Box::new(B3Propagator::single()),
                    Propagator::B3Multi => Box::new(B3Propagator::multi()),
                    Propagator::Jaeger => Box::new(JaegerPropagator::new()),
                }
            })
            .collect();
        Self {
            inner: Arc::new(TextMapCompositePropagator::new(parts)),
        }
    }

    /// Writes the current span's context (the `tracing` span's, or the OTel context's when no
    /// span is entered) into `carrier`.
    pub fn inject(&self, carrier: &mut dyn Injector) {
        self.inner.inject_context(&current_context(), carrier);
    }

    /// Writes `cx` into `carrier`.
    pub fn inject_context(&self, cx: &Context, carrier: &mut dyn Injector) {
        self.inner.inject_context(cx, carrier);
    }

    /// Reads a remote context from `carrier`; use it with [`SpanExt::set_parent`].
    pub fn extract(&self, carrier: &dyn Extractor) -> Context {
        self.inner.extract(carrier)
    }

    pub(crate) fn shared(&self) -> TextMapCompositePropagatorHandle {
        TextMapCompositePropagatorHandle(Arc::clone(&self.inner))
    }
}

impl TextMapPropagator for Propagators {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        self.inner.inject_context(cx, injector);
    }
    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        self.inner.extract_with_context(cx, extractor)
    }
    fn fields(&self) -> opentelemetry::propagation::text_map_propagator::FieldIter<'_> {
        self.inner.fields()
    }
}

/// W3C Baggage over every `baggage` header of a request: the stock propagator reads only the
/// first, while the spec has several headers combined into one list (RFC 9110 §5.3). The
/// combined list is then held to the spec's limits by the stock propagator (64 members, 8192
/// bytes; beyond that members are dropped whole).
#[derive(Debug)]
struct JoinedBaggage(BaggagePropagator);

/// An extractor that answers `baggage` with all its values joined.
struct Joined<'a> {
    inner: &'a dyn Extractor,
    baggage: Option<String>,
}

impl Extractor for Joined<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        if key.eq_ignore_ascii_case("baggage") {
            if let Some(joined) = &self.baggage {
                return Some(joined);
            }
        }
        self.inner.get(key)
    }
    fn keys(&self) -> Vec<&str> {
        self.inner.keys()
    }
}

impl TextMapPropagator for JoinedBaggage {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        self.0.inject_context(cx, injector);
    }
    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let baggage = extractor
            .get_all("baggage")
            .filter(|all| all.len() > 1)
            .map(|all| all.join(","));
        self.0.extract_with_context(
            cx,
            &Joined {
                inner: extractor,
                baggage,
            },
        )
    }
    fn fields(&self) -> opentelemetry::propagation::text_map_propagator::FieldIter<'_> {
        self.0.fields()
    }
}

/// Lets the global propagator share Beacon's composite.
#[derive(Debug)]
pub(crate) struct TextMapCompositePropagatorHandle(Arc<TextMapCompositePropagator>);

impl TextMapPropagator for TextMapCompositePropagatorHandle {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        self.0.inject_context(cx, injector);
    }
    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        self.0.extract_with_context(cx, extractor)
    }
    fn fields(&self) -> opentelemetry::propagation::text_map_propagator::FieldIter<'_> {
        self.0.fields()
    }
}

fn current_context() -> Context {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let span = tracing::Span::current();
    if span.is_disabled() {
        Context::current()
    } else {
        span.context()
    }
}

/// Injects the current context into `carrier` with the global propagator (the one
/// `beacon::init()` installed).
pub fn inject<C: Injector>(carrier: &mut C) {
    let cx = current_context();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, carrier));
}

/// The W3C trace flags Beacon sends for `span_context` (in `traceparent` and `traceresponse`):
/// its own flags, plus Level 2's `random` (`0x02`) when its trace id is known to be random —
/// generated by Beacon's default id generator, or received with the flag. The SDK cannot
/// keep that flag on the span itself (see the README's "Where Beacon departs from the specs").
///
/// ```
/// use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
///
/// let never_seen = SpanContext::new(
///     TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736),
///     SpanId::from(0x00f0_67aa_0ba9_02b7),
///     TraceFlags::SAMPLED,
///     true,
///     TraceState::default(),
/// );
/// assert_eq!(beacon::propagation::trace_flags(&never_seen), TraceFlags::SAMPLED);
/// ```
pub fn trace_flags(
    span_context: &opentelemetry::trace::SpanContext,
) -> opentelemetry::trace::TraceFlags {
    let flags = span_context.trace_flags();
    if random::is_random(span_context.trace_id()) {
        opentelemetry::trace::TraceFlags::new(flags.to_u8() | 0x02)
    } else {
        flags
    }
}

/// Extracts a remote context from `carrier` with the global propagator.
pub fn extract<C: Extractor>(carrier: &C) -> Context {
    opentelemetry::global::get_text_map_propagator(|p| p.extract(carrier))
}

/// Spawns `future` on the current tokio runtime inside the current `tracing` span, so the
/// task's spans and logs stay in the caller's trace.
///
/// # Panics
/// As [`tokio::spawn`]: when called outside a tokio runtime.
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    use tracing::Instrument as _;
    tokio::spawn(future.instrument(tracing::Span::current()))
}
