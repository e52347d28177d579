//! Export errors that say where and why.
//!
//! `opentelemetry-otlp` 0.33 replaces whatever the HTTP client reported with
//! `HTTP export failed: network error` (no endpoint, no cause), and a gRPC connection failure
//! arrives as tonic's source chain, in which hyper's connector repeats itself
//! (`tcp connect error: tcp connect error: Connection refused`). [`Explained`] wraps its span
//! and log exporters: Beacon's HTTP client records the cause of its last failed request in the
//! exporter's [`Cause`], and a failed export's message gets that cause, the repeats folded, and
//! the endpoint (redacted) it was sent to. The start of the message is kept as it was, so the
//! retry rules (`batch::retry`) read it as before.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use beacon_exporter::otlp::{self, Compression, OtlpConfig, Protocol, TlsFiles};
//! use opentelemetry_sdk::trace::SpanExporter as _;
//!
//! // A port nothing listens on.
//! let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
//! let cfg = OtlpConfig {
//!     protocol: Protocol::HttpProtobuf,
//!     endpoint: format!("http://127.0.0.1:{port}/v1/traces").parse()?,
//!     headers: Default::default(),
//!     compression: Compression::None,
//!     timeout: std::time::Duration::from_secs(2),
//!     tls: TlsFiles::default(),
//! };
//! let rt = beacon_exporter::ExportRuntime::new()?;
//! let exporter = otlp::span_exporter(&cfg, &rt)?;
//! let err = rt.handle().block_on(exporter.export(Vec::new())).unwrap_err().to_string();
//! assert!(err.contains("HTTP export failed: network error"), "{err}");
//! assert!(err.contains(&format!("127.0.0.1:{port}/v1/traces")), "{err}");
//! assert!(err.to_lowercase().contains("connection refused"), "{err}");
//! # Ok(()) }
//! ```

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::Resource;

/// Where an exporter sends, and the cause of its client's last failed request.
#[derive(Debug)]
pub(crate) struct Cause {
    endpoint: String,
    last: Mutex<Option<String>>,
}

impl Cause {
    /// A cause for an exporter sending to `endpoint` (already redacted).
    pub(crate) fn new(endpoint: String) -> Arc<Self> {
        Arc::new(Self {
            endpoint,
            last: Mutex::new(None),
        })
    }

    /// Keeps `message` as the cause of the last failed request (only failures take the lock).
    #[cfg_attr(not(feature = "otlp-http"), allow(dead_code))]
    pub(crate) fn record(&self, message: String) {
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Some(message);
    }

    /// `err` with the repeats in its message folded, the recorded cause added to a bare
    /// `network error`, and the endpoint named.
    fn explain(&self, err: OTelSdkError) -> OTelSdkError {
        let OTelSdkError::InternalFailure(message) = err else {
            return err;
        };
        let mut message = fold_repeats(&message);
        if message.ends_with("network error") {
            let cause = self
                .last
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(cause) = cause {
                message.push_str(": ");
                message.push_str(&cause);
            }
        }
        if !message.contains(&self.endpoint) {
            message.push_str(" (endpoint ");
            message.push_str(&self.endpoint);
            message.push(')');
        }
        OTelSdkError::InternalFailure(message)
    }
}

/// `err` and its sources, joined with `: `, each segment once (a source that repeats the text
/// of the error above it is left out).
#[cfg_attr(
    not(any(feature = "otlp-http", feature = "otlp-grpc")),
    allow(dead_code)
)]
pub(crate) fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut segments: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if segments.last() != Some(&text) {
            segments.push(text);
        }
        next = e.source();
    }
    segments.join(": ")
}

/// `message` with each `: `-separated segment that repeats the one before it left out.
fn fold_repeats(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut previous: Option<&str> = None;
    for segment in message.split(": ") {
        if previous == Some(segment) {
            continue;
        }
        if previous.is_some() {
            out.push_str(": ");
        }
        out.push_str(segment);
        previous = Some(segment);
    }
    out
}

/// An OTLP exporter whose failed exports say which endpoint they were sent to and why they
/// failed: the cause Beacon's HTTP client recorded is added to `opentelemetry-otlp`'s bare
/// `HTTP export failed: network error`, repeated segments of tonic's chain are folded, and the
/// endpoint (redacted) is named. Otherwise exactly the exporter it wraps.
#[derive(Debug)]
pub struct Explained<E> {
    inner: E,
    cause: Arc<Cause>,
}

impl<E> Explained<E> {
    pub(crate) fn new(inner: E, cause: Arc<Cause>) -> Self {
        Self { inner, cause }
    }

    /// The exporter this one wraps.
    pub fn get_ref(&self) -> &E {
        &self.inner
    }
}

impl<E: opentelemetry_sdk::trace::SpanExporter> opentelemetry_sdk::trace::SpanExporter
    for Explained<E>
{
    async fn export(&self, batch: Vec<opentelemetry_sdk::trace::SpanData>) -> OTelSdkResult {
        self.inner
            .export(batch)
            .await
            .map_err(|e| self.cause.explain(e))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn shutdown(&self) -> OTelSdkResult {
        self.inner.shutdown()
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl<E: opentelemetry_sdk::logs::LogExporter> opentelemetry_sdk::logs::LogExporter
    for Explained<E>
{
    async fn export(&self, batch: opentelemetry_sdk::logs::LogBatch<'_>) -> OTelSdkResult {
        self.inner
            .export(batch)
            .await
            .map_err(|e| self.cause.explain(e))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn shutdown(&self) -> OTelSdkResult {
        self.inner.shutdown()
    }

    fn event_enabled(
        &self,
        level: opentelemetry::logs::Severity,
        target: &str,
        name: Option<&str>,
    ) -> bool {
        self.inner.event_enabled(level, target, name)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_fold_and_the_cause_and_endpoint_are_added_once() {
        let cause = Cause::new("http://collector:4318/v1/traces".into());
        let grpc = cause.explain(OTelSdkError::InternalFailure(
            "TonicTracesClient export failed with gRPC code: Unavailable: transport error: \
             tcp connect error: tcp connect error: Connection refused (os error 111)"
                .into(),
        ));
        assert_eq!(
            grpc.to_string(),
            "Operation failed: TonicTracesClient export failed with gRPC code: Unavailable: \
             transport error: tcp connect error: Connection refused (os error 111) \
             (endpoint http://collector:4318/v1/traces)"
        );
        cause.record("client error (Connect): tcp connect error: Connection refused".into());
        let http = cause.explain(OTelSdkError::InternalFailure(
            "HTTP export failed: network error".into(),
        ));
        assert_eq!(
            http.to_string(),
            "Operation failed: HTTP export failed: network error: client error (Connect): \
             tcp connect error: Connection refused (endpoint http://collector:4318/v1/traces)"
        );
        // The cause is used once: a later failure without a new one does not repeat it.
        let again = cause.explain(OTelSdkError::InternalFailure(
            "HTTP export failed: network error".into(),
        ));
        assert!(!again.to_string().contains("client error"), "{again}");
        assert!(matches!(
            cause.explain(OTelSdkError::AlreadyShutdown),
            OTelSdkError::AlreadyShutdown
        ));
    }

    /// Against a loopback port nothing listens on, over each protocol: the message names the
    /// endpoint and the refusal, and no cause twice.
    #[cfg(all(feature = "otlp-http", feature = "otlp-grpc"))]
    #[test]
    fn a_refused_connection_names_the_endpoint_and_the_cause_once() {
        use crate::otlp::{self, Compression, OtlpConfig, Protocol, TlsFiles};
        use opentelemetry_sdk::logs::LogExporter as _;
        use opentelemetry_sdk::trace::SpanExporter as _;

        let rt = crate::ExportRuntime::new().unwrap_or_else(|e| panic!("{e}"));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap_or_else(|e| panic!("{e}"))
            .port();
        for protocol in [Protocol::HttpProtobuf, Protocol::HttpJson, Protocol::Grpc] {
            let path = if protocol == Protocol::Grpc {
                ""
            } else {
                "/v1/traces"
            };
            let endpoint = format!("http://127.0.0.1:{port}{path}");
            let cfg = OtlpConfig {
                protocol,
                endpoint: endpoint.parse().unwrap_or_else(|e| panic!("{e}")),
                headers: http::HeaderMap::new(),
                compression: Compression::None,
                timeout: Duration::from_secs(2),
                tls: TlsFiles::default(),
            };
            let spans = otlp::span_exporter(&cfg, &rt).unwrap_or_else(|e| panic!("{e}"));
            let logs = otlp::log_exporter(&cfg, &rt).unwrap_or_else(|e| panic!("{e}"));
            let metrics = rt
                .enter(|| {
                    otlp::OtlpMetricExporter::new(
                        &cfg,
                        opentelemetry_sdk::metrics::Temporality::Cumulative,
                    )
                })
                .unwrap_or_else(|e| panic!("{e}"));
            let errors = [
                rt.handle().block_on(spans.export(Vec::new())),
                rt.handle()
                    .block_on(logs.export(opentelemetry_sdk::logs::LogBatch::new(&[]))),
                rt.handle().block_on(
                    opentelemetry_sdk::metrics::exporter::PushMetricExporter::export(
                        &metrics,
                        &opentelemetry_sdk::metrics::data::ResourceMetrics::default(),
                    ),
                ),
            ];
            for err in errors {
                let Err(err) = err else {
                    panic!("{protocol}: an export to a closed port succeeded");
                };
                let text = err.to_string();
                assert!(text.contains(&endpoint), "{protocol}: {text}");
                assert!(
                    text.to_lowercase().contains("connection refused"),
                    "{protocol}: {text}"
                );
                let segments: Vec<&str> = text.split(": ").collect();
                assert!(
                    segments.windows(2).all(|w| w[0] != w[1]),
                    "{protocol}: a repeated cause in {text}"
                );
            }
        }
    }

    #[test]
    fn a_chain_names_each_cause_once() {
        #[derive(Debug)]
        struct E(&'static str, Option<Box<E>>);
        impl std::fmt::Display for E {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.0)
            }
        }
        impl std::error::Error for E {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                self.1.as_deref().map(|e| e as _)
            }
        }
        let e = E(
            "client error (Connect)",
            Some(Box::new(E(
                "tcp connect error",
                Some(Box::new(E(
                    "tcp connect error",
                    Some(Box::new(E("Connection refused", None))),
                ))),
            ))),
        );
        assert_eq!(
            chain(&e),
            "client error (Connect): tcp connect error: Connection refused"
        );
    }
}
