//! gRPC: [`GrpcServerLayer`] for tonic servers, [`GrpcClientLayer`] for tonic channels.
//!
//! gRPC is HTTP/2 with a status in `grpc-status` (in the trailers, or in the head of a
//! trailers-only response), so these layers work on the `http` types tonic uses and need no
//! tonic dependency. By default they follow the RPC semantic conventions v1.37: span
//! `{package.Service}/{Method}`, `rpc.system = "grpc"`, `rpc.service`, `rpc.method`,
//! `rpc.grpc.status_code`; on a server only UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED,
//! INTERNAL, UNAVAILABLE and DATA_LOSS make the span an error, on a client every status but
//! OK; `rpc.server.duration` / `rpc.client.duration` histograms in milliseconds, timed to the
//! end of the response stream. Context travels in the request metadata (HTTP/2 headers).
//!
//! The method comes from the caller's `:path`, so it is recorded only when the instrumentation
//! can confirm it, as the conventions require: a server given its services
//! ([`GrpcServerLayer::known_services`]) records any other path as `rpc.method` = `_OTHER`
//! (and `rpc.service` = `_OTHER`), the span named `grpc` and the path, cut to 256 bytes, only in
//! `rpc.method_original`; a server without a list confirms a method by answering it with a
//! status other than UNIMPLEMENTED; and a call answered UNIMPLEMENTED is `_OTHER` on either
//! side. Random paths from a stranger therefore share one metric series.
//!
//! The RPC conventions have since become stable; as they ask of instrumentations that emitted
//! v1.37, the stable ones are opt-in: `OTEL_SEMCONV_STABILITY_OPT_IN=rpc` (or
//! `.conventions(RpcConventions::Stable)`) gives `rpc.system.name`, `rpc.method`
//! (`package.Service/Method`), `rpc.response.status_code` (`OK`, `UNAVAILABLE`, …),
//! `error.type` and `rpc.{server,client}.call.duration` in seconds (which also suits
//! Prometheus' base units); `rpc/dup` emits both.
//!
//! # Example
//! ```
//! use beacon_middleware::grpc::{GrpcClientLayer, GrpcServerLayer};
//!
//! // Server: tonic::transport::Server::builder().layer(GrpcServerLayer::new()).add_service(…)
//! // Client: tower::ServiceBuilder::new().layer(GrpcClientLayer::new()).service(channel)
//! let (_server, _client) = (GrpcServerLayer::new(), GrpcClientLayer::new());
//! ```

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use beacon::propagation::Propagators;
use http::{Request, Response};
use http_body::Body;
use opentelemetry::metrics::MeterProvider;
use opentelemetry::KeyValue;
use tower_layer::Layer;
use tower_service::Service;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::headers::HeaderInjector;
use crate::http::exchange::{Exchange, ExchangeFuture, Guard, Protocol, RpcMethod, Side, OTHER};
use crate::http::instruments::Instruments;
pub use crate::http::instruments::RpcConventions;
use crate::http::{semconv, InstrumentedBody, Propagation};

#[derive(Clone, Debug)]
struct Config {
    side: Side,
    meter: opentelemetry::metrics::Meter,
    instruments: Arc<Instruments>,
    propagation: Propagation,
    /// `server.address` and `server.port` for a client whose requests carry only a path (as
    /// tonic's do above the channel).
    server: Option<(Arc<str>, u16)>,
    /// A server's known services and methods, when the user listed them.
    known: Option<Arc<Known>>,
}

/// The services (`package.Service`, every method in it) and methods
/// (`package.Service/Method`) a server has.
#[derive(Debug, Default)]
struct Known(std::collections::HashSet<Box<str>>);

impl Known {
    fn confirms(&self, full: &str, service: &str) -> bool {
        self.0.contains(full) || self.0.contains(service)
    }
}

impl Config {
    fn new(side: Side) -> Self {
        let meter = crate::http::global_meter();
        Self {
            server: None,
            known: None,
            side,
            instruments: Arc::new(Instruments::grpc(&meter, side, RpcConventions::from_env())),
            meter,
            propagation: Propagation::Global,
        }
    }
}

macro_rules! layer {
    ($(#[$doc:meta])* $layer:ident, $service:ident, $side:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $layer {
            config: Arc<Config>,
        }

        impl Default for $layer {
            fn default() -> Self {
                Self::new()
            }
        }

        impl $layer {
            /// The defaults: global propagator and meter provider, and the RPC conventions
            /// `OTEL_SEMCONV_STABILITY_OPT_IN` asks for (v1.37 without it).
            pub fn new() -> Self {
                Self { config: Arc::new(Config::new($side)) }
            }

            /// Records metrics with this provider instead of the global one.
            #[must_use]
            pub fn meter_provider(mut self, provider: &dyn MeterProvider) -> Self {
                let config = Arc::make_mut(&mut self.config);
                config.meter = crate::http::meter_from(provider);
                config.instruments =
                    Arc::new(Instruments::grpc(&config.meter, $side, config.instruments.rpc));
                self
            }

            /// Follows these RPC conventions rather than what `OTEL_SEMCONV_STABILITY_OPT_IN`
            /// says.
            #[must_use]
            pub fn conventions(mut self, conventions: RpcConventions) -> Self {
                let config = Arc::make_mut(&mut self.config);
                config.instruments = Arc::new(Instruments::grpc(&config.meter, $side, conventions));
                self
            }

            /// Propagates with these propagators instead of the global ones.
            #[must_use]
            pub fn propagator(mut self, propagators: Propagators) -> Self {
                Arc::make_mut(&mut self.config).propagation = Propagation::Given(propagators);
                self
            }
        }

        impl<S> Layer<S> for $layer {
            type Service = $service<S>;

            fn layer(&self, inner: S) -> Self::Service {
                $service { inner, config: Arc::clone(&self.config) }
            }
        }

        /// The service the matching layer wraps around yours.
        #[derive(Clone, Debug)]
        pub struct $service<S> {
            inner: S,
            config: Arc<Config>,
        }

        impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for $service<S>
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

            fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
                let guard = start(&self.config, &mut request);
                let inner = {
                    let _entered = guard.span().map(tracing::Span::enter);
                    self.inner.call(request)
                };
                ExchangeFuture::new(inner, guard, None)
            }
        }
    };
}

layer!(
    /// Instruments a gRPC server (add it with `tonic::transport::Server::builder().layer(…)`):
    /// a server span per call, continuing the caller's trace, and `rpc.server.duration`.
    GrpcServerLayer,
    GrpcServerService,
    Side::Server
);

layer!(
    /// Instruments a gRPC client (wrap a tonic `Channel` with it): a client span per call,
    /// whose context travels in the request metadata, and `rpc.client.duration`.
    GrpcClientLayer,
    GrpcClientService,
    Side::Client
);

impl GrpcServerLayer {
    /// The services this server has (`package.Service`, e.g. `grpc.health.v1.Health`; with
    /// tonic, `<MyServer<_> as tonic::server::NamedService>::NAME`). Calls to any other
    /// service are recorded with `rpc.method` = `_OTHER` (the RPC conventions' rule), and
    /// their path only in the span's `rpc.method_original`. Adds to earlier lists.
    ///
    /// Without a list, a method is confirmed by the server's answer: any status other than
    /// UNIMPLEMENTED (which tonic gives every path it does not route). Either way a call
    /// answered UNIMPLEMENTED, or never answered, is `_OTHER`, so the metric series stay as
    /// few as the server's real methods whatever paths callers send.
    #[must_use]
    pub fn known_services<I, S>(self, services: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.known_methods(services)
    }

    /// The methods this server has (`package.Service/Method`); like
    /// [`known_services`](Self::known_services), whose names this list may also hold.
    #[must_use]
    pub fn known_methods<I, S>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let config = Arc::make_mut(&mut self.config);
        let mut known = config
            .known
            .as_deref()
            .map_or_else(Default::default, |k| k.0.clone());
        known.extend(
            methods
                .into_iter()
                .map(|m| Box::from(m.as_ref().trim_start_matches('/'))),
        );
        config.known = Some(Arc::new(Known(known)));
        self
    }
}

impl GrpcClientLayer {
    /// The server this client talks to, for `server.address` and `server.port` (tonic's
    /// requests carry only the method path at this layer).
    #[must_use]
    pub fn server(mut self, address: impl AsRef<str>, port: u16) -> Self {
        Arc::make_mut(&mut self.config).server = Some((Arc::from(address.as_ref()), port));
        self
    }
}

/// `/package.Service/Method` → (`package.Service/Method`, `package.Service`, `Method`).
fn names(path: &str) -> (&str, &str, &str) {
    let full = path.strip_prefix('/').unwrap_or(path);
    match full.rsplit_once('/') {
        Some((service, method)) if !service.is_empty() && !method.is_empty() => {
            (full, service, method)
        }
        _ => (full, "", ""),
    }
}

fn start<B>(config: &Config, request: &mut Request<B>) -> Guard {
    let start = Instant::now();
    let (full, service, method) = names(request.uri().path());
    let rpc_method = match (config.side, &config.known) {
        (Side::Client, _) => RpcMethod::Known,
        (Side::Server, None) => RpcMethod::ByStatus,
        (Side::Server, Some(known)) if known.confirms(full, service) => RpcMethod::Known,
        (Side::Server, Some(_)) => RpcMethod::Other,
    };
    let (name, service, method, original) = if rpc_method == RpcMethod::Other {
        let original = Some(semconv::truncate(full, semconv::MAX_METHOD_ORIGINAL));
        ("grpc", OTHER, OTHER, original)
    } else {
        (full, service, method, None)
    };
    // The stable `rpc.method` is the full name, or `_OTHER`.
    let stable_name = if original.is_some() { OTHER } else { full };
    let (host, port) = match (
        semconv::host_and_port(request.uri(), request.headers()),
        &config.server,
    ) {
        (Some((host, port)), _) => (Some(host), port),
        (None, Some((host, port))) => (Some(&**host), Some(*port)),
        (None, None) => (None, None),
    };
    let rpc = config.instruments.rpc;
    let (legacy, stable) = (rpc.legacy(), rpc.stable());
    // `rpc.method` and `rpc.service` go on the span when the exchange ends, once it is known
    // whether the method is confirmed (`Exchange::record_rpc_method`).
    let span = match config.side {
        Side::Server => tracing::info_span!(
            target: "beacon_middleware::grpc",
            parent: None,
            "gRPC request",
            otel.name = name,
            otel.kind = "server",
            otel.status_code = Empty,
            rpc.system = legacy.then_some("grpc"),
            rpc.system.name = stable.then_some("grpc"),
            rpc.service = Empty,
            rpc.method = Empty,
            rpc.method_original = original,
            rpc.grpc.status_code = Empty,
            rpc.response.status_code = Empty,
            server.address = host,
            server.port = port.map(i64::from),
            error.type = Empty,
            beacon.http.abandoned = Empty,
        ),
        Side::Client => tracing::info_span!(
            target: "beacon_middleware::grpc",
            "gRPC client request",
            otel.name = name,
            otel.kind = "client",
            otel.status_code = Empty,
            rpc.system = legacy.then_some("grpc"),
            rpc.system.name = stable.then_some("grpc"),
            rpc.service = Empty,
            rpc.method = Empty,
            rpc.method_original = original,
            rpc.grpc.status_code = Empty,
            rpc.response.status_code = Empty,
            server.address = host,
            server.port = port.map(i64::from),
            error.type = Empty,
            beacon.http.abandoned = Empty,
        ),
    };
    let server_attrs = |attrs: &mut Vec<KeyValue>| {
        if config.side == Side::Client {
            if let Some(host) = host {
                attrs.push(KeyValue::new("server.address", host.to_owned()));
            }
            if let Some(port) = port {
                attrs.push(KeyValue::new("server.port", i64::from(port)));
            }
        }
    };
    let stable_attrs = || {
        let mut attrs = Vec::with_capacity(6);
        attrs.push(KeyValue::new("rpc.system.name", "grpc"));
        attrs.push(KeyValue::new("rpc.method", stable_name.to_owned()));
        server_attrs(&mut attrs);
        attrs
    };
    let (attrs, dup_attrs) = if legacy {
        let mut attrs = Vec::with_capacity(6);
        attrs.push(KeyValue::new("rpc.system", "grpc"));
        attrs.push(KeyValue::new("rpc.service", service.to_owned()));
        attrs.push(KeyValue::new("rpc.method", method.to_owned()));
        server_attrs(&mut attrs);
        (attrs, if stable { stable_attrs() } else { Vec::new() })
    } else {
        (stable_attrs(), Vec::new())
    };
    if !span.is_disabled() {
        match config.side {
            Side::Server => {
                if let Some(parent) = config.propagation.extract_from(request.headers()) {
                    let _ = span.set_parent(parent);
                }
            }
            Side::Client => {
                config
                    .propagation
                    .inject(&span.context(), &mut HeaderInjector(request.headers_mut()));
            }
        }
    }
    let active_len = attrs.len();
    let exchange = Exchange {
        side: config.side,
        protocol: Protocol::Grpc,
        span,
        start,
        instruments: Arc::clone(&config.instruments),
        attrs,
        active_len,
        request_size: None,
        response_size: None,
        status: None,
        exemplar: None,
        stable_attrs: dup_attrs,
        bound: None,
        head_request: false,
        rpc_method,
    };
    exchange.begin();
    Guard::new(exchange)
}

#[cfg(test)]
mod tests {
    use super::names;

    #[test]
    fn the_opt_in_variable_picks_the_conventions() {
        use super::RpcConventions::{self, *};
        assert_eq!(RpcConventions::parse(None), V1_37);
        assert_eq!(RpcConventions::parse(Some("http")), V1_37);
        assert_eq!(RpcConventions::parse(Some("http, rpc")), Stable);
        assert_eq!(RpcConventions::parse(Some("rpc,rpc/dup")), Both, "dup wins");
        assert_eq!(RpcConventions::parse(Some("rpcx")), V1_37);
    }

    #[test]
    fn paths_split_into_service_and_method() {
        assert_eq!(
            names("/grpc.health.v1.Health/Check"),
            (
                "grpc.health.v1.Health/Check",
                "grpc.health.v1.Health",
                "Check"
            )
        );
        assert_eq!(names("/nonsense"), ("nonsense", "", ""));
    }
}
