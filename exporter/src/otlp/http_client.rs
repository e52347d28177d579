//! The HTTP client for OTLP/HTTP: reqwest on rustls (ring, system roots), with Beacon's headers.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use opentelemetry_http::{HttpClient, HttpError};

use super::OtlpConfig;
use crate::ExporterError;

/// Sends OTLP requests with reqwest and sets the configured headers on each, replacing any that
/// `opentelemetry-otlp` added from the environment.
#[derive(Debug)]
pub(super) struct HeaderClient {
    client: reqwest::Client,
    headers: HeaderMap,
}

impl HeaderClient {
    pub(super) fn new(cfg: &OtlpConfig) -> Result<Self, ExporterError> {
        let mut builder = reqwest::Client::builder().timeout(cfg.timeout);
        if cfg.is_tls() {
            builder = builder.tls_backend_preconfigured(tls_config()?);
        }
        let client = builder
            .build()
            .map_err(|e| ExporterError::Build(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            client,
            headers: cfg.headers.clone(),
        })
    }
}

/// rustls with the ring provider (no C toolchain needed) and the system's root certificates.
fn tls_config() -> Result<rustls::ClientConfig, ExporterError> {
    let mut roots = rustls::RootCertStore::empty();
    let loaded = rustls_native_certs::load_native_certs();
    for cert in loaded.certs {
        // A certificate the store cannot parse is skipped, as browsers do.
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        return Err(ExporterError::Build(
            "no usable root certificate found on this system for an https OTLP endpoint; \
             install the ca-certificates package"
                .into(),
        ));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ExporterError::Build(format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

#[async_trait]
impl HttpClient for HeaderClient {
    async fn send_bytes(&self, mut request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        for (name, value) in &self.headers {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        self.client.send_bytes(request).await
    }
}
