//! A gRPC call answered with an HTTP error status and no `grpc-status` (what a proxy or a load
//! balancer in front of the server sends) is recorded with the gRPC status gRPC's HTTP-to-status
//! mapping gives it, on the client and on the server.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use std::convert::Infallible;

use beacon_middleware::grpc::{GrpcClientLayer, GrpcServerLayer};
use beacon_test::{capture, span};
use http_body_util::BodyExt as _;
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::Value;
use tower::{Layer as _, ServiceExt as _};

/// A peer that answers every call with `status` and no gRPC status.
fn answering(
    status: u16,
) -> impl tower::Service<
    http::Request<String>,
    Response = http::Response<String>,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    tower::service_fn(move |_req: http::Request<String>| async move {
        Ok::<_, Infallible>(
            http::Response::builder()
                .status(status)
                .header("content-type", "text/html")
                .body("<html>no</html>".to_owned())
                .unwrap(),
        )
    })
}

fn call() -> http::Request<String> {
    http::Request::post("http://127.0.0.1:50051/shop.Orders/Place")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(String::new())
        .unwrap()
}

/// A call arriving at a server from a caller in `cap`'s trace (a server span starts from the
/// caller's context, so this puts it in the capture).
fn incoming(cap: &beacon_test::Capture) -> http::Request<String> {
    let mut request = call();
    let traceparent = format!("00-{}-00f067aa0ba902b7-01", cap.trace_id().unwrap());
    request
        .headers_mut()
        .insert("traceparent", traceparent.parse().unwrap());
    request
}

/// gRPC `doc/http-grpc-status-mapping.md`: "This table is to be used _only_ for clients that
/// received a response that did not include grpc-status" — 503 Service Unavailable is
/// UNAVAILABLE (14), 401 UNAUTHENTICATED (16), 404 UNIMPLEMENTED (12), any other code UNKNOWN
/// (2). Before, such a call had `error.type` = the HTTP code and no gRPC status at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_maps_an_http_error_without_grpc_status_to_the_grpc_code() {
    let cap = capture();
    for (http, grpc) in [(503_u16, 14_i64), (401, 16), (418, 2)] {
        let client = GrpcClientLayer::new()
            .server("127.0.0.1", 50051)
            .layer(answering(http));
        let response = client.oneshot(call()).await.unwrap();
        assert_eq!(response.status().as_u16(), http);
        let _ = response.into_body().collect().await;
        let recorded = cap
            .wait_for_span(
                span::named("shop.Orders/Place")
                    .kind(SpanKind::Client)
                    .attr("rpc.grpc.status_code", grpc),
            )
            .await
            .unwrap();
        // On a client every status but OK is an error.
        assert!(recorded.is_error(), "{recorded}");
        assert!(
            matches!(&recorded.status, Status::Error { description } if description.contains(&http.to_string())),
            "{recorded}"
        );
    }
}

/// The same mapping on the server side: the status the client will infer. 401 is
/// UNAUTHENTICATED, not an error on a server (semantic-conventions `docs/rpc/grpc.md`: only
/// UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE and DATA_LOSS are), and a
/// 502 is UNAVAILABLE, which is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_records_the_grpc_code_its_http_error_maps_to() {
    let cap = capture();
    let server = GrpcServerLayer::new().layer(answering(401));
    let response = server.oneshot(incoming(&cap)).await.unwrap();
    let _ = response.into_body().collect().await;
    let unauthenticated = cap
        .wait_for_span(
            span::named("shop.Orders/Place")
                .kind(SpanKind::Server)
                .attr("rpc.grpc.status_code", 16_i64),
        )
        .await
        .unwrap();
    assert_eq!(unauthenticated.status, Status::Unset, "{unauthenticated}");
    assert_eq!(unauthenticated.attr("error.type"), None::<&Value>);

    let server = GrpcServerLayer::new().layer(answering(502));
    let response = server.oneshot(incoming(&cap)).await.unwrap();
    let _ = response.into_body().collect().await;
    let unavailable = cap
        .wait_for_span(
            span::named("shop.Orders/Place")
                .kind(SpanKind::Server)
                .attr("rpc.grpc.status_code", 14_i64),
        )
        .await
        .unwrap();
    assert!(unavailable.is_error(), "{unavailable}");
}
