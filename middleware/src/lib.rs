//! # beacon-middleware: tower layers that instrument HTTP services and clients
//!
//! One layer per side gives the spans, the RED metrics and context propagation the
//! OpenTelemetry semantic conventions describe, with bounded cardinality:
//!
//! | layer | for |
//! |---|---|
//! | [`http::ServerLayer`] | axum `Router`s and any `tower::Service<http::Request<B>>` |
//! | [`http::ClientLayer`] | hyper-util's client and any `tower::Service<http::Request<B>>` |
//! | `reqwest::TracingMiddleware` (feature `reqwest`) | `reqwest` through `reqwest-middleware` |
//! | [`grpc::GrpcServerLayer`] | tonic servers (`Server::builder().layer(…)`) |
//! | [`grpc::GrpcClientLayer`] | tonic channels |
//!
//! Ready routes: [`metrics::MetricsService`] / `axum::metrics_route()` (the Prometheus scrape
//! endpoint, with `OTEL_METRICS_EXPORTER=prometheus`) and [`health::HealthService`] /
//! `axum::health_routes()`.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let _telemetry = beacon::init()?;
//! let app = Router::new()
//!     .route("/users/{id}", get(|| async { "hello" }))
//!     .layer(beacon_middleware::http::ServerLayer::new());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! Create the layers after `beacon::init()`: they take the global meter provider and
//! propagator (or pass them explicitly with `meter_provider` and `propagator`).

#[cfg(feature = "axum")]
pub mod axum;
pub mod grpc;
pub mod headers;
pub mod health;
pub mod http;
pub mod metrics;
#[cfg(feature = "reqwest")]
pub mod reqwest;
