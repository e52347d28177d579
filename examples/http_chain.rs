//! Two instrumented axum services, one calling the other: one trace across both.
//!
//! ```text
//! cargo run -p beacon-examples --example http_chain
//! BEACON_HUB=true cargo run -p beacon-examples --example http_chain   # and into the live hub
//! ```
//!
//! `gateway` serves `/orders/{id}`; its handler calls `inventory` (`/stock/{sku}`) twice
//! through a hyper client wrapped in `ClientLayer`. Every span is printed: the gateway's
//! server span, two client spans under it, and inventory's two server spans under those, all
//! with one trace id.
//!
//! With `BEACON_HUB=true` the spans also go to an in-process hub, whose API (`/api/traces/{id}`)
//! is served on a loopback port it prints; it then reads the trace back from the hub and prints
//! its spans with their parents.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use beacon_middleware::http::{ClientLayer, ClientService, ServerLayer};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use tower::ServiceExt as _;

type HttpClient = ClientService<Client<HttpConnector, Full<Bytes>>>;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let telemetry = beacon::builder()
        .service_name("http-chain")
        .traces_exporter(beacon::config::Exporter::Console)
        .metrics_exporter(beacon::config::Exporter::None)
        .logs_exporter(beacon::config::Exporter::None)
        .span_batch(beacon::config::BatchConfig {
            scheduled_delay: Duration::from_millis(100),
            ..Default::default()
        })
        .try_init()?;

    // Layers are created after init: they use the global meter provider and propagator.
    let inventory = Router::new()
        .route(
            "/stock/{sku}",
            get(|Path(sku): Path<String>| async move { format!("{sku}: 3 left") }),
        )
        .layer(ServerLayer::new());
    let inventory_addr = serve(inventory).await?;

    let client: HttpClient = tower::ServiceBuilder::new()
        .layer(ClientLayer::new())
        .service(Client::builder(TokioExecutor::new()).build_http());
    let gateway = Router::new()
        .route(
            "/orders/{id}",
            get(move |Path(id): Path<u64>| {
                let client = client.clone();
                async move {
                    let mut lines = vec![format!("order {id}")];
                    for sku in ["apple", "pear"] {
                        let url = format!("http://{inventory_addr}/stock/{sku}");
                        lines.push(fetch(&client, &url).await.unwrap_or_else(|e| e.to_string()));
                    }
                    lines.join("\n")
                }
            }),
        )
        .layer(ServerLayer::new());
    let gateway_addr = serve(gateway).await?;

    let caller: HttpClient = tower::ServiceBuilder::new()
        .layer(ClientLayer::new())
        .service(Client::builder(TokioExecutor::new()).build_http());
    let answer = fetch(&caller, &format!("http://{gateway_addr}/orders/42")).await?;
    println!("gateway answered:\n{answer}\n");

    if let Some(hub) = telemetry.hub().cloned() {
        let api = serve(beacon_viewer::router(
            hub.clone(),
            beacon_viewer::ViewerConfig::default(),
        ))
        .await?;
        telemetry.flush()?;
        let newest = hub.traces(&beacon::hub::query::TraceQuery {
            service: Some("http-chain".into()),
            limit: Some(1),
            ..Default::default()
        });
        if let Some(view) = newest.first().and_then(|t| hub.trace(t.trace_id)) {
            println!(
                "the live hub holds the trace: http://{api}/api/traces/{}",
                view.trace_id
            );
            for span in &view.spans {
                let parent = span.parent_span_id.map(|p| p.to_string());
                println!(
                    "  {} {} (parent {})",
                    span.span_id,
                    span.name,
                    parent.as_deref().unwrap_or("none")
                );
            }
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

async fn serve(app: Router) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

async fn fetch(
    client: &HttpClient,
    url: &str,
) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let request = http::Request::get(url).body(Full::new(Bytes::new()))?;
    let response = client.clone().oneshot(request).await?;
    let body = response.into_body().collect().await?.to_bytes();
    Ok(String::from_utf8_lossy(&body).into_owned())
}
