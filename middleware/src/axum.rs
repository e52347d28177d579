//! Ready-made axum routes.

use axum::routing::{get, get_service};
use axum::Router;
use beacon::health::Health;

/// `/health/live`, `/health/ready` and `/health/telemetry` for `health` (see
/// [`crate::health::HealthService`]).
/// Merge them into your router: `app.merge(health_routes(health.clone()))`.
///
/// ```
/// use std::time::Duration;
/// let health = beacon::health::Health::new();
/// health.register("database", Duration::from_millis(200), || async { Ok(()) });
/// let app: axum::Router = axum::Router::new().merge(beacon_middleware::axum::health_routes(health));
/// # drop(app);
/// ```
pub fn health_routes<S>(health: Health) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/health/live", get(crate::health::live))
        .route("/health/ready", {
            let health = health.clone();
            get(move || crate::health::ready(health.clone()))
        })
        .route(
            "/health/telemetry",
            get(move || crate::health::telemetry(health.clone())),
        )
}

/// `GET /metrics`: the Prometheus endpoint of the pipeline `beacon::init()` installed (see
/// [`crate::metrics::MetricsService`]). Run with `OTEL_METRICS_EXPORTER=prometheus` (or
/// `otlp,prometheus`), and `.prometheus_listener(false)` on the builder if the application's
/// port should be the only one.
///
/// ```
/// let app: axum::Router = axum::Router::new().merge(beacon_middleware::axum::metrics_route());
/// # drop(app);
/// ```
pub fn metrics_route<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new().route(
        "/metrics",
        get_service(crate::metrics::MetricsService::new()),
    )
}

/// `GET /metrics` answered by `reader` rather than the installed pipeline's.
pub fn metrics_route_for<S>(reader: beacon::metrics::PrometheusReader) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new().route(
        "/metrics",
        get_service(crate::metrics::MetricsService::with_reader(reader)),
    )
}
