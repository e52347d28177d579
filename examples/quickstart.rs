//! Beacon quickstart: a small axum service with spans, logs and a counter.
//!
//! ```text
//! cargo run --example quickstart                      # printed, and kept in the local hub
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 OTEL_EXPORTER_OTLP_PROTOCOL=grpc \
//!     cargo run --example quickstart                  # sent to a collector
//! BEACON_HUB=true OTEL_EXPORTER_OTLP_ENDPOINT=… cargo run --example quickstart  # both
//! ```
//!
//! It serves `/orders/{id}` and `/checkout/{id}` on a free loopback port, sends a few requests
//! to itself, prints where its telemetry went, and exits. With no backend configured (no OTLP
//! endpoint, no `OTEL_TRACES_EXPORTER`), or with `BEACON_HUB=true`, it
//! also keeps its telemetry in an in-process hub and serves the hub's API (`/api/traces`,
//! `/api/stream`, … — see the `beacon-viewer` crate) on a loopback port it prints; it reads its
//! own traces back from there before exiting, and, run from a terminal, keeps serving until
//! Ctrl-C so you can look.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use beacon::otel::api::metrics::{Counter, MeterProvider as _};
use beacon::otel::api::KeyValue;
use tracing::{info, info_span, warn, Instrument as _};

#[derive(Clone)]
struct AppState {
    orders: Counter<u64>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let otlp_set = [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_TRACES_EXPORTER",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some());

    let mut builder = beacon::builder().service_version(env!("CARGO_PKG_VERSION"));
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        builder = builder.service_name("quickstart");
    }
    builder = if otlp_set {
        // Data goes to the collector; show readable log lines (with trace ids) here too.
        builder.console_logs(true)
    } else {
        // No backend configured: print every signal so a newcomer sees it at once, and keep
        // it in the local hub to query and watch.
        builder
            .console()
            .local_hub()
            .span_batch(beacon::config::BatchConfig {
                scheduled_delay: Duration::from_millis(200),
                ..Default::default()
            })
    };
    let telemetry = builder.try_init()?;
    // With a hub (no backend, or `BEACON_HUB=true`): its API on a loopback port.
    let hub_addr = match telemetry.hub() {
        Some(hub) => Some(serve_hub(hub.clone()).await?),
        None => None,
    };

    println!("Beacon quickstart: telemetry goes to");
    for line in telemetry.describe() {
        println!("  {line}");
    }
    if let Some(addr) = hub_addr {
        println!(
            "Live hub API: http://{addr}/api/traces (and /api/logs, /api/metrics, /api/stream)"
        );
    }

    let orders = telemetry
        .meter_provider()
        .meter("quickstart")
        .u64_counter("orders.processed")
        .with_description("Orders checked out")
        .with_unit("{order}")
        .build();
    // Health checks: Beacon's own (is telemetry getting out?) plus any of yours.
    let health = beacon::health::Health::new();
    telemetry.register_health(&health);
    health.register("orders.store", Duration::from_millis(100), || async {
        Ok(())
    });

    let app = Router::new()
        .route("/orders/{id}", get(get_order))
        .route("/checkout/{id}", post(checkout))
        .with_state(AppState { orders })
        .merge(beacon_middleware::axum::health_routes(health))
        // A server span and the `http.server.*` metrics for every request, continuing the
        // caller's trace.
        .layer(beacon_middleware::http::ServerLayer::new());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });

    let client = reqwest::Client::new();
    for id in [7_u64, 8, 404] {
        let span = info_span!("customer.visit", order.id = id);
        async {
            let got = client
                .get(format!("http://{addr}/orders/{id}"))
                .headers(trace_headers())
                .send()
                .await?;
            info!(status = got.status().as_u16(), "looked up order");
            if got.status().is_success() {
                let paid = client
                    .post(format!("http://{addr}/checkout/{id}"))
                    .headers(trace_headers())
                    .send()
                    .await?;
                info!(status = paid.status().as_u16(), "checked out");
            }
            Ok::<_, reqwest::Error>(())
        }
        .instrument(span)
        .await?;
    }

    let ready = client
        .get(format!("http://{addr}/health/ready"))
        .send()
        .await?;
    println!(
        "GET /health/ready -> {} {}",
        ready.status(),
        ready.text().await?
    );

    let summary = client
        .get(format!("http://{addr}/health/telemetry"))
        .send()
        .await?;
    println!(
        "GET /health/telemetry -> {} {}",
        summary.status(),
        summary.text().await?
    );

    let _ = stop.send(());
    server.await??;

    if let Some(addr) = hub_addr {
        let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "quickstart".into());
        // Read our own traces back through the hub's HTTP API.
        telemetry.flush()?;
        let body = client
            .get(format!("http://{addr}/api/traces?service={service}"))
            .send()
            .await?
            .text()
            .await?;
        let found: serde_json::Value = serde_json::from_str(&body)?;
        let traces = found.as_array().map_or(0, Vec::len);
        println!("Live hub: {traces} traces of service {service} at http://{addr}/api/traces");
        if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            println!("Serving the hub until Ctrl-C (try: curl -N 'http://{addr}/api/stream')");
            tokio::signal::ctrl_c().await?;
        }
    }

    let stats = telemetry.shutdown()?;
    println!(
        "Beacon quickstart: exported {} spans and {} log records; {} lost",
        stats.traces.exported,
        stats.logs.exported,
        stats.lost()
    );
    Ok(())
}

/// Serves the hub's JSON API, live stream and OTLP receiver on a free loopback port.
async fn serve_hub(hub: beacon::hub::Hub) -> std::io::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = beacon_viewer::router(hub, beacon_viewer::ViewerConfig::default());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// The current trace context as request headers, so the server continues this trace.
fn trace_headers() -> reqwest::header::HeaderMap {
    let mut headers = reqwest::header::HeaderMap::new();
    beacon::propagation::inject(&mut beacon_middleware::headers::HeaderInjector(
        &mut headers,
    ));
    headers
}

async fn get_order(Path(id): Path<u64>) -> Result<String, StatusCode> {
    let span = info_span!("order.lookup", order.id = id);
    async move {
        if id == 404 {
            warn!(order.id = id, "order not found");
            return Err(StatusCode::NOT_FOUND);
        }
        info!(order.id = id, "order found");
        Ok(format!("order {id}"))
    }
    .instrument(span)
    .await
}

async fn checkout(State(state): State<AppState>, Path(id): Path<u64>) -> StatusCode {
    let span = info_span!("checkout", order.id = id);
    async move {
        state
            .orders
            .add(1, &[KeyValue::new("payment.method", "card")]);
        info!(order.id = id, amount = 9.99, "order processed");
        StatusCode::OK
    }
    .instrument(span)
    .await
}
