//! reqwest support: a `reqwest-middleware` middleware with what [`crate::http::ClientLayer`]
//! records (feature `reqwest`). `reqwest` and `reqwest_middleware` are re-exported here at the
//! versions the middleware is built for, so a crate needs no dependency of its own on either
//! (and cannot end up with two incompatible versions):
//!
//! ```
//! use beacon_middleware::reqwest::{reqwest, reqwest_middleware, TracingMiddleware};
//!
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(TracingMiddleware::new())
//!     .build();
//! let request = client.get("http://127.0.0.1:1/orders/7").build()?;
//! assert_eq!(request.url().path(), "/orders/7");
//! # Ok::<(), reqwest::Error>(())
//! ```
//!
//! The span and `http.client.request.duration` end when the response head arrives: reqwest
//! hands the body to the caller, out of the middleware's sight.

pub use reqwest;
pub use reqwest_middleware;

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
        let mut guard = start_client(self.config(), &method, &uri, request.headers_mut());
        let result = {
            let span = guard.span().cloned().unwrap_or_else(tracing::Span::none);
            tracing::Instrument::instrument(next.run(request, extensions), span).await
        };
        match &result {
            Ok(response) => {
                if let Some(exchange) = guard.exchange_mut() {
                    exchange.negotiated(response.version());
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
                let config = self.config();
                let text = error_text(
                    error,
                    &uri,
                    &config.sensitive_query,
                    config.scrub_path.as_ref(),
                );
                guard.fail(kind, text);
            }
        }
        result
    }
}

/// The error's text without the URL reqwest appends (`… for url (https://…?token=…)`), which
/// would carry the query and credentials `url.full` redacts; a URL another middleware quotes is
/// replaced by its redacted form.
fn error_text(
    error: &reqwest_middleware::Error,
    uri: &http::Uri,
    sensitive: &[std::borrow::Cow<'static, str>],
    scrub: Option<&crate::http::PathScrubber>,
) -> String {
    let mut text = error.to_string();
    let reqwest_error = match error {
        reqwest_middleware::Error::Reqwest(e) => Some(e),
        reqwest_middleware::Error::Middleware(e) => e.downcast_ref::<reqwest::Error>(),
    };
    let mut urls = vec![uri.clone()];
    if let Some(url) = reqwest_error.and_then(reqwest::Error::url) {
        text = text.replace(&format!(" for url ({url})"), "");
        // A redirect's URL, for instance.
        urls.extend(url.as_str().parse::<http::Uri>().ok());
    }
    for url in urls {
        let raw = url.to_string();
        if text.contains(&raw) {
            text = text.replace(
                &raw,
                &crate::http::semconv::full_url(&url, sensitive, scrub),
            );
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failed_request_s_error_text_has_no_url_query_or_credentials() {
        // A port nothing listens on: bound, then closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or(9);
        let url =
            format!("http://user:pw-SECRET@127.0.0.1:{port}/x?token=tok-SECRET&sig=sig-SECRET");
        let uri: http::Uri = url.parse().unwrap_or_default();
        let error = reqwest::Client::new()
            .get(&url)
            .send()
            .await
            .err()
            .map(reqwest_middleware::Error::Reqwest);
        let Some(error) = error else {
            panic!("a request to a closed port should fail");
        };
        assert!(
            error.to_string().contains("SECRET"),
            "the premise: reqwest prints the URL"
        );
        let text = error_text(&error, &uri, &crate::http::default_sensitive_keys(), None);
        assert!(!text.contains("SECRET"), "{text}");
        assert!(!text.is_empty());
        let quoted = reqwest_middleware::Error::middleware(std::io::Error::other(format!(
            "gave up on {uri}"
        )));
        let text = error_text(&quoted, &uri, &crate::http::default_sensitive_keys(), None);
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("token=REDACTED"), "{text}");
    }
}
