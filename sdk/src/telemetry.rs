//! The [`Telemetry`] guard: owns the pipeline, flushes and shuts it down.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use beacon_exporter::batch::{PipelineStats, StatsSnapshot};
use beacon_exporter::otlp::Signal;
use beacon_exporter::prometheus::{PrometheusReader, PrometheusServer};
use beacon_exporter::ExportRuntime;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Dispatch;

use crate::config::InitError;
use crate::propagation::Propagators;

pub(crate) struct Pipeline {
    pub(crate) tracer_provider: SdkTracerProvider,
    pub(crate) meter_provider: SdkMeterProvider,
    pub(crate) logger_provider: SdkLoggerProvider,
    pub(crate) dispatch: Dispatch,
    pub(crate) propagators: Propagators,
    pub(crate) stats: Vec<(Signal, &'static str, Arc<PipelineStats>)>,
    pub(crate) tail_stats: Option<Arc<crate::sampling::TailStats>>,
    /// Owned so the export runtime lives exactly as long as the pipeline.
    pub(crate) _runtime: ExportRuntime,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) destinations: Vec<String>,
    /// The scrape reader and its own listener (stopped when dropped), with
    /// `OTEL_METRICS_EXPORTER=prometheus`.
    pub(crate) prometheus: Option<(PrometheusReader, Option<PrometheusServer>)>,
    /// The last export error of each push metric exporter.
    pub(crate) metric_errors: Vec<beacon_exporter::LastError>,
    /// Bounds the final export of each push metric exporter by the shutdown budget.
    pub(crate) metric_deadlines: Vec<beacon_exporter::Deadline>,
    #[cfg(feature = "hub")]
    pub(crate) hub: Option<beacon_hub::Hub>,
    pub(crate) http: Arc<crate::config::http::HttpOptions>,
}

/// The running telemetry pipeline. Keep it alive for the life of the program: dropping it (or
/// calling [`Telemetry::shutdown`]) flushes what was accepted and shuts every provider down
/// within the configured timeout, from any thread or runtime, without deadlocking.
#[must_use = "dropping the guard shuts telemetry down at once: bind it, `let telemetry = beacon::init()?;`"]
pub struct Telemetry {
    pipeline: Option<Pipeline>,
    /// The propagators when disabled (a pipeline has its own): `OTEL_SDK_DISABLED` does not
    /// turn propagation off.
    disabled_propagators: Propagators,
    warnings: Vec<String>,
    shut_down: AtomicBool,
}

impl fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telemetry")
            .field("enabled", &self.is_enabled())
            .field("destinations", &self.describe())
            .finish_non_exhaustive()
    }
}

/// What each signal's pipeline did, summed over its destinations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Spans.
    pub traces: StatsSnapshot,
    /// Log records.
    pub logs: StatsSnapshot,
    /// Metric data points of the OTLP metric exporter: each collection's points are
    /// `accepted`; a failed export's are kept (`retained`, `spooled`) and sent again, as for
    /// spans and logs.
    pub metrics: StatsSnapshot,
    /// The tail sampler's decisions, when [`crate::Builder::tail_sampling`] is on. Spans it
    /// dropped on purpose are not counted as lost.
    pub tail_sampling: Option<crate::sampling::TailSnapshot>,
}

impl Stats {
    /// Items known lost (dropped on a full queue, or failed to export), over all signals.
    pub fn lost(&self) -> u64 {
        self.traces.lost() + self.logs.lost() + self.metrics.lost()
    }

    /// Items accepted and not delivered, over all signals; after shutdown, all of it is lost.
    pub fn undelivered(&self) -> u64 {
        self.traces.undelivered() + self.logs.undelivered() + self.metrics.undelivered()
    }
}

/// The counters of each signal: every item counts once, however many destinations it goes to
/// (with `otlp,console`, each span is accepted by both). A signal's figures are those of its
/// destination that delivered the least (the first on a tie), so that they add up —
/// `accepted = exported + dropped + failed + retained + in flight` — and what they call lost
/// was lost somewhere; the export calls and time are those of every destination together.
fn sum_stats(list: &[(Signal, &'static str, Arc<PipelineStats>)]) -> Stats {
    let mut stats = Stats::default();
    let mut seen = [false; 3];
    for (signal, _, s) in list {
        let snap = s.snapshot();
        let (slot, seen) = match signal {
            Signal::Traces => (&mut stats.traces, &mut seen[0]),
            Signal::Logs => (&mut stats.logs, &mut seen[1]),
            Signal::Metrics => (&mut stats.metrics, &mut seen[2]),
        };
        let (calls, time) = (slot.export_calls, slot.export_time);
        let last_error = snap.last_error.or(slot.last_error);
        if !*seen || snap.undelivered() > slot.undelivered() {
            *slot = snap;
        }
        *seen = true;
        slot.export_calls = calls + snap.export_calls;
        slot.export_time = time + snap.export_time;
        slot.last_error = last_error;
    }
    stats
}

/// Why [`Telemetry::shutdown`] did not complete cleanly: which providers failed, and the final
/// counters (so what was lost is known). Its `Debug` form is the readable message, so
/// `fn main() -> Result<(), Box<dyn Error>>` ending in `telemetry.shutdown()?` prints one line.
pub struct ShutdownError {
    /// `(signal, what went wrong)` for each provider that failed to flush or shut down.
    pub failures: Vec<(&'static str, String)>,
    /// The counters after shutdown (boxed: this error travels through `Result`s).
    pub stats: Box<Stats>,
}

impl fmt::Debug for ShutdownError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for ShutdownError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "telemetry shutdown incomplete:")?;
        for (signal, why) in &self.failures {
            write!(f, " {signal}: {why};")?;
        }
        write!(
            f,
            " {} spans, {} log records and {} metric data points not delivered",
            self.stats.traces.undelivered(),
            self.stats.logs.undelivered(),
            self.stats.metrics.undelivered()
        )
    }
}

impl std::error::Error for ShutdownError {}

impl Telemetry {
    pub(crate) fn new(pipeline: Pipeline, warnings: Vec<String>) -> Self {
        let telemetry = Self {
            pipeline: Some(pipeline),
            disabled_propagators: Propagators::new(&[]),
            warnings,
            shut_down: AtomicBool::new(false),
        };
        telemetry.log_warnings();
        telemetry
    }

    pub(crate) fn disabled(propagators: Propagators, warnings: Vec<String>) -> Self {
        Self {
            pipeline: None,
            disabled_propagators: propagators,
            warnings,
            shut_down: AtomicBool::new(false),
        }
    }

    fn log_warnings(&self) {
        if let Some(p) = &self.pipeline {
            tracing::dispatcher::with_default(&p.dispatch, || {
                for w in &self.warnings {
                    tracing::warn!(target: "beacon", "{w}");
                }
            });
        }
    }

    /// False when `OTEL_SDK_DISABLED=true` (or `.disabled(true)`) turned everything off.
    pub fn is_enabled(&self) -> bool {
        self.pipeline.is_some()
    }

    /// Warnings about configuration that was ignored (per the spec), also logged at start.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// One line per signal saying where it is sent.
    pub fn describe(&self) -> Vec<String> {
        match &self.pipeline {
            Some(p) => p.destinations.clone(),
            None => vec!["all signals: nowhere (OTEL_SDK_DISABLED=true)".to_owned()],
        }
    }

    /// The `tracing` dispatcher of this pipeline; run code under it with
    /// `tracing::dispatcher::with_default` when it is not installed globally.
    pub fn dispatch(&self) -> Dispatch {
        match &self.pipeline {
            Some(p) => p.dispatch.clone(),
            None => Dispatch::none(),
        }
    }

    /// The configured propagators (also when disabled: per the spec, `OTEL_SDK_DISABLED` has
    /// no effect on the propagators of `OTEL_PROPAGATORS`).
    pub fn propagator(&self) -> Propagators {
        match &self.pipeline {
            Some(p) => p.propagators.clone(),
            None => self.disabled_propagators.clone(),
        }
    }

    /// The tracer provider (a no-op one when disabled).
    pub fn tracer_provider(&self) -> SdkTracerProvider {
        match &self.pipeline {
            Some(p) => p.tracer_provider.clone(),
            None => SdkTracerProvider::builder().build(),
        }
    }

    /// A meter for your own instruments, from this pipeline's meter provider (no trait import
    /// needed).
    ///
    /// ```
    /// let telemetry = beacon::builder()
    ///     .env_source(|_| None)
    ///     .metrics_exporter(beacon::config::Exporter::None)
    ///     .build()?;
    /// let orders = telemetry.meter("shop").u64_counter("orders").build();
    /// orders.add(1, &[beacon::otel::api::KeyValue::new("region", "eu")]);
    /// # Ok::<(), beacon::InitError>(())
    /// ```
    pub fn meter(&self, name: &'static str) -> opentelemetry::metrics::Meter {
        use opentelemetry::metrics::MeterProvider as _;
        self.meter_provider().meter(name)
    }

    /// The meter provider: make instruments with `meter_provider().meter("my-crate")`.
    pub fn meter_provider(&self) -> SdkMeterProvider {
        match &self.pipeline {
            Some(p) => p.meter_provider.clone(),
            None => SdkMeterProvider::builder().build(),
        }
    }

    /// The Prometheus scrape reader, when `OTEL_METRICS_EXPORTER` includes `prometheus`: answer
    /// scrapes with [`PrometheusReader::scrape`], or mount
    /// `beacon_middleware::axum::metrics_route` which finds it by itself once installed.
    pub fn prometheus(&self) -> Option<PrometheusReader> {
        self.pipeline
            .as_ref()
            .and_then(|p| p.prometheus.as_ref())
            .map(|(reader, _)| reader.clone())
    }

    /// The address of the Prometheus listener Beacon opened, if any (useful with port 0).
    pub fn prometheus_addr(&self) -> Option<std::net::SocketAddr> {
        self.pipeline
            .as_ref()
            .and_then(|p| p.prometheus.as_ref())
            .and_then(|(_, server)| server.as_ref())
            .map(PrometheusServer::local_addr)
    }

    /// The logger provider.
    pub fn logger_provider(&self) -> SdkLoggerProvider {
        match &self.pipeline {
            Some(p) => p.logger_provider.clone(),
            None => SdkLoggerProvider::builder().build(),
        }
    }

    /// Counters of what each pipeline accepted, exported, dropped and failed so far.
    pub fn stats(&self) -> Stats {
        match &self.pipeline {
            Some(p) => {
                let mut stats = sum_stats(&p.stats);
                stats.tail_sampling = p.tail_stats.as_ref().map(|s| s.snapshot());
                stats
            }
            None => Stats::default(),
        }
    }

    /// The in-process hub this pipeline sends to, when one was asked for
    /// ([`crate::Builder::hub`], `BEACON_HUB=true`).
    #[cfg(feature = "hub")]
    #[must_use]
    pub fn hub(&self) -> Option<&beacon_hub::Hub> {
        self.pipeline.as_ref()?.hub.as_ref()
    }

    /// The options of Beacon's HTTP layers this pipeline was configured with (by a
    /// configuration file; all defaults otherwise), for `ServerLayer::options` /
    /// `ClientLayer::options` on a pipeline that is not installed. See
    /// [`crate::config::http`].
    #[must_use]
    pub fn http_options(&self) -> Arc<crate::config::http::HttpOptions> {
        self.pipeline
            .as_ref()
            .map(|p| Arc::clone(&p.http))
            .unwrap_or_default()
    }

    /// Registers Beacon's own optional check, `telemetry.export`, in `health`: it fails (the
    /// service is reported degraded, still ready) when spans or log records failed to export
    /// or were dropped in the last 60 seconds, or are being held for retry because the
    /// collector does not answer. The window is kept by time, so asking again (anyone can ask
    /// `/health/ready`) does not clear it.
    ///
    /// It also adds each export pipeline (and, with feature `hub`, the live hub and its
    /// check `telemetry.hub`) to the `/health/telemetry` summary ([`crate::telemetry_health`]).
    pub fn register_health(&self, health: &crate::health::Health) {
        let stats = self
            .pipeline
            .as_ref()
            .map(|p| p.stats.clone())
            .unwrap_or_default();
        crate::telemetry_health::register_pipelines(health, stats.clone());
        #[cfg(feature = "hub")]
        if let Some(hub) = self.hub() {
            crate::hub::register_health(hub, health);
        }
        let start = sum_stats(&stats);
        let window = Arc::new(std::sync::Mutex::new(
            crate::export_health::ExportWindow::new(
                Instant::now(),
                start.traces.failed + start.logs.failed,
                start.traces.dropped + start.logs.dropped,
            ),
        ));
        health.register_optional("telemetry.export", Duration::from_millis(100), move || {
            let now = sum_stats(&stats);
            let (failed, dropped) = window.lock().unwrap_or_else(|p| p.into_inner()).observe(
                Instant::now(),
                now.traces.failed + now.logs.failed,
                now.traces.dropped + now.logs.dropped,
            );
            let retained = now.traces.retained + now.logs.retained;
            let result = if failed + dropped + retained == 0 {
                Ok(())
            } else {
                Err(format!(
                    "in the last {} s {failed} items failed to export and {dropped} were \
                     dropped; {retained} are held for retry",
                    crate::export_health::WINDOW.as_secs()
                ))
            };
            std::future::ready(result)
        });
    }

    /// Installs this pipeline globally: the `tracing` subscriber, the OTel tracer and meter
    /// providers, and the propagator (only the propagator when disabled).
    pub(crate) fn install(&self) -> Result<(), InitError> {
        let Some(p) = &self.pipeline else {
            opentelemetry::global::set_text_map_propagator(self.disabled_propagators.shared());
            return Ok(());
        };
        tracing::dispatcher::set_global_default(p.dispatch.clone())
            .map_err(|_| InitError::already_initialized("a global tracing subscriber"))?;
        opentelemetry::global::set_tracer_provider(p.tracer_provider.clone());
        opentelemetry::global::set_meter_provider(p.meter_provider.clone());
        opentelemetry::global::set_text_map_propagator(p.propagators.shared());
        crate::events::install(&p.logger_provider, &p.meter_provider);
        crate::config::http::install(&p.http);
        if let Some((reader, _)) = &p.prometheus {
            crate::metrics::set_prometheus(reader.clone());
        }
        Ok(())
    }

    /// Exports everything accepted so far, without shutting down.
    ///
    /// # Errors
    /// A [`ShutdownError`] listing the signals whose flush failed or timed out.
    pub fn flush(&self) -> Result<Stats, ShutdownError> {
        let Some(p) = &self.pipeline else {
            return Ok(Stats::default());
        };
        let mut failures = Vec::new();
        if let Err(e) = p.tracer_provider.force_flush() {
            failures.push(("traces", e.to_string()));
        }
        if let Err(e) = p.meter_provider.force_flush() {
            failures.push(("metrics", e.to_string()));
        }
        if let Err(e) = p.logger_provider.force_flush() {
            failures.push(("logs", e.to_string()));
        }
        self.finish(failures)
    }

    /// Flushes and shuts down traces, then metrics, then logs, within the shutdown timeout in
    /// all. Safe from any thread, inside or outside a tokio runtime of either flavour: the
    /// exporters run on Beacon's own runtime. A second call does nothing.
    ///
    /// # Errors
    /// A [`ShutdownError`] listing what failed, with the final counters.
    pub fn shutdown(&self) -> Result<Stats, ShutdownError> {
        let Some(p) = &self.pipeline else {
            return Ok(Stats::default());
        };
        if self.shut_down.swap(true, Ordering::AcqRel) {
            return Ok(self.stats());
        }
        let deadline = Instant::now() + p.shutdown_timeout;
        let left = || {
            deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1))
        };
        let mut failures = Vec::new();
        if let Err(e) = p.tracer_provider.shutdown_with_timeout(left()) {
            failures.push(("traces", e.to_string()));
        }
        if let Err(e) = p.logger_provider.shutdown_with_timeout(left()) {
            failures.push(("logs", e.to_string()));
        }
        // Metrics last: their final collection then reports the span and log pipelines'
        // final counts (exported, queue size) rather than the numbers from before they flushed.
        // The SDK's reader does not pass the time left on to the final export; the exporters
        // hold the deadline themselves.
        for d in &p.metric_deadlines {
            d.set(deadline);
        }
        if let Err(e) = p.meter_provider.shutdown_with_timeout(left()) {
            // The SDK says only that shutting down failed; the exporter knows why.
            let why: Vec<String> = p.metric_errors.iter().filter_map(|l| l.get()).collect();
            let message = if why.is_empty() {
                e.to_string()
            } else {
                format!("{e} (last export: {})", why.join("; "))
            };
            failures.push(("metrics", message));
        }
        self.finish(failures)
    }

    fn finish(&self, failures: Vec<(&'static str, String)>) -> Result<Stats, ShutdownError> {
        let stats = self.stats();
        if failures.is_empty() {
            Ok(stats)
        } else {
            Err(ShutdownError {
                failures,
                stats: Box::new(stats),
            })
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if self.pipeline.is_none() || self.shut_down.load(Ordering::Acquire) {
            return;
        }
        let stats = match self.shutdown() {
            Ok(stats) => stats,
            Err(e) => *e.stats,
        };
        // Reported once, here, because nobody reads a result from a drop.
        if stats.undelivered() > 0 {
            // The parts add up to the two totals: an item still held for retry, or still in
            // an export, when the budget ran out is not delivered either.
            let (t, l, m) = (&stats.traces, &stats.logs, &stats.metrics);
            eprintln!(
                "beacon: at shutdown, {} spans, {} log records and {} metric data points were \
                 not delivered (dropped on a full queue or spool: {}; failed to export: {}; \
                 kept in the disk spool for the next start: {}; still held for retry or in an \
                 export when the shutdown budget ran out: {})",
                t.undelivered(),
                l.undelivered(),
                m.undelivered(),
                t.dropped + l.dropped + m.dropped,
                t.failed + l.failed + m.failed,
                t.spooled + l.spooled + m.spooled,
                stats
                    .undelivered()
                    .saturating_sub(stats.lost() + t.spooled + l.spooled + m.spooled),
            );
        }
    }
}
