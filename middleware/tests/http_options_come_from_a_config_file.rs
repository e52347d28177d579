//! The HTTP layers' options set in a configuration file (`instrumentation/development`'s
//! `general.http` and `rust.beacon.http`) take effect on `ServerLayer` and `ClientLayer`.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use std::sync::{Arc, Mutex};

use beacon_middleware::http::{ClientLayer, ServerLayer};
use beacon_test::{capture, span, MetricsCapture};
use http_body_util::BodyExt as _;
use support::*;
use tower::{Layer as _, ServiceExt as _};

const FILE: &str = r#"
file_format: "1.1"
instrumentation/development:
  general:
    http:
      server:
        request_captured_headers: [x-tenant, x-session-id]
  rust:
    beacon:
      http:
        server:
          excluded_paths: [/fail]
          sensitive_headers: ["x-session-*"]
          trace_response: true
          trusted_proxies: [10.0.0.0/8]
        client:
          propagate_to_hosts: ["*.internal.example"]
"#;

fn telemetry() -> beacon::Telemetry {
    beacon::builder()
        .env_source(|_| None)
        .config_yaml(FILE)
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_server_layer_captures_redacts_excludes_trusts_and_answers_as_the_file_says() {
    let telemetry = telemetry();
    let metrics = MetricsCapture::new();
    let layer = ServerLayer::new().options(&telemetry.http_options().server);
    let app = in_process_app(&metrics, layer);
    let cap = capture();

    // `/fail` is excluded (the file's list replaces the default one, so `/health` is not).
    send(&app, request("/fail")).await;
    send(&app, request("/health")).await;
    cap.wait_for_span(span::named("GET /health")).await.unwrap();
    assert!(
        cap.spans().iter().all(|s| s.name != "GET /fail"),
        "{:?}",
        cap.spans()
    );

    let mut req = request("/orders/7");
    let headers = req.headers_mut();
    headers.insert("x-tenant", "acme".parse().unwrap());
    headers.insert("x-session-id", "s3cr3t".parse().unwrap());
    headers.insert("x-forwarded-for", "203.0.113.9".parse().unwrap());
    let peer: std::net::SocketAddr = "10.0.0.3:4711".parse().unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(peer));
    let response = app.clone().oneshot(req).await.unwrap();
    assert!(
        response.headers().contains_key("traceresponse"),
        "trace_response: true"
    );
    response.into_body().collect().await.unwrap();
    let s = cap
        .wait_for_span(span::named("GET /orders/{id}"))
        .await
        .unwrap();
    let tenant = text(s.attr("http.request.header.x-tenant"));
    assert!(tenant.contains("acme"), "{tenant}");
    let session = text(s.attr("http.request.header.x-session-id"));
    assert!(
        session.contains("REDACTED") && !session.contains("s3cr3t"),
        "{session}"
    );
    assert_eq!(
        text(s.attr("client.address")),
        "203.0.113.9",
        "10.0.0.0/8 is trusted"
    );
}

#[tokio::test]
async fn the_client_layer_propagates_only_to_the_files_hosts() {
    let telemetry = telemetry();
    let seen: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
    let record = Arc::clone(&seen);
    let inner = tower::service_fn(
        move |req: http::Request<http_body_util::Empty<bytes::Bytes>>| {
            let record = Arc::clone(&record);
            async move {
                let host = req.uri().host().unwrap_or_default().to_owned();
                let sent = req.headers().contains_key("traceparent");
                record.lock().unwrap().push((host, sent));
                Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Empty::<
                    bytes::Bytes,
                >::new()))
            }
        },
    );
    let client = ClientLayer::new()
        .options(&telemetry.http_options().client)
        .layer(inner);
    let cap = capture();
    for uri in [
        "http://billing.internal.example/pay",
        "http://third-party.example/ads",
    ] {
        let req = http::Request::get(uri)
            .body(http_body_util::Empty::new())
            .unwrap();
        let call = tracing::Instrument::instrument(client.clone().oneshot(req), cap.span().clone());
        call.await.unwrap();
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            ("billing.internal.example".to_owned(), true),
            ("third-party.example".to_owned(), false),
        ]
    );
}
