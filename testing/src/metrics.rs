//! Reading metric data points in tests: [`MetricsCapture`].

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};

/// A meter provider whose data points a test can read at any moment, with no exporter and no
/// waiting: [`MetricsCapture::collect`] aggregates everything recorded so far (cumulative)
/// and returns it.
///
/// ```
/// use beacon::otel::api::metrics::MeterProvider as _;
///
/// let metrics = beacon_test::MetricsCapture::new();
/// let orders = metrics.provider().meter("shop").u64_counter("orders").build();
/// orders.add(2, &[beacon::otel::api::KeyValue::new("region", "eu")]);
/// orders.add(1, &[beacon::otel::api::KeyValue::new("region", "eu")]);
/// let point = metrics.point("orders", &[("region", "eu")]).expect("a point for eu");
/// assert_eq!(point.value.sum(), Some(3.0));
/// ```
#[derive(Clone)]
pub struct MetricsCapture {
    provider: SdkMeterProvider,
    store: Arc<Mutex<Vec<MetricPoint>>>,
}

impl fmt::Debug for MetricsCapture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsCapture").finish_non_exhaustive()
    }
}

/// One data point, flattened for assertions.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricPoint {
    /// Instrument name.
    pub name: String,
    /// Instrument unit.
    pub unit: String,
    /// Name of the instrumentation scope (the meter).
    pub scope: String,
    /// The point's attributes.
    pub attributes: Vec<KeyValue>,
    /// The aggregated value.
    pub value: PointValue,
}

impl MetricPoint {
    /// The attribute `key`, if present.
    pub fn attr(&self, key: &str) -> Option<&Value> {
        self.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }

    /// Whether every `(key, value)` in `expected` is an attribute of this point, compared as
    /// text.
    pub fn has(&self, expected: &[(&str, &str)]) -> bool {
        expected
            .iter()
            .all(|(k, v)| self.attr(k).is_some_and(|a| a.as_str() == *v))
    }
}

/// The value of a [`MetricPoint`].
#[derive(Clone, Debug, PartialEq)]
pub enum PointValue {
    /// A counter or up-down counter.
    Sum {
        /// The cumulative value.
        value: f64,
        /// Whether the sum only grows (a counter).
        monotonic: bool,
    },
    /// A gauge.
    Gauge(f64),
    /// An explicit-bucket histogram.
    Histogram {
        /// Number of measurements.
        count: u64,
        /// Sum of measurements.
        sum: f64,
        /// Bucket upper bounds.
        bounds: Vec<f64>,
        /// Counts per bucket (`bounds.len() + 1`).
        bucket_counts: Vec<u64>,
    },
}

impl PointValue {
    /// The value of a sum or gauge; the sum of a histogram.
    pub fn sum(&self) -> Option<f64> {
        match self {
            Self::Sum { value, .. } | Self::Gauge(value) => Some(*value),
            Self::Histogram { sum, .. } => Some(*sum),
        }
    }

    /// The count of a histogram.
    pub fn count(&self) -> Option<u64> {
        match self {
            Self::Histogram { count, .. } => Some(*count),
            _ => None,
        }
    }
}

impl Default for MetricsCapture {
    fn default() -> Self {
        Self::new()
    }
}

impl MetricsCapture {
    /// A fresh provider with nothing recorded.
    pub fn new() -> Self {
        let store = Arc::new(Mutex::new(Vec::new()));
        let exporter = Store(Arc::clone(&store));
        // The interval is irrelevant: `collect` reads on demand.
        let reader = PeriodicReader::builder(exporter)
            .with_interval(Duration::from_secs(24 * 3600))
            .build();
        Self {
            provider: SdkMeterProvider::builder().with_reader(reader).build(),
            store,
        }
    }

    /// The provider to record with (pass it to the code under test, for example
    /// `ServerLayer::new().meter_provider(metrics.provider())`).
    pub fn provider(&self) -> &SdkMeterProvider {
        &self.provider
    }

    /// Makes this capture's provider the one `#[beacon::instrument(metrics)]` functions record
    /// to until the guard is dropped, whatever the global meter provider is (see
    /// [`beacon::set_default_function_meter_provider`]): calls on this thread, and, when it is
    /// called inside a span (after [`capture()`](crate::capture)), calls anywhere in that
    /// trace — tasks spawned with `.in_current_span()` on any worker thread. Parallel tests
    /// each see their own function metrics.
    ///
    /// ```
    /// #[beacon::instrument(metrics)]
    /// fn charge(cents: u64) -> u64 {
    ///     cents
    /// }
    ///
    /// let metrics = beacon_test::MetricsCapture::new();
    /// let _functions = metrics.record_function_metrics();
    /// charge(250);
    /// let calls = metrics.point("function.calls", &[("function", "charge"), ("result", "ok")]);
    /// assert_eq!(calls.and_then(|p| p.value.sum()), Some(1.0));
    /// ```
    pub fn record_function_metrics(&self) -> beacon::FunctionMeterProviderGuard {
        beacon::set_default_function_meter_provider(&self.provider)
    }

    /// Every data point recorded so far.
    ///
    /// # Panics
    /// When the provider was shut down.
    #[allow(clippy::expect_used)]
    pub fn collect(&self) -> Vec<MetricPoint> {
        self.provider
            .force_flush()
            .expect("MetricsCapture: collecting failed (was the provider shut down?)");
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The points of instrument `name`.
    pub fn points(&self, name: &str) -> Vec<MetricPoint> {
        self.collect()
            .into_iter()
            .filter(|p| p.name == name)
            .collect()
    }

    /// The point of instrument `name` that has all the `attributes` given (compared as text).
    pub fn point(&self, name: &str, attributes: &[(&str, &str)]) -> Option<MetricPoint> {
        self.points(name).into_iter().find(|p| p.has(attributes))
    }
}

struct Store(Arc<Mutex<Vec<MetricPoint>>>);

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Store")
    }
}

fn flatten(metrics: &ResourceMetrics) -> Vec<MetricPoint> {
    let mut out = Vec::new();
    for scope in metrics.scope_metrics() {
        for metric in scope.metrics() {
            let point = |attributes: Vec<KeyValue>, value: PointValue| MetricPoint {
                name: metric.name().to_owned(),
                unit: metric.unit().to_owned(),
                scope: scope.scope().name().to_owned(),
                attributes,
                value,
            };
            macro_rules! points {
                ($data:expr) => {
                    match $data {
                        MetricData::Sum(s) => {
                            for p in s.data_points() {
                                out.push(point(
                                    p.attributes().cloned().collect(),
                                    PointValue::Sum {
                                        value: p.value() as f64,
                                        monotonic: s.is_monotonic(),
                                    },
                                ));
                            }
                        }
                        MetricData::Gauge(g) => {
                            for p in g.data_points() {
                                out.push(point(
                                    p.attributes().cloned().collect(),
                                    PointValue::Gauge(p.value() as f64),
                                ));
                            }
                        }
                        MetricData::Histogram(h) => {
                            for p in h.data_points() {
                                out.push(point(
                                    p.attributes().cloned().collect(),
                                    PointValue::Histogram {
                                        count: p.count(),
                                        sum: p.sum() as f64,
                                        bounds: p.bounds().collect(),
                                        bucket_counts: p.bucket_counts().collect(),
                                    },
                                ));
                            }
                        }
                        MetricData::ExponentialHistogram(_) => {}
                    }
                };
            }
            match metric.data() {
                AggregatedMetrics::F64(d) => points!(d),
                AggregatedMetrics::U64(d) => points!(d),
                AggregatedMetrics::I64(d) => points!(d),
            }
        }
    }
    out
}

impl PushMetricExporter for Store {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let points = flatten(metrics);
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = points;
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Cumulative
    }
}
