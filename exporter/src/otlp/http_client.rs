//! The HTTP client for OTLP/HTTP: hyper on rustls (ring provider, system roots), with Beacon's
//! headers.
//!
//! Why not `opentelemetry-otlp`'s reqwest clients: the blocking one panics inside async
//! contexts (opentelemetry-rust #2400), and reqwest's rustls without a crypto provider makes
//! *every* `reqwest::Client` in the application panic at construction through cargo feature
//! unification, while its default provider needs a C toolchain (aws-lc). hyper-rustls with the
//! ring provider, configured per client, touches nothing global.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use opentelemetry_http::{HttpClient, HttpError};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::explain::{chain, Cause};
use super::OtlpConfig;
use crate::ExporterError;

/// OTLP's limit on a response body.
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// Sends OTLP requests and sets the configured headers on each, replacing any that
/// `opentelemetry-otlp` added from the environment.
pub(super) struct HeaderClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    headers: HeaderMap,
    timeout: Duration,
    /// Where the cause of a failed request is kept for the exporter's error message
    /// (`opentelemetry-otlp` drops what [`HttpClient::send_bytes`] returns).
    cause: Option<Arc<Cause>>,
}

impl std::fmt::Debug for HeaderClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header values are credentials: names only.
        let names: Vec<&str> = self.headers.keys().map(|k| k.as_str()).collect();
        f.debug_struct("HeaderClient")
            .field("headers", &names)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HeaderClient {
    pub(super) fn new(cfg: &OtlpConfig) -> Result<Self, ExporterError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ExporterError::Build(format!("TLS setup failed: {e}")))?;
        let tls = tls_roots(tls, cfg)?;
        let tls = match (&cfg.tls.client_certificate, &cfg.tls.client_key) {
            (Some(cert), Some(key)) => {
                let chain = CertificateDer::pem_slice_iter(cert)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| pem_error("client certificate", e))?;
                let key =
                    PrivateKeyDer::from_pem_slice(key).map_err(|e| pem_error("client key", e))?;
                tls.with_client_auth_cert(chain, key).map_err(|e| {
                    ExporterError::Build(format!(
                        "the OTLP TLS client certificate and key do not fit together: {e}"
                    ))
                })?
            }
            _ => tls.with_no_client_auth(),
        };
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .build();
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            headers: cfg.headers.clone(),
            timeout: crate::timeout_or_no_limit(cfg.timeout),
            cause: None,
        })
    }

    /// Also keeps the cause of each failed request in `cause`.
    pub(super) fn with_cause(mut self, cause: Arc<Cause>) -> Self {
        self.cause = Some(cause);
        self
    }

    /// The message for a request that got no response: every cause in the chain, once (the
    /// exporters' messages name the endpoint).
    fn failed(&self, err: &(dyn std::error::Error + 'static)) -> HttpError {
        let message = chain(err);
        if let Some(cause) = &self.cause {
            cause.record(message.clone());
        }
        message.into()
    }
}

type WantsClientCert = rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert>;

fn pem_error(what: &str, e: rustls::pki_types::pem::Error) -> ExporterError {
    ExporterError::Build(format!("the OTLP TLS {what} is not valid PEM: {e}"))
}

/// The system's root certificates plus the configured CA (only the configured CA with
/// `only_these_cas`). Required only for an `https` endpoint; a plain `http` one works on a
/// machine without a certificate store.
fn tls_roots(
    builder: rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier>,
    cfg: &OtlpConfig,
) -> Result<WantsClientCert, ExporterError> {
    let roots = root_store(cfg)?;
    if cfg.is_tls() && roots.is_empty() {
        return Err(ExporterError::Build(
            "no usable root certificate found on this system for an https OTLP endpoint; \
             install the ca-certificates package"
                .into(),
        ));
    }
    Ok(builder.with_root_certificates(roots))
}

fn root_store(cfg: &OtlpConfig) -> Result<rustls::RootCertStore, ExporterError> {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(ca) = &cfg.tls.ca_certificate {
        for cert in CertificateDer::pem_slice_iter(ca) {
            let cert = cert.map_err(|e| pem_error("CA certificate", e))?;
            roots.add(cert).map_err(|e| {
                ExporterError::Build(format!("the OTLP TLS CA certificate is not usable: {e}"))
            })?;
        }
    }
    if !cfg.tls.only_these_cas {
        let loaded = rustls_native_certs::load_native_certs();
        for cert in loaded.certs {
            // A certificate the store cannot parse is skipped, as browsers do.
            let _ = roots.add(cert);
        }
    }
    Ok(roots)
}

#[async_trait]
impl HttpClient for HeaderClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let (mut parts, body) = request.into_parts();
        for (name, value) in &self.headers {
            parts.headers.insert(name.clone(), value.clone());
        }
        let request = Request::from_parts(parts, Full::new(body));
        let response = match tokio::time::timeout(self.timeout, self.client.request(request)).await
        {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => return Err(self.failed(&e)),
            Err(_) => {
                let e = format!("no response within the timeout of {:?}", self.timeout);
                return Err(self.failed(&*HttpError::from(e)));
            }
        };
        let (parts, body) = response.into_parts();
        let body = match Limited::new(body, MAX_RESPONSE_BYTES).collect().await {
            Ok(body) => body.to_bytes(),
            Err(e) => return Err(self.failed(&*e)),
        };
        Ok(Response::from_parts(parts, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_these_cas_leaves_the_system_roots_out() {
        // A CA certificate (self-signed, from rcgen's test vectors would do; any valid PEM CA).
        let key = rcgen::KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
        let mut params =
            rcgen::CertificateParams::new(Vec::<String>::new()).unwrap_or_else(|e| panic!("{e}"));
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = params.self_signed(&key).unwrap_or_else(|e| panic!("{e}"));
        let mut cfg = OtlpConfig {
            protocol: super::super::Protocol::HttpProtobuf,
            endpoint: http::Uri::from_static("https://collector.internal:4318/v1/traces"),
            headers: HeaderMap::new(),
            compression: super::super::Compression::None,
            timeout: Duration::from_secs(1),
            tls: super::super::TlsFiles {
                ca_certificate: Some(ca.pem().into_bytes()),
                only_these_cas: true,
                ..Default::default()
            },
        };
        let pinned = root_store(&cfg).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pinned.len(), 1, "the pinned CA and nothing else");
        cfg.tls.only_these_cas = false;
        let added = root_store(&cfg).unwrap_or_else(|e| panic!("{e}"));
        assert!(added.len() >= pinned.len());
    }
}
