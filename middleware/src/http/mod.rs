//! HTTP: [`ServerLayer`] for services (axum, hyper), [`ClientLayer`] for clients.
//!
//! Both follow the stable HTTP semantic conventions for span names, attributes, status and the
//! `http.{server,client}.request.duration` histograms (with the advised bucket boundaries),
//! and add the development-status `active_requests` and body-size metrics.

#[macro_use]
mod options {
    /// The options [`ServerLayer`] and [`ClientLayer`] share, written once. `$side` picks the
    /// metric names; `$url` names the attribute whose query is redacted.
    macro_rules! shared_options {
        ($side:expr, $url:literal, $path_attr:literal) => {
            /// Records metrics with this provider instead of the global one.
            #[must_use]
            pub fn meter_provider(mut self, provider: &dyn opentelemetry::metrics::MeterProvider) -> Self {
                self.config().instruments =
                    std::sync::Arc::new($crate::http::instruments::Instruments::new(&$crate::http::meter_from(provider), $side));
                self
            }

            /// Propagates with these propagators instead of the global ones (for a pipeline built
            /// with `beacon::builder().build()` and not installed).
            #[must_use]
            pub fn propagator(mut self, propagators: beacon::propagation::Propagators) -> Self {
                self.config().propagation = $crate::http::Propagation::Given(propagators);
                self
            }

            /// Records these request headers as `http.request.header.<name>` attributes.
            /// `authorization`, `cookie`, `set-cookie` and `proxy-authorization` are recorded as
            /// `REDACTED` whatever the list says, and so are the
            /// [sensitive headers](Self::sensitive_headers).
            #[must_use]
            pub fn capture_request_headers<I, S>(mut self, names: I) -> Self
            where
                I: IntoIterator<Item = S>,
                S: AsRef<str>,
            {
                let config = self.config();
                config.request_headers =
                    $crate::headers::HeaderCapture::new("http.request.header.", names)
                        .redacting(&config.sensitive_headers)
                        .limited(config.max_attribute_bytes);
                self
            }

            /// Records these response headers as `http.response.header.<name>` attributes (secrets
            /// redacted as for requests).
            #[must_use]
            pub fn capture_response_headers<I, S>(mut self, names: I) -> Self
            where
                I: IntoIterator<Item = S>,
                S: AsRef<str>,
            {
                let config = self.config();
                config.response_headers = std::sync::Arc::new(
                    $crate::headers::HeaderCapture::new("http.response.header.", names)
                        .redacting(&config.sensitive_headers)
                        .limited(config.max_attribute_bytes),
                );
                self
            }

            /// Records exactly these HTTP methods as themselves (case-sensitive) and any other as
            /// `_OTHER` (with `http.request.method_original`), replacing the default list —
            /// RFC 9110's, `PATCH` and `QUERY` — or `OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS`,
            /// which sets the same list for every layer. Each distinct name is kept for the life
            /// of the process.
            #[must_use]
            pub fn known_methods<I, S>(mut self, methods: I) -> Self
            where
                I: IntoIterator<Item = S>,
                S: AsRef<str>,
            {
                self.config().known_methods = $crate::http::semconv::KnownMethods::only(methods);
                self
            }

            #[doc = concat!("The most bytes recorded of each value taken from the request or response (`", $path_attr, "`,")]
            /// `url.query`, `user_agent.original`, `server.address`, `client.address`,
            /// `http.request.method_original`, each captured header over all its values); longer
            /// values are cut at a character boundary. Default 4096: a caller chooses how long
            /// they are, and each is held in memory until its span is exported.
            #[must_use]
            pub fn max_attribute_bytes(mut self, max: usize) -> Self {
                let config = self.config();
                config.max_attribute_bytes = max;
                config.request_headers = config.request_headers.clone().limited(max);
                config.response_headers =
                    std::sync::Arc::new((*config.response_headers).clone().limited(max));
                self
            }

            /// Captured headers whose values are recorded as `REDACTED`: names, `*suffix` or
            /// `prefix*` patterns, any case. Replaces the default list (`x-api-key`, `api-key`,
            /// `x-auth-token`, `x-amz-security-token`, `*-token`, `*-secret`, `*-api-key`);
            /// `authorization`, `cookie`, `set-cookie` and `proxy-authorization` are redacted
            /// whatever it says.
            #[must_use]
            pub fn sensitive_headers<I, S>(mut self, patterns: I) -> Self
            where
                I: IntoIterator<Item = S>,
                S: Into<std::borrow::Cow<'static, str>>,
            {
                let config = self.config();
                config.sensitive_headers = patterns.into_iter().map(Into::into).collect();
                config.request_headers =
                    config.request_headers.clone().redacting(&config.sensitive_headers);
                config.response_headers = std::sync::Arc::new(
                    (*config.response_headers).clone().redacting(&config.sensitive_headers),
                );
                self
            }

            #[doc = concat!("Rewrites the URL path recorded in `", $path_attr, "`, to keep identifiers out of it")]
            /// (`/users/alice@example.com` → `/users/{email}`): `scrub` returns the text to record,
            /// or `None` to record the path as it is. It never changes the request itself, nor
            /// `http.route` or the span name (route templates already).
            #[must_use]
            pub fn scrub_url_path(
                mut self,
                scrub: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
            ) -> Self {
                self.config().scrub_path = Some(std::sync::Arc::new(scrub));
                self
            }

            #[doc = concat!("Query keys (any case) whose values are recorded as `REDACTED` in `", $url, "`;")]
            /// replaces the default list (`token`, `access_token`, `api_key`, `key`, `password`,
            /// `secret`, `sig`, `Signature`, `X-Amz-Signature` and the like).
            #[must_use]
            pub fn sensitive_query_keys<I, S>(mut self, keys: I) -> Self
            where
                I: IntoIterator<Item = S>,
                S: Into<std::borrow::Cow<'static, str>>,
            {
                self.config().sensitive_query = keys.into_iter().map(Into::into).collect();
                self
            }
        };
    }
}

pub(crate) mod client;
mod edge;
pub(crate) mod exchange;
pub(crate) mod instruments;
pub(crate) mod semconv;
mod server;

use std::borrow::Cow;

use beacon::propagation::Propagators;
use opentelemetry::metrics::{Meter, MeterProvider};
use opentelemetry::propagation::{Injector, TextMapPropagator};
use opentelemetry::InstrumentationScope;

pub use client::{ClientLayer, ClientService};
pub use edge::InboundContext;
pub use exchange::InstrumentedBody;
/// An IP network (`10.0.0.0/8`, `2001:db8::/32`) or, from an `IpAddr`, one address: for
/// [`ServerLayer::trusted_proxies`].
pub use ipnet::IpNet;
pub use server::{ServerFuture, ServerLayer, ServerService};

/// [`ServerLayer::scrub_url_path`] / [`ClientLayer::scrub_url_path`].
pub(crate) type PathScrubber = std::sync::Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// `path`, or what the scrubber makes of it.
pub(crate) fn scrubbed<'a>(scrub: Option<&PathScrubber>, path: &'a str) -> Cow<'a, str> {
    match scrub.and_then(|f| f(path)) {
        Some(s) => Cow::Owned(s),
        None => Cow::Borrowed(path),
    }
}

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
