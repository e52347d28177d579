//! The files in `deploy/` that users run beside Beacon — `compose.yaml` with the OpenTelemetry
//! Collector, Jaeger, Prometheus and Grafana — are well-formed and agree with each other:
//! every YAML file parses, every file compose mounts exists, the Prometheus configuration (with
//! the rule files where
//! the container sees them) passes `promtool check config`, and the HTTP alerts pass
//! `promtool check rules` and fire in `promtool test rules`.
//!
//! Docker is not available on our CI machines: compose itself is not run here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use beacon_tests::deploy::{dir as deploy, promtool, read, run_promtool, temp_dir};
use yaml_rust2::{Yaml, YamlLoader};

/// Where compose mounts the Prometheus rule files (the glob of `rule_files`).
const RULES_IN_CONTAINER: &str = "/etc/prometheus/rules/";

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
