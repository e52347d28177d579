//! Mapping the typed model onto Beacon's resolved [`Config`].

mod beacon;
mod export;
mod metrics;
mod propagators;
mod resource;
mod sampler;

use beacon::beacon;
pub(crate) use export::{otlp_grpc, otlp_http};
use export::{processors, Proc};
use metrics::metrics;
use propagators::propagators;
use resource::resource;
use sampler::sampler;
pub(crate) use sampler::AnySampler;

use std::time::Duration;

use beacon_exporter::batch::BatchConfig;
use beacon_exporter::otlp::{Compression, OtlpConfig, Protocol, Signal, TlsFiles};
use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use opentelemetry::{Array, KeyValue, StringValue, Value as OtelValue};
use opentelemetry_sdk::trace::{ParentBasedSampler, Sampler as SdkSampler, ShouldSample};

use super::error::FileError;
use super::model::*;
use super::views::{self, Views};
use super::Extras;
use crate::config::resolve::{Config, Destinations, PrometheusConfig};
use crate::config::{Limits, Propagator as BeaconPropagator};

type R<T> = Result<T, FileError>;

fn at(field: impl Into<String>, mut e: FileError) -> FileError {
    if e.field.is_empty() {
        e.field = field.into();
    }
    e
}

/// Applies `model` to `config` (resolved from the builder with an empty environment).
pub(crate) fn apply(model: &Configuration, config: &mut Config, code_attrs: &[KeyValue]) -> R<()> {
    config.disabled = model.disabled.unwrap_or(false);
    beacon(model, config)?;
    let beacon = model
        .instrumentation
        .as_ref()
        .and_then(|i| i.rust.as_ref())
        .and_then(|r| r.beacon.as_ref());
    if let Some(level) = model.log_level {
        // The SDK's own diagnostics are Beacon's `beacon*` targets.
        let l = level_name(level);
        config.filter = format!("{},beacon={l},beacon_exporter={l}", config.filter);
    }
    config.resource = resource(model.resource.as_ref(), code_attrs, &mut config.warnings)?;
    config.propagators = propagators(model.propagator.as_ref())?;

    let general = model.attribute_limits.as_ref();
    if general
        .and_then(|g| g.attribute_value_depth_limit)
        .is_some()
    {
        return Err(at(
            "attribute_limits.attribute_value_depth_limit",
            FileError::unsupported(
                "Beacon does not limit the depth of attribute values; remove the key",
            ),
        ));
    }
    let mut limits = Limits::default();
    let g_count = general.and_then(|g| g.attribute_count_limit);
    let g_len = general.and_then(|g| g.attribute_value_length_limit);

    // Traces.
    config.traces = Destinations::default();
    config.file = Extras::default();
    if let Some(tp) = &model.tracer_provider {
        if tp.tracer_configurator.is_some() {
            return Err(at(
                "tracer_provider.tracer_configurator/development",
                not_implemented("tracer_configurator/development"),
            ));
        }
        let (dest, batch, console) = processors(
            "tracer_provider",
            Signal::Traces,
            tp.processors.iter().map(|p| match p {
                SpanProcessor::Batch(b) => Proc::Batch(b),
                SpanProcessor::Simple(s) => Proc::Simple(&s.exporter),
            }),
            BatchConfig::default(),
        )?;
        config.traces = dest;
        config.span_batch = batch;
        config.file.console_span_batch = console;
        let l = tp.limits.as_ref();
        let f = "tracer_provider.limits";
        if l.and_then(|l| l.attribute_value_depth_limit).is_some() {
            return Err(at(
                format!("{f}.attribute_value_depth_limit"),
                FileError::unsupported("Beacon does not limit the depth of attribute values"),
            ));
        }
        limits.span_attributes = u32_or(
            l.and_then(|l| l.attribute_count_limit).or(g_count),
            128,
            &format!("{f}.attribute_count_limit"),
        )?;
        limits.span_events = u32_or(
            l.and_then(|l| l.event_count_limit),
            128,
            &format!("{f}.event_count_limit"),
        )?;
        limits.span_links = u32_or(
            l.and_then(|l| l.link_count_limit),
            128,
            &format!("{f}.link_count_limit"),
        )?;
        limits.event_attributes = u32_or(
            l.and_then(|l| l.event_attribute_count_limit),
            128,
            &format!("{f}.event_attribute_count_limit"),
        )?;
        limits.link_attributes = u32_or(
            l.and_then(|l| l.link_attribute_count_limit),
            128,
            &format!("{f}.link_attribute_count_limit"),
        )?;
        limits.attribute_value_length = l
            .and_then(|l| l.attribute_value_length_limit)
            .or(g_len)
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        let sampler = match &tp.sampler {
            Some(s) => sampler(s, "tracer_provider.sampler")?,
            None => Box::new(ParentBasedSampler::new(SdkSampler::AlwaysOn)),
        };
        config.file.sampler = Some(AnySampler(sampler));
    }

    // Metrics.
    config.metrics = Destinations::default();
    if let Some(mp) = &model.meter_provider {
        metrics(mp, config, beacon)?;
    }

    // Logs.
    config.logs = Destinations::default();
    if let Some(lp) = &model.logger_provider {
        if lp.logger_configurator.is_some() {
            return Err(at(
                "logger_provider.logger_configurator/development",
                not_implemented("logger_configurator/development"),
            ));
        }
        let (dest, batch, console) = processors(
            "logger_provider",
            Signal::Logs,
            lp.processors.iter().map(|p| match p {
                LogProcessor::Batch(b) => Proc::Batch(b),
                LogProcessor::Simple(s) => Proc::Simple(&s.exporter),
            }),
            BatchConfig::logs_default(),
        )?;
        config.logs = dest;
        config.log_batch = batch;
        config.file.console_log_batch = console;
        let l = lp.limits.as_ref();
        if l.and_then(|l| l.attribute_value_depth_limit).is_some() {
            return Err(at(
                "logger_provider.limits.attribute_value_depth_limit",
                FileError::unsupported("Beacon does not limit the depth of attribute values"),
            ));
        }
        limits.log_attributes = u32_or(
            l.and_then(|l| l.attribute_count_limit).or(g_count),
            128,
            "logger_provider.limits.attribute_count_limit",
        )?;
        limits.log_attribute_value_length = l
            .and_then(|l| l.attribute_value_length_limit)
            .or(g_len)
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    }
    config.limits = limits;
    Ok(())
}

fn not_implemented(what: &str) -> FileError {
    FileError::unsupported(format!(
        "{what} is defined by the schema but not implemented by Beacon; remove it"
    ))
}

fn level_name(s: Severity) -> &'static str {
    use Severity::*;
    match s {
        Trace | Trace2 | Trace3 | Trace4 => "trace",
        Debug | Debug2 | Debug3 | Debug4 => "debug",
        Info | Info2 | Info3 | Info4 => "info",
        Warn | Warn2 | Warn3 | Warn4 => "warn",
        Error | Error2 | Error3 | Error4 | Fatal | Fatal2 | Fatal3 | Fatal4 => "error",
    }
}

fn u32_or(v: Option<u64>, default: u32, field: &str) -> R<u32> {
    match v {
        None => Ok(default),
        Some(n) => u32::try_from(n)
            .map_err(|_| at(field, FileError::invalid(n, "a number below 4294967296"))),
    }
}
