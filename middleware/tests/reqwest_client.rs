//! reqwest through `TracingMiddleware` against an axum server under `ServerLayer`: one trace,
//! the server span's parent is the client span, 4xx is an error on the client.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use axum::routing::get;
use beacon_middleware::http::ServerLayer;
use beacon_middleware::reqwest::TracingMiddleware;
use beacon_test::{capture, span, MetricsCapture};
use opentelemetry::trace::SpanKind;
use opentelemetry::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reqwest_calls_continue_the_trace() {
    let metrics = MetricsCapture::new();
    let app = axum::Router::new()
        .route("/users/{id}", get(|| async { "user" }))
        .layer(ServerLayer::new().meter_provider(metrics.provider()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(TracingMiddleware::new().meter_provider(metrics.provider()))
        .build();
    let cap = capture();
    let ok = client
        .get(format!("http://{addr}/users/7?token=s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let missing = client
        .get(format!("http://{addr}/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let server = cap
        .wait_for_span(span::named("GET /users/{id}"))
        .await
        .unwrap();
    let client_span = cap
        .wait_for_span(
            span::named("GET")
                .kind(SpanKind::Client)
                .attr("http.response.status_code", 200_i64),
        )
        .await
        .unwrap();
    assert_eq!(server.parent_span_id, client_span.span_id);
    assert_eq!(server.trace_id, cap.trace_id().unwrap());
    let url = client_span
        .attr("url.full")
        .map(|v| v.as_str().into_owned())
        .unwrap();
    assert_eq!(url, format!("http://{addr}/users/7?token=REDACTED"));
    assert_eq!(
        client_span.attr("server.port"),
        Some(&Value::I64(addr.port().into()))
    );
    let failed = cap
        .wait_for_span(
            span::named("GET")
                .kind(SpanKind::Client)
                .attr("http.response.status_code", 404_i64),
        )
        .await
        .unwrap();
    assert!(failed.is_error());
    let duration = metrics
        .point(
            "http.client.request.duration",
            &[("http.response.status_code", "200")],
        )
        .unwrap();
    assert_eq!(duration.value.count(), Some(1));
}
