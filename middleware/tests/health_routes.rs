//! `/health/live` and `/health/ready` over a real axum server: 503 while a critical check fails
//! or hangs (answered within the check's timeout), 200 once it recovers, optional checks only
//! degrade, and Beacon's own `telemetry.export` check reports a dead collector.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod support;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use beacon::health::Health;
use http::StatusCode;

async fn get(addr: std::net::SocketAddr, path: &str) -> (StatusCode, String) {
    let (status, _, body) = support::plain_get(addr, path, None).await;
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_follows_the_checks_and_a_hanging_check_cannot_hang_it() {
    // 0 = healthy, 1 = failing, 2 = hanging.
    let mode = Arc::new(AtomicU8::new(0));
    let health = Health::new()
        .deadline(Duration::from_secs(2))
        .cache_for(Duration::ZERO)
        .error_detail(true);
    let m = Arc::clone(&mode);
    health.register("database", Duration::from_millis(150), move || {
        let m = Arc::clone(&m);
        async move {
            match m.load(Ordering::SeqCst) {
                0 => Ok(()),
                1 => Err("connection refused".to_owned()),
                _ => std::future::pending().await,
            }
        }
    });
    health.register_optional("cache", Duration::from_millis(150), || async {
        Err("evicted".to_owned())
    });
    let app = axum::Router::new().merge(beacon_middleware::axum::health_routes(health));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let (status, body) = get(addr, "/health/live").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, r#"{"status":"up"}"#)
    );

    let (status, body) = get(addr, "/health/ready").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.starts_with(r#"{"status":"degraded","checks":{"database":{"status":"up""#),
        "{body}"
    );
    assert!(
        body.contains(r#""cache":{"status":"degraded","#) && body.contains(r#""error":"evicted""#),
        "{body}"
    );

    mode.store(1, Ordering::SeqCst);
    let (status, body) = get(addr, "/health/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body.contains(r#""database":{"status":"down","#) && body.contains("connection refused"),
        "{body}"
    );

    mode.store(2, Ordering::SeqCst);
    let asked = Instant::now();
    let (status, body) = get(addr, "/health/ready").await;
    let took = asked.elapsed();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("timed out after 150 ms"), "{body}");
    assert!(
        took < Duration::from_secs(2),
        "answered within the deadline: {took:?}"
    );

    mode.store(0, Ordering::SeqCst);
    let (status, _) = get(addr, "/health/ready").await;
    assert_eq!(status, StatusCode::OK, "recovered");
}

#[test]
fn the_telemetry_export_check_reports_a_dead_collector() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let telemetry = beacon::builder()
        .env_source(|_| None)
        .otlp_endpoint(format!("http://{closed}"))
        .otlp_protocol(beacon::config::Protocol::HttpProtobuf)
        .otlp_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let health = Health::new();
    telemetry.register_health(&health);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let report = rt.block_on(health.check());
    assert_eq!(
        report.status,
        beacon::health::Status::Up,
        "nothing failed yet"
    );

    tracing::dispatcher::with_default(&telemetry.dispatch(), || {
        tracing::info_span!("doomed").in_scope(|| {});
    });
    // Flushing makes the export attempt (and its failure) happen now.
    let _ = telemetry.flush();
    let report = rt.block_on(health.check());
    let export = report
        .checks
        .iter()
        .find(|c| c.name == "telemetry.export")
        .unwrap();
    assert_eq!(
        export.status,
        beacon::health::Status::Degraded,
        "{report:?}"
    );
    assert!(
        report.is_ready(),
        "a telemetry problem does not make the service unready"
    );
    assert!(
        export
            .error
            .as_deref()
            .unwrap()
            .contains("1 are held for retry"),
        "{export:?}"
    );
    // Still degraded while the span waits for the collector.
    let report = rt.block_on(health.check());
    assert_eq!(report.status, beacon::health::Status::Degraded);
}

#[tokio::test]
async fn the_plain_tower_service_answers_without_axum() {
    use tower::ServiceExt as _;
    let health = Health::new();
    health.register("queue", Duration::from_millis(50), || async {
        Err("backlog".to_owned())
    });
    let service = beacon_middleware::health::HealthService::new(health);
    let ask = |path: &'static str| {
        let service = service.clone();
        async move {
            let response = service
                .oneshot(http::Request::get(path).body(()).unwrap())
                .await
                .unwrap();
            (response.status(), response.into_body())
        }
    };
    assert_eq!(ask("/health/live").await.0, StatusCode::OK);
    let (status, body) = ask("/health/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains(r#""queue":{"status":"down""#), "{body}");
    assert_eq!(ask("/elsewhere").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_reads_no_error_text_and_a_flood_runs_one_round() {
    use std::sync::atomic::AtomicUsize;
    let rounds = Arc::new(AtomicUsize::new(0));
    // A long cache, so that the whole flood falls in one period whatever the machine's speed.
    let health = Health::new().cache_for(Duration::from_secs(60));
    let counted = Arc::clone(&rounds);
    health.register("database", Duration::from_millis(500), move || {
        counted.fetch_add(1, Ordering::SeqCst);
        async { Err("connect postgres://app:hunter2@db.internal:5432/orders refused".to_owned()) }
    });
    let app = axum::Router::new().merge(beacon_middleware::axum::health_routes(health));
    let addr = support::serve(app).await;
    let flood: Vec<_> = (0..200)
        .map(|_| tokio::spawn(async move { get(addr, "/health/ready").await }))
        .collect();
    for request in flood {
        let (status, body) = request.await.unwrap();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains(r#""database":{"status":"down""#), "{body}");
        assert!(
            !body.contains("hunter2") && !body.contains("db.internal"),
            "{body}"
        );
    }
    assert_eq!(
        rounds.load(Ordering::SeqCst),
        1,
        "200 requests, one round of checks"
    );
}
