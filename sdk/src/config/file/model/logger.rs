//! `logger_provider`.

use serde::Deserialize;

use super::*;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoggerProvider {
    pub(crate) processors: Vec<LogProcessor>,
    pub(crate) limits: Option<LogLimits>,
    /// Defined by the schema, not implemented by Beacon: an error when present.
    #[serde(rename = "logger_configurator/development")]
    pub(crate) logger_configurator: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LogProcessor {
    Batch(BatchProcessor<Exporter>),
    Simple(SimpleProcessor<Exporter>),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogLimits {
    pub(crate) attribute_value_length_limit: Option<u64>,
    pub(crate) attribute_count_limit: Option<u64>,
    pub(crate) attribute_value_depth_limit: Option<u64>,
}
