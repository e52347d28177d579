//! Metric exports carry the same `User-Agent` as Beacon's span and log exports.

use std::time::Duration;

use beacon_exporter::otlp::{metric_exporter, Compression, OtlpConfig, Protocol, TlsFiles};
use beacon_exporter::ExportRuntime;
use http::HeaderMap;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter as _;
use opentelemetry_sdk::metrics::Temporality;

fn config(protocol: Protocol, port: u16) -> OtlpConfig {
    let path = if protocol == Protocol::Grpc {
        ""
    } else {
        "/v1/metrics"
    };
    OtlpConfig {
        protocol,
        endpoint: format!("http://127.0.0.1:{port}{path}")
            .parse()
            .expect("uri"),
        headers: HeaderMap::new(),
        compression: Compression::None,
        timeout: Duration::from_secs(5),
        tls: TlsFiles::default(),
    }
}

/// The version `opentelemetry-otlp` puts in the span and log exporters' `User-Agent`
/// (`OTel-OTLP-Exporter-Rust/<its version>`), read from the workspace's Cargo.lock.
fn otlp_version() -> String {
    let lock = include_str!("../../Cargo.lock");
    let at = lock
        .find("name = \"opentelemetry-otlp\"\nversion = \"")
        .expect("opentelemetry-otlp in Cargo.lock");
    let rest = &lock[at..];
    let start = rest.find("version = \"").expect("version") + "version = \"".len();
    rest[start..].split('"').next().expect("quoted").to_owned()
}

/// Serves one connection (HTTP/2 with prior knowledge for gRPC, else HTTP/1.1), answering
/// every request `200` and sending the first request's headers.
async fn capture(listener: tokio::net::TcpListener, http2: bool) -> HeaderMap {
    let (socket, _) = listener.accept().await.expect("accept");
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<HeaderMap>();
    let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let _ = tx.send(req.headers().clone());
        async move {
            http::Response::builder()
                .status(200)
                .header(
                    "content-type",
                    if http2 {
                        "application/grpc"
                    } else {
                        "application/x-protobuf"
                    },
                )
                .header("grpc-status", "0")
                .body(http_body_util::Full::new(bytes::Bytes::new()))
        }
    });
    let io = hyper_util::rt::TokioIo::new(socket);
    tokio::spawn(async move {
        if http2 {
            let _ = hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                .serve_connection(io, service)
                .await;
        } else {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        }
    });
    let mut rx = rx;
    rx.recv().await.expect("a request arrived")
}

/// `specification/protocol/exporter.md`, "User Agent": "OpenTelemetry protocol exporters
/// SHOULD emit a User-Agent header to at a minimum identify the exporter, the language of its
/// implementation, and the version of the exporter." Beacon's metric exporter sent none over
/// HTTP and only tonic's over gRPC.
#[test]
fn http_metric_exports_send_the_otlp_exporter_user_agent() {
    let rt = ExportRuntime::new().expect("runtime");
    let test_rt = tokio::runtime::Runtime::new().expect("runtime");
    let listener = test_rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = test_rt.spawn(capture(listener, false));
    let exporter = metric_exporter(
        &config(Protocol::HttpProtobuf, port),
        Temporality::Cumulative,
        &rt,
    )
    .expect("exporter");
    let result = test_rt.block_on(exporter.export(&ResourceMetrics::default()));
    assert!(result.is_ok(), "{result:?}");
    let headers = test_rt.block_on(seen).expect("server");
    let expected = format!("OTel-OTLP-Exporter-Rust/{}", otlp_version());
    assert_eq!(
        headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
        Some(expected.as_str()),
        "{headers:?}"
    );
}

/// As above, over gRPC, where tonic appends its own product token (`… tonic/0.14.x`), exactly
/// as it does for the span and log exporters.
#[test]
fn grpc_metric_exports_send_the_otlp_exporter_user_agent() {
    let rt = ExportRuntime::new().expect("runtime");
    let test_rt = tokio::runtime::Runtime::new().expect("runtime");
    let listener = test_rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = test_rt.spawn(capture(listener, true));
    let exporter = metric_exporter(&config(Protocol::Grpc, port), Temporality::Cumulative, &rt)
        .expect("exporter");
    // The fake server's empty reply is not a valid message: only what was sent matters.
    let _ = test_rt.block_on(exporter.export(&ResourceMetrics::default()));
    let headers = test_rt.block_on(seen).expect("server");
    let agent = headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let expected = format!("OTel-OTLP-Exporter-Rust/{} tonic/", otlp_version());
    assert!(
        agent.starts_with(&expected),
        "{agent:?} does not start with {expected:?}"
    );
}
