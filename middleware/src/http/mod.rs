//! HTTP: [`ServerLayer`] for services (axum, hyper), [`ClientLayer`] for clients.
//!
//! Both follow the stable HTTP semantic conventions for span names, attributes, status and the
//! `http.{server,client}.request.duration` histograms (with the advised bucket boundaries),
//! and add the development-status `active_requests` and body-size metrics.

pub(crate) mod client;
pub(crate) mod exchange;
pub(crate) mod semconv;
mod server;

use std::borrow::Cow;

use beacon::propagation::Propagators;
use opentelemetry::metrics::{Meter, MeterProvider};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::InstrumentationScope;

pub use client::{ClientLayer, ClientService};
pub use exchange::InstrumentedBody;
pub use server::{ServerFuture, ServerLayer, ServerService};

/// Where the propagator comes from.
#[derive(Clone, Debug, Default)]
pub(crate) enum Propagation {
    /// The global propagator at the time of each request (what `beacon::init()` installs).
    #[default]
    Global,
    /// A given set, for example `telemetry.propagator()` of a pipeline that is not global.
    Given(Propagators),
}

impl Propagation {
    /// The caller's context from `headers`, or `None` when they carry none of the
    /// propagators' fields (the common case for a request from outside: nothing to parse).
    pub(crate) fn extract_from(&self, headers: &http::HeaderMap) -> Option<opentelemetry::Context> {
        let carrier = crate::headers::HeaderExtractor(headers);
        // Compared as text, without parsing a header name per field.
        let present = |p: &dyn TextMapPropagator| {
            headers
                .keys()
                .any(|name| p.fields().any(|f| f.eq_ignore_ascii_case(name.as_str())))
        };
        match self {
            Self::Global => opentelemetry::global::get_text_map_propagator(|p| {
                present(p).then(|| p.extract(&carrier))
            }),
            Self::Given(p) => present(p).then(|| p.extract(&carrier)),
        }
    }

    pub(crate) fn extract(&self, carrier: &dyn Extractor) -> opentelemetry::Context {
        match self {
            Self::Global => opentelemetry::global::get_text_map_propagator(|p| p.extract(carrier)),
            Self::Given(p) => p.extract(carrier),
        }
    }

    pub(crate) fn inject(&self, cx: &opentelemetry::Context, carrier: &mut dyn Injector) {
        match self {
            Self::Global => {
                opentelemetry::global::get_text_map_propagator(|p| p.inject_context(cx, carrier));
            }
            Self::Given(p) => p.inject_context(cx, carrier),
        }
    }
}

/// The instrumentation scope of everything this crate records.
fn scope() -> InstrumentationScope {
    InstrumentationScope::builder("beacon-middleware")
        .with_version(env!("CARGO_PKG_VERSION"))
        .with_schema_url("https://opentelemetry.io/schemas/1.37.0")
        .build()
}

pub(crate) fn global_meter() -> Meter {
    opentelemetry::global::meter_with_scope(scope())
}

pub(crate) fn meter_from(provider: &dyn MeterProvider) -> Meter {
    provider.meter_with_scope(scope())
}

pub(crate) fn default_sensitive_keys() -> Vec<Cow<'static, str>> {
    semconv::DEFAULT_SENSITIVE_QUERY_KEYS
        .iter()
        .map(|k| Cow::Borrowed(*k))
        .collect()
}
