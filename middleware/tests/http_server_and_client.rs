//! The HTTP layers against real axum servers and hyper clients on loopback: semconv spans and
//! metrics read from captured data, propagation across two services, bounded cardinality,
//! panics, streaming bodies and abandoned requests.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use std::net::SocketAddr;
use std::time::Instant;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use beacon_middleware::http::{ClientLayer, ServerLayer};
use beacon_test::{capture, span, MetricsCapture, PointValue};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::Value;
use tower::ServiceExt as _;

type HttpClient = beacon_middleware::http::ClientService<
    Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
>;

fn client(metrics: &MetricsCapture) -> HttpClient {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    tower::ServiceBuilder::new()
        .layer(ClientLayer::new().meter_provider(metrics.provider()))
        .service(client)
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

async fn get_text(client: &HttpClient, url: &str) -> (StatusCode, String) {
    let response = client
        .clone()
        .oneshot(Request::get(url).body(Full::new(Bytes::new())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn text(v: Option<&Value>) -> String {
    v.map(|v| v.as_str().into_owned()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_calling_another_service_makes_one_trace_with_semconv_spans_and_metrics() {
    let metrics = MetricsCapture::new();
    let users = Router::new()
        .route("/users/{id}", get(|| async { "user" }))
        .layer(ServerLayer::new().meter_provider(metrics.provider()));
    let users_addr = serve(users).await;

    let downstream = client(&metrics);
    let orders = Router::new()
        .route(
            "/orders/{id}",
            get(move || {
                let downstream = downstream.clone();
                async move {
                    // Three calls: three client spans, three distinct parents at the server.
                    for id in 1..=3 {
                        let url = format!("http://{users_addr}/users/{id}?token=s3cret&page=2");
                        get_text(&downstream, &url).await;
                    }
                    "order"
                }
            }),
        )
        .layer(ServerLayer::new().meter_provider(metrics.provider()));
    let orders_addr = serve(orders).await;

    let cap = capture();
    let (status, body) = get_text(
        &client(&metrics),
        &format!("http://{orders_addr}/orders/42"),
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "order"));

    let order = cap
        .wait_for_span(span::named("GET /orders/{id}").kind(SpanKind::Server))
        .await
        .unwrap();
    let caller = cap
        .wait_for_span(
            span::named("GET")
                .kind(SpanKind::Client)
                .attr("url.full", format!("http://{orders_addr}/orders/42")),
        )
        .await
        .unwrap();
    assert_eq!(
        order.trace_id,
        cap.trace_id().unwrap(),
        "continues the caller's trace"
    );
    assert_eq!(
        order.parent_span_id, caller.span_id,
        "the server span's parent is the client span"
    );
    for (key, expected) in [
        ("http.request.method", "GET"),
        ("url.path", "/orders/42"),
        ("url.scheme", "http"),
        ("http.route", "/orders/{id}"),
        ("server.address", "127.0.0.1"),
        ("network.protocol.version", "1.1"),
    ] {
        assert_eq!(text(order.attr(key)), expected, "{key} on {order}");
    }
    assert_eq!(
        order.attr("server.port"),
        Some(&Value::I64(orders_addr.port().into()))
    );
    assert_eq!(
        order.attr("http.response.status_code"),
        Some(&Value::I64(200))
    );
    assert_eq!(order.status, Status::Unset);

    let user_spans: Vec<_> = cap
        .spans()
        .into_iter()
        .filter(|s| s.name == "GET /users/{id}")
        .collect();
    assert_eq!(user_spans.len(), 3, "{:?}", cap.spans());
    let parents: std::collections::HashSet<_> =
        user_spans.iter().map(|s| s.parent_span_id).collect();
    assert_eq!(parents.len(), 3, "each call injects its own client span");
    for server in &user_spans {
        let client_span = cap
            .spans()
            .into_iter()
            .find(|s| s.span_id == server.parent_span_id)
            .expect("the parent is a captured client span");
        assert_eq!(client_span.kind, SpanKind::Client);
        assert_eq!(
            client_span.parent_span_id, order.span_id,
            "client spans are children of the handler's span"
        );
        let url = text(client_span.attr("url.full"));
        assert!(url.contains("token=REDACTED&page=2"), "{url}");
        assert_eq!(text(client_span.attr("server.address")), "127.0.0.1");
        assert_eq!(
            client_span.attr("server.port"),
            Some(&Value::I64(users_addr.port().into()))
        );
        assert_eq!(text(server.attr("url.query")), "token=REDACTED&page=2");
    }

    let duration = metrics
        .point(
            "http.server.request.duration",
            &[("http.route", "/users/{id}")],
        )
        .expect("server duration for the users route");
    assert_eq!(duration.unit, "s");
    assert_eq!(duration.value.count(), Some(3));
    assert!(duration.has(&[
        ("http.request.method", "GET"),
        ("url.scheme", "http"),
        ("http.response.status_code", "200"),
        ("network.protocol.version", "1.1"),
    ]));
    let PointValue::Histogram { bounds, .. } = &duration.value else {
        panic!("a histogram");
    };
    assert_eq!(
        bounds,
        &[0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0]
    );
    let client_duration = metrics
        .point(
            "http.client.request.duration",
            &[("server.port", &users_addr.port().to_string())],
        )
        .expect("client duration");
    assert_eq!(client_duration.value.count(), Some(3));
    assert!(client_duration.has(&[
        ("server.address", "127.0.0.1"),
        ("http.response.status_code", "200")
    ]));
    let size = metrics
        .point(
            "http.server.response.body.size",
            &[("http.route", "/users/{id}")],
        )
        .expect("response size");
    assert_eq!(size.unit, "By");
    assert_eq!(size.value.sum(), Some(12.0), "3 × \"user\"");
    let active = metrics
        .point(
            "http.server.active_requests",
            &[("http.request.method", "GET")],
        )
        .expect("active requests");
    assert_eq!(
        active.value.sum(),
        Some(0.0),
        "nothing in flight at the end"
    );
    assert!(
        active.attr("http.route").is_none(),
        "active requests carry method and scheme only"
    );
}

fn in_process_app(metrics: &MetricsCapture, layer: ServerLayer) -> Router {
    Router::new()
        .route("/orders/{id}", get(|| async { "order" }))
        .route(
            "/fail",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "down") }),
        )
        .route("/missing", get(|| async { (StatusCode::NOT_FOUND, "no") }))
        .route("/health", get(|| async { "ok" }))
        .route(
            "/panic",
            get(|| async {
                if true {
                    panic!("boom");
                }
                "unreachable"
            }),
        )
        .layer(layer.meter_provider(metrics.provider()))
}

/// A request that carries the capture's trace, so the server span lands in this test's capture.
fn request(uri: &str) -> Request<Body> {
    let mut headers = std::collections::HashMap::new();
    beacon::propagation::inject(&mut headers);
    let mut builder = Request::get(uri);
    for (k, v) in headers {
        builder = builder.header(k, v);
    }
    builder.body(Body::empty()).unwrap()
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Bytes) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    (
        status,
        response.into_body().collect().await.unwrap().to_bytes(),
    )
}

#[tokio::test]
async fn ten_thousand_distinct_ids_make_one_metric_series_and_one_span_name() {
    let metrics = MetricsCapture::new();
    let app = in_process_app(&metrics, ServerLayer::new());
    let cap = capture();
    for id in 0..10_000 {
        let (status, _) = send(&app, request(&format!("/orders/{id}"))).await;
        assert_eq!(status, StatusCode::OK);
    }
    let series = metrics.points("http.server.request.duration");
    assert_eq!(series.len(), 1, "{series:?}");
    assert_eq!(series[0].value.count(), Some(10_000));
    assert_eq!(text(series[0].attr("http.route")), "/orders/{id}");
    let spans = cap.spans();
    assert_eq!(spans.len(), 10_000);
    assert!(spans.iter().all(|s| s.name == "GET /orders/{id}"));
}

#[tokio::test]
async fn status_rules_unmatched_routes_excluded_paths_and_methods() {
    let metrics = MetricsCapture::new();
    let app = in_process_app(&metrics, ServerLayer::new());
    let cap = capture();

    send(&app, request("/fail")).await;
    let fail = cap.wait_for_span(span::named("GET /fail")).await.unwrap();
    assert!(fail.is_error(), "5xx is an error on the server");
    assert_eq!(text(fail.attr("error.type")), "503");

    send(&app, request("/missing")).await;
    let missing = cap
        .wait_for_span(span::named("GET /missing"))
        .await
        .unwrap();
    assert_eq!(
        missing.status,
        Status::Unset,
        "4xx is not an error on the server"
    );
    assert!(missing.attr("error.type").is_none());

    // No route matched: the span is named by the method only, never by the raw path.
    let (status, _) = send(&app, request("/no/such/path/123")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let unmatched = cap
        .wait_for_span(span::named("GET").kind(SpanKind::Server))
        .await
        .unwrap();
    assert!(unmatched.attr("http.route").is_none());
    assert_eq!(text(unmatched.attr("url.path")), "/no/such/path/123");

    let mut purge = request("/orders/1");
    *purge.method_mut() = http::Method::from_bytes(b"PURGE").unwrap();
    send(&app, purge).await;
    let other = cap
        .wait_for_span(span::named("HTTP /orders/{id}"))
        .await
        .unwrap();
    assert_eq!(text(other.attr("http.request.method")), "_OTHER");
    assert_eq!(text(other.attr("http.request.method_original")), "PURGE");

    // Health checks are excluded by default: no span, no metric.
    send(&app, request("/health")).await;
    cap.refute(span::named("GET /health")).unwrap();
    assert!(metrics
        .point("http.server.request.duration", &[("http.route", "/health")])
        .is_none());
    let errors = metrics
        .point("http.server.request.duration", &[("http.route", "/fail")])
        .unwrap();
    assert!(errors.has(&[("error.type", "503"), ("http.response.status_code", "503")]));
}

#[tokio::test]
async fn request_details_headers_and_the_trace_response() {
    let metrics = MetricsCapture::new();
    let layer = ServerLayer::new()
        .capture_request_headers(["x-request-id", "authorization", "cookie"])
        .capture_response_headers(["content-type"])
        .trace_response(true)
        .on_request(|parts, span| {
            use beacon::propagation::SpanExt as _;
            if let Some(tenant) = parts.headers.get("x-tenant").and_then(|v| v.to_str().ok()) {
                span.set_attribute("tenant.id", tenant.to_owned());
            }
        });
    let app = in_process_app(&metrics, layer);
    let cap = capture();
    let mut req = request("/orders/9?api_key=k3y&page=1");
    let headers = req.headers_mut();
    headers.insert("host", "shop.example:8443".parse().unwrap());
    headers.insert("user-agent", "curl/8.5".parse().unwrap());
    headers.insert("x-forwarded-for", "203.0.113.9, 10.0.0.2".parse().unwrap());
    headers.insert("x-request-id", "req-1".parse().unwrap());
    headers.insert("authorization", "Bearer t0psecret".parse().unwrap());
    headers.insert("cookie", "session=c00kie".parse().unwrap());
    headers.insert("x-tenant", "acme".parse().unwrap());
    let response = app.clone().oneshot(req).await.unwrap();
    let traceresponse = response.headers()["traceresponse"]
        .to_str()
        .unwrap()
        .to_owned();
    let timing = response.headers()["server-timing"]
        .to_str()
        .unwrap()
        .to_owned();
    response.into_body().collect().await.unwrap();

    let s = cap
        .wait_for_span(span::named("GET /orders/{id}"))
        .await
        .unwrap();
    assert_eq!(traceresponse, format!("00-{}-{}-01", s.trace_id, s.span_id));
    assert_eq!(timing, format!("traceparent;desc=\"{traceresponse}\""));
    assert_eq!(text(s.attr("server.address")), "shop.example");
    assert_eq!(s.attr("server.port"), Some(&Value::I64(8443)));
    assert_eq!(text(s.attr("client.address")), "203.0.113.9");
    assert_eq!(text(s.attr("user_agent.original")), "curl/8.5");
    assert_eq!(text(s.attr("url.query")), "api_key=REDACTED&page=1");
    assert_eq!(text(s.attr("tenant.id")), "acme");
    assert_eq!(
        s.attr("http.request.header.x-request-id"),
        Some(&Value::Array(
            vec![opentelemetry::StringValue::from("req-1")].into()
        ))
    );
    let all = format!("{s:?}");
    for secret in ["t0psecret", "c00kie", "k3y"] {
        assert!(!all.contains(secret), "{secret} leaked into {all}");
    }
    assert!(s.attr("http.request.header.authorization").is_some());
    assert!(s.attr("http.response.header.content-type").is_some());
}

#[tokio::test]
async fn a_panicking_handler_is_a_500_with_an_error_span_and_the_server_lives_on() {
    let metrics = MetricsCapture::new();
    let app = in_process_app(&metrics, ServerLayer::new().catch_panic(true));
    let cap = capture();
    let (status, _) = send(&app, request("/panic")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let s = cap.wait_for_span(span::named("GET /panic")).await.unwrap();
    assert_eq!(s.status, Status::error("panicked: boom"));
    assert_eq!(s.attr("http.response.status_code"), Some(&Value::I64(500)));
    assert_eq!(text(s.attr("error.type")), "500");
    // The same service still answers.
    let (status, _) = send(&app, request("/orders/1")).await;
    assert_eq!(status, StatusCode::OK);

    // Without catch_panic the panic still marks the span, then unwinds as before.
    let app = in_process_app(&metrics, ServerLayer::new());
    let task = tokio::spawn(app.oneshot(request("/panic")));
    assert!(task.await.unwrap_err().is_panic());
    let spans: Vec<_> = cap
        .spans()
        .into_iter()
        .filter(|s| s.name == "GET /panic")
        .collect();
    assert_eq!(spans.len(), 2);
    assert!(spans.iter().all(|s| s.is_error()));
}

#[tokio::test]
async fn a_streamed_response_is_timed_to_its_last_byte_and_an_abandoned_one_is_not_an_error() {
    let metrics = MetricsCapture::new();
    let (release_tx, release_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let release_rx = std::sync::Arc::new(tokio::sync::Mutex::new(release_rx));
    let app = Router::new()
        .route(
            "/stream",
            get(move || {
                let release_rx = std::sync::Arc::clone(&release_rx);
                async move {
                    let chunks = futures_stream(release_rx);
                    Body::from_stream(chunks)
                }
            }),
        )
        .layer(ServerLayer::new().meter_provider(metrics.provider()));
    let cap = capture();

    let response = app.clone().oneshot(request("/stream")).await.unwrap();
    let headers_at = Instant::now();
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(&first[..], b"first;");
    // The head and the first chunk are out, but the exchange is not over.
    cap.refute(span::named("GET /stream")).unwrap();
    // The span started before the head was out and cannot end before the release.
    let streamed_for = headers_at.elapsed();
    release_tx.send(()).unwrap();
    let rest = body.collect().await.unwrap().to_bytes();
    assert_eq!(&rest[..], b"last");
    let s = cap.wait_for_span(span::named("GET /stream")).await.unwrap();
    assert!(
        s.duration() >= streamed_for,
        "{:?} < {streamed_for:?}",
        s.duration()
    );
    let size = metrics
        .point(
            "http.server.response.body.size",
            &[("http.route", "/stream")],
        )
        .unwrap();
    assert_eq!(
        size.value.sum(),
        Some(10.0),
        "counted as streamed (no Content-Length)"
    );

    // A client that goes away after the first chunk: recorded, not an error.
    let response = app.clone().oneshot(request("/stream")).await.unwrap();
    let mut body = response.into_body();
    body.frame().await.unwrap().unwrap();
    drop(body);
    let spans: Vec<_> = cap
        .spans()
        .into_iter()
        .filter(|s| s.name == "GET /stream")
        .collect();
    assert_eq!(spans.len(), 2);
    let abandoned = &spans[1];
    assert_eq!(
        abandoned.attr("beacon.http.abandoned"),
        Some(&Value::Bool(true))
    );
    assert_eq!(abandoned.status, Status::Unset);
    let durations = metrics
        .point("http.server.request.duration", &[("http.route", "/stream")])
        .unwrap();
    assert_eq!(durations.value.count(), Some(2));
}

/// `first;`, then `last` once the test releases it.
fn futures_stream(
    release: std::sync::Arc<tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<()>>>,
) -> impl futures_core::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    let state = (0_u8, release);
    futures_util::stream::unfold(state, |(step, release)| async move {
        match step {
            0 => Some((Ok(Bytes::from_static(b"first;")), (1, release))),
            1 => {
                release.lock().await.recv().await?;
                Some((Ok(Bytes::from_static(b"last")), (2, release)))
            }
            _ => None,
        }
    })
}

#[tokio::test]
async fn client_errors_and_transport_failures_are_errors_on_the_client_span() {
    let metrics = MetricsCapture::new();
    let app = in_process_app(&metrics, ServerLayer::new());
    let addr = serve(app).await;
    let client = client(&metrics);
    let cap = capture();
    let (status, _) = get_text(&client, &format!("http://{addr}/missing")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let s = cap
        .wait_for_span(span::named("GET").kind(SpanKind::Client))
        .await
        .unwrap();
    assert!(s.is_error(), "4xx is an error on the client");
    assert_eq!(text(s.attr("error.type")), "404");

    // Nothing listens on this port any more.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let result = client
        .clone()
        .oneshot(
            Request::get(format!("http://{closed}/x"))
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await;
    assert!(result.is_err());
    let failed = cap
        .wait_for_span(
            span::named("GET")
                .kind(SpanKind::Client)
                .attr("server.port", i64::from(closed.port())),
        )
        .await
        .unwrap();
    assert!(failed.is_error());
    assert!(
        text(failed.attr("error.type")).contains("hyper_util"),
        "{failed}"
    );
    assert!(failed.attr("http.response.status_code").is_none());
}

#[tokio::test]
async fn hostile_propagation_headers_never_fail_the_request() {
    use beacon::propagation::SpanExt as _;
    use opentelemetry::baggage::BaggageExt as _;

    let metrics = MetricsCapture::new();
    let app = Router::new()
        .route(
            "/echo",
            get(|| async {
                let cx = tracing::Span::current().context();
                let state = cx.span().span_context().trace_state().header();
                format!(
                    "{};{}",
                    cx.baggage().len(),
                    state.split(',').filter(|m| !m.is_empty()).count()
                )
            }),
        )
        .layer(ServerLayer::new().meter_provider(metrics.provider()));
    use opentelemetry::trace::TraceContextExt as _;
    let cap = beacon_test::capture_global();
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let valid = format!("00-{trace}-00f067aa0ba902b7-01");
    let many_members = (0..100)
        .map(|i| format!("k{i}=v"))
        .collect::<Vec<_>>()
        .join(",");
    let many_baggage = (0..100)
        .map(|i| format!("b{i}=v"))
        .collect::<Vec<_>>()
        .join(",");
    let huge_baggage = format!("big={}", "x".repeat(9000));
    type Case<'a> = (&'a str, Vec<(&'a str, String)>, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (
            "invalid traceparent starts a new trace",
            vec![("traceparent", "00-zz-00-01".into())],
            "0;0",
        ),
        (
            "two traceparents are none",
            vec![
                ("traceparent", valid.clone()),
                ("traceparent", valid.clone()),
            ],
            "0;0",
        ),
        (
            "100 tracestate members: dropped whole",
            vec![("traceparent", valid.clone()), ("tracestate", many_members)],
            "0;0",
        ),
        (
            "100 baggage members: the first 64 kept",
            vec![("baggage", many_baggage)],
            "64;0",
        ),
        (
            "two baggage headers: one list",
            vec![("baggage", "a=1,b=2".into()), ("baggage", "c=3".into())],
            "3;0",
        ),
        (
            "9000-byte baggage: dropped",
            vec![("baggage", huge_baggage)],
            "0;0",
        ),
        (
            "non-UTF-8 header bytes",
            vec![("traceparent", "00-\u{fffd}".into())],
            "0;0",
        ),
    ];
    for (what, headers, expected) in cases {
        let mut request = Request::get("/echo");
        for (k, v) in &headers {
            request = request.header(*k, v.as_str());
        }
        let (status, body) = send(&app, request.body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{what}");
        assert_eq!(std::str::from_utf8(&body).unwrap(), expected, "{what}");
    }
    let spans: Vec<_> = cap
        .spans()
        .into_iter()
        .filter(|s| s.name == "GET /echo")
        .collect();
    assert_eq!(spans.len(), 7);
    let joined = spans
        .iter()
        .filter(|s| s.trace_id.to_string() == trace)
        .count();
    assert_eq!(
        joined, 1,
        "only the request with one valid traceparent and a bad tracestate continued the trace"
    );
}
