//! Metrics beyond the meter provider: the Prometheus scrape endpoint and exemplars.
//!
//! `OTEL_METRICS_EXPORTER=prometheus` (alone, or beside `otlp`: `otlp,prometheus`) adds a pull
//! reader to the meter provider. Beacon serves it on a listener of its own at
//! `OTEL_EXPORTER_PROMETHEUS_HOST:OTEL_EXPORTER_PROMETHEUS_PORT` (default `localhost:9464`,
//! path `/metrics`) unless [`crate::Builder::prometheus_listener`] turns that off, and
//! `beacon_middleware::axum::metrics_route()` serves it on the application's own router. Scrapers
//! get Prometheus text 0.0.4 by default and OpenMetrics 1.0 (with exemplars) when their `Accept`
//! header prefers it, as Prometheus's does.
//!
//! # Example
//! ```
//! let telemetry = beacon::builder()
//!     .env_source(|_| None)
//!     .metrics_exporter(beacon::config::Exporter::Prometheus)
//!     .prometheus_listener(false)
//!     .build()?;
//! let reader = telemetry.prometheus().expect("prometheus is on");
//! let scrape = reader.scrape(None)?;
//! assert_eq!(scrape.content_type(), "text/plain; version=0.0.4; charset=utf-8");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::RwLock;

pub use beacon_exporter::exemplars::{Exemplar, ExemplarFilter};
pub use beacon_exporter::prometheus::{Format, Naming, PrometheusReader, Scrape, ScrapeError};

static PROMETHEUS: RwLock<Option<PrometheusReader>> = RwLock::new(None);

/// The Prometheus reader of the installed pipeline (`beacon::init()`), if it has one.
pub fn prometheus() -> Option<PrometheusReader> {
    match PROMETHEUS.read() {
        Ok(r) => r.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

pub(crate) fn set_prometheus(reader: PrometheusReader) {
    match PROMETHEUS.write() {
        Ok(mut r) => *r = Some(reader),
        Err(poisoned) => *poisoned.into_inner() = Some(reader),
    }
}

pub use beacon_exporter::exemplars::{exemplars, Exemplars, Reservoir};

/// Offers a measurement just recorded inside `span` to `reservoir` as an exemplar: kept (with
/// the span's trace and span ids) when a Prometheus reader is on and the filter admits it.
/// Beacon's own instruments do this; do the same for a histogram or counter of your own with a
/// reservoir from [`exemplars()`]`.histogram(name, bounds)` / `.counter(name)` and the same
/// attributes you recorded with.
///
/// ```
/// use opentelemetry::KeyValue;
/// let reservoir = beacon::metrics::exemplars().histogram("queue.wait", &[0.01, 0.1, 1.0]);
/// let attrs = [KeyValue::new("queue", "orders")];
/// // histogram.record(0.05, &attrs); then:
/// beacon::metrics::offer_exemplar(&reservoir, 0.05, &attrs, &tracing::Span::current());
/// ```
pub fn offer_exemplar(
    reservoir: &Reservoir,
    value: f64,
    attrs: &[opentelemetry::KeyValue],
    span: &tracing::Span,
) {
    if let Some(sc) = exemplar_context(span) {
        reservoir.offer(value, attrs, &sc);
    }
}

/// [`exemplar_context`] for the span the current thread is in: read from the OpenTelemetry
/// context that entering a span attaches, which costs a thread-local lookup rather than a
/// subscriber query.
pub fn exemplar_context_current() -> Option<opentelemetry::trace::SpanContext> {
    use opentelemetry::trace::TraceContextExt as _;
    if !exemplars().enabled() {
        return None;
    }
    Some(opentelemetry::Context::map_current(|cx| {
        cx.span().span_context().clone()
    }))
}

/// The span context exemplars of measurements made in `span` carry, or `None` when none would
/// be kept (no reader wants exemplars, or the filter rejects measurements outside a span).
/// Reading a span's context costs a few hundred nanoseconds: when one measurement feeds several
/// reservoirs, get it once and call [`Reservoir::offer`] for each.
pub fn exemplar_context(span: &tracing::Span) -> Option<opentelemetry::trace::SpanContext> {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let store = exemplars();
    if !store.enabled() {
        return None;
    }
    if span.is_disabled() {
        return (store.filter() == ExemplarFilter::AlwaysOn)
            .then(opentelemetry::trace::SpanContext::empty_context);
    }
    Some(span.context().span().span_context().clone())
}
