//! The gRPC layers around a real tonic server (the standard health service) and a tonic
//! channel on loopback: one trace across client and server, RPC conventions, status mapping.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use beacon_middleware::grpc::{GrpcClientLayer, GrpcServerLayer};
use beacon_test::{capture, span, MetricsCapture};
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::Value;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

fn text(v: Option<&Value>) -> String {
    v.map(|v| v.as_str().into_owned()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_is_one_trace_with_rpc_spans_status_mapping_and_duration() {
    let metrics = MetricsCapture::new();
    let (channel, reporter) = serve_and_connect(
        GrpcServerLayer::new().meter_provider(metrics.provider()),
        GrpcClientLayer::new().meter_provider(metrics.provider()),
    )
    .await;
    reporter
        .set_service_status("shop.Orders", tonic_health::ServingStatus::Serving)
        .await;
    let mut client = HealthClient::new(channel.clone());

    let cap = capture();
    let ok = client
        .check(HealthCheckRequest {
            service: "shop.Orders".into(),
        })
        .await
        .unwrap();
    assert_eq!(ok.into_inner().status, 1, "SERVING");
    let missing = client
        .check(HealthCheckRequest {
            service: "shop.Nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);

    let server = cap
        .wait_for_span(
            span::named("grpc.health.v1.Health/Check")
                .kind(SpanKind::Server)
                .attr("rpc.grpc.status_code", 0_i64),
        )
        .await
        .unwrap();
    let client_span = cap
        .wait_for_span(
            span::named("grpc.health.v1.Health/Check")
                .kind(SpanKind::Client)
                .attr("rpc.grpc.status_code", 0_i64),
        )
        .await
        .unwrap();
    assert_eq!(server.trace_id, cap.trace_id().unwrap());
    assert_eq!(
        server.parent_span_id, client_span.span_id,
        "context travelled in the metadata"
    );
    for (key, expected) in [
        ("rpc.system", "grpc"),
        ("rpc.service", "grpc.health.v1.Health"),
        ("rpc.method", "Check"),
    ] {
        assert_eq!(text(server.attr(key)), expected, "{key}");
        assert_eq!(text(client_span.attr(key)), expected, "{key}");
    }
    assert_eq!(text(client_span.attr("server.address")), "127.0.0.1");
    assert_eq!(server.status, Status::Unset);

    // NOT_FOUND (5) is the caller's problem: an error on the client, not on the server.
    let server_nf = cap
        .wait_for_span(
            span::named("grpc.health.v1.Health/Check")
                .kind(SpanKind::Server)
                .attr("rpc.grpc.status_code", 5_i64),
        )
        .await
        .unwrap();
    assert_eq!(server_nf.status, Status::Unset);
    let client_nf = cap
        .wait_for_span(
            span::named("grpc.health.v1.Health/Check")
                .kind(SpanKind::Client)
                .attr("rpc.grpc.status_code", 5_i64),
        )
        .await
        .unwrap();
    assert!(client_nf.is_error(), "{client_nf}");

    // UNIMPLEMENTED (12) is an error on both sides, and a method nobody can confirm: `_OTHER`,
    // with the path only in `rpc.method_original`.
    call_unimplemented(channel).await;
    let server_unimpl = cap
        .wait_for_span(span::named("grpc").kind(SpanKind::Server))
        .await
        .unwrap();
    assert!(server_unimpl.is_error());
    assert_eq!(
        server_unimpl.attr("rpc.grpc.status_code"),
        Some(&Value::I64(12))
    );
    assert_eq!(text(server_unimpl.attr("rpc.method")), "_OTHER");
    assert_eq!(text(server_unimpl.attr("rpc.service")), "_OTHER");
    assert_eq!(
        text(server_unimpl.attr("rpc.method_original")),
        "shop.Orders/Cancel"
    );

    let duration = metrics
        .point(
            "rpc.server.duration",
            &[("rpc.method", "Check"), ("rpc.grpc.status_code", "0")],
        )
        .expect("server duration");
    assert_eq!(duration.unit, "ms");
    assert_eq!(duration.value.count(), Some(1));
    let client_duration = metrics
        .point(
            "rpc.client.duration",
            &[("rpc.method", "Check"), ("rpc.grpc.status_code", "5")],
        )
        .expect("client duration");
    assert_eq!(client_duration.value.count(), Some(1));
}

type Channel = beacon_middleware::grpc::GrpcClientService<tonic::transport::Channel>;

/// A tonic health server on loopback behind `server`, and a channel to it behind `client`
/// (told the server's address); `reporter` sets what the health service answers.
async fn serve_and_connect(
    server: GrpcServerLayer,
    client: GrpcClientLayer,
) -> (Channel, tonic_health::server::HealthReporter) {
    let (reporter, health) = tonic_health::server::health_reporter();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = tonic::transport::Server::builder()
        .layer(server)
        .add_service(health)
        .serve_with_incoming(tokio_stream_from(listener));
    tokio::spawn(serving);
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let channel = tower::ServiceBuilder::new()
        .layer(client.server("127.0.0.1", addr.port()))
        .service(channel);
    (channel, reporter)
}

/// Calls `/shop.Orders/Cancel`, which the health server does not implement.
async fn call_unimplemented(channel: Channel) {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let status = grpc
        .unary::<HealthCheckRequest, HealthCheckRequest, _>(
            tonic::Request::new(HealthCheckRequest::default()),
            http::uri::PathAndQuery::from_static("/shop.Orders/Cancel"),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unimplemented);
}

fn tokio_stream_from(
    listener: tokio::net::TcpListener,
) -> impl futures_core::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures_util::stream::unfold(listener, |listener| async move {
        let accepted = listener.accept().await.map(|(stream, _)| stream);
        Some((accepted, listener))
    })
}

/// `rpc` (stable) and `rpc/dup` (both) from `OTEL_SEMCONV_STABILITY_OPT_IN`, chosen here with
/// `.conventions(…)` so the test does not depend on the process environment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stable_and_dup_rpc_conventions() {
    use beacon_middleware::grpc::RpcConventions;
    for conventions in [RpcConventions::Stable, RpcConventions::Both] {
        let metrics = MetricsCapture::new();
        let (channel, _reporter) = serve_and_connect(
            GrpcServerLayer::new()
                .meter_provider(metrics.provider())
                .conventions(conventions),
            GrpcClientLayer::new()
                .conventions(conventions)
                .meter_provider(metrics.provider()),
        )
        .await;
        let cap = capture();
        call_unimplemented(channel).await;

        let server = cap
            .wait_for_span(
                span::named("grpc")
                    .kind(SpanKind::Server)
                    .attr("rpc.response.status_code", "UNIMPLEMENTED"),
            )
            .await
            .unwrap();
        assert!(server.is_error());
        assert_eq!(text(server.attr("rpc.system.name")), "grpc");
        assert_eq!(text(server.attr("rpc.method")), "_OTHER");
        assert_eq!(
            text(server.attr("rpc.method_original")),
            "shop.Orders/Cancel"
        );
        assert_eq!(text(server.attr("error.type")), "UNIMPLEMENTED");
        let both = conventions == RpcConventions::Both;
        assert_eq!(
            server.attr("rpc.grpc.status_code").is_some(),
            both,
            "{conventions:?}"
        );
        assert_eq!(server.attr("rpc.system").is_some(), both, "{conventions:?}");

        let stable = metrics
            .point(
                "rpc.server.call.duration",
                &[
                    ("rpc.system.name", "grpc"),
                    ("rpc.method", "_OTHER"),
                    ("rpc.response.status_code", "UNIMPLEMENTED"),
                    ("error.type", "UNIMPLEMENTED"),
                ],
            )
            .expect("stable server duration");
        assert_eq!(stable.unit, "s");
        assert_eq!(stable.value.count(), Some(1));
        assert!(metrics
            .point(
                "rpc.client.call.duration",
                &[("rpc.method", "_OTHER"), ("server.address", "127.0.0.1")],
            )
            .is_some());
        let legacy = metrics.point(
            "rpc.server.duration",
            &[("rpc.method", "_OTHER"), ("rpc.grpc.status_code", "12")],
        );
        assert_eq!(legacy.is_some(), both, "{conventions:?}");
    }
}

/// A caller that sends random paths cannot mint metric series: every call the server does not
/// route is counted under `rpc.method` = `_OTHER` (the RPC conventions' rule for methods the
/// instrumentation cannot confirm), with the path only on the span, bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_grpc_paths_share_one_other_series() {
    for listed in [false, true] {
        let metrics = MetricsCapture::new();
        let mut server = GrpcServerLayer::new().meter_provider(metrics.provider());
        if listed {
            server = server.known_services(["grpc.health.v1.Health"]);
        }
        let (channel, reporter) = serve_and_connect(
            server,
            GrpcClientLayer::new().meter_provider(metrics.provider()),
        )
        .await;
        reporter
            .set_service_status("shop.Orders", tonic_health::ServingStatus::Serving)
            .await;
        let cap = capture();
        let long = "x".repeat(10_000);
        for i in 0..200 {
            let path = format!("/attack{i}.Svc{long}/M{i}");
            let mut grpc = tonic::client::Grpc::new(channel.clone());
            grpc.ready().await.unwrap();
            let status = grpc
                .unary::<HealthCheckRequest, HealthCheckRequest, _>(
                    tonic::Request::new(HealthCheckRequest::default()),
                    path.parse().unwrap(),
                    tonic_prost::ProstCodec::default(),
                )
                .await
                .unwrap_err();
            assert_eq!(status.code(), tonic::Code::Unimplemented);
        }
        HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: "shop.Orders".into(),
            })
            .await
            .unwrap();

        let series = metrics.points("rpc.server.duration");
        assert_eq!(series.len(), 2, "listed={listed}: {series:#?}");
        let other = metrics
            .point("rpc.server.duration", &[("rpc.method", "_OTHER")])
            .expect("the _OTHER series");
        assert_eq!(other.value.count(), Some(200));
        assert_eq!(text(other.attr("rpc.service")), "_OTHER");
        let check = metrics
            .point("rpc.server.duration", &[("rpc.method", "Check")])
            .expect("the real method keeps its name");
        assert_eq!(check.value.count(), Some(1));

        let attack = cap
            .wait_for_span(span::named("grpc").kind(SpanKind::Server))
            .await
            .unwrap();
        let original = text(attack.attr("rpc.method_original"));
        assert!(original.starts_with("attack"), "{original}");
        assert!(original.len() <= 256, "bounded: {} bytes", original.len());
        assert!(
            !attack.name.contains("attack"),
            "the path is never the span name"
        );
    }
}
