//! Built without the `prometheus-server` feature: no listener of Beacon's own; scrapes are
//! served through the application's router (`beacon_middleware::axum::metrics_route`).

use std::net::SocketAddr;

use super::PrometheusReader;
use crate::{ExportRuntime, ExporterError};

/// Beacon's own scrape listener, which this build does not include.
#[derive(Debug)]
pub struct PrometheusServer {
    addr: SocketAddr,
}

impl PrometheusServer {
    /// Always fails in this build, naming the feature that adds the listener.
    ///
    /// # Errors
    /// [`ExporterError::Build`], always.
    pub fn start(
        reader: PrometheusReader,
        host: &str,
        port: u16,
        runtime: &ExportRuntime,
    ) -> Result<Self, ExporterError> {
        let _ = (reader, runtime);
        Err(ExporterError::Build(format!(
            "a Prometheus listener on {host}:{port} needs the `prometheus-server` feature of \
             beacon; enable it, or serve scrapes on your own router with \
             beacon_middleware::axum::metrics_route() and `.prometheus_listener(false)`"
        )))
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}
