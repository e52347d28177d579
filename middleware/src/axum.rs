//! Ready-made axum routes.

use axum::routing::get;
use axum::Router;
use beacon::health::Health;

/// `/health/live` and `/health/ready` for `health` (see [`crate::health::HealthService`]).
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
        .route(
            "/health/ready",
            get(move || crate::health::ready(health.clone())),
        )
}
