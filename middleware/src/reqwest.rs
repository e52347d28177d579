//! reqwest support: a `reqwest-middleware` middleware with what [`crate::http::ClientLayer`]
//! records (feature `reqwest`).
//!
//! ```
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(beacon_middleware::reqwest::TracingMiddleware::new())
//!     .build();
//! # drop(client);
//! ```
//!
//! The span and `http.client.request.duration` end when the response head arrives: reqwest
//! hands the body to the caller, out of the middleware's sight.

use beacon::propagation::Propagators;
use opentelemetry::metrics::MeterProvider;
use reqwest_middleware::{Middleware, Next};

use crate::http::client::{start_client, Config};
use crate::http::ClientLayer;

/// Instruments every request a `reqwest_middleware::ClientWithMiddleware` sends: a client
/// span (a child of the current span) whose context goes out in the request headers, and the
/// `http.client.*` metrics, per the HTTP semantic conventions.
#[derive(Clone, Debug)]
pub struct TracingMiddleware {
    layer: ClientLayer,
}

impl Default for TracingMiddleware {
    fn default() -> Self {
        Self::new()
    }
}

impl TracingMiddleware {
    /// The defaults of [`ClientLayer::new`].
    pub fn new() -> Self {
        Self {
            layer: ClientLayer::new(),
        }
    }

    /// Built from a configured [`ClientLayer`] (meter provider, propagator, captured
    /// headers, sensitive query keys).
    pub fn from_layer(layer: ClientLayer) -> Self {
        Self { layer }
    }

    /// Records metrics with this provider instead of the global one.
    #[must_use]
    pub fn meter_provider(self, provider: &dyn MeterProvider) -> Self {
        Self::from_layer(self.layer.meter_provider(provider))
    }

    /// Injects the context with these propagators instead of the global ones.
    #[must_use]
    pub fn propagator(self, propagators: Propagators) -> Self {
        Self::from_layer(self.layer.propagator(propagators))
    }

    fn config(&self) -> &Config {
        self.layer.config_ref()
    }
}

#[async_trait::async_trait]
impl Middleware for TracingMiddleware {
    async fn handle(
        &self,
        mut request: reqwest::Request,
        extensions: &mut http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let method = request.method().clone();
        let uri: http::Uri = match request.url().as_str().parse() {
            Ok(uri) => uri,
            // A URL http cannot represent goes out uninstrumented rather than failing.
            Err(_) => return next.run(request, extensions).await,
        };
        let version = request.version();
        let mut guard = start_client(self.config(), &method, &uri, version, request.headers_mut());
        let result = {
            let span = guard.span().cloned().unwrap_or_else(tracing::Span::none);
            tracing::Instrument::instrument(next.run(request, extensions), span).await
        };
        match &result {
            Ok(response) => {
                if let Some(exchange) = guard.exchange_mut() {
                    exchange.response_head(response.status(), response.headers());
                    for kv in self
                        .config()
                        .response_headers
                        .attributes(response.headers())
                    {
                        tracing_opentelemetry::OpenTelemetrySpanExt::set_attribute(
                            &exchange.span,
                            kv.key,
                            kv.value,
                        );
                    }
                }
                guard.complete();
            }
            Err(error) => {
                let kind = if error.is_middleware() {
                    "reqwest_middleware::Error"
                } else {
                    "reqwest::Error"
                };
                guard.fail(kind, error.to_string());
            }
        }
        result
    }
}
