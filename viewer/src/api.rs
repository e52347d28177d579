//! The JSON API under `/api` and the server-sent event stream.

use std::convert::Infallible;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use beacon_hub::model::TraceId;
use beacon_hub::stream::Live;
use tokio_stream::{Stream, StreamExt as _};

use crate::query::{self, BadParam};
use crate::AppState;

/// A JSON error body: `{"error": "..."}`.
pub(crate) fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": message.to_string() })),
    )
        .into_response()
}

fn bad(e: &BadParam) -> Response {
    error(StatusCode::BAD_REQUEST, e)
}

pub(crate) async fn services(State(state): State<AppState>) -> Response {
    Json(state.hub.services()).into_response()
}

pub(crate) async fn stats(State(state): State<AppState>) -> Response {
    Json(state.hub.stats()).into_response()
}

pub(crate) async fn traces(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    match query::traces(q.as_deref()) {
        Ok(q) => Json(state.hub.traces(&q)).into_response(),
        Err(e) => bad(&e),
    }
}

pub(crate) async fn trace(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let id: TraceId = match id.parse() {
        Ok(id) => id,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("trace id: {e}")),
    };
    match state.hub.trace(id) {
        Some(view) => Json(view).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            format!("no span of trace {id} is stored"),
        ),
    }
}

pub(crate) async fn logs(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    match query::logs(q.as_deref()) {
        Ok(q) => Json(state.hub.logs(&q)).into_response(),
        Err(e) => bad(&e),
    }
}

pub(crate) async fn events(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    match query::logs(q.as_deref()) {
        Ok(q) => Json(state.hub.events(&q)).into_response(),
        Err(e) => bad(&e),
    }
}

pub(crate) async fn event_names(State(state): State<AppState>) -> Response {
    let names: Vec<serde_json::Value> = state
        .hub
        .event_names()
        .into_iter()
        .map(|(name, count)| serde_json::json!({ "name": name, "count": count }))
        .collect();
    Json(names).into_response()
}

pub(crate) async fn metrics(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    match query::metrics(q.as_deref()) {
        Ok((_, Some(series))) => Json(state.hub.series(&series)).into_response(),
        Ok((service, None)) => Json(state.hub.metric_names(service.as_deref())).into_response(),
        Err(e) => bad(&e),
    }
}

fn sse_events(
    sub: beacon_hub::stream::Subscription,
) -> impl Stream<Item = Result<Event, Infallible>> {
    sub.map(|live| {
        Ok(match live {
            Live::Item(item) => {
                let name = match item.signal() {
                    beacon_hub::stream::Signal::Traces => "span",
                    beacon_hub::stream::Signal::Logs => "log",
                    beacon_hub::stream::Signal::Events => "event",
                    beacon_hub::stream::Signal::Metrics => "metric",
                };
                let data = match &item {
                    beacon_hub::stream::Item::Span(s) => serde_json::to_string(s),
                    beacon_hub::stream::Item::Log(l) | beacon_hub::stream::Item::Event(l) => {
                        serde_json::to_string(l)
                    }
                    beacon_hub::stream::Item::Metric(m) => serde_json::to_string(m),
                };
                Event::default().event(name).data(
                    data.unwrap_or_else(|e| {
                        serde_json::json!({ "error": e.to_string() }).to_string()
                    }),
                )
            }
            Live::Lagged(n) => Event::default()
                .event("lagged")
                .data(serde_json::json!({ "missed": n }).to_string()),
        })
    })
}

pub(crate) async fn stream(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    match query::filter(q.as_deref()) {
        Ok(filter) => Sse::new(sse_events(state.hub.subscribe(filter)))
            .keep_alive(KeepAlive::default())
            .into_response(),
        Err(e) => bad(&e),
    }
}
