//! Typed configuration values: what the `OTEL_*` strings become.

use std::fmt;
use std::str::FromStr;

use opentelemetry_sdk::trace::Sampler as SdkSampler;

/// The head sampler (`OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Sampler {
    /// Record every trace (`always_on`).
    AlwaysOn,
    /// Record no trace (`always_off`).
    AlwaysOff,
    /// Record this fraction of traces by trace id (`traceidratio`).
    TraceIdRatio(f64),
    /// Follow the parent's decision; record every root (`parentbased_always_on`, the default).
    #[default]
    ParentBasedAlwaysOn,
    /// Follow the parent's decision; record no root (`parentbased_always_off`).
    ParentBasedAlwaysOff,
    /// Follow the parent's decision; record this fraction of roots (`parentbased_traceidratio`).
    ParentBasedTraceIdRatio(f64),
    /// Follow the parent's decision; record at most this many new traces per second
    /// (`beacon_ratelimit`, Beacon's own; see [`crate::sampling::RateLimited`]).
    ParentBasedRateLimited(f64),
}

impl Sampler {
    /// The accepted `OTEL_TRACES_SAMPLER` values.
    pub const NAMES: &'static str = "one of always_on, always_off, traceidratio, \
        parentbased_always_on, parentbased_always_off, parentbased_traceidratio, beacon_ratelimit";

    pub(crate) fn to_sdk(self) -> SdkSampler {
        match self {
            Sampler::AlwaysOn => SdkSampler::AlwaysOn,
            Sampler::AlwaysOff => SdkSampler::AlwaysOff,
            Sampler::TraceIdRatio(r) => SdkSampler::TraceIdRatioBased(r),
            Sampler::ParentBasedAlwaysOn => SdkSampler::ParentBased(Box::new(SdkSampler::AlwaysOn)),
            Sampler::ParentBasedAlwaysOff => {
                SdkSampler::ParentBased(Box::new(SdkSampler::AlwaysOff))
            }
            Sampler::ParentBasedTraceIdRatio(r) => {
                SdkSampler::ParentBased(Box::new(SdkSampler::TraceIdRatioBased(r)))
            }
            Sampler::ParentBasedRateLimited(per_second) => {
                SdkSampler::ParentBased(Box::new(crate::sampling::RateLimited::new(per_second)))
            }
        }
    }
}

/// Where a signal is sent (`OTEL_TRACES_EXPORTER`, `OTEL_METRICS_EXPORTER`, `OTEL_LOGS_EXPORTER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exporter {
    /// OTLP to a collector (`otlp`, the default).
    Otlp,
    /// Readable lines on standard output (`console`).
    Console,
    /// A Prometheus scrape endpoint (`prometheus`; metrics only): a listener on
    /// `OTEL_EXPORTER_PROMETHEUS_HOST:OTEL_EXPORTER_PROMETHEUS_PORT` (default `localhost:9464`)
    /// and the reader behind `beacon_middleware::axum::metrics_route`.
    Prometheus,
    /// Nowhere (`none`).
    None,
}

impl Exporter {
    /// The accepted values.
    pub const NAMES: &'static str =
        "a comma-separated list of otlp, console, prometheus (metrics only), or the single value none";
}

impl FromStr for Exporter {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim() {
            "otlp" => Ok(Exporter::Otlp),
            "console" => Ok(Exporter::Console),
            "prometheus" => Ok(Exporter::Prometheus),
            "none" => Ok(Exporter::None),
            _ => Err(()),
        }
    }
}

/// A context propagator (`OTEL_PROPAGATORS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Propagator {
    /// W3C `traceparent` / `tracestate` (`tracecontext`).
    TraceContext,
    /// W3C `baggage` (`baggage`).
    Baggage,
    /// Zipkin B3, single `b3` header (`b3`).
    B3,
    /// Zipkin B3, `x-b3-*` headers (`b3multi`).
    B3Multi,
    /// Jaeger `uber-trace-id` (`jaeger`).
    Jaeger,
}

impl Propagator {
    /// The accepted values.
    pub const NAMES: &'static str =
        "a comma-separated list of tracecontext, baggage, b3, b3multi, jaeger, or none";
}

impl FromStr for Propagator {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim() {
            "tracecontext" => Ok(Propagator::TraceContext),
            "baggage" => Ok(Propagator::Baggage),
            "b3" => Ok(Propagator::B3),
            "b3multi" => Ok(Propagator::B3Multi),
            "jaeger" => Ok(Propagator::Jaeger),
            _ => Err(()),
        }
    }
}

impl fmt::Display for Propagator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Propagator::TraceContext => "tracecontext",
            Propagator::Baggage => "baggage",
            Propagator::B3 => "b3",
            Propagator::B3Multi => "b3multi",
            Propagator::Jaeger => "jaeger",
        })
    }
}

/// Span limits (`OTEL_SPAN_*_LIMIT`, `OTEL_ATTRIBUTE_*_LIMIT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most attributes on a span (default 128).
    pub span_attributes: u32,
    /// The most events on a span (default 128).
    pub span_events: u32,
    /// The most links on a span (default 128).
    pub span_links: u32,
    /// The most attributes on an event (default 128).
    pub event_attributes: u32,
    /// The most attributes on a link (default 128).
    pub link_attributes: u32,
    /// The longest string attribute value in characters; `None` (the default) is no limit.
    pub attribute_value_length: Option<usize>,
    /// The most attributes on a log record (default 128); later ones are dropped.
    pub log_attributes: u32,
    /// The longest string attribute value on a log record; `None` (the default) is no limit.
    pub log_attribute_value_length: Option<usize>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            span_attributes: 128,
            span_events: 128,
            span_links: 128,
            event_attributes: 128,
            link_attributes: 128,
            attribute_value_length: None,
            log_attributes: 128,
            log_attribute_value_length: None,
        }
    }
}
