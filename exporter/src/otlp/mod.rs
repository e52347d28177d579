//! OTLP exporters for traces, metrics and logs, over gRPC (tonic) or HTTP (protobuf or JSON).
//!
//! These wrap `opentelemetry-otlp` — its encoding, retry with backoff, and partial-success
//! handling — and add what it leaves to the caller: typed configuration resolved once
//! (endpoint, protocol, headers, compression, timeout), TLS chosen by the endpoint's scheme, and
//! construction inside Beacon's [`ExportRuntime`] so that no application runtime is needed.
//!
//! Headers given here win over `OTEL_EXPORTER_OTLP_*HEADERS`, which `opentelemetry-otlp` would
//! otherwise merge on top (code configuration overrides the environment, as everywhere in Beacon).

// Built without any OTLP transport, the builders only report which feature to turn on.
#![cfg_attr(
    not(any(feature = "otlp-grpc", feature = "otlp-http")),
    allow(unused, unreachable_code)
)]

mod delivery;
mod explain;
#[cfg(feature = "otlp-http")]
mod http_client;
mod metrics;
mod redact;
mod retry;

pub use delivery::{DEFAULT_MAX_RETAINED_POINTS, REPLAY_PER_EXPORT as METRIC_REPLAY_PER_EXPORT};
pub use explain::Explained;
pub use metrics::OtlpMetricExporter;
pub use redact::{redact_url, REDACTED};

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use http::{HeaderMap, Uri};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::metrics::Temporality;

use crate::{ExportRuntime, ExporterError};

/// The OTLP transport and encoding (`OTEL_EXPORTER_OTLP_PROTOCOL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// OTLP/gRPC (`grpc`), default port 4317.
    Grpc,
    /// OTLP/HTTP with protobuf bodies (`http/protobuf`), default port 4318. The spec's default.
    HttpProtobuf,
    /// OTLP/HTTP with JSON bodies (`http/json`), default port 4318.
    HttpJson,
}

impl Protocol {
    /// The value as written in `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
            Protocol::HttpJson => "http/json",
        }
    }

    /// The default endpoint for this protocol: `http://localhost:4317` or `http://localhost:4318`.
    pub fn default_endpoint(self) -> &'static str {
        match self {
            Protocol::Grpc => "http://localhost:4317",
            Protocol::HttpProtobuf | Protocol::HttpJson => "http://localhost:4318",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocol {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim() {
            "grpc" => Ok(Protocol::Grpc),
            "http/protobuf" => Ok(Protocol::HttpProtobuf),
            "http/json" => Ok(Protocol::HttpJson),
            _ => Err(()),
        }
    }
}

/// Payload compression (`OTEL_EXPORTER_OTLP_COMPRESSION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// No compression (`none`), the default.
    #[default]
    None,
    /// gzip (`gzip`).
    Gzip,
}

impl FromStr for Compression {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim() {
            "none" => Ok(Compression::None),
            "gzip" => Ok(Compression::Gzip),
            _ => Err(()),
        }
    }
}

/// The signal an exporter carries; decides the HTTP path (`/v1/traces`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// Spans.
    Traces,
    /// Metric data points.
    Metrics,
    /// Log records.
    Logs,
}

impl Signal {
    /// The path OTLP/HTTP appends to a base endpoint: `v1/traces`, `v1/metrics`, `v1/logs`.
    pub fn http_path(self) -> &'static str {
        match self {
            Signal::Traces => "v1/traces",
            Signal::Metrics => "v1/metrics",
            Signal::Logs => "v1/logs",
        }
    }

    /// `traces`, `metrics` or `logs`.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        }
    }
}

/// A fully resolved OTLP destination for one signal.
///
/// Its `Debug` output names the headers but never prints their values, and prints the endpoint
/// without userinfo or query ([`redact_url`]).
#[derive(Clone, PartialEq)]
pub struct OtlpConfig {
    /// Transport and encoding.
    pub protocol: Protocol,
    /// The URL requests go to: for HTTP the full URL including `/v1/<signal>`; for gRPC the
    /// collector's address. `https` turns TLS on (system root certificates).
    pub endpoint: Uri,
    /// Headers (gRPC metadata) sent with every export, e.g. an API key. Mark values
    /// [sensitive](http::HeaderValue::set_sensitive) so that `http` never prints them either.
    pub headers: HeaderMap,
    /// Payload compression.
    pub compression: Compression,
    /// How long one export request may take; zero means no limit
    /// ([`timeout_or_no_limit`](crate::timeout_or_no_limit)).
    pub timeout: Duration,
    /// Extra TLS material for `https` endpoints.
    pub tls: TlsFiles,
}

/// PEM-encoded TLS material (`OTEL_EXPORTER_OTLP_CERTIFICATE`, `…_CLIENT_CERTIFICATE`,
/// `…_CLIENT_KEY`), read from the files the variables name.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificates of authorities to trust in addition to the system's roots (or instead of
    /// them, with [`TlsFiles::only_these_cas`]).
    pub ca_certificate: Option<Vec<u8>>,
    /// Trust only [`TlsFiles::ca_certificate`], not the system's roots: pins a private CA, so
    /// that no certificate a public CA issued for the collector's name is accepted. Building
    /// the exporter fails when it is set without a CA certificate.
    pub only_these_cas: bool,
    /// The client certificate chain for mutual TLS.
    pub client_certificate: Option<Vec<u8>>,
    /// The client private key for mutual TLS.
    pub client_key: Option<Vec<u8>>,
}

impl fmt::Debug for TlsFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.debug_struct("TlsFiles")
            .field("ca_certificate", &self.ca_certificate.is_some())
            .field("only_these_cas", &self.only_these_cas)
            .field("client_certificate", &self.client_certificate.is_some())
            .field("client_key", &self.client_key.is_some())
            .finish()
    }
}

impl fmt::Debug for OtlpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header values are credentials (API keys, bearer tokens): names only.
        let header_names: Vec<&str> = self.headers.keys().map(|k| k.as_str()).collect();
        f.debug_struct("OtlpConfig")
            .field("protocol", &self.protocol)
            .field("endpoint", &self.endpoint_redacted())
            .field("headers", &header_names)
            .field("compression", &self.compression)
            .field("timeout", &self.timeout)
            .field("tls", &self.tls)
            .finish()
    }
}

impl OtlpConfig {
    fn is_tls(&self) -> bool {
        self.endpoint.scheme_str() == Some("https")
    }

    /// Fails when only the configured CAs are to be trusted but none is configured.
    fn check_pinning(&self) -> Result<(), ExporterError> {
        if self.tls.only_these_cas && self.tls.ca_certificate.is_none() {
            return Err(ExporterError::Build(
                "TLS for OTLP is set to trust only the configured CA certificates, but none is \
                 configured; set OTEL_EXPORTER_OTLP_CERTIFICATE (or TlsFiles::ca_certificate)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The endpoint as it may be printed: without userinfo or query ([`redact_url`]).
    pub fn endpoint_redacted(&self) -> String {
        redact_url(&self.endpoint.to_string())
    }
}

#[cfg(feature = "otlp-grpc")]
fn tonic_config<B>(builder: B, cfg: &OtlpConfig) -> B
where
    B: WithExportConfig + opentelemetry_otlp::WithTonicConfig,
{
    let mut builder = builder
        .with_endpoint(cfg.endpoint.to_string())
        .with_timeout(crate::timeout_or_no_limit(cfg.timeout))
        .with_protocol(opentelemetry_otlp::Protocol::Grpc);
    if cfg.compression == Compression::Gzip {
        builder = builder.with_compression(opentelemetry_otlp::Compression::Gzip);
    }
    if cfg.is_tls() {
        let mut tls = tonic::transport::ClientTlsConfig::new();
        if !cfg.tls.only_these_cas {
            tls = tls.with_native_roots();
        }
        if let Some(ca) = &cfg.tls.ca_certificate {
            tls = tls.ca_certificate(tonic::transport::Certificate::from_pem(ca));
        }
        if let (Some(cert), Some(key)) = (&cfg.tls.client_certificate, &cfg.tls.client_key) {
            tls = tls.identity(tonic::transport::Identity::from_pem(cert, key));
        }
        builder = builder.with_tls_config(tls);
    }
    let headers = cfg.headers.clone();
    builder.with_interceptor(move |mut request: tonic::Request<()>| {
        // Runs after opentelemetry-otlp added the headers it read from the environment, so ours
        // replace theirs for the same name.
        let metadata = std::mem::take(request.metadata_mut());
        let mut merged = metadata.into_headers();
        for (name, value) in &headers {
            merged.insert(name.clone(), value.clone());
        }
        *request.metadata_mut() = tonic::metadata::MetadataMap::from_headers(merged);
        Ok(request)
    })
}

#[cfg(feature = "otlp-http")]
fn http_config<B>(
    builder: B,
    cfg: &OtlpConfig,
    cause: &std::sync::Arc<explain::Cause>,
) -> Result<B, ExporterError>
where
    B: WithExportConfig + opentelemetry_otlp::WithHttpConfig,
{
    let protocol = match cfg.protocol {
        Protocol::HttpJson => opentelemetry_otlp::Protocol::HttpJson,
        _ => opentelemetry_otlp::Protocol::HttpBinary,
    };
    let client = http_client::HeaderClient::new(cfg)?.with_cause(cause.clone());
    let mut builder = builder
        .with_endpoint(cfg.endpoint.to_string())
        .with_timeout(crate::timeout_or_no_limit(cfg.timeout))
        .with_protocol(protocol)
        .with_http_client(client);
    if cfg.compression == Compression::Gzip {
        builder = builder.with_compression(opentelemetry_otlp::Compression::Gzip);
    }
    Ok(builder)
}

/// Fails for a protocol whose cargo feature is off, naming the feature to turn on.
fn missing_feature(cfg: &OtlpConfig) -> ExporterError {
    let feature = match cfg.protocol {
        Protocol::Grpc => "otlp-grpc",
        _ => "otlp-http",
    };
    ExporterError::FeatureDisabled {
        protocol: cfg.protocol,
        feature,
    }
}

macro_rules! build_exporter {
    ($cfg:expr, $rt:expr, $builder:expr) => {{
        let cfg: &OtlpConfig = $cfg;
        cfg.check_pinning()?;
        let cause = explain::Cause::new(cfg.endpoint_redacted());
        let inner = $rt.enter(|| match cfg.protocol {
            #[cfg(feature = "otlp-grpc")]
            Protocol::Grpc => tonic_config($builder.with_tonic(), cfg)
                .build()
                .map_err(ExporterError::from),
            #[cfg(feature = "otlp-http")]
            Protocol::HttpProtobuf | Protocol::HttpJson => {
                http_config($builder.with_http(), cfg, &cause)?
                    .build()
                    .map_err(ExporterError::from)
            }
            #[allow(unreachable_patterns)]
            _ => Err(missing_feature(cfg)),
        })?;
        Ok(Explained::new(inner, cause))
    }};
}

/// Builds an OTLP span exporter.
///
/// # Errors
/// [`ExporterError`] when the protocol's feature is off or the exporter cannot be built.
pub fn span_exporter(cfg: &OtlpConfig, rt: &ExportRuntime) -> Result<SpanExporter, ExporterError> {
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    return build_exporter!(cfg, rt, opentelemetry_otlp::SpanExporter::builder());
    #[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
    {
        let _ = rt;
        Err(missing_feature(cfg))
    }
}

/// Builds an OTLP log exporter.
///
/// # Errors
/// [`ExporterError`] when the protocol's feature is off or the exporter cannot be built.
pub fn log_exporter(cfg: &OtlpConfig, rt: &ExportRuntime) -> Result<LogExporter, ExporterError> {
    #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
    return build_exporter!(cfg, rt, opentelemetry_otlp::LogExporter::builder());
    #[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
    {
        let _ = rt;
        Err(missing_feature(cfg))
    }
}

/// The OTLP span exporter: `opentelemetry-otlp`'s, with errors that name the endpoint and the
/// cause ([`Explained`]), or [`Unavailable`] when neither `otlp-grpc` nor `otlp-http` is on.
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub type SpanExporter = Explained<opentelemetry_otlp::SpanExporter>;
/// The OTLP span exporter: `opentelemetry-otlp`'s, or [`Unavailable`] when neither
/// `otlp-grpc` nor `otlp-http` is on.
#[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
pub type SpanExporter = Unavailable;

/// The OTLP log exporter: `opentelemetry-otlp`'s, with errors that name the endpoint and the
/// cause ([`Explained`]), or [`Unavailable`] when neither `otlp-grpc` nor `otlp-http` is on.
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub type LogExporter = Explained<opentelemetry_otlp::LogExporter>;
/// The OTLP log exporter: `opentelemetry-otlp`'s, or [`Unavailable`] when neither `otlp-grpc`
/// nor `otlp-http` is on.
#[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
pub type LogExporter = Unavailable;

/// An exporter that cannot exist: what the OTLP builders "return" when Beacon is built without
/// an OTLP transport (they return the error saying which feature to turn on instead).
#[derive(Debug)]
pub enum Unavailable {}

impl opentelemetry_sdk::trace::SpanExporter for Unavailable {
    #[allow(clippy::manual_async_fn)]
    fn export(
        &self,
        _: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> impl std::future::Future<Output = opentelemetry_sdk::error::OTelSdkResult> + Send {
        async { match *self {} }
    }
}

impl opentelemetry_sdk::logs::LogExporter for Unavailable {
    #[allow(clippy::manual_async_fn)]
    fn export(
        &self,
        _: opentelemetry_sdk::logs::LogBatch<'_>,
    ) -> impl std::future::Future<Output = opentelemetry_sdk::error::OTelSdkResult> + Send {
        async { match *self {} }
    }
}

/// Builds an OTLP metric exporter with the given temporality (cumulative is the default).
///
/// # Errors
/// [`ExporterError`] when the protocol's feature is off or the exporter cannot be built.
pub fn metric_exporter(
    cfg: &OtlpConfig,
    temporality: Temporality,
    rt: &ExportRuntime,
) -> Result<crate::RuntimeMetricExporter<OtlpMetricExporter>, ExporterError> {
    cfg.check_pinning()?;
    let exporter = rt.enter(|| OtlpMetricExporter::new(cfg, temporality))?;
    Ok(crate::RuntimeMetricExporter::new(exporter, rt.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(protocol: Protocol, endpoint: &str) -> OtlpConfig {
        OtlpConfig {
            protocol,
            endpoint: endpoint.parse().expect("uri"),
            headers: HeaderMap::new(),
            compression: Compression::Gzip,
            timeout: Duration::from_secs(1),
            tls: TlsFiles::default(),
        }
    }

    #[test]
    fn every_protocol_builds_for_http_and_https_endpoints_outside_any_runtime() {
        let rt = ExportRuntime::new().expect("runtime");
        for protocol in [Protocol::Grpc, Protocol::HttpProtobuf, Protocol::HttpJson] {
            for endpoint in ["http://127.0.0.1:4317", "https://collector.example:4317"] {
                let cfg = config(protocol, endpoint);
                span_exporter(&cfg, &rt).expect("span exporter");
                log_exporter(&cfg, &rt).expect("log exporter");
                metric_exporter(&cfg, Temporality::Cumulative, &rt).expect("metric exporter");
            }
        }
    }

    #[test]
    fn debug_prints_header_names_but_no_value_userinfo_or_query() {
        let mut cfg = config(
            Protocol::HttpProtobuf,
            "https://user:pa55@collector:4318/v1/traces?sig=qu3ry",
        );
        cfg.headers
            .insert("api-key", http::HeaderValue::from_static("hunter2-secret"));
        let debug = format!("{cfg:?}");
        assert!(debug.contains("api-key"), "{debug}");
        for secret in ["hunter2-secret", "pa55", "user", "qu3ry", "sig"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert!(debug.contains("collector:4318/v1/traces"), "{debug}");
    }

    #[test]
    fn protocol_and_compression_spellings_round_trip() {
        for p in [Protocol::Grpc, Protocol::HttpProtobuf, Protocol::HttpJson] {
            assert_eq!(p.as_str().parse::<Protocol>(), Ok(p));
        }
        assert_eq!("gzip".parse::<Compression>(), Ok(Compression::Gzip));
        assert!("grpcc".parse::<Protocol>().is_err());
        assert!("zstd".parse::<Compression>().is_err());
    }
}
