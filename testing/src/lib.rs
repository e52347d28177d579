//! # beacon-test: wait for the telemetry that proves the work happened
//!
//! A test triggers asynchronous work, then awaits the span, log record or metric data point
//! ([`Capture::wait_for_metric`] with a [`MetricsCapture`]) that proves the work finished. The wait completes the moment that item
//! arrives — it is woken by the telemetry itself, not by polling — and fails with a report of
//! everything captured when it does not arrive in time.
//!
//! ```
//! use beacon_test::{capture, span};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cap = capture();
//! tokio::spawn(tracing::Instrument::in_current_span(async {
//!     // … some background work, then the span that says it is done:
//!     tracing::info_span!("cache.refresh", entries = 3_i64).in_scope(|| {});
//! }));
//! let done = cap.wait_for_span(span::named("cache.refresh")).await?;
//! assert_eq!(done.attr("entries").map(|v| v.to_string()).as_deref(), Some("3"));
//! # Ok(()) }
//! ```
//!
//! ## What a capture sees
//! [`capture()`] opens a new root span and enters it on the current thread. Every span started
//! inside it — on this thread, or in a task or thread that carries the current span (a future
//! `.instrument(..)`ed or `.in_current_span()`, `beacon::propagation::spawn`, a context
//! extracted from a message the test sent) — is in the capture's trace, and so is every log
//! record emitted inside those spans. The hub routes items by trace id, so tests running in
//! parallel on other threads of the same process never see each other's telemetry.
//!
//! **Not captured**: work started in a brand-new trace that does not descend from the capture
//! — a plain `tokio::spawn` on a multi-thread runtime from outside the capture's span, a
//! thread spawned without the span, or a request from another process without trace headers.
//! Instrument such work with `cap.span().clone()`, or use [`capture_global()`], which sees
//! everything in the process (and so also other tests' telemetry).
//!
//! ## Setup
//! The first capture installs a global Beacon pipeline with no exporter, every span sampled
//! and the filter `RUST_LOG` (default `trace`). A test binary that installs its own pipeline
//! instead builds it with [`attach`] so that captures still see its telemetry:
//! `beacon_test::attach(beacon::builder()).try_init()`.
//!
//! ## Why captures do not ride on the live hub's stream
//! `beacon::hub` (feature `hub`) also routes telemetry to filtered subscribers, and a capture
//! looks like one. They are kept apart on purpose, because a test needs the opposite
//! guarantees from a live view:
//! - **Lossless, not lossy.** The hub's stream is a bounded broadcast ring: a subscriber that
//!   falls behind is told `Lagged(n)` and misses items, so that no emitter is ever slowed. A
//!   test suite running in parallel fills that ring with every other test's telemetry, and a
//!   capture that missed the one span it waits for would fail for no reason. The capture's
//!   router stores each item for the test whose trace it belongs to, unbounded for the life of
//!   the capture.
//! - **Synchronous, not batched.** The hub is fed through a batch processor (a bounded queue
//!   that drops when full, and a scheduled delay of up to seconds), as an export destination
//!   must be; the capture's [`SpanSink`] and [`LogSink`] receive each item in `on_end` on the
//!   thread that ended it, so a waiter wakes the moment the span ends, with no flush.
//! - **The SDK's records, and no extra dependency.** Captures keep the SDK's own data (scope,
//!   dropped counts, links) for matchers; the hub converts to its own model. And `beacon-test`
//!   depends on `beacon` with its default features only: building on the hub would put
//!   feature `hub` (with `beacon-hub` and its OTLP types) into every test binary.
//!
//! ## Replacing sleeps with telemetry assertions
//! Before — a guess at how long the work takes, slow when the guess is long and flaky when the
//! machine is loaded:
//! ```text
//! breaker.record_failures(3);
//! tokio::time::sleep(Duration::from_millis(200)).await;
//! assert_eq!(breaker.state(), State::Open);
//! ```
//! After — the circuit breaker logs its transition; the test waits for exactly that:
//! ```
//! # use beacon_test::{capture, log};
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cap = capture();
//! tokio::spawn(tracing::Instrument::in_current_span(async {
//!     tracing::warn!(service = "payments", failures = 3_i64, "circuit opened");
//! }));
//! cap.wait_for_log(log::body_contains("circuit opened").attr("service", "payments")).await?;
//! # Ok(()) }
//! ```
//! A restart, or a retry loop that gives up and then opens the circuit, is a sequence:
//! ```
//! # use beacon_test::{capture, log, span};
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cap = capture();
//! tokio::spawn(tracing::Instrument::in_current_span(async {
//!     for attempt in 1..=3_i64 {
//!         tracing::info_span!("payment.attempt", attempt).in_scope(|| tracing::warn!("declined"));
//!     }
//!     tracing::error!("retries exhausted");
//!     tracing::warn!("circuit opened");
//! }));
//! cap.assert_sequence([
//!     span::named("payment.attempt").attr("attempt", 3_i64).into(),
//!     log::body_contains("retries exhausted").into(),
//!     log::body_contains("circuit opened").into(),
//! ])
//! .await?;
//! # Ok(()) }
//! ```
//! When a sleep is still right: when time itself is the behaviour under test (a timeout
//! fires, a cache entry expires). Then use `tokio::time::pause()` and `advance()`, which make
//! the test instant and exact, rather than a real sleep.

mod capture;
mod hostile;
mod hub;
mod matcher;
mod metrics;
mod record;
mod step;
mod wait;

pub use capture::{Capture, CaptureError, DEFAULT_TIMEOUT};
pub use hostile::{HostileStrings, SeededIds};
pub use hub::{LogSink, SpanSink};
pub use matcher::{LogMatcher, Matcher, SpanMatcher};
pub use metrics::{MetricPoint, MetricsCapture, PointValue};
pub use record::{CapturedLog, CapturedSpan, Item};
pub use step::Expect;
pub use wait::{Wait, WaitError};

/// Starts an isolated capture for this test (see the crate docs for what it sees).
///
/// # Panics
/// When the capture cannot start: another global subscriber is installed without [`attach`].
/// [`try_capture`] returns the error instead.
pub fn capture() -> Capture {
    match try_capture() {
        Ok(c) => c,
        Err(e) => panic!("beacon_test::capture: {e}"),
    }
}

/// Starts an isolated capture.
///
/// # Errors
/// A [`CaptureError`] saying why no capture can see this process's telemetry.
pub fn try_capture() -> Result<Capture, CaptureError> {
    Capture::isolated()
}

/// Starts a capture that sees every span and log record in the process, including other
/// tests' — for tests of work that starts new traces.
///
/// # Panics
/// As [`capture`].
pub fn capture_global() -> Capture {
    match Capture::global() {
        Ok(c) => c,
        Err(e) => panic!("beacon_test::capture_global: {e}"),
    }
}

/// Adds the capture processors to a pipeline the application builds itself.
pub fn attach(builder: beacon::Builder) -> beacon::Builder {
    hub::mark_attached();
    builder
        .with_span_processor(SpanSink)
        .with_log_processor(LogSink)
}

/// Span matchers.
pub mod span {
    pub use crate::matcher::SpanMatcher;

    /// A span with this name.
    pub fn named(name: &str) -> SpanMatcher {
        SpanMatcher::new().name(name)
    }

    /// Any span (refine it with the builder methods).
    pub fn any() -> SpanMatcher {
        SpanMatcher::new()
    }
}

/// Log record matchers.
pub mod log {
    pub use crate::matcher::LogMatcher;

    /// Any log record (refine it with the builder methods).
    pub fn any() -> LogMatcher {
        LogMatcher::new()
    }

    /// A log record whose body contains `part`.
    pub fn body_contains(part: &str) -> LogMatcher {
        LogMatcher::new().body_contains(part)
    }
}
