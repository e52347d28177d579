//! The official Python OpenTelemetry SDK (PyPI `opentelemetry-sdk` with
//! `opentelemetry-exporter-otlp-proto-http`, gzip on) sends a trace to the receiver, and the
//! query API gives back the same ids, names, kinds, attributes, events, status and parent link.
//!
//! The interpreter comes from `BEACON_OTEL_PYTHON` (set by `cargo xtask ci`, which installs the
//! packages into a venv when missing), else the venv at `.cache/otel-python`. Without one the
//! test says it skipped; in CI it fails.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;
use std::process::Command;

const SCRIPT: &str = r#"
import json
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.trace import Status, StatusCode

provider = TracerProvider(resource=Resource.create({"service.name": "py-checkout"}))
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
tracer = provider.get_tracer("py-test")
out = {}
with tracer.start_as_current_span("py.parent", attributes={"order.id": 42, "http.route": "/orders/{id}"}) as parent:
    with tracer.start_as_current_span("py.child", kind=trace.SpanKind.CLIENT, attributes={"retry": True}) as child:
        child.add_event("charged", {"amount": 9.5})
        child.set_status(Status(StatusCode.ERROR, "card declined"))
        out["child"] = format(child.get_span_context().span_id, "016x")
    out["parent"] = format(parent.get_span_context().span_id, "016x")
    out["trace"] = format(parent.get_span_context().trace_id, "032x")
provider.shutdown()
print(json.dumps(out))
"#;

fn python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BEACON_OTEL_PYTHON").map(PathBuf::from) {
        return p.is_file().then_some(p);
    }
    let cached = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.cache/otel-python/bin/python");
    cached.is_file().then_some(cached)
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_trace_comes_back_with_the_same_ids_and_attributes() {
    let Some(python) = python() else {
        assert!(
            !in_ci(),
            "CI needs the Python OpenTelemetry SDK (cargo xtask ci installs it)"
        );
        eprintln!(
            "SKIPPED: no Python OpenTelemetry SDK (set BEACON_OTEL_PYTHON or run cargo xtask ci)"
        );
        return;
    };
    let served = common::serve(beacon_viewer::ViewerConfig::default()).await;
    let endpoint = format!("http://{}", served.addr);
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .args(["-c", SCRIPT])
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
            .env("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let sent: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let trace = sent["trace"].as_str().unwrap();

    let found = common::get(
        served.addr,
        "/api/traces?service=py-checkout&attr=order.id%3D42",
    )
    .await
    .json();
    assert_eq!(found[0]["trace_id"], trace, "{found}");
    assert_eq!(found[0]["error_count"], 1);

    let view = common::get(served.addr, &format!("/api/traces/{trace}"))
        .await
        .json();
    let spans = view["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 2, "{view}");
    let (parent, child) = (&spans[0], &spans[1]);
    assert_eq!(parent["name"], "py.parent");
    assert_eq!(parent["span_id"], sent["parent"]);
    assert_eq!(parent["parent_span_id"], serde_json::Value::Null);
    assert_eq!(parent["kind"], "internal");
    assert_eq!(parent["attributes"]["order.id"], 42);
    assert_eq!(parent["attributes"]["http.route"], "/orders/{id}");
    assert_eq!(child["name"], "py.child");
    assert_eq!(child["span_id"], sent["child"]);
    assert_eq!(child["parent_span_id"], sent["parent"]);
    assert_eq!(child["kind"], "client");
    assert_eq!(child["attributes"]["retry"], true);
    assert_eq!(child["status"]["code"], "error");
    assert_eq!(child["status"]["message"], "card declined");
    assert_eq!(child["events"][0]["name"], "charged");
    assert_eq!(child["events"][0]["attributes"]["amount"], 9.5);
    assert_eq!(
        parent["resource"]["attributes"]["telemetry.sdk.language"],
        "python"
    );
    assert_eq!(parent["scope"]["name"], "py-test");
}
