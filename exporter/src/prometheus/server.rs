//! The standalone scrape listener (`OTEL_EXPORTER_PROMETHEUS_HOST` / `_PORT`), for services
//! that do not serve HTTP themselves or want metrics on a port of their own.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::watch;

use super::PrometheusReader;
use crate::{ExportRuntime, ExporterError};

/// A running listener answering `GET /metrics` on its own port. Stops when dropped.
#[derive(Debug)]
pub struct PrometheusServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl PrometheusServer {
    /// Binds `host:port` now (so a taken port is reported at start-up, not at the first
    /// scrape) and serves scrapes on `runtime`, Beacon's export thread, never the
    /// application's.
    ///
    /// # Errors
    /// [`ExporterError::Build`] naming the address when it cannot be bound.
    pub fn start(
        reader: PrometheusReader,
        host: &str,
        port: u16,
        runtime: &ExportRuntime,
    ) -> Result<Self, ExporterError> {
        let listener = std::net::TcpListener::bind((host, port))
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| {
                ExporterError::Build(format!(
                    "cannot listen for Prometheus scrapes on {host}:{port}: {e}; set \
                     OTEL_EXPORTER_PROMETHEUS_HOST / OTEL_EXPORTER_PROMETHEUS_PORT to a free \
                     address (port 0 picks one)"
                ))
            })?;
        let addr = listener
            .local_addr()
            .map_err(|e| ExporterError::Build(format!("Prometheus listener address: {e}")))?;
        let listener = runtime
            .enter(|| tokio::net::TcpListener::from_std(listener))
            .map_err(|e| ExporterError::Build(format!("Prometheus listener: {e}")))?;
        let (stop, mut stopped) = watch::channel(false);
        runtime.spawn(async move {
            loop {
                let (stream, _) = tokio::select! {
                    _ = stopped.changed() => return,
                    accepted = listener.accept() => match accepted {
                        Ok(conn) => conn,
                        Err(_) => continue,
                    },
                };
                let reader = reader.clone();
                let mut stopped = stopped.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let reader = reader.clone();
                        async move { Ok::<_, Infallible>(answer(&reader, &req)) }
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service);
                    tokio::select! {
                        _ = conn => {}
                        _ = stopped.changed() => {}
                    }
                });
            }
        });
        Ok(Self { addr, stop })
    }

    /// The address it listens on (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

fn answer(reader: &PrometheusReader, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let reply = |status: StatusCode, content_type: &str, body: String| {
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = status;
        if let Ok(v) = http::HeaderValue::from_str(content_type) {
            response.headers_mut().insert(http::header::CONTENT_TYPE, v);
        }
        response
    };
    if req.uri().path() != "/metrics" {
        return reply(
            StatusCode::NOT_FOUND,
            "text/plain",
            "metrics are at /metrics\n".into(),
        );
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "use GET\n".into(),
        );
    }
    let accept = req
        .headers()
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    match reader.scrape(accept) {
        Ok(scrape) => reply(StatusCode::OK, scrape.content_type(), scrape.into_body()),
        Err(e) => reply(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            format!("{e}\n"),
        ),
    }
}
