//! An `https` endpoint turns TLS on; `OTEL_EXPORTER_OTLP_CERTIFICATE` adds a private CA to the
//! trusted roots, and a server whose certificate is not trusted gets nothing.

mod support;

use std::time::Duration;

use beacon::config::{Exporter, Protocol, TlsFiles};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use support::HttpReceiver;

/// A fresh CA and a `localhost` server certificate it signed: `(ca_pem, server_cert_pem, server_key_pem)`.
fn pki() -> (String, String, String) {
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().expect("server key");
    let server = CertificateParams::new(vec!["localhost".to_owned()])
        .expect("server params")
        .signed_by(&server_key, &issuer)
        .expect("server cert");
    (ca_cert.pem(), server.pem(), server_key.serialize_pem())
}

fn export_one_span(endpoint: String, ca_file: Option<std::path::PathBuf>) -> beacon::Stats {
    let ca = ca_file.map(|p| p.to_string_lossy().into_owned());
    let t = beacon::builder()
        .env_source(move |name| match name {
            "OTEL_EXPORTER_OTLP_CERTIFICATE" => ca.clone(),
            _ => None,
        })
        .otlp_endpoint(endpoint)
        .otlp_protocol(Protocol::HttpProtobuf)
        .otlp_timeout(Duration::from_secs(2))
        .metrics_exporter(Exporter::None)
        .logs_exporter(Exporter::None)
        .shutdown_timeout(Duration::from_secs(5))
        .build()
        .expect("pipeline builds");
    tracing::dispatcher::with_default(&t.dispatch(), || {
        drop(tracing::info_span!("secure").entered())
    });
    match t.shutdown() {
        Ok(stats) => stats,
        Err(e) => *e.stats,
    }
}

#[test]
fn a_private_ca_from_the_environment_is_trusted() {
    let (ca, cert, key) = pki();
    let dir = std::env::temp_dir().join(format!("beacon-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let ca_path = dir.join("ca.pem");
    std::fs::write(&ca_path, ca).expect("write ca");
    let receiver = HttpReceiver::start_tls(&cert, &key);
    let endpoint = receiver.endpoint().replace("127.0.0.1", "localhost");
    assert!(endpoint.starts_with("https://"));

    let stats = export_one_span(endpoint, Some(ca_path));
    assert_eq!(stats.traces.exported, 1, "{stats:?}");
    assert!(receiver.wait_for(Duration::from_secs(10), |r| r.span_names() == ["secure"]));
}

#[test]
fn a_pinned_private_ca_is_trusted_and_pinning_without_a_ca_is_an_error() {
    let (ca, cert, key) = pki();
    let receiver = HttpReceiver::start_tls(&cert, &key);
    let endpoint = receiver.endpoint().replace("127.0.0.1", "localhost");
    let t = beacon::builder()
        .env_source(|_| None)
        .otlp_endpoint(endpoint)
        .otlp_protocol(Protocol::HttpProtobuf)
        .otlp_timeout(Duration::from_secs(2))
        .otlp_tls(TlsFiles {
            ca_certificate: Some(ca.into_bytes()),
            only_these_cas: true,
            ..TlsFiles::default()
        })
        .metrics_exporter(Exporter::None)
        .logs_exporter(Exporter::None)
        .shutdown_timeout(Duration::from_secs(5))
        .build()
        .expect("pipeline builds");
    tracing::dispatcher::with_default(&t.dispatch(), || {
        drop(tracing::info_span!("pinned").entered())
    });
    let stats = t.shutdown().unwrap_or_else(|e| *e.stats);
    assert_eq!(stats.traces.exported, 1, "{stats:?}");

    let err = beacon::builder()
        .env_source(|_| None)
        .otlp_endpoint("https://localhost:4318")
        .otlp_tls(TlsFiles {
            only_these_cas: true,
            ..TlsFiles::default()
        })
        .build()
        .expect_err("pinning nothing trusts nothing");
    assert!(
        err.to_string().contains("OTEL_EXPORTER_OTLP_CERTIFICATE"),
        "{err}"
    );
}

#[test]
fn an_untrusted_server_certificate_gets_nothing() {
    let (_ca, cert, key) = pki();
    let receiver = HttpReceiver::start_tls(&cert, &key);
    let endpoint = receiver.endpoint().replace("127.0.0.1", "localhost");
    let stats = export_one_span(endpoint, None);
    assert_eq!(stats.traces.exported, 0);
    assert_eq!(stats.traces.undelivered(), 1);
    receiver.with(|r| assert!(r.traces.is_empty()));
}

#[test]
fn an_unreadable_certificate_file_is_an_init_error() {
    let unreadable = |name: &str| {
        (name == "OTEL_EXPORTER_OTLP_CERTIFICATE").then(|| "/nonexistent/ca.pem".to_owned())
    };
    // Strict mode (BEACON_CONFIG_STRICT): an error naming the variable and the path.
    let err = beacon::builder()
        .env_source(unreadable)
        .strict_config(true)
        .build()
        .expect_err("must fail");
    assert_eq!(err.variable(), Some("OTEL_EXPORTER_OTLP_CERTIFICATE"));
    assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    // By default, as the spec says: a warning saying the same, and the setting ignored.
    let telemetry = beacon::builder()
        .env_source(unreadable)
        .strict_config(false)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        telemetry
            .warnings()
            .iter()
            .any(|w| w.contains("OTEL_EXPORTER_OTLP_CERTIFICATE") && w.contains("ignoring it")),
        "{:?}",
        telemetry.warnings()
    );
}

#[test]
fn a_client_certificate_without_its_key_is_an_init_error() {
    let err = beacon::builder()
        .otlp_tls(TlsFiles {
            client_certificate: Some(b"x".to_vec()),
            ..TlsFiles::default()
        })
        .env_source(|_| None)
        .build()
        .expect_err("a lone client certificate cannot be used");
    assert!(
        err.to_string().contains("OTEL_EXPORTER_OTLP_CLIENT_KEY"),
        "{err}"
    );
}
