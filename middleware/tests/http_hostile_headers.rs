//! Malformed and hostile propagation headers never fail a request.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use beacon_middleware::http::ServerLayer;
use beacon_test::MetricsCapture;
use http::{Request, StatusCode};
use support::*;

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
