//! A Prometheus scrape endpoint: a pull [`MetricReader`] that collects when scraped, and
//! encoders for the Prometheus text format 0.0.4 and OpenMetrics 1.0, chosen by the scraper's
//! `Accept` header (no header: text 0.0.4), per the OpenTelemetry Prometheus exporter spec.
//!
//! - Names and units follow the OTel→Prometheus compatibility spec (`UnderscoreEscapingWithSuffixes`,
//!   the default translation): `http.server.request.duration` in `s` is
//!   `http_server_request_duration_seconds`, a monotonic counter's samples end in `_total`, a
//!   gauge in unit `1` ends in `_ratio`, attribute keys become label names with invalid
//!   characters replaced by one `_` (keys that then collide are joined with `;`), each series
//!   carries `otel_scope_name` / `otel_scope_version` / `otel_scope_schema_url` and the scope's
//!   attributes as `otel_scope_<key>`, and the resource is one `target_info` series.
//! - [`Naming::Prometheus`] is the option for expositions that must pass `promtool check
//!   metrics` clean: a gauge counting `{things}` is then named by their plural rather than
//!   ending in `_count`, which Prometheus keeps for histograms (`process.thread.count` →
//!   `process_threads`).
//! - OpenMetrics output carries `_created` for counters and histograms (their start time).
//! - OpenMetrics output carries [exemplars](crate::exemplars) (`# {trace_id="…",span_id="…"}`)
//!   for the instruments that offer them; each exemplar is shown in one OpenMetrics scrape
//!   (the one after it was recorded), since each scrape is a collection cycle.
//! - A scrape collects under the reader's own lock only for as long as the SDK takes to copy out
//!   its aggregates; encoding happens afterwards, with nothing held. Recording into an existing
//!   series never waits for a scrape; the first measurement of a *new* attribute set needs the
//!   SDK's write lock on that instrument, which waits while the collect copies that instrument
//!   (about 2–3 ms for 10,000 series; see BENCHMARKS.md).
//!
//! # Example
//! ```
//! use beacon_exporter::prometheus::{Format, PrometheusReader};
//! use opentelemetry::metrics::MeterProvider as _;
//! use opentelemetry_sdk::metrics::SdkMeterProvider;
//!
//! let reader = PrometheusReader::new();
//! let provider = SdkMeterProvider::builder().with_reader(reader.clone()).build();
//! let requests = provider.meter("shop").u64_counter("orders.placed").build();
//! requests.add(3, &[opentelemetry::KeyValue::new("region", "eu")]);
//!
//! let scrape = reader.scrape(Some("application/openmetrics-text; version=1.0.0"))?;
//! assert_eq!(scrape.format(), Format::OpenMetrics);
//! assert!(scrape.body().contains(r#"orders_placed_total{region="eu",otel_scope_name="shop"} 3"#));
//! assert!(scrape.body().ends_with("# EOF\n"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod encode;
mod names;
#[cfg(not(feature = "prometheus-server"))]
mod no_server;
#[cfg(feature = "prometheus-server")]
mod server;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{InstrumentKind, ManualReader, Pipeline, Temporality};

use crate::exemplars::{exemplars, Cycle, ExemplarFilter};

#[cfg(not(feature = "prometheus-server"))]
pub use no_server::PrometheusServer;
#[cfg(feature = "prometheus-server")]
pub use server::PrometheusServer;

/// How OpenTelemetry names become Prometheus names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Naming {
    /// The compatibility spec's mapping, except that a gauge counting things — a name ending
    /// in `.count` with a unit annotation such as `{thread}` — is named by their plural:
    /// `process.thread.count` → `process_threads`, `process.unix.file_descriptor.count` →
    /// `process_unix_file_descriptors`. Prometheus reserves `_count` for histograms and
    /// summaries, and `promtool check metrics` rejects a gauge ending in it: choose this when
    /// a lint gate reads the exposition.
    Prometheus,
    /// Exactly the OTel→Prometheus compatibility spec (`otlptranslator`'s
    /// `UnderscoreEscapingWithSuffixes`, which the spec makes the default): the names the OTel
    /// Collector's Prometheus exporter and Prometheus's own OTLP receiver give, so a metric
    /// scraped and the same metric pushed over OTLP are one series. The default.
    #[default]
    Compatibility,
}

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4: what every scraper reads; no exemplars.
    Text,
    /// OpenMetrics 1.0 text: `# UNIT`, `# EOF`, exemplars.
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// The format to answer a request with the given `Accept` header: the supported media type
    /// with the highest `q` (OpenMetrics for `application/openmetrics-text`, text 0.0.4 for
    /// `text/plain` and wildcards), text 0.0.4 when there is no header or nothing matches.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Text;
        };
        let mut best: Option<(f32, Format)> = None;
        for range in accept.split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("").to_ascii_lowercase();
            let mut q = 1.0f32;
            let mut version: Option<String> = None;
            for param in parts {
                if let Some((k, v)) = param.split_once('=') {
                    let v = v.trim().trim_matches('"');
                    match k.trim().to_ascii_lowercase().as_str() {
                        "q" => q = v.parse().unwrap_or(0.0),
                        "version" => version = Some(v.to_owned()),
                        _ => {}
                    }
                }
            }
            let format = match media.as_str() {
                "application/openmetrics-text"
                    if version
                        .as_deref()
                        .is_none_or(|v| v == "1.0.0" || v == "0.0.1") =>
                {
                    Format::OpenMetrics
                }
                "text/plain" if version.as_deref().is_none_or(|v| v == "0.0.4") => Format::Text,
                "*/*" | "text/*" => Format::Text,
                _ => continue,
            };
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, format));
            }
        }
        best.map_or(Format::Text, |(_, f)| f)
    }
}

/// One scrape's answer.
#[derive(Debug, Clone)]
pub struct Scrape {
    format: Format,
    body: String,
}

impl Scrape {
    /// The format the body is in.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The `Content-Type` to answer with.
    pub fn content_type(&self) -> &'static str {
        self.format.content_type()
    }

    /// The exposition.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The exposition, owned.
    pub fn into_body(self) -> String {
        self.body
    }
}

/// Why a scrape could not be answered.
#[derive(Debug, thiserror::Error)]
#[error("cannot collect metrics for a scrape: {0} (is the meter provider shut down, or was this reader never given to one with `with_reader`?)")]
pub struct ScrapeError(String);

/// A pull metric reader serving Prometheus scrapes. Clones share one reader: give one to
/// `SdkMeterProviderBuilder::with_reader` and keep another to answer scrapes (or hand it to
/// `beacon_middleware::axum::metrics_route`).
#[derive(Debug, Clone)]
pub struct PrometheusReader {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    reader: ManualReader,
    /// [`Naming::Prometheus`] rather than the default.
    prometheus_names: AtomicBool,
    warned: AtomicBool,
    /// The exemplars this reader has shown (each is shown in one OpenMetrics scrape).
    exemplar_cycle: Cycle,
}

impl Default for PrometheusReader {
    fn default() -> Self {
        Self::new()
    }
}

impl PrometheusReader {
    /// A reader with cumulative temporality (the only kind Prometheus understands). Exemplars
    /// are kept from now on with the default `trace_based` filter; see
    /// [`Self::with_exemplar_filter`].
    pub fn new() -> Self {
        exemplars().enable(ExemplarFilter::default());
        Self {
            inner: Arc::new(Inner {
                reader: ManualReader::builder()
                    .with_temporality(Temporality::Cumulative)
                    .build(),
                prometheus_names: AtomicBool::new(false),
                warned: AtomicBool::new(false),
                exemplar_cycle: Cycle::default(),
            }),
        }
    }

    /// Sets the process's exemplar filter (`OTEL_METRICS_EXEMPLAR_FILTER`).
    #[must_use]
    pub fn with_exemplar_filter(self, filter: ExemplarFilter) -> Self {
        exemplars().enable(filter);
        self
    }

    /// Sets how metric names are mapped (default [`Naming::Compatibility`]), for this reader
    /// and every clone of it.
    #[must_use]
    pub fn with_naming(self, naming: Naming) -> Self {
        self.inner
            .prometheus_names
            .store(naming == Naming::Prometheus, Ordering::Relaxed);
        self
    }

    /// The naming this reader uses.
    pub fn naming(&self) -> Naming {
        if self.inner.prometheus_names.load(Ordering::Relaxed) {
            Naming::Prometheus
        } else {
            Naming::Compatibility
        }
    }

    /// Collects and encodes the current metrics in `format`.
    ///
    /// # Errors
    /// [`ScrapeError`] when the reader cannot collect: its meter provider is shut down, or it
    /// was never registered with one.
    pub fn render(&self, format: Format) -> Result<String, ScrapeError> {
        let mut rm = ResourceMetrics::default();
        self.inner
            .reader
            .collect(&mut rm)
            .map_err(|e| ScrapeError(e.to_string()))?;
        let mut body = String::with_capacity(16 * 1024);
        let store = exemplars();
        // Only OpenMetrics carries exemplars, so only an OpenMetrics scrape is a collection
        // cycle for them: a text scrape in between does not use them up.
        let with_exemplars = (store.enabled() && format == Format::OpenMetrics)
            .then(|| (store, store.collect(&self.inner.exemplar_cycle)));
        let skipped = encode::encode(&rm, format, self.naming(), with_exemplars, &mut body);
        if (skipped.conflicting > 0 || skipped.unsupported > 0)
            && !self.inner.warned.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                target: "beacon::prometheus",
                conflicting = skipped.conflicting,
                exponential_histograms = skipped.unsupported,
                "some metrics are left out of the Prometheus exposition: a name taken by a metric \
                 of another type, or an exponential histogram (not expressible in the text \
                 formats; use explicit buckets for metrics you scrape)"
            );
        }
        Ok(body)
    }

    /// Answers a scrape whose `Accept` header is `accept`.
    ///
    /// # Errors
    /// As [`Self::render`].
    pub fn scrape(&self, accept: Option<&str>) -> Result<Scrape, ScrapeError> {
        let format = Format::negotiate(accept);
        Ok(Scrape {
            format,
            body: self.render(format)?,
        })
    }
}

impl MetricReader for PrometheusReader {
    fn register_pipeline(&self, pipeline: std::sync::Weak<Pipeline>) {
        self.inner.reader.register_pipeline(pipeline);
    }

    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.inner.reader.collect(rm)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.reader.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.reader.shutdown_with_timeout(timeout)
    }

    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.inner.reader.temporality(kind)
    }
}

#[cfg(test)]
mod tests;
