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
        (
            "forwarded",
            "for=198.51.100.77;proto=https;host=evil.example",
        ),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "evil.example"),
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
    assert_eq!(
        text_of(&direct, "server.address"),
        "localhost",
        "the Host header"
    );

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

    // HTTP semantic conventions (v1.44), HTTP server `server.address` / `server.port`: "the
    // host identifier of the Forwarded#host directive", then "X-Forwarded-Host", before
    // `:authority` and `Host`; `url.scheme` from `Forwarded#proto`, then `X-Forwarded-Proto`.
    // From the trusted proxy, `Forwarded` wins over the `X-Forwarded-*` headers.
    let headers = [
        (
            "forwarded",
            "for=203.0.113.5;host=\"shop.example:8443\";proto=https, for=10.0.0.1;host=inner",
        ),
        ("x-forwarded-host", "other.example"),
        ("x-forwarded-proto", "http"),
    ];
    assert_eq!(get_with(addr, "/proxied", &headers).await, 200);
    let s = cap
        .wait_for_span(span::named("GET /proxied").attr("server.address", "shop.example"))
        .await
        .unwrap();
    assert_eq!(
        s.attr("server.port"),
        Some(&opentelemetry::Value::I64(8443))
    );
    assert_eq!(text_of(&s, "url.scheme"), "https");
    let headers = [("x-forwarded-host", "api.example, inner.local")];
    assert_eq!(get_with(addr, "/proxied", &headers).await, 200);
    let s = cap
        .wait_for_span(span::named("GET /proxied").attr("server.address", "api.example"))
        .await
        .unwrap();
    assert_eq!(text_of(&s, "url.scheme"), "http");
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

/// What the handler of the edge tests saw and what a "third party" it called received.
async fn edge_round(app: &Router, trace: &str) -> (bool, String, String) {
    let mut request = http::Request::get("/checkout")
        .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
        .header("tracestate", "evil=1")
        .header("baggage", "user=admin,tenant=acme,debug=1")
        .body(axum::body::Body::empty())
        .unwrap();
    request
        .headers_mut()
        .insert("host", "shop".parse().unwrap());
    let (_, body) = send(app, request).await;
    let body = String::from_utf8_lossy(&body).into_owned();
    let mut parts = body.splitn(3, '|');
    let sampled = parts.next() == Some("true");
    let (seen_trace, downstream) = (
        parts.next().unwrap_or("").to_owned(),
        parts.next().unwrap_or("").to_owned(),
    );
    (sampled, seen_trace, downstream)
}

/// A service whose handler calls a "third party" (`echo`, which answers with the propagation
/// headers it received) through `client`, under a pipeline whose head sampler records no new
/// trace (parent-based always-off): only a caller's sampled flag could make it record.
fn edge_app(
    telemetry: &beacon::Telemetry,
    layer: ServerLayer,
    client: beacon_middleware::http::ClientLayer,
    echo: std::net::SocketAddr,
) -> Router {
    use beacon::propagation::SpanExt as _;
    use opentelemetry::trace::TraceContextExt as _;
    let http = tower::ServiceBuilder::new()
        .layer(client.propagator(telemetry.propagator()))
        .service(
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<http_body_util::Full<bytes::Bytes>>(),
        );
    Router::new()
        .route(
            "/checkout",
            get(move || {
                let http = http.clone();
                async move {
                    use http_body_util::BodyExt as _;
                    use tower::ServiceExt as _;
                    let cx = tracing::Span::current().context();
                    let sc = cx.span().span_context().clone();
                    let request = http::Request::get(format!("http://{echo}/echo"))
                        .body(http_body_util::Full::new(bytes::Bytes::new()))
                        .unwrap();
                    let response = http.oneshot(request).await.unwrap();
                    let echoed = response.into_body().collect().await.unwrap().to_bytes();
                    format!(
                        "{}|{}|{}",
                        sc.is_sampled(),
                        sc.trace_id(),
                        String::from_utf8_lossy(&echoed)
                    )
                }
            }),
        )
        .layer(
            layer
                .meter_provider(&telemetry.meter_provider())
                .propagator(telemetry.propagator()),
        )
}

#[tokio::test(flavor = "current_thread")]
async fn in_edge_mode_a_caller_cannot_force_sampling_nor_push_context_to_third_parties() {
    use beacon::config::{Exporter, Sampler};
    use beacon_middleware::http::{ClientLayer, InboundContext};
    let echo = serve(Router::new().route(
        "/echo",
        get(|headers: http::HeaderMap| async move {
            let get = |n: &str| {
                headers
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-")
                    .to_owned()
            };
            format!(
                "{};{};{}",
                get("traceparent"),
                get("tracestate"),
                get("baggage")
            )
        }),
    ))
    .await;
    let telemetry = beacon::builder()
        .env_source(|_| None)
        .sampler(Sampler::ParentBasedAlwaysOff)
        .traces_exporter(Exporter::None)
        .metrics_exporter(Exporter::None)
        .logs_exporter(Exporter::None)
        .build()
        .unwrap();
    let _dispatch = tracing::dispatcher::set_default(&telemetry.dispatch());
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";

    // The default trusts the caller: the attack works (and is what internal services want).
    let trusting = edge_app(&telemetry, ServerLayer::new(), ClientLayer::new(), echo);
    let (sampled, seen, downstream) = edge_round(&trusting, trace).await;
    assert!(sampled && seen == trace, "{seen}");
    assert!(
        downstream.contains("evil=1") && downstream.contains("user=admin"),
        "{downstream}"
    );

    // Edge mode: 100 requests that all ask to be sampled; none is, none continues the trace,
    // and only the allowed baggage key travels on.
    let edge = edge_app(
        &telemetry,
        ServerLayer::new()
            .inbound_context(InboundContext::Link)
            .allow_baggage_keys(["tenant"]),
        ClientLayer::new(),
        echo,
    );
    for _ in 0..100 {
        let (sampled, seen, downstream) = edge_round(&edge, trace).await;
        assert!(!sampled, "a caller forced sampling");
        assert_ne!(seen, trace);
        let fields: Vec<&str> = downstream.split(';').collect();
        assert!(!fields[0].contains(trace), "{downstream}");
        assert_eq!(fields[1], "-", "{downstream}");
        assert_eq!(fields[2], "tenant=acme", "{downstream}");
    }

    // Ignore: nothing of the caller's; and a client that sends context only to listed hosts
    // sends none to the third party.
    let closed = edge_app(
        &telemetry,
        ServerLayer::new().inbound_context(InboundContext::Ignore),
        ClientLayer::new().propagate_to_hosts(["*.internal.example"]),
        echo,
    );
    let (sampled, seen, downstream) = edge_round(&closed, trace).await;
    assert!(!sampled && seen != trace);
    assert_eq!(downstream, "-;-;-");
}

#[tokio::test]
async fn the_series_of_every_http_metric_stay_bounded_under_random_paths_methods_and_hosts() {
    use beacon_middleware::http::ClientLayer;
    use tower::ServiceExt as _;
    let metrics = MetricsCapture::new();
    let app = in_process_app(&metrics, ServerLayer::new());
    // The client side: the same hostile paths and methods to one host.
    let upstream = serve(Router::new().fallback(|| async { "any" })).await;
    let client = tower::ServiceBuilder::new()
        .layer(ClientLayer::new().meter_provider(metrics.provider()))
        .service(
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<http_body_util::Full<bytes::Bytes>>(),
        );
    let mut gen = beacon_test::HostileStrings::new(24);
    let safe = |s: String| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || "-._~%!$&'()*+,;=:@".contains(*c))
            .collect()
    };
    for i in 0..2_000 {
        let path = format!("/{}/{i}", safe(gen.next_string(6)));
        let method = http::Method::from_bytes(
            format!("M{}", safe(gen.next_string(2)).to_uppercase()).as_bytes(),
        )
        .unwrap_or(http::Method::GET);
        let host = format!("h{}.example:{}", gen.below(1_000_000), gen.below(65_535));
        let mut request = request(&path);
        *request.method_mut() = method.clone();
        request.headers_mut().insert("host", host.parse().unwrap());
        request
            .headers_mut()
            .insert("user-agent", format!("ua-{i}").parse().unwrap());
        send(&app, request).await;
        if i % 10 == 0 {
            let outgoing = http::Request::builder()
                .method(method)
                .uri(format!("http://{upstream}{path}"))
                .body(http_body_util::Full::new(bytes::Bytes::new()))
                .unwrap();
            let _ = client.clone().oneshot(outgoing).await;
        }
    }
    let points = metrics.collect();
    let mut series: std::collections::BTreeMap<String, usize> = Default::default();
    for point in &points {
        *series.entry(point.name.clone()).or_default() += 1;
    }
    assert!(
        series.keys().any(|n| n.starts_with("http.server.")),
        "{series:?}"
    );
    assert!(
        series.keys().any(|n| n.starts_with("http.client.")),
        "{series:?}"
    );
    for (name, count) in &series {
        // Method (`_OTHER` or one of a few), status (404/405/200), scheme, version: a handful.
        assert!(
            *count <= 12,
            "{name}: {count} series after 2,000 hostile requests"
        );
    }
}
