//! The OTLP metric exporter's aggregation settings: temporality preference
//! (`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`, [`Builder::otlp_temporality_preference`])
//! and default histogram aggregation (`OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION`,
//! [`Builder::otlp_default_histogram_aggregation`]), per `specification/metrics/sdk_exporters/otlp.md`.
//!
//! # Example
//! ```
//! use beacon::config::{HistogramAggregation, Temporality};
//!
//! // Values are read case-insensitively, as the spec asks.
//! assert_eq!("DELTA".parse(), Ok(Temporality::Delta));
//! assert_eq!("lowmemory".parse(), Ok(Temporality::LowMemory));
//! assert_eq!(
//!     "base2_exponential_bucket_histogram".parse(),
//!     Ok(HistogramAggregation::Base2ExponentialBucketHistogram)
//! );
//! let telemetry = beacon::builder()
//!     .env_source(|_| None)
//!     .otlp_temporality_preference(Temporality::Delta)
//!     .traces_exporter(beacon::config::Exporter::None)
//!     .metrics_exporter(beacon::config::Exporter::None)
//!     .logs_exporter(beacon::config::Exporter::None)
//!     .build()?;
//! telemetry.shutdown()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::str::FromStr;

use opentelemetry_sdk::metrics::Temporality as SdkTemporality;

use super::parse::Env;
use super::vars::{
    OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION,
    OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE,
};
use super::{Builder, InitError};

/// The OTLP metric exporter's aggregation temporality by instrument kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Temporality {
    /// Cumulative for every instrument kind (`cumulative`, the default).
    #[default]
    Cumulative,
    /// Delta for counters (synchronous and asynchronous) and histograms, cumulative for
    /// up-down counters (`delta`), for backends that want deltas.
    Delta,
    /// Delta for synchronous counters and histograms, cumulative for the rest
    /// (`lowmemory`): the SDK need not keep their series between exports.
    LowMemory,
}

impl Temporality {
    /// The accepted values.
    pub const NAMES: &'static str = "cumulative, delta or lowmemory (any case)";

    pub(crate) fn to_sdk(self) -> SdkTemporality {
        match self {
            Temporality::Cumulative => SdkTemporality::Cumulative,
            Temporality::Delta => SdkTemporality::Delta,
            Temporality::LowMemory => SdkTemporality::LowMemory,
        }
    }
}

impl FromStr for Temporality {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cumulative" => Ok(Temporality::Cumulative),
            "delta" => Ok(Temporality::Delta),
            "lowmemory" => Ok(Temporality::LowMemory),
            _ => Err(()),
        }
    }
}

/// The aggregation of histograms no view configures, for the OTLP metric exporter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HistogramAggregation {
    /// Explicit buckets (`explicit_bucket_histogram`, the default): the instrument's advised
    /// boundaries, or the SDK's default ones.
    #[default]
    ExplicitBucketHistogram,
    /// Base-2 exponential buckets (`base2_exponential_bucket_histogram`): 160 buckets, scale
    /// up to 20, min and max recorded (the spec's defaults).
    Base2ExponentialBucketHistogram,
}

impl HistogramAggregation {
    /// The accepted values.
    pub const NAMES: &'static str =
        "explicit_bucket_histogram or base2_exponential_bucket_histogram (any case)";
}

impl FromStr for HistogramAggregation {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim().to_ascii_lowercase().as_str() {
            "explicit_bucket_histogram" => Ok(HistogramAggregation::ExplicitBucketHistogram),
            "base2_exponential_bucket_histogram" => {
                Ok(HistogramAggregation::Base2ExponentialBucketHistogram)
            }
            _ => Err(()),
        }
    }
}

impl Builder {
    /// The OTLP metric exporter's temporality preference
    /// (`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`; default
    /// [`Temporality::Cumulative`]). The console and Prometheus exporters stay cumulative.
    #[must_use]
    pub fn otlp_temporality_preference(mut self, temporality: Temporality) -> Self {
        self.otlp_temporality = Some(temporality);
        self
    }

    /// The OTLP metric exporter's aggregation for histograms no view configures
    /// (`OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION`; default
    /// [`HistogramAggregation::ExplicitBucketHistogram`]). Exponential histograms cannot be
    /// scraped, so `build()` refuses them beside the Prometheus exporter.
    #[must_use]
    pub fn otlp_default_histogram_aggregation(mut self, aggregation: HistogramAggregation) -> Self {
        self.otlp_histogram_aggregation = Some(aggregation);
        self
    }
}

/// The two settings, from code, else the environment, else the defaults.
pub(crate) fn resolve(
    b: &Builder,
    env: &Env<'_>,
) -> Result<(Temporality, HistogramAggregation), InitError> {
    let temporality = match b.otlp_temporality {
        Some(t) => t,
        None => match env.get(OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE) {
            None => Temporality::default(),
            Some(v) => env.or_default(
                v.parse().map_err(|()| {
                    InitError::invalid(
                        OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE,
                        &v,
                        Temporality::NAMES,
                    )
                }),
                Temporality::default(),
                "the default, cumulative",
            )?,
        },
    };
    let histograms = match b.otlp_histogram_aggregation {
        Some(h) => h,
        None => match env.get(OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION) {
            None => HistogramAggregation::default(),
            Some(v) => env.or_default(
                v.parse().map_err(|()| {
                    InitError::invalid(
                        OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION,
                        &v,
                        HistogramAggregation::NAMES,
                    )
                }),
                HistogramAggregation::default(),
                "the default, explicit_bucket_histogram",
            )?,
        },
    };
    Ok((temporality, histograms))
}

/// The view that gives histograms base-2 exponential buckets, and applies the
/// [`Builder::cardinality_limit`]s, in one view so that no instrument gets two streams. `None`
/// when there is nothing to change.
pub(crate) fn default_view(
    limits: Vec<(String, usize)>,
    base2: bool,
) -> Option<
    impl Fn(&opentelemetry_sdk::metrics::Instrument) -> Option<opentelemetry_sdk::metrics::Stream>
        + Send
        + Sync
        + 'static,
> {
    use opentelemetry_sdk::metrics::{Aggregation, InstrumentKind, Stream};
    if limits.is_empty() && !base2 {
        return None;
    }
    Some(move |i: &opentelemetry_sdk::metrics::Instrument| {
        let limit = limits
            .iter()
            .rev()
            .find(|(name, _)| name == i.name())
            .map(|(_, l)| *l);
        let exponential = base2 && i.kind() == InstrumentKind::Histogram;
        if limit.is_none() && !exponential {
            return None;
        }
        let mut s = Stream::builder();
        if let Some(l) = limit {
            s = s.with_cardinality_limit(l);
        }
        if exponential {
            s = s.with_aggregation(Aggregation::Base2ExponentialHistogram {
                max_size: 160,
                max_scale: 20,
                record_min_max: true,
            });
        }
        s.build().ok()
    })
}
