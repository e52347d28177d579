//! A caller who controls every byte of a request: what the server layer records from it stays
//! redacted, bounded and unspoofable (issue 24). Real axum servers on loopback.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use axum::routing::get;
use axum::Router;
use beacon_middleware::http::ServerLayer;
use beacon_test::{capture, span, MetricsCapture};
use support::*;

#[tokio::test]
async fn query_keys_and_headers_that_carry_secrets_are_redacted_and_paths_scrubbed() {
    let metrics = MetricsCapture::new();
    let app = Router::new()
        .route("/users/{email}/files", get(|| async { "ok" }))
        .layer(
            ServerLayer::new()
                .meter_provider(metrics.provider())
                .capture_request_headers([
                    "x-api-key",
                    "x-auth-token",
                    "x-amz-security-token",
                    "x-upstream-token",
                    "x-client-secret",
                    "x-request-id",
                ])
                .scrub_url_path(|path| {
                    path.contains('@').then(|| {
                        path.split('/')
                            .map(|s| if s.contains('@') { "{email}" } else { s })
                            .collect::<Vec<_>>()
                            .join("/")
                    })
                }),
        );
    let cap = capture();
    let query = "code=SECRET-code&api-key=SECRET-ak&x-api-key=SECRET-xak\
                 &private_token=SECRET-pt&auth_token=SECRET-at&tok%65n=SECRET-enc&page=2";
    let mut request = request(&format!("/users/alice@example.com/files?{query}"));
    for (name, value) in [
        ("x-api-key", "SECRET-h1"),
        ("x-auth-token", "SECRET-h2"),
        ("x-amz-security-token", "SECRET-h3"),
        ("x-upstream-token", "SECRET-h4"),
        ("x-client-secret", "SECRET-h5"),
        ("x-request-id", "req-1"),
    ] {
        request.headers_mut().insert(name, value.parse().unwrap());
    }
    send(&app, request).await;
    let server = cap
        .wait_for_span(span::named("GET /users/{email}/files"))
        .await
        .unwrap();
    let text = format!("{:?}", server.attributes);
    assert!(!text.contains("SECRET"), "{text}");
    assert!(!text.contains("alice@example.com"), "{text}");
    assert_eq!(text_of(&server, "url.path"), "/users/{email}/files");
    assert!(text_of(&server, "url.query").ends_with("tok%65n=REDACTED&page=2"));
    assert!(text.contains("req-1"), "{text}");
}

fn text_of(span: &beacon_test::CapturedSpan, key: &str) -> String {
    text(span.attr(key))
}

/// Serves `app` on loopback with the peer address available (axum's `ConnectInfo`).
async fn serve_with_peer(app: Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await });
    addr
}

/// A GET carrying the capture's trace and the given extra headers, over a real connection.
async fn get_with(addr: std::net::SocketAddr, path: &str, extra: &[(&str, &str)]) -> u16 {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let mut carrier = std::collections::HashMap::new();
    beacon::propagation::inject(&mut carrier);
    let mut request = http::Request::get(path).header("host", "localhost");
    for (k, v) in carrier.iter() {
        request = request.header(k.as_str(), v.as_str());
    }
    for (k, v) in extra {
        request = request.header(*k, *v);
    }
    let response = sender
        .send_request(
            request
                .body(http_body_util::Empty::<bytes::Bytes>::new())
                .unwrap(),
        )
        .await
        .unwrap();
    response.status().as_u16()
}

#[tokio::test]
async fn a_caller_cannot_spoof_client_address_or_scheme() {
    let metrics = MetricsCapture::new();
    let spoof = [
        ("x-forwarded-for", "198.51.100.66"),
        ("forwarded", "for=198.51.100.77;proto=https"),
        ("x-forwarded-proto", "https"),
    ];
    let untrusting = Router::new()
        .route("/direct", get(|| async { "ok" }))
        .layer(ServerLayer::new().meter_provider(metrics.provider()));
    let addr = serve_with_peer(untrusting).await;
    let cap = capture();
    assert_eq!(get_with(addr, "/direct", &spoof).await, 200);
    let direct = cap.wait_for_span(span::named("GET /direct")).await.unwrap();
    assert_eq!(text_of(&direct, "client.address"), "127.0.0.1");
    assert_eq!(text_of(&direct, "url.scheme"), "http");

    // Behind a trusted proxy (loopback here), the proxy's own entry is believed, and what the
    // caller prepended is not.
    let behind_proxy = Router::new()
        .route("/proxied", get(|| async { "ok" }))
        .layer(
            ServerLayer::new()
                .meter_provider(metrics.provider())
                .trusted_proxies(["127.0.0.1".parse::<std::net::IpAddr>().unwrap()]),
        );
    let addr = serve_with_peer(behind_proxy).await;
    let headers = [
        ("x-forwarded-for", "198.51.100.66, 203.0.113.5"),
        ("x-forwarded-proto", "https"),
    ];
    assert_eq!(get_with(addr, "/proxied", &headers).await, 200);
    let proxied = cap
        .wait_for_span(span::named("GET /proxied"))
        .await
        .unwrap();
    assert_eq!(text_of(&proxied, "client.address"), "203.0.113.5");
    assert_eq!(text_of(&proxied, "url.scheme"), "https");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_request_values_are_recorded_cut_to_the_limit() {
    let metrics = MetricsCapture::new();
    let app = Router::new()
        .route("/{*rest}", get(|| async { "ok" }))
        .layer(
            ServerLayer::new()
                .meter_provider(metrics.provider())
                .capture_request_headers(["x-note"]),
        );
    let addr = serve_with_peer(app).await;
    let cap = capture();
    let big = "A".repeat(30_000);
    let path = format!("/files/{big}?q={big}");
    let note = big.clone();
    assert_eq!(
        get_with(
            addr,
            &path,
            &[("user-agent", &big), ("x-note", &note), ("x-note", &note)]
        )
        .await,
        200
    );
    let server = cap
        .wait_for_span(span::named("GET /{*rest}"))
        .await
        .unwrap();
    for key in ["url.path", "url.query", "user_agent.original"] {
        let value = text_of(&server, key);
        assert_eq!(value.len(), 4096, "{key}");
    }
    let header = server.attr("http.request.header.x-note").unwrap();
    let opentelemetry::Value::Array(opentelemetry::Array::String(values)) = header else {
        panic!("{header:?}");
    };
    assert_eq!(values.iter().map(|v| v.as_str().len()).sum::<usize>(), 4096);
    // The whole span's attributes: a few times the limit, not the 150 KB sent.
    let total: usize = server
        .attributes
        .iter()
        .map(|(k, v)| k.as_str().len() + v.as_str().len())
        .sum();
    assert!(total < 5 * 4096, "{total} bytes of attributes");
}
