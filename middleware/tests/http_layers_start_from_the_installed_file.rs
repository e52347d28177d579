//! `ServerLayer::new()` and `ClientLayer::new()` created after `beacon::try_init()` start
//! from the HTTP options of the configuration file it read; methods called afterwards win.
//! (Its own test binary: it installs the process-wide pipeline.)

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use beacon_middleware::http::ServerLayer;

const FILE: &str = r#"
file_format: "1.1"
instrumentation/development:
  rust:
    beacon:
      http:
        server:
          excluded_paths: [/only-this]
          trace_response: true
          catch_panic: true
"#;

#[test]
fn new_layers_start_from_the_options_init_installed() {
    assert!(beacon::config::http::installed_http_options().is_none());
    let before = format!("{:?}", ServerLayer::new());
    assert!(!before.contains("/only-this"), "{before}");
    let _telemetry = beacon::builder()
        .env_source(|_| None)
        .config_yaml(FILE)
        .try_init()
        .unwrap();
    let layer = format!("{:?}", ServerLayer::new());
    assert!(
        layer.contains("\"/only-this\"")
            && layer.contains("catch_panic: true")
            && layer.contains("trace_response: true"),
        "{layer}"
    );
    let overridden = format!("{:?}", ServerLayer::new().trace_response(false));
    assert!(overridden.contains("trace_response: false"), "{overridden}");
}
