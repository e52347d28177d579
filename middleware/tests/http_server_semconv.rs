//! `ServerLayer` in process: bounded cardinality, status rules, unmatched routes, excluded
//! paths, method normalisation, request details, header capture, the trace response, panics.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use beacon_middleware::http::ServerLayer;
use beacon_test::{capture, span, MetricsCapture};
use http::StatusCode;
use http_body_util::BodyExt as _;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::Value;
use support::*;
use tower::ServiceExt as _;

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

/// HTTP semantic conventions (v1.44), `http.request.method` note [1]: an instrumentation that
/// could turn valid methods into `_OTHER` "MUST provide a way to override the list of known
/// HTTP methods", and the list "MUST be a full override of the default known method".
#[tokio::test]
async fn the_known_methods_can_be_replaced() {
    let metrics = MetricsCapture::new();
    let app = in_process_app(&metrics, ServerLayer::new().known_methods(["GET", "PURGE"]));
    let cap = capture();
    let mut purge = request("/orders/1");
    *purge.method_mut() = http::Method::from_bytes(b"PURGE").unwrap();
    send(&app, purge).await;
    let purged = cap
        .wait_for_span(span::named("PURGE /orders/{id}"))
        .await
        .unwrap();
    assert_eq!(text(purged.attr("http.request.method")), "PURGE");
    assert!(purged.attr("http.request.method_original").is_none());
    // Not in the list any more: POST is `_OTHER` now.
    let mut post = request("/orders/1");
    *post.method_mut() = http::Method::POST;
    send(&app, post).await;
    let other = cap
        .wait_for_span(span::named("HTTP /orders/{id}"))
        .await
        .unwrap();
    assert_eq!(text(other.attr("http.request.method")), "_OTHER");
    assert_eq!(text(other.attr("http.request.method_original")), "POST");
    assert!(metrics
        .point(
            "http.server.request.duration",
            &[("http.request.method", "PURGE")]
        )
        .is_some());
}

#[tokio::test]
async fn request_details_headers_and_the_trace_response() {
    let metrics = MetricsCapture::new();
    let layer = ServerLayer::new()
        .capture_request_headers(["x-request-id", "authorization", "cookie"])
        .capture_response_headers(["content-type"])
        .trace_response(true)
        .trusted_proxies(["10.0.0.0/8"
            .parse::<beacon_middleware::http::IpNet>()
            .unwrap()])
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
    headers.insert("x-tenant", "acme".parse().unwrap());
    headers.insert("authorization", "Bearer t0psecret".parse().unwrap());
    headers.insert("cookie", "session=c00kie".parse().unwrap());
    // From a trusted proxy (the layer trusts 10.0.0.0/8), as axum's ConnectInfo gives the peer.
    let peer: std::net::SocketAddr = "10.0.0.3:4711".parse().unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(peer));
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
    // Sampled, and random: the trace id is Beacon's (W3C Trace Context Level 2).
    assert_eq!(traceresponse, format!("00-{}-{}-03", s.trace_id, s.span_id));
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
    // The client never got a status code, so none is recorded: the span and the duration say
    // what happened instead, `error.type` = `panic`.
    let uncaught = &spans[1];
    assert_eq!(
        uncaught.attr("http.response.status_code"),
        None,
        "{uncaught}"
    );
    assert_eq!(text(uncaught.attr("error.type")), "panic");
    assert_eq!(uncaught.status, Status::error("panicked: boom"));
    let points = metrics.points("http.server.request.duration");
    let panicked: Vec<_> = points
        .iter()
        .filter(|p| p.has(&[("http.route", "/panic"), ("error.type", "panic")]))
        .collect();
    assert_eq!(panicked.len(), 1, "{points:#?}");
    assert_eq!(panicked[0].attr("http.response.status_code"), None);
    assert_eq!(panicked[0].value.count(), Some(1));
}

/// One layer over a whole service (not axum's per-route layering): every request names its own
/// route, whichever route and method came before it.
#[tokio::test]
async fn one_layer_over_many_routes_names_each_request_by_its_own_route() {
    use std::borrow::Cow;
    let metrics = MetricsCapture::new();
    let layer = ServerLayer::new()
        .meter_provider(metrics.provider())
        .route_with(|parts| {
            let first = parts.uri.path().split('/').nth(1)?;
            Some(Cow::Owned(format!("/{first}/{{id}}")))
        });
    let service = tower::ServiceBuilder::new()
        .layer(layer)
        .service(tower::service_fn(
            |_: http::Request<axum::body::Body>| async {
                Ok::<_, std::convert::Infallible>(http::Response::new(axum::body::Body::from("ok")))
            },
        ));
    let cap = capture();
    let sends = [
        ("GET", "/a/1"),
        ("GET", "/b/2"),
        ("POST", "/a/3"),
        ("GET", "/a/4"),
        ("POST", "/b/5"),
        ("GET", "/b/6"),
    ];
    for (method, path) in sends {
        let mut req = request(path);
        *req.method_mut() = method.parse().unwrap();
        let response = service.clone().oneshot(req).await.unwrap();
        response.into_body().collect().await.unwrap();
    }
    let mut names: Vec<String> = cap
        .spans()
        .into_iter()
        .map(|s| s.name.to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "GET /a/{id}",
            "GET /a/{id}",
            "GET /b/{id}",
            "GET /b/{id}",
            "POST /a/{id}",
            "POST /b/{id}"
        ]
    );
    let mut series: Vec<(String, String, u64)> = metrics
        .points("http.server.request.duration")
        .iter()
        .map(|p| {
            (
                text(p.attr("http.request.method")),
                text(p.attr("http.route")),
                p.value.count().unwrap(),
            )
        })
        .collect();
    series.sort();
    assert_eq!(
        series,
        [
            ("GET".into(), "/a/{id}".into(), 2),
            ("GET".into(), "/b/{id}".into(), 2),
            ("POST".into(), "/a/{id}".into(), 1),
            ("POST".into(), "/b/{id}".into(), 1),
        ]
    );
}

/// The server records each route's series through bound handles (see `BoundRoute`): every
/// status keeps its own series, active requests return to zero, body sizes add up, and a route
/// with more series than it binds records the rest unbound, to the same totals.
#[tokio::test]
async fn bound_series_count_every_request_in_its_own_series() {
    use axum::routing::get;
    let metrics = MetricsCapture::new();
    let app = axum::Router::new()
        .route(
            "/by-status/{code}",
            get(
                |axum::extract::Path(code): axum::extract::Path<u16>| async move {
                    (StatusCode::from_u16(code).unwrap(), "body!")
                },
            ),
        )
        .layer(ServerLayer::new().meter_provider(metrics.provider()))
        // As `axum::serve` does: each route's service is built once and reused.
        .with_state(());
    // 12 distinct statuses (more than a route binds), each requested 5 times, interleaved.
    let codes: Vec<u16> = (0..12)
        .map(|i| [200, 201, 202, 204, 400, 401, 403, 404, 409, 500, 502, 503][i])
        .collect();
    for _ in 0..5 {
        for code in &codes {
            let (status, _) = send(&app, request(&format!("/by-status/{code}"))).await;
            assert_eq!(status.as_u16(), *code);
        }
    }
    let series = metrics.points("http.server.request.duration");
    assert_eq!(series.len(), codes.len(), "{series:?}");
    for code in &codes {
        let point = series
            .iter()
            .find(|p| p.attr("http.response.status_code") == Some(&Value::I64(i64::from(*code))))
            .unwrap_or_else(|| panic!("no series for {code}: {series:?}"));
        assert_eq!(point.value.count(), Some(5), "{code}");
        assert_eq!(text(point.attr("http.route")), "/by-status/{code}");
        let error = point.attr("error.type").map(|v| text(Some(v)));
        assert_eq!(error, (*code >= 500).then(|| code.to_string()), "{code}");
    }
    let sizes = metrics.points("http.server.response.body.size");
    assert_eq!(sizes.len(), codes.len());
    let total: f64 = sizes.iter().filter_map(|p| p.value.sum()).sum();
    assert_eq!(total, (5 * codes.len() * "body!".len()) as f64);
    let active = metrics.points("http.server.active_requests");
    assert_eq!(active.len(), 1, "{active:?}");
    assert_eq!(active[0].value.sum(), Some(0.0));
}

/// A service that panics in `call` itself (not in its future), and work done in `call` by a
/// service inside the layer: both happen inside the server span, as the handler's work does.
#[tokio::test]
async fn a_service_panicking_in_call_is_caught_and_work_in_call_is_inside_the_span() {
    use std::borrow::Cow;
    use std::future::Ready;
    use std::task::{Context, Poll};

    #[derive(Clone)]
    struct Sync(bool);
    impl tower::Service<http::Request<axum::body::Body>> for Sync {
        type Response = http::Response<axum::body::Body>;
        type Error = std::convert::Infallible;
        type Future = Ready<Result<Self::Response, Self::Error>>;
        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, _: http::Request<axum::body::Body>) -> Self::Future {
            assert!(!self.0, "boom in call");
            tracing::info_span!("work in call").in_scope(|| {});
            std::future::ready(Ok(http::Response::new(axum::body::Body::from("ok"))))
        }
    }
    let metrics = MetricsCapture::new();
    let layer = |panics| {
        tower::ServiceBuilder::new()
            .layer(
                ServerLayer::new()
                    .meter_provider(metrics.provider())
                    .route_with(|_| Some(Cow::Borrowed("/sync")))
                    .catch_panic(true),
            )
            .service(Sync(panics))
    };
    let cap = capture();
    let response = layer(false).oneshot(request("/sync")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.into_body().collect().await.unwrap();
    let server = cap.wait_for_span(span::named("GET /sync")).await.unwrap();
    let inner = cap
        .wait_for_span(span::named("work in call"))
        .await
        .unwrap();
    assert_eq!(
        inner.parent_span_id, server.span_id,
        "work in call is a child of the server span"
    );

    let response = layer(true).oneshot(request("/sync")).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    response.into_body().collect().await.unwrap();
    cap.wait_for_span(span::named("GET /sync").error())
        .await
        .unwrap();
    let failed: Vec<_> = cap
        .spans()
        .into_iter()
        .filter(|s| s.name == "GET /sync" && s.is_error())
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].status, Status::error("panicked: boom in call"));
}

/// The layer calls the service that `poll_ready` readied, on the response future's first
/// poll: readiness (here a concurrency permit) goes with the request, and a response future
/// dropped before it was polled gives it back.
#[tokio::test]
async fn readiness_goes_with_the_request_and_comes_back_when_it_is_dropped() {
    use futures_util::FutureExt as _;
    use std::borrow::Cow;
    use tower::{Service as _, ServiceExt as _};
    let metrics = MetricsCapture::new();
    let mut service = tower::ServiceBuilder::new()
        .layer(
            ServerLayer::new()
                .meter_provider(metrics.provider())
                .route_with(|_| Some(Cow::Borrowed("/limited"))),
        )
        .concurrency_limit(1)
        .service(tower::service_fn(
            |_: http::Request<axum::body::Body>| async {
                Ok::<_, std::convert::Infallible>(http::Response::new(axum::body::Body::from("ok")))
            },
        ));
    let first = service.ready().await.unwrap().call(request("/limited"));
    assert!(
        service.ready().now_or_never().is_none(),
        "the one permit is held by the first request"
    );
    drop(first);
    let response = service
        .ready()
        .await
        .unwrap()
        .call(request("/limited"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.into_body().collect().await.unwrap();
    // The dropped request was counted as abandoned; both left `active_requests` at zero.
    let active = metrics.points("http.server.active_requests");
    assert_eq!(active[0].value.sum(), Some(0.0), "{active:?}");
    // One duration per request: the dropped one without a status code (it got none).
    let durations = metrics.points("http.server.request.duration");
    let counts: Vec<(Option<&Value>, Option<u64>)> = durations
        .iter()
        .map(|p| (p.attr("http.response.status_code"), p.value.count()))
        .collect();
    assert_eq!(counts.len(), 2, "{counts:?}");
    assert!(counts.contains(&(None, Some(1))), "{counts:?}");
    assert!(
        counts.contains(&(Some(&Value::I64(200)), Some(1))),
        "{counts:?}"
    );
}
