//! Helpers shared by the HTTP layer tests: real axum servers on loopback, an instrumented
//! hyper client, in-process requests that carry the capture's trace.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)] // each test binary uses a part

use std::net::SocketAddr;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use beacon_middleware::http::{ClientLayer, ServerLayer};
use beacon_test::MetricsCapture;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use opentelemetry::Value;
use tower::ServiceExt as _;

pub type HttpClient = beacon_middleware::http::ClientService<
    Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
>;

pub fn client(metrics: &MetricsCapture) -> HttpClient {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    tower::ServiceBuilder::new()
        .layer(ClientLayer::new().meter_provider(metrics.provider()))
        .service(client)
}

pub async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

pub async fn get_text(client: &HttpClient, url: &str) -> (StatusCode, String) {
    let response = client
        .clone()
        .oneshot(Request::get(url).body(Full::new(Bytes::new())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

pub fn text(v: Option<&Value>) -> String {
    v.map(|v| v.as_str().into_owned()).unwrap_or_default()
}

pub fn in_process_app(metrics: &MetricsCapture, layer: ServerLayer) -> Router {
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
pub fn request(uri: &str) -> Request<Body> {
    let mut headers = std::collections::HashMap::new();
    beacon::propagation::inject(&mut headers);
    let mut builder = Request::get(uri);
    for (k, v) in headers {
        builder = builder.header(k, v);
    }
    builder.body(Body::empty()).unwrap()
}

pub async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Bytes) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    (
        status,
        response.into_body().collect().await.unwrap().to_bytes(),
    )
}

/// A plain HTTP/1.1 `GET` of `path` on `addr` (one connection, no instrumentation), with an
/// optional `Accept`: the status, the `Content-Type` and the body.
pub async fn plain_get(
    addr: SocketAddr,
    path: &str,
    accept: Option<&str>,
) -> (StatusCode, String, String) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let mut request = Request::get(path).header("host", "localhost");
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = sender
        .send_request(request.body(http_body_util::Empty::<Bytes>::new()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        String::from_utf8_lossy(&body).into_owned(),
    )
}
