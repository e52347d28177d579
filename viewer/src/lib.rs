//! # Beacon viewer
//!
//! The live hub ([`beacon_hub`]) over HTTP: a JSON API under `/api`, a server-sent event
//! stream, and an OTLP/HTTP receiver at the standard `/v1/traces`, `/v1/metrics` and
//! `/v1/logs` paths, all on one port. Merge [`router`] into your own axum app, or run the
//! standalone binary: `cargo run -p beacon-viewer` listens on `127.0.0.1:4318` (the OTLP/HTTP
//! port, so any OTLP SDK's default endpoint reaches it).
//!
//! ```
//! use beacon_viewer::{router, ViewerConfig};
//!
//! let hub = beacon_hub::Hub::new();
//! let app: axum::Router = router(hub.clone(), ViewerConfig::default());
//! assert!(ViewerConfig::default().api_key().is_none());
//! # drop(app);
//! ```
//!
//! The HTTP surface lives here rather than behind a feature of `beacon-hub` so that an
//! application embedding the hub (and tests using it) never compiles axum or hyper's server.
//!
//! ## Security
//! Without an API key everything is open, which is what the binary does on loopback. Bound
//! anywhere else, the binary refuses to start without `--api-key` / `BEACON_VIEWER_API_KEY`;
//! with a key, every route wants it in `x-api-key: KEY` or `Authorization: Bearer KEY`
//! (OTLP senders: `OTEL_EXPORTER_OTLP_HEADERS=x-api-key=KEY`). OTLP bodies are limited to
//! [`ViewerConfig::max_body_bytes`] (default 8 MiB), after decompression too.
//!
//! ## API
//! Times are Unix nanoseconds; ids lowercase hex. Filters that take `attr` take it repeated,
//! `attr=key=value` (URL-encoded), all of which must hold. Time filters: `start`, `end`, or
//! `since=15m`. Durations: `250ms`, `1.5s`, `2m`, or a bare number of milliseconds. Bad
//! parameters answer `400 {"error": "query parameter min_duration: …"}`.
//!
//! | route | answers |
//! |---|---|
//! | `GET /api/services` | `[{"name":"checkout","traces":12,"logs":40,"events":3,"series":25}]` |
//! | `GET /api/traces?service=&span_name=&attr=k=v&min_duration=&status=ok\|error\|unset&start=&end=&since=&limit=` | trace summaries, newest first (below) |
//! | `GET /api/traces/{trace_id}` | the trace's spans (by start), logs and domain events; 404 when not stored |
//! | `GET /api/logs?service=&min_severity=warn&text=&trace_id=&attr=&start=&end=&since=&limit=` | log records, newest first |
//! | `GET /api/events?name=&service=&trace_id=&attr=&since=&limit=` | domain events, newest first |
//! | `GET /api/events/names` | `[{"name":"payment.charged","count":3}]` |
//! | `GET /api/metrics?service=` | metric names: `[{"name":"http.server.request.duration","unit":"s","kind":{"type":"histogram","cumulative":true},"services":["checkout"],"series":4}]` |
//! | `GET /api/metrics?name=&service=&attr=&since=1h` | that metric's series and their points in the window |
//! | `GET /api/stream?signal=traces\|logs\|events\|metrics&service=&name=&trace_id=&attr=&min_severity=` | server-sent events: `span`, `log`, `event`, `metric` (JSON data), and `lagged` (`{"missed":12}`) when the client fell behind |
//! | `GET /api/stats` | the hub's counters ([`beacon_hub::HubStats`]) |
//! | `POST /v1/traces`, `/v1/metrics`, `/v1/logs` | OTLP/HTTP, protobuf or JSON, gzip or not |
//!
//! `GET /api/traces?service=checkout&attr=http.route=/orders/{id}&min_duration=100ms&limit=1`:
//! ```json
//! [{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","root_name":"GET /orders/{id}",
//!   "root_service":"checkout","services":["checkout","payments"],
//!   "start_time_unix_nano":1733000000000000000,"duration_nanos":182000000,
//!   "span_count":5,"error_count":0}]
//! ```
//! `GET /api/traces/4bf92f3577b34da6a3ce929d0e0e4736`:
//! ```json
//! {"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736",
//!  "spans":[{"trace_id":"4bf9…4736","span_id":"00f067aa0ba902b7","parent_span_id":null,
//!            "name":"GET /orders/{id}","kind":"server","start_time_unix_nano":…,
//!            "end_time_unix_nano":…,"status":{"code":"unset"},
//!            "attributes":{"http.route":"/orders/{id}","http.response.status_code":200},
//!            "events":[],"links":[],
//!            "resource":{"service":"checkout","attributes":{"service.name":"checkout"}},
//!            "scope":{"name":"beacon-middleware"}}],
//!  "logs":[{"time_unix_nano":…,"severity_number":9,"severity_text":"INFO","body":"order loaded",
//!           "attributes":{},"trace_id":"4bf9…4736","span_id":"00f067aa0ba902b7",…}],
//!  "events":[]}
//! ```

mod api;
mod otlp;
mod query;
pub mod standalone;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use beacon_hub::Hub;

pub use query::BadParam;

/// How the HTTP surface behaves.
#[derive(Debug, Clone)]
pub struct ViewerConfig {
    api_key: Option<Arc<str>>,
    max_body_bytes: usize,
}

impl Default for ViewerConfig {
    fn default() -> Self {
        Self {
            api_key: None,
            max_body_bytes: 8 * 1024 * 1024,
        }
    }
}

impl ViewerConfig {
    /// Requires `key` on every route (`x-api-key` or `Authorization: Bearer`).
    #[must_use]
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(Arc::from(key.into()));
        self
    }

    /// The largest OTLP body accepted, compressed or not (default 8 MiB).
    #[must_use]
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// The API key, when one is required.
    #[must_use]
    pub fn api_key(&self) -> Option<&str> {
        self.api_key.as_deref()
    }

    /// The body limit.
    #[must_use]
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }
}

#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) hub: Hub,
    pub(crate) max_body_bytes: usize,
    api_key: Option<Arc<str>>,
}

/// Compares without stopping at the first different byte.
fn same_key(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

async fn authorize(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(expected) = state.api_key.as_deref() else {
        return next.run(request).await;
    };
    let headers = request.headers();
    let given = headers.get("x-api-key").map(|v| v.as_bytes()).or_else(|| {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
    });
    if given.is_some_and(|g| same_key(g, expected.as_bytes())) {
        next.run(request).await
    } else {
        api::error(
            StatusCode::UNAUTHORIZED,
            "this hub requires an API key: send it as `x-api-key: KEY` or `Authorization: Bearer KEY`",
        )
    }
}

/// The API, the stream and the OTLP receiver over `hub`, as one router to serve or merge.
pub fn router(hub: Hub, config: ViewerConfig) -> Router {
    let state = AppState {
        hub,
        max_body_bytes: config.max_body_bytes,
        api_key: config.api_key,
    };
    Router::new()
        .route("/api/services", get(api::services))
        .route("/api/stats", get(api::stats))
        .route("/api/traces", get(api::traces))
        .route("/api/traces/{trace_id}", get(api::trace))
        .route("/api/logs", get(api::logs))
        .route("/api/events", get(api::events))
        .route("/api/events/names", get(api::event_names))
        .route("/api/metrics", get(api::metrics))
        .route("/api/stream", get(api::stream))
        .route("/v1/traces", post(otlp::traces))
        .route("/v1/logs", post(otlp::logs))
        .route("/v1/metrics", post(otlp::metrics))
        // The handlers check the limit again after decompression.
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            authorize,
        ))
        .with_state(state)
}
