//! A capture: the telemetry of one test.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use opentelemetry::trace::{TraceContextExt as _, TraceId};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::hub::{self, Store, CAPTURE_SPAN};
use crate::matcher::Matcher;
use crate::metrics::{MetricPoint, MetricsCapture};
use crate::record::{CapturedLog, CapturedSpan, Item};
use crate::step::Expect;
use crate::wait::{Wait, WaitError};

/// How long a wait may take unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The spans and log records of one test. Created by [`crate::capture`] (isolated) or
/// [`crate::capture_global`] (everything in the process).
pub struct Capture {
    store: Arc<Store>,
    trace_id: Option<TraceId>,
    span: tracing::Span,
    _entered: Option<tracing::span::EnteredSpan>,
    timeout: Duration,
}

impl fmt::Debug for Capture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Capture")
            .field("trace_id", &self.trace_id)
            .field("items", &self.items().len())
            .finish_non_exhaustive()
    }
}

/// Why a capture could not start.
#[derive(Debug, Clone)]
pub struct CaptureError(String);

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CaptureError {}

/// Installs the test pipeline once per process: Beacon with no exporter, every span sampled,
/// the hub's processors attached. Skipped when the application attached the hub to its own
/// pipeline ([`crate::attach`]).
fn ensure_installed() -> Result<(), CaptureError> {
    static INSTALLED: OnceLock<Result<beacon::Telemetry, String>> = OnceLock::new();
    if hub::is_attached() && INSTALLED.get().is_none() {
        return Ok(());
    }
    let result = INSTALLED.get_or_init(|| {
        let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "trace".to_owned());
        beacon::builder()
            .with_span_processor(crate::SpanSink)
            .with_log_processor(crate::LogSink)
            .env_source(|_| None)
            .sampler(beacon::config::Sampler::AlwaysOn)
            .traces_exporter(beacon::config::Exporter::None)
            .metrics_exporter(beacon::config::Exporter::None)
            .logs_exporter(beacon::config::Exporter::None)
            .filter(filter)
            .try_init()
            .map_err(|e| {
                if e.is_already_initialized() {
                    "a global tracing subscriber is already installed, so beacon-test cannot add its \
                     own: build your pipeline with `beacon_test::attach(beacon::builder())` before \
                     `try_init()` so captures see its telemetry"
                        .to_owned()
                } else {
                    format!("beacon-test could not set up its pipeline: {e}")
                }
            })
    });
    result
        .as_ref()
        .map(|_| ())
        .map_err(|e| CaptureError(e.clone()))
}

impl Capture {
    pub(crate) fn isolated() -> Result<Self, CaptureError> {
        ensure_installed()?;
        // A new root: every span started inside it shares its trace id, which is how the hub
        // routes spans and logs to this capture and no other.
        let span = tracing::info_span!(parent: None, CAPTURE_SPAN);
        let trace_id = span.context().span().span_context().trace_id();
        if trace_id == TraceId::INVALID {
            return Err(CaptureError(
                "the capture's span has no trace id: the global subscriber is not Beacon's, or \
                 `RUST_LOG` filters out INFO spans of target `beacon_test`"
                    .to_owned(),
            ));
        }
        let store = Arc::new(Store::default());
        hub::hub().register_trace(trace_id, &store);
        let entered = span.clone().entered();
        Ok(Self {
            store,
            trace_id: Some(trace_id),
            span,
            _entered: Some(entered),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    pub(crate) fn global() -> Result<Self, CaptureError> {
        ensure_installed()?;
        let store = Arc::new(Store::default());
        hub::hub().register_global(&store);
        Ok(Self {
            store,
            trace_id: None,
            span: tracing::Span::none(),
            _entered: None,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// The capture's root span. Work started inside it is captured; to capture a task that
    /// does not inherit the current span, instrument it: `fut.instrument(cap.span().clone())`.
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// The trace every captured item belongs to (`None` for a global capture).
    pub fn trace_id(&self) -> Option<TraceId> {
        self.trace_id
    }

    /// Changes the default timeout of this capture's waits.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Everything captured so far, in arrival order.
    pub fn items(&self) -> Vec<Item> {
        self.store
            .items
            .lock()
            .map(|i| i.clone())
            .unwrap_or_default()
    }

    /// The spans captured so far.
    pub fn spans(&self) -> Vec<CapturedSpan> {
        self.items()
            .into_iter()
            .filter_map(|i| match i {
                Item::Span(s) => Some(s),
                Item::Log(_) => None,
            })
            .collect()
    }

    /// The log records captured so far.
    pub fn logs(&self) -> Vec<CapturedLog> {
        self.items()
            .into_iter()
            .filter_map(|i| match i {
                Item::Log(l) => Some(l),
                Item::Span(_) => None,
            })
            .collect()
    }

    /// Waits for a span that matches, and returns it. Spans are captured when they end, so a
    /// matching span proves the work it covers has finished.
    pub fn wait_for_span(
        &self,
        matcher: impl Matcher<CapturedSpan> + 'static,
    ) -> Wait<CapturedSpan> {
        let expected = matcher.describe();
        Wait::new(
            Arc::clone(&self.store),
            self.timeout,
            expected,
            move |items| {
                items.iter().find_map(|i| match i {
                    Item::Span(s) if matcher.matches(s) => Some(s.clone()),
                    _ => None,
                })
            },
        )
    }

    /// Waits for a domain event of type `E` (emitted with `beacon::emit`) whose log record
    /// satisfies `pred`, and returns that record: `event.name` is `E::NAME` and the event's
    /// fields are its attributes (as text, `REDACTED` for sensitive ones).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// #[derive(beacon::Event)]
    /// #[event(name = "circuit_breaker.opened", severity = "warn")]
    /// struct Opened { service: String, failures: u32 }
    ///
    /// let cap = beacon_test::capture();
    /// tokio::spawn(tracing::Instrument::in_current_span(async {
    ///     beacon::emit(Opened { service: "payments".into(), failures: 3 });
    /// }));
    /// let opened = cap.wait_for_event::<Opened>(|e| e.attr("service") == Some("payments")).await?;
    /// assert_eq!(opened.attr("failures"), Some("3"));
    /// # Ok(()) }
    /// ```
    ///
    /// Events of a type declared with `log = false` produce no record and cannot be awaited
    /// this way; wait for the span that carries them instead.
    pub fn wait_for_event<E: beacon::Event>(
        &self,
        pred: impl Fn(&CapturedLog) -> bool + Send + 'static,
    ) -> Wait<CapturedLog> {
        Wait::new(
            Arc::clone(&self.store),
            self.timeout,
            format!("a {:?} event that satisfies the predicate", E::NAME),
            move |items| {
                items.iter().find_map(|i| match i {
                    Item::Log(l) if l.event_name.as_deref() == Some(E::NAME) && pred(l) => {
                        Some(l.clone())
                    }
                    _ => None,
                })
            },
        )
    }

    /// Waits for a data point of the instrument `name` in `metrics` that satisfies `pred` (a
    /// counter reaching a value, a histogram's count), and returns it.
    ///
    /// Metrics are aggregated, not delivered one by one, so the point is read from `metrics`
    /// each time this capture receives a span or log record — the telemetry that accompanies
    /// a measurement (Beacon's middleware and macros end their span right after recording) —
    /// and once more when the timeout passes. Code that records a metric with no span or log
    /// around it is found at the timeout at the latest.
    ///
    /// ```
    /// use beacon::otel::api::metrics::MeterProvider as _;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let cap = beacon_test::capture();
    /// let metrics = beacon_test::MetricsCapture::new();
    /// let jobs = metrics.provider().meter("worker").u64_counter("jobs.done").build();
    /// tokio::spawn(tracing::Instrument::in_current_span(async move {
    ///     for _ in 0..3 {
    ///         tracing::info_span!("job").in_scope(|| jobs.add(1, &[]));
    ///     }
    /// }));
    /// let point = cap
    ///     .wait_for_metric(&metrics, "jobs.done", |p| p.value.sum() == Some(3.0))
    ///     .await?;
    /// assert_eq!(point.value.sum(), Some(3.0));
    /// # Ok(()) }
    /// ```
    pub fn wait_for_metric(
        &self,
        metrics: &MetricsCapture,
        name: &str,
        pred: impl Fn(&MetricPoint) -> bool + Send + 'static,
    ) -> Wait<MetricPoint> {
        let (seen_metrics, seen_name) = (metrics.clone(), name.to_owned());
        let metrics = metrics.clone();
        let wanted = name.to_owned();
        Wait::new(
            Arc::clone(&self.store),
            self.timeout,
            format!("a data point of metric {name:?} that satisfies the predicate"),
            move |_| metrics.points(&wanted).into_iter().find(|p| pred(p)),
        )
        .with_seen(move || {
            let points = seen_metrics.points(&seen_name);
            if points.is_empty() {
                return format!("no data point of {seen_name:?} was recorded at all");
            }
            let mut text = format!("the data points of {seen_name:?} it saw:");
            for p in points {
                text.push_str(&format!("\n  {:?} {:?}", p.attributes, p.value));
            }
            text
        })
    }

    /// Waits for a log record that matches, and returns it.
    pub fn wait_for_log(&self, matcher: impl Matcher<CapturedLog> + 'static) -> Wait<CapturedLog> {
        let expected = matcher.describe();
        Wait::new(
            Arc::clone(&self.store),
            self.timeout,
            expected,
            move |items| {
                items.iter().find_map(|i| match i {
                    Item::Log(l) if matcher.matches(l) => Some(l.clone()),
                    _ => None,
                })
            },
        )
    }

    /// Waits for the first item matching any of `expected`; returns its index in `expected`
    /// and the item.
    pub fn wait_for_any(&self, expected: impl IntoIterator<Item = Expect>) -> Wait<(usize, Item)> {
        let expected: Vec<Expect> = expected.into_iter().collect();
        let text = format!(
            "any of [{}]",
            expected
                .iter()
                .map(Expect::describe)
                .collect::<Vec<_>>()
                .join("; ")
        );
        Wait::new(Arc::clone(&self.store), self.timeout, text, move |items| {
            items.iter().find_map(|item| {
                expected
                    .iter()
                    .position(|e| e.matches(item))
                    .map(|i| (i, item.clone()))
            })
        })
    }

    /// Waits until the captured items contain `expected` in this order (others may come in
    /// between); returns the items that matched.
    pub fn assert_sequence(&self, expected: impl IntoIterator<Item = Expect>) -> Wait<Vec<Item>> {
        let expected: Vec<Expect> = expected.into_iter().collect();
        let text = format!(
            "the sequence [{}]",
            expected
                .iter()
                .map(Expect::describe)
                .collect::<Vec<_>>()
                .join(" → ")
        );
        Wait::new(Arc::clone(&self.store), self.timeout, text, move |items| {
            let mut matched = Vec::with_capacity(expected.len());
            for item in items {
                if let Some(next) = expected.get(matched.len()) {
                    if next.matches(item) {
                        matched.push(item.clone());
                    }
                }
            }
            (matched.len() == expected.len()).then_some(matched)
        })
    }

    /// Checks that nothing captured so far matches `unexpected`. Call it after the work under
    /// test has completed (for example after awaiting the span that proves it).
    ///
    /// # Errors
    /// A [`WaitError`] listing what was captured, when something matches.
    pub fn refute(&self, unexpected: impl Into<Expect>) -> Result<(), WaitError> {
        let unexpected = unexpected.into();
        let items = self.items();
        match items.iter().position(|i| unexpected.matches(i)) {
            None => Ok(()),
            Some(at) => Err(WaitError::new(
                unexpected.describe(),
                format!("item {} is, against the refutation,", at + 1),
                items,
            )),
        }
    }
}
