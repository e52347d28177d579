//! The HTTP client layer.

use std::borrow::Cow;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{Request, Response};
use http_body::Body;
use opentelemetry::KeyValue;
use tower_layer::Layer;
use tower_service::Service;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::exchange::{
    Exchange, ExchangeFuture, Guard, InstrumentedBody, Protocol, RpcMethod, Side,
};
use super::instruments::Instruments;
use super::{semconv, Propagation};
use crate::headers::{HeaderCapture, HeaderInjector};

#[derive(Clone)]
pub(crate) struct Config {
    instruments: Arc<Instruments>,
    propagation: Propagation,
    request_headers: HeaderCapture,
    pub(crate) response_headers: Arc<HeaderCapture>,
    pub(crate) sensitive_query: Vec<Cow<'static, str>>,
    sensitive_headers: crate::headers::SensitiveHeaders,
    pub(crate) scrub_path: Option<super::PathScrubber>,
    pub(crate) max_attribute_bytes: usize,
    propagate_to: super::edge::PropagateTo,
    /// Whether `url.scheme` is recorded (Opt-In on client spans and metrics).
    url_scheme: bool,
    known_methods: semconv::KnownMethods,
}

/// Instruments an HTTP client: each request gets its own client span, a child of the current
/// span, and carries *that* span's context to the server (so three calls from one handler
/// reach their servers with three distinct parent ids).
///
/// Works on any `tower::Service<http::Request<B>>`, such as hyper-util's client.
///
/// # What it records
/// - Span `{method}`, kind client, with `http.request.method`, `server.address`,
///   `server.port`, `url.full` (credentials and secret query values redacted), `url.scheme`,
///   `http.response.status_code`, `network.protocol.version`, `error.type`; status Error for
///   4xx, 5xx and transport errors. A request the caller abandons is not an error.
/// - `http.client.request.duration` (s, the advised buckets), timed until the response body
///   has been read to its end, `http.client.active_requests`, and the body sizes.
///
/// # Example
/// ```
/// use beacon_middleware::http::ClientLayer;
/// use tower::ServiceBuilder;
///
/// # fn wrap<S>(client: S) {
/// let client = ServiceBuilder::new().layer(ClientLayer::new()).service(client);
/// # drop(client); }
/// ```
#[derive(Clone)]
pub struct ClientLayer {
    config: Arc<Config>,
}

impl std::fmt::Debug for ClientLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientLayer").finish_non_exhaustive()
    }
}

impl Default for ClientLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientLayer {
    /// The defaults: global propagator and meter provider, no headers captured — then the
    /// options of the pipeline `beacon::init()` installed ([`ClientLayer::options`]), which a
    /// configuration file sets.
    pub fn new() -> Self {
        let layer = Self::defaults();
        match beacon::config::http::installed_http_options() {
            Some(o) => layer.options(&o.client),
            None => layer,
        }
    }

    /// Applies the options a configuration file set
    /// (`beacon::Telemetry::http_options().client`); those it leaves unset keep their
    /// current value. Each stands for the method of the same meaning on this layer.
    #[must_use]
    pub fn options(mut self, o: &beacon::config::http::HttpClientOptions) -> Self {
        if let Some(max) = o.max_attribute_bytes {
            self = self.max_attribute_bytes(max);
        }
        if let Some(list) = &o.sensitive_headers {
            self = self.sensitive_headers(list.iter().cloned());
        }
        if let Some(list) = &o.sensitive_query_keys {
            self = self.sensitive_query_keys(list.iter().cloned());
        }
        if let Some(list) = &o.request_captured_headers {
            self = self.capture_request_headers(list);
        }
        if let Some(list) = &o.response_captured_headers {
            self = self.capture_response_headers(list);
        }
        if let Some(hosts) = &o.propagate_to_hosts {
            self = self.propagate_to_hosts(hosts.iter().cloned());
        }
        self
    }

    fn defaults() -> Self {
        Self {
            config: Arc::new(Config {
                instruments: Arc::new(Instruments::new(&super::global_meter(), Side::Client)),
                propagation: Propagation::Global,
                request_headers: HeaderCapture::default(),
                response_headers: Arc::default(),
                sensitive_query: super::default_sensitive_keys(),
                sensitive_headers: crate::headers::default_sensitive_headers(),
                scrub_path: None,
                max_attribute_bytes: semconv::DEFAULT_MAX_ATTRIBUTE_BYTES,
                propagate_to: super::edge::PropagateTo::default(),
                url_scheme: false,
                known_methods: semconv::KnownMethods::from_env(),
            }),
        }
    }

    fn config(&mut self) -> &mut Config {
        Arc::make_mut(&mut self.config)
    }

    shared_options!(Side::Client, "url.full", "url.full");

    /// Sends the trace context (`traceparent`, `tracestate`, `baggage`) only to these hosts:
    /// exact names or addresses, or `*.example.com` for its subdomains. By default every host
    /// gets it, third parties included. The client span is recorded either way.
    #[must_use]
    pub fn propagate_to_hosts<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Cow<'static, str>>,
    {
        self.config().propagate_to =
            super::edge::PropagateTo::new(hosts.into_iter().map(Into::into));
        self
    }

    /// Records `url.scheme` on client spans and metrics. The HTTP conventions make it Opt-In
    /// on the client side (`url.full` already carries it), so it is off by default.
    #[must_use]
    pub fn record_url_scheme(mut self, on: bool) -> Self {
        self.config().url_scheme = on;
        self
    }

    #[cfg(feature = "reqwest")]
    pub(crate) fn config_ref(&self) -> &Config {
        &self.config
    }
}

impl<S> Layer<S> for ClientLayer {
    type Service = ClientService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ClientService {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// The service [`ClientLayer`] wraps around a client.
#[derive(Clone)]
pub struct ClientService<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> std::fmt::Debug for ClientService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientService").finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ClientService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: std::fmt::Display,
    ResBody: Body,
    ResBody::Error: std::fmt::Display,
{
    type Response = Response<InstrumentedBody<ResBody>>;
    type Error = S::Error;
    type Future = ExchangeFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // Taken apart so the span can read method and URI while the headers get the context,
        // without copying either.
        let (mut parts, body) = request.into_parts();
        let guard = start_client(&self.config, &parts.method, &parts.uri, &mut parts.headers);
        let request = Request::from_parts(parts, body);
        let inner = {
            let _entered = guard.span().map(tracing::Span::enter);
            self.inner.call(request)
        };
        ExchangeFuture::new(
            inner,
            guard,
            Some(Arc::clone(&self.config.response_headers)),
        )
    }
}

/// Opens the client span for a request about to be sent, injects its context into
/// `headers`, and counts the request as active.
pub(crate) fn start_client(
    config: &Config,
    method: &http::Method,
    uri: &http::Uri,
    headers: &mut http::HeaderMap,
) -> Guard {
    let start = Instant::now();
    let max = config.max_attribute_bytes;
    let (method, original) = semconv::method(&config.known_methods, method);
    let original = original.map(|o| semconv::truncate(o, max));
    let scheme = uri.scheme_str().unwrap_or("http");
    let (host, port) = match semconv::host_and_port(uri, headers) {
        Some((host, port)) => (Some(host), port.or_else(|| semconv::default_port(scheme))),
        None => (None, None),
    };
    let span = tracing::info_span!(
        target: "beacon_middleware::http",
        "HTTP client request",
        otel.name = semconv::span_method(method),
        otel.kind = "client",
        otel.status_code = Empty,
        http.request.method = method,
        http.request.method_original = original,
        url.full = semconv::truncate(
            &semconv::full_url(uri, &config.sensitive_query, config.scrub_path.as_ref()),
            max
        ),
        url.scheme = config.url_scheme.then_some(scheme),
        server.address = host,
        server.port = port.map(i64::from),
        http.response.status_code = Empty,
        network.protocol.version = Empty,
        error.type = Empty,
        beacon.http.abandoned = Empty,
    );

    let scheme_value: Cow<'static, str> = match scheme {
        "https" => Cow::Borrowed("https"),
        "http" => Cow::Borrowed("http"),
        other => Cow::Owned(other.to_owned()),
    };
    let mut attrs = Vec::with_capacity(7);
    attrs.push(KeyValue::new("http.request.method", method));
    if config.url_scheme {
        attrs.push(KeyValue::new("url.scheme", scheme_value));
    }
    if let Some(host) = host {
        attrs.push(KeyValue::new("server.address", host.to_owned()));
    }
    if let Some(port) = port {
        attrs.push(KeyValue::new("server.port", i64::from(port)));
    }
    let active_len = attrs.len();

    if !span.is_disabled() {
        if !config.request_headers.is_empty() {
            for kv in config.request_headers.attributes(headers) {
                span.set_attribute(kv.key, kv.value);
            }
        }
        if config.propagate_to.allows(host) {
            config
                .propagation
                .inject(&span.context(), &mut HeaderInjector(headers));
        }
    } else if config.propagate_to.allows(host) {
        // No span here (tracing off for this target, or `OTEL_SDK_DISABLED`): pass on the
        // current context, as a no-op OTel SDK does.
        config.propagation.inject(
            &opentelemetry::Context::current(),
            &mut HeaderInjector(headers),
        );
    }
    let request_size = semconv::content_length(headers);
    let exchange = Exchange {
        side: Side::Client,
        protocol: Protocol::Http,
        span,
        start,
        instruments: Arc::clone(&config.instruments),
        attrs,
        active_len,
        request_size,
        response_size: None,
        status: None,
        exemplar: None,
        stable_attrs: Vec::new(),
        bound: None,
        head_request: method == "HEAD",
        rpc_method: RpcMethod::Known,
    };
    exchange.begin();
    Guard::new(exchange)
}
