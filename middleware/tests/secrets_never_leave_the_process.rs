//! Credentials sent through the HTTP layers — `Authorization`, cookies, `Set-Cookie`,
//! credentials in the URL and secret query parameters — appear nowhere in the spans, log
//! records or metrics that reach a real OTLP receiver, even when the header capture names them.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use std::time::Duration;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use beacon::config::Protocol;
use beacon_middleware::http::{ClientLayer, ServerLayer};
use bytes::Bytes;
use fake_opentelemetry_collector::FakeCollectorServer;
use http::Request;
use http_body_util::{BodyExt as _, Full};
use tower::ServiceExt as _;

const SECRETS: [&str; 6] = [
    "sk-live-SECRET1",
    "SECRET2-session",
    "SECRET3-token",
    "SECRET4-apikey",
    "SECRET5-setcookie",
    "SECRET6-password",
];

#[test]
fn no_secret_reaches_the_collector() {
    let collector_rt = tokio::runtime::Runtime::new().unwrap();
    let mut collector = collector_rt.block_on(FakeCollectorServer::start()).unwrap();
    let telemetry = beacon::builder()
        .env_source(|_| None)
        .service_name("secrets")
        .otlp_endpoint(collector.endpoint())
        .otlp_protocol(Protocol::Grpc)
        .build()
        .unwrap();
    let meters = telemetry.meter_provider();

    let app = Router::new()
        .route(
            "/orders/{id}",
            get(|| async {
                tracing::info!(order.id = 1_i64, "order served");
                ([("set-cookie", "id=SECRET5-setcookie; HttpOnly")], "ok")
            }),
        )
        .layer(
            ServerLayer::new()
                .meter_provider(&meters)
                .propagator(telemetry.propagator())
                .capture_request_headers(["authorization", "cookie", "x-request-id"])
                .capture_response_headers(["set-cookie", "content-type"]),
        );
    // The client talks to the app in process: what it sends is what the server receives.
    let transport = tower::service_fn(move |request: Request<Full<Bytes>>| {
        let app = app.clone();
        async move {
            let (parts, body) = request.into_parts();
            let request = Request::from_parts(parts, Body::new(body));
            app.oneshot(request).await
        }
    });
    let client = tower::ServiceBuilder::new()
        .layer(
            ClientLayer::new()
                .meter_provider(&meters)
                .propagator(telemetry.propagator())
                .capture_request_headers(["authorization", "cookie"])
                .capture_response_headers(["set-cookie"]),
        )
        .service(transport);

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    tracing::dispatcher::with_default(&telemetry.dispatch(), || {
        rt.block_on(async {
            let request = Request::get(
                "http://alice:SECRET6-password@shop.local/orders/1?token=SECRET3-token&api_key=SECRET4-apikey&page=2",
            )
            .header("authorization", "Bearer sk-live-SECRET1")
            .header("cookie", "session=SECRET2-session")
            .header("x-request-id", "req-42")
            .body(Full::new(Bytes::new()))
            .unwrap();
            let response = client.oneshot(request).await.unwrap();
            response.into_body().collect().await.unwrap();
        });
    });
    let stats = telemetry.shutdown().unwrap();
    assert_eq!(stats.traces.exported, 2, "client and server spans");

    let (spans, logs, metrics) = collector_rt.block_on(async {
        (
            collector.exported_spans(2, Duration::from_secs(10)).await,
            collector.exported_logs(1, Duration::from_secs(10)).await,
            collector.exported_metrics(1, Duration::from_secs(10)).await,
        )
    });
    let everything = format!("{spans:?}\n{logs:?}\n{metrics:?}");
    // What must be there is there: the data did arrive, with the redacted forms.
    for expected in [
        "http.server.request.duration",
        "http.client.request.duration",
        "order served",
        "req-42",
        "page=2",
        "REDACTED",
        "http.request.header.authorization",
        "http.response.header.set-cookie",
    ] {
        assert!(
            everything.contains(expected),
            "{expected} missing from what was exported"
        );
    }
    for secret in SECRETS {
        assert!(
            !everything.contains(secret),
            "{secret} was exported:\n{everything}"
        );
    }
}
