//! The Grafana dashboards in `deploy/grafana/dashboards/` are provisionable (uids, titles,
//! the Prometheus datasource, a `job` variable every query filters on), cover Beacon's metrics,
//! show exemplars on latency graphs, and every query is valid PromQL once Grafana's variables
//! are substituted (`promtool check rules` parses them). That the queries return data from a
//! real Prometheus is `a_real_prometheus_scrapes_beacon.rs`'s part.

use std::collections::BTreeSet;

use beacon_tests::dashboards::{self, panels, runnable};
use beacon_tests::deploy::{
    dir as deploy, promtool, read, temp_dir, DASHBOARDS, EXEMPLAR_HISTOGRAMS,
};
use serde_json::Value;

#[test]
fn every_dashboard_is_provisionable_and_every_query_filters_on_job() {
    let dir = deploy().join("grafana/dashboards");
    let mut uids = BTreeSet::new();
    for name in DASHBOARDS {
        let file = dir.join(name);
        let d: Value = serde_json::from_str(&read(&file))
            .unwrap_or_else(|e| panic!("{name} is not JSON: {e}"));
        let uid = d["uid"].as_str().unwrap_or_default();
        assert!(
            !uid.is_empty() && uids.insert(uid.to_owned()),
            "{name}: uid"
        );
        assert!(
            d["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{name}: title"
        );
        assert!(
            d["schemaVersion"].as_u64().is_some_and(|v| v >= 36),
            "{name}"
        );
        let vars = d["templating"]["list"].as_array().expect("templating");
        let job = vars
            .iter()
            .find(|v| v["name"] == "job")
            .unwrap_or_else(|| panic!("{name}: variable job"));
        assert_eq!(job["datasource"]["uid"], "prometheus", "{name}");
        assert_eq!(
            job["definition"], "label_values(target_info, job)",
            "{name}"
        );

        let mut ids = BTreeSet::new();
        let all = panels(&d["panels"]);
        assert!(all.len() >= 6, "{name}: a real dashboard");
        for p in all {
            let title = p["title"].as_str().unwrap_or_default();
            let at = format!("{name}: panel {title:?}");
            assert!(!title.is_empty(), "{name}: a panel without title");
            assert!(ids.insert(p["id"].as_u64().expect("panel id")), "{at}: id");
            for k in ["x", "y", "w", "h"] {
                assert!(p["gridPos"][k].is_u64(), "{at}: gridPos.{k}");
            }
            if p["type"] == "row" {
                continue;
            }
            assert!(
                p["type"] == "timeseries" || p["type"] == "stat",
                "{at}: type"
            );
            assert_eq!(p["datasource"]["uid"], "prometheus", "{at}");
            let targets = p["targets"].as_array().expect("targets");
            assert!(!targets.is_empty(), "{at}: targets");
            let mut refs = BTreeSet::new();
            for t in targets {
                let expr = t["expr"].as_str().unwrap_or_default();
                assert!(!expr.trim().is_empty(), "{at}: a target without expr");
                let r = t["refId"].as_str().unwrap_or_default();
                assert!(!r.is_empty() && refs.insert(r), "{at}: refId {r:?}");
                assert!(
                    t["datasource"].is_null() || t["datasource"]["uid"] == "prometheus",
                    "{at}: target datasource"
                );
                assert!(t["legendFormat"].is_string(), "{at}: legendFormat");
                assert!(expr.contains(r#"job=~"$job""#), "{at}: {expr}");
                // Ranges follow the scrape interval (or the dashboard's range for totals).
                for range in expr.split('[').skip(1) {
                    let range = range.split(']').next().unwrap_or_default();
                    assert!(
                        range == "$__rate_interval" || range == "$__range",
                        "{at}: range [{range}] in {expr}"
                    );
                }
                // Graphs of latency show exemplars (stat panels cannot).
                if p["type"] == "timeseries"
                    && expr.contains("histogram_quantile")
                    && EXEMPLAR_HISTOGRAMS.iter().any(|h| expr.contains(h))
                {
                    assert_eq!(t["exemplar"], true, "{at}: latency with exemplars");
                }
            }
        }
    }
}

#[test]
fn the_dashboards_cover_beacons_metrics() {
    let queries = dashboards::queries(&deploy().join("grafana/dashboards"));
    let uses = |dashboard: &str, metric: &str| {
        queries
            .iter()
            .any(|q| q.dashboard == dashboard && q.expr.contains(metric))
    };
    let expected: [(&str, &[&str]); 4] = [
        (
            "Beacon / Service overview",
            &[
                "http_server_request_duration_seconds_count",
                "http_server_request_duration_seconds_bucket",
                "http_server_active_requests",
                "http_client_request_duration_seconds_bucket",
                "rpc_server_duration_milliseconds_bucket",
                "beacon_events_total",
            ],
        ),
        (
            "Beacon / Functions",
            &[
                "function_calls_total",
                "function_calls_duration_seconds_bucket",
                "function_calls_concurrent",
                "objective_name",
                "objective_percentile",
                "objective_latency_threshold",
            ],
        ),
        (
            "Beacon / Runtime and system",
            &[
                "process_cpu_time_seconds_total",
                "process_memory_usage_bytes",
                // Both namings: Beacon's own endpoint, and the Collector's (see `Naming`).
                "process_threads{",
                "process_thread_count{",
                "process_unix_file_descriptors{",
                "process_unix_file_descriptor_count{",
                "process_uptime_seconds",
                "tokio_workers",
                "tokio_tasks_alive",
                "tokio_global_queue_depth",
                "tokio_worker_busy_ratio",
                "tokio_worker_park_count_total",
                "tokio_worker_poll_count_total",
            ],
        ),
        (
            "Beacon / Telemetry pipeline",
            &[
                "otel_sdk_processor_span_processed_total",
                "otel_sdk_processor_log_processed_total",
                r#"error_type="queue_full""#,
                "otel_sdk_processor_span_queue_size",
                "otel_sdk_exporter_span_exported_total",
                r#"error_type="export_failed""#,
                "beacon_exporter_span_retained",
                "otel_sdk_exporter_operation_duration_seconds_bucket",
            ],
        ),
    ];
    for (dashboard, metrics) in expected {
        for metric in metrics {
            assert!(uses(dashboard, metric), "{dashboard} shows {metric}");
        }
    }
}

#[test]
fn grafana_variables_become_what_prometheus_runs() {
    assert_eq!(
        runnable(
            r#"label_replace(rate(x{job=~"$job",a=~"${job:regex}"}[$__rate_interval]), "l", "$1", "le", "(.*)")"#,
            &["job"]
        ),
        r#"label_replace(rate(x{job=~".+",a=~".+"}[1m]), "l", "$1", "le", "(.*)")"#
    );
    assert_eq!(
        runnable(
            "increase(x[$__range]) / $__range_s + $__interval_ms + $other",
            &[]
        ),
        "increase(x[1m]) / 60 + 60000 + $other"
    );
    let queries = dashboards::queries(&deploy().join("grafana/dashboards"));
    assert!(queries.len() >= 40, "{} queries", queries.len());
    for q in &queries {
        assert!(
            !q.expr.replace("\"$1\"", "").contains('$'),
            "{} / {}: {}",
            q.dashboard,
            q.panel,
            q.expr
        );
    }
}

#[test]
fn every_dashboard_query_is_valid_promql() {
    let Some(promtool) = promtool() else { return };
    let queries = dashboards::queries(&deploy().join("grafana/dashboards"));
    // promtool parses PromQL when it checks rules: one recording rule per query.
    let mut rules = String::from("groups:\n  - name: dashboard-queries\n    rules:\n");
    for (i, q) in queries.iter().enumerate() {
        let expr = serde_json::to_string(&q.expr).expect("a JSON string is a YAML string");
        rules.push_str(&format!(
            "      - record: dashboard_query_{i}\n        expr: {expr}\n"
        ));
    }
    let dir = temp_dir("queries");
    std::fs::write(dir.join("queries.yaml"), rules).expect("write queries");
    let (success, text) =
        beacon_tests::deploy::promtool_output(promtool, &["check", "rules", "queries.yaml"], &dir);
    let names: Vec<String> = queries
        .iter()
        .enumerate()
        .map(|(i, q)| format!("dashboard_query_{i}: {} / {}", q.dashboard, q.panel))
        .collect();
    assert!(
        success && text.contains(&format!("SUCCESS: {} rules found", queries.len())),
        "{text}\n{}",
        names.join("\n")
    );
    let _ = std::fs::remove_dir_all(dir);
}
