//! Serving `beacon::health` over HTTP: `/health/live`, `/health/ready` and `/health/telemetry`.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use beacon::health::Health;
use http::{header, Request, Response, StatusCode};
use tower_service::Service;

/// A tower service answering `/health/live` (200 while the process serves requests) and
/// `/health/ready` (the JSON report of [`Health::check_shared`] — cached briefly, one round
/// of checks at a time, statuses without error text unless [`Health::error_detail`] is on;
/// 200 when every critical check passes, 503 otherwise) and `/health/telemetry` (the summary of
/// Beacon's telemetry components, `beacon::telemetry_health`); 404 for anything else. [`crate::http::ServerLayer`] excludes both
/// paths from spans and metrics by default.
#[derive(Clone, Debug)]
pub struct HealthService {
    health: Health,
}

impl HealthService {
    /// Serves `health`.
    pub fn new(health: Health) -> Self {
        Self { health }
    }
}

fn json(status: StatusCode, body: String) -> Response<String> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    response
}

pub(crate) async fn live() -> Response<String> {
    json(StatusCode::OK, r#"{"status":"up"}"#.to_owned())
}

pub(crate) async fn ready(health: Health) -> Response<String> {
    let report = health.check_shared().await;
    let status = if report.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = if health.shows_error_detail() {
        report.to_json_with_errors()
    } else {
        report.to_json()
    };
    json(status, body)
}

/// `/health/telemetry`: the summary of every telemetry component (see
/// `beacon::telemetry_health`); 200 when each is up, 503 when one is degraded, so a probe can
/// alert on it without reading the body.
pub(crate) async fn telemetry(health: Health) -> Response<String> {
    let summary = health.telemetry_summary();
    let status = if summary.status == beacon::health::Status::Up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json(status, summary.to_json())
}

impl<B> Service<Request<B>> for HealthService {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<String>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let health = self.health.clone();
        let path = request.uri().path().to_owned();
        Box::pin(async move {
            Ok(match path.as_str() {
                "/health/live" => live().await,
                "/health/ready" => ready(health).await,
                "/health/telemetry" => telemetry(health).await,
                _ => {
                    let mut response = Response::new(String::new());
                    *response.status_mut() = StatusCode::NOT_FOUND;
                    response
                }
            })
        })
    }
}
