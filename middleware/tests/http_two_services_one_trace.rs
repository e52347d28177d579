//! Two axum services on loopback, the first calling the second through `ClientLayer`: one
//! trace, the right parents, semconv attributes and metrics on both sides; client-side error
//! rules.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use axum::routing::get;
use axum::Router;
use beacon_middleware::http::ServerLayer;
use beacon_test::{capture, span, MetricsCapture, PointValue};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::Value;
use support::*;
use tower::ServiceExt as _;

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

/// HTTP semantic conventions (v1.44), client spans and `http.client.*` metrics: `url.scheme`
/// is Opt-In (`url.full` carries it), and `network.protocol.version` is "the actual version of
/// the protocol used for network communication" — the one the connection negotiated, which
/// the response carries, not the one the request asked for.
#[tokio::test]
async fn client_spans_record_the_negotiated_version_and_url_scheme_only_when_asked() {
    // A client whose connection negotiated HTTP/2 under a request built as HTTP/1.1 (as a
    // hyper client does after ALPN): the response comes back as HTTP/2.
    let negotiated = tower::service_fn(|_req: Request<Full<Bytes>>| async {
        let response = http::Response::builder()
            .version(http::Version::HTTP_2)
            .body(Full::new(Bytes::from_static(b"ok")))
            .unwrap();
        Ok::<_, std::convert::Infallible>(response)
    });
    for opt_in in [false, true] {
        let metrics = MetricsCapture::new();
        let client = tower::ServiceBuilder::new()
            .layer(
                beacon_middleware::http::ClientLayer::new()
                    .meter_provider(metrics.provider())
                    .record_url_scheme(opt_in),
            )
            .service(negotiated);
        let cap = capture();
        let request = Request::get("https://stock.internal/items/7")
            .version(http::Version::HTTP_11)
            .body(Full::new(Bytes::new()))
            .unwrap();
        let response = client.oneshot(request).await.unwrap();
        http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap();
        let s = cap
            .wait_for_span(span::named("GET").kind(SpanKind::Client))
            .await
            .unwrap();
        assert_eq!(text(s.attr("network.protocol.version")), "2");
        assert_eq!(s.attr("url.scheme").is_some(), opt_in, "{s}");
        let duration = metrics
            .point("http.client.request.duration", &[])
            .expect("client duration");
        assert!(
            duration.has(&[("network.protocol.version", "2")]),
            "{duration:?}"
        );
        assert_eq!(duration.attr("url.scheme").is_some(), opt_in);
    }
}
