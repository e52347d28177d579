//! A caller who controls every byte of a request: what the server layer records from it stays
//! redacted, bounded and unspoofable (issue 24). Real axum servers on loopback.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use axum::routing::get;
use axum::Router;
use beacon_middleware::http::ServerLayer;
use beacon_test::{capture, span, MetricsCapture};
use support::*;

#[tokio::test]
async fn query_keys_and_headers_that_carry_secrets_are_redacted_and_paths_scrubbed() {
    let metrics = MetricsCapture::new();
    let app = Router::new()
        .route("/users/{email}/files", get(|| async { "ok" }))
        .layer(
            ServerLayer::new()
                .meter_provider(metrics.provider())
                .capture_request_headers([
                    "x-api-key",
                    "x-auth-token",
                    "x-amz-security-token",
                    "x-upstream-token",
                    "x-client-secret",
                    "x-request-id",
                ])
                .scrub_url_path(|path| {
                    path.contains('@').then(|| {
                        path.split('/')
                            .map(|s| if s.contains('@') { "{email}" } else { s })
                            .collect::<Vec<_>>()
                            .join("/")
                    })
                }),
        );
    let cap = capture();
    let query = "code=SECRET-code&api-key=SECRET-ak&x-api-key=SECRET-xak\
                 &private_token=SECRET-pt&auth_token=SECRET-at&tok%65n=SECRET-enc&page=2";
    let mut request = request(&format!("/users/alice@example.com/files?{query}"));
    for (name, value) in [
        ("x-api-key", "SECRET-h1"),
        ("x-auth-token", "SECRET-h2"),
        ("x-amz-security-token", "SECRET-h3"),
        ("x-upstream-token", "SECRET-h4"),
        ("x-client-secret", "SECRET-h5"),
        ("x-request-id", "req-1"),
    ] {
        request.headers_mut().insert(name, value.parse().unwrap());
    }
    send(&app, request).await;
    let server = cap
        .wait_for_span(span::named("GET /users/{email}/files"))
        .await
        .unwrap();
    let text = format!("{:?}", server.attributes);
    assert!(!text.contains("SECRET"), "{text}");
    assert!(!text.contains("alice@example.com"), "{text}");
    assert_eq!(text_of(&server, "url.path"), "/users/{email}/files");
    assert!(text_of(&server, "url.query").ends_with("tok%65n=REDACTED&page=2"));
    assert!(text.contains("req-1"), "{text}");
}

fn text_of(span: &beacon_test::CapturedSpan, key: &str) -> String {
    text(span.attr(key))
}
