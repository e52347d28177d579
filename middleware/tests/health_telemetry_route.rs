//! `/health/telemetry` serves the summary of every registered telemetry component: 200 while
//! each is up, 503 with the reason once one is degraded.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use beacon::health::{Health, Status};
use beacon::telemetry_health::ComponentReport;
use http::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_summary_is_served_and_a_degraded_component_makes_it_503() {
    let spooled = Arc::new(AtomicU64::new(0));
    let health = Health::new();
    let s = Arc::clone(&spooled);
    health.register_component("spool", move || {
        let items = s.load(Ordering::SeqCst);
        ComponentReport {
            kind: "spool",
            name: "traces".into(),
            status: if items == 0 {
                Status::Up
            } else {
                Status::Degraded
            },
            reason: (items > 0).then(|| format!("{items} items wait on disk")),
            figures: vec![("items", items)],
        }
    });
    let app = axum::Router::new().merge(beacon_middleware::axum::health_routes(health));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let (status, _, body) = support::plain_get(addr, "/health/telemetry", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        r#"{"status":"up","components":[{"kind":"spool","name":"traces","status":"up","figures":{"items":0}}]}"#
    );

    spooled.store(12, Ordering::SeqCst);
    let (status, _, body) = support::plain_get(addr, "/health/telemetry", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(
        body,
        r#"{"status":"degraded","components":[{"kind":"spool","name":"traces","status":"degraded","reason":"12 items wait on disk","figures":{"items":12}}]}"#
    );
}
