//! A tonic server and client, both instrumented: one trace across the call.
//!
//! ```text
//! cargo run -p beacon-examples --example grpc
//! ```
//!
//! The server is tonic's standard health service behind `GrpcServerLayer`; the client calls
//! `grpc.health.v1.Health/Check` through a channel wrapped in `GrpcClientLayer`, once for a
//! service that is serving and once for one that does not exist (NOT_FOUND: an error on the
//! client span, not on the server's).

use std::time::Duration;

use beacon_middleware::grpc::{GrpcClientLayer, GrpcServerLayer};
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let telemetry = beacon::builder()
        .service_name("grpc-example")
        .traces_exporter(beacon::config::Exporter::Console)
        .metrics_exporter(beacon::config::Exporter::None)
        .logs_exporter(beacon::config::Exporter::None)
        .span_batch(beacon::config::BatchConfig {
            scheduled_delay: Duration::from_millis(100),
            ..Default::default()
        })
        .try_init()?;

    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("shop.Orders", tonic_health::ServingStatus::Serving)
        .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(
        tonic::transport::Server::builder()
            // The services it serves: calls to any other path are counted as `_OTHER`.
            .layer(GrpcServerLayer::new().known_services(["grpc.health.v1.Health"]))
            .add_service(health)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
        .connect()
        .await?;
    let channel = tower::ServiceBuilder::new()
        .layer(GrpcClientLayer::new().server("127.0.0.1", addr.port()))
        .service(channel);
    let mut client = HealthClient::new(channel);
    for service in ["shop.Orders", "shop.Unknown"] {
        let answer = client
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await;
        match answer {
            Ok(r) => println!("{service}: status {}", r.into_inner().status),
            Err(status) => println!("{service}: {:?}", status.code()),
        }
    }

    let stats = telemetry.shutdown()?;
    println!(
        "exported {} spans, {} lost",
        stats.traces.exported,
        stats.lost()
    );
    Ok(())
}
