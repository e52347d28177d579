//! The files in `deploy/` that users run beside Beacon — `compose.yaml` with the OpenTelemetry
//! Collector, Jaeger, Prometheus and Grafana — are well-formed and agree with each other:
//! every YAML file parses, every file compose mounts exists, the dashboards are provisionable
//! and their queries are valid PromQL, the Prometheus configuration (with the rule files where
//! the container sees them) passes `promtool check config`, and the HTTP alerts pass
//! `promtool check rules` and fire in `promtool test rules`.
//!
//! Docker is not available on our CI machines: compose itself is not run here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use beacon_tests::dashboards::{self, panels, runnable};
use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

const DASHBOARDS: [&str; 4] = [
    "functions.json",
    "runtime-and-system.json",
    "service-overview.json",
    "telemetry-pipeline.json",
];

/// Where compose mounts the Prometheus rule files (the glob of `rule_files`).
const RULES_IN_CONTAINER: &str = "/etc/prometheus/rules/";

/// Histograms recorded on the application's own requests and calls, whose latency targets
/// carry exemplars (a trace id per bucket) to Jaeger.
const EXEMPLAR_HISTOGRAMS: [&str; 5] = [
    "http_server_request_duration_seconds_bucket",
    "http_client_request_duration_seconds_bucket",
    "rpc_server_duration_milliseconds_bucket",
    "rpc_client_duration_milliseconds_bucket",
    "function_calls_duration_seconds_bucket",
];

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn yaml(path: &Path) -> Yaml {
    let mut docs = YamlLoader::load_from_str(&read(path))
        .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()));
    assert_eq!(docs.len(), 1, "{}: one YAML document", path.display());
    docs.remove(0)
}

fn strings(node: &Yaml) -> Vec<&str> {
    node.as_vec()
        .into_iter()
        .flatten()
        .filter_map(Yaml::as_str)
        .collect()
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// A fresh directory for one test (tests run in parallel, in one process).
fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("beacon-deploy-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// `promtool`, or `None` (and a skip message) when it is missing outside CI.
fn promtool() -> Option<&'static str> {
    let found = Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    match (found, beacon_tests::in_ci()) {
        (true, _) => Some("promtool"),
        (false, true) => {
            panic!("CI needs promtool (Debian package prometheus; cargo xtask ci installs it)")
        }
        (false, false) => {
            eprintln!("SKIPPED: promtool not installed (cargo xtask ci installs it)");
            None
        }
    }
}

/// Runs promtool with `args` in `dir`; its output, after asserting that it succeeded.
fn run_promtool(promtool: &str, args: &[&str], dir: &Path) -> String {
    let out = Command::new(promtool)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("promtool runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && !text.contains("FAILED"),
        "promtool {args:?}:\n{text}"
    );
    text
}

/// A bind mount of compose.yaml: the service, the source (relative to `deploy/`), the path in
/// the container.
struct Mount {
    service: String,
    source: String,
    target: String,
}

fn compose() -> Yaml {
    yaml(&deploy().join("compose.yaml"))
}

fn mounts(compose: &Yaml) -> Vec<Mount> {
    let services = compose["services"].as_hash().expect("compose has services");
    let mut out = Vec::new();
    for (name, service) in services {
        let name = name.as_str().expect("service name");
        for volume in service["volumes"].as_vec().into_iter().flatten() {
            // Short syntax `./source:/target[:mode]`, or long syntax with `type: bind`.
            let (source, target) = match volume.as_str() {
                Some(short) => {
                    let mut parts = short.split(':');
                    let source = parts.next().unwrap_or_default();
                    let target = parts.next().unwrap_or_default();
                    (source.to_owned(), target.to_owned())
                }
                None if volume["type"].as_str() == Some("bind") => (
                    volume["source"].as_str().unwrap_or_default().to_owned(),
                    volume["target"].as_str().unwrap_or_default().to_owned(),
                ),
                None => continue,
            };
            if source.starts_with("./") || source.starts_with("../") {
                out.push(Mount {
                    service: name.to_owned(),
                    source,
                    target,
                });
            }
        }
    }
    out
}

fn service_names(compose: &Yaml) -> BTreeSet<String> {
    compose["services"]
        .as_hash()
        .expect("compose has services")
        .keys()
        .filter_map(|k| k.as_str().map(str::to_owned))
        .collect()
}

/// The host of `scheme://host:port` or `host:port`.
fn host(address: &str) -> &str {
    let rest = address.split_once("://").map_or(address, |(_, r)| r);
    rest.split([':', '/']).next().unwrap_or(rest)
}

#[test]
fn every_yaml_file_in_deploy_parses() {
    let mut files = Vec::new();
    files_under(&deploy(), &mut files);
    let yaml_files: Vec<_> = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    assert!(yaml_files.len() >= 9, "{yaml_files:?}");
    for file in yaml_files {
        let doc = yaml(file);
        assert!(doc.is_hash(), "{}: a mapping at the top", file.display());
    }
}

#[test]
fn every_file_compose_mounts_exists() {
    let compose = compose();
    let mounts = mounts(&compose);
    assert!(mounts.len() >= 6, "compose mounts its configuration files");
    for m in &mounts {
        let source = deploy().join(&m.source);
        assert!(
            source.exists(),
            "service {} mounts {} (deploy/{}), which does not exist",
            m.service,
            m.target,
            m.source
        );
    }
    // Every rules file is mounted where prometheus.yml looks; their promtool tests are not.
    let mounted: BTreeSet<String> = mounts
        .iter()
        .filter(|m| m.service == "prometheus" && m.target.starts_with(RULES_IN_CONTAINER))
        .map(|m| m.source.trim_start_matches("./").to_owned())
        .collect();
    let local: BTreeSet<String> = std::fs::read_dir(deploy().join("prometheus"))
        .expect("deploy/prometheus")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with("-rules.yaml"))
        .map(|n| format!("prometheus/{n}"))
        .collect();
    assert_eq!(
        mounted, local,
        "rule files mounted into {RULES_IN_CONTAINER}"
    );
}

#[test]
fn compose_wires_collector_jaeger_prometheus_and_grafana_together() {
    let compose = compose();
    let services = service_names(&compose);
    for s in ["otel-collector", "jaeger", "prometheus", "grafana"] {
        assert!(services.contains(s), "compose runs {s}");
    }

    // The collector: OTLP in on 4317/4318, traces to Jaeger, metrics on :8889 in OpenMetrics
    // (exemplars) with the resource left on target_info.
    let collector = yaml(&deploy().join("otel-collector/config.yaml"));
    let otlp = &collector["receivers"]["otlp"]["protocols"];
    assert!(otlp["grpc"]["endpoint"]
        .as_str()
        .is_some_and(|e| e.ends_with(":4317")));
    assert!(otlp["http"]["endpoint"]
        .as_str()
        .is_some_and(|e| e.ends_with(":4318")));
    let prometheus_exporter = &collector["exporters"]["prometheus"];
    assert!(prometheus_exporter["endpoint"]
        .as_str()
        .is_some_and(|e| e.ends_with(":8889")));
    assert_eq!(
        prometheus_exporter["enable_open_metrics"].as_bool(),
        Some(true)
    );
    assert_eq!(
        prometheus_exporter["resource_to_telemetry_conversion"]["enabled"].as_bool(),
        Some(false)
    );
    let pipelines = collector["service"]["pipelines"]
        .as_hash()
        .expect("pipelines");
    for (name, pipeline) in pipelines {
        for kind in ["receivers", "processors", "exporters"] {
            for component in strings(&pipeline[kind]) {
                assert!(
                    !collector[kind][component].is_badvalue(),
                    "pipeline {name:?} uses {kind} {component}, which is not defined"
                );
            }
        }
    }
    let traces = &collector["service"]["pipelines"]["traces"]["exporters"];
    assert!(
        strings(traces)
            .iter()
            .any(|e| collector["exporters"][*e]["endpoint"]
                .as_str()
                .is_some_and(|ep| host(ep) == "jaeger")),
        "traces go to jaeger"
    );

    // Prometheus: exemplars stored, reloadable, scraping the collector and the app on the host.
    let prom = &compose["services"]["prometheus"];
    let flags = strings(&prom["command"]);
    for flag in [
        "--enable-feature=exemplar-storage",
        "--web.enable-lifecycle",
        "--config.file=/etc/prometheus/prometheus.yml",
    ] {
        assert!(flags.contains(&flag), "prometheus runs with {flag}");
    }
    assert!(strings(&prom["extra_hosts"]).contains(&"host.docker.internal:host-gateway"));
    let config = yaml(&deploy().join("prometheus/prometheus.yml"));
    let targets = |job: &str| -> Vec<String> {
        let scrape = config["scrape_configs"].as_vec().expect("scrape_configs");
        let found = scrape
            .iter()
            .find(|s| s["job_name"].as_str() == Some(job))
            .unwrap_or_else(|| panic!("scrape job {job}"));
        found["static_configs"]
            .as_vec()
            .into_iter()
            .flatten()
            .flat_map(|c| strings(&c["targets"]))
            .map(str::to_owned)
            .collect()
    };
    let collector_targets = targets("otel-collector");
    assert!(
        collector_targets
            .iter()
            .any(|t| services.contains(host(t)) && t.ends_with(":8889")),
        "{collector_targets:?}"
    );
    assert_eq!(targets("beacon-app"), ["host.docker.internal:9464"]);

    // Grafana: datasources pointing at compose services, exemplars linking to Jaeger, and the
    // dashboards provider reading where compose mounts the dashboards.
    let ds = yaml(&deploy().join("grafana/provisioning/datasources/datasources.yaml"));
    let ds = ds["datasources"].as_vec().expect("datasources");
    let by_uid = |uid: &str| {
        ds.iter()
            .find(|d| d["uid"].as_str() == Some(uid))
            .unwrap_or_else(|| panic!("datasource {uid}"))
    };
    let (prometheus, jaeger) = (by_uid("prometheus"), by_uid("jaeger"));
    assert_eq!(prometheus["type"].as_str(), Some("prometheus"));
    assert_eq!(jaeger["type"].as_str(), Some("jaeger"));
    for d in [prometheus, jaeger] {
        let url = d["url"].as_str().expect("url");
        assert!(services.contains(host(url)), "{url} is a compose service");
    }
    let exemplars = prometheus["jsonData"]["exemplarTraceIdDestinations"]
        .as_vec()
        .expect("exemplarTraceIdDestinations");
    assert!(exemplars
        .iter()
        .any(|e| e["name"].as_str() == Some("trace_id")
            && e["datasourceUid"].as_str() == Some("jaeger")));
    let providers = yaml(&deploy().join("grafana/provisioning/dashboards/dashboards.yaml"));
    let provider = &providers["providers"][0];
    assert_eq!(provider["type"].as_str(), Some("file"));
    let path = provider["options"]["path"].as_str().expect("provider path");
    assert!(
        mounts(&compose).iter().any(|m| m.service == "grafana"
            && m.source == "./grafana/dashboards"
            && m.target == path),
        "grafana reads dashboards from {path}, where compose mounts deploy/grafana/dashboards"
    );
    let env = &compose["services"]["grafana"]["environment"];
    assert_eq!(env["GF_AUTH_ANONYMOUS_ENABLED"].as_str(), Some("true"));
    assert_eq!(env["GF_AUTH_ANONYMOUS_ORG_ROLE"].as_str(), Some("Admin"));
}

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
                "process_thread_count",
                "process_unix_file_descriptor_count",
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
    let out = Command::new(promtool)
        .args(["check", "rules", "queries.yaml"])
        .current_dir(&dir)
        .output()
        .expect("promtool runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let names: Vec<String> = queries
        .iter()
        .enumerate()
        .map(|(i, q)| format!("dashboard_query_{i}: {} / {}", q.dashboard, q.panel))
        .collect();
    assert!(
        out.status.success() && text.contains(&format!("SUCCESS: {} rules found", queries.len())),
        "{text}\n{}",
        names.join("\n")
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn prometheus_config_with_its_mounted_rules_passes_promtool() {
    let Some(promtool) = promtool() else { return };
    // The config names the rules where the container sees them: lay the mounted files out the
    // same way in a temp dir and point the config there.
    let dir = temp_dir("config");
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).expect("rules dir");
    let mut count = 0;
    for m in mounts(&compose()) {
        if let Some(name) = m.target.strip_prefix(RULES_IN_CONTAINER) {
            std::fs::copy(deploy().join(&m.source), rules.join(name)).expect("copy rules");
            count += 1;
        }
    }
    let config = read(&deploy().join("prometheus/prometheus.yml"));
    assert!(
        config.contains(RULES_IN_CONTAINER),
        "rule_files in {RULES_IN_CONTAINER}"
    );
    let local = config.replace(RULES_IN_CONTAINER, &format!("{}/", rules.display()));
    std::fs::write(dir.join("prometheus.yml"), local).expect("write config");
    let out = run_promtool(promtool, &["check", "config", "prometheus.yml"], &dir);
    assert!(
        count >= 2 && out.contains(&format!("SUCCESS: {count} rule files found")),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn http_rules_pass_promtool_and_fire_on_errors_and_latency_only() {
    let Some(promtool) = promtool() else { return };
    let dir = deploy().join("prometheus");
    let out = run_promtool(promtool, &["check", "rules", "http-rules.yaml"], &dir);
    assert!(out.contains("SUCCESS: 7 rules found"), "{out}");
    run_promtool(promtool, &["test", "rules", "http-rules.test.yaml"], &dir);
}
