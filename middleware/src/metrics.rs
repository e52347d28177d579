//! Serving Beacon's Prometheus endpoint over HTTP on the application's own server.

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::task::{Context, Poll};

use beacon::metrics::PrometheusReader;
use http::{header, HeaderValue, Request, Response, StatusCode};
use tower_service::Service;

/// A tower service answering Prometheus scrapes: the exposition in the format the scraper's
/// `Accept` header asks for (text 0.0.4 without one, OpenMetrics with exemplars for
/// Prometheus). Without a reader — Beacon installed without `prometheus` in
/// `OTEL_METRICS_EXPORTER` — it answers 503 with a message saying how to turn it on.
/// [`crate::http::ServerLayer`] excludes `/metrics` from spans and metrics by default.
#[derive(Clone, Debug, Default)]
pub struct MetricsService {
    reader: Option<PrometheusReader>,
}

impl MetricsService {
    /// Serves the reader of the pipeline `beacon::init()` installed, looked up per scrape.
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `reader` (from [`beacon::Telemetry::prometheus`] or one of your own).
    pub fn with_reader(reader: PrometheusReader) -> Self {
        Self {
            reader: Some(reader),
        }
    }
}

impl<B> Service<Request<B>> for MetricsService {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = Ready<Result<Response<String>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let accept = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok());
        ready(Ok(scrape(self.reader.as_ref(), accept)))
    }
}

pub(crate) fn scrape(reader: Option<&PrometheusReader>, accept: Option<&str>) -> Response<String> {
    let global;
    let reader = match reader {
        Some(r) => Some(r),
        None => {
            global = beacon::metrics::prometheus();
            global.as_ref()
        }
    };
    let Some(reader) = reader else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "Prometheus export is off: set OTEL_METRICS_EXPORTER=prometheus (or otlp,prometheus) \
             before beacon::init()\n"
                .to_owned(),
        );
    };
    match reader.scrape(accept) {
        Ok(scrape) => {
            let mut response = Response::new(String::new());
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(scrape.content_type()),
            );
            *response.body_mut() = scrape.into_body();
            response
        }
        Err(e) => text(StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")),
    }
}

fn text(status: StatusCode, body: String) -> Response<String> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
