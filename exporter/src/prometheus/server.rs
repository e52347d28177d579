//! The standalone scrape listener (`OTEL_EXPORTER_PROMETHEUS_HOST` / `_PORT`), for services
//! that do not serve HTTP themselves or want metrics on a port of their own.
//!
//! Anyone who reaches the port can connect, so the listener bounds what a connection can take:
//! request headers must arrive within [`PrometheusServer::HEADER_READ_TIMEOUT`] (10 s) (an idle keep-alive connection
//! is closed after it too), at most [`PrometheusServer::MAX_CONNECTIONS`] (16) are served at once (further ones wait
//! in the kernel's backlog, costing no file descriptor of the process), a connection lives at
//! most [`PrometheusServer::MAX_CONNECTION_AGE`] (2 min), and a failed `accept` (out of file descriptors) waits a second
//! before the next, as `axum::serve` does, instead of spinning.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{watch, Semaphore};

use super::PrometheusReader;
use crate::{ExportRuntime, ExporterError};

/// The wait after an `accept` that failed for a reason other than the peer (out of file
/// descriptors, for instance), so that the listener does not spin on it.
const ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, Debug)]
struct Limits {
    header_read_timeout: Duration,
    max_connections: usize,
    max_connection_age: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: PrometheusServer::HEADER_READ_TIMEOUT,
            max_connections: PrometheusServer::MAX_CONNECTIONS,
            max_connection_age: PrometheusServer::MAX_CONNECTION_AGE,
        }
    }
}

/// Whether an `accept` error is the peer's (it gave up before being accepted: try the next
/// connection at once), as `axum::serve` tells them apart.
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// A running listener answering `GET /metrics` on its own port. Stops when dropped.
///
/// Anyone who reaches the port can connect, so a connection must send its request headers
/// within [`PrometheusServer::HEADER_READ_TIMEOUT`] (and is closed when idle that long), at
/// most [`PrometheusServer::MAX_CONNECTIONS`] are served at once (the rest wait in the
/// kernel's backlog, holding no file descriptor of the process), each lives at most
/// [`PrometheusServer::MAX_CONNECTION_AGE`], and a failed `accept` (out of file descriptors)
/// waits a second before the next instead of spinning.
#[derive(Debug)]
pub struct PrometheusServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl PrometheusServer {
    /// How long a connection may take to send a request's headers, or stay idle between
    /// requests.
    pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

    /// Connections served at once; Prometheus needs one per scraper.
    pub const MAX_CONNECTIONS: usize = 16;

    /// How long one connection is served before it is closed (a scraper reconnects).
    pub const MAX_CONNECTION_AGE: Duration = Duration::from_secs(120);

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
        Self::start_with(reader, host, port, runtime, Limits::default())
    }

    fn start_with(
        reader: PrometheusReader,
        host: &str,
        port: u16,
        runtime: &ExportRuntime,
        limits: Limits,
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
        let permits = Arc::new(Semaphore::new(limits.max_connections));
        runtime.spawn(async move {
            loop {
                // A permit first: past the cap, connections wait in the kernel's backlog.
                let permit = tokio::select! {
                    _ = stopped.changed() => return,
                    permit = Arc::clone(&permits).acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => return,
                    },
                };
                let (stream, _) = tokio::select! {
                    _ = stopped.changed() => return,
                    accepted = listener.accept() => match accepted {
                        Ok(conn) => conn,
                        Err(e) if is_connection_error(&e) => continue,
                        Err(_) => {
                            // The back-off is the behaviour: EMFILE would fail again at once.
                            tokio::time::sleep(ACCEPT_BACKOFF).await;
                            continue;
                        }
                    },
                };
                let reader = reader.clone();
                let mut stopped = stopped.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    let service = hyper::service::service_fn(move |req| {
                        let reader = reader.clone();
                        async move { Ok::<_, Infallible>(answer(&reader, &req)) }
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(limits.header_read_timeout)
                        .serve_connection(TokioIo::new(stream), service);
                    tokio::select! {
                        _ = conn => {}
                        _ = tokio::time::sleep(limits.max_connection_age) => {}
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

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    #[test]
    fn accept_errors_of_the_peer_retry_at_once_and_others_back_off() {
        use std::io::{Error, ErrorKind};
        assert!(is_connection_error(&Error::from(
            ErrorKind::ConnectionAborted
        )));
        assert!(is_connection_error(&Error::from(
            ErrorKind::ConnectionReset
        )));
        // EMFILE: out of file descriptors.
        assert!(!is_connection_error(&Error::from_raw_os_error(24)));
    }

    #[test]
    fn half_open_connections_are_cut_and_cannot_starve_a_scrape() {
        let rt = ExportRuntime::new().unwrap_or_else(|e| panic!("runtime: {e}"));
        let reader = PrometheusReader::new();
        let _provider = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
            .with_reader(reader.clone())
            .build();
        let limits = Limits {
            header_read_timeout: Duration::from_millis(300),
            max_connections: 4,
            max_connection_age: Duration::from_secs(30),
        };
        let server = PrometheusServer::start_with(reader, "127.0.0.1", 0, &rt, limits)
            .unwrap_or_else(|e| panic!("start: {e}"));
        let addr = server.local_addr();
        let client = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("client runtime: {e}"));
        client.block_on(async {
            let started = Instant::now();
            // 40 attackers (ten times the cap): connect, send half a request line, never finish it.
            let mut attackers = Vec::new();
            for _ in 0..40 {
                let mut s = tokio::net::TcpStream::connect(addr)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                let _ = s.write_all(b"GET /metr").await;
                attackers.push(s);
            }
            // A real scrape still gets its answer: each accepted attacker is cut after the
            // header timeout, making room.
            let mut scrape = tokio::net::TcpStream::connect(addr)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            scrape
                .write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let mut answer = String::new();
            let read =
                tokio::time::timeout(Duration::from_secs(20), scrape.read_to_string(&mut answer))
                    .await;
            assert!(read.is_ok(), "the scrape was starved");
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            // Every attacker's connection is closed by the server (EOF), none is kept.
            for mut s in attackers {
                let mut buf = [0u8; 256];
                let closed = tokio::time::timeout(Duration::from_secs(20), async {
                    loop {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(_) => {}
                        }
                    }
                })
                .await;
                assert!(closed.is_ok(), "an attacker's connection was kept open");
            }
            assert!(started.elapsed() < Duration::from_secs(30));
        });
    }
}
