//! Beacon's OTLP metric exporter: `opentelemetry-otlp`'s data conversion
//! (`opentelemetry-proto`'s `ExportMetricsServiceRequest::from(&ResourceMetrics)`), plus the
//! [exemplars](crate::exemplars) Beacon keeps for its own instruments, sent over gRPC or HTTP.
//!
//! Why not `opentelemetry_otlp::MetricExporter`: it sends exactly what `opentelemetry_sdk`
//! collected, and the SDK (0.33) never fills the `exemplars` of a data point, nor lets an
//! exporter add them (the fields are private). Converting to the protobuf request first and
//! adding exemplars there is the narrowest place to do it; the transport around it is the same
//! configuration the span and log exporters use (endpoint, headers, gzip, TLS, timeout).
//!
//! Failed exports are retried, kept and spooled by the rules of the span and log pipelines
//! (see `delivery.rs`): [`OtlpMetricExporter::stats`] counts data points,
//! [`OtlpMetricExporter::with_spool`] adds the disk spool.

// Built without any OTLP transport, the builders only report which feature to turn on.
#![cfg_attr(
    not(any(feature = "otlp-grpc", feature = "otlp-http")),
    allow(unused, unreachable_code)
)]

use std::sync::Arc;
use std::time::UNIX_EPOCH;

use opentelemetry::{KeyValue, Value};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue};
use opentelemetry_proto::tonic::metrics::v1::{exemplar, metric, Exemplar as ProtoExemplar};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;

use super::delivery::Delivery;
use super::retry::Failure;
use super::{OtlpConfig, Protocol};
use crate::batch::PipelineStats;
use crate::exemplars::{self, Exemplar, Exemplars};
use crate::spool::Spool;
use crate::{ExporterError, RuntimeMetricExporter};

/// The `User-Agent` of metric exports: the one `opentelemetry-otlp` (the version in
/// Cargo.lock) sends with Beacon's spans and logs, so a collector sees one exporter per
/// service. Over gRPC tonic appends its own (`… tonic/0.14.x`), as it does for spans and logs.
/// A `User-Agent` in the configured headers wins.
pub(crate) const USER_AGENT: &str = "OTel-OTLP-Exporter-Rust/0.33.1";

/// Exports metrics over OTLP with exemplars. Built by [`super::metric_exporter`].
#[derive(Debug)]
pub struct OtlpMetricExporter {
    transport: Transport,
    temporality: Temporality,
    endpoint: String,
    delivery: Delivery,
    /// The exemplars this exporter has sent (each is sent once).
    exemplar_cycle: exemplars::Cycle,
}

#[derive(Debug)]
enum Transport {
    #[cfg(feature = "otlp-grpc")]
    Grpc(Box<grpc::Client>),
    #[cfg(feature = "otlp-http")]
    Http(Box<http::Client>),
}

impl OtlpMetricExporter {
    pub(super) fn new(cfg: &OtlpConfig, temporality: Temporality) -> Result<Self, ExporterError> {
        let transport = match cfg.protocol {
            #[cfg(feature = "otlp-grpc")]
            Protocol::Grpc => Transport::Grpc(Box::new(grpc::Client::new(cfg)?)),
            #[cfg(feature = "otlp-http")]
            Protocol::HttpProtobuf | Protocol::HttpJson => {
                Transport::Http(Box::new(http::Client::new(cfg)?))
            }
            #[allow(unreachable_patterns)]
            _ => return Err(super::missing_feature(cfg)),
        };
        Ok(Self {
            transport,
            temporality,
            endpoint: cfg.endpoint_redacted(),
            delivery: Delivery::new(crate::timeout_or_no_limit(cfg.timeout)),
            exemplar_cycle: exemplars::Cycle::default(),
        })
    }

    /// The counters of this exporter, in data points: accepted (collected for export),
    /// exported, failed, kept in memory (`retained`) or in the spool for another try.
    pub fn stats(&self) -> Arc<PipelineStats> {
        self.delivery.stats()
    }

    /// Keeps requests that failed for a retryable reason in `spool` once more than
    /// [`super::DEFAULT_MAX_RETAINED_POINTS`] data points (or [`Self::with_max_retained`]) wait
    /// in memory, and at shutdown; sends what an earlier process left there first.
    #[must_use]
    pub fn with_spool(mut self, spool: Spool) -> Self {
        self.delivery.set_spool(spool);
        self
    }

    /// The most data points kept in memory for another try after a retryable failure (default
    /// [`super::DEFAULT_MAX_RETAINED_POINTS`]); past it, the oldest kept requests go to the
    /// spool, or without one are given up and counted as failed. `0` keeps nothing in memory
    /// (beyond the request being exported).
    #[must_use]
    pub fn with_max_retained(mut self, points: u64) -> Self {
        self.delivery.set_max_retained(points);
        self
    }
}

impl RuntimeMetricExporter<OtlpMetricExporter> {
    /// [`OtlpMetricExporter::with_spool`] on the wrapped exporter.
    #[must_use]
    pub fn with_spool(self, spool: Spool) -> Self {
        self.map_inner(|e| e.with_spool(spool))
    }

    /// [`OtlpMetricExporter::with_max_retained`] on the wrapped exporter.
    #[must_use]
    pub fn with_max_retained(self, points: u64) -> Self {
        self.map_inner(|e| e.with_max_retained(points))
    }

    /// [`OtlpMetricExporter::stats`] of the wrapped exporter.
    pub fn stats(&self) -> Arc<PipelineStats> {
        self.get_ref().stats()
    }
}

impl PushMetricExporter for OtlpMetricExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        #[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
        {
            let _ = metrics;
            match self.transport {}
        }
        #[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
        self.send(metrics).await
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
        // The final export has run: what is still kept goes to the spool for the next start.
        self.delivery.park();
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        self.temporality
    }
}

#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
impl OtlpMetricExporter {
    async fn send(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let mut request = ExportMetricsServiceRequest::from(metrics);
        let store = exemplars::exemplars();
        if store.enabled() {
            attach_exemplars(&mut request, store, store.collect(&self.exemplar_cycle));
        }
        self.delivery
            .deliver(request, |request| self.attempt(request))
            .await
            .map_err(|failure| {
                OTelSdkError::InternalFailure(format!(
                    "OTLP metrics export to {} failed: {}",
                    self.endpoint, failure.message
                ))
            })
    }

    /// One export attempt.
    async fn attempt(&self, request: ExportMetricsServiceRequest) -> Result<(), Failure> {
        let response = match &self.transport {
            #[cfg(feature = "otlp-grpc")]
            Transport::Grpc(client) => client.export(request).await,
            #[cfg(feature = "otlp-http")]
            Transport::Http(client) => client.export(request).await,
        }?;
        if let Some(partial) = response.partial_success {
            if partial.rejected_data_points > 0 {
                tracing::warn!(
                    target: "beacon::export",
                    rejected = partial.rejected_data_points,
                    endpoint = %self.endpoint,
                    "the collector rejected {} metric data points: {}",
                    partial.rejected_data_points,
                    partial.error_message
                );
            }
        }
        Ok(())
    }
}

/// OTLP/JSON of `request`, with the 64-bit counts of histogram and summary points (`count`,
/// `zeroCount`, `bucketCounts`) and the exemplars' `timeUnixNano` as JSON numbers.
///
/// Proto3's JSON mapping writes 64-bit integers as strings and every proto3 JSON parser must
/// accept numbers too, but receivers do not all read strings everywhere: rotel (checked end to
/// end in `tests/`, over `http/json`) decodes a histogram whose counts, or whose exemplars'
/// times, are strings as empty data, and reads the numbers. Point timestamps and `asInt` values
/// stay strings, which it reads (and which keep full precision in JavaScript receivers).
#[cfg(feature = "otlp-http")]
pub(crate) fn json_with_numeric_counts(
    request: &ExportMetricsServiceRequest,
) -> Result<Vec<u8>, serde_json::Error> {
    fn number(value: &mut serde_json::Value) {
        if let serde_json::Value::String(s) = value {
            if let Ok(n) = s.parse::<u64>() {
                *value = serde_json::Value::from(n);
            }
        }
    }
    /// `exemplar`: `value` is an item of an `exemplars` list.
    fn walk(value: &mut serde_json::Value, exemplar: bool) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    match (key.as_str(), child) {
                        ("count" | "zeroCount", child) => number(child),
                        ("timeUnixNano", child) if exemplar => number(child),
                        ("bucketCounts", serde_json::Value::Array(counts)) => {
                            counts.iter_mut().for_each(number);
                        }
                        ("exemplars", serde_json::Value::Array(items)) => {
                            items.iter_mut().for_each(|e| walk(e, true));
                        }
                        (_, child) => walk(child, false),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| walk(v, false)),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(request)?;
    walk(&mut value, false);
    serde_json::to_vec(&value)
}

/// Adds the kept exemplars to the data points of the instruments that offer them.
pub(crate) fn attach_exemplars(
    request: &mut ExportMetricsServiceRequest,
    store: &Exemplars,
    window: exemplars::Window,
) {
    let metrics = request
        .resource_metrics
        .iter_mut()
        .flat_map(|r| r.scope_metrics.iter_mut())
        .flat_map(|s| s.metrics.iter_mut());
    for m in metrics {
        let Some(reservoir) = store.reservoir(&m.name) else {
            continue;
        };
        match &mut m.data {
            Some(metric::Data::Histogram(h)) => {
                for p in &mut h.data_points {
                    let hash = exemplars::attributes_hash(to_api(&p.attributes).iter());
                    if let Some(slots) = reservoir.snapshot(hash, window) {
                        p.exemplars.extend(slots.iter().flatten().map(to_proto));
                    }
                }
            }
            Some(metric::Data::Sum(s)) => {
                for p in &mut s.data_points {
                    let hash = exemplars::attributes_hash(to_api(&p.attributes).iter());
                    if let Some(slots) = reservoir.snapshot(hash, window) {
                        p.exemplars.extend(slots.iter().flatten().map(to_proto));
                    }
                }
            }
            _ => {}
        }
    }
}

fn to_api(attrs: &[opentelemetry_proto::tonic::common::v1::KeyValue]) -> Vec<KeyValue> {
    attrs
        .iter()
        .filter_map(|kv| {
            let value = match kv
                .value
                .as_ref()
                .and_then(|v: &AnyValue| v.value.as_ref())?
            {
                any_value::Value::StringValue(s) => Value::from(s.clone()),
                any_value::Value::BoolValue(b) => Value::Bool(*b),
                any_value::Value::IntValue(i) => Value::I64(*i),
                any_value::Value::DoubleValue(d) => Value::F64(*d),
                // Beacon's instruments record only scalars; other values cannot match.
                _ => return None,
            };
            Some(KeyValue::new(kv.key.clone(), value))
        })
        .collect()
}

fn to_proto(e: &Exemplar) -> ProtoExemplar {
    let (trace_id, span_id) = e
        .ids()
        .map(|(t, s)| (t.to_bytes().to_vec(), s.to_bytes().to_vec()))
        .unwrap_or_default();
    ProtoExemplar {
        filtered_attributes: Vec::new(),
        time_unix_nano: e
            .time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        span_id,
        trace_id,
        value: Some(exemplar::Value::AsDouble(e.value)),
    }
}

#[cfg(feature = "otlp-grpc")]
mod grpc {
    use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
    use tonic::codegen::CompressionEncoding;
    use tonic::service::interceptor::InterceptedService;
    use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

    use super::{ExportMetricsServiceRequest, ExportMetricsServiceResponse, OtlpConfig};
    use crate::otlp::retry::{self, Failure};
    use crate::otlp::Compression;
    use crate::ExporterError;

    /// Sets the configured headers on each request, replacing any of the same name.
    #[derive(Clone)]
    pub(super) struct Headers(http::HeaderMap);

    impl tonic::service::Interceptor for Headers {
        fn call(
            &mut self,
            mut request: tonic::Request<()>,
        ) -> Result<tonic::Request<()>, tonic::Status> {
            let metadata = std::mem::take(request.metadata_mut());
            let mut merged = metadata.into_headers();
            for (name, value) in &self.0 {
                merged.insert(name.clone(), value.clone());
            }
            *request.metadata_mut() = tonic::metadata::MetadataMap::from_headers(merged);
            Ok(request)
        }
    }

    pub(super) struct Client {
        client: MetricsServiceClient<InterceptedService<Channel, Headers>>,
    }

    impl std::fmt::Debug for Client {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("grpc::Client")
        }
    }

    impl Client {
        /// Connects lazily: nothing is dialled until the first export, so a collector that is
        /// not up yet is no error at start.
        pub(super) fn new(cfg: &OtlpConfig) -> Result<Self, ExporterError> {
            let mut endpoint = Endpoint::from_shared(cfg.endpoint.to_string())
                .map_err(|e| {
                    ExporterError::Build(format!("OTLP endpoint {}: {e}", cfg.endpoint_redacted()))
                })?
                .timeout(crate::timeout_or_no_limit(cfg.timeout))
                .connect_timeout(crate::timeout_or_no_limit(cfg.timeout))
                .user_agent(super::USER_AGENT)
                .map_err(|e| ExporterError::Build(format!("OTLP User-Agent: {e}")))?;
            if cfg.is_tls() {
                let mut tls = ClientTlsConfig::new();
                if !cfg.tls.only_these_cas {
                    tls = tls.with_native_roots();
                }
                if let Some(ca) = &cfg.tls.ca_certificate {
                    tls = tls.ca_certificate(Certificate::from_pem(ca));
                }
                if let (Some(cert), Some(key)) = (&cfg.tls.client_certificate, &cfg.tls.client_key)
                {
                    tls = tls.identity(Identity::from_pem(cert, key));
                }
                endpoint = endpoint
                    .tls_config(tls)
                    .map_err(|e| ExporterError::Build(format!("OTLP TLS setup failed: {e}")))?;
            }
            let mut client = MetricsServiceClient::with_interceptor(
                endpoint.connect_lazy(),
                Headers(cfg.headers.clone()),
            );
            if cfg.compression == Compression::Gzip {
                client = client.send_compressed(CompressionEncoding::Gzip);
            }
            Ok(Self { client })
        }

        pub(super) async fn export(
            &self,
            request: ExportMetricsServiceRequest,
        ) -> Result<ExportMetricsServiceResponse, Failure> {
            self.client
                .clone()
                .export(tonic::Request::new(request))
                .await
                .map(tonic::Response::into_inner)
                .map_err(|status| {
                    // With a source, the message is only tonic's summary of it ("tcp connect
                    // error"); the cause ("Connection refused") is in the chain.
                    let detail = match std::error::Error::source(&status) {
                        Some(source) => crate::otlp::explain::chain(source),
                        None => status.message().to_owned(),
                    };
                    Failure::new(
                        retry::classify_grpc(&status),
                        format!("{:?}: {detail}", status.code()),
                    )
                })
        }
    }
}

#[cfg(feature = "otlp-http")]
mod http {
    use std::io::Write as _;

    use bytes::Bytes;
    use opentelemetry_http::HttpClient as _;
    use prost::Message as _;

    use super::{ExportMetricsServiceRequest, ExportMetricsServiceResponse, OtlpConfig};
    use crate::otlp::http_client::HeaderClient;
    use crate::otlp::retry::{self, Failure, Retry};
    use crate::otlp::{Compression, Protocol};
    use crate::ExporterError;

    pub(super) struct Client {
        client: HeaderClient,
        endpoint: http::Uri,
        json: bool,
        gzip: bool,
    }

    impl std::fmt::Debug for Client {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("http::Client")
                .field("client", &self.client)
                .field(
                    "endpoint",
                    &crate::otlp::redact_url(&self.endpoint.to_string()),
                )
                .finish_non_exhaustive()
        }
    }

    impl Client {
        pub(super) fn new(cfg: &OtlpConfig) -> Result<Self, ExporterError> {
            Ok(Self {
                client: HeaderClient::new(cfg)?,
                endpoint: cfg.endpoint.clone(),
                json: cfg.protocol == Protocol::HttpJson,
                gzip: cfg.compression == Compression::Gzip,
            })
        }

        pub(super) async fn export(
            &self,
            request: ExportMetricsServiceRequest,
        ) -> Result<ExportMetricsServiceResponse, Failure> {
            let never = |e: String| Failure::new(Retry::Never, e);
            let (mut body, content_type) = if self.json {
                (
                    super::json_with_numeric_counts(&request).map_err(|e| never(e.to_string()))?,
                    "application/json",
                )
            } else {
                (request.encode_to_vec(), "application/x-protobuf")
            };
            let mut builder = http::Request::post(self.endpoint.clone())
                .header(http::header::CONTENT_TYPE, content_type)
                .header(http::header::USER_AGENT, super::USER_AGENT);
            if self.gzip {
                let mut gz =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                gz.write_all(&body).map_err(|e| never(e.to_string()))?;
                body = gz.finish().map_err(|e| never(e.to_string()))?;
                builder = builder.header(http::header::CONTENT_ENCODING, "gzip");
            }
            let request = builder
                .body(Bytes::from(body))
                .map_err(|e| never(e.to_string()))?;
            // No response at all (refused, reset, timed out) is retryable, as in OTLP/HTTP.
            let response = self
                .client
                .send_bytes(request)
                .await
                .map_err(|e| Failure::new(Retry::Backoff, e.to_string()))?;
            if !response.status().is_success() {
                let retry_after = response
                    .headers()
                    .get(http::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok());
                return Err(Failure::new(
                    retry::classify_http(response.status().as_u16(), retry_after),
                    format!(
                        "HTTP {}: {}",
                        response.status(),
                        String::from_utf8_lossy(response.body())
                            .chars()
                            .take(300)
                            .collect::<String>()
                    ),
                ));
            }
            let body = response.body();
            if body.is_empty() {
                return Ok(ExportMetricsServiceResponse::default());
            }
            // A response that does not parse is still a success: the data was accepted.
            Ok(if self.json {
                serde_json::from_slice(body).unwrap_or_default()
            } else {
                ExportMetricsServiceResponse::decode(body.as_ref()).unwrap_or_default()
            })
        }
    }
}
