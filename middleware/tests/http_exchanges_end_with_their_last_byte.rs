//! Over a real connection, an HTTP exchange ends with its last byte: a streamed response's
//! spans (server and client) last as long as the stream, and a response that hyper finishes
//! without polling its body to the end — every byte its `Content-Length` announced sent, a
//! `HEAD` response, a 204 — is complete, not `beacon.http.abandoned`.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::time::Duration;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use beacon_middleware::http::ServerLayer;
use beacon_test::{capture, span, CapturedSpan, MetricsCapture};
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use opentelemetry::trace::SpanKind;
use support::*;
use tower::ServiceExt as _;

/// How long `/slow` streams for.
const STREAMED_FOR: Duration = Duration::from_millis(300);

/// Three chunks, one every `STREAMED_FOR / 3`, and (with `sized`) a `Content-Length` that the
/// stream itself does not know: hyper stops polling once it has sent that many bytes.
fn chunks() -> Body {
    Body::from_stream(futures_util::stream::unfold(0, |sent| async move {
        if sent == 3 {
            return None;
        }
        // The pause is the behaviour under test: a body that takes its time.
        tokio::time::sleep(STREAMED_FOR / 3).await;
        Some((
            Ok::<_, std::io::Error>(Bytes::from_static(b"chunk")),
            sent + 1,
        ))
    }))
}

fn app(metrics: &MetricsCapture) -> Router {
    Router::new()
        .route("/slow", get(|| async { chunks() }))
        .route(
            "/sized",
            get(|| async { ([(http::header::CONTENT_LENGTH, "15")], chunks()) }),
        )
        .route("/empty", get(|| async { StatusCode::NO_CONTENT }))
        .layer(ServerLayer::new().meter_provider(metrics.provider()))
}

async fn call(client: &HttpClient, method: Method, url: &str) -> (StatusCode, Bytes) {
    let request = Request::builder()
        .method(method)
        .uri(url)
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = client.clone().oneshot(request).await.unwrap();
    let status = response.status();
    (
        status,
        response.into_body().collect().await.unwrap().to_bytes(),
    )
}

fn assert_complete(s: &CapturedSpan) {
    assert_eq!(s.attr("beacon.http.abandoned"), None, "{s}");
    assert!(!s.is_error(), "{s}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchanges_end_with_their_last_byte_and_are_not_abandoned() {
    let metrics = MetricsCapture::new();
    let addr = serve(app(&metrics)).await;
    let client = client(&metrics);
    let cap = capture();

    let (status, body) = call(&client, Method::GET, &format!("http://{addr}/slow")).await;
    assert_eq!(
        (status, &body[..]),
        (StatusCode::OK, &b"chunkchunkchunk"[..])
    );
    for kind in [SpanKind::Server, SpanKind::Client] {
        let name = if kind == SpanKind::Server {
            "GET /slow"
        } else {
            "GET"
        };
        let s = cap
            .wait_for_span(span::named(name).kind(kind.clone()))
            .await
            .unwrap();
        assert_complete(&s);
        assert!(s.duration() >= STREAMED_FOR, "{:?}: {s}", s.duration());
    }

    let (status, body) = call(&client, Method::GET, &format!("http://{addr}/sized")).await;
    assert_eq!((status, body.len()), (StatusCode::OK, 15));
    let sized = cap
        .wait_for_span(span::named("GET /sized").kind(SpanKind::Server))
        .await
        .unwrap();
    assert_complete(&sized);
    assert!(sized.duration() >= STREAMED_FOR, "{:?}", sized.duration());

    let (status, body) = call(&client, Method::HEAD, &format!("http://{addr}/sized")).await;
    assert_eq!((status, body.len()), (StatusCode::OK, 0));
    let head = cap
        .wait_for_span(span::named("HEAD /sized").kind(SpanKind::Server))
        .await
        .unwrap();
    assert_complete(&head);

    let (status, _) = call(&client, Method::GET, &format!("http://{addr}/empty")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let empty = cap
        .wait_for_span(span::named("GET /empty").kind(SpanKind::Server))
        .await
        .unwrap();
    assert_complete(&empty);
}
