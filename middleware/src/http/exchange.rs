//! One request and its response, from the first byte in to the last byte out: the span, the
//! timer and the metric attributes, finished exactly once — when the response body ends, when
//! it is dropped early (the peer went away), or when the service fails.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Buf as _;
use http_body::{Body, Frame, SizeHint};
use opentelemetry::metrics::{Histogram, Meter, UpDownCounter};
use opentelemetry::trace::Status;
use opentelemetry::KeyValue;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::semconv::DURATION_BUCKETS;

/// Which side of the exchange we instrument; it decides metric names and status rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Server,
    Client,
}

/// The HTTP metrics of one side, created once per layer.
#[derive(Debug, Clone)]
pub(crate) struct Instruments {
    duration: Histogram<f64>,
    active: UpDownCounter<i64>,
    request_size: Histogram<u64>,
    response_size: Histogram<u64>,
}

impl Instruments {
    pub(crate) fn new(meter: &Meter, side: Side) -> Self {
        let (duration, active, request, response) = match side {
            Side::Server => (
                "http.server.request.duration",
                "http.server.active_requests",
                "http.server.request.body.size",
                "http.server.response.body.size",
            ),
            Side::Client => (
                "http.client.request.duration",
                "http.client.active_requests",
                "http.client.request.body.size",
                "http.client.response.body.size",
            ),
        };
        let who = match side {
            Side::Server => "server",
            Side::Client => "client",
        };
        Self {
            duration: meter
                .f64_histogram(duration)
                .with_unit("s")
                .with_description(format!("Duration of HTTP {who} requests."))
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
            active: meter
                .i64_up_down_counter(active)
                .with_unit("{request}")
                .with_description(format!("Number of active HTTP {who} requests."))
                .build(),
            request_size: meter
                .u64_histogram(request)
                .with_unit("By")
                .with_description(format!("Size of HTTP {who} request bodies."))
                .build(),
            response_size: meter
                .u64_histogram(response)
                .with_unit("By")
                .with_description(format!("Size of HTTP {who} response bodies."))
                .build(),
        }
    }
}

/// How the exchange ended.
pub(crate) enum End<'a> {
    /// The response body was sent or received to its end.
    Complete,
    /// The body or the future was dropped before the end: the peer went away or the caller
    /// gave up. Recorded, never reported as an error.
    Abandoned,
    /// The service failed (no response), or the body failed mid-stream; the error's type.
    Failed(&'a str, String),
}

/// The state of one exchange until it finishes.
pub(crate) struct Exchange {
    pub(crate) side: Side,
    pub(crate) span: tracing::Span,
    pub(crate) start: Instant,
    pub(crate) instruments: Instruments,
    /// Metric attributes; the first `active_len` are those of the active-requests counter.
    pub(crate) attrs: Vec<KeyValue>,
    pub(crate) active_len: usize,
    pub(crate) request_size: Option<u64>,
    pub(crate) response_size: Option<u64>,
    pub(crate) status: Option<u16>,
}

impl Exchange {
    /// Counts the request as active; call once, right after construction.
    pub(crate) fn begin(&self) {
        self.instruments
            .active
            .add(1, &self.attrs[..self.active_len]);
    }

    /// Records the response head: status code on span and metrics, span status per the rules
    /// for this side.
    pub(crate) fn response<B>(&mut self, response: &http::Response<B>) {
        let code = response.status().as_u16();
        self.status = Some(code);
        self.response_size = response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        self.span
            .record("http.response.status_code", i64::from(code));
        self.attrs
            .push(KeyValue::new("http.response.status_code", i64::from(code)));
        let error = match self.side {
            Side::Server => code >= 500,
            Side::Client => code >= 400,
        };
        if error {
            // `error.type` is the status code as a string; the span status carries no
            // description, since the code already says it.
            let code = response.status().as_str().to_owned();
            self.span.record("error.type", code.as_str());
            self.span.record("otel.status_code", "ERROR");
            self.attrs.push(KeyValue::new("error.type", code));
        }
    }

    fn finish(mut self, end: End<'_>, streamed: u64) {
        let elapsed = self.start.elapsed().as_secs_f64();
        match end {
            End::Complete => {
                // Without a Content-Length, the bytes that went through the body are its size.
                self.response_size.get_or_insert(streamed);
            }
            End::Abandoned => {
                self.span.record("beacon.http.abandoned", true);
            }
            End::Failed(kind, message) => {
                if !self.attrs.iter().any(|kv| kv.key.as_str() == "error.type") {
                    self.span.record("error.type", kind);
                    self.attrs
                        .push(KeyValue::new("error.type", kind.to_owned()));
                }
                self.span.set_status(Status::error(message));
            }
        }
        if let Some(size) = self.request_size {
            self.span.record("http.request.body.size", size);
            self.instruments.request_size.record(size, &self.attrs);
        }
        if let Some(size) = self.response_size {
            self.span.record("http.response.body.size", size);
            self.instruments.response_size.record(size, &self.attrs);
        }
        self.instruments.duration.record(elapsed, &self.attrs);
        self.instruments
            .active
            .add(-1, &self.attrs[..self.active_len]);
        // The span ends when the last handle (this one) is dropped.
    }
}

/// Finishes the exchange when dropped, unless it was finished explicitly first.
pub(crate) struct Guard {
    exchange: Option<Exchange>,
    streamed: u64,
    /// Set when the body reported its end (to hyper through `is_end_stream`, or by returning
    /// `None`): a drop after that is a complete exchange, not an abandoned one.
    ended: AtomicBool,
}

impl Guard {
    pub(crate) fn new(exchange: Exchange) -> Self {
        Self {
            exchange: Some(exchange),
            streamed: 0,
            ended: AtomicBool::new(false),
        }
    }

    pub(crate) fn exchange_mut(&mut self) -> Option<&mut Exchange> {
        self.exchange.as_mut()
    }

    pub(crate) fn span(&self) -> Option<&tracing::Span> {
        self.exchange.as_ref().map(|e| &e.span)
    }

    pub(crate) fn fail(&mut self, kind: &str, message: String) {
        if let Some(exchange) = self.exchange.take() {
            exchange.finish(End::Failed(kind, message), self.streamed);
        }
    }

    fn complete(&mut self) {
        if let Some(exchange) = self.exchange.take() {
            exchange.finish(End::Complete, self.streamed);
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(exchange) = self.exchange.take() {
            let end = if self.ended.load(Ordering::Relaxed) {
                End::Complete
            } else {
                End::Abandoned
            };
            exchange.finish(end, self.streamed);
        }
    }
}

pin_project_lite::pin_project! {
    /// A response body that ends the exchange's span and records its duration and size when
    /// the last frame has gone through — so a streamed response is timed to its end.
    pub struct InstrumentedBody<B> {
        #[pin]
        inner: Option<B>,
        guard: Option<Guard>,
    }
}

impl<B> std::fmt::Debug for InstrumentedBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstrumentedBody").finish_non_exhaustive()
    }
}

impl<B> InstrumentedBody<B> {
    pub(crate) fn new(inner: B, guard: Option<Guard>) -> Self {
        Self {
            inner: Some(inner),
            guard,
        }
    }

    /// An empty body (the response to a handler that panicked).
    pub(crate) fn empty(guard: Option<Guard>) -> Self {
        Self { inner: None, guard }
    }
}

impl<B: Body> Body for InstrumentedBody<B>
where
    B::Error: std::fmt::Display,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let Some(inner) = this.inner.as_pin_mut() else {
            if let Some(guard) = this.guard {
                guard.complete();
            }
            return Poll::Ready(None);
        };
        let polled = inner.poll_frame(cx);
        if let Some(guard) = this.guard.as_mut() {
            match &polled {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        guard.streamed += data.remaining() as u64;
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    guard.fail(std::any::type_name::<B::Error>(), e.to_string());
                }
                Poll::Ready(None) => guard.complete(),
                Poll::Pending => {}
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        let end = self.inner.as_ref().is_none_or(Body::is_end_stream);
        if end {
            if let Some(guard) = &self.guard {
                guard.ended.store(true, Ordering::Relaxed);
            }
        }
        end
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}
