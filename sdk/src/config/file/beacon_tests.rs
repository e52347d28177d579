//! `instrumentation/development`: Beacon's own settings and the HTTP layers' options — read,
//! refused with the place named, and taking effect on the built pipeline.

use std::collections::HashMap;

use super::{resolve, FileErrorKind};
use crate::config::http::InboundContext;
use crate::config::{Builder, Config, InitError};

fn build_with(b: Builder, yaml: &str, env: &[(&str, &str)]) -> Result<Config, InitError> {
    let map: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    resolve(
        b.env_source(move |k| map.get(k).cloned())
            .config_yaml(yaml.to_owned()),
    )
}

fn ok(yaml: &str, env: &[(&str, &str)]) -> Config {
    build_with(Builder::default(), yaml, env)
        .unwrap_or_else(|e| panic!("{yaml}\nshould resolve: {e}"))
}

const HEAD: &str = "file_format: \"1.1\"\ninstrumentation/development:\n";

#[test]
fn beacon_settings_are_read() {
    type Check = fn(&Config) -> bool;
    type Row<'a> = (&'a str, &'a [(&'a str, &'a str)], Check);
    let table: &[Row<'_>] = &[
        (
            "  rust:\n    beacon:\n      export_spool:\n        directory: ${BEACON_EXPORT_SPOOL_DIR}\n        max_bytes: ${BEACON_EXPORT_SPOOL_MAX_BYTES:-268435456}\n",
            &[("BEACON_EXPORT_SPOOL_DIR", "/var/spool/shop"), ("BEACON_EXPORT_SPOOL_MAX_BYTES", "1048576")],
            |c| c.spool.as_ref().is_some_and(|s| {
                s.dir == std::path::Path::new("/var/spool/shop") && s.max_bytes == 1_048_576
            }),
        ),
        // An unset `${BEACON_EXPORT_SPOOL_DIR}` is null: no spool, as without the variable.
        (
            "  rust:\n    beacon:\n      export_spool:\n        directory: ${BEACON_EXPORT_SPOOL_DIR}\n        max_bytes: 4096\n",
            &[],
            |c| c.spool.is_none(),
        ),
        (
            "  rust:\n    beacon:\n      console_logs: ${BEACON_CONSOLE}\n",
            &[("BEACON_CONSOLE", "true")],
            |c| c.console_logs,
        ),
        ("  rust:\n    beacon:\n      console_logs: ${BEACON_CONSOLE}\n", &[], |c| !c.console_logs),
        (
            "  general:\n    http:\n      server:\n        request_captured_headers: [x-request-id]\n        response_captured_headers: [content-type]\n      client:\n        request_captured_headers: [accept]\n        response_captured_headers: [server-timing]\n",
            &[],
            |c| {
                let s = &c.http.server;
                let cl = &c.http.client;
                s.request_captured_headers == Some(vec!["x-request-id".to_owned()])
                    && s.response_captured_headers == Some(vec!["content-type".to_owned()])
                    && cl.request_captured_headers == Some(vec!["accept".to_owned()])
                    && cl.response_captured_headers == Some(vec!["server-timing".to_owned()])
                    && s.excluded_paths.is_none()
            },
        ),
        (
            "  rust:\n    beacon:\n      http:\n        server:\n          excluded_paths: [/ping]\n          max_attribute_bytes: 512\n          sensitive_headers: [x-secret]\n          sensitive_query_keys: [pin]\n          catch_panic: true\n          trace_response: true\n          inbound_context: link\n          allowed_baggage_keys: [tenant]\n          trusted_proxies: [10.0.0.0/8, \"::1\"]\n        client:\n          max_attribute_bytes: 256\n          sensitive_headers: [x-token]\n          sensitive_query_keys: [sig]\n          propagate_to_hosts: [\"*.internal\"]\n",
            &[],
            |c| {
                let s = &c.http.server;
                let cl = &c.http.client;
                s.excluded_paths == Some(vec!["/ping".to_owned()])
                    && s.max_attribute_bytes == Some(512)
                    && s.sensitive_headers == Some(vec!["x-secret".to_owned()])
                    && s.sensitive_query_keys == Some(vec!["pin".to_owned()])
                    && s.catch_panic == Some(true)
                    && s.trace_response == Some(true)
                    && s.inbound_context == Some(InboundContext::Link)
                    && s.allowed_baggage_keys == Some(vec!["tenant".to_owned()])
                    && s.trusted_proxies.as_ref().is_some_and(|n| {
                        n.len() == 2 && n[0].prefix == 8 && n[1].prefix == 128
                    })
                    && cl.max_attribute_bytes == Some(256)
                    && cl.sensitive_headers == Some(vec!["x-token".to_owned()])
                    && cl.sensitive_query_keys == Some(vec!["sig".to_owned()])
                    && cl.propagate_to_hosts == Some(vec!["*.internal".to_owned()])
            },
        ),
        #[cfg(feature = "hub")]
        (
            "  rust:\n    beacon:\n      hub:\n        max_traces: 5\n        metric_window: 60000\n",
            &[],
            |c| c.hub.is_some(),
        ),
        #[cfg(feature = "hub")]
        ("  rust:\n    beacon:\n      hub:\n", &[], |c| c.hub.is_some()),
        #[cfg(feature = "hub")]
        (
            "  rust:\n    beacon:\n      hub:\n        enabled: ${BEACON_HUB:-false}\n",
            &[],
            |c| c.hub.is_none(),
        ),
        #[cfg(feature = "hub")]
        (
            "  rust:\n    beacon:\n      hub:\n        enabled: ${BEACON_HUB:-false}\n",
            &[("BEACON_HUB", "true")],
            |c| c.hub.is_some(),
        ),
        // Other languages' keys in `general` are theirs.
        ("  general:\n    peer:\n      service_mapping: []\n", &[], |c| {
            c.http.server == crate::config::http::HttpServerOptions::default()
        }),
    ];
    for (body, env, check) in table {
        let yaml = format!("{HEAD}{body}");
        let c = ok(&yaml, env);
        assert!(check(&c), "check failed for\n{yaml}");
    }
}

/// A value in the file wins over the code's; a key left out (or null) keeps the code's.
#[test]
fn the_file_wins_over_code_only_where_it_says_something() {
    let code = || {
        Builder::default()
            .console_logs(true)
            .export_spool(beacon_exporter::spool::SpoolConfig::new("/code/spool"))
    };
    let silent = format!("{HEAD}  rust:\n    beacon:\n      console_logs: ${{BEACON_CONSOLE}}\n      export_spool:\n        directory: ${{BEACON_EXPORT_SPOOL_DIR}}\n        max_bytes: 4096\n");
    let c = build_with(code(), &silent, &[]).expect("resolves");
    assert!(c.console_logs);
    let spool = c.spool.expect("the code's spool");
    assert_eq!(spool.dir, std::path::Path::new("/code/spool"));
    assert_eq!(
        spool.max_bytes, 4096,
        "the file's cap applies to the code's spool"
    );
    let says = format!("{HEAD}  rust:\n    beacon:\n      console_logs: false\n      export_spool:\n        directory: /file/spool\n");
    let c = build_with(code(), &says, &[]).expect("resolves");
    assert!(!c.console_logs);
    assert_eq!(
        c.spool.expect("spool").dir,
        std::path::Path::new("/file/spool")
    );
}

#[test]
fn bad_beacon_settings_name_their_place() {
    let table: &[(&str, &str)] = &[
        (
            "  rust:\n    beacon:\n      export_spool:\n        directory: spool\n",
            "instrumentation/development.rust.beacon.export_spool.directory",
        ),
        (
            "  rust:\n    beacon:\n      export_spool:\n        directory: /s\n        max_bytes: 0\n",
            "instrumentation/development.rust.beacon.export_spool.max_bytes",
        ),
        (
            "  rust:\n    beacon:\n      export_spool:\n        dir: /s\n",
            "instrumentation/development.rust.beacon.export_spool.dir",
        ),
        (
            "  rust:\n    beacon:\n      http:\n        server:\n          trusted_proxies: [10.0.0.0/8, 10.0.0.0/40]\n",
            "instrumentation/development.rust.beacon.http.server.trusted_proxies[1]",
        ),
        (
            "  rust:\n    beacon:\n      http:\n        server:\n          excluded_paths: [health]\n",
            "instrumentation/development.rust.beacon.http.server.excluded_paths[0]",
        ),
        (
            "  rust:\n    beacon:\n      http:\n        server:\n          inbound_context: distrust\n",
            "instrumentation/development.rust.beacon.http.server.inbound_context",
        ),
        (
            "  rust:\n    beacon:\n      http:\n        server:\n          exclude_paths: [/x]\n",
            "instrumentation/development.rust.beacon.http.server.exclude_paths",
        ),
        (
            "  general:\n    http:\n      server:\n        request_captured_headers: [\"bad header\"]\n",
            "instrumentation/development.general.http.server.request_captured_headers[0]",
        ),
        (
            "  general:\n    http:\n      server:\n        captured_headers: [a]\n",
            "instrumentation/development.general.http.server.captured_headers",
        ),
        #[cfg(feature = "hub")]
        (
            "  rust:\n    beacon:\n      hub:\n        max_traces: 0\n",
            "instrumentation/development.rust.beacon.hub.max_traces",
        ),
        #[cfg(not(feature = "hub"))]
        (
            "  rust:\n    beacon:\n      hub:\n",
            "instrumentation/development.rust.beacon.hub",
        ),
    ];
    for (body, field) in table {
        let yaml = format!("{HEAD}{body}");
        let err = build_with(Builder::default(), &yaml, &[]).expect_err(&yaml);
        let file = err.file_error().unwrap_or_else(|| panic!("{yaml}: {err}"));
        assert_eq!(file.field(), *field, "{yaml}\n{err}");
        assert!(file.line().is_some(), "{yaml}: no line in {err}");
        assert!(
            !matches!(file.kind(), FileErrorKind::Io(_)),
            "{yaml}: {err}"
        );
    }
}

/// The file's spool is the pipeline's: it holds the directory, so a second pipeline on the
/// same directory is refused.
#[test]
fn the_files_spool_takes_the_directory() {
    let dir = std::env::temp_dir().join(format!("beacon-file-spool-{}", std::process::id()));
    let yaml = format!(
        "file_format: \"1.1\"\ntracer_provider:\n  processors:\n    - batch:\n        exporter:\n          otlp_http:\n            endpoint: http://127.0.0.1:9/v1/traces\ninstrumentation/development:\n  rust:\n    beacon:\n      export_spool:\n        directory: {}\n        max_bytes: 1048576\n",
        dir.display()
    );
    let first = crate::builder()
        .env_source(|_| None)
        .config_yaml(yaml)
        .build()
        .expect("builds");
    assert!(dir.is_dir(), "the spool directory was not made");
    let err = crate::builder()
        .env_source(|_| None)
        .otlp_endpoint("http://127.0.0.1:9")
        .metrics_exporter(crate::config::Exporter::None)
        .logs_exporter(crate::config::Exporter::None)
        .export_spool(beacon_exporter::spool::SpoolConfig::new(&dir))
        .build()
        .expect_err("the file's pipeline holds the spool");
    assert!(
        err.to_string().contains(&dir.display().to_string()),
        "{err}"
    );
    drop(first);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The file's hub receives the pipeline's spans, within the file's bounds.
#[cfg(feature = "hub")]
#[test]
fn the_files_hub_receives_spans_within_its_bounds() {
    use crate::hub::query::TraceQuery;
    let yaml = "file_format: \"1.1\"\ntracer_provider:\n  processors: []\ninstrumentation/development:\n  rust:\n    beacon:\n      hub:\n        max_traces: 2\n";
    let telemetry = crate::builder()
        .env_source(|_| None)
        .config_yaml(yaml)
        .build()
        .expect("builds");
    tracing::dispatcher::with_default(&telemetry.dispatch(), || {
        for i in 0..5 {
            tracing::info_span!("order", order.id = i).in_scope(|| {});
        }
    });
    telemetry.flush().expect("flushes");
    let hub = telemetry.hub().expect("the file asked for a hub");
    let found = hub.traces(&TraceQuery::default());
    assert_eq!(
        found.len(),
        2,
        "max_traces: 2 keeps the two newest: {found:?}"
    );
}
