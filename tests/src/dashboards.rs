//! The PromQL of Grafana dashboards (`deploy/grafana/dashboards/*.json`), with Grafana's
//! variables replaced so that Prometheus can run each query as it stands.
//!
//! ```
//! use std::path::Path;
//!
//! let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/grafana/dashboards");
//! let queries = beacon_tests::dashboards::queries(&dir);
//! let p99 = queries
//!     .iter()
//!     .find(|q| q.panel == "Latency by route (p50, p95, p99)")
//!     .expect("the service overview has a latency panel");
//! assert_eq!(p99.dashboard, "Beacon / Service overview");
//! assert!(p99.expr.contains(r#"job=~".+""#) && p99.expr.contains("[1m]"));
//! ```

use std::path::Path;

use serde_json::Value;

/// One query of one dashboard panel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// The dashboard's title.
    pub dashboard: String,
    /// The panel's title.
    pub panel: String,
    /// The query, runnable by Prometheus: see [`runnable`].
    pub expr: String,
}

/// Every query (`targets[].expr`) of every panel, rows' nested panels included, of every
/// `*.json` dashboard in `dir`, in file order then panel order, made [`runnable`].
///
/// # Panics
/// When `dir` or a file in it cannot be read, or a file is not a JSON object: this is for
/// tests, which should fail naming the file.
pub fn queries(dir: &Path) -> Vec<Query> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
        let dashboard: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", file.display()));
        let title = dashboard["title"].as_str().unwrap_or_default();
        let variables: Vec<&str> = dashboard["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v["name"].as_str())
            .collect();
        for panel in panels(&dashboard["panels"]) {
            let targets = panel["targets"].as_array().into_iter().flatten();
            for expr in targets.filter_map(|t| t["expr"].as_str()) {
                out.push(Query {
                    dashboard: title.to_owned(),
                    panel: panel["title"].as_str().unwrap_or_default().to_owned(),
                    expr: runnable(expr, &variables),
                });
            }
        }
    }
    out
}

/// The panels of a dashboard's `panels` list and, recursively, those of the rows among them.
pub fn panels(list: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for panel in list.as_array().into_iter().flatten() {
        out.push(panel);
        out.extend(panels(&panel["panels"]));
    }
    out
}

/// `expr` with Grafana's variables replaced by what Prometheus can run:
///
/// - the dashboard's own `variables` (`$job`, `${job}`, `${job:regex}`) by `.+`, which is what
///   "All" means in the regex matchers they are used in (`job=~"$job"`);
/// - `$__rate_interval`, `$__interval` and `$__range` by `1m`; `$__interval_ms` and
///   `$__range_ms` by `60000`; `$__range_s` by `60`.
///
/// Anything else starting with `$` (such as `$1` in `label_replace`) is left as it is.
pub fn runnable(expr: &str, variables: &[&str]) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        // `${name}` or `${name:format}`, else `$name`.
        let (name, len) = match after.strip_prefix('{').and_then(|b| b.split_once('}')) {
            Some((inner, _)) => (inner.split(':').next().unwrap_or(inner), inner.len() + 2),
            None => {
                let n = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..n], n)
            }
        };
        let value = match name {
            "__rate_interval" | "__interval" | "__range" => Some("1m"),
            "__interval_ms" | "__range_ms" => Some("60000"),
            "__range_s" => Some("60"),
            n if variables.contains(&n) => Some(".+"),
            _ => None,
        };
        match value {
            Some(v) => out.push_str(v),
            None => out.push_str(&rest[at..at + 1 + len]),
        }
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}
