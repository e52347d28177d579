//! Errors raised while building exporters.

use crate::otlp::Protocol;

/// Why an exporter could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExporterError {
    /// The protocol was requested but its cargo feature is off.
    #[error("OTLP protocol `{protocol}` needs the `{feature}` feature of beacon; enable it in Cargo.toml")]
    FeatureDisabled {
        /// The protocol asked for.
        protocol: Protocol,
        /// The feature that provides it.
        feature: &'static str,
    },
    /// The export runtime thread could not be started.
    #[error("cannot start Beacon's export runtime thread: {0}")]
    Runtime(#[source] std::io::Error),
    /// `opentelemetry-otlp` refused the configuration.
    #[error("cannot build the OTLP exporter: {0}")]
    Otlp(#[from] opentelemetry_otlp::ExporterBuildError),
    /// Another build step failed; the message says which and how to fix it.
    #[error("{0}")]
    Build(String),
}
