//! `beacon-viewer`: a standalone live hub. One local sink for several services: point their
//! OTLP/HTTP exporters at it and query what they send.

use std::process::ExitCode;

use beacon_viewer::standalone::Settings;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match Settings::from_args(std::env::args().skip(1), |k| std::env::var(k).ok()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("beacon-viewer: {e}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(settings.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("beacon-viewer: cannot listen on {}: {e}", settings.listen);
            return ExitCode::FAILURE;
        }
    };
    let addr = listener.local_addr().unwrap_or(settings.listen);
    let hub = beacon_hub::Hub::new();
    let app = beacon_viewer::router(hub, settings.viewer.clone());
    eprintln!(
        "beacon-viewer: listening on http://{addr}\n  OTLP/HTTP: OTEL_EXPORTER_OTLP_ENDPOINT=http://{addr}{}\n  API: http://{addr}/api/services, /api/traces, /api/logs, /api/metrics, /api/events, /api/stream",
        if settings.viewer.api_key().is_some() {
            " OTEL_EXPORTER_OTLP_HEADERS=x-api-key=<key>"
        } else {
            ""
        }
    );
    let shutdown = async {
        // Ctrl-C ends the process; if the signal handler cannot be installed, serve until killed.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    match axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("beacon-viewer: {e}");
            ExitCode::FAILURE
        }
    }
}
