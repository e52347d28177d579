//! The runtime side of `#[beacon::instrument(metrics)]`: per-function call, duration and
//! concurrency metrics, named as autometrics names them so its dashboards and queries work
//! unchanged: `function.calls` (counter; `function`, `module`, `result` = ok/error),
//! `function.calls.duration` (histogram, seconds; `function`, `module`) and
//! `function.calls.concurrent` (up-down counter; `function`, `module`).

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use opentelemetry::metrics::{Counter, Histogram, UpDownCounter};
use opentelemetry::{InstrumentationScope, KeyValue};

use crate::metrics::{exemplars, offer_exemplar, Reservoir};

struct Instruments {
    calls: Counter<u64>,
    duration: Histogram<f64>,
    concurrent: UpDownCounter<i64>,
    calls_exemplars: Arc<Reservoir>,
    duration_exemplars: Arc<Reservoir>,
}

fn instruments() -> &'static Instruments {
    static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();
    INSTRUMENTS.get_or_init(|| {
        let meter = opentelemetry::global::meter_provider().meter_with_scope(
            InstrumentationScope::builder("beacon.functions")
                .with_version(env!("CARGO_PKG_VERSION"))
                .build(),
        );
        Instruments {
            calls: meter
                .u64_counter("function.calls")
                .with_unit("{call}")
                .with_description("Calls of instrumented functions, by result.")
                .build(),
            duration: meter
                .f64_histogram("function.calls.duration")
                .with_unit("s")
                .with_description("Duration of instrumented function calls.")
                // The SLO rules read latency thresholds from these boundaries.
                .with_boundaries(crate::slo::LATENCY_BUCKETS.to_vec())
                .build(),
            concurrent: meter
                .i64_up_down_counter("function.calls.concurrent")
                .with_unit("{call}")
                .with_description("Calls of instrumented functions in progress.")
                .build(),
            calls_exemplars: exemplars().counter("function.calls"),
            duration_exemplars: exemplars()
                .histogram("function.calls.duration", &crate::slo::LATENCY_BUCKETS),
        }
    })
}

/// One call in progress; records when finished, or when dropped by a panic (as an error).
#[doc(hidden)]
#[derive(Debug)]
pub struct Call {
    /// `function`, `module`, then the objective's labels if any.
    attrs: Vec<KeyValue>,
    start: Instant,
    done: bool,
}

impl Call {
    /// Starts counting a call of `function` in `module`.
    pub fn start(function: &'static str, module: &'static str) -> Self {
        // Room for `result`, added when the call finishes.
        let mut attrs = Vec::with_capacity(3);
        attrs.push(KeyValue::new("function", function));
        attrs.push(KeyValue::new("module", module));
        Self::begin(attrs)
    }

    /// Starts counting a call of a function with a service-level objective, whose labels go
    /// on every metric of the call.
    pub fn start_with_objective(
        function: &'static str,
        module: &'static str,
        objective: &crate::slo::Objective,
    ) -> Self {
        let labels = objective.attributes();
        let mut attrs = Vec::with_capacity(3 + labels.len());
        attrs.push(KeyValue::new("function", function));
        attrs.push(KeyValue::new("module", module));
        attrs.extend(labels);
        Self::begin(attrs)
    }

    fn begin(attrs: Vec<KeyValue>) -> Self {
        instruments().concurrent.add(1, &attrs);
        Self {
            attrs,
            start: Instant::now(),
            done: false,
        }
    }

    /// The call returned; `error` when it returned `Err`.
    pub fn finish(mut self, error: bool) {
        self.record(error);
    }

    fn record(&mut self, error: bool) {
        if self.done {
            return;
        }
        self.done = true;
        let i = instruments();
        let elapsed = self.start.elapsed().as_secs_f64();
        i.duration.record(elapsed, &self.attrs);
        i.concurrent.add(-1, &self.attrs);
        let span = exemplars().enabled().then(tracing::Span::current);
        if let Some(span) = &span {
            offer_exemplar(&i.duration_exemplars, elapsed, &self.attrs, span);
        }
        self.attrs
            .push(KeyValue::new("result", if error { "error" } else { "ok" }));
        i.calls.add(1, &self.attrs);
        if let Some(span) = &span {
            offer_exemplar(&i.calls_exemplars, 1.0, &self.attrs, span);
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        // Only reached unfinished when the function panicked (or a future was dropped mid-call).
        self.record(true);
    }
}

/// Records `error.type` and the message of an `Err` on the current span, and sets its status.
#[doc(hidden)]
pub fn record_error<E: std::fmt::Display>(error: &E) {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let span = tracing::Span::current();
    if span.is_disabled() {
        return;
    }
    let full = std::any::type_name::<E>();
    // The type's own name, without its module path or generic arguments.
    let base = full.split('<').next().unwrap_or(full);
    let short = base.rsplit("::").next().unwrap_or(base);
    span.set_attribute("error.type", short.to_owned());
    span.set_status(opentelemetry::trace::Status::error(error.to_string()));
}
