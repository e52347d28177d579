//! Service-level objectives on instrumented functions, and the Prometheus rules that watch
//! them.
//!
//! An [`Objective`] given to `#[beacon::instrument(metrics, objective = CONST)]` becomes labels
//! on that function's metrics (`objective.name`, `objective.percentile`,
//! `objective.latency_threshold` — autometrics' labels). [`prometheus_rules`] renders, for a list
//! of objectives, recording rules for the error and slow-call ratios over 5m/30m/1h/6h and the
//! multi-window, multi-burn-rate alerts of the Google SRE workbook: a fast burn (14.4× the
//! budget over 1h and 5m, `severity: page`) and a slow burn (6× over 6h and 30m,
//! `severity: ticket`).
//!
//! ```
//! use beacon::slo::{prometheus_rules, Objective};
//!
//! const CHECKOUT: Objective = Objective::new("checkout")
//!     .success_rate(99.9)
//!     .latency(0.25, 99.0);
//!
//! let yaml = prometheus_rules(&[CHECKOUT]);
//! assert!(yaml.contains("alert: SloErrorBudgetBurnFast"));
//! assert!(yaml.contains(r#"objective_name="checkout""#));
//! ```

use std::fmt::Write as _;

/// A service-level objective: a success rate, a latency target, or both.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Objective {
    name: &'static str,
    success: Option<f64>,
    latency: Option<(f64, f64)>,
}

/// Latency thresholds must be a bucket boundary of `function.calls.duration`, so that the
/// share of calls under the threshold can be read from the histogram.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

impl Objective {
    /// An objective named `name` (a Prometheus label value: the rules select on it).
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            success: None,
            latency: None,
        }
    }

    /// At least `percent` % of calls succeed (for example 99.9).
    #[must_use]
    pub const fn success_rate(mut self, percent: f64) -> Self {
        self.success = Some(percent);
        self
    }

    /// At least `percent` % of calls take less than `threshold_seconds` (one of
    /// [`LATENCY_BUCKETS`]).
    #[must_use]
    pub const fn latency(mut self, threshold_seconds: f64, percent: f64) -> Self {
        self.latency = Some((threshold_seconds, percent));
        self
    }

    /// The objective's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The labels this objective puts on a function's metrics.
    pub fn attributes(&self) -> Vec<opentelemetry::KeyValue> {
        let mut out = vec![opentelemetry::KeyValue::new("objective.name", self.name)];
        if let Some(p) = self.success {
            out.push(opentelemetry::KeyValue::new(
                "objective.percentile",
                p.to_string(),
            ));
        }
        if let Some((threshold, p)) = self.latency {
            out.push(opentelemetry::KeyValue::new(
                "objective.latency_threshold",
                threshold.to_string(),
            ));
            if self.success.is_none() {
                out.push(opentelemetry::KeyValue::new(
                    "objective.percentile",
                    p.to_string(),
                ));
            }
        }
        out
    }
}

const WINDOWS: [&str; 4] = ["5m", "30m", "1h", "6h"];

/// Prometheus recording and alerting rules (YAML, one group per objective) for `objectives`,
/// over the metrics `#[beacon::instrument(metrics)]` records as Prometheus names them
/// (`function_calls_total`, `function_calls_duration_seconds_bucket`).
pub fn prometheus_rules(objectives: &[Objective]) -> String {
    let mut y = String::from("groups:\n");
    for o in objectives {
        let sel = format!("objective_name=\"{}\"", o.name);
        let _ = writeln!(y, "  - name: beacon-slo-{}", o.name);
        y.push_str("    rules:\n");
        if let Some(percent) = o.success {
            for w in WINDOWS {
                let _ = writeln!(
                    y,
                    "      - record: slo:function_calls:error_ratio_rate{w}\n        expr: \
                     sum by (objective_name) (rate(function_calls_total{{{sel},result=\"error\"}}[{w}])) \
                     / sum by (objective_name) (rate(function_calls_total{{{sel}}}[{w}]))\n        \
                     labels:\n          objective_name: {}",
                    o.name
                );
            }
            alerts(
                &mut y,
                o.name,
                ("error_ratio", "ErrorBudget", "the error budget"),
                1.0 - percent / 100.0,
            );
        }
        if let Some((threshold, percent)) = o.latency {
            for w in WINDOWS {
                let _ = writeln!(
                    y,
                    "      - record: slo:function_calls:slow_ratio_rate{w}\n        expr: 1 - (\
                     sum by (objective_name) (rate(function_calls_duration_seconds_bucket{{{sel},le=\"{threshold}\"}}[{w}])) \
                     / sum by (objective_name) (rate(function_calls_duration_seconds_count{{{sel}}}[{w}])))\n        \
                     labels:\n          objective_name: {}",
                    o.name
                );
            }
            alerts(
                &mut y,
                o.name,
                ("slow_ratio", "LatencyBudget", "the latency budget"),
                1.0 - percent / 100.0,
            );
        }
    }
    y
}

/// `(recorded ratio, alert name part, words for the summary)`.
type Kind = (&'static str, &'static str, &'static str);

fn alerts(y: &mut String, name: &str, (ratio, what, words): Kind, budget: f64) {
    for (alert, factor, long, short, severity, wait) in [
        ("Fast", 14.4, "1h", "5m", "page", "2m"),
        ("Slow", 6.0, "6h", "30m", "ticket", "15m"),
    ] {
        // Rounded, so that 14.4 × 0.001 reads 0.0144 rather than its binary neighbour.
        let limit = (factor * budget * 1e9).round() / 1e9;
        let _ = writeln!(
            y,
            "      - alert: Slo{what}Burn{alert}\n        expr: \
             slo:function_calls:{ratio}_rate{long}{{objective_name=\"{name}\"}} > {limit} \
             and slo:function_calls:{ratio}_rate{short}{{objective_name=\"{name}\"}} > {limit}\n        \
             for: {wait}\n        labels:\n          severity: {severity}\n          objective_name: {name}\n        annotations:\n          \
             summary: \"Objective {name}: {words} burns {factor}x too fast ({long} and {short} windows)\""
        );
    }
}
