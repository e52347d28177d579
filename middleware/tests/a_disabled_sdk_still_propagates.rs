//! OpenTelemetry SDK configuration, `OTEL_SDK_DISABLED` (configuration/sdk-environment-variables.md,
//! "General SDK Configuration"): "This environment variable has no effect on the propagators
//! configured through the OTEL_PROPAGATORS variable." With the SDK disabled a service records
//! nothing, but the trace context of an incoming request still reaches the calls it makes.
//! (Its own test binary: no global pipeline, so every span here is disabled.)

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::sync::{Arc, Mutex};

use axum::routing::get;
use axum::Router;
use beacon_middleware::http::{ClientLayer, ServerLayer};
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use tower::ServiceExt as _;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

#[tokio::test]
async fn the_callers_context_reaches_the_next_service() {
    let telemetry = beacon::builder()
        .env_source(|name| match name {
            "OTEL_SDK_DISABLED" => Some("true".to_owned()),
            "OTEL_PROPAGATORS" => Some("tracecontext,baggage".to_owned()),
            _ => None,
        })
        .build()
        .unwrap();
    assert!(!telemetry.is_enabled());
    let propagators = telemetry.propagator();

    // The next service: records the headers it was sent.
    let seen: Arc<Mutex<Option<http::HeaderMap>>> = Arc::default();
    let record = Arc::clone(&seen);
    let next = tower::ServiceBuilder::new()
        .layer(ClientLayer::new().propagator(propagators.clone()))
        .service(tower::service_fn(move |req: Request<Full<Bytes>>| {
            *record.lock().unwrap() = Some(req.headers().clone());
            async { Ok::<_, std::convert::Infallible>(Response::new(Full::<Bytes>::default())) }
        }));
    let app = Router::new()
        .route(
            "/orders/{id}",
            get(move || {
                let next = next.clone();
                async move {
                    let call = Request::get("http://stock.internal/items/7")
                        .body(Full::<Bytes>::default())
                        .unwrap();
                    next.oneshot(call).await.unwrap();
                    "ok"
                }
            }),
        )
        .layer(ServerLayer::new().propagator(propagators));

    let request = Request::get("/orders/1")
        .header("traceparent", format!("00-{TRACE}-00f067aa0ba902b7-01"))
        .header("baggage", "tenant=acme")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert!(response.status().is_success());

    let headers = seen
        .lock()
        .unwrap()
        .clone()
        .expect("the next service was called");
    let parent = headers["traceparent"].to_str().unwrap();
    assert!(parent.starts_with(&format!("00-{TRACE}-")), "{parent}");
    assert!(parent.ends_with("-01"), "{parent}");
    assert_eq!(headers["baggage"].to_str().unwrap(), "tenant=acme");
}
