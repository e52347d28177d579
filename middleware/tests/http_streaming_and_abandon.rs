//! A streamed response is timed to its last byte; a client that goes away before its end makes
//! the server span an error. HTTP semantic conventions (v1.44), "Status" of HTTP server spans:
//! "If the request fails with an error before response status code was sent or received,
//! error.type SHOULD be set" and the span status "MUST be set to Error" when `error.type` is;
//! only a client's own cancellation of its call is exempt, and this is the server.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::time::Instant;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use beacon_middleware::http::ServerLayer;
use beacon_test::{capture, span, MetricsCapture};
use bytes::Bytes;
use http_body_util::BodyExt as _;
use opentelemetry::trace::Status;
use opentelemetry::Value;
use support::*;
use tower::ServiceExt as _;

#[tokio::test]
async fn a_streamed_response_is_timed_to_its_last_byte_and_an_abandoned_one_is_an_error() {
    let metrics = MetricsCapture::new();
    let (release_tx, release_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let release_rx = std::sync::Arc::new(tokio::sync::Mutex::new(release_rx));
    let app = Router::new()
        .route(
            "/stream",
            get(move || {
                let release_rx = std::sync::Arc::clone(&release_rx);
                async move {
                    let chunks = futures_stream(release_rx);
                    Body::from_stream(chunks)
                }
            }),
        )
        .layer(ServerLayer::new().meter_provider(metrics.provider()));
    let cap = capture();

    let response = app.clone().oneshot(request("/stream")).await.unwrap();
    let headers_at = Instant::now();
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(&first[..], b"first;");
    // The head and the first chunk are out, but the exchange is not over.
    cap.refute(span::named("GET /stream")).unwrap();
    // The span started before the head was out and cannot end before the release.
    let streamed_for = headers_at.elapsed();
    release_tx.send(()).unwrap();
    let rest = body.collect().await.unwrap().to_bytes();
    assert_eq!(&rest[..], b"last");
    let s = cap.wait_for_span(span::named("GET /stream")).await.unwrap();
    assert!(
        s.duration() >= streamed_for,
        "{:?} < {streamed_for:?}",
        s.duration()
    );
    let size = metrics
        .point(
            "http.server.response.body.size",
            &[("http.route", "/stream")],
        )
        .unwrap();
    assert_eq!(
        size.value.sum(),
        Some(10.0),
        "counted as streamed (no Content-Length)"
    );

    // A client that goes away after the first chunk: the response failed to reach it.
    let response = app.clone().oneshot(request("/stream")).await.unwrap();
    let mut body = response.into_body();
    body.frame().await.unwrap().unwrap();
    drop(body);
    let spans: Vec<_> = cap
        .spans()
        .into_iter()
        .filter(|s| s.name == "GET /stream")
        .collect();
    assert_eq!(spans.len(), 2);
    let abandoned = &spans[1];
    assert_eq!(
        abandoned.attr("beacon.http.abandoned"),
        Some(&Value::Bool(true))
    );
    assert!(
        matches!(abandoned.status, Status::Error { .. }),
        "{abandoned}"
    );
    assert_eq!(
        abandoned.attr("error.type"),
        Some(&Value::from("response_abandoned"))
    );
    let complete: Vec<_> = metrics
        .points("http.server.request.duration")
        .into_iter()
        .filter(|p| p.attr("error.type").is_none())
        .map(|p| p.value.count())
        .collect();
    assert_eq!(complete, [Some(1)], "the streamed one, complete");
    let failed = metrics
        .point(
            "http.server.request.duration",
            &[
                ("http.route", "/stream"),
                ("error.type", "response_abandoned"),
            ],
        )
        .unwrap();
    assert_eq!(failed.value.count(), Some(1));
}

/// `first;`, then `last` once the test releases it.
fn futures_stream(
    release: std::sync::Arc<tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<()>>>,
) -> impl futures_core::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let state = (0_u8, release);
    futures_util::stream::unfold(state, |(step, release)| async move {
        match step {
            0 => Some((Ok(Bytes::from_static(b"first;")), (1, release))),
            1 => {
                release.lock().await.recv().await?;
                Some((Ok(Bytes::from_static(b"last")), (2, release)))
            }
            _ => None,
        }
    })
}
