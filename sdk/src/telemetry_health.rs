//! The `/health/telemetry` summary: one entry per telemetry component Beacon runs in this
//! process — each export pipeline (its queue and counters), the live hub (store pressure,
//! ingestion, lagging subscribers) — and whatever else registers with
//! [`Health::register_component`] (an alert engine, the audit log, the spool).
//!
//! [`crate::Telemetry::register_health`] registers the pipelines (and the hub, with feature
//! `hub`); `beacon_middleware::axum::health_routes` serves the summary at `/health/telemetry`.
//!
//! ```
//! use beacon::health::{Health, Status};
//! use beacon::telemetry_health::ComponentReport;
//!
//! let health = Health::new();
//! health.register_component("spool", || ComponentReport {
//!     kind: "spool",
//!     name: "traces".into(),
//!     status: Status::Degraded,
//!     reason: Some("the spool directory is full".into()),
//!     figures: vec![("items", 1200), ("bytes", 268_435_456)],
//! });
//! let summary = health.telemetry_summary();
//! assert_eq!(summary.status, Status::Degraded);
//! assert!(summary.to_json().contains(r#""figures":{"items":1200,"bytes":268435456}"#));
//! ```

use std::fmt::Write as _;
use std::sync::Arc;

use crate::health::{json_string, Health, Status};

/// The state of one telemetry component, as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentReport {
    /// What it is: `pipeline`, `hub`, and later `alerts`, `audit`, `spool`.
    pub kind: &'static str,
    /// Which one: `traces/otlp`, `logs/hub`, `hub`.
    pub name: String,
    /// [`Status::Up`], or [`Status::Degraded`] when it loses or holds back data now.
    pub status: Status,
    /// Why it is not up, in Beacon's own words (no collector error text, which can hold a
    /// URL: the counters say what happened).
    pub reason: Option<String>,
    /// Its counters and gauges, in a stable order.
    pub figures: Vec<(&'static str, u64)>,
}

/// Every registered component's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetrySummary {
    /// The worst component status ([`Status::Up`] with no component).
    pub status: Status,
    /// Each component, in registration order.
    pub components: Vec<ComponentReport>,
}

pub(crate) type ReportFn = Arc<dyn Fn() -> Vec<ComponentReport> + Send + Sync>;

pub(crate) fn summarize(reporters: &[(String, ReportFn)]) -> TelemetrySummary {
    let components: Vec<ComponentReport> = reporters.iter().flat_map(|(_, f)| f()).collect();
    let status = components
        .iter()
        .map(|c| c.status)
        .max_by_key(|s| match s {
            Status::Up => 0,
            Status::Degraded => 1,
            Status::Down => 2,
        })
        .unwrap_or(Status::Up);
    TelemetrySummary { status, components }
}

impl TelemetrySummary {
    /// `{"status":…,"components":[{"kind":…,"name":…,"status":…,"reason":…,"figures":{…}}]}`
    /// (`reason` only when there is one).
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(64 + 200 * self.components.len());
        let _ = write!(
            out,
            r#"{{"status":"{}","components":["#,
            self.status.as_str()
        );
        for (i, c) in self.components.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(r#"{"kind":"#);
            json_string(&mut out, c.kind);
            out.push_str(r#","name":"#);
            json_string(&mut out, &c.name);
            let _ = write!(out, r#","status":"{}""#, c.status.as_str());
            if let Some(reason) = &c.reason {
                out.push_str(r#","reason":"#);
                json_string(&mut out, reason);
            }
            out.push_str(r#","figures":{"#);
            for (j, (key, value)) in c.figures.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                json_string(&mut out, key);
                let _ = write!(out, ":{value}");
            }
            out.push_str("}}");
        }
        out.push_str("]}");
        out
    }
}

impl Health {
    /// Adds a telemetry component to the `/health/telemetry` summary; `report` is called for
    /// each summary and must be quick (read counters; no I/O). A component registered again
    /// under the same `key` replaces the first.
    pub fn register_component(
        &self,
        key: impl Into<String>,
        report: impl Fn() -> ComponentReport + Send + Sync + 'static,
    ) {
        self.register_components(key, move || vec![report()]);
    }

    /// Like [`Health::register_component`], for a reporter of several components at once
    /// (a pipeline per signal and destination).
    pub fn register_components(
        &self,
        key: impl Into<String>,
        report: impl Fn() -> Vec<ComponentReport> + Send + Sync + 'static,
    ) {
        let key = key.into();
        let mut list = self
            .components
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        list.retain(|(k, _)| *k != key);
        list.push((key, Arc::new(report)));
    }

    /// The summary of every registered telemetry component, now.
    #[must_use]
    pub fn telemetry_summary(&self) -> TelemetrySummary {
        let reporters = self
            .components
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        summarize(&reporters)
    }
}

/// The report of one export pipeline from its counters: degraded while it holds batches for
/// retry, or when it dropped or failed items within the last minute (`recent`: failed and
/// dropped in that window, kept by time so that asking again does not clear it).
pub(crate) fn pipeline_report(
    signal: &str,
    destination: &str,
    stats: &beacon_exporter::batch::StatsSnapshot,
    recent: (u64, u64),
) -> ComponentReport {
    let (failed, dropped) = recent;
    let reason = if stats.retained > 0 {
        Some(format!(
            "{} items held for retry: the destination does not take them",
            stats.retained
        ))
    } else if failed + dropped > 0 {
        Some(format!(
            "in the last {} s {failed} items failed to export and {dropped} were dropped",
            crate::export_health::WINDOW.as_secs()
        ))
    } else {
        None
    };
    ComponentReport {
        kind: "pipeline",
        name: format!("{signal}/{destination}"),
        status: if reason.is_some() {
            Status::Degraded
        } else {
            Status::Up
        },
        reason,
        figures: vec![
            ("accepted", stats.accepted),
            ("exported", stats.exported),
            ("dropped", stats.dropped),
            ("failed", stats.failed),
            ("retained", stats.retained),
            ("in_flight", stats.in_flight()),
            ("spooled", stats.spooled),
            ("export_calls", stats.export_calls),
        ],
    }
}

type PipelineList = Vec<(
    beacon_exporter::otlp::Signal,
    &'static str,
    Arc<beacon_exporter::batch::PipelineStats>,
)>;

/// Registers one component per export pipeline (signal and destination) of `stats`.
pub(crate) fn register_pipelines(health: &Health, stats: PipelineList) {
    use crate::export_health::ExportWindow;
    use std::time::Instant;
    let windows: Vec<std::sync::Mutex<ExportWindow>> = stats
        .iter()
        .map(|(_, _, s)| {
            let snap = s.snapshot();
            std::sync::Mutex::new(ExportWindow::new(Instant::now(), snap.failed, snap.dropped))
        })
        .collect();
    health.register_components("beacon.pipelines", move || {
        stats
            .iter()
            .zip(&windows)
            .map(|((signal, destination, s), window)| {
                let snap = s.snapshot();
                let recent = window.lock().unwrap_or_else(|p| p.into_inner()).observe(
                    Instant::now(),
                    snap.failed,
                    snap.dropped,
                );
                pipeline_report(signal.as_str(), destination, &snap, recent)
            })
            .collect()
    });
}
