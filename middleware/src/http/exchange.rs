//! One request and its response, from the first byte in to the last byte out: the span, the
//! timer and the metric attributes, finished exactly once — when the response body ends, when
//! it is dropped early (the peer went away), or when the service fails.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Buf as _;
use http_body::{Body, Frame, SizeHint};
use opentelemetry::metrics::{BoundHistogram, BoundUpDownCounter, Histogram, UpDownCounter};
use opentelemetry::trace::Status;
use opentelemetry::KeyValue;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use beacon::metrics::offer_exemplar;

use super::instruments::{grpc_code_name, BoundRoute, Instruments, RpcConventions};

/// The conventions' value for a method that cannot be confirmed.
pub(crate) const OTHER: &str = "_OTHER";

use crate::headers::HeaderCapture;

/// Which side of the exchange we instrument; it decides metric names and status rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Server,
    Client,
}

/// Plain HTTP, or gRPC over it (status in `grpc-status`, RPC conventions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Protocol {
    Http,
    Grpc,
}

/// `error.type` of a server response its client did not take to the end (a low-cardinality
/// identifier of Beacon's, as the conventions allow when there is no exception type).
pub(crate) const ABANDONED: &str = "response_abandoned";

/// How the exchange ended.
pub(crate) enum End<'a> {
    /// The response body was sent or received to its end: its last frame (the trailers, or
    /// the end of the stream) went through, every byte its `Content-Length` promised did, or
    /// the response cannot have a body.
    Complete,
    /// The body or the future was dropped before the end: the peer went away or the caller
    /// gave up. Recorded as `beacon.http.abandoned`; an error only on an HTTP server (the
    /// response did not reach its client), never for a caller's own cancellation or a gRPC
    /// server (a cancelled call is not a server error there).
    Abandoned,
    /// The service failed (no response), or the body failed mid-stream; the error's type.
    Failed(&'a str, String),
}

/// The state of one exchange until it finishes.
pub(crate) struct Exchange {
    pub(crate) side: Side,
    pub(crate) protocol: Protocol,
    pub(crate) span: tracing::Span,
    pub(crate) start: Instant,
    /// Shared with the layer: one reference count per exchange, not one per instrument.
    pub(crate) instruments: Arc<Instruments>,
    /// Metric attributes; the first `active_len` are those of the active-requests counter.
    pub(crate) attrs: Vec<KeyValue>,
    pub(crate) active_len: usize,
    pub(crate) request_size: Option<u64>,
    pub(crate) response_size: Option<u64>,
    pub(crate) status: Option<u16>,
    /// The span's context for the duration's exemplar, read while the span was entered (see
    /// `ExchangeFuture::poll`), when exemplars are kept.
    pub(crate) exemplar: Option<opentelemetry::trace::SpanContext>,
    /// gRPC with `rpc/dup`: the stable metric's attributes, kept beside the v1.37 ones.
    pub(crate) stable_attrs: Vec<KeyValue>,
    /// The server's bound series for this route and method, with [`bound_key`]'s part of
    /// the key.
    pub(crate) bound: Option<(Arc<BoundRoute>, u32)>,
    /// The request's method is `HEAD`: the response has no body.
    pub(crate) head_request: bool,
    /// gRPC: whether `rpc.method` names a method the server is known to have.
    pub(crate) rpc_method: RpcMethod,
}

/// Whether a gRPC exchange's method is one the instrumentation can confirm (the RPC
/// conventions' rule for `rpc.method`): an unconfirmed method is recorded as `_OTHER`, its
/// name only in the span's `rpc.method_original`, so that callers cannot mint metric series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RpcMethod {
    /// Confirmed: a client's own call, or a server method the user listed. (Still `_OTHER` if
    /// the server answers UNIMPLEMENTED.)
    Known,
    /// A server with no list: confirmed once the server answers with any status other than
    /// UNIMPLEMENTED (which tonic gives every path it does not route).
    ByStatus,
    /// Recorded as `_OTHER` from the start (not in the server's list).
    Other,
}

impl Exchange {
    /// Counts the request as active; call once, right after construction.
    pub(crate) fn begin(&self) {
        if let Some(active) = &self.instruments.active {
            match self.bound_active(active) {
                Some(bound) => bound.add(1),
                None => active.add(1, &self.attrs[..self.active_len]),
            }
        }
    }

    fn bound_active<'a>(
        &'a self,
        active: &UpDownCounter<i64>,
    ) -> Option<&'a BoundUpDownCounter<i64>> {
        let (route, key) = self.bound.as_ref()?;
        let slot = &route.active[(key >> 20) as usize & 1];
        Some(slot.get_or_init(|| active.bind(&self.attrs[..self.active_len])))
    }

    /// Records the response head: status code on span and metrics, span status per the rules
    /// for this side.
    pub(crate) fn response<B>(&mut self, response: &http::Response<B>) {
        if self.side == Side::Client && self.protocol == Protocol::Http {
            self.negotiated(response.version());
        }
        if self.protocol == Protocol::Grpc {
            self.grpc_head(response);
            return;
        }
        self.response_head(response.status(), response.headers());
    }

    /// Whether this response has no body to send: its last byte went out with the head. True
    /// for 1xx, 204 and 304 responses, for gRPC trailers-only responses (`grpc-status` in the
    /// head) and for the response to a `HEAD` request; hyper never polls such a body, so its
    /// drop is the end of the exchange.
    pub(crate) fn bodiless<B>(&self, response: &http::Response<B>) -> bool {
        let status = response.status();
        status.is_informational()
            || status == http::StatusCode::NO_CONTENT
            || status == http::StatusCode::NOT_MODIFIED
            || self.head_request
            || (self.protocol == Protocol::Grpc && response.headers().contains_key("grpc-status"))
    }

    /// An HTTP client's `network.protocol.version` is the one the connection negotiated
    /// (ALPN, or prior knowledge), which the response carries; the request's was only asked
    /// for. Recorded once, here (a second record of a span field would be a second attribute),
    /// so an exchange that got no response has none.
    pub(crate) fn negotiated(&mut self, version: http::Version) {
        let version = super::semconv::protocol_version(version);
        self.span.record("network.protocol.version", version);
        self.attrs
            .push(KeyValue::new("network.protocol.version", version));
    }

    /// Records an HTTP response head (status and headers).
    pub(crate) fn response_head(&mut self, status: http::StatusCode, headers: &http::HeaderMap) {
        let code = status.as_u16();
        self.status = Some(code);
        self.response_size = super::semconv::content_length(headers);
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
            let code = status.as_str().to_owned();
            self.span.record("error.type", code.as_str());
            self.span.record("otel.status_code", "ERROR");
            self.attrs.push(KeyValue::new("error.type", code));
        }
    }

    /// A gRPC response head: a `grpc-status` here is a trailers-only response. An HTTP status
    /// other than 200 without one (a proxy's or a load balancer's answer) gets the gRPC
    /// status gRPC's HTTP-to-status mapping gives it ([`grpc_code_for_http`]), recorded as
    /// if the peer had sent it — the status a gRPC client reports for that response.
    fn grpc_head<B>(&mut self, response: &http::Response<B>) {
        let status = response.status();
        if status != http::StatusCode::OK && !response.headers().contains_key("grpc-status") {
            let message = format!("HTTP status {status} without a grpc-status");
            self.grpc_code(grpc_code_for_http(status.as_u16()), message);
            return;
        }
        self.grpc_status(response.headers());
    }

    /// Records `rpc.grpc.status_code` from `grpc-status`, if present, and the span status:
    /// on a server only UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE and
    /// DATA_LOSS are errors; on a client every code but OK.
    pub(crate) fn grpc_status(&mut self, headers: &http::HeaderMap) {
        if self.status.is_some() {
            return;
        }
        let Some(code) = headers
            .get("grpc-status")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u16>().ok())
        else {
            return;
        };
        let message = headers
            .get("grpc-message")
            .map(|v| {
                percent_encoding::percent_decode(v.as_bytes())
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .unwrap_or_default();
        self.grpc_code(code, message);
    }

    /// Records a gRPC status code (see [`Self::grpc_status`]), with `message` as the span
    /// status description when it is an error.
    fn grpc_code(&mut self, code: u16, message: String) {
        if self.status.is_some() {
            return;
        }
        self.status = Some(code);
        let rpc = self.instruments.rpc;
        let error = match self.side {
            Side::Server => matches!(code, 2 | 4 | 12 | 13 | 14 | 15),
            Side::Client => code != 0,
        };
        if rpc.legacy() {
            self.span.record("rpc.grpc.status_code", i64::from(code));
            self.attrs
                .push(KeyValue::new("rpc.grpc.status_code", i64::from(code)));
        }
        if rpc.stable() {
            let name = grpc_code_name(code);
            self.span.record("rpc.response.status_code", name.as_ref());
            // In `Stable` the stable attributes are the exchange's own; in `Both` they ride
            // beside the v1.37 ones.
            let stable = if rpc == RpcConventions::Stable {
                &mut self.attrs
            } else {
                &mut self.stable_attrs
            };
            stable.push(KeyValue::new("rpc.response.status_code", name.clone()));
            if error {
                self.span.record("error.type", name.as_ref());
                stable.push(KeyValue::new("error.type", name));
            }
        }
        if error {
            self.span.set_status(Status::error(message));
        }
    }

    /// Whether the method must be recorded as `_OTHER` now that the exchange is over.
    fn rpc_method_unconfirmed(&self) -> bool {
        match self.rpc_method {
            RpcMethod::Known => self.status == Some(12),
            RpcMethod::ByStatus => self.status.is_none_or(|code| code == 12),
            RpcMethod::Other => true,
        }
    }

    /// Records `rpc.method` (and with v1.37 `rpc.service`) on the span, once the exchange is
    /// over and it is known whether the method is confirmed: the names, or `_OTHER` (also in
    /// every metric attribute that carried the names) with the span named `grpc` and the
    /// real name in `rpc.method_original`.
    fn record_rpc_method(&mut self) {
        let legacy = self.instruments.rpc.legacy();
        if !self.rpc_method_unconfirmed() {
            fn value<'a>(attrs: &'a [KeyValue], key: &str) -> Option<Cow<'a, str>> {
                attrs
                    .iter()
                    .find(|kv| kv.key.as_str() == key)
                    .map(|kv| kv.value.as_str())
            }
            if let Some(service) = value(&self.attrs, "rpc.service") {
                self.span.record("rpc.service", service.as_ref());
            }
            // Each field once (a second record would add a second attribute); in `Both` the
            // stable (full) name wins.
            let method = value(&self.stable_attrs, "rpc.method")
                .or_else(|| value(&self.attrs, "rpc.method"));
            if let Some(method) = method {
                self.span.record("rpc.method", method.as_ref());
            }
            return;
        }
        let mut original: Option<String> = None;
        let (mut service, mut method) = (None, None);
        for kv in self.attrs.iter_mut().chain(self.stable_attrs.iter_mut()) {
            match kv.key.as_str() {
                "rpc.service" => service = Some(std::mem::replace(&mut kv.value, OTHER.into())),
                "rpc.method" => {
                    let value = std::mem::replace(&mut kv.value, OTHER.into());
                    if value.as_str().contains('/') {
                        original = Some(value.as_str().into_owned());
                    } else {
                        method = Some(value);
                    }
                }
                _ => {}
            }
        }
        let original = original.or_else(|| match (service, method) {
            (Some(s), Some(m)) if s.as_str() != OTHER => {
                Some(format!("{}/{}", s.as_str(), m.as_str()))
            }
            _ => None,
        });
        self.span.record("rpc.method", OTHER);
        if legacy {
            self.span.record("rpc.service", OTHER);
        }
        if let Some(original) = original {
            self.span.record(
                "rpc.method_original",
                super::semconv::truncate(&original, super::semconv::MAX_METHOD_ORIGINAL),
            );
        }
        // Renamed through the OTel span: once its context exists (the propagation and the
        // exemplar read it), tracing-opentelemetry ignores a recorded `otel.name`.
        if self.rpc_method != RpcMethod::Other && !self.span.is_disabled() {
            use opentelemetry::trace::TraceContextExt as _;
            self.span.context().span().update_name("grpc");
        }
    }

    fn finish(mut self, end: End<'_>, streamed: u64) {
        let elapsed = self.start.elapsed().as_secs_f64();
        if self.protocol == Protocol::Grpc {
            self.record_rpc_method();
        }
        let mut unbound = self.status.is_none();
        match end {
            End::Complete => {
                // Without a Content-Length, the bytes that went through the body are its size.
                self.response_size.get_or_insert(streamed);
            }
            End::Abandoned => {
                self.span.record("beacon.http.abandoned", true);
                if self.side == Side::Server && self.protocol == Protocol::Http {
                    if !self.attrs.iter().any(|kv| kv.key.as_str() == "error.type") {
                        unbound = true;
                        self.span.record("error.type", ABANDONED);
                        self.attrs.push(KeyValue::new("error.type", ABANDONED));
                    }
                    self.span.set_status(Status::error(
                        "the client went away before the response was complete",
                    ));
                }
            }
            End::Failed(kind, message) => {
                if !self.attrs.iter().any(|kv| kv.key.as_str() == "error.type") {
                    // An `error.type` the status did not imply: not this key's attributes.
                    unbound = true;
                    self.span.record("error.type", kind);
                    self.attrs
                        .push(KeyValue::new("error.type", kind.to_owned()));
                }
                self.span.set_status(Status::error(message));
            }
        }
        // Body sizes go to the metrics only: on spans the conventions make them opt-in, and each
        // span record is a trip through the subscriber.
        let duration = elapsed * self.instruments.duration_scale;
        let series = match (&self.bound, self.status) {
            (Some((route, key)), Some(status)) if !unbound => route.series(key | u32::from(status)),
            _ => None,
        };
        let attrs = &self.attrs;
        let instruments = &self.instruments;
        if let (Some(size), Some(histogram)) = (self.request_size, &instruments.request_size) {
            record(histogram, series.map(|s| &s.request_size), size, attrs);
        }
        if let (Some(size), Some(histogram)) = (self.response_size, &instruments.response_size) {
            record(histogram, series.map(|s| &s.response_size), size, attrs);
        }
        record(
            &instruments.duration,
            series.map(|s| &s.duration),
            duration,
            attrs,
        );
        if let Some(stable) = &self.instruments.stable_duration {
            let failed = self.attrs.iter().find(|kv| kv.key.as_str() == "error.type");
            if let Some(kv) = failed {
                if !self.stable_attrs.iter().any(|s| s.key == kv.key) {
                    self.stable_attrs.push(kv.clone());
                }
            }
            stable.record(elapsed, &self.stable_attrs);
        }
        match &self.exemplar {
            Some(sc) => self.instruments.exemplars.offer(duration, &self.attrs, sc),
            None => offer_exemplar(
                &self.instruments.exemplars,
                duration,
                &self.attrs,
                &self.span,
            ),
        }
        if let Some(active) = &self.instruments.active {
            match self.bound_active(active) {
                Some(bound) => bound.add(-1),
                None => active.add(-1, &self.attrs[..self.active_len]),
            }
        }
        // The span ends when the last handle (this one) is dropped, at the time it was last
        // exited (tracing-opentelemetry stamps the end on every exit). Its last exit so far was
        // when the response head came out of the service; a streamed body ends later, so exit
        // it once more now.
        drop(self.span.enter());
    }
}

/// Records `value` through the bound handle in `bound` (bound now with `attrs` if it is not
/// yet), or with `attrs` when the exchange has no bound series.
fn record<T: Copy>(
    histogram: &Histogram<T>,
    bound: Option<&OnceLock<BoundHistogram<T>>>,
    value: T,
    attrs: &[KeyValue],
) {
    match bound {
        Some(slot) => slot.get_or_init(|| histogram.bind(attrs)).record(value),
        None => histogram.record(value, attrs),
    }
}

/// Finishes the exchange when dropped, unless it was finished explicitly first.
pub(crate) struct Guard {
    exchange: Option<Exchange>,
    streamed: u64,
    /// Set when the body reported its end (to hyper through `is_end_stream`), or when the
    /// response head says there is no body: a drop after that is a complete exchange, not an
    /// abandoned one.
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

    pub(crate) fn complete(&mut self) {
        if let Some(exchange) = self.exchange.take() {
            exchange.finish(End::Complete, self.streamed);
        }
    }

    /// Records the response head, and whether that was all of the response.
    pub(crate) fn response<B>(&mut self, response: &http::Response<B>) {
        if let Some(exchange) = self.exchange.as_mut() {
            exchange.response(response);
            if exchange.bodiless(response) {
                *self.ended.get_mut() = true;
            }
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(exchange) = self.exchange.take() {
            // hyper stops polling a body once it has sent the bytes its `Content-Length`
            // announced, and drops it: that is its end too.
            let all_sent = exchange
                .response_size
                .is_some_and(|size| self.streamed >= size);
            let end = if all_sent || self.ended.load(Ordering::Relaxed) {
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
                    } else if let Some(trailers) = frame.trailers_ref() {
                        if let Some(exchange) = guard.exchange_mut() {
                            exchange.grpc_status(trailers);
                        }
                        // Trailers are a body's last frame: gRPC peers (tonic among them)
                        // stop polling once they have them, so this is the end of the
                        // exchange, not the drop that follows.
                        guard.complete();
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    guard.fail(super::semconv::error_type::<B::Error>(), e.to_string());
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

pin_project_lite::pin_project! {
    /// The response future of the client and gRPC services: records the response head, then
    /// hands the exchange to the body.
    pub struct ExchangeFuture<F> {
        #[pin]
        inner: F,
        guard: Option<Guard>,
        response_headers: Option<Arc<HeaderCapture>>,
    }
}

impl<F> std::fmt::Debug for ExchangeFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangeFuture").finish_non_exhaustive()
    }
}

impl<F> ExchangeFuture<F> {
    pub(crate) fn new(
        inner: F,
        guard: Guard,
        response_headers: Option<Arc<HeaderCapture>>,
    ) -> Self {
        Self {
            inner,
            guard: Some(guard),
            response_headers,
        }
    }
}

impl<F, ResBody, E> Future for ExchangeFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
    E: std::fmt::Display,
    ResBody: Body,
{
    type Output = Result<http::Response<InstrumentedBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let (polled, exemplar) = {
            let entered = this
                .guard
                .as_ref()
                .and_then(Guard::span)
                .map(tracing::Span::enter);
            let polled = this.inner.poll(cx);
            // While the span is entered its context is a thread-local read away; later, at
            // the end of the body, it would take a subscriber query.
            let exemplar = if polled.is_ready() && entered.is_some() {
                beacon::metrics::exemplar_context_current()
            } else {
                None
            };
            (polled, exemplar)
        };
        let Poll::Ready(result) = polled else {
            return Poll::Pending;
        };
        let Some(guard) = this.guard.as_mut() else {
            return Poll::Ready(result.map(|r| r.map(|b| InstrumentedBody::new(b, None))));
        };
        if let Some(exchange) = guard.exchange_mut() {
            exchange.exemplar = exemplar;
        }
        match result {
            Ok(response) => {
                guard.response(&response);
                if let Some(exchange) = guard.exchange_mut() {
                    if let Some(capture) = this.response_headers.as_deref() {
                        for kv in capture.attributes(response.headers()) {
                            exchange.span.set_attribute(kv.key, kv.value);
                        }
                    }
                }
                let guard = this.guard.take();
                Poll::Ready(Ok(response.map(|body| InstrumentedBody::new(body, guard))))
            }
            Err(error) => {
                guard.fail(super::semconv::error_type::<E>(), error.to_string());
                Poll::Ready(Err(error))
            }
        }
    }
}

/// The gRPC status code a client infers from an HTTP status that came without `grpc-status`
/// (gRPC's `doc/http-grpc-status-mapping.md`): 400 and 431 INTERNAL, 401 UNAUTHENTICATED, 403
/// PERMISSION_DENIED, 404 UNIMPLEMENTED, 429, 502, 503 and 504 UNAVAILABLE, any other
/// UNKNOWN.
pub(crate) fn grpc_code_for_http(status: u16) -> u16 {
    match status {
        400 | 431 => 13,
        401 => 16,
        403 => 7,
        404 => 12,
        429 | 502 | 503 | 504 => 14,
        _ => 2,
    }
}
